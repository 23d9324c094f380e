// The Overview with the overload, the first (empty) and an operational snapshot, and a
// `snapshot-changed` event redrawing it without a new command.

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

/** The computed colour of the level's dot: the level's class shows in colour as well as in words. */
const dotColour = (page) => page.evaluate(() => getComputedStyle(document.querySelector(".summary .dot")).backgroundColor);

test("overload: level, reasons, lead time, components and the active incident", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.overloadScenario);
  try {
    await load(page, state.server.origin, "/", "Overloaded");
    const overview = page.locator(tid("view-overview"));
    assert.equal(await overview.isVisible(), true);
    assert.equal(await page.locator(tid("tab-overview")).getAttribute("aria-selected"), "true");

    // Level: word, symbol, the data-level the colours hang on, and the colour itself.
    assert.equal(await page.locator(tid("summary")).getAttribute("data-level"), "overloaded");
    assert.equal(await page.locator("#level-symbol").textContent(), "▲");
    assert.equal(await dotColour(page), "rgb(199, 84, 0)", "--overloaded (#c75400) in the light theme");
    assert.equal(await page.title(), "Claude Status: Overloaded");
    // level_since is 107 min before NOW (10:13 UTC); checked 15 s ago.
    assert.equal(await text(page.locator(tid("freshness"))), "since 2026-08-21 10:13 (1 h ago) · checked 15 s ago");

    // Reasons, word for word and in order.
    const reasons = await page.locator(`${tid("reasons")} li`).allTextContents();
    assert.deepEqual(reasons, fx.overloadSnapshot.reasons);

    assert.equal(
      await text(page.locator(tid("hits-you"))),
      "Does it hit you? Yes: requests with your key are refused as overloaded (HTTP 529).",
    );
    assert.equal(await text(page.locator(tid("comparison"))), "Our probes and the status page both see trouble.");

    // Who saw it first: needs get_history('24h'); the active incident's lead is +13 min 4 s.
    const lead = `Our probes saw “${fx.ACTIVE_INCIDENT.name}” 13 minutes before the status page.`;
    await page.locator(tid("incident-lead", "view-overview")).waitFor();
    assert.equal(await text(page.locator(tid("incident-lead", "view-overview"))), lead);
    const leads = await page.locator(tid("lead-time", "view-overview")).allTextContents();
    assert.equal(leads[0], lead);
    assert.match(leads[1], /^The status page reported “Elevated errors on Claude Opus 4\.8” 3 minutes before our probes saw it\.$/);
    assert.deepEqual(await callsOf(page, "get_history"), [{ range: "24h" }]);

    // The active incident.
    const rows = page.locator(tid("incident-row", "view-overview"));
    assert.equal(await rows.count(), 1);
    assert.equal(await rows.first().getAttribute("data-incident-id"), fx.ACTIVE_INCIDENT.id);
    const row = await text(rows.first());
    assert.match(row, /^Elevated errors on Claude Sonnet 4\.6 major impact · identified · since 2026-08-21 10:25 \(1 h ago\)$/i);
    assert.match(await text(page.locator(tid("active-incidents"))), /^Active incidents \(1\)/i);

    // Components: troubled first, each with its status; the followed one marked.
    const components = page.locator(tid("component", "view-overview"));
    assert.equal(await components.count(), 4);
    const statuses = await components.evaluateAll((items) => items.map((li) => li.dataset.status));
    assert.deepEqual(statuses, ["degraded_performance", "partial_outage", "operational", "operational"]);
    const api = components.filter({ hasText: "Claude API (api.anthropic.com)" });
    assert.match(await text(api), /Claude API \(api\.anthropic\.com\) followed partial outage/);
    assert.equal(await text(api.locator(".symbol")), "▲");

    assert.match(await text(page.locator(tid("probe-line"))), /^overloaded · 312 ms · HTTP 529 · 4 failed in a row$/);
    assert.equal(await text(page.locator(tid("page-description"))), "Partial System Outage");

    // Asked once, never polled: after a few clock ticks there is still one get_snapshot.
    await page.waitForTimeout(1200);
    assert.equal((await callsOf(page, "get_snapshot")).length, 1);
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("the first snapshot: nothing checked yet", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.initialScenario);
  try {
    await load(page, state.server.origin, "/", "Unknown");
    assert.equal(await page.locator(tid("summary")).getAttribute("data-level"), "unknown");
    assert.equal(await page.locator("#level-symbol").textContent(), "?");
    assert.equal(await text(page.locator(tid("freshness"))), "not checked yet");
    assert.equal(await page.locator(tid("reasons")).isHidden(), true, "no reasons, no empty list");
    assert.equal(
      await text(page.locator(tid("hits-you"))),
      "Does it hit you? Not known yet: the first probe runs within a minute.",
    );
    assert.equal(
      await text(page.locator(tid("comparison"))),
      "Nothing measured yet: no probe has run and the status page has not been read.",
    );
    assert.equal(await page.locator(tid("probe-empty")).isVisible(), true);
    assert.equal(await page.locator(tid("page-empty")).isVisible(), true);
    assert.equal(await page.locator(tid("components-empty")).isVisible(), true);
    assert.equal(await page.locator(tid("incidents-empty", "view-overview")).isVisible(), true);
    await page.locator(tid("lead-times-empty")).waitFor();
    assert.equal(await page.locator(tid("incident-row", "view-overview")).count(), 0);
    assert.equal(await page.locator(tid("component", "view-overview")).count(), 0);
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("operational, and a snapshot-changed event redraws without asking again", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.operationalScenario);
  try {
    await load(page, state.server.origin, "/", "Operational");
    assert.equal(await page.locator(tid("summary")).getAttribute("data-level"), "operational");
    assert.equal(await page.locator("#level-symbol").textContent(), "✓");
    assert.equal(await dotColour(page), "rgb(30, 142, 62)", "--operational (#1e8e3e)");
    assert.deepEqual(await page.locator(`${tid("reasons")} li`).allTextContents(), fx.operationalSnapshot.reasons);
    assert.equal(
      await text(page.locator(tid("hits-you"))),
      "Does it hit you? No: our probes get answers and the components you follow are operational.",
    );
    assert.equal(await text(page.locator(tid("comparison"))), "Our probes and the status page agree: the API works.");
    assert.equal(await page.locator(tid("incidents-empty", "view-overview")).isVisible(), true);
    assert.equal(await page.locator(tid("incident-row", "view-overview")).count(), 0);
    assert.match(await text(page.locator(tid("maintenance"))), /^Scheduled maintenance of Claude Console · scheduled · 2026-08-23 02:00/);
    const statuses = await page.locator(tid("component", "view-overview")).evaluateAll((items) => items.map((li) => li.dataset.status));
    assert.deepEqual(statuses, ["operational", "operational", "operational", "operational"]);

    // The shell pushes the overload: the page follows the event and does not call get_snapshot again.
    await page.evaluate((snapshot) => window.__mockIpc.emit("snapshot-changed", snapshot), fx.overloadSnapshot);
    await page.waitForFunction(() => document.getElementById("level")?.textContent === "Overloaded");
    assert.equal(await page.locator(tid("summary")).getAttribute("data-level"), "overloaded");
    assert.equal(await page.locator(tid("incident-row", "view-overview")).count(), 1);
    assert.equal((await callsOf(page, "get_snapshot")).length, 1);
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});
