//! Helpers shared by the engine's integration tests (and, by path, by its examples).

pub mod paused;
