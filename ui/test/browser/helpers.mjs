// Shared pieces of the browser tests (test/browser/*.test.mjs): a static server for the built
// dist/, Debian's Chromium driven by playwright-core, a page with the IPC mock installed, the clock
// frozen at the fixtures' NOW and every request to a host other than 127.0.0.1 aborted (and
// reported), and screenshots.
//
// Run with `npm run test:browser` (builds dist/ and .test-build/, then `node --test test/browser/`).
// `npm test` walks test/ too; there these files skip themselves (they need a build and a browser).

import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

export const UI_DIR = fileURLToPath(new URL("../../", import.meta.url));
export const DIST_DIR = join(UI_DIR, "dist");
const BUILD_DIR = join(UI_DIR, ".test-build");
const REPO_DIR = resolve(UI_DIR, "..");

/** When set, `npm test` (which walks all of test/) runs these files: they skip themselves. */
export const SKIP =
  process.env.npm_lifecycle_event === "test"
    ? "browser test: run it with `npm run test:browser` (needs dist/ and Chromium)"
    : false;

/** Per-test bound: a test that hangs fails instead. */
export const TEST_TIMEOUT_MS = 30_000;
/** Per-action bound (waits, clicks, navigation). */
const ACTION_TIMEOUT_MS = 5_000;

export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** The app's CSP as the brief states it; the CSP test also serves the one in tauri.conf.json. */
export const MINIMAL_CSP = "default-src 'self'; script-src 'self'; style-src 'self'";

/** The CSP the Tauri shell applies (src-tauri/tauri.conf.json), or null when it is not found. */
export function tauriCsp() {
  const path = join(REPO_DIR, "src-tauri", "tauri.conf.json");
  if (!existsSync(path)) return null;
  const conf = JSON.parse(readFileSync(path, "utf8"));
  return conf?.app?.security?.csp ?? null;
}

/**
 * The compiled fixtures and IPC mock (tsc -p tsconfig.test.json → .test-build/), and the pure
 * modules the expectations are computed with. Loaded lazily so `npm test` can import this file.
 */
export async function loadBuild() {
  const need = [join(DIST_DIR, "index.html"), join(BUILD_DIR, "test", "fixtures", "index.js")];
  for (const path of need) {
    if (!existsSync(path)) {
      throw new Error(`${path} is missing: run \`npm run test:browser\` (it builds dist/ and .test-build/ first)`);
    }
  }
  const [fx, mock, format, cost] = await Promise.all([
    import(join(BUILD_DIR, "test", "fixtures", "index.js")),
    import(join(BUILD_DIR, "test", "harness", "mock-ipc.js")),
    import(join(BUILD_DIR, "src", "format.js")),
    import(join(BUILD_DIR, "src", "cost.js")),
  ]);
  return { fx, installMockIpc: mock.installMockIpc, format, cost };
}

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".woff2": "font/woff2",
};

/**
 * Serves dist/ as built on 127.0.0.1 (port 0: the OS picks one). `csp` adds a
 * Content-Security-Policy header to every answer. Every requested path is kept in `requests`.
 */
export async function startServer({ csp = null } = {}) {
  const root = resolve(DIST_DIR);
  const requests = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://127.0.0.1").pathname);
    requests.push(path);
    const file = normalize(join(root, path === "/" ? "index.html" : path));
    const headers = { "cache-control": "no-store", "x-content-type-options": "nosniff" };
    if (csp) headers["content-security-policy"] = csp;
    if ((file !== root && !file.startsWith(root + sep)) || !existsSync(file) || req.method !== "GET") {
      res.writeHead(404, { ...headers, "content-type": "text/plain" });
      res.end("not found");
      return;
    }
    let body;
    try {
      body = readFileSync(file);
    } catch {
      res.writeHead(404, { ...headers, "content-type": "text/plain" });
      res.end("not found");
      return;
    }
    res.writeHead(200, { ...headers, "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
    res.end(body);
  });
  await new Promise((done, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", done);
  });
  const { port } = server.address();
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((done) => {
        server.closeAllConnections?.();
        server.close(() => done());
      }),
  };
}

/** Debian's Chromium, headless, never a downloaded browser. */
export async function launchBrowser() {
  const { chromium } = await import("playwright-core");
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });
}

/**
 * A fresh context and page with the mock IPC answering from `scenario`, the clock frozen at the
 * fixtures' NOW (timers keep running), and a guard that aborts any request leaving 127.0.0.1.
 * Returns the page and what was seen: `offHost` (aborted URLs), `pageErrors`, `consoleErrors`.
 */
export async function openPage(browser, build, scenario, options = {}) {
  const {
    viewport = { width: 1000, height: 700 },
    colorScheme = "light",
    timezoneId = "UTC",
    freezeClock = true,
    initScripts = [],
  } = options;
  const context = await browser.newContext({
    viewport,
    colorScheme,
    timezoneId,
    locale: "en-GB",
    reducedMotion: "reduce",
    serviceWorkers: "block",
  });
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(10_000);
  const seen = { offHost: [], pageErrors: [], consoleErrors: [] };
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === "127.0.0.1" && (url.protocol === "http:" || url.protocol === "ws:")) return route.continue();
    seen.offHost.push(url.href);
    return route.abort("blockedbyclient");
  });
  if (freezeClock) await context.clock.setFixedTime(new Date(build.fx.NOW));
  await context.addInitScript(build.installMockIpc, scenario);
  // A function, or [function, argument].
  for (const script of initScripts) {
    if (Array.isArray(script)) await context.addInitScript(script[0], script[1]);
    else await context.addInitScript(script);
  }
  const page = await context.newPage();
  page.on("pageerror", (error) => seen.pageErrors.push(String(error)));
  page.on("console", (message) => {
    if (message.type() === "error") seen.consoleErrors.push(message.text());
  });
  return { context, page, seen };
}

/** Fails when the page reached for another host or threw. Call at the end of every test. */
export function assertClean(assert, seen, { allowConsole = [] } = {}) {
  assert.deepEqual(seen.offHost, [], "no request may leave 127.0.0.1");
  assert.deepEqual(seen.pageErrors, [], "the page threw");
  const console = seen.consoleErrors.filter((text) => !allowConsole.some((re) => re.test(text)));
  assert.deepEqual(console, [], "console errors");
}

/** Loads the page (path like "/", "/#probes", "/?incident=…") and waits for the level to be set. */
export async function load(page, origin, path = "/", level = null) {
  await page.goto(origin + path, { waitUntil: "load" });
  if (level) {
    await page.waitForFunction((text) => document.getElementById("level")?.textContent === text, level);
  } else {
    await page.waitForFunction(() => {
      const text = document.getElementById("level")?.textContent;
      return text !== undefined && text !== "Loading…";
    });
  }
}

/** The IPC calls the page made, as [command, args]. */
export const calls = (page) => page.evaluate(() => window.__mockIpc.calls);

/** Calls of one command. */
export async function callsOf(page, command) {
  return (await calls(page)).filter(([name]) => name === command).map(([, args]) => args ?? null);
}

/** Sets (or with `undefined` removes) a mock answer from now on. */
export function setResponse(page, key, value) {
  return page.evaluate(
    ([k, v]) => {
      if (v === "__delete__") delete window.__mockIpc.responses[k];
      else window.__mockIpc.responses[k] = v;
    },
    [key, value === undefined ? "__delete__" : value],
  );
}

/** `[data-testid=…]`, optionally inside another test id. */
export const tid = (id, within) => (within ? `[data-testid="${within}"] [data-testid="${id}"]` : `[data-testid="${id}"]`);

/** Visible text of a locator with whitespace collapsed. */
export async function text(locator) {
  return ((await locator.innerText()) ?? "").replace(/\s+/g, " ").trim();
}

/**
 * Writes a screenshot: into docs/screenshots/dashboard-<name>.png with UPDATE_SCREENSHOTS=1, else
 * into test/browser/out/ (ignored by git). Returns the path.
 */
export async function screenshot(page, name) {
  const dir = process.env.UPDATE_SCREENSHOTS === "1" ? join(REPO_DIR, "docs", "screenshots") : join(UI_DIR, "test", "browser", "out");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `dashboard-${name}.png`);
  await page.screenshot({ path, animations: "disabled", caret: "hide" });
  return path;
}

/**
 * Runs `body` with one browser and one server for the whole file, closed afterwards. Returns
 * accessors for `before`/`after` hooks of node:test.
 */
export function fileSetup({ csp = null } = {}) {
  const state = { browser: null, server: null, build: null };
  return {
    state,
    async before() {
      state.build = await loadBuild();
      state.server = await startServer({ csp });
      state.browser = await launchBrowser();
    },
    async after() {
      await state.browser?.close();
      await state.server?.close();
    },
  };
}
