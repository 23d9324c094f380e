//! The Messages ⇄ Chat Completions translation, table by table, from real recorded payloads:
//! the Chat side from `tests/fixtures/translate/` (see its SOURCES.md), the Messages side from
//! `../shared/fixtures/anthropic/` and api-facts. Every refusal has a row; every hostile upstream
//! answer must give a well-formed Anthropic error.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use claude_status_core::sse::{SseEvent, SseParser};
use claude_status_core::translate::{
    chat_to_messages, map_provider_error, messages_to_chat, AnthropicError, ChatUsage, Dialect,
    Refusal, RequestContext, StreamTranslator,
};
use proptest::prelude::*;
use serde_json::{json, Value};

const OPENAI_TEXT: &str = include_str!("fixtures/translate/openai-text.json");
const OPENAI_PARALLEL_TOOLS: &str =
    include_str!("fixtures/translate/openai-parallel-tool-calls.json");
const OPENAI_REFUSAL: &str = include_str!("fixtures/translate/openai-refusal.json");
const OPENAI_LENGTH: &str = include_str!("fixtures/translate/openai-length.json");
const OPENAI_ERROR_429: &str = include_str!("fixtures/translate/openai-error-429.json");
const GEMINI_ERROR_400: &str = include_str!("fixtures/translate/gemini-error-400-array.json");
const STREAM_TEXT: &str = include_str!("fixtures/translate/openai-stream-text.sse");
const STREAM_TOOL: &str = include_str!("fixtures/translate/openai-stream-tool-call.sse");
const STREAM_PARALLEL: &str =
    include_str!("fixtures/translate/openai-stream-parallel-tool-calls.sse");
const STREAM_REFUSAL: &str = include_str!("fixtures/translate/openai-stream-refusal.sse");
const GEMINI_STREAM_TEXT: &str = include_str!("fixtures/translate/gemini-stream-text.sse");
const GEMINI_STREAM_TOOL: &str = include_str!("fixtures/translate/gemini-stream-tool-call.sse");
const ANTHROPIC_SSE_TOOL: &str =
    include_str!("../../../../shared/fixtures/anthropic/sse-tool-use.txt");
const ANTHROPIC_EXCHANGE: &str =
    include_str!("../../../../shared/fixtures/anthropic/messages-recorded-exchange-usage.json");

const ALL_STREAMS: [&str; 6] = [
    STREAM_TEXT,
    STREAM_TOOL,
    STREAM_PARALLEL,
    STREAM_REFUSAL,
    GEMINI_STREAM_TEXT,
    GEMINI_STREAM_TOOL,
];

const MODEL: &str = "claude-sonnet-4-20250514";
const MESSAGE_ID: &str = "msg_fb01";
const TARGET: &str = "openai:gpt-4o";

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

fn ctx(dialect: Dialect) -> RequestContext<'static> {
    RequestContext {
        target_model: "gpt-4o",
        dialect,
        beta_header: false,
    }
}

fn translate(request: &Value, dialect: Dialect) -> Result<(Value, bool), Refusal> {
    let body = serde_json::to_vec(request).unwrap();
    messages_to_chat(&body, &ctx(dialect))
        .map(|chat| (serde_json::from_slice(&chat.body).unwrap(), chat.stream))
}

#[track_caller]
fn check_request(request: Value, dialect: Dialect, expected: Value) {
    let (chat, _) = translate(&request, dialect).unwrap_or_else(|refusal| panic!("{refusal}"));
    assert_eq!(chat, expected, "request: {request}");
}

/// The tool conversation of `sse-tool-use.txt` (get_weather for Paris), as the client sends it
/// back with the tool's answer.
fn weather_conversation() -> Value {
    json!({
        "model": MODEL,
        "max_tokens": 1024,
        "tools": [{
            "name": "get_weather",
            "description": "Get the weather at a specific location",
            "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}
        }],
        "messages": [
            {"role": "user", "content": "What's the weather in Paris?"},
            {"role": "assistant", "content": [
                {"type": "text", "text": "I'll check the current weather in Paris for you."},
                {"type": "tool_use", "id": "toolu_01NRLabsLyVHZPKxbKvkfSMn", "name": "get_weather", "input": {"location": "Paris"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01NRLabsLyVHZPKxbKvkfSMn", "content": "18°C, cloudy"},
                {"type": "text", "text": "And should I bring an umbrella?"}
            ]}
        ]
    })
}

#[test]
fn request_plain_fields_per_dialect() {
    let request = json!({
        "model": MODEL,
        "max_tokens": 256,
        "system": "You are terse.",
        "messages": [{"role": "user", "content": "Hello"}],
        "temperature": 0.5,
        "top_p": 0.9,
        "stop_sequences": ["END"],
        "metadata": {"user_id": "user-42"},
        "service_tier": "auto",
        "thinking": {"type": "disabled"}
    });
    let messages = json!([
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Hello"}
    ]);
    let table = [
        (
            Dialect::OpenAi,
            json!({"model": "gpt-4o", "messages": messages, "max_completion_tokens": 256,
                   "temperature": 0.5, "top_p": 0.9, "stop": ["END"], "user": "user-42"}),
        ),
        (
            Dialect::Gemini,
            json!({"model": "gpt-4o", "messages": messages, "max_tokens": 256,
                   "temperature": 0.5, "top_p": 0.9, "stop": ["END"]}),
        ),
        (
            Dialect::Compatible,
            json!({"model": "gpt-4o", "messages": messages, "max_tokens": 256,
                   "temperature": 0.5, "top_p": 0.9, "stop": ["END"], "user": "user-42"}),
        ),
    ];
    for (dialect, expected) in table {
        check_request(request.clone(), dialect, expected);
    }
}

#[test]
fn request_stream_asks_for_usage() {
    let request = json!({"model": MODEL, "max_tokens": 10, "stream": true,
                         "messages": [{"role": "user", "content": "Hi"}]});
    let (chat, stream) = translate(&request, Dialect::OpenAi).unwrap();
    assert!(stream);
    assert_eq!(chat["stream"], json!(true));
    assert_eq!(chat["stream_options"], json!({"include_usage": true}));
    let request = json!({"model": MODEL, "max_tokens": 10, "stream": false,
                         "messages": [{"role": "user", "content": "Hi"}]});
    let (chat, stream) = translate(&request, Dialect::OpenAi).unwrap();
    assert!(!stream);
    assert!(chat.get("stream").is_none() && chat.get("stream_options").is_none());
}

#[test]
fn request_system_blocks_join_into_one_message() {
    let request = json!({"model": MODEL, "max_tokens": 10,
        "system": [{"type": "text", "text": "Rule one."}, {"type": "text", "text": "Rule two."}],
        "messages": [{"role": "user", "content": "Hi"}]});
    let (chat, _) = translate(&request, Dialect::OpenAi).unwrap();
    assert_eq!(
        chat["messages"][0],
        json!({"role": "system", "content": "Rule one.\nRule two."})
    );
    // An empty system prompt sends no system message.
    let request = json!({"model": MODEL, "max_tokens": 10, "system": "",
        "messages": [{"role": "user", "content": "Hi"}]});
    let (chat, _) = translate(&request, Dialect::OpenAi).unwrap();
    assert_eq!(chat["messages"], json!([{"role": "user", "content": "Hi"}]));
}

#[test]
fn request_user_blocks() {
    let table = [
        // One text block becomes a plain string.
        (
            json!([{"type": "text", "text": "Hi"}]),
            json!([{"role": "user", "content": "Hi"}]),
        ),
        (
            json!([
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
                {"type": "text", "text": "What is this?"}
            ]),
            json!([{"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                {"type": "text", "text": "What is this?"}
            ]}]),
        ),
        (
            json!([{"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}]),
            json!([{"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}
            ]}]),
        ),
        // Tool results come first, as `tool` messages; a tool_result's text blocks are joined.
        (
            json!([
                {"type": "text", "text": "Here you go."},
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": [
                    {"type": "text", "text": "line 1"}, {"type": "text", "text": "line 2"}
                ]},
                {"type": "tool_result", "tool_use_id": "toolu_2"}
            ]),
            json!([
                {"role": "tool", "tool_call_id": "toolu_1", "content": "line 1\nline 2"},
                {"role": "tool", "tool_call_id": "toolu_2", "content": ""},
                {"role": "user", "content": "Here you go."}
            ]),
        ),
    ];
    for (content, expected) in table {
        let request = json!({"model": MODEL, "max_tokens": 10,
                             "messages": [{"role": "user", "content": content}]});
        let (chat, _) = translate(&request, Dialect::OpenAi).unwrap();
        assert_eq!(chat["messages"], expected, "content: {content}");
    }
}

#[test]
fn request_tool_conversation_from_the_recorded_stream() {
    let (chat, _) = translate(&weather_conversation(), Dialect::OpenAi).unwrap();
    assert_eq!(
        chat,
        json!({
            "model": "gpt-4o",
            "max_completion_tokens": 1024,
            "tools": [{"type": "function", "function": {
                "name": "get_weather",
                "description": "Get the weather at a specific location",
                "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}
            }}],
            "messages": [
                {"role": "user", "content": "What's the weather in Paris?"},
                {"role": "assistant", "content": "I'll check the current weather in Paris for you.",
                 "tool_calls": [{"id": "toolu_01NRLabsLyVHZPKxbKvkfSMn", "type": "function",
                                 "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris\"}"}}]},
                {"role": "tool", "tool_call_id": "toolu_01NRLabsLyVHZPKxbKvkfSMn", "content": "18°C, cloudy"},
                {"role": "user", "content": "And should I bring an umbrella?"}
            ]
        })
    );
}

#[test]
fn request_assistant_that_only_calls_tools_has_null_content() {
    let mut request = weather_conversation();
    request["messages"][1]["content"] = json!([
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}
    ]);
    let (chat, _) = translate(&request, Dialect::OpenAi).unwrap();
    assert_eq!(chat["messages"][1]["content"], Value::Null);
    assert_eq!(
        chat["messages"][1]["tool_calls"][0]["function"]["arguments"],
        json!("{}")
    );
}

#[test]
fn request_tool_choice() {
    let function_choice = json!({"type": "function", "function": {"name": "get_weather"}});
    let table = [
        (json!({"type": "auto"}), json!("auto"), None),
        (json!({"type": "any"}), json!("required"), None),
        (json!({"type": "none"}), json!("none"), None),
        (
            json!({"type": "tool", "name": "get_weather"}),
            function_choice.clone(),
            None,
        ),
        (
            json!({"type": "tool", "name": "get_weather", "disable_parallel_tool_use": true}),
            function_choice,
            Some(json!(false)),
        ),
        (
            json!({"type": "auto", "disable_parallel_tool_use": false}),
            json!("auto"),
            None,
        ),
    ];
    for (choice, expected, parallel) in table {
        let mut request = weather_conversation();
        request["tool_choice"] = choice.clone();
        let (chat, _) = translate(&request, Dialect::OpenAi).unwrap();
        assert_eq!(chat["tool_choice"], expected, "choice: {choice}");
        assert_eq!(
            chat.get("parallel_tool_calls").cloned(),
            parallel,
            "choice: {choice}"
        );
    }
    // Without tools, "auto" and "none" are dropped (Chat rejects a choice without tools).
    let request = json!({"model": MODEL, "max_tokens": 10, "tool_choice": {"type": "auto"},
                         "messages": [{"role": "user", "content": "Hi"}]});
    let (chat, _) = translate(&request, Dialect::OpenAi).unwrap();
    assert!(chat.get("tool_choice").is_none());
}

#[test]
fn request_custom_typed_tool_is_a_function() {
    let mut request = weather_conversation();
    request["tools"][0]["type"] = json!("custom");
    let (chat, _) = translate(&request, Dialect::Gemini).unwrap();
    assert_eq!(chat["tools"][0]["type"], json!("function"));
    assert_eq!(chat["tools"][0]["function"]["name"], json!("get_weather"));
}

fn untranslatable(what: &str) -> Refusal {
    Refusal::Untranslatable {
        what: what.to_owned(),
    }
}

#[test]
fn request_refusals() {
    let user = |content: Value| json!({"model": MODEL, "max_tokens": 10, "messages": [{"role": "user", "content": content}]});
    let with = |field: &str, value: Value| {
        let mut request = user(json!("Hi"));
        request[field] = value;
        request
    };
    let with_tool = |tool: Value| with("tools", json!([tool]));
    let assistant = |content: Value| {
        json!({"model": MODEL, "max_tokens": 10, "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": content},
            {"role": "user", "content": "Go on"}
        ]})
    };
    let image = json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}});
    let table: Vec<(Value, &str)> = vec![
        (
            with(
                "thinking",
                json!({"type": "enabled", "budget_tokens": 2048}),
            ),
            "extended thinking (`thinking`)",
        ),
        (
            with("thinking", json!({"type": "adaptive"})),
            "extended thinking (`thinking`)",
        ),
        (with("top_k", json!(5)), "`top_k`"),
        (
            with("container", json!("container_1")),
            "unknown field `container`",
        ),
        (
            with("mcp_servers", json!([])),
            "unknown field `mcp_servers`",
        ),
        (
            with("context_management", json!({})),
            "unknown field `context_management`",
        ),
        (
            with("stop_sequences", json!(["a", "b", "c", "d", "e"])),
            "more than 4 stop sequences",
        ),
        (
            with(
                "system",
                json!([{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}]),
            ),
            "`cache_control` on a system block",
        ),
        (
            with(
                "system",
                json!([{"type": "text", "text": "Be brief.", "citations": [{"type": "char_location"}]}]),
            ),
            "citations",
        ),
        (
            user(
                json!([{"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "x"}}]),
            ),
            "a `document` block",
        ),
        (
            user(json!([{"type": "search_result", "source": "s", "title": "t", "content": []}])),
            "a `search_result` block",
        ),
        (
            user(json!([{"type": "container_upload", "file_id": "f"}])),
            "a `container_upload` block",
        ),
        (
            user(json!([{"type": "text", "text": "Hi", "cache_control": {"type": "ephemeral"}}])),
            "`cache_control` on a content block",
        ),
        (
            user(
                json!([{"type": "text", "text": "Hi", "citations": [{"type": "char_location", "cited_text": "x"}]}]),
            ),
            "citations",
        ),
        (
            user(json!([{"type": "image", "source": {"type": "file", "file_id": "file_1"}}])),
            "an image from the Files API (`source.type` `file`)",
        ),
        (
            user(json!([{"type": "tool_result", "tool_use_id": "t", "content": [image]}])),
            "an image inside a tool_result",
        ),
        (
            user(
                json!([{"type": "tool_result", "tool_use_id": "t", "content": "boom", "is_error": true}]),
            ),
            "`is_error` on a tool_result",
        ),
        (
            user(
                json!([{"type": "tool_result", "tool_use_id": "t", "content": [{"type": "document", "source": {}}]}]),
            ),
            "a `document` block inside a tool_result",
        ),
        (
            json!({"model": MODEL, "max_tokens": 10, "messages": [
                {"role": "user", "content": "Say hi"}, {"role": "assistant", "content": "Hi, I am"}
            ]}),
            "assistant prefill (the last message is the assistant's)",
        ),
        (
            assistant(
                json!([{"type": "thinking", "thinking": "hmm", "signature": "sig"}, {"type": "text", "text": "Hi"}]),
            ),
            "extended thinking (a `thinking` block)",
        ),
        (
            assistant(
                json!([{"type": "redacted_thinking", "data": "xyz"}, {"type": "text", "text": "Hi"}]),
            ),
            "extended thinking (a `redacted_thinking` block)",
        ),
        (
            assistant(
                json!([{"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}]),
            ),
            "server tool (a `server_tool_use` block)",
        ),
        (
            assistant(
                json!([{"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []}]),
            ),
            "server tool (a `web_search_tool_result` block)",
        ),
        (
            assistant(
                json!([{"type": "tool_use", "id": "t", "name": "n", "input": {}, "cache_control": {"type": "ephemeral"}}]),
            ),
            "`cache_control` on a content block",
        ),
        (
            with_tool(json!({"type": "web_search_20250305", "name": "web_search", "max_uses": 5})),
            "server tool `web_search_20250305`",
        ),
        (
            with_tool(json!({"type": "bash_20250124", "name": "bash"})),
            "server tool `bash_20250124`",
        ),
        (
            with_tool(
                json!({"type": "text_editor_20250728", "name": "str_replace_based_edit_tool"}),
            ),
            "server tool `text_editor_20250728`",
        ),
        (
            with_tool(
                json!({"name": "f", "input_schema": {"type": "object"}, "cache_control": {"type": "ephemeral"}}),
            ),
            "`cache_control` on a tool",
        ),
        (
            with_tool(json!({"name": "f", "input_schema": {"type": "object"}, "strict": true})),
            "unknown tool field `strict`",
        ),
    ];
    for (request, what) in table {
        assert_eq!(
            translate(&request, Dialect::OpenAi),
            Err(untranslatable(what)),
            "request: {request}"
        );
    }
}

#[test]
fn request_refusal_of_the_recorded_structured_output_request() {
    // A real request from the Python SDK's `messages.parse` (output_config with a JSON schema).
    let exchange: Value = serde_json::from_str(ANTHROPIC_EXCHANGE).unwrap();
    let request = &exchange[0]["request"]["body"];
    assert!(request.get("output_config").is_some());
    assert_eq!(
        translate(request, Dialect::OpenAi),
        Err(untranslatable("unknown field `output_config`"))
    );
    // Without it, the same request translates.
    let mut request = request.clone();
    request.as_object_mut().unwrap().remove("output_config");
    let (chat, _) = translate(&request, Dialect::OpenAi).unwrap();
    assert_eq!(chat["max_completion_tokens"], json!(1024));
}

#[test]
fn request_beta_header_is_refused() {
    let body = serde_json::to_vec(&weather_conversation()).unwrap();
    let context = RequestContext {
        beta_header: true,
        ..ctx(Dialect::OpenAi)
    };
    assert_eq!(
        messages_to_chat(&body, &context),
        Err(untranslatable("beta header `anthropic-beta`"))
    );
}

#[test]
fn request_invalid_bodies() {
    let table: Vec<&[u8]> = vec![
        b"",
        b"not json",
        b"[1, 2]",
        br#"{"model": "m", "max_tokens": 10}"#,
        br#"{"model": "m", "max_tokens": 10, "messages": []}"#,
        br#"{"model": "m", "messages": [{"role": "user", "content": "Hi"}]}"#,
        br#"{"model": "m", "max_tokens": -1, "messages": [{"role": "user", "content": "Hi"}]}"#,
        br#"{"model": "m", "max_tokens": 10, "messages": [{"role": "system", "content": "Hi"}]}"#,
        br#"{"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": []}]}"#,
        br#"{"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": 7}]}"#,
        br#"{"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "base64"}}]}]}"#,
        br#"{"model": "m", "max_tokens": 10, "tool_choice": {"type": "any"}, "messages": [{"role": "user", "content": "Hi"}]}"#,
    ];
    for body in table {
        let result = messages_to_chat(body, &ctx(Dialect::OpenAi));
        assert!(
            matches!(result, Err(Refusal::Invalid { .. })),
            "{}: {result:?}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn refusal_reason_is_one_sentence() {
    assert_eq!(
        untranslatable("extended thinking (`thinking`)").reason(),
        "not translated: extended thinking (`thinking`) cannot be sent to another provider"
    );
    let invalid = Refusal::Invalid {
        why: "no `messages` array".into(),
    };
    assert_eq!(invalid.to_string(), invalid.reason());
    assert!(invalid.reason().starts_with("not translated: "));
}

#[test]
fn request_with_a_big_image_is_cheap() {
    // Base64 images can be megabytes; translation moves them rather than copying them around.
    let data = "A".repeat(4 * 1024 * 1024);
    let request = json!({"model": MODEL, "max_tokens": 10, "messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": data}},
        {"type": "text", "text": "Describe."}
    ]}]});
    let body = serde_json::to_vec(&request).unwrap();
    let chat = messages_to_chat(&body, &ctx(Dialect::OpenAi)).unwrap();
    assert!(chat.body.len() > data.len());
}

// ---------------------------------------------------------------------------------------------
// Non-streaming answers
// ---------------------------------------------------------------------------------------------

fn answer(body: &str) -> Result<Value, AnthropicError> {
    chat_to_messages(body.as_bytes(), MODEL, MESSAGE_ID, TARGET)
        .map(|translated| serde_json::from_slice(&translated.body).unwrap())
}

#[test]
fn answer_text() {
    let translated = chat_to_messages(OPENAI_TEXT.as_bytes(), MODEL, MESSAGE_ID, TARGET).unwrap();
    assert_eq!(translated.stop_reason, "end_turn");
    assert_eq!(
        translated.usage,
        ChatUsage {
            input_tokens: 14,
            output_tokens: 37,
            cache_read_tokens: 0
        }
    );
    let body: Value = serde_json::from_slice(&translated.body).unwrap();
    assert_eq!(
        body,
        json!({
            "id": MESSAGE_ID,
            "type": "message",
            "role": "assistant",
            "model": MODEL,
            "content": [{"type": "text", "text": "I'm unable to provide real-time weather updates. To get the current weather in San Francisco, I recommend checking a reliable weather website or app like the Weather Channel or a local news station."}],
            "stop_reason": "end_turn",
            "stop_sequence": null,
            "usage": {"input_tokens": 14, "output_tokens": 37, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        })
    );
    // The field order is the API's, for clients that compare bytes or log raw bodies.
    let text = String::from_utf8(translated.body).unwrap();
    assert!(text.starts_with(r#"{"id":"msg_fb01","type":"message","role":"assistant","model":"#));
}

/// The two calls both recorded parallel-tool answers make (the streamed one and the whole one),
/// as tool_use blocks; only the ids the provider chose differ between the recordings.
fn parallel_tool_uses(weather_id: &str, stock_id: &str) -> Value {
    json!([
        {"type": "tool_use", "id": weather_id, "name": "GetWeatherArgs",
         "input": {"city": "Edinburgh", "country": "GB", "units": "c"}},
        {"type": "tool_use", "id": stock_id, "name": "get_stock_price",
         "input": {"ticker": "AAPL", "exchange": "NASDAQ"}}
    ])
}

#[test]
fn answer_parallel_tool_calls() {
    let body = answer(OPENAI_PARALLEL_TOOLS).unwrap();
    assert_eq!(
        body["content"],
        parallel_tool_uses(
            "call_fdNz3vOBKYgOIpMdWotB9MjY",
            "call_h1DWI1POMJLb0KwIyQHWXD4p"
        )
    );
    assert_eq!(body["stop_reason"], json!("tool_use"));
    assert_eq!(body["usage"]["input_tokens"], json!(149));
}

#[test]
fn answer_refusal_and_length() {
    let body = answer(OPENAI_REFUSAL).unwrap();
    assert_eq!(
        body["content"],
        json!([{"type": "text", "text": "I'm very sorry, but I can't assist with that."}])
    );
    assert_eq!(body["stop_reason"], json!("refusal"));
    let body = answer(OPENAI_LENGTH).unwrap();
    assert_eq!(body["content"], json!([{"type": "text", "text": "{\""}]));
    assert_eq!(body["stop_reason"], json!("max_tokens"));
}

#[test]
fn answer_finish_reasons() {
    let table = [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("tool_calls", "tool_use"),
        ("function_call", "tool_use"),
        ("content_filter", "refusal"),
    ];
    for (finish, expected) in table {
        let mut body: Value = serde_json::from_str(OPENAI_TEXT).unwrap();
        body["choices"][0]["finish_reason"] = json!(finish);
        let translated =
            chat_to_messages(body.to_string().as_bytes(), MODEL, MESSAGE_ID, TARGET).unwrap();
        assert_eq!(translated.stop_reason, expected, "{finish}");
    }
}

#[test]
fn answer_usage_with_cached_tokens() {
    let mut body: Value = serde_json::from_str(OPENAI_TEXT).unwrap();
    body["usage"] = json!({"prompt_tokens": 2006, "completion_tokens": 300, "total_tokens": 2306,
                           "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0}});
    let translated =
        chat_to_messages(body.to_string().as_bytes(), MODEL, MESSAGE_ID, TARGET).unwrap();
    assert_eq!(
        translated.usage,
        ChatUsage {
            input_tokens: 86,
            output_tokens: 300,
            cache_read_tokens: 1920
        }
    );
    let body: Value = serde_json::from_slice(&translated.body).unwrap();
    assert_eq!(body["usage"]["cache_read_input_tokens"], json!(1920));
    assert_eq!(body["usage"]["cache_creation_input_tokens"], json!(0));
}

#[test]
fn answer_gemini_style_tool_call_with_empty_id_and_stop() {
    // Gemini's endpoint names no id and finishes a tool call with "stop" (see its recorded
    // stream); the client must still see a tool_use it can answer.
    let body = answer(
        r#"{"choices":[{"finish_reason":"stop","index":0,"message":{"role":"assistant","tool_calls":[
            {"function":{"arguments":"{\"value\":true}","name":"return_bool"},"id":"","type":"function"}]}}],
            "created":1740894642,"model":"gemini-2.0-flash","object":"chat.completion",
            "usage":{"completion_tokens":4,"prompt_tokens":8,"total_tokens":12}}"#,
    )
    .unwrap();
    assert_eq!(body["stop_reason"], json!("tool_use"));
    assert_eq!(
        body["content"],
        json!([{"type": "tool_use", "id": "toolu_fb_fb01_0", "name": "return_bool", "input": {"value": true}}])
    );
}

#[test]
fn answer_tool_ids_are_sanitized_and_empty_arguments_are_an_empty_object() {
    let body = answer(
        r#"{"choices":[{"finish_reason":"tool_calls","index":0,"message":{"role":"assistant","content":"",
            "tool_calls":[{"id":"call.1/ä","type":"function","function":{"name":"now","arguments":""}}]}}]}"#,
    )
    .unwrap();
    assert_eq!(
        body["content"],
        json!([{"type": "tool_use", "id": "call_1__", "name": "now", "input": {}}])
    );
    assert_eq!(body["usage"]["input_tokens"], json!(0));
}

/// An error about the upstream names the target first, then what was wrong with the answer.
#[track_caller]
fn assert_upstream_message(error: &AnthropicError, mentions: &str) {
    assert!(
        error.message.starts_with("openai:gpt-4o: "),
        "{}",
        error.message
    );
    assert!(
        error.message.contains(mentions),
        "{} lacks {mentions}",
        error.message
    );
}

#[track_caller]
fn check_upstream_error(result: Result<Value, AnthropicError>, mentions: &str) {
    let error = result.expect_err("a hostile answer must not translate");
    assert_eq!((error.status, error.error_type), (500, "api_error"));
    assert_upstream_message(&error, mentions);
    let body: Value = serde_json::from_slice(&error.body()).unwrap();
    assert_eq!(body["type"], json!("error"));
    assert_eq!(body["error"]["type"], json!("api_error"));
}

#[test]
fn answer_hostile_upstream() {
    let table = [
        (
            r#"{"id":"x","object":"chat.completion","choices":[]}"#,
            "no choices",
        ),
        (r#"{"id":"x","object":"chat.completion"}"#, "no choices"),
        (
            r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"eos_token"}]}"#,
            "unknown finish_reason `eos_token`",
        ),
        (
            r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":null}]}"#,
            "no finish_reason",
        ),
        (
            r#"{"error":{"message":"The server had an error while processing your request.","type":"server_error","param":null,"code":null}}"#,
            "The server had an error",
        ),
        (
            r#"{"choices":[{"index":0,"message":{"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\":"}}]},"finish_reason":"tool_calls"}]}"#,
            "not JSON",
        ),
        (
            r#"{"choices":[{"index":0,"message":{"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"[1]"}}]},"finish_reason":"tool_calls"}]}"#,
            "not a JSON object",
        ),
        (
            r#"{"choices":[{"index":0,"message":{"role":"assistant","content":{"odd":1}},"finish_reason":"stop"}]}"#,
            "not text",
        ),
        ("<html>502 Bad Gateway</html>", "not JSON"),
        ("", "not JSON"),
    ];
    for (body, mentions) in table {
        check_upstream_error(answer(body), mentions);
    }
}

// ---------------------------------------------------------------------------------------------
// Provider errors
// ---------------------------------------------------------------------------------------------

#[test]
fn provider_error_statuses() {
    let table = [
        (400, 400, "invalid_request_error"),
        (422, 400, "invalid_request_error"),
        (401, 401, "authentication_error"),
        (403, 403, "permission_error"),
        (404, 404, "not_found_error"),
        (413, 413, "request_too_large"),
        (429, 429, "rate_limit_error"),
        (408, 504, "timeout_error"),
        (504, 504, "timeout_error"),
        (503, 529, "overloaded_error"),
        (529, 529, "overloaded_error"),
        (500, 500, "api_error"),
        (502, 500, "api_error"),
        (418, 500, "api_error"),
        (302, 500, "api_error"),
    ];
    for (upstream, status, error_type) in table {
        let error = map_provider_error(upstream, OPENAI_ERROR_429.as_bytes(), TARGET);
        assert_eq!(
            (error.status, error.error_type),
            (status, error_type),
            "{upstream}"
        );
    }
}

#[test]
fn provider_error_messages() {
    let error = map_provider_error(429, OPENAI_ERROR_429.as_bytes(), TARGET);
    assert!(
        error
            .message
            .starts_with("openai:gpt-4o: Rate limit reached for gpt-4 in organization"),
        "{}",
        error.message
    );
    let error = map_provider_error(400, GEMINI_ERROR_400.as_bytes(), "gemini:gemini-2.0-flash");
    assert!(
        error.message.starts_with(
            "gemini:gemini-2.0-flash: Invalid JSON payload received. Unknown name \"extra_body\""
        ),
        "{}",
        error.message
    );
    let error = map_provider_error(502, b"<html>Bad Gateway</html>", TARGET);
    assert_eq!(
        error.message,
        "openai:gpt-4o: the provider answered with HTTP status 500"
    );
    let error = map_provider_error(400, br#"{"error":"model not found"}"#, TARGET);
    assert_eq!(error.message, "openai:gpt-4o: model not found");
    // A provider echoing a whole prompt back cannot bloat the log.
    let long = json!({"error": {"message": "x".repeat(100_000)}}).to_string();
    let error = map_provider_error(400, long.as_bytes(), TARGET);
    assert!(
        error.message.chars().count() < 600,
        "{}",
        error.message.len()
    );
}

#[test]
fn anthropic_error_shapes() {
    let error = map_provider_error(529, br#"{"error":{"message":"Overloaded"}}"#, TARGET);
    assert_eq!(
        String::from_utf8(error.body()).unwrap(),
        r#"{"type":"error","error":{"type":"overloaded_error","message":"openai:gpt-4o: Overloaded"}}"#
    );
    assert_eq!(
        String::from_utf8(error.sse_event()).unwrap(),
        "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"openai:gpt-4o: Overloaded\"}}\n\n"
    );
}

// ---------------------------------------------------------------------------------------------
// Streams
// ---------------------------------------------------------------------------------------------

struct StreamRun {
    out: Vec<u8>,
    result: Result<(), AnthropicError>,
    translator: StreamTranslator,
}

fn run_stream(pieces: &[&[u8]]) -> StreamRun {
    let mut translator = StreamTranslator::new(MODEL, MESSAGE_ID, TARGET);
    let mut out = Vec::new();
    let mut result = Ok(());
    for piece in pieces {
        result = translator.push(piece, &mut out);
        if result.is_err() {
            break;
        }
    }
    if result.is_ok() {
        result = translator.finish(&mut out);
    }
    StreamRun {
        out,
        result,
        translator,
    }
}

/// A stream fed in one piece, which must translate.
#[track_caller]
fn run_whole(stream: &str) -> StreamRun {
    let run = run_stream(&[stream.as_bytes()]);
    run.result.as_ref().unwrap();
    run
}

fn whole(stream: &str) -> Vec<u8> {
    run_whole(stream).out
}

/// The message a client builds from the translation of `stream`.
#[track_caller]
fn final_message(stream: &str) -> Value {
    accumulate(&events(&whole(stream)))
}

/// A whole event stream read with the app's own event-stream parser.
fn parse_sse(bytes: &[u8]) -> Vec<SseEvent> {
    let mut parser = SseParser::new();
    let mut raw = parser.push(bytes).unwrap();
    raw.extend(parser.finish().unwrap());
    raw
}

/// Our output as (event name, data) pairs, each event's data checked to name its event.
fn events(out: &[u8]) -> Vec<(String, Value)> {
    parse_sse(out)
        .into_iter()
        .map(|event| {
            let data: Value = serde_json::from_str(&event.data).unwrap();
            let name = event.event.unwrap();
            assert_eq!(
                data["type"],
                json!(name),
                "the event name and the data's type agree"
            );
            (name, data)
        })
        .collect()
}

/// The Python SDK's `accumulate_event` (anthropic-sdk-python, lib/streaming/_messages.py),
/// which builds `get_final_message()`: the final message a client sees.
fn accumulate(events: &[(String, Value)]) -> Value {
    let mut message = Value::Null;
    let mut json_buffers: Vec<String> = Vec::new();
    for (name, data) in events {
        match name.as_str() {
            "message_start" => message = data["message"].clone(),
            "content_block_start" => {
                let content = message["content"].as_array_mut().unwrap();
                assert_eq!(
                    data["index"],
                    json!(content.len()),
                    "blocks are numbered in order"
                );
                content.push(data["content_block"].clone());
                json_buffers.push(String::new());
            }
            "content_block_delta" => {
                let index = data["index"].as_u64().unwrap() as usize;
                let block = &mut message["content"][index];
                match data["delta"]["type"].as_str().unwrap() {
                    "text_delta" => {
                        let text = format!(
                            "{}{}",
                            block["text"].as_str().unwrap(),
                            data["delta"]["text"].as_str().unwrap()
                        );
                        block["text"] = json!(text);
                    }
                    "input_json_delta" => {
                        json_buffers[index]
                            .push_str(data["delta"]["partial_json"].as_str().unwrap());
                        if !json_buffers[index].is_empty() {
                            if let Ok(input) = serde_json::from_str::<Value>(&json_buffers[index]) {
                                block["input"] = input;
                            }
                        }
                    }
                    other => panic!("unexpected delta {other}"),
                }
            }
            "message_delta" => {
                message["stop_reason"] = data["delta"]["stop_reason"].clone();
                message["stop_sequence"] = data["delta"]["stop_sequence"].clone();
                message["usage"]["output_tokens"] = data["usage"]["output_tokens"].clone();
                for field in [
                    "input_tokens",
                    "cache_creation_input_tokens",
                    "cache_read_input_tokens",
                ] {
                    if !data["usage"][field].is_null() {
                        message["usage"][field] = data["usage"][field].clone();
                    }
                }
            }
            "content_block_stop" | "message_stop" | "ping" => {}
            other => panic!("unexpected event {other}"),
        }
    }
    message
}

fn names(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(name, _)| name.as_str()).collect()
}

#[test]
fn stream_text() {
    let run = run_whole(STREAM_TEXT);
    assert!(run.translator.complete() && run.translator.started());
    assert_eq!(run.translator.stop_reason(), Some("end_turn"));
    assert_eq!(
        run.translator.usage(),
        ChatUsage {
            input_tokens: 14,
            output_tokens: 30,
            cache_read_tokens: 0
        }
    );
    let events = events(&run.out);
    let names = names(&events);
    assert_eq!(names.first(), Some(&"message_start"));
    assert_eq!(names[1], "content_block_start");
    assert_eq!(
        &names[names.len() - 3..],
        ["content_block_stop", "message_delta", "message_stop"]
    );

    // The text is the upstream's, delta for delta.
    let upstream: String = STREAM_TEXT
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .filter(|data| *data != "[DONE]")
        .filter_map(|data| {
            serde_json::from_str::<Value>(data).unwrap()["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    let message = accumulate(&events);
    assert_eq!(
        message,
        json!({
            "id": MESSAGE_ID, "type": "message", "role": "assistant", "model": MODEL,
            "content": [{"type": "text", "text": upstream}],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 14, "output_tokens": 30, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        })
    );
}

#[test]
fn stream_tool_call() {
    let run = run_whole(STREAM_TOOL);
    let events = events(&run.out);
    let names = names(&events);
    assert_eq!(names[..2], ["message_start", "content_block_start"]);
    assert_eq!(
        &names[names.len() - 3..],
        ["content_block_stop", "message_delta", "message_stop"]
    );
    assert!(names[2..names.len() - 3]
        .iter()
        .all(|name| *name == "content_block_delta"));
    let message = accumulate(&events);
    assert_eq!(message["stop_reason"], json!("tool_use"));
    assert_eq!(message["content"].as_array().unwrap().len(), 1);
    let block = &message["content"][0];
    assert_eq!(block["type"], json!("tool_use"));
    assert_eq!(block["id"], json!("call_4XzlGBLtUe9dy3GVNV4jhq7h"));
    assert_eq!(block["name"], json!("get_weather"));
    assert!(block["input"].is_object() && !block["input"].as_object().unwrap().is_empty());
    assert_eq!(message["usage"]["input_tokens"], json!(44));
    assert_eq!(message["usage"]["output_tokens"], json!(16));
}

#[test]
fn stream_parallel_tool_calls_get_one_block_each() {
    let message = final_message(STREAM_PARALLEL);
    assert_eq!(
        message["content"],
        parallel_tool_uses(
            "call_JMW1whyEaYG438VE1OIflxA2",
            "call_DNYTawLBoN8fj3KN6qU9N1Ou"
        )
    );
    assert_eq!(message["stop_reason"], json!("tool_use"));
}

#[test]
fn stream_refusal() {
    let message = final_message(STREAM_REFUSAL);
    assert_eq!(message["stop_reason"], json!("refusal"));
    assert_eq!(message["content"][0]["type"], json!("text"));
    assert!(message["content"][0]["text"]
        .as_str()
        .unwrap()
        .starts_with("I'm"));
}

#[test]
fn stream_gemini_text_and_tool_call() {
    let run = run_whole(GEMINI_STREAM_TEXT);
    let message = accumulate(&events(&run.out));
    assert_eq!(
        message["content"],
        json!([{"type": "text", "text": "Hello there! How can I help you today?\n"}])
    );
    assert_eq!(message["stop_reason"], json!("end_turn"));
    // Gemini repeats usage on every chunk; the last report is the total.
    assert_eq!(
        run.translator.usage(),
        ChatUsage {
            input_tokens: 3,
            output_tokens: 11,
            cache_read_tokens: 0
        }
    );

    let message = final_message(GEMINI_STREAM_TOOL);
    assert_eq!(
        message["content"],
        json!([{"type": "tool_use", "id": "toolu_fb_fb01_0", "name": "return_bool", "input": {"value": true}}])
    );
    assert_eq!(message["stop_reason"], json!("tool_use"));
}

#[test]
fn stream_event_shapes_match_the_recorded_anthropic_stream() {
    // Every event we write has the fields of the real one, bar the ones only Anthropic knows.
    let recorded = events_loose(ANTHROPIC_SSE_TOOL.as_bytes());
    let run = run_stream(&[STREAM_TOOL.as_bytes()]);
    let ours = events(&run.out);
    let only_anthropic = ["service_tier", "caller"];
    for (name, data) in &ours {
        let real = recorded
            .iter()
            .find(|(real_name, real)| {
                real_name == name
                    && real["content_block"]["type"] == data["content_block"]["type"]
                    && real["delta"]["type"] == data["delta"]["type"]
            })
            .unwrap_or_else(|| panic!("no recorded {name}"));
        assert_same_keys(data, &real.1, &only_anthropic, name);
    }
}

fn events_loose(bytes: &[u8]) -> Vec<(String, Value)> {
    parse_sse(bytes)
        .into_iter()
        .map(|event| {
            (
                event.event.unwrap_or_default(),
                serde_json::from_str(&event.data).unwrap(),
            )
        })
        .collect()
}

/// Our object has the recorded object's keys, recursively; extra keys on our side are allowed
/// only in `usage` (the newer cumulative fields), missing ones only if Anthropic-only.
fn assert_same_keys(ours: &Value, real: &Value, only_anthropic: &[&str], path: &str) {
    let (Value::Object(ours), Value::Object(real)) = (ours, real) else {
        return;
    };
    for (key, value) in real {
        if only_anthropic.contains(&key.as_str()) {
            continue;
        }
        let ours_value = ours
            .get(key)
            .unwrap_or_else(|| panic!("{path}.{key} is missing"));
        assert_same_keys(ours_value, value, only_anthropic, &format!("{path}.{key}"));
    }
    for key in ours.keys() {
        assert!(
            real.contains_key(key) || path.ends_with("usage"),
            "{path}.{key} is not in the recorded stream"
        );
    }
}

#[test]
fn stream_without_done_completes_on_finish() {
    let without_done = STREAM_TEXT.replace("data: [DONE]\n\n", "");
    assert_ne!(without_done, STREAM_TEXT);
    let with_done = run_stream(&[STREAM_TEXT.as_bytes()]);
    let run = run_whole(&without_done);
    assert!(run.translator.complete());
    assert_eq!(run.out, with_done.out);
}

#[test]
fn stream_done_completes_before_finish_and_later_calls_do_nothing() {
    let mut translator = StreamTranslator::new(MODEL, MESSAGE_ID, TARGET);
    let mut out = Vec::new();
    translator.push(STREAM_TEXT.as_bytes(), &mut out).unwrap();
    assert!(translator.complete());
    let before = out.len();
    translator
        .push(
            b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"late\"}}]}\n\n",
            &mut out,
        )
        .unwrap();
    translator.finish(&mut out).unwrap();
    assert_eq!(out.len(), before);
}

#[track_caller]
fn check_broken_stream(run: &StreamRun, started: bool, mentions: &str) {
    let error = run.result.as_ref().expect_err("a broken stream must fail");
    assert_eq!(error.status, 500, "{error}");
    assert_eq!(error.error_type, "api_error");
    assert_upstream_message(error, mentions);
    assert_eq!(run.translator.started(), started);
    assert!(!run.translator.complete());
    let text = String::from_utf8_lossy(&run.out);
    assert!(
        !text.contains("message_stop"),
        "a broken stream got a message_stop"
    );
    // The error event the caller writes is a well-formed Messages event.
    let event = events(&error.sse_event());
    assert_eq!(event[0].0, "error");
}

#[test]
fn stream_cut_in_the_middle() {
    let bytes = STREAM_TEXT.as_bytes();
    let run = run_stream(&[&bytes[..bytes.len() / 2]]);
    check_broken_stream(&run, true, "the stream ended before it was complete");
    // A body that ends before any chunk never started: the caller can still answer with a status.
    let run = run_stream(&[b""]);
    check_broken_stream(&run, false, "the stream ended before it was complete");
    let run = run_stream(&[b"data: [DONE]\n\n"]);
    check_broken_stream(&run, false, "the stream ended before it was complete");
}

#[test]
fn stream_hostile_upstream() {
    let first_chunk = STREAM_TEXT.split("\n\n").next().unwrap().to_owned() + "\n\n";
    let long_line = vec![b'x'; 1024 * 1024 + 1];
    let table: Vec<(Vec<u8>, bool, &str)> = vec![
        (
            format!("{first_chunk}data: {{\"choices\":[{{\"index\":0,\"delta\":{{}},\"finish_reason\":\"eos\"}}]}}\n\n").into_bytes(),
            true,
            "unknown finish_reason `eos`",
        ),
        (
            format!("{first_chunk}data: {{\"error\":{{\"message\":\"The server had an error while processing your request.\",\"type\":\"server_error\"}}}}\n\n").into_bytes(),
            true,
            "The server had an error",
        ),
        (b"data: {not json}\n\n".to_vec(), false, "not JSON"),
        ([b"data: ".as_slice(), &long_line].concat(), false, "1048576"),
        (
            b"data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":\"}}]}}]}\n\ndata: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n".to_vec(),
            true,
            "not JSON",
        ),
        (
            b"data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"a\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}}]}\n\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"b\",\"function\":{\"name\":\"g\",\"arguments\":\"{}\"}}]}}]}\n\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"x\"}}]}}]}\n\n".to_vec(),
            true,
            "already closed",
        ),
        (
            b"data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"a\",\"function\":{\"arguments\":\"{}\"}}]}}]}\n\n".to_vec(),
            true,
            "no name",
        ),
    ];
    for (bytes, started, mentions) in table {
        let run = run_stream(&[&bytes]);
        check_broken_stream(&run, started, mentions);
    }
}

#[test]
fn stream_error_first_keeps_its_status() {
    // Gemini's in-band errors carry an HTTP code; before anything was sent, it can be the status.
    let run = run_stream(&[br#"data: {"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}"#.as_slice(), b"\n\n"]);
    let error = run.result.unwrap_err();
    assert_eq!((error.status, error.error_type), (429, "rate_limit_error"));
    assert!(!run.translator.started());
    assert!(run.out.is_empty());
}

#[test]
fn stream_block_count_is_bounded() {
    let mut bytes = Vec::new();
    for index in 0..200 {
        bytes.extend_from_slice(
            format!("data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"tool_calls\":[{{\"index\":{index},\"id\":\"c{index}\",\"function\":{{\"name\":\"f\",\"arguments\":\"{{}}\"}}}}]}}}}]}}\n\n").as_bytes(),
        );
    }
    let run = run_stream(&[&bytes]);
    check_broken_stream(&run, true, "more than 128 content blocks");
}

#[test]
fn stream_after_an_error_further_calls_do_nothing() {
    let mut translator = StreamTranslator::new(MODEL, MESSAGE_ID, TARGET);
    let mut out = Vec::new();
    assert!(translator.push(b"data: nope\n\n", &mut out).is_err());
    translator.push(STREAM_TEXT.as_bytes(), &mut out).unwrap();
    translator.finish(&mut out).unwrap();
    assert!(out.is_empty() && !translator.complete());
}

#[test]
fn stream_text_then_tools_then_text_are_separate_blocks() {
    let bytes = concat!(
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Let me look.\"}}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"\"}}]}}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"q\\\":1}\"}}]}}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":20,\"prompt_tokens_details\":{\"cached_tokens\":64}}}\n\n",
        "data: [DONE]\n\n",
    );
    let run = run_whole(bytes);
    let events = events(&run.out);
    let message = accumulate(&events);
    assert_eq!(
        message["content"],
        json!([
            {"type": "text", "text": "Let me look."},
            {"type": "tool_use", "id": "call_1", "name": "f", "input": {"q": 1}}
        ])
    );
    assert_eq!(
        message["usage"],
        json!({"input_tokens": 36, "output_tokens": 20, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 64})
    );
    let delta = &events
        .iter()
        .find(|(name, _)| name == "message_delta")
        .unwrap()
        .1;
    assert_eq!(
        delta,
        &json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null},
                "usage": {"input_tokens": 36, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 64, "output_tokens": 20}})
    );
}

/// `bytes` cut at each of `cuts`, the pieces in order. Each offset is taken modulo the length
/// plus one, so that any number the strategy draws is a place to cut, and equal offsets leave
/// empty pieces, since a network read can be empty too.
fn cut_at(bytes: &[u8], mut cuts: Vec<usize>) -> Vec<&[u8]> {
    for cut in &mut cuts {
        *cut %= bytes.len() + 1;
    }
    cuts.sort_unstable();
    let starts = std::iter::once(0).chain(cuts.iter().copied());
    let ends = cuts.iter().copied().chain(std::iter::once(bytes.len()));
    starts
        .zip(ends)
        .map(|(start, end)| &bytes[start..end])
        .collect()
}

proptest! {
    #[test]
    fn stream_split_anywhere_gives_the_same_bytes(
        which in 0..ALL_STREAMS.len(),
        cuts in proptest::collection::vec(0usize..50_000, 0..40),
    ) {
        let pieces = cut_at(ALL_STREAMS[which].as_bytes(), cuts);
        let run = run_stream(&pieces);
        prop_assert!(run.result.is_ok());
        prop_assert_eq!(run.out, whole(ALL_STREAMS[which]));
    }
}
