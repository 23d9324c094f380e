//! The real `claude-status usage blocks` on a generated Claude Code folder: the blocks, gaps,
//! active block, burn rate and projection that ccusage's rules give for the same lines (worked
//! out by hand below), in the JSON and in the table, labelled "estimated".
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use std::path::Path;
use std::process::{Command, Stdio};

use chrono::{DateTime, Duration, DurationRound, SecondsFormat, TimeDelta, Utc};
use claude_status_core::catalog::Catalog;
use claude_status_core::cost::cost_of;
use claude_status_core::usage::TokenCounts;
use serde_json::Value;

mod support;

const BIN: &str = env!("CARGO_BIN_EXE_claude-status");
/// No run of the binary may take longer than this.
const SONNET: &str = "claude-sonnet-4-5-20250929";
const UNPRICED: &str = "claude-mystery-9";

/// One assistant line as Claude Code writes it.
fn line(at: DateTime<Utc>, id: u32, model: &str, tokens: &TokenCounts) -> String {
    serde_json::json!({
        "parentUuid": "p",
        "isSidechain": false,
        "message": {
            "model": model,
            "id": format!("msg_{id}"),
            "type": "message",
            "role": "assistant",
            "content": [{"type": "text", "text": "hello"}],
            "usage": {
                "input_tokens": tokens.input,
                "cache_creation_input_tokens": tokens.cache_write_5m,
                "cache_read_input_tokens": tokens.cache_read,
                "output_tokens": tokens.output,
                "service_tier": "standard"
            }
        },
        "requestId": format!("req_{id}"),
        "type": "assistant",
        "uuid": format!("u-{id}-{}", tokens.output),
        "timestamp": at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "sessionId": "s",
        "version": "2.1.233"
    })
    .to_string()
}

fn tokens(input: u64, output: u64, cache_read: u64) -> TokenCounts {
    TokenCounts {
        input,
        output,
        cache_read,
        ..TokenCounts::default()
    }
}

/// The binary in a private environment: this Claude config folder, a data folder of its own (so
/// no service socket is found and none is used), no override catalog, no colour.
fn usage_blocks(home: &Path, config: &Path, data: &Path, extra: &[&str]) -> (i32, String, String) {
    let mut command = Command::new(BIN);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("CLAUDE_CONFIG_DIR", config)
        .env("NO_COLOR", "1")
        .arg("--data-dir")
        .arg(data)
        .args(["usage", "blocks", "--timezone", "UTC"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    support::finish_reading(command.spawn().unwrap())
}

fn time(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a time: {value}"))
        .parse()
        .unwrap()
}

fn hour_floor(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(TimeDelta::hours(1)).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn blocks_follow_ccusage_rules_on_real_transcripts() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let config = dir.path().join("claude");
    let data = dir.path().join("data");
    let project = config.join("projects").join("-Users-me-proj");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&project).unwrap();

    // Times relative to now (whole seconds, as the transcripts' milliseconds keep them), so one
    // block is active while the test runs.
    let t0 = Utc::now().duration_trunc(TimeDelta::seconds(1)).unwrap();
    let e0 = t0 - Duration::days(4) - Duration::hours(1);
    let e1 = t0 - Duration::days(4);
    let e2 = t0 - Duration::days(1);
    let e3 = t0 - Duration::hours(2);
    let e4 = t0 - Duration::minutes(30);
    let (k0, k1, k2, k3, k4) = (
        tokens(1_000, 100, 0),
        tokens(2_000, 200, 5_000),
        tokens(3_000, 300, 0),
        tokens(4_000, 400, 0),
        tokens(1_000, 100, 0),
    );
    let first = [
        line(e0, 0, SONNET, &k0),
        line(e1, 1, SONNET, &k1),
        line(e2, 2, SONNET, &k2),
    ];
    // Claude Code writes a streaming reply more than once with a growing count: one entry.
    let second = [
        line(e3, 3, SONNET, &tokens(4_000, 10, 0)),
        line(e3, 3, SONNET, &k3),
        line(e4, 4, UNPRICED, &k4),
    ];
    std::fs::write(project.join("session-a.jsonl"), first.join("\n") + "\n").unwrap();
    std::fs::write(project.join("session-b.jsonl"), second.join("\n") + "\n").unwrap();

    let (code, stdout, stderr) = usage_blocks(&home, &config, &data, &["--json"]);
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["estimated"], true, "{report}");
    assert!(report["basis"].as_str().unwrap().contains("ccusage"));
    let at = time(&report["at"]);
    assert!(at >= t0 && at - t0 < Duration::seconds(40), "{at} vs {t0}");

    // ccusage's rules by hand. e0 opens a block at its hour; e1 is under 5 h after that start, so
    // it joins. e2 is 3 days after e1: a gap from e1 + 5 h to e2, and a block at e2's hour. e3 is
    // 22 h after e2: another gap and a block at e3's hour, which e4 (90 minutes later) joins and
    // which is active now (under 5 h since e4, before its end).
    let five = Duration::hours(5);
    let total = |k: &TokenCounts| k.total();
    let expected = [
        // (start, end, is_gap, entries, total tokens, is_active)
        (
            hour_floor(e0),
            hour_floor(e0) + five,
            false,
            2,
            total(&k0) + total(&k1),
            false,
        ),
        (e1 + five, e2, true, 0, 0, false),
        (
            hour_floor(e2),
            hour_floor(e2) + five,
            false,
            1,
            total(&k2),
            false,
        ),
        (e2 + five, e3, true, 0, 0, false),
        (
            hour_floor(e3),
            hour_floor(e3) + five,
            false,
            2,
            total(&k3) + total(&k4),
            true,
        ),
    ];
    let blocks = report["blocks"].as_array().unwrap();
    let got: Vec<_> = blocks
        .iter()
        .map(|b| {
            (
                time(&b["start"]),
                time(&b["end"]),
                b["is_gap"].as_bool().unwrap(),
                b["entries"].as_u64().unwrap(),
                b["total_tokens"].as_u64().unwrap(),
                b["is_active"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, expected, "{report:#}");
    assert_eq!(total(&k0) + total(&k1), 8_300);
    assert_eq!(blocks[0]["tokens"]["cache_read"], 5_000);
    assert_eq!(time(&blocks[0]["actual_end"]), e1);
    assert_eq!(blocks[1]["id"].as_str().unwrap(), {
        let start = (e1 + five).to_rfc3339_opts(SecondsFormat::Millis, true);
        format!("gap-{start}")
    });
    assert_eq!(
        blocks[4]["models"],
        serde_json::json!(["claude-sonnet-4-5", UNPRICED])
    );

    // Costs: the catalog's prices; the unpriced model is flagged, not counted as $0.
    let catalog = Catalog::builtin();
    let cost = |k: &TokenCounts, model: &str| cost_of(k, model, Some("standard"), &catalog);
    let first_cost = cost(&k0, SONNET).usd + cost(&k1, SONNET).usd;
    assert!(close(blocks[0]["cost_usd"].as_f64().unwrap(), first_cost));
    assert_eq!(blocks[0]["includes_unknown_price"], false);
    assert!(cost(&k4, UNPRICED).unknown_price);
    let active_cost = cost(&k3, SONNET).usd;
    assert!(close(blocks[4]["cost_usd"].as_f64().unwrap(), active_cost));
    assert_eq!(blocks[4]["includes_unknown_price"], true);

    // The active block: burn rate over e3..e4 (90 minutes), projection to the block's end with
    // the minutes left rounded, tokens rounded, cost rounded to the cent.
    let active = &report["active"];
    assert_eq!(active["block"], blocks[4]);
    let rate = &active["burn_rate"];
    let span = 90.0;
    let active_tokens = (total(&k3) + total(&k4)) as f64;
    assert!(close(
        rate["tokens_per_minute"].as_f64().unwrap(),
        active_tokens / span
    ));
    assert!(close(
        rate["tokens_per_minute_for_indicator"].as_f64().unwrap(),
        (k3.input + k3.output + k4.input + k4.output) as f64 / span
    ));
    assert!(close(
        rate["cost_per_hour_usd"].as_f64().unwrap(),
        active_cost / span * 60.0
    ));
    let end = hour_floor(e3) + five;
    let remaining = ((end - at).num_milliseconds() as f64 / 60_000.0).round();
    let projection = &active["projection"];
    assert_eq!(projection["remaining_minutes"].as_f64().unwrap(), remaining);
    assert_eq!(
        projection["total_tokens"].as_u64().unwrap(),
        (active_tokens + active_tokens / span * remaining).round() as u64
    );
    let projected_cost = active_cost + active_cost / span * remaining;
    assert!(close(
        projection["cost_usd"].as_f64().unwrap(),
        (projected_cost * 100.0).round() / 100.0
    ));
    assert_eq!(
        active["minutes_remaining"].as_u64().unwrap(),
        u64::try_from((end - at).num_minutes()).unwrap()
    );

    // `--since` keeps the blocks that start on or after that day, as ccusage filters them.
    let since = e2.date_naive();
    let (code, stdout, stderr) = usage_blocks(
        &home,
        &config,
        &data,
        &["--json", "--since", &since.format("%Y-%m-%d").to_string()],
    );
    assert_eq!(code, 0, "{stderr}");
    let filtered: Value = serde_json::from_str(&stdout).unwrap();
    let starts: Vec<_> = filtered["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| time(&b["start"]))
        .collect();
    let expected_starts: Vec<_> = expected
        .iter()
        .map(|b| b.0)
        .filter(|start| start.date_naive() >= since)
        .collect();
    assert_eq!(starts, expected_starts);
    assert!(!filtered["active"].is_null());

    // `--active` keeps only the active block; `--recent` the last 3 days and the active one.
    let (code, stdout, stderr) = usage_blocks(&home, &config, &data, &["--json", "--active"]);
    assert_eq!(code, 0, "{stderr}");
    let only: Value = serde_json::from_str(&stdout).unwrap();
    let only = only["blocks"].as_array().unwrap();
    assert_eq!(only.len(), 1, "{only:?}");
    assert_eq!(only[0]["is_active"], true);
    let (code, stdout, stderr) = usage_blocks(&home, &config, &data, &["--json", "--recent"]);
    assert_eq!(code, 0, "{stderr}");
    let recent: Value = serde_json::from_str(&stdout).unwrap();
    let recent = recent["blocks"].as_array().unwrap();
    assert!(
        !recent.is_empty() && recent.len() < expected.len(),
        "{recent:?}"
    );
    for block in recent {
        assert!(
            block["is_active"] == true || time(&block["end"]) >= t0 - Duration::days(3),
            "{block}"
        );
    }

    // The table says the same, labelled as an estimate.
    let (code, table, stderr) = usage_blocks(&home, &config, &data, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(table.contains("5-hour blocks (estimated)"), "{table}");
    assert!(table.contains("ccusage's rules"), "{table}");
    let active_row = table
        .lines()
        .find(|l| l.contains("ACTIVE"))
        .unwrap_or_else(|| panic!("no active row:\n{table}"));
    assert!(
        active_row.starts_with(&hour_floor(e3).format("%Y-%m-%d %H:%M").to_string()),
        "{table}"
    );
    assert!(
        active_row.contains("5,500") && active_row.contains('*'),
        "{table}"
    );
    let projected_row = table
        .lines()
        .find(|l| l.contains("PROJECTED"))
        .unwrap_or_else(|| panic!("no projection row:\n{table}"));
    assert!(
        projected_row.contains(&format!("PROJECTED to {}", end.format("%H:%M"))),
        "{table}"
    );
    assert_eq!(table.matches(" gap)").count(), 2, "{table}");
    assert!(table.contains("tokens/min"), "{table}");
    assert!(table.contains("price unknown"), "{table}");
    assert!(table.contains("Times in UTC."), "{table}");
}

#[test]
fn no_transcripts_no_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let config = dir.path().join("claude");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(config.join("projects")).unwrap();

    let (code, stdout, stderr) = usage_blocks(&home, &config, &data, &["--json"]);
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["estimated"], true);
    assert_eq!(report["blocks"], serde_json::json!([]));
    assert!(report["active"].is_null());

    let (code, table, stderr) = usage_blocks(&home, &config, &data, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(table.contains("(estimated)"), "{table}");
    assert!(table.contains("No usage found"), "{table}");
}
