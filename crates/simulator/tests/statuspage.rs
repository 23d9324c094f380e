//! The fake status page: document shapes, ETag and 304, each status scenario's phases and the broken variants.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{client, get_json, goto, minutes, sim};
use serde_json::Value;

const COMPONENT_FIELDS: [&str; 13] = [
    "id",
    "name",
    "status",
    "created_at",
    "updated_at",
    "position",
    "description",
    "showcase",
    "start_date",
    "group_id",
    "page_id",
    "group",
    "only_show_if_degraded",
];

const INCIDENT_FIELDS: [&str; 14] = [
    "id",
    "name",
    "status",
    "created_at",
    "updated_at",
    "monitoring_at",
    "resolved_at",
    "impact",
    "shortlink",
    "started_at",
    "page_id",
    "incident_updates",
    "components",
    "reminder_intervals",
];

const UPDATE_FIELDS: [&str; 11] = [
    "id",
    "status",
    "body",
    "incident_id",
    "created_at",
    "updated_at",
    "display_at",
    "affected_components",
    "deliver_notifications",
    "custom_tweet",
    "tweet_id",
];

fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .map(|map| map.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

fn assert_fields(value: &Value, fields: &[&str]) {
    let mut actual = keys(value);
    actual.sort_unstable();
    let mut expected = fields.to_vec();
    expected.sort_unstable();
    assert_eq!(actual, expected, "{value}");
}

fn is_statuspage_time(text: &str) -> bool {
    // 2026-06-06T18:37:44.139Z: milliseconds and a Z, like the real page.
    text.len() == 24 && text.ends_with('Z') && text.as_bytes()[19] == b'.'
}

fn component<'a>(document: &'a Value, id: &str) -> &'a Value {
    document["components"]
        .as_array()
        .and_then(|components| components.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("component {id} in {document}"))
}

const API_COMPONENT: &str = "k8w3r06qmzrp";

#[tokio::test]
async fn summary_has_the_real_page_and_components() {
    let sim = sim("operational").await;
    let summary = get_json(&sim, "/api/v2/summary.json").await;
    assert_fields(
        &summary,
        &[
            "page",
            "components",
            "incidents",
            "scheduled_maintenances",
            "status",
        ],
    );
    assert_eq!(summary["page"]["id"], "tymt9n04zgry");
    assert_eq!(summary["page"]["name"], "Claude");
    assert_eq!(summary["page"]["url"], "https://status.claude.com");
    assert_eq!(summary["page"]["time_zone"], "Etc/UTC");
    assert!(is_statuspage_time(
        summary["page"]["updated_at"].as_str().unwrap_or_default()
    ));
    assert_eq!(summary["status"]["indicator"], "none");
    assert_eq!(summary["status"]["description"], "All Systems Operational");

    let expected = [
        ("rwppv331jlwc", "claude.ai"),
        ("0qbwn08sd68x", "Claude Console (platform.claude.com)"),
        ("k8w3r06qmzrp", "Claude API (api.anthropic.com)"),
        ("yyzkbfz2thpt", "Claude Code"),
        ("bpp5gb3hpjcl", "Claude Cowork"),
        ("0scnb50nvy53", "Claude for Government"),
    ];
    let components = summary["components"].as_array().expect("components");
    assert_eq!(components.len(), expected.len());
    for (position, (component, (id, name))) in components.iter().zip(expected).enumerate() {
        assert_fields(component, &COMPONENT_FIELDS);
        assert_eq!(component["id"], id);
        assert_eq!(component["name"], name);
        assert_eq!(component["status"], "operational");
        assert_eq!(component["position"], position + 1);
        assert_eq!(component["page_id"], "tymt9n04zgry");
        assert_eq!(component["group"], false);
    }
    assert_eq!(summary["incidents"], serde_json::json!([]));
    assert_eq!(summary["scheduled_maintenances"], serde_json::json!([]));

    let status = get_json(&sim, "/api/v2/status.json").await;
    assert_fields(&status, &["page", "status"]);
    let components = get_json(&sim, "/api/v2/components.json").await;
    assert_fields(&components, &["page", "components"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn headers_etag_and_304_behave_like_statuspage() {
    let sim = sim("incident").await;
    let url = format!("{}/api/v2/summary.json", sim.base_url());
    let client = client();

    let first = client.get(&url).send().await.expect("first poll");
    assert_eq!(first.status(), 200);
    let header = |name: &str| {
        first
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
            .unwrap_or_default()
    };
    assert_eq!(header("content-type"), "application/json; charset=utf-8");
    assert_eq!(
        header("cache-control"),
        "max-age=10, public, s-maxage=10, stale-while-revalidate=20, stale-if-error=3600"
    );
    assert_eq!(header("vary"), "Accept,Accept-Encoding");
    assert_eq!(header("access-control-allow-origin"), "*");
    assert!(!header("x-statuspage-version").is_empty());
    let etag = header("etag");
    assert!(etag.starts_with("W/\"") && etag.ends_with('"'), "{etag}");
    let first_body = first.bytes().await.expect("body");

    // The same story time gives the same bytes, and so the same ETag.
    let second = client.get(&url).send().await.expect("second poll");
    assert_eq!(second.headers()["etag"], etag.as_str());
    assert_eq!(second.bytes().await.expect("body"), first_body);

    // A client that sends the ETag back gets an empty 304.
    let cached = client
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("conditional poll");
    assert_eq!(cached.status(), 304);
    assert_eq!(cached.headers()["etag"], etag.as_str());
    assert!(cached.bytes().await.expect("body").is_empty());

    // Moving story time without a change keeps the ETag; a change in the story breaks it.
    sim.advance(Duration::from_secs(60));
    let still = client
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("poll after a quiet minute");
    assert_eq!(still.status(), 304);
    goto(&sim, minutes(2));
    let changed = client
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("poll after the incident opened");
    assert_eq!(changed.status(), 200);
    assert_ne!(changed.headers()["etag"], etag.as_str());

    let stats = sim.stats();
    assert_eq!(stats.not_modified, 2);
    assert_eq!(stats.requests_by_path.get("/api/v2/summary.json"), Some(&5));
    sim.shutdown().await;
}

#[tokio::test]
async fn incident_scenario_walks_through_its_phases() {
    let sim = sim("incident").await;

    // t=0: nothing yet, only the two older incidents in the history.
    let summary = get_json(&sim, "/api/v2/summary.json").await;
    assert_eq!(summary["incidents"].as_array().map(Vec::len), Some(0));
    let history = get_json(&sim, "/api/v2/incidents.json").await;
    let history = history["incidents"].as_array().expect("incidents").clone();
    assert_eq!(history.len(), 2);
    assert!(history
        .iter()
        .all(|incident| incident["status"] == "resolved"));

    // t=2m: investigating, minor, the API degraded.
    goto(&sim, minutes(2));
    let summary = get_json(&sim, "/api/v2/summary.json").await;
    let incident = &summary["incidents"][0];
    assert_fields(incident, &INCIDENT_FIELDS);
    assert_eq!(incident["name"], "Elevated errors on Claude Opus 4.8");
    assert_eq!(incident["status"], "investigating");
    assert_eq!(incident["impact"], "minor");
    assert_eq!(incident["page_id"], "tymt9n04zgry");
    let id = incident["id"].as_str().expect("id").to_owned();
    assert_eq!(id.len(), 12);
    assert!(incident["shortlink"]
        .as_str()
        .unwrap_or_default()
        .starts_with("https://stspg.io/"));
    assert!(is_statuspage_time(
        incident["created_at"].as_str().unwrap_or_default()
    ));
    assert_eq!(incident["monitoring_at"], Value::Null);
    assert_eq!(incident["resolved_at"], Value::Null);
    let update = &incident["incident_updates"][0];
    assert_fields(update, &UPDATE_FIELDS);
    assert_eq!(update["incident_id"], id.as_str());
    assert_eq!(
        update["affected_components"],
        serde_json::json!([{
            "code": API_COMPONENT,
            "name": "Claude API (api.anthropic.com)",
            "old_status": "operational",
            "new_status": "degraded_performance"
        }])
    );
    assert_fields(&incident["components"][0], &COMPONENT_FIELDS);
    assert_eq!(
        component(&summary, API_COMPONENT)["status"],
        "degraded_performance"
    );
    assert_eq!(summary["status"]["indicator"], "minor");
    assert_eq!(
        summary["status"]["description"],
        "Partially Degraded Service"
    );

    // t=5m: identified, an update without component changes.
    goto(&sim, minutes(5));
    let summary = get_json(&sim, "/api/v2/summary.json").await;
    assert_eq!(summary["incidents"][0]["status"], "identified");
    assert_eq!(
        summary["incidents"][0]["incident_updates"][0]["affected_components"],
        Value::Null
    );
    assert_eq!(
        summary["incidents"][0]["incident_updates"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );

    // t=8m: partial outage, and the team raised the impact.
    goto(&sim, minutes(8));
    let summary = get_json(&sim, "/api/v2/summary.json").await;
    assert_eq!(
        component(&summary, API_COMPONENT)["status"],
        "partial_outage"
    );
    assert_eq!(summary["incidents"][0]["impact"], "major");
    assert_eq!(summary["status"]["description"], "Minor Service Outage");

    // t=10m: monitoring, the API back to operational.
    goto(&sim, minutes(10));
    let summary = get_json(&sim, "/api/v2/summary.json").await;
    assert_eq!(summary["incidents"][0]["status"], "monitoring");
    assert!(is_statuspage_time(
        summary["incidents"][0]["monitoring_at"]
            .as_str()
            .unwrap_or_default()
    ));
    assert_eq!(component(&summary, API_COMPONENT)["status"], "operational");
    assert_eq!(summary["status"]["indicator"], "none");
    let unresolved = get_json(&sim, "/api/v2/incidents/unresolved.json").await;
    assert_eq!(unresolved["incidents"][0]["id"], id.as_str());

    // t=14m: resolved, gone from the unresolved lists but kept in history and by id.
    goto(&sim, minutes(14));
    let summary = get_json(&sim, "/api/v2/summary.json").await;
    assert_eq!(summary["incidents"].as_array().map(Vec::len), Some(0));
    let unresolved = get_json(&sim, "/api/v2/incidents/unresolved.json").await;
    assert_eq!(unresolved["incidents"].as_array().map(Vec::len), Some(0));
    let history = get_json(&sim, "/api/v2/incidents.json").await;
    assert_eq!(history["incidents"].as_array().map(Vec::len), Some(3));
    assert_eq!(history["incidents"][0]["id"], id.as_str(), "newest first");
    let single = get_json(&sim, &format!("/api/v2/incidents/{id}.json")).await;
    assert_fields(&single, &["page", "incident"]);
    assert_eq!(single["incident"]["status"], "resolved");
    assert_eq!(
        single["incident"]["incident_updates"][0]["status"],
        "resolved"
    );
    assert_eq!(
        single["incident"]["incident_updates"]
            .as_array()
            .map(Vec::len),
        Some(5)
    );
    assert!(is_statuspage_time(
        single["incident"]["resolved_at"]
            .as_str()
            .unwrap_or_default()
    ));

    let missing = client()
        .get(format!(
            "{}/api/v2/incidents/zzzzzzzzzzzz.json",
            sim.base_url()
        ))
        .send()
        .await
        .expect("request");
    assert_eq!(missing.status(), 404);
    assert!(missing.json::<Value>().await.is_ok(), "404 is JSON too");
    sim.shutdown().await;
}

#[tokio::test]
async fn document_times_count_from_the_story_start() {
    let sim = sim("incident").await;
    goto(&sim, minutes(5));
    let summary = get_json(&sim, "/api/v2/summary.json").await;
    let parse = |value: &Value| {
        chrono::DateTime::parse_from_rfc3339(value.as_str().unwrap_or_default()).expect("time")
    };
    let updates = &summary["incidents"][0]["incident_updates"];
    let gap = parse(&updates[0]["created_at"]) - parse(&updates[1]["created_at"]);
    assert_eq!(gap.num_seconds(), 180);
    sim.shutdown().await;
}

#[tokio::test]
async fn maintenance_is_scheduled_then_in_progress_then_completed() {
    let sim = sim("maintenance").await;
    let upcoming = get_json(&sim, "/api/v2/scheduled-maintenances/upcoming.json").await;
    let maintenance = &upcoming["scheduled_maintenances"][0];
    assert_eq!(maintenance["status"], "scheduled");
    assert_eq!(maintenance["impact"], "maintenance");
    assert!(maintenance["scheduled_for"].is_string());
    assert!(maintenance["scheduled_until"].is_string());
    let summary = get_json(&sim, "/api/v2/summary.json").await;
    assert_eq!(
        summary["scheduled_maintenances"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(summary["status"]["indicator"], "none");

    goto(&sim, minutes(2));
    let active = get_json(&sim, "/api/v2/scheduled-maintenances/active.json").await;
    assert_eq!(active["scheduled_maintenances"][0]["status"], "in_progress");
    let summary = get_json(&sim, "/api/v2/summary.json").await;
    assert_eq!(
        component(&summary, API_COMPONENT)["status"],
        "under_maintenance"
    );
    assert_eq!(summary["status"]["indicator"], "maintenance");
    assert_eq!(
        summary["status"]["description"],
        "Service Under Maintenance"
    );
    let upcoming = get_json(&sim, "/api/v2/scheduled-maintenances/upcoming.json").await;
    assert_eq!(
        upcoming["scheduled_maintenances"].as_array().map(Vec::len),
        Some(0)
    );

    goto(&sim, minutes(6));
    let all = get_json(&sim, "/api/v2/scheduled-maintenances.json").await;
    assert_eq!(all["scheduled_maintenances"][0]["status"], "completed");
    let active = get_json(&sim, "/api/v2/scheduled-maintenances/active.json").await;
    assert_eq!(
        active["scheduled_maintenances"].as_array().map(Vec::len),
        Some(0)
    );
    let summary = get_json(&sim, "/api/v2/summary.json").await;
    assert_eq!(component(&summary, API_COMPONENT)["status"], "operational");
    assert_eq!(
        summary["scheduled_maintenances"].as_array().map(Vec::len),
        Some(0)
    );
    // Maintenances are not incidents.
    let incidents = get_json(&sim, "/api/v2/incidents.json").await;
    assert_eq!(incidents["incidents"].as_array().map(Vec::len), Some(2));
    sim.shutdown().await;
}

#[tokio::test]
async fn bot_challenge_answers_403_html_while_the_api_is_fine() {
    let sim = sim("bot-challenge").await;
    let client = client();
    let page = client
        .get(format!("{}/api/v2/summary.json", sim.base_url()))
        .send()
        .await
        .expect("request");
    assert_eq!(page.status(), 403);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap_or_default()
        .starts_with("text/html"));
    let body = page.text().await.expect("body");
    assert!(
        body.contains("cloudfront") || body.contains("CloudFront"),
        "{body}"
    );

    let api = client
        .get(format!("{}/v1/models", sim.base_url()))
        .header("x-api-key", "sk-ant-test")
        .send()
        .await
        .expect("request");
    assert_eq!(api.status(), 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn slow_status_waits_for_the_configured_delay() {
    let sim = sim("slow-status").await;
    let started = std::time::Instant::now();
    let summary = get_json(&sim, "/api/v2/status.json").await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(summary["status"]["indicator"], "none");

    // A client with a shorter timeout gives up.
    let impatient = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(100))
        .build()
        .expect("client");
    let error = impatient
        .get(format!("{}/api/v2/status.json", sim.base_url()))
        .send()
        .await
        .expect_err("times out");
    assert!(error.is_timeout());
    sim.shutdown().await;
}

#[tokio::test]
async fn garbage_status_rotates_through_broken_bodies() {
    let sim = sim("garbage-status").await;
    let client = client();
    let url = format!("{}/api/v2/summary.json", sim.base_url());
    let mut seen = Vec::new();
    for _ in 0..8 {
        let response = client.get(&url).send().await.expect("request");
        assert_eq!(response.status(), 200);
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .to_owned();
        let body = response.bytes().await.expect("body");
        seen.push((content_type, body));
    }
    let parses = |body: &[u8]| serde_json::from_slice::<Value>(body).ok();
    assert!(parses(&seen[0].1).is_none(), "truncated JSON");
    assert!(seen[1].0.starts_with("text/html"));
    assert!(seen[2].1.is_empty());
    assert_eq!(parses(&seen[3].1), Some(serde_json::json!([])));
    assert!(seen[4].0.starts_with("text/plain"));
    assert!(seen[5].1.len() >= 12 * 1024 * 1024, "huge body");
    let huge = parses(&seen[5].1).expect("the huge body is valid JSON");
    assert_eq!(huge["page"]["id"], "tymt9n04zgry");
    let wrong = parses(&seen[6].1).expect("wrong types still parse as JSON");
    assert!(wrong["page"].is_string() && wrong["status"]["indicator"].is_number());
    assert!(parses(&seen[7].1).is_none(), "the rotation starts again");
    sim.shutdown().await;
}
