//! One API request's usage, whatever source saw it (Claude Code's logs, the Admin API, the local
//! gateway, our own streaming probe): the row of the usage ledger and the input of the tracker.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where a usage record comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsageSource {
    /// A Claude Code transcript (`~/.claude/projects/**/*.jsonl`).
    ClaudeCode,
    /// The Admin API's usage report (aggregated buckets, not single requests).
    AdminApi,
    /// The local gateway in front of the user's own traffic.
    Gateway,
    /// Our own streaming probe.
    Probe,
}

impl UsageSource {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            UsageSource::ClaudeCode => "claude_code",
            UsageSource::AdminApi => "admin_api",
            UsageSource::Gateway => "gateway",
            UsageSource::Probe => "probe",
        }
    }

    /// Reads the stored spelling.
    pub fn from_stored(text: &str) -> Option<Self> {
        Some(match text {
            "claude_code" => UsageSource::ClaudeCode,
            "admin_api" => UsageSource::AdminApi,
            "gateway" => UsageSource::Gateway,
            "probe" => UsageSource::Probe,
            _ => return None,
        })
    }
}

/// Token counts of one request (or one bucket), as the API's `usage` object reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TokenCounts {
    /// Input tokens after the last cache breakpoint (`input_tokens`).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub input: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub output: u64,
    /// Tokens written to the 5-minute cache (`cache_creation.ephemeral_5m_input_tokens`, or all of
    /// `cache_creation_input_tokens` when the split is missing).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub cache_write_5m: u64,
    /// Tokens written to the 1-hour cache.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub cache_write_1h: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub cache_read: u64,
}

impl TokenCounts {
    /// The counts of an API `usage` object (a reply's, or a stream's `message_start` and
    /// `message_delta` folded together). The cache writes are split 5-minute / 1-hour by
    /// `cache_creation`; without the split every write is a 5-minute one, and a total smaller than
    /// its parts is taken as the parts.
    pub fn from_usage(usage: &crate::sse::Usage) -> TokenCounts {
        let creation = usage.cache_creation_input_tokens.max(
            usage
                .cache_creation_5m
                .saturating_add(usage.cache_creation_1h),
        );
        let cache_write_1h = usage.cache_creation_1h.min(creation);
        TokenCounts {
            input: usage.input_tokens,
            output: usage.output_tokens,
            cache_write_5m: creation - cache_write_1h,
            cache_write_1h,
            cache_read: usage.cache_read_input_tokens,
        }
    }

    /// All cache writes.
    pub fn cache_write(&self) -> u64 {
        self.cache_write_5m + self.cache_write_1h
    }

    /// Every input token: uncached, cache writes and cache reads.
    pub fn total_input(&self) -> u64 {
        self.input + self.cache_write() + self.cache_read
    }

    /// Everything, as ccusage's `totalTokens` counts it.
    pub fn total(&self) -> u64 {
        self.total_input() + self.output
    }

    /// Field-wise `self - other`, each field at least zero.
    pub fn saturating_sub(&self, other: &TokenCounts) -> TokenCounts {
        TokenCounts {
            input: self.input.saturating_sub(other.input),
            output: self.output.saturating_sub(other.output),
            cache_write_5m: self.cache_write_5m.saturating_sub(other.cache_write_5m),
            cache_write_1h: self.cache_write_1h.saturating_sub(other.cache_write_1h),
            cache_read: self.cache_read.saturating_sub(other.cache_read),
        }
    }

    /// Field-wise sum.
    pub fn add(&mut self, other: &TokenCounts) {
        self.input += other.input;
        self.output += other.output;
        self.cache_write_5m += other.cache_write_5m;
        self.cache_write_1h += other.cache_write_1h;
        self.cache_read += other.cache_read;
    }
}

/// One request in the usage ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageRecord {
    pub at: DateTime<Utc>,
    pub source: UsageSource,
    /// The model id as the source gave it (`claude-sonnet-4-5-20250929`, `claude-opus-4-6[1m]`).
    pub model: String,
    pub tokens: TokenCounts,
    /// The HTTP status, when known (an API error line has one and no tokens).
    pub status: Option<u16>,
    pub latency_ms: Option<u64>,
    pub ttft_ms: Option<u64>,
    /// `standard`, `priority`, `batch`, … when known.
    pub service_tier: Option<String>,
    /// The API's `msg_…` id, when known.
    pub message_id: Option<String>,
    /// The API's `req_…` id, when known.
    pub request_id: Option<String>,
    /// The Claude Code session (or another source's grouping), when known.
    pub session_id: Option<String>,
    /// The Claude Code project folder, when known.
    pub project: Option<String>,
    /// A cost the source itself reported (old Claude Code `costUSD`), in USD.
    pub reported_cost_usd: Option<f64>,
    /// A Claude Code sidechain line (`isSidechain`): a subagent or a `/btw` replay. A replay that
    /// reuses its parent's message id is dropped by `aggregate::dedupe` (api-facts F).
    #[serde(default)]
    pub is_sidechain: bool,
}

impl UsageRecord {
    /// A record of `tokens` on `model` at `at`, with everything else unknown: the base that
    /// readers and tests fill in (`UsageRecord { status: Some(200), ..UsageRecord::new(…) }`).
    pub fn new(
        at: DateTime<Utc>,
        source: UsageSource,
        model: impl Into<String>,
        tokens: TokenCounts,
    ) -> UsageRecord {
        UsageRecord {
            at,
            source,
            model: model.into(),
            tokens,
            status: None,
            latency_ms: None,
            ttft_ms: None,
            service_tier: None,
            message_id: None,
            request_id: None,
            session_id: None,
            project: None,
            reported_cost_usd: None,
            is_sidechain: false,
        }
    }

    /// True for a line that records a failed request rather than usage.
    pub fn is_error(&self) -> bool {
        self.status.is_some_and(|s| !(200..300).contains(&s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sse::Usage;

    #[test]
    fn cache_creation_split() {
        let usage = Usage {
            cache_creation_input_tokens: 100,
            cache_creation_1h: 30,
            ..Usage::default()
        };
        let tokens = TokenCounts::from_usage(&usage);
        assert_eq!((tokens.cache_write_5m, tokens.cache_write_1h), (70, 30));
        let unsplit = Usage {
            cache_creation_input_tokens: 40,
            ..Usage::default()
        };
        assert_eq!(TokenCounts::from_usage(&unsplit).cache_write_5m, 40);
    }
}
