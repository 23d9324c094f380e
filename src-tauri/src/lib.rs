//! The Claude Status tray app: the only crate that knows Tauri. It is a client of the service
//! (`claude-status service run`, which owns the engine, the store and the gateway): the tray
//! process follows the service's stream and turns it into a tray icon and menu and OS
//! notifications; the dashboard is the same binary in another mode (`--dashboard`), a process of
//! its own that hosts the window, forwards its IPC to the service and ends when the window
//! closes. The tray process never creates a webview.

mod client;
mod commands;
mod events;
mod follow;
mod notify;
mod state;
mod supervisor;
mod tray;
mod window;

use std::path::PathBuf;
use std::sync::Arc;

use claude_status_core::Level;
use tauri::{Manager, RunEvent, Runtime};

pub use events::FrontendEvent;
pub use state::{AppState, Mode};
pub use supervisor::SERVICE_BIN_ENV;

/// The dashboard process's identifier: the single-instance plugin keys on the identifier (a
/// D-Bus name on Linux), so the tray and the dashboard are each single, but apart.
pub const DASHBOARD_IDENTIFIER: &str = "dev.claude-status.tray.dashboard";

/// What to start; tests turn off the parts that need a desktop or a service binary.
#[derive(Debug, Clone)]
pub struct AppOptions {
    pub mode: Mode,
    /// The demo's service (its own data directory and socket).
    pub demo: bool,
    /// The service's data directory (where its log goes when this process starts it).
    pub data_dir: PathBuf,
    /// The service's control socket.
    pub socket: PathBuf,
    /// Create the tray icon (tray mode; needs a desktop session).
    pub tray: bool,
    /// Follow the service's stream (and start one when none runs and `start_service` allows).
    pub follow: bool,
    /// Start the service when none runs; tests run their own.
    pub start_service: bool,
    /// Register as the single instance of the mode (a D-Bus name on Linux), so a second launch
    /// goes to the first.
    pub single_instance: bool,
    /// Dashboard mode: open the window at start (on this incident).
    pub window: bool,
    pub incident: Option<String>,
}

impl AppOptions {
    /// The options of a real launch, from the command line's choices and the environment.
    pub fn from_env(mode: Mode, demo: bool) -> Result<AppOptions, String> {
        let data_dir = claude_status_engine::paths::data_dir(None).map_err(|e| e.to_string())?;
        // The demo's service keeps its own history and socket, as `service run --demo` does.
        let data_dir = if demo {
            data_dir.join("demo")
        } else {
            data_dir
        };
        let socket = claude_status_engine::control::socket_path(&data_dir);
        Ok(AppOptions {
            mode,
            demo,
            data_dir,
            socket,
            tray: mode == Mode::Tray,
            follow: true,
            start_service: true,
            single_instance: true,
            window: mode == Mode::Dashboard,
            incident: None,
        })
    }
}

/// Builds the app on any runtime, so the smoke test can use `tauri::test::mock_builder()`.
pub fn build_app<R: Runtime>(
    builder: tauri::Builder<R>,
    mut context: tauri::Context<R>,
    options: AppOptions,
) -> tauri::Result<tauri::App<R>> {
    if options.mode == Mode::Dashboard {
        context.config_mut().identifier = DASHBOARD_IDENTIFIER.to_owned();
    }
    let mode = options.mode;
    let builder = if options.single_instance {
        // A second launch goes to the first instead of starting a second tray icon or window. It
        // must be the first plugin, so the second instance exits before anything else starts.
        builder.plugin(tauri_plugin_single_instance::init(
            move |app, args, _cwd| {
                match mode {
                    // A second tray launch opens the dashboard, as a click on the icon would.
                    Mode::Tray => {
                        let state = app.state::<Arc<AppState>>();
                        window::spawn_dashboard(&state, window::incident_arg(&args).as_deref());
                    }
                    Mode::Dashboard => {
                        window::open_dashboard(app, window::incident_arg(&args).as_deref());
                    }
                }
            },
        ))
    } else {
        builder
    };
    let builder = builder
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
            commands::open_status_page,
            commands::get_probe_series,
            commands::open_external,
            commands::set_admin_key,
            commands::get_gateway,
            commands::get_probe_cost,
            commands::get_usage_blocks,
            commands::get_advice,
            commands::get_status_line,
            commands::install_status_line,
            commands::uninstall_status_line,
            commands::dismiss_probe_cost_notice,
            commands::get_alert_channels,
            commands::set_alert_secret,
            commands::send_test_alert,
            commands::get_provider_keys,
            commands::set_provider_key,
        ])
        .build(context)
        .and_then(|mut app| {
            start(&mut app, options)?;
            Ok(app)
        })
}

/// Manages the state, creates the tray icon or the window, and starts following the service.
/// Done right after `build` rather than in a setup hook, which only runs once the event loop
/// starts, so that a test on the mock runtime gets the same app as a real launch.
fn start<R: Runtime>(app: &mut tauri::App<R>, options: AppOptions) -> tauri::Result<()> {
    // No dock icon and no taskbar entry for the tray: it lives in the tray.
    #[cfg(target_os = "macos")]
    if options.mode == Mode::Tray {
        app.set_activation_policy(tauri::ActivationPolicy::Accessory);
    }

    let handle = app.handle().clone();
    let launcher = options.start_service.then(|| {
        supervisor::Launcher::new(
            options.demo,
            options.socket.clone(),
            options.data_dir.clone(),
            options.mode == Mode::Tray,
        )
    });
    app.manage(Arc::new(AppState::new(
        options.mode,
        options.demo,
        options.data_dir.clone(),
        options.socket.clone(),
        launcher,
    )));
    if options.tray {
        tray::create(&handle)?;
    }
    if options.mode == Mode::Dashboard && options.follow {
        // The page asks for the snapshot, the settings and the history as it loads: a service
        // must answer by then (bounded: a few seconds at most).
        let state = app.state::<Arc<AppState>>().inner().clone();
        tauri::async_runtime::block_on(follow::start_if_absent(&state));
    }
    if options.window && !window::open_dashboard(&handle, options.incident.as_deref()) {
        return Err(tauri::Error::Setup(
            Box::<dyn std::error::Error>::from("the dashboard window could not be created").into(),
        ));
    }
    if options.follow {
        tauri::async_runtime::spawn(follow::follow(handle));
    }
    Ok(())
}

/// What the tray shows now: the icon's level and the menu's first line (for tests, which have
/// no tray to look at).
pub fn tray_status<R: Runtime>(app: &tauri::App<R>) -> (Level, String) {
    let state = app.state::<Arc<AppState>>();
    let view = tray::View::of(&state);
    (view.level(), view.headline())
}

const USAGE: &str = "usage: claude-status-tray [--demo] [--dashboard [--incident ID]]";

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
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--demo" | "--dashboard" => {}
            "--incident" if rest.next().is_some() => {}
            unknown => {
                eprintln!("claude-status-tray: unknown argument {unknown:?}\n{USAGE}");
                std::process::exit(64);
            }
        }
    }
    let demo = args.iter().any(|a| a == "--demo");
    let mode = if args.iter().any(|a| a == "--dashboard") {
        Mode::Dashboard
    } else {
        Mode::Tray
    };
    let mut options = match AppOptions::from_env(mode, demo) {
        Ok(options) => options,
        Err(e) => {
            eprintln!("claude-status-tray: {e}");
            std::process::exit(64);
        }
    };
    if mode == Mode::Dashboard {
        options.incident = window::incident_arg(&args);
    }
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
    app.run(move |_app, event| {
        // The tray has no window whose closing could end it; only Quit (with an exit code) does.
        // The dashboard ends when its window closes: that request passes.
        if let RunEvent::ExitRequested {
            code: None, api, ..
        } = event
        {
            if mode == Mode::Tray {
                api.prevent_exit();
            }
        }
    });
}
