//! Health from our own probes: each result becomes a pass or a failure, a sliding window keeps the
//! recent ones, and hysteresis (N failures in a row to enter a bad state, M successes to leave it)
//! keeps one bad answer from crying wolf.

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::level::Level;
use crate::probe::{Classification, ProbeOutcome};
use crate::ratelimit::RateLimitSnapshot;
use crate::sse::Usage;

/// Which probe produced a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ProbeKind {
    /// `GET /v1/models`: is the API there?
    Reachability,
    /// A one-token streamed `POST /v1/messages`: how fast does it answer?
    Streaming,
}

impl ProbeKind {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ProbeKind::Reachability => "reachability",
            ProbeKind::Streaming => "streaming",
        }
    }
}

/// One probe's result, as measured by the engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeResult {
    pub at: DateTime<Utc>,
    pub kind: ProbeKind,
    pub classification: Classification,
    /// Time to the complete answer (reachability) or to the response headers (streaming).
    pub latency_ms: Option<u64>,
    /// Streaming only: time to `message_start`.
    pub message_start_ms: Option<u64>,
    /// Streaming only: time to the first `content_block_delta` (time to first token).
    pub ttft_ms: Option<u64>,
    /// The `anthropic-ratelimit-*` headers of the answer.
    pub ratelimit: RateLimitSnapshot,
    /// Streaming only: the tokens the probe used.
    pub usage: Option<Usage>,
    /// True for a quick re-check scheduled because the previous probe failed.
    pub confirmation: bool,
    /// The model a streaming probe asked for; `None` for the reachability probe, which names none.
    #[serde(default)]
    pub model: Option<String>,
}

impl ProbeResult {
    /// The outcome (shortcut).
    pub fn outcome(&self) -> ProbeOutcome {
        self.classification.outcome
    }

    /// The probe's own request as a usage record on `model`: the streaming probe spends the
    /// user's tokens like any other request. `None` when it used none (the reachability probe, or
    /// a probe that failed before its usage was read) or `model` is empty.
    pub fn usage_record(&self, model: &str) -> Option<crate::usage::UsageRecord> {
        use crate::usage::{TokenCounts, UsageRecord, UsageSource};
        let usage = self.usage.as_ref().filter(|_| !model.is_empty())?;
        Some(UsageRecord {
            status: self.classification.http_status,
            latency_ms: self.latency_ms,
            ttft_ms: self.ttft_ms,
            service_tier: usage.service_tier.clone(),
            request_id: self.classification.request_id.clone(),
            ..UsageRecord::new(
                self.at,
                UsageSource::Probe,
                model,
                TokenCounts::from_usage(usage),
            )
        })
    }
}

/// Why a probe counts against the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// 529 or an overloaded error in a stream.
    Overloaded,
    /// 5xx other than overload.
    ServerError,
    /// No answer in time.
    Timeout,
    /// No connection at all (DNS, refused, reset, TLS).
    Network,
    /// Answered, but slower than the latency threshold.
    Slow,
    /// Streamed, but the first token came later than the TTFT threshold.
    SlowFirstToken,
}

impl FailureKind {
    /// No answer at all: no connection, or none in time.
    pub fn unanswered(self) -> bool {
        matches!(self, FailureKind::Network | FailureKind::Timeout)
    }
}

/// How one result counts for the API's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "signal", content = "failure", rename_all = "snake_case")]
pub enum Signal {
    Pass,
    Fail(FailureKind),
}

/// Thresholds and hysteresis, defaulting to the field's guidance (gatus, Uptime Kuma, the SDKs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthConfig {
    /// A response slower than this is a failure ("slow").
    pub latency_threshold: Duration,
    /// A first token later than this is a failure that means "degraded".
    pub ttft_threshold: Duration,
    /// Failures in a row that enter a bad state.
    pub failures_to_enter: u32,
    /// Successes in a row that leave it.
    pub successes_to_leave: u32,
    /// A 529 share above this (per mille) over the window means overloaded…
    pub overload_rate_per_mille: u32,
    /// …once the window holds at least this many results…
    pub overload_min_samples: usize,
    /// …and at least this many 529s, so one stray 529 in a small sample is not an overload.
    pub overload_min_count: usize,
    /// The sliding window: results older than this are dropped.
    pub window: Duration,
    /// The window never holds more than this many results.
    pub window_max_samples: usize,
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            latency_threshold: Duration::from_secs(5),
            ttft_threshold: Duration::from_secs(3),
            failures_to_enter: 3,
            successes_to_leave: 2,
            overload_rate_per_mille: 20,
            overload_min_samples: 10,
            overload_min_count: 3,
            window: Duration::from_secs(30 * 60),
            window_max_samples: 200,
        }
    }
}

impl HealthConfig {
    /// Rejects settings that would make the assessment meaningless.
    pub fn validate(&self) -> crate::Result<()> {
        if self.failures_to_enter == 0 || self.successes_to_leave == 0 {
            return Err(crate::Error::Config(
                "hysteresis thresholds must be at least 1".to_owned(),
            ));
        }
        if self.latency_threshold.is_zero() || self.ttft_threshold.is_zero() {
            return Err(crate::Error::Config(
                "latency thresholds must be above zero".to_owned(),
            ));
        }
        if self.window_max_samples < self.failures_to_enter as usize {
            return Err(crate::Error::Config(
                "the window must hold at least as many results as it takes to enter a bad state"
                    .to_owned(),
            ));
        }
        Ok(())
    }

    /// How one result counts.
    pub fn signal(&self, result: &ProbeResult) -> Signal {
        match result.outcome() {
            ProbeOutcome::Overloaded => return Signal::Fail(FailureKind::Overloaded),
            ProbeOutcome::ServerError => return Signal::Fail(FailureKind::ServerError),
            ProbeOutcome::Timeout => return Signal::Fail(FailureKind::Timeout),
            ProbeOutcome::Network => return Signal::Fail(FailureKind::Network),
            // Everything else is an answer from a working API; rate limits, the spend cap, billing
            // and key problems are the user's own and are reported as such, not as an outage.
            _ => {}
        }
        let over = |ms: Option<u64>, limit: Duration| {
            ms.is_some_and(|ms| u128::from(ms) > limit.as_millis())
        };
        if over(result.latency_ms, self.latency_threshold) {
            return Signal::Fail(FailureKind::Slow);
        }
        if over(result.ttft_ms, self.ttft_threshold) {
            return Signal::Fail(FailureKind::SlowFirstToken);
        }
        Signal::Pass
    }
}

/// A bad state entered through hysteresis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Episode {
    pub level: Level,
    /// When the first failure of the run that opened it happened.
    pub since: DateTime<Utc>,
    /// True when no probe of the run got any answer: no connection at all, or none in time (our
    /// side or theirs: the combination with the status page decides). A dead network often
    /// answers nothing rather than refusing: a laptop woken on a lost Wi-Fi sees its connections
    /// time out, and that must read as offline, not as an outage, when the page is silent too.
    pub network_only: bool,
}

/// The probe side of the assessment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeVerdict {
    /// `None` while healthy.
    pub episode: Option<Episode>,
    /// Operational, or the episode's level.
    pub level: Level,
    pub reasons: Vec<String>,
}

/// The probes' memory: the window, the runs, and the current episode.
#[derive(Debug, Clone, Default)]
pub struct ProbeHealth {
    window: VecDeque<(ProbeResult, Signal)>,
    failures_in_a_row: u32,
    successes_in_a_row: u32,
    episode: Option<Episode>,
    /// Past episodes (start, end), kept for the detection lead time.
    past_episodes: VecDeque<(DateTime<Utc>, DateTime<Utc>)>,
    /// When the last episode ended: the 529-rate rule counts only results after it, or the 529s
    /// of a storm that is over would reopen an episode the moment it closed.
    rate_counts_after: Option<DateTime<Utc>>,
}

/// How far a result may be stamped after the one just taken and still be a race between sources
/// rather than a clock that was set back.
pub const CLOCK_BACK_TOLERANCE: chrono::Duration = chrono::Duration::minutes(2);

/// How many ended episodes are remembered for lead-time matching.
const PAST_EPISODES_KEPT: usize = 16;

impl ProbeHealth {
    /// Adds one result.
    pub fn record(&mut self, config: &HealthConfig, result: ProbeResult) {
        let signal = config.signal(&result);
        self.record_signal(config, result, signal);
    }

    /// Adds one result whose signal the caller decided: the user's own requests count by their
    /// status alone, because a long answer to a real prompt is slow by nature, not by trouble.
    pub fn record_signal(&mut self, config: &HealthConfig, result: ProbeResult, signal: Signal) {
        let at = result.at;
        self.window.push_back((result, signal));
        self.trim(config, at);
        match signal {
            Signal::Fail(_) => {
                self.failures_in_a_row += 1;
                self.successes_in_a_row = 0;
            }
            Signal::Pass => {
                self.successes_in_a_row += 1;
                self.failures_in_a_row = 0;
            }
        }

        let overloaded_by_rate = self.overload_rate(config).is_some();
        let run_kinds: Vec<FailureKind> = self
            .last_run()
            .iter()
            .filter_map(|(_, s)| fail_kind(*s))
            .collect();
        let run_start = self.last_run().first().map(|(r, _)| r.at);
        match &mut self.episode {
            None => {
                if self.failures_in_a_row >= config.failures_to_enter {
                    self.episode = Some(Episode {
                        level: level_of_run(&run_kinds),
                        since: run_start.unwrap_or(at),
                        network_only: run_kinds.iter().all(|k| k.unanswered()),
                    });
                } else if overloaded_by_rate {
                    self.episode = Some(Episode {
                        level: Level::Overloaded,
                        since: self
                            .window
                            .iter()
                            .filter(|(r, _)| {
                                self.rate_counts_after.is_none_or(|after| r.at > after)
                            })
                            .find(|(_, s)| *s == Signal::Fail(FailureKind::Overloaded))
                            .map_or(at, |(r, _)| r.at),
                        network_only: false,
                    });
                }
            }
            Some(episode) => {
                if signal == Signal::Pass && self.successes_in_a_row >= config.successes_to_leave {
                    self.rate_counts_after = Some(at);
                    self.past_episodes.push_back((episode.since, at));
                    if self.past_episodes.len() > PAST_EPISODES_KEPT {
                        self.past_episodes.pop_front();
                    }
                    self.episode = None;
                } else if let Signal::Fail(_) = signal {
                    // The run goes on: let its latest failures say what kind of trouble it is,
                    // so an episode that began slow and turned into 529s reads "overloaded".
                    if self.failures_in_a_row >= config.failures_to_enter {
                        let kinds = &run_kinds;
                        let recent = &kinds[kinds
                            .len()
                            .saturating_sub(config.failures_to_enter as usize)..];
                        episode.level = level_of_run(recent);
                        episode.network_only = recent.iter().all(|k| k.unanswered());
                    }
                }
            }
        }
    }

    fn trim(&mut self, config: &HealthConfig, now: DateTime<Utc>) {
        let window = chrono::Duration::from_std(config.window).unwrap_or(chrono::Duration::MAX);
        // Results are stamped by our own clock as they arrive, so one stamped well after `now`
        // means the clock was set back (issue 16, clock jumps). Kept, such results would stay in
        // the window until the clock caught up with them, and an hour-old storm's 529s would
        // flap the level; the episode's end would hide every new result from the 529-rate rule.
        let future = now + CLOCK_BACK_TOLERANCE;
        if self.window.iter().any(|(r, _)| r.at > future) {
            self.window.retain(|(r, _)| r.at <= future);
        }
        if self.rate_counts_after.is_some_and(|after| after > future) {
            self.rate_counts_after = Some(now);
        }
        while self
            .window
            .front()
            .is_some_and(|(r, _)| now - r.at > window)
            || self.window.len() > config.window_max_samples
        {
            self.window.pop_front();
        }
    }

    /// The current run of failures, oldest first.
    fn last_run(&self) -> Vec<&(ProbeResult, Signal)> {
        let count = self.failures_in_a_row as usize;
        self.window
            .iter()
            .skip(self.window.len().saturating_sub(count))
            .collect()
    }

    /// `(529s, samples)` when the window's 529 share is above the threshold with enough data.
    fn overload_rate(&self, config: &HealthConfig) -> Option<(usize, usize)> {
        let counted = || {
            self.window
                .iter()
                .filter(|(r, _)| self.rate_counts_after.is_none_or(|after| r.at > after))
        };
        let samples = counted().count();
        let overloaded = counted()
            .filter(|(_, s)| *s == Signal::Fail(FailureKind::Overloaded))
            .count();
        let above = overloaded * 1000 > samples * config.overload_rate_per_mille as usize;
        (samples >= config.overload_min_samples && overloaded >= config.overload_min_count && above)
            .then_some((overloaded, samples))
    }

    /// True when no result has been recorded (probes off or not run yet).
    pub fn is_empty(&self) -> bool {
        self.window.is_empty()
    }

    /// The most recent result.
    pub fn latest(&self) -> Option<&ProbeResult> {
        self.window.back().map(|(r, _)| r)
    }

    /// The most recent result of one kind.
    pub fn latest_of(&self, kind: ProbeKind) -> Option<&ProbeResult> {
        self.window
            .iter()
            .rev()
            .map(|(r, _)| r)
            .find(|r| r.kind == kind)
    }

    /// The results in the window with how each one counted, oldest first.
    pub fn signals(&self) -> impl DoubleEndedIterator<Item = (&ProbeResult, Signal)> {
        self.window.iter().map(|(r, s)| (r, *s))
    }

    /// Successes in a row right now.
    pub fn successes_in_a_row(&self) -> u32 {
        self.successes_in_a_row
    }

    /// The results in the window, oldest first.
    pub fn results(&self) -> impl DoubleEndedIterator<Item = &ProbeResult> {
        self.window.iter().map(|(r, _)| r)
    }

    /// Failures in a row right now.
    pub fn failures_in_a_row(&self) -> u32 {
        self.failures_in_a_row
    }

    /// The open episode.
    pub fn episode(&self) -> Option<&Episode> {
        self.episode.as_ref()
    }

    /// The start of the trouble we saw that best explains something reported at `reported_at`:
    /// the open episode, or the latest episode that ended less than `lookback` before it.
    pub fn trouble_started_before(
        &self,
        reported_at: DateTime<Utc>,
        lookback: chrono::Duration,
    ) -> Option<DateTime<Utc>> {
        if let Some(episode) = &self.episode {
            if episode.since <= reported_at {
                return Some(episode.since);
            }
        }
        self.past_episodes
            .iter()
            .rev()
            .find(|(start, end)| *start <= reported_at && reported_at - *end <= lookback)
            .map(|(start, _)| *start)
    }

    /// The probes' verdict with reasons that carry the numbers.
    pub fn verdict(&self, config: &HealthConfig) -> ProbeVerdict {
        let mut reasons = Vec::new();
        let level = match &self.episode {
            Some(episode) => {
                reasons.extend(self.evidence(config, episode));
                episode.level
            }
            None => Level::Operational,
        };
        if self.episode.is_none() {
            if let Some(latest) = self.latest() {
                if self.failures_in_a_row > 0 {
                    reasons.push(format!(
                        "{} probe{} failed in a row ({}), confirming",
                        self.failures_in_a_row,
                        if self.failures_in_a_row == 1 { "" } else { "s" },
                        latest.classification.outcome
                    ));
                }
            }
        }
        ProbeVerdict {
            episode: self.episode.clone(),
            level,
            reasons,
        }
    }

    fn evidence(&self, config: &HealthConfig, episode: &Episode) -> Vec<String> {
        let recent: Vec<&(ProbeResult, Signal)> = self.window.iter().rev().take(5).collect();
        let count = |kind: FailureKind| {
            recent
                .iter()
                .filter(|(_, s)| *s == Signal::Fail(kind))
                .count()
        };
        let n = recent.len();
        let mut reasons = Vec::new();
        match episode.level {
            Level::Overloaded => {
                if let Some((overloaded, samples)) = self.overload_rate(config) {
                    if count(FailureKind::Overloaded) < config.failures_to_enter as usize {
                        reasons.push(format!(
                            "529 on {overloaded} of the last {samples} probes ({:.0}% over {}%)",
                            overloaded as f64 * 100.0 / samples as f64,
                            config.overload_rate_per_mille as f64 / 10.0
                        ));
                        return reasons;
                    }
                }
                reasons.push(format!(
                    "529 on {} of the last {n} probes",
                    count(FailureKind::Overloaded)
                ));
            }
            Level::Outage if episode.network_only => {
                let detail = recent
                    .first()
                    .map(|(r, _)| r.classification.detail.clone())
                    .unwrap_or_default();
                reasons.push(format!(
                    "API unreachable on {} probes in a row: {detail}",
                    self.failures_in_a_row.max(config.failures_to_enter)
                ));
            }
            Level::Outage => {
                let errors = count(FailureKind::ServerError);
                let timeouts = count(FailureKind::Timeout);
                if errors > 0 {
                    let statuses: Vec<String> = recent
                        .iter()
                        .filter(|(_, s)| *s == Signal::Fail(FailureKind::ServerError))
                        .filter_map(|(r, _)| r.classification.http_status.map(|s| s.to_string()))
                        .collect::<std::collections::BTreeSet<_>>()
                        .into_iter()
                        .collect();
                    reasons.push(format!(
                        "HTTP {} on {errors} of the last {n} probes",
                        if statuses.is_empty() {
                            "5xx".to_owned()
                        } else {
                            statuses.join("/")
                        }
                    ));
                }
                if timeouts > 0 {
                    reasons.push(format!("timeouts on {timeouts} of the last {n} probes"));
                }
            }
            Level::Degraded => {
                let latencies: Vec<u64> = self.results().filter_map(|r| r.latency_ms).collect();
                if count(FailureKind::Slow) > 0 {
                    if let Some(p95) = percentile(&latencies, 95) {
                        reasons.push(format!(
                            "p95 latency {:.1} s over {:.0} s",
                            p95 as f64 / 1000.0,
                            config.latency_threshold.as_secs_f64()
                        ));
                    }
                }
                if count(FailureKind::SlowFirstToken) > 0 {
                    let ttfts: Vec<u64> = self.results().filter_map(|r| r.ttft_ms).collect();
                    if let Some(p50) = percentile(&ttfts, 50) {
                        reasons.push(format!(
                            "time to first token {:.1} s over {:.0} s",
                            p50 as f64 / 1000.0,
                            config.ttft_threshold.as_secs_f64()
                        ));
                    }
                }
            }
            _ => {}
        }
        reasons
    }
}

fn fail_kind(signal: Signal) -> Option<FailureKind> {
    match signal {
        Signal::Fail(kind) => Some(kind),
        Signal::Pass => None,
    }
}

/// The level a run of failures stands for: mostly 529s is an overload, network or server errors
/// or timeouts an outage, slowness alone a degradation.
fn level_of_run(kinds: &[FailureKind]) -> Level {
    let overloaded = kinds
        .iter()
        .filter(|k| **k == FailureKind::Overloaded)
        .count();
    let hard = kinds
        .iter()
        .filter(|k| {
            matches!(
                k,
                FailureKind::ServerError | FailureKind::Timeout | FailureKind::Network
            )
        })
        .count();
    if overloaded > 0 && overloaded * 2 >= kinds.len() {
        Level::Overloaded
    } else if hard + overloaded > 0 {
        if overloaded > hard {
            Level::Overloaded
        } else {
            Level::Outage
        }
    } else {
        Level::Degraded
    }
}

/// The `p`th percentile (nearest rank) of some values.
pub fn percentile(values: &[u64], p: u32) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    // Integer arithmetic, so a rank that is a whole number is never pushed up by float error.
    let rank = (u64::from(p.min(100)) * sorted.len() as u64).div_ceil(100);
    let index = usize::try_from(rank.max(1) - 1).unwrap_or(0);
    sorted.get(index.min(sorted.len() - 1)).copied()
}

/// When to probe next: the normal interval, or a quicker re-check when the last result disagrees
/// with the current state (a failure while healthy, a pass during an episode), so that hysteresis
/// confirms a change in seconds instead of minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeSchedule {
    pub interval: Duration,
    pub confirm_interval: Duration,
    /// Quick re-checks in a row at most.
    pub confirmations: u32,
}

impl Default for ProbeSchedule {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(60),
            confirm_interval: Duration::from_secs(7),
            confirmations: 2,
        }
    }
}

impl ProbeSchedule {
    /// The wait before the next probe and whether it is a confirmation; `quick_so_far` counts the
    /// quick re-checks already made in a row.
    pub fn next(&self, signal: Signal, in_episode: bool, quick_so_far: u32) -> (Duration, bool) {
        let disagrees = match signal {
            Signal::Fail(_) => !in_episode,
            Signal::Pass => in_episode,
        };
        if disagrees && quick_so_far < self.confirmations {
            (self.confirm_interval.min(self.interval), true)
        } else {
            (self.interval, false)
        }
    }
}
