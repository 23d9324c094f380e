//! The history view: stored probe results, incidents and detection lead times of one window,
//! summarised into the figures `claude-status history` shows (uptime, latency and time-to-first-
//! token percentiles, error rates, downtime runs, and how far ahead of the status page we were).
//!
//! Everything here is a pure function of its inputs; the engine reads the rows from the store and
//! the caller names the window. Field names of [`HistoryReport`] are a public contract (the JSON of
//! `claude-status history --json`): add fields, never rename.
//!
//! **Confirmation probes.** A failed probe is re-checked sooner than the regular interval, so
//! during trouble more probes run per minute than while all is well: confirmations over-sample
//! failures. They are real answers from the API, so they count like any other probe in the probe
//! count, the outcome counts, the error rates, the latency percentiles and the downtime runs (where
//! they make a run start and end closer to the truth). They are left out of `uptime_percent`
//! only, because uptime is meant as a share of *time*, and the regular probes sample time evenly
//! while confirmations cluster in the bad minutes.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::health::{percentile, FailureKind, HealthConfig, ProbeKind, ProbeResult, Signal};
use crate::probe::ProbeOutcome;
use crate::report::IncidentReport;
use crate::statuspage::Incident;

/// One measured detection lead, as the engine's store keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryLead {
    /// `Incident::key()`.
    pub incident_id: String,
    pub incident_name: String,
    /// The model whose trouble we saw first; `None` for the API-wide probes.
    #[serde(default)]
    pub model: Option<String>,
    /// When the trouble our probes saw began.
    pub detected_at: DateTime<Utc>,
    /// When the status page reported the incident.
    pub reported_at: DateTime<Utc>,
}

/// One detection lead as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LeadTimeReport {
    pub incident_id: String,
    pub incident_name: String,
    /// The model whose trouble we saw first; `None` for the API-wide probes.
    #[serde(default)]
    pub model: Option<String>,
    pub detected_at: DateTime<Utc>,
    pub reported_at: DateTime<Utc>,
    /// `reported_at - detected_at` in whole seconds (truncated toward zero): positive when our
    /// probes saw the trouble first, negative when the status page did.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub lead_seconds: i64,
}

/// A stretch of time in which the API was down by our reachability probes: at least
/// [`MIN_FAILURES_FOR_DOWNTIME`] failing probes in a row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DowntimeRun {
    /// When the first failing probe of the run ran.
    pub start: DateTime<Utc>,
    /// When the first passing probe after the run ran; `None` while the run was still going at
    /// the end of the window.
    pub end: Option<DateTime<Utc>>,
    /// The most frequent outcome of the run (the earliest of equally frequent ones).
    pub outcome: ProbeOutcome,
    /// How many failing probes the run had.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub failures: u64,
}

/// The summary of one window of history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HistoryReport {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// A name for the window chosen by the caller (`"24h"`, `"7d"`); empty unless it sets one.
    #[serde(default)]
    pub window_label: String,
    /// Probes of every kind in the window, confirmations included.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub probes: u64,
    /// The share of regular reachability probes whose answer was not a health failure (overload,
    /// server error, timeout, no connection). Slow answers count as up here; they show in the
    /// latency figures instead. Confirmations are left out (see the module documentation).
    /// `None` without such probes.
    pub uptime_percent: Option<f64>,
    /// Reachability latency over the probes that got a working answer, so a fast 529 or a
    /// timeout's deadline does not pass for the API's speed.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub latency_p50_ms: Option<u64>,
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub latency_p95_ms: Option<u64>,
    /// Time to first token of the streaming probes that got one.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub ttft_p50_ms: Option<u64>,
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub ttft_p95_ms: Option<u64>,
    /// The share of all probes that were overloaded (HTTP 529, or an `overloaded_error` inside a
    /// stream, which is the same condition reported later).
    pub rate_529_percent: Option<f64>,
    /// The share of all probes answered with a 429: rate limited or at the spend cap.
    pub rate_429_percent: Option<f64>,
    /// How many probes ended with each outcome, by its wire name (`"rate_limited"`).
    #[cfg_attr(feature = "ts", ts(type = "Record<string, number>"))]
    pub outcomes: BTreeMap<String, u64>,
    /// Status-page incidents that overlap the window, newest first.
    pub incidents: Vec<IncidentReport>,
    /// Lead times of incidents reported within the window, newest report first.
    pub lead_times: Vec<LeadTimeReport>,
    /// The median of `lead_times` (nearest rank, like every percentile here: of two it is the
    /// smaller one).
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub median_lead_seconds: Option<i64>,
    /// Runs of failing reachability probes, oldest first.
    pub downtime: Vec<DowntimeRun>,
}

/// Failing reachability probes in a row that make a downtime run: one alone may be a blip.
pub const MIN_FAILURES_FOR_DOWNTIME: u64 = 2;

/// Summarises one window, `from <= t < to`.
///
/// Probes and lead times outside the window are ignored (by probe time and by report time), so a
/// caller that passes a wider slice still gets figures for the window it names. Incidents count
/// when they overlap it: created before `to` and not resolved by `from`.
pub fn summarize(
    probes: &[ProbeResult],
    incidents: &[Incident],
    leads: &[HistoryLead],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> HistoryReport {
    let in_window = |at: DateTime<Utc>| from <= at && at < to;
    let mut probes: Vec<&ProbeResult> = probes.iter().filter(|p| in_window(p.at)).collect();
    // The store returns them in order already; sorting (stably) keeps the runs right for any caller.
    probes.sort_by_key(|p| p.at);
    let config = HealthConfig::default();
    let reachability: Vec<&ProbeResult> = probes
        .iter()
        .copied()
        .filter(|p| p.kind == ProbeKind::Reachability)
        .collect();

    let regular: Vec<bool> = reachability
        .iter()
        .filter(|p| !p.confirmation)
        .map(|p| is_down(&config, p))
        .collect();
    let up = regular.iter().filter(|down| !**down).count();

    let latencies: Vec<u64> = reachability
        .iter()
        .filter(|p| !is_down(&config, p))
        .filter_map(|p| p.latency_ms)
        .collect();
    let ttfts: Vec<u64> = probes
        .iter()
        .filter(|p| p.kind == ProbeKind::Streaming)
        .filter_map(|p| p.ttft_ms)
        .collect();

    let count_where = |wanted: &dyn Fn(ProbeOutcome) -> bool| {
        probes.iter().filter(|p| wanted(p.outcome())).count()
    };
    let overloaded = count_where(&|o| o == ProbeOutcome::Overloaded);
    let too_many =
        count_where(&|o| matches!(o, ProbeOutcome::RateLimited | ProbeOutcome::SpendCap));

    let mut outcomes = BTreeMap::new();
    for probe in &probes {
        *outcomes
            .entry(probe.outcome().as_str().to_owned())
            .or_insert(0) += 1;
    }

    let lead_times = lead_times_in(leads, &in_window);
    let median_lead_seconds =
        median_nearest_rank(lead_times.iter().map(|l| l.lead_seconds).collect());

    HistoryReport {
        from,
        to,
        window_label: String::new(),
        probes: probes.len() as u64,
        uptime_percent: percent(up, regular.len()),
        latency_p50_ms: percentile(&latencies, 50),
        latency_p95_ms: percentile(&latencies, 95),
        ttft_p50_ms: percentile(&ttfts, 50),
        ttft_p95_ms: percentile(&ttfts, 95),
        rate_529_percent: percent(overloaded, probes.len()),
        rate_429_percent: percent(too_many, probes.len()),
        outcomes,
        incidents: incidents_overlapping(incidents, from, to),
        lead_times,
        median_lead_seconds,
        downtime: downtime_runs(&config, &reachability),
    }
}

/// Whether a probe says the API was down: the health assessment's hard failures. Slowness is a
/// failure there too, but an answer that came is not downtime.
fn is_down(config: &HealthConfig, probe: &ProbeResult) -> bool {
    matches!(
        config.signal(probe),
        Signal::Fail(
            FailureKind::Overloaded
                | FailureKind::ServerError
                | FailureKind::Timeout
                | FailureKind::Network
        )
    )
}

/// `part` of `whole` in percent; `None` of nothing.
fn percent(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}

/// The runs of failing probes, given in time order.
fn downtime_runs(config: &HealthConfig, reachability: &[&ProbeResult]) -> Vec<DowntimeRun> {
    /// The run being built: its start and its outcomes with their counts, in first-seen order.
    struct Open {
        start: DateTime<Utc>,
        outcomes: Vec<(ProbeOutcome, u64)>,
    }
    impl Open {
        fn failures(&self) -> u64 {
            self.outcomes.iter().map(|(_, n)| n).sum()
        }
        fn close(self, end: Option<DateTime<Utc>>) -> Option<DowntimeRun> {
            let failures = self.failures();
            if failures < MIN_FAILURES_FOR_DOWNTIME {
                return None;
            }
            // A strictly greater count replaces the leader, so ties go to the earliest outcome.
            let mut leader = self.outcomes.first().copied()?;
            for entry in &self.outcomes {
                if entry.1 > leader.1 {
                    leader = *entry;
                }
            }
            Some(DowntimeRun {
                start: self.start,
                end,
                outcome: leader.0,
                failures,
            })
        }
    }

    let mut runs = Vec::new();
    let mut open: Option<Open> = None;
    for probe in reachability {
        if is_down(config, probe) {
            let run = open.get_or_insert_with(|| Open {
                start: probe.at,
                outcomes: Vec::new(),
            });
            match run.outcomes.iter_mut().find(|(o, _)| *o == probe.outcome()) {
                Some((_, count)) => *count += 1,
                None => run.outcomes.push((probe.outcome(), 1)),
            }
        } else if let Some(run) = open.take() {
            runs.extend(run.close(Some(probe.at)));
        }
    }
    if let Some(run) = open {
        runs.extend(run.close(None));
    }
    runs
}

/// The incidents overlapping `[from, to)`, newest first, as shown.
///
/// An incident starts at its `created_at` (else its `started_at`; with neither it cannot be
/// placed and is left out). It ends at its `resolved_at`; a closed incident without one (a
/// trimmed payload) ends at its last update, and an open one has not ended.
fn incidents_overlapping(
    incidents: &[Incident],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<IncidentReport> {
    let mut overlapping: Vec<(DateTime<Utc>, &Incident)> = incidents
        .iter()
        .filter_map(|incident| {
            let start = incident.created_at.or(incident.started_at)?;
            let end = incident.resolved_at.or_else(|| {
                incident
                    .status
                    .is_closed()
                    .then(|| incident.updated_at.unwrap_or(start))
            });
            (start < to && end.is_none_or(|end| end > from)).then_some((start, incident))
        })
        .collect();
    overlapping.sort_by(|(a_start, a), (b_start, b)| {
        b_start.cmp(a_start).then_with(|| a.key().cmp(&b.key()))
    });
    overlapping
        .into_iter()
        .map(|(_, incident)| IncidentReport::from(incident))
        .collect()
}

/// The lead times reported within the window, newest report first.
fn lead_times_in(
    leads: &[HistoryLead],
    in_window: &dyn Fn(DateTime<Utc>) -> bool,
) -> Vec<LeadTimeReport> {
    let mut reports: Vec<LeadTimeReport> = leads
        .iter()
        .filter(|lead| in_window(lead.reported_at))
        .map(|lead| LeadTimeReport {
            incident_id: lead.incident_id.clone(),
            incident_name: lead.incident_name.clone(),
            model: lead.model.clone(),
            detected_at: lead.detected_at,
            reported_at: lead.reported_at,
            lead_seconds: (lead.reported_at - lead.detected_at).num_seconds(),
        })
        .collect();
    reports.sort_by(|a, b| {
        b.reported_at
            .cmp(&a.reported_at)
            .then_with(|| a.incident_id.cmp(&b.incident_id))
    });
    reports
}

/// The median by nearest rank, the rule [`percentile`] uses, for signed values.
fn median_nearest_rank(mut values: Vec<i64>) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    // Nearest rank of the 50th percentile: ceil(n / 2), counted from 1.
    let rank = values.len().div_ceil(2);
    values.get(rank - 1).copied()
}
