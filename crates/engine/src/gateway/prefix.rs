//! A request's prefix (its tools and system prompt) as the prompt-cache advisor sees it: a keyed
//! hash, a length in characters and whether the request asks for caching; never its text.
//!
//! This runs on the metering side, on the request body the meter task already holds, never on
//! the client's path. The hash is HMAC-SHA256 under a key of this installation (a file of mode
//! 0600 beside the history database), so a stored hash cannot be tested against a guessed prompt
//! by anyone who has the database but not the key.

use std::fmt;
use std::ops::Range;
use std::path::Path;

use claude_status_core::advice::{CacheUse, PrefixParts, PrefixShape};
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

use super::json_field::top_level_values;
use super::token;
use crate::error::Result;

/// The key file's name in the data directory.
pub const KEY_FILE: &str = "advisor-key";

/// The key prefixes are hashed under. Its `Debug` never shows it.
#[derive(Clone)]
pub struct PrefixKey(Vec<u8>);

impl fmt::Debug for PrefixKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrefixKey(…)")
    }
}

impl PrefixKey {
    /// The installation's key from `<data_dir>/advisor-key`, made (mode 0600) on first use.
    pub fn load_or_create(data_dir: &Path) -> Result<PrefixKey> {
        let (key, _) = token::load_or_create(&data_dir.join(KEY_FILE))?;
        Ok(PrefixKey(key.expose().as_bytes().to_vec()))
    }

    /// A key for this process only: hashes then differ after a restart, so the advisor sees the
    /// same prefix as two. For a gateway without a data directory, and for tests.
    pub fn ephemeral() -> PrefixKey {
        PrefixKey(token::AccessToken::generate().expose().as_bytes().to_vec())
    }

    fn hash(&self, tools: &[u8], system: &[u8]) -> String {
        // An HMAC key of any length is accepted, so this cannot fail.
        let mut mac = <Hmac<Sha256>>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        // Lengths first, so that moving bytes between the two parts changes the hash.
        mac.update(&(tools.len() as u64).to_le_bytes());
        mac.update(tools);
        mac.update(&(system.len() as u64).to_le_bytes());
        mac.update(system);
        let digest = mac.finalize().into_bytes();
        digest[..16].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// What the advisor records of one request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestShape {
    /// `None` for a request with neither tools nor a system prompt.
    pub prefix: Option<PrefixShape>,
    pub cache_use: CacheUse,
}

/// Reads a Messages request body's shape. A body that is not a JSON object has no prefix and no
/// caching, which is also what the API would make of it.
pub fn shape(key: &PrefixKey, body: &[u8]) -> RequestShape {
    shape_and_ranges(key, body).0
}

/// The byte ranges of a request's tools and system prompt in its body, for a count.
pub(crate) type PrefixRanges = (Option<Range<usize>>, Option<Range<usize>>);

/// [`shape`], with where the tools and the system prompt are in the body.
pub(crate) fn shape_and_ranges(key: &PrefixKey, body: &[u8]) -> (RequestShape, PrefixRanges) {
    let [tools_range, system_range, top_level, messages] =
        top_level_values(body, ["tools", "system", "cache_control", "messages"]);
    let (tools, system) = (tools_range.clone(), system_range.clone());
    let slice = |range: &Option<std::ops::Range<usize>>| {
        range
            .clone()
            .and_then(|range| body.get(range))
            .filter(|raw| !is_empty_value(raw))
    };
    let (tools, system, top_level, messages) = (
        slice(&tools),
        slice(&system),
        slice(&top_level),
        slice(&messages),
    );
    let cache_use = if top_level.is_some() {
        CacheUse::TopLevel
    } else if [tools, system, messages]
        .into_iter()
        .flatten()
        .any(has_cache_control)
    {
        CacheUse::Blocks
    } else {
        CacheUse::None
    };
    let parts = match (tools.is_some(), system.is_some()) {
        (false, false) => None,
        (true, false) => Some(PrefixParts::Tools),
        (false, true) => Some(PrefixParts::System),
        (true, true) => Some(PrefixParts::ToolsAndSystem),
    };
    let prefix = parts.map(|parts| PrefixShape {
        key: key.hash(tools.unwrap_or_default(), system.unwrap_or_default()),
        chars: tools.map_or(0, text_chars) + system.map_or(0, text_chars),
        parts,
    });
    let keep = |range: Option<Range<usize>>, present: bool| range.filter(|_| present);
    let ranges = (
        keep(tools_range, tools.is_some()),
        keep(system_range, system.is_some()),
    );
    (RequestShape { prefix, cache_use }, ranges)
}

/// `null`, `[]`, `""` and `{}`: a field that is there but gives the model nothing.
fn is_empty_value(raw: &[u8]) -> bool {
    let trimmed: Vec<u8> = raw
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .take(5)
        .collect();
    matches!(trimmed.as_slice(), b"null" | b"[]" | b"\"\"" | b"{}")
}

/// Whether a JSON value has a `cache_control` key anywhere in it. A scan for the quoted key is
/// enough: inside a JSON string a quote is escaped, so prompt text that mentions
/// `"cache_control"` reads `\"cache_control\"` and does not match.
fn has_cache_control(raw: &[u8]) -> bool {
    memchr::memmem::find(raw, b"\"cache_control\"").is_some()
}

/// The characters of every string value in a JSON value (tool names, descriptions and schemas'
/// texts, the system prompt's blocks), without the JSON around them, the object keys, or the
/// markup values of `type` and `ttl` (`"text"`, `"ephemeral"`, `"1h"`): what the
/// 4-characters-a-token estimate is about.
///
/// One pass over the bytes without building the document: this runs for every metered request,
/// and a parse into `serde_json::Value` cost several times the hash. An escape counts as the one
/// character it stands for. Bytes that are not well-formed JSON are counted as they come, an
/// estimate either way.
fn text_chars(raw: &[u8]) -> u64 {
    // The characters of a run of bytes without escapes: every byte but UTF-8 continuation
    // bytes. A plain count over a slice, which the compiler vectorises.
    fn chars_of(bytes: &[u8]) -> u64 {
        bytes.iter().filter(|&&b| b & 0xC0 != 0x80).count() as u64
    }
    let mut total = 0u64;
    let mut at = 0;
    // Whether the string that ended last was a markup key (`type`, `ttl`), whose value is
    // skipped.
    let mut markup_value_next = false;
    while let Some(open) = memchr::memchr(b'"', &raw[at..]) {
        // A string: its characters, found a quote or a backslash at a time.
        let start = at + open + 1;
        let mut chars = 0u64;
        let mut i = start;
        let end = loop {
            match memchr::memchr2(b'"', b'\\', &raw[i..]) {
                Some(offset) if raw[i + offset] == b'"' => {
                    chars += chars_of(&raw[i..i + offset]);
                    break i + offset;
                }
                Some(offset) => {
                    chars += chars_of(&raw[i..i + offset]) + 1;
                    // `\uXXXX` stands for one character, as does every shorter escape.
                    let escape = if raw.get(i + offset + 1) == Some(&b'u') {
                        6
                    } else {
                        2
                    };
                    i = (i + offset + escape).min(raw.len());
                }
                None => {
                    chars += chars_of(&raw[i..]);
                    break raw.len();
                }
            }
        };
        at = (end + 1).min(raw.len());
        // A key is followed by a colon; anything else is a value.
        let next = raw[at..]
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .map(|offset| at + offset);
        if next.is_some_and(|next| raw[next] == b':') {
            let key = &raw[start..end];
            markup_value_next = key == b"type" || key == b"ttl";
        } else {
            if !markup_value_next {
                total += chars;
            }
            markup_value_next = false;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> PrefixKey {
        PrefixKey(b"test key".to_vec())
    }

    #[test]
    fn the_same_prefix_has_the_same_key_and_another_does_not() {
        let a = shape(
            &key(),
            br#"{"model":"m","system":"You are terse.","messages":[{"role":"user","content":"hi"}]}"#,
        );
        let b = shape(
            &key(),
            br#"{"messages":[{"role":"user","content":"other"}],"system":"You are terse.","model":"m"}"#,
        );
        let c = shape(
            &key(),
            br#"{"model":"m","system":"You are verbose.","messages":[]}"#,
        );
        let (a, b, c) = (a.prefix.unwrap(), b.prefix.unwrap(), c.prefix.unwrap());
        assert_eq!(a.key, b.key);
        assert_ne!(a.key, c.key);
        assert_eq!(a.chars, 14);
        assert_eq!(a.parts, PrefixParts::System);
        let other_key = shape(
            &PrefixKey(b"another".to_vec()),
            br#"{"system":"You are terse."}"#,
        );
        assert_ne!(other_key.prefix.unwrap().key, a.key);
    }

    #[test]
    fn caching_is_found_on_blocks_and_at_the_top_level_but_not_in_text() {
        let blocks = shape(
            &key(),
            br#"{"system":[{"type":"text","text":"abcd","cache_control":{"type":"ephemeral"}}],"messages":[]}"#,
        );
        assert_eq!(blocks.cache_use, CacheUse::Blocks);
        assert_eq!(blocks.prefix.unwrap().chars, 4);
        let in_messages = shape(
            &key(),
            br#"{"messages":[{"role":"user","content":[{"type":"text","text":"x","cache_control":{"type":"ephemeral"}}]}]}"#,
        );
        assert_eq!(in_messages.cache_use, CacheUse::Blocks);
        assert_eq!(in_messages.prefix, None);
        let top = shape(
            &key(),
            br#"{"cache_control":{"type":"ephemeral"},"tools":[{"name":"get","input_schema":{}}],"messages":[]}"#,
        );
        assert_eq!(top.cache_use, CacheUse::TopLevel);
        assert_eq!(top.prefix.unwrap().parts, PrefixParts::Tools);
        let mention = shape(
            &key(),
            br#"{"system":"explain \"cache_control\" to me","messages":[{"role":"user","content":"what is \"cache_control\"?"}]}"#,
        );
        assert_eq!(mention.cache_use, CacheUse::None);
    }

    #[test]
    fn bad_bodies_have_no_prefix() {
        for body in [
            &b""[..],
            b"[]",
            b"{",
            b"{\"system\":",
            b"not json",
            b"{\"system\":null}",
        ] {
            assert_eq!(
                shape(&key(), body),
                RequestShape {
                    prefix: None,
                    cache_use: CacheUse::None
                },
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn the_characters_are_the_string_values_less_markup() {
        let cases: [(&[u8], u64); 7] = [
            (br#""You are terse.""#, 14),
            (br#"[{"type":"text","text":"abcd","cache_control":{"type":"ephemeral","ttl":"1h"}}]"#, 4),
            (br#"[{"name":"get","description":"Gets it.","input_schema":{"type":"object","properties":{"q":{"type":"string","description":"a query"}}}}]"#, 18),
            (br#""caf\u00e9 \"quoted\"\n""#, 14),
            ("\"façade ✓\"".as_bytes(), 8),
            (b"\"unterminated", 12),
            (b"12345", 0),
        ];
        for (raw, want) in cases {
            assert_eq!(text_chars(raw), want, "{}", String::from_utf8_lossy(raw));
        }
    }

    #[test]
    fn the_key_never_shows() {
        assert_eq!(format!("{:?}", key()), "PrefixKey(…)");
    }
}
