//! The OS keychain for the service's keys (the `keyring` crate: the Secret Service on Linux, the
//! Keychain on macOS, the Credential Manager on Windows), under the same entries the tray app has
//! always used, so a key saved in the tray's Settings is the service's key.

use claude_status_engine::service::Secrets;

/// The keychain entries' service name.
const KEYCHAIN_SERVICE: &str = "dev.claude-status.tray";

/// The real keychain.
#[derive(Debug, Default)]
pub struct Keychain;

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

fn entry(account: &str) -> Result<keyring::Entry, String> {
    keyring::Entry::new(KEYCHAIN_SERVICE, account)
        .map_err(|e| format!("the OS keychain is not available: {e}"))
}

impl Secrets for Keychain {
    fn get(&self, account: &str) -> Result<Option<String>, String> {
        let account = account.to_owned();
        off_runtime(move || match entry(&account)?.get_password() {
            Ok(secret) => Ok(Some(secret)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(format!("the OS keychain could not be read: {e}")),
        })
        .unwrap_or_else(|| Err("the keychain call failed".to_owned()))
    }

    fn set(&self, account: &str, secret: Option<&str>) -> Result<(), String> {
        let account = account.to_owned();
        let secret = secret.map(str::to_owned);
        off_runtime(move || {
            let entry = entry(&account)?;
            match secret {
                Some(secret) => entry
                    .set_password(&secret)
                    .map_err(|e| format!("the OS keychain refused the key: {e}")),
                None => match entry.delete_credential() {
                    Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                    Err(e) => Err(format!("the OS keychain could not remove the key: {e}")),
                },
            }
        })
        .unwrap_or_else(|| Err("the keychain call failed".to_owned()))
    }
}
