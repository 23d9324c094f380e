//! The detection figures of issue 11, measured by a benchmark and never asserted: how fast the
//! real engine turns an overload of one model on `POST /v1/messages` into its verdict and its
//! notification, what a storm on a model the user does not use raises, what a stray 529 and an
//! alternating 529/200 raise, and what the per-model probe costs a day.
//!
//! ```text
//! cargo run --release -p claude-status-engine --example detection_bench [-- --phases N]
//! cargo run --release -p claude-status-engine --example detection_bench -- host --upstream URL
//! ```
//!
//! The first form runs every figure under paused tokio time: the engine and the in-process
//! simulator share one runtime whose clock only moves when everything waits, so the minutes of a
//! storm pass in a moment and exactly. The simulator plays `model-overload` on its manual clock;
//! the bench jumps its story into the plateau (every Opus 5.5 message overloaded, every other
//! model and `/v1/models` answering) at onsets spread over the 60 s probe cycle.
//!
//! Two harnesses run the engine. `Engine::start` is the engine as the CLI and the tray run it.
//! Its monitor reads the wall clock, which does not move while tokio time is paused, so rules
//! that count wall time (the alert cooldown, the flapping window, the probe window) see a
//! frozen clock there; the figures that depend on them (a stray 529, an alternating 529/200) run
//! on the second harness, the same tasks (`run_probes`, `HttpProber`, `run_poller`,
//! `MonitorState`) wired as `Engine::start` wires them, with a monitor loop whose `now` is the
//! paused clock (`tests/support/paused.rs`, the scenario tests' harness too).
//!
//! The second form (`host`) runs the engine in real time with the local gateway inside it, as
//! the tray does, and prints one JSON line per gateway record and per engine event, so
//! `tests/claude_code/driver.py` can measure the real Claude Code's storm through it.

// The second harness, shared with the scenario tests.
#[path = "../tests/support/paused.rs"]
mod paused;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use claude_status_core::alerts::{AlertKind, Notification};
use claude_status_core::health::ProbeResult;
use claude_status_core::models::{MOST_USED_PROBE_INTERVAL, OTHER_PROBE_INTERVAL};
use claude_status_core::monitor::Observation;
use claude_status_core::pricing::{probe_cost_per_day, PRICES_AS_OF, PROBE_TOKENS_ESTIMATE};
use claude_status_core::report::Snapshot;
use claude_status_core::usage::{TokenCounts, UsageRecord, UsageSource};
use claude_status_core::Level;
use claude_status_engine::gateway::{Gateway, GatewayConfig};
use claude_status_engine::http::build_client;
use claude_status_engine::probe::HttpProber;
use claude_status_engine::{Engine, EngineConfig, EngineEvent, Store};
use claude_status_simulator::{Clock, SimHandle, Simulator};
use paused::{paused_client, PausedEngine, PausedTasks, ProbeHook, VirtualClock};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The model the storms hit: Claude Code's default, the one a typical user works on.
const STORM_MODEL: &str = "claude-opus-5-5";
/// A model the user works on while Opus is overloaded, in the figures about other models.
const OTHER_MODEL: &str = "claude-sonnet-5-5";
/// Any key: only the simulator sees it.
const BENCH_KEY: &str = "sk-ant-api03-detection-bench";
/// Story time of `model-overload`'s plateau: every message to its model overloaded.
const PLATEAU: Duration = Duration::from_secs(180);
/// The engine runs this long before a storm, so its state is the steady one.
const WARM_UP: Duration = Duration::from_secs(600);
/// How often the driver looks at the simulator's counters (the first 529 it served).
const TICK: Duration = Duration::from_millis(100);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = if args.first().map(String::as_str) == Some("host") {
        host_main(&args[1..])
    } else {
        paused_main(&args)
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("detection_bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn value_of<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

// ---------------------------------------------------------------------------------------------
// Paused time.
// ---------------------------------------------------------------------------------------------

fn paused_main(args: &[String]) -> Result<(), BoxError> {
    let phases: u64 = value_of(args, "--phases").map_or(Ok(12), str::parse)?;
    if !(1..=60).contains(&phases) {
        return Err("--phases must be 1 to 60".into());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(std::env::var_os("DETECTION_BENCH_REAL").is_none())
        .build()?;
    runtime.block_on(figures(phases))
}

/// The storm onsets: spread evenly over one 60 s probe cycle, half a second off the whole
/// seconds so no onset ties with a probe's timer.
fn onsets(phases: u64) -> Vec<Duration> {
    (0..phases)
        .map(|k| WARM_UP + Duration::from_millis(500 + k * 60_000 / phases))
        .collect()
}

async fn figures(phases: u64) -> Result<(), BoxError> {
    let onsets = onsets(phases);
    let n = onsets.len();
    if std::env::var_os("DETECTION_BENCH_PROBE").is_some() {
        let sim = Simulator::new("healthy")
            .clock(Clock::Manual)
            .start()
            .await?;
        let config = engine_config(&sim.base_url(), &Users::default());
        let probes = config.probes.clone().ok_or("probes")?;
        let http = paused_client(&config.poller.limits)?;
        let prober = HttpProber::new(http, probes);
        let metronome = tokio::spawn(async {
            let mut tick = tokio::time::interval(TICK);
            loop {
                tick.tick().await;
            }
        });
        for _ in 0..3 {
            let started = Instant::now();
            let result = prober.streaming(Some(STORM_MODEL), false).await;
            eprintln!(
                "{:?} {:?} {} after {:?}",
                result.classification.outcome,
                result.classification.http_status,
                result.classification.detail,
                started.elapsed()
            );
        }
        metronome.abort();
        return Ok(());
    }
    if std::env::var_os("DETECTION_BENCH_DEBUG").is_some() {
        let seen = step_storm(Harness::Virtual, onsets[0], &Users::pinned(STORM_MODEL)).await?;
        eprintln!("{seen:#?}");
        return Ok(());
    }
    println!(
        "detection bench: default settings, a key, probes against the in-process simulator under \
         paused time; {n} storm onsets spread over the 60 s probe cycle"
    );

    // (a) The most-used model overloaded, through Engine::start.
    let mut runs = Vec::new();
    for &onset in &onsets {
        runs.push(step_storm(Harness::Engine, onset, &Users::pinned(STORM_MODEL)).await?);
    }
    print_storm_figures("Engine::start", &runs, n);

    // (a) again with the monitor on the paused clock: the two must agree.
    let mut runs = Vec::new();
    for &onset in &onsets {
        runs.push(step_storm(Harness::Virtual, onset, &Users::pinned(STORM_MODEL)).await?);
    }
    print_storm_figures("monitor on the paused clock", &runs, n);

    // (a) with the scenario's own ramp instead of a step.
    let mut runs = Vec::new();
    for &onset in &onsets {
        runs.push(ramp_storm(onset).await?);
    }
    print_ramp_figures(&runs, n);

    // (c) A storm on a model the user does not use.
    let mut unused = Vec::new();
    let mut stale = Vec::new();
    for &onset in &onsets {
        unused.push(step_storm(Harness::Engine, onset, &Users::pinned(OTHER_MODEL)).await?);
        stale.push(step_storm(Harness::Engine, onset, &Users::stale_storm_model()).await?);
    }
    print_unused_figures(&unused, &stale, n);

    // (d) A stray 529, and an alternating 529/200.
    let mut strays = Vec::new();
    let mut flaps = Vec::new();
    for (k, &onset) in onsets.iter().enumerate() {
        strays.push(stray(onset).await?);
        flaps.push(alternating(onset, k % 2 == 1).await?);
    }
    print_stray_figures(&strays, &flaps, n);

    // (e) What the probe costs a day.
    print_costs();
    Ok(())
}

/// Which wiring runs the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Harness {
    /// `Engine::start`, as the CLI and the tray run it (its monitor reads the wall clock).
    Engine,
    /// The same tasks with a monitor loop whose `now` is the paused clock.
    Virtual,
}

/// What the user relies on, as the engine learns it.
#[derive(Debug, Clone, Default)]
struct Users {
    pinned: Vec<String>,
    /// (model, how long ago, how many requests) of the user's own traffic.
    traffic: Vec<(&'static str, chrono::Duration, u32)>,
}

impl Users {
    fn pinned(model: &str) -> Self {
        Self {
            pinned: vec![model.to_owned()],
            traffic: Vec::new(),
        }
    }

    /// Opus 5.5 used two days ago (followed, probed every 300 s, not relied on); Sonnet 5.5 used
    /// five minutes ago, so it is the most used and the one relied on.
    fn stale_storm_model() -> Self {
        Self {
            pinned: Vec::new(),
            traffic: vec![
                (STORM_MODEL, chrono::Duration::days(2), 5),
                (OTHER_MODEL, chrono::Duration::minutes(5), 20),
            ],
        }
    }
}

/// A running engine in either harness.
#[derive(Debug)]
struct Rig {
    events: broadcast::Receiver<EngineEvent>,
    snapshot: watch::Receiver<Snapshot>,
    observations: mpsc::Sender<Observation>,
    clock: Option<VirtualClock>,
    running: Running,
}

#[derive(Debug)]
enum Running {
    Engine(Engine),
    Virtual(PausedTasks),
}

impl Rig {
    fn now(&self) -> DateTime<Utc> {
        self.clock.map_or_else(Utc::now, |c| c.now())
    }

    async fn stop(self) {
        match self.running {
            Running::Engine(engine) => engine.shutdown().await,
            Running::Virtual(tasks) => tasks.stop().await,
        }
    }
}

/// The configuration a user with a key and default settings runs.
fn engine_config(url: &str, users: &Users) -> EngineConfig {
    EngineConfig {
        retention: chrono::Duration::days(30),
        ..paused::keyed_config(url, BENCH_KEY, users.pinned.clone())
    }
}

async fn start_rig(harness: Harness, url: &str, users: &Users) -> Result<Rig, BoxError> {
    let config = engine_config(url, users);
    let rig = match harness {
        Harness::Engine => {
            let store = Arc::new(Store::open_in_memory()?);
            let http = paused_client(&config.poller.limits)?;
            let mut engine = Engine::start(config, http, store)?;
            Rig {
                events: engine.subscribe(),
                snapshot: engine.snapshot(),
                observations: engine.observation_sender(),
                clock: None,
                running: Running::Engine(engine),
            }
        }
        Harness::Virtual => start_virtual(config)?,
    };
    send_traffic(&rig, users).await?;
    Ok(rig)
}

/// The paused-time harness with the monitor on the paused clock, each probe printed to stderr
/// when `DETECTION_BENCH_DEBUG` is set.
fn start_virtual(config: EngineConfig) -> Result<Rig, BoxError> {
    let print_probes: Option<ProbeHook> = std::env::var_os("DETECTION_BENCH_DEBUG").map(|_| {
        Arc::new(|clock: &VirtualClock, result: &ProbeResult| {
            eprintln!(
                "{:>8.3} s  {:?} {:?} confirmation={} -> {:?} {:?} {}",
                clock.start.elapsed().as_secs_f64(),
                result.kind,
                result.model.as_deref(),
                result.confirmation,
                result.classification.outcome,
                result.classification.http_status,
                result.classification.detail
            );
        }) as ProbeHook
    });
    let PausedEngine {
        events,
        snapshot,
        observations,
        clock,
        tasks,
    } = paused::start(config, print_probes)?;
    Ok(Rig {
        events,
        snapshot,
        observations,
        clock: Some(clock),
        running: Running::Virtual(tasks),
    })
}

/// The user's own traffic, as the gateway would have recorded it.
async fn send_traffic(rig: &Rig, users: &Users) -> Result<(), BoxError> {
    let now = rig.now();
    let mut records = Vec::new();
    for &(model, ago, count) in &users.traffic {
        for i in 0..count {
            records.push(UsageRecord {
                at: now - ago + chrono::Duration::seconds(i64::from(i)),
                source: UsageSource::Gateway,
                model: model.to_owned(),
                tokens: TokenCounts {
                    input: 1200,
                    output: 80,
                    ..TokenCounts::default()
                },
                status: Some(200),
                latency_ms: Some(900),
                ttft_ms: Some(400),
                service_tier: Some("standard".to_owned()),
                message_id: Some(format!("msg_bench_{model}_{i}")),
                request_id: Some(format!("req_bench_{model}_{i}")),
                session_id: None,
                project: None,
                reported_cost_usd: None,
                is_sidechain: false,
            });
        }
    }
    records.sort_by_key(|r| r.at);
    if !records.is_empty() {
        rig.observations
            .send(Observation::Usage { records })
            .await
            .map_err(|_| "the monitor stopped")?;
    }
    Ok(())
}

/// A change the driver makes to the simulator at a given time.
#[derive(Debug, Clone, Copy)]
enum Action {
    /// `model-overload` on its plateau: every message to the storm model overloaded at once.
    StepStorm,
    /// `model-overload` from story time zero on the real clock: healthy for a minute, then its
    /// two-minute ramp.
    RampStorm,
    /// Another scenario (`healthy`, `flapping`).
    Switch(&'static str),
    /// One message to the storm model from outside the engine, so an alternation by request
    /// number starts on the other foot for the engine's probes.
    SpendOne,
}

#[derive(Debug, Clone)]
struct Script {
    actions: Vec<(Duration, Action)>,
    /// The time the figures count from (the storm's onset).
    onset: Duration,
    /// Switch to this scenario as soon as the simulator served its first overload.
    after_first_hit: Option<&'static str>,
    /// The run ends here.
    until: Duration,
}

/// What one run saw, in seconds after the onset.
#[derive(Debug, Default)]
struct Seen {
    /// The simulator's first overload answer (529 or a 200 ending in an overloaded event) for
    /// the storm model.
    first_hit: Option<f64>,
    /// The app's first `overloaded` level.
    verdict: Option<f64>,
    /// The storm model's own first `overloaded` verdict (its row in the snapshot).
    model_verdict: Option<f64>,
    /// Trouble notifications, with their times.
    trouble: Vec<(f64, Notification)>,
    recovered: Vec<(f64, Notification)>,
    flapping: usize,
    /// Every other notification's title (incidents and such).
    other: Vec<String>,
    /// Level changes to overloaded after the onset.
    overloaded_episodes: usize,
    level_changes: usize,
    worst_level: Option<Level>,
    /// Overload answers the simulator served for the storm model, and its requests.
    hits: u64,
    model_requests: u64,
    /// Level changes and notifications before the onset (false alarms of the warm-up).
    before_onset: usize,
    /// Probe answers classified as timeouts: paused time must not make any.
    timeouts: u64,
}

fn hits_of(sim: &SimHandle) -> (u64, u64) {
    sim.stats()
        .messages_by_model
        .get(STORM_MODEL)
        .map_or((0, 0), |c| (c.overloaded + c.stream_errors, c.requests))
}

async fn run(
    harness: Harness,
    users: &Users,
    script: &Script,
    clock: Clock,
) -> Result<Seen, BoxError> {
    let sim = Simulator::new("healthy")
        .clock(clock)
        .overload_model(STORM_MODEL)
        .start()
        .await?;
    let url = sim.base_url();
    let mut rig = start_rig(harness, &url, users).await?;
    let start = Instant::now();
    let onset = start + script.onset;
    let secs_after_onset = || {
        let now = Instant::now();
        if now >= onset {
            (now - onset).as_secs_f64()
        } else {
            -(onset - now).as_secs_f64()
        }
    };
    let mut seen = Seen::default();
    let mut actions = script.actions.clone();
    actions.sort_by_key(|(at, _)| *at);
    let mut actions = actions.into_iter().peekable();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let (hits_at_start, _) = hits_of(&sim);
    let mut reacted = false;
    loop {
        let next_action = actions
            .peek()
            .map_or(start + script.until, |(at, _)| start + *at);
        tokio::select! {
            biased;
            event = rig.events.recv() => {
                let event = match event {
                    Ok(event) => event,
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return Err("the engine stopped".into()),
                };
                let t = secs_after_onset();
                if t < 0.0 && matches!(event, EngineEvent::Notify { .. } | EngineEvent::LevelChanged { to: Level::Overloaded | Level::Outage, .. }) {
                    seen.before_onset += 1;
                }
                match event {
                    EngineEvent::LevelChanged { to, .. } if t >= 0.0 => {
                        seen.level_changes += 1;
                        seen.worst_level = Some(match seen.worst_level {
                            Some(worst) if worst.severity() >= to.severity() => worst,
                            _ => to,
                        });
                        if to == Level::Overloaded {
                            seen.overloaded_episodes += 1;
                            seen.verdict.get_or_insert(t);
                        }
                    }
                    EngineEvent::Notify { notification, .. } if t >= 0.0 => match notification.kind {
                        AlertKind::Trouble => seen.trouble.push((t, notification)),
                        AlertKind::Recovered => seen.recovered.push((t, notification)),
                        AlertKind::Flapping => seen.flapping += 1,
                        _ => seen.other.push(notification.title),
                    },
                    _ => {}
                }
            }
            changed = rig.snapshot.changed() => {
                if changed.is_err() {
                    return Err("the engine stopped".into());
                }
                let t = secs_after_onset();
                let snapshot = rig.snapshot.borrow_and_update().clone();
                if t >= 0.0 && seen.model_verdict.is_none() && snapshot.models.iter().any(|m| {
                    m.model == STORM_MODEL && m.level == Level::Overloaded
                }) {
                    seen.model_verdict = Some(t);
                }
                if snapshot.probe.as_ref().is_some_and(|p| {
                    p.outcome == claude_status_core::probe::ProbeOutcome::Timeout
                }) {
                    seen.timeouts += 1;
                }
            }
            () = tokio::time::sleep_until(next_action) => {
                match actions.next() {
                    None => break,
                    Some((_, action)) => apply(&sim, action).await?,
                }
            }
            _ = tick.tick() => {
                let (hits, _) = hits_of(&sim);
                if hits > hits_at_start && seen.first_hit.is_none() {
                    seen.first_hit = Some(secs_after_onset());
                    if let (Some(scenario), false) = (script.after_first_hit, reacted) {
                        sim.set_scenario(scenario)?;
                        reacted = true;
                    }
                }
            }
        }
    }
    let (hits, requests) = hits_of(&sim);
    seen.hits = hits - hits_at_start;
    seen.model_requests = requests;
    rig.stop().await;
    sim.shutdown().await;
    Ok(seen)
}

async fn apply(sim: &SimHandle, action: Action) -> Result<(), BoxError> {
    match action {
        Action::StepStorm => {
            sim.set_scenario_with_model("model-overload", STORM_MODEL)?;
            sim.advance(PLATEAU);
        }
        Action::RampStorm => sim.set_scenario_with_model("model-overload", STORM_MODEL)?,
        Action::Switch(name) => sim.set_scenario(name)?,
        Action::SpendOne => {
            reqwest::Client::new()
                .post(format!("{}/v1/messages", sim.base_url()))
                .header("x-api-key", BENCH_KEY)
                .header("anthropic-version", "2023-06-01")
                .json(&serde_json::json!({
                    "model": STORM_MODEL,
                    "max_tokens": 1,
                    "messages": [{"role": "user", "content": "ping"}],
                }))
                .send()
                .await?;
        }
    }
    Ok(())
}

/// A storm that starts at `onset` at full strength, lasts 15 minutes and is followed by 10 quiet
/// ones.
async fn step_storm(harness: Harness, onset: Duration, users: &Users) -> Result<Seen, BoxError> {
    let end = onset + Duration::from_secs(15 * 60);
    let script = Script {
        actions: vec![(onset, Action::StepStorm), (end, Action::Switch("healthy"))],
        onset,
        after_first_hit: None,
        until: end + Duration::from_secs(10 * 60),
    };
    let mut seen = run(harness, users, &script, Clock::Manual).await?;
    // The recovery is timed from the storm's end.
    let length = (end - onset).as_secs_f64();
    for (t, _) in &mut seen.recovered {
        *t -= length;
    }
    Ok(seen)
}

/// `model-overload` as scripted: the switch starts its story, the ramp begins a minute later
/// (the onset) and is total two minutes after that.
async fn ramp_storm(switch: Duration) -> Result<Seen, BoxError> {
    let onset = switch + Duration::from_secs(60);
    let script = Script {
        actions: vec![(switch, Action::RampStorm)],
        onset,
        after_first_hit: None,
        until: onset + Duration::from_secs(8 * 60),
    };
    run(
        Harness::Engine,
        &Users::pinned(STORM_MODEL),
        &script,
        Clock::Real { speed: 1.0 },
    )
    .await
}

/// One overloaded answer: the storm starts, and ends as soon as the simulator served one 529.
async fn stray(onset: Duration) -> Result<Seen, BoxError> {
    let script = Script {
        actions: vec![(onset, Action::StepStorm)],
        onset,
        after_first_hit: Some("healthy"),
        until: onset + Duration::from_secs(30 * 60),
    };
    run(
        Harness::Virtual,
        &Users::pinned(STORM_MODEL),
        &script,
        Clock::Manual,
    )
    .await
}

/// Every other message overloaded for an hour (`flapping`), then healthy for 15 minutes. With
/// `odd`, the alternation starts on the other foot.
async fn alternating(onset: Duration, odd: bool) -> Result<Seen, BoxError> {
    let end = onset + Duration::from_secs(60 * 60);
    let mut actions = vec![(onset, Action::Switch("flapping"))];
    if odd {
        actions.push((onset, Action::SpendOne));
    }
    actions.push((end, Action::Switch("healthy")));
    let script = Script {
        actions,
        onset,
        after_first_hit: None,
        until: end + Duration::from_secs(15 * 60),
    };
    run(
        Harness::Virtual,
        &Users::pinned(STORM_MODEL),
        &script,
        Clock::Manual,
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Printing.
// ---------------------------------------------------------------------------------------------

/// (min, median, max) of the values, or `None` without any.
fn summary(values: &[f64]) -> Option<(f64, f64, f64)> {
    let mut v: Vec<f64> = values.to_vec();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    let median = if v.len().is_multiple_of(2) {
        (v[mid - 1] + v[mid]) / 2.0
    } else {
        v[mid]
    };
    Some((v[0], median, v[v.len() - 1]))
}

fn stats_text(values: &[f64], of: usize) -> String {
    match summary(values) {
        None => format!("none in {of} phases"),
        Some((min, median, max)) => {
            let missing = of - values.len();
            let tail = if missing > 0 {
                format!(" ({missing} phases without one)")
            } else {
                String::new()
            };
            format!(
                "min {min:.1} s, median {median:.1} s, max {max:.1} s over {} phases{tail}",
                values.len()
            )
        }
    }
}

fn print_storm_figures(harness: &str, runs: &[Seen], n: usize) {
    let verdicts: Vec<f64> = runs.iter().filter_map(|r| r.verdict).collect();
    let notifications: Vec<f64> = runs
        .iter()
        .filter_map(|r| r.trouble.first().map(|(t, _)| *t))
        .collect();
    let first_hits: Vec<f64> = runs.iter().filter_map(|r| r.first_hit).collect();
    let recoveries: Vec<f64> = runs
        .iter()
        .filter_map(|r| r.recovered.first().map(|(t, _)| *t))
        .collect();
    println!(
        "onset→overloaded verdict (most-used model, /v1/messages only) [{harness}]: {}",
        stats_text(&verdicts, n)
    );
    println!(
        "onset→overloaded notification (most-used model, /v1/messages only) [{harness}]: {}",
        stats_text(&notifications, n)
    );
    println!(
        "  onset→first 529 served (the next probe): {}",
        stats_text(&first_hits, n)
    );
    println!(
        "  storm end→recovery notification: {}",
        stats_text(&recoveries, n)
    );
    if let Some((_, first)) = runs.iter().find_map(|r| r.trouble.first()) {
        println!("  notification: \"{}\" / \"{}\"", first.title, first.body);
    }
    let extra: usize = runs.iter().map(|r| r.trouble.len().saturating_sub(1)).sum();
    let early: usize = runs.iter().map(|r| r.before_onset).sum();
    let timeouts: u64 = runs.iter().map(|r| r.timeouts).sum();
    println!(
        "  per storm: {} overloaded episode(s) and {} trouble notification(s) at most; \
         {extra} repeated notifications, {early} alarms before the onset, {timeouts} probe timeouts",
        runs.iter().map(|r| r.overloaded_episodes).max().unwrap_or(0),
        runs.iter().map(|r| r.trouble.len()).max().unwrap_or(0),
    );
}

fn print_ramp_figures(runs: &[Seen], n: usize) {
    let verdicts: Vec<f64> = runs.iter().filter_map(|r| r.verdict).collect();
    let notifications: Vec<f64> = runs
        .iter()
        .filter_map(|r| r.trouble.first().map(|(t, _)| *t))
        .collect();
    let from_first_hit: Vec<f64> = runs
        .iter()
        .filter_map(|r| Some(r.trouble.first()?.0 - r.first_hit?))
        .collect();
    let first_hits: Vec<f64> = runs.iter().filter_map(|r| r.first_hit).collect();
    println!(
        "ramp start→overloaded notification (model-overload's own ramp, 0 % at 1 min to 100 % at \
         3 min) [Engine::start]: {}",
        stats_text(&notifications, n)
    );
    println!(
        "  ramp start→overloaded verdict: {}",
        stats_text(&verdicts, n)
    );
    println!(
        "  ramp start→first 529 served: {}",
        stats_text(&first_hits, n)
    );
    println!(
        "  first 529 served→overloaded notification: {}",
        stats_text(&from_first_hit, n)
    );
}

fn print_unused_figures(unused: &[Seen], stale: &[Seen], n: usize) {
    let trouble: usize = unused.iter().map(|r| r.trouble.len()).sum();
    let probed: u64 = unused.iter().map(|r| r.model_requests).sum();
    let worst = worst_of(unused);
    println!(
        "storm on a model the user does not use (Sonnet 5.5 pinned, Opus 5.5 never used): \
         {trouble} overloaded notifications over {n} phases; Opus 5.5 probed {probed} times; \
         app level at worst {worst}"
    );
    let trouble: usize = stale.iter().map(|r| r.trouble.len()).sum();
    let worst = worst_of(stale);
    let model_verdicts: Vec<f64> = stale.iter().filter_map(|r| r.model_verdict).collect();
    println!(
        "storm on a model used 2 days ago, not in the last hour (Sonnet 5.5 used 5 min ago): \
         {trouble} overloaded notifications over {n} phases; app level at worst {worst}"
    );
    println!(
        "  onset→Opus 5.5's own row overloaded (probed every 300 s): {}",
        stats_text(&model_verdicts, n)
    );
    let others: Vec<&String> = stale.iter().flat_map(|r| r.other.iter()).collect();
    if let Some(first) = others.first() {
        println!(
            "  other notifications: {} (first: \"{first}\")",
            others.len()
        );
    }
}

fn worst_of(runs: &[Seen]) -> &'static str {
    runs.iter()
        .filter_map(|r| r.worst_level)
        .max_by_key(|l| l.severity())
        .map_or("operational (no change)", |l| l.as_str())
}

fn print_stray_figures(strays: &[Seen], flaps: &[Seen], n: usize) {
    let notifications: usize = strays
        .iter()
        .map(|r| r.trouble.len() + r.recovered.len() + r.flapping + r.other.len())
        .sum();
    let hits: Vec<u64> = strays.iter().map(|r| r.hits).collect();
    let episodes: usize = strays.iter().map(|r| r.overloaded_episodes).sum();
    println!(
        "a single stray 529 [monitor on the paused clock]: {notifications} notifications and \
         {episodes} overloaded verdicts over {n} phases (529s served per phase: {}..{})",
        hits.iter().min().unwrap_or(&0),
        hits.iter().max().unwrap_or(&0)
    );
    let per_run: Vec<String> = flaps
        .iter()
        .map(|r| {
            format!(
                "{}/{}/{}/{}",
                r.overloaded_episodes,
                r.trouble.len(),
                r.flapping,
                r.recovered.len()
            )
        })
        .collect();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for text in per_run {
        *counts.entry(text).or_default() += 1;
    }
    let counts: Vec<String> = counts
        .into_iter()
        .map(|(k, v)| format!("{k} in {v} phases"))
        .collect();
    println!(
        "alternating 529/200 for 60 min, then healthy [monitor on the paused clock]: overloaded \
         episodes/trouble notifications/flapping notices/recoveries: {}",
        counts.join(", ")
    );
    let verdicts: Vec<f64> = flaps.iter().filter_map(|r| r.verdict).collect();
    println!(
        "  onset→overloaded verdict (alternating): {}",
        stats_text(&verdicts, n)
    );
    let changes: Vec<f64> = flaps.iter().map(|r| r.level_changes as f64).collect();
    if let Some((min, _, max)) = summary(&changes) {
        println!("  level changes per run (episode in and out): {min:.0}..{max:.0}");
    }
}

/// (e): the probe's cost a day for 1, 3 and 5 followed models, the first every 60 s and the
/// others every 300 s, at the built-in prices.
fn print_costs() {
    let sets: [&[&str]; 3] = [
        &[STORM_MODEL],
        &[STORM_MODEL, OTHER_MODEL, "claude-haiku-4-5"],
        &[
            STORM_MODEL,
            OTHER_MODEL,
            "claude-haiku-4-5",
            "claude-sonnet-4-6",
            "claude-opus-4-8",
        ],
    ];
    let (input, output) = PROBE_TOKENS_ESTIMATE;
    println!(
        "probe cost per day (prices as of {PRICES_AS_OF}, {input} input + {output} output tokens a \
         probe, most used every {} s, others every {} s, re-checks not counted):",
        MOST_USED_PROBE_INTERVAL.as_secs(),
        OTHER_PROBE_INTERVAL.as_secs()
    );
    for models in sets {
        let mut total = 0.0;
        let mut unknown = false;
        let mut parts = Vec::new();
        for (i, model) in models.iter().enumerate() {
            let interval = if i == 0 {
                MOST_USED_PROBE_INTERVAL
            } else {
                OTHER_PROBE_INTERVAL
            };
            match probe_cost_per_day(model, interval, input, output) {
                Some(cost) => {
                    total += cost;
                    parts.push(format!("{model} ${cost:.4}"));
                }
                None => {
                    unknown = true;
                    parts.push(format!("{model} price unknown"));
                }
            }
        }
        let total = if unknown {
            format!("${total:.4} plus the models whose price is unknown")
        } else {
            format!("${total:.4}")
        };
        println!(
            "  {} followed: {total} a day ({})",
            models.len(),
            parts.join(", ")
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Real time: the engine with the gateway inside it.
// ---------------------------------------------------------------------------------------------

fn host_main(args: &[String]) -> Result<(), BoxError> {
    let upstream = value_of(args, "--upstream")
        .ok_or("host needs --upstream URL (the simulator)")?
        .to_owned();
    let status_url = value_of(args, "--status-url")
        .unwrap_or(&upstream)
        .to_owned();
    let port: u16 = value_of(args, "--port").map_or(Ok(0), str::parse)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(host(upstream, status_url, port))
}

/// One JSON line on stdout, flushed at once: the driver times lines as they arrive.
fn emit(value: &serde_json::Value) -> Result<(), BoxError> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{value}")?;
    out.flush()?;
    Ok(())
}

fn unix_ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

/// Runs the engine and the gateway the way the tray does (the gateway's records relayed into
/// the engine's monitor), with the streaming probe on and a key, until stdin closes.
async fn host(upstream: String, status_url: String, port: u16) -> Result<(), BoxError> {
    let mut config = engine_config(&status_url, &Users::default());
    if let Some(probes) = &mut config.probes {
        probes.api_url = upstream.clone();
    }
    config.monitor.models.gateway = true;
    let store = Arc::new(Store::open_in_memory()?);
    let http = build_client(&config.poller.limits)?;
    let mut engine = Engine::start(config, http, store.clone())?;
    let mut events = engine.subscribe();
    let snapshots = engine.snapshot();
    let into_engine = engine.observation_sender();

    let (relay_tx, mut relay_rx) = mpsc::channel::<Observation>(1024);
    let gateway = Gateway::bind(GatewayConfig {
        listen: std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, port)),
        upstream: upstream.clone(),
        store: Some(store),
        observations: Some(relay_tx),
        ..GatewayConfig::default()
    })
    .await?;
    emit(&serde_json::json!({
        "kind": "ready",
        "gateway": gateway.base_url(),
        "upstream": upstream,
        "at_ms": unix_ms(Utc::now()),
    }))?;
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(gateway.run(shutdown.clone()));
    // The relay prints each record before the monitor sees it, as the tray's relay hands it on.
    let relay = tokio::spawn(async move {
        while let Some(observation) = relay_rx.recv().await {
            if let Observation::Usage { records } = &observation {
                for record in records {
                    let _ = emit(&serde_json::json!({
                        "kind": "record",
                        "at_ms": unix_ms(Utc::now()),
                        "model": record.model,
                        "status": record.status,
                        "request_id": record.request_id,
                    }));
                }
            }
            if into_engine.send(observation).await.is_err() {
                return;
            }
        }
    });
    let stdin_closed = tokio::task::spawn_blocking(|| {
        let mut sink = String::new();
        while std::io::stdin().read_line(&mut sink).is_ok_and(|n| n > 0) {
            sink.clear();
        }
    });
    tokio::pin!(stdin_closed);
    loop {
        tokio::select! {
            _ = &mut stdin_closed => break,
            event = events.recv() => match event {
                Ok(event) => {
                    let snapshot = snapshots.borrow().clone();
                    let models: Vec<serde_json::Value> = snapshot
                        .models
                        .iter()
                        .map(|m| serde_json::json!({
                            "model": m.model,
                            "level": m.level,
                            "followed": m.followed,
                            "relied_on": m.relied_on,
                            "reasons": m.reasons,
                            "line": claude_status_core::verdict::model_line(m),
                        }))
                        .collect();
                    emit(&serde_json::json!({
                        "kind": "event",
                        "at_ms": unix_ms(Utc::now()),
                        "event": event,
                        "level": snapshot.level,
                        "subject": snapshot.subject,
                        "models": models,
                    }))?;
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => break,
            },
        }
    }
    shutdown.cancel();
    let _ = server.await;
    relay.abort();
    engine.shutdown().await;
    Ok(())
}
