//! `claude-status alerts`: direct alert routing from the command line, for a headless server as
//! much as a laptop. `list`, `add`, `remove`, `secret` and `test` go through the running service
//! when there is one (it owns the settings and the keychain's use); without one they edit
//! `settings.json` and the secrets themselves, and `test` sends from here.
//!
//! A secret is never an argument (it would land in the shell's history and in `ps`): `secret`
//! reads it from standard input.

use std::io::{BufRead as _, Read as _};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context as _};
use claude_status_core::channels::{
    validate_secret, AlertingReport, ChannelConfig, ChannelKind, SecretSlot, TestOutcome,
};
use claude_status_core::settings::Settings;
use claude_status_core::Level;
use claude_status_engine::alerting::secrets::{env_names, ChannelSecrets};
use claude_status_engine::alerting::{AlertingLimits, Dispatcher};
use claude_status_engine::control::proto::Call;
use claude_status_engine::service::settings_file;
use claude_status_engine::service::SettingsView;
use tokio_util::sync::CancellationToken;

use crate::args::GlobalOptions;

/// The longest secret read from standard input.
const MAX_SECRET: usize = 4096;

/// What `claude-status alerts` does.
#[derive(Debug, clap::Subcommand)]
pub enum AlertsCommand {
    /// The channels, whether their secrets are set (never the secrets) and how their deliveries
    /// went.
    List {
        /// Print JSON (`AlertingReport`).
        #[arg(long)]
        json: bool,
    },
    /// Add a channel (or replace the one with the same id). Its URL or routing key is set
    /// apart, with `alerts secret ID`, or in the environment.
    Add {
        /// slack, discord, pagerduty, webhook or ntfy.
        #[arg(value_parser = parse_kind)]
        kind: ChannelKind,
        /// A short id: lower-case letters, digits and -, at most 32 (it names the keychain
        /// entries and the environment variables).
        id: String,
        /// What the dashboard calls it (default: the id).
        #[arg(long)]
        name: Option<String>,
        /// The levels whose alerts it gets (comma-separated): overloaded, outage.
        #[arg(long, value_delimiter = ',', default_value = "overloaded,outage", value_parser = parse_level)]
        levels: Vec<Level>,
        /// Only level alerts about these models (comma-separated ids); default: every followed
        /// model.
        #[arg(long = "only-model", value_delimiter = ',')]
        models: Vec<String>,
        /// No official-incident alerts.
        #[arg(long)]
        no_incidents: bool,
        /// No budget, spend-cap or per-minute-limit alerts.
        #[arg(long)]
        no_budget: bool,
        /// No plan-window alerts.
        #[arg(long)]
        no_plan: bool,
        /// No traffic-spike alerts (the gateway's cost per 1,000 requests, input tokens, time
        /// to first token and answer time).
        #[arg(long)]
        no_traffic: bool,
        /// PagerDuty only: the Events API URL (an EU account:
        /// https://events.eu.pagerduty.com/v2/enqueue).
        #[arg(long)]
        endpoint: Option<String>,
        /// Add it switched off.
        #[arg(long)]
        disabled: bool,
    },
    /// Remove a channel and its stored secrets.
    Remove { id: String },
    /// Store a channel's URL or routing key (or with --auth its signing secret or ntfy
    /// token), read from standard input: `claude-status alerts secret team < url.txt`. Stored
    /// in the keychain, or without one in <data dir>/alert-secrets.json (mode 0600).
    Secret {
        id: String,
        /// The second secret: the webhook's signing secret or ntfy's access token.
        #[arg(long)]
        auth: bool,
        /// Remove the stored secret instead.
        #[arg(long)]
        remove: bool,
    },
    /// Send a test alert to every channel, or to one.
    Test {
        #[arg(long)]
        channel: Option<String>,
        /// Print JSON (one `TestOutcome` per channel).
        #[arg(long)]
        json: bool,
    },
}

fn parse_kind(text: &str) -> Result<ChannelKind, String> {
    ChannelKind::parse(text)
        .ok_or_else(|| "one of slack, discord, pagerduty, webhook, ntfy".to_owned())
}

fn parse_level(text: &str) -> Result<Level, String> {
    match text {
        "overloaded" => Ok(Level::Overloaded),
        "outage" => Ok(Level::Outage),
        _ => Err("overloaded or outage (the two levels that raise alerts)".to_owned()),
    }
}

pub async fn alerts(global: &GlobalOptions, command: AlertsCommand) -> anyhow::Result<ExitCode> {
    match command {
        AlertsCommand::List { json } => list(global, json).await,
        AlertsCommand::Add {
            kind,
            id,
            name,
            levels,
            models,
            no_incidents,
            no_budget,
            no_plan,
            no_traffic,
            endpoint,
            disabled,
        } => {
            let mut channel = ChannelConfig::new(&id, name.as_deref().unwrap_or(&id), kind);
            channel.enabled = !disabled;
            channel.filter.levels = levels;
            channel.filter.models = models;
            channel.filter.incidents = !no_incidents;
            channel.filter.budget = !no_budget;
            channel.filter.plan = !no_plan;
            channel.filter.traffic = !no_traffic;
            channel.endpoint = endpoint;
            change_settings(global, |settings| {
                settings.alert_channels.retain(|c| c.id != id);
                settings.alert_channels.push(channel.clone());
            })
            .await?;
            println!("added {} channel {id:?}", kind.as_str());
            println!(
                "set its {} with `claude-status alerts secret {id}` (read from standard input), or in {}",
                kind.target_secret().words,
                env_names(&id, kind).join(" / ")
            );
            Ok(ExitCode::SUCCESS)
        }
        AlertsCommand::Remove { id } => {
            let mut found = false;
            change_settings(global, |settings| {
                found = settings.alert_channels.iter().any(|c| c.id == id);
                settings.alert_channels.retain(|c| c.id != id);
            })
            .await?;
            if !found {
                bail!("no alert channel {id:?}");
            }
            // Without a service, the secrets are removed here (the service removes them itself).
            if crate::service_cmd::connect(global).await?.is_none() {
                let secrets = local_secrets(global)?;
                tokio::task::spawn_blocking(move || {
                    for slot in [SecretSlot::Target, SecretSlot::Auth] {
                        let _ = secrets.store(&id, slot, None);
                    }
                })
                .await?;
            }
            println!("removed");
            Ok(ExitCode::SUCCESS)
        }
        AlertsCommand::Secret { id, auth, remove } => secret(global, id, auth, remove).await,
        AlertsCommand::Test { channel, json } => test(global, channel, json).await,
    }
}

/// The channels' report: the service's, or one made here from the settings file.
async fn list(global: &GlobalOptions, json: bool) -> anyhow::Result<ExitCode> {
    let report: AlertingReport = match crate::service_cmd::connect(global).await? {
        Some(mut client) => client.call(Call::AlertChannels).await?,
        None => {
            let (dispatcher, shutdown) = local_dispatcher(global)?;
            let mut report = dispatcher.report().await;
            // Nothing routes here: the counters are this process's, and say nothing.
            report.running = false;
            shutdown.cancel();
            report
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    if report.channels.is_empty() {
        println!("no alert channels; add one with `claude-status alerts add slack team`");
    }
    for status in &report.channels {
        let channel = &status.channel;
        let secret = match status.target {
            Some(origin) => format!(
                "{} set ({})",
                channel.kind.target_secret().words,
                serde_json::to_value(origin)?.as_str().unwrap_or_default()
            ),
            None => format!(
                "{} NOT SET (alerts secret {}, or {})",
                channel.kind.target_secret().words,
                channel.id,
                status.env_vars.first().cloned().unwrap_or_default()
            ),
        };
        let state = if !channel.enabled {
            "off".to_owned()
        } else if status.failing {
            format!(
                "FAILING: {}",
                status
                    .last_error
                    .clone()
                    .unwrap_or_else(|| "no secret".to_owned())
            )
        } else {
            "ok".to_owned()
        };
        let levels: Vec<&str> = channel.filter.levels.iter().map(|l| l.as_str()).collect();
        println!(
            "{:<16} {:<9} {:<24} {state}",
            channel.id,
            channel.kind.as_str(),
            channel.name
        );
        println!(
            "    {secret}; levels {}; models {}; incidents {}, budget {}, plan {}, traffic {}",
            if levels.is_empty() {
                "none".to_owned()
            } else {
                levels.join(",")
            },
            if channel.filter.models.is_empty() {
                "all".to_owned()
            } else {
                channel.filter.models.join(",")
            },
            yes_no(channel.filter.incidents),
            yes_no(channel.filter.budget),
            yes_no(channel.filter.plan),
            yes_no(channel.filter.traffic),
        );
        if report.running {
            println!(
                "    delivered {}, failed {}, dropped {}, queued {}",
                status.delivered, status.failed, status.dropped, status.queued
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn yes_no(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

/// Changes the settings through the service when it runs (it validates, stores and applies
/// them), else in `settings.json` directly, validated the same way.
async fn change_settings(
    global: &GlobalOptions,
    mut change: impl FnMut(&mut Settings),
) -> anyhow::Result<()> {
    if let Some(mut client) = crate::service_cmd::connect(global).await? {
        let view: SettingsView = client.call(Call::GetSettings).await?;
        let mut settings = view.settings;
        change(&mut settings);
        let _: SettingsView = client.call(Call::SetSettings { settings }).await?;
        return Ok(());
    }
    let dir = claude_status_engine::paths::data_dir(global.data_dir.clone())?;
    let mut settings = settings_file::load(&dir, None);
    change(&mut settings);
    settings
        .validate()
        .map_err(|e| claude_status_engine::Error::Config(e.to_string()))?;
    settings_file::save(&dir, &settings)
        .with_context(|| format!("writing {}", settings_file::settings_path(&dir).display()))?;
    Ok(())
}

/// One line of standard input, trimmed and bounded.
fn read_secret() -> anyhow::Result<String> {
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        eprintln!("paste the secret and press Enter (it is not echoed to any log):");
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .take(MAX_SECRET as u64 + 1)
        .read_line(&mut line)
        .context("reading the secret from standard input")?;
    let secret = line.trim().to_owned();
    if secret.is_empty() {
        bail!("no secret on standard input");
    }
    if secret.len() > MAX_SECRET {
        bail!("the secret is longer than {MAX_SECRET} bytes");
    }
    Ok(secret)
}

async fn secret(
    global: &GlobalOptions,
    id: String,
    auth: bool,
    remove: bool,
) -> anyhow::Result<ExitCode> {
    let slot = if auth {
        SecretSlot::Auth
    } else {
        SecretSlot::Target
    };
    let secret = if remove { None } else { Some(read_secret()?) };
    if let Some(mut client) = crate::service_cmd::connect(global).await? {
        let report: AlertingReport = client
            .call(Call::SetAlertSecret {
                channel: id.clone(),
                slot,
                secret,
            })
            .await?;
        let stored = report.channels.iter().find(|c| c.channel.id == id);
        println!(
            "{}",
            match stored.and_then(|c| if auth { c.auth } else { c.target }) {
                Some(origin) => format!(
                    "stored ({})",
                    serde_json::to_value(origin)?.as_str().unwrap_or_default()
                ),
                None => "removed".to_owned(),
            }
        );
        return Ok(ExitCode::SUCCESS);
    }
    let dir = claude_status_engine::paths::data_dir(global.data_dir.clone())?;
    let settings = settings_file::load(&dir, None);
    let Some(channel) = settings.alert_channels.iter().find(|c| c.id == id).cloned() else {
        bail!("no alert channel {id:?}: add it first with `claude-status alerts add KIND {id}`");
    };
    if let Some(secret) = &secret {
        validate_secret(channel.kind, slot, secret).map_err(claude_status_engine::Error::Config)?;
    }
    let secrets = local_secrets(global)?;
    let stored = tokio::task::spawn_blocking(move || secrets.store(&id, slot, secret.as_deref()))
        .await?
        .map_err(anyhow::Error::msg)?;
    println!(
        "{}",
        match stored {
            Some(origin) => format!(
                "stored ({})",
                serde_json::to_value(origin)?.as_str().unwrap_or_default()
            ),
            None => "removed".to_owned(),
        }
    );
    Ok(ExitCode::SUCCESS)
}

async fn test(
    global: &GlobalOptions,
    channel: Option<String>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let outcomes: Vec<TestOutcome> = match crate::service_cmd::connect(global).await? {
        Some(mut client) => client.call(Call::TestAlert { channel }).await?,
        None => {
            let (dispatcher, shutdown) = local_dispatcher(global)?;
            if let Some(id) = &channel {
                if !dispatcher.channels().iter().any(|c| &c.id == id) {
                    bail!("no alert channel {id:?}");
                }
            }
            let outcomes = dispatcher.send_test(channel.as_deref()).await;
            shutdown.cancel();
            outcomes
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&outcomes)?);
    } else if outcomes.is_empty() {
        println!("no alert channels to test");
    } else {
        for outcome in &outcomes {
            println!(
                "{} {}: {}",
                if outcome.ok { "✔" } else { "✖" },
                outcome.channel_id,
                outcome.message
            );
        }
    }
    Ok(if outcomes.iter().all(|o| o.ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The secrets as this process reads them: the OS keychain, the data directory's 0600 file,
/// the environment.
pub fn local_secrets(global: &GlobalOptions) -> anyhow::Result<ChannelSecrets> {
    let dir = claude_status_engine::paths::data_dir(global.data_dir.clone())?;
    Ok(ChannelSecrets::new(
        Arc::new(crate::keychain::Keychain),
        Some(&dir),
    ))
}

/// A dispatcher of this process with the settings file's channels, for `list` and `test`
/// without a service and for `watch --alerts`.
pub fn local_dispatcher(global: &GlobalOptions) -> anyhow::Result<(Dispatcher, CancellationToken)> {
    let dir = claude_status_engine::paths::data_dir(global.data_dir.clone())?;
    let settings = settings_file::load(&dir, None);
    let store = crate::open_store(global)?;
    let http = claude_status_engine::http::build_client(&Default::default())?;
    let shutdown = CancellationToken::new();
    let dispatcher = Dispatcher::start(
        settings.alert_channels,
        AlertingLimits::default(),
        local_secrets(global)?,
        http,
        store,
        shutdown.clone(),
    );
    Ok((dispatcher, shutdown))
}
