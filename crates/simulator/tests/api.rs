//! The fake Claude API: shapes, headers, SSE order and every API scenario's behaviour.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use claude_status_simulator::SimHandle;
use common::{client, goto, minutes, sim};
use reqwest::Response;
use serde_json::{json, Value};

const KEY: &str = "sk-ant-api03-test";

async fn models(sim: &SimHandle) -> Response {
    client()
        .get(format!("{}/v1/models", sim.base_url()))
        .header("x-api-key", KEY)
        .header("anthropic-version", "2023-06-01")
        .send()
        .await
        .expect("request")
}

async fn message(sim: &SimHandle, body: Value) -> Response {
    client()
        .post(format!("{}/v1/messages", sim.base_url()))
        .header("x-api-key", KEY)
        .header("anthropic-version", "2023-06-01")
        .json(&body)
        .send()
        .await
        .expect("request")
}

fn ask(max_tokens: u64, stream: bool) -> Value {
    json!({
        "model": "claude-haiku-4-5",
        "max_tokens": max_tokens,
        "stream": stream,
        "messages": [{ "role": "user", "content": "Are you there?" }]
    })
}

fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// Checks the API error shape and returns the error object.
async fn error_of(response: Response, status: u16, kind: &str) -> Value {
    assert_eq!(response.status(), status);
    let request_id = header(&response, "request-id").expect("request-id header");
    assert!(header(&response, "anthropic-organization-id").is_some());
    assert!(header(&response, "anthropic-ratelimit-requests-limit").is_some());
    let body: Value = response.json().await.expect("JSON error body");
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], kind);
    assert!(body["error"]["message"].is_string());
    assert_eq!(body["request_id"], request_id.as_str());
    body["error"].clone()
}

/// Parses an SSE body into (event name, data) pairs.
fn events(text: &str) -> Vec<(String, Value)> {
    text.split("\n\n")
        .filter(|frame| !frame.trim().is_empty())
        .map(|frame| {
            let mut name = String::new();
            let mut data = Value::Null;
            for line in frame.lines() {
                if let Some(rest) = line.strip_prefix("event: ") {
                    name = rest.to_owned();
                } else if let Some(rest) = line.strip_prefix("data: ") {
                    data = serde_json::from_str(rest).expect("event data is JSON");
                }
            }
            assert_eq!(data["type"], name.as_str(), "the data names its event");
            (name, data)
        })
        .collect()
}

#[tokio::test]
async fn missing_and_invalid_keys_get_401() {
    let sim = sim("healthy").await;
    let no_key = client()
        .get(format!("{}/v1/models", sim.base_url()))
        .send()
        .await
        .expect("request");
    let error = error_of(no_key, 401, "authentication_error").await;
    assert_eq!(error["message"], "x-api-key header is required");
    let bad_key = client()
        .post(format!("{}/v1/messages", sim.base_url()))
        .header("x-api-key", "sk-ant-invalid")
        .json(&ask(5, false))
        .send()
        .await
        .expect("request");
    let error = error_of(bad_key, 401, "authentication_error").await;
    assert_eq!(error["message"], "invalid x-api-key");
    sim.shutdown().await;
}

#[tokio::test]
async fn models_list_has_the_documented_shape_and_headers() {
    let sim = sim("healthy").await;
    let response = models(&sim).await;
    assert_eq!(response.status(), 200);
    assert!(header(&response, "request-id")
        .expect("request-id")
        .starts_with("req_sim"));
    assert!(header(&response, "anthropic-organization-id").is_some());
    for family in ["requests", "tokens", "input-tokens", "output-tokens"] {
        for suffix in ["limit", "remaining", "reset"] {
            let name = format!("anthropic-ratelimit-{family}-{suffix}");
            assert!(header(&response, &name).is_some(), "{name}");
        }
    }
    assert_eq!(
        header(&response, "anthropic-ratelimit-requests-limit").as_deref(),
        Some("1000")
    );
    assert_eq!(
        header(&response, "anthropic-ratelimit-input-tokens-limit").as_deref(),
        Some("80000")
    );
    assert_eq!(
        header(&response, "anthropic-ratelimit-output-tokens-limit").as_deref(),
        Some("16000")
    );
    assert_eq!(
        header(&response, "anthropic-ratelimit-tokens-limit").as_deref(),
        Some("96000")
    );
    let reset = header(&response, "anthropic-ratelimit-requests-reset").expect("reset");
    assert!(
        chrono::DateTime::parse_from_rfc3339(&reset).is_ok(),
        "{reset}"
    );
    let remaining: u64 = header(&response, "anthropic-ratelimit-requests-remaining")
        .and_then(|value| value.parse().ok())
        .expect("remaining");

    let body: Value = response.json().await.expect("JSON");
    let data = body["data"].as_array().expect("data");
    assert!(data.iter().any(|model| model["id"] == "claude-opus-4-8"));
    for model in data {
        assert_eq!(model["type"], "model");
        assert!(model["display_name"].is_string() && model["created_at"].is_string());
    }
    assert_eq!(body["first_id"], data[0]["id"]);
    assert_eq!(body["last_id"], data[data.len() - 1]["id"]);
    assert_eq!(body["has_more"], false);

    // The next request has one request less left, unless a new minute began in between.
    let next = models(&sim).await;
    let next_remaining: u64 = header(&next, "anthropic-ratelimit-requests-remaining")
        .and_then(|value| value.parse().ok())
        .expect("remaining");
    assert!(
        next_remaining == remaining - 1 || next_remaining == 999,
        "{remaining} then {next_remaining}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn messages_answer_a_message_with_full_usage() {
    let sim = sim("healthy").await;
    let response = message(&sim, ask(100, false)).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["type"], "message");
    assert_eq!(body["role"], "assistant");
    assert!(body["id"].as_str().unwrap_or_default().starts_with("msg_"));
    assert_eq!(body["content"][0]["type"], "text");
    assert_eq!(body["stop_reason"], "end_turn");
    let usage = &body["usage"];
    for field in [
        "input_tokens",
        "output_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
    ] {
        assert!(usage[field].is_u64(), "{field}");
    }
    assert!(usage["cache_creation"]["ephemeral_5m_input_tokens"].is_u64());
    assert!(usage["cache_creation"]["ephemeral_1h_input_tokens"].is_u64());
    assert_eq!(usage["service_tier"], "standard");

    let short = message(&sim, ask(1, false)).await;
    let body: Value = short.json().await.expect("JSON");
    assert_eq!(body["stop_reason"], "max_tokens");
    assert_eq!(body["usage"]["output_tokens"], 1);

    let invalid = message(&sim, json!({ "model": "claude-haiku-4-5", "messages": [] })).await;
    let error = error_of(invalid, 400, "invalid_request_error").await;
    assert_eq!(error["message"], "max_tokens: Field required");
    sim.shutdown().await;
}

#[tokio::test]
async fn streams_send_the_documented_event_order() {
    let sim = sim("healthy").await;
    let response = message(&sim, ask(4, true)).await;
    assert_eq!(response.status(), 200);
    assert!(header(&response, "content-type")
        .unwrap_or_default()
        .starts_with("text/event-stream"));
    assert!(header(&response, "request-id").is_some());
    let text = response.text().await.expect("body");
    let parsed = events(&text);
    let names: Vec<&str> = parsed.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    let start = &parsed[0].1["message"];
    assert_eq!(start["content"], json!([]));
    assert_eq!(start["usage"]["output_tokens"], 1);
    assert!(start["usage"]["input_tokens"].is_u64());
    assert_eq!(parsed[3].1["delta"]["type"], "text_delta");
    assert_eq!(parsed[3].1["index"], 0);
    let delta = &parsed[8].1;
    assert_eq!(delta["delta"]["stop_reason"], "max_tokens");
    assert_eq!(delta["usage"]["output_tokens"], 4);
    assert_eq!(
        delta["usage"]["input_tokens"],
        start["usage"]["input_tokens"]
    );

    // max_tokens 1 gives exactly one delta.
    let text = message(&sim, ask(1, true))
        .await
        .text()
        .await
        .expect("body");
    let one = events(&text);
    assert_eq!(
        one.iter()
            .filter(|(name, _)| name == "content_block_delta")
            .count(),
        1
    );
    // A long enough budget ends the turn naturally.
    let text = message(&sim, ask(500, true))
        .await
        .text()
        .await
        .expect("body");
    let full = events(&text);
    assert_eq!(full[full.len() - 2].1["delta"]["stop_reason"], "end_turn");
    sim.shutdown().await;
}

#[tokio::test]
async fn stream_overload_fails_after_message_start() {
    let sim = sim("stream-overload").await;
    assert_eq!(models(&sim).await.status(), 200);
    let response = message(&sim, ask(10, true)).await;
    assert_eq!(response.status(), 200);
    let parsed = events(&response.text().await.expect("body"));
    let names: Vec<&str> = parsed.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["message_start", "error"]);
    assert_eq!(
        parsed[1].1,
        json!({ "type": "error", "error": { "type": "overloaded_error", "message": "Overloaded" } })
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn error_scenarios_answer_in_the_api_error_shape() {
    let sim = sim("outage").await;
    let error = error_of(models(&sim).await, 500, "api_error").await;
    assert_eq!(error["message"], "Internal server error");
    error_of(message(&sim, ask(5, false)).await, 500, "api_error").await;

    sim.set_scenario("rate-limited").expect("known scenario");
    let response = models(&sim).await;
    assert_eq!(header(&response, "retry-after").as_deref(), Some("20"));
    assert_eq!(
        header(&response, "anthropic-ratelimit-requests-remaining").as_deref(),
        Some("0")
    );
    assert_eq!(
        header(&response, "anthropic-ratelimit-tokens-remaining").as_deref(),
        Some("0")
    );
    error_of(response, 429, "rate_limit_error").await;

    sim.set_scenario("spend-cap").expect("known scenario");
    let response = message(&sim, ask(5, false)).await;
    assert_eq!(
        header(&response, "retry-after"),
        None,
        "a spend cap has no retry-after"
    );
    let error = error_of(response, 429, "rate_limit_error").await;
    assert_eq!(
        error["details"]["error_code"],
        "enforced_spend_limit_reached"
    );

    sim.set_scenario("billing").expect("known scenario");
    error_of(models(&sim).await, 402, "billing_error").await;

    sim.set_scenario("gateway-timeout").expect("known scenario");
    error_of(models(&sim).await, 504, "timeout_error").await;

    assert!(sim.set_scenario("no-such-thing").is_err());
    sim.shutdown().await;
}

#[tokio::test]
async fn flapping_alternates_200_and_529_on_messages() {
    let sim = sim("flapping").await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(message(&sim, ask(5, false)).await.status().as_u16());
        // The model list is not part of the flapping, and does not shift its rhythm either.
        assert_eq!(models(&sim).await.status(), 200);
    }
    assert_eq!(statuses, [200, 529, 200, 529, 200, 529]);
    sim.shutdown().await;
}

/// Sends `requests` plain messages and counts the 529s, checking each one's error shape.
async fn overload_share(sim: &SimHandle, requests: usize) -> usize {
    let mut overloaded = 0;
    for _ in 0..requests {
        let response = message(sim, ask(5, false)).await;
        if response.status() == 529 {
            let error = error_of(response, 529, "overloaded_error").await;
            assert_eq!(error["message"], "Overloaded");
            overloaded += 1;
        } else {
            assert_eq!(response.status(), 200);
        }
    }
    overloaded
}

#[tokio::test]
async fn overload_storm_ramps_up_and_down_reproducibly() {
    let sim = sim("overload-storm").await;
    assert_eq!(overload_share(&sim, 10).await, 0, "t=0");
    goto(&sim, minutes(2));
    assert_eq!(overload_share(&sim, 10).await, 5, "halfway up the ramp");
    goto(&sim, minutes(5));
    assert_eq!(overload_share(&sim, 10).await, 10, "full storm");
    // Issue 11: the storm is on /v1/messages; the model list keeps answering.
    for _ in 0..3 {
        assert_eq!(
            models(&sim).await.status(),
            200,
            "GET /v1/models in a storm"
        );
    }
    goto(&sim, minutes(9));
    assert_eq!(overload_share(&sim, 10).await, 5, "halfway down");
    goto(&sim, minutes(10));
    assert_eq!(overload_share(&sim, 10).await, 0, "recovered");
    sim.shutdown().await;
}

#[tokio::test]
async fn resets_drop_the_connection_without_an_answer() {
    let sim = sim("resets").await;
    let error = client()
        .get(format!("{}/v1/models", sim.base_url()))
        .header("x-api-key", KEY)
        .send()
        .await
        .expect_err("no HTTP answer");
    assert!(!error.is_timeout(), "{error:?}");
    assert!(error.status().is_none(), "{error:?}");
    // The status page on the same server is unaffected.
    let page = client()
        .get(format!("{}/api/v2/status.json", sim.base_url()))
        .send()
        .await
        .expect("status page answers");
    assert_eq!(page.status(), 200);
    let stats = sim.stats();
    assert_eq!(stats.dropped_without_answer, 1);
    assert_eq!(stats.responses_by_status.get(&200), Some(&1));
    sim.shutdown().await;
}

#[tokio::test]
async fn garbage_api_rotates_broken_200s() {
    let sim = sim("garbage-api").await;
    let first = models(&sim).await;
    assert_eq!(first.status(), 200);
    assert!(
        header(&first, "request-id").is_some(),
        "a broken 200 still looks like the API"
    );
    assert!(first.json::<Value>().await.is_err(), "truncated JSON");
    let second = models(&sim).await;
    assert!(header(&second, "content-type")
        .unwrap_or_default()
        .starts_with("text/html"));
    let third = models(&sim).await;
    assert_eq!(third.status(), 200);
    assert!(third.bytes().await.expect("body").is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn slow_holds_answers_and_first_tokens() {
    let sim = sim("slow").await;
    let started = std::time::Instant::now();
    assert_eq!(models(&sim).await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    let started = std::time::Instant::now();
    let response = message(&sim, ask(2, true)).await;
    let headers_after = started.elapsed();
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("body");
    assert!(
        headers_after < Duration::from_millis(300),
        "stream headers come at once"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "the first token waits"
    );
    assert_eq!(
        events(&text).last().map(|(name, _)| name.as_str()),
        Some("message_stop")
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn storm_then_incident_lags_the_status_page() {
    let sim = sim("storm-then-incident").await;
    let summary = |sim: &SimHandle| {
        let url = format!("{}/api/v2/summary.json", sim.base_url());
        async move {
            client()
                .get(url)
                .send()
                .await
                .expect("request")
                .json::<Value>()
                .await
                .expect("JSON")
        }
    };
    goto(&sim, minutes(5));
    assert_eq!(overload_share(&sim, 4).await, 4);
    assert_eq!(
        summary(&sim).await["status"]["indicator"],
        "none",
        "the page is silent"
    );
    goto(&sim, minutes(11));
    let page = summary(&sim).await;
    assert_eq!(
        page["incidents"][0]["name"],
        "Elevated errors on the Claude API"
    );
    assert_eq!(page["incidents"][0]["status"], "investigating");
    assert_eq!(page["components"][2]["status"], "partial_outage");
    goto(&sim, minutes(15));
    assert_eq!(overload_share(&sim, 4).await, 0, "the API recovered");
    assert_eq!(
        summary(&sim).await["incidents"].as_array().map(Vec::len),
        Some(1)
    );
    goto(&sim, minutes(20));
    assert_eq!(
        summary(&sim).await["incidents"].as_array().map(Vec::len),
        Some(0)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn demo_tells_its_two_minute_story() {
    let sim = sim("demo").await;
    assert_eq!(overload_share(&sim, 4).await, 0);
    goto(&sim, Duration::from_secs(35));
    assert_eq!(overload_share(&sim, 4).await, 4);
    goto(&sim, Duration::from_secs(45));
    assert_eq!(sim.state().status_indicator, "minor");
    goto(&sim, Duration::from_secs(60));
    assert_eq!(overload_share(&sim, 4).await, 0);
    goto(&sim, Duration::from_secs(70));
    assert!(sim.state().phase.contains("monitoring"));
    goto(&sim, Duration::from_secs(100));
    assert!(sim.state().phase.contains("resolved"));
    assert_eq!(sim.state().status_indicator, "none");
    sim.shutdown().await;
}
