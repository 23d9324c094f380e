// Settings: everything the tray app stores, checked as it is typed (the rules of settings.rs,
// mirrored in settings-rules.ts) and by the shell on save (its `invalid_settings` message is shown
// next to the form). The API key goes to the keychain and is never shown back.

import type { ComponentReport } from "../bindings/ComponentReport.ts";
import type { Settings } from "../bindings/Settings.ts";
import { streamingCostText } from "../cost.ts";
import { el, errorBox, setChildren } from "../dom.ts";
import { apiKeyText } from "../format.ts";
import { getSettings, isIpcError, setApiKey, setSettings, type SettingsView } from "../ipc.ts";
import { NUMBER_FIELDS, type SettingsField, settingsProblems, splitSettingsError } from "../settings-rules.ts";
import type { AppContext, View } from "./context.ts";

type NumberField = keyof typeof NUMBER_FIELDS;
type BooleanField = "streaming_probe" | "notifications" | "launch_at_login";

const NUMBER_LABELS: Record<NumberField, string> = {
  probe_interval_secs: "Probe every (seconds)",
  latency_threshold_ms: "Slow answer above (ms)",
  ttft_threshold_ms: "Slow first token above (ms)",
  failures_to_enter: "Failures in a row before alerting",
  successes_to_leave: "Successes in a row before recovering",
};

export function settingsView(context: AppContext): View {
  const form = el("form", { class: "settings-form", testid: "settings-form", attrs: { novalidate: "" } });
  const formError = el("div", { testid: "settings-error", attrs: { role: "alert" } });
  const saved = el("p", { class: "status-line", testid: "settings-saved", attrs: { role: "status" } });
  const save = el("button", { text: "Save settings", testid: "settings-save", attrs: { type: "submit" } });
  const numbers = new Map<NumberField, HTMLInputElement>();
  const checks = new Map<BooleanField, HTMLInputElement>();
  const fieldErrors = new Map<SettingsField, HTMLElement>();
  const model = el("input", {
    testid: "setting-streaming_model",
    attrs: { type: "text", id: "setting-streaming_model", autocomplete: "off", spellcheck: "false", "aria-describedby": "error-streaming_model streaming-cost" },
  });
  const cost = el("p", { class: "hint", testid: "streaming-cost", attrs: { id: "streaming-cost", "aria-live": "polite" } });
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
      latency_threshold_ms: number("latency_threshold_ms"),
      ttft_threshold_ms: number("ttft_threshold_ms"),
      failures_to_enter: number("failures_to_enter"),
      successes_to_leave: number("successes_to_leave"),
      followed_components: [...followed],
      notifications: checks.get("notifications")?.checked ?? base.notifications,
      launch_at_login: checks.get("launch_at_login")?.checked ?? base.launch_at_login,
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
      const input = field === "streaming_model" ? model : numbers.get(field as NumberField);
      input?.setAttribute("aria-invalid", String(show && Boolean(problem)));
    }
    cost.textContent = streamingCostText(candidate.streaming_model, candidate.probe_interval_secs || 60);
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

  function fill(next: SettingsView): void {
    view = next;
    const s = next.settings;
    for (const [field, input] of numbers) input.value = String(s[field]);
    for (const [field, input] of checks) input.checked = s[field];
    model.value = s.streaming_model;
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
      setChildren(formError, el("p", { class: "error", text: "Fix the fields marked above; nothing was saved." }));
      return;
    }
    save.disabled = true;
    try {
      const next = await setSettings(fromForm(view.settings));
      fill(next);
      context.settingsChanged(next);
      saved.textContent = "Saved.";
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
          checkField("streaming_probe", "Streaming probe: measures time to first token (one token per check; costs money)", cost),
          el(
            "div",
            "field",
            el("label", { text: "Streaming probe model", attrs: { for: "setting-streaming_model" } }),
            model,
            errorSlot("streaming_model"),
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
      panel.append(form, keyForm);
      void load();
    },
    shown() {
      if (!view) void load();
    },
    snapshot(snapshot) {
      // New components appear without losing the user's ticks.
      if (view) drawComponents(snapshot.status_page.components);
    },
  };
}
