//! Probe history as a chart series: the window cut into equal buckets, each with its latency and
//! time-to-first-token percentiles and its error counts, so a week of minute-by-minute probes is a
//! few hundred points for the dashboard's charts, not ten thousand.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::health::{percentile, HealthConfig, ProbeKind, ProbeResult, Signal};
use crate::probe::ProbeOutcome;

/// One bucket of the series. Counts are of all probes in the bucket; latencies are of the
/// reachability probes that the API answered, TTFT of the streaming probes that got a token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SeriesBucket {
    pub start: DateTime<Utc>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub probes: u64,
    /// Probes that count against the API's health (overload, server errors, timeouts, network).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub failures: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub overloaded: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub rate_limited: u64,
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub latency_p50_ms: Option<u64>,
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub latency_max_ms: Option<u64>,
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub ttft_p50_ms: Option<u64>,
}

/// The series of one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ProbeSeries {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub bucket_seconds: i64,
    /// Oldest first; every bucket of the window is present, empty ones with zero probes.
    pub buckets: Vec<SeriesBucket>,
}

/// Cuts `[from, to)` into `buckets` equal buckets (at least one, at least a second each) and
/// sorts the probes into them. Probes outside the window are ignored.
pub fn probe_series(
    probes: &[ProbeResult],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    buckets: usize,
) -> ProbeSeries {
    let span = (to - from).num_milliseconds().max(1000);
    let count = buckets.clamp(1, 10_000) as i64;
    let bucket_ms = (span + count - 1) / count;
    let bucket_ms = bucket_ms.max(1000);
    let count = (span + bucket_ms - 1) / bucket_ms;
    let config = HealthConfig::default();

    struct Acc {
        probes: u64,
        failures: u64,
        overloaded: u64,
        rate_limited: u64,
        latencies: Vec<u64>,
        ttfts: Vec<u64>,
    }
    let mut accs: Vec<Acc> = (0..count)
        .map(|_| Acc {
            probes: 0,
            failures: 0,
            overloaded: 0,
            rate_limited: 0,
            latencies: Vec::new(),
            ttfts: Vec::new(),
        })
        .collect();
    for probe in probes {
        if probe.at < from || probe.at >= to {
            continue;
        }
        let index = ((probe.at - from).num_milliseconds() / bucket_ms) as usize;
        let Some(acc) = accs.get_mut(index) else {
            continue;
        };
        acc.probes += 1;
        let outcome = probe.outcome();
        let down = matches!(
            config.signal(probe),
            Signal::Fail(kind) if !matches!(kind, crate::health::FailureKind::Slow | crate::health::FailureKind::SlowFirstToken)
        );
        acc.failures += u64::from(down);
        acc.overloaded += u64::from(outcome == ProbeOutcome::Overloaded);
        acc.rate_limited += u64::from(matches!(
            outcome,
            ProbeOutcome::RateLimited | ProbeOutcome::SpendCap
        ));
        match probe.kind {
            ProbeKind::Reachability if !down => acc.latencies.extend(probe.latency_ms),
            ProbeKind::Streaming => acc.ttfts.extend(probe.ttft_ms),
            ProbeKind::Reachability => {}
        }
    }
    ProbeSeries {
        from,
        to,
        bucket_seconds: bucket_ms / 1000,
        buckets: accs
            .into_iter()
            .enumerate()
            .map(|(i, acc)| SeriesBucket {
                start: from + Duration::milliseconds(i as i64 * bucket_ms),
                probes: acc.probes,
                failures: acc.failures,
                overloaded: acc.overloaded,
                rate_limited: acc.rate_limited,
                latency_p50_ms: percentile(&acc.latencies, 50),
                latency_max_ms: acc.latencies.iter().copied().max(),
                ttft_p50_ms: percentile(&acc.ttfts, 50),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::Classification;
    use chrono::TimeZone;

    fn at(minute: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_780_000_000, 0).unwrap() + Duration::minutes(minute)
    }

    fn probe(minute: i64, kind: ProbeKind, outcome: ProbeOutcome, ms: u64) -> ProbeResult {
        ProbeResult {
            at: at(minute),
            kind,
            classification: Classification {
                outcome,
                http_status: Some(200),
                error_type: None,
                error_message: None,
                request_id: None,
                retry_after: None,
                retry_not_before: None,
                detail: String::new(),
            },
            latency_ms: Some(ms),
            message_start_ms: None,
            ttft_ms: (kind == ProbeKind::Streaming).then_some(ms * 2),
            ratelimit: Default::default(),
            usage: None,
            confirmation: false,
            model: None,
        }
    }

    #[test]
    fn probes_fall_into_their_buckets() {
        let probes = vec![
            probe(0, ProbeKind::Reachability, ProbeOutcome::Ok, 100),
            probe(1, ProbeKind::Reachability, ProbeOutcome::Ok, 300),
            probe(1, ProbeKind::Streaming, ProbeOutcome::Ok, 400),
            probe(31, ProbeKind::Reachability, ProbeOutcome::Overloaded, 50),
            probe(32, ProbeKind::Reachability, ProbeOutcome::RateLimited, 70),
            probe(60, ProbeKind::Reachability, ProbeOutcome::Ok, 999),
        ];
        let series = probe_series(&probes, at(0), at(60), 2);
        assert_eq!(series.bucket_seconds, 1800);
        assert_eq!(series.buckets.len(), 2);
        let first = &series.buckets[0];
        assert_eq!((first.probes, first.failures), (3, 0));
        assert_eq!(first.latency_p50_ms, Some(100));
        assert_eq!(first.latency_max_ms, Some(300));
        assert_eq!(first.ttft_p50_ms, Some(800));
        let second = &series.buckets[1];
        // The 529 is down and has no latency to chart; the 429 is an answer and has one.
        assert_eq!(
            (
                second.probes,
                second.failures,
                second.overloaded,
                second.rate_limited
            ),
            (2, 1, 1, 1)
        );
        assert_eq!(second.latency_p50_ms, Some(70));
        assert_eq!(second.start, at(30));
    }

    #[test]
    fn an_empty_window_still_has_its_buckets() {
        let series = probe_series(&[], at(0), at(60 * 24), 288);
        assert_eq!(series.buckets.len(), 288);
        assert_eq!(series.bucket_seconds, 300);
        assert!(series
            .buckets
            .iter()
            .all(|b| b.probes == 0 && b.latency_p50_ms.is_none()));
    }

    #[test]
    fn degenerate_requests_are_bounded() {
        assert_eq!(probe_series(&[], at(0), at(0), 0).buckets.len(), 1);
        let tiny = probe_series(&[], at(0), at(1), 100_000);
        assert_eq!(tiny.bucket_seconds, 1);
        assert_eq!(tiny.buckets.len(), 60);
    }
}
