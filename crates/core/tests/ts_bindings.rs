//! The TypeScript bindings of everything the UI receives over IPC: this test writes them to
//! `ui/src/bindings/` (one file per type) and checks that they describe the JSON serde actually
//! produces. `scripts/check-bindings.sh` runs it and fails when the committed files differ.
//!
//! Run with `cargo test -p claude-status-core --features ts --test ts_bindings`.

#![cfg(feature = "ts")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;
use serde_json::Value;
use ts_rs::{Config, TS};

use claude_status_core::advice::{
    AdviceReport, Advisor, CacheUse, CachedPrefix, CachedTotals, MinCacheable, ModelAdvice,
    PrefixAdvice, PrefixParts, PrefixSend, PrefixShape, PrefixTokens,
};
use claude_status_core::aggregate::DayZone;
use claude_status_core::alerts::{AlertKind, Notification};
use claude_status_core::blocks::{ActiveBlock, Block, BlocksReport, BurnRate, Projection};
use claude_status_core::catalog::{Catalog, ClassLimits};
use claude_status_core::channels::{
    AlertingReport, ChannelConfig, ChannelFilter, ChannelKind, ChannelStatus, SecretOrigin,
    SecretSlot, TestOutcome,
};
use claude_status_core::cost::CacheSavings;
use claude_status_core::gateway::{
    FallbackTotals, GatewayMinute, GatewayReport, GatewayStats, OutcomeCounts, ProviderAttempt,
    ResilienceEvent, ResilienceKind, ServedElsewhere,
};
use claude_status_core::health::ProbeKind;
use claude_status_core::history::{DowntimeRun, HistoryReport, LeadTimeReport};
use claude_status_core::level::Level;
use claude_status_core::models::{ModelProbe, ModelReport, ModelTraffic, Retirement};
use claude_status_core::plan::{Freshness, Pace, PlanReading, PlanSource, PlanWindowReport};
use claude_status_core::probe::ProbeOutcome;
use claude_status_core::ratelimit::{RateLimitBucket, RateLimitSnapshot};
use claude_status_core::report::{
    ComponentReport, IncidentReport, MaintenanceReport, PageInfo, ProbeReport, Snapshot,
    StatusPageReport, StreamingReport, UpdateReport,
};
use claude_status_core::series::{ProbeSeries, SeriesBucket};
use claude_status_core::settings::{ProviderEndpoint, Settings, SettingsError};
use claude_status_core::spikes::{SpikeLine, SpikeMeasure, SpikeReport};
use claude_status_core::sse::Usage;
use claude_status_core::statusline::{StatusLineSetup, StatusLineSetupState};
use claude_status_core::statuspage::{
    ComponentStatus, Impact, IncidentStatus, Indicator, MaintenanceStatus,
};
use claude_status_core::tracker::{
    BudgetProgress, ClassWindow, CostFigure, CostSource, LiveLimits, OwnTraffic, PeriodFigures,
    TierChoice, TierSource, Tracker, TrackerConfig, TrackerSnapshot,
};
use claude_status_core::usage::{TokenCounts, UsageRecord, UsageSource};
use claude_status_core::verdict::{Answer, Coverage, HitsYou};

/// Calls `$action::<T>()` for every type the UI sees. The roots would pull in their parts by
/// themselves; listing every type keeps the set of files explicit and lets each be checked.
macro_rules! for_each_binding {
    ($action:ident) => {
        $action::<Snapshot>();
        $action::<StatusPageReport>();
        $action::<PageInfo>();
        $action::<ComponentReport>();
        $action::<IncidentReport>();
        $action::<UpdateReport>();
        $action::<MaintenanceReport>();
        $action::<ProbeReport>();
        $action::<StreamingReport>();
        $action::<Level>();
        $action::<ProbeKind>();
        $action::<ProbeOutcome>();
        $action::<RateLimitSnapshot>();
        $action::<RateLimitBucket>();
        $action::<Usage>();
        $action::<HistoryReport>();
        $action::<LeadTimeReport>();
        $action::<DowntimeRun>();
        $action::<ProbeSeries>();
        $action::<SeriesBucket>();
        $action::<Settings>();
        $action::<SettingsError>();
        $action::<Notification>();
        $action::<AlertKind>();
        $action::<Indicator>();
        $action::<ComponentStatus>();
        $action::<IncidentStatus>();
        $action::<Impact>();
        $action::<MaintenanceStatus>();
        $action::<TrackerSnapshot>();
        $action::<TierChoice>();
        $action::<TierSource>();
        $action::<ClassWindow>();
        $action::<ClassLimits>();
        $action::<LiveLimits>();
        $action::<PeriodFigures>();
        $action::<CostFigure>();
        $action::<CostSource>();
        $action::<TokenCounts>();
        $action::<CacheSavings>();
        $action::<BudgetProgress>();
        $action::<OwnTraffic>();
        $action::<GatewayReport>();
        $action::<GatewayStats>();
        $action::<OutcomeCounts>();
        $action::<GatewayMinute>();
        $action::<ResilienceEvent>();
        $action::<ResilienceKind>();
        $action::<ProviderAttempt>();
        $action::<FallbackTotals>();
        $action::<ServedElsewhere>();
        $action::<ProviderEndpoint>();
        $action::<ModelReport>();
        $action::<ModelProbe>();
        $action::<ModelTraffic>();
        $action::<Retirement>();
        $action::<HitsYou>();
        $action::<Answer>();
        $action::<Coverage>();
        $action::<PlanWindowReport>();
        $action::<PlanReading>();
        $action::<PlanSource>();
        $action::<Pace>();
        $action::<Freshness>();
        $action::<StatusLineSetup>();
        $action::<StatusLineSetupState>();
        $action::<BlocksReport>();
        $action::<AdviceReport>();
        $action::<PrefixAdvice>();
        $action::<CachedPrefix>();
        $action::<CachedTotals>();
        $action::<ModelAdvice>();
        $action::<PrefixParts>();
        $action::<PrefixTokens>();
        $action::<MinCacheable>();
        $action::<CacheUse>();
        $action::<Block>();
        $action::<ActiveBlock>();
        $action::<BurnRate>();
        $action::<Projection>();
        $action::<ChannelConfig>();
        $action::<ChannelKind>();
        $action::<ChannelFilter>();
        $action::<SecretSlot>();
        $action::<SecretOrigin>();
        $action::<ChannelStatus>();
        $action::<AlertingReport>();
        $action::<TestOutcome>();
        $action::<SpikeReport>();
        $action::<SpikeLine>();
        $action::<SpikeMeasure>();
    };
}

/// `ui/src/bindings/` of this workspace, found from this crate's manifest so neither the working
/// directory nor `TS_RS_EXPORT_DIR` can move it.
fn bindings_dir() -> PathBuf {
    let core = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = core
        .ancestors()
        .nth(2)
        .expect("crates/core sits two levels down");
    root.join("ui").join("src").join("bindings")
}

/// The configuration of every export. Large integers keep ts-rs's default (`bigint`) on purpose:
/// every `u64`/`i64` field says `number` itself, and [`no_binding_uses_bigint`] catches one that
/// does not.
fn config() -> Config {
    Config::new().with_out_dir(bindings_dir())
}

/// The first line ts-rs writes into every file, which marks a file as ours to replace.
const GENERATED_NOTE: &str = "// This file was generated by [ts-rs]";

#[test]
fn export_bindings() {
    let dir = bindings_dir();
    // Files of types that were renamed or removed must go too, so the directory is exactly what
    // this test writes; files without the ts-rs note are left alone.
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries {
            let path = entry.unwrap().path();
            let generated = path.extension().is_some_and(|e| e == "ts")
                && std::fs::read_to_string(&path).is_ok_and(|t| t.starts_with(GENERATED_NOTE));
            if generated {
                std::fs::remove_file(&path).unwrap();
            }
        }
    }

    fn export<T: TS + 'static>() {
        T::export_all(&config())
            .unwrap_or_else(|e| panic!("exporting {}: {e}", std::any::type_name::<T>()));
    }
    for_each_binding!(export);

    for name in [
        "Snapshot",
        "HistoryReport",
        "Settings",
        "Indicator",
        "TrackerSnapshot",
    ] {
        assert!(
            dir.join(format!("{name}.ts")).is_file(),
            "{name}.ts missing"
        );
    }
}

#[test]
fn no_binding_uses_bigint() {
    fn check<T: TS + 'static>() {
        let text = T::export_to_string(&config()).unwrap();
        assert!(
            !text.contains("bigint"),
            "{} has a bigint; serde writes numbers, so mark the field `ts(type = \"number\")`:\n{text}",
            T::name(&config())
        );
    }
    for_each_binding!(check);
}

// ---------------------------------------------------------------------------------------------
// The generated object types against serde's JSON.

/// A fixed time.
fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 8, 21, 12, minute, 0).unwrap()
}

/// A snapshot with every optional part present, so every declared key has a value to match.
fn full_snapshot() -> Snapshot {
    let bucket = RateLimitBucket {
        limit: Some(50),
        remaining: Some(49),
        reset: Some(at(1)),
    };
    let update = UpdateReport {
        status: IncidentStatus::Investigating,
        body: "We are investigating <b>elevated</b> errors.".to_owned(),
        created_at: Some(at(2)),
    };
    let usage = Usage {
        input_tokens: 8,
        output_tokens: 1,
        service_tier: Some("standard".to_owned()),
        ..Usage::default()
    };
    Snapshot {
        level: Level::Degraded,
        reasons: vec!["3 of the last 5 probes were slow".to_owned()],
        level_since: Some(at(0)),
        checked_at: Some(at(3)),
        status_page: StatusPageReport {
            indicator: Indicator::Minor,
            description: "Partially Degraded Service".to_owned(),
            page: PageInfo {
                name: "Claude".to_owned(),
                url: "https://status.claude.com".to_owned(),
                updated_at: Some(at(2)),
            },
            components: vec![ComponentReport {
                id: "k8w3r06qmzrp".to_owned(),
                name: "Claude API".to_owned(),
                status: ComponentStatus::Unknown("brand_new_status".to_owned()),
                group: Some("Claude".to_owned()),
                followed: true,
            }],
            incidents: vec![IncidentReport {
                id: "inc1".to_owned(),
                name: "Elevated errors".to_owned(),
                status: IncidentStatus::Investigating,
                impact: Impact::Minor,
                shortlink: Some("https://stspg.io/x".to_owned()),
                created_at: Some(at(1)),
                updated_at: Some(at(2)),
                resolved_at: None,
                components: vec!["Claude API".to_owned()],
                updates: vec![update],
            }],
            maintenances: vec![MaintenanceReport {
                id: "m1".to_owned(),
                name: "Database upgrade".to_owned(),
                status: MaintenanceStatus::Scheduled,
                impact: Impact::Maintenance,
                shortlink: None,
                scheduled_for: Some(at(30)),
                scheduled_until: Some(at(40)),
                components: vec![],
            }],
            source_url: Some("https://status.claude.com/api/v2/summary.json".to_owned()),
            fetched_at: Some(at(3)),
            error: None,
        },
        probe: Some(ProbeReport {
            kind: ProbeKind::Streaming,
            at: at(3),
            outcome: ProbeOutcome::Ok,
            http_status: Some(200),
            error_type: None,
            latency_ms: Some(412),
            ttft_ms: Some(950),
            request_id: Some("req_1".to_owned()),
            detail: "answered in 412 ms".to_owned(),
            ratelimit: RateLimitSnapshot {
                requests: Some(bucket),
                tokens: Some(bucket),
                input_tokens: None,
                output_tokens: None,
                retry_after_seconds: Some(1.5),
                other_families: BTreeMap::from([(
                    "anthropic-priority-input-tokens".to_owned(),
                    bucket,
                )]),
            },
            failures_in_a_row: 0,
            streaming: Some(StreamingReport {
                at: at(3),
                outcome: ProbeOutcome::Ok,
                latency_ms: Some(300),
                message_start_ms: Some(600),
                ttft_ms: Some(950),
                usage: Some(usage),
            }),
        }),
        usage: Some(full_tracker_snapshot()),
        traffic: Some(SpikeReport {
            evaluated_at: Some(at(3)),
            lines: vec![SpikeLine {
                model: "claude-opus-4-5".to_owned(),
                model_name: "Opus 4.5".to_owned(),
                measure: SpikeMeasure::CostPer1k,
                threshold: Some(18.05),
                fixed_limit: false,
                baseline_hours: 31,
                current: Some(41.2),
                current_requests: 1234,
                above: true,
                above_since: Some(at(1)),
                alerting: false,
                text: "$41.20, 7-day median $18.05".to_owned(),
            }],
            unpriced_requests: 3,
            dropped_samples: 0,
        }),
        models: vec![full_model_report()],
        subject: Some("claude-opus-5-5".to_owned()),
        hits_you: HitsYou {
            answer: Answer::Yes,
            text: "Yes: Opus 5.5 is overloaded.".to_owned(),
        },
        coverage: Coverage {
            overloads_watched: false,
            watched_by: vec!["Claude Code's transcripts".to_owned()],
            warning: Some(
                "overloads are not watched: add an API key, or send your traffic through the gateway"
                    .to_owned(),
            ),
        },
        history_not_saved: Some(
            "history is not being saved: the disk is full (SQLITE_FULL)".to_owned(),
        ),
    }
}

/// A model with every optional part present: a probe, own traffic and a retirement. The values
/// need not agree with each other: only the keys serde writes are checked.
fn full_model_report() -> ModelReport {
    ModelReport {
        model: "claude-opus-5-5".to_owned(),
        class: Some("opus-5-5".to_owned()),
        display_name: "Opus 5.5".to_owned(),
        level: Level::Overloaded,
        reasons: vec!["529 on 3 of the last 4 probes".to_owned()],
        followed: true,
        relied_on: true,
        pinned: false,
        share_7d: 0.62,
        requests_7d: 310,
        probe_interval_secs: Some(60),
        last_probe: Some(ModelProbe {
            at: at(3),
            outcome: ProbeOutcome::Overloaded,
            http_status: Some(529),
            latency_ms: Some(180),
            ttft_ms: Some(950),
            detail: "overloaded_error".to_owned(),
        }),
        own_traffic: Some(ModelTraffic {
            requests: 12,
            overloaded: 3,
            server_errors: 0,
            inferred: 1,
            window_secs: 300,
            sources: vec!["gateway".to_owned()],
        }),
        incidents: vec!["Elevated errors on Claude Opus 5.5".to_owned()],
        retired: Some(Retirement {
            on: chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
            successor: Some("claude-opus-5-5".to_owned()),
        }),
    }
}

fn usage_record(minute: u32, source: UsageSource, model: &str, status: u16) -> UsageRecord {
    UsageRecord {
        status: Some(status),
        latency_ms: Some(2_100),
        ttft_ms: Some(900),
        service_tier: Some("standard".to_owned()),
        ..UsageRecord::new(
            at(minute),
            source,
            model,
            TokenCounts {
                input: 1_200,
                output: 350,
                cache_write_5m: 2_000,
                cache_write_1h: 0,
                cache_read: 40_000,
            },
        )
    }
}

/// A tracker with every optional part filled: a tier identified from the headers, live limits,
/// budgets, a spend cap seen, a model without a price, and the user's own 429s and 529s.
fn filled_tracker() -> Tracker {
    let mut tracker = Tracker::new(
        Catalog::builtin(),
        TrackerConfig {
            tier: None,
            monthly_budget_usd: Some(200.0),
            daily_budget_usd: Some(10.0),
            day_zone: DayZone::utc(),
        },
    );
    let bucket = |limit, remaining| {
        Some(RateLimitBucket {
            limit: Some(limit),
            remaining: Some(remaining),
            reset: Some(at(5)),
        })
    };
    // Tier 2's Sonnet 4.x limits, as the headers of a reply give them.
    tracker.observe_ratelimit(
        at(4),
        "claude-sonnet-4-6",
        &RateLimitSnapshot {
            requests: bucket(1_000, 990),
            tokens: None,
            input_tokens: bucket(450_000, 400_000),
            output_tokens: bucket(90_000, 85_000),
            retry_after_seconds: None,
            other_families: BTreeMap::new(),
        },
    );
    for minute in 0..4 {
        tracker.record(&usage_record(
            minute,
            UsageSource::ClaudeCode,
            "claude-sonnet-4-6",
            200,
        ));
        tracker.record(&usage_record(
            minute,
            UsageSource::Gateway,
            "claude-mystery-9",
            200,
        ));
    }
    tracker.record(&usage_record(
        4,
        UsageSource::Gateway,
        "claude-sonnet-4-6",
        429,
    ));
    tracker.record(&usage_record(
        4,
        UsageSource::Gateway,
        "claude-sonnet-4-6",
        529,
    ));
    tracker.spend_cap_reached(at(4));
    tracker
}

fn full_tracker_snapshot() -> TrackerSnapshot {
    let snapshot = filled_tracker().snapshot(at(4) + chrono::Duration::seconds(30));
    assert!(
        snapshot.tier.is_some(),
        "tier identified: {:?}",
        snapshot.tier
    );
    snapshot
}

/// The same with the Admin API's month-to-date cost, which replaces the month's computed cost
/// and sets `as_of`.
fn admin_tracker_snapshot() -> TrackerSnapshot {
    let mut tracker = filled_tracker();
    tracker.set_admin_month_to_date(123.45, at(3));
    let snapshot = tracker.snapshot(at(4) + chrono::Duration::seconds(30));
    assert_eq!(snapshot.month.cost.source, Some(CostSource::AdminApi));
    assert!(snapshot.month.cost.as_of.is_some());
    snapshot
}

/// The field names a generated object type declares, each with whether it is optional (`k?:`).
fn declared_fields<T: TS + 'static>() -> BTreeMap<String, bool> {
    let text = T::export_to_string(&config()).unwrap();
    let body = strip_comments(&text);
    let name = T::name(&config());
    let start = body
        .find(&format!("export type {name} = {{"))
        .unwrap_or_else(|| panic!("{name} is not an object type:\n{text}"));
    let open = start + body[start..].find('{').unwrap();
    // Split the outermost `{ … }` at top-level commas; nested `{}`, `<>`, `[]` and `()` belong to
    // a field's type.
    let mut fields = BTreeMap::new();
    let mut depth = 0usize;
    let mut field = String::new();
    for c in body[open + 1..].chars() {
        match c {
            '{' | '<' | '[' | '(' => depth += 1,
            '}' if depth == 0 => break,
            '}' | '>' | ']' | ')' => depth -= 1,
            ',' if depth == 0 => {
                record_field(&mut fields, &field);
                field.clear();
                continue;
            }
            _ => {}
        }
        field.push(c);
    }
    record_field(&mut fields, &field);
    fields
}

fn record_field(fields: &mut BTreeMap<String, bool>, field: &str) {
    let Some((key, _)) = field.split_once(':') else {
        return; // the empty piece after the trailing comma
    };
    let key = key.trim();
    let (key, optional) = match key.strip_suffix('?') {
        Some(key) => (key, true),
        None => (key, false),
    };
    fields.insert(key.trim_matches('"').to_owned(), optional);
}

/// The text without `/* … */` comments (ts-rs writes doc comments inside object types).
fn strip_comments(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("*/").expect("closed comment");
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
}

/// Checks one object type against a serialised value: every required key the TypeScript type
/// declares is present, and every key serde wrote is declared.
fn check<T: TS + 'static>(value: &Value) {
    let name = T::name(&config());
    let object = value
        .as_object()
        .unwrap_or_else(|| panic!("{name}: expected a JSON object, got {value}"));
    let declared = declared_fields::<T>();
    assert!(!declared.is_empty(), "{name}: no fields parsed");
    let written: BTreeSet<&str> = object.keys().map(String::as_str).collect();
    for (key, optional) in &declared {
        assert!(
            *optional || written.contains(key.as_str()),
            "{name}: TypeScript declares `{key}` but serde did not write it; JSON: {value}"
        );
    }
    for key in &written {
        assert!(
            declared.contains_key(*key),
            "{name}: serde wrote `{key}` but the TypeScript type does not declare it"
        );
    }
}

fn json(value: &impl Serialize) -> Value {
    serde_json::to_value(value).unwrap()
}

#[test]
fn snapshot_json_has_every_declared_key() {
    let snapshot = json(&full_snapshot());
    check::<Snapshot>(&snapshot);
    let page = &snapshot["status_page"];
    check::<StatusPageReport>(page);
    check::<PageInfo>(&page["page"]);
    check::<ComponentReport>(&page["components"][0]);
    check::<IncidentReport>(&page["incidents"][0]);
    check::<UpdateReport>(&page["incidents"][0]["updates"][0]);
    check::<MaintenanceReport>(&page["maintenances"][0]);
    let probe = &snapshot["probe"];
    check::<ProbeReport>(probe);
    check::<RateLimitSnapshot>(&probe["ratelimit"]);
    check::<RateLimitBucket>(&probe["ratelimit"]["requests"]);
    check::<StreamingReport>(&probe["streaming"]);
    check::<Usage>(&probe["streaming"]["usage"]);
    check_tracker(&snapshot["usage"]);
    check_tracker(&json(&admin_tracker_snapshot()));
    let model = &snapshot["models"][0];
    check::<ModelReport>(model);
    check::<ModelProbe>(&model["last_probe"]);
    check::<ModelTraffic>(&model["own_traffic"]);
    check::<Retirement>(&model["retired"]);
    check::<HitsYou>(&snapshot["hits_you"]);
    check::<Coverage>(&snapshot["coverage"]);

    // The optional key is the one serde leaves out when empty.
    let mut quiet = full_snapshot();
    if let Some(probe) = quiet.probe.as_mut() {
        probe.ratelimit = RateLimitSnapshot::default();
    }
    let quiet = json(&quiet);
    assert!(quiet["probe"]["ratelimit"].get("other_families").is_none());
    check::<RateLimitSnapshot>(&quiet["probe"]["ratelimit"]);

    // The snapshot before any check: no probe, no page.
    check::<Snapshot>(&json(&Snapshot::initial()));
}

/// Every object inside a filled `TrackerSnapshot`, against the generated types.
fn check_tracker(usage: &Value) {
    check::<TrackerSnapshot>(usage);
    for key in [
        "tier",
        "monthly_spend_cap",
        "monthly_budget",
        "daily_budget",
        "cost_per_1000_requests",
        "p95_tokens_per_request",
        "spend_cap_reached_at",
        "spend_cap_lifts_at",
    ] {
        assert!(
            !usage[key].is_null(),
            "the filled tracker has `{key}`: {usage}"
        );
    }
    check::<TierChoice>(&usage["tier"]);
    let windows = usage["windows"].as_array().unwrap();
    assert!(windows.len() >= 2, "two classes: {usage}");
    let sonnet = windows.iter().find(|w| w["class"] == "sonnet-4").unwrap();
    check::<ClassWindow>(sonnet);
    assert!(
        !sonnet["limits"].is_null()
            && !sonnet["live"].is_null()
            && !sonnet["requests_fraction"].is_null()
    );
    check::<ClassLimits>(&sonnet["limits"]);
    check::<LiveLimits>(&sonnet["live"]);
    check::<RateLimitSnapshot>(&sonnet["live"]["snapshot"]);
    for period in ["today", "month"] {
        let figures = &usage[period];
        check::<PeriodFigures>(figures);
        check::<CostFigure>(&figures["cost"]);
        check::<TokenCounts>(&figures["tokens"]);
        check::<CacheSavings>(&figures["cache_savings"]);
    }
    assert_eq!(usage["today"]["cost"]["includes_unknown_price"], true);
    check::<CostFigure>(&usage["cost_per_1000_requests"]);
    check::<BudgetProgress>(&usage["monthly_spend_cap"]);
    check::<BudgetProgress>(&usage["monthly_budget"]);
    check::<BudgetProgress>(&usage["daily_budget"]);
    check::<OwnTraffic>(&usage["own_traffic"]);
    // A `Duration` serialised as seconds, as the type says.
    assert!(usage["own_traffic"]["window"].is_f64(), "{usage}");
    assert!(usage["own_traffic"]["rate_limited"].as_u64() >= Some(1));
}

#[test]
fn other_payloads_have_every_declared_key() {
    let report = HistoryReport {
        from: at(0),
        to: at(59),
        window_label: "1h".to_owned(),
        probes: 60,
        uptime_percent: Some(98.3),
        latency_p50_ms: Some(400),
        latency_p95_ms: Some(900),
        ttft_p50_ms: None,
        ttft_p95_ms: None,
        rate_529_percent: Some(1.7),
        rate_429_percent: Some(0.0),
        outcomes: BTreeMap::from([("ok".to_owned(), 59), ("overloaded".to_owned(), 1)]),
        incidents: vec![],
        lead_times: vec![LeadTimeReport {
            incident_id: "inc1".to_owned(),
            incident_name: "Elevated errors".to_owned(),
            model: Some("claude-opus-5-5".to_owned()),
            detected_at: at(1),
            reported_at: at(9),
            lead_seconds: 480,
        }],
        median_lead_seconds: Some(480),
        downtime: vec![DowntimeRun {
            start: at(1),
            end: None,
            outcome: ProbeOutcome::Overloaded,
            failures: 3,
        }],
    };
    let report = json(&report);
    check::<HistoryReport>(&report);
    check::<LeadTimeReport>(&report["lead_times"][0]);
    check::<DowntimeRun>(&report["downtime"][0]);

    check::<Settings>(&json(&Settings::default()));
    let mut pagerduty = ChannelConfig::new("on-call", "On call", ChannelKind::Pagerduty);
    pagerduty.endpoint = Some("https://events.eu.pagerduty.com/v2/enqueue".to_owned());
    check::<Settings>(&json(&Settings {
        alert_channels: vec![pagerduty.clone()],
        ..Settings::default()
    }));
    let report = json(&AlertingReport {
        running: true,
        channels: vec![ChannelStatus {
            channel: pagerduty,
            target: Some(SecretOrigin::Keychain),
            auth: None,
            env_vars: vec!["CLAUDE_STATUS_ALERT_ON_CALL_ROUTING_KEY".to_owned()],
            queued: 1,
            delivered: 2,
            failed: 1,
            dropped: 0,
            last_ok_at: Some(at(1)),
            last_error: Some("https://events.pagerduty.com/… answered HTTP 500".to_owned()),
            last_error_at: Some(at(2)),
            failing: true,
        }],
        events_dropped: 0,
        queue_per_channel: 32,
        timeout_secs: 10,
        attempts: 5,
    });
    check::<AlertingReport>(&report);
    check::<ChannelStatus>(&report["channels"][0]);
    check::<ChannelConfig>(&report["channels"][0]["channel"]);
    check::<ChannelFilter>(&report["channels"][0]["channel"]["filter"]);
    check::<TestOutcome>(&json(&TestOutcome {
        channel_id: "on-call".to_owned(),
        ok: false,
        message: "https://events.pagerduty.com/… answered HTTP 400".to_owned(),
    }));
    check::<SettingsError>(&json(&SettingsError {
        field: "probe_interval_secs".to_owned(),
        message: "must be between 5 and 3600".to_owned(),
    }));
    check::<Notification>(&json(&Notification {
        kind: AlertKind::Trouble,
        level: Level::Outage,
        title: "Claude API outage".to_owned(),
        body: "5 probes failed in a row".to_owned(),
        incident_id: None,
        key: "level:outage".to_owned(),
        model: Some("claude-opus-5-5".to_owned()),
    }));
}

/// Every value serde writes for a closed enum is one of the literals its TypeScript union lists.
fn check_literals<T: TS + Serialize + 'static>(values: &[T]) {
    let text = T::export_to_string(&config()).unwrap();
    for value in values {
        let literal = json(value).to_string();
        assert!(
            text.contains(&literal),
            "{} does not list {literal}:\n{text}",
            T::name(&config())
        );
    }
}

#[test]
fn enum_unions_list_every_wire_value() {
    check_literals(&Level::ALL);
    check_literals(&ProbeOutcome::ALL);
    check_literals(&[ProbeKind::Reachability, ProbeKind::Streaming]);
    check_literals(&[
        AlertKind::Trouble,
        AlertKind::Recovered,
        AlertKind::Flapping,
        AlertKind::IncidentOpened,
        AlertKind::IncidentUpdated,
        AlertKind::IncidentResolved,
    ]);
    check_literals(&[Indicator::None, Indicator::Critical, Indicator::Maintenance]);
    check_literals(&[
        ComponentStatus::Operational,
        ComponentStatus::DegradedPerformance,
        ComponentStatus::MajorOutage,
    ]);
    check_literals(&[IncidentStatus::Investigating, IncidentStatus::Postmortem]);
    check_literals(&[Impact::None, Impact::Critical]);
    check_literals(&[MaintenanceStatus::Scheduled, MaintenanceStatus::InProgress]);
    check_literals(&[
        CostSource::ClaudeCodeLogs,
        CostSource::AdminApi,
        CostSource::Gateway,
        CostSource::Probe,
    ]);
    check_literals(&[TierSource::User, TierSource::Headers]);
    check_literals(&ChannelKind::ALL);
    check_literals(&[SecretSlot::Target, SecretSlot::Auth]);
    check_literals(&[
        SecretOrigin::Keychain,
        SecretOrigin::File,
        SecretOrigin::Environment,
    ]);
    check_literals(&[
        Answer::Yes,
        Answer::Probably,
        Answer::Maybe,
        Answer::No,
        Answer::Unknown,
    ]);
}

#[test]
fn open_enums_accept_any_string() {
    fn check<T: TS + 'static>(expected: &str) {
        let text = T::export_to_string(&config()).unwrap();
        let name = T::name(&config());
        assert!(
            text.contains(&format!("export type {name} = {expected};")),
            "{text}"
        );
    }
    check::<Indicator>(r#""none" | "minor" | "major" | "critical" | "maintenance" | string"#);
    check::<ComponentStatus>(
        r#""operational" | "degraded_performance" | "partial_outage" | "major_outage" | "under_maintenance" | string"#,
    );
}

#[test]
fn gateway_report_has_every_declared_key() {
    let minute = GatewayMinute {
        start: at(1),
        requests: 3,
        ok: 2,
        overloaded: 1,
        latency_p50_ms: Some(120),
        ttft_p50_ms: Some(40),
        ..GatewayMinute::default()
    };
    let report = GatewayReport {
        enabled: true,
        url: Some("http://127.0.0.1:7529".to_owned()),
        error: None,
        upstream: Some("https://api.anthropic.com".to_owned()),
        retry: true,
        fallback: vec![
            "claude-opus-4-6".to_owned(),
            "claude-sonnet-4-6".to_owned(),
            "openai:gpt-4o".to_owned(),
        ],
        fallback_after_secs: 300,
        served_elsewhere: vec![ServedElsewhere {
            model: "claude-sonnet-4-6".to_owned(),
            target: "openai:gpt-4o".to_owned(),
            since: at(1),
        }],
        fallback_totals: vec![FallbackTotals {
            target: "openai:gpt-4o".to_owned(),
            requests: 2,
            served: 2,
            cost_usd: 0.01,
            latency_p50_ms: Some(400),
            last_at: Some(at(1)),
            ..FallbackTotals::default()
        }],
        stats: Some(GatewayStats::default()),
        minutes: vec![minute],
        events: vec![
            ResilienceEvent {
                at: at(1),
                kind: ResilienceKind::Fallback,
                status: 529,
                model: Some("claude-opus-4-6".to_owned()),
                to_model: Some("claude-sonnet-4-6".to_owned()),
                wait_ms: None,
                request_id: Some("req_1".to_owned()),
                provider: None,
            },
            ResilienceEvent {
                at: at(1),
                kind: ResilienceKind::Provider,
                status: 529,
                model: Some("claude-sonnet-4-6".to_owned()),
                to_model: None,
                wait_ms: None,
                request_id: None,
                provider: Some(ProviderAttempt {
                    target: "openai:gpt-4o".to_owned(),
                    reason: "claude-sonnet-4-6 has been overloaded for 6 min".to_owned(),
                    status: Some(200),
                    served: true,
                    latency_ms: Some(400),
                    input_tokens: 100,
                    output_tokens: 10,
                    cache_read_tokens: 0,
                    cost_usd: Some(0.005),
                }),
            },
        ],
    };
    let value = json(&report);
    check::<GatewayReport>(&value);
    check::<GatewayStats>(&value["stats"]);
    check::<OutcomeCounts>(&value["stats"]["outcomes"]);
    check::<GatewayMinute>(&value["minutes"][0]);
    check::<ResilienceEvent>(&value["events"][0]);
    check::<ResilienceEvent>(&value["events"][1]);
    check::<ProviderAttempt>(&value["events"][1]["provider"]);
    check::<FallbackTotals>(&value["fallback_totals"][0]);
    check::<ServedElsewhere>(&value["served_elsewhere"][0]);
    assert_eq!(value["events"][0]["kind"], "fallback");
    assert_eq!(value["events"][1]["kind"], "provider");
    check::<GatewayReport>(&json(&GatewayReport::default()));
}

#[test]
fn advice_report_has_every_declared_key() {
    let catalog = Catalog::builtin();
    let start = at(0);
    let end = start + chrono::Duration::hours(24);
    let mut advisor = Advisor::new(&catalog, start, end);
    let send = |minute: i64, key: &str, cache_use: CacheUse, tokens: TokenCounts| PrefixSend {
        at: start + chrono::Duration::minutes(minute),
        model: "claude-opus-4-5".to_owned(),
        prefix: Some(PrefixShape {
            key: key.to_owned(),
            chars: 20_000,
            parts: PrefixParts::ToolsAndSystem,
        }),
        cache_use,
        status: Some(200),
        tokens: Some(tokens),
        service_tier: None,
    };
    let small = TokenCounts {
        input: 100,
        output: 10,
        ..TokenCounts::default()
    };
    let read = TokenCounts {
        cache_read: 5_000,
        ..small
    };
    for minute in 0..25 {
        advisor.push(&send(minute, "aa00", CacheUse::None, small));
        if minute < 10 {
            advisor.push(&send(minute, "bb00", CacheUse::Blocks, read));
        }
    }
    let value = json(&advisor.report(&|_, _| None));
    check::<AdviceReport>(&value);
    check::<PrefixAdvice>(&value["advice"][0]);
    check::<PrefixTokens>(&value["advice"][0]["size"]);
    check::<MinCacheable>(&value["advice"][0]["minimum"]);
    check::<CachedPrefix>(&value["cached"][0]);
    check::<CachedTotals>(&value["cached_totals"]);
    check::<ModelAdvice>(&value["models"][0]);
}

#[test]
fn blocks_report_has_every_declared_key() {
    let record = |minute: u32, input: u64| {
        UsageRecord::new(
            at(minute),
            UsageSource::ClaudeCode,
            "claude-sonnet-4-6",
            TokenCounts {
                input,
                output: 10,
                ..TokenCounts::default()
            },
        )
    };
    // Two entries a day apart: an old block, a gap, and an active block with a burn rate.
    let mut old = record(0, 5);
    old.at -= chrono::Duration::days(1);
    let records = [old, record(1, 100), record(20, 200)];
    let report = claude_status_core::blocks::report(&records, &Catalog::builtin(), at(30));
    let value = json(&report);
    check::<BlocksReport>(&value);
    let blocks = value["blocks"].as_array().unwrap();
    assert_eq!(blocks.len(), 3, "{value}");
    for block in blocks {
        check::<Block>(block);
        check::<TokenCounts>(&block["tokens"]);
    }
    assert_eq!(blocks[1]["is_gap"], true);
    let active = &value["active"];
    check::<ActiveBlock>(active);
    check::<Block>(&active["block"]);
    check::<BurnRate>(&active["burn_rate"]);
    check::<Projection>(&active["projection"]);
    assert_eq!(value["estimated"], true);
}
