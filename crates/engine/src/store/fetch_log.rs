//! The fetch log: one row per status-page fetch attempt, successful or not.

use chrono::{DateTime, Utc};
use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::{from_millis, to_millis, to_sql_integer, Store};
use crate::error::Result;

/// How one fetch attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FetchOutcome {
    /// A body was read (HTTP 200).
    Ok,
    /// The page answered 304 to our `If-None-Match`: nothing changed.
    NotModified,
    /// Anything else: a network failure, an HTTP error status, an unreadable body.
    Error,
}

impl FetchOutcome {
    /// The stored spelling (`"not_modified"`).
    pub fn as_str(self) -> &'static str {
        match self {
            FetchOutcome::Ok => "ok",
            FetchOutcome::NotModified => "not_modified",
            FetchOutcome::Error => "error",
        }
    }

    /// Reads the stored spelling; `None` for anything this build does not know.
    pub fn from_stored(text: &str) -> Option<FetchOutcome> {
        match text {
            "ok" => Some(FetchOutcome::Ok),
            "not_modified" => Some(FetchOutcome::NotModified),
            "error" => Some(FetchOutcome::Error),
            _ => None,
        }
    }
}

/// One status-page fetch attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchRecord {
    /// When the fetch started.
    pub at: DateTime<Utc>,
    pub url: String,
    pub outcome: FetchOutcome,
    /// The HTTP status, when a response arrived at all.
    pub http_status: Option<u16>,
    /// Body bytes read (0 for a 304 or a failure before the body).
    pub bytes: u64,
    pub duration_ms: u64,
    /// What went wrong, for `FetchOutcome::Error`.
    pub error: Option<String>,
}

impl Store {
    /// Appends one fetch attempt to the log.
    pub fn record_fetch(&self, record: &FetchRecord) -> Result<()> {
        self.write("recording a status-page fetch", |transaction| {
            transaction
                .prepare_cached(
                    "INSERT INTO fetch_log (at, url, outcome, http_status, bytes, duration_ms, error)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![
                    to_millis(record.at),
                    record.url,
                    record.outcome.as_str(),
                    record.http_status,
                    to_sql_integer(record.bytes),
                    to_sql_integer(record.duration_ms),
                    record.error,
                ])?;
            Ok(())
        })
    }

    /// The fetch attempts with `from <= at < to`, oldest first.
    pub fn fetches_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<FetchRecord>> {
        let rows = self.read("reading the fetch log", |connection| {
            let mut statement = connection.prepare_cached(
                "SELECT id, at, url, outcome, http_status, bytes, duration_ms, error
                 FROM fetch_log WHERE at >= ?1 AND at < ?2 ORDER BY at, id",
            )?;
            let rows = statement.query_map(params![to_millis(from), to_millis(to)], |row| {
                Ok(StoredFetch {
                    id: row.get(0)?,
                    at: row.get(1)?,
                    url: row.get(2)?,
                    outcome: row.get(3)?,
                    http_status: row.get(4)?,
                    bytes: row.get(5)?,
                    duration_ms: row.get(6)?,
                    error: row.get(7)?,
                })
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        // Decoding happens after the lock is released; a row we cannot read is skipped.
        Ok(rows.into_iter().filter_map(StoredFetch::decode).collect())
    }
}

/// A `fetch_log` row as SQLite returns it, before it is checked.
struct StoredFetch {
    id: i64,
    at: i64,
    url: String,
    outcome: String,
    http_status: Option<i64>,
    bytes: i64,
    duration_ms: i64,
    error: Option<String>,
}

impl StoredFetch {
    fn decode(self) -> Option<FetchRecord> {
        let Some(outcome) = FetchOutcome::from_stored(&self.outcome) else {
            tracing::warn!(table = "fetch_log", row = self.id, outcome = %self.outcome, "skipping a row with an unknown outcome");
            return None;
        };
        let Some(at) = from_millis(self.at) else {
            tracing::warn!(
                table = "fetch_log",
                row = self.id,
                "skipping a row with an unreadable time"
            );
            return None;
        };
        Some(FetchRecord {
            at,
            url: self.url,
            outcome,
            // A status outside u16 cannot come from HTTP; it reads as "no response".
            http_status: self.http_status.and_then(|s| u16::try_from(s).ok()),
            bytes: u64::try_from(self.bytes).unwrap_or(0),
            duration_ms: u64::try_from(self.duration_ms).unwrap_or(0),
            error: self.error,
        })
    }
}
