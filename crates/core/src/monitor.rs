//! The monitor's state machine: folds each observation into the state and says what must happen
//! next (`apply(state, observation, now) -> effects`). The engine owns the IO around it.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::alerts::{AlertPolicy, AlertState, AlertStep, Notification};
use crate::assess::{status_page_verdict, worse, AssessConfig, FetchFailure, Verdict};
use crate::changes::{diff, diff_incidents, IncidentRef, StatusChange};
use crate::health::{HealthConfig, ProbeHealth, ProbeKind, ProbeResult, ProbeVerdict};
use crate::level::Level;
use crate::models::{ModelBook, ModelContext, ModelReport, ModelsConfig};
use crate::probe::ProbeOutcome;
use crate::report::{ProbeReport, Snapshot, StatusPageReport};
use crate::statuspage::{Incident, StatusPage};
use crate::tracker::{Tracker, UsageAlertPolicy, UsageAlerts};
use crate::usage::UsageRecord;
use crate::verdict::{decide, ApiFacts, Coverage, Decision, HitsYou};

/// How long an incident that left the unresolved list may wait for its final details before we
/// report it resolved without them.
pub const RESOLUTION_GRACE: Duration = Duration::minutes(2);

/// How far back an episode of our own may explain an incident the status page opens later: the
/// page has lagged outages by 30 to 60 minutes, and our probes may have recovered by then.
pub const LEAD_TIME_LOOKBACK: Duration = Duration::hours(2);

/// Everything the monitor's decisions depend on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorConfig {
    pub assess: AssessConfig,
    pub health: HealthConfig,
    pub alerts: AlertPolicy,
    /// The models the user pins or drops, the default model, and what can watch them.
    #[serde(default)]
    pub models: ModelsConfig,
}

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
    /// One API probe's result.
    Probe { result: Box<ProbeResult> },
    /// Requests seen by a usage source (Claude Code's logs, the gateway), in time order.
    Usage { records: Vec<UsageRecord> },
    /// The Admin API's cost report for the UTC month so far: the organisation's own bill, which
    /// the tracker prefers over costs computed from tokens.
    AdminCost {
        month_to_date_usd: f64,
        as_of: DateTime<Utc>,
    },
    /// Plan-window readings (the status line's `rate_limits`, the gateway's unified headers).
    /// `replay` marks readings read back from the store at start: crossings they show were
    /// already announced before, so they raise no alert again.
    PlanReadings {
        readings: Vec<crate::plan::PlanReading>,
        #[serde(default)]
        replay: bool,
    },
    /// The gateway moved a model's requests to another provider, or back to Claude.
    Fallback { notice: crate::fallback::GateNotice },
    /// The gateway's requests, successful or not, for the spike alerts (`spikes::SpikeWatch`).
    /// `replay` marks requests read back from the ledger at start: the ledger does not say which
    /// answers were streamed, so they count toward the hourly and trailing-hour figures only,
    /// never toward the latency rules (a stream's duration must never be timed as an answer's).
    Traffic {
        samples: Vec<crate::spikes::TrafficSample>,
        #[serde(default)]
        replay: bool,
    },
    /// The hourly values of the last 7 days read back from the ledger at start, so a restart
    /// keeps the spike alerts' baselines.
    TrafficBaseline {
        hours: Vec<crate::spikes::HourValue>,
    },
    /// A new price table (a refresh of the ecosystem's table, or the override file edited).
    #[serde(skip)]
    Catalog {
        catalog: Box<crate::catalog::Catalog>,
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
    /// Tell the user (OS notification, or a line in `watch`).
    Notify(Notification),
    /// The user's own traffic just failed on a model: probe that model now rather than at its
    /// next turn.
    ProbeModel { model: String },
    /// The status page opened an incident after our own probes had seen trouble: record how much
    /// earlier we knew.
    LeadTime {
        incident_id: String,
        incident_name: String,
        /// The model whose trouble we saw first, for an incident that names models (or the model
        /// that saw it first, for one on every model); `None` for the API-wide probes.
        model: Option<String>,
        /// When our probes first saw the trouble.
        detected_at: DateTime<Utc>,
        /// When the status page's incident began (its `created_at`, else when we saw it).
        reported_at: DateTime<Utc>,
    },
}

/// Everything the monitor remembers between observations.
#[derive(Debug, Clone)]
pub struct MonitorState {
    config: MonitorConfig,
    page: Option<StatusPage>,
    page_source: Option<String>,
    page_fetched_at: Option<DateTime<Utc>>,
    page_failure: Option<FetchFailure>,
    /// When the page answered again after a failed fetch: the network is back from then on, and a
    /// probe failure older than it is no news about the API.
    page_back_at: Option<DateTime<Utc>>,
    /// The last moment the API-wide verdict was `offline` (see `ModelContext::offline_seen_at`).
    offline_seen_at: Option<DateTime<Utc>>,
    checked_at: Option<DateTime<Utc>>,
    verdict: Verdict,
    level_since: Option<DateTime<Utc>>,
    /// Incidents that left the unresolved list, waiting for their details, with when they left.
    pending_resolution: BTreeMap<String, (Incident, DateTime<Utc>)>,
    probes: ProbeHealth,
    alerts: AlertState,
    /// Incidents whose lead time was already recorded.
    lead_times_recorded: std::collections::BTreeSet<String>,
    /// Usage against the tier limits, when usage tracking is on.
    tracker: Option<Tracker>,
    usage_alerts: UsageAlerts,
    usage_alert_policy: UsageAlertPolicy,
    /// The spike alerts on the gateway's traffic, decided on `tick`.
    spikes: crate::spikes::SpikeWatch,
    /// Per-model health: streaming probes and the user's own requests, by model.
    models: ModelBook,
    /// The latest streaming probe of any model, for the probe report.
    latest_streaming: Option<ProbeResult>,
    /// The model verdicts of the last assessment.
    model_reports: Vec<ModelReport>,
    /// The model that decided the level, when one did.
    subject: Option<String>,
    hits_you: HitsYou,
    /// The price table the model verdicts use when usage tracking is off (successors of retired
    /// models, the models an incident names).
    builtin_catalog: crate::catalog::Catalog,
}

impl MonitorState {
    /// A state that has seen nothing yet.
    pub fn new(config: MonitorConfig) -> Self {
        let initial = Snapshot::initial();
        Self {
            config,
            page: None,
            page_source: None,
            page_fetched_at: None,
            page_failure: None,
            page_back_at: None,
            offline_seen_at: None,
            checked_at: None,
            verdict: Verdict {
                level: initial.level,
                reasons: initial.reasons,
            },
            level_since: None,
            pending_resolution: BTreeMap::new(),
            probes: ProbeHealth::default(),
            alerts: AlertState::default(),
            lead_times_recorded: std::collections::BTreeSet::new(),
            tracker: None,
            usage_alerts: UsageAlerts::default(),
            usage_alert_policy: UsageAlertPolicy::default(),
            spikes: crate::spikes::SpikeWatch::default(),
            models: ModelBook::default(),
            latest_streaming: None,
            model_reports: Vec::new(),
            subject: None,
            hits_you: HitsYou {
                answer: crate::verdict::Answer::Unknown,
                text: "Unknown: no check has completed yet.".to_owned(),
            },
            builtin_catalog: crate::catalog::Catalog::builtin(),
        }
    }

    /// The per-model book (the engine's probe schedule reads the followed models from it).
    pub fn models(&self) -> &ModelBook {
        &self.models
    }

    /// The models to probe now, most used first.
    pub fn followed_models(&self, now: DateTime<Utc>) -> Vec<String> {
        self.models.followed(&self.config.models, now)
    }

    /// Turns usage tracking on: usage observations and the probes' own usage and rate-limit
    /// headers feed the tracker, whose figures join the snapshot and whose alerts are raised.
    pub fn with_tracker(mut self, tracker: Tracker) -> Self {
        self.tracker = Some(tracker);
        self
    }

    /// The tracker, when usage tracking is on.
    pub fn tracker(&self) -> Option<&Tracker> {
        self.tracker.as_ref()
    }

    /// The configuration in force.
    pub fn config(&self) -> &MonitorConfig {
        &self.config
    }

    /// Replaces the configuration (settings changed) and re-assesses.
    pub fn set_config(&mut self, config: MonitorConfig, now: DateTime<Utc>) -> Vec<Effect> {
        self.config = config;
        let mut effects = Vec::new();
        self.reassess(now, &mut effects);
        effects
    }

    /// The probes' memory (for the engine's scheduling of confirmation re-checks).
    pub fn probes(&self) -> &ProbeHealth {
        &self.probes
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
            Observation::Probe { result } => {
                self.track_probe(&result);
                match result.kind {
                    // A streamed message asks one model: its answer is that model's health, not
                    // the whole API's (overloads are per model).
                    ProbeKind::Streaming => {
                        self.models.record_probe(&self.config.health, &result);
                        if let Some(model) = result.model.as_deref() {
                            effects.extend(
                                self.models
                                    .alternatives_to_check(&self.config.models, model, now)
                                    .into_iter()
                                    .map(|model| Effect::ProbeModel { model }),
                            );
                        }
                        self.latest_streaming = Some(*result);
                    }
                    ProbeKind::Reachability => self.probes.record(&self.config.health, *result),
                }
            }
            Observation::Usage { records } => {
                if let Some(tracker) = &mut self.tracker {
                    for record in &records {
                        tracker.record(record);
                    }
                }
                let outcome = self.models.record_usage(&self.config.health, &records, now);
                effects.extend(
                    outcome
                        .probe_now
                        .into_iter()
                        .map(|model| Effect::ProbeModel { model }),
                );
            }
            Observation::Fallback { notice } => {
                // Each move is its own news (its key holds its time), so the alert state's
                // cooldown only stops a repeat of the very same notice.
                effects.push(Effect::Notify(crate::fallback::notification(&notice)));
            }
            Observation::AdminCost {
                month_to_date_usd,
                as_of,
            } => {
                if let Some(tracker) = &mut self.tracker {
                    tracker.set_admin_month_to_date(month_to_date_usd, as_of);
                }
            }
            Observation::PlanReadings { readings, replay } => {
                if let Some(tracker) = &mut self.tracker {
                    for reading in readings {
                        tracker.observe_plan(reading);
                    }
                    if replay {
                        self.usage_alerts.mark_plan_seen(tracker, now);
                    }
                }
            }
            Observation::Catalog { catalog } => {
                if let Some(tracker) = &mut self.tracker {
                    tracker.set_catalog(*catalog);
                }
            }
            Observation::Traffic { samples, replay } => {
                // The tracker's catalog, so a spike's cost agrees with the Budget view's.
                let catalog = self
                    .tracker
                    .as_ref()
                    .map_or(&self.builtin_catalog, |t| t.catalog());
                // A replayed sample carries its times only where the engine knew from the
                // gateway's request shapes whether it was streamed (`engine::spikes`), so a
                // stream's duration is never timed as an answer's; `replay` changes nothing else.
                let _ = replay;
                for sample in samples {
                    self.spikes.record(&sample, catalog);
                }
            }
            Observation::TrafficBaseline { hours } => self.spikes.seed_hours(hours),
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
                let mut relisted = std::collections::BTreeSet::new();
                for change in diff(self.page.as_ref(), &page) {
                    match change {
                        // Listed again after missing from one fetch (two edges, or the fallback
                        // host, can serve copies of different ages): it never left, so it is not a
                        // new incident; only what changed since we last saw it is news.
                        StatusChange::IncidentOpened { ref incident, .. }
                            if self.pending_resolution.contains_key(&incident.id) =>
                        {
                            if let Some((old, _)) = self.pending_resolution.remove(&incident.id) {
                                let current: Vec<Incident> = page
                                    .incidents
                                    .iter()
                                    .filter(|i| i.key() == incident.id)
                                    .cloned()
                                    .collect();
                                let mut changes = Vec::new();
                                diff_incidents(std::slice::from_ref(&old), &current, &mut changes);
                                effects.extend(changes.into_iter().map(Effect::Change));
                            }
                            relisted.insert(incident.id.clone());
                        }
                        // Its resolution, if any, was told just above.
                        StatusChange::IncidentResolved {
                            ref incident,
                            confirmed: true,
                        } if relisted.contains(&incident.id) => {}
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
                self.record_lead_times(now, effects);
                self.page_source = Some(source_url);
                self.page_fetched_at = Some(now);
                if self.page_failure.take().is_some() {
                    self.page_back_at = Some(now);
                }
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

    fn record_lead_times(&mut self, now: DateTime<Utc>, effects: &mut Vec<Effect>) {
        let Some(page) = &self.page else { return };
        let followed: Vec<_> = self
            .config
            .assess
            .followed_components
            .iter()
            .filter_map(|id| page.component(id))
            .collect();
        for incident in page.active_incidents() {
            let key = incident.key();
            if self.lead_times_recorded.contains(&key) {
                continue;
            }
            let touches = incident.names_no_component()
                || followed
                    .iter()
                    .any(|c| incident.touches_component(&c.id, &c.name));
            if !touches {
                continue;
            }
            let reported_at = incident.created_at.unwrap_or(now);
            let names: Vec<&str> = incident
                .components
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            let scope = crate::model_names::parse_incident(&incident.name, &names);
            let found = match &scope {
                // An incident on some models is explained by those models' trouble only.
                crate::model_names::IncidentScope::Models { .. } => self
                    .model_reports
                    .iter()
                    .filter(|m| scope.affects_model_id(&m.model))
                    .filter_map(|m| {
                        self.models
                            .trouble_started_before(&m.model, reported_at, LEAD_TIME_LOOKBACK)
                            .map(|t| (Some(m.model.clone()), t))
                    })
                    .min_by_key(|(_, t)| *t),
                _ => {
                    let api = self
                        .probes
                        .trouble_started_before(reported_at, LEAD_TIME_LOOKBACK)
                        .map(|t| (None, t));
                    let model = self
                        .models
                        .earliest_trouble_before(reported_at, LEAD_TIME_LOOKBACK)
                        .map(|(m, t)| (Some(m), t));
                    [api, model].into_iter().flatten().min_by_key(|(_, t)| *t)
                }
            };
            if let Some((model, detected_at)) = found {
                if detected_at < reported_at {
                    self.lead_times_recorded.insert(key.clone());
                    effects.push(Effect::LeadTime {
                        incident_id: key,
                        incident_name: incident.name.clone(),
                        model,
                        detected_at,
                        reported_at,
                    });
                }
            }
        }
    }

    /// True when an incident (by key) touches a followed component, or names none at all.
    fn incident_is_relevant(&self, id: &str) -> bool {
        let pending = self.pending_resolution.get(id).map(|(i, _)| i);
        let Some(page) = &self.page else {
            return true;
        };
        let Some(incident) = page.incidents.iter().find(|i| i.key() == id).or(pending) else {
            // An incident we only know by its reference (e.g. it vanished): say it rather than
            // stay silent about an incident that may concern the user.
            return true;
        };
        if incident.names_no_component() {
            return true;
        }
        self.config
            .assess
            .followed_components
            .iter()
            .filter_map(|cid| page.component(cid))
            .any(|c| incident.touches_component(&c.id, &c.name))
            || self.config.assess.followed_components.is_empty()
    }

    /// A probe is traffic on the user's key too: its tokens count against the limits, its
    /// rate-limit headers are the live headroom, and a spend-cap answer means the cap is reached.
    fn track_probe(&mut self, result: &ProbeResult) {
        let Some(tracker) = &mut self.tracker else {
            return;
        };
        // Only the streaming probe sends a message (with its model) and uses tokens.
        let model = match (result.kind, &result.model) {
            (ProbeKind::Streaming, Some(model)) => model.clone(),
            (ProbeKind::Streaming, None) => self.config.models.default_model.clone(),
            _ => String::new(),
        };
        if !result.ratelimit.is_empty() && result.kind == ProbeKind::Streaming {
            tracker.observe_ratelimit(result.at, &model, &result.ratelimit);
        }
        if result.outcome() == ProbeOutcome::SpendCap {
            tracker.spend_cap_reached(result.at);
        }
        if let Some(record) = result.usage_record(&model) {
            tracker.record(&record);
        }
    }

    fn probe_verdict(&self) -> Option<ProbeVerdict> {
        (!self.probes.is_empty()).then(|| self.probes.verdict(&self.config.health))
    }

    /// What can see an overload as it happens, from the configuration and the traffic seen.
    pub fn coverage(&self) -> Coverage {
        let config = &self.config.models;
        let mut watched_by = Vec::new();
        if config.probing {
            watched_by.push("per-model probes".to_owned());
        }
        let gateway_traffic = self.model_reports.iter().any(|m| {
            m.own_traffic
                .as_ref()
                .is_some_and(|t| t.sources.iter().any(|s| s == "gateway"))
        });
        if config.gateway || gateway_traffic {
            watched_by.push("the gateway".to_owned());
        }
        let overloads_watched = !watched_by.is_empty();
        let transcripts = self.model_reports.iter().any(|m| {
            m.own_traffic
                .as_ref()
                .is_some_and(|t| t.sources.iter().any(|s| s == "claude_code"))
        }) || self.model_reports.iter().any(|m| m.requests_7d > 0);
        if transcripts {
            watched_by.push("Claude Code's transcripts (after its retries)".to_owned());
        }
        Coverage {
            overloads_watched,
            watched_by,
            warning: (!overloads_watched).then(|| crate::models::NOT_WATCHED.to_owned()),
        }
    }

    /// The snapshot answering for one model (`check --model M`): the same snapshot, with the
    /// level, reasons, deciding model and "does it hit you?" of `verdict::decide_for_model`.
    /// `None` when M is not among the models the state knows (it always is when pinned).
    pub fn snapshot_for_model(&mut self, model: &str, now: DateTime<Utc>) -> Option<Snapshot> {
        let key = crate::pricing::normalize_model(model);
        let (api, facts) = self.api_side(now);
        let decision = crate::verdict::decide_for_model(
            api,
            facts,
            &self.model_reports,
            &self.coverage(),
            &key,
        )?;
        let mut snapshot = self.snapshot();
        snapshot.level = decision.verdict.level;
        snapshot.reasons = decision.verdict.reasons;
        snapshot.subject = decision.subject;
        snapshot.hits_you = decision.hits_you;
        Some(snapshot)
    }

    fn decision(&mut self, now: DateTime<Utc>) -> Decision {
        let (api, facts) = self.api_side(now);
        decide(api, facts, &self.model_reports, &self.coverage())
    }

    /// The API-wide verdict and its facts, with the model reports brought up to `now`.
    fn api_side(&mut self, now: DateTime<Utc>) -> (Verdict, ApiFacts) {
        let page_verdict = status_page_verdict(
            self.page.as_ref(),
            self.page_failure.as_ref(),
            &self.config.assess,
        );
        let probe_verdict = self.probe_verdict();
        let api = combine(
            page_verdict,
            self.page_failure.as_ref(),
            self.page_back_at,
            probe_verdict.as_ref(),
            self.probes.latest(),
        );
        if api.level == Level::Offline {
            self.offline_seen_at = Some(now);
        }
        // The tracker's catalog carries the user's overrides; without a tracker the built-in one,
        // parsed once in `new`: parsing it on every observation cost milliseconds each.
        let catalog = self
            .tracker
            .as_ref()
            .map_or(&self.builtin_catalog, |t| t.catalog());
        let context = ModelContext {
            config: &self.config.models,
            health: &self.config.health,
            page: self.page.as_ref(),
            followed_components: &self.config.assess.followed_components,
            catalog: Some(catalog),
            api_level: api.level,
            offline_seen_at: self.offline_seen_at,
        };
        self.model_reports = self.models.reports(&context, now);
        let facts = ApiFacts {
            probes_see_trouble: probe_verdict.as_ref().is_some_and(|v| v.episode.is_some()),
            latest_probe: self.probes.latest().map(|r| r.outcome()),
        };
        (api, facts)
    }

    fn reassess(&mut self, now: DateTime<Utc>, effects: &mut Vec<Effect>) {
        let decision = self.decision(now);
        let verdict = decision.verdict.clone();
        let previous = self.verdict.level;
        if verdict.level != previous || self.level_since.is_none() {
            effects.push(Effect::LevelChanged {
                from: previous,
                to: verdict.level,
                reasons: verdict.reasons.clone(),
            });
            self.level_since = Some(now);
        }
        let changes: Vec<StatusChange> = effects
            .iter()
            .filter_map(|e| match e {
                Effect::Change(change) => Some(change.clone()),
                _ => None,
            })
            .collect();
        let relevant = |id: &str| self.incident_is_relevant(id);
        let mut alerts = self.alerts.clone();
        let notifications = alerts.decide(
            &self.config.alerts,
            &AlertStep {
                previous,
                next: verdict.level,
                reasons: &verdict.reasons,
                changes: &changes,
                subject: decision.subject_name.as_deref(),
                subject_model: decision.subject.as_deref(),
                alternative: decision.alternative.as_deref(),
            },
            &relevant,
            now,
        );
        self.alerts = alerts;
        effects.extend(notifications.into_iter().map(Effect::Notify));
        if let Some(tracker) = &self.tracker {
            let usage = self
                .usage_alerts
                .decide(&self.usage_alert_policy, tracker, now);
            effects.extend(usage.into_iter().map(Effect::Notify));
        }
        self.subject = decision.subject;
        self.hits_you = decision.hits_you;
        self.verdict = verdict;
    }

    /// The periodic evaluation (the engine calls it every minute): the spike alerts on the
    /// gateway's traffic, which need time to pass rather than an observation. Their
    /// notifications pass the same deduplication and cooldown as the level alerts.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
        let policy = &self.config.alerts;
        let alerts = &mut self.alerts;
        self.spikes
            .decide(now)
            .into_iter()
            .filter(|notification| alerts.admit(policy, notification, now))
            .map(Effect::Notify)
            .collect()
    }

    /// The spike watch (its report is in the snapshot).
    pub fn spikes(&self) -> &crate::spikes::SpikeWatch {
        &self.spikes
    }

    /// The current snapshot for the front ends.
    pub fn snapshot(&self) -> Snapshot {
        let mut status_page = match &self.page {
            Some(page) => {
                StatusPageReport::from_page(page, &self.config.assess.followed_components)
            }
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
            probe: ProbeReport::from_health(
                &self.probes,
                self.latest_streaming.as_ref(),
                self.probes.failures_in_a_row(),
            ),
            models: self.model_reports.clone(),
            subject: self.subject.clone(),
            hits_you: self.hits_you.clone(),
            coverage: self.coverage(),
            usage: self
                .tracker
                .as_ref()
                .map(|t| t.snapshot(self.checked_at.unwrap_or_default())),
            traffic: {
                let report = self.spikes.report();
                (!report.lines.is_empty() || report.dropped_samples > 0).then(|| report.clone())
            },
            // The store's health is the engine's to know; it fills this in as it publishes.
            history_not_saved: None,
        }
    }
}

/// Combines the status page's verdict with our probes'.
///
/// * Our probes cannot reach the API and the status page cannot be reached either: `offline`, so
///   a dead Wi-Fi is never reported as an Anthropic outage.
/// * Our probes cannot reach the API while the status page answers: `outage`.
/// * Otherwise the worse of the two, with our evidence first; when our probes see trouble and the
///   page still says operational, the reasons say so (the page lags real outages).
/// * Our probes could not reach the API while the page could not be reached either, and the page
///   answers again (at `page_back_at`) before any probe ran since: still `offline`, because the
///   network came back and the API has not been asked yet. Otherwise every return of a laptop's
///   network would flash a false outage (and its notification) until the next probe.
/// * A page we could not read does not hide what our probes see.
pub fn combine(
    page: Verdict,
    page_failure: Option<&FetchFailure>,
    page_back_at: Option<DateTime<Utc>>,
    probes: Option<&ProbeVerdict>,
    latest_probe: Option<&ProbeResult>,
) -> Verdict {
    let Some(probes) = probes else {
        return page;
    };
    let mut reasons = Vec::new();
    let level = match &probes.episode {
        Some(episode) if episode.network_only => {
            reasons.extend(probes.reasons.iter().cloned());
            match page_failure {
                // A page that timed out did not answer either: nothing answering at all is what
                // a dead or captive network looks like, so it must not read as an API outage.
                Some(failure)
                    if failure.is_network()
                        || matches!(failure.kind, crate::assess::FetchFailureKind::Timeout) =>
                {
                    reasons.insert(
                        0,
                        "neither the API nor the status page can be reached: your network looks down"
                            .to_owned(),
                    );
                    reasons.push(format!("status page: {}", failure.detail));
                    Level::Offline
                }
                // No probe has failed since the network came back: the ones since, if any, got
                // answers and are closing the episode.
                None if page_back_at.is_some_and(|back| {
                    latest_probe.is_none_or(|probe| {
                        probe.at < back
                            || !matches!(
                                probe.outcome(),
                                ProbeOutcome::Timeout | ProbeOutcome::Network
                            )
                    })
                }) =>
                {
                    reasons.insert(
                        0,
                        "the network is back (the status page answers again): the API is being \
                         checked again"
                            .to_owned(),
                    );
                    Level::Offline
                }
                _ => {
                    reasons.push("the status page answers, so the network works".to_owned());
                    reasons.extend(page.reasons.iter().cloned());
                    Level::Outage
                }
            }
        }
        Some(episode) => {
            reasons.extend(probes.reasons.iter().cloned());
            match page.level {
                Level::Operational => {
                    reasons.push(
                        "the status page still says operational: our probes see it first"
                            .to_owned(),
                    );
                    episode.level
                }
                Level::Unknown | Level::Offline => {
                    reasons.extend(page.reasons.iter().cloned());
                    episode.level
                }
                other => {
                    let level = worse(episode.level, other);
                    if level == other && level != episode.level {
                        // The page decided the level, so its words come first.
                        let ours = std::mem::take(&mut reasons);
                        reasons.extend(page.reasons.iter().cloned());
                        reasons.extend(ours);
                    } else {
                        reasons.extend(page.reasons.iter().cloned());
                    }
                    level
                }
            }
        }
        None => {
            let level = match page.level {
                // Our probes answer: an unreadable page is no reason to say "unknown".
                Level::Unknown => Level::Operational,
                other => other,
            };
            reasons.extend(page.reasons.iter().cloned());
            // The latest probe may be a failure still being confirmed: then it does not answer,
            // and the confirming reason below says so.
            let failing = latest_probe.is_some_and(|r| {
                matches!(
                    r.outcome(),
                    ProbeOutcome::Overloaded
                        | ProbeOutcome::ServerError
                        | ProbeOutcome::Timeout
                        | ProbeOutcome::Network
                )
            });
            if let Some(latest) = latest_probe.filter(|_| !failing) {
                let answering = format!(
                    "our probes: the API answers ({}{})",
                    latest.outcome(),
                    latest
                        .latency_ms
                        .map(|ms| format!(", {ms} ms"))
                        .unwrap_or_default()
                );
                if level == Level::Operational {
                    reasons.insert(0, answering);
                } else {
                    reasons.push(answering);
                }
            }
            reasons.extend(probes.reasons.iter().cloned());
            level
        }
    };
    if let Some(latest) = latest_probe {
        if let Some(note) = user_side_note(latest) {
            reasons.push(note);
        }
    }
    Verdict { level, reasons }
}

/// A sentence for outcomes that are the user's own problem, not Anthropic's.
fn user_side_note(result: &ProbeResult) -> Option<String> {
    let c = &result.classification;
    let text = match c.outcome {
        ProbeOutcome::RateLimited => format!(
            "your key is rate limited{}",
            c.retry_after
                .map(|d| format!(" (retry after {} s)", d.as_secs()))
                .unwrap_or_default()
        ),
        ProbeOutcome::SpendCap => format!(
            "your organisation reached its monthly spend cap{}",
            c.retry_not_before
                .map(|t| format!(
                    ": requests are refused until {}",
                    t.format("%Y-%m-%d %H:%M UTC")
                ))
                .unwrap_or_default()
        ),
        ProbeOutcome::Billing => "billing problem: the credit balance is too low".to_owned(),
        ProbeOutcome::Auth => "the configured API key was refused (401)".to_owned(),
        ProbeOutcome::Permission => "the API key lacks permission (403)".to_owned(),
        ProbeOutcome::NotFound if result.kind == ProbeKind::Streaming => {
            "the streaming probe's model was not found (404): check its model setting".to_owned()
        }
        ProbeOutcome::InvalidRequest => format!("the probe's request was refused: {}", c.detail),
        _ => return None,
    };
    Some(text)
}
