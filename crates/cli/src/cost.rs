//! What the per-model streaming probe costs, said once on stderr before `check` or `watch` runs,
//! and what the user cannot see when it does not run.
//!
//! The figures come from the built-in price table (`claude_status_core::pricing`), per model, so a
//! user who follows Opus sees Opus prices, and a model without a price says so instead of "$0".

use std::time::Duration;

use chrono::Utc;
use claude_status_core::models::{end_of_life, NOT_WATCHED};
use claude_status_core::monitor::{MonitorState, Observation};
use claude_status_core::pricing::{probe_cost_per_day, PRICES_AS_OF, PROBE_TOKENS_ESTIMATE};
use claude_status_engine::probe::StreamingProbeConfig;
use claude_status_engine::{EngineConfig, Store};

use crate::args::GlobalOptions;

/// How often the probes run in the command being started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Round {
    /// `check`: one probe per model (more while a failure is re-checked).
    Once,
    /// `watch`: on the streaming probe's schedule until it stops.
    Every,
}

/// The models the probe will follow at the start, most used first: the same fold the monitor
/// runs, over the traffic the store holds for the last 7 days, the pinned models and the default.
/// A running `watch` may learn more from Claude Code's logs as it reads them.
pub fn followed_models(config: &EngineConfig, store: Option<&Store>) -> Vec<String> {
    let now = Utc::now();
    let mut monitor = config.monitor.clone();
    monitor.models.probing = true;
    let mut state = MonitorState::new(monitor);
    // A store that cannot be read leaves the list to the pinned and default models; the command
    // itself reports the store's faults.
    let records = store
        .and_then(|store| {
            store
                .usage_between(now - chrono::Duration::days(7), now)
                .ok()
        })
        .unwrap_or_default();
    if !records.is_empty() {
        let _ = state.apply(Observation::Usage { records }, now);
    }
    state.followed_models(now)
}

/// Says once, on stderr, what the per-model probe costs, or, when it does not run, that overloads
/// are not watched and why.
pub fn announce(config: &EngineConfig, models: &[String], round: Round, global: &GlobalOptions) {
    match config.probes.as_ref().and_then(|p| p.streaming.as_ref()) {
        Some(streaming) => eprintln!("{}", cost_statement(streaming, models, round)),
        None => eprintln!("{}", not_watched_statement(global)),
    }
}

/// "claude-status: warning: overloads are not watched: … (the per-model probe is off: --no-ttft)".
pub fn not_watched_statement(global: &GlobalOptions) -> String {
    let cause = if global.no_probe {
        " (--no-probe: the API is not probed)"
    } else if global.no_ttft {
        " (the per-model probe is off: --no-ttft)"
    } else {
        ""
    };
    format!("claude-status: warning: {NOT_WATCHED}{cause}")
}

/// "claude-status: per-model probe on: claude-haiku-4-5 every 1m (about $0.019 a day); …; turn it
/// off with --no-ttft (prices as of 2026-10)".
pub fn cost_statement(streaming: &StreamingProbeConfig, models: &[String], round: Round) -> String {
    let fallback = [streaming.model.clone()];
    let models = if models.is_empty() {
        &fallback[..]
    } else {
        models
    };
    let mut parts = Vec::new();
    let mut probed = 0;
    for model in models {
        // A running monitor never probes a retired model (it answers 404); one check still asks,
        // so its answer can say so.
        if round == Round::Every {
            if let Some(on) = end_of_life(model) {
                parts.push(format!("{model} not probed (retired on {on})"));
                continue;
            }
        }
        let interval = if probed == 0 {
            streaming.interval
        } else {
            streaming.others_interval
        };
        probed += 1;
        parts.push(match round {
            Round::Every => format!(
                "{model} every {} ({})",
                humantime::format_duration(interval),
                per_day(model, interval)
            ),
            Round::Once => format!("{model} ({})", per_probe(model)),
        });
    }
    let round_note = match round {
        Round::Every => "",
        Round::Once => "; one probe each for this check, more while a failure is re-checked",
    };
    format!(
        "claude-status: per-model probe on: {}{round_note}; turn it off with --no-ttft (prices as of {PRICES_AS_OF})",
        parts.join("; ")
    )
}

/// "about $0.019 a day", or "price unknown".
fn per_day(model: &str, interval: Duration) -> String {
    let (input, output) = PROBE_TOKENS_ESTIMATE;
    probe_cost_per_day(model, interval, input, output)
        .map(|usd| format!("about {} a day", dollars(usd)))
        .unwrap_or_else(|| "price unknown".to_owned())
}

/// "about $0.000013 a probe", or "price unknown".
fn per_probe(model: &str) -> String {
    let (input, output) = PROBE_TOKENS_ESTIMATE;
    // One probe a day costs exactly what one probe costs.
    probe_cost_per_day(model, Duration::from_secs(86_400), input, output)
        .map(|usd| format!("about {} a probe", dollars(usd)))
        .unwrap_or_else(|| "price unknown".to_owned())
}

/// Dollars with enough decimals to show two significant digits of a tiny amount: "$0.019",
/// "$0.000013", "$1.20".
pub fn dollars(usd: f64) -> String {
    if !usd.is_finite() || usd <= 0.0 {
        return "$0".to_owned();
    }
    if usd >= 1.0 {
        return format!("${usd:.2}");
    }
    if usd >= 0.001 {
        return format!("${usd:.3}");
    }
    // Two significant digits: 0.000013 has its first digit at the fifth decimal.
    let decimals = (-usd.log10()).ceil() as usize + 1;
    format!("${usd:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn streaming() -> StreamingProbeConfig {
        StreamingProbeConfig {
            model: "claude-haiku-4-5".to_owned(),
            ..StreamingProbeConfig::default()
        }
    }

    #[test]
    fn dollars_keep_two_significant_digits_of_tiny_amounts() {
        assert_eq!(dollars(0.01872), "$0.019");
        assert_eq!(dollars(0.000013), "$0.000013");
        assert_eq!(dollars(0.00013), "$0.00013");
        assert_eq!(dollars(1.2), "$1.20");
        assert_eq!(dollars(0.0), "$0");
        assert_eq!(dollars(f64::NAN), "$0");
    }

    #[test]
    fn the_most_used_model_every_minute_the_others_every_five() {
        let models = ["claude-haiku-4-5".to_owned(), "claude-unknown-9".to_owned()];
        let line = cost_statement(&streaming(), &models, Round::Every);
        let (input, output) = PROBE_TOKENS_ESTIMATE;
        let haiku =
            probe_cost_per_day("claude-haiku-4-5", Duration::from_secs(60), input, output).unwrap();
        assert_eq!(
            line,
            format!(
                "claude-status: per-model probe on: claude-haiku-4-5 every 1m (about {} a day); \
                 claude-unknown-9 every 5m (price unknown); turn it off with --no-ttft \
                 (prices as of {PRICES_AS_OF})",
                dollars(haiku)
            )
        );
    }

    #[test]
    fn a_check_says_what_one_probe_costs() {
        let line = cost_statement(&streaming(), &[], Round::Once);
        assert!(
            line.starts_with("claude-status: per-model probe on: claude-haiku-4-5 (about $0.000013 a probe); one probe each"),
            "{line}"
        );
        assert!(!line.contains("a day"), "{line}");
    }

    #[test]
    fn a_retired_model_is_not_probed_by_watch() {
        let models = [
            "claude-sonnet-4-5".to_owned(),
            "claude-haiku-4-5".to_owned(),
        ];
        let line = cost_statement(&streaming(), &models, Round::Every);
        assert!(
            line.contains(
                "claude-sonnet-4-5 not probed (retired on 2026-11-30); claude-haiku-4-5 every 1m"
            ),
            "{line}"
        );
    }
}
