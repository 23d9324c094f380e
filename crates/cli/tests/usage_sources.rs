//! Issue 14: `claude-status usage` reports every source of the ledger. The real `proxy` meters
//! requests to a simulator, the real `usage` reports them (as source `gateway`, each JSON row
//! with its `sources` and `by_source`, a Source column in the table), a request Claude Code sent
//! through the gateway counts once, `--source` picks one source, and `--source admin-api` reads
//! the Admin API's report on its own.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use std::io::{BufRead as _, BufReader, Read as _};

mod support;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::finish_reading as finish;

use chrono::{DateTime, SecondsFormat, Utc};
use claude_status_core::health::{ProbeKind, ProbeResult};
use claude_status_core::probe::{Classification, ProbeOutcome};
use claude_status_core::sse::Usage;
use claude_status_engine::Store;
use claude_status_simulator::{Clock, SimHandle, Simulator};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_claude-status");
/// The longest the proxy may take to meter the requests.
const DEADLINE: Duration = Duration::from_secs(60);
const KEY: &str = "sk-ant-api03-usage.sources.test";
const ADMIN_KEY: &str = "sk-ant-admin01-usage.sources.test";

/// A private home: an empty Claude config folder (or one with transcripts), a data folder of
/// its own (so no service is found), and no keychain.
struct Home {
    _dir: tempfile::TempDir,
    home: PathBuf,
    claude: PathBuf,
    data: PathBuf,
}

impl Home {
    fn new() -> Home {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let claude = dir.path().join("claude");
        let data = dir.path().join("data");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(claude.join("projects")).unwrap();
        Home {
            _dir: dir,
            home,
            claude,
            data,
        }
    }

    fn command(&self) -> Command {
        let mut command = Command::new(BIN);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("CLAUDE_CONFIG_DIR", &self.claude)
            .env("NO_COLOR", "1")
            .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
            .arg("--data-dir")
            .arg(&self.data)
            .stdin(Stdio::null());
        command
    }

    /// `claude-status usage ARGS --timezone UTC`: (exit code, stdout, stderr).
    fn usage(&self, args: &[&str]) -> (i32, String, String) {
        let mut command = self.command();
        command.arg("usage").args(args).args(["--timezone", "UTC"]);
        finish(
            command
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        )
    }

    fn usage_json(&self, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.push("--json");
        let (code, stdout, stderr) = self.usage(&args);
        assert_eq!(code, 0, "usage {args:?}: {stderr}");
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

fn simulator(runtime: &tokio::runtime::Runtime) -> SimHandle {
    runtime
        .block_on(
            Simulator::new("healthy")
                .clock(Clock::Manual)
                .time_to_first_token(Duration::from_millis(1))
                .token_interval(Duration::ZERO)
                .start(),
        )
        .unwrap()
}

/// Sends one request and returns its status.
fn request(base: &str, body: &str) -> u16 {
    support::post_message(base, KEY, body).0
}

fn message(model: &str, stream: bool) -> String {
    format!(
        r#"{{"model":"{model}","max_tokens":16,"stream":{stream},"messages":[{{"role":"user","content":"hi"}}]}}"#
    )
}

/// Runs the real `claude-status proxy` in front of the simulator, sends `bodies` through it one
/// by one, waits until it has printed (so metered and stored) every one, stops it with SIGINT as
/// a user would with Ctrl-C, and returns the records it printed.
fn through_the_proxy(home: &Home, sim: &SimHandle, bodies: &[String]) -> Vec<Value> {
    let mut command = home.command();
    command
        .args(["proxy", "--port", "0", "--upstream", &sim.base_url()])
        .arg("--json-lines")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let base = first
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .trim_end_matches(',')
        .to_owned();
    for body in bodies {
        assert_eq!(request(&base, body), 200);
    }
    let started = Instant::now();
    let mut records = Vec::new();
    let mut line = String::new();
    while records.len() < bodies.len() {
        assert!(
            started.elapsed() < DEADLINE,
            "only {} records",
            records.len()
        );
        line.clear();
        if stdout.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if line.starts_with('{') {
            records.push(serde_json::from_str::<Value>(&line).unwrap());
        }
    }
    assert_eq!(records.len(), bodies.len());
    let stopped = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let (code, _, stderr) = finish(child);
    assert_eq!(code, 0, "the proxy: {stderr}");
    records
}

fn output_of(records: &[Value]) -> u64 {
    records
        .iter()
        .map(|r| r["tokens"]["output"].as_u64().unwrap())
        .sum()
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect()
}

/// The `by_source` entry of one source.
fn part<'a>(row: &'a Value, source: &str) -> &'a Value {
    row["by_source"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["source"] == source)
        .unwrap_or_else(|| panic!("no {source} in {row}"))
}

#[test]
fn issue_14_usage_reports_what_120_requests_through_the_proxy_metered() {
    let runtime = runtime();
    let sim = simulator(&runtime);
    let home = Home::new();
    let bodies: Vec<String> = (0..120)
        .map(|i| {
            let model = if i % 3 == 0 {
                "claude-haiku-4-5"
            } else {
                "claude-sonnet-4-6"
            };
            message(model, i % 2 == 0)
        })
        .collect();
    let records = through_the_proxy(&home, &sim, &bodies);
    let output = output_of(&records);
    assert!(output > 0, "the simulator answered with output tokens");

    let report = home.usage_json(&["daily"]);
    assert_eq!(report["totals"]["output_tokens"], output, "{report}");
    assert_eq!(strings(&report["totals"]["sources"]), ["gateway"]);
    let rows = report["daily"].as_array().unwrap();
    assert!(!rows.is_empty());
    let mut by_rows = 0;
    for row in rows {
        assert_eq!(strings(&row["sources"]), ["gateway"], "{row}");
        assert_eq!(
            part(row, "gateway")["output_tokens"],
            row["output_tokens"],
            "{row}"
        );
        by_rows += row["output_tokens"].as_u64().unwrap();
    }
    assert_eq!(by_rows, output);
    // The gateway alone says the same; Claude Code's logs have nothing.
    assert_eq!(
        home.usage_json(&["daily", "--source", "gateway"])["totals"]["output_tokens"],
        output
    );
    assert_eq!(
        home.usage_json(&["daily", "--source", "claude-code"])["totals"]["output_tokens"],
        0
    );
    assert_eq!(
        home.usage_json(&["monthly"])["totals"]["output_tokens"],
        output
    );

    // The table names the source in its own column.
    let (code, table, stderr) = home.usage(&["daily"]);
    assert_eq!(code, 0, "{stderr}");
    let header = table.lines().next().unwrap();
    assert!(header.starts_with("Date        Source   Models"), "{table}");
    let total = table.lines().find(|l| l.starts_with("Total")).unwrap();
    assert!(total.starts_with("Total       gateway"), "{table}");
    runtime.block_on(sim.shutdown());
}

/// One assistant line as Claude Code writes it, for a request the gateway also metered.
fn transcript_line(record: &Value, session: &str) -> String {
    let tokens = &record["tokens"];
    let at: DateTime<Utc> = record["at"].as_str().unwrap().parse().unwrap();
    serde_json::json!({
        "parentUuid": null,
        "isSidechain": false,
        "type": "assistant",
        "uuid": format!("u-{}", record["request_id"].as_str().unwrap()),
        "timestamp": at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "sessionId": session,
        "version": "2.1.328",
        "requestId": record["request_id"],
        "message": {
            "model": record["model"],
            "id": record["message_id"],
            "type": "message",
            "role": "assistant",
            "content": [{"type": "text", "text": "hi"}],
            "usage": {
                "input_tokens": tokens["input"],
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": tokens["cache_read"],
                "output_tokens": tokens["output"],
                "service_tier": "standard"
            }
        }
    })
    .to_string()
}

fn probe_result(at: DateTime<Utc>, output: u64) -> ProbeResult {
    ProbeResult {
        at,
        kind: ProbeKind::Streaming,
        classification: Classification {
            outcome: ProbeOutcome::Ok,
            http_status: Some(200),
            error_type: None,
            error_message: None,
            request_id: Some("req_probe".to_owned()),
            retry_after: None,
            retry_not_before: None,
            detail: "ok".to_owned(),
        },
        latency_ms: Some(300),
        message_start_ms: Some(200),
        ttft_ms: Some(250),
        ratelimit: Default::default(),
        usage: Some(Usage {
            input_tokens: 8,
            output_tokens: output,
            ..Usage::default()
        }),
        confirmation: false,
        model: Some("claude-haiku-4-5".to_owned()),
    }
}

fn write_transcript(claude: &Path, lines: &[String]) {
    let project = claude.join("projects").join("-work-app");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(project.join("session-1.jsonl"), lines.join("\n") + "\n").unwrap();
}

#[test]
fn issue_14_a_request_seen_by_claude_code_and_the_gateway_counts_once_and_source_picks_one() {
    let runtime = runtime();
    let sim = simulator(&runtime);
    let home = Home::new();
    let records = through_the_proxy(
        &home,
        &sim,
        &[
            message("claude-sonnet-4-6", true),
            message("claude-haiku-4-5", false),
        ],
    );
    let (shared, gateway_only) = (&records[0], &records[1]);
    assert!(shared["message_id"].is_string() && shared["request_id"].is_string());
    // Claude Code sent the first request through the gateway: its transcript has it too.
    write_transcript(&home.claude, &[transcript_line(shared, "session-1")]);
    // And the streaming probe spent a few tokens on the user's key.
    let probe_output = 3;
    let probe_at: DateTime<Utc> = shared["at"].as_str().unwrap().parse().unwrap();
    let store = Store::open(&Store::default_path(&home.data)).unwrap();
    store
        .record_probe(&probe_result(probe_at, probe_output))
        .unwrap();
    drop(store);

    let out = |r: &Value| r["tokens"]["output"].as_u64().unwrap();
    let (shared_output, gateway_output) = (out(shared), out(gateway_only));
    let report = home.usage_json(&["daily"]);
    let totals = &report["totals"];
    assert_eq!(
        totals["output_tokens"],
        shared_output + gateway_output + probe_output,
        "the shared request once: {report}"
    );
    assert_eq!(report["seen_by_two_sources"], 1);
    assert_eq!(
        strings(&totals["sources"]),
        ["claude_code", "gateway", "probe"]
    );
    // Each source's own figures: the gateway saw both of its requests.
    assert_eq!(part(totals, "claude_code")["output_tokens"], shared_output);
    assert_eq!(
        part(totals, "gateway")["output_tokens"],
        shared_output + gateway_output
    );
    assert_eq!(part(totals, "probe")["output_tokens"], probe_output);

    // `--source` picks one, and every row says which.
    for (source, name, expected) in [
        ("claude-code", "claude_code", shared_output),
        ("gateway", "gateway", shared_output + gateway_output),
        ("probe", "probe", probe_output),
    ] {
        let alone = home.usage_json(&["daily", "--source", source]);
        assert_eq!(alone["totals"]["output_tokens"], expected, "{source}");
        assert_eq!(strings(&alone["totals"]["sources"]), [name], "{source}");
        assert_eq!(alone["seen_by_two_sources"], 0, "{source}");
        for row in alone["daily"].as_array().unwrap() {
            assert_eq!(strings(&row["sources"]), [name], "{source}: {row}");
        }
    }

    // The Claude Code session's row shows what the gateway saw of it.
    let sessions = home.usage_json(&["session"]);
    let session = sessions["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["session_id"] == "session-1")
        .unwrap();
    assert_eq!(strings(&session["sources"]), ["claude_code", "gateway"]);
    assert_eq!(session["output_tokens"], shared_output);

    // The table: a Source column, a line per source under a row two sources saw, and a note.
    let (code, table, stderr) = home.usage(&["daily"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        table.lines().next().unwrap().contains("  Source  "),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("Total") && l.contains("claude-code, gateway, probe")),
        "{table}"
    );
    for source in ["claude-code", "gateway", "probe"] {
        assert!(table.contains(&format!("└ {source}")), "{table}");
    }
    assert!(
        table.contains("1 request seen by two sources (Claude Code through the gateway)"),
        "{table}"
    );

    // Blocks estimate a plan's window: Claude Code's alone. Sessions are not the Admin API's.
    let (code, _, stderr) = home.usage(&["blocks", "--source", "gateway"]);
    assert_eq!(code, 64, "{stderr}");
    assert!(stderr.contains("no 5-hour blocks"), "{stderr}");
    let (code, _, stderr) = home.usage(&["session", "--source", "admin-api"]);
    assert_eq!(code, 64, "{stderr}");
    assert!(stderr.contains("no sessions"), "{stderr}");
    runtime.block_on(sim.shutdown());
}

#[test]
fn issue_14_the_admin_apis_figures_come_alone_and_only_with_an_admin_key() {
    use claude_status_engine::admin::{AdminClient, BucketWidth, UsageGroup};
    let runtime = runtime();
    let sim = runtime.block_on(Simulator::new("healthy").start()).unwrap();
    let home = Home::new();
    // Two whole UTC days, well in the past, so every bucket is final.
    let today = Utc::now().date_naive();
    let (since, until) = (today - chrono::Days::new(3), today - chrono::Days::new(2));
    let day_arg = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    let args = [
        "daily",
        "--source",
        "admin-api",
        "--since",
        &day_arg(since),
        "--until",
        &day_arg(until),
    ];
    let without_key = {
        let mut command = home.command();
        command
            .args(["--api-url", &sim.base_url(), "usage"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        finish(command.spawn().unwrap())
    };
    assert_eq!(without_key.0, 64, "{}", without_key.2);
    assert!(
        without_key.2.contains("ANTHROPIC_ADMIN_KEY"),
        "{}",
        without_key.2
    );

    let run = |view: &str, json: bool| {
        let mut command = home.command();
        command
            .env("ANTHROPIC_ADMIN_KEY", ADMIN_KEY)
            .args(["--api-url", &sim.base_url(), "usage", view])
            .args(&args[1..])
            .args(["--timezone", "UTC"])
            .args(json.then_some("--json"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let (code, stdout, stderr) = finish(command.spawn().unwrap());
        assert_eq!(code, 0, "{stderr}");
        stdout
    };
    let report: Value = serde_json::from_str(&run("daily", true)).unwrap();
    let rows = report["daily"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{report}");
    for row in rows {
        assert_eq!(strings(&row["sources"]), ["admin_api"]);
    }
    assert_eq!(strings(&report["totals"]["sources"]), ["admin_api"]);

    // The same figures as the report itself, read here directly.
    let expected = runtime.block_on(async {
        let http = claude_status_engine::http::build_client(&Default::default()).unwrap();
        let key = claude_status_engine::probe::ApiKey::new(ADMIN_KEY).unwrap();
        let start = since.and_hms_opt(0, 0, 0).unwrap().and_utc();
        let end = (until + chrono::Days::new(1))
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc();
        let buckets = AdminClient::new(http, sim.base_url(), key)
            .usage_report(
                start,
                Some(end),
                BucketWidth::Hour,
                &[UsageGroup::Model, UsageGroup::ServiceTier],
            )
            .await
            .unwrap();
        claude_status_engine::admin::usage_records(&buckets)
            .iter()
            .map(|r| (r.tokens.output, r.tokens.total()))
            .fold((0, 0), |(o, t), (ro, rt)| (o + ro, t + rt))
    });
    assert!(expected.0 > 0);
    assert_eq!(report["totals"]["output_tokens"], expected.0);
    assert_eq!(report["totals"]["total_tokens"], expected.1);
    let monthly: Value = serde_json::from_str(&run("monthly", true)).unwrap();
    assert_eq!(monthly["totals"]["total_tokens"], expected.1);

    let table = run("daily", false);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with(&day_arg(since)) && l.contains("admin-api")),
        "{table}"
    );
    assert!(
        table.contains("never added to the other sources'"),
        "{table}"
    );
    runtime.block_on(sim.shutdown());
}
