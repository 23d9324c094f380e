//! The cost of tokens: each token type, 1-hour cache writes, the batch discount, the long-context
//! rule, unknown prices, and what caching saved.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use chrono::{TimeZone, Utc};
use claude_status_core::catalog::Catalog;
use claude_status_core::cost::{cache_savings, cost_of, cost_of_record, CostTotal};
use claude_status_core::usage::{TokenCounts, UsageRecord, UsageSource};

fn tokens(input: u64, output: u64, write_5m: u64, write_1h: u64, read: u64) -> TokenCounts {
    TokenCounts {
        input,
        output,
        cache_write_5m: write_5m,
        cache_write_1h: write_1h,
        cache_read: read,
    }
}

const M: u64 = 1_000_000;

/// Expected (usd, unknown_price, long_context).
fn check(tokens: TokenCounts, model: &str, tier: Option<&str>, expected: (f64, bool, bool)) {
    let cost = cost_of(&tokens, model, tier, &Catalog::builtin());
    assert!(
        (cost.usd - expected.0).abs() < 1e-9
            && cost.unknown_price == expected.1
            && cost.long_context == expected.2,
        "{model} {tier:?} {tokens:?}: {cost:?}, expected {expected:?}"
    );
}

#[test]
fn each_token_type() {
    // Sonnet 3.7 has Sonnet 4.5's prices without the long-context rule, so a million of one
    // type is just the list price.
    let sonnet = "claude-3-7-sonnet-20250219";
    check(tokens(M, 0, 0, 0, 0), sonnet, None, (3.0, false, false));
    check(tokens(0, M, 0, 0, 0), sonnet, None, (15.0, false, false));
    check(tokens(0, 0, M, 0, 0), sonnet, None, (3.75, false, false));
    check(tokens(0, 0, 0, M, 0), sonnet, None, (6.0, false, false));
    check(tokens(0, 0, 0, 0, M), sonnet, None, (0.3, false, false));
    // 100K of each type of Opus 4.6: (5 + 25 + 6.25 + 10 + 0.5) / 10.
    check(
        tokens(100_000, 100_000, 100_000, 100_000, 100_000),
        "claude-opus-4-6",
        None,
        (4.675, false, false),
    );
    // Haiku 3's 1-hour write is $0.50, not 2 × $0.25 rounded differently.
    check(
        tokens(0, 0, 0, M, 0),
        "claude-3-haiku-20240307",
        None,
        (0.5, false, false),
    );
    // Opus 5.5's cache read is 0.05× input.
    check(
        tokens(0, 0, 0, 0, M),
        "claude-opus-5-5",
        None,
        (0.2, false, false),
    );
    // A realistic Claude Code turn on Haiku 4.5.
    check(
        tokens(12, 345, 1_500, 0, 40_000),
        "claude-haiku-4-5-20251001",
        Some("standard"),
        (
            (12.0 * 1.0 + 345.0 * 5.0 + 1_500.0 * 1.25 + 40_000.0 * 0.1) / 1e6,
            false,
            false,
        ),
    );
}

#[test]
fn batch_is_half_price_for_every_token_type() {
    let sonnet = "claude-3-7-sonnet";
    check(
        tokens(M, M, 0, 0, 0),
        sonnet,
        Some("batch"),
        (9.0, false, false),
    );
    check(
        tokens(0, 0, M, M, M),
        sonnet,
        Some("batch"),
        ((3.75 + 6.0 + 0.3) / 2.0, false, false),
    );
    check(
        tokens(M, M, 0, 0, 0),
        sonnet,
        Some("Batch"),
        (9.0, false, false),
    );
    // Priority and other tiers: standard prices (Priority Tier prices were not recovered).
    check(
        tokens(M, M, 0, 0, 0),
        sonnet,
        Some("priority"),
        (18.0, false, false),
    );
    check(
        tokens(M, M, 0, 0, 0),
        sonnet,
        Some("standard"),
        (18.0, false, false),
    );
}

#[test]
fn long_context_bills_the_whole_request() {
    let sonnet = "claude-sonnet-4-5";
    // Exactly 200K total input is not above the threshold.
    check(
        tokens(200_000, 1_000, 0, 0, 0),
        sonnet,
        None,
        (0.6 + 0.015, false, false),
    );
    // 200,001: every token at $6 / $22.50.
    check(
        tokens(200_001, 1_000, 0, 0, 0),
        sonnet,
        None,
        (200_001.0 * 6.0 / 1e6 + 1_000.0 * 22.5 / 1e6, false, true),
    );
    // Cache reads and writes count toward the threshold and are billed at the long-context
    // input price times their multipliers (7.50, 12, 0.60).
    check(
        tokens(1_000, 10_000, 50_000, 50_000, 150_000),
        sonnet,
        None,
        (
            (1_000.0 * 6.0 + 10_000.0 * 22.5 + 50_000.0 * 7.5 + 50_000.0 * 12.0 + 150_000.0 * 0.6)
                / 1e6,
            false,
            true,
        ),
    );
    // Sonnet 4 (dated id) too; and batch stacks on top.
    check(
        tokens(300_000, 0, 0, 0, 0),
        "claude-sonnet-4-20250514",
        Some("batch"),
        (300_000.0 * 3.0 / 1e6, false, true),
    );
    // Models without a recovered long-context rule keep their price.
    check(
        tokens(300_000, 0, 0, 0, 0),
        "claude-sonnet-4-6[1m]",
        None,
        (0.9, false, false),
    );
    check(
        tokens(300_000, 0, 0, 0, 0),
        "claude-opus-4-6[1m]",
        None,
        (1.5, false, false),
    );
}

#[test]
fn unknown_prices_are_flagged_not_zero() {
    check(
        tokens(M, M, 0, 0, 0),
        "claude-fable-5",
        None,
        (0.0, true, false),
    );
    check(
        tokens(1, 0, 0, 0, 0),
        "claude-opus-4-9",
        None,
        (0.0, true, false),
    );
    check(
        tokens(0, 0, 0, 0, 1),
        "claude-opus-4-6-fast",
        None,
        (0.0, true, false),
    );
    // Zero tokens cost $0 whatever the model.
    check(
        TokenCounts::default(),
        "claude-fable-5",
        None,
        (0.0, false, false),
    );

    let catalog = Catalog::builtin();
    let mut total = CostTotal::default();
    total.add(&cost_of(
        &tokens(M, 0, 0, 0, 0),
        "claude-haiku-4-5",
        None,
        &catalog,
    ));
    assert_eq!(
        total,
        CostTotal {
            usd: 1.0,
            includes_unknown_price: false
        }
    );
    total.add(&cost_of(
        &tokens(M, 0, 0, 0, 0),
        "claude-fable-5",
        None,
        &catalog,
    ));
    assert_eq!(
        total,
        CostTotal {
            usd: 1.0,
            includes_unknown_price: true
        }
    );
    total.add(&cost_of(
        &tokens(M, 0, 0, 0, 0),
        "claude-haiku-4-5",
        None,
        &catalog,
    ));
    assert_eq!(
        total,
        CostTotal {
            usd: 2.0,
            includes_unknown_price: true
        }
    );
    let mut other = CostTotal::default();
    other.merge(&total);
    assert!(other.includes_unknown_price);
}

fn record(model: &str, reported: Option<f64>) -> UsageRecord {
    UsageRecord {
        at: Utc.with_ymd_and_hms(2026, 10, 1, 12, 0, 0).unwrap(),
        source: UsageSource::ClaudeCode,
        model: model.to_owned(),
        tokens: tokens(M, 0, 0, 0, 0),
        status: None,
        latency_ms: None,
        ttft_ms: None,
        service_tier: Some("batch".to_owned()),
        message_id: None,
        request_id: None,
        session_id: None,
        project: None,
        reported_cost_usd: reported,
        is_sidechain: false,
    }
}

#[test]
fn a_records_cost_prefers_the_reported_cost_then_the_catalog() {
    let catalog = Catalog::builtin();
    let check = |record: UsageRecord, expected: (f64, bool)| {
        let cost = cost_of_record(&record, &catalog);
        assert_eq!((cost.usd, cost.unknown_price), expected, "{record:?}");
    };
    // The record's service tier applies.
    check(record("claude-haiku-4-5", None), (0.5, false));
    // A cost the source reported at the time wins, as in ccusage's default mode.
    check(record("claude-haiku-4-5", Some(9.0)), (9.0, false));
    check(record("claude-fable-5", Some(1.25)), (1.25, false));
    check(record("claude-fable-5", None), (0.0, true));
    check(record("claude-fable-5", Some(f64::NAN)), (0.0, true));
}

#[test]
fn what_caching_saved() {
    let catalog = Catalog::builtin();
    let check =
        |tokens: TokenCounts, model: &str, tier: Option<&str>, expected: (f64, f64, f64, bool)| {
            let s = cache_savings(&tokens, model, tier, &catalog);
            let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
            assert!(
                close(s.read_savings_usd, expected.0)
                    && close(s.write_premium_usd, expected.1)
                    && close(s.net_usd, expected.2)
                    && s.includes_unknown_price == expected.3,
                "{model} {tokens:?}: {s:?}, expected {expected:?}"
            );
        };
    // 1M cache reads of Sonnet 3.7: $3 as input, $0.30 as reads.
    check(
        tokens(0, 0, 0, 0, M),
        "claude-3-7-sonnet",
        None,
        (2.7, 0.0, 2.7, false),
    );
    // 1M 5-minute writes cost $0.75 more than input; 1M 1-hour writes $3 more.
    check(
        tokens(0, 0, M, 0, 0),
        "claude-3-7-sonnet",
        None,
        (0.0, 0.75, -0.75, false),
    );
    check(
        tokens(0, 0, 0, M, 0),
        "claude-3-7-sonnet",
        None,
        (0.0, 3.0, -3.0, false),
    );
    // Above 200K, Sonnet 4.5 saves at long-context prices ($6 as input vs $0.60 as reads).
    check(
        tokens(0, 0, 0, 0, M),
        "claude-sonnet-4-5",
        None,
        (5.4, 0.0, 5.4, false),
    );
    // Ten reads for every write: caching paid off.
    check(
        tokens(0, 0, 100_000, 0, M),
        "claude-opus-4-6",
        None,
        (4.5, 0.125, 4.375, false),
    );
    // Batch halves both sides.
    check(
        tokens(0, 0, 0, 0, M),
        "claude-3-7-sonnet",
        Some("batch"),
        (1.35, 0.0, 1.35, false),
    );
    // No cache tokens: nothing, even for an unknown model.
    check(
        tokens(M, M, 0, 0, 0),
        "claude-fable-5",
        None,
        (0.0, 0.0, 0.0, false),
    );
    check(
        tokens(0, 0, 0, 0, M),
        "claude-fable-5",
        None,
        (0.0, 0.0, 0.0, true),
    );
}
