//! Issue 17 through the whole service, as the tray and the dashboard use it: the gateway started
//! from the settings with the advisor counting prefixes (`advisor_count_tokens`), requests with a
//! repeated system prompt through it, and the dashboard's `advice` call answering the advice with
//! the counted size; the advisor's key file made beside the database, mode 0600.

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use std::time::Duration;

use claude_status_engine::control::proto::Call;
use claude_status_engine::service::SettingsView;
use serde_json::{json, Value};
use tokio::time::Instant;

#[path = "support/service.rs"]
mod service;
#[path = "support/sim.rs"]
mod sim;

/// A port nothing listens on now, found by binding 127.0.0.1:0 (the settings refuse port 0).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_gets_the_advice_of_the_services_gateway() {
    let service = service::start_service(sim::fast_sim("healthy").await, |_| {}).await;
    let mut client = service.client().await;

    // Before any traffic: an empty report, not an error.
    let empty = client.call_value(Call::Advice).await.unwrap();
    assert_eq!(empty["requests"], 0, "{empty:#}");

    let view: SettingsView = client.call(Call::GetSettings).await.unwrap();
    let mut settings = view.settings;
    settings.gateway = true;
    settings.gateway_port = free_port();
    settings.advisor_count_tokens = true;
    let _: SettingsView = client
        .call(Call::SetSettings {
            settings: settings.clone(),
        })
        .await
        .unwrap();
    let url = format!("http://127.0.0.1:{}", settings.gateway_port);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let system = "You are a careful assistant who answers briefly. ".repeat(400);
    let body = json!({
        "model": "claude-haiku-4-5",
        "max_tokens": 16,
        "system": system,
        "messages": [{"role": "user", "content": "Hello."}],
    })
    .to_string();
    // The gateway starts on its own task once the settings are saved: wait for it, bounded.
    let give_up = Instant::now() + Duration::from_secs(15);
    let mut sent = 0;
    while sent < 4 {
        let answer = http
            .post(format!("{url}/v1/messages"))
            .header("x-api-key", "sk-ant-api03-service-advice")
            .header("anthropic-version", "2023-06-01")
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await;
        match answer {
            Ok(answer) => {
                assert_eq!(answer.status(), 200);
                answer.bytes().await.unwrap();
                sent += 1;
            }
            Err(_) => {
                assert!(Instant::now() < give_up, "the gateway never started");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    // The advice, once the writer stored the four requests and the counter their prefix.
    let give_up = Instant::now() + Duration::from_secs(15);
    let report: Value = loop {
        let report = client.call_value(Call::Advice).await.unwrap();
        if report["requests"] == 4 && report["estimated_sizes"] == 0 {
            break report;
        }
        assert!(Instant::now() < give_up, "{report:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let advice = &report["advice"][0];
    assert_eq!(advice["model"], "claude-haiku-4-5", "{report:#}");
    assert_eq!(advice["sends"], 4);
    assert_eq!(advice["would_hit"], 3);
    assert_eq!(advice["size"]["estimated"], false);
    // The simulator's count of the system prompt's segment: a token per 4 characters, and 7.
    assert_eq!(advice["size"]["tokens"], system.len().div_ceil(4) + 7);

    let key_file = service.data_dir.join("advisor-key");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&key_file).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "{}", key_file.display());
    // count_tokens used the request's own key for the call only: the service stored it nowhere,
    // neither as its own key nor in any file of the data directory.
    use claude_status_engine::service::Secrets as _;
    assert_eq!(
        service
            .secrets
            .get(claude_status_engine::service::API_KEY_ACCOUNT)
            .unwrap(),
        None
    );
    for entry in std::fs::read_dir(&service.data_dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes
                    .windows(b"service-advice".len())
                    .any(|w| w == b"service-advice"),
                "{} holds the client's key",
                path.display()
            );
        }
    }
    drop(client);
    service.stop().await;
}
