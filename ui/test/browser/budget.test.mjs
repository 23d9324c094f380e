// Budget: the tier limits from the snapshot's rate-limit headers, the list of what is not measured
// yet, and no invented figure when there is nothing to show.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { assertClean, fileSetup, load, openPage, SKIP, TEST_TIMEOUT_MS, text, tid } from "./helpers.mjs";

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
