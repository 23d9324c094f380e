// Settings: everything the tray app stores, checked as it is typed (the rules of settings.rs,
// mirrored in settings-rules.ts) and by the shell on save (its `invalid_settings` message is shown
// next to the form). The API key, the Admin API key and the fallback chain's provider keys go to
// the keychain and are never shown back. The per-model probe, the pinned and the dropped models,
// and the gateway's fallback to other providers (the chain, the wait, the OpenAI-compatible
// servers) are set here too.

import type { ComponentReport } from "../bindings/ComponentReport.ts";
import type { ProviderEndpoint } from "../bindings/ProviderEndpoint.ts";
import type { Settings } from "../bindings/Settings.ts";
import { probeCostHint } from "../cost.ts";
import { copyLine, el, errorBox, setChildren } from "../dom.ts";
import { apiKeyText } from "../format.ts";
import { baseUrlLine } from "../gateway.ts";
import type { StatusLineSetup } from "../bindings/StatusLineSetup.ts";
import {
  getSettings,
  getProviderKeys,
  getStatusLine,
  installStatusLine,
  isIpcError,
  type ProviderKeyStatus,
  setAdminKey,
  setApiKey,
  setProviderKey,
  setSettings,
  type SettingsView,
  uninstallStatusLine,
} from "../ipc.ts";
import {
  budgetCents,
  budgetText,
  chainServers,
  fallbackAfterFields,
  fallbackAfterSecs,
  modelListText,
  NUMBER_FIELDS,
  parseModelList,
  type SettingsField,
  settingsProblems,
  splitSettingsError,
} from "../settings-rules.ts";
import { findTier, TIERS } from "../tiers.ts";
import { alertsPanel } from "./alerts.ts";
import type { AppContext, View } from "./context.ts";

type NumberField = keyof typeof NUMBER_FIELDS;
type BooleanField =
  | "streaming_probe"
  | "notifications"
  | "launch_at_login"
  | "usage_tracking"
  | "claude_code_logs"
  | "admin_api"
  | "gateway"
  | "gateway_retry"
  | "advisor_count_tokens"
  | "price_refresh";
type BudgetField = "monthly_budget_cents" | "daily_budget_cents";
type ModelListField = "gateway_fallback" | "pinned_models" | "dropped_models" | "gateway_allowed_origins";

const BUDGET_LABELS: Record<BudgetField, string> = {
  monthly_budget_cents: "Monthly budget (US$, UTC calendar month)",
  daily_budget_cents: "Daily budget (US$)",
};

/** The select's value for "no override": the tier is identified from the rate-limit headers. */
const IDENTIFY = "";

/**
 * Claude Code's status line: where Claude Code's settings stand and the one button that fits —
 * install (none), remove (ours), replace after a confirmation (another one), or nothing
 * (unreadable: the file is not valid JSON and is left alone).
 */
export function statusLinePanel(): { element: HTMLElement; load(): void } {
  const state = el("p", { testid: "status-line-state" });
  const message = el("div", { testid: "status-line-message", attrs: { role: "status" } });
  const actions = el("div", "actions");
  const element = el(
    "form",
    { class: "settings-form", testid: "status-line-form", attrs: { novalidate: "" } },
    el(
      "fieldset",
      {},
      el("legend", { text: "Claude Code status line" }),
      el("p", {
        class: "hint",
        text: "Shows your model's health, the session's cost, today's spend, your plan's 5-hour and weekly windows and the context in use under Claude Code's prompt. Installing edits Claude Code's settings file: every other setting is kept, and a backup is written first.",
      }),
      state,
      actions,
      message,
    ),
  );
  element.addEventListener("submit", (event) => event.preventDefault());
  const button = (text: string, testid: string, run: () => Promise<StatusLineSetup>, confirmText?: string) => {
    const b = el("button", { text, testid, attrs: { type: "button" } });
    b.addEventListener("click", () => {
      // Replacing someone's own status line is asked first.
      if (confirmText && !window.confirm(confirmText)) return;
      b.disabled = true;
      run()
        .then((setup) => draw(setup))
        .catch((e) => {
          b.disabled = false;
          setChildren(message, el("p", { class: "error", text: isIpcError(e) ? e.message : String(e) }));
        });
    });
    return b;
  };
  function draw(setup: StatusLineSetup): void {
    element.dataset.state = setup.state;
    const where = setup.path;
    switch (setup.state) {
      case "none":
        state.textContent = `Not installed (${where}).`;
        setChildren(actions, button("Install status line", "status-line-install", () => installStatusLine(false)));
        break;
      case "ours":
        state.textContent = `Installed in ${where}: ${setup.command ?? ""}`;
        setChildren(actions, button("Remove status line", "status-line-remove", () => uninstallStatusLine()));
        break;
      case "other": {
        state.textContent = `${where} already runs another status line: ${setup.command ?? ""}`;
        setChildren(
          actions,
          button(
            "Replace it",
            "status-line-replace",
            () => installStatusLine(true),
            `Replace the status line "${setup.command ?? ""}" with Claude Status's? The current settings file is backed up first.`,
          ),
        );
        break;
      }
      case "unreadable":
        state.textContent = `${where} is not valid JSON, so nothing is changed. Fix the file, then come back.`;
        setChildren(actions);
        break;
    }
    setChildren(message, setup.message ? el("p", { class: "saved", text: setup.message }) : null);
  }
  return {
    element,
    load() {
      getStatusLine()
        .then(draw)
        .catch((e) => setChildren(message, errorBox("Claude Code's settings could not be read", e)));
    },
  };
}

/** Where a provider's key is: "stored in the keychain", "from $OPENAI_API_KEY", "none". */
export function providerKeyText(status: ProviderKeyStatus): string {
  switch (status.source) {
    case "keychain":
      return "stored in the keychain";
    case "environment":
      return `from $${status.env_var}`;
    case "none":
      return status.required ? "none" : "none (a server may need none)";
  }
}

/** Where the Admin API key stands; `undefined` when the shell does not say. */
function adminKeyText(configured: boolean | undefined): string {
  if (configured === undefined) return "not reported by the app";
  return configured ? "configured (keychain)" : "not set";
}

const NUMBER_LABELS: Record<NumberField, string> = {
  probe_interval_secs: "Probe every (seconds)",
  latency_threshold_ms: "Slow answer above (ms)",
  ttft_threshold_ms: "Slow first token above (ms)",
  failures_to_enter: "Failures in a row before alerting",
  successes_to_leave: "Successes in a row before recovering",
  gateway_port: "Gateway port",
};

/** How the form's summary names a field that needs fixing (its label, shortened). */
const FIELD_NAMES: Partial<Record<SettingsField, string>> = {
  ...NUMBER_LABELS,
  ...BUDGET_LABELS,
  streaming_model: "Default model",
  pinned_models: "Pinned models",
  dropped_models: "Dropped models",
  tier_override: "Tier",
  followed_components: "Components",
  gateway_fallback: "Fallback chain",
  gateway_allowed_origins: "Web pages allowed to call the gateway",
  gateway_fallback_after_secs: "Fall back to other providers after",
  gateway_providers: "OpenAI-compatible servers",
  metrics_addr: "Metrics address",
};

export function settingsView(context: AppContext): View {
  const alerts = alertsPanel(context);
  const form = el("form", { class: "settings-form", testid: "settings-form", attrs: { novalidate: "" } });
  const formError = el("div", { testid: "settings-error", attrs: { role: "alert" } });
  const saved = el("p", { class: "status-line", testid: "settings-saved", attrs: { role: "status" } });
  const save = el("button", { text: "Save settings", testid: "settings-save", attrs: { type: "submit" } });
  const numbers = new Map<NumberField, HTMLInputElement>();
  const gatewayStatus = el("div", { testid: "gateway-status" });
  const metricsStatus = el("div", { testid: "metrics-status" });
  const metricsAddr = el("input", {
    testid: "setting-metrics_addr",
    attrs: {
      type: "text",
      id: "setting-metrics_addr",
      autocomplete: "off",
      spellcheck: "false",
      placeholder: "off (e.g. 127.0.0.1:9464)",
      "aria-describedby": "hint-metrics_addr error-metrics_addr",
    },
  });
  const checks = new Map<BooleanField, HTMLInputElement>();
  const budgets = new Map<BudgetField, HTMLInputElement>();
  const tierSelect = el("select", {
    testid: "setting-tier_override",
    attrs: { id: "setting-tier_override", "aria-describedby": "hint-tier_override error-tier_override" },
  });
  const fieldErrors = new Map<SettingsField, HTMLElement>();
  const model = el("input", {
    testid: "setting-streaming_model",
    attrs: { type: "text", id: "setting-streaming_model", autocomplete: "off", spellcheck: "false", "aria-describedby": "error-streaming_model streaming-cost" },
  });
  const cost = el("p", { class: "hint", testid: "streaming-cost", attrs: { id: "streaming-cost", "aria-live": "polite" } });
  /** A text field of model ids separated by commas or spaces. */
  const modelList = (field: ModelListField, placeholder: string) =>
    el("input", {
      testid: `setting-${field}`,
      attrs: {
        type: "text",
        id: `setting-${field}`,
        autocomplete: "off",
        spellcheck: "false",
        placeholder,
        "aria-describedby": `hint-${field} error-${field}`,
      },
    });
  const fallback = modelList("gateway_fallback", "claude-opus-4-6, claude-sonnet-4-6, openai:gpt-4o");
  const afterInput = el("input", {
    testid: "setting-gateway_fallback_after_secs",
    attrs: {
      type: "number",
      id: "setting-gateway_fallback_after_secs",
      min: "0",
      step: "1",
      inputmode: "numeric",
      "aria-describedby": "hint-gateway_fallback_after_secs error-gateway_fallback_after_secs",
    },
  });
  const afterUnit = el(
    "select",
    { testid: "setting-gateway_fallback_after_unit", attrs: { "aria-label": "Unit of the wait before other providers" } },
    el("option", { text: "minutes", attrs: { value: "min" } }),
    el("option", { text: "seconds", attrs: { value: "s" } }),
  );
  /** The declared OpenAI-compatible servers, one row each (name, base URL, Remove). */
  const providerRows = el("div", { class: "provider-rows", testid: "setting-gateway_providers" });
  const providerAdd = el("button", { class: "secondary small", text: "Add a server", testid: "provider-add", attrs: { type: "button" } });
  const providerKeysList = el("div", { testid: "provider-keys" });
  const providerKeysMessage = el("div", { testid: "provider-keys-message", attrs: { role: "status" } });
  const pinned = modelList("pinned_models", "no model pinned");
  const dropped = modelList("dropped_models", "no model dropped");
  const origins = modelList("gateway_allowed_origins", "no web page allowed");
  const listInputs: Record<ModelListField, HTMLInputElement> = {
    gateway_fallback: fallback,
    pinned_models: pinned,
    dropped_models: dropped,
    gateway_allowed_origins: origins,
  };
  const componentsBox = el("div", { class: "component-checks", testid: "setting-followed_components" });
  let view: SettingsView | null = null;
  /** Component ids checked in the form (kept across redraws of the list). */
  let followed = new Set<string>();
  let componentIds = "";
  let touched = false;
  let submitted = false;

  const keyStatus = el("span", { testid: "api-key-status" });
  const keyInput = el("input", {
    testid: "setting-api_key",
    attrs: { type: "password", id: "setting-api_key", autocomplete: "off", spellcheck: "false", placeholder: "sk-ant-…", "aria-describedby": "api-key-error" },
  });
  const keyError = el("div", { testid: "api-key-error", attrs: { id: "api-key-error", role: "alert" } });
  const keyRemove = el("button", { class: "secondary", text: "Remove key", testid: "api-key-remove", attrs: { type: "button" } });

  const adminStatus = el("span", { testid: "admin-key-status" });
  const adminInput = el("input", {
    testid: "setting-admin_key",
    attrs: { type: "password", id: "setting-admin_key", autocomplete: "off", spellcheck: "false", placeholder: "sk-ant-admin…", "aria-describedby": "admin-key-error" },
  });
  const adminError = el("div", { testid: "admin-key-error", attrs: { id: "admin-key-error", role: "alert" } });
  const adminRemove = el("button", { class: "secondary", text: "Remove admin key", testid: "admin-key-remove", attrs: { type: "button" } });

  function errorSlot(field: SettingsField): HTMLElement {
    const slot = el("p", { class: "field-error", testid: `setting-error-${field}`, attrs: { id: `error-${field}` } });
    fieldErrors.set(field, slot);
    return slot;
  }

  function numberField(field: NumberField): HTMLElement {
    const rule = NUMBER_FIELDS[field];
    const input = el("input", {
      testid: `setting-${field}`,
      attrs: {
        type: "number",
        id: `setting-${field}`,
        min: String(rule.min),
        max: String(rule.max),
        step: "1",
        inputmode: "numeric",
        "aria-describedby": `hint-${field} error-${field}`,
      },
    });
    numbers.set(field, input);
    return el(
      "div",
      "field",
      el("label", { text: NUMBER_LABELS[field], attrs: { for: `setting-${field}` } }),
      input,
      el("span", { class: "hint", text: rule.hint, attrs: { id: `hint-${field}` } }),
      errorSlot(field),
    );
  }

  function checkField(field: BooleanField, label: string, extra?: Node): HTMLElement {
    const input = el("input", { testid: `setting-${field}`, attrs: { type: "checkbox", id: `setting-${field}` } });
    checks.set(field, input);
    return el("div", "field check", el("label", {}, input, ` ${label}`), extra ?? null, errorSlot(field));
  }

  function listField(field: ModelListField, label: string, hint: string): HTMLElement {
    return el(
      "div",
      "field",
      el("label", { text: label, attrs: { for: `setting-${field}` } }),
      listInputs[field],
      el("span", { class: "hint", text: hint, attrs: { id: `hint-${field}` } }),
      errorSlot(field),
    );
  }

  function budgetField(field: BudgetField): HTMLElement {
    const input = el("input", {
      testid: `setting-${field}`,
      attrs: {
        type: "text",
        id: `setting-${field}`,
        inputmode: "decimal",
        autocomplete: "off",
        placeholder: "no budget",
        "aria-describedby": `hint-${field} error-${field}`,
      },
    });
    budgets.set(field, input);
    return el(
      "div",
      "field",
      el("label", { text: BUDGET_LABELS[field], attrs: { for: `setting-${field}` } }),
      input,
      el("span", { class: "hint", text: "Empty for none; alerts at 80% and 95%", attrs: { id: `hint-${field}` } }),
      errorSlot(field),
    );
  }

  /** The tier choices, with the stored value kept when it is not one of them (it then fails the check). */
  function fillTiers(stored: string | null): void {
    const known = stored === null ? null : findTier(stored);
    const options = [
      el("option", { text: "Identify from the rate-limit headers", attrs: { value: IDENTIFY } }),
      ...TIERS.map((tier) => el("option", { text: tier.name, attrs: { value: tier.key } })),
    ];
    if (stored !== null && !known) options.push(el("option", { text: `${stored} (not a known tier)`, attrs: { value: stored } }));
    setChildren(tierSelect, ...options);
    tierSelect.value = stored === null ? IDENTIFY : (known?.key ?? stored);
  }

  /** The settings as the form has them, over the ones in force. */
  function fromForm(base: Settings): Settings {
    const number = (field: NumberField) => {
      const text = numbers.get(field)?.value.trim() ?? "";
      return text === "" ? Number.NaN : Number(text);
    };
    return {
      ...base,
      probe_interval_secs: number("probe_interval_secs"),
      streaming_probe: checks.get("streaming_probe")?.checked ?? base.streaming_probe,
      streaming_model: model.value.trim(),
      pinned_models: parseModelList(pinned.value),
      dropped_models: parseModelList(dropped.value),
      latency_threshold_ms: number("latency_threshold_ms"),
      ttft_threshold_ms: number("ttft_threshold_ms"),
      failures_to_enter: number("failures_to_enter"),
      successes_to_leave: number("successes_to_leave"),
      followed_components: [...followed],
      notifications: checks.get("notifications")?.checked ?? base.notifications,
      launch_at_login: checks.get("launch_at_login")?.checked ?? base.launch_at_login,
      usage_tracking: checks.get("usage_tracking")?.checked ?? base.usage_tracking,
      claude_code_logs: checks.get("claude_code_logs")?.checked ?? base.claude_code_logs,
      tier_override: tierSelect.value === IDENTIFY ? null : tierSelect.value,
      monthly_budget_cents: budgetCents(budgets.get("monthly_budget_cents")?.value ?? ""),
      daily_budget_cents: budgetCents(budgets.get("daily_budget_cents")?.value ?? ""),
      admin_api: checks.get("admin_api")?.checked ?? base.admin_api,
      gateway: checks.get("gateway")?.checked ?? base.gateway,
      gateway_port: number("gateway_port"),
      gateway_retry: checks.get("gateway_retry")?.checked ?? base.gateway_retry,
      advisor_count_tokens: checks.get("advisor_count_tokens")?.checked ?? base.advisor_count_tokens,
      price_refresh: checks.get("price_refresh")?.checked ?? base.price_refresh,
      gateway_fallback: parseModelList(fallback.value),
      gateway_allowed_origins: parseModelList(origins.value),
      gateway_fallback_after_secs: fallbackAfterSecs(afterInput.value, afterUnit.value === "s" ? "s" : "min"),
      gateway_providers: providersFromForm(),
      metrics_addr: metricsAddr.value.trim() === "" ? null : metricsAddr.value.trim(),
    };
  }

  /** Shows the client-side problems (after a first edit or a save attempt); true when none. */
  function check(show: boolean): boolean {
    if (!view) return false;
    const candidate = fromForm(view.settings);
    const problems = settingsProblems(candidate);
    for (const [field, slot] of fieldErrors) {
      const problem = problems[field];
      slot.textContent = show && problem ? problem : "";
      if (field === "gateway_providers") {
        for (const input of providerRows.querySelectorAll("input")) input.setAttribute("aria-invalid", String(show && Boolean(problem)));
        continue;
      }
      const input =
        field === "streaming_model"
          ? model
          : field === "gateway_fallback_after_secs"
            ? afterInput
            : field === "tier_override"
            ? tierSelect
            : field === "metrics_addr"
              ? metricsAddr
              : field in listInputs
                ? listInputs[field as ModelListField]
                : (numbers.get(field as NumberField) ?? budgets.get(field as BudgetField));
      input?.setAttribute("aria-invalid", String(show && Boolean(problem)));
    }
    cost.textContent = probeCostHint(candidate.streaming_model, candidate.probe_interval_secs || 60);
    cost.dataset.enabled = String(candidate.streaming_probe);
    return Object.keys(problems).length === 0;
  }

  function drawComponents(components: ComponentReport[]): void {
    const ids = components.map((c) => c.id).join(",");
    if (ids === componentIds && componentsBox.childElementCount > 0) return;
    componentIds = ids;
    const known = new Set(components.map((c) => c.id));
    const rows = components.map((component) => checkbox(component.id, component.group ? `${component.group}: ${component.name}` : component.name));
    const unknown = [...followed].filter((id) => !known.has(id));
    rows.push(...unknown.map((id) => checkbox(id, components.length > 0 ? `${id} (not on the status page now)` : id)));
    setChildren(componentsBox, 
      ...rows,
      components.length === 0
        ? el("p", { class: "hint", text: "The status page has not been read yet; its components appear here once it has." })
        : null,
    );
  }

  function checkbox(id: string, label: string): HTMLElement {
    const input = el("input", { testid: "followed-component", attrs: { type: "checkbox", value: id } });
    input.checked = followed.has(id);
    input.addEventListener("change", () => {
      if (input.checked) followed.add(id);
      else followed.delete(id);
      touched = true;
      check(true);
    });
    return el("label", "check", input, ` ${label}`);
  }

  /** The servers as the rows have them, in order (a row left wholly empty is none). */
  function providersFromForm(): ProviderEndpoint[] {
    const out: ProviderEndpoint[] = [];
    for (const row of providerRows.querySelectorAll<HTMLElement>('[data-testid="provider-row"]')) {
      const name = row.querySelector<HTMLInputElement>('[data-testid="provider-name"]')?.value.trim() ?? "";
      const base_url = row.querySelector<HTMLInputElement>('[data-testid="provider-url"]')?.value.trim() ?? "";
      if (name === "" && base_url === "") continue;
      out.push({ name, base_url });
    }
    return out;
  }

  /** One server's row: its name (what `openai-compatible:NAME:MODEL` says) and base URL. */
  function providerRow(endpoint: ProviderEndpoint): HTMLElement {
    const index = providerRows.childElementCount;
    const name = el("input", {
      testid: "provider-name",
      attrs: {
        type: "text",
        autocomplete: "off",
        spellcheck: "false",
        placeholder: "local",
        "aria-label": `Name of server ${index + 1}`,
        "aria-describedby": "hint-gateway_providers error-gateway_providers",
      },
    });
    name.value = endpoint.name;
    const url = el("input", {
      testid: "provider-url",
      attrs: {
        type: "text",
        inputmode: "url",
        autocomplete: "off",
        spellcheck: "false",
        placeholder: "http://127.0.0.1:8000/v1",
        "aria-label": `Base URL of server ${index + 1}`,
        "aria-describedby": "hint-gateway_providers error-gateway_providers",
      },
    });
    url.value = endpoint.base_url;
    const remove = el("button", { class: "secondary small", text: "Remove", testid: "provider-remove", attrs: { type: "button" } });
    const row = el("div", { class: "provider-row", testid: "provider-row" }, name, url, remove);
    remove.addEventListener("click", () => {
      row.remove();
      touched = true;
      saved.textContent = "";
      check(true);
    });
    return row;
  }

  function fillProviders(providers: readonly ProviderEndpoint[]): void {
    setChildren(providerRows);
    for (const endpoint of providers) providerRows.append(providerRow(endpoint));
  }

  /**
   * The provider keys: where each is (never what), a field to store a new one in the keychain,
   * and Remove for one stored there. The list follows the saved settings' servers; a server the
   * chain names but the saved settings do not declare yet is said to need saving first.
   */
  function drawProviderKeys(statuses: readonly ProviderKeyStatus[]): void {
    const rows = statuses.map((status) => {
      const state = el("span", { testid: "provider-key-status", text: providerKeyText(status) });
      state.dataset.source = status.source;
      const input = el("input", {
        testid: "provider-key-input",
        attrs: { type: "password", autocomplete: "off", spellcheck: "false", "aria-label": `New key for ${status.label}` },
      });
      const store = el("button", { class: "secondary small", text: "Save key", testid: "provider-key-save", attrs: { type: "button" } });
      const remove = el("button", { class: "secondary small", text: "Remove", testid: "provider-key-remove", attrs: { type: "button" } });
      remove.disabled = status.source !== "keychain";
      const run = async (key: string | null) => {
        store.disabled = true;
        try {
          const next = await setProviderKey(status.name, key);
          input.value = "";
          drawProviderKeys(next);
          setChildren(providerKeysMessage, el("p", { class: "saved", text: key === null ? `${status.label}'s key removed.` : `${status.label}'s key saved in the keychain.` }));
        } catch (error) {
          input.value = "";
          store.disabled = false;
          setChildren(providerKeysMessage, errorBox(key === null ? "Not removed:" : "Not saved:", error));
        }
      };
      store.addEventListener("click", () => {
        const key = input.value.trim();
        if (key === "") {
          setChildren(providerKeysMessage, el("p", { class: "error", text: `Paste ${status.label}'s key first, or use Remove.` }));
          return;
        }
        if (/\s/.test(key) || key.length > 4096) {
          setChildren(providerKeysMessage, el("p", { class: "error", text: "A provider key is one word of at most 4096 characters." }));
          input.value = "";
          return;
        }
        void run(key);
      });
      remove.addEventListener("click", () => void run(null));
      const row = el(
        "div",
        { class: "field provider-key", testid: "provider-key" },
        el("p", {}, el("strong", { text: status.label }), ": ", state),
        el("p", { class: "hint", text: status.source === "keychain" ? `Used before $${status.env_var}.` : `Or set $${status.env_var} where the service runs.` }),
        input,
        el("div", "actions", store, remove),
      );
      row.dataset.provider = status.name;
      return row;
    });
    const known = new Set(statuses.map((s) => s.name));
    const unsaved = chainServers(parseModelList(fallback.value)).filter((name) => !known.has(name));
    setChildren(
      providerKeysList,
      ...rows,
      unsaved.length > 0
        ? el("p", { class: "hint", testid: "provider-keys-unsaved", text: `Save the settings to set the key of ${unsaved.join(", ")}.` })
        : null,
    );
  }

  let keysLoaded: readonly ProviderKeyStatus[] = [];

  function loadProviderKeys(): void {
    getProviderKeys()
      .then((statuses) => {
        keysLoaded = statuses;
        drawProviderKeys(statuses);
      })
      .catch((error) => setChildren(providerKeysMessage, errorBox("Could not read the provider keys:", error, () => loadProviderKeys())));
  }

  /** The line to copy while the gateway runs, or why it could not start. */
  function showGateway(next: SettingsView): void {
    if (next.gateway_url) {
      setChildren(
        gatewayStatus,
        el("p", { text: "Point your code at the gateway:" }),
        copyLine(baseUrlLine(next.gateway_url), "gateway-line"),
      );
    } else if (next.gateway_error) {
      setChildren(gatewayStatus, el("p", { class: "error", text: `The gateway could not start: ${next.gateway_error}` }));
    } else {
      setChildren(gatewayStatus, el("p", { class: "hint", text: next.settings.gateway ? "The gateway starts with the next check." : "The gateway is off." }));
    }
  }

  /** Where Prometheus can scrape, or why the metrics are not served. */
  function showMetrics(next: SettingsView): void {
    if (next.metrics_url) {
      setChildren(metricsStatus, el("p", { text: "Prometheus can scrape:" }), copyLine(next.metrics_url, "metrics-url"));
    } else if (next.metrics_error) {
      setChildren(metricsStatus, el("p", { class: "error", text: `The metrics could not be served: ${next.metrics_error}` }));
    } else {
      setChildren(metricsStatus, el("p", { class: "hint", text: next.settings.metrics_addr ? "The metrics start with the next check." : "No metrics are served." }));
    }
  }

  function fill(next: SettingsView): void {
    view = next;
    const s = next.settings;
    for (const [field, input] of numbers) input.value = String(s[field]);
    for (const [field, input] of checks) input.checked = s[field];
    model.value = s.streaming_model;
    fallback.value = modelListText(s.gateway_fallback);
    origins.value = modelListText(s.gateway_allowed_origins);
    const after = fallbackAfterFields(s.gateway_fallback_after_secs);
    afterInput.value = after.value;
    afterUnit.value = after.unit;
    fillProviders(s.gateway_providers);
    pinned.value = modelListText(s.pinned_models);
    dropped.value = modelListText(s.dropped_models);
    fillTiers(s.tier_override);
    for (const [field, input] of budgets) input.value = budgetText(s[field]);
    showAdminKey(next.admin_key_configured);
    showGateway(next);
    metricsAddr.value = s.metrics_addr ?? "";
    showMetrics(next);
    followed = new Set(s.followed_components);
    componentIds = "";
    drawComponents(context.snapshot()?.status_page.components ?? []);
    keyStatus.textContent = apiKeyText(next.api_key_source);
    keyStatus.dataset.source = next.api_key_source;
    keyRemove.disabled = next.api_key_source !== "keychain";
    touched = false;
    submitted = false;
    check(false);
  }

  function showServerError(error: unknown): void {
    if (isIpcError(error) && error.kind === "invalid_settings") {
      const { field, text } = splitSettingsError(error.message);
      const slot = field ? fieldErrors.get(field) : undefined;
      if (slot) slot.textContent = text;
      setChildren(formError, errorBox("Not saved:", error));
      return;
    }
    setChildren(formError, errorBox("Not saved:", error));
  }

  async function submit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    setChildren(formError, );
    saved.textContent = "";
    if (!view) {
      setChildren(formError, errorBox("Not saved:", "the settings have not loaded yet."));
      return;
    }
    submitted = true;
    if (!check(true)) {
      form.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
      const names = Object.keys(settingsProblems(fromForm(view.settings))).map((field) => FIELD_NAMES[field as SettingsField] ?? field);
      setChildren(formError, el("p", { class: "error", text: `Nothing was saved. Fix the fields marked above: ${names.join("; ")}.` }));
      return;
    }
    save.disabled = true;
    try {
      const next = await setSettings(fromForm(view.settings));
      fill(next);
      context.settingsChanged(next);
      saved.textContent = "Saved.";
      // The servers may have changed, and with them the keys to show.
      loadProviderKeys();
    } catch (error) {
      showServerError(error);
    } finally {
      save.disabled = false;
    }
  }

  async function storeKey(key: string | null): Promise<void> {
    setChildren(keyError, );
    try {
      const next = await setApiKey(key);
      keyInput.value = "";
      keyStatus.textContent = apiKeyText(next.api_key_source);
      keyStatus.dataset.source = next.api_key_source;
      keyRemove.disabled = next.api_key_source !== "keychain";
      if (view) view = { ...view, api_key_configured: next.api_key_configured, api_key_source: next.api_key_source };
    } catch (error) {
      setChildren(keyError, errorBox(key === null ? "Not removed:" : "Not saved:", error));
    }
  }

  function showAdminKey(configured: boolean | undefined): void {
    adminStatus.textContent = adminKeyText(configured);
    adminStatus.dataset.configured = String(configured ?? "unknown");
    adminRemove.disabled = configured !== true;
  }

  async function storeAdminKey(key: string | null): Promise<void> {
    setChildren(adminError);
    try {
      const next = await setAdminKey(key);
      adminInput.value = "";
      showAdminKey(next.admin_key_configured);
      if (view) {
        const { admin_key_configured: configured } = next;
        view = configured === undefined ? view : { ...view, admin_key_configured: configured };
      }
    } catch (error) {
      adminInput.value = "";
      setChildren(adminError, errorBox(key === null ? "Not removed:" : "Not saved:", error));
    }
  }

  async function load(): Promise<void> {
    try {
      const next = await getSettings();
      fill(next);
      context.settingsChanged(next);
      setChildren(formError, );
    } catch (error) {
      setChildren(formError, errorBox("Could not read the settings:", error, () => void load()));
    }
  }

  return {
    name: "settings",
    mount(panel) {
      form.append(
        el(
          "fieldset",
          {},
          el("legend", { text: "Probes" }),
          numberField("probe_interval_secs"),
          checkField(
            "streaming_probe",
            "Per-model streaming probe (on by default): one one-token streamed request to each model you follow, the most used every minute and the others every 5 minutes, to see overloads and time to first token. It runs only with an API key, and each request costs a little.",
            cost,
          ),
          el(
            "div",
            "field",
            el("label", { text: "Default model", attrs: { for: "setting-streaming_model" } }),
            model,
            el("span", { class: "hint", text: "Followed when your requests name no model and nothing is pinned" }),
            errorSlot("streaming_model"),
          ),
          listField(
            "pinned_models",
            "Pinned models",
            "Always followed and counted as yours, whatever your requests say: model ids separated by commas or spaces, at most 20",
          ),
          listField(
            "dropped_models",
            "Dropped models",
            "Never followed, even when your requests use them; a model cannot be both pinned and dropped",
          ),
          numberField("latency_threshold_ms"),
          numberField("ttft_threshold_ms"),
        ),
        el(
          "fieldset",
          {},
          el("legend", { text: "Alerts" }),
          numberField("failures_to_enter"),
          numberField("successes_to_leave"),
          checkField("notifications", "Notifications"),
          checkField("launch_at_login", "Launch at login"),
        ),
        el(
          "fieldset",
          { testid: "usage-settings" },
          el("legend", { text: "Usage and cost" }),
          checkField("usage_tracking", "Track my usage and cost (per-minute use against the tier, spend, cost figures)"),
          checkField("claude_code_logs", "Read Claude Code's logs (~/.claude/projects) as a usage source"),
          el(
            "div",
            "field",
            el("label", { text: "Tier", attrs: { for: "setting-tier_override" } }),
            tierSelect,
            el("span", { class: "hint", text: "Which limits and spend cap apply; identified from the headers unless you choose", attrs: { id: "hint-tier_override" } }),
            errorSlot("tier_override"),
          ),
          budgetField("monthly_budget_cents"),
          budgetField("daily_budget_cents"),
          checkField(
            "admin_api",
            "Read usage and cost from the Admin API (authoritative for your organisation; needs an admin key below)",
          ),
          checkField(
            "price_refresh",
            "Refresh prices daily from LiteLLM's maintained price table (a table that drops models or moves a price more than 10× is refused; off: the bundled table)",
          ),
        ),
        el(
          "fieldset",
          { testid: "gateway-settings" },
          el("legend", { text: "Local gateway" }),
          checkField(
            "gateway",
            "Run a local gateway that meters my own API traffic (its 529s and 429s are the earliest signal; nothing of the content is kept)",
          ),
          numberField("gateway_port"),
          gatewayStatus,
          checkField("gateway_retry", "Retry 529, 500 and 429 in the gateway before my code sees them (never the spend cap)"),
          checkField(
            "advisor_count_tokens",
            "Count each new prompt prefix once with the API's count_tokens (free, with the request's own key) so the Budget view's caching advice uses exact sizes instead of 4 characters per token",
          ),
          listField(
            "gateway_allowed_origins",
            "Web pages allowed to call the gateway",
            "Origins such as http://localhost:3000, separated by commas or spaces: a web app of your own that calls the API from the browser. A request from any other page is refused, so a site you visit cannot use the gateway or read its figures. SDKs and command-line tools send no origin and need nothing here.",
          ),
          listField(
            "gateway_fallback",
            "Fallback chain",
            "In order, separated by commas or spaces, starting at the Claude model a request asks for: other Claude models (tried per request after persistent 529s), then other providers' models as openai:MODEL, gemini:MODEL or openai-compatible:NAME:MODEL (a server declared below). 2 to 8 entries, or empty for none. A request for a model outside the chain is never switched.",
          ),
          el("p", {
            class: "hint",
            testid: "gateway-resilience-hint",
            text: "Both are off by default. Your SDK already retries 529s, 500s and 429s, so retries here come on top of its own and multiply the attempts and the wait; and a fallback answers with another model than the one your code asked for.",
          }),
          el(
            "div",
            "field",
            el("label", { text: "Fall back to other providers after", attrs: { for: "setting-gateway_fallback_after_secs" } }),
            el("div", "inline-fields", afterInput, afterUnit),
            el("span", {
              class: "hint",
              text: "How long a model must have been overloaded or in outage before its requests go to another provider (default 5 minutes, at most a day); 0 sends a request there at once when it still fails after the retries. Traffic comes back to Claude by itself once the model is operational.",
              attrs: { id: "hint-gateway_fallback_after_secs" },
            }),
            errorSlot("gateway_fallback_after_secs"),
          ),
          el(
            "div",
            "field",
            el("span", { class: "label", text: "OpenAI-compatible servers" }),
            providerRows,
            el("div", "actions", providerAdd),
            el("span", {
              class: "hint",
              text: "A local server or your company's own deployment that speaks Chat Completions: a name for the chain (openai-compatible:NAME:MODEL) and its base URL, e.g. http://127.0.0.1:8000/v1. The names openai and gemini move those providers' base URLs instead. At most 8. Their keys go under “Other providers' keys” below.",
              attrs: { id: "hint-gateway_providers" },
            }),
            errorSlot("gateway_providers"),
          ),
        ),
        el(
          "fieldset",
          { testid: "metrics-settings" },
          el("legend", { text: "Prometheus metrics" }),
          el(
            "div",
            "field",
            el("label", { text: "Serve /metrics at", attrs: { for: "setting-metrics_addr" } }),
            metricsAddr,
            el("span", {
              class: "hint",
              text: "An address with a port, e.g. 127.0.0.1:9464; empty for none. Levels, probes, the gateway's traffic, tokens and cost in Prometheus' format, for a Prometheus and Grafana you run (docs/team.md). Loopback only: the figures say which models you use and what you spend.",
              attrs: { id: "hint-metrics_addr" },
            }),
            errorSlot("metrics_addr"),
          ),
          metricsStatus,
        ),
        el(
          "fieldset",
          {},
          el("legend", { text: "Components that mean “the API” to you" }),
          componentsBox,
          errorSlot("followed_components"),
        ),
        el("div", "actions", save),
        formError,
        saved,
      );
      form.addEventListener("input", () => {
        touched = true;
        saved.textContent = "";
        check(submitted || touched);
      });
      form.addEventListener("submit", (event) => void submit(event));
      providerAdd.addEventListener("click", () => {
        const row = providerRow({ name: "", base_url: "" });
        providerRows.append(row);
        row.querySelector("input")?.focus();
      });
      // The note about servers whose key can be set once saved follows the chain as it is typed.
      fallback.addEventListener("input", () => drawProviderKeys(keysLoaded));

      const keyForm = el(
        "form",
        { class: "settings-form", testid: "api-key-form", attrs: { novalidate: "" } },
        el(
          "fieldset",
          {},
          el("legend", { text: "Anthropic API key" }),
          el("p", {}, "Key: ", keyStatus),
          el("p", { class: "hint", text: "Stored in the system keychain. It is never shown here again." }),
          el("div", "field", el("label", { text: "New key", attrs: { for: "setting-api_key" } }), keyInput),
          el("div", "actions", el("button", { text: "Save key", testid: "api-key-save", attrs: { type: "submit" } }), keyRemove),
          keyError,
        ),
      );
      keyForm.addEventListener("submit", (event) => {
        event.preventDefault();
        const key = keyInput.value.trim();
        if (key === "") {
          setChildren(keyError, el("p", { class: "error", text: "Paste a key first, or use Remove key." }));
          return;
        }
        if (/\s/.test(key) || key.length > 256) {
          setChildren(keyError, el("p", { class: "error", text: "An API key is one word of at most 256 characters." }));
          return;
        }
        void storeKey(key);
      });
      keyRemove.addEventListener("click", () => void storeKey(null));

      const adminForm = el(
        "form",
        { class: "settings-form", testid: "admin-key-form", attrs: { novalidate: "" } },
        el(
          "fieldset",
          {},
          el("legend", { text: "Admin API key" }),
          el("p", {}, "Admin key: ", adminStatus),
          el("p", {
            class: "hint",
            text: "An organisation admin key (sk-ant-admin…) from the Console, for the Admin API's usage and cost reports. Stored in the system keychain; it is never shown here again.",
          }),
          el("div", "field", el("label", { text: "New admin key", attrs: { for: "setting-admin_key" } }), adminInput),
          el("div", "actions", el("button", { text: "Save admin key", testid: "admin-key-save", attrs: { type: "submit" } }), adminRemove),
          adminError,
        ),
      );
      adminForm.addEventListener("submit", (event) => {
        event.preventDefault();
        const key = adminInput.value.trim();
        if (key === "") {
          setChildren(adminError, el("p", { class: "error", text: "Paste an admin key first, or use Remove admin key." }));
          return;
        }
        if (/\s/.test(key) || key.length > 256) {
          setChildren(adminError, el("p", { class: "error", text: "An admin key is one word of at most 256 characters." }));
          return;
        }
        void storeAdminKey(key);
      });
      adminRemove.addEventListener("click", () => void storeAdminKey(null));
      const providerKeysForm = el(
        "form",
        { class: "settings-form", testid: "provider-keys-form", attrs: { novalidate: "" } },
        el(
          "fieldset",
          {},
          el("legend", { text: "Other providers' keys (gateway fallback)" }),
          el("p", {
            class: "hint",
            text: "The keys of the fallback chain's other providers: OpenAI, Gemini and the servers declared above. Stored in the system keychain, never in the settings file, and never shown here again; without one, the service reads the provider's environment variable.",
          }),
          providerKeysList,
          providerKeysMessage,
        ),
      );
      providerKeysForm.addEventListener("submit", (event) => event.preventDefault());
      const statusLine = statusLinePanel();
      panel.append(form, keyForm, adminForm, providerKeysForm, alerts.element, statusLine.element);
      statusLine.load();
      alerts.load();
      loadProviderKeys();
      void load();
    },
    shown() {
      if (!view) void load();
      alerts.load();
    },
    snapshot(snapshot) {
      // A channel that starts or stops failing shows at the next snapshot, without polling.
      if (context.visible("settings")) alerts.load();
      // New components appear without losing the user's ticks.
      if (view) drawComponents(snapshot.status_page.components);
    },
    settings(next) {
      // Changed elsewhere (the Overview's probe-cost notice): an untouched form shows the new
      // values; an edited one keeps the edits but saves them over the new settings, so a field the
      // form does not show (the notice's flag) is not sent back stale.
      if (next === view) return;
      if (!touched) {
        fill(next);
        return;
      }
      // The probe's box follows the change unless the user changed it in this form.
      const box = checks.get("streaming_probe");
      if (box && view && box.checked === view.settings.streaming_probe) box.checked = next.settings.streaming_probe;
      view = next;
      check(submitted || touched);
    },
  };
}
