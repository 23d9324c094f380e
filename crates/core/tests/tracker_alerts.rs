//! Usage alerts: 80% / 95% of a per-minute limit sustained over three minutes, of the monthly
//! spend cap and of the user's budgets, and the spend cap reached. Once per crossing, re-armed
//! below the threshold minus a margin, with a cooldown.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use chrono::{DateTime, Duration, Utc};
use claude_status_core::alerts::{AlertKind, Notification};
use claude_status_core::catalog::Catalog;
use claude_status_core::tracker::{Tracker, TrackerConfig, UsageAlertPolicy, UsageAlerts};
use claude_status_core::usage::{TokenCounts, UsageRecord, UsageSource};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn start() -> DateTime<Utc> {
    at("2026-10-01T12:00:00Z")
}

fn request(time: DateTime<Utc>) -> UsageRecord {
    UsageRecord {
        status: Some(200),
        ..UsageRecord::new(
            time,
            UsageSource::Gateway,
            "claude-sonnet-4-5",
            TokenCounts {
                input: 10,
                output: 1,
                ..TokenCounts::default()
            },
        )
    }
}

/// A Tier 1 tracker (Sonnet 4.x: 50 RPM) with a test policy: 8-minute cooldown.
struct Scenario {
    tracker: Tracker,
    alerts: UsageAlerts,
    policy: UsageAlertPolicy,
}

impl Scenario {
    fn new() -> Self {
        Self {
            tracker: Tracker::new(
                Catalog::builtin(),
                TrackerConfig {
                    tier: Some("tier-1".to_owned()),
                    monthly_budget_usd: Some(20.0),
                    ..TrackerConfig::default()
                },
            ),
            alerts: UsageAlerts::default(),
            policy: UsageAlertPolicy {
                cooldown: Duration::minutes(8),
                ..UsageAlertPolicy::default()
            },
        }
    }

    /// `count` requests spread over minute `minute` after the start.
    fn minute(&mut self, minute: i64, count: i64) -> &mut Self {
        for n in 0..count {
            let second = n * 60 / count.max(1);
            self.tracker.record(&request(
                start() + Duration::minutes(minute) + Duration::seconds(second),
            ));
        }
        self
    }

    /// The titles of the alerts decided at `minute:seconds` after the start.
    fn decide(&mut self, minute: i64, seconds: i64) -> Vec<String> {
        let now = start() + Duration::minutes(minute) + Duration::seconds(seconds);
        self.decide_at(now).into_iter().map(|n| n.title).collect()
    }

    fn decide_at(&mut self, now: DateTime<Utc>) -> Vec<Notification> {
        self.alerts.decide(&self.policy, &self.tracker, now)
    }
}

const RPM_80: &str = "sonnet-4: 80% of the request limit";
const RPM_95: &str = "sonnet-4: 95% of the request limit";

#[test]
fn once_per_crossing_rearmed_below_the_margin_with_a_cooldown() {
    let mut s = Scenario::new();
    // 45 of 50 RPM (90%) for three minutes.
    s.minute(0, 45).minute(1, 45).minute(2, 45);
    assert_eq!(
        s.decide(2, 50),
        Vec::<String>::new(),
        "only completed minutes count"
    );
    assert_eq!(s.decide(3, 5), vec![RPM_80]);
    assert_eq!(s.decide(3, 30), Vec::<String>::new(), "once per crossing");
    s.minute(3, 45);
    assert_eq!(
        s.decide(4, 5),
        Vec::<String>::new(),
        "still above: no repeat"
    );
    // Back to 10%: re-armed.
    s.minute(4, 5);
    assert_eq!(s.decide(5, 5), Vec::<String>::new());
    // Crosses again within the cooldown (5 minutes after the first alert): held back.
    s.minute(5, 45).minute(6, 45).minute(7, 45);
    assert_eq!(s.decide(8, 5), Vec::<String>::new(), "cooldown");
    // Re-armed again, and crossing after the cooldown: told.
    s.minute(8, 5);
    assert_eq!(s.decide(9, 5), Vec::<String>::new());
    s.minute(9, 45).minute(10, 45).minute(11, 45);
    assert_eq!(s.decide(12, 5), vec![RPM_80]);
    // Climbing to 98%: the 95% alert, once.
    s.minute(12, 49).minute(13, 49).minute(14, 49);
    assert_eq!(s.decide(15, 5), vec![RPM_95]);
    assert_eq!(s.decide(15, 40), Vec::<String>::new());
}

#[test]
fn a_sustained_crossing_needs_every_minute() {
    let mut s = Scenario::new();
    s.minute(0, 45).minute(1, 45).minute(2, 10);
    assert_eq!(s.decide(3, 5), Vec::<String>::new());
    s.minute(3, 45).minute(4, 45);
    assert_eq!(s.decide(5, 5), Vec::<String>::new());
    s.minute(5, 45);
    assert_eq!(s.decide(6, 5), vec![RPM_80]);
}

#[test]
fn the_margin_keeps_a_hovering_rate_from_realerting() {
    // After an 80% alert the rate hovers at 78% (39 of 50) for minutes 3–9, then climbs to 90%
    // again for minutes 10–12, after the cooldown. `dip` is the rate of minute 9.
    let run = |dip: i64| {
        let mut s = Scenario::new();
        s.minute(0, 45).minute(1, 45).minute(2, 45);
        assert_eq!(s.decide(3, 5), vec![RPM_80]);
        for minute in 3..9 {
            s.minute(minute, 39);
            assert_eq!(s.decide(minute + 1, 5), Vec::<String>::new());
        }
        s.minute(9, dip);
        assert_eq!(s.decide(10, 5), Vec::<String>::new());
        s.minute(10, 45).minute(11, 45).minute(12, 45);
        s.decide(13, 5)
    };
    // 78% is below 80% but not below 75%: the same crossing, no new alert.
    assert_eq!(run(39), Vec::<String>::new());
    // 74% re-arms it: the climb is a new crossing.
    assert_eq!(run(37), vec![RPM_80]);
}

#[test]
fn both_thresholds_at_once_tell_only_the_higher() {
    let mut s = Scenario::new();
    s.minute(0, 50).minute(1, 50).minute(2, 50);
    assert_eq!(s.decide(3, 5), vec![RPM_95]);
    assert_eq!(s.decide(3, 10), Vec::<String>::new());
}

#[test]
fn the_monthly_cap_and_the_budget() {
    let mut s = Scenario::new();
    let now = at("2026-10-20T12:00:00Z");
    // Tier 1's cap is $100; the budget $20.
    s.tracker.set_admin_month_to_date(15.0, now);
    assert_eq!(s.decide_at(now).len(), 0);
    s.tracker.set_admin_month_to_date(17.0, now);
    let titles: Vec<String> = s.decide_at(now).into_iter().map(|n| n.title).collect();
    assert_eq!(titles, vec!["80% of your monthly budget"]);
    s.tracker.set_admin_month_to_date(82.0, now);
    let titles: Vec<String> = s
        .decide_at(now + Duration::hours(1))
        .into_iter()
        .map(|n| n.title)
        .collect();
    assert_eq!(
        titles,
        vec!["80% of the monthly spend cap", "95% of your monthly budget"]
    );
    s.tracker.set_admin_month_to_date(96.0, now);
    let notes = s.decide_at(now + Duration::hours(2));
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].title, "95% of the monthly spend cap");
    assert_eq!(notes[0].kind, AlertKind::UsageThreshold);
    assert_eq!(
        notes[0].body,
        "$96.00 of the $100.00 monthly spend cap (Tier 1) spent this month; it resets on 2026-11-01 00:00 UTC."
    );
    assert_eq!(s.decide_at(now + Duration::hours(3)).len(), 0);
    // A new month: spending starts at zero and re-arms; crossing again is told again.
    let november = at("2026-11-03T12:00:00Z");
    assert_eq!(s.decide_at(november).len(), 0);
    s.tracker.set_admin_month_to_date(85.0, november);
    let titles: Vec<String> = s.decide_at(november).into_iter().map(|n| n.title).collect();
    assert_eq!(
        titles,
        vec!["80% of the monthly spend cap", "95% of your monthly budget"]
    );
}

#[test]
fn a_daily_budget_from_computed_costs() {
    let mut tracker = Tracker::new(
        Catalog::builtin(),
        TrackerConfig {
            daily_budget_usd: Some(1.0),
            ..TrackerConfig::default()
        },
    );
    let mut alerts = UsageAlerts::default();
    let policy = UsageAlertPolicy::default();
    let now = at("2026-10-20T12:00:00Z");
    let spend = |tracker: &mut Tracker, input: u64| {
        tracker.record(&UsageRecord {
            model: "claude-haiku-4-5".to_owned(),
            tokens: TokenCounts {
                input,
                ..TokenCounts::default()
            },
            ..request(now)
        })
    };
    spend(&mut tracker, 500_000);
    assert_eq!(alerts.decide(&policy, &tracker, now).len(), 0);
    spend(&mut tracker, 350_000);
    let notes = alerts.decide(&policy, &tracker, now);
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].title, "80% of your daily budget");
    assert_eq!(notes[0].body, "$0.85 of your $1.00 budget spent today.");
    // An unknown price makes it "at least".
    tracker.record(&UsageRecord {
        model: "claude-zephyr-9".to_owned(),
        ..request(now)
    });
    spend(&mut tracker, 150_000);
    let notes = alerts.decide(&policy, &tracker, now);
    assert_eq!(
        notes[0].body,
        "at least $1.00 of your $1.00 budget spent today."
    );
}

#[test]
fn spend_cap_reached_once_a_month() {
    let mut s = Scenario::new();
    let refused = at("2026-10-20T12:00:00Z");
    assert_eq!(s.decide_at(refused).len(), 0);
    s.tracker.spend_cap_reached(refused);
    let notes = s.decide_at(refused + Duration::seconds(1));
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].kind, AlertKind::SpendCapReached);
    assert_eq!(notes[0].title, "Monthly spend cap reached");
    assert_eq!(
        notes[0].body,
        "The API refuses requests until the cap lifts on 2026-11-01 00:00 UTC."
    );
    // More refusals the same month: no more alerts, however long after.
    s.tracker.spend_cap_reached(refused + Duration::days(2));
    assert_eq!(s.decide_at(refused + Duration::days(2)).len(), 0);
    // Next month it lifted; a new refusal is a new alert.
    assert_eq!(s.decide_at(at("2026-11-01T00:00:05Z")).len(), 0);
    s.tracker.spend_cap_reached(at("2026-11-25T08:00:00Z"));
    let notes = s.decide_at(at("2026-11-25T08:00:01Z"));
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].key, "spend_cap:2026-11");
}

#[test]
fn the_new_kinds_have_snake_case_names() {
    assert_eq!(
        serde_json::to_value(AlertKind::UsageThreshold).unwrap(),
        "usage_threshold"
    );
    assert_eq!(
        serde_json::to_value(AlertKind::SpendCapReached).unwrap(),
        "spend_cap_reached"
    );
}

fn plan_reading(
    window: &str,
    percent: f64,
    seen: DateTime<Utc>,
    reset: DateTime<Utc>,
) -> PlanReading {
    PlanReading {
        window: window.to_owned(),
        used_percent: percent,
        resets_at: Some(reset),
        seen_at: seen,
        source: PlanSource::StatusLine,
        client_version: Some("2.1.328".to_owned()),
    }
}

use claude_status_core::plan::{PlanReading, PlanSource};

#[test]
fn plan_windows_alert_at_80_95_and_100_once_per_window_and_crossing() {
    let mut tracker = Tracker::new(Catalog::builtin(), TrackerConfig::default());
    let mut alerts = UsageAlerts::default();
    let policy = UsageAlertPolicy::default();
    let reset = start() + Duration::hours(3);
    let mut titles = Vec::new();
    let step =
        |tracker: &mut Tracker, alerts: &mut UsageAlerts, percent: f64, minute: i64, reset| {
            let now = start() + Duration::minutes(minute);
            tracker.observe_plan(plan_reading("five_hour", percent, now, reset));
            alerts
                .decide(&policy, tracker, now)
                .into_iter()
                .map(|n| n.title)
                .collect::<Vec<_>>()
        };
    titles.push(step(&mut tracker, &mut alerts, 70.0, 0, reset));
    titles.push(step(&mut tracker, &mut alerts, 81.0, 10, reset));
    titles.push(step(&mut tracker, &mut alerts, 83.0, 20, reset));
    // A reading that falls (Claude Code rounding, another source) re-arms nothing.
    titles.push(step(&mut tracker, &mut alerts, 79.0, 30, reset));
    titles.push(step(&mut tracker, &mut alerts, 82.0, 40, reset));
    // Jumping past two thresholds at once says the highest.
    titles.push(step(&mut tracker, &mut alerts, 100.0, 50, reset));
    // The next window alerts again.
    let next_reset = reset + Duration::hours(5);
    titles.push(step(&mut tracker, &mut alerts, 85.0, 200, next_reset));
    assert_eq!(
        titles,
        vec![
            vec![],
            vec!["Session (5 h): 80 % of your plan's limit".to_owned()],
            vec![],
            vec![],
            vec![],
            vec!["Session (5 h) limit reached".to_owned()],
            vec!["Session (5 h): 80 % of your plan's limit".to_owned()],
        ]
    );
}

#[test]
fn replayed_plan_readings_do_not_alert_again_and_stale_ones_never_do() {
    let mut tracker = Tracker::new(Catalog::builtin(), TrackerConfig::default());
    let mut alerts = UsageAlerts::default();
    let policy = UsageAlertPolicy::default();
    let now = start();
    tracker.observe_plan(plan_reading(
        "seven_day",
        96.0,
        now,
        now + Duration::days(2),
    ));
    alerts.mark_plan_seen(&tracker, now);
    assert!(alerts.decide(&policy, &tracker, now).is_empty());
    // A reading whose window has reset since is stale: no alert for its old 99 %.
    let mut tracker = Tracker::new(Catalog::builtin(), TrackerConfig::default());
    let mut alerts = UsageAlerts::default();
    tracker.observe_plan(plan_reading(
        "five_hour",
        99.0,
        now,
        now + Duration::minutes(1),
    ));
    assert!(alerts
        .decide(&policy, &tracker, now + Duration::minutes(2))
        .is_empty());
}
