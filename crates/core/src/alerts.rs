//! Alert decisions: from the previous and new verdict and the status-page changes, which
//! notifications to raise. One per change, deduplicated, with a cooldown, and flapping suppressed.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::changes::{first_line, StatusChange};
use crate::level::Level;

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// The API entered overloaded or outage.
    Trouble,
    /// The API is operational again after trouble we notified.
    Recovered,
    /// The level keeps flipping; further level alerts are held back.
    Flapping,
    IncidentOpened,
    IncidentUpdated,
    IncidentResolved,
    /// Usage reached a share (80%, 95%) of a per-minute limit, the monthly spend cap or the
    /// user's budget (`tracker::UsageAlerts`).
    UsageThreshold,
    /// A request was refused because the tier's monthly spend cap is reached.
    SpendCapReached,
    /// The gateway moved a model's requests to another provider (`fallback::GateNotice`).
    ProviderFallback,
    /// The gateway's requests for that model go to Claude again.
    ProviderBack,
    /// A model's own traffic through the gateway spiked: cost per 1,000 requests or p95 input
    /// tokens over twice its 7-day baseline for 10 minutes, or its p95 time to first token or
    /// answer time over its limit (`spikes::SpikeWatch`).
    TrafficSpike,
    /// That spike is over: the value is back under its limit.
    TrafficSpikeOver,
}

/// One notification for the OS (the tray) or the terminal (`watch`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Notification {
    pub kind: AlertKind,
    /// The level it is about (the new level for level alerts).
    pub level: Level,
    pub title: String,
    pub body: String,
    /// The incident it is about, to open it from the notification.
    pub incident_id: Option<String>,
    /// The deduplication key.
    pub key: String,
    /// The model id a level alert is about (`claude-opus-5-5`), when a model decided it: the
    /// alert channels' per-model filters read it. `None` for the API as a whole and for
    /// incidents and usage.
    #[serde(default)]
    pub model: Option<String>,
}

/// Cooldown and flapping rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertPolicy {
    /// The same key is not raised again within this time.
    pub cooldown: Duration,
    /// Level alerts counted over this window for flapping…
    pub flap_window: Duration,
    /// …and more than this many within it is flapping.
    pub flap_limit: usize,
}

impl Default for AlertPolicy {
    fn default() -> Self {
        Self {
            cooldown: Duration::minutes(10),
            flap_window: Duration::minutes(30),
            flap_limit: 4,
        }
    }
}

/// One step of the monitor, as the alerting sees it.
#[derive(Debug, Clone, Copy)]
pub struct AlertStep<'a> {
    pub previous: Level,
    pub next: Level,
    /// The new verdict's reasons, most important first.
    pub reasons: &'a [String],
    /// The status-page changes of this step.
    pub changes: &'a [StatusChange],
    /// The model whose verdict decided the level ("Opus 5.5"), when one did.
    pub subject: Option<&'a str>,
    /// That model's id (`claude-opus-5-5`), carried on the notification for the channels'
    /// per-model filters.
    pub subject_model: Option<&'a str>,
    /// Another followed model that answers normally, to suggest.
    pub alternative: Option<&'a str>,
}

/// What the alerting remembers.
#[derive(Debug, Clone, Default)]
pub struct AlertState {
    sent: BTreeMap<String, DateTime<Utc>>,
    level_alerts: VecDeque<DateTime<Utc>>,
    /// The bad level we last notified and have not yet notified recovery from.
    notified_trouble: Option<(Level, DateTime<Utc>)>,
    /// The model that trouble was about, if one was.
    notified_subject: Option<String>,
    /// That model's id.
    notified_model: Option<String>,
    flapping_since: Option<DateTime<Utc>>,
    /// The traffic spikes whose start was told and whose end has not been yet, by key: an end
    /// goes out exactly when its start did, whatever the cooldown says.
    told_spikes: BTreeSet<String>,
}

/// The most spike starts remembered for their end. The spike watch follows 16 models with 4
/// measures each; the rest is room for the starts of models it stopped following mid-spike,
/// whose end never comes. Past it the first key in order goes, not the oldest: only such
/// leftovers can fill it.
const TOLD_SPIKES_MAX: usize = 256;

fn is_trouble(level: Level) -> bool {
    matches!(level, Level::Overloaded | Level::Outage)
}

impl AlertState {
    /// Decides the notifications for one step. `relevant_incident` says whether an incident (by
    /// id) touches the followed components; others are not the user's concern.
    pub fn decide(
        &mut self,
        policy: &AlertPolicy,
        step: &AlertStep<'_>,
        relevant_incident: &dyn Fn(&str) -> bool,
        now: DateTime<Utc>,
    ) -> Vec<Notification> {
        let AlertStep {
            previous,
            next,
            reasons,
            changes,
            subject,
            subject_model,
            alternative,
        } = *step;
        self.forget_old(policy, now);
        let mut out = Vec::new();
        if previous != next {
            let subject = subject.map(|name| (name, subject_model));
            self.level_alert(policy, next, reasons, subject, alternative, now, &mut out);
        }
        for change in changes {
            let notification = match change {
                StatusChange::IncidentOpened {
                    incident,
                    latest_update,
                    status,
                } if relevant_incident(&incident.id) => Some(Notification {
                    kind: AlertKind::IncidentOpened,
                    level: next,
                    title: format!("Official incident: {}", incident.name),
                    body: latest_update
                        .as_ref()
                        .map(|u| first_line(&u.body))
                        .unwrap_or_else(|| format!("{status}, {} impact", incident.impact)),
                    incident_id: Some(incident.id.clone()),
                    key: format!("incident:{}:opened", incident.id),
                    model: None,
                }),
                StatusChange::IncidentUpdated { incident, update }
                    if relevant_incident(&incident.id) =>
                {
                    Some(Notification {
                        kind: AlertKind::IncidentUpdated,
                        level: next,
                        title: format!("{} ({})", incident.name, update.status),
                        body: first_line(&update.body),
                        incident_id: Some(incident.id.clone()),
                        key: format!(
                            "incident:{}:update:{}:{}",
                            incident.id,
                            update.status,
                            update.created_at.map(|t| t.timestamp()).unwrap_or_default()
                        ),
                        model: None,
                    })
                }
                StatusChange::IncidentResolved {
                    incident,
                    confirmed,
                } if relevant_incident(&incident.id) => Some(Notification {
                    kind: AlertKind::IncidentResolved,
                    level: next,
                    title: format!("Resolved: {}", incident.name),
                    body: if *confirmed {
                        "The status page marks the incident resolved.".to_owned()
                    } else {
                        "The incident is no longer listed as unresolved.".to_owned()
                    },
                    incident_id: Some(incident.id.clone()),
                    key: format!("incident:{}:resolved", incident.id),
                    model: None,
                }),
                _ => None,
            };
            if let Some(notification) = notification {
                if self.fresh(policy, &notification.key, now) {
                    out.push(notification);
                }
            }
        }
        // A resolution notification supersedes the update that said the same thing a moment ago.
        let resolved: Vec<String> = out
            .iter()
            .filter(|n| n.kind == AlertKind::IncidentResolved)
            .filter_map(|n| n.incident_id.clone())
            .collect();
        out.retain(|n| {
            n.kind != AlertKind::IncidentUpdated
                || !n
                    .incident_id
                    .as_ref()
                    .is_some_and(|id| resolved.contains(id))
        });
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn level_alert(
        &mut self,
        policy: &AlertPolicy,
        next: Level,
        reasons: &[String],
        subject: Option<(&str, Option<&str>)>,
        alternative: Option<&str>,
        now: DateTime<Utc>,
        out: &mut Vec<Notification>,
    ) {
        let subject_model = subject.and_then(|(_, model)| model);
        let subject = subject.map(|(name, _)| name);
        let reason = reasons.first().cloned().unwrap_or_default();
        let notification =
            // Only trouble that is new or worse is news: an outage that eases into an overload
            // (a storm ending, an incident moving to monitoring) is still the same episode.
            if is_trouble(next)
                && self
                    .notified_trouble
                    .is_none_or(|(l, _)| next.severity() > l.severity())
            {
                // A model decided the level: the notification names it, and a model that answers
                // normally, so the user knows where to switch.
                let (title, body) = match subject {
                    Some(model) => {
                        let reason = reason
                            .strip_prefix(&format!("{model}: {}, ", next.as_str()))
                            .unwrap_or(&reason)
                            .to_owned();
                        (
                            format!("Claude {model} {}", next.as_str()),
                            match alternative {
                                Some(alt) => format!("{reason}. Claude {alt} answers normally."),
                                None => reason,
                            },
                        )
                    }
                    None => (next.headline().to_owned(), reason),
                };
                self.notified_subject = subject.map(str::to_owned);
                self.notified_model = subject_model.map(str::to_owned);
                Some(Notification {
                    kind: AlertKind::Trouble,
                    level: next,
                    title,
                    body,
                    incident_id: None,
                    key: format!("level:{}:{}", next.as_str(), subject.unwrap_or("api")),
                    model: subject_model.map(str::to_owned),
                })
            } else if next == Level::Operational && self.notified_trouble.is_some() {
                self.notified_trouble.map(|(level, since)| {
                    let lasted = now - since;
                    Notification {
                        kind: AlertKind::Recovered,
                        level: next,
                        title: match &self.notified_subject {
                            Some(model) => format!("Claude {model} recovered"),
                            None => "Claude API recovered".to_owned(),
                        },
                        body: format!(
                            "Operational again after {} {}.",
                            minutes_text(lasted),
                            match level {
                                Level::Overloaded => "of overload",
                                _ => "of outage",
                            }
                        ),
                        incident_id: None,
                        key: format!("recovered:{}", since.timestamp()),
                        model: self.notified_model.clone(),
                    }
                })
            } else {
                None
            };
        let Some(notification) = notification else {
            return;
        };

        self.level_alerts.push_back(now);
        if self.level_alerts.len() > policy.flap_limit {
            if self.flapping_since.is_none() {
                self.flapping_since = Some(now);
                out.push(Notification {
                    kind: AlertKind::Flapping,
                    level: next,
                    title: "Claude API is flapping".to_owned(),
                    body: format!(
                        "The state changed {} times in {} minutes; holding further alerts until it settles.",
                        self.level_alerts.len(),
                        policy.flap_window.num_minutes()
                    ),
                    incident_id: None,
                    key: format!("flapping:{}", now.timestamp()),
                    model: None,
                });
            }
            // While flapping, only the state is tracked, so a later recovery is still told.
            self.track_trouble(&notification, now);
            return;
        }
        if notification.kind == AlertKind::Trouble && !self.fresh(policy, &notification.key, now) {
            self.track_trouble(&notification, now);
            return;
        }
        self.track_trouble(&notification, now);
        self.sent.insert(notification.key.clone(), now);
        out.push(notification);
    }

    fn track_trouble(&mut self, notification: &Notification, now: DateTime<Utc>) {
        match notification.kind {
            AlertKind::Trouble => {
                let since = self.notified_trouble.map_or(now, |(_, since)| since);
                self.notified_trouble = Some((notification.level, since));
            }
            AlertKind::Recovered => self.notified_trouble = None,
            _ => {}
        }
    }

    /// Whether a notification raised outside `decide` (a traffic spike) may go out now: true, and
    /// remembered, when its key was not sent within the cooldown. The same deduplication and
    /// cooldown as every other alert, so a spike that flaps around its limit is told once.
    ///
    /// A spike's end is the exception: it goes out exactly when that spike's start went out. An
    /// end held back by the cooldown would leave the user believing a told spike goes on, and an
    /// end whose start was held back would end something they were never told of.
    pub fn admit(
        &mut self,
        policy: &AlertPolicy,
        notification: &Notification,
        now: DateTime<Utc>,
    ) -> bool {
        self.forget_old(policy, now);
        match notification.kind {
            AlertKind::TrafficSpikeOver => {
                let told = notification
                    .key
                    .strip_suffix(crate::spikes::RECOVERED_SUFFIX)
                    .is_some_and(|start| self.told_spikes.remove(start));
                if told {
                    self.sent.insert(notification.key.clone(), now);
                }
                told
            }
            AlertKind::TrafficSpike => {
                let fresh = self.fresh(policy, &notification.key, now);
                if fresh {
                    self.told_spikes.insert(notification.key.clone());
                    if self.told_spikes.len() > TOLD_SPIKES_MAX {
                        self.told_spikes.pop_first();
                    }
                }
                fresh
            }
            _ => self.fresh(policy, &notification.key, now),
        }
    }

    /// True (and remembered) when the key was not sent within the cooldown.
    fn fresh(&mut self, policy: &AlertPolicy, key: &str, now: DateTime<Utc>) -> bool {
        if self
            .sent
            .get(key)
            .is_some_and(|at| within(now, *at, policy.cooldown))
        {
            return false;
        }
        self.sent.insert(key.to_owned(), now);
        true
    }

    fn forget_old(&mut self, policy: &AlertPolicy, now: DateTime<Utc>) {
        // A retain, not a pop from the front: after the clock was set back the alerts "from the
        // future" sit behind older ones, and they must leave too.
        self.level_alerts
            .retain(|at| within(now, *at, policy.flap_window + Duration::nanoseconds(1)));
        if self.flapping_since.is_some() && self.level_alerts.len() <= 1 {
            self.flapping_since = None;
        }
        let horizon = policy.cooldown.max(policy.flap_window) * 4;
        self.sent.retain(|_, at| within(now, *at, horizon));
    }
}

/// True when `at` is less than `span` before `now`. A moment well after `now` is not: the clock was
/// set back (issue 16, clock jumps), and an alert sent "an hour from now" must neither hold back
/// the next one for an hour and its cooldown nor count toward flapping until the clock catches up.
fn within(now: DateTime<Utc>, at: DateTime<Utc>, span: Duration) -> bool {
    at <= now + crate::health::CLOCK_BACK_TOLERANCE && now - at < span
}

fn minutes_text(duration: Duration) -> String {
    let minutes = duration.num_minutes();
    if minutes < 1 {
        format!("{} s", duration.num_seconds().max(0))
    } else if minutes < 120 {
        format!("{minutes} min")
    } else {
        format!("{} h {} min", minutes / 60, minutes % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// The titles raised by a run of levels, one step a minute, each decided by `subject`.
    fn titles(levels: &[(Level, Option<&str>)]) -> Vec<String> {
        let mut state = AlertState::default();
        let policy = AlertPolicy::default();
        let start = Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0).unwrap();
        let reasons = vec!["529 on 3 of the last 3 probes".to_owned()];
        let mut previous = Level::Operational;
        let mut out = Vec::new();
        for (minute, (next, subject)) in levels.iter().enumerate() {
            let step = AlertStep {
                previous,
                next: *next,
                reasons: &reasons,
                changes: &[],
                subject: *subject,
                subject_model: None,
                alternative: None,
            };
            let now = start + Duration::minutes(minute as i64);
            out.extend(
                state
                    .decide(&policy, &step, &|_| true, now)
                    .into_iter()
                    .map(|n| n.title),
            );
            previous = *next;
        }
        out
    }

    #[test]
    fn trouble_that_eases_is_the_same_episode_and_worse_trouble_is_news() {
        let opus = Some("Opus 5.5");
        let sonnet = Some("Sonnet 5.5");
        assert_eq!(
            titles(&[
                (Level::Overloaded, opus),
                (Level::Outage, None),
                // The page's incident moves to monitoring while Sonnet's last 529 still stands.
                (Level::Overloaded, sonnet),
                (Level::Operational, None),
            ]),
            [
                "Claude Opus 5.5 overloaded",
                "Claude API outage",
                "Claude API recovered"
            ]
        );
    }
}
