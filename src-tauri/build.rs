//! Build script: Tauri's code generation, with the app's IPC commands declared so the capability
//! file can grant the dashboard exactly these and nothing else.

fn main() {
    let commands: &[&str] = &[
        "get_snapshot",
        "get_history",
        "get_incident",
        "list_incidents",
        "get_settings",
        "set_settings",
        "set_api_key",
        "check_now",
        "open_status_page",
        "get_probe_series",
        "open_external",
        "set_admin_key",
        "get_gateway",
        "get_probe_cost",
        "dismiss_probe_cost_notice",
        "get_usage_blocks",
        "get_advice",
        "get_status_line",
        "install_status_line",
        "uninstall_status_line",
        "get_alert_channels",
        "set_alert_secret",
        "send_test_alert",
        "get_provider_keys",
        "set_provider_key",
    ];
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(commands)),
    )
    .unwrap_or_else(|e| panic!("tauri build step failed: {e}"));
}
