//! Where Claude Code keeps its transcripts, and the `*.jsonl` files under them.
//!
//! The rules are ccusage's, so that both tools read the same files: `CLAUDE_CONFIG_DIR` (one
//! config directory or several separated by commas) *replaces* the defaults when it is set, and
//! each of its entries counts only when it has a `projects/` folder (an entry that *is* a
//! `projects/` folder is accepted too). Without it, `$XDG_CONFIG_HOME/claude` (else
//! `~/.config/claude`) and `~/.claude` are used, each when its `projects/` exists.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The environment variable Claude Code reads its configuration directory from.
pub const CLAUDE_CONFIG_DIR_ENV: &str = "CLAUDE_CONFIG_DIR";

/// The `projects/` directories to read, from the environment and the home directory.
///
/// An error only when `CLAUDE_CONFIG_DIR` is set and none of its entries has a `projects/`
/// folder: the user asked for something specific, so silence would hide a typo. Without the
/// variable, no directory at all is a normal state (Claude Code not installed) and gives `[]`.
pub fn default_projects_dirs() -> Result<Vec<PathBuf>> {
    let home = home_dir();
    let config_dir = std::env::var(CLAUDE_CONFIG_DIR_ENV).ok();
    let xdg_config_home = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    projects_dirs_from(
        config_dir.as_deref(),
        xdg_config_home.as_deref(),
        home.as_deref(),
    )
}

/// [`default_projects_dirs`] with its inputs given, for tests and for callers that already read
/// the environment.
pub fn projects_dirs_from(
    claude_config_dir: Option<&str>,
    xdg_config_home: Option<&Path>,
    home: Option<&Path>,
) -> Result<Vec<PathBuf>> {
    let mut seen = HashSet::new();
    let mut dirs = Vec::new();
    if let Some(list) = claude_config_dir {
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let entry = expand_home(entry, home);
            if let Some(projects) = projects_dir_of(&entry) {
                if seen.insert(projects.clone()) {
                    dirs.push(projects);
                }
            }
        }
        if dirs.is_empty() {
            return Err(Error::Config(format!(
                "{CLAUDE_CONFIG_DIR_ENV} is set to {list:?}, but none of its entries is a Claude \
                 config directory with a projects/ folder (or a projects/ folder itself)"
            )));
        }
        return Ok(dirs);
    }
    let Some(home) = home else {
        return Ok(dirs);
    };
    let xdg = xdg_config_home
        .map(Path::to_path_buf)
        .unwrap_or_else(|| home.join(".config"));
    for config in [xdg.join("claude"), home.join(".claude")] {
        let projects = config.join("projects");
        if projects.is_dir() && seen.insert(projects.clone()) {
            dirs.push(projects);
        }
    }
    Ok(dirs)
}

/// The `projects/` directory for a `--logs DIR` override: `DIR/projects` when it exists (a config
/// directory), else `DIR` itself (a projects directory, or any folder of transcripts).
pub fn logs_override(dir: &Path) -> Result<PathBuf> {
    if let Some(projects) = projects_dir_of(dir) {
        return Ok(projects);
    }
    if dir.is_dir() {
        return Ok(dir.to_path_buf());
    }
    Err(Error::Config(format!(
        "--logs {}: no such directory",
        dir.display()
    )))
}

/// `dir/projects` when `dir` is a config directory, `dir` when it is a `projects/` folder.
fn projects_dir_of(dir: &Path) -> Option<PathBuf> {
    let nested = dir.join("projects");
    if nested.is_dir() {
        return Some(nested);
    }
    if dir.file_name().is_some_and(|name| name == "projects") && dir.is_dir() {
        return Some(dir.to_path_buf());
    }
    None
}

fn expand_home(entry: &str, home: Option<&Path>) -> PathBuf {
    match (entry, home) {
        ("~", Some(home)) => home.to_path_buf(),
        (_, Some(home)) if entry.starts_with("~/") => home.join(&entry[2..]),
        _ => PathBuf::from(entry),
    }
}

/// The user's home: `HOME` when set (so tests and sandboxes can move it), else the platform's.
fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|dirs| dirs.home_dir().to_path_buf()))
}

/// One transcript and the `projects/` directory it was found under.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LogFile {
    pub path: PathBuf,
    pub projects_dir: PathBuf,
}

/// Every `*.jsonl` under the given directories, recursively (sessions keep their subagents in
/// `<session>/subagents/`), sorted by path. Unreadable folders are skipped, not fatal: one
/// folder with odd permissions must not hide all the others.
pub fn find_log_files(projects_dirs: &[PathBuf]) -> Vec<LogFile> {
    let mut files = Vec::new();
    let mut seen = HashSet::new();
    for projects_dir in projects_dirs {
        let mut pending = vec![projects_dir.clone()];
        while let Some(dir) = pending.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                tracing::debug!(dir = %dir.display(), "skipping an unreadable folder");
                continue;
            };
            for entry in entries.flatten() {
                let Ok(kind) = entry.file_type() else {
                    continue;
                };
                let path = entry.path();
                if kind.is_dir() {
                    pending.push(path);
                } else if is_transcript(&path) && seen.insert(path.clone()) {
                    files.push(LogFile {
                        path,
                        projects_dir: projects_dir.clone(),
                    });
                }
            }
        }
    }
    files.sort();
    files
}

/// True for a `*.jsonl` path.
pub fn is_transcript(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext == "jsonl")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.
mod tests {
    use super::*;

    #[test]
    fn the_environment_replaces_the_defaults_and_accepts_both_spellings() {
        let temp = tempfile::tempdir().unwrap();
        let home = temp.path().join("home");
        std::fs::create_dir_all(home.join(".claude/projects")).unwrap();
        let a = temp.path().join("a");
        std::fs::create_dir_all(a.join("projects")).unwrap();
        let b = temp.path().join("b/projects");
        std::fs::create_dir_all(&b).unwrap();
        let list = format!(
            "{}, {} ,{}",
            a.display(),
            b.display(),
            temp.path().join("none").display()
        );
        let dirs = projects_dirs_from(Some(&list), None, Some(&home)).unwrap();
        assert_eq!(dirs, vec![a.join("projects"), b]);

        let defaults = projects_dirs_from(None, None, Some(&home)).unwrap();
        assert_eq!(defaults, vec![home.join(".claude/projects")]);

        let none = temp.path().join("none").display().to_string();
        assert!(projects_dirs_from(Some(&none), None, Some(&home)).is_err());
    }

    #[test]
    fn files_are_found_recursively() {
        let temp = tempfile::tempdir().unwrap();
        let projects = temp.path().join("projects");
        std::fs::create_dir_all(projects.join("p/s/subagents")).unwrap();
        std::fs::write(projects.join("p/s.jsonl"), "").unwrap();
        std::fs::write(projects.join("p/s/subagents/agent-1.jsonl"), "").unwrap();
        std::fs::write(projects.join("p/notes.txt"), "").unwrap();
        let found: Vec<_> = find_log_files(std::slice::from_ref(&projects))
            .into_iter()
            .map(|f| f.path)
            .collect();
        // Paths sort by component: the folder `s` comes before the file `s.jsonl`.
        assert_eq!(
            found,
            vec![
                projects.join("p/s/subagents/agent-1.jsonl"),
                projects.join("p/s.jsonl")
            ]
        );
    }
}
