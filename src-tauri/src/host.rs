//! Runs the engine inside the app: starts it (against the real services, or the in-process
//! simulator in demo mode), restarts it when settings change, and follows its channels: each new
//! snapshot updates the tray and is pushed to the dashboard, each notification effect is shown.

use std::sync::Arc;

use claude_status_core::report::Snapshot;
use claude_status_engine::probe::DEFAULT_API_URL;
use claude_status_engine::{Engine, EngineEvent};
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tokio::sync::{broadcast, watch};

use crate::config::{engine_config, usage_config, DemoMode, UsageSources};
use crate::events::FrontendEvent;
use crate::settings::{load_admin_key, load_api_key};
use crate::state::{lock, AppState};
use crate::{notify, tray};

/// The demo's story and its pace: every state and notification within two minutes.
const DEMO_SCENARIO: &str = "demo";
const DEMO_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3);
const DEMO_CONFIRM: std::time::Duration = std::time::Duration::from_secs(1);

/// The most often a snapshot reaches the tray and the dashboard.
const PUBLISH_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// (Re)starts the engine with the current settings.
pub async fn restart_engine<R: Runtime>(app: &AppHandle<R>) {
    let state = app.state::<Arc<AppState>>().inner().clone();
    let mut slot = state.engine.lock().await;
    if let Some(old) = slot.take() {
        old.shutdown().await;
    }
    let settings = state.settings();
    tracing::debug!("reading the API key");
    let (api_key, source) = load_api_key(&state.base);
    tracing::debug!("key source: {source:?}");
    *lock(&state.key_source) = source;

    let mut base = state.base.clone();
    let (status_url, api_url, api_key) = if state.base.demo == DemoMode::On {
        let mut sim = state.demo_sim.lock().await;
        if sim.is_none() {
            match claude_status_simulator::Simulator::new(DEMO_SCENARIO)
                .clock(claude_status_simulator::Clock::Real { speed: 1.0 })
                .start()
                .await
            {
                Ok(handle) => {
                    tracing::info!("demo mode: simulator at {}", handle.base_url());
                    *sim = Some(handle);
                }
                Err(e) => {
                    tracing::error!("demo mode: the simulator could not start: {e}");
                    return;
                }
            }
        }
        let url = sim.as_ref().map(|s| s.base_url()).unwrap_or_default();
        base.interval_override = Some(base.interval_override.unwrap_or(DEMO_INTERVAL));
        base.confirm_interval_override =
            Some(base.confirm_interval_override.unwrap_or(DEMO_CONFIRM));
        // The simulator accepts any key; a real one is never sent to it.
        (
            url.clone(),
            url,
            claude_status_engine::probe::ApiKey::new("sk-ant-demo"),
        )
    } else {
        (
            state.base.status_url.clone(),
            api_url_for_the_app(&state.base.api_url, &settings),
            api_key,
        )
    };

    let demo = state.base.demo == DemoMode::On;
    let sources = if demo {
        // The demo reads no real logs; the simulator serves the Admin API, with any admin key.
        UsageSources {
            claude_code_dirs: None,
            admin_key: claude_status_engine::probe::ApiKey::new("sk-ant-admin-demo"),
        }
    } else {
        let dirs = tauri::async_runtime::spawn_blocking(|| {
            claude_status_engine::claude_code::default_projects_dirs().ok()
        })
        .await
        .ok()
        .flatten()
        .filter(|dirs| !dirs.is_empty());
        UsageSources {
            claude_code_dirs: dirs,
            admin_key: load_admin_key(),
        }
    };
    let mut settings = settings;
    if demo {
        settings.admin_api = true;
    }
    let usage = usage_config(&settings, &api_url, sources);
    let config = engine_config(&base, &status_url, &api_url, &settings, api_key, usage);
    match Engine::start(config, state.http.clone(), state.store.clone()) {
        Ok(mut engine) => {
            let snapshots = engine.snapshot();
            let events = engine.subscribe();
            let handle = app.clone();
            tauri::async_runtime::spawn(follow(handle, snapshots, events));
            *lock(&state.engine_observations) = Some(engine.observation_sender());
            *slot = Some(engine);
        }
        Err(e) => {
            *lock(&state.engine_observations) = None;
            tracing::error!("the monitor could not start: {e}");
        }
    }
    // The gateway serves the user's code whether or not the monitor could start.
    crate::gateway::apply(&state, &settings, &api_url).await;
}

/// The API the app probes and its gateway forwards to. A user who exported
/// `ANTHROPIC_BASE_URL=http://127.0.0.1:<gateway port>` for their code may start the app from that
/// shell: taken as is, the probes would measure the gateway and the gateway would forward to
/// itself. That address stands for the real API here.
fn api_url_for_the_app(api_url: &str, settings: &claude_status_core::settings::Settings) -> String {
    if settings.gateway
        && claude_status_engine::gateway::is_own_address(api_url, settings.gateway_port)
    {
        tracing::warn!(
            "ANTHROPIC_BASE_URL={api_url} is this app's own gateway; the app probes and forwards \
             to {DEFAULT_API_URL} instead"
        );
        DEFAULT_API_URL.to_owned()
    } else {
        api_url.to_owned()
    }
}

/// Asks the running engine for an immediate check.
pub async fn check_now<R: Runtime>(app: &AppHandle<R>) {
    let state = app.state::<Arc<AppState>>().inner().clone();
    let engine = state.engine.lock().await;
    if let Some(engine) = engine.as_ref() {
        engine.check_now().await;
    }
}

/// Stops the engine on exit, waiting (bounded) for its tasks.
pub fn stop_engine_blocking<R: Runtime>(app: &AppHandle<R>) {
    let Some(state) = app.try_state::<Arc<AppState>>() else {
        return;
    };
    let state = state.inner().clone();
    tauri::async_runtime::block_on(async move {
        let engine = state.engine.lock().await.take();
        if let Some(engine) = engine {
            let _ =
                tokio::time::timeout(std::time::Duration::from_secs(3), engine.shutdown()).await;
        }
    });
}

/// Follows one engine until it stops: snapshots to the tray and the dashboard, notifications to
/// the OS.
async fn follow<R: Runtime>(
    app: AppHandle<R>,
    mut snapshots: watch::Receiver<Snapshot>,
    mut events: broadcast::Receiver<EngineEvent>,
) {
    publish(&app, snapshots.borrow_and_update().clone());
    let mut published = tokio::time::Instant::now();
    loop {
        tokio::select! {
            changed = snapshots.changed() => {
                if changed.is_err() {
                    return;
                }
                // Traffic through the gateway changes the snapshot with every metered batch;
                // the watch channel keeps only the latest, so waiting out the interval folds a
                // burst into one tray update and one event.
                tokio::time::sleep_until(published + PUBLISH_EVERY).await;
                let snapshot = snapshots.borrow_and_update().clone();
                publish(&app, snapshot);
                published = tokio::time::Instant::now();
            }
            event = events.recv() => match event {
                Ok(EngineEvent::Notify { notification, .. }) => notify::show(&app, notification),
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!("{missed} engine events were dropped");
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
        }
    }
}

fn publish<R: Runtime>(app: &AppHandle<R>, snapshot: Snapshot) {
    let state = app.state::<Arc<AppState>>();
    *lock(&state.snapshot) = snapshot.clone();
    tray::update(app);
    if let Err(e) = app.emit(FrontendEvent::SnapshotChanged.name(), &snapshot) {
        tracing::warn!("could not push the snapshot to the dashboard: {e}");
    }
}

#[cfg(test)]
mod tests {
    use claude_status_core::settings::Settings;

    use super::*;

    #[test]
    fn a_base_url_pointing_at_the_apps_own_gateway_stands_for_the_api() {
        let mut settings = Settings {
            gateway: true,
            gateway_port: 7529,
            ..Settings::default()
        };
        assert_eq!(
            api_url_for_the_app("http://127.0.0.1:7529", &settings),
            DEFAULT_API_URL
        );
        assert_eq!(
            api_url_for_the_app("http://localhost:7529/", &settings),
            DEFAULT_API_URL
        );
        // Another proxy, or the gateway's port while the gateway is off, is the user's choice.
        assert_eq!(
            api_url_for_the_app("http://127.0.0.1:8080", &settings),
            "http://127.0.0.1:8080"
        );
        settings.gateway = false;
        assert_eq!(
            api_url_for_the_app("http://127.0.0.1:7529", &settings),
            "http://127.0.0.1:7529"
        );
    }
}
