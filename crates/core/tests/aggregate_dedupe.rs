//! Deduplication of Claude Code's repeated transcript lines (api-facts F): per (message id,
//! request id) the copy with the most tokens stays, and `/btw` sidechain replays go.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use chrono::{Duration, TimeZone, Utc};
use claude_status_core::aggregate::{daily, dedupe, dedupe_indices, DayZone};
use claude_status_core::catalog::Catalog;
use claude_status_core::usage::{TokenCounts, UsageRecord, UsageSource};

/// A line: (message id, request id, output tokens, reported cost, sidechain, seconds after noon).
type Line = (
    Option<&'static str>,
    Option<&'static str>,
    u64,
    Option<f64>,
    bool,
    i64,
);

fn record(line: &Line) -> UsageRecord {
    let (message, request, output, cost, sidechain, seconds) = *line;
    UsageRecord {
        at: Utc.with_ymd_and_hms(2026, 7, 31, 12, 0, 0).unwrap() + Duration::seconds(seconds),
        source: UsageSource::ClaudeCode,
        model: "claude-opus-4-6".to_owned(),
        tokens: TokenCounts {
            input: 3,
            output,
            cache_write_5m: 100,
            cache_write_1h: 0,
            cache_read: 1_000,
        },
        status: None,
        latency_ms: None,
        ttft_ms: None,
        service_tier: None,
        message_id: message.map(str::to_owned),
        request_id: request.map(str::to_owned),
        session_id: Some("s".to_owned()),
        project: None,
        reported_cost_usd: cost,
        is_sidechain: sidechain,
    }
}

/// Checks which lines (by index) stay.
fn check(lines: &[Line], expected: &[usize]) {
    let records: Vec<UsageRecord> = lines.iter().map(record).collect();
    assert_eq!(dedupe_indices(&records), expected, "{lines:?}");
    let kept = dedupe(records.clone());
    let expected_records: Vec<UsageRecord> = expected.iter().map(|i| records[*i].clone()).collect();
    assert_eq!(kept, expected_records);
}

const M1: Option<&str> = Some("msg_01");
const M2: Option<&str> = Some("msg_02");
const R1: Option<&str> = Some("req_01");
const R2: Option<&str> = Some("req_02");

#[test]
fn streaming_lines_keep_the_largest() {
    // One line per content block; the first carries `output_tokens: 1`, the last the total.
    check(
        &[
            (M1, R1, 1, None, false, 0),
            (M1, R1, 1, None, false, 1),
            (M1, R1, 412, None, false, 2),
        ],
        &[2],
    );
    // The largest wins even when it is not the last.
    check(
        &[(M1, R1, 412, None, false, 0), (M1, R1, 1, None, false, 1)],
        &[0],
    );
    // Two responses interleaved.
    check(
        &[
            (M1, R1, 1, None, false, 0),
            (M2, R2, 1, None, false, 1),
            (M1, R1, 50, None, false, 2),
            (M2, R2, 7, None, false, 3),
        ],
        &[2, 3],
    );
}

#[test]
fn ties_go_to_the_larger_cost_then_the_later_line() {
    check(
        &[
            (M1, R1, 5, Some(0.02), false, 0),
            (M1, R1, 5, Some(0.01), false, 1),
        ],
        &[0],
    );
    check(
        &[
            (M1, R1, 5, None, false, 0),
            (M1, R1, 5, Some(0.01), false, 1),
        ],
        &[1],
    );
    check(
        &[(M1, R1, 5, None, false, 0), (M1, R1, 5, None, false, 1)],
        &[1],
    );
    // Same moment: the later line in the input.
    check(
        &[(M1, R1, 5, None, false, 0), (M1, R1, 5, None, false, 0)],
        &[1],
    );
    // A later timestamp wins even when it came first.
    check(
        &[(M1, R1, 5, None, false, 9), (M1, R1, 5, None, false, 1)],
        &[0],
    );
}

#[test]
fn lines_missing_an_id_are_never_deduplicated() {
    check(
        &[
            (M1, None, 5, None, false, 0),
            (M1, None, 5, None, false, 1),
            (None, R1, 5, None, false, 2),
            (None, None, 5, None, false, 3),
            (None, None, 5, None, false, 3),
        ],
        &[0, 1, 2, 3, 4],
    );
    // The same message id with a different request id is another request.
    check(
        &[(M1, R1, 5, None, false, 0), (M1, R2, 6, None, false, 1)],
        &[0, 1],
    );
}

#[test]
fn sidechain_replays_of_a_parent_message_go() {
    // `/btw` replays the parent's message id with a new request id, marked as sidechain.
    check(
        &[(M1, R1, 5, None, false, 0), (M1, R2, 5, None, true, 1)],
        &[0],
    );
    check(
        &[(M1, R2, 9, None, true, 0), (M1, R1, 5, None, false, 1)],
        &[1],
    );
    // A sidechain (subagent) message of its own stays.
    check(
        &[(M1, R1, 5, None, false, 0), (M2, R2, 5, None, true, 1)],
        &[0, 1],
    );
    // Only sidechain copies: nothing to prefer, both stay.
    check(
        &[(M1, R1, 5, None, true, 0), (M1, R2, 5, None, true, 1)],
        &[0, 1],
    );
}

#[test]
fn deduplicated_totals_match_ccusage_rules() {
    // Three streaming lines of one response count once, with the final output count.
    let lines = [
        (M1, R1, 1, None, false, 0),
        (M1, R1, 1, None, false, 1),
        (M1, R1, 300, None, false, 2),
    ];
    let records = dedupe(lines.iter().map(record).collect());
    let report = daily(&records, &DayZone::utc(), &Catalog::builtin());
    // input + output + cache creation + cache read.
    assert_eq!(report.totals.total_tokens, 3 + 300 + 100 + 1_000);
    let expected = (3.0 * 5.0 + 300.0 * 25.0 + 100.0 * 6.25 + 1_000.0 * 0.5) / 1e6;
    assert!((report.totals.cost_usd - expected).abs() < 1e-12);
}
