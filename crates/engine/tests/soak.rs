//! The soak under paused time (issue 16, item 8): a day of story time at one-second probes, the
//! engine's tasks against the in-process simulator with the store on and a retention of one hour.
//!
//! The engine runs in the paused-time harness of `support::paused` with its store
//! (`paused::start_stored`): the real `HttpProber` (reachability and the per-model streaming probe,
//! both every second), the real status-page poller with its fetch log and HTTP cache, and a
//! monitor loop that stores what `Engine::start`'s stores (`persist_observation`) and prunes on the
//! engine's own schedule (`prune_interval`), all on the paused clock. The memory, the open files
//! and the database are real; only the waiting is skipped. A story hour (7,200 probes over HTTP,
//! each stored and folded) takes about 8 s of real time in a debug build on 2 cores, so the fault
//! suite plays 6 hours in CI and the whole day in the long run (`scripts/long-run.sh`).
//!
//! The warm-up is two hours: the database fills up to the retention and one pruning interval,
//! the allocator and the connection code reach their working sizes. The test samples the process's
//! resident set, its open file descriptors and the database's bytes (the file, its WAL and its
//! shared memory) every story hour, and holds them to bounds: from the end of the warm-up to the
//! end, the resident set grows by at most [`RSS_GROWTH_MAX`], the descriptors by at most
//! [`FDS_GROWTH_MAX`] and the database by at most [`DB_GROWTH_MAX`]; the database stays under
//! [`DB_BYTES_MAX`]; and after the first hour no probe row is older than the retention plus one
//! pruning interval. It also checks the day went as a calm day goes: every hour has its 3,600
//! probes of each kind (give or take a few), every probe answered, and no notification was
//! raised. The figures are printed on a `FAULT-FIGURES` line for the fault suite
//! (`tests/faults/cases/soak.py`).
//!
//! `SOAK_HOURS` sets the story's length (default 24; more than the warm-up).
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

#[path = "support/sim.rs"]
mod sim;
// The soak reads the harness's events only; the snapshot, the observation sender and the
// store-less `start` are the scenario tests'.
#[allow(dead_code)]
mod support;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use claude_status_core::health::{ProbeKind, ProbeResult};
use claude_status_engine::monitor::prune_interval;
use claude_status_engine::store::Store;
use claude_status_engine::EngineEvent;
use support::paused::{self, ProbeHook, VirtualClock};
use tokio::sync::broadcast;

/// The model the streaming probe follows.
const MODEL: &str = "claude-haiku-4-5";
const TEST_KEY: &str = "sk-ant-api03-soak-test-key";

/// How long history is kept in the soak.
const RETENTION: chrono::Duration = chrono::Duration::hours(1);

/// Hours of warm-up: the figures after it are compared with the end.
const WARM_UP_HOURS: usize = 2;

/// The database may grow by at most this share after the warm-up: pruning keeps it at the
/// retention's worth of rows, and SQLite reuses the pages they free.
const DB_GROWTH_MAX: f64 = 0.10;

/// The resident set may grow by at most this share from the end of the warm-up to the end of the day.
/// A leak of one small allocation per probe (100 bytes × 2 probes a second) would be 17 MiB over
/// the day, far over this on a process of about 30 MiB.
const RSS_GROWTH_MAX: f64 = 0.10;

/// Open descriptors may differ by at most this many between the end of the warm-up and the end: a connection
/// or a file left open per probe, per poll or per prune would be thousands.
const FDS_GROWTH_MAX: i64 = 4;

/// The database (file, WAL and shared memory) stays under this many bytes with a retention of
/// one hour: an hour and a pruning interval of probes of two kinds is about 8,400 rows.
const DB_BYTES_MAX: u64 = 16 * 1024 * 1024;

/// Probes of each kind an hour at one a second, and how far an hour may be from it: the hour's
/// boundary can fall between a probe and its result.
const PROBES_PER_HOUR: u64 = 3600;
const PROBES_SLACK: u64 = 5;

#[derive(Debug, Clone, Copy)]
struct Sample {
    hour: u64,
    rss_kib: u64,
    fds: i64,
    db_bytes: u64,
    probe_rows: i64,
    /// How old the oldest probe row is, in story seconds.
    oldest_probe_s: i64,
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .expect("VmRSS in /proc/self/status")
}

fn open_fds() -> i64 {
    i64::try_from(std::fs::read_dir("/proc/self/fd").unwrap().count()).unwrap()
}

/// The database's bytes on disk: the file and, when they exist, its WAL and shared memory.
fn db_bytes(db: &Path) -> u64 {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| {
            let mut name = db.as_os_str().to_owned();
            name.push(suffix);
            std::fs::metadata(name).ok()
        })
        .map(|meta| meta.len())
        .sum()
}

/// How many probe rows the database holds, and how old the oldest is at `clock`'s now.
fn probe_rows(db: &Path, clock: &VirtualClock) -> (i64, i64) {
    // A reader of its own, as `check` would be, so the store's connection is not borrowed.
    let reader =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let (rows, oldest): (i64, Option<i64>) = reader
        .query_row("SELECT count(*), min(at) FROM probe_results", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .unwrap();
    let now_ms = clock.now().timestamp_millis();
    (rows, oldest.map_or(0, |oldest| (now_ms - oldest) / 1000))
}

fn sample(hour: u64, db: &Path, clock: &VirtualClock) -> Sample {
    let (probe_rows, oldest_probe_s) = probe_rows(db, clock);
    Sample {
        hour,
        rss_kib: rss_kib(),
        fds: open_fds(),
        db_bytes: db_bytes(db),
        probe_rows,
        oldest_probe_s,
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

#[tokio::test(start_paused = true)]
async fn a_day_of_one_second_probes_keeps_memory_files_and_the_database_flat() {
    let hours: u64 = std::env::var("SOAK_HOURS")
        .ok()
        .map(|h| h.parse().expect("SOAK_HOURS is a whole number of hours"))
        .unwrap_or(24);
    assert!(
        hours > WARM_UP_HOURS as u64,
        "SOAK_HOURS must leave an hour after the {WARM_UP_HOURS} hours of warm-up"
    );

    let sim = sim::fast_sim("operational").await;
    let dir = tempfile::tempdir().unwrap();
    if std::env::var_os("SOAK_KEEP").is_some() {
        eprintln!("soak: keeping {}", dir.path().display());
    }
    let db = dir.path().join("claude-status.sqlite3");
    let store = Arc::new(Store::open(&db).unwrap());

    let mut config = paused::keyed_config(&sim.base_url(), TEST_KEY, vec![MODEL.to_owned()]);
    config.retention = RETENTION;
    let probes = config.probes.as_mut().unwrap();
    probes.schedule.interval = Duration::from_secs(1);
    let streaming = probes.streaming.as_mut().unwrap();
    streaming.model = MODEL.to_owned();
    streaming.interval = Duration::from_secs(1);
    streaming.others_interval = Duration::from_secs(1);

    // Counted per kind, so an hour without its probes is seen; failures counted apart.
    let counts = Arc::new([AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)]);
    let counted = counts.clone();
    let on_probe: ProbeHook = Arc::new(move |_, result: &ProbeResult| {
        let slot = match result.kind {
            ProbeKind::Streaming => 1,
            _ => 0,
        };
        counted[slot].fetch_add(1, Ordering::Relaxed);
        if !result.outcome().is_success() {
            counted[2].fetch_add(1, Ordering::Relaxed);
        }
    });
    let mut engine = paused::start_stored(config, Some(on_probe), Some(store.clone())).unwrap();
    let clock = engine.clock;

    let real_start = std::time::Instant::now();
    let mut samples = Vec::new();
    let mut notifications = Vec::new();
    let mut last = [0u64; 2];
    let mut short_hours = Vec::new();
    for hour in 1..=hours {
        let end = clock.start + Duration::from_secs(hour * 3600);
        loop {
            tokio::select! {
                biased;
                event = engine.events.recv() => match event {
                    Ok(EngineEvent::Notify { notification, .. }) => {
                        notifications.push((hour, notification.title.clone()));
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(n)) => panic!("missed {n} events"),
                    Err(broadcast::error::RecvError::Closed) => panic!("the engine stopped"),
                },
                () = tokio::time::sleep_until(end) => break,
            }
        }
        let now = [
            counts[0].load(Ordering::Relaxed),
            counts[1].load(Ordering::Relaxed),
        ];
        let this_hour = [now[0] - last[0], now[1] - last[1]];
        last = now;
        if this_hour
            .iter()
            .any(|n| n.abs_diff(PROBES_PER_HOUR) > PROBES_SLACK)
        {
            short_hours.push((hour, this_hour));
        }
        let s = sample(hour, &db, &clock);
        eprintln!(
            "soak: hour {hour:>2}: {} + {} probes, RSS {:.1} MiB, fds {}, db {:.2} MiB, {} probe rows, oldest {} s ({:.1} s real)",
            this_hour[0],
            this_hour[1],
            s.rss_kib as f64 / 1024.0,
            s.fds,
            mib(s.db_bytes),
            s.probe_rows,
            s.oldest_probe_s,
            real_start.elapsed().as_secs_f64(),
        );
        samples.push(s);
    }
    engine.tasks.stop().await;
    let real_seconds = real_start.elapsed().as_secs_f64();

    // The warm-up is two hours: the retention and one pruning interval fill the database to its
    // working size, and the first hour has no prune that deletes anything.
    let warm = samples[WARM_UP_HOURS - 1];
    let end = *samples.last().unwrap();
    let db_max = samples.iter().map(|s| s.db_bytes).max().unwrap();
    let rss_growth = (end.rss_kib as f64 - warm.rss_kib as f64) / warm.rss_kib as f64;
    let drift = format!(
        "RSS {:+.1} MiB ({:.1}→{:.1}), fds {:+}, db {:.1}→{:.1} MiB (max {:.1}) over {hours} h paused",
        (end.rss_kib as f64 - warm.rss_kib as f64) / 1024.0,
        warm.rss_kib as f64 / 1024.0,
        end.rss_kib as f64 / 1024.0,
        end.fds - warm.fds,
        mib(warm.db_bytes),
        mib(end.db_bytes),
        mib(db_max),
    );
    let failures = counts[2].load(Ordering::Relaxed);
    println!(
        "FAULT-FIGURES {}",
        serde_json::json!({
            "soak_hours": hours,
            "probes": last[0] + last[1],
            "probe_failures": failures,
            "rss_start_kib": warm.rss_kib,
            "rss_end_kib": end.rss_kib,
            "fds_start": warm.fds,
            "fds_end": end.fds,
            "db_start_bytes": warm.db_bytes,
            "db_end_bytes": end.db_bytes,
            "db_max_bytes": db_max,
            "probe_rows_end": end.probe_rows,
            "real_seconds": (real_seconds * 10.0).round() / 10.0,
            "soak_drift": drift,
        })
    );

    // A calm day: every probe answered, every hour had its probes, nothing notified.
    assert_eq!(failures, 0, "probes failed on a calm day");
    assert!(
        short_hours.is_empty(),
        "hours without their probes: {short_hours:?}"
    );
    assert!(
        notifications.is_empty(),
        "a calm day notified: {notifications:?}"
    );

    // Flat after the warm-up.
    assert!(
        rss_growth <= RSS_GROWTH_MAX,
        "the resident set grew by {:.1} % from hour {WARM_UP_HOURS} to hour {hours} (at most {:.0} %): {drift}",
        rss_growth * 100.0,
        RSS_GROWTH_MAX * 100.0
    );
    assert!(
        (end.fds - warm.fds).abs() <= FDS_GROWTH_MAX,
        "open descriptors went from {} to {}: {drift}",
        warm.fds,
        end.fds
    );
    assert!(
        db_max <= DB_BYTES_MAX,
        "the database reached {:.1} MiB (at most {:.0} MiB with a retention of one hour): {drift}",
        mib(db_max),
        mib(DB_BYTES_MAX)
    );

    assert!(
        end.db_bytes as f64 <= warm.db_bytes as f64 * (1.0 + DB_GROWTH_MAX),
        "the database grew by more than {:.0} % after the warm-up: {drift}",
        DB_GROWTH_MAX * 100.0
    );

    // Pruning ran: from the second hour on, nothing older than the retention and one pruning
    // interval is kept, and the rows stay what that window holds.
    let window =
        RETENTION.num_seconds() + i64::try_from(prune_interval(RETENTION).as_secs()).unwrap() + 60;
    for s in &samples[1..] {
        assert!(
            s.oldest_probe_s <= window,
            "hour {}: the oldest probe row is {} s old, retention and one prune are {window} s",
            s.hour,
            s.oldest_probe_s
        );
        assert!(
            s.probe_rows <= 2 * window,
            "hour {}: {} probe rows, two a second over {window} s is {}",
            s.hour,
            s.probe_rows,
            2 * window
        );
    }
    drop(store);
    drop(sim);
    if std::env::var_os("SOAK_KEEP").is_some() {
        let _ = dir.keep();
    }
}
