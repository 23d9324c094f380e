//! The engine's configuration for tests in real time against one simulator: the status page and
//! the API both at `url`, polled and probed every second with quick re-checks, and the per-model
//! streaming probe on `model` every second. Included by path (`#[path]`) by the tests that use it,
//! so the other tests do not compile it.

use std::time::Duration;

use claude_status_core::health::ProbeSchedule;
use claude_status_core::monitor::MonitorConfig;
use claude_status_engine::http::HttpLimits;
use claude_status_engine::poller::PollerConfig;
use claude_status_engine::probe::{ApiKey, ProbeConfig, StreamingProbeConfig};
use claude_status_engine::EngineConfig;

/// Polls, probes and streams against `url` every second, following `model`.
pub fn streaming_config(url: &str, model: &str) -> EngineConfig {
    let limits = HttpLimits {
        connect_timeout: Duration::from_secs(1),
        total_timeout: Duration::from_secs(2),
        ..HttpLimits::default()
    };
    let mut monitor = MonitorConfig::default();
    monitor.models.default_model = model.to_owned();
    EngineConfig {
        poller: PollerConfig {
            status_url: url.to_owned(),
            fallback_url: None,
            interval: Duration::from_secs(1),
            incident_interval: Duration::from_secs(1),
            history_interval: Duration::from_secs(60),
            fallback_hold: Duration::from_secs(60),
            limits,
        },
        monitor,
        probes: Some(ProbeConfig {
            api_url: url.to_owned(),
            api_key: ApiKey::new("sk-ant-test"),
            schedule: ProbeSchedule {
                interval: Duration::from_secs(1),
                confirm_interval: Duration::from_millis(200),
                confirmations: 2,
            },
            streaming: Some(StreamingProbeConfig {
                model: model.to_owned(),
                interval: Duration::from_secs(1),
                others_interval: Duration::from_secs(1),
            }),
            limits,
        }),
        retention: chrono::Duration::days(30),
        usage: None,
    }
}
