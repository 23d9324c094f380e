//! The HTTP cache: the last response per URL, so a one-shot `claude-status check` can send
//! `If-None-Match` across runs and reuse the stored body when the page answers 304.

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};

use super::{from_millis, to_millis, Store};
use crate::error::Result;

/// A response body with the validators needed to revalidate it.
#[derive(Clone, PartialEq, Eq)]
pub struct CachedResponse {
    /// The `ETag` header, sent back as `If-None-Match`.
    pub etag: Option<String>,
    /// The `Last-Modified` header, sent back as `If-Modified-Since` when there is no ETag.
    pub last_modified: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    /// When the body was fetched (or last confirmed unchanged by a 304).
    pub fetched_at: DateTime<Utc>,
}

// Written by hand so that logging a cached response does not print a whole status page.
impl std::fmt::Debug for CachedResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedResponse")
            .field("etag", &self.etag)
            .field("last_modified", &self.last_modified)
            .field("content_type", &self.content_type)
            .field("body_bytes", &self.body.len())
            .field("fetched_at", &self.fetched_at)
            .finish()
    }
}

impl Store {
    /// The cached response for `url`, if any.
    pub fn cached_response(&self, url: &str) -> Result<Option<CachedResponse>> {
        let row = self.read("reading the HTTP cache", |connection| {
            connection
                .prepare_cached(
                    "SELECT etag, last_modified, content_type, body, fetched_at
                     FROM http_cache WHERE url = ?1",
                )?
                .query_row(params![url], |row| {
                    Ok((
                        row.get::<_, Option<String>>(0)?,
                        row.get::<_, Option<String>>(1)?,
                        row.get::<_, Option<String>>(2)?,
                        row.get::<_, Vec<u8>>(3)?,
                        row.get::<_, i64>(4)?,
                    ))
                })
                .optional()
        })?;
        Ok(
            row.and_then(|(etag, last_modified, content_type, body, fetched_at)| {
                // A cache entry with an unreadable time is as good as no entry: we refetch.
                let fetched_at = from_millis(fetched_at).or_else(|| {
                    tracing::warn!(
                        table = "http_cache",
                        url,
                        "ignoring an entry with an unreadable time"
                    );
                    None
                })?;
                Some(CachedResponse {
                    etag,
                    last_modified,
                    content_type,
                    body,
                    fetched_at,
                })
            }),
        )
    }

    /// Stores (replacing any previous entry) the response for `url`.
    pub fn put_cached_response(&self, url: &str, response: &CachedResponse) -> Result<()> {
        self.write("writing the HTTP cache", |transaction| {
            transaction
                .prepare_cached(
                    "INSERT INTO http_cache (url, etag, last_modified, content_type, body, fetched_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (url) DO UPDATE SET
                         etag = excluded.etag,
                         last_modified = excluded.last_modified,
                         content_type = excluded.content_type,
                         body = excluded.body,
                         fetched_at = excluded.fetched_at",
                )?
                .execute(params![
                    url,
                    response.etag,
                    response.last_modified,
                    response.content_type,
                    response.body,
                    to_millis(response.fetched_at),
                ])?;
            Ok(())
        })
    }
}
