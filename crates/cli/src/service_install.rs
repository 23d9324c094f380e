//! Start at login: `claude-status service install|uninstall|status` write, remove and report the
//! per-user login item that runs `claude-status service run` (a systemd user unit on Linux, a
//! launchd agent on macOS, a scheduled task on Windows); the same manager restarts the service
//! when it fails.
//!
//! The files come from pure generators that are tested on every platform. The commands that hand
//! them to the platform's manager go through a `CommandRunner`, each bounded in time, so tests
//! script what `systemctl`, `launchctl` or `schtasks` answer and never touch the real manager.

// A platform without a login-item manager of ours compiles the shared parts but uses none of them.
#![cfg_attr(
    not(any(target_os = "linux", target_os = "macos", windows)),
    allow(dead_code, unused_imports)
)]

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::{self, Read as _};
use std::path::Path;
#[cfg(any(target_os = "linux", target_os = "macos", test))]
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use claude_status_engine::control::SOCKET_ENV;
use claude_status_engine::paths::DATA_DIR_ENV;

/// The environment variables a login item passes on to the service: where its data and its
/// socket are. Nothing else is carried, and never a secret: the service reads its keys from the
/// keychain (or its own environment), not from a file any process of the user can read.
pub const PASS_THROUGH_ENV: [&str; 2] = [DATA_DIR_ENV, SOCKET_ENV];

/// Parts of a variable's name that mark it as a secret.
#[cfg(any(target_os = "linux", target_os = "macos", test))]
const SECRET_NAME_MARKERS: [&str; 6] = ["KEY", "TOKEN", "SECRET", "PASSWORD", "CREDENTIAL", "AUTH"];

/// The start of every Anthropic API key, so a key in a path variable is refused too.
#[cfg(any(target_os = "linux", target_os = "macos", test))]
const SECRET_VALUE_MARKER: &str = "sk-ant-";

/// The arguments that make the executable run the service in the foreground.
const RUN_ARGUMENTS: [&str; 2] = ["service", "run"];

/// How long one manager command may take before it is killed.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// How often a running command is looked at while its deadline has not passed.
const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// How long a finished command's output may take to arrive (a grandchild can hold the pipe).
const OUTPUT_GRACE: Duration = Duration::from_millis(500);

/// The most output kept from one command; the rest is read and dropped, so it never blocks.
const OUTPUT_LIMIT: u64 = 64 * 1024;

/// The largest login-item file read back; ours are a few hundred bytes.
#[cfg(any(target_os = "linux", target_os = "macos", test))]
const FILE_READ_LIMIT: u64 = 1024 * 1024;

/// Writes the login item for `exe`, hands it to the platform's manager and starts it where that is
/// possible now. Returns the message to print.
pub fn install(exe: &Path) -> anyhow::Result<String> {
    let env = pass_through_env()?;
    platform::install(exe, &env, Running::Change)
}

/// Stops the service the login item started and removes the item; removing a missing one is fine.
/// Returns the message to print.
pub fn uninstall() -> anyhow::Result<String> {
    platform::uninstall(Running::Change)
}

/// Writes and enables the login item like [`install`], but starts and restarts nothing: what the
/// running service calls when its "launch at login" setting is turned on, since `install` would
/// restart the service from under the call.
pub fn register_at_login(exe: &Path) -> anyhow::Result<String> {
    let env = pass_through_env()?;
    platform::install(exe, &env, Running::Leave)
}

/// Removes the login item like [`uninstall`], but stops nothing: what the running service calls
/// when its "launch at login" setting is turned off, since `uninstall` would stop the caller.
pub fn unregister_at_login() -> anyhow::Result<String> {
    platform::uninstall(Running::Leave)
}

/// Whether a change to the login item also starts, restarts or stops the service now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Running {
    /// Install starts it (or restarts it on a changed definition); uninstall stops it.
    Change,
    /// The running service, if any, is left as it is; the change counts from the next login.
    Leave,
}

/// Says whether the login item exists, whether it runs `exe`, and what the manager knows of it.
pub fn status(exe: &Path) -> anyhow::Result<String> {
    let env = pass_through_env()?;
    platform::status(exe, &env)
}

/// The pass-through variables set (and not empty) in this process's environment.
pub fn pass_through_env() -> anyhow::Result<Vec<(String, String)>> {
    pass_through_from(|name| std::env::var_os(name))
}

/// The rule of [`pass_through_env`] over any environment, for tests.
fn pass_through_from(
    lookup: impl Fn(&str) -> Option<OsString>,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut env = Vec::new();
    for name in PASS_THROUGH_ENV {
        let Some(value) = lookup(name).filter(|value| !value.is_empty()) else {
            continue;
        };
        let Some(value) = value.to_str() else {
            bail!("{name} is not valid UTF-8, so a login item cannot carry it");
        };
        env.push((name.to_owned(), value.to_owned()));
    }
    Ok(env)
}

/// Refuses anything but the pass-through variables, and anything that looks like a secret. The
/// error names the variable, never its value.
#[cfg(any(target_os = "linux", target_os = "macos", test))]
fn check_pass_through(env: &[(String, String)]) -> anyhow::Result<()> {
    for (name, value) in env {
        let upper = name.to_ascii_uppercase();
        if SECRET_NAME_MARKERS
            .iter()
            .any(|marker| upper.contains(marker))
            || value.contains(SECRET_VALUE_MARKER)
        {
            bail!(
                "{name} looks like a secret, and secrets never go into a login item: the service \
                 reads its API key from the keychain"
            );
        }
        if !PASS_THROUGH_ENV.contains(&name.as_str()) {
            bail!(
                "{name} is not one of the variables a login item passes on ({})",
                PASS_THROUGH_ENV.join(", ")
            );
        }
    }
    Ok(())
}

/// The executable as text: login-item files are UTF-8 and name it by an absolute path.
#[cfg(any(target_os = "linux", target_os = "macos", test))]
fn executable_text(exe: &Path) -> anyhow::Result<&str> {
    // `has_root` is `is_absolute` on Unix, where these files are used, and lets the tests of the
    // generators run anywhere.
    if !exe.has_root() {
        bail!(
            "the service's executable must be given by an absolute path, not {}",
            exe.display()
        );
    }
    exe.to_str().with_context(|| {
        format!(
            "the path of the executable ({}) is not valid UTF-8, so a login item cannot name it",
            exe.display()
        )
    })
}

/// `text` escaped for XML element content. Characters XML 1.0 cannot carry at all (control
/// characters, U+FFFE, U+FFFF) are refused rather than dropped, since dropping one would change a
/// path.
#[cfg(any(target_os = "macos", windows, test))]
fn xml_text(text: &str, what: &str) -> anyhow::Result<String> {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            c if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                bail!("{what} contains a control character, which XML cannot carry")
            }
            c => escaped.push(c),
        }
    }
    Ok(escaped)
}

/// Writes `contents` to `path` (creating its directory) unless the file already holds exactly
/// that; says whether it wrote. The new file replaces the old by a rename, so a manager never
/// reads half a file.
#[cfg(any(target_os = "linux", target_os = "macos", test))]
fn write_if_changed(path: &Path, contents: &[u8]) -> anyhow::Result<bool> {
    if read_bounded(path)?.as_deref() == Some(contents) {
        return Ok(false);
    }
    let dir = path
        .parent()
        .with_context(|| format!("{} has no parent directory", path.display()))?;
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let partial = dir.join(format!(".{name}.partial"));
    fs::write(&partial, contents).with_context(|| format!("cannot write {}", partial.display()))?;
    if let Err(e) = fs::rename(&partial, path) {
        let _ = fs::remove_file(&partial);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    Ok(true)
}

/// The file's bytes, or `None` when there is no such file; reads no more than `FILE_READ_LIMIT`.
#[cfg(any(target_os = "linux", target_os = "macos", test))]
fn read_bounded(path: &Path) -> anyhow::Result<Option<Vec<u8>>> {
    let file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let mut bytes = Vec::new();
    file.take(FILE_READ_LIMIT)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(Some(bytes))
}

/// Removes a file or symbolic link; says whether there was one.
#[cfg(any(target_os = "linux", target_os = "macos", test))]
fn remove_if_present(path: &Path) -> anyhow::Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", path.display())),
    }
}

/// What became of one manager command.
#[derive(Debug, Clone, PartialEq, Eq)]
enum CommandOutcome {
    /// It ran to its end.
    Exited {
        success: bool,
        stdout: String,
        stderr: String,
    },
    /// It could not be started (not installed, not permitted); the reason.
    NotStarted(String),
    /// It did not end within its time and was killed.
    TimedOut,
}

impl CommandOutcome {
    fn succeeded(&self) -> bool {
        matches!(self, Self::Exited { success: true, .. })
    }

    fn stdout(&self) -> &str {
        match self {
            Self::Exited { stdout, .. } => stdout.trim(),
            _ => "",
        }
    }

    /// The last thing the command said (its final complaint), for a message that only needs why.
    #[cfg(any(target_os = "linux", test))]
    fn last_line(&self) -> String {
        match self {
            Self::Exited { stdout, stderr, .. } => stdout
                .lines()
                .chain(stderr.lines())
                .map(str::trim)
                .rfind(|line| !line.is_empty())
                .map_or_else(|| self.describe(), str::to_owned),
            _ => self.describe(),
        }
    }

    /// One line saying what happened, for a message: the command's own complaint when it has one.
    fn describe(&self) -> String {
        match self {
            Self::Exited { stdout, stderr, .. } => {
                let said = if stderr.trim().is_empty() {
                    stdout.trim()
                } else {
                    stderr.trim()
                };
                let said = said.lines().map(str::trim).collect::<Vec<_>>().join(" ");
                if said.is_empty() {
                    "it failed and said nothing".to_owned()
                } else {
                    said
                }
            }
            Self::NotStarted(reason) => format!("it could not be run: {reason}"),
            Self::TimedOut => format!("it did not answer within {} s", COMMAND_TIMEOUT.as_secs()),
        }
    }
}

/// Runs the platform manager's commands; tests give a scripted one.
trait CommandRunner {
    fn run(&self, program: &str, args: &[&OsStr]) -> CommandOutcome;
}

/// The real commands, each killed when it overstays `timeout`.
#[derive(Debug, Clone, Copy)]
struct SystemRunner {
    timeout: Duration,
}

impl Default for SystemRunner {
    fn default() -> Self {
        Self {
            timeout: COMMAND_TIMEOUT,
        }
    }
}

impl CommandRunner for SystemRunner {
    fn run(&self, program: &str, args: &[&OsStr]) -> CommandOutcome {
        let mut command = Command::new(program);
        command.args(args);
        run_bounded(command, self.timeout)
    }
}

/// Runs `command` with no input, keeps the start of its output, and kills it at `timeout`.
fn run_bounded(mut command: Command, timeout: Duration) -> CommandOutcome {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return CommandOutcome::NotStarted(e.to_string()),
    };
    let stdout = child.stdout.take().map(read_in_background);
    let stderr = child.stderr.take().map(read_in_background);
    let deadline = Instant::now() + timeout;
    let waited = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL_INTERVAL),
            Ok(None) => break Err(None),
            Err(e) => break Err(Some(e)),
        }
    };
    let status = match waited {
        Ok(status) => status,
        Err(error) => {
            // Killed and reaped, so a command that hangs leaves neither a process nor a zombie.
            let _ = child.kill();
            let _ = child.wait();
            return match error {
                None => CommandOutcome::TimedOut,
                Some(e) => CommandOutcome::NotStarted(format!("could not wait for it: {e}")),
            };
        }
    };
    let grace = Instant::now() + OUTPUT_GRACE;
    CommandOutcome::Exited {
        success: status.success(),
        stdout: collect_output(stdout, grace),
        stderr: collect_output(stderr, grace),
    }
}

/// Reads a pipe on a thread of its own, so a command that writes a lot never blocks on it.
fn read_in_background(mut pipe: impl io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    // A thread that cannot start drops the pipe and the sender: the output is lost, and the
    // command still ends by its deadline.
    let _ = std::thread::Builder::new()
        .name("command-output".to_owned())
        .spawn(move || {
            let mut kept = Vec::new();
            let _ = (&mut pipe).take(OUTPUT_LIMIT).read_to_end(&mut kept);
            let _ = io::copy(&mut pipe, &mut io::sink());
            let _ = sender.send(String::from_utf8_lossy(&kept).into_owned());
        });
    receiver
}

fn collect_output(receiver: Option<mpsc::Receiver<String>>, grace: Instant) -> String {
    receiver
        .and_then(|receiver| {
            receiver
                .recv_timeout(grace.saturating_duration_since(Instant::now()))
                .ok()
        })
        .unwrap_or_default()
}

/// An absolute path from an environment variable; an empty or relative one counts as unset, as
/// the XDG base directory specification says. (`has_root` is `is_absolute` on Unix.)
#[cfg(any(target_os = "linux", target_os = "macos", test))]
fn absolute_dir(value: Option<OsString>) -> Option<PathBuf> {
    value.map(PathBuf::from).filter(|path| path.has_root())
}

#[cfg(any(target_os = "linux", test))]
pub mod systemd {
    //! The systemd user unit, in `$XDG_CONFIG_HOME/systemd/user` (`~/.config/systemd/user`).

    use super::*;

    /// The unit's name.
    pub const SYSTEMD_UNIT_NAME: &str = "claude-status.service";

    /// The target the unit is wanted by, so it starts when the user's manager starts (at login).
    const WANTED_BY: &str = "default.target";

    /// The user unit that runs `exe service run` and restarts it when it fails.
    pub fn systemd_unit(exe: &Path, env: &[(String, String)]) -> anyhow::Result<String> {
        check_pass_through(env)?;
        let exe = quote(executable_text(exe)?, "the path of the executable")?;
        let mut unit = String::from(
            "# Written by `claude-status service install`; `claude-status service uninstall` \
             removes it.\n\
             [Unit]\n\
             Description=Claude Status: the Claude API's health, watched for this user\n\
             # Five failed starts within five minutes mean the service cannot run here; systemd\n\
             # then stops retrying and `systemctl --user status` says why.\n\
             StartLimitIntervalSec=300\n\
             StartLimitBurst=5\n\
             \n\
             [Service]\n\
             # exec: a start counts as done once the executable runs, so a missing one is reported.\n\
             Type=exec\n",
        );
        unit.push_str(&format!("ExecStart={exe} {}\n", RUN_ARGUMENTS.join(" ")));
        // Exit status 3 is "a service already runs for this data directory": starting again
        // would only fail again.
        unit.push_str("Restart=on-failure\nRestartSec=5\nRestartPreventExitStatus=3\n");
        for (name, value) in env {
            let assignment = quote(&format!("{name}={value}"), name)?;
            unit.push_str(&format!("Environment={assignment}\n"));
        }
        unit.push_str(&format!("\n[Install]\nWantedBy={WANTED_BY}\n"));
        Ok(unit)
    }

    /// One word quoted for a unit file (systemd.syntax(7), "Quoting"): in double quotes, with `\`
    /// and `"` escaped, and `%` doubled because it starts a specifier everywhere in a unit. A
    /// `$` stays as it is: the executable's path is not subject to variable expansion, and
    /// `Environment=` does none. Control characters cannot be carried and are refused.
    fn quote(word: &str, what: &str) -> anyhow::Result<String> {
        let mut quoted = String::with_capacity(word.len() + 2);
        quoted.push('"');
        for c in word.chars() {
            match c {
                '\\' => quoted.push_str("\\\\"),
                '"' => quoted.push_str("\\\""),
                '%' => quoted.push_str("%%"),
                c if c.is_control() => {
                    bail!("{what} contains a control character, which a systemd unit cannot carry")
                }
                c => quoted.push(c),
            }
        }
        quoted.push('"');
        Ok(quoted)
    }

    /// Where user units live: `$XDG_CONFIG_HOME/systemd/user`, else `~/.config/systemd/user`,
    /// the same directory `systemctl --user` reads.
    #[cfg(target_os = "linux")]
    pub fn default_unit_dir() -> anyhow::Result<PathBuf> {
        unit_dir_from(
            std::env::var_os("XDG_CONFIG_HOME"),
            std::env::var_os("HOME"),
        )
        .context(
            "no home directory (HOME is unset), so there is nowhere to put a systemd user unit",
        )
    }

    /// The rule of `default_unit_dir` over given variables, for tests.
    pub(super) fn unit_dir_from(
        config_home: Option<OsString>,
        home: Option<OsString>,
    ) -> Option<PathBuf> {
        absolute_dir(config_home)
            .or_else(|| absolute_dir(home).map(|home| home.join(".config")))
            .map(|config| config.join("systemd").join("user"))
    }

    fn systemctl(runner: &impl CommandRunner, args: &[&str]) -> CommandOutcome {
        let mut all = vec![OsStr::new("--user")];
        all.extend(args.iter().map(OsStr::new));
        runner.run("systemctl", &all)
    }

    pub(super) fn install(
        unit_dir: &Path,
        exe: &Path,
        env: &[(String, String)],
        runner: &impl CommandRunner,
        running: Running,
    ) -> anyhow::Result<String> {
        let unit = systemd_unit(exe, env)?;
        let path = unit_dir.join(SYSTEMD_UNIT_NAME);
        let changed = write_if_changed(&path, unit.as_bytes())?;
        let written = if changed {
            format!("Wrote {}.", path.display())
        } else {
            format!("{} is already up to date.", path.display())
        };
        // Whether a user manager answers; when one does, it now knows the unit as written.
        let manager = systemctl(runner, &["daemon-reload"]);
        // `enable` links the unit into default.target.wants. It works without a running user
        // manager, and that link is what starts the service at the next login.
        let enable = systemctl(runner, &["enable", SYSTEMD_UNIT_NAME]);
        if let CommandOutcome::NotStarted(reason) = &enable {
            return Ok(format!(
                "{written}\nsystemctl could not be run ({reason}), so nothing enabled the unit: \
                 this system does not seem to use systemd. On one that does, \
                 `systemctl --user enable --now {SYSTEMD_UNIT_NAME}` starts it."
            ));
        }
        if !enable.succeeded() {
            bail!(
                "{written} But `systemctl --user enable {SYSTEMD_UNIT_NAME}` failed: {}",
                enable.describe()
            );
        }
        if running == Running::Leave {
            return Ok(format!(
                "{written}\nEnabled: it starts at every login; the running service, if any, is \
                 left as it is."
            ));
        }
        if !manager.succeeded() {
            return Ok(format!(
                "{written}\nEnabled: it starts at your next login. No systemd user manager \
                 answered here ({}), so it was not started now; in a session that has one, \
                 `systemctl --user enable --now {SYSTEMD_UNIT_NAME}` starts it.",
                manager.last_line()
            ));
        }
        // A changed unit is restarted, so what runs is what the file now says; an unchanged one
        // is only started, which leaves a running service alone.
        let verb = if changed { "restart" } else { "start" };
        let start = systemctl(runner, &[verb, SYSTEMD_UNIT_NAME]);
        match start {
            _ if start.succeeded() => Ok(format!(
                "{written}\nEnabled and started: it runs now, starts at every login and restarts \
                 when it fails (`systemctl --user status {SYSTEMD_UNIT_NAME}`)."
            )),
            CommandOutcome::TimedOut => Ok(format!(
                "{written}\nEnabled: it starts at every login. `systemctl --user {verb}` did not \
                 finish within {} s; `systemctl --user status {SYSTEMD_UNIT_NAME}` shows how the \
                 start went.",
                COMMAND_TIMEOUT.as_secs()
            )),
            _ => bail!(
                "{written} Enabled, but `systemctl --user {verb} {SYSTEMD_UNIT_NAME}` failed: {}; \
                 `journalctl --user -u {SYSTEMD_UNIT_NAME}` says more",
                start.describe()
            ),
        }
    }

    pub(super) fn uninstall(
        unit_dir: &Path,
        runner: &impl CommandRunner,
        running: Running,
    ) -> anyhow::Result<String> {
        let path = unit_dir.join(SYSTEMD_UNIT_NAME);
        let link = unit_dir
            .join(format!("{WANTED_BY}.wants"))
            .join(SYSTEMD_UNIT_NAME);
        let has_unit = path.symlink_metadata().is_ok();
        if !has_unit && link.symlink_metadata().is_err() {
            return Ok(format!(
                "Nothing to remove: {} does not exist.",
                path.display()
            ));
        }
        let mut said = Vec::new();
        let mut stopped = false;
        if has_unit && running == Running::Leave {
            let disable = systemctl(runner, &["disable", SYSTEMD_UNIT_NAME]);
            said.push(if disable.succeeded() {
                format!(
                    "Disabled {SYSTEMD_UNIT_NAME}; the running service, if any, is left as it is."
                )
            } else {
                format!(
                    "`systemctl --user disable` failed ({}); the files go anyway.",
                    disable.describe()
                )
            });
        } else if has_unit {
            let disable_now = systemctl(runner, &["disable", "--now", SYSTEMD_UNIT_NAME]);
            if disable_now.succeeded() {
                stopped = true;
                said.push(format!("Stopped and disabled {SYSTEMD_UNIT_NAME}."));
            } else {
                // Without a user manager `--now` cannot stop anything; the links still go.
                let disable = systemctl(runner, &["disable", SYSTEMD_UNIT_NAME]);
                if disable.succeeded() {
                    said.push(format!(
                        "Disabled {SYSTEMD_UNIT_NAME}; no systemd user manager answered ({}), so \
                         nothing was stopped.",
                        disable_now.last_line()
                    ));
                } else {
                    said.push(format!(
                        "`systemctl --user disable` failed ({}); the files go anyway.",
                        disable.describe()
                    ));
                }
            }
        }
        // The link is removed by hand too, for when systemctl could not do it.
        remove_if_present(&link)?;
        remove_if_present(&path)?;
        said.push(format!("Removed {}.", path.display()));
        if stopped {
            // The manager forgets the unit (and any failed state it kept) now, not at next login.
            let _ = systemctl(runner, &["daemon-reload"]);
            let _ = systemctl(runner, &["reset-failed", SYSTEMD_UNIT_NAME]);
        }
        Ok(said.join("\n"))
    }

    pub(super) fn status(
        unit_dir: &Path,
        exe: &Path,
        env: &[(String, String)],
        runner: &impl CommandRunner,
    ) -> anyhow::Result<String> {
        let path = unit_dir.join(SYSTEMD_UNIT_NAME);
        let mut lines = vec![format!(
            "Start at login: systemd user unit {}",
            path.display()
        )];
        match read_bounded(&path)? {
            None => {
                lines.push("  file: missing (`claude-status service install` writes it)".to_owned())
            }
            Some(bytes) => {
                let found = String::from_utf8_lossy(&bytes);
                let expected = systemd_unit(exe, env)?;
                let exec_start = expected
                    .lines()
                    .find(|line| line.starts_with("ExecStart="))
                    .unwrap_or_default();
                if found == expected {
                    lines.push(format!(
                        "  file: present, runs this executable ({}), up to date",
                        exe.display()
                    ));
                } else if found.lines().any(|line| line == exec_start) {
                    lines.push(format!(
                        "  file: present, runs this executable ({}), but differs from what \
                         `service install` writes now (run it again to update)",
                        exe.display()
                    ));
                } else {
                    let theirs = found
                        .lines()
                        .find(|line| line.starts_with("ExecStart="))
                        .unwrap_or("no ExecStart= line");
                    lines.push(format!(
                        "  file: present, but runs another executable ({theirs}); \
                         `claude-status service install` points it at {}",
                        exe.display()
                    ));
                }
            }
        }
        for (label, query) in [("enabled", "is-enabled"), ("active", "is-active")] {
            let outcome = systemctl(runner, &[query, SYSTEMD_UNIT_NAME]);
            // is-enabled and is-active print the state even when they exit non-zero for it.
            let state = match outcome.stdout() {
                "" => format!("unknown ({})", outcome.describe()),
                state => state.to_owned(),
            };
            lines.push(format!("  {label}: {state}"));
        }
        Ok(lines.join("\n"))
    }
}

#[cfg(any(target_os = "macos", test))]
pub mod launchd {
    //! The launchd agent, in `~/Library/LaunchAgents`, loaded into the user's GUI domain.

    use super::*;

    /// The agent's label, and the name of its file.
    pub const LAUNCHD_LABEL: &str = "dev.claude-status.service";

    /// How many times a bootstrap is tried: launchd can still be unloading the old definition.
    const BOOTSTRAP_ATTEMPTS: u32 = 3;

    /// Where the agent and its log live.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct LaunchdPaths {
        /// `~/Library/LaunchAgents`.
        pub agents_dir: PathBuf,
        /// `~/Library/Logs/claude-status`.
        pub log_dir: PathBuf,
    }

    impl LaunchdPaths {
        pub fn for_home(home: &Path) -> Self {
            Self {
                agents_dir: home.join("Library").join("LaunchAgents"),
                log_dir: home.join("Library").join("Logs").join("claude-status"),
            }
        }

        pub fn plist(&self) -> PathBuf {
            self.agents_dir.join(format!("{LAUNCHD_LABEL}.plist"))
        }

        pub fn log_file(&self) -> PathBuf {
            self.log_dir.join("service.log")
        }
    }

    /// The agent that runs `exe service run` at login and again whenever it exits with a failure;
    /// its output goes to `log_file`.
    pub fn launchd_plist(
        exe: &Path,
        log_file: &Path,
        env: &[(String, String)],
    ) -> anyhow::Result<String> {
        check_pass_through(env)?;
        let exe = xml_text(executable_text(exe)?, "the path of the executable")?;
        let log = xml_text(
            log_file
                .to_str()
                .context("the log file's path is not valid UTF-8")?,
            "the log file's path",
        )?;
        let mut plist = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \
             \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
             <plist version=\"1.0\">\n\
             <dict>\n",
        );
        plist.push_str(&format!(
            "\t<key>Label</key>\n\t<string>{LAUNCHD_LABEL}</string>\n"
        ));
        plist.push_str(&format!(
            "\t<key>ProgramArguments</key>\n\t<array>\n\t\t<string>{exe}</string>\n"
        ));
        for argument in RUN_ARGUMENTS {
            plist.push_str(&format!("\t\t<string>{argument}</string>\n"));
        }
        plist.push_str("\t</array>\n");
        plist.push_str("\t<key>RunAtLoad</key>\n\t<true/>\n");
        // Restarted after a failure only: `claude-status service stop` ends it with success.
        plist.push_str(
            "\t<key>KeepAlive</key>\n\t<dict>\n\t\t<key>SuccessfulExit</key>\n\t\t<false/>\n\t</dict>\n",
        );
        plist.push_str(&format!(
            "\t<key>StandardOutPath</key>\n\t<string>{log}</string>\n"
        ));
        plist.push_str(&format!(
            "\t<key>StandardErrorPath</key>\n\t<string>{log}</string>\n"
        ));
        if !env.is_empty() {
            plist.push_str("\t<key>EnvironmentVariables</key>\n\t<dict>\n");
            for (name, value) in env {
                let value = xml_text(value, name)?;
                plist.push_str(&format!(
                    "\t\t<key>{name}</key>\n\t\t<string>{value}</string>\n"
                ));
            }
            plist.push_str("\t</dict>\n");
        }
        plist.push_str("</dict>\n</plist>\n");
        Ok(plist)
    }

    fn launchctl(runner: &impl CommandRunner, args: &[&str]) -> CommandOutcome {
        let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        runner.run("launchctl", &args)
    }

    /// The user's id, which names the GUI domain (`gui/<uid>`).
    fn current_uid(runner: &impl CommandRunner) -> anyhow::Result<u32> {
        let outcome = runner.run("id", &[OsStr::new("-u")]);
        if !outcome.succeeded() {
            bail!("`id -u` failed: {}", outcome.describe());
        }
        outcome
            .stdout()
            .parse()
            .with_context(|| format!("`id -u` answered {:?}, not a user id", outcome.stdout()))
    }

    pub(super) fn install(
        paths: &LaunchdPaths,
        exe: &Path,
        env: &[(String, String)],
        runner: &impl CommandRunner,
        running: Running,
        retry_pause: Duration,
    ) -> anyhow::Result<String> {
        let plist = launchd_plist(exe, &paths.log_file(), env)?;
        // launchd opens the log file but does not make its directory.
        fs::create_dir_all(&paths.log_dir)
            .with_context(|| format!("cannot create {}", paths.log_dir.display()))?;
        let path = paths.plist();
        let changed = write_if_changed(&path, plist.as_bytes())?;
        let written = if changed {
            format!("Wrote {}.", path.display())
        } else {
            format!("{} is already up to date.", path.display())
        };
        let uid = current_uid(runner)?;
        let domain = format!("gui/{uid}");
        let target = format!("{domain}/{LAUNCHD_LABEL}");
        let logs = format!("Logs: {}.", paths.log_file().display());
        if running == Running::Leave {
            // launchd loads every agent in ~/Library/LaunchAgents at login; this only lifts a
            // `launchctl disable` that would stop it.
            let _ = launchctl(runner, &["enable", &target]);
            return Ok(format!(
                "{written}\nIt starts at every login; the running service, if any, is left as it \
                 is. {logs}"
            ));
        }
        if !launchctl(runner, &["print", &domain]).succeeded() {
            return Ok(format!(
                "{written}\nNo graphical login session here (launchd has no {domain}), so it was \
                 not loaded now: launchd loads it at your next login. {logs}"
            ));
        }
        let loaded = launchctl(runner, &["print", &target]).succeeded();
        if loaded && !changed {
            return Ok(format!(
                "{written}\nIt is loaded and starts at every login. {logs}"
            ));
        }
        if loaded {
            // bootstrap refuses a label that is loaded, so the old definition leaves first.
            let _ = launchctl(runner, &["bootout", &target]);
        }
        // A job disabled earlier (`launchctl disable`) stays disabled across bootstraps.
        let _ = launchctl(runner, &["enable", &target]);
        let plist_path = path
            .to_str()
            .with_context(|| format!("{} is not valid UTF-8", path.display()))?;
        let mut outcome = launchctl(runner, &["bootstrap", &domain, plist_path]);
        for _ in 1..BOOTSTRAP_ATTEMPTS {
            if outcome.succeeded() {
                break;
            }
            std::thread::sleep(retry_pause);
            outcome = launchctl(runner, &["bootstrap", &domain, plist_path]);
        }
        if !outcome.succeeded() {
            bail!(
                "{written} But `launchctl bootstrap {domain}` failed: {}",
                outcome.describe()
            );
        }
        Ok(format!(
            "{written}\nLoaded into launchd: it runs now, starts at every login and restarts when \
             it fails. {logs}"
        ))
    }

    pub(super) fn uninstall(
        paths: &LaunchdPaths,
        runner: &impl CommandRunner,
        running: Running,
    ) -> anyhow::Result<String> {
        let path = paths.plist();
        if running == Running::Leave {
            // A loaded job stays loaded (and running) until logout; without its file, launchd
            // does not load it again.
            return Ok(if remove_if_present(&path)? {
                format!(
                    "Removed {}; the running service, if any, is left as it is.",
                    path.display()
                )
            } else {
                format!("Nothing to remove: {} does not exist.", path.display())
            });
        }
        let uid = current_uid(runner)?;
        let target = format!("gui/{uid}/{LAUNCHD_LABEL}");
        // bootout fails when the job is not loaded, which is what uninstall wants anyway.
        let unloaded = launchctl(runner, &["bootout", &target]).succeeded();
        let removed = remove_if_present(&path)?;
        Ok(match (unloaded, removed) {
            (false, false) => format!("Nothing to remove: {} does not exist.", path.display()),
            (true, false) => format!(
                "Stopped and unloaded {LAUNCHD_LABEL}; {} was already gone.",
                path.display()
            ),
            (false, true) => format!("Removed {} (it was not loaded).", path.display()),
            (true, true) => format!(
                "Stopped and unloaded {LAUNCHD_LABEL}; removed {}.",
                path.display()
            ),
        })
    }

    pub(super) fn status(
        paths: &LaunchdPaths,
        exe: &Path,
        env: &[(String, String)],
        runner: &impl CommandRunner,
    ) -> anyhow::Result<String> {
        let path = paths.plist();
        let mut lines = vec![format!("Start at login: launchd agent {}", path.display())];
        match read_bounded(&path)? {
            None => {
                lines.push("  file: missing (`claude-status service install` writes it)".to_owned())
            }
            Some(bytes) => {
                let found = String::from_utf8_lossy(&bytes);
                let expected = launchd_plist(exe, &paths.log_file(), env)?;
                let program = format!(
                    "<string>{}</string>",
                    xml_text(executable_text(exe)?, "the path of the executable")?
                );
                lines.push(if found == expected {
                    format!(
                        "  file: present, runs this executable ({}), up to date",
                        exe.display()
                    )
                } else if found.contains(&program) {
                    format!(
                        "  file: present, runs this executable ({}), but differs from what \
                         `service install` writes now (run it again to update)",
                        exe.display()
                    )
                } else {
                    format!(
                        "  file: present, but runs another executable; \
                         `claude-status service install` points it at {}",
                        exe.display()
                    )
                });
            }
        }
        let uid = current_uid(runner)?;
        let printed = launchctl(runner, &["print", &format!("gui/{uid}/{LAUNCHD_LABEL}")]);
        if printed.succeeded() {
            let details: Vec<&str> = printed
                .stdout()
                .lines()
                .map(str::trim)
                .filter(|line| {
                    ["state =", "pid =", "last exit code ="]
                        .iter()
                        .any(|key| line.starts_with(key))
                })
                .collect();
            lines.push(format!("  loaded: yes ({})", details.join(", ")));
        } else {
            lines.push(format!("  loaded: no ({})", printed.describe()));
        }
        lines.push(format!("  log: {}", paths.log_file().display()));
        Ok(lines.join("\n"))
    }
}

#[cfg(any(windows, test))]
pub mod task_scheduler {
    //! The per-user scheduled task, registered with `schtasks` from a Task Scheduler 1.2 XML.

    use super::*;

    /// The task's name.
    pub const WINDOWS_TASK_NAME: &str = "Claude Status service";

    /// The task that runs `exe service run` at each logon of `user` (`DOMAIN\name`) with that
    /// user's rights, for as long as it likes, and restarts it when it fails.
    pub fn windows_task_xml(exe: &Path, user: &str) -> anyhow::Result<String> {
        let exe = exe
            .to_str()
            .context("the path of the executable is not valid UTF-8")?;
        if exe.contains('"') {
            bail!("the path of the executable contains a double quote");
        }
        // Quoted, because the Task Scheduler splits an unquoted Command at its first space.
        let command = xml_text(&format!("\"{exe}\""), "the path of the executable")?;
        let user = xml_text(user, "the user's name")?;
        let arguments = RUN_ARGUMENTS.join(" ");
        Ok(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n\
             <Task version=\"1.2\" xmlns=\"http://schemas.microsoft.com/windows/2004/02/mit/task\">\n\
             \x20 <RegistrationInfo>\n\
             \x20   <Description>Runs the Claude Status service at logon. Written by claude-status service install; claude-status service uninstall removes it.</Description>\n\
             \x20 </RegistrationInfo>\n\
             \x20 <Triggers>\n\
             \x20   <LogonTrigger>\n\
             \x20     <Enabled>true</Enabled>\n\
             \x20     <UserId>{user}</UserId>\n\
             \x20   </LogonTrigger>\n\
             \x20 </Triggers>\n\
             \x20 <Principals>\n\
             \x20   <Principal id=\"Author\">\n\
             \x20     <UserId>{user}</UserId>\n\
             \x20     <LogonType>InteractiveToken</LogonType>\n\
             \x20     <RunLevel>LeastPrivilege</RunLevel>\n\
             \x20   </Principal>\n\
             \x20 </Principals>\n\
             \x20 <Settings>\n\
             \x20   <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>\n\
             \x20   <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>\n\
             \x20   <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>\n\
             \x20   <AllowHardTerminate>true</AllowHardTerminate>\n\
             \x20   <StartWhenAvailable>false</StartWhenAvailable>\n\
             \x20   <RunOnlyIfNetworkAvailable>false</RunOnlyIfNetworkAvailable>\n\
             \x20   <AllowStartOnDemand>true</AllowStartOnDemand>\n\
             \x20   <Enabled>true</Enabled>\n\
             \x20   <Hidden>false</Hidden>\n\
             \x20   <RunOnlyIfIdle>false</RunOnlyIfIdle>\n\
             \x20   <WakeToRun>false</WakeToRun>\n\
             \x20   <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>\n\
             \x20   <!-- Normal priority: the default, 7, is below normal, and the gateway is on the path of the user's requests. -->\n\
             \x20   <Priority>5</Priority>\n\
             \x20   <RestartOnFailure>\n\
             \x20     <Interval>PT1M</Interval>\n\
             \x20     <Count>3</Count>\n\
             \x20   </RestartOnFailure>\n\
             \x20 </Settings>\n\
             \x20 <Actions Context=\"Author\">\n\
             \x20   <Exec>\n\
             \x20     <Command>{command}</Command>\n\
             \x20     <Arguments>{arguments}</Arguments>\n\
             \x20   </Exec>\n\
             \x20 </Actions>\n\
             </Task>\n"
        ))
    }

    /// `text` as UTF-16LE with a byte-order mark, the encoding `schtasks /XML` reads a file in.
    pub fn utf16le_with_bom(text: &str) -> Vec<u8> {
        std::iter::once(0xFEFF_u16)
            .chain(text.encode_utf16())
            .flat_map(u16::to_le_bytes)
            .collect()
    }

    /// The account the task is for: `DOMAIN\name` from `USERDOMAIN` and `USERNAME`.
    pub(super) fn current_user(
        domain: Option<String>,
        name: Option<String>,
    ) -> anyhow::Result<String> {
        let name = name
            .filter(|name| !name.is_empty())
            .context("USERNAME is not set, so the task cannot say whose logon starts it")?;
        Ok(match domain.filter(|domain| !domain.is_empty()) {
            Some(domain) => format!("{domain}\\{name}"),
            None => name,
        })
    }

    fn schtasks(runner: &impl CommandRunner, args: &[&str]) -> CommandOutcome {
        let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        runner.run("schtasks", &args)
    }

    pub(super) fn install(
        scratch_dir: &Path,
        exe: &Path,
        user: &str,
        runner: &impl CommandRunner,
        running: Running,
    ) -> anyhow::Result<String> {
        let xml = windows_task_xml(exe, user)?;
        let file = scratch_dir.join(format!("claude-status-task-{}.xml", std::process::id()));
        fs::write(&file, utf16le_with_bom(&xml))
            .with_context(|| format!("cannot write {}", file.display()))?;
        let create = runner.run(
            "schtasks",
            &[
                OsStr::new("/Create"),
                OsStr::new("/TN"),
                OsStr::new(WINDOWS_TASK_NAME),
                OsStr::new("/XML"),
                file.as_os_str(),
                OsStr::new("/F"),
            ],
        );
        let _ = fs::remove_file(&file);
        if !create.succeeded() {
            bail!(
                "`schtasks /Create` did not register the task \"{WINDOWS_TASK_NAME}\": {}",
                create.describe()
            );
        }
        let registered = format!(
            "Registered the scheduled task \"{WINDOWS_TASK_NAME}\": it starts at every logon of \
             {user} and is restarted (up to 3 times, a minute apart) when it fails."
        );
        if running == Running::Leave {
            return Ok(registered);
        }
        // With IgnoreNew, running it while an instance runs changes nothing.
        let run = schtasks(runner, &["/Run", "/TN", WINDOWS_TASK_NAME]);
        Ok(if run.succeeded() {
            format!("{registered}\nStarted it now.")
        } else {
            format!(
                "{registered}\nIt could not be started now ({}); it starts at your next logon.",
                run.describe()
            )
        })
    }

    pub(super) fn uninstall(
        runner: &impl CommandRunner,
        running: Running,
    ) -> anyhow::Result<String> {
        let query = schtasks(runner, &["/Query", "/TN", WINDOWS_TASK_NAME]);
        match &query {
            CommandOutcome::Exited { success: false, .. } => {
                return Ok(format!(
                    "Nothing to remove: there is no scheduled task \"{WINDOWS_TASK_NAME}\"."
                ))
            }
            CommandOutcome::Exited { success: true, .. } => {}
            _ => bail!("`schtasks /Query` failed: {}", query.describe()),
        }
        // Deleting a task leaves its running instance alone; ending it first stops the service.
        let ended = running == Running::Change
            && schtasks(runner, &["/End", "/TN", WINDOWS_TASK_NAME]).succeeded();
        let delete = schtasks(runner, &["/Delete", "/TN", WINDOWS_TASK_NAME, "/F"]);
        if !delete.succeeded() {
            bail!(
                "`schtasks /Delete` did not remove \"{WINDOWS_TASK_NAME}\": {}",
                delete.describe()
            );
        }
        Ok(if ended {
            format!("Ended and removed the scheduled task \"{WINDOWS_TASK_NAME}\".")
        } else if running == Running::Leave {
            format!(
                "Removed the scheduled task \"{WINDOWS_TASK_NAME}\"; the running service, if any, \
                 is left as it is."
            )
        } else {
            format!("Removed the scheduled task \"{WINDOWS_TASK_NAME}\" (it was not running).")
        })
    }

    pub(super) fn status(exe: &Path, runner: &impl CommandRunner) -> anyhow::Result<String> {
        let mut lines = vec![format!(
            "Start at login: scheduled task \"{WINDOWS_TASK_NAME}\""
        )];
        let xml = schtasks(runner, &["/Query", "/TN", WINDOWS_TASK_NAME, "/XML"]);
        if !xml.succeeded() {
            lines.push(format!(
                "  task: missing or unreadable ({}); `claude-status service install` registers it",
                xml.describe()
            ));
            return Ok(lines.join("\n"));
        }
        let command = exe
            .to_str()
            .and_then(|exe| xml_text(exe, "the path of the executable").ok());
        lines.push(match command {
            Some(command) if xml.stdout().contains(&command) => format!(
                "  task: registered, runs this executable ({})",
                exe.display()
            ),
            _ => format!(
                "  task: registered, but runs another executable; \
                 `claude-status service install` points it at {}",
                exe.display()
            ),
        });
        let list = schtasks(runner, &["/Query", "/TN", WINDOWS_TASK_NAME, "/FO", "LIST"]);
        if list.succeeded() {
            lines.extend(
                list.stdout()
                    .lines()
                    .map(str::trim)
                    .filter(|line| !line.is_empty())
                    .map(|line| format!("  {line}")),
            );
        }
        Ok(lines.join("\n"))
    }
}

#[cfg(target_os = "linux")]
mod platform {
    use super::*;

    pub(super) fn install(
        exe: &Path,
        env: &[(String, String)],
        running: Running,
    ) -> anyhow::Result<String> {
        systemd::install(
            &systemd::default_unit_dir()?,
            exe,
            env,
            &SystemRunner::default(),
            running,
        )
    }

    pub(super) fn uninstall(running: Running) -> anyhow::Result<String> {
        systemd::uninstall(
            &systemd::default_unit_dir()?,
            &SystemRunner::default(),
            running,
        )
    }

    pub(super) fn status(exe: &Path, env: &[(String, String)]) -> anyhow::Result<String> {
        systemd::status(
            &systemd::default_unit_dir()?,
            exe,
            env,
            &SystemRunner::default(),
        )
    }
}

#[cfg(target_os = "macos")]
mod platform {
    use super::*;

    /// How long to wait before trying a bootstrap again.
    const BOOTSTRAP_RETRY_PAUSE: Duration = Duration::from_millis(500);

    fn paths() -> anyhow::Result<launchd::LaunchdPaths> {
        let home = absolute_dir(std::env::var_os("HOME")).context(
            "no home directory (HOME is unset), so there is nowhere to put a launchd agent",
        )?;
        Ok(launchd::LaunchdPaths::for_home(&home))
    }

    pub(super) fn install(
        exe: &Path,
        env: &[(String, String)],
        running: Running,
    ) -> anyhow::Result<String> {
        launchd::install(
            &paths()?,
            exe,
            env,
            &SystemRunner::default(),
            running,
            BOOTSTRAP_RETRY_PAUSE,
        )
    }

    pub(super) fn uninstall(running: Running) -> anyhow::Result<String> {
        launchd::uninstall(&paths()?, &SystemRunner::default(), running)
    }

    pub(super) fn status(exe: &Path, env: &[(String, String)]) -> anyhow::Result<String> {
        launchd::status(&paths()?, exe, env, &SystemRunner::default())
    }
}

#[cfg(windows)]
mod platform {
    use super::*;

    pub(super) fn install(
        exe: &Path,
        env: &[(String, String)],
        running: Running,
    ) -> anyhow::Result<String> {
        let user = task_scheduler::current_user(
            std::env::var("USERDOMAIN").ok(),
            std::env::var("USERNAME").ok(),
        )?;
        let registered = task_scheduler::install(
            &std::env::temp_dir(),
            exe,
            &user,
            &SystemRunner::default(),
            running,
        )?;
        // A scheduled task has no environment of its own to carry these in.
        Ok(if env.is_empty() {
            registered
        } else {
            let names: Vec<&str> = env.iter().map(|(name, _)| name.as_str()).collect();
            format!(
                "{registered}\nNote: {} is not carried into the task; set it for your account \
                 (System Properties, Environment Variables) so the service sees it.",
                names.join(" and ")
            )
        })
    }

    pub(super) fn uninstall(running: Running) -> anyhow::Result<String> {
        task_scheduler::uninstall(&SystemRunner::default(), running)
    }

    pub(super) fn status(exe: &Path, _env: &[(String, String)]) -> anyhow::Result<String> {
        task_scheduler::status(exe, &SystemRunner::default())
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
mod platform {
    use super::*;

    const UNSUPPORTED: &str = "starting the service at login is supported on Linux (systemd), \
                               macOS (launchd) and Windows (Task Scheduler) only; run \
                               `claude-status service run` from your own init system";

    pub(super) fn install(
        _exe: &Path,
        _env: &[(String, String)],
        _running: Running,
    ) -> anyhow::Result<String> {
        bail!(UNSUPPORTED)
    }

    pub(super) fn uninstall(_running: Running) -> anyhow::Result<String> {
        bail!(UNSUPPORTED)
    }

    pub(super) fn status(_exe: &Path, _env: &[(String, String)]) -> anyhow::Result<String> {
        bail!(UNSUPPORTED)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::launchd::{launchd_plist, LaunchdPaths};
    use super::systemd::{systemd_unit, SYSTEMD_UNIT_NAME};
    use super::task_scheduler::{utf16le_with_bom, windows_task_xml};
    use super::*;

    /// How a scripted runner answers: from the command line as one string, and its arguments.
    type Answer = Box<dyn Fn(&str, &[&OsStr]) -> CommandOutcome>;

    /// A runner that records every command and answers from a script.
    struct ScriptedRunner {
        calls: RefCell<Vec<String>>,
        answer: Answer,
    }

    impl ScriptedRunner {
        fn new(answer: impl Fn(&str) -> CommandOutcome + 'static) -> Self {
            Self::with_args(move |line, _| answer(line))
        }

        fn with_args(answer: impl Fn(&str, &[&OsStr]) -> CommandOutcome + 'static) -> Self {
            Self {
                calls: RefCell::new(Vec::new()),
                answer: Box::new(answer),
            }
        }

        fn calls(&self) -> Vec<String> {
            self.calls.borrow().clone()
        }
    }

    impl CommandRunner for ScriptedRunner {
        fn run(&self, program: &str, args: &[&OsStr]) -> CommandOutcome {
            let mut line = program.to_owned();
            for arg in args {
                line.push(' ');
                line.push_str(&arg.to_string_lossy());
            }
            self.calls.borrow_mut().push(line.clone());
            (self.answer)(&line, args)
        }
    }

    fn ok(stdout: &str) -> CommandOutcome {
        CommandOutcome::Exited {
            success: true,
            stdout: stdout.to_owned(),
            stderr: String::new(),
        }
    }

    fn failed(stdout: &str, stderr: &str) -> CommandOutcome {
        CommandOutcome::Exited {
            success: false,
            stdout: stdout.to_owned(),
            stderr: stderr.to_owned(),
        }
    }

    fn no_bus() -> CommandOutcome {
        failed("", "Failed to connect to bus: No medium found\n")
    }

    fn env_of(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    // --- A minimal XML reader over quick-xml, so the tests check structure, not substrings. ---

    #[derive(Debug, Default)]
    struct Element {
        name: String,
        attributes: Vec<(String, String)>,
        children: Vec<Element>,
        text: String,
    }

    impl Element {
        fn child(&self, name: &str) -> &Element {
            let mut found = self.children.iter().filter(|child| child.name == name);
            let child = found
                .next()
                .unwrap_or_else(|| panic!("<{}> has no <{name}>", self.name));
            assert!(found.next().is_none(), "<{}> has two <{name}>", self.name);
            child
        }

        fn at(&self, path: &[&str]) -> &Element {
            path.iter().fold(self, |element, name| element.child(name))
        }

        fn text_at(&self, path: &[&str]) -> &str {
            &self.at(path).text
        }
    }

    /// Parses a whole document into its root element; panics on anything not well-formed.
    fn parse_xml(text: &str) -> Element {
        use quick_xml::events::{BytesStart, Event};

        fn open(start: &BytesStart<'_>) -> Element {
            let name = start.name().as_ref().to_owned();
            let attributes = start
                .attributes()
                .map(|attribute| {
                    let attribute = attribute.expect("a well-formed attribute");
                    (
                        attribute.key.as_ref().to_owned(),
                        attribute
                            .normalized_value(quick_xml::XmlVersion::Explicit1_0)
                            .expect("an attribute value that unescapes")
                            .into_owned(),
                    )
                })
                .collect();
            Element {
                name,
                attributes,
                ..Element::default()
            }
        }

        let mut reader = quick_xml::Reader::from_str(text);
        let mut stack: Vec<Element> = Vec::new();
        let mut root = None;
        loop {
            let event = reader.read_event().expect("well-formed XML");
            match event {
                Event::Start(start) => {
                    assert!(root.is_none(), "content after the root element");
                    stack.push(open(&start));
                }
                Event::Empty(start) => {
                    assert!(root.is_none(), "content after the root element");
                    let element = open(&start);
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(element),
                        None => root = Some(element),
                    }
                }
                Event::End(_) => {
                    // quick-xml has already checked that the end tag names the open element.
                    let mut element = stack.pop().expect("an open element");
                    element.text = element.text.trim().to_owned();
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(element),
                        None => root = Some(element),
                    }
                }
                Event::Text(text) => match stack.last_mut() {
                    Some(element) => element.text.push_str(&text),
                    None => assert!(text.trim().is_empty(), "text outside the root: {text:?}"),
                },
                Event::GeneralRef(reference) => {
                    let resolved = match reference.resolve_char_ref().expect("a character") {
                        Some(c) => c.to_string(),
                        None => quick_xml::escape::resolve_predefined_entity(&reference)
                            .unwrap_or_else(|| panic!("unknown entity &{};", &*reference))
                            .to_owned(),
                    };
                    stack
                        .last_mut()
                        .expect("a reference inside an element")
                        .text
                        .push_str(&resolved);
                }
                Event::CData(_) | Event::PI(_) => panic!("unexpected {event:?}"),
                Event::Decl(_) | Event::DocType(_) | Event::Comment(_) => {}
                Event::Eof => break,
            }
        }
        assert!(stack.is_empty(), "unclosed elements: {stack:?}");
        root.expect("a root element")
    }

    /// A property list value, read from a parsed `<plist>` document.
    #[derive(Debug, PartialEq)]
    enum Plist {
        String(String),
        Bool(bool),
        Array(Vec<Plist>),
        Dict(Vec<(String, Plist)>),
    }

    fn plist_value(element: &Element) -> Plist {
        match element.name.as_str() {
            "string" => Plist::String(element.text.clone()),
            "true" | "false" => {
                assert!(element.children.is_empty() && element.text.is_empty());
                Plist::Bool(element.name == "true")
            }
            "array" => Plist::Array(element.children.iter().map(plist_value).collect()),
            "dict" => {
                assert!(
                    element.children.len().is_multiple_of(2),
                    "a <dict> holds key and value pairs"
                );
                Plist::Dict(
                    element
                        .children
                        .chunks(2)
                        .map(|pair| {
                            assert_eq!(pair[0].name, "key", "a <dict> entry starts with <key>");
                            (pair[0].text.clone(), plist_value(&pair[1]))
                        })
                        .collect(),
                )
            }
            other => panic!("unexpected plist element <{other}>"),
        }
    }

    fn parse_plist(text: &str) -> Plist {
        let root = parse_xml(text);
        assert_eq!(root.name, "plist");
        assert_eq!(
            root.attributes,
            vec![("version".to_owned(), "1.0".to_owned())]
        );
        assert_eq!(root.children.len(), 1, "a plist holds one value");
        plist_value(&root.children[0])
    }

    fn string(text: &str) -> Plist {
        Plist::String(text.to_owned())
    }

    // --- Environment pass-through and secrets. ---

    #[test]
    fn pass_through_reads_only_the_set_path_variables() {
        let env = pass_through_from(|name| match name {
            "CLAUDE_STATUS_DATA_DIR" => Some("/home/a/data".into()),
            "CLAUDE_STATUS_SOCKET" => Some("".into()),
            _ => Some("never asked".into()),
        })
        .unwrap();
        assert_eq!(env, env_of(&[("CLAUDE_STATUS_DATA_DIR", "/home/a/data")]));
        assert_eq!(
            PASS_THROUGH_ENV,
            ["CLAUDE_STATUS_DATA_DIR", "CLAUDE_STATUS_SOCKET"]
        );
    }

    #[cfg(unix)]
    #[test]
    fn pass_through_refuses_a_value_that_is_not_utf8() {
        use std::os::unix::ffi::OsStringExt as _;
        let error = pass_through_from(|name| {
            (name == "CLAUDE_STATUS_SOCKET").then(|| OsString::from_vec(vec![b'/', 0xff]))
        })
        .unwrap_err();
        assert!(
            error.to_string().contains("CLAUDE_STATUS_SOCKET"),
            "{error}"
        );
    }

    #[test]
    fn every_generator_refuses_secrets_and_never_repeats_them() {
        let exe = Path::new("/usr/bin/claude-status");
        let log = Path::new("/Users/a/Library/Logs/claude-status/service.log");
        let secret = "sk-ant-fake";
        for env in [
            env_of(&[("ANTHROPIC_API_KEY", secret)]),
            env_of(&[("ANTHROPIC_ADMIN_KEY", secret)]),
            env_of(&[("anthropic_api_key", secret)]),
            env_of(&[("CLAUDE_STATUS_DATA_DIR", "/d"), ("GITHUB_TOKEN", secret)]),
            env_of(&[("CLAUDE_STATUS_DATA_DIR", secret)]),
        ] {
            for result in [systemd_unit(exe, &env), launchd_plist(exe, log, &env)] {
                let error = result.expect_err("a secret must be refused");
                let message = format!("{error:#}");
                assert!(message.contains("secret"), "{message}");
                assert!(
                    !message.contains(secret),
                    "the error repeats the secret: {message}"
                );
            }
        }
    }

    #[test]
    fn generators_refuse_variables_that_are_not_passed_through() {
        let env = env_of(&[("PATH", "/usr/bin")]);
        let exe = Path::new("/usr/bin/claude-status");
        let error = systemd_unit(exe, &env).unwrap_err();
        assert!(error.to_string().contains("PATH is not one of"), "{error}");
        let log = Path::new("/tmp/service.log");
        assert!(launchd_plist(exe, log, &env).is_err());
    }

    // --- systemd. ---

    #[test]
    fn systemd_unit_runs_the_service_and_restarts_it_on_failure() {
        let unit = systemd_unit(
            Path::new("/usr/local/bin/claude-status"),
            &env_of(&[
                (
                    "CLAUDE_STATUS_DATA_DIR",
                    "/home/a/.local/share/claude-status",
                ),
                (
                    "CLAUDE_STATUS_SOCKET",
                    "/run/user/1000/claude-status/control.sock",
                ),
            ]),
        )
        .unwrap();
        let expected = "\
# Written by `claude-status service install`; `claude-status service uninstall` removes it.
[Unit]
Description=Claude Status: the Claude API's health, watched for this user
# Five failed starts within five minutes mean the service cannot run here; systemd
# then stops retrying and `systemctl --user status` says why.
StartLimitIntervalSec=300
StartLimitBurst=5

[Service]
# exec: a start counts as done once the executable runs, so a missing one is reported.
Type=exec
ExecStart=\"/usr/local/bin/claude-status\" service run
Restart=on-failure
RestartSec=5
RestartPreventExitStatus=3
Environment=\"CLAUDE_STATUS_DATA_DIR=/home/a/.local/share/claude-status\"
Environment=\"CLAUDE_STATUS_SOCKET=/run/user/1000/claude-status/control.sock\"

[Install]
WantedBy=default.target
";
        assert_eq!(unit, expected);
    }

    #[test]
    fn systemd_unit_quotes_paths_by_the_unit_file_rules() {
        let unit = systemd_unit(
            Path::new("/opt/My Apps/100% \"real\"/back\\slash/$HOME/claude-status"),
            &env_of(&[("CLAUDE_STATUS_DATA_DIR", "/data dir/50%/a\"b")]),
        )
        .unwrap();
        assert!(
            unit.contains(
                "ExecStart=\"/opt/My Apps/100%% \\\"real\\\"/back\\\\slash/$HOME/claude-status\" service run\n"
            ),
            "{unit}"
        );
        assert!(
            unit.contains("Environment=\"CLAUDE_STATUS_DATA_DIR=/data dir/50%%/a\\\"b\"\n"),
            "{unit}"
        );
    }

    #[test]
    fn systemd_unit_refuses_relative_paths_and_control_characters() {
        assert!(systemd_unit(Path::new("claude-status"), &[]).is_err());
        assert!(systemd_unit(Path::new("/opt/a\nb/claude-status"), &[]).is_err());
        let env = env_of(&[("CLAUDE_STATUS_SOCKET", "/run/a\u{7}b")]);
        assert!(systemd_unit(Path::new("/usr/bin/claude-status"), &env).is_err());
    }

    #[test]
    fn systemd_unit_dir_follows_xdg_config_home_then_home() {
        let dir = systemd::unit_dir_from(Some("/cfg".into()), Some("/home/a".into()));
        assert_eq!(dir, Some(PathBuf::from("/cfg/systemd/user")));
        // A relative or empty XDG_CONFIG_HOME is ignored, as the specification says.
        let dir = systemd::unit_dir_from(Some("relative".into()), Some("/home/a".into()));
        assert_eq!(dir, Some(PathBuf::from("/home/a/.config/systemd/user")));
        let dir = systemd::unit_dir_from(Some("".into()), Some("/home/a".into()));
        assert_eq!(dir, Some(PathBuf::from("/home/a/.config/systemd/user")));
        assert_eq!(systemd::unit_dir_from(None, None), None);
    }

    /// What `systemd-analyze verify` says is wrong with the unit file at `unit`; empty when
    /// nothing is. Lines about other units (the machine's own) are only shown.
    fn systemd_verify_problems(unit: &Path, scratch: &Path) -> Vec<String> {
        let runtime = scratch.join("runtime");
        let config = scratch.join("config");
        fs::create_dir_all(&runtime).unwrap();
        fs::create_dir_all(&config).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            fs::set_permissions(&runtime, fs::Permissions::from_mode(0o700)).unwrap();
        }
        let mut command = Command::new("systemd-analyze");
        // --user needs a runtime directory, which a machine without a user manager lacks;
        // --recursive-errors=no makes any warning about this unit (and only this one) an exit
        // status other than 0.
        command
            .args(["--user", "--recursive-errors=no", "--man=no", "verify"])
            .arg(unit)
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("XDG_CONFIG_HOME", &config);
        let outcome = run_bounded(command, Duration::from_secs(60));
        let CommandOutcome::Exited {
            success,
            stdout,
            stderr,
        } = outcome
        else {
            return vec![format!(
                "systemd-analyze did not run to its end: {outcome:?}"
            )];
        };
        let mut problems = Vec::new();
        for line in stdout.lines().chain(stderr.lines()) {
            if line.contains("claude-status") {
                problems.push(line.to_owned());
            } else if !line.trim().is_empty() {
                eprintln!("systemd-analyze (not about our unit): {line}");
            }
        }
        if !success {
            problems.push(format!(
                "systemd-analyze exited with a failure; stdout {stdout:?}, stderr {stderr:?}"
            ));
        }
        problems
    }

    #[cfg(unix)]
    #[test]
    fn systemd_analyze_verifies_the_unit() {
        use std::os::unix::fs::PermissionsExt as _;
        let mut version = Command::new("systemd-analyze");
        version.arg("--version");
        if let CommandOutcome::NotStarted(reason) = run_bounded(version, Duration::from_secs(30)) {
            assert!(
                std::env::var_os("CI").is_none(),
                "systemd-analyze cannot be run ({reason}): CI must install the `systemd` package \
                 (scripts/setup.sh TEST_PACKAGES) so the unit is verified"
            );
            eprintln!(
                "skipped: systemd-analyze cannot be run ({reason}), so the unit was not verified; \
                 install the `systemd` package"
            );
            return;
        }
        let scratch = tempfile::tempdir().unwrap();
        // A space, a specifier (`%h`, the home directory) and a variable in the path prove the
        // quoting: systemd reports the command as not executable unless it finds it at exactly
        // this path.
        let bin = scratch.path().join("odd dir %h $HOME");
        fs::create_dir_all(&bin).unwrap();
        let exe = bin.join("claude-status");
        fs::write(&exe, "#!/bin/sh\nexit 0\n").unwrap();
        fs::set_permissions(&exe, fs::Permissions::from_mode(0o755)).unwrap();
        let env = env_of(&[
            ("CLAUDE_STATUS_DATA_DIR", "/tmp/data dir/100%"),
            ("CLAUDE_STATUS_SOCKET", "/tmp/socket \"dir\"/control.sock"),
        ]);
        let unit = systemd_unit(&exe, &env).unwrap();
        let good = scratch.path().join("good").join(SYSTEMD_UNIT_NAME);
        write_if_changed(&good, unit.as_bytes()).unwrap();
        let problems = systemd_verify_problems(&good, scratch.path());
        assert!(
            problems.is_empty(),
            "systemd-analyze verify: {problems:#?}\n{unit}"
        );

        // The same check must flag a broken unit, or an empty answer above would mean nothing.
        let broken = scratch.path().join("broken").join(SYSTEMD_UNIT_NAME);
        let broken_unit = unit.replace("Restart=on-failure", "Restart=sometimes");
        write_if_changed(&broken, broken_unit.as_bytes()).unwrap();
        let problems = systemd_verify_problems(&broken, scratch.path());
        assert!(
            problems.iter().any(|line| line.contains("sometimes")),
            "{problems:#?}"
        );
        // So must a path that is quoted wrongly: `$$` is not unescaped in the executable's path.
        let misquoted = scratch.path().join("misquoted").join(SYSTEMD_UNIT_NAME);
        write_if_changed(&misquoted, unit.replace("$HOME", "$$HOME").as_bytes()).unwrap();
        let problems = systemd_verify_problems(&misquoted, scratch.path());
        assert!(
            problems.iter().any(|line| line.contains("not executable")),
            "{problems:#?}"
        );
    }

    /// A scripted user manager: `daemon-reload` answers whether it runs, the rest succeed.
    fn manager(running: bool) -> ScriptedRunner {
        ScriptedRunner::new(move |line| {
            if line.ends_with("daemon-reload") && !running {
                no_bus()
            } else if line.contains("is-enabled") {
                ok("enabled\n")
            } else if line.contains("is-active") {
                if running {
                    ok("active\n")
                } else {
                    no_bus()
                }
            } else if line.contains("disable --now") && !running {
                // What systemctl 252 says: it removes the links, then cannot reach the bus.
                failed(
                    "",
                    "Removed \"/home/a/.config/systemd/user/default.target.wants/claude-status.service\".\n\
                     Failed to connect to bus: No medium found\n",
                )
            } else {
                ok("")
            }
        })
    }

    #[test]
    fn systemd_install_enables_and_starts_with_a_user_manager_and_is_idempotent() {
        let home = tempfile::tempdir().unwrap();
        let unit_dir = home.path().join("config/systemd/user");
        let exe = Path::new("/usr/bin/claude-status");
        let env = env_of(&[("CLAUDE_STATUS_DATA_DIR", "/data")]);
        let runner = manager(true);

        let message = systemd::install(&unit_dir, exe, &env, &runner, Running::Change).unwrap();
        let path = unit_dir.join(SYSTEMD_UNIT_NAME);
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            systemd_unit(exe, &env).unwrap()
        );
        assert!(message.contains("Enabled and started"), "{message}");
        assert_eq!(
            runner.calls(),
            [
                "systemctl --user daemon-reload",
                "systemctl --user enable claude-status.service",
                "systemctl --user restart claude-status.service",
            ]
        );

        // Installing again changes nothing and leaves a running service running.
        let runner = manager(true);
        let message = systemd::install(&unit_dir, exe, &env, &runner, Running::Change).unwrap();
        assert!(message.contains("already up to date"), "{message}");
        assert_eq!(
            runner.calls().last().map(String::as_str),
            Some("systemctl --user start claude-status.service")
        );
        let names: Vec<_> = fs::read_dir(&unit_dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            [OsString::from(SYSTEMD_UNIT_NAME)],
            "no partial file is left"
        );
    }

    #[test]
    fn systemd_install_without_a_user_manager_enables_for_the_next_login() {
        let home = tempfile::tempdir().unwrap();
        let unit_dir = home.path().join("systemd/user");
        let runner = manager(false);
        let message = systemd::install(
            &unit_dir,
            Path::new("/usr/bin/claude-status"),
            &[],
            &runner,
            Running::Change,
        )
        .unwrap();
        assert!(unit_dir.join(SYSTEMD_UNIT_NAME).is_file());
        assert!(message.contains(&unit_dir.join(SYSTEMD_UNIT_NAME).display().to_string()));
        assert!(message.contains("next login"), "{message}");
        assert!(
            message.contains("systemctl --user enable --now claude-status.service"),
            "{message}"
        );
        assert!(message.contains("Failed to connect to bus"), "{message}");
        assert_eq!(
            runner.calls(),
            [
                "systemctl --user daemon-reload",
                "systemctl --user enable claude-status.service",
            ]
        );
    }

    #[test]
    fn systemd_install_without_systemctl_still_writes_the_unit() {
        let home = tempfile::tempdir().unwrap();
        let runner =
            ScriptedRunner::new(|_| CommandOutcome::NotStarted("No such file or directory".into()));
        let message = systemd::install(
            home.path(),
            Path::new("/usr/bin/claude-status"),
            &[],
            &runner,
            Running::Change,
        )
        .unwrap();
        assert!(home.path().join(SYSTEMD_UNIT_NAME).is_file());
        assert!(
            message.contains("does not seem to use systemd"),
            "{message}"
        );
    }

    #[test]
    fn systemd_install_reports_a_failed_enable_or_start() {
        let home = tempfile::tempdir().unwrap();
        let exe = Path::new("/usr/bin/claude-status");
        let runner = ScriptedRunner::new(|line| {
            if line.contains(" enable ") {
                failed("", "Failed to enable unit: Unit file is masked.")
            } else {
                ok("")
            }
        });
        let error = systemd::install(home.path(), exe, &[], &runner, Running::Change).unwrap_err();
        assert!(error.to_string().contains("masked"), "{error}");

        let runner = ScriptedRunner::new(|line| {
            if line.contains(" start ") || line.contains(" restart ") {
                failed("", "Job for claude-status.service failed.")
            } else {
                ok("")
            }
        });
        let error = systemd::install(home.path(), exe, &[], &runner, Running::Change).unwrap_err();
        assert!(error.to_string().contains("journalctl --user"), "{error}");
    }

    #[test]
    fn systemd_uninstall_stops_disables_and_removes_and_is_idempotent() {
        let home = tempfile::tempdir().unwrap();
        let unit_dir = home.path().join("systemd/user");
        let exe = Path::new("/usr/bin/claude-status");
        systemd::install(&unit_dir, exe, &[], &manager(true), Running::Change).unwrap();
        // What `systemctl enable` made, for when the scripted one did not.
        let wants = unit_dir.join("default.target.wants");
        fs::create_dir_all(&wants).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(
            unit_dir.join(SYSTEMD_UNIT_NAME),
            wants.join(SYSTEMD_UNIT_NAME),
        )
        .unwrap();

        let runner = manager(true);
        let message = systemd::uninstall(&unit_dir, &runner, Running::Change).unwrap();
        assert!(message.contains("Stopped and disabled"), "{message}");
        assert!(!unit_dir.join(SYSTEMD_UNIT_NAME).exists());
        assert!(wants.join(SYSTEMD_UNIT_NAME).symlink_metadata().is_err());
        assert_eq!(
            runner.calls(),
            [
                "systemctl --user disable --now claude-status.service",
                "systemctl --user daemon-reload",
                "systemctl --user reset-failed claude-status.service",
            ]
        );

        let runner = manager(true);
        let message = systemd::uninstall(&unit_dir, &runner, Running::Change).unwrap();
        assert!(message.starts_with("Nothing to remove"), "{message}");
        assert!(runner.calls().is_empty());
    }

    #[test]
    fn systemd_uninstall_without_a_user_manager_disables_offline() {
        let home = tempfile::tempdir().unwrap();
        systemd::install(
            home.path(),
            Path::new("/usr/bin/claude-status"),
            &[],
            &manager(false),
            Running::Change,
        )
        .unwrap();
        let runner = manager(false);
        let message = systemd::uninstall(home.path(), &runner, Running::Change).unwrap();
        assert!(
            message.contains(
                "answered (Failed to connect to bus: No medium found), so nothing was stopped"
            ),
            "{message}"
        );
        assert!(!home.path().join(SYSTEMD_UNIT_NAME).exists());
        assert_eq!(
            runner.calls(),
            [
                "systemctl --user disable --now claude-status.service",
                "systemctl --user disable claude-status.service",
            ]
        );
    }

    #[test]
    fn systemd_register_and_unregister_leave_the_running_service_alone() {
        let home = tempfile::tempdir().unwrap();
        let exe = Path::new("/usr/bin/claude-status");
        let runner = manager(true);
        let message = systemd::install(home.path(), exe, &[], &runner, Running::Leave).unwrap();
        assert!(message.contains("left as it is"), "{message}");
        assert!(home.path().join(SYSTEMD_UNIT_NAME).is_file());
        assert_eq!(
            runner.calls(),
            [
                "systemctl --user daemon-reload",
                "systemctl --user enable claude-status.service",
            ]
        );

        let runner = manager(true);
        let message = systemd::uninstall(home.path(), &runner, Running::Leave).unwrap();
        assert!(message.contains("left as it is"), "{message}");
        assert!(!home.path().join(SYSTEMD_UNIT_NAME).exists());
        assert_eq!(
            runner.calls(),
            ["systemctl --user disable claude-status.service"]
        );
    }

    #[test]
    fn systemd_status_says_whether_the_unit_runs_this_executable() {
        let home = tempfile::tempdir().unwrap();
        let exe = Path::new("/usr/bin/claude-status");
        let missing = systemd::status(home.path(), exe, &[], &manager(false)).unwrap();
        assert!(missing.contains("file: missing"), "{missing}");
        assert!(
            missing.contains("active: unknown (Failed to connect to bus"),
            "{missing}"
        );

        systemd::install(home.path(), exe, &[], &manager(true), Running::Change).unwrap();
        let current = systemd::status(home.path(), exe, &[], &manager(true)).unwrap();
        assert!(current.contains("runs this executable (/usr/bin/claude-status), up to date"));
        assert!(current.contains("enabled: enabled"), "{current}");
        assert!(current.contains("active: active"), "{current}");

        let env = env_of(&[("CLAUDE_STATUS_DATA_DIR", "/elsewhere")]);
        let stale = systemd::status(home.path(), exe, &env, &manager(true)).unwrap();
        assert!(stale.contains("but differs"), "{stale}");

        let other = Path::new("/opt/new/claude-status");
        let moved = systemd::status(home.path(), other, &[], &manager(true)).unwrap();
        assert!(
            moved.contains("runs another executable (ExecStart=\"/usr/bin/claude-status\""),
            "{moved}"
        );
    }

    // --- launchd. ---

    #[test]
    fn launchd_plist_is_a_property_list_with_the_agent_keys() {
        let plist = launchd_plist(
            Path::new("/Applications/Claude Status.app/Contents/MacOS/claude-status"),
            Path::new("/Users/a/Library/Logs/claude-status/service.log"),
            &env_of(&[("CLAUDE_STATUS_DATA_DIR", "/Users/a/data")]),
        )
        .unwrap();
        assert!(plist.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE plist"));
        let log = string("/Users/a/Library/Logs/claude-status/service.log");
        assert_eq!(
            parse_plist(&plist),
            Plist::Dict(vec![
                ("Label".into(), string("dev.claude-status.service")),
                (
                    "ProgramArguments".into(),
                    Plist::Array(vec![
                        string("/Applications/Claude Status.app/Contents/MacOS/claude-status"),
                        string("service"),
                        string("run"),
                    ])
                ),
                ("RunAtLoad".into(), Plist::Bool(true)),
                (
                    "KeepAlive".into(),
                    Plist::Dict(vec![("SuccessfulExit".into(), Plist::Bool(false))])
                ),
                ("StandardOutPath".into(), log),
                (
                    "StandardErrorPath".into(),
                    string("/Users/a/Library/Logs/claude-status/service.log")
                ),
                (
                    "EnvironmentVariables".into(),
                    Plist::Dict(vec![(
                        "CLAUDE_STATUS_DATA_DIR".into(),
                        string("/Users/a/data")
                    )])
                ),
            ])
        );
        // Without pass-through variables there is no EnvironmentVariables at all.
        let bare = launchd_plist(
            Path::new("/usr/local/bin/claude-status"),
            Path::new("/tmp/service.log"),
            &[],
        )
        .unwrap();
        let Plist::Dict(entries) = parse_plist(&bare) else {
            panic!("not a dict")
        };
        assert!(entries.iter().all(|(key, _)| key != "EnvironmentVariables"));
    }

    #[test]
    fn launchd_plist_escapes_every_value() {
        let exe = "/Users/a/R&D <tools> \"x\" 'y'/claude-status";
        let value = "/Users/a/data & <more> ]]> \"q\"";
        let plist = launchd_plist(
            Path::new(exe),
            Path::new("/Users/a/Logs & more/service.log"),
            &env_of(&[("CLAUDE_STATUS_SOCKET", value)]),
        )
        .unwrap();
        let Plist::Dict(entries) = parse_plist(&plist) else {
            panic!("not a dict")
        };
        let get = |key: &str| {
            entries
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
                .unwrap()
        };
        assert_eq!(
            get("ProgramArguments"),
            &Plist::Array(vec![string(exe), string("service"), string("run")])
        );
        assert_eq!(
            get("StandardOutPath"),
            &string("/Users/a/Logs & more/service.log")
        );
        assert_eq!(
            get("EnvironmentVariables"),
            &Plist::Dict(vec![("CLAUDE_STATUS_SOCKET".into(), string(value))])
        );
        assert!(launchd_plist(Path::new("/a\u{1}b"), Path::new("/l"), &[]).is_err());
    }

    /// A scripted launchd for uid 501: `gui/501` exists when `session` is true, and the job is
    /// loaded once bootstrapped until booted out.
    fn launchd_runner(session: bool) -> ScriptedRunner {
        let loaded = std::rc::Rc::new(std::cell::Cell::new(false));
        ScriptedRunner::new(move |line| {
            match line {
            "id -u" => ok("501\n"),
            "launchctl print gui/501" if session => ok("gui/501 = {...}"),
            "launchctl print gui/501/dev.claude-status.service" if loaded.get() => {
                ok("gui/501/dev.claude-status.service = {\n\tstate = running\n\tpid = 4242\n\tlast exit code = (never exited)\n}")
            }
            "launchctl bootout gui/501/dev.claude-status.service" if loaded.get() => {
                loaded.set(false);
                ok("")
            }
            "launchctl enable gui/501/dev.claude-status.service" => ok(""),
            _ if line.starts_with("launchctl bootstrap gui/501 ") && session => {
                loaded.set(true);
                ok("")
            }
            _ => failed("", "Could not find service \"dev.claude-status.service\" in domain"),
        }
        })
    }

    #[test]
    fn launchd_install_loads_the_agent_and_is_idempotent() {
        let home = tempfile::tempdir().unwrap();
        let paths = LaunchdPaths::for_home(home.path());
        let exe = Path::new("/usr/local/bin/claude-status");
        let runner = launchd_runner(true);
        let message =
            launchd::install(&paths, exe, &[], &runner, Running::Change, Duration::ZERO).unwrap();
        assert!(message.contains("Loaded into launchd"), "{message}");
        let plist_path = home
            .path()
            .join("Library/LaunchAgents/dev.claude-status.service.plist");
        assert_eq!(paths.plist(), plist_path);
        assert_eq!(
            fs::read_to_string(&plist_path).unwrap(),
            launchd_plist(exe, &paths.log_file(), &[]).unwrap()
        );
        assert!(home.path().join("Library/Logs/claude-status").is_dir());
        assert_eq!(
            runner.calls(),
            [
                "id -u".to_owned(),
                "launchctl print gui/501".to_owned(),
                "launchctl print gui/501/dev.claude-status.service".to_owned(),
                "launchctl enable gui/501/dev.claude-status.service".to_owned(),
                format!("launchctl bootstrap gui/501 {}", paths.plist().display()),
            ]
        );

        // Installed and loaded: a second install leaves it alone.
        let message =
            launchd::install(&paths, exe, &[], &runner, Running::Change, Duration::ZERO).unwrap();
        assert!(message.contains("is already up to date"), "{message}");
        assert!(message.contains("It is loaded"), "{message}");
        assert_eq!(
            runner
                .calls()
                .iter()
                .filter(|call| call.contains("bootstrap"))
                .count(),
            1
        );

        // A changed definition replaces the loaded one.
        let other = Path::new("/opt/new/claude-status");
        launchd::install(&paths, other, &[], &runner, Running::Change, Duration::ZERO).unwrap();
        let calls = runner.calls();
        let tail: Vec<&str> = calls[calls.len() - 3..]
            .iter()
            .map(String::as_str)
            .collect();
        assert_eq!(
            tail[0],
            "launchctl bootout gui/501/dev.claude-status.service"
        );
        assert!(tail[2].starts_with("launchctl bootstrap gui/501 "));
    }

    #[test]
    fn launchd_install_without_a_gui_session_waits_for_the_next_login() {
        let home = tempfile::tempdir().unwrap();
        let paths = LaunchdPaths::for_home(home.path());
        let runner = launchd_runner(false);
        let message = launchd::install(
            &paths,
            Path::new("/usr/local/bin/claude-status"),
            &[],
            &runner,
            Running::Change,
            Duration::ZERO,
        )
        .unwrap();
        assert!(paths.plist().is_file());
        assert!(message.contains("next login"), "{message}");
        assert!(runner
            .calls()
            .iter()
            .all(|call| !call.contains("bootstrap")));
    }

    #[test]
    fn launchd_bootstrap_is_tried_again_and_then_reported() {
        let home = tempfile::tempdir().unwrap();
        let paths = LaunchdPaths::for_home(home.path());
        let exe = Path::new("/usr/local/bin/claude-status");
        let attempts = std::rc::Rc::new(std::cell::Cell::new(0));
        let seen = attempts.clone();
        let runner = ScriptedRunner::new(move |line| match line {
            "id -u" => ok("501"),
            "launchctl print gui/501" => ok(""),
            _ if line.starts_with("launchctl bootstrap") => {
                seen.set(seen.get() + 1);
                if seen.get() < 3 {
                    failed("", "Bootstrap failed: 5: Input/output error")
                } else {
                    ok("")
                }
            }
            _ => failed("", ""),
        });
        launchd::install(&paths, exe, &[], &runner, Running::Change, Duration::ZERO).unwrap();
        assert_eq!(attempts.get(), 3);

        let runner = ScriptedRunner::new(|line| match line {
            "id -u" => ok("501"),
            "launchctl print gui/501" => ok(""),
            _ => failed("", "Bootstrap failed: 5: Input/output error"),
        });
        let error = launchd::install(&paths, exe, &[], &runner, Running::Change, Duration::ZERO)
            .unwrap_err();
        assert!(error.to_string().contains("Input/output error"), "{error}");
    }

    #[test]
    fn launchd_uninstall_unloads_and_removes_and_is_idempotent() {
        let home = tempfile::tempdir().unwrap();
        let paths = LaunchdPaths::for_home(home.path());
        let exe = Path::new("/usr/local/bin/claude-status");
        let runner = launchd_runner(true);
        launchd::install(&paths, exe, &[], &runner, Running::Change, Duration::ZERO).unwrap();

        let status = launchd::status(&paths, exe, &[], &runner).unwrap();
        assert!(status.contains("up to date"), "{status}");
        assert!(
            status.contains(
                "loaded: yes (state = running, pid = 4242, last exit code = (never exited))"
            ),
            "{status}"
        );

        let message = launchd::uninstall(&paths, &runner, Running::Change).unwrap();
        assert!(message.contains("Stopped and unloaded"), "{message}");
        assert!(!paths.plist().exists());
        let message = launchd::uninstall(&paths, &runner, Running::Change).unwrap();
        assert!(message.starts_with("Nothing to remove"), "{message}");

        let status = launchd::status(&paths, exe, &[], &runner).unwrap();
        assert!(status.contains("file: missing"), "{status}");
        assert!(status.contains("loaded: no"), "{status}");
    }

    #[test]
    fn launchd_register_and_unregister_leave_the_running_service_alone() {
        let home = tempfile::tempdir().unwrap();
        let paths = LaunchdPaths::for_home(home.path());
        let exe = Path::new("/usr/local/bin/claude-status");
        let runner = launchd_runner(true);
        let message =
            launchd::install(&paths, exe, &[], &runner, Running::Leave, Duration::ZERO).unwrap();
        assert!(message.contains("left as it is"), "{message}");
        assert!(paths.plist().is_file());
        assert_eq!(
            runner.calls(),
            [
                "id -u",
                "launchctl enable gui/501/dev.claude-status.service"
            ]
        );

        let runner = launchd_runner(true);
        let message = launchd::uninstall(&paths, &runner, Running::Leave).unwrap();
        assert!(message.contains("left as it is"), "{message}");
        assert!(!paths.plist().exists());
        assert!(runner.calls().is_empty(), "{:?}", runner.calls());
        let message = launchd::uninstall(&paths, &runner, Running::Leave).unwrap();
        assert!(message.starts_with("Nothing to remove"), "{message}");
    }

    // --- Task Scheduler. ---

    #[test]
    fn windows_task_runs_the_service_at_logon_and_restarts_it() {
        let exe = r"C:\Program Files\Claude Status\claude-status.exe";
        let xml = windows_task_xml(Path::new(exe), r"CORP\ada").unwrap();
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n"));
        let task = parse_xml(&xml);
        assert_eq!(task.name, "Task");
        assert!(task
            .attributes
            .contains(&("version".to_owned(), "1.2".to_owned())));
        assert!(task.attributes.contains(&(
            "xmlns".to_owned(),
            "http://schemas.microsoft.com/windows/2004/02/mit/task".to_owned()
        )));
        let expect = [
            (&["Triggers", "LogonTrigger", "UserId"][..], r"CORP\ada"),
            (&["Triggers", "LogonTrigger", "Enabled"][..], "true"),
            (&["Principals", "Principal", "UserId"][..], r"CORP\ada"),
            (
                &["Principals", "Principal", "LogonType"][..],
                "InteractiveToken",
            ),
            (
                &["Principals", "Principal", "RunLevel"][..],
                "LeastPrivilege",
            ),
            (&["Settings", "RestartOnFailure", "Interval"][..], "PT1M"),
            (&["Settings", "RestartOnFailure", "Count"][..], "3"),
            (&["Settings", "ExecutionTimeLimit"][..], "PT0S"),
            (&["Settings", "DisallowStartIfOnBatteries"][..], "false"),
            (&["Settings", "StopIfGoingOnBatteries"][..], "false"),
            (&["Settings", "MultipleInstancesPolicy"][..], "IgnoreNew"),
            (&["Settings", "Enabled"][..], "true"),
            (&["Actions", "Exec", "Command"][..], &format!("\"{exe}\"")),
            (&["Actions", "Exec", "Arguments"][..], "service run"),
        ];
        for (path, value) in expect {
            assert_eq!(task.text_at(path), value, "{path:?}");
        }
        let principal = task.at(&["Principals", "Principal"]);
        let actions = task.child("Actions");
        assert_eq!(
            principal.attributes,
            [("id".to_owned(), "Author".to_owned())]
        );
        assert_eq!(
            actions.attributes,
            [("Context".to_owned(), "Author".to_owned())]
        );
    }

    #[test]
    fn windows_task_escapes_the_user_and_the_path() {
        let exe = r"C:\Users\O'Brien & <Co>\claude-status.exe";
        let user = r"R&D\O'Brien <x>";
        let task = parse_xml(&windows_task_xml(Path::new(exe), user).unwrap());
        assert_eq!(task.text_at(&["Triggers", "LogonTrigger", "UserId"]), user);
        assert_eq!(
            task.text_at(&["Actions", "Exec", "Command"]),
            format!("\"{exe}\"")
        );
        assert!(windows_task_xml(Path::new("C:\\a\"b.exe"), "u").is_err());
        assert!(windows_task_xml(Path::new("C:\\a.exe"), "u\u{0}").is_err());
    }

    #[test]
    fn windows_task_file_is_utf16le_with_a_byte_order_mark() {
        let text = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><Task>é €</Task>";
        let bytes = utf16le_with_bom(text);
        assert_eq!(&bytes[..4], &[0xFF, 0xFE, b'<', 0]);
        let units: Vec<u16> = bytes
            .chunks(2)
            .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
            .collect();
        assert_eq!(String::from_utf16(&units[1..]).unwrap(), text);
    }

    #[test]
    fn windows_user_is_domain_backslash_name() {
        let user = task_scheduler::current_user(Some("CORP".into()), Some("ada".into()));
        assert_eq!(user.unwrap(), r"CORP\ada");
        let user = task_scheduler::current_user(None, Some("ada".into()));
        assert_eq!(user.unwrap(), "ada");
        assert!(task_scheduler::current_user(Some("CORP".into()), None).is_err());
    }

    #[test]
    fn windows_install_registers_the_task_from_a_utf16_file_and_removes_the_file() {
        let scratch = tempfile::tempdir().unwrap();
        let exe = Path::new(r"C:\Tools\claude-status.exe");
        let seen = std::rc::Rc::new(RefCell::new(None::<String>));
        let seen_by_runner = seen.clone();
        let runner = ScriptedRunner::with_args(move |line, args| {
            if line.starts_with("schtasks /Create") {
                // What schtasks would read: the file named after /XML, still there at this point.
                let file = Path::new(args[4]);
                let bytes = fs::read(file).unwrap();
                assert_eq!(&bytes[..2], &[0xFF, 0xFE]);
                let units: Vec<u16> = bytes[2..]
                    .chunks(2)
                    .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
                    .collect();
                *seen_by_runner.borrow_mut() = Some(String::from_utf16(&units).unwrap());
            }
            ok("SUCCESS")
        });
        let message =
            task_scheduler::install(scratch.path(), exe, r"CORP\ada", &runner, Running::Change)
                .unwrap();
        assert!(message.contains("Started it now"), "{message}");
        assert_eq!(
            seen.borrow().as_deref(),
            Some(windows_task_xml(exe, r"CORP\ada").unwrap().as_str())
        );
        let calls = runner.calls();
        assert!(calls[0].starts_with("schtasks /Create /TN Claude Status service /XML "));
        assert!(calls[0].ends_with(" /F"));
        assert_eq!(calls[1], "schtasks /Run /TN Claude Status service");
        assert_eq!(
            fs::read_dir(scratch.path()).unwrap().count(),
            0,
            "the XML file is removed"
        );

        let refused = ScriptedRunner::new(|_| failed("", "ERROR: Access is denied."));
        let error =
            task_scheduler::install(scratch.path(), exe, r"CORP\ada", &refused, Running::Change)
                .unwrap_err();
        assert!(error.to_string().contains("Access is denied"), "{error}");
        assert_eq!(fs::read_dir(scratch.path()).unwrap().count(), 0);
    }

    #[test]
    fn windows_uninstall_ends_and_deletes_and_is_idempotent() {
        let runner = ScriptedRunner::new(|line| {
            if line.starts_with("schtasks /End") {
                failed("", "ERROR: The task is not running.")
            } else {
                ok("SUCCESS")
            }
        });
        let message = task_scheduler::uninstall(&runner, Running::Change).unwrap();
        assert!(message.contains("(it was not running)"), "{message}");
        assert_eq!(
            runner.calls(),
            [
                "schtasks /Query /TN Claude Status service",
                "schtasks /End /TN Claude Status service",
                "schtasks /Delete /TN Claude Status service /F",
            ]
        );
        let absent = ScriptedRunner::new(|_| {
            failed("", "ERROR: The system cannot find the file specified.")
        });
        let message = task_scheduler::uninstall(&absent, Running::Change).unwrap();
        assert!(message.starts_with("Nothing to remove"), "{message}");
        assert_eq!(absent.calls().len(), 1);
    }

    #[test]
    fn windows_register_and_unregister_leave_the_running_service_alone() {
        let scratch = tempfile::tempdir().unwrap();
        let exe = Path::new(r"C:\Tools\claude-status.exe");
        let runner = ScriptedRunner::new(|_| ok("SUCCESS"));
        task_scheduler::install(scratch.path(), exe, "ada", &runner, Running::Leave).unwrap();
        let calls = runner.calls();
        assert_eq!(calls.len(), 1, "{calls:?}");
        assert!(calls[0].starts_with("schtasks /Create "));

        let runner = ScriptedRunner::new(|_| ok("SUCCESS"));
        let message = task_scheduler::uninstall(&runner, Running::Leave).unwrap();
        assert!(message.contains("left as it is"), "{message}");
        assert_eq!(
            runner.calls(),
            [
                "schtasks /Query /TN Claude Status service",
                "schtasks /Delete /TN Claude Status service /F",
            ]
        );
    }

    #[test]
    fn windows_status_says_whether_the_task_runs_this_executable() {
        let exe = Path::new(r"C:\Tools\claude-status.exe");
        let xml = windows_task_xml(exe, "ada").unwrap();
        let runner = ScriptedRunner::new(move |line| {
            if line.ends_with("/XML") {
                ok(&xml)
            } else {
                ok("Folder: \\\r\nTaskName:      \\Claude Status service\r\nStatus:        Running\r\n")
            }
        });
        let status = task_scheduler::status(exe, &runner).unwrap();
        assert!(
            status.contains("registered, runs this executable"),
            "{status}"
        );
        assert!(status.contains("  Status:        Running"), "{status}");
        let other = task_scheduler::status(Path::new(r"C:\Other\claude-status.exe"), &runner);
        assert!(other.unwrap().contains("runs another executable"));
        let absent = ScriptedRunner::new(|_| {
            failed("", "ERROR: The system cannot find the file specified.")
        });
        let status = task_scheduler::status(exe, &absent).unwrap();
        assert!(status.contains("task: missing"), "{status}");
    }

    // --- Files and commands. ---

    #[test]
    fn write_if_changed_writes_only_what_differs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/file");
        assert!(write_if_changed(&path, b"one").unwrap());
        assert!(!write_if_changed(&path, b"one").unwrap());
        assert!(write_if_changed(&path, b"two").unwrap());
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert!(remove_if_present(&path).unwrap());
        assert!(!remove_if_present(&path).unwrap());
        assert_eq!(read_bounded(&path).unwrap(), None);
    }

    #[cfg(unix)]
    #[test]
    fn run_bounded_keeps_output_and_status() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo out; echo err >&2; exit 3"]);
        assert_eq!(
            run_bounded(command, Duration::from_secs(30)),
            failed("out\n", "err\n")
        );
        let outcome = run_bounded(
            Command::new("/nonexistent/claude-status-test"),
            Duration::from_secs(30),
        );
        assert!(
            matches!(outcome, CommandOutcome::NotStarted(_)),
            "{outcome:?}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn run_bounded_kills_a_command_that_overstays() {
        let mut command = Command::new("sleep");
        command.arg("600");
        assert_eq!(
            run_bounded(command, Duration::from_millis(100)),
            CommandOutcome::TimedOut
        );
    }

    #[cfg(unix)]
    #[test]
    fn run_bounded_drains_output_past_its_limit() {
        // Without draining, the command would block on a full pipe and time out instead.
        let mut command = Command::new("sh");
        command.args(["-c", "head -c 1000000 /dev/zero | tr '\\0' x"]);
        let CommandOutcome::Exited {
            success, stdout, ..
        } = run_bounded(command, Duration::from_secs(60))
        else {
            panic!("the command did not end")
        };
        assert!(success);
        assert_eq!(stdout.len() as u64, OUTPUT_LIMIT);
    }
}
