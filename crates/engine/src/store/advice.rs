//! The prompt-cache advisor's table: the shape of each request the gateway forwarded (a keyed
//! hash and a length of its prefix, whether it asked for caching, whether it streamed), read back
//! with the ledger's tokens of the same request as `core::advice::PrefixSend`s, and the prefix
//! sizes `count_tokens` counted. No text is ever written here.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use claude_status_core::advice::{CacheUse, PrefixParts, PrefixSend, PrefixShape};
use claude_status_core::usage::{TokenCounts, UsageRecord};
use rusqlite::params;

use super::{from_millis, to_millis, to_sql_integer, Store};
use crate::error::Result;
use crate::gateway::prefix::RequestShape;

/// One gateway request's shape, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayShape {
    pub at: DateTime<Utc>,
    pub model: String,
    pub request_id: Option<String>,
    pub status: Option<u16>,
    pub streamed: bool,
    pub shape: RequestShape,
}

impl GatewayShape {
    /// The shape of the request a metered record answers.
    pub fn of(record: &UsageRecord, streamed: bool, shape: RequestShape) -> GatewayShape {
        GatewayShape {
            at: record.at,
            model: record.model.clone(),
            request_id: record.request_id.clone(),
            status: record.status,
            streamed,
            shape,
        }
    }
}

impl Store {
    /// Appends the shapes of gateway requests, in one transaction.
    pub fn record_gateway_shapes(&self, shapes: &[GatewayShape]) -> Result<()> {
        if shapes.is_empty() {
            return Ok(());
        }
        self.write("recording the gateway's request shapes", |transaction| {
            let mut statement = transaction.prepare_cached(
                "INSERT INTO gateway_shapes (at, model, request_id, status, streamed, prefix_key,
                                             prefix_chars, prefix_parts, cache_use)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for shape in shapes {
                let prefix = shape.shape.prefix.as_ref();
                statement.execute(params![
                    to_millis(shape.at),
                    shape.model,
                    shape.request_id,
                    shape.status,
                    shape.streamed,
                    prefix.map(|p| p.key.as_str()),
                    prefix.map(|p| to_sql_integer(p.chars)),
                    prefix.map(|p| p.parts.as_str()),
                    shape.shape.cache_use.as_str(),
                ])?;
            }
            Ok(())
        })
    }

    /// The gateway's requests with `from <= at < to` as the advisor reads them, in time order,
    /// each with the tokens its ledger row holds (found by request id; `None` without one).
    /// Rows are streamed to `visit`, never gathered, so a busy week costs no memory here.
    pub fn visit_prefix_sends(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        visit: &mut dyn FnMut(&PrefixSend),
    ) -> Result<()> {
        self.read("reading the gateway's request shapes", |connection| {
            let mut statement = connection.prepare_cached(
                "SELECT s.at, s.model, s.status, s.prefix_key, s.prefix_chars, s.prefix_parts,
                        s.cache_use, l.input, l.output, l.cache_write_5m, l.cache_write_1h,
                        l.cache_read, l.service_tier
                 FROM gateway_shapes s
                 LEFT JOIN usage_ledger l
                   ON s.request_id IS NOT NULL AND l.source = 'gateway'
                  AND l.request_id = s.request_id
                 WHERE s.at >= ?1 AND s.at < ?2
                 ORDER BY s.at, s.id",
            )?;
            let mut rows = statement.query(params![to_millis(from), to_millis(to)])?;
            let mut send = PrefixSend {
                at: from,
                model: String::new(),
                prefix: None,
                cache_use: CacheUse::None,
                status: None,
                tokens: None,
                service_tier: None,
            };
            while let Some(row) = rows.next()? {
                let Some(at) = from_millis(row.get(0)?) else {
                    continue;
                };
                send.at = at;
                send.model = row.get(1)?;
                send.status = row
                    .get::<_, Option<i64>>(2)?
                    .and_then(|s| u16::try_from(s).ok());
                let key: Option<String> = row.get(3)?;
                let chars: Option<i64> = row.get(4)?;
                let parts: Option<String> = row.get(5)?;
                send.prefix = key.map(|key| PrefixShape {
                    key,
                    chars: chars.and_then(|c| u64::try_from(c).ok()).unwrap_or(0),
                    parts: PrefixParts::from_stored(parts.as_deref().unwrap_or("")),
                });
                send.cache_use = CacheUse::from_stored(&row.get::<_, String>(6)?);
                let count = |index: usize| -> rusqlite::Result<Option<u64>> {
                    Ok(row
                        .get::<_, Option<i64>>(index)?
                        .map(|n| u64::try_from(n).unwrap_or(0)))
                };
                send.tokens = match count(7)? {
                    Some(input) => Some(TokenCounts {
                        input,
                        output: count(8)?.unwrap_or(0),
                        cache_write_5m: count(9)?.unwrap_or(0),
                        cache_write_1h: count(10)?.unwrap_or(0),
                        cache_read: count(11)?.unwrap_or(0),
                    }),
                    None => None,
                };
                send.service_tier = row.get(12)?;
                visit(&send);
            }
            Ok(())
        })
    }

    /// Whether each gateway request with `from <= at < to` was streamed, by request id, at most
    /// `limit` of the newest: what the spike alerts' replay needs to time a request as a stream
    /// or as a whole answer.
    pub fn gateway_streamed_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
    ) -> Result<HashMap<String, bool>> {
        self.read("reading which gateway requests streamed", |connection| {
            let mut statement = connection.prepare_cached(
                "SELECT request_id, streamed FROM gateway_shapes
                 WHERE at >= ?1 AND at < ?2 AND request_id IS NOT NULL
                 ORDER BY at DESC LIMIT ?3",
            )?;
            let rows = statement.query_map(
                params![to_millis(from), to_millis(to), super::to_sql_limit(limit)],
                |row| Ok((row.get::<_, String>(0)?, row.get::<_, bool>(1)?)),
            )?;
            rows.collect()
        })
    }

    /// Keeps the size `count_tokens` gave a prefix of a model.
    pub fn record_prefix_size(
        &self,
        model: &str,
        prefix_key: &str,
        tokens: u64,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.write("recording a prefix's size", |transaction| {
            transaction
                .prepare_cached(
                    "INSERT INTO prefix_sizes (model, prefix_key, tokens, counted_at)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (model, prefix_key)
                     DO UPDATE SET tokens = excluded.tokens, counted_at = excluded.counted_at",
                )?
                .execute(params![
                    model,
                    prefix_key,
                    to_sql_integer(tokens),
                    to_millis(at)
                ])?;
            Ok(())
        })
    }

    /// Every counted prefix size, by (model as stored, key).
    pub fn prefix_sizes(&self) -> Result<HashMap<(String, String), u64>> {
        self.read("reading prefix sizes", |connection| {
            let mut statement =
                connection.prepare_cached("SELECT model, prefix_key, tokens FROM prefix_sizes")?;
            let rows = statement.query_map([], |row| {
                Ok((
                    (row.get::<_, String>(0)?, row.get::<_, String>(1)?),
                    u64::try_from(row.get::<_, i64>(2)?).unwrap_or(0),
                ))
            })?;
            rows.collect()
        })
    }
}
