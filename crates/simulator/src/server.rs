//! The one axum server: shared state, the builder, the handle, the router and the `/_sim/` control paths.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use axum::extract::{Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::clock::{Clock, StoryClock};
use crate::error::{Error, UnknownScenario};
use crate::models::{self, ModelScope};
use crate::net::{Connection, CountingListener, DroppedConnection};
use crate::prompt_cache::PromptCache;
use crate::scenario::{NoticeScript, Scenario};
use crate::stats::{Counters, Stats};
use crate::statuspage::PageView;
use crate::{admin_routes, api, ids, status_routes};

/// Delays and sizes a scenario uses; tests shorten them so nothing waits 35 real seconds.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) time_to_first_token: Duration,
    pub(crate) token_interval: Duration,
    pub(crate) slow_api_delay: Duration,
    pub(crate) slow_status_delay: Duration,
    pub(crate) huge_body_bytes: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            time_to_first_token: Duration::from_millis(30),
            token_interval: Duration::from_millis(5),
            slow_api_delay: Duration::from_secs(6),
            slow_status_delay: Duration::from_secs(35),
            huge_body_bytes: 12 * 1024 * 1024,
        }
    }
}

/// Builder for a simulator with non-default clock or delays.
///
/// ```no_run
/// # async fn demo() -> anyhow::Result<()> {
/// use std::time::Duration;
/// use claude_status_simulator::{Clock, Simulator};
/// let sim = Simulator::new("slow-status")
///     .clock(Clock::Manual)
///     .slow_status_delay(Duration::from_millis(200))
///     .start()
///     .await?;
/// println!("{}", sim.base_url());
/// sim.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Simulator {
    scenario: String,
    clock: Clock,
    options: Options,
    overload_model: String,
}

impl Simulator {
    /// A simulator that will play `scenario` on a real-time clock at speed 1.
    pub fn new(scenario: &str) -> Self {
        Self {
            scenario: scenario.to_owned(),
            clock: Clock::default(),
            options: Options::default(),
            overload_model: models::DEFAULT_OVERLOAD_MODEL.to_owned(),
        }
    }

    /// The model `model-overload` overloads (`claude-opus-5-5`, Claude Code's default, unless
    /// set): an id such as `claude-sonnet-5-5` or a family such as `haiku`. Its incident is
    /// titled after it ("Elevated errors on Claude Sonnet 5.5"). A retired or non-Claude id
    /// makes [`Simulator::start`] fail. Other scenarios ignore it until one switches to
    /// `model-overload`.
    pub fn overload_model(mut self, model: impl Into<String>) -> Self {
        self.overload_model = model.into();
        self
    }

    /// Chooses how story time moves.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Time from the request to the first text token (30 ms by default); also how long non-streaming answers take.
    pub fn time_to_first_token(mut self, delay: Duration) -> Self {
        self.options.time_to_first_token = delay;
        self
    }

    /// Gap between streamed tokens (5 ms by default).
    pub fn token_interval(mut self, delay: Duration) -> Self {
        self.options.token_interval = delay;
        self
    }

    /// How long the `slow` scenario holds API answers (6 s by default).
    pub fn slow_api_delay(mut self, delay: Duration) -> Self {
        self.options.slow_api_delay = delay;
        self
    }

    /// How long the `slow-status` scenario holds status page answers (35 s by default).
    pub fn slow_status_delay(mut self, delay: Duration) -> Self {
        self.options.slow_status_delay = delay;
        self
    }

    /// Size of the huge body in `garbage-status` (12 MiB by default).
    pub fn huge_body_bytes(mut self, bytes: usize) -> Self {
        self.options.huge_body_bytes = bytes;
        self
    }

    /// Starts on `127.0.0.1` with a port the OS picks.
    pub async fn start(self) -> anyhow::Result<SimHandle> {
        self.start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
    }

    /// Starts on the given address.
    pub async fn start_on(self, addr: SocketAddr) -> anyhow::Result<SimHandle> {
        Ok(self.launch(addr).await?)
    }

    async fn launch(self, addr: SocketAddr) -> crate::error::Result<SimHandle> {
        let scenario = find_scenario(&self.scenario)?;
        let clock = self.clock.validate()?;
        let overload_model: Arc<str> = models::check_overload_model(&self.overload_model)
            .map_err(Error::Config)?
            .into();
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let counters = Arc::new(Counters::default());
        let cancel = CancellationToken::new();
        let shared = Arc::new(Shared {
            story: Mutex::new(Story::new(scenario, StoryClock::new(clock), overload_model)),
            options: self.options,
            counters: Arc::clone(&counters),
            rate: Mutex::new(api::RateWindow::default()),
            prompt_cache: Mutex::new(PromptCache::default()),
            next_id: AtomicU64::new(ids::mix(Utc::now().timestamp_millis().unsigned_abs())),
            cancel: cancel.clone(),
            huge_body: OnceLock::new(),
        });
        let app = router(Arc::clone(&shared)).into_make_service_with_connect_info::<Connection>();
        let listener = CountingListener::new(listener, counters);
        let shutdown = cancel.clone().cancelled_owned();
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!(%error, "simulator server stopped");
            }
        });
        tracing::info!(%addr, scenario = scenario.name(), "simulator started");
        Ok(SimHandle {
            addr,
            shared,
            cancel,
            task,
        })
    }
}

fn find_scenario(name: &str) -> Result<Scenario, UnknownScenario> {
    Scenario::from_name(name).ok_or_else(|| UnknownScenario {
        name: name.to_owned(),
        known: Scenario::ALL.map(Scenario::name).join(", "),
    })
}

/// Where the story is, as `/_sim/state` reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimState {
    /// The scenario's name.
    pub scenario: String,
    /// The scenario's one-line description.
    pub description: String,
    /// Story time in seconds.
    pub story_time_seconds: f64,
    /// What is happening at this point of the story.
    pub phase: String,
    /// `manual` or `real`.
    pub clock: String,
    /// The speed of a real clock; `None` for a manual one.
    pub speed: Option<f64>,
    /// The status page's current `status.indicator`.
    pub status_indicator: String,
    /// The one model the scenario overloads on `/v1/messages`, for `model-overload`; `None`
    /// when a scenario overloads every model alike or none.
    #[serde(default)]
    pub overload_model: Option<String>,
}

/// A running simulator. Dropping it leaves the server running until the runtime ends; call
/// [`SimHandle::shutdown`] to stop it.
pub struct SimHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("addr", &self.addr)
            .field("scenario", &self.shared.story().scenario.name())
            .finish_non_exhaustive()
    }
}

impl SimHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`: the base of both the fake API and the fake status page.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Moves story time forward (with either clock).
    pub fn advance(&self, by: Duration) {
        self.shared.story().clock.advance(by);
    }

    /// The current story time.
    pub fn story_time(&self) -> Duration {
        self.shared.story().clock.now()
    }

    /// Switches to another scenario and restarts story time at zero; the overloaded model
    /// stays what it was.
    pub fn set_scenario(&self, name: &str) -> Result<(), UnknownScenario> {
        let scenario = find_scenario(name)?;
        self.shared.switch(scenario, None);
        Ok(())
    }

    /// Switches to another scenario with another overloaded model (see
    /// [`Simulator::overload_model`]) and restarts story time at zero.
    pub fn set_scenario_with_model(&self, name: &str, model: &str) -> crate::Result<()> {
        let scenario = find_scenario(name)?;
        let model = models::check_overload_model(model).map_err(Error::Config)?;
        self.shared.switch(scenario, Some(model.into()));
        Ok(())
    }

    /// The counters so far.
    pub fn stats(&self) -> Stats {
        self.shared.counters.snapshot()
    }

    /// Where the story is now.
    pub fn state(&self) -> SimState {
        self.shared.state()
    }

    /// Stops serving: in-flight delays and streams end at once, then the server task is awaited.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        let mut task = self.task;
        if tokio::time::timeout(Duration::from_secs(3), &mut task)
            .await
            .is_err()
        {
            // A client holding a connection open must not keep a test waiting.
            task.abort();
        }
    }
}

/// One run of a scenario: its clock, the wall-clock instant its story began, and request counters.
#[derive(Debug)]
pub(crate) struct Story {
    pub(crate) scenario: Scenario,
    pub(crate) clock: StoryClock,
    /// The wall-clock time of story time zero, truncated to milliseconds. Document times are
    /// derived from it, never from "now", so an unchanged page keeps its ETag.
    pub(crate) anchor: DateTime<Utc>,
    pub(crate) notices: Arc<Vec<NoticeScript>>,
    /// The model `model-overload` overloads; kept across switches unless a switch names another.
    overload_model: Arc<str>,
    api_requests: u64,
    status_requests: u64,
    /// Messages that met an overload mode for a model in its scope: the sequence that spreads
    /// an overload's share evenly over exactly the requests it can reach.
    overload_requests: u64,
    /// Streamed messages the overload failed so far, which alternate between the two ways a
    /// real stream fails.
    failed_streams: u64,
}

impl Story {
    fn new(scenario: Scenario, clock: StoryClock, overload_model: Arc<str>) -> Self {
        let now = Utc::now();
        let anchor = DateTime::<Utc>::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now);
        Self {
            scenario,
            clock,
            anchor,
            notices: Arc::new(scenario.notices(&overload_model)),
            overload_model,
            api_requests: 0,
            status_requests: 0,
            overload_requests: 0,
            failed_streams: 0,
        }
    }
}

/// A consistent view of the story for one request, taken under the lock and used after it.
#[derive(Debug, Clone)]
pub(crate) struct Moment {
    pub(crate) scenario: Scenario,
    pub(crate) story_time: Duration,
    pub(crate) anchor: DateTime<Utc>,
    pub(crate) notices: Arc<Vec<NoticeScript>>,
    /// How many requests of the same kind (API or status page) came before this one in this story.
    pub(crate) sequence: u64,
    /// The model `model-overload` overloads in this story.
    pub(crate) overload_model: Arc<str>,
}

impl Moment {
    /// The models the scenario's overload modes reach at this moment.
    pub(crate) fn overload_scope(&self) -> ModelScope {
        self.scenario.overload_scope(&self.overload_model)
    }

    pub(crate) fn page_view(&self) -> PageView {
        let story_ms = i64::try_from(self.story_time.as_millis()).unwrap_or(i64::MAX);
        PageView::build(self.anchor, story_ms, &self.notices)
    }
}

/// State shared by all handlers. The story mutex is a std mutex because it is held only for a
/// few field reads and never across an `.await`.
#[derive(Debug)]
pub(crate) struct Shared {
    story: Mutex<Story>,
    pub(crate) options: Options,
    pub(crate) counters: Arc<Counters>,
    pub(crate) rate: Mutex<api::RateWindow>,
    /// The prompt cache, on story time; emptied when a switch starts the story again.
    prompt_cache: Mutex<PromptCache>,
    next_id: AtomicU64,
    pub(crate) cancel: CancellationToken,
    pub(crate) huge_body: OnceLock<Bytes>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum RequestKind {
    Api,
    StatusPage,
}

impl Shared {
    fn story(&self) -> MutexGuard<'_, Story> {
        // A panic elsewhere while holding the lock cannot leave the story half-written
        // (every change is a single assignment), so a poisoned lock is still usable.
        self.story
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn switch(&self, scenario: Scenario, overload_model: Option<Arc<str>>) {
        let mut story = self.story();
        let mut clock = StoryClock::new(story.clock.clock());
        clock.restart();
        let overload_model = overload_model.unwrap_or_else(|| Arc::clone(&story.overload_model));
        *story = Story::new(scenario, clock, overload_model);
        // Entries expire on story time, which starts again at zero, so the old ones must go.
        self.prompt_cache().clear();
        tracing::info!(
            scenario = scenario.name(),
            overload_model = %story.overload_model,
            "scenario switched"
        );
    }

    /// The prompt cache. Like the story, it is held only for a few map operations and never
    /// across an `.await`, so a std mutex does; a poisoned one is still usable because an
    /// entry is written in one assignment.
    pub(crate) fn prompt_cache(&self) -> MutexGuard<'_, PromptCache> {
        self.prompt_cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The story time now, for what lives on it (prompt cache entries).
    pub(crate) fn story_time(&self) -> Duration {
        self.story().clock.now()
    }

    /// Takes the moment for one request and counts it.
    pub(crate) fn moment(&self, kind: RequestKind) -> Moment {
        let mut story = self.story();
        let counter = match kind {
            RequestKind::Api => &mut story.api_requests,
            RequestKind::StatusPage => &mut story.status_requests,
        };
        let sequence = *counter;
        *counter += 1;
        Moment {
            scenario: story.scenario,
            story_time: story.clock.now(),
            anchor: story.anchor,
            notices: Arc::clone(&story.notices),
            sequence,
            overload_model: Arc::clone(&story.overload_model),
        }
    }

    /// The next number in the sequence of messages an overload can reach.
    pub(crate) fn next_overload_request(&self) -> u64 {
        let mut story = self.story();
        let sequence = story.overload_requests;
        story.overload_requests += 1;
        sequence
    }

    /// How many streamed messages the overload failed before this one.
    pub(crate) fn next_failed_stream(&self) -> u64 {
        let mut story = self.story();
        let count = story.failed_streams;
        story.failed_streams += 1;
        count
    }

    /// A fresh number for request and message ids.
    pub(crate) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Waits `delay` unless the server shuts down first; returns whether the whole delay passed.
    pub(crate) async fn pause(&self, delay: Duration) -> bool {
        if delay.is_zero() {
            return true;
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => true,
            () = self.cancel.cancelled() => false,
        }
    }

    fn state(&self) -> SimState {
        let (scenario, story_time, clock, anchor, notices, overload_model) = {
            let story = self.story();
            (
                story.scenario,
                story.clock.now(),
                story.clock.clock(),
                story.anchor,
                Arc::clone(&story.notices),
                Arc::clone(&story.overload_model),
            )
        };
        let moment = Moment {
            scenario,
            story_time,
            anchor,
            notices,
            sequence: 0,
            overload_model: Arc::clone(&overload_model),
        };
        let (clock_name, speed) = match clock {
            Clock::Manual => ("manual", None),
            Clock::Real { speed } => ("real", Some(speed)),
        };
        SimState {
            scenario: scenario.name().to_owned(),
            description: scenario.description().to_owned(),
            story_time_seconds: story_time.as_secs_f64(),
            phase: scenario.phase(story_time, &overload_model),
            clock: clock_name.to_owned(),
            speed,
            status_indicator: moment.page_view().status_indicator().to_owned(),
            overload_model: matches!(moment.overload_scope(), ModelScope::Only(_))
                .then(|| overload_model.to_string()),
        }
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .merge(status_routes::routes())
        .merge(api::routes())
        .merge(admin_routes::routes())
        .route("/_sim/stats", get(control_stats))
        .route("/_sim/state", get(control_state))
        .route("/_sim/scenarios", get(control_scenarios))
        .route("/_sim/advance", post(control_advance))
        .route("/_sim/scenario", post(control_scenario))
        .fallback(fallback)
        .layer(middleware::from_fn_with_state(
            Arc::clone(&shared),
            count_requests,
        ))
        .with_state(shared)
}

/// Counts every request except the control paths, so a test reading `/_sim/stats` does not
/// change what it reads.
async fn count_requests(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    if path.starts_with("/_sim/") {
        return next.run(request).await;
    }
    shared.counters.request(&path);
    let response = next.run(request).await;
    if response.extensions().get::<DroppedConnection>().is_some() {
        shared.counters.dropped();
    } else {
        shared.counters.response(response.status().as_u16());
    }
    response
}

async fn fallback(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    if request.uri().path().starts_with("/v1/") {
        return api::not_found(&shared);
    }
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Not Found",
    )
        .into_response()
}

async fn control_stats(State(shared): State<Arc<Shared>>) -> Json<Stats> {
    Json(shared.counters.snapshot())
}

async fn control_state(State(shared): State<Arc<Shared>>) -> Json<SimState> {
    Json(shared.state())
}

#[derive(Debug, Serialize)]
struct ScenarioEntry {
    name: &'static str,
    description: &'static str,
}

async fn control_scenarios() -> Json<Vec<ScenarioEntry>> {
    Json(
        Scenario::ALL
            .into_iter()
            .map(|scenario| ScenarioEntry {
                name: scenario.name(),
                description: scenario.description(),
            })
            .collect(),
    )
}

#[derive(Debug, Deserialize)]
struct AdvanceQuery {
    seconds: Option<String>,
}

async fn control_advance(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<AdvanceQuery>,
) -> Response {
    let seconds = query
        .seconds
        .as_deref()
        .and_then(|text| text.parse::<f64>().ok());
    let Some(by) = seconds.and_then(|seconds| Duration::try_from_secs_f64(seconds).ok()) else {
        return control_error(
            StatusCode::BAD_REQUEST,
            "seconds must be a non-negative number",
        );
    };
    shared.story().clock.advance(by);
    Json(shared.state()).into_response()
}

/// The scenario to switch to, from the query (`?name=…&model=…`) or a JSON body
/// (`{"name": "model-overload", "model": "claude-sonnet-5-5"}`); the body wins where both
/// name a field.
#[derive(Debug, Default, Deserialize)]
struct ScenarioChoice {
    name: Option<String>,
    /// The model `model-overload` overloads from now on; absent keeps the current one.
    model: Option<String>,
}

async fn control_scenario(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<ScenarioChoice>,
    body: Bytes,
) -> Response {
    // Older scripts send only the query and no body, so an empty body is no choice at all.
    let from_body = if body.iter().all(u8::is_ascii_whitespace) {
        ScenarioChoice::default()
    } else {
        match serde_json::from_slice::<ScenarioChoice>(&body) {
            Ok(choice) => choice,
            Err(error) => {
                return control_error(
                    StatusCode::BAD_REQUEST,
                    &format!(
                        "the body must be JSON such as {{\"name\":\"model-overload\",\"model\":\"claude-sonnet-5-5\"}}: {error}"
                    ),
                )
            }
        }
    };
    let name = from_body.name.or(query.name).unwrap_or_default();
    let scenario = match find_scenario(&name) {
        Ok(scenario) => scenario,
        Err(error) => return control_error(StatusCode::NOT_FOUND, &error.to_string()),
    };
    let model = match from_body.model.or(query.model) {
        None => None,
        Some(model) => match models::check_overload_model(&model) {
            Ok(model) => Some(Arc::from(model)),
            Err(message) => return control_error(StatusCode::BAD_REQUEST, &message),
        },
    };
    shared.switch(scenario, model);
    Json(shared.state()).into_response()
}

fn control_error(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}
