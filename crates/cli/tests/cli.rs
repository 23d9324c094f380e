//! The real `claude-status` binary against simulators hosted by the test: exit codes, the JSON contract, watch, incidents, history, usage errors, and that the API key never leaks.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

mod support;

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
/// What every front end says when nothing can see an overload.
const NOT_WATCHED: &str =
    "overloads are not watched: add an API key, or send your traffic through the gateway";
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
        "CLAUDE_STATUS_MODELS",
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

/// The fields every entry of `models` has, as issue 11 names them and a few more.
#[track_caller]
fn assert_model_keys(model: &Value) {
    assert_keys(
        model,
        &[
            "model",
            "class",
            "display_name",
            "level",
            "reasons",
            "followed",
            "relied_on",
            "pinned",
            "share_7d",
            "last_probe",
            "own_traffic",
            "incidents",
        ],
        "a model",
    );
}

/// The entry of `models` for `id`.
#[track_caller]
fn model_entry<'a>(snapshot: &'a Value, id: &str) -> &'a Value {
    snapshot["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["model"] == id)
        .unwrap_or_else(|| panic!("no {id} in {:#}", snapshot["models"]))
}

/// Moves a manual simulator's story on through its control API, as a user would with curl.
fn advance_story(base_url: &str, seconds: u64) {
    use std::io::Write as _;
    let address = base_url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "POST /_sim/advance?seconds={seconds} HTTP/1.1\r\nHost: {address}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
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
        // Overloads happen on `POST /v1/messages` only: without a key nothing sees them, and the
        // check says so instead of claiming to watch.
        (
            "overload storm, no key",
            sims.start("overload-storm", Duration::from_secs(240)),
            None,
            &[],
            0,
        ),
        (
            "overload storm",
            sims.start("overload-storm", Duration::from_secs(240)),
            Some(SECRET),
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
    for (case, _, run) in &results {
        let coverage = &json(run)["coverage"];
        let watched = coverage["overloads_watched"].as_bool().unwrap();
        // With a key the per-model probe runs by default; without one the user is told.
        let keyed = cases
            .iter()
            .any(|(c, _, key, _, _)| c == case && key.is_some());
        assert_eq!(watched, keyed, "{case}: {coverage:#}");
        if !keyed {
            assert_eq!(coverage["warning"], NOT_WATCHED, "{case}: {coverage:#}");
            assert_eq!(
                run.stderr.matches(NOT_WATCHED).count(),
                1,
                "{case}: {}",
                run.stderr
            );
        }
    }
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
        &[
            "level",
            "reasons",
            "status_page",
            "probe",
            "models",
            "subject",
            "hits_you",
            "coverage",
        ],
        "the snapshot",
    );
    assert_keys(&snapshot["hits_you"], &["answer", "text"], "hits_you");
    assert_keys(
        &snapshot["coverage"],
        &["overloads_watched", "watched_by", "warning"],
        "coverage",
    );
    // With a key and no traffic, the followed model is the probe's default one.
    let models = snapshot["models"].as_array().unwrap();
    let haiku = models
        .iter()
        .find(|m| m["model"] == "claude-haiku-4-5")
        .unwrap_or_else(|| panic!("{models:#?}"));
    assert_model_keys(haiku);
    assert_eq!(haiku["last_probe"]["outcome"], "ok", "{haiku:#}");
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
        // The incident names Opus 4.8, a model this user does not use: its name heads the
        // verdict, and it adds "degraded" at most (issue 11).
        ("incident", 150, "Claude Opus 4.8 degraded", 1),
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

    let run = self::run(cli(dir.path(), &closed, &closed, None).args(["check", "--model", ""]));
    assert_eq!(run.code, Some(64), "{run:#?}");
    assert!(run.stderr.contains("--model"), "{}", run.stderr);

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
    for path in support::files_under(dir.path()) {
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

/// Runs each command on its own thread (a failing probe is re-checked seconds apart) and returns
/// the runs in order.
fn run_side_by_side(commands: Vec<Command>) -> Vec<Run> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = commands
            .into_iter()
            .map(|mut command| scope.spawn(move || run(&mut command)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

#[test]
fn issue_11_check_follows_each_pinned_model_and_answers_for_one() {
    let sims = Sims::new();
    let url = sims.start("model-overload", Duration::ZERO);
    // The peak of the storm on Opus 5.5: 100 % of its messages fail from 3 min to 9 min, and the
    // status page names it only at 7 min.
    advance_story(&url, 5 * 60);
    let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let both = ["--model", "claude-opus-5-5", "--model", "claude-sonnet-5-5"];
    let runs = run_side_by_side(vec![
        {
            let mut c = cli(dirs[0].path(), &url, &url, Some(SECRET));
            c.args(["check", "--json"]).args(both);
            c
        },
        {
            let mut c = cli(dirs[1].path(), &url, &url, Some(SECRET));
            c.args(both).arg("check");
            c
        },
        {
            let mut c = cli(dirs[2].path(), &url, &url, Some(SECRET));
            c.args(["check", "--json", "--model", "claude-sonnet-5-5"]);
            c
        },
        {
            let mut c = cli(dirs[3].path(), &url, &url, Some(SECRET));
            c.args(["check", "--model", "claude-opus-5-5"]);
            c
        },
    ]);

    // Both pinned: both followed and probed, Opus overloaded, Sonnet fine, exit 2.
    let run = &runs[0];
    assert_eq!(run.code, Some(2), "{run:#?}");
    let snapshot = json(run);
    assert_eq!(snapshot["level"], "overloaded", "{snapshot:#}");
    assert_eq!(snapshot["subject"], "claude-opus-5-5");
    assert_eq!(snapshot["hits_you"]["answer"], "yes");
    assert_eq!(snapshot["coverage"]["overloads_watched"], true);
    assert!(snapshot["coverage"]["warning"].is_null());
    let opus = model_entry(&snapshot, "claude-opus-5-5");
    let sonnet = model_entry(&snapshot, "claude-sonnet-5-5");
    for model in [opus, sonnet] {
        assert_model_keys(model);
        assert_eq!(model["pinned"], true, "{model:#}");
        assert_eq!(model["followed"], true, "{model:#}");
    }
    assert_eq!(opus["class"], "opus-5-5");
    assert_eq!(opus["level"], "overloaded", "{opus:#}");
    assert_eq!(opus["last_probe"]["outcome"], "overloaded", "{opus:#}");
    assert!(!opus["reasons"].as_array().unwrap().is_empty());
    assert_eq!(sonnet["level"], "operational", "{sonnet:#}");
    assert_eq!(sonnet["last_probe"]["outcome"], "ok", "{sonnet:#}");
    assert!(sonnet["own_traffic"].is_null(), "no traffic was sent");
    // The cost is said per model for one round, on stderr only.
    assert!(
        run.stderr
            .contains("per-model probe on: claude-opus-5-5 (about $")
            && run.stderr.contains("claude-sonnet-5-5 (about $")
            && run.stderr.contains("turn it off with --no-ttft"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("a day"), "{}", run.stderr);
    assert!(!run.stderr.contains(NOT_WATCHED), "{}", run.stderr);

    // The human report names the model in its headline and lists both.
    let run = &runs[1];
    assert_eq!(run.code, Some(2), "{run:#?}");
    let mut lines = run.stdout.lines();
    let headline = lines.next().unwrap();
    assert!(
        headline.starts_with("◆ Claude Opus 5.5 overloaded — "),
        "{headline:?}"
    );
    assert!(
        run.stdout
            .contains("Does it hit you? Yes: Opus 5.5 is overloaded")
            && run.stdout.contains("Sonnet 5.5 answers normally."),
        "{}",
        run.stdout
    );
    let models: Vec<&str> = run
        .stdout
        .lines()
        .skip_while(|l| *l != "Models:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .collect();
    assert_eq!(models.len(), 2, "{}", run.stdout);
    assert!(
        models[0].starts_with("  ◆ Opus 5.5 (pinned): overloaded, "),
        "{models:?}"
    );
    assert!(
        models[1].starts_with("  ✔ Sonnet 5.5 (pinned): operational, "),
        "{models:?}"
    );
    assert!(!run.stdout.contains("Warning:"), "{}", run.stdout);

    // One model: the answer is that model's, while Opus keeps failing beside it.
    let run = &runs[2];
    assert_eq!(run.code, Some(0), "{run:#?}");
    let snapshot = json(run);
    assert_eq!(snapshot["level"], "operational", "{snapshot:#}");
    assert_eq!(
        model_entry(&snapshot, "claude-sonnet-5-5")["level"],
        "operational"
    );
    assert_eq!(snapshot["hits_you"]["answer"], "no");
    assert!(
        snapshot["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("Sonnet 5.5: operational"),
        "{snapshot:#}"
    );
    let run = &runs[3];
    assert_eq!(run.code, Some(2), "{run:#?}");
    assert!(
        run.stdout.starts_with("◆ Claude Opus 5.5 overloaded — "),
        "{}",
        run.stdout
    );
}

#[test]
fn issue_11_without_a_key_overloads_are_not_watched_and_it_says_so() {
    let sims = Sims::new();
    let url = sims.start("model-overload", Duration::ZERO);
    advance_story(&url, 5 * 60);
    let dir = tempfile::tempdir().unwrap();
    let runs = run_side_by_side(vec![
        {
            let mut c = cli(dir.path(), &url, &url, None);
            c.args(["check", "--json"]);
            c
        },
        {
            let mut c = cli(dir.path(), &url, &url, None);
            // `--ttft` is accepted and changes nothing: without a key there is no probe to run.
            c.args(["--ttft", "check"]);
            c
        },
        {
            let mut c = cli(dir.path(), &url, &url, Some(SECRET));
            c.args([
                "--no-ttft",
                "check",
                "--json",
                "--model",
                "claude-opus-5-5,claude-sonnet-5-5",
            ]);
            c
        },
    ]);

    let run = &runs[0];
    assert_eq!(run.code, Some(0), "{run:#?}");
    let snapshot = json(run);
    assert_eq!(snapshot["level"], "operational", "{snapshot:#}");
    assert_eq!(snapshot["coverage"]["overloads_watched"], false);
    assert_eq!(snapshot["coverage"]["warning"], NOT_WATCHED);
    assert!(
        snapshot["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == NOT_WATCHED),
        "{snapshot:#}"
    );
    // Nothing probed a message: the default model is listed but cannot be told.
    let haiku = model_entry(&snapshot, "claude-haiku-4-5");
    assert!(haiku["last_probe"].is_null(), "{haiku:#}");
    assert_ne!(haiku["level"], "operational", "{haiku:#}");
    assert_eq!(run.stderr.matches(NOT_WATCHED).count(), 1, "{}", run.stderr);

    let run = &runs[1];
    assert_eq!(run.code, Some(0), "{run:#?}");
    assert!(
        run.stdout.contains(&format!("Warning: {NOT_WATCHED}.")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("Does it hit you? No, as far as we can see"),
        "{}",
        run.stdout
    );
    assert_eq!(run.stderr.matches(NOT_WATCHED).count(), 1, "{}", run.stderr);

    // A key with the probe turned off: no message is sent, and the warning says why.
    let run = &runs[2];
    assert_eq!(run.code, Some(0), "{run:#?}");
    let snapshot = json(run);
    assert_eq!(snapshot["coverage"]["warning"], NOT_WATCHED);
    assert!(snapshot["probe"]["streaming"].is_null(), "{snapshot:#}");
    for id in ["claude-opus-5-5", "claude-sonnet-5-5"] {
        assert!(model_entry(&snapshot, id)["last_probe"].is_null());
    }
    assert!(
        run.stderr.contains(&format!(
            "warning: {NOT_WATCHED} (the per-model probe is off: --no-ttft)"
        )),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("per-model probe on"), "{}", run.stderr);
}

#[test]
fn issue_11_ttft_is_accepted_and_the_probe_runs_with_a_key_anyway() {
    let sims = Sims::new();
    let url = sims.start("healthy", Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    let runs = run_side_by_side(vec![
        {
            let mut c = cli(dir.path(), &url, &url, Some(TEST_KEY));
            c.args(["--ttft", "check", "--json"]);
            c
        },
        {
            let mut c = cli(dir.path(), &url, &url, Some(TEST_KEY));
            c.args(["check", "--json"]);
            c
        },
    ]);
    for run in &runs {
        assert_eq!(run.code, Some(0), "{run:#?}");
        let snapshot = json(run);
        assert_eq!(
            snapshot["probe"]["streaming"]["outcome"], "ok",
            "{snapshot:#}"
        );
        let haiku = model_entry(&snapshot, "claude-haiku-4-5");
        assert_eq!(haiku["level"], "operational", "{haiku:#}");
        assert_eq!(haiku["last_probe"]["outcome"], "ok", "{haiku:#}");
        assert_eq!(snapshot["coverage"]["overloads_watched"], true);
        assert!(
            run.stderr.contains(
                "claude-status: per-model probe on: claude-haiku-4-5 (about $0.000013 a probe)"
            ),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn issue_11_a_bad_model_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let closed = closed_port_url();
    for bad in [
        &["check", "--model", ""][..],
        &["--model", "  ", "check"],
        &["check", "--model", "claude opus"],
        &["check", "--default-model", ""],
    ] {
        let run = run(cli(dir.path(), &closed, &closed, Some(TEST_KEY)).args(bad));
        assert_eq!(run.code, Some(64), "{bad:?}: {run:#?}");
        assert!(run.stdout.is_empty(), "{bad:?}: {run:#?}");
        assert!(
            run.stderr.contains("model") && run.stderr.contains("example: --model claude-opus-5-5"),
            "{bad:?}: {}",
            run.stderr
        );
    }
}

/// Reads a running `watch`'s stdout line by line until `wanted` matches one; returns the lines.
fn read_until(
    lines: &mut impl Iterator<Item = std::io::Result<String>>,
    seen: &mut Vec<String>,
    wanted: impl Fn(&str) -> bool,
) -> bool {
    for line in lines.by_ref() {
        let line = line.unwrap();
        let found = wanted(&line);
        seen.push(line);
        if found {
            return true;
        }
    }
    false
}

#[test]
fn issue_11_watch_names_the_overloaded_model_and_its_lead_time() {
    use std::io::BufRead as _;
    let sims = Sims::new();
    let url = sims.start("model-overload", Duration::ZERO);
    advance_story(&url, 5 * 60);
    let dir = tempfile::tempdir().unwrap();
    let mut child = cli(dir.path(), &url, &url, Some(SECRET))
        .args(["--model", "claude-opus-5-5", "--model", "claude-sonnet-5-5"])
        .args(["watch", "--interval", "1s", "--for", "30s"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).unwrap();
        text
    });
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    // The level change names the model, in the words of its notification.
    let overloaded = read_until(&mut lines, &mut seen, |l| {
        l.contains("◆ Claude Opus 5.5 overloaded — ")
    });
    // Then the status page admits it (7 min into the story): our lead is on that model.
    if overloaded {
        advance_story(&url, 150);
    }
    let lead = overloaded
        && read_until(&mut lines, &mut seen, |l| {
            l.contains("before the status page on Opus 5.5: Elevated errors on Claude Opus 5.5")
        });
    let _ = child.kill();
    let _ = child.wait();
    let stderr = errors.join().unwrap();
    assert!(overloaded, "no overloaded line: {seen:#?}\n{stderr}");
    assert!(lead, "no lead time: {seen:#?}\n{stderr}");
    assert!(
        seen.iter()
            .any(|l| l.contains("notify: Claude Opus 5.5 overloaded")),
        "{seen:#?}"
    );
    assert!(
        stderr.contains("per-model probe on: claude-opus-5-5 every 1s")
            && stderr.contains("claude-sonnet-5-5 every 5s (about $"),
        "{stderr}"
    );

    // The lead is stored per model too; `history` cannot show it here, because the manual
    // clock puts the page's report minutes ahead of the wall clock that bounds its window
    // (render.rs tests the per-model line).
}

#[test]
fn issue_11_watch_json_lines_carry_the_models() {
    let sims = Sims::new();
    let url = sims.start("healthy", Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    let run = run(cli(dir.path(), &url, &url, Some(TEST_KEY)).args([
        "--model",
        "claude-sonnet-4-6",
        "watch",
        "--json-lines",
        "--interval",
        "60s",
        "--for",
        "3s",
    ]));
    assert_eq!(run.code, Some(0), "{run:#?}");
    let last: Value = serde_json::from_str(run.stdout.lines().last().unwrap()).unwrap();
    assert_keys(
        &last,
        &["models", "subject", "hits_you", "coverage"],
        "a watch line",
    );
    let sonnet = model_entry(&last, "claude-sonnet-4-6");
    assert_model_keys(sonnet);
    assert_eq!(sonnet["pinned"], true);
    // The per-day cost at the default schedule: one model, every minute.
    assert!(
        run.stderr
            .contains("per-model probe on: claude-sonnet-4-6 every 1m (about $"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("a day)"), "{}", run.stderr);
}
