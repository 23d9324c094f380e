//! Simulators that answer at once, their story clock stopped: for the gateway's, the metrics'
//! and the service's tests and the `gateway_load` example. Included by path (`#[path]`) by the
//! tests and examples that use it, so the other tests do not compile it.

use std::time::Duration;

use claude_status_simulator::{Clock, SimHandle, Simulator};

/// A simulator on `scenario` that answers at once (no time to first token, no gap between
/// tokens), its story clock stopped (manual).
pub async fn fast_sim(scenario: &str) -> SimHandle {
    Simulator::new(scenario)
        .clock(Clock::Manual)
        .time_to_first_token(Duration::ZERO)
        .token_interval(Duration::ZERO)
        .start()
        .await
        .unwrap()
}

/// A simulator whose Opus 5.5 answers every Messages call with 529 (story minute 4 of
/// `model-overload`), count_tokens and other models fine.
#[allow(dead_code)] // Not every includer needs an overload.
pub async fn overloaded_opus() -> SimHandle {
    let sim = fast_sim("model-overload").await;
    sim.advance(Duration::from_secs(4 * 60));
    sim
}
