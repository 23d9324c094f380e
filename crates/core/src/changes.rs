//! Change detection: the difference between two status-page fetches as typed events.
//!
//! A summary lists only unresolved incidents and only upcoming or active maintenances, so an item
//! that vanishes between two fetches has ended: the diff reports it as resolved or ended rather
//! than silently forgetting it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

use crate::statuspage::{
    ComponentStatus, Impact, Incident, IncidentStatus, IncidentUpdate, Indicator, Maintenance,
    MaintenanceStatus, StatusPage,
};

/// A short reference to an incident, carried by every incident event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentRef {
    pub id: String,
    pub name: String,
    pub impact: Impact,
    pub shortlink: Option<String>,
}

impl From<&Incident> for IncidentRef {
    fn from(incident: &Incident) -> Self {
        Self {
            id: incident.key(),
            name: incident.name.clone(),
            impact: incident.impact.clone(),
            shortlink: incident.shortlink.clone(),
        }
    }
}

/// One posted update, as carried by events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateRef {
    pub status: IncidentStatus,
    pub body: String,
    pub created_at: Option<DateTime<Utc>>,
}

impl From<&IncidentUpdate> for UpdateRef {
    fn from(update: &IncidentUpdate) -> Self {
        Self {
            status: update.status.clone(),
            body: update.body.clone(),
            created_at: update.posted_at(),
        }
    }
}

/// What changed on the status page between two fetches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StatusChange {
    IndicatorChanged {
        from: Indicator,
        to: Indicator,
        description: String,
    },
    ComponentStatusChanged {
        id: String,
        name: String,
        from: ComponentStatus,
        to: ComponentStatus,
    },
    IncidentOpened {
        incident: IncidentRef,
        status: IncidentStatus,
        latest_update: Option<UpdateRef>,
    },
    IncidentUpdated {
        incident: IncidentRef,
        update: UpdateRef,
    },
    IncidentStatusChanged {
        incident: IncidentRef,
        from: IncidentStatus,
        to: IncidentStatus,
    },
    IncidentResolved {
        incident: IncidentRef,
        /// True when the page said so; false when the incident only left the unresolved list.
        confirmed: bool,
    },
    MaintenanceStarted {
        id: String,
        name: String,
        scheduled_until: Option<DateTime<Utc>>,
    },
    MaintenanceEnded {
        id: String,
        name: String,
    },
}

impl StatusChange {
    /// The event's kind as stored and printed (`"incident_opened"`).
    pub fn kind(&self) -> &'static str {
        match self {
            StatusChange::IndicatorChanged { .. } => "indicator_changed",
            StatusChange::ComponentStatusChanged { .. } => "component_status_changed",
            StatusChange::IncidentOpened { .. } => "incident_opened",
            StatusChange::IncidentUpdated { .. } => "incident_updated",
            StatusChange::IncidentStatusChanged { .. } => "incident_status_changed",
            StatusChange::IncidentResolved { .. } => "incident_resolved",
            StatusChange::MaintenanceStarted { .. } => "maintenance_started",
            StatusChange::MaintenanceEnded { .. } => "maintenance_ended",
        }
    }

    /// The id of the thing that changed (component, incident or maintenance), if any.
    pub fn subject_id(&self) -> Option<&str> {
        match self {
            StatusChange::IndicatorChanged { .. } => None,
            StatusChange::ComponentStatusChanged { id, .. }
            | StatusChange::MaintenanceStarted { id, .. }
            | StatusChange::MaintenanceEnded { id, .. } => Some(id),
            StatusChange::IncidentOpened { incident, .. }
            | StatusChange::IncidentUpdated { incident, .. }
            | StatusChange::IncidentStatusChanged { incident, .. }
            | StatusChange::IncidentResolved { incident, .. } => Some(&incident.id),
        }
    }

    /// One human sentence for logs and the `watch` output.
    pub fn describe(&self) -> String {
        match self {
            StatusChange::IndicatorChanged {
                from,
                to,
                description,
            } => format!("status page indicator {from} → {to} ({description})"),
            StatusChange::ComponentStatusChanged { name, from, to, .. } => {
                format!("{name}: {} → {}", from.label(), to.label())
            }
            StatusChange::IncidentOpened {
                incident,
                status,
                latest_update,
            } => {
                let mut line = format!(
                    "new incident ({}, {status}): {}",
                    incident.impact, incident.name
                );
                if let Some(update) = latest_update {
                    line.push_str(&format!(" — {}", first_line(&update.body)));
                }
                append_link(&mut line, incident);
                line
            }
            StatusChange::IncidentUpdated { incident, update } => {
                let mut line = format!(
                    "incident update ({}): {} — {}",
                    update.status,
                    incident.name,
                    first_line(&update.body)
                );
                append_link(&mut line, incident);
                line
            }
            StatusChange::IncidentStatusChanged { incident, from, to } => {
                format!("incident {from} → {to}: {}", incident.name)
            }
            StatusChange::IncidentResolved {
                incident,
                confirmed,
            } => {
                if *confirmed {
                    format!("incident resolved: {}", incident.name)
                } else {
                    format!("incident no longer listed as unresolved: {}", incident.name)
                }
            }
            StatusChange::MaintenanceStarted { name, .. } => format!("maintenance started: {name}"),
            StatusChange::MaintenanceEnded { name, .. } => format!("maintenance ended: {name}"),
        }
    }
}

fn append_link(line: &mut String, incident: &IncidentRef) {
    if let Some(link) = incident.shortlink.as_deref().filter(|l| !l.is_empty()) {
        line.push_str(&format!(" <{link}>"));
    }
}

/// The first line of a body, shortened for one-line output.
pub fn first_line(body: &str) -> String {
    let line = body
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    const LIMIT: usize = 200;
    if line.chars().count() > LIMIT {
        let cut: String = line.chars().take(LIMIT - 1).collect();
        format!("{cut}…")
    } else {
        line.to_owned()
    }
}

/// Diffs two fetches of the same page into events, in a stable order: indicator, components,
/// incidents, maintenances. The first fetch (`old` is `None`) yields nothing: what was already
/// there is the starting state, not news.
pub fn diff(old: Option<&StatusPage>, new: &StatusPage) -> Vec<StatusChange> {
    let Some(old) = old else {
        return Vec::new();
    };
    let mut changes = Vec::new();

    if old.status.indicator != new.status.indicator {
        changes.push(StatusChange::IndicatorChanged {
            from: old.status.indicator.clone(),
            to: new.status.indicator.clone(),
            description: new.status.description.clone(),
        });
    }

    let old_components: HashMap<&str, &ComponentStatus> = old
        .components
        .iter()
        .map(|c| (c.id.as_str(), &c.status))
        .collect();
    for component in &new.components {
        if let Some(before) = old_components.get(component.id.as_str()) {
            if **before != component.status {
                changes.push(StatusChange::ComponentStatusChanged {
                    id: component.id.clone(),
                    name: component.name.clone(),
                    from: (*before).clone(),
                    to: component.status.clone(),
                });
            }
        }
    }

    diff_incidents(&old.incidents, &new.incidents, &mut changes);
    diff_maintenances(&old.maintenances, &new.maintenances, &mut changes);
    changes
}

/// Diffs two lists of incidents; also used to merge `incidents.json` and single-incident fetches.
pub fn diff_incidents(old: &[Incident], new: &[Incident], changes: &mut Vec<StatusChange>) {
    let old_by_key: HashMap<String, &Incident> = old.iter().map(|i| (i.key(), i)).collect();
    let new_keys: std::collections::HashSet<String> = new.iter().map(Incident::key).collect();

    for incident in new {
        let reference = IncidentRef::from(incident);
        match old_by_key.get(&incident.key()) {
            None => {
                if incident.status.is_closed() {
                    // Opened and closed between two fetches: still news, told as one event each.
                    changes.push(StatusChange::IncidentOpened {
                        incident: reference.clone(),
                        status: incident.status.clone(),
                        latest_update: incident.latest_update().map(UpdateRef::from),
                    });
                    changes.push(StatusChange::IncidentResolved {
                        incident: reference,
                        confirmed: true,
                    });
                } else {
                    changes.push(StatusChange::IncidentOpened {
                        incident: reference,
                        status: incident.status.clone(),
                        latest_update: incident.latest_update().map(UpdateRef::from),
                    });
                }
            }
            Some(before) => {
                let seen: std::collections::HashSet<String> = before
                    .incident_updates
                    .iter()
                    .map(IncidentUpdate::key)
                    .collect();
                // Oldest first, so the events read in the order the page posted them.
                for update in incident
                    .incident_updates
                    .iter()
                    .rev()
                    .filter(|u| !seen.contains(&u.key()))
                {
                    changes.push(StatusChange::IncidentUpdated {
                        incident: reference.clone(),
                        update: UpdateRef::from(update),
                    });
                }
                if before.status != incident.status {
                    if incident.status.is_closed() && !before.status.is_closed() {
                        changes.push(StatusChange::IncidentResolved {
                            incident: reference,
                            confirmed: true,
                        });
                    } else {
                        changes.push(StatusChange::IncidentStatusChanged {
                            incident: reference,
                            from: before.status.clone(),
                            to: incident.status.clone(),
                        });
                    }
                }
            }
        }
    }

    for incident in old {
        if !new_keys.contains(&incident.key()) && !incident.status.is_closed() {
            changes.push(StatusChange::IncidentResolved {
                incident: IncidentRef::from(incident),
                confirmed: false,
            });
        }
    }
}

fn diff_maintenances(old: &[Maintenance], new: &[Maintenance], changes: &mut Vec<StatusChange>) {
    let old_by_key: HashMap<String, &Maintenance> = old.iter().map(|m| (m.key(), m)).collect();
    let new_by_key: HashMap<String, &Maintenance> = new.iter().map(|m| (m.key(), m)).collect();

    for maintenance in new {
        let was_active = old_by_key
            .get(&maintenance.key())
            .is_some_and(|m| m.status.is_active());
        let is_active = maintenance.status.is_active();
        if is_active && !was_active {
            changes.push(StatusChange::MaintenanceStarted {
                id: maintenance.key(),
                name: maintenance.name.clone(),
                scheduled_until: maintenance.scheduled_until,
            });
        } else if was_active && maintenance.status == MaintenanceStatus::Completed {
            changes.push(StatusChange::MaintenanceEnded {
                id: maintenance.key(),
                name: maintenance.name.clone(),
            });
        }
    }
    for maintenance in old {
        if maintenance.status.is_active() && !new_by_key.contains_key(&maintenance.key()) {
            changes.push(StatusChange::MaintenanceEnded {
                id: maintenance.key(),
                name: maintenance.name.clone(),
            });
        }
    }
}
