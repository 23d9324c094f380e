//! The status-page source: polls `summary.json` with conditional requests, falls back to the
//! `<page id>.statuspage.io` host when the main one fails, reads `incidents.json` at a slower pace
//! and single incidents on demand, and sends what it sees to the monitor.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::Utc;
use claude_status_core::assess::{FetchFailure, FetchFailureKind};
use claude_status_core::monitor::{Observation, PageFetch};
use claude_status_core::statuspage::{self, Incident, StatusPage};
use reqwest::header::{CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use reqwest::StatusCode;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::http::{
    describe_transport_error, read_body_limited, BodyError, HttpLimits, TransportKind,
};
use crate::store::{CachedResponse, FetchOutcome, FetchRecord, Store};

/// The official Claude status page.
pub const DEFAULT_STATUS_URL: &str = "https://status.claude.com";
/// The same page on Atlassian's own host, which served it when the main host showed a bot
/// challenge (api-facts A4).
pub const DEFAULT_FALLBACK_URL: &str = "https://tymt9n04zgry.statuspage.io";
/// The shortest poll interval we accept; only tests should go this low.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// Below this we warn: the page's own cache is 10 s, and bot protection has answered faster polls.
pub const POLITE_INTERVAL: Duration = Duration::from_secs(15);

/// How the status page is polled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollerConfig {
    /// Base URL of the page (no trailing `/api/v2`).
    pub status_url: String,
    /// A second host serving the same page, tried when the main one fails.
    pub fallback_url: Option<String>,
    /// Poll interval for `summary.json`.
    pub interval: Duration,
    /// Poll interval while an incident is unresolved (never slower than `interval`).
    pub incident_interval: Duration,
    /// Interval for `incidents.json` (recent history).
    pub history_interval: Duration,
    /// After the main host failed and the fallback answered, stay on the fallback this long.
    pub fallback_hold: Duration,
    pub limits: HttpLimits,
}

impl Default for PollerConfig {
    fn default() -> Self {
        Self {
            status_url: DEFAULT_STATUS_URL.to_owned(),
            fallback_url: Some(DEFAULT_FALLBACK_URL.to_owned()),
            interval: Duration::from_secs(60),
            incident_interval: Duration::from_secs(30),
            history_interval: Duration::from_secs(10 * 60),
            fallback_hold: Duration::from_secs(15 * 60),
            limits: HttpLimits::default(),
        }
    }
}

impl PollerConfig {
    /// A configuration for a given page URL: the fallback host is used only for the default page,
    /// because another page's fallback is unknowable.
    pub fn for_url(status_url: &str) -> Self {
        let status_url = status_url.trim_end_matches('/').to_owned();
        let fallback_url = (status_url == DEFAULT_STATUS_URL
            || status_url == "https://status.anthropic.com")
            .then(|| DEFAULT_FALLBACK_URL.to_owned());
        Self {
            status_url,
            fallback_url,
            ..Self::default()
        }
    }

    /// Checks the intervals; returns a warning to show when polling is faster than is polite.
    pub fn validate(&self) -> Result<Option<String>> {
        if self.interval < MIN_INTERVAL {
            return Err(Error::Config(format!(
                "poll interval {:?} is below the minimum of 1 s",
                self.interval
            )));
        }
        let parsed = reqwest::Url::parse(&self.status_url)
            .map_err(|e| Error::Config(format!("status URL {:?}: {e}", self.status_url)))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::Config(format!(
                "status URL {:?} must be http or https",
                self.status_url
            )));
        }
        Ok((self.interval < POLITE_INTERVAL).then(|| {
            format!(
                "polling the status page every {:?} is faster than its 10 s cache and may trip its bot protection; 60 s is the default",
                self.interval
            )
        }))
    }

    /// The interval to wait before the next summary poll.
    pub fn next_interval(&self, incident_active: bool) -> Duration {
        if incident_active {
            self.incident_interval.min(self.interval)
        } else {
            self.interval
        }
    }
}

/// What the last answer of one URL was, for conditional requests.
#[derive(Debug, Clone)]
struct Validator {
    etag: String,
    body: Bytes,
}

/// A status-page client that remembers ETags and which host works.
#[derive(Debug)]
pub struct StatusPageClient {
    http: reqwest::Client,
    config: PollerConfig,
    store: Option<Arc<Store>>,
    validators: HashMap<String, Validator>,
    fallback_until: Option<Instant>,
}

/// The outcome of one summary poll, with one log record per host tried.
#[derive(Debug)]
pub struct SummaryPoll {
    pub fetch: PageFetch,
    pub records: Vec<FetchRecord>,
}

impl StatusPageClient {
    /// A client; with a store, ETags and bodies survive restarts (so `check` can send
    /// `If-None-Match` too) and every attempt is logged.
    pub fn new(http: reqwest::Client, config: PollerConfig, store: Option<Arc<Store>>) -> Self {
        Self {
            http,
            config,
            store,
            validators: HashMap::new(),
            fallback_until: None,
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &PollerConfig {
        &self.config
    }

    /// Polls `summary.json` on the main host, or the fallback when the main one fails.
    pub async fn poll_summary(&mut self) -> SummaryPoll {
        let (result, records) = self
            .get_with_fallback("/api/v2/summary.json", statuspage::parse_summary)
            .await;
        let fetch = match result {
            Ok((page, not_modified, source_url)) => PageFetch::Fetched {
                page: Box::new(page),
                source_url,
                not_modified,
            },
            Err(failure) => PageFetch::Failed { failure },
        };
        SummaryPoll { fetch, records }
    }

    /// Reads `incidents.json` (the 50 most recent incidents, any state).
    pub async fn fetch_history(&mut self) -> std::result::Result<Vec<Incident>, FetchFailure> {
        let (result, records) = self
            .get_with_fallback("/api/v2/incidents.json", statuspage::parse_incidents)
            .await;
        self.log_all(records).await;
        result.map(|(incidents, _, _)| incidents)
    }

    /// Reads `incidents/{id}.json`.
    pub async fn fetch_incident(
        &mut self,
        id: &str,
    ) -> std::result::Result<Incident, FetchFailure> {
        // Ids are base36; anything else would only be a malformed path.
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(FetchFailure {
                kind: FetchFailureKind::Unreadable,
                detail: format!("incident id {id:?} is not a status-page id"),
            });
        }
        let (result, records) = self
            .get_with_fallback(
                &format!("/api/v2/incidents/{id}.json"),
                statuspage::parse_incident,
            )
            .await;
        self.log_all(records).await;
        result.map(|(incident, _, _)| incident)
    }

    /// GETs `path` on the main host, or on the fallback when the main one fails (or first, while
    /// the fallback is held after a recent failure of the main host). Returns the parsed value,
    /// whether it came from a 304, and the URL that answered, with one record per host tried.
    async fn get_with_fallback<T>(
        &mut self,
        path: &str,
        parse: fn(&[u8]) -> claude_status_core::Result<T>,
    ) -> (
        std::result::Result<(T, bool, String), FetchFailure>,
        Vec<FetchRecord>,
    ) {
        let mut records = Vec::new();
        let hold = self.fallback_until.is_some_and(|t| Instant::now() < t);
        let mut bases = vec![self.config.status_url.clone()];
        if let Some(fallback) = self.config.fallback_url.clone() {
            if hold {
                bases.insert(0, fallback);
            } else {
                bases.push(fallback);
            }
        }

        let mut failures: Vec<(String, FetchFailure)> = Vec::new();
        for (index, base) in bases.iter().enumerate() {
            let url = format!("{}{path}", base.trim_end_matches('/'));
            let (result, record) = self.get_document(&url, parse).await;
            records.push(record);
            match result {
                Ok((value, not_modified)) => {
                    let on_fallback = self.config.fallback_url.as_deref() == Some(base.as_str());
                    if on_fallback && !hold && index > 0 {
                        // The main host just failed: stay away from it for a while.
                        self.fallback_until = Some(Instant::now() + self.config.fallback_hold);
                    } else if !on_fallback {
                        self.fallback_until = None;
                    }
                    return (Ok((value, not_modified, url)), records);
                }
                Err(failure) => failures.push((host_of(base), failure)),
            }
        }
        (Err(combine_failures(failures)), records)
    }

    /// Writes fetch records to the store, if there is one; a store failure is logged, never fatal.
    pub async fn log_all(&self, records: Vec<FetchRecord>) {
        for record in records {
            self.log(record).await;
        }
    }

    async fn log(&self, record: FetchRecord) {
        let Some(store) = self.store.clone() else {
            return;
        };
        let outcome = tokio::task::spawn_blocking(move || store.record_fetch(&record)).await;
        if let Ok(Err(e)) = outcome {
            tracing::warn!("could not log a status-page fetch: {e}");
        }
    }

    async fn validator(&mut self, url: &str) -> Option<Validator> {
        if let Some(v) = self.validators.get(url) {
            return Some(v.clone());
        }
        let store = self.store.clone()?;
        let key = url.to_owned();
        let cached = tokio::task::spawn_blocking(move || store.cached_response(&key))
            .await
            .ok()?
            .ok()??;
        let validator = Validator {
            etag: cached.etag?,
            body: Bytes::from(cached.body),
        };
        self.validators.insert(url.to_owned(), validator.clone());
        Some(validator)
    }

    async fn remember(
        &mut self,
        url: &str,
        etag: Option<String>,
        body: Bytes,
        content_type: Option<String>,
    ) {
        match etag {
            Some(etag) => {
                self.validators.insert(
                    url.to_owned(),
                    Validator {
                        etag: etag.clone(),
                        body: body.clone(),
                    },
                );
                if let Some(store) = self.store.clone() {
                    let key = url.to_owned();
                    let cached = CachedResponse {
                        etag: Some(etag),
                        last_modified: None,
                        body: body.to_vec(),
                        content_type,
                        fetched_at: Utc::now(),
                    };
                    let outcome = tokio::task::spawn_blocking(move || {
                        store.put_cached_response(&key, &cached)
                    })
                    .await;
                    if let Ok(Err(e)) = outcome {
                        tracing::warn!("could not cache the status page: {e}");
                    }
                }
            }
            None => {
                self.validators.remove(url);
            }
        }
    }

    /// One GET with `If-None-Match`, a bounded body, and a parse; returns the parsed value and
    /// whether it came from a 304.
    async fn get_document<T>(
        &mut self,
        url: &str,
        parse: fn(&[u8]) -> claude_status_core::Result<T>,
    ) -> (std::result::Result<(T, bool), FetchFailure>, FetchRecord) {
        let started = Instant::now();
        let at = Utc::now();
        let validator = self.validator(url).await;
        let mut request = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(v) = &validator {
            request = request.header(IF_NONE_MATCH, v.etag.as_str());
        }
        let mut record = FetchRecord {
            at,
            url: url.to_owned(),
            outcome: FetchOutcome::Error,
            http_status: None,
            bytes: 0,
            duration_ms: 0,
            error: None,
        };
        let result = self
            .exchange(request, url, validator, parse, &mut record)
            .await;
        record.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        if let Err(failure) = &result {
            record.error = Some(failure.detail.clone());
        }
        (result, record)
    }

    async fn exchange<T>(
        &mut self,
        request: reqwest::RequestBuilder,
        url: &str,
        validator: Option<Validator>,
        parse: fn(&[u8]) -> claude_status_core::Result<T>,
        record: &mut FetchRecord,
    ) -> std::result::Result<(T, bool), FetchFailure> {
        let host = host_of(url);
        let response = request
            .send()
            .await
            .map_err(|e| transport_failure(&host, &e))?;
        let status = response.status();
        record.http_status = Some(status.as_u16());

        if status == StatusCode::NOT_MODIFIED {
            if let Some(v) = validator {
                record.outcome = FetchOutcome::NotModified;
                let value = parse(&v.body).map_err(|e| FetchFailure {
                    kind: FetchFailureKind::Unreadable,
                    detail: format!("{host}: our cached copy is unreadable ({e})"),
                })?;
                return Ok((value, true));
            }
            return Err(FetchFailure {
                kind: FetchFailureKind::HttpStatus { status: 304 },
                detail: format!(
                    "{host} answered 304 Not Modified to a request without a validator"
                ),
            });
        }

        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let etag = response
            .headers()
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);

        let body = match read_body_limited(response, self.config.limits.body_limit).await {
            Ok(body) => body,
            Err(BodyError::TooLarge { limit }) => {
                return Err(FetchFailure {
                    kind: FetchFailureKind::TooLarge { limit },
                    detail: format!("{host}: body larger than {} KiB", limit / 1024),
                })
            }
            Err(BodyError::Transport(e)) => return Err(transport_failure(&host, &e)),
        };
        record.bytes = body.len() as u64;

        let looks_like_html = body
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'<');
        let json_type = content_type
            .as_deref()
            .is_none_or(|t| t.to_ascii_lowercase().contains("json"));

        if !status.is_success() {
            let what = if looks_like_html || !json_type {
                " with a non-JSON page (likely a bot challenge)"
            } else {
                ""
            };
            return Err(FetchFailure {
                kind: FetchFailureKind::HttpStatus {
                    status: status.as_u16(),
                },
                detail: format!("{host} answered HTTP {}{what}", status.as_u16()),
            });
        }
        if !json_type || looks_like_html {
            return Err(FetchFailure {
                kind: FetchFailureKind::NotJson {
                    content_type: content_type.clone(),
                },
                detail: format!(
                    "{host} sent {} instead of JSON (likely a bot challenge or captive portal)",
                    content_type
                        .as_deref()
                        .unwrap_or("a page with no content type")
                ),
            });
        }
        let value = parse(&body).map_err(|e| FetchFailure {
            kind: FetchFailureKind::Unreadable,
            detail: format!("{host}: {e}"),
        })?;
        record.outcome = FetchOutcome::Ok;
        self.remember(url, etag, body, content_type).await;
        Ok((value, false))
    }
}

fn transport_failure(host: &str, error: &reqwest::Error) -> FetchFailure {
    let (kind, detail) = describe_transport_error(error);
    FetchFailure {
        kind: match kind {
            TransportKind::Timeout => FetchFailureKind::Timeout,
            _ => FetchFailureKind::Network,
        },
        detail: format!("{host}: {detail}"),
    }
}

/// The host (and port) of a URL, for messages.
pub fn host_of(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.host_str().map(|h| match u.port() {
                Some(port) => format!("{h}:{port}"),
                None => h.to_owned(),
            })
        })
        .unwrap_or_else(|| url.to_owned())
}

/// One failure out of the hosts tried: network only when every host failed at the network level,
/// because one host answering proves the network works.
fn combine_failures(failures: Vec<(String, FetchFailure)>) -> FetchFailure {
    let all_network = failures.iter().all(|(_, f)| f.is_network());
    let detail = failures
        .iter()
        .map(|(_, f)| f.detail.clone())
        .collect::<Vec<_>>()
        .join("; ");
    let kind = if all_network {
        FetchFailureKind::Network
    } else {
        failures
            .into_iter()
            .map(|(_, f)| f.kind)
            .find(|k| !matches!(k, FetchFailureKind::Network))
            .unwrap_or(FetchFailureKind::Unreadable)
    };
    FetchFailure { kind, detail }
}

/// Requests the monitor sends to the poller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollerCommand {
    /// Poll the summary now (the tray's "Check now").
    PollNow,
    /// Fetch one incident's details.
    FetchIncident(String),
}

/// Runs the poller until `shutdown`: summary at the configured pace (faster while an incident is
/// open), history at its slower pace, and commands as they come.
pub async fn run_poller(
    mut client: StatusPageClient,
    observations: mpsc::Sender<Observation>,
    mut commands: mpsc::Receiver<PollerCommand>,
    shutdown: CancellationToken,
) {
    let mut next_history = tokio::time::Instant::now();
    loop {
        let poll = client.poll_summary().await;
        let incident_active = match &poll.fetch {
            PageFetch::Fetched { page, .. } => page_has_active_incident(page),
            PageFetch::Failed { .. } => false,
        };
        client.log_all(poll.records).await;
        if observations
            .send(Observation::StatusPage { fetch: poll.fetch })
            .await
            .is_err()
        {
            return;
        }

        if tokio::time::Instant::now() >= next_history {
            next_history = tokio::time::Instant::now() + client.config.history_interval;
            if let Ok(incidents) = client.fetch_history().await {
                if observations
                    .send(Observation::IncidentHistory { incidents })
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }

        let sleep = tokio::time::sleep(client.config.next_interval(incident_active));
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = &mut sleep => break,
                command = commands.recv() => match command {
                    None => return,
                    Some(PollerCommand::PollNow) => break,
                    Some(PollerCommand::FetchIncident(id)) => {
                        let incident = client.fetch_incident(&id).await.ok().map(Box::new);
                        if observations.send(Observation::IncidentDetail { id, incident }).await.is_err() {
                            return;
                        }
                    }
                },
            }
        }
    }
}

fn page_has_active_incident(page: &StatusPage) -> bool {
    page.active_incidents().next().is_some()
}
