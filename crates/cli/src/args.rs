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
    /// Do not probe the API; follow the status page only.
    #[arg(long, global = true)]
    pub no_probe: bool,
    /// Also run the streaming probe (time to first token). It sends a one-token request with
    /// ANTHROPIC_API_KEY and so costs a little (about $0.02 a day with Haiku 4.5 at 60 s).
    #[arg(long, global = true)]
    pub ttft: bool,
    /// The streaming probe's model.
    #[arg(long, global = true, default_value = claude_status_engine::probe::DEFAULT_STREAM_MODEL)]
    pub model: String,
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
    /// overloaded, 3 unknown or offline.
    Check {
        /// Print the snapshot as JSON.
        #[arg(long)]
        json: bool,
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
    /// Token usage and cost from Claude Code's logs, per day, month or session (the tables
    /// ccusage users know).
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
}

/// How `usage` groups its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum UsageView {
    Daily,
    Monthly,
    Session,
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
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
