// Budget: the tier limits the API reports in its rate-limit headers (used against the limit, per
// minute), and a plain list of what is not measured yet. No number here is invented: what the
// usage tracker will measure is named, not estimated.

import type { Snapshot } from "../bindings/Snapshot.ts";
import { budgetRows, type BudgetRow } from "../assess.ts";
import { el, emptyState, section, setChildren } from "../dom.ts";
import { count, parseTime } from "../format.ts";
import type { AppContext, View } from "./context.ts";

const pad = (n: number) => String(n).padStart(2, "0");

/** "14:04:12": when a bucket is full again (local time, to the second: buckets refill fast). */
function clock(iso: string | null): string | null {
  const date = parseTime(iso);
  return date ? `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}` : null;
}

function budgetRow(row: BudgetRow): HTMLElement {
  const figures: string[] = [];
  if (row.used !== null && row.limit !== null) figures.push(`${count(row.used)} of ${count(row.limit)} used`);
  else if (row.limit !== null) figures.push(`limit ${count(row.limit)}`);
  if (row.remaining !== null) figures.push(`${count(row.remaining)} left`);
  const reset = clock(row.reset);
  if (reset) figures.push(`full again at ${reset}`);
  const meter =
    row.limit !== null && row.used !== null
      ? el("meter", {
          attrs: {
            min: "0",
            max: String(row.limit),
            value: String(row.used),
            low: String(row.limit * 0.5),
            high: String(row.limit * 0.8),
            optimum: "0",
            "aria-label": `${row.label}: ${figures.join(", ")}`,
          },
        })
      : null;
  const item = el(
    "li",
    { class: "budget-row", testid: "budget-row" },
    el("div", "budget-head", el("span", { class: "budget-label", text: row.label }), el("span", { class: "budget-percent", text: row.usedPercent === null ? "" : `${Math.round(row.usedPercent)}%` })),
    meter,
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

export function budgetView(context: AppContext): View {
  const limits = el("div", { testid: "budget-limits" });

  function draw(snapshot: Snapshot | null): void {
    const probe = snapshot?.probe ?? null;
    const rows = budgetRows(probe?.ratelimit);
    const model = context.settings()?.settings.streaming_model ?? null;
    if (rows.length === 0) {
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
    setChildren(limits, 
      el("h2", { text: model && probe?.streaming ? `Tier limits: ${model}` : "Tier limits" }),
      el("p", { class: "muted", text: `${source} “Used” is everything your organisation used in the window, not only this app. Token counts are rounded to the nearest thousand by the API.` }),
      el("ul", { class: "plain budget-rows" }, ...rows.map(budgetRow)),
      retry !== null && retry !== undefined
        ? el("p", { class: "warning", testid: "retry-after", text: `The API asked to wait ${retry} s before retrying.` })
        : null,
    );
  }

  return {
    name: "budget",
    mount(panel) {
      panel.append(
        limits,
        section(
          "Not measured yet",
          "budget-not-measured",
          el("p", { text: "The usage tracker that measures these is not built yet, so nothing is shown for them rather than a guess:" }),
          el("ul", {}, ...NOT_MEASURED.map((text) => el("li", { text }))),
        ),
      );
      draw(context.snapshot());
    },
    shown() {
      draw(context.snapshot());
    },
    snapshot(snapshot, visible) {
      if (visible) draw(snapshot);
    },
  };
}
