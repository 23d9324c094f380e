// `npm test`: the words and cells of the Budget view's advice section (advice.ts): the core's
// sentences passed through unchanged, the table cells in the core's number formats, the totals and
// notes in the CLI's wording (crates/cli/src/advice_cmd.rs), and each empty state with its reason.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  ADVICE_REFRESH_MS,
  adviceNotes,
  adviceRows,
  adviceTotalText,
  belowMinimumText,
  cachedRows,
  cachedTotalsText,
  MODELS_HEADING,
  money,
  noTrafficText,
  nothingToAdvise,
  nothingToAdviseText,
  prefixName,
  ratioText,
  savedText,
  sizeText,
  summaryText,
  windowWords,
} from "../.test-build/src/advice.js";
import { refreshDue } from "../.test-build/src/schedule.js";
import * as fx from "../.test-build/test/fixtures/index.js";

test("money and ratios are written as the core writes them", () => {
  assert.equal(money(10.4805), "$10.48");
  assert.equal(money(0.006), "$0.006");
  assert.equal(money(0), "$0.00");
  assert.equal(money(-0.004), "$-0.004");
  assert.equal(ratioText(0.78), "78 %");
  assert.equal(ratioText(942 / 1010), "93 %");
});

test("a prefix is named and sized as the sentences name it", () => {
  assert.equal(prefixName("system", 3), "System prompt #3");
  assert.equal(prefixName("tools", 1), "Tools #1");
  assert.equal(prefixName("tools_and_system", 12), "Tools and system prompt #12");
  assert.equal(sizeText({ tokens: 3400, estimated: false }), "3,400 tokens");
  assert.equal(sizeText({ tokens: 4500, estimated: true }), "about 4,500 tokens, estimated");
  // Every row's sentence starts with the name and size built here: the table and the sentence agree.
  for (const row of [...fx.adviceReport.advice, ...fx.adviceReport.cached]) {
    assert.ok(row.sentence.startsWith(`${prefixName(row.parts, row.number)} (${sizeText(row.size)})`), row.sentence);
  }
});

test("the window is worded as core's window_words", () => {
  const at = (start, end) => ({ window_start: start, window_end: end });
  assert.equal(windowWords(at("2026-08-20T12:00:00Z", "2026-08-21T12:00:00Z")), "the last 24 hours");
  assert.equal(windowWords(at("2026-08-14T12:00:00Z", "2026-08-21T12:00:00Z")), "the last 7 days");
  assert.equal(windowWords(at("2026-08-21T11:00:00Z", "2026-08-21T12:00:00Z")), "the last hour");
  assert.equal(windowWords(at("2026-08-21T10:30:00Z", "2026-08-21T12:00:00Z")), "the last 90 minutes");
});

test("caching advice: the core's sentences unchanged, the table's cells, the total", () => {
  const report = fx.adviceReport;
  const rows = adviceRows(report);
  assert.deepEqual(
    rows.map((row) => row.sentence),
    report.advice.map((row) => row.sentence),
    "the sentences are the core's, in its order",
  );
  assert.deepEqual(
    rows.map(({ sentence, ...cells }) => cells),
    [
      {
        prefix: "System prompt #1",
        key: "3f9a0c12",
        model: "claude-sonnet-4-6",
        size: "3,400 tokens",
        estimated: false,
        minimum: null,
        sends: "1,180",
        wouldHit: "1,150",
        wouldWrite: "30",
        perDay: "$10.48",
      },
      {
        prefix: "Tools and system prompt #4",
        key: "b71e55d0",
        model: "claude-haiku-4-5",
        size: "about 4,500 tokens, estimated",
        estimated: true,
        minimum: null,
        sends: "300",
        wouldHit: "280",
        wouldWrite: "20",
        perDay: "$1.11",
      },
      {
        prefix: "Tools #2",
        key: "5d02aa71",
        model: "claude-opus-4-7",
        size: "5,000 tokens",
        estimated: false,
        minimum: "minimum assumed (4,096 tokens)",
        sends: "50",
        wouldHit: "45",
        wouldWrite: "5",
        perDay: "$0.98",
      },
    ],
  );
  // Each row's per-day figure is the one its sentence gives.
  for (const row of rows) assert.ok(row.sentence.includes(`about ${row.perDay} a day`), row.sentence);
  assert.equal(adviceTotalText(report), "In all: about $12.57 a day.");
  assert.equal(belowMinimumText(report), "2 repeated prefixes are under the model's minimum cacheable length: caching would not take.");
  assert.equal(belowMinimumText({ ...report, below_minimum: 1 }), "1 repeated prefix is under the model's minimum cacheable length: caching would not take.");
  assert.equal(belowMinimumText({ ...report, below_minimum: 0 }), null);
  assert.equal(adviceTotalText(fx.adviceNoTraffic), null, "no total without advice");
});

test("where caching is used: hit ratio, what it saved, and the totals", () => {
  const rows = cachedRows(fx.adviceReport);
  assert.deepEqual(
    rows.map((row) => [row.prefix, row.model, row.sends, row.hits, row.hitRatio, row.saved]),
    [
      ["System prompt #3", "claude-sonnet-4-6", "1,000", "940", "94 %", "$29.92"],
      ["Tools #5", "claude-opus-4-5", "10", "2", "20 %", "−$0.006 (writes outweigh reads)"],
    ],
  );
  assert.equal(savedText(1.2, true), "unknown (no price)", "an unknown price is never shown as a figure");
  assert.equal(cachedTotalsText(fx.adviceReport.cached_totals), "Cached requests: 942 of 1,010 read the cache (93 %); caching saved $29.91.");
  assert.equal(
    cachedTotalsText({ ...fx.adviceReport.cached_totals, unknown_price: true }),
    "Cached requests: 942 of 1,010 read the cache (93 %); caching saved $29.91 and more (some prices unknown).",
  );
  assert.equal(cachedTotalsText(fx.adviceNoTraffic.cached_totals), null, "no line without cached sends");
});

test("model advice is headed as a cost figure, not a recommendation", () => {
  assert.match(MODELS_HEADING, /cost figure/);
  assert.match(MODELS_HEADING, /not a judgement of quality/);
});

test("the summary, and the empty states with their reasons", () => {
  assert.equal(
    summaryText(fx.adviceReport),
    "From the gateway's traffic of the last 24 hours: 3,100 requests, 2,540 with a system prompt or tools, 9 distinct prefixes.",
  );
  assert.equal(noTrafficText(fx.adviceReport), null);
  assert.equal(
    noTrafficText(fx.adviceNoTraffic),
    "No requests went through the gateway in the last 24 hours: point ANTHROPIC_BASE_URL at it to get advice. The advisor never changes a request.",
  );
  assert.equal(nothingToAdvise(fx.adviceReport), false);
  assert.equal(nothingToAdvise(fx.adviceNoTraffic), false, "no traffic has its own empty state");
  assert.equal(nothingToAdvise(fx.adviceNothing), true);
  assert.match(nothingToAdviseText(fx.adviceNothing), /^42 requests went through the gateway in the last 24 hours, and there is nothing to advise/);
});

test("the notes: estimated sizes, prefixes not followed, models without a price", () => {
  assert.deepEqual(adviceNotes(fx.adviceReport), [
    "1 prefix's size is estimated at 4 characters per token, not counted; sizes marked estimated may be off either way.",
  ]);
  assert.deepEqual(adviceNotes(fx.adviceNothing), [
    "12 sends of prefixes past the first 10,000 were not followed.",
    "No price is known for my-local-model: their savings are left out.",
  ]);
  assert.match(adviceNotes({ ...fx.adviceNothing, estimated_sizes: 3 })[0], /^3 prefixes' sizes are estimated at 4 characters per token/);
  assert.deepEqual(adviceNotes(fx.adviceNoTraffic), []);
});

test("the advice is asked again at most once a minute", () => {
  assert.equal(ADVICE_REFRESH_MS, 60_000);
  assert.equal(refreshDue(null, 0, true, ADVICE_REFRESH_MS), true, "asked when never asked");
  assert.equal(refreshDue(0, 59_999, true, ADVICE_REFRESH_MS), false);
  assert.equal(refreshDue(0, 60_000, true, ADVICE_REFRESH_MS), true);
  assert.equal(refreshDue(0, 120_000, false, ADVICE_REFRESH_MS), false, "never while the tab is hidden");
});

test("the fixture's figures follow the core's arithmetic", () => {
  const report = fx.adviceReport;
  const sum = report.advice.reduce((total, row) => total + row.saving_per_day_usd, 0);
  assert.ok(Math.abs(report.advice_per_day_usd - sum) < 1e-9, "the total is the sum of the rows (no row left out here)");
  for (const row of report.advice) assert.equal(row.sends, row.would_hit + row.would_write, `${row.key}: every send hits or writes`);
  const totals = report.cached.reduce((t, row) => ({ sends: t.sends + row.sends, hits: t.hits + row.hits }), { sends: 0, hits: 0 });
  assert.deepEqual([report.cached_totals.sends, report.cached_totals.hits], [totals.sends, totals.hits]);
});
