// Settings: the stored values, client-side hints that keep a bad value from being sent, the
// shell's `invalid_settings` message, a valid save, the API key and the Admin API key (sent once,
// never shown again), the usage settings (tier, budgets in dollars stored as cents) and the
// streaming probe's cost estimate following the model.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";

import { assertClean, callsOf, fileSetup, load, openPage, setResponse, SKIP, TEST_TIMEOUT_MS, text, tid } from "./helpers.mjs";

const setup = fileSetup();
const { state } = setup;
before(async () => {
  if (!SKIP) await setup.before();
});
after(() => setup.after());
const opts = { skip: SKIP, timeout: TEST_TIMEOUT_MS };

const field = (page, name) => page.locator(tid(`setting-${name}`));
const TIERS_JSON = new URL("../../../crates/core/data/tiers.json", import.meta.url);

/** Opens Settings once get_settings has answered and the snapshot's components are listed. */
async function openSettings(page, origin) {
  await load(page, origin, "/#settings");
  await page.waitForFunction(() => document.querySelector('[data-testid="api-key-status"]')?.textContent !== "");
  await page.locator(`${tid("setting-followed_components")} input`).first().waitFor();
}

test("the form shows the stored values", opts, async () => {
  const { fx } = state.build;
  const s = fx.settingsView.settings;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.overloadScenario);
  try {
    await openSettings(page, state.server.origin);
    assert.equal(await page.locator(tid("tab-settings")).getAttribute("aria-selected"), "true");
    for (const name of ["probe_interval_secs", "latency_threshold_ms", "ttft_threshold_ms", "failures_to_enter", "successes_to_leave"]) {
      assert.equal(await field(page, name).inputValue(), String(s[name]), name);
    }
    assert.equal(await field(page, "streaming_model").inputValue(), s.streaming_model);
    for (const name of ["streaming_probe", "notifications", "launch_at_login"]) {
      assert.equal(await field(page, name).isChecked(), s[name], name);
    }
    const ticks = await page
      .locator(`${tid("setting-followed_components")} input`)
      .evaluateAll((inputs) => inputs.map((i) => [i.value, i.checked]));
    assert.deepEqual(
      ticks,
      fx.overloadSnapshot.status_page.components.map((c) => [c.id, s.followed_components.includes(c.id)]),
    );
    assert.equal(await text(page.locator(tid("api-key-status"))), "configured (keychain)");
    assert.equal(await field(page, "api_key").inputValue(), "", "the key is never filled in");
    // No error shown for stored values.
    assert.equal((await page.locator(".field-error").allInnerTexts()).join(""), "");
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("an invalid interval gets a hint and is not sent; the shell's invalid_settings is shown", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.overloadScenario);
  try {
    await openSettings(page, state.server.origin);
    const interval = field(page, "probe_interval_secs");
    const hint = page.locator(tid("setting-error-probe_interval_secs"));

    await interval.fill("2");
    assert.equal(await text(hint), "must be between 5 seconds and 1 hour", "checked as you type");
    assert.equal(await interval.getAttribute("aria-invalid"), "true");
    await page.locator(tid("settings-save")).click();
    assert.equal(await text(page.locator(tid("settings-error"))), "Nothing was saved. Fix the fields marked above: Probe every (seconds).");
    assert.deepEqual(await callsOf(page, "set_settings"), [], "nothing sent");
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), "setting-probe_interval_secs", "focus on the bad field");

    await interval.fill("4000");
    assert.equal(await text(hint), "must be between 5 seconds and 1 hour");
    await interval.fill("30");
    assert.equal(await text(hint), "");
    assert.equal(await interval.getAttribute("aria-invalid"), "false");

    // The shell refuses it anyway: its message is shown next to the form and next to the field.
    await setResponse(page, "set_settings", { __ipc_error: fx.invalidSettingsError });
    await page.locator(tid("settings-save")).click();
    const formError = page.locator(tid("error", "settings-error"));
    await formError.waitFor();
    assert.equal(await formError.getAttribute("data-kind"), "invalid_settings");
    assert.equal(await text(formError), `Not saved: ${fx.invalidSettingsError.message}`);
    assert.equal(await text(hint), "must be between 5 seconds and 1 hour");
    assert.equal(await text(page.locator(tid("settings-saved"))), "");
    const sent = await callsOf(page, "set_settings");
    assert.equal(sent.length, 1);
    assert.equal(sent[0].settings.probe_interval_secs, 30);
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("saving valid settings calls set_settings with the form's values", opts, async () => {
  const { fx } = state.build;
  const stored = fx.settingsView.settings;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.overloadScenario);
  try {
    await openSettings(page, state.server.origin);
    await field(page, "probe_interval_secs").fill("120");
    await field(page, "latency_threshold_ms").fill("4000");
    await field(page, "streaming_model").fill("claude-sonnet-4-6");
    await field(page, "launch_at_login").check();
    await page.locator(`${tid("setting-followed_components")} input[value="rwppv331jlwc"]`).check();
    await page.locator(tid("settings-save")).click();
    await page.locator(tid("settings-saved")).getByText("Saved.").waitFor();

    const sent = await callsOf(page, "set_settings");
    assert.equal(sent.length, 1);
    assert.deepEqual(sent[0].settings, {
      ...stored,
      probe_interval_secs: 120,
      latency_threshold_ms: 4000,
      streaming_model: "claude-sonnet-4-6",
      launch_at_login: true,
      followed_components: [...stored.followed_components, "rwppv331jlwc"],
    });
    // The form shows what the shell answered.
    assert.equal(await field(page, "probe_interval_secs").inputValue(), "120");
    assert.equal(await text(page.locator(tid("settings-error"))), "");
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("the API key goes to set_api_key and never appears in the page", opts, async () => {
  const { fx } = state.build;
  const KEY = "sk-ant-api03-test.only.key.that.must.never.show";
  const scenario = { ...fx.overloadScenario, get_settings: { ...fx.settingsView, api_key_configured: false, api_key_source: "none" } };
  const { context, page, seen } = await openPage(state.browser, state.build, scenario);
  try {
    await openSettings(page, state.server.origin);
    assert.equal(await text(page.locator(tid("api-key-status"))), "not set");
    const input = field(page, "api_key");
    assert.equal(await input.getAttribute("type"), "password");
    await input.fill(KEY);
    await page.locator(tid("api-key-save")).click();
    await page.waitForFunction(() => document.querySelector('[data-testid="api-key-status"]')?.textContent === "configured (keychain)");

    assert.deepEqual(await callsOf(page, "set_api_key"), [{ key: KEY }]);
    assert.deepEqual(await callsOf(page, "set_settings"), [], "the key does not travel with the settings");
    const trace = await page.evaluate(() => ({
      html: document.documentElement.outerHTML,
      text: document.body.innerText,
      title: document.title,
      values: [...document.querySelectorAll("input, textarea")].map((i) => i.value),
      url: location.href,
      storage: JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }),
    }));
    assert.equal(await input.inputValue(), "", "the field is emptied");
    for (const [where, value] of Object.entries(trace)) {
      assert.ok(!JSON.stringify(value).includes(KEY), `the key is not in ${where}`);
    }
    // An empty or spaced key is refused before any call.
    await input.fill("sk-ant two words");
    await page.locator(tid("api-key-save")).click();
    assert.match(await text(page.locator(tid("api-key-error"))), /one word/);
    assert.equal((await callsOf(page, "set_api_key")).length, 1);
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("the streaming probe: on by default, per model, and its cost follows the default model", opts, async () => {
  const { fx, cost } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.overloadScenario);
  try {
    await openSettings(page, state.server.origin);
    const label = await text(page.locator("label", { has: field(page, "streaming_probe") }));
    assert.match(label, /^Per-model streaming probe \(on by default\): one one-token streamed request to each model you follow, the most used every minute and the others every 5 minutes/);
    assert.match(label, /It runs only with an API key/);
    assert.equal(await page.locator('label[for="setting-streaming_model"]').textContent(), "Default model");
    const estimate = page.locator(tid("streaming-cost"));
    const seenTexts = new Set();
    const expectCost = async (model, interval) => {
      const wanted = cost.probeCostHint(model, interval);
      assert.equal(await text(estimate), wanted.replace(/\s+/g, " "), `${model} every ${interval} s`);
      seenTexts.add(wanted);
    };
    await expectCost("claude-haiku-4-5", 60);
    assert.match(await text(estimate), /≈ \$0\.019 per day.* for the default model alone, probed every minute; each other followed model is probed every 5 minutes/, "haiku: 1,440 × (8 × $1 + 1 × $5) / MTok");

    await field(page, "streaming_model").fill("claude-opus-4-6");
    await expectCost("claude-opus-4-6", 60);
    await field(page, "streaming_model").fill("claude-sonnet-4-6");
    await expectCost("claude-sonnet-4-6", 60);
    // A longer probe interval slows the streaming probe too; a shorter one does not speed it up.
    await field(page, "probe_interval_secs").fill("600");
    await expectCost("claude-sonnet-4-6", 600);
    assert.match(await text(estimate), /probed every 10 minutes/);
    await field(page, "probe_interval_secs").fill("30");
    assert.equal(await text(estimate), cost.probeCostHint("claude-sonnet-4-6", 60).replace(/\s+/g, " "));
    await field(page, "streaming_model").fill("claude-mystery-9");
    await expectCost("claude-mystery-9", 30);
    assert.match(await text(estimate), /price unknown/);
    assert.doesNotMatch(await text(estimate), /\$/, "no guessed price");
    assert.equal(seenTexts.size, 5, "every change gave another estimate");
    assert.deepEqual(await callsOf(page, "set_settings"), [], "typing sends nothing");
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("pinned and dropped models: shown, checked as typed, sent as lists", opts, async () => {
  const { fx } = state.build;
  const stored = fx.settingsView.settings;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.overloadScenario);
  try {
    await openSettings(page, state.server.origin);
    const pinned = field(page, "pinned_models");
    const dropped = field(page, "dropped_models");
    assert.equal(await page.locator('label[for="setting-pinned_models"]').textContent(), "Pinned models");
    assert.equal(await page.locator('label[for="setting-dropped_models"]').textContent(), "Dropped models");
    assert.equal(await pinned.inputValue(), "claude-haiku-4-5");
    assert.equal(await dropped.inputValue(), "");
    const pinnedError = page.locator(tid("setting-error-pinned_models"));
    const droppedError = page.locator(tid("setting-error-dropped_models"));

    const cases = [
      [pinned, "claude-haiku-4-5, claude/opus", pinnedError, '"claude/opus" is not a model id such as claude-opus-5-5', "Pinned models"],
      [dropped, Array.from({ length: 21 }, (_, i) => `claude-model-${i}`).join(" "), droppedError, "at most 20 models", "Dropped models"],
      [dropped, "claude-opus-4-6 claude-haiku-4-5", droppedError, '"claude-haiku-4-5" is pinned too: a model cannot be both', "Dropped models"],
    ];
    for (const [input, typed, slot, message, name] of cases) {
      await pinned.fill(input === pinned ? typed : "claude-haiku-4-5");
      await dropped.fill(input === dropped ? typed : "");
      assert.equal(await text(slot), message, typed);
      assert.equal(await input.getAttribute("aria-invalid"), "true", typed);
      await page.locator(tid("settings-save")).click();
      assert.equal(await text(page.locator(tid("settings-error"))), `Nothing was saved. Fix the fields marked above: ${name}.`, typed);
      assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), input === pinned ? "setting-pinned_models" : "setting-dropped_models");
    }
    assert.deepEqual(await callsOf(page, "set_settings"), [], "nothing sent");

    await pinned.fill(" claude-opus-4-6,claude-haiku-4-5 ");
    await dropped.fill("claude-3-5-haiku-20241022");
    assert.equal(await text(pinnedError), "");
    assert.equal(await text(droppedError), "");
    assert.equal(await dropped.getAttribute("aria-invalid"), "false");
    await page.locator(tid("settings-save")).click();
    await page.locator(tid("settings-saved")).getByText("Saved.").waitFor();
    const [sent] = await callsOf(page, "set_settings");
    assert.deepEqual(sent.settings, {
      ...stored,
      pinned_models: ["claude-opus-4-6", "claude-haiku-4-5"],
      dropped_models: ["claude-3-5-haiku-20241022"],
    });
    assert.equal(await pinned.inputValue(), "claude-opus-4-6, claude-haiku-4-5", "the form shows what the shell answered");

    // The shell refuses anyway: its message lands on the field it names.
    await setResponse(page, "set_settings", {
      __ipc_error: { kind: "invalid_settings", message: 'dropped_models: "claude-opus-4-6" is pinned too: a model cannot be both' },
    });
    await page.locator(tid("settings-save")).click();
    await page.locator(tid("error", "settings-error")).waitFor();
    assert.equal(await text(droppedError), '"claude-opus-4-6" is pinned too: a model cannot be both');
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("the usage settings show the stored values and every known tier", opts, async () => {
  const { fx } = state.build;
  const s = fx.settingsView.settings;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.overloadScenario);
  try {
    await openSettings(page, state.server.origin);
    for (const name of ["usage_tracking", "claude_code_logs", "admin_api"]) {
      assert.equal(await field(page, name).isChecked(), s[name], name);
    }
    const tier = field(page, "tier_override");
    assert.equal(await tier.inputValue(), "", "no override: identified from the headers");
    const options = await tier.locator("option").evaluateAll((items) => items.map((o) => [o.value, o.textContent]));
    const tiers = JSON.parse(readFileSync(TIERS_JSON, "utf8")).tiers;
    assert.deepEqual(options, [
      ["", "Identify from the rate-limit headers"],
      ...Object.entries(tiers).map(([key, t]) => [key, t.name]),
    ]);
    assert.equal(await field(page, "monthly_budget_cents").inputValue(), "300", "30,000 cents shown as dollars");
    assert.equal(await field(page, "daily_budget_cents").inputValue(), "", "no daily budget");
    assert.equal(await text(page.locator(tid("admin-key-status"))), "not set");
    assert.equal(await field(page, "admin_key").inputValue(), "");
    assert.equal(await page.locator(tid("admin-key-remove")).isDisabled(), true);
    assert.equal((await page.locator(".field-error").allInnerTexts()).join(""), "");
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("saving the usage settings sends the tier key and the budgets in cents", opts, async () => {
  const { fx } = state.build;
  const stored = fx.settingsView.settings;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.overloadScenario);
  try {
    await openSettings(page, state.server.origin);
    await field(page, "tier_override").selectOption("tier-2");
    await field(page, "monthly_budget_cents").fill("250.50");
    await field(page, "daily_budget_cents").fill("$12.5");
    await field(page, "claude_code_logs").uncheck();
    await field(page, "admin_api").check();
    await page.locator(tid("settings-save")).click();
    await page.locator(tid("settings-saved")).getByText("Saved.").waitFor();
    const sent = await callsOf(page, "set_settings");
    assert.equal(sent.length, 1);
    assert.deepEqual(sent[0].settings, {
      ...stored,
      tier_override: "tier-2",
      monthly_budget_cents: 25_050,
      daily_budget_cents: 1_250,
      claude_code_logs: false,
      admin_api: true,
    });
    // The form shows what the shell answered, in dollars.
    assert.equal(await field(page, "monthly_budget_cents").inputValue(), "250.50");
    assert.equal(await field(page, "daily_budget_cents").inputValue(), "12.50");
    assert.equal(await field(page, "tier_override").inputValue(), "tier-2");

    // Back to no override and no budgets: nulls, not zeros.
    await field(page, "tier_override").selectOption("");
    await field(page, "monthly_budget_cents").fill("");
    await field(page, "daily_budget_cents").fill(" ");
    await page.locator(tid("settings-save")).click();
    await page.waitForFunction(() => window.__mockIpc.calls.filter(([c]) => c === "set_settings").length === 2);
    const [, second] = await callsOf(page, "set_settings");
    assert.equal(second.settings.tier_override, null);
    assert.equal(second.settings.monthly_budget_cents, null);
    assert.equal(second.settings.daily_budget_cents, null);
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("a bad budget or tier is refused before sending; the shell's message lands on the field", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.overloadScenario);
  try {
    await openSettings(page, state.server.origin);
    const monthly = field(page, "monthly_budget_cents");
    const hint = page.locator(tid("setting-error-monthly_budget_cents"));
    for (const bad of ["-5", "12.345", "ten"]) {
      await monthly.fill(bad);
      assert.equal(await text(hint), "must be an amount in dollars, such as 250 or 12.50", bad);
      assert.equal(await monthly.getAttribute("aria-invalid"), "true");
    }
    await monthly.fill("20000000");
    assert.equal(await text(hint), "must be at most $10,000,000");
    await page.locator(tid("settings-save")).click();
    assert.deepEqual(await callsOf(page, "set_settings"), [], "nothing sent");
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), "setting-monthly_budget_cents");
    await monthly.fill("10000000");
    assert.equal(await text(hint), "");

    // The shell refuses the tier anyway: its message is shown next to the select.
    await field(page, "tier_override").selectOption("scale");
    await setResponse(page, "set_settings", { __ipc_error: { kind: "invalid_settings", message: 'tier_override: "scale" is not a known tier' } });
    await page.locator(tid("settings-save")).click();
    await page.locator(tid("error", "settings-error")).waitFor();
    assert.equal(await text(page.locator(tid("setting-error-tier_override"))), '"scale" is not a known tier');
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("a stored tier name selects its tier; an unknown one is kept and flagged", opts, async () => {
  const { fx } = state.build;
  const withTier = (tier) => ({
    ...fx.overloadScenario,
    get_settings: { ...fx.settingsView, settings: { ...fx.settingsView.settings, tier_override: tier } },
  });
  let { context, page, seen } = await openPage(state.browser, state.build, withTier("Tier 3"));
  try {
    await openSettings(page, state.server.origin);
    assert.equal(await field(page, "tier_override").inputValue(), "tier-3");
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
  ({ context, page, seen } = await openPage(state.browser, state.build, withTier("tier-9")));
  try {
    await openSettings(page, state.server.origin);
    const tier = field(page, "tier_override");
    assert.equal(await tier.inputValue(), "tier-9");
    assert.equal(await tier.locator("option:checked").textContent(), "tier-9 (not a known tier)");
    await page.locator(tid("settings-save")).click();
    assert.equal(await text(page.locator(tid("setting-error-tier_override"))), '"tier-9" is not a known tier');
    assert.deepEqual(await callsOf(page, "set_settings"), []);
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("the admin key goes to set_admin_key and never appears in the page", opts, async () => {
  const { fx } = state.build;
  const KEY = "sk-ant-admin01-test.only.admin.key.never.shown";
  const { context, page, seen } = await openPage(state.browser, state.build, fx.overloadScenario);
  try {
    await openSettings(page, state.server.origin);
    const input = field(page, "admin_key");
    assert.equal(await input.getAttribute("type"), "password");
    await input.fill(KEY);
    await page.locator(tid("admin-key-save")).click();
    await page.waitForFunction(() => document.querySelector('[data-testid="admin-key-status"]')?.textContent === "configured (keychain)");
    assert.deepEqual(await callsOf(page, "set_admin_key"), [{ key: KEY }]);
    assert.deepEqual(await callsOf(page, "set_api_key"), [], "not the API key");
    assert.deepEqual(await callsOf(page, "set_settings"), [], "the key does not travel with the settings");
    assert.equal(await input.inputValue(), "", "the field is emptied");
    const trace = await page.evaluate(() => ({
      html: document.documentElement.outerHTML,
      text: document.body.innerText,
      values: [...document.querySelectorAll("input, textarea, select")].map((i) => i.value),
      url: location.href,
      storage: JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }),
    }));
    for (const [where, value] of Object.entries(trace)) {
      assert.ok(!JSON.stringify(value).includes(KEY), `the admin key is not in ${where}`);
    }
    // Saving the settings afterwards does not send it either.
    await page.locator(tid("settings-save")).click();
    await page.locator(tid("settings-saved")).getByText("Saved.").waitFor();
    const [sent] = await callsOf(page, "set_settings");
    assert.ok(!JSON.stringify(sent).includes(KEY));

    // A spaced key is refused before any call; Remove sends null.
    await input.fill("sk-ant-admin two words");
    await page.locator(tid("admin-key-save")).click();
    assert.match(await text(page.locator(tid("admin-key-error"))), /one word/);
    await page.locator(tid("admin-key-remove")).click();
    await page.waitForFunction(() => document.querySelector('[data-testid="admin-key-status"]')?.textContent === "not set");
    assert.deepEqual(await callsOf(page, "set_admin_key"), [{ key: KEY }, { key: null }]);

    // A failure says so and keeps nothing in the field.
    await setResponse(page, "set_admin_key", { __ipc_error: { kind: "keychain", message: "the keychain is locked" } });
    await input.fill(KEY);
    await page.locator(tid("admin-key-save")).click();
    await page.locator(tid("error", "admin-key-error")).waitFor();
    assert.equal(await text(page.locator(tid("error", "admin-key-error"))), "Not saved: the keychain is locked");
    assert.equal(await input.inputValue(), "");
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

/** In the page, before it loads: a clipboard that records what is copied. */
function stubClipboard() {
  window.__copied = [];
  Object.defineProperty(navigator, "clipboard", { configurable: true, value: { writeText: async (line) => void window.__copied.push(line) } });
}

test("the gateway's settings: on, its port checked, and the line to copy while it runs", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.overloadScenario, { initScripts: [stubClipboard] });
  try {
    await openSettings(page, state.server.origin);
    assert.equal(await field(page, "gateway").isChecked(), false);
    assert.match(await text(page.locator(tid("gateway-status"))), /gateway is off/);
    // A port below 1024 is refused before anything is sent.
    await field(page, "gateway").check();
    await field(page, "gateway_port").fill("80");
    await page.locator(tid("settings-save")).click();
    await page.waitForFunction(() => document.querySelector('[data-testid="setting-error-gateway_port"]')?.textContent !== "");
    assert.deepEqual(await callsOf(page, "set_settings"), [], "nothing sent");
    // The shell answers with the running gateway's URL: the page shows the line to copy.
    const running = { ...fx.settingsView, settings: { ...fx.settingsView.settings, gateway: true, gateway_port: 7530 }, gateway_url: "http://127.0.0.1:7530", gateway_error: null };
    await setResponse(page, "set_settings", running);
    await field(page, "gateway_port").fill("7530");
    await page.locator(tid("settings-save")).click();
    await page.locator(tid("gateway-line")).waitFor();
    assert.equal(await text(page.locator(tid("gateway-line"))), "export ANTHROPIC_BASE_URL=http://127.0.0.1:7530");
    // Copy puts the whole line on the clipboard.
    await page.locator(tid("gateway-line-copy")).click();
    await page.locator(tid("gateway-line-copy-status")).getByText("Copied.").waitFor();
    assert.deepEqual(await page.evaluate(() => window.__copied), ["export ANTHROPIC_BASE_URL=http://127.0.0.1:7530"]);
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("the metrics address: off by default, loopback only, and the scrape URL once served", opts, async () => {
  const { fx } = state.build;
  const stored = fx.settingsView.settings;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.overloadScenario);
  try {
    await openSettings(page, state.server.origin);
    assert.equal(await field(page, "metrics_addr").inputValue(), "");
    assert.match(await text(page.locator(tid("metrics-status"))), /No metrics are served/);
    // An address other machines can reach is refused here, in the shell's words.
    await field(page, "metrics_addr").fill("0.0.0.0:9464");
    await page.locator(tid("settings-save")).click();
    await page.waitForFunction(() => document.querySelector('[data-testid="setting-error-metrics_addr"]')?.textContent !== "");
    assert.match(await text(page.locator(tid("setting-error-metrics_addr"))), /needs allow_remote/);
    await field(page, "metrics_addr").fill("localhost");
    assert.match(await text(page.locator(tid("setting-error-metrics_addr"))), /must be an address with a port/);
    assert.deepEqual(await callsOf(page, "set_settings"), [], "nothing sent");
    // A loopback address is sent; the shell answers with where Prometheus can scrape.
    const served = { ...fx.settingsView, settings: { ...stored, metrics_addr: "127.0.0.1:9464" }, metrics_url: "http://127.0.0.1:9464/metrics", metrics_error: null };
    await setResponse(page, "set_settings", served);
    await field(page, "metrics_addr").fill(" 127.0.0.1:9464 ");
    await page.locator(tid("settings-save")).click();
    await page.locator(tid("metrics-url")).waitFor();
    assert.equal(await text(page.locator(tid("metrics-url"))), "http://127.0.0.1:9464/metrics");
    const [first] = await callsOf(page, "set_settings");
    assert.deepEqual(first.settings, { ...stored, metrics_addr: "127.0.0.1:9464" });
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("the gateway's retries and fallback chain: off by default, sent with set_settings", opts, async () => {
  const { fx } = state.build;
  const stored = fx.settingsView.settings;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.overloadScenario);
  try {
    await openSettings(page, state.server.origin);
    assert.equal(await field(page, "gateway_retry").isChecked(), false);
    assert.equal(await field(page, "advisor_count_tokens").isChecked(), false);
    assert.equal(await field(page, "gateway_fallback").inputValue(), "");
    assert.match(await text(page.locator(tid("gateway-resilience-hint"))), /^Both are off by default\. Your SDK already retries 529s, 500s and 429s/);
    const label = await page.locator('label[for="setting-gateway_fallback"]').textContent();
    assert.equal(label, "Fallback chain");

    await field(page, "gateway_retry").check();
    await field(page, "advisor_count_tokens").check();
    await field(page, "gateway_fallback").fill(" claude-opus-4-6,claude-sonnet-4-6  claude-haiku-4-5 ");
    assert.equal(await text(page.locator(tid("setting-error-gateway_fallback"))), "");
    await page.locator(tid("settings-save")).click();
    await page.locator(tid("settings-saved")).getByText("Saved.").waitFor();
    const [first] = await callsOf(page, "set_settings");
    assert.deepEqual(first.settings, {
      ...stored,
      gateway_retry: true,
      advisor_count_tokens: true,
      gateway_fallback: ["claude-opus-4-6", "claude-sonnet-4-6", "claude-haiku-4-5"],
    });
    // The form shows what the shell answered, in one spelling.
    assert.equal(await field(page, "gateway_fallback").inputValue(), "claude-opus-4-6, claude-sonnet-4-6, claude-haiku-4-5");
    assert.equal(await field(page, "gateway_retry").isChecked(), true);

    // Emptied: no chain, sent as [] (not [""]).
    await field(page, "gateway_fallback").fill("  ");
    await field(page, "gateway_retry").uncheck();
    await page.locator(tid("settings-save")).click();
    await page.waitForFunction(() => window.__mockIpc.calls.filter(([c]) => c === "set_settings").length === 2);
    const [, second] = await callsOf(page, "set_settings");
    assert.deepEqual(second.settings.gateway_fallback, []);
    assert.equal(second.settings.gateway_retry, false);
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("issue 16: the web pages allowed to call the gateway: none by default, sent as a list, the service's refusal on the field", opts, async () => {
  const { fx } = state.build;
  const stored = fx.settingsView.settings;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.overloadScenario);
  try {
    await openSettings(page, state.server.origin);
    const origins = field(page, "gateway_allowed_origins");
    assert.equal(await origins.inputValue(), "");
    assert.equal(await page.locator('label[for="setting-gateway_allowed_origins"]').textContent(), "Web pages allowed to call the gateway");
    await origins.fill(" http://localhost:3000,  https://app.example ");
    await page.locator(tid("settings-save")).click();
    await page.locator(tid("settings-saved")).getByText("Saved.").waitFor();
    const [first] = await callsOf(page, "set_settings");
    assert.deepEqual(first.settings, { ...stored, gateway_allowed_origins: ["http://localhost:3000", "https://app.example"] });
    assert.equal(await origins.inputValue(), "http://localhost:3000, https://app.example");

    await origins.fill("localhost:3000");
    await setResponse(page, "set_settings", {
      __ipc_error: { kind: "invalid_settings", message: 'gateway_allowed_origins: "localhost:3000" is not a web origin' },
    });
    await page.locator(tid("settings-save")).click();
    await page.locator(tid("error", "settings-error")).waitFor();
    assert.equal(await text(page.locator(tid("setting-error-gateway_allowed_origins"))), '"localhost:3000" is not a web origin');
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("a bad fallback chain is refused before sending, with the field named", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.overloadScenario);
  try {
    await openSettings(page, state.server.origin);
    const chain = field(page, "gateway_fallback");
    const hint = page.locator(tid("setting-error-gateway_fallback"));
    assert.match(await chain.getAttribute("aria-describedby"), /\berror-gateway_fallback\b/);
    const cases = [
      ["claude-opus-4-6", "claude-opus-4-6 has no second entry to fall back to"],
      ["claude-opus-4-6 claude-opus-4-6", '"claude-opus-4-6" is named twice'],
      ["claude-opus-4-6, claude/sonnet", '"claude/sonnet" is not a model id such as claude-sonnet-5-5'],
      ["claude-opus-4-6, claude-sönnet-4-6", '"claude-sönnet-4-6" is not a model id such as claude-sonnet-5-5'],
      ["a b c d e f g h i", "at most 8 fallback entries"],
      ["openai:gpt-4o claude-opus-4-6", "the chain starts at the Claude model a request asks for, not at openai:gpt-4o"],
      ["claude-opus-4-6 openai-compatible:local:llama3", 'openai-compatible:local:llama3 names the server "local", which gateway_providers does not declare'],
    ];
    for (const [typed, message] of cases) {
      await chain.fill(typed);
      assert.equal(await text(hint), message, typed);
      assert.equal(await chain.getAttribute("aria-invalid"), "true", typed);
      await page.locator(tid("settings-save")).click();
      assert.equal(await text(page.locator(tid("settings-error"))), "Nothing was saved. Fix the fields marked above: Fallback chain.", typed);
      assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), "setting-gateway_fallback", "focus on the chain");
    }
    assert.deepEqual(await callsOf(page, "set_settings"), [], "nothing sent");

    // Fixed, then refused by the shell anyway: its message lands on the field.
    await chain.fill("claude-opus-4-6, claude-sonnet-4-6");
    assert.equal(await text(hint), "");
    assert.equal(await chain.getAttribute("aria-invalid"), "false");
    await setResponse(page, "set_settings", {
      __ipc_error: { kind: "invalid_settings", message: 'gateway_fallback: "claude-opus-4-6" is named twice' },
    });
    await page.locator(tid("settings-save")).click();
    await page.locator(tid("error", "settings-error")).waitFor();
    assert.equal(await text(hint), '"claude-opus-4-6" is named twice');
    assert.equal((await callsOf(page, "set_settings")).length, 1);
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("the Claude Code status line: install, remove, replace another only after asking, unreadable left alone", opts, async () => {
  const { fx } = state.build;
  const path = "/home/user/.claude/settings.json";
  const ours = { path, state: "ours", command: "/usr/bin/claude-status statusline", message: `Added the Claude Status status line to ${path} (the previous file is kept as ${path}.claude-status-backup-20261202T120000).` };
  const scenario = { ...fx.operationalScenario, install_status_line: ours };
  const { context, page, seen } = await openPage(state.browser, state.build, scenario);
  try {
    await openSettings(page, state.server.origin);
    const form = page.locator(tid("status-line-form"));
    await page.waitForFunction(() => document.querySelector('[data-testid="status-line-form"]')?.dataset.state === "none");
    assert.equal(await text(page.locator(tid("status-line-state"))), `Not installed (${path}).`);
    await page.locator(tid("status-line-install")).click();
    await page.waitForFunction(() => document.querySelector('[data-testid="status-line-form"]')?.dataset.state === "ours");
    assert.deepEqual(await callsOf(page, "install_status_line"), [{ force: false }]);
    assert.match(await text(page.locator(tid("status-line-message"))), /backup/);
    assert.match(await text(form), /Installed in .+: \/usr\/bin\/claude-status statusline/);

    await setResponse(page, "uninstall_status_line", { path, state: "none", command: null, message: `Removed the Claude Status status line from ${path}.` });
    await page.locator(tid("status-line-remove")).click();
    await page.waitForFunction(() => document.querySelector('[data-testid="status-line-form"]')?.dataset.state === "none");

    assertClean(assert, seen);
  } finally {
    await context.close();
  }
  // Another status line: replacing it is asked first; "cancel" sends nothing.
  const other = { path, state: "other", command: "~/bin/my-line.sh", message: null };
  const second = await openPage(state.browser, state.build, { ...scenario, get_status_line: other });
  try {
    const page = second.page;
    await openSettings(page, state.server.origin);
    await page.waitForFunction(() => document.querySelector('[data-testid="status-line-form"]')?.dataset.state === "other");
    assert.match(await text(page.locator(tid("status-line-state"))), /another status line: ~\/bin\/my-line\.sh/);
    page.once("dialog", (dialog) => void dialog.dismiss());
    await page.locator(tid("status-line-replace")).click();
    assert.deepEqual(await callsOf(page, "install_status_line"), []);
    page.once("dialog", (dialog) => void dialog.accept());
    await page.locator(tid("status-line-replace")).click();
    await page.waitForFunction(() => document.querySelector('[data-testid="status-line-form"]')?.dataset.state === "ours");
    assert.deepEqual(await callsOf(page, "install_status_line"), [{ force: true }]);
    assertClean(assert, second.seen);
  } finally {
    await second.context.close();
  }
  // A settings file that is not valid JSON: said so, no button, nothing sent.
  const unreadable = { path, state: "unreadable", command: null, message: `${path} is not valid JSON (line 1, column 11): nothing was changed.` };
  const third = await openPage(state.browser, state.build, { ...scenario, get_status_line: unreadable });
  try {
    const page = third.page;
    await openSettings(page, state.server.origin);
    await page.waitForFunction(() => document.querySelector('[data-testid="status-line-form"]')?.dataset.state === "unreadable");
    assert.match(await text(page.locator(tid("status-line-state"))), /is not valid JSON, so nothing is changed/);
    assert.equal(await page.locator(`${tid("status-line-form")} button`).count(), 0);
    assertClean(assert, third.seen);
  } finally {
    await third.context.close();
  }
});

test("issue 15: other providers: the chain, the wait, the servers, and keys stored but never shown", opts, async () => {
  const { fx } = state.build;
  const scenario = {
    ...fx.overloadScenario,
    get_settings: fx.providerSettingsView,
    set_settings: fx.providerSettingsView,
    get_provider_keys: fx.providerKeysWithLocal,
    set_provider_key: fx.providerKeysWithLocal,
  };
  const { context, page, seen } = await openPage(state.browser, state.build, scenario);
  try {
    await openSettings(page, state.server.origin);
    await page.locator(tid("provider-key")).first().waitFor();
    // The stored values: the chain, the wait in minutes, the declared server.
    assert.equal(await field(page, "gateway_fallback").inputValue(), "claude-opus-4-6, claude-sonnet-4-6, openai:gpt-4o, openai-compatible:local:llama3");
    assert.equal(await field(page, "gateway_fallback_after_secs").inputValue(), "2");
    assert.equal(await field(page, "gateway_fallback_after_unit").inputValue(), "min");
    const rows = page.locator(tid("provider-row"));
    assert.equal(await rows.count(), 1);
    assert.equal(await rows.locator(tid("provider-name")).inputValue(), "local");
    assert.equal(await rows.locator(tid("provider-url")).inputValue(), "http://127.0.0.1:8000/v1");
    // Where each key is, never what.
    const keys = page.locator(tid("provider-key"));
    assert.deepEqual(
      await keys.evaluateAll((items) =>
        items.map((item) => [item.dataset.provider, item.querySelector('[data-testid="provider-key-status"]').textContent, item.querySelector('[data-testid="provider-key-input"]').value]),
      ),
      [
        ["openai", "from $OPENAI_API_KEY", ""],
        ["gemini", "none", ""],
        ["local", "stored in the keychain", ""],
      ],
    );
    assert.equal(await keys.nth(0).locator(tid("provider-key-remove")).isDisabled(), true, "nothing in the keychain to remove");
    assert.equal(await keys.nth(2).locator(tid("provider-key-remove")).isDisabled(), false);
    assert.equal((await page.locator(".field-error").allInnerTexts()).join(""), "", "the stored values are fine");

    // Checked as typed, in settings.rs's words.
    const afterHint = page.locator(tid("setting-error-gateway_fallback_after_secs"));
    await field(page, "gateway_fallback_after_secs").fill("1441");
    assert.equal(await text(afterHint), "must be at most 86400 (one day)");
    await field(page, "gateway_fallback_after_unit").selectOption("s");
    assert.equal(await text(afterHint), "");
    await field(page, "gateway_fallback_after_secs").fill("1.5");
    assert.equal(await text(afterHint), "must be a whole number of seconds or minutes (0 for at once)");
    await field(page, "gateway_fallback_after_secs").fill("5");
    await field(page, "gateway_fallback_after_unit").selectOption("min");
    const providersHint = page.locator(tid("setting-error-gateway_providers"));
    await rows.locator(tid("provider-url")).fill("file:///etc/passwd");
    assert.equal(await text(providersHint), "local's base URL must be an http:// or https:// URL without a query");
    assert.equal(await rows.locator(tid("provider-url")).getAttribute("aria-invalid"), "true");
    await rows.locator(tid("provider-url")).fill("http://127.0.0.1:8000/v1");
    assert.equal(await text(providersHint), "");
    // Removing the server the chain names: the chain says so.
    await rows.locator(tid("provider-remove")).click();
    assert.equal(await text(page.locator(tid("setting-error-gateway_fallback"))), 'openai-compatible:local:llama3 names the server "local", which gateway_providers does not declare');
    await page.locator(tid("settings-save")).click();
    assert.equal(await text(page.locator(tid("settings-error"))), "Nothing was saved. Fix the fields marked above: Fallback chain.");
    assert.deepEqual(await callsOf(page, "set_settings"), [], "nothing sent");
    // Added back (and a second one, left empty: no server), then saved.
    await page.locator(tid("provider-add")).click();
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), "provider-name", "the new row's name has the focus");
    await page.locator(tid("provider-name")).last().fill("local");
    await page.locator(tid("provider-url")).last().fill(" http://127.0.0.1:8000/v1 ");
    await page.locator(tid("provider-add")).click();
    assert.equal(await text(page.locator(tid("setting-error-gateway_fallback"))), "");
    const keyCalls = (await callsOf(page, "get_provider_keys")).length;
    await page.locator(tid("settings-save")).click();
    await page.locator(tid("settings-saved")).getByText("Saved.").waitFor();
    const [sent] = await callsOf(page, "set_settings");
    assert.deepEqual(
      [sent.settings.gateway_fallback, sent.settings.gateway_fallback_after_secs, sent.settings.gateway_providers],
      [fx.PROVIDER_CHAIN, 300, [{ name: "local", base_url: "http://127.0.0.1:8000/v1" }]],
    );
    await page.waitForFunction((n) => window.__mockIpc.calls.filter(([c]) => c === "get_provider_keys").length > n, keyCalls);

    // A key: stored through the service, the field emptied, never shown again.
    const secret = "sk-proj-BROWSERTESTSECRET";
    await setResponse(page, "set_provider_key", fx.providerKeysWithLocal.map((k) => (k.name === "gemini" ? { ...k, source: "keychain" } : k)));
    const gemini = page.locator('[data-testid="provider-key"][data-provider="gemini"]');
    await gemini.locator(tid("provider-key-input")).fill(secret);
    await gemini.locator(tid("provider-key-save")).click();
    await page.locator(tid("provider-keys-message")).getByText("gemini's key saved in the keychain.").waitFor();
    assert.deepEqual(await callsOf(page, "set_provider_key"), [{ provider: "gemini", key: secret }]);
    const geminiAfter = page.locator('[data-testid="provider-key"][data-provider="gemini"]');
    assert.equal(await text(geminiAfter.locator(tid("provider-key-status"))), "stored in the keychain");
    assert.equal(await geminiAfter.locator(tid("provider-key-input")).inputValue(), "");
    assert.equal(await page.evaluate((s) => document.documentElement.outerHTML.includes(s) || [...document.querySelectorAll("input")].some((i) => i.value.includes(s)), secret), false);
    // Removed: `null` is sent.
    await page.locator('[data-testid="provider-key"][data-provider="local"]').locator(tid("provider-key-remove")).click();
    await page.locator(tid("provider-keys-message")).getByText("openai-compatible:local's key removed.").waitFor();
    assert.deepEqual((await callsOf(page, "set_provider_key"))[1], { provider: "local", key: null });
    // Two words are refused before sending; a refused key is cleared too.
    const openai = page.locator('[data-testid="provider-key"][data-provider="openai"]');
    await openai.locator(tid("provider-key-input")).fill("two words");
    await openai.locator(tid("provider-key-save")).click();
    assert.equal(await text(page.locator(tid("provider-keys-message"))), "A provider key is one word of at most 4096 characters.");
    assert.equal((await callsOf(page, "set_provider_key")).length, 2);
    await setResponse(page, "set_provider_key", { __ipc_error: { kind: "keychain_unavailable", message: "no OS keychain is available" } });
    await openai.locator(tid("provider-key-input")).fill("sk-proj-REFUSED");
    await openai.locator(tid("provider-key-save")).click();
    await page.locator(tid("error", "provider-keys-message")).waitFor();
    assert.match(await text(page.locator(tid("provider-keys-message"))), /no OS keychain is available/);
    assert.equal(await openai.locator(tid("provider-key-input")).inputValue(), "");
    assertClean(assert, seen, { allowConsole: [/keychain/] });
  } finally {
    await context.close();
  }
});

test("issue 15: a server the chain names but the saved settings lack: its key waits for a save", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.overloadScenario);
  try {
    await openSettings(page, state.server.origin);
    await page.locator(tid("provider-key")).first().waitFor();
    assert.equal(await page.locator(tid("provider-key")).count(), 2, "OpenAI and Gemini always");
    assert.equal(await field(page, "gateway_fallback_after_secs").inputValue(), "5", "the default: 5 minutes");
    assert.equal(await field(page, "gateway_fallback_after_unit").inputValue(), "min");
    await field(page, "gateway_fallback").fill("claude-opus-4-6, openai-compatible:vllm:qwen");
    await page.locator(tid("provider-keys-unsaved")).waitFor();
    assert.equal(await text(page.locator(tid("provider-keys-unsaved"))), "Save the settings to set the key of vllm.");
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});
