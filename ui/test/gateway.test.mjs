// `npm test`: the gateway's words for the Budget view (gateway.ts), the fallback chain's parsing
// and rules (settings-rules.ts, mirroring settings.rs word for word), and the gateway fixtures' own
// arithmetic (they must add up the way the gateway counts).

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  baseUrlLine,
  clockTime,
  eventLine,
  eventsEmptyText,
  gatewayCounters,
  gatewayState,
  gatewayStateText,
  meteringWarnings,
  minuteBuckets,
  minuteRows,
  resilienceText,
  statusText,
} from "../.test-build/src/gateway.js";
import {
  fallbackChainText,
  fallbackProblem,
  isModelId,
  parseFallbackChain,
  settingsProblems,
  splitSettingsError,
} from "../.test-build/src/settings-rules.js";
import * as fx from "../.test-build/test/fixtures/index.js";

test("a fallback chain is typed with commas or spaces; empty is none", () => {
  assert.deepEqual(parseFallbackChain(""), []);
  assert.deepEqual(parseFallbackChain("  , ,\n"), []);
  assert.deepEqual(parseFallbackChain("claude-opus-4-6,claude-sonnet-4-6"), fx.FALLBACK_CHAIN);
  assert.deepEqual(parseFallbackChain(" claude-opus-4-6  claude-sonnet-4-6 "), fx.FALLBACK_CHAIN);
  assert.deepEqual(parseFallbackChain("claude-opus-4-6, claude-sonnet-4-6,\tclaude-haiku-4-5"), [...fx.FALLBACK_CHAIN, "claude-haiku-4-5"]);
  // Nothing is dropped or fixed but empty pieces: a bad id reaches the rules.
  assert.deepEqual(parseFallbackChain("claude-opus-4-6, rm -rf /"), ["claude-opus-4-6", "rm", "-rf", "/"]);
  assert.equal(fallbackChainText(fx.FALLBACK_CHAIN), "claude-opus-4-6, claude-sonnet-4-6");
  assert.equal(fallbackChainText([]), "");
  for (const chain of [[], fx.FALLBACK_CHAIN, ["a", "b", "c"]]) {
    assert.deepEqual(parseFallbackChain(fallbackChainText(chain)), chain, "the form's text reads back the same");
  }
});

test("the fallback chain's rules mirror settings.rs, in its order and words", () => {
  assert.equal(fallbackProblem([]), null);
  assert.equal(fallbackProblem(fx.FALLBACK_CHAIN), null);
  assert.equal(fallbackProblem(["claude-sonnet-4-6[1m]", "claude-sonnet-4-6"]), null);
  assert.equal(fallbackProblem(["a", "b", "c", "d", "e"]), null);
  assert.equal(fallbackProblem(["a", "b", "c", "d", "e", "f"]), "at most 5 models");
  assert.equal(fallbackProblem(["claude-opus-4-6"]), "needs a second model to fall back to");
  assert.equal(fallbackProblem(["claude-opus-4-6", "claude-opus-4-6"]), '"claude-opus-4-6" is named twice');
  assert.equal(fallbackProblem(["claude-opus-4-6", "rm -rf /"]), '"rm -rf /" is not a model id such as claude-sonnet-5-5');
  assert.equal(fallbackProblem(["claude-opus-4-6", "claude@4"]), '"claude@4" is not a model id such as claude-sonnet-5-5');
  assert.equal(fallbackProblem(["claude-opus-4-6", "x".repeat(101)]), `"${"x".repeat(101)}" is not a model id such as claude-sonnet-5-5`);
  assert.equal(fallbackProblem(["claude-opus-4-6", "x".repeat(100)]), null);
  // settings.rs checks the length first, then the ids, then repeats, then a lone model.
  assert.equal(fallbackProblem(["a", "a", "b", "c", "d", "e"]), "at most 5 models");
  assert.equal(fallbackProblem(["a", "a", "b c"]), '"b c" is not a model id such as claude-sonnet-5-5');
  assert.equal(fallbackProblem(["bad!"]), '"bad!" is not a model id such as claude-sonnet-5-5');
  assert.equal(isModelId(""), false);
  assert.equal(isModelId("claude-haiku-4-5"), true);

  const base = fx.settingsView.settings;
  assert.deepEqual(settingsProblems({ ...base, gateway_fallback: fx.FALLBACK_CHAIN, gateway_retry: true }), {});
  assert.deepEqual(settingsProblems({ ...base, gateway_fallback: ["claude-opus-4-6"] }), {
    gateway_fallback: "needs a second model to fall back to",
  });
  assert.deepEqual(settingsProblems({ ...base, gateway_port: 80 }), {
    gateway_port: "must be between 1024 and 65535 (lower ports need root)",
  });
  assert.deepEqual(splitSettingsError('gateway_fallback: "x y" is not a model id such as claude-sonnet-5-5'), {
    field: "gateway_fallback",
    text: '"x y" is not a model id such as claude-sonnet-5-5',
  });
  assert.equal(splitSettingsError("gateway_retry: nope").field, "gateway_retry");
});

test("the gateway's state: off, could not start, starting, running", () => {
  assert.equal(gatewayState(fx.gatewayOff), "off");
  assert.equal(gatewayState(fx.gatewayError), "error");
  assert.equal(gatewayState(fx.gatewayStarting), "starting");
  assert.equal(gatewayState(fx.gatewayRunning), "running");
  assert.equal(gatewayState(fx.gatewayQuiet), "running");
  // An error left over while the settings no longer ask for it is just "off".
  assert.equal(gatewayState({ ...fx.gatewayError, enabled: false }), "off");
  assert.match(gatewayStateText(fx.gatewayOff), /^The gateway is off\. Turn it on in Settings/);
  assert.equal(gatewayStateText(fx.gatewayError), `The gateway could not start: ${fx.gatewayError.error}`);
  assert.match(gatewayStateText(fx.gatewayStarting), /starts with the next check/);
  assert.equal(gatewayStateText(fx.gatewayRunning), "Running on http://127.0.0.1:7529, forwarding to https://api.anthropic.com.");
  assert.equal(gatewayStateText({ ...fx.gatewayRunning, upstream: null, url: null }), "Running.");
  assert.equal(baseUrlLine(fx.GATEWAY_URL), "export ANTHROPIC_BASE_URL=http://127.0.0.1:7529");
});

test("the counters, with the rare ones only when they happened", () => {
  const counters = gatewayCounters(fx.gatewayStats);
  assert.deepEqual(
    counters.map((c) => [c.key, c.value]),
    [
      ["requests", 412],
      ["in_flight", 2],
      ["ok", 389],
      ["overloaded", 9],
      ["rate_limited", 3],
      ["server_error", 2],
      ["unreachable", 1],
      ["timed_out", 1],
      ["client_error", 4],
      ["retries", 15],
      ["fallbacks", 4],
      ["client_disconnects", 3],
      ["not_forwarded", 1],
    ],
  );
  assert.equal(counters.find((c) => c.key === "overloaded").label, "529 overloaded");
  const more = gatewayCounters({ ...fx.gatewayStats, stream_errors: 2, upstream_broken: 1, outcomes: { ...fx.gatewayStats.outcomes, too_large: 1 } });
  for (const key of ["stream_errors", "upstream_broken", "too_large"]) assert.ok(more.some((c) => c.key === key), key);

  assert.deepEqual(meteringWarnings(fx.gatewayQuiet.stats), []);
  assert.deepEqual(meteringWarnings(fx.gatewayStats), [
    "Metering dropped 2 answers: its queue was full. Your requests were not affected, but the usage figures miss them.",
  ]);
  const both = meteringWarnings({ ...fx.gatewayStats, metering_dropped: 1, ledger_errors: 1 });
  assert.equal(both.length, 2);
  assert.match(both[0], /^Metering dropped 1 answer: .* miss it\.$/);
  assert.equal(both[1], "The usage ledger refused 1 batch of the gateway's records; they are missing from the usage figures.");
});

test("minutes: table rows newest first, chart buckets by start", () => {
  const rows = minuteRows(fx.gatewayMinutes);
  assert.equal(rows.length, 12, "the three empty minutes are left to the chart");
  assert.equal(rows[0].start, fx.minutesAgo(0));
  assert.equal(rows[0].current, true);
  assert.match(rows[0].label, /^\d\d:\d\d \(so far\)$/);
  const storm = rows.find((r) => r.start === fx.minutesAgo(8));
  assert.deepEqual(
    { requests: storm.requests, errors: storm.errors, tokens: storm.tokens, timing: storm.timing, troubled: storm.troubled, current: storm.current },
    { requests: "9", errors: "3 / 0 / 1", tokens: "39,800 / 2,750", timing: "5.2 s / 2.9 s", troubled: true, current: false },
  );
  const busiest = rows.find((r) => r.start === fx.minutesAgo(2));
  assert.equal(busiest.tokens, "301,400 / 21,350");
  assert.equal(busiest.troubled, false);
  assert.equal(minuteRows([fx.gatewayMinute(0, { ok: 1 })])[0].timing, "— / —");
  assert.deepEqual(minuteRows(fx.gatewayQuiet.minutes), []);

  const range = minuteBuckets(fx.gatewayMinutes);
  assert.equal(range.fromMs, Date.parse(fx.minutesAgo(14)));
  assert.equal(range.toMs, Date.parse(fx.NOW) + 60_000);
  assert.equal(range.buckets.length, 15);
  assert.ok(range.buckets.every((m, i) => m === fx.gatewayMinutes[i]));
  // A missing minute stays a gap, not a shift.
  const gapped = minuteBuckets([fx.gatewayMinutes[0], fx.gatewayMinutes[3]]);
  assert.equal(gapped.buckets.length, 4);
  assert.deepEqual(gapped.buckets.map((m) => m?.start ?? null), [fx.minutesAgo(14), null, null, fx.minutesAgo(11)]);
  assert.equal(minuteBuckets([]), null);
});

test("retries and fallbacks in words", () => {
  const [fallback, retry529, retry500, retry429] = fx.gatewayEvents.map(eventLine);
  assert.deepEqual(fallback, {
    kind: "Fallback",
    detail: "529 overloaded · claude-opus-4-6 → claude-sonnet-4-6",
    request: "request req_011CSHgwFallbackOpusToSonnet01",
  });
  assert.deepEqual(retry529, { kind: "Retry", detail: "529 overloaded · claude-opus-4-6 · waited 2.3 s", request: "request req_011CSHgwRetryOpus529xx0002" });
  assert.equal(retry500.detail, "500 server error · claude-sonnet-4-6 · waited 800 ms");
  assert.deepEqual(retry429, { kind: "Retry", detail: "429 rate limited · waited 12.0 s", request: null });
  assert.equal(statusText(503), "503 server error");
  assert.equal(statusText(418), "418");

  assert.equal(
    resilienceText(false, []),
    "Retries are off: 529s, 500s and 429s go straight to your code, whose SDK retries them itself. Fallback is off: no fallback chain is set. Both are set in Settings (Local gateway).",
  );
  assert.equal(
    resilienceText(true, fx.FALLBACK_CHAIN),
    "Retries are on: the gateway retries 529, 500 and 429 (never the spend cap) before your code sees them. Fallback is on: after persistent 529s, claude-opus-4-6 → claude-sonnet-4-6.",
  );
  assert.match(resilienceText(true, []), /^Retries are on: .* Fallback is off: .* Settings/);
  assert.match(eventsEmptyText(false, []), /^No retries or fallbacks in the last 24 hours\. Retries are off: /);

  const now = new Date(2026, 7, 21, 12, 0, 0);
  assert.equal(clockTime(new Date(2026, 7, 21, 11, 58, 7), now), "11:58:07");
  assert.equal(clockTime(new Date(2026, 7, 20, 23, 5, 0), now), "2026-08-20 23:05:00");
});

test("the gateway fixtures add up", () => {
  const { stats, minutes } = fx.gatewayRunning;
  const outcomes = Object.values(stats.outcomes).reduce((a, b) => a + b, 0);
  assert.equal(outcomes + stats.in_flight, stats.requests, "every finished request has one outcome");
  assert.equal(stats.upstream_attempts, stats.requests + stats.retries + stats.fallbacks);
  assert.equal(minutes.length, 15);
  minutes.forEach((m, i) => {
    assert.equal(m.start, fx.minutesAgo(14 - i), "contiguous, oldest first, the current minute last");
    assert.equal(m.requests, m.ok + m.overloaded + m.rate_limited + m.server_errors + m.client_errors);
  });
  const times = fx.gatewayEvents.map((e) => Date.parse(e.at));
  assert.deepEqual(times, [...times].sort((a, b) => b - a), "events newest first");
  assert.ok(times.every((t) => Date.parse(fx.NOW) - t < 24 * 3600_000), "within 24 h");
  for (const event of fx.gatewayEvents) {
    assert.equal(event.kind === "fallback", event.to_model !== null, "only a fallback names the next model");
    assert.equal(event.kind === "retry", event.wait_ms !== null, "only a retry waits");
  }
  assert.equal(fx.overloadScenario.get_gateway, fx.gatewayOff);
  assert.equal(fx.usageScenario.get_gateway, fx.gatewayRunning);
});
