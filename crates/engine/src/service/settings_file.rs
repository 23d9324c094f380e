//! The settings file the service owns: `settings.json` in the data directory, the same validated
//! `Settings` as the tray app always stored, written atomically (a temporary file, then a rename)
//! so a crash mid-write never leaves half a file.
//!
//! Earlier versions kept the settings in the tray app's own store file
//! (`<data>/dev.claude-status.tray/settings.json`, under the key `settings`); when the service's
//! file does not exist yet, that one is read once and carried over.

use std::path::{Path, PathBuf};

use claude_status_core::settings::Settings;

/// The file's name in the data directory.
pub const SETTINGS_FILE: &str = "settings.json";
/// Settings files larger than this are refused as not ours.
const MAX_SETTINGS_BYTES: u64 = 1024 * 1024;

/// The settings file of `data_dir`.
pub fn settings_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SETTINGS_FILE)
}

/// The tray app's old store file, which held the settings before the service owned them.
pub fn legacy_tray_store() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|dirs| {
        dirs.data_dir()
            .join("dev.claude-status.tray")
            .join(SETTINGS_FILE)
    })
}

/// Reads the settings: the service's file, else the legacy file (once), else the defaults. A
/// file that cannot be read or fails validation gives the defaults and a warning naming why,
/// never a failed start; the bad file is left in place for the user to see.
pub fn load(data_dir: &Path, legacy: Option<&Path>) -> Settings {
    let path = settings_path(data_dir);
    if path.exists() {
        return read(&path, false).unwrap_or_default();
    }
    if let Some(legacy) = legacy.filter(|p| p.exists()) {
        if let Some(settings) = read(legacy, true) {
            tracing::info!(
                "carrying the settings over from {} to {}",
                legacy.display(),
                path.display()
            );
            if let Err(e) = save(data_dir, &settings) {
                tracing::warn!("could not write {}: {e}", path.display());
            }
            return settings;
        }
    }
    Settings::default()
}

fn read(path: &Path, legacy: bool) -> Option<Settings> {
    let text = match std::fs::metadata(path) {
        Ok(meta) if meta.len() > MAX_SETTINGS_BYTES => {
            tracing::warn!(
                "{} is too large to be settings; using defaults",
                path.display()
            );
            return None;
        }
        Ok(_) => std::fs::read_to_string(path),
        Err(e) => Err(e),
    };
    let text = match text {
        Ok(text) => text,
        Err(e) => {
            tracing::warn!("{} unreadable ({e}); using defaults", path.display());
            return None;
        }
    };
    let parsed = if legacy {
        serde_json::from_str::<serde_json::Value>(&text)
            .and_then(|mut value| serde_json::from_value::<Settings>(value["settings"].take()))
    } else {
        serde_json::from_str::<Settings>(&text)
    };
    match parsed {
        Ok(settings) => match settings.validate() {
            Ok(()) => Some(settings),
            Err(e) => {
                tracing::warn!("{} is invalid ({e}); using defaults", path.display());
                None
            }
        },
        Err(e) => {
            tracing::warn!("{} unreadable ({e}); using defaults", path.display());
            None
        }
    }
}

/// Writes validated settings atomically, readable by the user only.
pub fn save(data_dir: &Path, settings: &Settings) -> std::io::Result<()> {
    std::fs::create_dir_all(data_dir)?;
    let path = settings_path(data_dir);
    let temporary = data_dir.join(format!(".{SETTINGS_FILE}.{}.tmp", std::process::id()));
    let text = serde_json::to_string_pretty(settings).map_err(std::io::Error::other)?;
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&temporary)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
    }
    std::fs::rename(&temporary, &path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_bad_files_give_defaults() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path(), None), Settings::default());
        let settings = Settings {
            gateway: true,
            gateway_port: 7601,
            ..Settings::default()
        };
        save(dir.path(), &settings).unwrap();
        assert_eq!(load(dir.path(), None), settings);
        std::fs::write(settings_path(dir.path()), "{not json").unwrap();
        assert_eq!(load(dir.path(), None), Settings::default());
        std::fs::write(settings_path(dir.path()), r#"{"gateway_port": 0}"#).unwrap();
        assert_eq!(load(dir.path(), None), Settings::default());
    }

    #[test]
    fn the_tray_apps_old_store_is_carried_over_once() {
        let dir = tempfile::tempdir().unwrap();
        let legacy = dir.path().join("old.json");
        std::fs::write(
            &legacy,
            r#"{"settings": {"gateway": true, "gateway_port": 7602}}"#,
        )
        .unwrap();
        let data = dir.path().join("data");
        let loaded = load(&data, Some(&legacy));
        assert!(loaded.gateway);
        assert_eq!(loaded.gateway_port, 7602);
        assert!(settings_path(&data).exists());
        std::fs::write(&legacy, r#"{"settings": {"gateway": false}}"#).unwrap();
        assert!(
            load(&data, Some(&legacy)).gateway,
            "the service's file wins"
        );
    }
}
