//! The fake Admin API: report shapes, page sizes and tokens, parameter and key errors, the
//! reporting delay, agreement between widths, groups and the cost report, and the admin scenarios.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use claude_status_simulator::SimHandle;
use common::{client, sim};
use reqwest::Response;
use serde_json::Value;

const ADMIN_KEY: &str = "sk-ant-admin01-test";
const USAGE: &str = "/v1/organizations/usage_report/messages";
const COST: &str = "/v1/organizations/cost_report";

async fn get_with(sim: &SimHandle, path: &str, query: &str, key: Option<&str>) -> Response {
    let mut request = client()
        .get(format!("{}{path}?{query}", sim.base_url()))
        .header("anthropic-version", "2023-06-01");
    if let Some(key) = key {
        request = request.header("x-api-key", key);
    }
    request.send().await.expect("request")
}

async fn get(sim: &SimHandle, path: &str, query: &str) -> Response {
    get_with(sim, path, query, Some(ADMIN_KEY)).await
}

async fn ok_json(sim: &SimHandle, path: &str, query: &str) -> Value {
    let response = get(sim, path, query).await;
    assert_eq!(response.status(), 200, "{path}?{query}");
    assert!(response.headers().contains_key("request-id"));
    assert!(response.headers().contains_key("anthropic-organization-id"));
    response.json().await.expect("JSON body")
}

/// Checks the API's error shape and returns `error.message`.
async fn error_of(response: Response, status: u16, kind: &str) -> String {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.expect("JSON error body");
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], kind, "{body}");
    assert!(body["request_id"].as_str().unwrap().starts_with("req_"));
    body["error"]["message"].as_str().unwrap().to_owned()
}

/// Every page of a report, following `next_page`.
async fn all_pages(sim: &SimHandle, path: &str, query: &str) -> (Vec<Value>, usize) {
    let mut buckets = Vec::new();
    let mut pages = 0;
    let mut page: Option<String> = None;
    loop {
        let query = match &page {
            Some(token) => format!("{query}&page={token}"),
            None => query.to_owned(),
        };
        let body = ok_json(sim, path, &query).await;
        pages += 1;
        buckets.extend(body["data"].as_array().unwrap().iter().cloned());
        if body["has_more"] == false {
            assert!(body["next_page"].is_null());
            return (buckets, pages);
        }
        page = Some(body["next_page"].as_str().unwrap().to_owned());
    }
}

/// A decimal string of cents as picocents, exactly.
fn picocents(amount: &Value) -> i128 {
    let text = amount.as_str().expect("amounts are strings");
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    assert!(fraction.len() <= 12, "{text}");
    let whole: i128 = whole.parse().unwrap();
    let fraction: i128 = format!("{fraction:0<12}").parse().unwrap();
    whole * 1_000_000_000_000 + fraction
}

const TOKEN_FIELDS: [&str; 5] = [
    "uncached_input_tokens",
    "cache_creation.ephemeral_5m_input_tokens",
    "cache_creation.ephemeral_1h_input_tokens",
    "cache_read_input_tokens",
    "output_tokens",
];

fn field(result: &Value, name: &str) -> u64 {
    let mut value = result;
    for part in name.split('.') {
        value = &value[part];
    }
    value
        .as_u64()
        .unwrap_or_else(|| panic!("{name} in {result}"))
}

/// Token totals per field over every result of every bucket.
fn totals(buckets: &[Value]) -> BTreeMap<&'static str, u64> {
    let mut sums = BTreeMap::new();
    for result in buckets
        .iter()
        .flat_map(|b| b["results"].as_array().unwrap())
    {
        for name in TOKEN_FIELDS {
            *sums.entry(name).or_default() += field(result, name);
        }
    }
    sums
}

#[tokio::test]
async fn usage_report_has_the_documented_shape() {
    let sim = sim("healthy").await;
    let body = ok_json(
        &sim,
        USAGE,
        "starting_at=2026-03-01T00:00:00Z&ending_at=2026-03-20T00:00:00Z",
    )
    .await;
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), 7, "1d buckets, 7 per page by default");
    assert_eq!(body["has_more"], true);
    assert!(body["next_page"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(data[0]["starting_at"], "2026-03-01T00:00:00Z");
    assert_eq!(data[0]["ending_at"], "2026-03-02T00:00:00Z");
    let result = &data[0]["results"][0];
    let mut keys: Vec<&str> = result
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "api_key_id",
            "cache_creation",
            "cache_read_input_tokens",
            "context_window",
            "model",
            "output_tokens",
            "server_tool_use",
            "service_tier",
            "uncached_input_tokens",
            "workspace_id"
        ]
    );
    for group in [
        "api_key_id",
        "workspace_id",
        "model",
        "service_tier",
        "context_window",
    ] {
        assert!(result[group].is_null(), "{group} is null when not grouped");
    }
    assert!(
        result["server_tool_use"]["web_search_requests"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(field(result, "cache_creation.ephemeral_5m_input_tokens") > 0);
    assert!(field(result, "cache_creation.ephemeral_1h_input_tokens") > 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn page_sizes_follow_the_bucket_width() {
    let sim = sim("healthy").await;
    let from = "starting_at=2026-03-01T00:00:00Z&ending_at=2026-04-15T00:00:00Z";
    for (width, default, max) in [("1m", 60, 1440), ("1h", 24, 168), ("1d", 7, 31)] {
        let body = ok_json(&sim, USAGE, &format!("{from}&bucket_width={width}")).await;
        assert_eq!(body["data"].as_array().unwrap().len(), default, "{width}");
        let body = ok_json(
            &sim,
            USAGE,
            &format!("{from}&bucket_width={width}&limit={max}"),
        )
        .await;
        assert_eq!(body["data"].as_array().unwrap().len(), max, "{width}");
        for limit in [0, max + 1] {
            let response = get(
                &sim,
                USAGE,
                &format!("{from}&bucket_width={width}&limit={limit}"),
            )
            .await;
            let message = error_of(response, 400, "invalid_request_error").await;
            assert!(message.starts_with("limit:"), "{message}");
        }
    }
    let body = ok_json(&sim, COST, from).await;
    assert_eq!(body["data"].as_array().unwrap().len(), 7);
    let response = get(&sim, COST, &format!("{from}&limit=32")).await;
    error_of(response, 400, "invalid_request_error").await;
    sim.shutdown().await;
}

#[tokio::test]
async fn pages_chain_to_the_same_buckets_as_one_page() {
    let sim = sim("healthy").await;
    let query = "starting_at=2026-03-02T00:00:00Z&ending_at=2026-03-04T00:00:00Z&bucket_width=1h&group_by[]=model";
    let (paged, pages) = all_pages(&sim, USAGE, &format!("{query}&limit=10")).await;
    assert_eq!(pages, 5);
    let (whole, pages) = all_pages(&sim, USAGE, &format!("{query}&limit=168")).await;
    assert_eq!(pages, 1);
    assert_eq!(paged, whole);
    assert_eq!(whole.len(), 48);

    // A token only fits the query it came from.
    let first = ok_json(&sim, USAGE, &format!("{query}&limit=10")).await;
    let token = first["next_page"].as_str().unwrap();
    let other = "starting_at=2026-03-02T00:00:00Z&ending_at=2026-03-04T00:00:00Z&bucket_width=1h";
    let response = get(&sim, USAGE, &format!("{other}&page={token}")).await;
    let message = error_of(response, 400, "invalid_request_error").await;
    assert!(message.starts_with("page:"), "{message}");
    let response = get(&sim, USAGE, &format!("{query}&page=not-a-token")).await;
    error_of(response, 400, "invalid_request_error").await;
    sim.shutdown().await;
}

#[tokio::test]
async fn bad_parameters_are_invalid_requests() {
    let sim = sim("healthy").await;
    let cases = [
        (USAGE, "", "starting_at: Field required"),
        (
            USAGE,
            "starting_at=yesterday",
            "starting_at: Input should be",
        ),
        (
            USAGE,
            "starting_at=2026-03-01",
            "starting_at: Input should be",
        ),
        (
            USAGE,
            "starting_at=2026-03-02T00:00:00Z&ending_at=2026-03-01T00:00:00Z",
            "ending_at: must be after starting_at",
        ),
        (
            USAGE,
            "starting_at=2026-03-01T00:00:00Z&bucket_width=2h",
            "bucket_width:",
        ),
        (
            USAGE,
            "starting_at=2026-03-01T00:00:00Z&group_by[]=colour",
            "group_by:",
        ),
        (
            USAGE,
            "starting_at=2026-03-01T00:00:00Z&service_tiers[]=gold",
            "service_tiers:",
        ),
        (
            USAGE,
            "starting_at=2026-03-01T00:00:00Z&context_window[]=2M",
            "context_window:",
        ),
        (
            COST,
            "starting_at=2026-03-01T00:00:00Z&bucket_width=1h",
            "bucket_width: Input should be 1d",
        ),
        (
            COST,
            "starting_at=2026-03-01T00:00:00Z&group_by[]=model",
            "group_by:",
        ),
    ];
    for (path, query, expected) in cases {
        let response = get(&sim, path, query).await;
        let message = error_of(response, 400, "invalid_request_error").await;
        assert!(message.starts_with(expected), "{path}?{query}: {message}");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn only_admin_keys_may_read_the_reports() {
    let sim = sim("healthy").await;
    let query = "starting_at=2026-03-01T00:00:00Z";
    for path in [USAGE, COST] {
        let message = error_of(
            get_with(&sim, path, query, None).await,
            401,
            "authentication_error",
        )
        .await;
        assert_eq!(message, "x-api-key header is required");
        let standard = get_with(&sim, path, query, Some("sk-ant-api03-abc")).await;
        let message = error_of(standard, 401, "authentication_error").await;
        assert!(message.contains("Admin API key"), "{message}");
        let unknown = get_with(&sim, path, query, Some("hello")).await;
        assert_eq!(
            error_of(unknown, 401, "authentication_error").await,
            "invalid x-api-key"
        );
    }
    let response = client()
        .get(format!("{}{USAGE}?{query}", sim.base_url()))
        .header("x-api-key", ADMIN_KEY)
        .send()
        .await
        .unwrap();
    let message = error_of(response, 400, "invalid_request_error").await;
    assert!(message.starts_with("anthropic-version"), "{message}");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_day_is_the_sum_of_its_hours_and_of_its_groups() {
    let sim = sim("healthy").await;
    let range = "starting_at=2026-03-04T00:00:00Z&ending_at=2026-03-05T00:00:00Z";
    let day = ok_json(&sim, USAGE, &format!("{range}&bucket_width=1d")).await;
    let hours = ok_json(&sim, USAGE, &format!("{range}&bucket_width=1h")).await;
    let day = day["data"].as_array().unwrap();
    let hours = hours["data"].as_array().unwrap();
    assert_eq!((day.len(), hours.len()), (1, 24));
    assert_eq!(totals(day), totals(hours));

    let grouped = ok_json(
        &sim,
        USAGE,
        &format!("{range}&bucket_width=1d&group_by[]=model&group_by[]=service_tier&group_by[]=workspace_id"),
    )
    .await;
    let grouped = grouped["data"].as_array().unwrap();
    assert_eq!(totals(grouped), totals(day));
    let results = grouped[0]["results"].as_array().unwrap();
    assert!(results.len() > 3);
    for result in results {
        assert!(result["model"].is_string() && result["service_tier"].is_string());
        assert!(result["api_key_id"].is_null() && result["context_window"].is_null());
    }
    assert!(results.iter().any(|r| r["service_tier"] == "batch"));
    assert!(results.iter().any(|r| r["workspace_id"].is_string()));

    let opus = ok_json(
        &sim,
        USAGE,
        &format!("{range}&bucket_width=1d&models[]=claude-opus-4-8&group_by[]=model"),
    )
    .await;
    let opus = opus["data"][0]["results"].as_array().unwrap().clone();
    assert_eq!(opus.len(), 1);
    assert_eq!(opus[0]["model"], "claude-opus-4-8");
    sim.shutdown().await;
}

#[tokio::test]
async fn the_last_five_minutes_are_not_reported_yet() {
    let sim = sim("healthy").await;
    let now = Utc::now();
    let from = (now - TimeDelta::hours(3))
        .format("%Y-%m-%dT%H:%M:00Z")
        .to_string();
    let (buckets, _) = all_pages(
        &sim,
        USAGE,
        &format!("starting_at={from}&bucket_width=1m&limit=1440"),
    )
    .await;
    let cutoff = now - TimeDelta::minutes(5);
    let mut reported = 0;
    for bucket in &buckets {
        let start: DateTime<Utc> = bucket["starting_at"].as_str().unwrap().parse().unwrap();
        let results = bucket["results"].as_array().unwrap();
        if start > cutoff {
            assert!(results.is_empty(), "{bucket}");
        } else if !results.is_empty() {
            reported += 1;
        }
    }
    assert!(reported > 0, "three hours of minutes have some usage");
    sim.shutdown().await;
}

#[tokio::test]
async fn the_cost_report_prices_the_usage_report() {
    let sim = sim("healthy").await;
    let range = "starting_at=2026-03-04T00:00:00Z&ending_at=2026-03-05T00:00:00Z";
    let plain = ok_json(&sim, COST, range).await;
    let rows = plain["data"][0]["results"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["currency"], "USD");
    assert!(rows[0]["model"].is_null() && rows[0]["description"].is_null());
    let day_total = picocents(&rows[0]["amount"]);

    let described = ok_json(&sim, COST, &format!("{range}&group_by[]=description")).await;
    let rows = described["data"][0]["results"].as_array().unwrap();
    assert_eq!(
        rows.iter().map(|r| picocents(&r["amount"])).sum::<i128>(),
        day_total
    );
    for row in rows {
        assert_eq!(row["currency"], "USD");
        assert!(row["description"].is_string() && row["model"].is_string());
        let cost_type = row["cost_type"].as_str().unwrap();
        assert!(matches!(cost_type, "tokens" | "web_search"), "{row}");
        assert_eq!(
            row["token_type"].is_string(),
            cost_type == "tokens",
            "{row}"
        );
    }

    // Opus output: its tokens from the usage report at $25 per million.
    let usage = ok_json(
        &sim,
        USAGE,
        &format!("{range}&bucket_width=1d&models[]=claude-opus-4-8"),
    )
    .await;
    let output = field(&usage["data"][0]["results"][0], "output_tokens");
    let opus_output = rows
        .iter()
        .find(|r| r["model"] == "claude-opus-4-8" && r["token_type"] == "output_tokens")
        .unwrap();
    assert_eq!(
        picocents(&opus_output["amount"]),
        i128::from(output) * 2_500 * 1_000_000
    );

    let by_workspace = ok_json(&sim, COST, &format!("{range}&group_by[]=workspace_id")).await;
    let rows = by_workspace["data"][0]["results"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "the default workspace and the research one");
    assert_eq!(
        rows.iter().map(|r| picocents(&r["amount"])).sum::<i128>(),
        day_total
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn answers_are_deterministic() {
    let sim = sim("healthy").await;
    let query = "starting_at=2026-03-01T00:00:00Z&ending_at=2026-03-03T00:00:00Z&bucket_width=1h&group_by[]=model";
    assert_eq!(
        ok_json(&sim, USAGE, query).await,
        ok_json(&sim, USAGE, query).await
    );
    let query =
        "starting_at=2026-03-01T00:00:00Z&ending_at=2026-03-03T00:00:00Z&group_by[]=description";
    assert_eq!(
        ok_json(&sim, COST, query).await,
        ok_json(&sim, COST, query).await
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn the_fail_once_scenarios_fail_the_first_request_of_each_story() {
    let sim = sim("admin-rate-limited-once").await;
    let query = "starting_at=2026-03-01T00:00:00Z";
    let response = get(&sim, COST, query).await;
    assert_eq!(response.headers()["retry-after"], "1");
    error_of(response, 429, "rate_limit_error").await;
    ok_json(&sim, COST, query).await;
    ok_json(&sim, USAGE, query).await;

    sim.set_scenario("admin-error-once").unwrap();
    error_of(get(&sim, USAGE, query).await, 500, "api_error").await;
    ok_json(&sim, USAGE, query).await;
    // A new story fails once again.
    sim.set_scenario("admin-error-once").unwrap();
    error_of(get(&sim, COST, query).await, 500, "api_error").await;
    ok_json(&sim, COST, query).await;

    // A bad key is refused before the scenario's one failure is spent.
    sim.set_scenario("admin-rate-limited-once").unwrap();
    error_of(
        get_with(&sim, COST, query, Some("sk-ant-api03-x")).await,
        401,
        "authentication_error",
    )
    .await;
    error_of(get(&sim, COST, query).await, 429, "rate_limit_error").await;
    sim.shutdown().await;
}

#[tokio::test]
async fn api_wide_scenarios_reach_the_admin_api() {
    let sim = sim("outage").await;
    let query = "starting_at=2026-03-01T00:00:00Z";
    error_of(get(&sim, USAGE, query).await, 500, "api_error").await;
    sim.set_scenario("rate-limited").unwrap();
    let response = get(&sim, COST, query).await;
    assert_eq!(response.headers()["retry-after"], "20");
    error_of(response, 429, "rate_limit_error").await;
    // A spend cap stops inference, not the reports.
    sim.set_scenario("spend-cap").unwrap();
    ok_json(&sim, COST, query).await;
    sim.shutdown().await;
}

#[tokio::test]
async fn the_small_bill_is_exactly_two_amounts() {
    let sim = sim("admin-small-bill").await;
    let body = ok_json(
        &sim,
        COST,
        "starting_at=2026-03-01T00:00:00Z&ending_at=2026-03-04T00:00:00Z&group_by[]=description",
    )
    .await;
    let amounts: Vec<Vec<&str>> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|bucket| {
            bucket["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["amount"].as_str().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(amounts, vec![vec!["123.45"], vec!["0.01"], vec![]]);
    assert_eq!(body["data"][0]["results"][0]["model"], "claude-sonnet-4-6");
    assert_eq!(body["data"][1]["results"][0]["cost_type"], "web_search");
    sim.shutdown().await;
}

#[tokio::test]
async fn issue_11_reports_answer_through_a_storm() {
    // Overloads are per model and reach only /v1/messages, so the reports keep answering.
    let sim = sim("all-models-storm").await;
    sim.advance(Duration::from_secs(5 * 60));
    let query = "starting_at=2026-03-01T00:00:00Z&ending_at=2026-03-02T00:00:00Z";
    for _ in 0..4 {
        ok_json(&sim, USAGE, query).await;
        ok_json(&sim, COST, query).await;
    }
    sim.shutdown().await;
}
