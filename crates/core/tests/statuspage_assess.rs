//! The status page's verdict on the followed components, one table row per rule.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use claude_status_core::assess::{
    component_level, indicator_level, status_page_verdict, worse, AssessConfig, FetchFailure,
    FetchFailureKind,
};
use claude_status_core::statuspage::{
    parse_incidents, Component, ComponentStatus, Impact, Incident, IncidentComponent,
    IncidentStatus, Indicator, PageStatus, StatusPage, CLAUDE_API_COMPONENT_ID,
};
use claude_status_core::Level;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/statuspage/"
);

const API: &str = CLAUDE_API_COMPONENT_ID;
const API_NAME: &str = "Claude API (api.anthropic.com)";
const CLAUDE_AI: &str = "rwppv331jlwc";

/// The Claude page (api-facts A4) with the API in `api_status` and everything else operational.
fn claude_page(api_status: &str) -> StatusPage {
    let component = |id: &str, name: &str, status: &str, position: i64| Component {
        id: id.into(),
        name: name.into(),
        status: ComponentStatus::from_wire(status),
        position: Some(position),
        ..Component::default()
    };
    StatusPage {
        status: PageStatus {
            indicator: Indicator::None,
            description: "All Systems Operational".into(),
        },
        components: vec![
            component(CLAUDE_AI, "claude.ai", "operational", 1),
            component(
                "0qbwn08sd68x",
                "Claude Console (platform.claude.com)",
                "operational",
                2,
            ),
            component(API, API_NAME, api_status, 3),
            component("yyzkbfz2thpt", "Claude Code", "operational", 4),
        ],
        ..StatusPage::default()
    }
}

/// An unresolved incident listing the components `(id, name)`.
fn incident(name: &str, impact: &str, status: &str, components: &[(&str, &str)]) -> Incident {
    Incident {
        id: name.to_lowercase().replace(' ', "-"),
        name: name.into(),
        status: IncidentStatus::from_wire(status),
        impact: Impact::from_wire(impact),
        components: components
            .iter()
            .map(|(id, name)| IncidentComponent {
                id: (*id).into(),
                name: (*name).into(),
                status: ComponentStatus::Operational,
            })
            .collect(),
        ..Incident::default()
    }
}

fn with_incidents(mut page: StatusPage, incidents: Vec<Incident>) -> StatusPage {
    page.incidents = incidents;
    page
}

fn check_with(
    page: Option<&StatusPage>,
    failure: Option<&FetchFailure>,
    config: &AssessConfig,
    level: Level,
    reasons: &[&str],
) {
    let verdict = status_page_verdict(page, failure, config);
    assert_eq!(
        (
            verdict.level,
            verdict
                .reasons
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
        ),
        (level, reasons.to_vec())
    );
}

fn check(page: &StatusPage, level: Level, reasons: &[&str]) {
    check_with(Some(page), None, &AssessConfig::default(), level, reasons);
}

#[test]
fn the_followed_component_decides() {
    check(
        &claude_page("operational"),
        Level::Operational,
        &["status page: Claude API (api.anthropic.com) operational"],
    );
    check(
        &claude_page("degraded_performance"),
        Level::Degraded,
        &["status page: Claude API (api.anthropic.com) degraded performance"],
    );
    check(
        &claude_page("partial_outage"),
        Level::Outage,
        &["status page: Claude API (api.anthropic.com) partial outage"],
    );
    check(
        &claude_page("major_outage"),
        Level::Outage,
        &["status page: Claude API (api.anthropic.com) major outage"],
    );
    check(
        &claude_page("under_maintenance"),
        Level::Maintenance,
        &["status page: Claude API (api.anthropic.com) under maintenance"],
    );
    check(
        &claude_page("melting"),
        Level::Unknown,
        &["status page: Claude API (api.anthropic.com) unknown state \"melting\""],
    );
    check(
        &claude_page(""),
        Level::Unknown,
        &["status page: Claude API (api.anthropic.com) unknown"],
    );
}

#[test]
fn the_indicator_does_not_override_the_component() {
    // The rollup blends every component; only ours matters when it is on the page.
    let mut page = claude_page("operational");
    page.status.indicator = Indicator::Critical;
    page.components[0].status = ComponentStatus::MajorOutage;
    check(
        &page,
        Level::Operational,
        &["status page: Claude API (api.anthropic.com) operational"],
    );
    page.status.indicator = Indicator::Unknown("catastrophic".into());
    check(
        &page,
        Level::Operational,
        &["status page: Claude API (api.anthropic.com) operational"],
    );
}

#[test]
fn unresolved_incidents_that_list_the_api_raise_the_level() {
    let api = [(API, API_NAME)];
    let everything = [(CLAUDE_AI, "claude.ai"), (API, API_NAME)];
    check(
        &with_incidents(
            claude_page("operational"),
            vec![incident("Elevated errors", "minor", "investigating", &api)],
        ),
        Level::Degraded,
        &["official incident (minor, investigating): Elevated errors"],
    );
    check(
        &with_incidents(
            claude_page("operational"),
            vec![incident(
                "Elevated errors",
                "major",
                "identified",
                &everything,
            )],
        ),
        Level::Outage,
        &["official incident (major, identified): Elevated errors"],
    );
    check(
        &with_incidents(
            claude_page("operational"),
            vec![incident("API down", "critical", "investigating", &api)],
        ),
        Level::Outage,
        &["official incident (critical, investigating): API down"],
    );
    check(
        &with_incidents(
            claude_page("operational"),
            vec![incident("Minor hiccup", "none", "monitoring", &api)],
        ),
        Level::Degraded,
        &[
            "official incident (none, monitoring): Minor hiccup",
            // Issue 11: a fix being monitored while the API is operational is a recovery.
            "recovering: the status page is monitoring a fix",
        ],
    );
    // Issue 11: "monitoring" with a major impact is a recovery too: degraded, never an outage.
    check(
        &with_incidents(
            claude_page("operational"),
            vec![incident("Elevated errors", "major", "monitoring", &api)],
        ),
        Level::Degraded,
        &[
            "official incident (major, monitoring): Elevated errors",
            "recovering: the status page is monitoring a fix",
        ],
    );
    check(
        &with_incidents(
            claude_page("operational"),
            vec![incident("Odd", "catastrophic", "surprise", &api)],
        ),
        Level::Degraded,
        &["official incident (catastrophic, surprise): Odd"],
    );
    // The component and the incident both count; the worse wins, and both are said.
    check(
        &with_incidents(
            claude_page("degraded_performance"),
            vec![incident("Elevated errors", "major", "identified", &api)],
        ),
        Level::Outage,
        &[
            "status page: Claude API (api.anthropic.com) degraded performance",
            "official incident (major, identified): Elevated errors",
        ],
    );
    check(
        &with_incidents(
            claude_page("major_outage"),
            vec![incident("Elevated errors", "minor", "identified", &api)],
        ),
        Level::Outage,
        &[
            "status page: Claude API (api.anthropic.com) major outage",
            "official incident (minor, identified): Elevated errors",
        ],
    );
    check(
        &with_incidents(
            claude_page("melting"),
            vec![incident("Elevated errors", "minor", "identified", &api)],
        ),
        Level::Degraded,
        &[
            "status page: Claude API (api.anthropic.com) unknown state \"melting\"",
            "official incident (minor, identified): Elevated errors",
        ],
    );
    // A trimmed copy lists components by name only.
    check(
        &with_incidents(
            claude_page("operational"),
            vec![incident(
                "By name",
                "minor",
                "investigating",
                &[("", API_NAME)],
            )],
        ),
        Level::Degraded,
        &["official incident (minor, investigating): By name"],
    );
}

#[test]
fn incidents_elsewhere_or_over_do_not_touch_the_api() {
    check(
        &with_incidents(
            claude_page("operational"),
            vec![
                incident(
                    "claude.ai down",
                    "critical",
                    "investigating",
                    &[(CLAUDE_AI, "claude.ai")],
                ),
                incident(
                    "Console slow",
                    "minor",
                    "identified",
                    &[("0qbwn08sd68x", "Claude Console (platform.claude.com)")],
                ),
            ],
        ),
        Level::Operational,
        &["status page: Claude API (api.anthropic.com) operational"],
    );
    // A cached summary may still list a resolved incident.
    check(
        &with_incidents(
            claude_page("operational"),
            vec![
                incident("Was bad", "critical", "resolved", &[(API, API_NAME)]),
                incident("Written up", "major", "postmortem", &[(API, API_NAME)]),
            ],
        ),
        Level::Operational,
        &["status page: Claude API (api.anthropic.com) operational"],
    );
}

#[test]
fn the_trimmed_anthropic_incident_touches_the_api_through_its_updates() {
    let bytes = std::fs::read(format!(
        "{FIXTURES}anthropic-incidents-TRIMMED-PARTLY-SYNTHETIC.json"
    ))
    .unwrap();
    let incidents = parse_incidents(&bytes).unwrap();
    let mut opus = incidents[0].clone();
    opus.status = IncidentStatus::Identified;
    let mut maintenance = incidents[1].clone();
    maintenance.impact = Impact::Critical;
    // Issue 11: its title names a model, so it is that model's (the per-model verdict folds it
    // in) and the API as a whole stays operational.
    check(
        &with_incidents(
            claude_page("operational"),
            vec![opus.clone(), maintenance.clone()],
        ),
        Level::Operational,
        &["status page: Claude API (api.anthropic.com) operational"],
    );
    // The same incident without a model in its title is the API's, and it reaches the API only
    // through the components its updates list.
    let unnamed = Incident {
        name: "Elevated errors".into(),
        ..opus
    };
    check(
        &with_incidents(claude_page("operational"), vec![unnamed, maintenance]),
        Level::Degraded,
        &["official incident (minor, identified): Elevated errors"],
    );
}

#[test]
fn without_the_followed_component_the_indicator_decides() {
    let mut page = claude_page("operational");
    page.components.retain(|c| c.id != API);
    page.status = PageStatus {
        indicator: Indicator::Minor,
        description: "Partially Degraded Service".into(),
    };
    check(
        &page,
        Level::Degraded,
        &[
            "status page: Partially Degraded Service",
            "followed component k8w3r06qmzrp not on this page; using the overall indicator",
        ],
    );
    page.status = PageStatus {
        indicator: Indicator::Major,
        description: String::new(),
    };
    check(
        &page,
        Level::Outage,
        &[
            "status page: major",
            "followed component k8w3r06qmzrp not on this page; using the overall indicator",
        ],
    );
    page.status.indicator = Indicator::Unknown("catastrophic".into());
    check(
        &page,
        Level::Unknown,
        &[
            "status page indicator \"catastrophic\" is not one we know",
            "followed component k8w3r06qmzrp not on this page; using the overall indicator",
        ],
    );
    page.status = PageStatus::default();
    check(
        &page,
        Level::Unknown,
        &[
            "status page gives no overall indicator",
            "followed component k8w3r06qmzrp not on this page; using the overall indicator",
        ],
    );
    page.status = PageStatus {
        indicator: Indicator::None,
        description: "All Systems Operational".into(),
    };
    check_with(
        Some(&page),
        None,
        &AssessConfig {
            followed_components: vec![],
        },
        Level::Operational,
        &["status page: All Systems Operational"],
    );
    check_with(
        Some(&page),
        None,
        &AssessConfig {
            followed_components: vec!["nope".into(), "gone".into()],
        },
        Level::Operational,
        &[
            "status page: All Systems Operational",
            "followed component nope, gone not on this page; using the overall indicator",
        ],
    );
}

#[test]
fn several_followed_components_take_the_worst() {
    let config = AssessConfig {
        followed_components: vec![API.into(), "yyzkbfz2thpt".into(), "missing".into()],
    };
    let mut page = claude_page("degraded_performance");
    page.components[3].status = ComponentStatus::PartialOutage;
    check_with(
        Some(&page),
        None,
        &config,
        Level::Outage,
        &[
            "status page: Claude API (api.anthropic.com) degraded performance",
            "status page: Claude Code partial outage",
        ],
    );
    check_with(
        Some(&claude_page("operational")),
        None,
        &config,
        Level::Operational,
        &["status page: Claude API (api.anthropic.com), Claude Code operational"],
    );
    // An unknown state never passes for operational, and never hides real trouble.
    let mut page = claude_page("melting");
    check_with(
        Some(&page),
        None,
        &config,
        Level::Unknown,
        &["status page: Claude API (api.anthropic.com) unknown state \"melting\""],
    );
    page.components[3].status = ComponentStatus::UnderMaintenance;
    check_with(
        Some(&page),
        None,
        &config,
        Level::Maintenance,
        &[
            "status page: Claude API (api.anthropic.com) unknown state \"melting\"",
            "status page: Claude Code under maintenance",
        ],
    );
}

#[test]
fn no_page_or_a_failed_fetch_is_unknown() {
    let config = AssessConfig::default();
    check_with(
        None,
        None,
        &config,
        Level::Unknown,
        &["status page not fetched yet"],
    );
    let failure = FetchFailure {
        kind: FetchFailureKind::NotJson {
            content_type: Some("text/html".into()),
        },
        detail: "HTTP 200 with text/html from status.claude.com (a bot challenge?)".into(),
    };
    let expected = [
        "status page unreadable: HTTP 200 with text/html from status.claude.com (a bot challenge?)",
    ];
    check_with(None, Some(&failure), &config, Level::Unknown, &expected);
    // The last good copy does not decide while the latest fetch fails.
    check_with(
        Some(&claude_page("major_outage")),
        Some(&failure),
        &config,
        Level::Unknown,
        &expected,
    );
    let timeout = FetchFailure {
        kind: FetchFailureKind::Timeout,
        detail: "no answer within 10 s".into(),
    };
    check_with(
        Some(&claude_page("operational")),
        Some(&timeout),
        &config,
        Level::Unknown,
        &["status page unreadable: no answer within 10 s"],
    );
}

#[test]
fn level_tables() {
    let components = [
        ("operational", Level::Operational),
        ("degraded_performance", Level::Degraded),
        ("partial_outage", Level::Outage),
        ("major_outage", Level::Outage),
        ("under_maintenance", Level::Maintenance),
        ("melting", Level::Unknown),
        ("", Level::Unknown),
    ];
    for (status, level) in components {
        assert_eq!(
            component_level(&ComponentStatus::from_wire(status)),
            level,
            "{status}"
        );
    }
    let indicators = [
        ("none", Level::Operational),
        ("minor", Level::Degraded),
        ("major", Level::Outage),
        ("critical", Level::Outage),
        ("maintenance", Level::Maintenance),
        ("catastrophic", Level::Unknown),
    ];
    for (indicator, level) in indicators {
        assert_eq!(
            indicator_level(&Indicator::from_wire(indicator)),
            level,
            "{indicator}"
        );
    }
    let pairs = [
        (Level::Operational, Level::Unknown, Level::Unknown),
        (Level::Unknown, Level::Operational, Level::Unknown),
        (Level::Unknown, Level::Degraded, Level::Degraded),
        (Level::Outage, Level::Unknown, Level::Outage),
        (Level::Maintenance, Level::Degraded, Level::Degraded),
        (Level::Operational, Level::Maintenance, Level::Maintenance),
        (Level::Degraded, Level::Outage, Level::Outage),
        (Level::Outage, Level::Degraded, Level::Outage),
    ];
    for (a, b, expected) in pairs {
        assert_eq!(worse(a, b), expected, "worse({a}, {b})");
    }
}
