//! One round of checks for `claude-status check`: the same sources and the same pure state
//! machine as the monitor, run once.

use std::sync::Arc;

use chrono::Utc;
use claude_status_core::monitor::{MonitorState, Observation};
use claude_status_core::report::Snapshot;

use crate::monitor::{persist_observation, EngineConfig};
use crate::poller::StatusPageClient;
use crate::store::Store;

/// Polls every source once and returns the resulting snapshot. With a store, the fetch is logged,
/// incidents are kept, and the stored ETag makes the request conditional.
pub async fn check_once(
    config: &EngineConfig,
    http: reqwest::Client,
    store: Option<Arc<Store>>,
) -> Snapshot {
    let mut client = StatusPageClient::new(http, config.poller.clone(), store.clone());
    let poll = client.poll_summary().await;
    client.log_all(poll.records).await;
    let observation = Observation::StatusPage { fetch: poll.fetch };
    let now = Utc::now();
    if let Some(store) = &store {
        persist_observation(store, &observation, now).await;
    }
    let mut state = MonitorState::new(config.assess.clone());
    state.apply(observation, now);
    state.snapshot()
}
