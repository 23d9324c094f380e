//! The catalogs of prices and rate-limit tiers, each with its "as of" date: LiteLLM's model price
//! table (bundled snapshot or a refreshed one, [`crate::price_table`]), the hand-made parts it does
//! not hold (`data/prices.json`: classes, aliases, notes, batch discount, cache multipliers, and
//! supplement rows for models it lacks), the tier table (`data/tiers.json`), and the user's
//! override file merged on top.
//!
//! Prices and limits change more often than releases ship, so both are data rather than code, and
//! the user can replace or add any entry. Reading the override file and fetching a fresh table is
//! the engine's job; this module takes their text. A value that was not recovered from a public
//! source is `null` in the data and `None` here: nothing is guessed.
//!
//! Where a model's price comes from, highest first:
//! 1. the user's override (any price field of the model in the override file);
//! 2. a `prices.json` row that says `"prefer_over_litellm": true` (none ships today: see the
//!    note of `claude-haiku-5-5` in the data file for why Haiku 5.5 needs none);
//! 3. LiteLLM's row (its `…_above_<N>k_tokens` tier becomes the long-context rule; without one a
//!    `long_context` rule of the hand row is kept, which is how Sonnet 4 and 4.5 keep the 1M-beta
//!    rule of api-facts D1);
//! 4. a `prices.json` supplement row, each naming its `source` (Claude Code's estimate for Fable
//!    and Mythos 5.2, Anthropic's pricing page for the retired models LiteLLM dropped).
//!
//! Every [`ModelPrice`] carries its [`PriceSource`]; [`Catalog::price_table`] describes the LiteLLM
//! table in use and [`Catalog::disagreements`] lists the models where a hand row and LiteLLM give
//! different prices, with which one is used, so the UI can say so.
//!
//! Override file shape: `{"prices": {…part of prices.json…}, "tiers": {…part of tiers.json…}}`.
//! Objects are merged key by key into the built-in ones (so one field of one class of one tier can
//! be changed); any other value, arrays included, replaces the built-in one. The price fields of
//! a model in the override are merged onto the prices in use (LiteLLM's where it has the model).
//! Unknown keys are errors, so a typo does not silently do nothing.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::price_table::{LiteLlmRow, LiteLlmTable, TableKind};
use crate::ratelimit::RateLimitSnapshot;

/// The shipped hand-made price data (what LiteLLM's table does not hold).
pub const BUILTIN_PRICES_JSON: &str = include_str!("../data/prices.json");
/// The shipped tier table.
pub const BUILTIN_TIERS_JSON: &str = include_str!("../data/tiers.json");

/// A fingerprint of everything compiled in that decides what [`Catalog::builtin`] and
/// [`Catalog::build_with`] make of their inputs: the shipped data files, the source of the two
/// modules that read them, and the crate's version. The engine keeps a built catalog on disk
/// under this fingerprint (with its inputs' file stamps), so that a short-lived process such as
/// the status line reads one small file instead of parsing and merging the tables; any change to
/// the data or to this code makes every such cache stale.
pub const BUILD_FINGERPRINT: u64 = {
    let parts: [&str; 6] = [
        BUILTIN_PRICES_JSON,
        BUILTIN_TIERS_JSON,
        crate::price_table::BUNDLED_LITELLM_JSON,
        include_str!("catalog.rs"),
        include_str!("price_table.rs"),
        env!("CARGO_PKG_VERSION"),
    ];
    // FNV-1a, 64-bit, over the parts with a separator after each (so that moving text between
    // two parts changes the result too). It is a change detector, not a security measure.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut part = 0;
    while part < parts.len() {
        let bytes = parts[part].as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            hash ^= bytes[i] as u64;
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
            i += 1;
        }
        hash ^= 0xff;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        part += 1;
    }
    hash
};

/// The "as of" dates of the two tables: the prices' is the LiteLLM table's (the day the snapshot
/// was taken or the table fetched, `YYYY-MM-DD`), unless the override sets one; the tiers' is
/// `tiers.json`'s (`YYYY-MM`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AsOf {
    pub prices: String,
    pub tiers: String,
}

/// What kind of source priced a model (or a cost).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum PriceSourceKind {
    /// LiteLLM's table as bundled in this build.
    LitellmBundled,
    /// LiteLLM's table as refreshed from upstream.
    LitellmFetched,
    /// LiteLLM's table from some other file.
    LitellmFile,
    /// A hand-made row of `prices.json` (its label names where its figures came from).
    BuiltIn,
    /// The user's override file.
    UserOverride,
    /// Not a price at all: the cost the client reported itself (old Claude Code `costUSD`).
    ReportedByClient,
}

/// Where a price came from, with a label for people ("LiteLLM 1.110.2 (bundled)", "Claude Code
/// 2.1.328 estimate (claude-code.md H5)", "your override").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceSource {
    pub kind: PriceSourceKind,
    pub label: String,
}

impl PriceSource {
    /// The source of every price field the user's override file sets.
    pub fn user_override() -> PriceSource {
        PriceSource {
            kind: PriceSourceKind::UserOverride,
            label: "your override".to_owned(),
        }
    }

    fn of_table(table: &LiteLlmTable) -> PriceSource {
        PriceSource {
            kind: match table.kind() {
                TableKind::Bundled => PriceSourceKind::LitellmBundled,
                TableKind::Fetched => PriceSourceKind::LitellmFetched,
                TableKind::File => PriceSourceKind::LitellmFile,
            },
            label: table.label(),
        }
    }

    fn built_in(label: Option<String>) -> PriceSource {
        PriceSource {
            kind: PriceSourceKind::BuiltIn,
            label: label.unwrap_or_else(|| "Claude Status price data (prices.json)".to_owned()),
        }
    }
}

/// Prices of one model in USD per million tokens, with the cache prices already resolved (given
/// per model, or derived from the input price with the catalog's cache multipliers), and where
/// they came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelPrice {
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
    pub cache_write_5m_per_mtok: f64,
    pub cache_write_1h_per_mtok: f64,
    pub cache_read_per_mtok: f64,
    /// Prices for the whole request once its total input passes a threshold.
    pub long_context: Option<LongContextPrice>,
    pub source: PriceSource,
}

impl ModelPrice {
    /// Whether two prices have the same figures (to a billionth, relative), whatever their source.
    pub fn same_figures(&self, other: &ModelPrice) -> bool {
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0);
        let rule = |a: &Option<LongContextPrice>, b: &Option<LongContextPrice>| match (a, b) {
            (None, None) => true,
            (Some(a), Some(b)) => {
                a.above_input_tokens == b.above_input_tokens
                    && close(a.input_per_mtok, b.input_per_mtok)
                    && close(a.output_per_mtok, b.output_per_mtok)
                    && close(a.cache_write_5m_per_mtok, b.cache_write_5m_per_mtok)
                    && close(a.cache_write_1h_per_mtok, b.cache_write_1h_per_mtok)
                    && close(a.cache_read_per_mtok, b.cache_read_per_mtok)
            }
            _ => false,
        };
        close(self.input_per_mtok, other.input_per_mtok)
            && close(self.output_per_mtok, other.output_per_mtok)
            && close(self.cache_write_5m_per_mtok, other.cache_write_5m_per_mtok)
            && close(self.cache_write_1h_per_mtok, other.cache_write_1h_per_mtok)
            && close(self.cache_read_per_mtok, other.cache_read_per_mtok)
            && rule(&self.long_context, &other.long_context)
    }
}

/// A model that a hand-made row and LiteLLM price differently: which one is used, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceDisagreement {
    /// The canonical id.
    pub model: String,
    /// The price in use.
    pub used: ModelPrice,
    /// The price of the other source.
    pub other: ModelPrice,
    /// Why `used` is used: the hand row's note, or the precedence rule.
    pub note: String,
}

/// The LiteLLM table a catalog was built from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceTableInfo {
    /// `None`: no table (only the hand-made rows price anything).
    pub kind: Option<TableKind>,
    /// "LiteLLM 1.110.2 (bundled)", "LiteLLM upstream, fetched 2026-12-02", "no LiteLLM table".
    pub label: String,
    /// The PyPI version of a snapshot.
    pub version: Option<String>,
    /// When a refreshed table was fetched (RFC 3339).
    pub fetched_at: Option<String>,
    pub url: Option<String>,
    /// The day its prices are as of.
    pub as_of: Option<String>,
    /// How many Claude models it prices.
    pub claude_models: usize,
}

impl PriceTableInfo {
    fn of(table: Option<&LiteLlmTable>) -> PriceTableInfo {
        match table {
            None => PriceTableInfo {
                kind: None,
                label: "no LiteLLM table".to_owned(),
                version: None,
                fetched_at: None,
                url: None,
                as_of: None,
                claude_models: 0,
            },
            Some(table) => PriceTableInfo {
                kind: Some(table.kind()),
                label: table.label(),
                version: table.source().version.clone(),
                fetched_at: table.source().fetched_at.clone(),
                url: table.source().url.clone(),
                as_of: table.as_of(),
                claude_models: table.priced_claude_ids().count(),
            },
        }
    }
}

/// A long-context rule: when a request's total input (uncached + cache writes + cache reads) is
/// above `above_input_tokens`, every token of the request is billed at these prices instead.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LongContextPrice {
    pub above_input_tokens: u64,
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
    pub cache_write_5m_per_mtok: f64,
    pub cache_write_1h_per_mtok: f64,
    pub cache_read_per_mtok: f64,
}

/// One model of the price table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// The canonical id (`claude-sonnet-4-5`).
    pub id: String,
    /// The rate-limit class whose bucket it shares (`sonnet-4`).
    pub class: Option<String>,
    /// `None` when input or output price is not known.
    pub price: Option<ModelPrice>,
    /// The data's note on the model (why a price is used, when it retired…), for the UI.
    pub notes: Option<String>,
    /// The most input tokens of one request (LiteLLM's `max_input_tokens`).
    pub context_window: Option<u64>,
    /// LiteLLM's `max_output_tokens`.
    pub max_output_tokens: Option<u64>,
    /// LiteLLM's `deprecation_date` (`YYYY-MM-DD`).
    pub deprecation_date: Option<String>,
}

/// The defaults of a model class, whatever the tier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassInfo {
    /// The † rule: whether `cache_read_input_tokens` count toward ITPM. `None`: not known.
    pub cache_reads_count_toward_itpm: Option<bool>,
    pub notes: Option<String>,
}

/// The limits of one model class in one tier. Any value may be unknown.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ClassLimits {
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub requests_per_minute: Option<u64>,
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub input_tokens_per_minute: Option<u64>,
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub output_tokens_per_minute: Option<u64>,
    /// The † rule in this tier; `None` falls back to the class default.
    pub cache_reads_count_toward_itpm: Option<bool>,
    /// The separate bucket of long-context requests, where there is one.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub long_context_input_tokens_per_minute: Option<u64>,
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub long_context_output_tokens_per_minute: Option<u64>,
    pub notes: Option<String>,
}

/// The Message Batches limits of a tier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct BatchLimits {
    pub requests_per_minute: Option<u64>,
    pub max_in_queue: Option<u64>,
    pub max_requests_per_batch: Option<u64>,
}

/// A tier's monthly spend cap.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "usd")]
pub enum SpendCap {
    Usd(f64),
    /// No cap (monthly invoicing, Custom).
    Unlimited,
    /// Not recovered.
    Unknown,
}

impl SpendCap {
    /// The cap in USD, when there is a known one.
    pub fn usd(self) -> Option<f64> {
        match self {
            SpendCap::Usd(usd) => Some(usd),
            _ => None,
        }
    }
}

/// One usage tier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tier {
    /// The key in the table (`tier-2`, `start`).
    pub key: String,
    /// The display name (`Tier 2`, `Start`).
    pub name: String,
    /// `classic` (Tier 1–4) or `2026` (Evaluation, Start, Build, Scale, Custom).
    pub scheme: String,
    pub monthly_spend_cap: SpendCap,
    pub credit_purchase_to_reach_usd: Option<f64>,
    pub max_single_credit_purchase_usd: Option<f64>,
    pub batch: Option<BatchLimits>,
    /// Per model class.
    pub classes: BTreeMap<String, ClassLimits>,
    pub notes: Vec<String>,
}

/// Both tables, ready for lookups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    pub as_of: AsOf,
    /// The share taken off every token price for `service_tier: "batch"` (0.5).
    pub batch_discount: f64,
    /// True when a user override was merged in.
    pub overridden: bool,
    /// The LiteLLM table the prices came from.
    pub price_table: PriceTableInfo,
    disagreements: Vec<PriceDisagreement>,
    models: BTreeMap<String, ModelInfo>,
    aliases: BTreeMap<String, String>,
    classes: BTreeMap<String, ClassInfo>,
    tiers: BTreeMap<String, Tier>,
    /// Other providers' chat models (OpenAI's by bare id, Gemini's as `gemini/<id>`), from the
    /// same LiteLLM table, for the gateway's fallbacks to them.
    #[serde(default)]
    provider_prices: BTreeMap<String, ProviderPrice>,
}

/// Another provider's list prices, in USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ProviderPrice {
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
    /// Cached input, where the provider discounts it (OpenAI's and Gemini's automatic caching).
    pub cache_read_per_mtok: Option<f64>,
}

impl ProviderPrice {
    /// The cost of one answer: uncached input, cached input and output tokens.
    pub fn cost_usd(&self, input: u64, cache_read: u64, output: u64) -> f64 {
        let per = |tokens: u64, price: f64| tokens as f64 * price / 1_000_000.0;
        per(input, self.input_per_mtok)
            + per(
                cache_read,
                self.cache_read_per_mtok.unwrap_or(self.input_per_mtok),
            )
            + per(output, self.output_per_mtok)
    }
}

impl Catalog {
    /// Another provider's price by its row key in LiteLLM's table (`gpt-4o`,
    /// `gemini/gemini-2.5-flash`; `fallback::Provider::price_key` gives it).
    pub fn provider_price(&self, key: &str) -> Option<&ProviderPrice> {
        self.provider_prices.get(key)
    }

    /// The shipped tables.
    pub fn builtin() -> Catalog {
        Self::shared().clone()
    }

    /// The shipped tables (the bundled LiteLLM snapshot with `prices.json`), parsed once per
    /// process: the monitor normalises model ids on every observation, and parsing the shipped
    /// JSON each time cost about a millisecond a call.
    pub fn shared() -> &'static Catalog {
        static SHARED: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
        SHARED.get_or_init(|| match Self::build_with(None, None) {
            Ok(catalog) => catalog,
            // The shipped files are checked by the tests; an empty catalog (everything "unknown")
            // is the honest fallback should one ever be broken.
            Err(_) => Catalog::empty(),
        })
    }

    /// The shipped tables with the user's override file (its text) merged on top.
    pub fn with_override(user_json: &str) -> Result<Catalog> {
        Self::build_with(None, Some(user_json))
    }

    /// The catalog from a LiteLLM table (`None`: the bundled snapshot), the shipped `prices.json`
    /// and `tiers.json`, and the user's override file (its text) when there is one.
    pub fn build_with(
        table: Option<&LiteLlmTable>,
        user_override: Option<&str>,
    ) -> Result<Catalog> {
        let table = table.unwrap_or_else(|| LiteLlmTable::bundled());
        Self::build_from(BUILTIN_PRICES_JSON, Some(table), user_override)
    }

    /// The catalog from a given hand-made price file (`prices.json`'s shape), a LiteLLM table or
    /// none at all, the shipped tiers and an override: for tests and tools that check how the
    /// sources combine.
    pub fn build_from(
        prices_json: &str,
        table: Option<&LiteLlmTable>,
        user_override: Option<&str>,
    ) -> Result<Catalog> {
        Self::build(prices_json, table, user_override)
    }

    fn empty() -> Catalog {
        Catalog {
            as_of: AsOf {
                prices: String::new(),
                tiers: String::new(),
            },
            batch_discount: 0.5,
            overridden: false,
            price_table: PriceTableInfo::of(None),
            disagreements: Vec::new(),
            models: BTreeMap::new(),
            aliases: BTreeMap::new(),
            classes: BTreeMap::new(),
            tiers: BTreeMap::new(),
            provider_prices: BTreeMap::new(),
        }
    }

    fn build(
        prices_json: &str,
        table: Option<&LiteLlmTable>,
        user_json: Option<&str>,
    ) -> Result<Catalog> {
        let mut prices: Value = serde_json::from_str(prices_json)
            .map_err(|e| Error::Parse(format!("built-in prices.json: {e}")))?;
        let mut tiers: Value = serde_json::from_str(BUILTIN_TIERS_JSON)
            .map_err(|e| Error::Parse(format!("built-in tiers.json: {e}")))?;
        let user: Option<Value> =
            match user_json {
                Some(text) => Some(serde_json::from_str(text).map_err(|e| {
                    Error::Parse(format!("catalog override is not valid JSON: {e}"))
                })?),
                None => None,
            };
        if let Some(user) = &user {
            let user = object(user, "")?;
            check_keys(user, &["prices", "tiers"], "")?;
            if let Some(user_prices) = user.get("prices") {
                object(user_prices, "prices")?;
            }
            if let Some(user_tiers) = user.get("tiers") {
                object(user_tiers, "tiers")?;
            }
        }

        // LiteLLM's rows go in first, under the hand-made rows' rules, so that the override is
        // merged onto the prices that are really in use.
        let resolved = resolve_sources(&mut prices, table)?;

        let mut user_priced = BTreeSet::new();
        let mut user_as_of = false;
        if let Some(user) = &user {
            if let Some(user_prices) = user.get("prices") {
                user_as_of = user_prices.get("as_of").is_some();
                if let Some(Value::Object(models)) = user_prices.get("models") {
                    for (id, entry) in models {
                        let touches_price = entry.as_object().is_some_and(|m| {
                            PRICE_FIELDS.iter().any(|field| m.contains_key(*field))
                        });
                        if touches_price {
                            user_priced.insert(strip_model(id));
                        }
                    }
                }
                merge(&mut prices, user_prices);
            }
            if let Some(user_tiers) = user.get("tiers") {
                merge(&mut tiers, user_tiers);
            }
        }

        let mut catalog = Catalog::empty();
        catalog.overridden = user.is_some();
        read_prices(&prices, &mut catalog, &resolved.sources, &user_priced)?;
        read_tiers(&tiers, &mut catalog)?;
        for (id, row) in &resolved.rows {
            if let Some(info) = catalog.models.get_mut(id) {
                info.context_window = row.max_input_tokens;
                info.max_output_tokens = row.max_output_tokens;
                info.deprecation_date = row.deprecation_date.clone();
            }
        }
        // A disagreement the user settled with an override is no longer one.
        catalog.disagreements = resolved
            .disagreements
            .into_iter()
            .filter(|d| !user_priced.contains(&d.model))
            .collect();
        catalog.price_table = PriceTableInfo::of(table);
        if let Some(table) = table {
            for row in table.other_models() {
                if let (Some(input), Some(output)) = (row.input_per_mtok, row.output_per_mtok) {
                    catalog.provider_prices.insert(
                        row.key.clone(),
                        ProviderPrice {
                            input_per_mtok: input,
                            output_per_mtok: output,
                            cache_read_per_mtok: row.cache_read_per_mtok,
                        },
                    );
                }
            }
        }
        if !user_as_of {
            if let Some(day) = table.and_then(LiteLlmTable::as_of) {
                catalog.as_of.prices = day;
            }
        }
        Ok(catalog)
    }

    /// The canonical id of a model: lower case, without a `[1m]`-style suffix, `-latest` or a
    /// `-YYYYMMDD` date, with aliases (`claude-4-opus`, `claude-opus-4-0`) resolved.
    pub fn normalize(&self, model: &str) -> String {
        let stripped = strip_model(model);
        match self.aliases.get(&stripped) {
            Some(target) => target.clone(),
            None => stripped,
        }
    }

    /// Everything the table knows about a model.
    pub fn model(&self, model: &str) -> Option<&ModelInfo> {
        self.models.get(&self.normalize(model))
    }

    /// The price of a model. Matching is exact after normalisation, so a future model such as
    /// `claude-opus-4-9` is "price unknown" rather than a guess from its family.
    pub fn price(&self, model: &str) -> Option<&ModelPrice> {
        self.model(model).and_then(|info| info.price.as_ref())
    }

    /// The rate-limit class of a model (`opus-4`).
    pub fn model_class(&self, model: &str) -> Option<&str> {
        self.model(model).and_then(|info| info.class.as_deref())
    }

    /// Where the price of a model came from.
    pub fn price_source(&self, model: &str) -> Option<&PriceSource> {
        self.price(model).map(|price| &price.source)
    }

    /// The models a hand-made row and LiteLLM's table price differently, with the one used.
    pub fn disagreements(&self) -> &[PriceDisagreement] {
        &self.disagreements
    }

    /// Every model, by canonical id.
    pub fn models(&self) -> impl Iterator<Item = &ModelInfo> {
        self.models.values()
    }

    /// A tier by key (`tier-2`, `start`). Case, spaces and underscores are forgiven, so `Tier 2`,
    /// `tier2` and `TIER_2` find `tier-2`.
    pub fn tier(&self, name: &str) -> Option<&Tier> {
        self.tiers.get(&tier_key(name))
    }

    /// Every tier, by key.
    pub fn tiers(&self) -> impl Iterator<Item = &Tier> {
        self.tiers.values()
    }

    /// The defaults of a model class.
    pub fn class(&self, class: &str) -> Option<&ClassInfo> {
        self.classes.get(class)
    }

    /// The limits of a class in a tier.
    pub fn limits(&self, tier: &str, class: &str) -> Option<&ClassLimits> {
        self.tier(tier).and_then(|t| t.classes.get(class))
    }

    /// Whether cache reads count toward ITPM for a class: the tier's value, else the class
    /// default, else `false` — the rule the Dec 2025 table gives for every model without a †.
    pub fn cache_reads_count_toward_itpm(&self, tier: Option<&str>, class: &str) -> bool {
        tier.and_then(|tier| self.limits(tier, class))
            .and_then(|limits| limits.cache_reads_count_toward_itpm)
            .or_else(|| {
                self.classes
                    .get(class)
                    .and_then(|c| c.cache_reads_count_toward_itpm)
            })
            .unwrap_or(false)
    }

    /// Which tier the live `-limit` headers of a reply for a model of `class` match. Requests,
    /// input-token and output-token limits are compared where both sides know them; at least two
    /// must be compared and all must agree. No match, or more than one, is `None`.
    pub fn identify_tier(&self, snapshot: &RateLimitSnapshot, class: &str) -> Option<String> {
        let observed = [
            snapshot.requests.and_then(|b| b.limit),
            snapshot.input_tokens.and_then(|b| b.limit),
            snapshot.output_tokens.and_then(|b| b.limit),
        ];
        let mut matches = self.tiers.values().filter(|tier| {
            let Some(limits) = tier.classes.get(class) else {
                return false;
            };
            let table = [
                limits.requests_per_minute,
                limits.input_tokens_per_minute,
                limits.output_tokens_per_minute,
            ];
            let mut compared = 0;
            for (seen, known) in observed.iter().zip(table) {
                if let (Some(seen), Some(known)) = (seen, known) {
                    if *seen != known {
                        return false;
                    }
                    compared += 1;
                }
            }
            compared >= 2
        });
        let first = matches.next()?;
        if matches.next().is_some() {
            return None;
        }
        Some(first.key.clone())
    }
}

/// Lower case, trimmed, without a bracketed suffix (`[1m]`), `-latest` or a `-YYYYMMDD` date.
pub fn strip_model(model: &str) -> String {
    let mut model = model.trim().to_ascii_lowercase();
    if model.ends_with(']') {
        if let Some(open) = model.rfind('[') {
            model.truncate(open);
        }
    }
    if let Some(base) = model.strip_suffix("-latest") {
        model = base.to_owned();
    }
    if let Some((base, date)) = model.rsplit_once('-') {
        if date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()) {
            model = base.to_owned();
        }
    }
    model
}

/// `Tier 2` → `tier-2`, `tier2` → `tier-2`.
fn tier_key(name: &str) -> String {
    let key: String = name
        .trim()
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c == ' ' || c == '_' { '-' } else { c })
        .collect();
    match key.strip_prefix("tier") {
        Some(number) if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) => {
            format!("tier-{number}")
        }
        _ => key,
    }
}

/// Merges `overlay` into `base`: objects key by key, anything else replaced.
fn merge(base: &mut Value, overlay: &Value) {
    match (base, overlay) {
        (Value::Object(base), Value::Object(overlay)) => {
            for (key, value) in overlay {
                match base.get_mut(key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (base, overlay) => *base = overlay.clone(),
    }
}

/// The fields of a model entry that are prices: an override that sets any of them re-prices the
/// model, and its source becomes "your override".
const PRICE_FIELDS: &[&str] = &[
    "input",
    "output",
    "cache_write_5m",
    "cache_write_1h",
    "cache_read",
    "long_context",
];

/// The fields a model entry of `prices.json` (or of the override's `prices.models`) may have.
const MODEL_FIELDS: &[&str] = &[
    "class",
    "input",
    "output",
    "cache_write_5m",
    "cache_write_1h",
    "cache_read",
    "long_context",
    "notes",
    "source",
    "prefer_over_litellm",
];

/// The cache prices as multiples of the input price, for entries that do not give them.
#[derive(Debug, Clone, Copy)]
struct Multipliers {
    write_5m: f64,
    write_1h: f64,
    read: f64,
}

fn read_multipliers(root: &Map<String, Value>) -> Result<Multipliers> {
    match root.get("cache_multipliers") {
        None | Some(Value::Null) => Ok(Multipliers {
            write_5m: 1.25,
            write_1h: 2.0,
            read: 0.1,
        }),
        Some(value) => {
            let path = "prices.cache_multipliers";
            let m = object(value, path)?;
            check_keys(m, &["write_5m", "write_1h", "read"], path)?;
            Ok(Multipliers {
                write_5m: opt_price(m, "write_5m", path)?.unwrap_or(1.25),
                write_1h: opt_price(m, "write_1h", path)?.unwrap_or(2.0),
                read: opt_price(m, "read", path)?.unwrap_or(0.1),
            })
        }
    }
}

/// What [`resolve_sources`] decided.
struct Resolved {
    /// The source of each model's price, by canonical id.
    sources: BTreeMap<String, PriceSource>,
    disagreements: Vec<PriceDisagreement>,
    /// LiteLLM's row of each model it has, for the context window and dates.
    rows: BTreeMap<String, LiteLlmRow>,
}

/// Writes LiteLLM's prices into the hand-made entries of `prices` (adding entries for models only
/// LiteLLM has) by the precedence of the module docs, and says where each price came from.
fn resolve_sources(prices: &mut Value, table: Option<&LiteLlmTable>) -> Result<Resolved> {
    let root = prices
        .as_object_mut()
        .ok_or_else(|| invalid("prices", "expected an object"))?;
    let multipliers = read_multipliers(root)?;
    let models = root
        .entry("models")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or_else(|| invalid("prices.models", "expected an object"))?;
    let hand_keys: BTreeMap<String, String> = models
        .keys()
        .map(|key| (strip_model(key), key.clone()))
        .collect();
    let mut ids: BTreeSet<String> = hand_keys.keys().cloned().collect();
    if let Some(table) = table {
        ids.extend(table.priced_claude_ids().map(str::to_owned));
    }

    let mut resolved = Resolved {
        sources: BTreeMap::new(),
        disagreements: Vec::new(),
        rows: BTreeMap::new(),
    };
    for id in ids {
        let row = table.and_then(|t| t.claude_model(&id));
        if let Some(row) = row {
            resolved.rows.insert(id.clone(), row.clone());
        }
        let key = hand_keys.get(&id).cloned().unwrap_or_else(|| id.clone());
        let path = format!("prices.models.{key}");
        let entry = models
            .entry(key.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        let entry = match entry {
            Value::Object(entry) => entry,
            other => return Err(invalid(&path, format!("expected an object, found {other}"))),
        };
        check_keys(entry, MODEL_FIELDS, &path)?;
        let hand_source = PriceSource::built_in(opt_string(entry, "source", &path)?);
        let prefer = opt_bool(entry, "prefer_over_litellm", &path)?.unwrap_or(false);
        let notes = opt_string(entry, "notes", &path)?;
        let hand = model_price(entry, &path, multipliers, &hand_source)?;
        let litellm = match (table, row.filter(|row| row.is_priced())) {
            (Some(table), Some(row)) => {
                let mut candidate = entry.clone();
                write_litellm(&mut candidate, row);
                model_price(
                    &candidate,
                    &path,
                    multipliers,
                    &PriceSource::of_table(table),
                )?
                .map(|price| (price, candidate))
            }
            _ => None,
        };
        match (hand, litellm) {
            (Some(hand), Some((litellm, _))) if prefer => {
                if !hand.same_figures(&litellm) {
                    resolved.disagreements.push(PriceDisagreement {
                        model: id.clone(),
                        note: notes.unwrap_or_else(|| {
                            format!(
                                "{} is used: its row in prices.json says so.",
                                hand.source.label
                            )
                        }),
                        used: hand.clone(),
                        other: litellm,
                    });
                }
                resolved.sources.insert(id, hand.source);
            }
            (hand, Some((litellm, candidate))) => {
                if let Some(hand) = hand.filter(|hand| !hand.same_figures(&litellm)) {
                    resolved.disagreements.push(PriceDisagreement {
                        model: id.clone(),
                        note: format!(
                            "{} is used: LiteLLM's table comes before a supplement row of \
                             prices.json once it has the model.",
                            litellm.source.label
                        ),
                        used: litellm.clone(),
                        other: hand,
                    });
                }
                *entry = candidate;
                resolved.sources.insert(id, litellm.source);
            }
            (Some(hand), None) => {
                resolved.sources.insert(id, hand.source);
            }
            (None, None) => {}
        }
    }
    Ok(resolved)
}

/// Puts a LiteLLM row's prices into a hand-made entry: each price LiteLLM gives replaces the
/// entry's, each it lacks is removed so that it is derived from LiteLLM's input price. A
/// long-context tier of the row replaces the entry's rule; without one the entry's rule stays.
fn write_litellm(entry: &mut Map<String, Value>, row: &LiteLlmRow) {
    let set = |entry: &mut Map<String, Value>, key: &str, value: Option<f64>| match value {
        Some(value) => {
            entry.insert(key.to_owned(), Value::from(value));
        }
        None => {
            entry.remove(key);
        }
    };
    set(entry, "input", row.input_per_mtok);
    set(entry, "output", row.output_per_mtok);
    set(entry, "cache_write_5m", row.cache_write_5m_per_mtok);
    set(entry, "cache_write_1h", row.cache_write_1h_per_mtok);
    set(entry, "cache_read", row.cache_read_per_mtok);
    if let Some(tier) = &row.long_context {
        if let (Some(input), Some(output)) = (tier.input_per_mtok, tier.output_per_mtok) {
            let mut rule = Map::new();
            rule.insert(
                "above_input_tokens".to_owned(),
                Value::from(tier.above_input_tokens),
            );
            rule.insert("input".to_owned(), Value::from(input));
            rule.insert("output".to_owned(), Value::from(output));
            for (key, value) in [
                ("cache_write_5m", tier.cache_write_5m_per_mtok),
                ("cache_write_1h", tier.cache_write_1h_per_mtok),
                ("cache_read", tier.cache_read_per_mtok),
            ] {
                if let Some(value) = value {
                    rule.insert(key.to_owned(), Value::from(value));
                }
            }
            entry.insert("long_context".to_owned(), Value::Object(rule));
        }
    }
}

/// The price of one model entry, `None` unless both input and output are numbers.
fn model_price(
    m: &Map<String, Value>,
    path: &str,
    multipliers: Multipliers,
    source: &PriceSource,
) -> Result<Option<ModelPrice>> {
    let input = opt_price(m, "input", path)?;
    let output = opt_price(m, "output", path)?;
    let cache_write_5m = opt_price(m, "cache_write_5m", path)?;
    let cache_write_1h = opt_price(m, "cache_write_1h", path)?;
    let cache_read = opt_price(m, "cache_read", path)?;
    let long_context = match m.get("long_context") {
        None | Some(Value::Null) => None,
        Some(value) => {
            let path = format!("{path}.long_context");
            let lc = object(value, &path)?;
            check_keys(
                lc,
                &[
                    "above_input_tokens",
                    "input",
                    "output",
                    "cache_write_5m",
                    "cache_write_1h",
                    "cache_read",
                ],
                &path,
            )?;
            let above = opt_u64(lc, "above_input_tokens", &path)?
                .ok_or_else(|| invalid(&format!("{path}.above_input_tokens"), "missing"))?;
            let lc_input = opt_price(lc, "input", &path)?
                .ok_or_else(|| invalid(&format!("{path}.input"), "missing"))?;
            let lc_output = opt_price(lc, "output", &path)?
                .ok_or_else(|| invalid(&format!("{path}.output"), "missing"))?;
            Some(LongContextPrice {
                above_input_tokens: above,
                input_per_mtok: lc_input,
                output_per_mtok: lc_output,
                cache_write_5m_per_mtok: opt_price(lc, "cache_write_5m", &path)?
                    .unwrap_or_else(|| derived(lc_input, multipliers.write_5m)),
                cache_write_1h_per_mtok: opt_price(lc, "cache_write_1h", &path)?
                    .unwrap_or_else(|| derived(lc_input, multipliers.write_1h)),
                cache_read_per_mtok: opt_price(lc, "cache_read", &path)?
                    .unwrap_or_else(|| derived(lc_input, multipliers.read)),
            })
        }
    };
    Ok(match (input, output) {
        (Some(input), Some(output)) => Some(ModelPrice {
            input_per_mtok: input,
            output_per_mtok: output,
            cache_write_5m_per_mtok: cache_write_5m
                .unwrap_or_else(|| derived(input, multipliers.write_5m)),
            cache_write_1h_per_mtok: cache_write_1h
                .unwrap_or_else(|| derived(input, multipliers.write_1h)),
            cache_read_per_mtok: cache_read.unwrap_or_else(|| derived(input, multipliers.read)),
            long_context,
            source: source.clone(),
        }),
        _ => None,
    })
}

fn read_prices(
    prices: &Value,
    catalog: &mut Catalog,
    sources: &BTreeMap<String, PriceSource>,
    user_priced: &BTreeSet<String>,
) -> Result<()> {
    let root = object(prices, "prices")?;
    check_keys(
        root,
        &[
            "as_of",
            "sources",
            "notes",
            "batch_discount",
            "cache_multipliers",
            "models",
            "aliases",
        ],
        "prices",
    )?;
    catalog.as_of.prices = opt_string(root, "as_of", "prices")?.unwrap_or_default();
    catalog.batch_discount = opt_price(root, "batch_discount", "prices")?.unwrap_or(0.5);
    if catalog.batch_discount > 1.0 {
        return Err(invalid("prices.batch_discount", "must be between 0 and 1"));
    }
    opt_strings(root, "sources", "prices")?;
    opt_strings(root, "notes", "prices")?;
    let multipliers = read_multipliers(root)?;

    if let Some(models) = root.get("models") {
        let models = object(models, "prices.models")?;
        for (id, entry) in models {
            let path = format!("prices.models.{id}");
            let m = object(entry, &path)?;
            check_keys(m, MODEL_FIELDS, &path)?;
            opt_bool(m, "prefer_over_litellm", &path)?;
            let canonical = strip_model(id);
            let source = if user_priced.contains(&canonical) {
                PriceSource::user_override()
            } else {
                match sources.get(&canonical) {
                    Some(source) => source.clone(),
                    None => PriceSource::built_in(opt_string(m, "source", &path)?),
                }
            };
            let price = model_price(m, &path, multipliers, &source)?;
            catalog.models.insert(
                canonical.clone(),
                ModelInfo {
                    id: canonical,
                    class: opt_string(m, "class", &path)?,
                    price,
                    notes: opt_string(m, "notes", &path)?,
                    context_window: None,
                    max_output_tokens: None,
                    deprecation_date: None,
                },
            );
        }
    }

    if let Some(aliases) = root.get("aliases") {
        let aliases = object(aliases, "prices.aliases")?;
        for (alias, target) in aliases {
            let path = format!("prices.aliases.{alias}");
            let target = match target {
                Value::String(target) => strip_model(target),
                other => {
                    return Err(invalid(
                        &path,
                        format!("expected a model id, found {other}"),
                    ))
                }
            };
            if !catalog.models.contains_key(&target) {
                return Err(invalid(
                    &path,
                    format!("points to `{target}`, which is not in prices.models"),
                ));
            }
            catalog.aliases.insert(strip_model(alias), target);
        }
    }
    Ok(())
}

fn read_tiers(tiers: &Value, catalog: &mut Catalog) -> Result<()> {
    let root = object(tiers, "tiers")?;
    check_keys(
        root,
        &["as_of", "sources", "notes", "classes", "tiers"],
        "tiers",
    )?;
    catalog.as_of.tiers = opt_string(root, "as_of", "tiers")?.unwrap_or_default();
    opt_strings(root, "sources", "tiers")?;
    opt_strings(root, "notes", "tiers")?;

    if let Some(classes) = root.get("classes") {
        let classes = object(classes, "tiers.classes")?;
        for (class, entry) in classes {
            let path = format!("tiers.classes.{class}");
            let c = object(entry, &path)?;
            check_keys(c, &["cache_reads_count_toward_itpm", "notes"], &path)?;
            catalog.classes.insert(
                class.clone(),
                ClassInfo {
                    cache_reads_count_toward_itpm: opt_bool(
                        c,
                        "cache_reads_count_toward_itpm",
                        &path,
                    )?,
                    notes: opt_string(c, "notes", &path)?,
                },
            );
        }
    }

    if let Some(table) = root.get("tiers") {
        let table = object(table, "tiers.tiers")?;
        for (key, entry) in table {
            let path = format!("tiers.tiers.{key}");
            let t = object(entry, &path)?;
            check_keys(
                t,
                &[
                    "name",
                    "scheme",
                    "monthly_spend_cap_usd",
                    "credit_purchase_to_reach_usd",
                    "max_single_credit_purchase_usd",
                    "batch",
                    "classes",
                    "notes",
                ],
                &path,
            )?;
            let monthly_spend_cap = match t.get("monthly_spend_cap_usd") {
                None | Some(Value::Null) => SpendCap::Unknown,
                Some(Value::String(text)) if text == "none" => SpendCap::Unlimited,
                Some(Value::String(text)) => {
                    return Err(invalid(
                        &format!("{path}.monthly_spend_cap_usd"),
                        format!("expected a number, \"none\" or null, found \"{text}\""),
                    ))
                }
                Some(_) => {
                    SpendCap::Usd(opt_price(t, "monthly_spend_cap_usd", &path)?.unwrap_or_default())
                }
            };
            let batch = match t.get("batch") {
                None | Some(Value::Null) => None,
                Some(value) => {
                    let path = format!("{path}.batch");
                    let b = object(value, &path)?;
                    check_keys(
                        b,
                        &[
                            "requests_per_minute",
                            "max_in_queue",
                            "max_requests_per_batch",
                        ],
                        &path,
                    )?;
                    Some(BatchLimits {
                        requests_per_minute: opt_u64(b, "requests_per_minute", &path)?,
                        max_in_queue: opt_u64(b, "max_in_queue", &path)?,
                        max_requests_per_batch: opt_u64(b, "max_requests_per_batch", &path)?,
                    })
                }
            };
            let mut classes = BTreeMap::new();
            if let Some(value) = t.get("classes") {
                let class_path = format!("{path}.classes");
                for (class, entry) in object(value, &class_path)? {
                    let path = format!("{class_path}.{class}");
                    let c = object(entry, &path)?;
                    check_keys(
                        c,
                        &[
                            "requests_per_minute",
                            "input_tokens_per_minute",
                            "output_tokens_per_minute",
                            "cache_reads_count_toward_itpm",
                            "long_context_input_tokens_per_minute",
                            "long_context_output_tokens_per_minute",
                            "notes",
                        ],
                        &path,
                    )?;
                    classes.insert(
                        class.clone(),
                        ClassLimits {
                            requests_per_minute: opt_u64(c, "requests_per_minute", &path)?,
                            input_tokens_per_minute: opt_u64(c, "input_tokens_per_minute", &path)?,
                            output_tokens_per_minute: opt_u64(
                                c,
                                "output_tokens_per_minute",
                                &path,
                            )?,
                            cache_reads_count_toward_itpm: opt_bool(
                                c,
                                "cache_reads_count_toward_itpm",
                                &path,
                            )?,
                            long_context_input_tokens_per_minute: opt_u64(
                                c,
                                "long_context_input_tokens_per_minute",
                                &path,
                            )?,
                            long_context_output_tokens_per_minute: opt_u64(
                                c,
                                "long_context_output_tokens_per_minute",
                                &path,
                            )?,
                            notes: opt_string(c, "notes", &path)?,
                        },
                    );
                }
            }
            let key = tier_key(key);
            catalog.tiers.insert(
                key.clone(),
                Tier {
                    name: opt_string(t, "name", &path)?.unwrap_or_else(|| key.clone()),
                    key,
                    scheme: opt_string(t, "scheme", &path)?.unwrap_or_default(),
                    monthly_spend_cap,
                    credit_purchase_to_reach_usd: opt_price(
                        t,
                        "credit_purchase_to_reach_usd",
                        &path,
                    )?,
                    max_single_credit_purchase_usd: opt_price(
                        t,
                        "max_single_credit_purchase_usd",
                        &path,
                    )?,
                    batch,
                    classes,
                    notes: opt_strings(t, "notes", &path)?,
                },
            );
        }
    }
    Ok(())
}

/// A cache price derived from an input price, rounded to a millionth of a dollar so that
/// $6 × 0.1 reads as $0.60 rather than $0.6000000000000001.
fn derived(input_per_mtok: f64, multiplier: f64) -> f64 {
    (input_per_mtok * multiplier * 1e6).round() / 1e6
}

fn invalid(path: &str, message: impl Into<String>) -> Error {
    let message = message.into();
    if path.is_empty() {
        Error::Config(format!("catalog override: {message}"))
    } else {
        Error::Config(format!("catalog field `{path}`: {message}"))
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>> {
    value
        .as_object()
        .ok_or_else(|| invalid(path, format!("expected an object, found {value}")))
}

fn check_keys(map: &Map<String, Value>, allowed: &[&str], path: &str) -> Result<()> {
    match map.keys().find(|key| !allowed.contains(&key.as_str())) {
        Some(key) => Err(invalid(
            &join(path, key),
            format!("unknown field (expected one of: {})", allowed.join(", ")),
        )),
        None => Ok(()),
    }
}

/// A price, multiplier or amount: a finite number ≥ 0, or null / absent.
fn opt_price(map: &Map<String, Value>, key: &str, path: &str) -> Result<Option<f64>> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => match value.as_f64() {
            Some(number) if number.is_finite() && number >= 0.0 => Ok(Some(number)),
            _ => Err(invalid(
                &join(path, key),
                format!("expected a number ≥ 0 or null, found {value}"),
            )),
        },
    }
}

fn opt_u64(map: &Map<String, Value>, key: &str, path: &str) -> Result<Option<u64>> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value.as_u64().map(Some).ok_or_else(|| {
            invalid(
                &join(path, key),
                format!("expected a whole number ≥ 0 or null, found {value}"),
            )
        }),
    }
}

fn opt_bool(map: &Map<String, Value>, key: &str, path: &str) -> Result<Option<bool>> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(flag)) => Ok(Some(*flag)),
        Some(value) => Err(invalid(
            &join(path, key),
            format!("expected true, false or null, found {value}"),
        )),
    }
}

fn opt_string(map: &Map<String, Value>, key: &str, path: &str) -> Result<Option<String>> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(value) => Err(invalid(
            &join(path, key),
            format!("expected a string or null, found {value}"),
        )),
    }
}

fn opt_strings(map: &Map<String, Value>, key: &str, path: &str) -> Result<Vec<String>> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(index, item)| match item {
                Value::String(text) => Ok(text.clone()),
                other => Err(invalid(
                    &format!("{}[{index}]", join(path, key)),
                    format!("expected a string, found {other}"),
                )),
            })
            .collect(),
        Some(value) => Err(invalid(
            &join(path, key),
            format!("expected a list of strings, found {value}"),
        )),
    }
}

#[cfg(test)]
mod provider_price_tests {
    use super::*;

    #[test]
    fn other_providers_are_priced_from_the_same_table() {
        let catalog = Catalog::builtin();
        // The bundled LiteLLM snapshot's rows (USD per token 2.5e-6 and 1e-5 for gpt-4o).
        let gpt = catalog
            .provider_price("gpt-4o")
            .expect("gpt-4o is in the table");
        assert!((gpt.input_per_mtok - 2.5).abs() < 1e-9);
        assert!((gpt.output_per_mtok - 10.0).abs() < 1e-9);
        let cost = gpt.cost_usd(1_000, 1_000, 100);
        assert!((cost - (0.0025 + 0.00125 + 0.001)).abs() < 1e-12, "{cost}");
        assert!(catalog.provider_price("gemini/gemini-2.5-flash").is_some());
        assert!(catalog.provider_price("claude-opus-4-6").is_none());
    }
}
