//! The real engine tasks against the simulator's per-model scenarios of issue 11, under paused time.
//!
//! Each test plays one whole story of the in-process simulator (`model-overload`,
//! `all-models-storm`, and a retired model pinned) through the engine as `Engine::start` wires it:
//! `run_probes` with the real `HttpProber`, `run_poller` with the real status-page client, and the
//! real `MonitorState`. Paused tokio time runs the story's minutes in a moment and exactly; the
//! simulator's story clock follows the same paused clock (`Clock::Real` at speed 1 reads tokio's
//! `Instant`), so the API, the status page and the monitor agree on what time it is.
//!
//! The engine runs in the paused-time harness of `support::paused`, which the `detection_bench`
//! example shares: `Engine::start`'s wiring with the monitor loop's `now` on the paused clock,
//! because `MonitorState`'s rules count wall time (the alert cooldown, the probe window), and the
//! wall clock does not move while tokio time is paused.
//!
//! The tests assert what the user sees in each phase of the story (levels, reasons, the model an
//! incident is attributed to, notifications), never how long anything took: speed lives in the
//! bench.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use claude_status_core::alerts::{AlertKind, Notification};
use claude_status_core::health::{ProbeKind, ProbeResult};
use claude_status_core::models::{ModelReport, MOST_USED_PROBE_INTERVAL};
use claude_status_core::monitor::{MonitorConfig, Observation};
use claude_status_core::probe::ProbeOutcome;
use claude_status_core::report::{IncidentReport, Snapshot};
use claude_status_core::statuspage::IncidentStatus;
use claude_status_core::usage::{TokenCounts, UsageRecord, UsageSource};
use claude_status_core::Level;
use claude_status_engine::EngineEvent;
use claude_status_simulator::{Clock, SimHandle, Simulator};
use support::paused::{self, PausedEngine, ProbeHook};
use tokio::sync::broadcast;

/// The model `model-overload` overloads: Claude Code's default, the one a typical user works on.
const STORM_MODEL: &str = "claude-opus-5-5";
/// The second model the user pins, which `model-overload` spares.
const OTHER_MODEL: &str = "claude-sonnet-5-5";
/// A model past its end of life (2026-11-30, claude-code.md H7): the simulator answers 404.
const RETIRED_MODEL: &str = "claude-sonnet-4-5";
const RETIRED_ON: &str = "2026-11-30";
/// Any key: only the simulator sees it.
const TEST_KEY: &str = "sk-ant-api03-scenario-tests";

/// The incidents the two scenarios publish.
const MODEL_INCIDENT: &str = "Elevated errors on Claude Opus 5.5";
const ALL_MODELS_INCIDENT: &str = "Elevated errors across all models";

// The shared timeline of `model-overload` and `all-models-storm`, in story time (the simulator's
// scenario description): 529s ramp from 0 % at 1 min to 100 % at 3 min, stay until 9 min, and
// are gone at 11 min; the incident opens at 7 min, is monitoring at 11 min and resolved at 14 min.
const RAMP_START: Duration = Duration::from_secs(60);
const PLATEAU_START: Duration = Duration::from_secs(180);
const RAMP_DOWN: Duration = Duration::from_secs(540);
const STORM_OVER: Duration = Duration::from_secs(660);
/// Four minutes after the resolution: the poller has read it and every model's probes had time
/// to pass twice in a row (the others are probed every 5 min).
const STORY_END: Duration = Duration::from_secs(18 * 60);

/// The driver's bound: no story here needs more than a few thousand events and snapshots, so
/// running out of steps means the engine is spinning, not that the story is long.
const STEP_BUDGET: usize = 100_000;

// ---------------------------------------------------------------------------------------------
// The harness: the engine's tasks with the monitor on the paused clock (`support::paused`).
// ---------------------------------------------------------------------------------------------

/// One probe as it went out, for the phases that depend on what the probes saw.
#[derive(Debug, Clone)]
struct Probed {
    at: DateTime<Utc>,
    kind: ProbeKind,
    model: Option<String>,
    outcome: ProbeOutcome,
}

/// A running engine, and every probe it sent so far.
struct Rig {
    engine: PausedEngine,
    probes: Arc<Mutex<Vec<Probed>>>,
}

/// Starts `scenario` (overloading [`STORM_MODEL`] when it is `model-overload`) and the engine
/// against it, with `pinned` pinned.
async fn start(scenario: &str, pinned: &[&str]) -> (SimHandle, Rig) {
    let sim = Simulator::new(scenario)
        .clock(Clock::Real { speed: 1.0 })
        .overload_model(STORM_MODEL)
        .start()
        .await
        .expect("simulator starts");
    let pinned = pinned.iter().map(|m| (*m).to_owned()).collect();
    let config = paused::keyed_config(&sim.base_url(), TEST_KEY, pinned);
    let probes = Arc::new(Mutex::new(Vec::new()));
    let log = probes.clone();
    let on_probe: ProbeHook = Arc::new(move |_, result: &ProbeResult| {
        log.lock().unwrap().push(Probed {
            at: result.at,
            kind: result.kind,
            model: result.model.clone(),
            outcome: result.outcome(),
        });
    });
    let engine = paused::start(config, Some(on_probe)).unwrap();
    (sim, Rig { engine, probes })
}

// ---------------------------------------------------------------------------------------------
// The driver: what a front end saw over the story.
// ---------------------------------------------------------------------------------------------

/// Every snapshot and event the engine published, with the story time it was seen at, and every
/// probe that went out.
#[derive(Debug)]
struct Seen {
    /// The wall time of story time zero on the paused clock.
    started: DateTime<Utc>,
    snapshots: Vec<(Duration, Snapshot)>,
    events: Vec<(Duration, EngineEvent)>,
    probes: Vec<Probed>,
}

impl Seen {
    fn snapshots_between(
        &self,
        from: Duration,
        until: Duration,
    ) -> impl Iterator<Item = &(Duration, Snapshot)> {
        self.snapshots
            .iter()
            .filter(move |(t, _)| *t >= from && *t < until)
    }

    fn notifications(&self, kind: AlertKind) -> Vec<(Duration, &Notification)> {
        self.events
            .iter()
            .filter_map(|(t, e)| match e {
                EngineEvent::Notify { notification, .. } if notification.kind == kind => {
                    Some((*t, notification))
                }
                _ => None,
            })
            .collect()
    }

    fn last(&self) -> &Snapshot {
        &self
            .snapshots
            .last()
            .expect("the engine published nothing")
            .1
    }

    /// True when the latest `n` probes of `model` up to `up_to` all passed.
    fn passing(&self, model: &str, up_to: DateTime<Utc>, n: usize) -> bool {
        let outcomes: Vec<ProbeOutcome> = self
            .probes
            .iter()
            .filter(|p| p.model.as_deref() == Some(model) && p.at <= up_to)
            .map(|p| p.outcome)
            .collect();
        outcomes.len() >= n
            && outcomes[outcomes.len() - n..]
                .iter()
                .all(|o| *o == ProbeOutcome::Ok)
    }
}

/// Records what the engine publishes until story time `until`, then stops the engine and the
/// simulator.
async fn watch_story(sim: SimHandle, mut rig: Rig, until: Duration) -> (Seen, SimHandle) {
    let end = rig.engine.clock.start + until;
    let mut seen = Seen {
        started: rig.engine.clock.wall,
        snapshots: Vec::new(),
        events: Vec::new(),
        probes: Vec::new(),
    };
    let mut steps = 0;
    loop {
        steps += 1;
        assert!(
            steps <= STEP_BUDGET,
            "{STEP_BUDGET} steps before story time {until:?}: the engine is spinning"
        );
        tokio::select! {
            biased;
            event = rig.engine.events.recv() => match event {
                Ok(event) => seen.events.push((sim.story_time(), event)),
                Err(broadcast::error::RecvError::Lagged(n)) => panic!("missed {n} events"),
                Err(broadcast::error::RecvError::Closed) => panic!("the engine stopped"),
            },
            changed = rig.engine.snapshot.changed() => {
                changed.expect("the engine stopped");
                let snapshot = rig.engine.snapshot.borrow_and_update().clone();
                seen.snapshots.push((sim.story_time(), snapshot));
            }
            () = tokio::time::sleep_until(end) => break,
        }
    }
    seen.probes = rig.probes.lock().unwrap().clone();
    rig.engine.tasks.stop().await;
    (seen, sim)
}

fn model<'a>(snapshot: &'a Snapshot, id: &str) -> Option<&'a ModelReport> {
    snapshot.models.iter().find(|m| m.model == id)
}

fn incident<'a>(snapshot: &'a Snapshot, name: &str) -> Option<&'a IncidentReport> {
    snapshot
        .status_page
        .incidents
        .iter()
        .find(|i| i.name == name)
}

fn mentions(reasons: &[String], text: &str) -> bool {
    reasons.iter().any(|r| r.contains(text))
}

/// One of the user's own requests, as the gateway records it.
fn own_request(at: DateTime<Utc>, model: &str, status: u16) -> UsageRecord {
    UsageRecord {
        at,
        source: UsageSource::Gateway,
        model: model.to_owned(),
        tokens: TokenCounts::default(),
        status: Some(status),
        latency_ms: Some(40),
        ttft_ms: None,
        service_tier: None,
        message_id: None,
        request_id: Some("req_011CScenarioTest".to_owned()),
        session_id: None,
        project: None,
        reported_cost_usd: None,
        is_sidechain: false,
    }
}

// ---------------------------------------------------------------------------------------------
// The scenarios.
// ---------------------------------------------------------------------------------------------

/// `model-overload` on Opus 5.5 with Opus 5.5 and Sonnet 5.5 pinned: nothing is raised before the
/// storm; in the plateau Opus 5.5 is overloaded with a reason that names the 529s and decides the
/// app's level, and stays so until the ramp-down; Sonnet 5.5 stays operational throughout and the
/// reachability probe (`GET /v1/models`) keeps passing, so the level is never an outage; the
/// status page's "Elevated errors on Claude Opus 5.5" is Opus 5.5's incident, not Sonnet's; one
/// notification names Claude Opus 5.5 and offers Sonnet 5.5; while the page is monitoring and the
/// probes pass the level is degraded at most, "recovering"; once resolved everything is
/// operational and a recovery notification names the model.
#[tokio::test(start_paused = true)]
async fn model_overload_is_reported_on_its_model_with_the_other_as_alternative() {
    let (sim, rig) = start("model-overload", &[STORM_MODEL, OTHER_MODEL]).await;
    let (seen, sim) = watch_story(sim, rig, STORY_END).await;
    let stats = sim.stats();
    sim.shutdown().await;

    // Nothing before the storm.
    for (t, snapshot) in seen.snapshots_between(Duration::ZERO, RAMP_START) {
        assert!(
            !matches!(snapshot.level, Level::Overloaded | Level::Outage),
            "at {t:?}, before the storm: {snapshot:#?}"
        );
    }

    // The plateau: Opus 5.5 overloaded, named with its 529s, deciding the level.
    let (first, _) = seen
        .snapshots_between(RAMP_START, RAMP_DOWN)
        .find(|(_, s)| model(s, STORM_MODEL).is_some_and(|m| m.level == Level::Overloaded))
        .unwrap_or_else(|| panic!("Opus 5.5 never overloaded in the storm: {:#?}", seen.last()));
    let plateau: Vec<&(Duration, Snapshot)> = seen
        .snapshots_between((*first).max(PLATEAU_START), RAMP_DOWN)
        .collect();
    assert!(!plateau.is_empty(), "no snapshot in the plateau");
    for (t, snapshot) in plateau {
        let opus = model(snapshot, STORM_MODEL).unwrap();
        assert_eq!(opus.level, Level::Overloaded, "at {t:?}: {opus:#?}");
        assert!(mentions(&opus.reasons, "529"), "at {t:?}: {opus:#?}");
        assert_eq!(snapshot.level, Level::Overloaded, "at {t:?}: {snapshot:#?}");
        assert_eq!(snapshot.subject.as_deref(), Some(STORM_MODEL), "at {t:?}");
        assert!(
            snapshot.reasons[0].starts_with("Opus 5.5: overloaded"),
            "at {t:?}: {:#?}",
            snapshot.reasons
        );
    }

    // Sonnet 5.5 is spared: operational once it answered, never anything worse.
    let mut sonnet_answered = 0;
    for (t, snapshot) in &seen.snapshots {
        let sonnet = model(snapshot, OTHER_MODEL)
            .unwrap_or_else(|| panic!("at {t:?}, the pinned Sonnet 5.5 is not listed"));
        assert!(sonnet.followed && sonnet.pinned, "at {t:?}: {sonnet:#?}");
        if sonnet.last_probe.is_some() {
            assert_eq!(sonnet.level, Level::Operational, "at {t:?}: {sonnet:#?}");
            sonnet_answered += 1;
        } else {
            assert_eq!(sonnet.level, Level::Unknown, "at {t:?}: {sonnet:#?}");
        }
    }
    assert!(sonnet_answered > 0, "Sonnet 5.5 was never probed");
    let sonnet_counts = &stats.messages_by_model[OTHER_MODEL];
    assert!(sonnet_counts.requests > 0, "{stats:#?}");
    assert_eq!(
        sonnet_counts.overloaded + sonnet_counts.stream_errors,
        0,
        "{stats:#?}"
    );

    // The overload is on /v1/messages only: the API-wide probe keeps passing, and the API-wide
    // verdict never says outage.
    let reachability: Vec<&Probed> = seen
        .probes
        .iter()
        .filter(|p| p.kind == ProbeKind::Reachability)
        .collect();
    assert!(reachability.len() >= 10, "{reachability:#?}");
    assert!(
        reachability.iter().all(|p| p.outcome == ProbeOutcome::Ok),
        "{reachability:#?}"
    );
    for (t, snapshot) in &seen.snapshots {
        assert_ne!(snapshot.level, Level::Outage, "at {t:?}: {snapshot:#?}");
        if let Some(probe) = &snapshot.probe {
            assert_eq!(probe.failures_in_a_row, 0, "at {t:?}: {probe:#?}");
        }
    }

    // The page's incident is Opus 5.5's, not Sonnet's.
    let mut attributed = 0;
    for (t, snapshot) in &seen.snapshots {
        let Some(incident) = incident(snapshot, MODEL_INCIDENT) else {
            continue;
        };
        let opus = model(snapshot, STORM_MODEL).unwrap();
        let sonnet = model(snapshot, OTHER_MODEL).unwrap();
        assert!(opus.incidents.contains(&incident.id), "at {t:?}: {opus:#?}");
        assert!(
            mentions(&opus.reasons, MODEL_INCIDENT),
            "at {t:?}: {opus:#?}"
        );
        assert!(
            !sonnet.incidents.contains(&incident.id),
            "at {t:?}: {sonnet:#?}"
        );
        assert!(!mentions(&sonnet.reasons, "Opus"), "at {t:?}: {sonnet:#?}");
        attributed += 1;
    }
    assert!(attributed > 0, "the page never showed {MODEL_INCIDENT:?}");

    // One storm, one overloaded notification, naming the model and the alternative.
    let trouble = seen.notifications(AlertKind::Trouble);
    assert_eq!(trouble.len(), 1, "{trouble:#?}");
    let (raised_at, notification) = trouble[0];
    assert_eq!(notification.level, Level::Overloaded, "{notification:#?}");
    assert_eq!(notification.title, "Claude Opus 5.5 overloaded");
    assert!(notification.body.contains("529"), "{notification:#?}");
    assert!(
        notification
            .body
            .ends_with("Claude Sonnet 5.5 answers normally."),
        "{notification:#?}"
    );

    // Monitoring with the probes passing: recovering, degraded at most.
    let health = MonitorConfig::default().health;
    let mut recovering = 0;
    for (t, snapshot) in &seen.snapshots {
        let monitoring = incident(snapshot, MODEL_INCIDENT)
            .is_some_and(|i| i.status == IncidentStatus::Monitoring);
        let opus = model(snapshot, STORM_MODEL).unwrap();
        let passing = opus
            .last_probe
            .as_ref()
            .is_some_and(|p| seen.passing(STORM_MODEL, p.at, health.successes_to_leave as usize));
        if !(monitoring && passing) {
            continue;
        }
        assert!(
            matches!(snapshot.level, Level::Operational | Level::Degraded),
            "at {t:?}, monitoring with passing probes: {snapshot:#?}"
        );
        assert!(
            mentions(&snapshot.reasons, "recovering"),
            "at {t:?}: {:#?}",
            snapshot.reasons
        );
        assert!(
            opus.level.severity() <= Level::Degraded.severity(),
            "at {t:?}: {opus:#?}"
        );
        recovering += 1;
    }
    assert!(
        recovering > 0,
        "no snapshot while the page was monitoring and the probes passed"
    );

    // Resolved: everything operational, and the recovery names the model.
    let last = seen.last();
    assert!(incident(last, MODEL_INCIDENT).is_none(), "{last:#?}");
    assert_eq!(last.level, Level::Operational, "{last:#?}");
    for m in last.models.iter().filter(|m| m.followed) {
        assert_eq!(m.level, Level::Operational, "{m:#?}");
    }
    let recovered = seen.notifications(AlertKind::Recovered);
    assert_eq!(recovered.len(), 1, "{recovered:#?}");
    let (recovered_at, notification) = recovered[0];
    assert_eq!(notification.title, "Claude Opus 5.5 recovered");
    assert_eq!(notification.level, Level::Operational);
    assert!(recovered_at >= raised_at);
}

/// `all-models-storm` with Opus 5.5 and Sonnet 5.5 pinned: every followed model becomes
/// overloaded; a notification names another model as the alternative only when that model's own
/// probe passed in the minute before (a pass from before the storm is no evidence), and never
/// while every message is overloaded; the
/// page's "Elevated errors across all models" is API-wide: it is in the app's reasons and raises
/// the app's level to an outage (major impact), and no single model takes it for its own; once
/// resolved everything is operational again.
#[tokio::test(start_paused = true)]
async fn all_models_storm_overloads_every_model_and_names_an_alternative_only_on_fresh_evidence() {
    let (sim, rig) = start("all-models-storm", &[STORM_MODEL, OTHER_MODEL]).await;
    let (seen, sim) = watch_story(sim, rig, STORY_END).await;
    sim.shutdown().await;

    for id in [STORM_MODEL, OTHER_MODEL] {
        assert!(
            seen.snapshots_between(RAMP_START, STORM_OVER)
                .any(|(_, s)| model(s, id).is_some_and(|m| m.level == Level::Overloaded)),
            "{id} never overloaded in the storm: {:#?}",
            seen.last()
        );
    }

    // One storm, one overloaded notification (the page's major incident may escalate it to an
    // outage once), and never another model offered: none answers. Both rules are checked before
    // failing, so a failure lists every notification that broke one.
    let trouble = seen.notifications(AlertKind::Trouble);
    let overloaded = trouble
        .iter()
        .filter(|(_, n)| n.level == Level::Overloaded)
        .count();
    let mut wrong: Vec<String> = Vec::new();
    if overloaded != 1 {
        wrong.push(format!(
            "{overloaded} overloaded notifications in one storm, not 1"
        ));
    }
    // An alternative is named only on fresh evidence: a pass of that model's own probe at most
    // a minute before the notification, and never while every message is overloaded.
    for (t, notification) in &trouble {
        if !notification.body.contains("answers normally") {
            continue;
        }
        if *t >= PLATEAU_START && *t < RAMP_DOWN {
            wrong.push(format!(
                "at {t:?}, an alternative offered while every model is overloaded"
            ));
        }
        let at = seen.started + chrono::Duration::from_std(*t).unwrap();
        let backed = seen.probes.iter().any(|p| {
            p.kind == ProbeKind::Streaming
                && p.model.as_deref() == Some(OTHER_MODEL)
                && p.outcome == ProbeOutcome::Ok
                && p.at <= at
                && at - p.at <= chrono::Duration::seconds(60)
        });
        if !backed {
            wrong.push(format!(
                "at {t:?}, an alternative offered without a pass of its own in the last minute"
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}\nnotifications: {trouble:#?}");

    let mut api_wide = 0;
    for (t, snapshot) in &seen.snapshots {
        let Some(incident) = incident(snapshot, ALL_MODELS_INCIDENT) else {
            continue;
        };
        let listing: Vec<&str> = snapshot
            .models
            .iter()
            .filter(|m| m.followed && m.incidents.contains(&incident.id))
            .map(|m| m.model.as_str())
            .collect();
        let followed = snapshot.models.iter().filter(|m| m.followed).count();
        assert!(
            listing.is_empty() || listing.len() == followed,
            "at {t:?}, the incident on every model is attributed to {listing:?} only"
        );
        assert!(
            mentions(&snapshot.reasons, ALL_MODELS_INCIDENT),
            "at {t:?}: {:#?}",
            snapshot.reasons
        );
        if incident.status != IncidentStatus::Monitoring {
            assert_eq!(snapshot.level, Level::Outage, "at {t:?}: {snapshot:#?}");
        }
        api_wide += 1;
    }
    assert!(
        api_wide > 0,
        "the page never showed {ALL_MODELS_INCIDENT:?}"
    );

    let last = seen.last();
    assert!(incident(last, ALL_MODELS_INCIDENT).is_none(), "{last:#?}");
    assert_eq!(last.level, Level::Operational, "{last:#?}");
    for m in last.models.iter().filter(|m| m.followed) {
        assert_eq!(m.level, Level::Operational, "{m:#?}");
    }
    assert!(
        !seen.notifications(AlertKind::Recovered).is_empty(),
        "no recovery notification"
    );
}

/// A retired model pinned beside Opus 5.5 through `model-overload`, with one of the user's own
/// requests to it answered 404 by the simulator: its reason says it is retired, with the date and
/// a current successor of its family, in its own row and in the app's reasons; it is never
/// outage or overloaded and never probed; Opus 5.5's storm is still reported.
#[tokio::test(start_paused = true)]
async fn a_retired_model_is_retired_with_a_successor_never_an_outage() {
    let (sim, rig) = start("model-overload", &[STORM_MODEL, RETIRED_MODEL]).await;

    // The user's own request to the retired model, as the gateway would pass it on.
    let client = reqwest::Client::new();
    let answer = client
        .post(format!("{}/v1/messages", sim.base_url()))
        .header("x-api-key", TEST_KEY)
        .header("anthropic-version", "2023-06-01")
        .json(&serde_json::json!({
            "model": RETIRED_MODEL,
            "max_tokens": 1,
            "messages": [{"role": "user", "content": "ping"}],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 404);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["error"]["type"], "not_found_error", "{body}");
    rig.engine
        .observations
        .send(Observation::Usage {
            records: vec![own_request(rig.engine.clock.now(), RETIRED_MODEL, 404)],
        })
        .await
        .unwrap();
    let current: Vec<String> = client
        .get(format!("{}/v1/models", sim.base_url()))
        .header("x-api-key", TEST_KEY)
        .header("anthropic-version", "2023-06-01")
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();

    let (seen, sim) = watch_story(sim, rig, STORY_END).await;
    let stats = sim.stats();
    sim.shutdown().await;

    let retired_on = NaiveDate::parse_from_str(RETIRED_ON, "%Y-%m-%d").unwrap();
    let mut rows = 0;
    for (t, snapshot) in &seen.snapshots {
        let Some(retired) = model(snapshot, RETIRED_MODEL) else {
            panic!("at {t:?}, the pinned retired model is not listed: {snapshot:#?}");
        };
        assert!(
            !matches!(retired.level, Level::Outage | Level::Overloaded),
            "at {t:?}: {retired:#?}"
        );
        let retirement = retired
            .retired
            .as_ref()
            .unwrap_or_else(|| panic!("at {t:?}, not marked retired: {retired:#?}"));
        assert_eq!(retirement.on, retired_on, "at {t:?}");
        let successor = retirement
            .successor
            .as_deref()
            .unwrap_or_else(|| panic!("at {t:?}, no successor: {retired:#?}"));
        assert!(
            successor.starts_with("claude-sonnet-") && successor != RETIRED_MODEL,
            "at {t:?}: {successor}"
        );
        assert!(
            current.iter().any(|id| id == successor),
            "at {t:?}, the successor {successor} is not a model the API serves: {current:?}"
        );
        let first = &retired.reasons[0];
        assert!(
            first.contains(&format!("retired on {RETIRED_ON}")) && first.contains(successor),
            "at {t:?}: {:#?}",
            retired.reasons
        );
        assert_eq!(retired.probe_interval_secs, None, "at {t:?}: {retired:#?}");
        assert!(
            mentions(&snapshot.reasons, &format!("retired on {RETIRED_ON}")),
            "at {t:?}, the app's reasons do not say it: {:#?}",
            snapshot.reasons
        );
        assert_ne!(snapshot.level, Level::Outage, "at {t:?}: {snapshot:#?}");
        rows += 1;
    }
    assert!(rows > 0, "the engine published nothing");

    // The engine never spends a probe on it: the only request is the user's own.
    assert_eq!(
        stats.messages_by_model[RETIRED_MODEL].requests, 1,
        "{stats:#?}"
    );
    assert!(
        seen.probes
            .iter()
            .all(|p| p.model.as_deref() != Some(RETIRED_MODEL)),
        "the retired model was probed"
    );

    // The model that can be probed is, at the most-used interval, and its storm is reported.
    assert!(
        seen.snapshots_between(RAMP_START, RAMP_DOWN).any(|(_, s)| {
            s.level == Level::Overloaded && s.subject.as_deref() == Some(STORM_MODEL)
        }),
        "Opus 5.5's storm was not reported: {:#?}",
        seen.last()
    );
    let opus = model(seen.last(), STORM_MODEL).unwrap();
    let probed_at: Vec<i64> = seen
        .probes
        .iter()
        .filter(|p| p.model.as_deref() == Some(STORM_MODEL))
        .map(|p| (p.at - seen.started).num_seconds())
        .collect();
    assert_eq!(
        opus.probe_interval_secs.map(u64::from),
        Some(MOST_USED_PROBE_INTERVAL.as_secs()),
        "Opus 5.5 is probed at {probed_at:?} s (the most-used interval: the retired model takes no \
         probe slot), but its row says otherwise: {opus:#?}"
    );
}
