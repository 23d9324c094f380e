//! One request through the gateway: read the body (refusing more than the API's 32 MB), send it
//! upstream with the client's method, path, query and end-to-end headers, and answer with the
//! upstream's status, headers and body, unchanged. With resilience turned on, a 529, 500 or 429
//! is retried (and a persistent 529 moved down the model fallback chain) before any byte of it
//! reaches the client.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use chrono::Utc;
use claude_status_core::fallback::Route;
use claude_status_core::gateway::{ResilienceEvent, ResilienceKind};
use claude_status_core::probe::{classify_reply, HttpReply};
use claude_status_core::retry::{RetryDecision, RetryPolicy};
use http_body_util::{BodyExt as _, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use rand::Rng as _;

use super::body::GatewayBody;
use super::headers::{
    client_response_headers, metering_headers, request_id, static_value, upstream_request_headers,
};
use super::json_field;
use super::meter::{ExchangeHead, MeterSink};
use super::providers::{self, Fallback};
use super::stats::{bump, Counters, OwnAnswer};
use crate::http::{describe_transport_error, TransportKind};

/// The API's own limit on a Messages request (api-facts B2), in the binary sense so the gateway
/// never refuses a body the API would take; the API answers its own 413 for the rest.
pub const MAX_REQUEST_BYTES: u64 = 32 * 1024 * 1024;

/// The most of a retry candidate's error body read before deciding; error bodies are a few
/// hundred bytes, and a larger one is forwarded as it is.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// Everything the request path shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub client: reqwest::Client,
    /// The upstream base without a trailing slash (`https://api.anthropic.com`).
    pub upstream: String,
    pub response_timeout: Duration,
    pub retry: Option<RetryPolicy>,
    /// The chain's Claude models, for the per-request move down after persistent 529s.
    pub fallback: Vec<String>,
    /// The chain's other providers, behind the gate.
    pub providers: Option<Arc<Fallback>>,
    /// Which web pages may call the gateway, and whether `Host` must be the loopback's.
    pub origins: Origins,
    pub counters: Arc<Counters>,
    pub meter: MeterSink,
    /// Served at `GET /metrics` when set.
    pub metrics: Option<Arc<crate::metrics::Metrics>>,
    /// How long a request's body may take to arrive.
    pub body_timeout: Duration,
    /// The token every request must carry, in remote mode.
    pub token: Option<super::token::AccessToken>,
}

/// What a request's `Origin` and `Host` must be.
///
/// A browser sends `Origin` with every cross-site request and with any POST, and no SDK or
/// command-line client sends one, so a request with an `Origin` the user did not allow is a web
/// page's: refused, so a page cannot spend the keys that pass through the gateway or read its
/// figures (CSRF). A page can also reach 127.0.0.1 through a name of its own that resolves there
/// (DNS rebinding); its requests then carry that name as `Host`, so a loopback gateway answers
/// only the loopback's own names. A gateway with remote access allowed is reached by names it
/// cannot know, and skips the `Host` check.
#[derive(Debug, Clone, Default)]
pub(crate) struct Origins {
    pub loopback_only: bool,
    /// Allowed origins, lower case, without a trailing `/`.
    pub allowed: Vec<String>,
}

impl Origins {
    fn check(&self, headers: &HeaderMap) -> Result<(), String> {
        if let Some(origin) = headers.get(hyper::header::ORIGIN) {
            let origin = origin.to_str().unwrap_or("").trim().to_ascii_lowercase();
            if !self.allowed.contains(&origin) {
                let shown: String = origin.chars().take(100).collect();
                return Err(format!(
                    "it comes from a web page (Origin {shown:?}); allow a page of your own with \
                     --allow-origin"
                ));
            }
        }
        if self.loopback_only {
            if let Some(host) = headers.get(hyper::header::HOST) {
                let host = host.to_str().unwrap_or("");
                if !is_loopback_host(host) {
                    let shown: String = host.chars().take(100).collect();
                    return Err(format!(
                        "its Host {shown:?} is not this machine's loopback address (a web page's \
                         name that resolves to 127.0.0.1?)"
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Whether a `Host` header names the loopback: `127.0.0.1`, `localhost` or `[::1]`, with any port.
fn is_loopback_host(host: &str) -> bool {
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        // `[::1]:7529`
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(name, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                name
            } else {
                host
            }
        })
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Answers one request. Never fails: every problem is an answer in the API's error shape.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Response<GatewayBody> {
    let started = Instant::now();
    let at = Utc::now();
    let _in_flight = shared.counters.request_started();
    if let Err(why) = shared.origins.check(request.headers()) {
        shared.counters.answered_ourselves(OwnAnswer::Refused);
        tracing::info!("gateway: refused a request: {why}");
        return error_answer(
            StatusCode::FORBIDDEN,
            "permission_error",
            &format!("Claude Status gateway refused this request: {why}"),
        );
    }
    if let Some(token) = &shared.token {
        let presented = request
            .headers()
            .get(super::token::TOKEN_HEADER)
            .map(HeaderValue::as_bytes);
        if !presented.is_some_and(|value| token.matches(value)) {
            shared.counters.answered_ourselves(OwnAnswer::Refused);
            tracing::info!("gateway: refused a request without the access token");
            return error_answer(
                StatusCode::UNAUTHORIZED,
                "authentication_error",
                "Claude Status gateway refused this request: it needs the gateway's access \
                 token in the x-claude-status-token header (Claude Code: \
                 ANTHROPIC_CUSTOM_HEADERS=\"x-claude-status-token: …\"; SDKs: default headers)",
            );
        }
    }
    let path = request.uri().path();
    if path != "/v1" && !path.starts_with("/v1/") {
        return local_answer(&shared, &request);
    }
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_REQUEST_BYTES) {
        return too_large(&shared);
    }
    let (parts, body) = request.into_parts();
    let collect = Limited::new(
        body,
        usize::try_from(MAX_REQUEST_BYTES).unwrap_or(usize::MAX),
    )
    .collect();
    let Ok(collected) = tokio::time::timeout(shared.body_timeout, collect).await else {
        shared.counters.answered_ourselves(OwnAnswer::TimedOut);
        tracing::info!("gateway: a request body did not arrive in time");
        let mut answer = error_answer(
            StatusCode::REQUEST_TIMEOUT,
            "timeout_error",
            &format!(
                "Claude Status gateway stopped waiting for the request body after {} s",
                shared.body_timeout.as_secs_f64()
            ),
        );
        // The rest of that body may still come; the connection cannot carry another request.
        answer
            .headers_mut()
            .insert(hyper::header::CONNECTION, static_value("close"));
        return answer;
    };
    let body = match collected {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => return too_large(&shared),
        // The client broke off its own upload; nobody is left to read an answer.
        Err(_) => {
            return error_answer(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "Claude Status gateway could not read the request body",
            )
        }
    };

    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or(parts.uri.path(), |pq| pq.as_str());
    let url = format!("{}{}", shared.upstream, path_and_query);
    let metered = parts.method == Method::POST && parts.uri.path() == "/v1/messages";
    let beta_header = parts.headers.contains_key("anthropic-beta");
    let headers = upstream_request_headers(parts.headers);
    let exchange = Exchange {
        beta_header,
        shared: &shared,
        method: parts.method,
        url,
        headers,
        metered,
        started,
        at,
    };
    exchange.run(body).await
}

struct Exchange<'a> {
    shared: &'a Arc<Shared>,
    /// The client sent `anthropic-beta`: nothing of it may go to another provider.
    beta_header: bool,
    method: Method,
    url: String,
    headers: HeaderMap,
    metered: bool,
    started: Instant,
    at: chrono::DateTime<Utc>,
}

impl Exchange<'_> {
    async fn run(self, mut body: Bytes) -> Response<GatewayBody> {
        let shared = self.shared;
        // Other providers serve only Messages calls for a model the chain starts from.
        let requested = match &shared.providers {
            Some(_) if self.metered => json_field::model(&body),
            _ => None,
        };
        let elsewhere = match (&shared.providers, &requested) {
            (Some(providers), Some(model)) if !providers.targets_for(model).is_empty() => {
                Some((providers, model.clone()))
            }
            _ => None,
        };
        let route = match &elsewhere {
            Some((providers, model)) => providers
                .gate
                .lock()
                .map_or(Route::Claude, |mut gate| gate.route(model, Utc::now())),
            None => Route::Claude,
        };
        let original = body.clone();
        // Whether the providers were asked already: a request they could not serve then goes to
        // Claude, and Claude's failure is the answer, without asking them a second time.
        let mut providers_tried = false;
        if route == Route::Provider {
            providers_tried = true;
            if let Some((providers, model)) = &elsewhere {
                let reason = format!("{model} is served elsewhere until Claude recovers");
                if let Some(answer) = self
                    .via_providers(providers, model, &original, 0, reason)
                    .await
                {
                    return answer;
                }
            }
        }
        // The recovery try of its 30 seconds goes to Claude once, without retries, so a Claude
        // that is still overloaded costs the client one quick attempt.
        let recovery_try = route == Route::RecoveryTry;

        let resilient = self.metered
            && (shared.retry.is_some() || !shared.fallback.is_empty() || elsewhere.is_some());
        let mut model = if resilient && !shared.fallback.is_empty() {
            json_field::model(&body)
        } else {
            None
        };
        let mut retries_for_model = 0u32;
        loop {
            let response = match self.send(body.clone()).await {
                Ok(response) => response,
                Err(failure) => return failure,
            };
            let response = Response::from(response);
            let status = response.status().as_u16();
            let candidate = matches!(status, 429 | 500 | 529)
                || (elsewhere.is_some() && (500..=599).contains(&status));
            if !resilient || !candidate {
                if recovery_try && status < 400 {
                    if let Some((providers, requested)) = &elsewhere {
                        providers.claude_served(requested);
                    }
                }
                return self.pass_through(response, None, body);
            }

            // A retry candidate: read its (small) error body to classify it, while nothing has
            // been sent to the client yet.
            let (parts, mut inner) = response.into_parts();
            let (head_bytes, read) = read_prefix(&mut inner, ERROR_BODY_LIMIT).await;
            match read {
                Read::Whole => {}
                Read::More => {
                    return self.pass_through(
                        Response::from_parts(parts, inner),
                        Some(head_bytes),
                        body,
                    )
                }
                Read::Broken => {
                    self.shared
                        .counters
                        .answered_ourselves(OwnAnswer::Unreachable);
                    return unreachable_answer(
                        StatusCode::BAD_GATEWAY,
                        "the connection broke while the answer was read",
                    );
                }
            }
            let headers = parts.headers;
            let text_headers = metering_headers(&headers);
            let next = if recovery_try {
                Next::Answer
            } else {
                self.decide(
                    status,
                    &text_headers,
                    &head_bytes,
                    retries_for_model,
                    model.as_deref(),
                )
            };
            match next {
                Next::Answer => {
                    let untried = elsewhere.as_ref().filter(|_| !providers_tried);
                    if let (Some((providers, requested)), 500..=599) = (untried, status) {
                        let allowed = providers
                            .gate
                            .lock()
                            .map(|gate| gate.provider_allowed(requested, Utc::now()))
                            .map_err(|_| ());
                        match allowed {
                            Ok(Ok(reason)) => {
                                self.meter_attempt(status, headers.clone(), &head_bytes, &body);
                                let served = self
                                    .via_providers(providers, requested, &original, status, reason)
                                    .await;
                                if let Some(answer) = served {
                                    return answer;
                                }
                                return self.buffered_unmetered(status, headers, head_bytes);
                            }
                            Ok(Err(why)) => {
                                tracing::debug!(status, "gateway: not falling back yet: {why}");
                            }
                            Err(_) => {}
                        }
                    }
                    return self.buffered(status, headers, head_bytes, body);
                }
                Next::Retry(wait) => {
                    shared.meter.resilience(ResilienceEvent {
                        at: Utc::now(),
                        kind: ResilienceKind::Retry,
                        status,
                        model: model.clone().or_else(|| json_field::model(&body)),
                        to_model: None,
                        wait_ms: Some(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX)),
                        request_id: request_id(&text_headers),
                        provider: None,
                    });
                    self.meter_attempt(status, headers, &head_bytes, &body);
                    bump(&shared.counters.retries);
                    tracing::info!(
                        status,
                        wait_ms = wait.as_millis() as u64,
                        "gateway: retrying"
                    );
                    tokio::time::sleep(wait).await;
                    retries_for_model += 1;
                }
                Next::Fallback(next_model) => {
                    let Some(rewritten) = json_field::replace_model(&body, &next_model) else {
                        return self.buffered(status, headers, head_bytes, body);
                    };
                    shared.meter.resilience(ResilienceEvent {
                        at: Utc::now(),
                        kind: ResilienceKind::Fallback,
                        status,
                        model: model.clone(),
                        to_model: Some(next_model.clone()),
                        wait_ms: None,
                        request_id: request_id(&text_headers),
                        provider: None,
                    });
                    self.meter_attempt(status, headers, &head_bytes, &body);
                    bump(&shared.counters.fallbacks);
                    tracing::info!(
                        from = model.as_deref().unwrap_or(""),
                        to = next_model.as_str(),
                        "gateway: persistent 529s, falling back"
                    );
                    body = Bytes::from(rewritten);
                    model = Some(next_model);
                    retries_for_model = 0;
                }
            }
        }
    }

    /// Sends one attempt upstream; a transport failure becomes the gateway's 502 or 504.
    async fn send(&self, body: Bytes) -> Result<reqwest::Response, Response<GatewayBody>> {
        let shared = self.shared;
        bump(&shared.counters.upstream_attempts);
        let mut request = shared.client.request(self.method.clone(), &self.url);
        let mut headers = self.headers.clone();
        // An empty body is sent as none, so a GET stays a GET without a `Content-Length: 0`.
        if !body.is_empty() {
            request = request.body(body);
        } else if self.method == Method::POST || self.method == Method::PUT {
            headers.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
        }
        let request = request.headers(headers);
        match tokio::time::timeout(shared.response_timeout, request.send()).await {
            Ok(Ok(response)) => Ok(response),
            Err(_elapsed) => {
                shared.counters.answered_ourselves(OwnAnswer::TimedOut);
                Err(unreachable_answer(
                    StatusCode::GATEWAY_TIMEOUT,
                    &format!(
                        "no answer within {} s",
                        shared.response_timeout.as_secs_f64()
                    ),
                ))
            }
            Ok(Err(error)) => {
                let (kind, description) = describe_transport_error(&error);
                let (status, answer) = if kind == TransportKind::Timeout {
                    (StatusCode::GATEWAY_TIMEOUT, OwnAnswer::TimedOut)
                } else {
                    (StatusCode::BAD_GATEWAY, OwnAnswer::Unreachable)
                };
                shared.counters.answered_ourselves(answer);
                tracing::warn!("gateway: upstream request failed: {description}");
                Err(unreachable_answer(status, &description))
            }
        }
    }

    /// Forwards an upstream answer as it streams, with a metering tap when it is a Messages call.
    fn pass_through(
        &self,
        response: Response<reqwest::Body>,
        prefix: Option<Bytes>,
        request_body: Bytes,
    ) -> Response<GatewayBody> {
        let status = response.status();
        self.shared.counters.forwarded(status.as_u16());
        let (mut parts, inner) = response.into_parts();
        client_response_headers(&mut parts.headers);
        let length = parts
            .headers
            .get(CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        let tap = self.metered.then(|| {
            self.shared.meter.exchange(
                ExchangeHead {
                    started: self.started,
                    at: self.at,
                    status: status.as_u16(),
                    headers: parts.headers.clone(),
                    credentials: self.shared.meter.credentials(&self.headers),
                },
                request_body,
            )
        });
        let event_stream = parts
            .headers
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.trim_start().starts_with("text/event-stream"));
        let mut answer = Response::new(GatewayBody::upstream(
            prefix,
            inner,
            tap,
            length,
            event_stream,
        ));
        *answer.status_mut() = status;
        *answer.headers_mut() = parts.headers;
        answer
    }

    /// Forwards an upstream answer whose body was read whole.
    fn buffered(
        &self,
        status: u16,
        mut headers: HeaderMap,
        body: Bytes,
        request_body: Bytes,
    ) -> Response<GatewayBody> {
        self.shared.counters.forwarded(status);
        client_response_headers(&mut headers);
        if self.metered {
            self.shared.meter.complete(
                ExchangeHead {
                    started: self.started,
                    at: self.at,
                    status,
                    headers: headers.clone(),
                    credentials: self.shared.meter.credentials(&self.headers),
                },
                request_body,
                &body,
            );
        }
        let mut answer = Response::new(GatewayBody::full(body));
        *answer.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
        *answer.headers_mut() = headers;
        answer
    }

    /// Tries the chain's other providers; `None` when none served (each attempt is recorded).
    async fn via_providers(
        &self,
        providers: &Arc<Fallback>,
        model: &str,
        body: &Bytes,
        claude_status: u16,
        reason: String,
    ) -> Option<Response<GatewayBody>> {
        let shared = self.shared;
        providers
            .serve(
                &shared.client,
                shared.response_timeout,
                &shared.counters,
                &shared.meter,
                providers::Request {
                    model,
                    body,
                    beta_header: self.beta_header,
                    started: self.started,
                    claude_status,
                    reason,
                },
            )
            .await
    }

    /// Forwards Claude's failed answer (already metered) after the other providers could not
    /// serve: the client gets exactly what it would have got without the fallback.
    fn buffered_unmetered(
        &self,
        status: u16,
        mut headers: HeaderMap,
        body: Bytes,
    ) -> Response<GatewayBody> {
        self.shared.counters.forwarded(status);
        client_response_headers(&mut headers);
        let mut answer = Response::new(GatewayBody::full(body));
        *answer.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
        *answer.headers_mut() = headers;
        answer
    }

    /// Records an attempt that the client will never see, because it is retried.
    fn meter_attempt(&self, status: u16, headers: HeaderMap, body: &Bytes, request_body: &Bytes) {
        self.shared.meter.complete(
            ExchangeHead {
                started: self.started,
                at: Utc::now(),
                status,
                headers,
                credentials: self.shared.meter.credentials(&self.headers),
            },
            request_body.clone(),
            body,
        );
    }

    /// What to do after a 529, 500 or 429.
    fn decide(
        &self,
        status: u16,
        headers: &[(String, String)],
        body: &[u8],
        retries_for_model: u32,
        model: Option<&str>,
    ) -> Next {
        let shared = self.shared;
        let now = Utc::now();
        let classification = classify_reply(
            &HttpReply {
                status,
                headers,
                body,
                key_configured: true,
            },
            now,
        );
        if let Some(policy) = &shared.retry {
            let jitter: f64 = rand::rng().random_range(0.0..1.0);
            match policy.decide(
                retries_for_model,
                self.started.elapsed(),
                &classification,
                headers,
                jitter,
                now,
            ) {
                RetryDecision::Retry(wait) => return Next::Retry(wait),
                RetryDecision::GiveUp(why) => {
                    tracing::debug!(status, "gateway: not retrying: {why}");
                }
            }
        }
        if status == 529 {
            if let Some(next) = model.and_then(|model| next_in_chain(&shared.fallback, model)) {
                return Next::Fallback(next);
            }
        }
        Next::Answer
    }
}

enum Next {
    Answer,
    Retry(Duration),
    Fallback(String),
}

/// The model after `model` in the fallback chain. A model outside the chain has no fallback: a
/// request for Haiku must never be sent to Opus because Opus was configured as first choice.
/// Dated ids match their alias (`claude-sonnet-4-5-20250929` is `claude-sonnet-4-5`).
pub(crate) fn next_in_chain(chain: &[String], model: &str) -> Option<String> {
    let position = chain.iter().position(|entry| {
        model == entry
            || model.strip_prefix(entry.as_str()).is_some_and(|rest| {
                rest.starts_with('-') && rest[1..].bytes().all(|b| b.is_ascii_digit())
            })
    })?;
    chain.get(position + 1).cloned()
}

/// How far [`read_prefix`] got.
enum Read {
    Whole,
    /// The body is longer than the limit; the rest is still in the body.
    More,
    Broken,
}

/// Reads a body until its end or just past `limit` bytes, whichever comes first.
async fn read_prefix(body: &mut reqwest::Body, limit: usize) -> (Bytes, Read) {
    let mut read = BytesMut::new();
    loop {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    read.extend_from_slice(&data);
                    if read.len() > limit {
                        return (read.freeze(), Read::More);
                    }
                }
            }
            None => return (read.freeze(), Read::Whole),
            Some(Err(_)) => return (read.freeze(), Read::Broken),
        }
    }
}

/// The gateway's answer outside `/v1/`: its counters at `/_gateway/stats`, its Prometheus
/// metrics at `/metrics` (when it counts them), else a 404 in the API's shape (the API itself
/// serves nothing outside `/v1/`).
fn local_answer(shared: &Shared, request: &Request<Incoming>) -> Response<GatewayBody> {
    let (method, path) = (request.method(), request.uri().path());
    shared.counters.answered_ourselves(OwnAnswer::NotForwarded);
    if let (Some(metrics), &Method::GET, "/metrics") = (&shared.metrics, method, path) {
        let header = |name| {
            request
                .headers()
                .get(name)
                .and_then(|value: &HeaderValue| value.to_str().ok())
        };
        let exposition = crate::metrics::exposition(
            metrics,
            header(hyper::header::ACCEPT),
            header(hyper::header::ACCEPT_ENCODING),
        );
        let mut answer = Response::new(GatewayBody::full(exposition.body));
        let headers = answer.headers_mut();
        headers.insert(CONTENT_TYPE, static_value(exposition.content_type));
        if let Some(encoding) = exposition.content_encoding {
            headers.insert(hyper::header::CONTENT_ENCODING, static_value(encoding));
        }
        return answer;
    }
    if method == Method::GET && path == "/_gateway/stats" {
        let body = serde_json::to_vec(&shared.counters.snapshot()).unwrap_or_default();
        let mut answer = Response::new(GatewayBody::full(body));
        answer
            .headers_mut()
            .insert(CONTENT_TYPE, static_value("application/json"));
        return answer;
    }
    error_answer(
        StatusCode::NOT_FOUND,
        "not_found_error",
        "Claude Status gateway forwards only /v1/ paths to the API",
    )
}

/// The answer to a request with both `Content-Length` and `Transfer-Encoding`: its length is
/// ambiguous, and an ambiguous length is how a second request is smuggled behind a first.
pub(crate) fn ambiguous_framing(shared: &Shared) -> Response<GatewayBody> {
    let _in_flight = shared.counters.request_started();
    shared.counters.answered_ourselves(OwnAnswer::Refused);
    tracing::info!("gateway: refused a request with both Content-Length and Transfer-Encoding");
    let mut answer = error_answer(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        "Claude Status gateway refused this request: it has both Content-Length and \
         Transfer-Encoding, so its length is ambiguous",
    );
    answer
        .headers_mut()
        .insert(hyper::header::CONNECTION, static_value("close"));
    answer
}

fn too_large(shared: &Shared) -> Response<GatewayBody> {
    shared.counters.answered_ourselves(OwnAnswer::TooLarge);
    error_answer(
        StatusCode::PAYLOAD_TOO_LARGE,
        "request_too_large",
        "Request exceeds the maximum allowed number of bytes. The maximum request size is 32 MB.",
    )
}

fn unreachable_answer(status: StatusCode, why: &str) -> Response<GatewayBody> {
    error_answer(
        status,
        "api_error",
        &format!("Claude Status gateway could not reach the API: {why}"),
    )
}

/// An answer in the API's error shape: `{"type":"error","error":{"type":…,"message":…}}`.
pub(crate) fn error_answer(
    status: StatusCode,
    error_type: &str,
    message: &str,
) -> Response<GatewayBody> {
    let body = serde_json::json!({
        "type": "error",
        "error": { "type": error_type, "message": message },
    });
    let mut answer = Response::new(GatewayBody::full(
        serde_json::to_vec(&body).unwrap_or_default(),
    ));
    *answer.status_mut() = status;
    answer
        .headers_mut()
        .insert(CONTENT_TYPE, static_value("application/json"));
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_loopbacks_names_are_hosts_of_a_loopback_gateway() {
        for host in [
            "127.0.0.1:7529",
            "127.0.0.1",
            "localhost:7529",
            "LOCALHOST",
            "[::1]:7529",
            "127.1.2.3:80",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "evil.example:7529",
            "evil.example",
            "127.0.0.1.evil.example",
            "localhost.evil.example:7529",
            "10.0.0.2:7529",
            "",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn fallback_chain_moves_down_only_from_its_own_models() {
        let chain = vec!["claude-opus-4-6".to_owned(), "claude-sonnet-4-5".to_owned()];
        let check = |model: &str, expected: Option<&str>| {
            assert_eq!(next_in_chain(&chain, model).as_deref(), expected, "{model}");
        };
        check("claude-opus-4-6", Some("claude-sonnet-4-5"));
        check("claude-sonnet-4-5", None);
        check("claude-sonnet-4-5-20250929", None);
        check("claude-opus-4-6-20260205", Some("claude-sonnet-4-5"));
        check("claude-haiku-4-5", None);
        check("claude-opus-4-6-fast", None);
    }
}
