//! What the per-model streaming probe costs a day, from the price table: said once in a
//! notice on the first run with a key (each probe is a billed request on the user's key, so they
//! should know and be able to turn it off), and shown on the dashboard.

use claude_status_core::models::display_name;
use claude_status_core::pricing::{normalize_model, probe_cost_per_day, PROBE_TOKENS_ESTIMATE};
use claude_status_core::report::Snapshot;
use claude_status_core::settings::Settings;
use serde::{Deserialize, Serialize};

use super::config::{streaming_probe_config, BaseConfig};
use crate::probe::StreamingProbeConfig;

/// One probed model's share of the cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCost {
    /// The model id, normalised (`claude-opus-5-5`).
    pub model: String,
    /// "Opus 5.5".
    pub display_name: String,
    /// How often the probe asks this model.
    pub interval_secs: u64,
    /// `None` when the price table does not know the model: "price unknown", never $0.
    pub usd_per_day: Option<f64>,
}

/// The probe's cost as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeCost {
    /// The followed models, most used first.
    pub models: Vec<ModelCost>,
    /// The sum, or `None` when any model's price is unknown (a partial sum would understate it).
    pub total_usd_per_day: Option<f64>,
    /// Whether the first-launch notice was shown (or dismissed on the dashboard).
    pub notice_shown: bool,
    /// Whether the probe runs now (it is on and a key exists); the figures say what it costs
    /// either way.
    pub probing: bool,
}

/// The models the probe asks, most used first: the snapshot's followed models (retired ones are
/// not probed), or, before the monitor has said, the pinned models or else the default one.
pub fn probed_models(snapshot: &Snapshot, settings: &Settings) -> Vec<String> {
    let from_snapshot: Vec<String> = snapshot
        .models
        .iter()
        .filter(|m| m.followed && m.retired.is_none())
        .map(|m| m.model.clone())
        .collect();
    if !from_snapshot.is_empty() || snapshot.models.iter().any(|m| m.followed) {
        return from_snapshot;
    }
    let dropped: Vec<String> = settings
        .dropped_models
        .iter()
        .map(|m| normalize_model(m))
        .collect();
    let mut models: Vec<String> = Vec::new();
    for model in settings.pinned_models.iter().map(|m| normalize_model(m)) {
        if !dropped.contains(&model) && !models.contains(&model) {
            models.push(model);
        }
    }
    if models.is_empty() {
        models.push(normalize_model(&settings.streaming_model));
    }
    models
}

/// The cost of probing `models` (most used first) at the configured pace: the first every
/// `interval`, the others every `others_interval`.
pub fn probe_cost(
    models: &[String],
    streaming: &StreamingProbeConfig,
    notice_shown: bool,
    probing: bool,
) -> ProbeCost {
    let (input, output) = PROBE_TOKENS_ESTIMATE;
    let models: Vec<ModelCost> = models
        .iter()
        .enumerate()
        .map(|(index, model)| {
            let interval = if index == 0 {
                streaming.interval
            } else {
                streaming.others_interval
            };
            ModelCost {
                model: model.clone(),
                display_name: display_name(model),
                interval_secs: interval.as_secs().max(1),
                usd_per_day: probe_cost_per_day(model, interval, input, output),
            }
        })
        .collect();
    let total_usd_per_day = models.iter().map(|m| m.usd_per_day).sum::<Option<f64>>();
    ProbeCost {
        models,
        total_usd_per_day,
        notice_shown,
        probing,
    }
}

/// The cost in force for these settings and snapshot; `probing` says whether the probe runs now.
pub fn current(
    base: &BaseConfig,
    settings: &Settings,
    snapshot: &Snapshot,
    key_present: bool,
) -> ProbeCost {
    let probing = settings.streaming_probe && key_present;
    probe_cost(
        &probed_models(snapshot, settings),
        &streaming_probe_config(base, settings),
        settings.probe_cost_notice_shown,
        probing,
    )
}

/// A sum of money in words: "$0.02", "$1.30", "$12"; under a cent is "less than $0.01".
pub fn usd(amount: f64) -> String {
    if amount < 0.005 {
        "less than $0.01".to_owned()
    } else if amount < 10.0 {
        format!("${amount:.2}")
    } else {
        format!("${amount:.0}")
    }
}

/// The first-launch notification's title and body: "Per-model probe on: about $0.02 a day",
/// then each model with its interval and cost, and how to turn it off.
pub fn notice_text(cost: &ProbeCost) -> (String, String) {
    let title = match cost.total_usd_per_day {
        Some(total) => format!("Per-model probe on: about {} a day", usd(total)),
        None => {
            let known: f64 = cost.models.iter().filter_map(|m| m.usd_per_day).sum();
            if cost.models.iter().any(|m| m.usd_per_day.is_some()) {
                format!(
                    "Per-model probe on: about {} a day, plus models of unknown price",
                    usd(known)
                )
            } else {
                "Per-model probe on: price unknown".to_owned()
            }
        }
    };
    let lines: Vec<String> = cost
        .models
        .iter()
        .map(|m| {
            let price = m.usd_per_day.map_or_else(
                || "price unknown".to_owned(),
                |p| format!("{} a day", usd(p)),
            );
            format!("{} every {} s: {price}", m.display_name, m.interval_secs)
        })
        .collect();
    let body = format!(
        "One one-token streamed request per model, on your API key. {}. You can turn it off in Settings.",
        lines.join("; ")
    );
    (title, body)
}

/// Whether the first-run notice is due: the probe runs with a real key, has probed at least once
/// (so the followed models are known), and the notice was never shown. The demo never shows it:
/// its key is fake and its probes cost nothing.
pub fn notice_due(demo: bool, settings: &Settings, snapshot: &Snapshot, key_present: bool) -> bool {
    !demo
        && key_present
        && settings.streaming_probe
        && !settings.probe_cost_notice_shown
        && snapshot
            .models
            .iter()
            .any(|m| m.followed && m.last_probe.is_some())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn streaming(interval: u64, others: u64) -> StreamingProbeConfig {
        StreamingProbeConfig {
            model: "claude-haiku-4-5".to_owned(),
            interval: Duration::from_secs(interval),
            others_interval: Duration::from_secs(others),
        }
    }

    #[test]
    fn the_first_model_is_probed_every_minute_the_others_every_five() {
        let models = ["claude-haiku-4-5".to_owned(), "claude-opus-4-5".to_owned()];
        let cost = probe_cost(&models, &streaming(60, 300), false, true);
        let intervals: Vec<u64> = cost.models.iter().map(|m| m.interval_secs).collect();
        assert_eq!(intervals, vec![60, 300]);
        // Haiku 4.5 at $1/$5 per Mtok: 8 input and 1 output token, 1440 times a day.
        let haiku = cost.models[0].usd_per_day.unwrap();
        assert!((haiku - 1440.0 * 13.0 / 1e6).abs() < 1e-9, "{haiku}");
        let total = cost.total_usd_per_day.unwrap();
        assert!((total - haiku - cost.models[1].usd_per_day.unwrap()).abs() < 1e-12);
        let (title, body) = notice_text(&cost);
        assert_eq!(
            title,
            format!("Per-model probe on: about {} a day", usd(total))
        );
        assert!(body.contains("Haiku 4.5 every 60 s: $0.02 a day"), "{body}");
        assert!(body.contains("Opus 4.5 every 300 s"), "{body}");
        assert!(body.contains("turn it off in Settings"), "{body}");
    }

    #[test]
    fn a_model_without_a_price_says_price_unknown() {
        let models = ["claude-haiku-4-5".to_owned(), "claude-nimbus-9".to_owned()];
        let cost = probe_cost(&models, &streaming(60, 300), false, true);
        assert_eq!(cost.models[1].usd_per_day, None);
        assert_eq!(cost.total_usd_per_day, None);
        let (title, body) = notice_text(&cost);
        assert_eq!(
            title,
            "Per-model probe on: about $0.02 a day, plus models of unknown price"
        );
        assert!(body.contains("every 300 s: price unknown"), "{body}");
        let alone = probe_cost(&models[1..], &streaming(60, 300), false, true);
        assert_eq!(notice_text(&alone).0, "Per-model probe on: price unknown");
    }

    #[test]
    fn before_the_monitor_says_the_pinned_or_default_models_are_probed() {
        let snapshot = Snapshot::initial();
        let mut settings = Settings::default();
        assert_eq!(
            probed_models(&snapshot, &settings),
            vec![normalize_model(&settings.streaming_model)]
        );
        settings.pinned_models = vec![
            "claude-opus-5-5".to_owned(),
            "claude-sonnet-4-6-20260101".to_owned(),
        ];
        assert_eq!(
            probed_models(&snapshot, &settings),
            vec!["claude-opus-5-5", "claude-sonnet-4-6"]
        );
    }

    #[test]
    fn amounts_read_as_money() {
        assert_eq!(usd(0.0001), "less than $0.01");
        assert_eq!(usd(0.0187), "$0.02");
        assert_eq!(usd(1.3), "$1.30");
        assert_eq!(usd(12.4), "$12");
    }
}
