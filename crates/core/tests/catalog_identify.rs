//! Identifying the tier from the live `-limit` headers, including the real 2025-08-21 recording.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use std::path::PathBuf;

use claude_status_core::catalog::Catalog;
use claude_status_core::ratelimit::{parse_ratelimit_headers, RateLimitSnapshot};

/// The `anthropic-ratelimit-*` headers of an httptest2 recording, read as they are.
fn recorded_headers(name: &str) -> Vec<(String, String)> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/anthropic")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut headers = Vec::new();
    let mut rest = text.as_str();
    while let Some(start) = rest.find("`anthropic-ratelimit-") {
        let after = &rest[start + 1..];
        let end = after.find('`').unwrap();
        let name = &after[..end];
        let value_start = after.find('"').unwrap() + 1;
        let value_end = value_start + after[value_start..].find('"').unwrap();
        headers.push((name.to_owned(), after[value_start..value_end].to_owned()));
        rest = &after[value_end..];
    }
    headers
}

fn snapshot(pairs: &[(&str, &str)]) -> RateLimitSnapshot {
    let headers: Vec<(String, String)> = pairs
        .iter()
        .map(|(n, v)| (format!("anthropic-ratelimit-{n}-limit"), v.to_string()))
        .collect();
    parse_ratelimit_headers(&headers)
}

fn check(requests: &str, input: &str, output: &str, class: &str, expected: Option<&str>) {
    let snapshot = snapshot(&[
        ("requests", requests),
        ("input-tokens", input),
        ("output-tokens", output),
    ]);
    assert_eq!(
        Catalog::builtin()
            .identify_tier(&snapshot, class)
            .as_deref(),
        expected,
        "{requests}/{input}/{output} {class}"
    );
}

#[test]
fn the_real_2025_08_21_headers_match_no_tier() {
    let headers = recorded_headers("messages-recorded-2025-08-21.httptest2.R");
    let snapshot = parse_ratelimit_headers(&headers);
    assert_eq!(snapshot.requests.unwrap().limit, Some(1_000));
    assert_eq!(snapshot.input_tokens.unwrap().limit, Some(80_000));
    assert_eq!(snapshot.output_tokens.unwrap().limit, Some(16_000));
    // The reply was for claude-3-5-sonnet-20240620 (class sonnet-3-5), which the Dec 2025 tables
    // no longer list; 1,000 RPM / 80K ITPM / 16K OTPM is no row of any class either (Sonnet 3.7
    // Tier 2 is 1,000 / 40K / 16K, Tier 3 is 2,000 / 80K / 32K). So: not identified.
    let catalog = Catalog::builtin();
    let model_class = catalog.model_class("claude-3-5-sonnet-20240620").unwrap();
    assert_eq!(model_class, "sonnet-3-5");
    for class in [
        model_class,
        "sonnet-3-7",
        "sonnet-4",
        "opus-4",
        "haiku-4-5",
        "haiku-3-5",
        "haiku-3",
        "opus-3",
        "fable-5",
    ] {
        assert_eq!(catalog.identify_tier(&snapshot, class), None, "{class}");
    }
}

#[test]
fn the_2024_legacy_headers_cannot_identify() {
    // Only `requests` and a combined `tokens` limit: one comparable value is not enough.
    let headers = recorded_headers("messages-recorded-2024-10-15.httptest2.R");
    let snapshot = parse_ratelimit_headers(&headers);
    assert!(snapshot.requests.is_some() && snapshot.input_tokens.is_none());
    for class in ["sonnet-4", "opus-3", "haiku-3", "sonnet-3-5"] {
        assert_eq!(
            Catalog::builtin().identify_tier(&snapshot, class),
            None,
            "{class}"
        );
    }
}

#[test]
fn tiers_from_header_values() {
    check("50", "30000", "8000", "sonnet-4", Some("tier-1"));
    check("50", "30000", "8000", "opus-4", Some("tier-1"));
    check("1000", "450000", "90000", "haiku-4-5", Some("tier-2"));
    check("2000", "800000", "160000", "sonnet-4", Some("tier-3"));
    check("4000", "2000000", "400000", "opus-4", Some("tier-4"));
    check("4000", "400000", "80000", "opus-3", Some("tier-4"));
    check("1000", "2000000", "400000", "sonnet-4", Some("start"));
    check("1000", "500000", "100000", "fable-5", Some("start"));
    check("4000", "4000000", "800000", "fable-5", Some("scale"));
    // Haiku 3.5 at 1,000 / 100K / 20K is both Tier 2 and Start: ambiguous.
    check("1000", "100000", "20000", "haiku-3-5", None);
    // Right values, wrong class.
    check("50", "30000", "8000", "haiku-4-5", None);
    // One value off.
    check("50", "30000", "9000", "sonnet-4", None);
    // A class no tier lists.
    check("50", "30000", "8000", "claude-opus-4-9", None);
}

#[test]
fn partial_headers() {
    let catalog = Catalog::builtin();
    // Requests and input tokens agree, output missing: two comparisons are enough.
    let two = snapshot(&[("requests", "50"), ("input-tokens", "30000")]);
    assert_eq!(
        catalog.identify_tier(&two, "sonnet-4").as_deref(),
        Some("tier-1")
    );
    // Only requests: not enough (Tier 1 has 50 RPM for every class).
    let one = snapshot(&[("requests", "50")]);
    assert_eq!(catalog.identify_tier(&one, "sonnet-4"), None);
    assert_eq!(
        catalog.identify_tier(&RateLimitSnapshot::default(), "sonnet-4"),
        None
    );
}
