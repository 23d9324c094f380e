// The dashboard: asks for the snapshot once, then follows `snapshot-changed` (it never polls the
// shell). Everything from the shell or the status page is written with textContent, never parsed
// as HTML. The dashboard issue replaces this page; the IPC contract in ipc.ts stays.

import "./style.css";

import type { IncidentReport } from "./bindings/IncidentReport";
import type { Settings } from "./bindings/Settings";
import type { Snapshot } from "./bindings/Snapshot";
import {
  activeIncidents,
  apiKeyText,
  humanize,
  levelLabel,
  levelSymbol,
  localTime,
  localTimeOf,
  newestFirst,
  parseTime,
  probeLine,
  relativeTime,
  troubledComponents,
} from "./format";
import {
  checkNow,
  getIncident,
  getSettings,
  getSnapshot,
  insideTauri,
  isIpcError,
  onOpenIncident,
  onSnapshotChanged,
  openStatusPage,
  setApiKey,
  setSettings,
  type SettingsView,
} from "./ipc";

/** The element with this id; the markup is static, so a missing one is a bug in index.html. */
function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`index.html has no #${id}`);
  return element as T;
}

/** A new element with optional class and text (as text, never markup). */
function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined) element.textContent = text;
  return element;
}

function errorText(error: unknown): string {
  return isIpcError(error) ? error.message : String(error);
}

// ---------------------------------------------------------------------------------------------
// The snapshot.

let current: Snapshot | null = null;
/** The incident shown in the detail view, if any. */
let shownIncidentId: string | null = null;

function render(snapshot: Snapshot): void {
  current = snapshot;
  const summary = byId("summary");
  summary.dataset.level = snapshot.level;
  byId("level-symbol").textContent = levelSymbol(snapshot.level);
  byId("level").textContent = levelLabel(snapshot.level);
  document.title = `Claude Status: ${levelLabel(snapshot.level)}`;
  renderFreshness();

  const reasons = byId("reasons");
  reasons.replaceChildren(...snapshot.reasons.map((reason) => el("li", undefined, reason)));

  const probe = snapshot.probe;
  byId("probe").textContent = probe
    ? `${probeLine(probe)}${probe.detail ? ` (${probe.detail})` : ""}`
    : "No probe has run yet.";

  const components = troubledComponents(snapshot.status_page.components);
  byId("components").replaceChildren(
    ...components.map((component) => {
      const item = el("li", undefined, component.group ? `${component.group}: ` : "");
      item.append(
        el("span", undefined, component.name),
        " ",
        el("span", "status-tag", `(${humanize(component.status)})`),
      );
      return item;
    }),
  );
  byId("components-empty").hidden = components.length > 0;

  const incidents = activeIncidents(snapshot.status_page.incidents);
  byId("incidents").replaceChildren(...incidents.map(incidentItem));
  byId("incidents-empty").hidden = incidents.length > 0;

  // An open detail view follows the incident's new updates.
  if (shownIncidentId !== null) {
    const fresh = snapshot.status_page.incidents.find((i) => i.id === shownIncidentId);
    if (fresh) showIncident(fresh);
  }
}

function incidentItem(incident: IncidentReport): HTMLLIElement {
  const button = el("button", "incident-button");
  button.type = "button";
  button.append(
    el("span", "incident-name", incident.name),
    el(
      "span",
      "muted",
      `${humanize(incident.impact)} impact · ${humanize(incident.status)} · since ${localTimeOf(incident.created_at)}`,
    ),
  );
  button.addEventListener("click", () => showIncident(incident));
  const item = el("li");
  item.append(button);
  return item;
}

/** "checked 12 s ago · status page fetched 14:03 (2 min ago)", refreshed every second. */
function renderFreshness(): void {
  if (!current) return;
  const now = new Date();
  const parts: string[] = [];
  const since = parseTime(current.level_since);
  if (since) parts.push(`since ${localTime(since)}`);
  const checked = parseTime(current.checked_at);
  parts.push(checked ? `checked ${relativeTime(checked, now)}` : "not checked yet");
  const page = current.status_page;
  const fetched = parseTime(page.fetched_at);
  parts.push(
    fetched
      ? `status page fetched ${localTime(fetched)} (${relativeTime(fetched, now)})`
      : "status page not fetched yet",
  );
  if (page.error) parts.push(`last fetch failed: ${page.error}`);
  byId("freshness").textContent = parts.join(" · ");
}

// ---------------------------------------------------------------------------------------------
// Incident details.

function showIncident(incident: IncidentReport): void {
  shownIncidentId = incident.id;
  byId("incident-name").textContent = incident.name;
  const meta = [
    `Impact: ${humanize(incident.impact)}`,
    `Status: ${humanize(incident.status)}`,
    `Started: ${localTimeOf(incident.created_at)}`,
  ];
  if (incident.resolved_at) meta.push(`Resolved: ${localTimeOf(incident.resolved_at)}`);
  if (incident.components.length > 0) meta.push(`Affects: ${incident.components.join(", ")}`);
  byId("incident-meta").textContent = meta.join(" · ");
  byId("incident-updates").replaceChildren(
    ...newestFirst(incident.updates).map((update) => {
      const item = el("li");
      item.append(
        el(
          "div",
          "update-head",
          `${humanize(update.status)} · ${localTimeOf(update.created_at)}`,
        ),
        el("div", "update-body", update.body),
      );
      return item;
    }),
  );
  if (incident.updates.length === 0) {
    byId("incident-updates").replaceChildren(el("li", "muted", "No updates posted."));
  }
  byId("overview").hidden = true;
  byId("incident-view").hidden = false;
  byId("incident-back").focus();
}

function showOverview(): void {
  shownIncidentId = null;
  byId("incident-view").hidden = true;
  byId("overview").hidden = false;
}

/** The tray's "open incident": from the current snapshot, else from the shell's history. */
async function openIncident(id: string): Promise<void> {
  const known = current?.status_page.incidents.find((i) => i.id === id);
  if (known) {
    showIncident(known);
    return;
  }
  try {
    const incident = await getIncident(id);
    if (incident) showIncident(incident);
    else byId("action-status").textContent = "That incident is no longer known.";
  } catch (error) {
    byId("action-status").textContent = `Could not load the incident: ${errorText(error)}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Actions and settings.

async function runAction(button: HTMLButtonElement, action: () => Promise<unknown>, done: string) {
  const status = byId("action-status");
  button.disabled = true;
  status.textContent = "";
  try {
    await action();
    status.textContent = done;
  } catch (error) {
    status.textContent = errorText(error);
  } finally {
    button.disabled = false;
  }
}

let settingsView: SettingsView | null = null;

function renderSettings(view: SettingsView): void {
  settingsView = view;
  const s = view.settings;
  byId<HTMLInputElement>("probe-interval").value = String(s.probe_interval_secs);
  byId<HTMLInputElement>("streaming-probe").checked = s.streaming_probe;
  byId<HTMLInputElement>("streaming-model").value = s.streaming_model;
  byId<HTMLInputElement>("notifications").checked = s.notifications;
  byId<HTMLInputElement>("launch-at-login").checked = s.launch_at_login;
  byId("key-source").textContent = apiKeyText(view.api_key_source);
}

/** The settings in force with the form's fields applied; the shell validates them. */
function settingsFromForm(base: Settings): Settings {
  return {
    ...base,
    probe_interval_secs: Number(byId<HTMLInputElement>("probe-interval").value),
    streaming_probe: byId<HTMLInputElement>("streaming-probe").checked,
    streaming_model: byId<HTMLInputElement>("streaming-model").value.trim(),
    notifications: byId<HTMLInputElement>("notifications").checked,
    launch_at_login: byId<HTMLInputElement>("launch-at-login").checked,
  };
}

function wireSettings(): void {
  byId("settings-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = byId("settings-error");
    const status = byId("settings-status");
    const save = byId<HTMLButtonElement>("settings-save");
    error.textContent = "";
    status.textContent = "";
    if (!settingsView) {
      error.textContent = "The settings have not loaded yet.";
      return;
    }
    save.disabled = true;
    try {
      renderSettings(await setSettings(settingsFromForm(settingsView.settings)));
      status.textContent = "Saved.";
    } catch (e) {
      // `invalid_settings` names the field; the shell keeps the last good settings.
      error.textContent = errorText(e);
    } finally {
      save.disabled = false;
    }
  });

  const keyInput = byId<HTMLInputElement>("api-key");
  const storeKey = async (key: string | null) => {
    const error = byId("key-error");
    error.textContent = "";
    try {
      renderSettings(await setApiKey(key));
      keyInput.value = "";
    } catch (e) {
      error.textContent = errorText(e);
    }
  };
  byId("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = keyInput.value.trim();
    if (key === "") {
      byId("key-error").textContent = "Paste a key first, or use Remove key.";
      return;
    }
    void storeKey(key);
  });
  byId("key-remove").addEventListener("click", () => void storeKey(null));
}

// ---------------------------------------------------------------------------------------------
// Start.

async function start(): Promise<void> {
  if (!insideTauri()) {
    byId("outside").hidden = false;
    return;
  }
  byId("app").hidden = false;

  byId("incident-back").addEventListener("click", showOverview);
  const checkButton = byId<HTMLButtonElement>("check-now");
  checkButton.addEventListener("click", () =>
    runAction(checkButton, checkNow, "Checking now; the page updates when the results arrive."),
  );
  const pageButton = byId<HTMLButtonElement>("open-status-page");
  pageButton.addEventListener("click", () => runAction(pageButton, openStatusPage, ""));
  wireSettings();

  // Listen first, then ask once: a change that lands in between is not lost, and an answer that
  // arrives after a newer event does not overwrite it.
  let heardEvent = false;
  await onSnapshotChanged((snapshot) => {
    heardEvent = true;
    render(snapshot);
  });
  await onOpenIncident((id) => void openIncident(id));
  try {
    const snapshot = await getSnapshot();
    if (!heardEvent) render(snapshot);
  } catch (error) {
    byId("level").textContent = "Unavailable";
    byId("freshness").textContent = `Could not read the status: ${errorText(error)}`;
  }
  try {
    renderSettings(await getSettings());
  } catch (error) {
    byId("settings-error").textContent = `Could not read the settings: ${errorText(error)}`;
  }
  // Only the "N s ago" text moves with the clock; no IPC happens here.
  window.setInterval(renderFreshness, 1000);
}

void start();
