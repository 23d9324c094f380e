//! When and how long to wait before retrying a failed API call, with the same rules as the official
//! Anthropic SDKs (`reference/api-facts.md` G), as a pure function of the outcome, the headers,
//! the time spent so far and a jitter value the caller draws.
//!
//! Matching the SDKs matters: users compare what this app reports with what their own programs
//! saw, and a probe that retried more eagerly than the SDK would hide overloads that users felt.

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::probe::{header, Classification, ProbeOutcome};

/// The retry budget and back-off curve. `Default` is the SDKs' configuration plus an overall
/// time budget, which the SDKs leave to the request timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (the SDKs' default 2 means 3 attempts in all).
    pub max_retries: u32,
    /// The first back-off delay; each retry doubles it.
    pub initial: Duration,
    /// The longest back-off delay.
    pub max_delay: Duration,
    /// The whole call, attempts and waits together, must fit in this budget.
    pub max_total: Duration,
    /// Server-requested delays longer than this are ignored in favour of the back-off curve.
    pub server_delay_cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 2,
            initial: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_total: Duration::from_secs(60),
            server_delay_cap: Duration::from_secs(60),
        }
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Wait this long, then try again.
    Retry(Duration),
    /// Stop; the text says why, for logs.
    GiveUp(&'static str),
}

impl RetryPolicy {
    /// Decides whether to retry after an attempt that ended in `outcome`.
    ///
    /// `retries_so_far` counts retries already made (0 after the first attempt), `elapsed` is the
    /// time since the first attempt began, `headers` are the failed reply's headers (empty for a
    /// transport failure) and `jitter` is a random number in `[0, 1)`. The order of the rules:
    ///
    /// 1. Successes are not retried, and neither is the spend cap: it cannot lift before the 1st
    ///    of next month, so not even `x-should-retry: true` makes a retry useful.
    /// 2. `x-should-retry: true|false` overrides the status table, as in the SDKs.
    /// 3. Statuses 408, 409, 429 and every 5xx are retried; so are timeouts, network errors and
    ///    errors that arrived inside a stream after its 200 (overload, server error, rate limit).
    ///    Other client errors are not.
    /// 4. Give up when the retries are used up, or when waiting would overrun `max_total`.
    pub fn decide(
        &self,
        retries_so_far: u32,
        elapsed: Duration,
        outcome: &Classification,
        headers: &[(String, String)],
        jitter: f64,
        now: DateTime<Utc>,
    ) -> RetryDecision {
        if outcome.outcome.is_success() {
            return RetryDecision::GiveUp("the call succeeded");
        }
        if outcome.outcome == ProbeOutcome::SpendCap {
            return RetryDecision::GiveUp("the spend cap lifts only on the 1st of next month");
        }
        let retryable = match header(headers, "x-should-retry") {
            Some("true") => true,
            Some("false") => return RetryDecision::GiveUp("the server said x-should-retry: false"),
            _ => is_retryable(outcome),
        };
        if !retryable {
            return RetryDecision::GiveUp("the error is not retryable");
        }
        if retries_so_far >= self.max_retries {
            return RetryDecision::GiveUp("no retries left");
        }

        let server_delay = parse_retry_after(headers, now)
            .or(outcome.retry_after)
            .filter(|delay| *delay <= self.server_delay_cap);
        let delay = server_delay.unwrap_or_else(|| self.backoff(retries_so_far, jitter));
        match elapsed.checked_add(delay) {
            Some(total) if total <= self.max_total => RetryDecision::Retry(delay),
            _ => RetryDecision::GiveUp("the next wait would overrun the time budget"),
        }
    }

    /// The back-off delay before retry number `retries_so_far + 1`:
    /// `min(initial × 2^n, max_delay) × (1 − 0.25 × jitter)`.
    pub fn backoff(&self, retries_so_far: u32, jitter: f64) -> Duration {
        // The exponent is capped like the SDKs do, so the power cannot overflow to infinity.
        let exponent = i32::try_from(retries_so_far.min(1000)).unwrap_or(1000);
        let uncapped = self.initial.as_secs_f64() * 2f64.powi(exponent);
        let capped = uncapped.min(self.max_delay.as_secs_f64());
        // A jitter outside [0, 1) (or NaN) is a caller's bug; clamping keeps the delay within the
        // documented 75–100 % band instead of producing a negative or huge wait.
        let jitter = if jitter.is_nan() {
            0.0
        } else {
            jitter.clamp(0.0, 1.0)
        };
        Duration::try_from_secs_f64(capped * (1.0 - 0.25 * jitter)).unwrap_or(self.max_delay)
    }
}

/// Whether the status table (or, without a status, the outcome) allows a retry.
fn is_retryable(outcome: &Classification) -> bool {
    match outcome.http_status {
        Some(status) if !(200..300).contains(&status) => {
            matches!(status, 408 | 409 | 429) || status >= 500
        }
        // No reply, or a stream that failed after its 200: decide by what went wrong. A stream's
        // `overloaded_error` or `api_error` stands for the 529 or 500 it would have been.
        _ => matches!(
            outcome.outcome,
            ProbeOutcome::Timeout
                | ProbeOutcome::Network
                | ProbeOutcome::Overloaded
                | ProbeOutcome::ServerError
                | ProbeOutcome::RateLimited
        ),
    }
}

/// The longest wait a reply is believed to ask for. The longest real one is a plan's weekly
/// window (seven days); a value past a month is a broken or hostile header, and taken as given it
/// would be shown to the user as "retry after 18446744073709552 s".
pub const MAX_SERVER_WAIT: Duration = Duration::from_secs(31 * 86_400);

/// The delay a reply asks for: `retry-after-ms` (milliseconds) first, then `retry-after` as
/// seconds (fractions allowed) or as an HTTP date measured from `now`. The SDKs read them in this
/// order. Negative, non-finite and unparseable values count as absent, and so does a wait over
/// [`MAX_SERVER_WAIT`].
pub fn parse_retry_after(headers: &[(String, String)], now: DateTime<Utc>) -> Option<Duration> {
    let wait = if let Some(millis) = header(headers, "retry-after-ms").and_then(parse_seconds) {
        Duration::try_from_secs_f64(millis / 1000.0).ok()
    } else {
        let value = header(headers, "retry-after")?;
        match parse_seconds(value) {
            Some(seconds) => Duration::try_from_secs_f64(seconds).ok(),
            None => (parse_http_date(value)? - now).to_std().ok(),
        }
    };
    wait.filter(|wait| *wait <= MAX_SERVER_WAIT)
}

/// A non-negative finite number of seconds (or milliseconds).
fn parse_seconds(text: &str) -> Option<f64> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|value| value.is_finite() && *value >= 0.0)
}

/// Parses an HTTP date: the IMF-fixdate form (`Sun, 06 Nov 1994 08:49:37 GMT`) that servers send,
/// and the obsolete asctime form (`Sun Nov  6 08:49:37 1994`) that recipients must still accept.
pub fn parse_http_date(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc2822(text) {
        return Some(time.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(text, "%a %b %e %H:%M:%S %Y")
        .ok()
        .map(|naive| naive.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_in_both_accepted_forms() {
        let expected = DateTime::parse_from_rfc3339("1994-11-06T08:49:37Z")
            .unwrap()
            .with_timezone(&Utc);
        let check = |text: &str, expected: Option<DateTime<Utc>>| {
            assert_eq!(parse_http_date(text), expected, "{text:?}");
        };
        check("Sun, 06 Nov 1994 08:49:37 GMT", Some(expected));
        check("Sun Nov  6 08:49:37 1994", Some(expected));
        check("yesterday", None);
        check("", None);
    }

    #[test]
    fn backoff_survives_absurd_inputs() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.backoff(u32::MAX, 0.0), Duration::from_secs(8));
        assert_eq!(policy.backoff(0, f64::NAN), Duration::from_millis(500));
        assert_eq!(policy.backoff(0, -3.0), Duration::from_millis(500));
        assert_eq!(policy.backoff(0, 7.0), Duration::from_millis(375));
    }
}
