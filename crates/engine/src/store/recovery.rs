//! What the store does with a database file SQLite cannot read: move it aside, with its `-wal` and
//! `-shm` companions, under a timestamped name, so that a fresh database can start and nothing of
//! the user's is deleted.
//!
//! Detection is deliberately cheap, because every command opens the store (the status line many
//! times a minute): an open counts as unreadable only when SQLite itself answers SQLITE_NOTADB or
//! SQLITE_CORRUPT while reading the header and the schema (see `Store::open`). `PRAGMA
//! quick_check` would catch more, but it reads every page of the file, which on a year of history
//! costs seconds on each open; damage deeper in the file is left for SQLite to report on the
//! query that touches it. A locked database (SQLITE_BUSY) or a newer schema is never taken for
//! damage.

use chrono::{DateTime, Utc};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// A database that could not be read was moved aside and a new one started in its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// Where the unreadable file now is; its `-wal` and `-shm`, if it had any, sit beside it
    /// under the same name plus the suffix, so SQLite tools still find them together.
    pub moved_to: PathBuf,
    /// SQLite's own words for what was wrong ("file is not a database").
    pub reason: String,
}

impl std::fmt::Display for Recovered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the history database was unreadable ({}); it was moved to {} and a new one started",
            self.reason,
            self.moved_to.display()
        )
    }
}

/// Whether an error on open says the file is not a readable database, as opposed to being busy,
/// read-only or missing.
pub(super) fn is_unreadable(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
    )
}

/// The 16 bytes every SQLite database file starts with.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Answers SQLITE_NOTADB, as SQLite would, for a file that exists and has bytes but does not
/// start with SQLite's header, before SQLite has opened it. Checked first so that the file is
/// moved aside exactly as it was: a connection that fails on such a file still treats a `-wal`
/// beside it as its own, and closing that connection deletes a WAL without a valid frame (or
/// checkpoints one that has frames into the damaged file). A file we cannot read here is left
/// to SQLite, whose error then says why.
pub(super) fn check_header(path: &Path) -> rusqlite::Result<()> {
    use std::io::Read;
    let Ok(file) = std::fs::File::open(path) else {
        return Ok(());
    };
    let mut start = Vec::with_capacity(SQLITE_HEADER.len());
    if file
        .take(SQLITE_HEADER.len() as u64)
        .read_to_end(&mut start)
        .is_err()
        || start.is_empty()
        || start == SQLITE_HEADER
    {
        return Ok(());
    }
    Err(rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_NOTADB),
        Some("file is not a database".to_owned()),
    ))
}

/// SQLite's message for an unreadable file, without rusqlite's wrapping.
pub(super) fn reason(error: &rusqlite::Error) -> String {
    match error {
        rusqlite::Error::SqliteFailure(_, Some(message)) if !message.is_empty() => message.clone(),
        rusqlite::Error::SqliteFailure(failure, _) => failure.to_string(),
        other => other.to_string(),
    }
}

/// Renames `path`, then its `-wal` and `-shm`, to `<name>.corrupt-<UTC time>` (plus `-wal` /
/// `-shm`), never over an existing file, and returns the new name of the database.
///
/// The companions go first: a stale WAL left next to a fresh database would be replayed into it,
/// whereas an interrupted move that left the damaged main file in place is simply found and moved
/// again on the next open.
pub(super) fn move_aside(path: &Path, now: DateTime<Utc>) -> std::io::Result<PathBuf> {
    let stamp = now.format("%Y%m%dT%H%M%SZ").to_string();
    let mut attempt = 1;
    let target = loop {
        let mut name = path.as_os_str().to_owned();
        name.push(".corrupt-");
        name.push(&stamp);
        if attempt > 1 {
            name.push(format!("-{attempt}"));
        }
        let candidate = PathBuf::from(name);
        let taken = [
            candidate.clone(),
            companion(&candidate, "-wal"),
            companion(&candidate, "-shm"),
        ]
        .iter()
        .any(|p| p.exists());
        if !taken {
            break candidate;
        }
        attempt += 1;
    };
    for suffix in ["-wal", "-shm"] {
        let from = companion(path, suffix);
        if from.exists() {
            std::fs::rename(&from, companion(&target, suffix))?;
        }
    }
    std::fs::rename(path, &target)?;
    Ok(target)
}

/// `path` with `suffix` appended to its file name, SQLite's naming for the WAL and shared memory.
pub(super) fn companion(path: &Path, suffix: &str) -> PathBuf {
    let mut name: OsString = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The file whose lock makes two processes that find the same damaged file at once take turns:
/// the second then finds the fresh database and leaves it alone.
pub(super) fn lock_path(path: &Path) -> PathBuf {
    companion(path, ".recovery-lock")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.
mod tests {
    use super::*;

    fn failure(code: std::ffi::c_int) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn only_damage_counts_as_unreadable() {
        // A locked or busy file (another writer) is waited for and reported, never moved aside;
        // nor is a file we may not read or write.
        for code in [
            rusqlite::ffi::SQLITE_BUSY,
            rusqlite::ffi::SQLITE_LOCKED,
            rusqlite::ffi::SQLITE_READONLY,
            rusqlite::ffi::SQLITE_CANTOPEN,
            rusqlite::ffi::SQLITE_PERM,
            rusqlite::ffi::SQLITE_FULL,
            rusqlite::ffi::SQLITE_IOERR,
        ] {
            assert!(!is_unreadable(&failure(code)), "code {code}");
        }
        assert!(is_unreadable(&failure(rusqlite::ffi::SQLITE_NOTADB)));
        assert!(is_unreadable(&failure(rusqlite::ffi::SQLITE_CORRUPT)));
    }

    #[test]
    fn the_header_check_passes_an_empty_or_missing_file_to_sqlite() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("db");
        assert!(check_header(&path).is_ok());
        std::fs::write(&path, b"").unwrap();
        assert!(check_header(&path).is_ok());
        std::fs::write(&path, b"SQLite format 3\0 and the rest").unwrap();
        assert!(check_header(&path).is_ok());
        std::fs::write(&path, b"SQLite").unwrap();
        let error = check_header(&path).unwrap_err();
        assert!(is_unreadable(&error));
        assert_eq!(reason(&error), "file is not a database");
    }

    #[test]
    fn moving_aside_never_overwrites_an_earlier_move() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("claude-status.sqlite3");
        let now = DateTime::from_timestamp(1_796_420_000, 0).unwrap();
        std::fs::write(&path, b"first").unwrap();
        std::fs::write(companion(&path, "-wal"), b"first wal").unwrap();
        let first = move_aside(&path, now).unwrap();
        std::fs::write(&path, b"second").unwrap();
        let second = move_aside(&path, now).unwrap();
        assert_ne!(first, second);
        assert_eq!(std::fs::read(&first).unwrap(), b"first");
        assert_eq!(
            std::fs::read(companion(&first, "-wal")).unwrap(),
            b"first wal"
        );
        assert_eq!(std::fs::read(&second).unwrap(), b"second");
        assert!(first
            .to_string_lossy()
            .ends_with(&format!(".corrupt-{}", now.format("%Y%m%dT%H%M%SZ"))));
        assert!(!path.exists());
    }
}
