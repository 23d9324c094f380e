// The words of a subscriber's plan windows (`Snapshot.usage.plan`) and of the 5-hour blocks
// estimated from the transcripts: the same sentences as crates/core/src/plan.rs writes for the
// tray menu, `check` and the status line, in the page's local time. Pure, so `npm test` checks
// them against the Rust wording.

import type { Block } from "./bindings/Block.ts";
import type { BlocksReport } from "./bindings/BlocksReport.ts";
import type { PlanReading } from "./bindings/PlanReading.ts";
import type { PlanWindowReport } from "./bindings/PlanWindowReport.ts";
import { count, parseTime, usd } from "./format.ts";

const pad = (n: number) => String(n).padStart(2, "0");
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/** "62 %", one decimal below 10 % when there is a fraction ("4.5 %"), as core's `percent_text`. */
export function percentText(percent: number): string {
  if (percent < 10 && Math.abs(percent - Math.trunc(percent)) > 0.05) return `${percent.toFixed(1)} %`;
  return `${Math.round(percent)} %`;
}

/** "15:40" within the next 20 hours, "Mon 09:00" beyond, as core's `reset_text`. */
export function resetText(reset: Date, now: Date): string {
  const clock = `${pad(reset.getHours())}:${pad(reset.getMinutes())}`;
  return reset.getTime() - now.getTime() < 20 * 3_600_000 ? clock : `${DAYS[reset.getDay()]} ${clock}`;
}

/** "45 min", "1 h 40 min", "3 d 4 h", as core's `duration_text`. */
export function durationText(minutes: number): string {
  const m = Math.max(0, Math.trunc(minutes));
  if (m < 60) return `${m} min`;
  if (m < 24 * 60) return m % 60 === 0 ? `${Math.trunc(m / 60)} h` : `${Math.trunc(m / 60)} h ${m % 60} min`;
  return `${Math.trunc(m / (24 * 60))} d ${Math.trunc((m % (24 * 60)) / 60)} h`;
}

/** "Session (5 h): 62 %, resets 15:40"; a stale reading says so instead of its percentage. */
export function windowText(report: PlanWindowReport, now: Date): string {
  const reading = report.last_reading;
  const reset = parseTime(reading.resets_at);
  const seen = parseTime(reading.seen_at);
  if (report.freshness.state === "fresh" && report.used_percent !== null) {
    const base = `${report.label}: ${percentText(report.used_percent)}`;
    return reset ? `${base}, resets ${resetText(reset, now)}` : base;
  }
  if (report.freshness.state === "reset_since") {
    return reset && seen
      ? `${report.label}: reset at ${resetText(reset, seen)}, no reading since`
      : `${report.label}: reset since the last reading`;
  }
  const at = seen ? `${pad(seen.getHours())}:${pad(seen.getMinutes())}` : "?";
  return `${report.label}: stale (last reading ${percentText(reading.used_percent)} at ${at})`;
}

/** "at this pace 100 % at 14:55, 45 min before the reset"; null without a pace. */
export function paceText(report: PlanWindowReport, now: Date): string | null {
  const pace = report.pace;
  if (!pace) return null;
  switch (pace.kind) {
    case "reaches_limit": {
      const at = parseTime(pace.at);
      if (!at) return null;
      return report.last_reading.resets_at
        ? `at this pace 100 % at ${resetText(at, now)}, ${durationText(pace.minutes_before_reset)} before the reset`
        : `at this pace 100 % at ${resetText(at, now)}`;
    }
    case "resets_first":
      return `at this pace ${percentText(pace.projected_percent)} at the reset`;
    case "flat":
      return "not rising";
  }
}

/** "Claude Code 2.1.328 status line, 14:02", or the gateway's headers, labelled as observed. */
export function sourceText(reading: PlanReading): string {
  const seen = parseTime(reading.seen_at);
  const at = seen ? `${pad(seen.getHours())}:${pad(seen.getMinutes())}` : "?";
  if (reading.source === "gateway_headers") return `gateway response headers (observed, not documented), ${at}`;
  return reading.client_version ? `Claude Code ${reading.client_version} status line, ${at}` : `Claude Code status line, ${at}`;
}

/** "14:00–19:00, 42 requests, 1,234,567 tokens, $3.20" for one block; gaps say so. */
export function blockText(block: Block): string {
  const start = parseTime(block.start);
  const end = parseTime(block.end);
  const span = start && end ? `${pad(start.getHours())}:${pad(start.getMinutes())}–${pad(end.getHours())}:${pad(end.getMinutes())}` : block.id;
  if (block.is_gap) return `${span}: no activity`;
  const price = block.includes_unknown_price ? `at least ${usd(block.cost_usd)}` : usd(block.cost_usd);
  return `${span}: ${count(block.entries)} requests, ${count(block.total_tokens)} tokens, ${price}`;
}

/** The active block in words: elapsed, burn rate, projection. Null without an active block. */
export function activeBlockText(report: BlocksReport): string[] | null {
  const active = report.active;
  if (!active) return null;
  const lines = [`Active block: ${blockText(active.block)}; ${durationText(active.minutes_elapsed)} in, ${durationText(active.minutes_remaining)} left`];
  if (active.burn_rate) {
    lines.push(`Burn rate: ${count(Math.round(active.burn_rate.tokens_per_minute))} tokens a minute, ${usd(active.burn_rate.cost_per_hour_usd)} an hour`);
  }
  if (active.projection) {
    lines.push(`Projected by the block's end: ${count(active.projection.total_tokens)} tokens, ${usd(active.projection.cost_usd)}`);
  }
  return lines;
}
