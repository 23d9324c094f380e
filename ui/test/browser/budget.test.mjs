// Budget: with the usage tracker, per-class use against the tier's limits (with what the API says
// is left), spend against the cap and the budgets, and the cost figures, each with its source.
// Without it, the tier limits from the snapshot's rate-limit headers, the list of what is not
// measured yet, and no invented figure when there is nothing to show.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { assertClean, callsOf, fileSetup, load, openPage, SKIP, TEST_TIMEOUT_MS, text, tid } from "./helpers.mjs";

/** Opens the Budget tab of a snapshot with usage, once the first class is drawn. */
async function openUsage(page) {
  await page.waitForFunction(() => document.querySelector('[data-testid="api-key-status"]')?.textContent !== "");
  await page.locator(tid("tab-budget")).click();
  await page.locator(tid("usage-tier")).waitFor();
}

/** The label, value, source and "price unknown" note of a cost figure. */
async function costOf(locator) {
  return locator.evaluate((box) => ({
    source: box.dataset.source,
    label: box.querySelector(".cost-label")?.textContent ?? null,
    value: box.querySelector(".cost-value")?.textContent ?? null,
    from: box.querySelector('[data-testid="cost-source"]')?.textContent ?? null,
    unknown: box.querySelector('[data-testid="unknown-price"]')?.textContent ?? null,
  }));
}

const setup = fileSetup();
const { state } = setup;
before(async () => {
  if (!SKIP) await setup.before();
});
after(() => setup.after());
const opts = { skip: SKIP, timeout: TEST_TIMEOUT_MS };

/** Opens the Budget tab once the settings (the streaming model) have loaded. */
async function openBudget(page) {
  await page.waitForFunction(() => document.querySelector('[data-testid="api-key-status"]')?.textContent !== "");
  await page.locator(tid("tab-budget")).click();
  await page.locator(tid("budget-not-measured")).waitFor();
}

async function assertNotMeasured(page) {
  const section = page.locator(tid("budget-not-measured"));
  const items = (await section.locator("li").allInnerTexts()).map((t) => t.trim());
  for (const wanted of ["cost today", "cost per 1,000 requests", "cache savings"]) {
    assert.ok(items.includes(wanted), `"${wanted}" is listed as not measured: ${JSON.stringify(items)}`);
  }
  assert.ok(items.some((t) => /spend/.test(t)), "spend against the cap is listed as not measured");
  assert.match(await text(section), /^Not measured yet/i);
}

/** No dollar figure and no percentage anywhere in the Budget view. */
async function assertNoInventedMoney(page) {
  const all = await page.locator("#view-budget").innerText();
  assert.doesNotMatch(all, /\$/, "no $ figure without cost data");
  assert.doesNotMatch(all, /[€£]|USD/, "no money in any currency");
}

test("the tier limits from the rate-limit headers", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.operationalScenario);
  try {
    await load(page, state.server.origin, "/", "Operational");
    await openBudget(page);
    assert.equal(await page.locator(`${tid("budget-limits")} h2`).textContent(), "Tier limits: claude-haiku-4-5");
    assert.match(await text(page.locator(tid("budget-limits"))), /Read from the streaming probe's rate-limit headers for claude-haiku-4-5\./);

    const rows = page.locator(tid("budget-row"));
    assert.deepEqual(
      await rows.evaluateAll((items) => items.map((li) => li.dataset.bucket)),
      ["requests", "input_tokens", "output_tokens", "tokens"],
    );
    const lim = fx.TIER_1_LIMITS;
    const expected = {
      requests: ["Requests per minute", "24%", "12 of 50 used · 38 left · full again at 12:00:14", lim.requests],
      input_tokens: ["Input tokens per minute", "28%", "14,000 of 50,000 used · 36,000 left · full again at 12:00:09", lim.input_tokens],
      output_tokens: ["Output tokens per minute", "50%", "5,000 of 10,000 used · 5,000 left · full again at 12:00:30", lim.output_tokens],
      tokens: ["Tokens per minute (most restrictive)", "32%", "19,000 of 60,000 used · 41,000 left · full again at 12:00:09", lim.tokens],
    };
    for (const [bucket, [label, percent, figures, source]] of Object.entries(expected)) {
      const row = page.locator(`${tid("budget-row")}[data-bucket="${bucket}"]`);
      assert.equal(await text(row.locator(".budget-label")), label);
      assert.equal(await text(row.locator(".budget-percent")), percent);
      assert.equal(await text(row.locator(".budget-figures")), figures);
      const meter = await row.locator("meter").evaluate((m) => ({ max: m.max, value: m.value }));
      assert.deepEqual(meter, { max: source.limit, value: source.limit - source.remaining });
    }
    assert.equal(await page.locator(tid("budget-empty")).count(), 0);
    await assertNotMeasured(page);
    await assertNoInventedMoney(page);
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("no rate-limit headers: says so, and shows no figure", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.overloadScenario);
  try {
    await load(page, state.server.origin, "/", "Overloaded");
    await openBudget(page);
    assert.equal(await text(page.locator(tid("budget-empty"))), "Budget: not measured yet.");
    assert.match(await text(page.locator(tid("budget-limits"))), /The latest probe's reply carried no rate-limit headers\./);
    assert.equal(await page.locator(tid("budget-row")).count(), 0);
    assert.equal(await page.locator("#view-budget meter").count(), 0);
    const limits = await text(page.locator(tid("budget-limits")));
    assert.doesNotMatch(limits, /\d/, `no number at all where nothing was measured: ${limits}`);
    await assertNotMeasured(page);
    await assertNoInventedMoney(page);

    // The headers arrive with a later snapshot: the open tab shows them.
    await page.evaluate((snapshot) => window.__mockIpc.emit("snapshot-changed", snapshot), fx.operationalSnapshot);
    await page.locator(tid("budget-row")).first().waitFor();
    assert.equal(await page.locator(tid("budget-row")).count(), 4);
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("before the first probe: says why there is nothing", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.initialScenario);
  try {
    await load(page, state.server.origin, "/", "Unknown");
    await openBudget(page);
    assert.equal(await text(page.locator(tid("budget-empty"))), "Budget: not measured yet.");
    assert.match(await text(page.locator(tid("budget-limits"))), /No probe has run yet; the tier limits come with the first answer from the API\./);
    assert.equal(await page.locator(tid("budget-row")).count(), 0);
    await assertNotMeasured(page);
    await assertNoInventedMoney(page);
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("usage per model class against the tier, with what the API says is left", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.usageScenario);
  try {
    await load(page, state.server.origin, "/", "Operational");
    await openUsage(page);
    assert.equal(await text(page.locator(tid("usage-tier"))), "Tier 2: identified from the rate-limit headers.");
    const classes = page.locator(tid("usage-class"));
    assert.deepEqual(await classes.evaluateAll((items) => items.map((c) => c.dataset.class)), ["opus-4", "haiku-4-5", "claude-mystery-9"], "closest to a limit first, unknown limits last");

    const opus = page.locator(`${tid("usage-class")}[data-class="opus-4"]`);
    assert.equal(await text(opus.locator("h3")), "opus-4");
    const expected = {
      requests: ["Requests per minute", "3.8%", "38 of 1,000 (3.8%) · API: 955 of 1,000 left · full again at 12:00:04", 38, 1000],
      input_tokens: ["Input tokens per minute", "67.0%", "301,400 of 450,000 (67.0%) · API: 139,000 of 450,000 left · full again at 12:00:21", 301_400, 450_000],
      output_tokens: ["Output tokens per minute", "23.7%", "21,350 of 90,000 (23.7%) · API: 67,000 of 90,000 left · full again at 12:00:09", 21_350, 90_000],
    };
    const rows = opus.locator(tid("usage-limit"));
    assert.deepEqual(await rows.evaluateAll((items) => items.map((li) => li.dataset.limit)), Object.keys(expected));
    for (const [limit, [label, share, figures, used, max]] of Object.entries(expected)) {
      const row = opus.locator(`${tid("usage-limit")}[data-limit="${limit}"]`);
      assert.equal(await text(row.locator(".budget-label")), label);
      assert.equal(await text(row.locator(".budget-percent")), share);
      assert.equal(await text(row.locator(".budget-figures").first()), figures);
      assert.deepEqual(await row.locator("meter").evaluate((m) => ({ max: m.max, value: m.value })), { max, value: used });
    }
    assert.equal(
      await text(opus.locator(`${tid("usage-limit")}[data-limit="input_tokens"] .budget-figures`).nth(1)),
      "plus 1,126,000 cache-read tokens, which do not count toward this class's limit",
    );

    // A model the catalog does not know: counts without a bar or a share.
    const mystery = page.locator(`${tid("usage-class")}[data-class="claude-mystery-9"]`);
    assert.match(await text(mystery.locator("h3")), /not in the catalog: no limits known/);
    assert.equal(await mystery.locator("meter").count(), 0);
    assert.deepEqual(
      (await mystery.locator(".budget-figures").allInnerTexts()).map((t) => t.trim()),
      ["2 (limit not known)", "4,100 (limit not known)", "800 (limit not known)"],
    );
    assert.deepEqual((await mystery.locator(".budget-percent").allInnerTexts()).map((t) => t.trim()), ["", "", ""]);

    // The probe's own headers stay visible below, under their own title.
    assert.equal(await page.locator(`${tid("budget-limits")} h2`).textContent(), "The latest probe's rate-limit headers: claude-haiku-4-5");
    assert.equal(await page.locator(tid("budget-row")).count(), 4);
    assert.equal(await page.locator(tid("budget-not-measured")).count(), 0, "everything listed there is measured now");
    assert.equal(await page.locator(tid("budget-empty")).count(), 0);
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("spend against the cap and the budgets; every cost says where it comes from", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.usageScenario);
  try {
    await load(page, state.server.origin, "/", "Operational");
    await openUsage(page);
    assert.deepEqual(await costOf(page.locator(tid("cost-month"))), {
      source: "admin_api",
      label: "This month (2026-08, UTC)",
      value: "$212.37",
      from: "from Admin API (authoritative), as of 2026-08-21 11:46",
      unknown: null,
    });
    assert.deepEqual(await costOf(page.locator(tid("cost-today"))), {
      source: "claude_code_logs",
      label: "Today (2026-08-21)",
      value: "at least $19.47",
      from: "from Claude Code logs, also gateway and probe",
      unknown: "price unknown for some models",
    });

    const spend = (name) => page.locator(`${tid("spend-row")}[data-spend="${name}"]`);
    assert.equal(await text(spend("spend-cap").locator(".budget-label")), "This month against the Tier 2 spend cap");
    assert.equal(await text(spend("spend-cap").locator(".budget-percent")), "42.5%");
    assert.equal(await text(spend("spend-cap").locator(".budget-figures")), "$212.37 of $500.00 (42.5%)");
    assert.deepEqual(await spend("spend-cap").locator("meter").evaluate((m) => ({ max: m.max, value: m.value })), { max: 500, value: 212.37 });
    assert.equal(await text(spend("monthly-budget").locator(".budget-figures")), "$212.37 of $300.00 (70.8%)");
    assert.equal(await text(spend("daily-budget").locator(".budget-figures")), "No daily budget set (Settings).");
    assert.equal(await spend("daily-budget").locator("meter").count(), 0);
    assert.equal(await page.locator(tid("spend-cap-reached")).count(), 0);

    const figure = (name) => page.locator(tid(`figure-${name}`));
    assert.deepEqual(await costOf(figure("cost-per-1000").locator(tid("cost-per-1000"))), {
      source: "claude_code_logs",
      label: "",
      value: "at least $14.84",
      from: "from Claude Code logs, also gateway and probe",
      unknown: "price unknown for some models",
    });
    assert.equal(await text(figure("p95-tokens").locator("dd")), "48,210 over the last 1,000 requests");
    assert.equal(await text(figure("cache-hit").locator("dd")), "86.6% of input tokens read from the cache");
    assert.match(await text(figure("cache-savings").locator("dd")), /^Caching saved at least \$46\.06 \(reads \$47\.07 cheaper, writes \$1\.01 extra\) ?price unknown for some models/);
    assert.equal(await text(figure("own-529").locator("dd")), "3 of 214 requests (1.4%) over the last 4 minutes");
    assert.equal(await text(figure("own-429").locator("dd")), "1 of 214 requests (0.47%) over the last 4 minutes");
    assert.equal(await text(page.locator(tid("catalog-as-of"))), "Prices as of 2026-10; tier limits as of 2026-10.");

    // Every dollar figure of the tracker sits in a cost figure that names its source, or in a row
    // built from one (the budgets: this month's cost above; cache savings: computed from tokens).
    const costs = await page.locator("#view-budget .cost").evaluateAll((boxes) =>
      boxes.map((b) => [b.dataset.source, Boolean(b.querySelector('[data-testid="cost-source"]'))]),
    );
    assert.ok(costs.length >= 3);
    for (const [source, named] of costs) assert.ok(source !== "none" && named, `a cost from ${source} names it`);
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("the spend cap reached, nothing recorded today: said so, no $0", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.capReachedScenario);
  try {
    await load(page, state.server.origin, "/", "Operational");
    await openUsage(page);
    assert.equal(await text(page.locator(tid("usage-tier"))), "Tier 1: your choice in Settings.");
    assert.equal(await text(page.locator(tid("usage-windows-empty"))), "No requests in the last minute.");
    assert.equal(
      await text(page.locator(tid("spend-cap-reached"))),
      "The monthly spend cap was reached at 2026-08-21 08:25; the API refuses requests until 2026-09-01 00:00.",
    );
    assert.equal(await text(page.locator(`${tid("spend-row")}[data-spend="spend-cap"] .budget-percent`)), "100.0%");
    assert.deepEqual(await costOf(page.locator(tid("cost-today"))), {
      source: "none",
      label: "Today (2026-08-21)",
      value: "nothing recorded",
      from: null,
      unknown: null,
    });
    assert.equal(await text(page.locator(tid("cost-month")).locator('[data-testid="cost-source"]')), "from gateway");
    assert.equal(await text(page.locator(`${tid("figure-cost-per-1000")} dd`)), "no requests today");
    assert.equal(await text(page.locator(`${tid("figure-cache-hit")} dd`)), "no input today");
    assert.equal(await text(page.locator(`${tid("figure-cache-savings")} dd`)), "nothing recorded today");
    assert.equal(await text(page.locator(`${tid("figure-own-529")} dd`)), "no requests in the last minutes");
    assert.equal(await text(page.locator(`${tid("spend-row")}[data-spend="monthly-budget"] .budget-figures`)), "No monthly budget set (Settings).");
    const all = await page.locator("#view-budget").innerText();
    assert.doesNotMatch(all, /\$0(?![.,\d])/, "no invented $0");
    // The probe was refused (spend cap), so it carried no headers: that section is left out.
    assert.equal(await page.locator(tid("budget-row")).count(), 0);
    assert.equal(await page.locator(tid("budget-empty")).count(), 0);
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("usage that arrives or goes with a later snapshot redraws the open tab", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.operationalScenario);
  try {
    await load(page, state.server.origin, "/", "Operational");
    await openBudget(page);
    assert.equal(await page.locator(tid("usage-class")).count(), 0);
    await page.evaluate((snapshot) => window.__mockIpc.emit("snapshot-changed", snapshot), fx.usageSnapshot);
    await page.locator(tid("usage-class")).first().waitFor();
    assert.equal(await page.locator(tid("budget-not-measured")).count(), 0);
    await page.evaluate((snapshot) => window.__mockIpc.emit("snapshot-changed", snapshot), fx.operationalSnapshot);
    await page.locator(tid("budget-not-measured")).waitFor();
    assert.equal(await page.locator(tid("usage-class")).count(), 0);
    assert.equal(await page.locator(`${tid("budget-limits")} h2`).textContent(), "Tier limits: claude-haiku-4-5");
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("usage tracking off: the list of what is not measured says why", opts, async () => {
  const { fx } = state.build;
  const off = { ...fx.settingsView, settings: { ...fx.settingsView.settings, usage_tracking: false } };
  const { context, page, seen } = await openPage(state.browser, state.build, { ...fx.operationalScenario, get_settings: off });
  try {
    await load(page, state.server.origin, "/", "Operational");
    await openBudget(page);
    assert.match(await text(page.locator(tid("budget-not-measured"))), /Usage tracking is off in Settings/);
    await assertNotMeasured(page);
    await assertNoInventedMoney(page);
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("plan windows: a fresh one with its pace and source, a stale one without an old percentage", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.usageScenario);
  try {
    await load(page, state.server.origin, "/", "Operational");
    await openUsage(page);
    const rows = page.locator(tid("plan-window"));
    assert.deepEqual(await rows.evaluateAll((items) => items.map((li) => [li.dataset.window, li.dataset.freshness])), [
      ["five_hour", "fresh"],
      ["seven_day", "reset_since"],
    ]);
    const session = rows.nth(0);
    assert.match(await text(session.locator(".budget-label")), /^Session \(5 h\): 62 %, resets \d\d:\d\d$/);
    const figures = await session.locator(".budget-figures").allInnerTexts();
    assert.match(figures[0], /^at this pace 100 % at \d\d:\d\d, 45 min before the reset$/);
    assert.match(figures[1], /^from the Claude Code 2\.1\.328 status line, \d\d:\d\d$/);
    assert.equal(await session.locator("meter").evaluate((m) => m.value), 62);
    const week = rows.nth(1);
    const weekText = await text(week);
    assert.match(weekText, /^Week: reset at .+, no reading since/);
    assert.doesNotMatch(weekText, /41 %/, "a reading from before the reset is not shown as now");
    assert.match(weekText, /gateway response headers \(observed, not documented\)/);
    assert.equal(await week.locator("meter").count(), 0);

    // The estimated blocks, asked for once when the tab opened.
    await page.locator(tid("usage-blocks")).waitFor();
    assert.equal((await callsOf(page, "get_usage_blocks")).length, 1);
    const blocks = await text(page.locator(tid("usage-blocks")));
    assert.match(blocks, /^5-hour blocks \(estimated\)/i);
    assert.match(blocks, /ccusage's rules/);
    assert.match(blocks, /Burn rate: 3,770 tokens a minute, \$0\.66 an hour/);
    assert.match(blocks, /Projected by the block's end: 1,105,000 tokens, \$3\.24/);
    assert.match(await text(page.locator(tid("recent-blocks"))), /42 requests, 1,060,000 tokens, \$3\.20/);
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});
