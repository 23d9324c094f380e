//! Status history: every status-page change we detected, and every change of the app's own level.

use chrono::{DateTime, Utc};
use claude_status_core::changes::StatusChange;
use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::{from_json, from_millis, to_json, to_millis, to_sql_limit, Store};
use crate::error::Result;

/// One change of the app's verdict, with the reasons it gave at the time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelChange {
    pub at: DateTime<Utc>,
    /// The level before, as its wire name (`"operational"`).
    pub from: String,
    /// The level after, as its wire name (`"outage"`).
    pub to: String,
    pub reasons: Vec<String>,
}

impl Store {
    /// Stores the changes found by one fetch, all at time `at`, in one transaction.
    pub fn record_changes(&self, at: DateTime<Utc>, changes: &[StatusChange]) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        // Serialise before taking the lock so the critical section is only SQLite work.
        let rows = changes
            .iter()
            .map(|change| {
                Ok((
                    change.kind(),
                    change.subject_id(),
                    to_json("a status change", change)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let at = to_millis(at);
        self.write("recording status changes", |transaction| {
            let mut insert = transaction.prepare_cached(
                "INSERT INTO status_changes (at, kind, subject_id, change) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (kind, subject_id, json) in &rows {
                insert.execute(params![at, kind, subject_id, json])?;
            }
            Ok(())
        })
    }

    /// Up to `limit` changes with `from <= at < to`, newest first (changes recorded at the same
    /// moment come last-recorded first, so the list reads backwards in time throughout).
    pub fn changes_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(DateTime<Utc>, StatusChange)>> {
        let rows = self.read("reading status changes", |connection| {
            let mut statement = connection.prepare_cached(
                "SELECT id, at, change FROM status_changes
                 WHERE at >= ?1 AND at < ?2 ORDER BY at DESC, id DESC LIMIT ?3",
            )?;
            let rows = statement.query_map(
                params![to_millis(from), to_millis(to), to_sql_limit(limit)],
                |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, i64>(1)?,
                        row.get::<_, String>(2)?,
                    ))
                },
            )?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, at, json)| {
                let row = id.to_string();
                let at = from_millis(at).or_else(|| {
                    tracing::warn!(
                        table = "status_changes",
                        row,
                        "skipping a row with an unreadable time"
                    );
                    None
                })?;
                Some((at, from_json("status_changes", &row, &json)?))
            })
            .collect())
    }

    /// Stores one change of the app's level.
    pub fn record_level_change(
        &self,
        at: DateTime<Utc>,
        from: &str,
        to: &str,
        reasons: &[String],
    ) -> Result<()> {
        let reasons = to_json("level-change reasons", reasons)?;
        self.write("recording a level change", |transaction| {
            transaction
                .prepare_cached(
                    "INSERT INTO level_changes (at, from_level, to_level, reasons)
                     VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![to_millis(at), from, to, reasons])?;
            Ok(())
        })
    }

    /// The level changes with `from <= at < to`, oldest first (the order a timeline is drawn in).
    pub fn level_changes_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<LevelChange>> {
        let rows = self.read("reading level changes", |connection| {
            let mut statement = connection.prepare_cached(
                "SELECT id, at, from_level, to_level, reasons FROM level_changes
                 WHERE at >= ?1 AND at < ?2 ORDER BY at, id",
            )?;
            let rows = statement.query_map(params![to_millis(from), to_millis(to)], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, String>(4)?,
                ))
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, at, from, to, reasons)| {
                let row = id.to_string();
                let at = from_millis(at).or_else(|| {
                    tracing::warn!(
                        table = "level_changes",
                        row,
                        "skipping a row with an unreadable time"
                    );
                    None
                })?;
                Some(LevelChange {
                    at,
                    from,
                    to,
                    reasons: from_json("level_changes", &row, &reasons)?,
                })
            })
            .collect())
    }
}
