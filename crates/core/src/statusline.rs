//! Claude Code's status line: the JSON it hands its `statusLine` command (claude-code.md H3),
//! read leniently, and the one or two lines `claude-status statusline` prints from it and from
//! what the service (or the store) knows.
//!
//! Pure: the caller reads stdin, asks the service or the store, and passes `now`. Every field of
//! the input may be absent, null or of another type; each missing one only drops its segment.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::aggregate::DayZone;
use crate::level::Level;
use crate::plan::{self, Freshness, Pace, PlanReading, PlanSource, PlanWindowReport};
use crate::report::Snapshot;
use crate::tracker::CostFigure;

/// The most stdin a status line reads: Claude Code's object is a few kilobytes.
pub const MAX_INPUT_BYTES: usize = 256 * 1024;

/// What one status-line run was told by Claude Code.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusInput {
    pub session_id: Option<String>,
    /// `model.id` (`claude-opus-5-5`).
    pub model_id: Option<String>,
    /// `model.display_name` ("Opus 5.5").
    pub model_display: Option<String>,
    /// Claude Code's version.
    pub version: Option<String>,
    /// `cost.total_cost_usd`: Claude Code's own estimate of the session's cost.
    pub session_cost_usd: Option<f64>,
    /// `context_window.used_percentage`, or computed from `current_usage` and the window size.
    pub context_used_percent: Option<f64>,
    /// `rate_limits.*`: the plan windows, present for subscribers only.
    pub rate_limits: Vec<PlanReading>,
}

/// Why the input gave nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputError {
    Empty,
    TooLarge,
    NotJson(String),
    NotAnObject,
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InputError::Empty => write!(f, "no status-line input"),
            InputError::TooLarge => write!(f, "status-line input too large"),
            InputError::NotJson(_) => write!(f, "status-line input is not JSON"),
            InputError::NotAnObject => write!(f, "status-line input is not an object"),
        }
    }
}

/// The most a session is believed to cost: a larger `total_cost_usd` is a broken input, and
/// printed it would fill the line with digits.
const MAX_SESSION_COST_USD: f64 = 1_000_000.0;

/// A string field as the line may print it: control characters (a terminal escape, a bell) and
/// the bidirectional overrides that would reorder the rest of the line are dropped, since the
/// line goes straight to Claude Code's terminal.
fn text(value: Option<&Value>) -> Option<String> {
    let Value::String(s) = value? else {
        return None;
    };
    let clean: String = s
        .chars()
        .filter(|c| {
            !c.is_control() && !matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        })
        .take(200)
        .collect();
    (!clean.trim().is_empty()).then_some(clean)
}

fn number(value: Option<&Value>) -> Option<f64> {
    let n = value?.as_f64()?;
    n.is_finite().then_some(n)
}

/// Reads Claude Code's status-line JSON. `now` is the moment the readings are taken.
pub fn parse_input(bytes: &[u8], now: DateTime<Utc>) -> Result<StatusInput, InputError> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(InputError::TooLarge);
    }
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(InputError::Empty);
    }
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| InputError::NotJson(e.to_string()))?;
    let Value::Object(root) = value else {
        return Err(InputError::NotAnObject);
    };
    let model = root.get("model");
    let version = text(root.get("version"));
    let cost = root.get("cost");
    let context = root.get("context_window");
    let context_used_percent = number(context.and_then(|c| c.get("used_percentage")))
        .or_else(|| {
            // Before the feed computed the percentage, the window size and the current usage
            // gave it.
            let size = number(context.and_then(|c| c.get("context_window_size")))?;
            // Null before the first answer of a session: then nothing is known yet.
            let usage = context
                .and_then(|c| c.get("current_usage"))
                .filter(|u| u.is_object())?;
            let used: f64 = [
                "input_tokens",
                "cache_creation_input_tokens",
                "cache_read_input_tokens",
            ]
            .iter()
            .filter_map(|k| number(usage.get(*k)))
            .sum();
            (size > 0.0).then(|| used / size * 100.0)
        })
        // `+ 0.0` turns a negative zero into zero, so the line never reads "-0 %".
        .map(|p| p.clamp(0.0, 100.0) + 0.0);
    let mut rate_limits = Vec::new();
    if let Some(Value::Object(limits)) = root.get("rate_limits") {
        for (window, entry) in limits.iter().take(plan::MAX_WINDOWS) {
            if !plan::valid_window_name(window) {
                continue;
            }
            let Some(used) = number(entry.get("used_percentage")) else {
                continue;
            };
            if !(0.0..=1000.0).contains(&used) {
                continue;
            }
            rate_limits.push(PlanReading {
                window: window.clone(),
                used_percent: used,
                resets_at: number(entry.get("resets_at")).and_then(plan::unix_seconds),
                seen_at: now,
                source: PlanSource::StatusLine,
                client_version: version.clone(),
            });
        }
    }
    Ok(StatusInput {
        session_id: text(root.get("session_id")),
        model_id: text(model.and_then(|m| m.get("id"))),
        model_display: text(model.and_then(|m| m.get("display_name"))),
        version,
        session_cost_usd: number(cost.and_then(|c| c.get("total_cost_usd")))
            .filter(|usd| (0.0..=MAX_SESSION_COST_USD).contains(usd)),
        context_used_percent,
        rate_limits,
    })
}

/// The health of the session's model as the status line shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ModelHealth {
    pub level: Level,
    /// "Opus 5.5", or "API" when the verdict is the API-wide one.
    pub name: String,
    /// The first reason, when the level is not operational.
    pub reason: Option<String>,
    /// False when nothing watches this model's overloads (no key, no gateway traffic).
    pub overloads_watched: bool,
    pub checked_at: Option<DateTime<Utc>>,
}

/// Where the facts came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum FactsSource {
    /// The running service: live.
    Service,
    /// The store, with no service running: what was last recorded.
    Store,
    /// Neither: only what Claude Code said.
    None,
}

/// What the status line knows besides its input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StatusFacts {
    pub source: FactsSource,
    pub health: Option<ModelHealth>,
    /// Today's spend from the ledger (every source).
    pub today: Option<CostFigure>,
    pub plan: Vec<PlanWindowReport>,
}

impl StatusFacts {
    /// Nothing known.
    pub fn none() -> Self {
        Self {
            source: FactsSource::None,
            health: None,
            today: None,
            plan: Vec::new(),
        }
    }
}

/// Whether Claude Code's settings run our status line, for the Settings view's button.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StatusLineSetup {
    /// The settings file (`~/.claude/settings.json`, or the first folder of CLAUDE_CONFIG_DIR).
    pub path: String,
    pub state: StatusLineSetupState,
    /// The command of the status line in force, ours or another's.
    pub command: Option<String>,
    /// What the last install or uninstall did ("installed; backup at …").
    pub message: Option<String>,
}

/// Which status line Claude Code's settings run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum StatusLineSetupState {
    /// None at all (or no settings file yet).
    None,
    /// Ours (`claude-status statusline …`).
    Ours,
    /// Another command: installing ours replaces it only when asked to.
    Other,
    /// The settings file cannot be read (invalid JSON): nothing is changed.
    Unreadable,
}

/// The name of the API-wide verdict.
pub const API: &str = "API";

/// The health of `model` in a snapshot: its own verdict when the snapshot follows it, else the
/// API-wide verdict under the name "API".
pub fn health_of(snapshot: &Snapshot, model: Option<&str>) -> ModelHealth {
    let normalized = model.map(crate::pricing::normalize_model);
    let own = normalized
        .as_deref()
        .and_then(|m| snapshot.models.iter().find(|r| r.model == m));
    // A model the service does not follow has no verdict of its own: the API-wide one is shown
    // under the name "API", never under the session model's name, so another model's overload
    // is not passed off as this one's.
    let (level, name, reasons) = match own {
        Some(report) => (report.level, report.display_name.clone(), &report.reasons),
        None => (snapshot.level, API.to_owned(), &snapshot.reasons),
    };
    ModelHealth {
        level,
        name,
        reason: (level != Level::Operational)
            .then(|| reasons.first().cloned())
            .flatten(),
        overloads_watched: snapshot.coverage.overloads_watched,
        checked_at: snapshot.checked_at,
    }
}

/// One segment of the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Segment {
    /// The session model's health, with its level's glyph and colour.
    Health,
    /// Claude Code's own session cost.
    Session,
    /// Today's spend from the ledger.
    Today,
    /// The 5-hour and weekly plan windows.
    Windows,
    /// Context-window use.
    Context,
}

impl Segment {
    pub const ALL: [Segment; 5] = [
        Segment::Health,
        Segment::Session,
        Segment::Today,
        Segment::Windows,
        Segment::Context,
    ];

    /// Reads `health`, `session`, `today`, `windows` (or `plan`), `context`.
    pub fn parse(text: &str) -> Option<Segment> {
        Some(match text.trim().to_ascii_lowercase().as_str() {
            "health" | "model" => Segment::Health,
            "session" | "cost" => Segment::Session,
            "today" => Segment::Today,
            "windows" | "plan" | "limits" => Segment::Windows,
            "context" | "ctx" => Segment::Context,
            _ => return None,
        })
    }

    /// Reads a comma-separated list; an unknown name is an error naming it.
    pub fn parse_list(text: &str) -> Result<Vec<Segment>, String> {
        let mut out = Vec::new();
        for part in text.split(',').filter(|p| !p.trim().is_empty()) {
            let segment = Segment::parse(part).ok_or_else(|| {
                format!(
                    "unknown status-line segment `{}` (expected health, session, today, windows, context)",
                    part.trim()
                )
            })?;
            if !out.contains(&segment) {
                out.push(segment);
            }
        }
        if out.is_empty() {
            return Err("no status-line segment chosen".to_owned());
        }
        Ok(out)
    }
}

/// How to draw the line.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    pub segments: Vec<Segment>,
    pub color: bool,
    /// The terminal's width (`COLUMNS`): a line wider than this is split in two.
    pub columns: Option<usize>,
    pub zone: DayZone,
}

const SEPARATOR: &str = " · ";

/// The ANSI colour of a level, matching the tray icon's colours as the CLI draws them.
fn level_sgr(level: Level) -> &'static str {
    match level {
        Level::Operational => "1;32",
        Level::Degraded => "1;33",
        Level::Overloaded => "1;38;5;208",
        Level::Outage => "1;31",
        Level::Maintenance => "1;34",
        Level::Offline | Level::Unknown => "1;90",
    }
}

fn paint(text: &str, sgr: &str, color: bool) -> String {
    if color {
        format!("\x1b[{sgr}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

fn usd(amount: f64) -> String {
    if amount < 10.0 {
        format!("${amount:.2}")
    } else {
        format!("${amount:.1}")
    }
}

/// The visible width of a line: characters outside ANSI escape sequences.
pub fn visible_width(line: &str) -> usize {
    let mut width = 0;
    let mut in_escape = false;
    for c in line.chars() {
        if in_escape {
            if c.is_ascii_alphabetic() {
                in_escape = false;
            }
        } else if c == '\x1b' {
            in_escape = true;
        } else {
            width += 1;
        }
    }
    width
}

fn health_segment(input: &StatusInput, facts: &StatusFacts, color: bool) -> String {
    let name = input
        .model_display
        .clone()
        .or_else(|| input.model_id.as_deref().map(crate::models::display_name));
    match &facts.health {
        Some(health) => {
            let mut text = format!("{} {}", health.level.symbol(), health.name);
            if health.level != Level::Operational {
                text.push(' ');
                text.push_str(health.level.as_str());
            }
            let mut out = paint(&text, level_sgr(health.level), color);
            if let Some(reason) = &health.reason {
                out.push_str(&format!(" ({})", crate::tray::shorten(reason, 40)));
            } else if !health.overloads_watched && health.level == Level::Operational {
                out.push_str(" (overloads not watched)");
            }
            if facts.source == FactsSource::Store {
                out.push_str(" (no service)");
            }
            out
        }
        None => {
            let text = format!("? {}", name.unwrap_or_else(|| "Claude".to_owned()));
            format!(
                "{} (health unknown: no service)",
                paint(&text, level_sgr(Level::Unknown), color)
            )
        }
    }
}

fn percent_sgr(percent: f64) -> &'static str {
    if percent >= 95.0 {
        "31"
    } else if percent >= 80.0 {
        "33"
    } else {
        "32"
    }
}

fn short_window(window: &str) -> String {
    match window {
        "five_hour" => "5h".to_owned(),
        "seven_day" => "week".to_owned(),
        other => match other.strip_prefix("seven_day_") {
            Some(scope) => format!("week {scope}"),
            None => other.to_owned(),
        },
    }
}

fn window_segment(
    report: &PlanWindowReport,
    now: DateTime<Utc>,
    options: &RenderOptions,
) -> String {
    let name = short_window(&report.window);
    let reading = &report.last_reading;
    match (&report.freshness, report.used_percent) {
        (Freshness::Fresh, Some(percent)) => {
            let mut out = format!(
                "{name} {}",
                paint(
                    &plan::percent_text(percent),
                    percent_sgr(percent),
                    options.color
                )
            );
            if let Some(reset) = reading.resets_at {
                out.push_str(&format!(
                    " ↻{}",
                    plan::reset_text(reset, now, &options.zone)
                ));
            }
            if let Some(Pace::ReachesLimit { at, .. }) = &report.pace {
                out.push_str(&format!(
                    " (100 % by {})",
                    plan::reset_text(*at, now, &options.zone)
                ));
            }
            if reading.source == PlanSource::GatewayHeaders {
                out.push_str(" (headers)");
            }
            out
        }
        (Freshness::ResetSince, _) => format!("{name} reset"),
        _ => format!("{name} stale"),
    }
}

/// The windows to show: the input's own readings (the freshest there are) with the pace the
/// service or the store worked out, then any other window they know.
fn windows(input: &StatusInput, facts: &StatusFacts, now: DateTime<Utc>) -> Vec<PlanWindowReport> {
    let mut out: Vec<PlanWindowReport> = input
        .rate_limits
        .iter()
        .map(|reading| {
            let known = facts.plan.iter().find(|w| w.window == reading.window);
            let freshness = plan::freshness(reading, now);
            PlanWindowReport {
                window: reading.window.clone(),
                label: plan::window_label(&reading.window),
                used_percent: (freshness == Freshness::Fresh).then_some(reading.used_percent),
                last_reading: reading.clone(),
                freshness,
                pace: known.and_then(|w| w.pace.clone()),
            }
        })
        .collect();
    for known in &facts.plan {
        if !out.iter().any(|w| w.window == known.window) {
            out.push(known.clone());
        }
    }
    out.sort_by_key(|w| match w.window.as_str() {
        "five_hour" => 0,
        "seven_day" => 1,
        _ => 2,
    });
    out
}

/// The status line: one line, or two when `columns` is narrower than the one line.
pub fn render(
    input: Option<&StatusInput>,
    facts: &StatusFacts,
    now: DateTime<Utc>,
    options: &RenderOptions,
) -> String {
    let empty = StatusInput::default();
    let input = input.unwrap_or(&empty);
    let mut first = Vec::new();
    let mut second = Vec::new();
    for segment in &options.segments {
        match segment {
            Segment::Health => first.push(health_segment(input, facts, options.color)),
            Segment::Session => {
                if let Some(cost) = input.session_cost_usd {
                    first.push(format!("session {}", usd(cost)));
                }
            }
            Segment::Today => {
                if let Some(today) = facts.today.as_ref().filter(|t| t.source.is_some()) {
                    let at_least = if today.includes_unknown_price {
                        "≥"
                    } else {
                        ""
                    };
                    first.push(format!("today {at_least}{}", usd(today.usd)));
                }
            }
            Segment::Windows => second.extend(
                windows(input, facts, now)
                    .iter()
                    .map(|w| window_segment(w, now, options)),
            ),
            Segment::Context => {
                if let Some(percent) = input.context_used_percent {
                    second.push(format!("ctx {}", plan::percent_text(percent)));
                }
            }
        }
    }
    let one: Vec<String> = first.iter().chain(&second).cloned().collect();
    let line = one.join(SEPARATOR);
    let too_wide = options
        .columns
        .is_some_and(|columns| visible_width(&line) > columns);
    if too_wide && !first.is_empty() && !second.is_empty() {
        format!("{}\n{}", first.join(SEPARATOR), second.join(SEPARATOR))
    } else if line.is_empty() {
        "Claude Status".to_owned()
    } else {
        line
    }
}

/// The safe line for input that could not be read: what is known, and a short word on why.
pub fn render_bad_input(
    error: &InputError,
    facts: &StatusFacts,
    now: DateTime<Utc>,
    options: &RenderOptions,
) -> String {
    let options = RenderOptions {
        segments: vec![Segment::Health, Segment::Today, Segment::Windows],
        ..options.clone()
    };
    format!("{} · {error}", render(None, facts, now, &options))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, 13, 0, 0).unwrap()
    }

    const DOCUMENTED: &str = r#"{
      "hook_event_name": "Status",
      "session_id": "abc123",
      "transcript_path": "/home/me/.claude/projects/p/abc123.jsonl",
      "cwd": "/home/me/p",
      "model": {"id": "claude-opus-5-5", "display_name": "Opus 5.5"},
      "workspace": {"current_dir": "/home/me/p", "project_dir": "/home/me/p"},
      "version": "2.1.328",
      "output_style": {"name": "default"},
      "cost": {"total_cost_usd": 0.4213, "total_duration_ms": 45000, "total_api_duration_ms": 2300,
               "total_lines_added": 156, "total_lines_removed": 23},
      "context_window": {"total_input_tokens": 15234, "total_output_tokens": 4521,
                         "context_window_size": 200000, "used_percentage": 38.2,
                         "current_usage": {"input_tokens": 8500, "output_tokens": 1200,
                                           "cache_creation_input_tokens": 5000,
                                           "cache_read_input_tokens": 2000}},
      "exceeds_200k_tokens": false,
      "effort": {"level": "high"},
      "rate_limits": {"five_hour": {"used_percentage": 62, "resets_at": 1796218800},
                      "seven_day": {"used_percentage": 41.5, "resets_at": 1796461200}}
    }"#;

    fn options() -> RenderOptions {
        RenderOptions {
            segments: Segment::ALL.to_vec(),
            color: false,
            columns: None,
            zone: DayZone::utc(),
        }
    }

    #[test]
    fn the_documented_input_is_read() {
        let input = parse_input(DOCUMENTED.as_bytes(), now()).unwrap();
        assert_eq!(input.model_id.as_deref(), Some("claude-opus-5-5"));
        assert_eq!(input.model_display.as_deref(), Some("Opus 5.5"));
        assert_eq!(input.version.as_deref(), Some("2.1.328"));
        assert_eq!(input.session_cost_usd, Some(0.4213));
        assert_eq!(input.context_used_percent, Some(38.2));
        assert_eq!(input.rate_limits.len(), 2);
        let five = &input.rate_limits[0];
        assert_eq!(five.window, "five_hour");
        assert_eq!(five.used_percent, 62.0);
        assert_eq!(five.resets_at.map(|r| r.timestamp()), Some(1_796_218_800));
        assert_eq!(five.client_version.as_deref(), Some("2.1.328"));
        assert_eq!(five.source, PlanSource::StatusLine);
    }

    /// Every field, absent and then null, in turn: the parse never fails and only that field's
    /// value goes.
    #[test]
    fn every_field_absent_or_null_in_turn() {
        let full: Value = serde_json::from_str(DOCUMENTED).unwrap();
        let mut paths: Vec<Vec<String>> = Vec::new();
        fn walk(value: &Value, path: Vec<String>, out: &mut Vec<Vec<String>>) {
            if let Value::Object(map) = value {
                for (key, child) in map {
                    let mut next = path.clone();
                    next.push(key.clone());
                    out.push(next.clone());
                    walk(child, next, out);
                }
            }
        }
        walk(&full, Vec::new(), &mut paths);
        assert!(paths.len() > 30, "{}", paths.len());
        for path in &paths {
            for replacement in [None, Some(Value::Null)] {
                let mut value = full.clone();
                let (last, parents) = path.split_last().unwrap();
                let mut cursor = &mut value;
                for key in parents {
                    cursor = cursor.get_mut(key).unwrap();
                }
                let map = cursor.as_object_mut().unwrap();
                match &replacement {
                    None => {
                        map.remove(last);
                    }
                    Some(null) => {
                        map.insert(last.clone(), null.clone());
                    }
                }
                let bytes = serde_json::to_vec(&value).unwrap();
                let input = parse_input(&bytes, now())
                    .unwrap_or_else(|e| panic!("{path:?} {replacement:?}: {e}"));
                let line = render(Some(&input), &StatusFacts::none(), now(), &options());
                assert!(!line.is_empty(), "{path:?}");
                let joined = path.join(".");
                match joined.as_str() {
                    "model" | "model.id" => assert!(input.model_id.is_none()),
                    "cost" | "cost.total_cost_usd" => assert!(input.session_cost_usd.is_none()),
                    "rate_limits" => assert!(input.rate_limits.is_empty()),
                    "rate_limits.five_hour" | "rate_limits.five_hour.used_percentage" => {
                        assert_eq!(input.rate_limits.len(), 1, "{joined}");
                        assert_eq!(input.rate_limits[0].window, "seven_day");
                    }
                    "rate_limits.five_hour.resets_at" => {
                        assert_eq!(input.rate_limits[0].resets_at, None)
                    }
                    "context_window" => assert!(input.context_used_percent.is_none()),
                    // Without the percentage, the current usage and the size give it.
                    "context_window.used_percentage" => {
                        assert_eq!(input.context_used_percent, Some(7.75))
                    }
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn a_session_before_its_first_answer_shows_no_context_figure() {
        let first = br#"{"model": {"id": "claude-opus-5-5", "display_name": "Opus 5.5"},
            "context_window": {"context_window_size": 1000000, "used_percentage": null,
                               "current_usage": null}}"#;
        let input = parse_input(first, now()).unwrap();
        assert_eq!(input.context_used_percent, None);
        let zero = br#"{"context_window": {"used_percentage": -0.0}}"#;
        let line = render(
            Some(&parse_input(zero, now()).unwrap()),
            &StatusFacts::none(),
            now(),
            &options(),
        );
        assert!(line.ends_with("ctx 0 %"), "{line}");
    }

    #[test]
    fn bad_input_is_refused_with_a_short_reason() {
        assert_eq!(parse_input(b"", now()), Err(InputError::Empty));
        assert_eq!(parse_input(b" \n", now()), Err(InputError::Empty));
        assert!(matches!(
            parse_input(b"{not json", now()),
            Err(InputError::NotJson(_))
        ));
        assert_eq!(parse_input(b"[1,2]", now()), Err(InputError::NotAnObject));
        let big = vec![b' '; MAX_INPUT_BYTES + 1];
        assert_eq!(parse_input(&big, now()), Err(InputError::TooLarge));
        // Wrong types are dropped, never a failure.
        let odd = br#"{"model": "opus", "cost": {"total_cost_usd": "1"},
            "rate_limits": {"five_hour": {"used_percentage": "x"}, "Bad Name": {"used_percentage": 1}}}"#;
        let input = parse_input(odd, now()).unwrap();
        assert!(input.model_id.is_none() && input.session_cost_usd.is_none());
        assert!(input.rate_limits.is_empty());
        let line = render_bad_input(&InputError::Empty, &StatusFacts::none(), now(), &options());
        assert_eq!(
            line,
            "? Claude (health unknown: no service) · no status-line input"
        );
    }

    #[test]
    fn the_line_with_the_service_facts_and_its_narrow_form() {
        let input = parse_input(DOCUMENTED.as_bytes(), now()).unwrap();
        let facts = StatusFacts {
            source: FactsSource::Service,
            health: Some(ModelHealth {
                level: Level::Overloaded,
                name: "Opus 5.5".to_owned(),
                reason: Some("529 on 3 of the last 4 probes".to_owned()),
                overloads_watched: true,
                checked_at: Some(now()),
            }),
            today: Some(CostFigure {
                usd: 3.1,
                source: Some(crate::tracker::CostSource::ClaudeCodeLogs),
                ..CostFigure::default()
            }),
            plan: Vec::new(),
        };
        let line = render(Some(&input), &facts, now(), &options());
        assert_eq!(
            line,
            "◆ Opus 5.5 overloaded (529 on 3 of the last 4 probes) · session $0.42 · today $3.10 \
             · 5h 62 % ↻13:40 · week 42 % ↻Sat 09:00 · ctx 38 %"
        );
        let narrow = render(
            Some(&input),
            &facts,
            now(),
            &RenderOptions {
                columns: Some(80),
                ..options()
            },
        );
        let lines: Vec<&str> = narrow.lines().collect();
        assert_eq!(lines.len(), 2, "{narrow}");
        assert!(lines[1].starts_with("5h 62 %"), "{narrow}");
        let coloured = render(
            Some(&input),
            &facts,
            now(),
            &RenderOptions {
                color: true,
                ..options()
            },
        );
        assert!(coloured.starts_with("\x1b[1;38;5;208m◆ Opus 5.5 overloaded\x1b[0m"));
        assert_eq!(visible_width(&coloured), visible_width(&line));
    }

    #[test]
    fn segments_are_chosen_by_name() {
        assert_eq!(
            Segment::parse_list("health, windows,ctx").unwrap(),
            vec![Segment::Health, Segment::Windows, Segment::Context]
        );
        assert!(Segment::parse_list("health,weather")
            .unwrap_err()
            .contains("weather"));
    }
}
