//! The fake Claude API: `/v1/models`, `/v1/messages` (plain and streaming) and `count_tokens`, with the real headers and error shapes.
//!
//! API-wide modes (outage, resets, rate limits…) reach every path. Overloads reach only
//! `POST /v1/messages`, and only the models the scenario overloads (issue 11): real overloads
//! are per model, and nothing public shows `/v1/models` or `count_tokens` shedding load.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use bytes::Bytes;
use chrono::{DateTime, Datelike, TimeDelta, TimeZone, Timelike, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::ids;
use crate::models::{self, ModelScope, MODELS};
use crate::net::Connection;
use crate::prompt_cache::{self, CacheUse, Plan};
use crate::scenario::ApiMode;
use crate::server::{RequestKind, Shared};
use crate::stats::MessageEvent;

/// A made-up organization id, shaped like the real UUIDs.
const ORGANIZATION_ID: &str = "5f0c3a8e-2b1d-4c7e-9a0f-51de5e7a51a0";
/// The key the simulator treats as revoked.
const INVALID_KEY: &str = "sk-ant-invalid";
/// How long `rate-limited` tells clients to wait.
const RATE_LIMIT_RETRY_AFTER_SECONDS: i64 = 20;

/// Limits as in the 2025-08-21 recording: input + output = tokens.
const REQUESTS_LIMIT: u64 = 1000;
const INPUT_TOKENS_LIMIT: u64 = 80_000;
const OUTPUT_TOKENS_LIMIT: u64 = 16_000;
const TOKENS_LIMIT: u64 = INPUT_TOKENS_LIMIT + OUTPUT_TOKENS_LIMIT;

/// The reply every message gets, already split into tokens.
const REPLY_TOKENS: [&str; 16] = [
    "Hello",
    "!",
    " I",
    "'m",
    " a",
    " simulated",
    " Claude",
    ",",
    " and",
    " everything",
    " looks",
    " fine",
    " from",
    " here",
    ".",
    " 👋",
];

/// `REPLY_TOKENS` joined; a unit test checks they agree.
const REPLY_TEXT: &str = "Hello! I'm a simulated Claude, and everything looks fine from here. 👋";

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/v1/models", get(list_models))
        .route("/v1/models/{id}", get(get_model))
        .route("/v1/messages", post(messages))
        .route("/v1/messages/count_tokens", post(count_tokens))
}

/// Token use within the current wall-clock minute, behind the `anthropic-ratelimit-*` headers.
#[derive(Debug, Default)]
pub(crate) struct RateWindow {
    minute: i64,
    requests: u64,
    input_tokens: u64,
    output_tokens: u64,
}

/// Which rate-limit picture the headers should paint.
#[derive(Debug, Clone, Copy)]
enum Budget {
    /// Count this request (with its tokens) in the current minute.
    Spend {
        input_tokens: u64,
        output_tokens: u64,
    },
    /// Show the current minute without counting (errors cost nothing).
    Look,
    /// Everything is used up until `retry-after` has passed.
    Exhausted,
}

fn rfc3339_seconds(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Token counts in the headers are rounded to the nearest thousand, as the docs say.
fn round_thousands(tokens: u64) -> u64 {
    (tokens + 500) / 1000 * 1000
}

fn rate_headers(shared: &Shared, budget: Budget) -> Vec<(String, String)> {
    let now = Utc::now();
    let minute = now.timestamp().div_euclid(60);
    let next_minute = Utc
        .timestamp_opt((minute + 1) * 60, 0)
        .single()
        .unwrap_or(now);
    let mut window = shared
        .rate
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if window.minute != minute {
        *window = RateWindow {
            minute,
            ..RateWindow::default()
        };
    }
    if let Budget::Spend {
        input_tokens,
        output_tokens,
    } = budget
    {
        window.requests += 1;
        window.input_tokens += input_tokens;
        window.output_tokens += output_tokens;
    }
    // A bucket nobody touched this minute is full "now"; a used one refills at the minute's end.
    let reset_of = |used: u64| {
        if used == 0 {
            rfc3339_seconds(now)
        } else {
            rfc3339_seconds(next_minute)
        }
    };
    let rows: [(&str, u64, u64, bool); 4] = [
        ("requests", REQUESTS_LIMIT, window.requests, false),
        (
            "tokens",
            TOKENS_LIMIT,
            window.input_tokens + window.output_tokens,
            true,
        ),
        (
            "input-tokens",
            INPUT_TOKENS_LIMIT,
            window.input_tokens,
            true,
        ),
        (
            "output-tokens",
            OUTPUT_TOKENS_LIMIT,
            window.output_tokens,
            true,
        ),
    ];
    let mut headers = Vec::with_capacity(12);
    for (family, limit, used, rounded) in rows {
        let (remaining, reset) = match budget {
            Budget::Exhausted => (
                0,
                rfc3339_seconds(now + TimeDelta::seconds(RATE_LIMIT_RETRY_AFTER_SECONDS)),
            ),
            _ => {
                let left = limit.saturating_sub(used);
                (
                    if rounded {
                        round_thousands(left).min(limit)
                    } else {
                        left
                    },
                    reset_of(used),
                )
            }
        };
        headers.push((
            format!("anthropic-ratelimit-{family}-limit"),
            limit.to_string(),
        ));
        headers.push((
            format!("anthropic-ratelimit-{family}-remaining"),
            remaining.to_string(),
        ));
        headers.push((format!("anthropic-ratelimit-{family}-reset"), reset));
    }
    headers
}

fn request_id(shared: &Shared) -> String {
    format!("req_sim{}", ids::base62(shared.next_id(), 20))
}

/// Headers every API answer carries.
fn base_headers(request_id: &str, content_type: &'static str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert("request-id", value);
    }
    headers.insert(
        "anthropic-organization-id",
        HeaderValue::from_static(ORGANIZATION_ID),
    );
    headers.insert("via", HeaderValue::from_static("1.1 google"));
    headers.insert(header::SERVER, HeaderValue::from_static("cloudflare"));
    headers
}

fn extend(headers: &mut HeaderMap, extra: Vec<(String, String)>) {
    for (name, value) in extra {
        if let (Ok(name), Ok(value)) = (
            header::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            headers.insert(name, value);
        }
    }
}

#[derive(Debug, Serialize)]
struct ErrorBody<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    error: ErrorDetail<'a>,
    request_id: &'a str,
}

#[derive(Debug, Serialize)]
struct ErrorDetail<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<Value>,
}

/// An error answer in the API's shape: `{"type":"error","error":{…},"request_id":…}`.
fn error_response(
    shared: &Shared,
    status: StatusCode,
    kind: &str,
    message: &str,
    details: Option<Value>,
    budget: Budget,
) -> Response {
    let request_id = request_id(shared);
    let body = ErrorBody {
        kind: "error",
        error: ErrorDetail {
            kind,
            message,
            details,
        },
        request_id: &request_id,
    };
    let mut headers = base_headers(&request_id, "application/json");
    extend(&mut headers, rate_headers(shared, budget));
    if matches!(budget, Budget::Exhausted) {
        headers.insert(
            header::RETRY_AFTER,
            HeaderValue::from(RATE_LIMIT_RETRY_AFTER_SECONDS),
        );
    }
    let body = serde_json::to_vec(&body).unwrap_or_default();
    (status, headers, body).into_response()
}

pub(crate) fn not_found(shared: &Shared) -> Response {
    error_response(
        shared,
        StatusCode::NOT_FOUND,
        "not_found_error",
        "Not found",
        None,
        Budget::Look,
    )
}

fn overloaded(shared: &Shared) -> Response {
    error_response(
        shared,
        StatusCode::from_u16(529).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
        "overloaded_error",
        "Overloaded",
        None,
        Budget::Look,
    )
}

/// The first day of next month at 00:00 UTC, when a monthly spend cap lifts.
fn next_month_start(now: DateTime<Utc>) -> DateTime<Utc> {
    let (year, month) = if now.month() == 12 {
        (now.year() + 1, 1)
    } else {
        (now.year(), now.month() + 1)
    };
    Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0)
        .single()
        .unwrap_or(now)
        .with_nanosecond(0)
        .unwrap_or(now)
}

/// What a request may do after the API-wide modes had their say.
#[derive(Debug)]
struct Admitted {
    /// Delay before the first token.
    time_to_first_token: Duration,
    /// The scenario's mode when the request arrived; an overload mode is decided later, per
    /// model, once the body has been read.
    mode: ApiMode,
    /// The models that mode's overload reaches.
    scope: ModelScope,
}

/// How the overload treats one messages request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Overload {
    /// Answered normally.
    Spared,
    /// `529 overloaded_error` before any byte of a message.
    Refused,
    /// HTTP 200, `message_start`, then an `overloaded_error` event.
    FailsMidStream,
}

/// Applies the scenario's API-wide modes to one API request: drop it, delay it, refuse it, or
/// let it through. Overload modes let everything through here; [`overload`] applies them to
/// messages.
async fn gate(
    shared: &Shared,
    connection: &Connection,
    headers: &HeaderMap,
    streaming: bool,
) -> Result<Admitted, Response> {
    let moment = shared.moment(RequestKind::Api);
    let mode = moment.scenario.api_mode(moment.story_time);
    let sequence = moment.sequence;
    let mut time_to_first_token = shared.options.time_to_first_token;

    if mode == ApiMode::Resets {
        return Err(connection.drop_without_answer());
    }
    if mode == ApiMode::Slow {
        // A slow stream answers its headers at once and is slow to its first token; a plain
        // request is slow before anything arrives.
        if streaming {
            time_to_first_token = shared.options.slow_api_delay;
        } else if !shared.pause(shared.options.slow_api_delay).await {
            return Err(StatusCode::SERVICE_UNAVAILABLE.into_response());
        }
    }

    match headers
        .get("x-api-key")
        .and_then(|value| value.to_str().ok())
    {
        None | Some("") => {
            return Err(error_response(
                shared,
                StatusCode::UNAUTHORIZED,
                "authentication_error",
                "x-api-key header is required",
                None,
                Budget::Look,
            ))
        }
        Some(INVALID_KEY) => {
            return Err(error_response(
                shared,
                StatusCode::UNAUTHORIZED,
                "authentication_error",
                "invalid x-api-key",
                None,
                Budget::Look,
            ))
        }
        Some(_) => {}
    }

    match mode {
        ApiMode::RateLimited => Err(error_response(
            shared,
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            "This request would exceed the rate limit for your organization of 1,000 requests per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later. You may also contact sales at https://www.anthropic.com/contact-sales to discuss your options for a rate limit increase.",
            None,
            Budget::Exhausted,
        )),
        ApiMode::SpendCap => {
            let lifts = next_month_start(Utc::now()).format("%Y-%m-%d at %H:%M UTC").to_string();
            let message =
                format!("You have reached your specified API usage limits. You will regain access on {lifts}.");
            Err(error_response(
                shared,
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limit_error",
                &message,
                Some(json!({ "error_code": "enforced_spend_limit_reached" })),
                Budget::Look,
            ))
        }
        ApiMode::Outage => Err(error_response(
            shared,
            StatusCode::INTERNAL_SERVER_ERROR,
            "api_error",
            "Internal server error",
            None,
            Budget::Look,
        )),
        ApiMode::Billing => Err(error_response(
            shared,
            StatusCode::PAYMENT_REQUIRED,
            "billing_error",
            "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.",
            None,
            Budget::Look,
        )),
        ApiMode::GatewayTimeout => Err(error_response(
            shared,
            StatusCode::GATEWAY_TIMEOUT,
            "timeout_error",
            "Request timed out",
            None,
            Budget::Look,
        )),
        ApiMode::Garbage => Err(garbage(shared, sequence)),
        ApiMode::Healthy
        | ApiMode::Overloaded(_)
        | ApiMode::Flapping
        | ApiMode::StreamOverloaded
        | ApiMode::Slow
        | ApiMode::Resets => Ok(Admitted {
            time_to_first_token,
            mode,
            scope: moment.overload_scope(),
        }),
    }
}

/// Applies an overload mode to one messages request for `model`.
///
/// Only requests for a model in the scope take a number in the overload's own sequence, so a
/// share is exact over the requests it can reach, whatever else the client sends. A streamed
/// request the overload hits fails in the two ways real streams fail, in turn: first a 529
/// before any byte, then a 200 whose stream ends in an `overloaded_error` event after
/// `message_start` (api-facts B5), so a client's handling of both is exercised.
fn overload(shared: &Shared, admitted: &Admitted, model: &str, streaming: bool) -> Overload {
    if !admitted.mode.is_overload() || !admitted.scope.covers(model) {
        return Overload::Spared;
    }
    let hit = match admitted.mode {
        // `stream-overload` is the mid-stream failure alone: plain requests pass, streams fail
        // after `message_start`, every one of them.
        ApiMode::StreamOverloaded => {
            return if streaming {
                Overload::FailsMidStream
            } else {
                Overload::Spared
            }
        }
        ApiMode::Overloaded(share) => overload_hits(shared.next_overload_request(), share),
        ApiMode::Flapping => shared.next_overload_request() % 2 == 1,
        _ => false,
    };
    if !hit {
        Overload::Spared
    } else if streaming && shared.next_failed_stream() % 2 == 1 {
        Overload::FailsMidStream
    } else {
        Overload::Refused
    }
}

/// The answer to a model the API does not serve: one outside the `claude-` namespace or one
/// retired (claude-code.md H7). The real API names the model as it was sent.
fn model_not_found(shared: &Shared, model: &str) -> Response {
    if let Some(end_of_life) = models::retired(model) {
        tracing::debug!(model, end_of_life, "a retired model was requested");
    }
    error_response(
        shared,
        StatusCode::NOT_FOUND,
        "not_found_error",
        &format!("model: {model}"),
        None,
        Budget::Look,
    )
}

/// Spreads a share of failures evenly and reproducibly over the request sequence: request `n`
/// fails when the running count of failures, `floor(n × share)`, steps up at `n + 1`.
pub(crate) fn overload_hits(sequence: u64, share: f64) -> bool {
    let before = (sequence as f64 * share).floor();
    let after = ((sequence + 1) as f64 * share).floor();
    after > before
}

/// Broken 200 answers for `garbage-api`. They carry the usual API headers, so a client that
/// trusts a 200 with a request id still has to survive the body.
fn garbage(shared: &Shared, sequence: u64) -> Response {
    let request_id = request_id(shared);
    let content_type = match sequence % 3 {
        1 => "text/html; charset=utf-8",
        _ => "application/json",
    };
    let mut headers = base_headers(&request_id, content_type);
    extend(&mut headers, rate_headers(shared, Budget::Look));
    match sequence % 3 {
        0 => (
            StatusCode::OK,
            headers,
            r#"{"data":[{"type":"model","id":"claude-opus-4-8","display_name":"Claude Op"#,
        )
            .into_response(),
        1 => (
            StatusCode::OK,
            headers,
            "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>cloudflare</center></body></html>",
        )
            .into_response(),
        _ => (StatusCode::OK, headers, "").into_response(),
    }
}

fn json_response(shared: &Shared, body: &impl Serialize, budget: Budget) -> Response {
    let request_id = request_id(shared);
    let mut headers = base_headers(&request_id, "application/json");
    extend(&mut headers, rate_headers(shared, budget));
    let body = serde_json::to_vec(body).unwrap_or_default();
    (StatusCode::OK, headers, body).into_response()
}

#[derive(Debug, Serialize)]
struct Model {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'static str,
    display_name: &'static str,
    created_at: &'static str,
}

#[derive(Debug, Serialize)]
struct ModelList {
    data: Vec<Model>,
    has_more: bool,
    first_id: Option<&'static str>,
    last_id: Option<&'static str>,
}

fn model(index: usize) -> Model {
    let (id, display_name, created_at) = MODELS[index];
    Model {
        kind: "model",
        id,
        display_name,
        created_at,
    }
}

fn query_value<'a>(query: &'a Option<String>, key: &str) -> Option<&'a str> {
    query.as_deref()?.split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        (name == key).then_some(value)
    })
}

async fn list_models(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if let Err(refused) = gate(&shared, &connection, &headers, false).await {
        return refused;
    }
    let limit = match query_value(&query, "limit").map(str::parse::<usize>) {
        None => 20,
        Some(Ok(limit)) if (1..=1000).contains(&limit) => limit,
        Some(_) => {
            return error_response(
                &shared,
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "limit: Input should be between 1 and 1000",
                None,
                Budget::Look,
            )
        }
    };
    let start = query_value(&query, "after_id")
        .and_then(|after| {
            MODELS
                .iter()
                .position(|(id, _, _)| *id == after)
                .map(|index| index + 1)
        })
        .unwrap_or(0);
    let data: Vec<Model> = (start..MODELS.len()).take(limit).map(model).collect();
    let has_more = start + data.len() < MODELS.len();
    let body = ModelList {
        first_id: data.first().map(|model| model.id),
        last_id: data.last().map(|model| model.id),
        has_more,
        data,
    };
    json_response(
        &shared,
        &body,
        Budget::Spend {
            input_tokens: 0,
            output_tokens: 0,
        },
    )
}

async fn get_model(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) = gate(&shared, &connection, &headers, false).await {
        return refused;
    }
    match MODELS.iter().position(|(known, _, _)| *known == id) {
        Some(index) => json_response(
            &shared,
            &model(index),
            Budget::Spend {
                input_tokens: 0,
                output_tokens: 0,
            },
        ),
        None => model_not_found(&shared, &id),
    }
}

/// The parts of a Messages request the simulator looks at.
#[derive(Debug)]
struct MessagesRequest {
    model: String,
    max_tokens: u64,
    /// Its input tokens and cache breakpoints.
    plan: Plan,
    /// How its input split between the cache and plain input; every token is plain input
    /// until the cache has been asked.
    cache: CacheUse,
    stream: bool,
}

impl MessagesRequest {
    /// The input tokens that count against the per-minute input limit: cache reads do not,
    /// as the real rate limits say.
    fn limited_input_tokens(&self) -> u64 {
        self.cache.input + self.cache.written()
    }
}

fn invalid(shared: &Shared, message: &str) -> Response {
    error_response(
        shared,
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        message,
        None,
        Budget::Look,
    )
}

fn parse_messages_request(body: &Value) -> Result<MessagesRequest, String> {
    let Some(fields) = body.as_object() else {
        return Err("Input should be an object".to_owned());
    };
    let model = match fields.get("model") {
        Some(Value::String(model)) => model.clone(),
        Some(_) => return Err("model: Input should be a valid string".to_owned()),
        None => return Err("model: Field required".to_owned()),
    };
    let max_tokens = match fields.get("max_tokens") {
        Some(value) => match value.as_u64() {
            Some(tokens) if tokens >= 1 => tokens,
            _ => return Err("max_tokens: Input should be greater than or equal to 1".to_owned()),
        },
        None => return Err("max_tokens: Field required".to_owned()),
    };
    match fields.get("messages") {
        Some(Value::Array(_)) => {}
        Some(_) => return Err("messages: Input should be a valid list".to_owned()),
        None => return Err("messages: Field required".to_owned()),
    }
    // Tokens are the deterministic estimate of `prompt_cache` (about four characters a
    // token), which also reads and checks the cache breakpoints.
    let plan = prompt_cache::plan(body)?;
    Ok(MessagesRequest {
        model,
        max_tokens,
        cache: CacheUse::uncached(plan.total),
        plan,
        stream: fields
            .get("stream")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

#[derive(Debug, Clone, Copy, Serialize)]
struct CacheCreation {
    ephemeral_5m_input_tokens: u64,
    ephemeral_1h_input_tokens: u64,
}

#[derive(Debug, Clone, Copy, Serialize)]
struct Usage {
    input_tokens: u64,
    cache_creation_input_tokens: u64,
    cache_read_input_tokens: u64,
    cache_creation: CacheCreation,
    output_tokens: u64,
    service_tier: &'static str,
}

impl Usage {
    fn new(cache: CacheUse, output_tokens: u64) -> Self {
        Self {
            input_tokens: cache.input,
            cache_creation_input_tokens: cache.written(),
            cache_read_input_tokens: cache.read,
            cache_creation: CacheCreation {
                ephemeral_5m_input_tokens: cache.written_5m,
                ephemeral_1h_input_tokens: cache.written_1h,
            },
            output_tokens,
            service_tier: "standard",
        }
    }
}

#[derive(Debug, Serialize)]
struct TextBlock<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    text: &'a str,
}

#[derive(Debug, Serialize)]
struct Message {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    role: &'static str,
    model: String,
    content: Vec<TextBlock<'static>>,
    stop_reason: Option<&'static str>,
    stop_sequence: Option<String>,
    usage: Usage,
}

/// The first `count` tokens of the reply as one string; computed once per length because
/// the reply is fixed, which keeps `Message` free of owned text.
fn reply_text(count: usize) -> &'static str {
    let mut end = 0;
    for token in REPLY_TOKENS.iter().take(count) {
        end += token.len();
    }
    REPLY_TEXT.get(..end).unwrap_or(REPLY_TEXT)
}

/// The reply cut to `max_tokens`, and why it stopped.
fn reply(max_tokens: u64) -> (&'static [&'static str], &'static str) {
    let count = usize::try_from(max_tokens)
        .unwrap_or(usize::MAX)
        .min(REPLY_TOKENS.len());
    let stop_reason = if count < REPLY_TOKENS.len() {
        "max_tokens"
    } else {
        "end_turn"
    };
    (&REPLY_TOKENS[..count], stop_reason)
}

async fn messages(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parsed: Result<Value, _> = serde_json::from_slice(&body);
    // The stream flag decides how `slow` delays the answer, so it is read before validation.
    let streaming = parsed
        .as_ref()
        .ok()
        .and_then(|value| value.get("stream"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    // Every request with a readable model counts for that model, whatever its answer.
    if let Some(model) = parsed
        .as_ref()
        .ok()
        .and_then(|value| value.get("model"))
        .and_then(Value::as_str)
    {
        shared.counters.message(model, MessageEvent::Request);
    }
    let admitted = match gate(&shared, &connection, &headers, streaming).await {
        Ok(admitted) => admitted,
        Err(refused) => return refused,
    };
    let Ok(value) = parsed else {
        return invalid(
            &shared,
            "There was an error parsing the body of your request",
        );
    };
    let mut request = match parse_messages_request(&value) {
        Ok(request) => request,
        Err(message) => return invalid(&shared, &message),
    };
    // A model that does not exist is a 404 whatever the load: no capacity is involved.
    if !models::exists(&request.model) {
        return model_not_found(&shared, &request.model);
    }
    let stream_fails = match overload(&shared, &admitted, &request.model, request.stream) {
        Overload::Spared => false,
        Overload::FailsMidStream => {
            shared
                .counters
                .message(&request.model, MessageEvent::StreamError);
            true
        }
        Overload::Refused => {
            shared
                .counters
                .message(&request.model, MessageEvent::Overloaded);
            return overloaded(&shared);
        }
    };
    // A request that is answered (even one whose stream then fails) has had its prompt read,
    // so it reads and writes the cache; a refused one never got that far. Story time is taken
    // before the cache's lock, because a scenario switch takes the two the other way round.
    let now = shared.story_time();
    let account = headers.get("x-api-key").map_or(0, |key| {
        prompt_cache::account_of(&String::from_utf8_lossy(key.as_bytes()))
    });
    request.cache = shared
        .prompt_cache()
        .apply(account, &request.model, &request.plan, now);
    let (tokens, stop_reason) = reply(request.max_tokens);
    let message_id = format!("msg_sim{}", ids::base62(shared.next_id(), 20));
    if request.stream {
        return stream(&shared, &admitted, stream_fails, request, message_id);
    }

    if !shared.pause(admitted.time_to_first_token).await {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let output_tokens = tokens.len() as u64;
    let limited_input_tokens = request.limited_input_tokens();
    let message = Message {
        id: message_id,
        kind: "message",
        role: "assistant",
        model: request.model,
        content: vec![TextBlock {
            kind: "text",
            text: reply_text(tokens.len()),
        }],
        stop_reason: Some(stop_reason),
        stop_sequence: None,
        usage: Usage::new(request.cache, output_tokens),
    };
    json_response(
        &shared,
        &message,
        Budget::Spend {
            input_tokens: limited_input_tokens,
            output_tokens,
        },
    )
}

async fn count_tokens(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refused) = gate(&shared, &connection, &headers, false).await {
        return refused;
    }
    let Ok(value) = serde_json::from_slice::<Value>(&body) else {
        return invalid(
            &shared,
            "There was an error parsing the body of your request",
        );
    };
    if value.get("messages").is_none() {
        return invalid(&shared, "messages: Field required");
    }
    // Counting tokens for a model that is gone fails as a message would. A body without a
    // model is still counted, as the simulator always has, so older callers keep working.
    if let Some(model) = value.get("model").and_then(Value::as_str) {
        if !models::exists(model) {
            return model_not_found(&shared, model);
        }
    }
    // The same estimate as a message's, tools included; a malformed marker is refused here
    // too, since the body is a Messages body.
    let plan = match prompt_cache::plan(&value) {
        Ok(plan) => plan,
        Err(message) => return invalid(&shared, &message),
    };
    json_response(
        &shared,
        &CountTokens {
            input_tokens: plan.total,
        },
        Budget::Look,
    )
}

#[derive(Debug, Serialize)]
struct CountTokens {
    input_tokens: u64,
}

/// The SSE payloads, as structs so their keys keep the API's order (`type` first), which a
/// `json!` map (sorted keys) would not.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum StreamEvent<'a> {
    MessageStart {
        message: &'a Message,
    },
    ContentBlockStart {
        index: u32,
        content_block: TextBlock<'a>,
    },
    Ping,
    ContentBlockDelta {
        index: u32,
        delta: TextDelta<'a>,
    },
    ContentBlockStop {
        index: u32,
    },
    MessageDelta {
        delta: StopDelta,
        usage: DeltaUsage,
    },
    MessageStop,
    Error {
        error: StreamError,
    },
}

impl StreamEvent<'_> {
    fn name(&self) -> &'static str {
        match self {
            StreamEvent::MessageStart { .. } => "message_start",
            StreamEvent::ContentBlockStart { .. } => "content_block_start",
            StreamEvent::Ping => "ping",
            StreamEvent::ContentBlockDelta { .. } => "content_block_delta",
            StreamEvent::ContentBlockStop { .. } => "content_block_stop",
            StreamEvent::MessageDelta { .. } => "message_delta",
            StreamEvent::MessageStop => "message_stop",
            StreamEvent::Error { .. } => "error",
        }
    }

    /// One server-sent event, framed as the API frames them (named event, one data line).
    fn frame(&self) -> Bytes {
        let data = serde_json::to_string(self).unwrap_or_default();
        Bytes::from(format!("event: {}\ndata: {data}\n\n", self.name()))
    }
}

#[derive(Debug, Serialize)]
struct TextDelta<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    text: &'a str,
}

#[derive(Debug, Serialize)]
struct StopDelta {
    stop_reason: &'static str,
    stop_sequence: Option<String>,
}

/// Usage on `message_delta` is cumulative, so it repeats the input counts.
#[derive(Debug, Serialize)]
struct DeltaUsage {
    input_tokens: u64,
    cache_creation_input_tokens: u64,
    cache_read_input_tokens: u64,
    output_tokens: u64,
}

#[derive(Debug, Serialize)]
struct StreamError {
    #[serde(rename = "type")]
    kind: &'static str,
    message: &'static str,
}

/// The event sequence of api-facts B5, each with the pause before it.
fn stream_events(
    admitted: &Admitted,
    stream_fails: bool,
    request: &MessagesRequest,
    message_id: String,
    token_interval: Duration,
) -> VecDeque<(Duration, Bytes)> {
    let (tokens, stop_reason) = reply(request.max_tokens);
    let start = Message {
        id: message_id,
        kind: "message",
        role: "assistant",
        model: request.model.clone(),
        content: Vec::new(),
        stop_reason: None,
        stop_sequence: None,
        usage: Usage::new(request.cache, 1),
    };
    let mut events = VecDeque::new();
    events.push_back((
        Duration::ZERO,
        StreamEvent::MessageStart { message: &start }.frame(),
    ));
    if stream_fails {
        let error = StreamEvent::Error {
            error: StreamError {
                kind: "overloaded_error",
                message: "Overloaded",
            },
        };
        events.push_back((admitted.time_to_first_token, error.frame()));
        return events;
    }
    let block = StreamEvent::ContentBlockStart {
        index: 0,
        content_block: TextBlock {
            kind: "text",
            text: "",
        },
    };
    events.push_back((Duration::ZERO, block.frame()));
    events.push_back((Duration::ZERO, StreamEvent::Ping.frame()));
    for (index, token) in tokens.iter().enumerate() {
        let pause = if index == 0 {
            admitted.time_to_first_token
        } else {
            token_interval
        };
        let delta = StreamEvent::ContentBlockDelta {
            index: 0,
            delta: TextDelta {
                kind: "text_delta",
                text: token,
            },
        };
        events.push_back((pause, delta.frame()));
    }
    events.push_back((
        Duration::ZERO,
        StreamEvent::ContentBlockStop { index: 0 }.frame(),
    ));
    let finish = StreamEvent::MessageDelta {
        delta: StopDelta {
            stop_reason,
            stop_sequence: None,
        },
        usage: DeltaUsage {
            input_tokens: request.cache.input,
            cache_creation_input_tokens: request.cache.written(),
            cache_read_input_tokens: request.cache.read,
            output_tokens: tokens.len() as u64,
        },
    };
    events.push_back((Duration::ZERO, finish.frame()));
    events.push_back((Duration::ZERO, StreamEvent::MessageStop.frame()));
    events
}

fn stream(
    shared: &Shared,
    admitted: &Admitted,
    stream_fails: bool,
    request: MessagesRequest,
    message_id: String,
) -> Response {
    let output_tokens = if stream_fails {
        0
    } else {
        reply(request.max_tokens).0.len() as u64
    };
    let events = stream_events(
        admitted,
        stream_fails,
        &request,
        message_id,
        shared.options.token_interval,
    );
    let cancel: CancellationToken = shared.cancel.clone();
    let body = futures_util::stream::unfold((events, cancel), |(mut events, cancel)| async move {
        let (pause, frame) = events.pop_front()?;
        if !pause.is_zero() {
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                // On shutdown the stream just ends, as a dropped upstream would.
                () = cancel.cancelled() => return None,
            }
        }
        Some((Ok::<Bytes, Infallible>(frame), (events, cancel)))
    });
    let request_id = request_id(shared);
    let mut headers = base_headers(&request_id, "text/event-stream; charset=utf-8");
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    extend(
        &mut headers,
        rate_headers(
            shared,
            Budget::Spend {
                input_tokens: request.limited_input_tokens(),
                output_tokens,
            },
        ),
    );
    (StatusCode::OK, headers, Body::from_stream(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overload_share_is_spread_evenly() {
        let hits = |share: f64| (0..100).filter(|&n| overload_hits(n, share)).count();
        assert_eq!(hits(0.0), 0);
        assert_eq!(hits(0.25), 25);
        assert_eq!(hits(0.5), 50);
        assert_eq!(hits(1.0), 100);
        assert!(!overload_hits(0, 0.5));
        assert!(overload_hits(1, 0.5));
    }

    #[test]
    fn reply_honours_max_tokens() {
        assert_eq!(reply(1), (&REPLY_TOKENS[..1], "max_tokens"));
        assert_eq!(reply(1000).1, "end_turn");
    }

    #[test]
    fn reply_text_matches_tokens() {
        assert_eq!(REPLY_TOKENS.concat(), REPLY_TEXT);
        assert_eq!(reply_text(2), "Hello!");
    }

    #[test]
    fn thousands_round_to_nearest() {
        assert_eq!(round_thousands(79_984), 80_000);
        assert_eq!(round_thousands(79_400), 79_000);
        assert_eq!(round_thousands(0), 0);
    }

    #[test]
    fn spend_cap_lifts_on_the_first() {
        let december = Utc.with_ymd_and_hms(2026, 12, 14, 9, 30, 0).single();
        let lifted = december.map(next_month_start).map(|time| time.to_rfc3339());
        assert_eq!(lifted.as_deref(), Some("2027-01-01T00:00:00+00:00"));
    }
}
