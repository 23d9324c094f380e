// The alert channels' words for the Settings view: what a channel is, whether its secrets are set
// (never the secrets), how its deliveries go, and the rules of a new channel (those of
// core::channels::validate_channels, word for word). Pure: no DOM, no IPC.

import type { AlertKind } from "./bindings/AlertKind.ts";
import type { ChannelConfig } from "./bindings/ChannelConfig.ts";
import type { ChannelKind } from "./bindings/ChannelKind.ts";
import type { ChannelStatus } from "./bindings/ChannelStatus.ts";
import type { SecretOrigin } from "./bindings/SecretOrigin.ts";

export const CHANNEL_KINDS: readonly ChannelKind[] = ["slack", "discord", "pagerduty", "webhook", "ntfy"];

const KIND_LABELS: Record<ChannelKind, string> = {
  slack: "Slack",
  discord: "Discord",
  pagerduty: "PagerDuty",
  webhook: "Webhook",
  ntfy: "ntfy",
};

export function kindLabel(kind: ChannelKind): string {
  return KIND_LABELS[kind];
}

/** What the channel's required secret is called. */
export function targetWords(kind: ChannelKind): string {
  return kind === "pagerduty" ? "Routing key" : kind === "ntfy" ? "Topic URL" : "Webhook URL";
}

/** The channel's optional second secret, or null when it has none. */
export function authWords(kind: ChannelKind): string | null {
  if (kind === "webhook") return "Signing secret (optional)";
  if (kind === "ntfy") return "Access token (optional)";
  return null;
}

const ORIGIN_WORDS: Record<SecretOrigin, string> = {
  keychain: "keychain",
  file: "0600 file",
  environment: "environment",
};

/** "set (keychain)" or "not set"; a secret itself is never shown. */
export function secretText(origin: SecretOrigin | null): string {
  return origin ? `set (${ORIGIN_WORDS[origin]})` : "not set";
}

/** The state line of one channel. */
export function channelStateText(status: ChannelStatus): string {
  const channel = status.channel;
  if (!channel.enabled) return "Off.";
  if (status.target === null) {
    return `Not set up: its ${targetWords(channel.kind).toLowerCase()} is not set (set it below, or in ${status.env_vars[0] ?? "the environment"}).`;
  }
  const counts = `${status.delivered} delivered, ${status.failed} failed, ${status.dropped} dropped${status.queued ? `, ${status.queued} waiting` : ""}`;
  if (status.failing) return `Failing: ${status.last_error ?? "the last delivery failed"} (${counts}).`;
  return `Working (${counts}).`;
}

/** A new channel with the default filter, as core's `ChannelConfig::new`. */
export function newChannel(kind: ChannelKind, id: string, name: string): ChannelConfig {
  return {
    id,
    name: name.trim() || id,
    kind,
    enabled: true,
    filter: { levels: ["overloaded", "outage"], models: [], incidents: true, budget: true, plan: true, traffic: true },
    endpoint: null,
  };
}

/** Why an id cannot name a new channel, or null when it can. */
export function channelIdProblem(id: string, existing: readonly ChannelConfig[]): string | null {
  if (!/^[a-z0-9][a-z0-9-]{0,31}$/.test(id)) return "An id is 1 to 32 lower-case letters, digits and -.";
  if (existing.some((c) => c.id === id)) return `"${id}" is used by another channel.`;
  if (existing.length >= 20) return "At most 20 channels.";
  return null;
}

/** What each notification is about, in words; a new kind fails the build until it has one. */
const ALERT_KIND_LABELS: Record<AlertKind, string> = {
  trouble: "trouble with a model or the API",
  recovered: "recovery",
  flapping: "flapping",
  incident_opened: "official incident opened",
  incident_updated: "official incident updated",
  incident_resolved: "official incident resolved",
  usage_threshold: "budget and limit thresholds",
  spend_cap_reached: "spend cap reached",
  provider_fallback: "the gateway moving a model's requests to another provider",
  provider_back: "its requests coming back to Claude",
  traffic_spike: "a spike in the gateway's traffic (cost, input tokens, time to first token, answer time)",
  traffic_spike_over: "the end of a traffic spike",
};

export function alertKindLabel(kind: AlertKind): string {
  return ALERT_KIND_LABELS[kind] ?? String(kind).replace(/_/g, " ");
}

/**
 * The notifications the level boxes (Overloaded, Outage) let through: core's `Topic::Level`
 * (channels.rs), which carries the gateway's moves to other providers and back too.
 */
export const LEVEL_TOPIC_KINDS: readonly AlertKind[] = ["trouble", "recovered", "flapping", "provider_fallback", "provider_back"];

/** The hint under a channel's level boxes: what else a ticked level brings. */
export function levelTopicHint(): string {
  const extra = LEVEL_TOPIC_KINDS.filter((k) => k !== "trouble").map(alertKindLabel);
  const last = extra.pop();
  return `A ticked level also brings ${extra.join(", ")} and ${last}.`;
}
