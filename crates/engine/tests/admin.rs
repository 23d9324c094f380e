//! The Admin API reader against the simulator: pages followed to the end, amounts summed exactly,
//! the SDKs' retry rules (429 and 5xx retried, 4xx not), clear errors that never show the key,
//! and the poller's observations and interval.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use claude_status_core::catalog::Catalog;
use claude_status_core::monitor::{MonitorConfig, MonitorState, Observation};
use claude_status_core::retry::RetryPolicy;
use claude_status_core::tracker::{CostSource, Tracker, TrackerConfig};
use claude_status_core::usage::UsageSource;
use claude_status_engine::admin::{
    month_start, run_admin_poller_with_clock, usage_records, AdminClient, BucketWidth, Cents,
    UsageGroup, COST_REPORT_PATH, MAX_PAGES, USAGE_REPORT_PATH,
};
use claude_status_engine::probe::ApiKey;
use claude_status_simulator::{Clock, SimHandle, Simulator};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const ADMIN_KEY: &str = "sk-ant-admin01-fake.admin.key.for.tests";
const STANDARD_KEY: &str = "sk-ant-api03-fake.standard.key.for.tests";

async fn sim(scenario: &str) -> SimHandle {
    Simulator::new(scenario)
        .clock(Clock::Manual)
        .start()
        .await
        .unwrap()
}

fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        initial: Duration::from_millis(10),
        max_delay: Duration::from_millis(40),
        max_total: Duration::from_secs(5),
        ..RetryPolicy::default()
    }
}

/// A client that never uses a proxy from the environment, so it always reaches 127.0.0.1.
fn admin(sim: &SimHandle, key: &str) -> AdminClient {
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    AdminClient::new(http, sim.base_url(), ApiKey::new(key).unwrap())
        .with_retry_policy(fast_policy())
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn requests(sim: &SimHandle, path: &str) -> u64 {
    sim.stats().requests_by_path.get(path).copied().unwrap_or(0)
}

fn cents(text: &str) -> Cents {
    Cents::parse(text).unwrap()
}

#[test]
fn cents_parse_exactly() {
    let check = |text: &str, expected: Option<&str>| {
        assert_eq!(
            Cents::parse(text).map(|c| c.to_string()).as_deref(),
            expected,
            "{text:?}"
        );
    };
    check("123.45", Some("123.45"));
    check("0.01", Some("0.01"));
    check("12", Some("12.00"));
    check(" 7.25 ", Some("7.25"));
    check("-3.5", Some("-3.50"));
    check(".5", Some("0.50"));
    check("0.0000375", Some("0.0000375"));
    // Past the twelfth decimal, half rounds away from zero.
    check("0.0000000000005", Some("0.000000000001"));
    check("0.0000000000004", Some("0.00"));
    for refused in [
        "", ".", "-", "1e3", "NaN", "1,5", "1.2.3", "12 34", "0x10", "+-1",
    ] {
        check(refused, None);
    }

    // Ten dimes are exactly a dollar, where ten float additions of 0.001 are not 0.01.
    let dimes: Cents = std::iter::repeat_n(cents("10"), 10).sum();
    assert_eq!(dimes, cents("100"));
    assert_eq!(dimes.usd(), 1.0);
    let floats: f64 = std::iter::repeat_n(0.001, 10).sum();
    assert_ne!(
        floats, 0.01,
        "the float sum drifts, which is why amounts are integers"
    );
    let exact: Cents = std::iter::repeat_n(cents("0.1"), 10).sum();
    assert_eq!(exact.usd(), 0.01);
    // Large bills convert with one rounding too: to the nearest f64 of the exact dollars.
    let nearest: f64 = "1234567890.12345678901234".parse().unwrap();
    assert_eq!(cents("123456789012.345678901234").usd(), nearest);
}

#[tokio::test]
async fn usage_pages_are_followed_to_the_end() {
    let sim = sim("healthy").await;
    let from = at("2026-03-02T00:00:00Z");
    let to = Some(at("2026-03-04T00:00:00Z"));
    let groups = [UsageGroup::Model, UsageGroup::ServiceTier];

    let paged = admin(&sim, ADMIN_KEY)
        .with_page_size(5)
        .usage_report(from, to, BucketWidth::Hour, &groups)
        .await
        .unwrap();
    assert_eq!(
        requests(&sim, USAGE_REPORT_PATH),
        10,
        "48 hours in pages of 5"
    );
    let whole = admin(&sim, ADMIN_KEY)
        .usage_report(from, to, BucketWidth::Hour, &groups)
        .await
        .unwrap();
    assert_eq!(
        requests(&sim, USAGE_REPORT_PATH),
        11,
        "one page of up to 168 hours"
    );
    assert_eq!(paged, whole);

    assert_eq!(paged.len(), 48);
    for (index, bucket) in paged.iter().enumerate() {
        assert_eq!(bucket.starting_at, from + TimeDelta::hours(index as i64));
        assert_eq!(bucket.ending_at, bucket.starting_at + TimeDelta::hours(1));
    }
    let results: Vec<_> = paged.iter().flat_map(|b| &b.results).collect();
    let models: std::collections::BTreeSet<_> =
        results.iter().filter_map(|r| r.model.as_deref()).collect();
    assert_eq!(
        models.into_iter().collect::<Vec<_>>(),
        ["claude-haiku-4-5", "claude-opus-4-8", "claude-sonnet-4-6"]
    );
    assert!(results
        .iter()
        .any(|r| r.service_tier.as_deref() == Some("batch")));
    assert!(results
        .iter()
        .any(|r| r.cache_creation.ephemeral_5m_input_tokens > 0));
    assert!(results
        .iter()
        .any(|r| r.cache_creation.ephemeral_1h_input_tokens > 0));
    assert!(results.iter().any(|r| r.cache_read_input_tokens > 0));
    assert!(results
        .iter()
        .all(|r| r.api_key_id.is_none() && r.workspace_id.is_none()));
    sim.shutdown().await;
}

#[tokio::test]
async fn usage_buckets_become_admin_api_records() {
    let sim = sim("healthy").await;
    let buckets = admin(&sim, ADMIN_KEY)
        .usage_report(
            at("2026-03-04T09:00:00Z"),
            Some(at("2026-03-04T12:00:00Z")),
            BucketWidth::Hour,
            &[UsageGroup::Model, UsageGroup::ServiceTier],
        )
        .await
        .unwrap();
    let records = usage_records(&buckets);
    let results: Vec<_> = buckets
        .iter()
        .flat_map(|b| b.results.iter().map(move |r| (b.starting_at, r)))
        .collect();
    assert_eq!(records.len(), results.len());
    for (record, (start, result)) in records.iter().zip(&results) {
        assert_eq!(record.source, UsageSource::AdminApi);
        assert_eq!(record.at, *start);
        assert_eq!(Some(&record.model), result.model.as_ref());
        assert_eq!(record.service_tier, result.service_tier);
        assert_eq!(record.tokens.input, result.uncached_input_tokens);
        assert_eq!(record.tokens.output, result.output_tokens);
        assert_eq!(record.tokens.cache_read, result.cache_read_input_tokens);
        assert_eq!(
            record.tokens.cache_write_5m,
            result.cache_creation.ephemeral_5m_input_tokens
        );
        assert_eq!(
            record.tokens.cache_write_1h,
            result.cache_creation.ephemeral_1h_input_tokens
        );
        assert_eq!(record.status, None);
        assert_eq!(record.request_id, None);
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn cost_pages_sum_to_the_same_exact_total() {
    let sim = sim("healthy").await;
    let from = at("2026-03-01T00:00:00Z");
    let to = Some(at("2026-03-11T00:00:00Z"));
    let paged = admin(&sim, ADMIN_KEY)
        .with_page_size(3)
        .cost_report(from, to)
        .await
        .unwrap();
    assert_eq!(requests(&sim, COST_REPORT_PATH), 4, "10 days in pages of 3");
    let whole = admin(&sim, ADMIN_KEY).cost_report(from, to).await.unwrap();
    assert_eq!(requests(&sim, COST_REPORT_PATH), 5);
    assert_eq!(paged, whole);

    assert_eq!(paged.by_day.len(), 10);
    assert_eq!(paged.by_day[0].starting_at, from);
    assert_eq!(
        paged.by_day.iter().map(|d| d.total).sum::<Cents>(),
        paged.total
    );
    assert_eq!(
        paged.by_cost_type.values().copied().sum::<Cents>(),
        paged.total
    );
    assert_eq!(
        paged
            .by_model
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        ["claude-haiku-4-5", "claude-opus-4-8", "claude-sonnet-4-6"]
    );
    assert!(paged.by_cost_type.contains_key("web_search"));
    assert_eq!(paged.total_usd, paged.total.usd());
    assert!(paged.total_usd > 1.0, "{}", paged.total_usd);
    sim.shutdown().await;
}

#[tokio::test]
async fn cents_from_several_pages_sum_exactly() {
    // The small bill: "123.45" cents on the first day and "0.01" on the second.
    let sim = sim("admin-small-bill").await;
    let report = admin(&sim, ADMIN_KEY)
        .with_page_size(1)
        .cost_report(at("2026-03-01T00:00:00Z"), Some(at("2026-03-04T00:00:00Z")))
        .await
        .unwrap();
    assert_eq!(requests(&sim, COST_REPORT_PATH), 3);
    assert_eq!(report.total, cents("123.46"));
    assert_eq!(report.total_usd, 1.2346);
    let days: Vec<String> = report.by_day.iter().map(|d| d.total.to_string()).collect();
    assert_eq!(days, ["123.45", "0.01", "0.00"]);
    assert_eq!(report.by_model["claude-sonnet-4-6"].usd(), 1.2345);
    assert_eq!(report.by_cost_type["web_search"].usd(), 0.0001);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_standard_key_is_refused_clearly_and_not_retried() {
    let sim = sim("healthy").await;
    let error = admin(&sim, STANDARD_KEY)
        .usage_report(at("2026-03-01T00:00:00Z"), None, BucketWidth::Day, &[])
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains(USAGE_REPORT_PATH), "{error}");
    assert!(error.contains("HTTP 401 authentication_error"), "{error}");
    assert!(error.contains("admin key (sk-ant-admin…)"), "{error}");
    assert!(!error.contains("attempts"), "{error}");
    assert!(!error.contains(STANDARD_KEY), "{error}");
    assert_eq!(requests(&sim, USAGE_REPORT_PATH), 1, "a 401 is not retried");

    let unknown = "sk-ant-oat01-NOTANADMINKEY-CCCC";
    let error = admin(&sim, unknown)
        .cost_report(at("2026-03-01T00:00:00Z"), None)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains(COST_REPORT_PATH), "{error}");
    assert!(error.contains("HTTP 401"), "{error}");
    assert!(!error.contains(unknown), "{error}");
    assert_eq!(requests(&sim, COST_REPORT_PATH), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn bad_parameters_are_a_clear_error_and_not_retried() {
    let sim = sim("healthy").await;
    let error = admin(&sim, ADMIN_KEY)
        .usage_report(
            at("2026-03-04T00:00:00Z"),
            Some(at("2026-03-01T00:00:00Z")),
            BucketWidth::Hour,
            &[],
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("HTTP 400 invalid_request_error: ending_at"),
        "{error}"
    );
    assert!(error.contains(USAGE_REPORT_PATH), "{error}");
    assert_eq!(requests(&sim, USAGE_REPORT_PATH), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_429_is_retried_after_the_servers_retry_after() {
    // The scenario's 429 asks for one second; the default policy honours waits up to 60 s.
    let sim = sim("admin-rate-limited-once").await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let client = AdminClient::new(http, sim.base_url(), ApiKey::new(ADMIN_KEY).unwrap());
    let started = Instant::now();
    let report = client
        .cost_report(at("2026-03-01T00:00:00Z"), Some(at("2026-03-03T00:00:00Z")))
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(report.by_day.len(), 2);
    assert_eq!(requests(&sim, COST_REPORT_PATH), 2);
    assert_eq!(sim.stats().responses_by_status.get(&429), Some(&1));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_500_is_retried_then_succeeds() {
    let sim = sim("admin-error-once").await;
    let buckets = admin(&sim, ADMIN_KEY)
        .usage_report(
            at("2026-03-04T00:00:00Z"),
            Some(at("2026-03-04T06:00:00Z")),
            BucketWidth::Hour,
            &[UsageGroup::Model],
        )
        .await
        .unwrap();
    assert_eq!(buckets.len(), 6);
    assert_eq!(requests(&sim, USAGE_REPORT_PATH), 2);
    assert_eq!(sim.stats().responses_by_status.get(&500), Some(&1));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_lasting_outage_fails_after_every_retry_and_never_shows_the_key() {
    let sim = sim("outage").await;
    let client = admin(&sim, ADMIN_KEY);
    let error = client
        .cost_report(at("2026-03-01T00:00:00Z"), None)
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(
        text.starts_with(&format!(
            "HTTP client: Admin API GET {COST_REPORT_PATH} answered HTTP 500 api_error"
        )),
        "{text}"
    );
    assert!(text.contains("after 3 attempts"), "{text}");
    assert!(text.contains("request-id req_"), "{text}");
    assert_eq!(requests(&sim, COST_REPORT_PATH), 3);
    for shown in [text, format!("{error:?}"), format!("{client:?}")] {
        assert!(!shown.contains(ADMIN_KEY), "{shown}");
        assert!(!shown.contains("TOPSECRET"), "{shown}");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn a_report_that_never_ends_stops_at_the_page_bound() {
    let sim = sim("healthy").await;
    let error = admin(&sim, ADMIN_KEY)
        .with_page_size(1)
        .usage_report(
            at("2026-01-01T00:00:00Z"),
            Some(at("2026-06-01T00:00:00Z")),
            BucketWidth::Day,
            &[],
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(&format!("after {MAX_PAGES} pages")),
        "{error}"
    );
    assert_eq!(requests(&sim, USAGE_REPORT_PATH), MAX_PAGES as u64);
    sim.shutdown().await;
}

/// Receives the next observation. No timeout: under paused time a pending timer could fire while
/// the runtime waits on the simulator's socket, and the poller's own sleep is what is measured.
async fn next(observations: &mut mpsc::Receiver<Observation>) -> Observation {
    observations.recv().await.expect("the poller is running")
}

#[tokio::test(start_paused = true)]
async fn the_poller_sends_the_months_cost_then_new_usage_every_minute() {
    let sim = sim("healthy").await;
    // The poller's day is a fixed one in the past, so the data and its bucket edges are known.
    let wall = Arc::new(AtomicI64::new(at("2026-03-04T15:20:00Z").timestamp()));
    let clock = {
        let wall = Arc::clone(&wall);
        move || DateTime::from_timestamp(wall.load(Ordering::SeqCst), 0).unwrap()
    };
    let (sender, mut observations) = mpsc::channel(8);
    let shutdown = CancellationToken::new();
    let poller = tokio::spawn(run_admin_poller_with_clock(
        admin(&sim, ADMIN_KEY),
        sender,
        // Asked for once a second; the poller keeps to once a minute.
        Duration::from_secs(1),
        shutdown.clone(),
        clock,
    ));
    let started = tokio::time::Instant::now();

    let expected = admin(&sim, ADMIN_KEY)
        .cost_report(at("2026-03-01T00:00:00Z"), Some(at("2026-03-04T15:20:00Z")))
        .await
        .unwrap();
    let Observation::AdminCost {
        month_to_date_usd,
        as_of,
    } = next(&mut observations).await
    else {
        panic!("the month's cost comes first");
    };
    assert_eq!(month_to_date_usd, expected.total_usd);
    assert_eq!(as_of, at("2026-03-04T15:20:00Z"));
    assert_eq!(month_start(as_of), at("2026-03-01T00:00:00Z"));

    // 15:20 minus the five-minute delay: the hours 00:00 to 15:00 are final.
    let Observation::Usage { records } = next(&mut observations).await else {
        panic!("then today's usage");
    };
    let hours: std::collections::BTreeSet<_> = records.iter().map(|r| r.at).collect();
    assert_eq!(hours.len(), 15);
    assert_eq!(hours.first(), Some(&at("2026-03-04T00:00:00Z")));
    assert_eq!(hours.last(), Some(&at("2026-03-04T14:00:00Z")));
    assert!(records.iter().all(|r| r.source == UsageSource::AdminApi));

    // An hour later: only the hour from 15:00 is new.
    wall.store(at("2026-03-04T16:10:00Z").timestamp(), Ordering::SeqCst);
    let Observation::AdminCost { as_of, .. } = next(&mut observations).await else {
        panic!("each round starts with the cost");
    };
    assert_eq!(as_of, at("2026-03-04T16:10:00Z"));
    assert_eq!(started.elapsed(), Duration::from_secs(60));
    let Observation::Usage { records } = next(&mut observations).await else {
        panic!("then the new hour");
    };
    assert!(!records.is_empty());
    assert!(records.iter().all(|r| r.at == at("2026-03-04T15:00:00Z")));

    // A minute later nothing is new: the round sends the cost alone.
    wall.store(at("2026-03-04T16:11:00Z").timestamp(), Ordering::SeqCst);
    assert!(matches!(
        next(&mut observations).await,
        Observation::AdminCost { .. }
    ));
    assert_eq!(started.elapsed(), Duration::from_secs(120));
    let usage_requests = requests(&sim, USAGE_REPORT_PATH);
    assert_eq!(
        usage_requests, 2,
        "the third round had no final hour to ask for"
    );

    shutdown.cancel();
    poller.await.unwrap();
    sim.shutdown().await;
}

#[tokio::test]
async fn the_admin_cost_becomes_the_trackers_month_to_date() {
    let tracker = Tracker::new(Catalog::builtin(), TrackerConfig::default());
    let mut state = MonitorState::new(MonitorConfig::default()).with_tracker(tracker);
    let now = Utc::now();
    state.apply(
        Observation::AdminCost {
            month_to_date_usd: 1.2346,
            as_of: now,
        },
        now,
    );
    let month = state.tracker().unwrap().snapshot(now).month;
    assert_eq!(month.cost.usd, 1.2346);
    assert_eq!(month.cost.source, Some(CostSource::AdminApi));

    // Without a tracker the observation is simply absorbed.
    let mut untracked = MonitorState::new(MonitorConfig::default());
    untracked.apply(
        Observation::AdminCost {
            month_to_date_usd: 1.0,
            as_of: now,
        },
        now,
    );
    assert!(untracked.tracker().is_none());
}
