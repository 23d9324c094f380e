//! The incremental event-stream parser: the two SDK fixture streams split at every byte, with
//! every line-ending style, plus the framing rules and the memory bound.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use std::path::PathBuf;

use claude_status_core::sse::{SseError, SseEvent, SseParser};
use proptest::prelude::*;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/anthropic")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

const FIXTURES: [&str; 2] = ["sse-basic-HANDMADE.txt", "sse-tool-use.txt"];

/// Rewrites every `\n` line ending (the fixtures use only those) into `ending`.
fn with_line_endings(stream: &[u8], ending: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(stream.len() * 2);
    for byte in stream {
        if *byte == b'\n' {
            out.extend_from_slice(ending);
        } else {
            out.push(*byte);
        }
    }
    out
}

/// Parses a stream delivered in the given chunks, including the final `finish`.
fn parse_chunks<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Result<Vec<SseEvent>, SseError> {
    let mut parser = SseParser::new();
    let mut events = Vec::new();
    for chunk in chunks {
        events.extend(parser.push(chunk)?);
    }
    events.extend(parser.finish()?);
    Ok(events)
}

fn parse_whole(stream: &[u8]) -> Vec<SseEvent> {
    parse_chunks([stream]).unwrap()
}

fn names(events: &[SseEvent]) -> Vec<&str> {
    events
        .iter()
        .map(|event| event.event.as_deref().unwrap_or("-"))
        .collect()
}

fn event(name: Option<&str>, data: &str) -> SseEvent {
    SseEvent {
        event: name.map(str::to_owned),
        data: data.to_owned(),
    }
}

#[test]
fn fixture_streams_parse_whole() {
    let basic = parse_whole(&fixture("sse-basic-HANDMADE.txt"));
    assert_eq!(
        names(&basic),
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop",
        ]
    );
    assert_eq!(basic[2], event(Some("ping"), r#"{"type": "ping"}"#));
    // The fixture ends without a blank line; `finish` still delivers the last event.
    assert_eq!(
        basic[8],
        event(Some("message_stop"), r#"{"type":"message_stop"}"#)
    );

    let tool_use = parse_whole(&fixture("sse-tool-use.txt"));
    assert_eq!(tool_use.len(), 15);
    assert_eq!(
        tool_use[8],
        event(
            Some("content_block_delta"),
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"locati"}}"#
        )
    );
}

#[test]
fn every_split_point_and_every_line_ending_gives_the_same_events() {
    for name in FIXTURES {
        let original = fixture(name);
        let expected = parse_whole(&original);
        for ending in [&b"\n"[..], b"\r\n", b"\r"] {
            let stream = with_line_endings(&original, ending);
            assert_eq!(parse_whole(&stream), expected, "{name}, ending {ending:?}");
            for split in 0..=stream.len() {
                let (head, tail) = stream.split_at(split);
                assert_eq!(
                    parse_chunks([head, tail]).unwrap(),
                    expected,
                    "{name}, ending {ending:?}, split at {split}"
                );
            }
            let bytes = parse_chunks(stream.chunks(1)).unwrap();
            assert_eq!(bytes, expected, "{name}, ending {ending:?}, byte by byte");
        }
    }
}

#[test]
fn multibyte_characters_split_anywhere() {
    let stream = "event: content_block_delta\ndata: {\"text\":\"héllo ☃ 𝄞\"}\n\n".as_bytes();
    let expected = vec![event(
        Some("content_block_delta"),
        "{\"text\":\"héllo ☃ 𝄞\"}",
    )];
    for split in 0..=stream.len() {
        let (head, tail) = stream.split_at(split);
        assert_eq!(
            parse_chunks([head, tail]).unwrap(),
            expected,
            "split at {split}"
        );
    }
    assert_eq!(parse_chunks(stream.chunks(1)).unwrap(), expected);
}

#[test]
fn framing_rules() {
    let check = |stream: &str, expected: Vec<SseEvent>| {
        assert_eq!(parse_whole(stream.as_bytes()), expected, "{stream:?}");
    };
    // Several data lines join with `\n`; the space after the colon is optional.
    check(
        "event: x\ndata: a\ndata:b\n\n",
        vec![event(Some("x"), "a\nb")],
    );
    // Only one leading space is removed.
    check("data:  two\n\n", vec![event(None, " two")]);
    // Comments are ignored, and so are `id`, `retry` and unknown fields.
    check(
        ": keep-alive\nid: 7\nretry: 100\nfoo: bar\ndata: x\n\n",
        vec![event(None, "x")],
    );
    // An event without data is not dispatched, and its name does not leak into the next event.
    check("event: lonely\n\ndata: y\n\n", vec![event(None, "y")]);
    // `data:` with nothing after it still dispatches, with empty data.
    check("event: e\ndata:\n\n", vec![event(Some("e"), "")]);
    // A field name alone is a field with an empty value.
    check("data\n\n", vec![event(None, "")]);
    // Extra blank lines dispatch nothing.
    check("\n\n\ndata: z\n\n\n\n", vec![event(None, "z")]);
    // A byte-order mark at the very start is dropped.
    check("\u{feff}data: bom\n\n", vec![event(None, "bom")]);
    // Invalid UTF-8 becomes U+FFFD instead of failing the stream.
    assert_eq!(
        parse_whole(b"data: \xff\n\n"),
        vec![event(None, "\u{fffd}")]
    );
}

#[test]
fn carriage_return_at_a_chunk_end_waits_for_its_line_feed() {
    let chunks: [&[u8]; 4] = [b"data: x\r", b"", b"\n", b"data: y\r\n\r\n"];
    assert_eq!(parse_chunks(chunks).unwrap(), vec![event(None, "x\ny")]);
    // A lone `\r` followed by other text is a line ending of its own.
    let chunks: [&[u8]; 2] = [b"data: x\r", b"\rdata: y\n\n"];
    assert_eq!(
        parse_chunks(chunks).unwrap(),
        vec![event(None, "x"), event(None, "y")]
    );
}

#[test]
fn finish_delivers_an_unterminated_last_line() {
    let mut parser = SseParser::new();
    assert_eq!(
        parser.push(b"event: message_stop\ndata: {}").unwrap(),
        vec![]
    );
    assert_eq!(
        parser.finish().unwrap(),
        Some(event(Some("message_stop"), "{}"))
    );
    assert_eq!(SseParser::new().finish().unwrap(), None);
}

#[test]
fn memory_is_bounded() {
    // A line that never ends fails once it passes the limit, even when it arrives in pieces.
    let mut parser = SseParser::with_max_bytes(16);
    assert_eq!(parser.push(b"data: 0123456789").unwrap(), vec![]);
    assert_eq!(parser.push(b"a"), Err(SseError::LineTooLong { limit: 16 }));
    // The error is sticky: the stream is broken.
    assert_eq!(
        parser.push(b"\n\n"),
        Err(SseError::LineTooLong { limit: 16 })
    );
    assert_eq!(parser.finish(), Err(SseError::LineTooLong { limit: 16 }));

    // Short lines that add up to a huge event fail too.
    let mut parser = SseParser::with_max_bytes(16);
    assert_eq!(
        parser.push(b"data: 0123456789\ndata: 0123456789\n"),
        Err(SseError::EventTooLarge { limit: 16 })
    );

    // Exactly at the limit is fine.
    let mut parser = SseParser::with_max_bytes(16);
    assert_eq!(
        parser.push(b"data: 0123456789\n\n").unwrap(),
        vec![event(None, "0123456789")]
    );

    // The default limit is 1 MiB.
    let mut parser = SseParser::new();
    let long = vec![b'a'; SseParser::DEFAULT_MAX_BYTES + 1];
    assert_eq!(
        parser.push(&long),
        Err(SseError::LineTooLong { limit: 1024 * 1024 })
    );
}

proptest! {
    /// Any way of cutting a fixture stream, with any line-ending style, yields the same events.
    #[test]
    fn random_chunking_changes_nothing(
        which in 0usize..2,
        ending in 0usize..3,
        mut cuts in proptest::collection::vec(0usize..4000, 0..40),
    ) {
        let original = fixture(FIXTURES[which]);
        let expected = parse_whole(&original);
        let stream = with_line_endings(&original, [&b"\n"[..], b"\r\n", b"\r"][ending]);
        cuts.iter_mut().for_each(|cut| *cut %= stream.len() + 1);
        cuts.sort_unstable();
        let mut chunks = Vec::new();
        let mut start = 0;
        for cut in cuts {
            chunks.push(&stream[start..cut]);
            start = cut;
        }
        chunks.push(&stream[start..]);
        prop_assert_eq!(parse_chunks(chunks).unwrap(), expected);
    }

    /// Arbitrary bytes never panic, and never grow a line past the limit.
    #[test]
    fn arbitrary_bytes_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..16)) {
        let mut parser = SseParser::with_max_bytes(100);
        for chunk in &chunks {
            match parser.push(chunk) {
                Ok(events) => {
                    for event in events {
                        prop_assert!(event.data.len() <= 100);
                    }
                }
                Err(_) => break,
            }
        }
        let _ = parser.finish();
    }
}
