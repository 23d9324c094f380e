//! The control API's messages: the hello, the calls, the replies and the stream's events.
//!
//! Every frame is one JSON object. A client sends `{"hello": …}` first and the service answers
//! with its own hello or with an error naming both versions. Then each request is
//! `{"id": n, "call": "…", "args": {…}}` and its reply `{"id": n, "result": …}` or
//! `{"id": n, "error": {"kind": "…", "message": "…", "field": "…"}}`. After `subscribe` the
//! service only sends `{"event": "…", …}` frames on that connection.
//!
//! The protocol version changes whenever a call, a reply's shape or an event changes in a way an
//! older peer would misread; additions that old peers ignore keep it.

use chrono::{DateTime, Utc};
use claude_status_core::report::Snapshot;
use claude_status_core::settings::Settings;
use serde::{Deserialize, Serialize};

use crate::monitor::EngineEvent;

/// The version of this protocol. Both sides must speak the same one.
pub const PROTOCOL_VERSION: u32 = 1;

/// The first frame each side sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// The control protocol's version (`PROTOCOL_VERSION`).
    pub protocol: u32,
    /// The sender's program version (the workspace's version).
    pub version: String,
    /// Who is speaking: `tray`, `dashboard`, `cli`, `service`.
    pub role: String,
    /// The service's process id (in the service's hello only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
}

impl Hello {
    /// This build's hello for `role`.
    pub fn ours(role: &str) -> Hello {
        Hello {
            protocol: PROTOCOL_VERSION,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            role: role.to_owned(),
            pid: None,
        }
    }

    /// The sentence both sides show when the versions differ: the service's first, then ours.
    pub fn mismatch(service: &Hello, client: &Hello) -> String {
        format!(
            "the Claude Status service is version {} (control protocol {}), this app is {} \
             (protocol {}): restart the service with this version (`claude-status service \
             stop`, then start it again), or use the app of the service's version",
            service.version, service.protocol, client.version, client.protocol
        )
    }
}

/// A hello frame on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HelloFrame {
    pub hello: Hello,
}

/// One request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "call", content = "args", rename_all = "snake_case")]
// `SetSettings` carries the whole settings. A call is built once per request and moved straight
// into its frame, so the few hundred bytes cost nothing, and boxing them would change every
// caller for no gain.
#[allow(clippy::large_enum_variant)]
pub enum Call {
    /// The service's version, pid, start time, socket and data directory.
    Version,
    /// The current snapshot; with `model`, the snapshot about that model (`check --model`).
    Snapshot {
        #[serde(default)]
        model: Option<String>,
    },
    /// Turns this connection into a stream of events, starting with the current snapshot.
    Subscribe,
    /// What the probes recorded over `range` (`1h`, `24h`, `7d`, `30d`).
    History { range: String },
    /// The probes of `range` as chart buckets, for one model or the reachability probe.
    ProbeSeries {
        range: String,
        #[serde(default)]
        model: Option<String>,
    },
    /// The latest incidents, at most `limit` (1–200).
    Incidents { limit: u32 },
    /// One incident with its updates.
    Incident { id: String },
    /// The gateway: whether it runs, its counters and its last minutes.
    Gateway,
    /// The settings in force, and whether keys exist (never the keys).
    GetSettings,
    /// Replaces the settings; refused with the bad field named.
    SetSettings { settings: Settings },
    /// Stores the API key in the keychain, or removes it with `null`.
    SetApiKey {
        #[serde(default)]
        key: Option<String>,
    },
    /// Stores the Admin API key in the keychain, or removes it with `null`.
    SetAdminKey {
        #[serde(default)]
        key: Option<String>,
    },
    /// Probes and polls at once.
    CheckNow,
    /// Holds notifications back for `minutes` (0 resumes them).
    PauseNotifications { minutes: u32 },
    /// What the per-model probe costs a day, and whether its first-run notice was shown.
    ProbeCost,
    /// Marks the probe-cost notice as seen; with `turn_off`, also turns the probe off.
    DismissProbeCostNotice {
        #[serde(default)]
        turn_off: bool,
    },
    /// Reads Claude Code's new transcript lines into the ledger now (the writes `usage` would
    /// otherwise do itself).
    IngestUsage,
    /// One run of Claude Code's status line: records its plan-window readings and answers what
    /// the line shows about `model` (`core::statusline::StatusFacts`).
    StatusLine {
        #[serde(default)]
        readings: Vec<claude_status_core::plan::PlanReading>,
        #[serde(default)]
        model: Option<String>,
    },
    /// Whether Claude Code's settings run our status line (`statusline_install::StatusLineState`).
    StatusLineState,
    /// Installs our status line into Claude Code's settings (`force` replaces another one).
    InstallStatusLine {
        #[serde(default)]
        force: bool,
    },
    /// Removes our status line from Claude Code's settings.
    UninstallStatusLine,
    /// Claude Code's 5-hour blocks estimated from the transcripts (`core::blocks::BlocksReport`),
    /// for subscribers without the status-line feed.
    UsageBlocks,
    /// The prompt-cache advisor's and model advice's report over the gateway's last 24 hours
    /// (`core::advice::AdviceReport`; never any prompt text).
    Advice,
    /// The alert channels with their delivery status and whether their secrets are set
    /// (`core::channels::AlertingReport`; never a secret).
    AlertChannels,
    /// Stores a channel's secret (its URL or routing key, or its signing secret or token) in
    /// the keychain (or the 0600 file without one), or removes it with `null`.
    SetAlertSecret {
        channel: String,
        slot: claude_status_core::channels::SecretSlot,
        #[serde(default)]
        secret: Option<String>,
    },
    /// Whether each provider of the fallback chain (OpenAI, Gemini, the declared
    /// OpenAI-compatible servers) has a key, and where it is
    /// (`service::provider_keys::ProviderKeyStatus`; never a key).
    ProviderKeys,
    /// Stores the key of `provider` (`openai`, `gemini` or a declared server's name) in the
    /// keychain, or removes it with `null`; answers like `provider_keys`.
    SetProviderKey {
        provider: String,
        #[serde(default)]
        key: Option<String>,
    },
    /// Sends a test alert to one channel, or to every channel without `channel`, and answers
    /// how each went (`core::channels::TestOutcome`).
    TestAlert {
        #[serde(default)]
        channel: Option<String>,
    },
    /// Stops the service, and with it the gateway.
    Stop,
}

impl Call {
    /// The call's name, as on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            Call::Version => "version",
            Call::Snapshot { .. } => "snapshot",
            Call::Subscribe => "subscribe",
            Call::History { .. } => "history",
            Call::ProbeSeries { .. } => "probe_series",
            Call::Incidents { .. } => "incidents",
            Call::Incident { .. } => "incident",
            Call::Gateway => "gateway",
            Call::GetSettings => "get_settings",
            Call::SetSettings { .. } => "set_settings",
            Call::SetApiKey { .. } => "set_api_key",
            Call::SetAdminKey { .. } => "set_admin_key",
            Call::CheckNow => "check_now",
            Call::PauseNotifications { .. } => "pause_notifications",
            Call::ProbeCost => "probe_cost",
            Call::DismissProbeCostNotice { .. } => "dismiss_probe_cost_notice",
            Call::IngestUsage => "ingest_usage",
            Call::StatusLine { .. } => "status_line",
            Call::StatusLineState => "status_line_state",
            Call::InstallStatusLine { .. } => "install_status_line",
            Call::UninstallStatusLine => "uninstall_status_line",
            Call::UsageBlocks => "usage_blocks",
            Call::Advice => "advice",
            Call::AlertChannels => "alert_channels",
            Call::SetAlertSecret { .. } => "set_alert_secret",
            Call::ProviderKeys => "provider_keys",
            Call::SetProviderKey { .. } => "set_provider_key",
            Call::TestAlert { .. } => "test_alert",
            Call::Stop => "stop",
        }
    }
}

/// A request frame: an id the reply repeats, and the call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub id: u64,
    #[serde(flatten)]
    pub call: Call,
}

/// A reply frame.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reply {
    /// The request's id; `None` for a frame the service could not read at all.
    #[serde(default)]
    pub id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ControlError>,
}

/// What kind of failure a reply reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The peer speaks another protocol version.
    VersionMismatch,
    /// The frame was not JSON, not a known call, too long or cut short.
    BadFrame,
    /// An argument is out of range (`field` names it).
    InvalidArgument,
    /// The settings were refused (`field` names the bad one).
    InvalidSettings,
    /// The OS keychain refused or is missing.
    KeychainUnavailable,
    /// The store failed.
    Storage,
    /// Nothing by that id.
    NotFound,
    /// The service is busy (too many clients) or stopping.
    Unavailable,
    /// The caller is not the service's own user.
    PermissionDenied,
    /// Anything else on the service's side.
    Internal,
}

/// A refused call: a kind, a sentence, and the field at fault when one is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct ControlError {
    pub kind: ErrorKind,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ControlError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> ControlError {
        ControlError {
            kind,
            message: message.into(),
            field: None,
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> ControlError {
        self.field = Some(field.into());
        self
    }
}

/// The service's answer to `version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceInfo {
    pub version: String,
    pub protocol: u32,
    pub pid: u32,
    pub started_at: DateTime<Utc>,
    pub socket: String,
    pub data_dir: String,
    /// Whether the service plays the demo story against its in-process simulator.
    pub demo: bool,
    /// The status page it polls, for the dashboard's links.
    pub status_url: String,
    pub fallback_url: Option<String>,
    /// `ANTHROPIC_BASE_URL` of the gateway it runs, when it runs one.
    pub gateway_url: Option<String>,
}

/// One frame of a subscription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The current snapshot: the first frame, then one per change (bursts folded).
    Snapshot {
        /// When the service sent it, for the front ends' latency figures.
        sent_at: DateTime<Utc>,
        snapshot: Box<Snapshot>,
    },
    /// An engine event (a notification to show, a change, a level change, a lead time).
    Engine {
        sent_at: DateTime<Utc>,
        engine: EngineEvent,
    },
    /// A one-time notice to show as a notification (the per-model probe's cost on the first run
    /// with a key).
    Notice {
        sent_at: DateTime<Utc>,
        title: String,
        body: String,
    },
    /// The settings changed (through any client).
    Settings { sent_at: DateTime<Utc> },
    /// Events were dropped because this client read too slowly; the next snapshot is whole.
    Lagged { missed: u64 },
    /// The service is stopping; the stream ends after this frame.
    Stopping { reason: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_have_one_wire_form() {
        let request = Request {
            id: 7,
            call: Call::ProbeSeries {
                range: "24h".to_owned(),
                model: Some("claude-opus-5-5".to_owned()),
            },
        };
        let text = serde_json::to_string(&request).unwrap();
        assert_eq!(
            text,
            r#"{"id":7,"call":"probe_series","args":{"range":"24h","model":"claude-opus-5-5"}}"#
        );
        assert_eq!(serde_json::from_str::<Request>(&text).unwrap(), request);
        let bare: Request = serde_json::from_str(r#"{"id":1,"call":"version"}"#).unwrap();
        assert_eq!(bare.call, Call::Version);
        assert_eq!(bare.call.name(), "version");
        assert!(serde_json::from_str::<Request>(r#"{"id":1,"call":"read_keys"}"#).is_err());
    }

    #[test]
    fn the_mismatch_sentence_names_both_versions() {
        let service = Hello {
            protocol: 2,
            version: "0.2.0".to_owned(),
            role: "service".to_owned(),
            pid: Some(42),
        };
        let text = Hello::mismatch(&service, &Hello::ours("tray"));
        assert!(
            text.contains("service is version 0.2.0 (control protocol 2)"),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "this app is {} (protocol {PROTOCOL_VERSION})",
                env!("CARGO_PKG_VERSION")
            )),
            "{text}"
        );
    }
}
