//! Load generator for `scripts/bench-gateway.sh`: measures what the local gateway adds to a
//! request compared with going direct, against the simulator on loopback.
//!
//! It starts the simulator in-process with no artificial delays, starts the real
//! `claude-status proxy` binary as a child process (so its memory can be read from /proc), and
//! runs the same requests direct and through the gateway, alternating rounds so drift in the
//! machine's load falls on both sides alike. Clients share a keep-alive pool, as SDKs do.
//!
//! With `--fallback` it measures the fallback to another provider instead: what translating a
//! request and its answer (whole, and streamed) adds compared with the gateway passing a Claude
//! answer through, with a fake Chat Completions server on loopback that answers with the real
//! recorded payloads of the translation tests; and how many requests it takes from the trigger
//! to the first answer served by the fallback.
//!
//! Usage: `gateway_load --bin target/release/claude-status [--quick] [--fallback]`; with
//! `GATEWAY_BENCH_SYSTEM_CHARS=N` every request carries a system prompt of N characters.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A benchmark fails loudly.

// The simulator that answers at once, shared with the gateway's tests.
#[path = "../tests/support/sim.rs"]
mod sim;

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sim::fast_sim;

const KEY: &str = "sk-ant-bench";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Json,
    Stream,
}

impl Mode {
    fn body(self) -> String {
        let mut body = serde_json::json!({
            "model": "claude-sonnet-4-6",
            "max_tokens": 16,
            "messages": [{"role": "user", "content": "Hello from the gateway benchmark."}],
            "stream": self == Mode::Stream,
        });
        // `GATEWAY_BENCH_SYSTEM_CHARS=16000` gives every request a system prompt of that many
        // characters, so the prompt-cache advisor's reading of the prefix (issue 17) is measured
        // on a realistic body.
        let chars = std::env::var("GATEWAY_BENCH_SYSTEM_CHARS")
            .ok()
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(0);
        if chars > 0 {
            body["system"] = serde_json::Value::String(
                "You answer briefly. ".repeat(chars / 20 + 1)[..chars].to_owned(),
            );
        }
        body.to_string()
    }

    fn name(self) -> &'static str {
        match self {
            Mode::Json => "JSON",
            Mode::Stream => "stream (TTFT)",
        }
    }
}

/// Latencies of one run, in microseconds.
#[derive(Debug, Default)]
struct Sample {
    /// JSON: the whole answer; streams: the time to the first `content_block_delta`.
    micros: Vec<u64>,
    errors: u64,
    elapsed: Duration,
}

impl Sample {
    fn merge(&mut self, other: Sample) {
        self.micros.extend(other.micros);
        self.errors += other.errors;
        self.elapsed += other.elapsed;
    }

    fn percentile(&mut self, p: f64) -> f64 {
        if self.micros.is_empty() {
            return f64::NAN;
        }
        self.micros.sort_unstable();
        let rank = ((p / 100.0) * (self.micros.len() - 1) as f64).round() as usize;
        self.micros[rank.min(self.micros.len() - 1)] as f64 / 1000.0
    }
}

fn client(concurrency: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency * 2)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// One request; returns its latency as the mode measures it.
async fn one(client: &reqwest::Client, url: &str, body: &str, mode: Mode) -> Option<u64> {
    let started = Instant::now();
    let mut response = client
        .post(url)
        .header("x-api-key", KEY)
        .header("anthropic-version", "2023-06-01")
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .ok()?;
    if !response.status().is_success() {
        return None;
    }
    let mut first_token = None;
    let mut seen = Vec::new();
    while let Some(chunk) = response.chunk().await.ok()? {
        if mode == Mode::Stream && first_token.is_none() {
            seen.extend_from_slice(&chunk);
            if memchr::memmem::find(&seen, b"content_block_delta").is_some() {
                first_token = Some(started.elapsed());
            }
        }
    }
    let measured = match mode {
        Mode::Json => started.elapsed(),
        Mode::Stream => first_token?,
    };
    Some(u64::try_from(measured.as_micros()).unwrap_or(u64::MAX))
}

/// `requests` requests from `concurrency` clients sharing one pool.
async fn run(base: &str, mode: Mode, concurrency: usize, requests: usize) -> Sample {
    run_body(base, mode, concurrency, requests, mode.body()).await
}

/// [`run`] with a body of the caller's.
async fn run_body(
    base: &str,
    mode: Mode,
    concurrency: usize,
    requests: usize,
    body: String,
) -> Sample {
    let client = client(concurrency);
    let url = format!("{base}/v1/messages");
    // Warm the pool so connection setup is not measured.
    for _ in 0..concurrency.min(20) {
        one(&client, &url, &body, mode).await;
    }
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (client, url, body, next) = (client.clone(), url.clone(), body.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut sample = Sample::default();
            while next.fetch_add(1, Ordering::Relaxed) < requests as u64 {
                match one(&client, &url, &body, mode).await {
                    Some(micros) => sample.micros.push(micros),
                    None => sample.errors += 1,
                }
            }
            sample
        }));
    }
    let mut total = Sample::default();
    for worker in workers {
        total.merge(worker.await.unwrap());
    }
    total.elapsed = started.elapsed();
    total
}

/// Requests for `duration` from `concurrency` clients; returns requests per second.
async fn throughput(base: &str, concurrency: usize, duration: Duration) -> (f64, u64) {
    let client = client(concurrency);
    let url = format!("{base}/v1/messages");
    let body = Mode::Json.body();
    for _ in 0..concurrency {
        one(&client, &url, &body, Mode::Json).await;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (client, url, body) = (client.clone(), url.clone(), body.clone());
        let (stop, done, errors) = (stop.clone(), done.clone(), errors.clone());
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                match one(&client, &url, &body, Mode::Json).await {
                    Some(_) => done.fetch_add(1, Ordering::Relaxed),
                    None => errors.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    (
        done.load(Ordering::Relaxed) as f64 / elapsed,
        errors.load(Ordering::Relaxed),
    )
}

/// The gateway as a child process, and its memory.
struct GatewayProcess {
    child: Child,
    url: String,
    _data: tempfile::TempDir,
}

impl GatewayProcess {
    fn start(bin: &str, upstream: &str) -> GatewayProcess {
        GatewayProcess::start_with(bin, upstream, &[], &[])
    }

    fn start_with(
        bin: &str,
        upstream: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> GatewayProcess {
        let data = tempfile::tempdir().unwrap();
        let mut child = Command::new(bin)
            .args(["proxy", "--port", "0", "--upstream", upstream, "--data-dir"])
            .arg(data.path())
            .args(extra)
            .envs(env.iter().copied())
            .env("CLAUDE_STATUS_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the claude-status binary starts");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().unwrap().unwrap();
        let url = first
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .unwrap()
            .trim_end_matches(',')
            .to_owned();
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        GatewayProcess {
            child,
            url,
            _data: data,
        }
    }

    /// (VmRSS, VmHWM) in MiB.
    fn memory(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|line| line.starts_with(name))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<f64>().ok())
                .map_or(f64::NAN, |kib| kib / 1024.0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    fn stop(mut self) {
        // SIGINT lets it flush the ledger and print its summary.
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bin = args
        .iter()
        .position(|a| a == "--bin")
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| "target/release/claude-status".to_owned());
    let quick = args.iter().any(|a| a == "--quick");
    if args.iter().any(|a| a == "--fallback") {
        fallback_bench(&bin, quick);
        return;
    }

    // The simulator gets a runtime (and so threads) of its own, as a real API would be elsewhere.
    let sim_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let sim = sim_runtime.block_on(fast_sim("healthy"));
    let direct = sim.base_url();
    let gateway = GatewayProcess::start(&bin, &direct);
    let (idle_rss, _) = gateway.memory();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    let peak = Arc::new(AtomicU64::new(0));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (peak.clone(), sampling.clone());
        let pid = gateway.child.id();
        std::thread::spawn(move || {
            while sampling.load(Ordering::Relaxed) {
                let status =
                    std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
                if let Some(kib) = status
                    .lines()
                    .find(|line| line.starts_with("VmRSS:"))
                    .and_then(|line| line.split_whitespace().nth(1))
                    .and_then(|kib| kib.parse::<u64>().ok())
                {
                    peak.fetch_max(kib, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };

    let scale = if quick { 10 } else { 1 };
    let plan: [(usize, usize); 3] = [(1, 2000 / scale), (10, 8000 / scale), (100, 10000 / scale)];
    let rounds = 2;
    println!(
        "Gateway benchmark: simulator `healthy` on loopback, no simulated delay; {} rounds per \
         cell, direct and gateway alternating; client pool keep-alive.",
        rounds
    );
    println!();
    println!("| mode | clients | requests | direct p50 | gateway p50 | added p50 | direct p99 | gateway p99 | added p99 | errors |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for mode in [Mode::Json, Mode::Stream] {
        for (concurrency, requests) in plan {
            let mut direct_sample = Sample::default();
            let mut gateway_sample = Sample::default();
            for _ in 0..rounds {
                direct_sample.merge(runtime.block_on(run(
                    &direct,
                    mode,
                    concurrency,
                    requests / rounds,
                )));
                gateway_sample.merge(runtime.block_on(run(
                    &gateway.url,
                    mode,
                    concurrency,
                    requests / rounds,
                )));
            }
            let (d50, g50) = (
                direct_sample.percentile(50.0),
                gateway_sample.percentile(50.0),
            );
            let (d99, g99) = (
                direct_sample.percentile(99.0),
                gateway_sample.percentile(99.0),
            );
            println!(
                "| {} | {concurrency} | {} | {d50:.3} ms | {g50:.3} ms | **{:+.3} ms** | {d99:.3} ms | {g99:.3} ms | **{:+.3} ms** | {} |",
                mode.name(),
                requests,
                g50 - d50,
                g99 - d99,
                direct_sample.errors + gateway_sample.errors,
            );
        }
    }
    println!();

    let seconds = if quick { 2 } else { 5 };
    let (direct_rate, direct_errors) =
        runtime.block_on(throughput(&direct, 10, Duration::from_secs(seconds)));
    let (gateway_rate, gateway_errors) =
        runtime.block_on(throughput(&gateway.url, 10, Duration::from_secs(seconds)));
    sampling.store(false, Ordering::Relaxed);
    sampler.join().unwrap();
    let (rss_after, hwm) = gateway.memory();
    println!("| throughput, 10 clients, JSON, {seconds} s | requests/s | errors |");
    println!("|---|---:|---:|");
    println!("| direct | {direct_rate:.0} | {direct_errors} |");
    println!("| through the gateway | {gateway_rate:.0} | {gateway_errors} |");
    println!();
    println!("| gateway memory | MiB |");
    println!("|---|---:|");
    println!("| RSS idle, before load | {idle_rss:.1} |");
    println!(
        "| RSS peak under load (sampled every 20 ms) | {:.1} |",
        peak.load(Ordering::Relaxed) as f64 / 1024.0
    );
    println!("| RSS after load | {rss_after:.1} |");
    println!("| VmHWM (kernel's high-water mark) | {hwm:.1} |");
    gateway.stop();
    sim_runtime.block_on(sim.shutdown());
}

/// The recorded Chat Completions answers the fake provider sends (see
/// crates/core/tests/fixtures/translate/SOURCES.md).
const CHAT_JSON: &str = include_str!("../../core/tests/fixtures/translate/openai-text.json");
const CHAT_STREAM: &str =
    include_str!("../../core/tests/fixtures/translate/openai-stream-text.sse");

/// A server on loopback that answers at once with fixed bodies: `json` or, for a request with
/// `"stream":true`, `stream`; a request for Opus 5.5 gets the API's 529 when `overload_opus`.
/// The fake provider and the fake Claude are the same server with other bodies, so the
/// difference between them is the gateway's own work.
async fn fixed_server(
    json: &'static [u8],
    events: &'static [u8],
    json_type: &'static str,
    overload_opus: bool,
) -> String {
    use http_body_util::{BodyExt as _, Full};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |request: hyper::Request<hyper::body::Incoming>| async move {
                        let body = request.into_body().collect().await?.to_bytes();
                        let find = |needle: &[u8]| memchr::memmem::find(&body, needle).is_some();
                        if overload_opus && find(b"claude-opus-5-5") {
                            return Ok::<_, hyper::Error>(
                                hyper::Response::builder()
                                    .status(529)
                                    .header("content-type", "application/json")
                                    .body(Full::new(bytes::Bytes::from_static(OVERLOADED)))
                                    .unwrap(),
                            );
                        }
                        let (content_type, answer) = if find(b"\"stream\":true") {
                            ("text/event-stream", events)
                        } else {
                            (json_type, json)
                        };
                        Ok(hyper::Response::builder()
                            .header("content-type", content_type)
                            .body(Full::new(bytes::Bytes::from_static(answer)))
                            .unwrap())
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    format!("http://{addr}")
}

/// The API's 529 body (api-facts B2).
const OVERLOADED: &[u8] =
    br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;

/// One JSON answer and one stream of the simulator, recorded at start, for the fake Claude.
async fn record_claude(sim: &str) -> (&'static [u8], &'static [u8]) {
    let client = client(1);
    let mut recorded = Vec::new();
    for mode in [Mode::Json, Mode::Stream] {
        let bytes = client
            .post(format!("{sim}/v1/messages"))
            .header("x-api-key", KEY)
            .header("anthropic-version", "2023-06-01")
            .header("content-type", "application/json")
            .body(body_for("claude-sonnet-4-6", mode))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        recorded.push(&*Box::leak(bytes.to_vec().into_boxed_slice()));
    }
    (recorded[0], recorded[1])
}

fn body_for(model: &str, mode: Mode) -> String {
    serde_json::json!({
        "model": model,
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "Hello from the gateway benchmark."}],
        "stream": mode == Mode::Stream,
    })
    .to_string()
}

/// The fallback's figures: the translation's added latency, and the trigger's cost.
fn fallback_bench(bin: &str, quick: bool) {
    let sim_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    // The fake Claude answers what the simulator answered, at once; Opus 5.5 gets 529.
    let (sim, claude, provider) = sim_runtime.block_on(async {
        let sim = fast_sim("healthy").await;
        let (json, stream) = record_claude(&sim.base_url()).await;
        let claude = fixed_server(json, stream, "application/json", true).await;
        let provider = fixed_server(
            CHAT_JSON.as_bytes(),
            CHAT_STREAM.as_bytes(),
            "application/json",
            false,
        )
        .await;
        (sim, claude, format!("{provider}/v1"))
    });
    let gateway = GatewayProcess::start_with(
        bin,
        &claude,
        &[
            "--fallback",
            "claude-opus-5-5,openai:gpt-4o",
            "--fallback-after",
            "0s",
        ],
        &[
            ("OPENAI_BASE_URL", provider.as_str()),
            ("OPENAI_API_KEY", "sk-bench-provider"),
        ],
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    // The trigger: the first request for Opus meets the 529 and is itself served by the
    // fallback; the requests after it go straight to the provider.
    let client = client(1);
    let url = format!("{}/v1/messages", gateway.url);
    let (first, second, statuses) = runtime.block_on(async {
        let mut statuses = Vec::new();
        let mut timed = Vec::new();
        for _ in 0..3 {
            let started = Instant::now();
            let answer = client
                .post(&url)
                .header("x-api-key", KEY)
                .header("anthropic-version", "2023-06-01")
                .header("content-type", "application/json")
                .body(body_for("claude-opus-5-5", Mode::Json))
                .send()
                .await
                .unwrap();
            let fell_back = answer.headers().contains_key("x-claude-status-fallback");
            statuses.push((answer.status().as_u16(), fell_back));
            let _ = answer.bytes().await;
            timed.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        (timed[0], timed[1], statuses)
    });
    let lost = statuses
        .iter()
        .take_while(|(s, f)| !(*s == 200 && *f))
        .count();
    println!(
        "Fallback benchmark: a fake Claude on loopback answering a recorded simulator answer at \
         once (and 529 for Opus 5.5), a fake Chat Completions server answering recorded OpenAI \
         payloads at once, `--fallback claude-opus-5-5,openai:gpt-4o --fallback-after 0s`; one \
         client, keep-alive, two rounds alternating."
    );
    println!();
    println!("| trigger | figure |");
    println!("|---|---:|");
    println!(
        "| requests answered with the 529 before the first one served by the fallback | {lost} |"
    );
    println!("| the triggering request (Claude's 529, then the provider) | {first:.3} ms |");
    println!("| the next request (straight to the provider) | {second:.3} ms |");
    println!();

    let scale = if quick { 10 } else { 1 };
    let requests = 4000 / scale;
    let rounds = 2;
    println!("| mode | requests | pass-through p50 | fallback p50 | added p50 | pass-through p99 | fallback p99 | added p99 | errors |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for mode in [Mode::Json, Mode::Stream] {
        let mut direct = Sample::default();
        let mut translated = Sample::default();
        for _ in 0..rounds {
            // Sonnet passes through to the fake Claude; Opus is served by the provider.
            direct.merge(runtime.block_on(run_body(
                &gateway.url,
                mode,
                1,
                requests / rounds,
                body_for("claude-sonnet-4-6", mode),
            )));
            translated.merge(runtime.block_on(run_body(
                &gateway.url,
                mode,
                1,
                requests / rounds,
                body_for("claude-opus-5-5", mode),
            )));
        }
        let (d50, t50) = (direct.percentile(50.0), translated.percentile(50.0));
        let (d99, t99) = (direct.percentile(99.0), translated.percentile(99.0));
        println!(
            "| {} | {requests} | {d50:.3} ms | {t50:.3} ms | **{:+.3} ms** | {d99:.3} ms | {t99:.3} ms | **{:+.3} ms** | {} |",
            mode.name(),
            t50 - d50,
            t99 - d99,
            direct.errors + translated.errors,
        );
    }
    gateway.stop();
    sim_runtime.block_on(sim.shutdown());
}
