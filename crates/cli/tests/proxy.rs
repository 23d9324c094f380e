//! `claude-status proxy`, the real binary: it refuses a non-loopback address without
//! `--allow-remote`, warns with it, forwards requests to a simulator, prints and stores what it
//! metered, and never prints or stores the API key.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

mod support;

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use claude_status_core::usage::UsageSource;
use claude_status_engine::Store;
use claude_status_simulator::{Clock, Simulator};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_claude-status");
/// A key that must never appear in any output or file.
const SECRET: &str = "sk-ant-api03-proxy.secret.for.tests";

fn proxy(data_dir: &Path) -> Command {
    let mut command = Command::new(BIN);
    command.arg("--data-dir").arg(data_dir).arg("proxy");
    for variable in [
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_BASE_URL",
        "CLAUDE_STATUS_UPSTREAM",
        "CLAUDE_STATUS_DATA_DIR",
    ] {
        command.env_remove(variable);
    }
    command
        .env("CLAUDE_STATUS_LOG", "trace")
        .env("NO_COLOR", "1");
    command
}

/// Runs to the end, bounded, reading the pipes as it goes: (exit code, stdout, stderr).
fn finish(child: std::process::Child) -> (Option<i32>, String, String) {
    let (code, stdout, stderr) = support::finish_reading(child);
    (Some(code).filter(|code| *code != -1), stdout, stderr)
}

#[test]
fn a_remote_address_needs_the_flag() {
    let data = tempfile::tempdir().unwrap();
    let child = proxy(data.path())
        .args(["--bind", "0.0.0.0", "--port", "0", "--no-history"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (code, stdout, stderr) = finish(child);
    assert_eq!(code, Some(64), "a usage error: {stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("refusing to listen on 0.0.0.0"), "{stderr}");
    assert!(stderr.contains("--allow-remote"), "{stderr}");

    let child = proxy(data.path())
        .args([
            "--bind",
            "0.0.0.0",
            "--port",
            "0",
            "--allow-remote",
            "--no-history",
        ])
        .args(["--for", "300ms"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (code, stdout, stderr) = finish(child);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("listening on http://0.0.0.0:"), "{stdout}");
    assert!(
        stderr.contains("warning: the gateway listens on 0.0.0.0"),
        "{stderr}"
    );
}

/// Sends one request and returns (status, raw body).
fn request(base: &str, body: &str) -> (u16, String) {
    support::post_message(base, SECRET, body)
}

#[test]
fn forwards_meters_prints_and_stores_without_the_key() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let sim = runtime
        .block_on(
            Simulator::new("healthy")
                .clock(Clock::Manual)
                .time_to_first_token(Duration::from_millis(5))
                .token_interval(Duration::ZERO)
                .start(),
        )
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut child = proxy(data.path())
        .args(["--port", "0", "--upstream", &sim.base_url(), "--json-lines"])
        .args(["--for", "4s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let base = first
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .unwrap()
        .trim_end_matches(',')
        .to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{first}");

    let (status, json_answer) = request(
        &base,
        r#"{"model":"claude-sonnet-4-6","max_tokens":4,"messages":[{"role":"user","content":"hi"}]}"#,
    );
    assert_eq!(status, 200, "{json_answer}");
    let (status, stream_answer) = request(
        &base,
        r#"{"model":"claude-opus-4-6","max_tokens":4,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#,
    );
    assert_eq!(status, 200);
    assert!(
        stream_answer.contains("event: message_stop"),
        "{stream_answer}"
    );

    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    child.stdout = None;
    let (code, _, stderr) = finish(child);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        rest.contains("export ANTHROPIC_BASE_URL=http://127.0.0.1:"),
        "{rest}"
    );
    let records: Vec<Value> = rest
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(records.len(), 2, "{rest}");
    let models: Vec<&str> = records
        .iter()
        .map(|r| r["model"].as_str().unwrap())
        .collect();
    assert!(models.contains(&"claude-sonnet-4-6") && models.contains(&"claude-opus-4-6"));
    assert!(records
        .iter()
        .all(|r| r["status"] == 200 && r["source"] == "gateway"));
    assert!(records.iter().any(|r| r["ttft_ms"].is_u64()));
    assert!(
        stderr.contains("claude-status proxy: 2 requests (ok 2"),
        "{stderr}"
    );

    // Stored in the ledger the other commands read, and the key is nowhere.
    let path = Store::default_path(data.path());
    let store = Store::open(&path).unwrap();
    let stored = store
        .usage_between(
            chrono::Utc::now() - chrono::Duration::hours(1),
            chrono::Utc::now() + chrono::Duration::hours(1),
        )
        .unwrap();
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().all(|r| r.source == UsageSource::Gateway));
    drop(store);
    for text in [&first, &rest, &stderr] {
        assert!(!text.contains(SECRET), "the key leaked: {text}");
    }
    for path in support::files_under(data.path()) {
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
            "the key is in a data file"
        );
    }
    runtime.block_on(sim.shutdown());
}

#[test]
fn a_fallback_chain_it_cannot_use_is_refused_before_it_listens() {
    let data = tempfile::tempdir().unwrap();
    let refused = |args: &[&str]| {
        let child = proxy(data.path())
            .args(["--port", "0", "--no-history", "--for", "5s"])
            .args(args)
            .env_remove("OPENAI_API_KEY")
            .env_remove("OPENAI_BASE_URL")
            // No keychain here: the Secret Service is not on this bus.
            .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (code, stdout, stderr) = finish(child);
        assert_ne!(code, Some(0), "{args:?} was accepted: {stdout}");
        assert!(!stdout.contains("listening"), "{stdout}");
        stderr
    };
    let stderr = refused(&["--fallback", "claude-opus-5-5,openai:gpt-4o"]);
    assert!(stderr.contains("OPENAI_API_KEY"), "{stderr}");
    let stderr = refused(&["--fallback", "openai:gpt-4o,claude-opus-5-5"]);
    assert!(stderr.contains("starts at the Claude model"), "{stderr}");
    let stderr = refused(&[
        "--fallback",
        "claude-opus-5-5,openai-compatible:local:llama3",
    ]);
    assert!(stderr.contains("--provider"), "{stderr}");
    let stderr = refused(&[
        "--fallback",
        "claude-opus-5-5,openai-compatible:local:llama3",
        "--provider",
        "Local=http://127.0.0.1:1/v1",
    ]);
    assert!(stderr.contains("a name is lower-case"), "{stderr}");
}
