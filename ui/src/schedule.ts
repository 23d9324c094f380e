// When to fetch history again: on opening a tab, and on a new snapshot only while the tab is
// visible, never more often than once per 30 seconds. Pure, so the rule is tested.

/** The shortest gap between two fetches of the same data. */
export const MIN_REFRESH_MS = 30_000;

/**
 * True when data fetched at `lastFetchedMs` (null: never) should be fetched again at `nowMs`. A
 * hidden tab never refreshes; it fetches when it is opened.
 */
export function refreshDue(
  lastFetchedMs: number | null,
  nowMs: number,
  visible: boolean,
  minGapMs: number = MIN_REFRESH_MS,
): boolean {
  if (!visible) return false;
  if (lastFetchedMs === null) return true;
  return nowMs - lastFetchedMs >= minGapMs;
}
