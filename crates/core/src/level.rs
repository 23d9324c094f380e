//! The one health level the whole app shows, from "operational" to "unknown".

use serde::{Deserialize, Serialize};
use std::fmt;

/// The verdict shown by the tray colour, the CLI's exit code and the JSON `level` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Operational,
    Degraded,
    Overloaded,
    Outage,
    Maintenance,
    /// Our own network is down: we cannot tell anything about Anthropic.
    Offline,
    /// We could not tell (no data yet, or the data was unreadable).
    Unknown,
}

impl Level {
    /// Every level, in the order the UI lists them.
    pub const ALL: [Level; 7] = [
        Level::Operational,
        Level::Degraded,
        Level::Overloaded,
        Level::Outage,
        Level::Maintenance,
        Level::Offline,
        Level::Unknown,
    ];

    /// The wire name (`"overloaded"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Operational => "operational",
            Level::Degraded => "degraded",
            Level::Overloaded => "overloaded",
            Level::Outage => "outage",
            Level::Maintenance => "maintenance",
            Level::Offline => "offline",
            Level::Unknown => "unknown",
        }
    }

    /// How bad the level is for the user, for picking the worst of several signals.
    /// Maintenance ranks below degraded: it is planned and announced.
    pub fn severity(self) -> u8 {
        match self {
            Level::Operational => 0,
            Level::Maintenance => 1,
            Level::Degraded => 2,
            Level::Overloaded => 3,
            Level::Outage => 4,
            // Offline and unknown are not "worse" than an outage, they are "can't tell"; they only
            // win when there is no real evidence at all, which callers decide explicitly.
            Level::Offline => 0,
            Level::Unknown => 0,
        }
    }

    /// True for the two levels that mean "we could not tell".
    pub fn is_indeterminate(self) -> bool {
        matches!(self, Level::Offline | Level::Unknown)
    }

    /// The level's text glyph, one per level, so a terminal line reads without colour too (the
    /// CLI and the status line; the tray icon draws its own shapes).
    pub fn symbol(self) -> &'static str {
        match self {
            Level::Operational => "✔",
            Level::Degraded => "▲",
            Level::Overloaded => "◆",
            Level::Outage => "✖",
            Level::Maintenance => "⚙",
            Level::Offline => "○",
            Level::Unknown => "?",
        }
    }

    /// A capitalised headline ("Claude API overloaded").
    pub fn headline(self) -> &'static str {
        match self {
            Level::Operational => "Claude API operational",
            Level::Degraded => "Claude API degraded",
            Level::Overloaded => "Claude API overloaded",
            Level::Outage => "Claude API outage",
            Level::Maintenance => "Claude API under maintenance",
            Level::Offline => "Offline: cannot reach the network",
            Level::Unknown => "Claude API status unknown",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
