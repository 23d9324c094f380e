//! The retry helper against the simulator: it retries what the SDKs retry, honours the server's
//! delay, never retries the spend cap or client errors, and stays within its budget.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use claude_status_core::probe::ProbeOutcome;
use claude_status_core::retry::RetryPolicy;
use claude_status_engine::retry::send_with_retries;
use claude_status_simulator::{Clock, Simulator};

fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        initial: Duration::from_millis(10),
        max_delay: Duration::from_millis(40),
        max_total: Duration::from_secs(5),
        ..RetryPolicy::default()
    }
}

async fn call(scenario: &str, policy: RetryPolicy) -> claude_status_engine::retry::Retried {
    let sim = Simulator::new(scenario)
        .clock(Clock::Manual)
        .start()
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let url = format!("{}/v1/models", sim.base_url());
    let retried = send_with_retries(&policy, true, 1 << 20, || {
        client.get(&url).header("x-api-key", "sk-ant-test").send()
    })
    .await;
    sim.shutdown().await;
    retried
}

fn outcomes(retried: &claude_status_engine::retry::Retried) -> Vec<ProbeOutcome> {
    retried
        .attempts
        .iter()
        .map(|a| a.classification.outcome)
        .collect()
}

#[tokio::test]
async fn a_529_is_retried_and_the_next_success_ends_the_call() {
    // The flapping scenario answers 200 and 529 in turn; whichever comes first, the call ends ok.
    let retried = call("flapping", fast_policy()).await;
    assert_eq!(retried.last().unwrap().outcome, ProbeOutcome::Ok);
    assert!(retried.attempts.len() <= 2, "{:?}", outcomes(&retried));
    assert!(retried.reply.is_some());
}

#[tokio::test]
async fn a_persistent_outage_uses_every_retry_then_gives_up() {
    let retried = call("outage", fast_policy()).await;
    assert_eq!(outcomes(&retried), vec![ProbeOutcome::ServerError; 3]);
    assert_eq!(retried.stopped, "no retries left");
    assert!(retried.attempts[..2].iter().all(|a| a.waited.is_some()));
}

#[tokio::test]
async fn the_spend_cap_and_client_errors_are_never_retried() {
    let retried = call("spend-cap", fast_policy()).await;
    assert_eq!(outcomes(&retried), vec![ProbeOutcome::SpendCap]);
    let retried = call("billing", fast_policy()).await;
    assert_eq!(outcomes(&retried), vec![ProbeOutcome::Billing]);
}

#[tokio::test]
async fn a_retry_after_beyond_the_budget_gives_up_at_once() {
    // The rate-limited scenario asks for 20 s; a 5 s budget cannot wait that long.
    let started = Instant::now();
    let retried = call("rate-limited", fast_policy()).await;
    assert_eq!(outcomes(&retried), vec![ProbeOutcome::RateLimited]);
    assert_eq!(
        retried.stopped,
        "the next wait would overrun the time budget"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn connection_resets_are_retried() {
    let retried = call("resets", fast_policy()).await;
    assert_eq!(outcomes(&retried), vec![ProbeOutcome::Network; 3]);
}
