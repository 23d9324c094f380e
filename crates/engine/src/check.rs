//! One round of checks for `claude-status check`: the same sources and the same pure state
//! machine as the monitor, run once, with the probe's confirming re-checks when it fails.

use std::sync::Arc;

use chrono::Utc;
use claude_status_core::health::ProbeKind;
use claude_status_core::monitor::{Effect, MonitorState, Observation};
use claude_status_core::report::Snapshot;

use crate::monitor::{persist_observation, EngineConfig};
use crate::poller::StatusPageClient;
use crate::probe::{ApiProbe, HttpProber};
use crate::store::Store;

/// Polls every source once and returns the resulting snapshot. With a store, results are
/// logged, incidents kept, and the stored ETag makes the status-page request conditional. With
/// `for_model`, the snapshot answers for that model alone (`MonitorState::snapshot_for_model`):
/// its level, reasons and "does it hit you?", other models' trouble as context.
pub async fn check_once(
    config: &EngineConfig,
    http: reqwest::Client,
    store: Option<Arc<Store>>,
    for_model: Option<&str>,
) -> Snapshot {
    let mut client = StatusPageClient::new(http.clone(), config.poller.clone(), store.clone());
    let prober = config
        .probes
        .clone()
        .map(|probes| HttpProber::new(http, probes));

    let mut monitor = config.monitor.clone();
    monitor.models.probing = config
        .probes
        .as_ref()
        .is_some_and(|p| p.streaming.is_some() && p.api_key.is_some());
    let mut state = MonitorState::new(monitor);
    // The models the user relies on come from their own traffic: the ledger's last 7 days
    // (Claude Code's transcripts and the gateway, as a running app has stored them).
    let now = Utc::now();
    if let Some(store) = &store {
        let store = store.clone();
        let from = now - chrono::Duration::days(7);
        let records = tokio::task::spawn_blocking(move || store.usage_between(from, now))
            .await
            .ok()
            .and_then(|r| r.ok())
            .unwrap_or_default();
        if !records.is_empty() {
            let _ = state.apply(Observation::Usage { records }, now);
        }
    }
    // A retired model answers 404 whatever we send: its reason says so without a probe.
    let followed: Vec<String> = state
        .followed_models(now)
        .into_iter()
        .filter(|m| !claude_status_core::models::is_retired(m, now))
        .collect();

    let page = async {
        let poll = client.poll_summary().await;
        client.log_all(poll.records).await;
        Observation::StatusPage { fetch: poll.fetch }
    };
    let probes = async {
        let Some(prober) = &prober else {
            return Vec::new();
        };
        run_probe_round(prober, config, &followed).await
    };
    let (page, probes) = tokio::join!(page, probes);

    for observation in std::iter::once(page).chain(probes) {
        let now = Utc::now();
        if let Some(store) = &store {
            persist_observation(store, &observation, now).await;
        }
        // A one-shot check keeps only what it observed; its effects (notifications, level
        // changes) belong to a running monitor, which has the history to judge them.
        let _effects: Vec<Effect> = state.apply(observation, now);
    }
    let mut snapshot = for_model
        .and_then(|model| state.snapshot_for_model(model, Utc::now()))
        .unwrap_or_else(|| state.snapshot());
    snapshot.history_not_saved = store.as_ref().and_then(|store| store.not_saving());
    snapshot
}

/// One reachability probe and one streaming probe per followed model (when the streaming probe
/// is on), each re-checked by the schedule's quick confirmations while it keeps failing. The
/// models are probed side by side, so checking five models takes as long as checking one.
pub async fn run_probe_round<P: ApiProbe>(
    prober: &P,
    config: &EngineConfig,
    models: &[String],
) -> Vec<Observation> {
    let Some(probes) = &config.probes else {
        return Vec::new();
    };
    let reachability = confirmed(prober, config, ProbeKind::Reachability, None);
    let streams = futures_util::future::join_all(
        models
            .iter()
            .filter(|_| probes.streaming.is_some())
            .map(|model| confirmed(prober, config, ProbeKind::Streaming, Some(model.as_str()))),
    );
    let (mut observations, streams) = tokio::join!(reachability, streams);
    observations.extend(streams.into_iter().flatten());
    observations
}

/// One probe, re-checked while it keeps failing, as the running schedule would.
async fn confirmed<P: ApiProbe>(
    prober: &P,
    config: &EngineConfig,
    kind: ProbeKind,
    model: Option<&str>,
) -> Vec<Observation> {
    let Some(probes) = &config.probes else {
        return Vec::new();
    };
    let health = &config.monitor.health;
    let mut observations = Vec::new();
    let mut quick_so_far = 0;
    let mut confirmation = false;
    loop {
        let result = prober.probe(kind, model, confirmation).await;
        let signal = health.signal(&result);
        observations.push(Observation::Probe {
            result: Box::new(result),
        });
        // Healthy so far: a failure disagrees and is confirmed; a pass ends the round.
        let (wait, quick) = probes.schedule.next(signal, false, quick_so_far);
        if !quick {
            break;
        }
        quick_so_far += 1;
        confirmation = true;
        tokio::time::sleep(wait).await;
    }
    observations
}
