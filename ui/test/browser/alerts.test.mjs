// Settings → Alert channels: each channel with whether its secret is set (never the secret), a
// failing channel shown with the service's redacted reason, "Send test alert", a secret sent
// once to set_alert_secret and never shown, a channel added through set_settings, and the list
// read again on snapshot-changed (never polled).

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

async function openAlerts(page, origin) {
  await load(page, origin, "/#settings");
  await page.locator(tid("alert-channel-team-slack")).waitFor();
}

test("channels show their state, a failing one says why, and a test alert is sent", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.overloadScenario);
  try {
    await openAlerts(page, state.server.origin);
    assert.equal(await text(page.locator(tid("alert-secret-state-target-team-slack"))), "set (keychain)");
    assert.match(await text(page.locator(tid("alert-state-team-slack"))), /^Working \(3 delivered/);
    const failing = page.locator(tid("alert-state-on-call"));
    assert.equal(await failing.getAttribute("data-failing"), "true");
    assert.equal(
      await text(failing),
      "Failing: https://events.pagerduty.com/… answered HTTP 500 (attempt 5 of 5) (0 delivered, 1 failed, 0 dropped).",
    );
    assert.equal(await page.locator(tid("alert-level-overloaded-on-call")).isChecked(), false);
    assert.equal(await page.locator(tid("alert-level-outage-on-call")).isChecked(), true);
    assert.equal(await page.locator(tid("alert-models-on-call")).inputValue(), "claude-opus-5-5");

    await page.locator(tid("alert-test-team-slack")).click();
    await page.locator(tid("alert-test-outcome-team-slack")).getByText("Test alert delivered (HTTP 200).").waitFor();
    assert.deepEqual(await callsOf(page, "send_test_alert"), [{ channel: "team-slack" }]);

    // A change of filter is saved through set_settings, the other channel untouched.
    await page.locator(tid("alert-incidents-team-slack")).uncheck();
    await page.waitForFunction(() => window.__mockIpc.calls.some(([c]) => c === "set_settings"));
    const [sent] = await callsOf(page, "set_settings");
    assert.equal(sent.settings.alert_channels.length, 2);
    assert.equal(sent.settings.alert_channels[0].filter.incidents, false);
    assert.deepEqual(sent.settings.alert_channels[1], fx.alertChannels.channels[1].channel);
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("a secret goes to set_alert_secret once and never appears in the page", opts, async () => {
  const { fx } = state.build;
  const URL_SECRET = "https://hooks.slack.com/services/T0/B0/NEVERSHOWNAGAIN";
  const { context, page, seen } = await openPage(state.browser, state.build, fx.overloadScenario);
  try {
    await openAlerts(page, state.server.origin);
    const input = page.locator(tid("alert-secret-target-team-slack"));
    assert.equal(await input.getAttribute("type"), "password");
    await input.fill(URL_SECRET);
    await page.locator(tid("alert-secret-save-target-team-slack")).click();
    await page.locator(tid("alerts-message")).getByText("Webhook URL saved.").waitFor();
    assert.deepEqual(await callsOf(page, "set_alert_secret"), [{ channel: "team-slack", slot: "target", secret: URL_SECRET }]);
    assert.equal(await input.inputValue(), "");
    const html = await page.content();
    assert.ok(!html.includes("NEVERSHOWNAGAIN"), "the secret is not in the page");
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("a channel is added through set_settings, a bad id is refused first", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.overloadScenario);
  try {
    await openAlerts(page, state.server.origin);
    await page.locator(tid("alert-new-id")).fill("Bad Id");
    await page.locator(tid("alert-add")).click();
    await page.locator(tid("alerts-message")).getByText("An id is 1 to 32 lower-case letters, digits and -.").waitFor();
    assert.deepEqual(await callsOf(page, "set_settings"), []);
    await page.locator(tid("alert-new-kind")).selectOption("webhook");
    await page.locator(tid("alert-new-id")).fill("ops-hook");
    await page.locator(tid("alert-new-name")).fill("Ops hook");
    await page.locator(tid("alert-add")).click();
    await page.locator(tid("alerts-message")).getByText("Added. Now set its webhook url.").waitFor();
    const [sent] = await callsOf(page, "set_settings");
    const added = sent.settings.alert_channels.at(-1);
    assert.deepEqual(added, {
      id: "ops-hook",
      name: "Ops hook",
      kind: "webhook",
      enabled: true,
      filter: { levels: ["overloaded", "outage"], models: [], incidents: true, budget: true, plan: true, traffic: true },
      endpoint: null,
    });
    // The list is read again on snapshot-changed while Settings is shown.
    const before = (await callsOf(page, "get_alert_channels")).length;
    await page.evaluate((snapshot) => window.__mockIpc.emit("snapshot-changed", snapshot), fx.overloadSnapshot);
    await page.waitForFunction((n) => window.__mockIpc.calls.filter(([c]) => c === "get_alert_channels").length > n, before);
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});
