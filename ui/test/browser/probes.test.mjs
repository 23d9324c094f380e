// Probes: the range buttons ask for that range's series and history, the charts carry the incident
// bands, the stats show uptime and the 529 / 429 rates, and no data gives the empty state. The
// model selector asks for one followed model's series (get_probe_series with its model).

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

const CHARTS = ["chart-latency", "chart-ttft", "chart-errors"];

test("1h / 24h / 7d: the range goes to both commands, and its figures are shown", opts, async () => {
  const { fx, format } = state.build;
  // A distinct summary per range, so the test sees which answer was drawn.
  const histories = {
    "1h": { ...fx.history24h, window_label: "1h", probes: 60, uptime_percent: 50, rate_529_percent: 48.3, rate_429_percent: 1.7 },
    "24h": fx.history24h,
    "7d": { ...fx.history24h, window_label: "7d", probes: 10080, uptime_percent: 99.21, rate_529_percent: 0.74, rate_429_percent: 0.05 },
  };
  const scenario = { ...fx.overloadScenario };
  for (const [range, history] of Object.entries(histories)) scenario[`get_history:${range}`] = history;
  const { context, page, seen } = await openPage(state.browser, state.build, scenario);
  try {
    await load(page, state.server.origin, "/#probes", "Overloaded");
    assert.equal(await page.locator(tid("tab-probes")).getAttribute("aria-selected"), "true");
    await page.locator(tid("probe-stats")).waitFor();
    assert.equal(await page.locator(tid("range-24h")).getAttribute("aria-pressed"), "true");
    assert.deepEqual(await callsOf(page, "get_probe_series"), [{ range: "24h" }]);
    assert.deepEqual(await callsOf(page, "get_history"), [{ range: "24h" }]);

    const expected = [{ range: "24h" }];
    for (const range of ["1h", "7d", "24h"]) {
      const history = histories[range];
      await page.locator(tid(`range-${range}`)).click();
      expected.push({ range });
      // Wait for this range's figures (the stats of another range would differ).
      await page.waitForFunction(
        (uptime) => document.querySelector('[data-testid="stat-uptime"] .stat-value')?.textContent === uptime,
        format.percent(history.uptime_percent),
      );
      assert.deepEqual(await callsOf(page, "get_probe_series"), expected, `get_probe_series after ${range}`);
      assert.deepEqual(await callsOf(page, "get_history"), expected, `get_history after ${range}`);
      for (const other of ["1h", "24h", "7d"]) {
        assert.equal(await page.locator(tid(`range-${other}`)).getAttribute("aria-pressed"), String(other === range));
      }
      assert.equal(await text(page.locator(`${tid("stat-uptime")} .stat-value`)), format.percent(history.uptime_percent));
      assert.equal(await text(page.locator(`${tid("stat-529")} .stat-value`)), format.percent(history.rate_529_percent));
      assert.equal(await text(page.locator(`${tid("stat-429")} .stat-value`)), format.percent(history.rate_429_percent));
      assert.match(await text(page.locator(tid("stat-529"))), /529 overloaded/);
      assert.match(await text(page.locator(tid("stat-429"))), /429 rate limited/);
    }
    // The 24 h fixture's own figures, spelled out once.
    assert.equal(await text(page.locator(`${tid("stat-uptime")} .stat-value`)), "96.7%");
    assert.equal(await text(page.locator(`${tid("stat-529")} .stat-value`)), "3.3%");
    assert.equal(await text(page.locator(`${tid("stat-429")} .stat-value`)), "0.14%");
    assert.equal(await text(page.locator(`${tid("stat-latency")} .stat-value`)), "452 ms / 1.7 s");
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("charts render with the incident periods as bands", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.overloadScenario);
  try {
    await load(page, state.server.origin, "/#probes", "Overloaded");
    for (const id of CHARTS) {
      const chart = page.locator(tid(id, "view-probes"));
      await chart.locator("svg").waitFor();
      const info = await chart.evaluate((figure) => {
        const svg = figure.querySelector("svg");
        const box = svg.getBoundingClientRect();
        const bands = [...figure.querySelectorAll('[data-testid="incident-band"]')].map((rect) => ({
          title: rect.querySelector("title")?.textContent,
          width: Number(rect.getAttribute("width")),
          right: Number(rect.getAttribute("x")) + Number(rect.getAttribute("width")),
        }));
        return {
          role: svg.getAttribute("role"),
          label: svg.getAttribute("aria-label"),
          width: box.width,
          height: box.height,
          marks: svg.querySelectorAll("path, rect:not(.band)").length,
          bands,
        };
      });
      assert.equal(info.role, "img", `${id} is an image for assistive tech`);
      assert.ok(info.label, `${id} has a label`);
      assert.ok(info.width > 200 && info.height > 50, `${id} has a size: ${info.width}×${info.height}`);
      assert.ok(info.marks > 0, `${id} draws data`);
      assert.deepEqual(
        info.bands.map((b) => b.title).sort(),
        [fx.ACTIVE_INCIDENT.name, fx.RESOLVED_INCIDENT.name].sort(),
        `${id}: one band per incident of the history`,
      );
      for (const band of info.bands) assert.ok(band.width >= 2, `${id}: a visible band`);
      // The active incident is not resolved: its band runs to the end of the window.
      const active = info.bands.find((b) => b.title === fx.ACTIVE_INCIDENT.name);
      const resolved = info.bands.find((b) => b.title === fx.RESOLVED_INCIDENT.name);
      assert.ok(active.right > resolved.right + 100, `${id}: the active band is at the right end`);
    }
    assert.match(await text(page.locator("#view-probes")), /Shaded: the periods of 2 status-page incidents in this window\./);
    assert.match(await text(page.locator(tid("downtime"))), /^1 stretch of failing probes \(88 failures\)\.$/);
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("no probe data: the empty state, no chart and no stats", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.initialScenario);
  try {
    await load(page, state.server.origin, "/#probes", "Unknown");
    const empty = page.locator(tid("probes-empty"));
    await empty.waitFor();
    assert.equal(await text(empty), "No probe data yet: the first probe runs within a minute.");
    for (const id of CHARTS) assert.equal(await page.locator(tid(id)).count(), 0, `no ${id}`);
    assert.equal(await page.locator(tid("probe-stats")).count(), 0);
    assert.equal(await page.locator(tid("incident-band")).count(), 0);
    // Still empty (not blank, not a chart) for another range.
    await page.locator(tid("range-7d")).click();
    await page.waitForFunction(() => window.__mockIpc.calls.filter(([c]) => c === "get_probe_series").length === 2);
    await empty.waitFor();
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("the model selector: API-wide by default, then a followed model's series", opts, async () => {
  const { fx, format } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.overloadScenario);
  try {
    await load(page, state.server.origin, "/#probes", "Overloaded");
    await page.locator(tid("probe-stats")).waitFor();
    const select = page.locator(tid("probe-model"));
    assert.equal(await page.locator('label[for="probe-model"]').textContent(), "Probes of");
    // The API-wide probes, then each followed model of the snapshot (the retired one is not followed).
    const options = await select.locator("option").evaluateAll((items) => items.map((o) => [o.value, o.textContent]));
    assert.deepEqual(options, [
      ["", "API (reachability)"],
      ["claude-sonnet-4-6", "Sonnet 4.6 (claude-sonnet-4-6)"],
      ["claude-haiku-4-5", "Haiku 4.5 (claude-haiku-4-5)"],
    ]);
    assert.equal(await select.inputValue(), "");
    assert.deepEqual(await callsOf(page, "get_probe_series"), [{ range: "24h" }], "no model argument for the API-wide series");
    const apiUptime = await text(page.locator(`${tid("stat-uptime")} .stat-value`));
    assert.equal(apiUptime, format.percent(fx.history24h.uptime_percent));

    // Sonnet 4.6: its series, its own figures, the charts still drawn with the incident bands.
    await select.selectOption("claude-sonnet-4-6");
    const probes = fx.sonnetSeries24h.buckets.reduce((sum, b) => sum + b.probes, 0);
    const overloaded = fx.sonnetSeries24h.buckets.reduce((sum, b) => sum + b.overloaded, 0);
    await page.waitForFunction(
      (uptime) => document.querySelector('[data-testid="stat-uptime"] .stat-value')?.textContent === uptime,
      format.percent(((probes - overloaded) / probes) * 100),
    );
    assert.deepEqual(await callsOf(page, "get_probe_series"), [{ range: "24h" }, { range: "24h", model: "claude-sonnet-4-6" }]);
    assert.equal(await text(page.locator(`${tid("stat-529")} .stat-value`)), format.percent((overloaded / probes) * 100));
    assert.equal(await text(page.locator(`${tid("stat-probes")} .stat-value`)), format.count(probes));
    assert.equal(await page.locator(tid("stat-latency")).count(), 0, "no API-wide latency figure under a model's charts");
    for (const id of CHARTS) {
      await page.locator(`${tid(id, "view-probes")} svg`).waitFor();
      assert.equal(await page.locator(`${tid(id, "view-probes")} [data-testid="incident-band"]`).count(), 2, `${id} keeps the bands`);
    }

    // The range keeps the model.
    await page.locator(tid("range-7d")).click();
    await page.waitForFunction(() => window.__mockIpc.calls.filter(([c]) => c === "get_probe_series").length === 3);
    assert.deepEqual((await callsOf(page, "get_probe_series")).at(-1), { range: "7d", model: "claude-sonnet-4-6" });
    await page.locator(`${tid("chart-errors", "view-probes")} svg`).waitFor();

    // Haiku 4.5 has nothing in the range: the empty state says so for that model.
    await page.locator(tid("range-24h")).click();
    await page.waitForFunction(() => window.__mockIpc.calls.filter(([c]) => c === "get_probe_series").length === 4);
    await select.selectOption("claude-haiku-4-5");
    const empty = page.locator(tid("probes-empty"));
    await empty.waitFor();
    assert.equal(await text(empty), "No probe of this model in this range yet (the per-model probe needs an API key).");
    assert.deepEqual((await callsOf(page, "get_probe_series")).at(-1), { range: "24h", model: "claude-haiku-4-5" });

    // Back to the API: no model argument again, and its figures.
    await select.selectOption("");
    await page.waitForFunction(
      (uptime) => document.querySelector('[data-testid="stat-uptime"] .stat-value')?.textContent === uptime,
      apiUptime,
    );
    assert.deepEqual((await callsOf(page, "get_probe_series")).at(-1), { range: "24h" });
    assert.equal(await page.locator(tid("stat-latency")).count(), 1);

    // A snapshot without Sonnet 4.6 keeps the chosen model in the list rather than dropping it.
    await select.selectOption("claude-sonnet-4-6");
    await page.evaluate((snapshot) => window.__mockIpc.emit("snapshot-changed", snapshot), fx.operationalSnapshot);
    await page.waitForFunction(() => document.querySelector('[data-testid="probe-model"]').options.length === 3);
    const kept = await select.locator("option").evaluateAll((items) => items.map((o) => o.value));
    assert.deepEqual(kept, ["", "claude-haiku-4-5", "claude-sonnet-4-6"]);
    assert.equal(await select.inputValue(), "claude-sonnet-4-6");
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});
