// Budget's Gateway section: off (how to turn it on), could not start (why), running (the line to
// copy, the counters, the last 15 minutes as a chart and a table, retries and fallbacks), quiet
// (empty states that say whether retries and fallback are on), the refresh rule (on opening and
// on snapshot-changed while the tab is on screen, never on a timer, never while another tab is
// shown), and a failed get_gateway shown as such.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { assertClean, callsOf, fileSetup, load, openPage, setResponse, SKIP, TEST_TIMEOUT_MS, text, tid } from "./helpers.mjs";

const setup = fileSetup();
const { state } = setup;
before(async () => {
  if (!SKIP) await setup.before();
});
after(() => setup.after());
const opts = { skip: SKIP, timeout: TEST_TIMEOUT_MS };

/** In the page, before it loads: a clipboard that records what is copied, or fails on demand. */
function stubClipboard() {
  window.__copied = [];
  window.__clipboardFails = false;
  Object.defineProperty(navigator, "clipboard", {
    configurable: true,
    value: {
      writeText: async (line) => {
        if (window.__clipboardFails) throw new DOMException("Write permission denied.", "NotAllowedError");
        window.__copied.push(line);
      },
    },
  });
}

/** Opens Budget once the settings have loaded, and waits for the gateway's state to be drawn. */
async function openGateway(page, state = null) {
  await page.waitForFunction(() => document.querySelector('[data-testid="api-key-status"]')?.textContent !== "");
  await page.locator(tid("tab-budget")).click();
  await page.waitForFunction(
    (wanted) => {
      const panel = document.querySelector('[data-testid="gateway-panel"]');
      return panel?.dataset.state !== undefined && (wanted === null || panel.dataset.state === wanted);
    },
    state,
  );
}

const panel = (page) => page.locator(tid("gateway-panel"));
const gatewayCalls = async (page) => (await callsOf(page, "get_gateway")).length;

test("off: one line saying so and how to turn it on", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.overloadScenario);
  try {
    await load(page, state.server.origin, "/", "Overloaded");
    assert.equal(await gatewayCalls(page), 0, "nothing is asked before the tab opens");
    await openGateway(page, "off");
    assert.equal(await panel(page).locator("h2").textContent(), "Gateway");
    const line = page.locator(tid("gateway-state"));
    assert.equal(await line.getAttribute("role"), "status");
    assert.equal(
      await text(line),
      "The gateway is off. Turn it on in Settings (Local gateway) and point ANTHROPIC_BASE_URL at it to see your own traffic here, minute by minute.",
    );
    for (const id of ["gateway-line", "gateway-counters", "chart-gateway", "gateway-minutes", "gateway-events", "error"]) {
      assert.equal(await panel(page).locator(tid(id)).count(), 0, `no ${id} while off`);
    }
    assert.equal(await gatewayCalls(page), 1);
    await page.locator(tid("gateway-open-settings")).click();
    assert.equal(await page.locator(tid("tab-settings")).getAttribute("aria-selected"), "true");
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), "tab-settings");
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("enabled but not started: the error, and nothing else", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, { ...fx.operationalScenario, get_gateway: fx.gatewayError });
  try {
    await load(page, state.server.origin, "/", "Operational");
    await openGateway(page, "error");
    const line = page.locator(tid("gateway-state"));
    assert.equal(await text(line), "The gateway could not start: could not listen on 127.0.0.1:7529: Address in use (os error 98)");
    assert.match(await line.getAttribute("class"), /\berror\b/);
    assert.equal(await panel(page).locator(tid("gateway-counters")).count(), 0);
    assert.equal(await panel(page).locator(tid("gateway-open-settings")).count(), 1);

    // It starts later: the next snapshot brings the running gateway.
    await setResponse(page, "get_gateway", fx.gatewayStarting);
    await page.evaluate((snapshot) => window.__mockIpc.emit("snapshot-changed", snapshot), fx.operationalSnapshot);
    await page.waitForFunction(() => document.querySelector('[data-testid="gateway-panel"]')?.dataset.state === "starting");
    assert.match(await text(line), /starts with the next check/);
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("running: the line to copy, counters, minutes, retries and fallbacks", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.usageScenario, { initScripts: [stubClipboard] });
  try {
    await load(page, state.server.origin, "/", "Operational");
    await openGateway(page, "running");
    assert.equal(await text(page.locator(tid("gateway-state"))), "Running on http://127.0.0.1:7529, forwarding to https://api.anthropic.com.");

    // The line to paste, and its Copy button.
    const line = panel(page).locator(tid("gateway-line"));
    assert.equal(await text(line), "export ANTHROPIC_BASE_URL=http://127.0.0.1:7529");
    await panel(page).locator(tid("gateway-line-copy")).click();
    await panel(page).locator(tid("gateway-line-copy-status")).getByText("Copied.").waitFor();
    assert.deepEqual(await page.evaluate(() => window.__copied), ["export ANTHROPIC_BASE_URL=http://127.0.0.1:7529"]);
    await page.evaluate(() => {
      window.__clipboardFails = true;
    });
    await panel(page).locator(tid("gateway-line-copy")).click();
    await panel(page).locator(tid("gateway-line-copy-status")).getByText("Could not copy").waitFor();
    assert.equal(await text(panel(page).locator(tid("gateway-line-copy-status"))), "Could not copy; select the line and copy it by hand.");

    // Counters since the start; the metering that was lost, as a warning.
    const counter = async (key) => text(panel(page).locator(tid(`gateway-counter-${key}`)));
    assert.equal(await counter("requests"), "412 requests");
    assert.equal(await counter("in_flight"), "2 in flight");
    assert.equal(await counter("ok"), "389 ok");
    assert.equal(await counter("overloaded"), "9 529 overloaded");
    assert.equal(await counter("rate_limited"), "3 429 rate limited");
    assert.equal(await counter("server_error"), "2 5xx server errors");
    assert.equal(await counter("unreachable"), "1 unreachable (502)");
    assert.equal(await counter("timed_out"), "1 timed out (504)");
    assert.equal(await counter("retries"), "15 retries");
    assert.equal(await counter("fallbacks"), "4 fallbacks");
    assert.equal(await counter("client_disconnects"), "3 client disconnects");
    assert.equal(await panel(page).locator(tid("gateway-counter-stream_errors")).count(), 0, "a zero rare counter is left out");
    const warnings = panel(page).locator(tid("gateway-metering-warning"));
    assert.equal(await warnings.count(), 1);
    assert.equal(await text(warnings), "Metering dropped 2 answers: its queue was full. Your requests were not affected, but the usage figures miss them.");

    // The last 15 minutes: a stacked bar chart and a table with real table semantics.
    const chartSvg = panel(page).locator(`${tid("chart-gateway")} svg`);
    await chartSvg.waitFor();
    assert.equal(await chartSvg.getAttribute("role"), "img");
    assert.ok((await chartSvg.locator("rect.bar.series-529").count()) === 3, "three minutes with 529s");
    assert.ok((await chartSvg.locator("rect.bar.series-ok").count()) === 12);
    const table = panel(page).locator(tid("gateway-minutes"));
    assert.match(await text(table.locator("caption")), /newest first/);
    assert.deepEqual(
      await table.locator("thead th").evaluateAll((cells) => cells.map((c) => [c.textContent, c.getAttribute("scope")])),
      [
        ["Minute", "col"],
        ["Requests", "col"],
        ["529 / 429 / 5xx", "col"],
        ["Tokens in / out", "col"],
        ["Latency / TTFT (p50)", "col"],
      ],
    );
    const rows = table.locator(tid("gateway-minute"));
    assert.equal(await rows.count(), 12, "minutes without requests are left out");
    const cells = (row) => row.locator("th, td").evaluateAll((items) => items.map((c) => c.textContent.replace(/\s+/g, " ")));
    assert.deepEqual(await cells(rows.first()), ["12:00 (so far)", "2", "0 / 0 / 0", "15,800 / 0", "950 ms / 410 ms"]);
    assert.equal(await rows.first().getAttribute("data-current"), "true");
    const storm = table.locator(`${tid("gateway-minute")}[data-start="${fx.minutesAgo(8)}"]`);
    assert.deepEqual(await cells(storm), ["11:52", "9", "3 / 0 / 1", "39,800 / 2,750", "5.2 s / 2.9 s"]);
    assert.equal(await storm.locator("td.troubled").count(), 1);
    assert.equal(await storm.locator("th").getAttribute("scope"), "row");

    // Retries and fallbacks, newest first.
    assert.equal(
      await text(panel(page).locator(tid("gateway-resilience"))),
      "Retries are on: the gateway retries 529, 500 and 429 (never the spend cap) before your code sees them. Fallback is on: after persistent 529s, claude-opus-4-6 → claude-sonnet-4-6.",
    );
    const events = panel(page).locator(tid("gateway-event"));
    assert.equal(await events.count(), 5);
    assert.deepEqual(await events.evaluateAll((items) => items.map((li) => li.dataset.kind)), ["fallback", "retry", "retry", "retry", "fallback"]);
    assert.equal(await text(events.nth(0)), "11:59:31 Fallback 529 overloaded · claude-opus-4-6 → claude-sonnet-4-6 request req_011CSHgwFallbackOpusToSonnet01");
    assert.equal(await text(events.nth(1)), "11:59:29 Retry 529 overloaded · claude-opus-4-6 · waited 2.3 s request req_011CSHgwRetryOpus529xx0002");
    assert.equal(await text(events.nth(2)), "11:52:40 Retry 500 server error · claude-sonnet-4-6 · waited 800 ms request req_011CSHgwRetrySonnet500x0003");
    assert.equal(await text(events.nth(3)), "11:52:10 Retry 429 rate limited · waited 12.0 s");
    assert.equal(await events.nth(3).locator(tid("gateway-event-request")).count(), 0, "no request id, no line for it");
    assert.match(await text(events.nth(4)), /^2026-08-20 18:05:00 Fallback 529 overloaded · claude-opus-4-6-20260115 → claude-sonnet-4-6/);
    assert.equal(await events.nth(0).locator("time").getAttribute("datetime"), fx.gatewayEvents[0].at);
    assert.equal(await panel(page).locator(tid("gateway-events-empty")).count(), 0);

    // Headings give the section its outline.
    assert.deepEqual(await panel(page).locator("h3").allInnerTexts(), ["Since it started", "Last 15 minutes", "Fallbacks this month", "Retries and fallbacks"]);
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("running quietly: empty states, and retries said to be off", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, { ...fx.operationalScenario, get_gateway: fx.gatewayQuiet });
  try {
    await load(page, state.server.origin, "/", "Operational");
    await openGateway(page, "running");
    assert.equal(await text(panel(page).locator(tid("gateway-minutes-empty"))), "No requests through the gateway in the last 15 minutes.");
    assert.equal(await panel(page).locator(tid("chart-gateway")).count(), 0);
    assert.equal(await panel(page).locator(tid("gateway-minutes")).count(), 0);
    assert.equal(
      await text(panel(page).locator(tid("gateway-events-empty"))),
      "No retries or fallbacks in the last 24 hours. Retries are off: 529s, 500s and 429s go straight to your code, whose SDK retries them itself. Fallback is off: no fallback chain is set. Both are set in Settings (Local gateway).",
    );
    assert.equal(await panel(page).locator(tid("gateway-metering-warning")).count(), 0, "no warning when nothing was lost");
    assert.equal(await text(panel(page).locator(tid("gateway-counter-requests"))), "0 requests");
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("refresh: on opening and on snapshot-changed while shown; never on a timer, never while hidden", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, { ...fx.operationalScenario, get_gateway: fx.gatewayQuiet }, { freezeClock: false });
  try {
    // A fake clock, paused, so the test alone moves time: time passing must not ask for anything.
    await context.clock.install({ time: new Date(fx.NOW) });
    await load(page, state.server.origin, "/", "Operational");
    await page.clock.pauseAt(new Date(Date.parse(fx.NOW) + 60_000));
    assert.equal(await gatewayCalls(page), 0, "nothing asked before the tab opens");

    // (a) Showing the tab asks once.
    await openGateway(page, "running");
    assert.equal(await gatewayCalls(page), 1, "once on opening");
    await page.locator(tid("gateway-minutes-empty")).waitFor();

    // (d) Time alone asks for nothing: no timer.
    await page.clock.runFor(60_000);
    await new Promise((done) => setTimeout(done, 150));
    assert.equal(await gatewayCalls(page), 1, "no call with time passing alone");

    // (b) A new snapshot while the tab is shown: asked again, and the new traffic drawn.
    await setResponse(page, "get_gateway", fx.gatewayRunning);
    await page.evaluate((snapshot) => window.__mockIpc.emit("snapshot-changed", snapshot), fx.operationalSnapshot);
    await page.locator(tid("gateway-minute")).first().waitFor();
    assert.equal(await gatewayCalls(page), 2);
    assert.equal(await panel(page).locator(tid("gateway-minutes-empty")).count(), 0);
    assert.equal(await text(panel(page).locator(tid("gateway-counter-requests"))), "412 requests");
    await page.clock.runFor(60_000);
    await new Promise((done) => setTimeout(done, 150));
    assert.equal(await gatewayCalls(page), 2, "still no call with time passing alone");

    // (c) Another tab: neither snapshots nor time ask.
    await page.locator(tid("tab-overview")).click();
    await page.evaluate((snapshot) => window.__mockIpc.emit("snapshot-changed", snapshot), fx.operationalSnapshot);
    await page.clock.runFor(60_000);
    await new Promise((done) => setTimeout(done, 150));
    assert.equal(await gatewayCalls(page), 2, "nothing asked while another tab is shown");

    // Back: asked at once, and again only on the next snapshot.
    await page.locator(tid("tab-budget")).click();
    await page.waitForFunction(() => window.__mockIpc.calls.filter(([c]) => c === "get_gateway").length === 3);
    await page.clock.runFor(60_000);
    await new Promise((done) => setTimeout(done, 150));
    assert.equal(await gatewayCalls(page), 3, "no timer after coming back either");
    await page.evaluate((snapshot) => window.__mockIpc.emit("snapshot-changed", snapshot), fx.operationalSnapshot);
    await page.waitForFunction(() => window.__mockIpc.calls.filter(([c]) => c === "get_gateway").length === 4);
    await new Promise((done) => setTimeout(done, 150));
    assert.equal(await gatewayCalls(page), 4);
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("a failed get_gateway says so, keeps the rest of Budget, and Try again recovers", opts, async () => {
  const { fx } = state.build;
  const failure = { __ipc_error: { kind: "ipc", message: "command get_gateway not found" } };
  const { context, page, seen } = await openPage(state.browser, state.build, { ...fx.usageScenario, get_gateway: failure });
  try {
    await load(page, state.server.origin, "/", "Operational");
    await page.waitForFunction(() => document.querySelector('[data-testid="api-key-status"]')?.textContent !== "");
    await page.locator(tid("tab-budget")).click();
    const box = panel(page).locator(tid("error"));
    await box.waitFor();
    assert.equal(await text(box), "Could not read the gateway: command get_gateway not found Try again");
    assert.equal(await box.getAttribute("role"), "alert");
    assert.equal(await box.getAttribute("data-kind"), "ipc");
    assert.equal(await panel(page).locator(tid("gateway-state")).isVisible(), false, "no stale state line");
    assert.equal(await panel(page).locator("h2").textContent(), "Gateway");
    assert.ok((await page.locator(tid("usage-class")).count()) > 0, "the rest of Budget is drawn");

    await setResponse(page, "get_gateway", fx.gatewayRunning);
    await box.getByRole("button", { name: "Try again" }).click();
    await panel(page).locator(tid("gateway-counters")).waitFor();
    assert.equal(await panel(page).locator(tid("error")).count(), 0);
    assert.equal(await text(page.locator(tid("gateway-state"))), "Running on http://127.0.0.1:7529, forwarding to https://api.anthropic.com.");
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("issue 15: fallbacks to other providers: who is served elsewhere, when, by target with their cost, and each event", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.elsewhereScenario);
  try {
    await load(page, state.server.origin, "/", "Operational");
    await openGateway(page, "running");
    // The model another provider serves now.
    const elsewhere = panel(page).locator(tid("gateway-served-elsewhere-item"));
    assert.equal(await elsewhere.count(), 1);
    assert.equal(await elsewhere.getAttribute("data-model"), "claude-opus-4-6");
    assert.equal(await elsewhere.getAttribute("data-target"), "openai:gpt-4o");
    assert.match(await text(elsewhere), /^claude-opus-4-6 → openai:gpt-4o since 11:48:00$/);
    // When the chain leaves Claude, and what it cost this month.
    const after = panel(page).locator(tid("gateway-fallback-after"));
    assert.equal(await after.getAttribute("data-secs"), "300");
    assert.match(await text(after), /^Other providers take a model's requests only after its verdict has been overloaded or in outage for 5 minutes\./);
    assert.equal(await text(panel(page).locator(tid("gateway-provider-cost"))), "Other providers took 40 requests this month (UTC) and cost at least $0.35.");
    // The table by target, with real table semantics.
    const table = panel(page).locator(tid("gateway-fallback-totals"));
    assert.deepEqual(
      await table.locator("thead th").evaluateAll((cells) => cells.map((c) => c.textContent)),
      ["Target", "Requests", "Served", "Not translated", "Tokens in / out", "Cost", "Latency (p50)", "Last"],
    );
    const rows = table.locator(tid("gateway-fallback-total"));
    assert.deepEqual(await rows.evaluateAll((trs) => trs.map((tr) => [tr.dataset.target, tr.dataset.provider])), [
      ["openai:gpt-4o", "true"],
      ["claude-sonnet-4-6", "false"],
      ["openai-compatible:local:llama3", "true"],
    ]);
    const cells = (row) => row.locator("th, td").evaluateAll((items) => items.map((c) => c.textContent));
    assert.deepEqual(await cells(rows.nth(0)), ["openai:gpt-4o", "38", "36", "3", "91,200 / 11,780", "$0.35", "1.4 s", "12:00:12"]);
    assert.deepEqual((await cells(rows.nth(1))).slice(0, 6), ["claude-sonnet-4-6", "4", "—", "—", "—", "—"]);
    assert.equal(await text(rows.nth(2).locator(tid("gateway-fallback-cost"))), "price unknown");
    assert.equal(await rows.nth(0).locator("th").getAttribute("scope"), "row");
    // The counters of the provider fallbacks.
    assert.equal(await text(panel(page).locator(tid("gateway-counter-provider_fallbacks"))), "2 sent to other providers");
    assert.equal(await text(panel(page).locator(tid("gateway-counter-not_translated"))), "1 not translated (kept on Claude)");
    // Each provider event: its target, status, served or not, latency, cost, and the reason.
    const events = panel(page).locator(tid("gateway-event"));
    assert.deepEqual(await events.evaluateAll((items) => items.slice(0, 4).map((li) => [li.dataset.kind, li.dataset.target ?? null, li.dataset.served ?? null])), [
      ["provider", "openai:gpt-4o", "true"],
      ["provider", "openai:gpt-4o", "false"],
      ["not_translated", "openai:gpt-4o", "false"],
      ["fallback", null, null],
    ]);
    assert.equal(await text(events.nth(0).locator(".event-kind")), "Other provider");
    assert.equal(await text(events.nth(0).locator(".event-detail")), "529 overloaded · claude-opus-4-6 → openai:gpt-4o · served (200) · 1.4 s · $0.0091");
    assert.equal(await text(events.nth(0).locator(tid("gateway-event-reason"))), "claude-opus-4-6 has been overloaded for 6 min");
    assert.match(await text(events.nth(1).locator(".event-detail")), /not served: 503 server error · 380 ms$/);
    assert.equal(await text(events.nth(2).locator(".event-kind")), "Not translated");
    assert.equal(
      await text(events.nth(2).locator(tid("gateway-event-reason"))),
      "not translated: extended thinking (thinking) has no Chat Completions equivalent",
    );
    assert.equal(await events.nth(3).locator(tid("gateway-event-reason")).count(), 0, "a Claude fallback has no reason line");
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("issue 15: a chain of Claude models only: the month's moves, no provider lines; none at all without a chain", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.usageScenario);
  try {
    await load(page, state.server.origin, "/", "Operational");
    await openGateway(page, "running");
    const rows = panel(page).locator(tid("gateway-fallback-total"));
    assert.equal(await rows.count(), 1);
    assert.equal(await rows.getAttribute("data-target"), "claude-sonnet-4-6");
    for (const id of ["gateway-served-elsewhere", "gateway-fallback-after", "gateway-provider-cost"]) {
      assert.equal(await panel(page).locator(tid(id)).count(), 0, `no ${id} for a Claude-only chain`);
    }
    // A chain set but nothing this month: said so.
    await setResponse(page, "get_gateway", { ...fx.gatewayElsewhere, fallback_totals: [], served_elsewhere: [], events: [] });
    await page.evaluate((snapshot) => window.__mockIpc.emit("snapshot-changed", snapshot), fx.usageSnapshot);
    await panel(page).locator(tid("gateway-fallback-totals-empty")).waitFor();
    assert.match(await text(panel(page).locator(tid("gateway-fallback-totals-empty"))), /^No fallbacks this month \(UTC\)/);
    assert.equal(await panel(page).locator(tid("gateway-fallback-after")).count(), 1, "the wait is said while the chain leaves Claude");
    // No chain and nothing this month: no section.
    await setResponse(page, "get_gateway", fx.gatewayQuiet);
    await page.evaluate((snapshot) => window.__mockIpc.emit("snapshot-changed", snapshot), fx.usageSnapshot);
    await panel(page).locator(tid("gateway-events-empty")).waitFor();
    assert.equal(await panel(page).locator(tid("gateway-fallback-totals-empty")).count(), 0);
    assert.equal(await panel(page).getByText("Fallbacks this month").count(), 0);
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});
