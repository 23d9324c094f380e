// The words for per-model health: the Overview's model rows (share, last probe, the user's own
// requests, retirement), the probe-cost notice, and the Probes view's summary of one model's
// series. Pure, so `npm test` checks it under Node.

import type { ModelProbe } from "./bindings/ModelProbe.ts";
import type { ModelReport } from "./bindings/ModelReport.ts";
import type { ModelTraffic } from "./bindings/ModelTraffic.ts";
import type { ProbeSeries } from "./bindings/ProbeSeries.ts";
import type { Retirement } from "./bindings/Retirement.ts";
import { duration, humanize, usd } from "./format.ts";
import type { ProbeCost } from "./ipc.ts";

/** "62 % of your requests this week"; a share that rounds to 0 but has requests is "under 1 %". */
export function shareText(model: Pick<ModelReport, "share_7d" | "requests_7d">): string {
  if (model.requests_7d <= 0 || !Number.isFinite(model.share_7d) || model.share_7d <= 0) {
    return "none of your requests this week";
  }
  const percent = Math.round(Math.min(1, model.share_7d) * 100);
  return percent < 1 ? "under 1 % of your requests this week" : `${percent} % of your requests this week`;
}

/** "every minute", "every 5 minutes", "every 30 s", "every hour". */
export function intervalText(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds <= 0) return "now and then";
  if (seconds % 3600 === 0) return seconds === 3600 ? "every hour" : `every ${seconds / 3600} hours`;
  if (seconds % 60 === 0) return seconds === 60 ? "every minute" : `every ${seconds / 60} minutes`;
  return `every ${Math.round(seconds)} s`;
}

/** "overloaded (HTTP 529), first token 950 ms": what a model's latest probe saw, without its time. */
export function probeSummary(probe: ModelProbe): string {
  const parts = [humanize(probe.outcome) + (probe.http_status !== null ? ` (HTTP ${probe.http_status})` : "")];
  if (probe.ttft_ms !== null) parts.push(`first token ${duration(probe.ttft_ms)}`);
  else if (probe.latency_ms !== null) parts.push(duration(probe.latency_ms));
  return parts.join(", ");
}

/** Why a model has no probe line: it is not probed, or its first probe has not run. */
export function noProbeText(model: Pick<ModelReport, "probe_interval_secs">): string {
  return model.probe_interval_secs === null
    ? "not probed"
    : `not probed yet (${intervalText(model.probe_interval_secs)})`;
}

/** "5 min", "45 s". */
function windowText(seconds: number): string {
  return seconds >= 60 ? `${Math.round(seconds / 60)} min` : `${Math.max(0, Math.round(seconds))} s`;
}

/**
 * "your requests: 529 on 3 of 12 in 5 min", with the server errors and how many failed turns were
 * inferred (Claude Code writes `<synthetic>` on them; the session's last model is assumed).
 */
export function trafficText(traffic: ModelTraffic): string {
  const within = `in ${windowText(traffic.window_secs)}`;
  const failures: string[] = [];
  if (traffic.overloaded > 0) failures.push(`529 on ${traffic.overloaded}`);
  if (traffic.server_errors > 0) failures.push(`5xx on ${traffic.server_errors}`);
  let text =
    failures.length > 0
      ? `your requests: ${failures.join(", ")} of ${traffic.requests} ${within}`
      : `your requests: ${traffic.requests} ${within}, no 529 or 5xx`;
  if (traffic.inferred > 0) {
    text += ` (${traffic.inferred} inferred from Claude Code's failed turns)`;
  }
  return text;
}

/** Where the user's requests were seen, in words: "the gateway and Claude Code's transcripts". */
export function trafficSources(traffic: ModelTraffic): string {
  const words = traffic.sources.map((source) =>
    source === "gateway" ? "the gateway" : source === "claude_code" ? "Claude Code's transcripts" : humanize(source),
  );
  return words.join(" and ");
}

/** "retired on 2026-02-19, successor claude-haiku-4-5" (or "retires on …" for a date to come). */
export function retiredText(retired: Retirement, now: Date): string {
  const day = retired.on;
  const past = Date.parse(`${day}T00:00:00Z`) <= now.getTime() || Number.isNaN(Date.parse(day));
  const when = `${past ? "retired" : "retires"} on ${day}`;
  return retired.successor ? `${when}, successor ${retired.successor}` : when;
}

/** The levels that mean trouble; the others say "fine" or "can't tell". */
const TROUBLE_LEVELS: ReadonlySet<string> = new Set(["degraded", "overloaded", "outage"]);

export function isTroubleLevel(level: string): boolean {
  return TROUBLE_LEVELS.has(level);
}

/**
 * Do our own measurements (this model's probes or the user's requests to it) see it in trouble?
 * A model whose level comes only from a status-page incident naming it does not count: that is
 * the page's word, not ours. With no incident naming it, a troubled level can only come from our
 * measurements (slow first tokens included, where the probe itself passed).
 */
export function modelMeasuredTrouble(model: ModelReport): boolean {
  if (!isTroubleLevel(model.level)) return false;
  const probeFailed = model.last_probe !== null && model.last_probe.outcome !== "ok";
  const ownFailed =
    model.own_traffic !== null && model.own_traffic.overloaded + model.own_traffic.server_errors > 0;
  return probeFailed || ownFailed || model.incidents.length === 0;
}

/** Whether our probes or the user's requests have measured this model at all. */
export function modelMeasured(model: ModelReport): boolean {
  return model.last_probe !== null || model.own_traffic !== null;
}

/**
 * "The per-model probe costs about $0.062 a day (Sonnet 4.6 every minute: $0.056; Haiku 4.5
 * every 5 minutes: $0.0037)." A model without a price says "price unknown", and the total is then
 * a lower bound ("at least").
 */
export function probeCostText(cost: ProbeCost, name: (model: string) => string): string {
  const parts = cost.models.map(
    (m) => `${name(m.model)} ${intervalText(m.interval_secs)}: ${m.usd_per_day === null ? "price unknown" : usd(m.usd_per_day)}`,
  );
  const list = parts.length > 0 ? ` (${parts.join("; ")})` : "";
  const unknown = cost.models.some((m) => m.usd_per_day === null);
  if (cost.total_usd_per_day === null) {
    return `The per-model probe's cost is not known: price unknown${list}.`;
  }
  const about = unknown ? "at least" : "about";
  return `The per-model probe costs ${about} ${usd(cost.total_usd_per_day)} a day${list}.`;
}

/** What the Probes view shows above one model's charts, counted from its series. */
export interface SeriesSummary {
  probes: number;
  /** Probes that did not fail against the API's health, in percent; null without probes. */
  uptimePercent: number | null;
  rate529Percent: number | null;
  rate429Percent: number | null;
}

export function seriesSummary(series: ProbeSeries): SeriesSummary {
  let probes = 0;
  let failures = 0;
  let overloaded = 0;
  let rateLimited = 0;
  for (const bucket of series.buckets) {
    probes += bucket.probes;
    failures += bucket.failures;
    overloaded += bucket.overloaded;
    rateLimited += bucket.rate_limited;
  }
  const share = (n: number) => (probes > 0 ? (n / probes) * 100 : null);
  return {
    probes,
    uptimePercent: probes > 0 ? ((probes - failures) / probes) * 100 : null,
    rate529Percent: share(overloaded),
    rate429Percent: share(rateLimited),
  };
}
