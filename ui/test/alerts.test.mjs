// `npm test`: the alert channels' words (alerts.ts): secrets only ever "set" or "not set", a
// failing channel's state line, and the new-channel rules of core::channels.

import assert from "node:assert/strict";
import { test } from "node:test";

import { channelIdProblem, channelStateText, newChannel, secretText } from "../.test-build/src/alerts.js";
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
    filter: { levels: ["overloaded", "outage"], models: [], incidents: true, budget: true, plan: true },
    endpoint: null,
  });
});
