//! Prometheus metrics: the engine's verdicts, probes, the gateway's traffic, tokens, cost and
//! headroom as one registry (`prometheus-client`), and the `/metrics` endpoint that serves it in
//! the OpenMetrics text format (or Prometheus' text format 0.0.4 for a scraper that asks only for
//! that).
//!
//! Names follow Prometheus' rules (prefix `claude_status_`, base units, `_total` counters,
//! `_ratio` for 0–1). The histograms and the token counter follow the semantics, units, buckets
//! and attribute names of the OpenTelemetry GenAI conventions v1.41.1
//! (`gen_ai.client.operation.duration`, `…time_to_first_chunk`, `gen_ai.client.token.usage`),
//! but not their dotted names, which Prometheus cannot hold.
//!
//! Two kinds of series:
//! - **Gauges of the current state** (levels, the status page, budgets, plan windows, headroom)
//!   are read at scrape time from the latest `Snapshot`, so they can never disagree with what the
//!   tray, the dashboard and `check` show.
//! - **Counters and histograms** count what this process saw happen since it started: each probe,
//!   each exchange through the gateway, each request of the user's own traffic. History read back
//!   at start (the month's records the tracker catches up on) is not counted again, or every
//!   restart would look like a burst of spend to `increase()`.
//!
//! Label cardinality is bounded: models are normalised through the catalog, at most
//! [`MAX_UNKNOWN_MODELS`] models the catalog does not know get a label of their own, at most
//! [`MAX_MODELS`] in all, and the rest are folded into `other`.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use claude_status_core::catalog::Catalog;
use claude_status_core::cost::cost_of_record;
use claude_status_core::health::{ProbeKind, ProbeResult};
use claude_status_core::level::Level;
use claude_status_core::ratelimit::{RateLimitBucket, RateLimitSnapshot};
use claude_status_core::report::Snapshot;
use claude_status_core::tracker::{SeenRequests, Sighting};
use claude_status_core::usage::{TokenCounts, UsageRecord, UsageSource};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};
use tokio::sync::watch;

mod serve;

pub use serve::{exposition, serve, Exposition, MetricsServer, MAX_SCRAPES};

/// The OpenMetrics text format's content type.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The Prometheus text format's content type (version 0.0.4).
pub const PROMETHEUS_TEXT_CONTENT_TYPE: &str =
    prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// At most this many models the catalog does not know get a label of their own; the next ones
/// are counted under `other`. A client can send any string as `model`, so without a bound one
/// buggy script could create a series per request.
pub const MAX_UNKNOWN_MODELS: usize = 10;

/// At most this many distinct model labels in all, known models included.
pub const MAX_MODELS: usize = 64;

/// At most this many status-page components are exported (the Claude page has about ten).
pub const MAX_COMPONENTS: usize = 32;

/// At most this many plan windows are exported (Claude's plans have two or three).
pub const MAX_WINDOWS: usize = 8;

/// The label of the models folded together.
pub const OTHER_MODEL: &str = "other";

/// A model label longer than this, or with characters a model id never has, is folded at once.
const MAX_MODEL_LABEL: usize = 64;

/// A rate-limit reading older than this is not exported: headroom changes by the second, and an
/// old figure shown as current would mislead an alert.
const RATELIMIT_FRESH: chrono::Duration = chrono::Duration::minutes(10);

/// The buckets of `gen_ai.client.operation.duration` (OpenTelemetry GenAI v1.41.1): 0.01 s
/// doubling to 81.92 s.
pub const DURATION_BUCKETS: [f64; 14] = [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];

/// The buckets of `claude_status_gateway_request_input_tokens`: 64 tokens doubling to 2,097,152
/// (16 buckets, past the largest context window). Doubling, because its spike rule compares a
/// p95 with twice its median: a doubling moves the p95 by one bucket, and `histogram_quantile`
/// interpolates inside it.
pub const INPUT_TOKEN_BUCKETS: [f64; 16] = [
    64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0, 8192.0, 16384.0, 32768.0, 65536.0, 131072.0,
    262144.0, 524288.0, 1048576.0, 2097152.0,
];

/// Every level, as exported.
const LEVELS: [Level; 7] = Level::ALL;

/// The status page's indicators, as exported (an unknown value counts as `unknown`).
const INDICATORS: [&str; 6] = [
    "none",
    "minor",
    "major",
    "critical",
    "maintenance",
    "unknown",
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProbeLabels {
    probe: &'static str,
    model: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProbeTimeLabels {
    probe: &'static str,
    model: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModelLabels {
    model: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GatewayLabels {
    model: String,
    status_class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FallbackLabels {
    model: String,
    /// A chain entry from the configuration, so bounded by it (at most 8).
    target: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TargetLabels {
    target: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GatewayTimeLabels {
    model: String,
    stream: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    model: String,
    r#type: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabels {
    model: String,
    source: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

fn input_token_histogram() -> Histogram {
    Histogram::new(INPUT_TOKEN_BUCKETS)
}

/// The metrics of one process: register once, feed from the engine's sources, serve with
/// [`serve`]. Cheap to share (`Arc`); every update is a few atomic operations and, for usage
/// records, one short lock.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    probe_results: Family<ProbeLabels, Counter>,
    probe_duration: HistogramFamily<ProbeTimeLabels>,
    probe_ttft: HistogramFamily<ModelLabels>,
    gateway_requests: Family<GatewayLabels, Counter>,
    fallbacks: Family<FallbackLabels, Counter>,
    fallback_cost: Family<TargetLabels, Counter<f64, AtomicU64>>,
    gateway_duration: HistogramFamily<GatewayTimeLabels>,
    gateway_ttft: HistogramFamily<ModelLabels>,
    gateway_input: HistogramFamily<ModelLabels>,
    tokens: Family<TokenLabels, Counter>,
    cost: Family<SourceLabels, Counter<f64, AtomicU64>>,
    requests: Family<SourceLabels, Counter>,
    unpriced: Family<ModelLabels, Counter>,
    shared: Arc<Shared>,
}

/// What the scrape-time collector and the counters share.
#[derive(Debug)]
struct Shared {
    /// The latest verdict, when an engine runs in this process (not in a bare `proxy`).
    snapshot: Mutex<Option<watch::Receiver<Snapshot>>>,
    /// The newest rate-limit reading of the probe or the gateway.
    ratelimit: Mutex<Option<(DateTime<Utc>, RateLimitSnapshot)>>,
    /// Whether Claude Code's transcripts are counted too: only then can a request arrive twice
    /// (from the gateway and from its transcript), so only then are requests remembered to
    /// count them once. A gateway alone (`proxy`) remembers nothing, and its memory stays flat
    /// at any rate of requests.
    two_sources: std::sync::atomic::AtomicBool,
    counting: Mutex<Counting>,
}

/// The state that decides labels and what counts once.
#[derive(Debug)]
struct Counting {
    catalog: Arc<Catalog>,
    models: ModelLabeler,
    seen: SeenRequests,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new(Arc::new(Catalog::shared().clone()))
    }
}

impl Metrics {
    /// A registry with every series, normalising and pricing models with `catalog`.
    pub fn new(catalog: Arc<Catalog>) -> Metrics {
        let shared = Arc::new(Shared {
            snapshot: Mutex::new(None),
            ratelimit: Mutex::new(None),
            two_sources: std::sync::atomic::AtomicBool::new(false),
            counting: Mutex::new(Counting {
                catalog,
                models: ModelLabeler::default(),
                seen: SeenRequests::default(),
            }),
        });
        let mut registry = Registry::with_prefix("claude_status");
        let probe_results = Family::<ProbeLabels, Counter>::default();
        registry.register(
            "probe_results",
            "Probes by kind (reachability: GET /v1/models; streaming: a one-token POST \
             /v1/messages per followed model), model and outcome",
            probe_results.clone(),
        );
        let probe_duration: HistogramFamily<ProbeTimeLabels> =
            Family::new_with_constructor(duration_histogram);
        registry.register_with_unit(
            "probe_duration",
            "Time to a probe's complete answer (reachability) or response headers (streaming), \
             as gen_ai.client.operation.duration",
            Unit::Seconds,
            probe_duration.clone(),
        );
        let probe_ttft: HistogramFamily<ModelLabels> =
            Family::new_with_constructor(duration_histogram);
        registry.register_with_unit(
            "probe_time_to_first_token",
            "Time to the streaming probe's first content delta, as \
             gen_ai.client.operation.time_to_first_chunk",
            Unit::Seconds,
            probe_ttft.clone(),
        );
        let gateway_requests = Family::<GatewayLabels, Counter>::default();
        registry.register(
            "gateway_requests",
            "Messages exchanges through the local gateway by model and status class (2xx, 4xx, \
             429, 5xx, 529, error; the classes are disjoint)",
            gateway_requests.clone(),
        );
        let fallbacks = Family::<FallbackLabels, Counter>::default();
        registry.register(
            "gateway_fallbacks",
            "Requests the gateway sent to another provider of its fallback chain, by the Claude \
             model asked for, the target and the outcome (served, failed, not_translated: due \
             there but not translatable, so never sent)",
            fallbacks.clone(),
        );
        let fallback_cost = Family::<TargetLabels, Counter<f64, AtomicU64>>::default();
        registry.register_with_unit(
            "gateway_fallback_cost",
            "List-price cost in US dollars of the answers other providers served, by target, \
             from the same price table as Claude's (unpriced targets add nothing)",
            Unit::Other("usd".to_owned()),
            fallback_cost.clone(),
        );
        let gateway_duration: HistogramFamily<GatewayTimeLabels> =
            Family::new_with_constructor(duration_histogram);
        registry.register_with_unit(
            "gateway_request_duration",
            "Time from a request reaching the gateway to the end of its answer, as \
             gen_ai.client.operation.duration; stream says whether the answer was streamed",
            Unit::Seconds,
            gateway_duration.clone(),
        );
        let gateway_ttft: HistogramFamily<ModelLabels> =
            Family::new_with_constructor(duration_histogram);
        registry.register_with_unit(
            "gateway_time_to_first_token",
            "Time from a streamed request reaching the gateway to its first content delta, as \
             gen_ai.client.operation.time_to_first_chunk",
            Unit::Seconds,
            gateway_ttft.clone(),
        );
        let gateway_input: HistogramFamily<ModelLabels> =
            Family::new_with_constructor(input_token_histogram);
        registry.register_with_unit(
            "gateway_request_input",
            "Input tokens of each successful (2xx) request through the gateway (uncached input, \
             cache writes and cache reads), by model: the p95 the spike alerts compare",
            Unit::Other("tokens".to_owned()),
            gateway_input.clone(),
        );
        let tokens = Family::<TokenLabels, Counter>::default();
        registry.register(
            "tokens",
            "Tokens of the user's own requests (gateway, Claude Code, the probe) by model and type \
             (input, output, cache_read, cache_write), each request counted once",
            tokens.clone(),
        );
        let cost = Family::<SourceLabels, Counter<f64, AtomicU64>>::default();
        registry.register_with_unit(
            "cost",
            "List-price cost of the user's own requests in US dollars, by model and the source \
             that saw them first",
            Unit::Other("usd".to_owned()),
            cost.clone(),
        );
        let requests = Family::<SourceLabels, Counter>::default();
        registry.register(
            "requests",
            "Requests of the user's own traffic with usage, by model and source, each counted \
             once: the denominator of cost per 1,000 requests",
            requests.clone(),
        );
        let unpriced = Family::<ModelLabels, Counter>::default();
        registry.register(
            "unpriced_requests",
            "Requests whose model has no known price, so their cost is missing from the cost \
             counter",
            unpriced.clone(),
        );
        registry.register_collector(Box::new(StateCollector {
            shared: Arc::clone(&shared),
        }));
        Metrics {
            registry,
            probe_results,
            probe_duration,
            probe_ttft,
            gateway_requests,
            fallbacks,
            fallback_cost,
            gateway_duration,
            gateway_ttft,
            gateway_input,
            tokens,
            cost,
            requests,
            unpriced,
            shared,
        }
    }

    /// Reads the current state's gauges from this channel from now on (the engine's snapshot,
    /// or the service's relay of it, which outlives engine restarts).
    pub fn follow_snapshots(&self, snapshots: watch::Receiver<Snapshot>) {
        *lock(&self.shared.snapshot) = Some(snapshots);
    }

    /// Says that Claude Code's transcripts will be counted too (the engine reads them): from now
    /// on requests are remembered, so that one seen by the gateway and in a transcript, or in
    /// several lines of one transcript, counts once.
    pub fn expect_claude_code(&self) {
        self.shared
            .two_sources
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// The catalog it prices with now.
    pub fn catalog(&self) -> Arc<Catalog> {
        Arc::clone(&lock(&self.shared.counting).catalog)
    }

    /// Prices and normalises with this catalog from now on (a refreshed price table).
    pub fn set_catalog(&self, catalog: Arc<Catalog>) {
        lock(&self.shared.counting).catalog = catalog;
    }

    /// Counts one probe result.
    pub fn observe_probe(&self, result: &ProbeResult, default_model: &str) {
        let (probe, model) = match result.kind {
            ProbeKind::Reachability => ("reachability", String::new()),
            ProbeKind::Streaming => (
                "streaming",
                result
                    .model
                    .clone()
                    .unwrap_or_else(|| default_model.to_owned()),
            ),
        };
        let label = if model.is_empty() {
            String::new()
        } else {
            self.model_label(&model)
        };
        self.probe_results
            .get_or_create(&ProbeLabels {
                probe,
                model: label.clone(),
                outcome: result.outcome().as_str(),
            })
            .inc();
        if let Some(ms) = result.latency_ms {
            self.probe_duration
                .get_or_create(&ProbeTimeLabels {
                    probe,
                    model: label.clone(),
                })
                .observe(seconds(ms));
        }
        if let (Some(ms), ProbeKind::Streaming) = (result.ttft_ms, result.kind) {
            self.probe_ttft
                .get_or_create(&ModelLabels {
                    model: label.clone(),
                })
                .observe(seconds(ms));
        }
        if result.kind == ProbeKind::Streaming && !result.ratelimit.is_empty() {
            self.observe_ratelimit(result.at, &result.ratelimit);
        }
        if let Some(record) = result.usage_record(&model) {
            self.count_usage(&record);
        }
    }

    /// Counts one exchange the gateway metered: its status class and timings, and its usage.
    pub fn observe_gateway(&self, record: &UsageRecord, streamed: bool) {
        let model = self.model_label(&record.model);
        self.gateway_requests
            .get_or_create(&GatewayLabels {
                model: model.clone(),
                status_class: status_class(record.status),
            })
            .inc();
        if let Some(ms) = record.latency_ms {
            self.gateway_duration
                .get_or_create(&GatewayTimeLabels {
                    model: model.clone(),
                    stream: if streamed { "true" } else { "false" },
                })
                .observe(seconds(ms));
        }
        if let Some(ms) = record.ttft_ms {
            self.gateway_ttft
                .get_or_create(&ModelLabels {
                    model: model.clone(),
                })
                .observe(seconds(ms));
        }
        // The same requests as the spike alerts count: the successful ones.
        if record.status.is_some_and(|s| (200..300).contains(&s)) {
            self.gateway_input
                .get_or_create(&ModelLabels { model })
                .observe(record.tokens.total_input() as f64);
        }
        self.count_usage(record);
    }

    /// Counts one attempt at another provider (a gateway event with a provider part).
    pub fn observe_fallback(&self, event: &claude_status_core::gateway::ResilienceEvent) {
        use claude_status_core::gateway::ResilienceKind;
        let Some(attempt) = &event.provider else {
            return;
        };
        let outcome = match (event.kind, attempt.served) {
            (ResilienceKind::NotTranslated, _) => "not_translated",
            (_, true) => "served",
            (_, false) => "failed",
        };
        let model = self.model_label(event.model.as_deref().unwrap_or(""));
        self.fallbacks
            .get_or_create(&FallbackLabels {
                model,
                target: attempt.target.clone(),
                outcome,
            })
            .inc();
        if let Some(cost) = attempt.cost_usd.filter(|c| c.is_finite() && *c > 0.0) {
            self.fallback_cost
                .get_or_create(&TargetLabels {
                    target: attempt.target.clone(),
                })
                .inc_by(cost);
        }
    }

    /// Counts the user's own requests seen live by a usage source (Claude Code's new lines).
    /// The Admin API's records are the organisation's delayed hourly buckets, not requests seen
    /// as they happen, and would count the user's own requests twice: they are left out.
    pub fn observe_usage(&self, records: &[UsageRecord]) {
        for record in records {
            self.count_usage(record);
        }
    }

    /// Keeps the newest rate-limit reading (the gateway's or the streaming probe's).
    pub fn observe_ratelimit(&self, at: DateTime<Utc>, snapshot: &RateLimitSnapshot) {
        let mut latest = lock(&self.shared.ratelimit);
        if latest.as_ref().is_none_or(|(seen, _)| *seen <= at) {
            *latest = Some((at, snapshot.clone()));
        }
    }

    /// The exposition in the OpenMetrics text format (ending with `# EOF`).
    pub fn encode_openmetrics(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        // Writing into a String cannot fail; the collector's own errors are only fmt errors.
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            tracing::warn!("encoding the metrics failed");
        }
        out
    }

    /// The exposition in Prometheus' text format 0.0.4, for scrapers and tools that do not read
    /// OpenMetrics.
    pub fn encode_prometheus_text(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        if prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry).is_err() {
            tracing::warn!("encoding the metrics failed");
        }
        out
    }

    fn model_label(&self, model: &str) -> String {
        let mut counting = lock(&self.shared.counting);
        let Counting {
            catalog, models, ..
        } = &mut *counting;
        models.label(catalog, model)
    }

    fn count_usage(&self, record: &UsageRecord) {
        if record.source == UsageSource::AdminApi {
            return;
        }
        let (label, tokens, cost, new_request) = {
            let mut counting = lock(&self.shared.counting);
            let Counting {
                catalog,
                models,
                seen,
            } = &mut *counting;
            let remember = record.source == UsageSource::ClaudeCode
                || self
                    .shared
                    .two_sources
                    .load(std::sync::atomic::Ordering::Relaxed);
            let sighting = if remember {
                seen.check(record)
            } else {
                Sighting::New
            };
            let (tokens, new_request) = match sighting {
                Sighting::New => (record.tokens, true),
                Sighting::Copy => return,
                Sighting::Fuller(extra) => (extra, false),
            };
            let priced = UsageRecord {
                tokens,
                // A source-reported cost is for the whole record, not for the extra tokens.
                reported_cost_usd: record.reported_cost_usd.filter(|_| new_request),
                ..record.clone()
            };
            let cost = cost_of_record(&priced, catalog);
            (
                models.label(catalog, &record.model),
                tokens,
                cost,
                new_request,
            )
        };
        self.add_tokens(&label, &tokens);
        let source = record.source.as_str();
        if new_request && tokens.total() > 0 {
            self.requests
                .get_or_create(&SourceLabels {
                    model: label.clone(),
                    source,
                })
                .inc();
        }
        if cost.unknown_price {
            if new_request {
                self.unpriced
                    .get_or_create(&ModelLabels { model: label })
                    .inc();
            }
        } else if cost.usd > 0.0 {
            self.cost
                .get_or_create(&SourceLabels {
                    model: label,
                    source,
                })
                .inc_by(cost.usd);
        }
    }

    fn add_tokens(&self, model: &str, tokens: &TokenCounts) {
        for (kind, count) in [
            ("input", tokens.input),
            ("output", tokens.output),
            ("cache_read", tokens.cache_read),
            ("cache_write", tokens.cache_write()),
        ] {
            if count > 0 {
                self.tokens
                    .get_or_create(&TokenLabels {
                        model: model.to_owned(),
                        r#type: kind,
                    })
                    .inc_by(count);
            }
        }
    }
}

/// A lock that a panicked holder does not make unusable: every value behind these locks is valid
/// after any single update.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn seconds(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

/// The status class of a gateway exchange. 429 and 529 have classes of their own because the
/// alerts are about them, and they are not counted in 4xx or 5xx, so that a sum over the classes
/// is every request once.
pub fn status_class(status: Option<u16>) -> &'static str {
    match status {
        None => "error",
        Some(429) => "429",
        Some(529) => "529",
        Some(200..=299) => "2xx",
        Some(400..=499) => "4xx",
        Some(500..=599) => "5xx",
        // 1xx and 3xx never end a Messages exchange; counting them apart would add series for
        // nothing.
        Some(_) => "error",
    }
}

/// Gives models their labels, once each, within the bounds.
#[derive(Debug, Default)]
struct ModelLabeler {
    labels: HashMap<String, String>,
    unknown: usize,
}

impl ModelLabeler {
    fn label(&mut self, catalog: &Catalog, model: &str) -> String {
        if let Some(label) = self.labels.get(model) {
            return label.clone();
        }
        let normalized = catalog.normalize(model);
        let label = match self.labels.get(&normalized) {
            Some(label) => label.clone(),
            None => self.new_label(catalog, &normalized),
        };
        // The raw spelling is remembered too (dated ids, `[1m]` suffixes), within the same
        // bound, so the common case is one lookup.
        // A client can send any string as its model: only spellings of a plausible length are
        // kept, so the memory held stays bounded whatever arrives.
        if self.labels.len() < MAX_MODELS * 4 && model.len() <= MAX_MODEL_LABEL * 2 {
            self.labels.insert(model.to_owned(), label.clone());
        }
        label
    }

    fn new_label(&mut self, catalog: &Catalog, normalized: &str) -> String {
        let distinct = {
            let mut values: Vec<&String> = self.labels.values().collect();
            values.sort_unstable();
            values.dedup();
            values.len()
        };
        let known = catalog.model(normalized).is_some();
        let plausible = !normalized.is_empty()
            && normalized.len() <= MAX_MODEL_LABEL
            && normalized
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._:/@".contains(&b));
        let fold =
            !plausible || distinct >= MAX_MODELS || (!known && self.unknown >= MAX_UNKNOWN_MODELS);
        if fold {
            return OTHER_MODEL.to_owned();
        }
        if !known {
            self.unknown += 1;
        }
        self.labels
            .insert(normalized.to_owned(), normalized.to_owned());
        normalized.to_owned()
    }
}

/// Encodes the current state's gauges at scrape time.
#[derive(Debug)]
struct StateCollector {
    shared: Arc<Shared>,
}

/// The gauges of one moment, copied out of the snapshot so no lock is held while encoding.
#[derive(Debug, Default)]
struct StateGauges {
    level: Option<Level>,
    models: Vec<(String, Level)>,
    indicator: Option<String>,
    incidents_open: Option<i64>,
    components: Vec<(String, bool)>,
    plan: Vec<(String, f64)>,
    budgets: Vec<(&'static str, f64)>,
    ratelimit: Vec<(&'static str, f64)>,
}

impl StateCollector {
    fn gauges(&self, now: DateTime<Utc>) -> StateGauges {
        let mut gauges = StateGauges::default();
        let snapshot = lock(&self.shared.snapshot)
            .as_ref()
            .map(|rx| rx.borrow().clone());
        if let Some(snapshot) = &snapshot {
            gauges.level = Some(snapshot.level);
            {
                let mut counting = lock(&self.shared.counting);
                let Counting {
                    catalog, models, ..
                } = &mut *counting;
                let mut seen = std::collections::HashSet::new();
                for model in &snapshot.models {
                    let label = models.label(catalog, &model.model);
                    // Two models folded into `other` give one series: the worse level.
                    if seen.insert(label.clone()) {
                        gauges.models.push((label, model.level));
                    } else if let Some(entry) = gauges.models.iter_mut().find(|(l, _)| *l == label)
                    {
                        if model.level.severity() > entry.1.severity() {
                            entry.1 = model.level;
                        }
                    }
                }
            }
            let page = &snapshot.status_page;
            if page.fetched_at.is_some() {
                let raw = page.indicator.as_str();
                let indicator = if INDICATORS.contains(&raw) && !raw.is_empty() {
                    raw
                } else {
                    "unknown"
                };
                gauges.indicator = Some(indicator.to_owned());
                gauges.incidents_open = Some(i64::try_from(page.incidents.len()).unwrap_or(0));
                gauges.components = page
                    .components
                    .iter()
                    .take(MAX_COMPONENTS)
                    .map(|c| (c.name.clone(), c.status.as_str() == "operational"))
                    .collect();
            } else {
                gauges.indicator = Some("unknown".to_owned());
            }
            if let Some(usage) = &snapshot.usage {
                // Window names come from the API's headers and Claude Code's feed: only short
                // plain names, and at most a handful, become labels.
                let plain = |name: &str| {
                    !name.is_empty()
                        && name.len() <= 32
                        && name
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                };
                for window in usage
                    .plan
                    .iter()
                    .filter(|w| plain(&w.window))
                    .take(MAX_WINDOWS)
                {
                    if let Some(percent) = window.used_percent {
                        gauges.plan.push((window.window.clone(), percent / 100.0));
                    }
                }
                if let Some(day) = &usage.daily_budget {
                    gauges.budgets.push(("day", day.fraction));
                }
                if let Some(month) = &usage.monthly_budget {
                    gauges.budgets.push(("month", month.fraction));
                }
            }
        }
        if let Some((at, reading)) = lock(&self.shared.ratelimit).as_ref() {
            if now - *at <= RATELIMIT_FRESH {
                for (limit, bucket) in [
                    ("requests", &reading.requests),
                    ("tokens", &reading.tokens),
                    ("input_tokens", &reading.input_tokens),
                    ("output_tokens", &reading.output_tokens),
                ] {
                    if let Some(ratio) = bucket.as_ref().and_then(remaining_ratio) {
                        gauges.ratelimit.push((limit, ratio));
                    }
                }
            }
        }
        gauges
    }
}

fn remaining_ratio(bucket: &RateLimitBucket) -> Option<f64> {
    let (limit, remaining) = (bucket.limit?, bucket.remaining?);
    (limit > 0).then(|| (remaining as f64 / limit as f64).clamp(0.0, 1.0))
}

impl Collector for StateCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let gauges = self.gauges(Utc::now());
        let info = ConstGauge::new(1_i64);
        let mut family = encoder.encode_descriptor(
            "build_info",
            "The running Claude Status version; always 1.",
            None,
            MetricType::Gauge,
        )?;
        info.encode(family.encode_family(&[("version", env!("CARGO_PKG_VERSION"))])?)?;

        if let Some(level) = gauges.level {
            let mut family = encoder.encode_descriptor(
                "level",
                "The app's verdict, one-hot: 1 for the current level (the same verdict the tray, \
                 the dashboard and check show).",
                None,
                MetricType::Gauge,
            )?;
            for each in LEVELS {
                ConstGauge::new(i64::from(each == level))
                    .encode(family.encode_family(&[("level", each.as_str())])?)?;
            }
        }
        if !gauges.models.is_empty() {
            let mut family = encoder.encode_descriptor(
                "model_level",
                "Each shown model's verdict, one-hot: 1 for its current level.",
                None,
                MetricType::Gauge,
            )?;
            for (model, level) in &gauges.models {
                for each in LEVELS {
                    ConstGauge::new(i64::from(each == *level)).encode(
                        family.encode_family(&[
                            ("model", model.as_str()),
                            ("level", each.as_str()),
                        ])?,
                    )?;
                }
            }
        }
        if let Some(indicator) = &gauges.indicator {
            let mut family = encoder.encode_descriptor(
                "statuspage_indicator",
                "The official status page's rollup indicator, one-hot (unknown until it was read).",
                None,
                MetricType::Gauge,
            )?;
            for each in INDICATORS {
                ConstGauge::new(i64::from(each == indicator))
                    .encode(family.encode_family(&[("indicator", each)])?)?;
            }
        }
        if let Some(open) = gauges.incidents_open {
            let family = encoder.encode_descriptor(
                "statuspage_incidents_open",
                "Unresolved incidents on the official status page.",
                None,
                MetricType::Gauge,
            )?;
            ConstGauge::new(open).encode(family)?;
        }
        if !gauges.components.is_empty() {
            let mut family = encoder.encode_descriptor(
                "component_up",
                "1 while a status-page component is operational, 0 otherwise.",
                None,
                MetricType::Gauge,
            )?;
            for (name, up) in &gauges.components {
                ConstGauge::new(i64::from(*up))
                    .encode(family.encode_family(&[("component", name.as_str())])?)?;
            }
        }
        let ratio = Unit::Other("ratio".to_owned());
        if !gauges.ratelimit.is_empty() {
            let mut family = encoder.encode_descriptor(
                "ratelimit_remaining",
                "What is left of each rate limit (anthropic-ratelimit-*-remaining / -limit) in \
                 the newest reading of the last 10 minutes.",
                Some(&ratio),
                MetricType::Gauge,
            )?;
            for (limit, value) in &gauges.ratelimit {
                ConstGauge::new(*value).encode(family.encode_family(&[("limit", *limit)])?)?;
            }
        }
        if !gauges.plan.is_empty() {
            let mut family = encoder.encode_descriptor(
                "plan_window_used",
                "How much of each subscription plan window is used, from a fresh reading only.",
                Some(&ratio),
                MetricType::Gauge,
            )?;
            for (window, value) in &gauges.plan {
                ConstGauge::new(*value)
                    .encode(family.encode_family(&[("window", window.as_str())])?)?;
            }
        }
        if !gauges.budgets.is_empty() {
            let mut family = encoder.encode_descriptor(
                "budget_used",
                "Spend against the user's own budgets (day: the local day; month: the UTC month); \
                 above 1 once a budget is exceeded.",
                Some(&ratio),
                MetricType::Gauge,
            )?;
            for (period, value) in &gauges.budgets {
                ConstGauge::new(*value).encode(family.encode_family(&[("period", *period)])?)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_classes_are_disjoint() {
        assert_eq!(status_class(Some(200)), "2xx");
        assert_eq!(status_class(Some(400)), "4xx");
        assert_eq!(status_class(Some(429)), "429");
        assert_eq!(status_class(Some(500)), "5xx");
        assert_eq!(status_class(Some(529)), "529");
        assert_eq!(status_class(None), "error");
    }

    #[test]
    fn unknown_models_fold_into_other_after_the_limit() {
        let catalog = Catalog::shared().clone();
        let mut labeler = ModelLabeler::default();
        assert_eq!(
            labeler.label(&catalog, "claude-sonnet-4-5-20250929"),
            "claude-sonnet-4-5"
        );
        for n in 0..MAX_UNKNOWN_MODELS {
            assert_eq!(
                labeler.label(&catalog, &format!("my-model-{n}")),
                format!("my-model-{n}")
            );
        }
        assert_eq!(labeler.label(&catalog, "my-model-x"), OTHER_MODEL);
        // A known model still gets its own label after the unknown ones ran out.
        assert_eq!(
            labeler.label(&catalog, "claude-opus-4-1"),
            "claude-opus-4-1"
        );
        // Garbage is folded at once.
        assert_eq!(labeler.label(&catalog, &"x".repeat(500)), OTHER_MODEL);
        assert_eq!(labeler.label(&catalog, "a b\n"), OTHER_MODEL);
    }
}
