//! The one-service-per-data-directory lock: an OS file lock on `service.lock`, held for the
//! service's life, with the holder's pid written inside so a second start can name it.
//!
//! The OS releases the lock when the process dies, however it dies, so a crashed service never
//! leaves a lock that blocks the next start; the pid in the file is only ever read for messages.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The lock file's name in the data directory.
pub const LOCK_FILE: &str = "service.lock";

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another service holds it.
    #[error(
        "a Claude Status service is already running for {data_dir} (pid {pid}); stop it with \
         `claude-status service stop`, or use another data directory"
    )]
    Held { pid: String, data_dir: String },
    #[error("the service lock {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The held lock; dropping it releases it.
#[derive(Debug)]
pub struct ServiceLock {
    _file: File,
    path: PathBuf,
}

impl ServiceLock {
    /// Takes the lock of `data_dir` (created if missing) and writes our pid into it.
    pub fn acquire(data_dir: &Path) -> Result<ServiceLock, LockError> {
        let path = data_dir.join(LOCK_FILE);
        let io = |source| LockError::Io {
            path: path.display().to_string(),
            source,
        };
        std::fs::create_dir_all(data_dir).map_err(io)?;
        let opened = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path);
        let (mut file, writable) = match opened {
            Ok(file) => (file, true),
            // A data directory the service may not write still gets one service: the directory
            // itself is locked (an OS lock works on a directory opened for reading), without a
            // pid to name. The service then runs with its history in memory (`Store::open_or_in_memory`).
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
                ) =>
            {
                (File::open(data_dir).map_err(io)?, false)
            }
            Err(e) => return Err(io(e)),
        };
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                let pid = pid.trim().to_owned();
                return Err(LockError::Held {
                    pid: if pid.is_empty() {
                        "unknown".to_owned()
                    } else {
                        pid
                    },
                    data_dir: data_dir.display().to_string(),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        if !writable {
            return Ok(ServiceLock { _file: file, path });
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(ServiceLock { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The pid written in `data_dir`'s lock file, when a live service holds it.
pub fn holder(data_dir: &Path) -> Option<String> {
    match ServiceLock::acquire(data_dir) {
        Err(LockError::Held { pid, .. }) => Some(pid),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_names_the_first_holders_pid() {
        let dir = tempfile::tempdir().unwrap();
        let first = ServiceLock::acquire(dir.path()).unwrap();
        let second = ServiceLock::acquire(dir.path()).unwrap_err();
        let text = second.to_string();
        assert!(
            text.contains(&format!("(pid {})", std::process::id())),
            "{text}"
        );
        assert_eq!(holder(dir.path()), Some(std::process::id().to_string()));
        drop(first);
        let again = ServiceLock::acquire(dir.path()).unwrap();
        assert!(again.path().ends_with(LOCK_FILE));
    }
}
