//! The Messages API's server-sent event stream (`reference/api-facts.md` B5): an incremental
//! parser fed raw byte chunks, a typed decoder for Anthropic's event types, the `usage`
//! bookkeeping, and the timings (time to `message_start`, time to first token) the streaming
//! probe reports.
//!
//! The parser follows the WHATWG event-stream rules (lines end in `\n`, `\r\n` or `\r`; a blank
//! line dispatches; `:` starts a comment) because the bytes arrive in whatever pieces the network
//! delivers: an event, a line, a `\r\n` pair or a UTF-8 character may be split across chunks.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::probe::{stream_error_classification, Classification};

/// One raw event: its `event:` name and its `data:` lines joined by `\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    pub event: Option<String>,
    pub data: String,
}

/// Why the stream could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    /// A line grew beyond the parser's limit without ending; the stream is not an event stream
    /// (or is hostile), and buffering more would only use memory.
    #[error("an event-stream line exceeded {limit} bytes")]
    LineTooLong { limit: usize },
    /// One event's data lines together grew beyond the limit.
    #[error("an event's data exceeded {limit} bytes")]
    EventTooLarge { limit: usize },
    /// A known event type whose data is not the documented JSON.
    #[error("malformed `{event}` event: {reason}")]
    MalformedEvent { event: String, reason: String },
}

/// An incremental event-stream parser. Feed it chunks with `push`, then call `finish` at the end
/// of the body.
///
/// After an error the parser stays failed and returns the same error: the stream is broken and
/// the caller should abandon it.
#[derive(Debug, Clone)]
pub struct SseParser {
    max_bytes: usize,
    /// The bytes of the line being read. Kept as bytes until the line ends, so a UTF-8 character
    /// split across chunks is decoded whole.
    line: Vec<u8>,
    /// The previous chunk ended in `\r`; a `\n` at the start of this one belongs to it.
    after_cr: bool,
    /// No line has ended yet, so a byte-order mark may still need removing.
    at_stream_start: bool,
    event: Option<String>,
    data: String,
    /// Whether a `data` field was seen: `data:` with an empty value still dispatches an event.
    has_data: bool,
    failed: Option<SseError>,
}

impl Default for SseParser {
    fn default() -> Self {
        SseParser::new()
    }
}

impl SseParser {
    /// The default limit for one line and for one event's data: far above anything the Messages
    /// API sends for a probe, far below what would hurt a desktop app.
    pub const DEFAULT_MAX_BYTES: usize = 1024 * 1024;

    pub fn new() -> SseParser {
        SseParser::with_max_bytes(Self::DEFAULT_MAX_BYTES)
    }

    /// A parser that fails when a line, or one event's data, exceeds `max_bytes`.
    pub fn with_max_bytes(max_bytes: usize) -> SseParser {
        SseParser {
            max_bytes,
            line: Vec::new(),
            after_cr: false,
            at_stream_start: true,
            event: None,
            data: String::new(),
            has_data: false,
            failed: None,
        }
    }

    /// Feeds the next chunk of the body and returns the events it completed, in order.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<SseEvent>, SseError> {
        let mut events = Vec::new();
        self.push_into(chunk, &mut events)?;
        Ok(events)
    }

    /// Like `push`, appending to a caller's vector to spare an allocation per chunk.
    pub fn push_into(&mut self, chunk: &[u8], events: &mut Vec<SseEvent>) -> Result<(), SseError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        let result = self.scan(chunk, events);
        if let Err(error) = &result {
            self.failed = Some(error.clone());
        }
        result
    }

    /// Ends the stream. A last event that was not followed by a blank line is still returned:
    /// the SDK fixtures end that way, and losing `message_stop` would make a complete stream look
    /// cut off. (The WHATWG rules would drop it; for a monitor, keeping it is the safer reading.)
    pub fn finish(&mut self) -> Result<Option<SseEvent>, SseError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            let mut unused = Vec::new();
            self.process_line(&line, &mut unused)?;
        }
        self.after_cr = false;
        Ok(self.take_event())
    }

    fn scan(&mut self, mut chunk: &[u8], events: &mut Vec<SseEvent>) -> Result<(), SseError> {
        // An empty chunk must not clear `after_cr`: the `\n` may still come in the next one.
        if self.after_cr && !chunk.is_empty() {
            self.after_cr = false;
            if let Some(rest) = chunk.strip_prefix(b"\n") {
                chunk = rest;
            }
        }
        while let Some(end) = chunk.iter().position(|byte| matches!(byte, b'\r' | b'\n')) {
            let (content, rest) = chunk.split_at(end);
            self.extend_line(content)?;
            let line = std::mem::take(&mut self.line);
            self.process_line(&line, events)?;
            // Reuse the line's allocation for the next one.
            self.line = line;
            self.line.clear();
            chunk = match rest {
                [b'\r', b'\n', rest @ ..] => rest,
                [b'\r'] => {
                    // The `\n` of a `\r\n` pair may be the first byte of the next chunk.
                    self.after_cr = true;
                    &[]
                }
                [_, rest @ ..] => rest,
                [] => &[],
            };
        }
        self.extend_line(chunk)
    }

    fn extend_line(&mut self, bytes: &[u8]) -> Result<(), SseError> {
        if self.line.len().saturating_add(bytes.len()) > self.max_bytes {
            return Err(SseError::LineTooLong {
                limit: self.max_bytes,
            });
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    fn process_line(&mut self, line: &[u8], events: &mut Vec<SseEvent>) -> Result<(), SseError> {
        // Invalid UTF-8 is replaced rather than fatal, as the event-stream rules require; the
        // JSON decoder will then reject the event if it mattered.
        let text = String::from_utf8_lossy(line);
        let mut text: &str = &text;
        if self.at_stream_start {
            self.at_stream_start = false;
            text = text.strip_prefix('\u{feff}').unwrap_or(text);
        }
        if text.is_empty() {
            if let Some(event) = self.take_event() {
                events.push(event);
            }
            return Ok(());
        }
        if text.starts_with(':') {
            return Ok(());
        }
        let (field, value) = match text.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (text, ""),
        };
        match field {
            "event" => self.event = Some(value.to_owned()).filter(|name| !name.is_empty()),
            "data" => {
                let separator = usize::from(self.has_data);
                if self.data.len() + separator + value.len() > self.max_bytes {
                    return Err(SseError::EventTooLarge {
                        limit: self.max_bytes,
                    });
                }
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            // `id` and `retry` serve browser reconnection, which the Messages API does not
            // offer; other fields are to be ignored by the rules.
            _ => {}
        }
        Ok(())
    }

    /// Dispatches the event gathered so far, if it had data, and starts a new one.
    fn take_event(&mut self) -> Option<SseEvent> {
        let event = self.event.take();
        if !std::mem::take(&mut self.has_data) {
            return None;
        }
        Some(SseEvent {
            event,
            data: std::mem::take(&mut self.data),
        })
    }
}

/// Token counts of one message, flattened from the API's `usage` object (B6).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Usage {
    /// Input tokens after the last cache breakpoint only.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub input_tokens: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub output_tokens: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub cache_creation_input_tokens: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub cache_read_input_tokens: u64,
    /// `cache_creation.ephemeral_5m_input_tokens`.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub cache_creation_5m: u64,
    /// `cache_creation.ephemeral_1h_input_tokens`.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub cache_creation_1h: u64,
    /// `standard`, `priority` or `batch`.
    pub service_tier: Option<String>,
}

impl Usage {
    /// Reads a `usage` object of the API (a reply body's, or `message_start`'s); absent fields
    /// count as zero.
    pub fn from_api(usage: &Value) -> Usage {
        let mut result = Usage::default();
        result.merge_cumulative(&UsageDelta::from_api(usage));
        result
    }

    /// Applies a `message_delta`'s usage. Its counts are cumulative totals, not increments, so
    /// fields present in the delta replace ours and absent ones keep their value.
    pub fn merge_cumulative(&mut self, delta: &UsageDelta) {
        let replace = |ours: &mut u64, theirs: Option<u64>| {
            if let Some(theirs) = theirs {
                *ours = theirs;
            }
        };
        replace(&mut self.input_tokens, delta.input_tokens);
        replace(&mut self.output_tokens, delta.output_tokens);
        replace(
            &mut self.cache_creation_input_tokens,
            delta.cache_creation_input_tokens,
        );
        replace(
            &mut self.cache_read_input_tokens,
            delta.cache_read_input_tokens,
        );
        replace(&mut self.cache_creation_5m, delta.cache_creation_5m);
        replace(&mut self.cache_creation_1h, delta.cache_creation_1h);
        if let Some(tier) = &delta.service_tier {
            self.service_tier = Some(tier.clone());
        }
    }

    /// All input the request was billed for: uncached, written to cache and read from cache.
    pub fn total_input_tokens(&self) -> u64 {
        self.input_tokens
            .saturating_add(self.cache_creation_input_tokens)
            .saturating_add(self.cache_read_input_tokens)
    }
}

/// A `usage` object as sent, where a missing field (or `null`) means "unchanged" rather than 0.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageDelta {
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub cache_creation_input_tokens: Option<u64>,
    pub cache_read_input_tokens: Option<u64>,
    pub cache_creation_5m: Option<u64>,
    pub cache_creation_1h: Option<u64>,
    pub service_tier: Option<String>,
}

impl UsageDelta {
    /// Reads the fields this app tracks from an API `usage` object and ignores the rest
    /// (`server_tool_use`, `inference_geo`, newer additions).
    pub fn from_api(usage: &Value) -> UsageDelta {
        let count = |value: Option<&Value>| value.and_then(Value::as_u64);
        let cache_creation = usage.get("cache_creation");
        UsageDelta {
            input_tokens: count(usage.get("input_tokens")),
            output_tokens: count(usage.get("output_tokens")),
            cache_creation_input_tokens: count(usage.get("cache_creation_input_tokens")),
            cache_read_input_tokens: count(usage.get("cache_read_input_tokens")),
            cache_creation_5m: count(
                cache_creation.and_then(|cache| cache.get("ephemeral_5m_input_tokens")),
            ),
            cache_creation_1h: count(
                cache_creation.and_then(|cache| cache.get("ephemeral_1h_input_tokens")),
            ),
            service_tier: usage
                .get("service_tier")
                .and_then(Value::as_str)
                .map(str::to_owned),
        }
    }
}

/// One event of the Messages stream, with only what monitoring needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    MessageStart {
        id: String,
        model: String,
        usage: Usage,
    },
    ContentBlockStart {
        index: u64,
    },
    /// Any delta type (`text_delta`, `input_json_delta`, `thinking_delta`, …); only its arrival
    /// matters here.
    ContentBlockDelta {
        index: u64,
    },
    ContentBlockStop {
        index: u64,
    },
    /// `usage` keeps the distinction between absent and zero, because the counts are cumulative
    /// and an absent field must not reset a count from `message_start`.
    MessageDelta {
        stop_reason: Option<String>,
        usage: UsageDelta,
    },
    MessageStop,
    Ping,
    /// An error after the HTTP 200, e.g. `overloaded_error`.
    Error {
        error_type: String,
        message: String,
    },
    /// An event type this app does not know; newer API versions add some, so it is not an error.
    Unknown(String),
}

impl StreamEvent {
    /// Decodes a raw event. The type comes from the `event:` name, or from the data's `type` when
    /// the name is missing (the API always sends both, and they agree).
    pub fn decode(raw: &SseEvent) -> Result<StreamEvent, SseError> {
        let parsed: Result<Value, _> = serde_json::from_str(&raw.data);
        let name = match (&raw.event, &parsed) {
            (Some(name), _) => name.clone(),
            (None, Ok(value)) => match value.get("type").and_then(Value::as_str) {
                Some(kind) => kind.to_owned(),
                None => return Ok(StreamEvent::Unknown(String::new())),
            },
            (None, Err(_)) => return Ok(StreamEvent::Unknown(String::new())),
        };
        let malformed = |reason: &str| SseError::MalformedEvent {
            event: name.clone(),
            reason: reason.to_owned(),
        };

        // The data of `ping`, `message_stop` and unknown events carries nothing we use, so they
        // decode even when it is not JSON.
        match name.as_str() {
            "ping" => return Ok(StreamEvent::Ping),
            "message_stop" => return Ok(StreamEvent::MessageStop),
            "message_start"
            | "content_block_start"
            | "content_block_delta"
            | "content_block_stop"
            | "message_delta"
            | "error" => {}
            _ => return Ok(StreamEvent::Unknown(name)),
        }

        let data = match parsed {
            Ok(data) => data,
            // An `error` event means the stream failed whatever its data says; keeping that
            // fact beats reporting a parse error.
            Err(_) if name == "error" => {
                return Ok(StreamEvent::Error {
                    error_type: String::new(),
                    message: raw.data.clone(),
                })
            }
            Err(error) => return Err(malformed(&error.to_string())),
        };
        let text = |value: Option<&Value>| value.and_then(Value::as_str).map(str::to_owned);
        let index = || {
            data.get("index")
                .and_then(Value::as_u64)
                .ok_or_else(|| malformed("no `index`"))
        };

        match name.as_str() {
            "message_start" => {
                let message = data
                    .get("message")
                    .ok_or_else(|| malformed("no `message`"))?;
                Ok(StreamEvent::MessageStart {
                    id: text(message.get("id")).ok_or_else(|| malformed("no `message.id`"))?,
                    model: text(message.get("model"))
                        .ok_or_else(|| malformed("no `message.model`"))?,
                    usage: message
                        .get("usage")
                        .map(Usage::from_api)
                        .unwrap_or_default(),
                })
            }
            "content_block_start" => Ok(StreamEvent::ContentBlockStart { index: index()? }),
            "content_block_delta" => Ok(StreamEvent::ContentBlockDelta { index: index()? }),
            "content_block_stop" => Ok(StreamEvent::ContentBlockStop { index: index()? }),
            "message_delta" => Ok(StreamEvent::MessageDelta {
                stop_reason: text(data.get("delta").and_then(|delta| delta.get("stop_reason"))),
                usage: data
                    .get("usage")
                    .map(UsageDelta::from_api)
                    .unwrap_or_default(),
            }),
            _ => {
                let error = data.get("error");
                Ok(StreamEvent::Error {
                    error_type: text(error.and_then(|error| error.get("type"))).unwrap_or_default(),
                    message: text(error.and_then(|error| error.get("message"))).unwrap_or_default(),
                })
            }
        }
    }
}

/// Classifies an `event: error` that arrived after the stream's HTTP 200, by the same table as
/// HTTP errors: `overloaded_error` is `Overloaded` (a 529 in disguise), `api_error` is a server
/// error, and so on. `request_id` is the reply's `request-id` header.
pub fn classify_stream_error(
    error_type: &str,
    message: &str,
    request_id: Option<String>,
) -> Classification {
    stream_error_classification(error_type, message, request_id)
}

/// What a streaming probe measured, built up event by event.
///
/// Times are measured by the caller from when the request was sent; the first occurrence wins,
/// so a repeated event cannot move a time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamTimings {
    pub message_id: Option<String>,
    pub model: Option<String>,
    /// When `message_start` arrived: the API accepted the request and began.
    pub message_start_at: Option<Duration>,
    /// When the first `content_block_delta` arrived: the time to first token.
    pub first_delta_at: Option<Duration>,
    /// When `message_stop` arrived: the whole response.
    pub message_stop_at: Option<Duration>,
    /// The usage so far; final once `message_stop` has arrived.
    pub usage: Usage,
    pub stop_reason: Option<String>,
    /// The first `event: error`, as `(error_type, message)`.
    pub stream_error: Option<(String, String)>,
}

impl StreamTimings {
    pub fn new() -> StreamTimings {
        StreamTimings::default()
    }

    /// Records one event that arrived `elapsed` after the request was sent.
    pub fn observe(&mut self, event: &StreamEvent, elapsed: Duration) {
        match event {
            StreamEvent::MessageStart { id, model, usage } => {
                if self.message_start_at.is_none() {
                    self.message_start_at = Some(elapsed);
                    self.message_id = Some(id.clone());
                    self.model = Some(model.clone());
                    self.usage = usage.clone();
                }
            }
            StreamEvent::ContentBlockDelta { .. } => {
                self.first_delta_at.get_or_insert(elapsed);
            }
            StreamEvent::MessageDelta { stop_reason, usage } => {
                if stop_reason.is_some() {
                    self.stop_reason.clone_from(stop_reason);
                }
                self.usage.merge_cumulative(usage);
            }
            StreamEvent::MessageStop => {
                self.message_stop_at.get_or_insert(elapsed);
            }
            StreamEvent::Error {
                error_type,
                message,
            } => {
                if self.stream_error.is_none() {
                    self.stream_error = Some((error_type.clone(), message.clone()));
                }
            }
            StreamEvent::ContentBlockStart { .. }
            | StreamEvent::ContentBlockStop { .. }
            | StreamEvent::Ping
            | StreamEvent::Unknown(_) => {}
        }
    }

    /// Whether the stream ran to `message_stop` without an error event.
    pub fn is_complete(&self) -> bool {
        self.message_stop_at.is_some() && self.stream_error.is_none()
    }

    /// The stream error, classified; `None` when the stream carried no error.
    pub fn error_classification(&self, request_id: Option<String>) -> Option<Classification> {
        self.stream_error
            .as_ref()
            .map(|(error_type, message)| classify_stream_error(error_type, message, request_id))
    }
}
