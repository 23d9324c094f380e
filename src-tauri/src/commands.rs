//! The IPC commands the dashboard may call (and only these: see `capabilities/default.json`).
//! Each forwards to the service over its control API and returns the core's own types, or an
//! `IpcError` with a kind, a message and, for a refused setting, the field.

use std::sync::Arc;

use claude_status_core::channels::{AlertingReport, SecretSlot, TestOutcome};
use claude_status_core::gateway::GatewayReport;
use claude_status_core::history::HistoryReport;
use claude_status_core::report::{IncidentReport, Snapshot};
use claude_status_core::series::ProbeSeries;
use claude_status_core::settings::Settings;
use claude_status_engine::control::proto::{Call, ServiceInfo};
use claude_status_engine::control::ClientError;
use claude_status_engine::service::probe_cost::ProbeCost;
use claude_status_engine::service::provider_keys::ProviderKeyStatus;
use claude_status_engine::service::SettingsView;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tauri::{AppHandle, Runtime, State};

use crate::state::{lock, AppState};
use crate::tray;

/// A command's failure, as the dashboard receives it.
#[derive(Debug, Clone, Serialize, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct IpcError {
    /// The service's kinds (`invalid_argument`, `invalid_settings`, `keychain_unavailable`,
    /// `storage`, `not_found`, …), and this shell's own: `service_unavailable` when the service
    /// cannot be reached, `autostart`, `opener`.
    pub kind: String,
    pub message: String,
    /// The setting or argument at fault, when the service named one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl IpcError {
    fn new(kind: &str, message: impl Into<String>) -> Self {
        Self {
            kind: kind.to_owned(),
            message: message.into(),
            field: None,
        }
    }
}

impl From<ClientError> for IpcError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Refused(refused) => Self {
                kind: serde_json::to_value(refused.kind)
                    .ok()
                    .and_then(|kind| kind.as_str().map(str::to_owned))
                    .unwrap_or_else(|| "internal".to_owned()),
                message: refused.message,
                field: refused.field,
            },
            ClientError::VersionMismatch(sentence) => Self::new("version_mismatch", sentence),
            other => Self::new("service_unavailable", other.to_string()),
        }
    }
}

type Result<T> = std::result::Result<T, IpcError>;
type AppStateRef<'a> = State<'a, Arc<AppState>>;

/// Forwards one call to the service.
async fn forward<T: DeserializeOwned>(state: &AppState, call: Call) -> Result<T> {
    Ok(state.service.call(call).await?)
}

/// The current snapshot; afterwards the dashboard listens to `snapshot-changed`.
#[tauri::command]
pub async fn get_snapshot(state: AppStateRef<'_>) -> Result<Snapshot> {
    forward(&state, Call::Snapshot { model: None }).await
}

/// What our probes recorded over a range: `1h`, `24h`, `7d` or `30d`.
#[tauri::command]
pub async fn get_history(state: AppStateRef<'_>, range: String) -> Result<HistoryReport> {
    forward(&state, Call::History { range }).await
}

/// The local gateway: whether it runs, its counters, its traffic minute by minute and its
/// latest retries and fallbacks.
#[tauri::command]
pub async fn get_gateway(state: AppStateRef<'_>) -> Result<GatewayReport> {
    forward(&state, Call::Gateway).await
}

/// The probes of a range as chart buckets (latency, TTFT, 529s, 429s per bucket); with `model`,
/// only the streaming probes of that model (any spelling of its id: the service normalises it).
#[tauri::command]
pub async fn get_probe_series(
    state: AppStateRef<'_>,
    range: String,
    model: Option<String>,
) -> Result<ProbeSeries> {
    forward(&state, Call::ProbeSeries { range, model }).await
}

/// What the per-model probe costs a day, per followed model and in total, and whether the
/// first-launch notice about it was shown.
#[tauri::command]
pub async fn get_probe_cost(state: AppStateRef<'_>) -> Result<ProbeCost> {
    forward(&state, Call::ProbeCost).await
}

/// The user answered the probe-cost notice on the dashboard: it is not shown again, and with
/// `turn_off` the per-model probe stops.
#[tauri::command]
pub async fn dismiss_probe_cost_notice(
    state: AppStateRef<'_>,
    turn_off: bool,
) -> Result<ProbeCost> {
    forward(&state, Call::DismissProbeCostNotice { turn_off }).await
}

/// Claude Code's 5-hour blocks estimated from the transcripts (for subscribers without the
/// status-line feed), with the active block's burn rate and projection.
#[tauri::command]
pub async fn get_usage_blocks(
    state: AppStateRef<'_>,
) -> Result<claude_status_core::blocks::BlocksReport> {
    forward(&state, Call::UsageBlocks).await
}

/// The advisor's report over the gateway's last 24 hours: where prompt caching would save, what
/// it saves where it is used, and what small requests would cost on a cheaper model. It carries
/// keyed hashes and sizes of prefixes, never prompt text, so it is safe to hand to the page.
#[tauri::command]
pub async fn get_advice(
    state: AppStateRef<'_>,
) -> Result<claude_status_core::advice::AdviceReport> {
    forward(&state, Call::Advice).await
}

/// Whether Claude Code's settings run our status line, and which file that is.
#[tauri::command]
pub async fn get_status_line(
    state: AppStateRef<'_>,
) -> Result<claude_status_core::statusline::StatusLineSetup> {
    forward(&state, Call::StatusLineState).await
}

/// Installs our status line into Claude Code's settings; `force` replaces another one (the page
/// asks first).
#[tauri::command]
pub async fn install_status_line(
    state: AppStateRef<'_>,
    force: bool,
) -> Result<claude_status_core::statusline::StatusLineSetup> {
    forward(&state, Call::InstallStatusLine { force }).await
}

/// Removes our status line from Claude Code's settings (never another one).
#[tauri::command]
pub async fn uninstall_status_line(
    state: AppStateRef<'_>,
) -> Result<claude_status_core::statusline::StatusLineSetup> {
    forward(&state, Call::UninstallStatusLine).await
}

/// The service's status page, asked once and kept.
async fn status_urls(state: &AppState) -> (String, Option<String>) {
    if lock(&state.info).is_none() {
        if let Ok(info) = state.service.call::<ServiceInfo>(Call::Version).await {
            *lock(&state.info) = Some(info);
        }
    }
    state.status_urls()
}

/// Opens an incident's page in the system browser. Only `https` links on the status page's own
/// hosts (the followed page, its statuspage.io host, and Statuspage's `stspg.io` short links) are
/// opened: anything else in an incident is text from the internet.
#[tauri::command]
pub async fn open_external<R: Runtime>(
    app: AppHandle<R>,
    state: AppStateRef<'_>,
    url: String,
) -> Result<()> {
    let (status_url, fallback_url) = status_urls(&state).await;
    let allowed = allowed_link(&url, &status_url, fallback_url.as_deref()).ok_or_else(|| {
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
    let parsed = tauri::Url::parse(url).ok()?;
    if parsed.scheme() != "https" || !parsed.username().is_empty() || parsed.password().is_some() {
        return None;
    }
    let host = parsed.host_str()?.to_ascii_lowercase();
    let host_of = |u: &str| {
        tauri::Url::parse(u)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
    };
    let allowed = host == "stspg.io"
        || host.ends_with(".statuspage.io")
        || Some(&host) == host_of(status_url).as_ref()
        || fallback_url.and_then(host_of).as_ref() == Some(&host);
    allowed.then(|| parsed.to_string())
}

/// One incident with its whole timeline, from the service's history.
#[tauri::command]
pub async fn get_incident(state: AppStateRef<'_>, id: String) -> Result<Option<IncidentReport>> {
    forward(&state, Call::Incident { id }).await
}

/// Recent incidents, newest first.
#[tauri::command]
pub async fn list_incidents(state: AppStateRef<'_>, limit: u32) -> Result<Vec<IncidentReport>> {
    forward(&state, Call::Incidents { limit }).await
}

/// The settings as the dashboard sees them: never the key, only whether there is one.
#[tauri::command]
pub async fn get_settings(state: AppStateRef<'_>) -> Result<SettingsView> {
    forward(&state, Call::GetSettings).await
}

/// Validates, stores and applies new settings (the service does all three); an invalid value is
/// refused with the field named, and the last good settings stay in force. A change of
/// "launch at login" also toggles the tray app's own login item here: the service installs its
/// own.
#[tauri::command]
pub async fn set_settings<R: Runtime>(
    app: AppHandle<R>,
    state: AppStateRef<'_>,
    settings: Settings,
) -> Result<SettingsView> {
    let previous: SettingsView = forward(&state, Call::GetSettings).await?;
    let launch_at_login = settings.launch_at_login;
    let view: SettingsView = forward(&state, Call::SetSettings { settings }).await?;
    if previous.settings.launch_at_login != launch_at_login {
        apply_autostart(&app, launch_at_login)?;
    }
    *lock(&state.settings) = Some(view.clone());
    Ok(view)
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

/// Stores the API key in the OS keychain (or removes it with `null`); the service checks it and
/// restarts its probes with it. The key is never echoed back.
#[tauri::command]
pub async fn set_api_key(state: AppStateRef<'_>, key: Option<String>) -> Result<SettingsView> {
    forward(&state, Call::SetApiKey { key }).await
}

/// Stores the Admin API key (`sk-ant-admin…`) in the OS keychain, or removes it with `null`.
/// The key is never echoed back.
#[tauri::command]
pub async fn set_admin_key(state: AppStateRef<'_>, key: Option<String>) -> Result<SettingsView> {
    forward(&state, Call::SetAdminKey { key }).await
}

/// The alert channels: their settings, whether their secrets are set ("set" / "not set", never
/// the secret) and how their deliveries go, failing ones included.
#[tauri::command]
pub async fn get_alert_channels(state: AppStateRef<'_>) -> Result<AlertingReport> {
    forward(&state, Call::AlertChannels).await
}

/// Stores a channel's URL or routing key (`slot` `target`) or its signing secret or token
/// (`auth`) in the OS keychain through the service, or removes it with `null`. The secret is
/// never echoed back.
#[tauri::command]
pub async fn set_alert_secret(
    state: AppStateRef<'_>,
    channel: String,
    slot: SecretSlot,
    secret: Option<String>,
) -> Result<AlertingReport> {
    forward(
        &state,
        Call::SetAlertSecret {
            channel,
            slot,
            secret,
        },
    )
    .await
}

/// Whether each provider of the fallback chain (OpenAI, Gemini, the declared OpenAI-compatible
/// servers) has a key, and where it is: the keychain, its environment variable, or none. Never
/// the key.
#[tauri::command]
pub async fn get_provider_keys(state: AppStateRef<'_>) -> Result<Vec<ProviderKeyStatus>> {
    forward(&state, Call::ProviderKeys).await
}

/// Stores a provider's key (`openai`, `gemini` or a declared server's name) in the OS keychain
/// through the service, or removes it with `null`. The key is never echoed back.
#[tauri::command]
pub async fn set_provider_key(
    state: AppStateRef<'_>,
    provider: String,
    key: Option<String>,
) -> Result<Vec<ProviderKeyStatus>> {
    forward(&state, Call::SetProviderKey { provider, key }).await
}

/// Sends a test alert to one channel (or every channel with `null`) and says how each went.
#[tauri::command]
pub async fn send_test_alert(
    state: AppStateRef<'_>,
    channel: Option<String>,
) -> Result<Vec<TestOutcome>> {
    forward(&state, Call::TestAlert { channel }).await
}

/// Probes and polls now.
#[tauri::command]
pub async fn check_now(state: AppStateRef<'_>) -> Result<()> {
    let _: serde_json::Value = forward(&state, Call::CheckNow).await?;
    Ok(())
}

/// Opens the followed status page in the system browser.
#[tauri::command]
pub async fn open_status_page<R: Runtime>(app: AppHandle<R>, state: AppStateRef<'_>) -> Result<()> {
    status_urls(&state).await;
    tray::open_status_page(&app);
    Ok(())
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
