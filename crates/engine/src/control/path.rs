//! Where the control socket lives: `CLAUDE_STATUS_SOCKET`, else the user's runtime directory for
//! the default data directory, else inside the data directory itself.
//!
//! One service runs per data directory (its lock is there), so a non-default data directory (the
//! demo's, a test's) gets a socket of its own beside its lock, and two of them never meet.

use std::path::{Path, PathBuf};

/// The environment variable that overrides the socket's path (or, on Windows, the pipe's name).
pub const SOCKET_ENV: &str = "CLAUDE_STATUS_SOCKET";

/// The socket's file name.
const SOCKET_NAME: &str = "control.sock";

/// The control socket for the service of `data_dir`.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    if let Some(explicit) = std::env::var_os(SOCKET_ENV).filter(|v| !v.is_empty()) {
        return PathBuf::from(explicit);
    }
    default_socket_path(
        data_dir,
        crate::paths::platform_data_dir().as_deref(),
        std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from),
    )
}

/// The rule without the environment, for tests.
fn default_socket_path(
    data_dir: &Path,
    platform_data_dir: Option<&Path>,
    runtime_dir: Option<PathBuf>,
) -> PathBuf {
    if cfg!(windows) {
        // A named pipe: per user, and per data directory when it is not the default one.
        let user = std::env::var("USERNAME").unwrap_or_else(|_| "user".to_owned());
        let suffix = if platform_data_dir == Some(data_dir) {
            String::new()
        } else {
            format!("-{:016x}", fnv1a(data_dir.to_string_lossy().as_bytes()))
        };
        return PathBuf::from(format!(r"\\.\pipe\claude-status-{user}{suffix}"));
    }
    match runtime_dir {
        Some(runtime) if platform_data_dir == Some(data_dir) && runtime.is_absolute() => {
            runtime.join("claude-status").join(SOCKET_NAME)
        }
        _ => data_dir.join(SOCKET_NAME),
    }
}

/// A stable 64-bit hash for the pipe's name (FNV-1a; no randomness, so every client finds it).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn the_default_data_dir_uses_the_runtime_dir_and_others_their_own() {
        let platform = Path::new("/home/u/.local/share/claude-status");
        let runtime = Some(PathBuf::from("/run/user/1000"));
        assert_eq!(
            default_socket_path(platform, Some(platform), runtime.clone()),
            Path::new("/run/user/1000/claude-status/control.sock")
        );
        let demo = platform.join("demo");
        assert_eq!(
            default_socket_path(&demo, Some(platform), runtime),
            demo.join("control.sock")
        );
        assert_eq!(
            default_socket_path(platform, Some(platform), None),
            platform.join("control.sock")
        );
        assert_ne!(fnv1a(b"a"), fnv1a(b"b"));
    }
}
