//! Load generator for `scripts/bench-gateway.sh`: measures what the local gateway adds to a
//! request compared with going direct, against the simulator on loopback.
//!
//! It starts the simulator in-process with no artificial delays, starts the real
//! `claude-status proxy` binary as a child process (so its memory can be read from /proc), and
//! runs the same requests direct and through the gateway, alternating rounds so drift in the
//! machine's load falls on both sides alike. Clients share a keep-alive pool, as SDKs do.
//!
//! Usage: `gateway_load --bin target/release/claude-status [--quick]`
#![allow(clippy::unwrap_used, clippy::expect_used)] // A benchmark fails loudly.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use claude_status_simulator::{Clock, Simulator};

const KEY: &str = "sk-ant-bench";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Json,
    Stream,
}

impl Mode {
    fn body(self) -> String {
        serde_json::json!({
            "model": "claude-sonnet-4-6",
            "max_tokens": 16,
            "messages": [{"role": "user", "content": "Hello from the gateway benchmark."}],
            "stream": self == Mode::Stream,
        })
        .to_string()
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
    let client = client(concurrency);
    let url = format!("{base}/v1/messages");
    let body = mode.body();
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
        let data = tempfile::tempdir().unwrap();
        let mut child = Command::new(bin)
            .args(["proxy", "--port", "0", "--upstream", upstream, "--data-dir"])
            .arg(data.path())
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

    // The simulator gets a runtime (and so threads) of its own, as a real API would be elsewhere.
    let sim_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let sim = sim_runtime
        .block_on(
            Simulator::new("healthy")
                .clock(Clock::Manual)
                .time_to_first_token(Duration::ZERO)
                .token_interval(Duration::ZERO)
                .start(),
        )
        .unwrap();
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
