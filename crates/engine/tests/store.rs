//! The store's test suite, run once over an in-memory database and once over a temporary file,
//! plus the few tests that only make sense for a file (reopening, WAL, schema versions).
//!
//! The shape follows gatus's `storage/store/store_test.go`: each test is a plain function of a
//! store, and a macro instantiates it for every backend, so both backends stay equally covered.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use chrono::{DateTime, Duration, TimeZone, Utc};
use claude_status_core::changes::{IncidentRef, StatusChange, UpdateRef};
use claude_status_core::gateway::{ProviderAttempt, ResilienceEvent, ResilienceKind};
use claude_status_core::statuspage::{
    parse_incidents, AffectedComponent, ComponentStatus, Impact, Incident, IncidentComponent,
    IncidentStatus, IncidentUpdate, Indicator,
};
use claude_status_engine::error::Error;
use claude_status_engine::store::{
    CachedResponse, FetchOutcome, FetchRecord, LevelChange, PruneReport, Store, UpsertOutcome,
    RETENTION_DEFAULT_DAYS, SCHEMA_VERSION,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Instantiates every listed test for both backends. The store is passed as `&Arc<Store>`, which
/// derefs to `&Store`, so a test takes whichever of the two it needs.
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
    a_fresh_store_has_the_current_schema,
    fetches_round_trip_within_a_half_open_range,
    status_changes_round_trip_through_json_newest_first,
    level_changes_round_trip_oldest_first,
    a_new_incident_is_inserted_with_its_updates,
    an_upsert_keeps_first_seen_and_accumulates_updates,
    an_update_dropped_by_a_later_payload_stays,
    a_payload_that_omits_fields_does_not_erase_them,
    a_stale_payload_does_not_roll_an_incident_back,
    a_reopened_incident_loses_its_resolution_time,
    an_edited_update_is_refreshed_only_by_a_newer_edit,
    the_trimmed_anthropic_incidents_round_trip,
    incidents_without_ids_round_trip_under_their_keys,
    the_fifty_github_incidents_round_trip,
    unresolved_incidents_are_the_open_ones,
    the_http_cache_stores_and_replaces_responses,
    prune_deletes_only_rows_older_than_the_retention,
    prune_keeps_incidents_still_seen_or_recently_resolved,
    prune_refuses_an_unrepresentable_retention,
    two_threads_write_through_one_arc,
    gateway_events_round_trip_newest_first_and_are_pruned,
    plan_readings_round_trip_keep_changes_and_skip_copies,
);

// ---------------------------------------------------------------------------------------------
// Helpers.

fn at(millis: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(1_780_000_000_000 + millis)
        .unwrap()
}

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/statuspage")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading fixture {}: {e}", path.display()))
}

fn fixture_incidents(name: &str) -> Vec<Incident> {
    parse_incidents(&fixture(name)).unwrap()
}

fn update(id: &str, status: IncidentStatus, body: &str, posted: i64) -> IncidentUpdate {
    IncidentUpdate {
        id: id.to_owned(),
        status,
        body: body.to_owned(),
        created_at: Some(at(posted)),
        display_at: Some(at(posted)),
        updated_at: Some(at(posted)),
        affected_components: vec![AffectedComponent {
            code: "k8w3r06qmzrp".to_owned(),
            name: "Claude API (api.anthropic.com)".to_owned(),
            old_status: ComponentStatus::Operational,
            new_status: ComponentStatus::PartialOutage,
        }],
    }
}

/// An open incident with one update, created at `at(0)`.
fn incident(id: &str) -> Incident {
    Incident {
        id: id.to_owned(),
        name: format!("Elevated errors ({id})"),
        status: IncidentStatus::Investigating,
        impact: Impact::Major,
        shortlink: Some(format!("https://stspg.io/{id}")),
        created_at: Some(at(0)),
        updated_at: Some(at(0)),
        started_at: Some(at(0)),
        monitoring_at: None,
        resolved_at: None,
        incident_updates: vec![update(
            &format!("{id}-u1"),
            IncidentStatus::Investigating,
            "We are investigating.",
            0,
        )],
        components: vec![IncidentComponent {
            id: "k8w3r06qmzrp".to_owned(),
            name: "Claude API (api.anthropic.com)".to_owned(),
            status: ComponentStatus::PartialOutage,
        }],
    }
}

/// The same incident one update later.
fn with_update(mut incident: Incident, update: IncidentUpdate) -> Incident {
    incident.updated_at = update.updated_at;
    incident.status = update.status.clone();
    incident.incident_updates.insert(0, update);
    incident
}

fn reference(id: &str) -> IncidentRef {
    IncidentRef {
        id: id.to_owned(),
        name: format!("Elevated errors ({id})"),
        impact: Impact::Major,
        shortlink: None,
    }
}

fn fetch(millis: i64, outcome: FetchOutcome) -> FetchRecord {
    FetchRecord {
        at: at(millis),
        url: "https://status.claude.com/api/v2/summary.json".to_owned(),
        outcome,
        http_status: match outcome {
            FetchOutcome::Ok => Some(200),
            FetchOutcome::NotModified => Some(304),
            FetchOutcome::Error => None,
        },
        bytes: if outcome == FetchOutcome::Ok { 4310 } else { 0 },
        duration_ms: 120,
        error: (outcome == FetchOutcome::Error).then(|| "connection refused".to_owned()),
    }
}

// ---------------------------------------------------------------------------------------------
// The suite.

fn a_fresh_store_has_the_current_schema(store: &Store) {
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert!(store.recent_incidents(10).unwrap().is_empty());
    assert_eq!(
        store.cached_response("https://example.test/").unwrap(),
        None
    );
}

fn fetches_round_trip_within_a_half_open_range(store: &Store) {
    let records = [
        fetch(0, FetchOutcome::Ok),
        fetch(1_000, FetchOutcome::NotModified),
        fetch(2_000, FetchOutcome::Error),
        fetch(3_000, FetchOutcome::Ok),
    ];
    // Stored out of order, read back oldest first.
    for record in records.iter().rev() {
        store.record_fetch(record).unwrap();
    }
    assert_eq!(store.fetches_between(at(0), at(4_000)).unwrap(), records);
    // `from` is inclusive and `to` exclusive.
    assert_eq!(
        store.fetches_between(at(1_000), at(3_000)).unwrap(),
        records[1..3]
    );
    assert!(store
        .fetches_between(at(5_000), at(9_000))
        .unwrap()
        .is_empty());
}

fn status_changes_round_trip_through_json_newest_first(store: &Store) {
    let first = vec![
        StatusChange::IndicatorChanged {
            from: Indicator::None,
            to: Indicator::Unknown("apocalyptic".to_owned()),
            description: "Partial System Outage".to_owned(),
        },
        StatusChange::ComponentStatusChanged {
            id: "k8w3r06qmzrp".to_owned(),
            name: "Claude API (api.anthropic.com)".to_owned(),
            from: ComponentStatus::Operational,
            to: ComponentStatus::MajorOutage,
        },
        StatusChange::IncidentOpened {
            incident: reference("a"),
            status: IncidentStatus::Investigating,
            latest_update: Some(UpdateRef {
                status: IncidentStatus::Investigating,
                body: "We are investigating — “quotes” and ünïcode.".to_owned(),
                created_at: Some(at(5)),
            }),
        },
    ];
    let second = vec![
        StatusChange::IncidentResolved {
            incident: reference("a"),
            confirmed: false,
        },
        StatusChange::MaintenanceStarted {
            id: "m".to_owned(),
            name: "Database maintenance".to_owned(),
            scheduled_until: None,
        },
    ];
    store.record_changes(at(1_000), &first).unwrap();
    store.record_changes(at(2_000), &second).unwrap();
    store.record_changes(at(3_000), &[]).unwrap();

    let expected: Vec<(DateTime<Utc>, StatusChange)> = second
        .iter()
        .rev()
        .map(|c| (at(2_000), c.clone()))
        .chain(first.iter().rev().map(|c| (at(1_000), c.clone())))
        .collect();
    assert_eq!(
        store.changes_between(at(0), at(3_000), usize::MAX).unwrap(),
        expected
    );
    assert_eq!(
        store.changes_between(at(0), at(3_000), 3).unwrap(),
        expected[..3]
    );
    assert_eq!(
        store.changes_between(at(0), at(2_000), 100).unwrap(),
        expected[2..]
    );
}

fn level_changes_round_trip_oldest_first(store: &Store) {
    store
        .record_level_change(at(2_000), "degraded", "operational", &[])
        .unwrap();
    let reasons = vec![
        "Claude API: partial outage".to_owned(),
        "3 probe failures in a row".to_owned(),
    ];
    store
        .record_level_change(at(1_000), "operational", "degraded", &reasons)
        .unwrap();
    assert_eq!(
        store.level_changes_between(at(0), at(3_000)).unwrap(),
        vec![
            LevelChange {
                at: at(1_000),
                from: "operational".to_owned(),
                to: "degraded".to_owned(),
                reasons,
            },
            LevelChange {
                at: at(2_000),
                from: "degraded".to_owned(),
                to: "operational".to_owned(),
                reasons: Vec::new(),
            },
        ]
    );
}

fn a_new_incident_is_inserted_with_its_updates(store: &Store) {
    let incident = incident("a");
    let outcome = store.upsert_incident(&incident, at(10)).unwrap();
    assert_eq!(
        outcome,
        UpsertOutcome {
            new_incident: true,
            new_updates: 1
        }
    );
    assert_eq!(store.incident("a").unwrap(), Some(incident));
    assert_eq!(store.incident_first_seen("a").unwrap(), Some(at(10)));
    assert_eq!(store.incident("missing").unwrap(), None);
    assert_eq!(store.incident_first_seen("missing").unwrap(), None);
}

fn an_upsert_keeps_first_seen_and_accumulates_updates(store: &Store) {
    let first = incident("a");
    store.upsert_incident(&first, at(10)).unwrap();
    let second = with_update(
        first,
        update("a-u2", IncidentStatus::Identified, "Found it.", 500),
    );
    let outcome = store.upsert_incident(&second, at(600)).unwrap();
    assert_eq!(
        outcome,
        UpsertOutcome {
            new_incident: false,
            new_updates: 1
        }
    );
    assert_eq!(store.incident_first_seen("a").unwrap(), Some(at(10)));
    assert_eq!(store.incident("a").unwrap(), Some(second.clone()));

    // The same payload again adds nothing.
    let outcome = store.upsert_incident(&second, at(700)).unwrap();
    assert_eq!(outcome, UpsertOutcome::default());
    assert_eq!(store.incident_first_seen("a").unwrap(), Some(at(10)));
}

fn an_update_dropped_by_a_later_payload_stays(store: &Store) {
    let first = incident("a");
    store.upsert_incident(&first, at(10)).unwrap();
    let full = with_update(
        first,
        update("a-u2", IncidentStatus::Identified, "Found it.", 500),
    );
    // A later payload that carries only the newest update.
    let mut trimmed = full.clone();
    trimmed.incident_updates.truncate(1);
    let outcome = store.upsert_incident(&trimmed, at(600)).unwrap();
    assert_eq!(outcome.new_updates, 1);
    assert_eq!(store.incident("a").unwrap(), Some(full.clone()));

    // And one with no updates at all.
    let mut bare = full.clone();
    bare.incident_updates.clear();
    store.upsert_incident(&bare, at(700)).unwrap();
    assert_eq!(store.incident("a").unwrap(), Some(full));
}

fn a_payload_that_omits_fields_does_not_erase_them(store: &Store) {
    let full = incident("a");
    store.upsert_incident(&full, at(10)).unwrap();
    let sparse = Incident {
        id: "a".to_owned(),
        incident_updates: Vec::new(),
        ..Incident::default()
    };
    store.upsert_incident(&sparse, at(20)).unwrap();
    assert_eq!(store.incident("a").unwrap(), Some(full));
}

fn a_stale_payload_does_not_roll_an_incident_back(store: &Store) {
    let open = incident("a");
    let mut resolved = with_update(
        open.clone(),
        update("a-u2", IncidentStatus::Resolved, "Fixed.", 900),
    );
    resolved.resolved_at = Some(at(900));
    store.upsert_incident(&resolved, at(1_000)).unwrap();
    // A lagging cache serves the older, open version afterwards.
    let outcome = store.upsert_incident(&open, at(1_100)).unwrap();
    assert_eq!(outcome, UpsertOutcome::default());
    assert_eq!(store.incident("a").unwrap(), Some(resolved));
    assert!(store.unresolved_incidents().unwrap().is_empty());
}

fn a_reopened_incident_loses_its_resolution_time(store: &Store) {
    let mut resolved = with_update(
        incident("a"),
        update("a-u2", IncidentStatus::Resolved, "Fixed.", 900),
    );
    resolved.resolved_at = Some(at(900));
    store.upsert_incident(&resolved, at(1_000)).unwrap();
    let mut reopened = with_update(
        resolved,
        update("a-u3", IncidentStatus::Investigating, "It is back.", 2_000),
    );
    reopened.resolved_at = None;
    store.upsert_incident(&reopened, at(2_100)).unwrap();
    assert_eq!(store.incident("a").unwrap(), Some(reopened.clone()));
    assert_eq!(store.unresolved_incidents().unwrap(), vec![reopened]);
}

fn an_edited_update_is_refreshed_only_by_a_newer_edit(store: &Store) {
    let original = incident("a");
    store.upsert_incident(&original, at(10)).unwrap();

    let mut edited = original.clone();
    edited.incident_updates[0].body = "We are investigating elevated errors.".to_owned();
    edited.incident_updates[0].updated_at = Some(at(50));
    let outcome = store.upsert_incident(&edited, at(60)).unwrap();
    assert_eq!(outcome.new_updates, 0);
    assert_eq!(store.incident("a").unwrap(), Some(edited.clone()));

    // The pre-edit copy, served late, does not undo the edit.
    store.upsert_incident(&original, at(70)).unwrap();
    assert_eq!(store.incident("a").unwrap(), Some(edited));
}

fn the_trimmed_anthropic_incidents_round_trip(store: &Store) {
    let incidents = fixture_incidents("anthropic-incidents-TRIMMED-PARTLY-SYNTHETIC.json");
    assert!(!incidents.is_empty());
    // The trimmed copy drops the updates' ids, so their keys are synthetic.
    assert!(incidents
        .iter()
        .flat_map(|i| &i.incident_updates)
        .all(|u| u.id.is_empty()));
    let outcomes = store.upsert_incidents(&incidents, at(0)).unwrap();
    for (incident, outcome) in incidents.iter().zip(&outcomes) {
        assert!(outcome.new_incident);
        assert_eq!(outcome.new_updates, incident.incident_updates.len());
        assert_eq!(
            store.incident(&incident.key()).unwrap().as_ref(),
            Some(incident)
        );
    }
    assert_eq!(store.recent_incidents(100).unwrap(), incidents);
    // Storing the same payload again finds nothing new.
    let again = store.upsert_incidents(&incidents, at(1_000)).unwrap();
    assert!(again.iter().all(|o| *o == UpsertOutcome::default()));
    assert_eq!(store.recent_incidents(100).unwrap(), incidents);
}

fn incidents_without_ids_round_trip_under_their_keys(store: &Store) {
    let mut document: serde_json::Value = serde_json::from_slice(&fixture(
        "anthropic-incidents-TRIMMED-PARTLY-SYNTHETIC.json",
    ))
    .unwrap();
    for (index, incident) in document["incidents"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .enumerate()
    {
        let object = incident.as_object_mut().unwrap();
        object.remove("id");
        // Half of them without a shortlink too, so the key falls back to name and time.
        if index % 2 == 0 {
            object.remove("shortlink");
        }
    }
    let incidents = parse_incidents(&serde_json::to_vec(&document).unwrap()).unwrap();
    assert!(incidents.iter().all(|i| i.id.is_empty()));
    // Some keys come from the shortlink, others from the name and creation time.
    assert!(incidents.iter().any(|i| i.key().starts_with("https://")));
    assert!(incidents.iter().any(|i| i.key().contains('|')));
    store.upsert_incidents(&incidents, at(0)).unwrap();
    for incident in &incidents {
        assert_eq!(
            store.incident(&incident.key()).unwrap().as_ref(),
            Some(incident)
        );
    }
    let again = store.upsert_incidents(&incidents, at(1_000)).unwrap();
    assert!(again.iter().all(|o| *o == UpsertOutcome::default()));
}

fn the_fifty_github_incidents_round_trip(store: &Store) {
    let incidents = fixture_incidents("github-incidents-2026-07.json");
    assert_eq!(incidents.len(), 50);
    store.upsert_incidents(&incidents, at(0)).unwrap();
    for incident in &incidents {
        assert_eq!(
            store.incident(&incident.key()).unwrap().as_ref(),
            Some(incident)
        );
    }
    let mut newest_first = incidents.clone();
    newest_first.sort_by_key(|incident| std::cmp::Reverse(incident.created_at));
    assert_eq!(store.recent_incidents(50).unwrap(), newest_first);
    assert_eq!(store.recent_incidents(7).unwrap(), newest_first[..7]);
    assert!(store.unresolved_incidents().unwrap().is_empty());
}

fn unresolved_incidents_are_the_open_ones(store: &Store) {
    let open = incident("open");
    let mut monitoring = incident("monitoring");
    monitoring.status = IncidentStatus::Monitoring;
    monitoring.created_at = Some(at(100));
    let mut maintenance = incident("maintenance");
    maintenance.status = IncidentStatus::Unknown("in_progress".to_owned());
    maintenance.created_at = Some(at(50));
    let mut resolved = incident("resolved");
    resolved.status = IncidentStatus::Resolved;
    let mut postmortem = incident("postmortem");
    postmortem.status = IncidentStatus::Postmortem;
    store
        .upsert_incidents(
            &[
                open.clone(),
                monitoring.clone(),
                maintenance.clone(),
                resolved,
                postmortem,
            ],
            at(0),
        )
        .unwrap();
    assert_eq!(
        store.unresolved_incidents().unwrap(),
        vec![monitoring, maintenance, open]
    );
}

fn the_http_cache_stores_and_replaces_responses(store: &Store) {
    let url = "https://status.claude.com/api/v2/summary.json";
    assert_eq!(store.cached_response(url).unwrap(), None);
    let first = CachedResponse {
        etag: Some("W/\"abc\"".to_owned()),
        last_modified: Some("Sat, 06 Jun 2026 19:05:27 GMT".to_owned()),
        content_type: Some("application/json; charset=utf-8".to_owned()),
        body: fixture("github-summary-2026-07.json"),
        fetched_at: at(0),
    };
    store.put_cached_response(url, &first).unwrap();
    assert_eq!(store.cached_response(url).unwrap(), Some(first));

    let second = CachedResponse {
        etag: None,
        last_modified: None,
        content_type: None,
        // Not UTF-8: the body is stored as bytes.
        body: vec![0xff, 0x00, 0xfe],
        fetched_at: at(1_000),
    };
    store.put_cached_response(url, &second).unwrap();
    assert_eq!(store.cached_response(url).unwrap(), Some(second));
    assert_eq!(store.cached_response("https://other.test/").unwrap(), None);
}

fn prune_deletes_only_rows_older_than_the_retention(store: &Store) {
    let retention = Duration::days(RETENTION_DEFAULT_DAYS);
    let now = at(0) + retention + Duration::milliseconds(1_000);
    // The cut-off is at(1_000): 999 is older, 1_000 is exactly at the boundary and stays.
    for millis in [999, 1_000, 1_001] {
        store
            .record_fetch(&fetch(millis, FetchOutcome::Ok))
            .unwrap();
        store
            .record_changes(
                at(millis),
                &[StatusChange::MaintenanceEnded {
                    id: "m".to_owned(),
                    name: "Maintenance".to_owned(),
                }],
            )
            .unwrap();
        store
            .record_level_change(at(millis), "operational", "maintenance", &[])
            .unwrap();
    }
    let report = store.prune(now, retention).unwrap();
    assert_eq!(
        report,
        PruneReport {
            fetches: 1,
            status_changes: 1,
            level_changes: 1,
            incidents: 0,
            incident_updates: 0,
            probe_results: 0,
            detection_leads: 0,
        }
    );
    assert_eq!(report.total(), 3);
    let kept: Vec<_> = store
        .fetches_between(at(0), now)
        .unwrap()
        .into_iter()
        .map(|f| f.at)
        .collect();
    assert_eq!(kept, [at(1_000), at(1_001)]);
    assert_eq!(store.changes_between(at(0), now, 100).unwrap().len(), 2);
    assert_eq!(store.level_changes_between(at(0), now).unwrap().len(), 2);
    // Pruning again finds nothing.
    assert_eq!(store.prune(now, retention).unwrap(), PruneReport::default());
}

fn prune_keeps_incidents_still_seen_or_recently_resolved(store: &Store) {
    let retention = Duration::days(RETENTION_DEFAULT_DAYS);
    let now = at(0) + retention + Duration::milliseconds(1_000);
    let resolved_at = |incident: &mut Incident, millis: i64| {
        incident.status = IncidentStatus::Resolved;
        incident.resolved_at = Some(at(millis));
    };

    // Resolved and last seen before the cut-off: deleted, with its two updates.
    let mut old_resolved = with_update(
        incident("old-resolved"),
        update("old-resolved-u2", IncidentStatus::Resolved, "Fixed.", 10),
    );
    resolved_at(&mut old_resolved, 10);
    store.upsert_incident(&old_resolved, at(999)).unwrap();
    // Resolved exactly at the cut-off, last seen before it: kept.
    let mut boundary = incident("boundary");
    resolved_at(&mut boundary, 1_000);
    store.upsert_incident(&boundary, at(999)).unwrap();
    // Unresolved and not seen since before the cut-off: deleted.
    store.upsert_incident(&incident("gone"), at(999)).unwrap();
    // Unresolved, created long ago, but still seen within the retention: kept.
    store
        .upsert_incident(&incident("lingering"), at(0))
        .unwrap();
    store
        .upsert_incident(&incident("lingering"), at(1_000))
        .unwrap();
    // Resolved long ago but still served by the page: kept, so it is not re-stored as new.
    let mut still_listed = incident("still-listed");
    resolved_at(&mut still_listed, 10);
    store.upsert_incident(&still_listed, now).unwrap();

    let report = store.prune(now, retention).unwrap();
    assert_eq!(report.incidents, 2);
    assert_eq!(report.incident_updates, 3);
    assert_eq!(store.incident("old-resolved").unwrap(), None);
    assert_eq!(store.incident("gone").unwrap(), None);
    for kept in ["boundary", "lingering", "still-listed"] {
        assert!(store.incident(kept).unwrap().is_some(), "{kept} was pruned");
    }
    assert_eq!(store.incident_first_seen("lingering").unwrap(), Some(at(0)));
}

fn prune_refuses_an_unrepresentable_retention(store: &Store) {
    let error = store.prune(at(0), Duration::MAX).unwrap_err();
    assert!(matches!(error, Error::Config(_)), "{error:?}");
}

fn two_threads_write_through_one_arc(store: &Arc<Store>) {
    const PER_THREAD: i64 = 50;
    let writers: Vec<_> = (0..2)
        .map(|thread| {
            let store = Arc::clone(store);
            std::thread::spawn(move || {
                for i in 0..PER_THREAD {
                    let millis = thread * 10_000 + i;
                    store
                        .record_fetch(&fetch(millis, FetchOutcome::Ok))
                        .unwrap();
                    let mut incident = incident(&format!("t{thread}-{i}"));
                    incident.created_at = Some(at(millis));
                    store.upsert_incident(&incident, at(millis)).unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    assert_eq!(
        store.fetches_between(at(0), at(100_000)).unwrap().len(),
        2 * PER_THREAD as usize
    );
    assert_eq!(
        store.recent_incidents(usize::MAX).unwrap().len(),
        2 * PER_THREAD as usize
    );
}

// ---------------------------------------------------------------------------------------------
// File-only tests.

fn database_in(directory: &tempfile::TempDir) -> PathBuf {
    Store::default_path(directory.path())
}

#[test]
fn open_creates_parent_directories() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("nested/deeper/claude-status.sqlite3");
    Store::open(&path).unwrap();
    assert!(path.is_file());
}

#[test]
fn default_path_is_inside_the_data_directory() {
    assert_eq!(
        Store::default_path(Path::new("/data")),
        Path::new("/data/claude-status.sqlite3")
    );
}

#[test]
fn migrations_are_idempotent_and_reopening_finds_the_data() {
    let directory = tempfile::tempdir().unwrap();
    let path = database_in(&directory);
    let incident = incident("a");
    {
        let store = Store::open(&path).unwrap();
        store.upsert_incident(&incident, at(10)).unwrap();
        store.record_fetch(&fetch(0, FetchOutcome::Ok)).unwrap();
    }
    for _ in 0..2 {
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(store.incident("a").unwrap(), Some(incident.clone()));
        assert_eq!(store.incident_first_seen("a").unwrap(), Some(at(10)));
        assert_eq!(store.fetches_between(at(0), at(1)).unwrap().len(), 1);
    }
}

#[test]
fn a_database_from_a_newer_build_is_refused_with_a_clear_error() {
    let directory = tempfile::tempdir().unwrap();
    let path = database_in(&directory);
    drop(Store::open(&path).unwrap());
    {
        let connection = rusqlite::Connection::open(&path).unwrap();
        connection
            .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
    }
    let error = Store::open(&path).unwrap_err();
    match &error {
        Error::SchemaTooNew { found, known, .. } => {
            assert_eq!(*found, SCHEMA_VERSION + 1);
            assert_eq!(*known, SCHEMA_VERSION);
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
    let message = error.to_string();
    assert!(message.contains("newer Claude Status"), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
}

#[test]
fn the_file_store_uses_wal() {
    let directory = tempfile::tempdir().unwrap();
    let path = database_in(&directory);
    let store = Store::open(&path).unwrap();
    assert_eq!(store.journal_mode().unwrap(), "wal");
    store.record_fetch(&fetch(0, FetchOutcome::Ok)).unwrap();
    assert!(path.with_extension("sqlite3-wal").exists());
    // WAL is a property of the file: another connection sees it too.
    let other = rusqlite::Connection::open(&path).unwrap();
    let mode: String = other
        .pragma_query_value(None, "journal_mode", |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn a_current_store_opens_and_skips_unchanged_readings_while_another_process_writes() {
    let directory = tempfile::tempdir().unwrap();
    let path = database_in(&directory);
    let store = Store::open(&path).unwrap();
    store
        .record_plan_readings(&[plan_reading("five_hour", 10.0, 0)])
        .unwrap();
    // Another process (the service, say) is in the middle of a write transaction. Opening the
    // store and offering a reading it already has need no write lock, so neither waits the busy
    // timeout out and fails with "database is locked".
    let writer = rusqlite::Connection::open(&path).unwrap();
    writer.execute_batch("BEGIN IMMEDIATE").unwrap();
    let status_line = Store::open(&path).unwrap();
    assert_eq!(
        status_line
            .record_plan_readings(&[plan_reading("five_hour", 10.0, 60_000)])
            .unwrap(),
        0
    );
    assert_eq!(status_line.plan_readings_since(at(0)).unwrap().len(), 1);
    // A new reading does need the lock: it is stored once the writer is done.
    writer.execute_batch("COMMIT").unwrap();
    assert_eq!(
        status_line
            .record_plan_readings(&[plan_reading("five_hour", 12.0, 120_000)])
            .unwrap(),
        1
    );
}

#[test]
fn a_row_whose_json_no_longer_parses_is_skipped() {
    let directory = tempfile::tempdir().unwrap();
    let path = database_in(&directory);
    let store = Store::open(&path).unwrap();
    let change = StatusChange::MaintenanceEnded {
        id: "m".to_owned(),
        name: "Maintenance".to_owned(),
    };
    store
        .record_changes(at(0), std::slice::from_ref(&change))
        .unwrap();
    store
        .record_changes(at(1), std::slice::from_ref(&change))
        .unwrap();
    store
        .record_level_change(at(0), "operational", "outage", &[])
        .unwrap();
    store.upsert_incident(&incident("good"), at(0)).unwrap();
    store.upsert_incident(&incident("bad"), at(0)).unwrap();
    {
        // Another writer (an older or buggy build) leaves unreadable rows behind.
        let connection = rusqlite::Connection::open(&path).unwrap();
        connection
            .execute_batch(
                "UPDATE status_changes SET change = '{\"kind\":\"from_the_future\"}' WHERE at = 1780000000001;
                 UPDATE level_changes SET reasons = 'not json';
                 UPDATE incidents SET components = '{' WHERE id = 'bad';
                 UPDATE incident_updates SET affected_components = '42' WHERE incident_id = 'good';
                 INSERT INTO fetch_log (at, url, outcome, bytes, duration_ms)
                     VALUES (0, 'u', 'teleported', 0, 0);",
            )
            .unwrap();
    }
    assert_eq!(
        store.changes_between(at(0), at(10), 10).unwrap(),
        vec![(at(0), change)]
    );
    assert!(store
        .level_changes_between(at(0), at(10))
        .unwrap()
        .is_empty());
    assert!(store
        .fetches_between(at(-1_780_000_000_000), at(10))
        .unwrap()
        .is_empty());
    assert_eq!(store.incident("bad").unwrap(), None);
    let good = store.incident("good").unwrap().unwrap();
    assert!(good.incident_updates.is_empty());
    assert_eq!(store.recent_incidents(10).unwrap().len(), 1);
}

fn resilience(millis: i64, kind: ResilienceKind) -> ResilienceEvent {
    ResilienceEvent {
        at: at(millis),
        kind,
        status: 529,
        model: Some("claude-opus-4-6".to_owned()),
        to_model: (kind == ResilienceKind::Fallback).then(|| "claude-sonnet-4-5".to_owned()),
        wait_ms: (kind == ResilienceKind::Retry).then_some(750),
        request_id: Some(format!("req_{millis}")),
        provider: (kind == ResilienceKind::Provider).then(|| ProviderAttempt {
            target: "openai:gpt-4o".to_owned(),
            reason: "claude-opus-4-6 has been overloaded for 6 min".to_owned(),
            status: Some(200),
            served: true,
            latency_ms: Some(412),
            input_tokens: 1200,
            output_tokens: 80,
            cache_read_tokens: 0,
            cost_usd: Some(0.0038),
        }),
    }
}

fn gateway_events_round_trip_newest_first_and_are_pruned(store: &Store) {
    let events = vec![
        resilience(0, ResilienceKind::Retry),
        resilience(2, ResilienceKind::Fallback),
        resilience(1, ResilienceKind::Retry),
        resilience(3, ResilienceKind::Provider),
    ];
    store.record_gateway_events(&events).unwrap();
    store.record_gateway_events(&[]).unwrap();
    let read = store.gateway_events_since(at(0), 10).unwrap();
    assert_eq!(
        read,
        vec![
            events[3].clone(),
            events[1].clone(),
            events[2].clone(),
            events[0].clone()
        ]
    );
    assert_eq!(store.gateway_events_since(at(1), 10).unwrap().len(), 3);
    assert_eq!(
        store.gateway_events_since(at(0), 1).unwrap(),
        vec![events[3].clone()]
    );
    store
        .prune(at(1) + Duration::days(1), Duration::days(1))
        .unwrap();
    assert_eq!(store.gateway_events_since(at(-10), 10).unwrap().len(), 3);
    // The provider's part goes with its event.
    store
        .prune(at(4) + Duration::days(1), Duration::days(1))
        .unwrap();
    assert!(store.gateway_events_since(at(-10), 10).unwrap().is_empty());
}

#[test]
fn an_unreadable_gateway_event_is_skipped() {
    let directory = tempfile::tempdir().unwrap();
    let path = database_in(&directory);
    let store = Store::open(&path).unwrap();
    store
        .record_gateway_events(&[resilience(0, ResilienceKind::Retry)])
        .unwrap();
    let connection = rusqlite::Connection::open(&path).unwrap();
    connection
        .execute_batch(
            "INSERT INTO gateway_events (at, kind, status) VALUES (1780000000001, 'teleport', 529);
             INSERT INTO gateway_events (at, kind, status) VALUES (1780000000002, 'retry', 70000);",
        )
        .unwrap();
    let read = store.gateway_events_since(at(-10), 10).unwrap();
    assert_eq!(read, vec![resilience(0, ResilienceKind::Retry)]);
}

#[test]
fn the_store_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<Store>();
    assert_send_sync::<Arc<Store>>();
}

/// Several processes (here threads, each with its own connection) opening one new database at
/// the same moment all get a working WAL store: the switch to WAL that they race for is retried
/// instead of failing one of them with "database is locked" (seen with two `check`s at once).
#[test]
fn a_new_database_opened_by_many_at_once_opens_for_all() {
    for round in 0..40 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("claude-status.sqlite3");
        let start = Arc::new(std::sync::Barrier::new(8));
        let opened: Vec<_> = (0..8)
            .map(|_| {
                let (path, start) = (path.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    Store::open(&path).and_then(|store| store.journal_mode())
                })
            })
            .collect();
        for handle in opened {
            let mode = handle.join().unwrap();
            assert_eq!(mode.as_deref().ok(), Some("wal"), "round {round}: {mode:?}");
        }
    }
}

fn plan_reading(window: &str, percent: f64, millis: i64) -> claude_status_core::plan::PlanReading {
    claude_status_core::plan::PlanReading {
        window: window.to_owned(),
        used_percent: percent,
        resets_at: Some(at(3_600_000)),
        seen_at: at(millis),
        source: claude_status_core::plan::PlanSource::StatusLine,
        client_version: Some("2.1.328".to_owned()),
    }
}

/// A week of a busy subscriber's readings (one every 4 minutes, each a change, in both windows):
/// the report the status line makes from the few rows `plan_readings_for_report` reads is the
/// report made from the whole week.
#[test]
fn the_windows_report_reads_a_day_at_most_and_says_the_same() {
    use claude_status_core::plan::{PlanReading, PlanSource, PlanWindows};
    let store = Store::open_in_memory().unwrap();
    let step = 4 * 60_000;
    let week = 7 * 24 * 3_600_000;
    let five_hours = 5 * 3_600_000;
    let mut readings = Vec::new();
    for n in 0..(week / step) {
        let millis = n * step;
        let window_start = millis - millis % five_hours;
        let reading = |window: &str, percent: f64, reset: i64| PlanReading {
            window: window.to_owned(),
            used_percent: (percent * 10.0).round() / 10.0,
            resets_at: Some(at(reset)),
            seen_at: at(millis),
            source: PlanSource::StatusLine,
            client_version: Some("2.1.328".to_owned()),
        };
        let session = 100.0 * (millis - window_start) as f64 / five_hours as f64;
        readings.push(reading("five_hour", session, window_start + five_hours));
        readings.push(reading(
            "seven_day",
            90.0 * millis as f64 / week as f64,
            week + 60_000,
        ));
    }
    // The week's slowly rising percentage repeats itself at times, and those copies are skipped.
    let kept = store.record_plan_readings(&readings).unwrap();
    assert!(kept > readings.len() * 3 / 4, "{kept}");
    let now = at(week);
    let since = now - Duration::days(8);
    let report = |readings: Vec<PlanReading>| {
        let mut windows = PlanWindows::default();
        for reading in readings {
            windows.observe(reading);
        }
        windows.report(now)
    };
    let all = store.plan_readings_since(since).unwrap();
    let few = store.plan_readings_for_report(since).unwrap();
    assert_eq!(all.len(), kept);
    // An hour of the session window and a day of the week, each with its latest reading.
    assert!(few.len() <= 15 + 361 + 2, "{} readings", few.len());
    let full = report(all);
    assert!(full.iter().all(|w| w.pace.is_some()), "{full:#?}");
    assert_eq!(report(few), full);
}

fn plan_readings_round_trip_keep_changes_and_skip_copies(store: &Store) {
    let minute = 60_000;
    // A copy a minute later is skipped; a change, a copy five minutes later and another window
    // are kept.
    let kept = store
        .record_plan_readings(&[
            plan_reading("five_hour", 10.0, 0),
            plan_reading("five_hour", 10.0, minute),
            plan_reading("five_hour", 11.0, 2 * minute),
            plan_reading("five_hour", 11.0, 8 * minute),
            plan_reading("seven_day", 40.0, 2 * minute),
        ])
        .unwrap();
    assert_eq!(kept, 4);
    // The same copy in a later call is skipped too (the status line runs once per call).
    assert_eq!(
        store
            .record_plan_readings(&[plan_reading("five_hour", 11.0, 9 * minute)])
            .unwrap(),
        0
    );
    let read = store.plan_readings_since(at(minute)).unwrap();
    let seen: Vec<(&str, f64, i64)> = read
        .iter()
        .map(|r| {
            (
                r.window.as_str(),
                r.used_percent,
                r.seen_at.timestamp_millis() - at(0).timestamp_millis(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("five_hour", 11.0, 2 * minute),
            ("seven_day", 40.0, 2 * minute),
            ("five_hour", 11.0, 8 * minute),
        ]
    );
    assert_eq!(read[0], plan_reading("five_hour", 11.0, 2 * minute));
    // Pruned by their own time like the other logs.
    store
        .prune(at(5 * minute), Duration::milliseconds(0))
        .unwrap();
    assert_eq!(store.plan_readings_since(at(0)).unwrap().len(), 1);
}

// Issue 16: a database file SQLite cannot read is moved aside, never deleted, and a new one is
// started, so one bad file does not stop every command (the gateway included).

/// Bytes that are no SQLite file, the same on every run (a small xorshift, no dependency).
fn random_bytes(length: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..length)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

/// The files in `directory` whose name starts with `prefix`, sorted.
fn files_starting_with(directory: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(directory)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .collect();
    files.sort();
    files
}

/// A crash image: the database with rows still in its WAL (not yet checkpointed into the main
/// file), copied while the writer is open, as a power cut would leave it.
fn crash_image_with_rows_in_the_wal(directory: &tempfile::TempDir) -> PathBuf {
    let source = tempfile::tempdir().unwrap();
    let path = database_in(&source);
    {
        let store = Store::open(&path).unwrap();
        store
            .upsert_incident(&incident("checkpointed"), at(0))
            .unwrap();
    }
    let writer = rusqlite::Connection::open(&path).unwrap();
    writer.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
    let store = Store::open(&path).unwrap();
    store
        .upsert_incident(&incident("in-the-wal"), at(1))
        .unwrap();
    let image = database_in(directory);
    std::fs::copy(&path, &image).unwrap();
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    assert!(std::fs::metadata(&wal).unwrap().len() > 0);
    std::fs::copy(&wal, format!("{}-wal", image.display())).unwrap();
    drop(store);
    drop(writer);
    image
}

#[test]
fn issue_16_a_file_of_random_bytes_is_moved_aside_and_a_new_database_started() {
    let directory = tempfile::tempdir().unwrap();
    let path = database_in(&directory);
    let garbage = random_bytes(64 * 1024);
    std::fs::write(&path, &garbage).unwrap();
    std::fs::write(format!("{}-wal", path.display()), b"not a wal either").unwrap();
    std::fs::write(format!("{}-shm", path.display()), random_bytes(32 * 1024)).unwrap();

    let store = Store::open(&path).unwrap();
    let recovered = store
        .recovered()
        .expect("the open says it recovered")
        .clone();
    assert_eq!(recovered.reason, "file is not a database");
    let name = recovered.moved_to.file_name().unwrap().to_string_lossy();
    let stamp = name
        .strip_prefix("claude-status.sqlite3.corrupt-")
        .expect("named after the database");
    assert_eq!(stamp.len(), "20261204T215000Z".len(), "{stamp}");
    assert!(chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ").is_ok());
    // Nothing is deleted: the old bytes and both companions are beside it, under its name.
    assert_eq!(std::fs::read(&recovered.moved_to).unwrap(), garbage);
    assert_eq!(
        std::fs::read(format!("{}-wal", recovered.moved_to.display())).unwrap(),
        b"not a wal either"
    );
    assert!(PathBuf::from(format!("{}-shm", recovered.moved_to.display())).is_file());
    let message = recovered.to_string();
    assert!(message.contains("file is not a database"), "{message}");
    assert!(message.contains(&name.to_string()), "{message}");
    // The new database works.
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    store.upsert_incident(&incident("after"), at(0)).unwrap();
    drop(store);

    // No crash loop: the fresh file opens cleanly, twice, and keeps its rows.
    for _ in 0..2 {
        let store = Store::open(&path).unwrap();
        assert_eq!(store.recovered(), None);
        assert!(store.incident("after").unwrap().is_some());
    }
    assert_eq!(
        files_starting_with(directory.path(), "claude-status.sqlite3.corrupt-").len(),
        3,
        "one database and its two companions moved aside, once"
    );
}

#[test]
fn issue_16_a_damaged_schema_is_moved_aside_too() {
    let directory = tempfile::tempdir().unwrap();
    let path = database_in(&directory);
    drop(Store::open(&path).unwrap());
    // A valid header, then garbage over page 2 onwards (the schema's tables and their roots).
    let mut bytes = std::fs::read(&path).unwrap();
    let page_size = usize::from(u16::from_be_bytes([bytes[16], bytes[17]]));
    let tail = bytes.len() - page_size;
    bytes[page_size..].copy_from_slice(&random_bytes(tail));
    // And garbage over page 1's schema b-tree, past the 100-byte header.
    bytes[100..page_size].copy_from_slice(&random_bytes(page_size - 100));
    std::fs::write(&path, &bytes).unwrap();

    let store = Store::open(&path).unwrap();
    let recovered = store.recovered().expect("a damaged schema is unreadable");
    assert_eq!(std::fs::read(&recovered.moved_to).unwrap(), bytes);
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
}

#[test]
fn issue_16_a_wal_of_garbage_is_ignored_and_the_checkpointed_history_kept() {
    let directory = tempfile::tempdir().unwrap();
    let path = crash_image_with_rows_in_the_wal(&directory);
    let wal = format!("{}-wal", path.display());
    let length = usize::try_from(std::fs::metadata(&wal).unwrap().len()).unwrap();
    std::fs::write(&wal, random_bytes(length)).unwrap();

    // SQLite checks every WAL frame against the header's salt and checksum, so a WAL of garbage
    // holds no frame to replay: the main file is whole and is kept, not moved aside.
    let store = Store::open(&path).unwrap();
    assert_eq!(store.recovered(), None);
    assert!(store.incident("checkpointed").unwrap().is_some());
    assert!(store.incident("in-the-wal").unwrap().is_none());
    store.upsert_incident(&incident("after"), at(2)).unwrap();
    drop(store);
    let store = Store::open(&path).unwrap();
    assert_eq!(store.recovered(), None);
    assert!(store.incident("after").unwrap().is_some());
    assert!(files_starting_with(directory.path(), "claude-status.sqlite3.corrupt-").is_empty());
}

#[test]
fn issue_16_a_truncated_wal_loses_only_its_unfinished_transaction() {
    let directory = tempfile::tempdir().unwrap();
    let path = crash_image_with_rows_in_the_wal(&directory);
    let wal = format!("{}-wal", path.display());
    let length = std::fs::metadata(&wal).unwrap().len();
    // Cut the WAL in the middle of its last frame, as a crash during the write would.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&wal)
        .unwrap()
        .set_len(length - 100)
        .unwrap();

    let store = Store::open(&path).unwrap();
    assert_eq!(store.recovered(), None);
    assert!(store.incident("checkpointed").unwrap().is_some());
    // The last transaction's commit frame was cut, so SQLite rolls it back: gone, not garbled.
    assert!(store.incident("in-the-wal").unwrap().is_none());
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    drop(store);
    assert_eq!(Store::open(&path).unwrap().recovered(), None);
    assert!(files_starting_with(directory.path(), "claude-status.sqlite3.corrupt-").is_empty());
}

#[test]
fn issue_16_a_database_from_a_newer_build_is_still_refused_not_moved_aside() {
    let directory = tempfile::tempdir().unwrap();
    let path = database_in(&directory);
    drop(Store::open(&path).unwrap());
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    for _ in 0..2 {
        assert!(matches!(
            Store::open(&path).unwrap_err(),
            Error::SchemaTooNew { .. }
        ));
    }
    assert!(files_starting_with(directory.path(), "claude-status.sqlite3.corrupt-").is_empty());
}
