//! `claude-status`: the headless front end over the engine (check, watch, incidents).

mod advice_cmd;
mod alerts_cmd;
mod args;
mod cost;
mod keychain;
mod proxy_cmd;
mod render;
mod service_cmd;
mod service_install;
mod statusline;
mod statusline_setup;
mod usage_cmd;

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use chrono::Utc;
use clap::Parser;
use claude_status_core::assess::AssessConfig;
use claude_status_core::models::ModelsConfig;
use claude_status_core::monitor::MonitorConfig;
use claude_status_core::pricing::normalize_model;
use claude_status_core::report::{IncidentReport, Snapshot};
use claude_status_core::Level;
use claude_status_engine::http::{build_client, HttpLimits};
use claude_status_engine::poller::{PollerConfig, StatusPageClient};
use claude_status_engine::probe::{ApiKey, ProbeConfig, StreamingProbeConfig};
use claude_status_engine::{Engine, EngineConfig, EngineEvent, Store};
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;

use crate::args::{Cli, Command, GlobalOptions};

/// Exit code for a usage or configuration error; clap's own 2 would read as "outage".
const EXIT_USAGE: u8 = 64;
/// Exit code for a fault of ours (the database could not be opened, …).
const EXIT_SOFTWARE: u8 = 70;

fn main() -> ExitCode {
    // Claude Code runs the status line many times a minute: its plain forms skip building the
    // whole command-line parser (a good share of the run), and every other form goes through it.
    if let Some(segments) = statusline::fast_args(std::env::args_os().skip(1)) {
        return statusline::run(statusline::Options {
            data_dir: None,
            segments,
        });
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    // The status line runs many times a minute: it answers without an async runtime.
    if let Command::Statusline {
        segments,
        install: false,
        uninstall: false,
        ..
    } = &cli.command
    {
        return statusline::run(statusline::Options {
            data_dir: cli.global.data_dir.clone(),
            segments: segments.clone(),
        });
    }
    // A damaged database moved aside is logged by the store; the one-shot commands say it in a
    // plain line of their own instead (`open_store`), so by default they leave that log out. The
    // gateway and the service, whose log is how they speak, keep it.
    let default_filter = if matches!(cli.command, Command::Proxy(_) | Command::Service { .. }) {
        "warn"
    } else {
        "warn,claude_status_engine::store::recovery=off"
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CLAUDE_STATUS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter)),
        )
        .init();

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("claude-status: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_SOFTWARE);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("claude-status: {e:#}");
            ExitCode::from(match e.downcast_ref::<claude_status_engine::Error>() {
                Some(claude_status_engine::Error::Config(_)) => EXIT_USAGE,
                _ => EXIT_SOFTWARE,
            })
        }
    }
}

/// A reader that went away (`claude-status check --json | head`) is not an error worth a message.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
        || error
            .downcast_ref::<serde_json::Error>()
            .and_then(|e| e.io_error_kind())
            .is_some_and(|k| k == std::io::ErrorKind::BrokenPipe)
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check { json, no_service } => check(&cli.global, json, no_service).await,
        Command::Watch {
            interval,
            run_for,
            json_lines,
            metrics_addr,
            allow_remote,
            alerts,
        } => {
            let metrics = metrics_addr.map(|addr| (addr, allow_remote));
            watch(&cli.global, interval, run_for, json_lines, metrics, alerts).await
        }
        Command::Alerts { command } => alerts_cmd::alerts(&cli.global, command).await,
        Command::Incidents { json, limit } => incidents(&cli.global, json, limit).await,
        Command::History { json, window } => history(&cli.global, json, window).await,
        Command::Usage {
            view,
            since,
            until,
            json,
            logs,
            timezone,
            source,
            active,
            recent,
            advice,
        } => {
            let data_dir = claude_status_engine::paths::data_dir(cli.global.data_dir.clone())?;
            if advice {
                return tokio::task::block_in_place(|| advice_cmd::advice(&data_dir, json));
            }
            let source = source.map(args::SourceArg::source);
            if source == Some(claude_status_core::usage::UsageSource::AdminApi) {
                return usage_cmd::admin_usage(
                    &cli.global,
                    &data_dir,
                    view,
                    since,
                    until,
                    json,
                    timezone.as_deref(),
                )
                .await;
            }
            // While a service runs it is the ledger's only writer: it reads the new log lines,
            // and `usage` only reads the ledger. A folder of the user's choice is read here, and
            // a report without Claude Code's records needs no reading at all.
            let reads_logs = usage_cmd::reads_claude_code(source);
            let service = if logs.is_none() && reads_logs {
                service_cmd::connect(&cli.global).await
            } else {
                Ok(None)
            };
            let ingested_by_service = match service {
                Ok(Some(mut client)) => {
                    match client
                        .call::<claude_status_engine::claude_code::IngestReport>(
                            claude_status_engine::control::proto::Call::IngestUsage,
                        )
                        .await
                    {
                        Ok(report) => {
                            tracing::info!(
                                "the running service read the logs ({} new lines)",
                                report.lines
                            );
                            Some(report)
                        }
                        // The service could not write its ledger (another program holds the
                        // database locked, a full disk): the logs are read here instead, where
                        // `usage` goes on without the ledger and says so, rather than pass the
                        // service's store error on as its own failure (issue 16).
                        Err(claude_status_engine::control::client::ClientError::Refused(
                            refused,
                        )) if refused.kind
                            == claude_status_engine::control::proto::ErrorKind::Storage =>
                        {
                            tracing::info!(
                                "the running service could not read the logs: {refused}"
                            );
                            None
                        }
                        Err(error) => return Err(error.into()),
                    }
                }
                _ => None,
            };
            tokio::task::block_in_place(|| {
                usage_cmd::usage_with(
                    &data_dir,
                    ingested_by_service,
                    view,
                    since,
                    until,
                    json,
                    logs.as_deref(),
                    timezone.as_deref(),
                    source,
                    usage_cmd::BlocksOptions { active, recent },
                )
            })
        }
        Command::Proxy(args) => proxy_cmd::proxy(&cli.global, args).await,
        Command::Service { command } => service_cmd::service(&cli.global, command).await,
        Command::Statusline {
            segments,
            install,
            uninstall: _,
            force,
            refresh_interval,
        } => statusline_setup::install_command(segments, install, force, refresh_interval),
        Command::Limits { json } => {
            let data_dir = claude_status_engine::paths::data_dir(cli.global.data_dir.clone())?;
            usage_cmd::limits(&data_dir, cli.global.tier.as_deref(), json)
        }
    }
}

/// The exit code of a verdict: 0 operational, 1 degraded or maintenance, 2 outage or overloaded,
/// 3 could not tell.
fn exit_code(level: Level) -> ExitCode {
    ExitCode::from(match level {
        Level::Operational => 0,
        Level::Degraded | Level::Maintenance => 1,
        Level::Outage | Level::Overloaded => 2,
        Level::Offline | Level::Unknown => 3,
    })
}

fn engine_config(
    global: &GlobalOptions,
    interval: Option<std::time::Duration>,
) -> anyhow::Result<EngineConfig> {
    let mut poller = PollerConfig::for_url(&global.status_url);
    if let Some(fallback) = &global.status_fallback_url {
        poller.fallback_url =
            Some(fallback.trim_end_matches('/').to_owned()).filter(|f| !f.is_empty());
    }
    if let Some(interval) = interval {
        poller.interval = interval;
    }
    poller.limits = HttpLimits {
        total_timeout: global.http_timeout,
        connect_timeout: global
            .http_timeout
            .min(HttpLimits::default().connect_timeout),
        ..HttpLimits::default()
    };
    if let Some(warning) = poller.validate()? {
        eprintln!("claude-status: warning: {warning}");
    }
    if global.retention_days < 1 {
        return Err(claude_status_engine::Error::Config(
            "--retention-days must be at least 1".to_owned(),
        )
        .into());
    }
    let limits = poller.limits;
    let api_key = std::env::var("ANTHROPIC_API_KEY")
        .ok()
        .and_then(ApiKey::new);
    // The followed model while nothing is pinned and no traffic is known: the one asked for, else
    // the first pinned one, else the cheapest current model.
    let default_model = global
        .default_model
        .clone()
        .or_else(|| global.models.first().cloned())
        .unwrap_or_else(|| claude_status_engine::probe::DEFAULT_STREAM_MODEL.to_owned());
    let probes = if global.no_probe {
        None
    } else {
        let mut probes = ProbeConfig {
            api_url: global.api_url.trim_end_matches('/').to_owned(),
            api_key: api_key.clone(),
            limits,
            ..ProbeConfig::default()
        };
        if let Some(interval) = interval {
            probes.schedule.interval = interval;
        }
        // The per-model streaming probe is the only probe that sees an overload (they happen on
        // `POST /v1/messages`), so it runs whenever there is a key to send it with; `--ttft` is
        // the old way to ask for it and changes nothing.
        if api_key.is_some() && !global.no_ttft {
            probes.streaming = Some(streaming_config(default_model.clone(), interval));
        }
        probes.validate()?;
        Some(probes)
    };
    Ok(EngineConfig {
        poller,
        monitor: MonitorConfig {
            assess: AssessConfig {
                followed_components: global
                    .components
                    .iter()
                    .map(|c| c.trim().to_owned())
                    .filter(|c| !c.is_empty())
                    .collect(),
            },
            models: ModelsConfig {
                pinned: global.models.clone(),
                dropped: Vec::new(),
                default_model,
                // The engine turns it on when the streaming probe really runs.
                probing: false,
                gateway: false,
            },
            ..MonitorConfig::default()
        },
        probes,
        retention: chrono::Duration::days(global.retention_days),
        usage: None,
    })
}

/// The streaming probe's schedule: the most-used model every minute and the others every five,
/// or, under `watch --interval`, the most-used one at that interval and the others five times
/// less often, so the ratio (and the cost statement's arithmetic) stays the same.
fn streaming_config(
    default_model: String,
    interval: Option<std::time::Duration>,
) -> StreamingProbeConfig {
    let defaults = StreamingProbeConfig::default();
    match interval {
        Some(interval) => {
            let ratio =
                defaults.others_interval.as_secs_f64() / defaults.interval.as_secs_f64().max(1.0);
            StreamingProbeConfig {
                model: default_model,
                interval,
                others_interval: interval.mul_f64(ratio.max(1.0)),
            }
        }
        None => StreamingProbeConfig {
            model: default_model,
            ..defaults
        },
    }
}

/// Usage tracking for `watch`: the catalog, the tier, and Claude Code's folders when there are any.
fn usage_config(
    global: &GlobalOptions,
) -> anyhow::Result<claude_status_engine::monitor::UsageConfig> {
    let data_dir = claude_status_engine::paths::data_dir(global.data_dir.clone())?;
    let catalog = claude_status_engine::usage::load_catalog_in(&data_dir)?;
    if let Some(tier) = &global.tier {
        if catalog.tier(tier).is_none() {
            return Err(claude_status_engine::Error::Config(format!(
                "--tier {tier:?} is not a known tier"
            ))
            .into());
        }
    }
    // No Claude Code folder is no error: usage then comes from the probe alone.
    let dirs = claude_status_engine::claude_code::default_projects_dirs()
        .ok()
        .filter(|dirs| !dirs.is_empty());
    Ok(claude_status_engine::monitor::UsageConfig {
        catalog,
        tracker: claude_status_core::tracker::TrackerConfig {
            tier: global.tier.clone(),
            day_zone: claude_status_engine::usage::local_day_zone(),
            ..Default::default()
        },
        claude_code_dirs: dirs,
        // The Admin API needs an admin key; the CLI reads it from the environment only.
        admin: std::env::var("ANTHROPIC_ADMIN_KEY")
            .ok()
            .and_then(claude_status_engine::probe::ApiKey::new)
            .map(|key| (global.api_url.trim_end_matches('/').to_owned(), key)),
    })
}

fn open_store(global: &GlobalOptions) -> anyhow::Result<Arc<Store>> {
    let dir = claude_status_engine::paths::data_dir(global.data_dir.clone())?;
    let path = Store::default_path(&dir);
    // A data directory that cannot be written leaves `check` and `watch` monitoring; the
    // snapshot's `history_not_saved` says why nothing is kept.
    let store = Store::open_or_in_memory(&path)
        .with_context(|| format!("opening the history database {}", path.display()))?;
    tell_if_recovered(&store);
    Ok(Arc::new(store))
}

/// Says once, on stderr, that the history database was unreadable and a new one started.
fn tell_if_recovered(store: &Store) {
    if let Some(recovered) = store.recovered() {
        eprintln!("claude-status: {recovered}");
    }
}

async fn check(global: &GlobalOptions, json: bool, no_service: bool) -> anyhow::Result<ExitCode> {
    // `check --model M` answers for M alone; with several pinned models the app's level (the
    // worst of them) is the answer.
    let for_model = match global.models.as_slice() {
        [model] => Some(normalize_model(model)),
        _ => None,
    };
    let from_service = if no_service {
        None
    } else {
        service_snapshot(global, for_model.as_deref()).await?
    };
    let snapshot = match from_service {
        Some(snapshot) => snapshot,
        None => {
            let config = engine_config(global, None)?;
            let store = open_store(global)?;
            cost::announce(
                &config,
                &cost::followed_models(&config, Some(&store)),
                cost::Round::Once,
                global,
            );
            let http = build_client(&config.poller.limits)?;
            claude_status_engine::check::check_once(
                &config,
                http,
                Some(store),
                for_model.as_deref(),
            )
            .await
        }
    };
    // The headline names M when its own verdict is the answer, trouble or not.
    let headline_model = for_model.as_deref().and_then(|model| {
        snapshot
            .models
            .iter()
            .find(|m| m.model == model && m.level == snapshot.level)
            .filter(|m| !m.level.is_indeterminate())
            .map(|m| m.display_name.clone())
    });
    if json {
        print_json(&snapshot)?;
    } else {
        anstream::print!(
            "{}",
            render::check_report(&snapshot, headline_model.as_deref(), Utc::now())
        );
    }
    Ok(exit_code(snapshot.level))
}

/// How long `check` waits for a service that has just started to finish its first round.
const FIRST_ROUND_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// The running service's snapshot (about `model` when given), so `check` says what the tray
/// says; `None` when no service runs or it does not know the model (then `check` probes itself).
async fn service_snapshot(
    global: &GlobalOptions,
    model: Option<&str>,
) -> anyhow::Result<Option<Snapshot>> {
    use claude_status_engine::control::proto::{Call, Event};
    let Some(mut client) = service_cmd::connect(global).await? else {
        return Ok(None);
    };
    let pid = client.service().pid;
    let call = Call::Snapshot {
        model: model.map(str::to_owned),
    };
    let mut snapshot: Option<Snapshot> = client.call(call.clone()).await?;
    if snapshot.as_ref().is_some_and(|s| s.checked_at.is_none()) {
        // A service that has only just started: wait for its first round rather than answer
        // "unknown".
        let mut stream = client.subscribe().await?;
        let give_up = tokio::time::Instant::now() + FIRST_ROUND_WAIT;
        loop {
            match tokio::time::timeout_at(give_up, stream.next()).await {
                Ok(Ok(Event::Snapshot { snapshot: s, .. })) if s.checked_at.is_some() => break,
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(e.into()),
                Err(_) => break,
            }
        }
        let mut client = service_cmd::connect(global)
            .await?
            .context("the service stopped while `check` waited for it")?;
        snapshot = client.call(call).await?;
    }
    if snapshot.is_some() {
        tracing::info!("answered from the running service (pid {pid:?})");
    }
    Ok(snapshot)
}

/// One line of `watch --json-lines`: the event and the snapshot after it.
#[derive(Serialize)]
struct WatchLine<'a> {
    at: chrono::DateTime<Utc>,
    event: &'a EngineEvent,
    #[serde(flatten)]
    snapshot: &'a Snapshot,
}

async fn watch(
    global: &GlobalOptions,
    interval: std::time::Duration,
    run_for: Option<std::time::Duration>,
    json_lines: bool,
    metrics_at: Option<(std::net::SocketAddr, bool)>,
    alerts: bool,
) -> anyhow::Result<ExitCode> {
    let mut config = engine_config(global, Some(interval))?;
    if !global.no_usage {
        config.usage = Some(usage_config(global)?);
    }
    let store = open_store(global)?;
    if let Some(not_saved) = store.not_saving() {
        eprintln!("claude-status: {not_saved}; monitoring goes on without it");
    }
    cost::announce(
        &config,
        &cost::followed_models(&config, Some(&store)),
        cost::Round::Every,
        global,
    );
    let http = build_client(&config.poller.limits)?;
    let metrics_shutdown = tokio_util::sync::CancellationToken::new();
    let metrics = match metrics_at {
        Some((addr, allow_remote)) => {
            let metrics = Arc::new(claude_status_engine::metrics::Metrics::default());
            let bound = claude_status_engine::metrics::serve(
                addr,
                allow_remote,
                Arc::clone(&metrics),
                metrics_shutdown.clone(),
            )
            .await?;
            eprintln!("claude-status: metrics at http://{bound}/metrics");
            Some(metrics)
        }
        None => None,
    };
    // The dispatcher shares the engine's store: what it delivered and the episodes it opened
    // survive a restart of `watch` as they do the service's.
    let alerting = if alerts {
        let (dispatcher, shutdown) = alerts_cmd::local_dispatcher(global)?;
        let channels = dispatcher.channels();
        eprintln!(
            "claude-status: alerts go to {} channel(s){}",
            channels.iter().filter(|c| c.enabled).count(),
            if channels.is_empty() {
                " (add one with `claude-status alerts add`)"
            } else {
                ""
            }
        );
        Some((dispatcher, shutdown))
    } else {
        None
    };
    let mut engine = Engine::start_with_metrics(config, http, store, metrics)?;
    // The alerts take the first subscription (every event since start) on a task of their own,
    // so output that blocks never delays an alert.
    if let Some((dispatcher, _)) = &alerting {
        let mut alert_events = engine.subscribe();
        let dispatcher = dispatcher.clone();
        tokio::spawn(async move {
            loop {
                match alert_events.recv().await {
                    Ok(event) => dispatcher.offer(&event),
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!("alert routing missed {missed} engine events")
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        });
    }
    let mut events = engine.subscribe();
    let snapshots = engine.snapshot();
    let deadline = async {
        match run_for {
            Some(limit) => tokio::time::sleep(limit).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(deadline);

    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = &mut deadline => break,
            event = events.recv() => match event {
                Ok(event) => {
                    let snapshot = snapshots.borrow().clone();
                    if json_lines {
                        print_json_line(&WatchLine { at: Utc::now(), event: &event, snapshot: &snapshot })?;
                    } else {
                        anstream::println!("{}", watch_line(&event, &snapshot));
                    }
                }
                Err(RecvError::Lagged(missed)) => eprintln!("claude-status: {missed} events were dropped while output was blocked"),
                Err(RecvError::Closed) => break,
            },
        }
    }
    let level = snapshots.borrow().level;
    metrics_shutdown.cancel();
    engine.shutdown().await;
    if let Some((_, shutdown)) = alerting {
        shutdown.cancel();
    }
    Ok(exit_code(level))
}

/// One human line of `watch`; a level change names the model that decided it, when one did.
fn watch_line(event: &EngineEvent, snapshot: &Snapshot) -> String {
    match event {
        EngineEvent::LevelChanged {
            at, to, reasons, ..
        } => {
            // The snapshot read after the event is the one the change produced, unless another
            // change followed at once; its subject is only trusted when its level agrees.
            let subject = (snapshot.level == *to)
                .then(|| render::subject_name(snapshot))
                .flatten();
            format!(
                "{}  {}",
                render::local_time(*at, "%H:%M:%S"),
                render::subject_verdict_line(*to, subject.as_deref(), reasons)
            )
        }
        EngineEvent::Change { at, change } => format!(
            "{}  {}",
            render::local_time(*at, "%H:%M:%S"),
            change.describe()
        ),
        EngineEvent::Notify { at, notification } => format!(
            "{}  notify: {}: {}",
            render::local_time(*at, "%H:%M:%S"),
            notification.title,
            notification.body
        ),
        EngineEvent::LeadTime {
            at,
            incident_name,
            model,
            detected_at,
            reported_at,
            ..
        } => format!(
            "{}  our probes saw this {} before the status page{}: {incident_name}",
            render::local_time(*at, "%H:%M:%S"),
            render::short_duration(*reported_at - *detected_at),
            model
                .as_deref()
                .map(|m| format!(" on {}", claude_status_core::models::display_name(m)))
                .unwrap_or_default()
        ),
    }
}

/// The JSON of `incidents`.
#[derive(Serialize)]
struct IncidentsOutput {
    incidents: Vec<IncidentReport>,
    /// Set when the page could not be read and the list comes from our history only.
    error: Option<String>,
}

async fn incidents(global: &GlobalOptions, json: bool, limit: usize) -> anyhow::Result<ExitCode> {
    let config = engine_config(global, None)?;
    let store = open_store(global)?;
    let http = build_client(&config.poller.limits)?;
    let mut client = StatusPageClient::new(http, config.poller.clone(), Some(store.clone()));
    let error = match client.fetch_history().await {
        Ok(fetched) => {
            store.upsert_incidents(&fetched, Utc::now())?;
            None
        }
        Err(failure) => Some(failure.detail),
    };
    let incidents: Vec<IncidentReport> = store
        .recent_incidents(limit)?
        .iter()
        .map(IncidentReport::from)
        .collect();
    let nothing_to_show = error.is_some() && incidents.is_empty();
    if json {
        print_json(&IncidentsOutput { incidents, error })?;
    } else {
        if let Some(error) = &error {
            anstream::eprintln!(
                "claude-status: could not read the status page ({error}); showing stored history"
            );
        }
        if incidents.is_empty() {
            println!("No incidents recorded.");
        }
        let now = Utc::now();
        for incident in &incidents {
            anstream::println!("{}", render::incident_block(incident, now, 0));
        }
    }
    Ok(if nothing_to_show {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

async fn history(
    global: &GlobalOptions,
    json: bool,
    window: std::time::Duration,
) -> anyhow::Result<ExitCode> {
    let store = open_store(global)?;
    let to = Utc::now();
    let span = chrono::Duration::from_std(window)
        .map_err(|_| claude_status_engine::Error::Config("--window is too long".to_owned()))?;
    let from = to - span;
    let probes = store.probes_between(from, to)?;
    let incidents = store.recent_incidents(200)?;
    let leads: Vec<claude_status_core::history::HistoryLead> = store
        .lead_times_between(from, to)?
        .iter()
        .map(Into::into)
        .collect();
    let mut report = claude_status_core::history::summarize(&probes, &incidents, &leads, from, to);
    report.window_label = humantime::format_duration(window).to_string();
    if json {
        print_json(&report)?;
    } else {
        anstream::print!("{}", render::history_report(&report, to));
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    // Stdout is line-buffered, and a pretty report has a line per field: `usage session --json`
    // of a long history was tens of thousands of writes.
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    serde_json::to_writer_pretty(&mut stdout, value)?;
    writeln!(stdout)?;
    stdout.flush()?;
    Ok(())
}

fn print_json_line<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer(&mut stdout, value)?;
    writeln!(stdout)?;
    // Each line is flushed so a pipe reader sees it as it happens.
    stdout.flush()?;
    Ok(())
}
