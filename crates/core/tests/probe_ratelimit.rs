//! Rate-limit header parsing beyond the two real recordings (which `probe_fixtures.rs` covers):
//! the other families B4 names, `retry-after`, and values that do not parse.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use chrono::{DateTime, Utc};
use claude_status_core::ratelimit::{parse_ratelimit_headers, RateLimitBucket, RateLimitSnapshot};

fn owned(headers: &[(&str, &str)]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn check(headers: &[(&str, &str)], expected: RateLimitSnapshot) {
    assert_eq!(
        parse_ratelimit_headers(&owned(headers)),
        expected,
        "{headers:?}"
    );
}

#[test]
fn no_headers_no_snapshot() {
    check(&[], RateLimitSnapshot::default());
    check(
        &[
            ("content-type", "application/json"),
            ("anthropic-organization-id", "x"),
        ],
        RateLimitSnapshot::default(),
    );
    assert!(RateLimitSnapshot::default().is_empty());
}

#[test]
fn a_rate_limited_reply() {
    check(
        &[
            ("anthropic-ratelimit-requests-limit", "50"),
            ("anthropic-ratelimit-requests-remaining", "0"),
            ("anthropic-ratelimit-requests-reset", "2024-10-15T09:49:10Z"),
            ("retry-after", "47"),
        ],
        RateLimitSnapshot {
            requests: Some(RateLimitBucket {
                limit: Some(50),
                remaining: Some(0),
                reset: Some(at("2024-10-15T09:49:10Z")),
            }),
            retry_after_seconds: Some(47.0),
            ..RateLimitSnapshot::default()
        },
    );
    // `retry-after-ms` is the more precise of the two and wins, as in the SDKs.
    check(
        &[("retry-after", "2"), ("retry-after-ms", "1500")],
        RateLimitSnapshot {
            retry_after_seconds: Some(1.5),
            ..RateLimitSnapshot::default()
        },
    );
    // An HTTP date cannot become seconds without the current time, so it is left out here.
    check(
        &[("retry-after", "Fri, 21 Aug 2026 12:41:30 GMT")],
        RateLimitSnapshot::default(),
    );
}

#[test]
fn other_families_are_kept_by_name() {
    let snapshot = parse_ratelimit_headers(&owned(&[
        ("anthropic-priority-input-tokens-limit", "200000"),
        ("anthropic-priority-input-tokens-remaining", "199000"),
        (
            "anthropic-priority-input-tokens-reset",
            "2026-08-21T12:41:00Z",
        ),
        ("anthropic-ratelimit-unified-reset", "1787316060"),
        ("anthropic-ratelimit-unified-status", "allowed"),
        ("anthropic-fast-output-tokens-limit", "1000"),
    ]));
    let families: Vec<(&str, RateLimitBucket)> = snapshot
        .other_families
        .iter()
        .map(|(name, bucket)| (name.as_str(), *bucket))
        .collect();
    assert_eq!(
        families,
        vec![
            (
                "anthropic-fast-output-tokens",
                RateLimitBucket {
                    limit: Some(1000),
                    ..RateLimitBucket::default()
                }
            ),
            (
                "anthropic-priority-input-tokens",
                RateLimitBucket {
                    limit: Some(200000),
                    remaining: Some(199000),
                    reset: Some(at("2026-08-21T12:41:00Z")),
                }
            ),
            (
                "anthropic-ratelimit-unified",
                RateLimitBucket {
                    reset: DateTime::from_timestamp(1787316060, 0),
                    ..RateLimitBucket::default()
                }
            ),
        ]
    );
    assert!(snapshot.requests.is_none() && !snapshot.is_empty());
}

#[test]
fn unreadable_values_and_mixed_case_names() {
    check(
        &[
            ("Anthropic-RateLimit-Tokens-Limit", " 96000 "),
            ("anthropic-ratelimit-tokens-remaining", "lots"),
            ("anthropic-ratelimit-tokens-reset", "tomorrow"),
            ("retry-after", "-3"),
        ],
        RateLimitSnapshot {
            tokens: Some(RateLimitBucket {
                limit: Some(96000),
                remaining: None,
                reset: None,
            }),
            ..RateLimitSnapshot::default()
        },
    );
}

#[test]
fn snapshot_round_trips_through_json() {
    let snapshot = parse_ratelimit_headers(&owned(&[
        ("anthropic-ratelimit-requests-limit", "1000"),
        ("anthropic-priority-output-tokens-limit", "5"),
        ("retry-after", "1.5"),
    ]));
    let json = serde_json::to_string(&snapshot).unwrap();
    assert_eq!(
        serde_json::from_str::<RateLimitSnapshot>(&json).unwrap(),
        snapshot
    );
    // An empty map is left out, so older readers see the four documented families only.
    let plain = serde_json::to_value(RateLimitSnapshot::default()).unwrap();
    assert!(plain.get("other_families").is_none());
}
