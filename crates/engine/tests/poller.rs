//! The status-page poller against the simulator: conditional requests, the fallback host, every broken answer, incident documents and an incident's whole lifecycle through the monitor state.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use claude_status_core::assess::FetchFailureKind;
use claude_status_core::changes::StatusChange;
use claude_status_core::monitor::{Effect, MonitorConfig, MonitorState, Observation, PageFetch};
use claude_status_core::statuspage::IncidentStatus;
use claude_status_core::Level;
use claude_status_engine::http::{build_client, HttpLimits};
use claude_status_engine::poller::{PollerConfig, StatusPageClient};
use claude_status_engine::store::FetchOutcome;
use claude_status_engine::Store;
use claude_status_simulator::{Clock, SimHandle, Simulator};

/// The incident the `incident` scenario opens at 2 minutes.
const OPUS_INCIDENT: &str = "8mz1q7v3k2xd";

async fn sim(scenario: &str) -> SimHandle {
    Simulator::new(scenario)
        .clock(Clock::Manual)
        .start()
        .await
        .expect("simulator starts")
}

fn limits(total: Duration) -> HttpLimits {
    HttpLimits {
        connect_timeout: Duration::from_secs(1),
        total_timeout: total,
        ..HttpLimits::default()
    }
}

fn config(status_url: &str, fallback_url: Option<&str>) -> PollerConfig {
    PollerConfig {
        status_url: status_url.to_owned(),
        fallback_url: fallback_url.map(str::to_owned),
        interval: Duration::from_secs(1),
        incident_interval: Duration::from_secs(1),
        history_interval: Duration::from_secs(1),
        fallback_hold: Duration::from_secs(60),
        limits: limits(Duration::from_secs(5)),
    }
}

fn client(config: PollerConfig, store: Option<Arc<Store>>) -> StatusPageClient {
    let http = build_client(&config.limits).unwrap();
    StatusPageClient::new(http, config, store)
}

/// A URL on a port nobody listens on: bound, read, and released again.
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

fn host(url: &str) -> &str {
    url.trim_start_matches("http://")
}

fn summary_requests(sim: &SimHandle) -> u64 {
    sim.stats()
        .requests_by_path
        .get("/api/v2/summary.json")
        .copied()
        .unwrap_or_default()
}

#[track_caller]
fn expect_failure(fetch: &PageFetch) -> &claude_status_core::assess::FetchFailure {
    match fetch {
        PageFetch::Failed { failure } => failure,
        PageFetch::Fetched { source_url, .. } => {
            panic!("expected a failure, got a page from {source_url}")
        }
    }
}

#[tokio::test]
async fn a_second_poll_is_conditional_and_reuses_the_page_on_304() {
    let sim = sim("operational").await;
    let mut client = client(config(&sim.base_url(), None), None);

    let first = client.poll_summary().await;
    let PageFetch::Fetched {
        page: first_page,
        not_modified: false,
        ..
    } = first.fetch
    else {
        panic!("first poll: {:?}", first.fetch);
    };
    assert_eq!(first.records[0].outcome, FetchOutcome::Ok);

    let second = client.poll_summary().await;
    let PageFetch::Fetched {
        page: second_page,
        not_modified,
        source_url,
    } = second.fetch
    else {
        panic!("second poll: {:?}", second.fetch);
    };
    assert!(not_modified, "the unchanged page should come back as a 304");
    assert_eq!(second_page, first_page);
    assert_eq!(
        source_url,
        format!("{}/api/v2/summary.json", sim.base_url())
    );
    assert_eq!(second.records[0].outcome, FetchOutcome::NotModified);
    assert_eq!(second.records[0].http_status, Some(304));
    assert_eq!(sim.stats().not_modified, 1);

    // Once the story moves, the page changes and the full body comes again.
    sim.advance(Duration::from_secs(3600));
    sim.set_scenario("incident").unwrap();
    sim.advance(Duration::from_secs(150));
    let third = client.poll_summary().await;
    assert!(matches!(
        third.fetch,
        PageFetch::Fetched {
            not_modified: false,
            ..
        }
    ));
    assert_eq!(sim.stats().not_modified, 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn the_etag_survives_a_new_client_through_the_store() {
    let sim = sim("operational").await;
    let store = Arc::new(Store::open_in_memory().unwrap());

    let mut first = client(config(&sim.base_url(), None), Some(store.clone()));
    let poll = first.poll_summary().await;
    assert!(matches!(
        poll.fetch,
        PageFetch::Fetched {
            not_modified: false,
            ..
        }
    ));
    drop(first);

    let mut second = client(config(&sim.base_url(), None), Some(store.clone()));
    let poll = second.poll_summary().await;
    let PageFetch::Fetched {
        page, not_modified, ..
    } = poll.fetch
    else {
        panic!("{:?}", poll.fetch);
    };
    assert!(
        not_modified,
        "a new client's first request should send the stored ETag"
    );
    assert_eq!(page.page.name, "Claude");
    assert_eq!(sim.stats().not_modified, 1);
    assert_eq!(summary_requests(&sim), 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_blocked_main_host_falls_back_and_then_holds_the_fallback() {
    let blocked = sim("bot-challenge").await;
    let fallback = sim("operational").await;
    let mut client = client(
        config(&blocked.base_url(), Some(&fallback.base_url())),
        None,
    );

    let poll = client.poll_summary().await;
    let PageFetch::Fetched {
        source_url, page, ..
    } = &poll.fetch
    else {
        panic!("{:?}", poll.fetch);
    };
    assert_eq!(
        source_url,
        &format!("{}/api/v2/summary.json", fallback.base_url())
    );
    assert!(!page.components.is_empty());
    assert_eq!(
        poll.records.len(),
        2,
        "main host tried first, then the fallback"
    );
    assert_eq!(poll.records[0].http_status, Some(403));
    assert!(poll.records[0]
        .error
        .as_deref()
        .unwrap()
        .contains("bot challenge"));
    assert_eq!(poll.records[1].outcome, FetchOutcome::Ok);

    // The next poll goes straight to the fallback: the main host is left alone for a while.
    let poll = client.poll_summary().await;
    assert!(matches!(poll.fetch, PageFetch::Fetched { .. }));
    assert_eq!(poll.records.len(), 1);
    assert!(poll.records[0].url.starts_with(&fallback.base_url()));
    assert_eq!(summary_requests(&blocked), 1);
    assert_eq!(summary_requests(&fallback), 2);

    // History and incident details follow the host that works.
    let history = client.fetch_history().await.unwrap();
    assert!(!history.is_empty());
    assert_eq!(
        blocked
            .stats()
            .requests_by_path
            .get("/api/v2/incidents.json"),
        None
    );
    blocked.shutdown().await;
    fallback.shutdown().await;
}

#[tokio::test]
async fn when_both_hosts_fail_the_failure_names_both() {
    let blocked = sim("bot-challenge").await;
    let closed = closed_port_url();
    let mut client = client(config(&blocked.base_url(), Some(&closed)), None);

    let poll = client.poll_summary().await;
    let failure = expect_failure(&poll.fetch);
    assert!(
        failure.detail.contains(host(&blocked.base_url())),
        "{}",
        failure.detail
    );
    assert!(failure.detail.contains(host(&closed)), "{}", failure.detail);
    // One host answered, so the network works: the page's own refusal is the kind reported.
    assert_eq!(failure.kind, FetchFailureKind::HttpStatus { status: 403 });
    assert!(!failure.is_network());
    assert_eq!(poll.records.len(), 2);
    blocked.shutdown().await;
}

#[tokio::test]
async fn both_hosts_unreachable_is_a_network_failure() {
    let (main, fallback) = (closed_port_url(), closed_port_url());
    let mut client = client(config(&main, Some(&fallback)), None);
    let poll = client.poll_summary().await;
    let failure = expect_failure(&poll.fetch);
    assert_eq!(failure.kind, FetchFailureKind::Network);
    assert!(failure.detail.contains(host(&main)), "{}", failure.detail);
    assert!(
        failure.detail.contains(host(&fallback)),
        "{}",
        failure.detail
    );
}

#[tokio::test]
async fn a_slow_page_times_out() {
    let sim = Simulator::new("slow-status")
        .clock(Clock::Manual)
        .slow_status_delay(Duration::from_secs(3))
        .start()
        .await
        .unwrap();
    let mut config = config(&sim.base_url(), None);
    config.limits = limits(Duration::from_secs(1));
    let mut client = client(config, None);

    let started = std::time::Instant::now();
    let poll = client.poll_summary().await;
    let elapsed = started.elapsed();
    let failure = expect_failure(&poll.fetch);
    assert_eq!(
        failure.kind,
        FetchFailureKind::Timeout,
        "{}",
        failure.detail
    );
    assert!(failure.detail.contains("timed out"), "{}", failure.detail);
    assert!(
        elapsed < Duration::from_millis(2500),
        "gave up after {elapsed:?}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_refused_connection_is_a_network_failure() {
    let closed = closed_port_url();
    let mut client = client(config(&closed, None), None);
    let poll = client.poll_summary().await;
    let failure = expect_failure(&poll.fetch);
    assert_eq!(failure.kind, FetchFailureKind::Network);
    assert!(
        failure.detail.contains("connection refused"),
        "{}",
        failure.detail
    );
    assert_eq!(poll.records[0].outcome, FetchOutcome::Error);
    assert_eq!(poll.records[0].http_status, None);
}

#[tokio::test]
async fn every_garbage_body_fails_cleanly_or_parses_leniently() {
    let sim = sim("garbage-status").await;
    let mut client = client(config(&sim.base_url(), None), None);
    let mut details = Vec::new();
    // The simulator rotates through seven bodies, one per request.
    for index in 0..7 {
        let poll = client.poll_summary().await;
        match (index, &poll.fetch) {
            // Wrong types everywhere: the lenient parser keeps what it can read and drops the
            // rest, so the page parses with no components and an indicator it does not know.
            (6, PageFetch::Fetched { page, .. }) => {
                assert!(page.components.is_empty());
                assert!(page.status.indicator.is_unknown(), "{:?}", page.status);
                continue;
            }
            (_, PageFetch::Fetched { .. }) => panic!("body {index} parsed: {:?}", poll.fetch),
            (_, PageFetch::Failed { failure }) => {
                let expected_kind = match index {
                    0 | 2 | 3 => matches!(failure.kind, FetchFailureKind::Unreadable),
                    1 | 4 => matches!(failure.kind, FetchFailureKind::NotJson { .. }),
                    5 => matches!(
                        failure.kind,
                        FetchFailureKind::TooLarge { limit } if limit == HttpLimits::default().body_limit
                    ),
                    _ => false,
                };
                assert!(expected_kind, "body {index}: {failure:?}");
                let wanted = match index {
                    0 => "truncated",
                    1 => "text/html",
                    2 => "empty",
                    3 => "array",
                    4 => "text/plain",
                    5 => "larger than",
                    _ => unreachable!(),
                };
                assert!(
                    failure.detail.contains(wanted),
                    "body {index}: {}",
                    failure.detail
                );
                assert!(
                    failure.detail.starts_with(host(&sim.base_url())),
                    "{}",
                    failure.detail
                );
                // Readable: one line, no raw body, not absurdly long.
                assert!(!failure.detail.contains('\n'), "{}", failure.detail);
                assert!(failure.detail.len() < 300, "{}", failure.detail);
                details.push(failure.detail.clone());
            }
        }
    }
    assert_eq!(details.len(), 6);
    sim.shutdown().await;
}

#[tokio::test]
async fn incident_documents_parse() {
    let sim = sim("incident").await;
    sim.advance(Duration::from_secs(9 * 60));
    let mut client = client(config(&sim.base_url(), None), None);

    let history = client.fetch_history().await.unwrap();
    assert!(history.len() >= 3, "{} incidents", history.len());
    let opus = history
        .iter()
        .find(|i| i.key() == OPUS_INCIDENT)
        .expect("the running incident is in the history");
    assert_eq!(opus.status, IncidentStatus::Identified);
    assert_eq!(opus.incident_updates.len(), 3);
    assert!(history
        .iter()
        .filter(|i| i.key() != OPUS_INCIDENT)
        .all(|i| i.status.is_closed()));

    let detail = client.fetch_incident(OPUS_INCIDENT).await.unwrap();
    assert_eq!(detail.key(), OPUS_INCIDENT);
    assert_eq!(detail.name, "Elevated errors on Claude Opus 4.8");
    assert_eq!(detail.incident_updates.len(), 3);
    // Newest first.
    assert!(detail.incident_updates[0].body.contains("increased"));

    let missing = client.fetch_incident("zzzzzzzzzzzz").await.unwrap_err();
    assert_eq!(missing.kind, FetchFailureKind::HttpStatus { status: 404 });
    let malformed = client.fetch_incident("../summary").await.unwrap_err();
    assert_eq!(malformed.kind, FetchFailureKind::Unreadable);
    sim.shutdown().await;
}

/// One step of the lifecycle: what changed, the level afterwards, and Opus 4.8's own level
/// (`None` while the page names it in no unresolved incident and nobody follows it).
#[derive(Debug)]
struct Step {
    kinds: Vec<&'static str>,
    level: Level,
    opus: Option<Level>,
    reasons: Vec<String>,
}

/// The `incident` story polled just after each scripted update (before, investigating,
/// identified, partial outage, monitoring, resolved), through a monitor with `config`; returns
/// the steps and the resolutions told.
async fn incident_lifecycle(config: MonitorConfig) -> (Vec<Step>, Vec<(String, bool)>) {
    let sim = sim("incident").await;
    let mut client = client(self::config(&sim.base_url(), None), None);
    let mut state = MonitorState::new(config);
    let mut steps = Vec::new();
    let mut resolutions = Vec::new();
    let mut story = Duration::ZERO;

    for at in [0, 150, 330, 510, 630, 870] {
        let at = Duration::from_secs(at);
        sim.advance(at - story);
        story = at;
        let poll = client.poll_summary().await;
        assert!(
            matches!(poll.fetch, PageFetch::Fetched { .. }),
            "{:?}",
            poll.fetch
        );
        let mut effects = state.apply(Observation::StatusPage { fetch: poll.fetch }, Utc::now());
        // Serve the monitor's requests for incident details, as the poller task does.
        let mut index = 0;
        while index < effects.len() {
            if let Effect::FetchIncident { id } = &effects[index] {
                let incident = client.fetch_incident(id).await.ok().map(Box::new);
                assert!(incident.is_some(), "incident {id} could not be fetched");
                let more = state.apply(
                    Observation::IncidentDetail {
                        id: id.clone(),
                        incident,
                    },
                    Utc::now(),
                );
                effects.extend(more);
            }
            index += 1;
        }
        for effect in &effects {
            if let Effect::Change(StatusChange::IncidentResolved {
                incident,
                confirmed,
            }) = effect
            {
                resolutions.push((incident.id.clone(), *confirmed));
            }
        }
        let snapshot = state.snapshot();
        steps.push(Step {
            kinds: effects
                .iter()
                .filter_map(|e| match e {
                    Effect::Change(change) => Some(change.kind()),
                    Effect::FetchIncident { .. } => Some("fetch_incident"),
                    _ => None,
                })
                .collect(),
            level: snapshot.level,
            reasons: snapshot.reasons.clone(),
            opus: snapshot
                .models
                .iter()
                .find(|m| m.model == "claude-opus-4-8")
                .filter(|m| !m.incidents.is_empty() || m.followed)
                .map(|m| m.level),
        });
    }
    sim.shutdown().await;
    (steps, resolutions)
}

#[tokio::test]
async fn an_incident_lifecycle_reads_as_the_expected_changes_and_levels() {
    let (steps, resolutions) = incident_lifecycle(MonitorConfig::default()).await;

    // Issue 11: the incident is titled for Claude Opus 4.8, so it is that model's. The user does
    // not use Opus 4.8 (no traffic, nothing pinned), so it makes the app degraded at most, even
    // while the API component it lists is in partial outage.
    let levels: Vec<Level> = steps.iter().map(|s| s.level).collect();
    assert_eq!(
        levels,
        [
            Level::Operational,
            Level::Degraded,
            Level::Degraded,
            Level::Degraded,
            Level::Degraded,
            Level::Operational,
        ],
        "{steps:#?}"
    );
    let opus: Vec<Option<Level>> = steps.iter().map(|s| s.opus).collect();
    assert_eq!(
        opus,
        [
            None,
            Some(Level::Degraded),
            Some(Level::Degraded),
            Some(Level::Outage),
            // The component is back and the team monitors a fix: recovering, not an outage.
            Some(Level::Degraded),
            None,
        ],
        "{steps:#?}"
    );

    let kinds: Vec<&[&str]> = steps.iter().map(|s| s.kinds.as_slice()).collect();
    assert!(kinds[0].is_empty(), "{steps:#?}");
    for (step, wanted) in [
        (1, &["component_status_changed", "incident_opened"][..]),
        (2, &["incident_updated", "incident_status_changed"][..]),
        (3, &["component_status_changed", "incident_updated"][..]),
        (
            4,
            &[
                "component_status_changed",
                "incident_updated",
                "incident_status_changed",
            ][..],
        ),
        (
            5,
            &["fetch_incident", "incident_updated", "incident_resolved"][..],
        ),
    ] {
        for kind in wanted {
            assert!(
                kinds[step].contains(kind),
                "step {step} lacks {kind}: {steps:#?}"
            );
        }
    }
    assert!(!kinds[1].contains(&"incident_resolved"), "{steps:#?}");
    // The resolution is told once, confirmed, after its details were fetched.
    assert_eq!(resolutions, [(OPUS_INCIDENT.to_owned(), true)]);
    let last = &steps[5].kinds;
    let fetch = last.iter().position(|k| *k == "fetch_incident").unwrap();
    let resolved = last.iter().position(|k| *k == "incident_resolved").unwrap();
    assert!(fetch < resolved, "{last:?}");
}

/// Issue 11: the same story for a user who relies on Opus 4.8 (pinned): the model's outage is
/// theirs, and once the page monitors a fix with the component back the level is "degraded"
/// with the reason "recovering", never an outage.
#[tokio::test]
async fn issue_11_an_incident_on_a_pinned_model_decides_the_level_and_recovers_in_monitoring() {
    let config = MonitorConfig {
        models: claude_status_core::models::ModelsConfig {
            pinned: vec!["claude-opus-4-8".to_owned()],
            ..Default::default()
        },
        ..MonitorConfig::default()
    };
    let (steps, _) = incident_lifecycle(config).await;
    let levels: Vec<(Level, Option<Level>)> = steps.iter().map(|s| (s.level, s.opus)).collect();
    assert_eq!(
        levels,
        [
            // Pinned and not probed yet: followed, but nothing says how it is.
            (Level::Operational, Some(Level::Unknown)),
            (Level::Degraded, Some(Level::Degraded)),
            (Level::Degraded, Some(Level::Degraded)),
            (Level::Outage, Some(Level::Outage)),
            (Level::Degraded, Some(Level::Degraded)),
            (Level::Operational, Some(Level::Unknown)),
        ],
        "{steps:#?}"
    );
    assert_eq!(
        steps[3].reasons[0].split(':').next(),
        Some("Opus 4.8"),
        "{steps:#?}"
    );
    assert!(
        steps[4].reasons.iter().any(|r| r.contains("recovering")),
        "{:#?}",
        steps[4].reasons
    );
}

#[tokio::test]
async fn a_failing_fallback_sends_the_poller_back_to_the_main_host() {
    let main = sim("bot-challenge").await;
    let fallback = sim("operational").await;
    let mut client = client(config(&main.base_url(), Some(&fallback.base_url())), None);
    assert!(matches!(
        client.poll_summary().await.fetch,
        PageFetch::Fetched { .. }
    ));

    // Now the roles swap: the held fallback fails and the main host works again.
    main.set_scenario("operational").unwrap();
    fallback.set_scenario("bot-challenge").unwrap();
    let poll = client.poll_summary().await;
    let PageFetch::Fetched { source_url, .. } = &poll.fetch else {
        panic!("{:?}", poll.fetch);
    };
    assert!(source_url.starts_with(&main.base_url()), "{source_url}");
    assert_eq!(poll.records.len(), 2, "the held fallback is tried first");
    assert!(poll.records[0].url.starts_with(&fallback.base_url()));

    // The hold is over: the main host comes first again.
    let poll = client.poll_summary().await;
    assert_eq!(poll.records.len(), 1);
    assert!(poll.records[0].url.starts_with(&main.base_url()));
    main.shutdown().await;
    fallback.shutdown().await;
}
