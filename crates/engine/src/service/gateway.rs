//! Runs the local gateway inside the service while the settings ask for it.
//!
//! The gateway lives apart from the engine. A settings change that does not touch the gateway
//! (the probe interval, a budget) restarts the engine but leaves the user's open connections and
//! streams alone; the gateway is only restarted when its own settings or its upstream change.
//! Its metered traffic reaches whichever engine runs now through a relay task, which reads the
//! current engine's observation sender for each batch.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use claude_status_core::monitor::Observation;
use claude_status_core::retry::RetryPolicy;
use claude_status_core::settings::Settings;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::lock_ok;
use crate::gateway::{Gateway, GatewayConfig, GatewayStatsHandle};
use crate::store::Store;

/// How long a stopping gateway may take to let in-flight answers finish and release its port.
const STOP_WAIT: Duration = Duration::from_secs(10);

/// Metered batches waiting for the relay; the gateway's writer waits when it is full, which only
/// slows metering, never a client.
const RELAY_QUEUE: usize = 256;

/// The gateway as the dashboard and the tray see it.
#[derive(Debug, Clone)]
pub struct RunningGateway {
    /// `ANTHROPIC_BASE_URL` for the user's code.
    pub url: String,
    /// Where it forwards to.
    pub upstream: String,
    /// Its live counters.
    pub stats: GatewayStatsHandle,
}

/// What a running gateway was started with: a change of any part restarts it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct GatewayKey {
    bind: std::net::IpAddr,
    allow_remote: bool,
    port: u16,
    upstream: String,
    retry: bool,
    fallback: Vec<String>,
}

impl GatewayKey {
    fn new(settings: &Settings, upstream: &str) -> GatewayKey {
        // `Settings::validate` refuses a bind that is not an address; a hand-edited file that
        // holds one gets the loopback address, never a wider one.
        let bind = settings
            .gateway_bind
            .as_deref()
            .and_then(|bind| bind.trim().parse().ok())
            .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
        GatewayKey {
            bind,
            allow_remote: settings.allow_remote,
            port: settings.gateway_port,
            upstream: upstream.to_owned(),
            retry: settings.gateway_retry,
            fallback: settings.gateway_fallback.clone(),
        }
    }
}

/// The running gateway's task and the token that stops it.
#[derive(Debug)]
struct Control {
    key: GatewayKey,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

/// The service's gateway: its task, what the front ends see of it, and where its records go.
#[derive(Debug, Default)]
pub struct GatewaySlot {
    control: tokio::sync::Mutex<Option<Control>>,
    /// The running gateway, or why it could not start; `None` while it is off.
    pub view: Mutex<Option<Result<RunningGateway, String>>>,
}

/// Where the relay hands the gateway's observations: the engine that runs now.
pub type EngineInput = Arc<Mutex<Option<mpsc::Sender<Observation>>>>;

impl GatewaySlot {
    /// Starts, restarts or stops the gateway to match `settings`. A gateway that failed to start
    /// (its port taken) is tried again on every call, so fixing the cause and saving any setting
    /// brings it up.
    pub async fn apply(
        &self,
        settings: &Settings,
        upstream: &str,
        store: &Arc<Store>,
        engine: &EngineInput,
        metrics: &Arc<crate::metrics::Metrics>,
    ) {
        let mut control = self.control.lock().await;
        let wanted = settings
            .gateway
            .then(|| GatewayKey::new(settings, upstream));
        if let (Some(current), Some(wanted)) = (control.as_ref(), wanted.as_ref()) {
            if current.key == *wanted && !current.task.is_finished() {
                return;
            }
        }
        if let Some(old) = control.take() {
            old.shutdown.cancel();
            if tokio::time::timeout(STOP_WAIT, old.task).await.is_err() {
                tracing::warn!("the gateway did not stop within {STOP_WAIT:?}");
            }
        }
        *lock_ok(&self.view) = None;
        let Some(key) = wanted else {
            return;
        };
        match start(&key, store, engine, metrics).await {
            Ok((running, started)) => {
                *lock_ok(&self.view) = Some(Ok(running));
                *control = Some(started);
            }
            Err(error) => {
                tracing::warn!("the gateway could not start: {error}");
                *lock_ok(&self.view) = Some(Err(error));
            }
        }
    }

    /// Stops the gateway, letting in-flight answers finish (bounded).
    pub async fn stop(&self) {
        if let Some(old) = self.control.lock().await.take() {
            old.shutdown.cancel();
            let _ = tokio::time::timeout(STOP_WAIT, old.task).await;
        }
        *lock_ok(&self.view) = None;
    }

    /// What the front ends see.
    pub fn view(&self) -> Option<Result<RunningGateway, String>> {
        lock_ok(&self.view).clone()
    }
}

/// Binds the gateway and runs it with a relay into the current engine.
async fn start(
    key: &GatewayKey,
    store: &Arc<Store>,
    engine: &EngineInput,
    metrics: &Arc<crate::metrics::Metrics>,
) -> Result<(RunningGateway, Control), String> {
    let (relay_tx, relay_rx) = mpsc::channel(RELAY_QUEUE);
    let config = GatewayConfig {
        listen: std::net::SocketAddr::new(key.bind, key.port),
        allow_remote: key.allow_remote,
        metrics: Some(Arc::clone(metrics)),
        upstream: key.upstream.clone(),
        retry: key.retry.then(RetryPolicy::default),
        fallback: key.fallback.clone(),
        store: Some(store.clone()),
        observations: Some(relay_tx),
        ..GatewayConfig::default()
    };
    let gateway = Gateway::bind(config).await.map_err(|e| e.to_string())?;
    let running = RunningGateway {
        url: gateway.base_url(),
        upstream: gateway.upstream().to_owned(),
        stats: gateway.stats(),
    };
    tracing::info!("gateway listening: ANTHROPIC_BASE_URL={}", running.url);
    tokio::spawn(relay(Arc::clone(engine), relay_rx));
    let shutdown = CancellationToken::new();
    let token = shutdown.clone();
    let task = tokio::spawn(async move {
        if let Err(e) = gateway.run(token).await {
            tracing::warn!("the gateway stopped: {e}");
        }
    });
    Ok((
        running,
        Control {
            key: key.clone(),
            shutdown,
            task,
        },
    ))
}

/// Hands the gateway's observations to the engine that runs now; ends when the gateway has
/// stopped and flushed its last records.
async fn relay(engine: EngineInput, mut observations: mpsc::Receiver<Observation>) {
    while let Some(observation) = observations.recv().await {
        let target = lock_ok(&engine).clone();
        if let Some(target) = target {
            // An engine that has just stopped drops this batch; the ledger already has it.
            let _ = target.send(observation).await;
        }
    }
}
