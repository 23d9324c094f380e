//! The local gateway's figures as the dashboard and the CLI show them: its live counters, the
//! user's own traffic through it minute by minute, and the retries and fallbacks it made.
//!
//! The gateway itself lives in the engine; these are the plain values it reports, kept here so
//! the UI's TypeScript types are generated from them like every other report.

use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::{Deserialize, Serialize};

use crate::health::percentile;
use crate::usage::{UsageRecord, UsageSource};

/// A snapshot of the gateway's counters since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GatewayStats {
    /// Requests received, on any path.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub requests: u64,
    /// Requests being answered now.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub in_flight: u64,
    /// Client connections open now.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub active_connections: u64,
    /// Client connections accepted since the start.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub connections: u64,
    /// How the answers the clients got ended, one count per request.
    pub outcomes: OutcomeCounts,
    /// Requests sent upstream, retries and fallbacks included.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub upstream_attempts: u64,
    /// Retries of a 529, 500 or 429 (`--retry`).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub retries: u64,
    /// Switches to the next model of the fallback chain after persistent 529s (`--fallback`).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub fallbacks: u64,
    /// Requests sent to another provider of the fallback chain (translated).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub provider_fallbacks: u64,
    /// Requests another provider was due to serve that could not be translated faithfully.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub not_translated: u64,
    /// Streams that carried an `event: error` after their 200.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub stream_errors: u64,
    /// Answers whose client went away before the last byte; their upstream request was dropped.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub client_disconnects: u64,
    /// Answers cut off because the upstream connection broke mid-body.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub upstream_broken: u64,
    /// Usage records produced by metering.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub metered: u64,
    /// Metering work given up because its queue was full (the client's bytes were unaffected).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub metering_dropped: u64,
    /// Batches the usage ledger refused.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub ledger_errors: u64,
}

/// The final answer of each request, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OutcomeCounts {
    /// 1xx–3xx, with 2xx the usual case.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub ok: u64,
    /// 4xx other than 429, as the API sent them.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub client_error: u64,
    /// 429s, spend cap included.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub rate_limited: u64,
    /// 529s.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub overloaded: u64,
    /// Other 5xx sent by the API (or by something in front of it).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub server_error: u64,
    /// 502s of our own: the API could not be reached.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub unreachable: u64,
    /// 504s of our own: the API did not answer in time.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub timed_out: u64,
    /// 413s of our own: the request body was over the API's limit.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub too_large: u64,
    /// Requests outside `/v1/`, answered by the gateway itself.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub not_forwarded: u64,
    /// 403s of our own: a web page's request (an `Origin` not allowed, or a `Host` that is not
    /// the loopback listener's), refused so no site can use the gateway or read its figures.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    #[serde(default)]
    pub refused: u64,
}

/// What the gateway did instead of handing a failed answer to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ResilienceKind {
    /// The same request was sent again after a wait.
    Retry,
    /// The request was sent again with the next model of the fallback chain.
    Fallback,
    /// The request was sent to another provider's model (translated), served or not.
    Provider,
    /// Another provider was due, but the request needs a feature Chat Completions cannot carry
    /// faithfully; the client got Claude's own error.
    NotTranslated,
}

impl ResilienceKind {
    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            ResilienceKind::Retry => "retry",
            ResilienceKind::Fallback => "fallback",
            ResilienceKind::Provider => "provider",
            ResilienceKind::NotTranslated => "not_translated",
        }
    }

    /// The kind a stored name stands for.
    pub fn from_stored(text: &str) -> Option<ResilienceKind> {
        match text {
            "retry" => Some(ResilienceKind::Retry),
            "fallback" => Some(ResilienceKind::Fallback),
            "provider" => Some(ResilienceKind::Provider),
            "not_translated" => Some(ResilienceKind::NotTranslated),
            _ => None,
        }
    }
}

/// What happened at another provider (a [`ResilienceKind::Provider`] or
/// [`ResilienceKind::NotTranslated`] event).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ProviderAttempt {
    /// The chain entry (`openai:gpt-4o`).
    pub target: String,
    /// Why traffic left Claude ("claude-opus-5-5 has been overloaded for 6 min"), or why the
    /// request was not sent ("not translated: extended thinking …").
    pub reason: String,
    /// The provider's HTTP status; `None` when nothing was sent.
    pub status: Option<u16>,
    /// The client got the provider's answer, complete.
    pub served: bool,
    /// Time from the request reaching the gateway to the provider's last byte.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub latency_ms: Option<u64>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub input_tokens: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub output_tokens: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub cache_read_tokens: u64,
    /// At the provider's list price from the same price table as Claude's; `None` when the table
    /// has no row for the model (an OpenAI-compatible server's).
    pub cost_usd: Option<f64>,
}

/// One retry or fallback, as the ledger of the gateway's own decisions keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ResilienceEvent {
    /// When the failed attempt's answer arrived.
    pub at: DateTime<Utc>,
    pub kind: ResilienceKind,
    /// The status of the attempt that was not passed on (529, 500 or 429).
    pub status: u16,
    /// The model the failed attempt asked for, when the request named one.
    pub model: Option<String>,
    /// The model the next attempt asks for (a fallback only).
    pub to_model: Option<String>,
    /// How long the gateway waited before the next attempt (a retry only).
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub wait_ms: Option<u64>,
    /// The failed attempt's `request-id`, for a support ticket.
    pub request_id: Option<String>,
    /// The other provider's part, for a provider fallback.
    #[serde(default)]
    pub provider: Option<ProviderAttempt>,
}

/// Fallbacks to one target of the chain, as the Budget view sums them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FallbackTotals {
    /// The chain entry (`openai:gpt-4o`, or a Claude model).
    pub target: String,
    /// Requests sent to it.
    pub requests: u32,
    /// Requests it answered completely.
    pub served: u32,
    /// Requests due to go to it that could not be translated (other providers only).
    pub not_translated: u32,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub input_tokens: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub output_tokens: u64,
    /// The priced requests' cost.
    pub cost_usd: f64,
    /// Requests whose cost is unknown (no price row).
    pub unpriced: u32,
    /// Median latency of the served requests.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub latency_p50_ms: Option<u64>,
    pub last_at: Option<DateTime<Utc>>,
}

/// A model whose requests another provider serves now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ServedElsewhere {
    pub model: String,
    pub target: String,
    /// When its requests moved there.
    pub since: DateTime<Utc>,
}

/// Sums the fallbacks of `events` (any order) by target, the most used first. Claude targets
/// count their moves; other providers count their attempts, tokens and cost.
pub fn fallback_totals(events: &[ResilienceEvent]) -> Vec<FallbackTotals> {
    let mut by_target: std::collections::BTreeMap<String, (FallbackTotals, Vec<u64>)> =
        std::collections::BTreeMap::new();
    for event in events {
        let target = match (&event.kind, &event.provider, &event.to_model) {
            (ResilienceKind::Provider | ResilienceKind::NotTranslated, Some(p), _) => {
                p.target.clone()
            }
            (ResilienceKind::Fallback, _, Some(model)) => model.clone(),
            _ => continue,
        };
        let (totals, latencies) = by_target.entry(target.clone()).or_insert_with(|| {
            (
                FallbackTotals {
                    target,
                    ..FallbackTotals::default()
                },
                Vec::new(),
            )
        });
        totals.last_at = totals.last_at.max(Some(event.at));
        match (&event.kind, &event.provider) {
            (ResilienceKind::NotTranslated, _) => {
                totals.not_translated = totals.not_translated.saturating_add(1);
            }
            (ResilienceKind::Provider, Some(p)) => {
                totals.requests = totals.requests.saturating_add(1);
                if p.served {
                    totals.served = totals.served.saturating_add(1);
                    latencies.extend(p.latency_ms);
                }
                totals.input_tokens = totals
                    .input_tokens
                    .saturating_add(p.input_tokens.saturating_add(p.cache_read_tokens));
                totals.output_tokens = totals.output_tokens.saturating_add(p.output_tokens);
                match p.cost_usd {
                    Some(cost) if cost.is_finite() && cost >= 0.0 => totals.cost_usd += cost,
                    _ if p.input_tokens + p.output_tokens > 0 => {
                        totals.unpriced = totals.unpriced.saturating_add(1);
                    }
                    _ => {}
                }
            }
            _ => {
                // A move to another Claude model: the next attempt is metered as Claude traffic.
                totals.requests = totals.requests.saturating_add(1);
            }
        }
    }
    let mut totals: Vec<FallbackTotals> = by_target
        .into_values()
        .map(|(mut totals, latencies)| {
            totals.latency_p50_ms = percentile(&latencies, 50);
            totals
        })
        .collect();
    totals.sort_by(|a, b| {
        (b.requests + b.not_translated)
            .cmp(&(a.requests + a.not_translated))
            .then_with(|| a.target.cmp(&b.target))
    });
    totals
}

/// The user's traffic through the gateway in one minute.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GatewayMinute {
    /// The minute's first instant.
    pub start: DateTime<Utc>,
    /// Answers metered in the minute, failed attempts that were retried included.
    pub requests: u32,
    /// Answers below 400.
    pub ok: u32,
    pub overloaded: u32,
    pub rate_limited: u32,
    /// 5xx other than 529, the gateway's own 502 and 504 included.
    pub server_errors: u32,
    /// 4xx other than 429.
    pub client_errors: u32,
    /// Input tokens, cache writes included (cache reads are apart).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub input_tokens: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub output_tokens: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub cache_read_tokens: u64,
    /// Median time to the last byte.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub latency_p50_ms: Option<u64>,
    /// Median time to the first token of the streams.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub ttft_p50_ms: Option<u64>,
}

/// Everything the dashboard shows of the gateway.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GatewayReport {
    /// The settings ask for the gateway.
    pub enabled: bool,
    /// `ANTHROPIC_BASE_URL` for the user's code, while the gateway runs.
    pub url: Option<String>,
    /// Why the gateway is not running although it is enabled (its port taken, …).
    pub error: Option<String>,
    /// Where it forwards to.
    pub upstream: Option<String>,
    /// Retries of 529, 500 and 429 are on.
    pub retry: bool,
    /// The fallback chain as configured (Claude models and other providers' targets); empty
    /// when off.
    pub fallback: Vec<String>,
    /// How long a model's verdict must be in trouble before another provider is used.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub fallback_after_secs: u64,
    /// Models whose requests another provider serves now.
    pub served_elsewhere: Vec<ServedElsewhere>,
    /// Fallbacks this UTC month by target, with their cost.
    pub fallback_totals: Vec<FallbackTotals>,
    /// The counters since the gateway started; `None` while it does not run.
    pub stats: Option<GatewayStats>,
    /// The last minutes of traffic through it, oldest first, the current minute last.
    pub minutes: Vec<GatewayMinute>,
    /// The latest retries and fallbacks, newest first.
    pub events: Vec<ResilienceEvent>,
}

/// Sorts the gateway's records (other sources are skipped) into the `count` whole minutes that
/// end with the one holding `now`, oldest first. Every minute is present, empty ones with zeros.
pub fn gateway_minutes(
    records: &[UsageRecord],
    now: DateTime<Utc>,
    count: usize,
) -> Vec<GatewayMinute> {
    let count = count.clamp(1, 24 * 60);
    let current = now.duration_trunc(Duration::minutes(1)).unwrap_or(now);
    let first = current - Duration::minutes(count as i64 - 1);
    let mut minutes: Vec<GatewayMinute> = (0..count)
        .map(|i| GatewayMinute {
            start: first + Duration::minutes(i as i64),
            ..GatewayMinute::default()
        })
        .collect();
    let mut latencies: Vec<Vec<u64>> = vec![Vec::new(); count];
    let mut ttfts: Vec<Vec<u64>> = vec![Vec::new(); count];
    for record in records.iter().filter(|r| r.source == UsageSource::Gateway) {
        if record.at < first || record.at >= current + Duration::minutes(1) {
            continue;
        }
        let Ok(index) = usize::try_from((record.at - first).num_minutes()) else {
            continue;
        };
        let Some(minute) = minutes.get_mut(index) else {
            continue;
        };
        minute.requests = minute.requests.saturating_add(1);
        let counter = match record.status.unwrap_or(200) {
            529 => &mut minute.overloaded,
            429 => &mut minute.rate_limited,
            500..=599 => &mut minute.server_errors,
            400..=499 => &mut minute.client_errors,
            _ => &mut minute.ok,
        };
        *counter = counter.saturating_add(1);
        let tokens = &record.tokens;
        minute.input_tokens = minute.input_tokens.saturating_add(
            tokens
                .input
                .saturating_add(tokens.cache_write_5m)
                .saturating_add(tokens.cache_write_1h),
        );
        minute.output_tokens = minute.output_tokens.saturating_add(tokens.output);
        minute.cache_read_tokens = minute.cache_read_tokens.saturating_add(tokens.cache_read);
        if let Some(latency) = record.latency_ms {
            latencies[index].push(latency);
        }
        if let Some(ttft) = record.ttft_ms {
            ttfts[index].push(ttft);
        }
    }
    for (index, minute) in minutes.iter_mut().enumerate() {
        minute.latency_p50_ms = percentile(&latencies[index], 50);
        minute.ttft_p50_ms = percentile(&ttfts[index], 50);
    }
    minutes
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::usage::TokenCounts;

    fn at(minute: u32, second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 12, minute, second)
            .unwrap()
    }

    fn record(at: DateTime<Utc>, source: UsageSource, status: u16) -> UsageRecord {
        UsageRecord {
            status: Some(status),
            latency_ms: Some(u64::from(status)),
            ttft_ms: (status == 200).then_some(40),
            ..UsageRecord::new(
                at,
                source,
                "claude-sonnet-4-5",
                TokenCounts {
                    input: 10,
                    output: 5,
                    cache_write_5m: 2,
                    cache_write_1h: 1,
                    cache_read: 100,
                },
            )
        }
    }

    #[test]
    fn records_fall_into_their_minutes() {
        let now = at(10, 30);
        let records = vec![
            // Before the window: skipped.
            record(at(5, 59), UsageSource::Gateway, 200),
            record(at(6, 0), UsageSource::Gateway, 200),
            record(at(6, 59), UsageSource::Gateway, 529),
            // Another source: skipped.
            record(at(8, 0), UsageSource::ClaudeCode, 200),
            record(at(10, 1), UsageSource::Gateway, 429),
            record(at(10, 2), UsageSource::Gateway, 500),
            record(at(10, 3), UsageSource::Gateway, 400),
            record(at(10, 4), UsageSource::Gateway, 200),
        ];
        let minutes = gateway_minutes(&records, now, 5);
        assert_eq!(minutes.len(), 5);
        assert_eq!(minutes[0].start, at(6, 0));
        assert_eq!(minutes[4].start, at(10, 0));
        assert_eq!(
            (minutes[0].requests, minutes[0].ok, minutes[0].overloaded),
            (2, 1, 1)
        );
        assert_eq!(minutes[0].input_tokens, 26);
        assert_eq!(minutes[0].output_tokens, 10);
        assert_eq!(minutes[0].cache_read_tokens, 200);
        assert_eq!(minutes[0].latency_p50_ms, Some(200));
        assert_eq!(minutes[0].ttft_p50_ms, Some(40));
        assert_eq!(
            minutes[2],
            GatewayMinute {
                start: at(8, 0),
                ..GatewayMinute::default()
            }
        );
        let last = &minutes[4];
        assert_eq!(
            (
                last.requests,
                last.ok,
                last.rate_limited,
                last.server_errors,
                last.client_errors
            ),
            (4, 1, 1, 1, 1)
        );
    }

    #[test]
    fn a_record_from_the_future_is_skipped_and_counts_are_bounded() {
        let now = at(10, 0);
        let records = vec![record(at(11, 0), UsageSource::Gateway, 200)];
        let minutes = gateway_minutes(&records, now, 0);
        assert_eq!(minutes.len(), 1);
        assert_eq!(minutes[0].requests, 0);
        assert_eq!(gateway_minutes(&[], now, 1_000_000).len(), 24 * 60);
    }

    #[test]
    fn kinds_round_trip_through_their_stored_names() {
        for kind in [ResilienceKind::Retry, ResilienceKind::Fallback] {
            assert_eq!(ResilienceKind::from_stored(kind.as_str()), Some(kind));
        }
        assert_eq!(ResilienceKind::from_stored("other"), None);
    }

    fn provider_event(
        secs: u32,
        kind: ResilienceKind,
        attempt: ProviderAttempt,
    ) -> ResilienceEvent {
        ResilienceEvent {
            at: at(0, secs),
            kind,
            status: 529,
            model: Some("claude-opus-5-5".to_owned()),
            to_model: None,
            wait_ms: None,
            request_id: None,
            provider: Some(attempt),
        }
    }

    #[test]
    fn fallbacks_sum_by_target_with_their_cost() {
        let served = |latency: u64, cost: Option<f64>| ProviderAttempt {
            target: "openai:gpt-4o".to_owned(),
            reason: "overloaded for 6 min".to_owned(),
            status: Some(200),
            served: true,
            latency_ms: Some(latency),
            input_tokens: 1000,
            output_tokens: 100,
            cache_read_tokens: 0,
            cost_usd: cost,
        };
        let refused = ProviderAttempt {
            served: false,
            status: None,
            latency_ms: None,
            input_tokens: 0,
            output_tokens: 0,
            cost_usd: None,
            reason: "not translated: extended thinking".to_owned(),
            ..served(0, None)
        };
        let local = ProviderAttempt {
            target: "openai-compatible:local:llama3".to_owned(),
            ..served(50, None)
        };
        let events = vec![
            provider_event(1, ResilienceKind::Provider, served(300, Some(0.0035))),
            provider_event(2, ResilienceKind::Provider, served(500, Some(0.0035))),
            provider_event(3, ResilienceKind::Provider, served(400, Some(0.0035))),
            provider_event(4, ResilienceKind::NotTranslated, refused),
            provider_event(5, ResilienceKind::Provider, local),
            ResilienceEvent {
                kind: ResilienceKind::Fallback,
                to_model: Some("claude-sonnet-5-5".to_owned()),
                provider: None,
                ..provider_event(6, ResilienceKind::Fallback, served(0, None))
            },
            ResilienceEvent {
                kind: ResilienceKind::Retry,
                provider: None,
                ..provider_event(7, ResilienceKind::Retry, served(0, None))
            },
        ];
        let totals = fallback_totals(&events);
        let targets: Vec<&str> = totals.iter().map(|t| t.target.as_str()).collect();
        assert_eq!(
            targets,
            [
                "openai:gpt-4o",
                "claude-sonnet-5-5",
                "openai-compatible:local:llama3"
            ]
        );
        let openai = &totals[0];
        assert_eq!(
            (openai.requests, openai.served, openai.not_translated),
            (3, 3, 1)
        );
        assert_eq!((openai.input_tokens, openai.output_tokens), (3000, 300));
        assert!(
            (openai.cost_usd - 0.0105).abs() < 1e-9,
            "{}",
            openai.cost_usd
        );
        assert_eq!(openai.latency_p50_ms, Some(400));
        assert_eq!(openai.last_at, Some(at(0, 4)));
        assert_eq!((totals[2].unpriced, totals[2].cost_usd), (1, 0.0));
        assert_eq!(totals[1].requests, 1);
    }
}
