//! The spike alerts' memory across restarts: the gateway's ledger rows of the last 7 days folded
//! hour by hour into the hourly values the baselines are medians of, and the trailing hour's
//! requests replayed, so a restarted engine neither learns its baselines again nor waits an hour
//! for a current value.
//!
//! Completed hours are sent as `HourValue`s (`Observation::TrafficBaseline`); the requests of the
//! last 60 minutes as samples (`Observation::Traffic { replay: true }`, timed where the gateway's
//! request shapes say whether each streamed), which the watch counts
//! toward the trailing hour and the hour in progress but never toward a seeded hour, so the hour
//! before the restart is not counted twice. The live feed (the gateway's meter) carries on from
//! there. A request in flight across the restart that the ledger already holds when this reads it
//! may be counted twice; that is a handful of requests in an hour of at least 100.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use claude_status_core::catalog::Catalog;
use claude_status_core::monitor::Observation;
use claude_status_core::spikes::{HourValue, TrafficSample, TrafficTally, BASELINE_SPAN_HOURS};
use claude_status_core::usage::UsageSource;
use tokio::sync::mpsc;

use crate::error::Result;
use crate::store::Store;

/// The most requests replayed from the trailing hour: 20 a second for an hour is 72,000, so
/// this covers any one developer's traffic; beyond it the latest are kept, in batches of
/// [`REPLAY_BATCH`], while the oldest are left out of the current value.
pub const REPLAY_MAX: usize = 100_000;

/// The replayed samples per observation, so no one message holds the whole hour.
const REPLAY_BATCH: usize = 2_000;

/// What a starting engine is handed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrafficSeed {
    /// The completed hours of the last 7 days with at least 100 successful requests, per model.
    pub hours: Vec<HourValue>,
    /// The requests of the 60 minutes before `now`, oldest first, at most [`REPLAY_MAX`].
    pub replay: Vec<TrafficSample>,
}

fn hour_floor(at: DateTime<Utc>) -> DateTime<Utc> {
    let seconds = at.timestamp().div_euclid(3600) * 3600;
    Utc.timestamp_opt(seconds, 0).single().unwrap_or(at)
}

/// Reads the seed at `now` from the gateway's rows of the ledger, streaming them in time order:
/// only one hour's tallies (one per model) and the replay are held at any time, never the week
/// (at 20 requests a second a week is 12 million rows). Models are normalised and costs priced
/// with `catalog`, as the monitor's watch does.
pub fn read_traffic_seed(
    store: &Store,
    catalog: &Catalog,
    now: DateTime<Utc>,
) -> Result<TrafficSeed> {
    let current_hour = hour_floor(now);
    let from = current_hour - Duration::hours(BASELINE_SPAN_HOURS);
    let replay_from = now - Duration::minutes(60);
    let mut seed = TrafficSeed::default();
    let mut hour: Option<DateTime<Utc>> = None;
    let mut tallies: BTreeMap<String, TrafficTally> = BTreeMap::new();
    let flush = |hour: DateTime<Utc>,
                 tallies: &mut BTreeMap<String, TrafficTally>,
                 out: &mut Vec<HourValue>| {
        for (model, tally) in std::mem::take(tallies) {
            out.extend(tally.hour_value(&model, hour));
        }
    };
    let mut replay = std::collections::VecDeque::new();
    // Whether each request of the trailing hour streamed, from the gateway's request shapes
    // (issue 17's table): a replayed request keeps its times only when this says, so a stream's
    // duration is never timed as an answer's and a restart keeps the latency windows.
    let streamed = store.gateway_streamed_between(replay_from, now, REPLAY_MAX)?;
    store.visit_usage(from, now, Some(UsageSource::Gateway), &mut |record| {
        let known = record
            .request_id
            .as_ref()
            .and_then(|id| streamed.get(id).copied());
        let sample = match known {
            Some(streamed) => TrafficSample::from_record(record, streamed),
            None => TrafficSample {
                ttft_ms: None,
                latency_ms: None,
                ..TrafficSample::from_record(record, false)
            },
        };
        if !record.status.is_some_and(|s| (200..300).contains(&s)) {
            return;
        }
        if record.at >= replay_from {
            replay.push_back(sample.clone());
            if replay.len() > REPLAY_MAX {
                replay.pop_front();
            }
        }
        if record.at >= current_hour {
            // The hour in progress is left to the replay and the live feed.
            return;
        }
        let record_hour = hour_floor(record.at);
        if hour != Some(record_hour) {
            if let Some(done) = hour {
                flush(done, &mut tallies, &mut seed.hours);
            }
            hour = Some(record_hour);
        }
        tallies
            .entry(catalog.normalize(&record.model))
            .or_default()
            .add(&record.tokens, sample.cost_usd(catalog));
    })?;
    if let Some(done) = hour {
        flush(done, &mut tallies, &mut seed.hours);
    }
    seed.replay = replay.into();
    Ok(seed)
}

/// Reads the seed off the async workers and hands it to the monitor: the hours first, then the
/// replay in batches. A failure is logged: the alerts then learn their baselines again.
pub async fn send_traffic_seed(
    store: Arc<Store>,
    catalog: Catalog,
    now: DateTime<Utc>,
    observations: mpsc::Sender<Observation>,
) {
    let seed = tokio::task::spawn_blocking(move || read_traffic_seed(&store, &catalog, now)).await;
    let seed = match seed {
        Ok(Ok(seed)) => seed,
        Ok(Err(e)) => {
            tracing::warn!("reading the gateway's last 7 days for the spike alerts failed: {e}");
            return;
        }
        Err(e) => {
            tracing::warn!("reading the gateway's last 7 days for the spike alerts stopped: {e}");
            return;
        }
    };
    if !seed.hours.is_empty()
        && observations
            .send(Observation::TrafficBaseline { hours: seed.hours })
            .await
            .is_err()
    {
        return;
    }
    let mut replay = seed.replay;
    while !replay.is_empty() {
        let rest = replay.split_off(replay.len().min(REPLAY_BATCH));
        let batch = std::mem::replace(&mut replay, rest);
        let observation = Observation::Traffic {
            samples: batch,
            replay: true,
        };
        if observations.send(observation).await.is_err() {
            return;
        }
    }
}
