// Keyboard use of the tabs (Tab reaches them, arrows move, Enter activates, the focus is visible),
// the narrow 400 × 600 window (nothing overflows sideways in any view), and light and dark.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { assertClean, fileSetup, load, openPage, setResponse, SKIP, TEST_TIMEOUT_MS, tid } from "./helpers.mjs";

const setup = fileSetup();
const { state } = setup;
before(async () => {
  if (!SKIP) await setup.before();
});
after(() => setup.after());
const opts = { skip: SKIP, timeout: TEST_TIMEOUT_MS };

const TABS = ["overview", "incidents", "probes", "budget", "settings"];

/** The focused element, the selected tab and the visible panel, and the focus ring's style. */
const where = (page) =>
  page.evaluate(() => {
    const el = document.activeElement;
    const style = el ? getComputedStyle(el) : null;
    return {
      focused: el?.getAttribute("data-testid") ?? el?.tagName ?? null,
      selected: document.querySelector('[role=tab][aria-selected="true"]')?.dataset.tab ?? null,
      panels: [...document.querySelectorAll("[role=tabpanel]")].filter((p) => !p.hidden).map((p) => p.id),
      focusVisible: el?.matches(":focus-visible") ?? false,
      outline: style ? { style: style.outlineStyle, width: style.outlineWidth, color: style.outlineColor } : null,
      hash: location.hash,
    };
  });

test("keyboard: Tab reaches the tabs, arrows move, Enter activates, focus is visible", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.overloadScenario);
  try {
    await load(page, state.server.origin, "/", "Overloaded");
    // Roving tabindex: exactly one tab is in the Tab order.
    const tabIndexes = await page.locator("[role=tab]").evaluateAll((tabs) => tabs.map((t) => t.tabIndex));
    assert.deepEqual(tabIndexes, [0, -1, -1, -1, -1]);

    const visited = [];
    for (let i = 0; i < 6; i++) {
      await page.keyboard.press("Tab");
      const now = await where(page);
      visited.push(now.focused);
      if (now.focused === "tab-overview") break;
    }
    assert.equal(visited.at(-1), "tab-overview", `Tab reaches the tab list: ${visited.join(" → ")}`);
    assert.ok(visited.includes("check-now"), "Check now comes first");

    // The focus ring is drawn (2 px solid, the --focus colour) and only on the focused tab.
    let state1 = await where(page);
    assert.equal(state1.focusVisible, true);
    assert.deepEqual(state1.outline, { style: "solid", width: "2px", color: "rgb(47, 111, 222)" });
    const unfocused = await page.locator(tid("tab-probes")).evaluate((t) => getComputedStyle(t).outlineStyle);
    assert.equal(unfocused, "none");

    // Arrows move and open, wrapping at both ends; Home and End.
    const steps = [
      ["ArrowRight", "incidents"],
      ["ArrowRight", "probes"],
      ["ArrowLeft", "incidents"],
      ["End", "settings"],
      ["ArrowRight", "overview"],
      ["ArrowLeft", "settings"],
      ["Home", "overview"],
      ["ArrowRight", "incidents"],
    ];
    for (const [key, tab] of steps) {
      await page.keyboard.press(key);
      const now = await where(page);
      assert.equal(now.focused, `tab-${tab}`, `${key} focuses ${tab}`);
      assert.equal(now.selected, tab, `${key} selects ${tab}`);
      assert.deepEqual(now.panels, [`view-${tab}`], `${key} shows ${tab} only`);
      assert.equal(now.hash, `#${tab}`);
      assert.equal(now.focusVisible, true, `the focus on ${tab} is visible`);
      assert.equal(now.outline.style, "solid");
      const indexes = await page.locator("[role=tab]").evaluateAll((tabs) => tabs.map((t) => t.tabIndex));
      assert.deepEqual(indexes, TABS.map((t) => (t === tab ? 0 : -1)), "the roving tabindex follows");
    }

    // Enter on a focused tab that is not selected opens it.
    await page.locator(tid("tab-budget")).focus();
    assert.equal((await where(page)).selected, "incidents");
    await page.keyboard.press("Enter");
    state1 = await where(page);
    assert.equal(state1.selected, "budget");
    assert.deepEqual(state1.panels, ["view-budget"]);
    await page.locator(tid("budget-not-measured")).waitFor();

    // Tab from the tab list goes into the open panel, Shift+Tab comes back.
    await page.keyboard.press("Tab");
    assert.equal((await where(page)).focused, "view-budget");
    await page.keyboard.press("Shift+Tab");
    assert.equal((await where(page)).focused, "tab-budget");

    // Enter on an incident row opens it; Escape gives the focus back, still visibly.
    await page.keyboard.press("Home");
    await page.locator(tid("incident-row", "view-overview")).focus();
    await page.keyboard.press("Enter");
    await page.locator(tid("incident-detail")).waitFor();
    assert.equal((await where(page)).focused, "incident-back");
    await page.keyboard.press("Escape");
    const back = await where(page);
    assert.equal(back.focused, "incident-row");
    assert.equal(back.focusVisible, true);
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

/** Width of the page and the elements that stick out past the right edge. */
const overflow = (page, width) =>
  page.evaluate((limit) => {
    const scroller = document.scrollingElement;
    const offenders = [];
    for (const el of document.querySelectorAll("body *")) {
      const box = el.getBoundingClientRect();
      if (box.width > 0 && box.right > limit + 0.5) {
        offenders.push(`${el.tagName.toLowerCase()}${el.dataset.testid ? `[${el.dataset.testid}]` : ""}.${el.className?.baseVal ?? el.className} right=${Math.round(box.right)}`);
      }
    }
    return { scrollWidth: scroller.scrollWidth, offenders: offenders.slice(0, 8) };
  }, width);

test("layout: nothing overflows sideways at 400 × 600 in any view", opts, async () => {
  const { fx } = state.build;
  for (const [name, scenario, level] of [
    ["overload", fx.overloadScenario, "Overloaded"],
    ["operational", fx.operationalScenario, "Operational"],
    ["usage", fx.usageScenario, "Operational"],
    // Issue 15: the fallbacks by target (eight columns, long targets) and the provider settings.
    ["elsewhere", { ...fx.elsewhereScenario, get_settings: fx.providerSettingsView, get_provider_keys: fx.providerKeysWithLocal }, "Operational"],
  ]) {
    const tracked = name === "usage" || name === "elsewhere";
    const { context, page, seen } = await openPage(state.browser, state.build, scenario, { viewport: { width: 400, height: 600 } });
    try {
      await load(page, state.server.origin, "/", level);
      const check = async (what) => {
        const { scrollWidth, offenders } = await overflow(page, 400);
        assert.ok(scrollWidth <= 400, `${name}, ${what}: scrollWidth ${scrollWidth} > 400: ${offenders.join("; ")}`);
      };
      await page.locator(tid("lead-time", "view-overview")).first().waitFor();
      await check("overview");
      await page.locator(tid("tab-incidents")).click();
      await page.locator(tid("recent-incidents")).waitFor();
      await check("incidents");
      await page.locator(tid("incident-row", "recent-incidents")).first().click();
      await page.locator(tid("incident-update")).first().waitFor();
      await check("incident details");
      if (name === "overload") {
        await page.keyboard.press("Escape");
        await page.locator(tid("incident-row", "active-incident-list")).click();
        await page.locator(tid("incident-update")).first().waitFor();
        await check("active incident details (HTML-like text)");
      }
      await page.locator(tid("tab-probes")).click();
      await page.locator(tid("chart-errors")).waitFor();
      await check("probes");
      await page.locator(tid("tab-budget")).click();
      await page.locator(tracked ? tid("usage-class") : tid("budget-not-measured")).first().waitFor();
      // The usage scenario has the gateway running: its chart, table and events are drawn too.
      await page.locator(tracked ? `${tid("chart-gateway")} svg` : `${tid("gateway-panel")}[data-state="off"]`).waitFor();
      if (name === "elsewhere") await page.locator(tid("gateway-fallback-totals")).waitFor();
      await check("budget");
      await page.locator(tid("tab-settings")).click();
      await page.waitForFunction(() => document.querySelector('[data-testid="setting-probe_interval_secs"]')?.value !== "");
      if (name === "elsewhere") await page.locator(tid("provider-key")).first().waitFor();
      await check("settings");
      // With every kind of message showing.
      await page.locator(tid("setting-probe_interval_secs")).fill("2");
      await page.locator(tid("setting-streaming_model")).fill("claude-a-model-name-that-is-rather-long-for-a-narrow-window-4-6");
      await page.locator(tid("settings-save")).click();
      await setResponse(page, "set_settings", { __ipc_error: fx.invalidSettingsError });
      await page.locator(tid("setting-probe_interval_secs")).fill("30");
      await page.locator(tid("setting-streaming_model")).fill("claude-haiku-4-5");
      await page.locator(tid("settings-save")).click();
      await page.locator(tid("error", "settings-error")).waitFor();
      await check("settings with errors");
      assertClean(assert, seen);
    } finally {
      await context.close();
    }
  }
});

test("layout: the Overview's warning, cost notice and models, and a model's probes, fit 400 × 600", opts, async () => {
  const { fx } = state.build;
  for (const [name, scenario, level, waitFor] of [
    ["not watched", fx.notWatchedScenario, "Operational", "coverage-warning"],
    ["first launch", fx.firstLaunchScenario, "Overloaded", "probe-cost-notice"],
    ["recovering", fx.recoveringScenario, "Degraded", "model-row"],
  ]) {
    const { context, page, seen } = await openPage(state.browser, state.build, scenario, { viewport: { width: 400, height: 600 } });
    try {
      await load(page, state.server.origin, "/", level);
      await page.locator(tid(waitFor)).first().waitFor();
      let { scrollWidth, offenders } = await overflow(page, 400);
      assert.ok(scrollWidth <= 400, `${name}, overview: scrollWidth ${scrollWidth} > 400: ${offenders.join("; ")}`);
      if (name === "first launch") {
        await page.locator(tid("tab-probes")).click();
        await page.locator(tid("probe-model")).selectOption("claude-sonnet-4-6");
        await page.waitForFunction(() => window.__mockIpc.calls.some(([c, a]) => c === "get_probe_series" && a?.model));
        await page.locator(`${tid("chart-errors")} svg`).waitFor();
        ({ scrollWidth, offenders } = await overflow(page, 400));
        assert.ok(scrollWidth <= 400, `${name}, a model's probes: scrollWidth ${scrollWidth} > 400: ${offenders.join("; ")}`);
      }
      assertClean(assert, seen);
    } finally {
      await context.close();
    }
  }
});

test("light and dark: the computed colours follow the colour scheme", opts, async () => {
  const { fx } = state.build;
  const colours = {};
  for (const scheme of ["light", "dark"]) {
    const { context, page, seen } = await openPage(state.browser, state.build, fx.overloadScenario, { colorScheme: scheme });
    try {
      await load(page, state.server.origin, "/", "Overloaded");
      colours[scheme] = await page.evaluate(() => {
        const root = getComputedStyle(document.documentElement);
        return {
          dark: matchMedia("(prefers-color-scheme: dark)").matches,
          background: root.backgroundColor,
          text: root.color,
          level: getComputedStyle(document.getElementById("level")).color,
          panel: getComputedStyle(document.querySelector('[data-testid="probe-card"]')).backgroundColor,
        };
      });
      assertClean(assert, seen);
    } finally {
      await context.close();
    }
  }
  assert.equal(colours.light.dark, false);
  assert.equal(colours.dark.dark, true);
  assert.equal(colours.light.background, "rgb(255, 255, 255)");
  assert.equal(colours.dark.background, "rgb(28, 28, 30)");
  for (const key of ["background", "text", "level", "panel"]) {
    assert.notEqual(colours.light[key], colours.dark[key], `${key} differs: ${colours.light[key]} vs ${colours.dark[key]}`);
  }
});
