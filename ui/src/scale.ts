// The arithmetic of the charts: scales, "nice" axis ticks, time ticks, line paths with gaps and
// incident bands clipped to the window. No DOM here, so `npm test` checks it under Node.

/** A linear map from a domain to a range; a zero-width domain maps to the range's start. */
export function linear(
  [d0, d1]: readonly [number, number],
  [r0, r1]: readonly [number, number],
): (value: number) => number {
  const span = d1 - d0;
  return (value) => (span === 0 ? r0 : r0 + ((value - d0) / span) * (r1 - r0));
}

/** The smallest 1, 2, 2.5 or 5 × 10ⁿ at or above `value` (at least `floor`), for a y-axis top. */
export function niceMax(value: number, floor = 1): number {
  const target = Math.max(value, floor);
  const power = 10 ** Math.floor(Math.log10(target));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * power >= target) return step * power;
  }
  return 10 * power;
}

/**
 * Ticks from 0 to `top` (a `niceMax`) on round steps: a top of 2 × 10ⁿ gets 4 steps of 0.5 × 10ⁿ,
 * the others (1, 2.5, 5) get 5 steps (0.2, 0.5, 1 × 10ⁿ), so no label reads "1.3 s".
 */
export function valueTicks(top: number): number[] {
  if (top <= 0) return [0];
  const mantissa = top / 10 ** Math.floor(Math.log10(top));
  const parts = Math.abs(mantissa - 2) < 1e-9 ? 4 : 5;
  return Array.from({ length: parts + 1 }, (_, i) => (top * i) / parts);
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const TIME_STEPS = [5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880].map((m) => m * MINUTE);

/**
 * Tick times inside [from, to], about `target` of them, on round local times: every 15 min, every
 * 3 h, at local midnight… `offsetMinutes` is the local zone's `getTimezoneOffset()` (given, so
 * tests do not depend on the machine's zone).
 */
export function timeTicks(
  fromMs: number,
  toMs: number,
  target: number,
  offsetMinutes: number,
): { ticks: number[]; stepMs: number } {
  const span = Math.max(toMs - fromMs, 1);
  const stepMs = TIME_STEPS.find((step) => span / step <= target) ?? TIME_STEPS[TIME_STEPS.length - 1] ?? DAY;
  const offset = -offsetMinutes * MINUTE;
  const ticks: number[] = [];
  for (
    let t = Math.ceil((fromMs + offset) / stepMs) * stepMs - offset;
    t <= toMs;
    t += stepMs
  ) {
    ticks.push(t);
  }
  return { ticks, stepMs };
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const pad = (n: number) => String(n).padStart(2, "0");

/** "14:30" within a day's steps, "Aug 21" for day steps (local time). */
export function timeTickLabel(ms: number, stepMs: number): string {
  const date = new Date(ms);
  if (stepMs >= DAY) return `${MONTHS[date.getMonth()]} ${date.getDate()}`;
  return `${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/**
 * An SVG path through the points; `null` points are gaps (no probe in that bucket), so a line is
 * never drawn across missing data. A lone point becomes a zero-length segment, which the
 * chart's round line caps draw as a dot.
 */
export function linePath(points: ReadonlyArray<readonly [number, number] | null>): string {
  const parts: string[] = [];
  let drawing = false;
  for (const point of points) {
    if (!point) {
      drawing = false;
      continue;
    }
    const [x, y] = point.map((v) => Math.round(v * 10) / 10) as [number, number];
    parts.push(`${drawing ? "L" : "M"}${x} ${y}`);
    if (!drawing) parts.push("l0 0");
    drawing = true;
  }
  return parts.join("");
}

/** A time interval; `end` null means "still going". */
export interface Interval {
  start: number;
  end: number | null;
}

/**
 * The intervals that overlap [from, to], clipped to it; an open interval runs to `to`. An interval
 * without a readable start is dropped by the caller (it has nowhere to begin).
 */
export function clipIntervals(
  intervals: readonly Interval[],
  fromMs: number,
  toMs: number,
): Array<{ start: number; end: number }> {
  const clipped: Array<{ start: number; end: number }> = [];
  for (const interval of intervals) {
    const end = interval.end ?? toMs;
    if (end < fromMs || interval.start > toMs || end < interval.start) continue;
    clipped.push({ start: Math.max(interval.start, fromMs), end: Math.min(end, toMs) });
  }
  return clipped;
}

/** The index of the bucket under time `ms`, or null outside the series. */
export function bucketAt(ms: number, fromMs: number, bucketMs: number, buckets: number): number | null {
  if (bucketMs <= 0) return null;
  const index = Math.floor((ms - fromMs) / bucketMs);
  return index >= 0 && index < buckets ? index : null;
}
