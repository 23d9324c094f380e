// What the streaming probe costs: list prices per model family and the arithmetic of one probe
// (about 8 input tokens and 1 output token). Pure, so `npm test` checks it.

import { count, usd } from "./format.ts";
import { intervalText } from "./models.ts";

/** Dollars per million tokens. */
export interface ModelPrice {
  input: number;
  output: number;
}

/** Tokens one streaming probe spends: a tiny prompt and a one-token answer. */
export const PROBE_INPUT_TOKENS = 8;
export const PROBE_OUTPUT_TOKENS = 1;

/**
 * The list price of a model id ("claude-haiku-4-5", "claude-sonnet-4-6[1m]",
 * "claude-opus-4-5-20251101"), or null for a model this build has no price for. Only the families
 * with a known price are listed; Opus 4 and 4.1 cost more and are deliberately not guessed.
 */
export function modelPrice(model: string): ModelPrice | null {
  const match = /^claude-(haiku|sonnet|opus)-(\d+)(?:-(\d{1,2}))?(?:-\d{8})?(?:\[[a-z0-9]+\])?$/.exec(
    model.trim().toLowerCase(),
  );
  if (!match) return null;
  const [, family, majorText, minorText] = match;
  const major = Number(majorText);
  const minor = minorText === undefined ? 0 : Number(minorText);
  if (major !== 4) return null;
  if (family === "haiku" && minor === 5) return { input: 1, output: 5 };
  if (family === "sonnet") return { input: 3, output: 15 };
  if (family === "opus" && minor >= 5 && minor <= 8) return { input: 5, output: 25 };
  return null;
}

/** How many probes run per day at this interval. */
export function probesPerDay(intervalSecs: number): number {
  return intervalSecs > 0 ? 86_400 / intervalSecs : 0;
}

/** Dollars per day for the streaming probe, or null when the model's price is unknown. */
export function streamingCostPerDay(model: string, intervalSecs: number): number | null {
  const price = modelPrice(model);
  if (!price) return null;
  const perProbe =
    (PROBE_INPUT_TOKENS * price.input + PROBE_OUTPUT_TOKENS * price.output) / 1_000_000;
  return perProbe * probesPerDay(intervalSecs);
}

/** "≈ $0.019 per day (1,440 probes of ~8 input + 1 output tokens)", or "price unknown". */
export function streamingCostText(model: string, intervalSecs: number): string {
  const perDay = streamingCostPerDay(model, intervalSecs);
  if (perDay === null) return `Estimated cost: price unknown for “${model.trim() || "(no model)"}”`;
  const probes = Math.round(probesPerDay(intervalSecs));
  return (
    `Estimated cost ≈ ${usd(perDay)} per day, ${usd(perDay * 30)} per 30 days ` +
    `(${count(probes)} probes of ~${PROBE_INPUT_TOKENS} input + ${PROBE_OUTPUT_TOKENS} output tokens)`
  );
}

/** The per-model probe asks the most-used model at most this often (`MOST_USED_PROBE_INTERVAL`)… */
export const MOST_USED_PROBE_SECS = 60;
/** …and every other followed model at most this often (`OTHER_PROBE_INTERVAL`). */
export const OTHER_PROBE_SECS = 300;

/**
 * How often the per-model probe asks, as the shell schedules it: the most-used model every
 * minute and the others every 5 minutes, or the reachability probe's interval when that is
 * longer.
 */
export function streamingIntervals(probeIntervalSecs: number): { mostUsed: number; others: number } {
  const chosen = Number.isFinite(probeIntervalSecs) && probeIntervalSecs > 0 ? probeIntervalSecs : MOST_USED_PROBE_SECS;
  return { mostUsed: Math.max(chosen, MOST_USED_PROBE_SECS), others: Math.max(chosen, OTHER_PROBE_SECS) };
}

/**
 * The Settings hint under the probe's box: what the default model alone costs, and that every
 * other followed model adds its own, less often. The Overview's notice has the full figure.
 */
export function probeCostHint(model: string, probeIntervalSecs: number): string {
  const { mostUsed, others } = streamingIntervals(probeIntervalSecs);
  return (
    `${streamingCostText(model, mostUsed)} for the default model alone, probed ${intervalText(mostUsed)}; ` +
    `each other followed model is probed ${intervalText(others)} and adds its own cost.`
  );
}
