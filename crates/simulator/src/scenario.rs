//! The scripted scenarios: what the status page says and how the API behaves at each moment of story time.

use std::borrow::Cow;
use std::time::Duration;

use crate::ids;
use crate::models::{self, ModelScope};
use crate::statuspage::ComponentStatus;

/// The ids of the six real components of status.claude.com (api-facts A4).
pub(crate) const CLAUDE_AI: &str = "rwppv331jlwc";
pub(crate) const CONSOLE: &str = "0qbwn08sd68x";
pub(crate) const API: &str = "k8w3r06qmzrp";
pub(crate) const CLAUDE_CODE: &str = "yyzkbfz2thpt";

/// One scripted scenario. The name picks it; see [`Scenario::ALL`] for the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scenario {
    Operational,
    Incident,
    Maintenance,
    BotChallenge,
    SlowStatus,
    GarbageStatus,
    Healthy,
    OverloadStorm,
    ModelOverload,
    AllModelsStorm,
    StreamOverload,
    RateLimited,
    SpendCap,
    Outage,
    Slow,
    Flapping,
    Resets,
    GarbageApi,
    Billing,
    GatewayTimeout,
    StormThenIncident,
    Demo,
    AdminRateLimitedOnce,
    AdminErrorOnce,
    AdminSmallBill,
}

/// How the status page paths answer, independent of the story's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatusPageMode {
    /// Proper Statuspage JSON built from the story.
    Normal,
    /// A 403 HTML challenge page, as CloudFront served on status.claude.com in 2026.
    BotChallenge,
    /// Proper JSON, but only after a long delay.
    Slow,
    /// A rotating set of broken bodies.
    Garbage,
}

/// How the API behaves at one moment; [`crate::api`] turns this into one request's outcome.
///
/// The overload modes (`Overloaded`, `Flapping`, `StreamOverloaded`) reach only
/// `POST /v1/messages` for the models in [`Scenario::overload_scope`]: real overloads are per
/// model, and every public 529 report is a Messages request. The other modes are API-wide.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ApiMode {
    Healthy,
    /// This share (0.0–1.0) of the overloaded models' messages fails, spread evenly over their
    /// request sequence.
    Overloaded(f64),
    /// Streams fail with an `error` event after `message_start`; everything else is fine.
    StreamOverloaded,
    RateLimited,
    SpendCap,
    Outage,
    Slow,
    /// Every other message to the overloaded models fails.
    Flapping,
    /// Connections are dropped without an HTTP answer.
    Resets,
    /// 200 answers with broken bodies.
    Garbage,
    Billing,
    GatewayTimeout,
}

impl ApiMode {
    /// Whether this mode sheds load per model on `/v1/messages` rather than failing the whole API.
    pub(crate) fn is_overload(self) -> bool {
        matches!(
            self,
            ApiMode::Overloaded(_) | ApiMode::Flapping | ApiMode::StreamOverloaded
        )
    }
}

/// What kind of notice a script describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoticeKind {
    Incident,
    /// A scheduled maintenance with its window, in story milliseconds.
    Maintenance {
        scheduled_for_ms: i64,
        scheduled_until_ms: i64,
    },
}

/// One update of a notice, published at a story offset (negative offsets are history from before the story began).
#[derive(Debug, Clone)]
pub(crate) struct UpdateScript {
    pub(crate) at_ms: i64,
    pub(crate) status: &'static str,
    /// Owned when it names a model chosen at run time.
    pub(crate) body: Cow<'static, str>,
    /// A new impact for the whole notice from this update on, when the team raises or lowers it.
    pub(crate) impact: Option<&'static str>,
    /// Component status changes this update makes, which become its `affected_components`.
    pub(crate) changes: Vec<(&'static str, ComponentStatus)>,
}

/// One incident or scheduled maintenance as it unfolds over story time.
///
/// The id, name and shortlink are owned when they depend on a model chosen at run time
/// (`model-overload`), and borrowed for the fixed stories.
#[derive(Debug, Clone)]
pub(crate) struct NoticeScript {
    pub(crate) id: Cow<'static, str>,
    pub(crate) name: Cow<'static, str>,
    pub(crate) shortlink_code: Cow<'static, str>,
    pub(crate) kind: NoticeKind,
    pub(crate) impact: &'static str,
    /// The components the notice lists, shown with their current state.
    pub(crate) components: Vec<&'static str>,
    /// Updates in publishing order (oldest first).
    pub(crate) updates: Vec<UpdateScript>,
}

const fn minutes(m: i64) -> i64 {
    m * 60_000
}

const fn seconds(s: i64) -> i64 {
    s * 1_000
}

fn update(
    at_ms: i64,
    status: &'static str,
    body: impl Into<Cow<'static, str>>,
    impact: Option<&'static str>,
    changes: Vec<(&'static str, ComponentStatus)>,
) -> UpdateScript {
    UpdateScript {
        at_ms,
        status,
        body: body.into(),
        impact,
        changes,
    }
}

impl Scenario {
    /// Every scenario, in the order `--list` shows them.
    pub(crate) const ALL: [Scenario; 25] = [
        Scenario::Operational,
        Scenario::Incident,
        Scenario::Maintenance,
        Scenario::BotChallenge,
        Scenario::SlowStatus,
        Scenario::GarbageStatus,
        Scenario::Healthy,
        Scenario::OverloadStorm,
        Scenario::ModelOverload,
        Scenario::AllModelsStorm,
        Scenario::StreamOverload,
        Scenario::RateLimited,
        Scenario::SpendCap,
        Scenario::Outage,
        Scenario::Slow,
        Scenario::Flapping,
        Scenario::Resets,
        Scenario::GarbageApi,
        Scenario::Billing,
        Scenario::GatewayTimeout,
        Scenario::StormThenIncident,
        Scenario::Demo,
        Scenario::AdminRateLimitedOnce,
        Scenario::AdminErrorOnce,
        Scenario::AdminSmallBill,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Scenario::Operational => "operational",
            Scenario::Incident => "incident",
            Scenario::Maintenance => "maintenance",
            Scenario::BotChallenge => "bot-challenge",
            Scenario::SlowStatus => "slow-status",
            Scenario::GarbageStatus => "garbage-status",
            Scenario::Healthy => "healthy",
            Scenario::OverloadStorm => "overload-storm",
            Scenario::ModelOverload => "model-overload",
            Scenario::AllModelsStorm => "all-models-storm",
            Scenario::StreamOverload => "stream-overload",
            Scenario::RateLimited => "rate-limited",
            Scenario::SpendCap => "spend-cap",
            Scenario::Outage => "outage",
            Scenario::Slow => "slow",
            Scenario::Flapping => "flapping",
            Scenario::Resets => "resets",
            Scenario::GarbageApi => "garbage-api",
            Scenario::Billing => "billing",
            Scenario::GatewayTimeout => "gateway-timeout",
            Scenario::StormThenIncident => "storm-then-incident",
            Scenario::Demo => "demo",
            Scenario::AdminRateLimitedOnce => "admin-rate-limited-once",
            Scenario::AdminErrorOnce => "admin-error-once",
            Scenario::AdminSmallBill => "admin-small-bill",
        }
    }

    pub(crate) fn description(self) -> &'static str {
        match self {
            Scenario::Operational => "status page all operational, API healthy",
            Scenario::Incident => {
                "status page incident on Claude Opus 4.8: investigating 2m, identified 5m, partial outage 8m, monitoring 10m, resolved 14m"
            }
            Scenario::Maintenance => {
                "scheduled maintenance of the Claude API from 2m to 6m: scheduled, in progress, completed"
            }
            Scenario::BotChallenge => "status page answers 403 with an HTML challenge page; API healthy",
            Scenario::SlowStatus => "status page answers only after a long delay (35 s by default); API healthy",
            Scenario::GarbageStatus => {
                "status page bodies rotate through truncated JSON, HTML, empty, [], text, 12 MiB and wrong types"
            }
            Scenario::Healthy => "API healthy (about 30 ms to first token), status page operational",
            Scenario::OverloadStorm => {
                "529s on /v1/messages (every model) ramp from 0% at 1m to 100% at 3m, stay until 8m, back to 0% at 10m; /v1/models and count_tokens fine; status page silent"
            }
            Scenario::ModelOverload => {
                "529s on /v1/messages for one model only (claude-opus-5-5 unless --overload-model), 0% at 1m to 100% at 3m, until 9m, 0% at 11m; other models and /v1/models fine; incident \"Elevated errors on <model>\" at 7m, monitoring 11m, resolved 14m"
            }
            Scenario::AllModelsStorm => {
                "529s on /v1/messages for every model, 0% at 1m to 100% at 3m, until 9m, 0% at 11m; /v1/models fine; incident \"Elevated errors across all models\" at 7m, monitoring 11m, resolved 14m"
            }
            Scenario::StreamOverload => {
                "streams on /v1/messages answer 200 then an overloaded error event after message_start; other calls fine"
            }
            Scenario::RateLimited => "API answers 429 rate_limit_error with retry-after 20 and remaining 0",
            Scenario::SpendCap => "API answers 429 with error_code enforced_spend_limit_reached and no retry-after",
            Scenario::Outage => "API answers 500 api_error on every path",
            Scenario::Slow => "API takes 6 s before answering (6 s to first token for streams)",
            Scenario::Flapping => {
                "alternates 200 and 529 on every request on /v1/messages (every model); /v1/models fine"
            }
            Scenario::Resets => "API connections are closed without an HTTP answer",
            Scenario::GarbageApi => "API answers 200 with truncated JSON, then HTML, then an empty body, rotating",
            Scenario::Billing => "API answers 402 billing_error",
            Scenario::GatewayTimeout => "API answers 504 timeout_error",
            Scenario::StormThenIncident => {
                "529s on /v1/messages (every model) from 1m; the status page admits it only at 11m; API recovers 15m; incident resolved 20m"
            }
            Scenario::Demo => {
                "two-minute demo: healthy, 529 storm on /v1/messages 20-60 s, official incident at 45 s, monitoring 70 s, resolved 100 s"
            }
            Scenario::AdminRateLimitedOnce => {
                "the first Admin API request answers 429 rate_limit_error with retry-after 1; later ones succeed"
            }
            Scenario::AdminErrorOnce => {
                "the first Admin API request answers 500 api_error; later ones succeed"
            }
            Scenario::AdminSmallBill => {
                "the Admin API cost report bills 123.45 cents on the first day of any range and 0.01 on the second"
            }
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Scenario::ALL
            .into_iter()
            .find(|scenario| scenario.name() == name)
    }

    pub(crate) fn status_page_mode(self) -> StatusPageMode {
        match self {
            Scenario::BotChallenge => StatusPageMode::BotChallenge,
            Scenario::SlowStatus => StatusPageMode::Slow,
            Scenario::GarbageStatus => StatusPageMode::Garbage,
            _ => StatusPageMode::Normal,
        }
    }

    /// The API's behaviour at story time `t`.
    pub(crate) fn api_mode(self, t: Duration) -> ApiMode {
        let ms = i64::try_from(t.as_millis()).unwrap_or(i64::MAX);
        match self {
            Scenario::Operational
            | Scenario::Incident
            | Scenario::Maintenance
            | Scenario::BotChallenge
            | Scenario::SlowStatus
            | Scenario::GarbageStatus
            | Scenario::Healthy
            | Scenario::AdminRateLimitedOnce
            | Scenario::AdminErrorOnce
            | Scenario::AdminSmallBill => ApiMode::Healthy,
            Scenario::OverloadStorm => overloaded(ramp(
                ms,
                &[
                    (minutes(1), 0.0),
                    (minutes(3), 1.0),
                    (minutes(8), 1.0),
                    (minutes(10), 0.0),
                ],
            )),
            Scenario::ModelOverload | Scenario::AllModelsStorm => {
                overloaded(ramp(ms, &MODEL_STORM_RAMP))
            }
            Scenario::StormThenIncident => overloaded(ramp(
                ms,
                &[
                    (minutes(1), 0.0),
                    (minutes(3), 1.0),
                    (minutes(14), 1.0),
                    (minutes(15), 0.0),
                ],
            )),
            Scenario::Demo => {
                // The storm starts hard at 20 s (half the requests fail at once, so the
                // demo's first probe after 20 s already shows it) and is total by 30 s.
                if (seconds(20)..seconds(60)).contains(&ms) {
                    overloaded(ramp(ms, &[(seconds(20), 0.5), (seconds(30), 1.0)]))
                } else {
                    ApiMode::Healthy
                }
            }
            Scenario::StreamOverload => ApiMode::StreamOverloaded,
            Scenario::RateLimited => ApiMode::RateLimited,
            Scenario::SpendCap => ApiMode::SpendCap,
            Scenario::Outage => ApiMode::Outage,
            Scenario::Slow => ApiMode::Slow,
            Scenario::Flapping => ApiMode::Flapping,
            Scenario::Resets => ApiMode::Resets,
            Scenario::GarbageApi => ApiMode::Garbage,
            Scenario::Billing => ApiMode::Billing,
            Scenario::GatewayTimeout => ApiMode::GatewayTimeout,
        }
    }

    /// The models this scenario's overload modes reach; `overload_model` is the one
    /// `model-overload` was given. Every other scenario overloads all models alike.
    pub(crate) fn overload_scope(self, overload_model: &str) -> ModelScope {
        match self {
            Scenario::ModelOverload => ModelScope::only([overload_model]),
            _ => ModelScope::All,
        }
    }

    /// The notices this scenario publishes, including the two older resolved incidents every
    /// story has; `overload_model` names the model in `model-overload`'s incident.
    pub(crate) fn notices(self, overload_model: &str) -> Vec<NoticeScript> {
        let mut notices = history();
        match self {
            Scenario::Incident => notices.push(opus_incident()),
            Scenario::ModelOverload => notices.push(model_incident(overload_model)),
            Scenario::AllModelsStorm => notices.push(all_models_incident()),
            Scenario::Maintenance => notices.push(api_maintenance()),
            Scenario::StormThenIncident => notices.push(api_incident(
                "w2n8c4r6t0pk",
                "q7d1x9m3b5hz",
                vec![
                    update(
                        minutes(11),
                        "investigating",
                        "We are investigating elevated error rates on the Claude API.",
                        None,
                        vec![(API, ComponentStatus::PartialOutage)],
                    ),
                    update(
                        minutes(13),
                        "identified",
                        "We have identified the cause of the elevated overloaded errors and are adding capacity.",
                        None,
                        vec![],
                    ),
                    update(
                        minutes(16),
                        "monitoring",
                        "A fix has been implemented and we are monitoring the results.",
                        None,
                        vec![(API, ComponentStatus::Operational)],
                    ),
                    update(
                        minutes(20),
                        "resolved",
                        "This incident has been resolved.",
                        None,
                        vec![],
                    ),
                ],
            )),
            Scenario::Demo => notices.push(api_incident(
                "d3m0x5k8v2qa",
                "h6t2w9p4n1cj",
                vec![
                    update(
                        seconds(45),
                        "investigating",
                        "We are investigating elevated error rates on the Claude API and claude.ai.",
                        None,
                        vec![
                            (CLAUDE_AI, ComponentStatus::DegradedPerformance),
                            (API, ComponentStatus::PartialOutage),
                        ],
                    ),
                    update(
                        seconds(70),
                        "monitoring",
                        "A fix has been implemented and we are monitoring the results.",
                        None,
                        vec![
                            (CLAUDE_AI, ComponentStatus::Operational),
                            (API, ComponentStatus::Operational),
                        ],
                    ),
                    update(
                        seconds(100),
                        "resolved",
                        "This incident has been resolved.",
                        None,
                        vec![],
                    ),
                ],
            )),
            _ => {}
        }
        notices
    }

    /// A one-line description of where the story is, for `/_sim/state` and the demo's logs.
    pub(crate) fn phase(self, t: Duration, overload_model: &str) -> String {
        let s = t.as_secs();
        let text = match self {
            Scenario::ModelOverload => {
                return model_storm_phase(s, overload_model, "other models fine")
            }
            Scenario::AllModelsStorm => {
                return model_storm_phase(s, "every model", "/v1/models fine")
            }
            Scenario::Operational => "all systems operational",
            Scenario::Healthy => "API healthy, status page operational",
            Scenario::Incident => match s {
                0..120 => "before the incident: all operational",
                120..300 => "incident investigating (minor), API degraded performance",
                300..480 => "incident identified, API degraded performance",
                480..600 => "incident identified (major), API partial outage",
                600..840 => "incident monitoring, API operational",
                _ => "incident resolved",
            },
            Scenario::Maintenance => match s {
                0..120 => "maintenance scheduled for 2m-6m",
                120..360 => "maintenance in progress, API under maintenance",
                _ => "maintenance completed",
            },
            Scenario::BotChallenge => "status page blocked by a 403 challenge, API healthy",
            Scenario::SlowStatus => "status page slow, API healthy",
            Scenario::GarbageStatus => "status page bodies are garbage, API healthy",
            Scenario::OverloadStorm => match s {
                0..60 => "API healthy, storm starts at 1m",
                60..180 => "529 storm ramping up",
                180..480 => "529 storm: every message overloaded",
                480..600 => "529 storm ramping down",
                _ => "API recovered",
            },
            Scenario::StormThenIncident => match s {
                0..60 => "API healthy, storm starts at 1m",
                60..180 => "529 storm ramping up, status page silent",
                180..660 => "529 storm, status page still operational",
                660..840 => "529 storm, official incident investigating",
                840..900 => "529 storm ramping down, official incident identified",
                900..960 => "API recovered, official incident identified",
                960..1200 => "API recovered, official incident monitoring",
                _ => "API recovered, official incident resolved",
            },
            Scenario::Demo => match s {
                0..20 => "healthy",
                20..45 => "529 storm, status page silent",
                45..60 => "529 storm, official incident investigating",
                60..70 => "API recovered, official incident investigating",
                70..100 => "API recovered, official incident monitoring",
                _ => "API recovered, official incident resolved",
            },
            Scenario::StreamOverload => "streams fail with overloaded error events",
            Scenario::RateLimited => "API rate limited (429, retry after 20 s)",
            Scenario::SpendCap => "API spend cap reached (429 enforced_spend_limit_reached)",
            Scenario::Outage => "API outage (500 api_error)",
            Scenario::Slow => "API slow (6 s)",
            Scenario::Flapping => "/v1/messages alternating 200 and 529",
            Scenario::Resets => "API connections reset",
            Scenario::GarbageApi => "API bodies are garbage",
            Scenario::Billing => "API billing error (402)",
            Scenario::GatewayTimeout => "API gateway timeout (504)",
            Scenario::AdminRateLimitedOnce => "Admin API rate limited once (429, retry after 1 s)",
            Scenario::AdminErrorOnce => "Admin API failed once (500 api_error)",
            Scenario::AdminSmallBill => "Admin API cost report: 123.45 + 0.01 cents",
        };
        text.to_owned()
    }
}

/// The ramp of `model-overload` and `all-models-storm`: `overload-storm`'s shape (two minutes
/// up, a plateau, two minutes down), with a plateau long enough for the status page to admit it.
const MODEL_STORM_RAMP: [(i64, f64); 4] = [
    (minutes(1), 0.0),
    (minutes(3), 1.0),
    (minutes(9), 1.0),
    (minutes(11), 0.0),
];

/// When the status page admits a model storm: six minutes after it began. The real page lags
/// 30–60 minutes; the story is compressed, as `storm-then-incident`'s ten minutes are.
const MODEL_STORM_INCIDENT_MS: i64 = minutes(7);

/// The phases of `model-overload` and `all-models-storm`, which share one timeline; `who` is
/// the overloaded model or "every model".
fn model_storm_phase(s: u64, who: &str, others: &str) -> String {
    match s {
        0..60 => format!("API healthy; 529s on /v1/messages for {who} start at 1m"),
        60..180 => {
            format!("529s on /v1/messages for {who} ramping up, {others}, status page silent")
        }
        180..420 => {
            format!("/v1/messages for {who} fully overloaded, {others}, status page silent")
        }
        420..540 => {
            format!("/v1/messages for {who} fully overloaded, official incident investigating")
        }
        540..660 => format!("529s for {who} ramping down, official incident identified"),
        660..840 => "API recovered, official incident monitoring".to_owned(),
        _ => "API recovered, official incident resolved".to_owned(),
    }
}

fn overloaded(share: f64) -> ApiMode {
    if share <= 0.0 {
        ApiMode::Healthy
    } else {
        ApiMode::Overloaded(share.min(1.0))
    }
}

/// A piecewise linear function through `points` (story ms, value), flat outside them.
fn ramp(ms: i64, points: &[(i64, f64)]) -> f64 {
    let Some(&(first_ms, first_value)) = points.first() else {
        return 0.0;
    };
    if ms < first_ms {
        // Before the first point the storm has not begun, whatever the first value is.
        return 0.0;
    }
    for pair in points.windows(2) {
        let (from_ms, from_value) = pair[0];
        let (to_ms, to_value) = pair[1];
        if ms < to_ms {
            if to_ms <= from_ms {
                return to_value;
            }
            let progress = (ms - from_ms) as f64 / (to_ms - from_ms) as f64;
            return from_value + (to_value - from_value) * progress;
        }
    }
    points.last().map_or(first_value, |&(_, value)| value)
}

/// The two older resolved incidents every story starts with, so incidents.json has history.
fn history() -> Vec<NoticeScript> {
    let two_days = -minutes(2 * 24 * 60 + 3 * 60);
    let nine_days = -minutes(9 * 24 * 60 + 7 * 60);
    vec![
        NoticeScript {
            id: Cow::Borrowed("c5lq0t8wzr2n"),
            name: Cow::Borrowed("Elevated errors on Claude Sonnet 4.6"),
            shortlink_code: Cow::Borrowed("4k8vq2m7xw1d"),
            kind: NoticeKind::Incident,
            impact: "minor",
            components: vec![CLAUDE_AI, API],
            updates: vec![
                update(
                    two_days,
                    "investigating",
                    "We are currently investigating elevated errors on requests to Claude Sonnet 4.6.",
                    None,
                    vec![
                        (CLAUDE_AI, ComponentStatus::DegradedPerformance),
                        (API, ComponentStatus::DegradedPerformance),
                    ],
                ),
                update(
                    two_days + minutes(24),
                    "monitoring",
                    "A fix has been implemented and we are monitoring the results.",
                    None,
                    vec![
                        (CLAUDE_AI, ComponentStatus::Operational),
                        (API, ComponentStatus::Operational),
                    ],
                ),
                update(
                    two_days + minutes(41),
                    "resolved",
                    "This incident has been resolved.",
                    None,
                    vec![],
                ),
            ],
        },
        NoticeScript {
            id: Cow::Borrowed("f0j7h3bq9y6e"),
            name: Cow::Borrowed("Claude Code sessions failing to start"),
            shortlink_code: Cow::Borrowed("9zt3c6n1pr5g"),
            kind: NoticeKind::Incident,
            impact: "major",
            components: vec![CLAUDE_CODE, CONSOLE],
            updates: vec![
                update(
                    nine_days,
                    "investigating",
                    "We are investigating reports of Claude Code sessions failing to start.",
                    None,
                    vec![
                        (CLAUDE_CODE, ComponentStatus::PartialOutage),
                        (CONSOLE, ComponentStatus::DegradedPerformance),
                    ],
                ),
                update(
                    nine_days + minutes(25),
                    "identified",
                    "The issue has been identified and a fix is being implemented.",
                    None,
                    vec![],
                ),
                update(
                    nine_days + minutes(70),
                    "monitoring",
                    "A fix has been implemented and we are monitoring the results.",
                    None,
                    vec![
                        (CLAUDE_CODE, ComponentStatus::Operational),
                        (CONSOLE, ComponentStatus::Operational),
                    ],
                ),
                update(
                    nine_days + minutes(95),
                    "resolved",
                    "This incident has been resolved.",
                    None,
                    vec![],
                ),
            ],
        },
    ]
}

fn opus_incident() -> NoticeScript {
    NoticeScript {
        id: Cow::Borrowed("8mz1q7v3k2xd"),
        name: Cow::Borrowed("Elevated errors on Claude Opus 4.8"),
        shortlink_code: Cow::Borrowed("2bnmh8z32dgd"),
        kind: NoticeKind::Incident,
        impact: "minor",
        components: vec![API],
        updates: vec![
            update(
                minutes(2),
                "investigating",
                "We are currently investigating elevated error rates on requests to Claude Opus 4.8.",
                None,
                vec![(API, ComponentStatus::DegradedPerformance)],
            ),
            update(
                minutes(5),
                "identified",
                "We are experiencing elevated error rates on Claude Opus 4.8. Our team has identified the issue and is working to fully resolve these errors.",
                None,
                vec![],
            ),
            update(
                minutes(8),
                "identified",
                "Error rates on Claude Opus 4.8 have increased for some requests. We are continuing to work on a fix.",
                Some("major"),
                vec![(API, ComponentStatus::PartialOutage)],
            ),
            update(
                minutes(10),
                "monitoring",
                "A fix has been implemented and we are monitoring the results.",
                None,
                vec![(API, ComponentStatus::Operational)],
            ),
            update(
                minutes(14),
                "resolved",
                "From 2 to 10 minutes into the story we saw elevated errors on requests to Claude Opus 4.8. This issue has been resolved.",
                None,
                vec![],
            ),
        ],
    }
}

fn api_maintenance() -> NoticeScript {
    NoticeScript {
        id: Cow::Borrowed("m4r8j2w6p0xs"),
        name: Cow::Borrowed("Scheduled maintenance of the Claude API"),
        shortlink_code: Cow::Borrowed("7yq3f5k9d1vb"),
        kind: NoticeKind::Maintenance {
            scheduled_for_ms: minutes(2),
            scheduled_until_ms: minutes(6),
        },
        impact: "maintenance",
        components: vec![API],
        updates: vec![
            update(
                0,
                "scheduled",
                "We will be performing scheduled maintenance on the Claude API. Requests may fail briefly during the window.",
                None,
                vec![],
            ),
            update(
                minutes(2),
                "in_progress",
                "Scheduled maintenance is currently in progress. We will provide updates as necessary.",
                None,
                vec![(API, ComponentStatus::UnderMaintenance)],
            ),
            update(
                minutes(6),
                "completed",
                "The scheduled maintenance has been completed.",
                None,
                vec![(API, ComponentStatus::Operational)],
            ),
        ],
    }
}

fn api_incident(
    id: &'static str,
    shortlink_code: &'static str,
    updates: Vec<UpdateScript>,
) -> NoticeScript {
    let components = if updates
        .iter()
        .any(|u| u.changes.iter().any(|(code, _)| *code == CLAUDE_AI))
    {
        vec![CLAUDE_AI, API]
    } else {
        vec![API]
    };
    NoticeScript {
        id: Cow::Borrowed(id),
        name: Cow::Borrowed("Elevated errors on the Claude API"),
        shortlink_code: Cow::Borrowed(shortlink_code),
        kind: NoticeKind::Incident,
        impact: "major",
        components,
        updates,
    }
}

/// `model-overload`'s incident, titled after the overloaded model as status.claude.com titles
/// its per-model incidents ("Elevated errors on Claude Opus 4.x", api-facts A4).
fn model_incident(model: &str) -> NoticeScript {
    let name = models::display_name(model);
    // Each model gets its own incident id, as each real incident has its own, so a client
    // that keys incidents by id sees a new incident when the overloaded model changes.
    let seed = format!("model-overload {}", models::normalise(model));
    NoticeScript {
        id: Cow::Owned(ids::derived_base36(&seed, 0)),
        name: Cow::Owned(format!("Elevated errors on {name}")),
        shortlink_code: Cow::Owned(ids::derived_base36(&seed, 1)),
        kind: NoticeKind::Incident,
        impact: "minor",
        components: vec![API],
        updates: model_storm_updates(
            format!("We are currently investigating elevated errors on requests to {name}."),
            format!("The issue causing elevated errors on {name} has been identified and a fix is being implemented."),
            format!("Between 1 and 11 minutes into the story, requests to {name} saw elevated overloaded errors. This issue has been resolved."),
            ComponentStatus::DegradedPerformance,
        ),
    }
}

/// `all-models-storm`'s incident: every model at once is a partial outage of the API.
fn all_models_incident() -> NoticeScript {
    NoticeScript {
        id: Cow::Borrowed("a4m7s2t9r5kq"),
        name: Cow::Borrowed("Elevated errors across all models"),
        shortlink_code: Cow::Borrowed("x3v8n1c6b0jz"),
        kind: NoticeKind::Incident,
        impact: "major",
        components: vec![API],
        updates: model_storm_updates(
            "We are currently investigating elevated errors on requests to all models.".into(),
            "We have identified the cause of the elevated overloaded errors across all models and are adding capacity.".into(),
            "Between 1 and 11 minutes into the story, requests to all models saw elevated overloaded errors. This issue has been resolved.".into(),
            ComponentStatus::PartialOutage,
        ),
    }
}

/// The shared timeline of the model storms' incidents: investigating at 7m, identified at 9m,
/// monitoring when the storm ends at 11m, resolved at 14m.
fn model_storm_updates(
    investigating: String,
    identified: String,
    resolved: String,
    api_status: ComponentStatus,
) -> Vec<UpdateScript> {
    vec![
        update(
            MODEL_STORM_INCIDENT_MS,
            "investigating",
            investigating,
            None,
            vec![(API, api_status)],
        ),
        update(minutes(9), "identified", identified, None, vec![]),
        update(
            minutes(11),
            "monitoring",
            "A fix has been implemented and we are monitoring the results.",
            None,
            vec![(API, ComponentStatus::Operational)],
        ),
        update(minutes(14), "resolved", resolved, None, vec![]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for scenario in Scenario::ALL {
            assert_eq!(Scenario::from_name(scenario.name()), Some(scenario));
        }
        assert_eq!(Scenario::from_name("nope"), None);
    }

    #[test]
    fn storm_ramps() {
        let at = |s: u64| Scenario::OverloadStorm.api_mode(Duration::from_secs(s));
        assert_eq!(at(30), ApiMode::Healthy);
        assert_eq!(at(60), ApiMode::Healthy);
        assert_eq!(at(120), ApiMode::Overloaded(0.5));
        assert_eq!(at(300), ApiMode::Overloaded(1.0));
        assert_eq!(at(540), ApiMode::Overloaded(0.5));
        assert_eq!(at(600), ApiMode::Healthy);
        assert_eq!(at(6000), ApiMode::Healthy);
    }

    #[test]
    fn demo_storm_window() {
        let at = |s: u64| Scenario::Demo.api_mode(Duration::from_secs(s));
        assert_eq!(at(10), ApiMode::Healthy);
        assert_eq!(at(20), ApiMode::Overloaded(0.5));
        assert_eq!(at(40), ApiMode::Overloaded(1.0));
        assert_eq!(at(60), ApiMode::Healthy);
    }

    #[test]
    fn model_storms_ramp_like_the_storm() {
        for scenario in [Scenario::ModelOverload, Scenario::AllModelsStorm] {
            let at = |s: u64| scenario.api_mode(Duration::from_secs(s));
            assert_eq!(at(30), ApiMode::Healthy);
            assert_eq!(at(120), ApiMode::Overloaded(0.5));
            assert_eq!(at(300), ApiMode::Overloaded(1.0));
            assert_eq!(at(600), ApiMode::Overloaded(0.5));
            assert_eq!(at(660), ApiMode::Healthy);
        }
        let opus = Scenario::ModelOverload.overload_scope("claude-opus-5-5");
        assert!(opus.covers("claude-opus-5-5") && !opus.covers("claude-sonnet-5-5"));
        assert_eq!(
            Scenario::AllModelsStorm.overload_scope("claude-opus-5-5"),
            ModelScope::All
        );
    }

    #[test]
    fn the_model_incident_is_named_after_its_model() {
        let named = |model: &str| {
            Scenario::ModelOverload
                .notices(model)
                .last()
                .map(|notice| notice.name.to_string())
        };
        assert_eq!(
            named("claude-opus-5-5").as_deref(),
            Some("Elevated errors on Claude Opus 5.5")
        );
        assert_eq!(
            named("claude-sonnet-5-5").as_deref(),
            Some("Elevated errors on Claude Sonnet 5.5")
        );
        assert_eq!(
            named("claude-haiku-4-5").as_deref(),
            Some("Elevated errors on Claude Haiku 4.5")
        );
    }

    #[test]
    fn ids_are_twelve_char_base36() {
        for scenario in Scenario::ALL {
            for notice in scenario
                .notices("claude-opus-5-5")
                .into_iter()
                .chain(scenario.notices("claude-haiku-4-5"))
            {
                assert_eq!(notice.id.len(), 12);
                assert!(notice
                    .id
                    .chars()
                    .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()));
            }
        }
    }
}
