// Probes: what our own probes measured over 1 h, 24 h or 7 d: uptime, latency and time to first
// token, 529 and 429 rates, with the status page's incident periods drawn as bands.

import type { HistoryReport } from "../bindings/HistoryReport.ts";
import type { ProbeSeries } from "../bindings/ProbeSeries.ts";
import { chart, type ChartBand } from "../chart.ts";
import { el, emptyState, errorBox, setChildren } from "../dom.ts";
import { count, duration, durationOf, parseTime, percent } from "../format.ts";
import { getHistory, getProbeSeries, type HistoryRange } from "../ipc.ts";
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
  const rangeButtons = new Map<HistoryRange, HTMLButtonElement>();
  const body = el("div", { class: "probe-body", testid: "probe-body" }, el("p", { class: "muted", text: "Loading…" }));

  const loader = new Loader<HistoryRange, ProbeData>(
    async (key) => {
      // Both at once; one failing does not hide the other.
      const [series, history] = await Promise.all([
        getProbeSeries(key).catch((error: unknown) => ({ error })),
        getHistory(key).catch((error: unknown) => ({ error })),
      ]);
      return { series, history };
    },
    (_, data) => draw(data),
    (key, error) => setChildren(body, errorBox("Could not read the probe history:", error, () => loader.load(key, true, true))),
  );

  function stat(label: string, value: string, testid: string): HTMLElement {
    return el("div", { class: "stat", testid }, el("span", { class: "stat-value", text: value }), el("span", { class: "stat-label", text: label }));
  }

  function draw(data: ProbeData): void {
    const retry = () => loader.load(range, true, true);
    const parts: Node[] = [];
    const history = failed(data.history) ? null : data.history;
    if (failed(data.history)) parts.push(errorBox("Could not read the summary:", data.history.error, retry));
    if (history) {
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
      setChildren(body, ...parts.filter((p) => !(p instanceof HTMLElement && p.dataset.testid === "probe-stats")), emptyState("No probe data yet: the first probe runs within a minute.", "probes-empty"));
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
    loader.load(next, true, true);
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
      panel.append(group, body);
    },
    shown() {
      loader.load(range, true);
    },
    snapshot(_, visible) {
      if (visible) loader.load(range, true);
    },
  };
}
