//! Follows the service: subscribes to its stream and turns each event into the tray's icon and
//! menu, an OS notification, or a push to the dashboard. While the service is unreachable this
//! process says so at once (never the last verdict), starts one when none runs and it may, and
//! reconnects with backoff.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use claude_status_core::report::Snapshot;
use claude_status_engine::control::proto::{Call, Event, ServiceInfo};
use claude_status_engine::control::{ClientError, ControlClient, Subscription};
use claude_status_engine::service::SettingsView;
use claude_status_engine::EngineEvent;
use tauri::{AppHandle, Emitter, Manager, Runtime};

use crate::events::FrontendEvent;
use crate::state::{lock, AppState, Link, Mode};
use crate::{notify, tray};

/// The first wait before reconnecting, doubled after each failure up to the longest.
const RETRY_FIRST: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(10);
/// How long a service this process started may take to answer.
const START_WAIT: Duration = Duration::from_secs(5);

/// What the front ends show while the service is unreachable: their own state, never the last
/// snapshot's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreachable {
    /// The menu's first line.
    pub headline: String,
    /// A second line, when there is more to say.
    pub detail: Option<String>,
    /// Whether "Restart service" makes sense (not for a service of another version, which
    /// this app cannot stop).
    pub restartable: bool,
}

/// The headline "Service not running — reconnecting…" and its kin, or `None` while connected
/// with a snapshot.
pub fn unreachable(state: &AppState) -> Option<Unreachable> {
    let link = state.link();
    let (headline, detail, restartable) = match link {
        Link::Connected if state.snapshot().is_some() => return None,
        Link::Connected | Link::Connecting => (
            "Connecting to the Claude Status service…".to_owned(),
            None,
            false,
        ),
        Link::NotRunning if state.stopped_by_user() => (
            "Service stopped — the gateway is off".to_owned(),
            Some("Restart it from this menu".to_owned()),
            true,
        ),
        Link::NotRunning => ("Service not running — reconnecting…".to_owned(), None, true),
        Link::VersionMismatch(sentence) => (
            mismatch_headline(&sentence),
            Some("Stop that service, then start this version's".to_owned()),
            false,
        ),
        Link::Broken(reason) => (
            "Service not answering — reconnecting…".to_owned(),
            Some(reason),
            true,
        ),
    };
    Some(Unreachable {
        headline,
        detail,
        restartable,
    })
}

/// The version-mismatch sentence, shortened for a menu line: the clause that names both
/// versions ("Service is version 9.9.9 (control protocol 999), this app is 0.1.0 (protocol 1)").
pub fn mismatch_headline(sentence: &str) -> String {
    let clause = sentence.split(": ").next().unwrap_or(sentence).trim();
    let clause = clause.strip_prefix("the Claude Status ").unwrap_or(clause);
    let mut chars = clause.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => sentence.to_owned(),
    }
}

/// A snapshot that says the service is unreachable, for the dashboard (which shows snapshots
/// only): the unknown level with the headline as its reason.
pub fn unreachable_snapshot(unreachable: &Unreachable) -> Snapshot {
    let mut snapshot = Snapshot::initial();
    snapshot.reasons = vec![unreachable.headline.clone()];
    snapshot.reasons.extend(unreachable.detail.iter().cloned());
    snapshot.hits_you.text = format!("Unknown: {}.", unreachable.headline);
    snapshot
}

/// Starts the service when none answers and this process may, and waits (bounded) until it does:
/// the dashboard does this before it creates its window, so the page's first calls find a
/// service.
pub async fn start_if_absent(state: &AppState) {
    let Some(launcher) = &state.launcher else {
        return;
    };
    match ControlClient::connect(&state.socket, state.mode.role()).await {
        Err(e) if e.is_not_running() && launcher.may_start() && !launcher.child_alive() => {
            match launcher.spawn(Arc::clone(&state.wake)) {
                Ok(_) => {
                    launcher
                        .wait_until_listening(START_WAIT, state.mode.role())
                        .await;
                }
                Err(e) => tracing::error!("{e}"),
            }
        }
        _ => {}
    }
}

/// Follows the service for as long as the app runs.
pub async fn follow<R: Runtime>(app: AppHandle<R>) {
    let state = app.state::<Arc<AppState>>().inner().clone();
    let mut retry = RETRY_FIRST;
    loop {
        let mut wait = retry;
        match Subscription::open(&state.socket, state.mode.role()).await {
            Ok(subscription) => {
                let since = Instant::now();
                tracing::info!(
                    "attached to the service {} (pid {:?})",
                    subscription.service().version,
                    subscription.service().pid
                );
                if let Some(launcher) = &state.launcher {
                    launcher.connected();
                }
                set_link(&app, &state, Link::Connected);
                refresh(&app);
                let why = run(&app, &state, subscription).await;
                tracing::warn!("the service's stream ended: {why}");
                state.service.reset().await;
                if let Some(launcher) = &state.launcher {
                    launcher.lost(since.elapsed());
                }
                set_link(&app, &state, Link::NotRunning);
                // Try again at once: another service may already be listening.
                retry = RETRY_FIRST;
                continue;
            }
            Err(e) if e.is_not_running() => {
                set_link(&app, &state, Link::NotRunning);
                if let Some(launcher) = state
                    .launcher
                    .as_ref()
                    .filter(|l| !state.stopped_by_user() && l.may_start() && !l.child_alive())
                {
                    let due = launcher.start_wait();
                    if due.is_zero() {
                        set_link(&app, &state, Link::Connecting);
                        match launcher.spawn(Arc::clone(&state.wake)) {
                            Ok(_) => {
                                launcher
                                    .wait_until_listening(START_WAIT, state.mode.role())
                                    .await;
                                continue;
                            }
                            Err(e) => {
                                tracing::error!("{e}");
                                set_link(&app, &state, Link::NotRunning);
                            }
                        }
                    } else {
                        wait = wait.min(due);
                    }
                }
            }
            Err(ClientError::VersionMismatch(sentence)) => {
                if state.mode == Mode::Tray
                    && !state.mismatch_notified.swap(true, Ordering::Relaxed)
                {
                    notify::show_message(
                        &app,
                        "Claude Status: the service is another version".to_owned(),
                        sentence.clone(),
                        "dialog-warning",
                    );
                }
                set_link(&app, &state, Link::VersionMismatch(sentence));
            }
            Err(e) => set_link(&app, &state, Link::Broken(e.to_string())),
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => retry = (retry * 2).min(RETRY_MAX),
            _ = state.wake.notified() => retry = RETRY_FIRST,
        }
    }
}

/// Reads one subscription until it ends; returns why it ended.
async fn run<R: Runtime>(
    app: &AppHandle<R>,
    state: &AppState,
    mut subscription: Subscription,
) -> String {
    loop {
        match subscription.next().await {
            Ok(Event::Snapshot { snapshot, .. }) => {
                *lock(&state.snapshot) = Some(*snapshot);
                publish(app, state);
            }
            Ok(Event::Engine {
                engine: EngineEvent::Notify { notification, .. },
                ..
            }) => {
                // The service already applied the user's switch and the pause.
                if state.mode == Mode::Tray {
                    notify::show(app, notification);
                }
            }
            Ok(Event::Engine { .. }) => {}
            Ok(Event::Notice { title, body, .. }) => {
                if state.mode == Mode::Tray {
                    notify::show_message(app, title, body, "dialog-information");
                }
            }
            Ok(Event::Settings { .. }) => refresh(app),
            Ok(Event::Lagged { missed }) => {
                tracing::warn!(
                    "{missed} events from the service were dropped; the next snapshot is whole"
                );
            }
            Ok(Event::Stopping { reason }) => return reason,
            Err(e) => return e.to_string(),
        }
    }
}

/// Reads the service's settings view and version again (the pause and the gateway for the menu,
/// the status page for links), off the stream's task so a slow call never holds events back.
pub fn refresh<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let state = app.state::<Arc<AppState>>().inner().clone();
        match state.service.call::<SettingsView>(Call::GetSettings).await {
            Ok(view) => *lock(&state.settings) = Some(view),
            Err(e) => tracing::warn!("could not read the service's settings: {e}"),
        }
        match state.service.call::<ServiceInfo>(Call::Version).await {
            Ok(info) => *lock(&state.info) = Some(info),
            Err(e) => tracing::warn!("could not read the service's version: {e}"),
        }
        publish(&app, &state);
    });
}

/// Records how the connection stands and shows it when it changed.
fn set_link<R: Runtime>(app: &AppHandle<R>, state: &AppState, link: Link) {
    {
        let mut current = lock(&state.link);
        if *current == link {
            return;
        }
        *current = link.clone();
    }
    if link != Link::Connected {
        // Whatever the last snapshot said is not known any more.
        *lock(&state.snapshot) = None;
    }
    publish(app, state);
}

/// Shows the current state: the tray's icon and menu, or the dashboard's snapshot.
pub fn publish<R: Runtime>(app: &AppHandle<R>, state: &AppState) {
    match state.mode {
        Mode::Tray => tray::update(app),
        Mode::Dashboard => {
            let snapshot = match unreachable(state) {
                Some(unreachable) => serde_json::to_value(unreachable_snapshot(&unreachable)),
                None => serde_json::to_value(state.snapshot().unwrap_or_else(Snapshot::initial)),
            };
            let snapshot = match snapshot {
                Ok(snapshot) => snapshot,
                Err(e) => {
                    tracing::warn!("could not serialise the snapshot: {e}");
                    return;
                }
            };
            if let Err(e) = app.emit(FrontendEvent::SnapshotChanged.name(), &snapshot) {
                tracing::warn!("could not push the snapshot to the dashboard: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use claude_status_engine::control::proto::Hello;

    #[test]
    fn the_mismatch_headline_names_both_versions() {
        let service = Hello {
            protocol: 999,
            version: "9.9.9".to_owned(),
            role: "service".to_owned(),
            pid: Some(1),
        };
        let sentence = Hello::mismatch(&service, &Hello::ours("tray"));
        let headline = mismatch_headline(&sentence);
        assert_eq!(
            headline,
            format!(
                "Service is version 9.9.9 (control protocol 999), this app is {} (protocol {})",
                env!("CARGO_PKG_VERSION"),
                claude_status_engine::control::PROTOCOL_VERSION
            )
        );
    }

    #[test]
    fn the_unreachable_state_never_shows_a_verdict() {
        let dir = tempfile::tempdir().unwrap();
        let state = AppState::new(
            Mode::Tray,
            false,
            dir.path().to_path_buf(),
            dir.path().join("control.sock"),
            None,
        );
        let mut green = Snapshot::initial();
        green.level = claude_status_core::Level::Operational;
        *lock(&state.snapshot) = Some(green);
        *lock(&state.link) = Link::Connected;
        assert_eq!(unreachable(&state), None);
        *lock(&state.link) = Link::NotRunning;
        let shown = unreachable(&state).unwrap();
        assert_eq!(shown.headline, "Service not running — reconnecting…");
        assert!(shown.restartable);
        let snapshot = unreachable_snapshot(&shown);
        assert_eq!(snapshot.level, claude_status_core::Level::Unknown);
        assert_eq!(snapshot.reasons[0], shown.headline);
        state.stopped_by_user.store(true, Ordering::Relaxed);
        assert!(unreachable(&state)
            .unwrap()
            .headline
            .starts_with("Service stopped"));
    }
}
