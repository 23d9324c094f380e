//! Detection lead times: for each status-page incident, how long before the page our own probes
//! saw the trouble. This is the number that says whether running Claude Status is worth it.
//!
//! One row per incident, and the first measurement wins: the monitor measures when it first sees
//! the incident, and a later fetch (or a restart that sees the same incident again, with less of
//! the probes' memory left) must not overwrite that with a worse guess.

use chrono::{DateTime, Utc};
use claude_status_core::history::HistoryLead;
use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::{from_millis, to_millis, Store};
use crate::error::Result;

/// How long before the status page we noticed one incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadTime {
    /// `Incident::key()`.
    pub incident_id: String,
    pub incident_name: String,
    /// The model whose trouble we saw first; `None` for the API-wide probes.
    #[serde(default)]
    pub model: Option<String>,
    /// When the trouble our probes saw began.
    pub detected_at: DateTime<Utc>,
    /// When the status page reported the incident.
    pub reported_at: DateTime<Utc>,
    /// `reported_at - detected_at`: positive when we were first, negative when the page was.
    /// Serialised as whole seconds (`lead_seconds`), truncated toward zero.
    #[serde(rename = "lead_seconds", with = "whole_seconds")]
    pub lead: chrono::Duration,
}

impl From<&LeadTime> for HistoryLead {
    fn from(lead: &LeadTime) -> Self {
        HistoryLead {
            incident_id: lead.incident_id.clone(),
            incident_name: lead.incident_name.clone(),
            model: lead.model.clone(),
            detected_at: lead.detected_at,
            reported_at: lead.reported_at,
        }
    }
}

impl Store {
    /// Records the lead time of one incident, unless one is already recorded for it (the first
    /// measurement wins, see the module documentation).
    pub fn record_lead_time(
        &self,
        incident_id: &str,
        incident_name: &str,
        model: Option<&str>,
        detected_at: DateTime<Utc>,
        reported_at: DateTime<Utc>,
        recorded_at: DateTime<Utc>,
    ) -> Result<()> {
        let (detected_at, reported_at) = (to_millis(detected_at), to_millis(reported_at));
        // Saturating, so a nonsense pair of times is stored as an extreme lead, not an overflow.
        let lead_seconds = reported_at.saturating_sub(detected_at) / 1000;
        self.write("recording a detection lead time", |transaction| {
            transaction
                .prepare_cached(
                    "INSERT OR IGNORE INTO detection_leads
                         (incident_id, incident_name, detected_at, reported_at, lead_seconds,
                          recorded_at, model)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![
                    incident_id,
                    incident_name,
                    detected_at,
                    reported_at,
                    lead_seconds,
                    to_millis(recorded_at),
                    model,
                ])?;
            Ok(())
        })
    }

    /// The lead times of incidents reported with `from <= reported_at < to`, oldest report first.
    pub fn lead_times_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<LeadTime>> {
        let rows = self.read("reading detection lead times", |connection| {
            let mut statement = connection.prepare_cached(
                "SELECT incident_id, incident_name, detected_at, reported_at, model FROM detection_leads
                 WHERE reported_at >= ?1 AND reported_at < ?2 ORDER BY reported_at, incident_id",
            )?;
            let rows = statement.query_map(params![to_millis(from), to_millis(to)], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, i64>(3)?,
                    row.get::<_, Option<String>>(4)?,
                ))
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        Ok(rows
            .into_iter()
            .filter_map(
                |(incident_id, incident_name, detected_at, reported_at, model)| {
                    let (Some(detected_at), Some(reported_at)) =
                        (from_millis(detected_at), from_millis(reported_at))
                    else {
                        tracing::warn!(
                            table = "detection_leads",
                            row = %incident_id,
                            "skipping a row with an unreadable time"
                        );
                        return None;
                    };
                    // The lead is recomputed from the times, which keep the milliseconds the
                    // `lead_seconds` column drops.
                    Some(LeadTime {
                        incident_id,
                        incident_name,
                        model,
                        detected_at,
                        reported_at,
                        lead: reported_at - detected_at,
                    })
                },
            )
            .collect())
    }
}

/// A `chrono::Duration` as whole seconds in JSON, the unit people read lead times in.
mod whole_seconds {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(
        value: &chrono::Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        value.num_seconds().serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<chrono::Duration, D::Error> {
        let seconds = i64::deserialize(deserializer)?;
        chrono::Duration::try_seconds(seconds)
            .ok_or_else(|| serde::de::Error::custom("a lead time out of range"))
    }
}
