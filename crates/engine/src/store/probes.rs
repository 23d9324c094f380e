//! Probe results: every reachability and streaming probe we ran, for the history view and its
//! uptime, latency and error-rate figures.
//!
//! A month of 60-second probes with their confirmations is about 100 000 rows, so a row is kept
//! lean: the times and latencies are plain integer columns, the rate-limit snapshot (absent on
//! many replies) is NULL rather than an empty JSON object, and reading a range walks the index on
//! `at` in order without sorting. The whole [`Classification`] is stored as JSON so that its
//! fields without a column (the error message, the retry hints) come back exactly; the columns
//! copied out of it (outcome, HTTP status, error type, request id, detail) are there for SQL
//! queries and for a human reading the database, and the JSON is what a read trusts.

use chrono::{DateTime, Utc};
use claude_status_core::health::{ProbeKind, ProbeResult};
use claude_status_core::probe::Classification;
use claude_status_core::ratelimit::RateLimitSnapshot;
use claude_status_core::sse::Usage;
use claude_status_core::usage::{TokenCounts, UsageRecord, UsageSource};
use rusqlite::params;

use super::{from_json, from_millis, to_json, to_millis, to_sql_integer, Store};
use crate::error::Result;

impl Store {
    /// Appends one probe result.
    pub fn record_probe(&self, result: &ProbeResult) -> Result<()> {
        // Serialise before taking the lock so the critical section is only SQLite work.
        let classification = to_json("a probe classification", &result.classification)?;
        let ratelimit = if result.ratelimit.is_empty() {
            None
        } else {
            Some(to_json("a probe's rate-limit snapshot", &result.ratelimit)?)
        };
        let usage = result
            .usage
            .as_ref()
            .map(|usage| to_json("a probe's token usage", usage))
            .transpose()?;
        let c = &result.classification;
        self.write("recording a probe result", |transaction| {
            transaction
                .prepare_cached(
                    "INSERT INTO probe_results (at, kind, outcome, http_status, error_type,
                         request_id, latency_ms, message_start_ms, ttft_ms, confirmation, detail,
                         classification, ratelimit, usage, model)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                )?
                .execute(params![
                    to_millis(result.at),
                    result.kind.as_str(),
                    c.outcome.as_str(),
                    c.http_status,
                    c.error_type,
                    c.request_id,
                    result.latency_ms.map(to_sql_integer),
                    result.message_start_ms.map(to_sql_integer),
                    result.ttft_ms.map(to_sql_integer),
                    result.confirmation,
                    c.detail,
                    classification,
                    ratelimit,
                    usage,
                    result.model,
                ])?;
            Ok(())
        })
    }

    /// The probe results with `from <= at < to`, oldest first (ties in insertion order).
    pub fn probes_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ProbeResult>> {
        let rows = self.read("reading probe results", |connection| {
            // `ORDER BY at, id` is served by the index on `at`, whose entries end in the rowid.
            let mut statement = connection.prepare_cached(
                "SELECT id, at, kind, latency_ms, message_start_ms, ttft_ms, confirmation,
                        classification, ratelimit, usage, model
                 FROM probe_results WHERE at >= ?1 AND at < ?2 ORDER BY at, id",
            )?;
            let rows = statement.query_map(params![to_millis(from), to_millis(to)], |row| {
                Ok(StoredProbe {
                    id: row.get(0)?,
                    at: row.get(1)?,
                    kind: row.get(2)?,
                    latency_ms: row.get(3)?,
                    message_start_ms: row.get(4)?,
                    ttft_ms: row.get(5)?,
                    confirmation: row.get(6)?,
                    classification: row.get(7)?,
                    ratelimit: row.get(8)?,
                    usage: row.get(9)?,
                    model: row.get(10)?,
                })
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        // Decoding (the JSON parsing) happens after the lock is released; a row we cannot read
        // is skipped.
        Ok(rows.into_iter().filter_map(StoredProbe::decode).collect())
    }

    /// Hands the token usage of every streaming probe with `from <= at < to` to `visit` as a
    /// usage record of source `probe`, oldest first. The probe's messages are paid for on the
    /// user's key like any other, so the usage reports count them; they are read from here
    /// rather than copied into the ledger, where they would be stored twice. A probe stored
    /// without its model (before per-model probes) is `unknown`, so its price is unknown rather
    /// than guessed.
    pub fn visit_probe_usage(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        visit: &mut dyn FnMut(&UsageRecord),
    ) -> Result<()> {
        self.read("reading the probes' usage", |connection| {
            let mut statement = connection.prepare_cached(
                "SELECT id, at, model, usage, http_status, request_id, latency_ms, ttft_ms
                 FROM probe_results
                 WHERE at >= ?1 AND at < ?2 AND kind = 'streaming' AND usage IS NOT NULL
                 ORDER BY at, id",
            )?;
            let mut rows = statement.query(params![to_millis(from), to_millis(to)])?;
            while let Some(row) = rows.next()? {
                let id: i64 = row.get(0)?;
                let Some(at) = from_millis(row.get(1)?) else {
                    continue;
                };
                let usage: String = row.get(3)?;
                let Some(usage) = from_json::<Usage>("probe_results", &id.to_string(), &usage)
                else {
                    continue;
                };
                let duration = |ms: Option<i64>| ms.and_then(|ms| u64::try_from(ms).ok());
                let model: Option<String> = row.get(2)?;
                let record = UsageRecord {
                    status: row
                        .get::<_, Option<i64>>(4)?
                        .and_then(|s| u16::try_from(s).ok()),
                    request_id: row.get(5)?,
                    latency_ms: duration(row.get(6)?),
                    ttft_ms: duration(row.get(7)?),
                    service_tier: usage.service_tier.clone(),
                    ..UsageRecord::new(
                        at,
                        UsageSource::Probe,
                        model.unwrap_or_else(|| UNKNOWN_MODEL.to_owned()),
                        TokenCounts::from_usage(&usage),
                    )
                };
                visit(&record);
            }
            Ok(())
        })
    }
}

/// The model of a probe stored without one.
const UNKNOWN_MODEL: &str = "unknown";

/// A `probe_results` row as SQLite returns it, before it is checked.
struct StoredProbe {
    id: i64,
    at: i64,
    kind: String,
    latency_ms: Option<i64>,
    message_start_ms: Option<i64>,
    ttft_ms: Option<i64>,
    confirmation: bool,
    classification: String,
    ratelimit: Option<String>,
    usage: Option<String>,
    model: Option<String>,
}

impl StoredProbe {
    fn decode(self) -> Option<ProbeResult> {
        const TABLE: &str = "probe_results";
        let row = self.id.to_string();
        let Some(kind) = kind_from_stored(&self.kind) else {
            tracing::warn!(table = TABLE, row, kind = %self.kind, "skipping a row with an unknown probe kind");
            return None;
        };
        let Some(at) = from_millis(self.at) else {
            tracing::warn!(table = TABLE, row, "skipping a row with an unreadable time");
            return None;
        };
        let classification: Classification = from_json(TABLE, &row, &self.classification)?;
        let ratelimit: RateLimitSnapshot = match &self.ratelimit {
            Some(json) => from_json(TABLE, &row, json)?,
            None => RateLimitSnapshot::default(),
        };
        let usage: Option<Usage> = match &self.usage {
            Some(json) => Some(from_json(TABLE, &row, json)?),
            None => None,
        };
        // A negative duration cannot be measured; it reads as "not measured".
        let duration = |ms: Option<i64>| ms.and_then(|ms| u64::try_from(ms).ok());
        Some(ProbeResult {
            at,
            kind,
            classification,
            latency_ms: duration(self.latency_ms),
            message_start_ms: duration(self.message_start_ms),
            ttft_ms: duration(self.ttft_ms),
            ratelimit,
            usage,
            confirmation: self.confirmation,
            model: self.model,
        })
    }
}

/// Reads the stored spelling of a probe kind; `None` for a kind this build does not know (a row
/// written by a newer build).
fn kind_from_stored(text: &str) -> Option<ProbeKind> {
    [ProbeKind::Reachability, ProbeKind::Streaming]
        .into_iter()
        .find(|kind| kind.as_str() == text)
}
