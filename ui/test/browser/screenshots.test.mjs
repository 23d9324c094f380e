// Screenshots of each view in light and dark at 1000 × 700, and the Overview at 400 × 600:
// docs/screenshots/dashboard-<view>-<light|dark>.png with UPDATE_SCREENSHOTS=1, else
// test/browser/out/ (ignored by git), so a plain run never touches the docs.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";

import { assertClean, fileSetup, load, openPage, screenshot, SKIP, TEST_TIMEOUT_MS, tid } from "./helpers.mjs";

const setup = fileSetup();
const { state } = setup;
before(async () => {
  if (!SKIP) await setup.before();
});
after(() => setup.after());
const opts = { skip: SKIP, timeout: TEST_TIMEOUT_MS };

/** Width and height from a PNG's IHDR chunk. */
function pngSize(path) {
  const png = readFileSync(path);
  assert.equal(png.subarray(1, 4).toString("latin1"), "PNG", `${path} is a PNG`);
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

/** How each view is brought on screen (with the data that shows it best). */
const VIEWS = {
  overview: {
    scenario: (fx) => fx.overloadScenario,
    level: "Overloaded",
    async show(page) {
      await page.locator(tid("lead-time", "view-overview")).first().waitFor();
    },
  },
  incident: {
    scenario: (fx) => fx.overloadScenario,
    level: "Overloaded",
    async show(page) {
      await page.locator(tid("incident-row", "view-overview")).click();
      await page.locator(tid("incident-update")).first().waitFor();
      // The screenshot shows the details, not the focus ring of the Back button.
      await page.evaluate(() => document.activeElement?.blur());
    },
  },
  probes: {
    scenario: (fx) => fx.overloadScenario,
    level: "Overloaded",
    path: "/#probes",
    async show(page) {
      for (const id of ["chart-latency", "chart-ttft", "chart-errors"]) await page.locator(`${tid(id)} svg`).waitFor();
    },
  },
  budget: {
    // A busy day with the usage tracker: per-class use against Tier 2, spend, cost figures.
    scenario: (fx) => fx.usageScenario,
    level: "Operational",
    async show(page) {
      await page.waitForFunction(() => document.querySelector('[data-testid="api-key-status"]')?.textContent !== "");
      await page.locator(tid("tab-budget")).click();
      await page.locator(tid("usage-class")).first().waitFor();
    },
  },
  gateway: {
    // Budget's Gateway section, running through a 529 storm with retries and a fallback chain.
    scenario: (fx) => fx.usageScenario,
    level: "Operational",
    async show(page) {
      await page.waitForFunction(() => document.querySelector('[data-testid="api-key-status"]')?.textContent !== "");
      await page.locator(tid("tab-budget")).click();
      await page.locator(`${tid("chart-gateway")} svg`).waitFor();
      await page.locator(tid("gateway-panel")).evaluate((panel) => panel.scrollIntoView({ block: "start" }));
    },
  },
  providers: {
    // Issue 15: Budget's fallbacks by target while Opus's requests go to OpenAI's gpt-4o.
    scenario: (fx) => fx.elsewhereScenario,
    level: "Operational",
    async show(page) {
      await page.waitForFunction(() => document.querySelector('[data-testid="api-key-status"]')?.textContent !== "");
      await page.locator(tid("tab-budget")).click();
      await page.locator(tid("gateway-fallback-totals")).waitFor();
      await page.locator(tid("gateway-served-elsewhere")).evaluate((box) => box.scrollIntoView({ block: "start" }));
    },
  },
  "provider-settings": {
    // Issue 15: Settings → Local gateway with a chain that leaves Claude, a local server and the keys.
    scenario: (fx) => ({ ...fx.overloadScenario, get_settings: fx.providerSettingsView, get_provider_keys: fx.providerKeysWithLocal }),
    level: "Overloaded",
    path: "/#settings",
    async show(page) {
      await page.locator(tid("provider-key")).first().waitFor();
      await page.locator(tid("setting-gateway_fallback")).evaluate((input) => input.closest(".field").scrollIntoView({ block: "start" }));
    },
  },
  alerts: {
    // Settings → Alert channels: a working Slack channel and a failing PagerDuty one.
    scenario: (fx) => fx.overloadScenario,
    level: "Overloaded",
    path: "/#settings",
    async show(page) {
      await page.locator(tid("alert-channel-on-call")).waitFor();
      await page.locator(tid("alerts-form")).evaluate((form) => form.scrollIntoView({ block: "start" }));
    },
  },
  settings: {
    scenario: (fx) => fx.overloadScenario,
    level: "Overloaded",
    path: "/#settings",
    async show(page) {
      await page.waitForFunction(() => document.querySelector('[data-testid="setting-probe_interval_secs"]')?.value === "60");
      await page.locator(`${tid("setting-followed_components")} input`).first().waitFor();
    },
  },
};

async function shoot(name, view, { scheme, viewport, suffix = "" }) {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, view.scenario(fx), { colorScheme: scheme, viewport });
  try {
    await load(page, state.server.origin, view.path ?? "/", view.level);
    await view.show(page);
    // Let the charts' ResizeObserver and a clock tick settle.
    await page.waitForTimeout(150);
    const path = await screenshot(page, `${name}${suffix}-${scheme}`);
    assert.deepEqual(pngSize(path), viewport, `${path} is ${viewport.width}×${viewport.height}`);
    assertClean(assert, seen);
    return path;
  } finally {
    await context.close();
  }
}

for (const [name, view] of Object.entries(VIEWS)) {
  test(`screenshot: ${name}, light and dark`, opts, async (t) => {
    for (const scheme of ["light", "dark"]) {
      const path = await shoot(name, view, { scheme, viewport: { width: 1000, height: 700 } });
      t.diagnostic(path);
    }
  });
}

test("screenshot: overview at 400 × 600", opts, async (t) => {
  const path = await shoot("overview", VIEWS.overview, { scheme: "light", viewport: { width: 400, height: 600 }, suffix: "-narrow" });
  t.diagnostic(path);
});
