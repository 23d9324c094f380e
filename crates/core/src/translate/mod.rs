//! Translation between Anthropic's Messages API and OpenAI's Chat Completions API, so the gateway
//! can fall back to another provider (OpenAI, Gemini's OpenAI-compatible endpoint, any
//! OpenAI-compatible server) while its client keeps speaking Messages.
//!
//! The rule throughout is "refuse rather than mistranslate": a request using a feature Chat
//! Completions cannot carry faithfully (extended thinking, prompt caching, documents, server
//! tools, prefill, …) is not sent anywhere else, and an upstream answer that cannot be read as a
//! complete Messages answer becomes a well-formed Anthropic error rather than a guess.
//!
//! Everything here is pure: bytes in, bytes out. The gateway does the IO.
//!
//! - [`messages_to_chat`] turns a Messages request body into a Chat Completions request body.
//! - [`chat_to_messages`] turns a non-streaming Chat Completions answer into a Messages answer.
//! - [`StreamTranslator`] turns a Chat Completions event stream into the Messages event stream.
//! - [`map_provider_error`] turns a provider's error answer into Anthropic's error shape.

mod request;
mod response;
mod stream;

use std::fmt;

use serde::Serialize;

pub use request::messages_to_chat;
pub use response::{chat_to_messages, map_provider_error};
pub use stream::StreamTranslator;

/// Which flavour of Chat Completions the target speaks; they differ in a few field names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// api.openai.com.
    OpenAi,
    /// Gemini's OpenAI-compatible endpoint (`…/v1beta/openai/`).
    Gemini,
    /// Any other OpenAI-compatible server (vLLM, Ollama, LiteLLM, OpenRouter, …).
    Compatible,
}

/// Why a Messages request is not sent to another provider (never a silent mistranslation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A feature Chat Completions cannot carry faithfully. `what` is a short phrase for the
    /// record and the log, e.g. "extended thinking (`thinking`)" or "a `document` block".
    Untranslatable { what: String },
    /// The body is not a Messages request we can read (not JSON, no messages, …).
    Invalid { why: String },
}

impl Refusal {
    /// One human sentence for the log and the record.
    pub fn reason(&self) -> String {
        match self {
            Refusal::Untranslatable { what } => {
                format!("not translated: {what} cannot be sent to another provider")
            }
            Refusal::Invalid { why } => {
                format!("not translated: the body is not a Messages request we can read ({why})")
            }
        }
    }

    pub(crate) fn untranslatable(what: impl Into<String>) -> Refusal {
        Refusal::Untranslatable { what: what.into() }
    }

    pub(crate) fn invalid(why: impl Into<String>) -> Refusal {
        Refusal::Invalid { why: why.into() }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.reason())
    }
}

impl std::error::Error for Refusal {}

/// What the gateway knows about the request besides its body.
#[derive(Debug, Clone, Copy)]
pub struct RequestContext<'a> {
    /// The provider's model, e.g. "gpt-4o"; it replaces the body's Claude model.
    pub target_model: &'a str,
    pub dialect: Dialect,
    /// The client sent an `anthropic-beta` header: refuse, because beta features have no
    /// counterpart elsewhere and we cannot tell which ones the body relies on.
    pub beta_header: bool,
}

/// A Chat Completions request body, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatRequest {
    pub body: Vec<u8>,
    /// The client asked for a stream; the answer must go through a [`StreamTranslator`].
    pub stream: bool,
}

/// An error in Anthropic's shape, ready to send: a status and
/// `{"type":"error","error":{"type":…,"message":…}}` (api-facts B2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnthropicError {
    pub status: u16,
    pub error_type: &'static str,
    pub message: String,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    message: &'a str,
}

impl AnthropicError {
    /// A 500 `api_error`: the provider answered 2xx with something we cannot read. Anthropic has
    /// no 502; `api_error` is what its SDKs retry and what its own proxies answer.
    pub(crate) fn upstream(target: &str, what: &str) -> AnthropicError {
        AnthropicError {
            status: 500,
            error_type: "api_error",
            message: bounded(&format!("{target}: {what}"), MAX_ERROR_MESSAGE_CHARS + 200),
        }
    }

    /// The JSON error body.
    pub fn body(&self) -> Vec<u8> {
        let body = ErrorBody {
            kind: "error",
            error: ErrorDetail {
                kind: self.error_type,
                message: &self.message,
            },
        };
        // Serialising two strings into a vector cannot fail; the fallback keeps this panic-free.
        serde_json::to_vec(&body).unwrap_or_default()
    }

    /// The same error as a Messages stream event (api-facts B5), for a stream already begun.
    pub fn sse_event(&self) -> Vec<u8> {
        let mut event = b"event: error\ndata: ".to_vec();
        event.extend_from_slice(&self.body());
        event.extend_from_slice(b"\n\n");
        event
    }
}

impl fmt::Display for AnthropicError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{} {}: {}",
            self.status, self.error_type, self.message
        )
    }
}

impl std::error::Error for AnthropicError {}

/// Token usage as the provider reported it, in Anthropic's terms.
///
/// Chat's `prompt_tokens` includes the cached tokens, while Anthropic's `input_tokens` counts
/// only the uncached ones, so `input_tokens = prompt_tokens − cached_tokens`. Chat has no cache
/// writes to report, so `cache_creation_input_tokens` is always 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChatUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_tokens: u64,
}

impl ChatUsage {
    /// Reads a Chat `usage` object; missing or odd fields count as 0.
    pub(crate) fn from_chat(usage: &serde_json::Value) -> ChatUsage {
        let count = |value: Option<&serde_json::Value>| {
            value.and_then(serde_json::Value::as_u64).unwrap_or(0)
        };
        let prompt = count(usage.get("prompt_tokens"));
        let cached = count(
            usage
                .get("prompt_tokens_details")
                .and_then(|details| details.get("cached_tokens")),
        );
        // A provider reporting more cached than prompt tokens is wrong; clamp rather than wrap.
        let cached = cached.min(prompt);
        ChatUsage {
            input_tokens: prompt - cached,
            output_tokens: count(usage.get("completion_tokens")),
            cache_read_tokens: cached,
        }
    }
}

/// A translated non-streaming answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translated {
    /// The Messages answer body.
    pub body: Vec<u8>,
    pub usage: ChatUsage,
    pub stop_reason: &'static str,
}

/// The longest provider message kept in an error, in characters: enough for OpenAI's rate-limit
/// sentences, short enough that a provider echoing the whole request cannot bloat the log.
pub(crate) const MAX_ERROR_MESSAGE_CHARS: usize = 500;

/// Cuts `text` to at most `max_chars` characters, marking the cut with "…".
pub(crate) fn bounded(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Anthropic's status and error type for a provider's HTTP status.
pub(crate) fn anthropic_status(status: u16) -> (u16, &'static str) {
    match status {
        400 | 422 => (400, "invalid_request_error"),
        401 => (401, "authentication_error"),
        403 => (403, "permission_error"),
        404 => (404, "not_found_error"),
        413 => (413, "request_too_large"),
        429 => (429, "rate_limit_error"),
        408 | 504 => (504, "timeout_error"),
        // A 503 is the provider saying it has no capacity, which is what Anthropic's 529 means
        // (and what its SDKs retry).
        503 | 529 => (529, "overloaded_error"),
        _ => (500, "api_error"),
    }
}
