//! The SDK retry rules (api-facts G) as a table: which failures are retried, how long the wait is,
//! and when the budget runs out.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use std::time::Duration;

use chrono::{DateTime, Utc};
use claude_status_core::probe::{
    classify_reply, classify_transport, Classification, HttpReply, TransportFailure,
};
use claude_status_core::retry::{parse_retry_after, RetryDecision, RetryPolicy};
use claude_status_core::sse::classify_stream_error;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-08-21T12:41:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn owned(headers: &[(&str, &str)]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

fn error_body(error_type: &str) -> String {
    format!(r#"{{"type":"error","error":{{"type":"{error_type}","message":"m"}}}}"#)
}

const SPEND_CAP_BODY: &str = r#"{"type":"error","error":{"type":"rate_limit_error","message":"m","details":{"error_code":"enforced_spend_limit_reached"}}}"#;

/// What failed, as the engine would have classified it.
enum Failure<'a> {
    Reply(u16, &'a str),
    Transport(TransportFailure),
    Stream(&'a str),
}

struct Case<'a> {
    failure: Failure<'a>,
    headers: &'a [(&'a str, &'a str)],
    retries_so_far: u32,
    elapsed_ms: u64,
    jitter: f64,
}

fn case(failure: Failure) -> Case {
    Case {
        failure,
        headers: &[],
        retries_so_far: 0,
        elapsed_ms: 0,
        jitter: 0.0,
    }
}

impl<'a> Case<'a> {
    fn headers(self, headers: &'a [(&'a str, &'a str)]) -> Self {
        Case { headers, ..self }
    }
    fn retries(self, retries_so_far: u32) -> Self {
        Case {
            retries_so_far,
            ..self
        }
    }
    fn elapsed_ms(self, elapsed_ms: u64) -> Self {
        Case { elapsed_ms, ..self }
    }
    fn jitter(self, jitter: f64) -> Self {
        Case { jitter, ..self }
    }

    fn classify(&self, headers: &[(String, String)]) -> Classification {
        match &self.failure {
            Failure::Reply(status, body) => classify_reply(
                &HttpReply {
                    status: *status,
                    headers,
                    body: body.as_bytes(),
                    key_configured: true,
                },
                now(),
            ),
            Failure::Transport(failure) => classify_transport(failure),
            Failure::Stream(error_type) => classify_stream_error(error_type, "m", None),
        }
    }
}

fn retry_ms(millis: u64) -> RetryDecision {
    RetryDecision::Retry(Duration::from_millis(millis))
}

fn check_with(policy: &RetryPolicy, input: Case, expected: RetryDecision) {
    let headers = owned(input.headers);
    let classification = input.classify(&headers);
    let actual = policy.decide(
        input.retries_so_far,
        Duration::from_millis(input.elapsed_ms),
        &classification,
        &headers,
        input.jitter,
        now(),
    );
    assert_eq!(
        actual, expected,
        "\n{} after {} retries, headers {:?}",
        classification.detail, input.retries_so_far, input.headers
    );
}

fn check(input: Case, expected: RetryDecision) {
    check_with(&RetryPolicy::default(), input, expected);
}

#[test]
fn defaults_match_the_sdks() {
    assert_eq!(
        RetryPolicy::default(),
        RetryPolicy {
            max_retries: 2,
            initial: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_total: Duration::from_secs(60),
            server_delay_cap: Duration::from_secs(60),
        }
    );
}

#[test]
fn retryable_statuses() {
    let overloaded = error_body("overloaded_error");
    for status in [408, 409, 429, 500, 502, 503, 504, 529, 599] {
        check(case(Failure::Reply(status, &overloaded)), retry_ms(500));
    }
    // An HTML page from a proxy retries by its status like any other reply.
    check(case(Failure::Reply(503, "<html>")), retry_ms(500));
}

#[test]
fn client_errors_are_final() {
    for status in [400, 401, 402, 403, 404, 413, 422] {
        check(
            case(Failure::Reply(status, &error_body("invalid_request_error"))),
            RetryDecision::GiveUp("the error is not retryable"),
        );
    }
    check(
        case(Failure::Reply(429, SPEND_CAP_BODY)),
        RetryDecision::GiveUp("the spend cap lifts only on the 1st of next month"),
    );
    // Successes are never retried.
    check(
        case(Failure::Reply(200, "{}")),
        RetryDecision::GiveUp("the call succeeded"),
    );
}

#[test]
fn transport_failures_and_stream_errors() {
    check(
        case(Failure::Transport(TransportFailure::Timeout)),
        retry_ms(500),
    );
    check(
        case(Failure::Transport(TransportFailure::Dns(
            "no such host".into(),
        ))),
        retry_ms(500),
    );
    check(
        case(Failure::Transport(TransportFailure::Tls(
            "bad certificate".into(),
        ))),
        retry_ms(500),
    );
    check(case(Failure::Stream("overloaded_error")), retry_ms(500));
    check(case(Failure::Stream("api_error")), retry_ms(500));
    check(
        case(Failure::Stream("invalid_request_error")),
        RetryDecision::GiveUp("the error is not retryable"),
    );
}

#[test]
fn x_should_retry_overrides_the_status() {
    check(
        case(Failure::Reply(529, "")).headers(&[("x-should-retry", "false")]),
        RetryDecision::GiveUp("the server said x-should-retry: false"),
    );
    check(
        case(Failure::Reply(400, &error_body("invalid_request_error")))
            .headers(&[("x-should-retry", "true")]),
        retry_ms(500),
    );
    // Other values are ignored, as in the SDKs.
    check(
        case(Failure::Reply(529, "")).headers(&[("x-should-retry", "maybe")]),
        retry_ms(500),
    );
    // Nothing brings a spend cap back before the month ends.
    check(
        case(Failure::Reply(429, SPEND_CAP_BODY)).headers(&[("x-should-retry", "true")]),
        RetryDecision::GiveUp("the spend cap lifts only on the 1st of next month"),
    );
}

#[test]
fn exponential_backoff_with_jitter() {
    let generous = RetryPolicy {
        max_retries: 10,
        ..RetryPolicy::default()
    };
    let table: [(u32, f64, u64); 9] = [
        (0, 0.0, 500),
        (1, 0.0, 1000),
        (2, 0.0, 2000),
        (3, 0.0, 4000),
        (4, 0.0, 8000),
        (5, 0.0, 8000),
        // Jitter takes up to a quarter off.
        (0, 0.5, 437),
        (4, 0.5, 7000),
        (1, 0.999, 750),
    ];
    for (retries, jitter, expected_ms) in table {
        let headers = owned(&[]);
        let classification = classify_transport(&TransportFailure::Timeout);
        let RetryDecision::Retry(delay) = generous.decide(
            retries,
            Duration::ZERO,
            &classification,
            &headers,
            jitter,
            now(),
        ) else {
            panic!("no retry after {retries} retries");
        };
        assert_eq!(
            delay.as_millis(),
            u128::from(expected_ms),
            "{retries} retries, jitter {jitter}"
        );
    }
}

#[test]
fn the_servers_wait_is_used_within_the_cap() {
    let rate_limited = error_body("rate_limit_error");
    let check_wait = |headers: &[(&str, &str)], expected: RetryDecision| {
        check(
            case(Failure::Reply(429, &rate_limited))
                .headers(headers)
                .jitter(0.5),
            expected,
        );
    };
    check_wait(&[("retry-after", "20")], retry_ms(20_000));
    check_wait(&[("retry-after", "0.25")], retry_ms(250));
    check_wait(&[("retry-after", "0")], retry_ms(0));
    check_wait(&[("retry-after", "60")], retry_ms(60_000));
    check_wait(
        &[("retry-after-ms", "1500"), ("retry-after", "20")],
        retry_ms(1500),
    );
    check_wait(
        &[("retry-after-ms", "soon"), ("retry-after", "20")],
        retry_ms(20_000),
    );
    check_wait(
        &[("retry-after", "Fri, 21 Aug 2026 12:41:30 GMT")],
        retry_ms(30_000),
    );
    // Beyond the cap, negative, in the past or unreadable: the back-off curve decides.
    check_wait(
        &[("retry-after", "61")],
        RetryDecision::Retry(Duration::from_micros(437_500)),
    );
    check_wait(
        &[("retry-after", "-1")],
        RetryDecision::Retry(Duration::from_micros(437_500)),
    );
    check_wait(
        &[("retry-after", "Fri, 21 Aug 2026 12:40:00 GMT")],
        RetryDecision::Retry(Duration::from_micros(437_500)),
    );
    check_wait(
        &[("retry-after", "later")],
        RetryDecision::Retry(Duration::from_micros(437_500)),
    );
    // The server's wait applies to 5xx replies too.
    check(
        case(Failure::Reply(529, "")).headers(&[("retry-after", "3")]),
        retry_ms(3000),
    );
}

#[test]
fn the_classifications_wait_serves_when_headers_are_not_passed() {
    let headers = owned(&[("retry-after", "7")]);
    let classification = classify_reply(
        &HttpReply {
            status: 429,
            headers: &headers,
            body: b"",
            key_configured: true,
        },
        now(),
    );
    assert_eq!(
        RetryPolicy::default().decide(0, Duration::ZERO, &classification, &[], 0.0, now()),
        retry_ms(7000)
    );
}

#[test]
fn budgets_run_out() {
    check(case(Failure::Reply(529, "")).retries(1), retry_ms(1000));
    check(
        case(Failure::Reply(529, "")).retries(2),
        RetryDecision::GiveUp("no retries left"),
    );
    check(
        case(Failure::Reply(529, "")).elapsed_ms(59_500),
        retry_ms(500),
    );
    check(
        case(Failure::Reply(529, "")).elapsed_ms(59_501),
        RetryDecision::GiveUp("the next wait would overrun the time budget"),
    );
    check(
        case(Failure::Reply(429, ""))
            .headers(&[("retry-after", "30")])
            .elapsed_ms(40_000),
        RetryDecision::GiveUp("the next wait would overrun the time budget"),
    );
    let never = RetryPolicy {
        max_retries: 0,
        ..RetryPolicy::default()
    };
    check_with(
        &never,
        case(Failure::Transport(TransportFailure::Timeout)),
        RetryDecision::GiveUp("no retries left"),
    );
}

#[test]
fn parsing_retry_after() {
    let check = |headers: &[(&str, &str)], expected: Option<u64>| {
        assert_eq!(
            parse_retry_after(&owned(headers), now()),
            expected.map(Duration::from_millis),
            "{headers:?}"
        );
    };
    check(&[], None);
    check(&[("retry-after", "5")], Some(5000));
    check(&[("Retry-After", " 1.5 ")], Some(1500));
    check(&[("retry-after-ms", "250")], Some(250));
    check(
        &[("retry-after-ms", "NaN"), ("retry-after", "2")],
        Some(2000),
    );
    check(&[("retry-after", "inf")], None);
    // Past a month is a broken header, not a wait (a hostile input once shown as 1.8e16 s).
    check(&[("retry-after-ms", "18446744073709551616")], None);
    check(&[("retry-after", "Fri, 31 Dec 9999 23:59:59 GMT")], None);
    check(&[("retry-after", "604800")], Some(604_800_000));
    check(
        &[("retry-after", "Fri, 21 Aug 2026 12:42:00 GMT")],
        Some(60_000),
    );
    check(&[("retry-after", "Fri, 21 Aug 2026 12:40:00 GMT")], None);
}
