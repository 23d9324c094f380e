//! The runtime refresh of LiteLLM's price table against a local server: a good table is taken and
//! kept, a 304 keeps it, and every kind of bad table is refused with its reason while the last
//! good one stays.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, TimeZone, Utc};
use claude_status_core::catalog::{Catalog, PriceSourceKind};
use claude_status_core::price_table::{LiteLlmTable, TableKind, BUNDLED_LITELLM_JSON};
use claude_status_engine::http::{build_client, HttpLimits};
use claude_status_engine::prices::{
    load_last_good, load_meta, models_priced_recently, refresh_once, run_price_refresh,
    PriceRefreshConfig, RefreshOutcome, BODY_LIMIT,
};
use claude_status_engine::Store;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use serde_json::{json, Map, Value};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// One scripted answer.
struct Reply {
    status: StatusCode,
    body: Bytes,
    etag: Option<&'static str>,
}

/// What the server saw of one request: its If-None-Match and If-Modified-Since.
type Seen = (Option<String>, Option<String>);

/// A local server that answers each request with the next scripted reply (500 when none is
/// left) and records the validators it was sent.
struct Server {
    url: String,
    replies: Arc<Mutex<VecDeque<Reply>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    async fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let replies: Arc<Mutex<VecDeque<Reply>>> = Arc::default();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let (r, s) = (replies.clone(), seen.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (replies, seen) = (r.clone(), s.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request: Request<_>| {
                        let header = |name: &str| {
                            request
                                .headers()
                                .get(name)
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_owned)
                        };
                        seen.lock()
                            .unwrap()
                            .push((header("if-none-match"), header("if-modified-since")));
                        let reply = replies.lock().unwrap().pop_front().unwrap_or(Reply {
                            status: StatusCode::INTERNAL_SERVER_ERROR,
                            body: Bytes::from_static(b"no reply scripted"),
                            etag: None,
                        });
                        let mut response = Response::builder()
                            .status(reply.status)
                            .header("last-modified", "Wed, 02 Dec 2026 08:00:00 GMT");
                        if let Some(etag) = reply.etag {
                            response = response.header("etag", etag);
                        }
                        let response = response.body(Full::new(reply.body)).unwrap();
                        async move { Ok::<_, Infallible>(response) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Server {
            url: format!("http://{addr}/model_prices_and_context_window.json"),
            replies,
            seen,
        }
    }

    fn reply(&self, status: StatusCode, body: impl Into<Bytes>, etag: Option<&'static str>) {
        self.replies.lock().unwrap().push_back(Reply {
            status,
            body: body.into(),
            etag,
        });
    }

    fn requests(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    fn last_seen(&self) -> Seen {
        self.seen.lock().unwrap().last().cloned().unwrap()
    }
}

/// The bundled snapshot's rows in the upstream shape (one object of rows, with LiteLLM's own
/// `sample_spec` and a row of another provider), after `edit`.
fn upstream(edit: impl FnOnce(&mut Map<String, Value>)) -> String {
    let snapshot: Value = serde_json::from_str(BUNDLED_LITELLM_JSON).unwrap();
    let mut rows = snapshot["models"].as_object().unwrap().clone();
    rows.insert(
        "sample_spec".to_owned(),
        json!({"litellm_provider": "one of https://docs.litellm.ai/docs/providers",
               "input_cost_per_token": 0.0, "supports_vision": true}),
    );
    rows.insert(
        "anthropic.claude-opus-4-6-v1".to_owned(),
        json!({"litellm_provider": "bedrock_converse", "input_cost_per_token": 5e-6,
               "output_cost_per_token": 2.5e-5}),
    );
    edit(&mut rows);
    Value::Object(rows).to_string()
}

/// Removes a model under every key it has (dated twins included).
fn drop_model(rows: &mut Map<String, Value>, model: &str) {
    rows.retain(|key, _| key != model && !key.starts_with(&format!("{model}-2")));
}

fn set_input(rows: &mut Map<String, Value>, key: &str, per_mtok: f64) {
    rows[key]["input_cost_per_token"] = json!(per_mtok / 1e6);
}

fn t(hours: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 2, 6, 0, 0).unwrap() + chrono::Duration::hours(hours)
}

fn client() -> reqwest::Client {
    build_client(&HttpLimits::default()).unwrap()
}

fn input_of(table: &LiteLlmTable, model: &str) -> Option<f64> {
    table.claude_model(model).and_then(|row| row.input_per_mtok)
}

/// Takes a first good table (Opus 4.6 at $4.50 input) at t(0) and returns the server.
async fn with_a_good_table(dir: &Path) -> Server {
    let server = Server::start().await;
    server.reply(
        StatusCode::OK,
        upstream(|rows| set_input(rows, "claude-opus-4-6", 4.5)),
        Some("\"v1\""),
    );
    let outcome = refresh_once(&client(), &server.url, dir, &[], t(0)).await;
    assert!(matches!(outcome, RefreshOutcome::Updated(_)), "{outcome:?}");
    server
}

/// Checks that a refused table left the last good one in place and recorded `expected`.
fn assert_refused(outcome: RefreshOutcome, dir: &Path, expected: &str) {
    let RefreshOutcome::Refused(reason) = outcome else {
        panic!("not refused: {outcome:?}");
    };
    assert!(reason.contains(expected), "{reason}");
    let (table, meta) = load_last_good(dir).unwrap();
    assert_eq!(input_of(&table, "claude-opus-4-6"), Some(4.5));
    assert_eq!(meta.etag.as_deref(), Some("\"v1\""));
    assert_eq!(meta.last_refusal.as_deref(), Some(reason.as_str()));
    assert_eq!(meta.last_outcome.as_deref(), Some("refused"));
}

#[tokio::test]
async fn a_good_table_is_taken_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    assert!(load_last_good(dir.path()).is_none());
    let server = with_a_good_table(dir.path()).await;
    // The first request carries no validators: there was no table to validate.
    assert_eq!(server.last_seen(), (None, None));

    let (table, meta) = load_last_good(dir.path()).unwrap();
    assert_eq!(table.kind(), TableKind::Fetched);
    assert_eq!(table.label(), "LiteLLM upstream, fetched 2026-12-02");
    assert_eq!(input_of(&table, "claude-opus-4-6"), Some(4.5));
    assert_eq!(input_of(&table, "claude-haiku-5-5"), Some(0.1));
    assert_eq!(meta.etag.as_deref(), Some("\"v1\""));
    assert_eq!(
        meta.last_modified.as_deref(),
        Some("Wed, 02 Dec 2026 08:00:00 GMT")
    );
    assert_eq!(
        (meta.fetched_at, meta.last_checked),
        (Some(t(0)), Some(t(0)))
    );
    assert_eq!(meta.url.as_deref(), Some(server.url.as_str()));
    // What is kept is our small snapshot, not the upstream file.
    let kept = std::fs::read_to_string(dir.path().join("prices/litellm.json")).unwrap();
    assert!(kept.contains("\"fetched_at\"") && !kept.contains("sample_spec"));
    assert!(!kept.contains("bedrock_converse"));

    // The catalog from it prices with it and says so.
    let catalog = Catalog::build_with(Some(&table), None).unwrap();
    let opus = catalog.price("claude-opus-4-6").unwrap();
    assert_eq!(opus.input_per_mtok, 4.5);
    assert_eq!(opus.source.kind, PriceSourceKind::LitellmFetched);
    assert_eq!(catalog.as_of.prices, "2026-12-02");
    // The hand-made supplement rows are still there.
    assert_eq!(
        catalog.price("claude-fable-5-2").unwrap().source.kind,
        PriceSourceKind::BuiltIn
    );
}

#[tokio::test]
async fn not_due_yet_sends_no_request() {
    let dir = tempfile::tempdir().unwrap();
    let server = with_a_good_table(dir.path()).await;
    let outcome = refresh_once(&client(), &server.url, dir.path(), &[], t(23)).await;
    assert_eq!(outcome, RefreshOutcome::Skipped { next_due: t(24) });
    assert_eq!(server.requests(), 1);
    // A failed attempt counts as an attempt too: the upstream is asked once a day at most.
    let outcome = refresh_once(&client(), &server.url, dir.path(), &[], t(25)).await;
    assert!(
        matches!(outcome, RefreshOutcome::Failed(ref r) if r.contains("500")),
        "{outcome:?}"
    );
    let outcome = refresh_once(&client(), &server.url, dir.path(), &[], t(26)).await;
    assert!(
        matches!(outcome, RefreshOutcome::Skipped { .. }),
        "{outcome:?}"
    );
    assert_eq!(server.requests(), 2);
    let meta = load_meta(dir.path());
    assert_eq!(meta.last_outcome.as_deref(), Some("failed"));
    assert!(meta.last_failure.unwrap().contains("500"));
    // A last check in the future (the clock moved back) does not hold the refresh off.
    let outcome = refresh_once(&client(), &server.url, dir.path(), &[], t(-48)).await;
    assert!(
        !matches!(outcome, RefreshOutcome::Skipped { .. }),
        "{outcome:?}"
    );
    // The failure left the good table alone.
    assert_eq!(
        input_of(&load_last_good(dir.path()).unwrap().0, "claude-opus-4-6"),
        Some(4.5)
    );
}

#[tokio::test]
async fn not_modified_keeps_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let server = with_a_good_table(dir.path()).await;
    server.reply(StatusCode::NOT_MODIFIED, Bytes::new(), Some("\"v1\""));
    let outcome = refresh_once(&client(), &server.url, dir.path(), &[], t(25)).await;
    assert_eq!(outcome, RefreshOutcome::NotModified);
    assert_eq!(
        server.last_seen(),
        (
            Some("\"v1\"".to_owned()),
            Some("Wed, 02 Dec 2026 08:00:00 GMT".to_owned())
        )
    );
    let (table, meta) = load_last_good(dir.path()).unwrap();
    assert_eq!(input_of(&table, "claude-opus-4-6"), Some(4.5));
    assert_eq!(
        (meta.fetched_at, meta.last_checked),
        (Some(t(0)), Some(t(25)))
    );
    assert_eq!(meta.last_outcome.as_deref(), Some("not modified"));
}

#[tokio::test]
async fn a_table_that_is_not_json_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = with_a_good_table(dir.path()).await;
    server.reply(StatusCode::OK, "<html>rate limited</html>", Some("\"v2\""));
    let outcome = refresh_once(&client(), &server.url, dir.path(), &[], t(25)).await;
    assert_refused(outcome, dir.path(), "not valid JSON");
    server.reply(StatusCode::OK, vec![0xff, 0xfe, b'{'], None);
    let outcome = refresh_once(&client(), &server.url, dir.path(), &[], t(50)).await;
    assert_refused(outcome, dir.path(), "not valid JSON");
}

#[tokio::test]
async fn dropping_more_than_5_percent_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = with_a_good_table(dir.path()).await;
    server.reply(
        StatusCode::OK,
        upstream(|rows| {
            set_input(rows, "claude-opus-4-6", 4.5);
            drop_model(rows, "claude-opus-4-5");
            drop_model(rows, "claude-sonnet-5");
        }),
        Some("\"v2\""),
    );
    let outcome = refresh_once(&client(), &server.url, dir.path(), &[], t(25)).await;
    assert_refused(outcome, dir.path(), "drops 2 of the 17 Claude models");
}

#[tokio::test]
async fn dropping_a_recently_priced_model_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start().await;
    // A last good table with 27 Claude models, so that dropping one is under 5 %.
    let extra = |rows: &mut Map<String, Value>| {
        set_input(rows, "claude-opus-4-6", 4.5);
        for i in 0..10 {
            rows.insert(
                format!("claude-extra-{i}"),
                json!({"litellm_provider": "anthropic", "mode": "chat",
                       "input_cost_per_token": 1e-6, "output_cost_per_token": 5e-6}),
            );
        }
    };
    server.reply(StatusCode::OK, upstream(extra), Some("\"v1\""));
    let outcome = refresh_once(&client(), &server.url, dir.path(), &[], t(0)).await;
    assert!(matches!(outcome, RefreshOutcome::Updated(_)), "{outcome:?}");

    let without_one = upstream(|rows| {
        extra(rows);
        rows.remove("claude-extra-3");
    });
    server.reply(StatusCode::OK, without_one.clone(), Some("\"v2\""));
    let recent = vec![
        "claude-extra-3".to_owned(),
        "claude-opus-4-6-20260205".to_owned(),
    ];
    let outcome = refresh_once(&client(), &server.url, dir.path(), &recent, t(25)).await;
    assert_refused(
        outcome,
        dir.path(),
        "drops claude-extra-3, which priced your usage",
    );
    // The same table is fine when the ledger did not use that model.
    server.reply(StatusCode::OK, without_one, Some("\"v2\""));
    let outcome = refresh_once(&client(), &server.url, dir.path(), &[], t(50)).await;
    assert!(matches!(outcome, RefreshOutcome::Updated(_)), "{outcome:?}");
    let (table, meta) = load_last_good(dir.path()).unwrap();
    assert!(table.claude_model("claude-extra-3").is_none());
    assert_eq!(meta.etag.as_deref(), Some("\"v2\""));
    // The earlier refusal stays on record beside the newer success.
    assert!(meta.last_refusal.unwrap().contains("claude-extra-3"));
    assert_eq!(meta.last_outcome.as_deref(), Some("updated"));
}

#[tokio::test]
async fn a_price_moved_tenfold_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = with_a_good_table(dir.path()).await;
    // Sonnet 4.6's input from $3 to $33.
    server.reply(
        StatusCode::OK,
        upstream(|rows| {
            set_input(rows, "claude-opus-4-6", 4.5);
            set_input(rows, "claude-sonnet-4-6", 33.0);
        }),
        Some("\"v2\""),
    );
    let outcome = refresh_once(&client(), &server.url, dir.path(), &[], t(25)).await;
    assert_refused(outcome, dir.path(), "input price of claude-sonnet-4-6");
    // And down: Haiku 4.5's input from $1 to $0.09.
    server.reply(
        StatusCode::OK,
        upstream(|rows| {
            set_input(rows, "claude-opus-4-6", 4.5);
            set_input(rows, "claude-haiku-4-5", 0.09);
        }),
        Some("\"v3\""),
    );
    let outcome = refresh_once(&client(), &server.url, dir.path(), &[], t(50)).await;
    assert_refused(outcome, dir.path(), "claude-haiku-4-5");
}

#[tokio::test]
async fn an_oversized_table_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = with_a_good_table(dir.path()).await;
    let mut body = vec![b' '; usize::try_from(BODY_LIMIT).unwrap() + 1];
    body[0] = b'{';
    server.reply(StatusCode::OK, body, Some("\"v2\""));
    let outcome = refresh_once(&client(), &server.url, dir.path(), &[], t(25)).await;
    assert_refused(outcome, dir.path(), "larger than 32 MiB");
}

#[tokio::test]
async fn the_first_refresh_is_judged_against_the_bundled_table() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start().await;
    server.reply(
        StatusCode::OK,
        upstream(|rows| set_input(rows, "claude-opus-5-5", 44.0)),
        None,
    );
    let outcome = refresh_once(&client(), &server.url, dir.path(), &[], t(0)).await;
    let RefreshOutcome::Refused(reason) = outcome else {
        panic!("{outcome:?}");
    };
    assert!(reason.contains("claude-opus-5-5"), "{reason}");
    // No good table yet, and the refusal is on record.
    assert!(load_last_good(dir.path()).is_none());
    assert_eq!(load_meta(dir.path()).last_refusal, Some(reason));
}

#[tokio::test]
async fn the_ledger_names_the_recently_priced_models() {
    use claude_status_core::usage::{TokenCounts, UsageRecord, UsageSource};
    let store = Store::open_in_memory().unwrap();
    let record = |model: &str, days_ago: i64| {
        UsageRecord::new(
            t(0) - chrono::Duration::days(days_ago),
            UsageSource::ClaudeCode,
            model,
            TokenCounts {
                input: 10,
                ..TokenCounts::default()
            },
        )
    };
    store
        .ingest_batch(
            &[
                record("claude-opus-4-6-20260205", 1),
                record("claude-opus-4-6", 2),
                record("claude-haiku-4-5[1m]", 29),
                record("<synthetic>", 3),
                record("claude-3-opus", 31),
            ],
            &[],
        )
        .unwrap();
    assert_eq!(
        models_priced_recently(&store, t(0)).unwrap(),
        ["claude-haiku-4-5", "claude-opus-4-6"]
    );
}

#[tokio::test]
async fn the_task_sends_the_new_catalog() {
    // No user override file for this process: the catalog is the table's alone.
    let dir = tempfile::tempdir().unwrap();
    std::env::set_var(
        claude_status_engine::usage::CATALOG_ENV,
        dir.path().join("no-override.json"),
    );
    let server = Server::start().await;
    server.reply(
        StatusCode::OK,
        upstream(|rows| set_input(rows, "claude-opus-4-6", 4.5)),
        Some("\"v1\""),
    );
    let config = PriceRefreshConfig {
        url: server.url.clone(),
        first_delay: Duration::ZERO,
        ..PriceRefreshConfig::default()
    };
    let (tx, mut rx) = mpsc::channel(1);
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(run_price_refresh(
        client(),
        config.clone(),
        dir.path().to_path_buf(),
        Some(Arc::new(Store::open_in_memory().unwrap())),
        tx.clone(),
        shutdown.clone(),
    ));
    let catalog = tokio::time::timeout(Duration::from_secs(60), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(catalog.price_table.kind, Some(TableKind::Fetched));
    assert_eq!(
        catalog.price("claude-opus-4-6").unwrap().input_per_mtok,
        4.5
    );
    // The next start uses the kept table.
    let loaded = claude_status_engine::usage::load_catalog_in(dir.path()).unwrap();
    assert_eq!(loaded.price("claude-opus-4-6").unwrap().input_per_mtok, 4.5);
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(server.requests(), 1);

    // Switched off, it sends nothing and asks nobody.
    let off = PriceRefreshConfig {
        enabled: false,
        ..config
    };
    run_price_refresh(
        client(),
        off,
        dir.path().to_path_buf(),
        None,
        tx,
        CancellationToken::new(),
    )
    .await;
    assert_eq!(server.requests(), 1);
}
