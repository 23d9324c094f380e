//! The status line's IO without a service: it records the run's plan readings in the store and
//! works out today's spend and the plan windows from the store, with the same tracker the
//! service runs, so both say the same. Also the plan history the engine replays at start.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use claude_status_core::aggregate::DayZone;
use claude_status_core::catalog::Catalog;
use claude_status_core::monitor::Observation;
use claude_status_core::plan::PlanReading;
use claude_status_core::statusline::{FactsSource, StatusFacts};
use claude_status_core::tracker::{Tracker, TrackerConfig};
use tokio::sync::mpsc;

use crate::error::Result;
use crate::store::Store;

/// How far back plan readings are read: a week-long window and a day of margin.
pub const PLAN_HISTORY: Duration = Duration::days(8);

/// Records `readings` and answers from the store: no health (nothing is watching without a
/// service, and an old verdict must not pass for a current one), today's spend and the plan
/// windows.
pub fn facts_from_store(
    store: &Store,
    readings: &[PlanReading],
    catalog: Catalog,
    zone: &DayZone,
    now: DateTime<Utc>,
) -> Result<StatusFacts> {
    // Readings that could not be kept (another program holds the database locked) are still
    // this run's to show: the line loses only their history, not today's spend or the windows.
    let unkept = match store.record_plan_readings(readings) {
        Ok(_) => &[][..],
        Err(error) => {
            tracing::debug!("status line: the plan readings were not stored: {error}");
            readings
        }
    };
    let mut tracker = Tracker::new(
        catalog,
        TrackerConfig {
            day_zone: *zone,
            ..TrackerConfig::default()
        },
    );
    let today = zone.date_of(now);
    // Today started at most 26 hours ago in any zone; the tracker keeps only today's records.
    for record in store.usage_between(now - Duration::hours(26), now + Duration::minutes(1))? {
        if zone.date_of(record.at) == today {
            tracker.record(&record);
        }
    }
    for reading in store.plan_readings_for_report(now - PLAN_HISTORY)? {
        tracker.observe_plan(reading);
    }
    for reading in unkept {
        tracker.observe_plan(reading.clone());
    }
    let snapshot = tracker.snapshot(now);
    Ok(StatusFacts {
        source: FactsSource::Store,
        health: None,
        today: Some(snapshot.today.cost),
        plan: snapshot.plan,
    })
}

/// Hands the engine the plan readings of the last 8 days, marked as a replay so the crossings
/// they show are not announced again.
pub async fn send_plan_history(store: Arc<Store>, observations: mpsc::Sender<Observation>) {
    let now = Utc::now();
    let readings =
        tokio::task::spawn_blocking(move || store.plan_readings_since(now - PLAN_HISTORY)).await;
    match readings {
        Ok(Ok(readings)) if !readings.is_empty() => {
            let _ = observations
                .send(Observation::PlanReadings {
                    readings,
                    replay: true,
                })
                .await;
        }
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!("reading the plan windows' history failed: {e}"),
        Err(e) => tracing::warn!("reading the plan windows' history stopped: {e}"),
    }
}
