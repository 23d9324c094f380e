//! Classification of every outcome of a call to the Claude API: an HTTP reply of any status, or a
//! transport failure, becomes one `ProbeOutcome` with the details the UI and the health assessment
//! need.
//!
//! The rules follow the error table of the API documentation (status code and `error.type`, see
//! `reference/api-facts.md` B2). A failed probe is data, not an `Err`: every input classifies,
//! including bodies that are HTML from a proxy, empty or truncated.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::retry::parse_retry_after;

/// What one API call told us, in the words the app uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ProbeOutcome {
    /// A 2xx reply.
    Ok,
    /// A 401 while no API key is configured: the API answered, which is all we asked.
    Unauthenticated,
    /// A 529 (`overloaded_error`), or an `overloaded_error` event inside a stream.
    Overloaded,
    /// A 429 `rate_limit_error` that will lift by itself.
    RateLimited,
    /// A 429 whose `error.details.error_code` is `enforced_spend_limit_reached`: the monthly spend
    /// cap of the usage tier, which lifts only on the 1st of the next month.
    SpendCap,
    /// A 402 `billing_error`, or a 400 saying the credit balance is too low.
    Billing,
    /// A 500 `api_error`, a 504 `timeout_error` or any other 5xx.
    ServerError,
    /// A 401 although a key is configured: the key is wrong or revoked.
    Auth,
    /// A 403 `permission_error`.
    Permission,
    /// A 404 `not_found_error`, usually a model id that does not exist (any more).
    NotFound,
    /// Any other 4xx, usually a request this app built wrongly.
    InvalidRequest,
    /// No answer within our deadline.
    Timeout,
    /// We could not reach the API at all: DNS, refused or reset connection, TLS, or something in
    /// between (a proxy or captive portal) that answered instead of the API.
    Network,
}

impl ProbeOutcome {
    /// Every outcome, in declaration order.
    pub const ALL: [ProbeOutcome; 13] = [
        ProbeOutcome::Ok,
        ProbeOutcome::Unauthenticated,
        ProbeOutcome::Overloaded,
        ProbeOutcome::RateLimited,
        ProbeOutcome::SpendCap,
        ProbeOutcome::Billing,
        ProbeOutcome::ServerError,
        ProbeOutcome::Auth,
        ProbeOutcome::Permission,
        ProbeOutcome::NotFound,
        ProbeOutcome::InvalidRequest,
        ProbeOutcome::Timeout,
        ProbeOutcome::Network,
    ];

    /// The wire name (`"spend_cap"`), the same string serde writes.
    pub fn as_str(self) -> &'static str {
        match self {
            ProbeOutcome::Ok => "ok",
            ProbeOutcome::Unauthenticated => "unauthenticated",
            ProbeOutcome::Overloaded => "overloaded",
            ProbeOutcome::RateLimited => "rate_limited",
            ProbeOutcome::SpendCap => "spend_cap",
            ProbeOutcome::Billing => "billing",
            ProbeOutcome::ServerError => "server_error",
            ProbeOutcome::Auth => "auth",
            ProbeOutcome::Permission => "permission",
            ProbeOutcome::NotFound => "not_found",
            ProbeOutcome::InvalidRequest => "invalid_request",
            ProbeOutcome::Timeout => "timeout",
            ProbeOutcome::Network => "network",
        }
    }

    /// Whether the API answered as a healthy API would. A 401 without a key counts: the probe only
    /// asked whether the API is up, and the API answered.
    pub fn is_success(self) -> bool {
        matches!(self, ProbeOutcome::Ok | ProbeOutcome::Unauthenticated)
    }

    /// Whether the outcome counts against Anthropic's health.
    ///
    /// Only overload, server errors and timeouts do. Rate limits, the spend cap, billing, a bad
    /// key, permissions and malformed requests are the user's (or this app's) problem: the API is
    /// working when it says so, and calling that an outage would cry wolf. `Network` is not a
    /// failure here either, because from one failed connection we cannot tell whether our own
    /// network or Anthropic is down; the health assessment decides that with other evidence
    /// (the status page, other hosts).
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            ProbeOutcome::Overloaded | ProbeOutcome::ServerError | ProbeOutcome::Timeout
        )
    }
}

impl fmt::Display for ProbeOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An HTTP reply as the engine received it. Header names are expected in lower case (as `http`
/// and `reqwest` give them), but lookups here ignore case anyway.
#[derive(Debug, Clone, Copy)]
pub struct HttpReply<'a> {
    pub status: u16,
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
    /// Whether the request carried an API key; a 401 means something different without one.
    pub key_configured: bool,
}

/// Why a request got no HTTP reply at all. The strings carry the underlying error's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "message")]
pub enum TransportFailure {
    Timeout,
    Dns(String),
    ConnectionRefused(String),
    ConnectionReset(String),
    Tls(String),
    Other(String),
}

/// Everything the app keeps about one call's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Classification {
    pub outcome: ProbeOutcome,
    /// The HTTP status, or `None` when no reply arrived. A stream that failed after its 200 keeps
    /// the 200 here; the outcome says what went wrong.
    pub http_status: Option<u16>,
    /// `error.type` of the body (`"overloaded_error"`), when the body had one.
    pub error_type: Option<String>,
    /// `error.message` of the body, when the body had one.
    pub error_message: Option<String>,
    /// The `request-id` header, else the body's `request_id`: what Anthropic support asks for.
    pub request_id: Option<String>,
    /// How long the server asked us to wait (`retry-after-ms` or `retry-after`).
    #[serde(default, rename = "retry_after_ms", with = "optional_millis")]
    pub retry_after: Option<Duration>,
    /// For the spend cap: retrying is pointless before this instant (1st of next month, 00:00 UTC).
    pub retry_not_before: Option<DateTime<Utc>>,
    /// One human sentence for tooltips and logs.
    pub detail: String,
}

impl Classification {
    /// A classification with only an outcome and a sentence, for callers that fill in the rest.
    fn bare(outcome: ProbeOutcome, detail: String) -> Classification {
        Classification {
            outcome,
            http_status: None,
            error_type: None,
            error_message: None,
            request_id: None,
            retry_after: None,
            retry_not_before: None,
            detail,
        }
    }
}

/// The error code inside `error.details` that marks the tier's monthly spend cap.
pub const SPEND_CAP_ERROR_CODE: &str = "enforced_spend_limit_reached";

/// The phrase of the 400 that real traffic returns for an empty prepaid balance.
const CREDIT_TOO_LOW: &str = "credit balance is too low";

/// How much of a server's error message goes into `detail`, so a chatty proxy cannot flood a
/// tooltip or a log line.
const MAX_MESSAGE_IN_DETAIL: usize = 200;

/// Finds a header by name, ignoring ASCII case. The first occurrence wins.
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.trim())
}

/// When a monthly spend cap reached at `now` lifts: the 1st of the next month at 00:00 UTC.
pub fn spend_cap_lifts_at(now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let (year, month) = if now.month() == 12 {
        (now.year().checked_add(1)?, 1)
    } else {
        (now.year(), now.month() + 1)
    };
    let midnight = NaiveDate::from_ymd_opt(year, month, 1)?.and_hms_opt(0, 0, 0)?;
    Some(Utc.from_utc_datetime(&midnight))
}

/// Classifies an HTTP reply of any status. Never fails: an unreadable body falls back to the
/// status code.
pub fn classify_reply(reply: &HttpReply, now: DateTime<Utc>) -> Classification {
    let status = reply.status;
    let header_request_id = header(reply.headers, "request-id")
        .filter(|id| !id.is_empty())
        .map(str::to_owned);

    if (200..300).contains(&status) {
        let (outcome, detail) = success_body_verdict(status, reply);
        let mut classification = Classification::bare(outcome, detail);
        classification.http_status = Some(status);
        classification.request_id = header_request_id;
        return classification;
    }

    let body = read_error_body(reply.body);
    let (error_type, error_message, error_code, body_request_id) = match &body {
        ErrorBody::Error {
            error_type,
            message,
            error_code,
            request_id,
        } => (
            error_type.clone(),
            message.clone(),
            error_code.clone(),
            request_id.clone(),
        ),
        ErrorBody::Unreadable(_) => (None, None, None, None),
    };
    let type_is = |wanted: &str| error_type.as_deref() == Some(wanted);
    let credit_too_low = error_message
        .as_deref()
        .is_some_and(|message| message.to_ascii_lowercase().contains(CREDIT_TOO_LOW));
    let spend_cap = error_code.as_deref() == Some(SPEND_CAP_ERROR_CODE);

    let outcome = match status {
        401 if !reply.key_configured => ProbeOutcome::Unauthenticated,
        401 => ProbeOutcome::Auth,
        402 => ProbeOutcome::Billing,
        400 if credit_too_low => ProbeOutcome::Billing,
        // The SDKs' error-type set includes `billing_error`; whatever 4xx carries it means the same.
        400..=499 if type_is("billing_error") => ProbeOutcome::Billing,
        403 => ProbeOutcome::Permission,
        404 => ProbeOutcome::NotFound,
        429 if spend_cap => ProbeOutcome::SpendCap,
        429 => ProbeOutcome::RateLimited,
        400..=499 => ProbeOutcome::InvalidRequest,
        529 => ProbeOutcome::Overloaded,
        // An overload reported under another 5xx is still an overload, the same as inside a stream.
        500..=599 if type_is("overloaded_error") => ProbeOutcome::Overloaded,
        500..=599 => ProbeOutcome::ServerError,
        // 1xx, 3xx and non-standard codes never come from the API itself: something in between
        // (a proxy, a captive portal's redirect) answered, which is a problem on our side.
        _ => ProbeOutcome::Network,
    };

    let retry_not_before = if outcome == ProbeOutcome::SpendCap {
        spend_cap_lifts_at(now)
    } else {
        None
    };
    // A spend cap lifts only at the month boundary, so a `retry-after` there would mislead
    // whoever schedules the next attempt.
    let retry_after = if outcome == ProbeOutcome::SpendCap {
        None
    } else {
        parse_retry_after(reply.headers, now)
    };

    let detail = reply_detail(
        outcome,
        status,
        &body,
        error_message.as_deref(),
        retry_after,
        retry_not_before,
    );
    Classification {
        outcome,
        http_status: Some(status),
        error_type,
        error_message,
        request_id: header_request_id.or(body_request_id),
        retry_after,
        retry_not_before,
        detail,
    }
}

/// A 2xx is only a healthy answer when its body is the API's JSON. An HTML page with a 200 is a
/// captive portal or a proxy answering in the API's place (our network, not Anthropic), and an
/// empty or unreadable JSON body is the API misbehaving.
fn success_body_verdict(status: u16, reply: &HttpReply) -> (ProbeOutcome, String) {
    let content_type = header(reply.headers, "content-type")
        .unwrap_or("")
        .to_ascii_lowercase();
    let first = reply
        .body
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .copied();
    if first == Some(b'<') || (!content_type.is_empty() && !content_type.contains("json")) {
        return (
            ProbeOutcome::Network,
            format!(
                "Something other than the API answered HTTP {status} with {} (a captive portal or proxy?).",
                if content_type.is_empty() { "a page that is not JSON" } else { content_type.as_str() }
            ),
        );
    }
    if first.is_none() {
        return (
            ProbeOutcome::ServerError,
            format!("The API answered HTTP {status} with an empty body."),
        );
    }
    match serde_json::from_slice::<serde_json::Value>(reply.body) {
        Ok(serde_json::Value::Object(_)) => (
            ProbeOutcome::Ok,
            format!("The API answered normally (HTTP {status})."),
        ),
        _ => (
            ProbeOutcome::ServerError,
            format!("The API answered HTTP {status} with a body that is not readable JSON."),
        ),
    }
}

/// Classifies a request that got no HTTP reply.
pub fn classify_transport(failure: &TransportFailure) -> Classification {
    let (outcome, detail) = match failure {
        TransportFailure::Timeout => (
            ProbeOutcome::Timeout,
            "The request timed out before the API answered.".to_owned(),
        ),
        TransportFailure::Dns(why) => (
            ProbeOutcome::Network,
            sentence("The API's host name could not be resolved", why),
        ),
        TransportFailure::ConnectionRefused(why) => (
            ProbeOutcome::Network,
            sentence("The connection to the API was refused", why),
        ),
        TransportFailure::ConnectionReset(why) => (
            ProbeOutcome::Network,
            sentence("The connection to the API was reset", why),
        ),
        TransportFailure::Tls(why) => (
            ProbeOutcome::Network,
            sentence("The secure connection to the API failed", why),
        ),
        TransportFailure::Other(why) => (
            ProbeOutcome::Network,
            sentence("The API could not be reached", why),
        ),
    };
    Classification::bare(outcome, detail)
}

/// Maps an `error.type` from a stream's `event: error` to an outcome, by the same table as HTTP
/// statuses (B2: `overloaded_error` is 529, `api_error` is 500, and so on). Unknown types count as
/// server errors: the server broke off a stream it had accepted.
pub(crate) fn outcome_for_error_type(error_type: &str, message: &str) -> ProbeOutcome {
    match error_type {
        "overloaded_error" => ProbeOutcome::Overloaded,
        "rate_limit_error" => ProbeOutcome::RateLimited,
        "billing_error" => ProbeOutcome::Billing,
        "authentication_error" => ProbeOutcome::Auth,
        "permission_error" => ProbeOutcome::Permission,
        "not_found_error" => ProbeOutcome::NotFound,
        "invalid_request_error" | "request_too_large"
            if message.to_ascii_lowercase().contains(CREDIT_TOO_LOW) =>
        {
            ProbeOutcome::Billing
        }
        "invalid_request_error" | "request_too_large" => ProbeOutcome::InvalidRequest,
        _ => ProbeOutcome::ServerError,
    }
}

/// Builds the classification of a stream that failed after its HTTP 200; `sse.rs` exposes it.
pub(crate) fn stream_error_classification(
    error_type: &str,
    message: &str,
    request_id: Option<String>,
) -> Classification {
    let outcome = outcome_for_error_type(error_type, message);
    let what = if error_type.is_empty() {
        "an error".to_owned()
    } else {
        format!("`{error_type}`")
    };
    let detail = sentence(
        &format!("The stream failed after HTTP 200 with {what}"),
        message,
    );
    Classification {
        outcome,
        http_status: Some(200),
        error_type: Some(error_type.to_owned()).filter(|t| !t.is_empty()),
        error_message: Some(message.to_owned()).filter(|m| !m.is_empty()),
        request_id,
        retry_after: None,
        retry_not_before: None,
        detail,
    }
}

/// What we could read from an error reply's body.
#[derive(Debug)]
enum ErrorBody {
    /// The documented shape `{"type":"error","error":{"type","message","details"},"request_id"}`;
    /// every part is optional because proxies and older API versions drop some.
    Error {
        error_type: Option<String>,
        message: Option<String>,
        error_code: Option<String>,
        request_id: Option<String>,
    },
    /// Not that shape; the text says why, for the detail sentence.
    Unreadable(&'static str),
}

fn read_error_body(body: &[u8]) -> ErrorBody {
    if body.iter().all(u8::is_ascii_whitespace) {
        return ErrorBody::Unreadable("it was empty");
    }
    let value: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(error) if error.is_eof() => return ErrorBody::Unreadable("it was truncated JSON"),
        Err(_) => {
            let starts_with_tag = body
                .iter()
                .find(|byte| !byte.is_ascii_whitespace())
                .is_some_and(|byte| *byte == b'<');
            return ErrorBody::Unreadable(if starts_with_tag {
                "it was HTML, probably from a proxy"
            } else {
                "it was not JSON"
            });
        }
    };
    let Some(error) = value.get("error").filter(|error| error.is_object()) else {
        return ErrorBody::Unreadable("it was JSON without an error object");
    };
    let text = |value: Option<&Value>| value.and_then(Value::as_str).map(str::to_owned);
    ErrorBody::Error {
        error_type: text(error.get("type")),
        message: text(error.get("message")),
        error_code: text(
            error
                .get("details")
                .and_then(|details| details.get("error_code")),
        ),
        request_id: text(value.get("request_id")).filter(|id| !id.is_empty()),
    }
}

/// Writes the one-sentence `detail` of an HTTP reply.
fn reply_detail(
    outcome: ProbeOutcome,
    status: u16,
    body: &ErrorBody,
    message: Option<&str>,
    retry_after: Option<Duration>,
    retry_not_before: Option<DateTime<Utc>>,
) -> String {
    let headline = match outcome {
        ProbeOutcome::Ok => format!("The API answered normally (HTTP {status})"),
        ProbeOutcome::Unauthenticated => format!(
            "The API answered (HTTP {status}); no API key is configured, so only reachability was checked"
        ),
        ProbeOutcome::Overloaded => format!("The API is overloaded (HTTP {status})"),
        ProbeOutcome::RateLimited => match retry_after {
            Some(wait) => format!(
                "Rate limited (HTTP {status}); the server asks to wait {}",
                human_duration(wait)
            ),
            None => format!("Rate limited (HTTP {status})"),
        },
        ProbeOutcome::SpendCap => match retry_not_before {
            Some(when) => format!(
                "The monthly spend cap is reached (HTTP {status}); requests fail until {}",
                when.format("%Y-%m-%d %H:%M UTC")
            ),
            None => format!("The monthly spend cap is reached (HTTP {status})"),
        },
        ProbeOutcome::Billing => format!("The account has a billing problem (HTTP {status})"),
        ProbeOutcome::ServerError => format!("The API had an internal error (HTTP {status})"),
        ProbeOutcome::Auth => format!("The API key was rejected (HTTP {status})"),
        ProbeOutcome::Permission => {
            format!("The API key may not use this resource (HTTP {status})")
        }
        ProbeOutcome::NotFound => format!("The API did not find the resource (HTTP {status})"),
        ProbeOutcome::InvalidRequest => format!("The API rejected the request (HTTP {status})"),
        ProbeOutcome::Timeout => format!("The API timed out (HTTP {status})"),
        ProbeOutcome::Network => format!(
            "Something other than the API answered with an unexpected HTTP {status}"
        ),
    };
    match (body, message) {
        (ErrorBody::Unreadable(why), _) => {
            format!("{headline}; the response body was unreadable ({why}).")
        }
        (ErrorBody::Error { .. }, Some(message)) => sentence(&headline, message),
        (ErrorBody::Error { .. }, None) => format!("{headline}."),
    }
}

/// Joins a headline and a server's (or library's) message into one sentence, shortening the
/// message so the result stays one readable line.
fn sentence(headline: &str, message: &str) -> String {
    let message = message.trim();
    if message.is_empty() {
        return format!("{headline}.");
    }
    let shortened = shorten(message, MAX_MESSAGE_IN_DETAIL);
    let end = if shortened.ends_with(['.', '!', '?']) {
        ""
    } else {
        "."
    };
    format!("{headline}: {shortened}{end}")
}

/// Cuts `text` to at most `max_chars` characters, on a character boundary, marking the cut.
fn shorten(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

fn human_duration(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    if seconds < 10.0 && duration.subsec_millis() != 0 {
        format!("{seconds:.1} s")
    } else {
        format!("{} s", duration.as_secs())
    }
}

/// Serialises an optional `Duration` as whole milliseconds, the unit the UI and the logs use.
mod optional_millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(
        value: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        value
            .map(|duration| u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
            .serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(deserializer)?.map(Duration::from_millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .map(|time| time.with_timezone(&Utc))
            .unwrap()
    }

    #[test]
    fn spend_cap_lifts_on_the_first_of_next_month() {
        let check = |now: &str, expected: &str| {
            assert_eq!(
                spend_cap_lifts_at(at(now)),
                Some(at(expected)),
                "now = {now}"
            );
        };
        check("2026-08-15T12:00:00Z", "2026-09-01T00:00:00Z");
        check("2026-12-31T23:59:59Z", "2027-01-01T00:00:00Z");
        check("2026-01-31T00:00:00Z", "2026-02-01T00:00:00Z");
        check("2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z");
    }

    #[test]
    fn shorten_cuts_on_character_boundaries() {
        assert_eq!(shorten("héllo", 2), "hé…");
        assert_eq!(shorten("héllo", 5), "héllo");
        assert_eq!(shorten("", 0), "");
    }

    #[test]
    fn every_outcome_serialises_as_its_wire_name() {
        for outcome in ProbeOutcome::ALL {
            let json = serde_json::to_string(&outcome).unwrap();
            assert_eq!(json, format!("\"{}\"", outcome.as_str()));
            assert_eq!(
                serde_json::from_str::<ProbeOutcome>(&json).unwrap(),
                outcome
            );
        }
    }
}
