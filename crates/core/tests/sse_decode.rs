//! The typed decoder on top of the event-stream parser: Anthropic's event types, cumulative usage,
//! the timings of a streaming probe, and errors that arrive after the HTTP 200.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use std::path::PathBuf;
use std::time::Duration;

use claude_status_core::probe::ProbeOutcome;
use claude_status_core::sse::{
    classify_stream_error, SseError, SseEvent, SseParser, StreamEvent, StreamTimings, Usage,
    UsageDelta,
};

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/anthropic")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn decode_stream(stream: &[u8]) -> Vec<StreamEvent> {
    let mut parser = SseParser::new();
    let mut raw = parser.push(stream).unwrap();
    raw.extend(parser.finish().unwrap());
    raw.iter()
        .map(|event| StreamEvent::decode(event).unwrap())
        .collect()
}

fn raw(event: Option<&str>, data: &str) -> SseEvent {
    SseEvent {
        event: event.map(str::to_owned),
        data: data.to_owned(),
    }
}

fn check_decode(event: Option<&str>, data: &str, expected: Result<StreamEvent, SseError>) {
    assert_eq!(
        StreamEvent::decode(&raw(event, data)),
        expected,
        "{event:?} {data}"
    );
}

#[test]
fn the_basic_fixture_decodes() {
    let events = decode_stream(&fixture("sse-basic-HANDMADE.txt"));
    assert_eq!(
        events,
        vec![
            StreamEvent::MessageStart {
                id: "msg_4QpJur2dWWDjF6C758FbBw5vm12BaVipnK".into(),
                model: "claude-3-opus-latest".into(),
                usage: Usage {
                    input_tokens: 11,
                    output_tokens: 1,
                    ..Usage::default()
                },
            },
            StreamEvent::ContentBlockStart { index: 0 },
            StreamEvent::Ping,
            StreamEvent::ContentBlockDelta { index: 0 },
            StreamEvent::ContentBlockDelta { index: 0 },
            StreamEvent::ContentBlockDelta { index: 0 },
            StreamEvent::ContentBlockStop { index: 0 },
            StreamEvent::MessageDelta {
                stop_reason: Some("end_turn".into()),
                usage: UsageDelta {
                    output_tokens: Some(6),
                    ..UsageDelta::default()
                },
            },
            StreamEvent::MessageStop,
        ]
    );
}

/// Feeds a decoded stream into `StreamTimings`, one event per 100 ms.
fn timings_of(events: &[StreamEvent]) -> StreamTimings {
    let mut timings = StreamTimings::new();
    for (step, event) in (1u64..).zip(events) {
        timings.observe(event, Duration::from_millis(100 * step));
    }
    timings
}

#[test]
fn timings_of_the_fixture_streams() {
    let basic = timings_of(&decode_stream(&fixture("sse-basic-HANDMADE.txt")));
    assert_eq!(
        basic,
        StreamTimings {
            message_id: Some("msg_4QpJur2dWWDjF6C758FbBw5vm12BaVipnK".into()),
            model: Some("claude-3-opus-latest".into()),
            message_start_at: Some(Duration::from_millis(100)),
            // message_start, content_block_start and ping come first.
            first_delta_at: Some(Duration::from_millis(400)),
            message_stop_at: Some(Duration::from_millis(900)),
            usage: Usage {
                input_tokens: 11,
                output_tokens: 6,
                ..Usage::default()
            },
            stop_reason: Some("end_turn".into()),
            stream_error: None,
        }
    );
    assert!(basic.is_complete());
    assert_eq!(basic.error_classification(None), None);

    let tool_use = timings_of(&decode_stream(&fixture("sse-tool-use.txt")));
    assert_eq!(tool_use.model.as_deref(), Some("claude-sonnet-4-20250514"));
    assert_eq!(tool_use.first_delta_at, Some(Duration::from_millis(400)));
    assert_eq!(tool_use.message_stop_at, Some(Duration::from_millis(1500)));
    assert_eq!(tool_use.stop_reason.as_deref(), Some("tool_use"));
    // message_start's input and cache counts survive message_delta, which only carries output.
    assert_eq!(
        tool_use.usage,
        Usage {
            input_tokens: 377,
            output_tokens: 65,
            service_tier: Some("standard".into()),
            ..Usage::default()
        }
    );
    assert!(tool_use.is_complete());
}

#[test]
fn an_overload_after_http_200() {
    // The shape B5 documents for an error inside a stream.
    let stream = concat!(
        "event: message_start\n",
        r#"data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","usage":{"input_tokens":9,"output_tokens":1}}}"#,
        "\n\n",
        "event: error\n",
        r#"data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        "\n\n",
    );
    let timings = timings_of(&decode_stream(stream.as_bytes()));
    assert_eq!(
        timings.stream_error,
        Some(("overloaded_error".into(), "Overloaded".into()))
    );
    assert!(!timings.is_complete());
    assert_eq!(timings.first_delta_at, None);
    let classification = timings
        .error_classification(Some("req_stream".into()))
        .unwrap();
    assert_eq!(classification.outcome, ProbeOutcome::Overloaded);
    assert_eq!(classification.http_status, Some(200));
    assert_eq!(classification.request_id.as_deref(), Some("req_stream"));
    assert_eq!(
        classification.detail,
        "The stream failed after HTTP 200 with `overloaded_error`: Overloaded."
    );
}

#[test]
fn stream_errors_classify_like_http_errors() {
    let check = |error_type: &str, message: &str, expected: ProbeOutcome| {
        let classification = classify_stream_error(error_type, message, None);
        assert_eq!(classification.outcome, expected, "{error_type}");
        assert_eq!(
            classification.error_type.as_deref(),
            Some(error_type).filter(|t| !t.is_empty())
        );
    };
    check("overloaded_error", "Overloaded", ProbeOutcome::Overloaded);
    check(
        "api_error",
        "Internal server error",
        ProbeOutcome::ServerError,
    );
    check(
        "timeout_error",
        "Request timed out",
        ProbeOutcome::ServerError,
    );
    check("rate_limit_error", "slow down", ProbeOutcome::RateLimited);
    check("billing_error", "pay", ProbeOutcome::Billing);
    check("authentication_error", "bad key", ProbeOutcome::Auth);
    check("permission_error", "no", ProbeOutcome::Permission);
    check("not_found_error", "no model", ProbeOutcome::NotFound);
    check("invalid_request_error", "bad", ProbeOutcome::InvalidRequest);
    check(
        "invalid_request_error",
        "Your credit balance is too low to access the Anthropic API.",
        ProbeOutcome::Billing,
    );
    // A type this app has never seen: the server broke off a stream it had accepted.
    check("brand_new_error", "?", ProbeOutcome::ServerError);
    check("", "", ProbeOutcome::ServerError);
}

#[test]
fn decoding_each_event_type() {
    check_decode(
        Some("content_block_delta"),
        r#"{"type":"content_block_delta","index":2,"delta":{"type":"thinking_delta","thinking":"hm"}}"#,
        Ok(StreamEvent::ContentBlockDelta { index: 2 }),
    );
    check_decode(
        Some("content_block_delta"),
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"citations_delta"}}"#,
        Ok(StreamEvent::ContentBlockDelta { index: 0 }),
    );
    // Without an `event:` line the data's `type` names the event.
    check_decode(
        None,
        r#"{"type":"content_block_stop","index":1}"#,
        Ok(StreamEvent::ContentBlockStop { index: 1 }),
    );
    check_decode(None, r#"{"type":"ping"}"#, Ok(StreamEvent::Ping));
    // Unknown names are not errors, whatever their data.
    check_decode(
        Some("future_event"),
        "not json",
        Ok(StreamEvent::Unknown("future_event".into())),
    );
    check_decode(None, "not json", Ok(StreamEvent::Unknown(String::new())));
    check_decode(Some("ping"), "", Ok(StreamEvent::Ping));
    check_decode(Some("message_stop"), "", Ok(StreamEvent::MessageStop));
    // A message_delta with nulls and extra fields (2026 adds stop_details, server_tool_use).
    check_decode(
        Some("message_delta"),
        r#"{"type":"message_delta","delta":{"stop_reason":"refusal","stop_sequence":null,"stop_details":{}},"usage":{"input_tokens":null,"output_tokens":12,"cache_read_input_tokens":40,"server_tool_use":{"web_search_requests":1}}}"#,
        Ok(StreamEvent::MessageDelta {
            stop_reason: Some("refusal".into()),
            usage: UsageDelta {
                output_tokens: Some(12),
                cache_read_input_tokens: Some(40),
                ..UsageDelta::default()
            },
        }),
    );
    // An error event whose data is unreadable is still an error.
    check_decode(
        Some("error"),
        "Overloaded",
        Ok(StreamEvent::Error {
            error_type: String::new(),
            message: "Overloaded".into(),
        }),
    );
}

#[test]
fn malformed_known_events_are_errors() {
    let malformed = |event: &str, reason: &str| {
        Err(SseError::MalformedEvent {
            event: event.into(),
            reason: reason.into(),
        })
    };
    check_decode(
        Some("content_block_delta"),
        r#"{"type":"content_block_delta"}"#,
        malformed("content_block_delta", "no `index`"),
    );
    check_decode(
        Some("message_start"),
        r#"{"type":"message_start"}"#,
        malformed("message_start", "no `message`"),
    );
    check_decode(
        Some("message_start"),
        r#"{"type":"message_start","message":{"model":"m"}}"#,
        malformed("message_start", "no `message.id`"),
    );
    assert!(matches!(
        StreamEvent::decode(&raw(Some("message_delta"), "{trunc")),
        Err(SseError::MalformedEvent { .. })
    ));
}

#[test]
fn usage_with_the_cache_breakdown() {
    // The 2025-08 shape (fixture messages-recorded-2025-08-21), with non-zero cache counts.
    let usage = serde_json::json!({
        "input_tokens": 16,
        "cache_creation_input_tokens": 300,
        "cache_read_input_tokens": 1200,
        "cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 200},
        "output_tokens": 24,
        "service_tier": "priority",
        "inference_geo": "global"
    });
    let usage = Usage::from_api(&usage);
    assert_eq!(
        usage,
        Usage {
            input_tokens: 16,
            output_tokens: 24,
            cache_creation_input_tokens: 300,
            cache_read_input_tokens: 1200,
            cache_creation_5m: 100,
            cache_creation_1h: 200,
            service_tier: Some("priority".into()),
        }
    );
    assert_eq!(usage.total_input_tokens(), 1516);
}

#[test]
fn merging_cumulative_usage() {
    let start = Usage {
        input_tokens: 377,
        output_tokens: 1,
        cache_creation_input_tokens: 10,
        cache_read_input_tokens: 20,
        cache_creation_5m: 4,
        cache_creation_1h: 6,
        service_tier: Some("standard".into()),
    };
    let check = |delta: serde_json::Value, expected: Usage| {
        let mut usage = start.clone();
        usage.merge_cumulative(&UsageDelta::from_api(&delta));
        assert_eq!(usage, expected, "{delta}");
    };
    // Output only: everything else stays.
    check(
        serde_json::json!({"output_tokens": 65}),
        Usage {
            output_tokens: 65,
            ..start.clone()
        },
    );
    // Present fields replace, even with a smaller value and even with zero: they are totals.
    check(
        serde_json::json!({"input_tokens": 0, "output_tokens": 70, "cache_creation": {"ephemeral_1h_input_tokens": 9}}),
        Usage {
            input_tokens: 0,
            output_tokens: 70,
            cache_creation_1h: 9,
            ..start.clone()
        },
    );
    // Nulls and unknown fields change nothing.
    check(
        serde_json::json!({"input_tokens": null, "service_tier": null, "output_tokens_details": {"thinking_tokens": 5}}),
        start.clone(),
    );
    check(serde_json::json!({}), start.clone());
}

#[test]
fn timings_keep_the_first_occurrence() {
    let mut timings = StreamTimings::new();
    let delta = StreamEvent::ContentBlockDelta { index: 0 };
    timings.observe(&delta, Duration::from_millis(300));
    timings.observe(&delta, Duration::from_millis(500));
    let error = |kind: &str| StreamEvent::Error {
        error_type: kind.into(),
        message: String::new(),
    };
    timings.observe(&error("overloaded_error"), Duration::from_millis(600));
    timings.observe(&error("api_error"), Duration::from_millis(700));
    timings.observe(&StreamEvent::MessageStop, Duration::from_millis(800));
    assert_eq!(timings.first_delta_at, Some(Duration::from_millis(300)));
    assert_eq!(
        timings.stream_error,
        Some(("overloaded_error".into(), String::new()))
    );
    // A stop after an error does not make the stream complete.
    assert!(!timings.is_complete());
}
