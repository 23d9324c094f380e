//! The user's own traffic as a health signal in the monitor: enough 529s in their requests turn
//! the verdict overloaded, with the numbers in the reasons; a few stray ones do not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use claude_status_core::catalog::Catalog;
use claude_status_core::monitor::{Effect, MonitorConfig, MonitorState, Observation};
use claude_status_core::tracker::{Tracker, TrackerConfig};
use claude_status_core::usage::{TokenCounts, UsageRecord, UsageSource};
use claude_status_core::Level;

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap() + Duration::seconds(seconds)
}

fn request(seconds: i64, status: u16) -> UsageRecord {
    UsageRecord {
        at: at(seconds),
        source: UsageSource::Gateway,
        model: "claude-sonnet-4-5".to_owned(),
        tokens: if status == 200 {
            TokenCounts {
                input: 100,
                output: 50,
                ..TokenCounts::default()
            }
        } else {
            TokenCounts::default()
        },
        status: Some(status),
        latency_ms: Some(300),
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

fn state() -> MonitorState {
    MonitorState::new(MonitorConfig::default())
        .with_tracker(Tracker::new(Catalog::builtin(), TrackerConfig::default()))
}

/// `(requests, of which 529)` in one batch → the level and whether the reasons cite own traffic.
fn check(total: usize, overloaded: usize, expected: Level, cites_own_traffic: bool) {
    let mut state = state();
    let records: Vec<UsageRecord> = (0..total)
        .map(|i| request(i as i64, if i < overloaded { 529 } else { 200 }))
        .collect();
    let effects = state.apply(Observation::Usage { records }, at(total as i64));
    let snapshot = state.snapshot();
    assert_eq!(
        snapshot.level, expected,
        "{total}/{overloaded}: {:?}",
        snapshot.reasons
    );
    assert_eq!(
        snapshot
            .reasons
            .iter()
            .any(|r| r.starts_with("your own traffic")),
        cites_own_traffic,
        "{:?}",
        snapshot.reasons
    );
    if expected == Level::Overloaded {
        assert_eq!(
            snapshot.reasons[0],
            format!("your own traffic: 529 on {overloaded} of {total} requests in the last 5 min")
        );
        assert!(effects
            .iter()
            .any(|e| matches!(e, Effect::Notify(n) if n.title.contains("overloaded"))));
    }
    assert!(snapshot.usage.is_some());
}

#[test]
fn own_529s_turn_the_verdict_overloaded_only_when_they_are_more_than_noise() {
    // No status page and no probe: without own traffic the level is unknown.
    check(40, 8, Level::Overloaded, true);
    check(10, 3, Level::Overloaded, true);
    // Two 529s are below the minimum count, however high their share.
    check(10, 2, Level::Unknown, false);
    // Too little traffic to judge.
    check(5, 5, Level::Unknown, false);
    // Three in two hundred is 1.5 %: under the 2 % line.
    check(200, 3, Level::Unknown, false);
}
