//! The user's settings as the tray app stores them, and their validation: a bad value gets a clear
//! error naming the field, and the caller keeps the last good settings.
//!
//! API keys are not settings: they live in the OS keychain and only a "configured" flag is shown.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::statuspage::CLAUDE_API_COMPONENT_ID;

/// Everything the tray app lets the user change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct Settings {
    /// Seconds between reachability probes (and status-page polls).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub probe_interval_secs: u64,
    /// The streaming probe sends a one-token request; off by default because it costs tokens.
    pub streaming_probe: bool,
    pub streaming_model: String,
    /// A response slower than this is a failure.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub latency_threshold_ms: u64,
    /// A first token later than this is degraded.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub ttft_threshold_ms: u64,
    /// Failures in a row that enter a bad state.
    pub failures_to_enter: u32,
    /// Successes in a row that leave it.
    pub successes_to_leave: u32,
    /// Status-page component ids that mean "the API".
    pub followed_components: Vec<String>,
    /// OS notifications on or off.
    pub notifications: bool,
    /// Start the app when the user logs in.
    pub launch_at_login: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            probe_interval_secs: 60,
            streaming_probe: false,
            streaming_model: "claude-haiku-4-5".to_owned(),
            latency_threshold_ms: 5_000,
            ttft_threshold_ms: 3_000,
            failures_to_enter: 3,
            successes_to_leave: 2,
            followed_components: vec![CLAUDE_API_COMPONENT_ID.to_owned()],
            notifications: true,
            launch_at_login: false,
        }
    }
}

/// A setting that cannot be used, with the field it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SettingsError {
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for SettingsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for SettingsError {}

fn invalid(field: &str, message: impl Into<String>) -> SettingsError {
    SettingsError {
        field: field.to_owned(),
        message: message.into(),
    }
}

impl Settings {
    /// Checks every field; the first problem found is returned.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if !(5..=3600).contains(&self.probe_interval_secs) {
            return Err(invalid(
                "probe_interval_secs",
                "must be between 5 seconds and 1 hour",
            ));
        }
        let model = self.streaming_model.trim();
        if model.is_empty() {
            return Err(invalid("streaming_model", "must name a model"));
        }
        if model.len() > 100
            || !model
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '[' | ']'))
        {
            return Err(invalid(
                "streaming_model",
                "must be a model id such as claude-haiku-4-5",
            ));
        }
        if !(500..=60_000).contains(&self.latency_threshold_ms) {
            return Err(invalid(
                "latency_threshold_ms",
                "must be between 0.5 and 60 seconds",
            ));
        }
        if !(200..=60_000).contains(&self.ttft_threshold_ms) {
            return Err(invalid(
                "ttft_threshold_ms",
                "must be between 0.2 and 60 seconds",
            ));
        }
        if !(1..=20).contains(&self.failures_to_enter) {
            return Err(invalid("failures_to_enter", "must be between 1 and 20"));
        }
        if !(1..=20).contains(&self.successes_to_leave) {
            return Err(invalid("successes_to_leave", "must be between 1 and 20"));
        }
        if self.followed_components.len() > 50 {
            return Err(invalid("followed_components", "at most 50 components"));
        }
        if let Some(bad) = self.followed_components.iter().find(|id| {
            id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric())
        }) {
            return Err(invalid(
                "followed_components",
                format!("{bad:?} is not a status-page component id"),
            ));
        }
        Ok(())
    }

    /// The probe interval as a duration.
    pub fn probe_interval(&self) -> Duration {
        Duration::from_secs(self.probe_interval_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(change: impl FnOnce(&mut Settings), field: Option<&str>) {
        let mut settings = Settings::default();
        change(&mut settings);
        assert_eq!(
            settings.validate().err().map(|e| e.field),
            field.map(str::to_owned)
        );
    }

    #[test]
    fn validation_names_the_field() {
        check(|_| {}, None);
        check(|s| s.probe_interval_secs = 1, Some("probe_interval_secs"));
        check(
            |s| s.probe_interval_secs = 3601,
            Some("probe_interval_secs"),
        );
        check(
            |s| s.streaming_model = " ".to_owned(),
            Some("streaming_model"),
        );
        check(
            |s| s.streaming_model = "haiku; rm -rf".to_owned(),
            Some("streaming_model"),
        );
        check(
            |s| s.streaming_model = "claude-sonnet-4-6[1m]".to_owned(),
            None,
        );
        check(|s| s.latency_threshold_ms = 0, Some("latency_threshold_ms"));
        check(|s| s.ttft_threshold_ms = 100_000, Some("ttft_threshold_ms"));
        check(|s| s.failures_to_enter = 0, Some("failures_to_enter"));
        check(|s| s.successes_to_leave = 21, Some("successes_to_leave"));
        check(
            |s| s.followed_components = vec!["../x".to_owned()],
            Some("followed_components"),
        );
        check(|s| s.followed_components.clear(), None);
    }

    #[test]
    fn missing_fields_take_their_defaults() {
        let settings: Settings = serde_json::from_str(r#"{"notifications": false}"#).unwrap();
        assert!(!settings.notifications);
        assert_eq!(settings.probe_interval_secs, 60);
    }
}
