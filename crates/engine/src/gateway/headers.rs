//! Which headers cross the gateway: everything end to end passes unchanged, the hop-by-hop
//! headers of RFC 9110 §7.6.1 stay on their own hop, and credentials are marked sensitive so no
//! `Debug` print (or HTTP/2 header table) ever shows them.

use hyper::header::{HeaderMap, HeaderName, HeaderValue};

/// Headers that describe one connection, never the message (RFC 9110 §7.6.1, plus the
/// `Proxy-*` family and the old `Keep-Alive` / `Proxy-Connection`, which senders still use).
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Request headers that carry a secret: forwarded, but never shown.
const CREDENTIALS: [&str; 3] = ["x-api-key", "authorization", "cookie"];

/// Removes the hop-by-hop headers, and every header the `Connection` header names. The map is
/// rebuilt rather than edited, because removing from a `HeaderMap` moves its last entry into the
/// hole, and the other side should see the headers in the order they were sent.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    strip(headers, &[]);
}

/// `strip_hop_by_hop`, also removing `extra`.
fn strip(headers: &mut HeaderMap, extra: &[HeaderName]) {
    let named: Vec<HeaderName> = headers
        .get_all(hyper::header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|token| HeaderName::from_bytes(token.trim().as_bytes()).ok())
        .collect();
    let is_hop = |name: &HeaderName| {
        HOP_BY_HOP.contains(&name.as_str()) || named.contains(name) || extra.contains(name)
    };
    if !headers.keys().any(is_hop) {
        return;
    }
    let mut kept = HeaderMap::with_capacity(headers.len());
    let mut current: Option<HeaderName> = None;
    for (name, value) in std::mem::take(headers) {
        // `into_iter` names a header once, then gives `None` for its further values.
        if let Some(name) = name {
            current = Some(name);
        }
        if let Some(name) = current.as_ref().filter(|name| !is_hop(name)) {
            kept.append(name.clone(), value);
        }
    }
    *headers = kept;
}

/// The client's request headers as they go upstream: hop-by-hop and the gateway's own
/// `x-claude-status-token` removed, `Host` left for the
/// HTTP client to write for the upstream, `Content-Length` left for it to compute from the body
/// it sends (a model fallback changes the length), and credentials marked sensitive.
pub fn upstream_request_headers(mut headers: HeaderMap) -> HeaderMap {
    // The gateway's own access token is for the gateway; the API must never see it.
    strip(
        &mut headers,
        &[
            hyper::header::HOST,
            hyper::header::CONTENT_LENGTH,
            HeaderName::from_static(super::token::TOKEN_HEADER),
        ],
    );
    for name in CREDENTIALS {
        if let hyper::header::Entry::Occupied(mut entry) = headers.entry(name) {
            for value in entry.iter_mut() {
                value.set_sensitive(true);
            }
        }
    }
    headers
}

/// The upstream's response headers as they go to the client: only hop-by-hop removed.
/// `Content-Length` stays, so a client sees the same framing information as when going direct.
pub fn client_response_headers(headers: &mut HeaderMap) {
    strip_hop_by_hop(headers);
}

/// The headers metering reads, copied out as text: the request id, the body's type and
/// encoding, and the rate-limit family. Nothing else (and nothing the client sent) is copied.
pub fn metering_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(16);
    for (name, value) in headers {
        let name = name.as_str();
        let wanted = matches!(
            name,
            "request-id" | "content-type" | "content-encoding" | "retry-after" | "retry-after-ms"
        ) || name.starts_with("anthropic-ratelimit-")
            || name.starts_with("anthropic-priority-")
            || name.starts_with("anthropic-fast-");
        if wanted {
            if let Ok(text) = value.to_str() {
                out.push((name.to_owned(), text.to_owned()));
            }
        }
    }
    out
}

/// The answer's `request-id` among the metering headers, when it has a non-empty one.
pub fn request_id(headers: &[(String, String)]) -> Option<String> {
    claude_status_core::probe::header(headers, "request-id")
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
}

/// A header value for our own answers.
pub fn static_value(text: &'static str) -> HeaderValue {
    HeaderValue::from_static(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        headers
    }

    #[test]
    fn hop_by_hop_and_connection_named_headers_go() {
        let headers = upstream_request_headers(map(&[
            ("host", "127.0.0.1:7529"),
            ("connection", "keep-alive, x-hop"),
            ("x-hop", "1"),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("proxy-authorization", "Basic Zm9v"),
            ("upgrade", "h2c"),
            ("content-length", "12"),
            ("x-claude-status-token", "cst_secret"),
            ("x-api-key", "sk-ant-secret"),
            ("anthropic-version", "2023-06-01"),
            ("anthropic-beta", "a"),
            ("anthropic-beta", "b"),
        ]));
        let names: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["x-api-key", "anthropic-version", "anthropic-beta"]);
        assert_eq!(headers.get_all("anthropic-beta").iter().count(), 2);
        assert!(headers["x-api-key"].is_sensitive());
        assert!(!format!("{headers:?}").contains("sk-ant-secret"));
    }

    #[test]
    fn responses_keep_their_length() {
        let mut headers = map(&[
            ("content-length", "5"),
            ("transfer-encoding", "chunked"),
            ("request-id", "req_1"),
        ]);
        client_response_headers(&mut headers);
        let names: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["content-length", "request-id"]);
    }
}
