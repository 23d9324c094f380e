//! Runs the local gateway inside the service while the settings ask for it.
//!
//! The gateway lives apart from the engine. A settings change that does not touch the gateway
//! (the probe interval, a budget) restarts the engine but leaves the user's open connections and
//! streams alone; the gateway is only restarted when its own settings or its upstream change.
//! Its metered traffic reaches whichever engine runs now through a relay task, which reads the
//! current engine's observation sender for each batch.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use claude_status_core::fallback::Provider;
use claude_status_core::monitor::Observation;
use claude_status_core::report::Snapshot;
use claude_status_core::retry::RetryPolicy;
use claude_status_core::settings::Settings;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::{lock_ok, Secrets};
use crate::gateway::{Gateway, GatewayConfig, GatewayStatsHandle, ProviderEndpoint, ProviderKey};
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
#[derive(Debug, Clone, PartialEq)]
struct GatewayKey {
    bind: std::net::IpAddr,
    allow_remote: bool,
    port: u16,
    upstream: String,
    retry: bool,
    fallback: Vec<String>,
    fallback_after_secs: u64,
    allowed_origins: Vec<String>,
    count_prefix_tokens: bool,
    /// The chain's other providers with their base URLs and keys (a key stored from Settings
    /// restarts the gateway with it; `ProviderKey` never prints one).
    providers: Vec<(Provider, String, Option<ProviderKey>)>,
}

impl GatewayKey {
    fn new(settings: &Settings, upstream: &str, secrets: &dyn Secrets) -> GatewayKey {
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
            fallback_after_secs: settings.gateway_fallback_after_secs,
            allowed_origins: settings.gateway_allowed_origins.clone(),
            count_prefix_tokens: settings.advisor_count_tokens,
            providers: provider_endpoints(settings, secrets),
        }
    }
}

/// The base URL and key of each other provider the chain names: a declared URL (Settings'
/// `gateway_providers`), else `OPENAI_BASE_URL` / `GEMINI_BASE_URL`, else the provider's
/// default; the key from the keychain, else the environment. A provider without a URL is left
/// out, and the gateway's start then says which one is missing. Blocking (the keychain).
fn provider_endpoints(
    settings: &Settings,
    secrets: &dyn Secrets,
) -> Vec<(Provider, String, Option<ProviderKey>)> {
    let Ok(chain) = claude_status_core::fallback::parse_chain(&settings.gateway_fallback) else {
        return Vec::new();
    };
    let mut endpoints: Vec<(Provider, String, Option<ProviderKey>)> = Vec::new();
    for target in &chain {
        let Some(provider) = target.provider() else {
            continue;
        };
        if endpoints.iter().any(|(p, _, _)| p == provider) {
            continue;
        }
        let declared = settings
            .gateway_providers
            .iter()
            .find(|p| match provider {
                Provider::OpenAi => p.name == "openai",
                Provider::Gemini => p.name == "gemini",
                Provider::Compatible(name) => &p.name == name,
            })
            .map(|p| p.base_url.trim().to_owned());
        let url = declared
            .or_else(|| {
                provider
                    .base_url_env()
                    .and_then(|var| std::env::var(var).ok())
                    .filter(|v| !v.trim().is_empty())
            })
            .or_else(|| provider.default_base_url().map(str::to_owned));
        let Some(url) = url else {
            continue;
        };
        let key = super::provider_keys::provider_key(secrets, provider)
            .and_then(|(key, _)| ProviderKey::new(&key));
        endpoints.push((provider.clone(), url, key));
    }
    endpoints
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
    #[allow(clippy::too_many_arguments)] // The service's parts the gateway joins up, each once.
    pub async fn apply(
        &self,
        settings: &Settings,
        upstream: &str,
        store: &Arc<Store>,
        engine: &EngineInput,
        metrics: &Arc<crate::metrics::Metrics>,
        secrets: &Arc<dyn Secrets>,
        verdicts: watch::Receiver<Snapshot>,
        data_dir: &std::path::Path,
    ) {
        let mut control = self.control.lock().await;
        let wanted = if settings.gateway {
            let (settings, upstream, secrets) =
                (settings.clone(), upstream.to_owned(), Arc::clone(secrets));
            tokio::task::spawn_blocking(move || {
                GatewayKey::new(&settings, &upstream, secrets.as_ref())
            })
            .await
            .ok()
        } else {
            None
        };
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
        match start(&key, store, engine, metrics, verdicts, data_dir).await {
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
    verdicts: watch::Receiver<Snapshot>,
    data_dir: &std::path::Path,
) -> Result<(RunningGateway, Control), String> {
    // Remote access needs the access token; it is read from (or made in) its 0600 file, and only
    // the file's path is ever logged.
    let token = if key.allow_remote {
        let path = crate::gateway::token::token_path(data_dir);
        let (token, made) =
            crate::gateway::token::load_or_create(&path).map_err(|e| e.to_string())?;
        tracing::info!(
            "gateway: remote access is on; every request needs the header \
             x-claude-status-token with the token in {}{}",
            path.display(),
            if made { " (made now)" } else { "" }
        );
        Some(token)
    } else {
        None
    };
    let (relay_tx, relay_rx) = mpsc::channel(RELAY_QUEUE);
    let providers = key
        .providers
        .iter()
        .map(|(provider, base_url, key)| ProviderEndpoint {
            provider: provider.clone(),
            base_url: base_url.clone(),
            key: key.clone(),
        })
        .collect();
    let config = GatewayConfig {
        listen: std::net::SocketAddr::new(key.bind, key.port),
        allow_remote: key.allow_remote,
        allowed_origins: key.allowed_origins.clone(),
        token,
        metrics: Some(Arc::clone(metrics)),
        upstream: key.upstream.clone(),
        retry: key.retry.then(RetryPolicy::default),
        fallback: key.fallback.clone(),
        fallback_after: Duration::from_secs(key.fallback_after_secs),
        providers,
        // The per-model verdicts the tray shows, across engine restarts.
        verdicts: Some(verdicts),
        catalog: Some(metrics.catalog()),
        store: Some(store.clone()),
        observations: Some(relay_tx),
        prefix_key: advisor_key(data_dir),
        count_prefix_tokens: key.count_prefix_tokens,
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

/// The installation's prefix key for the prompt-cache advisor; without one (a data directory that
/// cannot be written) the gateway hashes under a key of this run, and says so once.
pub fn advisor_key(data_dir: &std::path::Path) -> Option<crate::gateway::prefix::PrefixKey> {
    match crate::gateway::prefix::PrefixKey::load_or_create(data_dir) {
        Ok(key) => Some(key),
        Err(e) => {
            tracing::warn!(
                "the prompt-cache advisor's key could not be kept in {}: {e}; prefixes are \
                 hashed under a key of this run only, so the advice restarts with the gateway",
                data_dir.display()
            );
            None
        }
    }
}
