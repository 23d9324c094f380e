//! The wall clock jumps an hour forward and then an hour back (issue 16, item 2), through the
//! injected clock: core takes `now` as an argument, so the jump is a `now` that moves. Across the
//! jumps the monitor raises no notification for healthy probes, the hysteresis still needs its
//! failures in a row, the tier windows, the budget's day and month and the plan windows stay
//! right or say they do not know, and nothing shown reads as a negative duration.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use chrono::{DateTime, Duration, TimeZone, Utc};
use claude_status_core::aggregate::DayZone;
use claude_status_core::catalog::Catalog;
use claude_status_core::health::{ProbeKind, ProbeResult};
use claude_status_core::models::ModelsConfig;
use claude_status_core::monitor::{Effect, MonitorConfig, MonitorState, Observation, PageFetch};
use claude_status_core::plan::{Freshness, Observed, PlanReading, PlanSource, PlanWindows};
use claude_status_core::probe::{Classification, ProbeOutcome};
use claude_status_core::ratelimit::{RateLimitBucket, RateLimitSnapshot};
use claude_status_core::statusline::{parse_input, render, RenderOptions, Segment, StatusFacts};
use claude_status_core::statuspage::StatusPage;
use claude_status_core::tracker::{Tracker, TrackerConfig};
use claude_status_core::tray::tray_look;
use claude_status_core::usage::{TokenCounts, UsageRecord, UsageSource};
use claude_status_core::Level;

const HAIKU: &str = "claude-haiku-4-5";
const HOUR: i64 = 3600;

/// The story's wall clock: a month's last evening, so the jump forward crosses a day and a month.
fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 23, 30, 0).unwrap()
}

/// The wall clock `elapsed` real seconds into the story, with the jumps at 60 s (+1 h) and at
/// 120 s (-1 h): what a process reads when someone sets the machine's clock.
fn wall(elapsed: i64) -> DateTime<Utc> {
    let jump = if (60..120).contains(&elapsed) {
        HOUR
    } else {
        0
    };
    base() + Duration::seconds(elapsed + jump)
}

/// Every negative duration or age a text shows: the same shapes the fault cases look for.
fn negative_durations(text: &str) -> Vec<String> {
    let units = [
        "ms", "s", "sec", "min", "m", "h", "hr", "d", "days", "hours", "minutes",
    ];
    let mut found = Vec::new();
    let bytes: Vec<char> = text.chars().collect();
    for (i, c) in bytes.iter().enumerate() {
        if *c != '-' || bytes.get(i + 1).is_none_or(|d| !d.is_ascii_digit()) {
            continue;
        }
        if i > 0 && (bytes[i - 1].is_alphanumeric() || bytes[i - 1] == '.') {
            continue;
        }
        let rest: String = bytes[i + 1..].iter().collect();
        let digits: String = rest.chars().take_while(|d| d.is_ascii_digit()).collect();
        let tail = rest[digits.len()..].trim_start();
        if units.iter().any(|u| {
            tail.starts_with(u)
                && tail[u.len()..]
                    .chars()
                    .next()
                    .is_none_or(|n| !n.is_alphanumeric())
        }) || tail.starts_with(':')
        {
            found.push(format!(
                "-{digits} {}",
                tail.chars().take(6).collect::<String>()
            ));
        }
    }
    found
}

fn probe(at: DateTime<Utc>, model: Option<&str>, outcome: ProbeOutcome) -> Observation {
    let ok = outcome == ProbeOutcome::Ok;
    Observation::Probe {
        result: Box::new(ProbeResult {
            at,
            kind: if model.is_some() {
                ProbeKind::Streaming
            } else {
                ProbeKind::Reachability
            },
            classification: Classification {
                outcome,
                http_status: Some(if ok { 200 } else { 529 }),
                error_type: None,
                error_message: None,
                request_id: None,
                retry_after: None,
                retry_not_before: None,
                detail: outcome.to_string(),
            },
            latency_ms: Some(150),
            message_start_ms: None,
            ttft_ms: model.map(|_| 300),
            ratelimit: Default::default(),
            usage: None,
            confirmation: false,
            model: model.map(str::to_owned),
        }),
    }
}

fn page() -> Observation {
    Observation::StatusPage {
        fetch: PageFetch::Fetched {
            page: Box::new(StatusPage::default()),
            source_url: "https://status.claude.com/api/v2/summary.json".into(),
            not_modified: false,
        },
    }
}

fn monitor() -> MonitorState {
    MonitorState::new(MonitorConfig {
        models: ModelsConfig {
            pinned: vec![HAIKU.to_owned()],
            default_model: HAIKU.to_owned(),
            probing: true,
            gateway: false,
            ..ModelsConfig::default()
        },
        ..MonitorConfig::default()
    })
}

/// The notifications and level changes of a batch of effects, in words.
fn said(effects: Vec<Effect>) -> Vec<String> {
    effects
        .into_iter()
        .filter_map(|effect| match effect {
            Effect::Notify(n) => Some(format!("notify {} {} — {}", n.level, n.title, n.body)),
            Effect::LevelChanged { from, to, .. } => Some(format!("level {from}→{to}")),
            _ => None,
        })
        .collect()
}

/// What the tray and the status line show at `now`; none of it may be a negative duration.
fn assert_shown_sane(state: &MonitorState, now: DateTime<Utc>) {
    let snapshot = state.snapshot();
    let look = tray_look(&snapshot, now, Some(now + Duration::minutes(30)));
    let shown = format!("{look:?}");
    assert!(
        negative_durations(&shown).is_empty(),
        "the tray at {now} shows a negative duration: {shown}"
    );
}

#[test]
fn healthy_probes_across_both_jumps_raise_nothing_and_show_no_negative_age() {
    let mut state = monitor();
    let mut changes = Vec::new();
    state.apply(page(), wall(0));
    for elapsed in 0..180 {
        let now = wall(elapsed);
        changes.extend(said(state.apply(probe(now, None, ProbeOutcome::Ok), now)));
        changes.extend(said(
            state.apply(probe(now, Some(HAIKU), ProbeOutcome::Ok), now),
        ));
        if elapsed % 20 == 0 {
            state.apply(page(), now);
        }
        // The snapshot checked a moment ago, read at the jump's other side too.
        assert_shown_sane(&state, now);
        assert_shown_sane(&state, now - Duration::hours(1));
        assert_shown_sane(&state, now + Duration::hours(1));
        if elapsed >= 5 {
            assert_eq!(state.snapshot().level, Level::Operational, "at {elapsed} s");
        }
    }
    let after_start: Vec<_> = changes.iter().filter(|c| c.starts_with("notify")).collect();
    assert!(
        after_start.is_empty(),
        "healthy probes notified: {changes:?}"
    );
}

#[test]
fn hysteresis_counts_failures_in_a_row_across_the_jumps() {
    // Two failures before the jump back and one after it are three in a row: the model is in
    // trouble once, and recovers once; the jump neither hides nor doubles it.
    let mut state = monitor();
    state.apply(page(), wall(0));
    let mut changes = Vec::new();
    for elapsed in 0..200 {
        let now = wall(elapsed);
        let outcome = if (118..128).contains(&elapsed) {
            ProbeOutcome::Overloaded
        } else {
            ProbeOutcome::Ok
        };
        changes.extend(said(state.apply(probe(now, None, ProbeOutcome::Ok), now)));
        changes.extend(said(state.apply(probe(now, Some(HAIKU), outcome), now)));
        assert_shown_sane(&state, now);
    }
    let troubles = changes
        .iter()
        .filter(|c| c.starts_with("notify") && !c.contains("recovered"))
        .count();
    let recoveries = changes
        .iter()
        .filter(|c| c.starts_with("notify") && c.contains("recovered"))
        .count();
    assert!(
        troubles <= 1 && recoveries <= troubles,
        "one run of failures across the jump back: {changes:?}"
    );
    assert!(
        changes.iter().any(|c| c.starts_with("level")),
        "ten overloads in a row across the jump back changed no level: {changes:?}"
    );
    for change in &changes {
        assert!(
            negative_durations(change).is_empty(),
            "a notification shows a negative duration: {change}"
        );
    }
    assert_eq!(state.snapshot().level, Level::Operational, "{changes:?}");
}

fn request(at: DateTime<Utc>) -> UsageRecord {
    UsageRecord {
        status: Some(200),
        ..UsageRecord::new(
            at,
            UsageSource::Gateway,
            "claude-sonnet-4-5-20250929",
            TokenCounts {
                input: 1_000,
                output: 100,
                ..TokenCounts::default()
            },
        )
    }
}

fn tracker() -> Tracker {
    Tracker::new(
        Catalog::builtin(),
        TrackerConfig {
            tier: Some("tier-1".to_owned()),
            daily_budget_usd: Some(1.0),
            monthly_budget_usd: Some(10.0),
            ..TrackerConfig::default()
        },
    )
}

#[test]
fn tier_windows_count_the_last_minute_of_the_clock_now() {
    let mut tracker = tracker();
    for elapsed in 0..180 {
        let now = wall(elapsed);
        tracker.record(&request(now));
        let windows = tracker.windows(now);
        let requests: u64 = windows.iter().map(|w| w.requests).sum();
        // Within a minute of each jump the window holds the requests of the clock's last
        // minute that it still has; never more than a minute's, never a future one.
        assert!(
            (1..=60).contains(&requests),
            "at {elapsed} s ({now}) the 60 s window counts {requests} requests"
        );
        if (20..60).contains(&elapsed) || (140..180).contains(&elapsed) {
            let expected = if elapsed >= 140 {
                (elapsed - 120 + 1).min(60) as u64
            } else {
                (elapsed + 1).min(60) as u64
            };
            assert!(
                requests >= expected.min(20),
                "at {elapsed} s the window lost requests: {requests}"
            );
        }
    }
}

#[test]
fn the_budget_day_and_month_follow_the_clock_back() {
    let mut tracker = tracker();
    let mut before = 0;
    let mut after_back = 0;
    for elapsed in 0..180 {
        let now = wall(elapsed);
        tracker.record(&request(now));
        let snapshot = tracker.snapshot(now);
        let (day, month) = if (60..120).contains(&elapsed) {
            ("2026-12-01", "2026-12")
        } else {
            ("2026-11-30", "2026-11")
        };
        assert_eq!(snapshot.today.period, day, "at {elapsed} s");
        assert_eq!(snapshot.month.period, month, "at {elapsed} s");
        if elapsed < 60 {
            before += 1;
        } else if elapsed >= 120 {
            after_back += 1;
        }
        if elapsed >= 120 {
            // The day the clock came back to kept what it had before the jump.
            assert_eq!(
                snapshot.today.requests,
                before + after_back,
                "at {elapsed} s"
            );
            assert_eq!(
                snapshot.month.requests,
                before + after_back,
                "at {elapsed} s"
            );
        } else if elapsed >= 60 {
            assert_eq!(snapshot.today.requests, (elapsed - 60 + 1) as u64);
        }
        let shown = format!("{:?}", tracker.snapshot(now).daily_budget);
        assert!(negative_durations(&shown).is_empty(), "{shown}");
    }
}

fn reading(seen_at: DateTime<Utc>, percent: f64) -> PlanReading {
    PlanReading {
        window: "five_hour".to_owned(),
        used_percent: percent,
        resets_at: Some(Utc.with_ymd_and_hms(2026, 12, 1, 3, 0, 0).unwrap()),
        seen_at,
        source: PlanSource::StatusLine,
        client_version: None,
    }
}

#[test]
fn the_five_hour_window_shows_the_latest_reading_after_the_clock_moves_back() {
    let mut plan = PlanWindows::default();
    let mut percent = 10.0;
    for elapsed in (0..180).step_by(10) {
        let now = wall(elapsed);
        percent += 1.0;
        let observed = plan.observe(reading(now, percent));
        assert_ne!(
            observed,
            Observed::Ignored,
            "at {elapsed} s a reading of now was ignored"
        );
        let report = plan.report(now);
        let five = report.iter().find(|w| w.window == "five_hour").unwrap();
        // Right (the reading just taken) or unknown, never an older figure shown as current.
        match five.used_percent {
            Some(shown) => assert_eq!(shown, percent, "at {elapsed} s: {five:?}"),
            None => assert_ne!(five.freshness, Freshness::Fresh, "at {elapsed} s"),
        }
    }
}

#[test]
fn the_status_line_shows_no_negative_duration_on_either_side_of_a_jump() {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/claude_code/fixtures/statusline-input-2.1.328.json");
    let mut input: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let reset = Utc.with_ymd_and_hms(2026, 12, 1, 0, 10, 0).unwrap();
    input["rate_limits"] = serde_json::json!({
        "five_hour": {"used_percentage": 42.5, "resets_at": reset.timestamp()},
        "seven_day": {"used_percentage": 12, "resets_at": reset.timestamp() + 5 * 86_400},
    });
    let bytes = serde_json::to_vec(&input).unwrap();
    let options = RenderOptions {
        segments: vec![
            Segment::Health,
            Segment::Session,
            Segment::Today,
            Segment::Windows,
            Segment::Context,
        ],
        color: false,
        columns: None,
        zone: DayZone::utc(),
    };
    for elapsed in 0..180 {
        let read_at = wall(elapsed);
        let parsed = parse_input(&bytes, read_at).unwrap();
        for shift in [-HOUR, 0, HOUR] {
            let now = read_at + Duration::seconds(shift);
            let line = render(Some(&parsed), &StatusFacts::none(), now, &options);
            assert!(
                negative_durations(&line).is_empty(),
                "at {elapsed} s, now {now}: {line}"
            );
        }
    }
}

#[test]
fn the_detector_sees_every_shape_of_negative_duration() {
    // The checks above can fail: each of these is what a broken clamp would print.
    for shown in [
        "checked -12 s ago",
        "resets in -5 min",
        "-1 h",
        "lasted -3 min",
        "-00:12",
    ] {
        assert!(!negative_durations(shown).is_empty(), "{shown}");
    }
    for shown in [
        "checked 12 s ago",
        "claude-haiku-4-5",
        "2026-11-30",
        "tier-1 limits",
    ] {
        assert!(negative_durations(shown).is_empty(), "{shown}");
    }
}

#[test]
fn a_trouble_after_the_clock_came_back_is_told_though_one_was_told_an_hour_ahead() {
    // Overloads while the clock is an hour ahead, and again 15 real minutes later (past the
    // 10-minute cooldown) after it came back: both are told, each with its recovery. The first
    // one's send time, an hour "in the future" of the second, must not hold the second back.
    let mut state = monitor();
    state.apply(page(), wall(0));
    let mut changes = Vec::new();
    for elapsed in (0..1500).step_by(5) {
        let now = wall(elapsed);
        let outcome = if (70..95).contains(&elapsed) || (1000..1025).contains(&elapsed) {
            ProbeOutcome::Overloaded
        } else {
            ProbeOutcome::Ok
        };
        changes.extend(said(state.apply(probe(now, None, ProbeOutcome::Ok), now)));
        changes.extend(said(state.apply(probe(now, Some(HAIKU), outcome), now)));
        if elapsed % 60 == 0 {
            state.apply(page(), now);
        }
    }
    let notes: Vec<&String> = changes.iter().filter(|c| c.starts_with("notify")).collect();
    let told: Vec<&str> = notes
        .iter()
        .map(|c| {
            if c.contains("flapping") {
                "flapping"
            } else if c.contains("recovered") {
                "recovered"
            } else {
                "trouble"
            }
        })
        .collect();
    assert_eq!(
        told,
        ["trouble", "recovered", "trouble", "recovered"],
        "{changes:#?}"
    );
    let flips = changes.iter().filter(|c| c.starts_with("level")).count();
    assert_eq!(
        flips, 5,
        "two episodes are four level changes after the first: {changes:#?}"
    );
    for note in notes {
        assert!(negative_durations(note).is_empty(), "{note}");
    }
}

fn headers(remaining: u64) -> RateLimitSnapshot {
    RateLimitSnapshot {
        requests: Some(RateLimitBucket {
            limit: Some(50),
            remaining: Some(remaining),
            reset: None,
        }),
        ..RateLimitSnapshot::default()
    }
}

#[test]
fn the_live_limits_are_the_latest_headers_after_the_clock_moves_back() {
    // Headers read while the clock was an hour ahead must not outrank the ones read after it
    // came back: a late reply is seconds late, never an hour.
    let mut tracker = tracker();
    let model = "claude-sonnet-4-5-20250929";
    for (elapsed, remaining) in [(10, 40), (70, 30), (130, 20), (140, 10)] {
        let now = wall(elapsed);
        tracker.record(&request(now));
        tracker.observe_ratelimit(now, model, &headers(remaining));
        let windows = tracker.windows(now);
        let live = windows
            .iter()
            .find_map(|w| w.live.as_ref())
            .expect("live limits");
        assert_eq!(
            live.snapshot.requests.as_ref().and_then(|b| b.remaining),
            Some(remaining),
            "at {elapsed} s the live limits are {live:?}"
        );
    }
}
