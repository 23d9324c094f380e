// The Overview's plain-language answers, derived from a Snapshot and a HistoryReport: does it hit
// me (the shell's one decision, `Snapshot.hits_you`, shown as it is), do our probes and the status
// page agree, and who saw it first. Pure, so tested under Node.

import type { Answer as HitsAnswer } from "./bindings/Answer.ts";
import type { ComponentReport } from "./bindings/ComponentReport.ts";
import type { LeadTimeReport } from "./bindings/LeadTimeReport.ts";
import type { ProbeOutcome } from "./bindings/ProbeOutcome.ts";
import type { RateLimitBucket } from "./bindings/RateLimitBucket.ts";
import type { RateLimitSnapshot } from "./bindings/RateLimitSnapshot.ts";
import type { Snapshot } from "./bindings/Snapshot.ts";
import { activeIncidents, spanText, troubledComponents } from "./format.ts";
import { isTroubleLevel, modelMeasured, modelMeasuredTrouble } from "./models.ts";

/** Probe outcomes that say the API itself is in trouble (not our key, not our network). */
const API_TROUBLE: ReadonlySet<ProbeOutcome> = new Set(["overloaded", "server_error", "timeout"]);

export type Tone = "good" | "warn" | "bad" | "unknown";

export interface Answer {
  tone: Tone;
  text: string;
}

/** The tone of each answer to "does it hit you?". */
const HITS_TONES: Record<HitsAnswer, Tone> = {
  yes: "bad",
  probably: "bad",
  maybe: "warn",
  no: "good",
  unknown: "unknown",
};

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

/** Does the API-wide (reachability) probe see the API in trouble? null before it has run. */
function apiProbeSeesTrouble(snapshot: Snapshot): boolean | null {
  const probe = snapshot.probe;
  if (!probe) return null;
  // The latest probe may be a model's streaming probe; that model's own report speaks for it.
  if (probe.kind === "streaming" && (snapshot.models ?? []).some(modelMeasured)) return false;
  return API_TROUBLE.has(probe.outcome) || (probe.failures_in_a_row > 0 && probe.outcome !== "ok");
}

/** The models our own measurements see in trouble, by display name. */
export function modelsInTrouble(snapshot: Snapshot): string[] {
  return (snapshot.models ?? []).filter(modelMeasuredTrouble).map((m) => m.display_name);
}

/**
 * Do our probes see trouble? The API-wide probe, or any model that our probes (or the user's own
 * requests) measure in trouble: an overload is per model, and the API-wide probe cannot see it.
 * null before anything has been measured.
 */
export function probesSeeTrouble(snapshot: Snapshot): boolean | null {
  const api = apiProbeSeesTrouble(snapshot);
  const models = snapshot.models ?? [];
  if (models.some(modelMeasuredTrouble)) return true;
  if (api === null && !models.some(modelMeasured)) return null;
  return api === true;
}

/**
 * One sentence comparing what our probes see with what the status page says. It never
 * contradicts the level: a failure that has not changed the level yet is "being confirmed", and
 * an offline computer is said to be one.
 */
export function probesVersusPage(snapshot: Snapshot): Answer {
  const probes = probesSeeTrouble(snapshot);
  const page = pageSeesTrouble(snapshot);
  if (probes === null && page === null) {
    return { tone: "unknown", text: "Nothing measured yet: no probe has run and the status page has not been read." };
  }
  if (probes === null) {
    return { tone: "unknown", text: "Our probes have not run yet; only the status page is known." };
  }
  if (snapshot.level === "offline") {
    return { tone: "unknown", text: "This computer is offline, so our probes cannot tell what the API does." };
  }
  const names = modelsInTrouble(snapshot);
  if (apiProbeSeesTrouble(snapshot) === true) names.unshift("the API");
  const on = names.length > 0 ? ` on ${names.join(", ")}` : "";
  if (probes && !isTroubleLevel(snapshot.level)) {
    return {
      tone: "warn",
      text: page
        ? `Our probes saw a failure${on} and are checking again; the status page reports trouble.`
        : `Our probes saw a failure${on} and are checking again; the status page says operational.`,
    };
  }
  if (page === null) {
    return {
      tone: probes ? "bad" : "unknown",
      text: probes
        ? `Our probes see trouble${on}; the status page could not be read.`
        : "Our probes get answers; the status page could not be read.",
    };
  }
  if (probes && !page) {
    return {
      tone: "bad",
      text: `Our probes see trouble${on} while the status page still says operational.`,
    };
  }
  if (probes && page) {
    return {
      tone: "bad",
      text: on ? `Our probes see trouble${on}, and so does the status page.` : "Our probes and the status page both see trouble.",
    };
  }
  // Without a key or the gateway only the reachability probe runs, and it cannot see an overload:
  // "the API works" would claim a watch that is not there.
  const unwatched = Boolean(snapshot.coverage?.warning);
  if (!probes && page) {
    return {
      tone: "warn",
      text: unwatched
        ? "The status page reports trouble; our reachability probe still gets answers, but overloads are not watched."
        : "The status page reports trouble; our probes still get answers.",
    };
  }
  if (unwatched) {
    return {
      tone: "unknown",
      text: "The API answers our reachability probe and the status page agrees, but overloads are not watched: a model's overload would not show here.",
    };
  }
  return { tone: "good", text: "Our probes and the status page agree: the API works." };
}

/**
 * "Does it hit you?": the shell's answer, decided with the level (`Snapshot.hits_you`), word for
 * word, with a tone for its colour. The page never makes up its own, so it cannot contradict the
 * headline.
 */
export function hitsYou(snapshot: Snapshot): Answer {
  const answer = snapshot.hits_you;
  if (!answer) return { tone: "unknown", text: "Unknown: the app did not say." };
  return { tone: HITS_TONES[answer.answer] ?? "unknown", text: answer.text };
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
