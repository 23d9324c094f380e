//! One delivery to one channel: the request its API documents (core's payload builders), sent
//! with a timeout, retried a bounded number of times with exponential backoff that honours
//! `Retry-After` (and Discord's `retry_after`), and every failure described without the URL's
//! path or a key.

use std::time::Duration;

use claude_status_core::channels::{
    discord_payload, ntfy_request, pagerduty_payload, redact_url, signed_content, slack_payload,
    webhook_payload, AlertMessage, ChannelConfig, ChannelKind, SecretSlot, PAGERDUTY_EVENTS_URL,
    SIGNATURE_HEADER, TIMESTAMP_HEADER,
};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio_util::sync::CancellationToken;

use super::secrets::{ChannelSecrets, Secret};
use super::AlertingLimits;

/// The most of a receiver's answer we read: enough for an error sentence or Discord's
/// `retry_after`, never a body that could fill memory.
const ANSWER_LIMIT: u64 = 16 * 1024;
/// The most of a receiver's answer that goes into an error sentence.
const ANSWER_IN_ERROR: usize = 160;

/// Why one attempt failed, and whether another may help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptFailure {
    /// Redacted: a host, a status, a short answer with any secret cut out.
    pub message: String,
    pub retry: bool,
    /// What the receiver asked us to wait (`Retry-After`, Discord's `retry_after`).
    pub retry_after: Option<Duration>,
}

/// What a delivery came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    /// Accepted, with the HTTP status and the number of attempts it took.
    Ok { status: u16, attempts: u32 },
    /// Given up: the last failure, redacted.
    Failed { message: String, attempts: u32 },
    /// The engine stopped while waiting to retry.
    Stopped,
}

/// Everything one delivery needs.
#[derive(Debug, Clone)]
pub struct SendContext {
    pub http: reqwest::Client,
    pub secrets: ChannelSecrets,
    pub limits: AlertingLimits,
    /// PagerDuty's `payload.source`: the machine that watches.
    pub source: String,
    pub shutdown: CancellationToken,
}

/// Delivers `message` to `channel`, trying at most `attempts` times.
pub async fn deliver(
    context: &SendContext,
    channel: &ChannelConfig,
    message: &AlertMessage,
    attempts: u32,
) -> Delivered {
    let secrets = context.secrets.clone();
    let lookup = channel.clone();
    // The keychain may be a D-Bus round trip: off the async workers.
    let found = tokio::task::spawn_blocking(move || {
        let target = secrets.resolve(&lookup, SecretSlot::Target).map(|(s, _)| s);
        let auth = lookup
            .kind
            .auth_secret()
            .and_then(|_| secrets.resolve(&lookup, SecretSlot::Auth))
            .map(|(s, _)| s);
        (target, auth)
    })
    .await;
    let (Some(target), auth) = found.unwrap_or((None, None)) else {
        return Delivered::Failed {
            message: format!(
                "no {} is set (the keychain, {}, or {})",
                channel.kind.target_secret().words,
                super::secrets::SECRETS_FILE,
                claude_status_core::channels::secret_env_var(
                    &channel.id,
                    channel.kind,
                    SecretSlot::Target
                )
                .unwrap_or_default()
            ),
            attempts: 0,
        };
    };
    let attempts = attempts.max(1);
    let mut last = String::new();
    for attempt in 1..=attempts {
        let outcome = tokio::time::timeout(
            context.limits.timeout,
            attempt_once(context, channel, message, &target, auth.as_ref()),
        )
        .await;
        let failure = match outcome {
            Ok(Ok(status)) => {
                return Delivered::Ok {
                    status,
                    attempts: attempt,
                }
            }
            Ok(Err(failure)) => failure,
            Err(_) => AttemptFailure {
                message: format!(
                    "{} did not answer within {} s",
                    where_to(channel, &target),
                    context.limits.timeout.as_secs_f64()
                ),
                retry: true,
                retry_after: None,
            },
        };
        last = scrub(&failure.message, &target, auth.as_ref());
        if !failure.retry || attempt == attempts {
            return Delivered::Failed {
                message: if attempts > 1 {
                    format!("{last} (attempt {attempt} of {attempts})")
                } else {
                    last
                },
                attempts: attempt,
            };
        }
        let wait = match failure.retry_after {
            Some(asked) => asked.min(context.limits.retry_after_max),
            None => backoff(&context.limits, attempt),
        };
        tracing::debug!(channel = %channel.id, attempt, ?wait, "alert delivery failed: {last}; retrying");
        tokio::select! {
            _ = context.shutdown.cancelled() => return Delivered::Stopped,
            _ = tokio::time::sleep(wait) => {}
        }
    }
    Delivered::Failed {
        message: last,
        attempts,
    }
}

/// The wait before attempt `attempt + 1`: the base doubled per attempt, capped, with up to a
/// quarter of jitter so many channels failing together do not retry in step.
fn backoff(limits: &AlertingLimits, attempt: u32) -> Duration {
    let doubled = limits
        .backoff_base
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let capped = doubled.min(limits.backoff_max);
    let jitter = capped.mul_f64(rand::random::<f64>() * 0.25);
    capped.saturating_sub(jitter)
}

/// Where a channel delivers, as an error may say it: the host only.
fn where_to(channel: &ChannelConfig, target: &Secret) -> String {
    match channel.kind {
        ChannelKind::Pagerduty => {
            redact_url(channel.endpoint.as_deref().unwrap_or(PAGERDUTY_EVENTS_URL))
        }
        _ => redact_url(target.expose()),
    }
}

/// A message with every secret it might contain cut out, whatever the receiver echoed.
fn scrub(message: &str, target: &Secret, auth: Option<&Secret>) -> String {
    let mut out = message.to_owned();
    for secret in std::iter::once(target).chain(auth) {
        let secret = secret.expose();
        if secret.len() >= 4 {
            out = out.replace(secret, "…");
        }
        // A URL's path is its secret even when only the path is echoed.
        if let Some((_, rest)) = secret.split_once("://") {
            if let Some((_, path)) = rest.split_once('/') {
                if path.len() >= 4 {
                    out = out.replace(path, "…");
                }
            }
        }
    }
    out
}

/// One request and its answer: the status when accepted (2xx), else why not.
async fn attempt_once(
    context: &SendContext,
    channel: &ChannelConfig,
    message: &AlertMessage,
    target: &Secret,
    auth: Option<&Secret>,
) -> Result<u16, AttemptFailure> {
    let http = &context.http;
    let request = match channel.kind {
        ChannelKind::Slack => http.post(target.expose()).json(&slack_payload(message)),
        ChannelKind::Discord => http.post(target.expose()).json(&discord_payload(message)),
        ChannelKind::Pagerduty => http
            .post(channel.endpoint.as_deref().unwrap_or(PAGERDUTY_EVENTS_URL))
            .json(&pagerduty_payload(
                message,
                target.expose(),
                &context.source,
            )),
        ChannelKind::Webhook => {
            let payload = webhook_payload(message, env!("CARGO_PKG_VERSION"));
            let body = serde_json::to_vec(&payload).map_err(|e| AttemptFailure {
                message: format!("the payload could not be written: {e}"),
                retry: false,
                retry_after: None,
            })?;
            let timestamp = chrono::Utc::now().timestamp();
            let mut request = http
                .post(target.expose())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(TIMESTAMP_HEADER, timestamp.to_string())
                .header("X-Claude-Status-Event", message.kind_name());
            if let Some(secret) = auth {
                request = request.header(SIGNATURE_HEADER, sign(secret, timestamp, &body));
            }
            request.body(body)
        }
        ChannelKind::Ntfy => {
            let (body, headers) = ntfy_request(message);
            let mut request = http
                .post(target.expose())
                .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8");
            for (name, value) in headers {
                request = request.header(name, value);
            }
            if let Some(token) = auth {
                request = request.bearer_auth(token.expose());
            }
            request.body(body)
        }
    };
    let host = where_to(channel, target);
    let response = request.send().await.map_err(|e| {
        // reqwest's own message names the URL; `without_url` and the deepest cause keep the
        // sentence to what went wrong.
        let (_, text) = crate::http::describe_transport_error(&e.without_url());
        AttemptFailure {
            message: format!("{host}: {text}"),
            retry: true,
            retry_after: None,
        }
    })?;
    let status = response.status();
    let header_wait = retry_after_header(response.headers());
    let answer = crate::http::read_body_limited(response, ANSWER_LIMIT)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    if status.is_success() {
        return Ok(status.as_u16());
    }
    let retry_after = header_wait.or_else(|| discord_retry_after(&answer));
    let retry = status.as_u16() == 429 || status.as_u16() == 408 || status.is_server_error();
    let answer: String = answer.trim().chars().take(ANSWER_IN_ERROR).collect();
    Err(AttemptFailure {
        message: if answer.is_empty() {
            format!("{host} answered HTTP {}", status.as_u16())
        } else {
            format!("{host} answered HTTP {}: {answer}", status.as_u16())
        },
        retry,
        retry_after,
    })
}

/// `Retry-After` in seconds (the form Slack and most receivers send); an HTTP date is read too.
fn retry_after_header(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = date.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// Discord's 429 body: `{"retry_after": 1.5, …}`, in seconds.
fn discord_retry_after(answer: &str) -> Option<Duration> {
    let value: serde_json::Value = serde_json::from_str(answer).ok()?;
    let seconds = value.get("retry_after")?.as_f64()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

/// `sha256=<hex of HMAC-SHA256(secret, "<timestamp>.<body>")>`, the webhook's signature.
pub fn sign(secret: &Secret, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(&signed_content(timestamp, body));
    let digest = mac.finalize().into_bytes();
    let mut hex = String::with_capacity(7 + digest.len() * 2);
    hex.push_str("sha256=");
    for byte in digest {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_the_timestamp_and_body() {
        // The HMAC itself against RFC 4231's test case 2, then `sign` as the HMAC of
        // "<timestamp>.<body>" in the documented `sha256=<hex>` form.
        let secret = Secret::new("Jefe").unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        let raw: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            raw,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let signed = sign(&secret, 1_700_000_000, b"{}");
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"1700000000.{}");
        let expected: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(signed, format!("sha256={expected}"));
    }

    #[test]
    fn retry_after_reads_seconds_dates_and_discords_body() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::RETRY_AFTER, "2".parse().unwrap());
        assert_eq!(retry_after_header(&headers), Some(Duration::from_secs(2)));
        assert_eq!(
            discord_retry_after(
                r#"{"message": "You are being rate limited.", "retry_after": 0.5, "global": false}"#
            ),
            Some(Duration::from_millis(500))
        );
        assert_eq!(discord_retry_after("ok"), None);
    }

    #[test]
    fn scrubbing_removes_the_url_path_and_keys() {
        let target = Secret::new("https://hooks.slack.com/services/T0/B0/SECRETPATH").unwrap();
        let text = scrub(
            "hooks.slack.com answered: invalid url services/T0/B0/SECRETPATH",
            &target,
            None,
        );
        assert!(!text.contains("SECRETPATH"), "{text}");
        let key = Secret::new("R0UT1NGKEYR0UT1NGKEYR0UT1NGKEY12").unwrap();
        assert!(!scrub(
            "bad routing_key R0UT1NGKEYR0UT1NGKEYR0UT1NGKEY12",
            &key,
            None
        )
        .contains("R0UT"));
    }
}
