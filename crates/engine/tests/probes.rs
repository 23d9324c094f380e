//! The API probes against the simulator: every scenario of the fake API, with and without a key, for the reachability probe and the streaming probe.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use std::time::Duration;

use chrono::{Datelike, TimeZone, Utc};
use claude_status_core::health::{FailureKind, HealthConfig, ProbeKind, ProbeResult, Signal};
use claude_status_core::probe::ProbeOutcome;
use claude_status_engine::http::{build_client, HttpLimits};
use claude_status_engine::probe::{
    ApiKey, ApiProbe, HttpProber, ProbeConfig, StreamingProbeConfig,
};
use claude_status_simulator::{Clock, SimHandle, Simulator};

async fn sim(scenario: &str) -> SimHandle {
    Simulator::new(scenario)
        .clock(Clock::Manual)
        .start()
        .await
        .expect("simulator starts")
}

fn key() -> Option<ApiKey> {
    ApiKey::new("sk-ant-test")
}

fn prober_with(api_url: &str, api_key: Option<ApiKey>, total_timeout: Duration) -> HttpProber {
    let limits = HttpLimits {
        connect_timeout: Duration::from_secs(1),
        total_timeout,
        ..HttpLimits::default()
    };
    let config = ProbeConfig {
        api_url: api_url.to_owned(),
        streaming: api_key.as_ref().map(|_| StreamingProbeConfig::default()),
        api_key,
        limits,
        ..ProbeConfig::default()
    };
    config.validate().unwrap();
    HttpProber::new(build_client(&limits).unwrap(), config)
}

fn prober(sim: &SimHandle, api_key: Option<ApiKey>) -> HttpProber {
    prober_with(&sim.base_url(), api_key, Duration::from_secs(5))
}

/// Runs the reachability probe of `scenario` with and without a key.
async fn both_ways(scenario: &str) -> (ProbeResult, ProbeResult) {
    let sim = sim(scenario).await;
    let with_key = prober(&sim, key()).reachability(false).await;
    let without_key = prober(&sim, None).reachability(false).await;
    sim.shutdown().await;
    (with_key, without_key)
}

#[track_caller]
fn assert_outcome(result: &ProbeResult, outcome: ProbeOutcome, status: Option<u16>) {
    assert_eq!(result.outcome(), outcome, "{:#?}", result.classification);
    assert_eq!(
        result.classification.http_status, status,
        "{:#?}",
        result.classification
    );
    assert!(
        !result.classification.detail.is_empty(),
        "a result always explains itself"
    );
    assert_eq!(result.kind, ProbeKind::Reachability);
}

/// Without a key the API refuses with a 401 before any scenario applies: that is still an answer.
#[track_caller]
fn assert_unauthenticated(result: &ProbeResult) {
    assert_outcome(result, ProbeOutcome::Unauthenticated, Some(401));
    assert!(result.classification.request_id.is_some());
}

#[tokio::test]
async fn healthy_is_ok_with_a_key_and_unauthenticated_without() {
    let (with_key, without_key) = both_ways("healthy").await;
    assert_outcome(&with_key, ProbeOutcome::Ok, Some(200));
    assert!(with_key
        .classification
        .request_id
        .as_deref()
        .unwrap()
        .starts_with("req_"));
    assert!(with_key.latency_ms.is_some());
    assert!(!with_key.ratelimit.is_empty());
    assert_eq!(HealthConfig::default().signal(&with_key), Signal::Pass);

    assert_unauthenticated(&without_key);
    assert_eq!(HealthConfig::default().signal(&without_key), Signal::Pass);
}

/// An overload is per model and on `POST /v1/messages` (issue 11): the model list keeps
/// answering, and only the streaming probe of a model sees the storm, once as a 529 before any
/// byte and once as a 200 whose stream ends in an `overloaded_error` event.
#[tokio::test]
async fn an_overload_storm_is_seen_by_the_streaming_probe_with_its_request_id() {
    let sim = sim("overload-storm").await;
    let prober = prober(&sim, key());
    // Before the storm everything passes.
    assert_outcome(
        &prober.reachability(false).await,
        ProbeOutcome::Ok,
        Some(200),
    );
    assert_eq!(
        prober
            .streaming(Some("claude-opus-5-5"), false)
            .await
            .outcome(),
        ProbeOutcome::Ok
    );
    sim.advance(Duration::from_secs(4 * 60));
    // The model list is not a messages request: it keeps answering during the storm.
    for _ in 0..3 {
        assert_outcome(
            &prober.reachability(true).await,
            ProbeOutcome::Ok,
            Some(200),
        );
    }
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let result = prober.streaming(Some("claude-opus-5-5"), true).await;
        assert_eq!(result.kind, ProbeKind::Streaming);
        assert_eq!(result.model.as_deref(), Some("claude-opus-5-5"));
        assert_eq!(result.outcome(), ProbeOutcome::Overloaded, "{result:#?}");
        assert_eq!(
            result.classification.error_type.as_deref(),
            Some("overloaded_error")
        );
        assert!(result
            .classification
            .request_id
            .as_deref()
            .is_some_and(|id| id.starts_with("req_")));
        assert!(result.confirmation);
        assert_eq!(
            HealthConfig::default().signal(&result),
            Signal::Fail(FailureKind::Overloaded)
        );
        statuses.push(result.classification.http_status);
    }
    // Both ways a real stream fails: refused with 529, and a 200 cut by an error event.
    assert!(statuses.contains(&Some(529)), "{statuses:?}");
    assert!(statuses.contains(&Some(200)), "{statuses:?}");
    assert_unauthenticated(&self::prober(&sim, None).reachability(false).await);
    sim.shutdown().await;
}

#[tokio::test]
async fn rate_limited_reads_retry_after_and_the_ratelimit_headers() {
    let (with_key, without_key) = both_ways("rate-limited").await;
    assert_outcome(&with_key, ProbeOutcome::RateLimited, Some(429));
    let c = &with_key.classification;
    assert_eq!(c.retry_after, Some(Duration::from_secs(20)));
    assert_eq!(c.error_type.as_deref(), Some("rate_limit_error"));
    assert!(c.detail.contains("20 s"), "{}", c.detail);
    let requests = with_key.ratelimit.requests.expect("requests bucket");
    assert_eq!(requests.limit, Some(1000));
    assert_eq!(requests.remaining, Some(0));
    let reset = requests.reset.expect("a reset time");
    let wait = reset - Utc::now();
    assert!(
        wait > chrono::Duration::seconds(10) && wait <= chrono::Duration::seconds(21),
        "{wait}"
    );
    assert!(with_key.ratelimit.tokens.is_some());
    assert!(with_key.ratelimit.input_tokens.is_some());
    assert!(with_key.ratelimit.output_tokens.is_some());
    assert_eq!(with_key.ratelimit.retry_after_seconds, Some(20.0));
    // The user's own limit is not Anthropic's trouble.
    assert_eq!(HealthConfig::default().signal(&with_key), Signal::Pass);

    assert_unauthenticated(&without_key);
}

#[tokio::test]
async fn a_spend_cap_lifts_on_the_first_of_next_month() {
    let (with_key, without_key) = both_ways("spend-cap").await;
    assert_outcome(&with_key, ProbeOutcome::SpendCap, Some(429));
    let now = Utc::now();
    let (year, month) = if now.month() == 12 {
        (now.year() + 1, 1)
    } else {
        (now.year(), now.month() + 1)
    };
    let first_of_next_month = Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0).unwrap();
    let c = &with_key.classification;
    assert_eq!(c.retry_not_before, Some(first_of_next_month));
    assert_eq!(c.retry_after, None);
    assert!(
        c.detail
            .contains(&first_of_next_month.format("%Y-%m-%d").to_string()),
        "{}",
        c.detail
    );
    assert_eq!(HealthConfig::default().signal(&with_key), Signal::Pass);
    assert_unauthenticated(&without_key);
}

#[tokio::test]
async fn an_outage_is_a_server_error() {
    let (with_key, without_key) = both_ways("outage").await;
    assert_outcome(&with_key, ProbeOutcome::ServerError, Some(500));
    assert_eq!(
        with_key.classification.error_type.as_deref(),
        Some("api_error")
    );
    assert!(with_key.classification.request_id.is_some());
    assert_eq!(
        HealthConfig::default().signal(&with_key),
        Signal::Fail(FailureKind::ServerError)
    );
    assert_unauthenticated(&without_key);
}

#[tokio::test]
async fn a_gateway_timeout_is_a_server_error() {
    let (with_key, without_key) = both_ways("gateway-timeout").await;
    assert_outcome(&with_key, ProbeOutcome::ServerError, Some(504));
    assert_eq!(
        with_key.classification.error_type.as_deref(),
        Some("timeout_error")
    );
    assert_unauthenticated(&without_key);
}

#[tokio::test]
async fn billing_is_billing() {
    let (with_key, without_key) = both_ways("billing").await;
    assert_outcome(&with_key, ProbeOutcome::Billing, Some(402));
    assert!(with_key
        .classification
        .error_message
        .as_deref()
        .unwrap()
        .contains("credit balance"));
    assert_eq!(HealthConfig::default().signal(&with_key), Signal::Pass);
    assert_unauthenticated(&without_key);
}

#[tokio::test]
async fn a_slow_api_times_out() {
    let sim = Simulator::new("slow")
        .clock(Clock::Manual)
        .slow_api_delay(Duration::from_secs(3))
        .start()
        .await
        .unwrap();
    for api_key in [key(), None] {
        let prober = prober_with(&sim.base_url(), api_key, Duration::from_secs(1));
        let started = std::time::Instant::now();
        let result = prober.reachability(false).await;
        assert_outcome(&result, ProbeOutcome::Timeout, None);
        assert_eq!(result.latency_ms, None);
        assert!(started.elapsed() < Duration::from_millis(2500));
        assert_eq!(
            HealthConfig::default().signal(&result),
            Signal::Fail(FailureKind::Timeout)
        );
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn dropped_connections_are_network_failures() {
    let (with_key, without_key) = both_ways("resets").await;
    for result in [&with_key, &without_key] {
        assert_outcome(result, ProbeOutcome::Network, None);
        assert!(
            result.classification.detail.contains("reset")
                || result.classification.detail.contains("closed"),
            "{}",
            result.classification.detail
        );
    }
}

#[tokio::test]
async fn garbage_answers_are_classified_without_panic() {
    let sim = sim("garbage-api").await;
    let prober = prober(&sim, key());
    // Truncated JSON, HTML and an empty body, all with HTTP 200. An HTML page is something else
    // answering in the API's place (a captive portal): network. Broken JSON or an empty body is
    // the API misbehaving: a server error. None of them is a healthy answer.
    let mut outcomes = std::collections::HashSet::new();
    for _ in 0..3 {
        let result = prober.reachability(false).await;
        assert_eq!(result.classification.http_status, Some(200));
        assert!(!result.classification.detail.is_empty());
        outcomes.insert(result.outcome());
    }
    assert_eq!(
        outcomes,
        [ProbeOutcome::ServerError, ProbeOutcome::Network]
            .into_iter()
            .collect()
    );
    // A stream whose body is not a stream never reaches `message_stop`.
    for _ in 0..3 {
        let result = prober.streaming(None, false).await;
        assert_eq!(result.kind, ProbeKind::Streaming);
        assert_eq!(result.outcome(), ProbeOutcome::Network, "{:#?}", result);
        assert_eq!(result.classification.http_status, Some(200));
        assert_eq!(result.ttft_ms, None);
        assert!(!result.classification.detail.is_empty());
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn nothing_listening_is_a_network_failure() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = format!("http://127.0.0.1:{port}");
    for api_key in [key(), None] {
        let prober = prober_with(&url, api_key.clone(), Duration::from_secs(2));
        let result = prober.reachability(false).await;
        assert_outcome(&result, ProbeOutcome::Network, None);
        assert!(
            result.classification.detail.contains("refused"),
            "{}",
            result.classification.detail
        );
        if api_key.is_some() {
            let result = prober.streaming(None, false).await;
            assert_eq!(result.outcome(), ProbeOutcome::Network);
            assert_eq!(result.classification.http_status, None);
        }
    }
}

#[tokio::test]
async fn a_healthy_stream_measures_its_first_token() {
    let sim = sim("healthy").await;
    let result = prober(&sim, key())
        .probe(ProbeKind::Streaming, None, false)
        .await;
    assert_eq!(result.kind, ProbeKind::Streaming);
    assert_eq!(result.outcome(), ProbeOutcome::Ok, "{:#?}", result);
    assert_eq!(result.classification.http_status, Some(200));
    let message_start = result.message_start_ms.expect("message_start seen");
    let ttft = result.ttft_ms.expect("first token seen");
    assert!(message_start <= ttft, "{message_start} > {ttft}");
    assert!(result.latency_ms.unwrap() <= message_start);
    let usage = result.usage.as_ref().expect("usage");
    assert!(usage.input_tokens > 0, "{usage:?}");
    assert!(result.classification.request_id.is_some());
    assert!(!result.ratelimit.is_empty());
    assert!(
        result.classification.detail.contains("first token"),
        "{}",
        result.classification.detail
    );
    assert_eq!(HealthConfig::default().signal(&result), Signal::Pass);
    sim.shutdown().await;
}

#[tokio::test]
async fn an_overloaded_stream_keeps_its_http_200() {
    let sim = sim("stream-overload").await;
    let prober = prober(&sim, key());
    let result = prober.streaming(None, false).await;
    assert_eq!(result.outcome(), ProbeOutcome::Overloaded, "{:#?}", result);
    assert_eq!(result.classification.http_status, Some(200));
    assert_eq!(
        result.classification.error_type.as_deref(),
        Some("overloaded_error")
    );
    assert!(result.classification.request_id.is_some());
    assert!(result.message_start_ms.is_some());
    assert_eq!(result.ttft_ms, None);
    assert_eq!(
        HealthConfig::default().signal(&result),
        Signal::Fail(FailureKind::Overloaded)
    );
    // Only streams fail in this scenario.
    assert_outcome(
        &prober.reachability(false).await,
        ProbeOutcome::Ok,
        Some(200),
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_slow_first_token_is_measured_and_counts_as_slow() {
    let sim = Simulator::new("slow")
        .clock(Clock::Manual)
        .slow_api_delay(Duration::from_millis(1500))
        .start()
        .await
        .unwrap();
    let prober = prober_with(&sim.base_url(), key(), Duration::from_secs(5));
    let result = prober.streaming(None, false).await;
    assert_eq!(result.outcome(), ProbeOutcome::Ok, "{:#?}", result);
    let ttft = result.ttft_ms.expect("first token seen");
    assert!(ttft >= 1500, "ttft {ttft} ms");
    // Headers come at once; the wait is for the first token.
    assert!(result.latency_ms.unwrap() < 1500, "{:?}", result.latency_ms);

    // 1.5 s is within the default 3 s threshold, and over a 1 s one.
    assert_eq!(HealthConfig::default().signal(&result), Signal::Pass);
    let strict = HealthConfig {
        ttft_threshold: Duration::from_secs(1),
        ..HealthConfig::default()
    };
    assert_eq!(
        strict.signal(&result),
        Signal::Fail(FailureKind::SlowFirstToken)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_stream_that_stalls_past_the_timeout_is_a_timeout() {
    // Regression: a stream cut off by our own deadline after its headers read as a reset
    // connection ("network"), which blames the user's network for a slow API.
    let sim = Simulator::new("slow")
        .clock(Clock::Manual)
        .slow_api_delay(Duration::from_secs(3))
        .start()
        .await
        .unwrap();
    let prober = prober_with(&sim.base_url(), key(), Duration::from_secs(1));
    let started = std::time::Instant::now();
    let result = prober.streaming(None, false).await;
    assert!(started.elapsed() < Duration::from_millis(2500));
    assert_eq!(result.outcome(), ProbeOutcome::Timeout, "{:#?}", result);
    // The headers and `message_start` did arrive.
    assert_eq!(result.classification.http_status, Some(200));
    assert!(result.classification.request_id.is_some());
    assert!(result.message_start_ms.is_some());
    assert_eq!(result.ttft_ms, None);
    assert_eq!(
        HealthConfig::default().signal(&result),
        Signal::Fail(FailureKind::Timeout)
    );
    sim.shutdown().await;
}
