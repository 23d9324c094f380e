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

mod advice;
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
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::error::{Error, Result};

pub use advice::GatewayShape;
pub use fetch_log::{FetchOutcome, FetchRecord};
pub use http_cache::CachedResponse;
pub use incidents::UpsertOutcome;
pub use leads::LeadTime;
pub use migrations::SCHEMA_VERSION;
pub use prune::{PruneReport, RETENTION_DEFAULT_DAYS};
pub use recovery::Recovered;
pub use status_history::LevelChange;
pub use usage::{BatchOutcome, IngestWriter, RateLimitReading, UsageFileOffset};

/// Every shipped migration's SQL, oldest first (migration `n` is at index `n - 1`), so a test can
/// build a database exactly as an older build left it and prove it migrates to the current schema
/// with its rows intact (`tests/store_schema.rs`). Not for anything but tests.
#[doc(hidden)]
pub fn shipped_migrations() -> &'static [&'static str] {
    migrations::MIGRATIONS
}

/// The file name of the database inside the app's data directory.
pub const DATABASE_FILE_NAME: &str = "claude-status.sqlite3";

/// How long a connection waits for another process (the CLI next to the tray app) to release a
/// lock before giving up with [`Error::StoreLocked`].
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long each statement waits once one has already waited the whole busy timeout in vain, until
/// a write gets through again. Another program that holds a lock for minutes (a backup, a
/// `sqlite3` shell left in a transaction) would otherwise cost every write its own 5 s: a `check`
/// makes about ten, and the service's monitor would fall minutes behind its probes.
const BUSY_TIMEOUT_WHILE_LOCKED: Duration = Duration::from_millis(250);

/// The app's persistent history, shared as `Arc<Store>`.
pub struct Store {
    connection: Mutex<Connection>,
    /// Where the database lives, for error messages; `:memory:` for an in-memory store.
    location: String,
    /// Set when this open found the file unreadable, moved it aside and started a new one.
    recovered: Option<Recovered>,
    /// Why history is not being saved, when it is not (see [`Store::not_saving`]).
    not_saving: Mutex<Option<NotSaving>>,
    /// The busy timeout this store was opened with.
    busy_timeout: Duration,
    /// Set when a statement waited the whole busy timeout for another program's lock, so the
    /// next ones wait [`BUSY_TIMEOUT_WHILE_LOCKED`] only; cleared by the next write that succeeds.
    locked_out: AtomicBool,
}

/// Why the store's writes are not reaching a file.
#[derive(Debug, Clone)]
struct NotSaving {
    /// The sentence front ends show.
    text: String,
    /// The store never had a file (the data directory could not be written at open), so no
    /// later write can clear this; a failed write on a file is cleared by the next one that
    /// succeeds.
    for_good: bool,
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
    /// is never deleted. A busy database ([`Error::StoreLocked`]), or one from a newer build, is
    /// an error as before.
    pub fn open(path: &Path) -> Result<Store> {
        Store::open_with_busy_timeout(path, BUSY_TIMEOUT)
    }

    /// Opens the database at `path` like [`Store::open`], waiting at most `busy_timeout` for
    /// another program's lock on each statement: the status line, which Claude Code waits for,
    /// cannot spend the five seconds everything else may.
    pub fn open_with_busy_timeout(path: &Path, busy_timeout: Duration) -> Result<Store> {
        let location = path.display().to_string();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                Error::store(
                    format_args!("creating the data directory {}", parent.display()),
                    e,
                )
            })?;
        }
        let opening = |e| {
            store_error(
                &location,
                format_args!("opening the database {location}"),
                e,
            )
        };
        let (connection, recovered) = match open_file(path, busy_timeout) {
            Ok(connection) => (connection, None),
            Err(e) if recovery::is_unreadable(&e) => {
                let recovered = recover(path, &e, busy_timeout)?;
                // The fresh file is opened once more and no further: if it fails too, the fault
                // is not the old file's, and moving files aside in a loop would not help.
                (open_file(path, busy_timeout).map_err(opening)?, recovered)
            }
            Err(e) => return Err(opening(e)),
        };
        let mut store = Store::from_connection(connection, location)?;
        store.recovered = recovered;
        store.busy_timeout = busy_timeout;
        Ok(store)
    }

    /// Opens the database at `path` like [`Store::open`]; when it cannot be written there (a
    /// read-only or foreign-owned data directory, a full disk), opens an in-memory store instead,
    /// so the caller keeps monitoring, and [`Store::not_saving`] says why history is not kept.
    ///
    /// A database another program holds locked beyond the busy timeout falls back too (issue 16):
    /// the lock is someone else's, usually a backup or a `sqlite3` shell, and must not stop the
    /// monitoring or put SQLite's "database is locked" in front of the user.
    ///
    /// The caller tells the user, from [`Store::not_saving`]: `check`'s report, `watch`'s and
    /// `proxy`'s first line, `service run`'s start, the tray's tooltip.
    ///
    /// Anything else (a database from a newer build) is still an error, because a history in
    /// memory would hide the real problem. Whether the place can be written is tested directly,
    /// with a small file beside the database, rather than read off SQLite's error, which says
    /// "unable to open database file" for half a dozen causes.
    pub fn open_or_in_memory(path: &Path) -> Result<Store> {
        let (error, reason) = match Store::open(path) {
            Ok(store) => return Ok(store),
            Err(error @ Error::SchemaTooNew { .. }) => return Err(error),
            Err(error @ Error::StoreLocked(_)) => {
                let reason = locked_text(&path.display().to_string());
                (error, reason)
            }
            Err(error) => match cannot_write(path) {
                Some(reason) => (error, reason),
                None => return Err(error),
            },
        };
        // Said by each front end from `not_saving` (once, in its own words); a warning here as
        // well told the user twice.
        tracing::debug!(store = %path.display(), %error, "history is not being saved: {reason}");
        let store = Store::open_in_memory()?;
        // For the store's life: rows kept in memory meanwhile could not be merged into the file
        // later without a second, conflicting copy of the ingest offsets.
        *lock_ok(&store.not_saving) = Some(NotSaving {
            text: format!("history is not being saved: {reason}"),
            for_good: true,
        });
        Ok(store)
    }

    /// Why history is not being saved, when it is not: the data directory could not be written
    /// when the store opened (see [`Store::open_or_in_memory`]), or the last write failed on a
    /// full disk or an I/O error. One sentence for a front end; `None` while writes succeed.
    pub fn not_saving(&self) -> Option<String> {
        lock_ok(&self.not_saving)
            .as_ref()
            .map(|problem| problem.text.clone())
    }

    /// Notes the outcome of a write for [`Store::not_saving`].
    fn note_write(&self, outcome: std::result::Result<(), &rusqlite::Error>) {
        let mut not_saving = lock_ok(&self.not_saving);
        match outcome {
            Ok(()) => {
                if not_saving.as_ref().is_some_and(|problem| !problem.for_good) {
                    *not_saving = None;
                    tracing::info!(store = %self.location, "history is being saved again");
                }
            }
            Err(error) => {
                let Some(cause) = unsaved_cause(error) else {
                    return;
                };
                if not_saving.as_ref().is_some_and(|problem| problem.for_good) {
                    return;
                }
                let text = format!("history is not being saved: {cause}");
                if not_saving.as_ref().map(|problem| &problem.text) != Some(&text) {
                    tracing::warn!(store = %self.location, "{text}");
                }
                *not_saving = Some(NotSaving {
                    text,
                    for_good: false,
                });
            }
        }
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
        configure(&connection, BUSY_TIMEOUT)
            .map_err(|e| Error::store("configuring an in-memory database", e))?;
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
            not_saving: Mutex::new(None),
            busy_timeout: BUSY_TIMEOUT,
            locked_out: AtomicBool::new(false),
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
        let outcome = work(&connection);
        if outcome.as_ref().err().is_some_and(is_busy) {
            self.note_locked_out(&connection);
        }
        outcome.map_err(|e| store_error(&self.location, action, e))
    }

    /// After a statement waited the whole busy timeout for another program's lock, the next
    /// ones wait briefly only (see [`BUSY_TIMEOUT_WHILE_LOCKED`]).
    fn note_locked_out(&self, connection: &Connection) {
        if !self.locked_out.swap(true, Ordering::Relaxed) {
            let _ = connection.busy_timeout(BUSY_TIMEOUT_WHILE_LOCKED.min(self.busy_timeout));
        }
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
        let outcome = run(&mut connection);
        match &outcome {
            Err(e) if is_busy(e) => self.note_locked_out(&connection),
            Ok(_) if self.locked_out.swap(false, Ordering::Relaxed) => {
                let _ = connection.busy_timeout(self.busy_timeout);
            }
            _ => {}
        }
        drop(connection);
        self.note_write(outcome.as_ref().map(|_| ()));
        outcome.map_err(|e: rusqlite::Error| store_error(&self.location, action, e))
    }
}

/// Locks one of the store's small state mutexes, whose values are whole after any assignment, so
/// a poisoned one is still good.
fn lock_ok<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Whether SQLite gave up waiting for another connection's lock.
fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// The words for another program's lock, in place of SQLite's bare "database is locked", which
/// says neither which database nor that the fault is not ours.
fn locked_text(location: &str) -> String {
    format!("another program holds a lock on the history database {location}")
}

/// A database error with the operation that failed; another program's lock is
/// [`Error::StoreLocked`], in words that say so.
fn store_error(location: &str, action: impl std::fmt::Display, error: rusqlite::Error) -> Error {
    if is_busy(&error) {
        Error::StoreLocked(format!("{action}: {}", locked_text(location)))
    } else {
        Error::store(action, error)
    }
}

/// What a failed write says about the place the history lives, in a few words with SQLite's code,
/// when it is about the place (a full disk, a read-only file, an I/O error) or another program's
/// lock on it, rather than about the data (a constraint), which is the caller's to report.
fn unsaved_cause(error: &rusqlite::Error) -> Option<String> {
    let rusqlite::Error::SqliteFailure(failure, _) = error else {
        return None;
    };
    use rusqlite::ErrorCode as Code;
    let cause = match failure.code {
        Code::DiskFull => "the disk is full (SQLITE_FULL)",
        Code::ReadOnly => "the database is read-only (SQLITE_READONLY)",
        Code::CannotOpen => "the database file cannot be opened (SQLITE_CANTOPEN)",
        Code::PermissionDenied => "permission to write the database was denied (SQLITE_PERM)",
        Code::SystemIoFailure => "the disk reported an I/O error (SQLITE_IOERR)",
        Code::DatabaseBusy | Code::DatabaseLocked => {
            "another program holds a lock on the history database (SQLITE_BUSY)"
        }
        _ => return None,
    };
    Some(cause.to_owned())
}

/// Why `path` cannot be written, when it cannot: its directory cannot be made or written
/// (permissions, a read-only file system), the file itself is read-only, or the disk is full.
/// Tested with a small file made and removed beside the database; `None` when that works, so a
/// failure to open there is something else.
fn cannot_write(path: &Path) -> Option<String> {
    use std::io::{ErrorKind, Write};
    let directory = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let why = |what: String, error: &std::io::Error| match error.kind() {
        ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem => {
            Some(format!("{what} cannot be written ({error})"))
        }
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded => {
            Some(format!("the disk is full ({error})"))
        }
        _ => None,
    };
    let directory_text = format!("the data directory {}", directory.display());
    if let Err(error) = std::fs::create_dir_all(directory) {
        return why(directory_text, &error);
    }
    if path.exists() {
        if let Err(error) = std::fs::OpenOptions::new().append(true).open(path) {
            return why(format!("the database {}", path.display()), &error);
        }
    }
    let probe = recovery::companion(path, &format!(".write-test-{}", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .and_then(|mut file| {
            // A page's worth, synced, because a full file system still makes an empty file.
            file.write_all(&[0; 4096])?;
            file.sync_all()
        });
    let _ = std::fs::remove_file(&probe);
    match written {
        Ok(()) => None,
        Err(error) => why(directory_text, &error),
    }
}

/// Opens and configures the file, and reads its header and schema (checking the header ourselves
/// first, see [`recovery::check_header`]): the reads that fail with
/// SQLITE_NOTADB or SQLITE_CORRUPT on a damaged file, cheaply (page 1 and `sqlite_master`, not
/// every page as `PRAGMA quick_check` would). The error is kept as SQLite's so that the caller can
/// tell damage from a busy or read-only file.
fn open_file(path: &Path, busy_timeout: Duration) -> rusqlite::Result<Connection> {
    recovery::check_header(path)?;
    let connection = Connection::open(path)?;
    configure(&connection, busy_timeout)?;
    connection.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))?;
    Ok(connection)
}

/// Moves the unreadable database at `path` aside (see [`recovery`]) and says so in the log.
///
/// Two processes can find the same damaged file at the same moment (the service and `check`).
/// They take turns through a lock file beside the database, and each looks again under the lock:
/// the second then finds the fresh database the first started and leaves it alone (`None`).
fn recover(
    path: &Path,
    error: &rusqlite::Error,
    busy_timeout: Duration,
) -> Result<Option<Recovered>> {
    let location = path.display();
    let failed = |action: &str, e: std::io::Error| {
        Error::store(
            format_args!("{action} the unreadable database {location}"),
            e,
        )
    };
    let lock_path = recovery::lock_path(path);
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| failed("locking", e))?;
    lock.lock().map_err(|e| failed("locking", e))?;
    // The lock file is removed while it is still held, whichever way this returns, so a recovery
    // leaves nothing behind. A process that opened the old file and waits on it then gets a lock
    // no newcomer shares; both look again under their lock, and both find the fresh database the
    // first one started, which is all the lock has to ensure.
    let _remove_lock = RemoveOnDrop(lock_path);
    match open_file(path, busy_timeout) {
        Ok(_) => return Ok(None),
        Err(e) if !recovery::is_unreadable(&e) => {
            return Err(store_error(
                &location.to_string(),
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

/// Removes a file when dropped (the recovery lock, while its handle is still open and locked).
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Connection settings applied on every open, before the migrations.
fn configure(connection: &Connection, busy_timeout: Duration) -> rusqlite::Result<()> {
    // The busy timeout goes first so that switching to WAL waits for another process too.
    connection.busy_timeout(busy_timeout)?;
    // WAL lets the CLI read while the tray app writes. An in-memory database answers "memory",
    // and a file system without shared memory support may refuse WAL: both still work, so a
    // refusal is logged rather than fatal.
    let mode = switch_to_wal(connection, busy_timeout)?;
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
/// retried, 50 ms apart, until the busy timeout has passed since the first try; a database already
/// in WAL mode needs no switch at all.
///
/// The bound is a deadline, not a number of attempts: against a database another program holds
/// an exclusive lock on, each attempt itself waits the whole busy timeout before answering busy,
/// and a hundred attempts made `check` wait over eight minutes (issue 16).
fn switch_to_wal(connection: &Connection, busy_timeout: Duration) -> rusqlite::Result<String> {
    const PAUSE: Duration = Duration::from_millis(50);
    let deadline = std::time::Instant::now() + busy_timeout;
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
                ) && std::time::Instant::now() < deadline =>
            {
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
