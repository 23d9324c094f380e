//! The service's status-line calls against a real in-process service: a status-line run's plan
//! readings reach the store and the snapshot, and the Settings view's button installs, reports
//! and removes our status line in Claude Code's settings file, refusing another one unless
//! forced. One test in its own binary, because it points `CLAUDE_CONFIG_DIR` at a temporary
//! folder for the whole process.

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use claude_status_core::plan::{PlanReading, PlanSource};
use claude_status_core::report::Snapshot;
use claude_status_core::statusline::{
    FactsSource, StatusFacts, StatusLineSetup, StatusLineSetupState,
};
use claude_status_engine::control::proto::Call;
use claude_status_engine::control::{ClientError, ControlClient};
use claude_status_engine::service::config::BaseConfig;
use claude_status_engine::service::{MemorySecrets, Service, ServiceOptions};
use claude_status_simulator::{Clock, Simulator};
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_line_calls_record_readings_and_edit_claude_codes_settings() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("claude");
    std::fs::create_dir_all(&config).unwrap();
    // The only test of this binary, so no other test sees the variable change.
    std::env::set_var("CLAUDE_CONFIG_DIR", &config);
    let sim = Simulator::new("healthy")
        .clock(Clock::Manual)
        .start()
        .await
        .unwrap();
    let data_dir = dir.path().join("data");
    let mut base = BaseConfig::for_tests(&sim.base_url(), data_dir.clone());
    base.interval_override = Some(Duration::from_secs(1));
    base.program = Some(dir.path().join("bin").join("claude-status"));
    let socket = dir.path().join("control.sock");
    let service = Service::start(
        ServiceOptions {
            base,
            socket: socket.clone(),
            legacy_settings: None,
        },
        Arc::new(MemorySecrets::default()),
        None,
    )
    .await
    .unwrap();
    let stop = CancellationToken::new();
    let task = tokio::spawn(service.serve(stop.clone()));
    let mut client = None;
    for _ in 0..100 {
        if let Ok(c) = ControlClient::connect(&socket, "test").await {
            client = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut client = client.expect("the service answers");

    // A status-line run: its readings are recorded and come back in the snapshot.
    let reading = PlanReading {
        window: "five_hour".to_owned(),
        used_percent: 81.0,
        resets_at: Some(Utc::now() + chrono::Duration::hours(2)),
        seen_at: Utc::now(),
        source: PlanSource::StatusLine,
        client_version: Some("2.1.328".to_owned()),
    };
    let facts: StatusFacts = client
        .call(Call::StatusLine {
            readings: vec![reading.clone()],
            model: Some("claude-opus-5-5".to_owned()),
        })
        .await
        .unwrap();
    assert_eq!(facts.source, FactsSource::Service);
    assert!(facts.health.is_some());
    let give_up = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let snapshot: Snapshot = client.call(Call::Snapshot { model: None }).await.unwrap();
        let plan = snapshot.usage.map(|u| u.plan).unwrap_or_default();
        if let Some(window) = plan.first() {
            assert_eq!(window.used_percent, Some(81.0));
            break;
        }
        assert!(
            tokio::time::Instant::now() < give_up,
            "the reading never reached the snapshot"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A reading out of range is refused with the field named.
    let mut bad = reading.clone();
    bad.used_percent = 5000.0;
    bad.window = "Not A Window".to_owned();
    match client
        .call_value(Call::StatusLine {
            readings: vec![bad],
            model: None,
        })
        .await
        .unwrap_err()
    {
        ClientError::Refused(e) => assert_eq!(e.field.as_deref(), Some("readings")),
        other => panic!("{other:?}"),
    }
    let stored = {
        let store = claude_status_engine::store::Store::open(
            &claude_status_engine::store::Store::default_path(&data_dir),
        )
        .unwrap();
        store
            .plan_readings_since(Utc::now() - chrono::Duration::hours(1))
            .unwrap()
    };
    assert_eq!(stored.len(), 1);

    // The Settings button: none, then ours; another one is refused, then replaced when forced.
    let settings = config.join("settings.json");
    let state: StatusLineSetup = client.call(Call::StatusLineState).await.unwrap();
    assert_eq!(state.state, StatusLineSetupState::None);
    assert_eq!(state.path, settings.display().to_string());
    let installed: StatusLineSetup = client
        .call(Call::InstallStatusLine { force: false })
        .await
        .unwrap();
    assert_eq!(installed.state, StatusLineSetupState::Ours);
    assert!(installed.message.is_some());
    let removed: StatusLineSetup = client.call(Call::UninstallStatusLine).await.unwrap();
    assert_eq!(removed.state, StatusLineSetupState::None);
    std::fs::write(
        &settings,
        r#"{"statusLine": {"type": "command", "command": "my-line"}, "model": "opus"}"#,
    )
    .unwrap();
    let other: StatusLineSetup = client.call(Call::StatusLineState).await.unwrap();
    assert_eq!(other.state, StatusLineSetupState::Other);
    assert_eq!(other.command.as_deref(), Some("my-line"));
    match client
        .call_value(Call::InstallStatusLine { force: false })
        .await
        .unwrap_err()
    {
        ClientError::Refused(e) => assert!(e.message.contains("my-line"), "{}", e.message),
        other => panic!("{other:?}"),
    }
    let forced: StatusLineSetup = client
        .call(Call::InstallStatusLine { force: true })
        .await
        .unwrap();
    assert_eq!(forced.state, StatusLineSetupState::Ours);
    let kept: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&settings).unwrap()).unwrap();
    assert_eq!(kept["model"], "opus");
    // An unreadable file is reported, never changed.
    std::fs::write(&settings, "{oops").unwrap();
    let unreadable: StatusLineSetup = client.call(Call::StatusLineState).await.unwrap();
    assert_eq!(unreadable.state, StatusLineSetupState::Unreadable);
    assert!(unreadable.message.is_some());
    assert!(client
        .call_value(Call::InstallStatusLine { force: true })
        .await
        .is_err());
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), "{oops");

    stop.cancel();
    tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    sim.shutdown().await;
}
