//! The user's override file: entries replace or add built-in ones field by field, and a bad
//! field is named in the error.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use claude_status_core::catalog::{Catalog, PriceSourceKind, SpendCap};
use claude_status_core::Error;

#[test]
fn entries_replace_and_add() {
    let catalog = Catalog::with_override(
        r#"{
            "prices": {
                "as_of": "2026-11",
                "models": {
                    "claude-fable-5": { "input": 2, "output": 10 },
                    "claude-opus-4-6": { "output": 30 },
                    "claude-internal-7": { "class": "internal", "input": 1, "output": 2, "cache_read": 0.05 }
                },
                "aliases": { "fable": "claude-fable-5" }
            },
            "tiers": {
                "tiers": {
                    "build": { "classes": { "sonnet-4": { "requests_per_minute": 2000, "input_tokens_per_minute": 1000000, "output_tokens_per_minute": 200000 } } },
                    "tier-2": { "monthly_spend_cap_usd": 750, "classes": { "sonnet-4": { "requests_per_minute": 1200 } } },
                    "my-contract": { "name": "My contract", "monthly_spend_cap_usd": "none", "classes": { "opus-4": { "requests_per_minute": 10000 } } }
                }
            }
        }"#,
    )
    .unwrap();
    assert_eq!(catalog.as_of.prices, "2026-11");
    assert_eq!(catalog.as_of.tiers, "2026-10");

    // The fields the override sets replace LiteLLM's, the others stay LiteLLM's; the class stays,
    // and the price says it is the user's.
    let fable = catalog.price("claude-fable-5").unwrap();
    assert_eq!(
        (
            fable.input_per_mtok,
            fable.output_per_mtok,
            fable.cache_write_5m_per_mtok,
            fable.cache_write_1h_per_mtok,
            fable.cache_read_per_mtok
        ),
        (2.0, 10.0, 12.5, 20.0, 1.0)
    );
    assert_eq!(fable.source.kind, PriceSourceKind::UserOverride);
    assert_eq!(fable.source.label, "your override");
    assert_eq!(catalog.model_class("fable"), Some("fable-5"));
    // One field changed, the others kept.
    let opus = catalog.price("claude-opus-4-6").unwrap();
    assert_eq!(
        (
            opus.input_per_mtok,
            opus.output_per_mtok,
            opus.cache_read_per_mtok
        ),
        (5.0, 30.0, 0.5)
    );
    assert_eq!(opus.source.kind, PriceSourceKind::UserOverride);
    // A new model: the cache writes it does not give are derived.
    let internal = catalog.price("claude-internal-7-20261101").unwrap();
    assert_eq!(
        (
            internal.cache_write_5m_per_mtok,
            internal.cache_read_per_mtok
        ),
        (1.25, 0.05)
    );
    assert_eq!(internal.source.kind, PriceSourceKind::UserOverride);
    assert_eq!(catalog.model_class("claude-internal-7"), Some("internal"));
    // Untouched entries stay, with their source.
    let haiku = catalog.price("claude-haiku-4-5").unwrap();
    assert_eq!(haiku.input_per_mtok, 1.0);
    assert_eq!(haiku.source.kind, PriceSourceKind::LitellmBundled);

    // Tier limits: added, changed field by field, and a new tier.
    let build = catalog.limits("build", "sonnet-4").unwrap();
    assert_eq!(build.requests_per_minute, Some(2000));
    let tier_2 = catalog.limits("tier-2", "sonnet-4").unwrap();
    assert_eq!(
        (tier_2.requests_per_minute, tier_2.input_tokens_per_minute),
        (Some(1200), Some(450_000))
    );
    assert_eq!(
        catalog.tier("tier-2").unwrap().monthly_spend_cap,
        SpendCap::Usd(750.0)
    );
    assert_eq!(
        catalog
            .limits("tier-2", "haiku-3-5")
            .unwrap()
            .requests_per_minute,
        Some(1000)
    );
    let contract = catalog.tier("my-contract").unwrap();
    assert_eq!(
        (contract.name.as_str(), contract.monthly_spend_cap),
        ("My contract", SpendCap::Unlimited)
    );
}

#[test]
fn null_makes_a_price_unknown() {
    let catalog =
        Catalog::with_override(r#"{"prices": {"models": {"claude-haiku-4-5": {"input": null}}}}"#)
            .unwrap();
    assert_eq!(catalog.price("claude-haiku-4-5"), None);
    assert_eq!(catalog.model_class("claude-haiku-4-5"), Some("haiku-4-5"));
}

fn check_error(json: &str, expected: &str) {
    match Catalog::with_override(json) {
        Err(Error::Config(message)) | Err(Error::Parse(message)) => {
            assert!(
                message.contains(expected),
                "{json}\n→ {message}\n  does not name {expected}"
            )
        }
        Ok(_) => panic!("{json} was accepted"),
    }
}

#[test]
fn bad_fields_are_named() {
    check_error("not json", "not valid JSON");
    check_error("[]", "expected an object");
    check_error(r#"{"price": {}}"#, "`price`");
    check_error(r#"{"prices": []}"#, "`prices`");
    check_error(
        r#"{"prices": {"models": {"claude-opus-4-6": {"input": "five"}}}}"#,
        "`prices.models.claude-opus-4-6.input`",
    );
    check_error(
        r#"{"prices": {"models": {"claude-opus-4-6": {"output": -1}}}}"#,
        "`prices.models.claude-opus-4-6.output`",
    );
    check_error(
        r#"{"prices": {"models": {"claude-opus-4-6": {"inptu": 5}}}}"#,
        "`prices.models.claude-opus-4-6.inptu`: unknown field",
    );
    check_error(
        r#"{"prices": {"models": {"claude-sonnet-4-5": {"long_context": {"above_input_tokens": "lots"}}}}}"#,
        "`prices.models.claude-sonnet-4-5.long_context.above_input_tokens`",
    );
    check_error(
        r#"{"prices": {"models": {"x": {"long_context": {"input": 1, "output": 2}}}}}"#,
        "`prices.models.x.long_context.above_input_tokens`: missing",
    );
    check_error(
        r#"{"prices": {"batch_discount": 2}}"#,
        "`prices.batch_discount`",
    );
    check_error(
        r#"{"prices": {"aliases": {"opus": "claude-opus-9"}}}"#,
        "`prices.aliases.opus`: points to `claude-opus-9`",
    );
    check_error(
        r#"{"tiers": {"tiers": {"tier-2": {"classes": {"sonnet-4": {"requests_per_minute": 1.5}}}}}}"#,
        "`tiers.tiers.tier-2.classes.sonnet-4.requests_per_minute`",
    );
    check_error(
        r#"{"tiers": {"tiers": {"tier-2": {"classes": {"sonnet-4": {"cache_reads_count_toward_itpm": "yes"}}}}}}"#,
        "`tiers.tiers.tier-2.classes.sonnet-4.cache_reads_count_toward_itpm`",
    );
    check_error(
        r#"{"tiers": {"tiers": {"start": {"monthly_spend_cap_usd": "unlimited"}}}}"#,
        "`tiers.tiers.start.monthly_spend_cap_usd`: expected a number, \"none\" or null",
    );
    check_error(
        r#"{"tiers": {"tiers": {"start": {"notes": [1]}}}}"#,
        "`tiers.tiers.start.notes[0]`",
    );
    check_error(
        r#"{"tiers": {"classes": {"opus-4": {"rpm": 1}}}}"#,
        "`tiers.classes.opus-4.rpm`",
    );
}
