//! The retry helper for API calls whose result matters more than their timing (the Admin API
//! reader and the gateway of later issues): the official SDKs' rules from `core::retry`, with
//! jitter drawn here, waits on tokio's clock, and every attempt kept for the caller to record.
//!
//! The probes do not use it on purpose: they measure, and a retry would hide what they measure.

use std::future::Future;
use std::time::Duration;

use chrono::Utc;
use claude_status_core::probe::{classify_reply, classify_transport, Classification, HttpReply};
use claude_status_core::retry::{RetryDecision, RetryPolicy};
use rand::Rng;

use crate::http::{read_body_limited, BodyError};
use crate::probe::transport_failure;

/// One attempt of a retried call.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub classification: Classification,
    /// The wait before the next attempt, when there was one.
    pub waited: Option<Duration>,
}

/// An HTTP reply whose body was read.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: bytes::Bytes,
}

/// The outcome of a retried call: the last reply (status, headers, body) when one arrived, and
/// every attempt with its classification.
#[derive(Debug)]
pub struct Retried {
    pub reply: Option<Reply>,
    pub attempts: Vec<Attempt>,
    /// Why the helper stopped.
    pub stopped: &'static str,
}

impl Retried {
    /// The classification of the last attempt.
    pub fn last(&self) -> Option<&Classification> {
        self.attempts.last().map(|a| &a.classification)
    }
}

/// Sends the request `build()` makes, retrying as the policy says. `build` is called once per
/// attempt because a request body can only be sent once. Bodies are read up to `body_limit`.
pub async fn send_with_retries<F, Fut>(
    policy: &RetryPolicy,
    key_configured: bool,
    body_limit: u64,
    mut build: F,
) -> Retried
where
    F: FnMut() -> Fut,
    Fut: Future<Output = reqwest::Result<reqwest::Response>>,
{
    let started = tokio::time::Instant::now();
    let mut attempts: Vec<Attempt> = Vec::new();
    loop {
        let (classification, headers, reply) = match build().await {
            Err(e) => (classify_transport(&transport_failure(&e)), Vec::new(), None),
            Ok(response) => {
                let status = response.status().as_u16();
                let headers: Vec<(String, String)> = response
                    .headers()
                    .iter()
                    .filter_map(|(k, v)| {
                        v.to_str()
                            .ok()
                            .map(|v| (k.as_str().to_owned(), v.to_owned()))
                    })
                    .collect();
                match read_body_limited(response, body_limit).await {
                    Ok(body) => {
                        let classification = classify_reply(
                            &HttpReply {
                                status,
                                headers: &headers,
                                body: &body,
                                key_configured,
                            },
                            Utc::now(),
                        );
                        (
                            classification,
                            headers.clone(),
                            Some(Reply {
                                status,
                                headers,
                                body,
                            }),
                        )
                    }
                    Err(BodyError::TooLarge { limit }) => {
                        let mut c = classify_transport(
                            &claude_status_core::probe::TransportFailure::Other(format!(
                                "answer larger than {limit} bytes"
                            )),
                        );
                        c.http_status = Some(status);
                        (c, headers, None)
                    }
                    Err(BodyError::Transport(e)) => {
                        (classify_transport(&transport_failure(&e)), headers, None)
                    }
                }
            }
        };
        let retries_so_far = u32::try_from(attempts.len()).unwrap_or(u32::MAX);
        let jitter: f64 = rand::rng().random_range(0.0..1.0);
        let decision = policy.decide(
            retries_so_far,
            started.elapsed(),
            &classification,
            &headers,
            jitter,
            Utc::now(),
        );
        match decision {
            RetryDecision::GiveUp(why) => {
                attempts.push(Attempt {
                    classification,
                    waited: None,
                });
                return Retried {
                    reply,
                    attempts,
                    stopped: why,
                };
            }
            RetryDecision::Retry(wait) => {
                tracing::debug!("retrying after {} in {wait:?}", classification.outcome);
                attempts.push(Attempt {
                    classification,
                    waited: Some(wait),
                });
                tokio::time::sleep(wait).await;
            }
        }
    }
}
