// The settings' validation rules, mirrored from crates/core/src/settings.rs so the form can say
// what is wrong before saving. The shell stays the judge: its `invalid_settings` message is shown
// as well. Keep the messages word for word the same as the Rust ones.

import type { Settings } from "./bindings/Settings.ts";

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
  } else if (model.length > 100 || !/^[A-Za-z0-9.\-_[\]]+$/.test(model)) {
    problems.streaming_model = "must be a model id such as claude-haiku-4-5";
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
  return problems;
}

/** The allowed range of each numeric field, as the form's hint and min/max. */
export const NUMBER_FIELDS = {
  probe_interval_secs: { min: 5, max: 3600, unit: "s", hint: "5 to 3600 seconds" },
  latency_threshold_ms: { min: 500, max: 60_000, unit: "ms", hint: "500 to 60000 ms" },
  ttft_threshold_ms: { min: 200, max: 60_000, unit: "ms", hint: "200 to 60000 ms" },
  failures_to_enter: { min: 1, max: 20, unit: "", hint: "1 to 20" },
  successes_to_leave: { min: 1, max: 20, unit: "", hint: "1 to 20" },
} as const satisfies Partial<Record<SettingsField, object>>;

const FIELDS: readonly SettingsField[] = [
  "probe_interval_secs",
  "streaming_probe",
  "streaming_model",
  "latency_threshold_ms",
  "ttft_threshold_ms",
  "failures_to_enter",
  "successes_to_leave",
  "followed_components",
  "notifications",
  "launch_at_login",
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
