//! Settings in the store plugin's file and the API key in the OS keychain. The key never goes
//! into the settings file or a log; `ANTHROPIC_API_KEY` is the fallback when the keychain has none.

use claude_status_core::settings::Settings;
use claude_status_engine::probe::ApiKey;
use serde::Serialize;
use tauri::{AppHandle, Runtime};
use tauri_plugin_store::StoreExt;

use crate::config::BaseConfig;

/// The settings file, in the app's data directory.
const SETTINGS_FILE: &str = "settings.json";
const SETTINGS_KEY: &str = "settings";
/// The keychain entry's service and account names.
const KEYCHAIN_SERVICE: &str = "dev.claude-status.tray";
const KEYCHAIN_ACCOUNT: &str = "anthropic-api-key";
/// The Admin API key's account (an `sk-ant-admin…` key, for the usage and cost reports).
const ADMIN_KEYCHAIN_ACCOUNT: &str = "anthropic-admin-key";

/// Where the API key in use comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeySource {
    Keychain,
    Environment,
    None,
}

/// Reads the stored settings; a missing or invalid file gives the defaults (and a log line that
/// says why), never a failed start.
pub fn load_settings<R: Runtime>(app: &AppHandle<R>) -> Settings {
    let store = match app.store(SETTINGS_FILE) {
        Ok(store) => store,
        Err(e) => {
            tracing::warn!("settings file unreadable, using defaults: {e}");
            return Settings::default();
        }
    };
    let Some(value) = store.get(SETTINGS_KEY) else {
        return Settings::default();
    };
    match serde_json::from_value::<Settings>(value) {
        Ok(settings) => match settings.validate() {
            Ok(()) => settings,
            Err(e) => {
                tracing::warn!("stored settings invalid ({e}), using defaults");
                Settings::default()
            }
        },
        Err(e) => {
            tracing::warn!("stored settings unreadable ({e}), using defaults");
            Settings::default()
        }
    }
}

/// Writes the settings (already validated) to the store file.
pub fn save_settings<R: Runtime>(app: &AppHandle<R>, settings: &Settings) -> Result<(), String> {
    let store = app.store(SETTINGS_FILE).map_err(|e| e.to_string())?;
    let value = serde_json::to_value(settings).map_err(|e| e.to_string())?;
    store.set(SETTINGS_KEY, value);
    store.save().map_err(|e| e.to_string())
}

/// Runs a keychain call on a plain thread. The Secret Service client blocks on its own async
/// runtime, which it may not start on a thread that already runs (or is inside) tokio's.
fn off_runtime<T: Send + 'static>(call: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    std::thread::Builder::new()
        .name("keychain".to_owned())
        .spawn(call)
        .ok()?
        .join()
        .ok()
}

fn keychain_entry() -> Result<keyring::Entry, String> {
    entry_for(KEYCHAIN_ACCOUNT)
}

fn entry_for(account: &str) -> Result<keyring::Entry, String> {
    keyring::Entry::new(KEYCHAIN_SERVICE, account)
        .map_err(|e| format!("the OS keychain is not available: {e}"))
}

/// The Admin API key from the keychain, else `ANTHROPIC_ADMIN_KEY`.
pub fn load_admin_key() -> Option<ApiKey> {
    off_runtime(|| {
        entry_for(ADMIN_KEYCHAIN_ACCOUNT)
            .ok()
            .and_then(|entry| entry.get_password().ok())
    })
    .flatten()
    .and_then(ApiKey::new)
    .or_else(|| {
        std::env::var("ANTHROPIC_ADMIN_KEY")
            .ok()
            .and_then(ApiKey::new)
    })
}

/// Stores the Admin API key in the keychain, or removes it with `None`.
pub fn store_admin_key(key: Option<&ApiKey>) -> Result<(), String> {
    let key = key.cloned();
    off_runtime(move || {
        let entry = entry_for(ADMIN_KEYCHAIN_ACCOUNT)?;
        match key {
            Some(key) => entry
                .set_password(key.expose())
                .map_err(|e| format!("the OS keychain refused the key: {e}")),
            None => match entry.delete_credential() {
                Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                Err(e) => Err(format!("the OS keychain could not remove the key: {e}")),
            },
        }
    })
    .unwrap_or_else(|| Err("the keychain call failed".to_owned()))
}

/// The key to use and where it comes from: the keychain first (the user's choice in the app),
/// else the environment.
pub fn load_api_key(base: &BaseConfig) -> (Option<ApiKey>, KeySource) {
    let from_keychain = off_runtime(|| {
        keychain_entry()
            .ok()
            .and_then(|entry| entry.get_password().ok())
    })
    .flatten()
    .and_then(ApiKey::new);
    if let Some(key) = from_keychain {
        return (Some(key), KeySource::Keychain);
    }
    match &base.env_api_key {
        Some(key) => (Some(key.clone()), KeySource::Environment),
        None => (None, KeySource::None),
    }
}

/// Stores a key in the keychain, or removes it with `None`.
pub fn store_api_key(key: Option<&ApiKey>) -> Result<(), String> {
    let key = key.cloned();
    off_runtime(move || store_api_key_here(key.as_ref()))
        .unwrap_or_else(|| Err("the keychain call failed".to_owned()))
}

fn store_api_key_here(key: Option<&ApiKey>) -> Result<(), String> {
    let entry = keychain_entry()?;
    match key {
        Some(key) => entry
            .set_password(key.expose())
            .map_err(|e| format!("the OS keychain refused the key: {e}")),
        None => match entry.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(format!("the OS keychain could not remove the key: {e}")),
        },
    }
}
