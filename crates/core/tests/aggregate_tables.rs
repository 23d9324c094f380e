//! The `daily`, `monthly` and `sessions` tables: grouping by day in a time zone, ccusage's token
//! totals, the JSON the issue fixes, and unknown prices carried to every total.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use chrono::{DateTime, Utc};
use claude_status_core::aggregate::{
    daily, monthly, sessions, DailyTally, DayZone, MonthlyTally, SessionTally,
};
use claude_status_core::catalog::Catalog;
use claude_status_core::usage::{TokenCounts, UsageRecord, UsageSource};
use serde_json::json;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn record(time: &str, model: &str, session: &str, tokens: [u64; 5]) -> UsageRecord {
    let [input, output, cache_write_5m, cache_write_1h, cache_read] = tokens;
    UsageRecord {
        at: at(time),
        source: UsageSource::ClaudeCode,
        model: model.to_owned(),
        tokens: TokenCounts {
            input,
            output,
            cache_write_5m,
            cache_write_1h,
            cache_read,
        },
        status: None,
        latency_ms: None,
        ttft_ms: None,
        service_tier: Some("standard".to_owned()),
        message_id: None,
        request_id: None,
        session_id: Some(session.to_owned()),
        project: None,
        reported_cost_usd: None,
        is_sidechain: false,
    }
}

fn error_line(time: &str, status: u16) -> UsageRecord {
    UsageRecord {
        status: Some(status),
        ..record(time, "<synthetic>", "s1", [0; 5])
    }
}

fn zone(name: &str) -> DayZone {
    DayZone::parse(name).unwrap()
}

/// (date, total_tokens, cost_usd rounded to cents, models, includes_unknown_price) per row.
type Row = (&'static str, u64, f64, Vec<&'static str>, bool);

fn check_daily(records: &[UsageRecord], zone_name: &str, expected: &[Row]) {
    let report = daily(records, &zone(zone_name), &Catalog::builtin());
    let found: Vec<(String, u64, f64, Vec<String>, bool)> = report
        .daily
        .iter()
        .map(|row| {
            (
                row.date.to_string(),
                row.usage.total_tokens,
                (row.usage.cost_usd * 100.0).round() / 100.0,
                row.usage.models.clone(),
                row.usage.includes_unknown_price,
            )
        })
        .collect();
    let expected: Vec<(String, u64, f64, Vec<String>, bool)> = expected
        .iter()
        .map(|(d, t, c, m, u)| {
            (
                d.to_string(),
                *t,
                *c,
                m.iter().map(|s| s.to_string()).collect(),
                *u,
            )
        })
        .collect();
    assert_eq!(found, expected, "{zone_name}");
}

#[test]
fn a_late_evening_record_is_the_next_day_in_berlin() {
    let records = [
        record(
            "2025-08-21T10:00:00Z",
            "claude-haiku-4-5",
            "s1",
            [1_000_000, 0, 0, 0, 0],
        ),
        record(
            "2025-08-21T23:30:00Z",
            "claude-sonnet-4-5-20250929",
            "s1",
            [100_000, 0, 0, 0, 0],
        ),
    ];
    check_daily(
        &records,
        "UTC",
        &[(
            "2025-08-21",
            1_100_000,
            1.3,
            vec!["claude-haiku-4-5", "claude-sonnet-4-5"],
            false,
        )],
    );
    check_daily(
        &records,
        "Europe/Berlin",
        &[
            (
                "2025-08-21",
                1_000_000,
                1.0,
                vec!["claude-haiku-4-5"],
                false,
            ),
            ("2025-08-22", 100_000, 0.3, vec!["claude-sonnet-4-5"], false),
        ],
    );
    check_daily(
        &records,
        "+02:00",
        &[
            (
                "2025-08-21",
                1_000_000,
                1.0,
                vec!["claude-haiku-4-5"],
                false,
            ),
            ("2025-08-22", 100_000, 0.3, vec!["claude-sonnet-4-5"], false),
        ],
    );
    // West of UTC the morning record moves back a day… at -11:00.
    check_daily(
        &records,
        "Pacific/Pago_Pago",
        &[
            (
                "2025-08-20",
                1_000_000,
                1.0,
                vec!["claude-haiku-4-5"],
                false,
            ),
            ("2025-08-21", 100_000, 0.3, vec!["claude-sonnet-4-5"], false),
        ],
    );
    // Berlin in winter is +01:00: 23:30 UTC on 21 December is 00:30 on the 22nd, 22:30 is not.
    let winter = [
        record(
            "2025-12-21T22:30:00Z",
            "claude-haiku-4-5",
            "s1",
            [10, 0, 0, 0, 0],
        ),
        record(
            "2025-12-21T23:30:00Z",
            "claude-haiku-4-5",
            "s1",
            [20, 0, 0, 0, 0],
        ),
    ];
    check_daily(
        &winter,
        "Europe/Berlin",
        &[
            ("2025-12-21", 10, 0.0, vec!["claude-haiku-4-5"], false),
            ("2025-12-22", 20, 0.0, vec!["claude-haiku-4-5"], false),
        ],
    );
}

#[test]
fn unknown_prices_mark_their_rows_and_the_totals() {
    let records = [
        record(
            "2026-10-01T10:00:00Z",
            "claude-haiku-4-5",
            "s1",
            [1_000_000, 0, 0, 0, 0],
        ),
        record(
            "2026-10-02T10:00:00Z",
            "claude-zephyr-9",
            "s1",
            [1_000_000, 0, 0, 0, 0],
        ),
    ];
    check_daily(
        &records,
        "UTC",
        &[
            (
                "2026-10-01",
                1_000_000,
                1.0,
                vec!["claude-haiku-4-5"],
                false,
            ),
            ("2026-10-02", 1_000_000, 0.0, vec!["claude-zephyr-9"], true),
        ],
    );
    let catalog = Catalog::builtin();
    assert!(
        daily(&records, &DayZone::utc(), &catalog)
            .totals
            .includes_unknown_price
    );
    assert!(
        monthly(&records, &DayZone::utc(), &catalog).monthly[0]
            .usage
            .includes_unknown_price
    );
    assert!(
        monthly(&records, &DayZone::utc(), &catalog)
            .totals
            .includes_unknown_price
    );
    assert!(sessions(&records, &catalog).totals.includes_unknown_price);
    assert!(
        !daily(&records[..1], &DayZone::utc(), &catalog)
            .totals
            .includes_unknown_price
    );
}

#[test]
fn error_lines_are_not_usage_and_synthetic_is_not_a_model() {
    let records = [
        record(
            "2026-10-01T10:00:00Z",
            "claude-opus-4-6",
            "s1",
            [10, 20, 30, 40, 50],
        ),
        error_line("2026-10-01T10:01:00Z", 429),
        error_line("2026-10-02T10:01:00Z", 529),
        // A synthetic line with no tokens and no error: nothing to count, no model to list.
        record("2026-10-01T10:02:00Z", "<synthetic>", "s1", [0; 5]),
    ];
    check_daily(
        &records,
        "UTC",
        &[("2026-10-01", 150, 0.0, vec!["claude-opus-4-6"], false)],
    );
}

#[test]
fn the_json_the_issue_fixes() {
    let records = [
        record(
            "2026-10-01T10:00:00Z",
            "claude-sonnet-4-5-20250929",
            "s1",
            [1_000, 2_000, 10_000, 0, 100_000],
        ),
        record(
            "2026-10-01T11:00:00Z",
            "claude-haiku-4-5-20251001",
            "s2",
            [500, 500, 0, 1_000, 0],
        ),
        error_line("2026-10-01T12:00:00Z", 429),
    ];
    let catalog = Catalog::builtin();
    let sonnet = (1_000.0 * 3.0 + 2_000.0 * 15.0 + 10_000.0 * 3.75 + 100_000.0 * 0.3) / 1e6;
    let haiku = (500.0 * 1.0 + 500.0 * 5.0 + 1_000.0 * 2.0) / 1e6;
    // Sums are kept exactly in femto-dollars (so they do not depend on the records' order), and
    // read back as floats.
    let femto = |usd: f64| (usd * 1e15).round();
    let (sonnet, haiku, both) = (
        femto(sonnet) / 1e15,
        femto(haiku) / 1e15,
        (femto(sonnet) + femto(haiku)) / 1e15,
    );
    let day = json!({
        "input_tokens": 1_500,
        "output_tokens": 2_500,
        "cache_creation_tokens": 11_000,
        "cache_read_tokens": 100_000,
        "total_tokens": 115_000,
        "cost_usd": both,
        "models": ["claude-haiku-4-5", "claude-sonnet-4-5"],
        "includes_unknown_price": false,
    });
    // One source: its breakdown is the row itself, under its name.
    let mut only_claude_code = day.clone();
    only_claude_code["source"] = json!("claude_code");
    let mut day = day;
    day["sources"] = json!(["claude_code"]);
    day["by_source"] = json!([only_claude_code]);
    let totals = json!({
        "input_tokens": 1_500,
        "output_tokens": 2_500,
        "cache_creation_tokens": 11_000,
        "cache_read_tokens": 100_000,
        "total_tokens": 115_000,
        "cost_usd": both,
        "includes_unknown_price": false,
        "sources": ["claude_code"],
        "by_source": [only_claude_code],
    });
    // Which source priced each model: here both come from the LiteLLM table in use.
    let source = |model: &str| serde_json::to_value(catalog.price_source(model).unwrap()).unwrap();
    let sources = json!([
        {"model": "claude-haiku-4-5", "kind": source("claude-haiku-4-5")["kind"],
         "source": source("claude-haiku-4-5")["label"], "records": 1, "cost_usd": haiku},
        {"model": "claude-sonnet-4-5", "kind": source("claude-sonnet-4-5")["kind"],
         "source": source("claude-sonnet-4-5")["label"], "records": 1, "cost_usd": sonnet},
    ]);
    assert_eq!(sources[0]["kind"], "litellm_bundled");
    let mut daily_row = day.clone();
    daily_row["date"] = json!("2026-10-01");
    assert_eq!(
        serde_json::to_value(daily(&records, &DayZone::utc(), &catalog)).unwrap(),
        json!({"daily": [daily_row], "totals": totals, "price_sources": sources,
               "seen_by_two_sources": 0})
    );
    let mut monthly_row = day.clone();
    monthly_row["month"] = json!("2026-10");
    assert_eq!(
        serde_json::to_value(monthly(&records, &DayZone::utc(), &catalog)).unwrap(),
        json!({"monthly": [monthly_row], "totals": totals, "price_sources": sources,
               "seen_by_two_sources": 0})
    );
    let report = serde_json::to_value(sessions(&records, &catalog)).unwrap();
    assert_eq!(report["totals"], totals);
    assert_eq!(report["price_sources"], sources);
    assert_eq!(
        report["sessions"],
        json!([
            {
                "session_id": "s1",
                "input_tokens": 1_000, "output_tokens": 2_000, "cache_creation_tokens": 10_000,
                "cache_read_tokens": 100_000, "total_tokens": 113_000, "cost_usd": sonnet,
                "models": ["claude-sonnet-4-5"], "includes_unknown_price": false,
                "sources": ["claude_code"],
                "by_source": [{
                    "source": "claude_code",
                    "input_tokens": 1_000, "output_tokens": 2_000,
                    "cache_creation_tokens": 10_000, "cache_read_tokens": 100_000,
                    "total_tokens": 113_000, "cost_usd": sonnet,
                    "models": ["claude-sonnet-4-5"], "includes_unknown_price": false,
                }],
            },
            {
                "session_id": "s2",
                "input_tokens": 500, "output_tokens": 500, "cache_creation_tokens": 1_000,
                "cache_read_tokens": 0, "total_tokens": 2_000, "cost_usd": haiku,
                "models": ["claude-haiku-4-5"], "includes_unknown_price": false,
                "sources": ["claude_code"],
                "by_source": [{
                    "source": "claude_code",
                    "input_tokens": 500, "output_tokens": 500, "cache_creation_tokens": 1_000,
                    "cache_read_tokens": 0, "total_tokens": 2_000, "cost_usd": haiku,
                    "models": ["claude-haiku-4-5"], "includes_unknown_price": false,
                }],
            },
        ])
    );
}

#[test]
fn months_follow_the_zone_too() {
    let records = [
        record(
            "2025-08-31T23:30:00Z",
            "claude-haiku-4-5",
            "s1",
            [1, 0, 0, 0, 0],
        ),
        record(
            "2025-09-15T12:00:00Z",
            "claude-haiku-4-5",
            "s1",
            [2, 0, 0, 0, 0],
        ),
    ];
    let catalog = Catalog::builtin();
    let months = |zone_name: &str| -> Vec<(String, u64)> {
        monthly(&records, &zone(zone_name), &catalog)
            .monthly
            .into_iter()
            .map(|row| (row.month, row.usage.total_tokens))
            .collect()
    };
    assert_eq!(
        months("UTC"),
        vec![("2025-08".to_owned(), 1), ("2025-09".to_owned(), 2)]
    );
    assert_eq!(months("Europe/Berlin"), vec![("2025-09".to_owned(), 3)]);
}

#[test]
fn sessions_in_order_of_last_activity() {
    let records = [
        record(
            "2026-10-01T10:00:00Z",
            "claude-haiku-4-5",
            "old-but-active",
            [1, 0, 0, 0, 0],
        ),
        record(
            "2026-10-01T11:00:00Z",
            "claude-haiku-4-5",
            "quiet",
            [1, 0, 0, 0, 0],
        ),
        record(
            "2026-10-01T12:00:00Z",
            "claude-haiku-4-5",
            "old-but-active",
            [1, 0, 0, 0, 0],
        ),
        UsageRecord {
            session_id: None,
            ..record(
                "2026-10-01T09:00:00Z",
                "claude-haiku-4-5",
                "",
                [1, 0, 0, 0, 0],
            )
        },
    ];
    let order: Vec<Option<String>> = sessions(&records, &Catalog::builtin())
        .sessions
        .into_iter()
        .map(|row| row.session_id)
        .collect();
    assert_eq!(
        order,
        vec![
            None,
            Some("quiet".to_owned()),
            Some("old-but-active".to_owned())
        ]
    );
}

#[test]
fn time_zone_spellings() {
    let check = |text: &str, expected: Option<&str>| {
        assert_eq!(
            DayZone::parse(text).ok().map(|z| z.name()).as_deref(),
            expected,
            "{text}"
        )
    };
    check("UTC", Some("UTC"));
    check("z", Some("UTC"));
    check("Europe/Berlin", Some("Europe/Berlin"));
    check("+02:00", Some("+02:00"));
    check("-0530", Some("-05:30"));
    check("+9", Some("+09:00"));
    check("+25:00", None);
    check("Mars/Olympus", None);
    check("", None);
}

/// (model, kind of source, its label, records, cost rounded to cents) of one price source.
type SourceRow<'a> = (&'a str, Option<String>, Option<&'a str>, u64, f64);

#[test]
fn every_cost_says_which_source_priced_it() {
    let catalog = Catalog::builtin();
    let input =
        |time: &str, model: &str, tokens: u64| record(time, model, "s1", [tokens, 0, 0, 0, 0]);
    let reported = UsageRecord {
        reported_cost_usd: Some(0.25),
        ..input("2026-10-01T10:03:00Z", "claude-opus-4-6", 10)
    };
    let records = [
        input("2026-10-01T10:00:00Z", "claude-opus-4-6", 1_000_000),
        input("2026-10-01T10:01:00Z", "claude-opus-4-6", 1_000_000),
        input("2026-10-01T10:02:00Z", "claude-fable-5-2", 1_000_000),
        reported,
        input("2026-10-01T10:04:00Z", "claude-nonesuch-9", 1_000),
        error_line("2026-10-01T10:05:00Z", 529),
    ];
    let report = daily(&records, &DayZone::utc(), &catalog);
    let found: Vec<SourceRow> = report
        .price_sources
        .iter()
        .map(|used| {
            (
                used.model.as_str(),
                used.kind.map(|k| {
                    serde_json::to_value(k)
                        .unwrap()
                        .as_str()
                        .unwrap()
                        .to_owned()
                }),
                used.source.as_deref(),
                used.records,
                (used.cost_usd * 100.0).round() / 100.0,
            )
        })
        .collect();
    let opus = catalog.price("claude-opus-4-6").unwrap();
    let fable = catalog.price("claude-fable-5-2").unwrap();
    assert_eq!(
        found,
        vec![
            (
                "claude-fable-5-2",
                Some("built_in".to_owned()),
                Some(fable.source.label.as_str()),
                1,
                fable.input_per_mtok
            ),
            ("claude-nonesuch-9", None, None, 1, 0.0),
            (
                "claude-opus-4-6",
                Some("litellm_bundled".to_owned()),
                Some(opus.source.label.as_str()),
                2,
                2.0 * opus.input_per_mtok
            ),
            (
                "claude-opus-4-6",
                Some("reported_by_client".to_owned()),
                Some("reported by the client"),
                1,
                0.25
            ),
        ]
    );
    // The sources account for every dollar of the totals.
    let accounted: f64 = report.price_sources.iter().map(|u| u.cost_usd).sum();
    assert!((accounted - report.totals.cost_usd).abs() < 1e-9);
    assert!(report.totals.includes_unknown_price);
}

/// (source, total tokens, models) of each breakdown row.
type Breakdown = Vec<(UsageSource, u64, Vec<String>)>;

fn breakdown(rows: &[claude_status_core::aggregate::SourceRow]) -> Breakdown {
    rows.iter()
        .map(|row| (row.source, row.usage.total_tokens, row.usage.models.clone()))
        .collect()
}

#[test]
fn issue_14_each_row_names_its_sources_and_counts_a_shared_request_once() {
    let catalog = Catalog::builtin();
    let from = |source: UsageSource, time: &str, model: &str, total: u64| UsageRecord {
        source,
        ..record(time, model, "s1", [total, 0, 0, 0, 0])
    };
    let claude_code = from(
        UsageSource::ClaudeCode,
        "2026-10-01T10:00:00Z",
        "claude-opus-4-6",
        1_000,
    );
    // The same request as the gateway metered it: shown in the gateway's line, not counted again.
    let copy = UsageRecord {
        session_id: claude_code.session_id.clone(),
        ..from(
            UsageSource::Gateway,
            "2026-10-01T10:00:01Z",
            "claude-opus-4-6",
            1_000,
        )
    };
    let gateway_only = UsageRecord {
        session_id: None,
        ..from(
            UsageSource::Gateway,
            "2026-10-01T11:00:00Z",
            "claude-haiku-4-5",
            300,
        )
    };
    let probe = UsageRecord {
        session_id: None,
        ..from(
            UsageSource::Probe,
            "2026-10-02T11:00:00Z",
            "claude-haiku-4-5",
            9,
        )
    };

    let mut days = DailyTally::new(DayZone::utc(), &catalog);
    let mut months = MonthlyTally::new(DayZone::utc(), &catalog);
    let mut by_session = SessionTally::new(&catalog);
    for (record, counted) in [
        (&copy, false),
        (&claude_code, true),
        (&gateway_only, true),
        (&probe, true),
    ] {
        if counted {
            days.add(record);
            months.add(record);
            by_session.add(record);
        } else {
            days.add_copy(record);
            months.add_copy(record);
            by_session.add_copy(record);
        }
    }
    let days = days.finish();
    assert_eq!(days.seen_by_two_sources, 1);
    let first = &days.daily[0];
    assert_eq!(first.usage.total_tokens, 1_300, "the shared request once");
    assert_eq!(
        first.sources,
        [UsageSource::ClaudeCode, UsageSource::Gateway]
    );
    let opus = || vec!["claude-opus-4-6".to_owned()];
    assert_eq!(
        breakdown(&first.by_source),
        vec![
            (UsageSource::ClaudeCode, 1_000, opus()),
            (
                UsageSource::Gateway,
                1_300,
                vec!["claude-haiku-4-5".to_owned(), "claude-opus-4-6".to_owned()]
            ),
        ]
    );
    let second = &days.daily[1];
    assert_eq!(second.sources, [UsageSource::Probe]);
    assert_eq!(second.usage.total_tokens, 9);
    assert_eq!(days.totals.total_tokens, 1_309);
    assert_eq!(
        days.totals.sources,
        [
            UsageSource::ClaudeCode,
            UsageSource::Gateway,
            UsageSource::Probe
        ]
    );
    assert_eq!(
        breakdown(&days.totals.by_source)
            .into_iter()
            .map(|(source, total, _)| (source, total))
            .collect::<Vec<_>>(),
        [
            (UsageSource::ClaudeCode, 1_000),
            (UsageSource::Gateway, 1_300),
            (UsageSource::Probe, 9)
        ]
    );
    // The price sources explain the counted cost only.
    let records: u64 = days.price_sources.iter().map(|used| used.records).sum();
    assert_eq!(records, 3);

    let months = months.finish();
    assert_eq!(months.monthly.len(), 1);
    assert_eq!(months.monthly[0].usage.total_tokens, 1_309);
    assert_eq!(months.totals, days.totals);

    // The gateway's copy carries the Claude Code session, so the session's row shows both.
    let by_session = by_session.finish();
    let session = |id: Option<&str>| {
        by_session
            .sessions
            .iter()
            .find(|row| row.session_id.as_deref() == id)
            .unwrap()
    };
    let s1 = session(Some("s1"));
    assert_eq!(s1.usage.total_tokens, 1_000);
    assert_eq!(s1.sources, [UsageSource::ClaudeCode, UsageSource::Gateway]);
    let none = session(None);
    assert_eq!(none.usage.total_tokens, 309);
    assert_eq!(none.sources, [UsageSource::Gateway, UsageSource::Probe]);
}

#[test]
fn issue_14_a_day_of_copies_only_counts_nothing_but_names_its_source() {
    let catalog = Catalog::builtin();
    let mut days = DailyTally::new(DayZone::utc(), &catalog);
    days.add_copy(&UsageRecord {
        source: UsageSource::Gateway,
        ..record(
            "2026-10-01T23:59:59Z",
            "claude-opus-4-6",
            "s1",
            [5, 0, 0, 0, 0],
        )
    });
    let report = days.finish();
    assert_eq!(report.daily[0].usage.total_tokens, 0);
    assert_eq!(report.daily[0].sources, [UsageSource::Gateway]);
    assert_eq!(report.daily[0].by_source[0].usage.total_tokens, 5);
    assert!(report.price_sources.is_empty());
}

#[test]
fn a_day_starts_at_the_zones_midnight() {
    let date = |text: &str| chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
    let check = |zone_name: &str, day: &str, expected: &str| {
        assert_eq!(
            zone(zone_name).start_of(date(day)),
            at(expected),
            "{zone_name} {day}"
        );
    };
    check("UTC", "2026-10-01", "2026-10-01T00:00:00Z");
    check("+02:00", "2026-10-01", "2026-09-30T22:00:00Z");
    check("-05:30", "2026-10-01", "2026-10-01T05:30:00Z");
    check("Europe/Berlin", "2026-07-01", "2026-06-30T22:00:00Z");
    check("Europe/Berlin", "2026-12-01", "2026-11-30T23:00:00Z");
    // Santiago skips from 00:00 to 01:00 when its summer time begins.
    check("America/Santiago", "2026-09-06", "2026-09-06T04:00:00Z");
}
