// Budget: the user's own usage against the tier's per-minute limits, spend against the monthly
// spend cap and the user's budgets, and the cost figures of the usage tracker (`Snapshot.usage`),
// each saying where it comes from. Without the tracker it shows the tier limits from the probe's
// rate-limit headers and a plain list of what is not measured. No number here is invented. Last,
// the local gateway's section (views/gateway.ts): its own traffic, refreshed on each snapshot while
// the tab is open. First, a subscriber's plan windows (5-hour session, weekly) with their pace and
// source; after the spend, the 5-hour blocks estimated from the transcripts, asked for when the
// tab opens; after them, the advisor's report on the gateway's traffic (views/advice.ts), with or
// without the tracker, since it reads the gateway's own records.

import type { BudgetProgress } from "../bindings/BudgetProgress.ts";
import type { ClassWindow } from "../bindings/ClassWindow.ts";
import type { CostFigure } from "../bindings/CostFigure.ts";
import type { Snapshot } from "../bindings/Snapshot.ts";
import type { TrackerSnapshot } from "../bindings/TrackerSnapshot.ts";
import { budgetRows, type BudgetRow } from "../assess.ts";
import { el, emptyState, errorBox, section, setChildren } from "../dom.ts";
import { count, localTimeOf, parseTime, percent } from "../format.ts";
import {
  cacheReadNote,
  cacheSavingsText,
  costSourcesText,
  costText,
  limitFigures,
  limitRows,
  liveText,
  ownTrafficText,
  progressText,
  spikeLineText,
  tierText,
  type LimitRow,
} from "../usage.ts";
import type { BlocksReport } from "../bindings/BlocksReport.ts";
import type { PlanWindowReport } from "../bindings/PlanWindowReport.ts";
import { getUsageBlocks } from "../ipc.ts";
import { activeBlockText, blockText, paceText, sourceText, windowText } from "../plan.ts";
import type { AppContext, View } from "./context.ts";
import { advicePanel } from "./advice.ts";
import { gatewayPanel } from "./gateway.ts";

const pad = (n: number) => String(n).padStart(2, "0");

/** "14:04:12": when a bucket is full again (local time, to the second: buckets refill fast). */
function clock(iso: string | null): string | null {
  const date = parseTime(iso);
  return date ? `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}` : null;
}

/** A meter from 0 to `max`, coloured at 50% and 80%; the label repeats the figures for screen readers. */
function meter(value: number, max: number, label: string): HTMLMeterElement {
  return el("meter", {
    attrs: {
      min: "0",
      max: String(max),
      value: String(value),
      low: String(max * 0.5),
      high: String(max * 0.8),
      optimum: "0",
      "aria-label": label,
    },
  });
}

/** One row: a label and percentage, a bar when there is a limit, and the figures under it. */
function barRow(testid: string, label: string, share: number | null, bar: HTMLMeterElement | null, ...figures: Array<Node | string | null>): HTMLLIElement {
  return el(
    "li",
    { class: "budget-row", testid },
    el("div", "budget-head", el("span", { class: "budget-label", text: label }), el("span", { class: "budget-percent", text: share === null ? "" : percent(share * 100) })),
    bar,
    ...figures.filter((f): f is Node | string => f !== null).map((f) => (typeof f === "string" ? el("div", { class: "muted budget-figures", text: f }) : f)),
  );
}

// --- Without the tracker: the probe's rate-limit headers. ----------------------------------------

function headerRow(row: BudgetRow): HTMLElement {
  const figures: string[] = [];
  if (row.used !== null && row.limit !== null) figures.push(`${count(row.used)} of ${count(row.limit)} used`);
  else if (row.limit !== null) figures.push(`limit ${count(row.limit)}`);
  if (row.remaining !== null) figures.push(`${count(row.remaining)} left`);
  const reset = clock(row.reset);
  if (reset) figures.push(`full again at ${reset}`);
  const bar = row.limit !== null && row.used !== null ? meter(row.used, row.limit, `${row.label}: ${figures.join(", ")}`) : null;
  const item = el(
    "li",
    { class: "budget-row", testid: "budget-row" },
    el("div", "budget-head", el("span", { class: "budget-label", text: row.label }), el("span", { class: "budget-percent", text: row.usedPercent === null ? "" : `${Math.round(row.usedPercent)}%` })),
    bar,
    el("div", { class: "muted budget-figures", text: figures.join(" · ") }),
  );
  item.dataset.bucket = row.key;
  return item;
}

const NOT_MEASURED = [
  "your own requests, input and output tokens per minute, per model class",
  "spend this month against the spend cap and your budget",
  "cost today",
  "cost per 1,000 requests",
  "cache savings",
];

// --- With the tracker. ---------------------------------------------------------------------------

/**
 * A cost figure with its source: "$18.42 · from Claude Code logs, also gateway" and "price unknown
 * for some models" when it is a lower bound. Nothing recorded reads as such, not as "$0".
 */
function costFigure(testid: string, label: string, cost: CostFigure): HTMLElement {
  const sources = costSourcesText(cost);
  const box = el("div", { class: "cost", testid });
  box.dataset.source = cost.source ?? "none";
  if (sources === null) {
    box.append(el("span", { class: "cost-label", text: label }), el("span", { class: "cost-value muted", text: "nothing recorded" }));
    return box;
  }
  const asOf = cost.as_of ? `, as of ${localTimeOf(cost.as_of)}` : "";
  box.append(
    el("span", { class: "cost-label", text: label }),
    el("strong", { class: "cost-value", text: costText(cost) }),
    el("span", { class: "cost-source muted", testid: "cost-source", text: `${sources}${asOf}` }),
  );
  if (cost.includes_unknown_price) {
    box.append(el("span", { class: "unknown-price", testid: "unknown-price", text: "price unknown for some models" }));
  }
  return box;
}

function limitRow(window: ClassWindow, row: LimitRow): HTMLLIElement {
  const figures = [limitFigures(row)];
  if (row.live) {
    figures.push(liveText(row.live));
    const reset = clock(row.live.reset);
    if (reset) figures.push(`full again at ${reset}`);
  }
  const bar = row.limit !== null && row.limit > 0 ? meter(row.used, row.limit, `${window.class}, ${row.label}: ${figures.join(", ")}`) : null;
  const note = row.key === "input_tokens" ? cacheReadNote(window) : null;
  const item = barRow("usage-limit", row.label, row.fraction, bar, figures.join(" · "), note);
  item.dataset.limit = row.key;
  return item;
}

/** The closest to a limit first; classes without known limits last, in the tracker's order. */
function byShare(windows: ClassWindow[]): ClassWindow[] {
  const top = (w: ClassWindow) => Math.max(...[w.requests_fraction, w.input_tokens_fraction, w.output_tokens_fraction].map((f) => f ?? -1));
  return windows
    .map((window, index) => ({ window, index, top: top(window) }))
    .sort((a, b) => b.top - a.top || a.index - b.index)
    .map(({ window }) => window);
}

function classBlock(window: ClassWindow): HTMLElement {
  const block = el(
    "div",
    { class: "usage-class", testid: "usage-class" },
    el(
      "h3",
      {},
      window.class,
      window.known_class ? null : el("span", { class: "muted", text: " (not in the catalog: no limits known)" }),
    ),
    el("ul", { class: "plain budget-rows" }, ...limitRows(window).map((row) => limitRow(window, row))),
  );
  block.dataset.class = window.class;
  return block;
}

function progressRow(testid: string, label: string, progress: BudgetProgress | null, missing: string): HTMLLIElement {
  if (!progress) {
    const item = barRow("spend-row", label, null, null, missing);
    item.dataset.spend = testid;
    item.dataset.missing = "true";
    return item;
  }
  const text = progressText(progress);
  const item = barRow("spend-row", label, progress.fraction, meter(progress.spent_usd, progress.limit_usd, `${label}: ${text}`), text);
  item.dataset.spend = testid;
  if (progress.includes_unknown_price) {
    item.append(el("span", { class: "unknown-price", testid: "unknown-price", text: "price unknown for some models" }));
  }
  return item;
}

function usageSections(usage: TrackerSnapshot, trackingHint: string): HTMLElement[] {
  const windows = section(
    "Your usage per minute",
    "usage-windows",
    el("p", { class: "tier-line", testid: "usage-tier", text: tierText(usage.tier) }),
    el("p", {
      class: "muted",
      text: `Counted over the last 60 seconds from the requests this app sees (${trackingHint}). “API” is what the latest rate-limit headers of that class say is left for your whole organisation.`,
    }),
    ...(usage.windows.length > 0
      ? byShare(usage.windows).map(classBlock)
      : [emptyState("No requests in the last minute.", "usage-windows-empty")]),
  );

  const tierName = usage.tier?.name ?? null;
  const capMissing = tierName === null ? "The tier is not known, so neither is its spend cap." : `${tierName} has no spend cap of a known amount.`;
  const reached = usage.spend_cap_reached_at
    ? el("p", {
        class: "warning",
        testid: "spend-cap-reached",
        text: `The monthly spend cap was reached at ${localTimeOf(usage.spend_cap_reached_at)}; the API refuses requests until ${localTimeOf(usage.spend_cap_lifts_at)}.`,
      })
    : null;
  const spend = section(
    "Spend",
    "usage-spend",
    reached,
    el(
      "div",
      "costs",
      costFigure("cost-month", `This month (${usage.month.period}, UTC)`, usage.month.cost),
      costFigure("cost-today", `Today (${usage.today.period})`, usage.today.cost),
    ),
    el(
      "ul",
      { class: "plain budget-rows" },
      progressRow("spend-cap", tierName ? `This month against the ${tierName} spend cap` : "This month against the spend cap", usage.monthly_spend_cap, capMissing),
      progressRow("monthly-budget", "This month against your budget", usage.monthly_budget, "No monthly budget set (Settings)."),
      progressRow("daily-budget", "Today against your daily budget", usage.daily_budget, "No daily budget set (Settings)."),
    ),
  );

  const today = usage.today;
  const traffic = ownTrafficText(usage.own_traffic);
  const figure = (testid: string, label: string, value: Node | string, note?: string) =>
    el(
      "div",
      { class: "figure", testid },
      el("dt", { text: label }),
      el("dd", {}, typeof value === "string" ? el("span", { class: "figure-value", text: value }) : value, note ? el("span", { class: "muted figure-note", text: ` ${note}` }) : null),
    );
  const savings = today.cost.source === null && today.requests === 0 ? null : today.cache_savings;
  const savingsValue = savings
    ? el(
        "span",
        {},
        el("span", { class: "figure-value", text: cacheSavingsText(savings) }),
        savings.includes_unknown_price ? el("span", { class: "unknown-price", testid: "unknown-price", text: "price unknown for some models" }) : null,
      )
    : "nothing recorded today";
  const figures = section(
    "Figures",
    "usage-figures",
    el(
      "dl",
      "figures",
      figure(
        "figure-cost-per-1000",
        "Cost per 1,000 requests (today)",
        usage.cost_per_1000_requests ? costFigure("cost-per-1000", "", usage.cost_per_1000_requests) : "no requests today",
      ),
      figure(
        "figure-p95-tokens",
        "Tokens per request, p95",
        usage.p95_tokens_per_request === null ? "no requests yet" : count(usage.p95_tokens_per_request),
        usage.p95_tokens_per_request === null ? undefined : "over the last 1,000 requests",
      ),
      figure("figure-cache-hit", "Cache hit ratio (today)", today.cache_hit_ratio === null ? "no input today" : percent(today.cache_hit_ratio * 100), today.cache_hit_ratio === null ? undefined : "of input tokens read from the cache"),
      figure("figure-cache-savings", "Cache savings (today)", savingsValue, savings ? "computed from the tokens with the catalog's prices" : undefined),
      figure("figure-own-529", "Your 529s (overloaded)", traffic ? traffic.overloaded : "no requests in the last minutes", traffic?.window),
      figure("figure-own-429", "Your 429s (rate limited)", traffic ? traffic.rateLimited : "no requests in the last minutes", traffic?.window),
    ),
    el("p", { class: "muted", testid: "catalog-as-of", text: `Prices as of ${usage.prices_as_of}; tier limits as of ${usage.tiers_as_of}.` }),
  );
  return [spend, windows, figures];
}

// --- The subscription plan's windows and the estimated 5-hour blocks. ---------------------------

/** One plan window: its sentence, a bar while the reading is fresh, the pace, and the source. */
function planRow(window: PlanWindowReport, now: Date): HTMLLIElement {
  const text = windowText(window, now);
  const fresh = window.used_percent !== null;
  const bar = fresh ? meter(Math.min(window.used_percent ?? 0, 100), 100, text) : null;
  const pace = paceText(window, now);
  const item = barRow(
    "plan-window",
    text,
    null,
    bar,
    pace,
    `from the ${sourceText(window.last_reading)}`,
  );
  item.dataset.window = window.window;
  item.dataset.freshness = window.freshness.state;
  return item;
}

function planSection(plan: PlanWindowReport[]): HTMLElement {
  const now = new Date();
  return section(
    "Plan windows (Pro, Max)",
    "plan-windows",
    plan.length > 0
      ? el("ul", { class: "plain budget-rows" }, ...plan.map((w) => planRow(w, now)))
      : emptyState(
          "No plan reading yet. Claude Code hands its status line your 5-hour and weekly windows when you are signed in with a Pro or Max plan: install the status line (Settings) to see them here.",
          "plan-windows-empty",
        ),
  );
}

/** The blocks panel: asked for when the tab opens, labelled as an estimate. */
function blocksPanel(): { element: HTMLElement; shown(tracked: boolean): void } {
  const element = el("div", { testid: "blocks-panel" });
  let asking = false;
  function draw(report: BlocksReport): void {
    const active = activeBlockText(report);
    const recent = report.blocks.filter((b) => !b.is_active).slice(-6).reverse();
    setChildren(
      element,
      section(
        "5-hour blocks (estimated)",
        "usage-blocks",
        el("p", { class: "muted", testid: "blocks-basis", text: report.basis }),
        active
          ? el("ul", { class: "plain", testid: "active-block" }, ...active.map((line) => el("li", { text: line })))
          : emptyState("No active block: no Claude Code request in the last 5 hours.", "active-block-empty"),
        recent.length > 0
          ? el("ul", { class: "plain muted", testid: "recent-blocks" }, ...recent.map((b) => el("li", { text: blockText(b) })))
          : null,
      ),
    );
  }
  return {
    element,
    shown(tracked: boolean) {
      if (!tracked) {
        setChildren(element);
        return;
      }
      if (asking) return;
      asking = true;
      getUsageBlocks()
        .then(draw)
        .catch((e) => setChildren(element, errorBox("The 5-hour blocks could not be read", e)))
        .finally(() => {
          asking = false;
        });
    },
  };
}

export function budgetView(context: AppContext): View {
  const usageBox = el("div", { class: "usage", testid: "budget-usage" });
  const limits = el("div", { testid: "budget-limits" });
  const notMeasured = el("div");
  const gateway = gatewayPanel(context);
  const plan = el("div", { testid: "budget-plan" });
  const spikes = el("div", { testid: "budget-spikes" });
  const blocks = blocksPanel();
  const advice = advicePanel();

  function drawLimits(snapshot: Snapshot | null, tracked: boolean): void {
    const probe = snapshot?.probe ?? null;
    const rows = budgetRows(probe?.ratelimit);
    const model = context.settings()?.settings.streaming_model ?? null;
    if (rows.length === 0) {
      // With the tracker, the classes above carry the live headers; nothing to add here.
      if (tracked) {
        setChildren(limits);
        return;
      }
      setChildren(limits,
        el("h2", { text: "Tier limits" }),
        emptyState("Budget: not measured yet.", "budget-empty"),
        el("p", {
          class: "muted",
          text: probe
            ? "The latest probe's reply carried no rate-limit headers. They come with a successful answer from the API; the streaming probe (Settings) reports them for its model."
            : "No probe has run yet; the tier limits come with the first answer from the API.",
        }),
      );
      return;
    }
    const source = probe?.streaming
      ? `Read from the streaming probe's rate-limit headers${model ? ` for ${model}` : ""}.`
      : "Read from the latest probe's rate-limit headers.";
    const retry = probe?.ratelimit.retry_after_seconds;
    const title = tracked ? "The latest probe's rate-limit headers" : "Tier limits";
    setChildren(limits,
      el("h2", { text: model && probe?.streaming ? `${title}: ${model}` : title }),
      el("p", { class: "muted", text: `${source} “Used” is everything your organisation used in the window, not only this app. Token counts are rounded to the nearest thousand by the API.` }),
      el("ul", { class: "plain budget-rows" }, ...rows.map(headerRow)),
      retry !== null && retry !== undefined
        ? el("p", { class: "warning", testid: "retry-after", text: `The API asked to wait ${retry} s before retrying.` })
        : null,
    );
  }

  function draw(snapshot: Snapshot | null): void {
    const usage = snapshot?.usage ?? null;
    // The plan windows and the blocks belong to the usage tracker: without it, neither is shown.
    if (usage) setChildren(plan, planSection(usage.plan));
    else setChildren(plan);
    const settings = context.settings()?.settings ?? null;
    if (usage) {
      const sources = ["Claude Code logs", "gateway", "probe"];
      if (settings && !settings.claude_code_logs) sources.shift();
      setChildren(usageBox, ...usageSections(usage, sources.join(", ")));
      setChildren(notMeasured);
    } else {
      setChildren(usageBox);
      setChildren(notMeasured,
        section(
          "Not measured yet",
          "budget-not-measured",
          el("p", {
            text:
              settings?.usage_tracking === false
                ? "Usage tracking is off in Settings, so these are not measured, and nothing is shown for them rather than a guess:"
                : "The usage tracker has not reported yet, so nothing is shown for them rather than a guess:",
          }),
          el("ul", {}, ...NOT_MEASURED.map((text) => el("li", { text }))),
        ),
      );
    }
    drawLimits(snapshot, usage !== null);
    // The spike alerts on the gateway's traffic (core's SpikeReport): only once it saw some.
    const traffic = snapshot?.traffic ?? null;
    setChildren(
      spikes,
      traffic &&
        section(
          "Spike alerts (your gateway traffic)",
          "spike-alerts",
          el("ul", { class: "plain" }, ...traffic.lines.map((line) => el("li", { testid: "spike-line", text: spikeLineText(line) }))),
          traffic.unpriced_requests > 0 &&
            el("p", {
              class: "muted",
              text: `${count(traffic.unpriced_requests)} requests of the last hour have no known price and are left out of the cost per 1,000 requests.`,
            }),
        ),
    );
  }

  return {
    name: "budget",
    mount(panel) {
      panel.append(plan, usageBox, spikes, blocks.element, advice.element, limits, notMeasured, gateway.element);
      draw(context.snapshot());
    },
    shown() {
      draw(context.snapshot());
      blocks.shown(context.snapshot()?.usage != null);
      advice.shown();
      gateway.shown();
    },
    snapshot(snapshot, visible) {
      if (visible) draw(snapshot);
      advice.snapshot(visible);
      gateway.snapshot(visible);
    },
  };
}
