//! `claude-status proxy`: the local gateway in a terminal. It listens on 127.0.0.1, forwards
//! every `/v1/` request to the API unchanged, and records each Messages call in the usage ledger
//! (the same one `usage` and the tray read), until Ctrl-C or `--for`.

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use claude_status_core::monitor::Observation;
use claude_status_core::retry::RetryPolicy;
use claude_status_core::usage::UsageRecord;
use claude_status_engine::gateway::{
    Gateway, GatewayConfig, GatewayStats, ProviderEndpoint, DEFAULT_PORT, DEFAULT_UPSTREAM,
};
use claude_status_engine::Store;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::args::{parse_duration, GlobalOptions};

/// Options of `claude-status proxy`.
#[derive(Debug, Args)]
pub struct ProxyArgs {
    /// The port to listen on.
    #[arg(long, default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// Where requests go. ANTHROPIC_BASE_URL is deliberately not read here: it is what you point
    /// at the gateway.
    #[arg(long, env = "CLAUDE_STATUS_UPSTREAM", default_value = DEFAULT_UPSTREAM)]
    pub upstream: String,
    /// The address to listen on. Anything but a loopback address also needs --allow-remote.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,
    /// Allow --bind on an address other machines can reach. Every request then needs the
    /// gateway's access token in the x-claude-status-token header (made on the first remote
    /// start, kept in the data directory's gateway-token file, mode 0600).
    #[arg(long)]
    pub allow_remote: bool,
    /// A web origin whose pages may call the gateway (e.g. http://localhost:3000, for a web app
    /// you develop that uses the SDK in the browser). Requests from any other page (an Origin
    /// header) are refused with 403, so a site you visit cannot use the gateway. Repeatable.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    pub allow_origins: Vec<String>,
    /// Retry 529, 500 and 429 answers (never the spend cap) with the SDKs' back-off, honouring
    /// retry-after, before the client sees them. Off by default: the client's own SDK retries.
    #[arg(long)]
    pub retry: bool,
    /// The fallback chain, best first, comma-separated: the Claude model a request asks for,
    /// other Claude models (used per request after persistent 529s), then other providers'
    /// models: openai:MODEL, gemini:MODEL, openai-compatible:NAME:MODEL (e.g.
    /// claude-opus-5-5,claude-sonnet-5-5,openai:gpt-4o). A request for a model not in the list
    /// is never moved. Keys come from the keychain (stored from the app's Settings), else
    /// OPENAI_API_KEY, GEMINI_API_KEY and NAME_API_KEY.
    #[arg(long, value_delimiter = ',')]
    pub fallback: Vec<String>,
    /// Other providers serve a model only after its verdict has been overloaded or in outage
    /// this long; 0s falls back on the first 529 or 5xx that survives the retries.
    #[arg(long, value_parser = parse_duration, default_value = "5m")]
    pub fallback_after: Duration,
    /// Declares an OpenAI-compatible server for openai-compatible:NAME:MODEL (its key, if it
    /// needs one, comes from NAME_API_KEY), or overrides openai's or gemini's base URL.
    /// Repeatable.
    #[arg(long = "provider", value_name = "NAME=URL")]
    pub providers: Vec<String>,
    /// Longest wait for the API's response headers before answering 504.
    #[arg(long, value_parser = parse_duration, default_value = "600s")]
    pub upstream_timeout: Duration,
    /// Longest a client may take to send a request's headers; the connection is then closed
    /// (slowloris).
    #[arg(long, value_parser = parse_duration, default_value = "30s")]
    pub header_timeout: Duration,
    /// Longest a client may take to send a request's body; it then gets 408.
    #[arg(long, value_parser = parse_duration, default_value = "300s")]
    pub body_timeout: Duration,
    /// The most client connections held open at once (lowered to fit the open-files limit);
    /// connections over it are closed at once.
    #[arg(long, default_value_t = claude_status_engine::gateway::DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Have the prompt-cache advisor ask the API's count_tokens (free) for each new prefix's
    /// size once, with the credentials of the request that carried it; without it, sizes are
    /// estimated at 4 characters per token (`usage --advice` says which).
    #[arg(long)]
    pub count_prefix_tokens: bool,
    /// Print one line per metered request (model, status, latency, time to first token, tokens).
    #[arg(long)]
    pub print: bool,
    /// Print those lines as JSON objects instead.
    #[arg(long)]
    pub json_lines: bool,
    /// Do not keep usage records in the history database.
    #[arg(long)]
    pub no_history: bool,
    /// Stop after this long.
    #[arg(long = "for", value_parser = parse_duration)]
    pub run_for: Option<Duration>,
    /// Also serve the Prometheus metrics at http://ADDR/metrics (they are always served at
    /// /metrics on the gateway's own port). A loopback address unless --allow-remote.
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<SocketAddr>,
}

/// Runs the gateway until Ctrl-C (or `--for`), then prints what it saw.
pub async fn proxy(global: &GlobalOptions, args: ProxyArgs) -> anyhow::Result<ExitCode> {
    let store = if args.no_history {
        None
    } else {
        let dir = claude_status_engine::paths::data_dir(global.data_dir.clone())?;
        let path = Store::default_path(&dir);
        // One bad or unwritable file must not stop the user's traffic: a damaged database is
        // moved aside (`Store::open`), and a place that cannot be written keeps the records in
        // memory only, said once here.
        let store = Store::open_or_in_memory(&path)
            .with_context(|| format!("opening the history database {}", path.display()))?;
        // A damaged database moved aside is said by the store's own warning, which the gateway's
        // log keeps (see `main`): a plain line here as well told the user twice (issue 16).
        if let Some(not_saved) = store.not_saving() {
            eprintln!("claude-status: {not_saved}; the gateway serves without it");
        }
        Some(Arc::new(store))
    };
    let fallback: Vec<String> = args
        .fallback
        .iter()
        .map(|model| model.trim().to_owned())
        .filter(|model| !model.is_empty())
        .collect();
    if fallback.len() == 1 {
        eprintln!(
            "claude-status: warning: --fallback {} has no second model to fall back to",
            fallback[0]
        );
    }
    let chain = if fallback.len() > 1 {
        claude_status_core::fallback::parse_chain(&fallback)
            .map_err(|e| anyhow::anyhow!("--fallback: {e}"))?
    } else {
        Vec::new()
    };
    let fallback = if fallback.len() > 1 {
        fallback
    } else {
        Vec::new()
    };
    let providers = provider_endpoints(&chain, &args.providers)?;
    refuse_the_services_port(global, args.port).await?;
    let printing = args.print || args.json_lines;
    // Moves to another provider and back are printed whether or not records are.
    let (observations, printed) = if printing || !providers.is_empty() {
        let (tx, rx) = mpsc::channel(1024);
        (Some(tx), Some(rx))
    } else {
        (None, None)
    };
    // The gateway's figures are served at /metrics on its own port, priced with the same table
    // the usage reports use.
    let catalog = claude_status_engine::paths::data_dir(global.data_dir.clone())
        .ok()
        .and_then(|dir| claude_status_engine::usage::load_catalog_in(&dir).ok())
        .unwrap_or_else(claude_status_core::catalog::Catalog::builtin);
    let catalog = Arc::new(catalog);
    let metrics = Arc::new(claude_status_engine::metrics::Metrics::new(Arc::clone(
        &catalog,
    )));
    let token = if args.allow_remote {
        let dir = claude_status_engine::paths::data_dir(global.data_dir.clone())?;
        let path = claude_status_engine::gateway::token::token_path(&dir);
        let (token, made) = claude_status_engine::gateway::token::load_or_create(&path)
            .with_context(|| format!("the gateway's access token ({})", path.display()))?;
        Some((token, path, made))
    } else {
        None
    };
    let config = GatewayConfig {
        listen: SocketAddr::new(args.bind, args.port),
        allow_remote: args.allow_remote,
        allowed_origins: args.allow_origins.clone(),
        upstream: args.upstream.clone(),
        retry: args.retry.then(RetryPolicy::default),
        fallback,
        fallback_after: args.fallback_after,
        providers,
        catalog: Some(catalog),
        store,
        observations,
        metrics: Some(Arc::clone(&metrics)),
        response_timeout: args.upstream_timeout,
        header_timeout: args.header_timeout,
        body_timeout: args.body_timeout,
        max_connections: args.max_connections,
        count_prefix_tokens: args.count_prefix_tokens,
        token: token.as_ref().map(|(token, _, _)| token.clone()),
        prefix_key: claude_status_engine::paths::data_dir(global.data_dir.clone())
            .ok()
            .and_then(|dir| claude_status_engine::service::gateway::advisor_key(&dir)),
        ..GatewayConfig::default()
    };
    let gateway = Gateway::bind(config).await?;
    if !gateway.addr().ip().is_loopback() {
        eprintln!(
            "claude-status: warning: the gateway listens on {}, beyond this machine; anyone who \
             can reach it can send requests through it",
            gateway.addr()
        );
    }
    let stats = gateway.stats();
    {
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "claude-status proxy: listening on {}, forwarding to {}",
            gateway.base_url(),
            gateway.upstream()
        )?;
        writeln!(out, "Point your code at it:")?;
        writeln!(out, "  export ANTHROPIC_BASE_URL={}", gateway.base_url())?;
        if let Some((_, path, made)) = &token {
            // The token itself is never printed: whoever reads this terminal's scrollback or a
            // log of it must not be able to use the gateway.
            let path = path.display();
            writeln!(
                out,
                "Remote access: every request needs the access token{} in {path}:",
                if *made { " (made now)" } else { "" }
            )?;
            writeln!(
                out,
                "  export ANTHROPIC_CUSTOM_HEADERS=\"x-claude-status-token: $(cat {path})\"   # Claude Code"
            )?;
            writeln!(
                out,
                "  SDKs: default_headers={{\"x-claude-status-token\": <the file's contents>}}"
            )?;
        }
        out.flush()?;
    }

    let shutdown = CancellationToken::new();
    if let Some(addr) = args.metrics_addr {
        let bound = claude_status_engine::metrics::serve(
            addr,
            args.allow_remote,
            Arc::clone(&metrics),
            shutdown.clone(),
        )
        .await?;
        eprintln!("claude-status proxy: metrics at http://{bound}/metrics");
    }
    let server = tokio::spawn(gateway.run(shutdown.clone()));
    let printer = printed.map(|rx| tokio::spawn(print_records(rx, args.json_lines, printing)));
    let deadline = async {
        match args.run_for {
            Some(limit) => tokio::time::sleep(limit).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = deadline => {}
    }
    shutdown.cancel();
    server.await.context("the gateway stopped unexpectedly")??;
    if let Some(printer) = printer {
        let _ = printer.await;
    }
    eprintln!("{}", summary(&stats.snapshot()));
    Ok(ExitCode::SUCCESS)
}

async fn print_records(mut rx: mpsc::Receiver<Observation>, json: bool, records_too: bool) {
    while let Some(observation) = rx.recv().await {
        let records = match observation {
            Observation::Usage { records } if records_too => records,
            Observation::Fallback { notice } => {
                let notification = claude_status_core::fallback::notification(&notice);
                eprintln!(
                    "claude-status proxy: {}. {}",
                    notification.title, notification.body
                );
                continue;
            }
            _ => continue,
        };
        let mut out = std::io::stdout().lock();
        for record in &records {
            let line = if json {
                serde_json::to_string(record).unwrap_or_default()
            } else {
                record_line(record)
            };
            if writeln!(out, "{line}").is_err() {
                return;
            }
        }
        let _ = out.flush();
    }
}

/// `12:00:01  200  claude-opus-4-6  1234 ms  ttft 210 ms  in 1200  out 56  req_…`
fn record_line(record: &UsageRecord) -> String {
    let status = record
        .status
        .map_or_else(|| "---".to_owned(), |s| s.to_string());
    let mut line = format!(
        "{}  {status}  {}  {} ms",
        record.at.with_timezone(&chrono::Local).format("%H:%M:%S"),
        record.model,
        record.latency_ms.unwrap_or(0)
    );
    if let Some(ttft) = record.ttft_ms {
        line.push_str(&format!("  ttft {ttft} ms"));
    }
    line.push_str(&format!(
        "  in {}  out {}",
        record.tokens.total_input(),
        record.tokens.output
    ));
    if let Some(id) = &record.request_id {
        line.push_str("  ");
        line.push_str(id);
    }
    line
}

/// The endpoints of the chain's other providers: `--provider NAME=URL` declarations, then the
/// environment (`OPENAI_BASE_URL`, …), then the defaults; keys from the keychain, then the
/// environment (`OPENAI_API_KEY`, …).
fn provider_endpoints(
    chain: &[claude_status_core::fallback::Target],
    declared: &[String],
) -> anyhow::Result<Vec<ProviderEndpoint>> {
    use claude_status_core::fallback::Provider;
    let mut urls = std::collections::BTreeMap::new();
    for entry in declared {
        let Some((name, url)) = entry.split_once('=') else {
            anyhow::bail!(
                "--provider {entry:?}: write NAME=URL, e.g. local=http://127.0.0.1:8000/v1"
            );
        };
        let name = name.trim();
        let provider = match name {
            "openai" => Provider::OpenAi,
            "gemini" => Provider::Gemini,
            _ if claude_status_core::fallback::is_provider_name(name) => {
                Provider::Compatible(name.to_owned())
            }
            _ => anyhow::bail!(
                "--provider {name:?}: a name is lower-case letters, digits, - and _, starting with \
                 a letter"
            ),
        };
        urls.insert(provider, url.trim().to_owned());
    }
    let mut endpoints: Vec<ProviderEndpoint> = Vec::new();
    for target in chain {
        let Some(provider) = target.provider() else {
            continue;
        };
        if endpoints.iter().any(|e| &e.provider == provider) {
            continue;
        }
        let mut endpoint =
            ProviderEndpoint::from_env(provider, urls.get(provider).map(String::as_str))?;
        // The same rule as the service's: a key stored from Settings first, then the
        // environment, so `proxy` and the tray's gateway never use different keys.
        if let Some((key, _)) = claude_status_engine::service::provider_keys::provider_key(
            &crate::keychain::Keychain,
            provider,
        ) {
            endpoint.key = claude_status_engine::gateway::ProviderKey::new(&key);
        }
        endpoints.push(endpoint);
    }
    Ok(endpoints)
}

fn summary(stats: &GatewayStats) -> String {
    let o = &stats.outcomes;
    format!(
        "claude-status proxy: {} requests (ok {}, 4xx {}, 429 {}, 529 {}, 5xx {}, unreachable {}, \
         timed out {}, too large {}, refused {}); {} retries, {} fallbacks, {} to other providers ({} not \
         translated), {} stream errors, {} client disconnects",
        stats.requests,
        o.ok,
        o.client_error,
        o.rate_limited,
        o.overloaded,
        o.server_error,
        o.unreachable,
        o.timed_out,
        o.too_large,
        o.refused,
        stats.retries,
        stats.fallbacks,
        stats.provider_fallbacks,
        stats.not_translated,
        stats.stream_errors,
        stats.client_disconnects
    )
}

/// Refuses to start a second gateway on the port the running service's gateway holds: the user
/// already has one there, and the bind would fail with a less helpful message.
async fn refuse_the_services_port(global: &GlobalOptions, port: u16) -> anyhow::Result<()> {
    use claude_status_engine::control::proto::{Call, ServiceInfo};
    let Ok(Some(mut client)) = crate::service_cmd::connect(global).await else {
        return Ok(());
    };
    let info: ServiceInfo = match client.call(Call::Version).await {
        Ok(info) => info,
        Err(_) => return Ok(()),
    };
    let Some(url) = info.gateway_url else {
        return Ok(());
    };
    let held = url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .and_then(|p| p.parse::<u16>().ok());
    if held == Some(port) {
        anyhow::bail!(
            "the Claude Status service (pid {}) already runs the gateway on port {port}: point \
             ANTHROPIC_BASE_URL at {url}, or give `proxy` another --port",
            info.pid
        );
    }
    Ok(())
}
