//! The usage side of the engine: the price and tier catalog (LiteLLM's table, bundled or the last
//! good refresh of [`crate::prices`], with the user's override file), the local time zone for
//! "today", and the Claude Code source wired to the monitor (catch-up from the ledger, then
//! following new lines).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{Datelike, TimeZone, Utc};
use claude_status_core::aggregate::DayZone;
use claude_status_core::catalog::Catalog;
use claude_status_core::monitor::Observation;
use claude_status_core::price_table::LiteLlmTable;
use claude_status_core::usage::{UsageRecord, UsageSource};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::store::Store;

/// The environment variable naming a catalog override file.
pub const CATALOG_ENV: &str = "CLAUDE_STATUS_CATALOG";
/// The override file's name in the config directory.
pub const CATALOG_FILE: &str = "catalog.json";
/// The most bytes an override file may have.
const CATALOG_LIMIT: u64 = 1024 * 1024;

/// Where the user's catalog override lives: `CLAUDE_STATUS_CATALOG`, else `catalog.json` in the
/// platform config directory (`~/.config/claude-status/catalog.json` on Linux).
pub fn catalog_override_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(CATALOG_ENV).filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(path));
    }
    directories::ProjectDirs::from("dev", "claude-status", "claude-status")
        .map(|dirs| dirs.config_dir().join(CATALOG_FILE))
}

/// The built-in catalog (the bundled LiteLLM snapshot) with the user's override applied when
/// there is one. A broken override is an error that names the file, never silently ignored.
pub fn load_catalog() -> Result<Catalog> {
    load_catalog_with_table(None)
}

/// The catalog a process with this data directory should use: the last good refreshed LiteLLM
/// table in `<data_dir>/prices/` when there is one (else the bundled snapshot), with the user's
/// override. Building it costs about half a millisecond in a fresh process, so the result is kept
/// in [`crate::catalog_cache`] under its inputs' stamps and read from there while they stay the
/// same.
pub fn load_catalog_in(data_dir: &Path) -> Result<Catalog> {
    let table_path = crate::prices::prices_dir(data_dir).join(crate::prices::TABLE_FILE);
    let override_path = catalog_override_path();
    // The stamps are taken before the files are read: should one change in between, the cache
    // holds the newer catalog under the older stamp, and the next run rebuilds it.
    let key = crate::catalog_cache::key(&table_path, override_path.as_deref());
    if let Some(catalog) = crate::catalog_cache::read(data_dir, &key) {
        return Ok(catalog);
    }
    let last_good = crate::prices::load_last_good(data_dir);
    let catalog = load_catalog_with_table(last_good.as_ref().map(|(table, _)| table))?;
    crate::catalog_cache::write(data_dir, &key, &catalog);
    Ok(catalog)
}

/// The catalog from `table` (`None`: the bundled snapshot) with the user's override.
pub fn load_catalog_with_table(table: Option<&LiteLlmTable>) -> Result<Catalog> {
    match catalog_override_path() {
        Some(path) if path.exists() => load_catalog_from_with(&path, table),
        _ => match table {
            None => Ok(Catalog::builtin()),
            Some(table) => Ok(Catalog::build_with(Some(table), None)?),
        },
    }
}

/// The built-in catalog with the override in `path`.
pub fn load_catalog_from(path: &Path) -> Result<Catalog> {
    load_catalog_from_with(path, None)
}

/// The catalog from `table` (`None`: the bundled snapshot) with the override in `path`.
pub fn load_catalog_from_with(path: &Path, table: Option<&LiteLlmTable>) -> Result<Catalog> {
    let size = std::fs::metadata(path)?.len();
    if size > CATALOG_LIMIT {
        return Err(Error::Config(format!(
            "catalog override {} is larger than 1 MiB",
            path.display()
        )));
    }
    let text = std::fs::read_to_string(path)?;
    Catalog::build_with(table, Some(&text))
        .map_err(|e| Error::Config(format!("catalog override {}: {e}", path.display())))
}

/// The zone that decides which day a record belongs to: `TZ` when it names a zone, else the
/// system zone (`/etc/localtime`), else the current local offset.
pub fn local_day_zone() -> DayZone {
    if let Ok(tz) = std::env::var("TZ") {
        if let Ok(zone) = DayZone::parse(tz.trim_start_matches(':')) {
            return zone;
        }
    }
    if let Ok(target) = std::fs::read_link("/etc/localtime") {
        let text = target.to_string_lossy().into_owned();
        if let Some((_, name)) = text.split_once("zoneinfo/") {
            if let Ok(zone) = DayZone::parse(name) {
                return zone;
            }
        }
    }
    DayZone::Offset(*chrono::Local::now().offset())
}

/// The ledger a `--logs DIR` run keeps: one database per logs folder, so its figures never mix
/// with the default folders' and a second run only reads what is new.
pub fn store_path_for_logs(data_dir: &Path, logs: &Path) -> PathBuf {
    let canonical = logs.canonicalize().unwrap_or_else(|_| logs.to_path_buf());
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in canonical.to_string_lossy().bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    data_dir.join(format!("usage-logs-{hash:016x}.sqlite3"))
}

/// One source's records of this UTC month from the ledger, deduplicated: what the tracker needs
/// to know at start-up.
pub fn month_to_date(store: &Store, source: UsageSource) -> Result<Vec<UsageRecord>> {
    let now = Utc::now();
    let month_start = Utc
        .with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(now);
    store.usage_deduplicated_between_of(
        month_start,
        now + chrono::Duration::minutes(1),
        Some(source),
    )
}

/// Hands the tracker this month's traffic through the local gateway, from the ledger: the spend
/// of the month survives a restart of the app or the engine. (The gateway itself runs apart from
/// the engine, in the CLI's `proxy` or beside the tray's engine, and feeds it live.)
pub async fn send_gateway_month_to_date(
    store: Arc<Store>,
    observations: mpsc::Sender<Observation>,
) {
    let records =
        tokio::task::spawn_blocking(move || month_to_date(&store, UsageSource::Gateway)).await;
    match records {
        Ok(Ok(records)) if !records.is_empty() => {
            let _ = observations.send(Observation::Usage { records }).await;
        }
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!("reading the gateway's records of this month failed: {e}"),
        Err(e) => tracing::warn!("reading the gateway's records of this month stopped: {e}"),
    }
}

/// Runs the Claude Code source for the monitor: ingests what is new, hands this month's records
/// to the tracker, then follows new lines until `shutdown`.
pub async fn run_claude_code_source(
    store: Arc<Store>,
    projects_dirs: Vec<PathBuf>,
    observations: mpsc::Sender<Observation>,
    metrics: Option<Arc<crate::metrics::Metrics>>,
    shutdown: CancellationToken,
) {
    let catch_up = {
        let store = store.clone();
        let dirs = projects_dirs.clone();
        tokio::task::spawn_blocking(move || {
            crate::claude_code::ingest_all(&store, &dirs)?;
            month_to_date(&store, UsageSource::ClaudeCode)
        })
        .await
    };
    // Whether the history is read: then the follower's own catch-up holds only what was written
    // since, which is new and is sent.
    let history_read = matches!(catch_up, Ok(Ok(_)));
    match catch_up {
        Ok(Ok(records)) => {
            if !records.is_empty()
                && observations
                    .send(Observation::Usage { records })
                    .await
                    .is_err()
            {
                return;
            }
        }
        Ok(Err(e)) => tracing::warn!("reading Claude Code's logs failed: {e}"),
        Err(e) => tracing::warn!("reading Claude Code's logs stopped: {e}"),
    }

    let (tx, mut rx) = mpsc::channel::<Vec<UsageRecord>>(16);
    let follower = tokio::spawn(crate::claude_code::follow_with(
        store,
        projects_dirs,
        crate::claude_code::FollowConfig {
            send_catch_up: history_read,
            ..crate::claude_code::FollowConfig::default()
        },
        tx,
        shutdown.clone(),
    ));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            batch = rx.recv() => match batch {
                Some(records) => {
                    // Only what the follower reads is new; the catch-up above is history.
                    if let Some(metrics) = &metrics {
                        metrics.observe_usage(&records);
                    }
                    if observations.send(Observation::Usage { records }).await.is_err() {
                        break;
                    }
                }
                None => break,
            },
        }
    }
    match follower.await {
        Ok(Err(e)) => tracing::warn!("following Claude Code's logs stopped: {e}"),
        Err(e) => tracing::warn!("following Claude Code's logs stopped: {e}"),
        Ok(Ok(())) => {}
    }
}
