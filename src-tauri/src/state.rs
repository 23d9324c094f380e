//! The app's managed state: the store, the settings, the key's source, the running engine and
//! gateway, and the latest snapshot. Managed with `app.manage`, never a global.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use claude_status_core::report::Snapshot;
use claude_status_core::settings::Settings;
use claude_status_engine::http::{build_client, HttpLimits};
use claude_status_engine::{Engine, Store};
use tauri::{AppHandle, Runtime};

use crate::config::BaseConfig;
use crate::settings::{load_admin_key, load_api_key, load_settings, KeySource};

/// The gateway the engine runs beside, as the dashboard and the tray see it.
#[derive(Debug, Clone)]
pub struct RunningGateway {
    /// `ANTHROPIC_BASE_URL` for the user's code.
    pub url: String,
    /// Where it forwards to.
    pub upstream: String,
    /// Its live counters.
    pub stats: claude_status_engine::gateway::GatewayStatsHandle,
}

/// Everything the shell keeps between events.
pub struct AppState {
    pub base: BaseConfig,
    pub store: Arc<Store>,
    pub http: reqwest::Client,
    pub settings: Mutex<Settings>,
    pub key_source: Mutex<KeySource>,
    /// Whether an Admin API key is known.
    pub admin_key_configured: Mutex<bool>,
    /// The running gateway, or why it could not start; `None` while it is off.
    pub gateway: Mutex<Option<Result<RunningGateway, String>>>,
    /// The gateway's task, held while it is started, stopped or restarted.
    pub gateway_control: tokio::sync::Mutex<Option<crate::gateway::GatewayControl>>,
    /// The running engine's input, where the gateway's relay hands the user's traffic.
    pub engine_observations:
        Mutex<Option<tokio::sync::mpsc::Sender<claude_status_core::monitor::Observation>>>,
    /// The running engine; replaced when settings change.
    pub engine: tokio::sync::Mutex<Option<Engine>>,
    /// The demo's simulator, started on first use and kept for the app's life.
    pub demo_sim: tokio::sync::Mutex<Option<claude_status_simulator::SimHandle>>,
    /// The latest snapshot, for `get_snapshot` and the tray.
    pub snapshot: Mutex<Snapshot>,
    /// Notifications are held back until then.
    pub paused_until: Mutex<Option<DateTime<Utc>>>,
    /// When notifications were last shown, for the flood guard.
    pub recent_notifications: Mutex<std::collections::VecDeque<DateTime<Utc>>>,
    /// Whether this run already considered the first-launch notice of the probe's cost.
    pub probe_cost_considered: AtomicBool,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Opens the history database and reads the settings and the key's source.
    pub fn open<R: Runtime>(app: &AppHandle<R>, base: BaseConfig) -> anyhow::Result<Self> {
        let store = Store::open(&Store::default_path(&base.data_dir))?;
        let http = build_client(&HttpLimits::default())?;
        let settings = load_settings(app);
        let key_source = load_api_key(&base).1;
        Ok(Self {
            base,
            store: Arc::new(store),
            http,
            settings: Mutex::new(settings),
            key_source: Mutex::new(key_source),
            admin_key_configured: Mutex::new(load_admin_key().is_some()),
            gateway: Mutex::new(None),
            gateway_control: tokio::sync::Mutex::new(None),
            engine_observations: Mutex::new(None),
            engine: tokio::sync::Mutex::new(None),
            demo_sim: tokio::sync::Mutex::new(None),
            snapshot: Mutex::new(Snapshot::initial()),
            paused_until: Mutex::new(None),
            recent_notifications: Mutex::new(std::collections::VecDeque::new()),
            probe_cost_considered: AtomicBool::new(false),
        })
    }

    /// The settings in force.
    pub fn settings(&self) -> Settings {
        lock(&self.settings).clone()
    }

    /// The latest snapshot.
    pub fn snapshot(&self) -> Snapshot {
        lock(&self.snapshot).clone()
    }

    /// Until when notifications are paused, if they are.
    pub fn paused_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        lock(&self.paused_until).filter(|until| *until > now)
    }
}

/// Locks a mutex, recovering it if a panic poisoned it: every value behind these locks is whole
/// after any single assignment, so the data is still good.
pub fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
