// The Budget view's Gateway section: the local gateway's state (off, could not start, starting,
// running), the ANTHROPIC_BASE_URL line to copy, its counters, the last 15 minutes of traffic
// through it (a chart and a table), this month's fallbacks by target with their cost (the models
// another provider serves now first), and the retries and fallbacks it made.
//
// It asks `get_gateway` when the Budget tab opens, then again on each `snapshot-changed` while the
// tab is on screen, like the rest of the page. It does not poll (no timer): every request the
// gateway meters changes the usage tracker, which changes the snapshot and emits `snapshot-changed`,
// and every probe emits it too, so the minutes move on their own. While another tab is shown, it makes
// no call.

import type { GatewayMinute } from "../bindings/GatewayMinute.ts";
import type { GatewayReport } from "../bindings/GatewayReport.ts";
import type { ResilienceEvent } from "../bindings/ResilienceEvent.ts";
import { chart } from "../chart.ts";
import { copyLine, el, emptyState, errorBox, section, setChildren } from "../dom.ts";
import { count, localTime, parseTime } from "../format.ts";
import {
  baseUrlLine,
  chainLeavesClaude,
  clockTime,
  eventLine,
  eventsEmptyText,
  fallbackAfterSentence,
  fallbackTotalRows,
  gatewayCounters,
  gatewayState,
  gatewayStateText,
  meteringWarnings,
  minuteBuckets,
  minuteRows,
  providerCostText,
  resilienceText,
  servedElsewhereLines,
} from "../gateway.ts";
import { getGateway } from "../ipc.ts";
import type { AppContext } from "./context.ts";

export interface GatewayPanel {
  readonly element: HTMLElement;
  /** The Budget tab opened: fetch now. */
  shown(): void;
  /** A new snapshot arrived: fetch again if the tab is on screen. */
  snapshot(visible: boolean): void;
}

function counters(report: GatewayReport): HTMLElement | null {
  if (!report.stats) return null;
  return el(
    "div",
    { class: "stats", testid: "gateway-counters" },
    ...gatewayCounters(report.stats).map((counter) => {
      const stat = el(
        "div",
        { class: "stat", testid: `gateway-counter-${counter.key}` },
        el("span", { class: "stat-value", text: count(counter.value) }),
        el("span", { class: "stat-label", text: counter.label }),
      );
      stat.dataset.value = String(counter.value);
      return stat;
    }),
  );
}

function minutesChart(minutes: readonly GatewayMinute[]): HTMLElement | null {
  const range = minuteBuckets(minutes);
  if (!range) return null;
  const values = (pick: (m: GatewayMinute) => number) => range.buckets.map((m) => (m ? pick(m) : null));
  return chart({
    testid: "chart-gateway",
    title: "Requests per minute",
    kind: "bars",
    fromMs: range.fromMs,
    toMs: range.toMs,
    bucketMs: 60_000,
    series: [
      { name: "ok", className: "series-ok", values: values((m) => m.ok) },
      { name: "529", className: "series-529", values: values((m) => m.overloaded) },
      { name: "429", className: "series-429", values: values((m) => m.rate_limited) },
      { name: "5xx", className: "series-5xx", values: values((m) => m.server_errors) },
      { name: "other 4xx", className: "series-4xx", values: values((m) => m.client_errors) },
    ],
    bands: [],
    format: count,
    floor: 4,
  });
}

function minutesTable(minutes: readonly GatewayMinute[]): HTMLElement {
  const head = ["Minute", "Requests", "529 / 429 / 5xx", "Tokens in / out", "Latency / TTFT (p50)"];
  const rows = minuteRows(minutes).map((row) => {
    const tr = el(
      "tr",
      { testid: "gateway-minute" },
      el("th", { text: row.label, attrs: { scope: "row" } }),
      el("td", { text: row.requests }),
      el("td", { class: row.troubled ? "nowrap troubled" : "nowrap", text: row.errors }),
      el("td", { text: row.tokens }),
      // "950 ms / 410 ms" may wrap at the slash in a narrow window, never between a number and its unit.
      el("td", { text: row.timing.replace(/(\d) (m?s)\b/g, "$1\u00a0$2") }),
    );
    tr.dataset.start = row.start;
    if (row.current) tr.dataset.current = "true";
    return tr;
  });
  return el(
    "table",
    { class: "data-table", testid: "gateway-minutes" },
    el("caption", { text: "Minute by minute, newest first; minutes without requests are left out." }),
    el("thead", {}, el("tr", {}, ...head.map((text) => el("th", { text, attrs: { scope: "col" } })))),
    el("tbody", {}, ...rows),
  );
}

function eventItem(event: ResilienceEvent, now: Date): HTMLElement {
  const line = eventLine(event);
  const at = parseTime(event.at);
  const time = el("time", { class: "event-time", text: at ? clockTime(at, now) : "—" });
  if (at) {
    time.dateTime = at.toISOString();
    time.title = localTime(at);
  }
  const item = el(
    "li",
    { testid: "gateway-event" },
    el(
      "div",
      "event-head",
      time,
      el("strong", { class: "event-kind", text: line.kind }),
      el("span", { class: "event-detail", text: line.detail }),
    ),
    line.reason ? el("div", { class: "muted event-reason", testid: "gateway-event-reason", text: line.reason }) : null,
    line.request ? el("div", { class: "muted request-id", testid: "gateway-event-request", text: line.request }) : null,
  );
  item.dataset.kind = event.kind;
  if (event.provider) {
    item.dataset.target = event.provider.target;
    item.dataset.served = String(event.provider.served);
  }
  return item;
}

/**
 * This month's fallbacks by target with their cost, after the models another provider serves
 * now and when the chain leaves Claude; nothing when no chain is set and nothing fell back.
 */
function fallbacks(report: GatewayReport): HTMLElement[] {
  const leaves = chainLeavesClaude(report.fallback);
  if (report.fallback.length === 0 && report.fallback_totals.length === 0 && report.served_elsewhere.length === 0) return [];
  const now = new Date();
  const out: HTMLElement[] = [el("h3", { text: "Fallbacks this month" })];
  const elsewhere = servedElsewhereLines(report.served_elsewhere, report.events, now);
  if (elsewhere.length > 0) {
    out.push(
      el(
        "div",
        { class: "warning served-elsewhere", testid: "gateway-served-elsewhere" },
        el("p", { text: "Served by another provider now:" }),
        el(
          "ul",
          { class: "plain" },
          ...elsewhere.map((line) => {
            const item = el("li", { testid: "gateway-served-elsewhere-item", text: line.text });
            item.dataset.model = line.model;
            item.dataset.target = line.target;
            return item;
          }),
        ),
      ),
    );
  }
  if (leaves) {
    const after = el("p", { class: "muted", testid: "gateway-fallback-after", text: fallbackAfterSentence(report.fallback_after_secs) });
    after.dataset.secs = String(report.fallback_after_secs);
    out.push(after);
  }
  const cost = providerCostText(report.fallback_totals);
  if (cost) out.push(el("p", { testid: "gateway-provider-cost", text: cost }));
  if (report.fallback_totals.length === 0) {
    out.push(emptyState("No fallbacks this month (UTC): every request was answered by the model it asked for.", "gateway-fallback-totals-empty"));
    return out;
  }
  const head = ["Target", "Requests", "Served", "Not translated", "Tokens in / out", "Cost", "Latency (p50)", "Last"];
  const rows = fallbackTotalRows(report.fallback_totals, now).map((row) => {
    const tr = el(
      "tr",
      { testid: "gateway-fallback-total" },
      el("th", { class: "target", text: row.target, attrs: { scope: "row" } }),
      el("td", { text: row.requests }),
      el("td", { text: row.served }),
      el("td", { class: row.notTranslated !== "0" && row.notTranslated !== "—" ? "troubled" : "", text: row.notTranslated }),
      el("td", { text: row.tokens }),
      el("td", { class: "nowrap", testid: "gateway-fallback-cost", text: row.cost }),
      el("td", { class: "nowrap", text: row.latency }),
      el("td", { class: "nowrap", text: row.last }),
    );
    tr.dataset.target = row.target;
    tr.dataset.provider = String(row.provider);
    return tr;
  });
  const table = el(
    "table",
    { class: "data-table", testid: "gateway-fallback-totals" },
    el("caption", {
      text: "By target, this UTC month, the most used first. Another Claude model's tokens and cost are counted with your Claude traffic; other providers' at their list prices.",
    }),
    el("thead", {}, el("tr", {}, ...head.map((text) => el("th", { text, attrs: { scope: "col" } })))),
    el("tbody", {}, ...rows),
  );
  // Eight columns do not fit a narrow window: the table scrolls on its own, never the page.
  out.push(el("div", "table-scroll", table));
  return out;
}

function events(report: GatewayReport): HTMLElement[] {
  if (report.events.length === 0) {
    return [emptyState(eventsEmptyText(report.retry, report.fallback), "gateway-events-empty")];
  }
  const now = new Date();
  return [
    el("p", { class: "muted", testid: "gateway-resilience", text: resilienceText(report.retry, report.fallback) }),
    el(
      "ol",
      { class: "plain gateway-events", testid: "gateway-events", attrs: { "aria-label": "Retries and fallbacks, newest first" } },
      ...report.events.map((event) => eventItem(event, now)),
    ),
  ];
}

export function gatewayPanel(context: AppContext): GatewayPanel {
  // The state line stays in place and changes only with the state, so the live region speaks
  // when the gateway starts, stops or fails, not on every refresh.
  const stateLine = el("p", { class: "gateway-state", testid: "gateway-state", attrs: { role: "status" } });
  const body = el("div", { class: "gateway-body", testid: "gateway-body" }, el("p", { class: "muted", text: "Loading…" }));
  const element = section("Gateway", "gateway-panel", stateLine, body);
  let inFlight = false;
  let again = false;
  /** The report on screen, so an unchanged answer does not redraw (and lose the chart's focus). */
  let drawn: string | null = null;

  const openSettings = () => {
    const button = el("button", { class: "secondary small", text: "Open Settings", testid: "gateway-open-settings", attrs: { type: "button" } });
    button.addEventListener("click", () => context.selectTab("settings", true));
    return el("div", "actions", button);
  };

  function setState(text: string, state: string): void {
    if (stateLine.textContent !== text) stateLine.textContent = text;
    stateLine.className = state === "error" ? "gateway-state error" : "gateway-state";
    element.dataset.state = state;
  }

  function draw(report: GatewayReport): void {
    const json = JSON.stringify(report);
    if (json === drawn) return;
    drawn = json;
    const state = gatewayState(report);
    setState(gatewayStateText(report), state);
    if (state === "off" || state === "error") {
      setChildren(body, openSettings());
      return;
    }
    if (state === "starting") {
      setChildren(body);
      return;
    }
    const busy = report.minutes.some((m) => m.requests > 0);
    setChildren(
      body,
      report.url ? copyLine(baseUrlLine(report.url), "gateway-line") : null,
      ...(report.stats ? meteringWarnings(report.stats) : []).map((text) => el("p", { class: "warning", testid: "gateway-metering-warning", text })),
      el("h3", { text: "Since it started" }),
      counters(report),
      el("h3", { text: `Last ${report.minutes.length} minutes` }),
      ...(busy
        ? [minutesChart(report.minutes), minutesTable(report.minutes)]
        : [emptyState(`No requests through the gateway in the last ${report.minutes.length || 15} minutes.`, "gateway-minutes-empty")]),
      ...fallbacks(report),
      el("h3", { text: "Retries and fallbacks" }),
      ...events(report),
    );
  }

  function fail(error: unknown): void {
    drawn = null;
    setState("", "failed");
    setChildren(body, errorBox("Could not read the gateway:", error, () => load()));
  }

  /** Asks once; a request made while one is out is folded into one more afterwards. */
  function load(): void {
    if (inFlight) {
      again = true;
      return;
    }
    inFlight = true;
    getGateway()
      .then(draw, fail)
      .catch(fail)
      .finally(() => {
        inFlight = false;
        if (again) {
          again = false;
          if (context.visible("budget")) load();
        }
      });
  }

  return {
    element,
    shown: load,
    snapshot(visible) {
      if (visible) load();
    },
  };
}
