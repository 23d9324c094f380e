//! The gateway's own decisions: every retry and every fallback it made instead of passing a
//! failed answer on, kept so the dashboard can show them after the gateway (or the app) restarts.

use chrono::{DateTime, Utc};
use claude_status_core::gateway::{ResilienceEvent, ResilienceKind};
use rusqlite::params;

use super::{from_millis, to_millis, to_sql_integer, to_sql_limit, Store};
use crate::error::Result;

impl Store {
    /// Appends retries and fallbacks, in one transaction.
    pub fn record_gateway_events(&self, events: &[ResilienceEvent]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        self.write(
            "recording the gateway's retries and fallbacks",
            |transaction| {
                let mut statement = transaction.prepare_cached(
                "INSERT INTO gateway_events (at, kind, status, model, to_model, wait_ms, request_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
                for event in events {
                    statement.execute(params![
                        to_millis(event.at),
                        event.kind.as_str(),
                        event.status,
                        event.model,
                        event.to_model,
                        event.wait_ms.map(to_sql_integer),
                        event.request_id,
                    ])?;
                }
                Ok(())
            },
        )
    }

    /// The retries and fallbacks with `from <= at`, newest first, at most `limit`. A row that no
    /// longer reads (an unknown kind, a time out of range) is skipped with a warning.
    pub fn gateway_events_since(
        &self,
        from: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<ResilienceEvent>> {
        type Row = (
            i64,
            i64,
            String,
            i64,
            Option<String>,
            Option<String>,
            Option<i64>,
            Option<String>,
        );
        let rows: Vec<Row> = self.read(
            "reading the gateway's retries and fallbacks",
            |connection| {
                let mut statement = connection.prepare_cached(
                    "SELECT id, at, kind, status, model, to_model, wait_ms, request_id
                 FROM gateway_events WHERE at >= ?1 ORDER BY at DESC, id DESC LIMIT ?2",
                )?;
                let rows =
                    statement.query_map(params![to_millis(from), to_sql_limit(limit)], |row| {
                        Ok((
                            row.get(0)?,
                            row.get(1)?,
                            row.get(2)?,
                            row.get(3)?,
                            row.get(4)?,
                            row.get(5)?,
                            row.get(6)?,
                            row.get(7)?,
                        ))
                    })?;
                rows.collect()
            },
        )?;
        Ok(rows
            .into_iter()
            .filter_map(
                |(id, at, kind, status, model, to_model, wait_ms, request_id)| {
                    let event = (|| {
                        Some(ResilienceEvent {
                            at: from_millis(at)?,
                            kind: ResilienceKind::from_stored(&kind)?,
                            status: u16::try_from(status).ok()?,
                            model,
                            to_model,
                            wait_ms: wait_ms.and_then(|w| u64::try_from(w).ok()),
                            request_id,
                        })
                    })();
                    if event.is_none() {
                        tracing::warn!(
                            table = "gateway_events",
                            row = id,
                            "skipping an unreadable row"
                        );
                    }
                    event
                },
            )
            .collect())
    }
}
