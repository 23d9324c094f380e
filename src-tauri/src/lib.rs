//! The Claude Status tray app: the only crate that knows Tauri. It runs the engine, follows its
//! snapshot channel, and turns it into a tray icon and menu, OS notifications, and IPC for the
//! dashboard window, which exists only while it is open.

mod commands;
mod config;
mod events;
mod gateway;
mod host;
mod notify;
mod probe_cost;
mod settings;
mod state;
mod tray;
mod window;

use std::sync::Arc;

use tauri::{Manager, RunEvent, Runtime};

pub use config::{BaseConfig, DemoMode};
pub use events::FrontendEvent;
pub use state::AppState;

/// What to start; tests turn off the parts that need a desktop.
#[derive(Debug, Clone)]
pub struct AppOptions {
    pub base: BaseConfig,
    /// Create the tray icon (needs a desktop session).
    pub tray: bool,
    /// Start the engine (probes and polls).
    pub engine: bool,
    /// Register as the single instance (a D-Bus name on Linux), so a second launch focuses the
    /// first.
    pub single_instance: bool,
    /// Open the dashboard at start (`--dashboard`), as a second launch would.
    pub open_dashboard: bool,
}

/// Builds the app on any runtime, so the smoke test can use `tauri::test::mock_builder()`.
pub fn build_app<R: Runtime>(
    builder: tauri::Builder<R>,
    context: tauri::Context<R>,
    options: AppOptions,
) -> tauri::Result<tauri::App<R>> {
    let builder = if options.single_instance {
        // A second launch focuses the first instead of starting a second tray icon. It must be
        // the first plugin, so the second instance exits before anything else starts.
        builder.plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            window::open_dashboard(app, None);
        }))
    } else {
        builder
    };
    let builder = builder
        .plugin(tauri_plugin_store::Builder::default().build())
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            None,
        ));
    builder
        .invoke_handler(tauri::generate_handler![
            commands::get_snapshot,
            commands::get_history,
            commands::get_incident,
            commands::list_incidents,
            commands::get_settings,
            commands::set_settings,
            commands::set_api_key,
            commands::check_now,
            commands::pause_notifications,
            commands::open_status_page,
            commands::get_probe_series,
            commands::open_external,
            commands::set_admin_key,
            commands::get_gateway,
            commands::get_probe_cost,
            commands::dismiss_probe_cost_notice,
        ])
        .build(context)
        .and_then(|mut app| {
            start(&mut app, options)?;
            Ok(app)
        })
}

/// Manages the state, creates the tray icon and starts the engine. Done right after `build`
/// rather than in a setup hook, which only runs once the event loop starts, so that a test on the
/// mock runtime gets the same app as a real launch.
fn start<R: Runtime>(app: &mut tauri::App<R>, options: AppOptions) -> tauri::Result<()> {
    // No dock icon and no taskbar entry: the app lives in the tray.
    #[cfg(target_os = "macos")]
    app.set_activation_policy(tauri::ActivationPolicy::Accessory);

    let handle = app.handle().clone();
    let state = AppState::open(&handle, options.base.clone())
        .map_err(|e| tauri::Error::Setup(Box::<dyn std::error::Error>::from(e).into()))?;
    app.manage(Arc::new(state));
    if options.tray {
        tray::create(&handle)?;
    }
    if options.open_dashboard {
        window::open_dashboard(&handle, None);
    }
    if options.engine {
        tauri::async_runtime::spawn(async move {
            host::restart_engine(&handle).await;
        });
    }
    Ok(())
}

/// Starts the app from the command line: `claude-status-tray [--demo] [--dashboard]`.
pub fn run() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CLAUDE_STATUS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(unknown) = args
        .iter()
        .find(|a| !matches!(a.as_str(), "--demo" | "--dashboard"))
    {
        eprintln!(
            "claude-status-tray: unknown argument {unknown:?}\nusage: claude-status-tray [--demo] [--dashboard]"
        );
        std::process::exit(64);
    }
    let demo = args.iter().any(|a| a == "--demo");
    let base = match BaseConfig::from_env(if demo { DemoMode::On } else { DemoMode::Off }) {
        Ok(base) => base,
        Err(e) => {
            eprintln!("claude-status-tray: {e}");
            std::process::exit(64);
        }
    };
    let options = AppOptions {
        base,
        tray: true,
        engine: true,
        single_instance: true,
        open_dashboard: args.iter().any(|a| a == "--dashboard"),
    };
    let app = match build_app(
        tauri::Builder::default(),
        tauri::generate_context!(),
        options,
    ) {
        Ok(app) => app,
        Err(e) => {
            eprintln!("claude-status-tray: could not start: {e}");
            std::process::exit(70);
        }
    };
    app.run(|app, event| {
        match event {
            // Closing the dashboard must not quit the app: it lives in the tray. An explicit
            // Quit passes an exit code and goes through.
            RunEvent::ExitRequested {
                code: None, api, ..
            } => api.prevent_exit(),
            RunEvent::Exit => host::stop_engine_blocking(app),
            _ => {}
        }
    });
}
