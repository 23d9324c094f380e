//! The shared HTTP client (reqwest with rustls) and bounded body reading.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;

use crate::error::{Error, Result};

/// The User-Agent every request carries, so the operators of the pages we poll can see who we are.
pub const USER_AGENT: &str = concat!(
    "claude-status/",
    env!("CARGO_PKG_VERSION"),
    " (+https://github.com/claude-status/claude-status)"
);

/// Limits for one HTTP client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Time to establish the TCP and TLS connection.
    pub connect_timeout: Duration,
    /// Time for the whole exchange, body included.
    pub total_timeout: Duration,
    /// The most body bytes we read (after decompression); a longer body is an error.
    pub body_limit: u64,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(30),
            body_limit: 4 * 1024 * 1024,
        }
    }
}

/// Builds a client with our limits; one client is shared so connections are reused.
pub fn build_client(limits: &HttpLimits) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(limits.connect_timeout)
        .timeout(limits.total_timeout)
        // The status page answers with a 302 from status.anthropic.com; a few hops are enough.
        .redirect(reqwest::redirect::Policy::limited(5))
        .build()
        .map_err(|e| Error::Http(format!("could not build the HTTP client: {e}")))
}

/// Why a body could not be read whole.
#[derive(Debug)]
pub enum BodyError {
    /// More than the limit; nothing past the limit was kept in memory.
    TooLarge { limit: u64 },
    /// The transfer broke off (timeout, reset).
    Transport(reqwest::Error),
}

/// Reads a response body, stopping as soon as it passes `limit` bytes.
pub async fn read_body_limited(
    response: reqwest::Response,
    limit: u64,
) -> std::result::Result<Bytes, BodyError> {
    if response.content_length().is_some_and(|len| len > limit) {
        return Err(BodyError::TooLarge { limit });
    }
    let mut body = BytesMut::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(BodyError::Transport)?;
        if body.len() as u64 + chunk.len() as u64 > limit {
            return Err(BodyError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Describes a transport error in a short sentence, and says whether it is our network's fault
/// (DNS, refused, reset, TLS) rather than a slow server.
pub fn describe_transport_error(error: &reqwest::Error) -> (TransportKind, String) {
    let chain = error_chain(error);
    let lower = chain.to_lowercase();
    let deepest = deepest_cause(error);
    if error.is_timeout() || lower.contains("timed out") {
        return (TransportKind::Timeout, "timed out".to_owned());
    }
    let (kind, label) = if lower.contains("dns") || lower.contains("failed to lookup") {
        (TransportKind::Dns, "DNS lookup failed")
    } else if lower.contains("connection refused") {
        (TransportKind::Refused, "connection refused")
    } else if lower.contains("reset")
        || lower.contains("connection closed")
        || lower.contains("broken pipe")
        || lower.contains("incomplete message")
    {
        (TransportKind::Reset, "connection reset")
    } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake")
    {
        (TransportKind::Tls, "TLS failure")
    } else {
        (TransportKind::Other, "request failed")
    };
    (kind, format!("{label} ({deepest})"))
}

/// The innermost cause of an error: the OS or protocol message, without the wrappers' URLs.
fn deepest_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

/// The family of a transport failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    Timeout,
    Dns,
    Refused,
    Reset,
    Tls,
    Other,
}

/// The error and its sources joined, because reqwest's top-level message alone says little
/// ("error sending request") and the cause (e.g. "Connection refused") is what a user needs.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}
