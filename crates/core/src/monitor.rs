//! The monitor's state machine: folds each observation into the state and says what must happen
//! next (`apply(state, observation, now) -> effects`). The engine owns the IO around it.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::assess::{status_page_verdict, AssessConfig, FetchFailure, Verdict};
use crate::changes::{diff, diff_incidents, IncidentRef, StatusChange};
use crate::level::Level;
use crate::report::{Snapshot, StatusPageReport};
use crate::statuspage::{Incident, StatusPage};

/// How long an incident that left the unresolved list may wait for its final details before we
/// report it resolved without them.
pub const RESOLUTION_GRACE: Duration = Duration::minutes(2);

/// The result of one status-page fetch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum PageFetch {
    /// A page was read; `not_modified` when the server answered 304 and we reused our copy.
    Fetched {
        /// Boxed: a page is large next to a failure, and observations travel through a channel.
        page: Box<StatusPage>,
        source_url: String,
        not_modified: bool,
    },
    /// Neither the main host nor the fallback gave a usable page.
    Failed { failure: FetchFailure },
}

/// Something a source saw, sent to the monitor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Observation {
    /// A poll of `summary.json`.
    StatusPage { fetch: PageFetch },
    /// A read of `incidents.json`: recent history, any state.
    IncidentHistory { incidents: Vec<Incident> },
    /// A read of `incidents/{id}.json`, asked for by [`Effect::FetchIncident`].
    IncidentDetail {
        id: String,
        incident: Option<Box<Incident>>,
    },
}

/// What the monitor must do after an observation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum Effect {
    /// The status page changed: store it, print it.
    Change(StatusChange),
    /// The verdict changed.
    LevelChanged {
        from: Level,
        to: Level,
        reasons: Vec<String>,
    },
    /// An incident left the unresolved list: fetch `incidents/{id}.json` for its final update.
    FetchIncident { id: String },
}

/// Everything the monitor remembers between observations.
#[derive(Debug, Clone)]
pub struct MonitorState {
    config: AssessConfig,
    page: Option<StatusPage>,
    page_source: Option<String>,
    page_fetched_at: Option<DateTime<Utc>>,
    page_failure: Option<FetchFailure>,
    checked_at: Option<DateTime<Utc>>,
    verdict: Verdict,
    level_since: Option<DateTime<Utc>>,
    /// Incidents that left the unresolved list, waiting for their details, with when they left.
    pending_resolution: BTreeMap<String, (Incident, DateTime<Utc>)>,
}

impl MonitorState {
    /// A state that has seen nothing yet.
    pub fn new(config: AssessConfig) -> Self {
        let initial = Snapshot::initial();
        Self {
            config,
            page: None,
            page_source: None,
            page_fetched_at: None,
            page_failure: None,
            checked_at: None,
            verdict: Verdict {
                level: initial.level,
                reasons: initial.reasons,
            },
            level_since: None,
            pending_resolution: BTreeMap::new(),
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &AssessConfig {
        &self.config
    }

    /// Replaces the configuration (settings changed) and re-assesses.
    pub fn set_config(&mut self, config: AssessConfig, now: DateTime<Utc>) -> Vec<Effect> {
        self.config = config;
        let mut effects = Vec::new();
        self.reassess(now, &mut effects);
        effects
    }

    /// The last page we read, if any.
    pub fn page(&self) -> Option<&StatusPage> {
        self.page.as_ref()
    }

    /// True while the page lists an unresolved incident (the poller then polls faster).
    pub fn has_active_incident(&self) -> bool {
        self.page
            .as_ref()
            .is_some_and(|p| p.active_incidents().next().is_some())
    }

    /// Folds one observation into the state.
    pub fn apply(&mut self, observation: Observation, now: DateTime<Utc>) -> Vec<Effect> {
        let mut effects = Vec::new();
        self.checked_at = Some(now);
        match observation {
            Observation::StatusPage { fetch } => self.apply_page(fetch, now, &mut effects),
            Observation::IncidentHistory { incidents } => {
                for incident in incidents {
                    self.settle_pending(&incident.key(), Some(incident), &mut effects);
                }
            }
            Observation::IncidentDetail { id, incident } => {
                self.settle_pending(&id, incident.map(|i| *i), &mut effects)
            }
        }
        self.expire_pending(now, &mut effects);
        self.reassess(now, &mut effects);
        effects
    }

    fn apply_page(&mut self, fetch: PageFetch, now: DateTime<Utc>, effects: &mut Vec<Effect>) {
        match fetch {
            PageFetch::Fetched {
                page,
                source_url,
                not_modified: _,
            } => {
                for change in diff(self.page.as_ref(), &page) {
                    match change {
                        // An incident that only left the list waits for its final update, so the
                        // resolution is told once, with the page's own words.
                        StatusChange::IncidentResolved {
                            ref incident,
                            confirmed: false,
                        } => {
                            if let Some(old) = self
                                .page
                                .as_ref()
                                .and_then(|p| p.incidents.iter().find(|i| i.key() == incident.id))
                            {
                                self.pending_resolution
                                    .insert(incident.id.clone(), (old.clone(), now));
                                effects.push(Effect::FetchIncident {
                                    id: incident.id.clone(),
                                });
                            }
                        }
                        other => effects.push(Effect::Change(other)),
                    }
                }
                self.page = Some(*page);
                self.page_source = Some(source_url);
                self.page_fetched_at = Some(now);
                self.page_failure = None;
            }
            PageFetch::Failed { failure } => self.page_failure = Some(failure),
        }
    }

    fn settle_pending(&mut self, id: &str, detail: Option<Incident>, effects: &mut Vec<Effect>) {
        let Some((old, _)) = self.pending_resolution.remove(id) else {
            return;
        };
        match detail {
            Some(detail) => {
                let mut changes = Vec::new();
                diff_incidents(
                    std::slice::from_ref(&old),
                    std::slice::from_ref(&detail),
                    &mut changes,
                );
                let resolved = changes
                    .iter()
                    .any(|c| matches!(c, StatusChange::IncidentResolved { .. }));
                effects.extend(changes.into_iter().map(Effect::Change));
                if !resolved && !detail.status.is_closed() {
                    // It left the list but is not closed: say so honestly rather than guess.
                    effects.push(Effect::Change(StatusChange::IncidentResolved {
                        incident: IncidentRef::from(&detail),
                        confirmed: false,
                    }));
                }
            }
            None => effects.push(Effect::Change(StatusChange::IncidentResolved {
                incident: IncidentRef::from(&old),
                confirmed: false,
            })),
        }
    }

    fn expire_pending(&mut self, now: DateTime<Utc>, effects: &mut Vec<Effect>) {
        let expired: Vec<String> = self
            .pending_resolution
            .iter()
            .filter(|(_, (_, since))| now - *since >= RESOLUTION_GRACE)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            self.settle_pending(&id, None, effects);
        }
    }

    fn reassess(&mut self, now: DateTime<Utc>, effects: &mut Vec<Effect>) {
        let verdict = status_page_verdict(
            self.page.as_ref(),
            self.page_failure.as_ref(),
            &self.config,
        );
        if verdict.level != self.verdict.level || self.level_since.is_none() {
            effects.push(Effect::LevelChanged {
                from: self.verdict.level,
                to: verdict.level,
                reasons: verdict.reasons.clone(),
            });
            self.level_since = Some(now);
        }
        self.verdict = verdict;
    }

    /// The current snapshot for the front ends.
    pub fn snapshot(&self) -> Snapshot {
        let mut status_page = match &self.page {
            Some(page) => StatusPageReport::from_page(page, &self.config.followed_components),
            None => StatusPageReport::default(),
        };
        status_page.source_url = self.page_source.clone();
        status_page.fetched_at = self.page_fetched_at;
        status_page.error = self.page_failure.as_ref().map(|f| f.detail.clone());
        Snapshot {
            level: self.verdict.level,
            reasons: self.verdict.reasons.clone(),
            level_since: self.level_since,
            checked_at: self.checked_at,
            status_page,
        }
    }
}
