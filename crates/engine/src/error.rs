//! Errors of the engine: our own faults (database, configuration, IO), never a failed probe.
//!
//! A probe or a status-page fetch that fails is data (an observation that says what went wrong),
//! so it does not appear here. What does appear is anything that stops the engine itself from
//! working, with enough context in the message to tell what it was doing at the time.

use std::fmt;

/// What went wrong inside the engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The SQLite store failed; the text says which operation and why.
    #[error("store: {0}")]
    Store(String),
    /// Another program held a lock on the database past the busy timeout; the text says which
    /// operation waited. A caller that can go on without history does (`Store::open_or_in_memory`,
    /// `usage`), instead of failing on a lock that is someone else's and usually brief.
    #[error("store: {0}")]
    StoreLocked(String),
    /// The database file was written by a newer build whose schema this build does not know.
    ///
    /// Opening it anyway could corrupt data the newer build relies on, so we refuse and say so.
    #[error(
        "store: the database {path} has schema version {found}, but this build knows only up \
         to {known}; it was written by a newer Claude Status. Upgrade the app, or move the file \
         aside to start a fresh history"
    )]
    SchemaTooNew {
        /// The database file (or `:memory:`).
        path: String,
        /// The `user_version` found in the file.
        found: i64,
        /// The newest schema version this build can read.
        known: i64,
    },
    /// A file-system operation failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A configuration value is missing or out of range.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Our HTTP client could not be built or used (not a failed fetch, which is data).
    #[error("HTTP client: {0}")]
    Http(String),
    /// The pure core rejected its input.
    #[error(transparent)]
    Core(#[from] claude_status_core::Error),
}

impl Error {
    /// Wraps a database error with the operation that failed ("inserting a fetch record").
    pub(crate) fn store(action: impl fmt::Display, source: impl fmt::Display) -> Self {
        Error::Store(format!("{action}: {source}"))
    }
}

/// The engine's result type.
pub type Result<T> = std::result::Result<T, Error>;
