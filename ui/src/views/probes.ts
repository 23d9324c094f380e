// Probes: what our own probes measured over 1 h, 24 h or 7 d: uptime, latency and time to first
// token, 529 and 429 rates, with the status page's incident periods drawn as bands. A selector
// picks the API-wide reachability probes or one followed model's streaming probes.

import type { HistoryReport } from "../bindings/HistoryReport.ts";
import type { ProbeSeries } from "../bindings/ProbeSeries.ts";
import { chart, type ChartBand } from "../chart.ts";
import { el, emptyState, errorBox, setChildren } from "../dom.ts";
import { count, duration, durationOf, parseTime, percent } from "../format.ts";
import { getHistory, getProbeSeries, type HistoryRange } from "../ipc.ts";
import { seriesSummary } from "../models.ts";
import { type AppContext, Loader, type View } from "./context.ts";

const RANGES: ReadonlyArray<[HistoryRange, string]> = [
  ["1h", "1 hour"],
  ["24h", "24 hours"],
  ["7d", "7 days"],
];

interface ProbeData {
  series: ProbeSeries | { error: unknown };
  history: HistoryReport | { error: unknown };
}

/** The selector's value for the API-wide reachability probes. */
const API = "";

/** What the loader fetches: a range and the model ("" for the API-wide probes). */
type ProbeKey = `${HistoryRange}|${string}`;

const keyOf = (range: HistoryRange, model: string): ProbeKey => `${range}|${model}`;

function splitKey(key: ProbeKey): [HistoryRange, string] {
  const bar = key.indexOf("|");
  return [key.slice(0, bar) as HistoryRange, key.slice(bar + 1)];
}

const failed = (value: object): value is { error: unknown } => "error" in value;

/** The incident periods of a history report as chart bands (those without a start are dropped). */
export function incidentBands(history: HistoryReport): ChartBand[] {
  const bands: ChartBand[] = [];
  for (const incident of history.incidents) {
    const start = parseTime(incident.created_at);
    if (!start) continue;
    bands.push({ start: start.getTime(), end: parseTime(incident.resolved_at)?.getTime() ?? null, label: incident.name });
  }
  return bands;
}

const ms = (value: number) => (value === 0 ? "0" : duration(value));
const whole = (value: number) => count(value);

export function probesView(context: AppContext): View {
  let range: HistoryRange = "24h";
  let model = API;
  const rangeButtons = new Map<HistoryRange, HTMLButtonElement>();
  const body = el("div", { class: "probe-body", testid: "probe-body" }, el("p", { class: "muted", text: "Loading…" }));
  const modelSelect = el("select", { testid: "probe-model", attrs: { id: "probe-model" } });
  /** The options drawn last, so a snapshot that changes nothing leaves the select alone. */
  let optionKey = "";

  const loader = new Loader<ProbeKey, ProbeData>(
    async (key) => {
      const [keyRange, keyModel] = splitKey(key);
      // Both at once; one failing does not hide the other. The history (summary, incident
      // periods) is API-wide; the series is the chosen probes'.
      const [series, history] = await Promise.all([
        getProbeSeries(keyRange, keyModel || null).catch((error: unknown) => ({ error })),
        getHistory(keyRange).catch((error: unknown) => ({ error })),
      ]);
      return { series, history };
    },
    (key, data) => draw(data, splitKey(key)[1]),
    (key, error) => setChildren(body, errorBox("Could not read the probe history:", error, () => loader.load(key, true, true))),
  );

  /** The API-wide probes, then each followed model of the snapshot; the chosen one is always kept. */
  function fillModels(): void {
    const followed = (context.snapshot()?.models ?? []).filter((m) => m.followed);
    const choices: Array<[string, string]> = [[API, "API (reachability)"], ...followed.map((m): [string, string] => [m.model, `${m.display_name} (${m.model})`])];
    if (!choices.some(([value]) => value === model)) choices.push([model, `${model} (not followed now)`]);
    const key = JSON.stringify(choices);
    if (key === optionKey) return;
    optionKey = key;
    setChildren(modelSelect, ...choices.map(([value, label]) => el("option", { text: label, attrs: { value } })));
    modelSelect.value = model;
  }

  const settingsOff = () => context.settings()?.settings.streaming_probe === false;

  function stat(label: string, value: string, testid: string): HTMLElement {
    return el("div", { class: "stat", testid }, el("span", { class: "stat-value", text: value }), el("span", { class: "stat-label", text: label }));
  }

  function draw(data: ProbeData, drawnModel: string): void {
    const retry = () => loader.load(keyOf(range, model), true, true);
    const parts: Node[] = [];
    const history = failed(data.history) ? null : data.history;
    if (failed(data.history)) parts.push(errorBox("Could not read the summary:", data.history.error, retry));
    if (drawnModel !== API && !failed(data.series)) {
      // The history's figures are the API-wide probes'; a model's come from its own series.
      const summary = seriesSummary(data.series);
      parts.push(
        el(
          "div",
          { class: "stats", testid: "probe-stats" },
          stat("answered", percent(summary.uptimePercent), "stat-uptime"),
          stat("529 overloaded", percent(summary.rate529Percent), "stat-529"),
          stat("429 rate limited", percent(summary.rate429Percent), "stat-429"),
          stat("probes", count(summary.probes), "stat-probes"),
        ),
      );
    } else if (history && drawnModel === API) {
      parts.push(
        el(
          "div",
          { class: "stats", testid: "probe-stats" },
          stat("uptime", percent(history.uptime_percent), "stat-uptime"),
          stat("latency p50 / p95", `${durationOf(history.latency_p50_ms)} / ${durationOf(history.latency_p95_ms)}`, "stat-latency"),
          stat("first token p50 / p95", `${durationOf(history.ttft_p50_ms)} / ${durationOf(history.ttft_p95_ms)}`, "stat-ttft"),
          stat("529 overloaded", percent(history.rate_529_percent), "stat-529"),
          stat("429 rate limited", percent(history.rate_429_percent), "stat-429"),
          stat("probes", count(history.probes), "stat-probes"),
        ),
      );
      if (history.downtime.length > 0) {
        parts.push(
          el("p", {
            class: "muted",
            testid: "downtime",
            text: `${history.downtime.length} stretch${history.downtime.length === 1 ? "" : "es"} of failing probes (${count(
              history.downtime.reduce((sum, run) => sum + run.failures, 0),
            )} failures).`,
          }),
        );
      }
    }
    if (failed(data.series)) {
      parts.push(errorBox("Could not read the probe series:", data.series.error, retry));
      setChildren(body, ...parts);
      return;
    }
    const series = data.series;
    const from = parseTime(series.from)?.getTime() ?? 0;
    const to = parseTime(series.to)?.getTime() ?? 0;
    const probes = series.buckets.reduce((sum, b) => sum + b.probes, 0);
    if (probes === 0) {
      const empty =
        drawnModel === API
          ? "No probe data yet: the first probe runs within a minute."
          : settingsOff()
            ? "No probe of this model in this range: the streaming probe is off (Settings)."
            : "No probe of this model in this range yet (the per-model probe needs an API key).";
      setChildren(body, ...parts.filter((p) => !(p instanceof HTMLElement && p.dataset.testid === "probe-stats")), emptyState(empty, "probes-empty"));
      return;
    }
    const bands = history ? incidentBands(history) : [];
    const settings = context.settings()?.settings;
    const common = { fromMs: from, toMs: to, bucketMs: series.bucket_seconds * 1000, bands };
    parts.push(
      chart({
        ...common,
        testid: "chart-latency",
        title: "Latency",
        kind: "line",
        series: [
          { name: "p50", className: "series-1", values: series.buckets.map((b) => b.latency_p50_ms) },
          { name: "max", className: "series-2", values: series.buckets.map((b) => b.latency_max_ms) },
        ],
        format: ms,
        floor: 500,
        ...(settings ? { threshold: { value: settings.latency_threshold_ms, label: `slow above ${duration(settings.latency_threshold_ms)}` } } : {}),
      }),
    );
    const ttft = series.buckets.map((b) => b.ttft_p50_ms);
    parts.push(
      ttft.some((v) => v !== null)
        ? chart({
            ...common,
            testid: "chart-ttft",
            title: "Time to first token",
            kind: "line",
            series: [{ name: "p50", className: "series-3", values: ttft }],
            format: ms,
            floor: 500,
            ...(settings ? { threshold: { value: settings.ttft_threshold_ms, label: `degraded above ${duration(settings.ttft_threshold_ms)}` } } : {}),
          })
        : emptyState(
            settings?.streaming_probe === false
              ? "No time-to-first-token data: the streaming probe is off (Settings)."
              : drawnModel === API
                ? "No time-to-first-token data for the API-wide probes in this range: choose a model above for its streaming probes."
                : "No time-to-first-token data in this range yet.",
            "ttft-empty",
          ),
    );
    parts.push(
      chart({
        ...common,
        testid: "chart-errors",
        title: "Overloaded (529) and rate limited (429) probes",
        kind: "bars",
        series: [
          { name: "529", className: "series-529", values: series.buckets.map((b) => b.overloaded) },
          { name: "429", className: "series-429", values: series.buckets.map((b) => b.rate_limited) },
        ],
        format: whole,
        floor: 4,
      }),
    );
    if (history && history.incidents.length > 0) {
      parts.push(el("p", { class: "muted small-print", text: `Shaded: the periods of ${history.incidents.length} status-page incident${history.incidents.length === 1 ? "" : "s"} in this window.` }));
    }
    setChildren(body, ...parts);
  }

  function choose(next: HistoryRange): void {
    range = next;
    for (const [key, button] of rangeButtons) button.setAttribute("aria-pressed", String(key === next));
    setChildren(body, el("p", { class: "muted", text: "Loading…" }));
    loader.load(keyOf(range, model), true, true);
  }

  function chooseModel(next: string): void {
    model = next;
    setChildren(body, el("p", { class: "muted", text: "Loading…" }));
    loader.load(keyOf(range, model), true, true);
  }

  return {
    name: "probes",
    mount(panel) {
      const group = el("div", { class: "segmented", testid: "range", attrs: { role: "group", "aria-label": "Time range" } });
      for (const [key, label] of RANGES) {
        const button = el("button", { text: key, testid: `range-${key}`, attrs: { type: "button", "aria-label": label, "aria-pressed": String(key === range) } });
        button.addEventListener("click", () => choose(key));
        rangeButtons.set(key, button);
        group.append(button);
      }
      modelSelect.addEventListener("change", () => chooseModel(modelSelect.value));
      fillModels();
      const picker = el(
        "div",
        "probe-controls",
        el("div", "field inline", el("label", { text: "Probes of", attrs: { for: "probe-model" } }), modelSelect),
        group,
      );
      panel.append(picker, body);
    },
    shown() {
      fillModels();
      loader.load(keyOf(range, model), true);
    },
    snapshot(_, visible) {
      fillModels();
      if (visible) loader.load(keyOf(range, model), true);
    },
  };
}
