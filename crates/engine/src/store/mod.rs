//! The SQLite store: everything Claude Status keeps between runs (fetch log, status changes, level
//! history, incidents with their updates, probe results, detection lead times, the usage ledger,
//! the gateway's retries and fallbacks, the HTTP cache),
//! behind one `Send + Sync` handle.
//!
//! One connection sits behind a `std::sync::Mutex`. The methods are synchronous and short, so the
//! lock is never held across an `.await`; async callers go through `tokio::task::spawn_blocking`.
//! A blocking mutex is the right tool here for the reason mini-redis gives in its `db.rs`: the
//! critical sections do no async work, and SQLite serialises writers anyway.
//!
//! Times are stored as INTEGER unix milliseconds (UTC), which sort and compare in SQL and keep the
//! millisecond precision status pages send. Variable-shaped data (components, reasons, changes) is
//! stored as JSON text; a row whose JSON no longer parses is skipped with a warning rather than
//! failing the whole read, because an old row must never stop the app from starting.
//!
//! Each table group lives in its own submodule with its own `impl Store` block. Adding a table
//! (probe results, a usage ledger) touches: a new entry at the end of [`migrations::MIGRATIONS`],
//! a new submodule here, and, if its rows expire, one statement and one counter in [`prune`].

mod alerts;
mod fetch_log;
mod gateway_events;
mod http_cache;
mod incidents;
mod leads;
mod migrations;
mod plan;
mod probes;
mod prune;
mod recovery;
mod status_history;
mod usage;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Transaction, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::error::{Error, Result};

pub use fetch_log::{FetchOutcome, FetchRecord};
pub use http_cache::CachedResponse;
pub use incidents::UpsertOutcome;
pub use leads::LeadTime;
pub use migrations::SCHEMA_VERSION;
pub use prune::{PruneReport, RETENTION_DEFAULT_DAYS};
pub use recovery::Recovered;
pub use status_history::LevelChange;
pub use usage::{BatchOutcome, IngestWriter, RateLimitReading, UsageFileOffset};

/// The file name of the database inside the app's data directory.
pub const DATABASE_FILE_NAME: &str = "claude-status.sqlite3";

/// How long a connection waits for another process (the CLI next to the tray app) to release a
/// lock before giving up with "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The app's persistent history, shared as `Arc<Store>`.
pub struct Store {
    connection: Mutex<Connection>,
    /// Where the database lives, for error messages; `:memory:` for an in-memory store.
    location: String,
    /// Set when this open found the file unreadable, moved it aside and started a new one.
    recovered: Option<Recovered>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed) the database file at `path`, its parent directories included,
    /// and brings its schema up to date.
    ///
    /// A file SQLite cannot read (not a database, or a damaged header or schema) is moved aside
    /// with its `-wal` and `-shm` as `<name>.corrupt-<UTC time>` and a new database is started;
    /// [`Store::recovered`] then says so, once, for the caller to tell the user. The damaged file
    /// is never deleted. A busy database, or one from a newer build, is an error as before.
    pub fn open(path: &Path) -> Result<Store> {
        let location = path.display().to_string();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                Error::store(
                    format_args!("creating the data directory {}", parent.display()),
                    e,
                )
            })?;
        }
        let opening = |e| Error::store(format_args!("opening the database {location}"), e);
        let (connection, recovered) = match open_file(path) {
            Ok(connection) => (connection, None),
            Err(e) if recovery::is_unreadable(&e) => {
                let recovered = recover(path, &e)?;
                // The fresh file is opened once more and no further: if it fails too, the fault
                // is not the old file's, and moving files aside in a loop would not help.
                (open_file(path).map_err(opening)?, recovered)
            }
            Err(e) => return Err(opening(e)),
        };
        let mut store = Store::from_connection(connection, location)?;
        store.recovered = recovered;
        Ok(store)
    }

    /// Set when [`Store::open`] found the file unreadable and started a new one: where the old
    /// file went and why, for the front end to tell the user once.
    pub fn recovered(&self) -> Option<&Recovered> {
        self.recovered.as_ref()
    }

    /// Opens a fresh database that lives only as long as this `Store` (tests, `--no-history`).
    pub fn open_in_memory() -> Result<Store> {
        let connection = Connection::open_in_memory()
            .map_err(|e| Error::store("opening an in-memory database", e))?;
        configure(&connection).map_err(|e| Error::store("configuring an in-memory database", e))?;
        Store::from_connection(connection, ":memory:".to_owned())
    }

    /// The database path inside the app's data directory.
    pub fn default_path(data_dir: &Path) -> PathBuf {
        data_dir.join(DATABASE_FILE_NAME)
    }

    /// The journal mode SQLite reports: `"wal"` for a file store, `"memory"` in memory.
    pub fn journal_mode(&self) -> Result<String> {
        self.read("reading the journal mode", |connection| {
            connection.pragma_query_value(None, "journal_mode", |row| row.get(0))
        })
    }

    /// The schema version recorded in the database (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<i64> {
        self.read("reading the schema version", |connection| {
            connection.pragma_query_value(None, "user_version", |row| row.get(0))
        })
    }

    /// Wraps a configured connection, its schema brought up to date.
    fn from_connection(mut connection: Connection, location: String) -> Result<Store> {
        migrations::migrate(&mut connection, &location)?;
        Ok(Store {
            connection: Mutex::new(connection),
            location,
            recovered: None,
        })
    }

    /// Takes the connection, recovering it if another thread panicked while holding it.
    ///
    /// Recovering is safe because every multi-statement write runs inside a rusqlite
    /// `Transaction`, which rolls back when it is dropped during the unwind; the connection is
    /// therefore never left half-way through a change. Refusing to work after one panic would
    /// instead lose all history for the rest of the process's life.
    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.connection.lock().unwrap_or_else(|poisoned| {
            tracing::warn!(
                store = %self.location,
                "a thread panicked while using the store; recovering the connection"
            );
            self.connection.clear_poison();
            poisoned.into_inner()
        })
    }

    /// Runs read-only work on the connection; `action` names it in the error ("reading …").
    fn read<T>(
        &self,
        action: &str,
        work: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T> {
        let connection = self.lock();
        work(&connection).map_err(|e| Error::store(action, e))
    }

    /// Runs `work` in one write transaction and commits it, or rolls everything back on error.
    ///
    /// The transaction is `IMMEDIATE`: it takes the write lock up front, so two processes that
    /// both read and then write wait for each other through the busy timeout instead of one of
    /// them failing at once with SQLITE_BUSY when it tries to upgrade its read lock.
    fn write<T>(
        &self,
        action: &str,
        work: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T> {
        let mut connection = self.lock();
        let run = |connection: &mut Connection| {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let value = work(&transaction)?;
            transaction.commit()?;
            Ok(value)
        };
        run(&mut connection).map_err(|e: rusqlite::Error| Error::store(action, e))
    }
}

/// Opens and configures the file, and reads its header and schema (checking the header ourselves
/// first, see [`recovery::check_header`]): the reads that fail with
/// SQLITE_NOTADB or SQLITE_CORRUPT on a damaged file, cheaply (page 1 and `sqlite_master`, not
/// every page as `PRAGMA quick_check` would). The error is kept as SQLite's so that the caller can
/// tell damage from a busy or read-only file.
fn open_file(path: &Path) -> rusqlite::Result<Connection> {
    recovery::check_header(path)?;
    let connection = Connection::open(path)?;
    configure(&connection)?;
    connection.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))?;
    Ok(connection)
}

/// Moves the unreadable database at `path` aside (see [`recovery`]) and says so in the log.
///
/// Two processes can find the same damaged file at the same moment (the service and `check`).
/// They take turns through a lock file beside the database, and each looks again under the lock:
/// the second then finds the fresh database the first started and leaves it alone (`None`).
fn recover(path: &Path, error: &rusqlite::Error) -> Result<Option<Recovered>> {
    let location = path.display();
    let failed = |action: &str, e: std::io::Error| {
        Error::store(
            format_args!("{action} the unreadable database {location}"),
            e,
        )
    };
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(recovery::lock_path(path))
        .map_err(|e| failed("locking", e))?;
    lock.lock().map_err(|e| failed("locking", e))?;
    match open_file(path) {
        Ok(_) => return Ok(None),
        Err(e) if !recovery::is_unreadable(&e) => {
            return Err(Error::store(
                format_args!("opening the database {location}"),
                e,
            ))
        }
        Err(_) => {}
    }
    let moved_to = recovery::move_aside(path, Utc::now()).map_err(|e| failed("moving aside", e))?;
    let recovered = Recovered {
        moved_to,
        reason: recovery::reason(error),
    };
    // A target of its own, so a front end that tells the user in its own words can leave it out.
    tracing::warn!(
        target: "claude_status_engine::store::recovery",
        store = %location,
        moved_to = %recovered.moved_to.display(),
        "{recovered}"
    );
    Ok(Some(recovered))
}

/// Connection settings applied on every open, before the migrations.
fn configure(connection: &Connection) -> rusqlite::Result<()> {
    // The busy timeout goes first so that switching to WAL waits for another process too.
    connection.busy_timeout(BUSY_TIMEOUT)?;
    // WAL lets the CLI read while the tray app writes. An in-memory database answers "memory",
    // and a file system without shared memory support may refuse WAL: both still work, so a
    // refusal is logged rather than fatal.
    let mode = switch_to_wal(connection)?;
    if !mode.eq_ignore_ascii_case("wal") && !mode.eq_ignore_ascii_case("memory") {
        tracing::warn!(journal_mode = %mode, "SQLite refused WAL mode; continuing without it");
    }
    // NORMAL is durable in WAL mode except for the last transactions before a power loss, which
    // is an acceptable price for history rows and saves an fsync on every write.
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    // Incident updates are deleted with their incident through ON DELETE CASCADE, which SQLite
    // honours only when foreign keys are switched on for the connection.
    connection.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

/// Switches the database to WAL and returns the journal mode SQLite reports. Two processes that
/// open a new database at the same moment (the status line and `check`, say) can both hold a read
/// lock while each asks for the exclusive one the switch needs; SQLite then answers SQLITE_BUSY at
/// once, without waiting through the busy timeout, to break the deadlock. So a busy answer is
/// retried, 50 ms apart, for at most the busy timeout; a database already in WAL mode needs no
/// switch at all.
fn switch_to_wal(connection: &Connection) -> rusqlite::Result<String> {
    const PAUSE: Duration = Duration::from_millis(50);
    let attempts = (BUSY_TIMEOUT.as_millis() / PAUSE.as_millis()).max(1);
    let mut attempt = 0;
    loop {
        let current: rusqlite::Result<String> =
            connection.pragma_query_value(None, "journal_mode", |row| row.get(0));
        let outcome = match current {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => Ok(mode),
            Ok(_) => {
                connection.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            }
            Err(e) => Err(e),
        };
        match outcome {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) && attempt < attempts =>
            {
                attempt += 1;
                std::thread::sleep(PAUSE);
            }
            other => return other,
        }
    }
}

/// A time as stored: unix milliseconds, UTC.
fn to_millis(time: DateTime<Utc>) -> i64 {
    time.timestamp_millis()
}

/// A stored time, or `None` when the number is outside chrono's range (bad data, not a panic).
fn from_millis(millis: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(millis)
}

/// A stored optional time; an out-of-range number reads as absent.
fn from_optional_millis(millis: Option<i64>) -> Option<DateTime<Utc>> {
    millis.and_then(from_millis)
}

/// Serialises a value for a JSON column, naming what it was in the error.
fn to_json<T: serde::Serialize + ?Sized>(what: &str, value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::store(format_args!("serialising {what}"), e))
}

/// Reads a JSON column, logging and returning `None` when it no longer parses so that the
/// caller can skip the row.
fn from_json<T: serde::de::DeserializeOwned>(table: &str, row_id: &str, json: &str) -> Option<T> {
    match serde_json::from_str(json) {
        Ok(value) => Some(value),
        Err(error) => {
            tracing::warn!(table, row = row_id, %error, "skipping a stored row whose JSON no longer parses");
            None
        }
    }
}

/// Converts a count or size for an INTEGER column, saturating (SQLite integers are signed).
fn to_sql_integer(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Converts a row limit for SQL; `usize::MAX` means "no limit" and becomes `-1`, SQLite's spelling.
fn to_sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(-1)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.
mod tests {
    use super::*;

    #[test]
    fn a_poisoned_lock_is_recovered_not_fatal() {
        let store = Store::open_in_memory().unwrap();
        std::thread::scope(|scope| {
            let handle = scope.spawn(|| {
                let _guard = store.connection.lock();
                panic!("deliberate panic while holding the store lock");
            });
            assert!(handle.join().is_err());
        });
        assert!(store.connection.is_poisoned());
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        assert!(!store.connection.is_poisoned());
    }

    #[test]
    fn a_time_out_of_range_reads_as_absent() {
        assert_eq!(from_millis(i64::MAX), None);
        let now = DateTime::from_timestamp_millis(1_780_000_000_123).unwrap();
        assert_eq!(from_millis(to_millis(now)), Some(now));
    }
}
