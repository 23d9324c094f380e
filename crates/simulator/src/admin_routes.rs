//! The fake Admin API (api-facts E): `GET /v1/organizations/usage_report/messages` and
//! `GET /v1/organizations/cost_report`, over usage that is a pure function of the minute, so
//! every answer agrees with every other one: an hour is the sum of its minutes, a day the sum of
//! its hours, and the cost report is the usage report priced with the public price table.
//!
//! No real sample of either report was found (api-facts, "Gaps"), so the shapes follow the
//! documented schema field by field; the `description` texts of cost rows are made up.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::ids;
use crate::net::Connection;
use crate::scenario::{ApiMode, Scenario};
use crate::server::{Moment, RequestKind, Shared};

pub(crate) const USAGE_PATH: &str = "/v1/organizations/usage_report/messages";
pub(crate) const COST_PATH: &str = "/v1/organizations/cost_report";

/// The same made-up organization as the rest of the fake API.
const ORGANIZATION_ID: &str = "5f0c3a8e-2b1d-4c7e-9a0f-51de5e7a51a0";
/// Usage shows up in the reports this long after it happened ("usually within 5 minutes").
const DATA_DELAY_MINUTES: i64 = 5;
/// The wait `admin-rate-limited-once` asks for: short, so a retry test waits one second.
const ONCE_RETRY_AFTER_SECONDS: u64 = 1;
/// The wait the `rate-limited` scenario asks for on every path.
const RATE_LIMIT_RETRY_AFTER_SECONDS: u64 = 20;
/// Admin keys start with this; standard keys (`sk-ant-api03-…`) are refused.
const ADMIN_KEY_PREFIX: &str = "sk-ant-admin";
/// Scrambles the bucket time inside page tokens so clients treat them as opaque.
const PAGE_TOKEN_MASK: u64 = 0x5be0_cd19_137e_2179;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(USAGE_PATH, get(usage_report))
        .route(COST_PATH, get(cost_report))
        .layer(Extension(Arc::new(AdminState::default())))
}

/// Memory of the fail-once scenarios: the story whose one failure was served (its anchor and
/// scenario) and that request's number, so later requests of the same story succeed and a new
/// story fails again. The number tells two stories apart even when a switch lands in the same
/// millisecond (and so keeps the anchor): a new story counts its requests from zero again.
#[derive(Debug, Default)]
struct AdminState {
    failed: Mutex<Option<(DateTime<Utc>, &'static str, u64)>>,
}

impl AdminState {
    /// True for the first request of a story that asks.
    fn first_request_of(&self, moment: &Moment) -> bool {
        let mut failed = self
            .failed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let same_story = failed.is_some_and(|(anchor, scenario, sequence)| {
            anchor == moment.anchor
                && scenario == moment.scenario.name()
                && sequence < moment.sequence
        });
        if !same_story {
            *failed = Some((moment.anchor, moment.scenario.name(), moment.sequence));
        }
        !same_story
    }
}

// ----- The usage every report is built from -------------------------------------------------

/// One steady source of traffic: a model used through one key, workspace, tier and context
/// window. Each minute it is either idle or makes a few requests.
#[derive(Debug, Clone, Copy)]
struct Stream {
    model: &'static str,
    service_tier: &'static str,
    context_window: &'static str,
    /// `None` is Workbench/Console usage.
    api_key_id: Option<&'static str>,
    /// `None` is the default workspace.
    workspace_id: Option<&'static str>,
    /// Chance in percent of being busy in a minute of working hours (08–18 UTC), and outside them.
    busy_percent: u64,
    quiet_percent: u64,
    /// Tokens of one request.
    per_request: Tokens,
    /// One web search every this many busy minutes (0: never).
    web_search_every: u64,
}

/// Token counts as the usage report names them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Tokens {
    uncached_input: u64,
    cache_5m: u64,
    cache_1h: u64,
    cache_read: u64,
    output: u64,
    web_search_requests: u64,
}

impl Tokens {
    fn add(&mut self, other: &Tokens) {
        self.uncached_input += other.uncached_input;
        self.cache_5m += other.cache_5m;
        self.cache_1h += other.cache_1h;
        self.cache_read += other.cache_read;
        self.output += other.output;
        self.web_search_requests += other.web_search_requests;
    }

    fn is_empty(&self) -> bool {
        *self == Tokens::default()
    }
}

const KEY_BACKEND: &str = "apikey_01Rj2N8SVvo6BePZj99NhmiT";
const KEY_RESEARCH: &str = "apikey_01HxVb3kQe7tDz5WmRf2LcYa";
const WORKSPACE_RESEARCH: &str = "wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ";

const fn per_request(
    uncached_input: u64,
    cache_5m: u64,
    cache_1h: u64,
    cache_read: u64,
    output: u64,
) -> Tokens {
    Tokens {
        uncached_input,
        cache_5m,
        cache_1h,
        cache_read,
        output,
        web_search_requests: 0,
    }
}

/// The organisation's traffic: a busy Sonnet backend with 5-minute caching and web search, an
/// Opus research workspace with 1-hour caching, nightly Haiku batches, an occasional
/// long-context Sonnet job and a little Workbench use.
const STREAMS: [Stream; 5] = [
    Stream {
        model: "claude-sonnet-4-6",
        service_tier: "standard",
        context_window: "0-200k",
        api_key_id: Some(KEY_BACKEND),
        workspace_id: None,
        busy_percent: 60,
        quiet_percent: 15,
        per_request: per_request(1_800, 2_400, 0, 21_000, 650),
        web_search_every: 9,
    },
    Stream {
        model: "claude-opus-4-8",
        service_tier: "standard",
        context_window: "0-200k",
        api_key_id: Some(KEY_RESEARCH),
        workspace_id: Some(WORKSPACE_RESEARCH),
        busy_percent: 25,
        quiet_percent: 5,
        per_request: per_request(3_200, 0, 6_000, 38_000, 1_400),
        web_search_every: 0,
    },
    Stream {
        model: "claude-haiku-4-5",
        service_tier: "batch",
        context_window: "0-200k",
        api_key_id: Some(KEY_BACKEND),
        workspace_id: None,
        busy_percent: 10,
        quiet_percent: 30,
        per_request: per_request(12_000, 0, 0, 4_000, 2_000),
        web_search_every: 0,
    },
    Stream {
        model: "claude-sonnet-4-6",
        service_tier: "standard",
        context_window: "200k-1M",
        api_key_id: Some(KEY_RESEARCH),
        workspace_id: Some(WORKSPACE_RESEARCH),
        busy_percent: 6,
        quiet_percent: 1,
        per_request: per_request(160_000, 40_000, 0, 90_000, 3_000),
        web_search_every: 0,
    },
    Stream {
        model: "claude-haiku-4-5",
        service_tier: "standard",
        context_window: "0-200k",
        api_key_id: None,
        workspace_id: None,
        busy_percent: 8,
        quiet_percent: 0,
        per_request: per_request(600, 0, 0, 0, 300),
        web_search_every: 0,
    },
];

/// What stream `index` used in the minute starting at `minute` (seconds since the epoch / 60).
fn stream_minute(index: usize, minute: i64) -> Tokens {
    let stream = &STREAMS[index];
    // The cast wraps negative minutes (before 1970) around; they only need to be deterministic.
    let seed = ids::mix((minute as u64).wrapping_mul(16).wrapping_add(index as u64));
    let hour = minute.rem_euclid(24 * 60) / 60;
    let percent = if (8..18).contains(&hour) {
        stream.busy_percent
    } else {
        stream.quiet_percent
    };
    if seed % 100 >= percent {
        return Tokens::default();
    }
    let requests = 1 + (seed >> 8) % 4;
    // A per-minute spread of up to +50 % so buckets do not all look alike.
    let spread = |base: u64, salt: u64| {
        let wobble = ids::mix(seed ^ salt) % (base / 2 + 1);
        base * requests + wobble
    };
    let base = stream.per_request;
    Tokens {
        uncached_input: spread(base.uncached_input, 1),
        cache_5m: spread(base.cache_5m, 2),
        cache_1h: spread(base.cache_1h, 3),
        cache_read: spread(base.cache_read, 4),
        output: spread(base.output, 5),
        web_search_requests: u64::from(
            stream.web_search_every != 0 && (seed >> 16).is_multiple_of(stream.web_search_every),
        ),
    }
}

// ----- Query parameters ----------------------------------------------------------------------

/// The query string as decoded (name, value) pairs, in order.
#[derive(Debug, Default)]
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(query: Option<&str>) -> Self {
        let pairs = query
            .unwrap_or("")
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(name), percent_decode(value))
            })
            .collect();
        Params(pairs)
    }

    fn first(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Every value of a list parameter, sent as `name[]=…` (or plain `name=…`).
    fn all(&self, name: &str) -> Vec<&str> {
        let bracketed = format!("{name}[]");
        self.0
            .iter()
            .filter(|(key, _)| *key == bracketed || key == name)
            .map(|(_, value)| value.as_str())
            .collect()
    }

    /// A fingerprint of everything but `page` and `limit`, so a page token cannot be used with
    /// another query.
    fn fingerprint(&self) -> u32 {
        let mut pairs: Vec<String> = self
            .0
            .iter()
            .filter(|(key, _)| key != "page" && key != "limit")
            .map(|(key, value)| format!("{key}={value}"))
            .collect();
        pairs.sort();
        (ids::fnv1a64(pairs.join("&").as_bytes()) >> 32) as u32
    }
}

/// Decodes `+` and `%XX` escapes of a query component; malformed escapes stay as they are.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A bucket width and its page sizes (api-facts E).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Width {
    Minute,
    Hour,
    Day,
}

impl Width {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "1m" => Some(Width::Minute),
            "1h" => Some(Width::Hour),
            "1d" => Some(Width::Day),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Width::Minute => "1m",
            Width::Hour => "1h",
            Width::Day => "1d",
        }
    }

    fn length(self) -> TimeDelta {
        match self {
            Width::Minute => TimeDelta::minutes(1),
            Width::Hour => TimeDelta::hours(1),
            Width::Day => TimeDelta::days(1),
        }
    }

    /// (default, max) buckets per page.
    fn limits(self) -> (u32, u32) {
        match self {
            Width::Minute => (60, 1440),
            Width::Hour => (24, 168),
            Width::Day => (7, 31),
        }
    }
}

/// The group-by dimensions of the usage report.
const USAGE_GROUPS: [&str; 5] = [
    "api_key_id",
    "workspace_id",
    "model",
    "service_tier",
    "context_window",
];
/// The service tiers the usage report's filter accepts.
const SERVICE_TIERS: [&str; 6] = [
    "standard",
    "batch",
    "priority",
    "priority_on_demand",
    "flex",
    "flex_discount",
];
const CONTEXT_WINDOWS: [&str; 2] = ["0-200k", "200k-1M"];

/// The parts of a query both reports share: the buckets of this page and the whole range.
#[derive(Debug)]
struct Range {
    width: Width,
    /// `starting_at` snapped to the bucket width: bucket number 0 of the query.
    first: DateTime<Utc>,
    /// Buckets start before this.
    end: DateTime<Utc>,
    /// The first bucket of this page.
    page_start: DateTime<Utc>,
    limit: u32,
    fingerprint: u32,
}

impl Range {
    fn parse(params: &Params, now: DateTime<Utc>, widths: &[Width]) -> Result<Self, String> {
        let starting_at = match params.first("starting_at") {
            None | Some("") => return Err("starting_at: Field required".to_owned()),
            Some(text) => parse_time(text).ok_or_else(|| {
                format!("starting_at: Input should be a valid RFC 3339 datetime, got {text:?}")
            })?,
        };
        let ending_at = match params.first("ending_at") {
            None | Some("") => None,
            Some(text) => Some(parse_time(text).ok_or_else(|| {
                format!("ending_at: Input should be a valid RFC 3339 datetime, got {text:?}")
            })?),
        };
        let width = match params.first("bucket_width") {
            None | Some("") => Width::Day,
            Some(text) => Width::parse(text)
                .filter(|width| widths.contains(width))
                .ok_or_else(|| {
                    let allowed: Vec<&str> = widths.iter().map(|w| w.as_str()).collect();
                    format!(
                        "bucket_width: Input should be {}, got {text:?}",
                        allowed.join(" or ")
                    )
                })?,
        };
        let (default_limit, max_limit) = width.limits();
        let limit = match params.first("limit") {
            None | Some("") => default_limit,
            Some(text) => text
                .parse::<u32>()
                .ok()
                .filter(|limit| (1..=max_limit).contains(limit))
                .ok_or_else(|| {
                    format!(
                        "limit: Input should be between 1 and {max_limit} for bucket_width {}, got {text:?}",
                        width.as_str()
                    )
                })?,
        };
        if let Some(ending_at) = ending_at {
            if ending_at <= starting_at {
                return Err("ending_at: must be after starting_at".to_owned());
            }
        }
        let first = snap(starting_at, width);
        let fingerprint = params.fingerprint();
        let page_start = match params.first("page") {
            None | Some("") => first,
            Some(token) => match decode_page_token(token) {
                Some((start, print)) if print == fingerprint && start >= first => start,
                _ => return Err(format!("page: invalid page token {token:?} for this query")),
            },
        };
        Ok(Range {
            width,
            first,
            end: ending_at.unwrap_or(now),
            page_start,
            limit,
            fingerprint,
        })
    }

    /// This page's buckets, and the start of the next page when there is one.
    fn page(&self) -> (Vec<DateTime<Utc>>, Option<DateTime<Utc>>) {
        let mut starts = Vec::new();
        let mut start = self.page_start;
        while start < self.end && starts.len() < self.limit as usize {
            starts.push(start);
            start += self.width.length();
        }
        let next = (start < self.end).then_some(start);
        (starts, next)
    }

    /// The number of a bucket within the whole query (0 for the one holding `starting_at`).
    fn index_of(&self, start: DateTime<Utc>) -> i64 {
        (start - self.first).num_seconds() / self.width.length().num_seconds()
    }
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|time| time.with_timezone(&Utc))
}

/// Buckets are snapped to the start of their minute, hour or day in UTC.
fn snap(time: DateTime<Utc>, width: Width) -> DateTime<Utc> {
    time.duration_trunc(width.length()).unwrap_or(time)
}

fn page_token(start: DateTime<Utc>, fingerprint: u32) -> String {
    format!(
        "page_{:016x}{:08x}",
        (start.timestamp() as u64) ^ PAGE_TOKEN_MASK,
        fingerprint
    )
}

fn decode_page_token(token: &str) -> Option<(DateTime<Utc>, u32)> {
    let hex = token.strip_prefix("page_")?;
    if hex.len() != 24 || !hex.is_ascii() {
        return None;
    }
    let seconds = u64::from_str_radix(&hex[..16], 16).ok()? ^ PAGE_TOKEN_MASK;
    let fingerprint = u32::from_str_radix(&hex[16..], 16).ok()?;
    let start = DateTime::<Utc>::from_timestamp(i64::try_from(seconds).ok()?, 0)?;
    Some((start, fingerprint))
}

/// Minutes from `from` (inclusive) to `to` (exclusive) that the reports already know at `now`.
fn known_minutes(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> std::ops::Range<i64> {
    let cutoff = snap(now - TimeDelta::minutes(DATA_DELAY_MINUTES), Width::Minute);
    let first = from.timestamp().div_euclid(60);
    let last = to.min(cutoff).timestamp().div_euclid(60);
    first..last.max(first)
}

fn rfc3339(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

// ----- The usage report -----------------------------------------------------------------------

/// Which streams a usage query keeps, and by what it groups them.
#[derive(Debug)]
struct UsageQuery {
    range: Range,
    group_by: Vec<&'static str>,
    models: Vec<String>,
    api_key_ids: Vec<String>,
    workspace_ids: Vec<String>,
    service_tiers: Vec<String>,
    context_windows: Vec<String>,
}

impl UsageQuery {
    fn parse(params: &Params, now: DateTime<Utc>) -> Result<Self, String> {
        let range = Range::parse(params, now, &[Width::Minute, Width::Hour, Width::Day])?;
        let mut group_by = Vec::new();
        for value in params.all("group_by") {
            let Some(group) = USAGE_GROUPS.iter().find(|group| **group == value) else {
                return Err(format!(
                    "group_by: Input should be one of {}, got {value:?}",
                    USAGE_GROUPS.join(", ")
                ));
            };
            if !group_by.contains(group) {
                group_by.push(*group);
            }
        }
        let list = |name: &str| -> Vec<String> {
            params.all(name).into_iter().map(str::to_owned).collect()
        };
        let service_tiers = list("service_tiers");
        if let Some(bad) = service_tiers
            .iter()
            .find(|t| !SERVICE_TIERS.contains(&t.as_str()))
        {
            return Err(format!(
                "service_tiers: Input should be one of {}, got {bad:?}",
                SERVICE_TIERS.join(", ")
            ));
        }
        let context_windows = list("context_window");
        if let Some(bad) = context_windows
            .iter()
            .find(|c| !CONTEXT_WINDOWS.contains(&c.as_str()))
        {
            return Err(format!(
                "context_window: Input should be 0-200k or 200k-1M, got {bad:?}"
            ));
        }
        Ok(UsageQuery {
            range,
            group_by,
            models: list("models"),
            api_key_ids: list("api_key_ids"),
            workspace_ids: list("workspace_ids"),
            service_tiers,
            context_windows,
        })
    }

    fn keeps(&self, stream: &Stream) -> bool {
        let matches = |filter: &[String], value: Option<&str>| {
            filter.is_empty() || value.is_some_and(|v| filter.iter().any(|f| f == v))
        };
        matches(&self.models, Some(stream.model))
            && matches(&self.api_key_ids, stream.api_key_id)
            && matches(&self.workspace_ids, stream.workspace_id)
            && matches(&self.service_tiers, Some(stream.service_tier))
            && matches(&self.context_windows, Some(stream.context_window))
    }

    /// The group a stream falls in: its values of the grouped dimensions, `None` elsewhere.
    fn group_of(&self, stream: &Stream) -> GroupKey {
        let grouped = |name: &str, value: Option<&'static str>| {
            if self.group_by.contains(&name) {
                value
            } else {
                None
            }
        };
        GroupKey {
            api_key_id: grouped("api_key_id", stream.api_key_id),
            workspace_id: grouped("workspace_id", stream.workspace_id),
            model: grouped("model", Some(stream.model)),
            service_tier: grouped("service_tier", Some(stream.service_tier)),
            context_window: grouped("context_window", Some(stream.context_window)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct GroupKey {
    api_key_id: Option<&'static str>,
    workspace_id: Option<&'static str>,
    model: Option<&'static str>,
    service_tier: Option<&'static str>,
    context_window: Option<&'static str>,
}

#[derive(Debug, Serialize)]
struct Page<T> {
    data: Vec<T>,
    has_more: bool,
    next_page: Option<String>,
}

#[derive(Debug, Serialize)]
struct Bucket<T> {
    starting_at: String,
    ending_at: String,
    results: Vec<T>,
}

#[derive(Debug, Serialize)]
struct CacheCreation {
    ephemeral_1h_input_tokens: u64,
    ephemeral_5m_input_tokens: u64,
}

#[derive(Debug, Serialize)]
struct ServerToolUse {
    web_search_requests: u64,
}

#[derive(Debug, Serialize)]
struct UsageResult {
    uncached_input_tokens: u64,
    cache_creation: CacheCreation,
    cache_read_input_tokens: u64,
    output_tokens: u64,
    server_tool_use: ServerToolUse,
    api_key_id: Option<&'static str>,
    workspace_id: Option<&'static str>,
    model: Option<&'static str>,
    service_tier: Option<&'static str>,
    context_window: Option<&'static str>,
}

impl UsageResult {
    fn new(key: GroupKey, tokens: Tokens) -> Self {
        UsageResult {
            uncached_input_tokens: tokens.uncached_input,
            cache_creation: CacheCreation {
                ephemeral_1h_input_tokens: tokens.cache_1h,
                ephemeral_5m_input_tokens: tokens.cache_5m,
            },
            cache_read_input_tokens: tokens.cache_read,
            output_tokens: tokens.output,
            server_tool_use: ServerToolUse {
                web_search_requests: tokens.web_search_requests,
            },
            api_key_id: key.api_key_id,
            workspace_id: key.workspace_id,
            model: key.model,
            service_tier: key.service_tier,
            context_window: key.context_window,
        }
    }
}

/// The usage of one bucket, per group, as far as the report knows it at `now`.
fn usage_of_bucket(
    query: &UsageQuery,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> BTreeMap<GroupKey, Tokens> {
    let end = start + query.range.width.length();
    let mut groups: BTreeMap<GroupKey, Tokens> = BTreeMap::new();
    for (index, stream) in STREAMS.iter().enumerate() {
        if !query.keeps(stream) {
            continue;
        }
        let mut total = Tokens::default();
        for minute in known_minutes(start, end, now) {
            total.add(&stream_minute(index, minute));
        }
        if !total.is_empty() {
            groups
                .entry(query.group_of(stream))
                .or_default()
                .add(&total);
        }
    }
    groups
}

async fn usage_report(
    State(shared): State<Arc<Shared>>,
    Extension(admin): Extension<Arc<AdminState>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let now = match admit(&shared, &admin, &connection, &headers).await {
        Ok(admitted) => admitted.now,
        Err(refused) => return refused,
    };
    let params = Params::parse(query.as_deref());
    let query = match UsageQuery::parse(&params, now) {
        Ok(query) => query,
        Err(message) => return invalid(&shared, &message),
    };
    let (starts, next) = query.range.page();
    let data = starts
        .into_iter()
        .map(|start| Bucket {
            starting_at: rfc3339(start),
            ending_at: rfc3339(start + query.range.width.length()),
            results: usage_of_bucket(&query, start, now)
                .into_iter()
                .map(|(key, tokens)| UsageResult::new(key, tokens))
                .collect(),
        })
        .collect();
    json_response(
        &shared,
        &Page {
            data,
            has_more: next.is_some(),
            next_page: next.map(|start| page_token(start, query.range.fingerprint)),
        },
    )
}

// ----- The cost report ------------------------------------------------------------------------

/// Prices in cents per million tokens (api-facts D1): input, 5-minute write, 1-hour write, cache
/// read, output. Cents per million tokens are also picocents per token times 10⁻⁶.
fn prices(model: &str, context_window: &str) -> [u128; 5] {
    match (model, context_window) {
        ("claude-opus-4-8", _) => [500, 625, 1_000, 50, 2_500],
        // The 1M-context prices of Sonnet 4.5, since those of 4.6 were not recovered.
        ("claude-sonnet-4-6", "200k-1M") => [600, 750, 1_200, 60, 2_250],
        ("claude-sonnet-4-6", _) => [300, 375, 600, 30, 1_500],
        _ => [100, 125, 200, 10, 500],
    }
}

/// A web search costs $10 per 1,000: one cent, in picocents.
const WEB_SEARCH_PICOCENTS: u128 = 1_000_000_000_000;
const PICOCENTS_PER_CENT: u128 = 1_000_000_000_000;

/// A decimal string of cents from picocents: at least two decimals, no trailing zeros beyond.
fn cents_text(picocents: u128) -> String {
    let whole = picocents / PICOCENTS_PER_CENT;
    let fraction = format!("{:012}", picocents % PICOCENTS_PER_CENT);
    let trimmed = fraction.trim_end_matches('0');
    let decimals = if trimmed.len() < 2 {
        &fraction[..2]
    } else {
        trimmed
    };
    format!("{whole}.{decimals}")
}

/// One cost row before it is written out.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct CostKey {
    workspace_id: Option<&'static str>,
    description: Option<String>,
    cost_type: Option<&'static str>,
    model: Option<&'static str>,
    service_tier: Option<&'static str>,
    context_window: Option<&'static str>,
    token_type: Option<&'static str>,
}

#[derive(Debug, Serialize)]
struct CostResult {
    currency: &'static str,
    amount: String,
    workspace_id: Option<&'static str>,
    description: Option<String>,
    cost_type: Option<&'static str>,
    context_window: Option<&'static str>,
    model: Option<&'static str>,
    service_tier: Option<&'static str>,
    token_type: Option<&'static str>,
}

fn display_name(model: &str) -> &'static str {
    match model {
        "claude-opus-4-8" => "Claude Opus 4.8",
        "claude-sonnet-4-6" => "Claude Sonnet 4.6",
        _ => "Claude Haiku 4.5",
    }
}

/// The token types of the cost report, with their label and their column in [`prices`].
const TOKEN_TYPES: [(&str, &str, usize); 5] = [
    ("uncached_input_tokens", "Input Tokens", 0),
    (
        "cache_creation.ephemeral_5m_input_tokens",
        "Cache Write (5m)",
        1,
    ),
    (
        "cache_creation.ephemeral_1h_input_tokens",
        "Cache Write (1h)",
        2,
    ),
    ("cache_read_input_tokens", "Cache Read", 3),
    ("output_tokens", "Output Tokens", 4),
];

/// The cost of one day, per row, in picocents.
fn cost_of_day(
    start: DateTime<Utc>,
    now: DateTime<Utc>,
    by_workspace: bool,
    by_description: bool,
) -> BTreeMap<CostKey, u128> {
    let end = start + TimeDelta::days(1);
    let mut rows: BTreeMap<CostKey, u128> = BTreeMap::new();
    for (index, stream) in STREAMS.iter().enumerate() {
        let mut tokens = Tokens::default();
        for minute in known_minutes(start, end, now) {
            tokens.add(&stream_minute(index, minute));
        }
        let price = prices(stream.model, stream.context_window);
        // Batch is half price, on every token type (api-facts D1).
        let divisor: u128 = if stream.service_tier == "batch" { 2 } else { 1 };
        let counts = [
            tokens.uncached_input,
            tokens.cache_5m,
            tokens.cache_1h,
            tokens.cache_read,
            tokens.output,
        ];
        let workspace_id = if by_workspace {
            stream.workspace_id
        } else {
            None
        };
        let name = display_name(stream.model);
        let mut tier_note = String::new();
        if stream.service_tier == "batch" {
            tier_note.push_str(" Batch");
        }
        if stream.context_window == "200k-1M" {
            tier_note.push_str(" Long Context");
        }
        for (token_type, label, column) in TOKEN_TYPES {
            let count = u128::from(counts[column]);
            if count == 0 {
                continue;
            }
            let picocents = count * price[column] * 1_000_000 / divisor;
            let key = if by_description {
                CostKey {
                    workspace_id,
                    description: Some(format!("{name}{tier_note} Usage - {label}")),
                    cost_type: Some("tokens"),
                    model: Some(stream.model),
                    service_tier: Some(stream.service_tier),
                    context_window: Some(stream.context_window),
                    token_type: Some(token_type),
                }
            } else {
                CostKey {
                    workspace_id,
                    ..CostKey::default_row()
                }
            };
            *rows.entry(key).or_default() += picocents;
        }
        if tokens.web_search_requests > 0 {
            let key = if by_description {
                CostKey {
                    workspace_id,
                    description: Some("Web Search".to_owned()),
                    cost_type: Some("web_search"),
                    model: Some(stream.model),
                    service_tier: Some(stream.service_tier),
                    context_window: Some(stream.context_window),
                    token_type: None,
                }
            } else {
                CostKey {
                    workspace_id,
                    ..CostKey::default_row()
                }
            };
            *rows.entry(key).or_default() +=
                u128::from(tokens.web_search_requests) * WEB_SEARCH_PICOCENTS;
        }
    }
    rows
}

/// The `admin-small-bill` scenario's bill: 123.45 cents of Sonnet output on the query's first
/// day and one cent of web search on its second, so a test can check the sum to the digit.
fn small_bill(day_index: i64, by_description: bool) -> BTreeMap<CostKey, u128> {
    let (picocents, row) = match day_index {
        0 => (
            123_450_000_000_000,
            CostKey {
                description: Some("Claude Sonnet 4.6 Usage - Output Tokens".to_owned()),
                cost_type: Some("tokens"),
                model: Some("claude-sonnet-4-6"),
                service_tier: Some("standard"),
                context_window: Some("0-200k"),
                token_type: Some("output_tokens"),
                ..CostKey::default_row()
            },
        ),
        1 => (
            10_000_000_000,
            CostKey {
                description: Some("Web Search".to_owned()),
                cost_type: Some("web_search"),
                ..CostKey::default_row()
            },
        ),
        _ => return BTreeMap::new(),
    };
    let key = if by_description {
        row
    } else {
        CostKey::default_row()
    };
    BTreeMap::from([(key, picocents)])
}

impl CostKey {
    /// A row of no group: the day's whole cost.
    fn default_row() -> Self {
        CostKey {
            workspace_id: None,
            description: None,
            cost_type: None,
            model: None,
            service_tier: None,
            context_window: None,
            token_type: None,
        }
    }
}

async fn cost_report(
    State(shared): State<Arc<Shared>>,
    Extension(admin): Extension<Arc<AdminState>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let admitted = match admit(&shared, &admin, &connection, &headers).await {
        Ok(admitted) => admitted,
        Err(refused) => return refused,
    };
    let now = admitted.now;
    let params = Params::parse(query.as_deref());
    let range = match Range::parse(&params, now, &[Width::Day]) {
        Ok(range) => range,
        Err(message) => return invalid(&shared, &message),
    };
    let mut by_workspace = false;
    let mut by_description = false;
    for value in params.all("group_by") {
        match value {
            "workspace_id" => by_workspace = true,
            "description" => by_description = true,
            other => {
                return invalid(
                    &shared,
                    &format!(
                        "group_by: Input should be workspace_id or description, got {other:?}"
                    ),
                )
            }
        }
    }
    let (starts, next) = range.page();
    let data = starts
        .into_iter()
        .map(|start| {
            let rows = if admitted.scenario == Scenario::AdminSmallBill {
                small_bill(range.index_of(start), by_description)
            } else {
                cost_of_day(start, now, by_workspace, by_description)
            };
            Bucket {
                starting_at: rfc3339(start),
                ending_at: rfc3339(start + TimeDelta::days(1)),
                results: rows
                    .into_iter()
                    .filter(|(_, picocents)| *picocents > 0)
                    .map(|(key, picocents)| CostResult {
                        currency: "USD",
                        amount: cents_text(picocents),
                        workspace_id: key.workspace_id,
                        description: key.description,
                        cost_type: key.cost_type,
                        context_window: key.context_window,
                        model: key.model,
                        service_tier: key.service_tier,
                        token_type: key.token_type,
                    })
                    .collect(),
            }
        })
        .collect();
    json_response(
        &shared,
        &Page {
            data,
            has_more: next.is_some(),
            next_page: next.map(|start| page_token(start, range.fingerprint)),
        },
    )
}

// ----- Admission: scenario, key, version ------------------------------------------------------

/// A request the scenario and the key checks let through.
#[derive(Debug)]
struct Admitted {
    /// The simulator's "now": the story's anchor plus story time.
    now: DateTime<Utc>,
    scenario: Scenario,
}

/// Applies the scenario and the key checks to one Admin API request.
async fn admit(
    shared: &Shared,
    admin: &AdminState,
    connection: &Connection,
    headers: &HeaderMap,
) -> Result<Admitted, Response> {
    let moment = shared.moment(RequestKind::Api);
    let mode = moment.scenario.api_mode(moment.story_time);
    let now = moment.anchor + TimeDelta::from_std(moment.story_time).unwrap_or(TimeDelta::MAX);

    if mode == ApiMode::Resets {
        return Err(connection.drop_without_answer());
    }
    if mode == ApiMode::Slow && !shared.pause(shared.options.slow_api_delay).await {
        return Err(StatusCode::SERVICE_UNAVAILABLE.into_response());
    }

    match headers
        .get("x-api-key")
        .and_then(|value| value.to_str().ok())
    {
        None | Some("") => {
            return Err(error(
                shared,
                StatusCode::UNAUTHORIZED,
                "authentication_error",
                "x-api-key header is required",
                None,
            ))
        }
        Some(key) if key.starts_with(ADMIN_KEY_PREFIX) => {}
        Some(key) if key.starts_with("sk-ant-api") => {
            return Err(error(
                shared,
                StatusCode::UNAUTHORIZED,
                "authentication_error",
                "invalid x-api-key: this endpoint requires an Admin API key (sk-ant-admin...)",
                None,
            ))
        }
        Some(_) => {
            return Err(error(
                shared,
                StatusCode::UNAUTHORIZED,
                "authentication_error",
                "invalid x-api-key",
                None,
            ))
        }
    }
    if headers.get("anthropic-version").is_none() {
        return Err(invalid(shared, "anthropic-version: header is required"));
    }

    let once = || admin.first_request_of(&moment);
    match (moment.scenario, mode) {
        (Scenario::AdminRateLimitedOnce, _) if once() => Err(error(
            shared,
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            "Number of requests has exceeded your rate limit. Please try again later.",
            Some(ONCE_RETRY_AFTER_SECONDS),
        )),
        (Scenario::AdminErrorOnce, _) if once() => Err(error(
            shared,
            StatusCode::INTERNAL_SERVER_ERROR,
            "api_error",
            "Internal server error",
            None,
        )),
        (_, ApiMode::RateLimited) => Err(error(
            shared,
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            "Number of requests has exceeded your rate limit. Please try again later.",
            Some(RATE_LIMIT_RETRY_AFTER_SECONDS),
        )),
        (_, ApiMode::Outage) => Err(error(
            shared,
            StatusCode::INTERNAL_SERVER_ERROR,
            "api_error",
            "Internal server error",
            None,
        )),
        (_, ApiMode::GatewayTimeout) => Err(error(
            shared,
            StatusCode::GATEWAY_TIMEOUT,
            "timeout_error",
            "Request timed out",
            None,
        )),
        // Overloads are per model and reach only `/v1/messages` (issue 11), so the reports
        // answer through a storm; the spend cap, billing and broken inference answers do not
        // stop them either.
        _ => Ok(Admitted {
            now,
            scenario: moment.scenario,
        }),
    }
}

// ----- Answers --------------------------------------------------------------------------------

fn request_id(shared: &Shared) -> String {
    format!("req_sim{}", ids::base62(shared.next_id(), 20))
}

fn base_headers(request_id: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert("request-id", value);
    }
    headers.insert(
        "anthropic-organization-id",
        HeaderValue::from_static(ORGANIZATION_ID),
    );
    headers.insert(header::SERVER, HeaderValue::from_static("cloudflare"));
    headers
}

fn json_response(shared: &Shared, body: &impl Serialize) -> Response {
    let request_id = request_id(shared);
    let body = serde_json::to_vec(body).unwrap_or_default();
    (StatusCode::OK, base_headers(&request_id), body).into_response()
}

/// An error in the API's shape, with `retry-after` when one is given.
fn error(
    shared: &Shared,
    status: StatusCode,
    kind: &str,
    message: &str,
    retry_after_seconds: Option<u64>,
) -> Response {
    let request_id = request_id(shared);
    let body: Value = serde_json::json!({
        "type": "error",
        "error": { "type": kind, "message": message },
        "request_id": request_id,
    });
    let mut headers = base_headers(&request_id);
    if let Some(seconds) = retry_after_seconds {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    (
        status,
        headers,
        serde_json::to_vec(&body).unwrap_or_default(),
    )
        .into_response()
}

fn invalid(shared: &Shared, message: &str) -> Response {
    error(
        shared,
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        message,
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        parse_time(text).unwrap_or_default()
    }

    #[test]
    fn cents_are_written_with_two_or_more_decimals() {
        assert_eq!(cents_text(123_450_000_000_000), "123.45");
        assert_eq!(cents_text(10_000_000_000), "0.01");
        assert_eq!(cents_text(37_500_000_000), "0.0375");
        assert_eq!(cents_text(12 * PICOCENTS_PER_CENT), "12.00");
        assert_eq!(cents_text(1), "0.000000000001");
    }

    #[test]
    fn page_tokens_round_trip() {
        let start = at("2026-03-04T05:00:00Z");
        let token = page_token(start, 0xdead_beef);
        assert_eq!(decode_page_token(&token), Some((start, 0xdead_beef)));
        assert_eq!(decode_page_token("page_zz"), None);
        assert_eq!(decode_page_token("nonsense"), None);
    }

    #[test]
    fn queries_decode_brackets_and_escapes() {
        let params = Params::parse(Some(
            "starting_at=2026-03-04T05%3A00%3A00%2B00%3A00&group_by%5B%5D=model&group_by[]=service_tier&x=a+b%",
        ));
        assert_eq!(
            params.first("starting_at"),
            Some("2026-03-04T05:00:00+00:00")
        );
        assert_eq!(params.all("group_by"), vec!["model", "service_tier"]);
        assert_eq!(params.first("x"), Some("a b%"));
    }

    #[test]
    fn an_hour_is_the_sum_of_its_minutes() {
        let now = at("2026-03-05T00:00:00Z");
        let minutes: Tokens = {
            let mut total = Tokens::default();
            for minute in known_minutes(at("2026-03-04T10:00:00Z"), at("2026-03-04T11:00:00Z"), now)
            {
                for index in 0..STREAMS.len() {
                    total.add(&stream_minute(index, minute));
                }
            }
            total
        };
        assert!(minutes.uncached_input > 0 && minutes.cache_5m > 0 && minutes.cache_1h > 0);
        assert_eq!(
            known_minutes(at("2026-03-04T23:50:00Z"), at("2026-03-05T00:10:00Z"), now).count(),
            5
        );
    }
}
