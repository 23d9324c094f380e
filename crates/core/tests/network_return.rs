//! A laptop's network dies and comes back (issue 16, found by the `sleep-offline-30s` fault case):
//! the API-wide verdict and every model's read `offline` while nothing answers, and neither flashes
//! an outage, nor notifies one, when the network returns before the models are probed again. A
//! model that still goes unanswered after the network is back is in trouble of its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use claude_status_core::assess::{FetchFailure, FetchFailureKind};
use claude_status_core::health::{ProbeKind, ProbeResult};
use claude_status_core::models::ModelsConfig;
use claude_status_core::monitor::{Effect, MonitorConfig, MonitorState, Observation, PageFetch};
use claude_status_core::probe::{Classification, ProbeOutcome};
use claude_status_core::statuspage::StatusPage;
use claude_status_core::Level;

const HAIKU: &str = "claude-haiku-4-5";

fn second(n: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 4, 23, 0, 0).unwrap() + Duration::seconds(n)
}

/// One probe result; `answered` false is a timeout (a dead network answers nothing).
fn result(at: DateTime<Utc>, model: Option<&str>, answered: bool) -> Box<ProbeResult> {
    let outcome = if answered {
        ProbeOutcome::Ok
    } else {
        ProbeOutcome::Timeout
    };
    Box::new(ProbeResult {
        at,
        kind: if model.is_some() {
            ProbeKind::Streaming
        } else {
            ProbeKind::Reachability
        },
        classification: Classification {
            outcome,
            http_status: answered.then_some(200),
            error_type: None,
            error_message: None,
            request_id: None,
            retry_after: None,
            retry_not_before: None,
            detail: outcome.to_string(),
        },
        latency_ms: answered.then_some(150),
        message_start_ms: None,
        ttft_ms: (answered && model.is_some()).then_some(300),
        ratelimit: Default::default(),
        usage: None,
        confirmation: false,
        model: model.map(str::to_owned),
    })
}

fn page(reachable: bool) -> Observation {
    let fetch = if reachable {
        PageFetch::Fetched {
            page: Box::new(StatusPage::default()),
            source_url: "https://status.claude.com/api/v2/summary.json".into(),
            not_modified: false,
        }
    } else {
        PageFetch::Failed {
            failure: FetchFailure {
                kind: FetchFailureKind::Timeout,
                detail: "timed out".into(),
            },
        }
    };
    Observation::StatusPage { fetch }
}

struct Run {
    state: MonitorState,
    clock: i64,
    /// Every notification and level change so far, as "notify LEVEL TITLE" / "level FROM→TO".
    said: Vec<String>,
}

impl Run {
    fn new() -> Self {
        let config = MonitorConfig {
            models: ModelsConfig {
                pinned: vec![HAIKU.to_owned()],
                default_model: HAIKU.to_owned(),
                probing: true,
                gateway: false,
                ..ModelsConfig::default()
            },
            ..MonitorConfig::default()
        };
        Run {
            state: MonitorState::new(config),
            clock: 0,
            said: Vec::new(),
        }
    }

    fn feed(&mut self, observation: Observation) {
        self.clock += 5;
        let effects = self.state.apply(observation, second(self.clock));
        for effect in effects {
            match effect {
                Effect::Notify(n) => self.said.push(format!("notify {} {}", n.level, n.title)),
                Effect::LevelChanged { from, to, .. } => {
                    self.said.push(format!("level {from}→{to}"))
                }
                _ => {}
            }
        }
    }

    fn probes(&mut self, answered: bool) {
        self.feed(Observation::Probe {
            result: result(second(self.clock + 5), None, answered),
        });
        self.feed(Observation::Probe {
            result: result(second(self.clock + 5), Some(HAIKU), answered),
        });
    }

    fn levels(&self) -> (Level, Level) {
        let snapshot = self.state.snapshot();
        let model = snapshot
            .models
            .iter()
            .find(|m| m.model == HAIKU)
            .map_or(Level::Unknown, |m| m.level);
        (snapshot.level, model)
    }

    /// A working network, then a dead one (nothing answers, the page times out too) until both
    /// the API-wide verdict and the model's read offline; then the page answers again.
    fn down_and_back() -> Self {
        let mut run = Run::new();
        run.feed(page(true));
        for _ in 0..3 {
            run.probes(true);
        }
        assert_eq!(run.levels(), (Level::Operational, Level::Operational));
        run.feed(page(false));
        for _ in 0..4 {
            run.probes(false);
        }
        assert_eq!(
            run.levels(),
            (Level::Offline, Level::Offline),
            "{:?}",
            run.said
        );
        run.feed(page(true));
        run
    }
}

fn no_outage(run: &Run) {
    assert!(
        !run.said.iter().any(|s| s.contains("outage")),
        "an outage was flashed or notified: {:?}",
        run.said
    );
}

#[test]
fn the_network_coming_back_flashes_no_outage_for_the_api_or_a_model() {
    let mut run = Run::down_and_back();
    // The API answers again before the model is probed: the model's timeouts are the network's.
    run.feed(Observation::Probe {
        result: result(second(run.clock + 5), None, true),
    });
    let (api, model) = run.levels();
    assert_ne!(api, Level::Outage, "{:?}", run.said);
    assert_ne!(model, Level::Outage, "{:?}", run.said);
    // The model answers too: everything is operational again, and nothing said "outage".
    for _ in 0..3 {
        run.probes(true);
    }
    assert_eq!(run.levels(), (Level::Operational, Level::Operational));
    no_outage(&run);
}

#[test]
fn a_probe_slowed_by_the_network_coming_back_flashes_no_outage() {
    let mut run = Run::down_and_back();
    // The model's probe began while nothing answered, waited for its connection, and went
    // through when the network came back: late (the fault case saw 3.5 s), not unanswered.
    let mut slow = result(second(run.clock - 2), Some(HAIKU), true);
    slow.ttft_ms = Some(3_500);
    slow.latency_ms = Some(3_100);
    run.feed(Observation::Probe { result: slow });
    run.feed(Observation::Probe {
        result: result(second(run.clock + 5), None, true),
    });
    let (_, model) = run.levels();
    assert_ne!(model, Level::Outage, "{:?}", run.said);
    for _ in 0..3 {
        run.probes(true);
    }
    assert_eq!(run.levels(), (Level::Operational, Level::Operational));
    no_outage(&run);
}

#[test]
fn a_model_still_unanswered_after_the_network_is_back_is_its_own_trouble() {
    let mut run = Run::down_and_back();
    for _ in 0..3 {
        run.feed(Observation::Probe {
            result: result(second(run.clock + 5), None, true),
        });
        run.feed(Observation::Probe {
            result: result(second(run.clock + 5), Some(HAIKU), false),
        });
    }
    let (api, model) = run.levels();
    assert_eq!(api, Level::Outage, "{:?}", run.said);
    assert_eq!(model, Level::Outage, "{:?}", run.said);
}
