// The words and table cells of the Budget view's "Advice from your traffic" section, from the
// advisor's report (`get_advice`, crates/core/src/advice.rs). The sentences of each row are the
// core's own, shown as they come: `claude-status usage --advice` prints the same ones, and the app
// must never say something else about the same traffic. What is built here (the summary, the
// totals, the notes, the empty states) follows the CLI's wording (crates/cli/src/advice_cmd.rs)
// and the core's number formats. Pure, so `npm test` checks it.

import type { AdviceReport } from "./bindings/AdviceReport.ts";
import type { CachedTotals } from "./bindings/CachedTotals.ts";
import type { MinCacheable } from "./bindings/MinCacheable.ts";
import type { PrefixParts } from "./bindings/PrefixParts.ts";
import type { PrefixTokens } from "./bindings/PrefixTokens.ts";
import { count, parseTime } from "./format.ts";

/**
 * The shortest gap between two fetches of the advice on new snapshots. The report covers 24
 * hours and the service reads the whole window from the database to build it, so once a minute
 * is fresh enough and keeps a busy gateway's snapshots from asking for it on every request.
 */
export const ADVICE_REFRESH_MS = 60_000;

/** The heading of model advice: it prices requests, it does not say the cheaper model would do. */
export const MODELS_HEADING = "Cheaper models (a cost figure, not a judgement of quality)";

/** "$4.10", and "$0.004" below a cent so a small figure is not shown as nothing (core's `money`). */
export function money(usd: number): string {
  if (Math.abs(usd) < 0.01 && usd !== 0) return `$${usd.toFixed(3)}`;
  return `$${usd.toFixed(2)}`;
}

/** "78 %" (core's `percent`, whole percent). */
export function ratioText(ratio: number): string {
  return `${(ratio * 100).toFixed(0)} %`;
}

/** "System prompt", "Tools", "Tools and system prompt" (core's `PrefixParts::label`). */
export function partsLabel(parts: PrefixParts): string {
  switch (parts) {
    case "system":
      return "System prompt";
    case "tools":
      return "Tools";
    case "tools_and_system":
      return "Tools and system prompt";
  }
}

/** "System prompt #3": how the sentences name a prefix. */
export function prefixName(parts: PrefixParts, number: number): string {
  return `${partsLabel(parts)} #${number}`;
}

/** "3,400 tokens", or "about 3,400 tokens, estimated" as the sentences say it. */
export function sizeText(size: PrefixTokens): string {
  return size.estimated ? `about ${count(size.tokens)} tokens, estimated` : `${count(size.tokens)} tokens`;
}

/** "minimum assumed" when the reference has no minimum cacheable length for the model. */
export function minimumText(minimum: MinCacheable): string | null {
  return minimum.assumed ? `minimum assumed (${count(minimum.tokens)} tokens)` : null;
}

/**
 * "the last 24 hours", "the last 7 days", "the last 90 minutes": the report's window in the
 * words of core's `window_words`, so the summary matches the sentences under it.
 */
export function windowWords(report: Pick<AdviceReport, "window_start" | "window_end">): string {
  const start = parseTime(report.window_start);
  const end = parseTime(report.window_end);
  const minutes = start && end ? Math.max(1, Math.floor((end.getTime() - start.getTime()) / 60_000)) : 1440;
  if (minutes % 1440 === 0 && minutes > 1440) return `the last ${minutes / 1440} days`;
  if (minutes % 60 === 0) return minutes === 60 ? "the last hour" : `the last ${minutes / 60} hours`;
  return `the last ${minutes} minutes`;
}

/** What the section says first: the traffic the advice rests on. */
export function summaryText(report: AdviceReport): string {
  return `From the gateway's traffic of ${windowWords(report)}: ${count(report.requests)} requests, ${count(report.with_prefix)} with a system prompt or tools, ${count(report.prefixes)} distinct prefixes.`;
}

/** Why there is no advice at all: nothing went through the gateway. Null when something did. */
export function noTrafficText(report: AdviceReport): string | null {
  if (report.requests > 0) return null;
  return `No requests went through the gateway in ${windowWords(report)}: point ANTHROPIC_BASE_URL at it to get advice. The advisor never changes a request.`;
}

/** True when the report has requests but neither caching, cached prefixes nor model advice. */
export function nothingToAdvise(report: AdviceReport): boolean {
  return report.requests > 0 && report.advice.length === 0 && report.cached.length === 0 && report.models.length === 0;
}

/** The whole report has traffic and nothing to say about it. */
export function nothingToAdviseText(report: AdviceReport): string {
  return `${count(report.requests)} requests went through the gateway in ${windowWords(report)}, and there is nothing to advise: no repeated prefix worth caching, none cached, and no model whose requests are mostly small.`;
}

/** The prompt-caching part when no prefix is worth caching (the CLI's sentence). */
export const NO_CACHE_ADVICE =
  "No uncached prefix repeats within 5 minutes at its model's minimum cacheable length: nothing to add.";

/** Model advice when no model qualifies: why there is no figure. */
export const NO_MODEL_ADVICE =
  "No model had at least 20 answered requests, most of them under 2K input and 200 output tokens, with a cheaper current model to price them on.";

/** "In all: about $4.10 a day." (the CLI's total of every advised saving, beyond the rows too). */
export function adviceTotalText(report: AdviceReport): string | null {
  if (report.advice.length === 0) return null;
  return `In all: about $${report.advice_per_day_usd.toFixed(2)} a day.`;
}

/** "3 repeated prefixes are under the model's minimum cacheable length: caching would not take." */
export function belowMinimumText(report: AdviceReport): string | null {
  const n = report.below_minimum;
  if (n <= 0) return null;
  return `${count(n)} repeated ${n === 1 ? "prefix is" : "prefixes are"} under the model's minimum cacheable length: caching would not take.`;
}

/** "Cached requests: 900 of 1,000 read the cache (90 %); caching saved $3.20." (the CLI's line). */
export function cachedTotalsText(totals: CachedTotals): string | null {
  if (totals.sends <= 0) return null;
  const saved = totals.unknown_price
    ? `$${totals.saved_usd.toFixed(2)} and more (some prices unknown)`
    : `$${totals.saved_usd.toFixed(2)}`;
  return `Cached requests: ${count(totals.hits)} of ${count(totals.sends)} read the cache (${ratioText(totals.hit_ratio)}); caching saved ${saved}.`;
}

/** What the figures rest on: estimated sizes, prefixes not followed, models without a price. */
export function adviceNotes(report: AdviceReport): string[] {
  const notes: string[] = [];
  if (report.estimated_sizes > 0) {
    notes.push(
      `${count(report.estimated_sizes)} ${report.estimated_sizes === 1 ? "prefix's size is" : "prefixes' sizes are"} estimated at 4 characters per token, not counted; sizes marked estimated may be off either way.`,
    );
  }
  if (report.untracked_sends > 0) {
    notes.push(`${count(report.untracked_sends)} sends of prefixes past the first 10,000 were not followed.`);
  }
  if (report.unknown_price_models.length > 0) {
    notes.push(`No price is known for ${report.unknown_price_models.join(", ")}: their savings are left out.`);
  }
  return notes;
}

/** One row of the caching table, as text. */
export interface AdviceRowText {
  prefix: string;
  key: string;
  model: string;
  size: string;
  estimated: boolean;
  minimum: string | null;
  sends: string;
  wouldHit: string;
  wouldWrite: string;
  perDay: string;
  sentence: string;
}

export function adviceRows(report: AdviceReport): AdviceRowText[] {
  return report.advice.map((row) => ({
    prefix: prefixName(row.parts, row.number),
    key: row.key,
    model: row.model,
    size: sizeText(row.size),
    estimated: row.size.estimated,
    minimum: minimumText(row.minimum),
    sends: count(row.sends),
    wouldHit: count(row.would_hit),
    wouldWrite: count(row.would_write),
    perDay: money(row.saving_per_day_usd),
    sentence: row.sentence,
  }));
}

/** One row of the table of prefixes that use caching, as text. */
export interface CachedRowText {
  prefix: string;
  key: string;
  model: string;
  size: string;
  estimated: boolean;
  sends: string;
  hits: string;
  hitRatio: string;
  saved: string;
  sentence: string;
}

/**
 * What caching saved on one prefix: "$1.20", "−$0.30 (writes outweigh reads)", or "unknown
 * (no price)" when the model has no known price, as the sentence says it.
 */
export function savedText(saved: number, unknownPrice: boolean): string {
  if (unknownPrice) return "unknown (no price)";
  if (saved < 0) return `−${money(-saved)} (writes outweigh reads)`;
  return money(saved);
}

export function cachedRows(report: AdviceReport): CachedRowText[] {
  return report.cached.map((row) => ({
    prefix: prefixName(row.parts, row.number),
    key: row.key,
    model: row.model,
    size: sizeText(row.size),
    estimated: row.size.estimated,
    sends: count(row.sends),
    hits: count(row.hits),
    hitRatio: ratioText(row.hit_ratio),
    saved: savedText(row.saved_usd, row.unknown_price),
    sentence: row.sentence,
  }));
}
