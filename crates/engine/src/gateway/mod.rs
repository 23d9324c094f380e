//! The local gateway: a reverse proxy on `127.0.0.1` that the user's own code reaches through
//! `ANTHROPIC_BASE_URL`, forwarding every `/v1/` request to the API unchanged and metering each
//! Messages exchange on the side (status, latency, time to first token, tokens, model, request
//! id, rate-limit headers) into the usage ledger and the monitor.
//!
//! The request path is hyper's HTTP/1 server in front of one pooled `reqwest` client (keep-alive
//! to the upstream, HTTP/2 when the upstream offers it over TLS). It adds nothing a client could
//! notice except timing: no `Via`, no header of its own, the upstream's status, headers and body
//! as they came, each chunk of a stream handed on as it arrives. Metering reads a copy of the
//! chunks in a task of its own and may lose accuracy under pressure, never bytes.
//!
//! ```no_run
//! # async fn demo() -> claude_status_engine::Result<()> {
//! use claude_status_engine::gateway::{Gateway, GatewayConfig};
//! let gateway = Gateway::bind(GatewayConfig::default()).await?;
//! println!("export ANTHROPIC_BASE_URL={}", gateway.base_url());
//! let stats = gateway.stats();
//! let shutdown = tokio_util::sync::CancellationToken::new();
//! tokio::spawn(gateway.run(shutdown.clone()));
//! // … later: stats.snapshot().outcomes.overloaded, then shutdown.cancel().
//! # Ok(()) }
//! ```
//!
//! Architecture Invariant: the gateway never stores or logs a request header or body; metering
//! copies only the response headers it reads (`headers::metering_headers`) and the request's
//! `model`.

mod body;
mod count;
mod forward;
mod framing;
mod headers;
pub mod json_field;
mod meter;
pub mod prefix;
mod providers;
mod stats;
pub mod token;

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use claude_status_core::monitor::Observation;
use claude_status_core::retry::RetryPolicy;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use forward::MAX_REQUEST_BYTES;
pub use meter::JSON_TEE_LIMIT;
pub use providers::{ProviderEndpoint, ProviderKey, FALLBACK_HEADER};
pub use stats::{GatewayStats, GatewayStatsHandle, OutcomeCounts};
pub use token::{AccessToken, TOKEN_HEADER};

use crate::error::{Error, Result};
use crate::store::Store;

/// The gateway's default port. 7529 is in the registered (user) range, not a well-known port,
/// and not the default of a developer tool we know of; it ends in 529 to be remembered by the
/// status it watches for. (4141 was avoided: copilot-api, often run next to Claude Code, uses it.)
pub const DEFAULT_PORT: u16 = 7529;

/// The API the gateway forwards to by default.
pub const DEFAULT_UPSTREAM: &str = "https://api.anthropic.com";

/// How long in-flight answers may run on after shutdown is asked for.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How long a client may take to send a request's headers by default (against idle half-open
/// sockets and slowloris clients that send a byte now and then).
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a client may take to send a request's whole body by default. A 32 MB body over a
/// slow uplink (1 Mbit/s) takes about 4 minutes; an upload that has not ended by then is a client
/// that never will.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(300);

/// The most bytes a request's head (request line and headers) may take; over it the client gets
/// 431. The API's own front end refuses heads of this order, and no SDK sends more than a few KB.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// The most client connections held open at once by default. Each costs one file descriptor and
/// a few KB; the limit is lowered to fit under the process's open-files limit (see
/// [`connection_budget`]).
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// File descriptors kept for everything but client connections: the upstream pool, the history
/// database and its WAL, the service's control socket, logs, the metrics listener.
const RESERVED_FDS: u64 = 256;

/// Everything the gateway needs.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Where to listen; a loopback address unless `allow_remote`.
    pub listen: SocketAddr,
    /// Allows a non-loopback `listen` address. Anyone who can reach it can then spend the keys
    /// that pass through, so the CLI asks for it explicitly and warns.
    pub allow_remote: bool,
    /// Web origins (`http://localhost:3000`) whose pages may call the gateway. A request that
    /// carries any other `Origin` is refused with 403: a page the user merely visits must not be
    /// able to send requests through it or read its figures (CSRF). Empty by default.
    pub allowed_origins: Vec<String>,
    /// The API's base URL, `http` or `https`, optionally with a path prefix.
    pub upstream: String,
    /// Retry 529, 500 and 429 (never the spend cap) before answering; `None` forwards every
    /// answer as it is.
    pub retry: Option<RetryPolicy>,
    /// The fallback chain, best first (`claude-opus-5-5`, `claude-sonnet-5-5`,
    /// `openai:gpt-4o`), as `core::fallback::parse_chain` reads it: Claude models are moved down
    /// per request after persistent 529s; other providers only once the requested model's
    /// verdict has been in trouble for `fallback_after`. Empty turns fallback off.
    pub fallback: Vec<String>,
    /// How long a model's verdict must be overloaded or in outage before other providers serve
    /// it; zero falls back on the first 529 or 5xx that survives the retries.
    pub fallback_after: Duration,
    /// Where the chain's other providers are, with their keys.
    pub providers: Vec<ProviderEndpoint>,
    /// The monitor's snapshots, whose per-model verdicts the gate goes by; `None` keeps verdicts
    /// from the gateway's own traffic (`claude-status proxy`, which runs no monitor).
    pub verdicts: Option<tokio::sync::watch::Receiver<claude_status_core::report::Snapshot>>,
    /// The price table the other providers' answers are priced with; `None` is the built-in one.
    pub catalog: Option<Arc<claude_status_core::catalog::Catalog>>,
    /// The usage ledger for metered records; `None` keeps them out of the database.
    pub store: Option<Arc<Store>>,
    /// The monitor's channel; metered records go there as `Observation::Usage`.
    pub observations: Option<mpsc::Sender<Observation>>,
    /// The Prometheus metrics the metered exchanges are counted in; the gateway also answers
    /// `GET /metrics` with them on its own port.
    pub metrics: Option<Arc<crate::metrics::Metrics>>,
    /// Time to open a connection to the upstream.
    pub connect_timeout: Duration,
    /// Time from sending a request to the upstream's response headers. The SDKs' own request
    /// timeout is 600 s (api-facts G), and a long non-streaming answer can take minutes.
    pub response_timeout: Duration,
    /// Time a client may take to send a request's head; a connection that has not sent one by
    /// then is closed (slowloris).
    pub header_timeout: Duration,
    /// Time a client may take to send a request's whole body once its head is in; over it the
    /// client gets 408 in the API's error shape and the connection is closed.
    pub body_timeout: Duration,
    /// The most client connections open at once; a connection over it is closed as soon as it is
    /// accepted, so a flood of idle sockets can never exhaust the file descriptors. Lowered at
    /// bind to fit the open-files limit.
    pub max_connections: usize,
    /// The token every request must carry in `x-claude-status-token`. Required when
    /// `allow_remote` is set: whoever reaches a remote gateway could otherwise spend the keys
    /// that pass through it and read its figures.
    pub token: Option<AccessToken>,
    /// The key the prompt-cache advisor hashes each request's prefix under
    /// (`prefix::PrefixKey::load_or_create` beside the history database); `None` uses a key of
    /// this process only, so the same prefix before and after a restart counts as two.
    pub prefix_key: Option<prefix::PrefixKey>,
    /// Asks `count_tokens` (free) for the size of each new prefix, once, with the credentials of
    /// the request that carried it; off, the advisor estimates at 4 characters per token. Needs
    /// `store`.
    pub count_prefix_tokens: bool,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_PORT)),
            allow_remote: false,
            allowed_origins: Vec::new(),
            upstream: DEFAULT_UPSTREAM.to_owned(),
            retry: None,
            fallback: Vec::new(),
            fallback_after: claude_status_core::fallback::DEFAULT_FALLBACK_AFTER,
            providers: Vec::new(),
            verdicts: None,
            catalog: None,
            store: None,
            observations: None,
            metrics: None,
            connect_timeout: Duration::from_secs(10),
            response_timeout: Duration::from_secs(600),
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            token: None,
            prefix_key: None,
            count_prefix_tokens: false,
        }
    }
}

/// A bound gateway, ready to run.
#[derive(Debug)]
pub struct Gateway {
    listener: TcpListener,
    addr: SocketAddr,
    shared: Arc<forward::Shared>,
    writer: JoinHandle<()>,
    limits: ConnectionLimits,
    verdicts: Option<tokio::sync::watch::Receiver<claude_status_core::report::Snapshot>>,
}

impl Gateway {
    /// Checks the configuration and binds the listening socket, so a port in use or a refused
    /// address is reported before anything runs.
    pub async fn bind(config: GatewayConfig) -> Result<Gateway> {
        if !config.listen.ip().is_loopback() && !config.allow_remote {
            return Err(Error::Config(format!(
                "refusing to listen on {}: the gateway forwards your API key, so it listens on \
                 127.0.0.1 only unless remote access is allowed explicitly (--allow-remote)",
                config.listen
            )));
        }
        if config.allow_remote && config.token.is_none() {
            return Err(Error::Config(
                "a gateway with remote access needs an access token (x-claude-status-token)"
                    .to_owned(),
            ));
        }
        let upstream = upstream_base(&config.upstream)?;
        let max_connections = connection_budget(config.max_connections, raise_fd_limit());
        let listener = TcpListener::bind(config.listen).await.map_err(|e| {
            Error::Config(format!(
                "could not listen on {}: {e} (is another gateway running? choose another port)",
                config.listen
            ))
        })?;
        let addr = listener.local_addr()?;
        if points_at(&upstream, addr) {
            return Err(Error::Config(format!(
                "the upstream {upstream} is the gateway itself; point it at the API (and \
                 ANTHROPIC_BASE_URL at the gateway)"
            )));
        }
        if !addr.ip().is_loopback() {
            tracing::warn!(
                %addr,
                "the gateway listens beyond this machine; anyone who can reach it can use it"
            );
        }
        let client = reqwest::Client::builder()
            // Bodies pass through as the upstream encoded them; the client asked for that.
            .no_gzip()
            // A redirect is the client's to follow, as it would be going direct.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.connect_timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| Error::Http(format!("could not build the gateway's client: {e}")))?;

        let chain = claude_status_core::fallback::parse_chain(&config.fallback)
            .map_err(|e| Error::Config(format!("--fallback: {e}")))?;
        let claude_chain: Vec<String> = chain
            .iter()
            .filter(|t| t.provider().is_none())
            .map(|t| t.model().to_owned())
            .collect();
        let catalog = config
            .catalog
            .clone()
            .unwrap_or_else(|| Arc::new(claude_status_core::catalog::Catalog::shared().clone()));
        let counters = Arc::new(stats::Counters::default());
        let providers = providers::Fallback::new(
            chain,
            &config.providers,
            config.fallback_after,
            catalog,
            config.observations.clone(),
        )?
        .map(Arc::new);
        let own_verdicts = match (&providers, &config.verdicts) {
            (Some(fallback), None) => {
                Some(Arc::new(providers::OwnVerdicts::new(Arc::clone(fallback))))
            }
            _ => None,
        };
        let counter_store = config.store.clone();
        let (sink, writer) = meter::writer(
            meter::MeterOutputs {
                store: config.store,
                observations: config.observations,
                metrics: config.metrics.clone(),
                verdicts: own_verdicts,
                prefix_key: config
                    .prefix_key
                    .unwrap_or_else(prefix::PrefixKey::ephemeral),
                counter: match (&counter_store, config.count_prefix_tokens) {
                    (Some(store), true) => Some(Arc::new(count::PrefixCounter::new(
                        client.clone(),
                        &upstream,
                        Arc::clone(store),
                    ))),
                    _ => None,
                },
            },
            Arc::clone(&counters),
        );
        let shared = Arc::new(forward::Shared {
            client,
            upstream,
            response_timeout: config.response_timeout,
            retry: config.retry,
            fallback: claude_chain,
            providers,
            origins: forward::Origins {
                // With remote access allowed the gateway is reached by names it cannot know (a
                // server's, or a reverse proxy's in front of a loopback listener).
                loopback_only: !config.allow_remote,
                allowed: config
                    .allowed_origins
                    .iter()
                    .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
                    .filter(|o| !o.is_empty())
                    .collect(),
            },
            counters,
            meter: sink,
            metrics: config.metrics,
            body_timeout: config.body_timeout,
            token: config.token,
        });
        Ok(Gateway {
            listener,
            addr,
            shared,
            writer: tokio::spawn(writer),
            limits: ConnectionLimits {
                header_timeout: config.header_timeout,
                slots: Arc::new(tokio::sync::Semaphore::new(max_connections)),
                max_connections,
            },
            verdicts: config.verdicts,
        })
    }

    /// The address the gateway listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The value for `ANTHROPIC_BASE_URL`: `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The most client connections it holds open at once (after fitting the open-files limit).
    pub fn max_connections(&self) -> usize {
        self.limits.max_connections
    }

    /// The upstream base URL requests go to.
    pub fn upstream(&self) -> &str {
        &self.shared.upstream
    }

    /// A handle on the live counters; keep it to read them while `run` owns the gateway.
    pub fn stats(&self) -> GatewayStatsHandle {
        GatewayStatsHandle {
            counters: Arc::clone(&self.shared.counters),
            fallback: self.shared.providers.clone(),
        }
    }

    /// Serves until `shutdown` is cancelled, then lets in-flight answers finish (for a few
    /// seconds at most) and flushes metering into the ledger.
    pub async fn run(self, shutdown: CancellationToken) -> Result<()> {
        let Gateway {
            listener,
            shared,
            writer,
            verdicts,
            limits,
            ..
        } = self;
        if let (Some(fallback), Some(snapshots)) = (&shared.providers, verdicts) {
            tokio::spawn(providers::follow_snapshots(
                snapshots,
                Arc::clone(fallback),
                shutdown.clone(),
            ));
        }
        let connections = TaskTracker::new();
        let mut over_limit = OverLimit::default();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _peer)) => {
                        let Ok(slot) = Arc::clone(&limits.slots).try_acquire_owned() else {
                            // Closed at once: the client sees its connection end instead of
                            // waiting in the backlog, and the descriptor is free again.
                            drop(stream);
                            over_limit.closed(limits.max_connections);
                            continue;
                        };
                        connections.spawn(serve_connection(
                            stream,
                            Arc::clone(&shared),
                            limits.header_timeout,
                            slot,
                            shutdown.clone(),
                        ));
                    }
                    Err(e) => {
                        // Out of file descriptors, usually; waiting a little lets some close.
                        tracing::warn!("gateway: accepting a connection failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
            }
        }
        drop(listener);
        connections.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, connections.wait())
            .await
            .is_err()
        {
            tracing::info!("gateway: answers still running after the grace period were cut");
        }
        // The writer ends once every sink is gone: ours now, the meter tasks' as they finish.
        drop(shared);
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, writer).await;
        Ok(())
    }
}

/// What bounds the client connections.
#[derive(Debug)]
struct ConnectionLimits {
    header_timeout: Duration,
    /// One permit per connection that may be open; a connection holds its permit until it ends.
    slots: Arc<tokio::sync::Semaphore>,
    max_connections: usize,
}

/// Counts the connections closed for being over the limit, and says so in the log once a
/// minute at most (a flood must not become a flood of log lines).
#[derive(Debug, Default)]
struct OverLimit {
    since_told: u64,
    told_at: Option<std::time::Instant>,
}

impl OverLimit {
    fn closed(&mut self, limit: usize) {
        self.since_told += 1;
        let due = self
            .told_at
            .is_none_or(|at| at.elapsed() >= Duration::from_secs(60));
        if due {
            tracing::warn!(
                closed = self.since_told,
                "gateway: {limit} connections are open, the most it holds; new ones are closed \
                 until some end"
            );
            self.since_told = 0;
            self.told_at = Some(std::time::Instant::now());
        }
    }
}

/// Raises the soft open-files limit to the hard one, so the connection budget is as large as
/// the system allows (many systems start processes with a soft limit of 1,024 and a hard limit
/// far above it), and returns the soft limit now in force; `None` when it is unlimited or
/// cannot be read.
#[cfg(unix)]
fn raise_fd_limit() -> Option<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current.is_some() && limit.current != limit.maximum {
        let raised = Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            // macOS refuses a soft limit above OPEN_MAX even when the hard one is unlimited.
            tracing::debug!("gateway: could not raise the open-files limit: {e}");
        }
    }
    getrlimit(Resource::Nofile).current
}

#[cfg(not(unix))]
fn raise_fd_limit() -> Option<u64> {
    None
}

/// The connection limit that fits the open-files limit: `wanted`, but never more than the
/// descriptors left after [`RESERVED_FDS`], and at least a few so the gateway still serves.
fn connection_budget(wanted: usize, fd_limit: Option<u64>) -> usize {
    let wanted = wanted.max(1);
    match fd_limit {
        Some(limit) => {
            let fit = usize::try_from(limit.saturating_sub(RESERVED_FDS)).unwrap_or(usize::MAX);
            wanted.min(fit.max(16))
        }
        None => wanted,
    }
}

async fn serve_connection(
    stream: TcpStream,
    shared: Arc<forward::Shared>,
    header_timeout: Duration,
    _slot: tokio::sync::OwnedSemaphorePermit,
    shutdown: CancellationToken,
) {
    let _open = shared.counters.connection_opened();
    // Small writes (one streamed event) must leave at once, not wait for Nagle.
    let _ = stream.set_nodelay(true);
    let (stream, conflict) = framing::Watched::new(stream);
    // hyper serves a connection's requests one after another, so counting them here numbers
    // them as the watcher numbers their heads.
    let requests = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let service = service_fn(move |request| {
        let shared = Arc::clone(&shared);
        let index = requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let ambiguous = conflict.is(index);
        async move {
            if ambiguous {
                return Ok::<_, Infallible>(forward::ambiguous_framing(&shared));
            }
            Ok::<_, Infallible>(forward::handle(shared, request).await)
        }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        // A head over this gets hyper's own 431 answer; the buffer is kept to it too, so a
        // client cannot make the gateway hold more than this per connection while it waits.
        .max_header_size(MAX_HEADER_BYTES)
        .max_buf_size(MAX_HEADER_BYTES.max(8192) + 8192)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(e) = result {
                tracing::debug!("gateway: client connection ended: {e}");
            }
        }
        () = shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

/// Checks the upstream URL and returns it without a trailing slash.
fn upstream_base(upstream: &str) -> Result<String> {
    let url = reqwest::Url::parse(upstream.trim())
        .map_err(|e| Error::Config(format!("the upstream {upstream:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Error::Config(format!(
            "the upstream {upstream:?} must be an http:// or https:// URL"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::Config(format!(
            "the upstream {upstream:?} must not have a query or fragment"
        )));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// Whether `upstream` is the gateway's own address (a request loop).
/// Whether `url` (an upstream, or an `ANTHROPIC_BASE_URL`) is the gateway listening on
/// `127.0.0.1:port` itself: a loopback or unspecified host (or `localhost`) on that port.
pub fn is_own_address(url: &str, port: u16) -> bool {
    points_at(url, SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, port)))
}

fn points_at(upstream: &str, addr: SocketAddr) -> bool {
    let Ok(url) = reqwest::Url::parse(upstream) else {
        return false;
    };
    let host = url.host_str().unwrap_or("");
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let local_host = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified() || ip == addr.ip());
    local_host && url.port_or_known_default() == Some(addr.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gateways_own_address_is_recognised() {
        for url in [
            "http://127.0.0.1:7529",
            "http://localhost:7529/",
            "http://[::1]:7529",
            "http://0.0.0.0:7529/v1",
        ] {
            assert!(is_own_address(url, 7529), "{url}");
        }
        for url in [
            "http://127.0.0.1:7530",
            "https://api.anthropic.com",
            "http://10.0.0.2:7529",
            "not a url",
        ] {
            assert!(!is_own_address(url, 7529), "{url}");
        }
    }

    #[test]
    fn upstream_urls() {
        assert_eq!(
            upstream_base("https://api.anthropic.com/").unwrap(),
            "https://api.anthropic.com"
        );
        assert_eq!(
            upstream_base("http://proxy.corp:8080/anthropic/").unwrap(),
            "http://proxy.corp:8080/anthropic"
        );
        assert!(upstream_base("ftp://x").is_err());
        assert!(upstream_base("api.anthropic.com").is_err());
        assert!(upstream_base("https://x/?a=1").is_err());
    }

    #[test]
    fn the_connection_budget_fits_the_open_files_limit() {
        assert_eq!(connection_budget(10_000, None), 10_000);
        assert_eq!(connection_budget(10_000, Some(1_048_576)), 10_000);
        assert_eq!(connection_budget(10_000, Some(1024)), 768);
        assert_eq!(connection_budget(10_000, Some(100)), 16);
        assert_eq!(connection_budget(0, Some(1024)), 1);
    }

    #[test]
    fn loops_are_noticed() {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 7529));
        assert!(points_at("http://127.0.0.1:7529", addr));
        assert!(points_at("http://localhost:7529", addr));
        assert!(!points_at("http://127.0.0.1:7530", addr));
        assert!(!points_at("https://api.anthropic.com", addr));
    }
}
