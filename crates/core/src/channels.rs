//! Direct alert routing, the pure half: the channels a user configures (Slack, Discord,
//! PagerDuty, a generic webhook, ntfy), which notifications each one gets, the episodes that
//! give PagerDuty one dedup key from trouble to recovery, and the payload each channel's API
//! documents. The engine's `alerting` module does the sending; nothing here does IO.
//!
//! Secrets (webhook URLs, routing keys, signing secrets, tokens) are not part of a
//! `ChannelConfig`: they live in the keychain, a 0600 file or the environment, and the engine
//! passes them to the builders only at the moment a request is made.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::alerts::{AlertKind, Notification};
use crate::level::Level;

/// The most channels one user may configure: enough for a team's few destinations, and a bound
/// on the workers the engine starts.
pub const MAX_CHANNELS: usize = 20;

/// The version of the generic webhook's payload (`docs/alerts.md`). It changes only when a
/// field changes meaning or goes away; new fields keep it.
pub const WEBHOOK_PAYLOAD_VERSION: u32 = 1;

/// The header that carries the generic webhook's HMAC-SHA256 signature (`sha256=<hex>`).
pub const SIGNATURE_HEADER: &str = "X-Claude-Status-Signature";
/// The header that carries the unix time (seconds) the signature covers.
pub const TIMESTAMP_HEADER: &str = "X-Claude-Status-Timestamp";

/// PagerDuty's Events API v2 endpoint, the default of a PagerDuty channel.
pub const PAGERDUTY_EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";

/// PagerDuty's longest `dedup_key`.
const PAGERDUTY_MAX_DEDUP_KEY: usize = 255;
/// PagerDuty's longest `payload.summary`.
const PAGERDUTY_MAX_SUMMARY: usize = 1024;
/// Slack's longest header block text, and its longest section text.
const SLACK_MAX_HEADER: usize = 150;
const SLACK_MAX_SECTION: usize = 3000;
/// Discord's longest `content`, embed title and embed description.
const DISCORD_MAX_CONTENT: usize = 2000;
const DISCORD_MAX_TITLE: usize = 256;
const DISCORD_MAX_DESCRIPTION: usize = 4096;
/// The longest title and body any channel is sent: an incident update can be long, and a
/// message is a notification, not an archive.
const MAX_TEXT: usize = 4000;

/// Where a channel delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// A Slack incoming webhook.
    Slack,
    /// A Discord channel webhook.
    Discord,
    /// PagerDuty's Events API v2 (a service's integration routing key).
    Pagerduty,
    /// Any HTTPS endpoint that takes our versioned JSON payload, optionally signed.
    Webhook,
    /// An ntfy topic (ntfy.sh or a self-hosted server).
    Ntfy,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 5] = [
        ChannelKind::Slack,
        ChannelKind::Discord,
        ChannelKind::Pagerduty,
        ChannelKind::Webhook,
        ChannelKind::Ntfy,
    ];

    /// The wire name (`"pagerduty"`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Slack => "slack",
            ChannelKind::Discord => "discord",
            ChannelKind::Pagerduty => "pagerduty",
            ChannelKind::Webhook => "webhook",
            ChannelKind::Ntfy => "ntfy",
        }
    }

    /// The kind named `name`, as the CLI takes it.
    pub fn parse(name: &str) -> Option<ChannelKind> {
        ChannelKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// What the channel's required secret is, in words and as the suffix of its environment
    /// variable (`CLAUDE_STATUS_ALERT_<ID>_URL`).
    pub fn target_secret(self) -> SecretName {
        match self {
            ChannelKind::Pagerduty => SecretName {
                words: "routing key",
                env_suffix: "ROUTING_KEY",
            },
            _ => SecretName {
                words: "URL",
                env_suffix: "URL",
            },
        }
    }

    /// The channel's optional second secret: the webhook's signing secret, ntfy's access token.
    pub fn auth_secret(self) -> Option<SecretName> {
        match self {
            ChannelKind::Webhook => Some(SecretName {
                words: "signing secret",
                env_suffix: "SECRET",
            }),
            ChannelKind::Ntfy => Some(SecretName {
                words: "access token",
                env_suffix: "TOKEN",
            }),
            _ => None,
        }
    }
}

/// A secret's name in words and in its environment variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretName {
    pub words: &'static str,
    pub env_suffix: &'static str,
}

/// Which of a channel's two secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SecretSlot {
    /// The URL (Slack, Discord, webhook, ntfy topic) or PagerDuty's routing key: required.
    Target,
    /// The webhook's HMAC signing secret or ntfy's access token: optional.
    Auth,
}

impl SecretSlot {
    pub fn as_str(self) -> &'static str {
        match self {
            SecretSlot::Target => "target",
            SecretSlot::Auth => "auth",
        }
    }
}

/// The environment variable that holds a channel's secret: `CLAUDE_STATUS_ALERT_<ID>_<NAME>`,
/// the id upper-cased with `-` as `_` (`team-slack` → `CLAUDE_STATUS_ALERT_TEAM_SLACK_URL`).
/// `None` for a slot the kind does not have.
pub fn secret_env_var(id: &str, kind: ChannelKind, slot: SecretSlot) -> Option<String> {
    let name = match slot {
        SecretSlot::Target => kind.target_secret(),
        SecretSlot::Auth => kind.auth_secret()?,
    };
    let id: String = id
        .chars()
        .map(|c| {
            if c == '-' {
                '_'
            } else {
                c.to_ascii_uppercase()
            }
        })
        .collect();
    Some(format!("CLAUDE_STATUS_ALERT_{id}_{}", name.env_suffix))
}

/// Which notifications a channel gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct ChannelFilter {
    /// The levels whose trouble alerts it gets: `overloaded`, `outage` or both (the only two
    /// levels the app alerts on). Its recoveries follow the troubles it got.
    pub levels: Vec<Level>,
    /// The model ids whose level alerts it gets (`claude-opus-5-5`); empty for every followed
    /// model. Trouble of the API as a whole concerns every model and always passes.
    pub models: Vec<String>,
    /// Official incidents: opened, updated, resolved.
    pub incidents: bool,
    /// Budgets, the monthly spend cap and the tier's per-minute limits.
    pub budget: bool,
    /// A subscriber's plan windows (80 %, 95 %, 100 %).
    pub plan: bool,
    /// Spikes in the gateway's own traffic (cost per 1,000 requests, p95 input tokens, time to
    /// first token, answer time) and their ends, for the models `models` lets through. A
    /// settings file written before it existed reads as `true`.
    pub traffic: bool,
}

impl Default for ChannelFilter {
    fn default() -> Self {
        Self {
            levels: vec![Level::Overloaded, Level::Outage],
            models: Vec::new(),
            incidents: true,
            budget: true,
            plan: true,
            traffic: true,
        }
    }
}

/// One configured channel. Its secrets are stored apart, under its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChannelConfig {
    /// A short stable name for the keychain entries and the environment variables: lower-case
    /// letters, digits and `-`, at most 32.
    pub id: String,
    /// What the dashboard calls it ("Team Slack").
    pub name: String,
    pub kind: ChannelKind,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub filter: ChannelFilter,
    /// PagerDuty only: the Events API URL, for an EU account
    /// (`https://events.eu.pagerduty.com/v2/enqueue`); `None` for the default. Not a secret:
    /// the routing key is.
    #[serde(default)]
    pub endpoint: Option<String>,
}

fn yes() -> bool {
    true
}

impl ChannelConfig {
    /// A channel of `kind` with the default filter.
    pub fn new(id: &str, name: &str, kind: ChannelKind) -> ChannelConfig {
        ChannelConfig {
            id: id.to_owned(),
            name: name.to_owned(),
            kind,
            enabled: true,
            filter: ChannelFilter::default(),
            endpoint: None,
        }
    }

    /// Whether the filter lets a notification through. Recoveries are not decided here but by
    /// the channel's open episode (`Router`).
    pub fn accepts(&self, notification: &Notification) -> bool {
        let filter = &self.filter;
        match Topic::of(notification) {
            Topic::Level => match notification.kind {
                AlertKind::Trouble => {
                    filter.levels.contains(&notification.level)
                        && self.accepts_model(notification.model.as_deref())
                }
                // Flapping speaks about the level alerts a channel would get.
                _ => !filter.levels.is_empty(),
            },
            Topic::Incident => filter.incidents,
            Topic::Budget => filter.budget,
            Topic::Plan => filter.plan,
            Topic::Traffic => filter.traffic && self.accepts_model(notification.model.as_deref()),
        }
    }

    fn accepts_model(&self, model: Option<&str>) -> bool {
        let Some(model) = model else { return true };
        let model = crate::pricing::normalize_model(model);
        self.filter.models.is_empty()
            || self
                .filter
                .models
                .iter()
                .any(|m| crate::pricing::normalize_model(m) == model)
    }
}

/// A channel setting that cannot be used: the field (`alert_channels[2].id`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelError {
    pub field: String,
    pub message: String,
}

/// Checks a list of channels; the first problem found is returned with its field.
pub fn validate_channels(channels: &[ChannelConfig]) -> Result<(), ChannelError> {
    let bad = |index: usize, field: &str, message: String| ChannelError {
        field: if field.is_empty() {
            "alert_channels".to_owned()
        } else {
            format!("alert_channels[{index}].{field}")
        },
        message,
    };
    if channels.len() > MAX_CHANNELS {
        return Err(bad(0, "", format!("at most {MAX_CHANNELS} channels")));
    }
    for (index, channel) in channels.iter().enumerate() {
        if !valid_channel_id(&channel.id) {
            return Err(bad(
                index,
                "id",
                format!(
                    "{:?} is not a channel id: 1 to 32 lower-case letters, digits and -",
                    channel.id
                ),
            ));
        }
        if channels[..index].iter().any(|c| c.id == channel.id) {
            return Err(bad(
                index,
                "id",
                format!("{:?} is used by another channel", channel.id),
            ));
        }
        let name = channel.name.trim();
        if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
            return Err(bad(
                index,
                "name",
                "a name is 1 to 64 characters".to_owned(),
            ));
        }
        if let Some(level) = channel
            .filter
            .levels
            .iter()
            .find(|l| !matches!(l, Level::Overloaded | Level::Outage))
        {
            return Err(bad(
                index,
                "filter.levels",
                format!(
                    "{} raises no alert: a channel chooses overloaded, outage or both",
                    level.as_str()
                ),
            ));
        }
        if channel.filter.models.len() > 20 {
            return Err(bad(index, "filter.models", "at most 20 models".to_owned()));
        }
        if let Some(model) = channel.filter.models.iter().find(|m| {
            m.is_empty()
                || m.len() > 100
                || !m
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        }) {
            return Err(bad(
                index,
                "filter.models",
                format!("{model:?} is not a model id such as claude-opus-5-5"),
            ));
        }
        match (&channel.endpoint, channel.kind) {
            (None, _) => {}
            (Some(endpoint), ChannelKind::Pagerduty) => {
                if !is_http_url(endpoint) {
                    return Err(bad(
                        index,
                        "endpoint",
                        "the Events API URL must start with https:// (http:// only for 127.0.0.1 or localhost)"
                            .to_owned(),
                    ));
                }
            }
            (Some(_), _) => {
                return Err(bad(
                    index,
                    "endpoint",
                    "only a PagerDuty channel has an endpoint; the others' URLs are secrets"
                        .to_owned(),
                ))
            }
        }
    }
    Ok(())
}

/// A channel id: what the keychain entries and the environment variables are named after.
pub fn valid_channel_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 32
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !id.starts_with('-')
}

/// An https URL, or an http one to this machine (a self-hosted ntfy, a test receiver). Checks
/// the shape only; whether it answers is the test alert's job.
pub fn is_http_url(url: &str) -> bool {
    let url = url.trim();
    if url.len() > 2048 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    if let Some(rest) = url.strip_prefix("https://") {
        return !rest.is_empty() && !rest.starts_with('/');
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    };
    name == "localhost" || name == "::1" || name.starts_with("127.")
}

/// Checks a secret as typed for `slot` of `kind`: a URL where a URL belongs, a routing key
/// of one word. The message never repeats the secret.
pub fn validate_secret(kind: ChannelKind, slot: SecretSlot, secret: &str) -> Result<(), String> {
    let secret = secret.trim();
    if secret.is_empty() || secret.len() > 2048 {
        return Err("a secret is 1 to 2048 characters".to_owned());
    }
    if secret.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("a secret is one word, without spaces".to_owned());
    }
    match (kind, slot) {
        (ChannelKind::Pagerduty, SecretSlot::Target) if secret.contains("://") => {
            Err("a PagerDuty channel takes the integration's routing key, not a URL".to_owned())
        }
        (ChannelKind::Pagerduty, SecretSlot::Auth)
        | (ChannelKind::Slack, SecretSlot::Auth)
        | (ChannelKind::Discord, SecretSlot::Auth) => {
            Err(format!("a {} channel has no second secret", kind.as_str()))
        }
        (_, SecretSlot::Target) if kind != ChannelKind::Pagerduty && !is_http_url(secret) => Err(
            "the URL must start with https:// (http:// only for 127.0.0.1 or localhost)".to_owned(),
        ),
        _ => Ok(()),
    }
}

/// A URL with everything after its host replaced by `/…`: the path of a Slack or Discord
/// webhook URL is its secret, and so are an ntfy topic, a query and credentials. Text that is
/// not a URL becomes `…`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "…".to_owned();
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    format!("{scheme}://{host}/…")
}

/// The family of notifications a channel's filter chooses among.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    /// Trouble, recovery and flapping.
    Level,
    /// Official incidents.
    Incident,
    /// Budgets, the spend cap and the per-minute limits.
    Budget,
    /// Plan windows.
    Plan,
    /// Spikes in the gateway's traffic and their ends.
    Traffic,
}

impl Topic {
    /// The topic of a notification, by its kind and, for usage alerts, by its key: plan-window
    /// keys start with `plan:` (`plan::alert_key`).
    pub fn of(notification: &Notification) -> Topic {
        match notification.kind {
            AlertKind::Trouble
            | AlertKind::Recovered
            | AlertKind::Flapping
            | AlertKind::ProviderFallback
            | AlertKind::ProviderBack => Topic::Level,
            AlertKind::IncidentOpened
            | AlertKind::IncidentUpdated
            | AlertKind::IncidentResolved => Topic::Incident,
            AlertKind::UsageThreshold if notification.key.starts_with("plan:") => Topic::Plan,
            AlertKind::UsageThreshold | AlertKind::SpendCapReached => Topic::Budget,
            AlertKind::TrafficSpike | AlertKind::TrafficSpikeOver => Topic::Traffic,
        }
    }
}

/// How long a delivered key keeps a second delivery of the same key away, across restarts.
/// Keys that recur by design (a per-minute limit or a budget crossing that re-armed) are held
/// for the core's own cooldown (`UsageAlertPolicy`, 30 minutes); keys that name one occurrence
/// (an incident's update, a plan window's instance, a month's spend cap) for 8 days, longer
/// than a week-long plan window.
pub fn dedup_window(key: &str) -> Duration {
    if key.starts_with("usage:") || key.starts_with("spend:") {
        Duration::minutes(30)
    } else if key.starts_with("spike:") {
        // A spike recurs by design; the core's own cooldown (`AlertPolicy`, 10 minutes).
        Duration::minutes(10)
    } else {
        Duration::days(8)
    }
}

/// What a delivery asks of the receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum AlertAction {
    /// Trouble began or got worse: PagerDuty triggers.
    Trigger,
    /// The trouble is over: PagerDuty resolves.
    Resolve,
    /// Everything else (incidents, usage, flapping): a message; PagerDuty triggers an
    /// `info` or `warning` event with the notification's own key.
    Notify,
}

impl AlertAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertAction::Trigger => "trigger",
            AlertAction::Resolve => "resolve",
            AlertAction::Notify => "notify",
        }
    }
}

/// One message for one channel: the notification's words and what the receiver needs beside
/// them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertMessage {
    /// The notification's kind, or `None` for a test alert.
    pub kind: Option<AlertKind>,
    pub level: Level,
    pub model: Option<String>,
    pub title: String,
    pub body: String,
    pub incident_id: Option<String>,
    pub at: DateTime<Utc>,
    pub action: AlertAction,
    /// The key the receiver deduplicates on: the episode's for level alerts (PagerDuty's
    /// `dedup_key` from trigger to resolve), the notification's own otherwise.
    pub dedup_key: String,
    /// The notification's own key, which the store records as delivered.
    pub notification_key: String,
    /// A test alert sent from Settings or `alerts test`.
    pub test: bool,
}

impl AlertMessage {
    /// The kind's wire name (`"trouble"`, `"incident_opened"`, `"test"`).
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            None => "test",
            Some(AlertKind::Trouble) => "trouble",
            Some(AlertKind::Recovered) => "recovered",
            Some(AlertKind::Flapping) => "flapping",
            Some(AlertKind::IncidentOpened) => "incident_opened",
            Some(AlertKind::IncidentUpdated) => "incident_updated",
            Some(AlertKind::IncidentResolved) => "incident_resolved",
            Some(AlertKind::UsageThreshold) => "usage_threshold",
            Some(AlertKind::SpendCapReached) => "spend_cap_reached",
            Some(AlertKind::ProviderFallback) => "provider_fallback",
            Some(AlertKind::ProviderBack) => "provider_back",
            Some(AlertKind::TrafficSpike) => "traffic_spike",
            Some(AlertKind::TrafficSpikeOver) => "traffic_spike_over",
        }
    }

    fn from_notification(
        notification: &Notification,
        at: DateTime<Utc>,
        action: AlertAction,
        dedup_key: String,
    ) -> AlertMessage {
        AlertMessage {
            kind: Some(notification.kind),
            level: notification.level,
            model: notification.model.clone(),
            title: clip(&notification.title, MAX_TEXT),
            body: clip(&notification.body, MAX_TEXT),
            incident_id: notification.incident_id.clone(),
            at,
            action,
            dedup_key,
            notification_key: notification.key.clone(),
            test: false,
        }
    }

    /// The test alert "Send a test alert" sends.
    pub fn test(at: DateTime<Utc>, action: AlertAction) -> AlertMessage {
        let key = format!("claude-status-test-{}", at.timestamp_millis());
        AlertMessage {
            kind: None,
            level: Level::Operational,
            model: None,
            title: "Test alert from Claude Status".to_owned(),
            body: "This channel is set up: alerts about the Claude API will arrive here."
                .to_owned(),
            incident_id: None,
            at,
            action,
            notification_key: key.clone(),
            dedup_key: key,
            test: true,
        }
    }
}

/// A channel's open episode: trouble it was told about and not yet told the end of. Kept in the
/// store, so a recovery after a restart resolves the same PagerDuty incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenEpisode {
    pub channel_id: String,
    /// The receiver's dedup key for the whole episode.
    pub key: String,
    /// The worst level the channel was told of in it.
    pub level: Level,
    pub opened_at: DateTime<Utc>,
}

/// One message for one channel, as routed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub channel_id: String,
    pub message: AlertMessage,
}

/// What routing one event decided: the deliveries, and the episodes to store or forget.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routed {
    pub deliveries: Vec<Delivery>,
    /// Episodes opened or worsened: stored (replacing the channel's row).
    pub opened: Vec<OpenEpisode>,
    /// Channels whose episode ended: their row goes.
    pub closed: Vec<String>,
}

/// The routing state: each channel's open episode, and whether this run of the engine has
/// raised it again (an episode read back from the store that nothing raised again by the time
/// the level is operational ended while we were not running).
#[derive(Debug, Clone, Default)]
pub struct Router {
    episodes: BTreeMap<String, (OpenEpisode, bool)>,
}

/// The episode key of a channel's episode opened at `at`: unique per channel and start, at
/// most 255 characters (PagerDuty's limit) since channel ids are at most 32.
pub fn episode_key(channel_id: &str, at: DateTime<Utc>) -> String {
    let key = format!("claude-status-{channel_id}-{}", at.timestamp());
    clip(&key, PAGERDUTY_MAX_DEDUP_KEY)
}

impl Router {
    /// A router that knows the episodes left open by an earlier run.
    pub fn with_episodes(episodes: Vec<OpenEpisode>) -> Router {
        Router {
            episodes: episodes
                .into_iter()
                .map(|e| (e.channel_id.clone(), (e, false)))
                .collect(),
        }
    }

    /// The open episodes, for the dashboard and the tests.
    pub fn open_episodes(&self) -> Vec<OpenEpisode> {
        self.episodes.values().map(|(e, _)| e.clone()).collect()
    }

    /// Routes one notification to the enabled channels that take it. `delivered(channel, key)`
    /// says whether the store holds a delivery of that key within its `dedup_window`, so a
    /// restart does not send an incident or a budget alert twice.
    pub fn route(
        &mut self,
        channels: &[ChannelConfig],
        notification: &Notification,
        at: DateTime<Utc>,
        delivered: &dyn Fn(&str, &str) -> bool,
    ) -> Routed {
        let mut routed = Routed::default();
        for channel in channels.iter().filter(|c| c.enabled) {
            match notification.kind {
                AlertKind::Trouble => {
                    if !channel.accepts(notification) {
                        continue;
                    }
                    let (key, send) = match self.episodes.get_mut(&channel.id) {
                        // The same episode: only worse trouble is news. After a restart the
                        // monitor raises the trouble again, which adopts the stored episode.
                        Some((episode, adopted)) => {
                            *adopted = true;
                            let worse = notification.level.severity() > episode.level.severity();
                            if worse {
                                episode.level = notification.level;
                                routed.opened.push(episode.clone());
                            }
                            (episode.key.clone(), worse)
                        }
                        None => {
                            let episode = OpenEpisode {
                                channel_id: channel.id.clone(),
                                key: episode_key(&channel.id, at),
                                level: notification.level,
                                opened_at: at,
                            };
                            routed.opened.push(episode.clone());
                            let key = episode.key.clone();
                            self.episodes.insert(channel.id.clone(), (episode, true));
                            (key, true)
                        }
                    };
                    if send {
                        routed.deliveries.push(Delivery {
                            channel_id: channel.id.clone(),
                            message: AlertMessage::from_notification(
                                notification,
                                at,
                                AlertAction::Trigger,
                                key,
                            ),
                        });
                    }
                }
                AlertKind::Recovered => {
                    // A recovery goes where the trouble went, whatever the filter says now.
                    if let Some((episode, _)) = self.episodes.remove(&channel.id) {
                        routed.closed.push(channel.id.clone());
                        routed.deliveries.push(Delivery {
                            channel_id: channel.id.clone(),
                            message: AlertMessage::from_notification(
                                notification,
                                at,
                                AlertAction::Resolve,
                                episode.key,
                            ),
                        });
                    }
                }
                AlertKind::TrafficSpikeOver => {
                    if !channel.accepts(notification) || delivered(&channel.id, &notification.key) {
                        continue;
                    }
                    // The end of a spike resolves the spike's own key, so PagerDuty closes the
                    // event the spike triggered rather than opening another.
                    let spike_key = notification
                        .key
                        .strip_suffix(":recovered")
                        .unwrap_or(&notification.key)
                        .to_owned();
                    routed.deliveries.push(Delivery {
                        channel_id: channel.id.clone(),
                        message: AlertMessage::from_notification(
                            notification,
                            at,
                            AlertAction::Resolve,
                            spike_key,
                        ),
                    });
                }
                _ => {
                    if !channel.accepts(notification) || delivered(&channel.id, &notification.key) {
                        continue;
                    }
                    routed.deliveries.push(Delivery {
                        channel_id: channel.id.clone(),
                        message: AlertMessage::from_notification(
                            notification,
                            at,
                            AlertAction::Notify,
                            notification.key.clone(),
                        ),
                    });
                }
            }
        }
        // Episodes of channels that are gone or disabled cannot be resolved through them; they
        // are forgotten rather than kept forever.
        let live: Vec<&str> = channels
            .iter()
            .filter(|c| c.enabled)
            .map(|c| c.id.as_str())
            .collect();
        let gone: Vec<String> = self
            .episodes
            .keys()
            .filter(|id| !live.contains(&id.as_str()))
            .cloned()
            .collect();
        for id in gone {
            self.episodes.remove(&id);
            routed.closed.push(id);
        }
        routed
    }

    /// The level changed to `to`. When it is operational, episodes left open by an earlier run
    /// that nothing raised again ended while we were not running: the monitor's alerting does
    /// not know them and will never announce their recovery, so they are resolved here.
    pub fn level_changed(
        &mut self,
        channels: &[ChannelConfig],
        to: Level,
        at: DateTime<Utc>,
    ) -> Routed {
        let mut routed = Routed::default();
        if to != Level::Operational {
            return routed;
        }
        let stale: Vec<String> = self
            .episodes
            .iter()
            .filter(|(_, (_, adopted))| !adopted)
            .map(|(id, _)| id.clone())
            .collect();
        for id in stale {
            let Some((episode, _)) = self.episodes.remove(&id) else {
                continue;
            };
            routed.closed.push(id.clone());
            if !channels.iter().any(|c| c.enabled && c.id == id) {
                continue;
            }
            let notification = Notification {
                kind: AlertKind::Recovered,
                level: Level::Operational,
                title: "Claude API recovered".to_owned(),
                body: format!(
                    "Operational again; the {} that began at {} ended while Claude Status was not running.",
                    match episode.level {
                        Level::Overloaded => "overload",
                        _ => "outage",
                    },
                    episode.opened_at.format("%Y-%m-%d %H:%M UTC")
                ),
                incident_id: None,
                key: format!("recovered:{}", episode.opened_at.timestamp()),
                model: None,
            };
            routed.deliveries.push(Delivery {
                channel_id: id,
                message: AlertMessage::from_notification(
                    &notification,
                    at,
                    AlertAction::Resolve,
                    episode.key,
                ),
            });
        }
        routed
    }
}

/// Where a channel's secret was found, as the dashboard shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SecretOrigin {
    Keychain,
    File,
    Environment,
}

/// One channel as the dashboard and `alerts list` show it: its settings, whether its secrets
/// are set (never the secrets), and how its deliveries go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChannelStatus {
    pub channel: ChannelConfig,
    /// Where the URL or routing key is, or `None` when it is not set anywhere.
    pub target: Option<SecretOrigin>,
    /// Where the signing secret or token is (webhook and ntfy only).
    pub auth: Option<SecretOrigin>,
    /// The environment variables that may hold its secrets.
    pub env_vars: Vec<String>,
    /// Messages waiting in its queue.
    pub queued: u32,
    /// Messages its receiver accepted since the engine started.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub delivered: u64,
    /// Messages given up after the last retry (or refused outright).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub failed: u64,
    /// Messages dropped because its queue was full.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub dropped: u64,
    pub last_ok_at: Option<DateTime<Utc>>,
    /// The last failure, redacted: the host of a URL, never its path or a key.
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    /// Its last delivery failed, or it has no secret to deliver with.
    pub failing: bool,
}

/// Every channel's status, and the events the router itself had to drop.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AlertingReport {
    /// Whether this process routes alerts at all (the service does; a front end reading an
    /// older service sees `false`).
    pub running: bool,
    pub channels: Vec<ChannelStatus>,
    /// Engine events the router's own queue had no room for (before any channel saw them).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub events_dropped: u64,
    /// The bounds in force, for the dashboard's and the docs' sentences.
    pub queue_per_channel: u32,
    pub timeout_secs: u32,
    pub attempts: u32,
}

/// The answer to "Send a test alert" for one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TestOutcome {
    pub channel_id: String,
    pub ok: bool,
    /// "delivered (HTTP 200)" or the redacted failure.
    pub message: String,
}

/// The text cut to at most `max` characters, with an ellipsis when cut.
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The glyph a message opens with in chat channels, one per level and for recovery.
fn glyph(message: &AlertMessage) -> &'static str {
    match (message.action, message.level) {
        (AlertAction::Resolve, _) => "✅",
        (_, Level::Outage) => "🔴",
        (_, Level::Overloaded) => "🟠",
        _ if message.test => "🧪",
        _ => "ℹ️",
    }
}

/// The one line of context under a message: the model, the level and when.
fn context_line(message: &AlertMessage) -> String {
    let mut parts = vec![format!("Claude Status · {}", message.level.as_str())];
    if let Some(model) = &message.model {
        parts.push(model.clone());
    }
    parts.push(message.at.format("%Y-%m-%d %H:%M:%S UTC").to_string());
    parts.join(" · ")
}

/// A Slack incoming webhook's body: `text` (the notification's fallback and what screen
/// readers and notifications show) and `blocks` (a header, the body, a context line). The
/// text is sent as `plain_text`, so an incident's words cannot turn into links or mentions.
pub fn slack_payload(message: &AlertMessage) -> Value {
    let title = format!("{} {}", glyph(message), message.title);
    json!({
        "text": clip(&format!("{title}: {}", message.body), SLACK_MAX_SECTION),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": clip(&title, SLACK_MAX_HEADER), "emoji": true}},
            {"type": "section", "text": {"type": "plain_text", "text": clip(&message.body, SLACK_MAX_SECTION), "emoji": true}},
            {"type": "context", "elements": [{"type": "plain_text", "text": context_line(message), "emoji": true}]}
        ]
    })
}

/// A Discord webhook's body: `content` (the line a notification shows) and one embed coloured
/// by level. `allowed_mentions` is empty so an `@everyone` in an incident's words pings nobody.
pub fn discord_payload(message: &AlertMessage) -> Value {
    let color = if message.action == AlertAction::Resolve {
        crate::tray::level_color(Level::Operational)
    } else {
        crate::tray::level_color(message.level)
    };
    let color = (u32::from(color.0) << 16) | (u32::from(color.1) << 8) | u32::from(color.2);
    json!({
        "content": clip(&format!("{} {}", glyph(message), message.title), DISCORD_MAX_CONTENT),
        "embeds": [{
            "title": clip(&message.title, DISCORD_MAX_TITLE),
            "description": clip(&message.body, DISCORD_MAX_DESCRIPTION),
            "color": color,
            "timestamp": message.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "footer": {"text": clip(&context_line(message), 2048)}
        }],
        "allowed_mentions": {"parse": []}
    })
}

/// PagerDuty's severity for a message: an outage is critical, an overload an error, flapping a
/// warning, everything else (incidents, usage, a test) info.
pub fn pagerduty_severity(message: &AlertMessage) -> &'static str {
    match message.kind {
        Some(AlertKind::Trouble) if message.level == Level::Outage => "critical",
        Some(AlertKind::Trouble) => "error",
        Some(AlertKind::Flapping)
        | Some(AlertKind::SpendCapReached)
        | Some(AlertKind::TrafficSpike) => "warning",
        _ => "info",
    }
}

/// A PagerDuty Events API v2 event: `trigger` with a `payload` (`summary`, `source`,
/// `severity`, …) for trouble and messages, `resolve` with the episode's `dedup_key` for a
/// recovery. `source` names the machine that watches (the engine passes its host name).
pub fn pagerduty_payload(message: &AlertMessage, routing_key: &str, source: &str) -> Value {
    let dedup_key = clip(&message.dedup_key, PAGERDUTY_MAX_DEDUP_KEY);
    if message.action == AlertAction::Resolve {
        return json!({
            "routing_key": routing_key,
            "event_action": "resolve",
            "dedup_key": dedup_key,
        });
    }
    let summary = clip(
        &format!("{}: {}", message.title, message.body),
        PAGERDUTY_MAX_SUMMARY,
    );
    json!({
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "client": "Claude Status",
        "payload": {
            "summary": summary,
            "source": clip(source, 255),
            "severity": pagerduty_severity(message),
            "timestamp": message.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "component": message.model.clone().unwrap_or_else(|| "api".to_owned()),
            "group": "claude-api",
            "class": message.kind_name(),
            "custom_details": {
                "level": message.level.as_str(),
                "model": message.model,
                "incident_id": message.incident_id,
                "body": message.body,
            }
        }
    })
}

/// The generic webhook's payload, version 1 (`docs/alerts.md` documents every field).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookPayload {
    pub version: u32,
    /// `trouble`, `recovered`, `flapping`, `incident_opened`, `incident_updated`,
    /// `incident_resolved`, `usage_threshold`, `spend_cap_reached` or `test`.
    pub kind: String,
    /// `trigger`, `resolve` or `notify`.
    pub action: String,
    /// The level the notification is about (`operational` for a recovery).
    pub level: String,
    pub model: Option<String>,
    pub title: String,
    pub body: String,
    pub incident_id: Option<String>,
    /// When the notification was raised (RFC 3339, UTC).
    pub at: DateTime<Utc>,
    /// Stable across retries and across the episode of a level alert: the receiver's
    /// deduplication key.
    pub dedup_key: String,
    pub test: bool,
    /// `claude-status/<version>`.
    pub sender: String,
}

/// The generic webhook's body for a message.
pub fn webhook_payload(message: &AlertMessage, sender_version: &str) -> WebhookPayload {
    WebhookPayload {
        version: WEBHOOK_PAYLOAD_VERSION,
        kind: message.kind_name().to_owned(),
        action: message.action.as_str().to_owned(),
        level: message.level.as_str().to_owned(),
        model: message.model.clone(),
        title: message.title.clone(),
        body: message.body.clone(),
        incident_id: message.incident_id.clone(),
        at: message.at,
        dedup_key: message.dedup_key.clone(),
        test: message.test,
        sender: format!("claude-status/{sender_version}"),
    }
}

/// The text a webhook's signature covers: the timestamp header's value, a dot, and the body's
/// bytes, so a captured request cannot be replayed under a new timestamp.
pub fn signed_content(timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut content = format!("{timestamp}.").into_bytes();
    content.extend_from_slice(body);
    content
}

/// An ntfy message: the body, and the `Title`, `Priority` and `Tags` headers. A title that is
/// not ASCII is sent as an RFC 2047 encoded word, which ntfy decodes.
pub fn ntfy_request(message: &AlertMessage) -> (String, Vec<(&'static str, String)>) {
    let priority = match (message.action, message.level) {
        (AlertAction::Resolve, _) => "3",
        (_, Level::Outage) => "5",
        (_, Level::Overloaded) => "4",
        _ => "3",
    };
    let tags = match (message.action, message.level) {
        (AlertAction::Resolve, _) => "white_check_mark",
        (_, Level::Outage) => "rotating_light",
        (_, Level::Overloaded) => "warning",
        _ if message.test => "test_tube",
        _ => "information_source",
    };
    let title = clip(&message.title, 250);
    let title = if title.is_ascii() {
        title
    } else {
        format!("=?UTF-8?B?{}?=", base64(title.as_bytes()))
    };
    (
        clip(&message.body, MAX_TEXT),
        vec![
            ("Title", title),
            ("Priority", priority.to_owned()),
            ("Tags", tags.to_owned()),
        ],
    )
}

/// Standard base64 with padding, for the RFC 2047 title: a dozen lines rather than a crate in a
/// core that keeps its dependencies few.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(minute: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0).unwrap() + Duration::minutes(minute)
    }

    fn notification(kind: AlertKind, level: Level, model: Option<&str>, key: &str) -> Notification {
        Notification {
            kind,
            level,
            title: format!("{kind:?}"),
            body: "529 on 3 of the last 3 probes".to_owned(),
            incident_id: None,
            key: key.to_owned(),
            model: model.map(str::to_owned),
        }
    }

    fn never(_: &str, _: &str) -> bool {
        false
    }

    fn channel(
        id: &str,
        kind: ChannelKind,
        change: impl FnOnce(&mut ChannelFilter),
    ) -> ChannelConfig {
        let mut channel = ChannelConfig::new(id, id, kind);
        change(&mut channel.filter);
        channel
    }

    #[test]
    fn filters_choose_by_level_model_and_topic() {
        let outage_only = channel("pd", ChannelKind::Pagerduty, |f| {
            f.levels = vec![Level::Outage];
            f.incidents = false;
        });
        let opus_only = channel("opus", ChannelKind::Slack, |f| {
            f.models = vec!["claude-opus-5-5".to_owned()];
            f.budget = false;
            f.plan = false;
        });
        let overloaded_opus = notification(
            AlertKind::Trouble,
            Level::Overloaded,
            Some("claude-opus-5-5"),
            "k",
        );
        let overloaded_sonnet = notification(
            AlertKind::Trouble,
            Level::Overloaded,
            Some("claude-sonnet-5-5"),
            "k",
        );
        let outage_api = notification(AlertKind::Trouble, Level::Outage, None, "k");
        let incident = notification(
            AlertKind::IncidentOpened,
            Level::Degraded,
            None,
            "incident:x:opened",
        );
        let budget = notification(
            AlertKind::UsageThreshold,
            Level::Operational,
            None,
            "spend:monthly_budget:80",
        );
        let plan = notification(
            AlertKind::UsageThreshold,
            Level::Operational,
            None,
            "plan:five_hour:1:80",
        );
        assert!(!outage_only.accepts(&overloaded_opus));
        assert!(outage_only.accepts(&outage_api));
        assert!(!outage_only.accepts(&incident));
        assert!(outage_only.accepts(&budget) && outage_only.accepts(&plan));
        assert!(opus_only.accepts(&overloaded_opus));
        assert!(!opus_only.accepts(&overloaded_sonnet));
        assert!(
            opus_only.accepts(&outage_api),
            "API-wide trouble concerns every model"
        );
        assert!(opus_only.accepts(&incident));
        assert!(!opus_only.accepts(&budget) && !opus_only.accepts(&plan));
        assert_eq!(Topic::of(&plan), Topic::Plan);
        assert_eq!(Topic::of(&budget), Topic::Budget);
    }

    #[test]
    fn an_episode_has_one_key_from_trigger_to_resolve_and_the_next_a_new_one() {
        let channels = vec![ChannelConfig::new("pd", "PD", ChannelKind::Pagerduty)];
        let mut router = Router::default();
        let first = router.route(
            &channels,
            &notification(
                AlertKind::Trouble,
                Level::Overloaded,
                None,
                "level:overloaded:api",
            ),
            at(0),
            &never,
        );
        let worse = router.route(
            &channels,
            &notification(AlertKind::Trouble, Level::Outage, None, "level:outage:api"),
            at(1),
            &never,
        );
        let eased = router.route(
            &channels,
            &notification(
                AlertKind::Trouble,
                Level::Overloaded,
                None,
                "level:overloaded:api",
            ),
            at(2),
            &never,
        );
        let recovered = router.route(
            &channels,
            &notification(
                AlertKind::Recovered,
                Level::Operational,
                None,
                "recovered:1",
            ),
            at(3),
            &never,
        );
        let again = router.route(
            &channels,
            &notification(
                AlertKind::Trouble,
                Level::Overloaded,
                None,
                "level:overloaded:api",
            ),
            at(30),
            &never,
        );
        let key = first.deliveries[0].message.dedup_key.clone();
        assert_eq!(first.deliveries[0].message.action, AlertAction::Trigger);
        assert_eq!(worse.deliveries[0].message.dedup_key, key);
        assert!(eased.deliveries.is_empty(), "easing is the same episode");
        assert_eq!(recovered.deliveries[0].message.action, AlertAction::Resolve);
        assert_eq!(recovered.deliveries[0].message.dedup_key, key);
        assert_eq!(recovered.closed, vec!["pd".to_owned()]);
        assert_ne!(again.deliveries[0].message.dedup_key, key);
        assert!(key.len() <= 255);
    }

    #[test]
    fn a_restart_adopts_the_stored_episode_or_resolves_it_when_the_level_is_back() {
        let channels = vec![ChannelConfig::new("pd", "PD", ChannelKind::Pagerduty)];
        let stored = OpenEpisode {
            channel_id: "pd".to_owned(),
            key: episode_key("pd", at(0)),
            level: Level::Outage,
            opened_at: at(0),
        };
        // Still in trouble after the restart: the repeat is not sent, the recovery resolves the
        // stored key.
        let mut router = Router::with_episodes(vec![stored.clone()]);
        let repeat = router.route(
            &channels,
            &notification(AlertKind::Trouble, Level::Outage, None, "level:outage:api"),
            at(5),
            &never,
        );
        assert!(repeat.deliveries.is_empty());
        assert!(router
            .level_changed(&channels, Level::Operational, at(6))
            .deliveries
            .is_empty());
        let recovered = router.route(
            &channels,
            &notification(
                AlertKind::Recovered,
                Level::Operational,
                None,
                "recovered:5",
            ),
            at(6),
            &never,
        );
        assert_eq!(recovered.deliveries[0].message.dedup_key, stored.key);
        // Recovered while not running: the first operational verdict resolves it.
        let mut router = Router::with_episodes(vec![stored.clone()]);
        assert!(router
            .level_changed(&channels, Level::Degraded, at(5))
            .deliveries
            .is_empty());
        let resolved = router.level_changed(&channels, Level::Operational, at(5));
        assert_eq!(resolved.deliveries[0].message.dedup_key, stored.key);
        assert_eq!(resolved.deliveries[0].message.action, AlertAction::Resolve);
        assert!(router.open_episodes().is_empty());
    }

    #[test]
    fn delivered_keys_are_not_routed_again() {
        let channels = vec![ChannelConfig::new("s", "S", ChannelKind::Slack)];
        let mut router = Router::default();
        let incident = notification(
            AlertKind::IncidentOpened,
            Level::Degraded,
            None,
            "incident:x:opened",
        );
        let delivered = |channel: &str, key: &str| channel == "s" && key == "incident:x:opened";
        assert!(router
            .route(&channels, &incident, at(0), &delivered)
            .deliveries
            .is_empty());
        assert_eq!(
            router
                .route(&channels, &incident, at(0), &never)
                .deliveries
                .len(),
            1
        );
        assert_eq!(
            dedup_window("usage:opus:requests_per_minute:80"),
            Duration::minutes(30)
        );
        assert_eq!(dedup_window("incident:x:opened"), Duration::days(8));
    }

    #[test]
    fn validation_names_the_field() {
        let check = |channels: Vec<ChannelConfig>, field: Option<&str>| {
            assert_eq!(
                validate_channels(&channels).err().map(|e| e.field),
                field.map(str::to_owned)
            );
        };
        let ok = ChannelConfig::new("team-slack", "Team", ChannelKind::Slack);
        check(vec![ok.clone()], None);
        check(vec![ok.clone(), ok.clone()], Some("alert_channels[1].id"));
        check(
            vec![ChannelConfig::new("Team", "x", ChannelKind::Slack)],
            Some("alert_channels[0].id"),
        );
        check(
            vec![ChannelConfig::new("a", " ", ChannelKind::Slack)],
            Some("alert_channels[0].name"),
        );
        check(
            vec![channel("a", ChannelKind::Slack, |f| {
                f.levels = vec![Level::Degraded]
            })],
            Some("alert_channels[0].filter.levels"),
        );
        check(
            vec![channel("a", ChannelKind::Slack, |f| {
                f.models = vec!["rm -rf".to_owned()]
            })],
            Some("alert_channels[0].filter.models"),
        );
        let mut eu = ChannelConfig::new("pd", "PD", ChannelKind::Pagerduty);
        eu.endpoint = Some("https://events.eu.pagerduty.com/v2/enqueue".to_owned());
        check(vec![eu.clone()], None);
        eu.endpoint = Some("http://example.com/".to_owned());
        check(vec![eu], Some("alert_channels[0].endpoint"));
        let mut slack = ok;
        slack.endpoint = Some("https://hooks.slack.com/x".to_owned());
        check(vec![slack], Some("alert_channels[0].endpoint"));
    }

    #[test]
    fn secrets_are_checked_without_repeating_them() {
        assert!(validate_secret(
            ChannelKind::Slack,
            SecretSlot::Target,
            "https://hooks.slack.com/services/T/B/X"
        )
        .is_ok());
        assert!(validate_secret(
            ChannelKind::Ntfy,
            SecretSlot::Target,
            "http://127.0.0.1:8080/alerts"
        )
        .is_ok());
        let error = validate_secret(
            ChannelKind::Slack,
            SecretSlot::Target,
            "http://evil.example/SECRET",
        )
        .unwrap_err();
        assert!(!error.contains("SECRET"), "{error}");
        assert!(validate_secret(ChannelKind::Pagerduty, SecretSlot::Target, "https://x").is_err());
        assert!(validate_secret(
            ChannelKind::Pagerduty,
            SecretSlot::Target,
            "R0UT1NGKEY0123456789abcdefabcdef"
        )
        .is_ok());
        assert!(validate_secret(ChannelKind::Slack, SecretSlot::Auth, "x").is_err());
        assert!(validate_secret(ChannelKind::Webhook, SecretSlot::Auth, "whsec").is_ok());
        assert_eq!(
            secret_env_var("team-slack", ChannelKind::Slack, SecretSlot::Target).as_deref(),
            Some("CLAUDE_STATUS_ALERT_TEAM_SLACK_URL")
        );
        assert_eq!(
            secret_env_var("pd", ChannelKind::Pagerduty, SecretSlot::Target).as_deref(),
            Some("CLAUDE_STATUS_ALERT_PD_ROUTING_KEY")
        );
        assert_eq!(
            secret_env_var("pd", ChannelKind::Pagerduty, SecretSlot::Auth),
            None
        );
    }

    #[test]
    fn a_redacted_url_keeps_only_its_host() {
        assert_eq!(
            redact_url("https://hooks.slack.com/services/T000/B000/XXXX"),
            "https://hooks.slack.com/…"
        );
        assert_eq!(
            redact_url("https://user:pw@ntfy.example:8443/topic?x=1"),
            "https://ntfy.example:8443/…"
        );
        assert_eq!(redact_url("R0UT1NGKEY"), "…");
    }

    fn message(action: AlertAction, level: Level) -> AlertMessage {
        let n = notification(
            AlertKind::Trouble,
            level,
            Some("claude-opus-5-5"),
            "level:overloaded:Opus 5.5",
        );
        AlertMessage::from_notification(&n, at(0), action, "claude-status-pd-1".to_owned())
    }

    #[test]
    fn payloads_have_the_documented_shapes() {
        let trigger = message(AlertAction::Trigger, Level::Overloaded);
        let slack = slack_payload(&trigger);
        assert!(slack["text"].as_str().unwrap().contains("529 on 3"));
        assert_eq!(slack["blocks"][0]["type"], "header");
        assert_eq!(slack["blocks"][1]["text"]["type"], "plain_text");
        let discord = discord_payload(&trigger);
        assert!(discord["content"].is_string());
        assert_eq!(discord["embeds"][0]["color"], 0xE8702A);
        assert_eq!(discord["allowed_mentions"]["parse"], json!([]));
        let pd = pagerduty_payload(&trigger, "KEY", "host");
        assert_eq!(pd["event_action"], "trigger");
        assert_eq!(pd["payload"]["severity"], "error");
        assert_eq!(pd["payload"]["source"], "host");
        assert_eq!(pd["dedup_key"], "claude-status-pd-1");
        let resolve = pagerduty_payload(
            &message(AlertAction::Resolve, Level::Operational),
            "KEY",
            "host",
        );
        assert_eq!(
            resolve,
            json!({"routing_key": "KEY", "event_action": "resolve", "dedup_key": "claude-status-pd-1"})
        );
        let hook = serde_json::to_value(webhook_payload(&trigger, "0.1.0")).unwrap();
        assert_eq!(hook["version"], 1);
        assert_eq!(hook["kind"], "trouble");
        assert_eq!(hook["action"], "trigger");
        assert_eq!(hook["model"], "claude-opus-5-5");
        assert_eq!(hook["at"], "2026-12-02T12:00:00Z");
        let (body, headers) = ntfy_request(&trigger);
        assert!(body.contains("529"));
        assert!(headers.contains(&("Priority", "4".to_owned())));
        assert_eq!(signed_content(12, b"{}"), b"12.{}".to_vec());
    }

    #[test]
    fn traffic_spikes_have_their_filter_and_their_end_resolves_the_spike() {
        // A settings file written before the filter existed still parses, with spikes on.
        let old: ChannelFilter = serde_json::from_value(json!({
            "levels": ["outage"], "models": [], "incidents": true, "budget": false, "plan": true
        }))
        .unwrap();
        assert!(old.traffic);
        let mut old_channel = ChannelConfig::new("old", "Old", ChannelKind::Slack);
        old_channel.filter = old;
        assert_eq!(validate_channels(&[old_channel]), Ok(()));

        let spike = notification(
            AlertKind::TrafficSpike,
            Level::Degraded,
            Some("claude-opus-4-5"),
            "spike:cost_per_1k:claude-opus-4-5",
        );
        let over = notification(
            AlertKind::TrafficSpikeOver,
            Level::Operational,
            Some("claude-opus-4-5"),
            "spike:cost_per_1k:claude-opus-4-5:recovered",
        );
        assert_eq!(Topic::of(&spike), Topic::Traffic);
        assert_eq!(Topic::of(&over), Topic::Traffic);
        let all = ChannelConfig::new("all", "All", ChannelKind::Pagerduty);
        let none = channel("quiet", ChannelKind::Slack, |f| f.traffic = false);
        let sonnet_only = channel("sonnet", ChannelKind::Discord, |f| {
            f.models = vec!["claude-sonnet-4-5".to_owned()]
        });
        assert!(all.accepts(&spike));
        assert!(!none.accepts(&spike));
        assert!(
            !sonnet_only.accepts(&spike),
            "a channel's models choose spikes too"
        );

        let channels = [all, none, sonnet_only];
        let mut router = Router::default();
        let fired = router.route(&channels, &spike, at(0), &never);
        assert_eq!(fired.deliveries.len(), 1);
        let fired = &fired.deliveries[0].message;
        assert_eq!(fired.action, AlertAction::Notify);
        let ended = router.route(&channels, &over, at(20), &never);
        assert_eq!(ended.deliveries.len(), 1);
        let ended = &ended.deliveries[0].message;
        assert_eq!(ended.action, AlertAction::Resolve);
        assert_eq!(
            ended.dedup_key, fired.dedup_key,
            "PagerDuty closes what it opened"
        );
        assert_eq!(ended.notification_key, over.key);
        assert!(
            router.open_episodes().is_empty(),
            "a spike is no level episode"
        );

        // Every channel's payload names the kind and carries the model.
        let pd = pagerduty_payload(fired, "KEY", "host");
        assert_eq!(pd["event_action"], "trigger");
        assert_eq!(pd["payload"]["severity"], "warning");
        assert_eq!(pd["payload"]["class"], "traffic_spike");
        assert_eq!(pd["payload"]["component"], "claude-opus-4-5");
        assert_eq!(
            pagerduty_payload(ended, "KEY", "host"),
            json!({"routing_key": "KEY", "event_action": "resolve",
                   "dedup_key": "spike:cost_per_1k:claude-opus-4-5"})
        );
        let hook = serde_json::to_value(webhook_payload(fired, "0.1.0")).unwrap();
        assert_eq!(hook["kind"], "traffic_spike");
        assert_eq!(hook["model"], "claude-opus-4-5");
        let hook = serde_json::to_value(webhook_payload(ended, "0.1.0")).unwrap();
        assert_eq!(hook["kind"], "traffic_spike_over");
        assert!(slack_payload(fired)["text"]
            .as_str()
            .unwrap()
            .contains("TrafficSpike"));
        assert!(discord_payload(fired)["embeds"][0]["footer"]["text"]
            .as_str()
            .unwrap()
            .contains("claude-opus-4-5"));
        let (_, headers) = ntfy_request(ended);
        assert!(headers.iter().any(|(name, _)| *name == "Tags"));
        assert_eq!(dedup_window(&spike.key), Duration::minutes(10));
    }

    #[test]
    fn long_text_is_clipped_to_each_channels_limits() {
        let mut long = message(AlertAction::Trigger, Level::Outage);
        long.title = "t".repeat(5000);
        long.body = "b".repeat(50_000);
        let slack = slack_payload(&long);
        assert!(
            slack["blocks"][0]["text"]["text"]
                .as_str()
                .unwrap()
                .chars()
                .count()
                <= 150
        );
        let pd = pagerduty_payload(&long, "K", "h");
        assert!(pd["payload"]["summary"].as_str().unwrap().chars().count() <= 1024);
        let discord = discord_payload(&long);
        assert!(
            discord["embeds"][0]["title"]
                .as_str()
                .unwrap()
                .chars()
                .count()
                <= 256
        );
    }

    #[test]
    fn a_non_ascii_ntfy_title_is_an_encoded_word() {
        assert_eq!(base64(b"Ma"), "TWE=");
        assert_eq!(base64(b"Man"), "TWFu");
        assert_eq!(base64(b"M"), "TQ==");
        let mut m = message(AlertAction::Trigger, Level::Outage);
        m.title = "Claude Opus 5.5 — outage".to_owned();
        let (_, headers) = ntfy_request(&m);
        assert!(headers[0].1.starts_with("=?UTF-8?B?"), "{:?}", headers[0]);
    }
}
