//! The alert channels' secrets (webhook URLs, routing keys, signing secrets, tokens), read in a
//! fixed order: the OS keychain, then a 0600 file in the data directory, then the environment.
//! A secret is only ever held as a `Secret`, whose `Debug` says nothing, and is only ever
//! written into the request that needs it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use claude_status_core::channels::{secret_env_var, ChannelConfig, ChannelKind, SecretSlot};
use serde::{Deserialize, Serialize};

use crate::service::Secrets;

/// The file of secrets in the data directory, for machines without a keychain (a headless
/// server); it must be readable by its owner only.
pub const SECRETS_FILE: &str = "alert-secrets.json";

/// The prefix of every environment variable that holds a channel's secret.
pub const ENV_PREFIX: &str = "CLAUDE_STATUS_ALERT_";

/// The keychain account of a channel's secret.
pub fn keychain_account(channel_id: &str, slot: SecretSlot) -> String {
    format!("alert-channel:{channel_id}:{}", slot.as_str())
}

/// A secret. Its `Debug` and `Display` are redacted, so it cannot reach a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(secret: &str) -> Option<Secret> {
        let secret = secret.trim();
        (!secret.is_empty()).then(|| Secret(secret.to_owned()))
    }

    /// The secret itself, for the one request that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// Where a secret was found (the dashboard's word for it is core's `SecretOrigin`).
pub use claude_status_core::channels::SecretOrigin as SecretSource;

/// The file's shape: channel id → slot → secret.
#[derive(Debug, Default, Serialize, Deserialize)]
struct SecretsFile {
    #[serde(default)]
    channels: BTreeMap<String, BTreeMap<String, String>>,
}

/// The three places a channel's secrets come from.
#[derive(Clone)]
pub struct ChannelSecrets {
    keychain: Arc<dyn Secrets>,
    file: Option<PathBuf>,
    /// The `CLAUDE_STATUS_ALERT_*` variables, read once at start so the environment is not
    /// read on every delivery (and tests can give their own).
    env: Arc<BTreeMap<String, String>>,
}

impl std::fmt::Debug for ChannelSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelSecrets")
            .field("file", &self.file)
            .field("env_vars", &self.env.len())
            .finish_non_exhaustive()
    }
}

impl ChannelSecrets {
    /// The keychain, `<data_dir>/alert-secrets.json` and this process's environment.
    pub fn new(keychain: Arc<dyn Secrets>, data_dir: Option<&Path>) -> ChannelSecrets {
        let env = std::env::vars()
            .filter(|(name, _)| name.starts_with(ENV_PREFIX))
            .collect();
        ChannelSecrets::with_env(keychain, data_dir, env)
    }

    /// The same with the environment given, for tests.
    pub fn with_env(
        keychain: Arc<dyn Secrets>,
        data_dir: Option<&Path>,
        env: BTreeMap<String, String>,
    ) -> ChannelSecrets {
        ChannelSecrets {
            keychain,
            file: data_dir.map(|dir| dir.join(SECRETS_FILE)),
            env: Arc::new(env),
        }
    }

    /// The secret of a channel's slot and where it was found: the keychain, then the file, then
    /// the environment. Blocking (the keychain may be a D-Bus call): call it off the async
    /// workers.
    pub fn resolve(
        &self,
        channel: &ChannelConfig,
        slot: SecretSlot,
    ) -> Option<(Secret, SecretSource)> {
        match self.keychain.get(&keychain_account(&channel.id, slot)) {
            Ok(Some(secret)) => {
                if let Some(secret) = Secret::new(&secret) {
                    return Some((secret, SecretSource::Keychain));
                }
            }
            Ok(None) => {}
            // A keychain that cannot be read is not fatal: the file or the environment may
            // hold the secret. The error never names the secret.
            Err(e) => tracing::debug!("alert channel {}: {e}", channel.id),
        }
        if let Some(secret) = self.read_from_file(&channel.id, slot) {
            return Some((secret, SecretSource::File));
        }
        let name = secret_env_var(&channel.id, channel.kind, slot)?;
        self.env
            .get(&name)
            .and_then(|s| Secret::new(s))
            .map(|s| (s, SecretSource::Environment))
    }

    fn read_from_file(&self, channel_id: &str, slot: SecretSlot) -> Option<Secret> {
        let path = self.file.as_ref()?;
        let file = read_file(path)?;
        file.channels
            .get(channel_id)?
            .get(slot.as_str())
            .and_then(|s| Secret::new(s))
    }

    /// Stores (or with `None` removes) a channel's secret: in the keychain when it takes it,
    /// else in the 0600 file. Removing clears both. The error never names the secret.
    pub fn store(
        &self,
        channel_id: &str,
        slot: SecretSlot,
        secret: Option<&str>,
    ) -> Result<Option<SecretSource>, String> {
        let account = keychain_account(channel_id, slot);
        let Some(secret) = secret else {
            let keychain = self.keychain.set(&account, None);
            let file = self.write_file(channel_id, slot, None);
            return match (keychain, file) {
                (Err(k), Err(f)) => Err(format!("{k}; {f}")),
                _ => Ok(None),
            };
        };
        match self.keychain.set(&account, Some(secret)) {
            Ok(()) => {
                // A copy in the file would be read after the keychain anyway; removing it keeps
                // one place per secret.
                let _ = self.write_file(channel_id, slot, None);
                Ok(Some(SecretSource::Keychain))
            }
            Err(keychain) => match self.write_file(channel_id, slot, Some(secret)) {
                Ok(()) => {
                    tracing::info!(
                        "alert channel {channel_id}: no keychain ({keychain}); the secret is in the 0600 file"
                    );
                    Ok(Some(SecretSource::File))
                }
                Err(file) => Err(format!("{keychain}; {file}")),
            },
        }
    }

    /// Writes the file with one slot changed, readable by its owner only, atomically.
    fn write_file(
        &self,
        channel_id: &str,
        slot: SecretSlot,
        secret: Option<&str>,
    ) -> Result<(), String> {
        let Some(path) = &self.file else {
            return Err("no data directory for the secrets file".to_owned());
        };
        let mut file = read_file(path).unwrap_or_default();
        match secret {
            Some(secret) => {
                file.channels
                    .entry(channel_id.to_owned())
                    .or_default()
                    .insert(slot.as_str().to_owned(), secret.trim().to_owned());
            }
            None => {
                let Some(slots) = file.channels.get_mut(channel_id) else {
                    return Ok(());
                };
                slots.remove(slot.as_str());
                if slots.is_empty() {
                    file.channels.remove(channel_id);
                }
            }
        }
        let text = serde_json::to_string_pretty(&file).map_err(|e| e.to_string())?;
        write_private(path, text.as_bytes()).map_err(|e| {
            format!(
                "the secrets file {} could not be written: {e}",
                path.display()
            )
        })
    }

    /// Whether a channel's slots have a secret anywhere, and where the target's is.
    pub fn presence(
        &self,
        channel: &ChannelConfig,
    ) -> (Option<SecretSource>, Option<SecretSource>) {
        let target = self.resolve(channel, SecretSlot::Target).map(|(_, s)| s);
        let auth = channel
            .kind
            .auth_secret()
            .and_then(|_| self.resolve(channel, SecretSlot::Auth))
            .map(|(_, s)| s);
        (target, auth)
    }
}

/// Reads the secrets file, or nothing: a file that others may read is refused (with a warning
/// naming the path and the fix, never the content), a missing one is empty.
fn read_file(path: &Path) -> Option<SecretsFile> {
    let metadata = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                "ignoring {}: its mode is {mode:o}, and a file of secrets must be readable by its owner only (chmod 600)",
                path.display()
            );
            return None;
        }
    }
    #[cfg(not(unix))]
    let _ = metadata;
    let text = std::fs::read_to_string(path).ok()?;
    match serde_json::from_str(&text) {
        Ok(file) => Some(file),
        Err(e) => {
            // serde's message names a position, not the content.
            tracing::warn!("ignoring {}: not a secrets file ({e})", path.display());
            None
        }
    }
}

/// Writes `bytes` to `path` through a temporary file created with mode 0600, then renames it,
/// so the secret is never in a file others can read, not even for a moment.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let temporary = path.with_extension("json.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&temporary)?;
    // A temporary file left by an older run may have kept a wider mode.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temporary, path)
}

/// The names of a channel's environment variables, for the docs and the dashboard.
pub fn env_names(channel_id: &str, kind: ChannelKind) -> Vec<String> {
    [SecretSlot::Target, SecretSlot::Auth]
        .into_iter()
        .filter_map(|slot| secret_env_var(channel_id, kind, slot))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.
mod tests {
    use super::*;
    use crate::service::{MemorySecrets, NoSecrets};

    #[test]
    fn the_keychain_comes_first_then_the_file_then_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let channel = ChannelConfig::new("team", "Team", ChannelKind::Slack);
        let env = BTreeMap::from([(
            "CLAUDE_STATUS_ALERT_TEAM_URL".to_owned(),
            "https://env.example/x".to_owned(),
        )]);
        let keychain = Arc::new(MemorySecrets::default());
        let secrets = ChannelSecrets::with_env(keychain.clone(), Some(dir.path()), env.clone());
        let (secret, source) = secrets.resolve(&channel, SecretSlot::Target).unwrap();
        assert_eq!(
            (secret.expose(), source),
            ("https://env.example/x", SecretSource::Environment)
        );
        // Without a keychain the secret goes to the 0600 file, which wins over the environment.
        let headless = ChannelSecrets::with_env(Arc::new(NoSecrets), Some(dir.path()), env);
        assert_eq!(
            headless
                .store("team", SecretSlot::Target, Some("https://file.example/y"))
                .unwrap(),
            Some(SecretSource::File)
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(SECRETS_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(
            headless.resolve(&channel, SecretSlot::Target).unwrap().1,
            SecretSource::File
        );
        // The keychain wins over both.
        secrets
            .store("team", SecretSlot::Target, Some("https://key.example/z"))
            .unwrap();
        let (secret, source) = secrets.resolve(&channel, SecretSlot::Target).unwrap();
        assert_eq!(
            (secret.expose(), source),
            ("https://key.example/z", SecretSource::Keychain)
        );
        assert_eq!(format!("{secret:?}"), "Secret(…)");
    }

    #[cfg(unix)]
    #[test]
    fn a_secrets_file_others_can_read_is_ignored() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SECRETS_FILE);
        std::fs::write(
            &path,
            r#"{"channels": {"team": {"target": "https://x.example/s"}}}"#,
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let secrets =
            ChannelSecrets::with_env(Arc::new(NoSecrets), Some(dir.path()), BTreeMap::new());
        let channel = ChannelConfig::new("team", "Team", ChannelKind::Slack);
        assert!(secrets.resolve(&channel, SecretSlot::Target).is_none());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(secrets.resolve(&channel, SecretSlot::Target).is_some());
    }
}
