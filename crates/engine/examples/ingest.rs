//! Ingests Claude Code transcripts into a store and prints the report, for benchmarks until the
//! CLI has a command for it.
//!
//! Usage:
//! - `ingest DIR DATA_DIR`: one ingest of `DIR` (a config directory or a projects directory) into
//!   `DATA_DIR/claude-status.sqlite3`; prints the `IngestReport` as JSON.
//! - `ingest DIR DATA_DIR --follow-latency N`: follows `DIR`, appends N lines to one transcript
//!   one at a time, and prints how long each took to reach the ledger (milliseconds).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use claude_status_engine::claude_code::{self, FollowConfig};
use claude_status_engine::Store;
use tokio_util::sync::CancellationToken;

fn main() -> anyhow_free::Result {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: ingest DIR DATA_DIR [--follow-latency N]");
        std::process::exit(2);
    }
    let dirs = claude_code::projects_dirs(Some(&PathBuf::from(&args[1])))?;
    let store = Store::open(&Store::default_path(&PathBuf::from(&args[2])))?;
    match args.get(3).map(String::as_str) {
        Some("--follow-latency") => {
            let count: usize = args.get(4).and_then(|n| n.parse().ok()).unwrap_or(10);
            follow_latency(Arc::new(store), dirs, count)
        }
        _ => {
            let report = claude_code::ingest_all(&store, &dirs)?;
            println!("{}", serde_json::to_string(&report)?);
            Ok(())
        }
    }
}

fn follow_latency(store: Arc<Store>, dirs: Vec<PathBuf>, count: usize) -> anyhow_free::Result {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let (sender, mut receiver) = tokio::sync::mpsc::channel(16);
        let shutdown = CancellationToken::new();
        let config = FollowConfig::default();
        let task = tokio::spawn(claude_code::follow_with(
            Arc::clone(&store),
            dirs.clone(),
            config,
            sender,
            shutdown.clone(),
        ));
        // Let the catch-up ingest and the watch settle.
        while store.usage_file_offsets()?.is_empty() && !dirs.is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let path = dirs[0].join("latency-probe").join("latency.jsonl");
        std::fs::create_dir_all(path.parent().unwrap_or(&dirs[0]))?;
        std::fs::File::create(&path)?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut latencies = Vec::new();
        for i in 0..count {
            let line = format!(
                r#"{{"type":"assistant","timestamp":"2026-08-20T10:00:{:02}.000Z","sessionId":"latency","requestId":"req_latency_{i}","message":{{"id":"msg_latency_{i}","model":"claude-haiku-4-5-20251001","usage":{{"input_tokens":1,"output_tokens":1}}}}}}"#,
                i % 60
            );
            let started = Instant::now();
            let mut file = std::fs::OpenOptions::new().append(true).open(&path)?;
            writeln!(file, "{line}")?;
            drop(file);
            let wanted = format!("msg_latency_{i}");
            loop {
                let batch = tokio::time::timeout(Duration::from_secs(10), receiver.recv())
                    .await
                    .map_err(|_| std::io::Error::other("no record within 10 s"))?
                    .ok_or_else(|| std::io::Error::other("follow stopped"))?;
                if batch.iter().any(|r| r.message_id.as_deref() == Some(&wanted)) {
                    break;
                }
            }
            latencies.push(started.elapsed().as_secs_f64() * 1000.0);
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        shutdown.cancel();
        let _ = task.await;
        latencies.sort_by(f64::total_cmp);
        let median = latencies[latencies.len() / 2];
        let max = latencies.last().copied().unwrap_or_default();
        println!(
            "{{\"appended\":{count},\"median_ms\":{median:.1},\"max_ms\":{max:.1},\"debounce_ms\":{}}}",
            config.debounce.as_millis()
        );
        Ok(())
    })
}

/// `anyhow` is for binaries, but an example does not need another dependency: a boxed error does.
mod anyhow_free {
    pub type Result = std::result::Result<(), Box<dyn std::error::Error + Send + Sync>>;
}
