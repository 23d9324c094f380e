// `npm test`: the words of per-model health (models.ts): the Overview's model rows, the
// probe-cost notice and the Probes view's per-model summary; the pinned and dropped models'
// rules (settings-rules.ts, mirroring settings.rs); and the Settings hint of the probe's cost.

import assert from "node:assert/strict";
import { test } from "node:test";

import { probeCostHint, streamingCostText, streamingIntervals } from "../.test-build/src/cost.js";
import {
  intervalText,
  isTroubleLevel,
  modelMeasuredTrouble,
  noProbeText,
  probeCostText,
  probeSummary,
  retiredText,
  seriesSummary,
  shareText,
  trafficSources,
  trafficText,
} from "../.test-build/src/models.js";
import {
  bothPinnedAndDropped,
  modelListProblem,
  modelListText,
  parseModelList,
  settingsProblems,
  splitSettingsError,
} from "../.test-build/src/settings-rules.js";
import * as fx from "../.test-build/test/fixtures/index.js";

test("a model's share of the week", () => {
  assert.equal(shareText({ share_7d: 0.62, requests_7d: 1488 }), "62 % of your requests this week");
  assert.equal(shareText({ share_7d: 1, requests_7d: 3 }), "100 % of your requests this week");
  assert.equal(shareText({ share_7d: 0.004, requests_7d: 2 }), "under 1 % of your requests this week");
  assert.equal(shareText({ share_7d: 0, requests_7d: 0 }), "none of your requests this week");
  assert.equal(shareText({ share_7d: Number.NaN, requests_7d: 5 }), "none of your requests this week");
  assert.equal(shareText({ share_7d: 1.4, requests_7d: 5 }), "100 % of your requests this week", "never above 100 %");
});

test("intervals, last probes and models not probed", () => {
  assert.equal(intervalText(60), "every minute");
  assert.equal(intervalText(300), "every 5 minutes");
  assert.equal(intervalText(45), "every 45 s");
  assert.equal(intervalText(3600), "every hour");
  assert.equal(intervalText(7200), "every 2 hours");
  assert.equal(intervalText(0), "now and then");
  assert.equal(probeSummary(fx.SONNET_OVERLOADED.last_probe), "overloaded (HTTP 529), 312 ms");
  assert.equal(probeSummary(fx.HAIKU_OPERATIONAL.last_probe), "ok (HTTP 200), first token 861 ms");
  assert.equal(
    probeSummary({ ...fx.HAIKU_OPERATIONAL.last_probe, outcome: "network", http_status: null, latency_ms: null, ttft_ms: null }),
    "network",
  );
  assert.equal(noProbeText({ probe_interval_secs: null }), "not probed");
  assert.equal(noProbeText({ probe_interval_secs: 300 }), "not probed yet (every 5 minutes)");
});

test("the user's own requests to a model, inferred turns said so", () => {
  assert.equal(
    trafficText(fx.SONNET_OVERLOADED.own_traffic),
    "your requests: 529 on 3 of 12 in 5 min (1 inferred from Claude Code's failed turns)",
  );
  const traffic = { requests: 12, overloaded: 3, server_errors: 0, inferred: 0, window_secs: 300, sources: ["gateway"] };
  assert.equal(trafficText(traffic), "your requests: 529 on 3 of 12 in 5 min");
  assert.equal(trafficText({ ...traffic, server_errors: 2 }), "your requests: 529 on 3, 5xx on 2 of 12 in 5 min");
  assert.equal(trafficText({ ...traffic, overloaded: 0, requests: 40, window_secs: 45 }), "your requests: 40 in 45 s, no 529 or 5xx");
  assert.equal(trafficSources(fx.SONNET_OVERLOADED.own_traffic), "the gateway and Claude Code's transcripts");
});

test("retired models: the date and the successor", () => {
  const now = new Date(fx.NOW);
  assert.equal(retiredText(fx.HAIKU_RETIRED.retired, now), "retired on 2026-02-19, successor claude-haiku-4-5");
  assert.equal(retiredText({ on: "2026-11-30", successor: "claude-sonnet-4-6" }, now), "retires on 2026-11-30, successor claude-sonnet-4-6");
  assert.equal(retiredText({ on: "2026-02-19", successor: null }, now), "retired on 2026-02-19");
});

test("which models our own measurements see in trouble", () => {
  assert.equal(isTroubleLevel("overloaded"), true);
  assert.equal(isTroubleLevel("unknown"), false);
  assert.equal(isTroubleLevel("operational"), false);
  assert.equal(modelMeasuredTrouble(fx.SONNET_OVERLOADED), true);
  assert.equal(modelMeasuredTrouble(fx.HAIKU_OPERATIONAL), false);
  assert.equal(modelMeasuredTrouble(fx.HAIKU_RETIRED), false, "retired is a reason, not trouble");
  // Named by an incident, probes passing, no failed request: the page's word only.
  const named = { ...fx.SONNET_OVERLOADED, level: "degraded", last_probe: fx.HAIKU_OPERATIONAL.last_probe, own_traffic: null };
  assert.equal(modelMeasuredTrouble(named), false);
  // The user's own 529s count even when the probe passed.
  assert.equal(modelMeasuredTrouble({ ...named, own_traffic: fx.SONNET_OVERLOADED.own_traffic }), true);
});

test("the probe-cost notice: per model, a missing price said, the total a lower bound then", () => {
  const names = (id) => ({ "claude-sonnet-4-6": "Sonnet 4.6", "claude-haiku-4-5": "Haiku 4.5" })[id] ?? id;
  assert.equal(
    probeCostText(fx.probeCostFirstLaunch, names),
    "The per-model probe costs at least $0.060 a day (Sonnet 4.6 every minute: $0.056; Haiku 4.5 every 5 minutes: $0.0037; claude-mystery-9 every 5 minutes: price unknown).",
  );
  const priced = { ...fx.probeCostFirstLaunch, models: fx.probeCostFirstLaunch.models.slice(0, 2) };
  assert.match(probeCostText(priced, names), /^The per-model probe costs about \$0\.060 a day \(Sonnet 4\.6/);
  const unknown = { models: [{ model: "claude-mystery-9", interval_secs: 60, usd_per_day: null }], total_usd_per_day: null, notice_shown: false };
  assert.equal(probeCostText(unknown, names), "The per-model probe's cost is not known: price unknown (claude-mystery-9 every minute: price unknown).");
  assert.doesNotMatch(probeCostText(unknown, names), /\$/);
});

test("a model's series summary", () => {
  assert.deepEqual(seriesSummary(fx.emptySeries24h), { probes: 0, uptimePercent: null, rate529Percent: null, rate429Percent: null });
  const summary = seriesSummary(fx.sonnetSeries24h);
  const probes = fx.sonnetSeries24h.buckets.reduce((sum, b) => sum + b.probes, 0);
  const overloaded = fx.sonnetSeries24h.buckets.reduce((sum, b) => sum + b.overloaded, 0);
  assert.equal(summary.probes, probes);
  assert.ok(overloaded > 0);
  assert.equal(summary.rate529Percent, (overloaded / probes) * 100);
  assert.equal(summary.uptimePercent, ((probes - overloaded) / probes) * 100);
  assert.equal(summary.rate429Percent, 0);
});

test("pinned and dropped models mirror settings.rs", () => {
  const base = fx.settingsView.settings;
  assert.deepEqual(settingsProblems(base), {});
  const problems = (change) => settingsProblems({ ...base, ...change });
  assert.deepEqual(problems({ pinned_models: ["claude-opus-4-6", "claude-sonnet-4-6[1m]"] }), {});
  assert.deepEqual(problems({ pinned_models: ["claude/opus"] }), {
    pinned_models: '"claude/opus" is not a model id such as claude-opus-5-5',
  });
  assert.deepEqual(problems({ dropped_models: ["x".repeat(101)] }), {
    dropped_models: `"${"x".repeat(101)}" is not a model id such as claude-opus-5-5`,
  });
  const many = Array.from({ length: 21 }, (_, i) => `claude-model-${i}`);
  assert.deepEqual(problems({ dropped_models: many }), { dropped_models: "at most 20 models" });
  assert.deepEqual(problems({ pinned_models: many.slice(0, 20) }), {});
  // A model in both lists: said on the dropped list, as settings.rs does.
  assert.deepEqual(problems({ pinned_models: ["claude-opus-4-6"], dropped_models: ["claude-haiku-4-5", "claude-opus-4-6"] }), {
    dropped_models: '"claude-opus-4-6" is pinned too: a model cannot be both',
  });
  // The overlap is checked once both lists are well formed (settings.rs returns the first problem).
  assert.deepEqual(Object.keys(problems({ pinned_models: ["a b", "claude-opus-4-6"], dropped_models: ["claude-opus-4-6"] })), ["pinned_models"]);
  assert.equal(modelListProblem([]), null);
  assert.equal(bothPinnedAndDropped(["a"], ["b"]), null);
  assert.deepEqual(parseModelList(" claude-opus-4-6,claude-haiku-4-5  claude-sonnet-4-6 "), ["claude-opus-4-6", "claude-haiku-4-5", "claude-sonnet-4-6"]);
  assert.deepEqual(parseModelList("  "), []);
  assert.equal(modelListText(["claude-opus-4-6", "claude-haiku-4-5"]), "claude-opus-4-6, claude-haiku-4-5");
  assert.deepEqual(splitSettingsError('dropped_models: "claude-opus-4-6" is pinned too: a model cannot be both'), {
    field: "dropped_models",
    text: '"claude-opus-4-6" is pinned too: a model cannot be both',
  });
  assert.equal(splitSettingsError("pinned_models: at most 20 models").field, "pinned_models");
});

test("the Settings hint: the default model's cost, at the streaming probe's own intervals", () => {
  assert.deepEqual(streamingIntervals(60), { mostUsed: 60, others: 300 });
  assert.deepEqual(streamingIntervals(30), { mostUsed: 60, others: 300 }, "never more often than the shell probes");
  assert.deepEqual(streamingIntervals(600), { mostUsed: 600, others: 600 });
  assert.equal(
    probeCostHint("claude-haiku-4-5", 60),
    `${streamingCostText("claude-haiku-4-5", 60)} for the default model alone, probed every minute; each other followed model is probed every 5 minutes and adds its own cost.`,
  );
  assert.match(probeCostHint("claude-haiku-4-5", 60), /^Estimated cost ≈ \$0\.019 per day/);
  assert.match(probeCostHint("claude-opus-5-5", 60), /price unknown for “claude-opus-5-5”/);
});
