//! The usage tables of the CLI (`daily`, `monthly`, `sessions`) from usage records, and the
//! deduplication of Claude Code's repeated transcript lines that must come first.
//!
//! The token totals follow ccusage: `total_tokens = input + output + cache_creation + cache_read`.
//! Costs come from our catalog (LiteLLM's table, the table ccusage prices from, with our hand-made
//! rows and the user's override), and each report says which source priced how much of each
//! model's cost (`price_sources`).
//!
//! Every row and the totals also say which usage sources saw their requests (`sources`) and what
//! each one saw (`by_source`). A request that two sources recorded (Claude Code run through the
//! gateway) is counted once in the row: the caller adds one copy with [`DailyTally::add`] and the
//! other with [`DailyTally::add_copy`], which only that copy's source's breakdown shows. Each
//! breakdown is therefore what that source alone would report.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::str::FromStr;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::catalog::Catalog;
use crate::cost::{cost_of_record, Cost, CostTotal, PriceSourceUse, SourceTally};
use crate::error::{Error, Result};
use crate::usage::{TokenCounts, UsageRecord, UsageSource};

/// The model id of Claude Code's made-up replies (interruptions, API errors); never listed.
pub const SYNTHETIC_MODEL: &str = "<synthetic>";

/// The time zone that decides which day a record belongs to: a fixed offset or an IANA zone
/// (with its daylight-saving rules). Reading the system's zone is the caller's job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayZone {
    Offset(FixedOffset),
    Named(Tz),
}

impl DayZone {
    /// UTC.
    pub fn utc() -> DayZone {
        DayZone::Named(Tz::UTC)
    }

    /// Reads `UTC`, `Z`, an offset (`+02:00`, `-0530`, `+2`) or an IANA name (`Europe/Berlin`).
    pub fn parse(text: &str) -> Result<DayZone> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("utc") || text.eq_ignore_ascii_case("z") {
            return Ok(DayZone::utc());
        }
        if text.starts_with('+') || text.starts_with('-') {
            return parse_offset(text)
                .map(DayZone::Offset)
                .ok_or_else(|| Error::Config(format!("time zone: `{text}` is not an offset")));
        }
        Tz::from_str(text)
            .map(DayZone::Named)
            .map_err(|_| Error::Config(format!("time zone: unknown zone `{text}`")))
    }

    /// The calendar date of a moment in this zone.
    pub fn date_of(&self, at: DateTime<Utc>) -> NaiveDate {
        match self {
            DayZone::Offset(offset) => at.with_timezone(offset).date_naive(),
            DayZone::Named(zone) => at.with_timezone(zone).date_naive(),
        }
    }

    /// The first moment of `date` in this zone: its midnight, or the first moment after a
    /// daylight-saving gap that skips midnight.
    pub fn start_of(&self, date: NaiveDate) -> DateTime<Utc> {
        let midnight = date.and_time(chrono::NaiveTime::MIN);
        match self {
            DayZone::Offset(offset) => offset
                .from_local_datetime(&midnight)
                .earliest()
                .map(|at| at.with_timezone(&Utc)),
            DayZone::Named(zone) => (0..=24).find_map(|hour| {
                zone.from_local_datetime(&(midnight + chrono::Duration::hours(hour)))
                    .earliest()
                    .map(|at| at.with_timezone(&Utc))
            }),
        }
        .unwrap_or_else(|| midnight.and_utc())
    }

    /// The zone's offset from UTC at a moment.
    pub fn offset_at(&self, at: DateTime<Utc>) -> FixedOffset {
        match self {
            DayZone::Offset(offset) => *offset,
            DayZone::Named(zone) => zone.offset_from_utc_datetime(&at.naive_utc()).fix(),
        }
    }

    /// The name as `parse` reads it back.
    pub fn name(&self) -> String {
        match self {
            DayZone::Offset(offset) => offset.to_string(),
            DayZone::Named(zone) => zone.name().to_owned(),
        }
    }
}

fn parse_offset(text: &str) -> Option<FixedOffset> {
    let (sign, rest) = match text.split_at(1) {
        ("+", rest) => (1, rest),
        ("-", rest) => (-1, rest),
        _ => return None,
    };
    let (hours, minutes) = match rest.split_once(':') {
        Some((h, m)) => (h, m),
        None if rest.len() == 4 => rest.split_at(2),
        None => (rest, "0"),
    };
    let hours: i32 = hours.parse().ok()?;
    let minutes: i32 = minutes.parse().ok()?;
    if !(0..=18).contains(&hours) || !(0..60).contains(&minutes) {
        return None;
    }
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

/// The usage columns of one row.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UsageColumns {
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// 5-minute and 1-hour cache writes together.
    pub cache_creation_tokens: u64,
    pub cache_read_tokens: u64,
    /// `input + output + cache_creation + cache_read`, as ccusage counts it.
    pub total_tokens: u64,
    /// USD of every record whose price is known.
    pub cost_usd: f64,
    /// Canonical model ids, sorted, without `<synthetic>`.
    pub models: Vec<String>,
    /// Some record's model has no known price: `cost_usd` is too low.
    pub includes_unknown_price: bool,
}

/// What one usage source saw of a row: the figures `usage --source` would show for it alone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceRow {
    pub source: UsageSource,
    #[serde(flatten)]
    pub usage: UsageColumns,
}

/// One day of the `daily` table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DailyRow {
    /// `YYYY-MM-DD` in the chosen zone.
    pub date: NaiveDate,
    /// Every request of the day once, whichever sources saw it.
    #[serde(flatten)]
    pub usage: UsageColumns,
    /// The sources that saw the day's requests, in `UsageSource` order.
    pub sources: Vec<UsageSource>,
    /// One row per source in `sources`; a request two sources saw is in both rows.
    pub by_source: Vec<SourceRow>,
}

/// One month of the `monthly` table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthlyRow {
    /// `YYYY-MM` in the chosen zone.
    pub month: String,
    #[serde(flatten)]
    pub usage: UsageColumns,
    pub sources: Vec<UsageSource>,
    pub by_source: Vec<SourceRow>,
}

/// One session of the `sessions` table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionRow {
    /// `null` gathers the records that name no session (the gateway's own requests, the probe).
    pub session_id: Option<String>,
    #[serde(flatten)]
    pub usage: UsageColumns,
    pub sources: Vec<UsageSource>,
    pub by_source: Vec<SourceRow>,
}

/// The totals line of every table.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Totals {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_creation_tokens: u64,
    pub cache_read_tokens: u64,
    pub total_tokens: u64,
    pub cost_usd: f64,
    pub includes_unknown_price: bool,
    pub sources: Vec<UsageSource>,
    pub by_source: Vec<SourceRow>,
}

/// `{"daily": […], "totals": {…}}`, oldest day first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DailyReport {
    pub daily: Vec<DailyRow>,
    pub totals: Totals,
    /// Which source priced each model's cost, by model.
    pub price_sources: Vec<PriceSourceUse>,
    /// Requests seen by two sources and counted once.
    pub seen_by_two_sources: u64,
}

/// `{"monthly": […], "totals": {…}}`, oldest month first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthlyReport {
    pub monthly: Vec<MonthlyRow>,
    pub totals: Totals,
    /// Which source priced each model's cost, by model.
    pub price_sources: Vec<PriceSourceUse>,
    /// Requests seen by two sources and counted once.
    pub seen_by_two_sources: u64,
}

/// `{"sessions": […], "totals": {…}}`, by last activity, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionReport {
    pub sessions: Vec<SessionRow>,
    pub totals: Totals,
    /// Which source priced each model's cost, by model.
    pub price_sources: Vec<PriceSourceUse>,
    /// Requests seen by two sources and counted once.
    pub seen_by_two_sources: u64,
}

/// Whether a record is usage at all: an API error line (a failed status and no tokens) is not.
pub fn is_usage(record: &UsageRecord) -> bool {
    !(record.is_error() && record.tokens.total() == 0)
}

#[derive(Debug, Clone, Default)]
struct Accumulator {
    tokens: TokenCounts,
    cost: CostTotal,
    models: BTreeSet<String>,
    last_activity: Option<DateTime<Utc>>,
}

impl Accumulator {
    /// Counts a record whose cost and normalised model (`None` for `<synthetic>` or none) the
    /// caller worked out once for all the accumulators it goes into.
    fn add(&mut self, record: &UsageRecord, cost: &Cost, model: Option<&str>) {
        self.tokens.add(&record.tokens);
        self.cost.add(cost);
        if let Some(model) = model {
            if !self.models.contains(model) {
                self.models.insert(model.to_owned());
            }
        }
        self.last_activity = self.last_activity.max(Some(record.at));
    }

    fn columns(&self) -> UsageColumns {
        UsageColumns {
            input_tokens: self.tokens.input,
            output_tokens: self.tokens.output,
            cache_creation_tokens: self.tokens.cache_write(),
            cache_read_tokens: self.tokens.cache_read,
            total_tokens: self.tokens.total(),
            cost_usd: self.cost.usd,
            models: self.models.iter().cloned().collect(),
            includes_unknown_price: self.cost.includes_unknown_price,
        }
    }
}

/// One row's figures: every request once (`all`), and what each source saw.
#[derive(Debug, Default)]
struct Group {
    all: Accumulator,
    /// While every record of the group came from this one source and was counted, that source's
    /// breakdown is `all` itself: it is not summed twice, so a report of one source (Claude
    /// Code's, most often) costs no more than before there were breakdowns.
    single: Option<UsageSource>,
    /// Each source's figures, once a second source or a copy has come.
    by_source: BTreeMap<UsageSource, Accumulator>,
}

impl Group {
    /// Counts a record in its source's breakdown, and in `all` when `counted` (false for a copy
    /// of a request another source's record counts).
    fn add(&mut self, record: &UsageRecord, cost: &Cost, model: Option<&str>, counted: bool) {
        if counted
            && self.by_source.is_empty()
            && self.single.is_none_or(|source| source == record.source)
        {
            self.single = Some(record.source);
            self.all.add(record, cost, model);
            return;
        }
        if let Some(single) = self.single.take() {
            self.by_source.insert(single, self.all.clone());
        }
        self.by_source
            .entry(record.source)
            .or_default()
            .add(record, cost, model);
        if counted {
            self.all.add(record, cost, model);
        }
    }

    fn sources(&self) -> Vec<UsageSource> {
        match self.single {
            Some(source) => vec![source],
            None => self.by_source.keys().copied().collect(),
        }
    }

    fn by_source(&self) -> Vec<SourceRow> {
        match self.single {
            Some(source) => vec![SourceRow {
                source,
                usage: self.all.columns(),
            }],
            None => self
                .by_source
                .iter()
                .map(|(source, acc)| SourceRow {
                    source: *source,
                    usage: acc.columns(),
                })
                .collect(),
        }
    }

    /// The latest record of the group, copies included.
    fn last_activity(&self) -> Option<DateTime<Utc>> {
        self.by_source
            .values()
            .map(|acc| acc.last_activity)
            .fold(self.all.last_activity, Option::max)
    }
}

/// Records grouped by a key as they come, and the totals of all of them: the tables are built
/// one record at a time so that a caller streaming the ledger never holds it whole.
#[derive(Debug)]
struct Tally<K> {
    groups: BTreeMap<K, Group>,
    all: Group,
    /// Copies added (requests another source's record counts).
    copies: u64,
    /// Each model id as written, normalised once (a ledger has a handful of distinct ones).
    models: HashMap<String, Option<String>>,
    sources: SourceTally,
}

impl<K: Ord> Tally<K> {
    fn new() -> Tally<K> {
        Tally {
            groups: BTreeMap::new(),
            all: Group::default(),
            copies: 0,
            models: HashMap::new(),
            sources: SourceTally::default(),
        }
    }

    /// Counts `record` in the group `slot` finds (or makes) for it; `slot` runs only for usage
    /// records. A record not `counted` is a copy: only its source's breakdowns show it.
    fn add(
        &mut self,
        record: &UsageRecord,
        catalog: &Catalog,
        counted: bool,
        slot: impl FnOnce(&mut BTreeMap<K, Group>) -> Option<&mut Group>,
    ) {
        if !is_usage(record) {
            return;
        }
        if !counted {
            self.copies += 1;
        }
        let cost = cost_of_record(record, catalog);
        if !self.models.contains_key(&record.model) {
            let trimmed = record.model.trim();
            let normalized = (trimmed != SYNTHETIC_MODEL && !trimmed.is_empty())
                .then(|| catalog.normalize(&record.model));
            self.models.insert(record.model.clone(), normalized);
        }
        let model = self.models.get(&record.model).and_then(Option::as_deref);
        // The price sources explain the rows' costs, which copies are not part of.
        if let (Some(model), true) = (model, counted) {
            self.sources.add(model, &cost);
        }
        if let Some(group) = slot(&mut self.groups) {
            group.add(record, &cost, model, counted);
        }
        self.all.add(record, &cost, model, counted);
    }

    /// [`Tally::add`] under a key that is cheap to make.
    fn add_keyed(
        &mut self,
        record: &UsageRecord,
        catalog: &Catalog,
        counted: bool,
        key: impl FnOnce() -> K,
    ) {
        self.add(record, catalog, counted, |groups| {
            Some(groups.entry(key()).or_default())
        });
    }

    fn totals(&self) -> Totals {
        let columns = self.all.all.columns();
        Totals {
            input_tokens: columns.input_tokens,
            output_tokens: columns.output_tokens,
            cache_creation_tokens: columns.cache_creation_tokens,
            cache_read_tokens: columns.cache_read_tokens,
            total_tokens: columns.total_tokens,
            cost_usd: columns.cost_usd,
            includes_unknown_price: columns.includes_unknown_price,
            sources: self.all.sources(),
            by_source: self.all.by_source(),
        }
    }
}

/// The `daily` table built record by record (see [`daily`]).
#[derive(Debug)]
pub struct DailyTally<'c> {
    zone: DayZone,
    catalog: &'c Catalog,
    tally: Tally<NaiveDate>,
}

impl<'c> DailyTally<'c> {
    pub fn new(zone: DayZone, catalog: &'c Catalog) -> DailyTally<'c> {
        DailyTally {
            zone,
            catalog,
            tally: Tally::new(),
        }
    }

    /// Counts one deduplicated record.
    pub fn add(&mut self, record: &UsageRecord) {
        self.add_as(record, true);
    }

    /// Shows a copy of a request that another source's record counts (see the module
    /// documentation) in its source's breakdowns only.
    pub fn add_copy(&mut self, record: &UsageRecord) {
        self.add_as(record, false);
    }

    fn add_as(&mut self, record: &UsageRecord, counted: bool) {
        let zone = self.zone;
        self.tally
            .add_keyed(record, self.catalog, counted, || zone.date_of(record.at));
    }

    pub fn finish(self) -> DailyReport {
        let totals = self.tally.totals();
        DailyReport {
            daily: self
                .tally
                .groups
                .into_iter()
                .map(|(date, group)| DailyRow {
                    date,
                    usage: group.all.columns(),
                    sources: group.sources(),
                    by_source: group.by_source(),
                })
                .collect(),
            totals,
            price_sources: self.tally.sources.finish(self.catalog),
            seen_by_two_sources: self.tally.copies,
        }
    }
}

/// The `monthly` table built record by record (see [`monthly`]).
#[derive(Debug)]
pub struct MonthlyTally<'c> {
    zone: DayZone,
    catalog: &'c Catalog,
    tally: Tally<(i32, u32)>,
}

impl<'c> MonthlyTally<'c> {
    pub fn new(zone: DayZone, catalog: &'c Catalog) -> MonthlyTally<'c> {
        MonthlyTally {
            zone,
            catalog,
            tally: Tally::new(),
        }
    }

    /// Counts one deduplicated record.
    pub fn add(&mut self, record: &UsageRecord) {
        self.add_as(record, true);
    }

    /// Shows a copy of a request that another source's record counts in its source's
    /// breakdowns only.
    pub fn add_copy(&mut self, record: &UsageRecord) {
        self.add_as(record, false);
    }

    fn add_as(&mut self, record: &UsageRecord, counted: bool) {
        let zone = self.zone;
        self.tally.add_keyed(record, self.catalog, counted, || {
            let date = zone.date_of(record.at);
            (date.year(), date.month())
        });
    }

    pub fn finish(self) -> MonthlyReport {
        let totals = self.tally.totals();
        MonthlyReport {
            monthly: self
                .tally
                .groups
                .into_iter()
                .map(|((year, month), group)| MonthlyRow {
                    month: format!("{year:04}-{month:02}"),
                    usage: group.all.columns(),
                    sources: group.sources(),
                    by_source: group.by_source(),
                })
                .collect(),
            totals,
            price_sources: self.tally.sources.finish(self.catalog),
            seen_by_two_sources: self.tally.copies,
        }
    }
}

/// The `sessions` table built record by record (see [`sessions`]).
#[derive(Debug)]
pub struct SessionTally<'c> {
    catalog: &'c Catalog,
    tally: Tally<Option<String>>,
}

impl<'c> SessionTally<'c> {
    pub fn new(catalog: &'c Catalog) -> SessionTally<'c> {
        SessionTally {
            catalog,
            tally: Tally::new(),
        }
    }

    /// Counts one deduplicated record.
    pub fn add(&mut self, record: &UsageRecord) {
        self.add_as(record, true);
    }

    /// Shows a copy of a request that another source's record counts in its source's
    /// breakdowns only; give it the session of the record that counts, so both are one row.
    pub fn add_copy(&mut self, record: &UsageRecord) {
        self.add_as(record, false);
    }

    fn add_as(&mut self, record: &UsageRecord, counted: bool) {
        // The session id is cloned only for a session not seen yet: most records join one.
        self.tally.add(record, self.catalog, counted, |groups| {
            if !groups.contains_key(&record.session_id) {
                groups.insert(record.session_id.clone(), Group::default());
            }
            groups.get_mut(&record.session_id)
        });
    }

    pub fn finish(self) -> SessionReport {
        let totals = self.tally.totals();
        let mut rows: Vec<(Option<DateTime<Utc>>, SessionRow)> = self
            .tally
            .groups
            .into_iter()
            .map(|(session_id, group)| {
                (
                    group.last_activity(),
                    SessionRow {
                        session_id,
                        usage: group.all.columns(),
                        sources: group.sources(),
                        by_source: group.by_source(),
                    },
                )
            })
            .collect();
        rows.sort_by(|(a_last, a), (b_last, b)| {
            a_last
                .cmp(b_last)
                .then_with(|| a.session_id.cmp(&b.session_id))
        });
        SessionReport {
            sessions: rows.into_iter().map(|(_, row)| row).collect(),
            totals,
            price_sources: self.tally.sources.finish(self.catalog),
            seen_by_two_sources: self.tally.copies,
        }
    }
}

/// Usage per calendar day in `zone`. Pass deduplicated records (`dedupe`).
pub fn daily(records: &[UsageRecord], zone: &DayZone, catalog: &Catalog) -> DailyReport {
    let mut tally = DailyTally::new(*zone, catalog);
    records.iter().for_each(|record| tally.add(record));
    tally.finish()
}

/// Usage per calendar month in `zone`. Pass deduplicated records (`dedupe`).
pub fn monthly(records: &[UsageRecord], zone: &DayZone, catalog: &Catalog) -> MonthlyReport {
    let mut tally = MonthlyTally::new(*zone, catalog);
    records.iter().for_each(|record| tally.add(record));
    tally.finish()
}

/// Usage per session, the session with the oldest last activity first. Pass deduplicated records.
pub fn sessions(records: &[UsageRecord], catalog: &Catalog) -> SessionReport {
    let mut tally = SessionTally::new(catalog);
    records.iter().for_each(|record| tally.add(record));
    tally.finish()
}

/// Whether `candidate` should replace `kept` as the copy of one (message id, request id): more
/// tokens wins (Claude Code writes a line per content block and only the last has the full
/// count), then a larger reported cost, then the later line.
fn better(candidate: &UsageRecord, kept: &UsageRecord) -> bool {
    let by_tokens = candidate.tokens.total().cmp(&kept.tokens.total());
    if by_tokens.is_ne() {
        return by_tokens.is_gt();
    }
    let cost = |r: &UsageRecord| r.reported_cost_usd.unwrap_or(f64::NEG_INFINITY);
    if cost(candidate) != cost(kept) {
        return cost(candidate) > cost(kept);
    }
    candidate.at >= kept.at
}

/// The indices (in input order) of the records `dedupe` keeps.
pub fn dedupe_indices(records: &[UsageRecord]) -> Vec<usize> {
    let mut best: HashMap<(&str, &str), usize> = HashMap::new();
    for (index, record) in records.iter().enumerate() {
        let (Some(message), Some(request)) = (&record.message_id, &record.request_id) else {
            continue;
        };
        let key = (message.as_str(), request.as_str());
        match best.get(&key) {
            Some(&kept) if !better(record, &records[kept]) => {}
            _ => {
                best.insert(key, index);
            }
        }
    }
    // A `/btw` sidechain replay reuses its parent's message id with a new request id; the
    // non-sidechain copy is the real request (api-facts F, ccusage issue #913).
    let parents: HashSet<&str> = best
        .iter()
        .filter(|(_, &index)| !records[index].is_sidechain)
        .map(|((message, _), _)| *message)
        .collect();
    records
        .iter()
        .enumerate()
        .filter(|(index, record)| {
            let (Some(message), Some(request)) = (&record.message_id, &record.request_id) else {
                // Lines missing either id are never deduplicated.
                return true;
            };
            best.get(&(message.as_str(), request.as_str())) == Some(index)
                && !(record.is_sidechain && parents.contains(message.as_str()))
        })
        .map(|(index, _)| index)
        .collect()
}

/// Removes repeated lines of one API response: per (message id, request id) the copy with the
/// most tokens stays (ties: the larger reported cost, then the later line), and a sidechain copy of
/// a message that also has a non-sidechain copy goes. Records missing either id all stay. The
/// order of the kept records is kept.
pub fn dedupe(records: Vec<UsageRecord>) -> Vec<UsageRecord> {
    let keep: HashSet<usize> = dedupe_indices(&records).into_iter().collect();
    records
        .into_iter()
        .enumerate()
        .filter(|(index, _)| keep.contains(index))
        .map(|(_, record)| record)
        .collect()
}
