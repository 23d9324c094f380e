//! The API probes: `GET /v1/models` for reachability and an opt-in one-token streamed
//! `POST /v1/messages` for time to first token, and the loop that schedules them (with quick
//! confirming re-checks when a result disagrees with the current state).
//!
//! Probes never retry: they are measurements, and a retry would hide exactly what they measure.
//! The confirming re-checks are their form of retry, and they feed the hysteresis instead.

use std::future::Future;
use std::time::{Duration, Instant};

use chrono::Utc;
use claude_status_core::health::{
    HealthConfig, ProbeHealth, ProbeKind, ProbeResult, ProbeSchedule,
};
use claude_status_core::monitor::Observation;
use claude_status_core::probe::{
    classify_reply, classify_transport, Classification, HttpReply, TransportFailure,
};
use claude_status_core::ratelimit::parse_ratelimit_headers;
use claude_status_core::report::Snapshot;
use claude_status_core::sse::{SseParser, StreamEvent, StreamTimings};
use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::freeze::FreezeWatch;
use crate::http::{
    describe_transport_error, read_body_limited, BodyError, HttpLimits, TransportKind,
};

/// The API's public base URL.
pub const DEFAULT_API_URL: &str = "https://api.anthropic.com";
/// The API version every request names (still the current one).
pub const ANTHROPIC_VERSION: &str = "2023-06-01";
/// The default model of the streaming probe: the cheapest current one.
pub const DEFAULT_STREAM_MODEL: &str = "claude-haiku-4-5";
/// The streaming probe's prompt: tiny, so the probe costs a handful of input tokens.
pub const STREAM_PROMPT: &str = "ping";
/// The most bytes we read of a reachability answer or an error body.
const PROBE_BODY_LIMIT: u64 = 256 * 1024;
/// The most bytes we read of a probe's stream; one token needs about 1 KiB.
const STREAM_BYTE_LIMIT: usize = 64 * 1024;

/// An API key. Its `Debug` never shows it, so it cannot reach a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key; an empty or blank value is no key.
    pub fn new(key: impl Into<String>) -> Option<Self> {
        let key = key.into().trim().to_owned();
        (!key.is_empty()).then_some(Self(key))
    }

    /// The key itself, for the request header only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A form safe to show: the prefix and the last four characters.
    pub fn redacted(&self) -> String {
        let tail: String = self
            .0
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let prefix: String = self.0.chars().take(7).collect();
        format!("{prefix}…{tail}")
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(redacted)")
    }
}

/// The per-model streaming probe's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamingProbeConfig {
    /// The model probed while the monitor follows none yet (no traffic, nothing pinned).
    pub model: String,
    /// How often the most-used followed model is probed.
    pub interval: Duration,
    /// How often every other followed model is probed: each probe costs tokens.
    pub others_interval: Duration,
}

impl Default for StreamingProbeConfig {
    fn default() -> Self {
        Self {
            model: DEFAULT_STREAM_MODEL.to_owned(),
            interval: claude_status_core::models::MOST_USED_PROBE_INTERVAL,
            others_interval: claude_status_core::models::OTHER_PROBE_INTERVAL,
        }
    }
}

/// The probes' settings.
#[derive(Debug, Clone)]
pub struct ProbeConfig {
    /// Base URL of the API (`ANTHROPIC_BASE_URL`).
    pub api_url: String,
    pub api_key: Option<ApiKey>,
    pub schedule: ProbeSchedule,
    /// Off by default: it costs tokens.
    pub streaming: Option<StreamingProbeConfig>,
    pub limits: HttpLimits,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        Self {
            api_url: DEFAULT_API_URL.to_owned(),
            api_key: None,
            schedule: ProbeSchedule::default(),
            streaming: None,
            limits: HttpLimits::default(),
        }
    }
}

impl ProbeConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        let url = reqwest::Url::parse(&self.api_url)
            .map_err(|e| Error::Config(format!("API URL {:?}: {e}", self.api_url)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::Config(format!(
                "API URL {:?} must be http or https",
                self.api_url
            )));
        }
        if self.schedule.interval < Duration::from_secs(1) {
            return Err(Error::Config(
                "probe interval must be at least 1 s".to_owned(),
            ));
        }
        if self.streaming.is_some() && self.api_key.is_none() {
            return Err(Error::Config(
                "the streaming probe sends a real request and needs an API key (ANTHROPIC_API_KEY)"
                    .to_owned(),
            ));
        }
        if let Some(streaming) = &self.streaming {
            if streaming.model.trim().is_empty() {
                return Err(Error::Config(
                    "the streaming probe needs a model".to_owned(),
                ));
            }
        }
        Ok(())
    }

    fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.api_url.trim_end_matches('/'))
    }
}

/// Something that can run a probe: the real HTTP prober, or a scripted one in tests.
pub trait ApiProbe: Send + Sync + 'static {
    /// Runs one probe and classifies its outcome; never fails (a failure is the result). A
    /// streaming probe asks `model` (the configured default when `None`).
    fn probe(
        &self,
        kind: ProbeKind,
        model: Option<&str>,
        confirmation: bool,
    ) -> impl Future<Output = ProbeResult> + Send;
}

/// The real prober over HTTP.
#[derive(Debug, Clone)]
pub struct HttpProber {
    http: reqwest::Client,
    config: ProbeConfig,
}

impl HttpProber {
    /// A prober sharing the given client (and its connection pool).
    pub fn new(http: reqwest::Client, config: ProbeConfig) -> Self {
        Self { http, config }
    }

    /// The configuration in force.
    pub fn config(&self) -> &ProbeConfig {
        &self.config
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut request = self
            .http
            .request(method, self.config.endpoint(path))
            .header("anthropic-version", ANTHROPIC_VERSION);
        if let Some(key) = &self.config.api_key {
            request = request.header("x-api-key", key.expose());
        }
        request
    }

    /// `GET /v1/models?limit=1`: is the API there, and how fast does it answer?
    pub async fn reachability(&self, confirmation: bool) -> ProbeResult {
        let at = Utc::now();
        let started = Instant::now();
        let outcome = self
            .request(reqwest::Method::GET, "/v1/models?limit=1")
            .send()
            .await;
        let (classification, ratelimit) = match outcome {
            Err(e) => (
                classify_transport(&transport_failure(&e)),
                Default::default(),
            ),
            Ok(response) => {
                let status = response.status().as_u16();
                let headers = header_pairs(response.headers());
                let body = match read_body_limited(response, PROBE_BODY_LIMIT).await {
                    Ok(body) => body.to_vec(),
                    // An oversized answer is still an answer; classify it by status alone.
                    Err(BodyError::TooLarge { .. }) => Vec::new(),
                    Err(BodyError::Transport(e)) => {
                        return self.result(
                            ProbeKind::Reachability,
                            at,
                            started,
                            classify_transport(&transport_failure(&e)),
                            confirmation,
                        )
                    }
                };
                let reply = HttpReply {
                    status,
                    headers: &headers,
                    body: &body,
                    key_configured: self.config.api_key.is_some(),
                };
                (
                    classify_reply(&reply, Utc::now()),
                    parse_ratelimit_headers(&headers),
                )
            }
        };
        let mut result = self.result(
            ProbeKind::Reachability,
            at,
            started,
            classification,
            confirmation,
        );
        result.ratelimit = ratelimit;
        result
    }

    fn result(
        &self,
        kind: ProbeKind,
        at: chrono::DateTime<Utc>,
        started: Instant,
        classification: Classification,
        confirmation: bool,
    ) -> ProbeResult {
        let answered = classification.http_status.is_some();
        ProbeResult {
            at,
            kind,
            classification,
            // A transport failure has no latency worth charting: it is the time to give up.
            latency_ms: answered.then(|| millis(started.elapsed())),
            message_start_ms: None,
            ttft_ms: None,
            ratelimit: Default::default(),
            usage: None,
            confirmation,
            model: None,
        }
    }

    /// A one-token streamed message: time to headers, to `message_start` and to the first token.
    pub async fn streaming(&self, model: Option<&str>, confirmation: bool) -> ProbeResult {
        let at = Utc::now();
        let started = Instant::now();
        let model = model.unwrap_or_else(|| {
            self.config
                .streaming
                .as_ref()
                .map_or(DEFAULT_STREAM_MODEL, |s| s.model.as_str())
        });
        let mut result = self.streaming_inner(model, at, started, confirmation).await;
        result.model = Some(model.to_owned());
        result
    }

    async fn streaming_inner(
        &self,
        model: &str,
        at: chrono::DateTime<Utc>,
        started: Instant,
        confirmation: bool,
    ) -> ProbeResult {
        let body = serde_json::json!({
            "model": model,
            "max_tokens": 1,
            "stream": true,
            "messages": [{"role": "user", "content": STREAM_PROMPT}],
        });
        let response = match self
            .request(reqwest::Method::POST, "/v1/messages")
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
        {
            Ok(response) => response,
            Err(e) => {
                return self.result(
                    ProbeKind::Streaming,
                    at,
                    started,
                    classify_transport(&transport_failure(&e)),
                    confirmation,
                )
            }
        };
        let headers_ms = millis(started.elapsed());
        let status = response.status().as_u16();
        let headers = header_pairs(response.headers());
        let ratelimit = parse_ratelimit_headers(&headers);
        let request_id =
            claude_status_core::probe::header(&headers, "request-id").map(str::to_owned);

        let mut result = ProbeResult {
            at,
            kind: ProbeKind::Streaming,
            classification: Classification {
                outcome: claude_status_core::probe::ProbeOutcome::Ok,
                http_status: Some(status),
                error_type: None,
                error_message: None,
                request_id: request_id.clone(),
                retry_after: None,
                retry_not_before: None,
                detail: String::new(),
            },
            latency_ms: Some(headers_ms),
            message_start_ms: None,
            ttft_ms: None,
            ratelimit,
            usage: None,
            confirmation,
            model: None,
        };

        if !(200..300).contains(&status) {
            let body = match read_body_limited(response, PROBE_BODY_LIMIT).await {
                Ok(body) => body.to_vec(),
                Err(_) => Vec::new(),
            };
            let reply = HttpReply {
                status,
                headers: &headers,
                body: &body,
                key_configured: self.config.api_key.is_some(),
            };
            result.classification = classify_reply(&reply, Utc::now());
            return result;
        }

        let mut parser = SseParser::new();
        let mut timings = StreamTimings::new();
        let mut stream = response.bytes_stream();
        let mut read = 0usize;
        let mut events = Vec::new();
        // Why the stream stopped early. A transport error keeps its kind, so a stream that our
        // deadline cut off reads as a timeout rather than as a reset connection.
        let mut cut_off: Option<TransportFailure> = None;
        'read: while let Some(chunk) = stream.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(e) => {
                    cut_off = Some(transport_failure(&e));
                    break;
                }
            };
            read += chunk.len();
            events.clear();
            if let Err(e) = parser.push_into(&chunk, &mut events) {
                cut_off = Some(TransportFailure::ConnectionReset(format!(
                    "unreadable stream: {e}"
                )));
                break;
            }
            for raw in &events {
                let elapsed = started.elapsed();
                match StreamEvent::decode(raw) {
                    Ok(event) => timings.observe(&event, elapsed),
                    Err(e) => {
                        cut_off = Some(TransportFailure::ConnectionReset(format!(
                            "unreadable stream event: {e}"
                        )));
                        break 'read;
                    }
                }
                if timings.stream_error.is_some() || timings.message_stop_at.is_some() {
                    break 'read;
                }
            }
            if read > STREAM_BYTE_LIMIT {
                cut_off = Some(TransportFailure::ConnectionReset(format!(
                    "stream longer than {STREAM_BYTE_LIMIT} bytes for one token"
                )));
                break;
            }
        }
        if let Ok(Some(last)) = parser.finish() {
            if let Ok(event) = StreamEvent::decode(&last) {
                timings.observe(&event, started.elapsed());
            }
        }

        result.message_start_ms = timings.message_start_at.map(millis);
        result.ttft_ms = timings.first_delta_at.map(millis);
        result.usage = timings.message_start_at.map(|_| timings.usage.clone());
        if let Some(error) = timings.error_classification(request_id) {
            result.classification = error;
        } else if timings.message_stop_at.is_none() {
            let why = cut_off.unwrap_or_else(|| {
                TransportFailure::ConnectionReset("the stream ended before message_stop".to_owned())
            });
            let mut classification = classify_transport(&why);
            classification.http_status = Some(status);
            classification.request_id = result.classification.request_id.clone();
            result.classification = classification;
        } else {
            result.classification.detail = format!(
                "Streamed one token: first token after {} ms.",
                result
                    .ttft_ms
                    .or(result.message_start_ms)
                    .unwrap_or(headers_ms)
            );
        }
        result
    }
}

impl ApiProbe for HttpProber {
    async fn probe(&self, kind: ProbeKind, model: Option<&str>, confirmation: bool) -> ProbeResult {
        match kind {
            ProbeKind::Reachability => self.reachability(confirmation).await,
            ProbeKind::Streaming => self.streaming(model, confirmation).await,
        }
    }
}

fn header_pairs(headers: &reqwest::header::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter_map(|(name, value)| {
            value
                .to_str()
                .ok()
                .map(|v| (name.as_str().to_owned(), v.to_owned()))
        })
        .collect()
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Maps a reqwest error to the core's transport failures.
pub fn transport_failure(error: &reqwest::Error) -> TransportFailure {
    let (kind, detail) = describe_transport_error(error);
    match kind {
        TransportKind::Timeout => TransportFailure::Timeout,
        TransportKind::Dns => TransportFailure::Dns(detail),
        TransportKind::Refused => TransportFailure::ConnectionRefused(detail),
        TransportKind::Reset => TransportFailure::ConnectionReset(detail),
        TransportKind::Tls => TransportFailure::Tls(detail),
        TransportKind::Other => TransportFailure::Other(detail),
    }
}

/// Whether the probe started at `started` spanned a freeze and must be taken again. At most two
/// in a row are dropped, so a clock that keeps jumping cannot stop the probes.
fn retake(freezes: &FreezeWatch, started: tokio::time::Instant, retaken: &mut u32) -> bool {
    if *retaken < 2 && freezes.frozen_since(started) {
        *retaken += 1;
        return true;
    }
    *retaken = 0;
    false
}

/// Commands for the probe loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeCommand {
    /// Probe now (the tray's "Check now"): reachability and every followed model.
    ProbeNow,
    /// The user's own traffic just failed on this model: probe it now.
    ProbeModel(String),
}

/// One followed model's place in the schedule.
#[derive(Debug)]
struct ModelSlot {
    next: tokio::time::Instant,
    last: Option<tokio::time::Instant>,
    /// The interval the last wait was computed with, so a shorter one (the model became the most
    /// used) pulls the next probe in instead of waiting out the old pace.
    interval: Duration,
    quick_so_far: u32,
    confirmation: bool,
    /// The same hysteresis as the monitor's for this model, fed this model's probes, so the
    /// schedule knows whether a result disagrees with the model's state.
    health: ProbeHealth,
}

/// The followed models and their intervals, from the monitor's latest snapshot: a model the
/// monitor gives the most-used pace (the most used one, and any in a bad episode) every
/// `interval`, the others every `others_interval`; the default model before the monitor follows
/// any. Retired models are left out (the monitor gives them no interval).
fn followed_models(
    snapshot: &Snapshot,
    streaming: &StreamingProbeConfig,
) -> Vec<(String, Duration)> {
    let fast = claude_status_core::models::MOST_USED_PROBE_INTERVAL.as_secs();
    let mut followed: Vec<(String, Duration)> = snapshot
        .models
        .iter()
        .filter(|m| m.followed)
        .filter_map(|m| {
            let secs = u64::from(m.probe_interval_secs?);
            let interval = if secs <= fast {
                streaming.interval
            } else {
                streaming.others_interval
            };
            Some((m.model.clone(), interval))
        })
        .collect();
    if followed.is_empty() && !snapshot.models.iter().any(|m| m.followed) {
        followed.push((streaming.model.clone(), streaming.interval));
    }
    followed
}

/// Runs the probes until `shutdown`: reachability on its schedule with confirming re-checks, and,
/// when configured, one streaming probe per followed model on its own schedule with its own
/// confirming re-checks. The followed models come from the monitor's snapshot, so the monitor
/// stays the one owner of what is followed.
#[allow(clippy::too_many_arguments)]
pub async fn run_probes<P: ApiProbe>(
    prober: P,
    schedule: ProbeSchedule,
    health: HealthConfig,
    streaming: Option<StreamingProbeConfig>,
    mut snapshot: watch::Receiver<Snapshot>,
    observations: mpsc::Sender<Observation>,
    mut commands: mpsc::Receiver<ProbeCommand>,
    shutdown: CancellationToken,
) {
    // The same hysteresis as the monitor's, fed the same results in the same order, so the
    // schedule knows whether a result disagrees with the state without asking the monitor.
    let mut local = ProbeHealth::default();
    let mut quick_so_far = 0;
    let mut confirmation = false;
    let mut next_reachability = tokio::time::Instant::now();
    let mut slots: std::collections::BTreeMap<String, ModelSlot> = Default::default();
    // A probe whose exchange spanned a freeze of this process (a laptop's sleep) says nothing
    // about the API: its deadline passed while nothing ran, and its latency is the sleep. It is
    // dropped and taken again at once, so the first round after a wake is a fresh one.
    let freezes = FreezeWatch::new();
    let _ticker = freezes.spawn_ticker();
    let mut retaken = 0u32;
    loop {
        if tokio::time::Instant::now() >= next_reachability {
            let started = tokio::time::Instant::now();
            let result = prober
                .probe(ProbeKind::Reachability, None, confirmation)
                .await;
            if retake(&freezes, started, &mut retaken) {
                tracing::info!("the reachability probe spanned a freeze (sleep): taken again");
                continue;
            }
            let signal = health.signal(&result);
            local.record(&health, result.clone());
            if observations
                .send(Observation::Probe {
                    result: Box::new(result),
                })
                .await
                .is_err()
            {
                return;
            }
            let (wait, quick) = schedule.next(signal, local.episode().is_some(), quick_so_far);
            quick_so_far = if quick { quick_so_far + 1 } else { 0 };
            confirmation = quick;
            next_reachability = tokio::time::Instant::now() + wait;
        }

        if let Some(streaming) = &streaming {
            let followed = followed_models(&snapshot.borrow_and_update(), streaming);
            slots.retain(|model, _| followed.iter().any(|(m, _)| m == model));
            for (model, interval) in followed {
                let slot = slots.entry(model.clone()).or_insert_with(|| ModelSlot {
                    next: tokio::time::Instant::now(),
                    last: None,
                    interval,
                    quick_so_far: 0,
                    confirmation: false,
                    health: ProbeHealth::default(),
                });
                if interval < slot.interval && !slot.confirmation {
                    if let Some(last) = slot.last {
                        slot.next = slot.next.min(last + interval);
                    }
                }
                if tokio::time::Instant::now() < slot.next {
                    continue;
                }
                let started = tokio::time::Instant::now();
                let result = prober
                    .probe(ProbeKind::Streaming, Some(&model), slot.confirmation)
                    .await;
                if retake(&freezes, started, &mut retaken) {
                    tracing::info!(%model, "the streaming probe spanned a freeze (sleep): taken again");
                    // The slot is still due, so the next pass takes it at once.
                    continue;
                }
                let signal = health.signal(&result);
                slot.health.record(&health, result.clone());
                if observations
                    .send(Observation::Probe {
                        result: Box::new(result),
                    })
                    .await
                    .is_err()
                {
                    return;
                }
                // A model in a bad episode gets the most-used pace from the monitor's report;
                // the snapshot that says so wakes this loop, and the pull-in above applies it.
                slot.interval = interval;
                let per_model = ProbeSchedule {
                    interval,
                    ..schedule
                };
                let (wait, quick) =
                    per_model.next(signal, slot.health.episode().is_some(), slot.quick_so_far);
                slot.quick_so_far = if quick { slot.quick_so_far + 1 } else { 0 };
                slot.confirmation = quick;
                slot.last = Some(tokio::time::Instant::now());
                slot.next = tokio::time::Instant::now() + wait;
            }
        }

        let next = slots
            .values()
            .map(|s| s.next)
            .fold(next_reachability, std::cmp::min);
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep_until(next) => {}
            // A sleep the monotonic clock did not count (Linux's suspend): the timers are not
            // overdue, so the first round after the wake is taken now, with the state kept.
            _ = freezes.woke() => {
                next_reachability = tokio::time::Instant::now();
                for slot in slots.values_mut() {
                    slot.next = tokio::time::Instant::now();
                }
            }
            // The followed models may have changed (new traffic, a pinned model): look again.
            changed = snapshot.changed(), if streaming.is_some() => {
                if changed.is_err() {
                    return;
                }
            }
            command = commands.recv() => match command {
                None => return,
                Some(ProbeCommand::ProbeNow) => {
                    confirmation = false;
                    quick_so_far = 0;
                    next_reachability = tokio::time::Instant::now();
                    for slot in slots.values_mut() {
                        slot.next = tokio::time::Instant::now();
                        slot.confirmation = false;
                        slot.quick_so_far = 0;
                    }
                }
                Some(ProbeCommand::ProbeModel(model)) => {
                    let model = claude_status_core::pricing::normalize_model(&model);
                    if let Some(slot) = slots.get_mut(&model) {
                        // A storm sends many failures: one immediate probe per confirm interval
                        // is enough, and a re-check already scheduled is sooner anyway.
                        let recent = slot.last.is_some_and(|at| at.elapsed() < schedule.confirm_interval);
                        if !recent && slot.quick_so_far == 0 {
                            slot.next = tokio::time::Instant::now();
                            slot.confirmation = true;
                        }
                    }
                }
            },
        }
    }
}
