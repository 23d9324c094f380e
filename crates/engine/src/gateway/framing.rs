//! Notices a request that carries both `Content-Length` and `Transfer-Encoding`, so the gateway
//! can refuse it with 400 (the classic request-smuggling set-up).
//!
//! hyper reads such a request by its chunked framing alone and closes the connection after the
//! answer (RFC 9112 §6.1 allows that), but it keeps no trace of the `Content-Length` it dropped,
//! so the handler cannot tell. This wrapper watches the bytes hyper reads from the client and
//! follows the same framing (heads, `Content-Length` bodies, chunked bodies) to find each
//! request's head; the first head with both headers is remembered by its place on the
//! connection, and the handler refuses the request with that number. The wrapper never changes
//! a byte: anything it cannot follow (a head hyper will refuse anyway, a framing it does not
//! know) stops the watching, and hyper's own rules apply from there.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The most of a head the watcher keeps while it waits for the head's end; hyper refuses a
/// longer head with 431 anyway.
const MAX_HEAD: usize = super::MAX_HEADER_BYTES + 1024;

/// Which request of a connection (counted from 1) had both framings; 0 while none had.
#[derive(Debug, Default)]
pub(crate) struct Conflict(AtomicU64);

impl Conflict {
    /// Whether request number `index` (from 1) of this connection carried both framings.
    pub(crate) fn is(&self, index: u64) -> bool {
        self.0.load(Ordering::Acquire) == index
    }
}

/// A client connection, watched.
#[derive(Debug)]
pub(crate) struct Watched<S> {
    inner: S,
    state: State,
    /// Heads seen so far.
    heads: u64,
    conflict: Arc<Conflict>,
}

#[derive(Debug)]
enum State {
    /// Reading a head: the bytes so far.
    Head(Vec<u8>),
    /// This many body bytes to go.
    Fixed(u64),
    /// A chunked body: reading a chunk-size line (the bytes so far).
    ChunkSize(Vec<u8>),
    /// Inside a chunk: this many data bytes to go, then its CRLF.
    ChunkData(u64),
    /// After a chunk's data: its line end.
    ChunkEnd(Vec<u8>),
    /// After the last chunk: trailer lines until an empty one (the current line so far).
    Trailers(Vec<u8>),
    /// Not watching any more.
    Off,
}

impl<S> Watched<S> {
    pub(crate) fn new(inner: S) -> (Watched<S>, Arc<Conflict>) {
        let conflict = Arc::new(Conflict::default());
        let watched = Watched {
            inner,
            state: State::Head(Vec::new()),
            heads: 0,
            conflict: Arc::clone(&conflict),
        };
        (watched, conflict)
    }

    /// Follows the framing through bytes the client sent.
    fn observe(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            match &mut self.state {
                State::Off => return,
                State::Head(head) => {
                    // Blank lines before a request line are skipped, as hyper does.
                    if head.is_empty() {
                        let skip = bytes
                            .iter()
                            .take_while(|b| **b == b'\r' || **b == b'\n')
                            .count();
                        bytes = &bytes[skip..];
                        if bytes.is_empty() {
                            return;
                        }
                    }
                    let before = head.len();
                    head.extend_from_slice(bytes);
                    match head_end(head) {
                        Some(end) => {
                            let used = end - before;
                            bytes = &bytes[used..];
                            let head = std::mem::take(head);
                            self.state = self.after_head(&head[..end]);
                        }
                        None => {
                            if head.len() > MAX_HEAD {
                                self.state = State::Off;
                            }
                            return;
                        }
                    }
                }
                State::Fixed(left) => {
                    let take = usize::try_from(*left)
                        .unwrap_or(usize::MAX)
                        .min(bytes.len());
                    *left -= take as u64;
                    bytes = &bytes[take..];
                    if *left == 0 {
                        self.state = State::Head(Vec::new());
                    }
                }
                State::ChunkSize(line) => {
                    let Some(at) = memchr::memchr(b'\n', bytes) else {
                        line.extend_from_slice(bytes);
                        if line.len() > 1024 {
                            self.state = State::Off;
                        }
                        return;
                    };
                    line.extend_from_slice(&bytes[..at]);
                    bytes = &bytes[at + 1..];
                    self.state = match chunk_size(line) {
                        Some(0) => State::Trailers(Vec::new()),
                        Some(size) => State::ChunkData(size),
                        None => State::Off,
                    };
                }
                State::ChunkData(left) => {
                    let take = usize::try_from(*left)
                        .unwrap_or(usize::MAX)
                        .min(bytes.len());
                    *left -= take as u64;
                    bytes = &bytes[take..];
                    if *left == 0 {
                        self.state = State::ChunkEnd(Vec::new());
                    }
                }
                State::ChunkEnd(line) => {
                    let Some(at) = memchr::memchr(b'\n', bytes) else {
                        line.extend_from_slice(bytes);
                        if line.len() > 2 {
                            self.state = State::Off;
                        }
                        return;
                    };
                    line.extend_from_slice(&bytes[..at]);
                    bytes = &bytes[at + 1..];
                    self.state = if line.as_slice() == b"\r" || line.is_empty() {
                        State::ChunkSize(Vec::new())
                    } else {
                        State::Off
                    };
                }
                State::Trailers(line) => {
                    let Some(at) = memchr::memchr(b'\n', bytes) else {
                        line.extend_from_slice(bytes);
                        if line.len() > MAX_HEAD {
                            self.state = State::Off;
                        }
                        return;
                    };
                    line.extend_from_slice(&bytes[..at]);
                    bytes = &bytes[at + 1..];
                    if line.as_slice() == b"\r" || line.is_empty() {
                        self.state = State::Head(Vec::new());
                    } else {
                        line.clear();
                    }
                }
            }
        }
    }

    /// What follows a head: its body's framing, or the end of watching.
    fn after_head(&mut self, head: &[u8]) -> State {
        self.heads += 1;
        let mut length: Option<u64> = None;
        let mut lengths = 0;
        let mut chunked = false;
        let mut encoded = false;
        let mut lines = head.split(|b| *b == b'\n');
        let request_line = lines.next().unwrap_or_default();
        let request_line = request_line.strip_suffix(b"\r").unwrap_or(request_line);
        let http_10 = request_line.ends_with(b"HTTP/1.0");
        for line in lines {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let Some(colon) = memchr::memchr(b':', line) else {
                continue;
            };
            let name = &line[..colon];
            let value = line[colon + 1..].trim_ascii();
            if name.eq_ignore_ascii_case(b"content-length") {
                lengths += 1;
                length = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok());
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                encoded = true;
                chunked = value
                    .rsplit(|b| *b == b',')
                    .next()
                    .is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
            } else if name.eq_ignore_ascii_case(b"upgrade") {
                // hyper's server here does not upgrade, but a framing it does not follow is
                // not ours to guess at.
                return State::Off;
            }
        }
        if encoded && http_10 {
            // hyper refuses Transfer-Encoding on HTTP/1.0 with 400 and closes.
            return State::Off;
        }
        if encoded && lengths > 0 {
            self.conflict.0.store(self.heads, Ordering::Release);
            // hyper closes the connection after this request.
            return State::Off;
        }
        match (encoded, chunked, length) {
            (true, true, _) => State::ChunkSize(Vec::new()),
            // hyper refuses a last coding other than chunked, and a length it cannot read.
            (true, false, _) => State::Off,
            (false, _, Some(0)) => State::Head(Vec::new()),
            (false, _, Some(n)) => State::Fixed(n),
            (false, _, None) if lengths > 0 => State::Off,
            (false, _, None) => State::Head(Vec::new()),
        }
    }
}

/// Where a head ends (just after its empty line), if it has.
fn head_end(bytes: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = memchr::memchr(b'\n', &bytes[from..]) {
        let at = from + at;
        let rest = &bytes[at + 1..];
        if rest.starts_with(b"\n") {
            return Some(at + 2);
        }
        if rest.starts_with(b"\r\n") {
            return Some(at + 3);
        }
        from = at + 1;
    }
    None
}

fn chunk_size(line: &[u8]) -> Option<u64> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let digits = line.split(|b| *b == b';').next().unwrap_or_default();
    let digits = digits.trim_ascii();
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    u64::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            if !matches!(this.state, State::Off) {
                this.observe(&buf.filled()[before..]);
            }
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `wire` in pieces of `step` bytes and returns the conflicting request's number.
    fn conflict_in(wire: &[u8], step: usize) -> u64 {
        let (mut watched, conflict) = Watched::new(());
        for piece in wire.chunks(step) {
            watched.observe(piece);
        }
        conflict.0.load(Ordering::Acquire)
    }

    fn check(wire: &str, expected: u64) {
        for step in [1, 3, 7, wire.len()] {
            assert_eq!(
                conflict_in(wire.as_bytes(), step),
                expected,
                "{wire:?} in {step}s"
            );
        }
    }

    #[test]
    fn both_framings_are_found_by_their_request() {
        check(
            "POST /v1/messages HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            1,
        );
        check(
            "POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\ncontent-length: 5\r\n\r\n",
            1,
        );
        // Behind a length-framed body that itself looks like a conflicting head.
        let body = "GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
        check(
            &format!(
                "POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n{body}GET /x HTTP/1.1\r\nHost: a\r\n\r\nPOST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
                body.len()
            ),
            3,
        );
        // Behind an HTTP/1.0 request kept alive.
        check(
            "POST / HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nxPOST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            2,
        );
        // Behind a chunked body with an extension and a trailer.
        check(
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nGET \r\n0\r\nX-T: 1\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n",
            2,
        );
    }

    #[test]
    fn honest_traffic_has_no_conflict() {
        check(
            "\r\nGET /v1/models HTTP/1.1\r\nHost: a\r\n\r\nPOST /v1/messages HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n",
            0,
        );
        // A chunked body whose data holds a conflicting head is data, not a head.
        let data = "GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
        check(
            &format!(
                "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{data}\r\n0\r\n\r\n",
                data.len()
            ),
            0,
        );
    }

    #[test]
    fn what_it_cannot_follow_stops_the_watching() {
        check(
            "GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            0,
        );
        check(
            "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            0,
        );
        check(
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nPOST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            0,
        );
    }
}
