// Hostile text in every view (issue 16, item 6): every string the shell can send is poisoned with
// script payloads (<script>, <img onerror>, SVG onload, an iframe srcdoc, javascript: links,
// attribute breakouts, template syntax), in incident names, bodies and updates, component names,
// model ids and names, plan window labels, alert channel names and ids, gateway targets, error
// messages, and the status page's links. Each view is opened, the incident details, every model of
// the per-model probes and the plan and alert sections drawn, and then: no payload ran (the global
// `__xss` stays unset), no element a payload would make exists, and the payloads' text is on
// screen as text.
//
// The page is served without the CSP here on purpose: the CSP would stop an inline script on its
// own, and this test is about the page never making one (csp.test.mjs covers the policy).

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { assertClean, fileSetup, load, openPage, SKIP, TEST_TIMEOUT_MS, tid } from "./helpers.mjs";

const setup = fileSetup();
const state = setup.state;
before(async () => {
  if (!SKIP) await setup.before();
});
after(() => setup.after());

const opts = { skip: SKIP, timeout: TEST_TIMEOUT_MS * 4 };

/** Each payload sets `window.__xss` to its own marker if it ever runs. */
const PAYLOADS = [
  `<img src=x onerror="window.__xss='img'">`,
  `<script>window.__xss='script'</script>`,
  `<svg onload="window.__xss='svg'"><script>window.__xss='svg-script'</script></svg>`,
  `"><iframe srcdoc="<script>parent.__xss='iframe'</script>"></iframe>`,
  `' onmouseover='window.__xss="attr"' autofocus onfocus='window.__xss="focus"' x='`,
  `<a href="javascript:window.__xss='a'">link</a>`,
  `<math><mtext><table><mglyph><style><img src=x onerror="window.__xss='mxss'">`,
  "${window.__xss='template'}{{constructor.constructor('window.__xss=\"ng\"')()}}",
];
/** A link the status page could send instead of its shortlink. */
const JS_URL = "javascript:window.__xss='url'";

const ISO = /^\d{4}-\d\d-\d\dT/;
/** Lower-case words the UI switches on (levels, kinds, statuses, ranges): left as they are. */
const ENUM = /^[a-z0-9_]+$/;
/** Keys whose values are names or ids the user sees: poisoned whatever they look like. */
const NAME_KEYS = new Set([
  "model", "models", "id", "name", "label", "display_name", "title", "component", "components",
  "channel", "target", "requested", "served_by", "provider", "window", "kind_label", "subject",
  "alternative", "family", "class", "model_class", "key", "tier", "tier_name", "account",
]);

/**
 * Returns a poisoned copy of `value`. Human text (anything with a space or a capital) gets a
 * payload appended; names and ids (under NAME_KEYS) get one appended too, the same one for the
 * same string everywhere, so cross-references (a model's series, a channel's id) still match;
 * https links become javascript: links. Timestamps and enum words stay, or nothing would draw.
 */
function poisoner() {
  let next = 0;
  const names = new Map();
  const payload = () => PAYLOADS[next++ % PAYLOADS.length];
  const nameOf = (text) => {
    if (!names.has(text)) names.set(text, `${text}${payload()}`);
    return names.get(text);
  };
  const poison = (value, key = "") => {
    if (typeof value === "string") {
      if (ISO.test(value)) return value;
      if (/^https?:\/\//.test(value)) return key === "shortlink" || key === "url" ? JS_URL : `${value}${payload()}`;
      if (NAME_KEYS.has(key) && value !== "") return nameOf(value);
      if (ENUM.test(value) || value === "") return value;
      return `${value} ${payload()}`;
    }
    if (Array.isArray(value)) return value.map((item) => poison(item, key));
    if (value && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, poison(v, k)]));
    }
    return value;
  };
  /** A scenario's answers, poisoned, with the keys that carry a name ("…:MODEL") renamed too. */
  const scenario = (answers) => {
    const poisoned = Object.fromEntries(Object.entries(answers).map(([k, v]) => [k, poison(v)]));
    for (const [k, v] of Object.entries(poisoned)) {
      const [command, ...rest] = k.split(":");
      if (rest.length === 2 && names.has(rest[1])) poisoned[`${command}:${rest[0]}:${names.get(rest[1])}`] = v;
      if (command === "get_incident" && rest.length === 1 && names.has(rest[0])) poisoned[`get_incident:${names.get(rest[0])}`] = v;
    }
    return poisoned;
  };
  return { scenario, names };
}

/** What a payload leaves behind if it ever became markup, and whether one ran. */
function damage() {
  const selectors = [
    "img[src='x']", "iframe", "[onerror]", "[onload]", "[onmouseover]", "[onfocus]", "[autofocus]",
    "script:not([src])", "[href^='javascript:' i]", "[src^='javascript:' i]", "math", "mglyph",
    "#app svg script", "a[href]",
  ];
  const found = selectors.flatMap((s) => [...document.querySelectorAll(s)].map((e) => `${s}: ${e.outerHTML.slice(0, 120)}`));
  return { xss: window.__xss ?? null, found };
}

/** The payloads' literal text on screen (innerText of the app), counted. */
function shownPayloads(payloads) {
  const text = document.getElementById("app")?.innerText ?? "";
  return payloads.map((p) => text.split(p).length - 1);
}

async function assertNoDamage(page, where) {
  // An <img onerror> fires once the failed load is reported; give it that moment.
  await page.waitForTimeout(150);
  const seen = await page.evaluate(damage);
  assert.equal(seen.xss, null, `${where}: a payload ran (window.__xss = ${seen.xss})`);
  assert.deepEqual(seen.found, [], `${where}: a payload became markup`);
}

/** Opens every view of a poisoned scenario and checks each one; returns payloads seen on screen. */
async function tour(fx, answers, label) {
  const { scenario, names } = poisoner();
  const poisoned = scenario(answers);
  const { context, page, seen } = await openPage(state.browser, state.build, poisoned);
  const shown = new Array(PAYLOADS.length).fill(0);
  const count = async () => {
    const now = await page.evaluate(shownPayloads, PAYLOADS);
    now.forEach((n, i) => (shown[i] += n));
    return now.reduce((a, b) => a + b, 0);
  };
  try {
    await load(page, state.server.origin, "/");
    await page.locator(tid("view-overview")).waitFor();
    await assertNoDamage(page, `${label} overview`);
    assert.ok((await count()) > 0, `${label} overview: the payloads show as text`);

    await page.locator(tid("tab-incidents")).click();
    await page.waitForTimeout(100);
    await assertNoDamage(page, `${label} incidents`);
    await count();
    const rows = page.locator(tid("incident-row", "view-incidents"));
    if ((await rows.count()) > 0) {
      await rows.first().click();
      await page.locator(tid("incident-detail")).waitFor();
      await assertNoDamage(page, `${label} incident details`);
      assert.ok((await count()) > 0, `${label} incident details: the payloads show as text`);
      const link = page.locator(tid("incident-link"));
      if ((await link.count()) > 0) {
        const before = page.url();
        await link.first().click();
        await page.waitForTimeout(100);
        assert.equal(page.url(), before, `${label}: the incident's link did not navigate the page`);
        await assertNoDamage(page, `${label} incident link`);
      }
    }

    await page.locator(tid("tab-probes")).click();
    await page.locator(tid("probe-body")).waitFor();
    await assertNoDamage(page, `${label} probes`);
    await count();
    // The per-model views: every model the select offers, hostile ids included.
    const select = page.locator(tid("probe-model"));
    if ((await select.count()) > 0) {
      const values = await select.locator("option").evaluateAll((options) => options.map((o) => o.value));
      for (const value of values) {
        await select.selectOption(value);
        await page.waitForTimeout(100);
        await assertNoDamage(page, `${label} probes of ${value.slice(0, 40)}`);
        await count();
      }
    }

    await page.locator(tid("tab-budget")).click();
    await page.waitForTimeout(200);
    await assertNoDamage(page, `${label} budget`);
    await count();

    await page.locator(tid("tab-settings")).click();
    await page.locator(tid("settings-form")).waitFor();
    await page.waitForTimeout(200);
    await assertNoDamage(page, `${label} settings`);
    await count();

    // A new snapshot redraws the views already drawn; still text.
    await page.evaluate((snapshot) => window.__mockIpc.emit("snapshot-changed", snapshot), poisoned.get_snapshot);
    await page.locator(tid("tab-overview")).click();
    await assertNoDamage(page, `${label} overview after a new snapshot`);
    assertClean(assert, seen);
    return { shown, names: names.size };
  } finally {
    await context.close();
  }
}

const SCENARIOS = [
  ["overload", (fx) => ({ ...fx.overloadScenario, get_gateway: fx.gatewayRunning })],
  ["usage and plan", (fx) => fx.usageScenario],
  ["spend cap", (fx) => fx.capReachedScenario],
  ["served elsewhere", (fx) => fx.elsewhereScenario],
  ["recovering", (fx) => fx.recoveringScenario],
  ["not watched", (fx) => fx.notWatchedScenario],
  ["first launch", (fx) => fx.firstLaunchScenario],
];

const totals = new Array(PAYLOADS.length).fill(0);
for (const [label, answers] of SCENARIOS) {
  test(`security: hostile text in every view never runs (${label})`, opts, async () => {
    const { fx } = state.build;
    const { shown, names } = await tour(fx, answers(fx), label);
    shown.forEach((n, i) => (totals[i] += n));
    assert.ok(names > 0, "names and ids were poisoned too");
  });
}

test("security: every kind of payload was shown as text somewhere", opts, () => {
  const missing = PAYLOADS.filter((_, i) => totals[i] === 0);
  assert.deepEqual(missing, [], "each payload reached the screen as text at least once");
  const shown = totals.reduce((a, b) => a + b, 0);
  console.log(`hostile text: ${shown} payloads shown as text across ${SCENARIOS.length} scenarios × 5 views, none ran`);
});

test("security: a failed command's message is text too", opts, async () => {
  const { fx } = state.build;
  const error = { __ipc_error: { kind: "internal", message: PAYLOADS.join(" ") } };
  const answers = { ...fx.overloadScenario, list_incidents: error, "get_history:24h": error, "get_probe_series:24h": error, get_gateway: error, get_alert_channels: error, get_usage_blocks: error, get_advice: error };
  const { context, page, seen } = await openPage(state.browser, state.build, answers);
  try {
    await load(page, state.server.origin, "/");
    for (const name of ["incidents", "probes", "budget", "settings", "overview"]) {
      await page.locator(tid(`tab-${name}`)).click();
      await page.waitForTimeout(150);
      await assertNoDamage(page, `error in ${name}`);
    }
    const boxes = await page.locator(tid("error")).allInnerTexts();
    assert.ok(boxes.some((t) => t.includes(PAYLOADS[0])), `the message shows as text: ${boxes}`);
    assertClean(assert, seen, { allowConsole: [/./] });
  } finally {
    await context.close();
  }
});
