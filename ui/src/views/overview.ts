// Overview: what is wrong and since when, does it hit me, what our probes see next to what the
// status page says (and who saw it first), active incidents, components.

import type { ComponentReport } from "../bindings/ComponentReport.ts";
import type { HistoryReport } from "../bindings/HistoryReport.ts";
import type { IncidentReport } from "../bindings/IncidentReport.ts";
import type { LeadTimeReport } from "../bindings/LeadTimeReport.ts";
import type { Snapshot } from "../bindings/Snapshot.ts";
import { hitsYou, leadSentence, probesVersusPage } from "../assess.ts";
import { appendChildren, el, emptyState, errorBox, section, setChildren, timeText } from "../dom.ts";
import {
  activeIncidents,
  componentSymbol,
  duration,
  humanize,
  probeLine,
  spanText,
  troubledComponents,
} from "../format.ts";
import { getHistory, openStatusPage } from "../ipc.ts";
import { type AppContext, Loader, type View } from "./context.ts";

export function incidentRow(
  incident: IncidentReport,
  open: (i: IncidentReport) => void,
  lead?: LeadTimeReport,
): HTMLLIElement {
  const button = el(
    "button",
    { class: "incident-button", testid: "incident-row", attrs: { type: "button" } },
    el("span", { class: "incident-name", text: incident.name }),
    el(
      "span",
      "incident-meta muted",
      el("span", { class: `impact impact-${incident.impact}`, text: `${humanize(incident.impact)} impact` }),
      ` · ${humanize(incident.status)} · since `,
      timeText(incident.created_at),
    ),
  );
  button.dataset.incidentId = incident.id;
  button.addEventListener("click", () => open(incident));
  return el("li", {}, button, lead ? el("p", { class: "lead", testid: "incident-lead", text: leadSentence(lead) }) : null);
}

function componentItem(component: ComponentReport): HTMLLIElement {
  const item = el(
    "li",
    { class: "component", testid: "component" },
    el("span", { class: `symbol status-${component.status}`, text: componentSymbol(component.status), attrs: { "aria-hidden": "true" } }),
    el("span", { class: "component-name", text: component.group ? `${component.group}: ${component.name}` : component.name }),
    component.followed ? el("span", { class: "tag", text: "followed" }) : null,
    el("span", { class: "status-tag", text: humanize(component.status) }),
  );
  item.dataset.status = component.status;
  return item;
}

export function overviewView(context: AppContext): View {
  let panel: HTMLElement;
  const hits = el("p", { class: "answer", testid: "hits-you", attrs: { role: "status" } });
  const reasons = el("ul", { class: "reasons", testid: "reasons" });
  const probeCard = el("div", { class: "card", testid: "probe-card" });
  const pageCard = el("div", { class: "card", testid: "page-card" });
  const comparison = el("p", { class: "answer", testid: "comparison" });
  const leads = el("div", { class: "leads", testid: "lead-times" });
  const incidents = el("div", { testid: "active-incidents" });
  const maintenances = el("div", { testid: "maintenances" });
  const components = el("div", { testid: "components" });
  let history: HistoryReport | null = null;
  let historyError: unknown = null;

  const loader = new Loader<"24h", HistoryReport>(
    (range) => getHistory(range),
    (_, report) => {
      history = report;
      historyError = null;
      drawLeads();
      const snapshot = context.snapshot();
      if (snapshot) draw(snapshot);
    },
    (_, error) => {
      historyError = error;
      drawLeads();
    },
  );

  function drawLeads(): void {
    const heading = el("h3", { text: "Who saw it first (24 h)" });
    if (historyError !== null) {
      setChildren(leads, heading, errorBox("Could not read the history:", historyError, () => loader.load("24h", context.visible("overview"), true)));
      return;
    }
    if (!history) {
      setChildren(leads, heading, el("p", { class: "muted", text: "Loading…" }));
      return;
    }
    const list = history.lead_times.slice(0, 3).map((lead) => el("li", { testid: "lead-time", text: leadSentence(lead) }));
    const median =
      history.median_lead_seconds === null || history.lead_times.length < 2
        ? null
        : el("p", {
            class: "muted",
            text:
              history.median_lead_seconds >= 0
                ? `Median over ${history.lead_times.length} incidents: our probes were ${spanText(history.median_lead_seconds)} ahead.`
                : `Median over ${history.lead_times.length} incidents: the status page was ${spanText(history.median_lead_seconds)} ahead.`,
          });
    setChildren(leads, 
      heading,
      list.length > 0
        ? el("ul", "plain-list", ...list)
        : emptyState("No incident was reported in the last 24 h, so there is no lead time to compare.", "lead-times-empty"),
      median,
    );
  }

  function draw(snapshot: Snapshot): void {
    setChildren(reasons, ...snapshot.reasons.map((reason) => el("li", { text: reason })));
    reasons.hidden = snapshot.reasons.length === 0;

    const answer = hitsYou(snapshot);
    hits.dataset.tone = answer.tone;
    setChildren(hits, el("strong", { text: "Does it hit you? " }), answer.text);

    const probe = snapshot.probe;
    setChildren(probeCard, el("h3", { text: "Our probes" }));
    if (probe) {
      appendChildren(probeCard, 
        el("p", { class: `probe-outcome outcome-${probe.outcome}`, text: probeLine(probe), testid: "probe-line" }),
        probe.detail ? el("p", { class: "muted", text: probe.detail }) : null,
        probe.streaming
          ? el(
              "p",
              { class: "muted" },
              `Streaming: ${humanize(probe.streaming.outcome)}`,
              probe.streaming.ttft_ms !== null ? ` · first token ${duration(probe.streaming.ttft_ms)}` : "",
            )
          : null,
        el("p", { class: "when", testid: "probe-at" }, "Last probe ", timeText(probe.at)),
      );
    } else {
      appendChildren(probeCard, emptyState("No probe has run yet: the first one runs within a minute.", "probe-empty"));
    }

    const page = snapshot.status_page;
    setChildren(pageCard, 
      el("h3", { text: "Status page" }),
      page.fetched_at
        ? el("p", { class: "page-description", testid: "page-description", text: page.description || humanize(page.indicator) })
        : emptyState("Not read yet: the first fetch runs within a minute.", "page-empty"),
      page.fetched_at ? el("p", { class: "when", testid: "page-fetched" }, "Fetched ", timeText(page.fetched_at)) : null,
      page.error ? el("p", { class: "error", testid: "page-error", text: `Last fetch failed: ${page.error}` }) : null,
    );

    const compare = probesVersusPage(snapshot);
    comparison.dataset.tone = compare.tone;
    comparison.textContent = compare.text;

    const active = activeIncidents(page.incidents);
    setChildren(incidents, 
      el("h2", { text: `Active incidents${active.length ? ` (${active.length})` : ""}` }),
      active.length > 0
        ? el("ul", "plain", ...active.map((i) =>
            incidentRow(i, (x) => context.openIncident(x), history?.lead_times.find((l) => l.incident_id === i.id)),
          ))
        : emptyState("No active incidents on the status page.", "incidents-empty"),
    );

    const upcoming = page.maintenances.filter((m) => m.status !== "completed");
    maintenances.hidden = upcoming.length === 0;
    setChildren(maintenances, 
      el("h2", { text: "Maintenance" }),
      el(
        "ul",
        "plain",
        ...upcoming.map((m) =>
          el("li", { testid: "maintenance" }, el("span", { text: `${m.name} · ${humanize(m.status)} · ` }), timeText(m.scheduled_for)),
        ),
      ),
    );

    const troubled = troubledComponents(page.components);
    const fine = page.components.filter((c) => !troubled.includes(c));
    setChildren(components, 
      el("h2", { text: "Components" }),
      page.components.length > 0
        ? el("ul", "plain components", ...[...troubled, ...fine].map(componentItem))
        : emptyState("The status page has not been read yet.", "components-empty"),
    );
  }

  return {
    name: "overview",
    mount(target) {
      panel = target;
      const pageButton = el("button", { class: "secondary", text: "Open status page", testid: "open-status-page", attrs: { type: "button" } });
      const actionError = el("p", { class: "error", attrs: { role: "alert" } });
      pageButton.addEventListener("click", () => {
        actionError.textContent = "";
        openStatusPage().catch((error: unknown) => setChildren(actionError, errorBox("Could not open the status page:", error)));
      });
      panel.append(
        reasons,
        hits,
        incidents,
        maintenances,
        section("Our probes and the status page", "versus", comparison, el("div", "cards", probeCard, pageCard), leads),
        components,
        el("div", "actions", pageButton),
        actionError,
      );
      drawLeads();
    },
    shown() {
      loader.load("24h", true);
      const snapshot = context.snapshot();
      if (snapshot) draw(snapshot);
    },
    snapshot(snapshot, isVisible) {
      draw(snapshot);
      if (isVisible) loader.load("24h", true);
    },
  };
}
