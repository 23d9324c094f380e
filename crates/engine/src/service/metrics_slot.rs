//! Serves the Prometheus metrics from the service while the `metrics_addr` setting asks for it,
//! restarting the endpoint only when its address (or `allow_remote`) changes.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use claude_status_core::settings::Settings;
use tokio_util::sync::CancellationToken;

use super::lock_ok;
use crate::metrics::{Metrics, MetricsServer};

/// The running endpoint, keyed by what it was started with.
#[derive(Debug)]
struct Running {
    key: (SocketAddr, bool),
    shutdown: CancellationToken,
}

/// The service's `/metrics` endpoint: off, serving, or why it could not start.
#[derive(Debug, Default)]
pub struct MetricsSlot {
    running: tokio::sync::Mutex<Option<Running>>,
    /// `http://ADDR/metrics`, or why it could not be served; `None` while off.
    view: Mutex<Option<Result<String, String>>>,
}

impl MetricsSlot {
    /// Starts, moves or stops the endpoint to match `settings`. One that failed to start (its
    /// port taken) is tried again on every call.
    pub async fn apply(&self, settings: &Settings, metrics: &Arc<Metrics>) {
        let mut running = self.running.lock().await;
        let wanted = match settings.metrics_addr.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => match text.parse::<SocketAddr>() {
                Ok(addr) => Some((addr, settings.allow_remote)),
                Err(_) => {
                    // `Settings::validate` refuses this already; a hand-edited file can still
                    // hold it.
                    if let Some(old) = running.take() {
                        old.shutdown.cancel();
                    }
                    *lock_ok(&self.view) = Some(Err(format!(
                        "metrics_addr {text:?} is not an address with a port"
                    )));
                    return;
                }
            },
        };
        let serving = lock_ok(&self.view).as_ref().is_some_and(Result::is_ok);
        if let (Some(current), Some(wanted)) = (running.as_ref(), wanted) {
            if current.key == wanted && serving {
                return;
            }
        }
        if let Some(old) = running.take() {
            old.shutdown.cancel();
        }
        *lock_ok(&self.view) = None;
        let Some(key) = wanted else {
            return;
        };
        match MetricsServer::bind(key.0, key.1, Arc::clone(metrics)).await {
            Ok(server) => {
                let url = format!("http://{}/metrics", server.addr());
                tracing::info!("metrics served at {url}");
                let shutdown = CancellationToken::new();
                tokio::spawn(server.run(shutdown.clone()));
                *running = Some(Running { key, shutdown });
                *lock_ok(&self.view) = Some(Ok(url));
            }
            Err(error) => {
                tracing::warn!("the metrics could not be served: {error}");
                *lock_ok(&self.view) = Some(Err(error.to_string()));
            }
        }
    }

    /// Stops the endpoint.
    pub async fn stop(&self) {
        if let Some(old) = self.running.lock().await.take() {
            old.shutdown.cancel();
        }
        *lock_ok(&self.view) = None;
    }

    /// The endpoint's URL, or why it is not served; `None` while off.
    pub fn view(&self) -> Option<Result<String, String>> {
        lock_ok(&self.view).clone()
    }
}
