//! LiteLLM's price table: the parser (both shapes, tolerant of what it does not use, bounded), the
//! bundled snapshot, and the rules that refuse a broken refresh.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use chrono::{TimeZone, Utc};
use claude_status_core::price_table::{
    check_refresh, LiteLlmTable, TableKind, BUNDLED_LITELLM_JSON, MAX_TABLE_BYTES,
};
use serde_json::{json, Value};

/// A row in LiteLLM's shape from per-million prices (input, output, cache read, 5m, 1h).
fn row(provider: &str, prices: [f64; 5]) -> Value {
    json!({
        "litellm_provider": provider,
        "mode": "chat",
        "input_cost_per_token": prices[0] / 1e6,
        "output_cost_per_token": prices[1] / 1e6,
        "cache_read_input_token_cost": prices[2] / 1e6,
        "cache_creation_input_token_cost": prices[3] / 1e6,
        "cache_creation_input_token_cost_above_1hr": prices[4] / 1e6,
        "supports_vision": true,
        "search_context_cost_per_query": {"search_context_size_low": 0.01},
    })
}

fn parse(value: &Value) -> LiteLlmTable {
    LiteLlmTable::parse(&value.to_string()).unwrap()
}

#[test]
fn the_upstream_shape_with_other_providers_and_odd_rows() {
    let table = parse(&json!({
        "sample_spec": {"litellm_provider": "one of https://docs.litellm.ai/docs/providers",
                        "input_cost_per_token": 0.0},
        "claude-opus-4-6": row("anthropic", [5.0, 25.0, 0.5, 6.25, 10.0]),
        "claude-opus-4-6-20260205": row("anthropic", [5.0, 25.0, 0.5, 6.25, 10.0]),
        "claude-haiku-4-5-20251001": row("anthropic", [1.0, 5.0, 0.1, 1.25, 2.0]),
        "anthropic/claude-sonnet-4-6": row("anthropic", [3.0, 15.0, 0.3, 3.75, 6.0]),
        "anthropic.claude-opus-4-6-v1": row("bedrock_converse", [9.0, 9.0, 9.0, 9.0, 9.0]),
        "vertex_ai/claude-opus-4-6": row("vertex_ai-anthropic_models", [9.0, 9.0, 9.0, 9.0, 9.0]),
        "bedrock/claude-opus-4-7": row("anthropic", [9.0, 9.0, 9.0, 9.0, 9.0]),
        "gpt-5": row("openai", [1.25, 10.0, 0.125, 0.0, 0.0]),
        "text-embedding-3-small": {"litellm_provider": "openai", "mode": "embedding",
                                   "input_cost_per_token": 2e-8},
        "gemini-2.5-pro": row("gemini", [1.25, 10.0, 0.31, 0.0, 0.0]),
        "claude-broken": {"litellm_provider": "anthropic", "input_cost_per_token": "five",
                          "output_cost_per_token": -1},
        "a string": "not a row",
        "a number": 7,
    }));
    let ids: Vec<&str> = table.claude_models().map(|(id, _)| id).collect();
    // Dated and undated keys are one model; `anthropic/` counts, other prefixes and providers
    // do not; a row whose prices are not numbers stays but prices nothing.
    assert_eq!(
        ids,
        [
            "claude-broken",
            "claude-haiku-4-5",
            "claude-opus-4-6",
            "claude-sonnet-4-6"
        ]
    );
    let priced: Vec<&str> = table.priced_claude_ids().collect();
    assert_eq!(
        priced,
        ["claude-haiku-4-5", "claude-opus-4-6", "claude-sonnet-4-6"]
    );
    let opus = table.claude_model("claude-opus-4-6-20260205").unwrap();
    assert_eq!(opus.key, "claude-opus-4-6");
    assert_eq!(
        (
            opus.input_per_mtok,
            opus.output_per_mtok,
            opus.cache_read_per_mtok,
            opus.cache_write_5m_per_mtok,
            opus.cache_write_1h_per_mtok
        ),
        (Some(5.0), Some(25.0), Some(0.5), Some(6.25), Some(10.0))
    );
    assert_eq!(
        table.claude_model("claude-haiku-4-5").unwrap().key,
        "claude-haiku-4-5-20251001"
    );
    // The other providers' chat rows are kept for a later fallback; embeddings are not.
    let others: Vec<&str> = table.other_models().map(|r| r.key.as_str()).collect();
    assert_eq!(others, ["gemini-2.5-pro", "gpt-5"]);
    assert_eq!(table.rows_read(), 14);
    assert_eq!(table.kind(), TableKind::File);
    assert_eq!(table.label(), "LiteLLM");
}

#[test]
fn the_undated_key_wins_whatever_the_order() {
    let text = r#"{
        "claude-x-1-20260101": {"litellm_provider": "anthropic", "input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6},
        "claude-x-1": {"litellm_provider": "anthropic", "input_cost_per_token": 3e-6, "output_cost_per_token": 4e-6},
        "anthropic/claude-x-1": {"litellm_provider": "anthropic", "input_cost_per_token": 5e-6, "output_cost_per_token": 6e-6}
    }"#;
    let table = LiteLlmTable::parse(text).unwrap();
    assert_eq!(
        table.claude_model("claude-x-1").unwrap().input_per_mtok,
        Some(3.0)
    );
}

#[test]
fn long_context_tiers() {
    let mut sonnet = row("anthropic", [3.0, 15.0, 0.3, 3.75, 6.0]);
    sonnet["input_cost_per_token_above_200k_tokens"] = json!(6e-6);
    sonnet["output_cost_per_token_above_200k_tokens"] = json!(2.25e-5);
    sonnet["cache_read_input_token_cost_above_200k_tokens"] = json!(6e-7);
    sonnet["input_cost_per_token_above_200k_tokens_batches"] = json!(3e-6);
    let table = parse(&json!({ "claude-sonnet-4-5": sonnet }));
    let tier = table
        .claude_model("claude-sonnet-4-5")
        .unwrap()
        .long_context
        .unwrap();
    assert_eq!(
        (
            tier.above_input_tokens,
            tier.input_per_mtok,
            tier.output_per_mtok,
            tier.cache_read_per_mtok,
            tier.cache_write_5m_per_mtok
        ),
        (200_000, Some(6.0), Some(22.5), Some(0.6), None)
    );
}

#[test]
fn what_is_not_a_table() {
    for text in [
        "",
        "not json",
        "[1, 2]",
        "\"claude\"",
        "{\"a\": 1",
        "{} trailing",
    ] {
        let error = LiteLlmTable::parse(text).unwrap_err().to_string();
        assert!(error.contains("not valid JSON"), "{text}: {error}");
    }
    let huge = " ".repeat(MAX_TABLE_BYTES + 1);
    let error = LiteLlmTable::parse(&huge).unwrap_err().to_string();
    assert!(error.contains("more than"), "{error}");
    // An empty object is a table without rows (the refusal rules judge it).
    assert_eq!(
        LiteLlmTable::parse("{}").unwrap().claude_models().count(),
        0
    );
}

#[test]
fn the_bundled_snapshot() {
    let header: Value = serde_json::from_str(BUNDLED_LITELLM_JSON).unwrap();
    assert_eq!(header["source"]["package"], "litellm");
    assert_eq!(header["source"]["version"], "1.110.2");
    assert_eq!(
        header["source"]["file"],
        "litellm/model_prices_and_context_window_backup.json"
    );
    assert_eq!(header["source"]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(header["source"]["taken"], "2026-12-02");

    let table = LiteLlmTable::bundled();
    assert_eq!(table.kind(), TableKind::Bundled);
    assert_eq!(table.label(), "LiteLLM 1.110.2 (bundled)");
    assert_eq!(table.as_of().as_deref(), Some("2026-12-02"));
    // Every anthropic row of the file is read (dated twins fold into one model).
    let anthropic = header["models"]
        .as_object()
        .unwrap()
        .values()
        .filter(|row| row["litellm_provider"] == "anthropic")
        .count();
    assert_eq!(anthropic, 22);
    assert_eq!(table.claude_models().count(), 17);
    assert!(table.priced_claude_ids().any(|id| id == "claude-haiku-5-5"));
    assert!(table.other_models().count() > 100);
    // Only the kept fields are in the file.
    for row in header["models"].as_object().unwrap().values() {
        assert!(row.get("supports_vision").is_none(), "{row}");
    }
}

#[test]
fn a_snapshot_round_trips() {
    let at = Utc.with_ymd_and_hms(2026, 12, 2, 9, 30, 0).unwrap();
    let fetched = LiteLlmTable::parse(BUNDLED_LITELLM_JSON)
        .unwrap()
        .fetched("http://127.0.0.1:1/prices.json", at);
    assert_eq!(fetched.kind(), TableKind::Fetched);
    assert_eq!(fetched.label(), "LiteLLM upstream, fetched 2026-12-02");
    let again = LiteLlmTable::parse(&fetched.to_snapshot_json()).unwrap();
    assert_eq!(again.kind(), TableKind::Fetched);
    assert_eq!(
        again.source().fetched_at.as_deref(),
        Some("2026-12-02T09:30:00Z")
    );
    assert_eq!(
        again.source().url.as_deref(),
        Some("http://127.0.0.1:1/prices.json")
    );
    let ids = |t: &LiteLlmTable| {
        t.claude_models()
            .map(|(id, r)| (id.to_owned(), r.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&again), ids(&fetched));
    assert_eq!(again.other_models().count(), fetched.other_models().count());
}

/// A table of `n` Claude models `claude-m-<i>` at $1 / $5, with `changes` applied.
fn table_of(n: usize, changes: &[(&str, Option<[f64; 5]>)]) -> LiteLlmTable {
    let mut rows = serde_json::Map::new();
    for i in 0..n {
        rows.insert(
            format!("claude-m-{i}"),
            row("anthropic", [1.0, 5.0, 0.1, 1.25, 2.0]),
        );
    }
    for (id, prices) in changes {
        match prices {
            Some(prices) => rows.insert((*id).to_owned(), row("anthropic", *prices)),
            None => rows.remove(*id),
        };
    }
    parse(&Value::Object(rows))
}

fn refusal(old: &LiteLlmTable, new: &LiteLlmTable, recent: &[&str]) -> Option<String> {
    let recent: Vec<String> = recent.iter().map(|s| (*s).to_owned()).collect();
    check_refresh(old, new, &recent).err().map(|r| r.reason)
}

#[test]
fn refresh_rules() {
    let old = table_of(40, &[]);
    // The same table, a new model, a price moved by exactly 10×: taken.
    assert_eq!(refusal(&old, &table_of(40, &[]), &[]), None);
    assert_eq!(
        refusal(
            &old,
            &table_of(40, &[("claude-new-1", Some([2.0, 9.0, 0.2, 2.5, 4.0]))]),
            &[]
        ),
        None
    );
    assert_eq!(
        refusal(
            &old,
            &table_of(40, &[("claude-m-3", Some([10.0, 0.5, 0.1, 1.25, 2.0]))]),
            &[]
        ),
        None
    );
    // Dropping 2 of 40 (5 %) is allowed; 3 (7.5 %) is not.
    let two = [("claude-m-1", None), ("claude-m-2", None)];
    assert_eq!(refusal(&old, &table_of(40, &two), &[]), None);
    let three = [
        ("claude-m-1", None),
        ("claude-m-2", None),
        ("claude-m-3", None),
    ];
    let reason = refusal(&old, &table_of(40, &three), &[]).unwrap();
    assert!(
        reason.contains("drops 3 of the 40") && reason.contains("claude-m-1"),
        "{reason}"
    );
    // Dropping one model the ledger priced lately is refused, whatever its spelling there.
    let one = [("claude-m-7", None)];
    let reason = refusal(&old, &table_of(40, &one), &["claude-m-7-20260101"]).unwrap();
    assert!(
        reason.contains("drops claude-m-7") && reason.contains("last 30 days"),
        "{reason}"
    );
    assert_eq!(
        refusal(&old, &table_of(40, &one), &["claude-m-8", "gpt-5"]),
        None
    );
    // A price moved by more than 10×, either way, names the model and the price.
    let up = [("claude-m-5", Some([10.5, 5.0, 0.1, 1.25, 2.0]))];
    let reason = refusal(&old, &table_of(40, &up), &[]).unwrap();
    assert!(
        reason.contains("input price of claude-m-5") && reason.contains("10×"),
        "{reason}"
    );
    let down = [("claude-m-5", Some([1.0, 5.0, 0.009, 1.25, 2.0]))];
    let reason = refusal(&old, &table_of(40, &down), &[]).unwrap();
    assert!(
        reason.contains("cache read price of claude-m-5"),
        "{reason}"
    );
    let free = [("claude-m-5", Some([0.0, 5.0, 0.1, 1.25, 2.0]))];
    assert!(refusal(&old, &table_of(40, &free), &[]).is_some());
    // A table without any Claude model.
    let reason = refusal(&old, &table_of(0, &[]), &[]).unwrap();
    assert!(reason.contains("no priced Claude model"), "{reason}");
    // The bundled snapshot against itself, as the first refresh compares.
    let bundled = LiteLlmTable::bundled();
    assert_eq!(
        check_refresh(bundled, bundled, &["claude-opus-4-6".to_owned()]),
        Ok(())
    );
}
