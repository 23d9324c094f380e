//! What tokens cost: one request's price from the catalog (cache writes and reads, batch discount,
//! long context), what prompt caching saved, and sums that remember whether any part had no
//! known price.
//!
//! A model without a known price contributes $0 and sets `unknown_price`; every sum that includes
//! one carries `includes_unknown_price`, so the UI says "price unknown" rather than a wrong total.
//!
//! Every [`Cost`] says which kind of source priced it ([`PriceSourceKind`]: LiteLLM's table, a
//! hand-made row, the user's override, or the client's own reported cost);
//! [`cost_source_label`] turns that into words for one model.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, ModelPrice, PriceSourceKind};
use crate::usage::{TokenCounts, UsageRecord};

/// The cost of one request (or one bucket of tokens of one model).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Cost {
    /// USD; 0 when the price is unknown.
    pub usd: f64,
    /// The model has no known price.
    pub unknown_price: bool,
    /// The long-context prices applied.
    pub long_context: bool,
    /// Which kind of source priced it; `None` when nothing did (unknown price, or no tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<PriceSourceKind>,
}

/// The per-million prices one request is billed at, after the long-context rule and the batch
/// discount.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Rates {
    input: f64,
    output: f64,
    cache_write_5m: f64,
    cache_write_1h: f64,
    cache_read: f64,
    long_context: bool,
}

fn rates(
    price: &ModelPrice,
    tokens: &TokenCounts,
    service_tier: Option<&str>,
    catalog: &Catalog,
) -> Rates {
    let mut rates = Rates {
        input: price.input_per_mtok,
        output: price.output_per_mtok,
        cache_write_5m: price.cache_write_5m_per_mtok,
        cache_write_1h: price.cache_write_1h_per_mtok,
        cache_read: price.cache_read_per_mtok,
        long_context: false,
    };
    if let Some(rule) = price.long_context {
        if tokens.total_input() > rule.above_input_tokens {
            rates = Rates {
                input: rule.input_per_mtok,
                output: rule.output_per_mtok,
                cache_write_5m: rule.cache_write_5m_per_mtok,
                cache_write_1h: rule.cache_write_1h_per_mtok,
                cache_read: rule.cache_read_per_mtok,
                long_context: true,
            };
        }
    }
    if is_batch(service_tier) {
        // The discount stacks with the cache and long-context prices (api-facts D1).
        let keep = 1.0 - catalog.batch_discount;
        rates.input *= keep;
        rates.output *= keep;
        rates.cache_write_5m *= keep;
        rates.cache_write_1h *= keep;
        rates.cache_read *= keep;
    }
    rates
}

fn is_batch(service_tier: Option<&str>) -> bool {
    service_tier.is_some_and(|tier| tier.trim().eq_ignore_ascii_case("batch"))
}

fn per_mtok(tokens: u64, usd_per_mtok: f64) -> f64 {
    tokens as f64 * usd_per_mtok / 1_000_000.0
}

/// What `tokens` of `model` cost. Service tiers other than `batch` (standard, priority…) are billed
/// at the standard price: Priority Tier prices were not recovered. Zero tokens cost $0 whatever the
/// model, so an empty line of an unknown model does not make a total "unknown".
pub fn cost_of(
    tokens: &TokenCounts,
    model: &str,
    service_tier: Option<&str>,
    catalog: &Catalog,
) -> Cost {
    if tokens.total() == 0 {
        return Cost::default();
    }
    let Some(price) = catalog.price(model) else {
        return Cost {
            usd: 0.0,
            unknown_price: true,
            long_context: false,
            source: None,
        };
    };
    let rates = rates(price, tokens, service_tier, catalog);
    Cost {
        source: Some(price.source.kind),
        usd: per_mtok(tokens.input, rates.input)
            + per_mtok(tokens.output, rates.output)
            + per_mtok(tokens.cache_write_5m, rates.cache_write_5m)
            + per_mtok(tokens.cache_write_1h, rates.cache_write_1h)
            + per_mtok(tokens.cache_read, rates.cache_read),
        unknown_price: false,
        long_context: rates.long_context,
    }
}

/// The cost of one usage record: the cost the source itself reported (old Claude Code `costUSD`)
/// when there is one, else from the catalog, else unknown.
pub fn cost_of_record(record: &UsageRecord, catalog: &Catalog) -> Cost {
    // A cost the source reported itself (older Claude Code versions write `costUSD`) was computed
    // at the time with the prices then in force, so it wins over today's table, as ccusage's
    // default "auto" mode does.
    if let Some(reported) = record
        .reported_cost_usd
        .filter(|usd| usd.is_finite() && *usd >= 0.0)
    {
        return Cost {
            usd: reported,
            unknown_price: false,
            long_context: false,
            source: Some(PriceSourceKind::ReportedByClient),
        };
    }
    cost_of(
        &record.tokens,
        &record.model,
        record.service_tier.as_deref(),
        catalog,
    )
}

/// Which source priced `cost` of `model`, in words: the price's label ("LiteLLM 1.110.2
/// (bundled)", "your override"…), "reported by the client" for a cost the log carried, `None` for
/// an unknown price.
pub fn cost_source_label(cost: &Cost, model: &str, catalog: &Catalog) -> Option<String> {
    source_label(cost.source, model, catalog)
}

/// [`cost_source_label`] from the kind of source alone.
pub fn source_label(
    kind: Option<PriceSourceKind>,
    model: &str,
    catalog: &Catalog,
) -> Option<String> {
    match kind? {
        PriceSourceKind::ReportedByClient => Some("reported by the client".to_owned()),
        _ => catalog
            .price_source(model)
            .map(|source| source.label.clone()),
    }
}

/// Which source priced the cost of one model in a report, and how much of it: a report's costs
/// can each be traced to the table, hand-made row, override or client figure behind them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PriceSourceUse {
    /// The canonical model id.
    pub model: String,
    /// The kind of source; `null` when the price is unknown (those records count no cost).
    pub kind: Option<PriceSourceKind>,
    /// The source in words ("LiteLLM 1.110.2 (bundled)", "reported by the client"); `null` when
    /// the price is unknown.
    pub source: Option<String>,
    /// How many records it priced.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub records: u64,
    /// The USD it priced.
    pub cost_usd: f64,
}

/// Counts, record by record, which source priced how much of each model's cost.
#[derive(Debug, Default)]
pub struct SourceTally {
    /// Per canonical model, each kind of source with its records and femto-dollars, summed
    /// exactly as [`CostTotal`] does (a model has one or two kinds: its price, and perhaps costs
    /// the client reported).
    models: BTreeMap<String, Vec<(Option<PriceSourceKind>, u64, i128)>>,
}

impl SourceTally {
    /// Counts one record's cost under its canonical model id. A record that nothing priced and
    /// that has no unknown price either (no tokens) is not a cost and is left out.
    pub fn add(&mut self, model: &str, cost: &Cost) {
        if cost.source.is_none() && !cost.unknown_price {
            return;
        }
        let kinds = match self.models.get_mut(model) {
            Some(kinds) => kinds,
            None => self.models.entry(model.to_owned()).or_default(),
        };
        match kinds.iter_mut().find(|(kind, _, _)| *kind == cost.source) {
            Some((_, records, sum)) => {
                *records += 1;
                *sum += femto(cost.usd);
            }
            None => kinds.push((cost.source, 1, femto(cost.usd))),
        }
    }

    /// Every model and source, by model and then in the order first seen, with their labels.
    pub fn finish(self, catalog: &Catalog) -> Vec<PriceSourceUse> {
        let mut out = Vec::new();
        for (model, kinds) in self.models {
            for (kind, records, sum) in kinds {
                out.push(PriceSourceUse {
                    source: source_label(kind, &model, catalog),
                    model: model.clone(),
                    kind,
                    records,
                    cost_usd: usd(sum),
                });
            }
        }
        out
    }
}

/// What prompt caching did to a bill.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CacheSavings {
    /// What the cache reads would have cost as plain input, minus what they cost.
    pub read_savings_usd: f64,
    /// What the cache writes cost beyond plain input (writes cost 1.25× or 2× input).
    pub write_premium_usd: f64,
    /// `read_savings_usd - write_premium_usd`; negative when caching cost more than it saved.
    pub net_usd: f64,
    pub includes_unknown_price: bool,
}

impl CacheSavings {
    /// Field-wise sum.
    pub fn add(&mut self, other: &CacheSavings) {
        self.read_savings_usd += other.read_savings_usd;
        self.write_premium_usd += other.write_premium_usd;
        self.net_usd += other.net_usd;
        self.includes_unknown_price |= other.includes_unknown_price;
    }
}

/// What caching saved on `tokens` of `model`, at the prices the request was billed at (long
/// context and batch included).
pub fn cache_savings(
    tokens: &TokenCounts,
    model: &str,
    service_tier: Option<&str>,
    catalog: &Catalog,
) -> CacheSavings {
    if tokens.cache_read == 0 && tokens.cache_write() == 0 {
        return CacheSavings::default();
    }
    let Some(price) = catalog.price(model) else {
        return CacheSavings {
            includes_unknown_price: true,
            ..CacheSavings::default()
        };
    };
    let rates = rates(price, tokens, service_tier, catalog);
    let read_savings_usd = per_mtok(tokens.cache_read, rates.input - rates.cache_read);
    let write_premium_usd = per_mtok(tokens.cache_write_5m, rates.cache_write_5m - rates.input)
        + per_mtok(tokens.cache_write_1h, rates.cache_write_1h - rates.input);
    CacheSavings {
        read_savings_usd,
        write_premium_usd,
        net_usd: read_savings_usd - write_premium_usd,
        includes_unknown_price: false,
    }
}

/// A sum of costs that remembers whether any part had no known price.
///
/// The sum is kept exactly, in femto-dollars, and `usd` is that sum as a float: a float sum
/// depends on the order of its parts, and the ledger's order follows the ingest workers', so the
/// same history gave totals that differed in the 15th digit from one run to the next.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CostTotal {
    pub usd: f64,
    pub includes_unknown_price: bool,
    femto: i128,
}

impl CostTotal {
    /// Adds one cost.
    pub fn add(&mut self, cost: &Cost) {
        self.femto += femto(cost.usd);
        self.usd = usd(self.femto);
        self.includes_unknown_price |= cost.unknown_price;
    }

    /// Adds another total.
    pub fn merge(&mut self, other: &CostTotal) {
        self.femto += other.femto;
        self.usd = usd(self.femto);
        self.includes_unknown_price |= other.includes_unknown_price;
    }
}

/// USD as a whole number of femto-dollars (10⁻¹⁵ USD, far below any price's precision).
fn femto(usd: f64) -> i128 {
    // Not finite (never a price, but never a panic either): counts nothing.
    if usd.is_finite() {
        (usd * 1e15).round() as i128
    } else {
        0
    }
}

/// Femto-dollars as USD.
fn usd(femto: i128) -> f64 {
    femto as f64 / 1e15
}
