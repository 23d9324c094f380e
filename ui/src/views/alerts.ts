// Settings → Alert channels: direct alert routing to Slack, Discord, PagerDuty, a webhook or ntfy.
// Each channel shows whether its secrets are set (never the secrets: they go to the keychain
// through the service and are not sent back), whether it is failing and why (redacted by the
// service), its filters, and "Send test alert". Fetched when Settings is shown and again on
// `snapshot-changed` while it is, like the Budget view's gateway section: never polled.

import type { AlertingReport } from "../bindings/AlertingReport.ts";
import type { ChannelConfig } from "../bindings/ChannelConfig.ts";
import type { ChannelKind } from "../bindings/ChannelKind.ts";
import type { ChannelStatus } from "../bindings/ChannelStatus.ts";
import type { Level } from "../bindings/Level.ts";
import type { SecretSlot } from "../bindings/SecretSlot.ts";
import {
  authWords,
  CHANNEL_KINDS,
  channelIdProblem,
  channelStateText,
  kindLabel,
  levelTopicHint,
  newChannel,
  secretText,
  targetWords,
} from "../alerts.ts";
import { el, errorBox, errorText, setChildren } from "../dom.ts";
import { getAlertChannels, sendTestAlert, setAlertSecret, setSettings } from "../ipc.ts";
import type { AppContext } from "./context.ts";

export function alertsPanel(context: AppContext): { element: HTMLElement; load(): void } {
  const list = el("div", { testid: "alert-channels" });
  const message = el("div", { testid: "alerts-message", attrs: { role: "status" } });
  const kind = el("select", { testid: "alert-new-kind", attrs: { id: "alert-new-kind" } });
  for (const k of CHANNEL_KINDS) kind.append(el("option", { text: kindLabel(k), attrs: { value: k } }));
  const id = el("input", {
    testid: "alert-new-id",
    attrs: { type: "text", id: "alert-new-id", autocomplete: "off", spellcheck: "false", placeholder: "team-slack" },
  });
  const name = el("input", { testid: "alert-new-name", attrs: { type: "text", id: "alert-new-name", placeholder: "Team Slack" } });
  const add = el("button", { text: "Add channel", testid: "alert-add", attrs: { type: "submit" } });
  const element = el(
    "form",
    { class: "settings-form", testid: "alerts-form", attrs: { novalidate: "" } },
    el(
      "fieldset",
      {},
      el("legend", { text: "Alert channels" }),
      el("p", {
        class: "hint",
        text: "Send alerts to Slack, Discord, PagerDuty, a webhook or ntfy, from the service, whether or not this window is open. Webhook URLs and routing keys are secrets: they are stored in the system keychain and never shown here again.",
      }),
      list,
      el(
        "div",
        "field",
        el("label", { text: "New channel", attrs: { for: "alert-new-kind" } }),
        kind,
        el("label", { text: "Id", attrs: { for: "alert-new-id" } }),
        id,
        el("label", { text: "Name", attrs: { for: "alert-new-name" } }),
        name,
      ),
      el("div", "actions", add),
      message,
    ),
  );

  let report: AlertingReport | null = null;

  const say = (text: string, error = false) =>
    setChildren(message, el("p", { class: error ? "error" : "saved", text }));

  /** Saves the channels through `set_settings` (the service validates and applies them). */
  async function saveChannels(channels: ChannelConfig[]): Promise<boolean> {
    const view = context.settings();
    if (!view) {
      say("The settings have not loaded yet.", true);
      return false;
    }
    try {
      const next = await setSettings({ ...view.settings, alert_channels: channels });
      context.settingsChanged(next);
      load();
      return true;
    } catch (error) {
      setChildren(message, errorBox("Not saved:", error));
      return false;
    }
  }

  const channels = (): ChannelConfig[] => report?.channels.map((s) => s.channel) ?? [];

  function replace(changed: ChannelConfig): void {
    void saveChannels(channels().map((c) => (c.id === changed.id ? changed : c)));
  }

  function secretForm(status: ChannelStatus, slot: SecretSlot, words: string): HTMLElement {
    const channel = status.channel;
    const origin = slot === "target" ? status.target : status.auth;
    const input = el("input", {
      testid: `alert-secret-${slot}-${channel.id}`,
      attrs: { type: "password", autocomplete: "off", spellcheck: "false", "aria-label": `${words} of ${channel.name}` },
    });
    const store = el("button", { class: "secondary small", text: "Save", testid: `alert-secret-save-${slot}-${channel.id}`, attrs: { type: "button" } });
    const remove = el("button", { class: "secondary small", text: "Remove", attrs: { type: "button" } });
    remove.disabled = origin !== "keychain" && origin !== "file";
    const run = async (secret: string | null) => {
      try {
        report = await setAlertSecret(channel.id, slot, secret);
        input.value = "";
        draw();
        say(secret === null ? `${words} removed.` : `${words} saved.`);
      } catch (error) {
        input.value = "";
        setChildren(message, errorBox("Not saved:", error));
      }
    };
    store.addEventListener("click", () => {
      const secret = input.value.trim();
      if (secret === "") {
        say(`Paste the ${words.toLowerCase()} first.`, true);
        return;
      }
      void run(secret);
    });
    remove.addEventListener("click", () => void run(null));
    return el(
      "div",
      "field",
      el("span", { text: `${words}: ` }, el("span", { testid: `alert-secret-state-${slot}-${channel.id}`, text: secretText(origin) })),
      input,
      el("div", "actions", store, remove),
    );
  }

  function levelBox(channel: ChannelConfig, level: Level, label: string): HTMLElement {
    const box = el("input", { testid: `alert-level-${level}-${channel.id}`, attrs: { type: "checkbox" } });
    box.checked = channel.filter.levels.includes(level);
    box.addEventListener("change", () => {
      const levels = (["overloaded", "outage"] as Level[]).filter((l) =>
        l === level ? box.checked : channel.filter.levels.includes(l),
      );
      replace({ ...channel, filter: { ...channel.filter, levels } });
    });
    return el("label", { class: "check" }, box, ` ${label}`);
  }

  function topicBox(channel: ChannelConfig, topic: "incidents" | "budget" | "plan" | "traffic", label: string): HTMLElement {
    const box = el("input", { testid: `alert-${topic}-${channel.id}`, attrs: { type: "checkbox" } });
    box.checked = channel.filter[topic];
    box.addEventListener("change", () => replace({ ...channel, filter: { ...channel.filter, [topic]: box.checked } }));
    return el("label", { class: "check" }, box, ` ${label}`);
  }

  function row(status: ChannelStatus): HTMLElement {
    const channel = status.channel;
    const state = el("p", {
      class: status.failing ? "error" : "hint",
      testid: `alert-state-${channel.id}`,
      text: channelStateText(status),
    });
    state.dataset.failing = String(status.failing);
    const enabled = el("input", { testid: `alert-enabled-${channel.id}`, attrs: { type: "checkbox" } });
    enabled.checked = channel.enabled;
    enabled.addEventListener("change", () => replace({ ...channel, enabled: enabled.checked }));
    const models = el("input", {
      testid: `alert-models-${channel.id}`,
      attrs: { type: "text", autocomplete: "off", spellcheck: "false", placeholder: "every followed model", "aria-label": `Models of ${channel.name}` },
    });
    models.value = channel.filter.models.join(", ");
    models.addEventListener("change", () => {
      const list = models.value.split(/[\s,]+/).filter((m) => m !== "");
      replace({ ...channel, filter: { ...channel.filter, models: list } });
    });
    const test = el("button", { class: "secondary small", text: "Send test alert", testid: `alert-test-${channel.id}`, attrs: { type: "button" } });
    const outcome = el("p", { testid: `alert-test-outcome-${channel.id}`, attrs: { role: "status" } });
    test.addEventListener("click", () => {
      test.disabled = true;
      outcome.textContent = "Sending…";
      sendTestAlert(channel.id)
        .then((outcomes) => {
          const result = outcomes[0];
          outcome.className = result?.ok ? "saved" : "error";
          outcome.textContent = result ? (result.ok ? `Test alert ${result.message}.` : `Test alert failed: ${result.message}`) : "";
          load();
        })
        .catch((error) => {
          outcome.className = "error";
          outcome.textContent = errorText(error);
        })
        .finally(() => {
          test.disabled = false;
        });
    });
    const removeChannel = el("button", { class: "secondary small", text: "Remove channel", testid: `alert-remove-${channel.id}`, attrs: { type: "button" } });
    removeChannel.addEventListener("click", () => {
      if (!window.confirm(`Remove the channel "${channel.name}" and its stored secrets?`)) return;
      void saveChannels(channels().filter((c) => c.id !== channel.id));
    });
    const auth = authWords(channel.kind);
    const box = el(
      "div",
      { class: "alert-channel", testid: `alert-channel-${channel.id}` },
      el("h4", { text: `${channel.name} (${kindLabel(channel.kind)}, ${channel.id})` }),
      state,
      el("label", { class: "check" }, enabled, " On"),
      secretForm(status, "target", targetWords(channel.kind)),
      auth ? secretForm(status, "auth", auth) : null,
      el(
        "div",
        "field",
        el("span", { text: "Alerts: " }),
        levelBox(channel, "overloaded", "Overloaded"),
        levelBox(channel, "outage", "Outage"),
        topicBox(channel, "incidents", "Official incidents"),
        topicBox(channel, "budget", "Budget and limits"),
        topicBox(channel, "plan", "Plan windows"),
        topicBox(channel, "traffic", "Traffic spikes (gateway)"),
        el("span", { class: "hint", testid: `alert-level-hint-${channel.id}`, text: levelTopicHint() }),
      ),
      el("div", "field", el("span", { text: "Only these models: " }), models),
      el("div", "actions", test, removeChannel),
      outcome,
    );
    if (status.failing) box.dataset.failing = "true";
    return box;
  }

  function draw(): void {
    if (!report) return;
    if (!report.running) {
      setChildren(list, el("p", { class: "hint", text: "The service in use does not route alerts (an older version)." }));
      return;
    }
    if (report.channels.length === 0) {
      setChildren(list, el("p", { class: "empty", testid: "alerts-empty", text: "No alert channels yet: add one below." }));
      return;
    }
    setChildren(list, ...report.channels.map(row));
    if (report.events_dropped > 0) {
      list.append(el("p", { class: "error", text: `${report.events_dropped} notifications were dropped before routing (the router fell behind).` }));
    }
  }

  element.addEventListener("submit", (event) => {
    event.preventDefault();
    const newId = id.value.trim();
    const problem = channelIdProblem(newId, channels());
    if (problem) {
      say(problem, true);
      return;
    }
    void saveChannels([...channels(), newChannel(kind.value as ChannelKind, newId, name.value)]).then((ok) => {
      if (!ok) return;
      id.value = "";
      name.value = "";
      say(`Added. Now set its ${targetWords(kind.value as ChannelKind).toLowerCase()}.`);
    });
  });

  function load(): void {
    getAlertChannels()
      .then((next) => {
        // Redrawn only when something changed, so a secret being typed is not wiped by a
        // snapshot that changed nothing here.
        if (report && JSON.stringify(report) === JSON.stringify(next)) return;
        report = next;
        draw();
      })
      .catch((error) => setChildren(list, errorBox("The alert channels could not be read:", error)));
  }

  return { element, load };
}
