//! The lenient Statuspage parser: real captured pages, malformed bodies, wrong types, and generated documents.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeZone, Utc};
use claude_status_core::assess::{status_page_verdict, AssessConfig};
use claude_status_core::statuspage::{
    component_tree, parse_document, parse_incident, parse_incidents, parse_summary, parse_time,
    AffectedComponent, Component, ComponentStatus, Impact, Incident, IncidentComponent,
    IncidentStatus, IncidentUpdate, Indicator, Maintenance, MaintenanceStatus, Page, PageStatus,
    StatusDocument, StatusPage,
};
use claude_status_core::Level;
use proptest::prelude::*;
use serde_json::{json, Value};

/// The shared fixtures sit beside the repository root, not inside it.
const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/statuspage/"
);

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{FIXTURES}{name}");
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read fixture {path}: {e}"))
}

fn parse_fixture(name: &str) -> StatusDocument {
    parse_document(&fixture(name)).unwrap_or_else(|e| panic!("{name} does not parse: {e}"))
}

fn raw_fixture(name: &str) -> Value {
    serde_json::from_slice(&fixture(name)).unwrap()
}

fn time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

// ------------------------------------------------------------------------------------------------
// Real fixtures

/// One line per fixture: what the parser kept. A new fixture without a row fails the test.
fn render_document(document: &StatusDocument) -> String {
    let count = |n: Option<usize>| n.map_or_else(|| "-".to_owned(), |n| n.to_string());
    let components = document.components.as_deref();
    format!(
        "page={} components={} groups={} incidents={} maintenances={} indicator={}",
        document.page.as_ref().map_or("-", |p| p.name.as_str()),
        count(components.map(<[Component]>::len)),
        count(components.map(|c| c.iter().filter(|c| c.group).count())),
        count(document.incidents.as_ref().map(Vec::len)),
        count(document.scheduled_maintenances.as_ref().map(Vec::len)),
        document
            .status
            .as_ref()
            .map_or("-", |s| s.indicator.as_str()),
    )
}

#[test]
fn every_fixture_parses() {
    let expected: BTreeMap<&str, &str> = [
        (
            "anthropic-incidents-TRIMMED-PARTLY-SYNTHETIC.json",
            "page=Claude components=- groups=- incidents=3 maintenances=- indicator=-",
        ),
        (
            "coinbase-components-2021.json",
            "page=Coinbase components=139 groups=3 incidents=- maintenances=- indicator=-",
        ),
        (
            "digitalocean-components-2021.json",
            "page=DigitalOcean components=37 groups=2 incidents=- maintenances=- indicator=-",
        ),
        (
            "dropbox-components-2021.json",
            "page=Dropbox components=7 groups=0 incidents=- maintenances=- indicator=-",
        ),
        (
            "duo-components-2021.json",
            "page=Duo components=539 groups=69 incidents=- maintenances=- indicator=-",
        ),
        (
            "github-components-2021.json",
            "page=GitHub components=10 groups=0 incidents=- maintenances=- indicator=-",
        ),
        (
            "github-incidents-2026-07.json",
            "page=GitHub components=- groups=- incidents=50 maintenances=- indicator=-",
        ),
        (
            "github-summary-2026-07.json",
            "page=GitHub components=12 groups=0 incidents=0 maintenances=0 indicator=none",
        ),
        (
            "twilio-components-2021.json",
            "page=Twilio components=85 groups=10 incidents=- maintenances=- indicator=-",
        ),
    ]
    .into_iter()
    .collect();

    let on_disk: BTreeSet<String> = std::fs::read_dir(FIXTURES)
        .unwrap_or_else(|e| panic!("fixture folder {FIXTURES} unreadable: {e}"))
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".json"))
        .collect();
    let listed: BTreeSet<String> = expected.keys().map(|k| (*k).to_owned()).collect();
    assert_eq!(
        on_disk, listed,
        "every fixture has a row, every row a fixture"
    );

    for (name, line) in expected {
        assert_eq!(render_document(&parse_fixture(name)), line, "{name}");
    }
}

#[test]
fn github_summary_is_all_operational() {
    let page = parse_summary(&fixture("github-summary-2026-07.json")).unwrap();
    assert_eq!(page.status.indicator, Indicator::None);
    assert_eq!(page.status.description, "All Systems Operational");
    assert_eq!(page.page.id, "kctbh9vrtdwd");
    assert_eq!(page.page.url, "https://www.githubstatus.com");
    assert_eq!(page.page.time_zone.as_deref(), Some("Etc/UTC"));
    assert_eq!(page.page.updated_at, Some(time("2026-07-31T03:29:01.470Z")));
    assert_eq!(page.components.len(), 12);
    assert!(page
        .components
        .iter()
        .all(|c| c.status == ComponentStatus::Operational && !c.id.is_empty() && !c.group));
    assert!(page.incidents.is_empty());
    assert!(page.maintenances.is_empty());
}

#[test]
fn github_incidents_keep_impacts_and_update_order() {
    let name = "github-incidents-2026-07.json";
    let incidents = parse_incidents(&fixture(name)).unwrap();
    assert_eq!(incidents.len(), 50);

    let mut impacts: BTreeMap<String, usize> = BTreeMap::new();
    for incident in &incidents {
        *impacts.entry(incident.impact.to_string()).or_default() += 1;
    }
    let impacts: Vec<(&str, usize)> = impacts.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        impacts,
        [("critical", 11), ("major", 10), ("minor", 26), ("none", 3)]
    );
    assert!(incidents
        .iter()
        .all(|i| i.status == IncidentStatus::Resolved && i.resolved_at.is_some()));

    // The page sends updates newest first; the parser keeps exactly that order.
    let raw = raw_fixture(name);
    for (incident, raw) in incidents.iter().zip(raw["incidents"].as_array().unwrap()) {
        let raw_ids: Vec<&str> = raw["incident_updates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_str().unwrap())
            .collect();
        let ids: Vec<&str> = incident
            .incident_updates
            .iter()
            .map(|u| u.id.as_str())
            .collect();
        assert_eq!(ids, raw_ids, "{}", incident.id);
        assert!(!ids.is_empty());
        let times: Vec<_> = incident
            .incident_updates
            .iter()
            .map(|u| u.posted_at().unwrap())
            .collect();
        assert!(times.windows(2).all(|w| w[0] >= w[1]), "{}", incident.id);
        assert_eq!(
            incident.latest_update().unwrap().status,
            IncidentStatus::Resolved,
            "{}",
            incident.id
        );
    }

    // affected_components is null on some updates and a list on others: both read.
    let updates = || incidents.iter().flat_map(|i| &i.incident_updates);
    assert_eq!(updates().count(), 287);
    assert_eq!(
        updates()
            .filter(|u| u.affected_components.is_empty())
            .count(),
        95
    );
    assert!(updates()
        .flat_map(|u| &u.affected_components)
        .all(|a| !a.code.is_empty() && !a.old_status.is_unknown() && !a.new_status.is_unknown()));
    // A real page uses no value this version does not know.
    assert!(incidents.iter().all(|i| !i.status.is_unknown()
        && !i.impact.is_unknown()
        && i.incident_updates.iter().all(|u| !u.status.is_unknown())));

    let newest = &incidents[0];
    assert_eq!(newest.id, "9tpgqq1h4bs7");
    assert_eq!(newest.created_at, Some(time("2026-07-30T09:07:42.419Z")));
    assert!(newest
        .shortlink
        .as_deref()
        .unwrap()
        .starts_with("https://stspg.io/"));
}

fn check_tree(name: &str, groups: usize, leaves_in_groups: usize, top_level_leaves: usize) {
    let document = parse_fixture(name);
    let components = document.components.unwrap();
    let tree = component_tree(&components);

    let group_nodes: Vec<_> = tree.iter().filter(|n| n.component.group).collect();
    assert_eq!(group_nodes.len(), groups, "{name}: groups");
    assert_eq!(
        tree.len() - groups,
        top_level_leaves,
        "{name}: top-level leaves"
    );
    let children: usize = tree.iter().map(|n| n.children.len()).sum();
    assert_eq!(children, leaves_in_groups, "{name}: leaves in groups");
    assert_eq!(
        tree.len() + children,
        components.len(),
        "{name}: nothing lost"
    );

    // Each group holds exactly the children its own `components` list names.
    let raw = raw_fixture(name);
    let named: BTreeMap<&str, BTreeSet<&str>> = raw["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["group"] == json!(true))
        .map(|c| {
            let members = c["components"].as_array().unwrap();
            (
                c["id"].as_str().unwrap(),
                members.iter().map(|m| m.as_str().unwrap()).collect(),
            )
        })
        .collect();
    assert_eq!(named.len(), groups, "{name}");

    let by_position = |a: &Component, b: &Component| {
        (a.position.unwrap(), &a.name) <= (b.position.unwrap(), &b.name)
    };
    for pair in tree.windows(2) {
        assert!(
            by_position(pair[0].component, pair[1].component),
            "{name}: top order"
        );
    }
    for node in &tree {
        if !node.component.group {
            assert!(
                node.children.is_empty(),
                "{name}: leaf {} has children",
                node.component.id
            );
            continue;
        }
        for child in &node.children {
            assert_eq!(child.group_id.as_deref(), Some(node.component.id.as_str()));
            assert!(!child.group, "{name}: nested group");
        }
        let ids: BTreeSet<&str> = node.children.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            &ids,
            &named[node.component.id.as_str()],
            "{name}: {}",
            node.component.name
        );
        for pair in node.children.windows(2) {
            assert!(
                by_position(pair[0], pair[1]),
                "{name}: order in {}",
                node.component.name
            );
        }
    }
}

#[test]
fn component_trees_rebuild_from_group_ids() {
    // api-facts A2 counts Duo's 539 rows, groups included: 69 groups holding 470 leaves.
    check_tree("duo-components-2021.json", 69, 470, 0);
    check_tree("coinbase-components-2021.json", 3, 129, 7);
    check_tree("digitalocean-components-2021.json", 2, 35, 0);
    check_tree("twilio-components-2021.json", 10, 66, 9);
    check_tree("github-components-2021.json", 0, 0, 10);
    check_tree("github-summary-2026-07.json", 0, 0, 12);
}

#[test]
fn component_tree_shows_orphans_and_sorts_by_position() {
    let row =
        |id: &str, name: &str, group_id: Option<&str>, group: bool, position: i64| Component {
            id: id.into(),
            name: name.into(),
            group_id: group_id.map(Into::into),
            group,
            position: Some(position),
            ..Component::default()
        };
    let components = [
        row("c2", "Second child", Some("g"), false, 2),
        row("orphan", "Orphan", Some("missing"), false, 1),
        row("g", "Group", None, true, 2),
        row("c1", "First child", Some("g"), false, 1),
        row("self", "Own group", Some("self"), false, 3),
    ];
    let rendered: Vec<String> = component_tree(&components)
        .iter()
        .map(|node| {
            let children: Vec<&str> = node.children.iter().map(|c| c.id.as_str()).collect();
            format!("{} [{}]", node.component.id, children.join(" "))
        })
        .collect();
    assert_eq!(rendered, ["orphan []", "g [c1 c2]", "self []"]);
}

#[test]
fn all_five_component_states_occur_in_the_fixtures() {
    let mut seen: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut note = |status: &ComponentStatus, name: &str| {
        seen.entry(status.to_string())
            .or_default()
            .insert(name.to_owned());
    };
    for entry in std::fs::read_dir(FIXTURES).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if !name.ends_with(".json") {
            continue;
        }
        let document = parse_fixture(&name);
        for component in document.components.iter().flatten() {
            note(&component.status, &name);
        }
        for incident in document.incidents.iter().flatten() {
            for component in &incident.components {
                note(&component.status, &name);
            }
            for affected in incident
                .incident_updates
                .iter()
                .flat_map(|u| &u.affected_components)
            {
                note(&affected.old_status, &name);
                note(&affected.new_status, &name);
            }
        }
    }
    let states: Vec<&str> = seen.keys().map(String::as_str).collect();
    assert_eq!(
        states,
        [
            "degraded_performance",
            "major_outage",
            "operational",
            "partial_outage",
            "under_maintenance"
        ]
    );
    // As component rows, major_outage occurs in no fixture here (Qualys is not among them); it
    // occurs in GitHub's incident history as an affected component's state.
    assert_eq!(
        seen["major_outage"],
        BTreeSet::from(["github-incidents-2026-07.json".to_owned()])
    );

    let coinbase = parse_fixture("coinbase-components-2021.json")
        .components
        .unwrap();
    let count = |status: ComponentStatus| coinbase.iter().filter(|c| c.status == status).count();
    assert_eq!(count(ComponentStatus::UnderMaintenance), 1);
    assert_eq!(count(ComponentStatus::PartialOutage), 3);
    assert_eq!(count(ComponentStatus::MajorOutage), 0);
    let twilio = parse_fixture("twilio-components-2021.json")
        .components
        .unwrap();
    assert_eq!(
        twilio
            .iter()
            .filter(|c| c.status == ComponentStatus::DegradedPerformance)
            .count(),
        2
    );
}

#[test]
fn trimmed_anthropic_incidents_have_stable_distinct_keys() {
    let bytes = fixture("anthropic-incidents-TRIMMED-PARTLY-SYNTHETIC.json");
    let incidents = parse_incidents(&bytes).unwrap();
    let again = parse_incidents(&bytes).unwrap();
    assert_eq!(incidents, again);

    let keys: Vec<String> = incidents.iter().map(Incident::key).collect();
    assert_eq!(keys, ["6ptd5skgmy3v", "maint01", "weird01"]);

    // Updates carry no id here, so their keys are synthetic: the same on every parse, and
    // different for every update in the file.
    let update_keys: Vec<String> = incidents
        .iter()
        .flat_map(|i| &i.incident_updates)
        .map(IncidentUpdate::key)
        .collect();
    let again_keys: Vec<String> = again
        .iter()
        .flat_map(|i| &i.incident_updates)
        .map(IncidentUpdate::key)
        .collect();
    assert_eq!(update_keys, again_keys);
    assert_eq!(update_keys.len(), 5);
    assert_eq!(update_keys.iter().collect::<BTreeSet<_>>().len(), 5);
    assert!(incidents
        .iter()
        .flat_map(|i| &i.incident_updates)
        .all(|u| u.id.is_empty() && u.created_at.is_none() && u.posted_at().is_some()));

    let opus = &incidents[0];
    assert_eq!(opus.name, "Elevated errors on Claude Opus 4.8");
    assert_eq!(opus.impact, Impact::Minor);
    assert_eq!(opus.status, IncidentStatus::Resolved);
    assert_eq!(opus.monitoring_at, None);
    assert_eq!(opus.resolved_at, Some(time("2026-06-06T19:05:27.178Z")));
    assert_eq!(
        opus.components,
        [
            IncidentComponent {
                id: String::new(),
                name: "claude.ai".into(),
                status: ComponentStatus::Operational,
            },
            IncidentComponent {
                id: String::new(),
                name: "Claude API (api.anthropic.com)".into(),
                status: ComponentStatus::Operational,
            },
        ]
    );
    assert_eq!(
        opus.latest_update().unwrap().affected_components[1],
        AffectedComponent {
            code: "k8w3r06qmzrp".into(),
            name: "Claude API (api.anthropic.com)".into(),
            old_status: ComponentStatus::DegradedPerformance,
            new_status: ComponentStatus::Operational,
        }
    );
    assert!(opus.touches_component("k8w3r06qmzrp", ""));
    assert!(opus.touches_component("", "Claude API (api.anthropic.com)"));
    assert!(!opus.touches_component("0qbwn08sd68x", "Claude Console"));

    // The synthetic ones carry values the model does not know; they are kept, not dropped.
    assert_eq!(
        incidents[1].status,
        IncidentStatus::Unknown("in_progress".into())
    );
    assert_eq!(incidents[1].impact, Impact::Maintenance);
    assert!(incidents[1].incident_updates[0]
        .affected_components
        .is_empty());
    assert_eq!(incidents[2].impact, Impact::Unknown("catastrophic".into()));
    assert_eq!(
        incidents[2].incident_updates[0].status,
        IncidentStatus::Unknown("surprise".into())
    );
}

#[test]
fn synthetic_keys_fall_back_in_order() {
    let base = Incident {
        name: "Elevated errors".into(),
        created_at: Some(time("2026-06-06T18:37:44.139Z")),
        ..Incident::default()
    };
    let with_link = Incident {
        shortlink: Some("https://stspg.io/abc".into()),
        ..base.clone()
    };
    let with_id = Incident {
        id: "xyz".into(),
        ..with_link.clone()
    };
    assert_eq!(with_id.key(), "xyz");
    assert_eq!(with_link.key(), "https://stspg.io/abc");
    assert_eq!(base.key(), base.clone().key());
    let renamed = Incident {
        name: "Elevated errors on Opus".into(),
        ..base.clone()
    };
    let later = Incident {
        created_at: Some(time("2026-06-06T18:37:45.139Z")),
        ..base.clone()
    };
    let keys = BTreeSet::from([base.key(), renamed.key(), later.key()]);
    assert_eq!(keys.len(), 3);

    let update = IncidentUpdate {
        status: IncidentStatus::Investigating,
        body: "Looking into it.".into(),
        display_at: Some(time("2026-06-06T18:37:44.395Z")),
        ..IncidentUpdate::default()
    };
    let other_body = IncidentUpdate {
        body: "Looking into it!".into(),
        ..update.clone()
    };
    let other_status = IncidentUpdate {
        status: IncidentStatus::Identified,
        ..update.clone()
    };
    let keys = BTreeSet::from([update.key(), other_body.key(), other_status.key()]);
    assert_eq!(keys.len(), 3);
    assert_eq!(update.key(), update.clone().key());
}

// ------------------------------------------------------------------------------------------------
// Bodies that are not a status page

/// The body fails with a message containing `expected` (and never panics).
fn check_error(body: &[u8], expected: &str) {
    let error = parse_document(body).expect_err("must not parse");
    let message = error.to_string();
    assert!(
        message.contains(expected),
        "body {:?}: message {message:?} lacks {expected:?}",
        String::from_utf8_lossy(&body[..body.len().min(60)])
    );
    // The typed parsers fail the same way.
    assert_eq!(parse_summary(body).unwrap_err(), error);
    assert_eq!(parse_incidents(body).unwrap_err(), error);
    assert_eq!(parse_incident(body).unwrap_err(), error);
}

#[test]
fn bad_bodies_are_errors_that_say_why() {
    check_error(b"", "empty body");
    check_error(b"  \r\n\t ", "empty body");
    check_error(b"\xEF\xBB\xBF", "empty body");
    check_error(b"\xEF\xBB\xBF \n", "empty body");
    check_error(b"{", "truncated");
    check_error(br#"{"page":{"id":"tymt9n04zgry","name":"Cla"#, "truncated");
    check_error(
        br#"{"status":{"indicator":"none"},"components":["#,
        "truncated",
    );
    check_error(
        b"<!DOCTYPE html><html><body>Just a moment...</body></html>",
        "not valid JSON",
    );
    check_error(
        b"<html>\n<head><title>405 Not Allowed</title></head>",
        "not valid JSON",
    );
    check_error(b"status: all systems operational\n", "not valid JSON");
    check_error(b"{} {}", "not valid JSON");
    check_error(b"{\"page\":\"\xFF\xFE\"}", "not valid JSON");
    check_error(b"{'page': 1}", "not valid JSON");
    check_error(b"[]", "expected a JSON object, got an array");
    check_error(br#"[{"status":{"indicator":"none"}}]"#, "got an array");
    check_error(br#""All Systems Operational""#, "got a string");
    check_error(b"null", "got null");
    check_error(b"true", "got a boolean");
    check_error(b"0", "got a number");
    check_error(b"-1.5e300", "got a number");
    check_error(b"123456789012345678901234567890", "got a number");
    check_error(b"1e999", "not valid JSON");
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let depth = 10_000;
    let arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    check_error(arrays.as_bytes(), "recursion limit");
    let objects = format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));
    check_error(objects.as_bytes(), "recursion limit");
    let inside = format!(
        r#"{{"status":{{"indicator":"none"}},"components":{}{}}}"#,
        "[".repeat(depth),
        "]".repeat(depth)
    );
    check_error(inside.as_bytes(), "recursion limit");
    // Unclosed, it is still refused rather than overflowing.
    check_error("[".repeat(depth).as_bytes(), "recursion limit");
}

#[test]
fn bom_and_whitespace_around_a_document_are_ignored() {
    let body = b"\xEF\xBB\xBF\r\n  {\"status\":{\"indicator\":\"minor\",\"description\":\"Minor Service Outage\"}}\n\n";
    let page = parse_summary(body).unwrap();
    assert_eq!(page.status.indicator, Indicator::Minor);
    assert_eq!(page.status.description, "Minor Service Outage");
}

#[test]
fn typed_parsers_want_their_own_keys() {
    let check = |result: claude_status_core::Result<()>, expected: &str| {
        let message = result.unwrap_err().to_string();
        assert!(message.contains(expected), "{message:?} lacks {expected:?}");
    };
    let page_only = br#"{"page":{"id":"tymt9n04zgry","name":"Claude"}}"#;
    check(
        parse_summary(page_only).map(drop),
        "not a status-page summary",
    );
    check(
        parse_summary(b"{}").map(drop),
        "neither \"status\" nor \"components\"",
    );
    check(
        parse_summary(&fixture("github-incidents-2026-07.json")).map(drop),
        "not a status-page summary",
    );
    check(
        parse_incidents(&fixture("github-summary-2026-07.json"))
            .map(drop)
            .and(parse_incidents(br#"{"incidents":"none"}"#).map(drop)),
        "no \"incidents\" list",
    );
    check(parse_incident(b"{}").map(drop), "no \"incident\" object");
    check(
        parse_incident(br#"{"incident":"gone"}"#).map(drop),
        "no \"incident\" object",
    );

    // A components-only document is still a summary, with the parts it lacks left empty.
    let page = parse_summary(&fixture("github-components-2021.json")).unwrap();
    assert_eq!(page.components.len(), 10);
    assert_eq!(page.status, PageStatus::default());
    let incident = parse_incident(
        br#"{"incident":{"id":"abc","status":"resolved","incident_updates":[
            {"id":"u1","status":"investigating","display_at":"2026-06-06T18:00:00Z"},
            {"id":"u2","status":"resolved","display_at":"2026-06-06T19:00:00Z"}]}}"#,
    )
    .unwrap();
    let ids: Vec<&str> = incident
        .incident_updates
        .iter()
        .map(|u| u.id.as_str())
        .collect();
    assert_eq!(ids, ["u2", "u1"], "sorted newest first");
}

// ------------------------------------------------------------------------------------------------
// Wrong types inside an object: defaults, never a failure

/// `{"components":[row]}` reads as exactly `expected`.
fn check_component(row: &str, expected: Component) {
    let body = format!(r#"{{"components":[{row}]}}"#);
    let document = parse_document(body.as_bytes()).unwrap_or_else(|e| panic!("{row}: {e}"));
    assert_eq!(document.components, Some(vec![expected]), "{row}");
}

#[test]
fn component_fields_of_the_wrong_type_take_defaults() {
    check_component(
        r#"{"id":"k8w3r06qmzrp","name":"Claude API (api.anthropic.com)","status":"operational","position":3,"group":false,"group_id":null,"description":null,"only_show_if_degraded":false,"updated_at":"2026-06-06T19:05:27.178Z"}"#,
        Component {
            id: "k8w3r06qmzrp".into(),
            name: "Claude API (api.anthropic.com)".into(),
            status: ComponentStatus::Operational,
            position: Some(3),
            updated_at: Some(time("2026-06-06T19:05:27.178Z")),
            ..Component::default()
        },
    );
    check_component("{}", Component::default());
    check_component(
        r#"{"id":42,"name":null,"status":3,"position":"3","group":"true","group_id":false,"description":["x"],"only_show_if_degraded":1,"updated_at":1717700000}"#,
        Component {
            id: "42".into(),
            status: ComponentStatus::Unknown("3".into()),
            ..Component::default()
        },
    );
    check_component(
        r#"{"id":{"nested":true},"name":7.5,"status":null,"position":2.5,"group":true,"group_id":12}"#,
        Component {
            name: "7.5".into(),
            status: ComponentStatus::Unknown("null".into()),
            group: true,
            group_id: Some("12".into()),
            ..Component::default()
        },
    );
    check_component(
        r#"{"id":"x","status":"melting","position":-1,"unexpected":{"deep":[1,2,3]}}"#,
        Component {
            id: "x".into(),
            status: ComponentStatus::Unknown("melting".into()),
            position: Some(-1),
            ..Component::default()
        },
    );
    check_component(
        r#"{"id":"x","status":"Operational","position":99999999999999999999}"#,
        Component {
            id: "x".into(),
            status: ComponentStatus::Unknown("Operational".into()),
            ..Component::default()
        },
    );
}

#[test]
fn lists_skip_items_that_are_not_objects() {
    let document = parse_document(
        br#"{"components":[1,"two",null,[],{"id":"a"},true,{"id":"b"}],
             "incidents":[{"id":"i","incident_updates":[null,{"id":"u"},"x"],"components":[3,{"name":"claude.ai"}]}],
             "scheduled_maintenances":[false]}"#,
    )
    .unwrap();
    let ids: Vec<&str> = document
        .components
        .iter()
        .flatten()
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(ids, ["a", "b"]);
    let incident = &document.incidents.as_ref().unwrap()[0];
    assert_eq!(incident.incident_updates.len(), 1);
    assert_eq!(incident.components.len(), 1);
    assert_eq!(document.scheduled_maintenances, Some(vec![]));
}

#[test]
fn document_keys_of_the_wrong_type_are_absent() {
    // Every top-level key has the wrong type. The body is still a JSON object, so it parses; a
    // caller sees an empty document rather than an error about its shape.
    let body = br#"{"page":"Claude","status":[1],"components":{"id":42,"status":true},
        "incidents":"none","scheduled_maintenances":7,"incident":3}"#;
    assert_eq!(parse_document(body).unwrap(), StatusDocument::default());

    // The simulator's "wrong types" body: a summary whose indicator is a number.
    let body = br#"{"page":"Claude","components":{"id":42,"status":true},"incidents":"none","scheduled_maintenances":7,"status":{"indicator":3,"description":["All Systems Operational"]}}"#;
    let page = parse_summary(body).unwrap();
    assert_eq!(page.status.indicator, Indicator::Unknown("3".into()));
    assert_eq!(page.status.description, "");
    assert_eq!(page.page, Page::default());
    assert!(page.components.is_empty());
    let verdict = status_page_verdict(Some(&page), None, &AssessConfig::default());
    assert_eq!(verdict.level, Level::Unknown);

    for body in [
        r#"{"page":[]}"#,
        r#"{"page":["id","name","url"]}"#,
        r#"{"status":"none"}"#,
        r#"{"status":["none","All Systems Operational"]}"#,
        r#"{"incident":[]}"#,
        r#"{"incident":["abc"]}"#,
        r#"{"page":null,"status":null,"components":null,"incidents":null,"scheduled_maintenances":null,"incident":null}"#,
    ] {
        assert_eq!(
            parse_document(body.as_bytes()).unwrap(),
            StatusDocument::default(),
            "{body}"
        );
    }
}

#[test]
fn incident_fields_of_the_wrong_type_take_defaults() {
    let document = parse_document(
        br#"{"incidents":[{"id":1234,"name":["x"],"status":false,"impact":{"level":"major"},
            "shortlink":42,"created_at":"soon","updated_at":null,"started_at":12,"resolved_at":"2026-02-30T00:00:00Z",
            "incident_updates":{"id":"u"},"components":"claude.ai"}],
            "scheduled_maintenances":[{"id":"m","status":"in_progress","scheduled_for":"2026-06-04T02:00:00Z",
            "scheduled_until":"tomorrow","impact":"maintenance","incident_updates":null}]}"#,
    )
    .unwrap();
    assert_eq!(
        document.incidents.unwrap(),
        [Incident {
            id: "1234".into(),
            status: IncidentStatus::Unknown("false".into()),
            impact: Impact::Unknown(r#"{"level":"major"}"#.into()),
            shortlink: Some("42".into()),
            ..Incident::default()
        }]
    );
    assert_eq!(
        document.scheduled_maintenances.unwrap(),
        [Maintenance {
            id: "m".into(),
            status: MaintenanceStatus::InProgress,
            impact: Impact::Maintenance,
            scheduled_for: Some(time("2026-06-04T02:00:00Z")),
            ..Maintenance::default()
        }]
    );
}

/// An unknown indicator stays unknown, and the verdict on it is `unknown`, never operational.
fn check_indicator(raw: Value, expected: Indicator, level: Level) {
    let body = json!({ "status": { "indicator": raw, "description": "?" }, "components": [] });
    let page = parse_summary(body.to_string().as_bytes()).unwrap();
    assert_eq!(page.status.indicator, expected, "{raw}");
    let verdict = status_page_verdict(Some(&page), None, &AssessConfig::default());
    assert_eq!(verdict.level, level, "{raw}: {:?}", verdict.reasons);
}

#[test]
fn indicators_known_and_unknown() {
    check_indicator(json!("none"), Indicator::None, Level::Operational);
    check_indicator(json!("minor"), Indicator::Minor, Level::Degraded);
    check_indicator(json!("major"), Indicator::Major, Level::Outage);
    check_indicator(json!("critical"), Indicator::Critical, Level::Outage);
    check_indicator(
        json!("maintenance"),
        Indicator::Maintenance,
        Level::Maintenance,
    );
    check_indicator(
        json!("catastrophic"),
        Indicator::Unknown("catastrophic".into()),
        Level::Unknown,
    );
    check_indicator(
        json!("NONE"),
        Indicator::Unknown("NONE".into()),
        Level::Unknown,
    );
    check_indicator(
        json!(" none"),
        Indicator::Unknown(" none".into()),
        Level::Unknown,
    );
    check_indicator(json!(""), Indicator::Unknown(String::new()), Level::Unknown);
    check_indicator(json!(0), Indicator::Unknown("0".into()), Level::Unknown);
    check_indicator(
        json!(true),
        Indicator::Unknown("true".into()),
        Level::Unknown,
    );
    check_indicator(
        json!(["none"]),
        Indicator::Unknown(r#"["none"]"#.into()),
        Level::Unknown,
    );
}

/// A timestamp field holding `raw` reads as `expected` (RFC 3339, in UTC).
fn check_time(raw: Value, expected: Option<&str>) {
    let body = json!({ "page": { "updated_at": raw } });
    let document = parse_document(body.to_string().as_bytes()).unwrap();
    let parsed = document.page.unwrap().updated_at;
    assert_eq!(parsed, expected.map(time), "{raw}");
    if let Value::String(text) = &raw {
        assert_eq!(parse_time(text), parsed, "{raw}");
    }
}

#[test]
fn timestamps_parse_or_become_none() {
    check_time(
        json!("2026-06-06T18:37:44.139Z"),
        Some("2026-06-06T18:37:44.139Z"),
    );
    check_time(json!("2026-06-06T18:37:44Z"), Some("2026-06-06T18:37:44Z"));
    check_time(
        json!("2021-04-01T18:47:06.983-04:00"),
        Some("2021-04-01T22:47:06.983Z"),
    );
    check_time(
        json!("2026-07-31T03:29:01.470+00:00"),
        Some("2026-07-31T03:29:01.470Z"),
    );
    check_time(json!("2025-02-06"), Some("2025-02-06T00:00:00Z"));
    check_time(json!("2026-06-06T18:37:44.139"), None);
    check_time(json!("2026-13-45T99:00:00Z"), None);
    check_time(json!("2026-02-30"), None);
    check_time(json!("yesterday"), None);
    check_time(json!(""), None);
    check_time(json!("Sat, 06 Jun 2026 18:37:44 GMT"), None);
    check_time(json!(1_780_771_064), None);
    check_time(json!(null), None);
    check_time(json!(false), None);
    check_time(json!({"at": "2026-06-06T18:37:44Z"}), None);
}

// ------------------------------------------------------------------------------------------------
// Properties

/// Any parse attempt returns, and an error always says something.
fn parse_all(bytes: &[u8]) {
    for message in [
        parse_document(bytes).err(),
        parse_summary(bytes).err(),
        parse_incidents(bytes).err(),
        parse_incident(bytes).err(),
    ]
    .into_iter()
    .flatten()
    .map(|e| e.to_string())
    {
        assert!(!message.trim().is_empty());
    }
}

const FIELD_NAMES: &[&str] = &[
    "page",
    "status",
    "components",
    "incidents",
    "scheduled_maintenances",
    "incident",
    "id",
    "name",
    "url",
    "time_zone",
    "updated_at",
    "indicator",
    "description",
    "group_id",
    "group",
    "position",
    "only_show_if_degraded",
    "code",
    "old_status",
    "new_status",
    "body",
    "created_at",
    "display_at",
    "affected_components",
    "impact",
    "shortlink",
    "started_at",
    "monitoring_at",
    "resolved_at",
    "incident_updates",
    "scheduled_for",
    "scheduled_until",
];

const WORDS: &[&str] = &[
    "none",
    "minor",
    "major",
    "critical",
    "maintenance",
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
    "investigating",
    "identified",
    "monitoring",
    "resolved",
    "postmortem",
    "scheduled",
    "in_progress",
    "verifying",
    "completed",
    "2026-06-06T18:37:44.139Z",
    "2025-02-06",
    "",
    "catastrophic",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop::sample::select(WORDS).prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(FIELD_NAMES), inner), 0..6).prop_map(
                |entries| Value::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect()
                )
            ),
        ]
    })
}

fn any_time() -> impl Strategy<Value = DateTime<Utc>> {
    // 1970 to 2100, to the millisecond, as the pages send them.
    (0i64..4_102_444_800_000).prop_map(|ms| Utc.timestamp_millis_opt(ms).unwrap())
}

fn open<T: std::fmt::Debug + 'static>(
    known: &'static [&'static str],
    from_wire: fn(&str) -> T,
) -> impl Strategy<Value = T> {
    prop_oneof![
        3 => prop::sample::select(known).prop_map(from_wire),
        1 => "[a-z_ ]{0,12}".prop_map(move |s| from_wire(&s)),
    ]
}

fn indicator() -> impl Strategy<Value = Indicator> {
    open(
        &["none", "minor", "major", "critical", "maintenance"],
        Indicator::from_wire,
    )
}

fn component_status() -> impl Strategy<Value = ComponentStatus> {
    open(
        &[
            "operational",
            "degraded_performance",
            "partial_outage",
            "major_outage",
            "under_maintenance",
        ],
        ComponentStatus::from_wire,
    )
}

fn incident_status() -> impl Strategy<Value = IncidentStatus> {
    open(
        &[
            "investigating",
            "identified",
            "monitoring",
            "resolved",
            "postmortem",
        ],
        IncidentStatus::from_wire,
    )
}

fn impact() -> impl Strategy<Value = Impact> {
    open(
        &["none", "minor", "major", "critical", "maintenance"],
        Impact::from_wire,
    )
}

fn maintenance_status() -> impl Strategy<Value = MaintenanceStatus> {
    open(
        &["scheduled", "in_progress", "verifying", "completed"],
        MaintenanceStatus::from_wire,
    )
}

fn text() -> impl Strategy<Value = String> {
    "\\PC{0,16}"
}

fn component() -> impl Strategy<Value = Component> {
    (
        (
            "[a-z0-9]{12}",
            text(),
            component_status(),
            prop::option::of(text()),
        ),
        (
            prop::option::of("[a-z0-9]{12}"),
            any::<bool>(),
            prop::option::of(any::<i64>()),
        ),
        (any::<bool>(), prop::option::of(any_time())),
    )
        .prop_map(
            |(
                (id, name, status, description),
                (group_id, group, position),
                (only_show_if_degraded, updated_at),
            )| Component {
                id,
                name,
                status,
                description,
                group_id,
                group,
                position,
                only_show_if_degraded,
                updated_at,
            },
        )
}

fn incident_component() -> impl Strategy<Value = IncidentComponent> {
    ("[a-z0-9]{0,12}", text(), component_status())
        .prop_map(|(id, name, status)| IncidentComponent { id, name, status })
}

fn update() -> impl Strategy<Value = IncidentUpdate> {
    (
        ("[a-z0-9]{0,12}", incident_status(), text()),
        (
            prop::option::of(any_time()),
            prop::option::of(any_time()),
            prop::option::of(any_time()),
        ),
        prop::collection::vec(
            (
                "[a-z0-9]{12}",
                text(),
                component_status(),
                component_status(),
            ),
            0..3,
        ),
    )
        .prop_map(
            |((id, status, body), (created_at, display_at, updated_at), affected)| IncidentUpdate {
                id,
                status,
                body,
                created_at,
                display_at,
                updated_at,
                affected_components: affected
                    .into_iter()
                    .map(|(code, name, old_status, new_status)| AffectedComponent {
                        code,
                        name,
                        old_status,
                        new_status,
                    })
                    .collect(),
            },
        )
}

/// Updates as the page sends them: newest first (a stable sort, as the parser does).
fn newest_first(mut updates: Vec<IncidentUpdate>) -> Vec<IncidentUpdate> {
    updates.sort_by_key(|u| std::cmp::Reverse(u.posted_at()));
    updates
}

fn incident() -> impl Strategy<Value = Incident> {
    (
        (
            "[a-z0-9]{0,12}",
            text(),
            incident_status(),
            impact(),
            prop::option::of(text()),
        ),
        prop::array::uniform5(prop::option::of(any_time())),
        prop::collection::vec(update(), 0..4),
        prop::collection::vec(incident_component(), 0..3),
    )
        .prop_map(
            |((id, name, status, impact, shortlink), times, updates, components)| Incident {
                id,
                name,
                status,
                impact,
                shortlink,
                created_at: times[0],
                updated_at: times[1],
                started_at: times[2],
                monitoring_at: times[3],
                resolved_at: times[4],
                incident_updates: newest_first(updates),
                components,
            },
        )
}

fn maintenance() -> impl Strategy<Value = Maintenance> {
    (
        (
            "[a-z0-9]{0,12}",
            text(),
            maintenance_status(),
            impact(),
            prop::option::of(text()),
        ),
        prop::array::uniform4(prop::option::of(any_time())),
        prop::collection::vec(update(), 0..3),
        prop::collection::vec(incident_component(), 0..3),
    )
        .prop_map(
            |((id, name, status, impact, shortlink), times, updates, components)| Maintenance {
                id,
                name,
                status,
                impact,
                shortlink,
                scheduled_for: times[0],
                scheduled_until: times[1],
                created_at: times[2],
                updated_at: times[3],
                incident_updates: newest_first(updates),
                components,
            },
        )
}

fn summary() -> impl Strategy<Value = StatusPage> {
    (
        (
            "[a-z0-9]{12}",
            text(),
            text(),
            prop::option::of("[A-Za-z/_]{1,20}"),
            prop::option::of(any_time()),
        ),
        (indicator(), text()),
        prop::collection::vec(component(), 0..8),
        prop::collection::vec(incident(), 0..4),
        prop::collection::vec(maintenance(), 0..3),
    )
        .prop_map(
            |(
                (id, name, url, time_zone, updated_at),
                (indicator, description),
                components,
                incidents,
                maintenances,
            )| {
                StatusPage {
                    page: Page {
                        id,
                        name,
                        url,
                        time_zone,
                        updated_at,
                    },
                    status: PageStatus {
                        indicator,
                        description,
                    },
                    components,
                    incidents,
                    maintenances,
                }
            },
        )
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        parse_all(&bytes);
    }

    #[test]
    fn json_like_text_never_panics(text in r#"[ \[\]{}",:0-9a-z_.eE+\-\\]{0,200}"#) {
        parse_all(text.as_bytes());
        parse_all(format!(r#"{{"components":[{text}"#).as_bytes());
        parse_all(format!(r#"{{"status":{{"indicator":{text}}}}}"#).as_bytes());
    }

    #[test]
    fn arbitrary_json_never_panics(value in json_value()) {
        let body = serde_json::to_vec(&value).unwrap();
        parse_all(&body);
        // Any JSON object is a document, whatever its keys hold.
        prop_assert_eq!(parse_document(&body).is_ok(), value.is_object());
        for key in ["page", "status", "components", "incidents", "scheduled_maintenances", "incident"] {
            let wrapped = serde_json::to_vec(&json!({ key: value.clone() })).unwrap();
            prop_assert!(parse_document(&wrapped).is_ok(), "{}", key);
            let list = serde_json::to_vec(&json!({ key: [value.clone(), value.clone()] })).unwrap();
            prop_assert!(parse_document(&list).is_ok(), "{} list", key);
        }
    }

    #[test]
    fn generated_summary_round_trips(page in summary()) {
        let document = StatusDocument {
            page: Some(page.page.clone()),
            status: Some(page.status.clone()),
            components: Some(page.components.clone()),
            incidents: Some(page.incidents.clone()),
            scheduled_maintenances: Some(page.maintenances.clone()),
            incident: page.incidents.first().cloned(),
        };
        let body = serde_json::to_vec(&document).unwrap();
        prop_assert_eq!(&parse_document(&body).unwrap(), &document);
        prop_assert_eq!(&parse_summary(&body).unwrap(), &page);
        let pretty = serde_json::to_vec_pretty(&document).unwrap();
        prop_assert_eq!(&parse_summary(&pretty).unwrap(), &page);
    }
}
