//! The runtime refresh of LiteLLM's model price table: at most once a day, a conditional GET of
//! the upstream file, bounded in size and time, checked by the core's refusal rules, and kept as
//! the last good table in `<data_dir>/prices/`.
//!
//! Files (both written atomically, through a temporary file and a rename):
//! - `prices/litellm.json`: the last good table, as one of our snapshots (only the rows and fields
//!   Claude Status reads, a few tens of KB, so that every CLI run and status line can read it);
//! - `prices/meta.json`: [`PricesMeta`]: the ETag and Last-Modified of that table, when it was
//!   fetched, when the upstream was last asked, and the last refusal or failure with its reason.
//!
//! The attempt is recorded before the request is sent, so a crash or a hanging server never makes
//! the next start ask again: the upstream is asked at most once per [`REFRESH_INTERVAL`] whatever
//! happens. A refused table (not JSON, larger than [`BODY_LIMIT`], dropping models, prices moved
//! more than 10×) leaves the last good table where it is and records why in the meta file, for
//! the UI to show.
//!
//! Wiring: [`run_price_refresh`] is the service's task; it sends each new [`Catalog`] (the new
//! table with the user's override) on a channel. [`load_last_good`] gives the table to start with
//! ([`crate::usage::load_catalog_in`] uses it). Switching the refresh off (`--offline`, a setting)
//! is [`PriceRefreshConfig::enabled`]; the last good table is still used then, because it is on
//! disk and passed the checks.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use claude_status_core::catalog::{strip_model, Catalog};
use claude_status_core::price_table::{check_refresh, LiteLlmTable};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::error::Result;
use crate::http::{describe_transport_error, read_body_limited, BodyError};
use crate::store::Store;

/// LiteLLM's table on GitHub (the same data as the wheel's backup file, updated between releases).
pub const DEFAULT_PRICES_URL: &str =
    "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json";
/// The environment variable that points the refresh elsewhere (a mirror, a test server).
pub const PRICES_URL_ENV: &str = "CLAUDE_STATUS_PRICES_URL";
/// The most bytes of table read (the upstream file is about 3.5 MB).
pub const BODY_LIMIT: u64 = 32 * 1024 * 1024;
/// How often the upstream is asked at most.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(24 * 3600);
/// The whole exchange, body included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// How far back "a model the ledger priced lately" looks.
pub const PRICED_RECENTLY_DAYS: i64 = 30;

/// The folder of the refresh's files inside the data directory.
pub const PRICES_DIR: &str = "prices";
/// The last good table.
pub const TABLE_FILE: &str = "litellm.json";
/// The refresh's bookkeeping.
pub const META_FILE: &str = "meta.json";

/// The wait after start before the first attempt, so that the refresh never competes with the
/// start-up work (catch-up of the logs, the first probes).
const FIRST_DELAY: Duration = Duration::from_secs(60);
/// The shortest wait between two turns of the loop.
const MIN_WAIT: Duration = Duration::from_secs(60);
/// The wait after the ledger could not be read: without the recently priced models the refresh
/// would lose one of its guards, so it waits rather than asks without it.
const LEDGER_RETRY: Duration = Duration::from_secs(3600);

/// How the refresh runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceRefreshConfig {
    /// Off with `--offline` or the setting: no request at all (the last good table is still used).
    pub enabled: bool,
    /// Where the table is fetched from.
    pub url: String,
    /// At most one attempt per interval.
    pub interval: Duration,
    /// The whole exchange.
    pub timeout: Duration,
    /// The most body bytes read.
    pub body_limit: u64,
    /// The wait after start before the first attempt.
    pub first_delay: Duration,
}

impl Default for PriceRefreshConfig {
    fn default() -> Self {
        PriceRefreshConfig {
            enabled: true,
            url: DEFAULT_PRICES_URL.to_owned(),
            interval: REFRESH_INTERVAL,
            timeout: REQUEST_TIMEOUT,
            body_limit: BODY_LIMIT,
            first_delay: FIRST_DELAY,
        }
    }
}

impl PriceRefreshConfig {
    /// The configuration for the app: `enabled` from the setting and `--offline`, the URL from
    /// `CLAUDE_STATUS_PRICES_URL`, else the configured one, else [`DEFAULT_PRICES_URL`]. The
    /// environment wins so that a test rig can point any installation at a local server.
    pub fn new(enabled: bool, configured_url: Option<&str>) -> PriceRefreshConfig {
        let env = std::env::var(PRICES_URL_ENV).ok();
        PriceRefreshConfig {
            enabled,
            url: choose_url(env.as_deref(), configured_url),
            ..PriceRefreshConfig::default()
        }
    }
}

fn choose_url(env: Option<&str>, configured: Option<&str>) -> String {
    [env, configured]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|url| !url.is_empty())
        .unwrap_or(DEFAULT_PRICES_URL)
        .to_owned()
}

/// The refresh's bookkeeping, kept in `prices/meta.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricesMeta {
    /// Where the last good table came from.
    #[serde(default)]
    pub url: Option<String>,
    /// The ETag of the last good table, for `If-None-Match`.
    #[serde(default)]
    pub etag: Option<String>,
    /// Its Last-Modified, for `If-Modified-Since`.
    #[serde(default)]
    pub last_modified: Option<String>,
    /// When the last good table was fetched.
    #[serde(default)]
    pub fetched_at: Option<DateTime<Utc>>,
    /// When the upstream was last asked (whatever came of it).
    #[serde(default)]
    pub last_checked: Option<DateTime<Utc>>,
    /// What the last attempt came to: `updated`, `not modified`, `refused` or `failed`.
    #[serde(default)]
    pub last_outcome: Option<String>,
    /// Why the last refused table was refused, a sentence naming the model.
    #[serde(default)]
    pub last_refusal: Option<String>,
    #[serde(default)]
    pub last_refusal_at: Option<DateTime<Utc>>,
    /// Why the last failed attempt failed (network, HTTP status).
    #[serde(default)]
    pub last_failure: Option<String>,
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum RefreshOutcome {
    /// A new table passed the checks and is now the last good one.
    Updated(Box<LiteLlmTable>),
    /// The upstream answered 304: the last good table is current.
    NotModified,
    /// The last attempt was less than a day ago; no request was sent.
    Skipped { next_due: DateTime<Utc> },
    /// A table came but was not taken; the last good one stays.
    Refused(String),
    /// No table came (network, HTTP status, disk).
    Failed(String),
}

/// `<data_dir>/prices`.
pub fn prices_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(PRICES_DIR)
}

/// The bookkeeping, or the default when there is none (or it is unreadable: it only holds
/// caches and reports, so starting over is safe).
pub fn load_meta(data_dir: &Path) -> PricesMeta {
    let path = prices_dir(data_dir).join(META_FILE);
    read_bounded(&path, 64 * 1024)
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

/// The last good refreshed table with its bookkeeping, if there is one that still parses.
pub fn load_last_good(data_dir: &Path) -> Option<(LiteLlmTable, PricesMeta)> {
    let path = prices_dir(data_dir).join(TABLE_FILE);
    let text = read_bounded(&path, BODY_LIMIT)?;
    match LiteLlmTable::parse(&text) {
        Ok(table) => Some((table, load_meta(data_dir))),
        Err(e) => {
            tracing::warn!(
                "the last good price table {} is unreadable: {e}",
                path.display()
            );
            None
        }
    }
}

fn read_bounded(path: &Path, limit: u64) -> Option<String> {
    let size = std::fs::metadata(path).ok()?.len();
    if size > limit {
        return None;
    }
    std::fs::read_to_string(path).ok()
}

/// The models the ledger priced in the last 30 days (canonical ids, without Claude Code's
/// `<synthetic>` placeholder), for the refusal rule that a refresh may not drop one of them.
///
/// It reads the rows through [`Store::usage_between`], which decodes whole records (it runs once a
/// day, off the async threads); a `SELECT DISTINCT model` inside the store would be cheaper.
pub fn models_priced_recently(store: &Store, now: DateTime<Utc>) -> Result<Vec<String>> {
    let since = now - chrono::Duration::days(PRICED_RECENTLY_DAYS);
    let records = store.usage_between(since, now + chrono::Duration::days(1))?;
    let mut models: Vec<String> = records
        .iter()
        .map(|record| strip_model(&record.model))
        .filter(|model| !model.is_empty() && !model.starts_with('<'))
        .collect();
    models.sort();
    models.dedup();
    Ok(models)
}

/// One attempt with the default limits: see [`refresh_once_with`].
pub async fn refresh_once(
    client: &reqwest::Client,
    url: &str,
    data_dir: &Path,
    priced_recently: &[String],
    now: DateTime<Utc>,
) -> RefreshOutcome {
    let config = PriceRefreshConfig {
        url: url.to_owned(),
        ..PriceRefreshConfig::default()
    };
    refresh_once_with(client, &config, data_dir, priced_recently, now).await
}

/// One attempt: skipped when the last was less than `config.interval` ago, else a conditional
/// GET; a new table is checked against the last good one (or the bundled snapshot) and kept
/// when it passes. `config.enabled` is the caller's business ([`run_price_refresh`] checks it).
pub async fn refresh_once_with(
    client: &reqwest::Client,
    config: &PriceRefreshConfig,
    data_dir: &Path,
    priced_recently: &[String],
    now: DateTime<Utc>,
) -> RefreshOutcome {
    let dir = prices_dir(data_dir);
    let interval = chrono::Duration::from_std(config.interval).unwrap_or(chrono::Duration::days(1));
    let before = {
        let dir = dir.clone();
        let data_dir = data_dir.to_path_buf();
        tokio::task::spawn_blocking(move || -> std::result::Result<_, String> {
            let mut meta = load_meta(&data_dir);
            // A last check in the future is a clock that moved back: that is no reason to wait.
            if let Some(checked) = meta.last_checked.filter(|at| *at <= now) {
                if checked + interval > now {
                    return Ok(Err(checked + interval));
                }
            }
            let has_table = dir.join(TABLE_FILE).exists();
            meta.last_checked = Some(now);
            write_meta(&dir, &meta)?;
            Ok(Ok((meta, has_table)))
        })
        .await
    };
    let (meta, has_table) = match before {
        Ok(Ok(Ok(ready))) => ready,
        Ok(Ok(Err(next_due))) => return RefreshOutcome::Skipped { next_due },
        Ok(Err(reason)) => return RefreshOutcome::Failed(reason),
        Err(e) => return RefreshOutcome::Failed(format!("the refresh stopped: {e}")),
    };

    let fetched = fetch(client, config, &meta, has_table).await;
    let url = config.url.clone();
    let recent = priced_recently.to_vec();
    let after =
        tokio::task::spawn_blocking(move || settle(&dir, meta, fetched, &url, &recent, now)).await;
    after.unwrap_or_else(|e| RefreshOutcome::Failed(format!("the refresh stopped: {e}")))
}

/// What the request brought.
enum Fetched {
    Body {
        body: bytes::Bytes,
        etag: Option<String>,
        last_modified: Option<String>,
    },
    NotModified,
    TooLarge(u64),
    Failed(String),
}

async fn fetch(
    client: &reqwest::Client,
    config: &PriceRefreshConfig,
    meta: &PricesMeta,
    has_table: bool,
) -> Fetched {
    let mut request = client
        .get(&config.url)
        .timeout(config.timeout)
        .header(reqwest::header::ACCEPT, "application/json");
    // Validators belong to the table on disk: without it, ask for the whole table.
    if has_table {
        if let Some(etag) = &meta.etag {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        if let Some(last_modified) = &meta.last_modified {
            request = request.header(reqwest::header::IF_MODIFIED_SINCE, last_modified);
        }
    }
    let response = match request.send().await {
        Ok(response) => response,
        Err(e) => return Fetched::Failed(describe_transport_error(&e).1),
    };
    let status = response.status();
    if status == reqwest::StatusCode::NOT_MODIFIED && has_table {
        return Fetched::NotModified;
    }
    if !status.is_success() {
        return Fetched::Failed(format!("the price table server answered HTTP {status}"));
    }
    let header = |name: reqwest::header::HeaderName| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let etag = header(reqwest::header::ETAG);
    let last_modified = header(reqwest::header::LAST_MODIFIED);
    match read_body_limited(response, config.body_limit).await {
        Ok(body) => Fetched::Body {
            body,
            etag,
            last_modified,
        },
        Err(BodyError::TooLarge { limit }) => Fetched::TooLarge(limit),
        Err(BodyError::Transport(e)) => Fetched::Failed(describe_transport_error(&e).1),
    }
}

/// Judges what came and writes the outcome down (blocking: parsing and files).
fn settle(
    dir: &Path,
    mut meta: PricesMeta,
    fetched: Fetched,
    url: &str,
    priced_recently: &[String],
    now: DateTime<Utc>,
) -> RefreshOutcome {
    let refuse = |mut meta: PricesMeta, reason: String| {
        meta.last_outcome = Some("refused".to_owned());
        meta.last_refusal = Some(reason.clone());
        meta.last_refusal_at = Some(now);
        if let Err(e) = write_meta(dir, &meta) {
            tracing::warn!("{e}");
        }
        RefreshOutcome::Refused(reason)
    };
    let (body, etag, last_modified) = match fetched {
        Fetched::NotModified => {
            meta.last_outcome = Some("not modified".to_owned());
            return match write_meta(dir, &meta) {
                Ok(()) => RefreshOutcome::NotModified,
                Err(reason) => RefreshOutcome::Failed(reason),
            };
        }
        Fetched::Failed(reason) => {
            meta.last_outcome = Some("failed".to_owned());
            meta.last_failure = Some(reason.clone());
            if let Err(e) = write_meta(dir, &meta) {
                tracing::warn!("{e}");
            }
            return RefreshOutcome::Failed(reason);
        }
        Fetched::TooLarge(limit) => {
            return refuse(
                meta,
                format!(
                    "The new price table is larger than {} MiB, so it was not read.",
                    limit / (1024 * 1024)
                ),
            )
        }
        Fetched::Body {
            body,
            etag,
            last_modified,
        } => (body, etag, last_modified),
    };
    let Ok(text) = std::str::from_utf8(&body) else {
        return refuse(
            meta,
            "The new price table is not valid JSON (not UTF-8).".to_owned(),
        );
    };
    let table = match LiteLlmTable::parse(text) {
        Ok(table) => table,
        Err(e) => return refuse(meta, format!("The new price table was refused: {e}.")),
    };
    let last_good = match read_bounded(&dir.join(TABLE_FILE), BODY_LIMIT) {
        Some(text) => LiteLlmTable::parse(&text).ok(),
        None => None,
    };
    let old = last_good
        .as_ref()
        .unwrap_or_else(|| LiteLlmTable::bundled());
    if let Err(refusal) = check_refresh(old, &table, priced_recently) {
        return refuse(meta, refusal.reason);
    }
    let table = table.fetched(url, now);
    if let Err(reason) =
        write_atomically(&dir.join(TABLE_FILE), table.to_snapshot_json().as_bytes())
    {
        meta.last_outcome = Some("failed".to_owned());
        meta.last_failure = Some(reason.clone());
        if let Err(e) = write_meta(dir, &meta) {
            tracing::warn!("{e}");
        }
        return RefreshOutcome::Failed(reason);
    }
    meta.url = Some(url.to_owned());
    meta.etag = etag;
    meta.last_modified = last_modified;
    meta.fetched_at = Some(now);
    meta.last_outcome = Some("updated".to_owned());
    if let Err(e) = write_meta(dir, &meta) {
        // The table is in place; without its validators the next attempt asks for all of it.
        tracing::warn!("{e}");
    }
    RefreshOutcome::Updated(Box::new(table))
}

fn write_meta(dir: &Path, meta: &PricesMeta) -> std::result::Result<(), String> {
    let text = serde_json::to_string_pretty(meta)
        .map_err(|e| format!("could not write the price table's bookkeeping: {e}"))?;
    write_atomically(&dir.join(META_FILE), text.as_bytes())
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`: a reader sees
/// the old file or the new one, never half of one.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::result::Result<(), String> {
    let fail = |e: std::io::Error| format!("could not write {}: {e}", path.display());
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(fail)?;
    }
    let temp = path.with_extension(format!("tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.map_err(fail)
}

/// The service's refresh task: after `config.first_delay`, one attempt each time one is due (at
/// most one per `config.interval`), until `shutdown`. Each new table, with the user's override,
/// goes out as a [`Catalog`] on `catalogs`; the task ends when that channel closes. With
/// `config.enabled` false it returns at once. `store` gives the models priced in the last 30
/// days; without one that guard has nothing to protect.
pub async fn run_price_refresh(
    client: reqwest::Client,
    config: PriceRefreshConfig,
    data_dir: PathBuf,
    store: Option<Arc<Store>>,
    catalogs: mpsc::Sender<Catalog>,
    shutdown: CancellationToken,
) {
    if !config.enabled {
        return;
    }
    let mut wait = config.first_delay;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        let now = Utc::now();
        let recent = match &store {
            None => Ok(Vec::new()),
            Some(store) => {
                let store = store.clone();
                match tokio::task::spawn_blocking(move || models_priced_recently(&store, now)).await
                {
                    Ok(result) => result.map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                }
            }
        };
        let recent = match recent {
            Ok(recent) => recent,
            Err(e) => {
                tracing::warn!("price table refresh postponed: reading the ledger failed: {e}");
                wait = LEDGER_RETRY;
                continue;
            }
        };
        let outcome = tokio::select! {
            _ = shutdown.cancelled() => return,
            outcome = refresh_once_with(&client, &config, &data_dir, &recent, now) => outcome,
        };
        let next_due = match &outcome {
            RefreshOutcome::Skipped { next_due } => *next_due,
            _ => {
                now + chrono::Duration::from_std(config.interval)
                    .unwrap_or(chrono::Duration::days(1))
            }
        };
        match outcome {
            RefreshOutcome::Updated(table) => {
                tracing::info!("price table refreshed: {}", table.label());
                let built = tokio::task::spawn_blocking(move || {
                    crate::usage::load_catalog_with_table(Some(&table))
                })
                .await;
                match built {
                    Ok(Ok(catalog)) => {
                        if catalogs.send(catalog).await.is_err() {
                            return;
                        }
                    }
                    Ok(Err(e)) => tracing::warn!("the refreshed prices are not in use yet: {e}"),
                    Err(e) => tracing::warn!("the refreshed prices are not in use yet: {e}"),
                }
            }
            RefreshOutcome::NotModified => tracing::debug!("price table unchanged upstream"),
            RefreshOutcome::Skipped { .. } => {}
            RefreshOutcome::Refused(reason) => {
                tracing::warn!("price table refresh refused: {reason}");
            }
            RefreshOutcome::Failed(reason) => {
                tracing::warn!("price table refresh failed: {reason}")
            }
        }
        wait = (next_due - Utc::now())
            .to_std()
            .unwrap_or(MIN_WAIT)
            .clamp(MIN_WAIT, config.interval.max(MIN_WAIT));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_wins_over_the_setting() {
        assert_eq!(choose_url(None, None), DEFAULT_PRICES_URL);
        assert_eq!(
            choose_url(None, Some("http://mirror/p.json")),
            "http://mirror/p.json"
        );
        assert_eq!(
            choose_url(
                Some("http://127.0.0.1:9/p.json"),
                Some("http://mirror/p.json")
            ),
            "http://127.0.0.1:9/p.json"
        );
        assert_eq!(choose_url(Some("  "), Some("")), DEFAULT_PRICES_URL);
    }
}
