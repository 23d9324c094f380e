//! LiteLLM's model price table (the one ccusage prices from): its parser, the snapshot bundled in
//! the binary, and the rules that refuse a refreshed table that looks broken.
//!
//! Two shapes are read. The upstream file (`model_prices_and_context_window.json` in
//! BerriAI/litellm) is one object of rows keyed by model; our snapshots, the bundled
//! `data/litellm-prices.json` (written by `scripts/update-prices.py` from a pinned PyPI wheel) and
//! the engine's last good refresh, are `{"source": {…}, "models": {rows}}`. Rows are in LiteLLM's
//! own field names and units (USD per token); this module converts to USD per million tokens.
//!
//! What is kept:
//! - every row whose `litellm_provider` is `anthropic`, keyed by its canonical id (catalog's
//!   `strip_model`: lower case, no `-YYYYMMDD`, no `[1m]`). A dated and an undated key of one
//!   model become one row (the undated one wins); `anthropic/claude-…` keys count only when their
//!   provider is `anthropic` (Bedrock's and Vertex's rows are other prices);
//! - the `openai` and `gemini` rows whose `mode` is `chat`, verbatim, for a later fallback to other
//!   providers;
//! - of each row, only [`KEPT_FIELDS`] and the long-context tiers (`…_above_200k_tokens`).
//!
//! Everything else (other providers, unknown fields, rows that are not objects, a price that is not
//! a number) is skipped, not an error, because the upstream table changes shape often. The input is
//! bounded ([`MAX_TABLE_BYTES`], [`MAX_ROWS_KEPT`]) and read one row at a time, so a 30 MB upstream
//! file never becomes one 30 MB tree in memory.
//!
//! [`check_refresh`] is the guard a refreshed table passes before it replaces the last good one.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{DeserializeSeed, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::catalog::strip_model;
use crate::error::{Error, Result};

/// The bundled snapshot (LiteLLM 1.110.2, taken by `scripts/update-prices.py`).
pub const BUNDLED_LITELLM_JSON: &str = include_str!("../data/litellm-prices.json");

/// The largest table text [`LiteLlmTable::parse`] reads (the upstream file is about 3.5 MB).
pub const MAX_TABLE_BYTES: usize = 32 * 1024 * 1024;
/// The most rows one table may keep (Claude plus the other providers' chat rows).
pub const MAX_ROWS_KEPT: usize = 20_000;
/// The longest model key that is kept.
const MAX_KEY_LEN: usize = 200;

/// The row fields Claude Status reads, under LiteLLM's names. Keep in step with `KEPT_FIELDS` in
/// `scripts/update-prices.py`. The long-context tiers (`<price field>_above_<N>k_tokens`) are kept
/// too.
pub const KEPT_FIELDS: &[&str] = &[
    "input_cost_per_token",
    "output_cost_per_token",
    "cache_read_input_token_cost",
    "cache_creation_input_token_cost",
    "cache_creation_input_token_cost_above_1hr",
    "max_input_tokens",
    "max_output_tokens",
    "litellm_provider",
    "mode",
    "deprecation_date",
];

/// The price fields a long-context tier may repeat with `_above_<N>k_tokens`.
const TIER_BASES: &[&str] = &[
    "input_cost_per_token",
    "output_cost_per_token",
    "cache_read_input_token_cost",
    "cache_creation_input_token_cost",
    "cache_creation_input_token_cost_above_1hr",
];

/// Where a table came from: the header of our snapshot files.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSource {
    /// `litellm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// The PyPI version the snapshot was taken from (`1.110.2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The file inside the wheel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// SHA-256 of that file, as extracted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The date the snapshot was taken (`YYYY-MM-DD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taken: Option<String>,
    /// The URL a refreshed table was fetched from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// When a refreshed table was fetched (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetched_at: Option<String>,
}

/// How the table in use reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableKind {
    /// The snapshot compiled into the binary.
    Bundled,
    /// Fetched from upstream at run time (and kept as the last good table).
    Fetched,
    /// Read from some other file (a snapshot passed in by hand, a test).
    File,
}

/// The long-context tier of a row: above `above_input_tokens` of total input, every token of the
/// request is billed at these prices (USD per million tokens; `None`: the row does not say).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LiteLlmTier {
    pub above_input_tokens: u64,
    pub input_per_mtok: Option<f64>,
    pub output_per_mtok: Option<f64>,
    pub cache_read_per_mtok: Option<f64>,
    pub cache_write_5m_per_mtok: Option<f64>,
    pub cache_write_1h_per_mtok: Option<f64>,
}

/// One row of the table, in USD per million tokens.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiteLlmRow {
    /// The key as the table spells it (`claude-haiku-4-5-20251001`, `anthropic/claude-…`).
    pub key: String,
    pub provider: String,
    pub mode: Option<String>,
    pub input_per_mtok: Option<f64>,
    pub output_per_mtok: Option<f64>,
    pub cache_read_per_mtok: Option<f64>,
    /// `cache_creation_input_token_cost`: the 5-minute write.
    pub cache_write_5m_per_mtok: Option<f64>,
    /// `cache_creation_input_token_cost_above_1hr`: the 1-hour write.
    pub cache_write_1h_per_mtok: Option<f64>,
    /// The lowest long-context tier, when the row has one.
    pub long_context: Option<LiteLlmTier>,
    pub max_input_tokens: Option<u64>,
    pub max_output_tokens: Option<u64>,
    pub deprecation_date: Option<String>,
    /// The kept fields verbatim, to write the row back into a snapshot.
    #[serde(skip)]
    fields: Map<String, Value>,
}

impl LiteLlmRow {
    /// Whether the row prices a request: both input and output are numbers.
    pub fn is_priced(&self) -> bool {
        self.input_per_mtok.is_some() && self.output_per_mtok.is_some()
    }

    /// The row's prices as (name, USD per million tokens), long-context tier included; used to
    /// compare two tables.
    fn prices(&self) -> Vec<(&'static str, f64)> {
        let mut out = Vec::new();
        let mut push = |name: &'static str, value: Option<f64>| {
            if let Some(value) = value {
                out.push((name, value));
            }
        };
        push("input", self.input_per_mtok);
        push("output", self.output_per_mtok);
        push("cache read", self.cache_read_per_mtok);
        push("5-minute cache write", self.cache_write_5m_per_mtok);
        push("1-hour cache write", self.cache_write_1h_per_mtok);
        if let Some(tier) = &self.long_context {
            push("long-context input", tier.input_per_mtok);
            push("long-context output", tier.output_per_mtok);
            push("long-context cache read", tier.cache_read_per_mtok);
            push(
                "long-context 5-minute cache write",
                tier.cache_write_5m_per_mtok,
            );
            push(
                "long-context 1-hour cache write",
                tier.cache_write_1h_per_mtok,
            );
        }
        out
    }
}

/// A parsed LiteLLM table: its Claude rows by canonical id, the other providers' chat rows, and
/// where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct LiteLlmTable {
    kind: TableKind,
    source: TableSource,
    claude: BTreeMap<String, LiteLlmRow>,
    /// The rank of the key that gave each Claude row (lower wins), see [`key_rank`].
    ranks: BTreeMap<String, u8>,
    others: BTreeMap<String, LiteLlmRow>,
    rows_read: usize,
}

impl LiteLlmTable {
    /// Parses a table: either the upstream file or one of our snapshots. Unknown fields, rows of
    /// other providers and malformed rows are skipped; text that is not a JSON object, is larger
    /// than [`MAX_TABLE_BYTES`] or keeps more than [`MAX_ROWS_KEPT`] rows is an error.
    pub fn parse(text: &str) -> Result<LiteLlmTable> {
        if text.len() > MAX_TABLE_BYTES {
            return Err(Error::Parse(format!(
                "the price table is {} bytes, more than the {} bytes allowed",
                text.len(),
                MAX_TABLE_BYTES
            )));
        }
        let mut table = LiteLlmTable::empty(TableKind::File);
        let mut deserializer = serde_json::Deserializer::from_str(text);
        TopLevel(&mut table)
            .deserialize(&mut deserializer)
            .and_then(|()| deserializer.end())
            .map_err(|e| Error::Parse(format!("the price table is not valid JSON: {e}")))?;
        if table.source.fetched_at.is_some() {
            table.kind = TableKind::Fetched;
        }
        Ok(table)
    }

    /// The snapshot compiled into the binary, parsed once per process. Should it ever fail to
    /// parse (the tests make sure it does not), it is an empty table: every model the hand-made
    /// data does not price is then "price unknown", never a guess.
    pub fn bundled() -> &'static LiteLlmTable {
        static BUNDLED: std::sync::OnceLock<LiteLlmTable> = std::sync::OnceLock::new();
        BUNDLED.get_or_init(|| {
            let mut table = LiteLlmTable::parse(BUNDLED_LITELLM_JSON)
                .unwrap_or_else(|_| LiteLlmTable::empty(TableKind::Bundled));
            table.kind = TableKind::Bundled;
            table
        })
    }

    fn empty(kind: TableKind) -> LiteLlmTable {
        LiteLlmTable {
            kind,
            source: TableSource::default(),
            claude: BTreeMap::new(),
            ranks: BTreeMap::new(),
            others: BTreeMap::new(),
            rows_read: 0,
        }
    }

    /// Marks a table as fetched from `url` at `at` (the engine calls this on a fresh download).
    pub fn fetched(mut self, url: &str, at: DateTime<Utc>) -> LiteLlmTable {
        self.kind = TableKind::Fetched;
        self.source.package = Some("litellm".to_owned());
        self.source.url = Some(url.to_owned());
        self.source.fetched_at = Some(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        self
    }

    /// How the table reached us.
    pub fn kind(&self) -> TableKind {
        self.kind
    }

    /// The snapshot header (empty for a raw upstream file).
    pub fn source(&self) -> &TableSource {
        &self.source
    }

    /// A label for people: "LiteLLM 1.110.2 (bundled)", "LiteLLM upstream, fetched 2026-12-02".
    pub fn label(&self) -> String {
        let version = self.source.version.as_deref();
        match (self.kind, version) {
            (TableKind::Bundled, Some(v)) => format!("LiteLLM {v} (bundled)"),
            (TableKind::Bundled, None) => "LiteLLM (bundled)".to_owned(),
            (TableKind::Fetched, _) => match self.as_of() {
                Some(day) => format!("LiteLLM upstream, fetched {day}"),
                None => "LiteLLM upstream".to_owned(),
            },
            (TableKind::File, Some(v)) => format!("LiteLLM {v}"),
            (TableKind::File, None) => "LiteLLM".to_owned(),
        }
    }

    /// The day the prices are as of: when it was fetched, else when the snapshot was taken.
    pub fn as_of(&self) -> Option<String> {
        self.source
            .fetched_at
            .as_deref()
            .or(self.source.taken.as_deref())
            .map(|text| text.chars().take(10).collect())
    }

    /// A Claude row by model id (any spelling `strip_model` maps to its canonical id).
    pub fn claude_model(&self, model: &str) -> Option<&LiteLlmRow> {
        self.claude.get(&strip_model(model))
    }

    /// Every Claude row, by canonical id.
    pub fn claude_models(&self) -> impl Iterator<Item = (&str, &LiteLlmRow)> {
        self.claude.iter().map(|(id, row)| (id.as_str(), row))
    }

    /// The canonical ids of the Claude rows that price a request.
    pub fn priced_claude_ids(&self) -> impl Iterator<Item = &str> {
        self.claude
            .iter()
            .filter(|(_, row)| row.is_priced())
            .map(|(id, _)| id.as_str())
    }

    /// An `openai` or `gemini` chat row by its key as the table spells it.
    pub fn other_model(&self, key: &str) -> Option<&LiteLlmRow> {
        self.others.get(key)
    }

    /// Every kept row of the other providers.
    pub fn other_models(&self) -> impl Iterator<Item = &LiteLlmRow> {
        self.others.values()
    }

    /// How many rows the text had, kept or not.
    pub fn rows_read(&self) -> usize {
        self.rows_read
    }

    /// The table as one of our snapshot files (`{"source": …, "models": …}`), with only the kept
    /// rows and fields: what the engine keeps as the last good table, a few tens of KB instead of
    /// the upstream megabytes, so that reading it at start-up stays cheap.
    pub fn to_snapshot_json(&self) -> String {
        let mut models = Map::new();
        for row in self.claude.values().chain(self.others.values()) {
            models.insert(row.key.clone(), Value::Object(row.fields.clone()));
        }
        let source = serde_json::to_value(&self.source).unwrap_or(Value::Null);
        let mut root = Map::new();
        root.insert("source".to_owned(), source);
        root.insert("models".to_owned(), Value::Object(models));
        Value::Object(root).to_string()
    }

    fn add_row(&mut self, key: String, value: Value) -> std::result::Result<(), String> {
        self.rows_read += 1;
        let Value::Object(object) = value else {
            return Ok(());
        };
        if key.len() > MAX_KEY_LEN {
            return Ok(());
        }
        let provider = match object.get("litellm_provider") {
            Some(Value::String(provider)) => provider.clone(),
            _ => return Ok(()),
        };
        let mode = match object.get("mode") {
            Some(Value::String(mode)) => Some(mode.clone()),
            _ => None,
        };
        let is_claude = provider == "anthropic";
        let is_other =
            (provider == "openai" || provider == "gemini") && mode.as_deref() == Some("chat");
        if !is_claude && !is_other {
            return Ok(());
        }
        if self.claude.len() + self.others.len() >= MAX_ROWS_KEPT {
            return Err(format!("more than {MAX_ROWS_KEPT} rows"));
        }
        let row = read_row(key, provider, mode, object);
        if is_other {
            self.others.insert(row.key.clone(), row);
            return Ok(());
        }
        let Some((canonical, rank)) = key_rank(&row.key) else {
            return Ok(());
        };
        let better = self.ranks.get(&canonical).is_none_or(|old| rank < *old);
        if better {
            self.ranks.insert(canonical.clone(), rank);
            self.claude.insert(canonical, row);
        }
        Ok(())
    }
}

/// The canonical id of a Claude row's key and its rank among the keys of one model: the plain
/// undated key (0) beats a dated or suffixed one (1), which beats `anthropic/…` (2, 3). Keys with
/// another `provider/` prefix are not first-party ids and give `None`.
fn key_rank(key: &str) -> Option<(String, u8)> {
    let (bare, prefixed) = match key.split_once('/') {
        None => (key, 0),
        Some((prefix, rest)) if prefix.eq_ignore_ascii_case("anthropic") && !rest.contains('/') => {
            (rest, 2)
        }
        Some(_) => return None,
    };
    let canonical = strip_model(bare);
    if canonical.is_empty() {
        return None;
    }
    let dated = u8::from(canonical != bare.trim().to_ascii_lowercase());
    Some((canonical, prefixed + dated))
}

/// USD per token to USD per million tokens, rounded to a billionth of a dollar so that 1.25e-07
/// reads as $0.125 rather than $0.12500000000000003.
fn per_mtok(value: Option<&Value>) -> Option<f64> {
    let number = value?.as_f64()?;
    if !number.is_finite() || number < 0.0 {
        return None;
    }
    Some((number * 1e15).round() / 1e9)
}

fn read_row(
    key: String,
    provider: String,
    mode: Option<String>,
    object: Map<String, Value>,
) -> LiteLlmRow {
    let mut fields = Map::new();
    let mut tiers: BTreeMap<u64, [Option<f64>; 5]> = BTreeMap::new();
    for (name, value) in object {
        if KEPT_FIELDS.contains(&name.as_str()) {
            fields.insert(name, value);
        } else if let Some((base, thousands)) = tier_field(&name) {
            if let Some(index) = TIER_BASES.iter().position(|b| *b == base) {
                let slot = tiers.entry(thousands).or_default();
                slot[index] = per_mtok(Some(&value));
                fields.insert(name, value);
            }
        }
    }
    let count = |name: &str| fields.get(name).and_then(Value::as_u64);
    // The lowest tier with an input price is the one a request reaches first; Claude rows have at
    // most one (Haiku 5.5 above 100K, Sonnet 4.5 above 200K upstream).
    let long_context =
        tiers
            .iter()
            .find(|(_, prices)| prices[0].is_some())
            .map(|(thousands, prices)| LiteLlmTier {
                above_input_tokens: thousands.saturating_mul(1000),
                input_per_mtok: prices[0],
                output_per_mtok: prices[1],
                cache_read_per_mtok: prices[2],
                cache_write_5m_per_mtok: prices[3],
                cache_write_1h_per_mtok: prices[4],
            });
    LiteLlmRow {
        input_per_mtok: per_mtok(fields.get("input_cost_per_token")),
        output_per_mtok: per_mtok(fields.get("output_cost_per_token")),
        cache_read_per_mtok: per_mtok(fields.get("cache_read_input_token_cost")),
        cache_write_5m_per_mtok: per_mtok(fields.get("cache_creation_input_token_cost")),
        cache_write_1h_per_mtok: per_mtok(fields.get("cache_creation_input_token_cost_above_1hr")),
        long_context,
        max_input_tokens: count("max_input_tokens"),
        max_output_tokens: count("max_output_tokens"),
        deprecation_date: fields
            .get("deprecation_date")
            .and_then(Value::as_str)
            .map(str::to_owned),
        key,
        provider,
        mode,
        fields,
    }
}

/// `input_cost_per_token_above_200k_tokens` → (`input_cost_per_token`, 200).
fn tier_field(name: &str) -> Option<(&str, u64)> {
    let stem = name.strip_suffix("k_tokens")?;
    let (base, thousands) = stem.rsplit_once("_above_")?;
    if thousands.is_empty() || !thousands.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((base, thousands.parse().ok()?))
}

/// Reads the top-level object one entry at a time: a `source` header, a `models` object of rows
/// (our snapshots), or a row (the upstream file).
struct TopLevel<'a>(&'a mut LiteLlmTable);

impl<'de> DeserializeSeed<'de> for TopLevel<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> std::result::Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TopLevel<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of model rows")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            let value: Value = map.next_value()?;
            let result = match (key.as_str(), value) {
                ("source", Value::Object(header)) if header.contains_key("package") => {
                    self.0.source = serde_json::from_value(Value::Object(header))
                        .map_err(serde::de::Error::custom)?;
                    Ok(())
                }
                ("models", Value::Object(rows)) => rows
                    .into_iter()
                    .try_for_each(|(key, row)| self.0.add_row(key, row)),
                (_, value) => self.0.add_row(key, value),
            };
            result.map_err(serde::de::Error::custom)?;
        }
        Ok(())
    }
}

/// Why a refreshed table was not taken, in a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub reason: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

/// The share of the last good table's priced Claude models a refresh may drop.
pub const MAX_DROPPED_SHARE: f64 = 0.05;
/// The largest factor a Claude price may move by, either way.
pub const MAX_PRICE_FACTOR: f64 = 10.0;

/// Whether a refreshed table may replace the last good one. It is refused when it drops more than
/// 5 % of the priced Claude models `old` had, drops any model in `priced_recently` (the models
/// the ledger priced in the last 30 days, any spelling) that `old` priced, or moves any Claude
/// price of a model in both by more than 10× either way (a price going to or from $0 counts as
/// more). The refusal names the model.
pub fn check_refresh(
    old: &LiteLlmTable,
    new: &LiteLlmTable,
    priced_recently: &[String],
) -> std::result::Result<(), Refusal> {
    let priced_in =
        |table: &LiteLlmTable, id: &str| table.claude.get(id).is_some_and(LiteLlmRow::is_priced);
    let old_ids: Vec<&str> = old.priced_claude_ids().collect();
    if !old_ids.is_empty() && new.priced_claude_ids().next().is_none() {
        return Err(Refusal {
            reason: format!(
                "The new price table has no priced Claude model at all (the last good one had {}).",
                old_ids.len()
            ),
        });
    }

    let mut recent: Vec<String> = priced_recently.iter().map(|m| strip_model(m)).collect();
    recent.sort();
    recent.dedup();
    if let Some(model) = recent
        .iter()
        .find(|id| priced_in(old, id) && !priced_in(new, id))
    {
        return Err(Refusal {
            reason: format!(
                "The new price table drops {model}, which priced your usage in the last 30 days."
            ),
        });
    }

    let dropped: Vec<&str> = old_ids
        .iter()
        .copied()
        .filter(|id| !priced_in(new, id))
        .collect();
    if dropped.len() as f64 > old_ids.len() as f64 * MAX_DROPPED_SHARE {
        return Err(Refusal {
            reason: format!(
                "The new price table drops {} of the {} Claude models the last good one had \
                 (more than 5 %), {} among them.",
                dropped.len(),
                old_ids.len(),
                dropped[0]
            ),
        });
    }

    for id in &old_ids {
        let (Some(before), Some(after)) = (old.claude.get(*id), new.claude.get(*id)) else {
            continue;
        };
        let after_prices = after.prices();
        for (name, was) in before.prices() {
            let Some((_, now)) = after_prices.iter().find(|(n, _)| *n == name) else {
                continue;
            };
            let now = *now;
            let moved = if was == 0.0 || now == 0.0 {
                was != now
            } else {
                now / was > MAX_PRICE_FACTOR || was / now > MAX_PRICE_FACTOR
            };
            if moved {
                return Err(Refusal {
                    reason: format!(
                        "The new price table moves the {name} price of {id} from ${was} to ${now} \
                         per million tokens, more than 10×."
                    ),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tier_fields() {
        assert_eq!(
            tier_field("input_cost_per_token_above_200k_tokens"),
            Some(("input_cost_per_token", 200))
        );
        assert_eq!(
            tier_field("cache_creation_input_token_cost_above_1hr_above_100k_tokens"),
            Some(("cache_creation_input_token_cost_above_1hr", 100))
        );
        assert_eq!(
            tier_field("input_cost_per_token_above_100k_tokens_batches"),
            None
        );
        assert_eq!(
            tier_field("cache_creation_input_token_cost_above_1hr"),
            None
        );
    }

    #[test]
    fn key_ranks() {
        assert_eq!(
            key_rank("claude-opus-4-5"),
            Some(("claude-opus-4-5".to_owned(), 0))
        );
        assert_eq!(
            key_rank("claude-opus-4-5-20251101"),
            Some(("claude-opus-4-5".to_owned(), 1))
        );
        assert_eq!(
            key_rank("anthropic/claude-opus-4-5"),
            Some(("claude-opus-4-5".to_owned(), 2))
        );
        assert_eq!(key_rank("bedrock/claude-opus-4-5"), None);
    }
}
