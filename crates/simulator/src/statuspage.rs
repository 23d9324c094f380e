//! The fake status.claude.com documents: Atlassian Statuspage v2 JSON built from a scenario's script at a story time.
//!
//! Everything here is a pure function of (script, story start instant, story time), so two polls
//! at the same story time produce byte-identical bodies and therefore identical ETags.

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::ids;
use crate::scenario::{NoticeKind, NoticeScript};

/// The page id of status.claude.com.
pub(crate) const PAGE_ID: &str = "tymt9n04zgry";

/// A component's state, in Statuspage's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ComponentStatus {
    Operational,
    UnderMaintenance,
    DegradedPerformance,
    PartialOutage,
    MajorOutage,
}

/// A fixed description of one real component.
struct ComponentSpec {
    id: &'static str,
    name: &'static str,
    created_at: &'static str,
    start_date: Option<&'static str>,
}

/// The six components of status.claude.com in page order (api-facts A4). Creation times
/// are invented but fixed, so they never disturb the ETag.
const COMPONENTS: [ComponentSpec; 6] = [
    ComponentSpec {
        id: "rwppv331jlwc",
        name: "claude.ai",
        created_at: "2023-07-11T18:23:40.312Z",
        start_date: None,
    },
    ComponentSpec {
        id: "0qbwn08sd68x",
        name: "Claude Console (platform.claude.com)",
        created_at: "2023-07-11T18:24:12.548Z",
        start_date: None,
    },
    ComponentSpec {
        id: "k8w3r06qmzrp",
        name: "Claude API (api.anthropic.com)",
        created_at: "2023-07-11T18:24:31.093Z",
        start_date: None,
    },
    ComponentSpec {
        id: "yyzkbfz2thpt",
        name: "Claude Code",
        created_at: "2025-05-22T16:02:57.281Z",
        start_date: Some("2025-02-06"),
    },
    ComponentSpec {
        id: "bpp5gb3hpjcl",
        name: "Claude Cowork",
        created_at: "2026-01-27T17:45:08.774Z",
        start_date: None,
    },
    ComponentSpec {
        id: "0scnb50nvy53",
        name: "Claude for Government",
        created_at: "2026-06-16T14:10:52.406Z",
        start_date: None,
    },
];

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Page {
    id: &'static str,
    name: &'static str,
    url: &'static str,
    time_zone: &'static str,
    updated_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Component {
    id: &'static str,
    name: &'static str,
    status: ComponentStatus,
    created_at: &'static str,
    updated_at: String,
    position: usize,
    description: Option<&'static str>,
    showcase: bool,
    start_date: Option<&'static str>,
    group_id: Option<&'static str>,
    page_id: &'static str,
    group: bool,
    only_show_if_degraded: bool,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Status {
    indicator: &'static str,
    description: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct AffectedComponent {
    code: &'static str,
    name: &'static str,
    old_status: ComponentStatus,
    new_status: ComponentStatus,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct IncidentUpdate {
    id: String,
    status: &'static str,
    body: Cow<'static, str>,
    incident_id: Cow<'static, str>,
    created_at: String,
    updated_at: String,
    display_at: String,
    affected_components: Option<Vec<AffectedComponent>>,
    deliver_notifications: bool,
    custom_tweet: Option<String>,
    tweet_id: Option<String>,
}

/// An incident or a scheduled maintenance; maintenances add the two `scheduled_*` fields.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Incident {
    id: Cow<'static, str>,
    name: Cow<'static, str>,
    status: &'static str,
    created_at: String,
    updated_at: String,
    monitoring_at: Option<String>,
    resolved_at: Option<String>,
    impact: &'static str,
    shortlink: String,
    started_at: String,
    page_id: &'static str,
    incident_updates: Vec<IncidentUpdate>,
    components: Vec<Component>,
    reminder_intervals: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scheduled_for: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scheduled_until: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct SummaryDocument {
    page: Page,
    components: Vec<Component>,
    incidents: Vec<Incident>,
    scheduled_maintenances: Vec<Incident>,
    status: Status,
}

#[derive(Debug, Serialize)]
pub(crate) struct StatusDocument {
    page: Page,
    status: Status,
}

#[derive(Debug, Serialize)]
pub(crate) struct ComponentsDocument {
    page: Page,
    components: Vec<Component>,
}

#[derive(Debug, Serialize)]
pub(crate) struct IncidentsDocument {
    page: Page,
    incidents: Vec<Incident>,
}

#[derive(Debug, Serialize)]
pub(crate) struct IncidentDocument {
    page: Page,
    incident: Incident,
}

#[derive(Debug, Serialize)]
pub(crate) struct MaintenancesDocument {
    page: Page,
    scheduled_maintenances: Vec<Incident>,
}

/// Formats a time as Statuspage does: milliseconds and `Z`.
pub(crate) fn format_time(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The status page as it stands at one story time.
#[derive(Debug)]
pub(crate) struct PageView {
    anchor: DateTime<Utc>,
    page_updated_ms: i64,
    components: Vec<Component>,
    /// Visible incidents, newest first.
    incidents: Vec<Incident>,
    /// Visible maintenances, newest first.
    maintenances: Vec<Incident>,
}

impl PageView {
    /// Replays `notices` up to `story_ms` on top of a page whose story began at `anchor`.
    pub(crate) fn build(anchor: DateTime<Utc>, story_ms: i64, notices: &[NoticeScript]) -> Self {
        let time_at = |ms: i64| format_time(anchor + TimeDelta::milliseconds(ms));

        // Replay every visible update in time order, remembering each update's component
        // transitions, since `affected_components` needs the status before the change.
        let mut statuses = [ComponentStatus::Operational; COMPONENTS.len()];
        let mut changed_ms: [Option<i64>; COMPONENTS.len()] = [None; COMPONENTS.len()];
        let mut affected: HashMap<(usize, usize), Vec<AffectedComponent>> = HashMap::new();
        let mut timeline: Vec<(i64, usize, usize)> = Vec::new();
        for (notice_index, notice) in notices.iter().enumerate() {
            for (update_index, update) in notice.updates.iter().enumerate() {
                if update.at_ms <= story_ms {
                    timeline.push((update.at_ms, notice_index, update_index));
                }
            }
        }
        timeline.sort_by_key(|&(at_ms, notice_index, update_index)| {
            (at_ms, notice_index, update_index)
        });
        let mut page_updated_ms = 0;
        for &(at_ms, notice_index, update_index) in &timeline {
            page_updated_ms = page_updated_ms.max(at_ms);
            let update = &notices[notice_index].updates[update_index];
            let mut transitions = Vec::new();
            for &(code, new_status) in &update.changes {
                let Some(position) = COMPONENTS.iter().position(|spec| spec.id == code) else {
                    continue;
                };
                transitions.push(AffectedComponent {
                    code,
                    name: COMPONENTS[position].name,
                    old_status: statuses[position],
                    new_status,
                });
                statuses[position] = new_status;
                changed_ms[position] = Some(at_ms);
            }
            if !transitions.is_empty() {
                affected.insert((notice_index, update_index), transitions);
            }
        }

        let components: Vec<Component> = COMPONENTS
            .iter()
            .enumerate()
            .map(|(index, spec)| Component {
                id: spec.id,
                name: spec.name,
                status: statuses[index],
                created_at: spec.created_at,
                // A component nobody touched in the story was last edited some weeks before it.
                updated_at: time_at(changed_ms[index].unwrap_or(-(30 + index as i64) * 86_400_000)),
                position: index + 1,
                description: None,
                showcase: true,
                start_date: spec.start_date,
                group_id: None,
                page_id: PAGE_ID,
                group: false,
                only_show_if_degraded: false,
            })
            .collect();

        let mut incidents = Vec::new();
        let mut maintenances = Vec::new();
        for (notice_index, notice) in notices.iter().enumerate() {
            let visible: Vec<usize> = (0..notice.updates.len())
                .filter(|&index| notice.updates[index].at_ms <= story_ms)
                .collect();
            let (Some(&first), Some(&last)) = (visible.first(), visible.last()) else {
                continue;
            };
            let first_ms = notice.updates[first].at_ms;
            let last_update = &notice.updates[last];
            let first_with = |status: &str| {
                visible
                    .iter()
                    .map(|&index| &notice.updates[index])
                    .find(|update| update.status == status)
                    .map(|update| time_at(update.at_ms))
            };
            let impact = visible
                .iter()
                .rev()
                .find_map(|&index| notice.updates[index].impact)
                .unwrap_or(notice.impact);
            let incident_updates = visible
                .iter()
                .rev()
                .map(|&index| {
                    let update = &notice.updates[index];
                    let at = time_at(update.at_ms);
                    IncidentUpdate {
                        id: ids::derived_base36(&notice.id, index),
                        status: update.status,
                        body: update.body.clone(),
                        incident_id: notice.id.clone(),
                        created_at: at.clone(),
                        updated_at: at.clone(),
                        display_at: at,
                        affected_components: affected.get(&(notice_index, index)).cloned(),
                        deliver_notifications: true,
                        custom_tweet: None,
                        tweet_id: None,
                    }
                })
                .collect();
            let listed = components
                .iter()
                .filter(|component| notice.components.contains(&component.id))
                .cloned()
                .collect();
            let (scheduled_for, scheduled_until) = match notice.kind {
                NoticeKind::Incident => (None, None),
                NoticeKind::Maintenance {
                    scheduled_for_ms,
                    scheduled_until_ms,
                } => (
                    Some(time_at(scheduled_for_ms)),
                    Some(time_at(scheduled_until_ms)),
                ),
            };
            let resolved_at = match notice.kind {
                NoticeKind::Incident => first_with("resolved").or_else(|| first_with("postmortem")),
                NoticeKind::Maintenance { .. } => first_with("completed"),
            };
            let started_at = match notice.kind {
                NoticeKind::Incident => time_at(first_ms),
                NoticeKind::Maintenance { .. } => {
                    first_with("in_progress").unwrap_or_else(|| time_at(first_ms))
                }
            };
            let incident = Incident {
                id: notice.id.clone(),
                name: notice.name.clone(),
                status: last_update.status,
                created_at: time_at(first_ms),
                updated_at: time_at(last_update.at_ms),
                monitoring_at: first_with("monitoring"),
                resolved_at,
                impact,
                shortlink: format!("https://stspg.io/{}", notice.shortlink_code),
                started_at,
                page_id: PAGE_ID,
                incident_updates,
                components: listed,
                reminder_intervals: None,
                scheduled_for,
                scheduled_until,
            };
            match notice.kind {
                NoticeKind::Incident => incidents.push((first_ms, incident)),
                NoticeKind::Maintenance { .. } => maintenances.push((first_ms, incident)),
            }
        }
        incidents.sort_by_key(|(created_ms, _)| std::cmp::Reverse(*created_ms));
        maintenances.sort_by_key(|(created_ms, _)| std::cmp::Reverse(*created_ms));

        Self {
            anchor,
            page_updated_ms,
            components,
            incidents: incidents
                .into_iter()
                .map(|(_, incident)| incident)
                .collect(),
            maintenances: maintenances
                .into_iter()
                .map(|(_, incident)| incident)
                .collect(),
        }
    }

    fn page(&self) -> Page {
        Page {
            id: PAGE_ID,
            name: "Claude",
            url: "https://status.claude.com",
            time_zone: "Etc/UTC",
            updated_at: format_time(self.anchor + TimeDelta::milliseconds(self.page_updated_ms)),
        }
    }

    pub(crate) fn status(&self) -> Status {
        let statuses: Vec<ComponentStatus> = self.components.iter().map(|c| c.status).collect();
        rollup(&statuses)
    }

    pub(crate) fn status_indicator(&self) -> &'static str {
        self.status().indicator
    }

    fn unresolved(&self) -> Vec<Incident> {
        self.incidents
            .iter()
            .filter(|incident| {
                matches!(
                    incident.status,
                    "investigating" | "identified" | "monitoring"
                )
            })
            .cloned()
            .collect()
    }

    fn maintenances_in(&self, states: &[&str]) -> Vec<Incident> {
        self.maintenances
            .iter()
            .filter(|maintenance| states.contains(&maintenance.status))
            .cloned()
            .collect()
    }

    pub(crate) fn summary(&self) -> SummaryDocument {
        SummaryDocument {
            page: self.page(),
            components: self.components.clone(),
            incidents: self.unresolved(),
            scheduled_maintenances: self.maintenances_in(&[
                "scheduled",
                "in_progress",
                "verifying",
            ]),
            status: self.status(),
        }
    }

    pub(crate) fn status_document(&self) -> StatusDocument {
        StatusDocument {
            page: self.page(),
            status: self.status(),
        }
    }

    pub(crate) fn components_document(&self) -> ComponentsDocument {
        ComponentsDocument {
            page: self.page(),
            components: self.components.clone(),
        }
    }

    /// Recent incidents in any state, newest first, capped at 50 like the real endpoint.
    pub(crate) fn incidents_document(&self) -> IncidentsDocument {
        IncidentsDocument {
            page: self.page(),
            incidents: self.incidents.iter().take(50).cloned().collect(),
        }
    }

    pub(crate) fn unresolved_document(&self) -> IncidentsDocument {
        IncidentsDocument {
            page: self.page(),
            incidents: self.unresolved(),
        }
    }

    /// One incident (or maintenance) by id, if it has been published yet.
    pub(crate) fn incident_document(&self, id: &str) -> Option<IncidentDocument> {
        self.incidents
            .iter()
            .chain(self.maintenances.iter())
            .find(|incident| incident.id == id)
            .map(|incident| IncidentDocument {
                page: self.page(),
                incident: incident.clone(),
            })
    }

    pub(crate) fn maintenances_document(&self) -> MaintenancesDocument {
        MaintenancesDocument {
            page: self.page(),
            scheduled_maintenances: self.maintenances.iter().take(50).cloned().collect(),
        }
    }

    pub(crate) fn upcoming_document(&self) -> MaintenancesDocument {
        MaintenancesDocument {
            page: self.page(),
            scheduled_maintenances: self.maintenances_in(&["scheduled"]),
        }
    }

    pub(crate) fn active_document(&self) -> MaintenancesDocument {
        MaintenancesDocument {
            page: self.page(),
            scheduled_maintenances: self.maintenances_in(&["in_progress", "verifying"]),
        }
    }
}

/// The page-level rollup from component states, following Atlassian's published rules for
/// pages with two or more components: the worst state decides, and "all components" is one
/// step worse than "some components".
pub(crate) fn rollup(statuses: &[ComponentStatus]) -> Status {
    let count =
        |wanted: ComponentStatus| statuses.iter().filter(|&&status| status == wanted).count();
    let all = statuses.len();
    let (indicator, description) = if count(ComponentStatus::MajorOutage) > 0 {
        if count(ComponentStatus::MajorOutage) == all {
            ("critical", "Major System Outage")
        } else {
            ("major", "Partial System Outage")
        }
    } else if count(ComponentStatus::PartialOutage) > 0 {
        if count(ComponentStatus::PartialOutage) == all {
            ("major", "Partial System Outage")
        } else {
            ("minor", "Minor Service Outage")
        }
    } else if count(ComponentStatus::DegradedPerformance) > 0 {
        if count(ComponentStatus::DegradedPerformance) == all {
            ("minor", "Degraded System Service")
        } else {
            ("minor", "Partially Degraded Service")
        }
    } else if count(ComponentStatus::UnderMaintenance) > 0 {
        ("maintenance", "Service Under Maintenance")
    } else {
        ("none", "All Systems Operational")
    };
    Status {
        indicator,
        description,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;
    use ComponentStatus::*;

    fn check(statuses: &[ComponentStatus], indicator: &str, description: &str) {
        let status = rollup(statuses);
        assert_eq!(
            (status.indicator, status.description),
            (indicator, description),
            "{statuses:?}"
        );
    }

    #[test]
    fn rollup_follows_the_worst_component() {
        check(
            &[Operational, Operational],
            "none",
            "All Systems Operational",
        );
        check(
            &[Operational, DegradedPerformance],
            "minor",
            "Partially Degraded Service",
        );
        check(
            &[DegradedPerformance, DegradedPerformance],
            "minor",
            "Degraded System Service",
        );
        check(
            &[Operational, PartialOutage],
            "minor",
            "Minor Service Outage",
        );
        check(
            &[PartialOutage, PartialOutage],
            "major",
            "Partial System Outage",
        );
        check(
            &[Operational, MajorOutage],
            "major",
            "Partial System Outage",
        );
        check(
            &[MajorOutage, MajorOutage],
            "critical",
            "Major System Outage",
        );
        check(
            &[Operational, UnderMaintenance],
            "maintenance",
            "Service Under Maintenance",
        );
        check(
            &[UnderMaintenance, DegradedPerformance],
            "minor",
            "Partially Degraded Service",
        );
    }

    #[test]
    fn documents_are_deterministic() {
        let anchor = DateTime::<Utc>::from_timestamp_millis(1_790_000_000_123).unwrap_or_default();
        let notices = Scenario::Incident.notices("claude-opus-5-5");
        let first =
            serde_json::to_string(&PageView::build(anchor, 130_000, &notices).summary()).ok();
        let second =
            serde_json::to_string(&PageView::build(anchor, 130_000, &notices).summary()).ok();
        assert!(first.is_some());
        assert_eq!(first, second);
    }
}
