//! Direct alert routing's memory: the keys each channel was sent (so a restart does not send an
//! incident or a budget alert twice) and each channel's open episode (so a recovery after a
//! restart resolves the PagerDuty incident the trouble opened).

use chrono::{DateTime, Utc};
use claude_status_core::channels::OpenEpisode;
use claude_status_core::Level;
use rusqlite::{params, OptionalExtension};

use super::{from_millis, to_millis, Store};
use crate::error::Result;

impl Store {
    /// Records that `channel_id`'s receiver accepted the notification `key` at `at`.
    pub fn record_alert_delivery(
        &self,
        channel_id: &str,
        key: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.write("recording an alert delivery", |transaction| {
            transaction
                .prepare_cached(
                    "INSERT INTO alert_deliveries (channel_id, key, at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (channel_id, key) DO UPDATE SET at = excluded.at",
                )?
                .execute(params![channel_id, key, to_millis(at)])?;
            Ok(())
        })
    }

    /// When `channel_id` was last sent `key` at or after `since`, if it was.
    pub fn alert_delivered_since(
        &self,
        channel_id: &str,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>> {
        self.read("reading an alert delivery", |connection| {
            let at: Option<i64> = connection
                .prepare_cached(
                    "SELECT at FROM alert_deliveries WHERE channel_id = ?1 AND key = ?2 AND at >= ?3",
                )?
                .query_row(params![channel_id, key, to_millis(since)], |row| row.get(0))
                .optional()?;
            Ok(at.and_then(from_millis))
        })
    }

    /// Stores a channel's open episode, replacing the one it had.
    pub fn save_alert_episode(&self, episode: &OpenEpisode) -> Result<()> {
        self.write("storing an alert episode", |transaction| {
            transaction
                .prepare_cached(
                    "INSERT INTO alert_episodes (channel_id, key, level, opened_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (channel_id) DO UPDATE SET key = excluded.key, level = excluded.level,
                         opened_at = excluded.opened_at",
                )?
                .execute(params![
                    episode.channel_id,
                    episode.key,
                    episode.level.as_str(),
                    to_millis(episode.opened_at)
                ])?;
            Ok(())
        })
    }

    /// Forgets a channel's open episode.
    pub fn close_alert_episode(&self, channel_id: &str) -> Result<()> {
        self.write("closing an alert episode", |transaction| {
            transaction
                .prepare_cached("DELETE FROM alert_episodes WHERE channel_id = ?1")?
                .execute(params![channel_id])?;
            Ok(())
        })
    }

    /// Every open episode; a row whose level or time no longer reads is skipped.
    pub fn alert_episodes(&self) -> Result<Vec<OpenEpisode>> {
        self.read("reading the open alert episodes", |connection| {
            let mut statement = connection
                .prepare_cached("SELECT channel_id, key, level, opened_at FROM alert_episodes")?;
            let rows = statement.query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, i64>(3)?,
                ))
            })?;
            let mut episodes = Vec::new();
            for row in rows {
                let (channel_id, key, level, opened_at) = row?;
                let level: Option<Level> =
                    serde_json::from_value(serde_json::Value::String(level)).ok();
                if let (Some(level), Some(opened_at)) = (level, from_millis(opened_at)) {
                    episodes.push(OpenEpisode {
                        channel_id,
                        key,
                        level,
                        opened_at,
                    });
                }
            }
            Ok(episodes)
        })
    }
}
