//! Runs the engine inside the app: starts it (against the real services, or the in-process
//! simulator in demo mode), restarts it when settings change, and follows its channels: each new
//! snapshot updates the tray and is pushed to the dashboard, each notification effect is shown.

use std::sync::Arc;

use claude_status_core::report::Snapshot;
use claude_status_core::settings::Settings;
use claude_status_engine::probe::{ApiKey, DEFAULT_API_URL};
use claude_status_engine::{Engine, EngineConfig, EngineEvent};
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tokio::sync::{broadcast, watch};

use crate::config::{engine_config, usage_config, BaseConfig, DemoMode, UsageSources};
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

    let (config, api_url) = if state.base.demo == DemoMode::On {
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
        (demo_engine_config(&state.base, &settings, &url), url)
    } else {
        let api_url = api_url_for_the_app(&state.base.api_url, &settings);
        let dirs = tauri::async_runtime::spawn_blocking(|| {
            claude_status_engine::claude_code::default_projects_dirs().ok()
        })
        .await
        .ok()
        .flatten()
        .filter(|dirs| !dirs.is_empty());
        let sources = UsageSources {
            claude_code_dirs: dirs,
            admin_key: load_admin_key(),
        };
        let usage = usage_config(&settings, &api_url, sources);
        let config = engine_config(
            &state.base,
            &state.base.status_url,
            &api_url,
            &settings,
            api_key,
            usage,
        );
        (config, api_url)
    };
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

/// The demo's engine: the in-process simulator at `url` plays the demo story at the demo's pace.
/// It gets a fake key (the simulator accepts any, and a real one is never sent to it), so the
/// per-model probe runs and the demo shows each model's health as a user with a key sees it; the
/// Admin API is the simulator's too. The demo reads no real logs.
pub(crate) fn demo_engine_config(
    base: &BaseConfig,
    settings: &Settings,
    url: &str,
) -> EngineConfig {
    let mut base = base.clone();
    base.interval_override = Some(base.interval_override.unwrap_or(DEMO_INTERVAL));
    base.confirm_interval_override = Some(base.confirm_interval_override.unwrap_or(DEMO_CONFIRM));
    let mut settings = settings.clone();
    settings.admin_api = true;
    settings.streaming_probe = true;
    let sources = UsageSources {
        claude_code_dirs: None,
        admin_key: ApiKey::new("sk-ant-admin-demo"),
    };
    let usage = usage_config(&settings, url, sources);
    engine_config(
        &base,
        url,
        url,
        &settings,
        ApiKey::new("sk-ant-demo"),
        usage,
    )
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
    crate::probe_cost::announce_once(app, &snapshot);
    if let Err(e) = app.emit(FrontendEvent::SnapshotChanged.name(), &snapshot) {
        tracing::warn!("could not push the snapshot to the dashboard: {e}");
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use claude_status_core::verdict::{model_line, Answer};
    use claude_status_core::Level;
    use claude_status_engine::http::{build_client, HttpLimits};
    use claude_status_engine::Store;
    use claude_status_simulator::{Clock, Simulator};

    use super::*;

    /// Issue 11: the demo showed "Outage" in red beside "Does it hit you? No". Plays the demo's
    /// whole story with the demo's own engine configuration (its fake key, so the per-model
    /// probe runs) and checks every snapshot the engine publishes on the way.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn issue_11_the_demo_never_says_outage_beside_no_and_shows_the_model_overloaded() {
        let sim = Simulator::new(DEMO_SCENARIO)
            .clock(Clock::Manual)
            .start()
            .await
            .unwrap();
        let url = sim.base_url();
        let dir = tempfile::tempdir().unwrap();
        let mut base = BaseConfig::for_tests(&url, dir.path().to_path_buf());
        // The story's clock is the test's; after each step the engine is asked to check at once.
        base.interval_override = Some(Duration::from_secs(1));
        base.confirm_interval_override = Some(Duration::from_millis(100));
        let config = demo_engine_config(&base, &Settings::default(), &url);
        assert!(
            config.probes.as_ref().unwrap().streaming.is_some(),
            "the demo runs the per-model probe"
        );
        let engine = Engine::start(
            config,
            build_client(&HttpLimits::default()).unwrap(),
            Arc::new(Store::open_in_memory().unwrap()),
        )
        .unwrap();
        let mut snapshots = engine.snapshot();
        let mut seen = Seen::default();
        // The story lasts 100 s; it moves 5 s a step, and the storm lasts 40 s.
        for step in 0..22 {
            if step > 0 {
                sim.advance(Duration::from_secs(5));
                engine.check_now().await;
            }
            // Every snapshot up to one with this step's page and every followed model's probe:
            // the engine runs faster than the story's steps, so waiting for the page alone let
            // the story run past the probes.
            let asked = chrono::Utc::now();
            let give_up = tokio::time::Instant::now() + Duration::from_secs(10);
            while !{
                let snapshot = snapshots.borrow();
                snapshot
                    .status_page
                    .fetched_at
                    .is_some_and(|at| at >= asked)
                    && snapshot.checked_at.is_some_and(|at| at >= asked)
                    && snapshot
                        .models
                        .iter()
                        .filter(|m| m.followed && m.probe_interval_secs.is_some())
                        .all(|m| m.last_probe.as_ref().is_some_and(|p| p.at >= asked))
            } {
                match tokio::time::timeout_at(give_up, snapshots.changed()).await {
                    Ok(Ok(())) => seen.check(&snapshots.borrow_and_update(), sim.story_time()),
                    _ => panic!("step {step}: the engine did not check again"),
                }
            }
        }
        // The story is over: the page's last word (resolved) reaches the engine a few polls on.
        let give_up = tokio::time::Instant::now() + Duration::from_secs(30);
        while !{
            let snapshot = snapshots.borrow();
            snapshot.level == Level::Operational
                && snapshot
                    .status_page
                    .incidents
                    .iter()
                    .all(|i| i.status.is_closed())
        } {
            match tokio::time::timeout_at(give_up, snapshots.changed()).await {
                Ok(Ok(())) => seen.check(&snapshots.borrow_and_update(), sim.story_time()),
                _ => panic!("the demo did not end operational: {:?}", seen.levels),
            }
        }
        engine.shutdown().await;
        sim.shutdown().await;
        assert_eq!(seen.warning, None, "the demo's probe watches overloads");
        assert!(
            seen.levels.contains(&Level::Overloaded),
            "the storm was not seen: {:?}",
            seen.levels
        );
        assert!(
            seen.model_lines
                .iter()
                .any(|line| line.contains(": overloaded, 529 on")),
            "{:?}",
            seen.model_lines
        );
    }

    /// What the demo test saw, checked snapshot by snapshot.
    #[derive(Default)]
    struct Seen {
        levels: Vec<Level>,
        model_lines: Vec<String>,
        warning: Option<String>,
    }

    impl Seen {
        fn check(&mut self, snapshot: &Snapshot, story: Duration) {
            let story = story.as_secs();
            let answer = snapshot.hits_you.answer;
            assert!(
                answer != Answer::No || snapshot.level == Level::Operational,
                "at {story} s: {:?} beside {:?}",
                snapshot.level,
                snapshot.hits_you.text
            );
            if snapshot.level == Level::Outage {
                assert!(
                    matches!(answer, Answer::Yes | Answer::Probably),
                    "at {story} s: outage beside {:?}",
                    snapshot.hits_you.text
                );
            }
            if self.levels.last() != Some(&snapshot.level) {
                self.levels.push(snapshot.level);
            }
            for model in snapshot.models.iter().filter(|m| m.followed) {
                if model.level == Level::Overloaded {
                    self.model_lines.push(model_line(model));
                }
            }
            if self.warning.is_none() {
                self.warning.clone_from(&snapshot.coverage.warning);
            }
        }
    }

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
