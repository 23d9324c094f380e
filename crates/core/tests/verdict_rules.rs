//! The combination rules of the one verdict (issue 11): the API-wide verdict (status page,
//! reachability, offline) folded with the per-model verdicts into the app's level, "does it hit
//! you?", the deciding model and the reasons, one table row per rule, through the real
//! `MonitorState`.
//!
//! The rules, one row each below (copied into ARCHITECTURE.md):
//!
//! | # | Status page (API-wide) | Reachability probes | Models the user relies on | Other models | Level | Does it hit you? | Reasons say |
//! |---|---|---|---|---|---|---|---|
//! | 1 | operational | pass | answer | – | operational | No | "the API answers" |
//! | 2 | API degraded performance | pass | answer | – | degraded | Maybe | the component's state |
//! | 3 | API partial outage | pass | answer | – | outage | Probably | "our probes still get answers" |
//! | 4 | API under maintenance | pass | answer | – | maintenance | Maybe | the component's state |
//! | 5 | incident `monitoring` (major), API operational | pass | answer | – | degraded | Maybe | "recovering" |
//! | 6 | operational | fail (5xx ×3) | answer | – | outage | Yes | "our probes see it first" |
//! | 7 | API partial outage | fail (5xx ×3) | answer | – | outage | Yes | both |
//! | 8 | incident `monitoring` (major), API operational | fail (5xx ×3) | answer | – | outage | Yes | our probes outrank "recovering" |
//! | 9 | operational | no connection ×3 | – | – | outage | Yes | "the status page answers, so the network works" |
//! | 10 | unreachable (network) | no connection ×3 | no connection | – | offline | Yes | "your network looks down" |
//! | 11 | operational | pass | Opus 5.5 529 ×3 | – | overloaded, subject Opus 5.5 | Yes | "Opus 5.5: overloaded, 529 on 3 of the last 3 probes" |
//! | 12 | operational | pass | Sonnet 5.5 answers | Opus 5.5 529 ×3 (used 3 days ago) | degraded, subject Opus 5.5 | Maybe | "(a model you do not use now)" |
//! | 13 | "Elevated errors on Claude Opus 5.5" (major), API partial outage | pass | Opus 5.5 (pinned) | – | outage, subject Opus 5.5 | Yes | the model's line; the API itself "degraded (for the models its incidents name)" |
//! | 14 | "Elevated errors on Claude Opus 5.5" (major), API partial outage | pass | Sonnet 5.5 answers | Opus 5.5 named by the page | degraded, subject Opus 5.5 | Maybe | "Opus 5.5: outage … (a model you do not use now)" |
//! | 15 | "Elevated errors across all models" (major) | pass | answer | – | outage (API-wide), no subject | Probably | the incident |
//! | 16 | "Elevated errors on Claude Code" (major, lists the API) | pass | answer | – | operational | No | "a product, not the API"; no model's level changes |
//! | 17 | operational | pass | claude-sonnet-4-5 (pinned, answers 404) | – | operational, never outage | Yes | "retired on 2026-11-30 … its successor is …" |
//! | 18 | operational | pass, no key, no gateway | not watched | – | operational | No, as far as we can see | "overloads are not watched: …" |
//! | 19 | incident with no model in its title ("Something is wrong", minor) | pass | answer | – | degraded | Maybe | the incident |
//! | 20 | operational | pass | claude-zephyr-9 (pinned, never seen, 404) | – | operational, the model unknown | Yes | "does not know this model (404" |
//! | 21 | operational | pass | Opus 5.5 answered one garbage body (server_error) | – | operational, the model unknown | Unknown | "1 failure in a row (server_error), confirming" |
//! | 22 | "Elevated errors on Claude Zephyr 9" (a model nobody knows), API operational | pass | answer | – | degraded, subject claude-zephyr-9 | Maybe | "Zephyr 9: degraded, official incident …", never silently operational |
//!
//! Every row also checks that the parts never contradict each other: outage, overloaded and
//! offline never answer "No"; "No" only with operational; a deciding model leads the reasons;
//! when nothing watches overloads the warning is in the reasons and no sentence claims a watch.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use claude_status_core::assess::{FetchFailure, FetchFailureKind};
use claude_status_core::health::{ProbeKind, ProbeResult};
use claude_status_core::models::{ModelsConfig, NOT_WATCHED};
use claude_status_core::monitor::{MonitorConfig, MonitorState, Observation, PageFetch};
use claude_status_core::probe::{classify_reply, Classification, HttpReply, ProbeOutcome};
use claude_status_core::report::Snapshot;
use claude_status_core::statuspage::{
    Component, ComponentStatus, Impact, Incident, IncidentComponent, IncidentStatus, Indicator,
    PageStatus, StatusPage, CLAUDE_API_COMPONENT_ID,
};
use claude_status_core::usage::{TokenCounts, UsageRecord, UsageSource};
use claude_status_core::verdict::Answer;
use claude_status_core::Level;

const OPUS: &str = "claude-opus-5-5";
const SONNET: &str = "claude-sonnet-5-5";
const API_NAME: &str = "Claude API (api.anthropic.com)";
const CODE_ID: &str = "yyzkbfz2thpt";

/// After claude-sonnet-4-5's end of life (2026-11-30).
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0).unwrap()
}

/// What the status page says.
#[derive(Debug, Clone, Copy)]
enum Page {
    /// The API component in this state, with these unresolved incidents.
    Api(&'static str, &'static [Inc]),
    /// The page cannot be reached: the network is down.
    Unreachable,
}

/// An unresolved incident: title, impact, status, and whether it lists the API (else Claude Code).
#[derive(Debug, Clone, Copy)]
struct Inc(&'static str, &'static str, &'static str, bool);

/// One answer the probes got.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Got {
    Ok,
    Overloaded,
    ServerError,
    NoConnection,
    NotFound,
    /// A 200 whose body is not what the API sends (truncated JSON).
    Garbage,
}

/// One row of the table.
struct Case {
    rule: &'static str,
    page: Page,
    /// Reachability probes, oldest first.
    probes: &'static [Got],
    /// Streaming probes per model, oldest first.
    streams: &'static [(&'static str, &'static [Got])],
    /// The user's own requests: (model, minutes ago).
    traffic: &'static [(&'static str, i64)],
    pinned: &'static [&'static str],
    /// An API key, so the per-model probe runs.
    key: bool,
    expect: Expect,
}

struct Expect {
    level: Level,
    answer: Answer,
    subject: Option<&'static str>,
    /// Each must appear in some reason.
    says: &'static [&'static str],
    /// A model's own level.
    model: Option<(&'static str, Level)>,
}

const OPUS_ANSWERS: &[(&str, &[Got])] = &[(OPUS, &[Got::Ok])];
const FAILS_5XX: &[Got] = &[Got::ServerError, Got::ServerError, Got::ServerError];
const NO_CONNECTION: &[Got] = &[Got::NoConnection, Got::NoConnection, Got::NoConnection];
const OPUS_INCIDENT: &[Inc] = &[Inc(
    "Elevated errors on Claude Opus 5.5",
    "major",
    "investigating",
    true,
)];
const MONITORING: &[Inc] = &[Inc("Elevated errors", "major", "monitoring", true)];

fn component(id: &str, name: &str, status: &str) -> Component {
    Component {
        id: id.into(),
        name: name.into(),
        status: ComponentStatus::from_wire(status),
        ..Component::default()
    }
}

fn page(api_status: &str, incidents: &[Inc]) -> StatusPage {
    StatusPage {
        status: PageStatus {
            indicator: if api_status == "operational" && incidents.is_empty() {
                Indicator::None
            } else {
                Indicator::Minor
            },
            description: "Claude".into(),
        },
        components: vec![
            component("rwppv331jlwc", "claude.ai", "operational"),
            component(CLAUDE_API_COMPONENT_ID, API_NAME, api_status),
            component(CODE_ID, "Claude Code", "operational"),
        ],
        incidents: incidents
            .iter()
            .enumerate()
            .map(|(n, Inc(title, impact, status, on_api))| Incident {
                id: format!("inc{n}"),
                name: (*title).into(),
                status: IncidentStatus::from_wire(status),
                impact: Impact::from_wire(impact),
                created_at: Some(now() - Duration::minutes(20)),
                components: vec![if *on_api {
                    IncidentComponent {
                        id: CLAUDE_API_COMPONENT_ID.into(),
                        name: API_NAME.into(),
                        status: ComponentStatus::Operational,
                    }
                } else {
                    IncidentComponent {
                        id: CODE_ID.into(),
                        name: "Claude Code".into(),
                        status: ComponentStatus::Operational,
                    }
                }],
                ..Incident::default()
            })
            .collect(),
        ..StatusPage::default()
    }
}

fn probe(at: DateTime<Utc>, kind: ProbeKind, model: Option<&str>, got: Got) -> ProbeResult {
    let plain = |outcome, http_status| Classification {
        outcome,
        http_status,
        error_type: None,
        error_message: None,
        request_id: None,
        retry_after: None,
        retry_not_before: None,
        detail: format!("{outcome}"),
    };
    let classification = match got {
        Got::Ok => plain(ProbeOutcome::Ok, Some(200)),
        Got::Overloaded => plain(ProbeOutcome::Overloaded, Some(529)),
        Got::ServerError => plain(ProbeOutcome::ServerError, Some(500)),
        Got::NoConnection => plain(ProbeOutcome::Network, None),
        Got::NotFound => plain(ProbeOutcome::NotFound, Some(404)),
        // Classified the way the prober classifies any answer: a broken body is the API's fault.
        Got::Garbage => {
            let headers = vec![("content-type".to_owned(), "application/json".to_owned())];
            classify_reply(
                &HttpReply {
                    status: 200,
                    headers: &headers,
                    body: br#"{"type":"mess"#,
                    key_configured: true,
                },
                at,
            )
        }
    };
    let answered = classification.http_status.is_some();
    ProbeResult {
        at,
        kind,
        classification,
        latency_ms: answered.then_some(200),
        message_start_ms: None,
        ttft_ms: (kind == ProbeKind::Streaming && got == Got::Ok).then_some(300),
        ratelimit: Default::default(),
        usage: None,
        confirmation: false,
        model: model.map(str::to_owned),
    }
}

fn request(model: &str, minutes_ago: i64) -> UsageRecord {
    UsageRecord {
        at: now() - Duration::minutes(minutes_ago),
        source: UsageSource::ClaudeCode,
        model: model.to_owned(),
        tokens: TokenCounts {
            input: 100,
            output: 10,
            ..TokenCounts::default()
        },
        status: Some(200),
        latency_ms: None,
        ttft_ms: None,
        service_tier: None,
        message_id: None,
        request_id: None,
        session_id: Some("s".into()),
        project: None,
        reported_cost_usd: None,
        is_sidechain: false,
    }
}

/// Feeds a case to a fresh monitor (page, then traffic, then probes, in time order) and returns
/// the snapshot at `now()`.
fn run(case: &Case) -> Snapshot {
    let config = MonitorConfig {
        models: ModelsConfig {
            pinned: case.pinned.iter().map(|m| (*m).to_owned()).collect(),
            default_model: OPUS.to_owned(),
            probing: case.key,
            gateway: false,
            ..ModelsConfig::default()
        },
        ..MonitorConfig::default()
    };
    let mut state = MonitorState::new(config);
    // Each observation comes 10 s after the one before, and is stamped with its own time.
    let mut tick = 0;
    let mut next = || {
        tick += 1;
        now() - Duration::minutes(10) + Duration::seconds(10 * tick)
    };
    let fetch = match case.page {
        Page::Api(status, incidents) => PageFetch::Fetched {
            page: Box::new(page(status, incidents)),
            source_url: "https://status.claude.com/api/v2/summary.json".into(),
            not_modified: false,
        },
        Page::Unreachable => PageFetch::Failed {
            failure: FetchFailure {
                kind: FetchFailureKind::Network,
                detail: "connection refused".into(),
            },
        },
    };
    state.apply(Observation::StatusPage { fetch }, next());
    let records: Vec<UsageRecord> = case
        .traffic
        .iter()
        .map(|(model, ago)| request(model, *ago))
        .collect();
    if !records.is_empty() {
        state.apply(Observation::Usage { records }, next());
    }
    let longest = case
        .streams
        .iter()
        .map(|(_, s)| s.len())
        .chain([case.probes.len()])
        .max()
        .unwrap_or(0);
    for i in 0..longest {
        if let Some(got) = case.probes.get(i) {
            let at = next();
            let result = Box::new(probe(at, ProbeKind::Reachability, None, *got));
            state.apply(Observation::Probe { result }, at);
        }
        for (model, answers) in case.streams {
            if let Some(got) = answers.get(i) {
                let at = next();
                let result = Box::new(probe(at, ProbeKind::Streaming, Some(model), *got));
                state.apply(Observation::Probe { result }, at);
            }
        }
    }
    // One last look at `now()`, as the next observation would.
    state.apply(Observation::IncidentHistory { incidents: vec![] }, now());
    state.snapshot()
}

fn check(case: &Case) {
    let snapshot = run(case);
    let rule = case.rule;
    let expect = &case.expect;
    let context = format!(
        "rule {rule}: level {}, hits you {:?}, subject {:?}, reasons {:#?}, models {:#?}",
        snapshot.level,
        snapshot.hits_you,
        snapshot.subject,
        snapshot.reasons,
        snapshot
            .models
            .iter()
            .map(|m| (&m.model, m.level, m.relied_on, &m.reasons))
            .collect::<Vec<_>>()
    );
    assert_eq!(snapshot.level, expect.level, "{context}");
    assert_eq!(snapshot.hits_you.answer, expect.answer, "{context}");
    assert_eq!(snapshot.subject.as_deref(), expect.subject, "{context}");
    for said in expect.says {
        assert!(
            snapshot.reasons.iter().any(|r| r.contains(said)),
            "rule {rule}: no reason says {said:?}; {context}"
        );
    }
    if let Some((model, level)) = expect.model {
        let report = snapshot.models.iter().find(|m| m.model == model);
        assert_eq!(report.map(|m| m.level), Some(level), "{context}");
    }
    never_contradicts(&snapshot, &context);
}

/// What holds in every row: the headline, "does it hit you?", the deciding model, the coverage
/// and the reasons come from one decision.
fn never_contradicts(snapshot: &Snapshot, context: &str) {
    let level = snapshot.level;
    let answer = snapshot.hits_you.answer;
    assert!(!snapshot.reasons.is_empty(), "{context}");
    if matches!(level, Level::Outage | Level::Overloaded | Level::Offline) {
        assert!(
            matches!(answer, Answer::Yes | Answer::Probably | Answer::Maybe),
            "{context}"
        );
    }
    if answer == Answer::No {
        assert_eq!(level, Level::Operational, "{context}");
    }
    // The text says the answer it carries.
    let word = match answer {
        Answer::Yes => "Yes",
        Answer::Probably => "Probably",
        Answer::Maybe => "Maybe",
        Answer::No => "No",
        Answer::Unknown => "Unknown",
    };
    assert!(
        snapshot.hits_you.text.starts_with(word) || level == Level::Offline,
        "{context}"
    );
    // A deciding model leads the reasons, and its level is the app's (capped at degraded when
    // the user does not rely on it).
    if let Some(subject) = &snapshot.subject {
        let model = snapshot
            .models
            .iter()
            .find(|m| &m.model == subject)
            .expect("the subject is a listed model");
        assert!(
            snapshot.reasons[0].starts_with(&format!("{}: ", model.display_name)),
            "{context}"
        );
        if model.relied_on {
            assert_eq!(model.level, level, "{context}");
        } else {
            assert_eq!(level, Level::Degraded, "{context}");
        }
    }
    // A model the user relies on in trouble is never hidden behind a calmer headline.
    for model in snapshot.models.iter().filter(|m| m.relied_on) {
        if matches!(model.level, Level::Overloaded | Level::Outage) {
            assert!(level.severity() >= model.level.severity(), "{context}");
        }
        // Retired is a reason, never an outage.
        if model.retired.is_some() {
            assert!(
                !matches!(model.level, Level::Outage | Level::Overloaded),
                "{context}"
            );
        }
    }
    // A model is operational only when something saw it answer.
    for model in &snapshot.models {
        if model.level == Level::Operational {
            assert!(
                model.last_probe.is_some() || model.own_traffic.is_some(),
                "{context}"
            );
        }
    }
    // Nothing implies a watch that is not there.
    let coverage = &snapshot.coverage;
    if coverage.overloads_watched {
        assert_eq!(coverage.warning, None, "{context}");
    } else {
        assert_eq!(coverage.warning.as_deref(), Some(NOT_WATCHED), "{context}");
        assert!(
            snapshot.reasons.iter().any(|r| r == NOT_WATCHED),
            "{context}"
        );
        assert!(
            !snapshot.hits_you.text.contains("answer normally"),
            "{context}"
        );
    }
}

/// The status page's rules, with the user's model answering the per-model probe.
#[test]
fn issue_11_the_api_wide_verdict_by_page_and_probes() {
    let rows = [
        Case {
            rule: "1 operational page, probes pass",
            page: Page::Api("operational", &[]),
            probes: &[Got::Ok],
            streams: OPUS_ANSWERS,
            traffic: &[],
            pinned: &[],
            key: true,
            expect: Expect {
                level: Level::Operational,
                answer: Answer::No,
                subject: None,
                says: &["our probes: the API answers (ok, 200 ms)"],
                model: Some((OPUS, Level::Operational)),
            },
        },
        Case {
            rule: "2 degraded page, probes pass",
            page: Page::Api("degraded_performance", &[]),
            probes: &[Got::Ok],
            streams: OPUS_ANSWERS,
            traffic: &[],
            pinned: &[],
            key: true,
            expect: Expect {
                level: Level::Degraded,
                answer: Answer::Maybe,
                subject: None,
                says: &["status page: Claude API (api.anthropic.com) degraded performance"],
                model: Some((OPUS, Level::Operational)),
            },
        },
        Case {
            rule: "3 outage on the page, probes pass",
            page: Page::Api("partial_outage", &[]),
            probes: &[Got::Ok],
            streams: OPUS_ANSWERS,
            traffic: &[],
            pinned: &[],
            key: true,
            expect: Expect {
                level: Level::Outage,
                answer: Answer::Probably,
                subject: None,
                says: &["status page: Claude API (api.anthropic.com) partial outage"],
                model: Some((OPUS, Level::Operational)),
            },
        },
        Case {
            rule: "4 maintenance on the page",
            page: Page::Api("under_maintenance", &[]),
            probes: &[Got::Ok],
            streams: OPUS_ANSWERS,
            traffic: &[],
            pinned: &[],
            key: true,
            expect: Expect {
                level: Level::Maintenance,
                answer: Answer::Maybe,
                subject: None,
                says: &["under maintenance"],
                model: None,
            },
        },
        Case {
            rule: "5 monitoring a major incident, component operational, probes pass",
            page: Page::Api("operational", MONITORING),
            probes: &[Got::Ok],
            streams: OPUS_ANSWERS,
            traffic: &[],
            pinned: &[],
            key: true,
            expect: Expect {
                // The demo bug: this once said "Outage" beside "Does it hit you? No".
                level: Level::Degraded,
                answer: Answer::Maybe,
                subject: None,
                says: &[
                    "recovering",
                    "official incident (major, monitoring): Elevated errors",
                ],
                model: Some((OPUS, Level::Operational)),
            },
        },
        Case {
            rule: "6 operational page, probes fail",
            page: Page::Api("operational", &[]),
            probes: FAILS_5XX,
            streams: OPUS_ANSWERS,
            traffic: &[],
            pinned: &[],
            key: true,
            expect: Expect {
                level: Level::Outage,
                answer: Answer::Yes,
                subject: None,
                says: &[
                    "HTTP 500 on 3 of the last 3 probes",
                    "the status page still says operational: our probes see it first",
                ],
                model: None,
            },
        },
        Case {
            rule: "7 outage on the page, probes fail",
            page: Page::Api("partial_outage", &[]),
            probes: FAILS_5XX,
            streams: OPUS_ANSWERS,
            traffic: &[],
            pinned: &[],
            key: true,
            expect: Expect {
                level: Level::Outage,
                answer: Answer::Yes,
                subject: None,
                says: &["HTTP 500 on 3", "partial outage"],
                model: None,
            },
        },
        Case {
            rule: "8 monitoring on the page, probes fail",
            page: Page::Api("operational", MONITORING),
            probes: FAILS_5XX,
            streams: OPUS_ANSWERS,
            traffic: &[],
            pinned: &[],
            key: true,
            expect: Expect {
                // Our own evidence outranks the page's "recovering".
                level: Level::Outage,
                answer: Answer::Yes,
                subject: None,
                says: &["HTTP 500 on 3"],
                model: None,
            },
        },
        Case {
            rule: "9 no connection to the API, the page answers",
            page: Page::Api("operational", &[]),
            probes: NO_CONNECTION,
            streams: &[],
            traffic: &[],
            pinned: &[],
            key: true,
            expect: Expect {
                level: Level::Outage,
                answer: Answer::Yes,
                subject: None,
                says: &["the status page answers, so the network works"],
                model: None,
            },
        },
        Case {
            rule: "10 nothing answers: offline",
            page: Page::Unreachable,
            probes: NO_CONNECTION,
            streams: &[(OPUS, NO_CONNECTION)],
            traffic: &[],
            pinned: &[],
            key: true,
            expect: Expect {
                level: Level::Offline,
                answer: Answer::Yes,
                subject: None,
                says: &["your network looks down"],
                model: Some((OPUS, Level::Offline)),
            },
        },
    ];
    for case in &rows {
        check(case);
    }
}

/// The per-model rules: which models count fully, which incidents are whose.
#[test]
fn issue_11_the_models_fold_into_the_one_verdict() {
    let rows = [
        Case {
            rule: "11 a relied-on model overloaded",
            page: Page::Api("operational", &[]),
            probes: &[Got::Ok],
            streams: &[(OPUS, &[Got::Overloaded, Got::Overloaded, Got::Overloaded])],
            traffic: &[(OPUS, 5)],
            pinned: &[],
            key: true,
            expect: Expect {
                level: Level::Overloaded,
                answer: Answer::Yes,
                subject: Some(OPUS),
                says: &["Opus 5.5: overloaded, 529 on 3 of the last"],
                model: Some((OPUS, Level::Overloaded)),
            },
        },
        Case {
            rule: "12 a model the user does not use now overloaded",
            page: Page::Api("operational", &[]),
            probes: &[Got::Ok],
            streams: &[
                (SONNET, &[Got::Ok]),
                (OPUS, &[Got::Overloaded, Got::Overloaded, Got::Overloaded]),
            ],
            // Opus was used three days ago: followed (its 7-day share), not relied on now.
            traffic: &[(OPUS, 3 * 24 * 60), (SONNET, 30), (SONNET, 20), (SONNET, 5)],
            pinned: &[],
            key: true,
            expect: Expect {
                level: Level::Degraded,
                answer: Answer::Maybe,
                subject: Some(OPUS),
                says: &["Opus 5.5: overloaded", "(a model you do not use now)"],
                model: Some((OPUS, Level::Overloaded)),
            },
        },
        Case {
            rule: "13 an incident titled for a relied-on model",
            page: Page::Api("partial_outage", OPUS_INCIDENT),
            probes: &[Got::Ok],
            streams: &[],
            traffic: &[],
            pinned: &[OPUS],
            key: false,
            expect: Expect {
                level: Level::Outage,
                answer: Answer::Yes,
                subject: Some(OPUS),
                says: &[
                    "Opus 5.5: outage, official incident (major, investigating)",
                    "(for the models its incidents name)",
                ],
                model: Some((OPUS, Level::Outage)),
            },
        },
        Case {
            rule: "14 an incident titled for a model the user does not use",
            page: Page::Api("partial_outage", OPUS_INCIDENT),
            probes: &[Got::Ok],
            streams: &[(SONNET, &[Got::Ok])],
            traffic: &[(SONNET, 5)],
            pinned: &[],
            key: true,
            expect: Expect {
                // The API-wide side is degraded (its partial outage is Opus's), and so is
                // Opus's contribution; the page's words are about Opus, so it is named.
                level: Level::Degraded,
                answer: Answer::Maybe,
                subject: Some(OPUS),
                says: &["Opus 5.5: outage", "(a model you do not use now)"],
                model: Some((OPUS, Level::Outage)),
            },
        },
        Case {
            rule: "15 an incident on all models is API-wide",
            page: Page::Api(
                "operational",
                &[Inc(
                    "Elevated errors across all models",
                    "major",
                    "investigating",
                    true,
                )],
            ),
            probes: &[Got::Ok],
            streams: OPUS_ANSWERS,
            traffic: &[],
            pinned: &[],
            key: true,
            expect: Expect {
                level: Level::Outage,
                answer: Answer::Probably,
                subject: None,
                says: &[
                    "official incident (major, investigating): Elevated errors across all models",
                ],
                // The page speaks for the API; our probe of the model still sees it answer.
                model: Some((OPUS, Level::Operational)),
            },
        },
        Case {
            rule: "16 a product incident changes no model's level",
            page: Page::Api(
                "operational",
                &[Inc(
                    "Elevated errors on Claude Code",
                    "major",
                    "investigating",
                    true,
                )],
            ),
            probes: &[Got::Ok],
            streams: OPUS_ANSWERS,
            traffic: &[],
            pinned: &[],
            key: true,
            expect: Expect {
                level: Level::Operational,
                answer: Answer::No,
                subject: None,
                says: &["a product, not the API"],
                model: Some((OPUS, Level::Operational)),
            },
        },
        Case {
            rule: "17 a retired model answering 404",
            page: Page::Api("operational", &[]),
            probes: &[Got::Ok],
            streams: &[("claude-sonnet-4-5", &[Got::NotFound])],
            traffic: &[],
            pinned: &["claude-sonnet-4-5"],
            key: true,
            expect: Expect {
                level: Level::Operational,
                answer: Answer::Yes,
                subject: None,
                says: &["retired on 2026-11-30", "its successor is claude-sonnet-"],
                model: Some(("claude-sonnet-4-5", Level::Unknown)),
            },
        },
        Case {
            rule: "18 no key and no gateway: overloads are not watched",
            page: Page::Api("operational", &[]),
            probes: &[Got::Ok],
            streams: &[],
            traffic: &[],
            pinned: &[],
            key: false,
            expect: Expect {
                level: Level::Operational,
                answer: Answer::No,
                subject: None,
                says: &[NOT_WATCHED],
                model: Some((OPUS, Level::Unknown)),
            },
        },
    ];
    for case in &rows {
        check(case);
    }
    // The retired model's own report names the date and the successor.
    let retired = run(&rows[6]);
    let report = retired
        .models
        .iter()
        .find(|m| m.model == "claude-sonnet-4-5")
        .unwrap();
    let retirement = report.retired.as_ref().unwrap();
    assert_eq!(retirement.on.to_string(), "2026-11-30");
    assert!(retirement
        .successor
        .as_deref()
        .is_some_and(|s| s.starts_with("claude-sonnet-") && s != "claude-sonnet-4-5"));
    // With no key, the hits-you sentence says what cannot be seen.
    let unwatched = run(&rows[7]);
    assert!(
        unwatched.hits_you.text.contains(NOT_WATCHED),
        "{:?}",
        unwatched.hits_you
    );
    assert!(!unwatched.coverage.overloads_watched);
}

/// Bad input gives a reason, never a panic, and never "operational" for what it is about.
#[test]
fn issue_11_bad_input_gives_a_reason_never_operational() {
    let rows = [
        Case {
            rule: "19 an incident title with no model",
            page: Page::Api(
                "operational",
                &[Inc("Something is wrong", "minor", "investigating", true)],
            ),
            probes: &[Got::Ok],
            streams: OPUS_ANSWERS,
            traffic: &[],
            pinned: &[],
            key: true,
            expect: Expect {
                level: Level::Degraded,
                answer: Answer::Maybe,
                subject: None,
                says: &["official incident (minor, investigating): Something is wrong"],
                model: Some((OPUS, Level::Operational)),
            },
        },
        Case {
            rule: "20 a model id never seen",
            page: Page::Api("operational", &[]),
            probes: &[Got::Ok],
            streams: &[("claude-zephyr-9", &[Got::NotFound])],
            traffic: &[],
            pinned: &["claude-zephyr-9"],
            key: true,
            expect: Expect {
                level: Level::Operational,
                answer: Answer::Yes,
                subject: None,
                says: &["Zephyr 9: unknown, the API does not know this model (404"],
                model: Some(("claude-zephyr-9", Level::Unknown)),
            },
        },
        Case {
            rule: "21 a probe answer of the wrong shape",
            page: Page::Api("operational", &[]),
            probes: &[Got::Ok],
            streams: &[(OPUS, &[Got::Garbage])],
            traffic: &[],
            pinned: &[],
            key: true,
            expect: Expect {
                level: Level::Operational,
                answer: Answer::Unknown,
                subject: None,
                says: &[],
                model: Some((OPUS, Level::Unknown)),
            },
        },
        Case {
            rule: "22 an incident titled for a model nobody knows",
            page: Page::Api(
                "operational",
                &[Inc(
                    "Elevated errors on Claude Zephyr 9",
                    "minor",
                    "investigating",
                    true,
                )],
            ),
            probes: &[Got::Ok],
            streams: OPUS_ANSWERS,
            traffic: &[],
            pinned: &[],
            key: true,
            expect: Expect {
                // Listed under the id its name spells, and, unused, degraded at most.
                level: Level::Degraded,
                answer: Answer::Maybe,
                subject: Some("claude-zephyr-9"),
                says: &["Zephyr 9: degraded, official incident (minor, investigating): Elevated errors on Claude Zephyr 9"],
                model: Some(("claude-zephyr-9", Level::Degraded)),
            },
        },
    ];
    for case in &rows {
        check(case);
    }
    // The garbage answer's model says why it cannot be vouched for.
    let garbage = run(&rows[2]);
    let opus = garbage.models.iter().find(|m| m.model == OPUS).unwrap();
    assert!(
        opus.reasons
            .iter()
            .any(|r| r == "1 failure in a row (server_error), confirming"),
        "{:?}",
        opus.reasons
    );
    assert_eq!(
        opus.last_probe.as_ref().map(|p| p.outcome),
        Some(ProbeOutcome::ServerError)
    );
}

/// ARCHITECTURE.md carries the same table as this file's header, row for row, so the document
/// that people read cannot drift from the rules that are tested.
#[test]
fn issue_11_architecture_md_has_this_table() {
    let this = include_str!("verdict_rules.rs");
    let doc = include_str!("../../../ARCHITECTURE.md");
    let ours: Vec<&str> = this
        .lines()
        .filter_map(|l| l.strip_prefix("//! "))
        .filter(|l| l.starts_with('|'))
        .collect();
    let theirs: Vec<&str> = doc.lines().filter(|l| l.starts_with('|')).collect();
    assert_eq!(
        ours.len(),
        24,
        "the header has the table's two lines and 22 rows"
    );
    for row in &ours {
        assert!(theirs.contains(row), "ARCHITECTURE.md lacks the row {row}");
    }
}
