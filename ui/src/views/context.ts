// What the views share: the latest snapshot and settings, and a way to open an incident or a tab.

import type { IncidentReport } from "../bindings/IncidentReport.ts";
import type { Snapshot } from "../bindings/Snapshot.ts";
import type { SettingsView } from "../ipc.ts";
import { refreshDue } from "../schedule.ts";

export const TABS = ["overview", "incidents", "probes", "budget", "settings"] as const;
export type TabName = (typeof TABS)[number];

export interface AppContext {
  snapshot(): Snapshot | null;
  settings(): SettingsView | null;
  /** Shows an incident's details in the Incidents tab (by id, or with the incident at hand). */
  openIncident(incident: string | IncidentReport): void;
  selectTab(name: TabName, focus?: boolean): void;
  /** Whether a tab is on screen. */
  visible(name: TabName): boolean;
  /** Settings were saved: the other views redraw what depends on them. */
  settingsChanged(view: SettingsView): void;
}

/** A tab's view. */
export interface View {
  readonly name: TabName;
  /** Fills the panel once at start. */
  mount(panel: HTMLElement): void;
  /** The tab became visible: draw, and fetch what is stale. */
  shown(): void;
  /** A new snapshot arrived; `visible` says whether this tab is on screen. */
  snapshot(snapshot: Snapshot, visible: boolean): void;
  /** The settings were read or changed (by any view); optional for views that do not care. */
  settings?(view: SettingsView): void;
}

/**
 * Fetches data for a view with the refresh rule of schedule.ts: when the tab opens, and on a new
 * snapshot while visible, at most once per 30 s per key. Answers that arrive after a newer request
 * for another key are dropped.
 */
export class Loader<K extends string, T> {
  private fetchedAt = new Map<K, number>();
  private wanted: K | null = null;

  constructor(
    private readonly fetch: (key: K) => Promise<T>,
    private readonly onData: (key: K, data: T) => void,
    private readonly onError: (key: K, error: unknown) => void,
  ) {}

  /** Fetches `key` if due (or always with `force`). */
  load(key: K, visible: boolean, force = false): void {
    const now = Date.now();
    this.wanted = key;
    if (!force && !refreshDue(this.fetchedAt.get(key) ?? null, now, visible)) return;
    this.fetchedAt.set(key, now);
    this.fetch(key).then(
      (data) => {
        if (this.wanted === key) this.onData(key, data);
      },
      (error: unknown) => {
        // A failed fetch is retried on the next opening or snapshot, not after 30 s.
        this.fetchedAt.delete(key);
        if (this.wanted === key) this.onError(key, error);
      },
    );
  }
}
