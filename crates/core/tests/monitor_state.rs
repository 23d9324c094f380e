//! The monitor's state machine fed status-page observations, step by step, and the JSON contract of its snapshot.
//!
//! Notifications (`Effect::Notify`) and lead times are the alert policy's concern and are left out
//! of the rendered effects here; every other effect is listed, in order.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, Utc};
use claude_status_core::assess::{FetchFailure, FetchFailureKind};
use claude_status_core::changes::StatusChange;
use claude_status_core::models::NOT_WATCHED;
use claude_status_core::monitor::{
    Effect, MonitorConfig, MonitorState, Observation, PageFetch, RESOLUTION_GRACE,
};
use claude_status_core::statuspage::{
    Component, ComponentStatus, Impact, Incident, IncidentComponent, IncidentStatus,
    IncidentUpdate, Indicator, Maintenance, MaintenanceStatus, Page, PageStatus, StatusPage,
    CLAUDE_API_COMPONENT_ID,
};
use claude_status_core::Level;
use serde_json::{json, Value};

const API: &str = CLAUDE_API_COMPONENT_ID;
const API_NAME: &str = "Claude API (api.anthropic.com)";
const SOURCE: &str = "https://status.claude.com/api/v2/summary.json";

fn at(minute: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-06-06T18:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
        + Duration::minutes(minute)
}

fn seconds_after(minute: i64, seconds: i64) -> DateTime<Utc> {
    at(minute) + Duration::seconds(seconds)
}

fn component(id: &str, name: &str, status: &str, position: i64) -> Component {
    Component {
        id: id.into(),
        name: name.into(),
        status: ComponentStatus::from_wire(status),
        position: Some(position),
        ..Component::default()
    }
}

/// The Claude page with the API in `api_status` and these unresolved incidents.
fn claude_page(api_status: &str, incidents: &[Incident]) -> StatusPage {
    let indicator = if api_status == "operational" {
        Indicator::None
    } else {
        Indicator::Minor
    };
    StatusPage {
        page: Page {
            id: "tymt9n04zgry".into(),
            name: "Claude".into(),
            url: "https://status.claude.com".into(),
            time_zone: Some("Etc/UTC".into()),
            updated_at: Some(at(0)),
        },
        status: PageStatus {
            description: match indicator {
                Indicator::None => "All Systems Operational".into(),
                _ => "Minor Service Outage".into(),
            },
            indicator,
        },
        components: vec![
            component("rwppv331jlwc", "claude.ai", "operational", 1),
            component(API, API_NAME, api_status, 3),
            component("yyzkbfz2thpt", "Claude Code", "operational", 4),
        ],
        incidents: incidents.to_vec(),
        maintenances: Vec::new(),
    }
}

/// An incident on the API whose updates are `(status, body, minute)`, oldest first; stored newest
/// first as the page sends them, with the newest update's status.
fn incident(id: &str, impact: &str, updates: &[(&str, &str, i64)]) -> Incident {
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
        name: format!("Elevated errors ({id})"),
        status: incident_updates[0].status.clone(),
        impact: Impact::from_wire(impact),
        shortlink: Some(format!("https://stspg.io/{id}")),
        created_at: Some(at(updates[0].2)),
        updated_at: Some(at(updates[updates.len() - 1].2)),
        incident_updates,
        components: vec![IncidentComponent {
            id: API.into(),
            name: API_NAME.into(),
            status: ComponentStatus::Operational,
        }],
        ..Incident::default()
    }
}

fn open_incident() -> Incident {
    incident(
        "inc",
        "minor",
        &[
            ("investigating", "We are investigating.", 0),
            ("monitoring", "A fix is in place.", 5),
        ],
    )
}

fn resolved_incident() -> Incident {
    incident(
        "inc",
        "minor",
        &[
            ("investigating", "We are investigating.", 0),
            ("monitoring", "A fix is in place.", 5),
            ("resolved", "This incident has been resolved.", 9),
        ],
    )
}

fn fetched(page: StatusPage) -> Observation {
    Observation::StatusPage {
        fetch: PageFetch::Fetched {
            page: Box::new(page),
            source_url: SOURCE.into(),
            not_modified: false,
        },
    }
}

fn failed(detail: &str) -> Observation {
    Observation::StatusPage {
        fetch: PageFetch::Failed {
            failure: FetchFailure {
                kind: FetchFailureKind::NotJson {
                    content_type: Some("text/html".into()),
                },
                detail: detail.into(),
            },
        },
    }
}

fn detail(id: &str, incident: Option<Incident>) -> Observation {
    Observation::IncidentDetail {
        id: id.into(),
        incident: incident.map(Box::new),
    }
}

fn render(effect: &Effect) -> Option<String> {
    Some(match effect {
        Effect::LevelChanged { from, to, .. } => format!("level {from}→{to}"),
        Effect::FetchIncident { id } => format!("fetch_incident {id}"),
        Effect::Change(change) => {
            let detail = match change {
                StatusChange::IncidentUpdated { update, .. } => {
                    format!(" {}:{}", update.status, update.body)
                }
                StatusChange::IncidentResolved { confirmed, .. } => {
                    format!(" confirmed={confirmed}")
                }
                StatusChange::IncidentStatusChanged { from, to, .. } => format!(" {from}→{to}"),
                StatusChange::ComponentStatusChanged { from, to, .. } => format!(" {from}→{to}"),
                StatusChange::IndicatorChanged { from, to, .. } => format!(" {from}→{to}"),
                _ => String::new(),
            };
            format!(
                "change {} {}{detail}",
                change.kind(),
                change.subject_id().unwrap_or("-")
            )
        }
        _ => return None,
    })
}

/// Applies one observation at `now` and compares the effects, in order.
fn check(
    state: &mut MonitorState,
    now: DateTime<Utc>,
    observation: Observation,
    expected: &[&str],
) {
    let effects = state.apply(observation, now);
    let rendered: Vec<String> = effects.iter().filter_map(render).collect();
    assert_eq!(rendered, expected, "at {now}");
}

fn fresh() -> MonitorState {
    MonitorState::new(MonitorConfig::default())
}

#[test]
fn the_first_observation_emits_exactly_one_level_change() {
    let mut state = fresh();
    check(
        &mut state,
        at(0),
        fetched(claude_page("operational", &[])),
        &["level unknown→operational"],
    );
    check(
        &mut state,
        at(1),
        fetched(claude_page("operational", &[])),
        &[],
    );

    // Whatever was already open is the starting state, not news.
    let mut state = fresh();
    check(
        &mut state,
        at(0),
        fetched(claude_page("operational", &[open_incident()])),
        &["level unknown→degraded"],
    );
    assert!(state.has_active_incident());

    // Even an unknown first verdict is announced once, so front ends get a first level.
    let mut state = fresh();
    check(
        &mut state,
        at(0),
        failed("HTTP 405"),
        &["level unknown→unknown"],
    );
    check(&mut state, at(1), failed("HTTP 405"), &[]);
    check(
        &mut state,
        at(2),
        fetched(claude_page("major_outage", &[])),
        &["level unknown→outage"],
    );

    let mut state = fresh();
    check(
        &mut state,
        at(0),
        Observation::IncidentHistory { incidents: vec![] },
        &["level unknown→unknown"],
    );
    assert_eq!(state.snapshot().level_since, Some(at(0)));
}

#[test]
fn a_failed_fetch_keeps_the_last_good_page() {
    let mut state = fresh();
    check(
        &mut state,
        at(0),
        fetched(claude_page("degraded_performance", &[])),
        &["level unknown→degraded"],
    );
    check(
        &mut state,
        at(1),
        failed("HTTP 200 with text/html (a bot challenge?)"),
        &["level degraded→unknown"],
    );

    let snapshot = state.snapshot();
    assert_eq!(snapshot.level, Level::Unknown);
    // Nothing here watches overloads (no key, no gateway), and the reasons say so last.
    assert_eq!(
        snapshot.reasons,
        [
            "status page unreadable: HTTP 200 with text/html (a bot challenge?)",
            NOT_WATCHED,
        ]
    );
    assert_eq!(snapshot.level_since, Some(at(1)));
    assert_eq!(snapshot.checked_at, Some(at(1)));
    let page = &snapshot.status_page;
    assert_eq!(
        page.error.as_deref(),
        Some("HTTP 200 with text/html (a bot challenge?)")
    );
    assert_eq!(
        page.fetched_at,
        Some(at(0)),
        "the content is the last good copy"
    );
    assert_eq!(page.source_url.as_deref(), Some(SOURCE));
    assert_eq!(page.indicator, Indicator::Minor);
    let components: Vec<(&str, &str)> = page
        .components
        .iter()
        .map(|c| (c.name.as_str(), c.status.as_str()))
        .collect();
    assert_eq!(
        components,
        [
            ("claude.ai", "operational"),
            (API_NAME, "degraded_performance"),
            ("Claude Code", "operational"),
        ]
    );
    assert!(state.page().is_some());

    check(&mut state, at(2), failed("HTTP 503"), &[]);
    assert_eq!(
        state.snapshot().status_page.error.as_deref(),
        Some("HTTP 503")
    );

    // The next good page clears the error and is diffed against the last good one.
    check(
        &mut state,
        at(3),
        fetched(claude_page("operational", &[])),
        &[
            "change indicator_changed - minor→none",
            &format!("change component_status_changed {API} degraded_performance→operational"),
            "level unknown→operational",
        ],
    );
    let snapshot = state.snapshot();
    assert_eq!(snapshot.status_page.error, None);
    assert_eq!(snapshot.status_page.fetched_at, Some(at(3)));
}

#[test]
fn a_vanished_incident_is_resolved_with_its_details() {
    let mut state = fresh();
    check(
        &mut state,
        at(5),
        fetched(claude_page("operational", &[open_incident()])),
        &["level unknown→degraded"],
    );
    check(
        &mut state,
        at(10),
        fetched(claude_page("operational", &[])),
        &["fetch_incident inc", "level degraded→operational"],
    );
    assert!(!state.has_active_incident());
    check(
        &mut state,
        seconds_after(10, 20),
        detail("inc", Some(resolved_incident())),
        &[
            "change incident_updated inc resolved:This incident has been resolved.",
            "change incident_resolved inc confirmed=true",
        ],
    );
    // Told once: nothing more when the grace passes, or when the detail comes again.
    check(
        &mut state,
        at(13),
        fetched(claude_page("operational", &[])),
        &[],
    );
    check(
        &mut state,
        at(14),
        detail("inc", Some(resolved_incident())),
        &[],
    );
    check(
        &mut state,
        at(15),
        Observation::IncidentHistory {
            incidents: vec![resolved_incident()],
        },
        &[],
    );
}

#[test]
fn without_details_an_unconfirmed_resolution_comes_once_after_the_grace() {
    assert_eq!(RESOLUTION_GRACE, Duration::minutes(2));
    let mut state = fresh();
    check(
        &mut state,
        at(5),
        fetched(claude_page("operational", &[open_incident()])),
        &["level unknown→degraded"],
    );
    check(
        &mut state,
        at(10),
        fetched(claude_page("operational", &[])),
        &["fetch_incident inc", "level degraded→operational"],
    );
    check(
        &mut state,
        at(11),
        fetched(claude_page("operational", &[])),
        &[],
    );
    check(
        &mut state,
        seconds_after(11, 59),
        fetched(claude_page("operational", &[])),
        &[],
    );
    check(
        &mut state,
        at(10) + RESOLUTION_GRACE,
        fetched(claude_page("operational", &[])),
        &["change incident_resolved inc confirmed=false"],
    );
    check(
        &mut state,
        at(13),
        fetched(claude_page("operational", &[])),
        &[],
    );
    check(
        &mut state,
        at(20),
        failed("HTTP 503"),
        &["level operational→unknown"],
    );
    // A detail that comes too late says nothing more.
    check(
        &mut state,
        at(21),
        detail("inc", Some(resolved_incident())),
        &[],
    );

    // Any observation moves time on, not only page fetches.
    let mut state = fresh();
    state.apply(
        fetched(claude_page("operational", &[open_incident()])),
        at(5),
    );
    state.apply(fetched(claude_page("operational", &[])), at(10));
    check(
        &mut state,
        at(30),
        detail("other", None),
        &["change incident_resolved inc confirmed=false"],
    );
}

#[test]
fn other_ways_a_pending_resolution_settles() {
    let vanished = || {
        let mut state = fresh();
        state.apply(
            fetched(claude_page("operational", &[open_incident()])),
            at(5),
        );
        let effects = state.apply(fetched(claude_page("operational", &[])), at(10));
        assert!(effects.contains(&Effect::FetchIncident { id: "inc".into() }));
        state
    };

    // The detail fetch failed: say so now rather than wait.
    let mut state = vanished();
    check(
        &mut state,
        at(11),
        detail("inc", None),
        &["change incident_resolved inc confirmed=false"],
    );
    check(
        &mut state,
        at(15),
        fetched(claude_page("operational", &[])),
        &[],
    );

    // The detail says it is not over: its news, then an honest unconfirmed resolution.
    let mut state = vanished();
    let still_open = incident(
        "inc",
        "minor",
        &[
            ("investigating", "We are investigating.", 0),
            ("monitoring", "A fix is in place.", 5),
            ("monitoring", "Still watching.", 8),
        ],
    );
    check(
        &mut state,
        at(11),
        detail("inc", Some(still_open)),
        &[
            "change incident_updated inc monitoring:Still watching.",
            "change incident_resolved inc confirmed=false",
        ],
    );
    check(
        &mut state,
        at(15),
        fetched(claude_page("operational", &[])),
        &[],
    );

    // The incident history carries the resolved incident.
    let mut state = vanished();
    check(
        &mut state,
        at(11),
        Observation::IncidentHistory {
            incidents: vec![
                incident("older", "major", &[("resolved", "Old news.", -600)]),
                resolved_incident(),
            ],
        },
        &[
            "change incident_updated inc resolved:This incident has been resolved.",
            "change incident_resolved inc confirmed=true",
        ],
    );
    check(
        &mut state,
        at(15),
        fetched(claude_page("operational", &[])),
        &[],
    );

    // A detail for another id settles nothing.
    let mut state = vanished();
    check(
        &mut state,
        at(11),
        detail("other", Some(resolved_incident())),
        &[],
    );
}

#[test]
fn an_incident_resolved_on_the_page_is_told_once() {
    let mut state = fresh();
    state.apply(
        fetched(claude_page("operational", &[open_incident()])),
        at(5),
    );
    check(
        &mut state,
        at(10),
        fetched(claude_page("operational", &[resolved_incident()])),
        &[
            "change incident_updated inc resolved:This incident has been resolved.",
            "change incident_resolved inc confirmed=true",
            "level degraded→operational",
        ],
    );
    // It then leaves the list: it was closed already, so nothing is pending.
    check(
        &mut state,
        at(11),
        fetched(claude_page("operational", &[])),
        &[],
    );
    check(
        &mut state,
        at(20),
        fetched(claude_page("operational", &[])),
        &[],
    );
}

#[test]
fn an_incident_missing_from_one_stale_fetch_is_not_opened_again() {
    // Two edges (or the fallback host) can serve copies of different ages: an incident can be
    // absent from one fetch and listed again in the next. It never left, so it is not news.
    let mut state = fresh();
    state.apply(
        fetched(claude_page("operational", &[open_incident()])),
        at(5),
    );
    check(
        &mut state,
        at(6),
        fetched(claude_page("operational", &[])),
        &["fetch_incident inc", "level degraded→operational"],
    );
    check(
        &mut state,
        at(7),
        fetched(claude_page("operational", &[open_incident()])),
        &["level operational→degraded"],
    );
    // And its pending resolution is dropped: no unconfirmed resolution after the grace.
    check(
        &mut state,
        at(20),
        fetched(claude_page("operational", &[open_incident()])),
        &[],
    );
    check(
        &mut state,
        at(21),
        detail("inc", Some(resolved_incident())),
        &[],
    );

    // Listed again with news: the news is told, still not as a new incident.
    let mut state = fresh();
    state.apply(
        fetched(claude_page("operational", &[open_incident()])),
        at(5),
    );
    state.apply(fetched(claude_page("operational", &[])), at(6));
    check(
        &mut state,
        at(7),
        fetched(claude_page("operational", &[resolved_incident()])),
        &[
            "change incident_updated inc resolved:This incident has been resolved.",
            "change incident_resolved inc confirmed=true",
        ],
    );
    check(
        &mut state,
        at(20),
        fetched(claude_page("operational", &[])),
        &[],
    );
}

#[test]
fn snapshot_json_keeps_the_contract() {
    let mut page = claude_page("degraded_performance", &[open_incident()]);
    // A grouped component, to show its group's name.
    page.components.push(Component {
        group: true,
        ..component("grp", "Claude apps", "operational", 5)
    });
    page.components.push(Component {
        group_id: Some("grp".into()),
        ..component("desk", "Claude for Desktop", "operational", 1)
    });
    let older = incident("old", "none", &[("investigating", "Not ours.", -30)]);
    page.incidents.push(Incident {
        components: vec![],
        ..older
    });
    page.maintenances.push(Maintenance {
        id: "m1".into(),
        name: "Database upgrade".into(),
        status: MaintenanceStatus::Scheduled,
        impact: Impact::Maintenance,
        shortlink: Some("https://stspg.io/m1".into()),
        scheduled_for: Some(at(120)),
        scheduled_until: Some(at(180)),
        ..Maintenance::default()
    });

    let mut state = fresh();
    state.apply(fetched(page), at(10));
    let value = serde_json::to_value(state.snapshot()).unwrap();

    assert_eq!(value["level"], json!("degraded"));
    assert_eq!(
        value["reasons"],
        json!([
            "status page: Claude API (api.anthropic.com) degraded performance",
            "official incident (minor, monitoring): Elevated errors (inc)",
            NOT_WATCHED,
        ])
    );
    // The one decision's other parts (issue 11): "does it hit you?" agrees with the level, and
    // the coverage says plainly that overloads are not watched.
    assert_eq!(value["hits_you"]["answer"], json!("maybe"));
    assert_eq!(value["subject"], Value::Null);
    assert_eq!(value["coverage"]["overloads_watched"], json!(false));
    assert_eq!(value["coverage"]["warning"], json!(NOT_WATCHED));
    // With no traffic and nothing pinned, the followed model is the default one, and nothing
    // has looked at it yet.
    let models = value["models"].as_array().unwrap();
    assert_eq!(models.len(), 1, "{models:?}");
    assert_eq!(models[0]["model"], json!("claude-haiku-4-5"));
    assert_eq!(models[0]["level"], json!("unknown"));
    assert_eq!(models[0]["followed"], json!(true));
    assert_eq!(models[0]["reasons"], json!([NOT_WATCHED]));
    let status_page = &value["status_page"];
    assert_eq!(status_page["indicator"], json!("minor"));
    assert_eq!(status_page["description"], json!("Minor Service Outage"));
    assert_eq!(
        status_page["page"],
        json!({
            "name": "Claude",
            "url": "https://status.claude.com",
            "updated_at": "2026-06-06T18:00:00Z",
        })
    );
    assert_eq!(status_page["error"], Value::Null);
    assert_eq!(status_page["source_url"], json!(SOURCE));

    let components: Vec<Value> = status_page["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| json!([c["id"], c["name"], c["status"], c["group"]]))
        .collect();
    assert_eq!(
        components,
        [
            json!(["rwppv331jlwc", "claude.ai", "operational", null]),
            json!([API, API_NAME, "degraded_performance", null]),
            json!(["yyzkbfz2thpt", "Claude Code", "operational", null]),
            json!(["desk", "Claude for Desktop", "operational", "Claude apps"]),
        ]
    );

    let incidents = status_page["incidents"].as_array().unwrap();
    let ids: Vec<&Value> = incidents.iter().map(|i| &i["id"]).collect();
    assert_eq!(ids, [&json!("inc"), &json!("old")], "newest first");
    let first = &incidents[0];
    for (key, expected) in [
        ("id", json!("inc")),
        ("name", json!("Elevated errors (inc)")),
        ("status", json!("monitoring")),
        ("impact", json!("minor")),
        ("shortlink", json!("https://stspg.io/inc")),
        ("created_at", json!("2026-06-06T18:00:00Z")),
        ("updated_at", json!("2026-06-06T18:05:00Z")),
        (
            "updates",
            json!([
                {"status": "monitoring", "body": "A fix is in place.", "created_at": "2026-06-06T18:05:00Z"},
                {"status": "investigating", "body": "We are investigating.", "created_at": "2026-06-06T18:00:00Z"},
            ]),
        ),
    ] {
        assert_eq!(first[key], expected, "incidents[0].{key}");
    }

    let maintenances = status_page["maintenances"].as_array().unwrap();
    assert_eq!(maintenances.len(), 1);
    assert_eq!(maintenances[0]["id"], json!("m1"));
    assert_eq!(maintenances[0]["name"], json!("Database upgrade"));
    assert_eq!(maintenances[0]["status"], json!("scheduled"));
    assert_eq!(
        maintenances[0]["scheduled_for"],
        json!("2026-06-06T20:00:00Z")
    );

    // Every contract key is present with the right JSON type, whatever the values.
    let kinds = [
        ("/level", "string"),
        ("/reasons", "array"),
        ("/status_page/indicator", "string"),
        ("/status_page/description", "string"),
        ("/status_page/page/name", "string"),
        ("/status_page/page/url", "string"),
        ("/status_page/page/updated_at", "string"),
        ("/status_page/components", "array"),
        ("/status_page/incidents", "array"),
        ("/status_page/maintenances", "array"),
        ("/models", "array"),
        ("/subject", "null"),
        ("/hits_you/answer", "string"),
        ("/hits_you/text", "string"),
        ("/coverage/overloads_watched", "bool"),
        ("/coverage/watched_by", "array"),
        ("/coverage/warning", "string"),
        ("/models/0/model", "string"),
        ("/models/0/class", "string"),
        ("/models/0/display_name", "string"),
        ("/models/0/level", "string"),
        ("/models/0/reasons", "array"),
        ("/models/0/share_7d", "number"),
        ("/models/0/last_probe", "null"),
        ("/models/0/own_traffic", "null"),
    ];
    for (pointer, kind) in kinds {
        assert_eq!(json_kind(value.pointer(pointer)), kind, "{pointer}");
    }
    for component in status_page["components"].as_array().unwrap() {
        for key in ["id", "name", "status", "group"] {
            assert!(component.get(key).is_some(), "component lacks {key}");
        }
    }
}

#[test]
fn snapshot_json_before_any_page() {
    let state = fresh();
    let value = serde_json::to_value(state.snapshot()).unwrap();
    assert_eq!(value["level"], json!("unknown"));
    assert_eq!(value["reasons"], json!(["no check has completed yet"]));
    let status_page = &value["status_page"];
    // "unknown" when we could not read it, as the field's documentation promises.
    assert_eq!(status_page["indicator"], json!("unknown"));
    assert_eq!(status_page["description"], json!(""));
    assert_eq!(
        status_page["page"],
        json!({"name": "", "url": "", "updated_at": null})
    );
    for key in ["components", "incidents", "maintenances"] {
        assert_eq!(status_page[key], json!([]), "{key}");
    }

    // A first fetch that fails keeps the shape and says why.
    let mut state = fresh();
    state.apply(failed("HTTP 405"), at(0));
    let value = serde_json::to_value(state.snapshot()).unwrap();
    assert_eq!(value["level"], json!("unknown"));
    assert_eq!(value["status_page"]["error"], json!("HTTP 405"));
    assert_eq!(value["status_page"]["indicator"], json!("unknown"));
    assert_eq!(value["status_page"]["components"], json!([]));

    // A page without an indicator says "unknown" too, not an empty string.
    let mut page = claude_page("operational", &[]);
    page.status = PageStatus::default();
    let mut state = fresh();
    state.apply(fetched(page), at(0));
    let value = serde_json::to_value(state.snapshot()).unwrap();
    assert_eq!(value["status_page"]["indicator"], json!("unknown"));
}

fn json_kind(value: Option<&Value>) -> &'static str {
    match value {
        None => "missing",
        Some(Value::Null) => "null",
        Some(Value::Bool(_)) => "bool",
        Some(Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Array(_)) => "array",
        Some(Value::Object(_)) => "object",
    }
}
