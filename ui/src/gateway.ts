// The Budget view's words for the local gateway (`get_gateway`): its state, its counters, the
// last 15 minutes of traffic as table rows and chart buckets, and the retries and fallbacks it
// made. Pure (no DOM, no IPC), so `npm test` runs it under plain Node.

import type { GatewayMinute } from "./bindings/GatewayMinute.ts";
import type { GatewayReport } from "./bindings/GatewayReport.ts";
import type { GatewayStats } from "./bindings/GatewayStats.ts";
import type { ResilienceEvent } from "./bindings/ResilienceEvent.ts";
import { count, duration, durationOf, humanize, parseTime } from "./format.ts";

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
  /** "Retry", "Fallback". */
  kind: string;
  /** "529 overloaded · claude-opus-4-6 · waited 1.2 s", "529 overloaded · claude-opus-4-6 → claude-sonnet-4-6". */
  detail: string;
  /** "request req_011…", or null when the answer had no request id. */
  request: string | null;
}

/** A retry or a fallback in words. */
export function eventLine(event: ResilienceEvent): EventLine {
  const parts = [statusText(event.status)];
  if (event.kind === "fallback") {
    parts.push(`${event.model ?? "the model asked for"} → ${event.to_model ?? "the next model"}`);
  } else {
    if (event.model) parts.push(event.model);
    if (event.wait_ms !== null) parts.push(`waited ${duration(event.wait_ms)}`);
  }
  const kind = event.kind === "retry" ? "Retry" : event.kind === "fallback" ? "Fallback" : humanize(event.kind);
  return { kind, detail: parts.join(" · "), request: event.request_id ? `request ${event.request_id}` : null };
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

/** The empty list of retries and fallbacks, saying whether they could have happened. */
export function eventsEmptyText(retry: boolean, fallback: readonly string[]): string {
  return `No retries or fallbacks in the last 24 hours. ${resilienceText(retry, fallback)}`;
}
