//! OS notifications (notify-rust: D-Bus on Linux, the notification centre on macOS, toasts on
//! Windows) from the service's stream, with a last guard against floods on top of the core's
//! deduplication. The user's switch and the pause are the service's to apply: it sends only the
//! notifications to show.

use std::sync::Arc;

use chrono::{Duration, Utc};
use claude_status_core::alerts::Notification;
use tauri::{AppHandle, Manager, Runtime};

use crate::state::{lock, AppState};

/// At most this many notifications within [`FLOOD_WINDOW`]; the core already deduplicates and
/// holds back flapping, so this only catches what nothing else foresaw.
const FLOOD_LIMIT: usize = 5;
const FLOOD_WINDOW: Duration = Duration::minutes(2);

/// Shows a notification unless notifications are flooding. The core built its
/// title and body (they name the model and, when there is one, the alternative), so they pass
/// through unchanged.
pub fn show<R: Runtime>(app: &AppHandle<R>, notification: Notification) {
    let icon = icon_name(&notification);
    show_message(app, notification.title, notification.body, icon);
}

/// Shows a notification with this title, body and freedesktop icon name under the same rules as
/// [`show`]; returns whether it was handed to the OS (false when flooding).
pub fn show_message<R: Runtime>(
    app: &AppHandle<R>,
    title: String,
    body: String,
    icon: &'static str,
) -> bool {
    let state = app.state::<Arc<AppState>>();
    let now = Utc::now();
    {
        let mut recent = lock(&state.recent_notifications);
        while recent.front().is_some_and(|at| now - *at > FLOOD_WINDOW) {
            recent.pop_front();
        }
        if recent.len() >= FLOOD_LIMIT {
            tracing::warn!(
                "holding back a notification: {FLOOD_LIMIT} shown in the last {} minutes",
                FLOOD_WINDOW.num_minutes()
            );
            return false;
        }
        recent.push_back(now);
    }
    let identifier = app.config().identifier.clone();
    // The D-Bus call can block for a moment; keep it off the async workers.
    tauri::async_runtime::spawn_blocking(move || {
        let mut os = notify_rust::Notification::new();
        os.appname("Claude Status")
            .summary(&title)
            .body(&body)
            .icon(icon);
        #[cfg(all(unix, not(target_os = "macos")))]
        os.hint(notify_rust::Hint::DesktopEntry(identifier));
        #[cfg(not(all(unix, not(target_os = "macos"))))]
        let _ = identifier;
        if let Err(e) = os.show() {
            tracing::warn!("could not show a notification: {e}");
        }
    });
    true
}

/// A freedesktop icon name that matches the notification's weight.
fn icon_name(notification: &Notification) -> &'static str {
    use claude_status_core::alerts::AlertKind;
    match notification.kind {
        AlertKind::Recovered
        | AlertKind::IncidentResolved
        | AlertKind::ProviderBack
        | AlertKind::TrafficSpikeOver => "emblem-ok-symbolic",
        AlertKind::Trouble
        | AlertKind::Flapping
        | AlertKind::ProviderFallback
        | AlertKind::UsageThreshold
        | AlertKind::SpendCapReached
        | AlertKind::TrafficSpike => "dialog-warning",
        AlertKind::IncidentOpened | AlertKind::IncidentUpdated => "dialog-information",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use claude_status_core::fallback::{notification, GateNotice};

    /// Issue 17: a spike in the gateway's traffic warns, and its end says all is well again.
    #[test]
    fn a_traffic_spike_warns_and_its_end_reassures() {
        use claude_status_core::alerts::{AlertKind, Notification};
        use claude_status_core::Level;
        let spike = |kind| Notification {
            kind,
            level: Level::Degraded,
            title: "Opus 4.5: cost per 1,000 requests $41.20".to_owned(),
            body: "Over twice its 7-day median of $18.05 for 10 minutes.".to_owned(),
            incident_id: None,
            key: "spike:cost_per_1k:claude-opus-4-5".to_owned(),
            model: Some("claude-opus-4-5".to_owned()),
        };
        assert_eq!(icon_name(&spike(AlertKind::TrafficSpike)), "dialog-warning");
        assert_eq!(
            icon_name(&spike(AlertKind::TrafficSpikeOver)),
            "emblem-ok-symbolic"
        );
    }

    /// Issue 15: the gateway's move to another provider warns, its return says all is well, and
    /// both keep the core's own words (the model's name and the target).
    #[test]
    fn provider_moves_warn_and_their_return_reassures() {
        let at = Utc.with_ymd_and_hms(2026, 8, 21, 12, 0, 0).unwrap();
        let moved = notification(&GateNotice::Moved {
            model: "claude-opus-4-6".to_owned(),
            target: "openai:gpt-4o".to_owned(),
            at,
            reason: "overloaded for 6 min".to_owned(),
        });
        assert_eq!(icon_name(&moved), "dialog-warning");
        assert!(moved.title.contains("openai:gpt-4o"), "{}", moved.title);
        let back = notification(&GateNotice::Back {
            model: "claude-opus-4-6".to_owned(),
            target: "openai:gpt-4o".to_owned(),
            at,
            away_secs: 600,
        });
        assert_eq!(icon_name(&back), "emblem-ok-symbolic");
        assert!(back.title.contains("back on Claude"), "{}", back.title);
    }
}
