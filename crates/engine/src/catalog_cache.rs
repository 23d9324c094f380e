//! A cache of the built price catalog in the data directory, so that a short-lived process (the
//! status line, run every few seconds) reads one small file instead of parsing LiteLLM's table,
//! `prices.json` and `tiers.json` and merging them with the user's override each time.
//!
//! Building the catalog in a fresh process costs about half a millisecond here, a sixth of a
//! status-line run without a service; reading the cache costs about a tenth of that.
//!
//! The cache is only ever a copy. It is keyed by a fingerprint of all the catalog's inputs: the
//! compiled-in tables and code ([`BUILD_FINGERPRINT`]), and a stamp (size, modification time,
//! inode) of the last good refreshed table and of the override file, or their absence. A cache
//! whose key differs, or that does not parse, is ignored and rewritten; a catalog that failed
//! to build (a broken override) is never cached, so its error is reported on every run. Writing
//! the cache is best effort: a read-only or full data directory costs speed, never a result.

use std::io::Write;
use std::path::{Path, PathBuf};

use claude_status_core::catalog::{Catalog, BUILD_FINGERPRINT};
use serde::{Deserialize, Serialize};

/// The cache file inside the prices folder of the data directory.
pub const CACHE_FILE: &str = "catalog-cache.json";
/// The largest cache file read (the built catalog is about 30 KB).
const CACHE_LIMIT: u64 = 2 * 1024 * 1024;

/// What the cache file holds, as read.
#[derive(Deserialize)]
struct Cached {
    key: String,
    catalog: Catalog,
}

/// The same, as written: borrowed, so that keeping a catalog does not copy it first.
#[derive(Serialize)]
struct CachedRef<'a> {
    key: &'a str,
    catalog: &'a Catalog,
}

/// Where the cache lives for a data directory.
pub fn cache_path(data_dir: &Path) -> PathBuf {
    crate::prices::prices_dir(data_dir).join(CACHE_FILE)
}

/// The key a catalog built now from these inputs is cached under.
pub fn key(last_good: &Path, user_override: Option<&Path>) -> String {
    format!(
        "build {BUILD_FINGERPRINT:016x}; table {}; override {} {}",
        stamp(Some(last_good)),
        user_override.map_or("-".into(), |path| path.display().to_string()),
        stamp(user_override)
    )
}

/// The cached catalog, when the cache holds one under `key`.
pub fn read(data_dir: &Path, key: &str) -> Option<Catalog> {
    let path = cache_path(data_dir);
    let size = std::fs::metadata(&path).ok()?.len();
    if size > CACHE_LIMIT {
        return None;
    }
    let bytes = std::fs::read(&path).ok()?;
    match serde_json::from_slice::<Cached>(&bytes) {
        Ok(cached) if cached.key == key => Some(cached.catalog),
        Ok(_) => None,
        Err(e) => {
            tracing::debug!("the catalog cache {} is unreadable: {e}", path.display());
            None
        }
    }
}

/// Keeps `catalog` under `key`, replacing the file in one rename so that a reader never sees
/// half of it. No fsync: a cache lost to a crash is rebuilt on the next run.
pub fn write(data_dir: &Path, key: &str, catalog: &Catalog) {
    let path = cache_path(data_dir);
    let cached = CachedRef { key, catalog };
    let result = (|| -> std::io::Result<()> {
        let bytes = serde_json::to_vec(&cached).map_err(std::io::Error::other)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let temp = path.with_extension(format!("tmp-{}", std::process::id()));
        let written = std::fs::File::create(&temp)
            .and_then(|mut file| file.write_all(&bytes))
            .and_then(|()| std::fs::rename(&temp, &path));
        if written.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        written
    })();
    if let Err(e) = result {
        tracing::debug!("could not keep the catalog cache {}: {e}", path.display());
    }
}

/// A file's size, modification time and inode, or `none` when there is no such file. A refreshed
/// table is written to a new file and renamed into place, so its inode changes even when its
/// size and time (to the file system's resolution) do not.
fn stamp(path: Option<&Path>) -> String {
    let Some(path) = path else {
        return "none".to_owned();
    };
    let Ok(metadata) = std::fs::metadata(path) else {
        return "none".to_owned();
    };
    let modified = metadata
        .modified()
        .ok()
        .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |since| since.as_nanos());
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&metadata);
    #[cfg(not(unix))]
    let inode = 0u64;
    format!("{} bytes, {modified} ns, inode {inode}", metadata.len())
}
