//! One line of a Claude Code transcript read into a [`UsageRecord`], or skipped.
//!
//! A transcript holds every event of a session (user turns, tool results, summaries, queue
//! operations), and only the assistant lines that carry the API's `usage` object are usage. Most
//! bytes of a transcript are in the other lines (long user text, tool output), so a line is first
//! searched for `"usage"` or `"isApiErrorMessage"` with `memchr`, and only a line that has one is
//! handed to serde, into borrowed structs that skip every field we do not read.
//!
//! The rules follow ccusage (the tool users compare us with), so that the two agree to the token:
//! a line counts when it has a timestamp and `message.usage` with `input_tokens` and
//! `output_tokens`; `speed: "fast"` marks the model as `<model>-fast`, as ccusage does, because fast
//! mode is priced differently. Synthetic API-error lines (`isApiErrorMessage: true`, model
//! `<synthetic>`) become records with an HTTP status and no tokens.

use std::borrow::Cow;
use std::path::Path;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use claude_status_core::usage::{TokenCounts, UsageRecord, UsageSource};
use memchr::memmem;
use serde::de::IgnoredAny;
use serde::Deserialize;

/// What the file a line came from tells about it: the session (when a line has no `sessionId`)
/// and the project folder.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileContext {
    /// The file name without `.jsonl`.
    pub session_id: Option<String>,
    /// The folder right under `projects/` (`-Users-me-proj`).
    pub project: Option<String>,
}

impl FileContext {
    /// The context of a transcript found under `projects_dir`: the project is the first folder
    /// below it (none for a file lying directly in it).
    pub fn within(projects_dir: &Path, path: &Path) -> FileContext {
        let mut context = FileContext::from_path(path);
        if let Ok(relative) = path.strip_prefix(projects_dir) {
            let names: Vec<&std::ffi::OsStr> =
                relative.components().map(|c| c.as_os_str()).collect();
            context.project = (names.len() >= 2)
                .then(|| names[0].to_str())
                .flatten()
                .filter(|p| !p.trim().is_empty())
                .map(str::to_owned);
        }
        context
    }

    /// Reads the session and project from a transcript path such as
    /// `…/projects/<project>/<session>.jsonl` or `…/projects/<project>/<session>/subagents/agent-x.jsonl`.
    pub fn from_path(path: &Path) -> FileContext {
        let name = |path: Option<&Path>| {
            path.and_then(|p| p.file_name())
                .and_then(|name| name.to_str())
                .filter(|name| !name.is_empty())
                .map(str::to_owned)
        };
        // `<session>/subagents/agent-<id>.jsonl` belongs to `<session>`.
        let parent = path.parent();
        let session_id = if name(parent).as_deref() == Some("subagents") {
            name(parent.and_then(Path::parent))
        } else {
            path.file_stem()
                .and_then(|stem| stem.to_str())
                .filter(|stem| !stem.is_empty())
                .map(str::to_owned)
        };
        let mut project = None;
        // The last `projects` component wins, so a home directory named `projects` is harmless.
        let names: Vec<Option<&str>> = path.components().map(|c| c.as_os_str().to_str()).collect();
        if let Some(index) = names.iter().rposition(|name| *name == Some("projects")) {
            // The folder after `projects/` is a project only when a file sits below it.
            if index + 2 < names.len() {
                project = names[index + 1]
                    .filter(|p| !p.trim().is_empty())
                    .map(str::to_owned);
            }
        }
        FileContext {
            session_id,
            project,
        }
    }
}

/// What one line turned out to be.
// The record is moved out at once; boxing it would cost an allocation per line for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ParsedLine {
    /// A usage record (an assistant reply, or a synthetic API-error line with its status).
    Record(UsageRecord),
    /// A line that is not usage: user turns, summaries, lines without usage or timestamp.
    Skipped,
    /// A line that looked like usage but is not valid JSON of the expected shape.
    Malformed,
}

/// The model Claude Code writes on the lines it makes up itself (API errors, interruptions).
pub const SYNTHETIC_MODEL: &str = "<synthetic>";

/// Reads one transcript line (without its newline).
pub fn parse_line(line: &[u8], context: &FileContext) -> ParsedLine {
    let line = trim_ascii(line);
    if line.is_empty() {
        return ParsedLine::Skipped;
    }
    // The searchers are built once: building one per line was most of the search's cost.
    static USAGE: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new(b"\"usage\""));
    static API_ERROR: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new(b"\"isApiErrorMessage\""));
    // A line with usage is not searched a second time for the error flag: serde reads both.
    if USAGE.find(line).is_none() && API_ERROR.find(line).is_none() {
        return ParsedLine::Skipped;
    }
    let raw: RawLine<'_> = match serde_json::from_slice(line) {
        Ok(raw) => raw,
        Err(_) => return ParsedLine::Malformed,
    };
    if raw.is_api_error_message == Some(true) {
        return error_record(line, raw, context);
    }
    let outer_session_id = raw.session_id.clone();
    // Old versions wrote a subagent's replies into the parent file as progress events, with the
    // reply one level down (`data.message`); ccusage counts them, so do we.
    let (entry, from_progress) = if raw.message.as_ref().is_some_and(|m| m.usage.is_some()) {
        (RawEntry::from(raw), false)
    } else {
        match raw.data.and_then(|data| data.message) {
            Some(inner) => (inner, true),
            None => return ParsedLine::Skipped,
        }
    };
    let Some(message) = entry.message else {
        return ParsedLine::Skipped;
    };
    let Some(usage) = message.usage else {
        return ParsedLine::Skipped;
    };
    // ccusage requires both counts; a line without them is not usage.
    if usage.input_tokens.is_none() || usage.output_tokens.is_none() {
        return ParsedLine::Skipped;
    }
    let Some(at) = entry.timestamp.as_deref().and_then(parse_timestamp) else {
        return ParsedLine::Skipped;
    };
    let model = message.model.as_deref().unwrap_or_default();
    if model == SYNTHETIC_MODEL {
        // Interruptions and other made-up replies: zero tokens, no request behind them.
        return ParsedLine::Skipped;
    }
    let model = if usage.speed.as_deref() == Some("fast") {
        format!("{model}-fast")
    } else {
        model.to_owned()
    };
    let tokens = token_counts(&usage);
    let session_id = if from_progress {
        entry.session_id.or(outer_session_id)
    } else {
        entry.session_id
    };
    ParsedLine::Record(UsageRecord {
        at,
        source: UsageSource::ClaudeCode,
        model,
        tokens,
        status: None,
        latency_ms: None,
        ttft_ms: None,
        service_tier: usage.service_tier.map(Cow::into_owned),
        message_id: non_empty(message.id),
        request_id: non_empty(entry.request_id),
        session_id: non_empty(session_id).or_else(|| context.session_id.clone()),
        project: context.project.clone(),
        reported_cost_usd: entry.cost_usd,
        is_sidechain: entry.is_sidechain.unwrap_or(false),
    })
}

/// A synthetic API-error line: the status it records, no tokens.
fn error_record(line: &[u8], mut raw: RawLine<'_>, context: &FileContext) -> ParsedLine {
    let status = raw
        .api_error_status
        .take()
        .and_then(Lenient::number)
        .and_then(|n| u16::try_from(n).ok())
        .or_else(|| status_from_text(raw.error.as_ref().and_then(Lenient::text)));
    let entry = RawEntry::from(raw);
    let Some(at) = entry.timestamp.as_deref().and_then(parse_timestamp) else {
        return ParsedLine::Skipped;
    };
    let status = status
        .or_else(|| status_from_line_text(line))
        // An error line says a request failed even when it does not say how.
        .unwrap_or(500);
    let message = entry.message.unwrap_or_default();
    ParsedLine::Record(UsageRecord {
        at,
        source: UsageSource::ClaudeCode,
        model: message
            .model
            .map(Cow::into_owned)
            .unwrap_or_else(|| SYNTHETIC_MODEL.to_owned()),
        tokens: TokenCounts::default(),
        status: Some(status),
        latency_ms: None,
        ttft_ms: None,
        service_tier: None,
        message_id: non_empty(message.id),
        request_id: non_empty(entry.request_id),
        session_id: non_empty(entry.session_id).or_else(|| context.session_id.clone()),
        project: context.project.clone(),
        reported_cost_usd: None,
        is_sidechain: entry.is_sidechain.unwrap_or(false),
    })
}

/// Maps the words of an error to a status: rate limits to 429, overload to 529.
fn status_from_text(text: Option<&str>) -> Option<u16> {
    let text = text?.to_ascii_lowercase();
    if text.contains("rate_limit")
        || text.contains("rate limit")
        || text.contains("usage limit")
        || text.contains("session limit")
        || text.contains("429")
    {
        Some(429)
    } else if text.contains("overloaded") || text.contains("529") {
        Some(529)
    } else {
        None
    }
}

/// The message text of an error line, read only when the structured fields say nothing.
fn status_from_line_text(line: &[u8]) -> Option<u16> {
    let text: ErrorText<'_> = serde_json::from_slice(line).ok()?;
    let blocks = text.message?.content?;
    blocks
        .iter()
        .find_map(|block| status_from_text(block.text.as_deref()))
}

/// Splits cache creation the way the pricing needs it.
///
/// `cache_creation_input_tokens` is the total that ccusage counts, so it stays the total here;
/// the `cache_creation` object only says how much of it went to the 1-hour cache. Without the
/// split, all creation is 5-minute (the default TTL).
fn token_counts(usage: &RawUsage<'_>) -> TokenCounts {
    let split = usage.cache_creation.as_ref();
    let split_5m = split.and_then(|s| s.ephemeral_5m_input_tokens).unwrap_or(0);
    let split_1h = split.and_then(|s| s.ephemeral_1h_input_tokens).unwrap_or(0);
    let creation = usage
        .cache_creation_input_tokens
        .unwrap_or(split_5m.saturating_add(split_1h));
    let cache_write_1h = split_1h.min(creation);
    TokenCounts {
        input: usage.input_tokens.unwrap_or(0),
        output: usage.output_tokens.unwrap_or(0),
        cache_write_5m: creation - cache_write_1h,
        cache_write_1h,
        cache_read: usage.cache_read_input_tokens.unwrap_or(0),
    }
}

/// Reads `2026-08-20T10:21:56.220Z` (or any RFC 3339 time) as UTC.
fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|time| time.with_timezone(&Utc))
}

fn non_empty(text: Option<Cow<'_, str>>) -> Option<String> {
    text.filter(|t| !t.is_empty()).map(Cow::into_owned)
}

fn trim_ascii(mut bytes: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = bytes {
        if first.is_ascii_whitespace() {
            bytes = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = bytes {
        if last.is_ascii_whitespace() {
            bytes = rest;
        } else {
            break;
        }
    }
    bytes
}

/// The fields of a transcript line we read; serde skips the rest without allocating.
///
/// The fields are spelled out rather than `#[serde(flatten)]`ed from [`RawEntry`] because
/// flattening makes serde buffer the whole line first, which costs more than the parse itself.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLine<'a> {
    #[serde(default, borrow)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    session_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    request_id: Option<Cow<'a, str>>,
    #[serde(default)]
    is_sidechain: Option<bool>,
    #[serde(default, rename = "costUSD")]
    cost_usd: Option<f64>,
    #[serde(default, borrow)]
    message: Option<RawMessage<'a>>,
    #[serde(default)]
    is_api_error_message: Option<bool>,
    #[serde(default, borrow)]
    api_error_status: Option<Lenient<'a>>,
    #[serde(default, borrow)]
    error: Option<Lenient<'a>>,
    #[serde(default, borrow)]
    data: Option<RawProgressData<'a>>,
}

/// A reply: the line itself, or the reply inside a progress event.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawEntry<'a> {
    #[serde(default, borrow)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    session_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    request_id: Option<Cow<'a, str>>,
    #[serde(default)]
    is_sidechain: Option<bool>,
    #[serde(default, rename = "costUSD")]
    cost_usd: Option<f64>,
    #[serde(default, borrow)]
    message: Option<RawMessage<'a>>,
}

#[derive(Deserialize)]
struct RawProgressData<'a> {
    #[serde(default, borrow)]
    message: Option<RawEntry<'a>>,
}

#[derive(Deserialize, Default)]
struct RawMessage<'a> {
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    usage: Option<RawUsage<'a>>,
}

#[derive(Deserialize)]
struct RawUsage<'a> {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    cache_creation: Option<RawCacheCreation>,
    #[serde(default, borrow)]
    service_tier: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    speed: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct RawCacheCreation {
    #[serde(default)]
    ephemeral_5m_input_tokens: Option<u64>,
    #[serde(default)]
    ephemeral_1h_input_tokens: Option<u64>,
}

impl<'a> From<RawLine<'a>> for RawEntry<'a> {
    fn from(line: RawLine<'a>) -> Self {
        RawEntry {
            timestamp: line.timestamp,
            session_id: line.session_id,
            request_id: line.request_id,
            is_sidechain: line.is_sidechain,
            cost_usd: line.cost_usd,
            message: line.message,
        }
    }
}

/// A field whose type varies between versions (`error` is a string or an object,
/// `apiErrorStatus` a number or a string): read it when we can, never fail the line on it.
#[derive(Deserialize)]
#[serde(untagged)]
enum Lenient<'a> {
    Number(u64),
    Text(#[serde(borrow)] Cow<'a, str>),
    Other(IgnoredAny),
}

impl<'a> Lenient<'a> {
    fn number(self) -> Option<u64> {
        match self {
            Lenient::Number(n) => Some(n),
            Lenient::Text(text) => text.trim().parse().ok(),
            Lenient::Other(_) => None,
        }
    }

    fn text(&self) -> Option<&str> {
        match self {
            Lenient::Text(text) => Some(text),
            _ => None,
        }
    }
}

/// An error line's text, for the rare line without a status.
#[derive(Deserialize)]
struct ErrorText<'a> {
    #[serde(default, borrow)]
    message: Option<ErrorMessage<'a>>,
}

#[derive(Deserialize)]
struct ErrorMessage<'a> {
    #[serde(default, borrow)]
    content: Option<Vec<ErrorBlock<'a>>>,
}

#[derive(Deserialize)]
struct ErrorBlock<'a> {
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.
mod tests {
    use super::*;

    fn record(line: &str) -> UsageRecord {
        match parse_line(line.as_bytes(), &FileContext::default()) {
            ParsedLine::Record(record) => record,
            other => panic!("expected a record, got {other:?}"),
        }
    }

    #[test]
    fn the_cache_creation_split_is_kept_and_bounded_by_the_total() {
        let r = record(
            r#"{"timestamp":"2026-08-20T10:21:56.220Z","message":{"id":"m","model":"x","usage":{"input_tokens":1,"output_tokens":2,"cache_creation_input_tokens":30,"cache_read_input_tokens":4,"cache_creation":{"ephemeral_5m_input_tokens":10,"ephemeral_1h_input_tokens":20},"service_tier":"standard"}}}"#,
        );
        assert_eq!(
            r.tokens,
            TokenCounts {
                input: 1,
                output: 2,
                cache_write_5m: 10,
                cache_write_1h: 20,
                cache_read: 4
            }
        );
        assert_eq!(r.service_tier.as_deref(), Some("standard"));
    }

    #[test]
    fn without_the_split_all_creation_is_five_minute() {
        let r = record(
            r#"{"timestamp":"2026-08-20T10:21:56Z","message":{"model":"x","usage":{"input_tokens":1,"output_tokens":2,"cache_creation_input_tokens":30}}}"#,
        );
        assert_eq!((r.tokens.cache_write_5m, r.tokens.cache_write_1h), (30, 0));
    }

    #[test]
    fn fast_mode_is_a_model_suffix_as_in_ccusage() {
        let r = record(
            r#"{"timestamp":"2026-01-09T12:30:00.000Z","message":{"model":"claude-opus-4-6","usage":{"input_tokens":1,"output_tokens":2,"speed":"fast"}}}"#,
        );
        assert_eq!(r.model, "claude-opus-4-6-fast");
    }

    #[test]
    fn an_error_line_without_status_is_read_from_its_words() {
        let r = record(
            r#"{"type":"assistant","timestamp":"2026-04-20T17:27:18.779Z","message":{"id":"e5","model":"<synthetic>","content":[{"type":"text","text":"API Error: Repeated 529 Overloaded errors"}]},"isApiErrorMessage":true}"#,
        );
        assert_eq!(r.status, Some(529));
        let r = record(
            r#"{"timestamp":"2026-04-20T17:27:18.779Z","message":{"model":"<synthetic>"},"error":"rate_limit","isApiErrorMessage":true}"#,
        );
        assert_eq!(r.status, Some(429));
        assert_eq!(r.tokens, TokenCounts::default());
    }

    #[test]
    fn odd_types_in_error_fields_do_not_make_a_line_malformed() {
        let r = record(
            r#"{"timestamp":"2026-04-20T17:27:18.779Z","message":{"model":"<synthetic>"},"error":{"type":"overloaded_error"},"apiErrorStatus":"529","isApiErrorMessage":true}"#,
        );
        assert_eq!(r.status, Some(529));
    }

    #[test]
    fn lines_without_usage_are_skipped_and_broken_ones_counted() {
        let ctx = FileContext::default();
        assert_eq!(
            parse_line(br#"{"type":"user","message":{"content":"hi"}}"#, &ctx),
            ParsedLine::Skipped
        );
        assert_eq!(
            parse_line(
                br#"{"type":"assistant","message":{"usage":{"input_tok"#,
                &ctx
            ),
            ParsedLine::Malformed
        );
        assert_eq!(parse_line(b"   ", &ctx), ParsedLine::Skipped);
    }

    #[test]
    fn the_project_and_session_come_from_the_path() {
        let ctx = FileContext::from_path(Path::new(
            "/h/.claude/projects/-w-app/abc/subagents/agent-1.jsonl",
        ));
        assert_eq!(ctx.project.as_deref(), Some("-w-app"));
        assert_eq!(ctx.session_id.as_deref(), Some("abc"));
        let ctx = FileContext::from_path(Path::new("/h/.claude/projects/-w-app/abc.jsonl"));
        assert_eq!(ctx.project.as_deref(), Some("-w-app"));
    }
}
