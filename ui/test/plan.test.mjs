// `npm test`: the words of the plan windows and the 5-hour blocks (plan.ts), the same sentences
// crates/core/src/plan.rs writes for the tray menu, `check` and the status line (its tests use
// the same cases), in the page's local time.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  activeBlockText,
  blockText,
  durationText,
  paceText,
  percentText,
  resetText,
  sourceText,
  windowText,
} from "../.test-build/src/plan.js";
import * as fx from "../.test-build/test/fixtures/index.js";

process.env.TZ = "UTC";

const at = (h, m) => new Date(Date.UTC(2026, 11, 2, h, m));
const report = (overrides) => ({
  window: "five_hour",
  label: "Session (5 h)",
  used_percent: 62,
  last_reading: {
    window: "five_hour",
    used_percent: 62,
    resets_at: at(14, 0).toISOString(),
    seen_at: at(10, 0).toISOString(),
    source: "status_line",
    client_version: "2.1.328",
  },
  freshness: { state: "fresh" },
  pace: null,
  ...overrides,
});

test("a fresh window says its percentage and reset, a stale one never an old percentage", () => {
  assert.equal(windowText(report({}), at(10, 5)), "Session (5 h): 62 %, resets 14:00");
  const week = report({
    window: "seven_day",
    label: "Week",
    used_percent: 41,
    last_reading: { ...report({}).last_reading, window: "seven_day", used_percent: 41, resets_at: new Date(Date.UTC(2026, 11, 7, 10, 0)).toISOString() },
  });
  assert.equal(windowText(week, at(10, 5)), "Week: 41 %, resets Mon 10:00");
  assert.equal(
    windowText(report({ used_percent: null, freshness: { state: "reset_since" } }), at(14, 30)),
    "Session (5 h): reset at 14:00, no reading since",
  );
  assert.equal(
    windowText(report({ used_percent: null, freshness: { state: "too_old" }, last_reading: { ...report({}).last_reading, resets_at: null } }), at(20, 0)),
    "Session (5 h): stale (last reading 62 % at 10:00)",
  );
});

test("the pace, the source and the small words match core", () => {
  const paced = report({
    used_percent: 40,
    last_reading: { ...report({}).last_reading, used_percent: 40, resets_at: at(15, 40).toISOString(), seen_at: at(13, 0).toISOString() },
    pace: { kind: "reaches_limit", at: at(14, 0).toISOString(), minutes_before_reset: 100, per_hour: 60 },
  });
  assert.equal(paceText(paced, at(13, 0)), "at this pace 100 % at 14:00, 1 h 40 min before the reset");
  assert.equal(paceText(report({ pace: { kind: "resets_first", projected_percent: 93.3, per_hour: 20 } }), at(13, 0)), "at this pace 93 % at the reset");
  assert.equal(paceText(report({ pace: { kind: "flat" } }), at(13, 0)), "not rising");
  assert.equal(paceText(report({}), at(13, 0)), null);
  assert.equal(sourceText(paced.last_reading), "Claude Code 2.1.328 status line, 13:00");
  assert.equal(
    sourceText({ ...paced.last_reading, source: "gateway_headers", client_version: null }),
    "gateway response headers (observed, not documented), 13:00",
  );
  assert.equal(percentText(4.5), "4.5 %");
  assert.equal(percentText(41.5), "42 %");
  assert.equal(durationText(45), "45 min");
  assert.equal(durationText(120), "2 h");
  assert.equal(durationText(3 * 24 * 60 + 4 * 60), "3 d 4 h");
  assert.equal(resetText(at(15, 40), at(13, 0)), "15:40");
});

test("blocks are labelled, with the active block's burn rate and projection", () => {
  const report = fx.usageBlocks;
  assert.equal(blockText(report.blocks[0]), "04:00–09:00: 42 requests, 1,060,000 tokens, $3.20");
  assert.deepEqual(activeBlockText(report), [
    "Active block: 10:00–15:00: 17 requests, 426,000 tokens, $1.25; 2 h in, 3 h left",
    "Burn rate: 3,770 tokens a minute, $0.66 an hour",
    "Projected by the block's end: 1,105,000 tokens, $3.24",
  ]);
  assert.equal(activeBlockText({ ...report, active: null }), null);
  assert.equal(blockText({ ...report.blocks[0], is_gap: true }), "04:00–09:00: no activity");
});
