//! The dashboard: a process of its own (`claude-status-tray --dashboard`), started from the tray,
//! that hosts the one window and ends when it closes, so the long-running tray never holds a
//! webview (WebKit keeps its context, about 150 MB, for the life of the process that made it).

use std::process::{Command, Stdio};

use tauri::{AppHandle, Emitter, Manager, Runtime, WebviewUrl, WebviewWindowBuilder};

use crate::events::{FrontendEvent, OpenIncident};
use crate::state::AppState;

/// The dashboard window's label (the capability file grants commands to this label only).
pub const DASHBOARD: &str = "dashboard";

/// Whether an incident id is safe to put in the window's URL and on a command line.
fn plain_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 200
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '|' || c == '-')
}

/// Starts a dashboard process, optionally on one incident; a dashboard already open takes the
/// request and comes to the front instead (the single-instance rule of its mode).
pub fn spawn_dashboard(state: &AppState, incident: Option<&str>) {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            tracing::error!("could not find this program to open the dashboard: {e}");
            return;
        }
    };
    let mut command = Command::new(exe);
    command.arg("--dashboard");
    if state.demo {
        command.arg("--demo");
    }
    if let Some(id) = incident.filter(|id| plain_id(id)) {
        command.args(["--incident", id]);
    }
    command.stdin(Stdio::null());
    match command.spawn() {
        Ok(mut child) => {
            let pid = child.id();
            tracing::info!("opened the dashboard (pid {pid})");
            // Reaped when it ends, so no zombie stays behind the long-running tray.
            let reaper = std::thread::Builder::new()
                .name("dashboard-wait".to_owned())
                .spawn(move || match child.wait() {
                    Ok(status) if status.success() => {
                        tracing::info!("the dashboard (pid {pid}) closed")
                    }
                    Ok(status) => tracing::warn!("the dashboard (pid {pid}) ended: {status}"),
                    Err(e) => tracing::warn!("could not wait for the dashboard: {e}"),
                });
            if let Err(e) = reaper {
                tracing::warn!("could not watch the dashboard: {e}");
            }
        }
        Err(e) => tracing::error!("could not open the dashboard: {e}"),
    }
}

/// Opens (or focuses) the dashboard window in this dashboard process, optionally on one
/// incident; `false` when the window could not be created.
pub fn open_dashboard<R: Runtime>(app: &AppHandle<R>, incident: Option<&str>) -> bool {
    if let Some(window) = app.get_webview_window(DASHBOARD) {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
        if let Some(id) = incident {
            let _ = window.emit(
                FrontendEvent::OpenIncident.name(),
                OpenIncident { id: id.to_owned() },
            );
        }
        return true;
    }
    // A new window reads the incident from its URL, since it cannot have heard an event yet.
    let path = match incident {
        Some(id) if plain_id(id) => format!("index.html?incident={id}"),
        _ => "index.html".to_owned(),
    };
    let built = WebviewWindowBuilder::new(app, DASHBOARD, WebviewUrl::App(path.into()))
        .title("Claude Status")
        .inner_size(440.0, 680.0)
        .min_inner_size(380.0, 480.0)
        .build();
    match built {
        Ok(window) => {
            let _ = window.set_focus();
            true
        }
        Err(e) => {
            tracing::error!("could not open the dashboard: {e}");
            false
        }
    }
}

/// The incident a dashboard's command line asks for (`--incident ID`).
pub fn incident_arg(args: &[String]) -> Option<String> {
    args.iter()
        .position(|a| a == "--incident")
        .and_then(|at| args.get(at + 1))
        .filter(|id| plain_id(id))
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_incident_ids_pass_to_the_dashboard() {
        let args = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            incident_arg(&args(&["app", "--dashboard", "--incident", "abc-1"])),
            Some("abc-1".to_owned())
        );
        assert_eq!(incident_arg(&args(&["app", "--incident"])), None);
        assert_eq!(
            incident_arg(&args(&["app", "--incident", "a&b=c"])),
            None,
            "nothing that could change the URL"
        );
    }
}
