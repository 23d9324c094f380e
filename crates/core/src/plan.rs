//! A subscriber's plan windows (Claude Pro / Max): the 5-hour session window and the weekly
//! windows, from the readings Claude Code hands its status line and, as an undocumented
//! observation, the `anthropic-ratelimit-unified-*` headers of gateway traffic.
//!
//! Pure: readings and `now` come in, the report and its sentences go out. Each reading is what one
//! source said at one moment; a reading older than its window, or whose window has reset since,
//! is stale and is never shown as the current percentage (claude-code.md H3, H6).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::aggregate::DayZone;

/// Where a plan reading comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum PlanSource {
    /// The JSON Claude Code hands its status-line command: documented (H3).
    StatusLine,
    /// `anthropic-ratelimit-unified-*` response headers seen by the gateway: observed by the
    /// community on subscriber traffic, not documented (H6).
    GatewayHeaders,
}

impl PlanSource {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PlanSource::StatusLine => "statusline",
            PlanSource::GatewayHeaders => "gateway_headers",
        }
    }

    /// Reads the stored spelling.
    pub fn from_stored(text: &str) -> Option<Self> {
        match text {
            "statusline" => Some(PlanSource::StatusLine),
            "gateway_headers" => Some(PlanSource::GatewayHeaders),
            _ => None,
        }
    }
}

/// One window's percentage as one source reported it at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PlanReading {
    /// `five_hour`, `seven_day`, or another window a source named (`seven_day_opus`).
    pub window: String,
    /// 0–100.
    pub used_percent: f64,
    /// When the window resets; `None` when the source did not say.
    pub resets_at: Option<DateTime<Utc>>,
    /// When the reading was taken.
    pub seen_at: DateTime<Utc>,
    pub source: PlanSource,
    /// The Claude Code version that reported it (status line), when known.
    pub client_version: Option<String>,
}

/// The most windows one source may report at once; more is not a plan, it is noise.
pub const MAX_WINDOWS: usize = 8;
/// Readings kept per window: a day of one-a-minute readings.
pub const READINGS_KEPT: usize = 1_500;
/// An unchanged reading is kept at most this often, so a status line that runs every second does
/// not fill the store with copies.
pub const UNCHANGED_EVERY: Duration = Duration::minutes(5);
/// The most a reading can lag behind the latest one of its window and still be a late reading
/// (sources race by seconds); anything older means the wall clock was set back.
pub const LATE_AT_MOST: Duration = Duration::minutes(2);

/// A window name a source may use: short, lower case, letters, digits and underscores.
pub fn valid_window_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// How long a window lasts: 5 hours for `five_hour`, 7 days for `seven_day` and its model-scoped
/// variants. An unknown window is taken to be 5 hours long, the shorter, so its readings go stale
/// sooner rather than later.
pub fn window_duration(window: &str) -> Duration {
    if window == "seven_day" || window.starts_with("seven_day_") {
        Duration::days(7)
    } else {
        Duration::hours(5)
    }
}

/// The name people use for a window: "Session (5 h)", "Week", "Week (Opus)".
pub fn window_label(window: &str) -> String {
    match window {
        "five_hour" => "Session (5 h)".to_owned(),
        "seven_day" => "Week".to_owned(),
        other => match other.strip_prefix("seven_day_") {
            Some(scope) => format!("Week ({})", capitalise(&scope.replace('_', " "))),
            None => other.replace('_', " "),
        },
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Reads the `anthropic-ratelimit-unified-<window>-utilization` and `-reset` headers (0–1 and
/// Unix seconds, as observed) into readings. Headers are `(name, value)` pairs in any case.
pub fn readings_from_unified_headers<'a>(
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    seen_at: DateTime<Utc>,
) -> Vec<PlanReading> {
    let mut utilization: BTreeMap<String, f64> = BTreeMap::new();
    let mut resets: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        let Some(rest) = name.strip_prefix("anthropic-ratelimit-unified-") else {
            continue;
        };
        let (window, field) = if let Some(w) = rest.strip_suffix("-utilization") {
            (w, "utilization")
        } else if let Some(w) = rest.strip_suffix("-reset") {
            (w, "reset")
        } else {
            continue;
        };
        let Some(window) = unified_window(window) else {
            continue;
        };
        let Ok(number) = value.trim().parse::<f64>() else {
            continue;
        };
        if !number.is_finite() {
            continue;
        }
        match field {
            "utilization" if (0.0..=10.0).contains(&number) => {
                utilization.insert(window, (number * 100.0).clamp(0.0, 1000.0));
            }
            "reset" => {
                if let Some(at) = unix_seconds(number) {
                    resets.insert(window, at);
                }
            }
            _ => {}
        }
    }
    utilization
        .into_iter()
        .take(MAX_WINDOWS)
        .map(|(window, used_percent)| PlanReading {
            resets_at: resets.get(&window).copied(),
            window,
            used_percent,
            seen_at,
            source: PlanSource::GatewayHeaders,
            client_version: None,
        })
        .collect()
}

/// `5h` → `five_hour`, `7d` → `seven_day`, `7d_opus` → `seven_day_opus`.
fn unified_window(raw: &str) -> Option<String> {
    let name = if raw == "5h" {
        "five_hour".to_owned()
    } else if raw == "7d" {
        "seven_day".to_owned()
    } else if let Some(scope) = raw.strip_prefix("7d_") {
        format!("seven_day_{scope}")
    } else {
        return None;
    };
    valid_window_name(&name).then_some(name)
}

/// A Unix time in seconds as a UTC moment, when it is a plausible one (2001–2100).
pub fn unix_seconds(seconds: f64) -> Option<DateTime<Utc>> {
    if !(1e9..4.1e9).contains(&seconds) {
        return None;
    }
    DateTime::from_timestamp_millis((seconds * 1000.0).round() as i64)
}

/// Whether a reading is still the window's current state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Freshness {
    Fresh,
    /// The window has reset since the reading: its percentage is no longer known.
    ResetSince,
    /// The reading is older than the window itself.
    TooOld,
}

/// Where the usage is heading, from the slope of the window's recent readings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Pace {
    /// 100 % is reached before the reset.
    ReachesLimit {
        at: DateTime<Utc>,
        /// How long before the reset, in whole minutes.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        minutes_before_reset: i64,
        /// Percentage points per hour.
        per_hour: f64,
    },
    /// The window resets first, at this projected percentage.
    ResetsFirst {
        projected_percent: f64,
        per_hour: f64,
    },
    /// No rise over the readings considered.
    Flat,
}

/// One window as the front ends show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PlanWindowReport {
    pub window: String,
    /// "Session (5 h)", "Week".
    pub label: String,
    /// The current percentage; `None` when the latest reading is stale.
    pub used_percent: Option<f64>,
    /// The latest reading, whatever its age.
    pub last_reading: PlanReading,
    pub freshness: Freshness,
    /// `None` with too few readings to tell.
    pub pace: Option<Pace>,
}

/// The minimum span of readings a slope is taken over, so two readings a second apart do not
/// extrapolate a rounding step into a forecast.
fn min_span(window: &str) -> Duration {
    if window_duration(window) > Duration::hours(5) {
        Duration::hours(1)
    } else {
        Duration::minutes(5)
    }
}

/// How far back the slope looks: the last hour of a 5-hour window, the last day of a week.
pub fn lookback(window: &str) -> Duration {
    if window_duration(window) > Duration::hours(5) {
        Duration::hours(24)
    } else {
        Duration::hours(1)
    }
}

/// Two readings belong to the same window instance when their reset times agree within this.
const SAME_RESET: i64 = 120;

fn same_instance(a: &PlanReading, b: &PlanReading) -> bool {
    match (a.resets_at, b.resets_at) {
        (Some(x), Some(y)) => (x - y).num_seconds().abs() <= SAME_RESET,
        // Without reset times, readings of one window are one instance while they do not fall.
        _ => true,
    }
}

/// The freshness of the latest reading at `now`.
pub fn freshness(reading: &PlanReading, now: DateTime<Utc>) -> Freshness {
    if reading.resets_at.is_some_and(|reset| reset <= now) {
        return Freshness::ResetSince;
    }
    // A reading from the future (a clock that moved back) is treated as taken now.
    let age = (now - reading.seen_at).max(Duration::zero());
    if age > window_duration(&reading.window) {
        Freshness::TooOld
    } else {
        Freshness::Fresh
    }
}

/// The pace from the readings of one window, oldest first, the last being the current one.
/// Only readings of the same source and window instance within the lookback count; the slope is
/// a least-squares fit, which smooths the whole-percent steps Claude Code reports.
pub fn pace(readings: &[PlanReading], now: DateTime<Utc>) -> Option<Pace> {
    let latest = readings.last()?;
    if freshness(latest, now) != Freshness::Fresh {
        return None;
    }
    let from = latest.seen_at - lookback(&latest.window);
    let points: Vec<(f64, f64)> = readings
        .iter()
        .filter(|r| {
            r.source == latest.source
                && r.seen_at >= from
                && r.seen_at <= latest.seen_at
                && same_instance(r, latest)
        })
        .map(|r| {
            (
                (r.seen_at - latest.seen_at).num_milliseconds() as f64 / 3_600_000.0,
                r.used_percent,
            )
        })
        .collect();
    let first = points.first()?;
    let span_hours = -first.0;
    if points.len() < 2 || span_hours * 3600.0 < min_span(&latest.window).num_seconds() as f64 {
        return None;
    }
    let n = points.len() as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    if sxx <= f64::EPSILON {
        return None;
    }
    let per_hour = sxy / sxx;
    if !per_hour.is_finite() || per_hour <= 0.01 {
        return Some(Pace::Flat);
    }
    let remaining = (100.0 - latest.used_percent).max(0.0);
    let hours_to_full = remaining / per_hour;
    let full_at = latest.seen_at + Duration::milliseconds((hours_to_full * 3_600_000.0) as i64);
    let per_hour = (per_hour * 10.0).round() / 10.0;
    match latest.resets_at {
        Some(reset) if full_at >= reset => {
            let hours_left = (reset - latest.seen_at).num_milliseconds() as f64 / 3_600_000.0;
            Some(Pace::ResetsFirst {
                projected_percent: (latest.used_percent + per_hour * hours_left).min(100.0),
                per_hour,
            })
        }
        Some(reset) => Some(Pace::ReachesLimit {
            at: full_at,
            minutes_before_reset: (reset - full_at).num_minutes(),
            per_hour,
        }),
        None => Some(Pace::ReachesLimit {
            at: full_at,
            minutes_before_reset: 0,
            per_hour,
        }),
    }
}

/// What is remembered of every window: its recent readings, oldest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanWindows {
    readings: BTreeMap<String, Vec<PlanReading>>,
}

/// What `PlanWindows::observe` did with a reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observed {
    /// A new or changed reading: keep it in the store too.
    Kept,
    /// The same as the last one, too soon after it: nothing to store.
    Unchanged,
    /// Older than a reading of the same window already held (a status-line reading is never
    /// overridden by an older header reading, nor the other way round), or malformed.
    Ignored,
}

impl PlanWindows {
    /// Takes a reading. Readings are kept in the order they were seen; an out-of-order one
    /// (older than the window's latest, by at most `LATE_AT_MOST`) is ignored, so a late header
    /// never overrides a fresher status-line reading; an older one means the clock moved back.
    pub fn observe(&mut self, reading: PlanReading) -> Observed {
        if !valid_window_name(&reading.window)
            || !reading.used_percent.is_finite()
            || reading.used_percent < 0.0
        {
            return Observed::Ignored;
        }
        if !self.readings.contains_key(&reading.window) && self.readings.len() >= MAX_WINDOWS {
            return Observed::Ignored;
        }
        let list = self.readings.entry(reading.window.clone()).or_default();
        if list
            .last()
            .is_some_and(|last| last.seen_at - reading.seen_at > LATE_AT_MOST)
        {
            // Readings are stamped by our own clock as they arrive, so one this much older than
            // the latest is not late: the clock moved back (issue 16, clock jumps). The readings
            // "from the future" would otherwise hide every new one until the clock caught up
            // with them, an hour of a stale figure shown as current; they are dropped instead.
            list.retain(|kept| kept.seen_at <= reading.seen_at);
        }
        if let Some(last) = list.last() {
            if reading.seen_at < last.seen_at {
                return Observed::Ignored;
            }
            let unchanged = last.source == reading.source
                && (last.used_percent - reading.used_percent).abs() < 1e-9
                && last.resets_at == reading.resets_at;
            if unchanged && reading.seen_at - last.seen_at < UNCHANGED_EVERY {
                return Observed::Unchanged;
            }
        }
        list.push(reading);
        if list.len() > READINGS_KEPT {
            let extra = list.len() - READINGS_KEPT;
            list.drain(..extra);
        }
        Observed::Kept
    }

    /// The latest reading of every window.
    pub fn latest(&self) -> impl Iterator<Item = &PlanReading> {
        self.readings.values().filter_map(|list| list.last())
    }

    /// True when no reading was ever taken.
    pub fn is_empty(&self) -> bool {
        self.readings.is_empty()
    }

    /// Every window at `now`: the session window first, then the week, then the others.
    pub fn report(&self, now: DateTime<Utc>) -> Vec<PlanWindowReport> {
        let mut out: Vec<PlanWindowReport> = self
            .readings
            .iter()
            .filter_map(|(window, list)| {
                let latest = list.last()?;
                let freshness = freshness(latest, now);
                Some(PlanWindowReport {
                    window: window.clone(),
                    label: window_label(window),
                    used_percent: (freshness == Freshness::Fresh).then_some(latest.used_percent),
                    last_reading: latest.clone(),
                    pace: pace(list, now),
                    freshness,
                })
            })
            .collect();
        out.sort_by_key(|w| window_order(&w.window));
        out
    }
}

fn window_order(window: &str) -> (u8, String) {
    let rank = match window {
        "five_hour" => 0,
        "seven_day" => 1,
        _ => 2,
    };
    (rank, window.to_owned())
}

/// A percentage as people read it: whole numbers, one decimal below 10 %.
pub fn percent_text(percent: f64) -> String {
    if percent < 10.0 && percent.fract().abs() > 0.05 {
        format!("{percent:.1} %")
    } else {
        format!("{percent:.0} %")
    }
}

/// The reset time as a clock time: "15:40" within the next day, "Mon 09:00" beyond.
pub fn reset_text(reset: DateTime<Utc>, now: DateTime<Utc>, zone: &DayZone) -> String {
    let local = reset.with_timezone(&zone.offset_at(reset));
    if reset - now < Duration::hours(20) {
        local.format("%H:%M").to_string()
    } else {
        local.format("%a %H:%M").to_string()
    }
}

/// "Session (5 h): 62 %, resets 15:40"; a stale reading says so instead of its percentage.
pub fn window_line(report: &PlanWindowReport, now: DateTime<Utc>, zone: &DayZone) -> String {
    let reading = &report.last_reading;
    let seen = clock(reading.seen_at, zone);
    match (&report.freshness, report.used_percent) {
        (Freshness::Fresh, Some(percent)) => match reading.resets_at {
            Some(reset) => format!(
                "{}: {}, resets {}",
                report.label,
                percent_text(percent),
                reset_text(reset, now, zone)
            ),
            None => format!("{}: {}", report.label, percent_text(percent)),
        },
        (Freshness::ResetSince, _) => match reading.resets_at {
            Some(reset) => format!(
                "{}: reset at {}, no reading since",
                report.label,
                reset_text(reset, reading.seen_at, zone)
            ),
            None => format!("{}: reset since the last reading", report.label),
        },
        _ => format!(
            "{}: stale (last reading {} at {seen})",
            report.label,
            percent_text(reading.used_percent)
        ),
    }
}

/// "at this pace 100 % at 14:55, 45 min before the reset".
pub fn pace_line(report: &PlanWindowReport, now: DateTime<Utc>, zone: &DayZone) -> Option<String> {
    match report.pace.as_ref()? {
        Pace::ReachesLimit {
            at,
            minutes_before_reset,
            ..
        } => {
            let when = reset_text(*at, now, zone);
            Some(if report.last_reading.resets_at.is_some() {
                format!(
                    "at this pace 100 % at {when}, {} before the reset",
                    duration_text(*minutes_before_reset)
                )
            } else {
                format!("at this pace 100 % at {when}")
            })
        }
        Pace::ResetsFirst {
            projected_percent, ..
        } => Some(format!(
            "at this pace {} at the reset",
            percent_text(*projected_percent)
        )),
        Pace::Flat => Some("not rising".to_owned()),
    }
}

/// The window's sentence with its pace after a dash, as the tray menu and `check` show it:
/// "Session (5 h): 62 %, resets 15:40 — at this pace 100 % at 14:55, 45 min before the reset".
pub fn window_with_pace(report: &PlanWindowReport, now: DateTime<Utc>, zone: &DayZone) -> String {
    let mut line = window_line(report, now, zone);
    if let Some(pace) = pace_line(report, now, zone) {
        line.push_str(" — ");
        line.push_str(&pace);
    }
    line
}

/// A moment as a local clock time, "14:02".
fn clock(at: DateTime<Utc>, zone: &DayZone) -> String {
    at.with_timezone(&zone.offset_at(at))
        .format("%H:%M")
        .to_string()
}

/// "45 min", "2 h 10 min", "3 d 4 h".
pub fn duration_text(minutes: i64) -> String {
    let minutes = minutes.max(0);
    if minutes < 60 {
        format!("{minutes} min")
    } else if minutes < 24 * 60 {
        match minutes % 60 {
            0 => format!("{} h", minutes / 60),
            rest => format!("{} h {rest} min", minutes / 60),
        }
    } else {
        format!("{} d {} h", minutes / (24 * 60), (minutes % (24 * 60)) / 60)
    }
}

/// Where a figure comes from, in words: "Claude Code 2.1.328 status line, 14:02".
pub fn source_text(reading: &PlanReading, zone: &DayZone) -> String {
    let seen = clock(reading.seen_at, zone);
    match reading.source {
        PlanSource::StatusLine => match &reading.client_version {
            Some(version) => format!("Claude Code {version} status line, {seen}"),
            None => format!("Claude Code status line, {seen}"),
        },
        PlanSource::GatewayHeaders => {
            format!("gateway response headers (observed, not documented), {seen}")
        }
    }
}

/// The thresholds a plan window alerts at, once per window and crossing.
pub const ALERT_PERCENTS: [u32; 3] = [80, 95, 100];

/// The alert key of a crossing: one per window instance (its reset time, to the minute) and
/// threshold, so the next window alerts again and the same one never twice.
pub fn alert_key(reading: &PlanReading, percent: u32) -> String {
    let instance = reading
        .resets_at
        .map(|r| (r.timestamp() / 60).to_string())
        .unwrap_or_else(|| "unknown".to_owned());
    format!("plan:{}:{instance}:{percent}", reading.window)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, h, m, 0).unwrap()
    }

    fn reading(
        window: &str,
        percent: f64,
        seen: DateTime<Utc>,
        reset: DateTime<Utc>,
    ) -> PlanReading {
        PlanReading {
            window: window.to_owned(),
            used_percent: percent,
            resets_at: Some(reset),
            seen_at: seen,
            source: PlanSource::StatusLine,
            client_version: Some("2.1.328".to_owned()),
        }
    }

    #[test]
    fn pace_table() {
        let reset = at(15, 40);
        struct Case {
            name: &'static str,
            points: Vec<(DateTime<Utc>, f64)>,
            now: DateTime<Utc>,
            expected: Option<Pace>,
        }
        let cases = vec![
            Case {
                name: "one reading: too few to tell",
                points: vec![(at(13, 0), 40.0)],
                now: at(13, 1),
                expected: None,
            },
            Case {
                name: "two readings a minute apart: span too short",
                points: vec![(at(13, 0), 40.0), (at(13, 1), 41.0)],
                now: at(13, 1),
                expected: None,
            },
            Case {
                // 20 points an hour from 40 % at 13:00: 100 % at 16:00, after the 15:40 reset.
                name: "resets first",
                points: vec![(at(12, 30), 30.0), (at(13, 0), 40.0)],
                now: at(13, 0),
                expected: Some(Pace::ResetsFirst {
                    projected_percent: 40.0 + 20.0 * (160.0 / 60.0),
                    per_hour: 20.0,
                }),
            },
            Case {
                // 60 points an hour from 40 % at 13:00: 100 % at 14:00, 100 min before 15:40.
                name: "reaches the limit before the reset",
                points: vec![(at(12, 30), 10.0), (at(12, 45), 25.0), (at(13, 0), 40.0)],
                now: at(13, 0),
                expected: Some(Pace::ReachesLimit {
                    at: at(14, 0),
                    minutes_before_reset: 100,
                    per_hour: 60.0,
                }),
            },
            Case {
                name: "flat",
                points: vec![(at(12, 30), 40.0), (at(13, 0), 40.0)],
                now: at(13, 0),
                expected: Some(Pace::Flat),
            },
            Case {
                name: "stale latest reading: no pace",
                points: vec![(at(12, 30), 30.0), (at(13, 0), 40.0)],
                now: at(16, 0),
                expected: None,
            },
        ];
        for case in cases {
            let readings: Vec<PlanReading> = case
                .points
                .iter()
                .map(|(seen, p)| reading("five_hour", *p, *seen, reset))
                .collect();
            let got = pace(&readings, case.now);
            match (&got, &case.expected) {
                (
                    Some(Pace::ResetsFirst {
                        projected_percent: a,
                        per_hour: pa,
                    }),
                    Some(Pace::ResetsFirst {
                        projected_percent: b,
                        per_hour: pb,
                    }),
                ) => {
                    assert!(
                        (a - b).abs() < 0.5 && (pa - pb).abs() < 0.1,
                        "{}: {got:?}",
                        case.name
                    )
                }
                _ => assert_eq!(got, case.expected, "{}", case.name),
            }
        }
    }

    #[test]
    fn readings_of_another_window_instance_or_source_do_not_count() {
        let old_reset = at(12, 0);
        let reset = at(17, 0);
        let mut older = reading("five_hour", 90.0, at(11, 30), old_reset);
        older.resets_at = Some(old_reset);
        let mut header = reading("five_hour", 10.0, at(12, 20), reset);
        header.source = PlanSource::GatewayHeaders;
        let readings = vec![
            older,
            header,
            reading("five_hour", 5.0, at(12, 10), reset),
            reading("five_hour", 15.0, at(12, 40), reset),
        ];
        // Only the two status-line readings of this window: 10 points in 30 min.
        match pace(&readings, at(12, 40)) {
            Some(Pace::ReachesLimit { per_hour, .. } | Pace::ResetsFirst { per_hour, .. }) => {
                assert!((per_hour - 20.0).abs() < 0.1, "{per_hour}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn stale_readings_never_show_as_now() {
        let zone = DayZone::utc();
        let mut windows = PlanWindows::default();
        windows.observe(reading("five_hour", 62.0, at(10, 0), at(14, 0)));
        windows.observe(reading(
            "seven_day",
            41.0,
            at(10, 0),
            at(10, 0) + Duration::days(5),
        ));
        let report = windows.report(at(10, 5));
        assert_eq!(
            window_line(&report[0], at(10, 5), &zone),
            "Session (5 h): 62 %, resets 14:00"
        );
        assert_eq!(
            window_line(&report[1], at(10, 5), &zone),
            "Week: 41 %, resets Mon 10:00"
        );
        let later = windows.report(at(14, 30));
        assert_eq!(later[0].used_percent, None);
        assert_eq!(
            window_line(&later[0], at(14, 30), &zone),
            "Session (5 h): reset at 14:00, no reading since"
        );
        let week_later = at(10, 0) + Duration::days(8);
        let old = windows.report(week_later);
        assert_eq!(old[1].freshness, Freshness::ResetSince);
        let mut no_reset = reading("seven_day", 41.0, at(10, 0), at(10, 0));
        no_reset.resets_at = None;
        assert_eq!(freshness(&no_reset, week_later), Freshness::TooOld);
    }

    #[test]
    fn observe_keeps_changes_and_drops_copies_and_late_readings() {
        let reset = at(14, 0);
        let mut windows = PlanWindows::default();
        assert_eq!(
            windows.observe(reading("five_hour", 10.0, at(10, 0), reset)),
            Observed::Kept
        );
        assert_eq!(
            windows.observe(reading("five_hour", 10.0, at(10, 1), reset)),
            Observed::Unchanged
        );
        assert_eq!(
            windows.observe(reading("five_hour", 11.0, at(10, 2), reset)),
            Observed::Kept
        );
        let mut late = reading("five_hour", 3.0, at(10, 1), reset);
        late.source = PlanSource::GatewayHeaders;
        assert_eq!(windows.observe(late), Observed::Ignored);
        assert_eq!(windows.latest().next().map(|r| r.used_percent), Some(11.0));
        assert_eq!(
            windows.observe(reading("Bad-Name", 1.0, at(10, 3), reset)),
            Observed::Ignored
        );
        assert_eq!(
            windows.observe(reading("five_hour", f64::NAN, at(10, 3), reset)),
            Observed::Ignored
        );
    }

    #[test]
    fn unified_headers_are_read_as_observed() {
        let headers = [
            ("anthropic-ratelimit-unified-5h-utilization", "0.36"),
            ("Anthropic-Ratelimit-Unified-5h-Reset", "1785182400"),
            ("anthropic-ratelimit-unified-7d-utilization", "0.26"),
            ("anthropic-ratelimit-unified-7d_opus-utilization", "0.5"),
            ("anthropic-ratelimit-unified-status", "allowed"),
            ("anthropic-ratelimit-unified-9x-utilization", "0.9"),
            ("anthropic-ratelimit-unified-7d-reset", "soon"),
        ];
        let readings = readings_from_unified_headers(headers, at(12, 0));
        let names: Vec<&str> = readings.iter().map(|r| r.window.as_str()).collect();
        assert_eq!(names, ["five_hour", "seven_day", "seven_day_opus"]);
        assert!((readings[0].used_percent - 36.0).abs() < 1e-9);
        assert_eq!(
            readings[0].resets_at.map(|r| r.timestamp()),
            Some(1_785_182_400)
        );
        assert_eq!(readings[1].resets_at, None);
        assert!(readings
            .iter()
            .all(|r| r.source == PlanSource::GatewayHeaders));
        assert_eq!(window_label("seven_day_opus"), "Week (Opus)");
    }

    #[test]
    fn pace_sentences() {
        let zone = DayZone::utc();
        let mut windows = PlanWindows::default();
        windows.observe(reading("five_hour", 10.0, at(12, 30), at(15, 40)));
        windows.observe(reading("five_hour", 40.0, at(13, 0), at(15, 40)));
        let report = windows.report(at(13, 0));
        assert_eq!(
            pace_line(&report[0], at(13, 0), &zone).as_deref(),
            Some("at this pace 100 % at 14:00, 1 h 40 min before the reset")
        );
        assert_eq!(
            source_text(&report[0].last_reading, &zone),
            "Claude Code 2.1.328 status line, 13:00"
        );
    }
}
