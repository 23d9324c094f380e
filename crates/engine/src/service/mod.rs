//! The service: the one long-running engine per user that every front end talks to.
//!
//! `Service::start` takes the data directory's lock, reads the settings it owns, starts the
//! engine and (when enabled) the gateway, and relays the engine's snapshots and events onto
//! channels of its own that outlive engine restarts. `run` serves the control API on the socket
//! until a signal or a `stop` call. Notifications are decided here (the pause and the user's
//! switch included), so every front end that shows them shows the same ones.

pub mod calls;
pub mod config;
pub mod gateway;
pub mod lock;
pub mod metrics_slot;
pub mod probe_cost;
pub mod provider_keys;
pub mod settings_file;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use claude_status_core::report::Snapshot;
use claude_status_core::settings::Settings;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

use self::config::{engine_config, usage_config, BaseConfig, UsageSources};
use self::gateway::{EngineInput, GatewaySlot};
use self::lock::ServiceLock;
use crate::control::proto::{Event, Hello};
use crate::monitor::{Engine, EngineEvent};
use crate::probe::{ApiKey, DEFAULT_API_URL};
use crate::store::Store;

/// The keychain accounts the service reads keys from.
pub const API_KEY_ACCOUNT: &str = "anthropic-api-key";
pub const ADMIN_KEY_ACCOUNT: &str = "anthropic-admin-key";

/// The OS keychain, as the service needs it; the CLI gives it the real one (the `keyring` crate)
/// and tests an in-memory one. Calls may block: they are made off the async workers.
pub trait Secrets: Send + Sync + std::fmt::Debug + 'static {
    /// The secret of `account`, `Ok(None)` when there is none.
    fn get(&self, account: &str) -> Result<Option<String>, String>;
    /// Stores the secret of `account`, or removes it with `None`.
    fn set(&self, account: &str, secret: Option<&str>) -> Result<(), String>;
}

/// A keychain that holds nothing and refuses to store: for a service without an OS keychain.
#[derive(Debug, Default)]
pub struct NoSecrets;

impl Secrets for NoSecrets {
    fn get(&self, _account: &str) -> Result<Option<String>, String> {
        Ok(None)
    }
    fn set(&self, _account: &str, _secret: Option<&str>) -> Result<(), String> {
        Err("no OS keychain is available; set ANTHROPIC_API_KEY instead".to_owned())
    }
}

/// A keychain in memory, for tests and the demo.
#[derive(Debug, Default)]
pub struct MemorySecrets(Mutex<std::collections::BTreeMap<String, String>>);

impl Secrets for MemorySecrets {
    fn get(&self, account: &str) -> Result<Option<String>, String> {
        Ok(lock_ok(&self.0).get(account).cloned())
    }
    fn set(&self, account: &str, secret: Option<&str>) -> Result<(), String> {
        let mut map = lock_ok(&self.0);
        match secret {
            Some(secret) => map.insert(account.to_owned(), secret.to_owned()),
            None => map.remove(account),
        };
        Ok(())
    }
}

/// Where the API key in use comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeySource {
    Keychain,
    Environment,
    None,
}

/// The settings as front ends see them: never a key, only whether there is one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettingsView {
    pub settings: Settings,
    pub api_key_configured: bool,
    pub api_key_source: KeySource,
    /// Whether an Admin API key is known (keychain or `ANTHROPIC_ADMIN_KEY`); never the key.
    pub admin_key_configured: bool,
    /// The running gateway's `ANTHROPIC_BASE_URL`, when it runs.
    pub gateway_url: Option<String>,
    /// Why the gateway could not start (its port taken, …), when it could not.
    pub gateway_error: Option<String>,
    /// Where the Prometheus metrics are served (`http://ADDR/metrics`), when they are.
    #[serde(default)]
    pub metrics_url: Option<String>,
    /// Why the metrics could not be served (the address taken, …), when they could not.
    #[serde(default)]
    pub metrics_error: Option<String>,
    /// Until when notifications are paused, when they are.
    #[serde(default)]
    pub notifications_paused_until: Option<DateTime<Utc>>,
}

/// How to start a service.
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    pub base: BaseConfig,
    /// The control socket (or pipe name).
    pub socket: PathBuf,
    /// The tray app's old settings store, carried over once when the service has none.
    pub legacy_settings: Option<PathBuf>,
}

/// Called when `launch_at_login` changes: installs or removes the login item. The CLI gives the
/// real one (`service install` / `uninstall`); tests and the demo none.
pub type LoginItem = Arc<dyn Fn(bool) -> Result<(), String> + Send + Sync>;

/// A running service.
pub struct Service {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("socket", &self.inner.options.socket)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    pub(crate) options: ServiceOptions,
    pub(crate) store: Arc<Store>,
    pub(crate) http: reqwest::Client,
    pub(crate) secrets: Arc<dyn Secrets>,
    pub(crate) login_item: Option<LoginItem>,
    pub(crate) settings: Mutex<Settings>,
    pub(crate) key_source: Mutex<KeySource>,
    pub(crate) admin_key_configured: Mutex<bool>,
    pub(crate) engine: tokio::sync::Mutex<Option<Engine>>,
    pub(crate) engine_input: EngineInput,
    pub(crate) gateway: GatewaySlot,
    /// Direct alert routing (`alerting`), fed by the relay; it outlives engine restarts so a
    /// settings change neither drops its queues nor forgets its counters.
    pub(crate) alerting: crate::alerting::Dispatcher,
    /// The Prometheus metrics, kept across engine restarts so the counters keep counting.
    pub(crate) metrics: Arc<crate::metrics::Metrics>,
    pub(crate) metrics_server: metrics_slot::MetricsSlot,
    pub(crate) snapshot: watch::Sender<Snapshot>,
    pub(crate) events: broadcast::Sender<Event>,
    pub(crate) paused_until: Mutex<Option<DateTime<Utc>>>,
    pub(crate) probe_cost_announced: AtomicBool,
    /// The damaged database this start moved aside, until a front end has been told (once).
    store_recovered: Mutex<Option<crate::store::Recovered>>,
    pub(crate) started_at: DateTime<Utc>,
    pub(crate) shutdown: CancellationToken,
    /// Held while the service serves; released when it has stopped its engine and gateway,
    /// whatever tasks still hold a reference to this state for a moment longer.
    lock: Mutex<Option<ServiceLock>>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("socket", &self.options.socket)
            .field("data_dir", &self.options.base.data_dir)
            .finish_non_exhaustive()
    }
}

/// Locks a mutex, recovering it if a panic poisoned it: every value behind these locks is whole
/// after any single assignment, so the data is still good.
pub(crate) fn lock_ok<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How long the service waits at start for another program to release a lock on the database
/// before it starts with its history in memory for the rest of its run.
const STORE_LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_secs(30);

/// Opens the service's store. A database another program holds locked (a backup, a `sqlite3`
/// shell) is waited for, up to [`STORE_LOCK_PATIENCE`]: unlike `check`, which answers at once
/// with its history in memory, the service runs for days, and a lock held for a few seconds at
/// login must not cost it the history of all of them. Past the patience it monitors without
/// history, and says so, rather than exit and be restarted into the same lock.
async fn open_store(path: &std::path::Path) -> crate::Result<Store> {
    let started = std::time::Instant::now();
    let mut said = false;
    loop {
        match Store::open(path) {
            Err(crate::Error::StoreLocked(why)) if started.elapsed() < STORE_LOCK_PATIENCE => {
                // Once: each attempt itself waits the busy timeout, and the same line every few
                // seconds would only fill the log.
                if !std::mem::replace(&mut said, true) {
                    tracing::warn!(
                        "waiting up to {} s for the history database: {why}",
                        STORE_LOCK_PATIENCE.as_secs()
                    );
                }
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            Ok(store) => return Ok(store),
            // A place that cannot be written, a lock held past the patience: the store lives in
            // memory and says why.
            Err(_) => return Store::open_or_in_memory(path),
        }
    }
}

/// Events a slow subscriber may fall behind by before it gets `lagged`.
const EVENT_QUEUE: usize = 256;

impl Service {
    /// Takes the lock, reads the settings, and starts the engine and the gateway.
    pub async fn start(
        options: ServiceOptions,
        secrets: Arc<dyn Secrets>,
        login_item: Option<LoginItem>,
    ) -> crate::Result<Service> {
        let lock = ServiceLock::acquire(&options.base.data_dir)
            .map_err(|e| crate::Error::Config(e.to_string()))?;
        // A data directory the service cannot write (read-only, another user's, a full disk)
        // costs the history, not the monitoring: the store then lives in memory and says so.
        let store = open_store(&Store::default_path(&options.base.data_dir)).await?;
        let http = crate::http::build_client(&crate::http::HttpLimits::default())?;
        let data_dir = options.base.data_dir.clone();
        let legacy = options.legacy_settings.clone();
        let settings =
            tokio::task::spawn_blocking(move || settings_file::load(&data_dir, legacy.as_deref()))
                .await
                .unwrap_or_default();
        let (snapshot, _) = watch::channel(Snapshot::initial());
        let (events, _) = broadcast::channel(EVENT_QUEUE);
        let store_recovered = Mutex::new(store.recovered().cloned());
        let store = Arc::new(store);
        let alerting = start_alerting(&options, &settings, &secrets, &http, &store);
        let inner = Arc::new(Inner {
            options,
            store,
            http,
            secrets,
            login_item,
            settings: Mutex::new(settings),
            key_source: Mutex::new(KeySource::None),
            admin_key_configured: Mutex::new(false),
            engine: tokio::sync::Mutex::new(None),
            engine_input: Arc::new(Mutex::new(None)),
            gateway: GatewaySlot::default(),
            alerting,
            metrics: Arc::new(crate::metrics::Metrics::default()),
            metrics_server: metrics_slot::MetricsSlot::default(),
            snapshot,
            events,
            paused_until: Mutex::new(None),
            probe_cost_announced: AtomicBool::new(false),
            store_recovered,
            started_at: Utc::now(),
            shutdown: CancellationToken::new(),
            lock: Mutex::new(Some(lock)),
        });
        tokio::spawn(announce_failing_channels(Arc::downgrade(&inner)));
        inner.restart_engine().await;
        Ok(Service { inner })
    }

    /// Serves the control API until a `stop` call, `shutdown`, or the token of `stopped()`;
    /// then stops the engine and the gateway.
    #[cfg(unix)]
    pub async fn serve(self, shutdown: CancellationToken) -> crate::Result<()> {
        let path = self.inner.options.socket.clone();
        let listener = crate::control::server::bind(&path).map_err(|e| {
            crate::Error::Config(format!("the control socket {}: {e}", path.display()))
        })?;
        tracing::info!(
            "service {} (pid {}) listening on {}",
            env!("CARGO_PKG_VERSION"),
            std::process::id(),
            path.display()
        );
        let (token, handler) = self.serving(shutdown);
        let server = tokio::spawn(crate::control::server::serve(
            listener,
            path,
            handler,
            crate::control::ServerLimits::default(),
            token.clone(),
        ));
        token.cancelled().await;
        let _ = self.inner.events.send(Event::Stopping {
            reason: "the service is stopping".to_owned(),
        });
        let _ = server.await;
        self.inner.stop_all().await;
        Ok(())
    }

    /// Serves the control API on a named pipe. Written for Windows but not compiled or run on the
    /// Linux machine this was built on.
    #[cfg(windows)]
    pub async fn serve(self, shutdown: CancellationToken) -> crate::Result<()> {
        let (token, handler) = self.serving(shutdown);
        let served = crate::control::server::serve(
            self.inner.options.socket.clone(),
            handler,
            crate::control::ServerLimits::default(),
            token.clone(),
        )
        .await;
        self.inner.stop_all().await;
        served.map_err(crate::Error::Io)
    }

    /// The service's own token, cancelled by a `stop` call and by the caller's `shutdown` alike,
    /// and the handler the server answers calls with.
    fn serving(
        &self,
        shutdown: CancellationToken,
    ) -> (CancellationToken, Arc<dyn crate::control::Handler>) {
        let token = self.inner.shutdown.clone();
        let forward = token.clone();
        tokio::spawn(async move {
            shutdown.cancelled().await;
            forward.cancel();
        });
        let handler: Arc<dyn crate::control::Handler> =
            Arc::new(calls::ServiceHandler(Arc::clone(&self.inner)));
        (token, handler)
    }

    /// The token a `stop` call cancels.
    pub fn stopped(&self) -> CancellationToken {
        self.inner.shutdown.clone()
    }

    /// Why history is not being saved, when it is not (a read-only data directory found at
    /// start, a full disk since), for the command that started the service to say so.
    pub fn history_not_saved(&self) -> Option<String> {
        self.inner.store.not_saving()
    }

    /// The current snapshot and its changes.
    pub fn snapshots(&self) -> watch::Receiver<Snapshot> {
        self.inner.snapshot.subscribe()
    }
}

impl Inner {
    /// The settings in force.
    pub(crate) fn settings(&self) -> Settings {
        lock_ok(&self.settings).clone()
    }

    /// The key in force and where it comes from: the keychain first (the user's choice in the
    /// app), else the environment.
    async fn api_key(&self) -> (Option<ApiKey>, KeySource) {
        if let Some(key) = self.stored_key(API_KEY_ACCOUNT).await {
            return (Some(key), KeySource::Keychain);
        }
        match &self.options.base.env_api_key {
            Some(key) => (Some(key.clone()), KeySource::Environment),
            None => (None, KeySource::None),
        }
    }

    /// The Admin API key from the keychain, else `ANTHROPIC_ADMIN_KEY`.
    async fn admin_key(&self) -> Option<ApiKey> {
        match self.stored_key(ADMIN_KEY_ACCOUNT).await {
            Some(key) => Some(key),
            None => self.options.base.env_admin_key.clone(),
        }
    }

    /// The keychain's key of `account`, read off the async workers; a keychain that cannot be
    /// read holds no key.
    async fn stored_key(&self, account: &'static str) -> Option<ApiKey> {
        let secrets = Arc::clone(&self.secrets);
        tokio::task::spawn_blocking(move || secrets.get(account))
            .await
            .ok()
            .and_then(Result::ok)
            .flatten()
            .and_then(ApiKey::new)
    }

    /// The daily refresh of the price table for this engine's life (a settings change restarts
    /// the engine, and with it this task): each new table goes to the tracker as
    /// `Observation::Catalog`. Off with `--offline`, the setting, or in the demo.
    fn start_price_refresh(&self, settings: &Settings, engine: &Engine) {
        let base = &self.options.base;
        if base.demo || base.offline || !settings.price_refresh || !settings.usage_tracking {
            return;
        }
        let config = crate::prices::PriceRefreshConfig::new(true, None);
        let (catalogs, mut received) = tokio::sync::mpsc::channel(2);
        tokio::spawn(crate::prices::run_price_refresh(
            self.http.clone(),
            config,
            base.data_dir.clone(),
            Some(self.store.clone()),
            catalogs,
            engine.shutdown_token(),
        ));
        let observations = engine.observation_sender();
        tokio::spawn(async move {
            while let Some(catalog) = received.recv().await {
                let catalog = Box::new(catalog);
                if observations
                    .send(claude_status_core::monitor::Observation::Catalog { catalog })
                    .await
                    .is_err()
                {
                    return;
                }
            }
        });
    }

    /// (Re)starts the engine with the settings and keys in force, then brings the gateway in
    /// line with the settings.
    pub(crate) async fn restart_engine(self: &Arc<Self>) {
        let mut slot = self.engine.lock().await;
        if let Some(old) = slot.take() {
            old.shutdown().await;
        }
        let settings = self.settings();
        let base = &self.options.base;
        let (api_key, source) = self.api_key().await;
        *lock_ok(&self.key_source) = source;
        let admin_key = self.admin_key().await;
        *lock_ok(&self.admin_key_configured) = admin_key.is_some();
        let api_url = api_url_for_the_service(&base.api_url, &settings);
        let config = if base.demo {
            config::demo_engine_config(base, &settings, &api_url)
        } else {
            let dirs =
                tokio::task::spawn_blocking(|| crate::claude_code::default_projects_dirs().ok())
                    .await
                    .ok()
                    .flatten()
                    .filter(|dirs| !dirs.is_empty());
            let sources = UsageSources {
                claude_code_dirs: dirs,
                admin_key,
            };
            let usage = usage_config(&settings, &api_url, sources, Some(&base.data_dir));
            engine_config(base, &base.status_url, &api_url, &settings, api_key, usage)
        };
        match Engine::start_with_metrics(
            config,
            self.http.clone(),
            self.store.clone(),
            Some(Arc::clone(&self.metrics)),
        ) {
            Ok(mut engine) => {
                let snapshots = engine.snapshot();
                let events = engine.subscribe();
                tokio::spawn(Arc::clone(self).relay(snapshots, events));
                self.start_price_refresh(&settings, &engine);
                *lock_ok(&self.engine_input) = Some(engine.observation_sender());
                *slot = Some(engine);
            }
            Err(e) => {
                *lock_ok(&self.engine_input) = None;
                tracing::error!("the monitor could not start: {e}");
            }
        }
        drop(slot);
        // The gateway serves the user's code whether or not the monitor could start.
        self.gateway
            .apply(
                &settings,
                &api_url,
                &self.store,
                &self.engine_input,
                &self.metrics,
                &self.secrets,
                self.snapshot.subscribe(),
                &self.options.base.data_dir,
            )
            .await;
        self.metrics_server.apply(&settings, &self.metrics).await;
    }

    /// Follows one engine until it stops: its snapshots onto the service's channel, its events
    /// (notifications filtered by the switch and the pause) to the subscribers.
    async fn relay(
        self: Arc<Self>,
        mut snapshots: watch::Receiver<Snapshot>,
        mut events: broadcast::Receiver<EngineEvent>,
    ) {
        let first = snapshots.borrow_and_update().clone();
        self.publish(first);
        loop {
            tokio::select! {
                changed = snapshots.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let snapshot = snapshots.borrow_and_update().clone();
                    self.publish(snapshot);
                }
                event = events.recv() => match event {
                    Ok(event) => {
                        // Channels are the user's own choice per channel: neither the switch
                        // nor the pause of OS notifications holds them back.
                        self.alerting.offer(&event);
                        self.forward(event);
                    }
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!("{missed} engine events were dropped");
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    }

    fn publish(&self, snapshot: Snapshot) {
        self.announce_store_recovery();
        self.announce_probe_cost(&snapshot);
        self.snapshot.send_if_modified(|current| {
            if *current == snapshot {
                false
            } else {
                *current = snapshot;
                true
            }
        });
    }

    /// Passes an engine event on; a notification only while notifications are on and not paused.
    fn forward(&self, event: EngineEvent) {
        if let EngineEvent::Notify { notification, .. } = &event {
            let now = Utc::now();
            if !self.settings().notifications {
                tracing::debug!("notifications off: not passing on {:?}", notification.title);
                return;
            }
            if let Some(until) = self.paused_until(now) {
                tracing::info!(
                    "notifications paused until {until}: not passing on {:?}",
                    notification.title
                );
                return;
            }
        }
        let _ = self.events.send(Event::Engine {
            sent_at: Utc::now(),
            engine: event,
        });
    }

    /// Until when notifications are paused, if they are.
    pub(crate) fn paused_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        lock_ok(&self.paused_until).filter(|until| *until > now)
    }

    /// Tells the first front end to subscribe (the tray) that the history database was unreadable
    /// and moved aside at start, once; the store has already logged it. Unlike the probe's cost,
    /// this is not held back by the notifications switch or a pause: it says history was lost
    /// from view, and it comes once.
    fn announce_store_recovery(&self) {
        if self.events.receiver_count() == 0 {
            return;
        }
        let Some(recovered) = lock_ok(&self.store_recovered).take() else {
            return;
        };
        let _ = self.events.send(Event::Notice {
            sent_at: Utc::now(),
            title: "History database replaced".to_owned(),
            body: format!("{}.", capitalise(&recovered.to_string())),
        });
    }

    /// Says what the per-model probe costs, once, when it first runs with a real key; the notice
    /// is marked shown when a front end is there to show it.
    fn announce_probe_cost(&self, snapshot: &Snapshot) {
        let settings = self.settings();
        let key_present = *lock_ok(&self.key_source) != KeySource::None;
        if self.probe_cost_announced.load(Ordering::Relaxed)
            || self.events.receiver_count() == 0
            || !probe_cost::notice_due(self.options.base.demo, &settings, snapshot, key_present)
            || !settings.notifications
            || self.paused_until(Utc::now()).is_some()
        {
            return;
        }
        if self.probe_cost_announced.swap(true, Ordering::Relaxed) {
            return;
        }
        let cost = probe_cost::current(&self.options.base, &settings, snapshot, key_present);
        let (title, body) = probe_cost::notice_text(&cost);
        let _ = self.events.send(Event::Notice {
            sent_at: Utc::now(),
            title,
            body,
        });
        let saved = {
            let mut settings = lock_ok(&self.settings);
            settings.probe_cost_notice_shown = true;
            settings.clone()
        };
        if let Err(e) = settings_file::save(&self.options.base.data_dir, &saved) {
            tracing::warn!("could not remember that the probe's cost was shown: {e}");
        }
    }

    /// Stops the engine and the gateway (bounded).
    async fn stop_all(&self) {
        if let Some(engine) = self.engine.lock().await.take() {
            let _ =
                tokio::time::timeout(std::time::Duration::from_secs(5), engine.shutdown()).await;
        }
        self.gateway.stop().await;
        self.alerting.stop();
        self.metrics_server.stop().await;
        drop(lock_ok(&self.lock).take());
    }

    /// The service's hello.
    pub(crate) fn our_hello(&self) -> Hello {
        Hello {
            pid: Some(std::process::id()),
            ..Hello::ours("service")
        }
    }
}

/// Starts direct alert routing with the settings' channels (none in the demo, whose storm is a
/// story and must not page anybody), its secrets from the keychain, then
/// `<data_dir>/alert-secrets.json`, then the environment.
fn start_alerting(
    options: &ServiceOptions,
    settings: &Settings,
    secrets: &Arc<dyn Secrets>,
    http: &reqwest::Client,
    store: &Arc<Store>,
) -> crate::alerting::Dispatcher {
    let channels = if options.base.demo {
        Vec::new()
    } else {
        settings.alert_channels.clone()
    };
    crate::alerting::Dispatcher::start(
        channels,
        crate::alerting::AlertingLimits::default(),
        crate::alerting::secrets::ChannelSecrets::new(
            Arc::clone(secrets),
            Some(&options.base.data_dir),
        ),
        http.clone(),
        Arc::clone(store),
        CancellationToken::new(),
    )
}

/// Tells subscribers when an alert channel starts or stops failing, as a settings change: the
/// dashboard then reads the channels again, so a failing channel shows without polling.
async fn announce_failing_channels(inner: std::sync::Weak<Inner>) {
    let Some(mut changes) = inner.upgrade().map(|i| i.alerting.failing_changes()) else {
        return;
    };
    while changes.changed().await.is_ok() {
        let Some(inner) = inner.upgrade() else { return };
        let _ = inner.events.send(Event::Settings {
            sent_at: Utc::now(),
        });
    }
}

/// `text` with its first letter in capitals, for a sentence that opens a notification.
fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// The API the service probes and its gateway forwards to. A user who exported
/// `ANTHROPIC_BASE_URL=http://127.0.0.1:<gateway port>` for their code may start the service from
/// that shell: taken as is, the probes would measure the gateway and the gateway would forward to
/// itself. That address stands for the real API here.
pub fn api_url_for_the_service(api_url: &str, settings: &Settings) -> String {
    if settings.gateway && crate::gateway::is_own_address(api_url, settings.gateway_port) {
        tracing::warn!(
            "ANTHROPIC_BASE_URL={api_url} is this service's own gateway; it probes and forwards \
             to {DEFAULT_API_URL} instead"
        );
        DEFAULT_API_URL.to_owned()
    } else {
        api_url.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_url_pointing_at_the_services_own_gateway_stands_for_the_api() {
        let mut settings = Settings {
            gateway: true,
            gateway_port: 7529,
            ..Settings::default()
        };
        assert_eq!(
            api_url_for_the_service("http://127.0.0.1:7529", &settings),
            DEFAULT_API_URL
        );
        assert_eq!(
            api_url_for_the_service("http://localhost:7529/", &settings),
            DEFAULT_API_URL
        );
        assert_eq!(
            api_url_for_the_service("http://127.0.0.1:8080", &settings),
            "http://127.0.0.1:8080"
        );
        settings.gateway = false;
        assert_eq!(
            api_url_for_the_service("http://127.0.0.1:7529", &settings),
            "http://127.0.0.1:7529"
        );
    }
}
