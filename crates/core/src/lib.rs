//! Pure domain logic of Claude Status: the status-page model, change detection, health assessment
//! and alert decisions. Nothing here does IO or reads the clock: time comes in as an argument.

pub mod advice;
pub mod aggregate;
pub mod alerts;
pub mod assess;
pub mod blocks;
pub mod catalog;
pub mod changes;
pub mod channels;
pub mod cost;
pub mod error;
pub mod fallback;
pub mod gateway;
pub mod health;
pub mod history;
pub mod level;
pub mod model_names;
pub mod models;
pub mod monitor;
pub mod plan;
pub mod price_table;
pub mod pricing;
pub mod probe;
pub mod ratelimit;
pub mod report;
pub mod retry;
pub mod series;
pub mod settings;
pub mod spikes;
pub mod sse;
pub mod statusline;
pub mod statuspage;
pub mod tracker;
pub mod translate;
pub mod tray;
pub mod usage;
pub mod verdict;

pub use error::{Error, Result};
pub use level::Level;
