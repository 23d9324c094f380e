//! The store's probe results and detection lead times, run once over an in-memory database and
//! once over a temporary file, plus the tests that need a file (raw rows, an old schema).
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use std::collections::BTreeMap;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, TimeZone, Utc};
use claude_status_core::health::{ProbeKind, ProbeResult};
use claude_status_core::history::HistoryLead;
use claude_status_core::probe::{Classification, ProbeOutcome};
use claude_status_core::ratelimit::{RateLimitBucket, RateLimitSnapshot};
use claude_status_core::sse::Usage;
use claude_status_engine::store::{LeadTime, Store, RETENTION_DEFAULT_DAYS, SCHEMA_VERSION};
use std::path::PathBuf;

/// Instantiates every listed test for both backends, as in `tests/store.rs`.
macro_rules! store_suite {
    ($($name:ident),+ $(,)?) => {
        mod memory {
            $(
                #[test]
                fn $name() {
                    let store = std::sync::Arc::new(
                        claude_status_engine::store::Store::open_in_memory().unwrap(),
                    );
                    super::$name(&store);
                }
            )+
        }

        mod file {
            $(
                #[test]
                fn $name() {
                    let directory = tempfile::tempdir().unwrap();
                    let path = claude_status_engine::store::Store::default_path(directory.path());
                    let store = std::sync::Arc::new(
                        claude_status_engine::store::Store::open(&path).unwrap(),
                    );
                    super::$name(&store);
                }
            )+
        }
    };
}

store_suite!(
    a_fresh_store_has_the_probe_tables,
    a_probe_with_every_field_round_trips,
    a_bare_probe_round_trips,
    probes_come_back_oldest_first_within_a_half_open_range,
    a_lead_time_round_trips_with_its_lead,
    the_first_lead_time_recorded_for_an_incident_wins,
    lead_times_are_selected_by_report_time_oldest_first,
    a_negative_lead_means_the_status_page_was_first,
    prune_deletes_old_probes_and_lead_times,
);

// Migration 2 added the tables; later migrations may follow it.
const _: () = assert!(SCHEMA_VERSION >= 2);

// ---------------------------------------------------------------------------------------------
// Helpers.

fn at(millis: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(1_780_000_000_000 + millis)
        .unwrap()
}

/// A plain successful reachability probe at `at(millis)`.
fn probe(millis: i64, outcome: ProbeOutcome) -> ProbeResult {
    ProbeResult {
        at: at(millis),
        kind: ProbeKind::Reachability,
        classification: Classification {
            outcome,
            http_status: Some(200),
            error_type: None,
            error_message: None,
            request_id: None,
            retry_after: None,
            retry_not_before: None,
            detail: format!("{outcome} at {millis}"),
        },
        latency_ms: Some(180),
        message_start_ms: None,
        ttft_ms: None,
        ratelimit: RateLimitSnapshot::default(),
        usage: None,
        confirmation: false,
        model: None,
    }
}

/// A streaming probe that hit the spend cap, with everything a probe can carry filled in.
fn full_probe(millis: i64) -> ProbeResult {
    let bucket = |limit, remaining, reset_millis| RateLimitBucket {
        limit: Some(limit),
        remaining: Some(remaining),
        reset: Some(at(reset_millis)),
    };
    ProbeResult {
        at: at(millis),
        kind: ProbeKind::Streaming,
        classification: Classification {
            outcome: ProbeOutcome::SpendCap,
            http_status: Some(429),
            error_type: Some("rate_limit_error".to_owned()),
            error_message: Some("You have reached your specified API usage limits.".to_owned()),
            request_id: Some("req_011CSHoEeqs5C35K2UUqR7Fy".to_owned()),
            retry_after: Some(StdDuration::from_millis(1_500)),
            retry_not_before: Some(at(86_400_000)),
            detail: "monthly spend cap reached".to_owned(),
        },
        latency_ms: Some(412),
        message_start_ms: Some(530),
        ttft_ms: Some(871),
        ratelimit: RateLimitSnapshot {
            requests: Some(bucket(50, 49, 60_000)),
            tokens: Some(bucket(40_000, 39_000, 1_000)),
            input_tokens: None,
            output_tokens: Some(bucket(8_000, 8_000, 2_000)),
            retry_after_seconds: Some(1.5),
            other_families: BTreeMap::from([(
                "anthropic-priority-input-tokens".to_owned(),
                bucket(1_000, 900, 3_000),
            )]),
        },
        usage: Some(Usage {
            input_tokens: 8,
            output_tokens: 1,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0,
            cache_creation_5m: 0,
            cache_creation_1h: 0,
            service_tier: Some("standard".to_owned()),
        }),
        confirmation: true,
        model: Some("claude-haiku-4-5".to_owned()),
    }
}

fn record_lead(store: &Store, id: &str, detected: i64, reported: i64) {
    store
        .record_lead_time(
            id,
            &format!("Incident {id}"),
            None,
            at(detected),
            at(reported),
            at(reported),
        )
        .unwrap();
}

fn lead_ids(leads: &[LeadTime]) -> Vec<&str> {
    leads.iter().map(|l| l.incident_id.as_str()).collect()
}

// ---------------------------------------------------------------------------------------------
// Tests on both backends.

fn a_fresh_store_has_the_probe_tables(store: &Store) {
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert!(store.probes_between(at(0), at(1)).unwrap().is_empty());
    assert!(store.lead_times_between(at(0), at(1)).unwrap().is_empty());
}

fn a_probe_with_every_field_round_trips(store: &Store) {
    let result = full_probe(0);
    store.record_probe(&result).unwrap();
    assert_eq!(store.probes_between(at(0), at(1)).unwrap(), vec![result]);
}

fn a_bare_probe_round_trips(store: &Store) {
    let mut result = probe(0, ProbeOutcome::Network);
    result.classification.http_status = None;
    result.latency_ms = None;
    store.record_probe(&result).unwrap();
    let read = store.probes_between(at(0), at(1)).unwrap();
    assert_eq!(read, vec![result]);
    assert!(read[0].ratelimit.is_empty());
    assert_eq!(read[0].usage, None);
}

fn probes_come_back_oldest_first_within_a_half_open_range(store: &Store) {
    // Recorded out of order; two at the same millisecond come back in the order recorded.
    for (millis, outcome) in [
        (2_000, ProbeOutcome::Ok),
        (1_000, ProbeOutcome::Overloaded),
        (999, ProbeOutcome::Ok),
        (1_500, ProbeOutcome::Timeout),
        (1_500, ProbeOutcome::ServerError),
    ] {
        store.record_probe(&probe(millis, outcome)).unwrap();
    }
    let read: Vec<_> = store
        .probes_between(at(1_000), at(2_000))
        .unwrap()
        .into_iter()
        .map(|p| (p.at, p.outcome()))
        .collect();
    assert_eq!(
        read,
        [
            (at(1_000), ProbeOutcome::Overloaded),
            (at(1_500), ProbeOutcome::Timeout),
            (at(1_500), ProbeOutcome::ServerError),
        ]
    );
}

fn a_lead_time_round_trips_with_its_lead(store: &Store) {
    store
        .record_lead_time(
            "inc-1",
            "Elevated errors on Claude Opus",
            Some("claude-opus-5-5"),
            at(0),
            at(754_250),
            at(800_000),
        )
        .unwrap();
    let leads = store.lead_times_between(at(0), at(1_000_000)).unwrap();
    let expected = LeadTime {
        incident_id: "inc-1".to_owned(),
        incident_name: "Elevated errors on Claude Opus".to_owned(),
        model: Some("claude-opus-5-5".to_owned()),
        detected_at: at(0),
        reported_at: at(754_250),
        // The milliseconds are kept: the lead comes from the stored times.
        lead: Duration::milliseconds(754_250),
    };
    assert_eq!(leads, vec![expected.clone()]);

    // The JSON carries whole seconds under `lead_seconds`.
    let json = serde_json::to_value(&expected).unwrap();
    assert_eq!(json["lead_seconds"], 754);
    assert!(json.get("lead").is_none());
    let back: LeadTime = serde_json::from_value(json).unwrap();
    assert_eq!(back.lead, Duration::seconds(754));

    // The engine hands the core its own type.
    assert_eq!(
        HistoryLead::from(&expected),
        HistoryLead {
            incident_id: "inc-1".to_owned(),
            incident_name: "Elevated errors on Claude Opus".to_owned(),
            model: Some("claude-opus-5-5".to_owned()),
            detected_at: at(0),
            reported_at: at(754_250),
        }
    );
}

fn the_first_lead_time_recorded_for_an_incident_wins(store: &Store) {
    record_lead(store, "inc-1", 0, 600_000);
    // A restart measures again with less of the probes' memory left: a worse guess, ignored.
    store
        .record_lead_time(
            "inc-1",
            "Renamed",
            None,
            at(500_000),
            at(600_000),
            at(700_000),
        )
        .unwrap();
    let leads = store.lead_times_between(at(0), at(1_000_000)).unwrap();
    assert_eq!(leads.len(), 1);
    assert_eq!(leads[0].incident_name, "Incident inc-1");
    assert_eq!(leads[0].detected_at, at(0));
    assert_eq!(leads[0].lead, Duration::minutes(10));
}

fn lead_times_are_selected_by_report_time_oldest_first(store: &Store) {
    // Detected inside the range but reported after it: out. Detected before, reported inside: in.
    record_lead(store, "reported-late", 1_500, 3_000);
    record_lead(store, "detected-early", -50_000, 1_000);
    record_lead(store, "boundary-end", 1_000, 2_000);
    record_lead(store, "middle", 1_100, 1_200);
    record_lead(store, "too-early", 0, 999);
    let leads = store.lead_times_between(at(1_000), at(2_000)).unwrap();
    assert_eq!(lead_ids(&leads), ["detected-early", "middle"]);
}

fn a_negative_lead_means_the_status_page_was_first(store: &Store) {
    record_lead(store, "page-first", 90_000, 30_000);
    let leads = store.lead_times_between(at(0), at(100_000)).unwrap();
    assert_eq!(leads[0].lead, Duration::seconds(-60));
    assert_eq!(
        serde_json::to_value(&leads[0]).unwrap()["lead_seconds"],
        -60
    );
}

fn prune_deletes_old_probes_and_lead_times(store: &Store) {
    let retention = Duration::days(RETENTION_DEFAULT_DAYS);
    let now = at(0) + retention + Duration::milliseconds(1_000);
    // The cut-off is at(1_000): 999 is older, 1_000 is exactly at the boundary and stays.
    for millis in [999, 1_000, 1_001] {
        store
            .record_probe(&probe(millis, ProbeOutcome::Ok))
            .unwrap();
    }
    // Lead times go by their report: detected long ago but reported at the cut-off stays.
    record_lead(store, "old", 0, 999);
    record_lead(store, "boundary", -1_000_000, 1_000);
    let report = store.prune(now, retention).unwrap();
    assert_eq!((report.probe_results, report.detection_leads), (1, 1));
    assert_eq!(report.total(), 2);
    let kept: Vec<_> = store
        .probes_between(at(0), now)
        .unwrap()
        .into_iter()
        .map(|p| p.at)
        .collect();
    assert_eq!(kept, [at(1_000), at(1_001)]);
    assert_eq!(
        lead_ids(&store.lead_times_between(at(-2_000_000), now).unwrap()),
        ["boundary"]
    );
    assert_eq!(store.prune(now, retention).unwrap().total(), 0);
}

// ---------------------------------------------------------------------------------------------
// File-only tests: they look at the rows themselves.

fn database_in(directory: &tempfile::TempDir) -> PathBuf {
    Store::default_path(directory.path())
}

#[test]
fn the_columns_copy_the_classification_for_queries() {
    let directory = tempfile::tempdir().unwrap();
    let path = database_in(&directory);
    let store = Store::open(&path).unwrap();
    store.record_probe(&full_probe(0)).unwrap();
    store.record_probe(&probe(1, ProbeOutcome::Ok)).unwrap();

    let connection = rusqlite::Connection::open(&path).unwrap();
    type Row = (
        String,
        String,
        Option<i64>,
        Option<String>,
        Option<String>,
        i64,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Row> = connection
        .prepare(
            "SELECT kind, outcome, http_status, error_type, request_id, confirmation, ratelimit,
                    usage
             FROM probe_results ORDER BY at",
        )
        .unwrap()
        .query_map([], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
                row.get(6)?,
                row.get(7)?,
            ))
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let (kind, outcome, status, error_type, request_id, confirmation, ratelimit, usage) = &rows[0];
    assert_eq!(
        (kind.as_str(), outcome.as_str(), *status, *confirmation),
        ("streaming", "spend_cap", Some(429), 1)
    );
    assert_eq!(error_type.as_deref(), Some("rate_limit_error"));
    assert_eq!(request_id.as_deref(), Some("req_011CSHoEeqs5C35K2UUqR7Fy"));
    assert!(ratelimit.is_some() && usage.is_some());
    // An empty snapshot and an absent usage take no space.
    let (kind, outcome, _, _, _, confirmation, ratelimit, usage) = &rows[1];
    assert_eq!(
        (kind.as_str(), outcome.as_str(), *confirmation),
        ("reachability", "ok", 0)
    );
    assert_eq!((ratelimit, usage), (&None, &None));

    // The range query walks the index on `at` rather than scanning and sorting the table.
    let plan: Vec<String> = connection
        .prepare(
            "EXPLAIN QUERY PLAN SELECT id FROM probe_results
             WHERE at >= 0 AND at < 1 ORDER BY at, id",
        )
        .unwrap()
        .query_map([], |row| row.get::<_, String>(3))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert!(
        plan.iter().any(|step| step.contains("probe_results_at")),
        "{plan:?}"
    );
    assert!(
        !plan.iter().any(|step| step.contains("TEMP B-TREE")),
        "{plan:?}"
    );
}

#[test]
fn a_probe_row_that_no_longer_reads_is_skipped() {
    let directory = tempfile::tempdir().unwrap();
    let path = database_in(&directory);
    let store = Store::open(&path).unwrap();
    for millis in 0..5 {
        store.record_probe(&full_probe(millis)).unwrap();
    }
    {
        // Another writer (an older or buggy build) leaves unreadable rows behind.
        let connection = rusqlite::Connection::open(&path).unwrap();
        connection
            .execute_batch(
                "UPDATE probe_results SET classification = '{\"outcome\":\"from_the_future\"}'
                     WHERE at = 1780000000000;
                 UPDATE probe_results SET ratelimit = 'not json' WHERE at = 1780000000001;
                 UPDATE probe_results SET usage = '[1]' WHERE at = 1780000000002;
                 UPDATE probe_results SET kind = 'telepathy' WHERE at = 1780000000003;
                 INSERT INTO detection_leads
                     (incident_id, incident_name, detected_at, reported_at, lead_seconds,
                      recorded_at)
                     VALUES ('bad', 'Bad', 9223372036854775807, 1780000000000, 0, 0);",
            )
            .unwrap();
    }
    let read = store.probes_between(at(0), at(10)).unwrap();
    assert_eq!(read, vec![full_probe(4)]);
    assert!(store.lead_times_between(at(-1), at(10)).unwrap().is_empty());
}

#[test]
fn a_version_1_database_gains_the_probe_tables() {
    let directory = tempfile::tempdir().unwrap();
    let path = database_in(&directory);
    drop(Store::open(&path).unwrap());
    {
        // Turn the file back into what a build with only migration 1 left behind.
        let connection = rusqlite::Connection::open(&path).unwrap();
        connection
            .execute_batch(
                "DROP TABLE probe_results; DROP TABLE detection_leads; PRAGMA user_version = 1;",
            )
            .unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    store.record_probe(&probe(0, ProbeOutcome::Ok)).unwrap();
    record_lead(&store, "inc", 0, 1);
    assert_eq!(store.probes_between(at(0), at(1)).unwrap().len(), 1);
    assert_eq!(store.lead_times_between(at(0), at(2)).unwrap().len(), 1);
}
