// The built page under the app's Content-Security-Policy. In the app the CSP comes from Tauri
// (tauri.conf.json); here the static server sends it as a header, and every view is opened while
// `securitypolicyviolation` events and console errors are collected. A deliberate inline style at
// the end proves the listener would have seen a violation.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";

import {
  assertClean,
  DIST_DIR,
  fileSetup,
  launchBrowser,
  loadBuild,
  MINIMAL_CSP,
  openPage,
  SKIP,
  startServer,
  TEST_TIMEOUT_MS,
  tauriCsp,
  tid,
} from "./helpers.mjs";

const opts = { skip: SKIP, timeout: TEST_TIMEOUT_MS };
const state = { browser: null, build: null };
before(async () => {
  if (SKIP) return;
  state.build = await loadBuild();
  state.browser = await launchBrowser();
});
after(() => state.browser?.close());

/** Collects CSP violations from before the first script runs. */
function collectViolations() {
  window.__csp = [];
  document.addEventListener(
    "securitypolicyviolation",
    (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber} ${e.sample}`),
    true,
  );
}

test("dist/index.html has no inline script, style or handler", { skip: SKIP }, () => {
  const html = readFileSync(join(DIST_DIR, "index.html"), "utf8");
  const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
  assert.ok(scripts.length > 0, "the bundle is loaded by a script tag");
  for (const [tag, attrs, body] of scripts) {
    assert.match(attrs, /\bsrc="\/assets\/[^"]+\.js"/, `external script from /assets: ${tag}`);
    assert.equal(body.trim(), "", `no inline code: ${tag}`);
  }
  assert.doesNotMatch(html, /<style\b/i, "no <style> element");
  assert.doesNotMatch(html, /\sstyle\s*=/i, "no style attribute");
  assert.doesNotMatch(html, /\son[a-z]+\s*=/i, "no inline event handler");
  assert.doesNotMatch(html, /\b(?:src|href)="(?:https?:)?\/\//i, "nothing from another origin");
});

for (const [name, csp] of [
  ["the brief's CSP", MINIMAL_CSP],
  ["tauri.conf.json's CSP", tauriCsp()],
]) {
  test(`every view under ${name} reports no violation`, { ...opts, skip: SKIP || (csp ? false : "no tauri.conf.json") }, async () => {
    for (const directive of ["default-src 'self'", "script-src 'self'", "style-src 'self'"]) {
      assert.ok(csp.includes(directive), `the policy has ${directive}`);
    }
    const server = await startServer({ csp });
    const { fx } = state.build;
    // The gateway runs, so Budget draws its chart, table and copy line too.
    const { context, page, seen } = await openPage(state.browser, state.build, { ...fx.overloadScenario, get_gateway: fx.gatewayRunning }, {
      initScripts: [collectViolations],
    });
    try {
      const response = await page.goto(server.origin + "/", { waitUntil: "load" });
      assert.equal(response.headers()["content-security-policy"], csp, "the page was served with the CSP");
      await page.waitForFunction(() => document.getElementById("level")?.textContent === "Overloaded");
      // Every view, with its charts, forms and the incident details drawn.
      await page.locator(tid("lead-time", "view-overview")).first().waitFor();
      await page.locator(tid("incident-row", "view-overview")).click();
      await page.locator(tid("incident-update")).first().waitFor();
      await page.locator(tid("tab-probes")).click();
      await page.locator(tid("chart-latency")).waitFor();
      await page.locator(tid("range-7d")).click();
      await page.locator(tid("chart-errors")).waitFor();
      await page.locator(tid("tab-budget")).click();
      await page.locator(tid("budget-not-measured")).waitFor();
      await page.locator(`${tid("chart-gateway")} svg`).waitFor();
      await page.locator(tid("gateway-line-copy")).click();
      await page.locator(tid("tab-settings")).click();
      await page.locator(tid("setting-probe_interval_secs")).fill("2");
      await page.locator(tid("settings-save")).click();
      await page.locator(tid("setting-error-probe_interval_secs")).getByText("must be between").waitFor();
      await page.waitForTimeout(200);

      const violations = await page.evaluate(() => window.__csp);
      assert.deepEqual(violations, [], "no CSP violation");
      assertClean(assert, seen);
      // Every asset came from the server, none was refused.
      assert.ok(server.requests.some((p) => p.endsWith(".js")) && server.requests.some((p) => p.endsWith(".css")));

      // The listener works: an inline style attribute is a violation under style-src 'self'.
      await page.evaluate(() => {
        const probe = document.createElement("div");
        probe.setAttribute("style", "color: red");
        document.body.append(probe);
      });
      await page.waitForFunction(() => window.__csp.length > 0);
      assert.match((await page.evaluate(() => window.__csp))[0], /^style-src/);
    } finally {
      await context.close();
      await server.close();
    }
  });
}
