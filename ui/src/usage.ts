// The Budget view's text for the usage tracker's figures (`Snapshot.usage`, a TrackerSnapshot):
// per-class limit rows, where each cost comes from, budgets, cache and the user's own 429/529s.
// Pure, so `npm test` checks it. Every number shown comes from the snapshot; a figure the tracker
// does not have is said to be missing, never shown as zero.

import type { BudgetProgress } from "./bindings/BudgetProgress.ts";
import type { CacheSavings } from "./bindings/CacheSavings.ts";
import type { ClassWindow } from "./bindings/ClassWindow.ts";
import type { CostFigure } from "./bindings/CostFigure.ts";
import type { CostSource } from "./bindings/CostSource.ts";
import type { OwnTraffic } from "./bindings/OwnTraffic.ts";
import type { RateLimitBucket } from "./bindings/RateLimitBucket.ts";
import type { SpikeLine } from "./bindings/SpikeLine.ts";
import type { SpikeMeasure } from "./bindings/SpikeMeasure.ts";
import type { TierChoice } from "./bindings/TierChoice.ts";
import type { TrackerSnapshot } from "./bindings/TrackerSnapshot.ts";
import { count, percent, spanText, usd } from "./format.ts";

/** Where a cost figure comes from, in the words the view uses. */
export function costSourceLabel(source: CostSource): string {
  switch (source) {
    case "claude_code_logs":
      return "Claude Code logs";
    case "admin_api":
      return "Admin API (authoritative)";
    case "gateway":
      return "gateway";
    case "probe":
      return "probe";
    default:
      // A newer shell with a source this build does not know.
      return String(source).replace(/_/g, " ");
  }
}

/** "$18.42", or "at least $18.42" when some tokens had no known price. */
export function costText(cost: Pick<CostFigure, "usd" | "includes_unknown_price">): string {
  return cost.includes_unknown_price ? `at least ${usd(cost.usd)}` : usd(cost.usd);
}

/**
 * "from Claude Code logs, also gateway and probe": the main source first. null when nothing was
 * recorded (the figure is then not shown at all).
 */
export function costSourcesText(cost: CostFigure): string | null {
  if (cost.source === null) return null;
  const others = cost.other_sources.map(costSourceLabel);
  const last = others.pop();
  const also = last === undefined ? "" : `, also ${others.length > 0 ? `${others.join(", ")} and ` : ""}${last}`;
  return `from ${costSourceLabel(cost.source)}${also}`;
}

/** How the tier was chosen, in a sentence. */
export function tierText(tier: TierChoice | null): string {
  if (!tier) {
    return "Tier not known yet: choose it in Settings, or it is identified from the rate-limit headers once every model class seen agrees on one tier.";
  }
  if (!tier.known) {
    return `Tier “${tier.name}” (your choice in Settings) is not in the catalog, so no limits are known for it.`;
  }
  return tier.chosen_by === "user"
    ? `${tier.name}: your choice in Settings.`
    : `${tier.name}: identified from the rate-limit headers.`;
}

export type LimitKey = "requests" | "input_tokens" | "output_tokens";

/** One per-minute limit of one class: what this app's sources saw, the limit, the API's reading. */
export interface LimitRow {
  key: LimitKey;
  label: string;
  /** Used in the last 60 s by the requests this app saw. */
  used: number;
  /** The tier's limit, or null when not known. */
  limit: number | null;
  /** `used / limit` (1 = at the limit), or null. */
  fraction: number | null;
  /** The latest rate-limit headers of this class: what the API says is left for the whole organisation. */
  live: RateLimitBucket | null;
}

const LIMITS: ReadonlyArray<[LimitKey, string]> = [
  ["requests", "Requests per minute"],
  ["input_tokens", "Input tokens per minute"],
  ["output_tokens", "Output tokens per minute"],
];

/** The three per-minute rows of a class, in a fixed order. */
export function limitRows(window: ClassWindow): LimitRow[] {
  const limits = window.limits;
  const live = window.live?.snapshot ?? null;
  return LIMITS.map(([key, label]) => {
    const [used, limit, fraction] =
      key === "requests"
        ? [window.requests, limits?.requests_per_minute ?? null, window.requests_fraction]
        : key === "input_tokens"
          ? [window.input_tokens, limits?.input_tokens_per_minute ?? null, window.input_tokens_fraction]
          : [window.output_tokens, limits?.output_tokens_per_minute ?? null, window.output_tokens_fraction];
    const bucket = live?.[key] ?? null;
    return {
      key,
      label,
      used,
      limit,
      fraction,
      live: bucket && (bucket.limit !== null || bucket.remaining !== null) ? bucket : null,
    };
  });
}

/** "1,234 of 450,000 (0.27%)", or "1,234 (limit not known)". */
export function limitFigures(row: LimitRow): string {
  if (row.limit === null) return `${count(row.used)} (limit not known)`;
  return `${count(row.used)} of ${count(row.limit)}${row.fraction === null ? "" : ` (${percent(row.fraction * 100)})`}`;
}

/** "API: 139,000 of 450,000 left": the organisation's remainder from the latest headers. */
export function liveText(bucket: RateLimitBucket): string {
  if (bucket.remaining !== null && bucket.limit !== null) return `API: ${count(bucket.remaining)} of ${count(bucket.limit)} left`;
  if (bucket.remaining !== null) return `API: ${count(bucket.remaining)} left`;
  return `API limit ${count(bucket.limit ?? 0)}`;
}

/** The note on cache reads under the input-token row (they may or may not count toward ITPM). */
export function cacheReadNote(window: ClassWindow): string | null {
  if (window.cache_read_tokens === 0) return null;
  return window.cache_reads_counted
    ? `includes ${count(window.cache_read_tokens)} cache-read tokens, which count toward this class's limit`
    : `plus ${count(window.cache_read_tokens)} cache-read tokens, which do not count toward this class's limit`;
}

/** The highest share of any per-minute limit across classes (as the tray shows it). */
export function highestShare(windows: ClassWindow[]): { class: string; row: LimitRow } | null {
  let best: { class: string; row: LimitRow } | null = null;
  for (const window of windows) {
    for (const row of limitRows(window)) {
      if (row.fraction === null || !Number.isFinite(row.fraction)) continue;
      if (!best || row.fraction > (best.row.fraction ?? -1)) best = { class: window.class, row };
    }
  }
  return best;
}

/** "$212.37 of $500.00 (42.5%)". */
export function progressText(progress: BudgetProgress): string {
  const spent = costText({ usd: progress.spent_usd, includes_unknown_price: progress.includes_unknown_price });
  return `${spent} of ${usd(progress.limit_usd)} (${percent(progress.fraction * 100)})`;
}

/** "Caching saved $41.87 (reads $42.55 cheaper, writes $0.68 extra)", or that it cost more. */
export function cacheSavingsText(savings: CacheSavings): string {
  const parts = `reads ${usd(savings.read_savings_usd)} cheaper, writes ${usd(savings.write_premium_usd)} extra`;
  const lower = savings.includes_unknown_price ? "at least " : "";
  if (savings.net_usd >= 0) return `Caching saved ${lower}${usd(savings.net_usd)} (${parts})`;
  return `Caching cost ${usd(-savings.net_usd)} more than it saved (${parts})`;
}

/** "3 of 214 requests (1.4%)" for one kind of refusal. */
function share(part: number, whole: number): string {
  return `${count(part)} of ${count(whole)} requests (${percent((part / whole) * 100)})`;
}

/** The user's own 529s and 429s over the last minutes; null without any request. */
export function ownTrafficText(own: OwnTraffic): { overloaded: string; rateLimited: string; window: string } | null {
  if (own.requests === 0) return null;
  return {
    overloaded: share(own.overloaded, own.requests),
    rateLimited: share(own.rate_limited, own.requests),
    window: `over the last ${spanText(own.window)}`,
  };
}

/** True when the tracker has recorded anything today. */
export function recordedToday(usage: TrackerSnapshot): boolean {
  return usage.today.cost.source !== null || usage.today.requests > 0;
}

/**
 * What each spike alert measures, in words; a new measure fails the build until it has some. The
 * words and the states below are core's `SpikeMeasure::label` and `SpikeLine::state_words`, which
 * `claude-status check` prints: a change to one is a change to both (their tests share sentences).
 */
const SPIKE_MEASURE_WORDS: Record<SpikeMeasure, string> = {
  cost_per_1k: "cost per 1,000 requests",
  p95_input_tokens: "p95 input tokens per request",
  stream_ttft: "p95 time to first token (streams)",
  answer_time: "p95 answer time (whole answers)",
};

/**
 * One spike-alert line of the Budget view, from core's `SpikeLine` (spikes.rs): the model, the
 * measure, core's own sentence (the value against the 7-day median or the fixed limit, or
 * "learning: N of 24 hours"), and the state.
 */
export function spikeLineText(line: SpikeLine): string {
  const state = line.alerting
    ? "alerting"
    : line.above
      ? "above, for 10 minutes before it alerts"
      : line.threshold === null
        ? "no alert until the baseline has 24 hours"
        : "normal";
  return `${line.model_name}, ${SPIKE_MEASURE_WORDS[line.measure]}: ${line.text} (${state})`;
}
