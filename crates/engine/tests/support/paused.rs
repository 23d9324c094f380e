//! The engine's tasks under paused tokio time with the monitor on the paused clock: the one
//! harness of the scenario tests (`tests/scenarios.rs`) and of the `detection_bench` example.
//!
//! `Engine::start`'s monitor reads the wall clock, which does not move while tokio time is
//! paused, so the rules of `MonitorState` that count wall time (the alert cooldown, the flapping
//! window, the probe window) would see a frozen clock. [`start`] wires the same tasks the way
//! `Engine::start` wires them (`run_probes` with the real `HttpProber`, `run_poller` with the real
//! status-page client, the real `MonitorState`, and the engine's own [`dispatch`] of effects),
//! with a monitor loop whose `now` is the paused clock, and without the store unless asked for
//! ([`start_stored`], the soak test's): the scenario tests and the bench do not read it. An
//! optional [`ProbeHook`] is told of every probe result: the scenario
//! tests keep a log of the probes with it, the bench prints them when asked to.
//!
//! The example includes this file by path, so it holds no `unwrap`: the example's lints forbid it.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use claude_status_core::health::{ProbeKind, ProbeResult};
use claude_status_core::models::ModelsConfig;
use claude_status_core::monitor::{MonitorConfig, MonitorState, Observation};
use claude_status_core::report::Snapshot;
use claude_status_engine::http::HttpLimits;
use claude_status_engine::monitor::{
    dispatch, persist_observation, prune_history, prune_interval, Dispatch,
};
use claude_status_engine::poller::{run_poller, PollerCommand, PollerConfig, StatusPageClient};
use claude_status_engine::probe::{
    run_probes, ApiKey, ApiProbe, HttpProber, ProbeCommand, ProbeConfig, StreamingProbeConfig,
};
use claude_status_engine::store::Store;
use claude_status_engine::{EngineConfig, EngineEvent};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The events a driver may fall behind by: a whole storm's worth, so a driver that reads them
/// all never misses one.
const EVENT_BUFFER: usize = 1024;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The paused clock as a wall clock: the wall time at start plus the paused time since.
#[derive(Debug, Clone, Copy)]
pub struct VirtualClock {
    pub start: Instant,
    pub wall: DateTime<Utc>,
}

impl VirtualClock {
    /// A clock that reads the wall time now, and moves on with tokio's clock.
    pub fn starting_now() -> Self {
        Self {
            start: Instant::now(),
            wall: Utc::now(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.wall + chrono::Duration::from_std(self.start.elapsed()).unwrap_or_default()
    }
}

/// Called with every probe result as it comes back (stamped on the paused clock), for a caller
/// that keeps a log of the probes or prints them.
pub type ProbeHook = Arc<dyn Fn(&VirtualClock, &ProbeResult) + Send + Sync>;

/// The real HTTP prober with each result stamped on the paused clock, so the monitor's windows
/// and the probes' times agree.
struct Restamped {
    inner: HttpProber,
    clock: VirtualClock,
    on_probe: Option<ProbeHook>,
}

impl std::fmt::Debug for Restamped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Restamped")
            .field("inner", &self.inner)
            .field("clock", &self.clock)
            .field("on_probe", &self.on_probe.is_some())
            .finish()
    }
}

impl ApiProbe for Restamped {
    async fn probe(&self, kind: ProbeKind, model: Option<&str>, confirmation: bool) -> ProbeResult {
        let at = self.clock.now();
        let mut result = self.inner.probe(kind, model, confirmation).await;
        result.at = at;
        if let Some(on_probe) = &self.on_probe {
            on_probe(&self.clock, &result);
        }
        result
    }
}

/// The engine's HTTP client for paused time: the same limits, without keep-alive. Under paused
/// time a pooled connection whose streamed answer the probe stopped reading at `message_stop`
/// stalls the next request on it until the 30 s timeout (every second streaming probe timed out;
/// in real time none does), which would make the probes measure the pool instead of the API.
pub fn paused_client(limits: &HttpLimits) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(limits.connect_timeout)
        .timeout(limits.total_timeout)
        .pool_max_idle_per_host(0)
        .build()
}

/// The configuration of a user with a key (`key`) and default settings who pins `pinned`: the
/// status page and the API both at `url` (the simulator serves both), reachability every 60 s and
/// the per-model streaming probe (the most-used model every 60 s, the others every 5 min).
pub fn keyed_config(url: &str, key: &str, pinned: Vec<String>) -> EngineConfig {
    EngineConfig {
        poller: PollerConfig::for_url(url),
        monitor: MonitorConfig {
            models: ModelsConfig {
                pinned,
                ..ModelsConfig::default()
            },
            ..MonitorConfig::default()
        },
        probes: Some(ProbeConfig {
            api_url: url.to_owned(),
            api_key: ApiKey::new(key),
            streaming: Some(StreamingProbeConfig::default()),
            ..ProbeConfig::default()
        }),
        ..EngineConfig::default()
    }
}

/// A running engine on the paused clock: the channels a front end holds, and its tasks.
#[derive(Debug)]
pub struct PausedEngine {
    pub events: broadcast::Receiver<EngineEvent>,
    pub snapshot: watch::Receiver<Snapshot>,
    pub observations: mpsc::Sender<Observation>,
    pub clock: VirtualClock,
    pub tasks: PausedTasks,
}

/// The tasks of a [`PausedEngine`] and the token that stops them.
#[derive(Debug)]
pub struct PausedTasks {
    shutdown: CancellationToken,
    handles: Vec<JoinHandle<()>>,
}

impl PausedTasks {
    /// Stops every task and waits for them.
    pub async fn stop(self) {
        self.shutdown.cancel();
        for handle in self.handles {
            let _ = handle.await;
        }
    }
}

/// `Engine::start`'s wiring of `config` with the monitor on the paused clock, the per-model probe
/// on as with a key (`config.probes` must be set), and `on_probe` told of every probe.
pub fn start(config: EngineConfig, on_probe: Option<ProbeHook>) -> Result<PausedEngine, BoxError> {
    start_stored(config, on_probe, None)
}

/// [`start`] with the store too, for the soak test: the poller keeps its fetches and cache in
/// `store`, and the monitor keeps what `Engine::start`'s monitor keeps (`persist_observation`)
/// and prunes it on the engine's own schedule (`prune_interval` of `config.retention`), both on
/// the paused clock.
#[allow(dead_code)] // Only the soak test keeps history; the scenario tests and the bench do not.
pub fn start_stored(
    config: EngineConfig,
    on_probe: Option<ProbeHook>,
    store: Option<Arc<Store>>,
) -> Result<PausedEngine, BoxError> {
    let clock = VirtualClock::starting_now();
    let probes = config
        .probes
        .clone()
        .ok_or("the paused harness always probes")?;
    probes.validate()?;
    let http = paused_client(&config.poller.limits)?;
    let shutdown = CancellationToken::new();
    let (observation_tx, observation_rx) = mpsc::channel(64);
    let (probe_tx, probe_rx) = mpsc::channel(16);
    let (poller_tx, poller_rx) = mpsc::channel(16);
    let (snapshot_tx, snapshot_rx) = watch::channel(Snapshot::initial());
    let (events_tx, events_rx) = broadcast::channel(EVENT_BUFFER);
    let mut monitor = config.monitor.clone();
    // `Engine::start` sets this when the streaming probe is configured and a key exists.
    monitor.models.probing = true;
    let handles = vec![
        tokio::spawn(run_probes(
            Restamped {
                inner: HttpProber::new(http.clone(), probes.clone()),
                clock,
                on_probe,
            },
            probes.schedule,
            config.monitor.health.clone(),
            probes.streaming.clone(),
            snapshot_rx.clone(),
            observation_tx.clone(),
            probe_rx,
            shutdown.clone(),
        )),
        tokio::spawn(run_poller(
            StatusPageClient::new(http, config.poller.clone(), store.clone()),
            observation_tx.clone(),
            poller_rx,
            shutdown.clone(),
        )),
        tokio::spawn(run_monitor(
            MonitorState::new(monitor),
            observation_rx,
            MonitorOutputs {
                snapshot: snapshot_tx,
                events: events_tx,
                probes: probe_tx,
                poller: poller_tx,
                store: store.map(|store| (store, config.retention)),
            },
            clock,
            shutdown.clone(),
        )),
    ];
    Ok(PausedEngine {
        events: events_rx,
        snapshot: snapshot_rx,
        observations: observation_tx,
        clock,
        tasks: PausedTasks { shutdown, handles },
    })
}

#[derive(Debug)]
struct MonitorOutputs {
    snapshot: watch::Sender<Snapshot>,
    events: broadcast::Sender<EngineEvent>,
    probes: mpsc::Sender<ProbeCommand>,
    poller: mpsc::Sender<PollerCommand>,
    /// The store and the retention, when the harness keeps history.
    store: Option<(Arc<Store>, chrono::Duration)>,
}

/// The engine's monitor loop on the paused clock, with or without the store.
async fn run_monitor(
    mut state: MonitorState,
    mut observations: mpsc::Receiver<Observation>,
    out: MonitorOutputs,
    clock: VirtualClock,
    shutdown: CancellationToken,
) {
    let every = out.store.as_ref().map_or(
        std::time::Duration::from_secs(6 * 3600),
        |(_, retention)| prune_interval(*retention),
    );
    let mut prune = tokio::time::interval(every);
    // The engine's periodic evaluation (the spike alerts), on the same schedule.
    let mut tick = tokio::time::interval(claude_status_engine::monitor::TICK_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let mut ticked = None;
        let observation = tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {
                ticked = Some(clock.now());
                None
            }
            _ = prune.tick() => {
                if let Some((store, retention)) = &out.store {
                    prune_history(store, clock.now(), *retention).await;
                }
                continue;
            }
            observation = observations.recv() => match observation {
                Some(observation) => Some(observation),
                None => return,
            },
        };
        let now = ticked.unwrap_or_else(|| clock.now());
        let effects = match observation {
            Some(observation) => {
                if let Some((store, _)) = &out.store {
                    persist_observation(store, &observation, now).await;
                }
                state.apply(observation, now)
            }
            None => {
                let effects = state.tick(now);
                // As in the engine: a tick publishes only what it decided.
                if effects.is_empty() && out.snapshot.borrow().traffic == state.snapshot().traffic {
                    continue;
                }
                effects
            }
        };
        let mut events = Vec::new();
        for effect in effects {
            // A full queue already holds commands, as in the engine.
            match dispatch(effect, now) {
                Dispatch::Event(event) => events.push(event),
                Dispatch::Probe(command) => {
                    let _ = out.probes.try_send(command);
                }
                Dispatch::Poller(command) => {
                    let _ = out.poller.try_send(command);
                }
            }
        }
        let snapshot = state.snapshot();
        out.snapshot.send_if_modified(|current| {
            let changed = *current != snapshot;
            if changed {
                *current = snapshot;
            }
            changed
        });
        // Events go out after the snapshot, as in the engine.
        for event in events {
            let _ = out.events.send(event);
        }
    }
}
