//! The usage ledger (one row per API request, from any usage source), the read position of every
//! Claude Code transcript, and the rate-limit readings.
//!
//! Rows and read positions are written together: [`Store::ingest_batch`] commits a batch of
//! records *and* the offsets just past the lines they came from in one transaction. A process
//! killed at any moment therefore leaves either both or neither, so the next run neither counts a
//! line twice nor skips one.
//!
//! Claude Code writes several lines per API response while it streams, each with the same
//! `message.id` and `requestId` and a growing `usage`. The ledger keeps one row per
//! (source, message id, request id), and a later line replaces the row only when its token total
//! is larger, so the row ends up with the complete count whatever order the lines arrive in.

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use claude_status_core::ratelimit::RateLimitSnapshot;
use claude_status_core::usage::{TokenCounts, UsageRecord, UsageSource};
use rusqlite::{params, Transaction};
use serde::{Deserialize, Serialize};

use super::{from_json, from_millis, to_json, to_millis, to_sql_integer, Store};
use crate::error::Result;

/// How far one transcript has been read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageFileOffset {
    pub path: PathBuf,
    /// The file's size when it was last read.
    pub size: u64,
    /// Its modification time then, unix ms.
    pub mtime_ms: Option<i64>,
    /// Just past the last complete line read: the next read starts here.
    pub offset: u64,
    /// The inode (Unix), to notice a file replaced under the same name.
    pub inode: Option<u64>,
}

/// What one batch did to the ledger.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchOutcome {
    /// New rows.
    pub inserted: usize,
    /// Records of a request already in the ledger (whether or not they replaced its row).
    pub duplicates: usize,
    /// Of the duplicates, those whose larger total replaced the stored row.
    pub replaced: usize,
}

/// One set of rate-limit headers as seen on a reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateLimitReading {
    pub at: DateTime<Utc>,
    pub source: UsageSource,
    pub model: Option<String>,
    pub snapshot: RateLimitSnapshot,
}

/// The columns of `usage_ledger` after `id`, in the order every statement below uses.
const COLUMNS: &str = "at, source, model, input, output, cache_write_5m, cache_write_1h, \
                       cache_read, status, latency_ms, ttft_ms, service_tier, message_id, \
                       request_id, session_id, project, reported_cost_usd, is_sidechain";

/// True for a ledger row `l` that is a `/btw` sidechain replay of a real request of its source:
/// a sidechain row whose message also has a non-sidechain row with another request id
/// (api-facts F). `p.request_id <> l.request_id` changes nothing (the row itself is the only one
/// of its request, and it is a sidechain row), but it is answered from the index, so the table is
/// read only for a message that really has a second request.
const SIDECHAIN_REPLAY: &str = "CASE WHEN l.is_sidechain AND l.message_id IS NOT NULL
                                     AND l.request_id IS NOT NULL
    THEN EXISTS (SELECT 1 FROM usage_ledger AS p
                 WHERE p.source = l.source AND p.message_id = l.message_id
                   AND p.request_id IS NOT NULL
                   AND p.request_id <> l.request_id AND NOT p.is_sidechain)
    ELSE 0 END";

/// The token total that decides which of two lines of one request is kept.
const STORED_TOTAL: &str = "(input + output + cache_write_5m + cache_write_1h + cache_read)";

impl Store {
    /// Writes `records` and the read positions `offsets` in one transaction.
    ///
    /// A record of a request already in the ledger (same source, message id and request id)
    /// replaces the stored row only when its token total is larger; on a tie the stored row
    /// stays. Records without a message id are always new rows.
    pub fn ingest_batch(
        &self,
        records: &[UsageRecord],
        offsets: &[UsageFileOffset],
    ) -> Result<BatchOutcome> {
        self.ingest_transaction(|writer| {
            for record in records {
                writer.record(record)?;
            }
            for offset in offsets {
                writer.offset(offset)?;
            }
            Ok(())
        })
        .map(|((), outcome)| outcome)
    }

    /// Runs `work` in one write transaction with an [`IngestWriter`], commits it, and returns
    /// what `work` returned with what the writer did. This is [`Store::ingest_batch`] for a
    /// caller that has its records one chunk at a time: a cold ingest writes each chunk as it is
    /// parsed instead of gathering a batch first, so the batch never sits in memory twice, and
    /// it commits rarely, because every commit rewrites the index pages it touched.
    pub fn ingest_transaction<T>(
        &self,
        work: impl FnOnce(&mut IngestWriter<'_, '_>) -> rusqlite::Result<T>,
    ) -> Result<(T, BatchOutcome)> {
        self.write("writing a batch of usage records", |transaction| {
            let mut writer = IngestWriter {
                transaction,
                outcome: BatchOutcome::default(),
            };
            let value = work(&mut writer)?;
            Ok((value, writer.outcome))
        })
    }

    /// The usage records with `from <= at < to`, oldest first (ties in insertion order).
    pub fn usage_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<UsageRecord>> {
        self.usage_between_of(from, to, None)
    }

    /// [`Store::usage_between`] for one source, or all of them with `None`.
    pub fn usage_between_of(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        source: Option<UsageSource>,
    ) -> Result<Vec<UsageRecord>> {
        self.read("reading usage records", |connection| {
            let mut statement = connection.prepare_cached(&format!(
                "SELECT id, {COLUMNS} FROM usage_ledger
                 WHERE at >= ?1 AND at < ?2 AND (?3 IS NULL OR source = ?3) ORDER BY at, id"
            ))?;
            let source = source.map(UsageSource::as_str);
            let mut rows = statement.query(params![to_millis(from), to_millis(to), source])?;
            let mut records = Vec::new();
            visit_rows(&mut rows, &mut |record| records.push(record.clone()))?;
            Ok(records)
        })
    }

    /// Hands every record with `from <= at < to` of one source (or all with `None`) to `visit`,
    /// without collecting them: oldest first, except that with `from` at `DateTime::MIN_UTC` (the
    /// whole history) they come in the order they were written. The usage tables read the whole
    /// ledger, and a `Vec` of it was most of their memory.
    ///
    /// The rows of one source are deduplicated as `aggregate::dedupe` would: the ledger already
    /// holds one row per (source, message id, request id), and a sidechain row whose message
    /// also has a non-sidechain row of its source (a `/btw` replay of a real request,
    /// api-facts F) is left out here, by SQL, wherever in history that row lies. Rows of two
    /// sources are never merged. The record passed in is reused from row to row, so its strings
    /// cost no allocation once they are long enough; clone what must outlive the call.
    pub fn visit_usage(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        source: Option<UsageSource>,
        visit: &mut dyn FnMut(&UsageRecord),
    ) -> Result<()> {
        // From the beginning of time, the table is read in storage order, page after page; a
        // window goes through the time index. Going through the index for the whole history
        // looked every row up at random, and was a third of a `usage daily` on a profile.
        let whole_history = from == DateTime::<Utc>::MIN_UTC;
        let (table, order) = if whole_history {
            ("usage_ledger AS l NOT INDEXED", "id")
        } else {
            ("usage_ledger AS l", "at, id")
        };
        self.read("reading usage records", |connection| {
            let mut statement = connection.prepare_cached(&format!(
                "SELECT id, {COLUMNS} FROM {table}
                 WHERE at >= ?1 AND at < ?2 AND (?3 IS NULL OR source = ?3)
                   AND NOT ({SIDECHAIN_REPLAY})
                 ORDER BY {order}"
            ))?;
            let source = source.map(UsageSource::as_str);
            let mut rows = statement.query(params![to_millis(from), to_millis(to), source])?;
            visit_rows(&mut rows, visit)
        })
    }

    /// What the usage reports read: [`Store::visit_usage`] for one source, and with `None` every
    /// source of single requests together (Claude Code, the gateway, and any other but the Admin
    /// API, whose rows are an organisation's hourly totals, not requests). `visit` is told whether
    /// the report counts the record (`true`) or only shows it in its source's breakdown
    /// (`false`): a request Claude Code sent through the gateway is in the ledger twice, and
    /// the Claude Code row is the one counted. Both rows hold the API's `usage` of one reply,
    /// and Claude Code's names the session and project; so the figures of the Claude Code rows
    /// stay exactly what ccusage reports, and the gateway adds only what Claude Code did not
    /// send. A copy comes with the session of the row that counts, so a session's breakdown
    /// shows what the gateway saw of it.
    ///
    /// Only the gateway's rows with both ids look for a Claude Code twin, through the unique
    /// index, and a ledger without such rows (Claude Code's alone, the most common) is read as
    /// [`Store::visit_usage`] reads it: the twin columns alone cost a few percent of a report.
    pub fn visit_usage_report(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        source: Option<UsageSource>,
        visit: &mut dyn FnMut(&UsageRecord, bool),
    ) -> Result<()> {
        if source.is_some() {
            return self.visit_usage(from, to, source, &mut |record| visit(record, true));
        }
        let whole_history = from == DateTime::<Utc>::MIN_UTC;
        let (table, order) = if whole_history {
            ("usage_ledger AS l NOT INDEXED", "id")
        } else {
            ("usage_ledger AS l", "at, id")
        };
        self.read("reading usage records", |connection| {
            // One seek in the partial unique index, which holds exactly the rows with both ids.
            let gateway_with_ids: bool = connection
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM usage_ledger WHERE source = 'gateway'
                         AND message_id IS NOT NULL AND request_id IS NOT NULL)",
                )?
                .query_row([], |row| row.get(0))?;
            let twin_columns = if gateway_with_ids {
                let twin = "FROM usage_ledger AS c
                            WHERE c.source = 'claude_code' AND c.message_id = l.message_id
                              AND c.request_id = l.request_id";
                let candidate = "l.source = 'gateway' AND l.message_id IS NOT NULL
                                 AND l.request_id IS NOT NULL";
                format!(
                    ", CASE WHEN {candidate} THEN (SELECT c.id {twin}) END,
                       CASE WHEN {candidate} THEN (SELECT c.session_id {twin}) END"
                )
            } else {
                String::new()
            };
            let mut statement = connection.prepare_cached(&format!(
                "SELECT id, {COLUMNS}{twin_columns}
                 FROM {table}
                 WHERE at >= ?1 AND at < ?2 AND source <> 'admin_api'
                   AND NOT ({SIDECHAIN_REPLAY})
                 ORDER BY {order}"
            ))?;
            let mut rows = statement.query(params![to_millis(from), to_millis(to)])?;
            let mut record = empty_record();
            while let Some(row) = rows.next()? {
                if !read_into(row, &mut record)? {
                    continue;
                }
                let twin: Option<i64> = if gateway_with_ids { row.get(19)? } else { None };
                if twin.is_some() {
                    set_text(&mut record.session_id, text(row, 20)?);
                }
                visit(&record, twin.is_none());
            }
            Ok(())
        })
    }

    /// [`Store::visit_usage`] collected, oldest first: the deduplicated records of a window, for
    /// views that need them all at once (the 5-hour blocks, the tracker's month so far).
    pub fn usage_deduplicated_between_of(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        source: Option<UsageSource>,
    ) -> Result<Vec<UsageRecord>> {
        let mut records = Vec::new();
        self.visit_usage(from, to, source, &mut |record| records.push(record.clone()))?;
        // A stable sort keeps the order of writing among equal times, as `ORDER BY at, id` does.
        records.sort_by_key(|record| record.at);
        Ok(records)
    }

    /// The number of rows in the ledger (for reports and tests).
    pub fn usage_record_count(&self) -> Result<u64> {
        self.read("counting usage records", |connection| {
            connection.query_row("SELECT count(*) FROM usage_ledger", [], |row| {
                row.get::<_, i64>(0)
            })
        })
        .map(|n| u64::try_from(n).unwrap_or(0))
    }

    /// How far every known transcript has been read, by path.
    pub fn usage_file_offsets(&self) -> Result<HashMap<PathBuf, UsageFileOffset>> {
        let rows = self.read("reading transcript offsets", |connection| {
            let mut statement = connection
                .prepare_cached("SELECT path, size, mtime, offset, inode FROM usage_files")?;
            let rows = statement.query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, Option<i64>>(2)?,
                    row.get::<_, i64>(3)?,
                    row.get::<_, Option<i64>>(4)?,
                ))
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        let unsigned = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok(rows
            .into_iter()
            .map(|(path, size, mtime_ms, offset, inode)| {
                let path = PathBuf::from(path);
                let entry = UsageFileOffset {
                    path: path.clone(),
                    size: unsigned(size),
                    mtime_ms,
                    offset: unsigned(offset),
                    // Inodes are stored as their bit pattern, so a huge one round-trips.
                    inode: inode.map(|i| i as u64),
                };
                (path, entry)
            })
            .collect())
    }

    /// Forgets the read positions of transcripts that no longer exist. Their rows stay: the
    /// usage happened even if the user deleted the log afterwards.
    pub fn forget_usage_files(&self, paths: &[PathBuf]) -> Result<usize> {
        self.write("forgetting transcript offsets", |transaction| {
            let mut statement =
                transaction.prepare_cached("DELETE FROM usage_files WHERE path = ?1")?;
            let mut deleted = 0;
            for path in paths {
                deleted += statement.execute(params![path.to_string_lossy()])?;
            }
            Ok(deleted)
        })
    }

    /// Appends one rate-limit reading.
    pub fn record_ratelimit_reading(&self, reading: &RateLimitReading) -> Result<()> {
        let snapshot = to_json("a rate-limit snapshot", &reading.snapshot)?;
        self.write("recording a rate-limit reading", |transaction| {
            transaction
                .prepare_cached(
                    "INSERT INTO ratelimit_readings (at, source, model, snapshot)
                     VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![
                    to_millis(reading.at),
                    reading.source.as_str(),
                    reading.model,
                    snapshot
                ])?;
            Ok(())
        })
    }

    /// The most recent rate-limit reading, of one source or of any.
    pub fn latest_ratelimit_reading(
        &self,
        source: Option<UsageSource>,
    ) -> Result<Option<RateLimitReading>> {
        let row = self.read("reading the latest rate-limit reading", |connection| {
            let mut statement = connection.prepare_cached(
                "SELECT id, at, source, model, snapshot FROM ratelimit_readings
                 WHERE ?1 IS NULL OR source = ?1 ORDER BY at DESC, id DESC LIMIT 1",
            )?;
            let mut rows =
                statement.query_map(params![source.map(UsageSource::as_str)], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, i64>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, Option<String>>(3)?,
                        row.get::<_, String>(4)?,
                    ))
                })?;
            rows.next().transpose()
        })?;
        let Some((id, at, source, model, snapshot)) = row else {
            return Ok(None);
        };
        let row_id = id.to_string();
        let (Some(at), Some(source)) = (from_millis(at), UsageSource::from_stored(&source)) else {
            tracing::warn!(
                table = "ratelimit_readings",
                row = row_id,
                "skipping an unreadable row"
            );
            return Ok(None);
        };
        Ok(
            from_json("ratelimit_readings", &row_id, &snapshot).map(|snapshot| RateLimitReading {
                at,
                source,
                model,
                snapshot,
            }),
        )
    }
}

/// Writes usage records and read positions inside one open transaction (see
/// [`Store::ingest_transaction`]).
pub struct IngestWriter<'t, 'c> {
    transaction: &'t Transaction<'c>,
    outcome: BatchOutcome,
}

impl std::fmt::Debug for IngestWriter<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngestWriter")
            .field("outcome", &self.outcome)
            .finish_non_exhaustive()
    }
}

impl IngestWriter<'_, '_> {
    /// Writes one record: a new row, or settled against the stored row of the same request (see
    /// [`Store::ingest_batch`]).
    pub fn record(&mut self, record: &UsageRecord) -> rusqlite::Result<()> {
        match upsert(self.transaction, record)? {
            Upsert::Inserted => self.outcome.inserted += 1,
            Upsert::Replaced => {
                self.outcome.duplicates += 1;
                self.outcome.replaced += 1;
            }
            Upsert::Kept => self.outcome.duplicates += 1,
        }
        Ok(())
    }

    /// Writes how far one transcript has been read.
    pub fn offset(&mut self, offset: &UsageFileOffset) -> rusqlite::Result<()> {
        write_offset(self.transaction, offset)
    }

    /// What has been written so far.
    pub fn outcome(&self) -> BatchOutcome {
        self.outcome
    }
}

enum Upsert {
    Inserted,
    Replaced,
    Kept,
}

/// Inserts a record, or settles it against the stored row of the same request.
fn upsert(transaction: &Transaction<'_>, record: &UsageRecord) -> rusqlite::Result<Upsert> {
    let t = &record.tokens;
    let values = params![
        to_millis(record.at),
        record.source.as_str(),
        record.model,
        to_sql_integer(t.input),
        to_sql_integer(t.output),
        to_sql_integer(t.cache_write_5m),
        to_sql_integer(t.cache_write_1h),
        to_sql_integer(t.cache_read),
        record.status,
        record.latency_ms.map(to_sql_integer),
        record.ttft_ms.map(to_sql_integer),
        record.service_tier,
        record.message_id,
        record.request_id,
        record.session_id,
        record.project,
        record.reported_cost_usd,
        record.is_sidechain,
    ];
    // No conflict target: either unique index (with or without a request id) may be the one hit.
    let inserted = transaction
        .prepare_cached(&format!(
            "INSERT INTO usage_ledger ({COLUMNS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)
             ON CONFLICT DO NOTHING"
        ))?
        .execute(values)?;
    if inserted == 1 {
        return Ok(Upsert::Inserted);
    }
    // Two statements rather than `request_id IS ?14`, so that each one's WHERE implies the
    // condition of its partial index and SQLite can use it.
    let same_request = if record.request_id.is_some() {
        "request_id = ?14"
    } else {
        "request_id IS NULL"
    };
    let replaced = transaction
        .prepare_cached(&format!(
            "UPDATE usage_ledger SET ({COLUMNS}) =
                 (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)
             WHERE source = ?2 AND message_id = ?13 AND {same_request}
               AND {STORED_TOTAL} < ?4 + ?5 + ?6 + ?7 + ?8"
        ))?
        .execute(values)?;
    Ok(if replaced == 1 {
        Upsert::Replaced
    } else {
        Upsert::Kept
    })
}

fn write_offset(transaction: &Transaction<'_>, offset: &UsageFileOffset) -> rusqlite::Result<()> {
    transaction
        .prepare_cached(
            "INSERT INTO usage_files (path, size, mtime, offset, inode) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime = excluded.mtime,
                 offset = excluded.offset, inode = excluded.inode",
        )?
        .execute(params![
            offset.path.to_string_lossy(),
            to_sql_integer(offset.size),
            offset.mtime_ms,
            to_sql_integer(offset.offset),
            // Stored as the bit pattern: an inode above i64::MAX must not collide with another.
            offset.inode.map(|i| i as i64),
        ])?;
    Ok(())
}

/// Hands each row of a `SELECT id, {COLUMNS}` to `visit` as a record, one reused record for all
/// of them; a row that cannot be a record is logged and skipped.
fn visit_rows(
    rows: &mut rusqlite::Rows<'_>,
    visit: &mut dyn FnMut(&UsageRecord),
) -> rusqlite::Result<()> {
    let mut record = empty_record();
    while let Some(row) = rows.next()? {
        if read_into(row, &mut record)? {
            visit(&record);
        }
    }
    Ok(())
}

/// The record [`read_into`] fills, row after row.
fn empty_record() -> UsageRecord {
    UsageRecord::new(
        DateTime::<Utc>::MIN_UTC,
        UsageSource::ClaudeCode,
        String::new(),
        TokenCounts::default(),
    )
}

/// Reads a row of `SELECT id, {COLUMNS}` into `record`, reusing its strings. Returns false (and
/// logs) for a row that cannot be a record: an unknown source or a time out of range.
fn read_into(row: &rusqlite::Row<'_>, record: &mut UsageRecord) -> rusqlite::Result<bool> {
    const TABLE: &str = "usage_ledger";
    let source: &str = required_text(row, 2)?;
    let Some(source) = UsageSource::from_stored(source) else {
        let id: i64 = row.get(0)?;
        tracing::warn!(
            table = TABLE,
            row = id,
            source,
            "skipping a row with an unknown source"
        );
        return Ok(false);
    };
    let Some(at) = from_millis(row.get(1)?) else {
        let id: i64 = row.get(0)?;
        tracing::warn!(
            table = TABLE,
            row = id,
            "skipping a row with an unreadable time"
        );
        return Ok(false);
    };
    let count = |index: usize| -> rusqlite::Result<u64> {
        Ok(u64::try_from(row.get::<_, i64>(index)?).unwrap_or(0))
    };
    let optional = |index: usize| -> rusqlite::Result<Option<u64>> {
        Ok(row
            .get::<_, Option<i64>>(index)?
            .and_then(|n| u64::try_from(n).ok()))
    };
    record.at = at;
    record.source = source;
    record.model.clear();
    record.model.push_str(required_text(row, 3)?);
    record.tokens = TokenCounts {
        input: count(4)?,
        output: count(5)?,
        cache_write_5m: count(6)?,
        cache_write_1h: count(7)?,
        cache_read: count(8)?,
    };
    record.status = row
        .get::<_, Option<i64>>(9)?
        .and_then(|s| u16::try_from(s).ok());
    record.latency_ms = optional(10)?;
    record.ttft_ms = optional(11)?;
    set_text(&mut record.service_tier, text(row, 12)?);
    set_text(&mut record.message_id, text(row, 13)?);
    set_text(&mut record.request_id, text(row, 14)?);
    set_text(&mut record.session_id, text(row, 15)?);
    set_text(&mut record.project, text(row, 16)?);
    record.reported_cost_usd = row.get(17)?;
    record.is_sidechain = row.get(18)?;
    Ok(true)
}

/// A text column, borrowed from the row.
fn text<'a>(row: &'a rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Option<&'a str>> {
    row.get_ref(index)?.as_str_or_null().map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            rusqlite::types::Type::Text,
            Box::new(error),
        )
    })
}

/// A text column that may not be NULL, borrowed from the row.
fn required_text<'a>(row: &'a rusqlite::Row<'_>, index: usize) -> rusqlite::Result<&'a str> {
    text(row, index)?.ok_or(rusqlite::Error::InvalidColumnType(
        index,
        "a text column".to_owned(),
        rusqlite::types::Type::Null,
    ))
}

/// Sets an optional string from a column, reusing the string already there.
fn set_text(slot: &mut Option<String>, value: Option<&str>) {
    match (slot.as_mut(), value) {
        (Some(text), Some(value)) => {
            text.clear();
            text.push_str(value);
        }
        (None, Some(value)) => *slot = Some(value.to_owned()),
        (_, None) => *slot = None,
    }
}
