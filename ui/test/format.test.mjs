// `npm test`: the dashboard's pure text functions (compiled by tsconfig.test.json into
// .test-build/), plus a guard that no source writes markup from strings.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";

import {
  activeIncidents,
  apiKeyText,
  duration,
  humanize,
  levelLabel,
  levelSymbol,
  localTime,
  localTimeOf,
  newestFirst,
  probeLine,
  relativeTime,
  troubledComponents,
} from "../.test-build/src/format.js";

const LEVELS = [
  "operational",
  "degraded",
  "overloaded",
  "outage",
  "maintenance",
  "offline",
  "unknown",
];

test("every level has its own label and symbol", () => {
  const labels = LEVELS.map(levelLabel);
  const symbols = LEVELS.map(levelSymbol);
  assert.deepEqual(labels, [
    "Operational",
    "Degraded",
    "Overloaded",
    "Outage",
    "Maintenance",
    "Offline",
    "Unknown",
  ]);
  assert.equal(new Set(symbols).size, LEVELS.length, `symbols repeat: ${symbols}`);
  // A level from a newer shell still shows something readable.
  assert.equal(levelLabel("on_fire"), "on fire");
  assert.equal(levelSymbol("on_fire"), "?");
});

test("relative time", () => {
  const now = new Date("2026-08-21T12:00:00Z");
  const ago = (seconds) => relativeTime(new Date(now.getTime() - seconds * 1000), now);
  const cases = [
    [-5, "just now"], // a clock a little ahead
    [0, "just now"],
    [1, "just now"],
    [2, "2 s ago"],
    [59, "59 s ago"],
    [60, "1 min ago"],
    [59 * 60 + 59, "59 min ago"],
    [3600, "1 h ago"],
    [47 * 3600, "47 h ago"],
    [48 * 3600, "2 d ago"],
  ];
  for (const [seconds, expected] of cases) {
    assert.equal(ago(seconds), expected, `${seconds} s`);
  }
});

test("local time is the local wall clock to the minute", () => {
  // Built from local fields, so the test holds in every time zone.
  const date = new Date(2026, 7, 1, 9, 5, 59);
  assert.equal(localTime(date), "2026-08-01 09:05");
  assert.equal(localTimeOf(date.toISOString()), "2026-08-01 09:05");
  assert.equal(localTimeOf(null), "—");
  assert.equal(localTimeOf("not a time"), "—");
});

test("durations and probe lines", () => {
  assert.equal(duration(412), "412 ms");
  assert.equal(duration(999.6), "1000 ms");
  assert.equal(duration(1234), "1.2 s");
  const probe = {
    outcome: "rate_limited",
    latency_ms: 412,
    ttft_ms: null,
    http_status: 429,
    failures_in_a_row: 0,
  };
  assert.equal(probeLine(probe), "rate limited · 412 ms · HTTP 429");
  assert.equal(
    probeLine({ ...probe, outcome: "ok", ttft_ms: 950, http_status: 200 }),
    "ok · 412 ms · TTFT 950 ms · HTTP 200",
  );
  assert.equal(
    probeLine({ ...probe, outcome: "timeout", latency_ms: null, http_status: null, failures_in_a_row: 3 }),
    "timeout · 3 failed in a row",
  );
});

test("status-page values, components and incidents", () => {
  assert.equal(humanize("degraded_performance"), "degraded performance");
  const components = [
    { name: "API", status: "operational" },
    { name: "Console", status: "partial_outage" },
    { name: "New", status: "something_new" },
  ];
  assert.deepEqual(
    troubledComponents(components).map((c) => c.name),
    ["Console", "New"],
  );
  const incidents = [
    { id: "a", status: "investigating" },
    { id: "b", status: "resolved" },
    { id: "c", status: "postmortem" },
    { id: "d", status: "monitoring" },
  ];
  assert.deepEqual(
    activeIncidents(incidents).map((i) => i.id),
    ["a", "d"],
  );
});

test("updates newest first, undated last", () => {
  const updates = [
    { body: "old", created_at: "2026-08-21T10:00:00Z" },
    { body: "undated", created_at: null },
    { body: "new", created_at: "2026-08-21T12:00:00Z" },
  ];
  assert.deepEqual(
    newestFirst(updates).map((u) => u.body),
    ["new", "old", "undated"],
  );
  assert.equal(updates[0].body, "old", "the input is not reordered");
});

test("the API key is described, never shown", () => {
  assert.equal(apiKeyText("keychain"), "configured (keychain)");
  assert.equal(apiKeyText("environment"), "from ANTHROPIC_API_KEY");
  assert.equal(apiKeyText("none"), "not set");
});

test("no source builds markup from strings", () => {
  const dir = new URL("../src/", import.meta.url);
  const sources = readdirSync(dir, { recursive: true })
    .map(String)
    .filter((name) => name.endsWith(".ts") && !name.startsWith("bindings"));
  assert.ok(sources.includes("main.ts"));
  assert.ok(sources.some((name) => name.includes("views")), "views/ is checked too");
  for (const name of sources) {
    const text = readFileSync(new URL(name, dir), "utf8");
    for (const sink of ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "DOMParser", "createContextualFragment"]) {
      assert.ok(!text.includes(sink), `${name} uses ${sink}; use textContent`);
    }
  }
});
