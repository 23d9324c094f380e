// Incidents: the active ones and the last 50 the status page listed; a detail pane with the whole
// timeline (newest first) and a link that opens the incident in the system browser. Update bodies
// are text from the internet and are only ever written as text.

import type { IncidentReport } from "../bindings/IncidentReport.ts";
import type { Snapshot } from "../bindings/Snapshot.ts";
import { el, emptyState, errorBox, errorText, setChildren, timeText } from "../dom.ts";
import { activeIncidents, humanize, newestFirst } from "../format.ts";
import { getIncident, listIncidents, openExternal } from "../ipc.ts";
import { type AppContext, Loader, type View } from "./context.ts";
import { incidentRow } from "./overview.ts";

/** How many recent incidents the list asks for. */
export const RECENT_LIMIT = 50;

/** The link to open for an incident: its shortlink, else its page on the followed status page. */
export function incidentLink(incident: IncidentReport, pageUrl: string | null | undefined): string | null {
  if (incident.shortlink) return incident.shortlink;
  if (pageUrl && /^https:\/\//.test(pageUrl)) return `${pageUrl.replace(/\/+$/, "")}/incidents/${encodeURIComponent(incident.id)}`;
  return null;
}

export function incidentsView(context: AppContext): View & { open(incident: string | IncidentReport): void } {
  const list = el("div", { class: "incident-lists", testid: "incident-list" });
  const detail = el("section", {
    class: "incident-detail",
    testid: "incident-detail",
    attrs: { "aria-labelledby": "incident-detail-name", tabindex: "-1" },
  });
  detail.hidden = true;
  let recent: IncidentReport[] | null = null;
  let recentError: unknown = null;
  let shown: IncidentReport | null = null;
  /** The row that opened the details, to return focus to on close. */
  let opener: string | null = null;

  const loader = new Loader<"recent", IncidentReport[]>(
    () => listIncidents(RECENT_LIMIT),
    (_, incidents) => {
      recent = incidents;
      recentError = null;
      drawList();
    },
    (_, error) => {
      recentError = error;
      drawList();
    },
  );

  function drawList(): void {
    const snapshot = context.snapshot();
    const active = snapshot ? activeIncidents(snapshot.status_page.incidents) : [];
    const activeIds = new Set(active.map((i) => i.id));
    const open = (incident: IncidentReport) => showDetail(incident);
    const recentBlock: Node[] = [el("h2", { text: "Recent incidents" })];
    if (recentError !== null) {
      recentBlock.push(errorBox("Could not list the incidents:", recentError, () => loader.load("recent", true, true)));
    } else if (recent === null) {
      recentBlock.push(el("p", { class: "muted", text: "Loading…" }));
    } else {
      const past = recent.filter((i) => !activeIds.has(i.id));
      recentBlock.push(
        past.length > 0
          ? el("ul", { class: "plain", testid: "recent-incidents" }, ...past.map((i) => pastRow(i, open)))
          : emptyState(`No incidents in the last ${RECENT_LIMIT} the status page lists.`, "incidents-empty"),
      );
    }
    setChildren(list, 
      el("h2", { text: "Active now" }),
      active.length > 0
        ? el("ul", { class: "plain", testid: "active-incident-list" }, ...active.map((i) => incidentRow(i, open)))
        : emptyState("No active incidents on the status page.", "active-empty"),
      ...recentBlock,
    );
  }

  function pastRow(incident: IncidentReport, open: (i: IncidentReport) => void): HTMLLIElement {
    const button = el(
      "button",
      { class: "incident-button", testid: "incident-row", attrs: { type: "button" } },
      el("span", { class: "incident-name", text: incident.name }),
      el(
        "span",
        "incident-meta muted",
        el("span", { class: `impact impact-${incident.impact}`, text: `${humanize(incident.impact)} impact` }),
        ` · ${humanize(incident.status)} · `,
        timeText(incident.created_at),
      ),
    );
    button.dataset.incidentId = incident.id;
    button.addEventListener("click", () => open(incident));
    return el("li", {}, button);
  }

  function showDetail(incident: IncidentReport, focus = true): void {
    const active = document.activeElement;
    if (focus && active instanceof HTMLElement && active.dataset.incidentId) opener = active.dataset.incidentId;
    shown = incident;
    const snapshot = context.snapshot();
    const link = incidentLink(incident, snapshot?.status_page.page.url);
    const back = el("button", { class: "secondary small", text: "← Back to the list", testid: "incident-back", attrs: { type: "button" } });
    back.addEventListener("click", closeDetail);
    const linkError = el("div", { testid: "incident-link-error" });
    const actions = el("div", "actions", back);
    if (link) {
      const open = el("button", {
        class: "secondary small",
        text: "Open on the status page ↗",
        testid: "incident-link",
        attrs: { type: "button", title: link },
      });
      open.dataset.url = link;
      open.addEventListener("click", () => {
        setChildren(linkError, );
        openExternal(link).catch((error: unknown) => setChildren(linkError, errorBox("Could not open the link:", error)));
      });
      actions.append(open);
    }
    const facts = el(
      "dl",
      { class: "facts", testid: "incident-facts" },
      el("dt", { text: "Impact" }),
      el("dd", {}, el("span", { class: `impact impact-${incident.impact}`, text: humanize(incident.impact) })),
      el("dt", { text: "Status" }),
      el("dd", { text: humanize(incident.status), testid: "incident-status" }),
      el("dt", { text: "Started" }),
      el("dd", {}, timeText(incident.created_at)),
      incident.resolved_at ? el("dt", { text: "Resolved" }) : null,
      incident.resolved_at ? el("dd", {}, timeText(incident.resolved_at)) : null,
      el("dt", { text: "Affects" }),
      el("dd", { text: incident.components.length > 0 ? incident.components.join(", ") : "no component listed", testid: "incident-components" }),
    );
    const updates = newestFirst(incident.updates);
    setChildren(detail, 
      actions,
      el("h2", { class: "incident-title", text: incident.name, attrs: { id: "incident-detail-name" } }),
      facts,
      linkError,
      el("h3", { text: `Updates (${updates.length}), newest first` }),
      updates.length > 0
        ? el(
            "ol",
            { class: "updates", testid: "incident-updates" },
            ...updates.map((update) =>
              el(
                "li",
                { testid: "incident-update" },
                el("div", "update-head", el("span", { class: "update-status", text: humanize(update.status) }), " · ", timeText(update.created_at)),
                // Text from the internet: textContent only, never parsed.
                el("div", { class: "update-body", text: update.body }),
              ),
            ),
          )
        : emptyState("No updates posted.", "updates-empty"),
    );
    detail.dataset.incidentId = incident.id;
    list.hidden = true;
    detail.hidden = false;
    if (focus) back.focus();
  }

  function closeDetail(): void {
    if (detail.hidden) return;
    shown = null;
    detail.hidden = true;
    list.hidden = false;
    const row = opener ? list.querySelector<HTMLElement>(`[data-incident-id="${CSS.escape(opener)}"]`) : null;
    opener = null;
    if (row) row.focus();
    else context.selectTab("incidents", true);
  }

  /** Opens by id: from the snapshot, the recent list, else the shell's history. */
  async function openById(id: string): Promise<void> {
    const known =
      context.snapshot()?.status_page.incidents.find((i) => i.id === id) ?? recent?.find((i) => i.id === id);
    if (known) {
      showDetail(known);
      return;
    }
    try {
      const incident = await getIncident(id);
      if (incident) showDetail(incident);
      else showMissing(`The incident “${id}” is no longer known.`);
    } catch (error) {
      showMissing(`Could not load the incident: ${errorText(error)}`, error);
    }
  }

  function showMissing(text: string, error?: unknown): void {
    const back = el("button", { class: "secondary small", text: "← Back to the list", testid: "incident-back", attrs: { type: "button" } });
    back.addEventListener("click", closeDetail);
    setChildren(detail, el("div", "actions", back), error === undefined ? emptyState(text, "incident-missing") : errorBox("Could not load the incident:", error));
    list.hidden = true;
    detail.hidden = false;
    back.focus();
  }

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !detail.hidden && context.visible("incidents")) {
      event.preventDefault();
      closeDetail();
    }
  });

  return {
    name: "incidents",
    mount(panel) {
      panel.append(list, detail);
      drawList();
    },
    shown() {
      drawList();
      loader.load("recent", true);
    },
    snapshot(snapshot: Snapshot, visible: boolean) {
      drawList();
      // An open detail pane follows the incident's new updates.
      if (shown) {
        const fresh = snapshot.status_page.incidents.find((i) => i.id === shown?.id);
        if (fresh) {
          // Keep the keyboard focus on the same control across the redraw.
          const focused = detail.contains(document.activeElement) ? (document.activeElement as HTMLElement).dataset.testid : undefined;
          showDetail(fresh, false);
          if (focused) detail.querySelector<HTMLElement>(`[data-testid="${focused}"]`)?.focus();
        }
      }
      if (visible) loader.load("recent", true);
    },
    open(incident) {
      if (typeof incident === "string") void openById(incident);
      else showDetail(incident);
    },
  };
}
