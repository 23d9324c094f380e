//! A Chat Completions event stream turned, chunk by chunk, into the Messages event stream
//! (api-facts B5): `message_start`, per block `content_block_start` / `_delta` / `_stop`, then
//! `message_delta` with the stop reason and usage, and `message_stop`.
//!
//! Chat streams one choice whose delta mixes text and tool-call fragments keyed by a tool index;
//! Messages streams numbered blocks one after another. So text opens a text block, each new tool
//! index opens a tool_use block, and a fragment for a block already closed is an error rather
//! than a reordering. A stream is complete only once a `finish_reason` was seen: a body that just
//! stops is a cut stream and never gets a `message_stop`.

use serde::Serialize;
use serde_json::{Map, Value};

use super::response::{
    final_stop_reason, in_band_error, parse_arguments, stop_reason, tool_use_id, MessageBody,
    UsageBody,
};
use super::{bounded, AnthropicError, ChatUsage};
use crate::sse::{SseError, SseEvent, SseParser};

/// The longest line (and event) accepted from upstream. Chat chunks are a few hundred bytes; a
/// line this long is not a Chat stream.
const MAX_LINE_BYTES: usize = SseParser::DEFAULT_MAX_BYTES;

/// The most content blocks one answer may open; far above any real answer's tool calls.
const MAX_BLOCKS: usize = 128;

/// The most argument bytes one tool call may stream. They are kept to check, at the block's end,
/// that they form a JSON object; a tool writing a whole file can legitimately send megabytes.
const MAX_TOOL_ARGUMENT_BYTES: usize = 8 * 1024 * 1024;

/// Translates a Chat Completions SSE stream into the Messages SSE sequence, event by event.
#[derive(Debug)]
pub struct StreamTranslator {
    parser: SseParser,
    /// Reused between pushes to spare an allocation per chunk.
    events: Vec<SseEvent>,
    requested_model: String,
    message_id: String,
    target: String,
    state: State,
    started: bool,
    open: Option<OpenBlock>,
    /// The number of blocks opened so far, which is also the next block's index.
    blocks: usize,
    /// The number of tool calls opened so far, for generated ids.
    tool_calls: usize,
    /// The highest Chat tool-call index that got a block; a lower one later is out of order.
    last_tool_index: Option<u64>,
    /// The mapped `finish_reason`, once seen.
    finish: Option<&'static str>,
    refused: bool,
    usage: ChatUsage,
    stop_reason: Option<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Running,
    Complete,
    Failed,
}

#[derive(Debug)]
enum OpenBlock {
    Text {
        index: usize,
    },
    Tool {
        index: usize,
        chat_index: u64,
        arguments: String,
    },
}

impl StreamTranslator {
    /// A translator for one answer: `requested_model` is the Claude model the client asked for,
    /// `message_id` the caller's "msg_…" id, `target` the label errors start with.
    pub fn new(requested_model: &str, message_id: &str, target: &str) -> StreamTranslator {
        StreamTranslator {
            parser: SseParser::with_max_bytes(MAX_LINE_BYTES),
            events: Vec::new(),
            requested_model: requested_model.to_owned(),
            message_id: message_id.to_owned(),
            target: target.to_owned(),
            state: State::Running,
            started: false,
            open: None,
            blocks: 0,
            tool_calls: 0,
            last_tool_index: None,
            finish: None,
            refused: false,
            usage: ChatUsage::default(),
            stop_reason: None,
        }
    }

    /// Feeds raw upstream bytes (split anywhere) and appends the Messages events they complete
    /// to `out`. On `Err` the stream is broken: `out` still holds the events translated before
    /// the fault, and the caller writes `err.sse_event()` after them (or, if `started()` is
    /// false, answers with `err.status` and `err.body()`) and stops. After an error or a
    /// complete stream, further calls do nothing.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), AnthropicError> {
        if self.state != State::Running {
            return Ok(());
        }
        let mut events = std::mem::take(&mut self.events);
        let result = match self.parser.push_into(chunk, &mut events) {
            Ok(()) => self.handle_events(&mut events, out),
            Err(error) => Err(self.framing_error(&error)),
        };
        events.clear();
        self.events = events;
        self.settle(result)
    }

    /// The upstream body ended cleanly. The stream is complete only if a `finish_reason` was
    /// seen (`[DONE]` is not required); then the open block is closed and `message_delta` and
    /// `message_stop` are appended. Otherwise it was cut: an `Err`, and no `message_stop`.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), AnthropicError> {
        if self.state != State::Running {
            return Ok(());
        }
        let result = match self.parser.finish() {
            // An event without its closing blank line is taken if it reads; if it does not,
            // and no finish_reason came, the body was cut mid-line, and that is what to report.
            Ok(Some(event)) => match self.handle_events(&mut vec![event], out) {
                Err(_) if self.finish.is_none() => {
                    Err(self.fail("the stream ended before it was complete"))
                }
                other => other,
            },
            Ok(None) => Ok(()),
            Err(error) => Err(self.framing_error(&error)),
        };
        let result = result.and_then(|()| {
            if self.state == State::Running {
                self.complete_stream(out)
            } else {
                Ok(())
            }
        });
        self.settle(result)
    }

    /// True once any byte was appended to `out` (`message_start` was sent).
    pub fn started(&self) -> bool {
        self.started
    }

    /// True after a clean finish.
    pub fn complete(&self) -> bool {
        self.state == State::Complete
    }

    /// The usage the provider reported so far (its last report wins).
    pub fn usage(&self) -> ChatUsage {
        self.usage
    }

    /// The Anthropic stop_reason, once the stream is complete.
    pub fn stop_reason(&self) -> Option<&'static str> {
        self.stop_reason
    }

    fn settle(&mut self, result: Result<(), AnthropicError>) -> Result<(), AnthropicError> {
        if result.is_err() {
            self.state = State::Failed;
        }
        result
    }

    fn fail(&self, what: &str) -> AnthropicError {
        AnthropicError::upstream(&self.target, what)
    }

    fn framing_error(&self, error: &SseError) -> AnthropicError {
        self.fail(&format!("the stream is not readable: {error}"))
    }

    fn handle_events(
        &mut self,
        events: &mut Vec<SseEvent>,
        out: &mut Vec<u8>,
    ) -> Result<(), AnthropicError> {
        for event in events.drain(..) {
            if self.state != State::Running {
                // `[DONE]` ended the stream; anything after it is not part of the answer.
                break;
            }
            self.handle_event(&event, out)?;
        }
        Ok(())
    }

    fn handle_event(&mut self, event: &SseEvent, out: &mut Vec<u8>) -> Result<(), AnthropicError> {
        let data = event.data.trim();
        if data == "[DONE]" {
            return self.complete_stream(out);
        }
        let chunk: Value = match serde_json::from_str(data) {
            Ok(chunk) => chunk,
            Err(_) if event.event.as_deref() == Some("error") => {
                return Err(self.fail(&format!(
                    "the stream reported an error: {}",
                    bounded(data, 500)
                )))
            }
            Err(error) => return Err(self.fail(&format!("a stream chunk is not JSON ({error})"))),
        };
        if chunk.get("error").is_some_and(|error| !error.is_null())
            || event.event.as_deref() == Some("error")
        {
            return Err(in_band_error(&chunk, &self.target));
        }
        self.ensure_started(out);
        if let Some(usage @ Value::Object(_)) = chunk.get("usage") {
            self.usage = ChatUsage::from_chat(usage);
        }
        let Some(Value::Array(choices)) = chunk.get("choices") else {
            return Ok(());
        };
        for choice in choices {
            // The request never asks for several choices (`n`); a server that sends them anyway
            // is answered with the first.
            if choice.get("index").and_then(Value::as_u64).unwrap_or(0) != 0 {
                continue;
            }
            self.handle_choice(choice, out)?;
        }
        Ok(())
    }

    fn handle_choice(&mut self, choice: &Value, out: &mut Vec<u8>) -> Result<(), AnthropicError> {
        if self.finish.is_some() {
            // Nothing may follow the finish in Messages; the usage chunk has no choices.
            return Ok(());
        }
        if let Some(delta) = choice.get("delta") {
            if let Some(text) = delta.get("content").and_then(Value::as_str) {
                self.text(text, out)?;
            }
            if let Some(refusal) = delta.get("refusal").and_then(Value::as_str) {
                if !refusal.is_empty() {
                    self.refused = true;
                    self.text(refusal, out)?;
                }
            }
            match delta.get("tool_calls") {
                Some(Value::Array(calls)) => {
                    for call in calls {
                        self.tool_call(call, out)?;
                    }
                }
                None | Some(Value::Null) => {}
                Some(_) => return Err(self.fail("a stream chunk whose tool_calls is not an array")),
            }
            // The legacy `function_call` streams like one tool call at index 0.
            if let Some(call @ Value::Object(_)) = delta.get("function_call") {
                let mut call = call.clone();
                if let Value::Object(fields) = &mut call {
                    let function = Value::Object(std::mem::take(fields));
                    fields.insert("index".into(), Value::from(0));
                    fields.insert("function".into(), function);
                }
                self.tool_call(&call, out)?;
            }
        }
        match choice.get("finish_reason") {
            None | Some(Value::Null) => Ok(()),
            Some(Value::String(reason)) => match stop_reason(reason) {
                Some(mapped) => {
                    self.finish = Some(mapped);
                    Ok(())
                }
                None => Err(self.fail(&format!("unknown finish_reason `{}`", bounded(reason, 64)))),
            },
            Some(_) => Err(self.fail("a finish_reason that is not a string")),
        }
    }

    fn text(&mut self, text: &str, out: &mut Vec<u8>) -> Result<(), AnthropicError> {
        // OpenAI opens with `"content":""`; a text block opens only for real text, so an answer
        // that only calls tools has no empty text block.
        if text.is_empty() {
            return Ok(());
        }
        let index = match &self.open {
            Some(OpenBlock::Text { index }) => *index,
            _ => {
                let index = self.start_block(StartBlock::Text { text: "" }, out)?;
                self.open = Some(OpenBlock::Text { index });
                index
            }
        };
        write_event(
            out,
            "content_block_delta",
            &ContentBlockDelta {
                kind: "content_block_delta",
                index,
                delta: Delta::TextDelta { text },
            },
        );
        Ok(())
    }

    fn tool_call(&mut self, call: &Value, out: &mut Vec<u8>) -> Result<(), AnthropicError> {
        // Gemini sends each call whole, without an `index`: every such entry is a new call.
        let chat_index = match call.get("index") {
            Some(index) => index
                .as_u64()
                .ok_or_else(|| self.fail("a tool-call delta with an invalid index"))?,
            None => self
                .last_tool_index
                .map_or(0, |last| last.saturating_add(1)),
        };
        let function = call.get("function");
        let fragment = function
            .and_then(|function| function.get("arguments"))
            .and_then(Value::as_str)
            .unwrap_or("");

        let continues_open = matches!(
            &self.open,
            Some(OpenBlock::Tool { chat_index: open, .. }) if *open == chat_index
        );
        if !continues_open {
            if self.last_tool_index.is_some_and(|last| chat_index <= last) {
                return Err(self.fail(&format!(
                    "a tool-call delta (index {chat_index}) for a block already closed"
                )));
            }
            let name = function
                .and_then(|function| function.get("name"))
                .and_then(Value::as_str)
                .filter(|name| !name.is_empty())
                .ok_or_else(|| self.fail("a tool call whose first delta has no name"))?;
            let upstream_id = call.get("id").and_then(Value::as_str).unwrap_or("");
            let id = tool_use_id(upstream_id, &self.message_id, self.tool_calls);
            let start = StartBlock::ToolUse {
                id: &id,
                name,
                input: Map::new(),
            };
            let index = self.start_block(start, out)?;
            self.tool_calls += 1;
            self.last_tool_index = Some(chat_index);
            self.open = Some(OpenBlock::Tool {
                index,
                chat_index,
                arguments: String::new(),
            });
        }
        if fragment.is_empty() {
            return Ok(());
        }
        let too_long = matches!(
            &self.open,
            Some(OpenBlock::Tool { arguments, .. })
                if arguments.len().saturating_add(fragment.len()) > MAX_TOOL_ARGUMENT_BYTES
        );
        if too_long {
            return Err(self.fail("a tool call's arguments exceed 8 MiB"));
        }
        let Some(OpenBlock::Tool {
            index, arguments, ..
        }) = &mut self.open
        else {
            return Ok(());
        };
        arguments.push_str(fragment);
        write_event(
            out,
            "content_block_delta",
            &ContentBlockDelta {
                kind: "content_block_delta",
                index: *index,
                delta: Delta::InputJsonDelta {
                    partial_json: fragment,
                },
            },
        );
        Ok(())
    }

    /// Closes the open block and writes the `content_block_start` of the next one, whose index
    /// it returns; the caller records what is open, since text and tool blocks keep different
    /// state.
    fn start_block(
        &mut self,
        content_block: StartBlock<'_>,
        out: &mut Vec<u8>,
    ) -> Result<usize, AnthropicError> {
        self.close_open(out)?;
        let index = self.next_block()?;
        write_event(
            out,
            "content_block_start",
            &ContentBlockStart {
                kind: "content_block_start",
                index,
                content_block,
            },
        );
        Ok(index)
    }

    fn next_block(&mut self) -> Result<usize, AnthropicError> {
        if self.blocks >= MAX_BLOCKS {
            return Err(self.fail("the answer opens more than 128 content blocks"));
        }
        let index = self.blocks;
        self.blocks += 1;
        Ok(index)
    }

    /// Closes the open block. A tool block's arguments must form a JSON object by then, since
    /// the client parses them into the tool's `input`.
    fn close_open(&mut self, out: &mut Vec<u8>) -> Result<(), AnthropicError> {
        let index = match self.open.take() {
            None => return Ok(()),
            Some(OpenBlock::Text { index }) => index,
            Some(OpenBlock::Tool {
                index, arguments, ..
            }) => {
                parse_arguments(&arguments)
                    .map_err(|why| self.fail(&format!("a tool call has {why}")))?;
                index
            }
        };
        write_event(
            out,
            "content_block_stop",
            &ContentBlockStop {
                kind: "content_block_stop",
                index,
            },
        );
        Ok(())
    }

    fn ensure_started(&mut self, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        // The input count is known only at the end (Chat reports usage last), so the start
        // reports zeros and `message_delta` carries the totals; clients read both.
        write_event(
            out,
            "message_start",
            &MessageStart {
                kind: "message_start",
                message: MessageBody {
                    id: &self.message_id,
                    kind: "message",
                    role: "assistant",
                    model: &self.requested_model,
                    content: Vec::new(),
                    stop_reason: None,
                    stop_sequence: None,
                    usage: ChatUsage::default().into(),
                },
            },
        );
    }

    fn complete_stream(&mut self, out: &mut Vec<u8>) -> Result<(), AnthropicError> {
        let Some(mapped) = self.finish else {
            return Err(self.fail("the stream ended before it was complete"));
        };
        self.ensure_started(out);
        self.close_open(out)?;
        let stop_reason = final_stop_reason(mapped, self.tool_calls > 0, self.refused);
        write_event(
            out,
            "message_delta",
            &MessageDelta {
                kind: "message_delta",
                delta: StopDelta {
                    stop_reason,
                    stop_sequence: None,
                },
                usage: self.usage.into(),
            },
        );
        write_event(
            out,
            "message_stop",
            &MessageStop {
                kind: "message_stop",
            },
        );
        self.stop_reason = Some(stop_reason);
        self.state = State::Complete;
        Ok(())
    }
}

fn write_event<T: Serialize>(out: &mut Vec<u8>, name: &str, data: &T) {
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    // These types hold only strings, numbers and JSON values, which always serialise; writing to
    // a vector cannot fail either.
    let _ = serde_json::to_writer(&mut *out, data);
    out.extend_from_slice(b"\n\n");
}

#[derive(Serialize)]
struct MessageStart<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    message: MessageBody<'a>,
}

#[derive(Serialize)]
struct ContentBlockStart<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    index: usize,
    content_block: StartBlock<'a>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum StartBlock<'a> {
    Text {
        text: &'static str,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: Map<String, Value>,
    },
}

#[derive(Serialize)]
struct ContentBlockDelta<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    index: usize,
    delta: Delta<'a>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Delta<'a> {
    TextDelta { text: &'a str },
    InputJsonDelta { partial_json: &'a str },
}

#[derive(Serialize)]
struct ContentBlockStop {
    #[serde(rename = "type")]
    kind: &'static str,
    index: usize,
}

#[derive(Serialize)]
struct MessageDelta {
    #[serde(rename = "type")]
    kind: &'static str,
    delta: StopDelta,
    usage: UsageBody,
}

#[derive(Serialize)]
struct StopDelta {
    stop_reason: &'static str,
    stop_sequence: Option<()>,
}

#[derive(Serialize)]
struct MessageStop {
    #[serde(rename = "type")]
    kind: &'static str,
}
