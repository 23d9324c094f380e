//! `claude-status usage` and `claude-status limits`: token and cost tables from Claude Code's
//! logs, and the tier's limits with the live headroom.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anstyle::Style;
use chrono::NaiveDate;
use claude_status_core::aggregate::{self, DayZone, Totals, UsageColumns};
use claude_status_core::catalog::{Catalog, SpendCap};
use claude_status_core::ratelimit::RateLimitBucket;
use claude_status_core::usage::{UsageRecord, UsageSource};
use claude_status_engine::usage::{load_catalog, local_day_zone, store_path_for_logs};
use claude_status_engine::Store;
use serde::Serialize;

use crate::args::UsageView;

/// `usage`: reads what is new in the logs into the ledger (or takes the running service's report
/// of doing so), then prints the table.
// The command's own options, one argument each, as clap parsed them.
#[allow(clippy::too_many_arguments)]
pub fn usage(
    data_dir: &Path,
    ingested_by_service: Option<claude_status_engine::claude_code::IngestReport>,
    view: UsageView,
    since: Option<NaiveDate>,
    until: Option<NaiveDate>,
    json: bool,
    logs: Option<&Path>,
    timezone: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let zone = match timezone {
        Some(name) => DayZone::parse(name)?,
        None => local_day_zone(),
    };
    let catalog = load_catalog()?;
    let dirs = claude_status_engine::claude_code::projects_dirs(logs)?;
    let store_path = match logs {
        Some(logs) => store_path_for_logs(data_dir, logs),
        None => Store::default_path(data_dir),
    };
    let store = Store::open(&store_path)?;
    let report = match ingested_by_service {
        Some(report) => report,
        None => claude_status_engine::claude_code::ingest_all(&store, &dirs)?,
    };
    if report.malformed > 0 {
        eprintln!(
            "claude-status: skipped {} malformed log line{}",
            report.malformed,
            if report.malformed == 1 { "" } else { "s" }
        );
    }
    let records: Vec<UsageRecord> = store
        .usage_between(
            chrono::DateTime::<chrono::Utc>::MIN_UTC,
            chrono::Utc::now() + chrono::Duration::days(1),
        )?
        .into_iter()
        .filter(|r| r.source == UsageSource::ClaudeCode)
        .filter(|r| {
            let day = zone.date_of(r.at);
            since.is_none_or(|s| day >= s) && until.is_none_or(|u| day <= u)
        })
        .collect();
    let records = aggregate::dedupe(records);

    match view {
        UsageView::Daily => {
            let report = aggregate::daily(&records, &zone, &catalog);
            if json {
                crate::print_json(&report)?;
            } else {
                let rows: Vec<(String, &UsageColumns)> = report
                    .daily
                    .iter()
                    .map(|r| (r.date.to_string(), &r.usage))
                    .collect();
                anstream::print!("{}", table("Date", &rows, &report.totals, &zone));
            }
        }
        UsageView::Monthly => {
            let report = aggregate::monthly(&records, &zone, &catalog);
            if json {
                crate::print_json(&report)?;
            } else {
                let rows: Vec<(String, &UsageColumns)> = report
                    .monthly
                    .iter()
                    .map(|r| (r.month.clone(), &r.usage))
                    .collect();
                anstream::print!("{}", table("Month", &rows, &report.totals, &zone));
            }
        }
        UsageView::Session => {
            let report = aggregate::sessions(&records, &catalog);
            if json {
                crate::print_json(&report)?;
            } else {
                let rows: Vec<(String, &UsageColumns)> = report
                    .sessions
                    .iter()
                    .map(|r| {
                        (
                            r.session_id.clone().unwrap_or_else(|| "(none)".to_owned()),
                            &r.usage,
                        )
                    })
                    .collect();
                anstream::print!("{}", table("Session", &rows, &report.totals, &zone));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// 1234567 → "1,234,567".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn cost(usd: f64, unknown: bool) -> String {
    format!("${usd:.2}{}", if unknown { "*" } else { "" })
}

fn table(first: &str, rows: &[(String, &UsageColumns)], totals: &Totals, zone: &DayZone) -> String {
    let headers = [
        first,
        "Models",
        "Input",
        "Output",
        "Cache Create",
        "Cache Read",
        "Total Tokens",
        "Cost (USD)",
    ];
    let mut lines: Vec<[String; 8]> = rows
        .iter()
        .map(|(key, u)| {
            [
                key.clone(),
                u.models.join(", "),
                thousands(u.input_tokens),
                thousands(u.output_tokens),
                thousands(u.cache_creation_tokens),
                thousands(u.cache_read_tokens),
                thousands(u.total_tokens),
                cost(u.cost_usd, u.includes_unknown_price),
            ]
        })
        .collect();
    lines.push([
        "Total".to_owned(),
        String::new(),
        thousands(totals.input_tokens),
        thousands(totals.output_tokens),
        thousands(totals.cache_creation_tokens),
        thousands(totals.cache_read_tokens),
        thousands(totals.total_tokens),
        cost(totals.cost_usd, totals.includes_unknown_price),
    ]);
    let mut widths = headers.map(|h| h.chars().count());
    for line in &lines {
        for (w, cell) in widths.iter_mut().zip(line.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let bold = Style::new().bold();
    let mut out = String::new();
    let render = |out: &mut String, cells: &[String; 8], style: Option<Style>| {
        let mut line = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths.iter()).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            // Text columns align left, numbers right.
            if i < 2 {
                let _ = write!(line, "{cell:<width$}");
            } else {
                let _ = write!(line, "{cell:>width$}");
            }
        }
        match style {
            Some(style) => {
                let _ = writeln!(out, "{style}{}{style:#}", line.trim_end());
            }
            None => {
                let _ = writeln!(out, "{}", line.trim_end());
            }
        }
    };
    render(&mut out, &headers.map(str::to_owned), Some(bold));
    let (body, total) = lines.split_at(lines.len() - 1);
    for line in body {
        render(&mut out, line, None);
    }
    render(&mut out, &total[0], Some(bold));
    if rows.is_empty() {
        let _ = writeln!(out, "No usage found in Claude Code's logs.");
    }
    if totals.includes_unknown_price {
        let _ = writeln!(
            out,
            "* includes models without a known price: their cost is not counted (price unknown, not $0)"
        );
    }
    let _ = writeln!(out, "Days in {}.", zone.name());
    out
}

/// The JSON of `limits`.
#[derive(Serialize)]
struct LimitsOutput<'a> {
    tier: Option<TierOutput<'a>>,
    /// How the tier was chosen: `user`, `headers` or null.
    tier_source: Option<&'static str>,
    live: Option<LiveOutput>,
    catalog_as_of: &'a claude_status_core::catalog::AsOf,
}

#[derive(Serialize)]
struct TierOutput<'a> {
    key: &'a str,
    name: &'a str,
    monthly_spend_cap_usd: Option<f64>,
    classes: &'a std::collections::BTreeMap<String, claude_status_core::catalog::ClassLimits>,
}

#[derive(Serialize)]
struct LiveOutput {
    at: chrono::DateTime<chrono::Utc>,
    ratelimit: claude_status_core::ratelimit::RateLimitSnapshot,
}

/// `limits`: the tier table and the latest live reading.
pub fn limits(data_dir: &Path, tier: Option<&str>, json: bool) -> anyhow::Result<ExitCode> {
    let catalog: Catalog = load_catalog()?;
    let store = Store::open(&Store::default_path(data_dir))?;
    let reading = store.latest_ratelimit_reading(None)?;
    let model_class = catalog
        .model_class(
            claude_status_core::settings::Settings::default()
                .streaming_model
                .as_str(),
        )
        .map(str::to_owned);
    let (tier_key, source) = match tier {
        Some(name) => {
            let found = catalog.tier(name).ok_or_else(|| {
                claude_status_engine::Error::Config(format!(
                    "--tier {name:?} is not a known tier ({})",
                    catalog
                        .tiers()
                        .map(|t| t.key.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
            (Some(found.key.clone()), Some("user"))
        }
        None => match (&reading, &model_class) {
            (Some(r), Some(class)) => match catalog.identify_tier(&r.snapshot, class) {
                Some(key) => (Some(key), Some("headers")),
                None => (None, None),
            },
            _ => (None, None),
        },
    };
    let tier = tier_key.as_deref().and_then(|k| catalog.tier(k));
    let output = LimitsOutput {
        tier: tier.map(|t| TierOutput {
            key: &t.key,
            name: &t.name,
            monthly_spend_cap_usd: match t.monthly_spend_cap {
                SpendCap::Usd(usd) => Some(usd),
                _ => None,
            },
            classes: &t.classes,
        }),
        tier_source: source,
        live: reading.as_ref().map(|r| LiveOutput {
            at: r.at,
            ratelimit: r.snapshot.clone(),
        }),
        catalog_as_of: &catalog.as_of,
    };
    if json {
        crate::print_json(&output)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = String::new();
    let bold = Style::new().bold();
    match tier {
        Some(t) => {
            let how = if source == Some("user") {
                "as you set it"
            } else {
                "identified from the rate-limit headers"
            };
            let cap = match t.monthly_spend_cap {
                SpendCap::Usd(usd) => format!("monthly spend cap ${usd:.0}"),
                SpendCap::Unlimited => "no monthly spend cap".to_owned(),
                SpendCap::Unknown => "monthly spend cap unknown".to_owned(),
            };
            let _ = writeln!(out, "{bold}{}{bold:#} ({how}), {cap}", t.name);
            let _ = writeln!(
                out,
                "  {:<14} {:>10} {:>14} {:>14}  cache reads count",
                "class", "RPM", "input/min", "output/min"
            );
            for (class, limits) in &t.classes {
                let n = |v: Option<u64>| v.map(thousands).unwrap_or_else(|| "unknown".to_owned());
                let reads = match limits.cache_reads_count_toward_itpm {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "unknown",
                };
                let _ = writeln!(
                    out,
                    "  {class:<14} {:>10} {:>14} {:>14}  {reads}",
                    n(limits.requests_per_minute),
                    n(limits.input_tokens_per_minute),
                    n(limits.output_tokens_per_minute)
                );
            }
        }
        None => {
            let _ = writeln!(
                out,
                "Tier not known: pass --tier (one of {}) or run `claude-status --ttft watch` so the streaming probe reads your limits.",
                catalog.tiers().map(|t| t.key.as_str()).collect::<Vec<_>>().join(", ")
            );
        }
    }
    match &reading {
        Some(r) => {
            let _ = writeln!(
                out,
                "\n{bold}Live headroom{bold:#} (rate-limit headers at {}):",
                crate::render::local_time(r.at, "%Y-%m-%d %H:%M:%S")
            );
            let line = |name: &str, b: &Option<RateLimitBucket>| -> Option<String> {
                let b = b.as_ref()?;
                Some(format!(
                    "  {name:<14} {} of {} left{}",
                    b.remaining.map(thousands).unwrap_or_else(|| "?".to_owned()),
                    b.limit.map(thousands).unwrap_or_else(|| "?".to_owned()),
                    b.reset
                        .map(|t| format!(
                            ", full again at {}",
                            crate::render::local_time(t, "%H:%M:%S")
                        ))
                        .unwrap_or_default()
                ))
            };
            let s = &r.snapshot;
            for text in [
                line("requests", &s.requests),
                line("input tokens", &s.input_tokens),
                line("output tokens", &s.output_tokens),
                line("tokens", &s.tokens),
            ]
            .into_iter()
            .flatten()
            {
                let _ = writeln!(out, "{text}");
            }
        }
        None => {
            let _ = writeln!(
                out,
                "\nNo live reading yet: the streaming probe (--ttft) records the rate-limit headers."
            );
        }
    }
    let _ = writeln!(
        out,
        "\nTables as of {}; override them in {}.",
        catalog.as_of.tiers,
        claude_status_engine::usage::catalog_override_path()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "CLAUDE_STATUS_CATALOG".to_owned())
    );
    anstream::print!("{out}");
    Ok(ExitCode::SUCCESS)
}
