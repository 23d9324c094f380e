//! `claude-status alerts` and `watch --alerts`, the real binary: a channel added and its secrets
//! set from the command line (standard input, a 0600 file, the environment), a test alert, a
//! failing channel's redacted error, and an overload storm from the simulator through `watch
//! --alerts` to a webhook receiver, within the verdict's time + 2 s.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use claude_status_simulator::{Clock, Simulator};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_claude-status");
const DEADLINE: Duration = Duration::from_secs(60);
const SECRET_PATH: &str = "hooks/T0PRIVATE/XXPRIVATEXX";

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: Vec<(String, String)>,
    body: String,
    at: DateTime<Utc>,
}

/// A plain HTTP/1.1 receiver on 127.0.0.1: one request per connection, answered 200.
fn receiver() -> (String, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen: Arc<Mutex<Vec<Received>>> = Arc::default();
    let kept = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let mut data = Vec::new();
            let mut buffer = [0u8; 4096];
            let (head, body_start) = loop {
                let Ok(n) = stream.read(&mut buffer) else {
                    break (String::new(), 0);
                };
                if n == 0 {
                    break (String::new(), 0);
                }
                data.extend_from_slice(&buffer[..n]);
                if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                    break (String::from_utf8_lossy(&data[..end]).into_owned(), end + 4);
                }
            };
            let mut lines = head.lines();
            let path = lines
                .next()
                .and_then(|l| l.split(' ').nth(1))
                .unwrap_or_default()
                .to_owned();
            let headers: Vec<(String, String)> = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                .collect();
            let length: usize = headers
                .iter()
                .find(|(k, _)| k == "content-length")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            while data.len() < body_start + length {
                let Ok(n) = stream.read(&mut buffer) else {
                    break;
                };
                if n == 0 {
                    break;
                }
                data.extend_from_slice(&buffer[..n]);
            }
            let end = (body_start + length).min(data.len());
            let body = String::from_utf8_lossy(&data[body_start.min(end)..end]).into_owned();
            kept.lock().unwrap().push(Received {
                path,
                headers,
                body,
                at: Utc::now(),
            });
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
    (base, seen)
}

/// The binary with a private environment: this data directory, no keychain (a D-Bus address
/// that fails at once), the simulator as page and API.
fn cli(data_dir: &Path, sim: &str) -> Command {
    let mut command = Command::new(BIN);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", data_dir)
        .env("CLAUDE_STATUS_DATA_DIR", data_dir)
        .env("CLAUDE_STATUS_STATUS_URL", sim)
        .env("ANTHROPIC_BASE_URL", sim)
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    command
}

#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(command: &mut Command, input: Option<&str>) -> Run {
    if input.is_some() {
        command.stdin(Stdio::piped());
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = input {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            panic!("the command ran longer than {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[test]
fn channels_are_set_up_tested_and_an_overload_storm_reaches_the_webhook() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let sim = runtime
        .block_on(
            Simulator::new("overload-storm")
                .clock(Clock::Manual)
                .start(),
        )
        .unwrap();
    sim.advance(Duration::from_secs(4 * 60));
    let url = sim.base_url();
    let (base, seen) = receiver();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let hook_url = format!("{base}/{SECRET_PATH}");

    let add = run(
        cli(data, &url).args(["alerts", "add", "webhook", "hook", "--name", "Team hook"]),
        None,
    );
    assert_eq!(add.code, Some(0), "{add:#?}");
    assert!(
        add.stdout.contains("CLAUDE_STATUS_ALERT_HOOK_URL"),
        "{add:#?}"
    );
    // A bad channel is refused with its field named, and nothing is stored.
    let bad = run(
        cli(data, &url).args(["alerts", "add", "slack", "Bad Id"]),
        None,
    );
    assert_eq!(bad.code, Some(64), "{bad:#?}");
    assert!(bad.stderr.contains("alert_channels[1].id"), "{bad:#?}");
    // A channel without traffic-spike alerts (issue 17): its filter says so, and it goes again.
    let quiet = run(
        cli(data, &url).args(["alerts", "add", "ntfy", "quiet", "--no-traffic"]),
        None,
    );
    assert_eq!(quiet.code, Some(0), "{quiet:#?}");
    let listed = run(cli(data, &url).args(["alerts", "list"]), None);
    assert!(
        listed.stdout.contains("plan on, traffic off"),
        "{listed:#?}"
    );
    let removed = run(cli(data, &url).args(["alerts", "remove", "quiet"]), None);
    assert_eq!(removed.code, Some(0), "{removed:#?}");

    // Without a keychain the signing secret goes to the 0600 file; the URL comes from the
    // environment.
    let secret = run(
        cli(data, &url).args(["alerts", "secret", "hook", "--auth"]),
        Some("signing-s3cret\n"),
    );
    assert_eq!(secret.code, Some(0), "{secret:#?}");
    assert!(secret.stdout.contains("stored (file)"), "{secret:#?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("alert-secrets.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let settings = std::fs::read_to_string(data.join("settings.json")).unwrap();
    assert!(
        settings.contains("\"hook\"") && !settings.contains("s3cret"),
        "{settings}"
    );

    let list = run(
        cli(data, &url)
            .env("CLAUDE_STATUS_ALERT_HOOK_URL", &hook_url)
            .args(["alerts", "list", "--json"]),
        None,
    );
    assert_eq!(list.code, Some(0), "{list:#?}");
    let report: Value = serde_json::from_str(&list.stdout).unwrap();
    assert_eq!(report["channels"][0]["target"], "environment");
    assert_eq!(report["channels"][0]["auth"], "file");
    assert!(
        !list.stdout.contains("PRIVATE") && !list.stdout.contains("s3cret"),
        "{list:#?}"
    );

    let test = run(
        cli(data, &url)
            .env("CLAUDE_STATUS_ALERT_HOOK_URL", &hook_url)
            .args(["alerts", "test"]),
        None,
    );
    assert_eq!(test.code, Some(0), "{test:#?}");
    assert!(
        test.stdout.contains("✔ hook: delivered (HTTP 200)"),
        "{test:#?}"
    );
    let got = seen.lock().unwrap().clone();
    assert_eq!(got[0].path, format!("/{SECRET_PATH}"));
    let payload: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(payload["version"], 1);
    assert_eq!(payload["test"], true);
    assert!(got[0]
        .headers
        .iter()
        .any(|(k, v)| k == "x-claude-status-signature" && v.starts_with("sha256=")));

    // A receiver that is not there: exit 1, and the error names the host, never the path.
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        format!("http://127.0.0.1:{port}/{SECRET_PATH}")
    };
    let failed = run(
        cli(data, &url)
            .env("CLAUDE_STATUS_ALERT_HOOK_URL", &closed)
            .args(["alerts", "test"]),
        None,
    );
    assert_eq!(failed.code, Some(1), "{failed:#?}");
    assert!(
        failed.stdout.contains("✖ hook: http://127.0.0.1:"),
        "{failed:#?}"
    );
    assert!(
        !failed.stdout.contains("PRIVATE") && !failed.stderr.contains("PRIVATE"),
        "{failed:#?}"
    );

    // The storm: `watch --alerts` with a key (so the per-model probe sees the overload) sends
    // the overload to the webhook. The figure: the receiver's clock minus the verdict's time in
    // watch's own JSON line.
    seen.lock().unwrap().clear();
    let watch = run(
        cli(data, &url)
            .env("CLAUDE_STATUS_ALERT_HOOK_URL", &hook_url)
            .env("ANTHROPIC_API_KEY", "sk-ant-test-storm")
            .env("CLAUDE_STATUS_LOG", "info")
            .args([
                "watch",
                "--alerts",
                "--json-lines",
                "--interval",
                "1s",
                "--for",
                "12s",
                "--no-usage",
            ]),
        None,
    );
    assert!(matches!(watch.code, Some(0..=2)), "{watch:#?}");
    assert!(
        watch.stderr.contains("alerts go to 1 channel(s)"),
        "{}",
        watch.stderr
    );
    let verdict_at: DateTime<Utc> = watch
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["event"]["event"] == "level_changed" && v["event"]["to"] == "overloaded")
        .map(|v| v["event"]["at"].as_str().unwrap().parse().unwrap())
        .unwrap_or_else(|| panic!("no overloaded verdict: {watch:#?}"));
    let got = seen.lock().unwrap().clone();
    let alert = got
        .iter()
        .find(|r| {
            serde_json::from_str::<Value>(&r.body)
                .is_ok_and(|p| p["kind"] == "trouble" && p["level"] == "overloaded")
        })
        .unwrap_or_else(|| {
            panic!(
                "no overload alert reached the webhook: {got:#?}\n{}",
                watch.stderr
            )
        });
    let delay = alert.at - verdict_at;
    println!(
        "watch --alerts: the overload alert reached the webhook {} ms after the verdict",
        delay.num_milliseconds()
    );
    assert!(delay <= chrono::Duration::seconds(5), "{delay:?}");
    assert!(!watch.stderr.contains("PRIVATE") && !watch.stdout.contains("PRIVATE"));
    runtime.block_on(sim.shutdown());
}
