// Budget's "Advice from your traffic" section (views/advice.ts) in Chromium: the advisor's report
// drawn with the core's sentences and a table per part, each empty state with its reason, a failed
// call as the error box with a retry, hostile text as text, and the refresh rule (asked when the
// tab opens, again on a snapshot only while the tab is on screen and a minute has passed).

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { assertClean, callsOf, fileSetup, load, openPage, SKIP, TEST_TIMEOUT_MS, text, tid } from "./helpers.mjs";

const setup = fileSetup();
const { state } = setup;
before(async () => {
  if (!SKIP) await setup.before();
});
after(() => setup.after());
const opts = { skip: SKIP, timeout: TEST_TIMEOUT_MS };

/** Opens the Budget tab once the settings have loaded, and waits for the advice section. */
async function openAdvice(page) {
  await page.waitForFunction(() => document.querySelector('[data-testid="api-key-status"]')?.textContent !== "");
  await page.locator(tid("tab-budget")).click();
  await page.locator(tid("usage-advice")).waitFor();
}

/** The header and body cells of a table, as text. */
function cells(table) {
  return table.evaluate((t) => ({
    head: [...t.querySelectorAll("thead th")].map((th) => [th.textContent, th.getAttribute("scope")]),
    rows: [...t.querySelectorAll("tbody tr")].map((tr) => [...tr.children].map((c) => c.textContent.replace(/\s+/g, " ").trim())),
    rowHeaders: [...t.querySelectorAll("tbody th")].map((th) => th.getAttribute("scope")),
    caption: t.querySelector("caption")?.textContent ?? null,
  }));
}

test("the advice: the core's sentences, the tables, the totals and the notes", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.usageScenario);
  try {
    await load(page, state.server.origin, "/", "Operational");
    await openAdvice(page);
    const advice = page.locator(tid("usage-advice"));
    await advice.locator(tid("advice-table")).waitFor();
    // The heading is upper-cased by the style sheet; its text is what a screen reader reads.
    assert.equal(await advice.locator("h2").textContent(), "Advice from your traffic");
    assert.equal(
      await text(advice.locator(tid("advice-summary"))),
      "From the gateway's traffic of the last 24 hours: 3,100 requests, 2,540 with a system prompt or tools, 9 distinct prefixes.",
    );

    // Prompt caching: the sentences exactly as the core wrote them, then the table.
    assert.deepEqual(await advice.locator(`${tid("advice-sentences")} li`).allInnerTexts(), fx.adviceReport.advice.map((row) => row.sentence));
    const caching = await cells(advice.locator(tid("advice-table")));
    assert.deepEqual(caching.head, ["Prefix", "Model", "Size", "Sends", "Would hit", "Would write", "Saving per day"].map((h) => [h, "col"]));
    assert.deepEqual(caching.rowHeaders, ["row", "row", "row"]);
    assert.ok(caching.caption, "the table has a caption");
    assert.deepEqual(caching.rows, [
      ["System prompt #1 3f9a0c12", "claude-sonnet-4-6", "3,400 tokens", "1,180", "1,150", "30", "$10.48"],
      ["Tools and system prompt #4 b71e55d0", "claude-haiku-4-5", "about 4,500 tokens, estimated", "300", "280", "20", "$1.11"],
      ["Tools #2 5d02aa71", "claude-opus-4-7", "5,000 tokens minimum assumed (4,096 tokens)", "50", "45", "5", "$0.98"],
    ]);
    assert.equal(await advice.locator(`${tid("advice-row")}[data-key="b71e55d0"] td[data-estimated="true"]`).count(), 1);
    assert.equal(await advice.locator(tid("advice-minimum-assumed")).count(), 1);
    assert.equal(await text(advice.locator(tid("advice-total"))), "In all: about $12.57 a day.");
    assert.equal(
      await text(advice.locator(tid("advice-below-minimum"))),
      "2 repeated prefixes are under the model's minimum cacheable length: caching would not take.",
    );

    // Where caching is used.
    assert.deepEqual(await advice.locator(`${tid("cached-sentences")} li`).allInnerTexts(), fx.adviceReport.cached.map((row) => row.sentence));
    const cached = await cells(advice.locator(tid("cached-table")));
    assert.deepEqual(cached.head.map(([h]) => h), ["Prefix", "Model", "Size", "Sends", "Hits", "Hit ratio", "Saved"]);
    assert.deepEqual(cached.rows, [
      ["System prompt #3 0c4d2e9a", "claude-sonnet-4-6", "12,000 tokens", "1,000", "940", "94 %", "$29.92"],
      ["Tools #5 9e8d7c6b", "claude-opus-4-5", "6,000 tokens", "10", "2", "20 %", "−$0.006 (writes outweigh reads)"],
    ]);
    assert.equal(await text(advice.locator(tid("cached-totals"))), "Cached requests: 942 of 1,010 read the cache (93 %); caching saved $29.91.");

    // Cheaper models, headed as a cost figure.
    const models = advice.locator(tid("advice-models"));
    assert.equal(await models.locator("h3").textContent(), "Cheaper models (a cost figure, not a judgement of quality)");
    assert.deepEqual(await models.locator("li").allInnerTexts(), fx.adviceReport.models.map((m) => m.sentence));
    // Each part is a group named by its heading, for screen readers.
    for (const part of ["advice-caching", "advice-cached", "advice-models"]) {
      const named = await advice.locator(tid(part)).evaluate((g) => document.getElementById(g.getAttribute("aria-labelledby"))?.textContent ?? null);
      assert.ok(named, `${part} is named by its heading`);
    }

    assert.deepEqual(await advice.locator(`${tid("advice-notes")} li`).allInnerTexts(), [
      "1 prefix's size is estimated at 4 characters per token, not counted; sizes marked estimated may be off either way.",
    ]);
    assert.equal(await advice.locator(tid("advice-empty")).count(), 0);
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("asked when the tab opens, on a snapshot at most once a minute, never while hidden", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.usageScenario);
  try {
    await load(page, state.server.origin, "/", "Operational");
    assert.equal((await callsOf(page, "get_advice")).length, 0, "not asked before the Budget tab opens");
    await openAdvice(page);
    assert.equal((await callsOf(page, "get_advice")).length, 1);
    const emit = () => page.evaluate((snapshot) => window.__mockIpc.emit("snapshot-changed", snapshot), fx.usageSnapshot);

    // Within the minute, a new snapshot does not ask again.
    await emit();
    await page.waitForTimeout(100);
    assert.equal((await callsOf(page, "get_advice")).length, 1);

    // A minute later it does, and the new answer is drawn.
    await context.clock.setFixedTime(new Date(Date.parse(fx.NOW) + 61_000));
    await page.evaluate((report) => (window.__mockIpc.responses.get_advice = report), fx.adviceNoTraffic);
    await emit();
    await page.locator(tid("advice-empty")).waitFor();
    assert.equal((await callsOf(page, "get_advice")).length, 2);

    // Another tab on screen: snapshots make no call, however late.
    await page.locator(tid("tab-overview")).click();
    await context.clock.setFixedTime(new Date(Date.parse(fx.NOW) + 200_000));
    await emit();
    await page.waitForTimeout(100);
    assert.equal((await callsOf(page, "get_advice")).length, 2);

    // Opening the tab again asks at once.
    await page.locator(tid("tab-budget")).click();
    await page.waitForFunction(() => window.__mockIpc.calls.filter(([c]) => c === "get_advice").length === 3);
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("no traffic through the gateway: says so and how to get advice, no money", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.operationalScenario);
  try {
    await load(page, state.server.origin, "/", "Operational");
    await openAdvice(page);
    const advice = page.locator(tid("usage-advice"));
    assert.equal(
      await text(advice.locator(tid("advice-empty"))),
      "No requests went through the gateway in the last 24 hours: point ANTHROPIC_BASE_URL at it to get advice. The advisor never changes a request.",
    );
    assert.equal(await advice.locator("table").count(), 0);
    assert.doesNotMatch(await text(advice), /\$/, "no money without traffic");
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("traffic and nothing to advise: says so, with each part's reason and the notes", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, { ...fx.operationalScenario, get_advice: fx.adviceNothing });
  try {
    await load(page, state.server.origin, "/", "Operational");
    await openAdvice(page);
    const advice = page.locator(tid("usage-advice"));
    assert.match(await text(advice.locator(tid("advice-nothing"))), /^42 requests went through the gateway in the last 24 hours, and there is nothing to advise/);
    assert.equal(
      await text(advice.locator(tid("advice-caching-empty"))),
      "No uncached prefix repeats within 5 minutes at its model's minimum cacheable length: nothing to add.",
    );
    assert.match(await text(advice.locator(tid("advice-models-empty"))), /^No model had at least 20 answered requests/);
    assert.equal(await advice.locator(tid("advice-cached")).count(), 0, "no cached part without cached sends");
    assert.deepEqual(await advice.locator(`${tid("advice-notes")} li`).allInnerTexts(), [
      "12 sends of prefixes past the first 10,000 were not followed.",
      "No price is known for my-local-model: their savings are left out.",
    ]);
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("a failed call shows the error box with a retry, never a blank", opts, async () => {
  const { fx } = state.build;
  const error = { __ipc_error: { kind: "storage", message: "database is locked" } };
  const { context, page, seen } = await openPage(state.browser, state.build, { ...fx.usageScenario, get_advice: error });
  try {
    await load(page, state.server.origin, "/", "Operational");
    await openAdvice(page);
    const box = page.locator(tid("error", "usage-advice"));
    await box.waitFor();
    assert.equal(await box.getAttribute("role"), "alert");
    assert.equal(await box.getAttribute("data-kind"), "storage");
    assert.match(await text(box), /^The advice could not be read database is locked/);

    await page.evaluate((report) => (window.__mockIpc.responses.get_advice = report), fx.adviceReport);
    await box.getByRole("button", { name: "Try again" }).click();
    await page.locator(tid("advice-table")).waitFor();
    assert.equal(await page.locator(tid("error", "usage-advice")).count(), 0);
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("security: a model name or sentence carrying markup is shown as text", opts, async () => {
  const { fx } = state.build;
  const hostile = "<img src=x onerror=alert(1)>";
  const report = structuredClone(fx.adviceReport);
  report.advice[0].model = hostile;
  report.advice[0].sentence = `System prompt #1 on ${hostile} <script>alert(2)</script>`;
  report.cached[0].key = `"><svg onload=alert(3)>`;
  report.models[0].sentence = `<iframe srcdoc="<script>alert(4)</script>"></iframe>`;
  report.unknown_price_models = [hostile];
  const { context, page, seen } = await openPage(state.browser, state.build, { ...fx.usageScenario, get_advice: report });
  const dialogs = [];
  page.on("dialog", (dialog) => {
    dialogs.push(dialog.message());
    dialog.dismiss().catch(() => undefined);
  });
  try {
    await load(page, state.server.origin, "/", "Operational");
    await openAdvice(page);
    const advice = page.locator(tid("usage-advice"));
    await advice.locator(tid("advice-table")).waitFor();
    await page.waitForTimeout(150);
    assert.equal(await advice.locator("img, script, svg, iframe").count(), 0, "no payload became markup");
    assert.deepEqual(dialogs, [], "no payload ran");
    assert.equal(await text(advice.locator(`${tid("advice-row")} td.model`).first()), hostile);
    const shown = await text(advice);
    for (const payload of [hostile, "<script>alert(2)</script>", `"><svg onload=alert(3)>`, `<iframe srcdoc="<script>alert(4)</script>"></iframe>`]) {
      assert.ok(shown.includes(payload), `shown as text: ${payload}`);
    }
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});
