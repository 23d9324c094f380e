//! 5-hour usage blocks estimated from Claude Code's transcripts by ccusage's rules, with the
//! active block's burn rate and its projection to the block's end.
//!
//! A subscription's session window is Anthropic's to know; without the status-line feed the
//! nearest estimate is the one Claude Code users already know from `ccusage blocks`, so the rules
//! here are ccusage's, reproduced from its source:
//!
//! - `rust/crates/ccusage/src/blocks.rs` of github.com/ryoppippi/ccusage at commit
//!   `5816e640e8824986f33427203da164b01394a161` (`identify_session_blocks`, `create_block`,
//!   `create_gap_block`, `calculate_burn_rate`, `project_block_usage`), the native CLI that the
//!   npm package ships since 20.x;
//! - `apps/ccusage/src/session-blocks.ts` at commit `fa95686f618d6f91f59aa64eb9107d712eced268`
//!   (`identifySessionBlocks`, `calculateBurnRate`, `projectBlockUsage`, `filterRecentBlocks`),
//!   the TypeScript it was ported from.
//!
//! The rules:
//!
//! 1. Entries are taken oldest first. The first entry opens a block whose start is the entry's
//!    time floored to the UTC hour; a block lasts 5 hours.
//! 2. An entry more than 5 hours after the block's start, or more than 5 hours after the previous
//!    entry, closes the block and opens a new one, floored to its own hour.
//! 3. When the break came from more than 5 hours since the previous entry, a gap block runs from
//!    that entry + 5 hours to the new entry, with nothing in it.
//! 4. A block is active when `now - last entry < 5 h` and `now < start + 5 h`.
//! 5. Burn rate: the block's tokens (all four kinds) per minute and its cost per hour, over the
//!    span from its first to its last entry; none when that span is zero. The "indicator" rate
//!    counts input and output tokens only, as ccusage's.
//! 6. Projection (the active block only): the minutes left to the block's end, rounded to a
//!    whole minute (the Rust port rounds before multiplying; the TypeScript rounded only what it
//!    printed, a difference of at most half a minute of burn); tokens = now + rate × minutes,
//!    rounded; cost = now + rate / 60 × minutes, rounded to the cent.
//! 7. `--recent`: blocks that started in the last 3 days, and the active block whatever its start.
//!
//! Where this differs from ccusage, on purpose: the records are the ledger's deduplicated
//! Claude Code records, so Claude Code's zero-token `<synthetic>` lines (which ccusage keeps as
//! entries, and which can open a block there) and API-error lines are not entries here, as they
//! are not rows in our daily tables either; costs come from our catalog, with a model of unknown
//! price flagged rather than counted as $0; model names are canonical ids, in order of first use.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::aggregate::{is_usage, DayZone, SYNTHETIC_MODEL};
use crate::catalog::Catalog;
use crate::cost::{cost_of_record, CostTotal, PriceSourceUse, SourceTally};
use crate::usage::{TokenCounts, UsageRecord, UsageSource};

/// How long a block lasts, in hours (ccusage's `DEFAULT_SESSION_DURATION_HOURS`).
pub const BLOCK_HOURS: i64 = 5;

/// How many days back `--recent` looks (ccusage's `DEFAULT_RECENT_DAYS`).
pub const RECENT_DAYS: i64 = 3;

/// What every report says about where its blocks come from.
pub const BASIS: &str = "Estimated from Claude Code's transcripts by ccusage's rules: a block \
starts at the hour of its first request and lasts 5 hours, and a request more than 5 hours after \
the block's start or after the previous request starts a new one. Anthropic's own session window \
may start and end at other times.";

/// One 5-hour block, or a gap between two.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Block {
    /// The start in RFC 3339, or `gap-` and the start for a gap, as ccusage names blocks.
    pub id: String,
    /// The first entry's time floored to the UTC hour; for a gap, the previous entry + 5 h.
    pub start: DateTime<Utc>,
    /// `start + 5 h`; for a gap, the next entry's time.
    pub end: DateTime<Utc>,
    /// The first entry; `null` for a gap.
    pub first_entry: Option<DateTime<Utc>>,
    /// The last entry; `null` for a gap.
    pub actual_end: Option<DateTime<Utc>>,
    pub is_active: bool,
    pub is_gap: bool,
    /// The number of requests in the block.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub entries: u64,
    pub tokens: TokenCounts,
    /// `input + output + cache writes + cache reads`, as ccusage's `totalTokens`.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub total_tokens: u64,
    /// USD of every request whose price is known.
    pub cost_usd: f64,
    /// Some request's model has no known price: `cost_usd` is too low.
    pub includes_unknown_price: bool,
    /// Canonical model ids in order of first use, without `<synthetic>`.
    pub models: Vec<String>,
    /// Which source priced each model's part of `cost_usd`, by model (empty for a gap).
    #[serde(default)]
    pub price_sources: Vec<PriceSourceUse>,
}

/// How fast the active block is spending.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BurnRate {
    /// All tokens per minute over the first-to-last-entry span.
    pub tokens_per_minute: f64,
    /// Input and output tokens only per minute, ccusage's basis for its HIGH/MODERATE/NORMAL
    /// indicator (cache tokens would swamp the thresholds).
    pub tokens_per_minute_for_indicator: f64,
    /// USD per hour over the same span.
    pub cost_per_hour_usd: f64,
}

/// Where the active block ends up if the burn rate holds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Projection {
    /// Tokens at the block's end, rounded.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub total_tokens: u64,
    /// USD at the block's end, rounded to the cent.
    pub cost_usd: f64,
    /// The whole minutes left that the projection assumes (rounded).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub remaining_minutes: u64,
}

/// The block that is running now, with its pace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ActiveBlock {
    pub block: Block,
    /// Whole minutes since the block's start (floored, as ccusage prints "Time Elapsed").
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub minutes_elapsed: u64,
    /// Whole minutes to the block's end (floored, as ccusage prints "Time Remaining").
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub minutes_remaining: u64,
    /// `null` while the block's entries span no time (one request so far).
    pub burn_rate: Option<BurnRate>,
    /// `null` when there is no burn rate.
    pub projection: Option<Projection>,
}

/// `claude-status usage blocks` and the Budget view's estimated session blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BlocksReport {
    /// Always true: these blocks are an estimate, not Anthropic's session window.
    pub estimated: bool,
    /// One sentence on how the blocks were made, for the UI to show beside them.
    pub basis: String,
    /// When the report was made (the `now` of the active rule).
    pub at: DateTime<Utc>,
    /// Oldest first, gaps included.
    pub blocks: Vec<Block>,
    /// The active block, when one runs.
    pub active: Option<ActiveBlock>,
}

impl BlocksReport {
    /// Only the blocks that started within the last `days` days, and the active block whatever
    /// its start (ccusage's `--recent`, with 3 days).
    pub fn recent(mut self, days: i64) -> BlocksReport {
        let cutoff = self.at - Duration::days(days);
        self.blocks.retain(|b| b.start >= cutoff || b.is_active);
        self
    }

    /// Only the active block (ccusage's `--active`); no block when none is active.
    pub fn only_active(mut self) -> BlocksReport {
        self.blocks.retain(|b| b.is_active);
        self
    }

    /// Only the blocks whose start falls on a day from `since` to `until` in `zone` (ccusage's
    /// `--since`/`--until`, which filter blocks after they are made, so a filter never moves a
    /// block's start). The active block stays reported in `active` only if it is kept.
    pub fn started_within(
        mut self,
        since: Option<NaiveDate>,
        until: Option<NaiveDate>,
        zone: &DayZone,
    ) -> BlocksReport {
        self.blocks.retain(|b| {
            let day = zone.date_of(b.start);
            since.is_none_or(|s| day >= s) && until.is_none_or(|u| day <= u)
        });
        if !self.blocks.iter().any(|b| b.is_active) {
            self.active = None;
        }
        self
    }
}

/// The blocks of the Claude Code records among `records`, oldest first, with the active one at
/// `now`. Pass deduplicated records (`aggregate::dedupe`); other sources are ignored, because the
/// subscription window is Claude Code's.
pub fn report(records: &[UsageRecord], catalog: &Catalog, now: DateTime<Utc>) -> BlocksReport {
    let blocks = identify(records, catalog, now);
    let active = blocks
        .iter()
        .find(|b| b.is_active && !b.is_gap)
        .map(|b| active_block(b, now));
    BlocksReport {
        estimated: true,
        basis: BASIS.to_owned(),
        at: now,
        blocks,
        active,
    }
}

fn block_length() -> Duration {
    Duration::hours(BLOCK_HOURS)
}

/// The blocks and gaps of the Claude Code usage records, oldest first (rules 1 to 4).
pub fn identify(records: &[UsageRecord], catalog: &Catalog, now: DateTime<Utc>) -> Vec<Block> {
    let mut entries: Vec<&UsageRecord> = records
        .iter()
        .filter(|r| r.source == UsageSource::ClaudeCode && is_usage(r))
        .collect();
    // A stable sort, as ccusage's, so entries of the same instant keep their order.
    entries.sort_by_key(|r| r.at);
    let length = block_length();
    let mut blocks = Vec::new();
    let mut current: Vec<&UsageRecord> = Vec::new();
    let mut start = None;
    for entry in entries {
        if let (Some(block_start), Some(last)) = (start, current.last()) {
            let since_start = entry.at - block_start;
            let since_last = entry.at - last.at;
            if since_start > length || since_last > length {
                let last_at = last.at;
                blocks.push(make_block(
                    block_start,
                    &std::mem::take(&mut current),
                    catalog,
                    now,
                ));
                if since_last > length {
                    blocks.push(gap_block(last_at, entry.at));
                }
                start = Some(floor_to_hour(entry.at));
            }
        } else {
            start = Some(floor_to_hour(entry.at));
        }
        current.push(entry);
    }
    if let Some(block_start) = start {
        if !current.is_empty() {
            blocks.push(make_block(block_start, &current, catalog, now));
        }
    }
    blocks
}

/// The time floored to its UTC hour, as ccusage's `floor_to_hour` (millisecond arithmetic on
/// the Unix epoch, so a zone with a half-hour offset sees blocks start at :30).
fn floor_to_hour(at: DateTime<Utc>) -> DateTime<Utc> {
    let hour = at.timestamp().div_euclid(3600) * 3600;
    Utc.timestamp_opt(hour, 0).single().unwrap_or(at)
}

fn make_block(
    start: DateTime<Utc>,
    entries: &[&UsageRecord],
    catalog: &Catalog,
    now: DateTime<Utc>,
) -> Block {
    let length = block_length();
    let end = start + length;
    let first_entry = entries.first().map(|r| r.at);
    let actual_end = entries.last().map(|r| r.at);
    let is_active = actual_end.is_some_and(|last| now - last < length && now < end);
    let mut tokens = TokenCounts::default();
    let mut cost = CostTotal::default();
    let mut seen = BTreeSet::new();
    let mut models = Vec::new();
    let mut sources = SourceTally::default();
    for record in entries {
        tokens.add(&record.tokens);
        let record_cost = cost_of_record(record, catalog);
        cost.add(&record_cost);
        let model = record.model.trim();
        if model != SYNTHETIC_MODEL && !model.is_empty() {
            let canonical = catalog.normalize(model);
            sources.add(&canonical, &record_cost);
            if seen.insert(canonical.clone()) {
                models.push(canonical);
            }
        }
    }
    Block {
        id: start.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        start,
        end,
        first_entry,
        actual_end,
        is_active,
        is_gap: false,
        entries: entries.len() as u64,
        tokens,
        total_tokens: tokens.total(),
        cost_usd: cost.usd,
        includes_unknown_price: cost.includes_unknown_price,
        models,
        price_sources: sources.finish(catalog),
    }
}

/// The idle stretch between a block's last entry + 5 h and the next entry (rule 3).
fn gap_block(last: DateTime<Utc>, next: DateTime<Utc>) -> Block {
    let start = last + block_length();
    Block {
        id: format!(
            "gap-{}",
            start.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        ),
        start,
        end: next,
        first_entry: None,
        actual_end: None,
        is_active: false,
        is_gap: true,
        entries: 0,
        tokens: TokenCounts::default(),
        total_tokens: 0,
        cost_usd: 0.0,
        includes_unknown_price: false,
        models: Vec::new(),
        price_sources: Vec::new(),
    }
}

fn minutes(delta: Duration) -> f64 {
    delta.num_milliseconds() as f64 / 60_000.0
}

/// The burn rate of a block (rule 5): `None` for a gap, an empty block, or entries that span no
/// time.
pub fn burn_rate(block: &Block) -> Option<BurnRate> {
    if block.is_gap || block.entries == 0 {
        return None;
    }
    let span = minutes(block.actual_end? - block.first_entry?);
    if span <= 0.0 {
        return None;
    }
    let non_cache = (block.tokens.input + block.tokens.output) as f64;
    Some(BurnRate {
        tokens_per_minute: block.total_tokens as f64 / span,
        tokens_per_minute_for_indicator: non_cache / span,
        cost_per_hour_usd: block.cost_usd / span * 60.0,
    })
}

/// The projection of an active block to its end at the current burn rate (rule 6): `None` for a
/// block that is not active or has no burn rate.
pub fn projection(block: &Block, now: DateTime<Utc>) -> Option<Projection> {
    if !block.is_active || block.is_gap {
        return None;
    }
    let rate = burn_rate(block)?;
    let remaining = minutes(block.end - now).max(0.0).round();
    let tokens = block.total_tokens as f64 + rate.tokens_per_minute * remaining;
    let cost = block.cost_usd + rate.cost_per_hour_usd / 60.0 * remaining;
    Some(Projection {
        total_tokens: tokens.round() as u64,
        cost_usd: (cost * 100.0).round() / 100.0,
        remaining_minutes: remaining as u64,
    })
}

fn active_block(block: &Block, now: DateTime<Utc>) -> ActiveBlock {
    let floor_minutes = |delta: Duration| u64::try_from(delta.num_minutes()).unwrap_or(0);
    ActiveBlock {
        block: block.clone(),
        minutes_elapsed: floor_minutes(now - block.start),
        minutes_remaining: floor_minutes(block.end - now),
        burn_rate: burn_rate(block),
        projection: projection(block, now),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

    use super::*;
    use crate::catalog::PriceSourceKind;
    use crate::cost::cost_of_record;

    /// A time on 2026-08-21 (UTC).
    fn at(hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 8, 21, hour, minute, 0).unwrap()
    }

    fn record(when: DateTime<Utc>, model: &str, input: u64, output: u64) -> UsageRecord {
        UsageRecord {
            session_id: Some("s".to_owned()),
            ..UsageRecord::new(
                when,
                UsageSource::ClaudeCode,
                model,
                TokenCounts {
                    input,
                    output,
                    ..TokenCounts::default()
                },
            )
        }
    }

    const SONNET: &str = "claude-sonnet-4-5-20250929";

    /// A record set, the time of the report, and per block `(start, end, is_gap, entries,
    /// total tokens, is_active)`.
    #[allow(clippy::type_complexity)]
    fn check(
        records: &[UsageRecord],
        now: DateTime<Utc>,
        expected: &[(DateTime<Utc>, DateTime<Utc>, bool, u64, u64, bool)],
    ) -> BlocksReport {
        let catalog = Catalog::builtin();
        let report = report(records, &catalog, now);
        let got: Vec<_> = report
            .blocks
            .iter()
            .map(|b| {
                (
                    b.start,
                    b.end,
                    b.is_gap,
                    b.entries,
                    b.total_tokens,
                    b.is_active,
                )
            })
            .collect();
        assert_eq!(got, expected, "{report:#?}");
        assert!(report.estimated);
        assert!(report.basis.contains("ccusage"));
        report
    }

    #[test]
    fn an_empty_set_has_no_blocks() {
        let report = check(&[], at(12, 0), &[]);
        assert_eq!(report.active, None);
        // Records of other sources do not make blocks either.
        let mut gateway = record(at(10, 0), SONNET, 10, 10);
        gateway.source = UsageSource::Gateway;
        let report = check(&[gateway], at(12, 0), &[]);
        assert_eq!(report.active, None);
    }

    #[test]
    fn a_block_says_which_source_priced_its_cost() {
        let records = [
            record(at(9, 0), SONNET, 1_000, 100),
            record(at(9, 10), "claude-fable-5-2", 1_000, 100),
            record(at(9, 20), "claude-nonesuch-9", 1_000, 100),
        ];
        let catalog = Catalog::builtin();
        let block = &report(&records, &catalog, at(10, 0)).blocks[0];
        let kinds: Vec<(&str, Option<PriceSourceKind>, u64)> = block
            .price_sources
            .iter()
            .map(|used| (used.model.as_str(), used.kind, used.records))
            .collect();
        assert_eq!(
            kinds,
            [
                ("claude-fable-5-2", Some(PriceSourceKind::BuiltIn), 1),
                ("claude-nonesuch-9", None, 1),
                (
                    "claude-sonnet-4-5",
                    Some(PriceSourceKind::LitellmBundled),
                    1
                ),
            ]
        );
        let accounted: f64 = block.price_sources.iter().map(|used| used.cost_usd).sum();
        assert!((accounted - block.cost_usd).abs() < 1e-12);
        assert!(block.includes_unknown_price);
    }

    #[test]
    fn one_block_starts_at_the_hour_of_its_first_entry() {
        let records = [
            record(at(9, 47), SONNET, 100, 10),
            record(at(11, 5), SONNET, 200, 20),
            record(at(13, 40), SONNET, 300, 30),
        ];
        // Seen the next day: nothing is active.
        let later = at(23, 0) + Duration::days(1);
        let report = check(
            &records,
            later,
            &[(at(9, 0), at(14, 0), false, 3, 660, false)],
        );
        let block = &report.blocks[0];
        assert_eq!(block.id, "2026-08-21T09:00:00.000Z");
        assert_eq!(block.first_entry, Some(at(9, 47)));
        assert_eq!(block.actual_end, Some(at(13, 40)));
        assert_eq!(block.models, ["claude-sonnet-4-5"]);
        let catalog = Catalog::builtin();
        let expected: f64 = records
            .iter()
            .map(|r| cost_of_record(r, &catalog).usd)
            .sum();
        assert!(expected > 0.0);
        assert!((block.cost_usd - expected).abs() < 1e-12);
        assert!(!block.includes_unknown_price);
        assert_eq!(report.active, None);
    }

    #[test]
    fn the_five_hour_boundary_is_exclusive() {
        let catalog = Catalog::builtin();
        let later = at(0, 0) + Duration::days(2);
        // Exactly 5 h after the block's start stays in it: ccusage splits only on "more than".
        let records = [
            record(at(9, 0), SONNET, 1, 0),
            record(at(14, 0), SONNET, 2, 0),
        ];
        check(
            &records,
            later,
            &[(at(9, 0), at(14, 0), false, 2, 3, false)],
        );
        // One second more starts a new block at 14:00, right where the first ends, and no gap
        // (the previous entry is 4 h 0 min 1 s back).
        let records = [
            record(at(9, 30), SONNET, 1, 0),
            record(at(10, 0), SONNET, 2, 0),
            record(at(14, 0) + Duration::seconds(1), SONNET, 4, 0),
        ];
        check(
            &records,
            later,
            &[
                (at(9, 0), at(14, 0), false, 2, 3, false),
                (at(14, 0), at(19, 0), false, 1, 4, false),
            ],
        );
        // A chain of entries 3 h apart is still cut more than 5 h after the block's start, with
        // no gap between.
        let records: Vec<_> = (0..4)
            .map(|i| record(at(8 + 3 * i, 10), SONNET, 1, 0))
            .collect();
        let report = report(&records, &catalog, later);
        let starts: Vec<_> = report.blocks.iter().map(|b| b.start).collect();
        assert_eq!(starts, [at(8, 0), at(14, 0)]);
        assert!(report.blocks.iter().all(|b| !b.is_gap && b.entries == 2));
    }

    #[test]
    fn a_gap_over_five_hours_makes_a_gap_block() {
        let later = at(0, 0) + Duration::days(2);
        let records = [
            record(at(1, 20), SONNET, 5, 5),
            record(at(2, 10), SONNET, 5, 5),
            // 7 h 35 min after the previous entry.
            record(at(9, 45), SONNET, 7, 3),
        ];
        let report = check(
            &records,
            later,
            &[
                (at(1, 0), at(6, 0), false, 2, 20, false),
                (at(7, 10), at(9, 45), true, 0, 0, false),
                (at(9, 0), at(14, 0), false, 1, 10, false),
            ],
        );
        let gap = &report.blocks[1];
        assert_eq!(gap.id, "gap-2026-08-21T07:10:00.000Z");
        assert_eq!((gap.first_entry, gap.actual_end), (None, None));
        assert!(gap.models.is_empty());
        assert_eq!(burn_rate(gap), None);
        // Exactly 5 h since the previous entry (and more than 5 h since the start) is a new
        // block without a gap.
        let records = [
            record(at(1, 20), SONNET, 5, 5),
            record(at(6, 20), SONNET, 5, 5),
        ];
        check(
            &records,
            later,
            &[
                (at(1, 0), at(6, 0), false, 1, 10, false),
                (at(6, 0), at(11, 0), false, 1, 10, false),
            ],
        );
    }

    #[test]
    fn the_active_block_has_a_burn_rate_and_a_projection() {
        let catalog = Catalog::builtin();
        let records = [
            record(at(10, 5), SONNET, 1_000, 200),
            record(at(10, 35), SONNET, 2_000, 400),
            record(at(11, 5), SONNET, 3_000, 400),
        ];
        let now = at(12, 20) + Duration::seconds(40);
        let report = check(
            &records,
            now,
            &[(at(10, 0), at(15, 0), false, 3, 7_000, true)],
        );
        let active = report.active.expect("an active block");
        assert_eq!(active.block, report.blocks[0]);
        assert_eq!(active.minutes_elapsed, 140);
        assert_eq!(active.minutes_remaining, 159);
        let rate = active.burn_rate.expect("a burn rate");
        // 7,000 tokens over the 60 minutes from 10:05 to 11:05.
        assert!((rate.tokens_per_minute - 7_000.0 / 60.0).abs() < 1e-9);
        assert!((rate.tokens_per_minute_for_indicator - 7_000.0 / 60.0).abs() < 1e-9);
        let cost: f64 = records
            .iter()
            .map(|r| cost_of_record(r, &catalog).usd)
            .sum();
        assert!((rate.cost_per_hour_usd - cost).abs() < 1e-12);
        // 159 min 20 s left rounds to 159 minutes.
        let projection = active.projection.expect("a projection");
        assert_eq!(projection.remaining_minutes, 159);
        assert_eq!(
            projection.total_tokens,
            (7_000.0 + 7_000.0 / 60.0 * 159.0_f64).round() as u64
        );
        assert_eq!(
            projection.cost_usd,
            ((cost + cost / 60.0 * 159.0) * 100.0).round() / 100.0
        );

        // At the block's end, under 5 h after its last entry, it is no longer active.
        let report = check(
            &records,
            at(15, 0),
            &[(at(10, 0), at(15, 0), false, 3, 7_000, false)],
        );
        assert_eq!(report.active, None);
        assert_eq!(projection_of(&report), None);
    }

    fn projection_of(report: &BlocksReport) -> Option<Projection> {
        report.blocks.first().and_then(|b| projection(b, report.at))
    }

    #[test]
    fn one_entry_is_active_without_a_burn_rate() {
        let records = [record(at(10, 5), SONNET, 1_000, 200)];
        let report = check(
            &records,
            at(10, 30),
            &[(at(10, 0), at(15, 0), false, 1, 1_200, true)],
        );
        let active = report.active.expect("active");
        assert_eq!(active.burn_rate, None);
        assert_eq!(active.projection, None);
        assert_eq!(active.minutes_remaining, 270);
    }

    #[test]
    fn an_unknown_price_is_flagged_not_zero() {
        let records = [
            record(at(10, 0), SONNET, 1_000, 100),
            record(at(10, 30), "claude-mystery-9", 1_000, 100),
        ];
        let report = check(
            &records,
            at(11, 0),
            &[(at(10, 0), at(15, 0), false, 2, 2_200, true)],
        );
        let block = &report.blocks[0];
        assert!(block.includes_unknown_price);
        assert!(block.cost_usd > 0.0, "the known half still counts");
        assert_eq!(block.models, ["claude-sonnet-4-5", "claude-mystery-9"]);
        let active = report.active.unwrap();
        assert!(active.block.includes_unknown_price);
    }

    #[test]
    fn error_lines_and_synthetic_models_are_not_entries() {
        let mut failed = record(at(8, 10), "<synthetic>", 0, 0);
        failed.status = Some(529);
        let records = [failed, record(at(10, 20), SONNET, 1, 1)];
        let report = check(
            &records,
            at(23, 0),
            &[(at(10, 0), at(15, 0), false, 1, 2, false)],
        );
        assert_eq!(report.blocks[0].models, ["claude-sonnet-4-5"]);
    }

    #[test]
    fn entries_are_taken_in_time_order() {
        let records = [
            record(at(13, 0), SONNET, 3, 0),
            record(at(9, 15), SONNET, 1, 0),
            record(at(20, 0), SONNET, 5, 0),
        ];
        check(
            &records,
            at(23, 59),
            &[
                (at(9, 0), at(14, 0), false, 2, 4, false),
                (at(18, 0), at(20, 0), true, 0, 0, false),
                (at(20, 0), at(1, 0) + Duration::days(1), false, 1, 5, true),
            ],
        );
    }

    #[test]
    fn recent_active_and_date_filters() {
        let catalog = Catalog::builtin();
        let now = at(12, 0);
        let records = [
            record(now - Duration::days(5), SONNET, 1, 0),
            record(now - Duration::days(2), SONNET, 2, 0),
            record(now - Duration::minutes(30), SONNET, 3, 0),
        ];
        let full = report(&records, &catalog, now);
        // Three blocks and two gaps.
        assert_eq!(full.blocks.len(), 5);
        let recent = full.clone().recent(RECENT_DAYS);
        let totals: Vec<_> = recent.blocks.iter().map(|b| b.total_tokens).collect();
        // The second gap starts 2 days − 5 h back: recent too.
        assert_eq!(totals, [2, 0, 3]);
        assert!(recent.active.is_some());
        let active = full.clone().only_active();
        assert_eq!(active.blocks.len(), 1);
        assert!(active.blocks[0].is_active);
        assert_eq!(
            active.active.as_ref().map(|a| &a.block),
            active.blocks.first()
        );
        // A day filter keeps the blocks started that day, and drops `active` with its block.
        let day = DayZone::utc().date_of(now - Duration::days(5));
        let that_day = full
            .clone()
            .started_within(Some(day), Some(day), &DayZone::utc());
        let totals: Vec<_> = that_day.blocks.iter().map(|b| b.total_tokens).collect();
        // The block and the gap that starts 5 h after its entry, the same day.
        assert_eq!(totals, [1, 0]);
        assert_eq!(that_day.active, None);
        let today = full.started_within(Some(DayZone::utc().date_of(now)), None, &DayZone::utc());
        assert!(today.active.is_some());
        // Nothing active: `--active` leaves no block.
        let old = report(&records[..1], &catalog, now).only_active();
        assert!(old.blocks.is_empty() && old.active.is_none());
    }

    #[test]
    fn floor_to_hour_is_utc() {
        let t = Utc.with_ymd_and_hms(2026, 8, 21, 9, 59, 59).unwrap() + Duration::milliseconds(999);
        assert_eq!(floor_to_hour(t), at(9, 0));
        assert_eq!(floor_to_hour(at(9, 0)), at(9, 0));
    }

    #[test]
    fn reports_serialise_with_the_estimated_label() {
        let records = [
            record(at(10, 5), SONNET, 1_000, 200),
            record(at(10, 35), SONNET, 2_000, 400),
        ];
        let report = report(&records, &Catalog::builtin(), at(11, 0));
        let value = serde_json::to_value(&report).unwrap();
        assert_eq!(value["estimated"], true);
        assert_eq!(value["blocks"][0]["start"], "2026-08-21T10:00:00Z");
        assert_eq!(value["blocks"][0]["tokens"]["input"], 3_000);
        assert_eq!(value["active"]["block"]["is_active"], true);
        assert!(value["active"]["burn_rate"]["tokens_per_minute"].is_f64());
        assert!(value["active"]["projection"]["total_tokens"].is_u64());
    }
}
