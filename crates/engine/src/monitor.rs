//! The monitor task: the one owner of the monitor state. Sources send observations over one
//! channel; the monitor folds them through the pure core, stores what must be kept, publishes the
//! snapshot on a `watch` channel and broadcasts each change to whoever listens.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use claude_status_core::alerts::Notification;
use claude_status_core::changes::StatusChange;
use claude_status_core::monitor::{Effect, MonitorConfig, MonitorState, Observation, PageFetch};
use claude_status_core::report::Snapshot;
use claude_status_core::Level;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::error::Result;
use crate::metrics::Metrics;
use crate::poller::{run_poller, PollerCommand, PollerConfig, StatusPageClient};
use crate::probe::{run_probes, HttpProber, ProbeCommand, ProbeConfig};
use crate::store::Store;

/// How often the monitor evaluates what needs time to pass rather than an observation: the spike
/// alerts on the gateway's traffic ("above for 10 minutes" is counted in these steps).
pub const TICK_EVERY: Duration = Duration::from_secs(60);

/// How often old history is pruned while running, at most: a long retention needs no more.
const PRUNE_EVERY: Duration = Duration::from_secs(6 * 3600);

/// How often old history is pruned under `retention`: a sixth of it, between a minute and
/// [`PRUNE_EVERY`]. A fixed six hours would let a one-hour retention keep seven hours of
/// probes, so the database would hold seven times what the user asked for.
pub fn prune_interval(retention: chrono::Duration) -> Duration {
    let sixth = retention.to_std().unwrap_or(PRUNE_EVERY) / 6;
    sixth.clamp(Duration::from_secs(60), PRUNE_EVERY)
}

/// Deletes the history older than `retention` at `now`, off the async workers; a failure is
/// logged, never fatal: monitoring goes on with a bigger database.
pub async fn prune_history(store: &Arc<Store>, now: DateTime<Utc>, retention: chrono::Duration) {
    let store = store.clone();
    let outcome = tokio::task::spawn_blocking(move || store.prune(now, retention)).await;
    match outcome {
        Ok(Ok(report)) if report.total() > 0 => {
            tracing::debug!(rows = report.total(), "pruned old history");
        }
        Ok(Err(e)) => tracing::warn!("pruning old history failed: {e}"),
        _ => {}
    }
}

/// Everything the engine needs to run.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub poller: PollerConfig,
    pub monitor: MonitorConfig,
    /// The API probes; `None` watches the status page alone.
    pub probes: Option<ProbeConfig>,
    /// How long history is kept.
    pub retention: chrono::Duration,
    /// Usage tracking; `None` turns it off.
    pub usage: Option<UsageConfig>,
}

/// Usage tracking: the catalog, the tracker's settings, and where Claude Code's logs are.
#[derive(Debug, Clone)]
pub struct UsageConfig {
    pub catalog: claude_status_core::catalog::Catalog,
    pub tracker: claude_status_core::tracker::TrackerConfig,
    /// The `projects/` folders to read; `None` leaves Claude Code's logs alone.
    pub claude_code_dirs: Option<Vec<std::path::PathBuf>>,
    /// The Admin API's base URL and admin key; `None` leaves it alone.
    pub admin: Option<(String, crate::probe::ApiKey)>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            poller: PollerConfig::default(),
            monitor: MonitorConfig::default(),
            probes: Some(ProbeConfig::default()),
            retention: chrono::Duration::days(crate::store::RETENTION_DEFAULT_DAYS),
            usage: None,
        }
    }
}

/// One thing that happened, for front ends that print or notify as things change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EngineEvent {
    /// The status page changed.
    Change {
        at: DateTime<Utc>,
        change: StatusChange,
    },
    /// Our verdict changed (the first verdict too).
    LevelChanged {
        at: DateTime<Utc>,
        from: Level,
        to: Level,
        reasons: Vec<String>,
    },
    /// A notification to show.
    Notify {
        at: DateTime<Utc>,
        notification: Notification,
    },
    /// The status page admitted trouble our probes had seen earlier.
    LeadTime {
        at: DateTime<Utc>,
        incident_id: String,
        incident_name: String,
        /// The model whose trouble we saw first; `None` for the API-wide probes.
        model: Option<String>,
        detected_at: DateTime<Utc>,
        reported_at: DateTime<Utc>,
    },
}

/// A running engine: its tasks, its channels and the way to stop it.
#[derive(Debug)]
pub struct Engine {
    snapshot: watch::Receiver<Snapshot>,
    events: broadcast::Sender<EngineEvent>,
    first_events: Option<broadcast::Receiver<EngineEvent>>,
    poller_commands: mpsc::Sender<PollerCommand>,
    probe_commands: Option<mpsc::Sender<ProbeCommand>>,
    /// The monitor's input, for sources started beside the engine (the gateway).
    observations: mpsc::Sender<Observation>,
    /// Questions for the monitor that only its state can answer.
    queries: mpsc::Sender<MonitorQuery>,
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Engine {
    /// Starts the sources and the monitor on the current tokio runtime.
    pub fn start(config: EngineConfig, http: reqwest::Client, store: Arc<Store>) -> Result<Self> {
        Self::start_with_metrics(config, http, store, None)
    }

    /// Starts the engine counting its probes, Claude Code's new requests and its catalog into
    /// `metrics` (which can outlive it: the service keeps one across engine restarts, so the
    /// counters keep counting), whose gauges then follow this engine's snapshot.
    pub fn start_with_metrics(
        config: EngineConfig,
        http: reqwest::Client,
        store: Arc<Store>,
        metrics: Option<Arc<Metrics>>,
    ) -> Result<Self> {
        let shutdown = CancellationToken::new();
        let (observation_tx, observation_rx) = mpsc::channel(64);
        let (command_tx, command_rx) = mpsc::channel(16);
        let (query_tx, query_rx) = mpsc::channel(16);
        let (snapshot_tx, snapshot_rx) = watch::channel(Snapshot::initial());
        // Subscribed before any task runs, so the first events cannot be missed.
        let (events_tx, first_events) = broadcast::channel(256);

        let mut tasks = Vec::new();
        // The spike alerts' baselines and trailing hour, from the gateway's ledger rows, so a
        // restart does not start them learning again. Priced with the tracker's catalog.
        tasks.push(tokio::spawn(crate::spikes::send_traffic_seed(
            store.clone(),
            config
                .usage
                .as_ref()
                .map_or_else(claude_status_core::catalog::Catalog::builtin, |u| {
                    u.catalog.clone()
                }),
            Utc::now(),
            observation_tx.clone(),
        )));
        let mut probe_commands = None;
        let mut monitor_config = config.monitor.clone();
        // The monitor says "overloads are not watched" unless the per-model probe really runs.
        monitor_config.models.probing = config
            .probes
            .as_ref()
            .is_some_and(|p| p.streaming.is_some() && p.api_key.is_some());
        if let Some(probes) = config.probes.clone() {
            probes.validate()?;
            let (probe_tx, probe_rx) = mpsc::channel(16);
            probe_commands = Some(probe_tx);
            let schedule = probes.schedule;
            let streaming = probes.streaming.clone();
            tasks.push(tokio::spawn(run_probes(
                HttpProber::new(http.clone(), probes),
                schedule,
                config.monitor.health.clone(),
                streaming,
                snapshot_rx.clone(),
                observation_tx.clone(),
                probe_rx,
                shutdown.clone(),
            )));
        }
        let default_model = monitor_config.models.default_model.clone();
        if let Some(metrics) = &metrics {
            metrics.follow_snapshots(snapshot_rx.clone());
        }
        let mut state = MonitorState::new(monitor_config);
        if let Some(usage) = config.usage.clone() {
            if let Some(metrics) = &metrics {
                metrics.set_catalog(Arc::new(usage.catalog.clone()));
            }
            state = state.with_tracker(claude_status_core::tracker::Tracker::new(
                usage.catalog,
                usage.tracker,
            ));
            if let Some((base_url, key)) = usage.admin {
                tasks.push(tokio::spawn(crate::admin::run_admin_poller(
                    crate::admin::AdminClient::new(http.clone(), base_url, key),
                    observation_tx.clone(),
                    crate::admin::MIN_POLL_INTERVAL,
                    shutdown.clone(),
                )));
            }
            tasks.push(tokio::spawn(crate::usage::send_gateway_month_to_date(
                store.clone(),
                observation_tx.clone(),
            )));
            tasks.push(tokio::spawn(crate::statusline::send_plan_history(
                store.clone(),
                observation_tx.clone(),
            )));
            if let (Some(metrics), Some(_)) = (&metrics, &usage.claude_code_dirs) {
                metrics.expect_claude_code();
            }
            if let Some(dirs) = usage.claude_code_dirs {
                tasks.push(tokio::spawn(crate::usage::run_claude_code_source(
                    store.clone(),
                    dirs,
                    observation_tx.clone(),
                    metrics.clone(),
                    shutdown.clone(),
                )));
            }
        }
        let client = StatusPageClient::new(http, config.poller.clone(), Some(store.clone()));
        let observations = observation_tx.clone();
        tasks.push(tokio::spawn(run_poller(
            client,
            observation_tx,
            command_rx,
            shutdown.clone(),
        )));
        tasks.push(tokio::spawn(run_monitor(
            state,
            MonitorIo {
                store,
                snapshot: snapshot_tx,
                events: events_tx.clone(),
                poller_commands: command_tx.clone(),
                probe_commands: probe_commands.clone(),
                retention: config.retention,
                metrics: metrics.map(|metrics| (metrics, default_model)),
            },
            observation_rx,
            query_rx,
            shutdown.clone(),
        )));
        Ok(Self {
            snapshot: snapshot_rx,
            events: events_tx,
            first_events: Some(first_events),
            poller_commands: command_tx,
            probe_commands,
            observations,
            queries: query_tx,
            shutdown,
            tasks,
        })
    }

    /// The current snapshot, and a way to wait for the next one.
    pub fn snapshot(&self) -> watch::Receiver<Snapshot> {
        self.snapshot.clone()
    }

    /// A stream of events; the first call gets every event since start.
    pub fn subscribe(&mut self) -> broadcast::Receiver<EngineEvent> {
        self.first_events
            .take()
            .unwrap_or_else(|| self.events.subscribe())
    }

    /// Asks for an immediate poll.
    pub async fn check_now(&self) {
        // A full queue already holds a poll request, which is as good.
        let _ = self.poller_commands.try_send(PollerCommand::PollNow);
        if let Some(probes) = &self.probe_commands {
            let _ = probes.try_send(ProbeCommand::ProbeNow);
        }
    }

    /// The snapshot about one model (`check --model`), from the monitor's own state; `None` when
    /// the monitor does not know the model, has stopped, or takes longer than a second.
    pub async fn snapshot_for_model(&self, model: &str) -> Option<Snapshot> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.queries
            .send(MonitorQuery::SnapshotForModel {
                model: model.to_owned(),
                reply,
            })
            .await
            .ok()?;
        tokio::time::timeout(Duration::from_secs(1), answer)
            .await
            .ok()?
            .ok()
            .flatten()
    }

    /// A sender into the monitor, for a source started beside the engine (the gateway feeds
    /// the user's own traffic through it).
    pub fn observation_sender(&self) -> mpsc::Sender<Observation> {
        self.observations.clone()
    }

    /// The token that stops every task.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Stops every task and waits for them.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// A question for the monitor task.
#[derive(Debug)]
enum MonitorQuery {
    SnapshotForModel {
        model: String,
        reply: tokio::sync::oneshot::Sender<Option<Snapshot>>,
    },
}

/// The monitor's outputs.
struct MonitorIo {
    /// The metrics the probes are counted in, and the model a probe without one asked for.
    metrics: Option<(Arc<Metrics>, String)>,
    store: Arc<Store>,
    snapshot: watch::Sender<Snapshot>,
    events: broadcast::Sender<EngineEvent>,
    poller_commands: mpsc::Sender<PollerCommand>,
    probe_commands: Option<mpsc::Sender<ProbeCommand>>,
    retention: chrono::Duration,
}

async fn run_monitor(
    mut state: MonitorState,
    io: MonitorIo,
    mut observations: mpsc::Receiver<Observation>,
    mut queries: mpsc::Receiver<MonitorQuery>,
    shutdown: CancellationToken,
) {
    let mut prune = tokio::time::interval(prune_interval(io.retention));
    let mut tick = tokio::time::interval(TICK_EVERY);
    // After a stall (a laptop's sleep) one evaluation is enough, not one per missed minute.
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            Some(query) = queries.recv() => match query {
                MonitorQuery::SnapshotForModel { model, reply } => {
                    let mut snapshot = state.snapshot_for_model(&model, Utc::now());
                    if let Some(snapshot) = &mut snapshot {
                        snapshot.history_not_saved = io.store.not_saving();
                    }
                    let _ = reply.send(snapshot);
                }
            },
            _ = prune.tick() => prune_history(&io.store, Utc::now(), io.retention).await,
            _ = tick.tick() => {
                let now = Utc::now();
                let effects = state.tick(now);
                let events = handle_effects(&io, effects, now).await;
                // Only what the tick decides is news. Before the first observation the state's
                // snapshot is no verdict yet, and must not replace the initial one.
                let unchanged = io.snapshot.borrow().traffic == state.snapshot().traffic;
                if events.is_empty() && unchanged {
                    continue;
                }
                publish(&io, &state, events);
            }
            observation = observations.recv() => {
                let Some(observation) = observation else { return };
                let now = Utc::now();
                if let Some((metrics, default_model)) = &io.metrics {
                    count_observation(metrics, &observation, default_model);
                }
                persist_observation(&io.store, &observation, now).await;
                let effects = state.apply(observation, now);
                let events = handle_effects(&io, effects, now).await;
                publish(&io, &state, events);
            }
        }
    }
}

/// Publishes the state's snapshot, when it changed, and then the events of the step.
fn publish(io: &MonitorIo, state: &MonitorState, events: Vec<EngineEvent>) {
    let mut snapshot = state.snapshot();
    // Read after this step's writes, so a write the full disk refused shows.
    snapshot.history_not_saved = io.store.not_saving();
    io.snapshot.send_if_modified(|current| {
        if *current == snapshot {
            false
        } else {
            *current = snapshot;
            true
        }
    });
    // Events go out after the snapshot, so a listener that reads the snapshot on an event sees
    // the state that event led to.
    for event in events {
        let _ = io.events.send(event);
    }
}

/// Counts what only the monitor sees in the metrics: probe results, and the catalog the costs
/// are priced with. The usage sources count their own live records, because only they can tell
/// a new request from this month's history read back at start.
fn count_observation(metrics: &Metrics, observation: &Observation, default_model: &str) {
    match observation {
        Observation::Probe { result } => metrics.observe_probe(result, default_model),
        Observation::Catalog { catalog } => metrics.set_catalog(Arc::new((**catalog).clone())),
        _ => {}
    }
}

/// Keeps every probe result and every incident we are shown (with its updates) before the state
/// folds them. Public for the soak test's paused-time monitor, which stores what this one does.
pub async fn persist_observation(
    store: &Arc<Store>,
    observation: &Observation,
    now: DateTime<Utc>,
) {
    if let Observation::Probe { result } = observation {
        let store = store.clone();
        let result = result.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            store.record_probe(&result)?;
            // The streaming probe's rate-limit headers are the live headroom of the user's tier;
            // `claude-status limits` reads the latest one back.
            if result.kind == claude_status_core::health::ProbeKind::Streaming
                && !result.ratelimit.is_empty()
            {
                store.record_ratelimit_reading(&crate::store::RateLimitReading {
                    at: result.at,
                    source: claude_status_core::usage::UsageSource::Probe,
                    model: None,
                    snapshot: result.ratelimit.clone(),
                })?;
            }
            Ok::<(), crate::Error>(())
        })
        .await;
        if let Ok(Err(e)) = outcome {
            tracing::warn!("could not store a probe result: {e}");
        }
        return;
    }
    let incidents = match observation {
        Observation::StatusPage {
            fetch:
                PageFetch::Fetched {
                    page,
                    not_modified: false,
                    ..
                },
        } => page.incidents.clone(),
        Observation::IncidentHistory { incidents } => incidents.clone(),
        Observation::IncidentDetail {
            incident: Some(incident),
            ..
        } => vec![(**incident).clone()],
        _ => return,
    };
    if incidents.is_empty() {
        return;
    }
    let store = store.clone();
    let outcome =
        tokio::task::spawn_blocking(move || store.upsert_incidents(&incidents, now)).await;
    if let Ok(Err(e)) = outcome {
        tracing::warn!("could not store incidents: {e}");
    }
}

/// Where one effect of the core goes: to the front ends as an event, or to a source as a command.
#[derive(Debug, Clone, PartialEq)]
pub enum Dispatch {
    /// An event to broadcast to the front ends.
    Event(EngineEvent),
    /// A command to the probe loop.
    Probe(ProbeCommand),
    /// A command to the status-page poller.
    Poller(PollerCommand),
}

/// The one mapping from the core's effects to the engine's events and commands, at `now`. The
/// monitor task stores what each event says to keep and passes the commands on; the paused-time
/// harness of the scenario tests and of the `detection_bench` example, which has no store, calls
/// it too, so both publish exactly what the engine publishes.
pub fn dispatch(effect: Effect, now: DateTime<Utc>) -> Dispatch {
    match effect {
        Effect::Change(change) => Dispatch::Event(EngineEvent::Change { at: now, change }),
        Effect::LevelChanged { from, to, reasons } => Dispatch::Event(EngineEvent::LevelChanged {
            at: now,
            from,
            to,
            reasons,
        }),
        Effect::Notify(notification) => Dispatch::Event(EngineEvent::Notify {
            at: now,
            notification,
        }),
        Effect::ProbeModel { model } => Dispatch::Probe(ProbeCommand::ProbeModel(model)),
        Effect::LeadTime {
            incident_id,
            incident_name,
            model,
            detected_at,
            reported_at,
        } => Dispatch::Event(EngineEvent::LeadTime {
            at: now,
            incident_id,
            incident_name,
            model,
            detected_at,
            reported_at,
        }),
        Effect::FetchIncident { id } => Dispatch::Poller(PollerCommand::FetchIncident(id)),
    }
}

/// Stores what the effects say to keep, passes commands on, and returns the events to broadcast.
async fn handle_effects(
    io: &MonitorIo,
    effects: Vec<Effect>,
    now: DateTime<Utc>,
) -> Vec<EngineEvent> {
    let mut changes = Vec::new();
    let mut events = Vec::new();
    for effect in effects {
        match dispatch(effect, now) {
            Dispatch::Event(event) => {
                persist_event(&io.store, &event, &mut changes).await;
                events.push(event);
            }
            Dispatch::Probe(command) => {
                if let Some(probes) = &io.probe_commands {
                    // A full queue already holds probe requests; this one can wait its turn.
                    let _ = probes.try_send(command);
                }
            }
            Dispatch::Poller(command) => {
                if io.poller_commands.try_send(command).is_err() {
                    tracing::warn!("poller busy: an incident's details will be fetched later");
                }
            }
        }
    }
    if !changes.is_empty() {
        let store = io.store.clone();
        let outcome =
            tokio::task::spawn_blocking(move || store.record_changes(now, &changes)).await;
        if let Ok(Err(e)) = outcome {
            tracing::warn!("could not store status changes: {e}");
        }
    }
    events
}

/// Stores what one event says to keep: a level change and a lead time at once; a status change
/// goes into `changes`, which are stored together once every effect is handled.
async fn persist_event(store: &Arc<Store>, event: &EngineEvent, changes: &mut Vec<StatusChange>) {
    match event {
        EngineEvent::Change { change, .. } => changes.push(change.clone()),
        EngineEvent::LevelChanged {
            at,
            from,
            to,
            reasons,
        } => {
            let store = store.clone();
            let (at, from, to, reasons) = (*at, *from, *to, reasons.clone());
            let outcome = tokio::task::spawn_blocking(move || {
                store.record_level_change(at, from.as_str(), to.as_str(), &reasons)
            })
            .await;
            if let Ok(Err(e)) = outcome {
                tracing::warn!("could not store a level change: {e}");
            }
        }
        EngineEvent::LeadTime {
            at,
            incident_id,
            incident_name,
            model,
            detected_at,
            reported_at,
        } => {
            let store = store.clone();
            let (id, name, model) = (incident_id.clone(), incident_name.clone(), model.clone());
            let (at, detected_at, reported_at) = (*at, *detected_at, *reported_at);
            let outcome = tokio::task::spawn_blocking(move || {
                store.record_lead_time(&id, &name, model.as_deref(), detected_at, reported_at, at)
            })
            .await;
            if let Ok(Err(e)) = outcome {
                tracing::warn!("could not store a detection lead time: {e}");
            }
        }
        // A notification leaves nothing to keep.
        EngineEvent::Notify { .. } => {}
    }
}
