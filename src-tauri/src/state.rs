//! The app's managed state: which service it talks to, how the connection to it stands, and the
//! latest snapshot and settings the service sent. Managed with `app.manage`, never a global.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use claude_status_core::report::Snapshot;
use claude_status_engine::control::proto::ServiceInfo;
use claude_status_engine::service::SettingsView;

use crate::client::ServiceClient;
use crate::supervisor::Launcher;

/// Which of the app's two processes this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The tray icon and its menu; it never creates a webview.
    Tray,
    /// The dashboard window; the process ends when the window closes.
    Dashboard,
}

impl Mode {
    /// The role this process names in its hello to the service.
    pub fn role(self) -> &'static str {
        match self {
            Mode::Tray => "tray",
            Mode::Dashboard => "dashboard",
        }
    }
}

/// How the connection to the service stands, as the tray shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// Not tried yet, or a service is being started and waited for.
    Connecting,
    /// Subscribed to a service of our version.
    Connected,
    /// Nothing listens on the socket.
    NotRunning,
    /// A service of another version listens; the sentence names both versions.
    VersionMismatch(String),
    /// Something listens but the connection broke or made no sense.
    Broken(String),
}

/// Everything the shell keeps between events.
#[derive(Debug)]
pub struct AppState {
    pub mode: Mode,
    pub demo: bool,
    pub data_dir: PathBuf,
    pub socket: PathBuf,
    /// The connection calls go through.
    pub service: ServiceClient,
    /// Starts the service when none runs; `None` when this process must not (tests).
    pub launcher: Option<Launcher>,
    /// Whether the user chose "Stop service": nothing starts it again until they ask.
    pub stopped_by_user: AtomicBool,
    /// Wakes the follower to reconnect at once (a service was started, the user asked).
    pub wake: Arc<tokio::sync::Notify>,
    pub link: Mutex<Link>,
    /// The latest snapshot from the service; `None` while it is unreachable, so nothing shows a
    /// stale verdict.
    pub snapshot: Mutex<Option<Snapshot>>,
    /// The service's settings view (pause, gateway), refreshed on each `settings` event.
    pub settings: Mutex<Option<SettingsView>>,
    /// The service's version information (its status page, for links).
    pub info: Mutex<Option<ServiceInfo>>,
    /// When notifications were last shown, for the flood guard.
    pub recent_notifications: Mutex<VecDeque<DateTime<Utc>>>,
    /// Whether the version mismatch was already notified (once per run).
    pub mismatch_notified: AtomicBool,
}

impl AppState {
    pub fn new(
        mode: Mode,
        demo: bool,
        data_dir: PathBuf,
        socket: PathBuf,
        launcher: Option<Launcher>,
    ) -> Self {
        Self {
            mode,
            demo,
            data_dir,
            service: ServiceClient::new(socket.clone(), mode.role()),
            socket,
            launcher,
            stopped_by_user: AtomicBool::new(false),
            wake: Arc::new(tokio::sync::Notify::new()),
            link: Mutex::new(Link::Connecting),
            snapshot: Mutex::new(None),
            settings: Mutex::new(None),
            info: Mutex::new(None),
            recent_notifications: Mutex::new(VecDeque::new()),
            mismatch_notified: AtomicBool::new(false),
        }
    }

    pub fn link(&self) -> Link {
        lock(&self.link).clone()
    }

    /// The latest snapshot while the service is reachable.
    pub fn snapshot(&self) -> Option<Snapshot> {
        lock(&self.snapshot).clone()
    }

    pub fn settings_view(&self) -> Option<SettingsView> {
        lock(&self.settings).clone()
    }

    /// Until when the service holds notifications back, if it does.
    pub fn paused_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        lock(&self.settings)
            .as_ref()
            .and_then(|view| view.notifications_paused_until)
            .filter(|until| *until > now)
    }

    pub fn stopped_by_user(&self) -> bool {
        self.stopped_by_user.load(Ordering::Relaxed)
    }

    /// The status page the service follows, for "Open status page" and the links the dashboard
    /// may open.
    pub fn status_urls(&self) -> (String, Option<String>) {
        match lock(&self.info).as_ref() {
            Some(info) => (info.status_url.clone(), info.fallback_url.clone()),
            None => (
                claude_status_engine::poller::DEFAULT_STATUS_URL.to_owned(),
                None,
            ),
        }
    }
}

/// Locks a mutex, recovering it if a panic poisoned it: every value behind these locks is whole
/// after any single assignment, so the data is still good.
pub fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
