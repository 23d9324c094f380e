// Small DOM helpers. Every string from the shell or the status page goes in as text (textContent
// or attribute values), never as markup.

import { isIpcError } from "./ipc.ts";
import { localTime, parseTime, relativeTime } from "./format.ts";

type Child = Node | string | null | undefined | false;

export interface Options {
  class?: string;
  text?: string;
  testid?: string;
  attrs?: Record<string, string>;
}

/** A new element with optional class, text (as text), test id and attributes. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  options: Options | string = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  const o: Options = typeof options === "string" ? { class: options } : options;
  if (o.class) element.className = o.class;
  if (o.text !== undefined) element.textContent = o.text;
  if (o.testid) element.dataset.testid = o.testid;
  for (const [name, value] of Object.entries(o.attrs ?? {})) element.setAttribute(name, value);
  for (const child of children) if (child) element.append(child);
  return element;
}

const SVG = "http://www.w3.org/2000/svg";

/** A new SVG element with attributes. */
export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number> = {},
  ...children: Child[]
): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, String(value));
  for (const child of children) if (child) element.append(child);
  return element;
}

/** The element with this id; the shell markup is static, so a missing one is a bug. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`index.html has no #${id}`);
  return element as T;
}

/** The message of an `IpcError` (or anything thrown). */
export function errorText(error: unknown): string {
  return isIpcError(error) ? error.message : String(error);
}

/** A visible error in a view, with an optional retry: a failed command never leaves a blank page. */
export function errorBox(what: string, error: unknown, retry?: () => void): HTMLElement {
  const box = el(
    "div",
    { class: "error-box", testid: "error", attrs: { role: "alert" } },
    el("strong", { text: what }),
    el("span", { text: ` ${errorText(error)}` }),
  );
  if (isIpcError(error)) box.dataset.kind = error.kind;
  if (retry) {
    const button = el("button", { class: "secondary small", text: "Try again", attrs: { type: "button" } });
    button.addEventListener("click", retry);
    box.append(" ", button);
  }
  return box;
}

/** An empty state: a sentence saying why there is nothing to show. */
export function emptyState(text: string, testid = "empty"): HTMLElement {
  return el("p", { class: "empty", text, testid });
}

/**
 * A local time that also says how long ago: "2026-08-21 14:03 (12 min ago)". The relative part is
 * kept fresh by `refreshRelativeTimes`, which the page calls on its clock tick.
 */
export function timeText(iso: string | null | undefined, testid?: string): HTMLElement {
  const date = parseTime(iso);
  const span = el("time", testid ? { testid } : {});
  if (!date) {
    span.textContent = "—";
    return span;
  }
  span.dateTime = date.toISOString();
  span.dataset.reltime = "full";
  span.textContent = `${localTime(date)} (${relativeTime(date, new Date())})`;
  return span;
}

/** "12 min ago" alone, kept fresh like `timeText`. */
export function agoText(iso: string | null | undefined): HTMLElement {
  const date = parseTime(iso);
  const span = el("time");
  if (!date) {
    span.textContent = "never";
    return span;
  }
  span.dateTime = date.toISOString();
  span.dataset.reltime = "ago";
  span.title = localTime(date);
  span.textContent = relativeTime(date, new Date());
  return span;
}

/** Rewrites every relative time on the page; no IPC happens here. */
export function refreshRelativeTimes(now: Date): void {
  for (const node of document.querySelectorAll<HTMLTimeElement>("time[data-reltime]")) {
    const date = parseTime(node.dateTime);
    if (!date) continue;
    node.textContent =
      node.dataset.reltime === "ago"
        ? relativeTime(date, now)
        : `${localTime(date)} (${relativeTime(date, now)})`;
  }
}

/** A section with a heading. */
export function section(title: string, testid: string, ...children: Child[]): HTMLElement {
  return el("section", { class: "block", testid }, el("h2", { text: title }), ...children);
}

/** `replaceChildren` that skips absent children (`null`, `false`). */
export function setChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren(...children.filter((c): c is Node | string => Boolean(c)));
}

/** `append` that skips absent children. */
export function appendChildren(parent: Element, ...children: Child[]): void {
  parent.append(...children.filter((c): c is Node | string => Boolean(c)));
}

/**
 * A line to paste into a shell (`export ANTHROPIC_BASE_URL=…`) with a Copy button. Copying goes
 * through `navigator.clipboard`; where it is missing or refused, the status says to copy by hand
 * and the line stays selectable, so nothing is lost.
 */
export function copyLine(line: string, testid: string): HTMLElement {
  const status = el("span", { class: "hint copy-status", testid: `${testid}-copy-status`, attrs: { role: "status" } });
  const button = el("button", {
    class: "secondary small",
    text: "Copy",
    testid: `${testid}-copy`,
    attrs: { type: "button", "aria-label": `Copy: ${line}` },
  });
  button.addEventListener("click", async () => {
    status.textContent = "";
    try {
      if (!navigator.clipboard?.writeText) throw new Error("no clipboard");
      await navigator.clipboard.writeText(line);
      status.textContent = "Copied.";
    } catch {
      status.textContent = "Could not copy; select the line and copy it by hand.";
    }
  });
  return el("div", "copy-line", el("code", { testid, text: line }), button, status);
}
