//! HTTP answers of the fake status page: Statuspage's headers, ETag and 304, and the broken variants (challenge, slow, garbage).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use serde::Serialize;

use crate::ids;
use crate::scenario::StatusPageMode;
use crate::server::{Moment, RequestKind, Shared};
use crate::statuspage::{PageView, PAGE_ID};

/// The cache policy status.claude.com sent in 2026 captures (api-facts A3).
const CACHE_CONTROL: &str =
    "max-age=10, public, s-maxage=10, stale-while-revalidate=20, stale-if-error=3600";
const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";
/// A fixed build id; real pages send a hash of the Statuspage release.
const STATUSPAGE_VERSION: &str = "9f3c1e7a";

/// Which document a path asks for.
#[derive(Debug, Clone)]
pub(crate) enum Document {
    Summary,
    Status,
    Components,
    Incidents,
    Unresolved,
    Incident(String),
    Maintenances,
    Upcoming,
    Active,
}

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/v2/summary.json", get(summary))
        .route("/api/v2/status.json", get(status))
        .route("/api/v2/components.json", get(components))
        .route("/api/v2/incidents.json", get(incidents))
        .route("/api/v2/incidents/unresolved.json", get(unresolved))
        .route("/api/v2/incidents/{file}", get(incident))
        .route("/api/v2/scheduled-maintenances.json", get(maintenances))
        .route(
            "/api/v2/scheduled-maintenances/upcoming.json",
            get(upcoming),
        )
        .route("/api/v2/scheduled-maintenances/active.json", get(active))
}

async fn summary(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    answer(shared, headers, Document::Summary).await
}

async fn status(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    answer(shared, headers, Document::Status).await
}

async fn components(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    answer(shared, headers, Document::Components).await
}

async fn incidents(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    answer(shared, headers, Document::Incidents).await
}

async fn unresolved(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    answer(shared, headers, Document::Unresolved).await
}

async fn incident(
    State(shared): State<Arc<Shared>>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    // The id arrives with its `.json` suffix; a path without it is not a document at all.
    match file.strip_suffix(".json") {
        Some(id) => answer(shared, headers, Document::Incident(id.to_owned())).await,
        None => (StatusCode::NOT_FOUND, "Not Found").into_response(),
    }
}

async fn maintenances(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    answer(shared, headers, Document::Maintenances).await
}

async fn upcoming(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    answer(shared, headers, Document::Upcoming).await
}

async fn active(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    answer(shared, headers, Document::Active).await
}

/// Answers one status page request according to the scenario's status page mode.
async fn answer(shared: Arc<Shared>, headers: HeaderMap, document: Document) -> Response {
    let moment = shared.moment(RequestKind::StatusPage);
    match moment.scenario.status_page_mode() {
        StatusPageMode::Normal => render(&shared, &moment, &headers, &document),
        StatusPageMode::BotChallenge => challenge(&shared),
        StatusPageMode::Garbage => garbage(&shared, moment.sequence),
        StatusPageMode::Slow => {
            if !shared.pause(shared.options.slow_status_delay).await {
                return StatusCode::SERVICE_UNAVAILABLE.into_response();
            }
            // The answer shows the page as it is once the delay is over, like a slow origin would.
            let mut later = shared.moment(RequestKind::StatusPage);
            later.sequence = moment.sequence;
            render(&shared, &later, &headers, &document)
        }
    }
}

fn serialize<T: Serialize>(document: &T) -> Bytes {
    // Serializing plain structs of strings and numbers cannot fail; an empty body would be
    // the visible symptom if it ever did.
    serde_json::to_vec(document)
        .map(Bytes::from)
        .unwrap_or_default()
}

fn render(
    shared: &Shared,
    moment: &Moment,
    request_headers: &HeaderMap,
    document: &Document,
) -> Response {
    let view: PageView = moment.page_view();
    let (status, body) = match document {
        Document::Summary => (StatusCode::OK, serialize(&view.summary())),
        Document::Status => (StatusCode::OK, serialize(&view.status_document())),
        Document::Components => (StatusCode::OK, serialize(&view.components_document())),
        Document::Incidents => (StatusCode::OK, serialize(&view.incidents_document())),
        Document::Unresolved => (StatusCode::OK, serialize(&view.unresolved_document())),
        Document::Maintenances => (StatusCode::OK, serialize(&view.maintenances_document())),
        Document::Upcoming => (StatusCode::OK, serialize(&view.upcoming_document())),
        Document::Active => (StatusCode::OK, serialize(&view.active_document())),
        Document::Incident(id) => match view.incident_document(id) {
            Some(found) => (StatusCode::OK, serialize(&found)),
            None => (
                StatusCode::NOT_FOUND,
                serialize(
                    &serde_json::json!({ "error": "Couldn't find Incident", "page_id": PAGE_ID }),
                ),
            ),
        },
    };
    let etag = format!("W/\"{:016x}\"", ids::fnv1a64(&body));
    let mut headers = statuspage_headers(shared);
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    if status == StatusCode::OK && etag_matches(request_headers, &etag) {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    (status, headers, body).into_response()
}

/// The headers every Statuspage JSON answer carries (api-facts A3).
fn statuspage_headers(shared: &Shared) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    headers.insert(
        header::VARY,
        HeaderValue::from_static("Accept,Accept-Encoding"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        "x-statuspage-version",
        HeaderValue::from_static(STATUSPAGE_VERSION),
    );
    headers.insert(header::SERVER, HeaderValue::from_static("AtlassianEdge"));
    headers.insert("x-cache", HeaderValue::from_static("Hit from cloudfront"));
    let trace = format!("{:016x}", ids::mix(shared.next_id()));
    if let Ok(value) = HeaderValue::from_str(&trace) {
        headers.insert("atl-traceid", value);
    }
    headers
}

/// Weak comparison as RFC 9110 asks for `If-None-Match`: `W/` is ignored, `*` matches anything.
fn etag_matches(request_headers: &HeaderMap, etag: &str) -> bool {
    let ours = etag.trim_start_matches("W/");
    request_headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .any(|candidate| candidate == "*" || candidate.trim_start_matches("W/") == ours)
}

const CHALLENGE_HTML: &str = r#"<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN" "http://www.w3.org/TR/html4/loose.dtd">
<HTML><HEAD><META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=iso-8859-1">
<TITLE>ERROR: The request could not be satisfied</TITLE>
</HEAD><BODY>
<H1>403 ERROR</H1>
<H2>The request could not be satisfied.</H2>
<HR noshade size="1px">
Request blocked. We can't connect to the server for this app or website at this time. There might be too much traffic or a configuration error. Try again later, or contact the app or website owner.
<BR clear="all">
To continue, please complete the security check (captcha) in a browser.
<BR clear="all">
<HR noshade size="1px">
<PRE>
Generated by cloudfront (CloudFront)
Request ID: sImUlAtEdChAlLeNgE0000000000000000000000000000000000==
</PRE>
<ADDRESS>
</ADDRESS>
</BODY></HTML>"#;

/// The CloudFront block page status.claude.com served to some automated clients in 2026.
fn challenge(shared: &Shared) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    headers.insert(header::SERVER, HeaderValue::from_static("CloudFront"));
    headers.insert("x-cache", HeaderValue::from_static("Error from cloudfront"));
    let cf_id = format!("{}==", ids::base62(shared.next_id(), 54));
    if let Ok(value) = HeaderValue::from_str(&cf_id) {
        headers.insert("x-amz-cf-id", value);
    }
    (StatusCode::FORBIDDEN, headers, CHALLENGE_HTML).into_response()
}

/// The broken bodies `garbage-status` rotates through, one per request.
fn garbage(shared: &Shared, sequence: u64) -> Response {
    let json = HeaderValue::from_static(JSON_CONTENT_TYPE);
    match sequence % 7 {
        0 => {
            let whole = r#"{"page":{"id":"tymt9n04zgry","name":"Claude","url":"https://status.claude.com","time_zone":"Etc/UTC","updated_at":"2026-10-01T12:00:00.000Z"},"components":[{"id":"k8w3r06qmzrp","name":"Claude API (api.anthropic.com)","status":"operational""#;
            (StatusCode::OK, [(header::CONTENT_TYPE, json)], whole).into_response()
        }
        1 => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"))],
            "<!DOCTYPE html><html><head><title>Claude Status</title></head><body><h1>Claude Status</h1><p>All Systems Operational</p></body></html>",
        )
            .into_response(),
        2 => (StatusCode::OK, [(header::CONTENT_TYPE, json)], "").into_response(),
        3 => (StatusCode::OK, [(header::CONTENT_TYPE, json)], "[]").into_response(),
        4 => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"))],
            "status: all systems operational\n",
        )
            .into_response(),
        5 => {
            let body = shared
                .huge_body
                .get_or_init(|| huge_body(shared.options.huge_body_bytes))
                .clone();
            (StatusCode::OK, [(header::CONTENT_TYPE, json)], body).into_response()
        }
        _ => {
            let wrong = r#"{"page":"Claude","components":{"id":42,"status":true},"incidents":"none","scheduled_maintenances":7,"status":{"indicator":3,"description":["All Systems Operational"]}}"#;
            (StatusCode::OK, [(header::CONTENT_TYPE, json)], wrong).into_response()
        }
    }
}

/// A valid summary.json padded with generated components until it is at least `target` bytes,
/// so a client without a body size limit parses it and a client with one refuses it.
fn huge_body(target: usize) -> Bytes {
    let mut body = String::with_capacity(target + 1024);
    body.push_str(r#"{"page":{"id":"tymt9n04zgry","name":"Claude","url":"https://status.claude.com","time_zone":"Etc/UTC","updated_at":"2026-10-01T12:00:00.000Z"},"components":["#);
    let mut index: u64 = 0;
    while body.len() < target {
        if index > 0 {
            body.push(',');
        }
        body.push_str(&format!(
            r#"{{"id":"{}","name":"Padding component {index}","status":"operational","created_at":"2023-07-11T18:23:40.312Z","updated_at":"2026-10-01T12:00:00.000Z","position":{},"description":"This component only exists to make the body huge.","showcase":false,"start_date":null,"group_id":null,"page_id":"tymt9n04zgry","group":false,"only_show_if_degraded":false}}"#,
            ids::base36(index, 12),
            index + 1
        ));
        index += 1;
    }
    body.push_str(r#"],"incidents":[],"scheduled_maintenances":[],"status":{"indicator":"none","description":"All Systems Operational"}}"#);
    Bytes::from(body)
}
