//! The tracker's figures: rolling 60-second windows per model class, cache reads counted by the
//! class's rule, the tier from the user or the headers, costs today and this month, p95, cache
//! savings and the user's own 429/529s.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use chrono::{DateTime, Duration, Utc};
use claude_status_core::aggregate::DayZone;
use claude_status_core::catalog::Catalog;
use claude_status_core::ratelimit::{RateLimitBucket, RateLimitSnapshot};
use claude_status_core::tracker::{
    ClassWindow, CostSource, LimitKind, TierSource, Tracker, TrackerConfig,
};
use claude_status_core::usage::{TokenCounts, UsageRecord, UsageSource};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn tokens(input: u64, output: u64, write_5m: u64, read: u64) -> TokenCounts {
    TokenCounts {
        input,
        output,
        cache_write_5m: write_5m,
        cache_write_1h: 0,
        cache_read: read,
    }
}

fn record(time: DateTime<Utc>, model: &str, tokens: TokenCounts) -> UsageRecord {
    UsageRecord {
        status: Some(200),
        ..UsageRecord::new(time, UsageSource::Gateway, model, tokens)
    }
}

fn failed(time: DateTime<Utc>, status: u16) -> UsageRecord {
    UsageRecord {
        status: Some(status),
        ..record(time, "claude-sonnet-4-5", TokenCounts::default())
    }
}

fn tracker(tier: Option<&str>) -> Tracker {
    Tracker::new(
        Catalog::builtin(),
        TrackerConfig {
            tier: tier.map(str::to_owned),
            ..TrackerConfig::default()
        },
    )
}

fn window<'a>(windows: &'a [ClassWindow], class: &str) -> &'a ClassWindow {
    windows
        .iter()
        .find(|w| w.class == class)
        .unwrap_or_else(|| panic!("no window for {class} in {windows:?}"))
}

#[test]
fn windows_roll_over_minute_boundaries() {
    let mut tracker = tracker(Some("tier-1"));
    for (time, input, output) in [
        ("2026-10-01T12:00:30Z", 1_000, 100),
        ("2026-10-01T12:00:59Z", 2_000, 200),
        ("2026-10-01T12:01:10Z", 4_000, 400),
    ] {
        tracker.record(&record(
            at(time),
            "claude-sonnet-4-5-20250929",
            tokens(input, output, 0, 0),
        ));
    }
    // (now, requests, input, output)
    let check = |now: &str, expected: (u64, u64, u64)| {
        let windows = tracker.windows(at(now));
        let w = window(&windows, "sonnet-4");
        assert_eq!(
            (w.requests, w.input_tokens, w.output_tokens),
            expected,
            "{now}"
        );
    };
    check("2026-10-01T12:00:45Z", (1, 1_000, 100));
    check("2026-10-01T12:01:10Z", (3, 7_000, 700));
    check("2026-10-01T12:01:29Z", (3, 7_000, 700));
    // A request exactly 60 s old has left the window.
    check("2026-10-01T12:01:30Z", (2, 6_000, 600));
    check("2026-10-01T12:01:59Z", (1, 4_000, 400));
    check("2026-10-01T12:02:09Z", (1, 4_000, 400));
    check("2026-10-01T12:02:10Z", (0, 0, 0));

    let windows = tracker.windows(at("2026-10-01T12:01:10Z"));
    let w = window(&windows, "sonnet-4");
    // Tier 1 Sonnet 4.x: 50 RPM, 30K ITPM, 8K OTPM.
    assert_eq!(w.limits.as_ref().unwrap().requests_per_minute, Some(50));
    assert_eq!(w.requests_fraction, Some(3.0 / 50.0));
    assert_eq!(w.input_tokens_fraction, Some(7_000.0 / 30_000.0));
    assert_eq!(w.output_tokens_fraction, Some(700.0 / 8_000.0));
    assert!(w.known_class);
}

#[test]
fn models_of_a_class_share_its_window() {
    let mut tracker = tracker(Some("tier-2"));
    let now = at("2026-10-01T12:00:30Z");
    tracker.record(&record(now, "claude-opus-4-6", tokens(100, 10, 0, 0)));
    tracker.record(&record(
        now,
        "claude-opus-4-1-20250805",
        tokens(200, 20, 0, 0),
    ));
    tracker.record(&record(now, "claude-haiku-4-5", tokens(400, 40, 0, 0)));
    tracker.record(&record(now, "claude-opus-4-9", tokens(800, 80, 0, 0)));
    let windows = tracker.windows(now);
    let summary: Vec<(&str, u64, u64, bool, bool)> = windows
        .iter()
        .map(|w| {
            (
                w.class.as_str(),
                w.requests,
                w.input_tokens,
                w.known_class,
                w.limits.is_some(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            // An unknown model is shown by its id, without limits.
            ("claude-opus-4-9", 1, 800, false, false),
            ("haiku-4-5", 1, 400, true, true),
            ("opus-4", 2, 300, true, true),
        ]
    );
}

#[test]
fn cache_reads_count_toward_itpm_only_where_the_tier_says() {
    let now = at("2026-10-01T12:00:30Z");
    // (tier, model, class, counted input, counted?)
    let check = |tier: &str, model: &str, class: &str, expected: (u64, bool)| {
        let mut tracker = tracker(Some(tier));
        tracker.record(&record(now, model, tokens(100, 5, 50, 10_000)));
        let windows = tracker.windows(now);
        let w = window(&windows, class);
        assert_eq!(
            (w.input_tokens, w.cache_reads_counted),
            expected,
            "{tier} {model}"
        );
        assert_eq!(w.cache_read_tokens, 10_000);
    };
    check(
        "tier-2",
        "claude-3-5-haiku-20241022",
        "haiku-3-5",
        (10_150, true),
    );
    check(
        "tier-2",
        "claude-3-haiku-20240307",
        "haiku-3",
        (10_150, true),
    );
    check("tier-4", "claude-3-opus", "opus-3", (10_150, true));
    check("tier-2", "claude-sonnet-4-5", "sonnet-4", (150, false));
    check("tier-2", "claude-haiku-4-5", "haiku-4-5", (150, false));
    check("tier-2", "claude-3-7-sonnet", "sonnet-3-7", (150, false));
    // The Start tier does not say; the class's † default applies.
    check("start", "claude-3-5-haiku", "haiku-3-5", (10_150, true));
    check("start", "claude-fable-5", "fable-5", (150, false));
}

fn live(requests: u64, input: u64, output: u64) -> RateLimitSnapshot {
    let bucket = |limit| {
        Some(RateLimitBucket {
            limit: Some(limit),
            remaining: Some(limit / 2),
            reset: None,
        })
    };
    RateLimitSnapshot {
        requests: bucket(requests),
        input_tokens: bucket(input),
        output_tokens: bucket(output),
        ..RateLimitSnapshot::default()
    }
}

#[test]
fn the_tier_comes_from_the_user_or_the_headers() {
    let now = at("2026-10-01T12:00:00Z");
    let mut tracker = tracker(None);
    assert_eq!(tracker.tier(), None);
    // The real 2025-08-21 values identify nothing.
    tracker.observe_ratelimit(
        now,
        "claude-3-5-sonnet-20240620",
        &live(1_000, 80_000, 16_000),
    );
    assert_eq!(tracker.tier(), None);
    // Tier 1 Sonnet 4.x values do.
    tracker.observe_ratelimit(now, "claude-sonnet-4-5", &live(50, 30_000, 8_000));
    let tier = tracker.tier().unwrap();
    assert_eq!(
        (tier.key.as_str(), tier.chosen_by),
        ("tier-1", TierSource::Headers)
    );
    // The live reading is shown with the window.
    let windows = tracker.windows(now);
    let w = window(&windows, "sonnet-4");
    assert_eq!(
        w.live
            .as_ref()
            .unwrap()
            .snapshot
            .requests
            .unwrap()
            .remaining,
        Some(25)
    );
    assert_eq!(
        w.limits.as_ref().unwrap().input_tokens_per_minute,
        Some(30_000)
    );
    // An older reading does not replace a newer one.
    tracker.observe_ratelimit(
        now - Duration::minutes(5),
        "claude-sonnet-4-5",
        &live(4_000, 2_000_000, 400_000),
    );
    assert_eq!(tracker.tier().unwrap().key, "tier-1");
    // Headers that point at two tiers: undecided.
    tracker.observe_ratelimit(now, "claude-haiku-4-5", &live(1_000, 450_000, 90_000));
    assert_eq!(tracker.tier(), None);
    // The user's choice wins.
    tracker.set_config(TrackerConfig {
        tier: Some("Tier 4".to_owned()),
        ..TrackerConfig::default()
    });
    let tier = tracker.tier().unwrap();
    assert_eq!(
        (tier.key.as_str(), tier.chosen_by, tier.known),
        ("tier-4", TierSource::User, true)
    );
    tracker.set_config(TrackerConfig {
        tier: Some("platinum".to_owned()),
        ..TrackerConfig::default()
    });
    assert!(!tracker.tier().unwrap().known);
}

#[test]
fn today_in_the_users_zone_and_the_month_in_utc() {
    let mut tracker = Tracker::new(
        Catalog::builtin(),
        TrackerConfig {
            tier: Some("tier-1".to_owned()),
            monthly_budget_usd: Some(10.0),
            daily_budget_usd: Some(2.0),
            day_zone: DayZone::parse("Europe/Berlin").unwrap(),
        },
    );
    let million = tokens(1_000_000, 0, 0, 0);
    // Haiku 4.5: $1 per million input tokens.
    tracker.record(&record(
        at("2026-10-31T10:00:00Z"),
        "claude-haiku-4-5",
        million,
    ));
    tracker.record(&record(
        at("2026-10-31T22:30:00Z"),
        "claude-haiku-4-5",
        million,
    ));
    // 23:30 UTC is 00:30 on 1 November in Berlin (CET since 25 October), still October in UTC.
    let late = UsageRecord {
        source: UsageSource::ClaudeCode,
        ..record(at("2026-10-31T23:30:00Z"), "claude-haiku-4-5", million)
    };
    tracker.record(&late);
    let snapshot = tracker.snapshot(at("2026-10-31T23:45:00Z"));
    assert_eq!(snapshot.today.period, "2026-11-01");
    assert_eq!(snapshot.today.cost.usd, 1.0);
    assert_eq!(snapshot.today.cost.source, Some(CostSource::ClaudeCodeLogs));
    assert_eq!(snapshot.month.period, "2026-10");
    assert_eq!(snapshot.month.cost.usd, 3.0);
    assert_eq!(snapshot.month.cost.source, Some(CostSource::Gateway));
    assert_eq!(
        snapshot.month.cost.other_sources,
        vec![CostSource::ClaudeCodeLogs]
    );
    assert_eq!(snapshot.month.requests, 3);
    assert!(!snapshot.month.cost.includes_unknown_price);
    let cap = snapshot.monthly_spend_cap.unwrap();
    assert_eq!(
        (cap.limit_usd, cap.spent_usd, cap.fraction),
        (100.0, 3.0, 0.03)
    );
    assert_eq!(snapshot.monthly_budget.unwrap().fraction, 0.3);
    assert_eq!(snapshot.daily_budget.unwrap().fraction, 0.5);
    assert_eq!(snapshot.cost_per_1000_requests.unwrap().usd, 1_000.0);

    // An hour later it is November in UTC too: a new month.
    let snapshot = tracker.snapshot(at("2026-11-01T00:10:00Z"));
    assert_eq!(
        (snapshot.month.period.as_str(), snapshot.month.cost.usd),
        ("2026-11", 0.0)
    );
    assert_eq!(snapshot.today.cost.usd, 1.0);
    assert_eq!(snapshot.monthly_spend_cap.unwrap().spent_usd, 0.0);
}

#[test]
fn unknown_prices_are_carried_to_every_cost_figure() {
    let mut tracker = tracker(Some("tier-1"));
    let now = at("2026-10-01T12:00:00Z");
    tracker.record(&record(now, "claude-haiku-4-5", tokens(1_000_000, 0, 0, 0)));
    assert!(!tracker.snapshot(now).today.cost.includes_unknown_price);
    tracker.record(&record(now, "claude-zephyr-9", tokens(1_000_000, 0, 0, 0)));
    let snapshot = tracker.snapshot(now);
    assert_eq!(snapshot.today.cost.usd, 1.0);
    assert!(snapshot.today.cost.includes_unknown_price);
    assert!(snapshot.month.cost.includes_unknown_price);
    assert!(
        snapshot
            .cost_per_1000_requests
            .as_ref()
            .unwrap()
            .includes_unknown_price
    );
    assert!(snapshot.monthly_spend_cap.unwrap().includes_unknown_price);
    let json = serde_json::to_value(&snapshot).unwrap();
    assert_eq!(json["today"]["cost"]["includes_unknown_price"], true);
    assert_eq!(json["today"]["cost"]["source"], "gateway");
}

#[test]
fn the_admin_api_is_authoritative_for_the_month() {
    let mut tracker = tracker(Some("start"));
    let now = at("2026-10-20T12:00:00Z");
    tracker.record(&record(now, "claude-zephyr-9", tokens(10, 0, 0, 0)));
    // Last month's report does not count for this month.
    tracker.set_admin_month_to_date(999.0, at("2026-09-30T23:00:00Z"));
    assert!(tracker.snapshot(now).month.cost.includes_unknown_price);
    tracker.set_admin_month_to_date(412.5, at("2026-10-20T11:55:00Z"));
    let snapshot = tracker.snapshot(now);
    let cost = &snapshot.month.cost;
    assert_eq!(
        (cost.usd, cost.includes_unknown_price, cost.source),
        (412.5, false, Some(CostSource::AdminApi))
    );
    assert_eq!(cost.as_of, Some(at("2026-10-20T11:55:00Z")));
    assert_eq!(snapshot.monthly_spend_cap.unwrap().fraction, 412.5 / 500.0);
    // Today is still the local figure.
    assert!(snapshot.today.cost.includes_unknown_price);
    let json = serde_json::to_value(&snapshot).unwrap();
    assert_eq!(json["month"]["cost"]["source"], "admin_api");
}

#[test]
fn p95_tokens_per_request_over_the_last_thousand() {
    let mut tracker = tracker(None);
    let start = at("2026-10-01T00:00:00Z");
    for n in 1..=100u64 {
        tracker.record(&record(
            start + Duration::seconds(n as i64),
            "claude-haiku-4-5",
            tokens(n, 0, 0, 0),
        ));
    }
    assert_eq!(
        tracker
            .snapshot(start + Duration::minutes(5))
            .p95_tokens_per_request,
        Some(95)
    );
    for n in 101..=1_500u64 {
        tracker.record(&record(
            start + Duration::seconds(n as i64),
            "claude-haiku-4-5",
            tokens(n, 0, 0, 0),
        ));
    }
    // Only 501..=1500 are kept; the 950th of them is 1,450.
    assert_eq!(
        tracker
            .snapshot(start + Duration::hours(1))
            .p95_tokens_per_request,
        Some(1_450)
    );
}

#[test]
fn cache_hit_ratio_and_savings() {
    let mut tracker = tracker(None);
    let now = at("2026-10-01T12:00:00Z");
    // Sonnet 3.7: 100K written (5m) once, read 900K: ratio 0.9 of input.
    tracker.record(&record(
        now,
        "claude-3-7-sonnet",
        tokens(0, 100, 100_000, 0),
    ));
    tracker.record(&record(
        now,
        "claude-3-7-sonnet",
        tokens(0, 100, 0, 900_000),
    ));
    let today = tracker.snapshot(now).today;
    assert_eq!(today.cache_hit_ratio, Some(0.9));
    // Reads saved 900K × (3 − 0.30) = $2.43; the write cost 100K × 0.75 = $0.075 extra.
    assert!((today.cache_savings.read_savings_usd - 2.43).abs() < 1e-9);
    assert!((today.cache_savings.write_premium_usd - 0.075).abs() < 1e-9);
    assert!((today.cache_savings.net_usd - 2.355).abs() < 1e-9);
    assert_eq!(
        tracker
            .snapshot(now + Duration::days(1))
            .today
            .cache_hit_ratio,
        None
    );
}

#[test]
fn own_traffic_over_the_last_five_minutes() {
    let mut tracker = tracker(None);
    let start = at("2026-10-01T12:00:00Z");
    // 12:00: an old 529 that falls out of the window.
    tracker.record(&failed(start + Duration::seconds(10), 529));
    // 12:02–12:06: 16 requests, two 529s, three 429s, one 500.
    for minute in 2..=6 {
        for second in [5, 20, 35] {
            tracker.record(&record(
                start + Duration::minutes(minute) + Duration::seconds(second),
                "claude-sonnet-4-5",
                tokens(10, 1, 0, 0),
            ));
        }
    }
    for (minute, status) in [(3, 529), (5, 529), (4, 429), (4, 429), (6, 429), (6, 500)] {
        tracker.record(&failed(
            start + Duration::minutes(minute) + Duration::seconds(50),
            status,
        ));
    }
    // The probe's and Claude Code's requests are the user's traffic too; Admin API buckets are not.
    tracker.record(&UsageRecord {
        source: UsageSource::AdminApi,
        ..record(
            start + Duration::minutes(6),
            "claude-sonnet-4-5",
            tokens(10, 1, 0, 0),
        )
    });
    let traffic = tracker.own_traffic_health(start + Duration::minutes(6) + Duration::seconds(55));
    assert_eq!(
        (
            traffic.requests,
            traffic.overloaded,
            traffic.rate_limited,
            traffic.server_errors
        ),
        (15 + 6, 2, 3, 1)
    );
    // 12:02:00 to 12:06:55.
    assert_eq!(traffic.window, std::time::Duration::from_secs(4 * 60 + 55));
    assert_eq!(traffic.overloaded_rate(), Some(2.0 / 21.0));
    // Much later: nothing.
    let later = tracker.own_traffic_health(start + Duration::hours(2));
    assert_eq!((later.requests, later.overloaded_rate()), (0, None));
    // Failed requests are not usage: they do not enter the rate-limit windows.
    let windows = tracker.windows(start + Duration::minutes(6) + Duration::seconds(55));
    assert_eq!(window(&windows, "sonnet-4").requests, 3);
}

#[test]
fn only_an_hour_of_minutes_is_kept() {
    let mut tracker = tracker(Some("tier-1"));
    let start = at("2026-10-01T00:00:00Z");
    let minute = |t: DateTime<Utc>| t.timestamp().div_euclid(60);
    // Three hours of one request every ten seconds.
    for step in 0..(3 * 360) {
        tracker.record(&record(
            start + Duration::seconds(step * 10),
            "claude-sonnet-4-5",
            tokens(100, 10, 0, 0),
        ));
    }
    let end = start + Duration::hours(3);
    let usage = |t: DateTime<Utc>| tracker.minute_usage(minute(t), "sonnet-4", LimitKind::Requests);
    assert_eq!(usage(end - Duration::minutes(2)), Some(6.0 / 50.0));
    assert_eq!(usage(end - Duration::minutes(59)), Some(6.0 / 50.0));
    // Older minutes were dropped; the day's totals remain.
    assert_eq!(usage(end - Duration::minutes(90)), Some(0.0));
    assert_eq!(tracker.snapshot(end).today.requests, 3 * 360);
}

/// The same request, as Claude Code's transcript or the gateway saw it.
fn sighting(
    time: &str,
    source: UsageSource,
    ids: (&str, &str),
    counts: TokenCounts,
) -> UsageRecord {
    UsageRecord {
        source,
        message_id: Some(ids.0.to_owned()),
        request_id: Some(ids.1.to_owned()),
        ..record(at(time), "claude-sonnet-4-5", counts)
    }
}

#[test]
fn a_request_seen_by_two_sources_or_in_two_lines_counts_once() {
    let now = at("2026-10-01T12:00:50Z");
    let once = {
        let mut t = tracker(Some("tier-1"));
        t.record(&sighting(
            "2026-10-01T12:00:10Z",
            UsageSource::Gateway,
            ("msg_1", "req_1"),
            tokens(1_000, 200, 0, 0),
        ));
        t.snapshot(now)
    };

    let mut t = tracker(Some("tier-1"));
    // Claude Code through the gateway: the gateway's record first, then the transcript's first
    // line (partial usage), then its fuller last line.
    t.record(&sighting(
        "2026-10-01T12:00:10Z",
        UsageSource::Gateway,
        ("msg_1", "req_1"),
        tokens(1_000, 200, 0, 0),
    ));
    t.record(&sighting(
        "2026-10-01T12:00:11Z",
        UsageSource::ClaudeCode,
        ("msg_1", "req_1"),
        tokens(1_000, 1, 0, 0),
    ));
    t.record(&sighting(
        "2026-10-01T12:00:12Z",
        UsageSource::ClaudeCode,
        ("msg_1", "req_1"),
        tokens(1_000, 200, 0, 0),
    ));
    let snapshot = t.snapshot(now);
    assert_eq!(snapshot.today.requests, once.today.requests);
    assert_eq!(snapshot.today.tokens, once.today.tokens);
    assert_eq!(snapshot.windows, once.windows);
    assert_eq!(snapshot.own_traffic.requests, 1);

    // A transcript's partial line first, then a fuller copy: the extra tokens count, the request
    // once.
    let mut t = tracker(Some("tier-1"));
    t.record(&sighting(
        "2026-10-01T12:00:10Z",
        UsageSource::ClaudeCode,
        ("msg_1", "req_1"),
        tokens(1_000, 1, 0, 0),
    ));
    t.record(&sighting(
        "2026-10-01T12:00:12Z",
        UsageSource::ClaudeCode,
        ("msg_1", "req_1"),
        tokens(1_000, 200, 0, 0),
    ));
    let snapshot = t.snapshot(now);
    assert_eq!(snapshot.today.requests, 1);
    assert_eq!(snapshot.today.tokens, tokens(1_000, 200, 0, 0));
    let sonnet = window(&snapshot.windows, "sonnet-4");
    assert_eq!((sonnet.requests, sonnet.output_tokens), (1, 200));
    assert!(
        (snapshot.today.cost.usd - once.today.cost.usd).abs() < 1e-12,
        "{} against {}",
        snapshot.today.cost.usd,
        once.today.cost.usd
    );

    // Another request id is another request.
    t.record(&sighting(
        "2026-10-01T12:00:13Z",
        UsageSource::ClaudeCode,
        ("msg_1", "req_2"),
        tokens(1_000, 200, 0, 0),
    ));
    assert_eq!(t.snapshot(now).today.requests, 2);
}

#[test]
fn request_ids_are_forgotten_after_an_hour() {
    let mut t = tracker(Some("tier-1"));
    let first = sighting(
        "2026-10-01T10:00:00Z",
        UsageSource::Gateway,
        ("msg_1", "req_1"),
        tokens(10, 1, 0, 0),
    );
    t.record(&first);
    // Over an hour of later traffic pushes the first pair out; the same pair counts again then
    // (an hour-late copy is not one the sources produce).
    t.record(&sighting(
        "2026-10-01T11:00:01Z",
        UsageSource::Gateway,
        ("msg_2", "req_2"),
        tokens(10, 1, 0, 0),
    ));
    t.record(&UsageRecord {
        at: at("2026-10-01T11:00:02Z"),
        ..first
    });
    assert_eq!(t.snapshot(at("2026-10-01T11:00:03Z")).today.requests, 3);
}
