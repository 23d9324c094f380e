//! The events the shell pushes to the dashboard: one enum, one function that names them.

use serde::Serialize;

/// An event for the dashboard window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrontendEvent {
    /// The snapshot changed; the payload is the new `Snapshot`.
    SnapshotChanged,
    /// The tray asks the dashboard to show an incident; the payload is `{ id }`.
    OpenIncident,
}

impl FrontendEvent {
    /// The event's name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            FrontendEvent::SnapshotChanged => "snapshot-changed",
            FrontendEvent::OpenIncident => "open-incident",
        }
    }
}

/// The payload of [`FrontendEvent::OpenIncident`].
#[derive(Debug, Clone, Serialize)]
pub struct OpenIncident {
    pub id: String,
}
