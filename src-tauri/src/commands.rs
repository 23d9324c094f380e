//! The IPC commands the dashboard may call (and only these: see `capabilities/default.json`).
//! Each returns the core's own types, or an `IpcError` with a kind and a message.

use std::sync::Arc;

use chrono::{Duration, Utc};
use claude_status_core::gateway::{gateway_minutes, GatewayReport};
use claude_status_core::history::{summarize, HistoryLead, HistoryReport};
use claude_status_core::pricing::normalize_model;
use claude_status_core::report::{IncidentReport, Snapshot};
use claude_status_core::series::{probe_series, ProbeSeries};
use claude_status_core::settings::Settings;
use claude_status_core::usage::UsageSource;
use claude_status_engine::probe::ApiKey;
use serde::Serialize;
use tauri::{AppHandle, Manager, Runtime, State};

use crate::probe_cost::{self, ProbeCost};
use crate::settings::{load_admin_key, save_settings, store_admin_key, store_api_key, KeySource};
use crate::state::{lock, AppState};
use crate::{host, tray};

/// A command's failure, as the dashboard receives it.
#[derive(Debug, Clone, Serialize, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct IpcError {
    /// `invalid_argument`, `invalid_settings`, `keychain_unavailable`, `storage`, `not_found`.
    pub kind: &'static str,
    pub message: String,
}

impl IpcError {
    fn new(kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

impl From<claude_status_engine::Error> for IpcError {
    fn from(e: claude_status_engine::Error) -> Self {
        Self::new("storage", e.to_string())
    }
}

type Result<T> = std::result::Result<T, IpcError>;
type AppStateRef<'a> = State<'a, Arc<AppState>>;

/// The current snapshot; afterwards the dashboard listens to `snapshot-changed`.
#[tauri::command]
pub fn get_snapshot(state: AppStateRef<'_>) -> Snapshot {
    state.snapshot()
}

/// A range the dashboard may ask for, its length and the number of chart buckets (1 min, 5 min,
/// 30 min and 2 h buckets).
fn parse_range(range: &str) -> Result<(Duration, usize)> {
    match range {
        "1h" => Ok((Duration::hours(1), 60)),
        "24h" => Ok((Duration::hours(24), 288)),
        "7d" => Ok((Duration::days(7), 336)),
        "30d" => Ok((Duration::days(30), 360)),
        other => Err(IpcError::new(
            "invalid_argument",
            format!("range {other:?} is not one of 1h, 24h, 7d, 30d"),
        )),
    }
}

/// What our probes recorded over a range: `1h`, `24h`, `7d` or `30d`.
#[tauri::command]
pub async fn get_history(state: AppStateRef<'_>, range: String) -> Result<HistoryReport> {
    let (span, _) = parse_range(&range)?;
    let store = state.store.clone();
    let to = Utc::now();
    let from = to - span;
    let report = tauri::async_runtime::spawn_blocking(move || -> Result<HistoryReport> {
        let probes = store.probes_between(from, to)?;
        let incidents = store.recent_incidents(200)?;
        let leads: Vec<HistoryLead> = store
            .lead_times_between(from, to)?
            .iter()
            .map(Into::into)
            .collect();
        let mut report = summarize(&probes, &incidents, &leads, from, to);
        report.window_label = range;
        Ok(report)
    })
    .await
    .map_err(|e| IpcError::new("storage", e.to_string()))??;
    Ok(report)
}

/// Minutes of gateway traffic the dashboard shows.
const GATEWAY_MINUTES: usize = 15;
/// Retries and fallbacks the dashboard lists: the latest of the last day.
const GATEWAY_EVENTS: usize = 50;

/// The local gateway: whether it runs, its counters, its traffic minute by minute and its
/// latest retries and fallbacks.
#[tauri::command]
pub async fn get_gateway(state: AppStateRef<'_>) -> Result<GatewayReport> {
    let settings = state.settings();
    let running = lock(&state.gateway).clone();
    let store = state.store.clone();
    let now = Utc::now();
    let (minutes, events) = tauri::async_runtime::spawn_blocking(move || -> Result<_> {
        let from = now - Duration::minutes(GATEWAY_MINUTES as i64);
        // A minute ahead, so a record stamped a moment after `now` still lands in the last one.
        let records =
            store.usage_between_of(from, now + Duration::minutes(1), Some(UsageSource::Gateway))?;
        let minutes = gateway_minutes(&records, now, GATEWAY_MINUTES);
        let events = store.gateway_events_since(now - Duration::days(1), GATEWAY_EVENTS)?;
        Ok((minutes, events))
    })
    .await
    .map_err(|e| IpcError::new("storage", e.to_string()))??;
    let (url, upstream, stats, error) = match running {
        Some(Ok(gateway)) => (
            Some(gateway.url),
            Some(gateway.upstream),
            Some(gateway.stats.snapshot()),
            None,
        ),
        Some(Err(error)) => (None, None, None, Some(error)),
        None => (None, None, None, None),
    };
    Ok(GatewayReport {
        enabled: settings.gateway,
        url,
        error,
        upstream,
        retry: settings.gateway_retry,
        fallback: settings.gateway_fallback,
        stats,
        minutes,
        events,
    })
}

/// The probes of a range as chart buckets (latency, TTFT, 529s, 429s per bucket); with `model`,
/// only the streaming probes of that model (any spelling of its id: it is normalised).
#[tauri::command]
pub async fn get_probe_series(
    state: AppStateRef<'_>,
    range: String,
    model: Option<String>,
) -> Result<ProbeSeries> {
    let (span, buckets) = parse_range(&range)?;
    let model = match model.map(|m| m.trim().to_owned()) {
        None => None,
        Some(m) if m.is_empty() || m.len() > 200 => {
            return Err(IpcError::new(
                "invalid_argument",
                "a model id is 1 to 200 characters",
            ))
        }
        Some(m) => Some(normalize_model(&m)),
    };
    let store = state.store.clone();
    let to = Utc::now();
    let from = to - span;
    let mut probes = tauri::async_runtime::spawn_blocking(move || store.probes_between(from, to))
        .await
        .map_err(|e| IpcError::new("storage", e.to_string()))??;
    if let Some(model) = &model {
        probes.retain(|r| r.model.as_deref().map(normalize_model).as_ref() == Some(model));
    }
    Ok(probe_series(&probes, from, to, buckets))
}

/// What the per-model probe costs a day, per followed model and in total, and whether the
/// first-launch notice about it was shown.
#[tauri::command]
pub fn get_probe_cost(state: AppStateRef<'_>) -> ProbeCost {
    probe_cost::current(&state)
}

/// The user answered the probe-cost notice on the dashboard: it is not shown again, and with
/// `turn_off` the per-model probe stops (through the same path as a settings change, so the
/// engine restarts without it).
#[tauri::command]
pub async fn dismiss_probe_cost_notice<R: Runtime>(
    app: AppHandle<R>,
    state: AppStateRef<'_>,
    turn_off: bool,
) -> Result<ProbeCost> {
    let mut settings = state.settings();
    settings.probe_cost_notice_shown = true;
    if turn_off {
        settings.streaming_probe = false;
    }
    apply_settings(&app, &state, settings).await?;
    Ok(probe_cost::current(&state))
}

/// Opens an incident's page in the system browser. Only `https` links on the status page's own
/// hosts (the followed page, its statuspage.io host, and Statuspage's `stspg.io` short links) are
/// opened: anything else in an incident is text from the internet.
#[tauri::command]
pub fn open_external<R: Runtime>(
    app: AppHandle<R>,
    state: AppStateRef<'_>,
    url: String,
) -> Result<()> {
    let allowed = allowed_link(
        &url,
        &state.base.status_url,
        state.base.fallback_url.as_deref(),
    )
    .ok_or_else(|| {
        IpcError::new(
            "invalid_argument",
            "only https links to the status page are opened",
        )
    })?;
    use tauri_plugin_opener::OpenerExt;
    app.opener()
        .open_url(allowed, None::<&str>)
        .map_err(|e| IpcError::new("opener", e.to_string()))
}

/// The URL, normalised, when it is an https link on one of the status page's hosts.
pub fn allowed_link(url: &str, status_url: &str, fallback_url: Option<&str>) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    if parsed.scheme() != "https" || !parsed.username().is_empty() || parsed.password().is_some() {
        return None;
    }
    let host = parsed.host_str()?.to_ascii_lowercase();
    let host_of = |u: &str| {
        reqwest::Url::parse(u)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
    };
    let allowed = host == "stspg.io"
        || host.ends_with(".statuspage.io")
        || Some(&host) == host_of(status_url).as_ref()
        || fallback_url.and_then(host_of).as_ref() == Some(&host);
    allowed.then(|| parsed.to_string())
}

/// One incident with its whole timeline, from our history.
#[tauri::command]
pub async fn get_incident(state: AppStateRef<'_>, id: String) -> Result<Option<IncidentReport>> {
    if id.is_empty() || id.len() > 200 {
        return Err(IpcError::new(
            "invalid_argument",
            "an incident id is 1 to 200 characters",
        ));
    }
    let store = state.store.clone();
    let incident = tauri::async_runtime::spawn_blocking(move || store.incident(&id))
        .await
        .map_err(|e| IpcError::new("storage", e.to_string()))??;
    Ok(incident.as_ref().map(IncidentReport::from))
}

/// Recent incidents, newest first.
#[tauri::command]
pub async fn list_incidents(state: AppStateRef<'_>, limit: u32) -> Result<Vec<IncidentReport>> {
    let limit = usize::try_from(limit.clamp(1, 200)).unwrap_or(200);
    let store = state.store.clone();
    let incidents = tauri::async_runtime::spawn_blocking(move || store.recent_incidents(limit))
        .await
        .map_err(|e| IpcError::new("storage", e.to_string()))??;
    Ok(incidents.iter().map(IncidentReport::from).collect())
}

/// The settings as the dashboard sees them: never the key, only whether there is one.
#[derive(Debug, Clone, Serialize)]
pub struct SettingsView {
    pub settings: Settings,
    pub api_key_configured: bool,
    pub api_key_source: KeySource,
    /// Whether an Admin API key is known (keychain or `ANTHROPIC_ADMIN_KEY`); never the key.
    pub admin_key_configured: bool,
    /// The running gateway's `ANTHROPIC_BASE_URL`, when it runs.
    pub gateway_url: Option<String>,
    /// Why the gateway could not start (its port taken, …), when it could not.
    pub gateway_error: Option<String>,
}

fn settings_view(state: &AppState) -> SettingsView {
    // One lock, released before the view is built: a guard held by a temporary in the struct
    // literal below would deadlock against the second field.
    let gateway = lock(&state.gateway).clone();
    let source = *lock(&state.key_source);
    SettingsView {
        settings: state.settings(),
        api_key_configured: source != KeySource::None,
        api_key_source: source,
        admin_key_configured: *lock(&state.admin_key_configured),
        gateway_url: gateway.clone().and_then(|g| g.ok()).map(|g| g.url),
        gateway_error: gateway.and_then(|g| g.err()),
    }
}

/// The settings in force.
#[tauri::command]
pub fn get_settings(state: AppStateRef<'_>) -> SettingsView {
    settings_view(&state)
}

/// Validates, stores and applies new settings; an invalid value is refused with the field named,
/// and the last good settings stay in force.
#[tauri::command]
pub async fn set_settings<R: Runtime>(
    app: AppHandle<R>,
    state: AppStateRef<'_>,
    settings: Settings,
) -> Result<SettingsView> {
    apply_settings(&app, &state, settings).await?;
    Ok(settings_view(&state))
}

/// Validates, stores and applies settings, restarting the engine when it reads what changed.
async fn apply_settings<R: Runtime>(
    app: &AppHandle<R>,
    state: &AppState,
    settings: Settings,
) -> Result<()> {
    settings
        .validate()
        .map_err(|e| IpcError::new("invalid_settings", e.to_string()))?;
    let previous = state.settings();
    save_settings(app, &settings).map_err(|e| IpcError::new("storage", e))?;
    if previous.launch_at_login != settings.launch_at_login {
        apply_autostart(app, settings.launch_at_login)?;
    }
    *lock(&state.settings) = settings.clone();
    if engine_settings_changed(&previous, &settings) {
        host::restart_engine(app).await;
    }
    tray::update(app);
    Ok(())
}

/// Settings that only the shell reads (notifications, autostart, whether the probe's cost was
/// shown) need no engine restart.
fn engine_settings_changed(a: &Settings, b: &Settings) -> bool {
    let shell_only = |s: &Settings| Settings {
        notifications: true,
        launch_at_login: false,
        probe_cost_notice_shown: false,
        ..s.clone()
    };
    shell_only(a) != shell_only(b)
}

fn apply_autostart<R: Runtime>(app: &AppHandle<R>, enabled: bool) -> Result<()> {
    use tauri_plugin_autostart::ManagerExt;
    let launcher = app.autolaunch();
    let outcome = if enabled {
        launcher.enable()
    } else {
        launcher.disable()
    };
    outcome.map_err(|e| IpcError::new("autostart", format!("launch at login: {e}")))
}

/// Stores the API key in the OS keychain (or removes it with `null`) and restarts the probes with
/// it. The key is never echoed back.
#[tauri::command]
pub async fn set_api_key<R: Runtime>(
    app: AppHandle<R>,
    state: AppStateRef<'_>,
    key: Option<String>,
) -> Result<SettingsView> {
    let key = match key.map(|k| k.trim().to_owned()).filter(|k| !k.is_empty()) {
        None => None,
        Some(k) if k.len() > 256 || k.chars().any(|c| c.is_whitespace() || c.is_control()) => {
            return Err(IpcError::new(
                "invalid_argument",
                "an API key is one word of at most 256 characters",
            ))
        }
        Some(k) => ApiKey::new(k),
    };
    store_api_key(key.as_ref()).map_err(|e| IpcError::new("keychain_unavailable", e))?;
    host::restart_engine(&app).await;
    Ok(settings_view(&state))
}

/// Stores the Admin API key (`sk-ant-admin…`) in the OS keychain, or removes it with `null`, and
/// restarts the sources with it. The key is never echoed back.
#[tauri::command]
pub async fn set_admin_key<R: Runtime>(
    app: AppHandle<R>,
    state: AppStateRef<'_>,
    key: Option<String>,
) -> Result<SettingsView> {
    let key = match key.map(|k| k.trim().to_owned()).filter(|k| !k.is_empty()) {
        None => None,
        Some(k) if !k.starts_with("sk-ant-admin") => {
            return Err(IpcError::new(
                "invalid_argument",
                "an Admin API key starts with sk-ant-admin (create one in the Console's admin settings)",
            ))
        }
        Some(k) if k.len() > 256 || k.chars().any(|c| c.is_whitespace() || c.is_control()) => {
            return Err(IpcError::new(
                "invalid_argument",
                "an API key is one word of at most 256 characters",
            ))
        }
        Some(k) => ApiKey::new(k),
    };
    store_admin_key(key.as_ref()).map_err(|e| IpcError::new("keychain_unavailable", e))?;
    *lock(&state.admin_key_configured) = load_admin_key().is_some();
    host::restart_engine(&app).await;
    Ok(settings_view(&state))
}

/// Probes and polls now.
#[tauri::command]
pub async fn check_now<R: Runtime>(app: AppHandle<R>) {
    host::check_now(&app).await;
}

/// Pauses notifications for `minutes` (0 resumes them).
#[tauri::command]
pub fn pause_notifications<R: Runtime>(app: AppHandle<R>, minutes: u32) -> Result<()> {
    if minutes > 24 * 60 {
        return Err(IpcError::new(
            "invalid_argument",
            "a pause lasts at most 24 hours",
        ));
    }
    let state = app.state::<Arc<AppState>>();
    *lock(&state.paused_until) =
        (minutes > 0).then(|| Utc::now() + Duration::minutes(i64::from(minutes)));
    tray::update(&app);
    Ok(())
}

/// Opens the followed status page in the system browser.
#[tauri::command]
pub fn open_status_page<R: Runtime>(app: AppHandle<R>) {
    tray::open_status_page(&app);
}

#[cfg(test)]
mod tests {
    use super::allowed_link;

    #[test]
    fn only_https_links_on_status_page_hosts_open() {
        let check = |url: &str, expected: bool| {
            assert_eq!(
                allowed_link(
                    url,
                    "https://status.claude.com",
                    Some("https://tymt9n04zgry.statuspage.io")
                )
                .is_some(),
                expected,
                "{url}"
            )
        };
        check("https://stspg.io/32dgd2bnmh8z", true);
        check("https://status.claude.com/incidents/6ptd5skgmy3v", true);
        check("https://tymt9n04zgry.statuspage.io/incidents/x", true);
        check("https://other.statuspage.io/incidents/x", true);
        check("http://stspg.io/32dgd2bnmh8z", false);
        check("https://evil.example/stspg.io", false);
        check("https://stspg.io.evil.example/x", false);
        check("https://user:pw@stspg.io/x", false);
        check("javascript:alert(1)", false);
        check("file:///etc/passwd", false);
        check("not a url", false);
    }
}
