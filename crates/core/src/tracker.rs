//! The usage and cost tracker: fed usage records in time order, it answers "how close am I to my
//! tier's limits" (rolling per-minute windows per model class), "what did today and this month
//! cost" (against the tier's monthly spend cap and the user's own budget), and how the user's own
//! traffic fares (429s and 529s over the last minutes). It also decides the usage alerts.
//!
//! Memory is bounded: single requests are kept only for the 60-second window; beyond it the
//! tracker keeps per-minute aggregates for an hour, two days and two months of totals, and the
//! sizes of the last 1,000 requests for the p95.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize, Serializer};

use crate::aggregate::{is_usage, DayZone};
use crate::alerts::{AlertKind, Notification};
use crate::catalog::{Catalog, ClassLimits, SpendCap};
use crate::cost::{cache_savings, cost_of_record, CacheSavings};
use crate::level::Level;
use crate::plan::{Observed, PlanReading, PlanWindowReport, PlanWindows};
use crate::probe::spend_cap_lifts_at;
use crate::ratelimit::RateLimitSnapshot;
use crate::usage::{TokenCounts, UsageRecord, UsageSource};

/// The rolling window of the per-minute limits.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Minutes of the user's own traffic that `own_traffic_health` looks at.
pub const OWN_TRAFFIC_MINUTES: i64 = 5;
/// Minutes of per-minute aggregates kept (for sustained-usage alerts and own traffic).
pub const MINUTES_KEPT: i64 = 60;
/// Request sizes kept for the p95.
pub const REQUEST_SIZES_KEPT: usize = 1_000;

/// Where a cost figure comes from. Admin API figures are the organisation's own bill; the others
/// are computed from tokens with the catalog's prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum CostSource {
    ClaudeCodeLogs,
    AdminApi,
    Gateway,
    Probe,
}

impl From<UsageSource> for CostSource {
    fn from(source: UsageSource) -> Self {
        match source {
            UsageSource::ClaudeCode => CostSource::ClaudeCodeLogs,
            UsageSource::AdminApi => CostSource::AdminApi,
            UsageSource::Gateway => CostSource::Gateway,
            UsageSource::Probe => CostSource::Probe,
        }
    }
}

/// What the tracker is told about the user.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackerConfig {
    /// The tier the user chose (`tier-2`, `start`); `None` identifies it from the rate-limit
    /// headers.
    pub tier: Option<String>,
    /// The user's own monthly budget in USD (UTC calendar month, like the spend cap).
    pub monthly_budget_usd: Option<f64>,
    /// The user's own daily budget in USD ("today" in `day_zone`).
    pub daily_budget_usd: Option<f64>,
    /// The zone that decides what "today" is.
    pub day_zone: DayZone,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        Self {
            tier: None,
            monthly_budget_usd: None,
            daily_budget_usd: None,
            day_zone: DayZone::utc(),
        }
    }
}

/// How the tier was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum TierSource {
    /// The user's setting.
    User,
    /// Matched from the live `-limit` headers.
    Headers,
}

/// The tier the tracker measures against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TierChoice {
    pub key: String,
    /// The display name, or the key when the catalog does not know the tier.
    pub name: String,
    pub chosen_by: TierSource,
    /// False when the user named a tier the catalog does not have (no limits known).
    pub known: bool,
}

/// The latest rate-limit headers seen for a class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LiveLimits {
    pub at: DateTime<Utc>,
    pub snapshot: RateLimitSnapshot,
}

/// One model class over the last 60 seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ClassWindow {
    /// The class (`sonnet-4`), or the canonical model id when the catalog has no class for it.
    pub class: String,
    pub known_class: bool,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub requests: u64,
    /// Input tokens as ITPM counts them: uncached input and cache writes, plus cache reads where
    /// the class's rule says so.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub input_tokens: u64,
    /// All cache reads in the window, counted or not.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub cache_read_tokens: u64,
    pub cache_reads_counted: bool,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub output_tokens: u64,
    /// The tier's limits for the class, when known.
    pub limits: Option<ClassLimits>,
    /// Share of each limit used (1.0 = at the limit), when the limit is known.
    pub requests_fraction: Option<f64>,
    pub input_tokens_fraction: Option<f64>,
    pub output_tokens_fraction: Option<f64>,
    /// The latest headers for this class: what the API itself says is left.
    pub live: Option<LiveLimits>,
}

/// A cost figure with what it may be missing and where it comes from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CostFigure {
    pub usd: f64,
    /// Some tokens had no known price: the figure is a lower bound.
    pub includes_unknown_price: bool,
    /// The source that contributed the most; `None` when nothing was recorded.
    pub source: Option<CostSource>,
    /// Any other sources that contributed.
    pub other_sources: Vec<CostSource>,
    /// For Admin API figures, when the figure was read.
    pub as_of: Option<DateTime<Utc>>,
}

/// The most a reply's headers can trail the newest ones held and still be a late reply (probes
/// overlap, each within its deadline of a minute or so); older means the clock was set back.
pub const LATE_REPLY_AT_MOST: chrono::Duration = chrono::Duration::minutes(10);

/// Totals of one period (today, this month).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PeriodFigures {
    /// `YYYY-MM-DD` (today, in the chosen zone) or `YYYY-MM` (the UTC month).
    pub period: String,
    pub cost: CostFigure,
    /// Requests that succeeded (Admin API buckets are not requests).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub requests: u64,
    pub tokens: TokenCounts,
    /// `cache_read / total_input`; `None` without input.
    pub cache_hit_ratio: Option<f64>,
    pub cache_savings: CacheSavings,
}

/// Spending against a limit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BudgetProgress {
    pub limit_usd: f64,
    pub spent_usd: f64,
    /// `spent / limit`.
    pub fraction: f64,
    pub includes_unknown_price: bool,
}

impl BudgetProgress {
    fn new(limit_usd: f64, cost: &CostFigure) -> Option<Self> {
        (limit_usd > 0.0).then(|| BudgetProgress {
            limit_usd,
            spent_usd: cost.usd,
            fraction: cost.usd / limit_usd,
            includes_unknown_price: cost.includes_unknown_price,
        })
    }
}

/// The user's own traffic over the last minutes, for the health assessment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OwnTraffic {
    /// Every request, failed ones included.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub requests: u64,
    /// 529s.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub overloaded: u64,
    /// 429s.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub rate_limited: u64,
    /// 5xx other than 529.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub server_errors: u64,
    /// The span covered: whole minutes back from the current one, to `now`.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    #[serde(serialize_with = "seconds", deserialize_with = "from_seconds")]
    pub window: Duration,
}

impl OwnTraffic {
    /// Share of 529s, when there was traffic.
    pub fn overloaded_rate(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.overloaded as f64 / self.requests as f64)
    }

    /// Share of 429s, when there was traffic.
    pub fn rate_limited_rate(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.rate_limited as f64 / self.requests as f64)
    }
}

fn seconds<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(duration.as_secs_f64())
}

/// Reads the window back as front ends of the service receive it: seconds, never negative.
fn from_seconds<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let seconds = f64::deserialize(deserializer)?;
    Duration::try_from_secs_f64(seconds).map_err(serde::de::Error::custom)
}

/// Everything the tracker can tell at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TrackerSnapshot {
    pub at: DateTime<Utc>,
    pub tier: Option<TierChoice>,
    /// Per class, the last 60 seconds, sorted by class.
    pub windows: Vec<ClassWindow>,
    pub today: PeriodFigures,
    /// The UTC calendar month; an Admin API month-to-date figure replaces the computed cost.
    pub month: PeriodFigures,
    /// This month against the tier's spend cap, when the cap is a known amount.
    pub monthly_spend_cap: Option<BudgetProgress>,
    pub monthly_budget: Option<BudgetProgress>,
    pub daily_budget: Option<BudgetProgress>,
    /// Today's cost per 1,000 successful requests.
    pub cost_per_1000_requests: Option<CostFigure>,
    /// p95 of `TokenCounts::total` over the last 1,000 requests.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub p95_tokens_per_request: Option<u64>,
    pub own_traffic: OwnTraffic,
    /// When a spend-cap refusal was last seen this UTC month.
    pub spend_cap_reached_at: Option<DateTime<Utc>>,
    /// When that cap lifts (the 1st of next month, 00:00 UTC).
    pub spend_cap_lifts_at: Option<DateTime<Utc>>,
    pub prices_as_of: String,
    pub tiers_as_of: String,
    /// The subscription plan's windows (5-hour session, weekly), from the status-line feed and
    /// the gateway's headers; empty when no reading was ever taken.
    #[serde(default)]
    pub plan: Vec<PlanWindowReport>,
}

/// One request inside the 60-second window.
#[derive(Debug, Clone)]
struct RecentRequest {
    at: DateTime<Utc>,
    class: String,
    tokens: TokenCounts,
    /// False for the extra tokens of a fuller copy of a request already counted.
    counts_request: bool,
}

/// How long a request's ids are remembered to recognise its copies: Claude Code's lines of one
/// response and the gateway's record of the same request arrive within minutes of each other.
const SEEN_FOR: chrono::Duration = chrono::Duration::hours(1);

/// The most request ids remembered, whatever their age: about 5 MB at worst.
const SEEN_MAX: usize = 100_000;

/// What the tracker knows of a record's request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sighting {
    /// Not seen before (or without both ids): count it.
    New,
    /// Seen with at least as many tokens: nothing to add.
    Copy,
    /// Seen with fewer tokens: add these.
    Fuller(TokenCounts),
}

/// The (message id, request id) pairs counted recently, with the tokens counted for each: what
/// lets the tracker (and the metrics) count a request once whichever sources and lines carry it.
#[derive(Debug, Clone, Default)]
pub struct SeenRequests {
    tokens: std::collections::HashMap<u64, TokenCounts>,
    /// Insertion order with each record's time, to forget the oldest first.
    order: VecDeque<(DateTime<Utc>, u64)>,
}

impl SeenRequests {
    fn key(message: &str, request: &str) -> u64 {
        use std::hash::{Hash, Hasher};
        // SipHash with fixed keys: the same pair always hashes alike within a run, and a
        // collision between two real pairs (about 1 in 2^64 / 100,000^2) is negligible.
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (message, request).hash(&mut hasher);
        hasher.finish()
    }

    /// Whether `record` is a new request, a copy of one counted, or a fuller copy, and remembers
    /// it.
    pub fn check(&mut self, record: &UsageRecord) -> Sighting {
        let (Some(message), Some(request)) = (&record.message_id, &record.request_id) else {
            return Sighting::New;
        };
        let key = Self::key(message, request);
        let sighting = match self.tokens.get(&key) {
            None => Sighting::New,
            Some(counted) if record.tokens.total() <= counted.total() => Sighting::Copy,
            Some(counted) => Sighting::Fuller(record.tokens.saturating_sub(counted)),
        };
        match sighting {
            Sighting::New => {
                self.tokens.insert(key, record.tokens);
                self.order.push_back((record.at, key));
            }
            Sighting::Fuller(_) => {
                self.tokens.insert(key, record.tokens);
            }
            Sighting::Copy => {}
        }
        let newest = self.order.back().map(|(at, _)| *at);
        while let Some(&(at, oldest)) = self.order.front() {
            let expired = newest.is_some_and(|newest| newest - at > SEEN_FOR);
            if !expired && self.order.len() <= SEEN_MAX {
                break;
            }
            self.order.pop_front();
            self.tokens.remove(&oldest);
        }
        sighting
    }
}

/// One class in one minute.
#[derive(Debug, Clone, Copy, Default)]
struct ClassMinute {
    requests: u64,
    tokens: TokenCounts,
}

/// One calendar minute.
#[derive(Debug, Clone, Default)]
struct Minute {
    classes: BTreeMap<String, ClassMinute>,
    requests: u64,
    overloaded: u64,
    rate_limited: u64,
    server_errors: u64,
}

/// Totals of a day or a month.
#[derive(Debug, Clone, Default)]
struct Tally {
    tokens: TokenCounts,
    requests: u64,
    cost_by_source: BTreeMap<CostSource, f64>,
    unknown_price: bool,
    savings: CacheSavings,
}

impl Tally {
    fn cost(&self) -> CostFigure {
        let mut sources: Vec<(CostSource, f64)> = self
            .cost_by_source
            .iter()
            .map(|(s, usd)| (*s, *usd))
            .collect();
        // The largest contributor first; ties in declaration order.
        sources.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        CostFigure {
            usd: self.cost_by_source.values().sum(),
            includes_unknown_price: self.unknown_price,
            source: sources.first().map(|(s, _)| *s),
            other_sources: sources.iter().skip(1).map(|(s, _)| *s).collect(),
            as_of: None,
        }
    }

    fn figures(&self, period: String) -> PeriodFigures {
        let total_input = self.tokens.total_input();
        PeriodFigures {
            period,
            cost: self.cost(),
            requests: self.requests,
            tokens: self.tokens,
            cache_hit_ratio: (total_input > 0)
                .then(|| self.tokens.cache_read as f64 / total_input as f64),
            cache_savings: self.savings,
        }
    }
}

/// The usage and cost tracker. Pure: time comes in with the records and as `now`.
#[derive(Debug, Clone)]
pub struct Tracker {
    catalog: Catalog,
    config: TrackerConfig,
    recent: VecDeque<RecentRequest>,
    seen: SeenRequests,
    minutes: BTreeMap<i64, Minute>,
    days: BTreeMap<NaiveDate, Tally>,
    months: BTreeMap<(i32, u32), Tally>,
    request_sizes: VecDeque<u64>,
    live: BTreeMap<String, LiveLimits>,
    admin_month_to_date: Option<(f64, DateTime<Utc>)>,
    spend_cap_seen: Option<DateTime<Utc>>,
    plan: PlanWindows,
}

fn minute_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(60)
}

fn month_of(at: DateTime<Utc>) -> (i32, u32) {
    (at.year(), at.month())
}

fn keep_last<K: Ord + Clone, V>(map: &mut BTreeMap<K, V>, count: usize) {
    while map.len() > count {
        let Some(first) = map.keys().next().cloned() else {
            break;
        };
        map.remove(&first);
    }
}

impl Tracker {
    pub fn new(catalog: Catalog, config: TrackerConfig) -> Self {
        Self {
            catalog,
            config,
            recent: VecDeque::new(),
            seen: SeenRequests::default(),
            minutes: BTreeMap::new(),
            days: BTreeMap::new(),
            months: BTreeMap::new(),
            request_sizes: VecDeque::new(),
            live: BTreeMap::new(),
            admin_month_to_date: None,
            spend_cap_seen: None,
            plan: PlanWindows::default(),
        }
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn config(&self) -> &TrackerConfig {
        &self.config
    }

    /// Changes the settings. Days already tallied keep the zone they were tallied in.
    pub fn set_config(&mut self, config: TrackerConfig) {
        self.config = config;
    }

    /// Takes a plan-window reading (status line or gateway headers); says whether it was new.
    pub fn observe_plan(&mut self, reading: PlanReading) -> Observed {
        self.plan.observe(reading)
    }

    /// The plan windows' readings.
    pub fn plan(&self) -> &PlanWindows {
        &self.plan
    }

    /// Replaces the catalog (after the user edited the override file).
    pub fn set_catalog(&mut self, catalog: Catalog) {
        self.catalog = catalog;
    }

    /// The class a model's usage counts against, and whether the catalog knows it.
    fn class_of(&self, model: &str) -> (String, bool) {
        match self.catalog.model_class(model) {
            Some(class) => (class.to_owned(), true),
            None => (self.catalog.normalize(model), false),
        }
    }

    /// Adds one record. Records should come in time order; a late one still counts toward its
    /// minute, day and month while those are kept.
    ///
    /// One API request can arrive more than once: Claude Code writes several lines per response
    /// with a growing `usage` (a later batch may carry a fuller copy), and a request Claude Code
    /// sends through the local gateway is seen by both sources. Records with a message id and a
    /// request id are therefore counted once per pair: a copy adds nothing, and a fuller copy
    /// adds only the tokens the earlier one lacked.
    pub fn record(&mut self, record: &UsageRecord) {
        match self.seen.check(record) {
            Sighting::New => self.count(record, true),
            Sighting::Copy => {}
            Sighting::Fuller(extra) => {
                let more = UsageRecord {
                    tokens: extra,
                    ..record.clone()
                };
                self.count(&more, false);
            }
        }
    }

    /// Counts a record's tokens and cost; `new_request` says whether it is also another request
    /// (false for the extra tokens of a fuller copy).
    fn count(&mut self, record: &UsageRecord, new_request: bool) {
        let at = record.at;
        let minute_key = minute_of(at);
        // Admin API rows are aggregated buckets, not single requests.
        let per_request = record.source != UsageSource::AdminApi;
        let is_request = per_request && new_request;
        let minute = self.minutes.entry(minute_key).or_default();
        if is_request {
            minute.requests += 1;
            match record.status {
                Some(529) => minute.overloaded += 1,
                Some(429) => minute.rate_limited += 1,
                Some(500..=599) => minute.server_errors += 1,
                _ => {}
            }
        }
        if let Some(latest) = self.minutes.keys().next_back().copied() {
            self.minutes.retain(|key, _| *key > latest - MINUTES_KEPT);
        }
        if !is_usage(record) || record.is_error() {
            return;
        }

        let (class, _) = self.class_of(&record.model);
        if let Some(minute) = self.minutes.get_mut(&minute_key) {
            let class_minute = minute.classes.entry(class.clone()).or_default();
            class_minute.tokens.add(&record.tokens);
            if is_request {
                class_minute.requests += 1;
            }
        }
        if per_request {
            self.recent.push_back(RecentRequest {
                at,
                class,
                tokens: record.tokens,
                counts_request: is_request,
            });
            while self
                .recent
                .front()
                .is_some_and(|r| at - r.at >= chrono::Duration::seconds(60))
            {
                self.recent.pop_front();
            }
        }
        if is_request {
            self.request_sizes.push_back(record.tokens.total());
            while self.request_sizes.len() > REQUEST_SIZES_KEPT {
                self.request_sizes.pop_front();
            }
        }

        let cost = cost_of_record(record, &self.catalog);
        let savings = cache_savings(
            &record.tokens,
            &record.model,
            record.service_tier.as_deref(),
            &self.catalog,
        );
        let source = CostSource::from(record.source);
        let day = self.config.day_zone.date_of(at);
        for tally in [
            self.days.entry(day).or_default(),
            self.months.entry(month_of(at)).or_default(),
        ] {
            tally.tokens.add(&record.tokens);
            if is_request {
                tally.requests += 1;
            }
            *tally.cost_by_source.entry(source).or_default() += cost.usd;
            tally.unknown_price |= cost.unknown_price;
            tally.savings.add(&savings);
        }
        keep_last(&mut self.days, 2);
        keep_last(&mut self.months, 2);
    }

    /// Remembers the rate-limit headers of a reply for `model`: its class's live limits, and the
    /// evidence for identifying the tier. Empty snapshots are ignored.
    pub fn observe_ratelimit(
        &mut self,
        at: DateTime<Utc>,
        model: &str,
        snapshot: &RateLimitSnapshot,
    ) {
        if snapshot.is_empty() {
            return;
        }
        let (class, _) = self.class_of(model);
        match self.live.get(&class) {
            // An older reply's headers never replace newer ones, but a late reply is late by a
            // probe's deadline at most: headers far "newer" than these were read before the clock
            // was set back, and would otherwise stand for an hour (issue 16, clock jumps).
            Some(existing) if existing.at > at && existing.at - at <= LATE_REPLY_AT_MOST => {}
            _ => {
                self.live.insert(
                    class,
                    LiveLimits {
                        at,
                        snapshot: snapshot.clone(),
                    },
                );
            }
        }
    }

    /// A request (the user's or a probe) was refused because the monthly spend cap is reached.
    pub fn spend_cap_reached(&mut self, at: DateTime<Utc>) {
        self.spend_cap_seen = self.spend_cap_seen.max(Some(at));
    }

    /// The Admin API's cost report for the current month: authoritative for month-to-date.
    pub fn set_admin_month_to_date(&mut self, usd: f64, as_of: DateTime<Utc>) {
        if usd.is_finite() && usd >= 0.0 {
            self.admin_month_to_date = Some((usd, as_of));
        }
    }

    /// The tier in use: the user's choice, else the one every class's live headers agree on.
    pub fn tier(&self) -> Option<TierChoice> {
        if let Some(key) = &self.config.tier {
            return Some(match self.catalog.tier(key) {
                Some(tier) => TierChoice {
                    key: tier.key.clone(),
                    name: tier.name.clone(),
                    chosen_by: TierSource::User,
                    known: true,
                },
                None => TierChoice {
                    key: key.clone(),
                    name: key.clone(),
                    chosen_by: TierSource::User,
                    known: false,
                },
            });
        }
        let identified: BTreeSet<String> = self
            .live
            .iter()
            .filter_map(|(class, live)| self.catalog.identify_tier(&live.snapshot, class))
            .collect();
        if identified.len() != 1 {
            return None;
        }
        let key = identified.into_iter().next()?;
        let tier = self.catalog.tier(&key)?;
        Some(TierChoice {
            key: tier.key.clone(),
            name: tier.name.clone(),
            chosen_by: TierSource::Headers,
            known: true,
        })
    }

    fn limits_of(&self, tier: Option<&TierChoice>, class: &str) -> Option<&ClassLimits> {
        tier.and_then(|t| self.catalog.limits(&t.key, class))
    }

    fn counted_input(&self, tier: Option<&TierChoice>, class: &str, tokens: &TokenCounts) -> u64 {
        let counted = tokens.input + tokens.cache_write();
        if self
            .catalog
            .cache_reads_count_toward_itpm(tier.map(|t| t.key.as_str()), class)
        {
            counted + tokens.cache_read
        } else {
            counted
        }
    }

    /// Per class, the last 60 seconds up to `now` (a request exactly 60 s old is out).
    pub fn windows(&self, now: DateTime<Utc>) -> Vec<ClassWindow> {
        let tier = self.tier();
        let start = now - chrono::Duration::seconds(60);
        let mut sums: BTreeMap<&str, (u64, TokenCounts)> = BTreeMap::new();
        for request in &self.recent {
            // Every class seen within the last minute of records is listed, at zero once its
            // requests have left the window.
            let entry = sums.entry(request.class.as_str()).or_default();
            if request.at > start && request.at <= now {
                entry.0 += u64::from(request.counts_request);
                entry.1.add(&request.tokens);
            }
        }
        for class in self.live.keys() {
            sums.entry(class.as_str()).or_default();
        }
        sums.into_iter()
            .map(|(class, (requests, tokens))| {
                let limits = self.limits_of(tier.as_ref(), class).cloned();
                let cache_reads_counted = self
                    .catalog
                    .cache_reads_count_toward_itpm(tier.as_ref().map(|t| t.key.as_str()), class);
                let input_tokens = self.counted_input(tier.as_ref(), class, &tokens);
                let fraction = |used: u64, limit: Option<u64>| {
                    limit.filter(|l| *l > 0).map(|l| used as f64 / l as f64)
                };
                ClassWindow {
                    class: class.to_owned(),
                    known_class: self.catalog.class(class).is_some()
                        || self
                            .catalog
                            .models()
                            .any(|m| m.class.as_deref() == Some(class)),
                    requests,
                    input_tokens,
                    cache_read_tokens: tokens.cache_read,
                    cache_reads_counted,
                    output_tokens: tokens.output,
                    requests_fraction: fraction(
                        requests,
                        limits.as_ref().and_then(|l| l.requests_per_minute),
                    ),
                    input_tokens_fraction: fraction(
                        input_tokens,
                        limits.as_ref().and_then(|l| l.input_tokens_per_minute),
                    ),
                    output_tokens_fraction: fraction(
                        tokens.output,
                        limits.as_ref().and_then(|l| l.output_tokens_per_minute),
                    ),
                    limits,
                    live: self.live.get(class).cloned(),
                }
            })
            .collect()
    }

    /// The user's own traffic over the current minute and the four before it.
    pub fn own_traffic_health(&self, now: DateTime<Utc>) -> OwnTraffic {
        let current = minute_of(now);
        let first = current - (OWN_TRAFFIC_MINUTES - 1);
        let mut traffic = OwnTraffic::default();
        for (_, minute) in self.minutes.range(first..=current) {
            traffic.requests += minute.requests;
            traffic.overloaded += minute.overloaded;
            traffic.rate_limited += minute.rate_limited;
            traffic.server_errors += minute.server_errors;
        }
        let since = now.timestamp() - first * 60;
        traffic.window = Duration::from_secs(u64::try_from(since).unwrap_or(0))
            + Duration::from_nanos(u64::from(now.timestamp_subsec_nanos()));
        traffic
    }

    /// The share of a per-minute limit one class used in one calendar minute; `None` when the
    /// limit is not known.
    pub fn minute_usage(&self, minute: i64, class: &str, limit: LimitKind) -> Option<f64> {
        let tier = self.tier();
        let limits = self.limits_of(tier.as_ref(), class)?;
        let cap = match limit {
            LimitKind::Requests => limits.requests_per_minute,
            LimitKind::InputTokens => limits.input_tokens_per_minute,
            LimitKind::OutputTokens => limits.output_tokens_per_minute,
        }
        .filter(|cap| *cap > 0)?;
        let used = self
            .minutes
            .get(&minute)
            .and_then(|m| m.classes.get(class))
            .map_or(0, |c| match limit {
                LimitKind::Requests => c.requests,
                LimitKind::InputTokens => self.counted_input(tier.as_ref(), class, &c.tokens),
                LimitKind::OutputTokens => c.tokens.output,
            });
        Some(used as f64 / cap as f64)
    }

    /// Today's figures (in the configured zone).
    fn today(&self, now: DateTime<Utc>) -> PeriodFigures {
        let day = self.config.day_zone.date_of(now);
        self.days
            .get(&day)
            .cloned()
            .unwrap_or_default()
            .figures(day.format("%Y-%m-%d").to_string())
    }

    /// This UTC month's figures, with the Admin API's cost when it is for this month.
    fn month(&self, now: DateTime<Utc>) -> PeriodFigures {
        let month = month_of(now);
        let mut figures = self
            .months
            .get(&month)
            .cloned()
            .unwrap_or_default()
            .figures(format!("{:04}-{:02}", month.0, month.1));
        if let Some((usd, as_of)) = self.admin_month_to_date {
            if month_of(as_of) == month {
                figures.cost = CostFigure {
                    usd,
                    includes_unknown_price: false,
                    source: Some(CostSource::AdminApi),
                    other_sources: Vec::new(),
                    as_of: Some(as_of),
                };
            }
        }
        figures
    }

    fn monthly_cap(&self, tier: Option<&TierChoice>) -> Option<f64> {
        match self.catalog.tier(&tier?.key)?.monthly_spend_cap {
            SpendCap::Usd(usd) => Some(usd),
            SpendCap::Unlimited | SpendCap::Unknown => None,
        }
    }

    fn spend_cap_this_month(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.spend_cap_seen
            .filter(|seen| month_of(*seen) == month_of(now) && *seen <= now)
    }

    /// Everything at `now`.
    pub fn snapshot(&self, now: DateTime<Utc>) -> TrackerSnapshot {
        let tier = self.tier();
        let today = self.today(now);
        let month = self.month(now);
        let sizes: Vec<u64> = self.request_sizes.iter().copied().collect();
        let spend_cap_reached_at = self.spend_cap_this_month(now);
        TrackerSnapshot {
            at: now,
            windows: self.windows(now),
            monthly_spend_cap: self
                .monthly_cap(tier.as_ref())
                .and_then(|cap| BudgetProgress::new(cap, &month.cost)),
            monthly_budget: self
                .config
                .monthly_budget_usd
                .and_then(|b| BudgetProgress::new(b, &month.cost)),
            daily_budget: self
                .config
                .daily_budget_usd
                .and_then(|b| BudgetProgress::new(b, &today.cost)),
            cost_per_1000_requests: (today.requests > 0).then(|| CostFigure {
                usd: today.cost.usd / today.requests as f64 * 1000.0,
                ..today.cost.clone()
            }),
            p95_tokens_per_request: crate::health::percentile(&sizes, 95),
            own_traffic: self.own_traffic_health(now),
            spend_cap_lifts_at: spend_cap_reached_at.and_then(spend_cap_lifts_at),
            spend_cap_reached_at,
            prices_as_of: self.catalog.as_of.prices.clone(),
            tiers_as_of: self.catalog.as_of.tiers.clone(),
            plan: self.plan.report(now),
            tier,
            today,
            month,
        }
    }
}

/// The three per-minute limits of a class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKind {
    Requests,
    InputTokens,
    OutputTokens,
}

impl LimitKind {
    pub const ALL: [LimitKind; 3] = [
        LimitKind::Requests,
        LimitKind::InputTokens,
        LimitKind::OutputTokens,
    ];

    /// The spelling of the Rate Limits API (`requests_per_minute`).
    pub fn as_str(self) -> &'static str {
        match self {
            LimitKind::Requests => "requests_per_minute",
            LimitKind::InputTokens => "input_tokens_per_minute",
            LimitKind::OutputTokens => "output_tokens_per_minute",
        }
    }

    fn words(self) -> &'static str {
        match self {
            LimitKind::Requests => "requests",
            LimitKind::InputTokens => "input tokens",
            LimitKind::OutputTokens => "output tokens",
        }
    }
}

/// When usage alerts fire.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageAlertPolicy {
    /// Percentages of a limit that raise an alert, e.g. 80 and 95.
    pub thresholds: Vec<u32>,
    /// A per-minute limit must be above a threshold in this many completed minutes in a row.
    pub sustained_minutes: u32,
    /// A crossing re-arms once usage is this many percentage points below its threshold.
    pub rearm_margin_percent: u32,
    /// The same alert is not raised again within this time, even after re-arming.
    pub cooldown: chrono::Duration,
}

impl Default for UsageAlertPolicy {
    fn default() -> Self {
        Self {
            thresholds: vec![80, 95],
            sustained_minutes: 3,
            rearm_margin_percent: 5,
            cooldown: chrono::Duration::minutes(30),
        }
    }
}

/// What the usage alerting remembers: which crossings are armed, and when each alert was sent.
#[derive(Debug, Clone, Default)]
pub struct UsageAlerts {
    /// `measure:percent` keys that crossed and have not fallen back yet.
    crossed: BTreeSet<String>,
    sent: BTreeMap<String, DateTime<Utc>>,
    /// Plan-window crossings, once per window instance and threshold, with when they fired.
    plan_crossed: BTreeMap<String, DateTime<Utc>>,
}

/// One thing measured against thresholds.
struct Measure {
    key: String,
    /// The value that must reach a threshold (for per-minute limits, the lowest of the sustained
    /// minutes).
    level: f64,
    /// The value that must fall below threshold minus margin to re-arm (the latest reading).
    latest: f64,
    title: Box<dyn Fn(u32) -> String>,
    body: String,
}

fn usd(amount: f64) -> String {
    format!("${amount:.2}")
}

impl UsageAlerts {
    /// The usage notifications due at `now`: 80% / 95% of a per-minute limit sustained, of the
    /// monthly spend cap, of the user's budgets, and a spend cap reached.
    pub fn decide(
        &mut self,
        policy: &UsageAlertPolicy,
        tracker: &Tracker,
        now: DateTime<Utc>,
    ) -> Vec<Notification> {
        let mut out = Vec::new();
        let snapshot = tracker.snapshot(now);
        let tier_name = snapshot
            .tier
            .as_ref()
            .map(|t| t.name.clone())
            .unwrap_or_default();
        let mut measures = Vec::new();

        // Per-minute limits, over completed minutes only.
        let current = minute_of(now);
        let sustained = i64::from(policy.sustained_minutes.max(1));
        let classes: BTreeSet<String> = tracker
            .minutes
            .values()
            .flat_map(|m| m.classes.keys().cloned())
            .collect();
        for class in &classes {
            for limit in LimitKind::ALL {
                let readings: Option<Vec<f64>> = (1..=sustained)
                    .map(|back| tracker.minute_usage(current - back, class, limit))
                    .collect();
                let Some(readings) = readings else { continue };
                let lowest = readings.iter().copied().fold(f64::INFINITY, f64::min);
                let latest = readings.first().copied().unwrap_or_default();
                let class_name = class.clone();
                let tier_name = tier_name.clone();
                measures.push(Measure {
                    key: format!("usage:{class}:{}", limit.as_str()),
                    level: lowest,
                    latest,
                    title: Box::new(move |percent| {
                        format!(
                            "{class_name}: {percent}% of the {} limit",
                            limit.words().trim_end_matches('s')
                        )
                    }),
                    body: format!(
                        "{class} used at least {:.0}% of its {tier_name} {} per minute in each of the last {sustained} minutes.",
                        lowest * 100.0,
                        limit.words(),
                    ),
                });
            }
        }

        let lifts = spend_cap_lifts_at(now)
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default();
        let at_least = |cost: &CostFigure| {
            if cost.includes_unknown_price {
                "at least "
            } else {
                ""
            }
        };
        if let Some(cap) = snapshot.monthly_spend_cap {
            let body = format!(
                "{}{} of the {} monthly spend cap ({tier_name}) spent this month; it resets on {lifts}.",
                at_least(&snapshot.month.cost),
                usd(cap.spent_usd),
                usd(cap.limit_usd),
            );
            measures.push(Measure {
                key: "spend:monthly_cap".to_owned(),
                level: cap.fraction,
                latest: cap.fraction,
                title: Box::new(|percent| format!("{percent}% of the monthly spend cap")),
                body,
            });
        }
        if let Some(budget) = snapshot.monthly_budget {
            measures.push(Measure {
                key: "spend:monthly_budget".to_owned(),
                level: budget.fraction,
                latest: budget.fraction,
                title: Box::new(|percent| format!("{percent}% of your monthly budget")),
                body: format!(
                    "{}{} of your {} budget spent this month (UTC).",
                    at_least(&snapshot.month.cost),
                    usd(budget.spent_usd),
                    usd(budget.limit_usd)
                ),
            });
        }
        if let Some(budget) = snapshot.daily_budget {
            measures.push(Measure {
                key: "spend:daily_budget".to_owned(),
                level: budget.fraction,
                latest: budget.fraction,
                title: Box::new(|percent| format!("{percent}% of your daily budget")),
                body: format!(
                    "{}{} of your {} budget spent today.",
                    at_least(&snapshot.today.cost),
                    usd(budget.spent_usd),
                    usd(budget.limit_usd)
                ),
            });
        }

        for measure in measures {
            self.threshold_alert(policy, &measure, now, &mut out);
        }

        if let Some(seen) = snapshot.spend_cap_reached_at {
            let key = format!("spend_cap:{}", seen.format("%Y-%m"));
            if self.crossed.insert(key.clone()) && self.fresh(policy, &key, now) {
                out.push(Notification {
                    kind: AlertKind::SpendCapReached,
                    level: Level::Operational,
                    title: "Monthly spend cap reached".to_owned(),
                    body: format!(
                        "The API refuses requests until the cap lifts on {}.",
                        snapshot
                            .spend_cap_lifts_at
                            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                            .unwrap_or(lifts)
                    ),
                    incident_id: None,
                    key,
                    model: None,
                });
            }
        }
        self.plan_alerts(tracker, &snapshot.plan, now, &mut out);
        self.forget_old(policy, now);
        out
    }

    /// Marks the crossings the current plan readings show as announced, without alerting: used
    /// for readings read back from the store at start, which were announced before the restart.
    pub fn mark_plan_seen(&mut self, tracker: &Tracker, now: DateTime<Utc>) {
        for window in tracker.plan.report(now) {
            let Some(used) = window.used_percent else {
                continue;
            };
            for percent in crate::plan::ALERT_PERCENTS {
                if used + 1e-9 >= f64::from(percent) {
                    self.plan_crossed
                        .entry(crate::plan::alert_key(&window.last_reading, percent))
                        .or_insert(now);
                }
            }
        }
    }

    /// 80 %, 95 % and 100 % of a plan window, once per window instance and crossing: a window
    /// does not fall back within its instance, so there is nothing to re-arm, and the next
    /// instance has keys of its own. Stale readings never alert.
    fn plan_alerts(
        &mut self,
        tracker: &Tracker,
        plan: &[PlanWindowReport],
        now: DateTime<Utc>,
        out: &mut Vec<Notification>,
    ) {
        let zone = &tracker.config.day_zone;
        for window in plan {
            let Some(used) = window.used_percent else {
                continue;
            };
            let mut newest = None;
            for percent in crate::plan::ALERT_PERCENTS {
                if used + 1e-9 < f64::from(percent) {
                    continue;
                }
                let key = crate::plan::alert_key(&window.last_reading, percent);
                if !self.plan_crossed.contains_key(&key) {
                    self.plan_crossed.insert(key.clone(), now);
                    newest = Some((percent, key));
                }
            }
            let Some((percent, key)) = newest else {
                continue;
            };
            let mut body = crate::plan::window_line(window, now, zone);
            if let Some(pace) = crate::plan::pace_line(window, now, zone) {
                body.push_str("; ");
                body.push_str(&pace);
            }
            body.push_str(&format!(
                " (from the {}).",
                crate::plan::source_text(&window.last_reading, zone)
            ));
            out.push(Notification {
                kind: AlertKind::UsageThreshold,
                level: Level::Operational,
                title: if percent >= 100 {
                    format!("{} limit reached", window.label)
                } else {
                    format!("{}: {percent} % of your plan's limit", window.label)
                },
                body,
                incident_id: None,
                key,
                model: None,
            });
        }
    }

    fn threshold_alert(
        &mut self,
        policy: &UsageAlertPolicy,
        measure: &Measure,
        now: DateTime<Utc>,
        out: &mut Vec<Notification>,
    ) {
        let mut thresholds = policy.thresholds.clone();
        thresholds.sort_unstable();
        // Re-arm the crossings the latest reading has fallen clearly below.
        for percent in &thresholds {
            let key = format!("{}:{percent}", measure.key);
            let rearm_below =
                f64::from(percent.saturating_sub(policy.rearm_margin_percent)) / 100.0;
            if measure.latest < rearm_below {
                self.crossed.remove(&key);
            }
        }
        // The highest threshold newly crossed speaks for the lower ones crossed with it.
        let mut newest = None;
        for percent in &thresholds {
            let key = format!("{}:{percent}", measure.key);
            if measure.level >= f64::from(*percent) / 100.0 && self.crossed.insert(key.clone()) {
                newest = Some((*percent, key));
            }
        }
        if let Some((percent, key)) = newest {
            if self.fresh(policy, &key, now) {
                out.push(Notification {
                    kind: AlertKind::UsageThreshold,
                    level: Level::Operational,
                    title: (measure.title)(percent),
                    body: measure.body.clone(),
                    incident_id: None,
                    key,
                    model: None,
                });
            }
        }
    }

    /// True (and remembered) when the key was not sent within the cooldown.
    fn fresh(&mut self, policy: &UsageAlertPolicy, key: &str, now: DateTime<Utc>) -> bool {
        if self
            .sent
            .get(key)
            .is_some_and(|at| now - *at < policy.cooldown)
        {
            return false;
        }
        self.sent.insert(key.to_owned(), now);
        true
    }

    fn forget_old(&mut self, policy: &UsageAlertPolicy, now: DateTime<Utc>) {
        let horizon = policy.cooldown.max(chrono::Duration::days(1));
        self.sent.retain(|_, at| now - *at < horizon);
        // Spend-cap crossings of past months can go.
        let this_month = format!("spend_cap:{}", now.format("%Y-%m"));
        self.crossed
            .retain(|key| !key.starts_with("spend_cap:") || *key == this_month);
        // A week-long window's crossings must outlive the week, or its 80 % would fire again.
        self.plan_crossed
            .retain(|_, at| now - *at < chrono::Duration::days(8));
    }
}
