// The Budget view's words for the local gateway (`get_gateway`): its state, its counters, the
// last 15 minutes of traffic as table rows and chart buckets, the retries and fallbacks it made,
// and the fallbacks to other providers (the models served elsewhere now, this month's totals by
// target with their cost). Pure (no DOM, no IPC), so `npm test` runs it under plain Node.

import type { FallbackTotals } from "./bindings/FallbackTotals.ts";
import type { GatewayMinute } from "./bindings/GatewayMinute.ts";
import type { GatewayReport } from "./bindings/GatewayReport.ts";
import type { GatewayStats } from "./bindings/GatewayStats.ts";
import type { ResilienceEvent } from "./bindings/ResilienceEvent.ts";
import type { ServedElsewhere } from "./bindings/ServedElsewhere.ts";
import { count, duration, durationOf, humanize, parseTime, usd } from "./format.ts";

/** Off (the settings do not ask for it), could not start, not running yet, or running. */
export type GatewayState = "off" | "error" | "starting" | "running";

/**
 * The state a report shows. Counters mean it runs, whatever else the report says; an error
 * counts only while the settings ask for the gateway.
 */
export function gatewayState(report: GatewayReport): GatewayState {
  if (report.stats) return "running";
  if (!report.enabled) return "off";
  return report.error ? "error" : "starting";
}

/** The line the user pastes into their shell. */
export function baseUrlLine(url: string): string {
  return `export ANTHROPIC_BASE_URL=${url}`;
}

/** One sentence for the state, shown at the top of the panel. */
export function gatewayStateText(report: GatewayReport): string {
  switch (gatewayState(report)) {
    case "off":
      return "The gateway is off. Turn it on in Settings (Local gateway) and point ANTHROPIC_BASE_URL at it to see your own traffic here, minute by minute.";
    case "error":
      return `The gateway could not start: ${report.error}`;
    case "starting":
      return "The gateway is on in Settings; it starts with the next check.";
    case "running": {
      const where = report.url ? `Running on ${report.url}` : "Running";
      return report.upstream ? `${where}, forwarding to ${report.upstream}.` : `${where}.`;
    }
  }
}

export interface Counter {
  /** The field of `GatewayStats` or `OutcomeCounts`, for test hooks. */
  key: string;
  label: string;
  value: number;
}

/**
 * The counters since the gateway started, in reading order: traffic, how the answers ended, what
 * the gateway did about them. The rare outcomes are listed only when they happened.
 */
export function gatewayCounters(stats: GatewayStats): Counter[] {
  const o = stats.outcomes;
  const always: Counter[] = [
    { key: "requests", label: "requests", value: stats.requests },
    { key: "in_flight", label: "in flight", value: stats.in_flight },
    { key: "ok", label: "ok", value: o.ok },
    { key: "overloaded", label: "529 overloaded", value: o.overloaded },
    { key: "rate_limited", label: "429 rate limited", value: o.rate_limited },
    { key: "server_error", label: "5xx server errors", value: o.server_error },
    { key: "unreachable", label: "unreachable (502)", value: o.unreachable },
    { key: "timed_out", label: "timed out (504)", value: o.timed_out },
    { key: "client_error", label: "other 4xx", value: o.client_error },
    { key: "retries", label: "retries", value: stats.retries },
    { key: "fallbacks", label: "fallbacks", value: stats.fallbacks },
    { key: "client_disconnects", label: "client disconnects", value: stats.client_disconnects },
  ];
  const whenSeen: Counter[] = [
    { key: "stream_errors", label: "stream errors after a 200", value: stats.stream_errors },
    { key: "upstream_broken", label: "cut off by the API", value: stats.upstream_broken },
    { key: "too_large", label: "too large (413)", value: o.too_large },
    { key: "not_forwarded", label: "not forwarded (outside /v1/)", value: o.not_forwarded },
    { key: "refused", label: "refused web pages (403)", value: o.refused },
    { key: "provider_fallbacks", label: "sent to other providers", value: stats.provider_fallbacks },
    { key: "not_translated", label: "not translated (kept on Claude)", value: stats.not_translated },
  ];
  return [...always, ...whenSeen.filter((c) => c.value > 0)];
}

const plural = (n: number, one: string, many = `${one}s`) => `${count(n)} ${n === 1 ? one : many}`;

/** Metering that was lost (never the client's bytes): a warning each, none when all is well. */
export function meteringWarnings(stats: GatewayStats): string[] {
  const warnings: string[] = [];
  if (stats.metering_dropped > 0) {
    warnings.push(
      `Metering dropped ${plural(stats.metering_dropped, "answer")}: its queue was full. Your requests were not affected, but the usage figures miss ${stats.metering_dropped === 1 ? "it" : "them"}.`,
    );
  }
  if (stats.ledger_errors > 0) {
    warnings.push(
      `The usage ledger refused ${plural(stats.ledger_errors, "batch", "batches")} of the gateway's records; they are missing from the usage figures.`,
    );
  }
  return warnings;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** "14:03", local. */
function hourMinute(date: Date): string {
  return `${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** "14:03:12" the same local day as `now`, else "2026-08-20 23:58:12". */
export function clockTime(date: Date, now: Date): string {
  const time = `${hourMinute(date)}:${pad(date.getSeconds())}`;
  const sameDay =
    date.getFullYear() === now.getFullYear() && date.getMonth() === now.getMonth() && date.getDate() === now.getDate();
  return sameDay ? time : `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${time}`;
}

export interface MinuteRow {
  start: string;
  /** "11:58", or "12:00 (so far)" for the current minute. */
  label: string;
  current: boolean;
  requests: string;
  /** "529 / 429 / 5xx": "2 / 0 / 1". */
  errors: string;
  /** "Input / output tokens": "301,400 / 21,350". */
  tokens: string;
  /** "Latency / TTFT, p50": "1.2 s / 950 ms", a dash where nothing was measured. */
  timing: string;
  /** The minute had a 529, 429 or 5xx. */
  troubled: boolean;
}

/**
 * The minutes that saw requests, newest first, for the table (the report's last minute is the
 * current one, still filling). Empty minutes are left to the chart.
 */
export function minuteRows(minutes: readonly GatewayMinute[]): MinuteRow[] {
  const rows: MinuteRow[] = [];
  minutes.forEach((minute, index) => {
    if (minute.requests === 0) return;
    const start = parseTime(minute.start);
    const current = index === minutes.length - 1;
    const clock = start ? hourMinute(start) : "—";
    rows.push({
      start: minute.start,
      label: current ? `${clock} (so far)` : clock,
      current,
      requests: count(minute.requests),
      errors: `${count(minute.overloaded)} / ${count(minute.rate_limited)} / ${count(minute.server_errors)}`,
      tokens: `${count(minute.input_tokens)} / ${count(minute.output_tokens)}`,
      timing: `${durationOf(minute.latency_p50_ms)} / ${durationOf(minute.ttft_p50_ms)}`,
      troubled: minute.overloaded + minute.rate_limited + minute.server_errors > 0,
    });
  });
  return rows.reverse();
}

export interface MinuteBuckets {
  fromMs: number;
  toMs: number;
  /** One per minute from `fromMs`; null where the report has no entry for it. */
  buckets: Array<GatewayMinute | null>;
}

const MINUTE_MS = 60_000;

/**
 * The minutes as equal chart buckets ending with the report's last (current) minute. The shell
 * sends every minute, empty ones included; each is still placed by its start, so a gap stays a gap.
 */
export function minuteBuckets(minutes: readonly GatewayMinute[]): MinuteBuckets | null {
  const starts = minutes.map((m) => parseTime(m.start)?.getTime() ?? Number.NaN);
  const valid = starts.filter((t) => Number.isFinite(t));
  if (valid.length === 0) return null;
  const fromMs = Math.min(...valid);
  const last = Math.max(...valid);
  const size = Math.round((last - fromMs) / MINUTE_MS) + 1;
  const buckets: Array<GatewayMinute | null> = Array.from({ length: size }, () => null);
  minutes.forEach((minute, i) => {
    const start = starts[i];
    if (start === undefined || !Number.isFinite(start)) return;
    const index = Math.round((start - fromMs) / MINUTE_MS);
    if (index >= 0 && index < size) buckets[index] = minute;
  });
  return { fromMs, toMs: last + MINUTE_MS, buckets };
}

/** "529 overloaded", "500 server error", "429 rate limited". */
export function statusText(status: number): string {
  if (status === 529) return "529 overloaded";
  if (status === 429) return "429 rate limited";
  if (status >= 500 && status <= 599) return `${status} server error`;
  return String(status);
}

export interface EventLine {
  /** "Retry", "Fallback", "Other provider", "Not translated". */
  kind: string;
  /** "529 overloaded · claude-opus-4-6 · waited 1.2 s", "529 overloaded · claude-opus-4-6 → claude-sonnet-4-6". */
  detail: string;
  /** "request req_011…", or null when the answer had no request id. */
  request: string | null;
  /**
   * Why the request left Claude, or why it was not sent elsewhere (another provider's events
   * only); null otherwise.
   */
  reason: string | null;
}

const KIND_WORDS: Record<string, string> = {
  retry: "Retry",
  fallback: "Fallback",
  provider: "Other provider",
  not_translated: "Not translated",
};

/** What another provider did with the request: "served (200)", "not served: 503 server error". */
function providerOutcome(served: boolean, status: number | null): string {
  if (served) return status === null ? "served" : `served (${status})`;
  return status === null ? "not served" : `not served: ${statusText(status)}`;
}

/** A provider attempt's cost: "$0.0035", "price unknown" when tokens had no price, else null. */
function attemptCost(cost: number | null, tokens: number): string | null {
  if (cost !== null) return usd(cost);
  return tokens > 0 ? "price unknown" : null;
}

/** A retry, a fallback, or a request sent (or not) to another provider, in words. */
export function eventLine(event: ResilienceEvent): EventLine {
  const parts = [statusText(event.status)];
  const asked = event.model ?? "the model asked for";
  const provider = event.provider;
  let reason: string | null = null;
  if (event.kind === "provider" || event.kind === "not_translated") {
    const target = provider?.target ?? event.to_model ?? "another provider";
    if (event.kind === "provider") {
      parts.push(`${asked} → ${target}`);
      if (provider) {
        parts.push(providerOutcome(provider.served, provider.status));
        if (provider.latency_ms !== null) parts.push(duration(provider.latency_ms));
        const cost = attemptCost(provider.cost_usd, provider.input_tokens + provider.output_tokens + provider.cache_read_tokens);
        if (cost !== null) parts.push(cost);
      }
    } else {
      parts.push(`${asked}, not sent to ${target}`, "the client got Claude's own error");
    }
    reason = provider?.reason ?? null;
  } else if (event.kind === "fallback") {
    parts.push(`${asked} → ${event.to_model ?? "the next model"}`);
  } else {
    if (event.model) parts.push(event.model);
    if (event.wait_ms !== null) parts.push(`waited ${duration(event.wait_ms)}`);
  }
  const kind = KIND_WORDS[event.kind] ?? humanize(event.kind);
  return { kind, detail: parts.join(" · "), request: event.request_id ? `request ${event.request_id}` : null, reason };
}

/** Whether a chain entry names another provider's model (`openai:gpt-4o`), not a Claude model. */
export function isProviderTarget(target: string): boolean {
  return /^(openai|gemini|openai-compatible):/.test(target);
}

/** "at once", "90 seconds", "5 minutes", "2 hours": the fallback_after setting in words. */
export function fallbackAfterText(secs: number): string {
  if (secs <= 0) return "at once";
  const unit = (n: number, word: string) => `${count(n)} ${word}${n === 1 ? "" : "s"}`;
  if (secs % 3600 === 0) return unit(secs / 3600, "hour");
  if (secs % 60 === 0) return unit(secs / 60, "minute");
  return unit(secs, "second");
}

/** When the chain's other providers take a model's requests, and how traffic comes back. */
export function fallbackAfterSentence(secs: number): string {
  const when =
    secs <= 0
      ? "Other providers take a request at once when it still gets a 529 or 5xx after the retries."
      : `Other providers take a model's requests only after its verdict has been overloaded or in outage for ${fallbackAfterText(secs)}.`;
  return `${when} While they do, one request every 30 s still tries Claude first, and traffic comes back once the model is operational again.`;
}

export interface ServedElsewhereLine {
  model: string;
  target: string;
  /** "claude-opus-4-6 → openai:gpt-4o since 11:52:10". */
  text: string;
}

/**
 * The models another provider serves now and since when. A `since` that does not read (a
 * hand-made report) falls back to the latest request the target took for the model
 * (newest-first `events`), so the line never claims a start it does not know.
 */
export function servedElsewhereLines(
  served: readonly ServedElsewhere[],
  events: readonly ResilienceEvent[],
  now: Date,
): ServedElsewhereLine[] {
  return served.map((entry) => {
    const base = `${entry.model} → ${entry.target}`;
    const since = parseTime(entry.since);
    if (since) return { model: entry.model, target: entry.target, text: `${base} since ${clockTime(since, now)}` };
    const latest = events.find((e) => e.kind === "provider" && e.model === entry.model && e.provider?.target === entry.target);
    const at = parseTime(latest?.at);
    const text = at ? `${base} (latest request there at ${clockTime(at, now)})` : base;
    return { model: entry.model, target: entry.target, text };
  });
}

export interface FallbackTotalRow {
  target: string;
  /** Another provider's target (its tokens and cost are its own), not another Claude model. */
  provider: boolean;
  requests: string;
  served: string;
  notTranslated: string;
  /** "3,000 / 300"; a dash for a Claude target, whose tokens are metered as Claude traffic. */
  tokens: string;
  /** "$0.011", "at least $0.011" or "price unknown" when some had no price; a dash for Claude. */
  cost: string;
  latency: string;
  last: string;
}

/** The cost of a target's requests this month, saying when some of it is unknown. */
function totalCostText(totals: FallbackTotals): string {
  if (totals.unpriced === 0) return usd(totals.cost_usd);
  return totals.cost_usd > 0 ? `at least ${usd(totals.cost_usd)}` : "price unknown";
}

/** This month's fallbacks by target as table rows, in the report's order (the most used first). */
export function fallbackTotalRows(totals: readonly FallbackTotals[], now: Date): FallbackTotalRow[] {
  return totals.map((t) => {
    const provider = isProviderTarget(t.target);
    const last = parseTime(t.last_at);
    return {
      target: t.target,
      provider,
      requests: count(t.requests),
      served: provider ? count(t.served) : "—",
      notTranslated: provider ? count(t.not_translated) : "—",
      tokens: provider ? `${count(t.input_tokens)} / ${count(t.output_tokens)}` : "—",
      cost: provider ? totalCostText(t) : "—",
      latency: provider ? durationOf(t.latency_p50_ms) : "—",
      last: last ? clockTime(last, now) : "—",
    };
  });
}

/**
 * "Other providers cost $0.84 this month (UTC)", "at least …" when some requests had no price;
 * null when no request went to another provider this month.
 */
export function providerCostText(totals: readonly FallbackTotals[]): string | null {
  const elsewhere = totals.filter((t) => isProviderTarget(t.target) && t.requests > 0);
  if (elsewhere.length === 0) return null;
  const cost = elsewhere.reduce((sum, t) => sum + t.cost_usd, 0);
  const unpriced = elsewhere.some((t) => t.unpriced > 0);
  const requests = elsewhere.reduce((sum, t) => sum + t.requests, 0);
  const amount = unpriced ? (cost > 0 ? `at least ${usd(cost)}` : "an unknown amount (no price for their models)") : usd(cost);
  return `Other providers took ${plural(requests, "request")} this month (UTC) and cost ${amount}.`;
}

/** Whether retries and the fallback chain are on, and what that means for the user's code. */
export function resilienceText(retry: boolean, fallback: readonly string[]): string {
  const retries = retry
    ? "Retries are on: the gateway retries 529, 500 and 429 (never the spend cap) before your code sees them."
    : "Retries are off: 529s, 500s and 429s go straight to your code, whose SDK retries them itself.";
  const chain =
    fallback.length > 0
      ? `Fallback is on: after persistent 529s, ${fallback.join(" → ")}.`
      : "Fallback is off: no fallback chain is set.";
  const where = !retry || fallback.length === 0 ? " Both are set in Settings (Local gateway)." : "";
  return `${retries} ${chain}${where}`;
}

/** The chain names another provider's model. */
export function chainLeavesClaude(fallback: readonly string[]): boolean {
  return fallback.some(isProviderTarget);
}

/** The empty list of retries and fallbacks, saying whether they could have happened. */
export function eventsEmptyText(retry: boolean, fallback: readonly string[]): string {
  return `No retries or fallbacks in the last 24 hours. ${resilienceText(retry, fallback)}`;
}
