//! Finds one top-level field of a JSON request body without building the document, so the
//! gateway can read (and, for a model fallback, replace) the `model` of a request that may carry
//! megabytes of prompt and images, and leave every other byte exactly as the client sent it.
//!
//! The official Python SDK writes `model` after `messages`, so reading only the first few KiB
//! would miss it; this scanner walks the whole body, but skips strings with `memchr` and never
//! allocates, which keeps a 32 MB body in the tens of milliseconds.

use std::ops::Range;

/// The byte range of the value of the top-level field `key`, when `body` is a JSON object that
/// has it. The first occurrence wins. A body that is not a well-formed object up to that field
/// gives `None`.
pub fn top_level_value(body: &[u8], key: &str) -> Option<Range<usize>> {
    let mut scanner = Scanner { body, at: 0 };
    scanner.skip_whitespace();
    scanner.expect(b'{')?;
    loop {
        scanner.skip_whitespace();
        match scanner.peek()? {
            b'}' => return None,
            b'"' => {}
            _ => return None,
        }
        let name = scanner.string()?;
        scanner.skip_whitespace();
        scanner.expect(b':')?;
        scanner.skip_whitespace();
        let start = scanner.at;
        scanner.value()?;
        let value = start..scanner.at;
        if scanner.name_is(name, key) {
            return Some(value);
        }
        scanner.skip_whitespace();
        match scanner.next()? {
            b',' => continue,
            _ => return None,
        }
    }
}

/// The byte ranges of the values of several top-level fields, in one pass over the body: each
/// slot of the answer is the range of the key at the same position, `None` when the body lacks
/// it. The first occurrence of a key wins. A body that stops being a well-formed object keeps
/// what was found before that point.
pub fn top_level_values<const N: usize>(body: &[u8], keys: [&str; N]) -> [Option<Range<usize>>; N] {
    let mut found: [Option<Range<usize>>; N] = std::array::from_fn(|_| None);
    let mut scanner = Scanner { body, at: 0 };
    scanner.skip_whitespace();
    if scanner.expect(b'{').is_none() {
        return found;
    }
    loop {
        scanner.skip_whitespace();
        if scanner.peek() != Some(b'"') {
            return found;
        }
        let Some(name) = scanner.string() else {
            return found;
        };
        scanner.skip_whitespace();
        if scanner.expect(b':').is_none() {
            return found;
        }
        scanner.skip_whitespace();
        let start = scanner.at;
        if scanner.value().is_none() {
            return found;
        }
        for (slot, key) in found.iter_mut().zip(keys) {
            if slot.is_none() && scanner.name_is(name.clone(), key) {
                *slot = Some(start..scanner.at);
            }
        }
        if found.iter().all(Option::is_some) {
            return found;
        }
        scanner.skip_whitespace();
        if scanner.next() != Some(b',') {
            return found;
        }
    }
}

/// The top-level `model` of a Messages request, decoded.
pub fn model(body: &[u8]) -> Option<String> {
    let range = top_level_value(body, "model")?;
    serde_json::from_slice::<String>(body.get(range)?).ok()
}

/// The body with its top-level `model` replaced by `new_model`; every other byte is unchanged.
/// `None` when the body has no string `model` to replace.
pub fn replace_model(body: &[u8], new_model: &str) -> Option<Vec<u8>> {
    let range = top_level_value(body, "model")?;
    if body.get(range.start) != Some(&b'"') {
        return None;
    }
    let encoded = serde_json::to_string(new_model).ok()?;
    let mut out = Vec::with_capacity(body.len() + encoded.len());
    out.extend_from_slice(body.get(..range.start)?);
    out.extend_from_slice(encoded.as_bytes());
    out.extend_from_slice(body.get(range.end..)?);
    Some(out)
}

struct Scanner<'a> {
    body: &'a [u8],
    at: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.body.get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.at += 1;
        Some(byte)
    }

    fn expect(&mut self, wanted: u8) -> Option<()> {
        (self.next()? == wanted).then_some(())
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// Skips a string starting at its opening quote; returns the range of its raw contents.
    fn string(&mut self) -> Option<Range<usize>> {
        self.expect(b'"')?;
        let start = self.at;
        loop {
            let rest = self.body.get(self.at..)?;
            let found = memchr::memchr2(b'"', b'\\', rest)?;
            self.at += found;
            if self.next()? == b'"' {
                return Some(start..self.at - 1);
            }
            // A backslash escapes exactly one byte (`\uXXXX` continues with plain hex digits).
            self.next()?;
        }
    }

    /// Skips one value of any type.
    fn value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'{' | b'[' => self.container(),
            _ => {
                let start = self.at;
                while let Some(byte) = self.peek() {
                    if matches!(byte, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                        break;
                    }
                    self.at += 1;
                }
                (self.at > start).then_some(())
            }
        }
    }

    /// Skips an object or array, nested ones and strings inside included. Brackets are counted,
    /// not matched by kind: a body whose brackets disagree fails at the API anyway.
    fn container(&mut self) -> Option<()> {
        let mut depth = 0usize;
        loop {
            match self.peek()? {
                b'"' => {
                    self.string()?;
                    continue;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        self.at += 1;
                        return Some(());
                    }
                }
                _ => {}
            }
            self.at += 1;
        }
    }

    /// Whether the raw key `name` spells `key`; keys with escapes are decoded first.
    fn name_is(&self, name: Range<usize>, key: &str) -> bool {
        let Some(raw) = self.body.get(name.clone()) else {
            return false;
        };
        if !raw.contains(&b'\\') {
            return raw == key.as_bytes();
        }
        let Some(quoted) = self.body.get(name.start - 1..name.end + 1) else {
            return false;
        };
        serde_json::from_slice::<String>(quoted).is_ok_and(|decoded| decoded == key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_model_wherever_it_is() {
        let check = |body: &str, expected: Option<&str>| {
            assert_eq!(model(body.as_bytes()).as_deref(), expected, "{body}");
        };
        check(
            r#"{"model":"claude-opus-4-6","max_tokens":1}"#,
            Some("claude-opus-4-6"),
        );
        check(
            r#"{"max_tokens":1,"messages":[{"role":"user","content":"say \"model\": {x} ]"}],"model":"m"}"#,
            Some("m"),
        );
        check(
            " {\n \"messages\" : [ [1, 2.5e3, true, null], {\"model\": \"inner\"} ] ,\n \"model\" : \"outer\" } ",
            Some("outer"),
        );
        check(r#"{"mod\u0065l":"escaped-key"}"#, Some("escaped-key"));
        check(r#"{"model":"claude-\u00e9"}"#, Some("claude-é"));
        check(r#"{"model":42}"#, None);
        check(r#"{"messages":[]}"#, None);
        check(r#"[{"model":"x"}]"#, None);
        check(r#"{"messages":["unterminated}"#, None);
        check("", None);
        check(
            r#"{"a":"\\","model":"after-backslash"}"#,
            Some("after-backslash"),
        );
    }

    #[test]
    fn replaces_only_the_model() {
        let body = br#"{"max_tokens":5, "model" : "claude-opus-4-6" ,"stream":true}"#;
        let replaced = replace_model(body, "claude-sonnet-4-5").unwrap();
        assert_eq!(
            std::str::from_utf8(&replaced).unwrap(),
            r#"{"max_tokens":5, "model" : "claude-sonnet-4-5" ,"stream":true}"#
        );
        assert_eq!(replace_model(br#"{"model":7}"#, "x"), None);
    }
}
