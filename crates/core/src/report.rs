//! The snapshot every front end shows: the JSON of `claude-status check`, each `watch` line, and
//! later the tray and the UI. Field names here are a public contract: add fields, never rename.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::level::Level;
use crate::statuspage::{
    ComponentStatus, Impact, Incident, IncidentStatus, Indicator, MaintenanceStatus, StatusPage,
};

/// Where the status page came from and how fresh it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageInfo {
    pub name: String,
    pub url: String,
    pub updated_at: Option<DateTime<Utc>>,
}

/// One component as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct UpdateReport {
    pub status: IncidentStatus,
    pub body: String,
    pub created_at: Option<DateTime<Utc>>,
}

/// One incident (or maintenance) as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct StatusPageReport {
    /// The page's rollup; `"unknown"` (or the raw unknown value) when we could not read it.
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
        }
    }
}
