//! Classification, rate-limit headers and usage read from the real recorded replies in
//! `shared/fixtures/anthropic/` (two httptest2 recordings of POST /v1/messages, 2024-10 and
//! 2025-08, and a recorded SDK exchange). The recordings are read as they are, not copied.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use claude_status_core::probe::{classify_reply, HttpReply, ProbeOutcome};
use claude_status_core::ratelimit::{parse_ratelimit_headers, RateLimitBucket, RateLimitSnapshot};
use claude_status_core::sse::Usage;

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/anthropic")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The parts of an httptest2 recording these tests use.
struct Recording {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

/// Reads an httptest2 `.R` recording: `status_code = 200L`, the `headers = structure(list(…))`
/// pairs (names bare or in backticks) and the `body = charToRaw("…")` string.
fn read_recording(text: &str) -> Recording {
    let status_at = text.find("status_code = ").unwrap() + "status_code = ".len();
    let status = text[status_at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap();

    let list_at =
        text.find("headers = structure(list(").unwrap() + "headers = structure(list(".len();
    let mut rest = &text[list_at..];
    let mut headers = Vec::new();
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ',');
        if rest.starts_with(')') {
            break;
        }
        let (name, after_name) = if let Some(quoted) = rest.strip_prefix('`') {
            let end = quoted.find('`').unwrap();
            (&quoted[..end], &quoted[end + 1..])
        } else {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'))
                .unwrap();
            (&rest[..end], &rest[end..])
        };
        let after_equals = after_name
            .trim_start()
            .strip_prefix('=')
            .unwrap()
            .trim_start();
        let (value, after_value) = read_r_string(after_equals);
        headers.push((name.to_ascii_lowercase(), value));
        rest = after_value;
    }

    let body_at = text.find("body = charToRaw(").unwrap() + "body = charToRaw(".len();
    let (body, _) = read_r_string(&text[body_at..]);
    Recording {
        status,
        headers,
        body,
    }
}

/// Reads a double-quoted R string at the start of `text`; returns it and the text after it.
fn read_r_string(text: &str) -> (String, &str) {
    let mut chars = text.strip_prefix('"').unwrap().char_indices();
    let mut value = String::new();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return (value, &text[at + 2..]),
            '\\' => match chars.next().unwrap().1 {
                'n' => value.push('\n'),
                't' => value.push('\t'),
                other => value.push(other),
            },
            other => value.push(other),
        }
    }
    panic!("unterminated R string");
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn bucket(limit: u64, remaining: u64, reset: &str) -> Option<RateLimitBucket> {
    Some(RateLimitBucket {
        limit: Some(limit),
        remaining: Some(remaining),
        reset: Some(at(reset)),
    })
}

#[test]
fn the_recording_reader_finds_every_header() {
    let recording = read_recording(&fixture("messages-recorded-2025-08-21.httptest2.R"));
    assert_eq!(recording.status, 200);
    assert_eq!(recording.headers.len(), 24);
    assert_eq!(
        recording.headers[0],
        ("date".into(), "Thu, 21 Aug 2025 12:41:00 GMT".into())
    );
    assert!(recording
        .body
        .starts_with(r#"{"id":"msg_01QgNtCXZKCJgpWHW3NEwmdP""#));
}

#[test]
fn real_replies_classify_as_ok_with_their_request_id() {
    let check = |file: &str, request_id: &str| {
        let recording = read_recording(&fixture(file));
        let reply = HttpReply {
            status: recording.status,
            headers: &recording.headers,
            body: recording.body.as_bytes(),
            key_configured: true,
        };
        let classification = classify_reply(&reply, at("2026-08-21T12:00:00Z"));
        assert_eq!(classification.outcome, ProbeOutcome::Ok, "{file}");
        assert_eq!(
            classification.request_id.as_deref(),
            Some(request_id),
            "{file}"
        );
        assert_eq!(classification.retry_after, None, "{file}");
    };
    check(
        "messages-recorded-2024-10-15.httptest2.R",
        "req_019wGfiTXuPVGqimAyq4912o",
    );
    check(
        "messages-recorded-2025-08-21.httptest2.R",
        "req_011CSLsW7mFqvHHnzrKdKjAE",
    );
}

#[test]
fn ratelimit_headers_of_real_replies() {
    let check = |file: &str, expected: RateLimitSnapshot| {
        let recording = read_recording(&fixture(file));
        let snapshot = parse_ratelimit_headers(&recording.headers);
        assert_eq!(snapshot, expected, "{file}");
        assert!(!snapshot.is_empty());
    };
    // 2024-10, Tier 1: the legacy families only, no input/output split.
    check(
        "messages-recorded-2024-10-15.httptest2.R",
        RateLimitSnapshot {
            requests: bucket(50, 49, "2024-10-15T09:49:10Z"),
            tokens: bucket(40000, 40000, "2024-10-15T09:48:23Z"),
            ..RateLimitSnapshot::default()
        },
    );
    // 2025-08: input and output split, and `tokens` is their sum.
    check(
        "messages-recorded-2025-08-21.httptest2.R",
        RateLimitSnapshot {
            requests: bucket(1000, 999, "2025-08-21T12:40:59Z"),
            tokens: bucket(96000, 96000, "2025-08-21T12:40:59Z"),
            input_tokens: bucket(80000, 80000, "2025-08-21T12:40:59Z"),
            output_tokens: bucket(16000, 16000, "2025-08-21T12:41:00Z"),
            ..RateLimitSnapshot::default()
        },
    );
}

#[test]
fn usage_of_real_reply_bodies() {
    let check = |body: &serde_json::Value, expected: Usage| {
        assert_eq!(Usage::from_api(&body["usage"]), expected);
    };
    let body_2024: serde_json::Value = serde_json::from_str(
        &read_recording(&fixture("messages-recorded-2024-10-15.httptest2.R")).body,
    )
    .unwrap();
    check(
        &body_2024,
        Usage {
            input_tokens: 16,
            output_tokens: 35,
            ..Usage::default()
        },
    );
    let body_2025: serde_json::Value = serde_json::from_str(
        &read_recording(&fixture("messages-recorded-2025-08-21.httptest2.R")).body,
    )
    .unwrap();
    check(
        &body_2025,
        Usage {
            input_tokens: 16,
            output_tokens: 24,
            service_tier: Some("standard".into()),
            ..Usage::default()
        },
    );
    let exchange: serde_json::Value =
        serde_json::from_str(&fixture("messages-recorded-exchange-usage.json")).unwrap();
    let response = &exchange[0]["response"];
    check(
        &response["body"],
        Usage {
            input_tokens: 406,
            output_tokens: 50,
            service_tier: Some("standard".into()),
            ..Usage::default()
        },
    );
    // The SDK stripped the rate-limit headers from this recording, and the snapshot says so.
    let headers: Vec<(String, String)> = response["headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, value)| (name.clone(), value.as_str().unwrap().to_owned()))
        .collect();
    assert!(parse_ratelimit_headers(&headers).is_empty());
}
