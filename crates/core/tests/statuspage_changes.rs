//! Change detection: two fetches of a status page in, the typed events between them out, one table row per rule.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, Utc};
use claude_status_core::changes::{diff, StatusChange};
use claude_status_core::statuspage::{
    parse_summary, Component, ComponentStatus, Impact, Incident, IncidentStatus, IncidentUpdate,
    Indicator, Maintenance, MaintenanceStatus, PageStatus, StatusPage,
};

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/statuspage/"
);

const API: &str = "k8w3r06qmzrp";

fn at(minute: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-06-06T18:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
        + Duration::minutes(minute)
}

/// A page with the given indicator and components `(id, status)`.
fn page(indicator: &str, components: &[(&str, &str)]) -> StatusPage {
    StatusPage {
        status: PageStatus {
            indicator: Indicator::from_wire(indicator),
            description: format!("{indicator} description"),
        },
        components: components
            .iter()
            .map(|(id, status)| Component {
                id: (*id).into(),
                name: format!("{id} name"),
                status: ComponentStatus::from_wire(status),
                ..Component::default()
            })
            .collect(),
        ..StatusPage::default()
    }
}

fn with_incidents(mut page: StatusPage, incidents: &[Incident]) -> StatusPage {
    page.incidents = incidents.to_vec();
    page
}

fn with_maintenances(mut page: StatusPage, maintenances: &[Maintenance]) -> StatusPage {
    page.maintenances = maintenances.to_vec();
    page
}

/// An incident whose updates are `(status, body, minute)`, oldest first as a person reads them;
/// stored newest first as the page sends them. The incident's status is its newest update's.
fn incident(id: &str, updates: &[(&str, &str, i64)]) -> Incident {
    let mut incident_updates: Vec<IncidentUpdate> = updates
        .iter()
        .enumerate()
        .map(|(n, (status, body, minute))| IncidentUpdate {
            id: format!("{id}-u{n}"),
            status: IncidentStatus::from_wire(status),
            body: (*body).into(),
            created_at: Some(at(*minute)),
            display_at: Some(at(*minute)),
            ..IncidentUpdate::default()
        })
        .collect();
    incident_updates.reverse();
    Incident {
        id: id.into(),
        name: format!("{id} name"),
        status: incident_updates
            .first()
            .map_or_else(IncidentStatus::default, |u| u.status.clone()),
        impact: Impact::Minor,
        shortlink: Some(format!("https://stspg.io/{id}")),
        created_at: updates.first().map(|u| at(u.2)),
        incident_updates,
        ..Incident::default()
    }
}

fn maintenance(id: &str, status: &str) -> Maintenance {
    Maintenance {
        id: id.into(),
        name: format!("{id} name"),
        status: MaintenanceStatus::from_wire(status),
        impact: Impact::Maintenance,
        scheduled_for: Some(at(60)),
        scheduled_until: Some(at(120)),
        ..Maintenance::default()
    }
}

/// One line per event: its kind, its subject and what it says.
fn render(change: &StatusChange) -> String {
    let subject = change.subject_id().unwrap_or("-");
    let detail = match change {
        StatusChange::IndicatorChanged {
            from,
            to,
            description,
        } => format!("{from}→{to} ({description})"),
        StatusChange::ComponentStatusChanged { from, to, .. } => format!("{from}→{to}"),
        StatusChange::IncidentOpened {
            status,
            latest_update,
            ..
        } => format!(
            "{status} latest={}",
            latest_update
                .as_ref()
                .map_or_else(|| "-".to_owned(), |u| format!("{}:{}", u.status, u.body))
        ),
        StatusChange::IncidentUpdated { update, .. } => {
            format!("{}:{}", update.status, update.body)
        }
        StatusChange::IncidentStatusChanged { from, to, .. } => format!("{from}→{to}"),
        StatusChange::IncidentResolved { confirmed, .. } => format!("confirmed={confirmed}"),
        StatusChange::MaintenanceStarted {
            scheduled_until, ..
        } => format!(
            "until={}",
            scheduled_until.map_or_else(|| "-".to_owned(), |t| t.format("%H:%M").to_string())
        ),
        StatusChange::MaintenanceEnded { .. } => String::new(),
    };
    format!("{} {subject} {detail}", change.kind())
        .trim_end()
        .to_owned()
}

fn check(old: Option<&StatusPage>, new: &StatusPage, expected: &[&str]) {
    let changes = diff(old, new);
    let rendered: Vec<String> = changes.iter().map(render).collect();
    assert_eq!(rendered, expected);
    for change in &changes {
        assert!(!change.describe().is_empty());
    }
}

#[test]
fn first_fetch_and_identical_pages_yield_nothing() {
    let busy = with_maintenances(
        with_incidents(
            page(
                "minor",
                &[(API, "degraded_performance"), ("ai", "operational")],
            ),
            &[incident("inc", &[("investigating", "Looking", 0)])],
        ),
        &[maintenance("m", "in_progress")],
    );
    check(None, &busy, &[]);
    check(Some(&busy), &busy, &[]);
    check(Some(&busy), &busy.clone(), &[]);

    let bytes = std::fs::read(format!("{FIXTURES}github-summary-2026-07.json")).unwrap();
    let github = parse_summary(&bytes).unwrap();
    check(None, &github, &[]);
    check(Some(&github), &parse_summary(&bytes).unwrap(), &[]);
}

#[test]
fn indicator_and_components() {
    let calm = page("none", &[(API, "operational"), ("ai", "operational")]);

    check(
        Some(&calm),
        &page("minor", &[(API, "operational"), ("ai", "operational")]),
        &["indicator_changed - none→minor (minor description)"],
    );
    check(
        Some(&calm),
        &page("major", &[(API, "partial_outage"), ("ai", "major_outage")]),
        &[
            "indicator_changed - none→major (major description)",
            &format!("component_status_changed {API} operational→partial_outage"),
            "component_status_changed ai operational→major_outage",
        ],
    );
    // Unknown values change like any other, and are kept verbatim.
    check(
        Some(&calm),
        &page("catastrophic", &[(API, "melting"), ("ai", "operational")]),
        &[
            "indicator_changed - none→catastrophic (catastrophic description)",
            &format!("component_status_changed {API} operational→melting"),
        ],
    );
    check(
        Some(&page("catastrophic", &[(API, "melting")])),
        &page("catastrophic", &[(API, "frozen")]),
        &[&format!("component_status_changed {API} melting→frozen")],
    );
    check(
        Some(&page("weird", &[(API, "melting")])),
        &page("weird", &[(API, "melting")]),
        &[],
    );
    // Components that appear or disappear are not status changes.
    check(
        Some(&calm),
        &page("none", &[(API, "operational"), ("new", "major_outage")]),
        &[],
    );
}

#[test]
fn github_fixture_component_change() {
    let bytes = std::fs::read(format!("{FIXTURES}github-summary-2026-07.json")).unwrap();
    let old = parse_summary(&bytes).unwrap();
    let mut new = old.clone();
    new.status.indicator = Indicator::Minor;
    new.status.description = "Minor Service Outage".into();
    new.components[3].status = ComponentStatus::DegradedPerformance;
    let id = new.components[3].id.clone();
    check(
        Some(&old),
        &new,
        &[
            "indicator_changed - none→minor (Minor Service Outage)",
            &format!("component_status_changed {id} operational→degraded_performance"),
        ],
    );
}

#[test]
fn incident_life_cycle() {
    let calm = page("none", &[(API, "operational")]);
    let opened = incident("inc", &[("investigating", "We are investigating.", 0)]);
    let identified = incident(
        "inc",
        &[
            ("investigating", "We are investigating.", 0),
            ("identified", "Found it.", 10),
        ],
    );
    let monitoring = incident(
        "inc",
        &[
            ("investigating", "We are investigating.", 0),
            ("identified", "Found it.", 10),
            ("identified", "Fix rolling out.", 15),
            ("monitoring", "Fix deployed.", 20),
        ],
    );
    let resolved = incident(
        "inc",
        &[
            ("investigating", "We are investigating.", 0),
            ("identified", "Found it.", 10),
            ("identified", "Fix rolling out.", 15),
            ("monitoring", "Fix deployed.", 20),
            ("resolved", "All good.", 30),
        ],
    );
    let page_with =
        |incident: &Incident| with_incidents(calm.clone(), std::slice::from_ref(incident));

    // A new incident, with its latest update.
    check(
        Some(&calm),
        &page_with(&opened),
        &["incident_opened inc investigating latest=investigating:We are investigating."],
    );
    let two_updates = incident(
        "inc",
        &[("investigating", "First.", 0), ("identified", "Second.", 5)],
    );
    check(
        Some(&calm),
        &page_with(&two_updates),
        &["incident_opened inc identified latest=identified:Second."],
    );
    // investigating → identified: the update, then the status change.
    check(
        Some(&page_with(&opened)),
        &page_with(&identified),
        &[
            "incident_updated inc identified:Found it.",
            "incident_status_changed inc investigating→identified",
        ],
    );
    // Several new updates at once come oldest first.
    check(
        Some(&page_with(&identified)),
        &page_with(&monitoring),
        &[
            "incident_updated inc identified:Fix rolling out.",
            "incident_updated inc monitoring:Fix deployed.",
            "incident_status_changed inc identified→monitoring",
        ],
    );
    check(
        Some(&page_with(&opened)),
        &page_with(&monitoring),
        &[
            "incident_updated inc identified:Found it.",
            "incident_updated inc identified:Fix rolling out.",
            "incident_updated inc monitoring:Fix deployed.",
            "incident_status_changed inc investigating→monitoring",
        ],
    );
    // Resolution, told once: the resolved copy lingering, then leaving the list, says nothing more.
    check(
        Some(&page_with(&monitoring)),
        &page_with(&resolved),
        &[
            "incident_updated inc resolved:All good.",
            "incident_resolved inc confirmed=true",
        ],
    );
    check(Some(&page_with(&resolved)), &page_with(&resolved), &[]);
    check(Some(&page_with(&resolved)), &calm, &[]);
    // Resolved to postmortem is a status change, not a second resolution.
    let mut postmortem = resolved.clone();
    postmortem.status = IncidentStatus::Postmortem;
    check(
        Some(&page_with(&resolved)),
        &page_with(&postmortem),
        &["incident_status_changed inc resolved→postmortem"],
    );
    // An incident that leaves the unresolved list without a word: resolved, unconfirmed.
    check(
        Some(&page_with(&monitoring)),
        &calm,
        &["incident_resolved inc confirmed=false"],
    );
    // Opened and resolved between two fetches: both told.
    check(
        Some(&calm),
        &page_with(&resolved),
        &[
            "incident_opened inc resolved latest=resolved:All good.",
            "incident_resolved inc confirmed=true",
        ],
    );
    // A reopened incident is a status change.
    let reopened = incident(
        "inc",
        &[
            ("investigating", "We are investigating.", 0),
            ("identified", "Found it.", 10),
            ("identified", "Fix rolling out.", 15),
            ("monitoring", "Fix deployed.", 20),
            ("resolved", "All good.", 30),
            ("investigating", "It is back.", 40),
        ],
    );
    check(
        Some(&page_with(&resolved)),
        &page_with(&reopened),
        &[
            "incident_updated inc investigating:It is back.",
            "incident_status_changed inc resolved→investigating",
        ],
    );
}

#[test]
fn incidents_with_unknown_statuses_and_no_ids() {
    let calm = page("none", &[(API, "operational")]);
    let paused = incident(
        "inc",
        &[("investigating", "Looking.", 0), ("paused", "Paused.", 5)],
    );
    let before = incident("inc", &[("investigating", "Looking.", 0)]);
    check(
        Some(&with_incidents(calm.clone(), &[before])),
        &with_incidents(calm.clone(), std::slice::from_ref(&paused)),
        &[
            "incident_updated inc paused:Paused.",
            "incident_status_changed inc investigating→paused",
        ],
    );
    // An unknown status is not "closed": leaving the list is still an unconfirmed resolution.
    check(
        Some(&with_incidents(calm.clone(), &[paused])),
        &calm,
        &["incident_resolved inc confirmed=false"],
    );

    // Trimmed copies without incident or update ids are followed by their synthetic keys.
    let strip = |mut incident: Incident| {
        incident.id.clear();
        for update in &mut incident.incident_updates {
            update.id.clear();
        }
        incident
    };
    let old = strip(incident("x", &[("investigating", "Looking.", 0)]));
    let new = strip(incident(
        "x",
        &[
            ("investigating", "Looking.", 0),
            ("identified", "Found.", 5),
        ],
    ));
    check(
        Some(&with_incidents(calm.clone(), std::slice::from_ref(&old))),
        &with_incidents(calm.clone(), &[new]),
        &[
            "incident_updated https://stspg.io/x identified:Found.",
            "incident_status_changed https://stspg.io/x investigating→identified",
        ],
    );
    let mut unlinked = old.clone();
    unlinked.shortlink = None;
    check(
        Some(&with_incidents(calm.clone(), &[unlinked.clone()])),
        &with_incidents(calm.clone(), &[unlinked.clone()]),
        &[],
    );
    let mut other = unlinked.clone();
    other.name = "another name".into();
    let rendered: Vec<String> = diff(
        Some(&with_incidents(calm.clone(), &[unlinked])),
        &with_incidents(calm, &[other]),
    )
    .iter()
    .map(StatusChange::kind)
    .map(str::to_owned)
    .collect();
    assert_eq!(rendered, ["incident_opened", "incident_resolved"]);
}

#[test]
fn maintenances() {
    let calm = page("none", &[(API, "operational")]);
    let with = |items: &[&Maintenance]| {
        let items: Vec<Maintenance> = items.iter().map(|m| (*m).clone()).collect();
        with_maintenances(calm.clone(), &items)
    };
    let scheduled = maintenance("m", "scheduled");
    let in_progress = maintenance("m", "in_progress");
    let verifying = maintenance("m", "verifying");
    let completed = maintenance("m", "completed");

    check(Some(&calm), &with(&[&scheduled]), &[]);
    check(
        Some(&with(&[&scheduled])),
        &with(&[&in_progress]),
        &["maintenance_started m until=20:00"],
    );
    check(
        Some(&calm),
        &with(&[&in_progress]),
        &["maintenance_started m until=20:00"],
    );
    check(Some(&with(&[&in_progress])), &with(&[&verifying]), &[]);
    check(
        Some(&with(&[&verifying])),
        &with(&[&completed]),
        &["maintenance_ended m"],
    );
    check(
        Some(&with(&[&in_progress])),
        &with(&[&completed]),
        &["maintenance_ended m"],
    );
    check(
        Some(&with(&[&in_progress])),
        &calm,
        &["maintenance_ended m"],
    );
    // A scheduled one that vanishes never started; a completed one ended already.
    check(Some(&with(&[&scheduled])), &calm, &[]);
    check(Some(&with(&[&completed])), &calm, &[]);
    check(Some(&with(&[&completed])), &with(&[&completed]), &[]);
    check(
        Some(&with(&[&scheduled])),
        &with(&[&maintenance("m", "postponed")]),
        &[],
    );
    // Two at once, one starting and one ending, in page order then vanished ones.
    check(
        Some(&with(&[&in_progress, &maintenance("n", "scheduled")])),
        &with(&[&maintenance("n", "in_progress")]),
        &["maintenance_started n until=20:00", "maintenance_ended m"],
    );
}

#[test]
fn events_come_in_a_stable_order() {
    let old = with_maintenances(
        with_incidents(
            page("none", &[(API, "operational")]),
            &[incident("gone", &[("monitoring", "Watching.", 0)])],
        ),
        &[maintenance("m", "scheduled")],
    );
    let new = with_maintenances(
        with_incidents(
            page("minor", &[(API, "degraded_performance")]),
            &[incident("fresh", &[("investigating", "Looking.", 5)])],
        ),
        &[maintenance("m", "in_progress")],
    );
    check(
        Some(&old),
        &new,
        &[
            "indicator_changed - none→minor (minor description)",
            &format!("component_status_changed {API} operational→degraded_performance"),
            "incident_opened fresh investigating latest=investigating:Looking.",
            "incident_resolved gone confirmed=false",
            "maintenance_started m until=20:00",
        ],
    );
}
