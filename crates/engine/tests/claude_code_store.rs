//! The usage ledger, transcript offsets and rate-limit readings of the store, run over an
//! in-memory and a file database alike.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use claude_status_core::ratelimit::{RateLimitBucket, RateLimitSnapshot};
use claude_status_core::usage::{TokenCounts, UsageRecord, UsageSource};
use claude_status_engine::store::{BatchOutcome, RateLimitReading, UsageFileOffset};
use claude_status_engine::Store;

fn at(millis: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_780_000_000_000 + millis).unwrap()
}

fn record(message: Option<&str>, request: Option<&str>, output: u64, millis: i64) -> UsageRecord {
    UsageRecord {
        at: at(millis),
        source: UsageSource::ClaudeCode,
        model: "claude-sonnet-4-5-20250929".to_owned(),
        tokens: TokenCounts {
            input: 1,
            output,
            cache_write_5m: 2,
            cache_write_1h: 3,
            cache_read: 4,
        },
        status: None,
        latency_ms: Some(1_200),
        ttft_ms: Some(300),
        service_tier: Some("standard".to_owned()),
        message_id: message.map(str::to_owned),
        request_id: request.map(str::to_owned),
        session_id: Some("s".to_owned()),
        project: Some("-w-app".to_owned()),
        reported_cost_usd: Some(0.25),
        is_sidechain: true,
    }
}

fn all(store: &Store) -> Vec<UsageRecord> {
    store.usage_between(at(-1_000_000), at(1_000_000)).unwrap()
}

fn each_store(check: impl Fn(&Store)) {
    check(&Store::open_in_memory().unwrap());
    let temp = tempfile::tempdir().unwrap();
    check(&Store::open(&Store::default_path(temp.path())).unwrap());
}

#[test]
fn a_record_round_trips_every_field() {
    each_store(|store| {
        let mut error = record(Some("e1"), None, 0, 5);
        error.status = Some(529);
        error.tokens = TokenCounts::default();
        let rows = [record(Some("m1"), Some("r1"), 10, 0), error];
        store.ingest_batch(&rows, &[]).unwrap();
        assert_eq!(all(store), rows);
    });
}

#[test]
fn one_source_can_be_read_alone() {
    each_store(|store| {
        let gateway = UsageRecord {
            source: UsageSource::Gateway,
            ..record(Some("g1"), Some("rg1"), 7, 1)
        };
        let rows = [record(Some("m1"), Some("r1"), 10, 0), gateway.clone()];
        store.ingest_batch(&rows, &[]).unwrap();
        let (from, to) = (at(-10), at(10));
        assert_eq!(
            store
                .usage_between_of(from, to, Some(UsageSource::Gateway))
                .unwrap(),
            vec![gateway]
        );
        assert_eq!(store.usage_between_of(from, to, None).unwrap(), rows);
        assert!(store
            .usage_between_of(from, to, Some(UsageSource::AdminApi))
            .unwrap()
            .is_empty());
    });
}

#[test]
fn the_largest_total_wins_and_a_tie_keeps_the_first() {
    each_store(|store| {
        let outcome = store
            .ingest_batch(
                &[
                    record(Some("m"), Some("r"), 1, 0),
                    record(Some("m"), Some("r"), 90, 1),
                    record(Some("m"), Some("r"), 90, 2),
                    record(Some("m"), Some("r"), 5, 3),
                ],
                &[],
            )
            .unwrap();
        assert_eq!(
            outcome,
            BatchOutcome {
                inserted: 1,
                duplicates: 3,
                replaced: 1
            }
        );
        let rows = all(store);
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].tokens.output, rows[0].at), (90, at(1)));
    });
}

#[test]
fn ids_decide_what_is_one_request() {
    each_store(|store| {
        store
            .ingest_batch(
                &[
                    // Same message, other request (a /btw replay): two rows; core's dedupe decides.
                    record(Some("m"), Some("r1"), 1, 0),
                    record(Some("m"), Some("r2"), 1, 1),
                    // A message without a request id (an API-error line) read twice: one row.
                    record(Some("e"), None, 0, 2),
                    record(Some("e"), None, 0, 2),
                    // No ids at all: every line is its own row.
                    record(None, None, 1, 3),
                    record(None, None, 1, 3),
                ],
                &[],
            )
            .unwrap();
        assert_eq!(all(store).len(), 5);
        assert_eq!(store.usage_record_count().unwrap(), 5);
    });
}

#[test]
fn the_streamed_rows_are_the_rows_core_would_keep() {
    each_store(|store| {
        let plain = |message, request, millis| UsageRecord {
            is_sidechain: false,
            ..record(message, request, 1, millis)
        };
        let mut gateway = plain(Some("g"), Some("rg"), 7);
        gateway.source = UsageSource::Gateway;
        let rows = [
            // A `/btw` replay (sidechain, other request) of a real request: only the real one.
            plain(Some("m"), Some("r1"), 0),
            record(Some("m"), Some("r2"), 1, 1),
            // A subagent's own message (sidechain, no non-sidechain copy): kept.
            record(Some("s"), Some("r3"), 1, 2),
            // Missing ids are never deduplicated.
            record(Some("m"), None, 1, 3),
            record(None, Some("r4"), 1, 4),
            record(None, None, 1, 5),
            gateway,
            // Written last, happened first: the whole-history read must still sort it first.
            plain(Some("x"), Some("r5"), -6),
        ];
        store.ingest_batch(&rows, &[]).unwrap();
        let (from, to) = (at(-1_000_000), at(1_000_000));
        for source in [
            None,
            Some(UsageSource::ClaudeCode),
            Some(UsageSource::Gateway),
        ] {
            let expected = claude_status_core::aggregate::dedupe(
                store.usage_between_of(from, to, source).unwrap(),
            );
            let mut streamed = Vec::new();
            store
                .visit_usage(from, to, source, &mut |r| streamed.push(r.clone()))
                .unwrap();
            assert_eq!(streamed, expected, "source {source:?}");
            assert_eq!(
                store
                    .usage_deduplicated_between_of(from, to, source)
                    .unwrap(),
                expected
            );
            // The whole history is read in storage order, and the same rows come out.
            let whole = DateTime::<Utc>::MIN_UTC;
            let mut streamed = Vec::new();
            store
                .visit_usage(whole, to, source, &mut |r| streamed.push(r.clone()))
                .unwrap();
            streamed.sort_by_key(|r| r.at);
            assert_eq!(streamed, expected, "whole history, source {source:?}");
            assert_eq!(
                store
                    .usage_deduplicated_between_of(whole, to, source)
                    .unwrap(),
                expected
            );
        }
        let kept: Vec<_> = store
            .usage_deduplicated_between_of(from, to, Some(UsageSource::ClaudeCode))
            .unwrap()
            .into_iter()
            .map(|r| (r.message_id, r.request_id))
            .collect();
        let id = |m: Option<&str>, r: Option<&str>| (m.map(str::to_owned), r.map(str::to_owned));
        assert_eq!(
            kept,
            [
                id(Some("x"), Some("r5")),
                id(Some("m"), Some("r1")),
                id(Some("s"), Some("r3")),
                id(Some("m"), None),
                id(None, Some("r4")),
                id(None, None),
            ]
        );
    });
}

#[test]
fn offsets_are_written_with_their_batch_and_can_be_forgotten() {
    each_store(|store| {
        let offset = |path: &str, offset: u64| UsageFileOffset {
            path: PathBuf::from(path),
            size: offset + 10,
            mtime_ms: Some(1_780_000_000_000),
            offset,
            inode: Some(u64::MAX - 1),
        };
        store
            .ingest_batch(
                &[record(Some("m"), Some("r"), 1, 0)],
                &[offset("/a.jsonl", 100)],
            )
            .unwrap();
        store
            .ingest_batch(&[], &[offset("/a.jsonl", 200), offset("/b.jsonl", 5)])
            .unwrap();
        let offsets = store.usage_file_offsets().unwrap();
        assert_eq!(offsets.len(), 2);
        assert_eq!(offsets[&PathBuf::from("/a.jsonl")], offset("/a.jsonl", 200));
        assert_eq!(
            store
                .forget_usage_files(&[PathBuf::from("/b.jsonl")])
                .unwrap(),
            1
        );
        assert_eq!(store.usage_file_offsets().unwrap().len(), 1);
    });
}

#[test]
fn the_latest_ratelimit_reading_is_per_source() {
    each_store(|store| {
        assert_eq!(store.latest_ratelimit_reading(None).unwrap(), None);
        let reading = |millis: i64, source: UsageSource, remaining: u64| RateLimitReading {
            at: at(millis),
            source,
            model: Some("claude-opus-4-6".to_owned()),
            snapshot: RateLimitSnapshot {
                requests: Some(RateLimitBucket {
                    limit: Some(50),
                    remaining: Some(remaining),
                    reset: Some(at(60_000)),
                }),
                ..RateLimitSnapshot::default()
            },
        };
        store
            .record_ratelimit_reading(&reading(0, UsageSource::Probe, 49))
            .unwrap();
        store
            .record_ratelimit_reading(&reading(2, UsageSource::Gateway, 10))
            .unwrap();
        store
            .record_ratelimit_reading(&reading(1, UsageSource::Probe, 48))
            .unwrap();
        assert_eq!(
            store
                .latest_ratelimit_reading(Some(UsageSource::Probe))
                .unwrap(),
            Some(reading(1, UsageSource::Probe, 48))
        );
        assert_eq!(
            store.latest_ratelimit_reading(None).unwrap(),
            Some(reading(2, UsageSource::Gateway, 10))
        );
    });
}

/// (source, message id, output, counted, session) of every row a usage report reads.
type ReportRow = (UsageSource, Option<String>, u64, bool, Option<String>);

fn report_rows(store: &Store, from: DateTime<Utc>, source: Option<UsageSource>) -> Vec<ReportRow> {
    let mut rows = Vec::new();
    store
        .visit_usage_report(from, at(1_000_000), source, &mut |r, counted| {
            rows.push((
                r.source,
                r.message_id.clone(),
                r.tokens.output,
                counted,
                r.session_id.clone(),
            ))
        })
        .unwrap();
    rows.sort_by(|a, b| (&a.1, a.0).cmp(&(&b.1, b.0)));
    rows
}

#[test]
fn issue_14_a_request_claude_code_sent_through_the_gateway_is_counted_once() {
    each_store(|store| {
        let claude_code = |message: &str, output, millis| UsageRecord {
            is_sidechain: false,
            ..record(
                Some(message),
                Some(&format!("req_{message}")),
                output,
                millis,
            )
        };
        let gateway = |message: &str, output, millis| UsageRecord {
            source: UsageSource::Gateway,
            session_id: None,
            project: None,
            ..claude_code(message, output, millis)
        };
        let admin = UsageRecord {
            source: UsageSource::AdminApi,
            ..record(None, None, 1_000, 0)
        };
        store
            .ingest_batch(
                &[
                    // Seen by both: the gateway's copy (even a fuller one) only shows in its
                    // breakdown, with the session of the Claude Code row that counts.
                    claude_code("both", 10, 0),
                    gateway("both", 12, 1),
                    claude_code("only-claude-code", 20, 2),
                    gateway("only-gateway", 30, 3),
                    // The gateway's record of a request without a request id has no twin.
                    UsageRecord {
                        request_id: None,
                        ..gateway("no-request-id", 40, 4)
                    },
                    // The organisation's totals are no request of the user's.
                    admin,
                ],
                &[],
            )
            .unwrap();
        let id = |m: &str| Some(m.to_owned());
        let session = Some("s".to_owned());
        let expected = vec![
            (
                UsageSource::ClaudeCode,
                id("both"),
                10,
                true,
                session.clone(),
            ),
            (UsageSource::Gateway, id("both"), 12, false, session.clone()),
            (UsageSource::Gateway, id("no-request-id"), 40, true, None),
            (
                UsageSource::ClaudeCode,
                id("only-claude-code"),
                20,
                true,
                session.clone(),
            ),
            (UsageSource::Gateway, id("only-gateway"), 30, true, None),
        ];
        for from in [at(-1_000_000), DateTime::<Utc>::MIN_UTC] {
            assert_eq!(report_rows(store, from, None), expected, "from {from}");
        }
        // One source alone: every one of its rows counts.
        let gateway_alone = report_rows(store, at(-1_000_000), Some(UsageSource::Gateway));
        assert_eq!(gateway_alone.len(), 3);
        assert!(gateway_alone.iter().all(|row| row.3));
        assert_eq!(gateway_alone[0].4, None, "no session borrowed when alone");
        let admin_alone = report_rows(store, at(-1_000_000), Some(UsageSource::AdminApi));
        assert_eq!(admin_alone.len(), 1);
    });
}

#[test]
fn issue_14_the_streaming_probes_usage_reads_as_probe_records() {
    use claude_status_core::health::{ProbeKind, ProbeResult};
    use claude_status_core::probe::{Classification, ProbeOutcome};
    use claude_status_core::sse::Usage;
    each_store(|store| {
        let probe = |kind, model: Option<&str>, usage: Option<Usage>, millis| ProbeResult {
            at: at(millis),
            kind,
            classification: Classification {
                outcome: ProbeOutcome::Ok,
                http_status: Some(200),
                error_type: None,
                error_message: None,
                request_id: Some(format!("req_probe_{millis}")),
                retry_after: None,
                retry_not_before: None,
                detail: "ok".to_owned(),
            },
            latency_ms: Some(400),
            message_start_ms: Some(300),
            ttft_ms: Some(350),
            ratelimit: Default::default(),
            usage,
            confirmation: false,
            model: model.map(str::to_owned),
        };
        let usage = Usage {
            input_tokens: 8,
            output_tokens: 1,
            cache_creation_5m: 2,
            ..Usage::default()
        };
        for result in [
            probe(ProbeKind::Reachability, None, None, 0),
            probe(
                ProbeKind::Streaming,
                Some("claude-haiku-4-5"),
                Some(usage.clone()),
                1,
            ),
            // Failed before its usage was read: nothing spent that we know of.
            probe(ProbeKind::Streaming, Some("claude-haiku-4-5"), None, 2),
            // Stored before per-model probes named their model.
            probe(ProbeKind::Streaming, None, Some(usage.clone()), 3),
        ] {
            store.record_probe(&result).unwrap();
        }
        let mut records = Vec::new();
        store
            .visit_probe_usage(at(-10), at(10), &mut |r| records.push(r.clone()))
            .unwrap();
        type Found<'a> = (
            DateTime<Utc>,
            UsageSource,
            &'a str,
            TokenCounts,
            Option<&'a str>,
        );
        let found: Vec<Found<'_>> = records
            .iter()
            .map(|r| {
                (
                    r.at,
                    r.source,
                    r.model.as_str(),
                    r.tokens,
                    r.request_id.as_deref(),
                )
            })
            .collect();
        let tokens = TokenCounts {
            input: 8,
            output: 1,
            cache_write_5m: 2,
            ..TokenCounts::default()
        };
        assert_eq!(
            found,
            [
                (
                    at(1),
                    UsageSource::Probe,
                    "claude-haiku-4-5",
                    tokens,
                    Some("req_probe_1")
                ),
                (
                    at(3),
                    UsageSource::Probe,
                    "unknown",
                    tokens,
                    Some("req_probe_3")
                ),
            ]
        );
        assert_eq!(records[0].status, Some(200));
        assert_eq!(records[0].ttft_ms, Some(350));
    });
}
