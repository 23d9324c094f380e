//! The real `claude-status` binary against simulators hosted by the test: exit codes, the JSON contract, watch, incidents, history, usage errors, and that the API key never leaks.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use claude_status_simulator::{Clock, SimHandle, Simulator};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_claude-status");
/// A key that must never appear in any output or file.
const SECRET: &str = "sk-ant-api03-SECRETSECRETSECRET";
/// A key the simulator accepts.
const TEST_KEY: &str = "sk-ant-test";
/// No run of the binary may take longer than this.
const DEADLINE: Duration = Duration::from_secs(40);

/// Simulators served by a runtime of their own while the test thread runs the binary.
struct Sims {
    runtime: tokio::runtime::Runtime,
    handles: Mutex<Vec<SimHandle>>,
}

impl Sims {
    fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        Self {
            runtime,
            handles: Mutex::new(Vec::new()),
        }
    }

    /// Starts `scenario` on a manual clock, `advance` into its story; returns its base URL.
    fn start(&self, scenario: &str, advance: Duration) -> String {
        let handle = self
            .runtime
            .block_on(Simulator::new(scenario).clock(Clock::Manual).start())
            .unwrap();
        handle.advance(advance);
        let url = handle.base_url();
        self.handles.lock().unwrap().push(handle);
        url
    }
}

fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// The binary with a clean environment, pointed at `status_url` and `api_url`.
fn cli(data_dir: &Path, status_url: &str, api_url: &str, key: Option<&str>) -> Command {
    let mut command = Command::new(BIN);
    command
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--status-url", status_url, "--api-url", api_url])
        .args(["--http-timeout", "5s"]);
    for variable in [
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_BASE_URL",
        "CLAUDE_STATUS_STATUS_URL",
        "CLAUDE_STATUS_FALLBACK_URL",
        "CLAUDE_STATUS_DATA_DIR",
        "CLAUDE_STATUS_COMPONENTS",
        "CLAUDE_STATUS_LOG",
    ] {
        command.env_remove(variable);
    }
    if let Some(key) = key {
        command.env("ANTHROPIC_API_KEY", key);
    }
    command.env("NO_COLOR", "1");
    command
}

#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs a command to its end, killing it (and failing) after `DEADLINE`.
fn run(command: &mut Command) -> Run {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).unwrap();
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).unwrap();
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command:?} ran longer than {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code: status.code(),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {run:#?}"))
}

#[track_caller]
fn assert_keys(value: &Value, keys: &[&str], what: &str) {
    let object = value
        .as_object()
        .unwrap_or_else(|| panic!("{what} is not an object: {value}"));
    for key in keys {
        assert!(object.contains_key(*key), "{what} lacks `{key}`: {value:#}");
    }
}

#[test]
fn check_exit_codes_follow_the_verdict() {
    let sims = Sims::new();
    let closed = closed_port_url();
    // (case, status page and API URL, key, extra args, expected exit code)
    type Case<'a> = (&'a str, String, Option<&'a str>, &'a [&'a str], i32);
    let cases: Vec<Case> = vec![
        (
            "healthy",
            sims.start("healthy", Duration::ZERO),
            None,
            &[],
            0,
        ),
        (
            "operational with a key",
            sims.start("operational", Duration::ZERO),
            Some(TEST_KEY),
            &[],
            0,
        ),
        (
            "incident, degraded",
            sims.start("incident", Duration::from_secs(150)),
            None,
            &[],
            1,
        ),
        (
            "maintenance in progress",
            sims.start("maintenance", Duration::from_secs(180)),
            None,
            &[],
            1,
        ),
        (
            "API 500s",
            sims.start("outage", Duration::ZERO),
            Some(TEST_KEY),
            &[],
            2,
        ),
        (
            "overload storm",
            sims.start("overload-storm", Duration::from_secs(240)),
            Some(TEST_KEY),
            &[],
            2,
        ),
        ("nothing listening", closed.clone(), Some(TEST_KEY), &[], 3),
        (
            "garbage status page, no probe",
            sims.start("garbage-status", Duration::ZERO),
            None,
            &["--no-probe"],
            3,
        ),
    ];
    // A failing API is confirmed by re-checks seconds apart, so the cases run side by side.
    let results: Vec<(String, i32, Run)> = std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .iter()
            .map(|(case, url, key, extra, expected)| {
                scope.spawn(move || {
                    let dir = tempfile::tempdir().unwrap();
                    let run = run(cli(dir.path(), url, url, *key)
                        .args(*extra)
                        .args(["check", "--json"]));
                    ((*case).to_owned(), *expected, run)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (case, expected, run) in &results {
        assert_eq!(run.code, Some(*expected), "{case}: {run:#?}");
        let snapshot = json(run);
        let level = snapshot["level"].as_str().unwrap();
        let expected_levels: &[&str] = match expected {
            0 => &["operational"],
            1 => &["degraded", "maintenance"],
            2 => &["outage", "overloaded"],
            _ => &["offline", "unknown"],
        };
        assert!(expected_levels.contains(&level), "{case}: level {level}");
    }
    let level_of = |case: &str| {
        let (_, _, run) = results.iter().find(|(c, _, _)| c == case).unwrap();
        json(run)["level"].as_str().unwrap().to_owned()
    };
    assert_eq!(level_of("maintenance in progress"), "maintenance");
    assert_eq!(level_of("overload storm"), "overloaded");
    assert_eq!(level_of("API 500s"), "outage");
    assert_eq!(level_of("nothing listening"), "offline");
}

#[test]
fn check_json_keeps_its_contract() {
    let sims = Sims::new();
    let url = sims.start("incident", Duration::from_secs(150));
    let dir = tempfile::tempdir().unwrap();
    let run = run(cli(dir.path(), &url, &url, Some(TEST_KEY)).args(["check", "--json"]));
    assert_eq!(run.code, Some(1), "{run:#?}");
    let snapshot = json(&run);
    assert_keys(
        &snapshot,
        &["level", "reasons", "status_page", "probe"],
        "the snapshot",
    );
    assert_eq!(snapshot["level"], "degraded");
    assert!(!snapshot["reasons"].as_array().unwrap().is_empty());

    let page = &snapshot["status_page"];
    assert_keys(
        page,
        &[
            "indicator",
            "description",
            "page",
            "components",
            "incidents",
            "maintenances",
        ],
        "status_page",
    );
    assert_keys(
        &page["page"],
        &["name", "url", "updated_at"],
        "status_page.page",
    );
    assert_eq!(page["page"]["name"], "Claude");
    let components = page["components"].as_array().unwrap();
    assert!(!components.is_empty());
    for component in components {
        assert_keys(component, &["id", "name", "status", "group"], "a component");
    }
    let incidents = page["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1, "{page:#}");
    let incident = &incidents[0];
    assert_keys(
        incident,
        &[
            "id",
            "name",
            "status",
            "impact",
            "shortlink",
            "created_at",
            "updated_at",
            "updates",
        ],
        "an incident",
    );
    assert_eq!(incident["id"], "8mz1q7v3k2xd");
    assert_eq!(incident["status"], "investigating");
    let updates = incident["updates"].as_array().unwrap();
    assert!(!updates.is_empty());
    for update in updates {
        assert_keys(update, &["status", "body", "created_at"], "an update");
    }
    assert!(page["maintenances"].is_array());

    let probe = &snapshot["probe"];
    assert_keys(
        probe,
        &[
            "outcome",
            "http_status",
            "error_type",
            "latency_ms",
            "ttft_ms",
            "request_id",
            "ratelimit",
        ],
        "probe",
    );
    assert_eq!(probe["outcome"], "ok");
    assert_eq!(probe["http_status"], 200);
    assert!(probe["request_id"].as_str().unwrap().starts_with("req_"));
    assert!(probe["ratelimit"]["requests"]["limit"].is_u64());

    // A maintenance fills the same list with its own fields.
    let url = sims.start("maintenance", Duration::from_secs(180));
    let run = self::run(cli(dir.path(), &url, &url, None).args(["--no-probe", "check", "--json"]));
    let snapshot = json(&run);
    assert_eq!(snapshot["level"], "maintenance");
    assert!(snapshot["probe"].is_null());
    let maintenances = snapshot["status_page"]["maintenances"].as_array().unwrap();
    assert_eq!(maintenances.len(), 1, "{snapshot:#}");
    assert_keys(
        &maintenances[0],
        &["id", "name", "status", "scheduled_for", "scheduled_until"],
        "a maintenance",
    );
}

#[test]
fn human_check_starts_with_the_verdict() {
    let sims = Sims::new();
    let dir = tempfile::tempdir().unwrap();
    for (scenario, advance, headline, code) in [
        ("healthy", 0, "Claude API operational", 0),
        ("incident", 150, "Claude API degraded", 1),
    ] {
        let url = sims.start(scenario, Duration::from_secs(advance));
        let run = run(cli(dir.path(), &url, &url, None).arg("check"));
        assert_eq!(run.code, Some(code), "{run:#?}");
        let first = run.stdout.lines().next().unwrap_or_default();
        assert!(first.contains(headline), "{scenario}: {first:?}");
        assert!(!run.stdout.contains('\u{1b}'), "NO_COLOR is honoured");
    }
}

#[test]
fn watch_prints_json_lines_and_stops_by_itself_then_history_counts_the_probes() {
    let sims = Sims::new();
    let url = sims.start("healthy", Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let run = run(cli(dir.path(), &url, &url, None).args([
        "watch",
        "--json-lines",
        "--interval",
        "1s",
        "--for",
        "4s",
    ]));
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_eq!(run.code, Some(0), "{run:#?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(!lines.is_empty(), "{run:#?}");
    for line in &lines {
        let value: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {line}"));
        assert_keys(&value, &["level", "event", "at"], "a watch line");
        assert!(value["event"]["event"].is_string(), "{value:#}");
    }
    // A 1 s interval is allowed but impolite, and the user is told.
    assert!(run.stderr.contains("warning"), "{}", run.stderr);

    let history =
        self::run(cli(dir.path(), &url, &url, None).args(["history", "--json", "--window", "1h"]));
    assert_eq!(history.code, Some(0), "{history:#?}");
    let report = json(&history);
    assert!(report["probes"].as_u64().unwrap() > 0, "{report:#}");
}

#[test]
fn incidents_lists_incidents_with_their_updates() {
    let sims = Sims::new();
    let url = sims.start("incident", Duration::from_secs(9 * 60));
    let dir = tempfile::tempdir().unwrap();
    let run = run(cli(dir.path(), &url, &url, None).args(["incidents", "--json", "--limit", "5"]));
    assert_eq!(run.code, Some(0), "{run:#?}");
    let output = json(&run);
    assert!(output["error"].is_null(), "{output:#}");
    let incidents = output["incidents"].as_array().unwrap();
    assert!((1..=5).contains(&incidents.len()), "{output:#}");
    assert!(incidents.iter().any(|i| i["id"] == "8mz1q7v3k2xd"));
    for incident in incidents {
        assert!(
            !incident["updates"].as_array().unwrap().is_empty(),
            "{incident:#}"
        );
    }
}

#[test]
fn usage_errors_exit_64_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let closed = closed_port_url();

    let run = run(cli(dir.path(), &closed, &closed, None).args(["watch", "--interval", "0s"]));
    assert_eq!(run.code, Some(64), "{run:#?}");
    assert!(run.stderr.contains("interval"), "{}", run.stderr);
    assert!(run.stderr.contains("minimum"), "{}", run.stderr);
    assert!(run.stdout.is_empty());

    let run = self::run(cli(dir.path(), &closed, &closed, None).args(["check", "--ttft"]));
    assert_eq!(run.code, Some(64), "{run:#?}");
    assert!(run.stderr.contains("API key"), "{}", run.stderr);
    assert!(run.stderr.contains("ANTHROPIC_API_KEY"), "{}", run.stderr);

    let run = self::run(cli(dir.path(), &closed, &closed, None).args(["check", "--bogus"]));
    assert_eq!(run.code, Some(64), "{run:#?}");
}

#[test]
fn the_api_key_never_leaks() {
    let sims = Sims::new();
    let url = sims.start("healthy", Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    let check = run(cli(dir.path(), &url, &url, Some(SECRET)).args(["--ttft", "check", "--json"]));
    assert_eq!(check.code, Some(0), "{check:#?}");
    assert_eq!(json(&check)["probe"]["streaming"]["outcome"], "ok");
    let human = run(cli(dir.path(), &url, &url, Some(SECRET)).args(["--ttft", "check"]));
    assert_eq!(human.code, Some(0), "{human:#?}");
    let watch = run(cli(dir.path(), &url, &url, Some(SECRET))
        .env("CLAUDE_STATUS_LOG", "trace")
        .args([
            "--ttft",
            "watch",
            "--json-lines",
            "--interval",
            "1s",
            "--for",
            "3s",
        ]));
    assert_eq!(watch.code, Some(0), "{watch:#?}");
    assert!(!watch.stdout.is_empty());

    let needle = "SECRETSECRET";
    for run in [&check, &human, &watch] {
        assert!(!run.stdout.contains(needle), "stdout leaks the key");
        assert!(!run.stderr.contains(needle), "stderr leaks the key");
    }
    let mut files = 0;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        files += 1;
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{} contains the key",
            path.display()
        );
    }
    assert!(files >= 1, "the database was written");
}

#[test]
fn incidents_without_a_page_or_history_exits_3_and_history_starts_empty() {
    let dir = tempfile::tempdir().unwrap();
    let closed = closed_port_url();
    let run = run(cli(dir.path(), &closed, &closed, None).args(["incidents", "--json"]));
    assert_eq!(run.code, Some(3), "{run:#?}");
    let output = json(&run);
    assert!(output["incidents"].as_array().unwrap().is_empty());
    assert!(
        output["error"].as_str().unwrap().contains("refused"),
        "{output:#}"
    );

    let run = self::run(cli(dir.path(), &closed, &closed, None).args(["history", "--json"]));
    assert_eq!(run.code, Some(0), "{run:#?}");
    assert_eq!(json(&run)["probes"], 0);
}
