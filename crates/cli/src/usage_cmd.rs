//! `claude-status usage` and `claude-status limits`: token and cost tables from the usage
//! ledger's sources (Claude Code's logs, the gateway, the streaming probe; per day, month,
//! session, and estimated 5-hour blocks), or from the Admin API's usage report on its own, and
//! the tier's limits with the live headroom.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anstyle::Style;
use chrono::{DateTime, NaiveDate, Utc};
use claude_status_core::aggregate::{self, DayZone, SourceRow, Totals, UsageColumns};
use claude_status_core::blocks::{self, Block, BlocksReport};
use claude_status_core::catalog::{Catalog, PriceSourceKind, SpendCap};
use claude_status_core::cost::PriceSourceUse;
use claude_status_core::ratelimit::RateLimitBucket;
use claude_status_core::usage::{UsageRecord, UsageSource};
use claude_status_engine::http::HttpLimits;
use claude_status_engine::usage::{load_catalog_in, local_day_zone, store_path_for_logs};
use claude_status_engine::Store;
use serde::Serialize;

use crate::args::UsageView;

/// The options of `usage blocks` (ccusage's `blocks --active` and `--recent`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlocksOptions {
    /// Only the active block, in detail.
    pub active: bool,
    /// Only the blocks of the last 3 days, and the active one.
    pub recent: bool,
}

/// How far back `--source admin-api` reads without `--since`.
const ADMIN_DEFAULT_DAYS: i64 = 30;

/// Whether a report of `source` (`None`: every source of requests) has Claude Code's records,
/// and so needs the new log lines read first.
pub fn reads_claude_code(source: Option<UsageSource>) -> bool {
    matches!(source, None | Some(UsageSource::ClaudeCode))
}

/// A source as `--source` spells it, which is also how the tables name it.
fn source_name(source: UsageSource) -> &'static str {
    match source {
        UsageSource::ClaudeCode => "claude-code",
        UsageSource::Gateway => "gateway",
        UsageSource::AdminApi => "admin-api",
        UsageSource::Probe => "probe",
    }
}

/// Where a report's records come from, as "No usage found in …" says it.
fn where_from(source: Option<UsageSource>) -> &'static str {
    match source {
        None => "the ledger (Claude Code's logs, the gateway, the probe)",
        Some(UsageSource::ClaudeCode) => "Claude Code's logs",
        Some(UsageSource::Gateway) => "the gateway's records",
        Some(UsageSource::Probe) => "the probe's records",
        Some(UsageSource::AdminApi) => "the Admin API's usage report",
    }
}

/// `claude-status usage`: reads what is new in the logs into the ledger (or takes the running
/// service's report of doing so) when the report has Claude Code's records, then prints the
/// daily, monthly, session or blocks view of `source` (`None`: every source of requests, each
/// request once); the options of `usage blocks` are ignored by the other views. The Admin API
/// is [`admin_usage`]'s.
#[allow(clippy::too_many_arguments)]
pub fn usage_with(
    data_dir: &Path,
    ingested_by_service: Option<claude_status_engine::claude_code::IngestReport>,
    view: UsageView,
    since: Option<NaiveDate>,
    until: Option<NaiveDate>,
    json: bool,
    logs: Option<&Path>,
    timezone: Option<&str>,
    source: Option<UsageSource>,
    blocks_options: BlocksOptions,
) -> anyhow::Result<ExitCode> {
    if source == Some(UsageSource::AdminApi) {
        return Err(claude_status_engine::Error::Config(
            "the Admin API's figures are read by `admin_usage`, not from the ledger".to_owned(),
        )
        .into());
    }
    // ccusage's 5-hour blocks estimate a subscription's plan window, which only Claude Code's
    // use fills: the gateway's and the probe's requests are paid by the token on an API key.
    if view == UsageView::Blocks && !reads_claude_code(source) {
        return Err(claude_status_engine::Error::Config(format!(
            "usage blocks: --source {} has no 5-hour blocks; they estimate a plan's window, \
             which only Claude Code's use counts toward (use --source claude-code or none)",
            source.map(source_name).unwrap_or_default()
        ))
        .into());
    }
    let zone = match timezone {
        Some(name) => DayZone::parse(name)?,
        None => local_day_zone(),
    };
    let catalog = load_catalog_in(data_dir)?;
    let store_path = match logs {
        Some(logs) => store_path_for_logs(data_dir, logs),
        None => Store::default_path(data_dir),
    };
    // Another program holding the history database locked (a backup, a `sqlite3` shell) costs
    // this report the ledger, not its answer: Claude Code's logs are read into a ledger in memory
    // instead, and the user is told what the report leaves out (issue 16).
    let (mut store, mut ingested_by_service) = match Store::open(&store_path) {
        Ok(store) => (store, ingested_by_service),
        Err(claude_status_engine::Error::StoreLocked(why)) => (without_ledger(&why)?, None),
        Err(error) => return Err(error.into()),
    };
    crate::tell_if_recovered(&store);
    if reads_claude_code(source) {
        let dirs = claude_status_engine::claude_code::projects_dirs(logs)?;
        let report = match ingested_by_service.take() {
            Some(report) => report,
            None => match claude_status_engine::claude_code::ingest_all(&store, &dirs) {
                Ok(report) => report,
                Err(claude_status_engine::Error::StoreLocked(why)) => {
                    store = without_ledger(&why)?;
                    claude_status_engine::claude_code::ingest_all(&store, &dirs)?
                }
                Err(error) => return Err(error.into()),
            },
        };
        if report.malformed > 0 {
            eprintln!(
                "claude-status: skipped {} malformed log line{}",
                report.malformed,
                if report.malformed == 1 { "" } else { "s" }
            );
        }
        if report.oversized > 0 {
            eprintln!(
                "claude-status: skipped {} log line{} longer than {} MiB",
                report.oversized,
                if report.oversized == 1 { "" } else { "s" },
                claude_status_engine::claude_code::MAX_LINE_BYTES >> 20
            );
        }
    }
    let now = chrono::Utc::now();
    let (from, to) = (DateTime::<Utc>::MIN_UTC, now + chrono::Duration::days(1));
    if view == UsageView::Blocks {
        // Blocks are cut from all of history and then filtered by their start, as ccusage does,
        // so `--since` never moves a block's start.
        let records =
            store.usage_deduplicated_between_of(from, to, Some(UsageSource::ClaudeCode))?;
        let mut report =
            blocks::report(&records, &catalog, now).started_within(since, until, &zone);
        if blocks_options.recent {
            report = report.recent(blocks::RECENT_DAYS);
        }
        if blocks_options.active {
            report = report.only_active();
        }
        if json {
            crate::print_json(&report)?;
        } else if blocks_options.active {
            anstream::print!("{}", active_detail(&report, &zone));
        } else {
            anstream::print!("{}", blocks_table(&report, &zone));
        }
        return Ok(ExitCode::SUCCESS);
    }
    // The other views stream the ledger through a tally, so that memory stays flat however long
    // the history is. The store deduplicates, and says which records are copies of a request
    // another source's record counts (see `Store::visit_usage_report`); the probe's usage is
    // kept with its results, not in the ledger.
    let within = |record: &UsageRecord| {
        let day = zone.date_of(record.at);
        since.is_none_or(|s| day >= s) && until.is_none_or(|u| day <= u)
    };
    let stream = |add: &mut dyn FnMut(&UsageRecord, bool)| -> claude_status_engine::Result<()> {
        if source != Some(UsageSource::Probe) {
            store.visit_usage_report(from, to, source, &mut |record, counted| {
                if within(record) {
                    add(record, counted);
                }
            })?;
        }
        if matches!(source, None | Some(UsageSource::Probe)) {
            store.visit_probe_usage(from, to, &mut |record| {
                if within(record) {
                    add(record, true);
                }
            })?;
        }
        Ok(())
    };
    let text = match view {
        UsageView::Daily => {
            let mut tally = aggregate::DailyTally::new(zone, &catalog);
            stream(&mut |r, counted| {
                if counted {
                    tally.add(r);
                } else {
                    tally.add_copy(r);
                }
            })?;
            print_report(&tally.finish(), json, source, &zone, &catalog)?
        }
        UsageView::Monthly => {
            let mut tally = aggregate::MonthlyTally::new(zone, &catalog);
            stream(&mut |r, counted| {
                if counted {
                    tally.add(r);
                } else {
                    tally.add_copy(r);
                }
            })?;
            print_report(&tally.finish(), json, source, &zone, &catalog)?
        }
        UsageView::Session => {
            let mut tally = aggregate::SessionTally::new(&catalog);
            stream(&mut |r, counted| {
                if counted {
                    tally.add(r);
                } else {
                    tally.add_copy(r);
                }
            })?;
            print_report(&tally.finish(), json, source, &zone, &catalog)?
        }
        // Answered above.
        UsageView::Blocks => None,
    };
    if let Some(text) = text {
        anstream::print!("{text}");
    }
    Ok(ExitCode::SUCCESS)
}

/// A usage report as the tables show it: its rows, keyed by what the first column names, and
/// what is printed beside them.
trait UsageTable: serde::Serialize {
    /// The first column's heading.
    const FIRST: &'static str;
    fn rows(&self) -> Vec<TableRow<'_>>;
    fn parts(&self) -> TableParts<'_>;
}

impl UsageTable for aggregate::DailyReport {
    const FIRST: &'static str = "Date";
    fn rows(&self) -> Vec<TableRow<'_>> {
        let key = |r: &aggregate::DailyRow| r.date.to_string();
        self.daily
            .iter()
            .map(|r| TableRow::new(key(r), &r.usage, &r.sources, &r.by_source))
            .collect()
    }
    fn parts(&self) -> TableParts<'_> {
        TableParts::new(&self.totals, self.seen_by_two_sources, &self.price_sources)
    }
}

impl UsageTable for aggregate::MonthlyReport {
    const FIRST: &'static str = "Month";
    fn rows(&self) -> Vec<TableRow<'_>> {
        let key = |r: &aggregate::MonthlyRow| r.month.clone();
        self.monthly
            .iter()
            .map(|r| TableRow::new(key(r), &r.usage, &r.sources, &r.by_source))
            .collect()
    }
    fn parts(&self) -> TableParts<'_> {
        TableParts::new(&self.totals, self.seen_by_two_sources, &self.price_sources)
    }
}

impl UsageTable for aggregate::SessionReport {
    const FIRST: &'static str = "Session";
    fn rows(&self) -> Vec<TableRow<'_>> {
        let key =
            |r: &aggregate::SessionRow| r.session_id.clone().unwrap_or_else(|| "(none)".to_owned());
        self.sessions
            .iter()
            .map(|r| TableRow::new(key(r), &r.usage, &r.sources, &r.by_source))
            .collect()
    }
    fn parts(&self) -> TableParts<'_> {
        TableParts::new(&self.totals, self.seen_by_two_sources, &self.price_sources)
    }
}

/// A report as JSON (printed here; `None` back) or as its table and prices note.
fn print_report<T: UsageTable>(
    report: &T,
    json: bool,
    source: Option<UsageSource>,
    zone: &DayZone,
    catalog: &Catalog,
) -> anyhow::Result<Option<String>> {
    if json {
        crate::print_json(report)?;
        return Ok(None);
    }
    Ok(Some(report.parts().render(
        T::FIRST,
        &report.rows(),
        source,
        zone,
        catalog,
    )))
}

/// What a report's table shows beside its rows.
struct TableParts<'a> {
    totals: &'a Totals,
    shared: u64,
    price_sources: &'a [PriceSourceUse],
}

impl<'a> TableParts<'a> {
    fn new(totals: &'a Totals, shared: u64, price_sources: &'a [PriceSourceUse]) -> TableParts<'a> {
        TableParts {
            totals,
            shared,
            price_sources,
        }
    }

    /// The table headed `first`, with the prices note under it.
    fn render(
        &self,
        first: &str,
        rows: &[TableRow<'_>],
        source: Option<UsageSource>,
        zone: &DayZone,
        catalog: &Catalog,
    ) -> String {
        table(first, rows, self.totals, self.shared, source, zone)
            + &prices_note(catalog, self.price_sources)
    }
}

/// The admin key: the keychain's (where the tray's Settings and `service` keep it), else
/// `ANTHROPIC_ADMIN_KEY`, as the service reads it.
fn admin_key() -> Option<claude_status_engine::probe::ApiKey> {
    use claude_status_engine::service::{Secrets as _, ADMIN_KEY_ACCOUNT};
    let from_keychain = crate::keychain::Keychain
        .get(ADMIN_KEY_ACCOUNT)
        .ok()
        .flatten()
        .and_then(claude_status_engine::probe::ApiKey::new);
    from_keychain.or_else(|| {
        std::env::var("ANTHROPIC_ADMIN_KEY")
            .ok()
            .and_then(claude_status_engine::probe::ApiKey::new)
    })
}

/// `usage --source admin-api`: the Admin API's usage report of the days asked (the last
/// [`ADMIN_DEFAULT_DAYS`] without `--since`), read now in hourly buckets so that the days can
/// be the report zone's, and priced from the catalog like every other source.
///
/// These are the organisation's figures: every key and workspace, the user's own requests
/// among them. They are buckets, not requests, so they cannot be matched with the ledger's
/// requests, and adding them to the other sources would count the user's requests twice; they
/// are therefore reported only on their own. The ledger never holds them either: the Admin API
/// keeps the history itself.
#[allow(clippy::too_many_arguments)]
pub async fn admin_usage(
    global: &crate::args::GlobalOptions,
    data_dir: &Path,
    view: UsageView,
    since: Option<NaiveDate>,
    until: Option<NaiveDate>,
    json: bool,
    timezone: Option<&str>,
) -> anyhow::Result<ExitCode> {
    use claude_status_engine::admin::{AdminClient, BucketWidth, UsageGroup};
    if matches!(view, UsageView::Session | UsageView::Blocks) {
        return Err(claude_status_engine::Error::Config(format!(
            "usage {}: the Admin API's report has no sessions or single requests (use daily \
             or monthly with --source admin-api)",
            if view == UsageView::Session {
                "session"
            } else {
                "blocks"
            }
        ))
        .into());
    }
    let zone = match timezone {
        Some(name) => DayZone::parse(name)?,
        None => local_day_zone(),
    };
    let Some(key) = tokio::task::block_in_place(admin_key) else {
        return Err(claude_status_engine::Error::Config(
            "--source admin-api needs an Admin API key (sk-ant-admin…): save it in the tray's \
             Settings or set ANTHROPIC_ADMIN_KEY"
                .to_owned(),
        )
        .into());
    };
    let catalog = load_catalog_in(data_dir)?;
    let now = Utc::now();
    let today = zone.date_of(now);
    let until = until.unwrap_or(today);
    let since = since.unwrap_or(today - chrono::Duration::days(ADMIN_DEFAULT_DAYS - 1));
    let mut records = Vec::new();
    if since <= until {
        let start = zone.start_of(since);
        let end = until
            .succ_opt()
            .map_or(now, |next| zone.start_of(next))
            .min(now);
        if start < end {
            let http = claude_status_engine::http::build_client(&HttpLimits {
                total_timeout: global.http_timeout,
                ..HttpLimits::default()
            })?;
            let client = AdminClient::new(http, global.api_url.trim_end_matches('/'), key);
            let buckets = client
                .usage_report(
                    start,
                    Some(end),
                    BucketWidth::Hour,
                    &[UsageGroup::Model, UsageGroup::ServiceTier],
                )
                .await?;
            records = claude_status_engine::admin::usage_records(&buckets);
        }
    }
    let within = |record: &UsageRecord| {
        let day = zone.date_of(record.at);
        day >= since && day <= until
    };
    let source = Some(UsageSource::AdminApi);
    let text = match view {
        UsageView::Monthly => {
            let mut tally = aggregate::MonthlyTally::new(zone, &catalog);
            records
                .iter()
                .filter(|r| within(r))
                .for_each(|r| tally.add(r));
            print_report(&tally.finish(), json, source, &zone, &catalog)?
        }
        _ => {
            let mut tally = aggregate::DailyTally::new(zone, &catalog);
            records
                .iter()
                .filter(|r| within(r))
                .for_each(|r| tally.add(r));
            print_report(&tally.finish(), json, source, &zone, &catalog)?
        }
    };
    if let Some(text) = text {
        anstream::print!("{text}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Where the prices of a table came from: the LiteLLM table in use, the override, each model of
/// the table that something else priced (a hand-made row, the override, the client's own
/// figure) or nothing did, and any model whose hand-made price disagrees with LiteLLM's (with
/// the one used and why).
fn prices_note(catalog: &Catalog, sources: &[PriceSourceUse]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Prices from {}, as of {}{}.",
        catalog.price_table.label,
        catalog.as_of.prices,
        if catalog.overridden {
            ", with your override"
        } else {
            ""
        }
    );
    for used in sources {
        let requests = if used.records == 1 {
            "1 request".to_owned()
        } else {
            format!("{} requests", thousands(used.records))
        };
        match (used.kind, &used.source) {
            (
                Some(
                    PriceSourceKind::LitellmBundled
                    | PriceSourceKind::LitellmFetched
                    | PriceSourceKind::LitellmFile,
                ),
                _,
            ) => {}
            (Some(PriceSourceKind::ReportedByClient), _) => {
                let _ = writeln!(
                    out,
                    "{}: {requests} at the cost the client wrote in its log.",
                    used.model
                );
            }
            (Some(_), Some(source)) => {
                let _ = writeln!(out, "{}: {requests} priced by {source}.", used.model);
            }
            _ => {
                let _ = writeln!(
                    out,
                    "{}: price unknown, not counted in the cost ({requests}).",
                    used.model
                );
            }
        }
    }
    for disagreement in catalog.disagreements() {
        let _ = writeln!(out, "{}: {}", disagreement.model, disagreement.note);
    }
    out
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

/// One row of a usage table: its key (a date, month or session) and figures.
struct TableRow<'a> {
    key: String,
    usage: &'a UsageColumns,
    sources: &'a [UsageSource],
    by_source: &'a [SourceRow],
}

impl<'a> TableRow<'a> {
    fn new(
        key: String,
        usage: &'a UsageColumns,
        sources: &'a [UsageSource],
        by_source: &'a [SourceRow],
    ) -> TableRow<'a> {
        TableRow {
            key,
            usage,
            sources,
            by_source,
        }
    }
}

/// The figures of one line, after its key and its Source cell.
fn figures(models: String, u: &UsageColumns) -> [String; 7] {
    [
        models,
        thousands(u.input_tokens),
        thousands(u.output_tokens),
        thousands(u.cache_creation_tokens),
        thousands(u.cache_read_tokens),
        thousands(u.total_tokens),
        cost(u.cost_usd, u.includes_unknown_price),
    ]
}

/// The sources of a line, as the Source column shows them.
fn sources_cell(sources: &[UsageSource]) -> String {
    sources
        .iter()
        .map(|s| source_name(*s))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A usage table: a line per row, and under a row that more than one source saw, a line per
/// source with what that source saw; then the totals, broken down the same way.
fn table(
    first: &str,
    rows: &[TableRow<'_>],
    totals: &Totals,
    seen_by_two_sources: u64,
    source: Option<UsageSource>,
    zone: &DayZone,
) -> String {
    let headers = [
        first,
        "Source",
        "Models",
        "Input",
        "Output",
        "Cache Create",
        "Cache Read",
        "Total Tokens",
        "Cost (USD)",
    ];
    let line = |key: String, sources: String, models: String, u: &UsageColumns| -> Vec<String> {
        let mut cells = vec![key, sources];
        cells.extend(figures(models, u));
        cells
    };
    let breakdown = |lines: &mut Vec<Vec<String>>, by_source: &[SourceRow]| {
        if by_source.len() > 1 {
            for part in by_source {
                lines.push(line(
                    String::new(),
                    format!("└ {}", source_name(part.source)),
                    part.usage.models.join(", "),
                    &part.usage,
                ));
            }
        }
    };
    let mut lines: Vec<Vec<String>> = Vec::new();
    for row in rows {
        lines.push(line(
            row.key.clone(),
            sources_cell(row.sources),
            row.usage.models.join(", "),
            row.usage,
        ));
        breakdown(&mut lines, row.by_source);
    }
    let totals_line = lines.len();
    let total_columns = UsageColumns {
        input_tokens: totals.input_tokens,
        output_tokens: totals.output_tokens,
        cache_creation_tokens: totals.cache_creation_tokens,
        cache_read_tokens: totals.cache_read_tokens,
        total_tokens: totals.total_tokens,
        cost_usd: totals.cost_usd,
        models: Vec::new(),
        includes_unknown_price: totals.includes_unknown_price,
    };
    lines.push(line(
        "Total".to_owned(),
        sources_cell(&totals.sources),
        String::new(),
        &total_columns,
    ));
    breakdown(&mut lines, &totals.by_source);
    let mut out = grid(&headers, &lines, 3, Some(totals_line));
    if rows.is_empty() {
        let _ = writeln!(out, "No usage found in {}.", where_from(source));
    }
    if seen_by_two_sources > 0 {
        let _ = writeln!(
            out,
            "{} seen by two sources (Claude Code through the gateway): in both sources' lines, \
             counted once, as Claude Code recorded {}.",
            if seen_by_two_sources == 1 {
                "1 request".to_owned()
            } else {
                format!("{} requests", thousands(seen_by_two_sources))
            },
            if seen_by_two_sources == 1 {
                "it"
            } else {
                "them"
            }
        );
    }
    if source == Some(UsageSource::AdminApi) {
        let _ = writeln!(
            out,
            "The Admin API's figures are your organisation's (every key and workspace, your own \
             requests among them), by the hour, priced from the catalog; they are never added \
             to the other sources'."
        );
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

/// A table: the header in bold, the cells padded to their column's width with two spaces
/// between, the first `left_columns` columns aligned left (text) and the rest right (numbers), and
/// the line at index `bold_line` in bold (a totals line).
fn grid(
    headers: &[&str],
    lines: &[Vec<String>],
    left_columns: usize,
    bold_line: Option<usize>,
) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for line in lines {
        for (w, cell) in widths.iter_mut().zip(line.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let bold = Style::new().bold();
    let mut out = String::new();
    let render = |out: &mut String, cells: &[String], style: Option<Style>| {
        let mut line = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths.iter()).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            if i < left_columns {
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
    let headers: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    render(&mut out, &headers, Some(bold));
    for (i, line) in lines.iter().enumerate() {
        render(&mut out, line, (bold_line == Some(i)).then_some(bold));
    }
    out
}

/// A moment in the report's zone, as the tables print it.
fn zoned(at: DateTime<Utc>, zone: &DayZone, format: &str) -> String {
    at.with_timezone(&zone.offset_at(at))
        .format(format)
        .to_string()
}

/// What a block's second column says: how long it ran, that it is a gap, or that it is active.
fn block_status(block: &Block, now: DateTime<Utc>) -> String {
    if block.is_gap {
        return format!(
            "({} gap)",
            crate::render::short_duration(block.end - block.start)
        );
    }
    if block.is_active {
        return format!(
            "ACTIVE: {} elapsed, {} left",
            crate::render::short_duration(now - block.start),
            crate::render::short_duration(block.end - now)
        );
    }
    let ran = block
        .actual_end
        .map(|last| last - block.start)
        .unwrap_or_default();
    crate::render::short_duration(ran)
}

/// `usage blocks`: one line per block and gap, the active block's projection under it, then its
/// burn rate and where the blocks come from.
fn blocks_table(report: &BlocksReport, zone: &DayZone) -> String {
    let headers = [
        "Block Start",
        "Duration/Status",
        "Models",
        "Tokens",
        "Cost (USD)",
    ];
    let mut lines: Vec<Vec<String>> = Vec::new();
    for block in &report.blocks {
        if block.is_gap {
            lines.push(vec![
                zoned(block.start, zone, "%Y-%m-%d %H:%M"),
                block_status(block, report.at),
                "-".to_owned(),
                "-".to_owned(),
                "-".to_owned(),
            ]);
            continue;
        }
        lines.push(vec![
            zoned(block.start, zone, "%Y-%m-%d %H:%M"),
            block_status(block, report.at),
            block.models.join(", "),
            thousands(block.total_tokens),
            cost(block.cost_usd, block.includes_unknown_price),
        ]);
        let projection = report
            .active
            .as_ref()
            .filter(|a| a.block.id == block.id)
            .and_then(|a| a.projection);
        if let Some(projection) = projection {
            lines.push(vec![
                String::new(),
                format!("PROJECTED to {}", zoned(block.end, zone, "%H:%M")),
                String::new(),
                thousands(projection.total_tokens),
                cost(projection.cost_usd, block.includes_unknown_price),
            ]);
        }
    }
    let bold = Style::new().bold();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{bold}5-hour blocks (estimated){bold:#} from Claude Code's transcripts"
    );
    out.push_str(&grid(&headers, &lines, 3, None));
    if report.blocks.is_empty() {
        let _ = writeln!(out, "No usage found in Claude Code's logs.");
    }
    if report.blocks.iter().any(|b| b.includes_unknown_price) {
        let _ = writeln!(
            out,
            "* includes models without a known price: their cost is not counted (price unknown, not $0)"
        );
    }
    if let Some(rate) = report.active.as_ref().and_then(|a| a.burn_rate) {
        let _ = writeln!(
            out,
            "Burn rate (estimated): {} tokens/min, ${:.2}/h.",
            thousands(rate.tokens_per_minute.round() as u64),
            rate.cost_per_hour_usd
        );
    }
    let _ = writeln!(out, "{}", report.basis);
    let _ = writeln!(out, "Times in {}.", zone.name());
    out
}

/// `usage blocks --active`: the active block in detail, as ccusage's `blocks --active`.
fn active_detail(report: &BlocksReport, zone: &DayZone) -> String {
    let bold = Style::new().bold();
    let mut out = String::new();
    let Some(active) = &report.active else {
        let _ = writeln!(
            out,
            "No active 5-hour block (estimated) in Claude Code's logs."
        );
        let _ = writeln!(out, "{}", report.basis);
        return out;
    };
    let block = &active.block;
    let unknown = block.includes_unknown_price;
    let minutes = |m: u64| crate::render::short_duration(chrono::Duration::minutes(m as i64));
    let _ = writeln!(out, "{bold}Active 5-hour block (estimated){bold:#}");
    let _ = writeln!(
        out,
        "  Started:        {}",
        zoned(block.start, zone, "%Y-%m-%d %H:%M")
    );
    let _ = writeln!(
        out,
        "  Ends:           {}",
        zoned(block.end, zone, "%Y-%m-%d %H:%M")
    );
    let _ = writeln!(out, "  Elapsed:        {}", minutes(active.minutes_elapsed));
    let _ = writeln!(
        out,
        "  Remaining:      {}",
        minutes(active.minutes_remaining)
    );
    let _ = writeln!(out, "  Models:         {}", block.models.join(", "));
    let _ = writeln!(out, "  Requests:       {}", thousands(block.entries));
    let _ = writeln!(out, "  Tokens:         {}", thousands(block.total_tokens));
    let _ = writeln!(out, "  Cost:           {}", cost(block.cost_usd, unknown));
    match active.burn_rate {
        Some(rate) => {
            let _ = writeln!(
                out,
                "  Burn rate:      {} tokens/min, ${:.2}/h",
                thousands(rate.tokens_per_minute.round() as u64),
                rate.cost_per_hour_usd
            );
        }
        None => {
            let _ = writeln!(out, "  Burn rate:      not yet (one request so far)");
        }
    }
    if let Some(projection) = active.projection {
        let _ = writeln!(
            out,
            "  Projected:      {} tokens, {} at {}",
            thousands(projection.total_tokens),
            cost(projection.cost_usd, unknown),
            zoned(block.end, zone, "%H:%M")
        );
    }
    if unknown {
        let _ = writeln!(
            out,
            "* includes models without a known price: their cost is not counted (price unknown, not $0)"
        );
    }
    let _ = writeln!(out, "{}", report.basis);
    let _ = writeln!(out, "Times in {}.", zone.name());
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

/// Says that the history database is locked and what the report is then made of, and returns the
/// in-memory ledger it is made from.
fn without_ledger(why: &str) -> anyhow::Result<Store> {
    eprintln!(
        "claude-status: {why}; this report counts Claude Code's logs as they are now, without \
         the gateway's and the probe's records, and saves nothing"
    );
    Ok(Store::open_in_memory()?)
}

/// `limits`: the tier table and the latest live reading.
pub fn limits(data_dir: &Path, tier: Option<&str>, json: bool) -> anyhow::Result<ExitCode> {
    let catalog: Catalog = load_catalog_in(data_dir)?;
    let store = Store::open(&Store::default_path(data_dir))?;
    crate::tell_if_recovered(&store);
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use claude_status_core::usage::TokenCounts;

    fn record(at: DateTime<Utc>, input: u64) -> UsageRecord {
        UsageRecord::new(
            at,
            UsageSource::ClaudeCode,
            "claude-sonnet-4-5",
            TokenCounts {
                input,
                output: 100,
                ..TokenCounts::default()
            },
        )
    }

    fn at(hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 8, 21, hour, minute, 0)
            .single()
            .unwrap_or_default()
    }

    #[test]
    fn the_active_detail_is_labelled_an_estimate() {
        let records = [record(at(10, 5), 1_000), record(at(11, 5), 2_000)];
        let report = blocks::report(&records, &Catalog::builtin(), at(12, 30)).only_active();
        let text = active_detail(&report, &DayZone::utc());
        assert!(text.contains("Active 5-hour block (estimated)"), "{text}");
        assert!(text.contains("Started:        2026-08-21 10:00"), "{text}");
        assert!(text.contains("Remaining:      2 h 30 min"), "{text}");
        // 3,200 tokens over 60 minutes; 150 minutes left.
        assert!(text.contains("Burn rate:      53 tokens/min"), "{text}");
        assert!(text.contains("Projected:      11,200 tokens"), "{text}");
        assert!(text.contains("ccusage's rules"), "{text}");

        let none = blocks::report(&records, &Catalog::builtin(), at(23, 0)).only_active();
        let text = active_detail(&none, &DayZone::utc());
        assert!(
            text.starts_with("No active 5-hour block (estimated)"),
            "{text}"
        );
    }

    #[test]
    fn the_blocks_table_has_a_row_per_block_and_gap() {
        let records = [record(at(1, 5), 1_000), record(at(10, 5), 2_000)];
        let report = blocks::report(&records, &Catalog::builtin(), at(11, 0));
        let zone = DayZone::parse("+02:00").unwrap_or(DayZone::utc());
        let text = blocks_table(&report, &zone);
        let rows: Vec<&str> = text.lines().collect();
        assert!(rows[0].contains("(estimated)"), "{text}");
        assert!(rows[1].contains("Block Start"), "{text}");
        // A block runs from its start to its last entry, as ccusage counts it.
        assert!(rows[2].starts_with("2026-08-21 03:00  5 min"), "{text}");
        assert!(rows[3].starts_with("2026-08-21 08:05  (4 h gap)"), "{text}");
        assert!(rows[4].starts_with("2026-08-21 12:00  ACTIVE"), "{text}");
        // One entry so far: no burn rate, so no projection row.
        assert!(!text.contains("PROJECTED"), "{text}");
        assert!(text.contains("Times in +02:00."), "{text}");
    }

    fn daily_table(records: &[(UsageSource, bool, u64)]) -> String {
        use std::io::Write as _;
        let catalog = Catalog::builtin();
        let mut tally = aggregate::DailyTally::new(DayZone::utc(), &catalog);
        for (source, counted, output) in records {
            let record = UsageRecord {
                source: *source,
                ..record(at(10, 0), 0)
            };
            let record = UsageRecord {
                tokens: TokenCounts {
                    output: *output,
                    ..record.tokens
                },
                ..record
            };
            if *counted {
                tally.add(&record);
            } else {
                tally.add_copy(&record);
            }
        }
        let text = print_report(&tally.finish(), false, None, &DayZone::utc(), &catalog)
            .unwrap()
            .unwrap();
        // The header and totals are bold; anstream drops the styles when it prints to a pipe.
        let mut plain = Vec::new();
        anstream::StripStream::new(&mut plain)
            .write_all(text.as_bytes())
            .unwrap();
        String::from_utf8(plain).unwrap()
    }

    #[test]
    fn one_source_is_one_line_with_its_name() {
        let text = daily_table(&[(UsageSource::ClaudeCode, true, 100)]);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("Date        Source       Models"),
            "{text}"
        );
        assert!(
            lines[1].starts_with("2026-08-21  claude-code  claude-sonnet-4-5"),
            "{text}"
        );
        assert!(lines[2].starts_with("Total       claude-code"), "{text}");
        assert!(!text.contains('└'), "{text}");
        assert!(!text.contains("seen by two sources"), "{text}");
    }

    #[test]
    fn each_source_of_a_row_gets_a_line_and_a_shared_request_a_note() {
        let text = daily_table(&[
            (UsageSource::ClaudeCode, true, 100),
            (UsageSource::Gateway, false, 100),
            (UsageSource::Gateway, true, 7),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        let output = |line: &str| line.split_whitespace().nth_back(4).unwrap().to_owned();
        assert!(
            lines[1].starts_with("2026-08-21  claude-code, gateway"),
            "{text}"
        );
        assert_eq!(output(lines[1]), "107", "{text}");
        assert!(lines[2].starts_with("            └ claude-code"), "{text}");
        assert_eq!(output(lines[2]), "100", "{text}");
        assert!(lines[3].starts_with("            └ gateway"), "{text}");
        assert_eq!(output(lines[3]), "107", "{text}");
        assert!(
            lines[4].starts_with("Total       claude-code, gateway"),
            "{text}"
        );
        assert!(lines[5].contains("└ claude-code") && lines[6].contains("└ gateway"));
        assert!(
            text.contains("1 request seen by two sources (Claude Code through the gateway)"),
            "{text}"
        );
    }

    #[test]
    fn the_prices_note_names_every_model_the_table_did_not_price() {
        let catalog = Catalog::builtin();
        let day = Utc.with_ymd_and_hms(2026, 12, 2, 10, 0, 0).unwrap();
        let mut tally = aggregate::DailyTally::new(DayZone::utc(), &catalog);
        for (model, reported) in [
            ("claude-opus-4-6", None),
            ("claude-fable-5-2", None),
            ("claude-fable-5-2", None),
            ("claude-nonesuch-9", None),
            ("claude-haiku-4-5", Some(0.5)),
        ] {
            let mut record = UsageRecord::new(
                day,
                UsageSource::ClaudeCode,
                model,
                TokenCounts {
                    input: 1_000,
                    ..TokenCounts::default()
                },
            );
            record.reported_cost_usd = reported;
            tally.add(&record);
        }
        let report = tally.finish();
        let note = prices_note(&catalog, &report.price_sources);
        let fable = &catalog.price("claude-fable-5-2").unwrap().source.label;
        assert!(
            note.starts_with(&format!("Prices from {}", catalog.price_table.label)),
            "{note}"
        );
        assert!(
            note.contains(&format!("claude-fable-5-2: 2 requests priced by {fable}.")),
            "{note}"
        );
        assert!(
            note.contains("claude-nonesuch-9: price unknown, not counted in the cost (1 request)."),
            "{note}"
        );
        assert!(
            note.contains("claude-haiku-4-5: 1 request at the cost the client wrote in its log."),
            "{note}"
        );
        // The table's own rows need no line of their own.
        assert!(!note.contains("claude-opus-4-6"), "{note}");
    }
}
