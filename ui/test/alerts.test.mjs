// `npm test`: the alert channels' words (alerts.ts): secrets only ever "set" or "not set", a
// failing channel's state line, and the new-channel rules of core::channels.

import assert from "node:assert/strict";
import { test } from "node:test";

import { alertKindLabel, channelIdProblem, channelStateText, LEVEL_TOPIC_KINDS, levelTopicHint, newChannel, secretText } from "../.test-build/src/alerts.js";
import { alertChannels } from "../.test-build/test/fixtures/index.js";

test("a secret is only ever set or not set, with where it is", () => {
  assert.equal(secretText("keychain"), "set (keychain)");
  assert.equal(secretText("file"), "set (0600 file)");
  assert.equal(secretText(null), "not set");
});

test("the state line says working, failing with the reason, not set up or off", () => {
  const [slack, pagerduty] = alertChannels.channels;
  assert.equal(channelStateText(slack), "Working (3 delivered, 0 failed, 0 dropped).");
  assert.equal(
    channelStateText(pagerduty),
    "Failing: https://events.pagerduty.com/… answered HTTP 500 (attempt 5 of 5) (0 delivered, 1 failed, 0 dropped).",
  );
  assert.equal(
    channelStateText({ ...slack, target: null }),
    "Not set up: its webhook url is not set (set it below, or in CLAUDE_STATUS_ALERT_TEAM_SLACK_URL).",
  );
  assert.equal(channelStateText({ ...slack, channel: { ...slack.channel, enabled: false } }), "Off.");
});

test("a new channel follows core's rules", () => {
  const existing = alertChannels.channels.map((s) => s.channel);
  assert.equal(channelIdProblem("ops", existing), null);
  assert.equal(channelIdProblem("team-slack", existing), '"team-slack" is used by another channel.');
  assert.equal(channelIdProblem("Ops", existing), "An id is 1 to 32 lower-case letters, digits and -.");
  assert.equal(channelIdProblem("-x", existing), "An id is 1 to 32 lower-case letters, digits and -.");
  assert.equal(channelIdProblem("x".repeat(33), existing), "An id is 1 to 32 lower-case letters, digits and -.");
  assert.deepEqual(newChannel("ntfy", "phone", " "), {
    id: "phone",
    name: "phone",
    kind: "ntfy",
    enabled: true,
    filter: { levels: ["overloaded", "outage"], models: [], incidents: true, budget: true, plan: true, traffic: true },
    endpoint: null,
  });
});

test("issue 15: every notification kind has words, and the level boxes say they bring the provider moves", async () => {
  const { readFile } = await import("node:fs/promises");
  const kinds = ["trouble", "recovered", "flapping", "incident_opened", "incident_updated", "incident_resolved", "usage_threshold", "spend_cap_reached", "provider_fallback", "provider_back", "traffic_spike", "traffic_spike_over"];
  for (const kind of kinds) assert.ok(alertKindLabel(kind).length > 0, kind);
  assert.equal(alertKindLabel("provider_fallback"), "the gateway moving a model's requests to another provider");
  assert.equal(alertKindLabel("provider_back"), "its requests coming back to Claude");
  assert.equal(alertKindLabel("something_new"), "something new", "a kind this build does not know");
  assert.equal(
    levelTopicHint(),
    "A ticked level also brings recovery, flapping, the gateway moving a model's requests to another provider and its requests coming back to Claude.",
  );
  // The same kinds as core's Topic::of maps to Topic::Level (crates/core/src/channels.rs).
  const rust = await readFile(new URL("../../crates/core/src/channels.rs", import.meta.url), "utf8");
  const arm = /match notification\.kind \{\s*((?:\|?\s*AlertKind::\w+\s*)+)=> Topic::Level/.exec(rust);
  assert.ok(arm, "Topic::of's level arm");
  const snake = (name) => name.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
  const core = [...arm[1].matchAll(/AlertKind::(\w+)/g)].map((m) => snake(m[1]));
  assert.deepEqual([...LEVEL_TOPIC_KINDS].sort(), core.sort());
  // And the binding lists every kind the labels know.
  const binding = await readFile(new URL("../src/bindings/AlertKind.ts", import.meta.url), "utf8");
  assert.deepEqual([...binding.matchAll(/"(\w+)"/g)].map((m) => m[1]).sort(), [...kinds].sort());
});
