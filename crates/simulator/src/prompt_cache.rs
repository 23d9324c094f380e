//! Prompt caching as the real API does it: where a request's cache breakpoints are, how many tokens each prefix holds, and a bounded per-organisation cache of prefixes that lives on story time.
//!
//! # The token model
//!
//! The simulator estimates tokens deterministically: a *segment* of a request costs
//! `ceil(characters / 4) + 7` tokens, where characters are those of every string value in it
//! (object keys and numbers are not counted). A request has up to three segments, in the order
//! the real cache reads a prompt: `tools` (only when it is a non-empty list), `system` (whenever
//! present) and `messages`. A request's input is the sum of its segments, which is exactly what
//! the simulator counted before it knew about tools and caching for any request without `tools`.
//!
//! The tokens of a prefix that ends at one block are the full estimates of the segments before
//! the block's segment, plus `ceil(c / 4) + 7` where `c` counts the characters of the block's
//! segment up to and including the block. So each segment's `+ 7` belongs to its start (a
//! prefix that reaches into a segment pays it whole), the figure never falls from one block to
//! the next, and the prefix that ends at a request's very last block is the request's whole
//! input. Within `messages`, a message's fields other than `content` (its `role`) count before
//! its first block; a message whose `content` is a string is one block.
//!
//! `cache_control` fields on blocks are left out of both the characters and the cache key, so
//! marking a block changes neither what a request costs nor which entry it finds.
//!
//! # The cache
//!
//! Entries are kept per organisation (the hash of the API key: the real cache is per
//! organisation and the key is never kept in clear), per model (normalised, so a snapshot and
//! its alias share entries) and per prefix (a hash of every block up to the breakpoint). An
//! entry lives five minutes, or an hour for `"ttl": "1h"`, from its last use, on story time,
//! so a manual or sped-up clock moves it. A request looks its breakpoints up from the last to
//! the first, each with the 20 block boundaries before it as the real API does: the longest
//! live prefix is read (and its lifetime starts again); the tokens from
//! there to the last breakpoint are written, one entry at each breakpoint that reaches the
//! model's minimum (api-facts D3); the tokens after the last breakpoint are plain input. The
//! cache holds at most [`CAPACITY`] entries: when it is full, expired entries go first and then
//! the one closest to expiring. A scenario switch empties it, since story time starts again.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Duration;

use serde_json::Value;

use crate::models;

/// The most blocks a request may mark, as the real API enforces (api-facts D3).
const MAXIMUM_BREAKPOINTS: usize = 4;

/// How many entries the simulator keeps at most, so a long soak or a client that never repeats
/// a prefix cannot grow its memory without end.
pub(crate) const CAPACITY: usize = 10_000;

/// Where a cacheable block sits in a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockLocation {
    /// The tool definition at this index of `tools`.
    Tool(usize),
    /// The text block at this index of `system` (only when `system` is a list of blocks).
    System(usize),
    /// The content block `block` of message `message`; a message whose content is a string is
    /// its one block, `block: 0`.
    Message {
        /// The message's index in `messages`.
        message: usize,
        /// The block's index in the message's `content`.
        block: usize,
    },
}

/// One cacheable block and the tokens of the prefix that ends with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrefixPoint {
    /// The block.
    pub location: BlockLocation,
    /// The tokens of everything from the start of the request up to and including the block,
    /// as the module documentation defines them: what the cache reads or writes for a
    /// breakpoint on this block.
    pub tokens: u64,
}

/// The tokens of the prefix ending at every cacheable block of a Messages (or count_tokens)
/// body, in prompt order: tools, system blocks, then each message's content blocks.
///
/// The figures are cumulative and never fall; the last one equals [`input_tokens`] when the
/// request ends with a message block. The tokens of the tools and system part of a request are
/// those of its last `Tool` or `System` point. Bodies the API would refuse still get an answer
/// (whatever could be read of them), so this never fails.
pub fn prefix_tokens(body: &Value) -> Vec<PrefixPoint> {
    layout(body)
        .blocks
        .iter()
        .map(|block| block.point)
        .collect()
}

/// The input tokens the simulator counts for a body without caching: what `count_tokens`
/// answers, and the sum `input_tokens + cache_creation_input_tokens + cache_read_input_tokens`
/// of any `/v1/messages` answer for it, marked or not.
pub fn input_tokens(body: &Value) -> u64 {
    layout(body).total
}

/// A breakpoint's lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Ttl {
    FiveMinutes,
    OneHour,
}

impl Ttl {
    fn lifetime(self) -> Duration {
        match self {
            Ttl::FiveMinutes => Duration::from_secs(5 * 60),
            Ttl::OneHour => Duration::from_secs(60 * 60),
        }
    }
}

/// How many block boundaries before a breakpoint are also looked up. The real API checks
/// "about 20 blocks" back (Anthropic's prompt-caching guide; the figure is not in api-facts),
/// which is what lets a conversation under a top-level marker read the previous turn's entry.
const LOOKBACK_BLOCKS: usize = 20;

/// One marked block of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Breakpoint {
    /// The index of its block in [`Plan::prefixes`].
    block: usize,
    /// The tokens of its prefix.
    tokens: u64,
    /// The hash of its prefix, `cache_control` fields left out.
    prefix: u64,
    ttl: Ttl,
}

/// What the cache needs of a request: its whole input, the (tokens, hash) of the prefix
/// ending at each block, and its breakpoints in prompt order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    pub(crate) total: u64,
    prefixes: Vec<(u64, u64)>,
    breakpoints: Vec<Breakpoint>,
}

/// A block as the layout found it: its point, its prefix hash and its marker, if any.
#[derive(Debug)]
struct Block<'a> {
    point: PrefixPoint,
    prefix: u64,
    marker: Option<&'a Value>,
    /// Where the block is, as the API's error messages name it (`messages.0.content.1`).
    path: String,
}

#[derive(Debug)]
struct Layout<'a> {
    total: u64,
    blocks: Vec<Block<'a>>,
}

/// The tokens of a segment with this many characters.
fn segment_tokens(characters: usize) -> u64 {
    (characters as u64).div_ceil(4) + 7
}

/// The characters of every string value in `value`.
fn characters(value: &Value) -> usize {
    match value {
        Value::String(text) => text.chars().count(),
        Value::Array(items) => items.iter().map(characters).sum(),
        Value::Object(fields) => fields.values().map(characters).sum(),
        _ => 0,
    }
}

/// The characters of a block without its own `cache_control`, so marking it costs nothing.
fn block_characters(block: &Value) -> usize {
    match block {
        Value::Object(fields) => fields
            .iter()
            .filter(|(key, _)| key.as_str() != "cache_control")
            .map(|(_, value)| characters(value))
            .sum(),
        other => characters(other),
    }
}

/// Feeds a block to the prefix hash without its own `cache_control`, so a marked and an
/// unmarked copy of a prefix find the same entry.
fn hash_block(hasher: &mut DefaultHasher, block: &Value) {
    match block {
        Value::Object(fields) => {
            "{".hash(hasher);
            for (key, value) in fields {
                if key != "cache_control" {
                    key.hash(hasher);
                    value.to_string().hash(hasher);
                }
            }
            "}".hash(hasher);
        }
        other => other.to_string().hash(hasher),
    }
}

/// The `cache_control` of a block, when it has one (`null` counts as none).
fn marker_of(block: &Value) -> Option<&Value> {
    block
        .get("cache_control")
        .filter(|marker| !marker.is_null())
}

/// Walks a body's segments in prompt order; see the module documentation for the figures.
fn layout(body: &Value) -> Layout<'_> {
    let mut blocks = Vec::new();
    let mut hasher = DefaultHasher::new();
    // The tokens of the segments already passed.
    let mut before = 0;

    // An empty list of tools is no tools: a request with `"tools": []` counts as it always did.
    if let Some(Value::Array(tools)) = body
        .get("tools")
        .filter(|tools| tools.as_array().is_some_and(|list| !list.is_empty()))
    {
        "tools".hash(&mut hasher);
        let mut seen = 0;
        for (index, tool) in tools.iter().enumerate() {
            seen += block_characters(tool);
            hash_block(&mut hasher, tool);
            blocks.push(Block {
                point: PrefixPoint {
                    location: BlockLocation::Tool(index),
                    tokens: before + segment_tokens(seen),
                },
                prefix: hasher.finish(),
                marker: marker_of(tool),
                path: format!("tools.{index}"),
            });
        }
        before += segment_tokens(seen);
    }

    if let Some(system) = body.get("system") {
        "system".hash(&mut hasher);
        match system {
            Value::Array(items) => {
                let mut seen = 0;
                for (index, item) in items.iter().enumerate() {
                    seen += block_characters(item);
                    hash_block(&mut hasher, item);
                    blocks.push(Block {
                        point: PrefixPoint {
                            location: BlockLocation::System(index),
                            tokens: before + segment_tokens(seen),
                        },
                        prefix: hasher.finish(),
                        marker: marker_of(item),
                        path: format!("system.{index}"),
                    });
                }
                before += segment_tokens(seen);
            }
            // A string system prompt is part of every later prefix but cannot carry a marker.
            other => {
                other.to_string().hash(&mut hasher);
                before += segment_tokens(characters(other));
            }
        }
    }

    match body.get("messages") {
        Some(Value::Array(messages)) => {
            "messages".hash(&mut hasher);
            let mut seen = 0;
            for (index, message) in messages.iter().enumerate() {
                "message".hash(&mut hasher);
                let Value::Object(fields) = message else {
                    // Not a message the API would take; it still counts, as it always has.
                    seen += characters(message);
                    message.to_string().hash(&mut hasher);
                    continue;
                };
                for (key, value) in fields {
                    if key != "content" {
                        seen += characters(value);
                        key.hash(&mut hasher);
                        value.to_string().hash(&mut hasher);
                    }
                }
                match fields.get("content") {
                    Some(Value::Array(content)) => {
                        for (number, block) in content.iter().enumerate() {
                            seen += block_characters(block);
                            hash_block(&mut hasher, block);
                            blocks.push(Block {
                                point: PrefixPoint {
                                    location: BlockLocation::Message {
                                        message: index,
                                        block: number,
                                    },
                                    tokens: before + segment_tokens(seen),
                                },
                                prefix: hasher.finish(),
                                marker: marker_of(block),
                                path: format!("messages.{index}.content.{number}"),
                            });
                        }
                    }
                    Some(text) => {
                        seen += characters(text);
                        text.to_string().hash(&mut hasher);
                        blocks.push(Block {
                            point: PrefixPoint {
                                location: BlockLocation::Message {
                                    message: index,
                                    block: 0,
                                },
                                tokens: before + segment_tokens(seen),
                            },
                            prefix: hasher.finish(),
                            marker: None,
                            path: format!("messages.{index}.content"),
                        });
                    }
                    None => {}
                }
            }
            before += segment_tokens(seen);
        }
        // `count_tokens` has always counted a `messages` that is not a list as one lump.
        Some(other) => before += segment_tokens(characters(other)),
        None => {}
    }

    Layout {
        total: before,
        blocks,
    }
}

/// Reads one `cache_control` value, answering as the API's validation would. The real
/// messages for a malformed marker were not recovered; these follow the shape of the API's
/// other field errors (`<path>: <what is wrong>`).
fn parse_marker(marker: &Value, path: &str) -> Result<Ttl, String> {
    let Some(fields) = marker.as_object() else {
        return Err(format!("{path}: Input should be an object"));
    };
    match fields.get("type") {
        Some(Value::String(kind)) if kind == "ephemeral" => {}
        Some(_) => return Err(format!("{path}.type: Input should be 'ephemeral'")),
        None => return Err(format!("{path}.type: Field required")),
    }
    match fields.get("ttl") {
        None | Some(Value::Null) => Ok(Ttl::FiveMinutes),
        Some(Value::String(ttl)) if ttl == "5m" => Ok(Ttl::FiveMinutes),
        Some(Value::String(ttl)) if ttl == "1h" => Ok(Ttl::OneHour),
        Some(_) => Err(format!("{path}.ttl: Input should be '5m' or '1h'")),
    }
}

/// Lays out a body and reads its breakpoints, or says why the API would refuse them.
///
/// A top-level `cache_control` marks the last cacheable block; it takes one of the four slots
/// (assumed: the 2026 docs say it caches up to the last block, not how it counts), and when
/// that block is marked already the two are one breakpoint with the block's own lifetime.
pub(crate) fn plan(body: &Value) -> Result<Plan, String> {
    match body.get("tools") {
        None | Some(Value::Null | Value::Array(_)) => {}
        Some(_) => return Err("tools: Input should be a valid list".to_owned()),
    }
    let layout = layout(body);
    let mut breakpoints = Vec::new();
    let mut last_is_marked = false;
    for (index, block) in layout.blocks.iter().enumerate() {
        if let Some(marker) = block.marker {
            let ttl = parse_marker(marker, &format!("{}.cache_control", block.path))?;
            breakpoints.push(Breakpoint {
                block: index,
                tokens: block.point.tokens,
                prefix: block.prefix,
                ttl,
            });
            last_is_marked = index + 1 == layout.blocks.len();
        }
    }
    if let Some(marker) = body.get("cache_control").filter(|marker| !marker.is_null()) {
        let ttl = parse_marker(marker, "cache_control")?;
        if let (Some(last), false) = (layout.blocks.last(), last_is_marked) {
            breakpoints.push(Breakpoint {
                block: layout.blocks.len() - 1,
                tokens: last.point.tokens,
                prefix: last.prefix,
                ttl,
            });
        }
    }
    if breakpoints.len() > MAXIMUM_BREAKPOINTS {
        // The real API's words, as seen in client reports (tghamm/Anthropic.SDK issue 50).
        return Err(format!(
            "A maximum of {MAXIMUM_BREAKPOINTS} blocks with cache_control may be provided. Found {}.",
            breakpoints.len()
        ));
    }
    // The docs require longer lifetimes before shorter ones, since an hour-long entry cannot
    // hang off a prefix that ends in five minutes. The real message was not recovered.
    if breakpoints
        .windows(2)
        .any(|pair| pair[0].ttl == Ttl::FiveMinutes && pair[1].ttl == Ttl::OneHour)
    {
        return Err(
            "cache_control: a ttl='1h' breakpoint must not come after a ttl='5m' breakpoint"
                .to_owned(),
        );
    }
    Ok(Plan {
        total: layout.total,
        prefixes: layout
            .blocks
            .iter()
            .map(|block| (block.point.tokens, block.prefix))
            .collect(),
        breakpoints,
    })
}

/// The hash that stands for an organisation: the real cache is per organisation, and the
/// simulator keeps no key in clear.
pub(crate) fn account_of(api_key: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    "account".hash(&mut hasher);
    api_key.hash(&mut hasher);
    hasher.finish()
}

/// How one request's input splits between the cache and plain input (api-facts B6).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CacheUse {
    /// Tokens after the last breakpoint, or all of them when nothing was cached.
    pub(crate) input: u64,
    pub(crate) read: u64,
    pub(crate) written_5m: u64,
    pub(crate) written_1h: u64,
}

impl CacheUse {
    /// A request the cache did not touch.
    pub(crate) fn uncached(total: u64) -> Self {
        Self {
            input: total,
            ..Self::default()
        }
    }

    pub(crate) fn written(&self) -> u64 {
        self.written_5m + self.written_1h
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    account: u64,
    model: String,
    prefix: u64,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Story time at which it is gone unless used again.
    expires: Duration,
    ttl: Ttl,
}

/// The bounded cache of prefixes; see the module documentation.
#[derive(Debug)]
pub(crate) struct PromptCache {
    entries: HashMap<Key, Entry>,
    capacity: usize,
}

impl Default for PromptCache {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

impl PromptCache {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            entries: HashMap::new(),
            capacity: capacity.max(1),
        }
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }

    /// Serves one request for `model` from `account` at story time `now`: reads the longest
    /// live prefix, writes the rest up to the last breakpoint, and says how the input split.
    pub(crate) fn apply(
        &mut self,
        account: u64,
        model: &str,
        plan: &Plan,
        now: Duration,
    ) -> CacheUse {
        let minimum = models::minimum_cacheable_tokens(model);
        let Some(last) = plan.breakpoints.last() else {
            return CacheUse::uncached(plan.total);
        };
        // Prefixes only grow along the request, so when the last is too short, all are.
        if last.tokens < minimum {
            return CacheUse::uncached(plan.total);
        }
        let model = models::normalise(model);
        let key = |prefix: u64| Key {
            account,
            model: model.clone(),
            prefix,
        };

        // The longest live prefix at a breakpoint or within the lookback before one. Entries
        // exist only at prefixes of at least the minimum, so a shorter one is never found.
        let mut hit: Option<(usize, u64, u64, Ttl)> = None;
        for breakpoint in plan.breakpoints.iter().rev() {
            let first = breakpoint.block.saturating_sub(LOOKBACK_BLOCKS);
            for block in (first..=breakpoint.block).rev() {
                if hit.is_some_and(|(found, ..)| found >= block) {
                    break;
                }
                let Some(&(tokens, prefix)) = plan.prefixes.get(block) else {
                    continue;
                };
                if self
                    .entries
                    .get(&key(prefix))
                    .is_some_and(|entry| entry.expires > now)
                {
                    hit = Some((block, tokens, prefix, breakpoint.ttl));
                    break;
                }
            }
        }
        let mut used = CacheUse::default();
        if let Some((_, tokens, prefix, ttl)) = hit {
            if let Some(entry) = self.entries.get_mut(&key(prefix)) {
                // A hit starts the entry's lifetime again; a marker asking for longer than the
                // entry had lengthens it.
                entry.ttl = entry.ttl.max(ttl);
                entry.expires = now.saturating_add(entry.ttl.lifetime());
            }
            used.read = tokens;
        }
        let mut cached_up_to = used.read;
        let written_after = hit.map(|(block, ..)| block);
        for breakpoint in &plan.breakpoints {
            if written_after.is_some_and(|block| breakpoint.block <= block) {
                continue;
            }
            if breakpoint.tokens < minimum {
                // Too short to be an entry: its tokens are written with the next one's.
                continue;
            }
            let span = breakpoint.tokens.saturating_sub(cached_up_to);
            match breakpoint.ttl {
                Ttl::FiveMinutes => used.written_5m += span,
                Ttl::OneHour => used.written_1h += span,
            }
            cached_up_to = breakpoint.tokens;
            self.insert(
                key(breakpoint.prefix),
                Entry {
                    expires: now.saturating_add(breakpoint.ttl.lifetime()),
                    ttl: breakpoint.ttl,
                },
                now,
            );
        }
        used.input = plan.total.saturating_sub(cached_up_to);
        used
    }

    /// Adds an entry, making room first when the cache is full: expired entries go, then the
    /// one that would expire soonest (the least recently used of its lifetime).
    fn insert(&mut self, key: Key, entry: Entry, now: Duration) {
        if !self.entries.contains_key(&key) && self.entries.len() >= self.capacity {
            self.entries.retain(|_, kept| kept.expires > now);
            if self.entries.len() >= self.capacity {
                let soonest = self
                    .entries
                    .iter()
                    .min_by_key(|(_, kept)| kept.expires)
                    .map(|(key, _)| key.clone());
                if let Some(soonest) = soonest {
                    self.entries.remove(&soonest);
                }
            }
        }
        self.entries.insert(key, entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A text block of `characters` characters (all `a`).
    fn text(characters: usize) -> Value {
        json!({ "type": "text", "text": "a".repeat(characters) })
    }

    fn marked(mut block: Value, ttl: Option<&str>) -> Value {
        let marker = match ttl {
            Some(ttl) => json!({ "type": "ephemeral", "ttl": ttl }),
            None => json!({ "type": "ephemeral" }),
        };
        block["cache_control"] = marker;
        block
    }

    #[test]
    fn requests_without_tools_count_as_before() {
        // The figures the simulator has always given: a segment is ceil(chars / 4) + 7, and
        // "user", "text" and the text are the characters.
        let body = json!({
            "model": "claude-haiku-4-5",
            "messages": [{ "role": "user", "content": "Are you there?" }]
        });
        assert_eq!(input_tokens(&body), (4 + 14_u64).div_ceil(4) + 7);
        let with_system = json!({
            "system": "Be brief.",
            "messages": [{ "role": "user", "content": "Are you there?" }],
            "tools": []
        });
        assert_eq!(input_tokens(&with_system), 9_u64.div_ceil(4) + 7 + 12);
    }

    #[test]
    fn prefixes_are_cumulative_and_end_at_the_total() {
        let body = json!({
            "tools": [{ "name": "get_weather", "description": "a".repeat(100), "input_schema": { "type": "object" } }],
            "system": [text(400), marked(text(40), None)],
            "messages": [
                { "role": "user", "content": [text(80), text(8)] },
                { "role": "assistant", "content": "ok" }
            ]
        });
        let points = prefix_tokens(&body);
        let tools = (11 + 100 + 6_u64).div_ceil(4) + 7;
        let system = tools + (4 + 400 + 4 + 40_u64).div_ceil(4) + 7;
        assert_eq!(
            points,
            vec![
                PrefixPoint {
                    location: BlockLocation::Tool(0),
                    tokens: tools
                },
                PrefixPoint {
                    location: BlockLocation::System(0),
                    tokens: tools + 101 + 7
                },
                PrefixPoint {
                    location: BlockLocation::System(1),
                    tokens: system
                },
                PrefixPoint {
                    location: BlockLocation::Message {
                        message: 0,
                        block: 0
                    },
                    tokens: system + (4 + 4 + 80_u64).div_ceil(4) + 7
                },
                PrefixPoint {
                    location: BlockLocation::Message {
                        message: 0,
                        block: 1
                    },
                    tokens: system + (4 + 4 + 80 + 4 + 8_u64).div_ceil(4) + 7
                },
                PrefixPoint {
                    location: BlockLocation::Message {
                        message: 1,
                        block: 0
                    },
                    tokens: input_tokens(&body)
                },
            ]
        );
        assert_eq!(
            input_tokens(&body),
            system + (4 + 4 + 80 + 4 + 8 + 9 + 2_u64).div_ceil(4) + 7
        );
    }

    #[test]
    fn marking_changes_neither_tokens_nor_key() {
        let plain = json!({ "messages": [{ "role": "user", "content": [text(50)] }] });
        let marked_body =
            json!({ "messages": [{ "role": "user", "content": [marked(text(50), Some("1h"))] }] });
        assert_eq!(input_tokens(&plain), input_tokens(&marked_body));
        assert_eq!(
            layout(&plain).blocks[0].prefix,
            layout(&marked_body).blocks[0].prefix
        );
        let other = json!({ "messages": [{ "role": "user", "content": [text(51)] }] });
        assert_ne!(
            layout(&plain).blocks[0].prefix,
            layout(&other).blocks[0].prefix
        );
    }

    #[test]
    fn bad_markers_and_too_many_are_refused() {
        let with = |marker: Value| json!({ "messages": [{ "role": "user", "content": [{ "type": "text", "text": "hi", "cache_control": marker }] }] });
        for (marker, expected) in [
            (
                json!("ephemeral"),
                "messages.0.content.0.cache_control: Input should be an object",
            ),
            (
                json!({}),
                "messages.0.content.0.cache_control.type: Field required",
            ),
            (
                json!({ "type": "persistent" }),
                "messages.0.content.0.cache_control.type: Input should be 'ephemeral'",
            ),
            (
                json!({ "type": "ephemeral", "ttl": 300 }),
                "messages.0.content.0.cache_control.ttl: Input should be '5m' or '1h'",
            ),
        ] {
            assert_eq!(plan(&with(marker)), Err(expected.to_owned()));
        }
        let five: Vec<Value> = (0..5).map(|_| marked(text(3), None)).collect();
        let body = json!({ "messages": [{ "role": "user", "content": five }] });
        assert_eq!(
            plan(&body),
            Err("A maximum of 4 blocks with cache_control may be provided. Found 5.".to_owned())
        );
        let four: Vec<Value> = (0..4).map(|_| marked(text(3), None)).collect();
        let mut body = json!({ "messages": [{ "role": "user", "content": four }] });
        assert!(plan(&body).is_ok());
        // The top-level marker on an already-marked last block is the same breakpoint.
        body["cache_control"] = json!({ "type": "ephemeral" });
        assert_eq!(plan(&body).map(|plan| plan.breakpoints.len()), Ok(4));
        let short = json!({
            "messages": [{ "role": "user", "content": [marked(text(3), None), marked(text(3), Some("1h"))] }]
        });
        assert!(plan(&short).is_err(), "1h after 5m");
        assert!(plan(&json!({ "tools": "x", "messages": [] })).is_err());
    }

    /// A body whose one marked block reaches `characters` characters of text.
    fn cached_body(characters: usize) -> Value {
        json!({ "messages": [{ "role": "user", "content": [marked(text(characters), None)] }] })
    }

    #[test]
    fn entries_live_on_story_time_and_are_bounded() {
        let mut cache = PromptCache::with_capacity(2);
        let model = "claude-sonnet-4-6";
        let now = Duration::from_secs(1000);
        for (index, characters) in [9_000, 9_001, 9_002].into_iter().enumerate() {
            let plan = plan(&cached_body(characters)).unwrap_or_else(|error| panic!("{error}"));
            let used = cache.apply(1, model, &plan, now + Duration::from_secs(index as u64));
            assert_eq!(used.written_5m, plan.total, "{characters}");
        }
        assert_eq!(cache.len(), 2, "the oldest entry made room");
        let first = plan(&cached_body(9_000)).unwrap_or_else(|error| panic!("{error}"));
        let again = cache.apply(1, model, &first, now + Duration::from_secs(10));
        assert_eq!(again.read, 0, "the evicted entry is gone");
        assert_eq!(again.written_5m, first.total);
    }
}
