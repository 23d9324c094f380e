//! Installs and removes `claude-status statusline` as Claude Code's status line, by editing the
//! `statusLine` key of Claude Code's `settings.json` and nothing else.
//!
//! The file belongs to the user and to Claude Code, so the editor is conservative:
//!
//! - **Only `statusLine` changes.** The file is edited as text: the new value is spliced in where
//!   the old one was (or appended as the last member, or cut out with its comma), so every other
//!   byte of the file, including the other keys' order, spacing and number spelling, stays as it
//!   was. This needs no order-preserving JSON map, and the engine's `serde_json` has none
//!   (`preserve_order` is off). Before anything is written, the edited text is parsed again and
//!   checked against the original: same other members, same order, the intended `statusLine`.
//! - **Refuse rather than guess.** A file that is not a JSON object, is larger than
//!   [`MAX_SETTINGS_BYTES`], names `statusLine` twice or is read-only is left alone with an error
//!   saying why. So is someone else's status line, unless the caller forces it.
//! - **A backup first, a rename last.** The exact bytes that were read are copied to
//!   `settings.json.claude-status-backup-YYYYMMDDTHHMMSS` (with `-2`, `-3`… when that name is
//!   taken, so an earlier backup is never overwritten), with the file's permissions. The new text
//!   is written to a temporary file in the same folder and renamed over the old one, so Claude
//!   Code, which reloads the file as it changes, never sees half a file.
//!
//! The settings file is `~/.claude/settings.json`, or `settings.json` in the first folder of
//! `CLAUDE_CONFIG_DIR` when that is set (see [`settings_path`]).

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use serde::Serialize;
use serde_json::{Map, Value};

/// The environment variable Claude Code reads its configuration folder (or folders) from.
pub const CLAUDE_CONFIG_DIR_ENV: &str = "CLAUDE_CONFIG_DIR";

/// The settings file's name inside a Claude Code configuration folder.
pub const SETTINGS_FILE_NAME: &str = "settings.json";

/// The key this module edits.
pub const STATUS_LINE_KEY: &str = "statusLine";

/// The largest settings file we read; a real one is a few kilobytes, so anything bigger is not
/// a settings file we should be rewriting.
pub const MAX_SETTINGS_BYTES: u64 = 4 * 1024 * 1024;

/// What goes between the settings file's name and the timestamp in a backup's name.
pub const BACKUP_INFIX: &str = ".claude-status-backup-";

/// The subcommand of our binary that Claude Code runs.
pub const STATUSLINE_ARGUMENT: &str = "statusline";

/// How many backup names (`…`, `…-2`, … `…-N`) are tried before giving up; more than this many
/// edits within one second means something is looping.
const MAX_BACKUP_NAMES: u32 = 100;

/// How many symbolic links are followed to reach the real settings file.
const MAX_SYMLINK_HOPS: u32 = 40;

/// The default indentation when the file gives no example to copy (Claude Code writes two spaces).
const DEFAULT_INDENT: &str = "  ";

/// The settings file for a `CLAUDE_CONFIG_DIR` value (or none) and a home folder.
///
/// `CLAUDE_CONFIG_DIR` may list several folders separated by commas (ccusage's convention, which
/// the transcript discovery follows too); the first non-empty entry, trimmed, is used, with a
/// leading `~` meaning `home`. Without the variable, or when it holds no entry, the file is
/// `home/.claude/settings.json`.
pub fn settings_path(env_config_dir: Option<&str>, home: &Path) -> PathBuf {
    let first = env_config_dir.and_then(|list| {
        list.split(',')
            .map(str::trim)
            .find(|entry| !entry.is_empty())
    });
    match first {
        Some(entry) => expand_home(entry, home).join(SETTINGS_FILE_NAME),
        None => home.join(".claude").join(SETTINGS_FILE_NAME),
    }
}

/// [`settings_path`] for this process: `CLAUDE_CONFIG_DIR` and the user's home (`HOME` when set,
/// else the platform's).
pub fn default_settings_path() -> Result<PathBuf, InstallError> {
    let config_dir = std::env::var(CLAUDE_CONFIG_DIR_ENV).ok();
    let home = std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|dirs| dirs.home_dir().to_path_buf()));
    match (config_dir.as_deref(), home) {
        (_, Some(home)) => Ok(settings_path(config_dir.as_deref(), &home)),
        // An absolute CLAUDE_CONFIG_DIR needs no home; a relative or `~` one would.
        (Some(list), None) => {
            let path = settings_path(Some(list), Path::new(""));
            if path.is_absolute() {
                Ok(path)
            } else {
                Err(InstallError::NoHome)
            }
        }
        (None, None) => Err(InstallError::NoHome),
    }
}

fn expand_home(entry: &str, home: &Path) -> PathBuf {
    if entry == "~" {
        home.to_path_buf()
    } else if let Some(rest) = entry.strip_prefix("~/") {
        home.join(rest)
    } else {
        PathBuf::from(entry)
    }
}

/// The command line Claude Code should run: our executable, quoted for a POSIX shell when it
/// needs it (Claude Code runs the command through a shell), then `statusline`.
///
/// A path that is not valid Unicode cannot be written into a JSON string faithfully; its invalid
/// parts become U+FFFD, and the command will not find the binary. Such install paths are rare
/// enough that the caller is left to notice (the status line then prints nothing).
pub fn our_command(exe: &Path) -> String {
    format!(
        "{} {STATUSLINE_ARGUMENT}",
        quote_for_shell(&exe.to_string_lossy())
    )
}

/// The file name of the status line's own small binary, shipped beside `claude-status`.
pub const LINE_PROGRAM: &str = if cfg!(windows) {
    "claude-status-line.exe"
} else {
    "claude-status-line"
};

/// The command to install for `exe` (the running `claude-status`): its sibling
/// `claude-status-line` when that file is there, else `exe statusline`.
///
/// Both print the same line from the same code. The sibling is what Claude Code should run many
/// times a minute: it links only the status line, so it starts in about half the time and memory
/// of the whole command (README, "Status line").
pub fn preferred_command(exe: &Path) -> String {
    match exe.parent().map(|dir| dir.join(LINE_PROGRAM)) {
        Some(line) if line.is_file() => quote_for_shell(&line.to_string_lossy()),
        _ => our_command(exe),
    }
}

/// `word` as one word for a POSIX shell: unchanged when it holds only characters no shell treats
/// specially, else in single quotes (with each `'` written as `'\''`).
pub fn quote_for_shell(word: &str) -> String {
    // `=` is left out so that a word is never read as a variable assignment, and `~` because a
    // leading one is expanded.
    let plain = |c: char| {
        c.is_ascii_alphanumeric()
            || matches!(c, '_' | '-' | '.' | '/' | ',' | ':' | '@' | '%' | '+')
    };
    if !word.is_empty() && word.chars().all(plain) {
        return word.to_string();
    }
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// Whether a status-line command runs our binary's status line: its first word's file name is
/// `claude-status` (or `claude-status.exe`) and its second word is `statusline`, or its first
/// word's file name is `claude-status-line` (or `.exe`) followed by nothing or by options.
///
/// Words are split by POSIX shell rules. A Windows path written without quotes
/// (`C:\Apps\claude-status.exe statusline`) would lose its backslashes under those rules, so the
/// command is also tried with backslashes taken literally.
pub fn is_our_command(command: &str) -> bool {
    [true, false].into_iter().any(|backslash_escapes| {
        let words = leading_words(command, 2, backslash_escapes);
        match words.as_slice() {
            [program, argument] if is_our_program(program) => argument == STATUSLINE_ARGUMENT,
            [program, option] => is_line_program(program) && option.starts_with("--"),
            [program] => is_line_program(program),
            _ => false,
        }
    })
}

fn is_line_program(word: &str) -> bool {
    let file_name = word.rsplit(['/', '\\']).next().unwrap_or(word);
    file_name.eq_ignore_ascii_case("claude-status-line")
        || file_name.eq_ignore_ascii_case("claude-status-line.exe")
}

fn is_our_program(word: &str) -> bool {
    let file_name = word.rsplit(['/', '\\']).next().unwrap_or(word);
    file_name.eq_ignore_ascii_case("claude-status")
        || file_name.eq_ignore_ascii_case("claude-status.exe")
}

/// The first `limit` words of a shell command line. Quotes group, a backslash escapes (when
/// `backslash_escapes`), and an unquoted operator character (`;`, `|`, `&`, `<`, `>`, `(`, `)`)
/// ends a word and counts as a word of its own, so `claude-status; rm x` does not look like ours.
fn leading_words(command: &str, limit: usize, backslash_escapes: bool) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut chars = command.chars().peekable();
    while let Some(c) = chars.next() {
        if words.len() >= limit {
            break;
        }
        match c {
            ' ' | '\t' | '\n' => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            ';' | '|' | '&' | '<' | '>' | '(' | ')' => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
                words.push(c.to_string());
            }
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    current.push(q);
                }
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' if backslash_escapes => match chars.peek() {
                            Some(&next @ ('$' | '`' | '"' | '\\')) => {
                                current.push(next);
                                chars.next();
                            }
                            Some('\n') => {
                                chars.next();
                            }
                            _ => current.push('\\'),
                        },
                        _ => current.push(q),
                    }
                }
            }
            '\\' if backslash_escapes => {
                in_word = true;
                match chars.next() {
                    // A backslash before a newline joins two lines.
                    Some('\n') | None => {}
                    Some(next) => current.push(next),
                }
            }
            _ => {
                in_word = true;
                current.push(c);
            }
        }
    }
    if in_word && words.len() < limit {
        words.push(current);
    }
    words.truncate(limit);
    words
}

/// How [`install`] behaves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InstallOptions {
    /// Replace a status line that is not ours.
    pub force: bool,
    /// Claude Code's `refreshInterval`: also re-run the command every this many seconds
    /// (minimum 1). `None` leaves it out, so the line is redrawn on Claude Code's events only.
    pub refresh_interval: Option<u32>,
}

/// How [`uninstall`] behaves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UninstallOptions {
    /// Remove the status line even when it is not ours.
    pub force: bool,
}

/// What [`install`] did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum InstallOutcome {
    /// There was no settings file; it was created holding only our status line.
    Created {
        /// The settings file.
        path: PathBuf,
    },
    /// The file had no status line (or `null`); ours was added.
    Added {
        /// The settings file.
        path: PathBuf,
        /// The copy of the file as it was before.
        backup: PathBuf,
    },
    /// The file had our status line in another form (another path to the binary, another
    /// refresh interval); it was brought up to date. Ours is replaced without `force`, so that
    /// installing again after moving the binary just works.
    Updated {
        /// The settings file.
        path: PathBuf,
        /// The copy of the file as it was before.
        backup: PathBuf,
        /// The status line that was replaced.
        previous: Value,
    },
    /// The file had someone else's status line and `force` replaced it.
    Replaced {
        /// The settings file.
        path: PathBuf,
        /// The copy of the file as it was before, which holds the replaced status line.
        backup: PathBuf,
        /// The status line that was replaced.
        previous: Value,
    },
    /// The file already held exactly this status line; nothing was written.
    AlreadyInstalled {
        /// The settings file.
        path: PathBuf,
    },
}

impl InstallOutcome {
    /// The settings file.
    pub fn path(&self) -> &Path {
        match self {
            InstallOutcome::Created { path }
            | InstallOutcome::Added { path, .. }
            | InstallOutcome::Updated { path, .. }
            | InstallOutcome::Replaced { path, .. }
            | InstallOutcome::AlreadyInstalled { path } => path,
        }
    }

    /// The backup written before the change, when there was a file to back up.
    pub fn backup(&self) -> Option<&Path> {
        match self {
            InstallOutcome::Added { backup, .. }
            | InstallOutcome::Updated { backup, .. }
            | InstallOutcome::Replaced { backup, .. } => Some(backup),
            InstallOutcome::Created { .. } | InstallOutcome::AlreadyInstalled { .. } => None,
        }
    }

    /// Whether the settings file was written.
    pub fn changed(&self) -> bool {
        !matches!(self, InstallOutcome::AlreadyInstalled { .. })
    }
}

impl fmt::Display for InstallOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstallOutcome::Created { path } => write!(
                f,
                "Created {} with the Claude Status status line.",
                path.display()
            ),
            InstallOutcome::Added { path, backup } => write!(
                f,
                "Added the Claude Status status line to {} (the previous file is kept as {}).",
                path.display(),
                backup.display()
            ),
            InstallOutcome::Updated { path, backup, .. } => write!(
                f,
                "Updated the Claude Status status line in {} (the previous file is kept as {}).",
                path.display(),
                backup.display()
            ),
            InstallOutcome::Replaced { path, backup, .. } => write!(
                f,
                "Replaced the status line in {} with Claude Status's (the previous file, with \
                 the old status line, is kept as {}).",
                path.display(),
                backup.display()
            ),
            InstallOutcome::AlreadyInstalled { path } => write!(
                f,
                "The Claude Status status line is already installed in {}; nothing changed.",
                path.display()
            ),
        }
    }
}

/// What [`uninstall`] did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum UninstallOutcome {
    /// The status line was removed.
    Removed {
        /// The settings file.
        path: PathBuf,
        /// The copy of the file as it was before.
        backup: PathBuf,
        /// The status line that was removed.
        previous: Value,
        /// Whether it was ours (otherwise it was removed with `force`).
        was_ours: bool,
    },
    /// There was no settings file, or no status line in it; nothing was written.
    NotInstalled {
        /// The settings file.
        path: PathBuf,
    },
}

impl UninstallOutcome {
    /// The settings file.
    pub fn path(&self) -> &Path {
        match self {
            UninstallOutcome::Removed { path, .. } | UninstallOutcome::NotInstalled { path } => {
                path
            }
        }
    }

    /// The backup written before the change.
    pub fn backup(&self) -> Option<&Path> {
        match self {
            UninstallOutcome::Removed { backup, .. } => Some(backup),
            UninstallOutcome::NotInstalled { .. } => None,
        }
    }
}

impl fmt::Display for UninstallOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UninstallOutcome::Removed {
                path,
                backup,
                was_ours,
                ..
            } => write!(
                f,
                "Removed the {} status line from {} (the previous file is kept as {}).",
                if *was_ours { "Claude Status" } else { "other" },
                path.display(),
                backup.display()
            ),
            UninstallOutcome::NotInstalled { path } => {
                write!(f, "{} has no status line; nothing changed.", path.display())
            }
        }
    }
}

/// Which status line the settings file holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum StatusLineState {
    /// No settings file, no `statusLine`, or `statusLine: null`.
    None,
    /// Ours (see [`is_our_command`]), with the command as written.
    Ours {
        /// The command Claude Code runs.
        command: String,
    },
    /// Someone else's, with its value.
    Other {
        /// The `statusLine` value as it stands in the file.
        value: Value,
    },
}

/// Why the settings file was not changed (or not read). Every message names the file and says
/// what the user can do.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// The file could not be read.
    #[error("could not read Claude Code's settings file {path}: {source}")]
    Read {
        /// The settings file.
        path: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
    /// The file is larger than [`MAX_SETTINGS_BYTES`].
    #[error(
        "{path} is {size} bytes, more than the {limit} bytes a Claude Code settings file could \
         reasonably hold, so it was left alone; check that it is the right file"
    )]
    TooLarge {
        /// The settings file.
        path: PathBuf,
        /// Its size in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// The file is not valid JSON (or not UTF-8).
    #[error(
        "{path} is not valid JSON ({message} at line {line}, column {column}), so it was left \
         untouched; fix that spot (or move the file aside) and try again"
    )]
    InvalidJson {
        /// The settings file.
        path: PathBuf,
        /// The 1-based line of the problem.
        line: usize,
        /// The 1-based column of the problem (0 at the very start of an empty line or file).
        column: usize,
        /// What the parser expected or found.
        message: String,
    },
    /// The file's top level is JSON but not an object.
    #[error(
        "{path} holds {found} at its top level, but Claude Code's settings are a JSON object \
         ({{ … }}), so it was left untouched; fix or move the file and try again"
    )]
    NotAnObject {
        /// The settings file.
        path: PathBuf,
        /// What it holds instead ("an array", "a string", …).
        found: &'static str,
    },
    /// `statusLine` appears more than once at the top level.
    #[error(
        "{path} names \"statusLine\" {count} times, so it is unclear which one Claude Code \
         uses; delete all but one and try again"
    )]
    DuplicateStatusLine {
        /// The settings file.
        path: PathBuf,
        /// How many times.
        count: usize,
    },
    /// The file already has a status line that is not ours.
    #[error(
        "{path} already has a different status line:\n{existing}\nIt was left in place. To \
         replace it anyway, install again with force (--force); a backup of the file is kept"
    )]
    DifferentStatusLine {
        /// The settings file.
        path: PathBuf,
        /// The existing `statusLine`, pretty-printed.
        existing: String,
    },
    /// Uninstall found a status line that is not ours.
    #[error(
        "the status line in {path} is not Claude Status's:\n{existing}\nIt was left in place. \
         To remove it anyway, uninstall again with force (--force); a backup of the file is kept"
    )]
    NotOurs {
        /// The settings file.
        path: PathBuf,
        /// The existing `statusLine`, pretty-printed.
        existing: String,
    },
    /// The command to install is empty or holds a line break or NUL.
    #[error("the status-line command {command:?} is not usable: {reason}")]
    InvalidCommand {
        /// The command.
        command: String,
        /// Why.
        reason: &'static str,
    },
    /// `refreshInterval` is below Claude Code's minimum.
    #[error(
        "a status-line refresh interval of {value} s is not allowed: Claude Code's minimum is \
         1 second (leave it out to refresh on Claude Code's events only)"
    )]
    InvalidRefreshInterval {
        /// The value given.
        value: u32,
    },
    /// The file is read-only, so the user did not mean it to change.
    #[error("{path} is read-only, so it was left untouched; make it writable and try again")]
    ReadOnly {
        /// The settings file.
        path: PathBuf,
    },
    /// A symbolic link on the way to the file leads nowhere, or loops.
    #[error(
        "{path} is a symbolic link that does not lead to a file ({reason}); fix the link or \
         remove it and try again"
    )]
    BrokenLink {
        /// The settings file as given.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The backup could not be written; the settings file was not changed.
    #[error("could not write the backup {path}, so the settings file was not changed: {source}")]
    Backup {
        /// The backup file.
        path: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
    /// The new settings file could not be written; the old one is still in place.
    #[error("could not write {path} (it is unchanged): {source}")]
    Write {
        /// The settings file.
        path: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
    /// Something else changed the file between our read and our write.
    #[error(
        "{path} changed while it was being edited (Claude Code may have just written it), so \
         it was not replaced; try again"
    )]
    ChangedWhileEditing {
        /// The settings file.
        path: PathBuf,
    },
    /// No home folder to find `~/.claude` in.
    #[error(
        "no home folder to find Claude Code's settings in; set HOME, or CLAUDE_CONFIG_DIR to \
         Claude Code's configuration folder"
    )]
    NoHome,
    /// The edit did not check out (a bug in this module); nothing was written.
    #[error(
        "editing {path} went wrong inside Claude Status ({detail}); nothing was written. \
         Please report this"
    )]
    Internal {
        /// The settings file.
        path: PathBuf,
        /// What did not match.
        detail: String,
    },
}

/// Which status line `path` holds. A missing file holds none; an unreadable or invalid one is an
/// error, since the answer would be a guess.
pub fn status(path: &Path) -> Result<StatusLineState, InstallError> {
    let target = resolve_links(path)?;
    let Some(original) = read_settings(&target)? else {
        return Ok(StatusLineState::None);
    };
    let document = Document::parse(&target, &original.text)?;
    Ok(match document.status_line() {
        None | Some(Value::Null) => StatusLineState::None,
        Some(value) => match our_command_in(value, &is_our_command) {
            Some(command) => StatusLineState::Ours {
                command: command.to_string(),
            },
            None => StatusLineState::Other {
                value: value.clone(),
            },
        },
    })
}

/// Sets `statusLine` in the settings file at `path` to run `command`, keeping everything else.
/// See [`InstallOutcome`] for what can happen and [`InstallError`] for what is refused.
pub fn install(
    path: &Path,
    command: &str,
    opts: InstallOptions,
) -> Result<InstallOutcome, InstallError> {
    validate_command(command)?;
    if let Some(value) = opts.refresh_interval.filter(|&seconds| seconds < 1) {
        return Err(InstallError::InvalidRefreshInterval { value });
    }
    let setting = StatusLineSetting {
        kind: "command",
        command,
        padding: 0,
        refresh_interval: opts.refresh_interval,
    };
    let wanted = serde_json::to_value(&setting).map_err(|e| internal(path, e))?;
    let target = resolve_links(path)?;
    let Some(original) = read_settings(&target)? else {
        let mut text = String::from("{\n");
        text.push_str(DEFAULT_INDENT);
        text.push_str("\"statusLine\": ");
        text.push_str(&render(&setting, Some(DEFAULT_INDENT)).map_err(|e| internal(path, e))?);
        text.push_str("\n}\n");
        verify(&target, None, &text, Some(&wanted))?;
        create_new_settings(&target, text.as_bytes())?;
        return Ok(InstallOutcome::Created {
            path: path.to_path_buf(),
        });
    };
    let document = Document::parse(&target, &original.text)?;
    let previous = document.status_line().cloned();
    let previous_is_ours = previous
        .as_ref()
        .is_some_and(|value| our_command_in(value, &is_our_command).is_some());
    match &previous {
        Some(existing) if *existing == wanted => {
            return Ok(InstallOutcome::AlreadyInstalled {
                path: path.to_path_buf(),
            })
        }
        Some(existing) if !existing.is_null() && !previous_is_ours && !opts.force => {
            return Err(InstallError::DifferentStatusLine {
                path: target,
                existing: pretty(existing),
            })
        }
        _ => {}
    }
    check_writable(&target, &original)?;
    let rendered = render(&setting, document.indent()).map_err(|e| internal(path, e))?;
    let text = document.with_status_line(&rendered);
    verify(&target, Some(&document), &text, Some(&wanted))?;
    let backup = replace_settings(&target, &original, text.as_bytes())?;
    let path = path.to_path_buf();
    Ok(match previous {
        None | Some(Value::Null) => InstallOutcome::Added { path, backup },
        Some(previous) if previous_is_ours => InstallOutcome::Updated {
            path,
            backup,
            previous,
        },
        Some(previous) => InstallOutcome::Replaced {
            path,
            backup,
            previous,
        },
    })
}

/// Removes `statusLine` from the settings file at `path` when `is_ours` accepts its command
/// (normally [`is_our_command`]), or whatever it is with `force`, keeping everything else.
pub fn uninstall(
    path: &Path,
    is_ours: impl Fn(&str) -> bool,
    opts: UninstallOptions,
) -> Result<UninstallOutcome, InstallError> {
    let target = resolve_links(path)?;
    let not_installed = || UninstallOutcome::NotInstalled {
        path: path.to_path_buf(),
    };
    let Some(original) = read_settings(&target)? else {
        return Ok(not_installed());
    };
    let document = Document::parse(&target, &original.text)?;
    let previous = match document.status_line() {
        None | Some(Value::Null) => return Ok(not_installed()),
        Some(value) => value.clone(),
    };
    let was_ours = our_command_in(&previous, &is_ours).is_some();
    if !was_ours && !opts.force {
        return Err(InstallError::NotOurs {
            path: target,
            existing: pretty(&previous),
        });
    }
    check_writable(&target, &original)?;
    let text = document.without_status_line();
    verify(&target, Some(&document), &text, None)?;
    let backup = replace_settings(&target, &original, text.as_bytes())?;
    Ok(UninstallOutcome::Removed {
        path: path.to_path_buf(),
        backup,
        previous,
        was_ours,
    })
}

/// The value we write, in the order Claude Code's documentation shows its fields.
#[derive(Serialize)]
struct StatusLineSetting<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    command: &'a str,
    padding: u32,
    #[serde(rename = "refreshInterval", skip_serializing_if = "Option::is_none")]
    refresh_interval: Option<u32>,
}

fn validate_command(command: &str) -> Result<(), InstallError> {
    let reason = if command.trim().is_empty() {
        "it is empty"
    } else if command.contains(['\n', '\r']) {
        "it holds a line break"
    } else if command.contains('\0') {
        "it holds a NUL character"
    } else {
        return Ok(());
    };
    Err(InstallError::InvalidCommand {
        command: command.to_string(),
        reason,
    })
}

/// The command of a `statusLine` value when `is_ours` accepts it.
fn our_command_in<'v>(value: &'v Value, is_ours: &dyn Fn(&str) -> bool) -> Option<&'v str> {
    value
        .get("command")
        .and_then(Value::as_str)
        .filter(|command| is_ours(command))
}

/// A value as indented JSON, for error messages read in a terminal.
fn pretty(value: &Value) -> String {
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
    text.lines()
        .map(|line| format!("    {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `setting` as JSON text to stand as a top-level member's value: on one line for a compact file
/// (`indent` is `None`), else pretty-printed with the file's indentation, its continuation lines
/// indented one level as a member's value is.
fn render(setting: &StatusLineSetting<'_>, indent: Option<&str>) -> serde_json::Result<String> {
    let Some(indent) = indent else {
        return serde_json::to_string(setting);
    };
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    setting.serialize(&mut serializer)?;
    let text = String::from_utf8_lossy(&out);
    Ok(text.replace('\n', &format!("\n{indent}")))
}

fn internal(path: &Path, detail: impl fmt::Display) -> InstallError {
    InstallError::Internal {
        path: path.to_path_buf(),
        detail: detail.to_string(),
    }
}

/// Follows symbolic links to the real file, so that a settings file kept in a dotfiles folder
/// and linked into `~/.claude` stays a link and the file it points at is edited. A path that is
/// not a link (or does not exist yet) is returned as it is.
fn resolve_links(path: &Path) -> Result<PathBuf, InstallError> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_SYMLINK_HOPS {
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = fs::read_link(&current).map_err(|source| InstallError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                current = match current.parent() {
                    Some(parent) if link.is_relative() => parent.join(link),
                    _ => link,
                };
            }
            // Through a link, the real file's own name reads better in messages and backups
            // than `~/.claude/../dotfiles/settings.json`.
            Ok(_) if current != path => return Ok(fs::canonicalize(&current).unwrap_or(current)),
            Ok(_) => return Ok(current),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if current == path {
                    return Ok(current);
                }
                return Err(InstallError::BrokenLink {
                    path: path.to_path_buf(),
                    reason: format!("{} does not exist", current.display()),
                });
            }
            Err(source) => {
                return Err(InstallError::Read {
                    path: path.to_path_buf(),
                    source,
                })
            }
        }
    }
    Err(InstallError::BrokenLink {
        path: path.to_path_buf(),
        reason: format!("more than {MAX_SYMLINK_HOPS} links in a row"),
    })
}

/// The settings file as read: its exact bytes (for the backup and the change check), as text,
/// and its permissions.
struct Original {
    bytes: Vec<u8>,
    text: String,
    permissions: fs::Permissions,
}

/// Reads the file, or `None` when it does not exist. Bounded by [`MAX_SETTINGS_BYTES`]; bytes
/// that are not UTF-8 are an [`InstallError::InvalidJson`] at their position.
fn read_settings(path: &Path) -> Result<Option<Original>, InstallError> {
    let read_error = |source| InstallError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(read_error(e)),
    };
    let meta = file.metadata().map_err(read_error)?;
    if !meta.is_file() {
        return Err(read_error(io::Error::new(
            io::ErrorKind::InvalidInput,
            "it is not a regular file",
        )));
    }
    let bytes = read_bounded(file, path)?;
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let (line, column) = line_and_column(&String::from_utf8_lossy(valid));
            return Err(InstallError::InvalidJson {
                path: path.to_path_buf(),
                line,
                column: column + 1,
                message: "bytes that are not UTF-8".to_string(),
            });
        }
    };
    Ok(Some(Original {
        bytes: text.as_bytes().to_vec(),
        text,
        permissions: meta.permissions(),
    }))
}

fn read_bounded(file: File, path: &Path) -> Result<Vec<u8>, InstallError> {
    let mut bytes = Vec::new();
    file.take(MAX_SETTINGS_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| InstallError::Read {
            path: path.to_path_buf(),
            source,
        })?;
    if bytes.len() as u64 > MAX_SETTINGS_BYTES {
        let size = fs::metadata(path)
            .map(|m| m.len())
            .unwrap_or(bytes.len() as u64);
        return Err(InstallError::TooLarge {
            path: path.to_path_buf(),
            size,
            limit: MAX_SETTINGS_BYTES,
        });
    }
    Ok(bytes)
}

/// The 1-based line and the column (characters since the line's start) at the end of `text`.
fn line_and_column(text: &str) -> (usize, usize) {
    let line = text.matches('\n').count() + 1;
    let column = text
        .rsplit('\n')
        .next()
        .map_or(0, |last| last.chars().count());
    (line, column)
}

fn check_writable(path: &Path, original: &Original) -> Result<(), InstallError> {
    if original.permissions.readonly() {
        return Err(InstallError::ReadOnly {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// One member of the top-level object, as byte positions in the file's text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Member {
    key: String,
    key_start: usize,
    key_end: usize,
    value_start: usize,
    value_end: usize,
}

/// A settings file's text with the positions of its top-level members.
#[derive(Debug)]
struct Document<'t> {
    text: &'t str,
    /// The position of the top level's `{`.
    open: usize,
    /// The position of the top level's `}`.
    close: usize,
    members: Vec<Member>,
    values: Map<String, Value>,
    /// Where `statusLine` is among the members.
    status_line: Option<usize>,
}

impl<'t> Document<'t> {
    /// Parses the text: serde_json decides whether it is valid JSON and an object (and gives the
    /// error position), then [`scan_members`] finds where each top-level member is.
    fn parse(path: &Path, text: &'t str) -> Result<Self, InstallError> {
        // A byte-order mark is not JSON; skip it (and keep it, since everything before the
        // object is left as it is).
        let body_start = if text.starts_with('\u{feff}') { 3 } else { 0 };
        let body = &text[body_start..];
        let value: Value = serde_json::from_str(body).map_err(|e| {
            let full = e.to_string();
            let suffix = format!(" at line {} column {}", e.line(), e.column());
            InstallError::InvalidJson {
                path: path.to_path_buf(),
                line: e.line(),
                column: e.column(),
                message: full.strip_suffix(&suffix).unwrap_or(&full).to_string(),
            }
        })?;
        let values = match value {
            Value::Object(map) => map,
            other => {
                return Err(InstallError::NotAnObject {
                    path: path.to_path_buf(),
                    found: kind_of(&other),
                })
            }
        };
        let (open, close, members) = scan_members(text, body_start).ok_or_else(|| {
            internal(
                path,
                "the file parsed as JSON but its members could not be located",
            )
        })?;
        let positions: Vec<usize> = members
            .iter()
            .enumerate()
            .filter(|(_, m)| m.key == STATUS_LINE_KEY)
            .map(|(i, _)| i)
            .collect();
        if positions.len() > 1 {
            return Err(InstallError::DuplicateStatusLine {
                path: path.to_path_buf(),
                count: positions.len(),
            });
        }
        Ok(Document {
            text,
            open,
            close,
            members,
            values,
            status_line: positions.first().copied(),
        })
    }

    fn status_line(&self) -> Option<&Value> {
        self.values.get(STATUS_LINE_KEY)
    }

    /// The text between `{` and the first key: it shows how the file lays members out.
    fn leading_gap(&self) -> &'t str {
        match self.members.first() {
            Some(first) => &self.text[self.open + 1..first.key_start],
            None => "",
        }
    }

    /// The file's indentation for top-level members: `None` when it is written on one line.
    fn indent(&self) -> Option<&'t str> {
        if self.members.is_empty() {
            return Some(DEFAULT_INDENT);
        }
        let gap = self.leading_gap();
        let last_line = gap.rfind('\n').map(|i| &gap[i + 1..])?;
        Some(if last_line.is_empty() {
            DEFAULT_INDENT
        } else {
            last_line
        })
    }

    /// The text with `statusLine` set to `rendered`: in place when it is there, else appended as
    /// the last member in the file's layout.
    fn with_status_line(&self, rendered: &str) -> String {
        let text = self.text;
        if let Some(index) = self.status_line {
            let member = &self.members[index];
            return format!(
                "{}{rendered}{}",
                &text[..member.value_start],
                &text[member.value_end..]
            );
        }
        match self.members.last() {
            None => {
                // `{}` or `{ }`: lay it out as Claude Code would.
                format!(
                    "{}\n{DEFAULT_INDENT}\"{STATUS_LINE_KEY}\": {rendered}\n{}",
                    &text[..=self.open],
                    &text[self.close..]
                )
            }
            Some(last) => {
                let first = &self.members[0];
                let colon = &text[first.key_end..first.value_start];
                format!(
                    "{},{}\"{STATUS_LINE_KEY}\"{colon}{rendered}{}",
                    &text[..last.value_end],
                    self.leading_gap(),
                    &text[last.value_end..]
                )
            }
        }
    }

    /// The text without the `statusLine` member and one comma next to it.
    fn without_status_line(&self) -> String {
        let text = self.text;
        let Some(index) = self.status_line else {
            return text.to_string();
        };
        let (cut_start, cut_end) = if self.members.len() == 1 {
            (self.open + 1, self.close)
        } else if index + 1 < self.members.len() {
            (
                self.members[index].key_start,
                self.members[index + 1].key_start,
            )
        } else {
            (
                self.members[index - 1].value_end,
                self.members[index].value_end,
            )
        };
        format!("{}{}", &text[..cut_start], &text[cut_end..])
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Finds the top-level object's `{`, `}` and members in text serde_json has accepted as one
/// JSON object. `None` if the text does not have that shape after all. The scan keeps no stack
/// (a depth count), so deep nesting cannot overflow it.
fn scan_members(text: &str, start: usize) -> Option<(usize, usize, Vec<Member>)> {
    let bytes = text.as_bytes();
    let mut at = skip_whitespace(bytes, start);
    if bytes.get(at) != Some(&b'{') {
        return None;
    }
    let open = at;
    at += 1;
    let mut members = Vec::new();
    let close = loop {
        at = skip_whitespace(bytes, at);
        match bytes.get(at)? {
            b'}' if members.is_empty() => break at,
            b'"' => {}
            _ => return None,
        }
        let key_start = at;
        let key_end = skip_string(bytes, at)?;
        let key: String = serde_json::from_str(&text[key_start..key_end]).ok()?;
        at = skip_whitespace(bytes, key_end);
        if bytes.get(at) != Some(&b':') {
            return None;
        }
        let value_start = skip_whitespace(bytes, at + 1);
        let value_end = skip_value(bytes, value_start)?;
        members.push(Member {
            key,
            key_start,
            key_end,
            value_start,
            value_end,
        });
        at = skip_whitespace(bytes, value_end);
        match bytes.get(at)? {
            b',' => at += 1,
            b'}' => break at,
            _ => return None,
        }
    };
    if skip_whitespace(bytes, close + 1) != bytes.len() {
        return None;
    }
    Some((open, close, members))
}

fn skip_whitespace(bytes: &[u8], mut at: usize) -> usize {
    while matches!(bytes.get(at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        at += 1;
    }
    at
}

/// The position just past the string that starts at `at` (on its `"`).
fn skip_string(bytes: &[u8], at: usize) -> Option<usize> {
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    let mut i = at + 1;
    loop {
        match bytes.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
}

/// The position just past the value that starts at `at`.
fn skip_value(bytes: &[u8], at: usize) -> Option<usize> {
    match bytes.get(at)? {
        b'"' => skip_string(bytes, at),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = at;
            loop {
                match bytes.get(i)? {
                    b'"' => {
                        i = skip_string(bytes, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        _ => {
            let mut i = at;
            while let Some(b) = bytes.get(i) {
                if matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b',' | b'}' | b']') {
                    break;
                }
                i += 1;
            }
            (i > at).then_some(i)
        }
    }
}

/// Checks the edited text before it is written: it parses as an object, the members other than
/// `statusLine` are the same values in the same order, and `statusLine` is `wanted` (or absent
/// when `wanted` is `None`). A failure here is a bug in the splicing, and writing nothing is the
/// only safe answer to it.
fn verify(
    path: &Path,
    before: Option<&Document<'_>>,
    text: &str,
    wanted: Option<&Value>,
) -> Result<(), InstallError> {
    let after = Document::parse(path, text).map_err(|e| internal(path, e))?;
    let others = |document: &Document<'_>| -> Vec<(String, Value)> {
        document
            .members
            .iter()
            .filter(|m| m.key != STATUS_LINE_KEY)
            .map(|m| {
                let value = document.values.get(&m.key).cloned().unwrap_or(Value::Null);
                (m.key.clone(), value)
            })
            .collect()
    };
    let before_others = before.map(others).unwrap_or_default();
    if others(&after) != before_others {
        return Err(internal(path, "the other settings would have changed"));
    }
    if after.status_line() != wanted {
        return Err(internal(
            path,
            "the status line would not be the one intended",
        ));
    }
    Ok(())
}

/// Distinguishes temporary files made by one process in the same instant.
static TEMP_COUNTER: AtomicU32 = AtomicU32::new(0);

/// Writes a settings file where there was none, creating its folder.
fn create_new_settings(path: &Path, bytes: &[u8]) -> Result<(), InstallError> {
    let write_error = |source| InstallError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(write_error)?;
    }
    write_atomically(path, bytes, None, None)
}

/// Backs the file up, then replaces it with `bytes`, keeping its permissions. Returns the backup.
fn replace_settings(
    path: &Path,
    original: &Original,
    bytes: &[u8],
) -> Result<PathBuf, InstallError> {
    let backup = write_backup(path, original)?;
    write_atomically(
        path,
        bytes,
        Some(&original.permissions),
        Some(&original.bytes),
    )?;
    Ok(backup)
}

/// Writes `original`'s bytes to a backup name no file has yet, with the file's permissions
/// (settings often hold tokens in `env`, so the copy must be no more readable than the file).
fn write_backup(path: &Path, original: &Original) -> Result<PathBuf, InstallError> {
    let stamp = chrono::Local::now().format("%Y%m%dT%H%M%S").to_string();
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| SETTINGS_FILE_NAME.to_string());
    let base = format!("{file_name}{BACKUP_INFIX}{stamp}");
    let mut last_error = None;
    for attempt in 1..=MAX_BACKUP_NAMES {
        let name = if attempt == 1 {
            base.clone()
        } else {
            format!("{base}-{attempt}")
        };
        let backup = path.with_file_name(name);
        match create_exclusive(&backup) {
            Ok(mut file) => {
                let written = file
                    .write_all(&original.bytes)
                    .and_then(|()| fs::set_permissions(&backup, original.permissions.clone()))
                    .and_then(|()| file.sync_all());
                if let Err(source) = written {
                    let _ = fs::remove_file(&backup);
                    return Err(InstallError::Backup {
                        path: backup,
                        source,
                    });
                }
                return Ok(backup);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_error = Some(e),
            Err(source) => {
                return Err(InstallError::Backup {
                    path: backup,
                    source,
                })
            }
        }
    }
    Err(InstallError::Backup {
        path: path.with_file_name(format!("{base}-{MAX_BACKUP_NAMES}")),
        source: last_error.unwrap_or_else(|| io::Error::other("every backup name is taken")),
    })
}

/// Creates a file that must not exist yet, readable by its owner only until its real permissions
/// are set.
fn create_exclusive(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Writes `bytes` to a temporary file beside `path` and renames it over `path`. With
/// `expected`, the file must still hold exactly those bytes just before the rename (else nothing
/// is replaced); without, it must still not exist.
fn write_atomically(
    path: &Path,
    bytes: &[u8],
    permissions: Option<&fs::Permissions>,
    expected: Option<&[u8]>,
) -> Result<(), InstallError> {
    let write_error = |source| InstallError::Write {
        path: path.to_path_buf(),
        source,
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| SETTINGS_FILE_NAME.to_string());
    let temp = path.with_file_name(format!(
        ".{file_name}.claude-status-tmp-{}-{}",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = create_exclusive(&temp).map_err(write_error)?;
        file.write_all(bytes).map_err(write_error)?;
        if let Some(permissions) = permissions {
            fs::set_permissions(&temp, permissions.clone()).map_err(write_error)?;
        }
        file.sync_all().map_err(write_error)?;
        drop(file);
        let unchanged = match expected {
            Some(expected) => read_settings(path)
                .ok()
                .flatten()
                .is_some_and(|now| now.bytes == expected),
            None => !path.exists(),
        };
        if !unchanged {
            return Err(InstallError::ChangedWhileEditing {
                path: path.to_path_buf(),
            });
        }
        fs::rename(&temp, path).map_err(write_error)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    } else {
        sync_parent(path);
    }
    result
}

/// Makes the rename durable where the platform allows it; a failure here loses nothing that the
/// next write would not redo, so it is ignored.
fn sync_parent(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Document<'_> {
        match Document::parse(Path::new("settings.json"), text) {
            Ok(document) => document,
            Err(e) => panic!("{e}"),
        }
    }

    fn ours() -> StatusLineSetting<'static> {
        StatusLineSetting {
            kind: "command",
            command: "claude-status statusline",
            padding: 0,
            refresh_interval: None,
        }
    }

    #[test]
    fn members_are_located_with_strings_escapes_and_nesting() {
        let text = "\u{feff} {\"a\\\"}\" : {\"x\": [1, \"]}\"]}, \"b\":-1.5e3,\"c\":null }\n";
        let document = parse(text);
        let keys: Vec<_> = document.members.iter().map(|m| m.key.as_str()).collect();
        assert_eq!(keys, ["a\"}", "b", "c"]);
        let values: Vec<_> = document
            .members
            .iter()
            .map(|m| &text[m.value_start..m.value_end])
            .collect();
        assert_eq!(values, ["{\"x\": [1, \"]}\"]}", "-1.5e3", "null"]);
        assert_eq!(&text[document.close..], "}\n");
    }

    #[test]
    fn an_escaped_key_is_still_the_status_line() {
        let document = parse(r#"{"status\u004cine": {"command": "x"}}"#);
        assert_eq!(document.status_line, Some(0));
    }

    #[test]
    fn removal_takes_one_comma_wherever_the_member_is() {
        let check = |text: &str, expected: &str| {
            assert_eq!(parse(text).without_status_line(), expected, "from {text}");
        };
        check(r#"{"statusLine":1,"a":2}"#, r#"{"a":2}"#);
        check(r#"{"a":1,"statusLine":2,"b":3}"#, r#"{"a":1,"b":3}"#);
        check(r#"{"a":1,"statusLine":2}"#, r#"{"a":1}"#);
        check("{\n  \"statusLine\": 2\n}\n", "{}\n");
        check("{\n  \"a\": 1,\n  \"statusLine\": 2\n}", "{\n  \"a\": 1\n}");
    }

    #[test]
    fn adding_follows_the_files_layout() {
        let compact = parse(r#"{"a":1}"#);
        let rendered = render(&ours(), compact.indent()).unwrap_or_default();
        assert_eq!(
            compact.with_status_line(&rendered),
            r#"{"a":1,"statusLine":{"type":"command","command":"claude-status statusline","padding":0}}"#
        );
        let tabs = parse("{\n\t\"a\": [\n\t\t1\n\t]\n}\n");
        let rendered = render(&ours(), tabs.indent()).unwrap_or_default();
        assert_eq!(
            tabs.with_status_line(&rendered),
            "{\n\t\"a\": [\n\t\t1\n\t],\n\t\"statusLine\": {\n\t\t\"type\": \"command\",\n\t\t\
             \"command\": \"claude-status statusline\",\n\t\t\"padding\": 0\n\t}\n}\n"
        );
        let empty = parse("{ }");
        let rendered = render(&ours(), empty.indent()).unwrap_or_default();
        assert_eq!(
            empty.with_status_line(&rendered),
            "{\n  \"statusLine\": {\n    \"type\": \"command\",\n    \"command\": \
             \"claude-status statusline\",\n    \"padding\": 0\n  }\n}"
        );
    }

    #[test]
    fn every_prefix_and_every_edit_of_a_file_parses_or_errors_without_panicking() {
        let full = "\u{feff}{\n  \"a\": {\"b\": [1, \"x\\\"]\"]},\n  \"statusLine\": \
                    {\"command\": \"q\"},\n  \"c\": -0.5e-3\n}\n";
        let path = Path::new("settings.json");
        // Every prefix of the file, and the file with each one character removed.
        let boundaries: Vec<usize> = (0..=full.len())
            .filter(|&i| full.is_char_boundary(i))
            .collect();
        let mut variants: Vec<String> = boundaries.iter().map(|&i| full[..i].to_string()).collect();
        for pair in boundaries.windows(2) {
            variants.push(format!("{}{}", &full[..pair[0]], &full[pair[1]..]));
        }
        let mut parsed = 0;
        for text in &variants {
            let Ok(document) = Document::parse(path, text) else {
                continue;
            };
            parsed += 1;
            let rendered = render(&ours(), document.indent()).unwrap_or_default();
            let wanted = serde_json::to_value(ours()).ok();
            let added = document.with_status_line(&rendered);
            let removed = document.without_status_line();
            assert!(
                verify(path, Some(&document), &added, wanted.as_ref()).is_ok(),
                "{text:?} became {added:?}"
            );
            assert!(
                verify(path, Some(&document), &removed, None).is_ok(),
                "{text:?} became {removed:?}"
            );
        }
        // Whitespace and the BOM can go, and so can a digit of a number or a letter of a string.
        assert!(parsed > 20, "{parsed}");
        for text in [
            "",
            "{",
            "}",
            "{\"a\"}",
            "{\"a\":}",
            "[",
            "\"",
            "{\"a\":1,}",
            "\u{feff}",
        ] {
            assert!(Document::parse(path, text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn shell_words_follow_posix_quoting() {
        let words = |s: &str| leading_words(s, 3, true);
        assert_eq!(words("a b  c d"), ["a", "b", "c"]);
        assert_eq!(words(r#"'/x y/z' "q\"r" s\ t"#), ["/x y/z", "q\"r", "s t"]);
        assert_eq!(words("'it'\\''s' x"), ["it's", "x"]);
        assert_eq!(words("a;b"), ["a", ";", "b"]);
        assert_eq!(words("\"unterminated"), ["unterminated"]);
        assert_eq!(words("   "), Vec::<String>::new());
        assert_eq!(leading_words(r"C:\a\b c", 2, false), [r"C:\a\b", "c"]);
    }

    #[test]
    fn our_command_is_recognised_in_its_spellings() {
        assert!(is_our_command("claude-status statusline"));
        assert!(is_our_command(
            "/usr/local/bin/claude-status statusline --compact"
        ));
        assert!(is_our_command("'/opt/My Apps/claude-status' statusline"));
        assert!(is_our_command(
            r#""C:\Program Files\Claude Status\claude-status.exe" statusline"#
        ));
        assert!(is_our_command(r"C:\Users\me\claude-status.exe statusline"));
        assert!(!is_our_command("claude-status"));
        assert!(!is_our_command("claude-status usage"));
        assert!(!is_our_command("ccusage statusline"));
        assert!(!is_our_command("claude-status; statusline"));
        assert!(!is_our_command("/bin/my-claude-status statusline"));
        assert!(!is_our_command(""));
        // The status line's own binary, alone or with its options.
        assert!(is_our_command("/usr/local/bin/claude-status-line"));
        assert!(is_our_command("claude-status-line --segments health,today"));
        assert!(is_our_command("'/opt/My Apps/claude-status-line'"));
        assert!(is_our_command(r"C:\Users\me\claude-status-line.exe"));
        assert!(!is_our_command("claude-status-line; rm -rf x"));
        assert!(!is_our_command("claude-status-line | tee x"));
        assert!(!is_our_command("claude-status-line statusline"));
        assert!(!is_our_command("/bin/my-claude-status-line"));
    }

    #[test]
    fn the_small_binary_is_preferred_when_it_is_beside_the_command() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("claude-status");
        std::fs::write(&exe, b"").unwrap();
        // Alone, the command runs its own `statusline`.
        assert_eq!(preferred_command(&exe), our_command(&exe));
        // With the small binary beside it, that one is installed, and recognised as ours.
        std::fs::write(dir.path().join(LINE_PROGRAM), b"").unwrap();
        let command = preferred_command(&exe);
        assert_eq!(
            command,
            quote_for_shell(&dir.path().join(LINE_PROGRAM).to_string_lossy())
        );
        assert!(is_our_command(&command));
        // A directory of that name is not a program.
        let other = tempfile::tempdir().unwrap();
        std::fs::create_dir(other.path().join(LINE_PROGRAM)).unwrap();
        let exe = other.path().join("claude-status");
        assert_eq!(preferred_command(&exe), our_command(&exe));
    }

    #[test]
    fn quoting_only_when_needed() {
        assert_eq!(
            quote_for_shell("/usr/bin/claude-status"),
            "/usr/bin/claude-status"
        );
        assert_eq!(quote_for_shell("/a b/c"), "'/a b/c'");
        assert_eq!(quote_for_shell("/it's"), r"'/it'\''s'");
        assert_eq!(quote_for_shell("/a$b"), "'/a$b'");
        assert_eq!(quote_for_shell("~/bin/x"), "'~/bin/x'");
        assert_eq!(quote_for_shell(""), "''");
        for exe in [
            "/a b/claude-status",
            "/it's/claude-status",
            r"C:\x y\claude-status.exe",
        ] {
            assert!(is_our_command(&our_command(Path::new(exe))), "{exe}");
        }
    }

    #[test]
    fn invalid_utf8_is_reported_at_its_position() {
        let dir = std::env::temp_dir().join(format!("cs-statusline-utf8-{}", std::process::id()));
        let _ = fs::create_dir_all(&dir);
        let path = dir.join("settings.json");
        let _ = fs::write(&path, b"{\n  \"a\": \"\xff\"\n}");
        let result = read_settings(&path);
        let _ = fs::remove_dir_all(&dir);
        match result {
            Err(InstallError::InvalidJson { line, column, .. }) => {
                assert_eq!((line, column), (2, 9));
            }
            other => panic!(
                "expected InvalidJson, got {:?}",
                other.map(|o| o.map(|o| o.text))
            ),
        }
    }

    #[test]
    fn parse_errors_carry_the_position_without_repeating_it() {
        match Document::parse(Path::new("s.json"), "{\n  \"a\": 1,\n}") {
            Err(InstallError::InvalidJson {
                line,
                column,
                message,
                ..
            }) => {
                assert_eq!(line, 3);
                assert!(column >= 1);
                assert!(!message.contains("line"), "{message}");
            }
            other => panic!("expected InvalidJson, got {other:?}"),
        }
    }
}
