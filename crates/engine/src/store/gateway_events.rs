//! The gateway's own decisions: every retry and every fallback it made instead of passing a
//! failed answer on (to another provider too, with that provider's part beside it), kept so the
//! dashboard can show them after the gateway (or the app) restarts.

use chrono::{DateTime, Utc};
use claude_status_core::gateway::{ProviderAttempt, ResilienceEvent, ResilienceKind};
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
                let mut provider = transaction.prepare_cached(
                    "INSERT INTO gateway_event_providers (event_id, target, attempt)
                     VALUES (?1, ?2, ?3)",
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
                    if let Some(attempt) = &event.provider {
                        let json = serde_json::to_string(attempt).unwrap_or_default();
                        provider.execute(params![
                            transaction.last_insert_rowid(),
                            attempt.target,
                            json
                        ])?;
                    }
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
            Option<String>,
        );
        let rows: Vec<Row> = self.read(
            "reading the gateway's retries and fallbacks",
            |connection| {
                let mut statement = connection.prepare_cached(
                    "SELECT e.id, e.at, e.kind, e.status, e.model, e.to_model, e.wait_ms,
                            e.request_id, p.attempt
                     FROM gateway_events e LEFT JOIN gateway_event_providers p
                       ON p.event_id = e.id
                     WHERE e.at >= ?1 ORDER BY e.at DESC, e.id DESC LIMIT ?2",
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
                            row.get(8)?,
                        ))
                    })?;
                rows.collect()
            },
        )?;
        Ok(rows
            .into_iter()
            .filter_map(
                |(id, at, kind, status, model, to_model, wait_ms, request_id, attempt)| {
                    let event = (|| {
                        Some(ResilienceEvent {
                            at: from_millis(at)?,
                            kind: ResilienceKind::from_stored(&kind)?,
                            status: u16::try_from(status).ok()?,
                            model,
                            to_model,
                            wait_ms: wait_ms.and_then(|w| u64::try_from(w).ok()),
                            request_id,
                            provider: match attempt {
                                Some(json) => {
                                    Some(serde_json::from_str::<ProviderAttempt>(&json).ok()?)
                                }
                                None => None,
                            },
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
