// Incident details: opened from the Overview, from the Incidents list, by `?incident=<id>` and by
// the `open-incident` event; the link goes through `open_external`; Escape closes and gives the
// focus back. And the security check: update bodies carrying HTML stay text.

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

// India has no daylight saving time: UTC+05:30 all year, so local times are fixed.
const TZ = "Asia/Kolkata";

/** The focused element's test id and incident id, and which view it is in. */
const focused = (page) =>
  page.evaluate(() => {
    const el = document.activeElement;
    return {
      testid: el?.getAttribute("data-testid") ?? null,
      incidentId: el?.getAttribute("data-incident-id") ?? null,
      view: el?.closest("[role=tabpanel]")?.id ?? null,
    };
  });

test("details from the Overview row: facts, updates newest first, link, Escape", opts, async () => {
  const { fx } = state.build;
  const incident = fx.ACTIVE_INCIDENT;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.overloadScenario, { timezoneId: TZ });
  try {
    await load(page, state.server.origin, "/", "Overloaded");
    await page.locator(tid("incident-row", "view-overview")).click();

    const detail = page.locator(tid("incident-detail"));
    await detail.waitFor({ state: "visible" });
    assert.equal(await page.locator(tid("tab-incidents")).getAttribute("aria-selected"), "true");
    assert.equal(await page.locator(tid("view-overview")).isHidden(), true);
    assert.equal(await page.locator(tid("incident-list")).isHidden(), true);
    assert.equal(await detail.getAttribute("data-incident-id"), incident.id);
    assert.equal(await text(detail.locator("h2")), incident.name);
    const facts = await text(page.locator(tid("incident-facts")));
    assert.match(facts, /Impact\s*major/i);
    assert.equal(await text(page.locator(tid("incident-status"))), "identified");
    assert.equal(await text(page.locator(tid("incident-components"))), "Claude API (api.anthropic.com), claude.ai");
    // Started 95 min before NOW: 10:25 UTC is 15:55 in India.
    assert.match(facts, /Started\s*2026-08-21 15:55 \(1 h ago\)/);
    assert.doesNotMatch(facts, /Resolved/);

    // Updates newest first, each with local and relative time.
    const updates = page.locator(tid("incident-update"));
    assert.equal(await updates.count(), 2);
    assert.match(await text(updates.nth(0).locator(".update-head")), /^identified · 2026-08-21 17:18 \(12 min ago\)$/i);
    assert.match(await text(updates.nth(1).locator(".update-head")), /^investigating · 2026-08-21 15:55 \(1 h ago\)$/i);
    assert.match(await text(updates.nth(0).locator(".update-body")), /^The issue has been identified/);

    // The link button: the shortlink goes to open_external, and nothing is navigated in the page.
    const link = page.locator(tid("incident-link"));
    assert.equal(await link.getAttribute("data-url"), incident.shortlink);
    const url = page.url();
    await link.click();
    await page.waitForFunction(() => window.__mockIpc.calls.some(([c]) => c === "open_external"));
    assert.deepEqual(await callsOf(page, "open_external"), [{ url: incident.shortlink }]);
    assert.equal(page.url(), url);

    // The Back button has the focus after opening; Escape closes and returns the focus to the
    // incident's row (the Overview's row is hidden now, so the same incident's row in the list).
    await page.keyboard.press("Escape");
    await detail.waitFor({ state: "hidden" });
    assert.equal(await page.locator(tid("incident-list")).isVisible(), true);
    assert.deepEqual(await focused(page), { testid: "incident-row", incidentId: incident.id, view: "view-incidents" });
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("details from the Incidents list: a resolved incident, Escape returns to its row", opts, async () => {
  const { fx } = state.build;
  const incident = fx.RESOLVED_INCIDENT;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.overloadScenario, { timezoneId: TZ });
  try {
    await load(page, state.server.origin, "/", "Overloaded");
    await page.locator(tid("tab-incidents")).click();
    const recent = page.locator(tid("recent-incidents"));
    await recent.waitFor();
    assert.deepEqual(await callsOf(page, "list_incidents"), [{ limit: 50 }]);
    // The active incident is listed under "Active now", not again under "Recent".
    assert.deepEqual(
      await recent.locator(tid("incident-row")).evaluateAll((rows) => rows.map((r) => r.dataset.incidentId)),
      [fx.RESOLVED_INCIDENT.id, "q8n3v6b1x9k2"],
    );
    assert.equal(await page.locator(tid("incident-row", "active-incident-list")).count(), 1);

    await recent.locator(`[data-incident-id="${incident.id}"]`).click();
    const detail = page.locator(tid("incident-detail"));
    await detail.waitFor({ state: "visible" });
    assert.equal(await text(detail.locator("h2")), incident.name);
    assert.equal(await text(page.locator(tid("incident-status"))), "resolved");
    assert.equal(await text(page.locator(tid("incident-components"))), "claude.ai, Claude API (api.anthropic.com)");
    const facts = await text(page.locator(tid("incident-facts")));
    assert.match(facts, /Impact\s*minor/i);
    // Resolved 19 h 32 min before NOW: 16:28 UTC on the 20th, 21:58 in India.
    assert.match(facts, /Resolved\s*2026-08-20 21:58 \(19 h ago\)/);
    const heads = await page.locator(`${tid("incident-update")} .update-head`).allInnerTexts();
    assert.deepEqual(
      heads.map((h) => h.replace(/\s+/g, " ").toLowerCase()),
      ["resolved · 2026-08-20 21:58 (19 h ago)", "identified · 2026-08-20 21:30 (20 h ago)"],
    );
    assert.equal(await page.locator(tid("incident-link")).getAttribute("data-url"), incident.shortlink);

    assert.equal((await focused(page)).testid, "incident-back");
    await page.keyboard.press("Escape");
    await detail.waitFor({ state: "hidden" });
    assert.deepEqual(await focused(page), { testid: "incident-row", incidentId: incident.id, view: "view-incidents" });

    // The Back button closes too.
    await recent.locator(`[data-incident-id="q8n3v6b1x9k2"]`).click();
    await detail.waitFor({ state: "visible" });
    assert.equal(await page.locator(tid("incident-updates")).locator("li").count(), 3);
    await page.locator(tid("incident-back")).click();
    await detail.waitFor({ state: "hidden" });
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("?incident=<id> and the open-incident event open the details", opts, async () => {
  const { fx } = state.build;
  const unknown = { ...fx.RESOLVED_INCIDENT, id: "zz9older0001", name: "An older incident only the store knows", shortlink: null };
  const scenario = { ...fx.overloadScenario, [`get_incident:${unknown.id}`]: unknown };
  const { context, page, seen } = await openPage(state.browser, state.build, scenario, { timezoneId: TZ });
  try {
    await load(page, state.server.origin, `/?incident=${fx.ACTIVE_INCIDENT.id}`, "Overloaded");
    const detail = page.locator(tid("incident-detail"));
    await detail.waitFor({ state: "visible" });
    assert.equal(await page.locator(tid("tab-incidents")).getAttribute("aria-selected"), "true");
    assert.equal(await detail.getAttribute("data-incident-id"), fx.ACTIVE_INCIDENT.id);
    assert.equal(await text(detail.locator("h2")), fx.ACTIVE_INCIDENT.name);

    // The event, with an incident from the recent list.
    await page.evaluate(() => window.__mockIpc.emit("open-incident", { id: "q8n3v6b1x9k2" }));
    await page.waitForFunction(() => document.querySelector('[data-testid="incident-detail"]')?.dataset.incidentId === "q8n3v6b1x9k2");
    assert.equal(await text(detail.locator("h2")), "Claude Code login failures");
    // No shortlink: the link is the status page's own incident page.
    assert.equal(await page.locator(tid("incident-link")).getAttribute("data-url"), "https://status.claude.com/incidents/q8n3v6b1x9k2");

    // The event from another tab, for an incident only get_incident knows.
    await page.locator(tid("incident-back")).click();
    await page.locator(tid("tab-probes")).click();
    await page.evaluate((id) => window.__mockIpc.emit("open-incident", { id }), unknown.id);
    await page.waitForFunction((id) => document.querySelector('[data-testid="incident-detail"]')?.dataset.incidentId === id, unknown.id);
    assert.equal(await page.locator(tid("tab-incidents")).getAttribute("aria-selected"), "true");
    assert.equal(await text(detail.locator("h2")), unknown.name);
    assert.deepEqual(await callsOf(page, "get_incident"), [{ id: unknown.id }]);

    // An id nobody knows says so.
    await page.evaluate(() => window.__mockIpc.emit("open-incident", { id: "nope00000000" }));
    await page.locator(tid("incident-missing")).waitFor();
    assert.match(await text(page.locator(tid("incident-missing"))), /no longer known/);
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("security: HTML in update bodies stays text and never runs", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.overloadScenario);
  try {
    await load(page, state.server.origin, "/", "Overloaded");
    const before = await page.evaluate(() => ({
      img: document.querySelectorAll("img").length,
      script: document.querySelectorAll("script").length,
    }));
    await page.locator(tid("incident-row", "view-overview")).click();
    const bodies = page.locator(`${tid("incident-update")} .update-body`);
    await bodies.first().waitFor();

    // The markup is on screen literally.
    const shown = await bodies.allInnerTexts();
    assert.ok(shown[0].includes(fx.XSS_IMG), `the <img> text is visible: ${shown[0]}`);
    assert.ok(shown[1].includes(fx.XSS_SCRIPT), `the <script> text is visible: ${shown[1]}`);
    assert.equal(await page.getByText(fx.XSS_IMG, { exact: false }).count(), 1);

    // A redraw of the open details (a new snapshot) is still text only.
    await page.evaluate((snapshot) => window.__mockIpc.emit("snapshot-changed", snapshot), fx.overloadSnapshot);
    await page.waitForTimeout(300); // time for an onerror of a failed image, if one had been made

    const after = await page.evaluate(() => ({
      xss: window.__xss,
      img: document.querySelectorAll("img").length,
      script: document.querySelectorAll("script").length,
      inBodies: document.querySelectorAll(".update-body *").length,
      scriptTexts: [...document.scripts].map((s) => s.textContent).filter((t) => t.includes("__xss")),
      imgX: document.querySelectorAll('img[src="x"], img[onerror]').length,
    }));
    assert.equal(after.xss, undefined, "window.__xss stays undefined");
    assert.equal(after.img, before.img, "no <img> was created");
    assert.equal(after.script, before.script, "no <script> was created");
    assert.equal(after.inBodies, 0, "update bodies hold text nodes only");
    assert.deepEqual(after.scriptTexts, []);
    assert.equal(after.imgX, 0);
    // An <img src=x> would have asked the server for /x.
    assert.ok(!state.server.requests.some((path) => path === "/x"), "no request for the injected image");
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});
