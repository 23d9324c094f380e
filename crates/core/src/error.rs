//! Errors of the pure core: only malformed input can fail here.

/// What went wrong while reading outside data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A body that is not the document we expected; the text says how.
    #[error("{0}")]
    Parse(String),
    /// A configuration value out of its allowed range.
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// The core's result type.
pub type Result<T> = std::result::Result<T, Error>;
