//! Smoke test of the shell on Tauri's mock runtime: the app builds with `run_app`'s own builder,
//! attaches to a real service (in-process, on a temporary socket, against the simulator), every
//! IPC command answers as the dashboard expects through it, and the tray's own state says so when
//! the service goes away.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use claude_status_core::Level;
use claude_status_engine::service::config::BaseConfig;
use claude_status_engine::service::{MemorySecrets, Service, ServiceOptions};
use claude_status_tray::{build_app, tray_status, AppOptions, Mode};
use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{mock_builder, mock_context, noop_assets, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::WebviewWindowBuilder;
use tokio_util::sync::CancellationToken;

fn invoke<W: AsRef<tauri::Webview<tauri::test::MockRuntime>>>(
    webview: &W,
    cmd: &str,
    args: Value,
) -> Result<Value, Value> {
    tauri::test::get_ipc_response(
        webview,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: if cfg!(windows) {
                "http://tauri.localhost"
            } else {
                "tauri://localhost"
            }
            .parse()
            .unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|body| body.deserialize::<Value>().unwrap())
}

/// Starts a real service on `socket` against the simulator at `url`, serving until `stop`.
fn start_service(
    runtime: &tokio::runtime::Runtime,
    url: &str,
    data_dir: &Path,
    socket: &Path,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let mut base = BaseConfig::for_tests(url, data_dir.to_path_buf());
    base.interval_override = Some(Duration::from_secs(1));
    let service = runtime
        .block_on(Service::start(
            ServiceOptions {
                base,
                socket: socket.to_path_buf(),
                legacy_settings: None,
            },
            Arc::new(MemorySecrets::default()),
            None,
        ))
        .unwrap();
    let served = runtime.spawn(async move {
        service.serve(stop).await.unwrap();
    });
    // `serve` binds the socket on its task; callers start talking once it is there.
    let started = Instant::now();
    while !socket.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the service did not bind {}",
            socket.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    served
}

/// Waits (20 s at most) until the tray shows what `ok` accepts.
fn wait_for_tray(app: &tauri::App<tauri::test::MockRuntime>, ok: impl Fn(Level, &str) -> bool) {
    let started = Instant::now();
    loop {
        let (level, headline) = tray_status(app);
        if ok(level, &headline) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the tray shows {level:?}: {headline:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_app_builds_and_answers_every_command() {
    let home = tempfile::tempdir().unwrap();
    // WebKit and the plugins write under XDG folders; keep them inside the test's folder.
    for (name, dir) in [
        ("XDG_DATA_HOME", "data"),
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_CACHE_HOME", "cache"),
    ] {
        std::env::set_var(name, home.path().join(dir));
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter("warn")
        .with_test_writer()
        .try_init();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sim = runtime
        .block_on(
            claude_status_simulator::Simulator::new("healthy")
                .clock(claude_status_simulator::Clock::Manual)
                .start(),
        )
        .unwrap();
    let data_dir = home.path().join("claude-status");
    let socket = home.path().join("control.sock");
    let stop = CancellationToken::new();
    let served = start_service(&runtime, &sim.base_url(), &data_dir, &socket, stop.clone());

    let app = build_app(
        mock_builder(),
        mock_context(noop_assets()),
        AppOptions {
            mode: Mode::Tray,
            demo: false,
            data_dir: data_dir.clone(),
            socket: socket.clone(),
            tray: false,
            follow: true,
            // The test runs its own service: the app must not start one.
            start_service: false,
            single_instance: false,
            window: false,
            incident: None,
        },
    )
    .unwrap();
    let webview = WebviewWindowBuilder::new(&app, "dashboard", Default::default())
        .build()
        .unwrap();

    // The service reaches a verdict against the simulator within a bounded time.
    let started = Instant::now();
    let snapshot = loop {
        let snapshot = invoke(&webview, "get_snapshot", json!({})).unwrap();
        // The service answers with its current snapshot at once, so the first verdict may come
        // a moment before the status page's and the tracker's first figures.
        if snapshot["level"] == "operational"
            && snapshot["usage"].is_object()
            && !snapshot["status_page"]["fetched_at"].is_null()
        {
            break snapshot;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no verdict: {snapshot:#}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    // The service's stream reaches the tray: the same verdict, in colour.
    wait_for_tray(&app, |level, headline| {
        level == Level::Operational && headline.starts_with("Operational")
    });
    assert_eq!(snapshot["status_page"]["page"]["name"], "Claude");
    assert_eq!(snapshot["probe"]["outcome"], "unauthenticated");
    // No key and no gateway: the app says plainly that it cannot see an overload.
    let not_watched =
        "overloads are not watched: add an API key, or send your traffic through the gateway";
    assert_eq!(snapshot["coverage"]["warning"], not_watched, "{snapshot:#}");
    assert!(snapshot["reasons"].to_string().contains(not_watched));
    // The followed model without traffic or pins is the probe's default.
    let followed: Vec<&str> = snapshot["models"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["followed"] == true)
        .map(|m| m["model"].as_str().unwrap())
        .collect();
    assert_eq!(followed, ["claude-haiku-4-5"], "{snapshot:#}");
    // Usage tracking is on by default: the tracker's figures are in the snapshot.
    assert!(snapshot["usage"].is_object(), "{snapshot:#}");
    assert_eq!(snapshot["usage"]["today"]["requests"], 0);

    let settings = invoke(&webview, "get_settings", json!({})).unwrap();
    assert_eq!(settings["settings"]["probe_interval_secs"], 60);
    assert!(settings.get("api_key").is_none());

    // An invalid setting is refused with its field named, and the old value stays.
    let mut bad = settings["settings"].clone();
    bad["probe_interval_secs"] = json!(1);
    let error = invoke(&webview, "set_settings", json!({ "settings": bad })).unwrap_err();
    assert_eq!(error["kind"], "invalid_settings");
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains("probe_interval_secs"));
    assert_eq!(error["field"], "probe_interval_secs");
    let after = invoke(&webview, "get_settings", json!({})).unwrap();
    assert_eq!(after["settings"]["probe_interval_secs"], 60);

    // A valid change that only the shell reads is stored.
    let mut quiet = settings["settings"].clone();
    quiet["notifications"] = json!(false);
    let changed = invoke(&webview, "set_settings", json!({ "settings": quiet })).unwrap();
    assert_eq!(changed["settings"]["notifications"], false);

    let history = invoke(&webview, "get_history", json!({ "range": "1h" })).unwrap();
    assert!(history["probes"].as_u64().unwrap() >= 1, "{history:#}");
    let error = invoke(&webview, "get_history", json!({ "range": "2h" })).unwrap_err();
    assert_eq!(error["kind"], "invalid_argument");

    // The simulator's history (two resolved incidents) was read at start and kept in the store.
    let incidents = invoke(&webview, "list_incidents", json!({ "limit": 5 })).unwrap();
    let incidents = incidents.as_array().unwrap();
    assert_eq!(incidents.len(), 2, "{incidents:#?}");
    let id = incidents[0]["id"].as_str().unwrap();
    let incident = invoke(&webview, "get_incident", json!({ "id": id })).unwrap();
    assert_eq!(incident["name"], incidents[0]["name"]);
    assert!(incident["updates"].as_array().unwrap().len() >= 2);
    assert_eq!(
        invoke(&webview, "get_incident", json!({ "id": "nothing" })).unwrap(),
        Value::Null
    );
    let series = invoke(&webview, "get_probe_series", json!({ "range": "1h" })).unwrap();
    assert_eq!(series["buckets"].as_array().unwrap().len(), 60);
    let probes = |series: &Value| -> u64 {
        series["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["probes"].as_u64().unwrap())
            .sum()
    };
    assert!(probes(&series) > 0, "{series:#}");
    // One model's series has only that model's streaming probes: none without a key.
    let haiku = invoke(
        &webview,
        "get_probe_series",
        json!({ "range": "1h", "model": "claude-haiku-4-5-20251001" }),
    )
    .unwrap();
    assert_eq!(haiku["buckets"].as_array().unwrap().len(), 60);
    assert_eq!(probes(&haiku), 0, "{haiku:#}");
    let error = invoke(
        &webview,
        "get_probe_series",
        json!({ "range": "1h", "model": " " }),
    )
    .unwrap_err();
    assert_eq!(error["kind"], "invalid_argument");

    // What the per-model probe would cost: the default model at the pace in force (the test's
    // 1 s), Haiku 4.5 at $1/$5 per Mtok for 8 input and 1 output token a probe.
    let cost = invoke(&webview, "get_probe_cost", json!({})).unwrap();
    assert_eq!(cost["probing"], false, "no key: {cost:#}");
    assert_eq!(cost["notice_shown"], false);
    assert_eq!(cost["models"].as_array().unwrap().len(), 1, "{cost:#}");
    assert_eq!(cost["models"][0]["model"], "claude-haiku-4-5");
    assert_eq!(cost["models"][0]["interval_secs"], 1);
    let per_day = cost["models"][0]["usd_per_day"].as_f64().unwrap();
    assert!((per_day - 86_400.0 * 13e-6).abs() < 1e-6, "{cost:#}");
    assert_eq!(cost["total_usd_per_day"].as_f64(), Some(per_day));
    let error = invoke(
        &webview,
        "open_external",
        json!({ "url": "https://evil.example/" }),
    )
    .unwrap_err();
    assert_eq!(error["kind"], "invalid_argument");
    // An Admin API key must look like one; nothing is stored otherwise.
    let error = invoke(
        &webview,
        "set_admin_key",
        json!({ "key": "sk-ant-api03-not-an-admin-key" }),
    )
    .unwrap_err();
    assert_eq!(error["kind"], "invalid_argument");
    assert!(!error.to_string().contains("not-an-admin-key"));
    assert_eq!(settings["admin_key_configured"], false);
    // An alert channel: added in the settings, its URL set through the keychain and never shown
    // again, its test alert answered with the redacted failure of a receiver that is not there.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut with_channel = settings["settings"].clone();
    with_channel["alert_channels"] = json!([{"id": "team", "name": "Team", "kind": "webhook"}]);
    invoke(
        &webview,
        "set_settings",
        json!({ "settings": with_channel }),
    )
    .unwrap();
    let report = invoke(
        &webview,
        "set_alert_secret",
        json!({ "channel": "team", "slot": "target", "secret": format!("http://127.0.0.1:{closed}/PRIVATEPATH") }),
    )
    .unwrap();
    assert_eq!(report["channels"][0]["target"], "keychain", "{report:#}");
    let report = invoke(&webview, "get_alert_channels", json!({})).unwrap();
    assert!(!report.to_string().contains("PRIVATEPATH"), "{report:#}");
    let outcomes = invoke(&webview, "send_test_alert", json!({ "channel": "team" })).unwrap();
    assert_eq!(outcomes[0]["ok"], false, "{outcomes:#}");
    let message = outcomes[0]["message"].as_str().unwrap();
    assert!(
        message.contains("127.0.0.1") && !message.contains("PRIVATEPATH"),
        "{message}"
    );
    let error = invoke(&webview, "send_test_alert", json!({ "channel": "nobody" })).unwrap_err();
    assert_eq!(error["kind"], "not_found");
    invoke(&webview, "check_now", json!({})).unwrap();

    // The gateway: turned on in the settings, it starts on its port, and a burst of 529s in the
    // user's own traffic through it turns the verdict overloaded within seconds.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut with_gateway = settings["settings"].clone();
    with_gateway["gateway"] = json!(true);
    with_gateway["gateway_port"] = json!(port);
    let view = invoke(
        &webview,
        "set_settings",
        json!({ "settings": with_gateway }),
    )
    .unwrap();
    let url = view["gateway_url"].as_str().unwrap().to_owned();
    assert_eq!(url, format!("http://127.0.0.1:{port}"));
    sim.set_scenario("stream-overload").unwrap();
    overload_burst(&runtime, &url);
    wait_for_own_overload(&webview);
    // The gateway sees each attempt as it happens: overloads are watched now.
    let snapshot = invoke(&webview, "get_snapshot", json!({})).unwrap();
    assert_eq!(snapshot["coverage"]["warning"], Value::Null, "{snapshot:#}");

    // The dashboard's gateway report: its counters, and the overloads minute by minute from the
    // ledger (the metering writer stores them a moment after the answers).
    let started = Instant::now();
    let report = loop {
        let report = invoke(&webview, "get_gateway", json!({})).unwrap();
        let overloaded: u64 = report["minutes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["overloaded"].as_u64().unwrap())
            .sum();
        if overloaded >= 12 {
            break report;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "not in the ledger: {report:#}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(report["enabled"], true);
    assert_eq!(report["url"], url.as_str());
    assert_eq!(report["minutes"].as_array().unwrap().len(), 15);
    assert!(
        report["stats"]["requests"].as_u64().unwrap() >= 12,
        "{report:#}"
    );
    assert_eq!(report["retry"], false);
    assert!(report["events"].as_array().unwrap().is_empty());

    // Retries and a fallback chain are applied by restarting the gateway on the same port.
    let mut resilient = with_gateway.clone();
    resilient["gateway_retry"] = json!(true);
    resilient["gateway_fallback"] = json!(["claude-opus-4-6", "claude-sonnet-4-6"]);
    let view = invoke(&webview, "set_settings", json!({ "settings": resilient })).unwrap();
    assert_eq!(view["gateway_url"], url.as_str());
    let report = invoke(&webview, "get_gateway", json!({})).unwrap();
    assert_eq!(report["retry"], true);
    assert_eq!(report["fallback"][1], "claude-sonnet-4-6");
    assert_eq!(
        report["stats"]["requests"], 0,
        "a fresh gateway: {report:#}"
    );
    // A change the gateway does not read restarts the engine but not the gateway: its counters
    // (and the user's open connections) survive.
    runtime.block_on(async {
        let reply = reqwest::get(format!("{url}/v1/models")).await.unwrap();
        assert!(reply.status().is_client_error() || reply.status().is_success());
    });
    let mut slower = resilient.clone();
    slower["probe_interval_secs"] = json!(30);
    invoke(&webview, "set_settings", json!({ "settings": slower })).unwrap();
    let report = invoke(&webview, "get_gateway", json!({})).unwrap();
    assert_eq!(report["stats"]["requests"], 1, "{report:#}");
    // The new engine hears the gateway too: the relay follows the restart.
    overload_burst(&runtime, &url);
    wait_for_own_overload(&webview);

    // A chain of one model is refused with the field named.
    let mut lonely = resilient.clone();
    lonely["gateway_fallback"] = json!(["claude-opus-4-6"]);
    let error = invoke(&webview, "set_settings", json!({ "settings": lonely })).unwrap_err();
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains("gateway_fallback"));

    // Issue 15: a chain may go on to other providers, and an OpenAI-compatible server it names
    // must be declared; the refusal names the field.
    let mut elsewhere = resilient.clone();
    elsewhere["gateway_fallback"] = json!([
        "claude-opus-4-6",
        "claude-sonnet-4-6",
        "openai:gpt-4o",
        "openai-compatible:local:llama3"
    ]);
    elsewhere["gateway_fallback_after_secs"] = json!(120);
    let error = invoke(
        &webview,
        "set_settings",
        json!({ "settings": elsewhere.clone() }),
    )
    .unwrap_err();
    assert_eq!(error["kind"], "invalid_settings", "{error:#}");
    assert_eq!(error["field"], "gateway_fallback", "{error:#}");
    assert!(
        error["message"].as_str().unwrap().contains("\"local\""),
        "{error:#}"
    );
    elsewhere["gateway_providers"] =
        json!([{ "name": "local", "base_url": "http://127.0.0.1:9/v1" }]);
    let view = invoke(
        &webview,
        "set_settings",
        json!({ "settings": elsewhere.clone() }),
    )
    .unwrap();
    assert_eq!(view["settings"]["gateway_fallback"][2], "openai:gpt-4o");
    assert_eq!(view["settings"]["gateway_fallback_after_secs"], 120);
    let report = invoke(&webview, "get_gateway", json!({})).unwrap();
    assert_eq!(report["fallback"][3], "openai-compatible:local:llama3");
    assert_eq!(report["fallback_after_secs"], 120);
    // A provider's key goes to the keychain and is reported only as being there.
    let keys = invoke(
        &webview,
        "set_provider_key",
        json!({ "provider": "openai", "key": "sk-proj-SMOKEPRIVATE" }),
    )
    .unwrap();
    assert_eq!(keys[0]["name"], "openai", "{keys:#}");
    assert_eq!(keys[0]["source"], "keychain", "{keys:#}");
    assert_eq!(keys[2]["label"], "openai-compatible:local", "{keys:#}");
    let keys = invoke(&webview, "get_provider_keys", json!({})).unwrap();
    let settings_now = invoke(&webview, "get_settings", json!({})).unwrap();
    for text in [keys.to_string(), settings_now.to_string()] {
        assert!(!text.contains("SMOKEPRIVATE"), "{text}");
    }
    let error = invoke(
        &webview,
        "set_provider_key",
        json!({ "provider": "nobody", "key": "x" }),
    )
    .unwrap_err();
    assert_eq!(error["field"], "provider", "{error:#}");

    // Turned off, it stops listening.
    let mut off = resilient.clone();
    off["gateway"] = json!(false);
    let view = invoke(&webview, "set_settings", json!({ "settings": off })).unwrap();
    assert_eq!(view["gateway_url"], Value::Null);
    let report = invoke(&webview, "get_gateway", json!({})).unwrap();
    assert_eq!(
        (report["enabled"].clone(), report["stats"].clone()),
        (json!(false), Value::Null)
    );
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());

    // The probe-cost notice, answered on the dashboard: dismissed, it is not shown again and the
    // probe stays on; turned off, the probe is off in the settings too.
    let cost = invoke(
        &webview,
        "dismiss_probe_cost_notice",
        json!({ "turnOff": false }),
    )
    .unwrap();
    assert_eq!(cost["notice_shown"], true, "{cost:#}");
    let after = invoke(&webview, "get_settings", json!({})).unwrap();
    assert_eq!(after["settings"]["probe_cost_notice_shown"], true);
    assert_eq!(after["settings"]["streaming_probe"], true);
    let cost = invoke(
        &webview,
        "dismiss_probe_cost_notice",
        json!({ "turnOff": true }),
    )
    .unwrap();
    assert_eq!(cost["notice_shown"], true, "{cost:#}");
    let after = invoke(&webview, "get_settings", json!({})).unwrap();
    assert_eq!(after["settings"]["streaming_probe"], false);
    assert_eq!(
        invoke(&webview, "get_probe_cost", json!({})).unwrap()["notice_shown"],
        true
    );

    // An API key must be one word, and is never echoed; removing none is fine.
    let error = invoke(&webview, "set_api_key", json!({ "key": "two words" })).unwrap_err();
    assert_eq!(error["kind"], "invalid_argument");
    assert!(!error.to_string().contains("two words"));
    let view = invoke(&webview, "set_api_key", json!({ "key": null })).unwrap();
    assert_eq!(view["api_key_configured"], false);
    assert!(view.get("api_key").is_none());

    // The service stops: the tray shows its own state at once, grey, never the last verdict,
    // and the dashboard's commands say the service is unavailable.
    // The tray shows the service's verdict (the overload of the user's own traffic) in colour.
    wait_for_tray(&app, |level, headline| {
        level == Level::Overloaded && headline.starts_with("Overloaded")
    });
    stop.cancel();
    runtime.block_on(served).unwrap();
    wait_for_tray(&app, |level, headline| {
        level == Level::Unknown && headline == "Service not running — reconnecting…"
    });
    let error = invoke(&webview, "get_snapshot", json!({})).unwrap_err();
    assert_eq!(error["kind"], "service_unavailable", "{error:#}");

    // A service on the same socket again: the tray reconnects by itself and shows its verdict.
    // Its verdict comes from the same store, where the user's 529s of a minute ago still are.
    let stop = CancellationToken::new();
    let served = start_service(&runtime, &sim.base_url(), &data_dir, &socket, stop.clone());
    wait_for_tray(&app, |level, headline| {
        matches!(level, Level::Operational | Level::Overloaded) && !headline.starts_with("Service")
    });
    assert_eq!(
        invoke(&webview, "get_settings", json!({})).unwrap()["settings"]["streaming_probe"],
        false,
        "the settings the first service stored"
    );
    stop.cancel();
    runtime.block_on(served).unwrap();

    runtime.block_on(sim.shutdown());
}

/// The model the user's own traffic asks in the gateway steps.
const MODEL: &str = "claude-sonnet-4-6";

/// Twelve streaming requests to [`MODEL`] through the gateway, each overloaded: the simulator
/// answers a streamed overload with a 529 or with a 200 whose stream ends in an overload event,
/// in turn, as the API does.
fn overload_burst(runtime: &tokio::runtime::Runtime, url: &str) {
    runtime.block_on(async {
        let client = reqwest::Client::new();
        for _ in 0..12 {
            let reply = client
                .post(format!("{url}/v1/messages"))
                .header("x-api-key", "sk-ant-smoke-test")
                .header("anthropic-version", "2023-06-01")
                .header("content-type", "application/json")
                .body(format!(r#"{{"model":"{MODEL}","max_tokens":5,"stream":true,"messages":[{{"role":"user","content":"hi"}}]}}"#))
                .send()
                .await
                .unwrap();
            let status = reply.status().as_u16();
            assert!(status == 200 || status == 529, "{status}");
            let body = reply.text().await.unwrap();
            assert!(body.contains("overloaded_error"), "{status}: {body}");
        }
    });
}

/// Waits (10 s at most) for the verdict to say that [`MODEL`], which the user's own traffic
/// asks, is overloaded: its own line first ("Sonnet 4.6: overloaded, 529 on 5 of the last 5 of
/// your requests"), and the model named as the verdict's subject.
fn wait_for_own_overload<W: AsRef<tauri::Webview<tauri::test::MockRuntime>>>(webview: &W) {
    let started = Instant::now();
    loop {
        let snapshot = invoke(webview, "get_snapshot", json!({})).unwrap();
        let first = snapshot["reasons"][0].as_str().unwrap_or("");
        if snapshot["level"] == "overloaded"
            && first.starts_with("Sonnet 4.6: overloaded, 529 on")
            && first.contains("your requests")
            && snapshot["subject"] == MODEL
        {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "not overloaded: {snapshot:#}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
