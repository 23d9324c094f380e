// Time to first render with data: from the start of navigation to the level showing the
// snapshot's level, over 5 loads (a fresh context each, nothing cached). Printed, with only a
// generous sanity bound: the machine's speed is not the page's.

import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import { after, before, test } from "node:test";

import { assertClean, fileSetup, openPage, SKIP, TEST_TIMEOUT_MS } from "./helpers.mjs";

const setup = fileSetup();
const { state } = setup;
before(async () => {
  if (!SKIP) await setup.before();
});
after(() => setup.after());

const LOADS = 5;
const SANITY_BOUND_MS = 5_000;

/** In the page: the moment (ms after navigation start) the level first reads `level`. */
function markLevel(level) {
  const check = () => {
    if (window.__levelShownAt === undefined && document.getElementById("level")?.textContent === level) {
      window.__levelShownAt = performance.now();
      performance.mark("level-shown");
    }
  };
  new MutationObserver(check).observe(document, { subtree: true, childList: true, characterData: true });
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

test(`time to first render with data (median of ${LOADS} loads)`, { skip: SKIP, timeout: TEST_TIMEOUT_MS * 2 }, async (t) => {
  const { fx } = state.build;
  const level = "Overloaded";
  const wall = [];
  const inPage = [];
  for (let i = 0; i < LOADS; i++) {
    // The clock is left running here: performance.now() must be the real one.
    const { context, page, seen } = await openPage(state.browser, state.build, fx.overloadScenario, {
      freezeClock: false,
      initScripts: [[markLevel, level]],
    });
    try {
      const start = performance.now();
      await page.goto(`${state.server.origin}/`, { waitUntil: "commit" });
      await page.waitForFunction((text) => document.getElementById("level")?.textContent === text, level, { polling: 10 });
      wall.push(performance.now() - start);
      inPage.push(await page.evaluate(() => window.__levelShownAt));
      assert.equal(await page.locator("#summary").getAttribute("data-level"), "overloaded");
      assertClean(assert, seen);
    } finally {
      await context.close();
    }
  }
  const report =
    `time to first render with data: median ${median(inPage).toFixed(1)} ms after navigation start in the page ` +
    `(${inPage.map((v) => v.toFixed(0)).join(", ")} ms); ` +
    `median ${median(wall).toFixed(1)} ms from page.goto in the test (${wall.map((v) => v.toFixed(0)).join(", ")} ms)`;
  t.diagnostic(report);
  for (const value of [...wall, ...inPage]) {
    assert.ok(Number.isFinite(value) && value > 0 && value < SANITY_BOUND_MS, `${value} ms is within the sanity bound`);
  }
});
