//! The dashboard window: created when opened and destroyed when closed, so an idle app holds no
//! webview (a webview costs about 300 MB here).

use tauri::{AppHandle, Emitter, Manager, Runtime, WebviewUrl, WebviewWindowBuilder};

use crate::events::{FrontendEvent, OpenIncident};

/// The dashboard window's label (the capability file grants commands to this label only).
pub const DASHBOARD: &str = "dashboard";

/// Opens (or focuses) the dashboard, optionally on one incident.
pub fn open_dashboard<R: Runtime>(app: &AppHandle<R>, incident: Option<&str>) {
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
        return;
    }
    // A new window reads the incident from its URL, since it cannot have heard an event yet.
    let path = match incident {
        Some(id)
            if id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '|' || c == '-') =>
        {
            format!("index.html?incident={id}")
        }
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
        }
        Err(e) => tracing::error!("could not open the dashboard: {e}"),
    }
}
