//! The store's schema as an ordered list of migrations, tracked by `PRAGMA user_version`.
//!
//! The rule: **never edit a migration that has shipped**; add a new one at the end. A user's
//! database has already run the old text, so editing it would make their schema differ from a
//! fresh install's without anything noticing. Migration `n` (counting from 1) moves the schema
//! from version `n - 1` to `n`; `user_version` records the last one applied.

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{Error, Result};

/// Every migration, oldest first. Append only; see the module documentation.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: status-page history, incidents and the HTTP cache.
    r#"
    -- One row per status-page fetch attempt, kept so "how often did the page fail?" has an answer.
    CREATE TABLE fetch_log (
        id           INTEGER PRIMARY KEY,
        at           INTEGER NOT NULL,  -- unix ms UTC, when the fetch started
        url          TEXT    NOT NULL,
        outcome      TEXT    NOT NULL,  -- 'ok' | 'not_modified' | 'error'
        http_status  INTEGER,
        bytes        INTEGER NOT NULL,  -- body bytes read
        duration_ms  INTEGER NOT NULL,
        error        TEXT
    );
    CREATE INDEX fetch_log_at ON fetch_log (at);

    -- One row per core::changes::StatusChange, the change itself as JSON.
    CREATE TABLE status_changes (
        id          INTEGER PRIMARY KEY,
        at          INTEGER NOT NULL,
        kind        TEXT    NOT NULL,  -- StatusChange::kind()
        subject_id  TEXT,              -- StatusChange::subject_id()
        change      TEXT    NOT NULL   -- JSON
    );
    CREATE INDEX status_changes_at ON status_changes (at);
    CREATE INDEX status_changes_subject ON status_changes (subject_id, at);

    -- The app's own verdict history.
    CREATE TABLE level_changes (
        id          INTEGER PRIMARY KEY,
        at          INTEGER NOT NULL,
        from_level  TEXT    NOT NULL,
        to_level    TEXT    NOT NULL,
        reasons     TEXT    NOT NULL   -- JSON array of strings
    );
    CREATE INDEX level_changes_at ON level_changes (at);

    -- Every incident we have seen, merged across fetches.
    CREATE TABLE incidents (
        id             TEXT    PRIMARY KEY,  -- Incident::key()
        source_id      TEXT    NOT NULL,     -- the payload's own id, '' when it had none
        name           TEXT    NOT NULL,
        status         TEXT    NOT NULL,
        impact         TEXT    NOT NULL,
        shortlink      TEXT,
        created_at     INTEGER,
        updated_at     INTEGER,
        started_at     INTEGER,
        monitoring_at  INTEGER,
        resolved_at    INTEGER,
        components     TEXT    NOT NULL,     -- JSON array of IncidentComponent
        first_seen_at  INTEGER NOT NULL,     -- when we first saw it; never overwritten
        last_seen_at   INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX incidents_recent ON incidents (coalesce(created_at, first_seen_at));

    -- Every update of every incident; an update never leaves this table while its incident stays.
    CREATE TABLE incident_updates (
        id                   INTEGER PRIMARY KEY,  -- insertion order breaks ties in time
        incident_id          TEXT    NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
        key                  TEXT    NOT NULL,     -- IncidentUpdate::key()
        source_id            TEXT    NOT NULL,     -- the payload's own id, '' when it had none
        status               TEXT    NOT NULL,
        body                 TEXT    NOT NULL,
        created_at           INTEGER,
        display_at           INTEGER,
        updated_at           INTEGER,
        affected_components  TEXT    NOT NULL,     -- JSON array of AffectedComponent
        first_seen_at        INTEGER NOT NULL,
        UNIQUE (incident_id, key)
    );

    -- The last response per URL, so a one-shot `claude-status check` can revalidate with ETags.
    CREATE TABLE http_cache (
        url            TEXT    PRIMARY KEY,
        etag           TEXT,
        last_modified  TEXT,
        content_type   TEXT,
        body           BLOB    NOT NULL,
        fetched_at     INTEGER NOT NULL
    );
    "#,
    // 2: our own probe results and the detection lead times measured against the status page.
    r#"
    -- One row per probe (reachability or streaming, confirmations included). The whole
    -- Classification is kept as JSON so fields without a column (error_message, retry_after_ms,
    -- retry_not_before) survive; outcome, http_status, error_type and request_id are copied out
    -- of it so they can be queried and counted in SQL.
    CREATE TABLE probe_results (
        id                INTEGER PRIMARY KEY,
        at                INTEGER NOT NULL,  -- unix ms UTC, when the probe started
        kind              TEXT    NOT NULL,  -- ProbeKind::as_str()
        outcome           TEXT    NOT NULL,  -- ProbeOutcome::as_str()
        http_status       INTEGER,
        error_type        TEXT,
        request_id        TEXT,
        latency_ms        INTEGER,
        message_start_ms  INTEGER,
        ttft_ms           INTEGER,
        confirmation      INTEGER NOT NULL,  -- 0 | 1
        detail            TEXT    NOT NULL,
        classification    TEXT    NOT NULL,  -- JSON Classification
        ratelimit         TEXT,              -- JSON RateLimitSnapshot, NULL when empty
        usage             TEXT               -- JSON Usage, NULL when absent
    );
    CREATE INDEX probe_results_at ON probe_results (at);

    -- How long before the status page we noticed each incident; the first measurement wins.
    CREATE TABLE detection_leads (
        incident_id    TEXT    PRIMARY KEY,  -- Incident::key()
        incident_name  TEXT    NOT NULL,
        detected_at    INTEGER NOT NULL,     -- start of the trouble our probes saw
        reported_at    INTEGER NOT NULL,     -- when the status page reported the incident
        lead_seconds   INTEGER NOT NULL,     -- reported_at - detected_at; negative when the page was first
        recorded_at    INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX detection_leads_reported ON detection_leads (reported_at);
    "#,
    // 3: the usage ledger, the read position of every Claude Code transcript, and rate-limit
    // readings. `IF NOT EXISTS` because the store tests rewind a database to an older version by
    // dropping only that version's tables, then migrate it forward again.
    r#"
    -- One row per API request, whatever source saw it (core::usage::UsageRecord). The same
    -- request seen twice (Claude Code writes several lines per response with growing usage) is
    -- one row: the unique indexes below, and an upsert that keeps the largest token total.
    CREATE TABLE IF NOT EXISTS usage_ledger (
        id                 INTEGER PRIMARY KEY,
        at                 INTEGER NOT NULL,  -- unix ms UTC
        source             TEXT    NOT NULL,  -- UsageSource::as_str()
        model              TEXT    NOT NULL,
        input              INTEGER NOT NULL,
        output             INTEGER NOT NULL,
        cache_write_5m     INTEGER NOT NULL,
        cache_write_1h     INTEGER NOT NULL,
        cache_read         INTEGER NOT NULL,
        status             INTEGER,           -- HTTP status when known; an error row has no tokens
        latency_ms         INTEGER,
        ttft_ms            INTEGER,
        service_tier       TEXT,
        message_id         TEXT,
        request_id         TEXT,
        session_id         TEXT,
        project            TEXT,
        reported_cost_usd  REAL,
        is_sidechain       INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX IF NOT EXISTS usage_ledger_at ON usage_ledger (at);
    CREATE UNIQUE INDEX IF NOT EXISTS usage_ledger_request ON usage_ledger (source, message_id, request_id)
        WHERE message_id IS NOT NULL AND request_id IS NOT NULL;
    -- A message without a request id (Claude Code's synthetic error lines) is still one row when
    -- its file is read again after a truncation.
    CREATE UNIQUE INDEX IF NOT EXISTS usage_ledger_message ON usage_ledger (source, message_id)
        WHERE message_id IS NOT NULL AND request_id IS NULL;

    -- How far each transcript has been read, committed with the rows read from it.
    CREATE TABLE IF NOT EXISTS usage_files (
        path    TEXT    PRIMARY KEY,
        size    INTEGER NOT NULL,  -- bytes, when last read
        mtime   INTEGER,           -- unix ms, when last read
        offset  INTEGER NOT NULL,  -- just past the last complete line read
        inode   INTEGER            -- NULL where the platform has none
    ) WITHOUT ROWID;

    -- Rate-limit headers seen on replies (core::ratelimit::RateLimitSnapshot as JSON).
    CREATE TABLE IF NOT EXISTS ratelimit_readings (
        id        INTEGER PRIMARY KEY,
        at        INTEGER NOT NULL,
        source    TEXT    NOT NULL,
        model     TEXT,
        snapshot  TEXT    NOT NULL
    );
    CREATE INDEX IF NOT EXISTS ratelimit_readings_source_at ON ratelimit_readings (source, at);
    CREATE INDEX IF NOT EXISTS ratelimit_readings_at ON ratelimit_readings (at);
    "#,
    // 4: the gateway's retries and fallbacks (core::gateway::ResilienceEvent).
    r#"
    CREATE TABLE IF NOT EXISTS gateway_events (
        id          INTEGER PRIMARY KEY,
        at          INTEGER NOT NULL,  -- unix ms UTC, when the failed attempt's answer arrived
        kind        TEXT    NOT NULL,  -- 'retry' | 'fallback'
        status      INTEGER NOT NULL,  -- the failed attempt's status
        model       TEXT,
        to_model    TEXT,              -- a fallback's next model
        wait_ms     INTEGER,           -- a retry's wait
        request_id  TEXT
    );
    CREATE INDEX IF NOT EXISTS gateway_events_at ON gateway_events (at);
    "#,
    // 5: per-model health (issue 11): the model a streaming probe asked, and the model whose
    // trouble explains a detection lead time. NULL for reachability probes and API-wide leads.
    r#"
    ALTER TABLE probe_results ADD COLUMN model TEXT;
    CREATE INDEX probe_results_model_at ON probe_results (model, at);
    ALTER TABLE detection_leads ADD COLUMN model TEXT;
    "#,
    // 6: a subscriber's plan windows (issue 13): each status-line or gateway-header reading
    // (core::plan::PlanReading). Unchanged readings are stored at most every 5 minutes.
    r#"
    CREATE TABLE IF NOT EXISTS plan_readings (
        id              INTEGER PRIMARY KEY,
        at              INTEGER NOT NULL,  -- unix ms UTC, when the reading was taken
        window          TEXT    NOT NULL,  -- five_hour | seven_day | another window's name
        used_percent    REAL    NOT NULL,  -- 0-100
        resets_at       INTEGER,           -- unix ms UTC, when the source said
        source          TEXT    NOT NULL,  -- PlanSource::as_str()
        client_version  TEXT               -- Claude Code's version, for status-line readings
    );
    CREATE INDEX IF NOT EXISTS plan_readings_window_at ON plan_readings (window, at);
    CREATE INDEX IF NOT EXISTS plan_readings_at ON plan_readings (at);
    "#,
    // 7: direct alert routing (issue 14): what each channel was sent, so a restart does not send
    // it again, and each channel's open episode, so a recovery after a restart resolves the same
    // PagerDuty incident.
    // Written with IF NOT EXISTS like the other additive migrations, so a file whose
    // user_version was set back (a downgrade, then an upgrade) migrates again cleanly.
    r#"
    CREATE TABLE IF NOT EXISTS alert_deliveries (
        channel_id  TEXT    NOT NULL,
        key         TEXT    NOT NULL,  -- the notification's key (core::alerts::Notification::key)
        at          INTEGER NOT NULL,  -- unix ms UTC, when the receiver accepted it
        PRIMARY KEY (channel_id, key)
    );
    CREATE INDEX IF NOT EXISTS alert_deliveries_at ON alert_deliveries (at);

    CREATE TABLE IF NOT EXISTS alert_episodes (
        channel_id  TEXT    PRIMARY KEY,
        key         TEXT    NOT NULL,  -- the receiver's dedup key for the whole episode
        level       TEXT    NOT NULL,  -- the worst level the channel was told of
        opened_at   INTEGER NOT NULL
    );
    "#,
    // 8: the gateway's fallbacks to other providers (issue 15): what happened at the provider
    // (core::gateway::ProviderAttempt as JSON), beside its row in gateway_events. A table of its
    // own rather than an added column keeps the migration additive and safe to run again.
    r#"
    CREATE TABLE IF NOT EXISTS gateway_event_providers (
        event_id  INTEGER PRIMARY KEY,  -- gateway_events.id
        target    TEXT    NOT NULL,     -- the chain entry, e.g. 'openai:gpt-4o'
        attempt   TEXT    NOT NULL      -- JSON of core::gateway::ProviderAttempt
    );
    "#,
    // 9: the prompt-cache advisor (issue 17): the shape of each request the gateway forwarded,
    // beside its row in the ledger (joined by request id): whether it streamed, a keyed hash of
    // its prefix (tools and system prompt) and that prefix's length, and whether it asked for
    // caching. Never any text. The index finds a gateway row's tokens by its request id.
    r#"
    CREATE TABLE IF NOT EXISTS gateway_shapes (
        id            INTEGER PRIMARY KEY,
        at            INTEGER NOT NULL,  -- unix ms UTC, as the ledger row's
        model         TEXT    NOT NULL,
        request_id    TEXT,
        status        INTEGER,
        streamed      INTEGER NOT NULL,
        prefix_key    TEXT,              -- HMAC-SHA256 (hex, 16 bytes) under <data_dir>/advisor-key
        prefix_chars  INTEGER,
        prefix_parts  TEXT,              -- core::advice::PrefixParts::as_str()
        cache_use     TEXT    NOT NULL   -- core::advice::CacheUse::as_str()
    );
    CREATE INDEX IF NOT EXISTS gateway_shapes_at ON gateway_shapes (at);
    CREATE INDEX IF NOT EXISTS usage_ledger_gateway_request ON usage_ledger (request_id)
        WHERE source = 'gateway' AND request_id IS NOT NULL;
    -- Prefix sizes as count_tokens counted them, once per distinct prefix and model.
    CREATE TABLE IF NOT EXISTS prefix_sizes (
        model       TEXT    NOT NULL,
        prefix_key  TEXT    NOT NULL,
        tokens      INTEGER NOT NULL,
        counted_at  INTEGER NOT NULL,
        PRIMARY KEY (model, prefix_key)
    ) WITHOUT ROWID;
    "#,
];

/// The schema version this build creates and understands.
// The list is a handful of entries, so the conversion cannot truncate.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database up to [`SCHEMA_VERSION`], or refuses a database from a newer build.
///
/// A database already at [`SCHEMA_VERSION`] is recognised by one plain read, without taking the
/// write lock: every command, the status line included, opens the store, and a write lock per open
/// made each of them wait behind the service's writes and cost a transaction for nothing.
/// Otherwise all pending migrations run in one IMMEDIATE transaction, and `user_version` is read
/// again inside it: when the tray app and the CLI open an old file at the same moment, one
/// migrates and the other waits, then finds nothing left to do. A failed migration leaves the
/// file as it was.
pub(super) fn migrate(connection: &mut Connection, location: &str) -> Result<()> {
    let failed = |action: &str, e: rusqlite::Error| {
        super::store_error(
            location,
            format_args!("{action} of the database {location}"),
            e,
        )
    };
    let current: i64 = connection
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(|e| failed("reading the schema version", e))?;
    if current == SCHEMA_VERSION {
        return Ok(());
    }
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| failed("starting the migration", e))?;
    let found: i64 = transaction
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(|e| failed("reading the schema version", e))?;
    if found > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            path: location.to_owned(),
            found,
            known: SCHEMA_VERSION,
        });
    }
    // A negative version can only come from a foreign tool; treat it as an empty schema.
    let applied = usize::try_from(found).unwrap_or(0);
    if applied == MIGRATIONS.len() {
        return Ok(());
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let version = index + 1;
        transaction
            .execute_batch(sql)
            .map_err(|e| failed(&format!("applying migration {version}"), e))?;
        tracing::info!(store = location, version, "applied a store migration");
    }
    transaction
        .pragma_update(None, "user_version", SCHEMA_VERSION)
        .map_err(|e| failed("recording the schema version", e))?;
    transaction
        .commit()
        .map_err(|e| failed("committing the migration", e))
}
