//! The user's own traffic as a health signal in the monitor (issue 11): the gateway sees each
//! attempt, and each one counts for the model it asked, through the same hysteresis and 529-rate
//! rules as the probes. Enough 529s on a model the user relies on turn the verdict overloaded,
//! naming the model and the numbers; a few stray ones do not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use claude_status_core::alerts::AlertKind;
use claude_status_core::catalog::Catalog;
use claude_status_core::monitor::{Effect, MonitorConfig, MonitorState, Observation};
use claude_status_core::tracker::{Tracker, TrackerConfig};
use claude_status_core::usage::{TokenCounts, UsageRecord, UsageSource};
use claude_status_core::verdict::Answer;
use claude_status_core::Level;

/// A current model: a retired one answers 404 and is never overloaded.
const MODEL: &str = "claude-sonnet-4-6";

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap() + Duration::seconds(seconds)
}

fn request(seconds: i64, status: u16) -> UsageRecord {
    let tokens = if status == 200 {
        TokenCounts {
            input: 100,
            output: 50,
            ..TokenCounts::default()
        }
    } else {
        TokenCounts::default()
    };
    UsageRecord {
        status: Some(status),
        latency_ms: Some(300),
        ..UsageRecord::new(at(seconds), UsageSource::Gateway, MODEL, tokens)
    }
}

fn state() -> MonitorState {
    MonitorState::new(MonitorConfig::default())
        .with_tracker(Tracker::new(Catalog::builtin(), TrackerConfig::default()))
}

/// Where the 529s fall among the requests.
#[derive(Debug, Clone, Copy)]
enum Pattern {
    /// The latest requests, in a row: the storm is going on now.
    Latest,
    /// Spread evenly over the requests.
    Spread,
}

/// `(requests, of which 529, where)` in one batch → the level, and whether the model decided it.
fn check(total: usize, overloaded: usize, pattern: Pattern, expected: Level) {
    let fails = |i: usize| match pattern {
        Pattern::Latest => i >= total - overloaded,
        Pattern::Spread => (i + 1) * overloaded / total > i * overloaded / total,
    };
    let records: Vec<UsageRecord> = (0..total)
        .map(|i| request(i as i64, if fails(i) { 529 } else { 200 }))
        .collect();
    assert_eq!(
        records.iter().filter(|r| r.status == Some(529)).count(),
        overloaded
    );
    // The reasons count over the last five attempts.
    let last_five = records
        .iter()
        .rev()
        .take(5)
        .filter(|r| r.status == Some(529))
        .count();
    let mut state = state();
    let effects = state.apply(Observation::Usage { records }, at(total as i64));
    let snapshot = state.snapshot();
    let case = format!("{total}/{overloaded} {pattern:?}");
    assert_eq!(snapshot.level, expected, "{case}: {:?}", snapshot.reasons);

    // The model's own report counts every attempt the gateway saw.
    let model = snapshot.models.iter().find(|m| m.model == MODEL).unwrap();
    let traffic = model.own_traffic.as_ref().unwrap();
    assert_eq!(
        (traffic.requests, traffic.overloaded),
        (total as u32, overloaded as u32),
        "{case}"
    );
    assert_eq!(traffic.sources, ["gateway"]);
    assert!(model.relied_on && model.followed, "{case}");
    // The gateway sees each attempt as it happens: overloads are watched.
    assert!(snapshot.coverage.overloads_watched, "{case}");
    assert_eq!(snapshot.coverage.warning, None);

    let trouble: Vec<_> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Notify(n) if n.kind == AlertKind::Trouble => Some(n),
            _ => None,
        })
        .collect();
    if expected == Level::Overloaded {
        assert_eq!(
            snapshot.reasons[0],
            format!(
                "Sonnet 4.6: overloaded, 529 on {last_five} of the last {} of your requests",
                total.min(5)
            ),
            "{case}"
        );
        assert_eq!(snapshot.subject.as_deref(), Some(MODEL));
        assert_eq!(snapshot.hits_you.answer, Answer::Yes, "{case}");
        assert_eq!(trouble.len(), 1, "{case}: {effects:?}");
        assert_eq!(trouble[0].title, "Claude Sonnet 4.6 overloaded");
    } else {
        // A model that never answered is not "operational": nothing says it works yet.
        let expected_model = if overloaded < total {
            Level::Operational
        } else {
            Level::Unknown
        };
        assert_eq!(model.level, expected_model, "{case}: {:?}", model.reasons);
        assert_eq!(snapshot.subject, None);
        assert!(trouble.is_empty(), "{case}: {effects:?}");
    }
    assert!(snapshot.usage.is_some());
}

#[test]
fn own_529s_turn_the_verdict_overloaded_only_when_they_are_more_than_noise() {
    use Pattern::{Latest, Spread};
    // No status page and no probe: without trouble on the model the level is unknown.
    check(40, 8, Latest, Level::Overloaded);
    check(10, 3, Latest, Level::Overloaded);
    // Three failed attempts in a row are enough, however little traffic: each is a real
    // request of the user's that did not get an answer.
    check(5, 5, Latest, Level::Overloaded);
    check(3, 3, Latest, Level::Overloaded);
    // Two in a row are being confirmed, not an overload.
    check(10, 2, Latest, Level::Unknown);
    // One stray 529 is noise.
    check(1, 1, Latest, Level::Unknown);
    check(50, 1, Spread, Level::Unknown);
    // Three in two hundred is 1.5 %: under the 2 % line, and never three in a row.
    check(200, 3, Spread, Level::Unknown);
    // A share well over the line while the storm goes on: overloaded by the 529 rate alone.
    check(12, 6, Spread, Level::Overloaded);
}

/// The service sends snapshots to the tray, the dashboard and `check` as JSON; the usage part
/// must come back whole, or `check --json` through a service would lose it.
#[test]
fn a_snapshot_with_usage_reads_back_the_same() {
    let mut state = state();
    let records: Vec<UsageRecord> = (0..5).map(|i| request(i, 200)).collect();
    let _ = state.apply(Observation::Usage { records }, at(10));
    let snapshot = state.snapshot();
    assert!(snapshot.usage.is_some());
    let text = serde_json::to_string(&snapshot).unwrap();
    let back: claude_status_core::report::Snapshot = serde_json::from_str(&text).unwrap();
    assert_eq!(back.usage, snapshot.usage);
    assert_eq!(back.models, snapshot.models);
    assert_eq!(serde_json::to_string(&back).unwrap(), text);
}
