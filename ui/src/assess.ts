// The Overview's plain-language answers, derived from a Snapshot and a HistoryReport: does it hit
// me, do our probes and the status page agree, and who saw it first. Pure, so tested under Node.

import type { ComponentReport } from "./bindings/ComponentReport.ts";
import type { LeadTimeReport } from "./bindings/LeadTimeReport.ts";
import type { ProbeOutcome } from "./bindings/ProbeOutcome.ts";
import type { RateLimitBucket } from "./bindings/RateLimitBucket.ts";
import type { RateLimitSnapshot } from "./bindings/RateLimitSnapshot.ts";
import type { Snapshot } from "./bindings/Snapshot.ts";
import { activeIncidents, humanize, spanText, troubledComponents } from "./format.ts";

/** Probe outcomes that say the API itself is in trouble (not our key, not our network). */
const API_TROUBLE: ReadonlySet<ProbeOutcome> = new Set(["overloaded", "server_error", "timeout"]);

export type Tone = "good" | "warn" | "bad" | "unknown";

export interface Answer {
  tone: Tone;
  text: string;
}

/** The components the assessment follows that are not operational. */
export function troubledFollowed(components: ComponentReport[]): ComponentReport[] {
  return troubledComponents(components).filter((c) => c.followed);
}

/** Does the status page show trouble? null when it has never been read. */
export function pageSeesTrouble(snapshot: Snapshot): boolean | null {
  const page = snapshot.status_page;
  if (!page.fetched_at) return null;
  const indicator = page.indicator;
  const rollup = indicator !== "none" && indicator !== "unknown" && indicator !== "";
  return (
    rollup ||
    troubledComponents(page.components).length > 0 ||
    activeIncidents(page.incidents).length > 0
  );
}

/** Do our probes see the API in trouble? null before the first probe. */
export function probesSeeTrouble(snapshot: Snapshot): boolean | null {
  const probe = snapshot.probe;
  if (!probe) return null;
  return API_TROUBLE.has(probe.outcome) || (probe.failures_in_a_row > 0 && probe.outcome !== "ok");
}

/** One sentence comparing what our probes see with what the status page says. */
export function probesVersusPage(snapshot: Snapshot): Answer {
  const probes = probesSeeTrouble(snapshot);
  const page = pageSeesTrouble(snapshot);
  if (probes === null && page === null) {
    return { tone: "unknown", text: "Nothing measured yet: no probe has run and the status page has not been read." };
  }
  if (probes === null) {
    return { tone: "unknown", text: "Our probes have not run yet; only the status page is known." };
  }
  if (page === null) {
    return {
      tone: probes ? "bad" : "unknown",
      text: probes
        ? "Our probes see trouble; the status page could not be read."
        : "Our probes get answers; the status page could not be read.",
    };
  }
  if (probes && !page) {
    return {
      tone: "bad",
      text: "Our probes see trouble while the status page still says operational.",
    };
  }
  if (probes && page) return { tone: "bad", text: "Our probes and the status page both see trouble." };
  if (!probes && page) {
    return {
      tone: "warn",
      text: "The status page reports trouble; our probes still get answers.",
    };
  }
  return { tone: "good", text: "Our probes and the status page agree: the API works." };
}

/** "Does it hit me?": what the latest probe (made with the user's key) and followed components say. */
export function hitsYou(snapshot: Snapshot): Answer {
  const probe = snapshot.probe;
  const followed = troubledFollowed(snapshot.status_page.components);
  const others = troubledComponents(snapshot.status_page.components).filter((c) => !c.followed);
  const http = probe?.http_status ? ` (HTTP ${probe.http_status})` : "";
  if (probe) {
    switch (probe.outcome) {
      case "overloaded":
        return { tone: "bad", text: `Yes: requests with your key are refused as overloaded${http}.` };
      case "server_error":
        return { tone: "bad", text: `Yes: requests with your key fail with server errors${http}.` };
      case "timeout":
        return { tone: "bad", text: "Yes: requests with your key time out." };
      case "rate_limited":
        return { tone: "bad", text: `Yes: your key is rate limited${http}. See Budget.` };
      case "spend_cap":
        return { tone: "bad", text: `Yes: your organisation reached its spend cap${http}.` };
      case "billing":
        return { tone: "bad", text: "Yes: the API refuses your key for a billing problem." };
      case "network":
        return { tone: "bad", text: "This computer cannot reach the API (a network problem, not Anthropic's)." };
      case "unauthenticated":
      case "auth":
      case "permission":
        return {
          tone: "unknown",
          text: "Unknown: no working API key, so our probes cannot tell. Add one in Settings.",
        };
      default:
        break;
    }
  }
  if (followed.length > 0) {
    const names = followed.map((c) => `${c.name} (${humanize(c.status)})`).join(", ");
    return {
      tone: "warn",
      text: probe
        ? `Maybe: a component you follow is affected: ${names}; our probes still get answers.`
        : `Probably: a component you follow is affected: ${names}.`,
    };
  }
  if (!probe) return { tone: "unknown", text: "Not known yet: the first probe runs within a minute." };
  if (others.length > 0) {
    return {
      tone: "good",
      text: `Probably not: our probes get answers; only components you do not follow are affected (${others
        .map((c) => c.name)
        .join(", ")}).`,
    };
  }
  return { tone: "good", text: "No: our probes get answers and the components you follow are operational." };
}

/** "Our probes saw “X” 12 minutes before the status page." and the reverse. */
export function leadSentence(lead: LeadTimeReport): string {
  const name = `“${lead.incident_name}”`;
  if (lead.lead_seconds > 0) {
    return `Our probes saw ${name} ${spanText(lead.lead_seconds)} before the status page.`;
  }
  if (lead.lead_seconds < 0) {
    return `The status page reported ${name} ${spanText(lead.lead_seconds)} before our probes saw it.`;
  }
  return `Our probes and the status page saw ${name} at the same time.`;
}

/** One row of the Budget view: a rate-limit bucket as "used of limit". */
export interface BudgetRow {
  key: "requests" | "tokens" | "input_tokens" | "output_tokens";
  label: string;
  limit: number | null;
  remaining: number | null;
  /** `limit - remaining`: everything the organisation used in the window, not only this app. */
  used: number | null;
  /** 0 to 100, or null when limit or remaining is missing. */
  usedPercent: number | null;
  reset: string | null;
}

const BUCKETS: ReadonlyArray<[BudgetRow["key"], string]> = [
  ["requests", "Requests per minute"],
  ["input_tokens", "Input tokens per minute"],
  ["output_tokens", "Output tokens per minute"],
  ["tokens", "Tokens per minute (most restrictive)"],
];

function row(key: BudgetRow["key"], label: string, bucket: RateLimitBucket): BudgetRow {
  const { limit, remaining, reset } = bucket;
  const used = limit !== null && remaining !== null ? Math.max(0, limit - remaining) : null;
  const usedPercent =
    used !== null && limit !== null && limit > 0 ? Math.min(100, (used / limit) * 100) : null;
  return { key, label, limit, remaining, used, usedPercent, reset };
}

/** The rate-limit buckets the headers described, in a fixed order; empty when there were none. */
export function budgetRows(ratelimit: RateLimitSnapshot | null | undefined): BudgetRow[] {
  if (!ratelimit) return [];
  const rows: BudgetRow[] = [];
  for (const [key, label] of BUCKETS) {
    const bucket = ratelimit[key];
    if (bucket && (bucket.limit !== null || bucket.remaining !== null)) rows.push(row(key, label, bucket));
  }
  return rows;
}
