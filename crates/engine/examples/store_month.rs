//! Benchmark: writes a month of probe history at the production rate into a temporary database
//! and reads it back, printing the figures (`cargo run --release -p claude-status-engine --example
//! store_month`).

use std::time::Instant;

use chrono::{TimeZone, Utc};
use claude_status_core::health::{ProbeKind, ProbeResult};
use claude_status_core::probe::{Classification, ProbeOutcome};
use claude_status_engine::Store;

fn probe(
    minute: i64,
    offset_ms: i64,
    kind: ProbeKind,
    outcome: ProbeOutcome,
    confirmation: bool,
) -> ProbeResult {
    let at = Utc
        .timestamp_millis_opt(1_780_000_000_000 + minute * 60_000 + offset_ms)
        .single()
        .unwrap_or_else(Utc::now);
    ProbeResult {
        at,
        kind,
        classification: Classification {
            outcome,
            http_status: Some(if outcome == ProbeOutcome::Ok {
                200
            } else {
                529
            }),
            error_type: None,
            error_message: None,
            request_id: Some("req_011CSHoEeqs5C35K2UUqR7Fy".to_owned()),
            retry_after: None,
            retry_not_before: None,
            detail: "benchmark".to_owned(),
        },
        latency_ms: Some(180),
        message_start_ms: (kind == ProbeKind::Streaming).then_some(400),
        ttft_ms: (kind == ProbeKind::Streaming).then_some(650),
        ratelimit: Default::default(),
        usage: None,
        confirmation,
        // A streamed message asks one model; the model list names none.
        model: (kind == ProbeKind::Streaming).then(|| "claude-opus-5-5".to_owned()),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let directory =
        std::env::temp_dir().join(format!("claude-status-bench-{}", std::process::id()));
    std::fs::create_dir_all(&directory)?;
    let store = Store::open(&Store::default_path(&directory))?;
    // A reachability and a streaming probe every 60 s, and a confirmation of an overloaded model
    // for one minute in ten (overloads are per model, on `POST /v1/messages`).
    let minutes = 30 * 24 * 60;
    let started = Instant::now();
    for minute in 0..minutes {
        store.record_probe(&probe(
            minute,
            0,
            ProbeKind::Reachability,
            ProbeOutcome::Ok,
            false,
        ))?;
        store.record_probe(&probe(
            minute,
            1,
            ProbeKind::Streaming,
            ProbeOutcome::Ok,
            false,
        ))?;
        if minute % 10 == 0 {
            store.record_probe(&probe(
                minute,
                7_000,
                ProbeKind::Streaming,
                ProbeOutcome::Overloaded,
                true,
            ))?;
        }
    }
    let written = started.elapsed();
    let rows = 2 * minutes + minutes / 10;
    let from = Utc
        .timestamp_millis_opt(1_780_000_000_000)
        .single()
        .unwrap_or_else(Utc::now);
    let started = Instant::now();
    let read = store.probes_between(from, from + chrono::Duration::days(31))?;
    let read_time = started.elapsed();
    let size = std::fs::metadata(Store::default_path(&directory))?.len();
    println!(
        "store: {rows} probe rows (a month at 60 s): written one transaction each in {:.2} s ({:.0} µs/row), read back in {:.0} ms, database {:.1} MiB",
        written.as_secs_f64(),
        written.as_secs_f64() * 1e6 / rows as f64,
        read_time.as_secs_f64() * 1e3,
        size as f64 / 1_048_576.0
    );
    assert_eq!(read.len() as i64, rows);
    drop(store);
    std::fs::remove_dir_all(&directory)?;
    Ok(())
}
