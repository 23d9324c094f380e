//! Retention: deleting history older than the configured window, in one transaction.

use chrono::{DateTime, Utc};
use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::{to_millis, Store};
use crate::error::{Error, Result};

/// How long a delivered alert is remembered, whatever the retention: longer than any dedup
/// window.
const ALERT_DELIVERIES_KEPT_MS: i64 = 31 * 24 * 3600 * 1000;

/// How long history is kept unless the user configures otherwise.
pub const RETENTION_DEFAULT_DAYS: i64 = 90;

/// How many rows one prune deleted, per table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneReport {
    pub fetches: usize,
    pub status_changes: usize,
    pub level_changes: usize,
    pub incidents: usize,
    /// Updates deleted along with their incidents.
    pub incident_updates: usize,
    pub probe_results: usize,
    /// Lead times go by when the status page reported their incident.
    pub detection_leads: usize,
}

impl PruneReport {
    /// Rows deleted in all tables together.
    pub fn total(&self) -> usize {
        self.fetches
            + self.status_changes
            + self.level_changes
            + self.incidents
            + self.incident_updates
            + self.probe_results
            + self.detection_leads
    }
}

impl Store {
    /// Deletes what is older than `now - retention`; a row exactly at the cut-off is kept.
    ///
    /// Log rows (probe results included) go by their own time, and lead times by when the status
    /// page reported their incident. An incident goes when it has not been seen within the
    /// retention *and* it is not resolved within it either (unresolved incidents have no
    /// resolution time, so only "not seen" counts for them). An incident the page still serves
    /// is therefore never deleted, which matters because deleting it would make the next fetch
    /// store it again as new, with a wrong first-seen time.
    pub fn prune(&self, now: DateTime<Utc>, retention: chrono::Duration) -> Result<PruneReport> {
        let cutoff = now.checked_sub_signed(retention).ok_or_else(|| {
            Error::Config(format!(
                "a retention of {retention} reaches before the earliest time we can represent"
            ))
        })?;
        let cutoff = to_millis(cutoff);
        self.write("pruning old history", |transaction| {
            let delete_older = |table: &str| {
                transaction
                    .prepare_cached(&format!("DELETE FROM {table} WHERE at < ?1"))?
                    .execute(params![cutoff])
            };
            let fetches = delete_older("fetch_log")?;
            let status_changes = delete_older("status_changes")?;
            let level_changes = delete_older("level_changes")?;
            let probe_results = delete_older("probe_results")?;
            let detection_leads = transaction
                .prepare_cached("DELETE FROM detection_leads WHERE reported_at < ?1")?
                .execute(params![cutoff])?;
            // Usage rows, rate-limit readings and the gateway's events go by their own time too. They are not in the
            // report yet: adding fields to it changes every struct literal of it in the tests.
            let usage_records = delete_older("usage_ledger")?;
            let ratelimit_readings = delete_older("ratelimit_readings")?;
            let gateway_events = delete_older("gateway_events")?;
            transaction
                .prepare_cached(
                    "DELETE FROM gateway_event_providers
                     WHERE event_id NOT IN (SELECT id FROM gateway_events)",
                )?
                .execute([])?;
            delete_older("plan_readings")?;
            delete_older("gateway_shapes")?;
            transaction
                .prepare_cached("DELETE FROM prefix_sizes WHERE counted_at < ?1")?
                .execute(params![cutoff])?;
            // A delivery is only remembered for its dedup window (at most 8 days,
            // `core::channels::dedup_window`), whatever the retention: a month covers every
            // window with room to spare, and a short retention must not shorten a window.
            transaction
                .prepare_cached("DELETE FROM alert_deliveries WHERE at < ?1")?
                .execute(params![now.timestamp_millis() - ALERT_DELIVERIES_KEPT_MS])?;
            if usage_records + ratelimit_readings + gateway_events > 0 {
                tracing::debug!(
                    usage_records,
                    ratelimit_readings,
                    gateway_events,
                    "pruned usage history"
                );
            }

            const EXPIRED: &str = "last_seen_at < ?1 AND (resolved_at IS NULL OR resolved_at < ?1)";
            // Cascaded deletes are not counted by SQLite's change counter, so count them first.
            let incident_updates: i64 = transaction
                .prepare_cached(&format!(
                    "SELECT count(*) FROM incident_updates WHERE incident_id IN
                         (SELECT id FROM incidents WHERE {EXPIRED})"
                ))?
                .query_row(params![cutoff], |row| row.get(0))?;
            let incidents = transaction
                .prepare_cached(&format!("DELETE FROM incidents WHERE {EXPIRED}"))?
                .execute(params![cutoff])?;
            Ok(PruneReport {
                fetches,
                status_changes,
                level_changes,
                incidents,
                incident_updates: usize::try_from(incident_updates).unwrap_or(0),
                probe_results,
                detection_leads,
            })
        })
    }
}
