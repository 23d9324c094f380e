//! Health assessment: what the official status page says about the components we follow, as one
//! level with reasons that carry the evidence.

use serde::{Deserialize, Serialize};

use crate::level::Level;
use crate::statuspage::{ComponentStatus, Indicator, StatusPage, CLAUDE_API_COMPONENT_ID};

/// Why a status-page fetch gave no usable page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FetchFailureKind {
    /// DNS failure, connection refused or reset, TLS failure: the network path is broken.
    Network,
    /// No complete answer within the time limit.
    Timeout,
    /// An HTTP error status.
    HttpStatus { status: u16 },
    /// A page that is not JSON (typically a bot challenge or a captive portal).
    NotJson { content_type: Option<String> },
    /// JSON we could not read as a status page (truncated, wrong shape, empty).
    Unreadable,
    /// A body larger than our limit.
    TooLarge { limit: u64 },
}

/// A failed fetch: its kind and a sentence with the details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchFailure {
    pub kind: FetchFailureKind,
    pub detail: String,
}

impl FetchFailure {
    /// True when the failure says our own network is down rather than the page misbehaving.
    pub fn is_network(&self) -> bool {
        matches!(self.kind, FetchFailureKind::Network)
    }
}

/// What the assessment needs to know about the user's choices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssessConfig {
    /// Status-page component ids that mean "the API" for this user.
    pub followed_components: Vec<String>,
}

impl Default for AssessConfig {
    fn default() -> Self {
        Self {
            followed_components: vec![CLAUDE_API_COMPONENT_ID.to_owned()],
        }
    }
}

/// A level and the sentences that justify it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub level: Level,
    pub reasons: Vec<String>,
}

impl Verdict {
    fn new(level: Level, reason: impl Into<String>) -> Self {
        Self {
            level,
            reasons: vec![reason.into()],
        }
    }
}

/// The level a component state stands for. A partial outage is an outage of part of the API
/// (Statuspage itself rolls it up as "major"), so it is red, not yellow.
pub fn component_level(status: &ComponentStatus) -> Level {
    match status {
        ComponentStatus::Operational => Level::Operational,
        ComponentStatus::DegradedPerformance => Level::Degraded,
        ComponentStatus::PartialOutage | ComponentStatus::MajorOutage => Level::Outage,
        ComponentStatus::UnderMaintenance => Level::Maintenance,
        ComponentStatus::Unknown(_) => Level::Unknown,
    }
}

/// The level the page-wide indicator stands for.
pub fn indicator_level(indicator: &Indicator) -> Level {
    match indicator {
        Indicator::None => Level::Operational,
        Indicator::Minor => Level::Degraded,
        Indicator::Major | Indicator::Critical => Level::Outage,
        Indicator::Maintenance => Level::Maintenance,
        Indicator::Unknown(_) => Level::Unknown,
    }
}

/// Reads the status page's verdict on the followed components.
///
/// * The last fetch failed: `unknown`, saying why (the caller may still show the last good copy).
/// * A followed component is on the page: the worst followed component decides, raised to at
///   least `degraded` by an unresolved incident that lists it (pages often open the incident
///   before they flip the component), and to `outage` by a major or critical one.
/// * No followed component is on the page (another page, or the component was renamed): the
///   page-wide indicator decides, and the reasons say the fallback was taken.
pub fn status_page_verdict(
    page: Option<&StatusPage>,
    last_failure: Option<&FetchFailure>,
    config: &AssessConfig,
) -> Verdict {
    if let Some(failure) = last_failure {
        return Verdict::new(
            Level::Unknown,
            format!("status page unreadable: {}", failure.detail),
        );
    }
    let Some(page) = page else {
        return Verdict::new(Level::Unknown, "status page not fetched yet");
    };

    let followed: Vec<_> = config
        .followed_components
        .iter()
        .filter_map(|id| page.component(id))
        .collect();

    if followed.is_empty() {
        let level = indicator_level(&page.status.indicator);
        let mut reasons = Vec::new();
        match &page.status.indicator {
            Indicator::Unknown(raw) if raw.is_empty() => {
                reasons.push("status page gives no overall indicator".to_owned())
            }
            Indicator::Unknown(raw) => reasons.push(format!(
                "status page indicator \"{raw}\" is not one we know"
            )),
            _ => reasons.push(format!(
                "status page: {}",
                non_empty(&page.status.description, page.status.indicator.as_str())
            )),
        }
        if !config.followed_components.is_empty() {
            reasons.push(format!(
                "followed component {} not on this page; using the overall indicator",
                config.followed_components.join(", ")
            ));
        }
        return Verdict { level, reasons };
    }

    let mut level = Level::Operational;
    let mut reasons = Vec::new();
    // When every unresolved incident on the followed components names models, the components'
    // state is those models' trouble: the per-model verdicts carry it, and for the API as a whole
    // it means "degraded" at most.
    let belongs_to_models =
        crate::models::component_belongs_to_models(page, &config.followed_components);
    for component in &followed {
        let mut component_level = component_level(&component.status);
        if component_level != Level::Operational {
            if belongs_to_models {
                // The models' verdicts carry it (a model nobody uses adds "degraded" at most).
                component_level = Level::Operational;
                reasons.push(format!(
                    "status page: {} {} (for the models its incidents name)",
                    component.name,
                    component.status.label()
                ));
            } else {
                reasons.push(format!(
                    "status page: {} {}",
                    component.name,
                    component.status.label()
                ));
            }
        }
        level = worse(level, component_level);
    }

    for incident in page.active_incidents() {
        let touches = followed
            .iter()
            .any(|c| incident.touches_component(&c.id, &c.name));
        if !touches {
            continue;
        }
        let names: Vec<&str> = incident
            .components
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        match crate::model_names::parse_incident(&incident.name, &names) {
            // An incident that names models is theirs: the per-model verdicts fold it in.
            crate::model_names::IncidentScope::Models { .. } => continue,
            // A product (Claude Code, claude.ai, Console) is not the API: shown, never a level.
            crate::model_names::IncidentScope::Product { name } => {
                reasons.push(format!(
                    "official incident on {name} (a product, not the API; {}, {}): {}",
                    incident.impact, incident.status, incident.name
                ));
                continue;
            }
            _ => {}
        }
        let incident_level = crate::models::incident_level(&incident.impact, &incident.status);
        reasons.push(format!(
            "official incident ({}, {}): {}",
            incident.impact, incident.status, incident.name
        ));
        if incident.status == crate::statuspage::IncidentStatus::Monitoring
            && followed
                .iter()
                .all(|c| c.status == ComponentStatus::Operational)
        {
            reasons.push("recovering: the status page is monitoring a fix".to_owned());
        }
        level = worse(level, incident_level);
    }

    if level == Level::Operational && !belongs_to_models {
        let names: Vec<&str> = followed.iter().map(|c| c.name.as_str()).collect();
        reasons.push(format!("status page: {} operational", names.join(", ")));
    }
    Verdict { level, reasons }
}

/// The worse of two levels; `unknown` only wins over `operational`, so that an unreadable part
/// never hides real trouble and never passes for "fine".
pub fn worse(a: Level, b: Level) -> Level {
    match (a, b) {
        (Level::Unknown, Level::Operational) | (Level::Operational, Level::Unknown) => {
            Level::Unknown
        }
        _ if b.severity() > a.severity() => b,
        _ => a,
    }
}

fn non_empty<'a>(text: &'a str, fallback: &'a str) -> &'a str {
    if text.trim().is_empty() {
        fallback
    } else {
        text
    }
}
