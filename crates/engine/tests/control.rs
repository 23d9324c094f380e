//! The control API against a real service on a temporary socket: every call, the stream, the
//! settings' refusals, keys that never come back, one service per data directory, another
//! version's client, and hostile clients that are answered and dropped while others are served.

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use claude_status_core::report::Snapshot;
use claude_status_core::settings::Settings;
use claude_status_engine::control::proto::{Call, ErrorKind, Event, Hello, ServiceInfo};
use claude_status_engine::control::{ClientError, ControlClient, Subscription};
use claude_status_engine::service::config::BaseConfig;
use claude_status_engine::service::{MemorySecrets, Service, ServiceOptions, SettingsView};
use claude_status_simulator::{Clock, Simulator};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

#[path = "support/service.rs"]
mod service;

use service::Running;

/// A service against the healthy simulator, with `env_key` as the key from the environment.
async fn start_service(env_key: Option<&str>) -> Running {
    let sim = Simulator::new("healthy")
        .clock(Clock::Manual)
        .start()
        .await
        .unwrap();
    service::start_service(sim, |base| {
        base.env_api_key = env_key.and_then(claude_status_engine::probe::ApiKey::new);
    })
    .await
}

/// Waits (bounded) for a snapshot the engine has checked at least once.
async fn first_checked(sub: &mut Subscription) -> Snapshot {
    let give_up = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match tokio::time::timeout_at(give_up, sub.next()).await {
            Ok(Ok(Event::Snapshot { snapshot, .. })) if snapshot.checked_at.is_some() => {
                return *snapshot
            }
            Ok(Ok(_)) => {}
            other => panic!("no checked snapshot: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_answers_and_the_stream_follows_the_engine() {
    let service = start_service(None).await;
    let mut client = service.client().await;
    assert_eq!(client.service().role, "service");
    assert_eq!(client.service().pid, Some(std::process::id()));

    let info: ServiceInfo = client.call(Call::Version).await.unwrap();
    assert_eq!(info.pid, std::process::id());
    assert_eq!(info.data_dir, service.data_dir.display().to_string());
    assert!(!info.demo);

    let mut sub = Subscription::open(&service.socket, "test").await.unwrap();
    let checked = first_checked(&mut sub).await;
    let snapshot: Snapshot = client.call(Call::Snapshot { model: None }).await.unwrap();
    assert!(snapshot.checked_at >= checked.checked_at);
    // A model the service has never heard of: no answer, so `check --model` probes it itself.
    let unknown: Option<Snapshot> = client
        .call(Call::Snapshot {
            model: Some("claude-zephyr-9".to_owned()),
        })
        .await
        .unwrap();
    assert_eq!(unknown, None);

    for call in [
        Call::History {
            range: "24h".to_owned(),
        },
        Call::ProbeSeries {
            range: "1h".to_owned(),
            model: None,
        },
        Call::Incidents { limit: 5 },
        Call::Incident {
            id: "nothing-here".to_owned(),
        },
        Call::Gateway,
        Call::GetSettings,
        Call::ProbeCost,
        Call::CheckNow,
        Call::IngestUsage,
    ] {
        let name = call.name();
        client
            .call_value(call)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let refused = client
        .call_value(Call::History {
            range: "2y".to_owned(),
        })
        .await
        .unwrap_err();
    match refused {
        ClientError::Refused(e) => {
            assert_eq!(e.kind, ErrorKind::InvalidArgument);
            assert_eq!(e.field.as_deref(), Some("range"));
        }
        other => panic!("{other:?}"),
    }

    // A settings change through the API reaches the subscribers and the file the service owns.
    let mut settings: SettingsView = client.call(Call::GetSettings).await.unwrap();
    settings.settings.probe_interval_secs = 120;
    let saved: SettingsView = client
        .call(Call::SetSettings {
            settings: settings.settings.clone(),
        })
        .await
        .unwrap();
    assert_eq!(saved.settings.probe_interval_secs, 120);
    let on_disk: Settings = serde_json::from_str(
        &std::fs::read_to_string(service.data_dir.join("settings.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(on_disk.probe_interval_secs, 120);
    let give_up = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(give_up, sub.next()).await {
            Ok(Ok(Event::Settings { .. })) => break,
            Ok(Ok(_)) => {}
            other => panic!("no settings event: {other:?}"),
        }
    }
    // The engine restarted with the new settings and the stream still follows it.
    let _ = first_checked(&mut sub).await;

    // An invalid value is refused with the field named, and the last good settings stay.
    let mut bad = saved.settings.clone();
    bad.gateway_port = 80;
    match client
        .call_value(Call::SetSettings { settings: bad })
        .await
        .unwrap_err()
    {
        ClientError::Refused(e) => {
            assert_eq!(e.kind, ErrorKind::InvalidSettings);
            assert_eq!(e.field.as_deref(), Some("gateway_port"));
        }
        other => panic!("{other:?}"),
    }
    let kept: SettingsView = client.call(Call::GetSettings).await.unwrap();
    assert_eq!(kept.settings, saved.settings);

    let paused: SettingsView = client
        .call(Call::PauseNotifications { minutes: 30 })
        .await
        .unwrap();
    assert!(paused.notifications_paused_until.is_some());
    assert!(client
        .call_value(Call::PauseNotifications { minutes: 100_000 })
        .await
        .is_err());

    // `stop` stops the service; the stream says so before it ends.
    let _ = client.call_value(Call::Stop).await.unwrap();
    let give_up = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match tokio::time::timeout_at(give_up, sub.next()).await {
            Ok(Ok(Event::Stopping { .. })) | Ok(Err(_)) => break,
            Ok(Ok(_)) => {}
            Err(_) => panic!("the stream did not end after stop"),
        }
    }
    tokio::time::timeout(Duration::from_secs(20), service.task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(!service.socket.exists(), "the socket is removed on stop");
    // The lock is free the moment `serve` has returned, whatever task still holds the state.
    let again = Service::start(
        ServiceOptions {
            base: BaseConfig::for_tests(&service.sim.base_url(), service.data_dir.clone()),
            socket: service.socket.clone(),
            legacy_settings: None,
        },
        Arc::new(MemorySecrets::default()),
        None,
    )
    .await
    .expect("a new service starts on the same data directory at once");
    drop(again);
    service.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_go_in_and_never_come_out() {
    let env_key = "sk-ant-env-test";
    let service = start_service(Some(env_key)).await;
    let mut client = service.client().await;
    let view: SettingsView = client.call(Call::GetSettings).await.unwrap();
    assert!(view.api_key_configured);
    assert_eq!(
        serde_json::to_value(view.api_key_source).unwrap(),
        "environment"
    );
    let stored = "sk-ant-kc-test";
    let view: SettingsView = client
        .call(Call::SetApiKey {
            key: Some(stored.to_owned()),
        })
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(view.api_key_source).unwrap(),
        "keychain"
    );
    assert_eq!(
        claude_status_engine::service::Secrets::get(
            service.secrets.as_ref(),
            claude_status_engine::service::API_KEY_ACCOUNT
        )
        .unwrap()
        .as_deref(),
        Some(stored)
    );
    assert!(client
        .call_value(Call::SetAdminKey {
            key: Some("sk-ant-api-not-admin".to_owned())
        })
        .await
        .is_err());
    // No answer of any call carries either key.
    let mut texts = Vec::new();
    for call in [
        Call::Version,
        Call::Snapshot { model: None },
        Call::GetSettings,
        Call::Gateway,
        Call::ProbeCost,
    ] {
        texts.push(client.call_value(call).await.unwrap().to_string());
    }
    let settings_file =
        std::fs::read_to_string(service.data_dir.join("settings.json")).unwrap_or_default();
    texts.push(settings_file);
    for text in texts {
        assert!(!text.contains(env_key) && !text.contains(stored), "{text}");
        assert!(!text.contains("kc-test"), "{text}");
    }
    service.stop().await;
}

/// Issue 15: the fallback chain's provider keys go to the keychain under `provider:NAME`, are
/// reported only as where they are, and leave with the server that needed them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_keys_go_in_and_never_come_out() {
    use claude_status_engine::service::Secrets;
    let service = start_service(None).await;
    let mut client = service.client().await;
    let before: serde_json::Value = client.call_value(Call::ProviderKeys).await.unwrap();
    assert_eq!(
        before,
        serde_json::json!([
            {"name": "openai", "label": "openai", "env_var": "OPENAI_API_KEY", "source": "none", "required": true},
            {"name": "gemini", "label": "gemini", "env_var": "GEMINI_API_KEY", "source": "none", "required": true},
        ])
    );
    // A server's key can be stored once the settings declare it.
    let refused = client
        .call_value(Call::SetProviderKey {
            provider: "local".to_owned(),
            key: Some("local-PRIVATEKEY".to_owned()),
        })
        .await
        .unwrap_err();
    let ClientError::Refused(refused) = refused else {
        panic!("{refused:?}")
    };
    assert_eq!(refused.field.as_deref(), Some("provider"));
    let view: SettingsView = client.call(Call::GetSettings).await.unwrap();
    let mut settings = view.settings;
    settings.gateway_providers = vec![claude_status_core::settings::ProviderEndpoint {
        name: "local".to_owned(),
        base_url: "http://127.0.0.1:8000/v1".to_owned(),
    }];
    settings.gateway_fallback = vec![
        "claude-opus-4-6".to_owned(),
        "openai:gpt-4o".to_owned(),
        "openai-compatible:local:llama3".to_owned(),
    ];
    let _: SettingsView = client
        .call(Call::SetSettings {
            settings: settings.clone(),
        })
        .await
        .unwrap();
    for (provider, key) in [
        ("openai", "sk-proj-PRIVATEKEY"),
        ("local", "local-PRIVATEKEY"),
    ] {
        let _: serde_json::Value = client
            .call_value(Call::SetProviderKey {
                provider: provider.to_owned(),
                key: Some(key.to_owned()),
            })
            .await
            .unwrap();
    }
    let after = client.call_value(Call::ProviderKeys).await.unwrap();
    let sources: Vec<(&str, &str)> = after
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["source"].as_str().unwrap()))
        .collect();
    assert_eq!(
        sources,
        [
            ("openai", "keychain"),
            ("gemini", "none"),
            ("local", "keychain")
        ]
    );
    assert_eq!(
        service.secrets.get("provider:openai").unwrap().as_deref(),
        Some("sk-proj-PRIVATEKEY")
    );
    // A key that is not one word is refused without being repeated.
    let refused = client
        .call_value(Call::SetProviderKey {
            provider: "gemini".to_owned(),
            key: Some("two PRIVATEWORDS".to_owned()),
        })
        .await
        .unwrap_err();
    assert!(!refused.to_string().contains("PRIVATE"), "{refused}");
    // No answer carries a key, nor does the settings file.
    let mut texts = vec![after.to_string()];
    for call in [Call::GetSettings, Call::Gateway, Call::Version] {
        texts.push(client.call_value(call).await.unwrap().to_string());
    }
    texts.push(std::fs::read_to_string(service.data_dir.join("settings.json")).unwrap());
    for text in texts {
        assert!(!text.contains("PRIVATEKEY"), "{text}");
    }
    // Removed from the settings, the server's key leaves the keychain; OpenAI's stays.
    settings.gateway_providers.clear();
    settings.gateway_fallback.pop();
    let _: SettingsView = client.call(Call::SetSettings { settings }).await.unwrap();
    assert_eq!(service.secrets.get("provider:local").unwrap(), None);
    assert!(service.secrets.get("provider:openai").unwrap().is_some());
    // Removing a key with `null`.
    let removed = client
        .call_value(Call::SetProviderKey {
            provider: "openai".to_owned(),
            key: None,
        })
        .await
        .unwrap();
    assert_eq!(removed[0]["source"], "none");
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_service_per_data_directory_and_other_versions_are_told_why() {
    let service = start_service(None).await;
    let second = Service::start(
        ServiceOptions {
            base: BaseConfig::for_tests(&service.sim.base_url(), service.data_dir.clone()),
            socket: service.socket.with_extension("second"),
            legacy_settings: None,
        },
        Arc::new(MemorySecrets::default()),
        None,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        second.contains("already running")
            && second.contains(&format!("(pid {})", std::process::id())),
        "{second}"
    );

    let other = Hello {
        protocol: 999,
        version: "9.9.9".to_owned(),
        role: "tray".to_owned(),
        pid: None,
    };
    match ControlClient::connect_as(&service.socket, other).await {
        Err(ClientError::VersionMismatch(text)) => {
            assert!(
                text.contains(&format!(
                    "service is version {} (control protocol 1)",
                    env!("CARGO_PKG_VERSION")
                )),
                "{text}"
            );
            assert!(text.contains("this app is 9.9.9 (protocol 999)"), "{text}");
        }
        other => panic!("{other:?}"),
    }

    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&service.socket)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the socket is the user's alone");
    service.stop().await;
}

/// Sends raw bytes as a client and returns what the service answered before closing.
async fn raw_exchange(socket: &Path, bytes: &[u8], then_close: bool) -> String {
    let mut stream = UnixStream::connect(socket).await.unwrap();
    // The service may stop reading (and close) before an oversize frame is all written.
    let written = stream.write_all(bytes).await;
    if then_close {
        written.unwrap();
        stream.shutdown().await.unwrap();
    }
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(15), async {
        let mut buf = [0_u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    answer.extend_from_slice(&buf[..n]);
                    if answer.len() > 1 << 20 {
                        break;
                    }
                }
            }
        }
    })
    .await
    .expect("the service closes a hostile connection");
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_clients_get_an_error_and_are_dropped_while_others_are_served() {
    let service = start_service(None).await;
    let mut steady = service.client().await;
    let hello = format!(
        "{{\"hello\":{{\"protocol\":1,\"version\":\"{}\",\"role\":\"test\"}}}}\n",
        env!("CARGO_PKG_VERSION")
    );

    // Garbage instead of a hello.
    let answer = raw_exchange(&service.socket, b"GET / HTTP/1.1\r\n\r\n", false).await;
    assert!(answer.contains("\"bad_frame\""), "{answer}");
    // A frame of 1 MiB without a newline.
    let answer = raw_exchange(&service.socket, &vec![b'{'; 1 << 20], false).await;
    assert!(answer.contains("longer than"), "{answer}");
    // A good hello, then a call that is not JSON.
    let answer = raw_exchange(
        &service.socket,
        format!("{hello}{{\"id\":1,\"call\":\n").as_bytes(),
        false,
    )
    .await;
    assert!(answer.contains("\"hello\""), "{answer}");
    assert!(answer.contains("\"bad_frame\""), "{answer}");
    // A call nobody knows.
    let answer = raw_exchange(
        &service.socket,
        format!("{hello}{{\"id\":1,\"call\":\"read_keys\"}}\n").as_bytes(),
        false,
    )
    .await;
    assert!(answer.contains("unknown variant"), "{answer}");
    // Half a frame, then the connection closes.
    let answer = raw_exchange(
        &service.socket,
        format!("{hello}{{\"id\":2,\"ca").as_bytes(),
        true,
    )
    .await;
    assert!(answer.contains("in the middle of a frame"), "{answer}");
    // Half a frame, then silence: cut off after the frame timeout.
    let answer = raw_exchange(
        &service.socket,
        format!("{hello}{{\"id\":3,\"ca").as_bytes(),
        false,
    )
    .await;
    assert!(answer.contains("did not within"), "{answer}");
    // Silence instead of a hello.
    let answer = raw_exchange(&service.socket, b"", false).await;
    assert!(answer.contains("no hello within"), "{answer}");

    // The well-behaved client was served all along and still is.
    let info: ServiceInfo = steady.call(Call::Version).await.unwrap();
    assert_eq!(info.pid, std::process::id());
    let fresh: ServiceInfo = service.client().await.call(Call::Version).await.unwrap();
    assert_eq!(fresh.pid, info.pid);
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_setting_serves_metrics_on_loopback_unless_remote_is_allowed() {
    let service = start_service(None).await;
    let mut client = service.client().await;
    let mut sub = service.client().await.subscribe().await.unwrap();
    let _ = first_checked(&mut sub).await;
    let view: SettingsView = client.call(Call::GetSettings).await.unwrap();
    assert_eq!(view.metrics_url, None, "metrics are off by default");

    let mut settings = view.settings.clone();
    settings.metrics_addr = Some("127.0.0.1:0".to_owned());
    let saved: SettingsView = client
        .call(Call::SetSettings {
            settings: settings.clone(),
        })
        .await
        .unwrap();
    let url = saved.metrics_url.clone().expect("metrics served");
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/metrics"),
        "{url}"
    );
    let give_up = tokio::time::Instant::now() + Duration::from_secs(20);
    let text = loop {
        let text = reqwest::get(&url).await.unwrap().text().await.unwrap();
        // The gauges follow the engine that runs now (restarted by the settings change).
        if text.contains("claude_status_level{level=\"operational\"} 1") {
            break text;
        }
        assert!(tokio::time::Instant::now() < give_up, "{text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        text.contains("claude_status_probe_results_total{"),
        "{text}"
    );

    // A wider address needs allow_remote, and the field is named.
    let mut wide = settings.clone();
    wide.metrics_addr = Some("0.0.0.0:0".to_owned());
    match client
        .call_value(Call::SetSettings { settings: wide })
        .await
        .unwrap_err()
    {
        ClientError::Refused(e) => {
            assert_eq!(e.kind, ErrorKind::InvalidSettings);
            assert_eq!(e.field.as_deref(), Some("metrics_addr"));
        }
        other => panic!("{other:?}"),
    }
    // Off again: nothing listens there any more.
    settings.metrics_addr = None;
    let off: SettingsView = client.call(Call::SetSettings { settings }).await.unwrap();
    assert_eq!(off.metrics_url, None);
    let give_up = tokio::time::Instant::now() + Duration::from_secs(10);
    while reqwest::get(&url).await.is_ok() {
        assert!(
            tokio::time::Instant::now() < give_up,
            "still served at {url}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    service.stop().await;
}

/// A receiver on 127.0.0.1 that answers 200 and keeps each request's path and body.
async fn alert_receiver() -> (String, Arc<std::sync::Mutex<Vec<(String, String)>>>) {
    let seen: Arc<std::sync::Mutex<Vec<(String, String)>>> = Arc::default();
    let kept = seen.clone();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri, body: String| {
        let kept = kept.clone();
        async move {
            kept.lock().unwrap().push((uri.path().to_owned(), body));
            "ok"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (base, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_channels_are_set_tested_and_listed_without_their_secrets() {
    use claude_status_core::channels::{
        AlertingReport, ChannelConfig, ChannelKind, SecretOrigin, SecretSlot, TestOutcome,
    };
    let service = start_service(None).await;
    let (base, seen) = alert_receiver().await;
    let mut client = service.client().await;
    let view: SettingsView = client.call(Call::GetSettings).await.unwrap();
    let mut settings = view.settings;
    settings.alert_channels = vec![ChannelConfig::new("team", "Team", ChannelKind::Webhook)];
    let _: SettingsView = client
        .call(Call::SetSettings {
            settings: settings.clone(),
        })
        .await
        .unwrap();
    // A secret for a channel that does not exist, or of the wrong shape, is refused by field.
    let missing = client
        .call_value(Call::SetAlertSecret {
            channel: "nobody".to_owned(),
            slot: SecretSlot::Target,
            secret: Some(format!("{base}/x")),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(missing, ClientError::Refused(ref e) if e.kind == ErrorKind::NotFound),
        "{missing:?}"
    );
    let bad = client
        .call_value(Call::SetAlertSecret {
            channel: "team".to_owned(),
            slot: SecretSlot::Target,
            secret: Some("http://example.com/PLAINHTTP".to_owned()),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(bad, ClientError::Refused(ref e) if e.field.as_deref() == Some("secret")),
        "{bad:?}"
    );
    let url = format!("{base}/hooks/SECRETPATH1234");
    let report: AlertingReport = client
        .call(Call::SetAlertSecret {
            channel: "team".to_owned(),
            slot: SecretSlot::Target,
            secret: Some(url.clone()),
        })
        .await
        .unwrap();
    assert_eq!(report.channels[0].target, Some(SecretOrigin::Keychain));
    assert!(!report.channels[0].failing);
    let outcomes: Vec<TestOutcome> = client
        .call(Call::TestAlert { channel: None })
        .await
        .unwrap();
    assert!(outcomes[0].ok, "{outcomes:?}");
    let received = seen.lock().unwrap().clone();
    assert_eq!(received[0].0, "/hooks/SECRETPATH1234");
    assert!(received[0].1.contains("\"test\":true"), "{received:?}");
    // Neither the settings, their file, nor the channels' report hold the secret.
    let texts = vec![
        client
            .call_value(Call::GetSettings)
            .await
            .unwrap()
            .to_string(),
        client
            .call_value(Call::AlertChannels)
            .await
            .unwrap()
            .to_string(),
        std::fs::read_to_string(service.data_dir.join("settings.json")).unwrap(),
    ];
    for text in &texts {
        assert!(!text.contains("SECRETPATH"), "{text}");
    }
    // A removed channel takes its secret with it.
    settings.alert_channels.clear();
    let _: SettingsView = client.call(Call::SetSettings { settings }).await.unwrap();
    assert_eq!(
        claude_status_engine::service::Secrets::get(
            service.secrets.as_ref(),
            &claude_status_engine::alerting::secrets::keychain_account("team", SecretSlot::Target)
        )
        .unwrap(),
        None
    );
    service.stop().await;
}
