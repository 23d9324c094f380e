//! Spike alerts on the user's own gateway traffic: each model's cost per 1,000 requests and p95
//! input tokens per request against that model's own 7-day baseline, and the p95 time to first
//! token (streams) and answer time (whole answers) against fixed limits. Pure: samples, prices
//! and time all come in as arguments.
//!
//! The rules, which `deploy/prometheus/claude-status.rules.yml` states for Prometheus too:
//!
//! * **Hourly values.** Each completed UTC clock hour with at least [`MIN_REQUESTS`] successful
//!   requests of a model gives one value per measure: `1000 × cost / requests` (over the requests
//!   with a known price) and the p95 of `TokenCounts::total_input` per request.
//! * **Baseline.** The median of that model's hourly values of the last 7 days; none until
//!   [`BASELINE_HOURS`] such hours exist ("learning").
//! * **Current value.** The same figure over the trailing 60 minutes, again only with at least
//!   [`MIN_REQUESTS`] requests. It is above when it is more than [`SPIKE_FACTOR`] times the
//!   baseline, and an alert fires once it has been above at every evaluation for [`SUSTAIN`]
//!   (Prometheus's `for: 10m`).
//! * **Latency.** Over the last [`LATENCY_WINDOW`]: the p95 time to first token of at least
//!   [`MIN_LATENCY_REQUESTS`] streamed requests over [`TTFT_LIMIT_MS`], and the p95 duration of
//!   at least as many non-streamed answers over [`ANSWER_LIMIT_MS`]. A stream's whole duration is
//!   never timed: a long answer takes longer by design.
//!
//! Only 2xx requests count. Claude Code's transcripts are not fed here: they carry no time to
//! first token, and the gateway is the one source that sees every request as it happens.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::alerts::{AlertKind, Notification};
use crate::catalog::Catalog;
use crate::level::Level;
use crate::usage::{TokenCounts, UsageRecord};

/// The fewest successful requests an hour (and the trailing hour) needs to give a value: fewer
/// make a median of noise (the Prometheus recording rule's `and … >= 100`).
pub const MIN_REQUESTS: u64 = 100;

/// The hourly values a baseline needs before any alert on it can fire.
pub const BASELINE_HOURS: usize = 24;

/// How far back hourly values count toward the baseline, in hours (7 days).
pub const BASELINE_SPAN_HOURS: i64 = 7 * 24;

/// "Above" means more than this many times the baseline.
pub const SPIKE_FACTOR: f64 = 2.0;

/// What a spike's end adds to its start's key: the alert state pairs the two by it.
pub const RECOVERED_SUFFIX: &str = ":recovered";

/// How long a value must stay above before its alert fires.
pub const SUSTAIN: Duration = Duration::minutes(10);

/// The window the latency rules look at.
pub const LATENCY_WINDOW: Duration = Duration::minutes(10);

/// The fewest requests in [`LATENCY_WINDOW`] a latency p95 needs.
pub const MIN_LATENCY_REQUESTS: usize = 20;

/// The p95 time to first token of streamed requests above which the stream alert fires.
pub const TTFT_LIMIT_MS: u64 = 3_000;

/// The p95 duration of non-streamed answers above which the answer-time alert fires.
pub const ANSWER_LIMIT_MS: u64 = 5_000;

/// The latency samples kept per model and window. At 20 requests a second a 10-minute window
/// holds 12,000, so this covers the window for any one developer's traffic; beyond it the oldest
/// go first and the p95 is over the latest 20,000 requests.
pub const LATENCY_SAMPLES_KEPT: usize = 20_000;

/// The models watched at once. A sample of a further model is dropped (and counted in the
/// report) until a watched model has been silent for 7 days. With [`LATENCY_SAMPLES_KEPT`] this
/// bounds the latency rings at 16 × 2 × 20,000 samples (about 5 MB).
pub const MODELS_KEPT: usize = 16;

/// How long after its end an hour is closed: the gateway meters a stream when it ends, so a
/// request that started at 12:59 may reach the watch at 13:03.
pub const HOUR_GRACE: Duration = Duration::minutes(5);

/// The per-minute tallies kept per model: the trailing hour, the hour being closed and the grace
/// (at most 2 hours, each minute's token histogram at most [`HISTOGRAM_BUCKETS`] entries).
const MINUTES_KEPT: i64 = 120;

/// The number of buckets a [`TokenHistogram`] can use.
pub const HISTOGRAM_BUCKETS: usize = 128 + 57 * 16;

/// One successful or failed request through the gateway, as the spike watch sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrafficSample {
    pub at: DateTime<Utc>,
    /// The model id as the request named it; the watch normalises it with the catalog, so
    /// `claude-sonnet-4-5-20250929` and `claude-sonnet-4-5` are one model.
    pub model: String,
    /// The HTTP status; only 2xx count.
    pub status: Option<u16>,
    pub tokens: TokenCounts,
    /// The service tier, for the price.
    #[serde(default)]
    pub service_tier: Option<String>,
    /// The answer was an event stream: its time to first token is timed, never its duration.
    pub streamed: bool,
    pub ttft_ms: Option<u64>,
    pub latency_ms: Option<u64>,
}

impl TrafficSample {
    /// The sample of a gateway record.
    pub fn from_record(record: &UsageRecord, streamed: bool) -> TrafficSample {
        TrafficSample {
            at: record.at,
            model: record.model.clone(),
            status: record.status,
            tokens: record.tokens,
            service_tier: record.service_tier.clone(),
            streamed,
            ttft_ms: record.ttft_ms,
            latency_ms: record.latency_ms,
        }
    }

    fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// The sample's cost with `catalog`'s prices (the tracker's, so it agrees with the Budget
    /// view), `None` when the price of its model is unknown.
    pub fn cost_usd(&self, catalog: &Catalog) -> Option<f64> {
        let cost = crate::cost::cost_of(
            &self.tokens,
            &self.model,
            self.service_tier.as_deref(),
            catalog,
        );
        (!cost.unknown_price && cost.usd.is_finite()).then_some(cost.usd)
    }
}

/// A histogram of token counts with bounded resolution: values under 128 exactly, larger ones in
/// 16 buckets per power of two, so a quantile read from it is at most 1/16 (6.25 %) above the
/// true value and never below it. It has at most [`HISTOGRAM_BUCKETS`] buckets whatever it holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenHistogram {
    counts: BTreeMap<u16, u64>,
    total: u64,
}

fn bucket_of(value: u64) -> u16 {
    if value < 128 {
        return value as u16;
    }
    let exponent = 63 - value.leading_zeros(); // at least 7
    let sub = (value >> (exponent - 4)) & 15;
    (128 + (exponent - 7) * 16 + sub as u32) as u16
}

/// The largest value a bucket holds.
fn bucket_upper(bucket: u16) -> u64 {
    if bucket < 128 {
        return u64::from(bucket);
    }
    let index = u32::from(bucket) - 128;
    let exponent = index / 16 + 7;
    let sub = u64::from(index % 16);
    let width = 1u64 << (exponent - 4);
    ((16 + sub) << (exponent - 4)).saturating_add(width - 1)
}

impl TokenHistogram {
    pub fn record(&mut self, value: u64) {
        *self.counts.entry(bucket_of(value)).or_default() += 1;
        self.total += 1;
    }

    pub fn merge(&mut self, other: &TokenHistogram) {
        for (bucket, count) in &other.counts {
            *self.counts.entry(*bucket).or_default() += count;
        }
        self.total += other.total;
    }

    /// How many values it holds.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The nearest-rank `quantile` (0 to 1), as the upper bound of the bucket it falls in.
    pub fn quantile(&self, quantile: f64) -> Option<u64> {
        if self.total == 0 {
            return None;
        }
        let rank = nearest_rank(self.total, quantile);
        let mut seen = 0;
        for (bucket, count) in &self.counts {
            seen += count;
            if seen >= rank {
                return Some(bucket_upper(*bucket));
            }
        }
        self.counts.keys().next_back().map(|b| bucket_upper(*b))
    }
}

/// The 1-based nearest rank of `quantile` among `count` values: `ceil(quantile × count)`, at
/// least 1.
fn nearest_rank(count: u64, quantile: f64) -> u64 {
    let rank = (quantile.clamp(0.0, 1.0) * count as f64).ceil() as u64;
    rank.clamp(1, count.max(1))
}

/// The exact nearest-rank p95 of some values.
fn p95_exact(values: impl Iterator<Item = u64>) -> Option<(u64, usize)> {
    let mut sorted: Vec<u64> = values.collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_unstable();
    let rank = nearest_rank(sorted.len() as u64, 0.95) as usize;
    Some((sorted[rank - 1], sorted.len()))
}

/// The successful requests of one model over some span (a minute, an hour): what the hourly
/// values and the trailing hour are computed from. The engine folds the ledger's rows into one
/// per model and hour to seed the baseline at start.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrafficTally {
    /// Successful requests.
    pub requests: u64,
    /// Those with a known price.
    pub priced_requests: u64,
    /// The cost of the priced ones.
    pub cost_usd: f64,
    /// `TokenCounts::total_input` per request.
    pub input_tokens: TokenHistogram,
}

impl TrafficTally {
    /// Counts one successful request; `cost_usd` is `None` when its price is unknown.
    pub fn add(&mut self, tokens: &TokenCounts, cost_usd: Option<f64>) {
        self.requests += 1;
        if let Some(cost) = cost_usd.filter(|c| c.is_finite() && *c >= 0.0) {
            self.priced_requests += 1;
            self.cost_usd += cost;
        }
        self.input_tokens.record(tokens.total_input());
    }

    pub fn merge(&mut self, other: &TrafficTally) {
        self.requests += other.requests;
        self.priced_requests += other.priced_requests;
        self.cost_usd += other.cost_usd;
        self.input_tokens.merge(&other.input_tokens);
    }

    /// `1000 × cost / requests` over the priced requests, when there are at least
    /// [`MIN_REQUESTS`] of them.
    pub fn cost_per_1k_usd(&self) -> Option<f64> {
        (self.priced_requests >= MIN_REQUESTS)
            .then(|| 1000.0 * self.cost_usd / self.priced_requests as f64)
    }

    /// The p95 input tokens per request, when there are at least [`MIN_REQUESTS`] requests.
    pub fn p95_input_tokens(&self) -> Option<u64> {
        if self.requests < MIN_REQUESTS {
            return None;
        }
        self.input_tokens.quantile(0.95)
    }

    /// The hour's value, when it had at least [`MIN_REQUESTS`] requests.
    pub fn hour_value(&self, model: &str, hour: DateTime<Utc>) -> Option<HourValue> {
        (self.requests >= MIN_REQUESTS).then(|| HourValue {
            model: model.to_owned(),
            hour,
            requests: self.requests,
            cost_per_1k_usd: self.cost_per_1k_usd(),
            p95_input_tokens: self.p95_input_tokens(),
        })
    }
}

/// One completed clock hour of one model: what its baseline is the median of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HourValue {
    /// The normalised model id.
    pub model: String,
    /// The hour's start (UTC, on the hour).
    pub hour: DateTime<Utc>,
    pub requests: u64,
    /// `None` when fewer than [`MIN_REQUESTS`] of its requests had a known price.
    pub cost_per_1k_usd: Option<f64>,
    pub p95_input_tokens: Option<u64>,
}

/// What a spike alert measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SpikeMeasure {
    /// Cost per 1,000 requests over the trailing hour, against the 7-day baseline. Named by
    /// hand: serde's snake case would write `cost_per1k`, unlike its key's `cost_per_1k`.
    #[serde(rename = "cost_per_1k")]
    CostPer1k,
    /// p95 input tokens per request over the trailing hour, against the 7-day baseline.
    P95InputTokens,
    /// p95 time to first token of streamed requests over 10 minutes, against 3 s.
    StreamTtft,
    /// p95 duration of non-streamed answers over 10 minutes, against 5 s.
    AnswerTime,
}

impl SpikeMeasure {
    pub const ALL: [SpikeMeasure; 4] = [
        SpikeMeasure::CostPer1k,
        SpikeMeasure::P95InputTokens,
        SpikeMeasure::StreamTtft,
        SpikeMeasure::AnswerTime,
    ];

    /// The name in keys and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            SpikeMeasure::CostPer1k => "cost_per_1k",
            SpikeMeasure::P95InputTokens => "p95_input_tokens",
            SpikeMeasure::StreamTtft => "stream_ttft",
            SpikeMeasure::AnswerTime => "answer_time",
        }
    }

    /// The words in a notification.
    fn words(self) -> &'static str {
        match self {
            SpikeMeasure::CostPer1k => "cost per 1,000 requests",
            SpikeMeasure::P95InputTokens => "p95 input tokens per request",
            SpikeMeasure::StreamTtft => "p95 time to first token",
            SpikeMeasure::AnswerTime => "p95 answer time",
        }
    }

    /// The words beside a line in the dashboard's Budget view and in `check`: the notification's
    /// words, with what the latency measures time.
    pub fn label(self) -> &'static str {
        match self {
            SpikeMeasure::StreamTtft => "p95 time to first token (streams)",
            SpikeMeasure::AnswerTime => "p95 answer time (whole answers)",
            SpikeMeasure::CostPer1k | SpikeMeasure::P95InputTokens => self.words(),
        }
    }

    fn against_baseline(self) -> bool {
        matches!(self, SpikeMeasure::CostPer1k | SpikeMeasure::P95InputTokens)
    }

    /// A value as the user reads it: dollars, tokens or seconds.
    fn show(self, value: f64) -> String {
        match self {
            SpikeMeasure::CostPer1k => format!("${value:.2}"),
            SpikeMeasure::P95InputTokens => thousands(value.round() as u64),
            SpikeMeasure::StreamTtft | SpikeMeasure::AnswerTime => {
                format!("{:.1} s", value / 1000.0)
            }
        }
    }
}

/// `12345` as `12,345`.
fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One model's measure, as the dashboard, the tray and the CLI show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SpikeLine {
    /// The normalised model id.
    pub model: String,
    /// "Opus 4.5".
    pub model_name: String,
    pub measure: SpikeMeasure,
    /// The baseline (the 7-day median) or the fixed limit (3,000 ms, 5,000 ms); `None` while
    /// the baseline is learning.
    pub threshold: Option<f64>,
    /// True when `threshold` is a fixed limit, not a baseline.
    pub fixed_limit: bool,
    /// Hourly values the baseline has (of [`BASELINE_HOURS`] needed); 0 for fixed limits.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub baseline_hours: u32,
    /// The current value (trailing hour, or the 10-minute p95); `None` with too few requests.
    pub current: Option<f64>,
    /// The requests the current value is over.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub current_requests: u64,
    /// The current value is over twice the baseline (or over the limit).
    pub above: bool,
    /// Since when it has been above, at every evaluation.
    pub above_since: Option<DateTime<Utc>>,
    /// Its alert has fired and not yet recovered.
    pub alerting: bool,
    /// One sentence: "learning: 5 of 24 hours", "$12.10, baseline $11.80".
    pub text: String,
}

impl SpikeLine {
    /// Where the line stands, in the words the dashboard uses (ui/src/usage.ts says the same).
    pub fn state_words(&self) -> &'static str {
        if self.alerting {
            "alerting"
        } else if self.above {
            "above, for 10 minutes before it alerts"
        } else if self.threshold.is_none() {
            "no alert until the baseline has 24 hours"
        } else {
            "normal"
        }
    }

    /// "Opus 4.5, cost per 1,000 requests: $31.00, 7-day median $12.00 (alerting)", as the
    /// Budget view lists it.
    pub fn summary(&self) -> String {
        format!(
            "{}, {}: {} ({})",
            self.model_name,
            self.measure.label(),
            self.text,
            self.state_words()
        )
    }
}

/// What the spike watch shows: one line per model and measure with traffic.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SpikeReport {
    /// When the lines were last evaluated.
    pub evaluated_at: Option<DateTime<Utc>>,
    pub lines: Vec<SpikeLine>,
    /// Successful requests in the trailing hour whose price is unknown: left out of the cost
    /// per 1,000 requests, counted in everything else.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub unpriced_requests: u64,
    /// Samples dropped because [`MODELS_KEPT`] models were already watched.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub dropped_samples: u64,
}

/// One measure's alert state.
#[derive(Debug, Clone, Default)]
struct MeasureAlert {
    above_since: Option<DateTime<Utc>>,
    /// When its alert fired, if it is firing.
    fired_at: Option<DateTime<Utc>>,
}

/// Everything kept about one model.
#[derive(Debug, Clone, Default)]
struct ModelWatch {
    /// Minute index (Unix minutes) → tally, the last [`MINUTES_KEPT`] minutes.
    minutes: BTreeMap<i64, TrafficTally>,
    /// Hourly values, by hour index (Unix hours), the last 7 days: at most 168.
    hours: BTreeMap<i64, HourValue>,
    /// Streamed successes' time to first token, oldest first, at most [`LATENCY_SAMPLES_KEPT`].
    ttft: VecDeque<(DateTime<Utc>, u64)>,
    /// Non-streamed successes' duration, oldest first, at most [`LATENCY_SAMPLES_KEPT`].
    answers: VecDeque<(DateTime<Utc>, u64)>,
    alerts: BTreeMap<SpikeMeasure, MeasureAlert>,
    last_seen: Option<DateTime<Utc>>,
}

fn minute_index(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(60)
}

fn hour_index(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(3600)
}

fn hour_start(index: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(index.saturating_mul(3600), 0)
        .single()
        .unwrap_or_default()
}

fn push_capped(ring: &mut VecDeque<(DateTime<Utc>, u64)>, at: DateTime<Utc>, value: u64) {
    ring.push_back((at, value));
    while ring.len() > LATENCY_SAMPLES_KEPT {
        ring.pop_front();
    }
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    })
}

/// One measure's reading at an evaluation.
struct Reading {
    threshold: Option<f64>,
    baseline_hours: u32,
    current: Option<f64>,
    current_requests: u64,
}

impl ModelWatch {
    fn prune(&mut self, now: DateTime<Utc>) {
        // Minutes and hours "from the future" were stamped before the clock was set back; they
        // go too, rather than wait (unbounded) for the clock to catch up.
        let current_minute = minute_index(now);
        let oldest_minute = current_minute - MINUTES_KEPT;
        self.minutes
            .retain(|minute, _| *minute > oldest_minute && *minute <= current_minute + 60);
        let current_hour = hour_index(now);
        let oldest_hour = current_hour - BASELINE_SPAN_HOURS;
        self.hours
            .retain(|hour, _| *hour >= oldest_hour && *hour <= current_hour);
        let since = now - LATENCY_WINDOW;
        for ring in [&mut self.ttft, &mut self.answers] {
            // The ring is in arrival order, which is nearly time order; a retain also drops a
            // late sample that sits behind a newer one.
            ring.retain(|(at, _)| *at > since && *at <= now + LATENCY_WINDOW);
        }
    }

    /// The trailing 60 minutes (the current minute and the 59 before it).
    fn trailing_hour(&self, now: DateTime<Utc>) -> TrafficTally {
        let current = minute_index(now);
        let mut tally = TrafficTally::default();
        for (_, minute) in self.minutes.range(current - 59..=current) {
            tally.merge(minute);
        }
        tally
    }

    fn baseline(&self, measure: SpikeMeasure, now: DateTime<Utc>) -> (Option<f64>, u32) {
        let oldest = hour_index(now) - BASELINE_SPAN_HOURS;
        let mut values: Vec<f64> = self
            .hours
            .range(oldest..)
            .filter_map(|(_, value)| match measure {
                SpikeMeasure::CostPer1k => value.cost_per_1k_usd,
                SpikeMeasure::P95InputTokens => value.p95_input_tokens.map(|v| v as f64),
                _ => None,
            })
            .filter(|v| v.is_finite())
            .collect();
        let count = values.len() as u32;
        if values.len() < BASELINE_HOURS {
            return (None, count);
        }
        (median(&mut values), count)
    }

    fn read(&self, measure: SpikeMeasure, trailing: &TrafficTally, now: DateTime<Utc>) -> Reading {
        let since = now - LATENCY_WINDOW;
        let latency = |ring: &VecDeque<(DateTime<Utc>, u64)>, limit: u64| {
            let p95 = p95_exact(
                ring.iter()
                    .filter(|(at, _)| *at > since && *at <= now)
                    .map(|(_, ms)| *ms),
            );
            let requests = p95.map_or(0, |(_, n)| n as u64);
            Reading {
                threshold: Some(limit as f64),
                baseline_hours: 0,
                current: p95
                    .filter(|(_, n)| *n >= MIN_LATENCY_REQUESTS)
                    .map(|(v, _)| v as f64),
                current_requests: requests,
            }
        };
        match measure {
            SpikeMeasure::CostPer1k | SpikeMeasure::P95InputTokens => {
                let (threshold, baseline_hours) = self.baseline(measure, now);
                let (current, current_requests) = match measure {
                    SpikeMeasure::CostPer1k => {
                        (trailing.cost_per_1k_usd(), trailing.priced_requests)
                    }
                    _ => (
                        trailing.p95_input_tokens().map(|v| v as f64),
                        trailing.requests,
                    ),
                };
                Reading {
                    threshold,
                    baseline_hours,
                    current,
                    current_requests,
                }
            }
            SpikeMeasure::StreamTtft => latency(&self.ttft, TTFT_LIMIT_MS),
            SpikeMeasure::AnswerTime => latency(&self.answers, ANSWER_LIMIT_MS),
        }
    }

    /// Whether the model has anything to show for a measure.
    fn has_traffic(&self, measure: SpikeMeasure, reading: &Reading) -> bool {
        match measure {
            SpikeMeasure::CostPer1k | SpikeMeasure::P95InputTokens => {
                reading.current_requests > 0 || reading.baseline_hours > 0
            }
            _ => reading.current_requests > 0,
        }
    }
}

impl Reading {
    /// Above the limit: over twice the baseline (strictly), or over the fixed limit (strictly).
    fn above(&self, measure: SpikeMeasure) -> bool {
        let (Some(current), Some(threshold)) = (self.current, self.threshold) else {
            return false;
        };
        if measure.against_baseline() {
            current > SPIKE_FACTOR * threshold
        } else {
            current > threshold
        }
    }
}

/// The spike watch: fed every gateway request, asked at each tick which alerts are due.
///
/// Memory is bounded: per model (at most [`MODELS_KEPT`]) 120 minute tallies, 168 hourly values
/// and two latency rings of at most [`LATENCY_SAMPLES_KEPT`] samples.
#[derive(Debug, Clone, Default)]
pub struct SpikeWatch {
    models: BTreeMap<String, ModelWatch>,
    /// Hours before this (Unix hours) are closed: their values are in, or they had too few
    /// requests. `None` until the first evaluation.
    closed_before: Option<i64>,
    report: SpikeReport,
    dropped_samples: u64,
}

impl SpikeWatch {
    /// Counts one gateway request: its model normalised with `catalog`, its cost priced with it.
    /// A failed request counts nowhere. A request in an hour already closed counts toward the
    /// trailing hour only: a closed hour is never reopened, so a replay at start that overlaps
    /// seeded hours counts nothing twice.
    pub fn record(&mut self, sample: &TrafficSample, catalog: &Catalog) {
        if !sample.succeeded() {
            return;
        }
        let model = catalog.normalize(&sample.model);
        if model.is_empty() {
            return;
        }
        if !self.models.contains_key(&model) && self.models.len() >= MODELS_KEPT {
            self.dropped_samples += 1;
            return;
        }
        let cost = sample.cost_usd(catalog);
        let watch = self.models.entry(model).or_default();
        // Between evaluations samples of scattered times could add minutes without end: the
        // oldest go first past twice what an evaluation keeps.
        while watch.minutes.len() >= 2 * MINUTES_KEPT as usize {
            watch.minutes.pop_first();
        }
        watch.last_seen = Some(watch.last_seen.map_or(sample.at, |t| t.max(sample.at)));
        watch
            .minutes
            .entry(minute_index(sample.at))
            .or_default()
            .add(&sample.tokens, cost);
        if sample.streamed {
            // A stream's duration is never timed: it grows with the answer's length.
            if let Some(ttft) = sample.ttft_ms {
                push_capped(&mut watch.ttft, sample.at, ttft);
            }
        } else if let Some(latency) = sample.latency_ms {
            push_capped(&mut watch.answers, sample.at, latency);
        }
    }

    /// Takes hourly values read back from the store at start, so a restart keeps the baseline.
    /// A value for an hour already known is ignored; values older than 7 days are dropped at the
    /// next evaluation. Seeded hours count as closed.
    pub fn seed_hours(&mut self, hours: Vec<HourValue>) {
        for value in hours {
            if !self.models.contains_key(&value.model) && self.models.len() >= MODELS_KEPT {
                continue;
            }
            let index = hour_index(value.hour);
            let watch = self.models.entry(value.model.clone()).or_default();
            // At most one value per hour of the span is kept, whatever a caller sends.
            if watch.hours.len() > BASELINE_SPAN_HOURS as usize * 2 {
                continue;
            }
            let end = value.hour + Duration::hours(1);
            watch.last_seen = Some(watch.last_seen.map_or(end, |t| t.max(end)));
            watch.hours.entry(index).or_insert(value);
        }
    }

    /// The report of the last evaluation.
    pub fn report(&self) -> &SpikeReport {
        &self.report
    }

    /// Closes the hours that ended at least [`HOUR_GRACE`] ago, evaluates every model and
    /// measure, and returns the notifications due: a fired alert, or a recovery from one. Call it
    /// every minute or so; "above for 10 minutes" means above at every call for 10 minutes.
    pub fn decide(&mut self, now: DateTime<Utc>) -> Vec<Notification> {
        self.close_hours(now);
        let mut out = Vec::new();
        let mut lines = Vec::new();
        let mut unpriced = 0;
        // A model silent for 7 days has no baseline left: forget it, which frees its place.
        self.models.retain(|_, watch| {
            watch
                .last_seen
                .is_some_and(|t| now - t < Duration::hours(BASELINE_SPAN_HOURS))
        });
        for (model, watch) in &mut self.models {
            watch.prune(now);
            let trailing = watch.trailing_hour(now);
            unpriced += trailing.requests - trailing.priced_requests;
            let name = crate::models::display_name(model);
            for measure in SpikeMeasure::ALL {
                let reading = watch.read(measure, &trailing, now);
                let above = reading.above(measure);
                let alert = watch.alerts.entry(measure).or_default();
                if above {
                    let since = *alert.above_since.get_or_insert(now);
                    // The baseline rules wait out the sustain; the latency rules already look
                    // at a 10-minute window, so they fire at once.
                    let due = !measure.against_baseline() || now - since >= SUSTAIN;
                    if due && alert.fired_at.is_none() {
                        alert.fired_at = Some(now);
                        out.push(fired(model, &name, measure, &reading, now - since));
                    }
                } else {
                    alert.above_since = None;
                    if let Some(fired_at) = alert.fired_at.take() {
                        out.push(recovered(model, &name, measure, &reading, now - fired_at));
                    }
                }
                let (above_since, alerting) = (alert.above_since, alert.fired_at.is_some());
                if watch.has_traffic(measure, &reading) || alerting {
                    lines.push(SpikeLine {
                        model: model.clone(),
                        model_name: name.clone(),
                        measure,
                        threshold: reading.threshold,
                        fixed_limit: !measure.against_baseline(),
                        baseline_hours: reading.baseline_hours,
                        current: reading.current,
                        current_requests: reading.current_requests,
                        above,
                        above_since,
                        alerting,
                        text: line_text(measure, &reading),
                    });
                }
            }
        }
        self.report = SpikeReport {
            evaluated_at: Some(now),
            lines,
            unpriced_requests: unpriced,
            dropped_samples: self.dropped_samples,
        };
        out
    }

    fn close_hours(&mut self, now: DateTime<Utc>) {
        let closable = hour_index(now - HOUR_GRACE);
        let from = self
            .closed_before
            .unwrap_or(closable - BASELINE_SPAN_HOURS)
            // A clock set back leaves the closed hours closed.
            .min(closable);
        for (model, watch) in &mut self.models {
            let mut open: BTreeMap<i64, TrafficTally> = BTreeMap::new();
            for (minute, tally) in &watch.minutes {
                let hour = minute.div_euclid(60);
                if hour >= from && hour < closable {
                    open.entry(hour).or_default().merge(tally);
                }
            }
            for (hour, tally) in open {
                // A seeded hour was read whole from the ledger; the minutes kept of it are a part.
                if watch.hours.contains_key(&hour) {
                    continue;
                }
                if let Some(value) = tally.hour_value(model, hour_start(hour)) {
                    watch.hours.insert(hour, value);
                }
            }
        }
        self.closed_before = Some(closable.max(self.closed_before.unwrap_or(closable)));
    }
}

fn line_text(measure: SpikeMeasure, reading: &Reading) -> String {
    let current = match reading.current {
        Some(value) => measure.show(value),
        None if measure.against_baseline() => format!(
            "under {MIN_REQUESTS} requests in the last hour ({})",
            reading.current_requests
        ),
        None => format!(
            "under {MIN_LATENCY_REQUESTS} requests in the last 10 minutes ({})",
            reading.current_requests
        ),
    };
    match (reading.threshold, measure.against_baseline()) {
        (Some(threshold), true) => {
            format!("{current}, 7-day median {}", measure.show(threshold))
        }
        (Some(threshold), false) => format!("{current}, limit {}", measure.show(threshold)),
        (None, _) => format!(
            "{current}; learning: {} of {BASELINE_HOURS} hours",
            reading.baseline_hours
        ),
    }
}

fn minutes(duration: Duration) -> String {
    let minutes = duration.num_minutes().max(0);
    if minutes < 120 {
        format!("{minutes} minutes")
    } else {
        format!("{} h {} min", minutes / 60, minutes % 60)
    }
}

fn spike_key(measure: SpikeMeasure, model: &str) -> String {
    format!("spike:{}:{model}", measure.as_str())
}

fn fired(
    model: &str,
    name: &str,
    measure: SpikeMeasure,
    reading: &Reading,
    lasted: Duration,
) -> Notification {
    let current = reading.current.unwrap_or_default();
    let threshold = reading.threshold.unwrap_or_default();
    let body = if measure.against_baseline() {
        format!(
            "Over twice its 7-day median of {} for {}, across the last hour's {} requests through the gateway.",
            measure.show(threshold),
            minutes(lasted),
            thousands(reading.current_requests),
        )
    } else {
        let what = match measure {
            SpikeMeasure::StreamTtft => "streamed",
            _ => "non-streamed",
        };
        format!(
            "Over {} across the last 10 minutes' {} {what} requests through the gateway.",
            measure.show(threshold),
            reading.current_requests,
        )
    };
    Notification {
        kind: AlertKind::TrafficSpike,
        // A spike is about the user's traffic and changes no level; "degraded" is what the
        // channels' colours and PagerDuty's severity should say of it.
        level: Level::Degraded,
        title: format!("{name}: {} {}", measure.words(), measure.show(current)),
        body,
        incident_id: None,
        key: spike_key(measure, model),
        model: Some(model.to_owned()),
    }
}

fn recovered(
    model: &str,
    name: &str,
    measure: SpikeMeasure,
    reading: &Reading,
    lasted: Duration,
) -> Notification {
    let limit = match (measure.against_baseline(), reading.threshold) {
        (true, Some(threshold)) => format!(
            "back under twice its 7-day median of {}",
            measure.show(threshold)
        ),
        (false, Some(threshold)) => format!("back under {}", measure.show(threshold)),
        (_, None) => "no longer measured".to_owned(),
    };
    let body = match reading.current {
        Some(current) => format!(
            "{}, {limit} after {}.",
            measure.show(current),
            minutes(lasted)
        ),
        None if measure.against_baseline() => format!(
            "Fewer than {MIN_REQUESTS} requests in the last hour, so it is no longer measured, after {}.",
            minutes(lasted)
        ),
        None => format!(
            "Fewer than {MIN_LATENCY_REQUESTS} requests in the last 10 minutes, so it is no longer measured, after {}.",
            minutes(lasted)
        ),
    };
    Notification {
        kind: AlertKind::TrafficSpikeOver,
        level: Level::Operational,
        title: format!("{name}: {} back to normal", measure.words()),
        body,
        incident_id: None,
        key: format!("{}{RECOVERED_SUFFIX}", spike_key(measure, model)),
        model: Some(model.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_exact_below_128_and_within_a_sixteenth_above() {
        for value in [0u64, 1, 127, 128, 129, 1000, 48_213, 1 << 40, u64::MAX] {
            let upper = bucket_upper(bucket_of(value));
            assert!(upper >= value, "{value} → {upper}");
            if value < 128 {
                assert_eq!(upper, value);
            } else {
                assert!(
                    (upper - value) as f64 <= value as f64 / 16.0,
                    "{value} → {upper}"
                );
            }
            assert!(usize::from(bucket_of(value)) < HISTOGRAM_BUCKETS);
        }
    }

    #[test]
    fn nearest_rank_p95_of_twenty_is_the_nineteenth() {
        assert_eq!(p95_exact(1..=20u64), Some((19, 20)));
        assert_eq!(p95_exact(std::iter::once(7)), Some((7, 1)));
        assert_eq!(p95_exact(std::iter::empty()), None);
    }

    /// The same sentences as ui/test/usage.test.mjs expects of the Budget view's `spikeLineText`,
    /// so `check` and the dashboard say one thing.
    #[test]
    fn a_line_reads_as_the_budget_view_lists_it() {
        let mut line = SpikeLine {
            model: "claude-opus-4-5".to_owned(),
            model_name: "Opus 4.5".to_owned(),
            measure: SpikeMeasure::CostPer1k,
            threshold: Some(18.05),
            fixed_limit: false,
            baseline_hours: 31,
            current: Some(41.2),
            current_requests: 1234,
            above: true,
            above_since: None,
            alerting: true,
            text: "$41.20, 7-day median $18.05".to_owned(),
        };
        assert_eq!(
            line.summary(),
            "Opus 4.5, cost per 1,000 requests: $41.20, 7-day median $18.05 (alerting)"
        );
        line.alerting = false;
        assert_eq!(
            line.summary(),
            "Opus 4.5, cost per 1,000 requests: $41.20, 7-day median $18.05 (above, for 10 minutes before it alerts)"
        );
        line.measure = SpikeMeasure::StreamTtft;
        (line.threshold, line.above) = (None, false);
        line.text = "under 20 requests in the last 10 minutes (3)".to_owned();
        assert_eq!(
            line.summary(),
            "Opus 4.5, p95 time to first token (streams): under 20 requests in the last 10 minutes (3) (no alert until the baseline has 24 hours)"
        );
        line.threshold = Some(3000.0);
        assert!(line.summary().ends_with("(normal)"));
    }

    #[test]
    fn each_measure_is_spelt_the_same_in_json_and_in_keys() {
        for measure in SpikeMeasure::ALL {
            assert_eq!(
                serde_json::to_value(measure).unwrap(),
                serde_json::Value::String(measure.as_str().to_owned())
            );
        }
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
