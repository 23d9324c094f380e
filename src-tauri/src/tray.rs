//! The tray icon and its menu: the icon's colour and glyph say the level, the first menu line says
//! the verdict (Linux trays show no tooltip), one line per followed model says how that model
//! answers, and the menu is the way in on platforms that report no clicks. While the service is
//! unreachable the tray shows that instead, in grey, with a "Restart service" item.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Local, Utc};
use claude_status_core::report::Snapshot;
use claude_status_core::tray::{render_icon, shorten, tray_look};
use claude_status_core::verdict::model_line;
use claude_status_core::Level;
use claude_status_engine::control::proto::Call;
use claude_status_engine::service::SettingsView;
use tauri::image::Image;
use tauri::menu::{Menu, MenuEvent, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_opener::OpenerExt;

use crate::follow::{unreachable, Unreachable};
use crate::state::{lock, AppState};
use crate::window;

/// The tray icon's id.
const TRAY_ID: &str = "claude-status";
/// Icons are drawn at this size; panels scale them down, and 64 px stays crisp at 2× scaling.
const ICON_SIZE: u32 = 64;
/// At most this many incidents are listed in the menu.
const MENU_INCIDENTS: usize = 5;
/// At most this many followed models get a line; the dashboard lists them all.
const MENU_MODELS: usize = 5;
/// The longest model line, in characters: a reason with numbers fits, a long detail does not.
const MODEL_LINE_CHARS: usize = 80;
/// The longest gateway line in the menu, in characters (an OS error can be long).
const GATEWAY_LINE_CHARS: usize = 60;
/// The longest detail line of the unreachable state, in characters.
const DETAIL_LINE_CHARS: usize = 80;
/// "Pause notifications for 1 hour", in minutes.
const PAUSE_MINUTES: u32 = 60;

/// What the tray shows now, so an unchanged snapshot changes nothing on screen.
struct Shown<R: Runtime> {
    level: Option<Level>,
    /// The menu's structure (its items and their actions). While it stays the same, only the
    /// labels of the status lines (the verdict, "Checked …" and the models' lines) change, in
    /// place: a menu rebuilt under an open menu would replace it, and the item ids a panel knows
    /// would go stale.
    structure: Vec<String>,
    verdict: Option<MenuItem<R>>,
    checked: Option<MenuItem<R>>,
    /// One item per model line, in menu order.
    models: Vec<MenuItem<R>>,
}

struct TrayCache<R: Runtime>(Mutex<Shown<R>>);

fn icon(level: Level) -> Image<'static> {
    Image::new_owned(render_icon(level, ICON_SIZE), ICON_SIZE, ICON_SIZE)
}

/// What the tray shows: the service's verdict, or this process's own state while the service
/// is unreachable.
pub enum View {
    Status {
        snapshot: Box<Snapshot>,
        paused: Option<DateTime<Utc>>,
        /// "Gateway on 127.0.0.1:7529", or why it stopped; `None` while it is off.
        gateway: Option<String>,
    },
    Unreachable(Unreachable),
}

impl View {
    /// The view of the state now.
    pub fn of(state: &AppState) -> View {
        let now = Utc::now();
        match (unreachable(state), state.snapshot()) {
            (None, Some(snapshot)) => View::Status {
                snapshot: Box::new(snapshot),
                paused: state.paused_until(now),
                gateway: state.settings_view().as_ref().and_then(gateway_line),
            },
            (Some(unreachable), _) => View::Unreachable(unreachable),
            // Connected without a snapshot yet: `unreachable` says "connecting" then, so this
            // only guards against the two being read a moment apart.
            (None, None) => View::Unreachable(Unreachable {
                headline: "Connecting to the Claude Status service…".to_owned(),
                detail: None,
                restartable: false,
            }),
        }
    }

    /// The icon's level: the verdict's, or unknown (grey) while the service is unreachable.
    pub fn level(&self) -> Level {
        match self {
            View::Status { snapshot, .. } => snapshot.level,
            View::Unreachable(_) => Level::Unknown,
        }
    }

    /// The menu's first line.
    pub fn headline(&self) -> String {
        match self {
            View::Status {
                snapshot, paused, ..
            } => tray_look(snapshot, Utc::now(), *paused).title,
            View::Unreachable(unreachable) => unreachable.headline.clone(),
        }
    }

    /// The hover tooltip (shown where the platform has one).
    fn tooltip(&self) -> String {
        match self {
            View::Status {
                snapshot, paused, ..
            } => tray_look(snapshot, Utc::now(), *paused).tooltip,
            View::Unreachable(unreachable) => shorten(
                &[
                    Some(unreachable.headline.as_str()),
                    unreachable.detail.as_deref(),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("\n"),
                claude_status_core::tray::TOOLTIP_MAX_CHARS,
            ),
        }
    }
}

/// The gateway's line, while the settings ask for it: where to point code, or why it is not
/// running.
fn gateway_line(view: &SettingsView) -> Option<String> {
    match (&view.gateway_url, &view.gateway_error) {
        (Some(url), _) => Some(format!("Gateway on {}", url.trim_start_matches("http://"))),
        (None, Some(error)) => Some(shorten(
            &format!("Gateway stopped: {error}"),
            GATEWAY_LINE_CHARS,
        )),
        (None, None) => None,
    }
}

/// Creates the tray icon with the current (initial) state.
pub fn create<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    app.manage(TrayCache::<R>(Mutex::new(Shown {
        level: None,
        structure: Vec::new(),
        verdict: None,
        checked: None,
        models: Vec::new(),
    })));
    let state = app.state::<Arc<AppState>>();
    let view = View::of(&state);
    let (menu, _) = build_menu(app, &view)?.into_menu();
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon(view.level()))
        .tooltip("Claude Status")
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(on_menu_event)
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                let state = tray.app_handle().state::<Arc<AppState>>();
                window::spawn_dashboard(&state, None);
            }
        })
        .build(app)?;
    update(app);
    Ok(())
}

/// Brings the icon, tooltip and menu in line with the latest state; cheap when nothing changed.
pub fn update<R: Runtime>(app: &AppHandle<R>) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    let Some(cache) = app.try_state::<TrayCache<R>>() else {
        return;
    };
    let state = app.state::<Arc<AppState>>();
    let view = View::of(&state);
    let mut shown = lock(&cache.0);
    if shown.level != Some(view.level()) {
        if let Err(e) = tray.set_icon(Some(icon(view.level()))) {
            tracing::warn!("could not change the tray icon: {e}");
        }
        shown.level = Some(view.level());
    }
    let _ = tray.set_tooltip(Some(&view.tooltip()));
    let built = match build_menu(app, &view) {
        Ok(built) => built,
        Err(e) => {
            tracing::warn!("could not build the tray menu: {e}");
            return;
        }
    };
    if built.structure == shown.structure {
        // Same items: change the two status labels in place.
        if let Some(item) = &shown.verdict {
            let _ = item.set_text(built.verdict_text.as_str());
        }
        if let (Some(item), Some(text)) = (&shown.checked, built.checked_text.as_deref()) {
            let _ = item.set_text(text);
        }
        for (item, text) in shown.models.iter().zip(&built.model_texts) {
            let _ = item.set_text(text.as_str());
        }
        return;
    }
    shown.structure = built.structure.clone();
    shown.verdict = Some(built.verdict.clone());
    shown.checked = built.checked.clone();
    shown.models = built.models.clone();
    if let Err(e) = tray.set_menu(Some(built.menu)) {
        tracing::warn!("could not change the tray menu: {e}");
    }
}

/// A built menu, its structure, and handles to the status lines that change in place.
struct BuiltMenu<R: Runtime> {
    menu: Menu<R>,
    structure: Vec<String>,
    verdict: MenuItem<R>,
    verdict_text: String,
    checked: Option<MenuItem<R>>,
    checked_text: Option<String>,
    models: Vec<MenuItem<R>>,
    model_texts: Vec<String>,
}

impl<R: Runtime> BuiltMenu<R> {
    fn into_menu(self) -> (Menu<R>, Vec<String>) {
        (self.menu, self.structure)
    }
}

/// Muda reads `&` in a label as a shortcut marker; text from the status page may contain one.
fn label(text: &str) -> String {
    text.replace('&', "&&")
}

/// The menu's lines for the followed models, most used first (the snapshot's order), keyed by
/// model id: "Opus 5.5: overloaded, 529 on 3 of the last 4 probes".
pub fn model_lines(snapshot: &Snapshot) -> Vec<(String, String)> {
    snapshot
        .models
        .iter()
        .filter(|m| m.followed)
        .take(MENU_MODELS)
        .map(|m| (m.model.clone(), shorten(&model_line(m), MODEL_LINE_CHARS)))
        .collect()
}

/// The longest plan-window line, in characters.
const PLAN_LINE_CHARS: usize = 96;

/// The menu's lines for the subscription plan's windows, keyed by window: "Session (5 h): 62 %,
/// resets 15:40 — at this pace 100 % at 14:55, 45 min before the reset" (core's sentences, the
/// same as `check` and the status line; a stale reading says so instead of an old percentage).
pub fn plan_lines(
    snapshot: &Snapshot,
    now: DateTime<Utc>,
    zone: &claude_status_core::aggregate::DayZone,
) -> Vec<(String, String)> {
    snapshot
        .usage
        .as_ref()
        .map(|usage| usage.plan.as_slice())
        .unwrap_or(&[])
        .iter()
        .map(|window| {
            let line = claude_status_core::plan::window_with_pace(window, now, zone);
            (window.window.clone(), shorten(&line, PLAN_LINE_CHARS))
        })
        .collect()
}

/// Said plainly whenever the app cannot see an overload (no key and no gateway), so the menu
/// never implies that overloads are watched when they are not.
pub fn coverage_line(snapshot: &Snapshot) -> Option<String> {
    snapshot.coverage.warning.clone()
}

/// The menu; its structure lists every item but the status lines' changing text.
fn build_menu<R: Runtime>(app: &AppHandle<R>, view: &View) -> tauri::Result<BuiltMenu<R>> {
    let menu = Menu::new(app)?;
    let mut structure = Vec::new();
    let mut add = |menu: &Menu<R>, id: &str, text: String, enabled: bool| -> tauri::Result<()> {
        structure.push(format!("{id}={text}={enabled}"));
        menu.append(&MenuItem::with_id(
            app,
            id,
            label(&text),
            enabled,
            None::<&str>,
        )?)
    };

    let verdict_text = label(&view.headline());
    let verdict = MenuItem::with_id(app, "verdict", &verdict_text, false, None::<&str>)?;
    menu.append(&verdict)?;
    let (snapshot, paused, gateway) = match view {
        View::Status {
            snapshot,
            paused,
            gateway,
        } => (snapshot, *paused, gateway),
        View::Unreachable(unreachable) => {
            // The tray's own state: what is wrong, the way to fix it, and nothing that needs a
            // service.
            let mut structure_head = vec!["unreachable".to_owned()];
            if let Some(detail) = &unreachable.detail {
                add(&menu, "detail", shorten(detail, DETAIL_LINE_CHARS), false)?;
            }
            menu.append(&PredefinedMenuItem::separator(app)?)?;
            if unreachable.restartable {
                add(&menu, "restart-service", "Restart service".to_owned(), true)?;
            }
            add(&menu, "open", "Open dashboard".to_owned(), true)?;
            add(&menu, "status-page", "Open status page".to_owned(), true)?;
            menu.append(&PredefinedMenuItem::separator(app)?)?;
            add(&menu, "quit", "Quit Claude Status".to_owned(), true)?;
            structure_head.append(&mut structure);
            return Ok(BuiltMenu {
                menu,
                structure: structure_head,
                verdict,
                verdict_text,
                checked: None,
                checked_text: None,
                models: Vec::new(),
                model_texts: Vec::new(),
            });
        }
    };
    let checked_text = snapshot.checked_at.map(|checked| {
        format!(
            "Checked {}",
            checked.with_timezone(&Local).format("%H:%M:%S")
        )
    });
    let checked = match &checked_text {
        Some(text) => {
            let item = MenuItem::with_id(app, "checked", text, false, None::<&str>)?;
            menu.append(&item)?;
            Some(item)
        }
        None => None,
    };
    // Whether the "checked" line exists is structure; its text is not.
    let mut structure_head = vec![format!("checked-line={}", checked.is_some())];
    // Which models have a line is structure; what each line says changes in place.
    let mut models = Vec::new();
    let mut model_texts = Vec::new();
    for (model, text) in model_lines(snapshot) {
        let id = format!("model:{model}");
        let text = label(&text);
        let item = MenuItem::with_id(app, &id, &text, false, None::<&str>)?;
        menu.append(&item)?;
        structure_head.push(id);
        models.push(item);
        model_texts.push(text);
    }
    // The plan windows change in place like the models' lines: which windows exist is
    // structure, their percentages are not.
    let zone = claude_status_engine::usage::local_day_zone();
    for (window, text) in plan_lines(snapshot, Utc::now(), &zone) {
        let id = format!("plan:{window}");
        let text = label(&text);
        let item = MenuItem::with_id(app, &id, &text, false, None::<&str>)?;
        menu.append(&item)?;
        structure_head.push(id);
        models.push(item);
        model_texts.push(text);
    }
    if let Some(warning) = coverage_line(snapshot) {
        add(&menu, "coverage", warning, false)?;
    }
    if let Some(gateway) = gateway {
        add(&menu, "gateway", gateway.clone(), false)?;
    }
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    for incident in snapshot.status_page.incidents.iter().take(MENU_INCIDENTS) {
        add(
            &menu,
            &format!("incident:{}", incident.id),
            format!("Incident: {} ({})", incident.name, incident.status),
            true,
        )?;
    }
    if !snapshot.status_page.incidents.is_empty() {
        menu.append(&PredefinedMenuItem::separator(app)?)?;
    }
    add(&menu, "open", "Open dashboard".to_owned(), true)?;
    add(&menu, "status-page", "Open status page".to_owned(), true)?;
    add(&menu, "check", "Check now".to_owned(), true)?;
    let pause_text = match paused {
        Some(until) => format!(
            "Resume notifications (paused until {})",
            until.with_timezone(&Local).format("%H:%M")
        ),
        None => "Pause notifications for 1 hour".to_owned(),
    };
    add(&menu, "pause", pause_text, true)?;
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    // Quit leaves the service (and the user's traffic through its gateway) running; stopping
    // the service is a separate choice that says what it stops.
    add(
        &menu,
        "stop-service",
        "Stop service (stops the gateway)".to_owned(),
        true,
    )?;
    add(&menu, "quit", "Quit Claude Status".to_owned(), true)?;
    structure_head.append(&mut structure);
    Ok(BuiltMenu {
        menu,
        structure: structure_head,
        verdict,
        verdict_text,
        checked,
        checked_text,
        models,
        model_texts,
    })
}

fn on_menu_event<R: Runtime>(app: &AppHandle<R>, event: MenuEvent) {
    let state = app.state::<Arc<AppState>>().inner().clone();
    let id = event.id().as_ref();
    match id {
        "open" => window::spawn_dashboard(&state, None),
        "status-page" => open_status_page(app),
        "check" => call_in_background(app, Call::CheckNow),
        "pause" => {
            let minutes = if state.paused_until(Utc::now()).is_some() {
                0
            } else {
                PAUSE_MINUTES
            };
            call_in_background(app, Call::PauseNotifications { minutes });
        }
        "stop-service" => {
            // Marked first, so the supervisor does not start it again when it goes.
            state.stopped_by_user.store(true, Ordering::Relaxed);
            call_in_background(app, Call::Stop);
        }
        "restart-service" => {
            state.stopped_by_user.store(false, Ordering::Relaxed);
            if let Some(launcher) = &state.launcher {
                launcher.reset();
            }
            state.wake.notify_one();
            update(app);
        }
        // Quits the tray only: the service and its gateway keep running.
        "quit" => app.exit(0),
        other => {
            if let Some(incident) = other.strip_prefix("incident:") {
                window::spawn_dashboard(&state, Some(incident));
            }
        }
    }
}

/// Makes a call for a menu item off the menu's thread; a settings view in the answer (the pause)
/// is shown at once, before the service's `settings` event comes.
fn call_in_background<R: Runtime>(app: &AppHandle<R>, call: Call) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let state = app.state::<Arc<AppState>>().inner().clone();
        let name = call.name();
        match state.service.call_value(call).await {
            Ok(value) => {
                if let Ok(view) = serde_json::from_value::<SettingsView>(value) {
                    *lock(&state.settings) = Some(view);
                    update(&app);
                }
            }
            Err(e) => tracing::warn!("{name}: {e}"),
        }
    });
}

/// Opens the status page the service follows in the system browser.
pub fn open_status_page<R: Runtime>(app: &AppHandle<R>) {
    let state = app.state::<Arc<AppState>>();
    let (url, _) = state.status_urls();
    if let Err(e) = app.opener().open_url(url, None::<&str>) {
        tracing::warn!("could not open the status page: {e}");
    }
}

#[cfg(test)]
mod tests {
    use claude_status_core::models::ModelReport;

    use super::*;

    fn model(id: &str, name: &str, level: Level, reason: &str, followed: bool) -> ModelReport {
        ModelReport {
            model: id.to_owned(),
            class: None,
            display_name: name.to_owned(),
            level,
            reasons: vec![reason.to_owned()]
                .into_iter()
                .filter(|r| !r.is_empty())
                .collect(),
            followed,
            relied_on: followed,
            pinned: false,
            share_7d: 0.0,
            requests_7d: 0,
            probe_interval_secs: None,
            last_probe: None,
            own_traffic: None,
            incidents: Vec::new(),
            retired: None,
        }
    }

    #[test]
    fn one_line_per_followed_model_at_most_five() {
        let mut snapshot = Snapshot::initial();
        snapshot.models = vec![
            model(
                "claude-opus-5-5",
                "Opus 5.5",
                Level::Overloaded,
                "529 on 3 of the last 4 probes",
                true,
            ),
            model(
                "claude-haiku-4-5",
                "Haiku 4.5",
                Level::Operational,
                "",
                true,
            ),
            // Named by the status page, but nobody follows it: no line.
            model(
                "claude-opus-4-5",
                "Opus 4.5",
                Level::Degraded,
                "incident",
                false,
            ),
        ];
        assert_eq!(
            model_lines(&snapshot),
            vec![
                (
                    "claude-opus-5-5".to_owned(),
                    "Opus 5.5: overloaded, 529 on 3 of the last 4 probes".to_owned()
                ),
                (
                    "claude-haiku-4-5".to_owned(),
                    "Haiku 4.5: operational".to_owned()
                ),
            ]
        );
        snapshot.models = (0..7)
            .map(|i| {
                model(
                    &format!("claude-sonnet-4-{i}"),
                    "Sonnet",
                    Level::Operational,
                    "",
                    true,
                )
            })
            .collect();
        assert_eq!(model_lines(&snapshot).len(), MENU_MODELS);
    }

    #[test]
    fn plan_windows_have_a_line_each_and_stale_ones_say_so() {
        use chrono::TimeZone;
        use claude_status_core::plan::{PlanReading, PlanSource, PlanWindows};
        let now = Utc.with_ymd_and_hms(2026, 12, 2, 13, 0, 0).unwrap();
        let reading = |window: &str, percent: f64, seen, reset| PlanReading {
            window: window.to_owned(),
            used_percent: percent,
            resets_at: Some(reset),
            seen_at: seen,
            source: PlanSource::StatusLine,
            client_version: Some("2.1.328".to_owned()),
        };
        let mut windows = PlanWindows::default();
        let reset = Utc.with_ymd_and_hms(2026, 12, 2, 15, 40, 0).unwrap();
        windows.observe(reading(
            "five_hour",
            10.0,
            now - chrono::Duration::minutes(30),
            reset,
        ));
        windows.observe(reading("five_hour", 40.0, now, reset));
        // A week reading from before its reset: stale.
        windows.observe(reading(
            "seven_day",
            41.0,
            now - chrono::Duration::days(8),
            now - chrono::Duration::days(1),
        ));
        let mut snapshot = Snapshot::initial();
        let mut usage = claude_status_core::tracker::Tracker::new(
            claude_status_core::catalog::Catalog::builtin(),
            Default::default(),
        )
        .snapshot(now);
        usage.plan = windows.report(now);
        snapshot.usage = Some(usage);
        let zone = claude_status_core::aggregate::DayZone::utc();
        assert_eq!(
            plan_lines(&snapshot, now, &zone),
            vec![
                (
                    "five_hour".to_owned(),
                    "Session (5 h): 40 %, resets 15:40 — at this pace 100 % at 14:00, 1 h 40 min before the reset".to_owned()
                ),
                (
                    "seven_day".to_owned(),
                    "Week: reset at Tue 13:00, no reading since".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn the_menu_says_when_overloads_are_not_watched() {
        let mut snapshot = Snapshot::initial();
        assert_eq!(coverage_line(&snapshot), None);
        snapshot.coverage.warning = Some(claude_status_core::models::NOT_WATCHED.to_owned());
        assert_eq!(
            coverage_line(&snapshot).as_deref(),
            Some("overloads are not watched: add an API key, or send your traffic through the gateway")
        );
    }
}
