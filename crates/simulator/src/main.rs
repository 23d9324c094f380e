//! `claude-status-sim`: runs the simulator as its own process for scripts, CLI tests and demos.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use claude_status_simulator::{scenario_names, Clock, Simulator};

/// A fake Claude API and status.claude.com, driven by a scripted scenario.
#[derive(Debug, Parser)]
#[command(name = "claude-status-sim", version)]
struct Args {
    /// The scenario to play (see --list).
    #[arg(long, default_value = "healthy")]
    scenario: String,
    /// The port to listen on; 0 lets the OS pick one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// The address to listen on.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    host: IpAddr,
    /// Story seconds per real second.
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Story time moves only through POST /_sim/advance.
    #[arg(long)]
    manual: bool,
    /// Print the scenarios and exit.
    #[arg(long)]
    list: bool,
    /// Seconds the slow-status scenario waits before answering.
    #[arg(
        long,
        env = "CLAUDE_STATUS_SIM_SLOW_STATUS_SECS",
        default_value_t = 35.0
    )]
    slow_status_secs: f64,
    /// Seconds the slow scenario waits before answering.
    #[arg(long, env = "CLAUDE_STATUS_SIM_SLOW_API_SECS", default_value_t = 6.0)]
    slow_api_secs: f64,
    /// Milliseconds to the first token in healthy answers.
    #[arg(long, env = "CLAUDE_STATUS_SIM_TTFT_MS", default_value_t = 30)]
    ttft_ms: u64,
    /// The model the model-overload scenario overloads on /v1/messages (claude-opus-5-5,
    /// Claude Code's default, unless given): an id such as claude-sonnet-5-5 or a family such
    /// as haiku. Its incident is titled after it.
    #[arg(long, value_name = "MODEL", env = "CLAUDE_STATUS_SIM_OVERLOAD_MODEL")]
    overload_model: Option<String>,
}

fn seconds(name: &str, value: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value)
        .with_context(|| format!("--{name} must be a non-negative number of seconds"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.list {
        let width = scenario_names()
            .iter()
            .map(|(name, _)| name.len())
            .max()
            .unwrap_or(0);
        for (name, description) in scenario_names() {
            println!("{name:width$}  {description}");
        }
        return Ok(());
    }

    // Logs go to stderr so stdout carries only the address line that scripts read.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    let clock = if args.manual {
        Clock::Manual
    } else {
        Clock::Real { speed: args.speed }
    };
    let mut builder = Simulator::new(&args.scenario)
        .clock(clock)
        .slow_status_delay(seconds("slow-status-secs", args.slow_status_secs)?)
        .slow_api_delay(seconds("slow-api-secs", args.slow_api_secs)?)
        .time_to_first_token(Duration::from_millis(args.ttft_ms));
    if let Some(model) = args.overload_model {
        builder = builder.overload_model(model);
    }
    let sim = builder
        .start_on(SocketAddr::new(args.host, args.port))
        .await?;

    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on {}", sim.base_url())?;
    stdout.flush()?;
    drop(stdout);

    // Log each change of phase, which is what someone watching a demo wants to see.
    let mut last_phase = String::new();
    let mut ticker = tokio::time::interval(Duration::from_millis(500));
    let stop = shutdown_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                let state = sim.state();
                if state.phase != last_phase {
                    tracing::info!(
                        scenario = %state.scenario,
                        story_seconds = state.story_time_seconds.round(),
                        indicator = %state.status_indicator,
                        "{}",
                        state.phase
                    );
                    last_phase = state.phase;
                }
            }
            () = &mut stop => break,
        }
    }
    tracing::info!("stopping");
    sim.shutdown().await;
    Ok(())
}

/// Resolves on Ctrl-C, or on SIGTERM where there is one, so `kill` stops the server cleanly too.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
