//! Where the service looks (API and status-page URLs, data directory, keys from the environment)
//! and how the user's settings become the engine's configuration.

use std::path::PathBuf;
use std::time::Duration;

use crate::http::HttpLimits;
use crate::monitor::UsageConfig;
use crate::poller::PollerConfig;
use crate::probe::{ApiKey, ProbeConfig, StreamingProbeConfig, DEFAULT_API_URL};
use crate::EngineConfig;
use claude_status_core::assess::AssessConfig;
use claude_status_core::health::{HealthConfig, ProbeSchedule};
use claude_status_core::models::{ModelsConfig, MOST_USED_PROBE_INTERVAL, OTHER_PROBE_INTERVAL};
use claude_status_core::monitor::MonitorConfig;
use claude_status_core::settings::Settings;
use claude_status_core::tracker::TrackerConfig;

/// The part of the configuration that comes from the environment (the same variables as the
/// CLI) rather than from the settings.
#[derive(Debug, Clone)]
pub struct BaseConfig {
    /// Whether the service plays the demo story against the simulator at `api_url`.
    pub demo: bool,
    pub status_url: String,
    pub fallback_url: Option<String>,
    pub api_url: String,
    /// `ANTHROPIC_API_KEY`, used when the keychain holds no key.
    pub env_api_key: Option<ApiKey>,
    /// `ANTHROPIC_ADMIN_KEY`, used when the keychain holds no Admin API key.
    pub env_admin_key: Option<ApiKey>,
    /// `CLAUDE_STATUS_DATA_DIR` or the platform data directory.
    pub data_dir: PathBuf,
    /// Overrides of the probe and poll interval and of the confirmation interval, for tests and
    /// demos (`CLAUDE_STATUS_PROBE_INTERVAL`, `CLAUDE_STATUS_CONFIRM_INTERVAL`); settings can go no
    /// lower than 5 s.
    pub interval_override: Option<Duration>,
    pub confirm_interval_override: Option<Duration>,
    /// How long history is kept, when not the default 90 days: `CLAUDE_STATUS_RETENTION` (at
    /// least a minute, for tests and short soaks; `3600` or `3600s` is one hour), or
    /// `--retention-days` on the service's command line.
    pub retention_override: Option<Duration>,
    /// The `claude-status` binary the status line the Settings button installs runs; `None` is
    /// this executable (the service is `claude-status service run`).
    pub program: Option<PathBuf>,
    /// `--offline`: never fetch the price table, whatever the setting says.
    pub offline: bool,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn env_duration(name: &str, minimum: Duration) -> Result<Option<Duration>, String> {
    match env(name) {
        None => Ok(None),
        Some(text) => {
            let parsed = text
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s > 0.0)
                .map(Duration::from_secs_f64)
                .or_else(|| {
                    text.strip_suffix("ms")
                        .and_then(|ms| ms.parse::<u64>().ok())
                        .map(Duration::from_millis)
                })
                .or_else(|| {
                    text.strip_suffix('s')
                        .and_then(|s| s.parse::<f64>().ok())
                        .filter(|s| s.is_finite() && *s > 0.0)
                        .map(Duration::from_secs_f64)
                });
            match parsed {
                Some(d) if d >= minimum => Ok(Some(d)),
                _ => Err(format!(
                    "{name}={text:?} is not a duration of at least {minimum:?} (examples: 2s, 500ms)"
                )),
            }
        }
    }
}

impl BaseConfig {
    /// Reads the environment.
    pub fn from_env(demo: bool) -> Result<Self, String> {
        let status_url = env("CLAUDE_STATUS_STATUS_URL")
            .unwrap_or_else(|| crate::poller::DEFAULT_STATUS_URL.to_owned());
        let fallback_url = env("CLAUDE_STATUS_FALLBACK_URL")
            .or_else(|| PollerConfig::for_url(&status_url).fallback_url);
        let data_dir = crate::paths::data_dir(None).map_err(|e| e.to_string())?;
        Ok(Self {
            demo,
            status_url,
            fallback_url,
            api_url: env("ANTHROPIC_BASE_URL").unwrap_or_else(|| DEFAULT_API_URL.to_owned()),
            env_api_key: env("ANTHROPIC_API_KEY").and_then(ApiKey::new),
            env_admin_key: env("ANTHROPIC_ADMIN_KEY").and_then(ApiKey::new),
            // The demo keeps its own history so it never mixes with the real one.
            data_dir: if demo {
                data_dir.join("demo")
            } else {
                data_dir
            },
            interval_override: env_duration(
                "CLAUDE_STATUS_PROBE_INTERVAL",
                Duration::from_secs(1),
            )?,
            confirm_interval_override: env_duration(
                "CLAUDE_STATUS_CONFIRM_INTERVAL",
                Duration::from_millis(100),
            )?,
            retention_override: env_duration("CLAUDE_STATUS_RETENTION", Duration::from_secs(60))?,
            program: None,
            offline: false,
        })
    }

    /// A configuration for tests: given URLs, a data directory, no key.
    pub fn for_tests(url: &str, data_dir: PathBuf) -> Self {
        Self {
            demo: false,
            status_url: url.to_owned(),
            fallback_url: None,
            api_url: url.to_owned(),
            env_api_key: None,
            env_admin_key: None,
            data_dir,
            interval_override: None,
            confirm_interval_override: None,
            retention_override: None,
            program: None,
            offline: false,
        }
    }
}

/// Where usage comes from, as the settings and the mode allow.
#[derive(Debug, Clone)]
pub struct UsageSources {
    /// Claude Code's `projects/` folders, when reading them is on.
    pub claude_code_dirs: Option<Vec<PathBuf>>,
    /// The Admin API key, when the Admin API is on and a key is known.
    pub admin_key: Option<ApiKey>,
}

/// The usage tracking the settings ask for; `None` when it is off.
pub fn usage_config(
    settings: &Settings,
    api_url: &str,
    sources: UsageSources,
    data_dir: Option<&std::path::Path>,
) -> Option<UsageConfig> {
    if !settings.usage_tracking {
        return None;
    }
    // The last good refreshed price table when there is one, else the bundled snapshot; the
    // user's override on top.
    let catalog = match data_dir {
        Some(dir) => crate::usage::load_catalog_in(dir),
        None => crate::usage::load_catalog(),
    }
    .unwrap_or_else(|e| {
        tracing::warn!("{e}; using the built-in catalog");
        claude_status_core::catalog::Catalog::builtin()
    });
    Some(UsageConfig {
        catalog,
        tracker: TrackerConfig {
            tier: settings.tier_override.clone(),
            monthly_budget_usd: settings.monthly_budget_usd(),
            daily_budget_usd: settings.daily_budget_usd(),
            day_zone: crate::usage::local_day_zone(),
        },
        claude_code_dirs: sources
            .claude_code_dirs
            .filter(|_| settings.claude_code_logs),
        admin: sources
            .admin_key
            .filter(|_| settings.admin_api)
            .map(|key| (api_url.trim_end_matches('/').to_owned(), key)),
    })
}

/// How often the per-model streaming probe asks: the most-used model every minute and the others
/// every five, whatever the reachability probe's interval, because each streamed probe costs
/// tokens while a reachability probe is free. A user who set a longer probe interval gets it for
/// both. The test and demo override (`CLAUDE_STATUS_PROBE_INTERVAL`) paces every probe, so a
/// scripted story plays out in seconds.
pub fn streaming_probe_config(base: &BaseConfig, settings: &Settings) -> StreamingProbeConfig {
    let (interval, others_interval) = match base.interval_override {
        Some(paced) => (paced, paced),
        None => {
            let chosen = settings.probe_interval();
            (
                chosen.max(MOST_USED_PROBE_INTERVAL),
                chosen.max(OTHER_PROBE_INTERVAL),
            )
        }
    };
    StreamingProbeConfig {
        model: settings.streaming_model.clone(),
        interval,
        others_interval,
    }
}

/// The engine configuration for the given URLs, settings and key.
pub fn engine_config(
    base: &BaseConfig,
    status_url: &str,
    api_url: &str,
    settings: &Settings,
    api_key: Option<ApiKey>,
    usage: Option<UsageConfig>,
) -> EngineConfig {
    let interval = base
        .interval_override
        .unwrap_or_else(|| settings.probe_interval());
    let mut schedule = ProbeSchedule {
        interval,
        ..ProbeSchedule::default()
    };
    if let Some(confirm) = base.confirm_interval_override {
        schedule.confirm_interval = confirm;
    }
    let mut poller = PollerConfig::for_url(status_url);
    if status_url == base.status_url {
        poller.fallback_url.clone_from(&base.fallback_url);
    }
    poller.interval = interval;
    let streaming = (settings.streaming_probe && api_key.is_some())
        .then(|| streaming_probe_config(base, settings));
    EngineConfig {
        poller,
        monitor: MonitorConfig {
            assess: AssessConfig {
                followed_components: settings.followed_components.clone(),
            },
            health: HealthConfig {
                latency_threshold: Duration::from_millis(settings.latency_threshold_ms),
                ttft_threshold: Duration::from_millis(settings.ttft_threshold_ms),
                failures_to_enter: settings.failures_to_enter,
                successes_to_leave: settings.successes_to_leave,
                ..HealthConfig::default()
            },
            models: ModelsConfig {
                pinned: settings.pinned_models.clone(),
                dropped: settings.dropped_models.clone(),
                default_model: settings.streaming_model.clone(),
                // `Engine::start` sets it: it knows whether a key and the probe exist.
                probing: false,
                gateway: settings.gateway,
            },
            ..MonitorConfig::default()
        },
        probes: Some(ProbeConfig {
            api_url: api_url.trim_end_matches('/').to_owned(),
            api_key,
            schedule,
            streaming,
            limits: HttpLimits::default(),
        }),
        retention: base
            .retention_override
            .and_then(|d| chrono::Duration::from_std(d).ok())
            .unwrap_or_else(|| chrono::Duration::days(crate::store::RETENTION_DEFAULT_DAYS)),
        usage,
    }
}

/// The demo's pace: every state and notification of its story within two minutes.
pub const DEMO_INTERVAL: Duration = Duration::from_secs(3);
pub const DEMO_CONFIRM: Duration = Duration::from_secs(1);

/// The demo's engine: the simulator at `url` plays the demo story at the demo's pace. It gets a
/// fake key (the simulator accepts any, and a real one is never sent to it), so the per-model
/// probe runs and the demo shows each model's health as a user with a key sees it; the Admin API
/// is the simulator's too. The demo reads no real logs.
pub fn demo_engine_config(base: &BaseConfig, settings: &Settings, url: &str) -> EngineConfig {
    let mut base = base.clone();
    base.interval_override = Some(base.interval_override.unwrap_or(DEMO_INTERVAL));
    base.confirm_interval_override = Some(base.confirm_interval_override.unwrap_or(DEMO_CONFIRM));
    let mut settings = settings.clone();
    settings.admin_api = true;
    settings.streaming_probe = true;
    let sources = UsageSources {
        claude_code_dirs: None,
        admin_key: ApiKey::new("sk-ant-admin-demo"),
    };
    // The demo prices with the bundled table and never refreshes it.
    let usage = usage_config(&settings, url, sources, None);
    engine_config(
        &base,
        url,
        url,
        &settings,
        ApiKey::new("sk-ant-demo"),
        usage,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_streaming_probe_keeps_its_own_pace() {
        let check = |user_secs: u64, paced: Option<u64>, expected: (u64, u64)| {
            let mut base = BaseConfig::for_tests("http://127.0.0.1:1", PathBuf::from("/tmp"));
            base.interval_override = paced.map(Duration::from_secs);
            let settings = Settings {
                probe_interval_secs: user_secs,
                ..Settings::default()
            };
            let streaming = streaming_probe_config(&base, &settings);
            assert_eq!(
                (
                    streaming.interval.as_secs(),
                    streaming.others_interval.as_secs()
                ),
                expected,
                "probe interval {user_secs} s, override {paced:?}"
            );
        };
        // A faster reachability probe does not make the billed probe faster…
        check(60, None, (60, 300));
        check(10, None, (60, 300));
        // …a slower one slows it down.
        check(120, None, (120, 300));
        check(600, None, (600, 600));
        // The test and demo override paces every probe.
        check(60, Some(1), (1, 1));
    }
}
