//! The tray icon and its menu: the icon's colour and glyph say the level, the first menu line says
//! the verdict (Linux trays show no tooltip), one line per followed model says how that model
//! answers, and the menu is the way in on platforms that report no clicks.

use std::sync::{Arc, Mutex};

use chrono::{Duration, Local, Utc};
use claude_status_core::report::Snapshot;
use claude_status_core::tray::{render_icon, shorten, tray_look};
use claude_status_core::verdict::model_line;
use claude_status_core::Level;
use tauri::image::Image;
use tauri::menu::{Menu, MenuEvent, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_opener::OpenerExt;

use crate::state::{lock, AppState};
use crate::{host, window};

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
/// "Pause notifications for 1 hour".
const PAUSE: Duration = Duration::hours(1);

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
    let snapshot = state.snapshot();
    let (menu, _) = build_menu(app)?.into_menu();
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon(snapshot.level))
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
                window::open_dashboard(tray.app_handle(), None);
            }
        })
        .build(app)?;
    update(app);
    Ok(())
}

/// Brings the icon, tooltip and menu in line with the latest snapshot; cheap when nothing changed.
pub fn update<R: Runtime>(app: &AppHandle<R>) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    let Some(cache) = app.try_state::<TrayCache<R>>() else {
        return;
    };
    let state = app.state::<Arc<AppState>>();
    let snapshot = state.snapshot();
    let look = tray_look(&snapshot, Utc::now(), state.paused_until(Utc::now()));
    let mut shown = lock(&cache.0);
    if shown.level != Some(snapshot.level) {
        if let Err(e) = tray.set_icon(Some(icon(snapshot.level))) {
            tracing::warn!("could not change the tray icon: {e}");
        }
        shown.level = Some(snapshot.level);
    }
    let _ = tray.set_tooltip(Some(&look.tooltip));
    let built = match build_menu(app) {
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

/// Said plainly whenever the app cannot see an overload (no key and no gateway), so the menu
/// never implies that overloads are watched when they are not.
pub fn coverage_line(snapshot: &Snapshot) -> Option<String> {
    snapshot.coverage.warning.clone()
}

/// The menu; its structure lists every item but the status lines' changing text.
fn build_menu<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<BuiltMenu<R>> {
    let state = app.state::<Arc<AppState>>();
    let snapshot = state.snapshot();
    let now = Utc::now();
    let paused = state.paused_until(now);
    let look = tray_look(&snapshot, now, paused);
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

    let verdict_text = label(&look.title);
    let verdict = MenuItem::with_id(app, "verdict", &verdict_text, false, None::<&str>)?;
    menu.append(&verdict)?;
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
    for (model, text) in model_lines(&snapshot) {
        let id = format!("model:{model}");
        let text = label(&text);
        let item = MenuItem::with_id(app, &id, &text, false, None::<&str>)?;
        menu.append(&item)?;
        structure_head.push(id);
        models.push(item);
        model_texts.push(text);
    }
    if let Some(warning) = coverage_line(&snapshot) {
        add(&menu, "coverage", warning, false)?;
    }
    // The gateway, while the settings ask for it: where to point code, or why it is not running.
    let gateway = lock(&state.gateway).clone();
    if let Some(gateway) = gateway {
        let text = match gateway {
            Ok(running) => format!("Gateway on {}", running.url.trim_start_matches("http://")),
            Err(error) => shorten(&format!("Gateway stopped: {error}"), GATEWAY_LINE_CHARS),
        };
        add(&menu, "gateway", text, false)?;
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
    let id = event.id().as_ref();
    match id {
        "open" => window::open_dashboard(app, None),
        "status-page" => open_status_page(app),
        "check" => {
            let app = app.clone();
            tauri::async_runtime::spawn(async move { host::check_now(&app).await });
        }
        "pause" => {
            toggle_pause(app, PAUSE);
            update(app);
        }
        "quit" => app.exit(0),
        other => {
            if let Some(incident) = other.strip_prefix("incident:") {
                window::open_dashboard(app, Some(incident));
            }
        }
    }
}

/// Pauses notifications for `duration`, or resumes them when they are paused.
pub fn toggle_pause<R: Runtime>(app: &AppHandle<R>, duration: Duration) {
    let state = app.state::<Arc<AppState>>();
    let now = Utc::now();
    let mut paused = lock(&state.paused_until);
    *paused = match *paused {
        Some(until) if until > now => None,
        _ => Some(now + duration),
    };
}

/// Opens the status page the app follows in the system browser.
pub fn open_status_page<R: Runtime>(app: &AppHandle<R>) {
    let state = app.state::<Arc<AppState>>();
    let url = state.base.status_url.clone();
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
