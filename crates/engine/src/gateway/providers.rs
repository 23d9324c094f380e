//! The gateway's fallback to other providers: where their Chat Completions endpoints are and
//! with which keys, sending a translated request to them, and handing their answer back in the
//! Messages API's shape (whole, or translated event by event as it streams).
//!
//! The decisions (when traffic may leave Claude, when it comes back, how a body is translated)
//! are core's (`fallback`, `translate`); this module does the IO. Nothing of the client's own
//! request headers goes to another provider: its `x-api-key` or `Authorization` is Anthropic's,
//! and the provider gets only its own key.

use std::collections::BTreeMap;
use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use chrono::Utc;
use claude_status_core::catalog::Catalog;
use claude_status_core::fallback::{FallbackGate, GateNotice, Provider, Target};
use claude_status_core::gateway::{ProviderAttempt, ResilienceEvent, ResilienceKind};
use claude_status_core::monitor::Observation;
use claude_status_core::translate::{
    chat_to_messages, map_provider_error, messages_to_chat, AnthropicError, ChatUsage, Dialect,
    RequestContext, StreamTranslator,
};
use http_body_util::BodyExt as _;
use hyper::body::{Body, Frame};
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use rand::Rng as _;
use tokio::sync::mpsc;

use super::body::{BodyError, GatewayBody};
use super::meter::MeterSink;
use super::stats::{bump, Counters};
use crate::error::{Error, Result};

/// The header a translated answer carries, naming the target that served it: the only way a
/// client can tell it did not come from Claude.
pub const FALLBACK_HEADER: &str = "x-claude-status-fallback";

/// The most of a provider's whole (non-streamed) answer that is read; Chat answers are a few KB,
/// and a provider sending more is not one to trust with the client's answer.
const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// The most of a provider's error body that is read for its message.
const MAX_ERROR_BYTES: usize = 64 * 1024;

/// A provider key, kept out of every `Debug` print and log line.
#[derive(Clone)]
pub struct ProviderKey(Arc<str>);

impl ProviderKey {
    /// Wraps a key; an empty one is none.
    pub fn new(key: &str) -> Option<ProviderKey> {
        let key = key.trim();
        (!key.is_empty()).then(|| ProviderKey(Arc::from(key)))
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl PartialEq for ProviderKey {
    fn eq(&self, other: &ProviderKey) -> bool {
        self.0 == other.0
    }
}

impl fmt::Debug for ProviderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProviderKey([redacted])")
    }
}

/// Where one provider is reached.
#[derive(Debug, Clone)]
pub struct ProviderEndpoint {
    pub provider: Provider,
    /// The base URL its `/chat/completions` hangs off (`https://api.openai.com/v1`).
    pub base_url: String,
    pub key: Option<ProviderKey>,
}

impl ProviderEndpoint {
    /// The endpoint of `provider` from the process environment: `OPENAI_API_KEY` and
    /// `OPENAI_BASE_URL`, `GEMINI_API_KEY` and `GEMINI_BASE_URL`, `NAME_API_KEY` (an
    /// OpenAI-compatible server's URL is declared, so `declared_url` gives it).
    pub fn from_env(provider: &Provider, declared_url: Option<&str>) -> Result<ProviderEndpoint> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let base_url = declared_url
            .map(str::to_owned)
            .or_else(|| provider.base_url_env().and_then(env))
            .or_else(|| provider.default_base_url().map(str::to_owned))
            .ok_or_else(|| {
                Error::Config(format!(
                    "{} has no base URL: declare it with --provider NAME=URL",
                    provider.label()
                ))
            })?;
        Ok(ProviderEndpoint {
            provider: provider.clone(),
            base_url,
            key: env(&provider.key_env()).and_then(|key| ProviderKey::new(&key)),
        })
    }
}

/// The fallback chain's other-provider half, as the request path uses it.
#[derive(Debug)]
pub(crate) struct Fallback {
    pub chain: Vec<Target>,
    endpoints: BTreeMap<Provider, (String, Option<ProviderKey>)>,
    pub gate: Mutex<FallbackGate>,
    catalog: Arc<Catalog>,
    observations: Option<mpsc::Sender<Observation>>,
}

/// The client's request as the fallback needs it.
pub(crate) struct Request<'a> {
    /// The Claude model the client asked for.
    pub model: &'a str,
    pub body: &'a Bytes,
    /// The client sent `anthropic-beta`.
    pub beta_header: bool,
    pub started: Instant,
    /// The status of Claude's failed answer, 0 when Claude was not asked (traffic is elsewhere).
    pub claude_status: u16,
    /// Why traffic may leave Claude (the gate's words).
    pub reason: String,
}

impl Fallback {
    /// Checks the chain's other providers against the endpoints: each needs a base URL, and
    /// OpenAI and Gemini a key.
    pub fn new(
        chain: Vec<Target>,
        endpoints: &[ProviderEndpoint],
        after: std::time::Duration,
        catalog: Arc<Catalog>,
        observations: Option<mpsc::Sender<Observation>>,
    ) -> Result<Option<Fallback>> {
        let mut known = BTreeMap::new();
        for target in &chain {
            let Some(provider) = target.provider() else {
                continue;
            };
            let endpoint = endpoints
                .iter()
                .find(|e| &e.provider == provider)
                .ok_or_else(|| {
                    Error::Config(format!(
                        "{target} names {}, which is not configured",
                        provider.label()
                    ))
                })?;
            let url = reqwest::Url::parse(endpoint.base_url.trim()).map_err(|e| {
                Error::Config(format!(
                    "{}'s base URL {:?} is not a URL: {e}",
                    provider.label(),
                    endpoint.base_url
                ))
            })?;
            if !matches!(url.scheme(), "http" | "https") || url.query().is_some() {
                return Err(Error::Config(format!(
                    "{}'s base URL must be an http:// or https:// URL without a query",
                    provider.label()
                )));
            }
            if provider.key_required() && endpoint.key.is_none() {
                return Err(Error::Config(format!(
                    "{target} needs a key: set {} (or store it in the keychain from Settings)",
                    provider.key_env()
                )));
            }
            let base = url.as_str().trim_end_matches('/').to_owned();
            known.insert(provider.clone(), (base, endpoint.key.clone()));
        }
        if known.is_empty() {
            return Ok(None);
        }
        Ok(Some(Fallback {
            chain,
            endpoints: known,
            gate: Mutex::new(FallbackGate::new(after)),
            catalog,
            observations,
        }))
    }

    /// The other-provider entries after `model` in the chain (they come after every Claude
    /// entry, `fallback::parse_chain` sees to it).
    pub fn targets_for(&self, model: &str) -> Vec<&Target> {
        claude_status_core::fallback::after_model(&self.chain, model)
            .iter()
            .filter(|t| t.provider().is_some())
            .collect()
    }

    /// Tells whoever listens (the monitor, hence notifications; `proxy`'s terminal) of a move.
    pub fn announce(&self, notice: GateNotice) {
        match &notice {
            GateNotice::Moved {
                model,
                target,
                reason,
                ..
            } => {
                tracing::warn!(
                    model,
                    target,
                    reason,
                    "gateway: requests moved to another provider"
                );
            }
            GateNotice::Back {
                model,
                target,
                away_secs,
                ..
            } => {
                tracing::info!(model, target, away_secs, "gateway: requests back on Claude");
            }
        }
        if let Some(observations) = &self.observations {
            // A full queue loses the notice, never a client's answer.
            let _ = observations.try_send(Observation::Fallback { notice });
        }
    }

    fn price(&self, target: &Target, usage: ChatUsage) -> Option<f64> {
        let provider = target.provider()?;
        let price = self
            .catalog
            .provider_price(&provider.price_key(target.model())?)?;
        Some(price.cost_usd(
            usage.input_tokens,
            usage.cache_read_tokens,
            usage.output_tokens,
        ))
    }

    /// Sends the request to the chain's other providers in turn until one answers. `None` when
    /// none could (each attempt is recorded with why): the caller then gives the client
    /// Claude's own answer.
    pub async fn serve(
        self: &Arc<Self>,
        client: &reqwest::Client,
        response_timeout: std::time::Duration,
        counters: &Arc<Counters>,
        meter: &MeterSink,
        request: Request<'_>,
    ) -> Option<Response<GatewayBody>> {
        let message_id = message_id();
        for target in self.targets_for(request.model) {
            let Some(provider) = target.provider() else {
                continue;
            };
            let Some((base, key)) = self.endpoints.get(provider) else {
                continue;
            };
            let label = target.to_string();
            let record = |kind, attempt: ProviderAttempt| {
                meter.resilience(ResilienceEvent {
                    at: Utc::now(),
                    kind,
                    status: request.claude_status,
                    model: Some(request.model.to_owned()),
                    to_model: Some(label.clone()),
                    wait_ms: None,
                    request_id: None,
                    provider: Some(attempt),
                });
            };
            let attempt = |reason: String| ProviderAttempt {
                target: label.clone(),
                reason,
                status: None,
                served: false,
                latency_ms: None,
                input_tokens: 0,
                output_tokens: 0,
                cache_read_tokens: 0,
                cost_usd: None,
            };
            // An answer that came but could not be used, with the provider's status and why.
            let failed = |status: u16, why: &str| {
                record(
                    ResilienceKind::Provider,
                    ProviderAttempt {
                        status: Some(status),
                        latency_ms: Some(elapsed_ms(request.started)),
                        ..attempt(format!("{}; {why}", request.reason))
                    },
                );
            };
            let chat = match messages_to_chat(
                request.body,
                &RequestContext {
                    target_model: target.model(),
                    dialect: dialect(provider),
                    beta_header: request.beta_header,
                },
            ) {
                Ok(chat) => chat,
                Err(refusal) => {
                    // What one provider cannot carry, the next cannot either: the translation
                    // is the same Chat Completions for all of them.
                    bump(&counters.not_translated);
                    let reason = refusal.reason();
                    tracing::info!(target = label.as_str(), "gateway: {reason}");
                    record(ResilienceKind::NotTranslated, attempt(reason));
                    return None;
                }
            };
            bump(&counters.provider_fallbacks);
            bump(&counters.upstream_attempts);
            let mut http = client
                .post(format!("{base}/chat/completions"))
                .header(CONTENT_TYPE, "application/json")
                .header(
                    hyper::header::ACCEPT,
                    if chat.stream {
                        "text/event-stream"
                    } else {
                        "application/json"
                    },
                )
                .body(chat.body);
            if let Some(key) = key {
                http = http.bearer_auth(key.expose());
            }
            let sent = tokio::time::timeout(response_timeout, http.send()).await;
            let answer = match sent {
                Ok(Ok(answer)) => answer,
                Ok(Err(error)) => {
                    let (_, description) = crate::http::describe_transport_error(&error);
                    tracing::warn!(
                        target = label.as_str(),
                        "gateway: provider unreachable: {description}"
                    );
                    record(
                        ResilienceKind::Provider,
                        attempt(format!(
                            "{}; {label} could not be reached: {description}",
                            request.reason
                        )),
                    );
                    continue;
                }
                Err(_) => {
                    record(
                        ResilienceKind::Provider,
                        attempt(format!(
                            "{}; {label} sent no answer within {} s",
                            request.reason,
                            response_timeout.as_secs()
                        )),
                    );
                    continue;
                }
            };
            let status = answer.status().as_u16();
            let is_stream = answer
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("text/event-stream"));
            if !(200..300).contains(&status) {
                let body = read_bounded(answer, MAX_ERROR_BYTES)
                    .await
                    .unwrap_or_default();
                let error = map_provider_error(status, &body, &label);
                tracing::warn!(
                    target = label.as_str(),
                    status,
                    "gateway: provider refused: {}",
                    error.message
                );
                failed(status, &format!("{} ({})", error.message, error.error_type));
                continue;
            }
            if chat.stream && is_stream {
                let mut stream = TranslatedStream {
                    inner: Response::from(answer).into_body(),
                    translator: StreamTranslator::new(request.model, &message_id, &label),
                    pending: BytesMut::new(),
                    done: false,
                    finish: Some(StreamFinish {
                        fallback: Arc::clone(self),
                        meter: meter.clone(),
                        target: target.clone(),
                        model: request.model.to_owned(),
                        claude_status: request.claude_status,
                        reason: request.reason.clone(),
                        started: request.started,
                        status,
                    }),
                };
                // The first events are read before the client gets a byte, so a provider that
                // fails at once is passed over for the next one, as a refused request is.
                match stream.prime().await {
                    Ok(()) => {
                        self.moved(request.model, &label, &request.reason);
                        counters.forwarded(200);
                        return Some(translated_answer(
                            GatewayBody::translated(Box::new(stream)),
                            "text/event-stream",
                            &label,
                        ));
                    }
                    Err(error) => {
                        stream.finish = None;
                        failed(status, &error.message);
                        continue;
                    }
                }
            }
            // A whole answer (or a provider that answered a stream request with JSON, which
            // then is most likely an error body).
            let translated = match read_bounded(answer, MAX_ANSWER_BYTES).await {
                Some(body) if chat.stream => {
                    // Asked for a stream, got JSON: only an error can be made of it.
                    Err(map_provider_error(502, &body, &label))
                }
                Some(body) => chat_to_messages(&body, request.model, &message_id, &label),
                None => Err(AnthropicError {
                    status: 502,
                    error_type: "api_error",
                    message: format!("{label}: the answer broke off or was too large"),
                }),
            };
            match translated {
                Ok(translated) => {
                    let usage = translated.usage;
                    record(
                        ResilienceKind::Provider,
                        ProviderAttempt {
                            status: Some(status),
                            served: true,
                            latency_ms: Some(elapsed_ms(request.started)),
                            input_tokens: usage.input_tokens,
                            output_tokens: usage.output_tokens,
                            cache_read_tokens: usage.cache_read_tokens,
                            cost_usd: self.price(target, usage),
                            ..attempt(request.reason.clone())
                        },
                    );
                    self.moved(request.model, &label, &request.reason);
                    counters.forwarded(200);
                    return Some(translated_answer(
                        GatewayBody::full(translated.body),
                        "application/json",
                        &label,
                    ));
                }
                Err(error) => {
                    failed(status, &error.message);
                }
            }
        }
        None
    }

    /// Claude served the recovery try for `model`: traffic may come back.
    pub fn claude_served(&self, model: &str) {
        let notice = match self.gate.lock() {
            Ok(mut gate) => gate.claude_served(model, Utc::now()),
            Err(_) => None,
        };
        if let Some(notice) = notice {
            self.announce(notice);
        }
    }

    fn moved(&self, model: &str, target: &str, reason: &str) {
        let notice = match self.gate.lock() {
            Ok(mut gate) => gate.served(model, target, reason, Utc::now()),
            Err(_) => None,
        };
        if let Some(notice) = notice {
            self.announce(notice);
        }
    }
}

impl Fallback {
    /// The models another provider serves now, read from the gate itself.
    pub(crate) fn served_elsewhere(&self) -> Vec<claude_status_core::gateway::ServedElsewhere> {
        let Ok(gate) = self.gate.lock() else {
            return Vec::new();
        };
        self.chain
            .iter()
            .filter_map(|t| match t {
                Target::Claude { model } => gate.serving_since(model).map(|(target, since)| {
                    claude_status_core::gateway::ServedElsewhere {
                        model: model.clone(),
                        target: target.to_owned(),
                        since,
                    }
                }),
                Target::Provider { .. } => None,
            })
            .collect()
    }
}

fn dialect(provider: &Provider) -> Dialect {
    match provider {
        Provider::OpenAi => Dialect::OpenAi,
        Provider::Gemini => Dialect::Gemini,
        Provider::Compatible(_) => Dialect::Compatible,
    }
}

/// An id in the API's shape: `msg_` and 24 letters and digits.
fn message_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let tail: String = (0..24)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    format!("msg_{tail}")
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Reads a whole body of at most `limit` bytes; `None` when it broke off or was longer.
async fn read_bounded(answer: reqwest::Response, limit: usize) -> Option<Vec<u8>> {
    let mut body = Response::from(answer).into_body();
    let mut read = Vec::new();
    while let Some(frame) = body.frame().await {
        let data = frame.ok()?.into_data().unwrap_or_default();
        if read.len() + data.len() > limit {
            return None;
        }
        read.extend_from_slice(&data);
    }
    Some(read)
}

fn translated_answer(
    body: GatewayBody,
    content_type: &'static str,
    target: &str,
) -> Response<GatewayBody> {
    let mut answer = Response::new(body);
    *answer.status_mut() = StatusCode::OK;
    let headers = answer.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if content_type == "text/event-stream" {
        headers.insert(
            hyper::header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        );
    }
    if let Ok(value) = HeaderValue::from_str(target) {
        headers.insert(HeaderName::from_static(FALLBACK_HEADER), value);
    }
    answer
}

/// What is recorded when a translated stream ends.
struct StreamFinish {
    fallback: Arc<Fallback>,
    meter: MeterSink,
    target: Target,
    model: String,
    claude_status: u16,
    reason: String,
    started: Instant,
    status: u16,
}

impl StreamFinish {
    fn record(self, translator: &StreamTranslator, broke: Option<&str>) {
        let usage = translator.usage();
        let label = self.target.to_string();
        let served = translator.complete();
        let reason = match broke {
            Some(why) => format!("{}; the stream broke: {why}", self.reason),
            None => self.reason.clone(),
        };
        let cost = self.fallback.price(&self.target, usage);
        self.meter.resilience(ResilienceEvent {
            at: Utc::now(),
            kind: ResilienceKind::Provider,
            status: self.claude_status,
            model: Some(self.model.clone()),
            to_model: Some(label.clone()),
            wait_ms: None,
            request_id: None,
            provider: Some(ProviderAttempt {
                target: label,
                reason,
                status: Some(self.status),
                served,
                latency_ms: Some(elapsed_ms(self.started)),
                input_tokens: usage.input_tokens,
                output_tokens: usage.output_tokens,
                cache_read_tokens: usage.cache_read_tokens,
                cost_usd: cost,
            }),
        });
    }
}

/// A provider's Chat Completions stream, translated into the Messages stream as it is polled:
/// no task of its own, so a client that reads slowly slows the provider's stream, and a client
/// that leaves drops it.
pub(crate) struct TranslatedStream {
    inner: reqwest::Body,
    translator: StreamTranslator,
    /// Translated bytes not yet handed out.
    pending: BytesMut,
    done: bool,
    finish: Option<StreamFinish>,
}

impl fmt::Debug for TranslatedStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TranslatedStream")
            .field("pending", &self.pending.len())
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl TranslatedStream {
    /// Reads until the translation has produced its first bytes (the `message_start`), or
    /// failed before producing any.
    async fn prime(&mut self) -> std::result::Result<(), AnthropicError> {
        let mut out = Vec::new();
        while !self.translator.started() {
            match self.inner.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.translator.push(&data, &mut out)?;
                    }
                }
                Some(Err(_)) => {
                    return Err(AnthropicError {
                        status: 502,
                        error_type: "api_error",
                        message: "the provider's stream broke before its first event".to_owned(),
                    })
                }
                None => {
                    self.translator.finish(&mut out)?;
                    break;
                }
            }
        }
        if !self.translator.started() {
            return Err(AnthropicError {
                status: 502,
                error_type: "api_error",
                message: "the provider's stream ended without an answer".to_owned(),
            });
        }
        self.pending.extend_from_slice(&out);
        if self.translator.complete() {
            self.end(None);
        }
        Ok(())
    }

    fn end(&mut self, broke: Option<&str>) {
        self.done = true;
        if let Some(finish) = self.finish.take() {
            finish.record(&self.translator, broke);
        }
    }

    pub(crate) fn poll_frame(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<Frame<Bytes>, BodyError>>> {
        loop {
            if !self.pending.is_empty() {
                let bytes = self.pending.split().freeze();
                return Poll::Ready(Some(Ok(Frame::data(bytes))));
            }
            if self.done {
                return Poll::Ready(None);
            }
            let mut out = Vec::new();
            match Pin::new(&mut self.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        if let Err(error) = self.translator.push(&data, &mut out) {
                            out.extend_from_slice(&error.sse_event());
                            self.pending.extend_from_slice(&out);
                            self.end(Some(&error.message));
                            continue;
                        }
                    }
                    self.pending.extend_from_slice(&out);
                    if self.translator.complete() {
                        self.end(None);
                    }
                }
                Poll::Ready(Some(Err(_))) => {
                    // A cut in the middle: the client gets an error event, never a
                    // `message_stop` it would take for a complete answer.
                    let error = AnthropicError {
                        status: 502,
                        error_type: "api_error",
                        message: "the provider's stream broke off before it was complete"
                            .to_owned(),
                    };
                    self.pending.extend_from_slice(&error.sse_event());
                    self.end(Some(&error.message));
                }
                Poll::Ready(None) => match self.translator.finish(&mut out) {
                    Ok(()) => {
                        self.pending.extend_from_slice(&out);
                        self.end(None);
                    }
                    Err(error) => {
                        out.extend_from_slice(&error.sse_event());
                        self.pending.extend_from_slice(&out);
                        self.end(Some(&error.message));
                    }
                },
            }
        }
    }
}

impl Drop for TranslatedStream {
    fn drop(&mut self) {
        // The client left mid-stream: the attempt is recorded as not served.
        if let Some(finish) = self.finish.take() {
            finish.record(&self.translator, Some("the client went away"));
        }
    }
}

/// Applies model verdicts to the gate and announces the moves back they cause.
pub(crate) fn apply_verdicts<'a>(
    fallback: &Fallback,
    verdicts: impl Iterator<Item = (&'a str, claude_status_core::level::Level)>,
) {
    let now = Utc::now();
    let notices: Vec<GateNotice> = match fallback.gate.lock() {
        Ok(mut gate) => verdicts
            .filter_map(|(model, level)| gate.observe(model, level, now))
            .collect(),
        Err(_) => return,
    };
    for notice in notices {
        fallback.announce(notice);
    }
}

/// Follows the monitor's snapshots (the service, `watch`): the per-model verdicts the tray shows
/// are the ones the gate goes by.
pub(crate) async fn follow_snapshots(
    mut snapshots: tokio::sync::watch::Receiver<claude_status_core::report::Snapshot>,
    fallback: Arc<Fallback>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    loop {
        {
            let snapshot = snapshots.borrow_and_update();
            apply_verdicts(
                &fallback,
                snapshot.models.iter().map(|m| (m.model.as_str(), m.level)),
            );
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            changed = snapshots.changed() => if changed.is_err() { return },
        }
    }
}

/// Per-model verdicts from the gateway's own traffic, for a gateway with no monitor beside it
/// (`claude-status proxy`): the same book and hysteresis the monitor keeps, fed with the
/// gateway's metered records.
#[derive(Debug)]
pub(crate) struct OwnVerdicts {
    book: Mutex<claude_status_core::models::ModelBook>,
    health: claude_status_core::health::HealthConfig,
    config: claude_status_core::models::ModelsConfig,
    fallback: Arc<Fallback>,
}

impl OwnVerdicts {
    pub(crate) fn new(fallback: Arc<Fallback>) -> OwnVerdicts {
        OwnVerdicts {
            book: Mutex::new(claude_status_core::models::ModelBook::default()),
            health: claude_status_core::health::HealthConfig::default(),
            config: claude_status_core::models::ModelsConfig::default(),
            fallback,
        }
    }

    /// Learns from a batch of metered records and applies the verdicts that follow.
    pub(crate) fn record(&self, records: &[claude_status_core::usage::UsageRecord]) {
        let now = Utc::now();
        let reports = match self.book.lock() {
            Ok(mut book) => {
                book.record_usage(&self.health, records, now);
                let context = claude_status_core::models::ModelContext {
                    config: &self.config,
                    health: &self.health,
                    page: None,
                    followed_components: &[],
                    catalog: None,
                    api_level: claude_status_core::level::Level::Operational,
                    offline_seen_at: None,
                };
                book.reports(&context, now)
            }
            Err(_) => return,
        };
        apply_verdicts(
            &self.fallback,
            reports.iter().map(|r| (r.model.as_str(), r.level)),
        );
    }
}
