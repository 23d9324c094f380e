//! The snapshot every front end shows: the JSON of `claude-status check`, each `watch` line, and
//! later the tray and the UI. Field names here are a public contract: add fields, never rename.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::health::{ProbeHealth, ProbeKind, ProbeResult};
use crate::level::Level;
use crate::models::ModelReport;
use crate::probe::ProbeOutcome;
use crate::ratelimit::RateLimitSnapshot;
use crate::sse::Usage;
use crate::statuspage::{
    ComponentStatus, Impact, Incident, IncidentStatus, Indicator, MaintenanceStatus, StatusPage,
};
use crate::verdict::{Answer, Coverage, HitsYou};

/// Where the status page came from and how fresh it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PageInfo {
    pub name: String,
    pub url: String,
    pub updated_at: Option<DateTime<Utc>>,
}

/// One component as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ComponentReport {
    pub id: String,
    pub name: String,
    pub status: ComponentStatus,
    /// The name of its group, rebuilt from `group_id`.
    pub group: Option<String>,
    /// True when the assessment follows this component (by default: the Claude API).
    pub followed: bool,
}

/// One incident update as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UpdateReport {
    pub status: IncidentStatus,
    pub body: String,
    pub created_at: Option<DateTime<Utc>>,
}

/// One incident (or maintenance) as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct IncidentReport {
    pub id: String,
    pub name: String,
    pub status: IncidentStatus,
    pub impact: Impact,
    pub shortlink: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// Names of the components the incident lists.
    pub components: Vec<String>,
    /// Newest first.
    pub updates: Vec<UpdateReport>,
}

impl From<&Incident> for IncidentReport {
    fn from(incident: &Incident) -> Self {
        Self {
            id: incident.key(),
            name: incident.name.clone(),
            status: incident.status.clone(),
            impact: incident.impact.clone(),
            shortlink: incident.shortlink.clone(),
            created_at: incident.created_at,
            updated_at: incident.updated_at,
            resolved_at: incident.resolved_at,
            components: incident.components.iter().map(|c| c.name.clone()).collect(),
            updates: incident
                .incident_updates
                .iter()
                .map(|u| UpdateReport {
                    status: u.status.clone(),
                    body: u.body.clone(),
                    created_at: u.posted_at(),
                })
                .collect(),
        }
    }
}

/// One scheduled maintenance as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MaintenanceReport {
    pub id: String,
    pub name: String,
    pub status: MaintenanceStatus,
    pub impact: Impact,
    pub shortlink: Option<String>,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub scheduled_until: Option<DateTime<Utc>>,
    pub components: Vec<String>,
}

/// What the official status page says, as of our last fetch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StatusPageReport {
    /// The page's rollup; `"unknown"` (or the raw unknown value) when we could not read it.
    #[serde(serialize_with = "indicator_or_unknown")]
    pub indicator: Indicator,
    pub description: String,
    pub page: PageInfo,
    pub components: Vec<ComponentReport>,
    /// Unresolved incidents, newest first.
    pub incidents: Vec<IncidentReport>,
    pub maintenances: Vec<MaintenanceReport>,
    /// The URL of the last successful fetch (the fallback host when the main one failed).
    pub source_url: Option<String>,
    /// When the page content shown here was fetched (a 304 refreshes it).
    pub fetched_at: Option<DateTime<Utc>>,
    /// Why the last fetch failed, when it did; the content above is then the last good copy.
    pub error: Option<String>,
}

/// Writes an absent indicator (no page yet, or a page without one) as `"unknown"`, not `""`.
fn indicator_or_unknown<S: serde::Serializer>(
    indicator: &Indicator,
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    match indicator.as_str() {
        "" => serializer.serialize_str("unknown"),
        raw => serializer.serialize_str(raw),
    }
}

impl StatusPageReport {
    /// Builds the report of a fetched page, marking the followed components.
    pub fn from_page(page: &StatusPage, followed: &[String]) -> Self {
        let mut incidents: Vec<IncidentReport> =
            page.active_incidents().map(IncidentReport::from).collect();
        incidents.sort_by_key(|i| std::cmp::Reverse(i.created_at));
        Self {
            indicator: page.status.indicator.clone(),
            description: page.status.description.clone(),
            page: PageInfo {
                name: page.page.name.clone(),
                url: page.page.url.clone(),
                updated_at: page.page.updated_at,
            },
            components: page
                .leaf_components()
                .map(|c| ComponentReport {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    status: c.status.clone(),
                    group: page.group_name(c).map(str::to_owned),
                    followed: followed.iter().any(|f| f == &c.id),
                })
                .collect(),
            incidents,
            maintenances: page
                .maintenances
                .iter()
                .map(|m| MaintenanceReport {
                    id: m.key(),
                    name: m.name.clone(),
                    status: m.status.clone(),
                    impact: m.impact.clone(),
                    shortlink: m.shortlink.clone(),
                    scheduled_for: m.scheduled_for,
                    scheduled_until: m.scheduled_until,
                    components: m.components.iter().map(|c| c.name.clone()).collect(),
                })
                .collect(),
            source_url: None,
            fetched_at: None,
            error: None,
        }
    }

    /// Components that are not operational, for the CLI's second paragraph.
    pub fn troubled_components(&self) -> impl Iterator<Item = &ComponentReport> {
        self.components
            .iter()
            .filter(|c| c.status != ComponentStatus::Operational)
    }
}

/// The current state of everything we watch: one value, published whenever it changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Snapshot {
    /// The verdict: operational | degraded | overloaded | outage | maintenance | offline | unknown.
    pub level: Level,
    /// Human sentences that explain the level, most important first, with numbers.
    pub reasons: Vec<String>,
    /// When the level last changed (None before the first verdict).
    pub level_since: Option<DateTime<Utc>>,
    /// When any source last reported.
    pub checked_at: Option<DateTime<Utc>>,
    pub status_page: StatusPageReport,
    /// What our own probes saw last; `None` until a probe has run.
    pub probe: Option<ProbeReport>,
    /// Usage and cost against the tier limits; `None` while usage tracking is off.
    #[serde(default)]
    pub usage: Option<crate::tracker::TrackerSnapshot>,
    /// The spike alerts on the gateway's traffic, per model and measure: the baseline (or how
    /// many of its 24 hours it has learnt), the current value, and whether it is above. `None`
    /// while no gateway traffic was seen.
    #[serde(default)]
    pub traffic: Option<crate::spikes::SpikeReport>,
    /// Every model worth showing, with its own verdict: the followed ones (most used first), and
    /// any other the status page names or the user's traffic failed on.
    #[serde(default)]
    pub models: Vec<ModelReport>,
    /// The model whose verdict decided `level`, when one did.
    #[serde(default)]
    pub subject: Option<String>,
    /// "Does it hit you?", decided with the level.
    pub hits_you: HitsYou,
    /// What can see an overload as it happens.
    #[serde(default)]
    pub coverage: Coverage,
    /// Why history is not being saved, when it is not ("history is not being saved: the disk is
    /// full (SQLITE_FULL)"); monitoring and notifications go on without it. `None` while every
    /// write reaches the database.
    #[serde(default)]
    pub history_not_saved: Option<String>,
}

/// The latest probe results, as shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ProbeReport {
    /// Which probe this is (the latest of any kind).
    pub kind: ProbeKind,
    pub at: DateTime<Utc>,
    /// ok | unauthenticated | overloaded | rate_limited | spend_cap | billing | server_error |
    /// auth | permission | not_found | invalid_request | timeout | network.
    pub outcome: ProbeOutcome,
    pub http_status: Option<u16>,
    pub error_type: Option<String>,
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub latency_ms: Option<u64>,
    /// Time to first token of the latest streaming probe, if one ran.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub ttft_ms: Option<u64>,
    pub request_id: Option<String>,
    /// One human sentence about the outcome.
    pub detail: String,
    /// The latest `anthropic-ratelimit-*` readings (streaming probe, else reachability).
    pub ratelimit: RateLimitSnapshot,
    pub failures_in_a_row: u32,
    /// The latest streaming probe, when enabled.
    pub streaming: Option<StreamingReport>,
}

/// The latest streaming probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StreamingReport {
    pub at: DateTime<Utc>,
    pub outcome: ProbeOutcome,
    /// Time to response headers.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub latency_ms: Option<u64>,
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub message_start_ms: Option<u64>,
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub ttft_ms: Option<u64>,
    pub usage: Option<Usage>,
}

impl ProbeReport {
    /// The report of the probes' memory, `None` before any probe.
    pub fn from_health(
        health: &ProbeHealth,
        latest_streaming: Option<&ProbeResult>,
        failures_in_a_row: u32,
    ) -> Option<Self> {
        // The reachability probes live in `health`; the streaming probes are per model and only
        // their latest is passed in.
        let latest = match (health.latest(), latest_streaming) {
            (Some(a), Some(b)) => Some(if b.at > a.at { b } else { a }),
            (a, b) => a.or(b),
        }?;
        let streaming = latest_streaming.or_else(|| health.latest_of(ProbeKind::Streaming));
        let ratelimit = latest_streaming
            .filter(|r| !r.ratelimit.is_empty())
            .or_else(|| health.results().rev().find(|r| !r.ratelimit.is_empty()))
            .map(|r| r.ratelimit.clone())
            .unwrap_or_default();
        let c = &latest.classification;
        Some(Self {
            kind: latest.kind,
            at: latest.at,
            outcome: c.outcome,
            http_status: c.http_status,
            error_type: c.error_type.clone(),
            latency_ms: latest.latency_ms,
            ttft_ms: streaming.and_then(|s| s.ttft_ms),
            request_id: c.request_id.clone(),
            detail: c.detail.clone(),
            ratelimit,
            failures_in_a_row,
            streaming: streaming.map(|s| StreamingReport {
                at: s.at,
                outcome: s.outcome(),
                latency_ms: s.latency_ms,
                message_start_ms: s.message_start_ms,
                ttft_ms: s.ttft_ms,
                usage: s.usage.clone(),
            }),
        })
    }
}

impl Snapshot {
    /// The snapshot before anything has been observed.
    pub fn initial() -> Self {
        Self {
            level: Level::Unknown,
            reasons: vec!["no check has completed yet".to_owned()],
            level_since: None,
            checked_at: None,
            status_page: StatusPageReport::default(),
            probe: None,
            usage: None,
            traffic: None,
            models: Vec::new(),
            subject: None,
            hits_you: HitsYou {
                answer: Answer::Unknown,
                text: "Unknown: no check has completed yet.".to_owned(),
            },
            coverage: Coverage::default(),
            history_not_saved: None,
        }
    }
}
