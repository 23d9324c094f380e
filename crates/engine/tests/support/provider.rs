//! What a fake OpenAI-compatible provider in a fallback test was sent. Included by path
//! (`#[path]`) by the tests that use it, so the other tests do not compile it.

use hyper::HeaderMap;
use serde_json::Value;

/// One request the fake provider received: its path, the two key headers, the JSON body.
#[derive(Debug, Clone)]
pub struct ProviderSeen {
    pub path: String,
    pub authorization: Option<String>,
    pub api_key: Option<String>,
    pub body: Value,
}

impl ProviderSeen {
    /// The request at `path` with `headers` and `body` (`Value::Null` when not JSON).
    pub fn new(path: &str, headers: &HeaderMap, body: &[u8]) -> Self {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        Self {
            path: path.to_owned(),
            authorization: header("authorization"),
            api_key: header("x-api-key"),
            body: serde_json::from_slice(body).unwrap_or(Value::Null),
        }
    }
}
