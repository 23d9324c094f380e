//! Incidents and their updates, merged across every fetch that mentioned them.
//!
//! A status page shows an incident many times (summary, incidents list, single-incident fetches),
//! sometimes from a lagging cache and sometimes trimmed. Merging therefore follows three rules:
//! what we already know is not erased by a payload that omits it; a payload older than what we
//! stored (by the incident's own `updated_at`) does not roll the incident back; and an update,
//! once seen, stays even if a later payload drops it.

use chrono::{DateTime, Utc};
use claude_status_core::statuspage::{
    AffectedComponent, Impact, Incident, IncidentComponent, IncidentStatus, IncidentUpdate,
};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};

use super::{
    from_json, from_millis, from_optional_millis, to_json, to_millis, to_sql_limit, Store,
};
use crate::error::Result;

/// What one upsert added to the store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpsertOutcome {
    /// The incident was not in the store before.
    pub new_incident: bool,
    /// How many of its updates were not in the store before.
    pub new_updates: usize,
}

impl Store {
    /// Merges one incident, seen at `seen_at`, into the store.
    pub fn upsert_incident(
        &self,
        incident: &Incident,
        seen_at: DateTime<Utc>,
    ) -> Result<UpsertOutcome> {
        let prepared = PreparedIncident::new(incident)?;
        let seen_at = to_millis(seen_at);
        self.write("storing an incident", |transaction| {
            prepared.upsert(transaction, seen_at)
        })
    }

    /// Merges several incidents in one transaction; the outcomes are in the input's order.
    pub fn upsert_incidents(
        &self,
        incidents: &[Incident],
        seen_at: DateTime<Utc>,
    ) -> Result<Vec<UpsertOutcome>> {
        if incidents.is_empty() {
            return Ok(Vec::new());
        }
        let prepared = incidents
            .iter()
            .map(PreparedIncident::new)
            .collect::<Result<Vec<_>>>()?;
        let seen_at = to_millis(seen_at);
        self.write("storing incidents", |transaction| {
            prepared
                .iter()
                .map(|incident| incident.upsert(transaction, seen_at))
                .collect()
        })
    }

    /// The incident with this key, with every update we have seen, newest first.
    pub fn incident(&self, id: &str) -> Result<Option<Incident>> {
        let rows = self.read("reading an incident", |connection| {
            select_incidents(connection, "WHERE id = ?1", params![id])
        })?;
        Ok(rows.into_iter().find_map(StoredIncident::decode))
    }

    /// Up to `limit` incidents, newest first by the page's `created_at` (or, when the page gave
    /// none, by when we first saw them).
    pub fn recent_incidents(&self, limit: usize) -> Result<Vec<Incident>> {
        let rows = self.read("reading recent incidents", |connection| {
            select_incidents(
                connection,
                "ORDER BY coalesce(created_at, first_seen_at) DESC, id LIMIT ?1",
                params![to_sql_limit(limit)],
            )
        })?;
        Ok(rows
            .into_iter()
            .filter_map(StoredIncident::decode)
            .collect())
    }

    /// The incidents whose last known status is not resolved or postmortem, newest first.
    ///
    /// This is what the store last heard. An incident that left the page's unresolved list
    /// without a final update stays here until a fetch tells us its fate, or until [`Store::prune`]
    /// drops it for not being seen within the retention.
    pub fn unresolved_incidents(&self) -> Result<Vec<Incident>> {
        let rows = self.read("reading unresolved incidents", |connection| {
            select_incidents(
                connection,
                "WHERE status NOT IN (?1, ?2) ORDER BY coalesce(created_at, first_seen_at) DESC, id",
                params![
                    IncidentStatus::Resolved.as_str(),
                    IncidentStatus::Postmortem.as_str()
                ],
            )
        })?;
        Ok(rows
            .into_iter()
            .filter_map(StoredIncident::decode)
            // The core owns the definition of "closed"; the SQL filter is only a prefilter.
            .filter(|incident| !incident.status.is_closed())
            .collect())
    }

    /// When we first saw the incident with this key.
    pub fn incident_first_seen(&self, id: &str) -> Result<Option<DateTime<Utc>>> {
        let millis = self.read("reading when an incident was first seen", |connection| {
            connection
                .prepare_cached("SELECT first_seen_at FROM incidents WHERE id = ?1")?
                .query_row(params![id], |row| row.get::<_, i64>(0))
                .optional()
        })?;
        Ok(millis.and_then(from_millis))
    }
}

/// An incident turned into column values, JSON included, before the lock is taken.
struct PreparedIncident {
    key: String,
    source_id: String,
    name: String,
    status: String,
    /// The payload states a known, open status: its `resolved_at` (normally absent) is taken
    /// as is, so a reopened incident loses its old resolution time.
    is_open: bool,
    impact: String,
    shortlink: Option<String>,
    created_at: Option<i64>,
    updated_at: Option<i64>,
    started_at: Option<i64>,
    monitoring_at: Option<i64>,
    resolved_at: Option<i64>,
    components: String,
    updates: Vec<PreparedUpdate>,
}

struct PreparedUpdate {
    key: String,
    source_id: String,
    status: String,
    body: String,
    created_at: Option<i64>,
    display_at: Option<i64>,
    updated_at: Option<i64>,
    affected_components: String,
}

/// The JSON of an empty list, which a merge treats as "the payload said nothing".
const EMPTY_LIST_JSON: &str = "[]";

impl PreparedIncident {
    fn new(incident: &Incident) -> Result<PreparedIncident> {
        let updates = incident
            .incident_updates
            .iter()
            .map(|update| {
                Ok(PreparedUpdate {
                    key: update.key(),
                    source_id: update.id.clone(),
                    status: update.status.as_str().to_owned(),
                    body: update.body.clone(),
                    created_at: update.created_at.map(to_millis),
                    display_at: update.display_at.map(to_millis),
                    updated_at: update.updated_at.map(to_millis),
                    affected_components: to_json(
                        "an update's affected components",
                        &update.affected_components,
                    )?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(PreparedIncident {
            key: incident.key(),
            source_id: incident.id.clone(),
            name: incident.name.clone(),
            status: incident.status.as_str().to_owned(),
            is_open: !incident.status.is_closed() && !incident.status.as_str().is_empty(),
            impact: incident.impact.as_str().to_owned(),
            shortlink: incident.shortlink.clone(),
            created_at: incident.created_at.map(to_millis),
            updated_at: incident.updated_at.map(to_millis),
            started_at: incident.started_at.map(to_millis),
            monitoring_at: incident.monitoring_at.map(to_millis),
            resolved_at: incident.resolved_at.map(to_millis),
            components: to_json("an incident's components", &incident.components)?,
            updates,
        })
    }

    fn upsert(
        &self,
        transaction: &Transaction<'_>,
        seen_at: i64,
    ) -> rusqlite::Result<UpsertOutcome> {
        let stored_updated_at: Option<Option<i64>> = transaction
            .prepare_cached("SELECT updated_at FROM incidents WHERE id = ?1")?
            .query_row(params![self.key], |row| row.get(0))
            .optional()?;
        let new_incident = match stored_updated_at {
            None => {
                self.insert(transaction, seen_at)?;
                true
            }
            Some(stored) => {
                let stale =
                    matches!((self.updated_at, stored), (Some(new), Some(old)) if new < old);
                if stale {
                    transaction
                        .prepare_cached(
                            "UPDATE incidents SET last_seen_at = max(last_seen_at, ?2) WHERE id = ?1",
                        )?
                        .execute(params![self.key, seen_at])?;
                } else {
                    self.merge(transaction, seen_at)?;
                }
                false
            }
        };
        let mut new_updates = 0;
        for update in &self.updates {
            new_updates += update.upsert(transaction, &self.key, seen_at)?;
        }
        Ok(UpsertOutcome {
            new_incident,
            new_updates,
        })
    }

    fn insert(&self, transaction: &Transaction<'_>, seen_at: i64) -> rusqlite::Result<()> {
        transaction
            .prepare_cached(
                "INSERT INTO incidents (id, source_id, name, status, impact, shortlink, created_at,
                     updated_at, started_at, monitoring_at, resolved_at, components, first_seen_at,
                     last_seen_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13)",
            )?
            .execute(params![
                self.key,
                self.source_id,
                self.name,
                self.status,
                self.impact,
                self.shortlink,
                self.created_at,
                self.updated_at,
                self.started_at,
                self.monitoring_at,
                self.resolved_at,
                self.components,
                seen_at,
            ])?;
        Ok(())
    }

    /// Overwrites what the payload states and keeps what it omits; `first_seen_at` is untouched.
    fn merge(&self, transaction: &Transaction<'_>, seen_at: i64) -> rusqlite::Result<()> {
        transaction
            .prepare_cached(
                "UPDATE incidents SET
                     source_id = CASE WHEN ?2 <> '' THEN ?2 ELSE source_id END,
                     name = CASE WHEN ?3 <> '' THEN ?3 ELSE name END,
                     status = CASE WHEN ?4 <> '' THEN ?4 ELSE status END,
                     impact = CASE WHEN ?5 <> '' THEN ?5 ELSE impact END,
                     shortlink = coalesce(?6, shortlink),
                     created_at = coalesce(?7, created_at),
                     updated_at = coalesce(?8, updated_at),
                     started_at = coalesce(?9, started_at),
                     monitoring_at = coalesce(?10, monitoring_at),
                     resolved_at = CASE WHEN ?14 THEN ?11 ELSE coalesce(?11, resolved_at) END,
                     components = CASE WHEN ?12 <> ?15 THEN ?12 ELSE components END,
                     last_seen_at = max(last_seen_at, ?13)
                 WHERE id = ?1",
            )?
            .execute(params![
                self.key,
                self.source_id,
                self.name,
                self.status,
                self.impact,
                self.shortlink,
                self.created_at,
                self.updated_at,
                self.started_at,
                self.monitoring_at,
                self.resolved_at,
                self.components,
                seen_at,
                self.is_open,
                EMPTY_LIST_JSON,
            ])?;
        Ok(())
    }
}

impl PreparedUpdate {
    /// Inserts the update if it is new (returning 1), or refreshes it if the page edited it since
    /// (returning 0). An edit is recognised by a newer `updated_at`, so a trimmed or stale copy
    /// never overwrites what we stored.
    fn upsert(
        &self,
        transaction: &Transaction<'_>,
        incident_id: &str,
        seen_at: i64,
    ) -> rusqlite::Result<usize> {
        let inserted = transaction
            .prepare_cached(
                "INSERT INTO incident_updates (incident_id, key, source_id, status, body, created_at,
                     display_at, updated_at, affected_components, first_seen_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (incident_id, key) DO NOTHING",
            )?
            .execute(params![
                incident_id,
                self.key,
                self.source_id,
                self.status,
                self.body,
                self.created_at,
                self.display_at,
                self.updated_at,
                self.affected_components,
                seen_at,
            ])?;
        if inserted > 0 {
            return Ok(1);
        }
        transaction
            .prepare_cached(
                "UPDATE incident_updates SET
                     status = ?3,
                     body = ?4,
                     created_at = coalesce(?5, created_at),
                     display_at = coalesce(?6, display_at),
                     updated_at = ?7,
                     affected_components = ?8
                 WHERE incident_id = ?1 AND key = ?2
                   AND ?7 IS NOT NULL AND (updated_at IS NULL OR updated_at < ?7)",
            )?
            .execute(params![
                incident_id,
                self.key,
                self.status,
                self.body,
                self.created_at,
                self.display_at,
                self.updated_at,
                self.affected_components,
            ])?;
        Ok(0)
    }
}

/// An `incidents` row and its updates as SQLite returns them, before they are checked.
struct StoredIncident {
    key: String,
    source_id: String,
    name: String,
    status: String,
    impact: String,
    shortlink: Option<String>,
    created_at: Option<i64>,
    updated_at: Option<i64>,
    started_at: Option<i64>,
    monitoring_at: Option<i64>,
    resolved_at: Option<i64>,
    components: String,
    updates: Vec<StoredUpdate>,
}

struct StoredUpdate {
    row_id: i64,
    source_id: String,
    status: String,
    body: String,
    created_at: Option<i64>,
    display_at: Option<i64>,
    updated_at: Option<i64>,
    affected_components: String,
}

/// Reads incident rows selected by `tail` (a WHERE and/or ORDER BY clause), each with its updates.
fn select_incidents(
    connection: &Connection,
    tail: &str,
    parameters: impl rusqlite::Params,
) -> rusqlite::Result<Vec<StoredIncident>> {
    let sql = format!(
        "SELECT id, source_id, name, status, impact, shortlink, created_at, updated_at, started_at,
             monitoring_at, resolved_at, components
         FROM incidents {tail}"
    );
    let mut statement = connection.prepare_cached(&sql)?;
    let mut incidents = statement
        .query_map(parameters, |row| {
            Ok(StoredIncident {
                key: row.get(0)?,
                source_id: row.get(1)?,
                name: row.get(2)?,
                status: row.get(3)?,
                impact: row.get(4)?,
                shortlink: row.get(5)?,
                created_at: row.get(6)?,
                updated_at: row.get(7)?,
                started_at: row.get(8)?,
                monitoring_at: row.get(9)?,
                resolved_at: row.get(10)?,
                components: row.get(11)?,
                updates: Vec::new(),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    // Newest first with the same tie-break as the core's stable sort: updates without a time go
    // last, and equal times keep the order in which we first stored them (the page's order).
    let mut updates = connection.prepare_cached(
        "SELECT id, source_id, status, body, created_at, display_at, updated_at, affected_components
         FROM incident_updates WHERE incident_id = ?1
         ORDER BY coalesce(display_at, created_at) DESC, id",
    )?;
    for incident in &mut incidents {
        incident.updates = updates
            .query_map(params![incident.key], |row| {
                Ok(StoredUpdate {
                    row_id: row.get(0)?,
                    source_id: row.get(1)?,
                    status: row.get(2)?,
                    body: row.get(3)?,
                    created_at: row.get(4)?,
                    display_at: row.get(5)?,
                    updated_at: row.get(6)?,
                    affected_components: row.get(7)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
    }
    Ok(incidents)
}

impl StoredIncident {
    /// Rebuilds the core incident; `None` (logged) when its components no longer parse.
    fn decode(self) -> Option<Incident> {
        let components: Vec<IncidentComponent> =
            from_json("incidents", &self.key, &self.components)?;
        let incident_updates = self
            .updates
            .into_iter()
            .filter_map(StoredUpdate::decode)
            .collect();
        Some(Incident {
            id: self.source_id,
            name: self.name,
            status: IncidentStatus::from_wire(&self.status),
            impact: Impact::from_wire(&self.impact),
            shortlink: self.shortlink,
            created_at: from_optional_millis(self.created_at),
            updated_at: from_optional_millis(self.updated_at),
            started_at: from_optional_millis(self.started_at),
            monitoring_at: from_optional_millis(self.monitoring_at),
            resolved_at: from_optional_millis(self.resolved_at),
            incident_updates,
            components,
        })
    }
}

impl StoredUpdate {
    /// Rebuilds the core update; `None` (logged) when its affected components no longer parse.
    fn decode(self) -> Option<IncidentUpdate> {
        let affected_components: Vec<AffectedComponent> = from_json(
            "incident_updates",
            &self.row_id.to_string(),
            &self.affected_components,
        )?;
        Some(IncidentUpdate {
            id: self.source_id,
            status: IncidentStatus::from_wire(&self.status),
            body: self.body,
            created_at: from_optional_millis(self.created_at),
            display_at: from_optional_millis(self.display_at),
            updated_at: from_optional_millis(self.updated_at),
            affected_components,
        })
    }
}
