//! Classification of HTTP replies and transport failures, one table row per rule.
//!
//! Error bodies use the documented shape `{"type":"error","error":{"type","message","details"},
//! "request_id"}` (api-facts B2). Where no real message text is known (the spend cap), the
//! message is a placeholder; only the type and `details.error_code` drive the rules.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use chrono::{DateTime, Utc};
use claude_status_core::probe::{
    classify_reply, classify_transport, Classification, HttpReply, ProbeOutcome, TransportFailure,
};
use proptest::prelude::*;

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

/// Renders the parts of a classification the rules decide, one per line, so a failing row shows
/// exactly which part differs.
fn render(classification: &Classification) -> String {
    let show = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".into());
    format!(
        "outcome={} status={} type={} request_id={} retry_after={} not_before={}\n{}",
        classification.outcome,
        classification
            .http_status
            .map_or_else(|| "-".into(), |status| status.to_string()),
        show(&classification.error_type),
        show(&classification.request_id),
        classification
            .retry_after
            .map_or_else(|| "-".into(), |wait| format!("{}ms", wait.as_millis())),
        classification
            .retry_not_before
            .map_or_else(|| "-".into(), |when| when.to_rfc3339()),
        classification.detail,
    )
}

fn check_reply(status: u16, headers: &[(&str, &str)], body: &str, key: bool, expected: &str) {
    check_reply_bytes(status, headers, body.as_bytes(), key, expected);
}

fn check_reply_bytes(
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
    key: bool,
    expected: &str,
) {
    let headers = owned(headers);
    let reply = HttpReply {
        status,
        headers: &headers,
        body,
        key_configured: key,
    };
    let actual = render(&classify_reply(&reply, now()));
    assert_eq!(
        actual,
        expected.trim(),
        "\nstatus {status}, body {:?}",
        String::from_utf8_lossy(body)
    );
}

const RID: (&str, &str) = ("request-id", "req_011CSLsW7mFqvHHnzrKdKjAE");

fn error_body(error_type: &str, message: &str) -> String {
    serde_json::json!({
        "type": "error",
        "error": {"type": error_type, "message": message},
        "request_id": "req_body"
    })
    .to_string()
}

#[test]
fn success_replies() {
    check_reply(
        200,
        &[RID],
        r#"{"id":"msg_01","type":"message"}"#,
        true,
        "outcome=ok status=200 type=- request_id=req_011CSLsW7mFqvHHnzrKdKjAE retry_after=- not_before=-
The API answered normally (HTTP 200).",
    );
    // A 2xx is healthy only with the API's JSON: an HTML page is something else answering in the
    // API's place (a captive portal or proxy), and an empty or broken body is the API misbehaving.
    check_reply(
        200,
        &[("content-type", "text/html; charset=utf-8")],
        "<html><body>Sign in to the Wi-Fi</body></html>",
        true,
        "outcome=network status=200 type=- request_id=- retry_after=- not_before=-
Something other than the API answered HTTP 200 with text/html; charset=utf-8 (a captive portal or proxy?).",
    );
    check_reply(
        204,
        &[],
        "<html>",
        true,
        "outcome=network status=204 type=- request_id=- retry_after=- not_before=-
Something other than the API answered HTTP 204 with a page that is not JSON (a captive portal or proxy?).",
    );
    check_reply(
        200,
        &[RID, ("content-type", "application/json")],
        "",
        true,
        "outcome=server_error status=200 type=- request_id=req_011CSLsW7mFqvHHnzrKdKjAE retry_after=- not_before=-
The API answered HTTP 200 with an empty body.",
    );
    check_reply(
        200,
        &[("content-type", "application/json")],
        r#"{"data":[{"type":"model","#,
        true,
        "outcome=server_error status=200 type=- request_id=- retry_after=- not_before=-
The API answered HTTP 200 with a body that is not readable JSON.",
    );
}

#[test]
fn authentication_depends_on_whether_a_key_was_sent() {
    let body = error_body("authentication_error", "x-api-key header is required");
    check_reply(
        401,
        &[RID],
        &body,
        false,
        "outcome=unauthenticated status=401 type=authentication_error request_id=req_011CSLsW7mFqvHHnzrKdKjAE retry_after=- not_before=-
The API answered (HTTP 401); no API key is configured, so only reachability was checked: x-api-key header is required.",
    );
    check_reply(
        401,
        &[],
        &error_body("authentication_error", "invalid x-api-key"),
        true,
        "outcome=auth status=401 type=authentication_error request_id=req_body retry_after=- not_before=-
The API key was rejected (HTTP 401): invalid x-api-key.",
    );
}

#[test]
fn overload_is_any_529() {
    // The shape of a real 529, with `details: null` (api-facts B2, capture 57153756919).
    check_reply(
        529,
        &[],
        r#"{"type":"error","error":{"details":null,"type":"overloaded_error","message":"Overloaded"},"request_id":"req_011CW1"}"#,
        true,
        "outcome=overloaded status=529 type=overloaded_error request_id=req_011CW1 retry_after=- not_before=-
The API is overloaded (HTTP 529): Overloaded.",
    );
    check_reply(
        529,
        &[("content-type", "text/html")],
        "<html><body>upstream overloaded</body></html>",
        true,
        "outcome=overloaded status=529 type=- request_id=- retry_after=- not_before=-
The API is overloaded (HTTP 529); the response body was unreadable (it was HTML, probably from a proxy).",
    );
    check_reply(
        529,
        &[],
        "",
        false,
        "outcome=overloaded status=529 type=- request_id=- retry_after=- not_before=-
The API is overloaded (HTTP 529); the response body was unreadable (it was empty).",
    );
    // An overload reported under another 5xx is an overload too.
    check_reply(
        503,
        &[],
        &error_body("overloaded_error", "Overloaded"),
        true,
        "outcome=overloaded status=503 type=overloaded_error request_id=req_body retry_after=- not_before=-
The API is overloaded (HTTP 503): Overloaded.",
    );
}

#[test]
fn rate_limits_carry_the_servers_wait() {
    let body = error_body(
        "rate_limit_error",
        "This request would exceed the rate limit for your organization",
    );
    check_reply(
        429,
        &[RID, ("retry-after", "20")],
        &body,
        true,
        "outcome=rate_limited status=429 type=rate_limit_error request_id=req_011CSLsW7mFqvHHnzrKdKjAE retry_after=20000ms not_before=-
Rate limited (HTTP 429); the server asks to wait 20 s: This request would exceed the rate limit for your organization.",
    );
    check_reply(
        429,
        &[("retry-after-ms", "1500"), ("retry-after", "2")],
        &body,
        true,
        "outcome=rate_limited status=429 type=rate_limit_error request_id=req_body retry_after=1500ms not_before=-
Rate limited (HTTP 429); the server asks to wait 1.5 s: This request would exceed the rate limit for your organization.",
    );
    check_reply(
        429,
        &[("retry-after", "Fri, 21 Aug 2026 12:41:30 GMT")],
        &body,
        true,
        "outcome=rate_limited status=429 type=rate_limit_error request_id=req_body retry_after=30000ms not_before=-
Rate limited (HTTP 429); the server asks to wait 30 s: This request would exceed the rate limit for your organization.",
    );
    // Without a readable wait the reply still classifies.
    check_reply(
        429,
        &[("retry-after", "soon")],
        "",
        true,
        "outcome=rate_limited status=429 type=- request_id=- retry_after=- not_before=-
Rate limited (HTTP 429); the response body was unreadable (it was empty).",
    );
}

#[test]
fn spend_cap_waits_for_the_first_of_next_month() {
    // The message text is a placeholder; `details.error_code` is what the 2026 docs specify.
    let body = r#"{"type":"error","error":{"type":"rate_limit_error","message":"(placeholder)","details":{"error_code":"enforced_spend_limit_reached"}},"request_id":"req_cap"}"#;
    check_reply(
        429,
        &[("retry-after", "5")],
        body,
        true,
        "outcome=spend_cap status=429 type=rate_limit_error request_id=req_cap retry_after=- not_before=2026-09-01T00:00:00+00:00
The monthly spend cap is reached (HTTP 429); requests fail until 2026-09-01 00:00 UTC: (placeholder).",
    );
}

#[test]
fn billing_problems() {
    check_reply(
        402,
        &[],
        &error_body("billing_error", "Payment required"),
        true,
        "outcome=billing status=402 type=billing_error request_id=req_body retry_after=- not_before=-
The account has a billing problem (HTTP 402): Payment required.",
    );
    // The real 400 for an empty prepaid balance (api-facts B2), matched without regard to case.
    check_reply(
        400,
        &[],
        &error_body(
            "invalid_request_error",
            "Your Credit Balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.",
        ),
        true,
        "outcome=billing status=400 type=invalid_request_error request_id=req_body retry_after=- not_before=-
The account has a billing problem (HTTP 400): Your Credit Balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.",
    );
}

#[test]
fn other_client_errors() {
    let table: &[(u16, &str, &str)] = &[
        (400, "invalid_request_error", "outcome=invalid_request"),
        (403, "permission_error", "outcome=permission"),
        (404, "not_found_error", "outcome=not_found"),
        (408, "invalid_request_error", "outcome=invalid_request"),
        (409, "conflict_error", "outcome=invalid_request"),
        (413, "request_too_large", "outcome=invalid_request"),
        (422, "invalid_request_error", "outcome=invalid_request"),
    ];
    for (status, error_type, expected) in table {
        let headers = owned(&[]);
        let body = error_body(error_type, "m");
        let reply = HttpReply {
            status: *status,
            headers: &headers,
            body: body.as_bytes(),
            key_configured: true,
        };
        let rendered = render(&classify_reply(&reply, now()));
        assert!(
            rendered.starts_with(&format!("{expected} status={status} type={error_type} ")),
            "{status}: {rendered}"
        );
    }
}

#[test]
fn server_errors() {
    check_reply(
        500,
        &[RID],
        &error_body("api_error", "Internal server error"),
        true,
        "outcome=server_error status=500 type=api_error request_id=req_011CSLsW7mFqvHHnzrKdKjAE retry_after=- not_before=-
The API had an internal error (HTTP 500): Internal server error.",
    );
    check_reply(
        504,
        &[],
        &error_body("timeout_error", "Request timed out"),
        true,
        "outcome=server_error status=504 type=timeout_error request_id=req_body retry_after=- not_before=-
The API had an internal error (HTTP 504): Request timed out.",
    );
    check_reply(
        502,
        &[],
        r#"{"type":"error","error":{"type":"api_er"#,
        true,
        "outcome=server_error status=502 type=- request_id=- retry_after=- not_before=-
The API had an internal error (HTTP 502); the response body was unreadable (it was truncated JSON).",
    );
    check_reply_bytes(
        503,
        &[],
        &[0xff, 0xfe, 0x00, 0x41],
        true,
        "outcome=server_error status=503 type=- request_id=- retry_after=- not_before=-
The API had an internal error (HTTP 503); the response body was unreadable (it was not JSON).",
    );
    check_reply(
        500,
        &[],
        r#"{"message":"upstream connect error"}"#,
        true,
        "outcome=server_error status=500 type=- request_id=- retry_after=- not_before=-
The API had an internal error (HTTP 500); the response body was unreadable (it was JSON without an error object).",
    );
}

#[test]
fn something_in_between_answered() {
    check_reply(
        302,
        &[("location", "http://captive.portal/login")],
        "",
        true,
        "outcome=network status=302 type=- request_id=- retry_after=- not_before=-
Something other than the API answered with an unexpected HTTP 302; the response body was unreadable (it was empty).",
    );
}

#[test]
fn request_id_header_wins_and_ignores_case() {
    check_reply(
        500,
        &[("Request-Id", "req_header")],
        &error_body("api_error", ""),
        true,
        "outcome=server_error status=500 type=api_error request_id=req_header retry_after=- not_before=-
The API had an internal error (HTTP 500).",
    );
}

#[test]
fn long_messages_are_shortened() {
    let long = "é".repeat(500);
    let body = error_body("api_error", &long);
    let headers = owned(&[]);
    let reply = HttpReply {
        status: 500,
        headers: &headers,
        body: body.as_bytes(),
        key_configured: true,
    };
    let classification = classify_reply(&reply, now());
    assert_eq!(classification.error_message.as_deref(), Some(long.as_str()));
    assert!(
        classification.detail.chars().count() < 300,
        "{}",
        classification.detail
    );
    assert!(classification.detail.ends_with("é….") || classification.detail.ends_with("é…"));
}

#[test]
fn transport_failures() {
    let check = |failure: TransportFailure, expected: &str| {
        assert_eq!(render(&classify_transport(&failure)), expected.trim());
    };
    check(
        TransportFailure::Timeout,
        "outcome=timeout status=- type=- request_id=- retry_after=- not_before=-
The request timed out before the API answered.",
    );
    check(
        TransportFailure::Dns("failed to lookup address information".into()),
        "outcome=network status=- type=- request_id=- retry_after=- not_before=-
The API's host name could not be resolved: failed to lookup address information.",
    );
    check(
        TransportFailure::ConnectionRefused("Connection refused (os error 111)".into()),
        "outcome=network status=- type=- request_id=- retry_after=- not_before=-
The connection to the API was refused: Connection refused (os error 111).",
    );
    check(
        TransportFailure::ConnectionReset(String::new()),
        "outcome=network status=- type=- request_id=- retry_after=- not_before=-
The connection to the API was reset.",
    );
    check(
        TransportFailure::Tls("invalid peer certificate: UnknownIssuer".into()),
        "outcome=network status=- type=- request_id=- retry_after=- not_before=-
The secure connection to the API failed: invalid peer certificate: UnknownIssuer.",
    );
    check(
        TransportFailure::Other("broken pipe".into()),
        "outcome=network status=- type=- request_id=- retry_after=- not_before=-
The API could not be reached: broken pipe.",
    );
}

#[test]
fn health_meaning_of_each_outcome() {
    use ProbeOutcome::*;
    let table = [
        (Ok, true, false),
        (Unauthenticated, true, false),
        (Overloaded, false, true),
        (RateLimited, false, false),
        (SpendCap, false, false),
        (Billing, false, false),
        (ServerError, false, true),
        (Auth, false, false),
        (Permission, false, false),
        (NotFound, false, false),
        (InvalidRequest, false, false),
        (Timeout, false, true),
        (Network, false, false),
    ];
    assert_eq!(table.len(), ProbeOutcome::ALL.len());
    for (outcome, success, failure) in table {
        assert_eq!(
            (outcome.is_success(), outcome.is_failure()),
            (success, failure),
            "{outcome}"
        );
    }
}

#[test]
fn classification_round_trips_through_json() {
    let headers = owned(&[RID, ("retry-after-ms", "1500")]);
    let body = error_body("rate_limit_error", "slow down");
    let reply = HttpReply {
        status: 429,
        headers: &headers,
        body: body.as_bytes(),
        key_configured: true,
    };
    let classification = classify_reply(&reply, now());
    let json = serde_json::to_value(&classification).unwrap();
    assert_eq!(json["outcome"], "rate_limited");
    assert_eq!(json["retry_after_ms"], 1500);
    let back: Classification = serde_json::from_value(json).unwrap();
    assert_eq!(back, classification);
}

proptest! {
    /// Whatever the status and body, classification neither panics nor contradicts the status.
    #[test]
    fn any_reply_classifies(status in 0u16..1000, body in proptest::collection::vec(any::<u8>(), 0..200), key in any::<bool>()) {
        let headers = owned(&[("retry-after", "Fri, 21 Aug 2026 12:41:30 GMT")]);
        let reply = HttpReply { status, headers: &headers, body: &body, key_configured: key };
        let classification = classify_reply(&reply, now());
        prop_assert_eq!(classification.http_status, Some(status));
        prop_assert!(!classification.detail.is_empty());
        let expected_family = match status {
            200..=299 => vec![ProbeOutcome::Ok, ProbeOutcome::Network, ProbeOutcome::ServerError],
            500..=599 => vec![ProbeOutcome::Overloaded, ProbeOutcome::ServerError],
            400..=499 => vec![
                ProbeOutcome::Unauthenticated, ProbeOutcome::Auth, ProbeOutcome::Billing,
                ProbeOutcome::Permission, ProbeOutcome::NotFound, ProbeOutcome::RateLimited,
                ProbeOutcome::SpendCap, ProbeOutcome::InvalidRequest,
            ],
            _ => vec![ProbeOutcome::Network],
        };
        prop_assert!(expected_family.contains(&classification.outcome), "{:?}", classification);
    }
}
