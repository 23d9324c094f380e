//! Every shipped schema version migrates to the current one with its rows intact (issue 16, item
//! 3): for each version `k`, a database is built exactly as a build of that version left it (the
//! shipped migrations 1..=k, `user_version` k), given rows in every table that version had, with
//! only the columns it had, and then opened by today's `Store`.
//!
//! The rows are made from each table's own column list (`PRAGMA table_info` at version `k`), so a
//! table or column a later migration adds is covered without editing this test, and a migration
//! that rewrote, dropped or reordered an old column would fail it. Values that the store's readers
//! parse (levels, sources, outcomes, JSON) are given in the spelling those readers accept, so the
//! rows are also read back through the `Store`'s own API, not only by SQL.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use chrono::{DateTime, Utc};
use claude_status_engine::store::{shipped_migrations, Store, SCHEMA_VERSION};
use rusqlite::types::Value;
use rusqlite::Connection;
use std::collections::BTreeMap;
use std::path::Path;

/// Rows written into each table.
const ROWS: i64 = 3;

/// The first row's time, unix ms; row `i` is `i` seconds later.
const BASE_MILLIS: i64 = 1_780_000_000_000;

/// A table's rows as (column name, value) lists, in rowid order.
type Rows = Vec<Vec<(String, Value)>>;

/// The value row `i` gets in `table.column`: realistic where a reader parses it, distinct per row
/// where an index wants it unique.
fn value_for(table: &str, column: &str, declared: &str, i: i64) -> Value {
    let text = |s: &str| Value::Text(s.to_owned());
    match (table, column) {
        ("fetch_log", "outcome") => return text("ok"),
        ("fetch_log", "url") => return text("https://status.claude.com/api/v2/summary.json"),
        ("status_changes", "change") => return text("{}"),
        ("level_changes", "from_level") => return text("operational"),
        ("level_changes", "to_level") => return text("degraded"),
        ("level_changes", "reasons") => return text(r#"["3 of the last 5 probes failed"]"#),
        ("incidents", "status") => return text("resolved"),
        ("incidents", "impact") => return text("minor"),
        ("incidents", "components") | ("incident_updates", "affected_components") => {
            return text("[]")
        }
        ("incident_updates", "incident_id") => return Value::Text(format!("incident-{i}")),
        ("incident_updates", "status") => return text("resolved"),
        ("probe_results", "kind") => return text("reachability"),
        ("probe_results", "outcome") => return text("ok"),
        ("probe_results", "classification") => return text("{}"),
        ("probe_results", "ratelimit") | ("probe_results", "usage") => return Value::Null,
        ("usage_ledger", "source") => return text("claude_code"),
        ("usage_ledger", "model") | ("probe_results", "model") => return text("claude-haiku-4-5"),
        ("usage_ledger", "is_sidechain") | ("probe_results", "confirmation") => {
            return Value::Integer(0)
        }
        ("usage_ledger", "reported_cost_usd") => return Value::Real(0.25 * (i + 1) as f64),
        ("ratelimit_readings", "snapshot") => return text("{}"),
        ("ratelimit_readings", "source") => return text("probe"),
        ("gateway_events", "kind") => return text("retry"),
        ("gateway_events", "status") => return Value::Integer(529),
        ("plan_readings", "window") => return text("five_hour"),
        ("plan_readings", "source") => return text("statusline"),
        ("plan_readings", "used_percent") => return Value::Real(10.0 * (i + 1) as f64),
        ("alert_episodes", "level") => return text("degraded"),
        // A provider's part as the store writes it, so the event reads back whole.
        ("gateway_event_providers", "attempt") => {
            return text(
                r#"{"target":"openai:gpt-4o","reason":"overloaded","status":200,"served":true,
                    "latency_ms":120,"input_tokens":10,"output_tokens":5,"cache_read_tokens":0,
                    "cost_usd":0.001}"#,
            )
        }
        _ => {}
    }
    let declared = declared.to_ascii_uppercase();
    if column == "id" && table == "incidents" {
        return Value::Text(format!("incident-{i}"));
    }
    if declared.contains("INT") {
        // Times are unix ms; counts and sizes small numbers; `id` keys stay distinct.
        if column == "at" || column.ends_with("_at") || column == "mtime" {
            return Value::Integer(BASE_MILLIS + i * 1000);
        }
        return Value::Integer(100 + i);
    }
    if declared.contains("REAL") {
        return Value::Real(1.5 + i as f64);
    }
    if declared.contains("BLOB") {
        return Value::Blob(format!("body {i}").into_bytes());
    }
    Value::Text(format!("{table}.{column}.{i}"))
}

/// The user tables of the database, each with its columns (name, declared type).
fn tables(connection: &Connection) -> BTreeMap<String, Vec<(String, String)>> {
    let mut statement = connection
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap();
    let names: Vec<String> = statement
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    names
        .into_iter()
        .map(|name| {
            let mut info = connection
                .prepare(&format!("PRAGMA table_info({name})"))
                .unwrap();
            let columns = info
                .query_map([], |row| {
                    Ok((row.get::<_, String>(1)?, row.get::<_, String>(2)?))
                })
                .unwrap()
                .map(Result::unwrap)
                .collect();
            (name, columns)
        })
        .collect()
}

/// Every row of `table`, only `columns`, in a stable order.
fn read_rows(connection: &Connection, table: &str, columns: &[(String, String)]) -> Rows {
    let list: Vec<&str> = columns.iter().map(|(name, _)| name.as_str()).collect();
    let order = list.join(", ");
    let mut statement = connection
        .prepare(&format!("SELECT {order} FROM {table} ORDER BY {order}"))
        .unwrap();
    statement
        .query_map([], |row| {
            (0..list.len())
                .map(|index| Ok((list[index].to_owned(), row.get::<_, Value>(index)?)))
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Builds `path` as a build of schema version `version` left it, with [`ROWS`] rows in each of
/// its tables; returns what it wrote, table by table, and the tables' columns at that version.
fn old_database(path: &Path, version: usize) -> BTreeMap<String, (Vec<(String, String)>, Rows)> {
    let connection = Connection::open(path).unwrap();
    connection
        .pragma_update(None, "journal_mode", "WAL")
        .unwrap();
    // The tables are filled in name order, an update before its incident; every update's
    // incident is there by the end.
    connection
        .pragma_update(None, "foreign_keys", "OFF")
        .unwrap();
    for sql in &shipped_migrations()[..version] {
        connection.execute_batch(sql).unwrap();
    }
    connection
        .pragma_update(None, "user_version", version as i64)
        .unwrap();
    let mut written = BTreeMap::new();
    for (table, columns) in tables(&connection) {
        for i in 0..ROWS {
            let names: Vec<&str> = columns.iter().map(|(name, _)| name.as_str()).collect();
            let marks = vec!["?"; names.len()].join(", ");
            let values: Vec<Value> = columns
                .iter()
                .map(|(name, declared)| value_for(&table, name, declared, i))
                .collect();
            connection
                .execute(
                    &format!(
                        "INSERT INTO {table} ({}) VALUES ({marks})",
                        names.join(", ")
                    ),
                    rusqlite::params_from_iter(values),
                )
                .unwrap_or_else(|e| panic!("version {version}: inserting into {table}: {e}"));
        }
        let rows = read_rows(&connection, &table, &columns);
        written.insert(table, (columns, rows));
    }
    written
}

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(BASE_MILLIS + seconds * 1000).unwrap()
}

#[test]
fn issue_16_a_database_from_every_shipped_schema_version_migrates_with_its_rows_intact() {
    let current = usize::try_from(SCHEMA_VERSION).unwrap();
    assert_eq!(shipped_migrations().len(), current);
    let mut rows_checked = 0usize;
    for version in 1..current {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("claude-status.sqlite3");
        let written = old_database(&path, version);
        assert!(!written.is_empty(), "version {version} made no table");

        let store =
            Store::open(&path).unwrap_or_else(|e| panic!("version {version} did not migrate: {e}"));
        assert_eq!(
            store.schema_version().unwrap(),
            SCHEMA_VERSION,
            "version {version}"
        );
        assert!(
            store.recovered().is_none(),
            "version {version} was taken for damage"
        );

        // Through the store's own readers: what that version had is still there and parses.
        let (from, to) = (at(-1), at(ROWS + 1));
        let has = |table: &str| written.contains_key(table);
        let expect = |table: &str, found: usize| {
            let wanted = if has(table) { ROWS as usize } else { 0 };
            assert_eq!(
                found, wanted,
                "version {version}: {table} through the store"
            );
        };
        expect("fetch_log", store.fetches_between(from, to).unwrap().len());
        expect(
            "level_changes",
            store.level_changes_between(from, to).unwrap().len(),
        );
        expect("usage_ledger", store.usage_between(from, to).unwrap().len());
        expect("usage_files", store.usage_file_offsets().unwrap().len());
        expect(
            "gateway_events",
            store.gateway_events_since(from, 100).unwrap().len(),
        );
        expect(
            "plan_readings",
            store.plan_readings_since(from).unwrap().len(),
        );
        expect(
            "detection_leads",
            store.lead_times_between(from, to).unwrap().len(),
        );
        expect("alert_episodes", store.alert_episodes().unwrap().len());
        if has("incidents") {
            let incident = store.incident("incident-1").unwrap();
            let incident = incident.unwrap_or_else(|| panic!("version {version}: incident lost"));
            assert_eq!(
                incident.incident_updates.len(),
                1,
                "version {version}: its update"
            );
        }
        drop(store);

        // By SQL: every old column of every old row is exactly as it was.
        let connection = Connection::open(&path).unwrap();
        let now_tables = tables(&connection);
        for (table, (columns, rows)) in &written {
            assert!(
                now_tables.contains_key(table),
                "version {version}: {table} was dropped"
            );
            let after = read_rows(&connection, table, columns);
            assert_eq!(&after, rows, "version {version}: {table}'s rows changed");
            rows_checked += rows.len();
        }
        let fresh = tempfile::tempdir().unwrap();
        let reference = Store::open(&fresh.path().join("fresh.sqlite3")).unwrap();
        drop(reference);
        let reference_tables =
            tables(&Connection::open(fresh.path().join("fresh.sqlite3")).unwrap());
        assert_eq!(
            now_tables.keys().collect::<Vec<_>>(),
            reference_tables.keys().collect::<Vec<_>>(),
            "version {version}: the migrated tables differ from a fresh install's"
        );
        for (table, columns) in &reference_tables {
            let mut migrated: Vec<&String> = now_tables[table].iter().map(|(n, _)| n).collect();
            let mut fresh: Vec<&String> = columns.iter().map(|(n, _)| n).collect();
            migrated.sort();
            fresh.sort();
            assert_eq!(migrated, fresh, "version {version}: {table}'s columns");
        }
    }
    println!(
        "FAULT-FIGURES {{\"schema_versions\": {}, \"rows_checked\": {rows_checked}}}",
        current - 1
    );
}
