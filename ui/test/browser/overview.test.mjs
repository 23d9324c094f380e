// The Overview with the overload, the first (empty) and an operational snapshot, and a
// `snapshot-changed` event redrawing it without a new command; the models card (an overloaded
// model the user relies on next to an operational one), the coverage warning without a key or
// gateway, the demo's "recovering" case that must never read "Outage", the probe-cost notice, and the
// notice that history is not being saved (a full disk).

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

/** The computed colour of the level's dot: the level's class shows in colour as well as in words. */
const dotColour = (page) => page.evaluate(() => getComputedStyle(document.querySelector(".summary .dot")).backgroundColor);

test("overload: level, reasons, lead time, components and the active incident", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.overloadScenario);
  try {
    await load(page, state.server.origin, "/", "Overloaded");
    const overview = page.locator(tid("view-overview"));
    assert.equal(await overview.isVisible(), true);
    assert.equal(await page.locator(tid("tab-overview")).getAttribute("aria-selected"), "true");

    // Level: word, symbol, the data-level the colours hang on, and the colour itself.
    assert.equal(await page.locator(tid("summary")).getAttribute("data-level"), "overloaded");
    assert.equal(await page.locator("#level-symbol").textContent(), "▲");
    assert.equal(await dotColour(page), "rgb(199, 84, 0)", "--overloaded (#c75400) in the light theme");
    assert.equal(await page.title(), "Claude Status: Overloaded");
    // level_since is 107 min before NOW (10:13 UTC); checked 15 s ago.
    assert.equal(await text(page.locator(tid("freshness"))), "since 2026-08-21 10:13 (1 h ago) · checked 15 s ago");

    // Reasons, word for word and in order.
    const reasons = await page.locator(`${tid("reasons")} li`).allTextContents();
    assert.deepEqual(reasons, fx.overloadSnapshot.reasons);

    // The shell's answer, word for word, in the tone of "yes".
    assert.equal(await text(page.locator(tid("hits-you"))), `Does it hit you? ${fx.overloadSnapshot.hits_you.text}`);
    assert.equal(await page.locator(tid("hits-you")).getAttribute("data-tone"), "bad");
    assert.equal(await text(page.locator(tid("comparison"))), "Our probes see trouble on Sonnet 4.6, and so does the status page.");
    assert.equal(await page.locator(tid("coverage-warning")).count(), 0, "overloads are watched: no warning");

    // Who saw it first: needs get_history('24h'); the active incident's lead is +13 min 4 s.
    const lead = `Our probes saw “${fx.ACTIVE_INCIDENT.name}” 13 minutes before the status page.`;
    await page.locator(tid("incident-lead", "view-overview")).waitFor();
    assert.equal(await text(page.locator(tid("incident-lead", "view-overview"))), lead);
    const leads = await page.locator(tid("lead-time", "view-overview")).allTextContents();
    assert.equal(leads[0], lead);
    assert.match(leads[1], /^The status page reported “Elevated errors on Claude Opus 4\.8” 3 minutes before our probes saw it\.$/);
    assert.deepEqual(await callsOf(page, "get_history"), [{ range: "24h" }]);

    // The active incident.
    const rows = page.locator(tid("incident-row", "view-overview"));
    assert.equal(await rows.count(), 1);
    assert.equal(await rows.first().getAttribute("data-incident-id"), fx.ACTIVE_INCIDENT.id);
    const row = await text(rows.first());
    assert.match(row, /^Elevated errors on Claude Sonnet 4\.6 major impact · identified · since 2026-08-21 10:25 \(1 h ago\)$/i);
    assert.match(await text(page.locator(tid("active-incidents"))), /^Active incidents \(1\)/i);

    // Components: troubled first, each with its status; the followed one marked.
    const components = page.locator(tid("component", "view-overview"));
    assert.equal(await components.count(), 4);
    const statuses = await components.evaluateAll((items) => items.map((li) => li.dataset.status));
    assert.deepEqual(statuses, ["degraded_performance", "partial_outage", "operational", "operational"]);
    const api = components.filter({ hasText: "Claude API (api.anthropic.com)" });
    assert.match(await text(api), /Claude API \(api\.anthropic\.com\) followed partial outage/);
    assert.equal(await text(api.locator(".symbol")), "▲");

    assert.match(await text(page.locator(tid("probe-line"))), /^overloaded · 312 ms · HTTP 529 · 4 failed in a row$/);
    // The probe cost notice was answered on an earlier launch: not asked for again.
    assert.deepEqual(await callsOf(page, "get_probe_cost"), []);
    assert.equal(await page.locator(tid("probe-cost-notice")).count(), 0);
    assert.equal(await text(page.locator(tid("page-description"))), "Partial System Outage");

    // Asked once, never polled: after a few clock ticks there is still one get_snapshot.
    await page.waitForTimeout(1200);
    assert.equal((await callsOf(page, "get_snapshot")).length, 1);
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("the first snapshot: nothing checked yet", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.initialScenario);
  try {
    await load(page, state.server.origin, "/", "Unknown");
    assert.equal(await page.locator(tid("summary")).getAttribute("data-level"), "unknown");
    assert.equal(await page.locator("#level-symbol").textContent(), "?");
    assert.equal(await text(page.locator(tid("freshness"))), "not checked yet");
    assert.equal(await page.locator(tid("reasons")).isHidden(), true, "no reasons, no empty list");
    assert.equal(await text(page.locator(tid("hits-you"))), "Does it hit you? Unknown: no check has completed yet.");
    assert.equal(await page.locator(tid("hits-you")).getAttribute("data-tone"), "unknown");
    assert.equal(await text(page.locator(tid("models-empty"))), "No model followed yet: models appear once your requests name them, or when you pin one in Settings.");
    assert.equal(await page.locator(tid("model-row")).count(), 0);
    assert.equal(
      await text(page.locator(tid("comparison"))),
      "Nothing measured yet: no probe has run and the status page has not been read.",
    );
    assert.equal(await page.locator(tid("probe-empty")).isVisible(), true);
    assert.equal(await page.locator(tid("page-empty")).isVisible(), true);
    assert.equal(await page.locator(tid("components-empty")).isVisible(), true);
    assert.equal(await page.locator(tid("incidents-empty", "view-overview")).isVisible(), true);
    await page.locator(tid("lead-times-empty")).waitFor();
    assert.equal(await page.locator(tid("incident-row", "view-overview")).count(), 0);
    assert.equal(await page.locator(tid("component", "view-overview")).count(), 0);
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("operational, and a snapshot-changed event redraws without asking again", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.operationalScenario);
  try {
    await load(page, state.server.origin, "/", "Operational");
    assert.equal(await page.locator(tid("summary")).getAttribute("data-level"), "operational");
    assert.equal(await page.locator("#level-symbol").textContent(), "✓");
    assert.equal(await dotColour(page), "rgb(30, 142, 62)", "--operational (#1e8e3e)");
    assert.deepEqual(await page.locator(`${tid("reasons")} li`).allTextContents(), fx.operationalSnapshot.reasons);
    assert.equal(await text(page.locator(tid("hits-you"))), "Does it hit you? No: the models you use answer normally.");
    assert.equal(await page.locator(tid("hits-you")).getAttribute("data-tone"), "good");
    assert.equal(await text(page.locator(tid("comparison"))), "Our probes and the status page agree: the API works.");
    assert.equal(await page.locator(tid("incidents-empty", "view-overview")).isVisible(), true);
    assert.equal(await page.locator(tid("incident-row", "view-overview")).count(), 0);
    assert.match(await text(page.locator(tid("maintenance"))), /^Scheduled maintenance of Claude Console · scheduled · 2026-08-23 02:00/);
    const statuses = await page.locator(tid("component", "view-overview")).evaluateAll((items) => items.map((li) => li.dataset.status));
    assert.deepEqual(statuses, ["operational", "operational", "operational", "operational"]);

    // The shell pushes the overload: the page follows the event and does not call get_snapshot again.
    await page.evaluate((snapshot) => window.__mockIpc.emit("snapshot-changed", snapshot), fx.overloadSnapshot);
    await page.waitForFunction(() => document.getElementById("level")?.textContent === "Overloaded");
    assert.equal(await page.locator(tid("summary")).getAttribute("data-level"), "overloaded");
    assert.equal(await page.locator(tid("incident-row", "view-overview")).count(), 1);
    assert.equal(await text(page.locator(tid("hits-you"))), `Does it hit you? ${fx.overloadSnapshot.hits_you.text}`);
    assert.equal(await page.locator(tid("model-row")).count(), 3, "the models follow the event too");
    assert.equal((await callsOf(page, "get_snapshot")).length, 1);
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("issue 16: a full disk says history is not being saved, keeps the live level, and the notice goes when writes succeed", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.operationalScenario);
  try {
    await load(page, state.server.origin, "/", "Operational");
    assert.equal(await page.locator(tid("history-not-saved-warning")).count(), 0, "history is saved: no notice");

    // The service's store refused a write (SQLITE_FULL); the snapshot carries why.
    const why = "history is not being saved: the disk is full (SQLITE_FULL)";
    const full = { ...fx.overloadSnapshot, history_not_saved: why };
    await page.evaluate((snapshot) => window.__mockIpc.emit("snapshot-changed", snapshot), full);
    const notice = page.locator(tid("history-not-saved-warning"));
    await notice.waitFor();
    assert.equal(await notice.getAttribute("role"), "note");
    assert.equal(
      await text(notice),
      "History is not being saved: the disk is full (SQLITE_FULL). The levels and notifications are live; what happens now will be missing from the history and the usage tables.",
    );
    // Monitoring goes on: the same snapshot's level is shown, not hidden behind the notice.
    assert.equal(await page.locator(tid("summary")).getAttribute("data-level"), "overloaded");

    // The next write succeeded: the notice goes with the next snapshot.
    await page.evaluate((snapshot) => window.__mockIpc.emit("snapshot-changed", snapshot), fx.operationalSnapshot);
    await page.waitForFunction(() => document.getElementById("level")?.textContent === "Operational");
    assert.equal(await page.locator(tid("history-not-saved-warning")).count(), 0);
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

/** Each model row as the test reads it: data attributes and the texts of its parts. */
const modelRows = (page) =>
  page.locator(tid("model-row")).evaluateAll((rows) =>
    rows.map((row) => {
      const part = (id) => row.querySelector(`[data-testid="${id}"]`)?.textContent.replace(/\s+/g, " ").trim() ?? null;
      return {
        model: row.dataset.model,
        level: row.dataset.level,
        name: part("model-name"),
        badge: part("model-level"),
        badgeLevel: row.querySelector('[data-testid="model-level"]')?.dataset.level,
        reason: part("model-reason"),
        share: part("model-share"),
        probe: part("model-probe"),
        traffic: part("model-traffic"),
        pinned: part("model-pinned"),
        retired: part("model-retired"),
        subject: part("model-subject"),
      };
    }),
  );

test("models: the overloaded model you rely on, an operational one and a retired one", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.overloadScenario);
  try {
    await load(page, state.server.origin, "/", "Overloaded");
    const card = page.locator(tid("models-card"));
    assert.equal(await card.locator("h2").textContent(), "Models");
    const rows = await modelRows(page);
    assert.deepEqual(
      rows.map((r) => r.model),
      ["claude-sonnet-4-6", "claude-haiku-4-5", "claude-3-5-haiku-20241022"],
      "in the snapshot's order: followed first, most used first",
    );
    const [sonnet, haiku, retired] = rows;
    assert.deepEqual(sonnet, {
      model: "claude-sonnet-4-6",
      level: "overloaded",
      name: "Sonnet 4.6",
      badge: "▲ Overloaded",
      badgeLevel: "overloaded",
      reason: fx.SONNET_OVERLOADED.reasons[0],
      share: "62 % of your requests this week",
      probe: "Last probe: overloaded (HTTP 529), 312 ms, 15 s ago",
      traffic: "your requests: 529 on 3 of 12 in 5 min (1 inferred from Claude Code's failed turns)",
      pinned: null,
      retired: null,
      subject: "sets the level",
    });
    assert.deepEqual(haiku, {
      model: "claude-haiku-4-5",
      level: "operational",
      name: "Haiku 4.5",
      badge: "✓ Operational",
      badgeLevel: "operational",
      reason: "answers normally (first token 861 ms)",
      share: "38 % of your requests this week",
      probe: "Last probe: ok (HTTP 200), first token 861 ms, 2 min ago",
      traffic: null,
      pinned: "pinned",
      retired: null,
      subject: null,
    });
    assert.equal(retired.level, "unknown");
    assert.equal(retired.badge, "? Unknown", "retired is a reason, never an outage");
    assert.equal(retired.retired, "retired on 2026-02-19, successor claude-haiku-4-5");
    assert.equal(retired.reason, null, "the retirement is said once");
    assert.equal(retired.probe, "Last probe: not probed");
    assert.equal(retired.share, "none of your requests this week");

    // Each badge has the colour of its level, the same as the headline's.
    const colours = await page.evaluate(() => {
      const colour = (selector) => getComputedStyle(document.querySelector(selector)).color;
      return {
        overloaded: colour('[data-model="claude-sonnet-4-6"] [data-testid="model-level"]'),
        operational: colour('[data-model="claude-haiku-4-5"] [data-testid="model-level"]'),
        headline: colour("#level"),
      };
    });
    assert.equal(colours.overloaded, "rgb(199, 84, 0)", "--overloaded");
    assert.equal(colours.operational, "rgb(30, 142, 62)", "--operational");
    assert.equal(colours.overloaded, colours.headline);
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("coverage: without a key or the gateway the warning is prominent and leads to Settings", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.notWatchedScenario);
  try {
    await load(page, state.server.origin, "/", "Operational");
    const warning = page.locator(tid("coverage-warning"));
    assert.equal(await warning.isVisible(), true);
    assert.match(await text(warning), /^Overloads are not watched: add an API key, or send your traffic through the gateway\./);
    // Above the models, right under the answer.
    const order = await page.evaluate(() =>
      ["hits-you", "coverage-warning", "models-card"].map((id) => document.querySelector(`[data-testid="${id}"]`).getBoundingClientRect().top),
    );
    assert.ok(order[0] < order[1] && order[1] < order[2], `order on screen: ${order}`);
    // Nothing implies a watch: the answer says so, and the model is not probed.
    assert.equal(await text(page.locator(tid("hits-you"))), `Does it hit you? ${fx.notWatchedSnapshot.hits_you.text}`);
    const [row] = await modelRows(page);
    assert.equal(row.probe, "Last probe: not probed");
    assert.equal(row.reason, fx.NOT_WATCHED);
    assert.match(await text(page.locator(tid("comparison"))), /but overloads are not watched/);
    assert.doesNotMatch(await text(page.locator(tid("comparison"))), /the API works/);
    // No key: the probe-cost notice is not due.
    assert.deepEqual(await callsOf(page, "get_probe_cost"), []);

    await page.locator(tid("coverage-open-settings")).click();
    assert.equal(await page.locator(tid("tab-settings")).getAttribute("aria-selected"), "true");
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), "tab-settings");
    assert.equal(await page.locator(tid("view-settings")).isVisible(), true);

    // Watched again (a key was added): the warning goes.
    await page.locator(tid("tab-overview")).click();
    await page.evaluate((snapshot) => window.__mockIpc.emit("snapshot-changed", snapshot), fx.operationalSnapshot);
    await page.locator(tid("coverage-warning")).waitFor({ state: "detached" });
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("issue 11 demo: a monitored major incident is degraded (recovering), never Outage", opts, async () => {
  const { fx } = state.build;
  const { context, page, seen } = await openPage(state.browser, state.build, fx.recoveringScenario);
  try {
    await load(page, state.server.origin, "/", "Degraded");
    assert.equal(await page.locator(tid("summary")).getAttribute("data-level"), "degraded");
    assert.deepEqual(await page.locator(`${tid("reasons")} li`).allTextContents(), fx.recoveringSnapshot.reasons);
    assert.equal(await text(page.locator(tid("hits-you"))), `Does it hit you? ${fx.recoveringSnapshot.hits_you.text}`);
    assert.equal(await page.locator(tid("hits-you")).getAttribute("data-tone"), "warn");
    assert.equal(await text(page.locator(tid("comparison"))), "The status page reports trouble; our probes still get answers.");
    assert.equal(await text(page.locator(tid("page-description"))), "All Systems Operational");
    await page.locator(tid("lead-time", "view-overview")).first().waitFor();
    // Nowhere on the page, not in the title either.
    const everything = await page.evaluate(() => `${document.title}\n${document.body.innerText}`);
    assert.doesNotMatch(everything, /outage/i);
    assert.match(everything, /Degraded/);
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});

test("probe cost: the first launch with a key says what it costs; Keep it and Turn it off answer", opts, async () => {
  const { fx } = state.build;
  for (const [button, turnOff, answered] of [
    ["probe-cost-keep", false, "The per-model probe stays on."],
    ["probe-cost-off", true, "The per-model probe is off. You can turn it on again in Settings."],
  ]) {
    const { context, page, seen } = await openPage(state.browser, state.build, fx.firstLaunchScenario);
    try {
      await load(page, state.server.origin, "/", "Overloaded");
      const notice = page.locator(tid("probe-cost-notice"));
      await notice.waitFor();
      assert.equal(
        await text(page.locator(tid("probe-cost-text"))),
        "The per-model probe costs at least $0.060 a day (Sonnet 4.6 every minute: $0.056; Haiku 4.5 every 5 minutes: $0.0037; claude-mystery-9 every 5 minutes: price unknown).",
      );
      assert.equal(await text(page.locator(tid("probe-cost-keep"))), "Keep it");
      assert.equal(await text(page.locator(tid("probe-cost-off"))), "Turn it off");
      assert.equal((await callsOf(page, "get_probe_cost")).length, 1);
      assert.deepEqual(await callsOf(page, "dismiss_probe_cost_notice"), []);

      // The shell now has the notice answered: the settings read again say so.
      const after = { ...fx.settingsView, settings: { ...fx.settingsView.settings, probe_cost_notice_shown: true, streaming_probe: !turnOff } };
      await page.evaluate((value) => (window.__mockIpc.responses.get_settings = value), after);
      const settingsCalls = (await callsOf(page, "get_settings")).length;
      await page.locator(tid(button)).click();
      await page.locator(tid("probe-cost-answered")).waitFor();
      assert.equal(await text(page.locator(tid("probe-cost-answered"))), answered);
      assert.deepEqual(await callsOf(page, "dismiss_probe_cost_notice"), [{ turnOff }]);
      assert.equal(await notice.count(), 0, "answered once, not asked again");
      // The settings are read again, so Settings does not send the old values back.
      await page.waitForFunction((n) => window.__mockIpc.calls.filter(([c]) => c === "get_settings").length > n, settingsCalls);
      await page.locator(tid("tab-settings")).click();
      await page.waitForFunction((on) => document.querySelector('[data-testid="setting-streaming_probe"]')?.checked === on, !turnOff);
      await page.locator(tid("settings-save")).click();
      await page.locator(tid("settings-saved")).getByText("Saved.").waitFor();
      const [sent] = await callsOf(page, "set_settings");
      assert.equal(sent.settings.probe_cost_notice_shown, true);
      assert.equal(sent.settings.streaming_probe, !turnOff);
      assertClean(assert, seen);
    } finally {
      await context.close();
    }
  }
});

test("probe cost: a failed dismissal says so and keeps both buttons", opts, async () => {
  const { fx } = state.build;
  const scenario = { ...fx.firstLaunchScenario, dismiss_probe_cost_notice: { __ipc_error: { kind: "storage", message: "the settings file is read-only" } } };
  const { context, page, seen } = await openPage(state.browser, state.build, scenario);
  try {
    await load(page, state.server.origin, "/", "Overloaded");
    await page.locator(tid("probe-cost-off")).click();
    const error = page.locator(tid("error", "probe-cost-notice"));
    await error.waitFor();
    assert.equal(await text(error), "Not answered: the settings file is read-only");
    assert.equal(await page.locator(tid("probe-cost-keep")).isEnabled(), true);
    assert.equal(await page.locator(tid("probe-cost-off")).isEnabled(), true);
    assert.deepEqual(await callsOf(page, "dismiss_probe_cost_notice"), [{ turnOff: true }]);
    assertClean(assert, seen);
  } finally {
    await context.close();
  }
});
