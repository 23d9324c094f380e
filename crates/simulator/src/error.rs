//! Errors of the simulator: the only thing a caller can get wrong is a scenario name.

/// A scenario name that is not in [`crate::scenario_names`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scenario {name:?}; known scenarios: {known}")]
pub struct UnknownScenario {
    /// The name that was asked for.
    pub name: String,
    /// The known names, comma separated, so the message alone is enough to fix the call.
    pub known: String,
}

/// Everything that can go wrong while configuring or starting the simulator.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The scenario name is not known.
    #[error(transparent)]
    UnknownScenario(#[from] UnknownScenario),
    /// A clock or delay setting that cannot be used.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Binding or serving the socket failed.
    #[error("network error: {0}")]
    Io(#[from] std::io::Error),
}

/// The simulator's result type.
pub type Result<T> = std::result::Result<T, Error>;
