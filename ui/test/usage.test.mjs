// `npm test`: the usage tracker's figures as the Budget view words them (usage.ts), the tier list
// against crates/core/data/tiers.json, the usage settings' rules, and the usage fixtures' own
// arithmetic (they must add up the way tracker.rs computes them).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { budgetCents, budgetText, MAX_BUDGET_CENTS, settingsProblems, splitSettingsError } from "../.test-build/src/settings-rules.js";
import { findTier, tierKey, TIERS } from "../.test-build/src/tiers.js";
import {
  cacheReadNote,
  cacheSavingsText,
  costSourceLabel,
  costSourcesText,
  costText,
  highestShare,
  limitFigures,
  limitRows,
  liveText,
  ownTrafficText,
  spikeLineText,
  progressText,
  recordedToday,
  tierText,
} from "../.test-build/src/usage.js";
import * as fx from "../.test-build/test/fixtures/index.js";

const TIERS_JSON = new URL("../../crates/core/data/tiers.json", import.meta.url);

test("the tier list is the one in crates/core/data/tiers.json", () => {
  const file = JSON.parse(readFileSync(TIERS_JSON, "utf8"));
  const expected = Object.entries(file.tiers).map(([key, tier]) => ({ key, name: tier.name }));
  assert.deepEqual(
    TIERS.map((t) => ({ ...t })),
    expected,
    "src/tiers.ts is out of date: copy the keys and names of tiers.json, in its order",
  );
});

test("tier names are read like catalog.rs reads them", () => {
  const cases = [
    ["tier-2", "tier-2"],
    ["Tier 2", "tier-2"],
    ["TIER_2", "tier-2"],
    ["tier2", "tier-2"],
    [" Start ", "start"],
    ["Monthly invoicing", "monthly-invoicing"],
    ["tier-x", "tier-x"],
  ];
  for (const [name, key] of cases) assert.equal(tierKey(name), key, name);
  assert.deepEqual(findTier("Tier 4"), { key: "tier-4", name: "Tier 4" });
  assert.equal(findTier("tier-9"), null);
  assert.equal(findTier(""), null);
});

test("usage settings mirror settings.rs", () => {
  const base = fx.settingsView.settings;
  const check = (change, field, message) => {
    const problems = settingsProblems({ ...base, ...change });
    assert.deepEqual(Object.keys(problems), field ? [field] : [], JSON.stringify(change));
    if (message) assert.equal(problems[field], message);
  };
  for (const tier of TIERS) {
    check({ tier_override: tier.key }, null);
    check({ tier_override: tier.name }, null);
  }
  check({ tier_override: null }, null);
  check({ tier_override: "tier-9" }, "tier_override", '"tier-9" is not a known tier');
  check({ tier_override: "" }, "tier_override", '"" is not a known tier');
  check({ monthly_budget_cents: 0 }, null);
  check({ monthly_budget_cents: MAX_BUDGET_CENTS }, null);
  check({ monthly_budget_cents: MAX_BUDGET_CENTS + 1 }, "monthly_budget_cents", "must be at most $10,000,000");
  check({ daily_budget_cents: Number.NaN }, "daily_budget_cents", "must be an amount in dollars, such as 250 or 12.50");
  check({ daily_budget_cents: -100 }, "daily_budget_cents");
  check({ daily_budget_cents: 12.5 }, "daily_budget_cents");
  assert.deepEqual(splitSettingsError("tier_override: \"tier-9\" is not a known tier"), {
    field: "tier_override",
    text: '"tier-9" is not a known tier',
  });
  assert.equal(splitSettingsError("daily_budget_cents: must be at most $10,000,000").field, "daily_budget_cents");
});

test("budgets are typed in dollars and stored in cents", () => {
  const cases = [
    ["", null],
    ["  ", null],
    ["250", 25_000],
    ["12.5", 1_250],
    ["12.50", 1_250],
    ["$ 7.05", 705],
    ["0.1", 10],
    [".5", 50],
    ["0", 0],
  ];
  for (const [text, cents] of cases) assert.equal(budgetCents(text), cents, JSON.stringify(text));
  for (const bad of ["-5", "12.345", "1e3", "ten", "1,000", "12."]) {
    assert.ok(Number.isNaN(budgetCents(bad)), JSON.stringify(bad));
  }
  assert.equal(budgetText(null), "");
  assert.equal(budgetText(25_000), "250");
  assert.equal(budgetText(1_250), "12.50");
  assert.equal(budgetText(705), "7.05");
  for (const cents of [0, 1, 99, 100, 1_250, 123_456]) assert.equal(budgetCents(budgetText(cents)), cents);
});

test("every cost says where it comes from", () => {
  assert.equal(costSourceLabel("claude_code_logs"), "Claude Code logs");
  assert.equal(costSourceLabel("admin_api"), "Admin API (authoritative)");
  assert.equal(costSourceLabel("gateway"), "gateway");
  assert.equal(costSourceLabel("probe"), "probe");
  assert.equal(costSourceLabel("brand_new_source"), "brand new source");

  const { today, month } = fx.busyUsage;
  assert.equal(costText(today.cost), "at least $19.47");
  assert.equal(costText(month.cost), "$212.37");
  assert.equal(costSourcesText(today.cost), "from Claude Code logs, also gateway and probe");
  assert.equal(costSourcesText(month.cost), "from Admin API (authoritative)");
  assert.equal(costSourcesText({ ...month.cost, other_sources: ["gateway"] }), "from Admin API (authoritative), also gateway");
  assert.equal(costSourcesText(fx.capReachedUsage.today.cost), null, "nothing recorded: no source, no figure");
  assert.equal(recordedToday(fx.busyUsage), true);
  assert.equal(recordedToday(fx.capReachedUsage), false);
});

test("the tier and how it was chosen", () => {
  assert.equal(tierText(fx.busyUsage.tier), "Tier 2: identified from the rate-limit headers.");
  assert.equal(tierText(fx.capReachedUsage.tier), "Tier 1: your choice in Settings.");
  assert.match(tierText({ key: "enterprise", name: "enterprise", chosen_by: "user", known: false }), /“enterprise” .* not in the catalog/);
  assert.match(tierText(null), /^Tier not known yet/);
});

test("per-class rows: used against the limit, and what the API says is left", () => {
  const [mystery, haiku, opus] = fx.busyUsage.windows;
  const rows = limitRows(opus);
  assert.deepEqual(
    rows.map((r) => [r.key, r.used, r.limit]),
    [
      ["requests", 38, 1000],
      ["input_tokens", 301_400, 450_000],
      ["output_tokens", 21_350, 90_000],
    ],
  );
  assert.deepEqual(rows.map(limitFigures), ["38 of 1,000 (3.8%)", "301,400 of 450,000 (67.0%)", "21,350 of 90,000 (23.7%)"]);
  assert.deepEqual(rows.map((r) => liveText(r.live)), ["API: 955 of 1,000 left", "API: 139,000 of 450,000 left", "API: 67,000 of 90,000 left"]);
  assert.equal(cacheReadNote(opus), "plus 1,126,000 cache-read tokens, which do not count toward this class's limit");
  assert.match(cacheReadNote({ ...opus, cache_reads_counted: true }), /^includes 1,126,000 cache-read tokens, which count/);
  assert.equal(cacheReadNote(haiku), null);

  // A model the catalog does not know: counts, no limit, no invented share.
  const unknown = limitRows(mystery);
  assert.deepEqual(unknown.map(limitFigures), ["2 (limit not known)", "4,100 (limit not known)", "800 (limit not known)"]);
  assert.ok(unknown.every((r) => r.fraction === null && r.live === null));

  const top = highestShare(fx.busyUsage.windows);
  assert.equal(top.class, "opus-4");
  assert.equal(top.row.key, "input_tokens");
  assert.equal(highestShare([]), null);
  assert.equal(highestShare([mystery]), null);
});

test("budgets, cache savings and own 429/529s in words", () => {
  const usage = fx.busyUsage;
  assert.equal(progressText(usage.monthly_spend_cap), "$212.37 of $500.00 (42.5%)");
  assert.equal(progressText(usage.monthly_budget), "$212.37 of $300.00 (70.8%)");
  assert.equal(progressText({ ...usage.monthly_budget, includes_unknown_price: true }), "at least $212.37 of $300.00 (70.8%)");
  assert.equal(progressText(fx.capReachedUsage.monthly_spend_cap), "$100.02 of $100.00 (100.0%)");
  assert.equal(
    cacheSavingsText(usage.today.cache_savings),
    "Caching saved at least $46.06 (reads $47.07 cheaper, writes $1.01 extra)",
  );
  assert.equal(
    cacheSavingsText({ read_savings_usd: 0.2, write_premium_usd: 0.5, net_usd: -0.3, includes_unknown_price: false }),
    "Caching cost $0.30 more than it saved (reads $0.20 cheaper, writes $0.50 extra)",
  );
  assert.deepEqual(ownTrafficText(usage.own_traffic), {
    overloaded: "3 of 214 requests (1.4%)",
    rateLimited: "1 of 214 requests (0.47%)",
    window: "over the last 4 minutes",
  });
  assert.equal(ownTrafficText(fx.capReachedUsage.own_traffic), null);
});

test("the usage fixtures add up the way tracker.rs computes them", () => {
  for (const usage of [fx.busyUsage, fx.capReachedUsage]) {
    assert.deepEqual(JSON.parse(JSON.stringify(usage)), usage, "plain JSON");
    const classes = usage.windows.map((w) => w.class);
    assert.deepEqual(classes, [...classes].sort(), "windows sorted by class");
    for (const w of usage.windows) {
      const l = w.limits;
      const share = (used, limit) => (limit ? used / limit : null);
      assert.equal(w.requests_fraction, share(w.requests, l?.requests_per_minute), w.class);
      assert.equal(w.input_tokens_fraction, share(w.input_tokens, l?.input_tokens_per_minute), w.class);
      assert.equal(w.output_tokens_fraction, share(w.output_tokens, l?.output_tokens_per_minute), w.class);
      if (w.live) {
        // The organisation used at least what this app saw.
        const live = w.live.snapshot;
        assert.ok(live.requests.limit - live.requests.remaining >= w.requests, w.class);
        if (!w.cache_reads_counted && live.input_tokens) assert.ok(live.input_tokens.limit - live.input_tokens.remaining >= w.input_tokens, w.class);
      }
    }
    for (const period of [usage.today, usage.month]) {
      const t = period.tokens;
      const input = t.input + t.cache_write_5m + t.cache_write_1h + t.cache_read;
      assert.equal(period.cache_hit_ratio, input > 0 ? t.cache_read / input : null, period.period);
      const s = period.cache_savings;
      assert.ok(Math.abs(s.read_savings_usd - s.write_premium_usd - s.net_usd) < 1e-9, period.period);
    }
    for (const [progress, cost] of [
      [usage.monthly_spend_cap, usage.month.cost],
      [usage.monthly_budget, usage.month.cost],
      [usage.daily_budget, usage.today.cost],
    ]) {
      if (!progress) continue;
      assert.equal(progress.spent_usd, cost.usd);
      assert.equal(progress.fraction, progress.spent_usd / progress.limit_usd);
      assert.equal(progress.includes_unknown_price, cost.includes_unknown_price);
    }
    const per1000 = usage.cost_per_1000_requests;
    assert.equal(per1000 === null, usage.today.requests === 0);
    if (per1000) {
      assert.equal(per1000.usd, (usage.today.cost.usd / usage.today.requests) * 1000);
      assert.deepEqual({ ...per1000, usd: 0 }, { ...usage.today.cost, usd: 0 });
    }
    if (usage.month.cost.source === "admin_api") assert.ok(usage.month.cost.as_of, "Admin API figures carry as_of");
  }
  // The budget the settings fixture stores is the one the tracker reports.
  assert.equal(fx.busyUsage.monthly_budget.limit_usd * 100, fx.settingsView.settings.monthly_budget_cents);
  assert.equal(fx.busyUsage.daily_budget, null);
  assert.equal(fx.settingsView.settings.daily_budget_cents, null);
  assert.equal(fx.usageSnapshot.usage, fx.busyUsage);
  assert.equal(fx.usageScenario.get_snapshot, fx.usageSnapshot);
});

test("issue 17: a spike-alert line names the model, the measure, core's sentence and the state", () => {
  const line = {
    model: "claude-opus-4-5",
    model_name: "Opus 4.5",
    measure: "cost_per_1k",
    threshold: 18.05,
    fixed_limit: false,
    baseline_hours: 31,
    current: 41.2,
    current_requests: 1234,
    above: true,
    above_since: "2026-12-07T12:00:00Z",
    alerting: true,
    text: "$41.20, 7-day median $18.05",
  };
  assert.equal(spikeLineText(line), "Opus 4.5, cost per 1,000 requests: $41.20, 7-day median $18.05 (alerting)");
  assert.equal(
    spikeLineText({ ...line, alerting: false }),
    "Opus 4.5, cost per 1,000 requests: $41.20, 7-day median $18.05 (above, for 10 minutes before it alerts)",
  );
  assert.equal(
    spikeLineText({ ...line, measure: "stream_ttft", threshold: null, above: false, alerting: false, text: "under 20 requests in the last 10 minutes (3)" }),
    "Opus 4.5, p95 time to first token (streams): under 20 requests in the last 10 minutes (3) (no alert until the baseline has 24 hours)",
  );
});
