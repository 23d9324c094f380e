//! Advice from the user's own gateway traffic: where prompt caching would save money, what it saves
//! where it is used, and what small requests would have cost on a cheaper current model.
//!
//! The advisor sees each request as a [`PrefixSend`]: the model, a keyed hash of its prefix (the
//! tools and system prompt, the part that stays the same across a conversation's turns), the
//! prefix's length in characters, whether the request uses caching, and the answer's usage. It
//! never sees text, so nothing here can leak a prompt.
//!
//! The saving of an uncached prefix is simulated on the real sends, in time order, under the API's
//! 5-minute lifetime (api-facts D3): the first send and each one after a gap of more than 5
//! minutes would have written the cache, every other send would have read it. Saving = hits ×
//! tokens × (input − cache read) − writes × tokens × (5-minute write − input), from the catalog's
//! prices for that model. Only prefixes at least the model's minimum cacheable length are advised,
//! because a shorter marked prefix makes no cache entry.
//!
//! Model advice is a figure, never a judgement of quality: when most of a model's requests are
//! small (under 2,000 input and 200 output tokens), it says what those requests would have cost on
//! the cheapest current model whose prices are lower.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::cost::{cache_savings, cost_of};
use crate::model_names::{Family, ModelClass};
use crate::usage::TokenCounts;

/// How long a cache entry lives after its last use (the API's default, api-facts D3).
pub const CACHE_LIFETIME: Duration = Duration::minutes(5);

/// Characters per token when a prefix's size was not counted by `count_tokens`.
pub const CHARS_PER_TOKEN: u64 = 4;

/// The most distinct prefixes one report follows. Past it, sends of new prefixes are counted as
/// untracked (and said so) rather than growing the table: 10,000 entries take about 1.6 MB
/// (`examples/advisor_memory.rs` measures it).
pub const MAX_PREFIXES: usize = 10_000;

/// A request is small below these (input counts every input token: uncached, written and read).
pub const SMALL_INPUT_TOKENS: u64 = 2_000;
pub const SMALL_OUTPUT_TOKENS: u64 = 200;

/// Model advice needs at least this many answered requests of a model in the window: a handful
/// of requests says nothing about what "most" of them are.
pub const MODEL_ADVICE_MIN_REQUESTS: u64 = 20;

/// The most advice rows of each kind a report carries, the largest first.
pub const REPORT_ROWS: usize = 20;

/// How a request asks for caching (api-facts D3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum CacheUse {
    /// No `cache_control` anywhere.
    None,
    /// `cache_control` on one or more content blocks (tools, system or messages).
    Blocks,
    /// The request's top-level `cache_control` field.
    TopLevel,
}

impl CacheUse {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CacheUse::None => "none",
            CacheUse::Blocks => "blocks",
            CacheUse::TopLevel => "top_level",
        }
    }

    /// Reads the stored spelling; anything else is no caching, the conservative reading.
    pub fn from_stored(text: &str) -> CacheUse {
        match text {
            "blocks" => CacheUse::Blocks,
            "top_level" => CacheUse::TopLevel,
            _ => CacheUse::None,
        }
    }

    pub fn is_used(self) -> bool {
        self != CacheUse::None
    }
}

/// What a request's prefix is made of, for its label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum PrefixParts {
    System,
    Tools,
    ToolsAndSystem,
}

impl PrefixParts {
    pub fn as_str(self) -> &'static str {
        match self {
            PrefixParts::System => "system",
            PrefixParts::Tools => "tools",
            PrefixParts::ToolsAndSystem => "tools_and_system",
        }
    }

    pub fn from_stored(text: &str) -> PrefixParts {
        match text {
            "tools" => PrefixParts::Tools,
            "tools_and_system" => PrefixParts::ToolsAndSystem,
            _ => PrefixParts::System,
        }
    }

    /// "System prompt", "Tools", "Tools and system prompt".
    pub fn label(self) -> &'static str {
        match self {
            PrefixParts::System => "System prompt",
            PrefixParts::Tools => "Tools",
            PrefixParts::ToolsAndSystem => "Tools and system prompt",
        }
    }
}

/// A request's prefix, as a key and a size: never its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrefixShape {
    /// A keyed hash of the prefix's bytes (hex), the same for the same prefix on this machine and
    /// meaningless anywhere else.
    pub key: String,
    /// The characters of its text (tool definitions' strings and the system prompt).
    pub chars: u64,
    pub parts: PrefixParts,
}

/// One request the gateway forwarded, as the advisor sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct PrefixSend {
    pub at: DateTime<Utc>,
    pub model: String,
    /// `None` for a request with neither tools nor a system prompt.
    pub prefix: Option<PrefixShape>,
    pub cache_use: CacheUse,
    /// The HTTP status, when known. Only answered (2xx) requests are billed and so counted.
    pub status: Option<u16>,
    /// The answer's usage, when it was metered.
    pub tokens: Option<TokenCounts>,
    pub service_tier: Option<String>,
}

impl PrefixSend {
    fn answered(&self) -> bool {
        self.status
            .is_some_and(|status| (200..300).contains(&status))
    }
}

/// The smallest prefix the API caches for a model, and whether the figure is assumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MinCacheable {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub tokens: u64,
    /// The reference has no figure for this model: 4,096 is assumed, the largest known minimum,
    /// so a prefix the API would not cache is never advised.
    pub assumed: bool,
}

/// The minimum cacheable length of a model (api-facts D3).
pub fn min_cacheable(model: &str) -> MinCacheable {
    let known = |tokens| MinCacheable {
        tokens,
        assumed: false,
    };
    let assumed = MinCacheable {
        tokens: 4_096,
        assumed: true,
    };
    let Some(class) = ModelClass::from_model_id(model) else {
        return assumed;
    };
    match (class.family(), class.version()) {
        (Family::Opus, [4, 5] | [4, 6]) | (Family::Haiku, [4, 5]) => known(4_096),
        (Family::Sonnet, [4, 6]) => known(2_048),
        (Family::Sonnet, [4, 5] | [4] | [3, 7]) | (Family::Opus, [4, 1] | [4]) => known(1_024),
        (Family::Haiku, [3, 5] | [3]) => known(2_048),
        _ => assumed,
    }
}

/// A prefix's size in tokens, as `count_tokens` counted it, or as estimated from its characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PrefixTokens {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub tokens: u64,
    /// Estimated at 4 characters per token, not counted.
    pub estimated: bool,
}

/// The tokens of a prefix of `chars` characters, at [`CHARS_PER_TOKEN`].
pub fn estimate_tokens(chars: u64) -> u64 {
    chars.div_ceil(CHARS_PER_TOKEN)
}

/// What the advisor says about one prefix that is sent without caching.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PrefixAdvice {
    /// The prefix's number in this report (by first send), for "System prompt #3".
    pub number: u32,
    /// The first 8 hex digits of its key, stable across reports on this machine.
    pub key: String,
    pub model: String,
    pub parts: PrefixParts,
    pub size: PrefixTokens,
    /// Answered sends without caching.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub sends: u64,
    /// Sends that would have read the cache (within 5 minutes of the previous one).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub would_hit: u64,
    /// Sends that would have written it (the first, and each after a gap of over 5 minutes).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub would_write: u64,
    pub minimum: MinCacheable,
    /// The saving over the report's window, in USD.
    pub saving_usd: f64,
    /// The same, per day of the window.
    pub saving_per_day_usd: f64,
    /// "System prompt #3 (3,400 tokens) sent 1,180 times in the last 24 hours without caching:
    /// about $4.10 a day to save; add cache_control to it."
    pub sentence: String,
}

/// What caching did for one prefix that uses it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CachedPrefix {
    pub number: u32,
    pub key: String,
    pub model: String,
    pub parts: PrefixParts,
    pub size: PrefixTokens,
    /// Answered sends with caching and a metered usage.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub sends: u64,
    /// Sends whose answer read the cache (`cache_read_input_tokens` above 0).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub hits: u64,
    /// Sends whose answer wrote it.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub writes: u64,
    /// `hits / sends`.
    pub hit_ratio: f64,
    /// What the reads saved, less what the writes cost above plain input, in USD.
    pub saved_usd: f64,
    pub unknown_price: bool,
    pub sentence: String,
}

/// All cached requests of the window together.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CachedTotals {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub sends: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub hits: u64,
    pub hit_ratio: f64,
    pub saved_usd: f64,
    pub unknown_price: bool,
}

/// What a model's small requests would have cost on a cheaper current model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ModelAdvice {
    pub model: String,
    /// Answered requests with usage.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub requests: u64,
    /// Those under 2,000 input and 200 output tokens.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub small_requests: u64,
    pub small_share: f64,
    /// What the small requests cost.
    pub cost_usd: f64,
    /// The cheaper current model.
    pub cheaper_model: String,
    /// What they would have cost on it, with the same token counts.
    pub cheaper_cost_usd: f64,
    /// "78 % of your Opus 4.5 requests are under 2K input and 200 output tokens; on Haiku 4.5
    /// they would have cost $1.20 instead of $6.00."
    pub sentence: String,
}

/// The advisor's report over one window of gateway traffic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AdviceReport {
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    /// Every gateway request of the window, answered or not.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub requests: u64,
    /// Answered requests with a prefix (tools or a system prompt).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub with_prefix: u64,
    /// Distinct prefixes followed (model and key).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub prefixes: u64,
    /// Sends of prefixes past [`MAX_PREFIXES`], not followed.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub untracked_sends: u64,
    /// Uncached prefixes that repeat within 5 minutes but are under their model's minimum.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub below_minimum: u64,
    /// Prefixes whose size is an estimate (4 characters a token), not a count.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub estimated_sizes: u64,
    /// Where caching would save, the largest saving first (at most [`REPORT_ROWS`]).
    pub advice: Vec<PrefixAdvice>,
    /// The sum of every advised saving per day, beyond the rows shown too.
    pub advice_per_day_usd: f64,
    /// Where caching is used, the largest saving first (at most [`REPORT_ROWS`]).
    pub cached: Vec<CachedPrefix>,
    pub cached_totals: CachedTotals,
    pub models: Vec<ModelAdvice>,
    /// Some request's model has no known price: its savings are left out.
    pub unknown_price_models: Vec<String>,
}

/// One distinct prefix of one model.
#[derive(Debug, Clone)]
struct Entry {
    number: u32,
    model: u16,
    chars: u64,
    parts: PrefixParts,
    uncached_sends: u64,
    last_uncached: Option<DateTime<Utc>>,
    would_hit: u64,
    would_write: u64,
    cached_sends: u64,
    cached_hits: u64,
    cached_writes: u64,
    saved_usd: f64,
    unknown_price: bool,
}

/// A model's requests, for model advice: sums, so a busy day costs no more memory than a quiet one.
#[derive(Debug, Clone, Default)]
struct ModelTally {
    requests: u64,
    small_requests: u64,
    /// What the small requests cost, and would have cost on `cheaper`.
    cost_usd: f64,
    cheaper_cost_usd: f64,
    /// The cheaper current model, decided once per model.
    cheaper: Option<String>,
}

/// Builds an [`AdviceReport`] from sends given in time order.
#[derive(Debug)]
pub struct Advisor<'a> {
    catalog: &'a Catalog,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    entries: HashMap<(u16, [u8; 16]), Entry>,
    models: Vec<String>,
    model_index: HashMap<String, u16>,
    tallies: BTreeMap<u16, ModelTally>,
    requests: u64,
    with_prefix: u64,
    untracked_sends: u64,
    unknown_price: BTreeMap<String, ()>,
}

/// A key's bytes: the first 16 bytes of its hex, zero-padded. Hex keys are what the gateway
/// writes; anything else still gets a stable (if less spread) slot.
fn key_bytes(key: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    let hex = key.as_bytes();
    let digit = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    };
    for (i, slot) in out.iter_mut().enumerate() {
        let (Some(&hi), Some(&lo)) = (hex.get(2 * i), hex.get(2 * i + 1)) else {
            break;
        };
        *slot = match (digit(hi), digit(lo)) {
            (Some(hi), Some(lo)) => hi << 4 | lo,
            _ => hi ^ lo.rotate_left(4),
        };
    }
    out
}

fn short_key(bytes: &[u8; 16]) -> String {
    bytes[..4].iter().map(|b| format!("{b:02x}")).collect()
}

impl<'a> Advisor<'a> {
    /// An advisor over `[start, end)`, pricing with `catalog`.
    pub fn new(catalog: &'a Catalog, start: DateTime<Utc>, end: DateTime<Utc>) -> Advisor<'a> {
        Advisor {
            catalog,
            start,
            end,
            entries: HashMap::new(),
            models: Vec::new(),
            model_index: HashMap::new(),
            tallies: BTreeMap::new(),
            requests: 0,
            with_prefix: 0,
            untracked_sends: 0,
            unknown_price: BTreeMap::new(),
        }
    }

    fn model_slot(&mut self, model: &str) -> u16 {
        let normalized = self.catalog.normalize(model);
        if let Some(&slot) = self.model_index.get(&normalized) {
            return slot;
        }
        // More than 65,535 distinct model names would be garbage input: they share the last slot.
        let slot = u16::try_from(self.models.len()).unwrap_or(u16::MAX);
        if slot < u16::MAX {
            self.models.push(normalized.clone());
            self.model_index.insert(normalized, slot);
        }
        slot
    }

    /// Adds one send. Sends must come in time order; one outside the window is ignored.
    pub fn push(&mut self, send: &PrefixSend) {
        if send.at < self.start || send.at >= self.end {
            return;
        }
        self.requests += 1;
        if !send.answered() {
            return;
        }
        let model = self.model_slot(&send.model);
        if self.catalog.price(&send.model).is_none() {
            self.unknown_price
                .insert(self.models[usize::from(model)].clone(), ());
        }
        if let Some(tokens) = send.tokens {
            let (catalog, end) = (self.catalog, self.end);
            let tally = self.tallies.entry(model).or_insert_with(|| ModelTally {
                cheaper: cheaper_current_model(catalog, &send.model, end),
                ..ModelTally::default()
            });
            tally.requests += 1;
            if tokens.total_input() < SMALL_INPUT_TOKENS && tokens.output < SMALL_OUTPUT_TOKENS {
                tally.small_requests += 1;
                if let Some(cheaper) = &tally.cheaper {
                    let tier = send.service_tier.as_deref();
                    tally.cost_usd += cost_of(&tokens, &send.model, tier, catalog).usd;
                    tally.cheaper_cost_usd += cost_of(&tokens, cheaper, tier, catalog).usd;
                }
            }
        }
        let Some(prefix) = &send.prefix else { return };
        self.with_prefix += 1;
        let key = (model, key_bytes(&prefix.key));
        let next_number = u32::try_from(self.entries.len() + 1).unwrap_or(u32::MAX);
        if !self.entries.contains_key(&key) && self.entries.len() >= MAX_PREFIXES {
            self.untracked_sends += 1;
            return;
        }
        let entry = self.entries.entry(key).or_insert_with(|| Entry {
            number: next_number,
            model,
            chars: prefix.chars,
            parts: prefix.parts,
            uncached_sends: 0,
            last_uncached: None,
            would_hit: 0,
            would_write: 0,
            cached_sends: 0,
            cached_hits: 0,
            cached_writes: 0,
            saved_usd: 0.0,
            unknown_price: false,
        });
        if send.cache_use.is_used() {
            let Some(tokens) = send.tokens else { return };
            entry.cached_sends += 1;
            if tokens.cache_read > 0 {
                entry.cached_hits += 1;
            }
            if tokens.cache_write() > 0 {
                entry.cached_writes += 1;
            }
            let saved = cache_savings(
                &tokens,
                &send.model,
                send.service_tier.as_deref(),
                self.catalog,
            );
            entry.saved_usd += saved.net_usd;
            entry.unknown_price |= saved.includes_unknown_price;
        } else {
            let hit = entry
                .last_uncached
                .is_some_and(|last| send.at - last <= CACHE_LIFETIME);
            if hit {
                entry.would_hit += 1;
            } else {
                entry.would_write += 1;
            }
            entry.uncached_sends += 1;
            entry.last_uncached = Some(send.at);
        }
    }

    /// An estimate of the memory the advisor holds, in bytes: its tables at their capacity, not
    /// counting the allocator's own overhead.
    pub fn memory_bytes(&self) -> usize {
        let entries = self.entries.capacity()
            * (std::mem::size_of::<((u16, [u8; 16]), Entry)>() + std::mem::size_of::<u64>());
        let models: usize = self.models.iter().map(|m| m.capacity() * 2 + 48).sum();
        let tallies = self.tallies.len() * (std::mem::size_of::<ModelTally>() + 64);
        entries + models + tallies
    }

    /// The report. `size_of(model, key)` gives a prefix's counted size, when `count_tokens`
    /// counted it; otherwise it is estimated from its characters. The window's end decides which models
    /// are current for model advice.
    pub fn report(self, size_of: &dyn Fn(&str, &str) -> Option<u64>) -> AdviceReport {
        let catalog = self.catalog;
        let window = (self.end - self.start).max(Duration::minutes(1));
        let days = window.num_seconds() as f64 / 86_400.0;
        let window_words = window_words(window);
        let mut advice = Vec::new();
        let mut cached = Vec::new();
        let mut totals = CachedTotals::default();
        let mut below_minimum = 0;
        let mut estimated_sizes = 0;
        let mut advice_per_day_usd = 0.0;
        let prefixes = self.entries.len() as u64;
        let mut entries: Vec<_> = self.entries.into_iter().collect();
        entries.sort_by_key(|(_, entry)| entry.number);
        for ((_, key), entry) in entries {
            let model = &self.models[usize::from(entry.model)];
            let full_key: String = key.iter().map(|b| format!("{b:02x}")).collect();
            let size = match size_of(model, &full_key) {
                Some(tokens) => PrefixTokens {
                    tokens,
                    estimated: false,
                },
                None => {
                    estimated_sizes += 1;
                    PrefixTokens {
                        tokens: estimate_tokens(entry.chars),
                        estimated: true,
                    }
                }
            };
            let name = format!("{} #{}", entry.parts.label(), entry.number);
            let size_words = if size.estimated {
                format!("about {} tokens, estimated", thousands(size.tokens))
            } else {
                format!("{} tokens", thousands(size.tokens))
            };
            if entry.cached_sends > 0 {
                let hit_ratio = entry.cached_hits as f64 / entry.cached_sends as f64;
                totals.sends += entry.cached_sends;
                totals.hits += entry.cached_hits;
                totals.saved_usd += entry.saved_usd;
                totals.unknown_price |= entry.unknown_price;
                let saved_words = if entry.unknown_price {
                    "saved an unknown amount (the model's price is not known)".to_owned()
                } else if entry.saved_usd >= 0.0 {
                    format!("saved {}", money(entry.saved_usd))
                } else {
                    format!(
                        "cost {} more than no caching (writes outweigh reads)",
                        money(-entry.saved_usd)
                    )
                };
                cached.push(CachedPrefix {
                    number: entry.number,
                    key: short_key(&key),
                    model: model.clone(),
                    parts: entry.parts,
                    size,
                    sends: entry.cached_sends,
                    hits: entry.cached_hits,
                    writes: entry.cached_writes,
                    hit_ratio,
                    saved_usd: entry.saved_usd,
                    unknown_price: entry.unknown_price,
                    sentence: format!(
                        "{name} ({size_words}) on {}: cached, {} of {} sends read the cache \
                         ({}) in {window_words}; caching {saved_words}.",
                        display_model(model),
                        thousands(entry.cached_hits),
                        thousands(entry.cached_sends),
                        percent(hit_ratio),
                    ),
                });
            }
            if entry.uncached_sends == 0 || entry.would_hit == 0 {
                continue;
            }
            let minimum = min_cacheable(model);
            if size.tokens < minimum.tokens {
                below_minimum += 1;
                continue;
            }
            let Some(price) = catalog.price(model) else {
                continue;
            };
            let per_token = |usd_per_mtok: f64| size.tokens as f64 * usd_per_mtok / 1_000_000.0;
            let saving_usd = entry.would_hit as f64
                * per_token(price.input_per_mtok - price.cache_read_per_mtok)
                - entry.would_write as f64
                    * per_token(price.cache_write_5m_per_mtok - price.input_per_mtok);
            if saving_usd <= 0.0 {
                continue;
            }
            let saving_per_day_usd = saving_usd / days.max(1.0 / 1440.0);
            advice_per_day_usd += saving_per_day_usd;
            advice.push(PrefixAdvice {
                number: entry.number,
                key: short_key(&key),
                model: model.clone(),
                parts: entry.parts,
                size,
                sends: entry.uncached_sends,
                would_hit: entry.would_hit,
                would_write: entry.would_write,
                minimum,
                saving_usd,
                saving_per_day_usd,
                sentence: format!(
                    "{name} ({size_words}) on {} sent {} times in {window_words} without \
                     caching: about {} a day to save; add cache_control to it.",
                    display_model(model),
                    thousands(entry.uncached_sends),
                    money(saving_per_day_usd),
                ),
            });
        }
        advice.sort_by(|a, b| b.saving_usd.total_cmp(&a.saving_usd));
        advice.truncate(REPORT_ROWS);
        cached.sort_by(|a, b| b.saved_usd.total_cmp(&a.saved_usd));
        cached.truncate(REPORT_ROWS);
        if totals.sends > 0 {
            totals.hit_ratio = totals.hits as f64 / totals.sends as f64;
        }

        let mut models = Vec::new();
        for (slot, tally) in &self.tallies {
            let model = &self.models[usize::from(*slot)];
            if let Some(advice) = model_advice(model, tally) {
                models.push(advice);
            }
        }
        models.sort_by(|a, b| {
            (b.cost_usd - b.cheaper_cost_usd).total_cmp(&(a.cost_usd - a.cheaper_cost_usd))
        });

        AdviceReport {
            window_start: self.start,
            window_end: self.end,
            requests: self.requests,
            with_prefix: self.with_prefix,
            prefixes,
            untracked_sends: self.untracked_sends,
            below_minimum,
            estimated_sizes,
            advice,
            advice_per_day_usd,
            cached,
            cached_totals: totals,
            models,
            unknown_price_models: self.unknown_price.into_keys().collect(),
        }
    }
}

/// The cheapest current model whose input and output prices are both below `model`'s: the newest
/// version of each known family that is not retired and has a price. `None` when `model` is
/// already the cheapest, or has no price.
pub fn cheaper_current_model(catalog: &Catalog, model: &str, now: DateTime<Utc>) -> Option<String> {
    let own = catalog.price(model)?;
    let mut newest: BTreeMap<String, (Vec<u32>, String)> = BTreeMap::new();
    for info in catalog.models() {
        if info.price.is_none() || crate::models::is_retired(&info.id, now) {
            continue;
        }
        let deprecated = info
            .deprecation_date
            .as_deref()
            .and_then(|day| chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").ok())
            .is_some_and(|day| day <= now.date_naive());
        let Some(class) = ModelClass::from_model_id(&info.id) else {
            continue;
        };
        if deprecated || class.family().is_other() || !info.id.starts_with("claude-") {
            continue;
        }
        let family = class.family().as_str().to_owned();
        let newer = newest
            .get(&family)
            .is_none_or(|(version, _)| class.version() > version.as_slice());
        if newer {
            newest.insert(family, (class.version().to_vec(), info.id.clone()));
        }
    }
    newest
        .into_values()
        .filter_map(|(_, id)| catalog.price(&id).map(|price| (id, price)))
        .filter(|(id, price)| {
            catalog.normalize(id) != catalog.normalize(model)
                && price.input_per_mtok < own.input_per_mtok
                && price.output_per_mtok < own.output_per_mtok
        })
        .min_by(|(_, a), (_, b)| a.input_per_mtok.total_cmp(&b.input_per_mtok))
        .map(|(id, _)| id)
}

fn model_advice(model: &str, tally: &ModelTally) -> Option<ModelAdvice> {
    if tally.requests < MODEL_ADVICE_MIN_REQUESTS || tally.small_requests * 2 <= tally.requests {
        return None;
    }
    let cheaper = tally.cheaper.clone()?;
    let small_share = tally.small_requests as f64 / tally.requests as f64;
    Some(ModelAdvice {
        model: model.to_owned(),
        requests: tally.requests,
        small_requests: tally.small_requests,
        small_share,
        cost_usd: tally.cost_usd,
        cheaper_model: cheaper.clone(),
        cheaper_cost_usd: tally.cheaper_cost_usd,
        sentence: format!(
            "{} of your {} requests are under 2K input and 200 output tokens; on {} they would \
             have cost {} instead of {}.",
            percent(small_share),
            display_model(model),
            display_model(&cheaper),
            money(tally.cheaper_cost_usd),
            money(tally.cost_usd),
        ),
    })
}

/// "Opus 4.5" for a Claude model id, the id itself otherwise.
fn display_model(model: &str) -> String {
    ModelClass::from_model_id(model)
        .filter(|class| !class.family().is_other())
        .map_or_else(|| model.to_owned(), |class| class.display_name())
}

/// "the last 24 hours", "the last 7 days", "the last 90 minutes".
fn window_words(window: Duration) -> String {
    let minutes = window.num_minutes();
    if minutes > 1440 && minutes % 1440 == 0 {
        format!("the last {} days", minutes / 1440)
    } else if minutes % 60 == 0 {
        match minutes / 60 {
            1 => "the last hour".to_owned(),
            hours => format!("the last {hours} hours"),
        }
    } else {
        format!("the last {minutes} minutes")
    }
}

/// "1,180".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// "$4.10", and "$0.004" below a cent so a small figure is not shown as nothing.
fn money(usd: f64) -> String {
    if usd.abs() < 0.01 && usd != 0.0 {
        format!("${usd:.3}")
    } else {
        format!("${usd:.2}")
    }
}

/// "78 %".
fn percent(ratio: f64) -> String {
    format!("{:.0} %", ratio * 100.0)
}
