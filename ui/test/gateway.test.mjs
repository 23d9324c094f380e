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
  chainLeavesClaude,
  fallbackAfterSentence,
  fallbackAfterText,
  fallbackTotalRows,
  isProviderTarget,
  providerCostText,
  resilienceText,
  servedElsewhereLines,
  statusText,
} from "../.test-build/src/gateway.js";
import {
  chainServers,
  FALLBACK_AFTER_FORMAT,
  fallbackAfterFields,
  fallbackAfterSecs,
  fallbackChainText,
  fallbackProblem,
  isModelId,
  isProviderName,
  parseFallbackChain,
  parseFallbackTarget,
  providersProblem,
  undeclaredServerProblem,
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

test("the fallback chain's rules mirror core's parse_chain, in its order and words", () => {
  assert.equal(fallbackProblem([]), null);
  assert.equal(fallbackProblem(["", "  "]), null, "empty pieces are no chain");
  assert.equal(fallbackProblem(fx.FALLBACK_CHAIN), null);
  assert.equal(fallbackProblem(fx.PROVIDER_CHAIN), null);
  assert.equal(fallbackProblem(["claude-opus-4-6", "gemini:gemini-2.5-flash"]), null);
  assert.equal(fallbackProblem(["claude-opus-4-6", "openai-compatible:ollama:llama3.1:8b"]), null, "a model may hold : and /");
  assert.equal(fallbackProblem(["claude-opus-4-6", "openai-compatible:vllm:meta/llama@v2"]), null);
  assert.equal(fallbackProblem(["a", "b", "c", "d", "e", "f", "g", "h"]), null);
  assert.equal(fallbackProblem(["a", "b", "c", "d", "e", "f", "g", "h", "i"]), "at most 8 fallback entries");
  assert.equal(fallbackProblem(["claude-opus-4-6"]), "claude-opus-4-6 has no second entry to fall back to");
  assert.equal(fallbackProblem(["claude-opus-4-6", "claude-opus-4-6"]), '"claude-opus-4-6" is named twice');
  assert.equal(fallbackProblem(["claude-opus-4-6", "openai:gpt-4o", "openai:gpt-4o"]), '"openai:gpt-4o" is named twice');
  assert.equal(
    fallbackProblem(["openai:gpt-4o", "claude-opus-4-6"]),
    "the chain starts at the Claude model a request asks for, not at openai:gpt-4o",
  );
  assert.equal(fallbackProblem(["claude-opus-4-6", "rm -rf /"]), '"rm -rf /" is not a model id such as claude-sonnet-5-5');
  assert.equal(fallbackProblem(["claude-opus-4-6", "claude@4"]), '"claude@4" is not a model id such as claude-sonnet-5-5');
  assert.equal(fallbackProblem(["claude-sonnet-4-6[1m]", "claude-sonnet-4-6"]), '"claude-sonnet-4-6[1m]" is not a model id such as claude-sonnet-5-5');
  assert.equal(fallbackProblem(["claude-opus-4-6", "x".repeat(101)]), `"${"x".repeat(101)}" is not a model id such as claude-sonnet-5-5`);
  assert.equal(fallbackProblem(["claude-opus-4-6", "x".repeat(100)]), null);
  assert.equal(fallbackProblem(["claude-opus-4-6", "x".repeat(201)]), "a fallback entry longer than 200 characters");
  assert.equal(
    fallbackProblem(["claude-opus-4-6", "mistral:large"]),
    '"mistral:large" is not a fallback target: write a Claude model, openai:MODEL, gemini:MODEL or openai-compatible:NAME:MODEL',
  );
  assert.equal(fallbackProblem(["claude-opus-4-6", "openai:"]), '"openai:" names no model, or an odd one');
  assert.equal(fallbackProblem(["claude-opus-4-6", "gemini:gem ini"]), '"gemini:gem ini" names no model, or an odd one');
  assert.equal(fallbackProblem(["claude-opus-4-6", "openai:" + "m".repeat(129)]), `"openai:${"m".repeat(129)}" names no model, or an odd one`);
  assert.equal(
    fallbackProblem(["claude-opus-4-6", "openai-compatible:local"]),
    '"openai-compatible:local" names no model: write openai-compatible:NAME:MODEL',
  );
  assert.equal(
    fallbackProblem(["claude-opus-4-6", "openai-compatible:Local:llama3"]),
    '"Local" is not a provider name (lower-case letters, digits, - and _)',
  );
  assert.equal(
    fallbackProblem(["claude-opus-4-6", "openai-compatible:openai:gpt-4o"]),
    '"openai" is not a provider name (lower-case letters, digits, - and _)',
  );
  // parse_chain checks the length first, then each entry (its shape, then a repeat), then the
  // first entry, then a lone one.
  assert.equal(fallbackProblem(["a", "a", "b", "c", "d", "e", "f", "g", "h"]), "at most 8 fallback entries");
  assert.equal(fallbackProblem(["a", "a", "b c"]), '"a" is named twice');
  assert.equal(fallbackProblem(["a", "b c", "a"]), '"b c" is not a model id such as claude-sonnet-5-5');
  assert.equal(fallbackProblem(["openai:gpt-4o", "openai:gpt-4o"]), '"openai:gpt-4o" is named twice');
  assert.equal(fallbackProblem(["bad!"]), '"bad!" is not a model id such as claude-sonnet-5-5');
  assert.equal(isModelId(""), false);
  assert.equal(isModelId("claude-haiku-4-5"), true);
  assert.equal(isProviderName("local"), true);
  assert.equal(isProviderName("my-vllm_2"), true);
  for (const bad of ["", "2fast", "Local", "a".repeat(33), "gemini", "anthropic", "claude", "my server"]) {
    assert.equal(isProviderName(bad), false, bad);
  }
  assert.deepEqual(chainServers(fx.PROVIDER_CHAIN), ["local"]);
  assert.deepEqual(chainServers(["claude-opus-4-6", "openai-compatible:a:x", "openai-compatible:b:y", "openai-compatible:a:z"]), ["a", "b"]);
  assert.deepEqual(parseFallbackTarget("openai-compatible:local:llama3"), {
    target: { kind: "provider", provider: "compatible", name: "local", model: "llama3" },
  });
  assert.deepEqual(parseFallbackTarget(" claude-opus-4-6 "), { target: { kind: "claude", model: "claude-opus-4-6" } });

  const base = fx.settingsView.settings;
  assert.deepEqual(settingsProblems({ ...base, gateway_fallback: fx.FALLBACK_CHAIN, gateway_retry: true }), {});
  assert.deepEqual(settingsProblems({ ...base, gateway_fallback: ["claude-opus-4-6"] }), {
    gateway_fallback: "claude-opus-4-6 has no second entry to fall back to",
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
  const more = gatewayCounters({ ...fx.gatewayStats, stream_errors: 2, upstream_broken: 1, outcomes: { ...fx.gatewayStats.outcomes, too_large: 1, refused: 3 } });
  for (const key of ["stream_errors", "upstream_broken", "too_large", "refused"]) assert.ok(more.some((c) => c.key === key), key);

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
    reason: null,
  });
  assert.deepEqual(retry529, { kind: "Retry", detail: "529 overloaded · claude-opus-4-6 · waited 2.3 s", request: "request req_011CSHgwRetryOpus529xx0002", reason: null });
  assert.equal(retry500.detail, "500 server error · claude-sonnet-4-6 · waited 800 ms");
  assert.deepEqual(retry429, { kind: "Retry", detail: "429 rate limited · waited 12.0 s", request: null, reason: null });
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

test("issue 15: another provider's events in words: target, its status, served or not, latency, cost, reason", () => {
  const [served, refused, notTranslated] = fx.providerEvents.map(eventLine);
  assert.deepEqual(served, {
    kind: "Other provider",
    detail: "529 overloaded · claude-opus-4-6 → openai:gpt-4o · served (200) · 1.4 s · $0.0091",
    request: "request req_011CSHgwProviderServed000001",
    reason: "claude-opus-4-6 has been overloaded for 6 min",
  });
  assert.equal(refused.detail, "529 overloaded · claude-opus-4-6 → openai:gpt-4o · not served: 503 server error · 380 ms");
  assert.deepEqual(notTranslated, {
    kind: "Not translated",
    detail: "529 overloaded · claude-opus-4-6, not sent to openai:gpt-4o · the client got Claude's own error",
    request: "request req_011CSHgwNotTranslated000003",
    reason: "not translated: extended thinking (thinking) has no Chat Completions equivalent",
  });
  // A server without a price: its tokens are said to have none, never $0.
  const local = { ...fx.providerEvents[0], provider: { ...fx.providerEvents[0].provider, target: "openai-compatible:local:llama3", cost_usd: null } };
  assert.match(eventLine(local).detail, /openai-compatible:local:llama3 · served \(200\) · 1\.4 s · price unknown$/);
  // An event without its provider part (an older store) still reads.
  assert.equal(eventLine({ ...fx.providerEvents[0], provider: null }).detail, "529 overloaded · claude-opus-4-6 → another provider");
  assert.equal(eventLine({ ...fx.gatewayEvents[2], kind: "something_new" }).kind, "something new", "a kind this build does not know");
});

test("issue 15: fallbacks by target this month, with their cost", () => {
  const now = new Date(Date.parse(fx.NOW));
  const rows = fallbackTotalRows(fx.providerTotals, now);
  assert.deepEqual(
    rows.map((r) => [r.target, r.provider, r.requests, r.served, r.notTranslated, r.tokens, r.cost, r.latency]),
    [
      ["openai:gpt-4o", true, "38", "36", "3", "91,200 / 11,780", "$0.35", "1.4 s"],
      ["claude-sonnet-4-6", false, "4", "—", "—", "—", "—", "—"],
      ["openai-compatible:local:llama3", true, "2", "2", "0", "4,100 / 530", "price unknown", "640 ms"],
    ],
  );
  assert.match(rows[0].last, /^\d\d:\d\d:\d\d$/, "today: the time alone");
  assert.match(rows[2].last, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/, "another day: the date too");
  const partly = fallbackTotalRows([{ ...fx.providerTotals[0], unpriced: 1 }], now);
  assert.equal(partly[0].cost, "at least $0.35");
  assert.equal(fallbackTotalRows([{ ...fx.providerTotals[0], last_at: null }], now)[0].last, "—");

  assert.equal(providerCostText(fx.providerTotals), "Other providers took 40 requests this month (UTC) and cost at least $0.35.");
  assert.equal(providerCostText([fx.providerTotals[0]]), "Other providers took 38 requests this month (UTC) and cost $0.35.");
  assert.equal(
    providerCostText([fx.providerTotals[2]]),
    "Other providers took 2 requests this month (UTC) and cost an unknown amount (no price for their models).",
  );
  assert.equal(providerCostText([fx.providerTotals[1]]), null, "moves to another Claude model are Claude traffic");
  assert.equal(providerCostText([]), null);

  assert.equal(isProviderTarget("openai:gpt-4o"), true);
  assert.equal(isProviderTarget("gemini:gemini-2.5-flash"), true);
  assert.equal(isProviderTarget("openai-compatible:local:llama3"), true);
  assert.equal(isProviderTarget("claude-sonnet-4-6"), false);
  assert.equal(chainLeavesClaude(fx.FALLBACK_CHAIN), false);
  assert.equal(chainLeavesClaude(fx.PROVIDER_CHAIN), true);
});

test("issue 15: the models served elsewhere now, and when other providers are used", () => {
  const now = new Date(Date.parse(fx.NOW));
  const [line] = servedElsewhereLines(fx.gatewayElsewhere.served_elsewhere, fx.providerEvents, now);
  assert.equal(line.model, "claude-opus-4-6");
  assert.equal(line.target, "openai:gpt-4o");
  // The report says since when.
  assert.match(line.text, /^claude-opus-4-6 → openai:gpt-4o since \d\d:\d\d:00$/);
  // A start that does not read falls back to the latest request the target took.
  const [unread] = servedElsewhereLines(
    [{ model: "claude-opus-4-6", target: "openai:gpt-4o", since: "not a time" }],
    fx.providerEvents,
    now,
  );
  assert.match(unread.text, /^claude-opus-4-6 → openai:gpt-4o \(latest request there at \d\d:\d\d:12\)$/);
  assert.equal(servedElsewhereLines([{ model: "m", target: "gemini:g", since: "" }], [], now)[0].text, "m → gemini:g");
  assert.deepEqual(servedElsewhereLines([], fx.providerEvents, now), []);

  assert.equal(fallbackAfterText(0), "at once");
  assert.equal(fallbackAfterText(1), "1 second");
  assert.equal(fallbackAfterText(90), "90 seconds");
  assert.equal(fallbackAfterText(300), "5 minutes");
  assert.equal(fallbackAfterText(60), "1 minute");
  assert.equal(fallbackAfterText(7200), "2 hours");
  assert.equal(
    fallbackAfterSentence(300),
    "Other providers take a model's requests only after its verdict has been overloaded or in outage for 5 minutes. While they do, one request every 30 s still tries Claude first, and traffic comes back once the model is operational again.",
  );
  assert.match(fallbackAfterSentence(0), /^Other providers take a request at once when it still gets a 529 or 5xx after the retries\./);

  const counters = gatewayCounters(fx.gatewayElsewhere.stats);
  assert.deepEqual(
    counters.filter((c) => ["provider_fallbacks", "not_translated"].includes(c.key)).map((c) => [c.key, c.label, c.value]),
    [
      ["provider_fallbacks", "sent to other providers", 2],
      ["not_translated", "not translated (kept on Claude)", 1],
    ],
  );
});

test("issue 15: the wait before other providers, and the declared servers, mirror settings.rs", () => {
  assert.deepEqual(fallbackAfterFields(300), { value: "5", unit: "min" });
  assert.deepEqual(fallbackAfterFields(0), { value: "0", unit: "s" });
  assert.deepEqual(fallbackAfterFields(90), { value: "90", unit: "s" });
  assert.equal(fallbackAfterSecs("5", "min"), 300);
  assert.equal(fallbackAfterSecs(" 45 ", "s"), 45);
  assert.equal(fallbackAfterSecs("0", "min"), 0);
  for (const bad of ["", "1.5", "-1", "5m", "x"]) assert.ok(Number.isNaN(fallbackAfterSecs(bad, "s")), bad);
  for (const secs of [0, 1, 59, 60, 300, 3600, 86_400]) {
    const { value, unit } = fallbackAfterFields(secs);
    assert.equal(fallbackAfterSecs(value, unit), secs, "the form reads back what it shows");
  }

  const local = { name: "local", base_url: "http://127.0.0.1:8000/v1" };
  assert.equal(providersProblem([]), null);
  assert.equal(providersProblem([local, { name: "openai", base_url: "https://proxy.example/v1" }]), null, "openai moves OpenAI's base URL");
  assert.equal(providersProblem([local, local]), '"local" is declared twice');
  assert.equal(providersProblem([{ ...local, name: "My Server" }]), '"My Server" is not a provider name (lower-case letters, digits, - and _)');
  assert.equal(providersProblem([{ ...local, name: "claude" }]), '"claude" is not a provider name (lower-case letters, digits, - and _)');
  for (const url of ["file:///etc/passwd", "127.0.0.1:8000", "http://x/v1?key=1", "http://a b", `https://${"x".repeat(500)}`]) {
    assert.equal(providersProblem([{ ...local, base_url: url }]), "local's base URL must be an http:// or https:// URL without a query", url);
  }
  assert.equal(providersProblem([{ ...local, base_url: "  https://example.com/v1  " }]), null, "trimmed as settings.rs trims it");
  const nine = Array.from({ length: 9 }, (_, i) => ({ name: `s${i}`, base_url: "http://127.0.0.1/v1" }));
  assert.equal(providersProblem(nine), "at most 8 providers");

  assert.equal(undeclaredServerProblem(fx.PROVIDER_CHAIN, []), 'openai-compatible:local:llama3 names the server "local", which gateway_providers does not declare');
  assert.equal(undeclaredServerProblem(fx.PROVIDER_CHAIN, [local]), null);

  const base = fx.settingsView.settings;
  assert.deepEqual(settingsProblems(fx.providerSettingsView.settings), {});
  assert.deepEqual(settingsProblems({ ...base, gateway_fallback: fx.PROVIDER_CHAIN }), {
    gateway_fallback: 'openai-compatible:local:llama3 names the server "local", which gateway_providers does not declare',
  });
  // A bad server is reported on its own field, not as an undeclared one.
  assert.deepEqual(settingsProblems({ ...base, gateway_fallback: fx.PROVIDER_CHAIN, gateway_providers: [{ ...local, base_url: "ftp://x" }] }), {
    gateway_providers: "local's base URL must be an http:// or https:// URL without a query",
  });
  assert.deepEqual(settingsProblems({ ...base, gateway_fallback_after_secs: 86_401 }), {
    gateway_fallback_after_secs: "must be at most 86400 (one day)",
  });
  assert.deepEqual(settingsProblems({ ...base, gateway_fallback_after_secs: Number.NaN }), {
    gateway_fallback_after_secs: FALLBACK_AFTER_FORMAT,
  });
  assert.deepEqual(settingsProblems({ ...base, gateway_fallback_after_secs: 0 }), {});
  for (const field of ["gateway_fallback_after_secs", "gateway_providers"]) {
    assert.equal(splitSettingsError(`${field}: nope`).field, field);
  }
});

test("issue 15: the provider fixtures add up the way fallback_totals sums them", () => {
  const totals = fx.gatewayElsewhere.fallback_totals;
  const byRequests = totals.map((t) => t.requests + t.not_translated);
  assert.deepEqual(byRequests, [...byRequests].sort((a, b) => b - a), "the most used first");
  for (const t of totals) {
    assert.ok(t.served <= t.requests, t.target);
    if (!isProviderTarget(t.target)) {
      assert.deepEqual([t.served, t.not_translated, t.input_tokens, t.output_tokens, t.cost_usd], [0, 0, 0, 0, 0], "a Claude move counts only itself");
    }
  }
  const gpt = totals[0];
  assert.equal(gpt.last_at, fx.providerEvents[0].at);
  const attempt = fx.providerEvents[0].provider;
  assert.ok(Math.abs(attempt.input_tokens * 2.5e-6 + attempt.output_tokens * 1e-5 - attempt.cost_usd) < 1e-9, "gpt-4o's list price");
  for (const event of fx.providerEvents) {
    assert.equal(["provider", "not_translated"].includes(event.kind), event.provider !== null, "only a provider's event carries its part");
    if (event.kind === "not_translated") assert.equal(event.provider.status, null, "nothing was sent");
  }
  const times = fx.providerEvents.map((e) => Date.parse(e.at));
  assert.deepEqual(times, [...times].sort((a, b) => b - a), "events newest first");
  assert.equal(fx.elsewhereScenario.get_gateway, fx.gatewayElsewhere);
  assert.equal(settingsProblems(fx.providerSettingsView.settings).gateway_fallback, undefined);
  assert.deepEqual(chainServers(fx.providerSettingsView.settings.gateway_fallback), fx.providerSettingsView.settings.gateway_providers.map((p) => p.name));
});
