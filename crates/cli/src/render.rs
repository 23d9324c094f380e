//! Human output: the coloured verdict line, troubled components, incidents and their timelines.
//! Colour is decided by `anstream`, which drops it when stdout is not a terminal or NO_COLOR is set.

use std::fmt::Write as _;

use anstyle::{Ansi256Color, AnsiColor, Color, Style};
use chrono::{DateTime, Local, Utc};
use claude_status_core::changes::first_line;
use claude_status_core::report::{IncidentReport, Snapshot};
use claude_status_core::Level;

/// The colour of a level, matching the tray icon's.
pub fn level_style(level: Level) -> Style {
    let color = match level {
        Level::Operational => Color::Ansi(AnsiColor::Green),
        Level::Degraded => Color::Ansi(AnsiColor::Yellow),
        // Orange is not one of the 16 basic colours; 208 is the usual 256-colour orange.
        Level::Overloaded => Color::Ansi256(Ansi256Color(208)),
        Level::Outage => Color::Ansi(AnsiColor::Red),
        Level::Maintenance => Color::Ansi(AnsiColor::Blue),
        Level::Offline | Level::Unknown => Color::Ansi(AnsiColor::BrightBlack),
    };
    Style::new().fg_color(Some(color)).bold()
}

/// A glyph per level, so the line reads without colour too.
pub fn level_glyph(level: Level) -> &'static str {
    match level {
        Level::Operational => "✔",
        Level::Degraded => "▲",
        Level::Overloaded => "◆",
        Level::Outage => "✖",
        Level::Maintenance => "⚙",
        Level::Offline => "○",
        Level::Unknown => "?",
    }
}

/// "Claude API overloaded — 529 on 4 of the last 5 probes", coloured.
pub fn verdict_line(level: Level, reasons: &[String]) -> String {
    let style = level_style(level);
    let mut line = format!(
        "{style}{} {}{style:#}",
        level_glyph(level),
        level.headline()
    );
    if let Some(reason) = reasons.first() {
        let _ = write!(line, " — {reason}");
    }
    line
}

/// The whole human report of `check`.
pub fn check_report(snapshot: &Snapshot, now: DateTime<Utc>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", verdict_line(snapshot.level, &snapshot.reasons));
    for reason in snapshot.reasons.iter().skip(1) {
        let _ = writeln!(out, "  {reason}");
    }
    let page = &snapshot.status_page;
    if let Some(fetched) = page.fetched_at {
        let source = page
            .source_url
            .as_deref()
            .map(claude_status_engine::poller::host_of)
            .unwrap_or_default();
        let age = match page.page.updated_at {
            Some(updated) => format!(", page updated {}", relative(updated, now)),
            None => String::new(),
        };
        let stale = if page.error.is_some() {
            " (last good copy)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  {dim}status page {source} read {}{age}{stale}{dim:#}",
            relative(fetched, now),
            dim = Style::new().dimmed()
        );
    }

    let troubled: Vec<_> = page.troubled_components().collect();
    if !troubled.is_empty() {
        let _ = writeln!(out, "\nComponents not operational:");
        for component in troubled {
            let group = component
                .group
                .as_deref()
                .map(|g| format!("{g} / "))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {group}{}: {}",
                component.name,
                component.status.label()
            );
        }
    }
    if !page.incidents.is_empty() {
        let _ = writeln!(out, "\nActive incidents:");
        for incident in &page.incidents {
            out.push_str(&incident_block(incident, now, 1));
        }
    }
    if !page.maintenances.is_empty() {
        let _ = writeln!(out, "\nScheduled maintenance:");
        for maintenance in &page.maintenances {
            let window = match (maintenance.scheduled_for, maintenance.scheduled_until) {
                (Some(from), Some(until)) => format!(
                    " {}–{}",
                    local_time(from, "%a %d %b %H:%M"),
                    local_time(until, "%H:%M")
                ),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "  {} ({}){window}",
                maintenance.name, maintenance.status
            );
        }
    }
    out
}

/// An incident with its newest updates; `max_updates` 0 shows them all.
pub fn incident_block(incident: &IncidentReport, now: DateTime<Utc>, max_updates: usize) -> String {
    let mut out = String::new();
    let bold = Style::new().bold();
    let _ = write!(
        out,
        "  {bold}{}{bold:#} ({} impact, {})",
        incident.name, incident.impact, incident.status
    );
    if let Some(created) = incident.created_at {
        let _ = write!(out, ", opened {}", relative(created, now));
    }
    if let (Some(created), Some(resolved)) = (incident.created_at, incident.resolved_at) {
        let _ = write!(out, ", lasted {}", short_duration(resolved - created));
    }
    out.push('\n');
    if let Some(link) = incident.shortlink.as_deref() {
        let _ = writeln!(out, "    {link}");
    }
    let shown = if max_updates == 0 {
        incident.updates.len()
    } else {
        max_updates
    };
    for update in incident.updates.iter().take(shown) {
        let at = update
            .created_at
            .map(|t| local_time(t, "%Y-%m-%d %H:%M"))
            .unwrap_or_else(|| "time unknown".to_owned());
        let body = if max_updates == 1 {
            first_line(&update.body)
        } else {
            update.body.trim().replace('\n', "\n      ")
        };
        let _ = writeln!(out, "    {at}  {}: {body}", update.status);
    }
    out
}

/// The human report of `history`.
pub fn history_report(
    report: &claude_status_core::history::HistoryReport,
    now: DateTime<Utc>,
) -> String {
    let mut out = String::new();
    let bold = Style::new().bold();
    let _ = writeln!(
        out,
        "{bold}Last {}{bold:#} ({} probes)",
        if report.window_label.is_empty() {
            "window".to_owned()
        } else {
            report.window_label.clone()
        },
        report.probes
    );
    let pct = |v: Option<f64>| {
        v.map(|v| format!("{v:.2}%"))
            .unwrap_or_else(|| "n/a".to_owned())
    };
    let ms = |v: Option<u64>| {
        v.map(|v| format!("{v} ms"))
            .unwrap_or_else(|| "n/a".to_owned())
    };
    let _ = writeln!(out, "  uptime        {}", pct(report.uptime_percent));
    let _ = writeln!(
        out,
        "  latency       p50 {}  p95 {}",
        ms(report.latency_p50_ms),
        ms(report.latency_p95_ms)
    );
    let _ = writeln!(
        out,
        "  TTFT          p50 {}  p95 {}",
        ms(report.ttft_p50_ms),
        ms(report.ttft_p95_ms)
    );
    let _ = writeln!(out, "  529 rate      {}", pct(report.rate_529_percent));
    let _ = writeln!(out, "  429 rate      {}", pct(report.rate_429_percent));
    if !report.outcomes.is_empty() {
        let outcomes: Vec<String> = report
            .outcomes
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let _ = writeln!(out, "  outcomes      {}", outcomes.join(", "));
    }
    if !report.downtime.is_empty() {
        let _ = writeln!(out, "\nFailing periods seen by our probes:");
        for period in &report.downtime {
            let end = period
                .end
                .map(|e| local_time(e, "%H:%M"))
                .unwrap_or_else(|| "now".to_owned());
            let _ = writeln!(
                out,
                "  {}–{end}  {}",
                local_time(period.start, "%Y-%m-%d %H:%M"),
                period.outcome
            );
        }
    }
    if !report.lead_times.is_empty() {
        let _ = writeln!(out, "\nEarly detection (our probes vs the status page):");
        for lead in &report.lead_times {
            let _ = writeln!(
                out,
                "  {} earlier: {}",
                short_duration(chrono::Duration::seconds(lead.lead_seconds)),
                lead.incident_name
            );
        }
    }
    if !report.incidents.is_empty() {
        let _ = writeln!(out, "\nIncidents:");
        for incident in &report.incidents {
            out.push_str(&incident_block(incident, now, 1));
        }
    }
    out
}

/// A time in the user's local zone.
pub fn local_time(at: DateTime<Utc>, format: &str) -> String {
    at.with_timezone(&Local).format(format).to_string()
}

/// "3 min ago", "just now", "in 2 h".
pub fn relative(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let delta = now - at;
    if delta.num_seconds().abs() < 10 {
        return "just now".to_owned();
    }
    if delta.num_seconds() < 0 {
        return format!("in {}", short_duration(-delta));
    }
    format!("{} ago", short_duration(delta))
}

/// "45 s", "12 min", "3 h 5 min", "2 d 4 h".
pub fn short_duration(delta: chrono::Duration) -> String {
    let seconds = delta.num_seconds().max(0);
    match seconds {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86_400 => {
            let minutes = (s % 3600) / 60;
            if minutes == 0 {
                format!("{} h", s / 3600)
            } else {
                format!("{} h {minutes} min", s / 3600)
            }
        }
        s => format!("{} d {} h", s / 86_400, (s % 86_400) / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        let check = |seconds: i64, expected: &str| {
            assert_eq!(short_duration(chrono::Duration::seconds(seconds)), expected)
        };
        check(5, "5 s");
        check(125, "2 min");
        check(3600, "1 h");
        check(3600 + 5 * 60, "1 h 5 min");
        check(2 * 86_400 + 4 * 3600, "2 d 4 h");
    }

    #[test]
    fn every_level_has_its_own_glyph() {
        let glyphs: std::collections::HashSet<_> =
            Level::ALL.iter().map(|l| level_glyph(*l)).collect();
        assert_eq!(glyphs.len(), Level::ALL.len());
    }
}
