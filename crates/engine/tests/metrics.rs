//! The Prometheus metrics against the simulator: an overload storm seen by the per-model probe
//! and the gateway shows in `/metrics` in both text formats, Prometheus' own `promtool` reads the
//! exposition back, the cardinality bound holds, a request seen by two sources counts once, and
//! history read back at start is not counted again.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use claude_status_core::usage::{TokenCounts, UsageRecord, UsageSource};
use claude_status_core::Level;
use claude_status_engine::gateway::{Gateway, GatewayConfig};
use claude_status_engine::http::build_client;
use claude_status_engine::metrics::{Metrics, MAX_UNKNOWN_MODELS, OPENMETRICS_CONTENT_TYPE};
use claude_status_engine::{Engine, EngineConfig, Store};
use tokio_util::sync::CancellationToken;

#[path = "support/realtime.rs"]
mod realtime;
#[path = "support/sim.rs"]
mod sim;

use sim::fast_sim;

const PATIENCE: Duration = Duration::from_secs(20);
const MODEL: &str = "claude-opus-5-5";

fn config(url: &str) -> EngineConfig {
    realtime::streaming_config(url, MODEL)
}

async fn scrape(url: &str, accept: Option<&str>) -> (String, String) {
    let client = reqwest::Client::new();
    let mut request = client.get(url);
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    (content_type, response.text().await.unwrap())
}

/// The value of the first sample whose line starts with `series` (name and labels as written).
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|line| line.starts_with(series) && line[series.len()..].starts_with(' '))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// Runs Prometheus' own parser and linter over a text-format exposition. `promtool` comes with
/// Debian's `prometheus` package, which CI installs; a machine without it says so loudly rather
/// than passing quietly, unless it is not CI.
fn promtool_reads(text: &str) {
    let promtool = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let mut child = match promtool {
        Ok(child) => child,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("SKIPPED the promtool parse: promtool cannot run here ({e})");
            return;
        }
        Err(e) => panic!("promtool is needed in CI (Debian's prometheus package): {e}"),
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "promtool check metrics refused the exposition:\n{said}\n---\n{text}"
    );
}

async fn send(gateway: &str, model: &str, stream: bool) -> u16 {
    let body = serde_json::json!({
        "model": model,
        "max_tokens": 16,
        "stream": stream,
        "messages": [{"role": "user", "content": "hello"}],
    });
    reqwest::Client::new()
        .post(format!("{gateway}/v1/messages"))
        .header("x-api-key", "sk-ant-test")
        .header("anthropic-version", "2023-06-01")
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overload_storm_shows_in_the_metrics_and_prometheus_reads_them() {
    // One model overloaded, the others answering (the status page has not noticed yet).
    let sim = fast_sim("model-overload").await;
    sim.advance(Duration::from_secs(4 * 60));
    let metrics = Arc::new(Metrics::default());
    let shutdown = CancellationToken::new();
    let addr = claude_status_engine::metrics::serve(
        "127.0.0.1:0".parse().unwrap(),
        false,
        Arc::clone(&metrics),
        shutdown.clone(),
    )
    .await
    .unwrap();
    let url = format!("http://{addr}/metrics");

    let store = Arc::new(Store::open_in_memory().unwrap());
    let config = config(&sim.base_url());
    let http = build_client(&config.poller.limits).unwrap();
    let engine =
        Engine::start_with_metrics(config, http, store, Some(Arc::clone(&metrics))).unwrap();
    let gateway = Gateway::bind(GatewayConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        upstream: sim.base_url(),
        metrics: Some(Arc::clone(&metrics)),
        ..GatewayConfig::default()
    })
    .await
    .unwrap();
    let gateway_url = gateway.base_url();
    tokio::spawn(gateway.run(shutdown.clone()));

    let mut snapshots = engine.snapshot();
    tokio::time::timeout(
        PATIENCE,
        snapshots.wait_for(|s| s.level == Level::Overloaded),
    )
    .await
    .expect("the storm is seen")
    .unwrap();
    // The user's own traffic: the stormed model answers 529, another one answers.
    assert_eq!(send(&gateway_url, MODEL, false).await, 529);
    assert_eq!(send(&gateway_url, "claude-haiku-4-5", false).await, 200);
    assert_eq!(
        send(&gateway_url, "claude-haiku-4-5-20251001", true).await,
        200
    );

    // Metering runs on its own task: wait for it to count the three exchanges.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let text = loop {
        let (_, text) = scrape(&url, None).await;
        let total: f64 = text
            .lines()
            .filter(|l| l.starts_with("claude_status_gateway_requests_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        if total >= 3.0 {
            break text;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the gateway's exchanges were not counted:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    assert_eq!(
        value(&text, r#"claude_status_level{level="overloaded"}"#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(&text, r#"claude_status_level{level="operational"}"#),
        Some(0.0)
    );
    assert_eq!(
        value(
            &text,
            r#"claude_status_model_level{model="claude-opus-5-5",level="overloaded"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        value(
            &text,
            r#"claude_status_probe_results_total{probe="streaming",model="claude-opus-5-5",outcome="overloaded"}"#
        )
        .unwrap_or(0.0)
            >= 3.0,
        "{text}"
    );
    assert!(
        value(
            &text,
            r#"claude_status_probe_results_total{probe="reachability",model="",outcome="ok"}"#
        )
        .unwrap_or(0.0)
            >= 1.0,
        "the model list answers during a storm: {text}"
    );
    assert_eq!(
        value(
            &text,
            r#"claude_status_gateway_requests_total{model="claude-opus-5-5",status_class="529"}"#
        ),
        Some(1.0)
    );
    // A dated id is folded into its model's label.
    assert_eq!(
        value(
            &text,
            r#"claude_status_gateway_requests_total{model="claude-haiku-4-5",status_class="2xx"}"#
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            r#"claude_status_gateway_request_duration_seconds_count{model="claude-haiku-4-5",stream="true"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            r#"claude_status_gateway_time_to_first_token_seconds_count{model="claude-haiku-4-5"}"#
        ),
        Some(1.0),
        "{text}"
    );
    // Input tokens per request: the successful ones only, so the 529 adds nothing (issue 17).
    assert_eq!(
        value(
            &text,
            r#"claude_status_gateway_request_input_tokens_count{model="claude-haiku-4-5"}"#
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            r#"claude_status_gateway_request_input_tokens_count{model="claude-opus-5-5"}"#
        ),
        None,
        "{text}"
    );
    assert!(
        value(
            &text,
            r#"claude_status_tokens_total{model="claude-haiku-4-5",type="output"}"#
        )
        .unwrap_or(0.0)
            > 0.0,
        "{text}"
    );
    assert!(
        value(
            &text,
            r#"claude_status_cost_usd_total{model="claude-haiku-4-5",source="gateway"}"#
        )
        .unwrap_or(0.0)
            > 0.0,
        "{text}"
    );
    assert!(
        value(
            &text,
            r#"claude_status_build_info{version=""#.trim_end_matches('"')
        )
        .is_none(),
        "the helper needs whole label sets"
    );
    assert!(text.contains(&format!(
        "claude_status_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    )));
    // The GenAI duration buckets, 0.01 s doubling to 81.92 s.
    assert!(text.contains(r#"le="0.01""#) && text.contains(r#"le="81.92""#));
    // Prometheus' own parser and linter read the text format.
    promtool_reads(&text);

    // Prometheus asks for OpenMetrics and gets it, ending in `# EOF`, with units declared.
    let (content_type, open) = scrape(
        &url,
        Some("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"),
    )
    .await;
    assert_eq!(content_type, OPENMETRICS_CONTENT_TYPE);
    assert!(open.ends_with("# EOF\n"), "{open}");
    assert!(open.contains("# UNIT claude_status_probe_duration_seconds seconds"));
    assert!(open.contains("# TYPE claude_status_cost_usd counter"));

    // Prometheus accepts gzip and gets it: the same text, far smaller on the wire.
    let raw = reqwest::Client::builder()
        .no_gzip()
        .build()
        .unwrap()
        .get(&url)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(
        raw.headers()
            .get("content-encoding")
            .unwrap()
            .to_str()
            .unwrap(),
        "gzip"
    );
    let compressed = raw.bytes().await.unwrap();
    let mut unpacked = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(&compressed[..]),
        &mut unpacked,
    )
    .unwrap();
    assert!(unpacked.contains("claude_status_gateway_requests_total{"));
    assert!(
        compressed.len() * 4 < unpacked.len(),
        "{} vs {}",
        compressed.len(),
        unpacked.len()
    );

    // The gateway serves the same registry on its own port.
    let (_, on_gateway) = scrape(&format!("{gateway_url}/metrics"), None).await;
    assert!(on_gateway.contains("claude_status_gateway_requests_total"));

    shutdown.cancel();
    engine.shutdown().await;
}

#[tokio::test]
async fn metrics_stay_on_loopback_unless_remote_access_is_allowed() {
    let metrics = Arc::new(Metrics::default());
    let refused = claude_status_engine::metrics::serve(
        "0.0.0.0:0".parse().unwrap(),
        false,
        Arc::clone(&metrics),
        CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert!(refused.to_string().contains("--allow-remote"), "{refused}");
    let shutdown = CancellationToken::new();
    let allowed = claude_status_engine::metrics::serve(
        "0.0.0.0:0".parse().unwrap(),
        true,
        metrics,
        shutdown.clone(),
    )
    .await
    .unwrap();
    // Only /metrics is served, and only to GET (and HEAD).
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{}", allowed.port());
    assert_eq!(
        client
            .get(format!("{base}/"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        client
            .post(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        405
    );
    shutdown.cancel();
}

fn record(source: UsageSource, model: &str, output: u64) -> UsageRecord {
    UsageRecord {
        status: Some(200),
        latency_ms: Some(900),
        message_id: Some("msg_1".to_owned()),
        request_id: Some("req_1".to_owned()),
        ..UsageRecord::new(
            Utc::now(),
            source,
            model,
            TokenCounts {
                input: 100,
                output,
                ..TokenCounts::default()
            },
        )
    }
}

#[test]
fn a_request_seen_by_the_gateway_and_claude_code_counts_once() {
    let metrics = Metrics::default();
    // An engine that reads Claude Code's transcripts says so at start.
    metrics.expect_claude_code();
    metrics.observe_gateway(
        &record(UsageSource::Gateway, "claude-sonnet-4-5", 50),
        false,
    );
    // Claude Code's transcript of the same request, first as a partial line, then whole.
    metrics.observe_usage(&[
        record(UsageSource::ClaudeCode, "claude-sonnet-4-5", 20),
        record(UsageSource::ClaudeCode, "claude-sonnet-4-5", 80),
    ]);
    // The Admin API's buckets are the organisation's, never added to the user's own requests.
    metrics.observe_usage(&[UsageRecord {
        message_id: None,
        request_id: None,
        ..record(UsageSource::AdminApi, "claude-sonnet-4-5", 10_000)
    }]);
    let text = metrics.encode_prometheus_text();
    assert_eq!(
        value(
            &text,
            r#"claude_status_tokens_total{model="claude-sonnet-4-5",type="output"}"#
        ),
        Some(80.0),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            r#"claude_status_tokens_total{model="claude-sonnet-4-5",type="input"}"#
        ),
        Some(100.0)
    );
    assert_eq!(
        value(
            &text,
            r#"claude_status_requests_total{model="claude-sonnet-4-5",source="gateway"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &text,
            r#"claude_status_requests_total{model="claude-sonnet-4-5",source="claude_code"}"#
        ),
        None,
        "{text}"
    );
    // Sonnet 4.5 lists at $3 / $15 per million: 100 input and 80 output tokens.
    let cost: f64 = text
        .lines()
        .filter(|l| l.starts_with("claude_status_cost_usd_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!(
        (cost - (100.0 * 3.0 + 80.0 * 15.0) / 1e6).abs() < 1e-12,
        "{cost}"
    );
    promtool_reads(&text);
}

#[test]
fn unknown_models_are_folded_into_other_after_the_limit() {
    let metrics = Metrics::default();
    for n in 0..(MAX_UNKNOWN_MODELS + 5) {
        metrics.observe_gateway(
            &UsageRecord {
                status: Some(404),
                ..UsageRecord::new(
                    Utc::now(),
                    UsageSource::Gateway,
                    format!("made-up-model-{n}"),
                    TokenCounts::default(),
                )
            },
            false,
        );
    }
    let text = metrics.encode_prometheus_text();
    let series: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("claude_status_gateway_requests_total{"))
        .collect();
    assert_eq!(series.len(), MAX_UNKNOWN_MODELS + 1, "{text}");
    assert_eq!(
        value(
            &text,
            r#"claude_status_gateway_requests_total{model="other",status_class="4xx"}"#
        ),
        Some(5.0)
    );
}

/// A transcript line in the shape Claude Code writes, at `at`.
fn transcript_line(message: &str, output: u64, at: chrono::DateTime<Utc>) -> String {
    format!(
        r#"{{"parentUuid":"p","isSidechain":false,"message":{{"model":"claude-sonnet-4-5-20250929","id":"{message}","type":"message","role":"assistant","content":[{{"type":"text","text":"hello"}}],"usage":{{"input_tokens":3,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":{output},"service_tier":"standard"}}}},"requestId":"req-{message}","type":"assistant","uuid":"u-{message}","timestamp":"{}","sessionId":"s","version":"2.1.233"}}"#,
        at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    ) + "\n"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_read_at_start_is_not_counted_but_new_lines_are() {
    let sim = fast_sim("healthy").await;
    let temp = tempfile::tempdir().unwrap();
    let projects = temp.path().join("projects");
    let file = projects.join("p/s.jsonl");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    // This month's history: the tracker catches up on it, the counters must not.
    std::fs::write(
        &file,
        transcript_line("msg_old", 700, Utc::now() - chrono::Duration::minutes(1)),
    )
    .unwrap();
    let metrics = Arc::new(Metrics::default());
    let mut config = config(&sim.base_url());
    config.probes = None;
    config.usage = Some(claude_status_engine::monitor::UsageConfig {
        catalog: claude_status_core::catalog::Catalog::builtin(),
        tracker: claude_status_core::tracker::TrackerConfig::default(),
        claude_code_dirs: Some(vec![projects.clone()]),
        admin: None,
    });
    let store = Arc::new(Store::open_in_memory().unwrap());
    let http = build_client(&config.poller.limits).unwrap();
    let engine =
        Engine::start_with_metrics(config, http, store, Some(Arc::clone(&metrics))).unwrap();
    let mut snapshots = engine.snapshot();
    tokio::time::timeout(
        PATIENCE,
        snapshots.wait_for(|s| {
            s.usage
                .as_ref()
                .is_some_and(|u| u.today.tokens.output >= 700)
        }),
    )
    .await
    .expect("the tracker caught up on the history")
    .unwrap();
    let output = r#"claude_status_tokens_total{model="claude-sonnet-4-5",type="output"}"#;
    assert_eq!(value(&metrics.encode_prometheus_text(), output), None);

    let mut appended = std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap();
    appended
        .write_all(transcript_line("msg_new", 42, Utc::now()).as_bytes())
        .unwrap();
    drop(appended);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let text = metrics.encode_prometheus_text();
        if value(&text, output) == Some(42.0) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the new line was not counted (only it should be):\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    engine.shutdown().await;
}
