//! Runs the local gateway inside the app while the settings ask for it.
//!
//! The gateway lives apart from the engine. A settings change that does not touch the gateway
//! (the probe interval, a budget) restarts the engine but leaves the user's open connections and
//! streams alone; the gateway is only restarted when its own settings or its upstream change.
//! Its metered traffic reaches whichever engine runs now through a relay task, which reads the
//! current engine's observation sender from the app state for each batch.

use std::sync::Arc;
use std::time::Duration;

use claude_status_core::monitor::Observation;
use claude_status_core::retry::RetryPolicy;
use claude_status_core::settings::Settings;
use claude_status_engine::gateway::{Gateway, GatewayConfig};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::state::{lock, AppState, RunningGateway};

/// How long a stopping gateway may take to let in-flight answers finish and release its port.
const STOP_WAIT: Duration = Duration::from_secs(10);

/// Metered batches waiting for the relay; the gateway's writer waits when it is full, which only
/// slows metering, never a client.
const RELAY_QUEUE: usize = 256;

/// What a running gateway was started with: a change of any part restarts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayKey {
    port: u16,
    upstream: String,
    retry: bool,
    fallback: Vec<String>,
}

impl GatewayKey {
    fn new(settings: &Settings, upstream: &str) -> GatewayKey {
        GatewayKey {
            port: settings.gateway_port,
            upstream: upstream.to_owned(),
            retry: settings.gateway_retry,
            fallback: settings.gateway_fallback.clone(),
        }
    }
}

/// The running gateway's task and the token that stops it.
#[derive(Debug)]
pub struct GatewayControl {
    key: GatewayKey,
    shutdown: CancellationToken,
    task: tauri::async_runtime::JoinHandle<()>,
}

/// Starts, restarts or stops the gateway to match `settings`. A gateway that failed to start
/// (its port taken) is tried again on every call, so fixing the cause and saving any setting
/// brings it up.
pub async fn apply(state: &Arc<AppState>, settings: &Settings, upstream: &str) {
    let mut control = state.gateway_control.lock().await;
    let wanted = settings
        .gateway
        .then(|| GatewayKey::new(settings, upstream));
    if let (Some(current), Some(wanted)) = (control.as_ref(), wanted.as_ref()) {
        if current.key == *wanted && !current.task.inner().is_finished() {
            return;
        }
    }
    if let Some(old) = control.take() {
        old.shutdown.cancel();
        if tokio::time::timeout(STOP_WAIT, old.task).await.is_err() {
            tracing::warn!("the gateway did not stop within {STOP_WAIT:?}");
        }
    }
    *lock(&state.gateway) = None;
    let Some(key) = wanted else {
        return;
    };
    match start(state, &key).await {
        Ok((running, started)) => {
            *lock(&state.gateway) = Some(Ok(running));
            *control = Some(started);
        }
        Err(error) => {
            tracing::warn!("the gateway could not start: {error}");
            *lock(&state.gateway) = Some(Err(error));
        }
    }
}

/// Binds the gateway and runs it with a relay into the current engine.
async fn start(
    state: &Arc<AppState>,
    key: &GatewayKey,
) -> Result<(RunningGateway, GatewayControl), String> {
    let (relay_tx, relay_rx) = mpsc::channel(RELAY_QUEUE);
    let config = GatewayConfig {
        listen: std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, key.port)),
        upstream: key.upstream.clone(),
        retry: key.retry.then(RetryPolicy::default),
        fallback: key.fallback.clone(),
        store: Some(state.store.clone()),
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
    tauri::async_runtime::spawn(relay(Arc::clone(state), relay_rx));
    let shutdown = CancellationToken::new();
    let token = shutdown.clone();
    let task = tauri::async_runtime::spawn(async move {
        if let Err(e) = gateway.run(token).await {
            tracing::warn!("the gateway stopped: {e}");
        }
    });
    Ok((
        running,
        GatewayControl {
            key: key.clone(),
            shutdown,
            task,
        },
    ))
}

/// Hands the gateway's observations to the engine that runs now; ends when the gateway has
/// stopped and flushed its last records.
async fn relay(state: Arc<AppState>, mut observations: mpsc::Receiver<Observation>) {
    while let Some(observation) = observations.recv().await {
        let target = lock(&state.engine_observations).clone();
        if let Some(target) = target {
            // An engine that has just stopped drops this batch; the ledger already has it.
            let _ = target.send(observation).await;
        }
    }
}
