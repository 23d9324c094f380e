//! List prices of the Messages API per model, and the estimate of what the streaming probe costs a
//! day. The prices themselves live in the catalog (the bundled LiteLLM snapshot
//! `data/litellm-prices.json` with `data/prices.json`); these are the short forms for callers that
//! only need the built-in tables.
//!
//! A model we do not know has no price: callers say "price unknown", never $0.

use std::time::Duration;

use crate::catalog::Catalog;

pub use crate::catalog::ModelPrice;

/// The day the bundled prices are as of: when `scripts/update-prices.py` took the LiteLLM
/// snapshot (`source.taken` of `data/litellm-prices.json`; a test keeps the two equal).
pub const PRICES_AS_OF: &str = "2026-12-02";

/// The canonical model id: lower case, without a `[1m]` suffix, `-latest` or a `-YYYYMMDD` date,
/// with aliases such as `claude-4-opus` resolved (`claude-opus-4`).
pub fn normalize_model(model: &str) -> String {
    Catalog::shared().normalize(model)
}

/// The built-in price of a model, if we know it.
pub fn price_of(model: &str) -> Option<ModelPrice> {
    Catalog::shared().price(model).cloned()
}

/// The tokens one streaming probe uses when none has run yet: the prompt "ping" with the
/// message framing is about 8 input tokens, and `max_tokens` is 1.
pub const PROBE_TOKENS_ESTIMATE: (u64, u64) = (8, 1);

/// What the streaming probe costs a day at an interval, in USD; `None` when the price is unknown.
pub fn probe_cost_per_day(
    model: &str,
    interval: Duration,
    input_tokens: u64,
    output_tokens: u64,
) -> Option<f64> {
    let price = price_of(model)?;
    let per_probe = (input_tokens as f64 * price.input_per_mtok
        + output_tokens as f64 * price.output_per_mtok)
        / 1_000_000.0;
    let per_day = 86_400.0 / interval.as_secs_f64().max(1.0);
    Some(per_probe * per_day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization_and_lookup() {
        let check = |model: &str, expected: Option<(f64, f64)>| {
            assert_eq!(
                price_of(model).map(|p| (p.input_per_mtok, p.output_per_mtok)),
                expected,
                "{model}"
            )
        };
        check("claude-haiku-4-5", Some((1.0, 5.0)));
        check("claude-haiku-4-5-20251001", Some((1.0, 5.0)));
        check("claude-opus-4-1-20250805", Some((15.0, 75.0)));
        check("claude-opus-4-8", Some((5.0, 25.0)));
        check("claude-opus-4-20250514", Some((15.0, 75.0)));
        check("claude-sonnet-4-6[1m]", Some((3.0, 15.0)));
        check("claude-3-5-haiku-latest", Some((0.8, 4.0)));
        check("claude-fable-5", Some((10.0, 50.0)));
        check("claude-fable-5-2", Some((8.0, 40.0)));
        check("claude-opus-4-9", None);
        check("gpt-4o", None);
    }

    #[test]
    fn the_as_of_date_is_the_data_files() {
        assert_eq!(Catalog::builtin().as_of.prices, PRICES_AS_OF);
        assert_eq!(
            crate::price_table::LiteLlmTable::bundled()
                .source()
                .taken
                .as_deref(),
            Some(PRICES_AS_OF)
        );
    }

    #[test]
    fn probe_cost_is_cents_a_day() {
        let cost = probe_cost_per_day("claude-haiku-4-5", Duration::from_secs(60), 8, 1).unwrap();
        // 1,440 probes × (8 × $1 + 1 × $5) / 1M = $0.01872.
        assert!((cost - 0.01872).abs() < 1e-9, "{cost}");
        assert_eq!(
            probe_cost_per_day("claude-unknown-9", Duration::from_secs(60), 8, 1),
            None
        );
    }
}
