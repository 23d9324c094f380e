//! The `/metrics` endpoint on an address of its own (`watch --metrics-addr`, the service's
//! `metrics_addr` setting): hyper's HTTP/1 server answering `GET /metrics` and nothing else.
//! The gateway answers `/metrics` on its own port through [`exposition`] as well.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{
    HeaderValue, ACCEPT, ACCEPT_ENCODING, ALLOW, CONTENT_ENCODING, CONTENT_TYPE, VARY,
};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::{Metrics, OPENMETRICS_CONTENT_TYPE, PROMETHEUS_TEXT_CONTENT_TYPE};
use crate::error::{Error, Result};

/// At most this many scrapers are served at once; more wait for a free slot. A scrape takes a
/// fraction of a millisecond, so only a flood would ever wait.
pub const MAX_SCRAPES: usize = 16;

/// How long a scraper may take to send its request's headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest a connection is kept, idle or not: scrapers reconnect cheaply.
const CONNECTION_LIFETIME: Duration = Duration::from_secs(120);

/// One scrape's answer: its content type, its encoding (`gzip`, when the scraper accepts it),
/// and the body.
#[derive(Debug)]
pub struct Exposition {
    pub content_type: &'static str,
    pub content_encoding: Option<&'static str>,
    pub body: Bytes,
}

/// The answer to a scrape with these `Accept` and `Accept-Encoding` headers: OpenMetrics when
/// the scraper asks for it (as Prometheus does), else Prometheus' text format 0.0.4, which every
/// tool (and `curl`) reads; gzip-compressed when the scraper accepts gzip (Prometheus always
/// does), as the Go client's handler does. The text repeats long names and labels on every
/// histogram bucket, so compression makes it about twelve times smaller on the wire.
pub fn exposition(
    metrics: &Metrics,
    accept: Option<&str>,
    accept_encoding: Option<&str>,
) -> Exposition {
    let (content_type, text) = format_for(metrics, accept);
    let gzip = accept_encoding.is_some_and(accepts_gzip);
    if gzip {
        use std::io::Write as _;
        let mut encoder = flate2::write::GzEncoder::new(
            Vec::with_capacity(text.len() / 8),
            flate2::Compression::fast(),
        );
        // Writing into a Vec cannot fail.
        if encoder.write_all(text.as_bytes()).is_ok() {
            if let Ok(body) = encoder.finish() {
                return Exposition {
                    content_type,
                    content_encoding: Some("gzip"),
                    body: Bytes::from(body),
                };
            }
        }
    }
    Exposition {
        content_type,
        content_encoding: None,
        body: Bytes::from(text),
    }
}

/// Whether an `Accept-Encoding` header admits gzip (`gzip`, `gzip;q=0.5`, `*`; not `gzip;q=0`).
fn accepts_gzip(header: &str) -> bool {
    header.split(',').any(|coding| {
        let mut parts = coding.split(';');
        let name = parts.next().unwrap_or("").trim();
        let refused = parts.any(|param| {
            let param = param.trim().replace(' ', "");
            param == "q=0" || param == "q=0.0" || param == "q=0.00" || param == "q=0.000"
        });
        (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
    })
}

fn format_for(metrics: &Metrics, accept: Option<&str>) -> (&'static str, String) {
    let wants_openmetrics = accept.is_some_and(|accept| {
        accept
            .split(',')
            .any(|kind| kind.trim().starts_with("application/openmetrics-text"))
    });
    if wants_openmetrics {
        (OPENMETRICS_CONTENT_TYPE, metrics.encode_openmetrics())
    } else {
        (
            PROMETHEUS_TEXT_CONTENT_TYPE,
            metrics.encode_prometheus_text(),
        )
    }
}

/// A bound `/metrics` endpoint, ready to run.
#[derive(Debug)]
pub struct MetricsServer {
    listener: TcpListener,
    addr: SocketAddr,
    metrics: Arc<Metrics>,
}

impl MetricsServer {
    /// Binds `addr`: a loopback address unless `allow_remote`, because the figures say what the
    /// user spends on which models and when.
    pub async fn bind(
        addr: SocketAddr,
        allow_remote: bool,
        metrics: Arc<Metrics>,
    ) -> Result<MetricsServer> {
        if !addr.ip().is_loopback() && !allow_remote {
            return Err(Error::Config(format!(
                "refusing to serve metrics on {addr}: they say which models you use and what \
                 you spend, so they are served on a loopback address unless remote access is \
                 allowed explicitly (--allow-remote)"
            )));
        }
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| Error::Config(format!("could not serve metrics on {addr}: {e}")))?;
        let addr = listener.local_addr()?;
        Ok(MetricsServer {
            listener,
            addr,
            metrics,
        })
    }

    /// The address it listens on (the real port when bound to port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let slots = Arc::new(Semaphore::new(MAX_SCRAPES));
        loop {
            let accepted = tokio::select! {
                () = shutdown.cancelled() => return,
                accepted = self.listener.accept() => accepted,
            };
            let stream = match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!("metrics: accepting a connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
                return;
            };
            let metrics = Arc::clone(&self.metrics);
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                let _slot = slot;
                let service = service_fn(move |request| {
                    let metrics = Arc::clone(&metrics);
                    async move { Ok::<_, Infallible>(answer(&metrics, &request)) }
                });
                let connection = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(HEADER_READ_TIMEOUT)
                    .serve_connection(TokioIo::new(stream), service);
                tokio::pin!(connection);
                tokio::select! {
                    _ = connection.as_mut() => {}
                    () = shutdown.cancelled() => connection.as_mut().graceful_shutdown(),
                    () = tokio::time::sleep(CONNECTION_LIFETIME) => {}
                }
            });
        }
    }
}

/// Binds and runs the endpoint on a task of its own; returns the bound address.
pub async fn serve(
    addr: SocketAddr,
    allow_remote: bool,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) -> Result<SocketAddr> {
    let server = MetricsServer::bind(addr, allow_remote, metrics).await?;
    let bound = server.addr();
    tokio::spawn(server.run(shutdown));
    Ok(bound)
}

fn answer<B>(metrics: &Metrics, request: &Request<B>) -> Response<Full<Bytes>> {
    let path = request.uri().path();
    if path != "/metrics" {
        return plain(
            StatusCode::NOT_FOUND,
            "Claude Status serves its metrics at /metrics\n",
        );
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "use GET /metrics\n");
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let header = |name| {
        request
            .headers()
            .get(name)
            .and_then(|value: &HeaderValue| value.to_str().ok())
    };
    let answer = exposition(metrics, header(ACCEPT), header(ACCEPT_ENCODING));
    let body = if request.method() == Method::HEAD {
        Bytes::new()
    } else {
        answer.body
    };
    let mut response = Response::new(Full::new(body));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(answer.content_type));
    if let Some(encoding) = answer.content_encoding {
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    headers.insert(VARY, HeaderValue::from_static("accept, accept-encoding"));
    response
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::accepts_gzip;

    #[test]
    fn gzip_is_used_only_when_accepted() {
        assert!(accepts_gzip("gzip"));
        assert!(accepts_gzip("br, gzip;q=0.5"));
        assert!(accepts_gzip("*"));
        assert!(!accepts_gzip("identity"));
        assert!(!accepts_gzip("gzip;q=0"));
        assert!(!accepts_gzip("gzip; q=0.0, identity"));
    }
}
