// A small hand-made SVG chart: lines or stacked bars over time buckets, incident periods as
// bands, a readout that follows the pointer (or the arrow keys). Colours come from CSS classes,
// so the light and dark themes apply without redrawing. The arithmetic is in scale.ts.

import { el, svg } from "./dom.ts";
import { localTime } from "./format.ts";
import {
  bucketAt,
  clipIntervals,
  linear,
  linePath,
  niceMax,
  timeTickLabel,
  timeTicks,
  valueTicks,
} from "./scale.ts";

export interface ChartSeries {
  name: string;
  /** `series-1`, `series-2`, … pick the colour in style.css. */
  className: string;
  values: ReadonlyArray<number | null>;
}

export interface ChartBand {
  start: number;
  end: number | null;
  label: string;
}

export interface ChartSpec {
  testid: string;
  title: string;
  kind: "line" | "bars";
  fromMs: number;
  toMs: number;
  bucketMs: number;
  series: ChartSeries[];
  bands: ChartBand[];
  format: (value: number) => string;
  /** The smallest y-axis top, so a calm series does not fill the chart with noise. */
  floor: number;
  /** A dashed line, e.g. the latency threshold from the settings. */
  threshold?: { value: number; label: string };
}

const HEIGHT = 150;
const MARGIN = { top: 8, right: 8, bottom: 20, left: 46 };

/** A figure with the chart; it redraws itself when its width changes. */
export function chart(spec: ChartSpec): HTMLElement {
  const legend = el(
    "span",
    "legend",
    ...spec.series.map((s) => el("span", `key ${s.className}`, el("i", { attrs: { "aria-hidden": "true" } }), s.name)),
    spec.bands.length > 0 ? el("span", "key band-key", el("i", { attrs: { "aria-hidden": "true" } }), "incident") : null,
  );
  const holder = el("div", "chart-holder");
  const readout = el("p", { class: "readout muted", testid: "chart-readout" });
  const figure = el(
    "figure",
    { class: "chart", testid: spec.testid },
    el("figcaption", {}, el("span", { class: "chart-title", text: spec.title }), legend),
    holder,
    readout,
  );
  figure.dataset.bands = String(spec.bands.length);

  let lastWidth = -1;
  const draw = () => {
    const width = Math.max(240, Math.floor(holder.clientWidth || 600));
    if (width === lastWidth) return;
    lastWidth = width;
    holder.replaceChildren(drawSvg(spec, width, readout));
  };
  // Drawn once it is in the document (it needs a width), then on every resize.
  new ResizeObserver(draw).observe(holder);
  return figure;
}

function drawSvg(spec: ChartSpec, width: number, readout: HTMLElement): SVGSVGElement {
  const plotLeft = MARGIN.left;
  const plotRight = width - MARGIN.right;
  const plotTop = MARGIN.top;
  const plotBottom = HEIGHT - MARGIN.bottom;
  const buckets = Math.max(0, ...spec.series.map((s) => s.values.length));
  const x = linear([spec.fromMs, spec.toMs], [plotLeft, plotRight]);

  const stackedTop = (i: number) =>
    spec.series.reduce((sum, s) => sum + (s.values[i] ?? 0), 0);
  let dataMax = 0;
  for (let i = 0; i < buckets; i++) {
    if (spec.kind === "bars") dataMax = Math.max(dataMax, stackedTop(i));
    else for (const s of spec.series) dataMax = Math.max(dataMax, s.values[i] ?? 0);
  }
  if (spec.threshold && spec.threshold.value <= dataMax * 1.5) {
    dataMax = Math.max(dataMax, spec.threshold.value);
  }
  const top = niceMax(dataMax, spec.floor);
  const y = linear([0, top], [plotBottom, plotTop]);

  const root = svg("svg", {
    width,
    height: HEIGHT,
    viewBox: `0 0 ${width} ${HEIGHT}`,
    role: "img",
    "aria-label": `${spec.title}: ${spec.series.map((s) => s.name).join(", ")}`,
    tabindex: 0,
    class: "chart-svg",
  });

  // Incident bands behind everything.
  for (const band of clipIntervals(spec.bands, spec.fromMs, spec.toMs)) {
    const source = spec.bands.find((b) => Math.max(b.start, spec.fromMs) === band.start);
    const x0 = x(band.start);
    const rect = svg(
      "rect",
      {
        class: "band",
        x: x0.toFixed(1),
        y: plotTop,
        width: Math.max(2, x(band.end) - x0).toFixed(1),
        height: plotBottom - plotTop,
        "data-testid": "incident-band",
      },
      svg("title", {}, source?.label ?? "incident"),
    );
    root.append(rect);
  }

  // Grid and value labels.
  for (const value of valueTicks(top)) {
    const gy = y(value).toFixed(1);
    root.append(
      svg("line", { class: "grid", x1: plotLeft, x2: plotRight, y1: gy, y2: gy }),
      svg("text", { class: "tick", x: plotLeft - 4, y: gy, "text-anchor": "end", "dominant-baseline": "middle" }, spec.format(value)),
    );
  }
  const { ticks, stepMs } = timeTicks(spec.fromMs, spec.toMs, Math.max(2, Math.floor(width / 90)), new Date(spec.toMs).getTimezoneOffset());
  for (const t of ticks) {
    const tx = x(t);
    if (tx < plotLeft + 12 || tx > plotRight - 12) continue;
    root.append(
      svg("line", { class: "grid vertical", x1: tx.toFixed(1), x2: tx.toFixed(1), y1: plotTop, y2: plotBottom }),
      svg("text", { class: "tick", x: tx.toFixed(1), y: HEIGHT - 6, "text-anchor": "middle" }, timeTickLabel(t, stepMs)),
    );
  }

  const start = (i: number) => spec.fromMs + i * spec.bucketMs;
  const mid = (i: number) => x(start(i) + spec.bucketMs / 2);
  if (spec.kind === "bars") {
    const barWidth = Math.max(1, x(spec.fromMs + spec.bucketMs) - x(spec.fromMs) - 0.5);
    for (let i = 0; i < buckets; i++) {
      let base = 0;
      for (const s of spec.series) {
        const value = s.values[i] ?? 0;
        if (value <= 0) continue;
        const y0 = y(base);
        const y1 = y(base + value);
        root.append(
          svg("rect", {
            class: `bar ${s.className}`,
            x: x(start(i)).toFixed(1),
            y: y1.toFixed(1),
            width: barWidth.toFixed(1),
            height: Math.max(1, y0 - y1).toFixed(1),
          }),
        );
        base += value;
      }
    }
  } else {
    for (const s of spec.series) {
      const points = s.values.map((v, i) => (v === null ? null : ([mid(i), y(Math.min(v, top))] as const)));
      root.append(svg("path", { class: `line ${s.className}`, d: linePath(points) }));
    }
  }

  if (spec.threshold) {
    const ty = y(Math.min(spec.threshold.value, top)).toFixed(1);
    if (spec.threshold.value <= top) {
      root.append(
        svg("line", { class: "threshold", x1: plotLeft, x2: plotRight, y1: ty, y2: ty }, svg("title", {}, spec.threshold.label)),
      );
    }
  }
  root.append(svg("line", { class: "axis", x1: plotLeft, x2: plotRight, y1: plotBottom, y2: plotBottom }));

  // The readout: the bucket under the pointer (or chosen with the arrow keys).
  const guide = svg("line", { class: "guide", x1: 0, x2: 0, y1: plotTop, y2: plotBottom, visibility: "hidden" });
  root.append(guide);
  const idle = "Point at the chart, or focus it and press ← →, to read a bucket.";
  readout.textContent = idle;
  let selected: number | null = null;
  const show = (index: number | null) => {
    selected = index;
    if (index === null) {
      guide.setAttribute("visibility", "hidden");
      readout.textContent = idle;
      return;
    }
    const gx = mid(index).toFixed(1);
    guide.setAttribute("x1", gx);
    guide.setAttribute("x2", gx);
    guide.setAttribute("visibility", "visible");
    const at = start(index);
    const values = spec.series.map((s) => {
      const v = s.values[index];
      return `${s.name} ${v === null || v === undefined ? "no data" : spec.format(v)}`;
    });
    const incidents = spec.bands
      .filter((b) => b.start <= at + spec.bucketMs && (b.end ?? spec.toMs) >= at)
      .map((b) => `incident: ${b.label}`);
    readout.textContent = [localTime(new Date(at)), ...values, ...incidents].join(" · ");
  };
  root.addEventListener("pointermove", (event) => {
    const box = root.getBoundingClientRect();
    const px = ((event.clientX - box.left) / box.width) * width;
    const ms = spec.fromMs + ((px - plotLeft) / (plotRight - plotLeft)) * (spec.toMs - spec.fromMs);
    show(bucketAt(ms, spec.fromMs, spec.bucketMs, buckets));
  });
  root.addEventListener("pointerleave", () => show(null));
  root.addEventListener("blur", () => show(null));
  root.addEventListener("keydown", (event) => {
    if (buckets === 0) return;
    const moves: Record<string, number> = { ArrowLeft: -1, ArrowRight: 1, Home: -Infinity, End: Infinity };
    const move = moves[event.key];
    if (move === undefined) return;
    event.preventDefault();
    const from = selected ?? buckets - 1;
    show(Math.min(buckets - 1, Math.max(0, Number.isFinite(move) ? from + move : move < 0 ? 0 : buckets - 1)));
  });
  return root;
}
