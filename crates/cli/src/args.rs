//! The command line: global options and the subcommands, parsed by clap.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// Is the Claude API up? Checks the official status page (and, later, the API itself) from a
/// terminal, a script or CI.
#[derive(Debug, Parser)]
#[command(name = "claude-status", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOptions,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand takes.
#[derive(Debug, Args)]
pub struct GlobalOptions {
    /// Base URL of the Atlassian status page to follow.
    #[arg(long, global = true, env = "CLAUDE_STATUS_STATUS_URL", default_value = claude_status_engine::poller::DEFAULT_STATUS_URL)]
    pub status_url: String,
    /// A second host serving the same page, tried when the main one fails (default: the Claude
    /// page's statuspage.io host when --status-url is the Claude page, else none).
    #[arg(long, global = true, env = "CLAUDE_STATUS_FALLBACK_URL")]
    pub status_fallback_url: Option<String>,
    /// Where history is kept (default: the platform data directory).
    #[arg(long, global = true, env = "CLAUDE_STATUS_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Status-page component ids that mean "the API" (comma-separated).
    #[arg(long = "component", global = true, env = "CLAUDE_STATUS_COMPONENTS", value_delimiter = ',', default_value = claude_status_core::statuspage::CLAUDE_API_COMPONENT_ID)]
    pub components: Vec<String>,
    /// How many days of history to keep.
    #[arg(long, global = true, default_value_t = claude_status_engine::store::RETENTION_DEFAULT_DAYS)]
    pub retention_days: i64,
    /// Base URL of the Claude API to probe.
    #[arg(long, global = true, env = "ANTHROPIC_BASE_URL", default_value = claude_status_engine::probe::DEFAULT_API_URL)]
    pub api_url: String,
    /// Never fetch the price table (LiteLLM's, at most daily, in the service): the bundled
    /// snapshot, or the last good refreshed table, prices everything.
    #[arg(long, global = true, env = "CLAUDE_STATUS_OFFLINE")]
    pub offline: bool,
    /// Do not probe the API; follow the status page only.
    #[arg(long, global = true)]
    pub no_probe: bool,
    /// Accepted for compatibility and changes nothing: the per-model streaming probe (time to
    /// first token, and the only way to see an overload) is on whenever ANTHROPIC_API_KEY is set.
    #[arg(long, global = true)]
    pub ttft: bool,
    /// Turn the per-model streaming probe off. Without it overloads are not watched (unless your
    /// traffic goes through the gateway); it sends one one-token request per followed model and
    /// so costs a little, which `check` and `watch` print on stderr.
    #[arg(long, global = true)]
    pub no_ttft: bool,
    /// Pin a model (repeatable, or comma-separated): it is always followed, probed and counted as one you rely on, on
    /// top of the models learned from your own traffic. The first one is also the default model.
    /// With exactly one, `check` answers for that model.
    #[arg(long = "model", value_name = "MODEL", global = true, env = "CLAUDE_STATUS_MODELS", value_delimiter = ',', value_parser = parse_model)]
    pub models: Vec<String>,
    /// The model followed when no traffic is known and nothing is pinned (default: the first
    /// --model, else claude-haiku-4-5, the cheapest current one).
    #[arg(long, value_name = "MODEL", global = true, value_parser = parse_model)]
    pub default_model: Option<String>,
    /// Your rate-limit tier (`tier-2`, `start`, …); by default it is identified from the streaming
    /// probe's rate-limit headers.
    #[arg(long, global = true, env = "CLAUDE_STATUS_TIER")]
    pub tier: Option<String>,
    /// Do not read Claude Code's logs in `watch` (usage, and your own 429/529s as a signal).
    #[arg(long, global = true)]
    pub no_usage: bool,
    /// Total time limit of one HTTP exchange.
    #[arg(long, global = true, value_parser = parse_duration, default_value = "30s")]
    pub http_timeout: Duration,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// One round of checks; exit code 0 operational, 1 degraded or maintenance, 2 outage or
    /// overloaded, 3 unknown or offline. With exactly one --model, the level (and the exit code)
    /// is that model's, folded with the API-wide verdict.
    Check {
        /// Print the snapshot as JSON.
        #[arg(long)]
        json: bool,
        /// Probe and poll here even when a service runs (by default `check` reads the running
        /// service's latest snapshot, which is what the tray shows).
        #[arg(long)]
        no_service: bool,
    },
    /// Keep checking and print one line per change until Ctrl-C or --for runs out.
    Watch {
        /// How often to probe the API and poll the status page (minimum 1s; below 15s is impolite
        /// to the status page).
        #[arg(long, value_parser = parse_duration, default_value = "60s")]
        interval: Duration,
        /// Stop after this long.
        #[arg(long = "for", value_parser = parse_duration)]
        run_for: Option<Duration>,
        /// Print one JSON object per line.
        #[arg(long)]
        json_lines: bool,
        /// Serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9464). A loopback
        /// address unless --allow-remote.
        #[arg(long, value_name = "ADDR")]
        metrics_addr: Option<std::net::SocketAddr>,
        /// Allow --metrics-addr on an address other machines can reach. The metrics say which
        /// models you use and what you spend, so keep it on a trusted network.
        #[arg(long)]
        allow_remote: bool,
        /// Send the notifications to the alert channels of the settings (`claude-status
        /// alerts`), as the service does. Off by default, so a `watch` beside a running service
        /// does not alert twice.
        #[arg(long)]
        alerts: bool,
    },
    /// Recent incidents with their update timelines.
    Incidents {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// How many incidents to show.
        #[arg(long, default_value_t = 10)]
        limit: usize,
    },
    /// What our probes recorded: uptime, latency, TTFT, 529 and 429 rates, incidents and how much
    /// earlier our probes saw trouble than the status page.
    History {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// How far back to look: 1h, 24h, 7d or 30d (any duration works).
        #[arg(long, value_parser = parse_duration, default_value = "24h")]
        window: Duration,
    },
    /// Token usage and cost per day, month or session (the tables ccusage users know), from
    /// every source in the ledger: Claude Code's logs, the gateway, and the streaming probe.
    ///
    /// A request seen by two sources (Claude Code sent through the gateway) is counted once, as
    /// Claude Code recorded it. The Admin API's figures are never added in: they are your
    /// organisation's totals, your own requests among them, so adding them would count those
    /// twice; `--source admin-api` shows them on their own.
    Usage {
        /// How to group the rows.
        #[arg(value_enum, default_value_t = UsageView::Daily)]
        view: UsageView,
        /// First day to include (YYYY-MM-DD or YYYYMMDD, in the report's time zone).
        #[arg(long, value_parser = parse_date)]
        since: Option<chrono::NaiveDate>,
        /// Last day to include.
        #[arg(long, value_parser = parse_date)]
        until: Option<chrono::NaiveDate>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Read this folder instead of the default Claude Code folders (a `projects/` folder or
        /// the config folder that holds one).
        #[arg(long)]
        logs: Option<PathBuf>,
        /// Time zone for days and months (an IANA name such as Europe/Berlin, UTC, or +02:00);
        /// default: the system's.
        #[arg(long)]
        timezone: Option<String>,
        /// Report one source only: claude-code (Claude Code's transcripts, the figures ccusage
        /// gives), gateway (every reply the local gateway metered), probe (our streaming probe's
        /// messages, paid on your key), or admin-api (the Admin API's usage report, fetched now
        /// with the admin key from the keychain or ANTHROPIC_ADMIN_KEY: your organisation's
        /// hourly totals, the last 30 days unless --since; daily and monthly only). Default:
        /// claude-code, gateway and probe together; blocks: claude-code, the only one a 5-hour
        /// plan window counts.
        #[arg(long, value_enum)]
        source: Option<SourceArg>,
        /// With `blocks`: only the active block, in detail.
        #[arg(long)]
        active: bool,
        /// With `blocks`: only the blocks of the last 3 days, and the active one.
        #[arg(long)]
        recent: bool,
        /// Advice from the gateway's last 24 hours instead of the tables: where prompt caching
        /// would save (and what it saves where used), and what small requests would cost on a
        /// cheaper current model. It never changes a request.
        #[arg(long, conflicts_with_all = ["since", "until", "source", "active", "recent", "logs"])]
        advice: bool,
    },
    /// Your rate-limit tier's table and the live headroom from the latest rate-limit headers.
    Limits {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run the local gateway: point ANTHROPIC_BASE_URL at it and your own requests are measured
    /// (status, latency, time to first token, tokens) on their way to the API, unchanged.
    Proxy(crate::proxy_cmd::ProxyArgs),
    /// The background service: one engine (probes, status page, usage, the gateway) that the
    /// tray, the dashboard and the other commands share. `service run` runs it in the
    /// foreground; `install` starts it at login.
    Service {
        #[command(subcommand)]
        command: crate::service_cmd::ServiceCommand,
    },
    /// Direct alert routing to Slack, Discord, PagerDuty, a webhook or ntfy: list the channels,
    /// add or remove one, store its secret (from standard input), send a test alert.
    Alerts {
        #[command(subcommand)]
        command: crate::alerts_cmd::AlertsCommand,
    },
    /// Claude Code's status line: reads the JSON Claude Code pipes in and prints the session
    /// model's health, the session's cost, today's spend, the 5-hour and weekly plan windows and
    /// the context in use. Never touches the network; always exits 0. `--install` puts it into
    /// Claude Code's settings (`~/.claude/settings.json`, or the first folder of
    /// CLAUDE_CONFIG_DIR), keeping every other key and writing a backup first.
    Statusline {
        /// The segments to show, in order, comma-separated: health, session, today, windows,
        /// context (default: all).
        #[arg(long, value_name = "LIST")]
        segments: Option<String>,
        /// Install `claude-status statusline` (with these --segments) as Claude Code's status line.
        #[arg(long, conflicts_with = "uninstall")]
        install: bool,
        /// Remove our status line from Claude Code's settings.
        #[arg(long)]
        uninstall: bool,
        /// With --install, replace a different status line; with --uninstall, remove one that
        /// is not ours.
        #[arg(long)]
        force: bool,
        /// With --install, also re-run the status line every N seconds (Claude Code's
        /// `refreshInterval`, at least 1).
        #[arg(long, value_name = "SECONDS", requires = "install")]
        refresh_interval: Option<u32>,
    },
}

/// The usage source `usage --source` picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SourceArg {
    ClaudeCode,
    Gateway,
    AdminApi,
    Probe,
}

impl SourceArg {
    pub fn source(self) -> claude_status_core::usage::UsageSource {
        use claude_status_core::usage::UsageSource;
        match self {
            SourceArg::ClaudeCode => UsageSource::ClaudeCode,
            SourceArg::Gateway => UsageSource::Gateway,
            SourceArg::AdminApi => UsageSource::AdminApi,
            SourceArg::Probe => UsageSource::Probe,
        }
    }
}

/// How `usage` groups its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum UsageView {
    Daily,
    Monthly,
    Session,
    /// 5-hour blocks estimated from the transcripts by ccusage's rules, with the active block's
    /// burn rate and projection (for when Claude Code's status-line feed is not installed).
    Blocks,
}

/// The longest model id accepted; real ids are about 30 characters.
const MODEL_ID_MAX: usize = 100;

/// Checks a model id given on the command line: not empty, one word, not Claude Code's
/// `<synthetic>` placeholder. Whether the API knows it is the probe's to find out (a 404 becomes
/// a reason, never a crash).
pub fn parse_model(text: &str) -> Result<String, String> {
    let model = text.trim();
    if model.is_empty() {
        return Err("a model id cannot be empty (example: --model claude-opus-5-5)".to_owned());
    }
    if model.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{model:?} is not a model id: it has spaces or control characters (example: --model claude-opus-5-5)"
        ));
    }
    if model.chars().count() > MODEL_ID_MAX {
        return Err(format!(
            "a model id has at most {MODEL_ID_MAX} characters (example: --model claude-opus-5-5)"
        ));
    }
    if model == claude_status_core::models::SYNTHETIC_MODEL {
        return Err(format!(
            "{model} is Claude Code's placeholder for a failed turn, not a model (example: --model claude-opus-5-5)"
        ));
    }
    Ok(model.to_owned())
}

/// Parses YYYY-MM-DD or YYYYMMDD.
pub fn parse_date(text: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| chrono::NaiveDate::parse_from_str(text, "%Y%m%d"))
        .map_err(|_| format!("{text:?} is not a date (YYYY-MM-DD or YYYYMMDD)"))
}

/// Parses "60s", "1m30s", "2h"; a bare number means seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<f64>() {
        if seconds.is_finite() && seconds >= 0.0 {
            return Ok(Duration::from_secs_f64(seconds));
        }
    }
    humantime::parse_duration(text).map_err(|e| format!("{e} (examples: 60s, 5m, 1h30m)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-1").is_err());
    }

    #[test]
    fn model_ids_are_checked() {
        assert_eq!(
            parse_model(" claude-opus-5-5 "),
            Ok("claude-opus-5-5".to_owned())
        );
        assert_eq!(
            parse_model("claude-opus-4-6[1m]"),
            Ok("claude-opus-4-6[1m]".to_owned())
        );
        for bad in ["", "   ", "claude opus", "<synthetic>", &"x".repeat(101)] {
            let error = parse_model(bad).unwrap_err();
            assert!(
                error.contains("--model claude-opus-5-5"),
                "{bad:?}: {error}"
            );
        }
    }

    #[test]
    fn models_are_repeatable_pins() {
        // Before the subcommand, after it, or comma-separated; clap lets a global option given
        // after the subcommand replace the values given before it, so one place is used.
        for args in [
            &[
                "--model",
                "claude-opus-5-5",
                "--model",
                "claude-sonnet-5-5",
                "check",
            ][..],
            &[
                "check",
                "--model",
                "claude-opus-5-5",
                "--model",
                "claude-sonnet-5-5",
            ],
            &["check", "--model", "claude-opus-5-5,claude-sonnet-5-5"],
        ] {
            let cli =
                Cli::try_parse_from(std::iter::once("claude-status").chain(args.iter().copied()))
                    .unwrap();
            assert_eq!(
                cli.global.models,
                ["claude-opus-5-5", "claude-sonnet-5-5"],
                "{args:?}"
            );
            assert!(!cli.global.no_ttft);
        }
        let cli = Cli::try_parse_from(["claude-status", "check", "--ttft", "--no-ttft"]).unwrap();
        assert!(cli.global.ttft && cli.global.no_ttft && cli.global.models.is_empty());
        assert!(Cli::try_parse_from(["claude-status", "--model", "", "check"]).is_err());
    }

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
