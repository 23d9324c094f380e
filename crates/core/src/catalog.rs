//! The built-in catalogs of prices and rate-limit tiers (`data/prices.json`, `data/tiers.json`),
//! each with its "as of" date, and the user's override file merged on top.
//!
//! Prices and limits change more often than releases ship, so both are data rather than code, and
//! the user can replace or add any entry. Reading the override file is the engine's job; this
//! module takes its text. A value that was not recovered from a public source is `null` in the
//! data and `None` here: nothing is guessed.
//!
//! Override file shape: `{"prices": {…part of prices.json…}, "tiers": {…part of tiers.json…}}`.
//! Objects are merged key by key into the built-in ones (so one field of one class of one tier can
//! be changed); any other value, arrays included, replaces the built-in one. Unknown keys are
//! errors, so a typo does not silently do nothing.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::ratelimit::RateLimitSnapshot;

/// The shipped price table.
pub const BUILTIN_PRICES_JSON: &str = include_str!("../data/prices.json");
/// The shipped tier table.
pub const BUILTIN_TIERS_JSON: &str = include_str!("../data/tiers.json");

/// The "as of" dates of the two tables (`YYYY-MM`, as the files say).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AsOf {
    pub prices: String,
    pub tiers: String,
}

/// Prices of one model in USD per million tokens, with the cache prices already resolved (given
/// per model, or derived from the input price with the catalog's cache multipliers).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ModelPrice {
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
    pub cache_write_5m_per_mtok: f64,
    pub cache_write_1h_per_mtok: f64,
    pub cache_read_per_mtok: f64,
    /// Prices for the whole request once its total input passes a threshold.
    pub long_context: Option<LongContextPrice>,
}

/// A long-context rule: when a request's total input (uncached + cache writes + cache reads) is
/// above `above_input_tokens`, every token of the request is billed at these prices instead.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LongContextPrice {
    pub above_input_tokens: u64,
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
    pub cache_write_5m_per_mtok: f64,
    pub cache_write_1h_per_mtok: f64,
    pub cache_read_per_mtok: f64,
}

/// One model of the price table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelInfo {
    /// The canonical id (`claude-sonnet-4-5`).
    pub id: String,
    /// The rate-limit class whose bucket it shares (`sonnet-4`).
    pub class: Option<String>,
    /// `None` when input or output price is not known.
    pub price: Option<ModelPrice>,
    pub notes: Option<String>,
}

/// The defaults of a model class, whatever the tier.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct BatchLimits {
    pub requests_per_minute: Option<u64>,
    pub max_in_queue: Option<u64>,
    pub max_requests_per_batch: Option<u64>,
}

/// A tier's monthly spend cap.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Catalog {
    pub as_of: AsOf,
    /// The share taken off every token price for `service_tier: "batch"` (0.5).
    pub batch_discount: f64,
    /// True when a user override was merged in.
    pub overridden: bool,
    models: BTreeMap<String, ModelInfo>,
    aliases: BTreeMap<String, String>,
    classes: BTreeMap<String, ClassInfo>,
    tiers: BTreeMap<String, Tier>,
}

impl Catalog {
    /// The shipped tables.
    pub fn builtin() -> Catalog {
        Self::shared().clone()
    }

    /// The shipped tables, parsed once per process: the monitor normalises model ids on every
    /// observation, and parsing the shipped JSON each time cost about a millisecond a call.
    pub fn shared() -> &'static Catalog {
        static SHARED: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
        SHARED.get_or_init(|| match Self::build(None) {
            Ok(catalog) => catalog,
            // The shipped files are checked by the tests; an empty catalog (everything "unknown")
            // is the honest fallback should one ever be broken.
            Err(_) => Catalog::empty(),
        })
    }

    /// The shipped tables with the user's override file (its text) merged on top.
    pub fn with_override(user_json: &str) -> Result<Catalog> {
        Self::build(Some(user_json))
    }

    fn empty() -> Catalog {
        Catalog {
            as_of: AsOf {
                prices: String::new(),
                tiers: String::new(),
            },
            batch_discount: 0.5,
            overridden: false,
            models: BTreeMap::new(),
            aliases: BTreeMap::new(),
            classes: BTreeMap::new(),
            tiers: BTreeMap::new(),
        }
    }

    fn build(user_json: Option<&str>) -> Result<Catalog> {
        let mut prices: Value = serde_json::from_str(BUILTIN_PRICES_JSON)
            .map_err(|e| Error::Parse(format!("built-in prices.json: {e}")))?;
        let mut tiers: Value = serde_json::from_str(BUILTIN_TIERS_JSON)
            .map_err(|e| Error::Parse(format!("built-in tiers.json: {e}")))?;
        let overridden = user_json.is_some();
        if let Some(text) = user_json {
            let user: Value = serde_json::from_str(text)
                .map_err(|e| Error::Parse(format!("catalog override is not valid JSON: {e}")))?;
            let user = object(&user, "")?;
            check_keys(user, &["prices", "tiers"], "")?;
            if let Some(user_prices) = user.get("prices") {
                object(user_prices, "prices")?;
                merge(&mut prices, user_prices);
            }
            if let Some(user_tiers) = user.get("tiers") {
                object(user_tiers, "tiers")?;
                merge(&mut tiers, user_tiers);
            }
        }
        let mut catalog = Catalog::empty();
        catalog.overridden = overridden;
        read_prices(&prices, &mut catalog)?;
        read_tiers(&tiers, &mut catalog)?;
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
pub(crate) fn strip_model(model: &str) -> String {
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

fn read_prices(prices: &Value, catalog: &mut Catalog) -> Result<()> {
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

    let (write_5m, write_1h, read) = match root.get("cache_multipliers") {
        None | Some(Value::Null) => (1.25, 2.0, 0.1),
        Some(value) => {
            let path = "prices.cache_multipliers";
            let m = object(value, path)?;
            check_keys(m, &["write_5m", "write_1h", "read"], path)?;
            (
                opt_price(m, "write_5m", path)?.unwrap_or(1.25),
                opt_price(m, "write_1h", path)?.unwrap_or(2.0),
                opt_price(m, "read", path)?.unwrap_or(0.1),
            )
        }
    };

    if let Some(models) = root.get("models") {
        let models = object(models, "prices.models")?;
        for (id, entry) in models {
            let path = format!("prices.models.{id}");
            let m = object(entry, &path)?;
            check_keys(
                m,
                &[
                    "class",
                    "input",
                    "output",
                    "cache_write_5m",
                    "cache_write_1h",
                    "cache_read",
                    "long_context",
                    "notes",
                ],
                &path,
            )?;
            let input = opt_price(m, "input", &path)?;
            let output = opt_price(m, "output", &path)?;
            let cache_write_5m = opt_price(m, "cache_write_5m", &path)?;
            let cache_write_1h = opt_price(m, "cache_write_1h", &path)?;
            let cache_read = opt_price(m, "cache_read", &path)?;
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
                            .unwrap_or_else(|| derived(lc_input, write_5m)),
                        cache_write_1h_per_mtok: opt_price(lc, "cache_write_1h", &path)?
                            .unwrap_or_else(|| derived(lc_input, write_1h)),
                        cache_read_per_mtok: opt_price(lc, "cache_read", &path)?
                            .unwrap_or_else(|| derived(lc_input, read)),
                    })
                }
            };
            let price = match (input, output) {
                (Some(input), Some(output)) => Some(ModelPrice {
                    input_per_mtok: input,
                    output_per_mtok: output,
                    cache_write_5m_per_mtok: cache_write_5m
                        .unwrap_or_else(|| derived(input, write_5m)),
                    cache_write_1h_per_mtok: cache_write_1h
                        .unwrap_or_else(|| derived(input, write_1h)),
                    cache_read_per_mtok: cache_read.unwrap_or_else(|| derived(input, read)),
                    long_context,
                }),
                _ => None,
            };
            let canonical = strip_model(id);
            catalog.models.insert(
                canonical.clone(),
                ModelInfo {
                    id: canonical,
                    class: opt_string(m, "class", &path)?,
                    price,
                    notes: opt_string(m, "notes", &path)?,
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
