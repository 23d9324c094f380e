//! Helpers shared by the simulator's integration tests: a manual-clock simulator and a client that never uses a proxy.
#![allow(dead_code)]

use std::time::Duration;

use claude_status_simulator::{Clock, SimHandle, Simulator};
use serde_json::Value;

/// A simulator on 127.0.0.1:0 with a manual clock and short delays, so no test waits long.
pub async fn sim(scenario: &str) -> SimHandle {
    Simulator::new(scenario)
        .clock(Clock::Manual)
        .slow_status_delay(Duration::from_millis(300))
        .slow_api_delay(Duration::from_millis(300))
        .time_to_first_token(Duration::from_millis(5))
        .token_interval(Duration::from_millis(1))
        .start()
        .await
        .expect("simulator starts")
}

/// A client that ignores proxy settings from the environment, so it always talks to 127.0.0.1.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client builds")
}

pub async fn get_json(sim: &SimHandle, path: &str) -> Value {
    let response = client()
        .get(format!("{}{path}", sim.base_url()))
        .send()
        .await
        .expect("request succeeds");
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.expect("JSON body")
}

pub fn minutes(m: u64) -> Duration {
    Duration::from_secs(m * 60)
}

/// Moves the story to exactly `at` from wherever it is.
pub fn goto(sim: &SimHandle, at: Duration) {
    let now = sim.story_time();
    assert!(at >= now, "cannot go back in story time");
    sim.advance(at - now);
}
