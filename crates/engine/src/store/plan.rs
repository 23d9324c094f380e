//! The plan windows' readings (`plan_readings`): each status-line or gateway-header reading of a
//! subscriber's 5-hour and weekly windows, so a restart, the status line without a service, and
//! the pace projection all see the same history.

use chrono::{DateTime, Utc};
use claude_status_core::plan::{lookback, PlanReading, PlanSource, UNCHANGED_EVERY};
use rusqlite::params;

use super::{from_millis, from_optional_millis, to_millis, Store};
use crate::error::Result;

/// The most readings one call returns: a week of one-a-minute readings of two windows.
const MAX_READ: i64 = 25_000;

impl Store {
    /// Stores the readings that tell something new: a reading equal to the latest stored one of
    /// its window and source (same percentage, same reset) within 5 minutes of it is skipped, so
    /// a status line that runs every second does not fill the file. Returns how many were kept.
    pub fn record_plan_readings(&self, readings: &[PlanReading]) -> Result<usize> {
        if readings.is_empty() {
            return Ok(0);
        }
        // The status line runs every few seconds with the same readings most of the time; a plain
        // read settles that case without taking the write lock (or writing to the WAL at all).
        // When something is new, every reading is judged again inside the write transaction, in
        // order, as if the read had not happened: another process may have stored the same
        // reading in the meantime, and a reading is judged against the ones kept before it.
        // (Nothing can be news against the stored readings only because of an earlier one in the
        // same call unless that earlier one was news itself, so the read misses nothing.)
        let any_news = self.read("reading the latest plan readings", |connection| {
            for reading in readings {
                if is_news(connection, reading)? {
                    return Ok(true);
                }
            }
            Ok(false)
        })?;
        if !any_news {
            return Ok(0);
        }
        self.write("recording plan readings", |transaction| {
            let mut insert = transaction.prepare_cached(
                "INSERT INTO plan_readings (at, window, used_percent, resets_at, source, client_version)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            let mut kept = 0;
            for reading in readings {
                if !is_news(transaction, reading)? {
                    continue;
                }
                insert.execute(params![
                    to_millis(reading.seen_at),
                    reading.window,
                    reading.used_percent,
                    reading.resets_at.map(to_millis),
                    reading.source.as_str(),
                    reading.client_version
                ])?;
                kept += 1;
            }
            Ok(kept)
        })
    }

    /// The readings taken at or after `since`, oldest first (at most 25,000, the newest kept).
    pub fn plan_readings_since(&self, since: DateTime<Utc>) -> Result<Vec<PlanReading>> {
        let rows = self.read("reading plan readings", |connection| {
            let mut statement = connection.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM (
                     SELECT * FROM plan_readings WHERE at >= ?1 ORDER BY at DESC, id DESC LIMIT ?2
                 ) ORDER BY at, id"
            ))?;
            let rows = statement.query_map(params![to_millis(since), MAX_READ], row)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        Ok(rows.into_iter().filter_map(decode).collect())
    }

    /// What a report of the windows needs of the readings taken at or after `since`: each
    /// window's latest reading and the ones within the slope's lookback before it
    /// ([`claude_status_core::plan::lookback`]: an hour of a 5-hour window, a day of a week),
    /// oldest first. The status line without a service asks this on every run; a week of a busy
    /// subscriber's readings is thousands of rows, of which the report reads a few hundred.
    pub fn plan_readings_for_report(&self, since: DateTime<Utc>) -> Result<Vec<PlanReading>> {
        let rows = self.read("reading plan readings", |connection| {
            let mut windows = connection.prepare_cached(
                "SELECT window, MAX(at) FROM plan_readings WHERE at >= ?1 GROUP BY window
                 ORDER BY window LIMIT ?2",
            )?;
            let latest = windows
                .query_map(params![to_millis(since), MAX_WINDOWS_READ], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut statement = connection.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM (
                     SELECT * FROM plan_readings WHERE window = ?1 AND at >= ?2
                     ORDER BY at DESC, id DESC LIMIT ?3
                 ) ORDER BY at, id"
            ))?;
            let mut rows = Vec::new();
            for (window, last) in latest {
                let from = (last - lookback(&window).num_milliseconds()).max(to_millis(since));
                let found = statement.query_map(params![window, from, MAX_READ], row)?;
                for found in found {
                    rows.push(found?);
                }
            }
            Ok(rows)
        })?;
        let mut readings: Vec<PlanReading> = rows.into_iter().filter_map(decode).collect();
        // Oldest first across the windows, as `plan_readings_since` gives them (the sort is
        // stable, so readings of one instant keep their order within a window).
        readings.sort_by_key(|reading| reading.seen_at);
        Ok(readings)
    }
}

/// The columns of a stored reading, in the order [`row`] reads them.
const COLUMNS: &str = "id, at, window, used_percent, resets_at, source, client_version";

/// The most windows one report reads (a source names a handful; more is noise).
const MAX_WINDOWS_READ: i64 = 32;

/// A stored reading as its columns.
type Row = (i64, i64, String, f64, Option<i64>, String, Option<String>);

fn row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Row::try_from(row)
}

/// A stored reading, or `None` (logged) when its time or source cannot be read.
fn decode(
    (id, at, window, used_percent, resets_at, source, client_version): Row,
) -> Option<PlanReading> {
    let (Some(seen_at), Some(source)) = (from_millis(at), PlanSource::from_stored(&source)) else {
        tracing::warn!(
            table = "plan_readings",
            row = id,
            "skipping an unreadable row"
        );
        return None;
    };
    Some(PlanReading {
        window,
        used_percent,
        resets_at: from_optional_millis(resets_at),
        seen_at,
        source,
        client_version,
    })
}

/// Whether `reading` tells something the latest stored reading of its window and source does not:
/// another percentage or reset, or the same ones more than [`UNCHANGED_EVERY`] later.
fn is_news(connection: &rusqlite::Connection, reading: &PlanReading) -> rusqlite::Result<bool> {
    let mut latest = connection.prepare_cached(
        "SELECT at, used_percent, resets_at FROM plan_readings
         WHERE window = ?1 AND source = ?2 ORDER BY at DESC, id DESC LIMIT 1",
    )?;
    let previous: Option<(i64, f64, Option<i64>)> = latest
        .query_map(params![reading.window, reading.source.as_str()], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })?
        .next()
        .transpose()?;
    let Some((last_at, last_percent, last_reset)) = previous else {
        return Ok(true);
    };
    let same = (last_percent - reading.used_percent).abs() < 1e-9
        && last_reset == reading.resets_at.map(to_millis);
    Ok(!same || (to_millis(reading.seen_at) - last_at).abs() >= UNCHANGED_EVERY.num_milliseconds())
}
