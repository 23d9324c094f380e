//! The body of every answer the gateway sends: either its own small JSON, or the upstream's body
//! passed through frame by frame (each chunk handed to the client as soon as it arrives, and to
//! the metering tap beside it).
//!
//! An event stream (`text/event-stream`) is handed on event by event: a chunk that ends inside
//! an event keeps that event's start back until its end arrives, which costs the client nothing
//! (no SSE client can act on half an event). So when the upstream breaks mid-stream, the client
//! has only whole events, and gets one more: `event: error` with an `api_error`, as the API
//! itself ends a stream that fails after its 200 (api-facts: errors after HTTP 200), instead of
//! a stream cut off silently.
//!
//! Dropping this body drops the upstream body with it. That is how a client that leaves
//! mid-stream cancels the upstream request: hyper drops the answer, the HTTP client sees its
//! half-read body go and closes that upstream connection instead of pooling it.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use hyper::body::{Body, Frame, SizeHint};

use super::meter::{Ending, Tap};

/// The error type hyper gets when the upstream body breaks; hyper then aborts the client's
/// connection, so the client sees the same cut-off it would have seen going direct.
pub type BodyError = Box<dyn std::error::Error + Send + Sync>;

/// An answer body.
#[derive(Debug)]
pub struct GatewayBody {
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Full(Option<Bytes>),
    Upstream {
        /// Bytes already read from `inner` (a retry candidate's error body) to send first.
        prefix: Option<Bytes>,
        inner: reqwest::Body,
        tap: Option<Tap>,
        /// Bytes still to come when the length is known (`Content-Length`). hyper stops polling a
        /// body once it has written that many bytes, so this is how the tap learns the end.
        remaining: Option<u64>,
        /// Event-by-event framing, for an event stream.
        events: Option<EventFraming>,
    },
    /// Another provider's stream, translated into the Messages stream as it is read.
    Translated(Box<super::providers::TranslatedStream>),
}

impl GatewayBody {
    /// A body that is all there in memory.
    pub(crate) fn full(bytes: impl Into<Bytes>) -> GatewayBody {
        let bytes = bytes.into();
        GatewayBody {
            kind: Kind::Full((!bytes.is_empty()).then_some(bytes)),
        }
    }

    /// Another provider's stream, translated as it is polled.
    pub(crate) fn translated(stream: Box<super::providers::TranslatedStream>) -> GatewayBody {
        GatewayBody {
            kind: Kind::Translated(stream),
        }
    }

    /// The upstream's body, after `prefix` when some of it was read already; `length` is the
    /// whole body's `Content-Length`, prefix included, when the upstream sent one. An event
    /// stream without a length is framed event by event, and ends with an `event: error` when
    /// the upstream breaks.
    pub(crate) fn upstream(
        prefix: Option<Bytes>,
        inner: reqwest::Body,
        tap: Option<Tap>,
        length: Option<u64>,
        event_stream: bool,
    ) -> GatewayBody {
        let mut body = GatewayBody {
            kind: Kind::Upstream {
                prefix: prefix.filter(|p| !p.is_empty()),
                inner,
                tap,
                remaining: length,
                events: (event_stream && length.is_none()).then(EventFraming::default),
            },
        };
        if length == Some(0) {
            body.sent(0);
        }
        body
    }

    /// Counts bytes handed to the client and tells the tap when the known length is reached.
    fn sent(&mut self, bytes: usize) {
        if let Kind::Upstream {
            tap: Some(tap),
            remaining: Some(remaining),
            ..
        } = &mut self.kind
        {
            *remaining = remaining.saturating_sub(bytes as u64);
            if *remaining == 0 {
                tap.end(Ending::Complete);
            }
        }
    }
}

impl Body for GatewayBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        let polled = this.poll_inner(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                let length = data.len();
                this.sent(length);
            }
        }
        polled
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Kind::Upstream { prefix, inner, .. } => {
                let extra = prefix.as_ref().map_or(0, |p| p.len() as u64);
                let hint = inner.size_hint();
                let mut sum = SizeHint::new();
                sum.set_lower(hint.lower() + extra);
                if let Some(upper) = hint.upper() {
                    sum.set_upper(upper + extra);
                }
                sum
            }
            Kind::Translated(_) => SizeHint::new(),
        }
    }
}

impl GatewayBody {
    fn poll_inner(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        match &mut self.kind {
            Kind::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Kind::Translated(stream) => stream.poll_frame(cx),
            Kind::Upstream {
                prefix,
                inner,
                tap,
                events: Some(events),
                ..
            } => {
                if let Some(first) = prefix.take() {
                    if let Some(tap) = tap {
                        tap.chunk(&first);
                    }
                    if let Some(whole) = events.push(&first) {
                        return Poll::Ready(Some(Ok(Frame::data(whole))));
                    }
                }
                loop {
                    if events.finished {
                        return Poll::Ready(None);
                    }
                    match Pin::new(&mut *inner).poll_frame(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Some(Ok(frame))) => {
                            let Ok(data) = frame.into_data() else {
                                continue;
                            };
                            if let Some(tap) = tap {
                                tap.chunk(&data);
                            }
                            if let Some(whole) = events.push(&data) {
                                return Poll::Ready(Some(Ok(Frame::data(whole))));
                            }
                        }
                        Poll::Ready(Some(Err(error))) => {
                            if let Some(tap) = tap {
                                tap.end(Ending::UpstreamBroke);
                            }
                            tracing::warn!(
                                "gateway: the upstream stream broke; the client gets an error event"
                            );
                            events.finished = true;
                            return Poll::Ready(Some(Ok(Frame::data(broken_stream_event(&error)))));
                        }
                        Poll::Ready(None) => {
                            if let Some(tap) = tap {
                                tap.end(Ending::Complete);
                            }
                            events.finished = true;
                            let rest = events.held.split().freeze();
                            if rest.is_empty() {
                                return Poll::Ready(None);
                            }
                            return Poll::Ready(Some(Ok(Frame::data(rest))));
                        }
                    }
                }
            }
            Kind::Upstream {
                prefix, inner, tap, ..
            } => {
                if let Some(first) = prefix.take() {
                    if let Some(tap) = tap {
                        tap.chunk(&first);
                    }
                    return Poll::Ready(Some(Ok(Frame::data(first))));
                }
                let polled = Pin::new(&mut *inner).poll_frame(cx);
                match polled {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(Some(Ok(frame))) => {
                        if let Some(tap) = tap {
                            if let Some(data) = frame.data_ref() {
                                tap.chunk(data);
                            }
                            // hyper may stop polling once the body says it is done, so the end
                            // is told now rather than on a `None` that may never be asked for.
                            if inner.is_end_stream() {
                                tap.end(Ending::Complete);
                            }
                        }
                        Poll::Ready(Some(Ok(frame)))
                    }
                    Poll::Ready(Some(Err(error))) => {
                        if let Some(tap) = tap {
                            tap.end(Ending::UpstreamBroke);
                        }
                        Poll::Ready(Some(Err(Box::new(error))))
                    }
                    Poll::Ready(None) => {
                        if let Some(tap) = tap {
                            tap.end(Ending::Complete);
                        }
                        Poll::Ready(None)
                    }
                }
            }
        }
    }
}

/// The most of one event held back waiting for its end; a longer "event" is handed on as it is,
/// so a stream without blank lines cannot make the gateway hold it all.
const MAX_HELD_EVENT: usize = 1024 * 1024;

/// Holds the start of an event whose end has not arrived yet.
#[derive(Debug, Default)]
struct EventFraming {
    held: BytesMut,
    /// The stream has ended (whole, or with the error event); nothing more is sent.
    finished: bool,
}

impl EventFraming {
    /// Adds a chunk and returns what can be sent now: everything up to the last event end.
    fn push(&mut self, data: &[u8]) -> Option<Bytes> {
        self.held.extend_from_slice(data);
        let cut = if self.held.len() > MAX_HELD_EVENT {
            self.held.len()
        } else {
            last_event_end(&self.held)?
        };
        Some(self.held.split_to(cut).freeze())
    }
}

/// Where the last complete event ends: just after the last blank line (`\n\n`, or `\r\n\r\n`).
fn last_event_end(bytes: &[u8]) -> Option<usize> {
    let lf = memchr::memmem::rfind(bytes, b"\n\n").map(|at| at + 2);
    let crlf = memchr::memmem::rfind(bytes, b"\r\n\r\n").map(|at| at + 4);
    lf.max(crlf)
}

/// The event the API itself sends when a stream fails after its 200, with an `api_error`.
fn broken_stream_event(error: &reqwest::Error) -> Bytes {
    let (_, description) = crate::http::describe_transport_error(error);
    let data = serde_json::json!({
        "type": "error",
        "error": {
            "type": "api_error",
            "message": format!(
                "Claude Status gateway: the API's stream broke before its end ({description})"
            ),
        },
    });
    Bytes::from(format!("event: error\ndata: {data}\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_handed_on_whole() {
        let mut framing = EventFraming::default();
        assert_eq!(
            framing.push(b"event: ping\ndata: {}\n\nevent: mess"),
            Some(Bytes::from_static(b"event: ping\ndata: {}\n\n"))
        );
        assert_eq!(framing.push(b"age_stop\ndata: {\"a\""), None);
        assert_eq!(
            framing.push(b":1}\n\n"),
            Some(Bytes::from_static(
                b"event: message_stop\ndata: {\"a\":1}\n\n"
            ))
        );
        assert_eq!(
            framing.push(b"data: x\r\n\r\n"),
            Some(Bytes::from_static(b"data: x\r\n\r\n"))
        );
        assert!(framing.held.is_empty());
        let long = vec![b'a'; MAX_HELD_EVENT + 1];
        assert_eq!(framing.push(&long).map(|b| b.len()), Some(long.len()));
    }
}
