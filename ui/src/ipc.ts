// The IPC contract with the Tauri shell (src-tauri/src/commands.rs and events.rs), typed with the
// bindings generated from the Rust types (ui/src/bindings/, `scripts/check-bindings.sh`). Every
// command and event the page uses goes through this module.

import { invoke, type InvokeArgs } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";

import type { AdviceReport } from "./bindings/AdviceReport.ts";
import type { AlertingReport } from "./bindings/AlertingReport.ts";
import type { BlocksReport } from "./bindings/BlocksReport.ts";
import type { GatewayReport } from "./bindings/GatewayReport.ts";
import type { HistoryReport } from "./bindings/HistoryReport.ts";
import type { IncidentReport } from "./bindings/IncidentReport.ts";
import type { ProbeSeries } from "./bindings/ProbeSeries.ts";
import type { Settings } from "./bindings/Settings.ts";
import type { Snapshot } from "./bindings/Snapshot.ts";
import type { SecretSlot } from "./bindings/SecretSlot.ts";
import type { StatusLineSetup } from "./bindings/StatusLineSetup.ts";
import type { TestOutcome } from "./bindings/TestOutcome.ts";

/** The events the shell emits, named in one place (mirrors `FrontendEvent::name`). */
export const EVENTS = {
  /** Payload: the new `Snapshot`. */
  snapshotChanged: "snapshot-changed",
  /** Payload: `{ id }`; the tray asks the page to show an incident. */
  openIncident: "open-incident",
} as const;

/** A command's failure as the shell sends it: `invalid_settings`, `invalid_argument`, … */
export interface IpcError {
  kind: string;
  message: string;
}

export type HistoryRange = "1h" | "24h" | "7d" | "30d";

/** Where the API key comes from; the key itself never crosses IPC. */
export type ApiKeySource = "keychain" | "environment" | "none";

/** What `get_settings`, `set_settings`, `set_api_key` and `set_admin_key` answer. */
export interface SettingsView {
  settings: Settings;
  api_key_configured: boolean;
  api_key_source: ApiKeySource;
  /**
   * Whether an Admin API key is in the keychain (never the key). Optional: a shell without the
   * Admin API source does not send it, and the form then says it does not know.
   */
  admin_key_configured?: boolean;
  /** The running gateway's `ANTHROPIC_BASE_URL`, when it runs. */
  gateway_url?: string | null;
  /** Why the gateway could not start, when it could not. */
  gateway_error?: string | null;
  /** Where the Prometheus metrics are served (`http://ADDR/metrics`), when they are. */
  metrics_url?: string | null;
  /** Why the metrics could not be served, when they could not. */
  metrics_error?: string | null;
}

export interface OpenIncidentPayload {
  id: string;
}

/** True inside the app's webview; false in a plain browser (where every call would fail). */
export function insideTauri(): boolean {
  return typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
}

export function isIpcError(value: unknown): value is IpcError {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as IpcError).kind === "string" &&
    typeof (value as IpcError).message === "string"
  );
}

/** Invokes a command; every rejection becomes an `IpcError` (Tauri's own failures are strings). */
async function call<T>(command: string, args?: InvokeArgs): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (error) {
    if (isIpcError(error)) throw error;
    throw { kind: "ipc", message: String(error) } satisfies IpcError;
  }
}

export const getSnapshot = (): Promise<Snapshot> => call("get_snapshot");

export const getHistory = (range: HistoryRange): Promise<HistoryReport> =>
  call("get_history", { range });

/**
 * The probes of a range as chart buckets (1 min, 5 min, 30 min or 2 h each): the API-wide
 * reachability probes, or with `model` that model's streaming probes. The argument is left out
 * for the API-wide series, which the shell reads as `None`.
 */
export const getProbeSeries = (range: HistoryRange, model?: string | null): Promise<ProbeSeries> =>
  call("get_probe_series", model ? { range, model } : { range });

export const getIncident = (id: string): Promise<IncidentReport | null> =>
  call("get_incident", { id });

export const listIncidents = (limit: number): Promise<IncidentReport[]> =>
  call("list_incidents", { limit });

export const getSettings = (): Promise<SettingsView> => call("get_settings");

/** Rejects with `{ kind: "invalid_settings", message }` naming the field; nothing is applied then. */
export const setSettings = (settings: Settings): Promise<SettingsView> =>
  call("set_settings", { settings });

/** Stores the key in the OS keychain, or removes it with `null`. */
export const setApiKey = (key: string | null): Promise<SettingsView> =>
  call("set_api_key", { key });

/**
 * Stores the Admin API key (`sk-ant-admin…`) in the OS keychain, or removes it with `null`. Like
 * the API key, it is never sent back.
 */
export const setAdminKey = (key: string | null): Promise<SettingsView> =>
  call("set_admin_key", { key });

/**
 * The local gateway: whether the settings ask for it, its `ANTHROPIC_BASE_URL` or why it could not
 * start, its counters, the last 15 minutes of traffic and the latest retries and fallbacks.
 */
export const getGateway = (): Promise<GatewayReport> => call("get_gateway");

/** What the per-model streaming probe costs for one followed model. */
export interface ModelProbeCost {
  model: string;
  /** How often this model is probed. */
  interval_secs: number;
  /** Dollars per day; null when the price table has no price for the model. */
  usd_per_day: number | null;
}

/**
 * What `get_probe_cost` answers: the probe's cost per followed model and in total (null when no
 * model has a price), and whether the first-launch notice about it was already shown. Declared
 * here because the shell builds it (src-tauri), not a ts-rs type of core.
 */
export interface ProbeCost {
  models: ModelProbeCost[];
  total_usd_per_day: number | null;
  notice_shown: boolean;
}

export const getProbeCost = (): Promise<ProbeCost> => call("get_probe_cost");

/**
 * Answers the probe-cost notice: it is not shown again, and with `turnOff` the streaming probe is
 * turned off. Tauri maps the `turnOff` argument to the command's `turn_off`.
 */
export const dismissProbeCostNotice = (turnOff: boolean): Promise<unknown> =>
  call("dismiss_probe_cost_notice", { turnOff });

export const checkNow = (): Promise<null> => call("check_now");

/** Claude Code's 5-hour blocks estimated from the transcripts (ccusage's rules). */
export const getUsageBlocks = (): Promise<BlocksReport> => call("get_usage_blocks");

/**
 * The advisor's report over the gateway's last 24 hours: prompt caching that would save, what it
 * saves where it is used, and small requests priced on a cheaper model. Never any prompt text.
 */
export const getAdvice = (): Promise<AdviceReport> => call("get_advice");

/** Whether Claude Code's settings run our status line. */
export const getStatusLine = (): Promise<StatusLineSetup> => call("get_status_line");

/** Installs our status line; `force` replaces another one (asked first). */
export const installStatusLine = (force: boolean): Promise<StatusLineSetup> =>
  call("install_status_line", { force });

/** Removes our status line (never another one). */
export const uninstallStatusLine = (): Promise<StatusLineSetup> => call("uninstall_status_line");

/**
 * The alert channels with their delivery state, failing ones included, and whether their secrets
 * are set (never the secrets).
 */
export const getAlertChannels = (): Promise<AlertingReport> => call("get_alert_channels");

/**
 * Stores a channel's URL or routing key (`target`) or its signing secret or token (`auth`) in the
 * keychain through the service, or removes it with `null`. It is never sent back.
 */
export const setAlertSecret = (channel: string, slot: SecretSlot, secret: string | null): Promise<AlertingReport> =>
  call("set_alert_secret", { channel, slot, secret });

/**
 * Whether a provider of the fallback chain has a key and where it is (the service's
 * `provider_keys::ProviderKeyStatus`); never the key. Declared here because the service builds
 * it, not a ts-rs type of core.
 */
export interface ProviderKeyStatus {
  /** What `set_provider_key` takes: `openai`, `gemini`, or a declared server's name. */
  name: string;
  /** How the chain names it: `openai`, `gemini`, `openai-compatible:NAME`. */
  label: string;
  /** The environment variable read when the keychain holds no key (`OPENAI_API_KEY`). */
  env_var: string;
  source: ApiKeySource;
  /** The provider refuses requests without a key (OpenAI and Gemini; a local server often needs none). */
  required: boolean;
}

/** Where each provider's key is (keychain, its environment variable, none), never the key. */
export const getProviderKeys = (): Promise<ProviderKeyStatus[]> => call("get_provider_keys");

/**
 * Stores a provider's key in the OS keychain through the service (`provider` is `openai`, `gemini`
 * or a declared server's name), or removes it with `null`. It is never sent back.
 */
export const setProviderKey = (provider: string, key: string | null): Promise<ProviderKeyStatus[]> =>
  call("set_provider_key", { provider, key });

/** Sends a test alert to one channel, or to every channel with `null`. */
export const sendTestAlert = (channel: string | null): Promise<TestOutcome[]> =>
  call("send_test_alert", { channel });

export const openStatusPage = (): Promise<null> => call("open_status_page");

/**
 * Opens a link in the system browser. The shell opens only https links on the status page's
 * hosts (an incident's shortlink) and refuses anything else with `invalid_argument`.
 */
export const openExternal = (url: string): Promise<null> => call("open_external", { url });

export const onSnapshotChanged = (
  handler: (snapshot: Snapshot) => void,
): Promise<UnlistenFn> =>
  listen<Snapshot>(EVENTS.snapshotChanged, (event) => handler(event.payload));

export const onOpenIncident = (handler: (id: string) => void): Promise<UnlistenFn> =>
  listen<OpenIncidentPayload>(EVENTS.openIncident, (event) => handler(event.payload.id));
