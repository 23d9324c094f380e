//! All IO of Claude Status: the status-page poller, the monitor task that owns the state, the
//! SQLite store and the HTTP client. Pure decisions live in `claude-status-core`.

pub mod admin;
pub mod advice;
pub mod alerting;
pub mod blocks;
pub mod catalog_cache;
pub mod check;
pub mod claude_code;
pub mod control;
pub mod error;
pub mod freeze;
pub mod gateway;
pub mod http;
pub mod metrics;
pub mod monitor;
pub mod paths;
pub mod poller;
pub mod prices;
pub mod probe;
pub mod retry;
pub mod service;
pub mod spikes;
pub mod statusline;
pub mod statusline_install;
pub mod store;
pub mod usage;

pub use error::{Error, Result};
pub use monitor::{Engine, EngineConfig, EngineEvent};
pub use store::Store;
