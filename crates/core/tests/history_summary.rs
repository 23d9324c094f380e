//! The history summary as a table: probe results, incidents and lead times in, the report's
//! figures out, each case checked against a short text rendering of the whole report.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use chrono::{DateTime, Duration, TimeZone, Utc};
use claude_status_core::health::{ProbeKind, ProbeResult};
use claude_status_core::history::{summarize, HistoryLead, HistoryReport};
use claude_status_core::probe::{Classification, ProbeOutcome};
use claude_status_core::ratelimit::RateLimitSnapshot;
use claude_status_core::statuspage::{Impact, Incident, IncidentStatus};

// ---------------------------------------------------------------------------------------------
// Inputs.

/// Minutes after a fixed start.
fn t(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 8, 21, 12, 0, 0).unwrap() + Duration::minutes(minutes)
}

/// Seconds after a fixed start, for times between the minutes.
fn ts(seconds: i64) -> DateTime<Utc> {
    t(0) + Duration::seconds(seconds)
}

fn result(at: DateTime<Utc>, kind: ProbeKind, outcome: ProbeOutcome) -> ProbeResult {
    let http_status = match outcome {
        ProbeOutcome::Ok => Some(200),
        ProbeOutcome::Overloaded => Some(529),
        ProbeOutcome::RateLimited | ProbeOutcome::SpendCap => Some(429),
        ProbeOutcome::ServerError => Some(500),
        _ => None,
    };
    ProbeResult {
        at,
        kind,
        classification: Classification {
            outcome,
            http_status,
            error_type: None,
            error_message: None,
            request_id: None,
            retry_after: None,
            retry_not_before: None,
            detail: outcome.to_string(),
        },
        latency_ms: Some(200),
        message_start_ms: None,
        ttft_ms: None,
        ratelimit: RateLimitSnapshot::default(),
        usage: None,
        confirmation: false,
        model: (kind == ProbeKind::Streaming).then(|| "claude-haiku-4-5".to_owned()),
    }
}

/// A regular reachability probe at minute `minute`.
fn reach(minute: i64, outcome: ProbeOutcome) -> ProbeResult {
    result(t(minute), ProbeKind::Reachability, outcome)
}

/// A reachability probe that answered in `latency_ms`.
fn reach_in(minute: i64, latency_ms: u64) -> ProbeResult {
    ProbeResult {
        latency_ms: Some(latency_ms),
        ..reach(minute, ProbeOutcome::Ok)
    }
}

/// A confirmation re-check at `seconds` after the start.
fn confirm(seconds: i64, outcome: ProbeOutcome) -> ProbeResult {
    ProbeResult {
        confirmation: true,
        ..result(ts(seconds), ProbeKind::Reachability, outcome)
    }
}

/// A streaming probe whose first token came after `ttft_ms`.
fn stream(minute: i64, ttft_ms: u64) -> ProbeResult {
    ProbeResult {
        message_start_ms: Some(ttft_ms / 2),
        ttft_ms: Some(ttft_ms),
        ..result(t(minute), ProbeKind::Streaming, ProbeOutcome::Ok)
    }
}

/// An incident created at `created` (minutes) and resolved at `resolved`, or still open.
fn incident(id: &str, created: Option<i64>, resolved: Option<i64>) -> Incident {
    Incident {
        id: id.to_owned(),
        name: format!("Incident {id}"),
        status: if resolved.is_some() {
            IncidentStatus::Resolved
        } else {
            IncidentStatus::Investigating
        },
        impact: Impact::Major,
        created_at: created.map(t),
        updated_at: created.map(t),
        resolved_at: resolved.map(t),
        ..Incident::default()
    }
}

fn lead(id: &str, detected_seconds: i64, reported_seconds: i64) -> HistoryLead {
    HistoryLead {
        incident_id: id.to_owned(),
        incident_name: format!("Incident {id}"),
        model: None,
        detected_at: ts(detected_seconds),
        reported_at: ts(reported_seconds),
    }
}

/// One case: what goes in. The window defaults to the first two hours.
struct Input {
    probes: Vec<ProbeResult>,
    incidents: Vec<Incident>,
    leads: Vec<HistoryLead>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

impl Default for Input {
    fn default() -> Self {
        Input {
            probes: Vec::new(),
            incidents: Vec::new(),
            leads: Vec::new(),
            from: t(0),
            to: t(120),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The check.

/// Renders every figure of a report on a few lines, times as minutes (or seconds) after `t(0)`.
fn render(report: &HistoryReport) -> String {
    let number = |value: Option<u64>| value.map_or("-".to_owned(), |v| v.to_string());
    let share = |value: Option<f64>| value.map_or("-".to_owned(), |v| format!("{v:.1}%"));
    let time = |at: DateTime<Utc>| {
        let seconds = (at - t(0)).num_seconds();
        if seconds % 60 == 0 {
            format!("{}m", seconds / 60)
        } else {
            format!("{seconds}s")
        }
    };
    let mut lines = vec![
        format!(
            "probes {} | uptime {} | 529 {} | 429 {}",
            report.probes,
            share(report.uptime_percent),
            share(report.rate_529_percent),
            share(report.rate_429_percent)
        ),
        format!(
            "latency {}/{} | ttft {}/{}",
            number(report.latency_p50_ms),
            number(report.latency_p95_ms),
            number(report.ttft_p50_ms),
            number(report.ttft_p95_ms)
        ),
    ];
    if !report.outcomes.is_empty() {
        let outcomes: Vec<String> = report
            .outcomes
            .iter()
            .map(|(outcome, count)| format!("{outcome}={count}"))
            .collect();
        lines.push(format!("outcomes {}", outcomes.join(" ")));
    }
    for run in &report.downtime {
        lines.push(format!(
            "down {}..{} {} x{}",
            time(run.start),
            run.end.map_or("open".to_owned(), time),
            run.outcome,
            run.failures
        ));
    }
    if !report.incidents.is_empty() {
        let ids: Vec<&str> = report.incidents.iter().map(|i| i.id.as_str()).collect();
        lines.push(format!("incidents {}", ids.join(", ")));
    }
    for lead in &report.lead_times {
        lines.push(format!(
            "lead {} {}s (reported {})",
            lead.incident_id,
            lead.lead_seconds,
            time(lead.reported_at)
        ));
    }
    if let Some(median) = report.median_lead_seconds {
        lines.push(format!("median lead {median}s"));
    }
    lines.join("\n")
}

fn check(input: Input, expected: &str) {
    let report = summarize(
        &input.probes,
        &input.incidents,
        &input.leads,
        input.from,
        input.to,
    );
    assert_eq!(report.from, input.from);
    assert_eq!(report.to, input.to);
    assert_eq!(report.window_label, "");
    let actual = render(&report);
    let expected = expected
        .trim()
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(actual, expected, "\nactual:\n{actual}\n");
}

// ---------------------------------------------------------------------------------------------
// Cases.

#[test]
fn an_empty_window_has_no_figures() {
    check(
        Input::default(),
        "probes 0 | uptime - | 529 - | 429 -
         latency -/- | ttft -/-",
    );
}

#[test]
fn all_probes_ok() {
    check(
        Input {
            probes: (1..=5).map(|i| reach_in(i, i as u64 * 100)).collect(),
            ..Input::default()
        },
        "probes 5 | uptime 100.0% | 529 0.0% | 429 0.0%
         latency 300/500 | ttft -/-
         outcomes ok=5",
    );
}

#[test]
fn a_529_storm_is_one_downtime_run_and_its_confirmation_is_not_uptime() {
    // Seven regular probes, three of them 529s, and one confirmation during the storm: uptime
    // is 4 of 7 regular probes, the 529 rate 4 of all 8.
    let mut probes = vec![
        reach_in(0, 150),
        reach_in(1, 250),
        reach(2, ProbeOutcome::Overloaded),
        confirm(150, ProbeOutcome::Overloaded),
        reach(3, ProbeOutcome::Overloaded),
        reach(4, ProbeOutcome::Overloaded),
        reach_in(5, 350),
        reach_in(6, 450),
    ];
    // The fast 529 answers (200 ms) do not pull the latency down: only working answers count.
    probes.reverse(); // Any order in, time order out.
    check(
        Input {
            probes,
            ..Input::default()
        },
        "probes 8 | uptime 57.1% | 529 50.0% | 429 0.0%
         latency 250/450 | ttft -/-
         outcomes ok=4 overloaded=4
         down 2m..5m overloaded x4",
    );
}

#[test]
fn a_single_failure_is_not_downtime_and_a_run_at_the_end_stays_open() {
    check(
        Input {
            probes: vec![
                reach(0, ProbeOutcome::Ok),
                reach(1, ProbeOutcome::ServerError),
                reach(2, ProbeOutcome::Ok),
                reach(3, ProbeOutcome::Timeout),
                reach(4, ProbeOutcome::Network),
                confirm(4 * 60 + 20, ProbeOutcome::Network),
            ],
            ..Input::default()
        },
        "probes 6 | uptime 40.0% | 529 0.0% | 429 0.0%
         latency 200/200 | ttft -/-
         outcomes network=2 ok=2 server_error=1 timeout=1
         down 3m..open network x3",
    );
}

#[test]
fn rate_limits_and_the_spend_cap_are_429s_not_downtime() {
    check(
        Input {
            probes: vec![
                reach(0, ProbeOutcome::RateLimited),
                reach(1, ProbeOutcome::RateLimited),
                reach(2, ProbeOutcome::SpendCap),
                reach(3, ProbeOutcome::Ok),
                reach(4, ProbeOutcome::Ok),
                reach(5, ProbeOutcome::Overloaded),
                reach(6, ProbeOutcome::Ok),
                reach(7, ProbeOutcome::Unauthenticated),
            ],
            ..Input::default()
        },
        "probes 8 | uptime 87.5% | 529 12.5% | 429 37.5%
         latency 200/200 | ttft -/-
         outcomes ok=3 overloaded=1 rate_limited=2 spend_cap=1 unauthenticated=1",
    );
}

#[test]
fn slow_answers_are_up_but_show_in_the_latency() {
    check(
        Input {
            probes: vec![reach_in(0, 300), reach_in(1, 6_500), reach_in(2, 7_000)],
            ..Input::default()
        },
        "probes 3 | uptime 100.0% | 529 0.0% | 429 0.0%
         latency 6500/7000 | ttft -/-
         outcomes ok=3",
    );
}

#[test]
fn streaming_ttft_percentiles_use_nearest_rank() {
    // First tokens after 100 ms … 2000 ms: the 10th and the 19th of 20 values. A streamed 529
    // has no first token and no say in the figure.
    let mut probes: Vec<ProbeResult> = (1..=20).map(|i| stream(i, i as u64 * 100)).collect();
    probes.push(result(
        t(30),
        ProbeKind::Streaming,
        ProbeOutcome::Overloaded,
    ));
    check(
        Input {
            probes,
            ..Input::default()
        },
        "probes 21 | uptime - | 529 4.8% | 429 0.0%
         latency -/- | ttft 1000/1900
         outcomes ok=20 overloaded=1",
    );
}

#[test]
fn probes_outside_the_window_do_not_count() {
    check(
        Input {
            probes: vec![
                reach(9, ProbeOutcome::Overloaded),
                reach(10, ProbeOutcome::Ok),
                reach(19, ProbeOutcome::Ok),
                reach(20, ProbeOutcome::Overloaded),
            ],
            from: t(10),
            to: t(20),
            ..Input::default()
        },
        "probes 2 | uptime 100.0% | 529 0.0% | 429 0.0%
         latency 200/200 | ttft -/-
         outcomes ok=2",
    );
}

#[test]
fn incidents_overlapping_the_window_newest_first() {
    let mut closed_without_time = incident("closed-without-resolved-at", Some(10), None);
    closed_without_time.status = IncidentStatus::Postmortem;
    closed_without_time.updated_at = Some(t(65));
    let mut closed_before = incident("closed-before-by-last-update", Some(10), None);
    closed_before.status = IncidentStatus::Resolved;
    closed_before.updated_at = Some(t(40));
    let mut started_only = incident("started-only", None, None);
    started_only.started_at = Some(t(100));
    check(
        Input {
            incidents: vec![
                incident("over-before", Some(0), Some(30)),
                incident("resolved-at-from", Some(0), Some(60)),
                incident("spans", Some(0), Some(90)),
                incident("open-since-long-ago", Some(0), None),
                incident("inside", Some(70), Some(80)),
                incident("created-at-to", Some(120), None),
                incident("no-times", None, None),
                closed_without_time,
                closed_before,
                started_only,
            ],
            from: t(60),
            to: t(120),
            ..Input::default()
        },
        "probes 0 | uptime - | 529 - | 429 -
         latency -/- | ttft -/-
         incidents started-only, inside, closed-without-resolved-at, open-since-long-ago, spans",
    );
}

#[test]
fn lead_times_newest_first_with_their_median() {
    check(
        Input {
            leads: vec![
                lead("a", 0, 600),
                lead("b", 1_000, 1_060),
                lead("c", 2_000, 2_120),
                // The page was first here: a negative lead.
                lead("d", 3_000, 2_990),
                // Reported after the window: not this window's.
                lead("late", 0, 7_200),
            ],
            ..Input::default()
        },
        "probes 0 | uptime - | 529 - | 429 -
         latency -/- | ttft -/-
         lead d -10s (reported 2990s)
         lead c 120s (reported 2120s)
         lead b 60s (reported 1060s)
         lead a 600s (reported 10m)
         median lead 60s",
    );
}

#[test]
fn the_median_of_an_odd_count_is_the_middle_and_of_an_even_count_the_lower_middle() {
    check(
        Input {
            leads: vec![lead("a", 0, 300), lead("b", 0, 90), lead("c", 0, 120)],
            ..Input::default()
        },
        "probes 0 | uptime - | 529 - | 429 -
         latency -/- | ttft -/-
         lead a 300s (reported 5m)
         lead c 120s (reported 2m)
         lead b 90s (reported 90s)
         median lead 120s",
    );
    check(
        Input {
            leads: vec![lead("a", 0, 300), lead("b", 0, 90)],
            ..Input::default()
        },
        "probes 0 | uptime - | 529 - | 429 -
         latency -/- | ttft -/-
         lead a 300s (reported 5m)
         lead b 90s (reported 90s)
         median lead 90s",
    );
}

#[test]
fn the_json_uses_the_documented_field_names() {
    let mut report = summarize(
        &[
            reach(0, ProbeOutcome::Overloaded),
            reach(1, ProbeOutcome::Overloaded),
        ],
        &[incident("open", Some(0), None)],
        &[lead("a", 0, 90)],
        t(0),
        t(120),
    );
    report.window_label = "2h".to_owned();
    let json = serde_json::to_value(&report).unwrap();
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for key in [
        "from",
        "to",
        "window_label",
        "probes",
        "uptime_percent",
        "latency_p50_ms",
        "latency_p95_ms",
        "ttft_p50_ms",
        "ttft_p95_ms",
        "rate_529_percent",
        "rate_429_percent",
        "outcomes",
        "incidents",
        "lead_times",
        "median_lead_seconds",
        "downtime",
    ] {
        assert!(keys.contains(&key), "{key} missing from {keys:?}");
    }
    assert_eq!(json["window_label"], "2h");
    assert_eq!(json["uptime_percent"], 0.0);
    assert_eq!(json["ttft_p50_ms"], serde_json::Value::Null);
    assert_eq!(json["outcomes"]["overloaded"], 2);
    assert_eq!(json["lead_times"][0]["lead_seconds"], 90);
    assert_eq!(json["median_lead_seconds"], 90);
    assert_eq!(json["downtime"][0]["outcome"], "overloaded");
    assert_eq!(json["downtime"][0]["end"], serde_json::Value::Null);
    assert_eq!(json["incidents"][0]["id"], "open");
    // It reads back, and a report without a label reads with an empty one.
    let back: HistoryReport = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(back, report);
    let mut unlabelled = json;
    unlabelled.as_object_mut().unwrap().remove("window_label");
    let back: HistoryReport = serde_json::from_value(unlabelled).unwrap();
    assert_eq!(back.window_label, "");
}
