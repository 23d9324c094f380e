//! The prompt-cache advisor end to end: real requests through the real gateway to the simulator,
//! the shapes in a store on disk, and the advice read back from it with the exact saving the
//! prices give; and no prompt text anywhere in the database, its WAL or the logs.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use std::sync::Arc;
use std::time::Duration;

use claude_status_core::advice::{estimate_tokens, CacheUse};
use claude_status_core::catalog::Catalog;
use claude_status_engine::gateway::prefix::PrefixKey;
use claude_status_engine::gateway::{Gateway, GatewayConfig};
use claude_status_engine::Store;
use serde_json::json;
use tokio_util::sync::CancellationToken;

#[path = "support/logs.rs"]
mod logs;
#[path = "support/sim.rs"]
mod sim;

use logs::captured_logs;

/// Text that must never be stored or logged: it is in every system prompt and message sent.
const MARKER: &str = "zebra-quartz-marker-5b1e";

/// A system prompt of exactly `chars` characters that holds the marker.
fn system_prompt(chars: usize, seed: &str) -> String {
    let mut text = format!("{MARKER} {seed} ");
    while text.len() < chars {
        text.push_str("You are a careful assistant who answers briefly. ");
    }
    text.truncate(chars);
    text
}

fn body(model: &str, system: &serde_json::Value, stream: bool) -> String {
    json!({
        "model": model,
        "max_tokens": 16,
        "system": system,
        "messages": [{"role": "user", "content": format!("{MARKER}: say hello")}],
        "stream": stream,
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_uncached_prefixes_get_the_exact_saving_and_no_text_is_kept() {
    captured_logs();
    let sim = sim::fast_sim("healthy").await;
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("claude-status.sqlite3");
    let store = Arc::new(Store::open(&path).unwrap());
    let key = PrefixKey::load_or_create(directory.path()).unwrap();
    let gateway = Gateway::bind(GatewayConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        upstream: sim.base_url(),
        store: Some(Arc::clone(&store)),
        prefix_key: Some(key),
        ..GatewayConfig::default()
    })
    .await
    .unwrap();
    let url = gateway.base_url();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(gateway.run(shutdown.clone()));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let send = |body: String| {
        let client = client.clone();
        let url = url.clone();
        async move {
            let answer = client
                .post(format!("{url}/v1/messages"))
                .header("x-api-key", "sk-ant-api03-advisor-test")
                .header("anthropic-version", "2023-06-01")
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status(), 200);
            answer.bytes().await.unwrap();
        }
    };

    // Prefix A: a 20,000-character system prompt on Opus 4.5 (5,000 tokens at 4 characters a
    // token, over the model's 4,096 minimum), sent 10 times within seconds, half streamed: one
    // would write the cache, nine would read it.
    let a = json!(system_prompt(20_000, "a"));
    for n in 0..10 {
        send(body("claude-opus-4-5", &a, n % 2 == 0)).await;
    }
    // Prefix B: 8,000 characters (2,000 tokens), under Opus 4.5's minimum: no advice.
    let b = json!(system_prompt(8_000, "b"));
    for _ in 0..4 {
        send(body("claude-opus-4-5", &b, false)).await;
    }
    // Prefix C: A's text as one block, on Sonnet 4.6 (minimum 2,048): another model and another
    // shape, another prefix.
    let c = json!([{"type": "text", "text": system_prompt(20_000, "a")}]);
    for _ in 0..3 {
        send(body("claude-sonnet-4-6", &c, false)).await;
    }
    // A request that already caches is reported as cached, never as advice.
    let cached = json!([{"type": "text", "text": system_prompt(20_000, "d"),
                        "cache_control": {"type": "ephemeral"}}]);
    for _ in 0..2 {
        send(body("claude-opus-4-5", &cached, false)).await;
    }
    // A request without a system prompt has no prefix.
    send(
        json!({"model": "claude-opus-4-5", "max_tokens": 8,
               "messages": [{"role": "user", "content": MARKER}]})
        .to_string(),
    )
    .await;

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(15), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();

    let catalog = Catalog::builtin();
    let now = chrono::Utc::now() + chrono::Duration::seconds(1);
    let report = claude_status_engine::advice::advice_report(
        &store,
        &catalog,
        now,
        claude_status_engine::advice::ADVICE_WINDOW,
    )
    .unwrap();
    assert_eq!(report.requests, 20);
    assert_eq!(report.with_prefix, 19);
    assert_eq!(report.prefixes, 4);
    assert_eq!(report.below_minimum, 1);
    assert_eq!(report.advice.len(), 2, "{:#?}", report.advice);

    let opus = report
        .advice
        .iter()
        .find(|a| a.model == "claude-opus-4-5")
        .unwrap();
    assert_eq!(opus.size.tokens, estimate_tokens(20_000));
    assert_eq!((opus.sends, opus.would_hit, opus.would_write), (10, 9, 1));
    let price = catalog.price("claude-opus-4-5").unwrap();
    let want = 9.0 * 5_000.0 * (price.input_per_mtok - price.cache_read_per_mtok) / 1e6
        - 5_000.0 * (price.cache_write_5m_per_mtok - price.input_per_mtok) / 1e6;
    // $5 input, $0.50 read, $6.25 write: 0.2025 − 0.00625.
    assert!((want - 0.19625).abs() < 1e-12, "{want}");
    assert!(
        (opus.saving_usd - want).abs() < 1e-12,
        "{}",
        opus.saving_usd
    );
    assert!(opus.sentence.contains("sent 10 times"), "{}", opus.sentence);

    let sonnet = report
        .advice
        .iter()
        .find(|a| a.model == "claude-sonnet-4-6")
        .unwrap();
    assert_eq!((sonnet.would_hit, sonnet.would_write), (2, 1));
    let price = catalog.price("claude-sonnet-4-6").unwrap();
    let want = 2.0 * 5_000.0 * (price.input_per_mtok - price.cache_read_per_mtok) / 1e6
        - 5_000.0 * (price.cache_write_5m_per_mtok - price.input_per_mtok) / 1e6;
    assert!(
        (sonnet.saving_usd - want).abs() < 1e-12,
        "{}",
        sonnet.saving_usd
    );
    assert_ne!(sonnet.key, opus.key, "another text shape is another prefix");

    // The simulator caches as the API does: the first marked request writes the prefix, the
    // second reads it. The saving is what those answers' usage says, at Opus 4.5's prices.
    assert_eq!(report.cached.len(), 1);
    let written = claude_status_simulator::prefix_tokens(
        &serde_json::from_str(&body("claude-opus-4-5", &cached, false)).unwrap(),
    )
    .first()
    .map(|point| point.tokens)
    .unwrap();
    let hit = &report.cached[0];
    assert_eq!((hit.sends, hit.hits, hit.writes), (2, 1, 1));
    assert!((hit.hit_ratio - 0.5).abs() < 1e-12);
    let price = catalog.price("claude-opus-4-5").unwrap();
    let want = written as f64 * (price.input_per_mtok - price.cache_read_per_mtok) / 1e6
        - written as f64 * (price.cache_write_5m_per_mtok - price.input_per_mtok) / 1e6;
    assert!(
        (hit.saved_usd - want).abs() < 1e-12,
        "{} {want}",
        hit.saved_usd
    );
    assert_eq!(report.cached_totals.sends, 2);
    assert_eq!(report.cached_totals.hits, 1);

    // The shapes say how each request asked for caching.
    let mut uses = Vec::new();
    store
        .visit_prefix_sends(now - chrono::Duration::hours(1), now, &mut |send| {
            uses.push(send.cache_use);
        })
        .unwrap();
    assert_eq!(uses.iter().filter(|u| **u == CacheUse::Blocks).count(), 2);

    // No prompt text: not in the database, its WAL, or any log line.
    drop(store);
    for entry in std::fs::read_dir(directory.path()).unwrap() {
        let file = entry.unwrap().path();
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !bytes.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()),
            "{} holds prompt text",
            file.display()
        );
        assert!(
            !bytes
                .windows(30)
                .any(|w| w == b"You are a careful assistant wh"),
            "{} holds prompt text",
            file.display()
        );
    }
    let logs = captured_logs().lock().unwrap();
    assert!(
        !logs.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()),
        "a log line holds prompt text"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_counting_on_a_prefix_is_counted_once_by_count_tokens_and_not_called_estimated() {
    captured_logs();
    let sim = sim::fast_sim("healthy").await;
    let directory = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&directory.path().join("claude-status.sqlite3")).unwrap());
    let gateway = Gateway::bind(GatewayConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        upstream: sim.base_url(),
        store: Some(Arc::clone(&store)),
        prefix_key: Some(PrefixKey::load_or_create(directory.path()).unwrap()),
        count_prefix_tokens: true,
        ..GatewayConfig::default()
    })
    .await
    .unwrap();
    let url = gateway.base_url();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(gateway.run(shutdown.clone()));
    let client = reqwest::Client::new();
    let tools = json!([{"name": "lookup", "description": system_prompt(6_000, "tool"),
                        "input_schema": {"type": "object", "properties": {}}}]);
    let system = json!([{"type": "text", "text": system_prompt(20_000, "counted")}]);
    let request = json!({
        "model": "claude-opus-4-5", "max_tokens": 16, "tools": tools, "system": system,
        "messages": [{"role": "user", "content": "hello"}],
    });
    for _ in 0..5 {
        let answer = client
            .post(format!("{url}/v1/messages"))
            .header("x-api-key", "sk-ant-api03-advisor-count")
            .header("anthropic-version", "2023-06-01")
            .json(&request)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        answer.bytes().await.unwrap();
    }
    // The count runs on a task of its own: wait for it, within a bound.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while store.prefix_sizes().unwrap().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no prefix was counted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(15), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();

    // One prefix, counted once: what the simulator's cache would count up to the end of the
    // system prompt's last block (tools, then system), the same figure count_tokens gives.
    let sizes = store.prefix_sizes().unwrap();
    assert_eq!(sizes.len(), 1, "{sizes:?}");
    let want = claude_status_simulator::prefix_tokens(&request)
        .iter()
        .rev()
        .find(|point| {
            !matches!(
                point.location,
                claude_status_simulator::BlockLocation::Message { .. }
            )
        })
        .map(|point| point.tokens)
        .unwrap();
    assert_eq!(sizes.values().copied().next(), Some(want));

    let catalog = Catalog::builtin();
    let report = claude_status_engine::advice::advice_report(
        &store,
        &catalog,
        chrono::Utc::now() + chrono::Duration::seconds(1),
        claude_status_engine::advice::ADVICE_WINDOW,
    )
    .unwrap();
    assert_eq!(report.estimated_sizes, 0);
    let advice = &report.advice[0];
    assert_eq!(advice.size.tokens, want);
    assert!(!advice.size.estimated);
    assert_eq!(
        advice.parts,
        claude_status_core::advice::PrefixParts::ToolsAndSystem
    );
    assert!(
        advice.sentence.starts_with("Tools and system prompt #1 ("),
        "{}",
        advice.sentence
    );
    // count_tokens saw the requests' own key; the gateway kept it nowhere.
    let logs = captured_logs().lock().unwrap();
    assert!(!logs
        .windows(b"advisor-count".len())
        .any(|w| w == b"advisor-count"));
}
