// Pure text for the dashboard: labels, symbols, relative and local times, probe lines. No DOM and
// no IPC here, so `npm test` runs it under plain Node.

import type { ComponentReport } from "./bindings/ComponentReport.ts";
import type { IncidentReport } from "./bindings/IncidentReport.ts";
import type { Level } from "./bindings/Level.ts";
import type { ProbeReport } from "./bindings/ProbeReport.ts";
import type { UpdateReport } from "./bindings/UpdateReport.ts";
import type { ApiKeySource } from "./ipc.ts";

/** How each level is shown: a word, a symbol that differs in shape (not only in colour). */
const LEVELS: Record<Level, { label: string; symbol: string }> = {
  operational: { label: "Operational", symbol: "✓" },
  degraded: { label: "Degraded", symbol: "◐" },
  overloaded: { label: "Overloaded", symbol: "▲" },
  outage: { label: "Outage", symbol: "✕" },
  maintenance: { label: "Maintenance", symbol: "⚙\uFE0E" },
  offline: { label: "Offline", symbol: "○" },
  unknown: { label: "Unknown", symbol: "?" },
};

/** "Overloaded". A level this build does not know (a newer shell) is shown verbatim. */
export function levelLabel(level: Level): string {
  return LEVELS[level]?.label ?? humanize(level);
}

/** A one-character symbol per level, so the level reads without colour. */
export function levelSymbol(level: Level): string {
  return LEVELS[level]?.symbol ?? "?";
}

/** `"degraded_performance"` → `"degraded performance"`; unknown status-page values stay readable. */
export function humanize(wire: string): string {
  return wire.replace(/_/g, " ");
}

/** Parses an RFC 3339 timestamp from the snapshot; `null` when absent or unreadable. */
export function parseTime(iso: string | null | undefined): Date | null {
  if (!iso) return null;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : date;
}

/**
 * "just now", "12 s ago", "3 min ago", "2 h ago", "4 d ago". A time slightly in the future (the
 * clocks of the shell and the page differ by a little) reads as "just now".
 */
export function relativeTime(then: Date, now: Date): string {
  const seconds = Math.floor((now.getTime() - then.getTime()) / 1000);
  if (seconds < 2) return "just now";
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} d ago`;
}

const pad = (n: number): string => String(n).padStart(2, "0");

/** The local date and time to the minute: "2026-08-21 14:03". */
export function localTime(date: Date): string {
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}`
  );
}

/** The local time of an optional timestamp, or a dash. */
export function localTimeOf(iso: string | null | undefined): string {
  const date = parseTime(iso);
  return date ? localTime(date) : "—";
}

/** "412 ms" below a second, "1.2 s" above. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

/** "ok · 412 ms · TTFT 950 ms · HTTP 200": what the latest probe saw, in one line. */
export function probeLine(probe: ProbeReport): string {
  const parts = [humanize(probe.outcome)];
  if (probe.latency_ms !== null) parts.push(duration(probe.latency_ms));
  if (probe.ttft_ms !== null) parts.push(`TTFT ${duration(probe.ttft_ms)}`);
  if (probe.http_status !== null) parts.push(`HTTP ${probe.http_status}`);
  if (probe.failures_in_a_row > 0) {
    parts.push(`${probe.failures_in_a_row} failed in a row`);
  }
  return parts.join(" · ");
}

/** Components that are not operational (unknown statuses included: they are not "fine"). */
export function troubledComponents(components: ComponentReport[]): ComponentReport[] {
  return components.filter((c) => c.status !== "operational");
}

/** Incidents still open: the snapshot lists unresolved ones, but a closed status is dropped too. */
export function activeIncidents(incidents: IncidentReport[]): IncidentReport[] {
  return incidents.filter((i) => i.status !== "resolved" && i.status !== "postmortem");
}

/** Updates newest first (the shell sends them so; sorting again costs nothing), undated last. */
export function newestFirst(updates: UpdateReport[]): UpdateReport[] {
  const time = (u: UpdateReport): number => parseTime(u.created_at)?.getTime() ?? -Infinity;
  return [...updates].sort((a, b) => {
    const [ta, tb] = [time(a), time(b)];
    return ta === tb ? 0 : tb > ta ? 1 : -1;
  });
}

/** Where the API key comes from, never the key itself. */
export function apiKeyText(source: ApiKeySource): string {
  switch (source) {
    case "keychain":
      return "configured (keychain)";
    case "environment":
      return "from ANTHROPIC_API_KEY";
    case "none":
      return "not set";
  }
}

/** "2026-08-21 14:03 (12 min ago)": a timestamp both ways, or a dash. */
export function localAndRelative(iso: string | null | undefined, now: Date): string {
  const date = parseTime(iso);
  return date ? `${localTime(date)} (${relativeTime(date, now)})` : "—";
}

/** "99.5%", "0.03%", "100%"; a dash when there is nothing to measure. */
export function percent(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  if (value === 0 || value === 100) return `${value}%`;
  const digits = Math.abs(value) < 1 ? 2 : 1;
  return `${value.toFixed(digits)}%`;
}

/** A duration in ms, or a dash. */
export function durationOf(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? "—" : duration(ms);
}

/** "45 seconds", "12 minutes", "1 hour 5 minutes", "2 days 3 hours": a span in words. */
export function spanText(totalSeconds: number): string {
  const s = Math.abs(Math.trunc(totalSeconds));
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  if (s < 60) return unit(s, "second");
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return unit(minutes, "minute");
  const hours = Math.floor(minutes / 60);
  if (hours < 48) {
    const rest = minutes % 60;
    return rest ? `${unit(hours, "hour")} ${unit(rest, "minute")}` : unit(hours, "hour");
  }
  const days = Math.floor(hours / 24);
  const rest = hours % 24;
  return rest ? `${unit(days, "day")} ${unit(rest, "hour")}` : unit(days, "day");
}

/** "1,000,000": counts with thousands separators, the same in every locale (and in tests). */
export function count(n: number): string {
  const [whole, fraction] = String(Math.round(n * 100) / 100).split(".");
  const grouped = (whole ?? "").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return fraction ? `${grouped}.${fraction}` : grouped;
}

/** "$1.30", "$0.019", "$0.50", "$0": dollars, two significant digits below a dollar. */
export function usd(amount: number): string {
  if (amount === 0) return "$0";
  if (amount < 0.0001) return "< $0.0001";
  if (amount < 1) return `$${amount.toPrecision(2)}`;
  const [whole, cents] = amount.toFixed(2).split(".");
  return `$${count(Number(whole))}.${cents}`;
}

/** A status-page component status, as a symbol that reads without colour. */
export function componentSymbol(status: string): string {
  switch (status) {
    case "operational":
      return "✓";
    case "degraded_performance":
      return "◐";
    case "partial_outage":
      return "▲";
    case "major_outage":
      return "✕";
    case "under_maintenance":
      return "⚙\uFE0E";
    default:
      return "?";
  }
}
