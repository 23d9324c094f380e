//! The Claude Code usage source end to end: the real fixtures into the ledger, resuming after a
//! restart, truncated and replaced files, a `kill -9` in the middle of an ingest, and `follow`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use claude_status_core::usage::{TokenCounts, UsageRecord};
use claude_status_engine::claude_code::{self, FollowConfig, IngestReport};
use claude_status_engine::store::UsageFileOffset;
use claude_status_engine::Store;
use tokio_util::sync::CancellationToken;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/claude-code")
        .join(name)
}

/// A config directory with the two real fixtures laid out as Claude Code does.
fn fixtures_config_dir() -> tempfile::TempDir {
    let temp = tempfile::tempdir().unwrap();
    let basic = temp
        .path()
        .join("projects/-fixture-basic/9c42ba52-3bf1-449f-a040-8ee33284a1c8.jsonl");
    let minimal = temp
        .path()
        .join("projects/project-alpha/session-alpha/chat.jsonl");
    for (from, to) in [
        ("session-basic-v2.1.233.jsonl", &basic),
        ("SYNTHETIC-minimal.jsonl", &minimal),
    ] {
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(fixture(from), to).unwrap();
    }
    temp
}

fn projects(config: &Path) -> Vec<PathBuf> {
    claude_code::projects_dirs(Some(config)).unwrap()
}

fn everything(store: &Store) -> Vec<UsageRecord> {
    let from = DateTime::<Utc>::from_timestamp_millis(0).unwrap();
    let to = DateTime::<Utc>::from_timestamp_millis(4_102_444_800_000).unwrap(); // 2100
    store.usage_between(from, to).unwrap()
}

fn sum(records: &[UsageRecord]) -> TokenCounts {
    let mut total = TokenCounts::default();
    for record in records {
        total.add(&record.tokens);
    }
    total
}

/// The ledger in a canonical order, for comparing two stores row by row.
fn canonical(store: &Store) -> Vec<UsageRecord> {
    let mut rows = everything(store);
    rows.sort_by(|a, b| {
        (a.message_id.as_deref(), a.request_id.as_deref(), a.at).cmp(&(
            b.message_id.as_deref(),
            b.request_id.as_deref(),
            b.at,
        ))
    });
    rows
}

fn offsets(store: &Store) -> Vec<UsageFileOffset> {
    let mut offsets: Vec<_> = store.usage_file_offsets().unwrap().into_values().collect();
    offsets.sort_by(|a, b| a.path.cmp(&b.path));
    offsets
}

fn append(path: &Path, text: &str) {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

/// A usage line in the shape Claude Code writes.
fn usage_line(message: &str, request: &str, output: u64, second: u32) -> String {
    format!(
        r#"{{"parentUuid":"p","isSidechain":false,"message":{{"model":"claude-sonnet-4-5-20250929","id":"{message}","type":"message","role":"assistant","content":[{{"type":"text","text":"hello"}}],"usage":{{"input_tokens":3,"cache_creation_input_tokens":100,"cache_read_input_tokens":1000,"output_tokens":{output},"service_tier":"standard","cache_creation":{{"ephemeral_1h_input_tokens":60,"ephemeral_5m_input_tokens":40}}}}}},"requestId":"{request}","type":"assistant","uuid":"u-{message}-{output}","timestamp":"2026-08-20T10:{:02}:{:02}.000Z","sessionId":"s","version":"2.1.233"}}"#,
        second / 60 % 60,
        second % 60
    ) + "\n"
}

#[test]
fn the_real_fixtures_give_the_hand_counted_totals() {
    let config = fixtures_config_dir();
    let store = Store::open_in_memory().unwrap();
    let report = claude_code::ingest_all(&store, &projects(config.path())).unwrap();
    assert_eq!(report.files, 2);
    // 11 lines in the real transcript, 3 in the minimal one.
    assert_eq!(report.lines, 14);
    // The real transcript's 5 assistant lines are 2 responses (3 lines + 2 lines); the minimal
    // one's 3 lines are 3 responses.
    assert_eq!(report.records, 8);
    assert_eq!(report.duplicates, 3);
    assert_eq!(report.malformed, 0);
    assert_eq!(report.api_errors, 0);

    let rows = everything(&store);
    assert_eq!(rows.len(), 5);
    let basic: Vec<_> = rows
        .iter()
        .filter(|r| r.project.as_deref() == Some("-fixture-basic"))
        .cloned()
        .collect();
    // msg_011CeDqKnDd2… : in 10, out 135, 1h write 9907, read 22820;
    // msg_011CeDqM4fc8… : in 8, out 177, 1h write 1914, read 32727.
    assert_eq!(
        sum(&basic),
        TokenCounts {
            input: 18,
            output: 312,
            cache_write_5m: 0,
            cache_write_1h: 11_821,
            cache_read: 55_547,
        }
    );
    assert!(basic.iter().all(|r| r.model == "claude-haiku-4-5-20251001"
        && r.service_tier.as_deref() == Some("standard")
        && r.session_id.as_deref() == Some("9c42ba52-3bf1-449f-a040-8ee33284a1c8")
        && r.request_id
            .as_deref()
            .is_some_and(|id| id.starts_with("req_011C"))
        && !r.is_sidechain));

    let minimal: Vec<_> = rows
        .iter()
        .filter(|r| r.project.as_deref() == Some("project-alpha"))
        .cloned()
        .collect();
    // No split in these lines: all creation counts as 5-minute writes.
    assert_eq!(
        sum(&minimal),
        TokenCounts {
            input: 600,
            output: 250,
            cache_write_5m: 75,
            cache_write_1h: 0,
            cache_read: 70,
        }
    );
    let cost: f64 = minimal.iter().filter_map(|r| r.reported_cost_usd).sum();
    assert!((cost - 1.02).abs() < 1e-9);
    let models: Vec<_> = minimal.iter().map(|r| r.model.as_str()).collect();
    assert_eq!(
        models,
        [
            "claude-sonnet-4-20250514",
            "claude-opus-4-20250514-fast",
            "claude-sonnet-4-20250514"
        ]
    );
    assert!(minimal
        .iter()
        .all(|r| r.session_id.as_deref() == Some("session-alpha")));
}

#[test]
fn malformed_lines_are_counted_not_fatal() {
    let temp = tempfile::tempdir().unwrap();
    let file = temp.path().join("projects/p/s.jsonl");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let mut text = usage_line("msg_a", "req_a", 10, 1);
    text.push_str("{\"type\":\"assistant\",\"message\":{\"usage\":{\"input_tokens\":1,\n");
    text.push_str("not json and not usage\n");
    text.push_str("{\"type\":\"user\",\"message\":{\"role\":\"user\",\"content\":\"hi\"}}\n");
    text.push_str("{\"type\":\"summary\",\"summary\":\"x\",\"leafUuid\":\"y\"}\n");
    text.push_str(&usage_line("msg_b", "req_b", 20, 2));
    std::fs::write(&file, text).unwrap();
    let store = Store::open_in_memory().unwrap();
    let report = claude_code::ingest_all(&store, &projects(temp.path())).unwrap();
    assert_eq!((report.lines, report.records, report.malformed), (6, 2, 1));
    assert_eq!(everything(&store).len(), 2);
}

#[test]
fn a_restart_resumes_from_the_offsets_and_a_partial_line_waits() {
    let temp = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let database = Store::default_path(data.path());
    let file = temp.path().join("projects/p/s.jsonl");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let dirs = projects(temp.path());

    // Two lines of one response and half of the next response's line.
    let complete = usage_line("msg_1", "req_1", 5, 1) + &usage_line("msg_1", "req_1", 50, 2);
    let partial = usage_line("msg_2", "req_2", 70, 3);
    let (head, tail) = partial.split_at(partial.len() / 2);
    std::fs::write(&file, format!("{complete}{head}")).unwrap();
    {
        let store = Store::open(&database).unwrap();
        let report = claude_code::ingest_all(&store, &dirs).unwrap();
        assert_eq!((report.lines, report.records, report.malformed), (2, 2, 0));
        assert_eq!(everything(&store).len(), 1);
        assert_eq!(offsets(&store)[0].offset, complete.len() as u64);
    }
    // The writer finishes the line and adds one more response; a new process reads on.
    append(&file, tail);
    append(&file, &usage_line("msg_3", "req_3", 30, 4));
    let store = Store::open(&database).unwrap();
    let report = claude_code::ingest_all(&store, &dirs).unwrap();
    assert_eq!((report.lines, report.records, report.malformed), (2, 2, 0));
    let rows = everything(&store);
    let outputs: Vec<_> = rows.iter().map(|r| r.tokens.output).collect();
    assert_eq!(outputs, [50, 70, 30]);
    // Nothing new: nothing read.
    let report = claude_code::ingest_all(&store, &dirs).unwrap();
    assert_eq!((report.files_read, report.lines, report.bytes), (0, 0, 0));
    assert_eq!(everything(&store), rows);
}

#[test]
fn a_truncated_or_replaced_file_is_read_again_without_double_counting() {
    let temp = tempfile::tempdir().unwrap();
    let file = temp.path().join("projects/p/s.jsonl");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let dirs = projects(temp.path());
    let store = Store::open_in_memory().unwrap();
    let first = usage_line("msg_1", "req_1", 10, 1) + &usage_line("msg_2", "req_2", 20, 2);
    std::fs::write(&file, &first).unwrap();
    claude_code::ingest_all(&store, &dirs).unwrap();
    assert_eq!(everything(&store).len(), 2);

    // Truncated to something shorter: read from the start again.
    std::fs::write(&file, usage_line("msg_1", "req_1", 10, 1)).unwrap();
    let report = claude_code::ingest_all(&store, &dirs).unwrap();
    assert_eq!(
        (report.files_reset, report.records, report.duplicates),
        (1, 1, 1)
    );
    assert_eq!(everything(&store).len(), 2);

    // Replaced by a new file (another inode) that is longer than the old offset: rotated logs
    // and editors that save by renaming look like this.
    let replacement = temp.path().join("projects/p/s.jsonl.new");
    let rotated = first.clone() + &usage_line("msg_3", "req_3", 30, 3);
    std::fs::write(&replacement, &rotated).unwrap();
    std::fs::rename(&replacement, &file).unwrap();
    let report = claude_code::ingest_all(&store, &dirs).unwrap();
    if cfg!(unix) {
        assert_eq!(report.files_reset, 1);
        assert_eq!((report.records, report.duplicates), (3, 2));
    }
    let outputs: Vec<_> = everything(&store).iter().map(|r| r.tokens.output).collect();
    assert_eq!(outputs, [10, 20, 30]);
}

#[test]
fn a_line_with_more_tokens_replaces_the_row_in_a_later_ingest() {
    let temp = tempfile::tempdir().unwrap();
    let file = temp.path().join("projects/p/s.jsonl");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let dirs = projects(temp.path());
    let store = Store::open_in_memory().unwrap();
    std::fs::write(&file, usage_line("msg_1", "req_1", 1, 1)).unwrap();
    claude_code::ingest_all(&store, &dirs).unwrap();
    append(&file, &usage_line("msg_1", "req_1", 400, 2));
    append(&file, &usage_line("msg_1", "req_1", 400, 3));
    let report = claude_code::ingest_all(&store, &dirs).unwrap();
    assert_eq!((report.records, report.duplicates), (2, 2));
    let rows = everything(&store);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].tokens.output, 400);
    // The tie kept the first of the two 400-token lines.
    assert_eq!(rows[0].at.format("%S").to_string(), "02");
}

/// Writes `files` transcripts of `responses` responses each, every response as three lines.
fn write_big_set(config: &Path, files: usize, responses: usize) {
    for f in 0..files {
        let path = config.join(format!("projects/p{}/s{f}.jsonl", f % 7));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut text = String::with_capacity(responses * 3 * 700);
        for r in 0..responses {
            let message = format!("msg_{f}_{r}");
            let request = format!("req_{f}_{r}");
            for part in 1..=3u64 {
                text.push_str(&usage_line(
                    &message,
                    &request,
                    part * (r as u64 + 1),
                    r as u32,
                ));
            }
            if r % 50 == 0 {
                text.push_str(&format!(
                    r#"{{"type":"user","message":{{"role":"user","content":"{}"}},"timestamp":"2026-08-20T10:00:00.000Z"}}"#,
                    "x".repeat(2_000)
                ));
                text.push('\n');
            }
        }
        std::fs::write(path, text).unwrap();
    }
}

const CHILD_ENV: &str = "CLAUDE_STATUS_TEST_INGEST_CHILD";

/// Not a test of its own: the child process of `kill_nine_during_ingest_loses_nothing`, which
/// runs this test binary again with `CHILD_ENV` set to `<config dir>|<database>`.
#[test]
fn ingest_child_process() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (config, database) = spec.split_once('|').unwrap();
    let store = Store::open(Path::new(database)).unwrap();
    claude_code::ingest_all(&store, &projects(Path::new(config))).unwrap();
}

#[test]
fn kill_nine_during_ingest_loses_nothing() {
    let config = tempfile::tempdir().unwrap();
    // About 60 MB, 120 000 lines, 40 000 requests: 8 batches, seconds of work for a debug build.
    write_big_set(config.path(), 40, 1_000);
    let dirs = projects(config.path());
    let data = tempfile::tempdir().unwrap();
    let database = Store::default_path(data.path());
    let reader = Store::open(&database).unwrap();

    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "ingest_child_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(
            CHILD_ENV,
            format!("{}|{}", config.path().display(), database.display()),
        )
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it as soon as some batches are committed, while it is still writing.
    let deadline = Instant::now() + Duration::from_secs(120);
    let killed_at_rows = loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the child finished ({status}) before it could be killed; make the set larger");
        }
        let rows = reader.usage_record_count().unwrap();
        if rows >= 5_000 {
            child.kill().unwrap(); // SIGKILL on Unix.
            child.wait().unwrap();
            break rows;
        }
        assert!(Instant::now() < deadline, "the child wrote nothing in time");
        std::thread::sleep(Duration::from_millis(5));
    };
    let after_kill = reader.usage_record_count().unwrap();
    assert!(after_kill >= killed_at_rows);
    assert!(
        after_kill < 40_000,
        "the kill came too late to test anything"
    );

    // Finish in this process, then compare with a clean single ingest.
    let resumed = Store::open(&database).unwrap();
    claude_code::ingest_all(&resumed, &dirs).unwrap();
    let clean = Store::open_in_memory().unwrap();
    let report: IngestReport = claude_code::ingest_all(&clean, &dirs).unwrap();
    assert_eq!(report.records, 40 * 1_000 * 3);
    assert_eq!(clean.usage_record_count().unwrap(), 40_000);
    assert_eq!(canonical(&resumed), canonical(&clean));
    let strip = |offsets: Vec<UsageFileOffset>| -> Vec<(PathBuf, u64)> {
        offsets.into_iter().map(|o| (o.path, o.offset)).collect()
    };
    assert_eq!(strip(offsets(&resumed)), strip(offsets(&clean)));
}

/// One transcript `projects/p/s.jsonl` holding one old line: (temp dir, file, store).
fn one_transcript() -> (tempfile::TempDir, PathBuf, Arc<Store>) {
    let temp = tempfile::tempdir().unwrap();
    let file = temp.path().join("projects/p/s.jsonl");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, usage_line("msg_old", "req_old", 1, 1)).unwrap();
    (temp, file, Arc::new(Store::open_in_memory().unwrap()))
}

/// Follows `root`'s projects folder (rescans only on events) until the token is cancelled.
fn start_follow(
    root: &Path,
    store: &Arc<Store>,
    send_catch_up: bool,
) -> (
    tokio::task::JoinHandle<claude_status_engine::Result<()>>,
    tokio::sync::mpsc::Receiver<Vec<claude_status_core::usage::UsageRecord>>,
    CancellationToken,
) {
    let (sender, receiver) = tokio::sync::mpsc::channel(8);
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(claude_code::follow_with(
        Arc::clone(store),
        projects(root),
        FollowConfig {
            debounce: Duration::from_millis(200),
            rescan_every: Duration::from_secs(3_600),
            send_catch_up,
        },
        sender,
        shutdown.clone(),
    ));
    (task, receiver, shutdown)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_sees_an_appended_line_within_a_second() {
    let (temp, file, store) = one_transcript();
    let (task, mut receiver, shutdown) = start_follow(temp.path(), &store, false);
    // The catch-up ingest reads the existing line without sending it.
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.usage_record_count().unwrap() == 0 {
        assert!(Instant::now() < deadline, "the catch-up ingest did not run");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Give the watch a moment to be in place (it is set up before the catch-up, so this is slack).
    tokio::time::sleep(Duration::from_millis(100)).await;

    let appended = Instant::now();
    append(&file, &usage_line("msg_new", "req_new", 42, 2));
    let batch = tokio::time::timeout(Duration::from_secs(2), receiver.recv())
        .await
        .expect("no batch within 2 s of the append")
        .unwrap();
    let latency = appended.elapsed();
    assert_eq!(batch.len(), 1);
    assert_eq!(batch[0].message_id.as_deref(), Some("msg_new"));
    assert_eq!(batch[0].tokens.output, 42);
    assert!(
        latency < Duration::from_millis(1_500),
        "took {latency:?} to follow one line"
    );
    assert_eq!(store.usage_record_count().unwrap(), 2);

    shutdown.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_written_between_the_history_read_and_the_follow_is_sent() {
    // The monitor's source reads the history itself, then starts following: a line written in
    // between is in the follower's catch-up, and is new.
    let (temp, file, store) = one_transcript();
    claude_code::ingest_all(&store, &projects(temp.path())).unwrap();
    append(&file, &usage_line("msg_between", "req_between", 42, 2));
    let (task, mut receiver, shutdown) = start_follow(temp.path(), &store, true);
    let batch = tokio::time::timeout(Duration::from_secs(5), receiver.recv())
        .await
        .expect("the line written in between was not sent")
        .unwrap();
    let ids: Vec<_> = batch.iter().map(|r| r.message_id.as_deref()).collect();
    assert_eq!(
        ids,
        [Some("msg_between")],
        "only the new line, not the history"
    );
    assert_eq!(store.usage_record_count().unwrap(), 2);
    shutdown.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_picks_up_a_second_projects_folder_created_later() {
    let temp = tempfile::tempdir().unwrap();
    let projects_dir = temp.path().join("projects");
    std::fs::create_dir_all(&projects_dir).unwrap();
    let store = Arc::new(Store::open_in_memory().unwrap());
    let (sender, mut receiver) = tokio::sync::mpsc::channel(8);
    let shutdown = CancellationToken::new();
    // A second projects folder that does not exist when following starts: its parent's watch
    // or, failing that, the rescan (every 300 ms here) finds it.
    let unwatched = tempfile::tempdir().unwrap();
    let task = tokio::spawn(claude_code::follow_with(
        Arc::clone(&store),
        vec![projects_dir.clone(), unwatched.path().join("projects")],
        FollowConfig {
            debounce: Duration::from_millis(50),
            rescan_every: Duration::from_millis(300),
            send_catch_up: false,
        },
        sender,
        shutdown.clone(),
    ));
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The second directory appears after follow started.
    let late = unwatched.path().join("projects/p/s.jsonl");
    std::fs::create_dir_all(late.parent().unwrap()).unwrap();
    std::fs::write(&late, usage_line("msg_late", "req_late", 7, 1)).unwrap();
    let batch = tokio::time::timeout(Duration::from_secs(5), receiver.recv())
        .await
        .expect("the new folder was not picked up")
        .unwrap();
    assert_eq!(batch[0].message_id.as_deref(), Some("msg_late"));
    shutdown.cancel();
    task.await.unwrap().unwrap();
}

/// The app installed before Claude Code's first run: neither `~/.claude` nor its `projects`
/// folder exists when following starts, and the rescan is an hour away. The first session's
/// transcript is read once the folders appear, not at the next rescan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_reads_a_projects_folder_that_appears_later_at_once() {
    let home = tempfile::tempdir().unwrap();
    let projects_dir = home.path().join(".claude/projects");
    let store = Arc::new(Store::open_in_memory().unwrap());
    let (sender, mut receiver) = tokio::sync::mpsc::channel(8);
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(claude_code::follow_with(
        Arc::clone(&store),
        vec![projects_dir.clone()],
        FollowConfig {
            debounce: Duration::from_millis(50),
            rescan_every: Duration::from_secs(3_600),
            send_catch_up: false,
        },
        sender,
        shutdown.clone(),
    ));
    // Let the catch-up (of nothing) and the parent's watch be set up.
    tokio::time::sleep(Duration::from_millis(300)).await;
    std::fs::create_dir(home.path().join(".claude")).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let transcript = projects_dir.join("-home-user-p/s.jsonl");
    std::fs::create_dir_all(transcript.parent().unwrap()).unwrap();
    std::fs::write(&transcript, usage_line("msg_first", "req_first", 5, 1)).unwrap();
    let batch = tokio::time::timeout(Duration::from_secs(10), receiver.recv())
        .await
        .expect("the new projects folder was not read before the rescan")
        .unwrap();
    assert_eq!(batch[0].message_id.as_deref(), Some("msg_first"));
    // Once watched, it is followed as any other.
    append(&transcript, &usage_line("msg_second", "req_second", 6, 1));
    let batch = tokio::time::timeout(Duration::from_secs(10), receiver.recv())
        .await
        .expect("the line appended to the new transcript was not followed")
        .unwrap();
    assert_eq!(batch[0].message_id.as_deref(), Some("msg_second"));
    shutdown.cancel();
    task.await.unwrap().unwrap();
}

#[test]
fn lines_longer_than_a_read_block_and_files_of_many_blocks_are_read_whole() {
    let temp = tempfile::tempdir().unwrap();
    let file = temp.path().join("projects/p/s.jsonl");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    // A tool result of 3 MiB (three read blocks) on one line, between two responses, then enough
    // responses to fill several blocks, the last line without its newline.
    let huge = format!(
        r#"{{"type":"user","message":{{"role":"user","content":"{}"}},"timestamp":"2026-08-20T10:00:00.000Z"}}"#,
        "x".repeat(3 << 20)
    ) + "\n";
    let mut text = usage_line("msg_a", "req_a", 7, 0) + &huge + &usage_line("msg_b", "req_b", 8, 1);
    let mut expected_output = 15;
    let mut n = 0;
    while text.len() < 5 << 20 {
        n += 1;
        text += &format!(
            r#"{{"type":"user","message":{{"role":"user","content":"{}"}},"timestamp":"2026-08-20T10:00:00.000Z"}}"#,
            "y".repeat(50_000)
        );
        text += "\n";
        text += &usage_line(&format!("msg_{n}"), &format!("req_{n}"), 1, n % 3600);
        expected_output += 1;
    }
    let text = text.trim_end_matches('\n').to_owned();
    std::fs::write(&file, &text).unwrap();

    let store = Store::open_in_memory().unwrap();
    let report = claude_code::ingest_all(&store, &projects(temp.path())).unwrap();
    assert_eq!(report.malformed, 0);
    assert_eq!(report.bytes, text.len() as u64);
    let rows = everything(&store);
    assert_eq!(rows.len() as u32, n + 2);
    assert_eq!(sum(&rows).output, expected_output);
    assert_eq!(offsets(&store)[0].offset, text.len() as u64);
}

#[test]
fn a_line_over_the_limit_is_skipped_to_its_end_once_even_across_ingests() {
    let temp = tempfile::tempdir().unwrap();
    let file = temp.path().join("projects/p/s.jsonl");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let dirs = projects(temp.path());
    let store = Store::open_in_memory().unwrap();
    // A valid line, then the start of a line past the limit that looks like usage and has no
    // newline yet: the valid line counts, the long one is skipped to the end of the file.
    let over = claude_code::MAX_LINE_BYTES + (3 << 20);
    let head = r#"{"type":"assistant","message":{"usage":{"input_tokens":1,"output_tokens":1},"content":""#;
    let mut text = usage_line("msg_1", "req_1", 1, 1) + head;
    text.push_str(&"x".repeat(over));
    std::fs::write(&file, &text).unwrap();
    let report = claude_code::ingest_all(&store, &dirs).unwrap();
    assert_eq!(
        (report.records, report.oversized, report.malformed),
        (1, 1, 0)
    );
    assert_eq!(report.bytes, text.len() as u64);
    assert_eq!(offsets(&store)[0].offset, text.len() as u64);

    // More of the same line: the next ingest resumes inside it, skips on without counting it
    // again, and reads the lines after its end.
    let tail = "y".repeat(2 << 20) + "\"},\"timestamp\":\"2026-08-20T10:00:00.000Z\"}\n";
    append(&file, &tail);
    append(&file, &usage_line("msg_2", "req_2", 2, 2));
    let report = claude_code::ingest_all(&store, &dirs).unwrap();
    assert_eq!(
        (report.records, report.oversized, report.malformed),
        (1, 0, 0)
    );
    let outputs: Vec<_> = everything(&store).iter().map(|r| r.tokens.output).collect();
    assert_eq!(outputs, [1, 2]);

    // A finished line over the limit between two valid ones, read in one go.
    let finished = format!("{head}{}\"}}}}\n", "z".repeat(over));
    append(&file, &finished);
    append(&file, &usage_line("msg_3", "req_3", 3, 3));
    let report = claude_code::ingest_all(&store, &dirs).unwrap();
    assert_eq!(
        (report.records, report.oversized, report.malformed),
        (1, 1, 0)
    );
    let outputs: Vec<_> = everything(&store).iter().map(|r| r.tokens.output).collect();
    assert_eq!(outputs, [1, 2, 3]);
    let size = std::fs::metadata(&file).unwrap().len();
    assert_eq!(offsets(&store)[0].offset, size);
    let report = claude_code::ingest_all(&store, &dirs).unwrap();
    assert_eq!((report.files_read, report.bytes), (0, 0));
}
