//! `claude-status statusline`: Claude Code's `statusLine` command. It reads the JSON Claude Code
//! hands it on stdin and prints one line (two when `COLUMNS` is narrow), asking the running
//! service in one bounded round trip, else reading the store, else printing what it was told.
//!
//! It runs many times a minute while the user works, so it never touches the network, starts no
//! async runtime, and whatever goes wrong ends in a short line and exit status 0: a stack trace or
//! an error status would end up in the user's prompt.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use chrono::Utc;
use claude_status_core::statusline::{
    parse_input, render, render_bad_input, RenderOptions, Segment, StatusFacts, StatusInput,
    MAX_INPUT_BYTES,
};
use claude_status_engine::control::blocking::{call_once, BlockingError};
use claude_status_engine::control::proto::Call;

/// How long the service may take to answer before the line is drawn from the store instead.
const SERVICE_BUDGET: Duration = Duration::from_millis(300);

/// What the command was asked to show.
pub struct Options {
    pub data_dir: Option<PathBuf>,
    pub segments: Option<String>,
}

/// The arguments of a plain `statusline [--segments LIST]` run, which needs no full parse:
/// `Some(segments)` for those, `None` for anything else (options, `--install`, help).
pub fn fast_args(mut args: impl Iterator<Item = std::ffi::OsString>) -> Option<Option<String>> {
    if args.next()? != "statusline" {
        return None;
    }
    let rest: Vec<String> = args
        .map(|a| a.into_string().ok())
        .collect::<Option<Vec<_>>>()?;
    match rest.as_slice() {
        [] => Some(None),
        [flag, list] if flag == "--segments" && !list.starts_with('-') => Some(Some(list.clone())),
        [flag] => flag
            .strip_prefix("--segments=")
            .map(|list| Some(list.to_owned())),
        _ => None,
    }
}

/// Runs the status line; always exits 0 unless the segment list itself is wrong.
pub fn run(options: Options) -> ExitCode {
    let segments = match options.segments.as_deref() {
        Some(list) => match Segment::parse_list(list) {
            Ok(segments) => segments,
            Err(message) => {
                // Claude Code is still writing its JSON: read it (bounded) so that its write
                // never meets a closed pipe, then say what is wrong.
                let _ = read_stdin();
                // A wrong flag is the installer's mistake, made once at a terminal: say so there.
                eprintln!("claude-status statusline: {message}");
                println!("claude-status: {message}");
                return ExitCode::SUCCESS;
            }
        },
        None => Segment::ALL.to_vec(),
    };
    let line = std::panic::catch_unwind(|| line(&options, segments))
        .unwrap_or_else(|_| "claude-status: status line failed".to_owned());
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
    ExitCode::SUCCESS
}

fn line(options: &Options, segments: Vec<Segment>) -> String {
    let now = Utc::now();
    let input = read_stdin().map(|bytes| parse_input(&bytes, now));
    let zone = claude_status_engine::usage::local_day_zone();
    let render_options = RenderOptions {
        segments,
        color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        columns: std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse().ok())
            .filter(|c: &usize| *c > 0),
        zone,
    };
    let parsed: Option<&StatusInput> = match &input {
        Ok(Ok(input)) => Some(input),
        _ => None,
    };
    let facts = facts(options, parsed, &zone, now);
    match input {
        Ok(Ok(input)) => render(Some(&input), &facts, now, &render_options),
        Ok(Err(error)) => render_bad_input(&error, &facts, now, &render_options),
        Err(reason) => format!("{} · {reason}", render(None, &facts, now, &render_options)),
    }
}

/// Stdin, bounded; a terminal (someone trying the command by hand) is not waited on.
fn read_stdin() -> Result<Vec<u8>, &'static str> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err("pipe Claude Code's status-line JSON into this command");
    }
    let mut bytes = Vec::with_capacity(8 * 1024);
    // One byte over the limit tells a too-large input from one exactly at it.
    let limit = u64::try_from(MAX_INPUT_BYTES + 1).unwrap_or(u64::MAX);
    match stdin.lock().take(limit).read_to_end(&mut bytes) {
        Ok(_) => Ok(bytes),
        Err(_) => Err("could not read the status-line input"),
    }
}

/// The service's answer, else the store's, else nothing.
fn facts(
    options: &Options,
    input: Option<&StatusInput>,
    zone: &claude_status_core::aggregate::DayZone,
    now: chrono::DateTime<Utc>,
) -> StatusFacts {
    let Ok(data_dir) = claude_status_engine::paths::data_dir(options.data_dir.clone()) else {
        return StatusFacts::none();
    };
    let readings = input.map(|i| i.rate_limits.clone()).unwrap_or_default();
    let socket = claude_status_engine::control::socket_path(&data_dir);
    let call = Call::StatusLine {
        readings: readings.clone(),
        model: input.and_then(|i| i.model_id.clone()),
    };
    match call_once(&socket, "statusline", &call, SERVICE_BUDGET) {
        Ok(value) => {
            if let Ok(facts) = serde_json::from_value::<StatusFacts>(value) {
                return facts;
            }
        }
        Err(BlockingError::NotRunning) => {}
        Err(error) => tracing::debug!("status line: {error}"),
    }
    // Without a service the readings are kept in the store directly (created on the first run),
    // so the service finds them when it starts.
    let store_path = claude_status_engine::store::Store::default_path(&data_dir);
    let from_store = claude_status_engine::store::Store::open(&store_path).and_then(|store| {
        let catalog = claude_status_engine::usage::load_catalog_in(&data_dir)?;
        claude_status_engine::statusline::facts_from_store(&store, &readings, &catalog, zone, now)
    });
    from_store.unwrap_or_else(|error| {
        tracing::debug!("status line: the store gave nothing: {error}");
        StatusFacts::none()
    })
}

/// `statusline --install` / `--uninstall`: edits Claude Code's settings file, keeping every
/// other key and writing a backup first; another status line is replaced only with `--force`.
pub fn install_command(
    segments: Option<String>,
    install: bool,
    force: bool,
    refresh_interval: Option<u32>,
) -> anyhow::Result<ExitCode> {
    use claude_status_engine::statusline_install as settings;
    let path = settings::default_settings_path()?;
    if install {
        if let Some(list) = &segments {
            Segment::parse_list(list).map_err(anyhow::Error::msg)?;
        }
        let exe = std::env::current_exe()?;
        let command = command_with_segments(&settings::our_command(&exe), segments.as_deref());
        let outcome = settings::install(
            &path,
            &command,
            settings::InstallOptions {
                force,
                refresh_interval,
            },
        )?;
        println!("{outcome}");
    } else {
        let outcome = settings::uninstall(
            &path,
            settings::is_our_command,
            settings::UninstallOptions { force },
        )?;
        println!("{outcome}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Our command with the user's segments, quoted for the shell Claude Code runs it in.
pub fn command_with_segments(command: &str, segments: Option<&str>) -> String {
    match segments {
        Some(list) => format!(
            "{command} --segments {}",
            claude_status_engine::statusline_install::quote_for_shell(list)
        ),
        None => command.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::fast_args;
    use std::ffi::OsString;

    fn args(list: &[&str]) -> impl Iterator<Item = OsString> {
        list.iter()
            .map(OsString::from)
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn only_plain_runs_take_the_fast_path() {
        assert_eq!(fast_args(args(&["statusline"])), Some(None));
        assert_eq!(
            fast_args(args(&["statusline", "--segments", "health,ctx"])),
            Some(Some("health,ctx".to_owned()))
        );
        assert_eq!(
            fast_args(args(&["statusline", "--segments=today"])),
            Some(Some("today".to_owned()))
        );
        for other in [
            &["statusline", "--install"][..],
            &["statusline", "--help"],
            &["--data-dir", "x", "statusline"],
            &["check"],
            &[],
            &["statusline", "--segments"],
        ] {
            assert_eq!(fast_args(args(other)), None, "{other:?}");
        }
    }
}
