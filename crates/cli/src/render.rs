//! Human output: the coloured verdict line, the followed models, troubled components, incidents
//! and their timelines.
//! Colour is decided by `anstream`, which drops it when stdout is not a terminal or NO_COLOR is set.

use std::fmt::Write as _;

use anstyle::{Ansi256Color, AnsiColor, Color, Style};
use chrono::{DateTime, Local, Utc};
use claude_status_core::changes::first_line;
use claude_status_core::models::ModelReport;
use claude_status_core::report::{IncidentReport, Snapshot};
use claude_status_core::verdict::model_line;
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

/// A glyph per level, so the line reads without colour too (the status line uses the same).
pub fn level_glyph(level: Level) -> &'static str {
    level.symbol()
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

/// "Claude Opus 5.5 overloaded — 529 on 3 of the last 4 probes" when a model decided the level
/// (the words of its notification), else the API-wide line.
pub fn subject_verdict_line(level: Level, subject: Option<&str>, reasons: &[String]) -> String {
    let Some(name) = subject else {
        return verdict_line(level, reasons);
    };
    let style = level_style(level);
    let mut line = format!(
        "{style}{} Claude {name} {}{style:#}",
        level_glyph(level),
        level.as_str()
    );
    if let Some(reason) = reasons.first() {
        // The first reason is the model's own line; its name and level are in the headline.
        let prefix = format!("{name}: {}", level.as_str());
        let rest = match reason.strip_prefix(&prefix) {
            Some(rest) => rest.trim_start_matches(',').trim(),
            None => reason.as_str(),
        };
        if !rest.is_empty() {
            let _ = write!(line, " — {rest}");
        }
    }
    line
}

/// The display name of the model that decided the snapshot's level, if one did.
pub fn subject_name(snapshot: &Snapshot) -> Option<String> {
    let subject = snapshot.subject.as_deref()?;
    Some(
        snapshot
            .models
            .iter()
            .find(|m| m.model == subject)
            .map(|m| m.display_name.clone())
            .unwrap_or_else(|| claude_status_core::models::display_name(subject)),
    )
}

/// "Opus 5.5 (62 % of your requests this week): overloaded, 529 on 3 of the last 4 probes".
pub fn model_entry_line(model: &ModelReport) -> String {
    let line = model_line(model);
    let mut notes = Vec::new();
    if model.requests_7d > 0 {
        notes.push(format!(
            "{:.0} % of your requests this week",
            (model.share_7d * 100.0).clamp(0.0, 100.0)
        ));
    }
    if model.pinned {
        notes.push("pinned".to_owned());
    }
    if !model.followed {
        notes.push("not one you follow".to_owned());
    }
    let style = level_style(model.level);
    let glyph = format!("{style}{}{style:#}", level_glyph(model.level));
    if notes.is_empty() {
        return format!("{glyph} {line}");
    }
    let notes = format!(" ({})", notes.join(", "));
    match line.strip_prefix(&model.display_name) {
        Some(rest) => format!("{glyph} {}{notes}{rest}", model.display_name),
        None => format!("{glyph} {line}{notes}"),
    }
}

/// The whole human report of `check`; `headline_model` names the model `check --model M`
/// answered for when its own verdict is the answer.
pub fn check_report(
    snapshot: &Snapshot,
    headline_model: Option<&str>,
    now: DateTime<Utc>,
) -> String {
    let mut out = String::new();
    let subject = subject_name(snapshot).or_else(|| headline_model.map(str::to_owned));
    let _ = writeln!(
        out,
        "{}",
        subject_verdict_line(snapshot.level, subject.as_deref(), &snapshot.reasons)
    );
    let warning = snapshot.coverage.warning.as_deref();
    // The coverage warning gets its own line below, so it is not repeated among the reasons.
    for reason in snapshot
        .reasons
        .iter()
        .skip(1)
        .filter(|r| Some(r.as_str()) != warning)
    {
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

    let bold = Style::new().bold();
    let _ = writeln!(
        out,
        "\n{bold}Does it hit you?{bold:#} {}",
        snapshot.hits_you.text
    );
    if let Some(warning) = warning {
        let style = level_style(Level::Degraded);
        let _ = writeln!(out, "{style}Warning:{style:#} {warning}.");
    }
    if let Some(not_saved) = &snapshot.history_not_saved {
        let style = level_style(Level::Degraded);
        let _ = writeln!(out, "{style}Warning:{style:#} {not_saved}.");
    }
    if !snapshot.models.is_empty() {
        let _ = writeln!(out, "\nModels:");
        for model in &snapshot.models {
            let _ = writeln!(out, "  {}", model_entry_line(model));
        }
    }

    let plan = snapshot
        .usage
        .as_ref()
        .map(|u| u.plan.as_slice())
        .unwrap_or(&[]);
    if !plan.is_empty() {
        let _ = writeln!(out, "\nPlan windows:");
        let zone = claude_status_engine::usage::local_day_zone();
        for line in plan_lines(plan, now, &zone) {
            let _ = writeln!(out, "  {line}");
        }
    }

    if let Some(traffic) = snapshot.traffic.as_ref().filter(|t| !t.lines.is_empty()) {
        let _ = writeln!(out, "\nTraffic spikes (gateway):");
        out.push_str(&spike_lines(traffic));
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

/// The spike watch in `check`: every measure above its threshold or alerting, in the Budget
/// view's words, then one line for the rest, so a quiet watch takes one line however many models
/// it follows (`check --json` and the dashboard carry every line).
pub fn spike_lines(traffic: &claude_status_core::spikes::SpikeReport) -> String {
    let mut out = String::new();
    let (raised, quiet): (Vec<_>, Vec<_>) =
        traffic.lines.iter().partition(|l| l.alerting || l.above);
    for line in &raised {
        let style = if line.alerting {
            level_style(Level::Degraded)
        } else {
            Style::new()
        };
        let _ = writeln!(out, "  {style}{}{style:#}", line.summary());
    }
    if !quiet.is_empty() {
        let learning = quiet.iter().filter(|l| l.threshold.is_none()).count();
        let models: std::collections::BTreeSet<_> = quiet.iter().map(|l| &l.model).collect();
        let measure = if raised.is_empty() {
            "measure"
        } else {
            "other measure"
        };
        let plural = |n: usize, word: &str| {
            if n == 1 {
                format!("{n} {word}")
            } else {
                format!("{n} {word}s")
            }
        };
        let state = match learning {
            0 => "normal".to_owned(),
            n if n == quiet.len() => {
                "learning (no alert until the baseline has 24 hours)".to_owned()
            }
            n => format!(
                "quiet: {} normal, {n} learning (no alert until the baseline has 24 hours)",
                quiet.len() - n
            ),
        };
        let _ = writeln!(
            out,
            "  {dim}{} of {}: {state}{dim:#}",
            plural(quiet.len(), measure),
            plural(models.len(), "model"),
            dim = Style::new().dimmed()
        );
    }
    if traffic.unpriced_requests > 0 {
        let _ = writeln!(
            out,
            "  {dim}{} requests in the last hour have no known price and are left out of the cost per 1,000{dim:#}",
            traffic.unpriced_requests,
            dim = Style::new().dimmed()
        );
    }
    out
}

/// One line per plan window: "Session (5 h): 62 %, resets 15:40 — at this pace 100 % at 14:55,
/// 45 min before the reset (Claude Code 2.1.328 status line, 13:02)".
pub fn plan_lines(
    plan: &[claude_status_core::plan::PlanWindowReport],
    now: DateTime<Utc>,
    zone: &claude_status_core::aggregate::DayZone,
) -> Vec<String> {
    use claude_status_core::plan::{source_text, window_with_pace};
    plan.iter()
        .map(|window| {
            format!(
                "{} ({})",
                window_with_pace(window, now, zone),
                source_text(&window.last_reading, zone)
            )
        })
        .collect()
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
            let model = lead
                .model
                .as_deref()
                .map(|m| format!(" (on {})", claude_status_core::models::display_name(m)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {} earlier{model}: {}",
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
    use claude_status_core::spikes::{SpikeLine, SpikeMeasure, SpikeReport};

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

    /// The text without its colours, as a pipe receives it.
    fn plain(text: &str) -> String {
        anstream::adapter::strip_str(text).to_string()
    }

    fn opus(level: Level, reason: &str) -> ModelReport {
        ModelReport {
            model: "claude-opus-5-5".to_owned(),
            class: Some("opus-5-5".to_owned()),
            display_name: "Opus 5.5".to_owned(),
            level,
            reasons: vec![reason.to_owned()],
            followed: true,
            relied_on: true,
            pinned: false,
            share_7d: 0.62,
            requests_7d: 31,
            probe_interval_secs: Some(60),
            last_probe: None,
            own_traffic: None,
            incidents: Vec::new(),
            retired: None,
        }
    }

    #[test]
    fn a_model_line_carries_its_share_of_the_week() {
        let mut model = opus(Level::Overloaded, "529 on 3 of the last 4 probes");
        assert_eq!(
            plain(&model_entry_line(&model)),
            "◆ Opus 5.5 (62 % of your requests this week): overloaded, 529 on 3 of the last 4 probes"
        );
        model.requests_7d = 0;
        model.share_7d = 0.0;
        model.pinned = true;
        model.level = Level::Operational;
        model.reasons = vec!["answers normally (first token 420 ms)".to_owned()];
        assert_eq!(
            plain(&model_entry_line(&model)),
            "✔ Opus 5.5 (pinned): operational, answers normally (first token 420 ms)"
        );
        model.pinned = false;
        assert_eq!(
            plain(&model_entry_line(&model)),
            "✔ Opus 5.5: operational, answers normally (first token 420 ms)"
        );
    }

    #[test]
    fn a_deciding_model_is_named_in_the_headline() {
        let reasons = ["Opus 5.5: overloaded, 529 on 3 of the last 4 probes".to_owned()];
        assert_eq!(
            plain(&subject_verdict_line(
                Level::Overloaded,
                Some("Opus 5.5"),
                &reasons
            )),
            "◆ Claude Opus 5.5 overloaded — 529 on 3 of the last 4 probes"
        );
        assert_eq!(
            plain(&subject_verdict_line(Level::Overloaded, None, &reasons)),
            "◆ Claude API overloaded — Opus 5.5: overloaded, 529 on 3 of the last 4 probes"
        );
        // A first reason about something else is kept whole.
        let reasons = ["status page: Claude API degraded".to_owned()];
        assert_eq!(
            plain(&subject_verdict_line(
                Level::Degraded,
                Some("Opus 5.5"),
                &reasons
            )),
            "▲ Claude Opus 5.5 degraded — status page: Claude API degraded"
        );
    }

    #[test]
    fn check_shows_models_the_answer_and_what_is_not_watched() {
        let mut snapshot = Snapshot::initial();
        snapshot.level = Level::Overloaded;
        snapshot.subject = Some("claude-opus-5-5".to_owned());
        let warning = claude_status_core::models::NOT_WATCHED.to_owned();
        snapshot.reasons = vec![
            "Opus 5.5: overloaded, 529 on 3 of the last 4 probes".to_owned(),
            warning.clone(),
        ];
        snapshot.models = vec![opus(Level::Overloaded, "529 on 3 of the last 4 probes")];
        snapshot.hits_you = claude_status_core::verdict::HitsYou {
            answer: claude_status_core::verdict::Answer::Yes,
            text: "Yes: Opus 5.5 is overloaded: 529 on 3 of the last 4 probes.".to_owned(),
        };
        snapshot.coverage.warning = Some(warning.clone());
        let report = check_report(&snapshot, None, Utc::now());
        let report = plain(&report);
        assert_eq!(
            report.lines().next(),
            Some("◆ Claude Opus 5.5 overloaded — 529 on 3 of the last 4 probes")
        );
        assert!(
            report.contains("Does it hit you?")
                && report.contains("Yes: Opus 5.5 is overloaded: 529 on 3 of the last 4 probes."),
            "{report}"
        );
        assert_eq!(report.matches(warning.as_str()).count(), 1, "{report}");
        assert!(report.contains("\nModels:\n"), "{report}");
        assert!(
            report.contains("Opus 5.5 (62 % of your requests this week): overloaded"),
            "{report}"
        );
    }

    fn spike_line(model: &str, measure: SpikeMeasure) -> SpikeLine {
        SpikeLine {
            model: model.to_owned(),
            model_name: "Opus 4.5".to_owned(),
            measure,
            threshold: Some(18.05),
            fixed_limit: false,
            baseline_hours: 31,
            current: Some(41.2),
            current_requests: 1234,
            above: true,
            above_since: Some(Utc::now()),
            alerting: true,
            text: "$41.20, 7-day median $18.05".to_owned(),
        }
    }

    /// Issue 17: `check` says which traffic spikes are raised, in the Budget view's words, and
    /// sums up the quiet measures in one line.
    #[test]
    fn check_lists_raised_spikes_and_sums_up_the_rest() {
        let mut snapshot = Snapshot::initial();
        let alerting = spike_line("claude-opus-4-5", SpikeMeasure::CostPer1k);
        let mut normal = spike_line("claude-opus-4-5", SpikeMeasure::StreamTtft);
        (normal.above, normal.alerting) = (false, false);
        let mut learning = spike_line("claude-haiku-4-5", SpikeMeasure::P95InputTokens);
        (learning.above, learning.alerting, learning.threshold) = (false, false, None);
        snapshot.traffic = Some(SpikeReport {
            evaluated_at: Some(Utc::now()),
            lines: vec![alerting, normal.clone(), learning.clone()],
            unpriced_requests: 3,
            dropped_samples: 0,
        });
        let text = plain(&check_report(&snapshot, None, Utc::now()));
        assert!(
            text.contains(
                "\nTraffic spikes (gateway):\n  Opus 4.5, cost per 1,000 requests: $41.20, \
                 7-day median $18.05 (alerting)\n  2 other measures of 2 models: quiet: 1 normal, \
                 1 learning (no alert until the baseline has 24 hours)\n  3 requests in the last \
                 hour have no known price and are left out of the cost per 1,000\n"
            ),
            "{text}"
        );

        // A quiet watch is one line.
        snapshot.traffic = Some(SpikeReport {
            lines: vec![normal],
            unpriced_requests: 0,
            ..SpikeReport::default()
        });
        let text = plain(&check_report(&snapshot, None, Utc::now()));
        assert!(
            text.contains("\nTraffic spikes (gateway):\n  1 measure of 1 model: normal\n"),
            "{text}"
        );
        snapshot.traffic = Some(SpikeReport {
            lines: vec![learning],
            ..SpikeReport::default()
        });
        let text = plain(&check_report(&snapshot, None, Utc::now()));
        assert!(
            text.contains(
                "  1 measure of 1 model: learning (no alert until the baseline has 24 hours)\n"
            ),
            "{text}"
        );

        // No gateway traffic seen: no section.
        snapshot.traffic = Some(SpikeReport::default());
        let text = plain(&check_report(&snapshot, None, Utc::now()));
        assert!(!text.contains("Traffic spikes"), "{text}");
    }

    #[test]
    fn history_names_the_model_of_a_lead_time() {
        let at = Utc::now();
        let lead = |id: &str, model: Option<&str>| claude_status_core::history::HistoryLead {
            incident_id: id.to_owned(),
            incident_name: "Elevated errors on Claude Opus 5.5".to_owned(),
            model: model.map(str::to_owned),
            detected_at: at - chrono::Duration::seconds(380),
            reported_at: at,
        };
        let leads = [lead("a", Some("claude-opus-5-5")), lead("b", None)];
        let report = claude_status_core::history::summarize(
            &[],
            &[],
            &leads,
            at - chrono::Duration::hours(1),
            at + chrono::Duration::seconds(1),
        );
        let text = plain(&history_report(&report, at));
        assert!(
            text.contains("  6 min earlier (on Opus 5.5): Elevated errors on Claude Opus 5.5\n"),
            "{text}"
        );
        assert!(
            text.contains("  6 min earlier: Elevated errors on Claude Opus 5.5\n"),
            "{text}"
        );
    }

    #[test]
    fn every_level_has_its_own_glyph() {
        let glyphs: std::collections::HashSet<_> =
            Level::ALL.iter().map(|l| level_glyph(*l)).collect();
        assert_eq!(glyphs.len(), Level::ALL.len());
    }
}
