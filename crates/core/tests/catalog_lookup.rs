//! The built-in catalogs: model ids normalised and priced, classes, tiers and their limits, and
//! the facts that were not recovered staying unknown.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use claude_status_core::catalog::{Catalog, SpendCap, BUILTIN_PRICES_JSON, BUILTIN_TIERS_JSON};

/// (canonical id, class, input, output, 5m write, 1h write, cache read)
type Expected = (&'static str, &'static str, f64, f64, f64, f64, f64);

fn check_price(model: &str, expected: Option<Expected>) {
    let catalog = Catalog::builtin();
    let found = catalog.price(model).map(|p| {
        (
            catalog.normalize(model),
            catalog.model_class(model).unwrap_or("-").to_owned(),
            p.input_per_mtok,
            p.output_per_mtok,
            p.cache_write_5m_per_mtok,
            p.cache_write_1h_per_mtok,
            p.cache_read_per_mtok,
        )
    });
    let expected = expected
        .map(|(id, class, i, o, w5, w1, r)| (id.to_owned(), class.to_owned(), i, o, w5, w1, r));
    assert_eq!(found, expected, "{model}");
}

#[test]
fn prices_of_every_family_and_spelling() {
    let opus_new = Some(("claude-opus-4-6", "opus-4", 5.0, 25.0, 6.25, 10.0, 0.5));
    check_price("claude-opus-4-6", opus_new);
    check_price("claude-opus-4-6[1m]", opus_new);
    check_price("  Claude-Opus-4-6  ", opus_new);
    check_price(
        "claude-opus-4-8",
        Some(("claude-opus-4-8", "opus-4", 5.0, 25.0, 6.25, 10.0, 0.5)),
    );
    check_price(
        "claude-opus-4-5-20251101",
        Some(("claude-opus-4-5", "opus-4", 5.0, 25.0, 6.25, 10.0, 0.5)),
    );
    let opus_4 = Some(("claude-opus-4", "opus-4", 15.0, 75.0, 18.75, 30.0, 1.5));
    check_price("claude-opus-4-20250514", opus_4);
    check_price("claude-opus-4-0", opus_4);
    check_price("claude-4-opus-20250514", opus_4);
    check_price(
        "claude-opus-4-1-20250805",
        Some(("claude-opus-4-1", "opus-4", 15.0, 75.0, 18.75, 30.0, 1.5)),
    );
    let sonnet_4 = Some(("claude-sonnet-4", "sonnet-4", 3.0, 15.0, 3.75, 6.0, 0.3));
    check_price("claude-sonnet-4-20250514", sonnet_4);
    check_price("claude-sonnet-4-0", sonnet_4);
    check_price("claude-4-sonnet-20250514", sonnet_4);
    check_price(
        "claude-sonnet-4-5-20250929",
        Some(("claude-sonnet-4-5", "sonnet-4", 3.0, 15.0, 3.75, 6.0, 0.3)),
    );
    check_price(
        "claude-sonnet-4-6[1m]",
        Some(("claude-sonnet-4-6", "sonnet-4", 3.0, 15.0, 3.75, 6.0, 0.3)),
    );
    check_price(
        "claude-3-7-sonnet-latest",
        Some(("claude-3-7-sonnet", "sonnet-3-7", 3.0, 15.0, 3.75, 6.0, 0.3)),
    );
    check_price(
        "claude-3-5-sonnet-20240620",
        Some(("claude-3-5-sonnet", "sonnet-3-5", 3.0, 15.0, 3.75, 6.0, 0.3)),
    );
    check_price(
        "claude-haiku-4-5-20251001",
        Some(("claude-haiku-4-5", "haiku-4-5", 1.0, 5.0, 1.25, 2.0, 0.1)),
    );
    check_price(
        "claude-3-5-haiku-latest",
        Some(("claude-3-5-haiku", "haiku-3-5", 0.8, 4.0, 1.0, 1.6, 0.08)),
    );
    check_price(
        "claude-3-opus-20240229",
        Some(("claude-3-opus", "opus-3", 15.0, 75.0, 18.75, 30.0, 1.5)),
    );
    check_price(
        "claude-3-haiku-20240307",
        Some(("claude-3-haiku", "haiku-3", 0.25, 1.25, 0.3, 0.5, 0.03)),
    );
    // Opus 5.5: its own cache-read price ($0.20, 0.05×).
    check_price(
        "claude-opus-5-5",
        Some(("claude-opus-5-5", "opus-5", 4.0, 20.0, 5.0, 8.0, 0.2)),
    );
    // The models that were "price unknown" before LiteLLM's table (issue 13).
    check_price(
        "claude-opus-5",
        Some(("claude-opus-5", "opus-5", 5.0, 25.0, 6.25, 10.0, 0.5)),
    );
    check_price(
        "claude-sonnet-5-5",
        Some(("claude-sonnet-5-5", "sonnet-5", 2.0, 10.0, 2.5, 4.0, 0.1)),
    );
    check_price(
        "claude-sonnet-5",
        Some(("claude-sonnet-5", "sonnet-5", 2.0, 10.0, 2.5, 4.0, 0.2)),
    );
    let fable = Some(("claude-fable-5", "fable-5", 10.0, 50.0, 12.5, 20.0, 1.0));
    check_price("claude-fable-5", fable);
    check_price(
        "claude-mythos-5-1",
        Some((
            "claude-mythos-5-1",
            "mythos-5",
            10.0,
            50.0,
            12.5,
            20.0,
            0.25,
        )),
    );
    check_price(
        "claude-fable-5-2",
        Some(("claude-fable-5-2", "fable-5", 8.0, 40.0, 10.0, 16.0, 0.2)),
    );
    // Haiku 5.5's base prices (its tier above 100K input is the long-context rule below).
    check_price(
        "claude-haiku-5-5",
        Some(("claude-haiku-5-5", "-", 0.1, 0.5, 0.125, 0.2, 0.01)),
    );
}

#[test]
fn unknown_prices_stay_unknown() {
    for model in [
        "claude-opus-4-9",
        "claude-fable-5-3",
        "claude-opus-4-6-fast",
        "gpt-4o",
        "<synthetic>",
        "",
    ] {
        check_price(model, None);
    }
}

#[test]
fn classes_of_models_without_a_price() {
    let catalog = Catalog::builtin();
    let check = |model: &str, expected: Option<&str>| {
        assert_eq!(catalog.model_class(model), expected, "{model}")
    };
    check("claude-fable-5", Some("fable-5"));
    check("claude-fable-5-1", Some("fable-5"));
    check("claude-sonnet-5", Some("sonnet-5"));
    check("claude-opus-5", Some("opus-5"));
    check("claude-mythos-5", Some("mythos-5"));
    check("claude-opus-4-9", None);
    check("claude-opus-4-6-fast", None);
    // LiteLLM prices it, but no tier table has a Haiku 5 class yet.
    check("claude-haiku-5-5", None);
}

#[test]
fn normalisation() {
    let catalog = Catalog::builtin();
    let check = |model: &str, expected: &str| assert_eq!(catalog.normalize(model), expected);
    check("claude-sonnet-4-5-20250929", "claude-sonnet-4-5");
    check("claude-opus-4-6[1m]", "claude-opus-4-6");
    check("claude-3-5-haiku-latest", "claude-3-5-haiku");
    check("claude-4-opus-20250514", "claude-opus-4");
    check("claude-sonnet-4-0", "claude-sonnet-4");
    check("CLAUDE-HAIKU-4-5", "claude-haiku-4-5");
    // Unknown ids are stripped but kept, so they can be listed.
    check("claude-opus-4-9-20270101", "claude-opus-4-9");
    check("claude-opus-4-6-fast", "claude-opus-4-6-fast");
    // Seven digits are not a date.
    check("claude-x-2025010", "claude-x-2025010");
}

#[test]
fn the_long_context_rule_is_where_the_facts_put_it() {
    let catalog = Catalog::builtin();
    let check = |model: &str, expected: Option<(u64, f64, f64, f64, f64, f64)>| {
        let rule = catalog.price(model).and_then(|p| p.long_context).map(|r| {
            (
                r.above_input_tokens,
                r.input_per_mtok,
                r.output_per_mtok,
                r.cache_write_5m_per_mtok,
                r.cache_write_1h_per_mtok,
                r.cache_read_per_mtok,
            )
        });
        assert_eq!(rule, expected, "{model}");
    };
    // Sonnet 4 and 4.5: the 1M-beta rule of api-facts D1, kept by hand (LiteLLM has no tier).
    let sonnet = Some((200_000, 6.0, 22.5, 7.5, 12.0, 0.6));
    check("claude-sonnet-4-5", sonnet);
    check("claude-sonnet-4-20250514", sonnet);
    // Haiku 5.5: LiteLLM's tier above 100K, which Claude Code 2.1.328 applies too.
    check(
        "claude-haiku-5-5",
        Some((100_000, 0.5, 2.5, 0.625, 1.0, 0.05)),
    );
    // No tier in either source.
    check("claude-sonnet-4-6", None);
    check("claude-opus-4-6", None);
    check("claude-haiku-4-5", None);
    check("claude-fable-5-2", None);
}

#[test]
fn tiers_and_their_spend_caps() {
    let catalog = Catalog::builtin();
    let check = |name: &str, expected: Option<(&str, SpendCap)>| {
        let found = catalog
            .tier(name)
            .map(|t| (t.key.as_str(), t.monthly_spend_cap));
        assert_eq!(found, expected, "{name}");
    };
    check("tier-1", Some(("tier-1", SpendCap::Usd(100.0))));
    check("Tier 2", Some(("tier-2", SpendCap::Usd(500.0))));
    check("tier3", Some(("tier-3", SpendCap::Usd(1_000.0))));
    check("TIER_4", Some(("tier-4", SpendCap::Usd(200_000.0))));
    check(
        "monthly-invoicing",
        Some(("monthly-invoicing", SpendCap::Unlimited)),
    );
    check("Evaluation", Some(("evaluation", SpendCap::Unknown)));
    check("start", Some(("start", SpendCap::Usd(500.0))));
    check("build", Some(("build", SpendCap::Usd(1_000.0))));
    check("scale", Some(("scale", SpendCap::Usd(200_000.0))));
    check("custom", Some(("custom", SpendCap::Unlimited)));
    check("tier-5", None);
    check("enterprise", None);
}

#[test]
fn per_class_limits() {
    let catalog = Catalog::builtin();
    let check =
        |tier: &str, class: &str, expected: Option<(Option<u64>, Option<u64>, Option<u64>)>| {
            let found = catalog.limits(tier, class).map(|l| {
                (
                    l.requests_per_minute,
                    l.input_tokens_per_minute,
                    l.output_tokens_per_minute,
                )
            });
            assert_eq!(found, expected, "{tier} {class}");
        };
    let known = |r, i, o| Some((Some(r), Some(i), Some(o)));
    check("tier-1", "sonnet-4", known(50, 30_000, 8_000));
    check("tier-1", "opus-4", known(50, 30_000, 8_000));
    check("tier-1", "haiku-4-5", known(50, 50_000, 10_000));
    check("tier-1", "opus-3", known(50, 20_000, 4_000));
    check("tier-2", "sonnet-3-7", known(1_000, 40_000, 16_000));
    check("tier-2", "haiku-3", known(1_000, 100_000, 20_000));
    check("tier-3", "haiku-4-5", known(2_000, 1_000_000, 200_000));
    check("tier-4", "sonnet-4", known(4_000, 2_000_000, 400_000));
    check("tier-4", "opus-3", known(4_000, 400_000, 80_000));
    check("start", "opus-4", known(1_000, 2_000_000, 400_000));
    check("start", "sonnet-5", known(1_000, 2_000_000, 400_000));
    check("start", "fable-5", known(1_000, 500_000, 100_000));
    check("start", "haiku-3-5", known(1_000, 100_000, 20_000));
    check("scale", "fable-5", known(4_000, 4_000_000, 800_000));
    // Not recovered: null, never guessed.
    check("start", "haiku-3", Some((None, None, None)));
    check("scale", "sonnet-4", None);
    check("build", "sonnet-4", None);
    check("evaluation", "haiku-4-5", None);
    // Sonnet 3.5 is retired and has no row.
    check("tier-2", "sonnet-3-5", None);
    let long = catalog.limits("tier-4", "sonnet-4").unwrap();
    assert_eq!(long.long_context_input_tokens_per_minute, Some(1_000_000));
    assert_eq!(long.long_context_output_tokens_per_minute, Some(200_000));
    let batch = catalog.tier("tier-3").unwrap().batch.unwrap();
    assert_eq!(
        (
            batch.requests_per_minute,
            batch.max_in_queue,
            batch.max_requests_per_batch
        ),
        (Some(2_000), Some(300_000), Some(100_000))
    );
}

#[test]
fn which_classes_count_cache_reads_toward_itpm() {
    let catalog = Catalog::builtin();
    let check = |tier: Option<&str>, class: &str, expected: bool| {
        assert_eq!(
            catalog.cache_reads_count_toward_itpm(tier, class),
            expected,
            "{tier:?} {class}"
        )
    };
    // The † rows of the classic table.
    check(Some("tier-2"), "haiku-3-5", true);
    check(Some("tier-2"), "haiku-3", true);
    check(Some("tier-4"), "opus-3", true);
    check(Some("tier-2"), "sonnet-4", false);
    check(Some("tier-1"), "haiku-4-5", false);
    check(Some("tier-3"), "sonnet-3-7", false);
    // The 2026 tiers do not say: the class default answers, and "not known" reads as the rule
    // for every model without a †.
    check(Some("start"), "haiku-3-5", true);
    check(Some("start"), "opus-4", false);
    check(Some("start"), "fable-5", false);
    check(None, "haiku-3", true);
    check(None, "some-future-class", false);
}

#[test]
fn the_shipped_files_parse_and_agree_with_each_other() {
    // `builtin()` falls back to an empty catalog if the files were broken; an empty override
    // proves they parse.
    let catalog = Catalog::with_override("{}").unwrap();
    // The prices are as of the day the LiteLLM snapshot was taken.
    assert_eq!(catalog.as_of.prices, "2026-12-02");
    assert_eq!(
        catalog.as_of.prices,
        claude_status_core::pricing::PRICES_AS_OF
    );
    assert_eq!(catalog.as_of.tiers, "2026-10");
    assert!(catalog.overridden);
    assert!(!Catalog::builtin().overridden);
    assert_eq!(
        catalog.models().count(),
        Catalog::builtin().models().count()
    );
    assert!(catalog.models().count() >= 20);
    // Every class a model or a tier names has its defaults entry, and every current model that
    // the tier tables know has a class.
    for model in catalog.models() {
        if let Some(class) = model.class.as_deref() {
            assert!(catalog.class(class).is_some(), "{}: {class}", model.id);
        }
    }
    let classless: Vec<&str> = catalog
        .models()
        .filter(|m| m.class.is_none())
        .map(|m| m.id.as_str())
        .collect();
    assert_eq!(classless, ["claude-haiku-5-5", "claude-mythos-preview"]);
    for tier in catalog.tiers() {
        for class in tier.classes.keys() {
            assert!(catalog.class(class).is_some(), "{}: {class}", tier.key);
        }
        assert!(!tier.name.is_empty());
    }
    // Every tier where facts are missing says so.
    for key in [
        "evaluation",
        "build",
        "scale",
        "custom",
        "monthly-invoicing",
    ] {
        assert!(!catalog.tier(key).unwrap().notes.is_empty(), "{key}");
    }
    // The files carry their dates, sources and notes.
    for text in [BUILTIN_PRICES_JSON, BUILTIN_TIERS_JSON] {
        let value: serde_json::Value = serde_json::from_str(text).unwrap();
        assert!(value["as_of"].is_string());
        assert!(!value["sources"].as_array().unwrap().is_empty());
        assert!(!value["notes"].as_array().unwrap().is_empty());
    }
    assert_eq!(catalog.batch_discount, 0.5);
}
