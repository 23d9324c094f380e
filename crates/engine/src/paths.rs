//! Where Claude Status keeps its data: the platform data directory, or an override.

use std::path::PathBuf;

use crate::error::{Error, Result};

/// The environment variable that overrides the data directory.
pub const DATA_DIR_ENV: &str = "CLAUDE_STATUS_DATA_DIR";

/// The data directory: the explicit choice, else `CLAUDE_STATUS_DATA_DIR`, else the platform's
/// (`~/.local/share/claude-status` on Linux, `~/Library/Application Support/dev.claude-status.claude-status`
/// on macOS, `%APPDATA%\claude-status\claude-status\data` on Windows).
pub fn data_dir(explicit: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(dir) = explicit {
        return Ok(dir);
    }
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    platform_data_dir().ok_or_else(|| {
        Error::Config(format!(
            "no home directory to keep data in; set {DATA_DIR_ENV} or pass --data-dir"
        ))
    })
}

/// The platform's data directory, whatever the environment says.
pub fn platform_data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("dev", "claude-status", "claude-status")
        .map(|dirs| dirs.data_dir().to_path_buf())
}
