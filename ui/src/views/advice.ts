// The Budget view's "Advice from your traffic" section: the advisor's report over the gateway's
// last 24 hours (`get_advice`). Prompt caching (each uncached prefix worth caching, with its
// sentence and a table of its figures), where caching is already used (hit ratio and what it
// saved), and what small requests would have cost on a cheaper model, headed as a cost figure and
// never a recommendation. Each part says why it is empty when it is.
//
// It asks when the Budget tab opens, and again on a new snapshot while the tab is on screen, at
// most once a minute (advice.ts's ADVICE_REFRESH_MS): the report covers a whole day and the
// service reads it from the database, so it is not worth asking on every metered request. It
// never polls: a hidden tab makes no call. A failed call shows the error box with a retry, never
// a blank section.

import type { AdviceReport } from "../bindings/AdviceReport.ts";
import {
  ADVICE_REFRESH_MS,
  adviceNotes,
  adviceRows,
  adviceTotalText,
  belowMinimumText,
  cachedRows,
  cachedTotalsText,
  MODELS_HEADING,
  NO_CACHE_ADVICE,
  NO_MODEL_ADVICE,
  noTrafficText,
  nothingToAdvise,
  nothingToAdviseText,
  summaryText,
  type AdviceRowText,
  type CachedRowText,
} from "../advice.ts";
import { el, emptyState, errorBox, section, setChildren } from "../dom.ts";
import { getAdvice } from "../ipc.ts";
import { refreshDue } from "../schedule.ts";

export interface AdvicePanel {
  readonly element: HTMLElement;
  /** The Budget tab opened: fetch now. */
  shown(): void;
  /** A new snapshot arrived: fetch again if the tab is on screen and the last answer is a minute old. */
  snapshot(visible: boolean): void;
}

/** A table with a caption and column headers, scrolling on its own in a narrow window. */
function table(testid: string, caption: string, head: string[], rows: HTMLTableRowElement[]): HTMLElement {
  return el(
    "div",
    "table-scroll",
    el(
      "table",
      { class: "data-table", testid },
      el("caption", { text: caption }),
      el("thead", {}, el("tr", {}, ...head.map((text) => el("th", { text, attrs: { scope: "col" } })))),
      el("tbody", {}, ...rows),
    ),
  );
}

/** The prefix's name and its short key, which stays the same across reports on this machine. */
function prefixCell(prefix: string, key: string): HTMLTableCellElement {
  return el(
    "th",
    { attrs: { scope: "row" } },
    el("span", { text: prefix }),
    " ",
    el("code", { class: "muted", text: key, attrs: { "aria-label": `key ${key}` } }),
  );
}

function sizeCell(size: string, estimated: boolean, minimum: string | null): HTMLTableCellElement {
  const cell = el("td", {}, el("span", { text: size }));
  if (estimated) cell.dataset.estimated = "true";
  if (minimum) cell.append(" ", el("span", { class: "muted", testid: "advice-minimum-assumed", text: minimum }));
  return cell;
}

function adviceRow(row: AdviceRowText): HTMLTableRowElement {
  const tr = el(
    "tr",
    { testid: "advice-row" },
    prefixCell(row.prefix, row.key),
    el("td", { class: "model", text: row.model }),
    sizeCell(row.size, row.estimated, row.minimum),
    el("td", { text: row.sends }),
    el("td", { text: row.wouldHit }),
    el("td", { text: row.wouldWrite }),
    el("td", { class: "nowrap", testid: "advice-per-day", text: row.perDay }),
  );
  tr.dataset.key = row.key;
  return tr;
}

function cachedRow(row: CachedRowText): HTMLTableRowElement {
  const tr = el(
    "tr",
    { testid: "cached-row" },
    prefixCell(row.prefix, row.key),
    el("td", { class: "model", text: row.model }),
    sizeCell(row.size, row.estimated, null),
    el("td", { text: row.sends }),
    el("td", { text: row.hits }),
    el("td", { text: row.hitRatio }),
    el("td", { class: "nowrap", testid: "cached-saved", text: row.saved }),
  );
  tr.dataset.key = row.key;
  return tr;
}

/** The sentences of a part, one per row, as the CLI prints them. */
function sentences(testid: string, lines: string[]): HTMLElement {
  return el("ul", { class: "plain advice-sentences", testid }, ...lines.map((text) => el("li", { text })));
}

function cachingPart(report: AdviceReport): HTMLElement {
  const rows = adviceRows(report);
  const total = adviceTotalText(report);
  const below = belowMinimumText(report);
  return el(
    "div",
    { class: "advice-part", testid: "advice-caching", attrs: { role: "group", "aria-labelledby": "advice-caching-title" } },
    el("h3", { text: "Prompt caching", attrs: { id: "advice-caching-title" } }),
    rows.length > 0
      ? sentences("advice-sentences", rows.map((row) => row.sentence))
      : emptyState(NO_CACHE_ADVICE, "advice-caching-empty"),
    rows.length > 0
      ? table(
          "advice-table",
          "Uncached prefixes worth caching, the largest saving first. Would-hit: sends within 5 minutes of the previous one; would-write: the first and each after a longer gap.",
          ["Prefix", "Model", "Size", "Sends", "Would hit", "Would write", "Saving per day"],
          rows.map(adviceRow),
        )
      : null,
    total ? el("p", { class: "advice-total", testid: "advice-total", text: total }) : null,
    below ? el("p", { class: "muted", testid: "advice-below-minimum", text: below }) : null,
  );
}

function cachedPart(report: AdviceReport): HTMLElement | null {
  const rows = cachedRows(report);
  const totals = cachedTotalsText(report.cached_totals);
  if (rows.length === 0 && !totals) return null;
  return el(
    "div",
    { class: "advice-part", testid: "advice-cached", attrs: { role: "group", "aria-labelledby": "advice-cached-title" } },
    el("h3", { text: "Where caching is used", attrs: { id: "advice-cached-title" } }),
    rows.length > 0 ? sentences("cached-sentences", rows.map((row) => row.sentence)) : null,
    rows.length > 0
      ? table(
          "cached-table",
          "Prefixes sent with cache_control, the largest saving first. Saved: what the reads saved, less what the writes cost above plain input.",
          ["Prefix", "Model", "Size", "Sends", "Hits", "Hit ratio", "Saved"],
          rows.map(cachedRow),
        )
      : null,
    totals ? el("p", { class: "advice-total", testid: "cached-totals", text: totals }) : null,
  );
}

function modelsPart(report: AdviceReport): HTMLElement {
  return el(
    "div",
    { class: "advice-part", testid: "advice-models", attrs: { role: "group", "aria-labelledby": "advice-models-title" } },
    el("h3", { text: MODELS_HEADING, attrs: { id: "advice-models-title" } }),
    report.models.length > 0
      ? sentences("model-sentences", report.models.map((model) => model.sentence))
      : emptyState(NO_MODEL_ADVICE, "advice-models-empty"),
  );
}

/** The whole section for one report: its summary, the three parts and the notes, or why it is empty. */
function drawReport(report: AdviceReport): HTMLElement {
  const noTraffic = noTrafficText(report);
  if (noTraffic !== null) {
    return section("Advice from your traffic", "usage-advice", emptyState(noTraffic, "advice-empty"));
  }
  const notes = adviceNotes(report);
  return section(
    "Advice from your traffic",
    "usage-advice",
    el("p", { class: "muted", testid: "advice-summary", text: summaryText(report) }),
    nothingToAdvise(report) ? emptyState(nothingToAdviseText(report), "advice-nothing") : null,
    cachingPart(report),
    cachedPart(report),
    modelsPart(report),
    notes.length > 0 ? el("ul", { class: "plain muted advice-notes", testid: "advice-notes" }, ...notes.map((text) => el("li", { text }))) : null,
    el("p", { class: "muted", text: "The advisor reads only sizes and keyed hashes of prefixes, never their text, and never changes a request." }),
  );
}

export function advicePanel(): AdvicePanel {
  const element = el("div", { testid: "advice-panel" });
  let asking = false;
  let fetchedAt: number | null = null;

  function load(): void {
    if (asking) return;
    asking = true;
    fetchedAt = Date.now();
    getAdvice()
      .then((report) => setChildren(element, drawReport(report)))
      .catch((error: unknown) => {
        // A failed call is asked again on the next opening or snapshot, not a minute later.
        fetchedAt = null;
        setChildren(element, section("Advice from your traffic", "usage-advice", errorBox("The advice could not be read", error, load)));
      })
      .finally(() => {
        asking = false;
      });
  }

  return {
    element,
    shown: load,
    snapshot(visible: boolean) {
      if (refreshDue(fetchedAt, Date.now(), visible, ADVICE_REFRESH_MS)) load();
    },
  };
}
