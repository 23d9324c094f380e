//! Issue 11's regression test of the demo, which the service now plays (`service run --demo`):
//! the demo's own engine configuration, its whole story, and every snapshot on the way.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use claude_status_core::report::Snapshot;
use claude_status_core::settings::Settings;
use claude_status_core::verdict::{model_line, Answer};
use claude_status_core::Level;
use claude_status_engine::http::{build_client, HttpLimits};
use claude_status_engine::service::config::{demo_engine_config, BaseConfig};
use claude_status_engine::{Engine, Store};
use claude_status_simulator::{Clock, Simulator};

/// The demo's story (the simulator's scenario that `service run --demo` plays).
const DEMO_SCENARIO: &str = "demo";

/// Issue 11: the demo showed "Outage" in red beside "Does it hit you? No". Plays the demo's
/// whole story with the demo's own engine configuration (its fake key, so the per-model
/// probe runs) and checks every snapshot the engine publishes on the way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_11_the_demo_never_says_outage_beside_no_and_shows_the_model_overloaded() {
    let sim = Simulator::new(DEMO_SCENARIO)
        .clock(Clock::Manual)
        .start()
        .await
        .unwrap();
    let url = sim.base_url();
    let dir = tempfile::tempdir().unwrap();
    let mut base = BaseConfig::for_tests(&url, dir.path().to_path_buf());
    // The story's clock is the test's; after each step the engine is asked to check at once.
    base.interval_override = Some(Duration::from_secs(1));
    base.confirm_interval_override = Some(Duration::from_millis(100));
    let config = demo_engine_config(&base, &Settings::default(), &url);
    assert!(
        config.probes.as_ref().unwrap().streaming.is_some(),
        "the demo runs the per-model probe"
    );
    let engine = Engine::start(
        config,
        build_client(&HttpLimits::default()).unwrap(),
        Arc::new(Store::open_in_memory().unwrap()),
    )
    .unwrap();
    let mut snapshots = engine.snapshot();
    let mut seen = Seen::default();
    // The story lasts 100 s; it moves 5 s a step, and the storm lasts 40 s.
    for step in 0..22 {
        if step > 0 {
            sim.advance(Duration::from_secs(5));
            engine.check_now().await;
        }
        // Every snapshot up to one with this step's page and every followed model's probe:
        // the engine runs faster than the story's steps, so waiting for the page alone let
        // the story run past the probes.
        let asked = chrono::Utc::now();
        let give_up = tokio::time::Instant::now() + Duration::from_secs(10);
        while !{
            let snapshot = snapshots.borrow();
            snapshot
                .status_page
                .fetched_at
                .is_some_and(|at| at >= asked)
                && snapshot.checked_at.is_some_and(|at| at >= asked)
                && snapshot
                    .models
                    .iter()
                    .filter(|m| m.followed && m.probe_interval_secs.is_some())
                    .all(|m| m.last_probe.as_ref().is_some_and(|p| p.at >= asked))
        } {
            match tokio::time::timeout_at(give_up, snapshots.changed()).await {
                Ok(Ok(())) => seen.check(&snapshots.borrow_and_update(), sim.story_time()),
                _ => panic!("step {step}: the engine did not check again"),
            }
        }
    }
    // The story is over: the page's last word (resolved) reaches the engine a few polls on.
    let give_up = tokio::time::Instant::now() + Duration::from_secs(30);
    while !{
        let snapshot = snapshots.borrow();
        snapshot.level == Level::Operational
            && snapshot
                .status_page
                .incidents
                .iter()
                .all(|i| i.status.is_closed())
    } {
        match tokio::time::timeout_at(give_up, snapshots.changed()).await {
            Ok(Ok(())) => seen.check(&snapshots.borrow_and_update(), sim.story_time()),
            _ => panic!("the demo did not end operational: {:?}", seen.levels),
        }
    }
    engine.shutdown().await;
    sim.shutdown().await;
    assert_eq!(seen.warning, None, "the demo's probe watches overloads");
    assert!(
        seen.levels.contains(&Level::Overloaded),
        "the storm was not seen: {:?}",
        seen.levels
    );
    assert!(
        seen.model_lines
            .iter()
            .any(|line| line.contains(": overloaded, 529 on")),
        "{:?}",
        seen.model_lines
    );
}

/// What the demo test saw, checked snapshot by snapshot.
#[derive(Default)]
struct Seen {
    levels: Vec<Level>,
    model_lines: Vec<String>,
    warning: Option<String>,
}

impl Seen {
    fn check(&mut self, snapshot: &Snapshot, story: Duration) {
        let story = story.as_secs();
        let answer = snapshot.hits_you.answer;
        assert!(
            answer != Answer::No || snapshot.level == Level::Operational,
            "at {story} s: {:?} beside {:?}",
            snapshot.level,
            snapshot.hits_you.text
        );
        if snapshot.level == Level::Outage {
            assert!(
                matches!(answer, Answer::Yes | Answer::Probably),
                "at {story} s: outage beside {:?}",
                snapshot.hits_you.text
            );
        }
        if self.levels.last() != Some(&snapshot.level) {
            self.levels.push(snapshot.level);
        }
        for model in snapshot.models.iter().filter(|m| m.followed) {
            if model.level == Level::Overloaded {
                self.model_lines.push(model_line(model));
            }
        }
        if self.warning.is_none() {
            self.warning.clone_from(&snapshot.coverage.warning);
        }
    }
}
