//! The real `claude-status statusline` as Claude Code runs it: the documented JSON on stdin, one
//! line on stdout, exit 0 whatever the input; its plan readings kept in the store without a
//! service and handed to the service when one runs, whose snapshot then carries them.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use claude_status_simulator::{Clock, Simulator};

mod support;
use support::{finish_child, text, Guard, DEADLINE};

/// The shared private environment, in UTC and without colour, so lines compare as text.
fn command(data_dir: &Path, home: &Path, sim: &str) -> Command {
    let mut command = support::command(data_dir, home, sim);
    command.env("TZ", "UTC").env("NO_COLOR", "1");
    command
}

/// Runs the status line with `input` on stdin, bounded.
fn statusline(mut command: Command, input: &[u8], columns: Option<&str>) -> Output {
    if let Some(columns) = columns {
        command.env("COLUMNS", columns);
    }
    let small = env!("CARGO_BIN_EXE_claude-status-line");
    if command.get_args().next().is_none() && command.get_program() != small {
        command.arg("statusline");
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    finish_child(child)
}

/// The documented status-line JSON (claude-code.md H3) for a subscriber, the windows resetting
/// in 2 hours and in 3 days.
fn documented(five_hour: u32) -> String {
    let now = chrono::Utc::now().timestamp();
    format!(
        r#"{{"hook_event_name":"Status","session_id":"s1","transcript_path":"/tmp/none.jsonl",
        "cwd":"/tmp","model":{{"id":"claude-opus-5-5","display_name":"Opus 5.5"}},
        "version":"2.1.328","cost":{{"total_cost_usd":0.4213,"total_duration_ms":45000}},
        "context_window":{{"context_window_size":200000,"used_percentage":38}},
        "rate_limits":{{"five_hour":{{"used_percentage":{five_hour},"resets_at":{}}},
                        "seven_day":{{"used_percentage":41,"resets_at":{}}}}}}}"#,
        now + 7200,
        now + 3 * 86_400
    )
}

/// `check` with `args`, bounded.
fn check(data_dir: &Path, home: &Path, sim: &str, args: &[&str]) -> Output {
    let mut check = command(data_dir, home, sim);
    finish_child(
        check
            .arg("check")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

#[test]
fn without_a_service_it_prints_what_it_knows_and_keeps_the_readings() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    // Nothing listens at this address: the line must not wait for anything.
    let sim = "http://127.0.0.1:9";
    let out = statusline(
        command(&data_dir, dir.path(), sim),
        documented(62).as_bytes(),
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let line = text(&out.stdout);
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(
        line.starts_with("? Opus 5.5 (health unknown: no service)"),
        "{line}"
    );
    assert!(line.contains("session $0.42"), "{line}");
    assert!(line.contains("5h 62 % ↻"), "{line}");
    assert!(line.contains("week 41 % ↻"), "{line}");
    assert!(line.contains("ctx 38 %"), "{line}");

    // Narrow: two lines, the windows on the second.
    let narrow = statusline(
        command(&data_dir, dir.path(), sim),
        documented(62).as_bytes(),
        Some("60"),
    );
    let lines: Vec<String> = text(&narrow.stdout).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[1].starts_with("5h 62 %"), "{lines:?}");

    // Bad input: a short line, exit 0, no trace; the readings kept by the first run still show.
    for bad in [&b""[..], b"{not json", b"[1]", b"\xff\xfe"] {
        let out = statusline(command(&data_dir, dir.path(), sim), bad, None);
        assert_eq!(out.status.code(), Some(0));
        let line = text(&out.stdout);
        assert_eq!(line.lines().count(), 1, "{line}");
        assert!(line.contains("5h 62 %"), "{line}");
        assert!(
            line.contains("status-line input"),
            "{line} for {:?}",
            text(bad)
        );
        assert!(!text(&out.stderr).contains("panicked"));
    }
    // A wrong segment name is the installer's mistake: said, still exit 0.
    let mut wrong = command(&data_dir, dir.path(), sim);
    wrong.args(["statusline", "--segments", "health,weather"]);
    let out = statusline(wrong, documented(62).as_bytes(), None);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("unknown status-line segment `weather`"));
    // Only the chosen segments.
    let mut chosen = command(&data_dir, dir.path(), sim);
    chosen.args(["statusline", "--segments", "windows"]);
    let out = statusline(chosen, documented(63).as_bytes(), Some("200"));
    let line = text(&out.stdout);
    assert!(line.starts_with("5h 63 % ↻"), "{line}");
}

#[test]
fn with_a_service_it_shows_the_services_verdict_and_hands_it_the_readings() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let sim = runtime
        .block_on(Simulator::new("healthy").clock(Clock::Manual).start())
        .unwrap();
    let url = sim.base_url();
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    std::fs::create_dir_all(&data_dir).unwrap();
    let service = Guard(
        command(&data_dir, dir.path(), &url)
            .args(["service", "run"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let socket = data_dir.join("control.sock");
    let started = Instant::now();
    while !socket.exists() {
        assert!(
            started.elapsed() < DEADLINE,
            "the service never made its socket"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Wait for the service's first verdict, as the tray would.
    let started = Instant::now();
    loop {
        let out = check(&data_dir, dir.path(), &url, &["--json"]);
        let snapshot: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        if snapshot["level"] == "operational" {
            break;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "no verdict: {}",
            text(&out.stdout)
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let out = statusline(
        command(&data_dir, dir.path(), &url),
        documented(85).as_bytes(),
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    let line = text(&out.stdout);
    // No key and no gateway traffic: the verdict is the API-wide one, and it says what it
    // cannot see.
    assert!(line.starts_with("✔ API (overloads not watched)"), "{line}");
    assert!(!line.contains("no service"), "{line}");
    assert!(line.contains("5h 85 %"), "{line}");

    // The small binary that `--install` puts in the settings prints the same line from the same
    // service, and so does each of its options.
    let small = |args: &[&str]| {
        let mut small = command(&data_dir, dir.path(), &url);
        // The same private environment, for the other program.
        let mut small_command = Command::new(env!("CARGO_BIN_EXE_claude-status-line"));
        small_command.args(args);
        small_command.env_clear();
        for (key, value) in small.get_envs() {
            if let Some(value) = value {
                small_command.env(key, value);
            }
        }
        small.arg("statusline").args(args);
        let ours = statusline(small_command, documented(85).as_bytes(), None);
        let whole = statusline(small, documented(85).as_bytes(), None);
        assert_eq!(ours.status.code(), Some(0), "{}", text(&ours.stderr));
        (text(&ours.stdout), text(&whole.stdout))
    };
    let (ours, whole) = small(&[]);
    assert_eq!(ours, whole);
    assert_eq!(ours, line);
    let (ours, whole) = small(&["--segments", "health,windows"]);
    assert_eq!(ours, whole);
    assert!(!ours.contains("ctx"), "{ours}");

    // The service's snapshot now carries the reading, with where it came from.
    let started = Instant::now();
    loop {
        let out = check(&data_dir, dir.path(), &url, &["--json"]);
        let snapshot: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        let plan = &snapshot["usage"]["plan"];
        if plan[0]["window"] == "five_hour" {
            assert_eq!(plan[0]["used_percent"], 85.0, "{plan}");
            assert_eq!(plan[0]["last_reading"]["source"], "status_line", "{plan}");
            assert_eq!(plan[0]["last_reading"]["client_version"], "2.1.328");
            assert_eq!(plan[1]["window"], "seven_day", "{plan}");
            break;
        }
        assert!(started.elapsed() < DEADLINE, "no plan in {snapshot}");
        std::thread::sleep(Duration::from_millis(200));
    }
    // `check` says the same in words, with where the figure comes from.
    let out = check(&data_dir, dir.path(), &url, &[]);
    let said = text(&out.stdout);
    assert!(said.contains("Plan windows:"), "{said}");
    assert!(said.contains("Session (5 h): 85 %, resets "), "{said}");
    assert!(
        said.contains("(Claude Code 2.1.328 status line, "),
        "{said}"
    );
    assert!(said.contains("Week: 41 %, resets "), "{said}");
    drop(service);
    runtime.block_on(sim.shutdown());
}

#[test]
fn install_keeps_other_keys_refuses_another_line_and_uninstalls() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    let settings = config.join("settings.json");
    let original = "{\n  \"model\": \"opus\",\n  \"statusLine\": {\"type\": \"command\", \"command\": \"~/bin/my-line.sh\"},\n  \"env\": {\"A\": \"1\"}\n}\n";
    std::fs::write(&settings, original).unwrap();
    let run = |args: &[&str]| {
        let mut command = command(&dir.path().join("data"), dir.path(), "http://127.0.0.1:9");
        // The first folder of CLAUDE_CONFIG_DIR is the one edited.
        command.env(
            "CLAUDE_CONFIG_DIR",
            format!(
                "{},{}",
                config.display(),
                dir.path().join("other").display()
            ),
        );
        finish_child(
            command
                .arg("statusline")
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        )
    };
    let refused = run(&["--install"]);
    assert_ne!(refused.status.code(), Some(0));
    assert!(
        text(&refused.stderr).contains("my-line.sh"),
        "{}",
        text(&refused.stderr)
    );
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), original);

    let forced = run(&["--install", "--force", "--segments", "health,windows"]);
    assert_eq!(forced.status.code(), Some(0), "{}", text(&forced.stderr));
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&settings).unwrap()).unwrap();
    assert_eq!(value["model"], "opus");
    assert_eq!(value["env"]["A"], "1");
    let installed = value["statusLine"]["command"].as_str().unwrap();
    // Cargo builds the small status-line binary beside the command, so that is installed.
    assert!(
        installed.ends_with("claude-status-line --segments health,windows"),
        "{installed}"
    );
    // The installer names the running executable's real path (through any symlink).
    let small = std::fs::canonicalize(env!("CARGO_BIN_EXE_claude-status-line")).unwrap();
    assert!(
        installed.starts_with(&*small.to_string_lossy()),
        "{installed}"
    );
    // The backup holds the file as it was.
    let backups: Vec<_> = std::fs::read_dir(&config)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("claude-status-backup"))
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!(std::fs::read_to_string(&backups[0]).unwrap(), original);

    let removed = run(&["--uninstall"]);
    assert_eq!(removed.status.code(), Some(0), "{}", text(&removed.stderr));
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&settings).unwrap()).unwrap();
    assert!(value.get("statusLine").is_none(), "{value}");
    assert_eq!(value["model"], "opus");

    // Invalid JSON is refused and left untouched.
    std::fs::write(&settings, "{\"model\": ").unwrap();
    let bad = run(&["--install"]);
    assert_ne!(bad.status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), "{\"model\": ");
}
