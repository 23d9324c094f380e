//! The one decision every front end shows: the API-wide verdict (status page, reachability,
//! offline) folded with the per-model verdicts into the app's level, its reasons, the model that
//! decided it, and the answer to "does it hit you?". The tray, the dashboard, the CLI and the
//! notifications all read this one value, so they cannot contradict each other.

use serde::{Deserialize, Serialize};

use crate::assess::{worse, Verdict};
use crate::level::Level;
use crate::models::{ModelReport, NOT_WATCHED};
use crate::probe::ProbeOutcome;

/// The answer to "does it hit you?".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    Yes,
    Probably,
    Maybe,
    No,
    Unknown,
}

/// "Does it hit you?", decided with the level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HitsYou {
    pub answer: Answer,
    /// One sentence, starting with the answer ("Yes: …").
    pub text: String,
}

/// What the app can see of an overload, said plainly.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Coverage {
    /// True when something sees each overloaded attempt as it happens (per-model probes or the
    /// gateway); Claude Code's transcripts alone report a storm only after its retries.
    pub overloads_watched: bool,
    /// What watches, in words ("per-model probes", "the gateway", "Claude Code's transcripts").
    pub watched_by: Vec<String>,
    /// Set when overloads are not watched: the sentence every front end shows.
    pub warning: Option<String>,
}

/// The app's decision at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub verdict: Verdict,
    /// The model whose verdict decided the level, when one did (its id).
    pub subject: Option<String>,
    /// Its display name ("Opus 5.5").
    pub subject_name: Option<String>,
    /// Another followed model that answers normally, to suggest.
    pub alternative: Option<String>,
    pub hits_you: HitsYou,
}

/// What one model adds to the app's level: its own level when the user relies on it, at most
/// "degraded" (with its name) when nobody uses it now. Levels that mean "can't tell" add nothing.
pub fn model_contribution(model: &ModelReport) -> Level {
    if model.level.is_indeterminate() || model.level == Level::Operational {
        return Level::Operational;
    }
    if model.relied_on {
        model.level
    } else if model.level.severity() > Level::Degraded.severity() {
        Level::Degraded
    } else {
        model.level
    }
}

/// The menu's line for a model: "Opus 5.5: overloaded, 529 on 3 of the last 4 probes".
pub fn model_line(model: &ModelReport) -> String {
    let first = model.reasons.first().map(String::as_str).unwrap_or("");
    if first.is_empty() {
        format!("{}: {}", model.display_name, model.level.as_str())
    } else {
        format!("{}: {}, {first}", model.display_name, model.level.as_str())
    }
}

/// The facts about the API-wide side that "does it hit you?" needs besides the verdict.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiFacts {
    /// Our reachability probes are in a bad episode (our own evidence, not the page's words).
    pub probes_see_trouble: bool,
    /// The latest reachability probe's outcome, if one ran.
    pub latest_probe: Option<ProbeOutcome>,
}

/// Folds the API-wide verdict with the models' verdicts.
pub fn decide(
    api: Verdict,
    facts: ApiFacts,
    models: &[ModelReport],
    coverage: &Coverage,
) -> Decision {
    // The model that adds the most: ties go to a model the user relies on, then the most used.
    let deciding = models
        .iter()
        .filter(|m| model_contribution(m) != Level::Operational)
        .max_by(|a, b| {
            let key = |m: &ModelReport| {
                (
                    model_contribution(m).severity(),
                    m.relied_on,
                    (m.share_7d * 1000.0) as u64,
                )
            };
            key(a).cmp(&key(b))
        });
    let contribution = deciding.map_or(Level::Operational, model_contribution);
    let level = worse(api.level, contribution);
    let model_decides = deciding.is_some()
        && contribution.severity() > api.level.severity()
        && level == contribution;

    let mut reasons = Vec::new();
    let troubled: Vec<&ModelReport> = models
        .iter()
        .filter(|m| model_contribution(m) != Level::Operational)
        .collect();
    if model_decides {
        if let Some(m) = deciding {
            reasons.push(model_reason(m));
        }
        reasons.extend(api.reasons.iter().cloned());
        for m in &troubled {
            if Some(m.model.as_str()) != deciding.map(|d| d.model.as_str()) {
                reasons.push(model_reason(m));
            }
        }
    } else {
        reasons.extend(api.reasons.iter().cloned());
        reasons.extend(troubled.iter().map(|m| model_reason(m)));
    }
    // A retired or unknown model the user relies on is their problem to fix, said once.
    for m in models
        .iter()
        .filter(|m| m.relied_on && m.level == Level::Unknown)
    {
        if m.retired.is_some() || m.reasons.iter().any(|r| r.contains("404")) {
            reasons.push(model_line(m));
        }
    }
    if let Some(warning) = &coverage.warning {
        reasons.push(warning.clone());
    }

    let subject = model_decides
        .then(|| deciding.map(|m| m.model.clone()))
        .flatten();
    let subject_name = model_decides
        .then(|| deciding.map(|m| m.display_name.clone()))
        .flatten();
    let subject_seen = deciding
        .filter(|_| model_decides)
        .and_then(|m| m.last_probe.as_ref())
        .map(|p| p.at);
    let alternative = subject
        .as_ref()
        .and_then(|subject| alternative_to(subject, subject_seen, models));
    let verdict = Verdict { level, reasons };
    let hits_you = hits_you(
        &verdict,
        facts,
        deciding.filter(|_| model_decides),
        alternative.as_deref(),
        models,
        coverage,
    );
    Decision {
        verdict,
        subject,
        subject_name,
        alternative,
        hits_you,
    }
}

/// The answer for one model (`check --model M`): M's own verdict folded with the API-wide one
/// (an outage of the whole API hits M too), by the same rules as `decide`, with M relied on and
/// every other model's trouble kept as context after it, never deciding. When nothing vouches for
/// M (no probe answered, overloads not watched) the answer is M's "can't tell", never
/// operational. `None` when M is not in `models`.
pub fn decide_for_model(
    api: Verdict,
    facts: ApiFacts,
    models: &[ModelReport],
    coverage: &Coverage,
    model: &str,
) -> Option<Decision> {
    let entry = models.iter().find(|m| m.model == model)?;
    let mut own = entry.clone();
    own.relied_on = true;
    own.followed = true;
    let only = std::slice::from_ref(&own);
    let mut decision = decide(api, facts, only, coverage);
    let line = model_line(&own);
    if own.level.is_indeterminate() && decision.verdict.level == Level::Operational {
        decision.verdict.level = own.level;
    }
    decision.verdict.reasons.retain(|r| *r != line);
    if decision.verdict.level == own.level {
        decision.verdict.reasons.insert(0, line);
    } else {
        decision.verdict.reasons.push(line);
    }
    for other in models
        .iter()
        .filter(|m| m.model != model && m.followed && m.level != Level::Operational)
    {
        decision.verdict.reasons.push(model_line(other));
    }
    let seen = own.last_probe.as_ref().map(|p| p.at);
    decision.alternative = decision
        .subject
        .as_ref()
        .and_then(|_| alternative_to(model, seen, models));
    decision.hits_you = hits_you(
        &decision.verdict,
        facts,
        decision.subject.as_ref().map(|_| &own),
        decision.alternative.as_deref(),
        only,
        coverage,
    );
    Some(decision)
}

/// The followed model to suggest instead of `subject` (whose latest probe was at
/// `subject_seen`): the first other one that is operational and answers now.
fn alternative_to(
    subject: &str,
    subject_seen: Option<chrono::DateTime<chrono::Utc>>,
    models: &[ModelReport],
) -> Option<String> {
    models
        .iter()
        .filter(|m| m.followed && m.model != subject && m.level == Level::Operational)
        .find(|m| answers_now(m, subject_seen))
        .map(|m| m.display_name.clone())
}

/// Whether a model's evidence says it answers now, so that it can be named as the one to switch
/// to: its latest probe passed no more than one most-used interval before the deciding model's
/// latest probe (a pass from before a storm says nothing about the storm), or, without probes,
/// the user's own recent requests to it all passed.
fn answers_now(m: &ModelReport, subject_seen: Option<chrono::DateTime<chrono::Utc>>) -> bool {
    let fresh = chrono::Duration::seconds(crate::models::MOST_USED_PROBE_INTERVAL.as_secs() as i64);
    match (&m.last_probe, subject_seen) {
        (Some(probe), Some(seen)) => probe.outcome == ProbeOutcome::Ok && probe.at + fresh >= seen,
        (Some(probe), None) => probe.outcome == ProbeOutcome::Ok,
        (None, _) => m
            .own_traffic
            .as_ref()
            .is_some_and(|t| t.requests > 0 && t.overloaded == 0 && t.server_errors == 0),
    }
}

fn model_reason(m: &ModelReport) -> String {
    let line = model_line(m);
    if m.relied_on || model_contribution(m) == m.level {
        line
    } else {
        format!("{line} (a model you do not use now)")
    }
}

/// True for a model the API refuses by name (retired, or an id it does not know): the user's
/// requests to it fail whatever the API's health.
fn refused_by_name(m: &ModelReport) -> bool {
    m.level == Level::Unknown
        && (m.retired.is_some() || m.reasons.iter().any(|r| r.contains("404")))
}

fn hits_you(
    verdict: &Verdict,
    facts: ApiFacts,
    model: Option<&ModelReport>,
    alternative: Option<&str>,
    models: &[ModelReport],
    coverage: &Coverage,
) -> HitsYou {
    let first = verdict.reasons.first().cloned().unwrap_or_default();
    let say = |answer: Answer, text: String| HitsYou { answer, text };
    match facts.latest_probe {
        Some(ProbeOutcome::RateLimited) => {
            return say(
                Answer::Yes,
                "Yes: your key is rate limited. See Budget.".to_owned(),
            )
        }
        Some(ProbeOutcome::SpendCap) => {
            return say(
                Answer::Yes,
                "Yes: your organisation reached its monthly spend cap.".to_owned(),
            )
        }
        Some(ProbeOutcome::Billing) => {
            return say(
                Answer::Yes,
                "Yes: the API refuses your key for a billing problem.".to_owned(),
            )
        }
        Some(ProbeOutcome::Auth | ProbeOutcome::Permission) => {
            return say(
                Answer::Unknown,
                "Unknown: the API key was refused, so our probes cannot tell. Fix it in Settings."
                    .to_owned(),
            )
        }
        _ => {}
    }
    if let Some(model) = model {
        let also = alternative
            .map(|a| format!(" {a} answers normally."))
            .unwrap_or_default();
        let answer = if model.relied_on {
            Answer::Yes
        } else {
            Answer::Maybe
        };
        let word = match answer {
            Answer::Yes => "Yes",
            _ => "Maybe",
        };
        let reason = model.reasons.first().cloned().unwrap_or_default();
        return say(
            answer,
            format!(
                "{word}: {} is {}: {reason}.{also}",
                model.display_name,
                model.level.as_str()
            ),
        );
    }
    match verdict.level {
        Level::Offline => say(
            Answer::Yes,
            "This computer cannot reach the network (a problem on your side, not Anthropic's)."
                .to_owned(),
        ),
        Level::Overloaded | Level::Outage if facts.probes_see_trouble => {
            say(Answer::Yes, format!("Yes: {first}."))
        }
        Level::Overloaded | Level::Outage => say(
            Answer::Probably,
            if facts.latest_probe.is_some() {
                format!("Probably: {first}; our probes still get answers.")
            } else {
                format!("Probably: {first}.")
            },
        ),
        Level::Degraded | Level::Maintenance => say(Answer::Maybe, format!("Maybe: {first}.")),
        Level::Operational => {
            let relied: Vec<&ModelReport> = models.iter().filter(|m| m.relied_on).collect();
            // "The models you use answer normally" must be true when it is said: a retired or
            // unknown model the user relies on fails every request (their problem, as a rate
            // limit is), and one that has not answered yet cannot be vouched for.
            if let Some(m) = relied.iter().find(|m| refused_by_name(m)) {
                say(Answer::Yes, format!("Yes: {}.", model_line(m)))
            } else if !coverage.overloads_watched {
                say(
                    Answer::No,
                    format!("No, as far as we can see: {NOT_WATCHED}."),
                )
            } else if let Some(m) = relied.iter().find(|m| m.level.is_indeterminate()) {
                say(Answer::Unknown, format!("Unknown: {}.", model_line(m)))
            } else {
                say(
                    Answer::No,
                    "No: the models you use answer normally.".to_owned(),
                )
            }
        }
        Level::Unknown => say(Answer::Unknown, format!("Unknown: {first}.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(id: &str, name: &str, level: Level, reason: &str) -> ModelReport {
        ModelReport {
            model: id.to_owned(),
            class: None,
            display_name: name.to_owned(),
            level,
            reasons: vec![reason.to_owned()],
            followed: true,
            relied_on: true,
            pinned: true,
            share_7d: 0.0,
            requests_7d: 0,
            probe_interval_secs: Some(60),
            last_probe: None,
            own_traffic: None,
            incidents: Vec::new(),
            retired: None,
        }
    }

    fn watched() -> Coverage {
        Coverage {
            overloads_watched: true,
            watched_by: vec!["per-model probes".to_owned()],
            warning: None,
        }
    }

    fn api(level: Level, reason: &str) -> Verdict {
        Verdict {
            level,
            reasons: vec![reason.to_owned()],
        }
    }

    fn opus_overloaded() -> ModelReport {
        model(
            "claude-opus-5-5",
            "Opus 5.5",
            Level::Overloaded,
            "529 on 3 of the last 4 probes",
        )
    }

    fn sonnet_fine() -> ModelReport {
        model(
            "claude-sonnet-5-5",
            "Sonnet 5.5",
            Level::Operational,
            "answers normally (first token 30 ms)",
        )
    }

    fn for_model(api: Verdict, models: &[ModelReport], coverage: &Coverage, m: &str) -> Decision {
        decide_for_model(api, ApiFacts::default(), models, coverage, m).unwrap()
    }

    #[test]
    fn another_models_overload_is_context_not_the_answer() {
        let models = [opus_overloaded(), sonnet_fine()];
        let ok = api(Level::Operational, "our probes: the API answers (ok, 3 ms)");
        let d = for_model(ok.clone(), &models, &watched(), "claude-sonnet-5-5");
        assert_eq!(d.verdict.level, Level::Operational);
        assert_eq!(d.subject, None);
        assert_eq!(
            d.verdict.reasons,
            [
                "Sonnet 5.5: operational, answers normally (first token 30 ms)",
                "our probes: the API answers (ok, 3 ms)",
                "Opus 5.5: overloaded, 529 on 3 of the last 4 probes"
            ]
        );
        assert_eq!(d.hits_you.answer, Answer::No);
        // The whole app's verdict is Opus's overload, from the same rules.
        let app = decide(ok, ApiFacts::default(), &models, &watched());
        assert_eq!(app.verdict.level, Level::Overloaded);
    }

    #[test]
    fn the_models_own_overload_is_the_answer() {
        let models = [opus_overloaded(), sonnet_fine()];
        let ok = api(Level::Operational, "our probes: the API answers (ok, 3 ms)");
        let d = for_model(ok, &models, &watched(), "claude-opus-5-5");
        assert_eq!(d.verdict.level, Level::Overloaded);
        assert_eq!(d.subject.as_deref(), Some("claude-opus-5-5"));
        assert_eq!(
            d.verdict.reasons[0],
            "Opus 5.5: overloaded, 529 on 3 of the last 4 probes"
        );
        assert_eq!(d.hits_you.answer, Answer::Yes);
        assert!(
            d.hits_you
                .text
                .starts_with("Yes: Opus 5.5 is overloaded: 529 on 3 of the last 4 probes."),
            "{}",
            d.hits_you.text
        );
    }

    #[test]
    fn an_api_wide_outage_hits_every_model() {
        let models = [sonnet_fine()];
        let down = api(Level::Outage, "our probes: the API answers 500");
        let facts = ApiFacts {
            probes_see_trouble: true,
            latest_probe: Some(ProbeOutcome::ServerError),
        };
        let d = decide_for_model(down, facts, &models, &watched(), "claude-sonnet-5-5").unwrap();
        assert_eq!(d.verdict.level, Level::Outage);
        assert_eq!(d.subject, None);
        assert_eq!(d.verdict.reasons[0], "our probes: the API answers 500");
        assert_eq!(d.hits_you.answer, Answer::Yes);
    }

    #[test]
    fn a_model_nobody_can_check_is_unknown_not_operational() {
        let unwatched = model(
            "claude-sonnet-5-5",
            "Sonnet 5.5",
            Level::Unknown,
            NOT_WATCHED,
        );
        let coverage = Coverage {
            overloads_watched: false,
            watched_by: Vec::new(),
            warning: Some(NOT_WATCHED.to_owned()),
        };
        let ok = api(Level::Operational, "our probes: the API answers (ok, 3 ms)");
        let models = [unwatched];
        let d = for_model(ok.clone(), &models, &coverage, "claude-sonnet-5-5");
        assert_eq!(d.verdict.level, Level::Unknown);
        assert_eq!(d.hits_you.answer, Answer::Unknown);
        assert!(d.hits_you.text.contains("overloads are not watched"));
        assert!(decide_for_model(
            ok,
            ApiFacts::default(),
            &models,
            &coverage,
            "claude-haiku-4-5"
        )
        .is_none());
    }
}
