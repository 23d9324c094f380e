// The settings' validation rules, mirrored from crates/core/src/settings.rs so the form can say
// what is wrong before saving. The shell stays the judge: its `invalid_settings` message is shown
// as well. Keep the messages word for word the same as the Rust ones.

import type { ProviderEndpoint } from "./bindings/ProviderEndpoint.ts";
import type { Settings } from "./bindings/Settings.ts";
import { findTier } from "./tiers.ts";

/** The largest budget accepted, in cents (`MAX_BUDGET_CENTS` in settings.rs): $10,000,000. */
export const MAX_BUDGET_CENTS = 1_000_000_000;

export type SettingsField = keyof Settings;

/** Every problem of the settings, by field (the Rust side reports only the first). */
export function settingsProblems(s: Settings): Partial<Record<SettingsField, string>> {
  const problems: Partial<Record<SettingsField, string>> = {};
  const within = (value: number, low: number, high: number) =>
    Number.isInteger(value) && value >= low && value <= high;

  if (!within(s.probe_interval_secs, 5, 3600)) {
    problems.probe_interval_secs = "must be between 5 seconds and 1 hour";
  }
  const model = s.streaming_model.trim();
  if (model === "") {
    problems.streaming_model = "must name a model";
  } else if (!isModelId(model)) {
    problems.streaming_model = "must be a model id such as claude-haiku-4-5";
  }
  for (const field of ["pinned_models", "dropped_models"] as const) {
    const problem = modelListProblem(s[field]);
    if (problem !== null) problems[field] = problem;
  }
  if (problems.pinned_models === undefined && problems.dropped_models === undefined) {
    const both = bothPinnedAndDropped(s.pinned_models, s.dropped_models);
    if (both !== null) problems.dropped_models = `${JSON.stringify(both)} is pinned too: a model cannot be both`;
  }
  const chain = fallbackProblem(s.gateway_fallback);
  if (chain !== null) problems.gateway_fallback = chain;
  const after = s.gateway_fallback_after_secs;
  if (!Number.isInteger(after) || after < 0) {
    // The Rust side cannot hold such a value (u64); this is the form's own message.
    problems.gateway_fallback_after_secs = FALLBACK_AFTER_FORMAT;
  } else if (after > MAX_FALLBACK_AFTER_SECS) {
    problems.gateway_fallback_after_secs = "must be at most 86400 (one day)";
  }
  const providers = providersProblem(s.gateway_providers);
  if (providers !== null) {
    problems.gateway_providers = providers;
  } else if (chain === null) {
    const undeclared = undeclaredServerProblem(s.gateway_fallback, s.gateway_providers);
    if (undeclared !== null) problems.gateway_fallback = undeclared;
  }
  if (!within(s.latency_threshold_ms, 500, 60_000)) {
    problems.latency_threshold_ms = "must be between 0.5 and 60 seconds";
  }
  if (!within(s.ttft_threshold_ms, 200, 60_000)) {
    problems.ttft_threshold_ms = "must be between 0.2 and 60 seconds";
  }
  if (!within(s.failures_to_enter, 1, 20)) {
    problems.failures_to_enter = "must be between 1 and 20";
  }
  if (!within(s.successes_to_leave, 1, 20)) {
    problems.successes_to_leave = "must be between 1 and 20";
  }
  if (!within(s.gateway_port, 1024, 65_535)) {
    problems.gateway_port = "must be between 1024 and 65535 (lower ports need root)";
  }
  const metrics = metricsAddrProblem(s.metrics_addr, s.allow_remote);
  if (metrics !== null) problems.metrics_addr = metrics;
  if (s.followed_components.length > 50) {
    problems.followed_components = "at most 50 components";
  } else {
    const bad = s.followed_components.find(
      (id) => id === "" || id.length > 64 || !/^[A-Za-z0-9]+$/.test(id),
    );
    if (bad !== undefined) {
      problems.followed_components = `${JSON.stringify(bad)} is not a status-page component id`;
    }
  }
  if (s.tier_override !== null && findTier(s.tier_override) === null) {
    problems.tier_override = `${JSON.stringify(s.tier_override)} is not a known tier`;
  }
  for (const field of ["monthly_budget_cents", "daily_budget_cents"] as const) {
    const cents = s[field];
    if (cents === null) continue;
    if (!Number.isInteger(cents) || cents < 0) {
      // The Rust side cannot hold such a value (u64); this is the form's own message.
      problems[field] = BUDGET_FORMAT;
    } else if (cents > MAX_BUDGET_CENTS) {
      problems[field] = "must be at most $10,000,000";
    }
  }
  return problems;
}

/**
 * What is wrong with a metrics address (`metrics_addr` in settings.rs: an IP address with a port,
 * loopback unless `allow_remote`); null when nothing is, or when there is none (metrics off).
 */
export function metricsAddrProblem(addr: string | null, allowRemote: boolean): string | null {
  if (addr === null) return null;
  const text = addr.trim();
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3}):(\d{1,5})$/.exec(text);
  const v6 = /^\[([0-9A-Fa-f:.]+)\]:(\d{1,5})$/.exec(text);
  let loopback: boolean;
  let port: number;
  if (v4) {
    const octets = v4.slice(1, 5).map(Number);
    if (octets.some((o) => o > 255)) return "must be an address with a port, e.g. 127.0.0.1:9464";
    loopback = octets[0] === 127;
    port = Number(v4[5]);
  } else if (v6 && (v6[1] ?? "").includes(":")) {
    const host = v6[1] ?? "";
    loopback = host === "::1" || /^0{0,4}(:0{0,4}){6}:0{0,3}1$/.test(host);
    port = Number(v6[2]);
  } else {
    return "must be an address with a port, e.g. 127.0.0.1:9464";
  }
  if (port > 65_535) return "must be an address with a port, e.g. 127.0.0.1:9464";
  if (!loopback && !allowRemote) {
    return "a non-loopback address needs allow_remote: the metrics say which models you use and what you spend";
  }
  return null;
}

/** A model id as the API takes it: letters, digits and `-._[]`, at most 100 characters (`is_model_id`). */
export function isModelId(model: string): boolean {
  return model.length > 0 && model.length <= 100 && /^[A-Za-z0-9.\-_[\]]+$/.test(model);
}

/** The most models the pinned and the dropped lists may each name (settings.rs). */
export const MAX_LISTED_MODELS = 20;

/** What is wrong with a list of pinned or dropped models, in the words of settings.rs; null when fine. */
export function modelListProblem(models: readonly string[]): string | null {
  if (models.length > MAX_LISTED_MODELS) return `at most ${MAX_LISTED_MODELS} models`;
  const bad = models.find((model) => !isModelId(model));
  if (bad !== undefined) return `${JSON.stringify(bad)} is not a model id such as claude-opus-5-5`;
  return null;
}

/** The first pinned model that is also dropped, or null. */
export function bothPinnedAndDropped(pinned: readonly string[], dropped: readonly string[]): string | null {
  return pinned.find((model) => dropped.includes(model)) ?? null;
}

/** The most entries a fallback chain may have (`fallback::MAX_CHAIN`). */
export const MAX_FALLBACK_ENTRIES = 8;

/**
 * Whether `name` can name an OpenAI-compatible server (`fallback::is_provider_name`): 1 to 32 of
 * a-z, 0-9, - and _, starting with a letter, and none of openai, gemini, anthropic, claude.
 */
export function isProviderName(name: string): boolean {
  return /^[a-z][a-z0-9_-]{0,31}$/.test(name) && !["openai", "gemini", "anthropic", "claude"].includes(name);
}

/** One chain entry read as core's `Target::parse` reads it. */
export type FallbackTarget =
  | { kind: "claude"; model: string }
  | { kind: "provider"; provider: "openai" | "gemini"; model: string }
  | { kind: "provider"; provider: "compatible"; name: string; model: string };

/** Reads one chain entry (`Target::parse`), or says why it is not one, in core's words. */
export function parseFallbackTarget(raw: string): { target: FallbackTarget } | { problem: string } {
  const entry = raw.trim();
  const q = JSON.stringify(entry);
  if (entry === "") return { problem: "an empty fallback entry" };
  if (entry.length > 200) return { problem: "a fallback entry longer than 200 characters" };
  const modelOk = (model: string) => model.length > 0 && model.length <= 128 && /^[A-Za-z0-9\-._:/@]+$/.test(model);
  let target: FallbackTarget;
  if (entry.startsWith("openai:")) {
    target = { kind: "provider", provider: "openai", model: entry.slice("openai:".length) };
  } else if (entry.startsWith("gemini:")) {
    target = { kind: "provider", provider: "gemini", model: entry.slice("gemini:".length) };
  } else if (entry.startsWith("openai-compatible:")) {
    const rest = entry.slice("openai-compatible:".length);
    const colon = rest.indexOf(":");
    if (colon < 0) return { problem: `${q} names no model: write openai-compatible:NAME:MODEL` };
    const name = rest.slice(0, colon);
    if (!isProviderName(name)) {
      return { problem: `${JSON.stringify(name)} is not a provider name (lower-case letters, digits, - and _)` };
    }
    target = { kind: "provider", provider: "compatible", name, model: rest.slice(colon + 1) };
  } else if (entry.includes(":")) {
    return {
      problem: `${q} is not a fallback target: write a Claude model, openai:MODEL, gemini:MODEL or openai-compatible:NAME:MODEL`,
    };
  } else {
    if (entry.length > 100 || !/^[A-Za-z0-9\-._]+$/.test(entry)) return { problem: `${q} is not a model id such as claude-sonnet-5-5` };
    return { target: { kind: "claude", model: entry } };
  }
  if (!modelOk(target.model)) return { problem: `${q} names no model, or an odd one` };
  return { target };
}

/**
 * What is wrong with a fallback chain, in the order and words of core's `fallback::parse_chain`:
 * too long, an entry that is not a target, an entry named twice, a chain that does not start at a
 * Claude model, a single entry. Null when it is fine (empty is fine: no chain).
 */
export function fallbackProblem(raw: readonly string[]): string | null {
  const chain = raw.map((e) => e.trim()).filter((e) => e !== "");
  if (chain.length === 0) return null;
  if (chain.length > MAX_FALLBACK_ENTRIES) return `at most ${MAX_FALLBACK_ENTRIES} fallback entries`;
  const targets: FallbackTarget[] = [];
  for (const [i, entry] of chain.entries()) {
    const parsed = parseFallbackTarget(entry);
    if ("problem" in parsed) return parsed.problem;
    if (chain.indexOf(entry) < i) return `${JSON.stringify(entry)} is named twice`;
    targets.push(parsed.target);
  }
  if (targets[0]?.kind !== "claude") return `the chain starts at the Claude model a request asks for, not at ${chain[0]}`;
  if (chain.length === 1) return `${chain[0]} has no second entry to fall back to`;
  return null;
}

/** The OpenAI-compatible servers a chain names (`openai-compatible:NAME:MODEL`), in order. */
export function chainServers(raw: readonly string[]): string[] {
  const names: string[] = [];
  for (const entry of raw) {
    const parsed = parseFallbackTarget(entry);
    if ("target" in parsed && parsed.target.kind === "provider" && parsed.target.provider === "compatible") {
      if (!names.includes(parsed.target.name)) names.push(parsed.target.name);
    }
  }
  return names;
}

/** The most servers `gateway_providers` may declare (settings.rs). */
export const MAX_PROVIDERS = 8;

/** What is wrong with the declared servers, in the words of settings.rs's `validate_providers`. */
export function providersProblem(providers: readonly ProviderEndpoint[]): string | null {
  if (providers.length > MAX_PROVIDERS) return `at most ${MAX_PROVIDERS} providers`;
  for (const [i, provider] of providers.entries()) {
    const name = provider.name;
    if (!(isProviderName(name) || name === "openai" || name === "gemini")) {
      return `${JSON.stringify(name)} is not a provider name (lower-case letters, digits, - and _)`;
    }
    if (providers.slice(0, i).some((p) => p.name === name)) return `${JSON.stringify(name)} is declared twice`;
    const url = provider.base_url.trim();
    const schemeOk = url.startsWith("https://") || url.startsWith("http://");
    if (!schemeOk || url.length > 500 || /\s/.test(url) || url.includes("?")) {
      return `${name}'s base URL must be an http:// or https:// URL without a query`;
    }
  }
  return null;
}

/** A chain entry naming a server `providers` does not declare, in settings.rs's words; null when none. */
export function undeclaredServerProblem(chain: readonly string[], providers: readonly ProviderEndpoint[]): string | null {
  for (const entry of chain) {
    const parsed = parseFallbackTarget(entry);
    if (!("target" in parsed) || parsed.target.kind !== "provider" || parsed.target.provider !== "compatible") continue;
    const name = parsed.target.name;
    if (!providers.some((p) => p.name === name)) {
      return `${entry.trim()} names the server ${JSON.stringify(name)}, which gateway_providers does not declare`;
    }
  }
  return null;
}

/** The longest wait before other providers (settings.rs): one day. */
export const MAX_FALLBACK_AFTER_SECS = 86_400;

/** The form's message for a wait that is not a whole number. */
export const FALLBACK_AFTER_FORMAT = "must be a whole number of seconds or minutes (0 for at once)";

/** A wait as the form shows it: whole minutes in minutes (the default 300 s is "5 minutes"), else seconds. */
export function fallbackAfterFields(secs: number): { value: string; unit: "s" | "min" } {
  if (secs > 0 && secs % 60 === 0) return { value: String(secs / 60), unit: "min" };
  return { value: String(secs), unit: "s" };
}

/** The form's wait as seconds: NaN when it is not a whole number (which `settingsProblems` reports). */
export function fallbackAfterSecs(value: string, unit: "s" | "min"): number {
  const text = value.trim();
  if (!/^[0-9]+$/.test(text)) return Number.NaN;
  return Number(text) * (unit === "min" ? 60 : 1);
}

/**
 * A list of model ids as typed (the fallback chain, the pinned and the dropped models): ids
 * separated by commas and/or spaces, in order; an empty text is no list (`[]`). Nothing is dropped
 * but empty pieces, so a bad id reaches the rules.
 */
export function parseModelList(text: string): string[] {
  return text.split(/[\s,]+/).filter((model) => model !== "");
}

/** A list as the form shows it: "claude-opus-4-6, claude-sonnet-4-6"; empty for none. */
export function modelListText(models: readonly string[]): string {
  return models.join(", ");
}

/** The fallback chain's reading of the field: `parseModelList`. */
export const parseFallbackChain = parseModelList;

/** The fallback chain as the form shows it: `modelListText`. */
export const fallbackChainText = modelListText;

/** The form's message for a budget that is not an amount of dollars. */
export const BUDGET_FORMAT = "must be an amount in dollars, such as 250 or 12.50";

/**
 * A budget field's text as cents: null when empty (no budget), NaN when it is not a dollar
 * amount of at most two decimals (which `settingsProblems` reports). "12.5" is 1250.
 */
export function budgetCents(text: string): number | null {
  const trimmed = text.trim().replace(/^\$/, "").trim();
  if (trimmed === "") return null;
  if (!/^[0-9]+(\.[0-9]{1,2})?$/.test(trimmed) && !/^\.[0-9]{1,2}$/.test(trimmed)) return Number.NaN;
  return Math.round(Number(trimmed) * 100);
}

/** Cents as the form shows them: "250", "12.50"; empty for no budget. */
export function budgetText(cents: number | null): string {
  if (cents === null) return "";
  return cents % 100 === 0 ? String(cents / 100) : (cents / 100).toFixed(2);
}

/** The allowed range of each numeric field, as the form's hint and min/max. */
export const NUMBER_FIELDS = {
  probe_interval_secs: { min: 5, max: 3600, unit: "s", hint: "5 to 3600 seconds" },
  latency_threshold_ms: { min: 500, max: 60_000, unit: "ms", hint: "500 to 60000 ms" },
  ttft_threshold_ms: { min: 200, max: 60_000, unit: "ms", hint: "200 to 60000 ms" },
  failures_to_enter: { min: 1, max: 20, unit: "", hint: "1 to 20" },
  successes_to_leave: { min: 1, max: 20, unit: "", hint: "1 to 20" },
  gateway_port: { min: 1024, max: 65_535, unit: "", hint: "1024 to 65535, on 127.0.0.1" },
} as const satisfies Partial<Record<SettingsField, object>>;

const FIELDS: readonly SettingsField[] = [
  "probe_interval_secs",
  "streaming_probe",
  "streaming_model",
  "pinned_models",
  "dropped_models",
  "probe_cost_notice_shown",
  "latency_threshold_ms",
  "ttft_threshold_ms",
  "failures_to_enter",
  "successes_to_leave",
  "followed_components",
  "notifications",
  "launch_at_login",
  "usage_tracking",
  "claude_code_logs",
  "tier_override",
  "monthly_budget_cents",
  "daily_budget_cents",
  "admin_api",
  "gateway",
  "gateway_port",
  "gateway_retry",
  "advisor_count_tokens",
  "gateway_fallback",
  "gateway_fallback_after_secs",
  "gateway_providers",
  "gateway_bind",
  "gateway_allowed_origins",
  "metrics_addr",
  "allow_remote",
];

/**
 * The field a server message names ("probe_interval_secs: must be …" is how `SettingsError`
 * displays), with the rest of the message; `field` is null when it names none we know.
 */
export function splitSettingsError(message: string): { field: SettingsField | null; text: string } {
  const colon = message.indexOf(":");
  if (colon > 0) {
    const name = message.slice(0, colon).trim();
    const field = FIELDS.find((f) => f === name);
    if (field) return { field, text: message.slice(colon + 1).trim() };
  }
  return { field: null, text: message };
}
