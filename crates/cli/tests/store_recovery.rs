//! Issue 16, the real binary: a history database of random bytes is moved aside, the user is
//! told once, and the command goes on as it would have, `check` and the gateway alike.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

mod support;

use std::path::{Path, PathBuf};

use claude_status_simulator::{Clock, SimHandle, Simulator};

/// Bytes that are no SQLite file, the same on every run.
fn random_bytes(length: usize) -> Vec<u8> {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    (0..length)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

/// A data directory whose database is garbage; returns the garbage.
fn damaged_data_dir(data: &Path) -> Vec<u8> {
    let garbage = random_bytes(48 * 1024);
    std::fs::write(data.join("claude-status.sqlite3"), &garbage).unwrap();
    garbage
}

/// The files moved aside in `data`.
fn moved_aside(data: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(data)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("claude-status.sqlite3.corrupt-")
        })
        .collect()
}

fn healthy_simulator(runtime: &tokio::runtime::Runtime) -> SimHandle {
    runtime
        .block_on(Simulator::new("healthy").clock(Clock::Manual).start())
        .unwrap()
}

/// `check --no-service` at the default log level, as a user runs it.
fn check(data: &Path, home: &Path, sim: &SimHandle) -> std::process::Output {
    support::finish(
        support::command(data, home, &sim.base_url())
            .env_remove("CLAUDE_STATUS_LOG")
            .args(["check", "--no-service"]),
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn issue_16_check_with_a_database_of_random_bytes_says_so_once_and_answers() {
    let runtime = runtime();
    let sim = healthy_simulator(&runtime);
    let data = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let garbage = damaged_data_dir(data.path());

    let output = check(data.path(), home.path(), &sim);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // A healthy story answers 0, as it does with a good database.
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("operational"));
    let moved = moved_aside(data.path());
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert_eq!(
        std::fs::read(&moved[0]).unwrap(),
        garbage,
        "the old bytes are kept"
    );
    let told: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains(".corrupt-"))
        .collect();
    assert_eq!(told.len(), 1, "told once: {stderr}");
    assert!(
        told[0].starts_with("claude-status: the history database was unreadable (file is not a database); it was moved to "),
        "{}",
        told[0]
    );
    assert!(
        told[0].contains(&moved[0].display().to_string()),
        "{}",
        told[0]
    );
    assert!(told[0].ends_with("and a new one started"), "{}", told[0]);

    // No crash loop: the next run finds the fresh database and says nothing of it.
    let again = check(data.path(), home.path(), &sim);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("unreadable"), "{stderr}");
    assert_eq!(moved_aside(data.path()).len(), 1);
}

#[test]
fn issue_16_the_gateway_starts_with_a_database_of_random_bytes() {
    let runtime = runtime();
    let sim = healthy_simulator(&runtime);
    let data = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let garbage = damaged_data_dir(data.path());

    let output = support::finish(
        support::command(data.path(), home.path(), &sim.base_url())
            .env_remove("CLAUDE_STATUS_LOG")
            .args(["proxy", "--port", "0", "--upstream", &sim.base_url()])
            .args(["--for", "2s"]),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let moved = moved_aside(data.path());
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert_eq!(std::fs::read(&moved[0]).unwrap(), garbage);
    // The gateway's log is how it speaks: the warning names where the old file went.
    let told: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("WARN") && line.contains(&moved[0].display().to_string()))
        .collect();
    assert_eq!(told.len(), 1, "{stderr}");
    // Once in all: no plain line repeats it.
    assert_eq!(stderr.matches("was unreadable").count(), 1, "{stderr}");
    // And the history it kept is in a database that opens.
    let store =
        claude_status_engine::Store::open(&data.path().join("claude-status.sqlite3")).unwrap();
    assert_eq!(store.recovered(), None);
}
