//! The service's answers to the control API's calls: each one reads the store, the settings or
//! the running engine, or changes them, and says what went wrong with a kind and the field at
//! fault. No call ever returns a key.

use std::sync::Arc;

use chrono::{Duration, Utc};
use claude_status_core::channels::{validate_secret, SecretSlot};
use claude_status_core::gateway::{fallback_totals, gateway_minutes, GatewayReport};
use claude_status_core::history::{summarize, HistoryLead, HistoryReport};
use claude_status_core::pricing::normalize_model;
use claude_status_core::report::{IncidentReport, Snapshot};
use claude_status_core::series::probe_series;
use claude_status_core::settings::Settings;
use claude_status_core::usage::UsageSource;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use serde::Serialize;
use tokio::sync::{broadcast, watch};

use super::{lock_ok, provider_keys, settings_file, Inner, KeySource, SettingsView};
use super::{ADMIN_KEY_ACCOUNT, API_KEY_ACCOUNT};
use crate::control::proto::{Call, ControlError, ErrorKind, Event, Hello, ServiceInfo};
use crate::control::Handler;

type CallResult = Result<serde_json::Value, ControlError>;

/// Minutes of gateway traffic the dashboard shows.
const GATEWAY_MINUTES: usize = 15;
/// Retries and fallbacks the dashboard lists: the latest of the last day.
const GATEWAY_EVENTS: usize = 50;
/// The most events of the month summed for the Budget view's fallbacks by target; a month of
/// fallbacks at one a second would be more, and the sum then covers the latest of them.
const FALLBACK_EVENTS_SUMMED: usize = 100_000;
/// The longest pause of notifications.
const MAX_PAUSE_MINUTES: u32 = 24 * 60;

fn to_value<T: Serialize>(value: &T) -> CallResult {
    serde_json::to_value(value).map_err(|e| ControlError::new(ErrorKind::Internal, e.to_string()))
}

fn invalid(field: &str, message: impl Into<String>) -> ControlError {
    ControlError::new(ErrorKind::InvalidArgument, message).with_field(field)
}

fn storage(e: impl std::fmt::Display) -> ControlError {
    ControlError::new(ErrorKind::Storage, e.to_string())
}

/// A range front ends may ask for, its length and the number of chart buckets (1 min, 5 min,
/// 30 min and 2 h buckets).
pub fn parse_range(range: &str) -> Result<(Duration, usize), ControlError> {
    match range {
        "1h" => Ok((Duration::hours(1), 60)),
        "24h" => Ok((Duration::hours(24), 288)),
        "7d" => Ok((Duration::days(7), 336)),
        "30d" => Ok((Duration::days(30), 360)),
        other => Err(invalid(
            "range",
            format!("range {other:?} is not one of 1h, 24h, 7d, 30d"),
        )),
    }
}

/// Runs blocking store work off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ControlError> + Send + 'static,
) -> Result<T, ControlError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ControlError::new(ErrorKind::Internal, e.to_string()))?
}

/// A key as typed: trimmed, one word of at most 256 characters; empty means "remove".
fn parse_key(key: Option<String>, admin: bool) -> Result<Option<String>, ControlError> {
    let Some(key) = key.map(|k| k.trim().to_owned()).filter(|k| !k.is_empty()) else {
        return Ok(None);
    };
    if key.len() > 256 || key.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid(
            "key",
            "an API key is one word of at most 256 characters",
        ));
    }
    if admin && !key.starts_with("sk-ant-admin") {
        return Err(invalid(
            "key",
            "an Admin API key starts with sk-ant-admin (create one in the Console's admin settings)",
        ));
    }
    Ok(Some(key))
}

/// Settings that only front ends read (notifications are filtered here but need no restart,
/// autostart, whether the probe's cost was shown) need no engine restart.
fn engine_settings_changed(a: &Settings, b: &Settings) -> bool {
    let front_end_only = |s: &Settings| Settings {
        notifications: true,
        launch_at_login: false,
        probe_cost_notice_shown: false,
        // The alert channels are the dispatcher's, which outlives the engine.
        alert_channels: Vec::new(),
        ..s.clone()
    };
    front_end_only(a) != front_end_only(b)
}

impl Inner {
    pub(crate) fn settings_view(&self) -> SettingsView {
        let gateway = self.gateway.view();
        let metrics = self.metrics_server.view();
        let source = *lock_ok(&self.key_source);
        SettingsView {
            settings: self.settings(),
            api_key_configured: source != KeySource::None,
            api_key_source: source,
            admin_key_configured: *lock_ok(&self.admin_key_configured),
            gateway_url: gateway.clone().and_then(Result::ok).map(|g| g.url),
            gateway_error: gateway.and_then(Result::err),
            metrics_url: metrics.clone().and_then(Result::ok),
            metrics_error: metrics.and_then(Result::err),
            notifications_paused_until: self.paused_until(Utc::now()),
        }
    }

    fn info(&self) -> ServiceInfo {
        let base = &self.options.base;
        ServiceInfo {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            protocol: crate::control::PROTOCOL_VERSION,
            pid: std::process::id(),
            started_at: self.started_at,
            socket: self.options.socket.display().to_string(),
            data_dir: base.data_dir.display().to_string(),
            demo: base.demo,
            status_url: base.status_url.clone(),
            fallback_url: base.fallback_url.clone(),
            gateway_url: self.gateway.view().and_then(Result::ok).map(|g| g.url),
        }
    }

    fn settings_changed(&self) {
        let _ = self.events.send(Event::Settings {
            sent_at: Utc::now(),
        });
    }

    /// Validates, stores and applies new settings; an invalid value is refused with the field
    /// named, and the last good settings stay in force.
    async fn set_settings(self: &Arc<Self>, settings: Settings) -> CallResult {
        settings.validate().map_err(|e| {
            ControlError::new(ErrorKind::InvalidSettings, e.to_string()).with_field(e.field)
        })?;
        let previous = self.settings();
        if previous.launch_at_login != settings.launch_at_login {
            if let Some(login_item) = self.login_item.clone() {
                let enabled = settings.launch_at_login;
                blocking(move || {
                    login_item(enabled).map_err(|e| {
                        ControlError::new(ErrorKind::Internal, format!("launch at login: {e}"))
                            .with_field("launch_at_login")
                    })
                })
                .await?;
            }
        }
        let dir = self.options.base.data_dir.clone();
        let saved = settings.clone();
        blocking(move || settings_file::save(&dir, &saved).map_err(storage)).await?;
        *lock_ok(&self.settings) = settings.clone();
        if previous.alert_channels != settings.alert_channels {
            self.apply_alert_channels(&previous, &settings).await;
        }
        if previous.gateway_providers != settings.gateway_providers {
            self.forget_removed_providers(&previous, &settings).await;
        }
        if engine_settings_changed(&previous, &settings) {
            self.restart_engine().await;
        }
        self.settings_changed();
        to_value(&self.settings_view())
    }

    async fn set_key(self: &Arc<Self>, key: Option<String>, admin: bool) -> CallResult {
        let key = parse_key(key, admin)?;
        let secrets = Arc::clone(&self.secrets);
        let account = if admin {
            ADMIN_KEY_ACCOUNT
        } else {
            API_KEY_ACCOUNT
        };
        blocking(move || {
            secrets
                .set(account, key.as_deref())
                .map_err(|e| ControlError::new(ErrorKind::KeychainUnavailable, e))
        })
        .await?;
        self.restart_engine().await;
        self.settings_changed();
        to_value(&self.settings_view())
    }

    async fn history(&self, range: String) -> CallResult {
        let (span, _) = parse_range(&range)?;
        let store = self.store.clone();
        let to = Utc::now();
        let from = to - span;
        let report = blocking(move || -> Result<HistoryReport, ControlError> {
            let probes = store.probes_between(from, to).map_err(storage)?;
            let incidents = store.recent_incidents(200).map_err(storage)?;
            let leads: Vec<HistoryLead> = store
                .lead_times_between(from, to)
                .map_err(storage)?
                .iter()
                .map(Into::into)
                .collect();
            let mut report = summarize(&probes, &incidents, &leads, from, to);
            report.window_label = range;
            Ok(report)
        })
        .await?;
        to_value(&report)
    }

    async fn probe_series(&self, range: String, model: Option<String>) -> CallResult {
        let (span, buckets) = parse_range(&range)?;
        let model = match model.map(|m| m.trim().to_owned()) {
            None => None,
            Some(m) if m.is_empty() || m.len() > 200 => {
                return Err(invalid("model", "a model id is 1 to 200 characters"))
            }
            Some(m) => Some(normalize_model(&m)),
        };
        let store = self.store.clone();
        let to = Utc::now();
        let from = to - span;
        let mut probes = blocking(move || store.probes_between(from, to).map_err(storage)).await?;
        if let Some(model) = &model {
            probes.retain(|r| r.model.as_deref().map(normalize_model).as_ref() == Some(model));
        }
        to_value(&probe_series(&probes, from, to, buckets))
    }

    async fn gateway_report(&self) -> CallResult {
        let settings = self.settings();
        let running = self.gateway.view();
        let store = self.store.clone();
        let now = Utc::now();
        let (minutes, events, fallback_totals) = blocking(move || {
            let from = now - Duration::minutes(GATEWAY_MINUTES as i64);
            // A minute ahead, so a record stamped a moment after `now` still lands in the last
            // one.
            let records = store
                .usage_between_of(from, now + Duration::minutes(1), Some(UsageSource::Gateway))
                .map_err(storage)?;
            let minutes = gateway_minutes(&records, now, GATEWAY_MINUTES);
            let events = store
                .gateway_events_since(now - Duration::days(1), GATEWAY_EVENTS)
                .map_err(storage)?;
            let month_start = chrono::TimeZone::with_ymd_and_hms(
                &Utc,
                chrono::Datelike::year(&now),
                chrono::Datelike::month(&now),
                1,
                0,
                0,
                0,
            )
            .single()
            .unwrap_or(now);
            let month = store
                .gateway_events_since(month_start, FALLBACK_EVENTS_SUMMED)
                .map_err(storage)?;
            Ok((minutes, events, fallback_totals(&month)))
        })
        .await?;
        let (url, upstream, stats, error, served_elsewhere) = match running {
            Some(Ok(gateway)) => (
                Some(gateway.url),
                Some(gateway.upstream),
                Some(gateway.stats.snapshot()),
                None,
                gateway.stats.served_elsewhere(),
            ),
            Some(Err(error)) => (None, None, None, Some(error), Vec::new()),
            None => (None, None, None, None, Vec::new()),
        };
        to_value(&GatewayReport {
            enabled: settings.gateway,
            url,
            error,
            upstream,
            retry: settings.gateway_retry,
            fallback: settings.gateway_fallback,
            fallback_after_secs: settings.gateway_fallback_after_secs,
            served_elsewhere,
            fallback_totals,
            stats,
            minutes,
            events,
        })
    }

    async fn snapshot_for(&self, model: Option<String>) -> CallResult {
        let Some(model) = model.map(|m| m.trim().to_owned()) else {
            return to_value(&self.snapshot.borrow().clone());
        };
        if model.is_empty() || model.len() > 200 {
            return Err(invalid("model", "a model id is 1 to 200 characters"));
        }
        let engine = self.engine.lock().await;
        let answer: Option<Snapshot> = match engine.as_ref() {
            Some(engine) => engine.snapshot_for_model(&model).await,
            None => None,
        };
        to_value(&answer)
    }

    fn probe_cost(&self) -> CallResult {
        let key_present = *lock_ok(&self.key_source) != KeySource::None;
        to_value(&super::probe_cost::current(
            &self.options.base,
            &self.settings(),
            &self.snapshot.borrow(),
            key_present,
        ))
    }

    async fn dismiss_probe_cost_notice(self: &Arc<Self>, turn_off: bool) -> CallResult {
        let mut settings = self.settings();
        settings.probe_cost_notice_shown = true;
        if turn_off {
            settings.streaming_probe = false;
        }
        self.set_settings(settings).await?;
        self.probe_cost()
    }

    /// Reads Claude Code's new lines into the ledger for `usage`, which asked for them
    /// explicitly, so it runs whether or not the service follows the logs itself.
    /// A report read from the store and priced with the data directory's catalog (the built-in
    /// one when it cannot be read), off the async workers: the Budget view's blocks and advice.
    async fn priced_report<T: Serialize + Send + 'static>(
        &self,
        report: impl FnOnce(&crate::Store, &claude_status_core::catalog::Catalog) -> crate::Result<T>
            + Send
            + 'static,
    ) -> CallResult {
        let store = self.store.clone();
        let data_dir = self.options.base.data_dir.clone();
        let report = blocking(move || {
            let catalog = crate::usage::load_catalog_in(&data_dir).unwrap_or_else(|e| {
                tracing::warn!("{e}; pricing the report with the built-in catalog");
                claude_status_core::catalog::Catalog::builtin()
            });
            report(&store, &catalog).map_err(storage)
        })
        .await?;
        to_value(&report)
    }

    async fn ingest_usage(&self) -> CallResult {
        if self.options.base.demo {
            return to_value(&crate::claude_code::IngestReport::default());
        }
        let store = self.store.clone();
        let report = blocking(move || {
            let dirs = crate::claude_code::default_projects_dirs().map_err(storage)?;
            crate::claude_code::ingest_all(&store, &dirs).map_err(storage)
        })
        .await?;
        to_value(&report)
    }

    /// One status-line run: its plan readings go to the store and the engine, and the answer is
    /// what the line shows, from the same snapshot the tray shows.
    async fn status_line(
        &self,
        mut readings: Vec<claude_status_core::plan::PlanReading>,
        model: Option<String>,
    ) -> CallResult {
        use claude_status_core::plan::{valid_window_name, MAX_WINDOWS};
        use claude_status_core::statusline::{health_of, FactsSource, StatusFacts};
        if readings.len() > MAX_WINDOWS {
            return Err(invalid(
                "readings",
                format!("at most {MAX_WINDOWS} plan windows"),
            ));
        }
        if let Some(bad) = readings.iter().find(|r| {
            !valid_window_name(&r.window)
                || !r.used_percent.is_finite()
                || !(0.0..=1000.0).contains(&r.used_percent)
        }) {
            return Err(invalid(
                "readings",
                format!("a plan reading of window {:?} is out of range", bad.window),
            ));
        }
        if model.as_ref().is_some_and(|m| m.len() > 200) {
            return Err(invalid("model", "a model id is at most 200 characters"));
        }
        // The reading's time is the client's; one from the future (a skewed clock) counts as now.
        let now = Utc::now();
        for reading in &mut readings {
            if reading.seen_at > now {
                reading.seen_at = now;
            }
        }
        if !readings.is_empty() {
            // Claude Code waits for its status line: the reply does not wait for the disk.
            let store = self.store.clone();
            let to_store = readings.clone();
            tokio::task::spawn_blocking(move || {
                if let Err(e) = store.record_plan_readings(&to_store) {
                    tracing::warn!("the status line's plan readings were not stored: {e}");
                }
            });
            let engine = lock_ok(&self.engine_input).clone();
            if let Some(engine) = engine {
                // The monitor's queue being full only delays the pace; the store has the reading.
                let _ = engine.try_send(claude_status_core::monitor::Observation::PlanReadings {
                    readings,
                    replay: false,
                });
            }
        }
        // Only the parts the line shows are copied out of the snapshot, not the whole of it.
        let facts = {
            let snapshot = self.snapshot.borrow();
            let usage = snapshot.usage.as_ref();
            StatusFacts {
                source: FactsSource::Service,
                health: Some(health_of(&snapshot, model.as_deref())),
                today: usage.map(|u| u.today.cost.clone()),
                plan: usage.map(|u| u.plan.clone()).unwrap_or_default(),
            }
        };
        to_value(&facts)
    }

    /// Claude Code's settings file: whether our status line is in it, installing, removing. The
    /// service runs as the user, so it edits the same file `statusline --install` does, with
    /// the same rules (every other key kept, a backup first, another status line only replaced
    /// when asked).
    async fn status_line_settings(&self, call: Call) -> CallResult {
        use crate::statusline_install as settings;
        use claude_status_core::statusline::{StatusLineSetup, StatusLineSetupState};
        let program = self.options.base.program.clone();
        let setup = blocking(move || {
            let failed =
                |e: settings::InstallError| ControlError::new(ErrorKind::Storage, e.to_string());
            let path = settings::default_settings_path().map_err(failed)?;
            let message = match call {
                Call::InstallStatusLine { force } => {
                    let exe = match program {
                        Some(program) => program,
                        None => std::env::current_exe()
                            .map_err(|e| ControlError::new(ErrorKind::Internal, e.to_string()))?,
                    };
                    let command = settings::preferred_command(&exe);
                    let outcome = settings::install(
                        &path,
                        &command,
                        settings::InstallOptions {
                            force,
                            refresh_interval: None,
                        },
                    )
                    .map_err(failed)?;
                    Some(outcome.to_string())
                }
                Call::UninstallStatusLine => {
                    let outcome = settings::uninstall(
                        &path,
                        settings::is_our_command,
                        settings::UninstallOptions { force: false },
                    )
                    .map_err(failed)?;
                    Some(outcome.to_string())
                }
                _ => None,
            };
            let mut message = message;
            let (state, command) = match settings::status(&path) {
                Ok(settings::StatusLineState::None) => (StatusLineSetupState::None, None),
                Ok(settings::StatusLineState::Ours { command }) => {
                    (StatusLineSetupState::Ours, Some(command))
                }
                Ok(settings::StatusLineState::Other { value }) => (
                    StatusLineSetupState::Other,
                    Some(
                        value
                            .get("command")
                            .and_then(|c| c.as_str())
                            .map(str::to_owned)
                            .unwrap_or_else(|| value.to_string()),
                    ),
                ),
                Err(e) => {
                    message.get_or_insert_with(|| e.to_string());
                    (StatusLineSetupState::Unreadable, None)
                }
            };
            Ok(StatusLineSetup {
                path: path.display().to_string(),
                state,
                command,
                message,
            })
        })
        .await?;
        to_value(&setup)
    }

    /// Gives the dispatcher the new channels and forgets the secrets of channels that are gone,
    /// so a removed channel leaves nothing behind in the keychain or the file.
    async fn apply_alert_channels(&self, previous: &Settings, settings: &Settings) {
        if !self.options.base.demo {
            self.alerting.set_channels(settings.alert_channels.clone());
        }
        let gone: Vec<String> = previous
            .alert_channels
            .iter()
            .filter(|old| !settings.alert_channels.iter().any(|c| c.id == old.id))
            .map(|c| c.id.clone())
            .collect();
        if gone.is_empty() {
            return;
        }
        let secrets = self.alerting.secrets().clone();
        let _ = blocking(move || {
            for id in &gone {
                for slot in [SecretSlot::Target, SecretSlot::Auth] {
                    if let Err(e) = secrets.store(id, slot, None) {
                        tracing::warn!("the secrets of removed alert channel {id}: {e}");
                    }
                }
            }
            Ok(())
        })
        .await;
    }

    /// Stores one channel's secret after checking its shape; the answer is the channels'
    /// report, which says "set" or "not set", never the secret.
    async fn set_alert_secret(
        &self,
        channel: String,
        slot: SecretSlot,
        secret: Option<String>,
    ) -> CallResult {
        let Some(config) = self
            .settings()
            .alert_channels
            .into_iter()
            .find(|c| c.id == channel)
        else {
            return Err(ControlError::new(
                ErrorKind::NotFound,
                format!("no alert channel {channel:?}: add it in the settings first"),
            )
            .with_field("channel"));
        };
        let secret = secret
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty());
        if let Some(secret) = &secret {
            validate_secret(config.kind, slot, secret).map_err(|e| invalid("secret", e))?;
        }
        let secrets = self.alerting.secrets().clone();
        blocking(move || {
            secrets
                .store(&config.id, slot, secret.as_deref())
                .map(|_| ())
                .map_err(|e| ControlError::new(ErrorKind::KeychainUnavailable, e))
        })
        .await?;
        self.settings_changed();
        to_value(&self.alerting.report().await)
    }

    /// Whether each provider of the fallback chain has a key, and where (never the key). The
    /// keychain is read off the async workers.
    async fn provider_keys(&self) -> CallResult {
        let secrets = Arc::clone(&self.secrets);
        let settings = self.settings();
        let statuses = blocking(move || {
            Ok(provider_keys::key_statuses(
                secrets.as_ref(),
                &settings,
                |var| std::env::var(var).ok(),
            ))
        })
        .await?;
        to_value(&statuses)
    }

    /// Stores (or removes) one provider's key in the keychain under its account
    /// (`Provider::keychain_account`), then restarts the engine and the gateway so the key in
    /// force is the new one. The answer says where each key is, never what it is.
    async fn set_provider_key(
        self: &Arc<Self>,
        provider: String,
        key: Option<String>,
    ) -> CallResult {
        let Some(provider) = provider_keys::named_provider(&self.settings(), &provider) else {
            return Err(invalid(
                "provider",
                format!(
                    "{provider:?} is not openai, gemini or an OpenAI-compatible server of the \
                     settings: declare it first"
                ),
            ));
        };
        let key =
            provider_keys::parse_provider_key(key.as_deref()).map_err(|e| invalid("key", e))?;
        let secrets = Arc::clone(&self.secrets);
        let account = provider.keychain_account();
        blocking(move || {
            secrets
                .set(&account, key.as_deref())
                .map_err(|e| ControlError::new(ErrorKind::KeychainUnavailable, e))
        })
        .await?;
        self.restart_engine().await;
        self.settings_changed();
        self.provider_keys().await
    }

    /// Forgets the keychain keys of OpenAI-compatible servers the new settings no longer
    /// declare, so a removed server leaves nothing behind (as a removed alert channel does).
    async fn forget_removed_providers(&self, previous: &Settings, settings: &Settings) {
        let kept = provider_keys::providers_of(settings);
        let gone: Vec<String> = provider_keys::providers_of(previous)
            .into_iter()
            .filter(|p| !kept.contains(p))
            .map(|p| p.keychain_account())
            .collect();
        if gone.is_empty() {
            return;
        }
        let secrets = Arc::clone(&self.secrets);
        let _ = blocking(move || {
            for account in &gone {
                if let Err(e) = secrets.set(account, None) {
                    tracing::warn!("the key of removed provider {account}: {e}");
                }
            }
            Ok(())
        })
        .await;
    }

    async fn test_alert(&self, channel: Option<String>) -> CallResult {
        if let Some(id) = &channel {
            if !self.alerting.channels().iter().any(|c| &c.id == id) {
                return Err(ControlError::new(
                    ErrorKind::NotFound,
                    format!("no alert channel {id:?}"),
                )
                .with_field("channel"));
            }
        }
        to_value(&self.alerting.send_test(channel.as_deref()).await)
    }

    async fn answer(self: Arc<Self>, call: Call) -> CallResult {
        match call {
            Call::Version => to_value(&self.info()),
            Call::Snapshot { model } => self.snapshot_for(model).await,
            Call::Subscribe => Err(ControlError::new(
                ErrorKind::BadFrame,
                "subscribe is answered with a stream, not a reply",
            )),
            Call::History { range } => self.history(range).await,
            Call::ProbeSeries { range, model } => self.probe_series(range, model).await,
            Call::Incidents { limit } => {
                let limit = usize::try_from(limit.clamp(1, 200)).unwrap_or(200);
                let store = self.store.clone();
                let incidents =
                    blocking(move || store.recent_incidents(limit).map_err(storage)).await?;
                let reports: Vec<IncidentReport> =
                    incidents.iter().map(IncidentReport::from).collect();
                to_value(&reports)
            }
            Call::Incident { id } => {
                if id.is_empty() || id.len() > 200 {
                    return Err(invalid("id", "an incident id is 1 to 200 characters"));
                }
                let store = self.store.clone();
                let incident = blocking(move || store.incident(&id).map_err(storage)).await?;
                to_value(&incident.as_ref().map(IncidentReport::from))
            }
            Call::Gateway => self.gateway_report().await,
            Call::GetSettings => to_value(&self.settings_view()),
            Call::SetSettings { settings } => self.set_settings(settings).await,
            Call::SetApiKey { key } => self.set_key(key, false).await,
            Call::SetAdminKey { key } => self.set_key(key, true).await,
            Call::CheckNow => {
                if let Some(engine) = self.engine.lock().await.as_ref() {
                    engine.check_now().await;
                }
                Ok(serde_json::Value::Null)
            }
            Call::PauseNotifications { minutes } => {
                if minutes > MAX_PAUSE_MINUTES {
                    return Err(invalid("minutes", "a pause lasts at most 24 hours"));
                }
                *lock_ok(&self.paused_until) =
                    (minutes > 0).then(|| Utc::now() + Duration::minutes(i64::from(minutes)));
                self.settings_changed();
                to_value(&self.settings_view())
            }
            Call::ProbeCost => self.probe_cost(),
            Call::DismissProbeCostNotice { turn_off } => {
                self.dismiss_probe_cost_notice(turn_off).await
            }
            Call::IngestUsage => self.ingest_usage().await,
            Call::StatusLine { readings, model } => self.status_line(readings, model).await,
            Call::StatusLineState | Call::InstallStatusLine { .. } | Call::UninstallStatusLine => {
                self.status_line_settings(call).await
            }
            Call::UsageBlocks => {
                self.priced_report(|store, catalog| {
                    crate::blocks::blocks_report(store, catalog, Utc::now())
                })
                .await
            }
            Call::Advice => {
                self.priced_report(|store, catalog| {
                    crate::advice::advice_report(
                        store,
                        catalog,
                        Utc::now(),
                        crate::advice::ADVICE_WINDOW,
                    )
                })
                .await
            }
            Call::AlertChannels => to_value(&self.alerting.report().await),
            Call::SetAlertSecret {
                channel,
                slot,
                secret,
            } => self.set_alert_secret(channel, slot, secret).await,
            Call::ProviderKeys => self.provider_keys().await,
            Call::SetProviderKey { provider, key } => self.set_provider_key(provider, key).await,
            Call::TestAlert { channel } => self.test_alert(channel).await,
            Call::Stop => {
                tracing::info!("stopping: asked through the control API");
                self.shutdown.cancel();
                Ok(serde_json::Value::Null)
            }
        }
    }
}

/// The service behind the control socket.
#[derive(Debug)]
pub(crate) struct ServiceHandler(pub(crate) Arc<Inner>);

impl Handler for ServiceHandler {
    fn hello(&self) -> Hello {
        self.0.our_hello()
    }

    fn call(&self, call: Call) -> BoxFuture<'_, CallResult> {
        Arc::clone(&self.0).answer(call).boxed()
    }

    fn snapshots(&self) -> watch::Receiver<Snapshot> {
        self.0.snapshot.subscribe()
    }

    fn events(&self) -> broadcast::Receiver<Event> {
        self.0.events.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_one_word_and_admin_keys_say_so() {
        assert_eq!(parse_key(None, false).unwrap(), None);
        assert_eq!(parse_key(Some("  ".to_owned()), false).unwrap(), None);
        assert_eq!(
            parse_key(Some(" sk-ant-x ".to_owned()), false).unwrap(),
            Some("sk-ant-x".to_owned())
        );
        assert_eq!(
            parse_key(Some("two words".to_owned()), false)
                .unwrap_err()
                .field
                .as_deref(),
            Some("key")
        );
        assert!(parse_key(Some("sk-ant-api".to_owned()), true).is_err());
        assert!(parse_key(Some("x".repeat(300)), false).is_err());
    }

    #[test]
    fn front_end_only_settings_do_not_restart_the_engine() {
        let a = Settings::default();
        let quiet = Settings {
            notifications: false,
            launch_at_login: true,
            probe_cost_notice_shown: true,
            alert_channels: vec![claude_status_core::channels::ChannelConfig::new(
                "team",
                "Team",
                claude_status_core::channels::ChannelKind::Slack,
            )],
            ..a.clone()
        };
        assert!(!engine_settings_changed(&a, &quiet));
        let gateway = Settings {
            gateway: true,
            ..a.clone()
        };
        assert!(engine_settings_changed(&a, &gateway));
        assert!(parse_range("2h").is_err());
        assert_eq!(parse_range("24h").unwrap().1, 288);
    }
}
