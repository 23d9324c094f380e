//! The user's settings as the tray app stores them, and their validation: a bad value gets a clear
//! error naming the field, and the caller keeps the last good settings.
//!
//! API keys are not settings: they live in the OS keychain and only a "configured" flag is shown.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::statuspage::CLAUDE_API_COMPONENT_ID;

/// The largest budget accepted, in cents ($10,000,000): far above any tier's spend cap, low
/// enough that a typo of a few extra digits is caught.
pub const MAX_BUDGET_CENTS: u64 = 1_000_000_000;

/// The model probed when the user's traffic names none and nothing is pinned: the cheapest
/// current one, so the probe costs as little as it can.
pub const DEFAULT_PROBE_MODEL: &str = "claude-haiku-4-5";

/// Everything the tray app lets the user change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct Settings {
    /// Seconds between reachability probes (and status-page polls).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub probe_interval_secs: u64,
    /// The per-model streaming probe: one one-token streamed request per followed model (the
    /// most used every minute, the others every 5 minutes). On by default, but it runs only when
    /// an API key exists; the first launch with a key says what it costs and offers to turn it off.
    pub streaming_probe: bool,
    /// The followed model when the user's traffic names none and nothing is pinned.
    pub streaming_model: String,
    /// Models always followed and counted as relied on, whatever the traffic says.
    pub pinned_models: Vec<String>,
    /// Models never followed, even when the user's traffic uses them.
    pub dropped_models: Vec<String>,
    /// The first launch with a key has told the user what the probe costs.
    pub probe_cost_notice_shown: bool,
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
    /// Track the user's own usage and cost (per-minute windows against the tier, spend).
    pub usage_tracking: bool,
    /// Read Claude Code's transcripts (`~/.claude/projects`) as a usage source.
    pub claude_code_logs: bool,
    /// The tier to measure against, as a key or name of the catalog (`tier-2`, `Start`); `None`
    /// identifies it from the rate-limit headers.
    pub tier_override: Option<String>,
    /// The user's own monthly budget (UTC calendar month), in cents: an integer, so the settings
    /// stay `Eq` and a dollar amount round-trips exactly.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub monthly_budget_cents: Option<u64>,
    /// The user's own daily budget, in cents.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub daily_budget_cents: Option<u64>,
    /// Read the organisation's usage and cost from the Admin API (needs an admin key, kept in the
    /// keychain like the API key).
    pub admin_api: bool,
    /// Run the local gateway (`ANTHROPIC_BASE_URL=http://127.0.0.1:<port>`) that meters the
    /// user's own traffic.
    pub gateway: bool,
    /// The gateway's port on 127.0.0.1.
    pub gateway_port: u16,
    /// The gateway retries 529, 500 and 429 (never the spend cap) before the client sees them.
    /// Off by default: the client's own SDK retries, and two layers of retries multiply.
    pub gateway_retry: bool,
    /// The gateway's fallback chain, best first, starting at the Claude model a request asks
    /// for: other Claude models (per request, after persistent 529s) and other providers'
    /// models (`openai:gpt-4o`, `gemini:gemini-2.5-flash`, `openai-compatible:NAME:MODEL`;
    /// only after the model's verdict has been in trouble for `gateway_fallback_after_secs`).
    /// Empty for none.
    pub gateway_fallback: Vec<String>,
    /// How long a model's verdict must have been overloaded or in outage before its requests go
    /// to another provider; 0 falls back on the first failure that survives the retries.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub gateway_fallback_after_secs: u64,
    /// The OpenAI-compatible servers the chain may name (`openai-compatible:NAME:MODEL`), and
    /// base-URL overrides for `openai` and `gemini`. Their keys are secrets, kept in the keychain
    /// or the environment (`NAME_API_KEY`), never here.
    pub gateway_providers: Vec<ProviderEndpoint>,
    /// The address the gateway listens on; `None` is 127.0.0.1. Anything but a loopback address
    /// needs `allow_remote` (a team's shared gateway on a server).
    pub gateway_bind: Option<String>,
    /// Web origins (`http://localhost:3000`) whose pages may call the gateway; a request with
    /// any other `Origin` is refused with 403, so a site the user visits cannot use the gateway
    /// or read its figures. Empty by default: SDKs and command-line clients send no `Origin`.
    pub gateway_allowed_origins: Vec<String>,
    /// The prompt-cache advisor asks the API's `count_tokens` (free, its own rate limit) for the
    /// size of each new prefix once, with the credentials of the request that carried it. Off by
    /// default, when sizes are estimated at 4 characters per token and say so.
    pub advisor_count_tokens: bool,
    /// Serve Prometheus metrics at `http://ADDR/metrics` (e.g. `127.0.0.1:9464`); `None` serves
    /// none. Anything but a loopback address needs `allow_remote`.
    pub metrics_addr: Option<String>,
    /// Allows the gateway and the metrics on addresses other machines can reach. Off by default:
    /// whoever reaches the gateway can spend the keys that pass through it, and the metrics say
    /// which models are used and what is spent.
    pub allow_remote: bool,
    /// Refresh the price table from LiteLLM's maintained table at most once a day (a
    /// conditional request; a table that drops models or moves a price more than 10× is
    /// refused). Off: the bundled snapshot, or the last good refreshed table, is used.
    pub price_refresh: bool,
    /// Direct alert routing: the Slack, Discord, PagerDuty, webhook and ntfy channels the
    /// service (and `watch --alerts`) sends notifications to, each with its filter. Their
    /// URLs and keys are secrets, stored apart (`docs/alerts.md`), never here.
    pub alert_channels: Vec<crate::channels::ChannelConfig>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            probe_interval_secs: 60,
            streaming_probe: true,
            streaming_model: DEFAULT_PROBE_MODEL.to_owned(),
            pinned_models: Vec::new(),
            dropped_models: Vec::new(),
            probe_cost_notice_shown: false,
            latency_threshold_ms: 5_000,
            ttft_threshold_ms: 3_000,
            failures_to_enter: 3,
            successes_to_leave: 2,
            followed_components: vec![CLAUDE_API_COMPONENT_ID.to_owned()],
            notifications: true,
            launch_at_login: false,
            usage_tracking: true,
            claude_code_logs: true,
            tier_override: None,
            monthly_budget_cents: None,
            daily_budget_cents: None,
            admin_api: false,
            gateway: false,
            gateway_port: 7529,
            gateway_retry: false,
            gateway_fallback: Vec::new(),
            gateway_fallback_after_secs: 300,
            gateway_providers: Vec::new(),
            gateway_bind: None,
            gateway_allowed_origins: Vec::new(),
            advisor_count_tokens: false,
            metrics_addr: None,
            allow_remote: false,
            price_refresh: true,
            alert_channels: Vec::new(),
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

/// Whether `text` is a web origin as a browser sends it: `http` or `https`, `://`, a host, and
/// maybe `:port`; no path, query, user or fragment (a trailing `/` is tolerated).
pub fn is_web_origin(text: &str) -> bool {
    let text = text.trim().trim_end_matches('/');
    let Some((scheme, rest)) = text.split_once("://") else {
        return false;
    };
    if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") || rest.is_empty() {
        return false;
    }
    let host = match rest.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((_, after)) if after.is_empty() || after.starts_with(':') => after,
            _ => return false,
        },
        None => rest,
    };
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    };
    if port.is_some_and(|p| p.is_empty() || p.parse::<u16>().is_err()) {
        return false;
    }
    let name_ok = rest.starts_with('[')
        || (!name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-'));
    name_ok
}

fn invalid(field: &str, message: impl Into<String>) -> SettingsError {
    SettingsError {
        field: field.to_owned(),
        message: message.into(),
    }
}

impl Settings {
    /// Checks every field; the first problem found is returned.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if self.gateway_port < 1024 {
            return Err(invalid(
                "gateway_port",
                "must be between 1024 and 65535 (lower ports need root)",
            ));
        }
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
        if !is_model_id(model) {
            return Err(invalid(
                "streaming_model",
                "must be a model id such as claude-haiku-4-5",
            ));
        }
        for (field, models) in [
            ("pinned_models", &self.pinned_models),
            ("dropped_models", &self.dropped_models),
        ] {
            if models.len() > 20 {
                return Err(invalid(field, "at most 20 models"));
            }
            if let Some(bad) = models.iter().find(|m| !is_model_id(m)) {
                return Err(invalid(
                    field,
                    format!("{bad:?} is not a model id such as claude-opus-5-5"),
                ));
            }
        }
        if let Some(both) = self
            .pinned_models
            .iter()
            .find(|m| self.dropped_models.contains(m))
        {
            return Err(invalid(
                "dropped_models",
                format!("{both:?} is pinned too: a model cannot be both"),
            ));
        }
        let chain = crate::fallback::parse_chain(&self.gateway_fallback)
            .map_err(|e| invalid("gateway_fallback", e))?;
        if self.gateway_fallback_after_secs > 86_400 {
            return Err(invalid(
                "gateway_fallback_after_secs",
                "must be at most 86400 (one day)",
            ));
        }
        validate_providers(&self.gateway_providers)?;
        for target in &chain {
            if let Some(crate::fallback::Provider::Compatible(name)) = target.provider() {
                if !self.gateway_providers.iter().any(|p| &p.name == name) {
                    return Err(invalid(
                        "gateway_fallback",
                        format!(
                            "{target} names the server {name:?}, which gateway_providers does \
                             not declare"
                        ),
                    ));
                }
            }
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
        if let Some(tier) = &self.tier_override {
            if Catalog::builtin().tier(tier).is_none() {
                return Err(invalid(
                    "tier_override",
                    format!("{tier:?} is not a known tier"),
                ));
            }
        }
        for (field, cents) in [
            ("monthly_budget_cents", self.monthly_budget_cents),
            ("daily_budget_cents", self.daily_budget_cents),
        ] {
            if cents.is_some_and(|c| c > MAX_BUDGET_CENTS) {
                return Err(invalid(field, "must be at most $10,000,000"));
            }
        }
        if let Some(bind) = &self.gateway_bind {
            let ip: std::net::IpAddr = bind
                .trim()
                .parse()
                .map_err(|_| invalid("gateway_bind", "must be an IP address, e.g. 127.0.0.1"))?;
            if !ip.is_loopback() && !self.allow_remote {
                return Err(invalid(
                    "gateway_bind",
                    "a non-loopback address needs allow_remote: anyone who reaches the gateway \
                     can use the keys that pass through it",
                ));
            }
        }
        for origin in &self.gateway_allowed_origins {
            if !is_web_origin(origin) {
                return Err(invalid(
                    "gateway_allowed_origins",
                    format!(
                        "{origin:?} is not a web origin: write a scheme, a host and maybe a \
                         port, e.g. http://localhost:3000"
                    ),
                ));
            }
        }
        if let Some(addr) = &self.metrics_addr {
            let addr: std::net::SocketAddr = addr.trim().parse().map_err(|_| {
                invalid(
                    "metrics_addr",
                    "must be an address with a port, e.g. 127.0.0.1:9464",
                )
            })?;
            if !addr.ip().is_loopback() && !self.allow_remote {
                return Err(invalid(
                    "metrics_addr",
                    "a non-loopback address needs allow_remote: the metrics say which models \
                     you use and what you spend",
                ));
            }
        }
        crate::channels::validate_channels(&self.alert_channels)
            .map_err(|e| invalid(&e.field, e.message))?;
        Ok(())
    }

    /// The monthly budget in dollars, as the usage tracker takes it.
    pub fn monthly_budget_usd(&self) -> Option<f64> {
        self.monthly_budget_cents.map(cents_to_usd)
    }

    /// The daily budget in dollars.
    pub fn daily_budget_usd(&self) -> Option<f64> {
        self.daily_budget_cents.map(cents_to_usd)
    }

    /// The probe interval as a duration.
    pub fn probe_interval(&self) -> Duration {
        Duration::from_secs(self.probe_interval_secs)
    }
}

/// A Chat Completions server the gateway may fall back to: a name the chain uses and its base
/// URL (`http://127.0.0.1:8000/v1`). The names `openai` and `gemini` override those providers'
/// base URLs instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ProviderEndpoint {
    pub name: String,
    pub base_url: String,
}

fn validate_providers(providers: &[ProviderEndpoint]) -> Result<(), SettingsError> {
    const FIELD: &str = "gateway_providers";
    if providers.len() > 8 {
        return Err(invalid(FIELD, "at most 8 providers"));
    }
    for (i, provider) in providers.iter().enumerate() {
        let name = provider.name.as_str();
        if !(crate::fallback::is_provider_name(name) || matches!(name, "openai" | "gemini")) {
            return Err(invalid(
                FIELD,
                format!("{name:?} is not a provider name (lower-case letters, digits, - and _)"),
            ));
        }
        if providers[..i].iter().any(|p| p.name == name) {
            return Err(invalid(FIELD, format!("{name:?} is declared twice")));
        }
        let url = provider.base_url.trim();
        let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
        if !scheme_ok || url.len() > 500 || url.contains(char::is_whitespace) || url.contains('?') {
            return Err(invalid(
                FIELD,
                format!("{name}'s base URL must be an http:// or https:// URL without a query"),
            ));
        }
    }
    Ok(())
}

/// A model id as the API takes it: letters, digits and `-._[]`, at most 100 characters.
fn is_model_id(model: &str) -> bool {
    !model.is_empty()
        && model.len() <= 100
        && model
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '[' | ']'))
}

fn cents_to_usd(cents: u64) -> f64 {
    cents as f64 / 100.0
}

/// Dollars (from a form or a command line) as whole cents: `None` for a negative, infinite or
/// NaN amount; fractions of a cent are rounded to the nearest cent. An amount beyond `u64` becomes
/// `u64::MAX` cents, which `Settings::validate` refuses like any amount above the maximum.
pub fn usd_to_cents(usd: f64) -> Option<u64> {
    if !usd.is_finite() || usd < 0.0 {
        return None;
    }
    // `as` saturates at u64::MAX.
    Some((usd * 100.0).round() as u64)
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
        check(|s| s.gateway_port = 80, Some("gateway_port"));
        check(
            |s| s.gateway_allowed_origins = vec!["http://localhost:3000".into()],
            None,
        );
        check(
            |s| s.gateway_allowed_origins = vec!["https://app.example/".into()],
            None,
        );
        check(
            |s| s.gateway_allowed_origins = vec!["localhost:3000".into()],
            Some("gateway_allowed_origins"),
        );
        check(
            |s| s.gateway_allowed_origins = vec!["http://x.example/path".into()],
            Some("gateway_allowed_origins"),
        );
        check(|s| s.gateway_port = 8080, None);
        let chain = |models: &[&str]| models.iter().map(|m| (*m).to_owned()).collect::<Vec<_>>();
        check(
            move |s| s.gateway_fallback = chain(&["claude-opus-4-6", "claude-sonnet-4-5"]),
            None,
        );
        check(
            move |s| s.gateway_fallback = chain(&["claude-opus-4-6"]),
            Some("gateway_fallback"),
        );
        check(
            move |s| s.gateway_fallback = chain(&["claude-opus-4-6", "claude-opus-4-6"]),
            Some("gateway_fallback"),
        );
        check(
            move |s| s.gateway_fallback = chain(&["claude-opus-4-6", "rm -rf /"]),
            Some("gateway_fallback"),
        );
        check(
            move |s| s.gateway_fallback = chain(&["a", "b", "c", "d", "e", "f", "g", "h", "i"]),
            Some("gateway_fallback"),
        );
        check(
            move |s| {
                s.gateway_fallback =
                    chain(&["claude-opus-5-5", "claude-sonnet-5-5", "openai:gpt-4o"])
            },
            None,
        );
        check(
            move |s| s.gateway_fallback = chain(&["openai:gpt-4o", "claude-opus-5-5"]),
            Some("gateway_fallback"),
        );
        check(
            move |s| {
                s.gateway_fallback = chain(&["claude-opus-5-5", "openai-compatible:local:llama3"])
            },
            Some("gateway_fallback"),
        );
        check(
            move |s| {
                s.gateway_fallback = chain(&["claude-opus-5-5", "openai-compatible:local:llama3"]);
                s.gateway_providers = vec![ProviderEndpoint {
                    name: "local".to_owned(),
                    base_url: "http://127.0.0.1:8000/v1".to_owned(),
                }];
            },
            None,
        );
        check(
            |s| {
                s.gateway_providers = vec![ProviderEndpoint {
                    name: "local".to_owned(),
                    base_url: "file:///etc/passwd".to_owned(),
                }];
            },
            Some("gateway_providers"),
        );
        check(
            |s| s.gateway_fallback_after_secs = 100_000,
            Some("gateway_fallback_after_secs"),
        );
        check(|s| s.tier_override = Some("tier-2".to_owned()), None);
        check(|s| s.tier_override = Some("Tier 2".to_owned()), None);
        check(|s| s.tier_override = Some("start".to_owned()), None);
        check(
            |s| s.tier_override = Some("Monthly invoicing".to_owned()),
            None,
        );
        check(
            |s| s.tier_override = Some("tier-9".to_owned()),
            Some("tier_override"),
        );
        check(
            |s| s.tier_override = Some(String::new()),
            Some("tier_override"),
        );
        check(|s| s.monthly_budget_cents = Some(0), None);
        check(|s| s.monthly_budget_cents = Some(MAX_BUDGET_CENTS), None);
        check(
            |s| s.monthly_budget_cents = Some(MAX_BUDGET_CENTS + 1),
            Some("monthly_budget_cents"),
        );
        check(
            |s| s.daily_budget_cents = Some(u64::MAX),
            Some("daily_budget_cents"),
        );
    }

    #[test]
    fn every_builtin_tier_is_accepted_by_key_and_by_name() {
        for tier in Catalog::builtin().tiers() {
            for name in [&tier.key, &tier.name] {
                check(|s| s.tier_override = Some(name.clone()), None);
            }
        }
    }

    #[test]
    fn usage_settings_default_to_tracking_with_claude_code_logs_and_no_admin_api() {
        let settings = Settings::default();
        assert!(settings.usage_tracking);
        assert!(settings.claude_code_logs);
        assert!(!settings.admin_api);
        assert_eq!(settings.tier_override, None);
        assert_eq!(settings.monthly_budget_usd(), None);
        assert_eq!(settings.daily_budget_usd(), None);
    }

    #[test]
    fn settings_stored_before_usage_tracking_load_with_its_defaults() {
        let stored = r#"{"probe_interval_secs": 30, "streaming_probe": true,
            "streaming_model": "claude-haiku-4-5", "latency_threshold_ms": 5000,
            "ttft_threshold_ms": 3000, "failures_to_enter": 3, "successes_to_leave": 2,
            "followed_components": ["k8w3r06qmzrp"], "notifications": true,
            "launch_at_login": false}"#;
        let settings: Settings = serde_json::from_str(stored).unwrap();
        assert_eq!(
            settings,
            Settings {
                probe_interval_secs: 30,
                streaming_probe: true,
                ..Settings::default()
            }
        );
    }

    #[test]
    fn budgets_are_cents_and_read_as_dollars() {
        let settings: Settings = serde_json::from_str(
            r#"{"monthly_budget_cents": 25000, "daily_budget_cents": 1250, "tier_override": "tier-2", "admin_api": true}"#,
        )
        .unwrap();
        assert_eq!(settings.monthly_budget_usd(), Some(250.0));
        assert_eq!(settings.daily_budget_usd(), Some(12.5));
        assert_eq!(settings.tier_override.as_deref(), Some("tier-2"));
        assert!(settings.admin_api);
        assert!(settings.validate().is_ok());
    }

    #[test]
    fn dollars_become_whole_cents() {
        assert_eq!(usd_to_cents(0.0), Some(0));
        assert_eq!(usd_to_cents(12.5), Some(1250));
        assert_eq!(usd_to_cents(0.1 + 0.2), Some(30));
        assert_eq!(usd_to_cents(19.999), Some(2000));
        assert_eq!(usd_to_cents(-1.0), None);
        assert_eq!(usd_to_cents(f64::NAN), None);
        assert_eq!(usd_to_cents(f64::INFINITY), None);
        assert_eq!(usd_to_cents(1e300), Some(u64::MAX));
    }

    #[test]
    fn missing_fields_take_their_defaults() {
        let settings: Settings = serde_json::from_str(r#"{"notifications": false}"#).unwrap();
        assert!(!settings.notifications);
        assert_eq!(settings.probe_interval_secs, 60);
    }
}
