//! The running engine against the simulator: levels, notifications, the offline/outage split, what lands in the store, and detection lead times.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use claude_status_core::alerts::AlertKind;
use claude_status_core::health::ProbeSchedule;
use claude_status_core::monitor::MonitorConfig;
use claude_status_core::report::Snapshot;
use claude_status_core::Level;
use claude_status_engine::http::{build_client, HttpLimits};
use claude_status_engine::poller::PollerConfig;
use claude_status_engine::probe::{ApiKey, ProbeConfig, StreamingProbeConfig};
use claude_status_engine::{Engine, EngineConfig, EngineEvent, Store};
use claude_status_simulator::{Clock, SimHandle, Simulator};
use tokio::sync::broadcast;

/// How long any one expectation may take; the engine polls every second.
const PATIENCE: Duration = Duration::from_secs(15);

/// The model the streaming probe follows here (no traffic, nothing pinned: the default one).
const MODEL: &str = "claude-opus-5-5";

async fn sim(scenario: &str) -> SimHandle {
    Simulator::new(scenario)
        .clock(Clock::Manual)
        .start()
        .await
        .expect("simulator starts")
}

fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

fn config(status_url: &str, api_url: &str) -> EngineConfig {
    let limits = HttpLimits {
        connect_timeout: Duration::from_secs(1),
        total_timeout: Duration::from_secs(2),
        ..HttpLimits::default()
    };
    EngineConfig {
        poller: PollerConfig {
            status_url: status_url.to_owned(),
            fallback_url: None,
            interval: Duration::from_secs(1),
            incident_interval: Duration::from_secs(1),
            history_interval: Duration::from_secs(60),
            fallback_hold: Duration::from_secs(60),
            limits,
        },
        monitor: MonitorConfig::default(),
        probes: Some(ProbeConfig {
            api_url: api_url.to_owned(),
            api_key: ApiKey::new("sk-ant-test"),
            schedule: ProbeSchedule {
                interval: Duration::from_secs(1),
                confirm_interval: Duration::from_millis(200),
                confirmations: 2,
            },
            streaming: None,
            limits,
        }),
        retention: chrono::Duration::days(30),
        usage: None,
    }
}

/// `config` with the per-model streaming probe on, every second: overloads are per model and on
/// `POST /v1/messages` (issue 11), so only this probe sees them.
fn streaming_config(status_url: &str, api_url: &str) -> EngineConfig {
    let mut config = config(status_url, api_url);
    config.monitor.models.default_model = MODEL.to_owned();
    if let Some(probes) = &mut config.probes {
        probes.streaming = Some(StreamingProbeConfig {
            model: MODEL.to_owned(),
            interval: Duration::from_secs(1),
            others_interval: Duration::from_secs(1),
        });
    }
    config
}

fn start(config: EngineConfig) -> (Engine, Arc<Store>) {
    let store = Arc::new(Store::open_in_memory().unwrap());
    let http = build_client(&config.poller.limits).unwrap();
    let engine = Engine::start(config, http, store.clone()).unwrap();
    (engine, store)
}

/// Waits until the snapshot satisfies `wanted`, failing with the last snapshot after `PATIENCE`.
async fn snapshot_where(
    engine: &Engine,
    what: &str,
    wanted: impl Fn(&Snapshot) -> bool,
) -> Snapshot {
    let mut snapshots = engine.snapshot();
    let outcome = tokio::time::timeout(PATIENCE, snapshots.wait_for(|s| wanted(s))).await;
    match outcome {
        Ok(Ok(snapshot)) => snapshot.clone(),
        _ => panic!(
            "no snapshot with {what} within {PATIENCE:?}; last: {:#?}",
            engine.snapshot().borrow()
        ),
    }
}

/// Waits for an event that satisfies `wanted`, returning it and the events before it.
async fn event_where(
    events: &mut broadcast::Receiver<EngineEvent>,
    what: &str,
    wanted: impl Fn(&EngineEvent) -> bool,
) -> EngineEvent {
    let mut seen = Vec::new();
    let found = tokio::time::timeout(PATIENCE, async {
        loop {
            match events.recv().await {
                Ok(event) if wanted(&event) => return event,
                Ok(event) => seen.push(event),
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("the engine stopped"),
            }
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("no {what} within {PATIENCE:?}; saw {seen:#?}"))
}

fn is_notification(event: &EngineEvent, kind: AlertKind) -> bool {
    matches!(event, EngineEvent::Notify { notification, .. } if notification.kind == kind)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overload_storm_is_noticed_notified_stored_and_recovered_from() {
    let started = Utc::now();
    let sim = sim("overload-storm").await;
    sim.advance(Duration::from_secs(4 * 60));
    let (mut engine, store) = start(streaming_config(&sim.base_url(), &sim.base_url()));
    let mut events = engine.subscribe();

    let snapshot = snapshot_where(&engine, "level overloaded", |s| {
        s.level == Level::Overloaded
    })
    .await;
    // The model the streaming probe asks is overloaded, and it decided the level.
    assert_eq!(snapshot.subject.as_deref(), Some(MODEL));
    assert!(
        snapshot.reasons[0].starts_with("Opus 5.5: overloaded, 529 on"),
        "{:#?}",
        snapshot.reasons
    );
    let model = snapshot.models.iter().find(|m| m.model == MODEL).unwrap();
    assert_eq!(model.level, Level::Overloaded);
    let last = model.last_probe.as_ref().unwrap();
    assert_eq!(
        last.outcome,
        claude_status_core::probe::ProbeOutcome::Overloaded
    );
    assert!(coverage_watches(&snapshot), "{:?}", snapshot.coverage);
    let notify = event_where(&mut events, "an overload notification", |e| {
        is_notification(e, AlertKind::Trouble)
    })
    .await;
    let EngineEvent::Notify { notification, .. } = &notify else {
        unreachable!()
    };
    assert_eq!(notification.title, "Claude Opus 5.5 overloaded");

    sim.set_scenario("healthy").unwrap();
    let recovered = event_where(&mut events, "a recovery notification", |e| {
        is_notification(e, AlertKind::Recovered)
    })
    .await;
    let EngineEvent::Notify { notification, .. } = &recovered else {
        unreachable!()
    };
    assert_eq!(notification.level, Level::Operational);
    assert_eq!(notification.title, "Claude Opus 5.5 recovered");
    assert!(notification.body.contains("overload"), "{notification:?}");
    assert_eq!(engine.snapshot().borrow().level, Level::Operational);

    // Recovered means recovered: a run of healthy probes must not bring the storm's old 529s
    // back as a new overload (regression: the 529 share of the whole window re-opened it once
    // the window held enough samples).
    let mut snapshots = engine.snapshot();
    let relapse = tokio::time::timeout(
        Duration::from_secs(8),
        snapshots.wait_for(|s| s.level != Level::Operational),
    )
    .await;
    if let Ok(Ok(snapshot)) = relapse {
        panic!("relapsed while the API was healthy: {:#?}", *snapshot);
    }

    // Everything the monitor saw is in the store: the model's 529s and passes, its quick
    // re-checks, and the model list answering throughout (a storm is on `/v1/messages` only).
    let until = Utc::now() + chrono::Duration::seconds(1);
    let probes = store.probes_between(started, until).unwrap();
    let streamed: Vec<_> = probes
        .iter()
        .filter(|p| p.kind == claude_status_core::health::ProbeKind::Streaming)
        .collect();
    assert!(streamed.iter().all(|p| p.model.as_deref() == Some(MODEL)));
    assert!(streamed
        .iter()
        .any(|p| p.outcome() == claude_status_core::probe::ProbeOutcome::Overloaded));
    assert!(streamed
        .iter()
        .any(|p| p.outcome() == claude_status_core::probe::ProbeOutcome::Ok));
    assert!(streamed.iter().any(|p| p.confirmation));
    assert!(probes
        .iter()
        .filter(|p| p.kind == claude_status_core::health::ProbeKind::Reachability)
        .all(|p| p.classification.http_status == Some(200)));
    let levels: Vec<String> = store
        .level_changes_between(started, until)
        .unwrap()
        .into_iter()
        .map(|c| c.to)
        .collect();
    let overloaded = levels.iter().position(|l| l == "overloaded");
    let operational = levels.iter().rposition(|l| l == "operational");
    assert!(
        overloaded.is_some() && operational > overloaded,
        "{levels:?}"
    );

    engine.shutdown().await;
    sim.shutdown().await;
}

/// The snapshot says the per-model probe watches overloads.
fn coverage_watches(snapshot: &Snapshot) -> bool {
    snapshot.coverage.overloads_watched
        && snapshot.coverage.warning.is_none()
        && snapshot
            .coverage
            .watched_by
            .iter()
            .any(|w| w == "per-model probes")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_reachable_at_all_is_offline() {
    let closed = closed_port_url();
    let (engine, store) = start(config(&closed, &closed));
    let snapshot = snapshot_where(&engine, "level offline", |s| s.level == Level::Offline).await;
    assert!(
        snapshot.reasons[0].contains("network"),
        "{:#?}",
        snapshot.reasons
    );
    assert!(snapshot.status_page.error.is_some());
    assert_eq!(
        snapshot.probe.as_ref().unwrap().outcome,
        claude_status_core::probe::ProbeOutcome::Network
    );
    let changes = store
        .level_changes_between(
            Utc::now() - chrono::Duration::minutes(1),
            Utc::now() + chrono::Duration::seconds(1),
        )
        .unwrap();
    assert_eq!(changes.last().unwrap().to, "offline");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_api_with_a_working_status_page_is_an_outage() {
    let sim = sim("operational").await;
    let closed = closed_port_url();
    let (engine, _store) = start(config(&sim.base_url(), &closed));
    let snapshot = snapshot_where(&engine, "level outage", |s| s.level == Level::Outage).await;
    assert!(
        snapshot
            .reasons
            .iter()
            .any(|r| r.contains("status page answers")),
        "{:#?}",
        snapshot.reasons
    );
    assert_eq!(snapshot.status_page.error, None);
    engine.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_opened_after_our_probes_saw_the_storm_records_a_lead_time() {
    let started = Utc::now();
    let sim = sim("storm-then-incident").await;
    sim.advance(Duration::from_secs(4 * 60));
    let (mut engine, store) = start(streaming_config(&sim.base_url(), &sim.base_url()));
    let mut events = engine.subscribe();

    snapshot_where(&engine, "level overloaded", |s| {
        s.level == Level::Overloaded
    })
    .await;
    // The status page admits it at 11 minutes; the storm goes on until 14.
    sim.advance(Duration::from_secs(7 * 60 + 30));
    let lead = event_where(&mut events, "a lead time", |e| {
        matches!(e, EngineEvent::LeadTime { .. })
    })
    .await;
    let EngineEvent::LeadTime {
        incident_id,
        model,
        detected_at,
        reported_at,
        ..
    } = lead
    else {
        unreachable!()
    };
    assert_eq!(incident_id, "w2n8c4r6t0pk");
    // An API-wide incident ("elevated error rates on the Claude API") that our per-model probe
    // saw first: the lead is the model's.
    assert_eq!(model.as_deref(), Some(MODEL));
    assert!(detected_at < reported_at);
    assert!(detected_at >= started);

    // Story time ran ahead of the wall clock, so the report lies in the future.
    let rows = store
        .lead_times_between(
            started - chrono::Duration::hours(1),
            Utc::now() + chrono::Duration::hours(1),
        )
        .unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].incident_id, "w2n8c4r6t0pk");
    assert_eq!(rows[0].model.as_deref(), Some(MODEL));
    // The store keeps milliseconds.
    assert_eq!(
        rows[0].detected_at.timestamp_millis(),
        detected_at.timestamp_millis()
    );
    assert!(rows[0].lead > chrono::Duration::zero());

    let snapshot = engine.snapshot().borrow().clone();
    assert_eq!(snapshot.status_page.incidents.len(), 1);
    engine.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_api_and_a_status_page_that_times_out_is_offline() {
    // Regression: a status page that timed out was taken as proof that the network works, so a
    // dead network read "outage" with the reason "the status page answers".
    let sim = Simulator::new("slow-status")
        .clock(Clock::Manual)
        .slow_status_delay(Duration::from_secs(5))
        .start()
        .await
        .unwrap();
    let closed = closed_port_url();
    let (engine, _store) = start(config(&sim.base_url(), &closed));
    let snapshot = snapshot_where(&engine, "a page error and a network episode", |s| {
        s.status_page.error.is_some() && s.probe.as_ref().is_some_and(|p| p.failures_in_a_row >= 3)
    })
    .await;
    assert_eq!(snapshot.level, Level::Offline, "{:#?}", snapshot.reasons);
    assert!(
        !snapshot
            .reasons
            .iter()
            .any(|r| r.contains("status page answers")),
        "{:#?}",
        snapshot.reasons
    );
    assert!(
        snapshot.reasons.iter().any(|r| r.contains("timed out")),
        "{:#?}",
        snapshot.reasons
    );
    engine.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateways_traffic_of_this_month_is_read_back_at_start() {
    use claude_status_core::usage::{TokenCounts, UsageRecord, UsageSource};
    let sim = sim("healthy").await;
    let store = Arc::new(Store::open_in_memory().unwrap());
    let now = Utc::now();
    let record = |seconds_ago: i64, message: &str, source: UsageSource| UsageRecord {
        at: now - chrono::Duration::seconds(seconds_ago),
        source,
        model: "claude-sonnet-4-6".to_owned(),
        tokens: TokenCounts {
            input: 1_000,
            output: 100,
            ..TokenCounts::default()
        },
        status: Some(200),
        latency_ms: Some(300),
        ttft_ms: None,
        service_tier: None,
        message_id: Some(message.to_owned()),
        request_id: Some(format!("req_{message}")),
        session_id: None,
        project: None,
        reported_cost_usd: None,
        is_sidechain: false,
    };
    // Two requests through the gateway before the restart, and one Claude Code line that is
    // not read back here (no transcript folder is configured, so that source is off).
    store
        .ingest_batch(
            &[
                record(30, "msg_a", UsageSource::Gateway),
                record(20, "msg_b", UsageSource::Gateway),
                record(10, "msg_c", UsageSource::ClaudeCode),
            ],
            &[],
        )
        .unwrap();
    let mut config = config(&sim.base_url(), &sim.base_url());
    config.usage = Some(claude_status_engine::monitor::UsageConfig {
        catalog: claude_status_core::catalog::Catalog::builtin(),
        tracker: claude_status_core::tracker::TrackerConfig::default(),
        claude_code_dirs: None,
        admin: None,
    });
    let http = build_client(&config.poller.limits).unwrap();
    let engine = Engine::start(config, http, store).unwrap();
    let snapshot = snapshot_where(&engine, "this month's gateway requests", |s| {
        s.usage.as_ref().is_some_and(|u| u.month.requests >= 2)
    })
    .await;
    let usage = snapshot.usage.unwrap();
    assert_eq!(usage.month.requests, 2, "{usage:#?}");
    assert_eq!(usage.month.tokens.input, 2_000);
    engine.shutdown().await;
    sim.shutdown().await;
}
