//! The advisor's prefix sizes from the API's own `count_tokens` (free, with its own rate limit,
//! api-facts B7), asked once per distinct prefix and model when the user turned it on
//! (`advisor_count_tokens`, `proxy --count-prefix-tokens`).
//!
//! `count_tokens` counts a whole request, so a prefix is counted as the difference between the
//! request's tools and system prompt with a one-character message and that message alone (the
//! latter once per model): whatever fixed overhead the API adds to a request falls out. The call
//! is made with the credentials of the request that carried the prefix, to the same upstream, so
//! it is the user's own organisation counting its own prompt; the credentials are held only for
//! the call. Never more than two counts run at once and no queue is kept: a prefix that finds no
//! slot is counted at a later send. After a failure (a 401 for an OAuth login the endpoint does
//! not take, a 429) counting pauses for five minutes, so a refusal cannot double the traffic.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use tokio::sync::Semaphore;

use crate::store::Store;

/// The request headers a count needs: the credentials and the API version and betas.
const CARRIED: [&str; 4] = [
    "x-api-key",
    "authorization",
    "anthropic-version",
    "anthropic-beta",
];

/// The message each count carries, the same on both sides of the difference.
const MESSAGES: &str = r#"[{"role":"user","content":"."}]"#;

/// Counts at once; past it a prefix waits for a later send.
const CONCURRENT: usize = 2;

/// Distinct prefixes remembered as counted or being counted; past it nothing more is counted in
/// this run (the advisor then estimates), which bounds the set.
const REMEMBERED: usize = 20_000;

/// How long counting pauses after a failed count.
const PAUSE_AFTER_FAILURE: Duration = Duration::from_secs(300);

/// One count's time limit.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The request headers a count is sent with. Its `Debug` never shows them.
#[derive(Clone, Default)]
pub(crate) struct Credentials(Vec<(HeaderName, HeaderValue)>);

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials(…)")
    }
}

impl Credentials {
    /// The headers of a client's request that a count needs.
    pub(crate) fn of(headers: &HeaderMap) -> Credentials {
        Credentials(
            CARRIED
                .iter()
                .filter_map(|name| {
                    let value = headers.get(*name)?;
                    Some((HeaderName::from_static(name), value.clone()))
                })
                .collect(),
        )
    }
}

#[derive(Deserialize)]
struct Counted {
    input_tokens: u64,
}

/// Asks `count_tokens` for the size of prefixes it has not seen.
#[derive(Debug)]
pub(crate) struct PrefixCounter {
    client: reqwest::Client,
    url: String,
    store: Arc<Store>,
    slots: Arc<Semaphore>,
    state: Mutex<CounterState>,
}

#[derive(Debug, Default)]
struct CounterState {
    /// (model, key) counted, or being counted.
    seen: HashSet<(String, String)>,
    /// Each model's count of the message alone.
    baselines: HashMap<String, u64>,
    paused_until: Option<Instant>,
}

impl PrefixCounter {
    /// A counter for the upstream `upstream` (no trailing slash), storing sizes in `store`; the
    /// sizes the store already has are not asked again.
    pub(crate) fn new(client: reqwest::Client, upstream: &str, store: Arc<Store>) -> PrefixCounter {
        let seen = match store.prefix_sizes() {
            Ok(sizes) => sizes.into_keys().collect(),
            Err(e) => {
                tracing::warn!("the advisor could not read the prefix sizes counted before: {e}");
                HashSet::new()
            }
        };
        PrefixCounter {
            client,
            url: format!("{upstream}/v1/messages/count_tokens"),
            store,
            slots: Arc::new(Semaphore::new(CONCURRENT)),
            state: Mutex::new(CounterState {
                seen,
                ..CounterState::default()
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, CounterState> {
        // The state holds no invariant a panic could break halfway, so a poisoned lock is used.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Offers a prefix seen in an answered request. Counts it on a task of its own when it is
    /// new and a slot is free; never waits.
    pub(crate) fn offer(
        self: &Arc<Self>,
        model: &str,
        key: &str,
        tools: Option<Bytes>,
        system: Option<Bytes>,
        credentials: Credentials,
    ) {
        let id = (model.to_owned(), key.to_owned());
        {
            let mut state = self.state();
            if state
                .paused_until
                .is_some_and(|until| Instant::now() < until)
                || state.seen.contains(&id)
                || state.seen.len() >= REMEMBERED
            {
                return;
            }
            state.paused_until = None;
            state.seen.insert(id.clone());
        }
        let Ok(permit) = Arc::clone(&self.slots).try_acquire_owned() else {
            self.state().seen.remove(&id);
            return;
        };
        let counter = Arc::clone(self);
        tokio::spawn(async move {
            let counted = counter
                .prefix_tokens(&id.0, tools, system, &credentials)
                .await;
            drop(permit);
            match counted {
                Ok(tokens) => {
                    let store = Arc::clone(&counter.store);
                    let (model, key) = id.clone();
                    let stored = tokio::task::spawn_blocking(move || {
                        store.record_prefix_size(&model, &key, tokens, chrono::Utc::now())
                    })
                    .await;
                    if !matches!(stored, Ok(Ok(()))) {
                        // Not kept: counted again at a later send.
                        counter.state().seen.remove(&id);
                    }
                }
                Err(why) => {
                    tracing::info!(
                        "the advisor's count_tokens call failed ({why}); sizes are estimated \
                         for the next 5 minutes"
                    );
                    let mut state = counter.state();
                    state.seen.remove(&id);
                    state.paused_until = Some(Instant::now() + PAUSE_AFTER_FAILURE);
                }
            }
        });
    }

    async fn prefix_tokens(
        &self,
        model: &str,
        tools: Option<Bytes>,
        system: Option<Bytes>,
        credentials: &Credentials,
    ) -> Result<u64, String> {
        let baseline = self.state().baselines.get(model).copied();
        let baseline = match baseline {
            Some(tokens) => tokens,
            None => {
                let tokens = self.count(model, None, None, credentials).await?;
                self.state().baselines.insert(model.to_owned(), tokens);
                tokens
            }
        };
        let with_prefix = self
            .count(model, tools.as_deref(), system.as_deref(), credentials)
            .await?;
        Ok(with_prefix.saturating_sub(baseline))
    }

    /// One `count_tokens` call; the tools and system are the client's own JSON, unchanged.
    async fn count(
        &self,
        model: &str,
        tools: Option<&[u8]>,
        system: Option<&[u8]>,
        credentials: &Credentials,
    ) -> Result<u64, String> {
        let model = serde_json::to_vec(model).map_err(|e| e.to_string())?;
        let mut body = Vec::with_capacity(
            64 + model.len() + tools.map_or(0, <[u8]>::len) + system.map_or(0, <[u8]>::len),
        );
        body.extend_from_slice(b"{\"model\":");
        body.extend_from_slice(&model);
        if let Some(tools) = tools {
            body.extend_from_slice(b",\"tools\":");
            body.extend_from_slice(tools);
        }
        if let Some(system) = system {
            body.extend_from_slice(b",\"system\":");
            body.extend_from_slice(system);
        }
        body.extend_from_slice(b",\"messages\":");
        body.extend_from_slice(MESSAGES.as_bytes());
        body.push(b'}');
        let mut request = self
            .client
            .post(&self.url)
            .timeout(TIMEOUT)
            .header("content-type", "application/json")
            .body(body);
        for (name, value) in &credentials.0 {
            request = request.header(name, value);
        }
        let response = request
            .send()
            .await
            .map_err(|e| crate::http::describe_transport_error(&e).1)?;
        let status = response.status();
        let bytes = crate::http::read_body_limited(response, 64 * 1024)
            .await
            .map_err(|_| "the answer could not be read".to_owned())?;
        if !status.is_success() {
            return Err(format!("HTTP {}", status.as_u16()));
        }
        serde_json::from_slice::<Counted>(&bytes)
            .map(|counted| counted.input_tokens)
            .map_err(|_| "the answer had no input_tokens".to_owned())
    }
}
