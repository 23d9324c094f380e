// Errors: a command that rejects with `{kind, message}` shows that message in the view it belongs
// to (never a blank page), and Try again asks again.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { assertClean, callsOf, fileSetup, load, openPage, setResponse, SKIP, TEST_TIMEOUT_MS, text, tid } from "./helpers.mjs";

const setup = fileSetup();
const { state } = setup;
before(async () => {
  if (!SKIP) await setup.before();
});
after(() => setup.after());
const opts = { skip: SKIP, timeout: TEST_TIMEOUT_MS };

const fail = (kind, message) => ({ __ipc_error: { kind, message } });

test("get_snapshot fails: the header says why", opts, async () => {
  const { fx } = state.build;
  const scenario = { ...fx.overloadScenario, get_snapshot: fail("store", "the database is locked by another process") };
  const { context, page, seen } = await openPage(state.browser, state.build, scenario);
  try {
    await load(page, state.server.origin, "/", "Unavailable");
    assert.equal(await text(page.locator(tid("freshness"))), "Could not read the status: the database is locked by another process");
    assert.equal(await page.locator(tid("tabs")).isVisible(), true, "the page is still there");
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("each view shows its command's message, and Try again recovers", opts, async () => {
  const { fx } = state.build;
  const scenario = {
    ...fx.overloadScenario,
    "get_history:24h": fail("store", "history unavailable: disk full"),
    "get_probe_series:24h": fail("store", "series unavailable: disk full"),
    list_incidents: fail("status_page", "the status page answered HTTP 503"),
    get_settings: fail("config", "settings.json is not valid JSON (line 3)"),
    open_external: fail("invalid_argument", "only links on the status page's hosts are opened"),
    check_now: fail("busy", "a check is already running"),
  };
  const { context, page, seen } = await openPage(state.browser, state.build, scenario);
  try {
    await load(page, state.server.origin, "/", "Overloaded");
    const expectError = async (view, kind, message) => {
      const box = page.locator(tid("error", view)).first();
      await box.waitFor();
      assert.equal(await box.getAttribute("data-kind"), kind, `${view}: the kind`);
      assert.ok((await text(box)).includes(message), `${view} shows “${message}”: ${await text(box)}`);
      assert.equal(await box.getAttribute("role"), "alert");
      return box;
    };

    // Overview: the lead times need the history. The rest of the view is still drawn.
    const overviewBox = await expectError("view-overview", "store", "history unavailable: disk full");
    assert.equal(await page.locator(tid("component", "view-overview")).count(), 4);
    await setResponse(page, "get_history:24h", fx.history24h);
    await overviewBox.getByRole("button", { name: "Try again" }).click();
    await page.locator(tid("lead-time", "view-overview")).first().waitFor();
    assert.equal(await page.locator(tid("error", "view-overview")).count(), 0);

    // Check now.
    await page.locator(tid("check-now")).click();
    await page.locator(tid("action-status")).getByText("a check is already running").waitFor();
    assert.equal(await text(page.locator(tid("action-status"))), "Could not check now: a check is already running");

    // Incidents list.
    await page.locator(tid("tab-incidents")).click();
    const listBox = await expectError("view-incidents", "status_page", "the status page answered HTTP 503");
    assert.equal(await page.locator(tid("incident-row", "view-incidents")).count(), 1, "the active incident is still listed");
    await setResponse(page, "list_incidents", fx.recentIncidents);
    await listBox.getByRole("button", { name: "Try again" }).click();
    await page.locator(tid("recent-incidents")).waitFor();

    // The link of an incident.
    await page.locator(tid("incident-row", "active-incident-list")).click();
    await page.locator(tid("incident-link")).click();
    const linkBox = page.locator(tid("error", "incident-link-error"));
    await linkBox.waitFor();
    assert.equal(await text(linkBox), "Could not open the link: only links on the status page's hosts are opened");
    await page.keyboard.press("Escape");

    // Probes: the series failed, the summary did not; both said, neither blank.
    await page.locator(tid("tab-probes")).click();
    const probesBox = await expectError("view-probes", "store", "series unavailable: disk full");
    assert.equal(await page.locator(tid("probe-stats")).isVisible(), true, "the summary is still shown");
    await setResponse(page, "get_probe_series:24h", fx.series24h);
    await probesBox.getByRole("button", { name: "Try again" }).click();
    await page.locator(tid("chart-latency")).waitFor();
    assert.equal(await page.locator(tid("error", "view-probes")).count(), 0);

    // Settings.
    await page.locator(tid("tab-settings")).click();
    const settingsBox = await expectError("view-settings", "config", "settings.json is not valid JSON (line 3)");
    await setResponse(page, "get_settings", fx.settingsView);
    const asked = (await callsOf(page, "get_settings")).length;
    await settingsBox.getByRole("button", { name: "Try again" }).click();
    await page.waitForFunction(() => document.querySelector('[data-testid="setting-probe_interval_secs"]')?.value === "60");
    assert.equal(await page.locator(tid("error", "view-settings")).count(), 0);
    assert.equal((await callsOf(page, "get_settings")).length, asked + 1, "Try again asked once more");

    // A command that fails with a plain string (Tauri's own failures) still shows its message.
    await setResponse(page, "set_api_key", { __ipc_error: "the keychain is locked" });
    await page.locator(tid("setting-api_key")).fill("sk-ant-api03-TESTONLY");
    await page.locator(tid("api-key-save")).click();
    await page.locator(tid("api-key-error")).getByText("the keychain is locked").waitFor();
    assert.equal(await text(page.locator(tid("api-key-error"))), "Not saved: the keychain is locked");
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("Probes: the summary failing alone still draws the charts", opts, async () => {
  const { fx } = state.build;
  const scenario = { ...fx.overloadScenario, "get_history:24h": fail("store", "summary unavailable") };
  const { context, page, seen } = await openPage(state.browser, state.build, scenario);
  try {
    await load(page, state.server.origin, "/#probes", "Overloaded");
    const box = page.locator(tid("error", "view-probes"));
    await box.waitFor();
    assert.equal(await text(box), "Could not read the summary: summary unavailable Try again");
    await page.locator(tid("chart-latency")).waitFor();
    assert.equal(await page.locator(tid("incident-band")).count(), 0, "no history, no bands");
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});
