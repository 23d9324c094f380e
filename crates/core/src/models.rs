//! Per-model health: which models the user relies on (learned from their own traffic, pinned or
//! dropped in the settings), and one verdict per model from that model's probes, the user's own
//! requests to it and the status-page incidents that name it.
//!
//! Anthropic's overloads are per model and on `POST /v1/messages`, so the API-wide verdict
//! (status page, reachability, offline) cannot see them: this book can.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::assess::{component_level, worse, Verdict};
use crate::catalog::Catalog;
use crate::health::{FailureKind, HealthConfig, ProbeHealth, ProbeKind, ProbeResult, Signal};
use crate::level::Level;
use crate::model_names::{parse_incident, IncidentScope, ModelClass};
use crate::probe::{Classification, ProbeOutcome};
use crate::statuspage::{ComponentStatus, Impact, IncidentStatus, StatusPage};
use crate::usage::{UsageRecord, UsageSource};

/// The model Claude Code writes on the line of a turn that failed after its retries.
pub const SYNTHETIC_MODEL: &str = "<synthetic>";

/// The most-used model is probed this often…
pub const MOST_USED_PROBE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);
/// …and every other followed model this often.
pub const OTHER_PROBE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(300);

/// The share shown for each model covers this many days.
const SHARE_DAYS: i64 = 7;
/// A model with traffic this recent is one the user relies on now.
const RELIED_ON_WITHIN: Duration = Duration::hours(1);
/// A request older than this when it arrives (a catch-up of old logs) teaches the share but says
/// nothing about the model's health now.
const FRESH_WITHIN: Duration = Duration::minutes(10);
/// The user's own attempts shown per model.
const OWN_WINDOW: Duration = Duration::minutes(5);
const OWN_KEPT: usize = 500;
/// Bounds, so a stream of odd model ids or sessions cannot grow the book without end.
const MAX_MODELS: usize = 64;
const MAX_SESSIONS: usize = 1024;
/// A 404 for a model this recent decides its reasons.
const NOT_FOUND_FRESH: Duration = Duration::hours(1);

/// End-of-life dates of retired model ids, from the official Python SDK's `DEPRECATED_MODELS`
/// table (`anthropic` 2.10.0, claude-code.md H7). After its date a model id answers 404.
pub const RETIRED_MODELS: &[(&str, &str)] = &[
    ("claude-3-opus-20240229", "2026-01-05"),
    ("claude-3-7-sonnet-20250219", "2026-02-19"),
    ("claude-3-7-sonnet-latest", "2026-02-19"),
    ("claude-3-5-haiku-20241022", "2026-02-19"),
    ("claude-3-5-haiku-latest", "2026-02-19"),
    ("claude-opus-4-0", "2026-06-15"),
    ("claude-opus-4-20250514", "2026-06-15"),
    ("claude-sonnet-4-0", "2026-06-15"),
    ("claude-sonnet-4-20250514", "2026-06-15"),
    ("claude-mythos-preview", "2026-06-30"),
    ("claude-sonnet-4-5", "2026-11-30"),
    ("claude-sonnet-4-5-20250929", "2026-11-30"),
];

/// True once a model's end of life has passed: it answers 404 and is not probed.
pub fn is_retired(model: &str, now: DateTime<Utc>) -> bool {
    end_of_life(model).is_some_and(|on| on <= now.date_naive())
}

/// The end of life of a model id (exact, or after normalisation), if it has one.
pub fn end_of_life(model: &str) -> Option<NaiveDate> {
    let normalized = crate::pricing::normalize_model(model);
    RETIRED_MODELS
        .iter()
        .find(|(id, _)| *id == model || crate::pricing::normalize_model(id) == normalized)
        .and_then(|(_, date)| NaiveDate::parse_from_str(date, "%Y-%m-%d").ok())
}

/// What the user told us about models, and what the app can see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelsConfig {
    /// Always followed and always relied on (`--model M`, the settings' pinned list).
    pub pinned: Vec<String>,
    /// Never followed, even when the user's traffic uses them.
    pub dropped: Vec<String>,
    /// The followed model when there is no traffic and nothing is pinned.
    pub default_model: String,
    /// The per-model streaming probe runs (an API key exists and the user did not turn it off).
    pub probing: bool,
    /// The local gateway runs, so the user's own attempts are seen as they happen.
    pub gateway: bool,
}

impl Default for ModelsConfig {
    fn default() -> Self {
        Self {
            pinned: Vec::new(),
            dropped: Vec::new(),
            default_model: crate::settings::DEFAULT_PROBE_MODEL.to_owned(),
            probing: false,
            gateway: false,
        }
    }
}

/// The latest probe of one model, as shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ModelProbe {
    pub at: DateTime<Utc>,
    pub outcome: ProbeOutcome,
    pub http_status: Option<u16>,
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub latency_ms: Option<u64>,
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub ttft_ms: Option<u64>,
    pub detail: String,
}

/// The user's own requests to one model over the last minutes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ModelTraffic {
    pub requests: u32,
    pub overloaded: u32,
    pub server_errors: u32,
    /// Failed turns from Claude Code's transcripts attributed to this model because the session's
    /// last real model was this one (the line itself names `<synthetic>`).
    pub inferred: u32,
    /// The span covered, in seconds.
    pub window_secs: u32,
    /// Where the requests were seen (`gateway`, `claude_code`).
    pub sources: Vec<String>,
}

/// A model past its end of life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Retirement {
    pub on: NaiveDate,
    /// The newest current model of the same family in the price table.
    pub successor: Option<String>,
}

/// One model as every front end shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ModelReport {
    /// The model id, normalised (`claude-opus-5-5`).
    pub model: String,
    /// Family and version (`opus-5-5`), the key the status page's titles are matched on; `None`
    /// for an id we cannot read.
    pub class: Option<String>,
    /// "Opus 5.5".
    pub display_name: String,
    pub level: Level,
    /// Sentences with numbers, most important first.
    pub reasons: Vec<String>,
    /// Probed and listed: learned from traffic, pinned, or the default.
    pub followed: bool,
    /// Counts fully for the app's level: traffic in the last hour, or pinned.
    pub relied_on: bool,
    pub pinned: bool,
    /// This model's share of the user's requests over the last 7 days (0–1).
    pub share_7d: f64,
    pub requests_7d: u32,
    /// How often the probe asks this model, when it does.
    pub probe_interval_secs: Option<u32>,
    pub last_probe: Option<ModelProbe>,
    pub own_traffic: Option<ModelTraffic>,
    /// Unresolved status-page incidents that name this model.
    pub incidents: Vec<String>,
    pub retired: Option<Retirement>,
}

#[derive(Debug, Clone)]
struct OwnAttempt {
    at: DateTime<Utc>,
    status: Option<u16>,
    inferred: bool,
    source: UsageSource,
}

#[derive(Debug, Clone, Default)]
struct ModelEntry {
    /// Requests per UTC day number.
    days: BTreeMap<i64, u32>,
    last_used: Option<DateTime<Utc>>,
    /// Probes of this model and the user's own attempts, through the same hysteresis as the
    /// API-wide probes.
    health: ProbeHealth,
    last_probe: Option<ProbeResult>,
    own: VecDeque<OwnAttempt>,
    not_found: Option<DateTime<Utc>>,
    last_message_id: Option<String>,
}

/// Every model we know of and what we saw of each.
#[derive(Debug, Clone, Default)]
pub struct ModelBook {
    entries: BTreeMap<String, ModelEntry>,
    /// The last real model of each Claude Code session, for its `<synthetic>` failed turns.
    sessions: BTreeMap<String, (String, DateTime<Utc>)>,
}

/// An API-wide view the model verdicts need: the page and whether it can be trusted.
#[derive(Debug, Clone, Copy)]
pub struct ModelContext<'a> {
    pub config: &'a ModelsConfig,
    pub health: &'a HealthConfig,
    pub page: Option<&'a StatusPage>,
    pub followed_components: &'a [String],
    pub catalog: Option<&'a Catalog>,
    /// The API-wide level: offline turns every model's network failures into "can't tell".
    pub api_level: Level,
    /// The last moment the API-wide verdict was `offline`. A model whose failures were all
    /// unanswered and all came before it failed with the network, not on its own: it stays
    /// "can't tell" until it is probed again, rather than flashing an outage (and its
    /// notification) the moment the network returns.
    pub offline_seen_at: Option<DateTime<Utc>>,
}

/// What a batch of usage records asks of the engine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageOutcome {
    /// Models whose fresh traffic just failed: probe them at once.
    pub probe_now: Vec<String>,
}

impl ModelBook {
    /// Records one probe of a model (streaming probes carry their model).
    pub fn record_probe(&mut self, health: &HealthConfig, result: &ProbeResult) {
        let Some(model) = result.model.as_deref() else {
            return;
        };
        let key = crate::pricing::normalize_model(model);
        if key.is_empty() || !self.room_for(&key) {
            return;
        }
        let entry = self.entries.entry(key).or_default();
        if result.outcome() == ProbeOutcome::NotFound {
            entry.not_found = Some(result.at);
        } else if !matches!(
            result.outcome(),
            ProbeOutcome::Auth | ProbeOutcome::Permission | ProbeOutcome::InvalidRequest
        ) {
            entry.not_found = None;
        }
        entry.health.record(health, result.clone());
        entry.last_probe = Some(result.clone());
    }

    /// The followed models other than `model` worth probing at once because `model`'s latest
    /// probe is its first failure in a row: their latest probe is older than the most-used
    /// interval (or missing), so whether they answer now, and can be named as the alternative
    /// once `model`'s trouble is confirmed, is not known. Empty unless probing is on.
    pub fn alternatives_to_check(
        &self,
        config: &ModelsConfig,
        model: &str,
        now: DateTime<Utc>,
    ) -> Vec<String> {
        let key = crate::pricing::normalize_model(model);
        let first_failure = self
            .entries
            .get(&key)
            .is_some_and(|e| e.health.failures_in_a_row() == 1 && e.health.episode().is_none());
        if !config.probing || !first_failure {
            return Vec::new();
        }
        let fresh = chrono::Duration::seconds(MOST_USED_PROBE_INTERVAL.as_secs() as i64);
        self.followed(config, now)
            .into_iter()
            .filter(|other| *other != key && !is_retired(other, now))
            .filter(|other| {
                self.entries
                    .get(other)
                    .and_then(|e| e.last_probe.as_ref())
                    .is_none_or(|p| now - p.at > fresh)
            })
            .collect()
    }

    /// Learns from the user's own requests: each model's share, each session's last model, and,
    /// for fresh ones, each attempt's pass or failure.
    pub fn record_usage(
        &mut self,
        health: &HealthConfig,
        records: &[UsageRecord],
        now: DateTime<Utc>,
    ) -> UsageOutcome {
        let mut outcome = UsageOutcome::default();
        for record in records {
            // The probes' own requests are ours, not the user's: they teach nothing about use.
            if record.source == UsageSource::Probe {
                continue;
            }
            let (key, inferred) = match self.model_of(record) {
                Some(found) => found,
                None => continue,
            };
            if !self.room_for(&key) {
                continue;
            }
            if !inferred {
                if let Some(session) = &record.session_id {
                    self.remember_session(session, &key, record.at);
                }
            }
            let entry = self.entries.entry(key.clone()).or_default();
            // Claude Code writes one line per content block of a response, all with one message
            // id: count the response once.
            let repeat = record.message_id.is_some() && record.message_id == entry.last_message_id;
            if record.message_id.is_some() {
                entry.last_message_id = record.message_id.clone();
            }
            if repeat {
                continue;
            }
            if !inferred {
                *entry.days.entry(day_of(record.at)).or_default() += 1;
                entry.last_used = entry.last_used.max(Some(record.at));
                let oldest = day_of(now) - SHARE_DAYS;
                entry.days.retain(|day, _| *day > oldest);
            }
            if now - record.at > FRESH_WITHIN || record.at > now + Duration::minutes(1) {
                continue;
            }
            let signal = own_signal(record.status);
            if record.status == Some(404) {
                entry.not_found = Some(record.at);
            }
            entry
                .health
                .record_signal(health, own_result(record, &key), signal);
            entry.own.push_back(OwnAttempt {
                at: record.at,
                status: record.status,
                inferred,
                source: record.source,
            });
            while entry.own.len() > OWN_KEPT
                || entry.own.front().is_some_and(|a| now - a.at > OWN_WINDOW)
            {
                entry.own.pop_front();
            }
            if matches!(signal, Signal::Fail(_)) && !outcome.probe_now.contains(&key) {
                outcome.probe_now.push(key);
            }
        }
        outcome
    }

    /// The model a record is about, and whether we inferred it.
    fn model_of(&self, record: &UsageRecord) -> Option<(String, bool)> {
        let raw = record.model.trim();
        if !raw.is_empty() && raw != SYNTHETIC_MODEL {
            return Some((crate::pricing::normalize_model(raw), false));
        }
        // A failed turn's line names no model; only errors are worth attributing.
        if !record.is_error() {
            return None;
        }
        if let Some((model, _)) = record
            .session_id
            .as_ref()
            .and_then(|s| self.sessions.get(s))
        {
            return Some((model.clone(), true));
        }
        // A session we never saw a real line of: the user's most-used model is the best guess,
        // and it is marked inferred.
        self.most_used().map(|m| (m, true))
    }

    fn remember_session(&mut self, session: &str, model: &str, at: DateTime<Utc>) {
        self.sessions
            .insert(session.to_owned(), (model.to_owned(), at));
        if self.sessions.len() > MAX_SESSIONS {
            if let Some(oldest) = self
                .sessions
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(k, _)| k.clone())
            {
                self.sessions.remove(&oldest);
            }
        }
    }

    fn room_for(&mut self, key: &str) -> bool {
        if self.entries.contains_key(key) || self.entries.len() < MAX_MODELS {
            return true;
        }
        // Make room by forgetting the model used longest ago, if it has no traffic this week.
        let stale = self
            .entries
            .iter()
            .filter(|(_, e)| e.days.is_empty())
            .min_by_key(|(_, e)| e.last_used)
            .map(|(k, _)| k.clone());
        match stale {
            Some(k) => {
                self.entries.remove(&k);
                true
            }
            None => false,
        }
    }

    /// The model with the most requests over the last 7 days.
    pub fn most_used(&self) -> Option<String> {
        self.entries
            .iter()
            .filter(|(_, e)| !e.days.is_empty())
            .max_by_key(|(_, e)| (e.days.values().sum::<u32>(), e.last_used))
            .map(|(k, _)| k.clone())
    }

    /// The models to follow (probe and list), most used first: the pinned ones, those with traffic
    /// in the last 7 days, and without either the default model; never a dropped one.
    pub fn followed(&self, config: &ModelsConfig, now: DateTime<Utc>) -> Vec<String> {
        let dropped: Vec<String> = config
            .dropped
            .iter()
            .map(|m| crate::pricing::normalize_model(m))
            .collect();
        let oldest = day_of(now) - SHARE_DAYS;
        let mut used: Vec<(&String, u32, Option<DateTime<Utc>>)> = self
            .entries
            .iter()
            .map(|(k, e)| {
                (
                    k,
                    e.days.range(oldest + 1..).map(|(_, n)| *n).sum(),
                    e.last_used,
                )
            })
            .filter(|(_, n, _)| *n > 0)
            .collect();
        used.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(a.0.cmp(b.0)));
        let mut out: Vec<String> = Vec::new();
        let push = |out: &mut Vec<String>, m: String| {
            if !m.is_empty() && !dropped.contains(&m) && !out.contains(&m) {
                out.push(m);
            }
        };
        for (model, _, _) in used {
            push(&mut out, model.clone());
        }
        for model in &config.pinned {
            push(&mut out, crate::pricing::normalize_model(model));
        }
        if out.is_empty() {
            push(
                &mut out,
                crate::pricing::normalize_model(&config.default_model),
            );
        }
        out
    }

    /// Every model worth showing, with its verdict: the followed ones, and any other that the
    /// status page names or that the user's traffic failed on.
    pub fn reports(&self, context: &ModelContext<'_>, now: DateTime<Utc>) -> Vec<ModelReport> {
        let config = context.config;
        let followed = self.followed(config, now);
        let pinned: Vec<String> = config
            .pinned
            .iter()
            .map(|m| crate::pricing::normalize_model(m))
            .collect();
        let incidents = model_incidents(context);
        let oldest = day_of(now) - SHARE_DAYS;
        let total_7d: u32 = self
            .entries
            .values()
            .map(|e| e.days.range(oldest + 1..).map(|(_, n)| *n).sum::<u32>())
            .sum();

        let mut keys: Vec<String> = followed.clone();
        for (key, entry) in &self.entries {
            let fresh_failure = entry
                .own
                .iter()
                .any(|a| own_signal(a.status) != Signal::Pass);
            if !keys.contains(key) && (fresh_failure || entry.health.episode().is_some()) {
                keys.push(key.clone());
            }
        }
        // Models an incident names that we know from the price table (or the user's traffic):
        // shown so a user sees the page's words on the model, never guessed from the title.
        for incident in &incidents {
            for key in known_models(context.catalog, &self.entries) {
                if incident.scope.affects_model_id(&key) && !keys.contains(&key) {
                    keys.push(key);
                }
            }
        }
        // A model the page names exactly but that neither the price table nor the traffic knows
        // ("Claude Zephyr 9", a model newer than this build) is listed under the id its name
        // spells, so the incident is never silently dropped (the API-wide verdict leaves every
        // incident that names models to them).
        for incident in &incidents {
            if let IncidentScope::Models { patterns, .. } = &incident.scope {
                for pattern in patterns.iter().filter(|p| !p.any_minor) {
                    let covered = keys
                        .iter()
                        .any(|k| ModelClass::from_model_id(k).is_some_and(|c| pattern.matches(&c)));
                    let version: Vec<String> = pattern.version.iter().map(u32::to_string).collect();
                    let key = format!("claude-{}-{}", pattern.family.as_str(), version.join("-"));
                    if !covered && incident.scope.affects_model_id(&key) && keys.len() < MAX_MODELS
                    {
                        keys.push(key);
                    }
                }
            }
        }

        let any_recent = followed.iter().any(|k| {
            self.entries
                .get(k)
                .and_then(|e| e.last_used)
                .is_some_and(|t| now - t <= RELIED_ON_WITHIN)
        });
        // A retired model can be the one with the most traffic (its requests answer 404), but it
        // is never probed, so the 60 s slot goes to the first followed model that still answers.
        let most_used = followed.iter().find(|k| !is_retired(k, now)).cloned();
        keys.into_iter()
            .map(|key| {
                let entry = self.entries.get(&key);
                let is_followed = followed.contains(&key);
                let is_pinned = pinned.contains(&key);
                let recent = entry
                    .and_then(|e| e.last_used)
                    .is_some_and(|t| now - t <= RELIED_ON_WITHIN);
                // With no traffic in the last hour and nothing pinned, the followed models are
                // the best knowledge of what the user relies on.
                let relied_on =
                    is_pinned || recent || (is_followed && !any_recent && pinned.is_empty());
                let requests_7d: u32 = entry
                    .map(|e| e.days.range(oldest + 1..).map(|(_, n)| *n).sum())
                    .unwrap_or(0);
                let named_by: Vec<&ModelIncident> = incidents
                    .iter()
                    .filter(|i| i.scope.affects_model_id(&key))
                    .collect();
                let verdict = model_verdict(context, &key, entry, &named_by, now);
                // A model in a bad episode of its own probes is probed as often as the most used
                // one until it recovers: at the 5-minute pace its recovery would be told minutes
                // late, and its stale failure would stand for an alternative's state.
                let in_episode = entry.is_some_and(|e| e.health.episode().is_some());
                let probe_interval_secs = (is_followed && config.probing && !is_retired(&key, now))
                    .then(|| {
                        if Some(&key) == most_used.as_ref() || in_episode {
                            MOST_USED_PROBE_INTERVAL.as_secs() as u32
                        } else {
                            OTHER_PROBE_INTERVAL.as_secs() as u32
                        }
                    });
                ModelReport {
                    class: ModelClass::from_model_id(&key).map(|c| c.to_string()),
                    display_name: display_name(&key),
                    level: verdict.level,
                    reasons: verdict.reasons,
                    followed: is_followed,
                    relied_on,
                    pinned: is_pinned,
                    share_7d: if total_7d == 0 {
                        0.0
                    } else {
                        f64::from(requests_7d) / f64::from(total_7d)
                    },
                    requests_7d,
                    probe_interval_secs,
                    last_probe: entry
                        .and_then(|e| e.last_probe.as_ref())
                        .map(|p| ModelProbe {
                            at: p.at,
                            outcome: p.outcome(),
                            http_status: p.classification.http_status,
                            latency_ms: p.latency_ms,
                            ttft_ms: p.ttft_ms,
                            detail: p.classification.detail.clone(),
                        }),
                    own_traffic: entry.and_then(|e| own_traffic(e, now)),
                    incidents: named_by.iter().map(|i| i.id.clone()).collect(),
                    retired: end_of_life(&key)
                        .filter(|_| is_retired(&key, now))
                        .map(|on| Retirement {
                            on,
                            successor: successor(context.catalog, &key),
                        }),
                    model: key,
                }
            })
            .collect()
    }

    /// The start of the trouble a model's probes and traffic saw that best explains something
    /// reported at `reported_at`, for the per-model lead time.
    pub fn trouble_started_before(
        &self,
        model: &str,
        reported_at: DateTime<Utc>,
        lookback: Duration,
    ) -> Option<DateTime<Utc>> {
        self.entries
            .get(&crate::pricing::normalize_model(model))?
            .health
            .trouble_started_before(reported_at, lookback)
    }

    /// The earliest trouble any model saw before `reported_at` (an incident on every model), with
    /// the model.
    pub fn earliest_trouble_before(
        &self,
        reported_at: DateTime<Utc>,
        lookback: Duration,
    ) -> Option<(String, DateTime<Utc>)> {
        self.entries
            .iter()
            .filter_map(|(k, e)| {
                e.health
                    .trouble_started_before(reported_at, lookback)
                    .map(|t| (k.clone(), t))
            })
            .min_by_key(|(_, t)| *t)
    }
}

/// A status-page incident that names models.
#[derive(Debug, Clone)]
pub struct ModelIncident {
    pub id: String,
    pub name: String,
    pub scope: IncidentScope,
    pub level: Level,
    pub status: IncidentStatus,
    pub impact: Impact,
    /// The followed components' worst level while every incident on them names models.
    pub component_level: Level,
}

/// The unresolved incidents that touch the followed components (or name none) and name models.
pub fn model_incidents(context: &ModelContext<'_>) -> Vec<ModelIncident> {
    let Some(page) = context.page else {
        return Vec::new();
    };
    let followed: Vec<_> = context
        .followed_components
        .iter()
        .filter_map(|id| page.component(id))
        .collect();
    let component_level = followed
        .iter()
        .map(|c| component_level(&c.status))
        .fold(Level::Operational, worse);
    page.active_incidents()
        .filter(|i| {
            i.names_no_component()
                || followed.is_empty()
                || followed.iter().any(|c| i.touches_component(&c.id, &c.name))
        })
        .filter_map(|incident| {
            let names: Vec<&str> = incident
                .components
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            let scope = parse_incident(&incident.name, &names);
            matches!(scope, IncidentScope::Models { .. }).then(|| ModelIncident {
                id: incident.key(),
                name: incident.name.clone(),
                level: incident_level(&incident.impact, &incident.status),
                status: incident.status.clone(),
                impact: incident.impact.clone(),
                scope,
                component_level,
            })
        })
        .collect()
}

/// The level an unresolved incident stands for: by impact, and at most degraded once the team is
/// monitoring a fix (the issue-11 rule: "monitoring" is recovering, not an outage).
pub fn incident_level(impact: &Impact, status: &IncidentStatus) -> Level {
    let level = match impact {
        Impact::Major | Impact::Critical => Level::Outage,
        Impact::Maintenance => Level::Maintenance,
        _ => Level::Degraded,
    };
    if *status == IncidentStatus::Monitoring && level == Level::Outage {
        Level::Degraded
    } else {
        level
    }
}

fn model_verdict(
    context: &ModelContext<'_>,
    key: &str,
    entry: Option<&ModelEntry>,
    incidents: &[&ModelIncident],
    now: DateTime<Utc>,
) -> Verdict {
    let mut reasons = Vec::new();
    // The page's words on this model.
    let mut page_level = Level::Operational;
    let mut page_reasons = Vec::new();
    for incident in incidents {
        let mut level = incident.level;
        // The followed component's state belongs to the models its incidents name.
        if incident.status != IncidentStatus::Monitoring {
            level = worse(level, incident.component_level);
        }
        page_level = worse(page_level, level);
        // "Recovering" comes first, so the model's line (and the app's reason it becomes) says
        // why the level is no worse than degraded while the incident still reads "major".
        if incident.status == IncidentStatus::Monitoring {
            page_reasons.push("recovering: the status page is monitoring a fix".to_owned());
        }
        page_reasons.push(format!(
            "official incident ({}, {}): {}",
            incident.impact, incident.status, incident.name
        ));
    }

    let retiring = end_of_life(key);
    if let Some(on) = retiring.filter(|on| *on > now.date_naive()) {
        reasons.push(format!("retires on {on}: plan the move to its successor"));
    }
    if let Some(on) = retiring.filter(|on| *on <= now.date_naive()) {
        let successor = successor(context.catalog, key);
        reasons.push(format!(
            "retired on {on}: the API answers 404 for it{}",
            successor
                .map(|s| format!("; its successor is {s}"))
                .unwrap_or_default()
        ));
        return Verdict {
            level: Level::Unknown,
            reasons,
        };
    }
    if entry
        .and_then(|e| e.not_found)
        .is_some_and(|t| now - t <= NOT_FOUND_FRESH)
    {
        reasons.push(
            "the API does not know this model (404 not_found_error): check the model id".to_owned(),
        );
        return Verdict {
            level: Level::Unknown,
            reasons,
        };
    }

    let episode = entry.and_then(|e| e.health.episode());
    let level = match episode {
        Some(episode) if episode.network_only && context.api_level == Level::Offline => {
            reasons.push("the network is down: this model cannot be checked".to_owned());
            Level::Offline
        }
        // Failures that began while nothing answered, of the kinds a dead or returning network
        // causes (no answer, or one slowed by the connection waiting for the network), say
        // nothing about the model. A probe caught by the network's return is often slow rather
        // than unanswered: its connection waited, then went through.
        Some(_)
            if context.offline_seen_at.is_some_and(|offline| {
                entry.is_some_and(|e| {
                    e.health.signals().all(|(r, s)| match s {
                        Signal::Pass => true,
                        Signal::Fail(kind) => {
                            r.at <= offline
                                && matches!(
                                    kind,
                                    FailureKind::Timeout
                                        | FailureKind::Network
                                        | FailureKind::Slow
                                        | FailureKind::SlowFirstToken
                                )
                        }
                    })
                })
            }) =>
        {
            reasons.push(
                "its last checks went unanswered while your network was down: it is being checked \
                 again"
                    .to_owned(),
            );
            Level::Offline
        }
        Some(episode) => {
            if let Some(entry) = entry {
                reasons.extend(evidence(entry, episode.level));
            }
            if page_level == Level::Operational {
                reasons.push(
                    "the status page does not name this model yet: we see it first".to_owned(),
                );
                episode.level
            } else {
                let level = worse(episode.level, page_level);
                if level == page_level && level != episode.level {
                    let ours = std::mem::take(&mut reasons);
                    reasons.extend(page_reasons.iter().cloned());
                    reasons.extend(ours);
                } else {
                    reasons.extend(page_reasons.iter().cloned());
                }
                level
            }
        }
        None => {
            let data = entry.is_some_and(|e| !e.health.is_empty());
            let answering = entry.and_then(answering_sentence);
            if page_level != Level::Operational {
                reasons.extend(page_reasons.iter().cloned());
                if let Some(answering) = answering {
                    reasons.push(answering);
                }
                page_level
            } else if data {
                // A model we never saw answer (its only results are failures being confirmed, or
                // answers of a shape we cannot read) is not "operational": nothing says it works.
                let ever_answered = entry
                    .is_some_and(|e| e.health.signals().any(|(_, signal)| signal == Signal::Pass));
                if let Some(answering) = answering {
                    reasons.push(answering);
                }
                if ever_answered {
                    Level::Operational
                } else {
                    Level::Unknown
                }
            } else {
                reasons.push(not_watched_sentence(context.config));
                Level::Unknown
            }
        }
    };
    if let Some(entry) = entry {
        if episode.is_none() && entry.health.failures_in_a_row() > 0 {
            if let Some(latest) = entry.health.latest() {
                reasons.push(format!(
                    "{} failure{} in a row ({}), confirming",
                    entry.health.failures_in_a_row(),
                    if entry.health.failures_in_a_row() == 1 {
                        ""
                    } else {
                        "s"
                    },
                    latest.outcome()
                ));
            }
        }
        if let Some(note) = entry.last_probe.as_ref().and_then(user_side_note) {
            reasons.push(note);
        }
    }
    Verdict { level, reasons }
}

/// Why a model has no data: said plainly, so nothing implies a watch that is not there.
fn not_watched_sentence(config: &ModelsConfig) -> String {
    if config.probing {
        "not probed yet: the first probe runs within a minute".to_owned()
    } else if config.gateway {
        "no request to it through the gateway yet".to_owned()
    } else {
        NOT_WATCHED.to_owned()
    }
}

/// What the app says when nothing can see an overload as it happens.
pub const NOT_WATCHED: &str =
    "overloads are not watched: add an API key, or send your traffic through the gateway";

/// "answers normally (first token 420 ms)", from the latest pass.
fn answering_sentence(entry: &ModelEntry) -> Option<String> {
    let (latest, signal) = entry.health.signals().next_back()?;
    if signal != Signal::Pass {
        return None;
    }
    let what = if latest.kind == ProbeKind::Streaming && latest.classification.http_status.is_some()
    {
        match (latest.ttft_ms, latest.latency_ms) {
            (Some(ttft), _) => format!(" (first token {ttft} ms)"),
            (None, Some(ms)) => format!(" ({ms} ms)"),
            _ => String::new(),
        }
    } else {
        String::new()
    };
    Some(format!("answers normally{what}"))
}

/// The detail of a health result that stands for one of the user's own requests, so the
/// evidence can say whose requests failed.
const OWN_DETAIL: &str = "your request";

fn is_own(result: &ProbeResult) -> bool {
    result.classification.detail.starts_with(OWN_DETAIL) && !result.confirmation
}

/// "529 on 3 of the last 4 probes", over the most recent results of this model.
fn evidence(entry: &ModelEntry, level: Level) -> Vec<String> {
    let recent: Vec<(&ProbeResult, Signal)> = entry.health.signals().rev().take(5).collect();
    let n = recent.len();
    let probes = recent.iter().filter(|(r, _)| !is_own(r)).count();
    let noun = if probes == n {
        " probes"
    } else if probes == 0 {
        " of your requests"
    } else {
        " (probes and your requests)"
    };
    let count = |kind: FailureKind| {
        recent
            .iter()
            .filter(|(_, s)| *s == Signal::Fail(kind))
            .count()
    };
    let mut reasons = Vec::new();
    match level {
        Level::Overloaded => {
            reasons.push(format!(
                "529 on {} of the last {n}{noun}",
                count(FailureKind::Overloaded)
            ));
        }
        Level::Outage => {
            let errors = count(FailureKind::ServerError) + count(FailureKind::Timeout);
            let network = count(FailureKind::Network);
            if errors > 0 {
                reasons.push(format!("errors on {errors} of the last {n}{noun}"));
            }
            if network > 0 {
                reasons.push(format!("no connection on {network} of the last {n}{noun}"));
            }
        }
        Level::Degraded => {
            if let Some(ttft) = entry.health.latest().and_then(|r| r.ttft_ms) {
                reasons.push(format!(
                    "slow: first token after {:.1} s",
                    ttft as f64 / 1000.0
                ));
            } else {
                reasons.push(format!(
                    "slow answers on {} of the last {n}{noun}",
                    count(FailureKind::Slow) + count(FailureKind::SlowFirstToken)
                ));
            }
        }
        _ => {}
    }
    if entry.own.iter().any(|a| a.inferred) {
        reasons.push(
            "includes failed Claude Code turns attributed to this model (inferred from the session)"
                .to_owned(),
        );
    }
    reasons
}

fn own_traffic(entry: &ModelEntry, now: DateTime<Utc>) -> Option<ModelTraffic> {
    let recent: Vec<&OwnAttempt> = entry
        .own
        .iter()
        .filter(|a| now - a.at <= OWN_WINDOW)
        .collect();
    if recent.is_empty() {
        return None;
    }
    let mut sources: Vec<String> = recent
        .iter()
        .map(|a| a.source.as_str().to_owned())
        .collect();
    sources.sort();
    sources.dedup();
    Some(ModelTraffic {
        requests: recent.len() as u32,
        overloaded: recent.iter().filter(|a| a.status == Some(529)).count() as u32,
        server_errors: recent
            .iter()
            .filter(|a| {
                a.status
                    .is_some_and(|s| (500..600).contains(&s) && s != 529)
            })
            .count() as u32,
        inferred: recent.iter().filter(|a| a.inferred).count() as u32,
        window_secs: OWN_WINDOW.num_seconds() as u32,
        sources,
    })
}

/// How one of the user's own requests counts: by its status only. A 429 or a 4xx is the user's
/// own limit or mistake, not the model's health.
fn own_signal(status: Option<u16>) -> Signal {
    match status {
        Some(529) => Signal::Fail(FailureKind::Overloaded),
        Some(s) if (500..600).contains(&s) => Signal::Fail(FailureKind::ServerError),
        _ => Signal::Pass,
    }
}

/// A user's request as a health result, so it goes through the same hysteresis as a probe. It
/// has no latency: a long answer to a real prompt is slow by nature.
fn own_result(record: &UsageRecord, model: &str) -> ProbeResult {
    let outcome = match record.status {
        Some(529) => ProbeOutcome::Overloaded,
        Some(s) if (500..600).contains(&s) => ProbeOutcome::ServerError,
        Some(429) => ProbeOutcome::RateLimited,
        Some(404) => ProbeOutcome::NotFound,
        _ => ProbeOutcome::Ok,
    };
    ProbeResult {
        at: record.at,
        kind: ProbeKind::Streaming,
        classification: Classification {
            outcome,
            http_status: record.status,
            error_type: None,
            error_message: None,
            request_id: record.request_id.clone(),
            retry_after: None,
            retry_not_before: None,
            detail: format!("{OWN_DETAIL} ({})", record.source.as_str()),
        },
        latency_ms: None,
        message_start_ms: None,
        ttft_ms: None,
        ratelimit: Default::default(),
        usage: None,
        confirmation: false,
        model: Some(model.to_owned()),
    }
}

fn user_side_note(result: &ProbeResult) -> Option<String> {
    let text = match result.outcome() {
        ProbeOutcome::RateLimited => "the probe was rate limited (429): your key's limit",
        ProbeOutcome::SpendCap => "the probe was refused: the monthly spend cap is reached",
        ProbeOutcome::Billing => "the probe was refused: billing problem (402)",
        ProbeOutcome::Auth => "the probe's API key was refused (401)",
        ProbeOutcome::Permission => "the probe's API key lacks permission (403)",
        _ => return None,
    };
    Some(text.to_owned())
}

fn day_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(86_400)
}

/// "Opus 5.5" for a model id, the id itself when it cannot be read.
pub fn display_name(model: &str) -> String {
    ModelClass::from_model_id(model)
        .map(|c| c.display_name())
        .unwrap_or_else(|| model.to_owned())
}

fn known_models(catalog: Option<&Catalog>, entries: &BTreeMap<String, ModelEntry>) -> Vec<String> {
    let mut out: Vec<String> = entries.keys().cloned().collect();
    if let Some(catalog) = catalog {
        for info in catalog.models() {
            if end_of_life(&info.id).is_none() && !out.contains(&info.id) {
                out.push(info.id.clone());
            }
        }
    }
    out
}

/// The newest current model of a model's family in the price table.
pub fn successor(catalog: Option<&Catalog>, model: &str) -> Option<String> {
    let class = ModelClass::from_model_id(model)?;
    let catalog = catalog?;
    catalog
        .models()
        .filter(|info| end_of_life(&info.id).is_none())
        .filter_map(|info| ModelClass::from_model_id(&info.id).map(|c| (info.id.clone(), c)))
        .filter(|(_, c)| c.family() == class.family())
        .max_by(|a, b| a.1.version().cmp(b.1.version()))
        .map(|(id, _)| id)
        .filter(|id| id != &crate::pricing::normalize_model(model))
}

/// The followed component's status, when every unresolved incident on it names models: the
/// page's trouble then belongs to those models, not to the whole API.
pub fn component_belongs_to_models(page: &StatusPage, followed_components: &[String]) -> bool {
    let followed: Vec<_> = followed_components
        .iter()
        .filter_map(|id| page.component(id))
        .collect();
    if followed
        .iter()
        .all(|c| c.status == ComponentStatus::Operational)
    {
        return false;
    }
    let mut touching = page
        .active_incidents()
        .filter(|i| followed.iter().any(|c| i.touches_component(&c.id, &c.name)))
        .peekable();
    touching.peek().is_some()
        && touching.all(|i| {
            let names: Vec<&str> = i.components.iter().map(|c| c.name.as_str()).collect();
            matches!(
                parse_incident(&i.name, &names),
                IncidentScope::Models { .. }
            )
        })
}
