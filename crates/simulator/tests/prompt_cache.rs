//! Prompt caching in the fake API: writes, reads, lifetimes on story time, the breakpoint limit, both answer shapes, and isolation per model and per key (issue 17).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use claude_status_simulator::{input_tokens, prefix_tokens, BlockLocation, SimHandle};
use common::{client, minutes, sim};
use serde_json::{json, Value};

const KEY: &str = "sk-ant-api03-cache-test";
/// Sonnet 4.6 caches prefixes of 2,048 tokens or more (api-facts D3).
const SONNET: &str = "claude-sonnet-4-6";

async fn post(sim: &SimHandle, path: &str, key: &str, body: &Value) -> reqwest::Response {
    client()
        .post(format!("{}{path}", sim.base_url()))
        .header("x-api-key", key)
        .header("anthropic-version", "2023-06-01")
        .json(body)
        .send()
        .await
        .expect("request")
}

/// The usage of a JSON answer, checking the status first.
async fn usage_with(sim: &SimHandle, key: &str, body: &Value) -> Value {
    let response = post(sim, "/v1/messages", key, body).await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.expect("JSON");
    answer["usage"].clone()
}

async fn usage(sim: &SimHandle, body: &Value) -> Value {
    usage_with(sim, KEY, body).await
}

/// A system prompt of `characters` characters, its one block marked (with `ttl` if given),
/// and a short question after it.
fn cached_system(model: &str, characters: usize, ttl: Option<&str>) -> Value {
    let mut marker = json!({ "type": "ephemeral" });
    if let Some(ttl) = ttl {
        marker["ttl"] = json!(ttl);
    }
    json!({
        "model": model,
        "max_tokens": 16,
        "system": [{ "type": "text", "text": "s".repeat(characters), "cache_control": marker }],
        "messages": [{ "role": "user", "content": "What does the manual say?" }]
    })
}

/// The prefix tokens of the (one) system block.
fn system_tokens(body: &Value) -> u64 {
    prefix_tokens(body)
        .iter()
        .find(|point| point.location == BlockLocation::System(0))
        .map(|point| point.tokens)
        .expect("a system block")
}

fn numbers(usage: &Value) -> (u64, u64, u64, u64, u64) {
    (
        usage["input_tokens"].as_u64().unwrap(),
        usage["cache_creation_input_tokens"].as_u64().unwrap(),
        usage["cache_creation"]["ephemeral_5m_input_tokens"]
            .as_u64()
            .unwrap(),
        usage["cache_creation"]["ephemeral_1h_input_tokens"]
            .as_u64()
            .unwrap(),
        usage["cache_read_input_tokens"].as_u64().unwrap(),
    )
}

/// Input, written and read always add up to what the request counts without caching.
fn assert_adds_up(usage: &Value, body: &Value) {
    let (input, written, written_5m, written_1h, read) = numbers(usage);
    assert_eq!(written, written_5m + written_1h, "{usage}");
    assert_eq!(input + written + read, input_tokens(body), "{usage}");
}

#[tokio::test]
async fn a_prefix_below_the_minimum_makes_no_entry() {
    let sim = sim("healthy").await;
    // About 1,500 tokens: enough for Sonnet 4.5's 1,024 but not Sonnet 4.6's 2,048.
    let body = cached_system(SONNET, 6_000, None);
    assert!(system_tokens(&body) < 2_048);
    for _ in 0..2 {
        let usage = usage(&sim, &body).await;
        assert_eq!(numbers(&usage), (input_tokens(&body), 0, 0, 0, 0));
    }
}

#[tokio::test]
async fn first_request_writes_and_the_next_within_five_minutes_reads() {
    let sim = sim("healthy").await;
    let body = cached_system(SONNET, 9_000, None);
    let prefix = system_tokens(&body);
    assert!(prefix >= 2_048);
    let after = input_tokens(&body) - prefix;

    let first = usage(&sim, &body).await;
    assert_eq!(numbers(&first), (after, prefix, prefix, 0, 0));
    assert_adds_up(&first, &body);

    sim.advance(minutes(4));
    let second = usage(&sim, &body).await;
    assert_eq!(numbers(&second), (after, 0, 0, 0, prefix));
    assert_adds_up(&second, &body);

    // The read at minute 4 started the five minutes again, so minute 8 still reads…
    sim.advance(minutes(4));
    assert_eq!(numbers(&usage(&sim, &body).await), (after, 0, 0, 0, prefix));
    // …and more than five minutes without use lose the entry: it is written again.
    sim.advance(minutes(5) + std::time::Duration::from_secs(1));
    assert_eq!(
        numbers(&usage(&sim, &body).await),
        (after, prefix, prefix, 0, 0)
    );
}

#[tokio::test]
async fn one_hour_entries_are_written_as_such_and_outlive_five_minutes() {
    let sim = sim("healthy").await;
    let body = cached_system(SONNET, 9_000, Some("1h"));
    let prefix = system_tokens(&body);
    let after = input_tokens(&body) - prefix;
    assert_eq!(
        numbers(&usage(&sim, &body).await),
        (after, prefix, 0, prefix, 0)
    );
    sim.advance(minutes(50));
    assert_eq!(numbers(&usage(&sim, &body).await), (after, 0, 0, 0, prefix));
    sim.advance(minutes(61));
    assert_eq!(
        numbers(&usage(&sim, &body).await),
        (after, prefix, 0, prefix, 0)
    );
}

/// A conversation of `turns` user messages, each with a long block, under a top-level marker.
fn conversation(turns: usize) -> Value {
    let messages: Vec<Value> = (0..turns)
        .map(|turn| {
            json!({
                "role": if turn % 2 == 0 { "user" } else { "assistant" },
                "content": [{ "type": "text", "text": format!("turn {turn} ").repeat(1_500) }]
            })
        })
        .collect();
    json!({
        "model": SONNET,
        "max_tokens": 16,
        "cache_control": { "type": "ephemeral" },
        "messages": messages
    })
}

#[tokio::test]
async fn top_level_cache_control_caches_up_to_the_last_block_and_moves_forward() {
    let sim = sim("healthy").await;
    let first = conversation(1);
    let total_first = input_tokens(&first);
    assert!(total_first >= 2_048);
    // Everything up to the last block is the prefix, so nothing is plain input.
    assert_eq!(
        numbers(&usage(&sim, &first).await),
        (0, total_first, total_first, 0, 0)
    );
    // The grown conversation's breakpoint moved to its new last block; the lookback finds
    // the first turn's entry, which is read, and the new turns are written.
    let grown = conversation(3);
    let grown_usage = usage(&sim, &grown).await;
    let grown_total = input_tokens(&grown);
    assert_eq!(
        numbers(&grown_usage),
        (
            0,
            grown_total - total_first,
            grown_total - total_first,
            0,
            total_first
        )
    );
    // Asking again reads the grown prefix whole.
    assert_eq!(
        numbers(&usage(&sim, &grown).await),
        (0, 0, 0, 0, input_tokens(&grown))
    );
}

#[tokio::test]
async fn the_longest_live_prefix_is_read_and_the_rest_written() {
    let sim = sim("healthy").await;
    let system = cached_system(SONNET, 9_000, None);
    let _ = usage(&sim, &system).await;
    // The same system prompt, then a marked long message: the system entry is read and the
    // tokens from there to the new breakpoint are written.
    let mut longer = system.clone();
    longer["messages"] = json!([{
        "role": "user",
        "content": [
            { "type": "text", "text": "m".repeat(4_000), "cache_control": { "type": "ephemeral" } },
            { "type": "text", "text": "And the question?" }
        ]
    }]);
    let points = prefix_tokens(&longer);
    let system_prefix = system_tokens(&longer);
    assert_eq!(system_prefix, system_tokens(&system));
    let message_prefix = points[1].tokens;
    let usage = usage(&sim, &longer).await;
    assert_eq!(
        numbers(&usage),
        (
            input_tokens(&longer) - message_prefix,
            message_prefix - system_prefix,
            message_prefix - system_prefix,
            0,
            system_prefix
        )
    );
    assert_adds_up(&usage, &longer);
}

#[tokio::test]
async fn five_breakpoints_are_refused_as_the_api_refuses_them() {
    let sim = sim("healthy").await;
    let marked = json!({ "type": "text", "text": "x", "cache_control": { "type": "ephemeral" } });
    let body = json!({
        "model": SONNET,
        "max_tokens": 16,
        "messages": [{ "role": "user", "content": [marked, marked, marked, marked, marked] }]
    });
    let response = post(&sim, "/v1/messages", KEY, &body).await;
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["type"], "error");
    assert_eq!(error["error"]["type"], "invalid_request_error");
    assert_eq!(
        error["error"]["message"],
        "A maximum of 4 blocks with cache_control may be provided. Found 5."
    );

    let malformed = json!({
        "model": SONNET,
        "max_tokens": 16,
        "cache_control": { "type": "ephemeral", "ttl": "2h" },
        "messages": [{ "role": "user", "content": "hi" }]
    });
    let response = post(&sim, "/v1/messages", KEY, &malformed).await;
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["type"], "invalid_request_error");
    assert_eq!(
        error["error"]["message"],
        "cache_control.ttl: Input should be '5m' or '1h'"
    );
}

/// The usage of `message_start` and of `message_delta` in a streamed answer.
async fn streamed_usage(sim: &SimHandle, body: &Value) -> (Value, Value) {
    let mut body = body.clone();
    body["stream"] = json!(true);
    let response = post(sim, "/v1/messages", KEY, &body).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let mut start = Value::Null;
    let mut delta = Value::Null;
    for frame in text.split("\n\n") {
        let Some(data) = frame.lines().find_map(|line| line.strip_prefix("data: ")) else {
            continue;
        };
        let data: Value = serde_json::from_str(data).unwrap();
        match data["type"].as_str() {
            Some("message_start") => start = data["message"]["usage"].clone(),
            Some("message_delta") => delta = data["usage"].clone(),
            _ => {}
        }
    }
    (start, delta)
}

#[tokio::test]
async fn streamed_answers_report_the_cache_too() {
    let sim = sim("healthy").await;
    let body = cached_system(SONNET, 9_000, None);
    let prefix = system_tokens(&body);
    let after = input_tokens(&body) - prefix;
    let (start, delta) = streamed_usage(&sim, &body).await;
    assert_eq!(numbers(&start), (after, prefix, prefix, 0, 0));
    // `message_delta` usage is cumulative: it repeats the input counts.
    assert_eq!(delta["input_tokens"], after);
    assert_eq!(delta["cache_creation_input_tokens"], prefix);
    assert_eq!(delta["cache_read_input_tokens"], 0);
    let (start, delta) = streamed_usage(&sim, &body).await;
    assert_eq!(numbers(&start), (after, 0, 0, 0, prefix));
    assert_eq!(delta["cache_read_input_tokens"], prefix);
    assert_eq!(delta["cache_creation_input_tokens"], 0);
}

#[tokio::test]
async fn count_tokens_counts_tools_and_matches_messages() {
    let sim = sim("healthy").await;
    let plain = json!({
        "model": SONNET,
        "messages": [{ "role": "user", "content": "What is the weather?" }]
    });
    let mut with_tools = plain.clone();
    with_tools["tools"] = json!([{
        "name": "get_weather",
        "description": "Looks the weather up for a city.",
        "input_schema": { "type": "object", "properties": { "city": { "type": "string" } } }
    }]);
    let count = |body: Value| {
        let sim = &sim;
        async move {
            let response = post(sim, "/v1/messages/count_tokens", KEY, &body).await;
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()["input_tokens"]
                .as_u64()
                .unwrap()
        }
    };
    let without = count(plain.clone()).await;
    let with = count(with_tools.clone()).await;
    // Today's figure for a body without tools: "user" and the question, 24 characters.
    assert_eq!(without, 24_u64.div_ceil(4) + 7);
    // The tool's strings: name, description, "object", "string".
    assert_eq!(with - without, (11 + 32 + 6 + 6_u64).div_ceil(4) + 7);
    assert_eq!(with, input_tokens(&with_tools));
    let mut message = with_tools.clone();
    message["max_tokens"] = json!(16);
    assert_eq!(usage(&sim, &message).await["input_tokens"], with);
}

#[tokio::test]
async fn entries_are_per_model_and_per_key() {
    let sim = sim("healthy").await;
    let sonnet = cached_system(SONNET, 20_000, None);
    let prefix = system_tokens(&sonnet);
    assert!(prefix >= 4_096, "long enough for every model");
    assert_eq!(numbers(&usage(&sim, &sonnet).await).1, prefix);
    // Another model has its own cache.
    let opus = cached_system("claude-opus-4-6", 20_000, None);
    assert_eq!(numbers(&usage(&sim, &opus).await).1, prefix);
    // Another organisation has its own cache.
    let other = usage_with(&sim, "sk-ant-api03-another-org", &sonnet).await;
    assert_eq!(numbers(&other).1, prefix);
    assert_eq!(numbers(&other).4, 0);
    // The first key and model still read their own entry.
    assert_eq!(numbers(&usage(&sim, &sonnet).await).4, prefix);
}

#[tokio::test]
async fn an_unmarked_request_never_reads_or_writes() {
    let sim = sim("healthy").await;
    let marked = cached_system(SONNET, 9_000, None);
    let _ = usage(&sim, &marked).await;
    let mut unmarked = marked.clone();
    unmarked["system"][0]
        .as_object_mut()
        .unwrap()
        .remove("cache_control");
    for _ in 0..2 {
        let usage = usage(&sim, &unmarked).await;
        assert_eq!(numbers(&usage), (input_tokens(&unmarked), 0, 0, 0, 0));
    }
    // Marking changes nothing about what a request counts.
    assert_eq!(input_tokens(&unmarked), input_tokens(&marked));
}
