//! The real `claude-status service run` as a process: one per data directory, `check` answered
//! from it, `proxy` refused on the port its gateway holds, the gateway serving traffic, `status`
//! and `stop`.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use std::io::{Read, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

use claude_status_simulator::{Clock, Simulator};

mod support;
use support::{command, finish, text, Guard, DEADLINE};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn the_service_runs_once_answers_check_holds_its_gateway_port_and_stops() {
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
    let port = free_port();
    // The settings file the service owns: the gateway on, on a free port.
    std::fs::write(
        data_dir.join("settings.json"),
        format!(r#"{{"gateway": true, "gateway_port": {port}}}"#),
    )
    .unwrap();

    let mut service = Guard(
        command(&data_dir, dir.path(), &url)
            .args(["service", "run"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let pid = service.0.id();
    let socket = data_dir.join("control.sock");
    let started = Instant::now();
    while !socket.exists() {
        assert!(
            started.elapsed() < DEADLINE,
            "the service never made its socket"
        );
        assert!(
            service.0.try_wait().unwrap().is_none(),
            "the service exited"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // A second service for the same data directory exits at once and names the first.
    let second = finish(command(&data_dir, dir.path(), &url).args(["service", "run"]));
    assert_eq!(second.status.code(), Some(3), "{}", text(&second.stderr));
    let message = text(&second.stderr);
    assert!(message.contains("already running"), "{message}");
    assert!(message.contains(&format!("(pid {pid})")), "{message}");

    // `check` answers from the service (its log says so) with the usual contract.
    let check = finish(command(&data_dir, dir.path(), &url).args(["check", "--json"]));
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
    let snapshot: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(snapshot["level"], "operational");
    assert!(
        text(&check.stderr).contains(&format!(
            "answered from the running service (pid Some({pid}))"
        )),
        "{}",
        text(&check.stderr)
    );
    // `--no-service` probes here instead.
    let alone =
        finish(command(&data_dir, dir.path(), &url).args(["check", "--json", "--no-service"]));
    assert_eq!(alone.status.code(), Some(0), "{}", text(&alone.stderr));
    assert!(!text(&alone.stderr).contains("answered from the running service"));

    // `usage` leaves the ledger to the service: the service reads the new log lines.
    let projects = dir.path().join(".claude").join("projects").join("p");
    std::fs::create_dir_all(&projects).unwrap();
    std::fs::write(
        projects.join("s.jsonl"),
        concat!(
            r#"{"parentUuid":"p","isSidechain":false,"message":{"model":"claude-sonnet-4-5-20250929","id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"hello"}],"usage":{"input_tokens":3,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":7,"service_tier":"standard"}},"requestId":"req_1","type":"assistant","uuid":"u-1","timestamp":"2026-08-20T10:00:00.000Z","sessionId":"s","version":"2.1.233"}"#,
            "\n"
        ),
    )
    .unwrap();
    let usage = finish(command(&data_dir, dir.path(), &url).args([
        "usage",
        "daily",
        "--json",
        "--timezone",
        "UTC",
    ]));
    assert_eq!(usage.status.code(), Some(0), "{}", text(&usage.stderr));
    assert!(
        text(&usage.stderr).contains("the running service read the logs"),
        "{}",
        text(&usage.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&usage.stdout).unwrap();
    assert_eq!(report["totals"]["output_tokens"], 7, "{report}");

    // The service's gateway serves the user's traffic.
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let body = r#"{"model":"claude-haiku-4-5","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}"#;
    write!(
        stream,
        "POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\nx-api-key: sk-ant-test\r\n\
         anthropic-version: 2023-06-01\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // `proxy` will not start a second gateway on the service's port, and says why.
    let proxy =
        finish(command(&data_dir, dir.path(), &url).args(["proxy", "--port", &port.to_string()]));
    assert_ne!(proxy.status.code(), Some(0));
    let message = text(&proxy.stderr);
    assert!(
        message.contains(&format!(
            "service (pid {pid}) already runs the gateway on port {port}"
        )),
        "{message}"
    );

    let status = finish(command(&data_dir, dir.path(), &url).args(["service", "status"]));
    let said = text(&status.stdout);
    assert_eq!(
        status.status.code(),
        Some(0),
        "{said}{}",
        text(&status.stderr)
    );
    assert!(said.contains(&format!("pid {pid}")), "{said}");
    assert!(
        said.contains(&format!(
            "Gateway: ANTHROPIC_BASE_URL=http://127.0.0.1:{port}"
        )),
        "{said}"
    );

    let stop = finish(command(&data_dir, dir.path(), &url).args(["service", "stop"]));
    assert_eq!(stop.status.code(), Some(0), "{}", text(&stop.stderr));
    assert!(text(&stop.stdout).contains(&format!("Stopped the Claude Status service (pid {pid})")));
    let started = Instant::now();
    let exit = loop {
        if let Some(exit) = service.0.try_wait().unwrap() {
            break exit;
        }
        assert!(started.elapsed() < DEADLINE, "the service did not exit");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");
    assert!(!socket.exists());
    let mut log = String::new();
    service
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(!log.contains("panicked"), "{log}");

    let status = finish(command(&data_dir, dir.path(), &url).args(["service", "status"]));
    assert_eq!(status.status.code(), Some(3));
    assert!(text(&status.stdout).contains("Not running"));
    runtime.block_on(sim.shutdown());
}
