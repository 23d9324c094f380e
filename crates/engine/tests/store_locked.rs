//! Issue 16: another program holding a lock on the history database (a backup, a `sqlite3` shell
//! left in a transaction) never puts SQLite's "database is locked" in front of the user. A write
//! waits the busy timeout once, then fails with `Error::StoreLocked` in words that name the
//! database; the next writes wait briefly, not five seconds each; `not_saving` says why history is
//! not kept until a write gets through; and a database locked even for readers leaves
//! `open_or_in_memory` monitoring in memory.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use claude_status_engine::error::Error;
use claude_status_engine::store::{FetchOutcome, FetchRecord, Store, BUSY_TIMEOUT};
use rusqlite::Connection;

fn fetch() -> FetchRecord {
    FetchRecord {
        at: DateTime::<Utc>::from_timestamp_millis(1_796_420_000_000).unwrap(),
        url: "https://status.claude.com/api/v2/summary.json".to_owned(),
        outcome: FetchOutcome::Ok,
        http_status: Some(200),
        bytes: 10,
        duration_ms: 12,
        error: None,
    }
}

/// Another program's connection holding the write lock (`BEGIN IMMEDIATE`), as `sqlite3` does in
/// an open transaction; readers in WAL mode still read.
fn hold_write_lock(path: &Path) -> Connection {
    let holder = Connection::open(path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    holder
}

fn assert_plain_words(error: &Error) {
    let text = error.to_string();
    assert!(matches!(error, Error::StoreLocked(_)), "{error:?}");
    assert!(!text.contains("database is locked"), "{text}");
    assert!(
        text.contains("another program holds a lock on the history database"),
        "{text}"
    );
}

#[test]
fn issue_16_a_write_lock_held_elsewhere_costs_one_wait_and_is_said_in_plain_words() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("claude-status.sqlite3");
    let store = Store::open(&path).unwrap();
    store.record_fetch(&fetch()).unwrap();
    let holder = hold_write_lock(&path);

    let started = Instant::now();
    let error = store.record_fetch(&fetch()).unwrap_err();
    let first_wait = started.elapsed();
    assert_plain_words(&error);
    assert!(
        first_wait >= BUSY_TIMEOUT - Duration::from_millis(100),
        "{first_wait:?}"
    );
    let not_saving = store.not_saving().expect("the lock is said");
    assert!(
        not_saving.contains("another program holds a lock"),
        "{not_saving}"
    );

    // The next writes do not wait the whole timeout again: ten of them well within one.
    let started = Instant::now();
    for _ in 0..10 {
        assert_plain_words(&store.record_fetch(&fetch()).unwrap_err());
    }
    assert!(started.elapsed() < BUSY_TIMEOUT, "{:?}", started.elapsed());
    // Readers are not blocked by a write lock in WAL mode.
    assert_eq!(
        store.schema_version().unwrap(),
        claude_status_engine::store::SCHEMA_VERSION
    );

    drop(holder);
    store.record_fetch(&fetch()).unwrap();
    assert_eq!(store.not_saving(), None, "history is saved again");
    // The full patience is back: a short lock is waited out rather than failing.
    let holder = hold_write_lock(&path);
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        holder.execute_batch("ROLLBACK").unwrap();
    });
    store.record_fetch(&fetch()).unwrap();
    release.join().unwrap();
}

#[test]
fn issue_16_a_database_locked_for_readers_too_leaves_the_caller_monitoring_in_memory() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("claude-status.sqlite3");
    drop(Store::open(&path).unwrap());
    // An exclusive locking mode keeps every other connection out, readers included.
    let holder = Connection::open(&path).unwrap();
    holder
        .execute_batch(
            "PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE; \
             CREATE TABLE lock_holder(x); INSERT INTO lock_holder VALUES (1);",
        )
        .unwrap();

    // The status line's budget bounds its open.
    let started = Instant::now();
    let error = Store::open_with_busy_timeout(&path, Duration::from_millis(300)).unwrap_err();
    assert_plain_words(&error);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    let started = Instant::now();
    let store = Store::open_or_in_memory(&path).unwrap();
    assert!(
        started.elapsed() < BUSY_TIMEOUT * 2 + Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let not_saving = store.not_saving().expect("says history is not saved");
    assert!(
        not_saving.starts_with("history is not being saved: another program holds a lock"),
        "{not_saving}"
    );
    assert!(!not_saving.contains("database is locked"), "{not_saving}");
    store.record_fetch(&fetch()).unwrap();
    assert!(
        store.not_saving().is_some(),
        "a store in memory never saves"
    );
    drop(holder);
    // The file was left alone: nothing moved aside, its rows all there.
    let names: Vec<String> = std::fs::read_dir(directory.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|name| name.contains(".corrupt-")),
        "{names:?}"
    );
    assert!(Store::open(&path).unwrap().recovered().is_none());
}
