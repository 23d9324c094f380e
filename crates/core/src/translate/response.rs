//! A provider's Chat Completions answer turned into a Messages answer, and a provider's error
//! answer turned into Anthropic's error shape.

use serde::Serialize;
use serde_json::{Map, Value};

use super::{
    anthropic_status, bounded, AnthropicError, ChatUsage, Translated, MAX_ERROR_MESSAGE_CHARS,
};

/// The longest tool-call id kept, in bytes; Chat ids are about 30, and Anthropic's are similar.
const MAX_TOOL_ID_LEN: usize = 128;

/// Maps a provider's non-2xx answer (or an unreadable body) to Anthropic's status and error type.
///
/// The message starts with `target` (e.g. "openai:gpt-4o") so the client and the log can tell
/// the answer came from the fallback, followed by the provider's own message, bounded.
pub fn map_provider_error(status: u16, body: &[u8], target: &str) -> AnthropicError {
    let (status, error_type) = anthropic_status(status);
    let message = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|body| provider_message(&body))
        .map(|message| bounded(message.trim(), MAX_ERROR_MESSAGE_CHARS))
        .filter(|message| !message.is_empty())
        .unwrap_or_else(|| format!("the provider answered with HTTP status {status}"));
    AnthropicError {
        status,
        error_type,
        message: format!("{target}: {message}"),
    }
}

/// The human message in a provider's error body: OpenAI's `{"error":{"message"}}`, Gemini's
/// `[{"error":{"message"}}]`, or the `{"error":"…"}` and `{"message":"…"}` some servers send.
fn provider_message(body: &Value) -> Option<String> {
    let body = match body {
        Value::Array(items) => items.first()?,
        other => other,
    };
    match body.get("error") {
        Some(Value::String(message)) => Some(message.clone()),
        Some(error) => error
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_owned),
        None => body
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_owned),
    }
}

/// The Anthropic stop reason for a Chat `finish_reason`; `None` for a reason we do not know.
pub(crate) fn stop_reason(finish_reason: &str) -> Option<&'static str> {
    match finish_reason {
        "stop" => Some("end_turn"),
        "length" => Some("max_tokens"),
        "tool_calls" | "function_call" => Some("tool_use"),
        "content_filter" => Some("refusal"),
        _ => None,
    }
}

/// The stop reason once the whole answer is known. Gemini ends an answer that calls tools with
/// "stop", and a refusal comes with "stop" too, but a Messages client decides whether to run
/// tools (or show a refusal) from `stop_reason`, so what the answer holds wins over "stop".
pub(crate) fn final_stop_reason(
    mapped: &'static str,
    has_tool_calls: bool,
    refused: bool,
) -> &'static str {
    match mapped {
        "end_turn" if refused => "refusal",
        "end_turn" if has_tool_calls => "tool_use",
        other => other,
    }
}

/// A tool-call id Anthropic accepts (`^[a-zA-Z0-9_-]+$`), or a generated one when it is empty.
///
/// The generated id carries the message id so it stays unique across the conversation: the
/// client may later send this history to Anthropic, which rejects repeated tool_use ids.
pub(crate) fn tool_use_id(id: &str, message_id: &str, ordinal: usize) -> String {
    let cleaned: String = id
        .chars()
        .map(|ch| {
            if ch.is_ascii_alphanumeric() || ch == '_' || ch == '-' {
                ch
            } else {
                '_'
            }
        })
        .take(MAX_TOOL_ID_LEN)
        .collect();
    if !cleaned.is_empty() {
        return cleaned;
    }
    let message_part: String = message_id
        .strip_prefix("msg_")
        .unwrap_or(message_id)
        .chars()
        .filter(|ch| ch.is_ascii_alphanumeric())
        .take(64)
        .collect();
    if message_part.is_empty() {
        format!("toolu_fb_{ordinal}")
    } else {
        format!("toolu_fb_{message_part}_{ordinal}")
    }
}

/// Parses a tool call's `arguments` into the object Anthropic's `input` must be; "" is `{}`.
pub(crate) fn parse_arguments(arguments: &str) -> Result<Value, String> {
    if arguments.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    match serde_json::from_str::<Value>(arguments) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(_) => Err("tool-call arguments that are not a JSON object".to_owned()),
        Err(error) => Err(format!("tool-call arguments that are not JSON ({error})")),
    }
}

/// The provider's in-band error (`{"error":{…}}` with a 2xx, or mid-stream) as an Anthropic
/// error: by its numeric `code` when it has one (Gemini's), else a 500 `api_error`.
pub(crate) fn in_band_error(body: &Value, target: &str) -> AnthropicError {
    let code = body
        .get("error")
        .and_then(|error| error.get("code"))
        .and_then(Value::as_u64)
        .and_then(|code| u16::try_from(code).ok())
        .filter(|code| (400..=599).contains(code))
        .unwrap_or(500);
    let (status, error_type) = anthropic_status(code);
    let message = provider_message(body)
        .map(|message| bounded(message.trim(), MAX_ERROR_MESSAGE_CHARS))
        .filter(|message| !message.is_empty())
        .unwrap_or_else(|| "the provider reported an error without a message".to_owned());
    AnthropicError {
        status,
        error_type,
        message: format!("{target}: {message}"),
    }
}

#[derive(Serialize)]
pub(crate) struct MessageBody<'a> {
    pub id: &'a str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub role: &'static str,
    pub model: &'a str,
    pub content: Vec<ContentBlock>,
    pub stop_reason: Option<&'static str>,
    pub stop_sequence: Option<()>,
    pub usage: UsageBody,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ContentBlock {
    Text {
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
}

/// A Messages `usage` object in the field order the API writes.
#[derive(Serialize)]
pub(crate) struct UsageBody {
    pub input_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub cache_read_input_tokens: u64,
    pub output_tokens: u64,
}

impl From<ChatUsage> for UsageBody {
    fn from(usage: ChatUsage) -> UsageBody {
        UsageBody {
            input_tokens: usage.input_tokens,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: usage.cache_read_tokens,
            output_tokens: usage.output_tokens,
        }
    }
}

/// Translates a 2xx non-streaming Chat Completions answer into a Messages answer.
///
/// `requested_model` is the Claude model the client asked for: the answer keeps it, so the client
/// cannot tell a fallback answered except by a header the gateway adds. `message_id` is the
/// caller's generated "msg_…" id. Anything that is not a complete, readable answer is an `Err`
/// with a 500 `api_error` whose message names `target`.
pub fn chat_to_messages(
    response: &[u8],
    requested_model: &str,
    message_id: &str,
    target: &str,
) -> Result<Translated, AnthropicError> {
    let fail = |what: &str| AnthropicError::upstream(target, what);
    let parsed: Value = serde_json::from_slice(response)
        .map_err(|error| fail(&format!("the answer is not JSON ({error})")))?;
    if parsed.get("error").is_some_and(|error| !error.is_null()) {
        let mut error = in_band_error(&parsed, target);
        // A 2xx carrying an error is the provider failing, whatever code it names.
        error.status = 500;
        error.error_type = "api_error";
        return Err(error);
    }
    let choice = parsed
        .get("choices")
        .and_then(Value::as_array)
        .and_then(|choices| choices.first())
        .ok_or_else(|| fail("the answer has no choices"))?;
    let message = choice
        .get("message")
        .ok_or_else(|| fail("the answer's choice has no message"))?;
    let finish_reason = match choice.get("finish_reason") {
        Some(Value::String(reason)) => reason.as_str(),
        _ => return Err(fail("the answer has no finish_reason")),
    };
    let mapped = stop_reason(finish_reason).ok_or_else(|| {
        fail(&format!(
            "unknown finish_reason `{}`",
            bounded(finish_reason, 64)
        ))
    })?;

    let mut content = Vec::new();
    let text = message_text(message.get("content"))
        .ok_or_else(|| fail("the answer's content is not text"))?;
    if !text.is_empty() {
        content.push(ContentBlock::Text { text });
    }
    let refusal = message
        .get("refusal")
        .and_then(Value::as_str)
        .filter(|refusal| !refusal.is_empty());
    if let Some(refusal) = refusal {
        content.push(ContentBlock::Text {
            text: refusal.to_owned(),
        });
    }

    let mut calls: Vec<&Value> = match message.get("tool_calls") {
        Some(Value::Array(calls)) => calls.iter().collect(),
        None | Some(Value::Null) => Vec::new(),
        Some(_) => return Err(fail("the answer's tool_calls is not an array")),
    };
    // The legacy single `function_call` has the same `name` and `arguments` but no id.
    if let Some(call @ Value::Object(_)) = message.get("function_call") {
        calls.push(call);
    }
    let has_tool_calls = !calls.is_empty();
    for (ordinal, call) in calls.into_iter().enumerate() {
        let function = call.get("function").unwrap_or(call);
        let name = function
            .get("name")
            .and_then(Value::as_str)
            .filter(|name| !name.is_empty())
            .ok_or_else(|| fail("a tool call without a name"))?;
        let arguments = function
            .get("arguments")
            .and_then(Value::as_str)
            .unwrap_or("");
        let input = parse_arguments(arguments)
            .map_err(|why| fail(&format!("`{}` has {why}", bounded(name, 64))))?;
        let id = call.get("id").and_then(Value::as_str).unwrap_or("");
        content.push(ContentBlock::ToolUse {
            id: tool_use_id(id, message_id, ordinal),
            name: name.to_owned(),
            input,
        });
    }

    let usage = parsed
        .get("usage")
        .map(ChatUsage::from_chat)
        .unwrap_or_default();
    let stop_reason = final_stop_reason(mapped, has_tool_calls, refusal.is_some());
    let body = MessageBody {
        id: message_id,
        kind: "message",
        role: "assistant",
        model: requested_model,
        content,
        stop_reason: Some(stop_reason),
        stop_sequence: None,
        usage: usage.into(),
    };
    let body = serde_json::to_vec(&body)
        .map_err(|error| fail(&format!("the answer cannot be written ({error})")))?;
    Ok(Translated {
        body,
        usage,
        stop_reason,
    })
}

/// A Chat message's `content` as one string: a string, `null` (nothing), or the array of text
/// parts some compatible servers send. `None` when it holds anything but text.
fn message_text(content: Option<&Value>) -> Option<String> {
    match content {
        None | Some(Value::Null) => Some(String::new()),
        Some(Value::String(text)) => Some(text.clone()),
        Some(Value::Array(parts)) => {
            let mut text = String::new();
            for part in parts {
                if part.get("type").and_then(Value::as_str) != Some("text") {
                    return None;
                }
                text.push_str(part.get("text").and_then(Value::as_str)?);
            }
            Some(text)
        }
        Some(_) => None,
    }
}
