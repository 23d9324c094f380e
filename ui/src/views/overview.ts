// Overview: what is wrong and since when, does it hit me (the shell's one decision), what can see
// an overload, the models the user relies on with each one's verdict, what our probes see next to
// what the status page says (and who saw it first), active incidents, components. On the first
// launch with a key it also says what the per-model probe costs, with Keep it / Turn it off.

import type { ComponentReport } from "../bindings/ComponentReport.ts";
import type { HistoryReport } from "../bindings/HistoryReport.ts";
import type { IncidentReport } from "../bindings/IncidentReport.ts";
import type { LeadTimeReport } from "../bindings/LeadTimeReport.ts";
import type { ModelReport } from "../bindings/ModelReport.ts";
import type { Snapshot } from "../bindings/Snapshot.ts";
import { hitsYou, leadSentence, probesVersusPage } from "../assess.ts";
import { agoText, appendChildren, el, emptyState, errorBox, section, setChildren, timeText } from "../dom.ts";
import {
  activeIncidents,
  componentSymbol,
  duration,
  humanize,
  levelLabel,
  levelSymbol,
  probeLine,
  spanText,
  troubledComponents,
} from "../format.ts";
import {
  dismissProbeCostNotice,
  getHistory,
  getProbeCost,
  getSettings,
  openStatusPage,
  type ProbeCost,
  type SettingsView,
} from "../ipc.ts";
import { noProbeText, probeCostText, probeSummary, retiredText, shareText, trafficSources, trafficText } from "../models.ts";
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

/** "Overloaded" with its symbol, in the level's colour (the same as the headline's). */
function levelBadge(level: ModelReport["level"]): HTMLElement {
  const badge = el(
    "span",
    { class: "level-badge", testid: "model-level" },
    el("span", { text: levelSymbol(level), attrs: { "aria-hidden": "true" } }),
    ` ${levelLabel(level)}`,
  );
  badge.dataset.level = level;
  return badge;
}

/** One model: its name and level, the first reason, its share, last probe, own requests, retirement. */
function modelItem(model: ModelReport, subject: string | null): HTMLLIElement {
  const probe = model.last_probe;
  const traffic = model.own_traffic;
  const item = el(
    "li",
    { class: "model-row", testid: "model-row" },
    el(
      "div",
      "model-head",
      el("strong", { class: "model-name", text: model.display_name, testid: "model-name" }),
      levelBadge(model.level),
      model.pinned ? el("span", { class: "tag", text: "pinned", testid: "model-pinned" }) : null,
      model.followed ? null : el("span", { class: "tag", text: "not followed", testid: "model-not-followed" }),
      subject === model.model ? el("span", { class: "tag", text: "sets the level", testid: "model-subject" }) : null,
      el("span", { class: "model-id muted", text: model.model }),
    ),
    // A retired model's first reason is its retirement, which the line below says already.
    model.reasons[0] && !(model.retired && /^retire/.test(model.reasons[0]))
      ? el("p", { class: "model-reason", text: model.reasons[0], testid: "model-reason" })
      : null,
    model.retired
      ? el("p", { class: "warning model-reason", text: retiredText(model.retired, new Date()), testid: "model-retired" })
      : null,
    el("p", { class: "muted model-fact", text: shareText(model), testid: "model-share" }),
    probe
      ? el("p", { class: "muted model-fact", testid: "model-probe" }, `Last probe: ${probeSummary(probe)}, `, agoText(probe.at))
      : el("p", { class: "muted model-fact", text: `Last probe: ${noProbeText(model)}`, testid: "model-probe" }),
    traffic
      ? el("p", {
          class: "muted model-fact",
          text: trafficText(traffic),
          testid: "model-traffic",
          attrs: traffic.sources.length > 0 ? { title: `Seen by ${trafficSources(traffic)}` } : {},
        })
      : null,
  );
  item.dataset.model = model.model;
  item.dataset.level = model.level;
  return item;
}

/** The coverage warning's sentence, starting with a capital and ending with a full stop. */
function sentence(text: string): string {
  const trimmed = text.trim();
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

export function overviewView(context: AppContext): View {
  let panel: HTMLElement;
  const hits = el("p", { class: "answer", testid: "hits-you", attrs: { role: "status" } });
  const coverage = el("div", { testid: "coverage" });
  const historyNotice = el("div", { testid: "history-not-saved" });
  const models = el("div", { testid: "models" });
  const costNotice = el("div", { testid: "probe-cost" });
  /** The probe-cost notice: asked for once per settings that call for it, answered once. */
  let cost: ProbeCost | null = null;
  let costError: unknown = null;
  let costRequested = false;
  let costAnswered: string | null = null;
  let costBusy = false;
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

  /** Said prominently whenever nothing sees an overload as it happens, with the way to fix it. */
  function drawCoverage(snapshot: Snapshot): void {
    const warning = snapshot.coverage?.warning;
    if (!warning) {
      setChildren(coverage);
      return;
    }
    const button = el("button", {
      class: "small",
      text: "Open Settings",
      testid: "coverage-open-settings",
      attrs: { type: "button", "aria-label": "Open Settings: add an API key, or send your traffic through the gateway" },
    });
    button.addEventListener("click", () => context.selectTab("settings", true));
    setChildren(
      coverage,
      el(
        "div",
        { class: "notice-box", testid: "coverage-warning", attrs: { role: "note" } },
        el("strong", { text: sentence(warning) }),
        el("p", {
          class: "hint",
          text: "Without an API key (for the per-model probe) or the gateway, a model's overload shows here only after Claude Code gives up on a turn, minutes into a storm.",
        }),
        el("div", "actions", button),
      ),
    );
  }

  /** A full disk or a read-only data directory: monitoring goes on, but nothing is kept. */
  function drawHistoryNotice(snapshot: Snapshot): void {
    const problem = snapshot.history_not_saved;
    setChildren(
      historyNotice,
      problem
        ? el(
            "div",
            { class: "notice-box", testid: "history-not-saved-warning", attrs: { role: "note" } },
            el("strong", { text: sentence(problem) }),
            el("p", { class: "hint", text: "The levels and notifications are live; what happens now will be missing from the history and the usage tables." }),
          )
        : null,
    );
  }

  function drawModels(snapshot: Snapshot): void {
    const list = snapshot.models ?? [];
    setChildren(
      models,
      list.length > 0
        ? el("ul", { class: "plain models-list", testid: "model-list" }, ...list.map((m) => modelItem(m, snapshot.subject ?? null)))
        : emptyState(
            "No model followed yet: models appear once your requests name them, or when you pin one in Settings.",
            "models-empty",
          ),
    );
  }

  /** A followed model's name for the notice, or its id. */
  function modelName(id: string): string {
    return context.snapshot()?.models?.find((m) => m.model === id)?.display_name ?? id;
  }

  /** Asks for the probe's cost when the settings say the notice is due: probe on, a key, not shown yet. */
  function costWanted(view: SettingsView): void {
    const due = view.settings.streaming_probe && view.api_key_configured && !view.settings.probe_cost_notice_shown;
    if (!due) {
      cost = null;
      costError = null;
      costRequested = false;
      drawCost();
      return;
    }
    if (costRequested || costAnswered !== null) return;
    loadCost();
  }

  function loadCost(): void {
    costRequested = true;
    costError = null;
    getProbeCost().then(
      (answer) => {
        cost = answer;
        drawCost();
      },
      (error: unknown) => {
        costError = error;
        costRequested = false;
        drawCost();
      },
    );
  }

  async function answerCost(turnOff: boolean): Promise<void> {
    if (costBusy) return;
    costBusy = true;
    costError = null;
    drawCost();
    try {
      await dismissProbeCostNotice(turnOff);
      costAnswered = turnOff
        ? "The per-model probe is off. You can turn it on again in Settings."
        : "The per-model probe stays on.";
      cost = null;
      // The other views (Settings above all) must not keep the old values and send them back.
      getSettings().then(
        (view) => context.settingsChanged(view),
        () => undefined,
      );
    } catch (error) {
      costError = error;
    } finally {
      costBusy = false;
      drawCost();
    }
  }

  function drawCost(): void {
    if (costAnswered !== null) {
      setChildren(costNotice, el("p", { class: "status-line", text: costAnswered, testid: "probe-cost-answered", attrs: { role: "status" } }));
      return;
    }
    if (costError !== null && !cost) {
      setChildren(costNotice, errorBox("Could not read what the probe costs:", costError, () => loadCost()));
      return;
    }
    if (!cost || cost.notice_shown) {
      setChildren(costNotice);
      return;
    }
    const keep = el("button", { text: "Keep it", testid: "probe-cost-keep", attrs: { type: "button" } });
    const off = el("button", { class: "secondary", text: "Turn it off", testid: "probe-cost-off", attrs: { type: "button" } });
    keep.disabled = costBusy;
    off.disabled = costBusy;
    keep.addEventListener("click", () => void answerCost(false));
    off.addEventListener("click", () => void answerCost(true));
    setChildren(
      costNotice,
      el(
        "div",
        { class: "notice-box info", testid: "probe-cost-notice", attrs: { role: "note" } },
        el("p", { text: probeCostText(cost, modelName), testid: "probe-cost-text" }),
        el("p", {
          class: "hint",
          text: "It sends one one-token streamed request to each model you use, so an overload shows within a minute or two.",
        }),
        el("div", "actions", keep, off),
        costError !== null ? errorBox("Not answered:", costError) : null,
      ),
    );
  }

  function draw(snapshot: Snapshot): void {
    setChildren(reasons, ...snapshot.reasons.map((reason) => el("li", { text: reason })));
    reasons.hidden = snapshot.reasons.length === 0;

    const answer = hitsYou(snapshot);
    hits.dataset.tone = answer.tone;
    setChildren(hits, el("strong", { text: "Does it hit you? " }), answer.text);
    drawCoverage(snapshot);
    drawHistoryNotice(snapshot);
    drawModels(snapshot);
    drawCost();

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
        coverage,
        historyNotice,
        costNotice,
        section("Models", "models-card", models),
        incidents,
        maintenances,
        section("Our probes and the status page", "versus", comparison, el("div", "cards", probeCard, pageCard), leads),
        components,
        el("div", "actions", pageButton),
        actionError,
      );
      drawLeads();
      const settings = context.settings();
      if (settings) costWanted(settings);
    },
    settings(view) {
      costWanted(view);
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
