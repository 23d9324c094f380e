// Secrets on screen (issue 16, item 7): the fake secrets of tests/faults/cases/secrets.py (an API
// key, an Admin API key, a Slack webhook URL, a generic webhook's URL and signing secret, a
// PagerDuty routing key, a provider's key) typed into every secret field the dashboard has, each
// sent once to its own command, and then every view drawn and screenshot: none of them is in the
// page's text, markup, input values, title, address or storage afterwards, nor in any other IPC
// call. The screenshots (test/browser/out/dashboard-secrets-*.png) are of these fixtures only, so
// what they show is what this test read as text.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { assertClean, calls, fileSetup, load, openPage, screenshot, SKIP, TEST_TIMEOUT_MS, tid } from "./helpers.mjs";

const setup = fileSetup();
const state = setup.state;
before(async () => {
  if (!SKIP) await setup.before();
});
after(() => setup.after());

const opts = { skip: SKIP, timeout: TEST_TIMEOUT_MS * 3 };

// The same fake strings as tests/faults/cases/secrets.py.
const SECRETS = {
  api_key: "sk-ant-api03-FAKEapiKEYsecretsCase0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH-QQQQ1111AA",
  admin_key: "sk-ant-admin01-FAKEadminKEYsecretsCase0123456789abcdefghijklmnopqrstuvwxyzABCD-RRRR2222AA",
  slack: "https://hooks.slack.com/services/TFAKE0SEC/BFAKE0SEC/FAKEslackTOKENsecretsCase0123",
  webhook: "https://hooks.example.com/hooks/FAKEwebhookPATHsecretsCase4567",
  signing: "FAKEsigningSECRETsecretsCase89abcdef",
  routing: "FAKEpdROUTINGkeySecretsCase01234",
  provider: "sk-proj-FAKEproviderKEYsecretsCase0123456789",
};

/** Each secret and its distinctive inner part (a redaction that kept a head or tail). */
const NEEDLES = Object.entries(SECRETS).flatMap(([name, value]) => [
  [name, value],
  [`${name} (inner part)`, value.match(/FAKE[A-Za-z0-9]+/)[0].slice(0, 20)],
]);

/** Everything the page holds that a person or a script could read. */
function pageTrace() {
  const attributes = [...document.querySelectorAll("*")].flatMap((e) => [...e.attributes].map((a) => a.value));
  return {
    html: document.documentElement.outerHTML,
    text: document.body.innerText,
    title: document.title,
    values: [...document.querySelectorAll("input, textarea, select")].map((i) => i.value),
    attributes,
    url: location.href,
    storage: JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }),
  };
}

function assertNoSecret(trace, where) {
  for (const [place, value] of Object.entries(trace)) {
    const blob = JSON.stringify(value);
    const found = NEEDLES.filter(([, needle]) => blob.includes(needle)).map(([name]) => name);
    assert.deepEqual(found, [], `${where}: secrets in the page's ${place}`);
  }
}

test("every secret field: each secret sent once to its own command, then never in any view or screenshot", opts, async () => {
  const { fx } = state.build;
  const webhook = {
    ...fx.alertChannels.channels[0],
    channel: { ...fx.alertChannels.channels[0].channel, id: "signed-hook", name: "Signed webhook", kind: "webhook" },
    target: null,
    auth: null,
    env_vars: ["CLAUDE_STATUS_ALERT_SIGNED_HOOK_URL", "CLAUDE_STATUS_ALERT_SIGNED_HOOK_SECRET"],
  };
  const channels = { ...fx.alertChannels, channels: [...fx.alertChannels.channels, webhook] };
  const scenario = {
    ...fx.usageScenario,
    get_settings: { ...fx.providerSettingsView, api_key_configured: false, api_key_source: "none", admin_key_configured: false },
    get_provider_keys: fx.providerKeysWithLocal,
    set_provider_key: fx.providerKeysWithLocal,
    get_alert_channels: channels,
    set_alert_secret: channels,
  };
  const { context, page, seen } = await openPage(state.browser, state.build, scenario);
  try {
    await load(page, state.server.origin, "/#settings");
    await page.locator(tid("alert-channel-signed-hook")).waitFor();

    const fill = async (input, save, secret) => {
      await input.fill(secret);
      await save.click();
      await page.waitForFunction((el) => el.value === "", await input.elementHandle());
    };
    await fill(page.locator(tid("setting-api_key")), page.locator(tid("api-key-save")), SECRETS.api_key);
    await fill(page.locator(tid("setting-admin_key")), page.locator(tid("admin-key-save")), SECRETS.admin_key);
    const alertSecret = (slot, id, secret) =>
      fill(page.locator(tid(`alert-secret-${slot}-${id}`)), page.locator(tid(`alert-secret-save-${slot}-${id}`)), secret);
    await alertSecret("target", "team-slack", SECRETS.slack);
    await alertSecret("target", "on-call", SECRETS.routing);
    await alertSecret("target", "signed-hook", SECRETS.webhook);
    await alertSecret("auth", "signed-hook", SECRETS.signing);
    const provider = page.locator('[data-testid="provider-key"][data-provider="openai"]');
    await fill(provider.locator(tid("provider-key-input")), provider.locator(tid("provider-key-save")), SECRETS.provider);

    // Each secret went once, to its own command, and nowhere else.
    const sent = await calls(page);
    const carrying = (secret) => sent.filter(([, args]) => JSON.stringify(args ?? {}).includes(secret));
    const expected = {
      api_key: ["set_api_key"],
      admin_key: ["set_admin_key"],
      slack: ["set_alert_secret"],
      routing: ["set_alert_secret"],
      webhook: ["set_alert_secret"],
      signing: ["set_alert_secret"],
      provider: ["set_provider_key"],
    };
    for (const [name, commands] of Object.entries(expected)) {
      assert.deepEqual(carrying(SECRETS[name]).map(([c]) => c), commands, `${name} is sent once, by ${commands}`);
    }

    // Saving the settings afterwards carries none of them.
    await page.locator(tid("settings-save")).click();
    await page.locator(tid("settings-saved")).getByText("Saved.").waitFor();
    assertNoSecret({ set_settings: await page.evaluate(() => window.__mockIpc.calls.filter(([c]) => c === "set_settings")) }, "set_settings");

    for (const view of ["settings", "overview", "incidents", "probes", "budget"]) {
      await page.locator(tid(`tab-${view}`)).click();
      await page.locator(tid(`view-${view}`)).waitFor();
      await page.waitForTimeout(150);
      assertNoSecret(await page.evaluate(pageTrace), view);
      await screenshot(page, `secrets-${view}`);
    }
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});
