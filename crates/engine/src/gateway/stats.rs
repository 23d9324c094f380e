//! The gateway's live counters, for the tray and `claude-status proxy`: how many requests, how
//! they ended, how many retries and fallbacks, how many connections are open.
//!
//! They are atomics bumped on the request path (a relaxed increment costs nanoseconds) and read
//! as one [`GatewayStats`] snapshot; the counts are not taken under one lock, so a snapshot may
//! be a request apart between fields, which no display can notice.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use claude_status_core::gateway::ServedElsewhere;
pub use claude_status_core::gateway::{GatewayStats, OutcomeCounts};

/// What the gateway itself answered, when it did not forward an upstream answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OwnAnswer {
    Unreachable,
    TimedOut,
    TooLarge,
    NotForwarded,
    Refused,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    requests: AtomicU64,
    in_flight: AtomicU64,
    active_connections: AtomicU64,
    connections: AtomicU64,
    ok: AtomicU64,
    client_error: AtomicU64,
    rate_limited: AtomicU64,
    overloaded: AtomicU64,
    server_error: AtomicU64,
    unreachable: AtomicU64,
    timed_out: AtomicU64,
    too_large: AtomicU64,
    not_forwarded: AtomicU64,
    refused: AtomicU64,
    pub(crate) upstream_attempts: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) fallbacks: AtomicU64,
    pub(crate) provider_fallbacks: AtomicU64,
    pub(crate) not_translated: AtomicU64,
    pub(crate) stream_errors: AtomicU64,
    pub(crate) client_disconnects: AtomicU64,
    pub(crate) upstream_broken: AtomicU64,
    pub(crate) metered: AtomicU64,
    pub(crate) metering_dropped: AtomicU64,
    pub(crate) ledger_errors: AtomicU64,
}

pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    /// Counts a request and holds it in flight until the guard drops.
    pub(crate) fn request_started(self: &Arc<Self>) -> Gauge {
        bump(&self.requests);
        Gauge::new(Arc::clone(self), |c| &c.in_flight)
    }

    /// Counts a connection and holds it open until the guard drops.
    pub(crate) fn connection_opened(self: &Arc<Self>) -> Gauge {
        bump(&self.connections);
        Gauge::new(Arc::clone(self), |c| &c.active_connections)
    }

    /// Counts the status an upstream answer was forwarded with.
    pub(crate) fn forwarded(&self, status: u16) {
        bump(match status {
            429 => &self.rate_limited,
            529 => &self.overloaded,
            400..=499 => &self.client_error,
            500..=599 => &self.server_error,
            _ => &self.ok,
        });
    }

    pub(crate) fn answered_ourselves(&self, answer: OwnAnswer) {
        bump(match answer {
            OwnAnswer::Unreachable => &self.unreachable,
            OwnAnswer::TimedOut => &self.timed_out,
            OwnAnswer::TooLarge => &self.too_large,
            OwnAnswer::NotForwarded => &self.not_forwarded,
            OwnAnswer::Refused => &self.refused,
        });
    }

    pub(crate) fn snapshot(&self) -> GatewayStats {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        GatewayStats {
            requests: get(&self.requests),
            in_flight: get(&self.in_flight),
            active_connections: get(&self.active_connections),
            connections: get(&self.connections),
            outcomes: OutcomeCounts {
                ok: get(&self.ok),
                client_error: get(&self.client_error),
                rate_limited: get(&self.rate_limited),
                overloaded: get(&self.overloaded),
                server_error: get(&self.server_error),
                unreachable: get(&self.unreachable),
                timed_out: get(&self.timed_out),
                too_large: get(&self.too_large),
                not_forwarded: get(&self.not_forwarded),
                refused: get(&self.refused),
            },
            upstream_attempts: get(&self.upstream_attempts),
            retries: get(&self.retries),
            fallbacks: get(&self.fallbacks),
            provider_fallbacks: get(&self.provider_fallbacks),
            not_translated: get(&self.not_translated),
            stream_errors: get(&self.stream_errors),
            client_disconnects: get(&self.client_disconnects),
            upstream_broken: get(&self.upstream_broken),
            metered: get(&self.metered),
            metering_dropped: get(&self.metering_dropped),
            ledger_errors: get(&self.ledger_errors),
        }
    }
}

/// Raises a gauge for as long as it lives, so every exit path (an early return, a dropped
/// future when the client leaves) lowers it again.
#[derive(Debug)]
pub(crate) struct Gauge {
    counters: Arc<Counters>,
    field: fn(&Counters) -> &AtomicU64,
}

impl Gauge {
    fn new(counters: Arc<Counters>, field: fn(&Counters) -> &AtomicU64) -> Gauge {
        field(&counters).fetch_add(1, Ordering::Relaxed);
        Gauge { counters, field }
    }
}

impl Drop for Gauge {
    fn drop(&mut self) {
        (self.field)(&self.counters).fetch_sub(1, Ordering::Relaxed);
    }
}

/// A cheap handle to read the counters while the gateway runs (the tray keeps one).
#[derive(Debug, Clone)]
pub struct GatewayStatsHandle {
    pub(crate) counters: Arc<Counters>,
    /// The fallback to other providers, when the chain names one: its gate says which models
    /// are served elsewhere.
    pub(crate) fallback: Option<Arc<super::providers::Fallback>>,
}

impl GatewayStatsHandle {
    /// The counters now.
    pub fn snapshot(&self) -> GatewayStats {
        self.counters.snapshot()
    }

    /// The models whose requests another provider serves now.
    pub fn served_elsewhere(&self) -> Vec<ServedElsewhere> {
        self.fallback
            .as_ref()
            .map(|fallback| fallback.served_elsewhere())
            .unwrap_or_default()
    }
}
