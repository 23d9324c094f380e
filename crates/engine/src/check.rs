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

/// Polls every source once and returns the resulting snapshot and the notifications it would
/// raise. With a store, results are logged, incidents kept, and the stored ETag makes the
/// status-page request conditional.
pub async fn check_once(
    config: &EngineConfig,
    http: reqwest::Client,
    store: Option<Arc<Store>>,
) -> Snapshot {
    let mut client = StatusPageClient::new(http.clone(), config.poller.clone(), store.clone());
    let prober = config
        .probes
        .clone()
        .map(|probes| HttpProber::new(http, probes));

    let page = async {
        let poll = client.poll_summary().await;
        client.log_all(poll.records).await;
        Observation::StatusPage { fetch: poll.fetch }
    };
    let probes = async {
        let Some(prober) = &prober else {
            return Vec::new();
        };
        run_probe_round(prober, config).await
    };
    let (page, probes) = tokio::join!(page, probes);

    let mut state = MonitorState::new(config.monitor.clone());
    for observation in std::iter::once(page).chain(probes) {
        let now = Utc::now();
        if let Some(store) = &store {
            persist_observation(store, &observation, now).await;
        }
        // A one-shot check keeps only what it observed; its effects (notifications, level
        // changes) belong to a running monitor, which has the history to judge them.
        let _effects: Vec<Effect> = state.apply(observation, now);
    }
    state.snapshot()
}

/// One reachability probe, re-checked by the schedule's quick confirmations while it keeps
/// failing, then the streaming probe if it is on.
pub async fn run_probe_round<P: ApiProbe>(prober: &P, config: &EngineConfig) -> Vec<Observation> {
    let Some(probes) = &config.probes else {
        return Vec::new();
    };
    let health = &config.monitor.health;
    let mut observations = Vec::new();
    let mut quick_so_far = 0;
    let mut confirmation = false;
    loop {
        let result = prober.probe(ProbeKind::Reachability, confirmation).await;
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
    if probes.streaming.is_some() {
        let result = prober.probe(ProbeKind::Streaming, false).await;
        observations.push(Observation::Probe {
            result: Box::new(result),
        });
    }
    observations
}
