//! Issue 11: overloads are per model and reach only `POST /v1/messages`; retired models answer 404; the model storms' incidents name their model.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use claude_status_simulator::{Clock, ModelCounts, SimHandle, SimState, Simulator, Stats};
use common::{client, get_json, goto, minutes, sim};
use reqwest::Response;
use serde_json::{json, Value};

const KEY: &str = "sk-ant-api03-test";
const OPUS: &str = "claude-opus-5-5";
const SONNET: &str = "claude-sonnet-5-5";
const HAIKU: &str = "claude-haiku-4-5";

async fn get(sim: &SimHandle, path: &str) -> Response {
    client()
        .get(format!("{}{path}", sim.base_url()))
        .header("x-api-key", KEY)
        .header("anthropic-version", "2023-06-01")
        .send()
        .await
        .expect("request")
}

async fn post(sim: &SimHandle, path: &str, body: &Value) -> Response {
    client()
        .post(format!("{}{path}", sim.base_url()))
        .header("x-api-key", KEY)
        .header("anthropic-version", "2023-06-01")
        .json(body)
        .send()
        .await
        .expect("request")
}

/// A messages body such as Claude Code sends (claude-code.md H1), for any model.
fn ask(model: &str, stream: bool) -> Value {
    json!({
        "model": model,
        "max_tokens": 5,
        "stream": stream,
        "messages": [{ "role": "user", "content": "Are you there?" }]
    })
}

async fn message(sim: &SimHandle, model: &str, stream: bool) -> Response {
    // Claude Code posts to `/v1/messages?beta=true`; the query must not change the answer.
    post(sim, "/v1/messages?beta=true", &ask(model, stream)).await
}

async fn count_tokens(sim: &SimHandle, model: &str) -> Response {
    post(
        sim,
        "/v1/messages/count_tokens",
        &json!({ "model": model, "messages": [{ "role": "user", "content": "hi" }] }),
    )
    .await
}

/// How one streamed or plain message ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ending {
    /// HTTP 200 with a complete message or stream.
    Answered,
    /// HTTP 529 `overloaded_error` before any byte of a message.
    Refused529,
    /// HTTP 200, `message_start`, then an `overloaded_error` event.
    ErrorEvent,
}

fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// Checks a 529 carries the real `overloaded_error` body and the usual API headers.
async fn assert_overloaded(response: Response) {
    assert_eq!(response.status(), 529);
    let request_id = header(&response, "request-id").expect("request-id");
    assert!(header(&response, "anthropic-organization-id").is_some());
    assert!(header(&response, "anthropic-ratelimit-requests-limit").is_some());
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(
        body,
        json!({
            "type": "error",
            "error": { "type": "overloaded_error", "message": "Overloaded" },
            "request_id": request_id,
        })
    );
}

/// The names of an SSE body's events, and the data of its `error` event if any.
fn stream_events(text: &str) -> (Vec<String>, Option<Value>) {
    let mut names = Vec::new();
    let mut error = None;
    for frame in text.split("\n\n").filter(|frame| !frame.trim().is_empty()) {
        let mut name = String::new();
        let mut data = Value::Null;
        for line in frame.lines() {
            if let Some(rest) = line.strip_prefix("event: ") {
                name = rest.to_owned();
            } else if let Some(rest) = line.strip_prefix("data: ") {
                data = serde_json::from_str(rest).expect("event data is JSON");
            }
        }
        if name == "error" {
            error = Some(data);
        }
        names.push(name);
    }
    (names, error)
}

async fn ending(response: Response, stream: bool) -> Ending {
    match response.status().as_u16() {
        529 => {
            assert_overloaded(response).await;
            Ending::Refused529
        }
        200 if stream => {
            let (names, error) = stream_events(&response.text().await.expect("body"));
            match error {
                Some(error) => {
                    assert_eq!(names, ["message_start", "error"]);
                    assert_eq!(
                        error,
                        json!({ "type": "error", "error": { "type": "overloaded_error", "message": "Overloaded" } })
                    );
                    Ending::ErrorEvent
                }
                None => {
                    assert_eq!(names.last().map(String::as_str), Some("message_stop"));
                    Ending::Answered
                }
            }
        }
        200 => {
            let body: Value = response.json().await.expect("JSON");
            assert_eq!(body["type"], "message");
            Ending::Answered
        }
        other => panic!("unexpected status {other}"),
    }
}

async fn send(sim: &SimHandle, model: &str, stream: bool) -> Ending {
    ending(message(sim, model, stream).await, stream).await
}

async fn summary(sim: &SimHandle) -> Value {
    get_json(sim, "/api/v2/summary.json").await
}

/// The API component (k8w3r06qmzrp) as the summary lists it.
fn api_component(page: &Value) -> Value {
    page["components"]
        .as_array()
        .expect("components")
        .iter()
        .find(|component| component["id"] == "k8w3r06qmzrp")
        .cloned()
        .expect("the API component")
}

#[tokio::test]
async fn issue_11_model_overload_reaches_only_its_model_on_messages() {
    let sim = sim("model-overload").await;
    assert_eq!(send(&sim, OPUS, false).await, Ending::Answered, "before 1m");
    goto(&sim, minutes(5));
    assert!(sim.state().phase.contains(OPUS), "{}", sim.state().phase);
    assert_eq!(sim.state().overload_model.as_deref(), Some(OPUS));

    // Every path but messages to the overloaded model answers as on a calm day.
    assert_eq!(get(&sim, "/v1/models").await.status(), 200);
    let listed: Value = get(&sim, &format!("/v1/models/{OPUS}"))
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(listed["display_name"], "Claude Opus 5.5");
    assert_eq!(count_tokens(&sim, OPUS).await.status(), 200);
    assert_eq!(send(&sim, SONNET, false).await, Ending::Answered);
    assert_eq!(send(&sim, SONNET, true).await, Ending::Answered);
    assert_eq!(send(&sim, HAIKU, false).await, Ending::Answered);
    assert_eq!(send(&sim, "claude-opus-5", false).await, Ending::Answered);

    // At the peak every plain message to the model is a 529, whatever suffix names it.
    for model in [OPUS, "claude-opus-5-5-20261118", "claude-opus-5-5[1m]"] {
        assert_eq!(
            send(&sim, model, false).await,
            Ending::Refused529,
            "{model}"
        );
    }
    assert_eq!(get(&sim, "/v1/models").await.status(), 200, "still listed");
    sim.shutdown().await;
}

#[tokio::test]
async fn issue_11_overloaded_streams_fail_both_ways_in_turn() {
    let sim = sim("model-overload").await;
    goto(&sim, minutes(5));
    let mut endings = Vec::new();
    for _ in 0..4 {
        endings.push(send(&sim, OPUS, true).await);
    }
    assert_eq!(
        endings,
        [
            Ending::Refused529,
            Ending::ErrorEvent,
            Ending::Refused529,
            Ending::ErrorEvent
        ]
    );
    // A plain request in between is always a 529: only streams have a second way to fail.
    assert_eq!(send(&sim, OPUS, false).await, Ending::Refused529);

    let counts = sim.stats().messages_by_model.get(OPUS).copied();
    assert_eq!(
        counts,
        Some(ModelCounts {
            requests: 5,
            overloaded: 3,
            stream_errors: 2,
        })
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn issue_11_model_overload_ramps_and_its_incident_lags() {
    let sim = sim("model-overload").await;
    let share = |sim: &SimHandle| {
        let sim_url = sim.base_url();
        async move {
            let client = client();
            let mut refused = 0;
            for _ in 0..10 {
                let response = client
                    .post(format!("{sim_url}/v1/messages"))
                    .header("x-api-key", KEY)
                    .json(&ask(OPUS, false))
                    .send()
                    .await
                    .expect("request");
                if response.status() == 529 {
                    refused += 1;
                }
            }
            refused
        }
    };
    goto(&sim, minutes(2));
    assert_eq!(share(&sim).await, 5, "halfway up the ramp");
    goto(&sim, minutes(6));
    assert_eq!(share(&sim).await, 10, "the plateau");
    let page = summary(&sim).await;
    assert_eq!(
        page["status"]["indicator"], "none",
        "the page is still silent"
    );
    assert_eq!(page["incidents"], json!([]));

    goto(&sim, minutes(7));
    let page = summary(&sim).await;
    let incident = &page["incidents"][0];
    assert_eq!(incident["name"], "Elevated errors on Claude Opus 5.5");
    assert_eq!(incident["status"], "investigating");
    assert_eq!(incident["impact"], "minor");
    let listed: Vec<&str> = incident["components"]
        .as_array()
        .expect("components")
        .iter()
        .filter_map(|component| component["id"].as_str())
        .collect();
    assert_eq!(listed, ["k8w3r06qmzrp"]);
    assert_eq!(
        incident["incident_updates"][0]["affected_components"][0]["new_status"],
        "degraded_performance"
    );
    assert_eq!(api_component(&page)["status"], "degraded_performance");
    assert_eq!(page["status"]["indicator"], "minor");

    goto(&sim, minutes(10));
    assert_eq!(share(&sim).await, 5, "halfway down");
    goto(&sim, minutes(11));
    assert_eq!(share(&sim).await, 0, "recovered");
    let page = summary(&sim).await;
    assert_eq!(page["incidents"][0]["status"], "monitoring");
    assert_eq!(api_component(&page)["status"], "operational");

    goto(&sim, minutes(14));
    let page = summary(&sim).await;
    assert_eq!(page["incidents"], json!([]), "nothing unresolved");
    let history = get_json(&sim, "/api/v2/incidents.json").await;
    assert_eq!(
        history["incidents"][0]["name"],
        "Elevated errors on Claude Opus 5.5"
    );
    assert_eq!(history["incidents"][0]["status"], "resolved");
    sim.shutdown().await;
}

#[tokio::test]
async fn issue_11_all_models_storm_overloads_every_model_on_messages_only() {
    let sim = sim("all-models-storm").await;
    goto(&sim, minutes(5));
    assert_eq!(sim.state().overload_model, None);
    for model in [OPUS, SONNET, HAIKU, "claude-opus-4-8", "claude-haiku-5-5"] {
        assert_eq!(
            send(&sim, model, false).await,
            Ending::Refused529,
            "{model}"
        );
    }
    assert_eq!(send(&sim, SONNET, true).await, Ending::Refused529);
    assert_eq!(send(&sim, SONNET, true).await, Ending::ErrorEvent);
    assert_eq!(get(&sim, "/v1/models").await.status(), 200);
    assert_eq!(
        get(&sim, "/v1/models/claude-sonnet-5-5").await.status(),
        200
    );
    assert_eq!(count_tokens(&sim, HAIKU).await.status(), 200);

    goto(&sim, minutes(7));
    let page = summary(&sim).await;
    assert_eq!(
        page["incidents"][0]["name"],
        "Elevated errors across all models"
    );
    assert_eq!(page["incidents"][0]["impact"], "major");
    assert_eq!(api_component(&page)["status"], "partial_outage");
    goto(&sim, minutes(11));
    assert_eq!(send(&sim, OPUS, false).await, Ending::Answered);
    assert_eq!(summary(&sim).await["incidents"][0]["status"], "monitoring");
    goto(&sim, minutes(14));
    assert_eq!(summary(&sim).await["incidents"], json!([]));
    sim.shutdown().await;
}

#[tokio::test]
async fn issue_11_the_old_storms_are_messages_only_and_all_models() {
    let sim = sim("overload-storm").await;
    goto(&sim, minutes(5));
    for model in [OPUS, SONNET, HAIKU] {
        assert_eq!(
            send(&sim, model, false).await,
            Ending::Refused529,
            "{model}"
        );
    }
    assert_eq!(get(&sim, "/v1/models").await.status(), 200);
    assert_eq!(
        get(&sim, &format!("/v1/models/{HAIKU}")).await.status(),
        200
    );
    assert_eq!(count_tokens(&sim, HAIKU).await.status(), 200);

    for name in ["storm-then-incident", "flapping", "stream-overload"] {
        sim.set_scenario(name).expect("known scenario");
        goto(&sim, minutes(5));
        for _ in 0..4 {
            assert_eq!(get(&sim, "/v1/models").await.status(), 200, "{name}");
            assert_eq!(count_tokens(&sim, OPUS).await.status(), 200, "{name}");
        }
    }
    sim.set_scenario("demo").expect("known scenario");
    goto(&sim, Duration::from_secs(35));
    assert_eq!(get(&sim, "/v1/models").await.status(), 200);
    assert_eq!(send(&sim, OPUS, false).await, Ending::Refused529);
    sim.shutdown().await;
}

#[tokio::test]
async fn issue_11_retired_and_unknown_models_answer_404_not_found() {
    let sim = sim("healthy").await;
    for model in [
        "claude-sonnet-4-5-20250929",
        "claude-sonnet-4-5",
        "claude-3-7-sonnet-latest",
        "claude-opus-4-20250514",
        "claude-mythos-preview",
        "gpt-4o",
    ] {
        for response in [
            message(&sim, model, false).await,
            message(&sim, model, true).await,
            count_tokens(&sim, model).await,
        ] {
            assert_eq!(response.status(), 404, "{model}");
            let body: Value = response.json().await.expect("JSON");
            assert_eq!(body["type"], "error");
            assert_eq!(body["error"]["type"], "not_found_error");
            assert_eq!(body["error"]["message"], format!("model: {model}"));
        }
    }
    assert_eq!(
        get(&sim, "/v1/models/claude-sonnet-4-5-20250929")
            .await
            .status(),
        404
    );
    let list: Value = get(&sim, "/v1/models?limit=1000")
        .await
        .json()
        .await
        .expect("JSON");
    assert!(list["data"]
        .as_array()
        .expect("data")
        .iter()
        .all(|model| model["id"] != "claude-sonnet-4-5-20250929"));

    // A retired model is gone, not overloaded: a storm does not turn its 404 into a 529.
    sim.set_scenario("all-models-storm")
        .expect("known scenario");
    goto(&sim, minutes(5));
    assert_eq!(
        message(&sim, "claude-sonnet-4-5", false).await.status(),
        404
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn issue_11_the_builder_chooses_the_overloaded_model() {
    let sim = Simulator::new("model-overload")
        .clock(Clock::Manual)
        .time_to_first_token(Duration::from_millis(5))
        .token_interval(Duration::from_millis(1))
        .overload_model(SONNET)
        .start()
        .await
        .expect("starts");
    goto(&sim, minutes(7));
    assert_eq!(send(&sim, SONNET, false).await, Ending::Refused529);
    assert_eq!(send(&sim, OPUS, false).await, Ending::Answered);
    assert_eq!(
        summary(&sim).await["incidents"][0]["name"],
        "Elevated errors on Claude Sonnet 5.5"
    );
    assert_eq!(sim.state().overload_model.as_deref(), Some(SONNET));

    // Switching without a model keeps it; switching with one renames the incident.
    sim.set_scenario("model-overload").expect("known scenario");
    goto(&sim, minutes(7));
    assert_eq!(
        summary(&sim).await["incidents"][0]["name"],
        "Elevated errors on Claude Sonnet 5.5"
    );
    sim.set_scenario_with_model("model-overload", HAIKU)
        .expect("known scenario and model");
    goto(&sim, minutes(7));
    let page = summary(&sim).await;
    assert_eq!(
        page["incidents"][0]["name"],
        "Elevated errors on Claude Haiku 4.5"
    );
    assert_eq!(send(&sim, HAIKU, false).await, Ending::Refused529);
    assert_eq!(send(&sim, SONNET, false).await, Ending::Answered);
    assert!(sim
        .set_scenario_with_model("model-overload", "claude-sonnet-4-5")
        .is_err());
    sim.shutdown().await;

    let retired = Simulator::new("model-overload")
        .clock(Clock::Manual)
        .overload_model("claude-3-5-haiku-latest")
        .start()
        .await;
    assert!(retired.is_err(), "a retired model cannot be overloaded");
}

#[tokio::test]
async fn issue_11_the_control_path_switches_scenario_and_model_at_once() {
    let sim = sim("healthy").await;
    let client = client();
    let base = sim.base_url();

    let state: SimState = client
        .post(format!("{base}/_sim/scenario"))
        .json(&json!({ "name": "model-overload", "model": HAIKU }))
        .send()
        .await
        .expect("switch")
        .json()
        .await
        .expect("state");
    assert_eq!(state.scenario, "model-overload");
    assert_eq!(state.overload_model.as_deref(), Some(HAIKU));
    goto(&sim, minutes(7));
    assert_eq!(
        summary(&sim).await["incidents"][0]["name"],
        "Elevated errors on Claude Haiku 4.5"
    );
    assert_eq!(send(&sim, HAIKU, false).await, Ending::Refused529);
    assert_eq!(send(&sim, OPUS, false).await, Ending::Answered);

    // The query form that older scripts use takes a model too.
    let state: SimState = client
        .post(format!(
            "{base}/_sim/scenario?name=model-overload&model={SONNET}"
        ))
        .send()
        .await
        .expect("switch")
        .json()
        .await
        .expect("state");
    assert_eq!(state.overload_model.as_deref(), Some(SONNET));
    assert_eq!(state.story_time_seconds, 0.0);
    goto(&sim, minutes(7));
    assert_eq!(
        summary(&sim).await["incidents"][0]["name"],
        "Elevated errors on Claude Sonnet 5.5"
    );

    // Without a model the scenario switches and the model stays.
    let state: SimState = client
        .post(format!("{base}/_sim/scenario"))
        .json(&json!({ "name": "model-overload" }))
        .send()
        .await
        .expect("switch")
        .json()
        .await
        .expect("state");
    assert_eq!(state.overload_model.as_deref(), Some(SONNET));

    for (body, status) in [
        (json!({ "name": "model-overload", "model": "" }), 400),
        (
            json!({ "name": "model-overload", "model": "claude-sonnet-4-5" }),
            400,
        ),
        (json!({ "name": "nope", "model": OPUS }), 404),
    ] {
        let response = client
            .post(format!("{base}/_sim/scenario"))
            .json(&body)
            .send()
            .await
            .expect("switch");
        assert_eq!(response.status(), status, "{body}");
        let error: Value = response.json().await.expect("JSON");
        assert!(error["error"].is_string(), "{error}");
    }
    let broken = client
        .post(format!("{base}/_sim/scenario"))
        .body("{not json")
        .send()
        .await
        .expect("switch");
    assert_eq!(broken.status(), 400);
    assert_eq!(
        sim.state().overload_model.as_deref(),
        Some(SONNET),
        "unchanged"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn issue_11_stats_count_messages_per_model() {
    let sim = sim("all-models-storm").await;
    goto(&sim, minutes(5));
    send(&sim, OPUS, false).await;
    send(&sim, OPUS, true).await;
    send(&sim, OPUS, true).await;
    send(&sim, HAIKU, false).await;
    get(&sim, "/v1/models").await;
    count_tokens(&sim, HAIKU).await;

    let stats: Stats = client()
        .get(format!("{}/_sim/stats", sim.base_url()))
        .send()
        .await
        .expect("stats")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        stats.messages_by_model.get(OPUS),
        Some(&ModelCounts {
            requests: 3,
            overloaded: 2,
            stream_errors: 1,
        })
    );
    assert_eq!(
        stats.messages_by_model.get(HAIKU),
        Some(&ModelCounts {
            requests: 1,
            overloaded: 1,
            stream_errors: 0,
        })
    );
    assert_eq!(
        stats.messages_by_model.len(),
        2,
        "count_tokens is not a message"
    );
    assert_eq!(stats.responses_by_status.get(&529), Some(&3));
    sim.shutdown().await;
}
