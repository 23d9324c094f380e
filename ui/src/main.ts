// The dashboard: asks for the snapshot once, then follows `snapshot-changed` (it never polls the
// shell). Five tabs (Overview, Incidents, Probes, Budget, Settings); history is fetched by command
// when a tab opens and refreshed on a new snapshot only while its tab is visible (schedule.ts).
// Everything from the shell or the status page is written as text, never parsed as HTML.

import "./style.css";

import type { IncidentReport } from "./bindings/IncidentReport.ts";
import type { Snapshot } from "./bindings/Snapshot.ts";
import { byId, errorText, refreshRelativeTimes } from "./dom.ts";
import { levelLabel, levelSymbol, localTime, parseTime, relativeTime } from "./format.ts";
import {
  checkNow,
  getSnapshot,
  insideTauri,
  onOpenIncident,
  onSnapshotChanged,
  type SettingsView,
} from "./ipc.ts";
import { budgetView } from "./views/budget.ts";
import { type AppContext, TABS, type TabName, type View } from "./views/context.ts";
import { incidentsView } from "./views/incidents.ts";
import { overviewView } from "./views/overview.ts";
import { probesView } from "./views/probes.ts";
import { settingsView } from "./views/settings.ts";

let current: Snapshot | null = null;
let currentSettings: SettingsView | null = null;
let selected: TabName = "overview";

const isTab = (name: string | undefined | null): name is TabName =>
  (TABS as readonly string[]).includes(name ?? "");

const context: AppContext = {
  snapshot: () => current,
  settings: () => currentSettings,
  openIncident: (incident: string | IncidentReport) => {
    selectTab("incidents");
    incidents.open(incident);
  },
  selectTab: (name, focus) => selectTab(name, focus),
  visible: (name) => selected === name,
  settingsChanged: (view) => {
    currentSettings = view;
    for (const name of TABS) views[name].settings?.(view);
  },
};

const incidents = incidentsView(context);
const views: Record<TabName, View> = {
  overview: overviewView(context),
  incidents,
  probes: probesView(context),
  budget: budgetView(context),
  settings: settingsView(context),
};

const tab = (name: TabName) => byId<HTMLButtonElement>(`tab-${name}`);
const panel = (name: TabName) => byId(`view-${name}`);

/** Shows a tab (and fetches what it needs); `focus` moves the keyboard focus to its button. */
function selectTab(name: TabName, focus = false): void {
  const changed = name !== selected || panel(name).hidden;
  selected = name;
  for (const other of TABS) {
    const active = other === name;
    tab(other).setAttribute("aria-selected", String(active));
    tab(other).tabIndex = active ? 0 : -1;
    panel(other).hidden = !active;
  }
  if (focus) tab(name).focus();
  if (changed) {
    history.replaceState(null, "", `${location.pathname}${location.search}#${name}`);
    views[name].shown();
  }
}

/** The tab list: click, or arrows / Home / End to move (and switch) between tabs. */
function wireTabs(): void {
  const list = byId("tabs");
  list.addEventListener("click", (event) => {
    const button = (event.target as HTMLElement).closest<HTMLElement>("[role=tab]");
    const name = button?.dataset.tab;
    if (isTab(name)) selectTab(name);
  });
  list.addEventListener("keydown", (event) => {
    const index = TABS.indexOf(selected);
    const moves: Record<string, number> = {
      ArrowRight: index + 1,
      ArrowLeft: index - 1,
      Home: 0,
      End: TABS.length - 1,
    };
    const target = moves[event.key];
    if (target === undefined) return;
    event.preventDefault();
    const next = TABS[(target + TABS.length) % TABS.length];
    if (next) selectTab(next, true);
  });
}

function render(snapshot: Snapshot): void {
  current = snapshot;
  const summary = byId("summary");
  summary.dataset.level = snapshot.level;
  byId("level-symbol").textContent = levelSymbol(snapshot.level);
  byId("level").textContent = levelLabel(snapshot.level);
  document.title = `Claude Status: ${levelLabel(snapshot.level)}`;
  renderFreshness();
  for (const name of TABS) views[name].snapshot(snapshot, name === selected);
}

/** "since 14:03 (2 h ago) · checked 12 s ago", refreshed every second. */
function renderFreshness(): void {
  if (!current) return;
  const now = new Date();
  const parts: string[] = [];
  const since = parseTime(current.level_since);
  if (since) parts.push(`since ${localTime(since)} (${relativeTime(since, now)})`);
  const checked = parseTime(current.checked_at);
  parts.push(checked ? `checked ${relativeTime(checked, now)}` : "not checked yet");
  byId("freshness").textContent = parts.join(" · ");
}

async function start(): Promise<void> {
  if (!insideTauri()) {
    byId("outside").hidden = false;
    return;
  }
  byId("app").hidden = false;
  for (const name of TABS) views[name].mount(panel(name));
  wireTabs();
  window.addEventListener("hashchange", () => {
    const name = location.hash.slice(1);
    if (isTab(name)) selectTab(name);
  });

  const checkButton = byId<HTMLButtonElement>("check-now");
  checkButton.addEventListener("click", async () => {
    const status = byId("action-status");
    checkButton.disabled = true;
    status.textContent = "";
    try {
      await checkNow();
      status.textContent = "Checking now; the page updates when the results arrive.";
    } catch (error) {
      status.textContent = `Could not check now: ${errorText(error)}`;
    } finally {
      checkButton.disabled = false;
    }
  });

  // The incident to show comes from `?incident=<id>` (a notification's click), the tab from
  // `#probes` and the like.
  const params = new URLSearchParams(location.search);
  const incidentId = params.get("incident");
  const hash = location.hash.slice(1);
  selectTab(incidentId ? "incidents" : isTab(hash) ? hash : "overview");

  // Listen first, then ask once: a change that lands in between is not lost, and an answer that
  // arrives after a newer event does not overwrite it.
  let heardEvent = false;
  await onSnapshotChanged((snapshot) => {
    heardEvent = true;
    render(snapshot);
  });
  await onOpenIncident((id) => context.openIncident(id));
  try {
    const snapshot = await getSnapshot();
    if (!heardEvent) render(snapshot);
  } catch (error) {
    byId("level").textContent = "Unavailable";
    byId("freshness").textContent = `Could not read the status: ${errorText(error)}`;
  }
  if (incidentId) context.openIncident(incidentId);

  // Only the "N s ago" texts move with the clock; no IPC happens here.
  window.setInterval(() => {
    renderFreshness();
    refreshRelativeTimes(new Date());
  }, 1000);
}

void start();
