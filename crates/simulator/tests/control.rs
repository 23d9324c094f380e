//! The simulator's own surface: the `/_sim/` control paths, byte and request counters, scenario switching.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use claude_status_simulator::{scenario_names, start, Clock, SimState, Stats};
use common::{client, sim};

#[tokio::test]
async fn scenario_list_has_every_named_scenario() {
    let names: Vec<&str> = scenario_names().into_iter().map(|(name, _)| name).collect();
    for expected in [
        "operational",
        "incident",
        "maintenance",
        "bot-challenge",
        "slow-status",
        "garbage-status",
        "healthy",
        "overload-storm",
        "model-overload",
        "all-models-storm",
        "stream-overload",
        "rate-limited",
        "spend-cap",
        "outage",
        "slow",
        "flapping",
        "resets",
        "garbage-api",
        "storm-then-incident",
        "demo",
    ] {
        assert!(names.contains(&expected), "{expected}");
    }
    assert!(scenario_names()
        .iter()
        .all(|(_, description)| !description.is_empty()));
    assert!(start("nope", Clock::Manual).await.is_err());
}

#[tokio::test]
async fn control_paths_drive_the_story() {
    let sim = sim("incident").await;
    let client = client();
    let base = sim.base_url();

    let state: SimState = client
        .post(format!("{base}/_sim/advance?seconds=150"))
        .send()
        .await
        .expect("advance")
        .json()
        .await
        .expect("state");
    assert_eq!(state.scenario, "incident");
    assert_eq!(state.story_time_seconds, 150.0);
    assert!(state.phase.contains("investigating"), "{}", state.phase);
    assert_eq!(sim.story_time(), Duration::from_secs(150));

    let state: SimState = client
        .get(format!("{base}/_sim/state"))
        .send()
        .await
        .expect("state")
        .json()
        .await
        .expect("state");
    assert_eq!(state.clock, "manual");
    assert_eq!(state.status_indicator, "minor");

    let switched: SimState = client
        .post(format!("{base}/_sim/scenario?name=maintenance"))
        .send()
        .await
        .expect("switch")
        .json()
        .await
        .expect("state");
    assert_eq!(switched.scenario, "maintenance");
    assert_eq!(
        switched.story_time_seconds, 0.0,
        "switching restarts the story"
    );

    let unknown = client
        .post(format!("{base}/_sim/scenario?name=nope"))
        .send()
        .await
        .expect("switch");
    assert_eq!(unknown.status(), 404);
    let bad = client
        .post(format!("{base}/_sim/advance?seconds=-3"))
        .send()
        .await
        .expect("advance");
    assert_eq!(bad.status(), 400);

    // Control requests are not counted as traffic.
    let stats: Stats = client
        .get(format!("{base}/_sim/stats"))
        .send()
        .await
        .expect("stats")
        .json()
        .await
        .expect("stats");
    assert_eq!(stats.requests_total, 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn byte_counters_count_the_wire() {
    let sim = sim("operational").await;
    let client = client();
    let url = format!("{}/api/v2/summary.json", sim.base_url());

    let before = sim.stats();
    let response = client.get(&url).send().await.expect("poll");
    let etag = response.headers()["etag"]
        .to_str()
        .expect("etag")
        .to_owned();
    let body = response.bytes().await.expect("body");
    let after_full = sim.stats();
    let full_cost = after_full.bytes_written - before.bytes_written;
    // The wire carries the body plus the status line and headers.
    assert!(
        full_cost > body.len() as u64,
        "{full_cost} vs {}",
        body.len()
    );
    assert!(full_cost < body.len() as u64 + 1024);
    assert!(
        after_full.bytes_read > before.bytes_read,
        "the request was read"
    );

    client
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("conditional poll");
    let after_304 = sim.stats();
    let cached_cost = after_304.bytes_written - after_full.bytes_written;
    assert!(
        cached_cost < 1024,
        "a 304 costs only headers: {cached_cost}"
    );
    assert!(cached_cost * 2 < full_cost);

    assert_eq!(after_304.requests_total, 2);
    assert_eq!(after_304.not_modified, 1);
    assert_eq!(after_304.responses_by_status.get(&200), Some(&1));
    assert_eq!(after_304.responses_by_status.get(&304), Some(&1));
    // reqwest kept the connection alive between the two polls.
    assert_eq!(after_304.connections_accepted, 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn real_clock_runs_at_its_speed() {
    let sim = start("demo", Clock::Real { speed: 100.0 })
        .await
        .expect("starts");
    tokio::time::sleep(Duration::from_millis(250)).await;
    let story = sim.story_time();
    assert!(story >= Duration::from_secs(20), "{story:?}");
    assert!(story < Duration::from_secs(120), "{story:?}");
    sim.advance(Duration::from_secs(1000));
    assert!(sim.story_time() >= Duration::from_secs(1020));
    sim.shutdown().await;
}
