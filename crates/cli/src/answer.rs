//! `check --model M`: the answer for one model. The snapshot's entry for M gives its level; the
//! API-wide verdict (status page, reachability, offline) still counts, because an outage of the
//! whole API hits M too. Everything else, such as another model's overload, is left as context.

use claude_status_core::assess::worse;
use claude_status_core::models::ModelReport;
use claude_status_core::pricing::normalize_model;
use claude_status_core::report::Snapshot;
use claude_status_core::verdict::{model_line, Answer, HitsYou};
use claude_status_core::Level;

/// What `check --model M` says.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelAnswer {
    /// The model id, normalised.
    pub model: String,
    pub level: Level,
    pub reasons: Vec<String>,
    /// Set when M's own trouble decided the level.
    pub subject: Option<String>,
    /// M's display name when its own verdict is the answer (trouble or not), for the headline.
    pub headline_model: Option<String>,
    pub hits_you: HitsYou,
}

impl ModelAnswer {
    /// Makes the snapshot answer for the model: its level, reasons, subject and "does it hit
    /// you?", so the JSON, the human report and the exit code agree. Returns the name the human
    /// headline should carry.
    pub fn apply_to(self, snapshot: &mut Snapshot) -> Option<String> {
        snapshot.level = self.level;
        snapshot.reasons = self.reasons;
        snapshot.subject = self.subject;
        snapshot.hits_you = self.hits_you;
        self.headline_model
    }
}

/// The answer for `model`, `None` when the snapshot does not list it (it always does when the
/// model is pinned).
pub fn answer_for(snapshot: &Snapshot, model: &str) -> Option<ModelAnswer> {
    let key = normalize_model(model);
    let entry = snapshot.models.iter().find(|m| m.model == key)?;
    // With no model deciding, the snapshot's level is the API-wide verdict's. When the model
    // itself decided, the API-wide verdict was milder than its own level. When another model
    // decided, the API-wide level is hidden below that model's; it is not guessed.
    let api_level = match snapshot.subject.as_deref() {
        None => snapshot.level,
        Some(_) => Level::Operational,
    };
    let level = worse(entry.level, api_level);
    let model_decides = entry.level == level && !level.is_indeterminate();
    let own_line = model_line(entry);
    let others: Vec<String> = snapshot
        .reasons
        .iter()
        .filter(|r| !is_about(r, entry))
        .cloned()
        .collect();
    let mut reasons = Vec::with_capacity(others.len() + 1);
    if level == entry.level {
        reasons.push(own_line);
        reasons.extend(others);
    } else {
        reasons.extend(others);
        reasons.push(own_line);
    }
    let troubled = model_decides && level != Level::Operational;
    let hits_you = if troubled {
        let reason = entry.reasons.first().cloned().unwrap_or_default();
        HitsYou {
            answer: Answer::Yes,
            text: format!(
                "Yes: {} is {}: {reason}.",
                entry.display_name,
                level.as_str()
            ),
        }
    } else if level != entry.level {
        // The API-wide verdict decided; the snapshot's answer is about it.
        snapshot.hits_you.clone()
    } else if level.is_indeterminate() {
        HitsYou {
            answer: Answer::Unknown,
            text: format!(
                "Unknown: {} cannot be checked ({}).",
                entry.display_name,
                entry
                    .reasons
                    .first()
                    .map(String::as_str)
                    .unwrap_or("no probe answered")
            ),
        }
    } else {
        HitsYou {
            answer: Answer::No,
            text: format!("No: {} answers normally.", entry.display_name),
        }
    };
    Some(ModelAnswer {
        model: key,
        level,
        reasons,
        subject: troubled.then(|| entry.model.clone()),
        headline_model: model_decides.then(|| entry.display_name.clone()),
        hits_you,
    })
}

/// True for the reasons that describe this model (its menu line, with or without a note).
fn is_about(reason: &str, model: &ModelReport) -> bool {
    reason.starts_with(&format!("{}: ", model.display_name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use claude_status_core::verdict::Coverage;

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

    fn snapshot(level: Level, subject: Option<&str>, models: Vec<ModelReport>) -> Snapshot {
        let mut snapshot = Snapshot::initial();
        snapshot.level = level;
        snapshot.subject = subject.map(str::to_owned);
        snapshot.reasons = models
            .iter()
            .filter(|m| m.level != Level::Operational)
            .map(model_line)
            .collect();
        snapshot.models = models;
        snapshot.coverage = Coverage {
            overloads_watched: true,
            watched_by: vec!["per-model probes".to_owned()],
            warning: None,
        };
        snapshot
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

    #[test]
    fn another_models_overload_does_not_decide_the_answer() {
        let snapshot = snapshot(
            Level::Overloaded,
            Some("claude-opus-5-5"),
            vec![opus_overloaded(), sonnet_fine()],
        );
        let answer = answer_for(&snapshot, "claude-sonnet-5-5").unwrap();
        assert_eq!(answer.level, Level::Operational);
        assert_eq!(answer.subject, None);
        assert_eq!(answer.headline_model.as_deref(), Some("Sonnet 5.5"));
        assert_eq!(
            answer.reasons,
            [
                "Sonnet 5.5: operational, answers normally (first token 30 ms)",
                "Opus 5.5: overloaded, 529 on 3 of the last 4 probes"
            ]
        );
        assert_eq!(answer.hits_you.answer, Answer::No);
        assert_eq!(answer.hits_you.text, "No: Sonnet 5.5 answers normally.");
    }

    #[test]
    fn the_models_own_overload_is_the_answer() {
        let snapshot = snapshot(
            Level::Overloaded,
            Some("claude-opus-5-5"),
            vec![opus_overloaded(), sonnet_fine()],
        );
        let mut answered = snapshot.clone();
        let headline = answer_for(&snapshot, "claude-opus-5-5-20270101")
            .unwrap()
            .apply_to(&mut answered);
        assert_eq!(headline.as_deref(), Some("Opus 5.5"));
        assert_eq!(answered.level, Level::Overloaded);
        assert_eq!(answered.subject.as_deref(), Some("claude-opus-5-5"));
        assert_eq!(
            answered.reasons[0],
            "Opus 5.5: overloaded, 529 on 3 of the last 4 probes"
        );
        assert_eq!(
            answered.hits_you.text,
            "Yes: Opus 5.5 is overloaded: 529 on 3 of the last 4 probes."
        );
    }

    #[test]
    fn an_api_wide_outage_hits_every_model() {
        let mut snapshot = snapshot(Level::Outage, None, vec![sonnet_fine()]);
        snapshot.reasons = vec!["our probes: the API answers 500".to_owned()];
        snapshot.hits_you = HitsYou {
            answer: Answer::Yes,
            text: "Yes: our probes: the API answers 500.".to_owned(),
        };
        let answer = answer_for(&snapshot, "claude-sonnet-5-5").unwrap();
        assert_eq!(answer.level, Level::Outage);
        assert_eq!(answer.headline_model, None);
        assert_eq!(answer.reasons[0], "our probes: the API answers 500");
        assert_eq!(answer.hits_you, snapshot.hits_you);
    }

    #[test]
    fn a_model_nobody_can_check_is_unknown_not_operational() {
        let unwatched = model(
            "claude-sonnet-5-5",
            "Sonnet 5.5",
            Level::Unknown,
            claude_status_core::models::NOT_WATCHED,
        );
        let snapshot = snapshot(Level::Operational, None, vec![unwatched]);
        let answer = answer_for(&snapshot, "claude-sonnet-5-5").unwrap();
        assert_eq!(answer.level, Level::Unknown);
        assert_eq!(answer.hits_you.answer, Answer::Unknown);
        assert!(answer.hits_you.text.contains("overloads are not watched"));
        assert!(answer_for(&snapshot, "claude-haiku-4-5").is_none());
    }
}
