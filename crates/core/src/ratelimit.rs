//! The `anthropic-ratelimit-*` response headers (`reference/api-facts.md` B4) read into one
//! snapshot of the user's rate-limit buckets, for the "how close am I to my limits" view.
//!
//! Which families appear depends on the account and the date: 2024 replies carried only
//! `requests` and `tokens`, 2025 replies add the `input-tokens` / `output-tokens` split, and
//! Priority Tier, fast mode and subscription traffic bring families of their own. The four
//! standard families get fields; any other family is kept by name in `other_families`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::probe::header;

/// One token bucket as the headers describe it. Any part may be missing or unreadable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RateLimitBucket {
    /// `…-limit`: the bucket's size.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub limit: Option<u64>,
    /// `…-remaining`: what is left now. Token counts come rounded to the nearest thousand.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub remaining: Option<u64>,
    /// `…-reset`: when the bucket will be full again.
    pub reset: Option<DateTime<Utc>>,
}

/// All rate-limit headers of one reply.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RateLimitSnapshot {
    /// `anthropic-ratelimit-requests-*`.
    pub requests: Option<RateLimitBucket>,
    /// `anthropic-ratelimit-tokens-*`: the most restrictive token limit in effect.
    pub tokens: Option<RateLimitBucket>,
    /// `anthropic-ratelimit-input-tokens-*`.
    pub input_tokens: Option<RateLimitBucket>,
    /// `anthropic-ratelimit-output-tokens-*`.
    pub output_tokens: Option<RateLimitBucket>,
    /// `retry-after-ms` or `retry-after` in seconds. An HTTP-date `retry-after` is left out here
    /// because turning it into seconds needs the current time; `retry::parse_retry_after` does.
    pub retry_after_seconds: Option<f64>,
    /// Every other family with `-limit`/`-remaining`/`-reset` headers, keyed by the header name
    /// without that suffix (e.g. `anthropic-priority-input-tokens`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub other_families: BTreeMap<String, RateLimitBucket>,
}

impl RateLimitSnapshot {
    /// True when the reply carried no rate-limit information at all (a proxy's error page, the
    /// SDK recordings that strip these headers).
    pub fn is_empty(&self) -> bool {
        self.requests.is_none()
            && self.tokens.is_none()
            && self.input_tokens.is_none()
            && self.output_tokens.is_none()
            && self.retry_after_seconds.is_none()
            && self.other_families.is_empty()
    }
}

/// The prefixes of header families that describe rate-limit buckets. Anything else that happens
/// to end in `-reset` (there are none today) is not ours to interpret.
const FAMILY_PREFIXES: [&str; 3] = [
    "anthropic-ratelimit-",
    "anthropic-priority-",
    "anthropic-fast-",
];

/// Reads every rate-limit header of a reply. Header names may be in any case; values that do not
/// parse are left as `None` rather than failing the whole snapshot.
pub fn parse_ratelimit_headers(headers: &[(String, String)]) -> RateLimitSnapshot {
    let mut snapshot = RateLimitSnapshot::default();
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        let Some((family, part)) = split_family(&name) else {
            continue;
        };
        let bucket = match family {
            "anthropic-ratelimit-requests" => {
                snapshot.requests.get_or_insert_with(Default::default)
            }
            "anthropic-ratelimit-tokens" => snapshot.tokens.get_or_insert_with(Default::default),
            "anthropic-ratelimit-input-tokens" => {
                snapshot.input_tokens.get_or_insert_with(Default::default)
            }
            "anthropic-ratelimit-output-tokens" => {
                snapshot.output_tokens.get_or_insert_with(Default::default)
            }
            other => snapshot.other_families.entry(other.to_owned()).or_default(),
        };
        let value = value.trim();
        match part {
            Part::Limit => bucket.limit = value.parse().ok(),
            Part::Remaining => bucket.remaining = value.parse().ok(),
            Part::Reset => bucket.reset = parse_reset(value),
        }
    }
    snapshot.retry_after_seconds = header(headers, "retry-after-ms")
        .and_then(parse_non_negative)
        .map(|millis| millis / 1000.0)
        .or_else(|| header(headers, "retry-after").and_then(parse_non_negative));
    snapshot
}

#[derive(Debug, Clone, Copy)]
enum Part {
    Limit,
    Remaining,
    Reset,
}

/// Splits `anthropic-ratelimit-tokens-remaining` into its family and part.
fn split_family(name: &str) -> Option<(&str, Part)> {
    if !FAMILY_PREFIXES
        .iter()
        .any(|prefix| name.starts_with(prefix))
    {
        return None;
    }
    [
        ("-limit", Part::Limit),
        ("-remaining", Part::Remaining),
        ("-reset", Part::Reset),
    ]
    .into_iter()
    .find_map(|(suffix, part)| name.strip_suffix(suffix).map(|family| (family, part)))
}

/// A reset time: RFC 3339 for the API-key families, epoch seconds for the subscription
/// (`unified`) family.
fn parse_reset(value: &str) -> Option<DateTime<Utc>> {
    if let Ok(time) = DateTime::parse_from_rfc3339(value) {
        return Some(time.with_timezone(&Utc));
    }
    value
        .parse::<i64>()
        .ok()
        .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
}

fn parse_non_negative(text: &str) -> Option<f64> {
    text.parse::<f64>()
        .ok()
        .filter(|value| value.is_finite() && *value >= 0.0)
}
