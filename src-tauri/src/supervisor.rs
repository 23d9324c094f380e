//! Starts the service when none runs, as a detached process that outlives this one, and keeps
//! track of a service this process started: a thread waits on it (so it is reaped, never left a
//! zombie) and wakes the follower when it ends; the follower starts it again on the schedule kept
//! here (1 s, 2 s, 4 s, … at most 30 s apart).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use claude_status_engine::control::ControlClient;

use crate::state::lock;

/// The environment variable naming the service's binary (tests, packagers).
pub const SERVICE_BIN_ENV: &str = "CLAUDE_STATUS_SERVICE_BIN";
/// The first wait before a service that went away is started again, and the longest.
const RESTART_FIRST: Duration = Duration::from_secs(1);
const RESTART_MAX: Duration = Duration::from_secs(30);
/// A service that stayed up this long was healthy: the next restart waits the first delay again.
const STABLE: Duration = Duration::from_secs(30);
/// How often a starting service's socket is tried.
const LISTEN_POLL: Duration = Duration::from_millis(50);
/// The service's log is set aside (once, as `service.log.1`) beyond this size.
const LOG_LIMIT: u64 = 8 * 1024 * 1024;

/// When the next start may happen.
#[derive(Debug)]
struct Schedule {
    /// No start before then; `None` means at once.
    not_before: Option<Instant>,
    /// The wait after the next loss.
    delay: Duration,
    /// Whether a service answered since this process started.
    ever_connected: bool,
}

/// Starts and watches the service of one data directory.
#[derive(Debug)]
pub struct Launcher {
    demo: bool,
    socket: PathBuf,
    data_dir: PathBuf,
    /// Whether a service that answered and then went away is started again. The tray
    /// supervises; a dashboard only starts one when it finds none at its start, so it never
    /// undoes the tray's "Stop service".
    restart: bool,
    /// The pid of the service this process started, while it runs.
    child: Arc<Mutex<Option<u32>>>,
    schedule: Mutex<Schedule>,
}

impl Launcher {
    pub fn new(demo: bool, socket: PathBuf, data_dir: PathBuf, restart: bool) -> Self {
        Self {
            demo,
            socket,
            data_dir,
            restart,
            child: Arc::new(Mutex::new(None)),
            schedule: Mutex::new(Schedule {
                not_before: None,
                delay: RESTART_FIRST,
                ever_connected: false,
            }),
        }
    }

    /// Whether the service this process started still runs.
    pub fn child_alive(&self) -> bool {
        lock(&self.child).is_some()
    }

    /// Whether this process may start a service now that none answers.
    pub fn may_start(&self) -> bool {
        self.restart || !lock(&self.schedule).ever_connected
    }

    /// A service answered.
    pub fn connected(&self) {
        lock(&self.schedule).ever_connected = true;
    }

    /// The service went away after answering for `lived`: the next start waits.
    pub fn lost(&self, lived: Duration) {
        let mut schedule = lock(&self.schedule);
        if lived >= STABLE {
            schedule.delay = RESTART_FIRST;
        }
        schedule.not_before = Some(Instant::now() + schedule.delay);
    }

    /// The user asked for a restart: the next start may happen at once.
    pub fn reset(&self) {
        let mut schedule = lock(&self.schedule);
        schedule.not_before = None;
        schedule.delay = RESTART_FIRST;
    }

    /// How long until the next start may happen (zero: now).
    pub fn start_wait(&self) -> Duration {
        lock(&self.schedule)
            .not_before
            .map(|at| at.saturating_duration_since(Instant::now()))
            .unwrap_or(Duration::ZERO)
    }

    /// Starts the service as a detached process: no stdin, its output appended to
    /// `<data_dir>/service.log`, in a process group of its own (a Ctrl-C in the tray's terminal
    /// must not stop the gateway). `wake` is notified when it ends. Returns its pid.
    pub fn spawn(&self, wake: Arc<tokio::sync::Notify>) -> Result<u32, String> {
        {
            let mut schedule = lock(&self.schedule);
            schedule.not_before = Some(Instant::now() + schedule.delay);
            schedule.delay = (schedule.delay * 2).min(RESTART_MAX);
        }
        let program = service_program();
        let log = open_log(&self.data_dir)
            .map_err(|e| format!("the service's log in {}: {e}", self.data_dir.display()))?;
        let log_err = log
            .try_clone()
            .map_err(|e| format!("the service's log: {e}"))?;
        let mut command = Command::new(&program);
        command.args(["service", "run"]);
        if self.demo {
            command.arg("--demo");
        }
        command
            .env(claude_status_engine::control::SOCKET_ENV, &self.socket)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err));
        detach(&mut command);
        let mut child = command
            .spawn()
            .map_err(|e| format!("could not start {}: {e}", program.display()))?;
        let pid = child.id();
        *lock(&self.child) = Some(pid);
        tracing::info!(
            "started the service: {} service run (pid {pid})",
            program.display()
        );
        let slot = Arc::clone(&self.child);
        let watcher = std::thread::Builder::new()
            .name("service-watch".to_owned())
            .spawn(move || {
                let status = child.wait();
                {
                    let mut running = lock(&slot);
                    if *running == Some(pid) {
                        *running = None;
                    }
                }
                match status {
                    Ok(status) if status.code() == Some(3) => {
                        tracing::info!("another service runs already; attaching to it")
                    }
                    Ok(status) => tracing::warn!("the service (pid {pid}) ended: {status}"),
                    Err(e) => tracing::warn!("could not wait for the service (pid {pid}): {e}"),
                }
                wake.notify_one();
            });
        if let Err(e) = watcher {
            // Without the thread the service still runs; it is only not reaped until we exit.
            tracing::warn!("could not watch the service: {e}");
        }
        Ok(pid)
    }

    /// Waits (at most `limit`) until the service answers on the socket; `false` when the
    /// service this process started ended first, or the time ran out.
    pub async fn wait_until_listening(&self, limit: Duration, role: &str) -> bool {
        let give_up = tokio::time::Instant::now() + limit;
        loop {
            match ControlClient::connect(&self.socket, role).await {
                Ok(_) => return true,
                // Something answers, if not in our version: the follower says what.
                Err(e) if !e.is_not_running() => return true,
                Err(_) => {}
            }
            if !self.child_alive() || tokio::time::Instant::now() >= give_up {
                return false;
            }
            tokio::time::sleep(LISTEN_POLL).await;
        }
    }
}

/// The service's binary: `CLAUDE_STATUS_SERVICE_BIN`, else `claude-status` beside this
/// executable, else `claude-status` on the `PATH`.
pub fn service_program() -> PathBuf {
    if let Some(explicit) = std::env::var_os(SERVICE_BIN_ENV).filter(|v| !v.is_empty()) {
        return PathBuf::from(explicit);
    }
    let name = if cfg!(windows) {
        "claude-status.exe"
    } else {
        "claude-status"
    };
    std::env::current_exe()
        .ok()
        .map(|exe| exe.with_file_name(name))
        .filter(|sibling| sibling.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

/// Opens the service's log for appending, setting a grown one aside first so it stays bounded.
fn open_log(data_dir: &Path) -> std::io::Result<std::fs::File> {
    std::fs::create_dir_all(data_dir)?;
    let path = data_dir.join("service.log");
    if std::fs::metadata(&path).is_ok_and(|meta| meta.len() > LOG_LIMIT) {
        let _ = std::fs::rename(&path, data_dir.join("service.log.1"));
    }
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Puts the child in a process group of its own, so signals to the tray's group (Ctrl-C in its
/// terminal) do not reach it.
#[cfg(unix)]
fn detach(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    command.process_group(0);
}

/// Starts the child detached from the tray's console and its Ctrl-C group. Written for Windows
/// but not compiled or run on the Linux machine this was built on.
#[cfg(windows)]
fn detach(command: &mut Command) {
    use std::os::windows::process::CommandExt;
    const DETACHED_PROCESS: u32 = 0x0000_0008;
    const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
    command.creation_flags(DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restarts_back_off_and_a_stable_service_resets_the_delay() {
        let dir = tempfile::tempdir().unwrap();
        let launcher = Launcher::new(
            false,
            dir.path().join("control.sock"),
            dir.path().to_path_buf(),
            true,
        );
        assert_eq!(
            launcher.start_wait(),
            Duration::ZERO,
            "the first start is at once"
        );
        // Three losses of a service that never stayed up: each waits longer than the last.
        let mut waits = Vec::new();
        for _ in 0..3 {
            launcher.lost(Duration::from_secs(1));
            waits.push(launcher.start_wait());
            // A start doubles the next delay, as `spawn` does.
            let mut schedule = lock(&launcher.schedule);
            schedule.delay = (schedule.delay * 2).min(RESTART_MAX);
        }
        assert!(
            waits[0] <= RESTART_FIRST && waits[0] > Duration::ZERO,
            "{waits:?}"
        );
        assert!(waits[1] > RESTART_FIRST && waits[2] > waits[1], "{waits:?}");
        for _ in 0..10 {
            let mut schedule = lock(&launcher.schedule);
            schedule.delay = (schedule.delay * 2).min(RESTART_MAX);
        }
        launcher.lost(Duration::from_secs(1));
        assert!(launcher.start_wait() <= RESTART_MAX);
        launcher.lost(STABLE);
        assert!(launcher.start_wait() <= RESTART_FIRST);
        launcher.reset();
        assert_eq!(launcher.start_wait(), Duration::ZERO);
    }

    #[test]
    fn a_dashboard_starts_a_service_only_before_one_answered() {
        let dir = tempfile::tempdir().unwrap();
        let launcher = Launcher::new(
            false,
            dir.path().join("control.sock"),
            dir.path().to_path_buf(),
            false,
        );
        assert!(launcher.may_start());
        launcher.connected();
        assert!(!launcher.may_start());
    }

    #[cfg(unix)]
    #[test]
    fn a_started_service_is_reaped_and_wakes_the_follower() {
        let dir = tempfile::tempdir().unwrap();
        // A stand-in service that exits at once with the "already running" status.
        let script = dir.path().join("fake-service");
        std::fs::write(
            &script,
            "#!/bin/sh\necho \"$@\" \"$CLAUDE_STATUS_SOCKET\"\nexit 3\n",
        )
        .unwrap();
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::env::set_var(SERVICE_BIN_ENV, &script);
        let socket = dir.path().join("control.sock");
        let launcher = Launcher::new(true, socket.clone(), dir.path().to_path_buf(), true);
        let wake = Arc::new(tokio::sync::Notify::new());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        launcher.spawn(Arc::clone(&wake)).unwrap();
        runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(10), wake.notified())
                .await
                .expect("the watcher did not report the end");
        });
        assert!(!launcher.child_alive());
        assert!(
            launcher.start_wait() > Duration::ZERO,
            "a start waits for the next"
        );
        let log = std::fs::read_to_string(dir.path().join("service.log")).unwrap();
        assert_eq!(
            log.trim(),
            format!("service run --demo {}", socket.display()),
            "arguments and socket"
        );
    }
}
