//! A fake Claude API and a fake Atlassian Statuspage for status.claude.com, served by one axum
//! server and driven by scripted scenarios over story time.
//!
//! Tests start it on `127.0.0.1:0` with a manual clock and move the story with
//! [`SimHandle::advance`]; the tray's demo mode runs the `demo` scenario in real time.

mod admin_routes;
mod api;
mod clock;
mod error;
mod ids;
mod models;
mod net;
mod prompt_cache;
mod scenario;
mod server;
mod stats;
mod status_routes;
mod statuspage;

use std::net::SocketAddr;

pub use clock::Clock;
pub use error::{Error, Result, UnknownScenario};
pub use models::minimum_cacheable_tokens;
pub use prompt_cache::{input_tokens, prefix_tokens, BlockLocation, PrefixPoint};
pub use server::{SimHandle, SimState, Simulator};
pub use stats::{ModelCounts, Stats};

/// Starts `scenario` on `127.0.0.1` with a port the OS picks.
pub async fn start(scenario: &str, clock: Clock) -> anyhow::Result<SimHandle> {
    Simulator::new(scenario).clock(clock).start().await
}

/// Starts `scenario` on `addr`.
pub async fn start_on(addr: SocketAddr, scenario: &str, clock: Clock) -> anyhow::Result<SimHandle> {
    Simulator::new(scenario).clock(clock).start_on(addr).await
}

/// Every scenario as (name, one-line description), in a stable order.
pub fn scenario_names() -> Vec<(&'static str, &'static str)> {
    scenario::Scenario::ALL
        .into_iter()
        .map(|scenario| (scenario.name(), scenario.description()))
        .collect()
}
