//! The built catalog kept on disk: what `load_catalog_in` reads from the cache is the catalog it
//! would have built, and every change to an input (the override, the last good table, the cache
//! file itself) is seen on the next load.
//!
//! One test function walks through the cases in turn, because the override's location comes from
//! an environment variable that every thread of this process shares.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use std::path::Path;

use claude_status_core::catalog::Catalog;
use claude_status_core::price_table::LiteLlmTable;
use claude_status_engine::catalog_cache::cache_path;
use claude_status_engine::usage::{load_catalog_in, load_catalog_with_table, CATALOG_ENV};
use serde_json::{json, Value};

fn input_price(catalog: &Catalog, model: &str) -> f64 {
    catalog.price(model).unwrap().input_per_mtok
}

/// Writes the override file with Opus 4.6's input price, giving it a new modification time so
/// that even a file system with coarse times sees a change.
fn write_override(path: &Path, input: f64) {
    let text = json!({"prices": {"models": {"claude-opus-4-6": {"input": input}}}}).to_string();
    std::fs::write(path, text).unwrap();
    bump_mtime(path);
}

fn bump_mtime(path: &Path) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(2);
    file.set_modified(later).unwrap();
}

#[test]
fn the_cache_gives_what_a_build_gives_and_follows_every_input() {
    let data = tempfile::tempdir().unwrap();
    let config = tempfile::tempdir().unwrap();
    let override_path = config.path().join("catalog.json");
    std::env::set_var(CATALOG_ENV, &override_path);

    // No override, no refreshed table: the bundled catalog, built once and then read back.
    let built = load_catalog_in(data.path()).unwrap();
    assert_eq!(built, load_catalog_with_table(None).unwrap());
    let cache = cache_path(data.path());
    assert!(cache.exists(), "the first load keeps the catalog");
    let first_text = std::fs::read_to_string(&cache).unwrap();
    let read_back = load_catalog_in(data.path()).unwrap();
    assert_eq!(read_back, built);
    assert_eq!(
        std::fs::read_to_string(&cache).unwrap(),
        first_text,
        "a hit does not rewrite the cache"
    );
    let bundled_opus = input_price(&built, "claude-opus-4-6");

    // An override appears, then changes: each load has its price, none the cached one.
    write_override(&override_path, 1.25);
    let with_override = load_catalog_in(data.path()).unwrap();
    assert_eq!(input_price(&with_override, "claude-opus-4-6"), 1.25);
    assert!(with_override.overridden);
    assert_eq!(load_catalog_in(data.path()).unwrap(), with_override);
    write_override(&override_path, 2.5);
    assert_eq!(
        input_price(&load_catalog_in(data.path()).unwrap(), "claude-opus-4-6"),
        2.5
    );

    // A broken override is an error on every load, never hidden by the cache.
    std::fs::write(&override_path, "{ not json").unwrap();
    bump_mtime(&override_path);
    for _ in 0..2 {
        let error = load_catalog_in(data.path()).unwrap_err().to_string();
        assert!(error.contains("catalog override"), "{error}");
    }

    // The override removed: back to the bundled prices.
    std::fs::remove_file(&override_path).unwrap();
    assert_eq!(
        input_price(&load_catalog_in(data.path()).unwrap(), "claude-opus-4-6"),
        bundled_opus
    );

    // A last good refreshed table appears (written as the refresh writes it): its prices win.
    let mut snapshot: Value =
        serde_json::from_str(claude_status_core::price_table::BUNDLED_LITELLM_JSON).unwrap();
    snapshot["models"]["claude-opus-4-6"]["input_cost_per_token"] = json!(4.5e-6);
    let table_path = data.path().join("prices").join("litellm.json");
    std::fs::write(&table_path, snapshot.to_string()).unwrap();
    bump_mtime(&table_path);
    let refreshed = load_catalog_in(data.path()).unwrap();
    assert_eq!(input_price(&refreshed, "claude-opus-4-6"), 4.5);
    let table = LiteLlmTable::parse(&snapshot.to_string()).unwrap();
    assert_eq!(refreshed, load_catalog_with_table(Some(&table)).unwrap());

    // A damaged cache is ignored and replaced.
    std::fs::write(&cache, "{\"key\": 1, \"catalog\": [").unwrap();
    assert_eq!(load_catalog_in(data.path()).unwrap(), refreshed);
    assert!(serde_json::from_str::<Value>(&std::fs::read_to_string(&cache).unwrap()).is_ok());

    // A cache kept under another key (another build, other inputs) is not used, even when it
    // parses.
    let mut other: Value = serde_json::from_str(&std::fs::read_to_string(&cache).unwrap()).unwrap();
    other["key"] = json!("build 0000000000000000; table none; override - none");
    other["catalog"]["batch_discount"] = json!(0.25);
    std::fs::write(&cache, other.to_string()).unwrap();
    assert_eq!(load_catalog_in(data.path()).unwrap().batch_discount, 0.5);

    // A data directory that cannot hold the cache (its `prices` is a file) still gives the
    // catalog; it is only built each time.
    let blocked = tempfile::tempdir().unwrap();
    std::fs::write(blocked.path().join("prices"), "not a folder").unwrap();
    let catalog = load_catalog_in(blocked.path()).unwrap();
    assert_eq!(input_price(&catalog, "claude-opus-4-6"), bundled_opus);
    assert!(!cache_path(blocked.path()).is_file());
}
