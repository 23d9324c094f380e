//! The estimated 5-hour blocks of the Budget view: the last days of Claude Code records from the
//! ledger, deduplicated and cut into blocks by ccusage's rules (`claude_status_core::blocks`).

use chrono::{DateTime, Duration, Utc};
use claude_status_core::blocks::{self, BlocksReport};
use claude_status_core::catalog::Catalog;
use claude_status_core::usage::UsageSource;

use crate::error::Result;
use crate::store::Store;

/// How many days of the ledger the report reads. `--recent` shows 3 days; a week and a day lets
/// the Budget view show a week of blocks whose first one is cut from a full day of history before
/// it, and it bounds the read to what the ledger holds for a week of use.
pub const BLOCKS_LOOKBACK_DAYS: i64 = 8;

/// Records stamped this far past `now` (a clock set wrong on another machine) still count, as in
/// the `usage` tables; anything later is ignored.
const FUTURE_SLACK: Duration = Duration::days(1);

/// The estimated blocks of the last [`BLOCKS_LOOKBACK_DAYS`] days of Claude Code usage, with the
/// active block at `now`.
///
/// ccusage cuts blocks from all of history; the first block here starts at the first record of
/// the window instead, which matters only when use ran without a 5-hour pause across the
/// window's start, and then only for the oldest blocks.
pub fn blocks_report(store: &Store, catalog: &Catalog, now: DateTime<Utc>) -> Result<BlocksReport> {
    let from = now - Duration::days(BLOCKS_LOOKBACK_DAYS);
    let records = store.usage_deduplicated_between_of(
        from,
        now + FUTURE_SLACK,
        Some(UsageSource::ClaudeCode),
    )?;
    Ok(blocks::report(&records, catalog, now))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

    use super::*;
    use chrono::TimeZone;
    use claude_status_core::usage::{TokenCounts, UsageRecord};

    fn record(at: DateTime<Utc>, source: UsageSource, message: &str, input: u64) -> UsageRecord {
        UsageRecord {
            at,
            source,
            model: "claude-sonnet-4-5".to_owned(),
            tokens: TokenCounts {
                input,
                output: 1,
                ..TokenCounts::default()
            },
            status: None,
            latency_ms: None,
            ttft_ms: None,
            service_tier: None,
            message_id: Some(message.to_owned()),
            request_id: Some(format!("req_{message}")),
            session_id: Some("s".to_owned()),
            project: None,
            reported_cost_usd: None,
            is_sidechain: false,
        }
    }

    #[test]
    fn reads_the_last_days_of_claude_code_records_only() {
        let store = Store::open_in_memory().unwrap();
        let now = Utc.with_ymd_and_hms(2026, 8, 21, 12, 0, 0).unwrap();
        let records = [
            // Older than the window.
            record(
                now - Duration::days(9),
                UsageSource::ClaudeCode,
                "m0",
                1_000,
            ),
            record(now - Duration::days(2), UsageSource::ClaudeCode, "m1", 10),
            // Not Claude Code: the plan window is Claude Code's.
            record(now - Duration::minutes(50), UsageSource::Gateway, "m2", 500),
            record(
                now - Duration::minutes(40),
                UsageSource::ClaudeCode,
                "m3",
                20,
            ),
            // The same request seen twice with a growing count: one entry, the larger.
            record(
                now - Duration::minutes(10),
                UsageSource::ClaudeCode,
                "m4",
                5,
            ),
            record(
                now - Duration::minutes(10),
                UsageSource::ClaudeCode,
                "m4",
                30,
            ),
        ];
        store.ingest_batch(&records, &[]).unwrap();
        let report = blocks_report(&store, &Catalog::builtin(), now).unwrap();
        assert!(report.estimated);
        let got: Vec<_> = report
            .blocks
            .iter()
            .map(|b| (b.is_gap, b.entries, b.total_tokens))
            .collect();
        assert_eq!(got, [(false, 1, 11), (true, 0, 0), (false, 2, 52)]);
        let active = report.active.expect("an active block");
        assert_eq!(active.block.start, now - Duration::hours(1));
        assert!(active.burn_rate.is_some());
    }

    #[test]
    fn an_empty_ledger_has_no_blocks() {
        let store = Store::open_in_memory().unwrap();
        let report = blocks_report(&store, &Catalog::builtin(), Utc::now()).unwrap();
        assert!(report.blocks.is_empty() && report.active.is_none());
    }
}
