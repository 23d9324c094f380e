// `npm test`: the dashboard's pure modules beyond format.ts (cost estimate, settings hints,
// chart scaling, refresh rule, the Overview's answers) and the fixtures' own consistency.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  budgetRows,
  hitsYou,
  leadSentence,
  pageSeesTrouble,
  probesSeeTrouble,
  probesVersusPage,
} from "../.test-build/src/assess.js";
import { modelPrice, probesPerDay, streamingCostPerDay, streamingCostText } from "../.test-build/src/cost.js";
import { componentSymbol, count, localAndRelative, percent, spanText, usd } from "../.test-build/src/format.js";
import {
  bucketAt,
  clipIntervals,
  linear,
  linePath,
  niceMax,
  timeTickLabel,
  timeTicks,
  valueTicks,
} from "../.test-build/src/scale.js";
import { MIN_REFRESH_MS, refreshDue } from "../.test-build/src/schedule.js";
import { settingsProblems, splitSettingsError } from "../.test-build/src/settings-rules.js";
import * as fx from "../.test-build/test/fixtures/index.js";

test("percent, spans, counts and dollars", () => {
  assert.equal(percent(null), "—");
  assert.equal(percent(100), "100%");
  assert.equal(percent(0), "0%");
  assert.equal(percent(96.6783), "96.7%");
  assert.equal(percent(0.139), "0.14%");
  assert.equal(spanText(45), "45 seconds");
  assert.equal(spanText(60), "1 minute");
  assert.equal(spanText(13 * 60 + 4), "13 minutes");
  assert.equal(spanText(-180), "3 minutes", "the sign is the caller's business");
  assert.equal(spanText(3600 + 5 * 60), "1 hour 5 minutes");
  assert.equal(spanText(7200), "2 hours");
  assert.equal(spanText(51 * 3600), "2 days 3 hours");
  assert.equal(count(0), "0");
  assert.equal(count(1440), "1,440");
  assert.equal(count(1234567), "1,234,567");
  assert.equal(usd(0), "$0");
  assert.equal(usd(0.01872), "$0.019");
  assert.equal(usd(0.5), "$0.50");
  assert.equal(usd(0.00000001), "< $0.0001");
  assert.equal(usd(1.3), "$1.30");
  assert.equal(usd(1234.5), "$1,234.50");
  assert.equal(localAndRelative(null, new Date()), "—");
  assert.match(localAndRelative("2026-08-21T11:48:00Z", new Date("2026-08-21T12:00:00Z")), /^2026-08-2\d \d\d:\d8 \(12 min ago\)$/);
  const symbols = ["operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"].map(componentSymbol);
  assert.equal(new Set(symbols).size, symbols.length);
  assert.equal(componentSymbol("brand_new_status"), "?");
});

test("model prices: known families only, never guessed", () => {
  const cases = [
    ["claude-haiku-4-5", { input: 1, output: 5 }],
    ["claude-haiku-4-5-20251001", { input: 1, output: 5 }],
    ["claude-sonnet-4", { input: 3, output: 15 }],
    ["claude-sonnet-4-20250514", { input: 3, output: 15 }],
    ["claude-sonnet-4-6", { input: 3, output: 15 }],
    ["claude-sonnet-4-6[1m]", { input: 3, output: 15 }],
    ["claude-opus-4-5", { input: 5, output: 25 }],
    ["claude-opus-4-8", { input: 5, output: 25 }],
    ["claude-opus-4-5-20251101", { input: 5, output: 25 }],
    [" Claude-Haiku-4-5 ", { input: 1, output: 5 }],
    ["claude-opus-4-1", null],
    ["claude-opus-4", null],
    ["claude-opus-4-9", null],
    ["claude-haiku-3-5", null],
    ["claude-3-5-haiku-20241022", null],
    ["gpt-4o", null],
    ["", null],
  ];
  for (const [model, expected] of cases) assert.deepEqual(modelPrice(model), expected, model);
});

test("the streaming probe's cost per day", () => {
  assert.equal(probesPerDay(60), 1440);
  assert.equal(probesPerDay(0), 0);
  // 1,440 probes × (8 × $1 + 1 × $5) per million tokens.
  assert.ok(Math.abs(streamingCostPerDay("claude-haiku-4-5", 60) - 0.01872) < 1e-12);
  assert.ok(Math.abs(streamingCostPerDay("claude-sonnet-4-6", 60) - 1440 * 39e-6) < 1e-12);
  assert.ok(Math.abs(streamingCostPerDay("claude-opus-4-5", 5) - 17280 * 65e-6) < 1e-12);
  assert.equal(streamingCostPerDay("claude-opus-4-1", 60), null);
  assert.equal(
    streamingCostText("claude-haiku-4-5", 60),
    "Estimated cost ≈ $0.019 per day, $0.56 per 30 days (1,440 probes of ~8 input + 1 output tokens)",
  );
  assert.match(streamingCostText("my-model", 60), /price unknown/);
});

test("settings hints mirror settings.rs", () => {
  const base = fx.settingsView.settings;
  assert.deepEqual(settingsProblems(base), {});
  const check = (change, field, message) => {
    const problems = settingsProblems({ ...base, ...change });
    assert.deepEqual(Object.keys(problems), field ? [field] : [], JSON.stringify(change));
    if (message) assert.equal(problems[field], message);
  };
  check({ probe_interval_secs: 1 }, "probe_interval_secs", "must be between 5 seconds and 1 hour");
  check({ probe_interval_secs: 3601 }, "probe_interval_secs");
  check({ probe_interval_secs: 5 }, null);
  check({ probe_interval_secs: 3600 }, null);
  check({ probe_interval_secs: Number.NaN }, "probe_interval_secs");
  check({ probe_interval_secs: 60.5 }, "probe_interval_secs");
  check({ streaming_model: " " }, "streaming_model", "must name a model");
  check({ streaming_model: "haiku; rm -rf" }, "streaming_model", "must be a model id such as claude-haiku-4-5");
  check({ streaming_model: "claude-sonnet-4-6[1m]" }, null);
  check({ streaming_model: "x".repeat(101) }, "streaming_model");
  check({ latency_threshold_ms: 0 }, "latency_threshold_ms", "must be between 0.5 and 60 seconds");
  check({ latency_threshold_ms: 500 }, null);
  check({ ttft_threshold_ms: 100000 }, "ttft_threshold_ms", "must be between 0.2 and 60 seconds");
  check({ ttft_threshold_ms: 200 }, null);
  check({ failures_to_enter: 0 }, "failures_to_enter", "must be between 1 and 20");
  check({ successes_to_leave: 21 }, "successes_to_leave", "must be between 1 and 20");
  check({ followed_components: ["../x"] }, "followed_components", '"../x" is not a status-page component id');
  check({ followed_components: [] }, null);
  check({ followed_components: Array.from({ length: 51 }, (_, i) => `c${i}`) }, "followed_components", "at most 50 components");
  // Several problems at once are all reported (the shell names only the first).
  assert.equal(Object.keys(settingsProblems({ ...base, failures_to_enter: 0, successes_to_leave: 0 })).length, 2);
});

test("the shell's settings error names its field", () => {
  assert.deepEqual(splitSettingsError(fx.invalidSettingsError.message), {
    field: "probe_interval_secs",
    text: "must be between 5 seconds and 1 hour",
  });
  assert.deepEqual(splitSettingsError("disk full"), { field: null, text: "disk full" });
  assert.deepEqual(splitSettingsError("nonsense: x"), { field: null, text: "nonsense: x" });
});

test("refresh at most once per 30 s, and only while visible", () => {
  assert.equal(MIN_REFRESH_MS, 30_000);
  assert.equal(refreshDue(null, 0, true), true, "never fetched: fetch");
  assert.equal(refreshDue(null, 0, false), false, "a hidden tab waits to be opened");
  assert.equal(refreshDue(1000, 1000 + 29_999, true), false);
  assert.equal(refreshDue(1000, 1000 + 30_000, true), true);
  assert.equal(refreshDue(1000, 1000 + 90_000, false), false);
});

test("chart scales and value ticks", () => {
  const x = linear([0, 10], [100, 200]);
  assert.equal(x(0), 100);
  assert.equal(x(5), 150);
  assert.equal(x(10), 200);
  assert.equal(linear([3, 3], [7, 9])(3), 7, "a zero-width domain maps to the range's start");
  const y = linear([0, 100], [140, 8]);
  assert.equal(y(0), 140);
  assert.equal(y(100), 8);
  const nice = [
    [0, 1, 1],
    [0.3, 1, 1],
    [3, 1, 5],
    [4, 4, 5],
    [1688, 500, 2000],
    [2100, 500, 2500],
    [4300, 500, 5000],
    [5000, 500, 5000],
    [5001, 500, 10000],
    [12, 1, 20],
  ];
  for (const [value, floor, expected] of nice) assert.equal(niceMax(value, floor), expected, `${value}`);
  assert.deepEqual(valueTicks(5000), [0, 1000, 2000, 3000, 4000, 5000]);
  assert.deepEqual(valueTicks(2000), [0, 500, 1000, 1500, 2000]);
  assert.deepEqual(valueTicks(2500), [0, 500, 1000, 1500, 2000, 2500]);
  assert.deepEqual(valueTicks(5), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(valueTicks(0), [0]);
});

test("time ticks fall on round local times", () => {
  const from = Date.parse("2026-08-20T12:00:00Z");
  const to = Date.parse("2026-08-21T12:00:00Z");
  // UTC: 24 h at about 8 ticks → every 3 h, on the hour.
  const utc = timeTicks(from, to, 8, 0);
  assert.equal(utc.stepMs, 3 * 3600_000);
  assert.equal(utc.ticks.length, 9);
  assert.equal(new Date(utc.ticks[0]).toISOString(), "2026-08-20T12:00:00.000Z");
  // UTC+2 (offset -120): ticks at 00:00, 03:00… local, i.e. 22:00, 01:00… UTC.
  const cest = timeTicks(from + 30 * 60_000, to, 8, -120);
  assert.equal(new Date(cest.ticks[0]).toISOString(), "2026-08-20T13:00:00.000Z");
  for (const t of cest.ticks) assert.equal(((t / 3600_000 + 2) % 3 + 3) % 3, 0);
  // An hour at about 6 ticks → every 10 min; a week → every 2 days at local midnight.
  assert.equal(timeTicks(to - 3600_000, to, 6, 0).stepMs, 10 * 60_000);
  const week = timeTicks(to - 7 * 86_400_000, to, 6, 0);
  assert.equal(week.stepMs, 2 * 86_400_000);
  for (const t of week.ticks) assert.equal(t % 86_400_000, 0);
  // Labels: hours and minutes within a day, month and day for day steps (local time).
  const local = new Date(2026, 7, 21, 9, 5);
  assert.equal(timeTickLabel(local.getTime(), 3600_000), "09:05");
  assert.equal(timeTickLabel(local.getTime(), 86_400_000), "Aug 21");
});

test("line paths break at gaps; bands are clipped to the window", () => {
  assert.equal(linePath([]), "");
  assert.equal(linePath([[0, 10], [5, 20], [10, 15]]), "M0 10l0 0L5 20L10 15");
  assert.equal(linePath([[0, 10], null, [10, 15], [12, 16]]), "M0 10l0 0M10 15l0 0L12 16");
  assert.equal(linePath([[0.04, 10.06]]), "M0 10.1l0 0");
  const bands = clipIntervals(
    [
      { start: 50, end: 150 }, // starts before the window
      { start: 300, end: 400 }, // inside
      { start: 900, end: null }, // still open: runs to the end
      { start: 1200, end: 1300 }, // after the window
      { start: 0, end: 90 }, // before the window
    ],
    100,
    1000,
  );
  assert.deepEqual(bands, [
    { start: 100, end: 150 },
    { start: 300, end: 400 },
    { start: 900, end: 1000 },
  ]);
  assert.equal(bucketAt(0, 0, 300, 288), 0);
  assert.equal(bucketAt(299, 0, 300, 288), 0);
  assert.equal(bucketAt(300, 0, 300, 288), 1);
  assert.equal(bucketAt(-1, 0, 300, 288), null);
  assert.equal(bucketAt(288 * 300, 0, 300, 288), null);
});

test("does it hit me: the snapshot's answer, word for word, with a tone per answer", () => {
  assert.deepEqual(hitsYou(fx.overloadSnapshot), { tone: "bad", text: fx.overloadSnapshot.hits_you.text });
  assert.deepEqual(hitsYou(fx.operationalSnapshot), { tone: "good", text: "No: the models you use answer normally." });
  assert.deepEqual(hitsYou(fx.initialSnapshot), { tone: "unknown", text: "Unknown: no check has completed yet." });
  assert.deepEqual(hitsYou(fx.recoveringSnapshot), { tone: "warn", text: fx.recoveringSnapshot.hits_you.text });
  const tones = { yes: "bad", probably: "bad", maybe: "warn", no: "good", unknown: "unknown" };
  for (const [answer, tone] of Object.entries(tones)) {
    const text = `${answer}: a sentence of the shell's`;
    assert.deepEqual(hitsYou({ ...fx.operationalSnapshot, hits_you: { answer, text } }), { tone, text }, answer);
  }
  // The page decides nothing itself: a probe that fails does not change the shell's answer.
  const failing = { ...fx.operationalSnapshot, probe: { ...fx.overloadSnapshot.probe } };
  assert.equal(hitsYou(failing).text, "No: the models you use answer normally.");
  // A newer answer this build does not know is "unknown", never a guessed tone.
  assert.equal(hitsYou({ ...fx.operationalSnapshot, hits_you: { answer: "perhaps", text: "x" } }).tone, "unknown");
});

test("probes against the page: models count, and the level is never contradicted", () => {
  assert.equal(probesSeeTrouble(fx.initialSnapshot), null);
  assert.equal(pageSeesTrouble(fx.initialSnapshot), null);
  assert.equal(probesVersusPage(fx.initialSnapshot).tone, "unknown");
  // The overload: Sonnet 4.6's probes and the streaming probe see it, and the page too.
  assert.equal(probesSeeTrouble(fx.overloadSnapshot), true);
  assert.deepEqual(probesVersusPage(fx.overloadSnapshot), {
    tone: "bad",
    text: "Our probes see trouble on Sonnet 4.6, and so does the status page.",
  });
  assert.deepEqual(probesVersusPage(fx.operationalSnapshot), {
    tone: "good",
    text: "Our probes and the status page agree: the API works.",
  });

  // A model overloaded while the API-wide probe passes and the page says operational: our
  // probes see trouble (an overload is per model), said with the model's name.
  const modelOnly = {
    ...fx.operationalSnapshot,
    level: "overloaded",
    models: [fx.SONNET_OVERLOADED, fx.HAIKU_OPERATIONAL],
  };
  assert.equal(probesSeeTrouble(modelOnly), true);
  assert.deepEqual(probesVersusPage(modelOnly), {
    tone: "bad",
    text: "Our probes see trouble on Sonnet 4.6 while the status page still says operational.",
  });
  // A model in trouble only because an incident names it is the page's word, not our probes'.
  const pageNamesIt = {
    ...fx.operationalSnapshot,
    level: "degraded",
    status_page: { ...fx.overloadSnapshot.status_page },
    models: [{ ...fx.SONNET_OVERLOADED, level: "degraded", last_probe: { ...fx.HAIKU_OPERATIONAL.last_probe }, own_traffic: null }],
  };
  assert.equal(probesSeeTrouble(pageNamesIt), false);
  assert.equal(probesVersusPage(pageNamesIt).text, "The status page reports trouble; our probes still get answers.");
  // Slow first tokens (the probe passed, no incident): degraded by our own measurement.
  const slow = {
    ...fx.operationalSnapshot,
    level: "degraded",
    models: [{ ...fx.HAIKU_OPERATIONAL, level: "degraded", reasons: ["slow: first token after 4.2 s"] }],
  };
  assert.equal(probesVersusPage(slow).text, "Our probes see trouble on Haiku 4.5 while the status page still says operational.");

  // The demo's case: degraded, recovering; our probes pass, the page has a monitored incident.
  assert.equal(probesSeeTrouble(fx.recoveringSnapshot), false);
  assert.deepEqual(probesVersusPage(fx.recoveringSnapshot), {
    tone: "warn",
    text: "The status page reports trouble; our probes still get answers.",
  });

  // A failure that has not moved the level yet is being confirmed, not "trouble".
  const confirming = {
    ...fx.operationalSnapshot,
    probe: { ...fx.operationalSnapshot.probe, kind: "reachability", outcome: "overloaded", http_status: 529, failures_in_a_row: 1 },
  };
  assert.deepEqual(probesVersusPage(confirming), {
    tone: "warn",
    text: "Our probes saw a failure on the API and are checking again; the status page says operational.",
  });
  // The status page reports trouble on a component we follow, but our probes get answers.
  const pageOnly = { ...fx.operationalSnapshot, level: "overloaded", status_page: { ...fx.overloadSnapshot.status_page } };
  assert.equal(probesVersusPage(pageOnly).tone, "warn");
  // Offline: our probes cannot tell, and the sentence says so rather than "trouble".
  const offline = {
    ...fx.operationalSnapshot,
    level: "offline",
    probe: { ...fx.operationalSnapshot.probe, outcome: "network", http_status: null, failures_in_a_row: 4 },
  };
  assert.equal(probesVersusPage(offline).tone, "unknown");
  assert.match(probesVersusPage(offline).text, /offline/);
  // Without a key or the gateway, "the API works" is never said: overloads are not watched.
  assert.deepEqual(probesVersusPage(fx.notWatchedSnapshot), {
    tone: "unknown",
    text: "The API answers our reachability probe and the status page agrees, but overloads are not watched: a model's overload would not show here.",
  });
  const unwatchedPage = { ...fx.notWatchedSnapshot, status_page: { ...fx.overloadSnapshot.status_page } };
  assert.match(probesVersusPage(unwatchedPage).text, /overloads are not watched\.$/);
  // No API-wide probe yet, but a model was probed: our probes have run.
  const modelProbed = { ...fx.operationalSnapshot, probe: null };
  assert.equal(probesSeeTrouble(modelProbed), false);
  assert.equal(probesVersusPage(modelProbed).tone, "good");
});

test("lead-time sentences", () => {
  const [ours, theirs] = fx.history24h.lead_times;
  assert.equal(leadSentence(ours), "Our probes saw “Elevated errors on Claude Sonnet 4.6” 13 minutes before the status page.");
  assert.equal(
    leadSentence(theirs),
    "The status page reported “Elevated errors on Claude Opus 4.8” 3 minutes before our probes saw it.",
  );
  assert.match(leadSentence({ ...ours, lead_seconds: 0 }), /at the same time/);
});

test("budget rows come from the rate-limit headers only", () => {
  assert.deepEqual(budgetRows(null), []);
  assert.deepEqual(budgetRows(fx.NO_LIMITS), []);
  const rows = budgetRows(fx.TIER_1_LIMITS);
  assert.deepEqual(
    rows.map((r) => [r.key, r.used, r.limit, Math.round(r.usedPercent)]),
    [
      ["requests", 12, 50, 24],
      ["input_tokens", 14000, 50000, 28],
      ["output_tokens", 5000, 10000, 50],
      ["tokens", 19000, 60000, 32],
    ],
  );
  // A bucket with only a limit shows the limit and no invented usage.
  const partial = budgetRows({ ...fx.NO_LIMITS, requests: { limit: 50, remaining: null, reset: null } });
  assert.deepEqual(partial.map((r) => [r.used, r.usedPercent]), [[null, null]]);
});

test("the fixtures are consistent", () => {
  const { overloadSnapshot, operationalSnapshot, initialSnapshot, series24h, history24h } = fx;
  // They are plain JSON, as the shell sends them.
  for (const value of [overloadSnapshot, operationalSnapshot, initialSnapshot, series24h, history24h, fx.settingsView]) {
    assert.deepEqual(JSON.parse(JSON.stringify(value)), value);
  }
  const bodies = overloadSnapshot.status_page.incidents.flatMap((i) => i.updates.map((u) => u.body)).join("\n");
  assert.ok(bodies.includes(`<img src=x onerror="window.__xss=1">`));
  assert.ok(bodies.includes(`<script>window.__xss=2</script>`));
  assert.equal(overloadSnapshot.level, "overloaded");
  assert.equal(initialSnapshot.probe, null);

  assert.equal(series24h.buckets.length, 288);
  assert.equal(series24h.bucket_seconds, 300);
  series24h.buckets.forEach((b, i) => {
    assert.equal(Date.parse(b.start), Date.parse(series24h.from) + i * 300_000);
  });
  assert.ok(series24h.buckets.filter((b) => b.overloaded > 0).length > 10, "a 529 storm");
  assert.equal(history24h.window_label, "24h");
  const from = Date.parse(history24h.from);
  const to = Date.parse(history24h.to);
  const bands = clipIntervals(
    history24h.incidents.map((i) => ({ start: Date.parse(i.created_at), end: i.resolved_at ? Date.parse(i.resolved_at) : null })),
    from,
    to,
  );
  assert.equal(bands.length, 2, "two incident bands in the window");
  assert.deepEqual(settingsProblems(fx.settingsView.settings), {});
  assert.ok(fx.overloadScenario["get_probe_series:24h"] === series24h);
  // The snapshots carry the per-model parts, consistent with their level.
  for (const snapshot of [overloadSnapshot, operationalSnapshot, initialSnapshot, fx.notWatchedSnapshot, fx.recoveringSnapshot]) {
    assert.ok(Array.isArray(snapshot.models));
    assert.ok(["yes", "probably", "maybe", "no", "unknown"].includes(snapshot.hits_you.answer));
    assert.equal(typeof snapshot.coverage.overloads_watched, "boolean");
    assert.equal(snapshot.coverage.warning === null, snapshot.coverage.overloads_watched || snapshot === initialSnapshot);
    if (snapshot.subject !== null) assert.ok(snapshot.models.some((m) => m.model === snapshot.subject));
  }
  assert.equal(overloadSnapshot.subject, "claude-sonnet-4-6");
  assert.equal(fx.recoveringSnapshot.level, "degraded");
  assert.ok(fx.recoveringSnapshot.reasons.some((r) => r.startsWith("recovering")));
  // No fixture uses the retired claude-sonnet-4-5 as a working model.
  assert.ok(!JSON.stringify(fx).includes('"claude-sonnet-4-5"'));
});
