//! The `claude-status-sim` binary: the address line, `--list`, and driving it from another process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_claude-status-sim");

/// Kills the child when the test ends, even on a failed assertion.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

#[test]
fn list_prints_the_scenarios() {
    let output = Command::new(BIN).arg("--list").output().expect("runs");
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    assert!(text.lines().any(|line| line.starts_with("overload-storm ")));
    assert!(text.lines().any(|line| line.starts_with("demo ")));
    // Issue 11: the storms say where they are, so --list does not promise a failing /v1/models.
    for storm in [
        "overload-storm ",
        "model-overload ",
        "all-models-storm ",
        "storm-then-incident ",
        "flapping ",
        "demo ",
    ] {
        let line = text
            .lines()
            .find(|line| line.starts_with(storm))
            .unwrap_or_else(|| panic!("{storm} is listed"));
        assert!(line.contains("on /v1/messages"), "{line}");
    }
}

/// Starts the binary with `args` and returns it with its base URL.
fn spawn(args: &[&str]) -> (Running, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let stdout = child.stdout.take().expect("stdout");
    let child = Running(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("first line");
    let base = line
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (child, base)
}

#[tokio::test]
async fn overload_model_flag_names_the_overloaded_model() {
    let (child, base) = spawn(&[
        "--scenario",
        "model-overload",
        "--overload-model",
        "claude-sonnet-5-5",
        "--manual",
        "--port",
        "0",
    ]);
    let client = client();
    let state: Value = client
        .post(format!("{base}/_sim/advance?seconds=420"))
        .send()
        .await
        .expect("advance")
        .json()
        .await
        .expect("state");
    assert_eq!(state["overload_model"], "claude-sonnet-5-5");
    let summary: Value = client
        .get(format!("{base}/api/v2/summary.json"))
        .send()
        .await
        .expect("summary")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        summary["incidents"][0]["name"],
        "Elevated errors on Claude Sonnet 5.5"
    );
    let overloaded = client
        .post(format!("{base}/v1/messages"))
        .header("x-api-key", "sk-ant-api03-test")
        .json(&serde_json::json!({
            "model": "claude-sonnet-5-5",
            "max_tokens": 5,
            "messages": [{ "role": "user", "content": "hi" }]
        }))
        .send()
        .await
        .expect("message");
    assert_eq!(overloaded.status(), 529);
    drop(child);
}

#[test]
fn a_retired_overload_model_is_refused_at_start() {
    let output = Command::new(BIN)
        .args([
            "--scenario",
            "model-overload",
            "--overload-model",
            "claude-sonnet-4-5",
            "--port",
            "0",
        ])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("retired"), "{text}");
}

#[tokio::test]
async fn first_line_is_the_address_and_control_paths_work() {
    let mut child = Command::new(BIN)
        .args(["--scenario", "incident", "--manual", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let stdout = child.stdout.take().expect("stdout");
    let child = Running(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("first line");
    let base = line
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");

    let client = client();
    let state: Value = client
        .post(format!("{base}/_sim/advance?seconds=480"))
        .send()
        .await
        .expect("advance")
        .json()
        .await
        .expect("state");
    assert_eq!(state["story_time_seconds"], 480.0);
    let summary: Value = client
        .get(format!("{base}/api/v2/summary.json"))
        .send()
        .await
        .expect("summary")
        .json()
        .await
        .expect("JSON");
    assert_eq!(summary["incidents"][0]["impact"], "major");
    let stats: Value = client
        .get(format!("{base}/_sim/stats"))
        .send()
        .await
        .expect("stats")
        .json()
        .await
        .expect("JSON");
    assert_eq!(stats["requests_by_path"]["/api/v2/summary.json"], 1);
    drop(child);
}
