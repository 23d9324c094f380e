//! Where each price comes from: LiteLLM's table, the hand-made rows that win over it or fill its
//! gaps, the user's override above all, and the disagreements the catalog reports.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use chrono::{TimeZone, Utc};
use claude_status_core::catalog::{Catalog, PriceSourceKind};
use claude_status_core::cost::cost_of;
use claude_status_core::price_table::{LiteLlmTable, TableKind};
use claude_status_core::usage::TokenCounts;
use serde_json::json;

/// A LiteLLM table from (key, input, output) per million, cache prices left out.
fn litellm(rows: &[(&str, f64, f64)]) -> LiteLlmTable {
    let mut table = serde_json::Map::new();
    for (key, input, output) in rows {
        table.insert(
            (*key).to_owned(),
            json!({"litellm_provider": "anthropic", "mode": "chat",
                   "input_cost_per_token": input / 1e6, "output_cost_per_token": output / 1e6,
                   "max_input_tokens": 1_000_000}),
        );
    }
    LiteLlmTable::parse(&serde_json::Value::Object(table).to_string()).unwrap()
}

/// Hand-made data: a row that wins, a supplement LiteLLM also has, a supplement it lacks, and a
/// row with only a class.
const HAND: &str = r#"{
    "as_of": "2026-12",
    "models": {
        "claude-a": { "class": "a", "input": 2, "output": 4, "prefer_over_litellm": true,
                      "source": "Claude Code 9.9 estimate", "notes": "Claude Code's is the higher." },
        "claude-b": { "class": "b", "input": 7, "output": 7, "source": "an old page" },
        "claude-c": { "class": "c", "input": 3, "output": 6, "source": "Claude Code 9.9 estimate" },
        "claude-d": { "class": "d", "notes": "Priced by LiteLLM." }
    }
}"#;

fn input_price(catalog: &Catalog, model: &str) -> Option<(f64, PriceSourceKind, String)> {
    catalog
        .price(model)
        .map(|p| (p.input_per_mtok, p.source.kind, p.source.label.clone()))
}

#[test]
fn precedence_of_the_sources() {
    let table = litellm(&[
        ("claude-a", 1.0, 2.0),
        ("claude-b", 5.0, 25.0),
        ("claude-d-20260101", 0.5, 1.0),
        ("claude-e", 9.0, 18.0),
    ]);
    let catalog = Catalog::build_from(HAND, Some(&table), None).unwrap();
    let hand = |label: &str| Some(PriceSourceKind::BuiltIn).map(|k| (k, label.to_owned()));
    let check = |model: &str, expected: Option<(f64, Option<(PriceSourceKind, String)>)>| {
        let found = input_price(&catalog, model).map(|(i, k, l)| (i, Some((k, l))));
        assert_eq!(found, expected, "{model}");
    };
    let file = || Some((PriceSourceKind::LitellmFile, "LiteLLM".to_owned()));
    // A hand row that says it wins, wins.
    check("claude-a", Some((2.0, hand("Claude Code 9.9 estimate"))));
    // LiteLLM beats a supplement it also has.
    check("claude-b", Some((5.0, file())));
    // A supplement fills a gap.
    check("claude-c", Some((3.0, hand("Claude Code 9.9 estimate"))));
    // A class-only row gets LiteLLM's price under any spelling LiteLLM used.
    check("claude-d", Some((0.5, file())));
    assert_eq!(catalog.model_class("claude-d"), Some("d"));
    assert_eq!(
        catalog.model("claude-d").unwrap().context_window,
        Some(1_000_000)
    );
    // A model only LiteLLM has, with no class.
    check("claude-e", Some((9.0, file())));
    assert_eq!(catalog.model_class("claude-e"), None);
    // Cache prices LiteLLM does not give are derived from its input price.
    assert_eq!(catalog.price("claude-d").unwrap().cache_read_per_mtok, 0.05);

    // Both disagreements are listed with the price used, the other one and why.
    let found: Vec<(&str, f64, f64, &str)> = catalog
        .disagreements()
        .iter()
        .map(|d| {
            (
                d.model.as_str(),
                d.used.input_per_mtok,
                d.other.input_per_mtok,
                d.note.as_str(),
            )
        })
        .collect();
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(
        found[0],
        ("claude-a", 2.0, 1.0, "Claude Code's is the higher.")
    );
    assert_eq!((found[1].0, found[1].1, found[1].2), ("claude-b", 5.0, 7.0));
    assert!(found[1].3.contains("LiteLLM"), "{}", found[1].3);
    assert_eq!(
        catalog.disagreements()[0].other.source.kind,
        PriceSourceKind::LitellmFile
    );

    // The user's override wins over all of them, and settles the disagreement it touches.
    let overridden = Catalog::build_from(
        HAND,
        Some(&table),
        Some(
            r#"{"prices": {"models": {"claude-a": {"input": 11}, "claude-e": {"notes": "mine"}}}}"#,
        ),
    )
    .unwrap();
    let (input, kind, label) = input_price(&overridden, "claude-a").unwrap();
    assert_eq!(
        (input, kind, label.as_str()),
        (11.0, PriceSourceKind::UserOverride, "your override")
    );
    assert_eq!(overridden.price("claude-a").unwrap().output_per_mtok, 4.0);
    // Notes alone are not a price: LiteLLM still priced claude-e.
    assert_eq!(
        input_price(&overridden, "claude-e").unwrap().1,
        PriceSourceKind::LitellmFile
    );
    assert_eq!(overridden.disagreements().len(), 1);

    // Without a table only the hand-made prices are there.
    let alone = Catalog::build_from(HAND, None, None).unwrap();
    assert_eq!(input_price(&alone, "claude-b").unwrap().0, 7.0);
    assert_eq!(alone.price("claude-d"), None);
    assert_eq!(alone.price("claude-e"), None);
    assert_eq!(alone.price_table.kind, None);
    assert_eq!(alone.as_of.prices, "2026-12");
}

#[test]
fn the_table_in_use_is_described() {
    let builtin = Catalog::builtin();
    let info = &builtin.price_table;
    assert_eq!(info.kind, Some(TableKind::Bundled));
    assert_eq!(info.label, "LiteLLM 1.110.2 (bundled)");
    assert_eq!(info.version.as_deref(), Some("1.110.2"));
    assert_eq!(info.as_of.as_deref(), Some("2026-12-02"));
    assert_eq!(info.fetched_at, None);
    assert!(info.claude_models >= 16, "{}", info.claude_models);

    // A refreshed table: its label and date, its prices, and the hand rows' classes and
    // supplements still there.
    let at = Utc.with_ymd_and_hms(2027, 1, 15, 6, 0, 0).unwrap();
    let fetched = litellm(&[
        ("claude-opus-4-6", 4.0, 20.0),
        ("claude-fable-5-2", 8.0, 40.0),
    ])
    .fetched("http://127.0.0.1:9/prices.json", at);
    let catalog = Catalog::build_with(Some(&fetched), None).unwrap();
    assert_eq!(catalog.price_table.kind, Some(TableKind::Fetched));
    assert_eq!(
        catalog.price_table.label,
        "LiteLLM upstream, fetched 2027-01-15"
    );
    assert_eq!(
        catalog.price_table.fetched_at.as_deref(),
        Some("2027-01-15T06:00:00Z")
    );
    assert_eq!(catalog.as_of.prices, "2027-01-15");
    let opus = catalog.price("claude-opus-4-6").unwrap();
    assert_eq!(
        (opus.input_per_mtok, opus.source.kind),
        (4.0, PriceSourceKind::LitellmFetched)
    );
    assert_eq!(opus.source.label, "LiteLLM upstream, fetched 2027-01-15");
    assert_eq!(catalog.model_class("claude-opus-4-6"), Some("opus-4"));
    // LiteLLM now has Fable 5.2: its row is used, and agrees with the supplement on input and
    // output, but not on the cache prices it leaves to the multipliers, which is reported.
    let fable = catalog.price("claude-fable-5-2").unwrap();
    assert_eq!(fable.source.kind, PriceSourceKind::LitellmFetched);
    assert!(catalog
        .disagreements()
        .iter()
        .any(|d| d.model == "claude-fable-5-2"));
    // Models the refreshed table lacks keep their supplement rows.
    assert_eq!(
        catalog.price_source("claude-3-haiku").unwrap().label,
        "Anthropic pricing page (api-facts D1)"
    );
    // An override's own date still wins.
    let dated =
        Catalog::build_with(Some(&fetched), Some(r#"{"prices": {"as_of": "mine"}}"#)).unwrap();
    assert_eq!(dated.as_of.prices, "mine");
}

#[test]
fn the_shipped_sources_agree_where_they_overlap() {
    let catalog = Catalog::builtin();
    // No shipped hand row contradicts the bundled table.
    assert!(
        catalog.disagreements().is_empty(),
        "{:?}",
        catalog.disagreements()
    );
    // Haiku 5.5 says why its price is LiteLLM's, for the UI's price note.
    let haiku = catalog.model("claude-haiku-5-5").unwrap();
    assert_eq!(
        haiku.price.as_ref().unwrap().source.kind,
        PriceSourceKind::LitellmBundled
    );
    assert!(haiku
        .notes
        .as_deref()
        .unwrap()
        .contains("Claude Code 2.1.328"));
    // The supplement rows name their source.
    for model in ["claude-fable-5-2", "claude-mythos-5-2"] {
        let info = catalog.model(model).unwrap();
        let price = info.price.as_ref().unwrap();
        assert_eq!(price.source.kind, PriceSourceKind::BuiltIn, "{model}");
        assert_eq!(
            price.source.label, "Claude Code 2.1.328 estimate (claude-code.md H5)",
            "{model}"
        );
        assert!(info
            .notes
            .as_deref()
            .unwrap()
            .contains("LiteLLM 1.110.2 has no row"));
    }
    // Unknown models stay unknown.
    let cost = cost_of(
        &TokenCounts {
            input: 1_000,
            ..TokenCounts::default()
        },
        "claude-opus-4-9",
        None,
        &catalog,
    );
    assert!(cost.unknown_price && cost.source.is_none());
}

#[test]
fn a_broken_hand_row_is_named() {
    let error = Catalog::build_from(
        r#"{"models": {"claude-a": {"input": 1, "output": 2, "prefer_over_litellm": "yes"}}}"#,
        None,
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("`prices.models.claude-a.prefer_over_litellm`"),
        "{error}"
    );
    let error = Catalog::build_from(r#"{"models": {"claude-a": {"sorce": "x"}}}"#, None, None)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("`prices.models.claude-a.sorce`: unknown field"),
        "{error}"
    );
}
