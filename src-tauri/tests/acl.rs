//! The dashboard's capability as Tauri itself enforces it (issue 16, item 6): the app's real
//! context (tauri.conf.json, capabilities/, the commands build.rs declares) on the mock runtime,
//! with stand-ins of the same names as the app's commands, so only the access check is under
//! test. A granted command answers in the dashboard window; a command the capability leaves out,
//! and any command from a window other than the dashboard, is refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{mock_builder, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::WebviewWindowBuilder;

#[tauri::command]
fn get_snapshot() -> u32 {
    1
}

#[tauri::command]
fn check_now() -> u32 {
    2
}

/// Not a command of the app any more: the dashboard never called it, so it was dropped from the
/// capability; a page that calls it must be refused even when a handler exists.
#[tauri::command]
fn pause_notifications() -> u32 {
    3
}

fn invoke(
    webview: &tauri::WebviewWindow<tauri::test::MockRuntime>,
    cmd: &str,
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
            body: InvokeBody::Json(json!({})),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|body| body.deserialize::<Value>().unwrap())
}

#[test]
fn the_dashboard_may_call_only_what_its_capability_grants() {
    let app = mock_builder()
        .invoke_handler(tauri::generate_handler![
            get_snapshot,
            check_now,
            pause_notifications
        ])
        .build(tauri::generate_context!())
        .unwrap();
    let dashboard = WebviewWindowBuilder::new(&app, "dashboard", Default::default())
        .build()
        .unwrap();
    assert_eq!(invoke(&dashboard, "get_snapshot").unwrap(), json!(1));
    assert_eq!(invoke(&dashboard, "check_now").unwrap(), json!(2));
    let refused = invoke(&dashboard, "pause_notifications").unwrap_err();
    assert!(
        refused.to_string().contains("not allowed"),
        "pause_notifications: {refused}"
    );

    let other = WebviewWindowBuilder::new(&app, "other", Default::default())
        .build()
        .unwrap();
    let refused = invoke(&other, "get_snapshot").unwrap_err();
    assert!(
        refused.to_string().contains("not allowed"),
        "another window: {refused}"
    );
}
