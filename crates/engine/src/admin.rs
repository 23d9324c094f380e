//! The Admin API usage source (api-facts E): the organisation's Messages usage report and cost
//! report, read page by page, and the poller that turns them into observations: the month's bill
//! so far for the tracker, and settled hourly usage buckets as usage records.
//!
//! Unlike the probes, these reads want an answer more than a measurement, so every request goes
//! through [`send_with_retries`] with the SDKs' rules. Amounts arrive as decimal strings of
//! cents and are summed as exact integers, because a month of float additions drifts. The admin
//! key goes into the request header and nowhere else: errors and `Debug` output never show it.

use std::collections::BTreeMap;
use std::fmt;
use std::iter::Sum;
use std::ops::Add;
use std::time::Duration;

use chrono::{DateTime, Datelike, DurationRound, TimeDelta, TimeZone, Utc};
use claude_status_core::monitor::Observation;
use claude_status_core::probe::ProbeOutcome;
use claude_status_core::retry::RetryPolicy;
use claude_status_core::usage::{TokenCounts, UsageRecord, UsageSource};
use reqwest::header::{HeaderValue, USER_AGENT as USER_AGENT_HEADER};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::http::USER_AGENT;
use crate::probe::{ApiKey, ANTHROPIC_VERSION};
use crate::retry::{send_with_retries, Retried};

/// The Messages usage report.
pub const USAGE_REPORT_PATH: &str = "/v1/organizations/usage_report/messages";
/// The cost report.
pub const COST_REPORT_PATH: &str = "/v1/organizations/cost_report";
/// The documented guidance is about one poll a minute for sustained use; the poller never polls
/// faster than this, whatever it is asked.
pub const MIN_POLL_INTERVAL: Duration = Duration::from_secs(60);
/// Usage usually shows up in the reports within five minutes; a bucket is only final after that.
pub const DATA_DELAY: TimeDelta = TimeDelta::minutes(5);
/// The most pages one report may take. A month of days or a week of hours is one page at the
/// largest page size, so hitting this means a range far too wide (or a server that never ends).
pub const MAX_PAGES: usize = 100;
/// The most bytes of one page we read. A page of 1,440 minute buckets grouped five ways stays
/// well below it.
pub const ADMIN_BODY_LIMIT: u64 = 8 * 1024 * 1024;

// ----- Exact amounts --------------------------------------------------------------------------

/// Picocents (10⁻¹² cent) per cent: enough decimals for a single cached token of the cheapest
/// model at the batch discount, which needs eight.
const PICOCENTS_PER_CENT: i128 = 1_000_000_000_000;
/// Digits after the decimal point that [`Cents`] keeps.
const CENT_DECIMALS: usize = 12;

/// An exact amount of money, counted in 10⁻¹² cent. The API's decimal strings of cents parse
/// into it without loss, so a sum of any number of them is exact; only [`Cents::usd`] rounds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cents {
    picocents: i128,
}

impl Cents {
    pub const ZERO: Cents = Cents { picocents: 0 };

    /// Parses a decimal string of cents (`"123.45"`, `"0.0375"`, `"12"`, `"-3.5"`). Digits past
    /// the twelfth decimal are rounded half away from zero. Exponents, separators, `NaN` and
    /// empty strings are refused.
    pub fn parse(text: &str) -> Option<Cents> {
        let text = text.trim();
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let is_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        if (whole.is_empty() && fraction.is_empty()) || !is_digits(whole) || !is_digits(fraction) {
            return None;
        }
        let mut picocents: i128 = 0;
        for digit in whole.bytes() {
            picocents = picocents
                .checked_mul(10)?
                .checked_add(i128::from(digit - b'0'))?;
        }
        picocents = picocents.checked_mul(PICOCENTS_PER_CENT)?;
        let kept = fraction
            .get(..CENT_DECIMALS.min(fraction.len()))
            .unwrap_or("");
        let mut scale = PICOCENTS_PER_CENT;
        for digit in kept.bytes() {
            scale /= 10;
            picocents = picocents.checked_add(i128::from(digit - b'0') * scale)?;
        }
        if fraction
            .as_bytes()
            .get(CENT_DECIMALS)
            .is_some_and(|d| *d >= b'5')
        {
            picocents = picocents.checked_add(1)?;
        }
        Some(Cents {
            picocents: if negative { -picocents } else { picocents },
        })
    }

    /// The amount in US dollars: the nearest `f64` to the exact value, at any size.
    pub fn usd(self) -> f64 {
        // The standard library parses decimals with correct rounding, so going through the exact
        // decimal text rounds once; dividing floats would round twice past 2⁵³ picocents ($90).
        format!("{self}e-2").parse().unwrap_or(f64::NAN)
    }

    /// Adds, or `None` on overflow (about 10¹⁴ dollars).
    pub fn checked_add(self, other: Cents) -> Option<Cents> {
        self.picocents
            .checked_add(other.picocents)
            .map(|picocents| Cents { picocents })
    }
}

impl Add for Cents {
    type Output = Cents;

    fn add(self, other: Cents) -> Cents {
        Cents {
            picocents: self.picocents.saturating_add(other.picocents),
        }
    }
}

impl Sum for Cents {
    fn sum<I: Iterator<Item = Cents>>(iter: I) -> Cents {
        iter.fold(Cents::ZERO, Add::add)
    }
}

/// Cents with as many decimals as needed (at least two): `123.45`, `0.0001`.
impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.picocents < 0 { "-" } else { "" };
        let magnitude = self.picocents.unsigned_abs();
        let unit = PICOCENTS_PER_CENT.unsigned_abs();
        let fraction = format!("{:012}", magnitude % unit);
        let trimmed = fraction.trim_end_matches('0');
        let decimals = if trimmed.len() < 2 {
            &fraction[..2]
        } else {
            trimmed
        };
        write!(f, "{sign}{}.{decimals}", magnitude / unit)
    }
}

// ----- Report shapes ----------------------------------------------------------------------------

/// The width of a usage bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BucketWidth {
    Minute,
    Hour,
    Day,
}

impl BucketWidth {
    /// The query spelling: `1m`, `1h`, `1d`.
    pub fn as_str(self) -> &'static str {
        match self {
            BucketWidth::Minute => "1m",
            BucketWidth::Hour => "1h",
            BucketWidth::Day => "1d",
        }
    }

    /// The most buckets one page may hold (1,440 minutes, 168 hours, 31 days).
    pub fn max_page_size(self) -> u32 {
        match self {
            BucketWidth::Minute => 1440,
            BucketWidth::Hour => 168,
            BucketWidth::Day => 31,
        }
    }
}

/// A dimension the usage report can group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UsageGroup {
    ApiKeyId,
    WorkspaceId,
    Model,
    ServiceTier,
    ContextWindow,
}

impl UsageGroup {
    /// The query spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            UsageGroup::ApiKeyId => "api_key_id",
            UsageGroup::WorkspaceId => "workspace_id",
            UsageGroup::Model => "model",
            UsageGroup::ServiceTier => "service_tier",
            UsageGroup::ContextWindow => "context_window",
        }
    }
}

/// One time bucket of the usage report.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UsageBucket {
    pub starting_at: DateTime<Utc>,
    pub ending_at: DateTime<Utc>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub results: Vec<UsageResult>,
}

/// The usage of one group within a bucket. Fields of dimensions not grouped by are `None`; a
/// `None` `api_key_id` in a grouped report is Workbench or Console use, a `None` `workspace_id`
/// the default workspace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct UsageResult {
    #[serde(default, deserialize_with = "null_as_default")]
    pub uncached_input_tokens: u64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub cache_creation: CacheCreation,
    #[serde(default, deserialize_with = "null_as_default")]
    pub cache_read_input_tokens: u64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub output_tokens: u64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub server_tool_use: ServerToolUse,
    #[serde(default)]
    pub api_key_id: Option<String>,
    #[serde(default)]
    pub workspace_id: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub service_tier: Option<String>,
    #[serde(default)]
    pub context_window: Option<String>,
}

/// Cache writes split by lifetime.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct CacheCreation {
    #[serde(default, deserialize_with = "null_as_default")]
    pub ephemeral_5m_input_tokens: u64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub ephemeral_1h_input_tokens: u64,
}

/// Server tool requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct ServerToolUse {
    #[serde(default, deserialize_with = "null_as_default")]
    pub web_search_requests: u64,
}

impl UsageResult {
    /// The token counts in the ledger's terms.
    pub fn tokens(&self) -> TokenCounts {
        TokenCounts {
            input: self.uncached_input_tokens,
            output: self.output_tokens,
            cache_write_5m: self.cache_creation.ephemeral_5m_input_tokens,
            cache_write_1h: self.cache_creation.ephemeral_1h_input_tokens,
            cache_read: self.cache_read_input_tokens,
        }
    }
}

/// The model name of a record from a report that was not grouped by model.
pub const UNKNOWN_MODEL: &str = "unknown";

/// One usage record per bucket and group, at the bucket's start, marked as Admin API rows (so
/// the tracker counts their tokens and cost but no requests). Groups without tokens are left out.
pub fn usage_records(buckets: &[UsageBucket]) -> Vec<UsageRecord> {
    let mut records = Vec::new();
    for bucket in buckets {
        for result in &bucket.results {
            let tokens = result.tokens();
            if tokens.total() == 0 {
                continue;
            }
            records.push(UsageRecord {
                service_tier: result.service_tier.clone(),
                ..UsageRecord::new(
                    bucket.starting_at,
                    UsageSource::AdminApi,
                    result
                        .model
                        .clone()
                        .unwrap_or_else(|| UNKNOWN_MODEL.to_owned()),
                    tokens,
                )
            });
        }
    }
    records
}

/// One row of the cost report as the API sends it.
#[derive(Debug, Clone, Deserialize)]
struct CostRow {
    amount: String,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    cost_type: Option<String>,
    #[serde(default)]
    model: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct CostBucket {
    starting_at: DateTime<Utc>,
    ending_at: DateTime<Utc>,
    #[serde(default, deserialize_with = "null_as_default")]
    results: Vec<CostRow>,
}

/// The cost of one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayCost {
    pub starting_at: DateTime<Utc>,
    pub ending_at: DateTime<Utc>,
    pub total: Cents,
}

/// The cost report of a range, summed exactly.
#[derive(Debug, Clone, PartialEq)]
pub struct CostReport {
    /// Everything billed in the range.
    pub total: Cents,
    /// `total` in US dollars.
    pub total_usd: f64,
    /// Every day of the range, in order, including days that cost nothing.
    pub by_day: Vec<DayCost>,
    /// Costs that name a model, per model. Rows without one (some server tools) count only in
    /// `total` and `by_cost_type`.
    pub by_model: BTreeMap<String, Cents>,
    /// Per `cost_type` (`tokens`, `web_search`, `code_execution`).
    pub by_cost_type: BTreeMap<String, Cents>,
}

/// One page of either report.
#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
struct Page<T> {
    #[serde(default = "Vec::new", deserialize_with = "null_as_default")]
    data: Vec<T>,
    #[serde(default)]
    has_more: bool,
    #[serde(default)]
    next_page: Option<String>,
}

/// Reads `null` as the type's default: the reports send `null` where a value is absent.
fn null_as_default<'de, D, T>(deserializer: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

// ----- The client -------------------------------------------------------------------------------

/// Reads the Admin API with an admin key (`sk-ant-admin…`). Its `Debug` shows the key redacted.
#[derive(Debug, Clone)]
pub struct AdminClient {
    http: reqwest::Client,
    base_url: String,
    key: ApiKey,
    policy: RetryPolicy,
    body_limit: u64,
    page_size: Option<u32>,
}

impl AdminClient {
    /// A client for the API at `base_url` (`https://api.anthropic.com`), with the SDKs' retry
    /// policy and the largest page size each report allows.
    pub fn new(http: reqwest::Client, base_url: impl Into<String>, admin_key: ApiKey) -> Self {
        Self {
            http,
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            key: admin_key,
            policy: RetryPolicy::default(),
            body_limit: ADMIN_BODY_LIMIT,
            page_size: None,
        }
    }

    /// Replaces the retry policy (tests shorten its waits).
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Asks for at most `buckets` buckets per page instead of the most each width allows; the
    /// value is kept within 1 and that most. Smaller pages mean more requests for the same data.
    pub fn with_page_size(mut self, buckets: u32) -> Self {
        self.page_size = Some(buckets.max(1));
        self
    }

    /// The Messages usage report from `starting_at` (snapped by the API to the bucket width) to
    /// `ending_at` (the API's default, now, when `None`), every page of it.
    pub async fn usage_report(
        &self,
        starting_at: DateTime<Utc>,
        ending_at: Option<DateTime<Utc>>,
        bucket_width: BucketWidth,
        group_by: &[UsageGroup],
    ) -> Result<Vec<UsageBucket>> {
        let mut query = range_query(starting_at, ending_at);
        query.push(("bucket_width", bucket_width.as_str().to_owned()));
        query.push(("limit", self.page_size_for(bucket_width).to_string()));
        for group in group_by {
            query.push(("group_by[]", group.as_str().to_owned()));
        }
        self.all_pages(USAGE_REPORT_PATH, &query).await
    }

    /// The cost report from `starting_at` to `ending_at`, grouped by description so each row
    /// names its model and cost type, every page of it, summed exactly.
    pub async fn cost_report(
        &self,
        starting_at: DateTime<Utc>,
        ending_at: Option<DateTime<Utc>>,
    ) -> Result<CostReport> {
        let mut query = range_query(starting_at, ending_at);
        query.push(("bucket_width", BucketWidth::Day.as_str().to_owned()));
        query.push(("limit", self.page_size_for(BucketWidth::Day).to_string()));
        query.push(("group_by[]", "description".to_owned()));
        let buckets: Vec<CostBucket> = self.all_pages(COST_REPORT_PATH, &query).await?;

        let mut report = CostReport {
            total: Cents::ZERO,
            total_usd: 0.0,
            by_day: Vec::with_capacity(buckets.len()),
            by_model: BTreeMap::new(),
            by_cost_type: BTreeMap::new(),
        };
        for bucket in buckets {
            let mut day = Cents::ZERO;
            for row in bucket.results {
                if let Some(currency) = row.currency.as_deref() {
                    if !currency.eq_ignore_ascii_case("USD") {
                        return Err(self.unreadable(
                            COST_REPORT_PATH,
                            &format!("an amount in {currency}, not USD"),
                        ));
                    }
                }
                let amount = Cents::parse(&row.amount).ok_or_else(|| {
                    self.unreadable(
                        COST_REPORT_PATH,
                        &format!(
                            "the amount {:?} is not a decimal number of cents",
                            row.amount
                        ),
                    )
                })?;
                day = day.checked_add(amount).ok_or_else(|| {
                    self.unreadable(COST_REPORT_PATH, "the amounts overflow their sum")
                })?;
                if let Some(model) = row.model {
                    let entry = report.by_model.entry(model).or_default();
                    *entry = *entry + amount;
                }
                let cost_type = row.cost_type.unwrap_or_else(|| "unspecified".to_owned());
                let entry = report.by_cost_type.entry(cost_type).or_default();
                *entry = *entry + amount;
            }
            report.total = report.total.checked_add(day).ok_or_else(|| {
                self.unreadable(COST_REPORT_PATH, "the amounts overflow their sum")
            })?;
            report.by_day.push(DayCost {
                starting_at: bucket.starting_at,
                ending_at: bucket.ending_at,
                total: day,
            });
        }
        report.total_usd = report.total.usd();
        Ok(report)
    }

    fn page_size_for(&self, width: BucketWidth) -> u32 {
        let most = width.max_page_size();
        self.page_size.map_or(most, |size| size.clamp(1, most))
    }

    /// Follows `next_page` until `has_more` is false, at most [`MAX_PAGES`] pages.
    async fn all_pages<T: DeserializeOwned>(
        &self,
        path: &'static str,
        query: &[(&'static str, String)],
    ) -> Result<Vec<T>> {
        let mut items = Vec::new();
        let mut page: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut url = reqwest::Url::parse(&format!("{}{path}", self.base_url))
                .map_err(|e| Error::Config(format!("Admin API URL {:?}: {e}", self.base_url)))?;
            {
                let mut pairs = url.query_pairs_mut();
                for (name, value) in query {
                    pairs.append_pair(name, value);
                }
                if let Some(token) = &page {
                    pairs.append_pair("page", token);
                }
            }
            let body = self.get(path, url).await?;
            let answer: Page<T> = serde_json::from_slice(&body)
                .map_err(|e| self.unreadable(path, &format!("unexpected JSON ({e})")))?;
            items.extend(answer.data);
            if !answer.has_more {
                return Ok(items);
            }
            match answer.next_page.filter(|next| !next.is_empty()) {
                // A token that does not move would page forever.
                Some(next) if page.as_ref() != Some(&next) => page = Some(next),
                Some(_) => {
                    return Err(self.unreadable(path, "has_more with the same next_page again"))
                }
                None => return Err(self.unreadable(path, "has_more without a next_page")),
            }
        }
        Err(Error::Http(format!(
            "Admin API GET {path}: still more after {MAX_PAGES} pages; ask for a shorter range \
             or wider buckets"
        )))
    }

    /// One GET with the admin key, retried as the SDKs would; the body of a 2xx, else an error.
    async fn get(&self, path: &'static str, url: reqwest::Url) -> Result<bytes::Bytes> {
        let mut key = HeaderValue::from_str(self.key.expose()).map_err(|_| {
            Error::Config("the admin key has characters that cannot go in a header".to_owned())
        })?;
        // Keeps the key out of reqwest's and hyper's own Debug output of the request.
        key.set_sensitive(true);
        let retried = send_with_retries(&self.policy, true, self.body_limit, || {
            self.http
                .get(url.clone())
                .header("x-api-key", key.clone())
                .header("anthropic-version", ANTHROPIC_VERSION)
                .header(USER_AGENT_HEADER, USER_AGENT)
                .send()
        })
        .await;
        match (&retried.reply, retried.last()) {
            (Some(reply), Some(last))
                if last.outcome == ProbeOutcome::Ok && (200..300).contains(&reply.status) =>
            {
                Ok(reply.body.clone())
            }
            _ => Err(self.failure(path, &retried)),
        }
    }

    /// Says which endpoint failed, with which status and error, after how many attempts.
    fn failure(&self, path: &str, retried: &Retried) -> Error {
        let attempts = match retried.attempts.len() {
            0 | 1 => String::new(),
            n => format!(" after {n} attempts"),
        };
        let text = match (&retried.reply, retried.last()) {
            (Some(reply), Some(last)) => {
                let kind = last.error_type.as_deref().unwrap_or("error");
                let message = last.error_message.as_deref().unwrap_or(&last.detail);
                let request_id = last
                    .request_id
                    .as_deref()
                    .map(|id| format!(" (request-id {id})"))
                    .unwrap_or_default();
                let hint = match reply.status {
                    401 if self.key.expose().starts_with("sk-ant-api") => {
                        "; this is a standard API key, and the Admin API needs an admin key \
                         (sk-ant-admin…), which only organisation admins can create"
                    }
                    401 => "; check the admin key (sk-ant-admin…)",
                    403 => "; the key may not read usage and cost reports",
                    _ => "",
                };
                format!(
                    "Admin API GET {path} answered HTTP {} {kind}: {message}{hint}{attempts}{request_id}",
                    reply.status
                )
            }
            (None, Some(last)) => {
                let status = last
                    .http_status
                    .map(|status| format!(" (HTTP {status})"))
                    .unwrap_or_default();
                format!(
                    "Admin API GET {path} failed{status}: {}{attempts}",
                    last.detail
                )
            }
            _ => format!("Admin API GET {path} failed: {}", retried.stopped),
        };
        Error::Http(self.scrub(text))
    }

    fn unreadable(&self, path: &str, why: &str) -> Error {
        Error::Http(self.scrub(format!("Admin API GET {path}: unreadable answer: {why}")))
    }

    /// Removes the key from text that came (partly) from the server, in case it was echoed.
    fn scrub(&self, text: String) -> String {
        let key = self.key.expose();
        if key.is_empty() || !text.contains(key) {
            text
        } else {
            text.replace(key, "[admin key]")
        }
    }
}

fn range_query(
    starting_at: DateTime<Utc>,
    ending_at: Option<DateTime<Utc>>,
) -> Vec<(&'static str, String)> {
    let mut query = vec![("starting_at", rfc3339(starting_at))];
    if let Some(ending_at) = ending_at {
        query.push(("ending_at", rfc3339(ending_at)));
    }
    query
}

fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

// ----- The poller -------------------------------------------------------------------------------

/// Polls the Admin API every `interval` (at least [`MIN_POLL_INTERVAL`]) until `shutdown`. Each
/// round sends the month-to-date cost as [`Observation::AdminCost`], then the hourly usage
/// buckets of today (UTC) that are final and were not sent before as [`Observation::Usage`].
/// A failed read is logged and tried again next round; the poller stops when the receiver does.
pub async fn run_admin_poller(
    client: AdminClient,
    observations: mpsc::Sender<Observation>,
    interval: Duration,
    shutdown: CancellationToken,
) {
    run_admin_poller_with_clock(client, observations, interval, shutdown, Utc::now).await;
}

/// [`run_admin_poller`] with the wall clock as an input, so tests can choose the day.
pub async fn run_admin_poller_with_clock<C>(
    client: AdminClient,
    observations: mpsc::Sender<Observation>,
    interval: Duration,
    shutdown: CancellationToken,
    clock: C,
) where
    C: Fn() -> DateTime<Utc>,
{
    let interval = interval.max(MIN_POLL_INTERVAL);
    let mut usage_sent_until: Option<DateTime<Utc>> = None;
    loop {
        let round = poll_once(&client, &observations, clock(), &mut usage_sent_until);
        let receiver_open = tokio::select! {
            () = shutdown.cancelled() => return,
            open = round => open,
        };
        if !receiver_open {
            return;
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
    }
}

/// One round; false when the receiver is gone.
async fn poll_once(
    client: &AdminClient,
    observations: &mpsc::Sender<Observation>,
    now: DateTime<Utc>,
    usage_sent_until: &mut Option<DateTime<Utc>>,
) -> bool {
    match client.cost_report(month_start(now), Some(now)).await {
        Ok(report) => {
            let observation = Observation::AdminCost {
                month_to_date_usd: report.total_usd,
                as_of: now,
            };
            if observations.send(observation).await.is_err() {
                return false;
            }
        }
        Err(e) => tracing::warn!("month-to-date cost: {e}"),
    }

    // Only whole hours older than the reporting delay are final; a bucket sent while still
    // filling would never be sent again with the rest of its usage.
    let today = now.duration_trunc(TimeDelta::days(1)).unwrap_or(now);
    let from = usage_sent_until.map_or(today, |sent| sent.max(today));
    let settled = (now - DATA_DELAY)
        .duration_trunc(TimeDelta::hours(1))
        .unwrap_or(now);
    if from >= settled {
        return true;
    }
    let groups = [UsageGroup::Model, UsageGroup::ServiceTier];
    match client
        .usage_report(from, Some(settled), BucketWidth::Hour, &groups)
        .await
    {
        Ok(buckets) => {
            let fresh: Vec<UsageBucket> = buckets
                .into_iter()
                .filter(|bucket| bucket.starting_at >= from && bucket.ending_at <= settled)
                .collect();
            let records = usage_records(&fresh);
            if !records.is_empty()
                && observations
                    .send(Observation::Usage { records })
                    .await
                    .is_err()
            {
                return false;
            }
            *usage_sent_until = Some(settled);
        }
        Err(e) => tracing::warn!("today's usage: {e}"),
    }
    true
}

/// The first day of `now`'s UTC month at 00:00Z.
pub fn month_start(now: DateTime<Utc>) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(now)
}
