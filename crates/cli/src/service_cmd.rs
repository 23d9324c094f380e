//! `claude-status service`: runs the one background engine every front end talks to, and
//! `stop`, `status`, `install` and `uninstall` around it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use claude_status_engine::control::proto::{Call, ServiceInfo};
use claude_status_engine::control::{socket_path, ClientError, ControlClient};
use claude_status_engine::service::config::BaseConfig;
use claude_status_engine::service::{LoginItem, Service, ServiceOptions};
use tokio_util::sync::CancellationToken;

use crate::args::GlobalOptions;

/// Exit code when a service already runs for this data directory (`run`), or none runs
/// (`status`).
pub const EXIT_ALREADY_RUNNING: u8 = 3;
const EXIT_NOT_RUNNING: u8 = 3;

/// What `claude-status service` does.
#[derive(Debug, clap::Subcommand)]
pub enum ServiceCommand {
    /// Run the service in the foreground (what the login item runs).
    Run {
        /// Play the built-in demo story against an in-process simulator, with its own data
        /// directory and socket.
        #[arg(long)]
        demo: bool,
    },
    /// Stop the running service (and the gateway it runs).
    Stop,
    /// Whether the service runs, and whether it starts at login.
    Status {
        /// Print JSON (the running service's version information).
        #[arg(long)]
        json: bool,
    },
    /// Start the service at login: a systemd user unit, a launchd agent or a scheduled task.
    Install,
    /// Stop starting the service at login.
    Uninstall,
}

/// The data directory of this invocation (the demo's is a folder inside it).
fn data_dir(global: &GlobalOptions, demo: bool) -> anyhow::Result<PathBuf> {
    let dir = claude_status_engine::paths::data_dir(global.data_dir.clone())?;
    Ok(if demo { dir.join("demo") } else { dir })
}

/// The socket of the service of this invocation's data directory.
pub fn socket_for(global: &GlobalOptions) -> anyhow::Result<PathBuf> {
    Ok(socket_path(&data_dir(global, false)?))
}

/// The running service's client, `None` when none runs. Any other failure (another version, a
/// broken socket) is an error with the reason.
pub async fn connect(global: &GlobalOptions) -> anyhow::Result<Option<ControlClient>> {
    let socket = socket_for(global)?;
    match ControlClient::connect(&socket, "cli").await {
        Ok(client) => Ok(Some(client)),
        Err(e) if e.is_not_running() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub async fn service(global: &GlobalOptions, command: ServiceCommand) -> anyhow::Result<ExitCode> {
    match command {
        ServiceCommand::Run { demo } => run(global, demo).await,
        ServiceCommand::Stop => stop(global).await,
        ServiceCommand::Status { json } => status(global, json).await,
        ServiceCommand::Install => {
            let exe = std::env::current_exe().context("finding this executable")?;
            // The service manager's commands are bounded but block; keep them off the workers.
            let message = tokio::task::block_in_place(|| crate::service_install::install(&exe))?;
            println!("{message}");
            Ok(ExitCode::SUCCESS)
        }
        ServiceCommand::Uninstall => {
            let message = tokio::task::block_in_place(crate::service_install::uninstall)?;
            println!("{message}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The base configuration: the environment as the tray app reads it, with this command line's
/// choices on top.
fn base_config(global: &GlobalOptions, demo: bool) -> anyhow::Result<BaseConfig> {
    let mut base = BaseConfig::from_env(demo).map_err(anyhow::Error::msg)?;
    base.status_url.clone_from(&global.status_url);
    if let Some(fallback) = &global.status_fallback_url {
        base.fallback_url = Some(fallback.clone());
    }
    base.api_url.clone_from(&global.api_url);
    base.data_dir = data_dir(global, demo)?;
    base.offline = global.offline;
    // `--retention-days` always has a value (its default), so only one that differs from the
    // default overrides the service's; `CLAUDE_STATUS_RETENTION`, finer grained, wins over it.
    if global.retention_days < 1 {
        anyhow::bail!("--retention-days must be at least 1");
    }
    if base.retention_override.is_none()
        && global.retention_days != claude_status_engine::store::RETENTION_DEFAULT_DAYS
    {
        let days = u64::try_from(global.retention_days).unwrap_or(u64::MAX / 86_400);
        base.retention_override = Some(std::time::Duration::from_secs(days.saturating_mul(86_400)));
    }
    Ok(base)
}

async fn run(global: &GlobalOptions, demo: bool) -> anyhow::Result<ExitCode> {
    let mut base = base_config(global, demo)?;
    // The demo's story runs on a simulator inside the service, for as long as it runs.
    let simulator = if demo {
        let sim = claude_status_simulator::Simulator::new("demo")
            .clock(claude_status_simulator::Clock::Real { speed: 1.0 })
            .start()
            .await
            .map_err(|e| anyhow::anyhow!("the demo's simulator could not start: {e}"))?;
        let url = sim.base_url();
        tracing::info!("demo mode: simulator at {url}");
        base.status_url.clone_from(&url);
        base.fallback_url = None;
        base.api_url = url;
        Some(sim)
    } else {
        None
    };
    let socket = socket_path(&base.data_dir);
    let options = ServiceOptions {
        socket,
        legacy_settings: (!demo)
            .then(claude_status_engine::service::settings_file::legacy_tray_store)
            .flatten(),
        base,
    };
    let secrets: Arc<dyn claude_status_engine::service::Secrets> = if demo {
        Arc::new(claude_status_engine::service::MemorySecrets::default())
    } else {
        Arc::new(crate::keychain::Keychain)
    };
    let login_item: Option<LoginItem> = (!demo).then(|| {
        Arc::new(|enabled: bool| -> Result<(), String> {
            let exe = std::env::current_exe().map_err(|e| e.to_string())?;
            // Only the login item is written or removed: starting, restarting or stopping the
            // unit from here would stop this very process.
            let outcome = if enabled {
                crate::service_install::register_at_login(&exe)
            } else {
                crate::service_install::unregister_at_login()
            };
            outcome
                .map(|message| tracing::info!("{message}"))
                .map_err(|e| e.to_string())
        }) as LoginItem
    });
    let service = match Service::start(options, secrets, login_item).await {
        Ok(service) => service,
        Err(claude_status_engine::Error::Config(message))
            if message.contains("already running") =>
        {
            eprintln!("claude-status: {message}");
            return Ok(ExitCode::from(EXIT_ALREADY_RUNNING));
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(not_saved) = service.history_not_saved() {
        eprintln!("claude-status: {not_saved}; monitoring goes on without it");
    }
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    service.serve(shutdown).await?;
    if let Some(sim) = simulator {
        sim.shutdown().await;
    }
    Ok(ExitCode::SUCCESS)
}

/// Cancels `token` on SIGTERM or SIGINT (Ctrl-C), so the service stops its gateway cleanly.
async fn stop_on_signal(token: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::warn!("could not listen for signals");
            return;
        };
        tokio::select! {
            _ = term.recv() => tracing::info!("stopping: SIGTERM"),
            _ = int.recv() => tracing::info!("stopping: SIGINT"),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    token.cancel();
}

async fn stop(global: &GlobalOptions) -> anyhow::Result<ExitCode> {
    let Some(mut client) = connect(global).await? else {
        println!("No Claude Status service is running.");
        return Ok(ExitCode::SUCCESS);
    };
    let pid = client.service().pid;
    let _: serde_json::Value = client.call(Call::Stop).await?;
    drop(client);
    // The lock is released when the process has stopped its gateway and exited.
    let dir = data_dir(global, false)?;
    let give_up = tokio::time::Instant::now() + Duration::from_secs(15);
    while claude_status_engine::service::lock::holder(&dir).is_some() {
        if tokio::time::Instant::now() > give_up {
            anyhow::bail!("the service (pid {pid:?}) did not stop within 15 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    match pid {
        Some(pid) => println!("Stopped the Claude Status service (pid {pid})."),
        None => println!("Stopped the Claude Status service."),
    }
    Ok(ExitCode::SUCCESS)
}

async fn status(global: &GlobalOptions, json: bool) -> anyhow::Result<ExitCode> {
    let exe = std::env::current_exe().context("finding this executable")?;
    let info: Option<ServiceInfo> = match connect(global).await {
        Ok(Some(mut client)) => Some(client.call(Call::Version).await?),
        Ok(None) => None,
        Err(e) => {
            if let Some(ClientError::VersionMismatch(text)) = e.downcast_ref::<ClientError>() {
                println!("A service of another version runs: {text}");
                return Ok(ExitCode::from(1));
            }
            return Err(e);
        }
    };
    if json {
        crate::print_json(&info)?;
    } else {
        match &info {
            Some(info) => {
                println!(
                    "Running: version {}, pid {}, since {}",
                    info.version,
                    info.pid,
                    info.started_at.format("%Y-%m-%d %H:%M:%S UTC")
                );
                println!("Socket: {}", info.socket);
                println!("Data: {}", info.data_dir);
                match &info.gateway_url {
                    Some(url) => println!("Gateway: ANTHROPIC_BASE_URL={url}"),
                    None => println!("Gateway: off"),
                }
            }
            None => println!("Not running (socket {}).", socket_for(global)?.display()),
        }
        let login = tokio::task::block_in_place(|| crate::service_install::status(&exe))?;
        println!("{login}");
    }
    Ok(if info.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_NOT_RUNNING)
    })
}
