//! Spike alerts on the gateway's traffic through the engine (issue 17): the seed read from the
//! ledger (hour by hour, failures, other sources and thin hours left out, the trailing hour
//! replayed), the real `Engine` raising a time-to-first-token spike on its own minute tick, and
//! the monitor on the paused clock raising a cost spike only after 10 minutes above twice its
//! seeded baseline, each notification with its numbers and its model.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

#[path = "support/sim.rs"]
mod sim;
mod support;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use claude_status_core::alerts::{AlertKind, Notification};
use claude_status_core::catalog::Catalog;
use claude_status_core::monitor::Observation;
use claude_status_core::spikes::{HourValue, SpikeMeasure, TrafficSample};
use claude_status_core::usage::{TokenCounts, UsageRecord, UsageSource};
use claude_status_engine::poller::PollerConfig;
use claude_status_engine::spikes::read_traffic_seed;
use claude_status_engine::{Engine, EngineConfig, EngineEvent, Store};
use support::paused;
use tokio::sync::broadcast;

/// Paused time moves as fast as the tasks let it; this is paused time, not wall time.
const PATIENCE: Duration = Duration::from_secs(3600);

fn record(at: DateTime<Utc>, n: usize, source: UsageSource, status: u16) -> UsageRecord {
    UsageRecord {
        status: Some(status),
        latency_ms: Some(900),
        message_id: Some(format!("msg_{}_{n}", at.timestamp())),
        request_id: Some(format!("req_{}_{n}", at.timestamp())),
        ..UsageRecord::new(
            at,
            source,
            // A dated id: the seed normalises it as the live watch does.
            "claude-sonnet-4-5-20250929",
            TokenCounts {
                input: 1000,
                ..TokenCounts::default()
            },
        )
    }
}

/// `count` rows spread over the hour starting at `hour`.
fn hour_of_rows(
    hour: DateTime<Utc>,
    count: usize,
    source: UsageSource,
    status: u16,
) -> Vec<UsageRecord> {
    (0..count)
        .map(|n| {
            let at = hour + chrono::Duration::seconds((n * 3600 / count.max(1)) as i64);
            record(at, n, source, status)
        })
        .collect()
}

fn seed_suite(store: &Store) {
    // 12:40 on a day: the hour in progress began at 12:00, the trailing hour at 11:40.
    let now = Utc.with_ymd_and_hms(2026, 10, 8, 12, 40, 0).unwrap();
    let this_hour = Utc.with_ymd_and_hms(2026, 10, 8, 12, 0, 0).unwrap();
    let hour = |back: i64| this_hour - chrono::Duration::hours(back);
    let mut rows = Vec::new();
    // 24 hours of 120 requests, hours 1 to 24 back, and one of 60 (thin: not counted).
    for back in 1..=24 {
        rows.extend(hour_of_rows(hour(back), 120, UsageSource::Gateway, 200));
    }
    rows.extend(hour_of_rows(hour(30), 60, UsageSource::Gateway, 200));
    // An hour of refusals and an hour of Claude Code's own lines: neither counts.
    rows.extend(hour_of_rows(hour(40), 500, UsageSource::Gateway, 529));
    rows.extend(hour_of_rows(hour(41), 500, UsageSource::ClaudeCode, 200));
    // Older than the 7 days: not read.
    rows.extend(hour_of_rows(
        hour(24 * 7 + 2),
        500,
        UsageSource::Gateway,
        200,
    ));
    // This hour so far: 80 requests between 12:00 and 12:40.
    rows.extend((0..80).map(|n| {
        record(
            this_hour + chrono::Duration::seconds(n * 30),
            n as usize,
            UsageSource::Gateway,
            200,
        )
    }));
    store.ingest_batch(&rows, &[]).unwrap();

    let seed = read_traffic_seed(store, &Catalog::builtin(), now).unwrap();
    assert_eq!(
        seed.hours.len(),
        24,
        "{:#?}",
        seed.hours
            .iter()
            .map(|h| (h.hour, h.requests))
            .collect::<Vec<_>>()
    );
    let first = &seed.hours[0];
    assert_eq!(
        first,
        &HourValue {
            model: "claude-sonnet-4-5".to_owned(),
            hour: hour(24),
            requests: 120,
            cost_per_1k_usd: first.cost_per_1k_usd,
            // 1,000 input tokens, read from the histogram's bucket top (within 1/16).
            p95_input_tokens: Some(1023),
        }
    );
    // $3 per million input tokens: $3.00 per 1,000 requests of 1,000 tokens.
    assert!(
        (first.cost_per_1k_usd.unwrap() - 3.0).abs() < 1e-9,
        "{first:?}"
    );
    assert!(seed.hours.windows(2).all(|w| w[0].hour < w[1].hour));
    assert_eq!(seed.hours.last().unwrap().hour, hour(1));
    // The replay: 11:40 to 12:40, i.e. the last 20 minutes of hour 1 back (40 of its 120) and
    // the 80 of this hour, without their times (no gateway shapes say which were streamed).
    assert_eq!(seed.replay.len(), 40 + 80);
    assert!(seed
        .replay
        .iter()
        .all(|s| s.ttft_ms.is_none() && s.latency_ms.is_none()));
    assert!(seed.replay.windows(2).all(|w| w[0].at <= w[1].at));
}

#[test]
fn a_replayed_request_keeps_its_times_where_the_gateway_shapes_say_whether_it_streamed() {
    use claude_status_core::advice::CacheUse;
    use claude_status_engine::gateway::prefix::RequestShape;
    use claude_status_engine::store::GatewayShape;

    let store = Store::open_in_memory().unwrap();
    seed_suite(&store);
    let now = Utc.with_ymd_and_hms(2026, 10, 8, 12, 40, 0).unwrap();
    let this_hour = Utc.with_ymd_and_hms(2026, 10, 8, 12, 0, 0).unwrap();
    // The gateway's shapes of this hour's first 20 requests: even ones streamed.
    let shapes: Vec<GatewayShape> = (0..20)
        .map(|n: i64| {
            let row = record(
                this_hour + chrono::Duration::seconds(n * 30),
                n as usize,
                UsageSource::Gateway,
                200,
            );
            GatewayShape::of(
                &row,
                n % 2 == 0,
                RequestShape {
                    prefix: None,
                    cache_use: CacheUse::None,
                },
            )
        })
        .collect();
    store.record_gateway_shapes(&shapes).unwrap();
    let seed = read_traffic_seed(&store, &Catalog::builtin(), now).unwrap();
    let timed: Vec<&TrafficSample> = seed
        .replay
        .iter()
        .filter(|s| s.latency_ms.is_some())
        .collect();
    assert_eq!(timed.len(), 20);
    assert_eq!(timed.iter().filter(|s| s.streamed).count(), 10);
    // The rest have no shape, so no times.
    assert_eq!(
        seed.replay
            .iter()
            .filter(|s| s.latency_ms.is_none())
            .count(),
        40 + 60
    );
}

#[test]
fn the_seed_is_read_hour_by_hour_from_a_file_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("claude-status.sqlite3")).unwrap();
    seed_suite(&store);
}

#[test]
fn the_seed_is_read_hour_by_hour_from_a_memory_store() {
    seed_suite(&Store::open_in_memory().unwrap());
}

async fn notification_where(
    events: &mut broadcast::Receiver<EngineEvent>,
    wanted: impl Fn(&Notification) -> bool,
) -> (DateTime<Utc>, Notification) {
    let mut seen = Vec::new();
    let found = tokio::time::timeout(PATIENCE, async {
        loop {
            match events.recv().await {
                Ok(EngineEvent::Notify { at, notification }) if wanted(&notification) => {
                    return (at, notification)
                }
                Ok(event) => seen.push(event),
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("the engine stopped"),
            }
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("no such notification within {PATIENCE:?}; saw {seen:#?}"))
}

fn stream(at: DateTime<Utc>, ttft_ms: u64) -> TrafficSample {
    TrafficSample {
        at,
        model: "claude-opus-4-5-20251101".to_owned(),
        status: Some(200),
        tokens: TokenCounts {
            input: 2000,
            output: 300,
            ..TokenCounts::default()
        },
        service_tier: None,
        streamed: true,
        ttft_ms: Some(ttft_ms),
        // A minute-long stream: never timed against the 5 s of whole answers.
        latency_ms: Some(60_000),
    }
}

/// The real engine: its monitor task's own minute tick raises the spike, as an `EngineEvent`.
/// The status page is at a closed port (its failures are data), and there are no probes.
#[tokio::test(start_paused = true)]
async fn the_engine_raises_a_ttft_spike_on_its_tick_with_the_numbers_and_the_model() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        format!("http://127.0.0.1:{port}")
    };
    let config = EngineConfig {
        poller: PollerConfig::for_url(&closed),
        probes: None,
        ..EngineConfig::default()
    };
    let store = Arc::new(Store::open_in_memory().unwrap());
    let mut engine = Engine::start(config, reqwest::Client::new(), store).unwrap();
    let mut events = engine.subscribe();
    // 24 streams in the last minute, 22 of them slow: p95 (the 23rd of 24) 4.6 s.
    let now = Utc::now();
    let samples: Vec<TrafficSample> = (0..24)
        .map(|n| {
            let ttft = if n < 2 { 400 } else { 4_600 };
            stream(now - chrono::Duration::seconds(60 - n as i64), ttft)
        })
        .collect();
    engine
        .observation_sender()
        .send(Observation::Traffic {
            samples,
            replay: false,
        })
        .await
        .unwrap();
    let (_, notification) =
        notification_where(&mut events, |n| n.kind == AlertKind::TrafficSpike).await;
    assert_eq!(notification.model.as_deref(), Some("claude-opus-4-5"));
    assert_eq!(notification.key, "spike:stream_ttft:claude-opus-4-5");
    assert_eq!(
        notification.title,
        "Opus 4.5: p95 time to first token 4.6 s"
    );
    assert_eq!(
        notification.body,
        "Over 3.0 s across the last 10 minutes' 24 streamed requests through the gateway."
    );
    let snapshot = engine.snapshot().borrow().clone();
    let traffic = snapshot
        .traffic
        .expect("the spike report is in the snapshot");
    let line = traffic
        .lines
        .iter()
        .find(|l| l.measure == SpikeMeasure::StreamTtft)
        .unwrap();
    assert!(line.alerting && line.above, "{line:?}");
    // The minute-long streams were never timed as answers.
    assert!(!traffic
        .lines
        .iter()
        .any(|l| l.measure == SpikeMeasure::AnswerTime));
    engine.shutdown().await;
}

/// The monitor on the paused clock: a seeded baseline of $3.00 per 1,000 requests, then a
/// request stream at $18.00 per 1,000 fed minute by minute. The trailing hour has its 100
/// requests after 10 minutes, and the alert comes 10 minutes after that, not before.
#[tokio::test(start_paused = true)]
async fn a_cost_spike_fires_after_ten_paused_minutes_above_twice_its_seeded_baseline() {
    let sim = sim::fast_sim("healthy").await;
    let engine = paused::start(
        paused::keyed_config(
            &sim.base_url(),
            "sk-ant-test",
            vec!["claude-sonnet-4-5".to_owned()],
        ),
        None,
    )
    .unwrap();
    let clock = engine.clock;
    let mut events = engine.events;
    let start = clock.now();
    let hours = (1..=24)
        .map(|back| HourValue {
            model: "claude-sonnet-4-5".to_owned(),
            hour: start - chrono::Duration::hours(back),
            requests: 500,
            cost_per_1k_usd: Some(3.0),
            p95_input_tokens: None,
        })
        .collect();
    engine
        .observations
        .send(Observation::TrafficBaseline { hours })
        .await
        .unwrap();
    let feeder = {
        let observations = engine.observations.clone();
        tokio::spawn(async move {
            for _ in 0..40 {
                let now = clock.now();
                let samples = (0..10)
                    .map(|n| TrafficSample {
                        at: now + chrono::Duration::seconds(n),
                        model: "claude-sonnet-4-5".to_owned(),
                        status: Some(200),
                        tokens: TokenCounts {
                            input: 1000,
                            output: 1000,
                            ..TokenCounts::default()
                        },
                        service_tier: None,
                        streamed: false,
                        ttft_ms: None,
                        latency_ms: Some(2_000),
                    })
                    .collect();
                let traffic = Observation::Traffic {
                    samples,
                    replay: false,
                };
                if observations.send(traffic).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
        })
    };
    let (at, notification) =
        notification_where(&mut events, |n| n.kind == AlertKind::TrafficSpike).await;
    let waited = at - start;
    // 100 requests at minute 9 or 10 of the feed (its minutes and the ticks' do not line up),
    // then 10 minutes above: the alert at 19 to 21 minutes, never at 10.
    assert!(
        waited >= chrono::Duration::minutes(19) && waited <= chrono::Duration::minutes(21),
        "fired after {waited}"
    );
    assert_eq!(notification.model.as_deref(), Some("claude-sonnet-4-5"));
    assert_eq!(notification.key, "spike:cost_per_1k:claude-sonnet-4-5");
    assert_eq!(
        notification.title,
        "Sonnet 4.5: cost per 1,000 requests $18.00"
    );
    assert!(
        notification
            .body
            .starts_with("Over twice its 7-day median of $3.00 for 10 minutes"),
        "{}",
        notification.body
    );
    // The snapshot every front end reads says the same.
    let snapshot = engine.snapshot.borrow().clone();
    let line = snapshot
        .traffic
        .unwrap()
        .lines
        .into_iter()
        .find(|l| l.measure == SpikeMeasure::CostPer1k)
        .unwrap();
    assert!(line.alerting, "{line:?}");
    assert_eq!(line.threshold, Some(3.0));
    // The 24 seeded hours, and the clock hour of the feed's start once it closed (the feed runs
    // 20 minutes from a moment anywhere in an hour); its $18.00 does not move the median.
    assert!((24..=25).contains(&line.baseline_hours), "{line:?}");
    feeder.abort();
    engine.tasks.stop().await;
    sim.shutdown().await;
}
