//! Direct alert routing: the engine's notifications to Slack, Discord, PagerDuty, a generic
//! webhook and ntfy, for people without Prometheus and Alertmanager.
//!
//! The `Dispatcher` is fed by `offer`, a `try_send` into a bounded queue, so the monitor (and
//! the service's relay) never waits for it. One router task decides which channels get what
//! (`core::channels::Router`, with the store's deliveries and open episodes) and hands each
//! channel's messages to that channel's own worker through a bounded queue of its own; a full
//! queue drops the message and counts it. Each worker sends one message at a time, with a
//! timeout and bounded retries (`send.rs`), so a channel that hangs delays only itself.

pub mod secrets;
pub mod send;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use claude_status_core::alerts::Notification;
use claude_status_core::channels::{
    dedup_window, AlertAction, AlertMessage, AlertingReport, ChannelConfig, ChannelKind,
    ChannelStatus, Delivery, Routed, Router, TestOutcome,
};
use claude_status_core::Level;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use self::secrets::ChannelSecrets;
use self::send::{deliver, Delivered, SendContext};
use crate::monitor::EngineEvent;
use crate::store::Store;

/// The bounds of alert delivery. `docs/alerts.md` states the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertingLimits {
    /// Engine events waiting for the router.
    pub input_queue: usize,
    /// Messages waiting for one channel's worker.
    pub channel_queue: usize,
    /// One attempt's whole exchange.
    pub timeout: Duration,
    /// Attempts per message, the first included.
    pub attempts: u32,
    /// The first retry's wait; each later one doubles it…
    pub backoff_base: Duration,
    /// …up to this.
    pub backoff_max: Duration,
    /// The longest `Retry-After` honoured; a receiver asking for more gets this.
    pub retry_after_max: Duration,
}

impl Default for AlertingLimits {
    fn default() -> Self {
        Self {
            input_queue: 256,
            channel_queue: 32,
            timeout: Duration::from_secs(10),
            attempts: 5,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            retry_after_max: Duration::from_secs(120),
        }
    }
}

/// What the router is fed.
#[derive(Debug, Clone)]
enum Input {
    Notify {
        at: DateTime<Utc>,
        notification: Notification,
    },
    Level {
        at: DateTime<Utc>,
        to: Level,
    },
}

/// One channel's delivery counters.
#[derive(Debug, Clone, Default)]
struct Counters {
    queued: u32,
    delivered: u64,
    failed: u64,
    dropped: u64,
    last_ok_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
    last_error_at: Option<DateTime<Utc>>,
    failing: bool,
}

/// The state the handle, the router and the workers share. Its lock is never held across an
/// await.
#[derive(Debug, Default)]
struct Shared {
    counters: Mutex<BTreeMap<String, Counters>>,
    events_dropped: AtomicU64,
}

impl Shared {
    fn with<T>(&self, channel_id: &str, change: impl FnOnce(&mut Counters) -> T) -> T {
        let mut counters = crate::service::lock_ok(&self.counters);
        change(counters.entry(channel_id.to_owned()).or_default())
    }
}

/// A running dispatcher; clones share it.
#[derive(Debug, Clone)]
pub struct Dispatcher {
    input: mpsc::Sender<Input>,
    channels: Arc<watch::Sender<Vec<ChannelConfig>>>,
    shared: Arc<Shared>,
    context: SendContext,
    /// Bumped whenever a channel starts or stops failing, for front ends that show it.
    failing_changes: Arc<watch::Sender<u64>>,
}

impl Dispatcher {
    /// Starts the router on the current runtime; it stops with `shutdown`.
    pub fn start(
        channels: Vec<ChannelConfig>,
        limits: AlertingLimits,
        secrets: ChannelSecrets,
        http: reqwest::Client,
        store: Arc<Store>,
        shutdown: CancellationToken,
    ) -> Dispatcher {
        let (input, received) = mpsc::channel(limits.input_queue.max(1));
        let (channels, _) = watch::channel(channels);
        let (failing_changes, _) = watch::channel(0);
        let dispatcher = Dispatcher {
            input,
            channels: Arc::new(channels),
            shared: Arc::new(Shared::default()),
            context: SendContext {
                http,
                secrets,
                limits,
                source: source_name(),
                shutdown,
            },
            failing_changes: Arc::new(failing_changes),
        };
        tokio::spawn(dispatcher.clone().route_all(received, store));
        dispatcher
    }

    /// Offers an engine event without waiting: a notification or a level change goes into the
    /// router's queue, anything else is not for it. A full queue drops the event and counts it
    /// (`AlertingReport::events_dropped`).
    pub fn offer(&self, event: &EngineEvent) {
        let input = match event {
            EngineEvent::Notify { at, notification } => Input::Notify {
                at: *at,
                notification: notification.clone(),
            },
            EngineEvent::LevelChanged { at, to, .. } => Input::Level { at: *at, to: *to },
            _ => return,
        };
        if self.channels.borrow().iter().all(|c| !c.enabled) {
            return;
        }
        if let Err(e) = self.input.try_send(input) {
            if matches!(e, mpsc::error::TrySendError::Full(_)) {
                self.shared.events_dropped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!("alert routing is behind: an engine event was dropped");
            }
        }
    }

    /// Stops the router and the workers; a message waiting for a retry is dropped.
    pub fn stop(&self) {
        self.context.shutdown.cancel();
    }

    /// Where the channels' secrets are read from and stored.
    pub fn secrets(&self) -> &ChannelSecrets {
        &self.context.secrets
    }

    /// The channels in force.
    pub fn channels(&self) -> Vec<ChannelConfig> {
        self.channels.borrow().clone()
    }

    /// Replaces the channels; the next event is routed with them.
    pub fn set_channels(&self, channels: Vec<ChannelConfig>) {
        self.channels.send_replace(channels);
    }

    /// A receiver that changes whenever a channel starts or stops failing.
    pub fn failing_changes(&self) -> watch::Receiver<u64> {
        self.failing_changes.subscribe()
    }

    /// Every channel's status. Reads the secrets' presence (never the secrets) off the async
    /// workers.
    pub async fn report(&self) -> AlertingReport {
        let channels = self.channels.borrow().clone();
        let secrets = self.context.secrets.clone();
        let presence = tokio::task::spawn_blocking(move || {
            channels
                .into_iter()
                .map(|c| {
                    let presence = secrets.presence(&c);
                    (c, presence)
                })
                .collect::<Vec<_>>()
        })
        .await
        .unwrap_or_default();
        let counters = crate::service::lock_ok(&self.shared.counters).clone();
        let limits = self.context.limits;
        AlertingReport {
            running: true,
            channels: presence
                .into_iter()
                .map(|(channel, (target, auth))| {
                    let c = counters.get(&channel.id).cloned().unwrap_or_default();
                    ChannelStatus {
                        env_vars: secrets::env_names(&channel.id, channel.kind),
                        failing: channel.enabled && (c.failing || target.is_none()),
                        target,
                        auth,
                        queued: c.queued,
                        delivered: c.delivered,
                        failed: c.failed,
                        dropped: c.dropped,
                        last_ok_at: c.last_ok_at,
                        last_error: c.last_error,
                        last_error_at: c.last_error_at,
                        channel,
                    }
                })
                .collect(),
            events_dropped: self.shared.events_dropped.load(Ordering::Relaxed),
            queue_per_channel: u32::try_from(limits.channel_queue).unwrap_or(u32::MAX),
            timeout_secs: u32::try_from(limits.timeout.as_secs()).unwrap_or(u32::MAX),
            attempts: limits.attempts,
        }
    }

    /// Sends a test alert to one channel, or to every channel with `None`, now, past the queue,
    /// with one attempt: the answer is for a person waiting on a button. A PagerDuty test
    /// triggers an `info` event and resolves it at once.
    pub async fn send_test(&self, channel_id: Option<&str>) -> Vec<TestOutcome> {
        let channels: Vec<ChannelConfig> = self
            .channels
            .borrow()
            .iter()
            .filter(|c| channel_id.is_none_or(|id| c.id == id))
            .cloned()
            .collect();
        let mut outcomes = Vec::new();
        for channel in channels {
            let now = Utc::now();
            let trigger = AlertMessage::test(now, AlertAction::Notify);
            let delivered = deliver(&self.context, &channel, &trigger, 1).await;
            if channel.kind == ChannelKind::Pagerduty && matches!(delivered, Delivered::Ok { .. }) {
                let mut resolve = trigger.clone();
                resolve.action = AlertAction::Resolve;
                let _ = deliver(&self.context, &channel, &resolve, 1).await;
            }
            self.count(&channel.id, &delivered, now);
            outcomes.push(TestOutcome {
                channel_id: channel.id.clone(),
                ok: matches!(delivered, Delivered::Ok { .. }),
                message: match delivered {
                    Delivered::Ok { status, .. } => format!("delivered (HTTP {status})"),
                    Delivered::Failed { message, .. } => message,
                    Delivered::Stopped => "stopped".to_owned(),
                },
            });
        }
        outcomes
    }

    /// Counts one delivery's outcome and tells front ends when the channel's failing state
    /// flips.
    fn count(&self, channel_id: &str, delivered: &Delivered, now: DateTime<Utc>) {
        let flipped = self.shared.with(channel_id, |c| {
            let was = c.failing;
            match delivered {
                Delivered::Ok { .. } => {
                    c.delivered += 1;
                    c.last_ok_at = Some(now);
                    c.failing = false;
                }
                Delivered::Failed { message, .. } => {
                    c.failed += 1;
                    c.last_error = Some(message.clone());
                    c.last_error_at = Some(now);
                    c.failing = true;
                }
                Delivered::Stopped => {}
            }
            was != c.failing
        });
        if flipped {
            self.failing_changes.send_modify(|n| *n += 1);
        }
    }

    /// The router: one event at a time, in order, so a recovery is never routed before the
    /// trouble it ends.
    async fn route_all(self, mut received: mpsc::Receiver<Input>, store: Arc<Store>) {
        let stored = {
            let store = store.clone();
            tokio::task::spawn_blocking(move || store.alert_episodes())
                .await
                .ok()
                .and_then(|r| r.map_err(|e| tracing::warn!("alert episodes: {e}")).ok())
                .unwrap_or_default()
        };
        let mut router = Router::with_episodes(stored);
        let mut workers: BTreeMap<String, mpsc::Sender<Delivery>> = BTreeMap::new();
        loop {
            let input = tokio::select! {
                _ = self.context.shutdown.cancelled() => return,
                input = received.recv() => match input {
                    Some(input) => input,
                    None => return,
                },
            };
            let channels = self.channels.borrow().clone();
            // Workers follow the channels: a removed channel's worker ends once its queue is
            // empty; a new one gets a worker.
            workers.retain(|id, _| channels.iter().any(|c| c.enabled && &c.id == id));
            let routed = match input {
                Input::Notify { at, notification } => {
                    let delivered = delivered_keys(&store, &channels, &notification).await;
                    router.route(&channels, &notification, at, &|channel, key| {
                        delivered.contains(&(channel.to_owned(), key.to_owned()))
                    })
                }
                Input::Level { at, to } => router.level_changed(&channels, to, at),
            };
            persist_episodes(&store, &routed).await;
            for delivery in routed.deliveries {
                let id = delivery.channel_id.clone();
                let worker = workers.entry(id.clone()).or_insert_with(|| {
                    let (tx, rx) = mpsc::channel(self.context.limits.channel_queue.max(1));
                    tokio::spawn(self.clone().work(id.clone(), rx, store.clone()));
                    tx
                });
                // Counted before the send, so the worker's decrement can never come first.
                self.shared.with(&id, |c| c.queued += 1);
                if worker.try_send(delivery).is_err() {
                    self.shared.with(&id, |c| {
                        c.queued = c.queued.saturating_sub(1);
                        c.dropped += 1;
                    });
                    tracing::warn!("alert channel {id}: its queue is full; a message was dropped");
                }
            }
        }
    }

    /// One channel's worker: its messages one at a time, each with its retries.
    async fn work(
        self,
        channel_id: String,
        mut queue: mpsc::Receiver<Delivery>,
        store: Arc<Store>,
    ) {
        loop {
            let delivery = tokio::select! {
                _ = self.context.shutdown.cancelled() => return,
                delivery = queue.recv() => match delivery {
                    Some(delivery) => delivery,
                    None => return,
                },
            };
            // The channel as configured now: a changed endpoint or kind applies to what waits.
            let channel = self
                .channels
                .borrow()
                .iter()
                .find(|c| c.id == channel_id)
                .cloned();
            let Some(channel) = channel else {
                self.shared
                    .with(&channel_id, |c| c.queued = c.queued.saturating_sub(1));
                continue;
            };
            let message = delivery.message;
            let delivered = deliver(
                &self.context,
                &channel,
                &message,
                self.context.limits.attempts,
            )
            .await;
            let now = Utc::now();
            self.shared
                .with(&channel_id, |c| c.queued = c.queued.saturating_sub(1));
            match &delivered {
                Delivered::Ok { attempts, .. } => {
                    tracing::info!(channel = %channel_id, attempts, "alert delivered: {}", message.title);
                    let store = store.clone();
                    let (id, key) = (channel_id.clone(), message.notification_key.clone());
                    let outcome = tokio::task::spawn_blocking(move || {
                        store.record_alert_delivery(&id, &key, now)
                    })
                    .await;
                    if let Ok(Err(e)) = outcome {
                        tracing::warn!("could not record an alert delivery: {e}");
                    }
                }
                Delivered::Failed { message: why, .. } => {
                    tracing::warn!(channel = %channel_id, "alert not delivered: {why}");
                }
                Delivered::Stopped => return,
            }
            self.count(&channel_id, &delivered, now);
        }
    }
}

/// The (channel, key) pairs the store says were delivered within the key's dedup window.
async fn delivered_keys(
    store: &Arc<Store>,
    channels: &[ChannelConfig],
    notification: &Notification,
) -> Vec<(String, String)> {
    let store = store.clone();
    let ids: Vec<String> = channels
        .iter()
        .filter(|c| c.enabled)
        .map(|c| c.id.clone())
        .collect();
    let key = notification.key.clone();
    let since = Utc::now() - dedup_window(&key);
    tokio::task::spawn_blocking(move || {
        ids.into_iter()
            .filter(|id| matches!(store.alert_delivered_since(id, &key, since), Ok(Some(_))))
            .map(|id| (id, key.clone()))
            .collect()
    })
    .await
    .unwrap_or_default()
}

/// Stores the episodes routing opened and forgets those it closed.
async fn persist_episodes(store: &Arc<Store>, routed: &Routed) {
    if routed.opened.is_empty() && routed.closed.is_empty() {
        return;
    }
    let store = store.clone();
    let (opened, closed) = (routed.opened.clone(), routed.closed.clone());
    let outcome = tokio::task::spawn_blocking(move || {
        for episode in &opened {
            store.save_alert_episode(episode)?;
        }
        for id in &closed {
            store.close_alert_episode(id)?;
        }
        Ok::<(), crate::Error>(())
    })
    .await;
    if let Ok(Err(e)) = outcome {
        tracing::warn!("could not store the alert episodes: {e}");
    }
}

/// PagerDuty's `payload.source`: this machine's name, so on-call knows which watcher spoke.
fn source_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty());
    match host {
        Some(host) => format!("claude-status on {host}"),
        None => "claude-status".to_owned(),
    }
}
