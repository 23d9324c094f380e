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

/// How long the store may wait for another program's lock on each statement. The other commands
/// wait five seconds (`store::BUSY_TIMEOUT`), but Claude Code waits for this line: a database a
/// backup holds locked costs the line its history, not the user a frozen prompt.
const STORE_BUSY_BUDGET: Duration = Duration::from_millis(300);

/// What the command was asked to show.
#[derive(Debug, PartialEq, Eq)]
pub struct Options {
    pub data_dir: Option<PathBuf>,
    pub segments: Option<String>,
}

/// The arguments of a plain `statusline [--segments LIST]` run, which needs no full parse:
/// `Some(segments)` for those, `None` for anything else (options, `--install`, help).
// Two binaries compile this file, and each uses one of the two argument readers.
#[allow(dead_code)]
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

/// What the small `claude-status-line` binary was asked for.
#[allow(dead_code)]
#[derive(Debug, PartialEq, Eq)]
pub enum LineArgs {
    /// Draw the line.
    Run(Options),
    Help,
    Version,
}

/// The arguments of `claude-status-line`: `--segments LIST` and `--data-dir DIR` (either also
/// as `--name=value`), `--help`, `--version`; anything else is an error to show.
#[allow(dead_code)]
pub fn line_args(args: impl Iterator<Item = std::ffi::OsString>) -> Result<LineArgs, String> {
    let mut options = Options {
        data_dir: None,
        segments: None,
    };
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let arg = arg
            .into_string()
            .map_err(|a| format!("an argument is not valid Unicode: {a:?}"))?;
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => {
                (name.to_owned(), Some(value.to_owned()))
            }
            _ => (arg, None),
        };
        match name.as_str() {
            "-h" | "--help" if inline.is_none() => return Ok(LineArgs::Help),
            "-V" | "--version" if inline.is_none() => return Ok(LineArgs::Version),
            "--segments" | "--data-dir" => {
                let value = match inline {
                    Some(value) => value,
                    None => args
                        .next()
                        .and_then(|v| v.into_string().ok())
                        .filter(|v| !v.starts_with('-'))
                        .ok_or_else(|| format!("{name} needs a value"))?,
                };
                if name == "--segments" {
                    options.segments = Some(value);
                } else {
                    options.data_dir = Some(PathBuf::from(value));
                }
            }
            other => return Err(format!("unknown argument {other:?} (see --help)")),
        }
    }
    Ok(LineArgs::Run(options))
}

/// Runs the status line; always exits 0 unless the segment list itself is wrong.
pub fn run(options: Options) -> ExitCode {
    let segments = match options.segments.as_deref() {
        Some(list) => match Segment::parse_list(list) {
            Ok(segments) => segments,
            Err(message) => return refuse(&message),
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

/// Says what is wrong with the command's own arguments, on stderr and as the line, and exits 0.
pub fn refuse(message: &str) -> ExitCode {
    // Claude Code is still writing its JSON: read it (bounded) so that its write never meets a
    // closed pipe, then say what is wrong.
    let _ = read_stdin();
    // A wrong flag is the installer's mistake, made once at a terminal: say so there.
    eprintln!("claude-status statusline: {message}");
    println!("claude-status: {message}");
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

/// How long stdin is read at most. Claude Code writes its object at once and closes the pipe;
/// a writer that leaves it open must not hold the line (and, since Claude Code starts the
/// command anew many times a minute, pile up waiting processes): what arrived by then is read.
const STDIN_BUDGET: Duration = Duration::from_millis(1500);

/// Stdin, bounded in size and in time; a terminal (someone trying the command by hand) is not
/// waited on.
fn read_stdin() -> Result<Vec<u8>, &'static str> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err("pipe Claude Code's status-line JSON into this command");
    }
    // One byte over the limit tells a too-large input from one exactly at it.
    let limit = MAX_INPUT_BYTES + 1;
    // The read runs on a thread of its own that hands over what it reads, so the wait can end
    // at the budget; a thread still blocked then ends with the process.
    let (sender, chunks) = std::sync::mpsc::channel::<std::io::Result<Vec<u8>>>();
    std::thread::spawn(move || {
        let mut stdin = stdin.lock();
        let mut left = limit;
        let mut block = vec![0u8; 64 * 1024];
        while left > 0 {
            let want = left.min(block.len());
            match stdin.read(&mut block[..want]) {
                Ok(0) => break,
                Ok(n) => {
                    left -= n;
                    if sender.send(Ok(block[..n].to_vec())).is_err() {
                        return;
                    }
                }
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(error) => {
                    let _ = sender.send(Err(error));
                    return;
                }
            }
        }
    });
    let deadline = std::time::Instant::now() + STDIN_BUDGET;
    let mut bytes = Vec::with_capacity(8 * 1024);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match chunks.recv_timeout(left) {
            Ok(Ok(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(Err(_)) => return Err("could not read the status-line input"),
            // The end of the input, or of the budget: what arrived is the input.
            Err(_) => return Ok(bytes),
        }
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
    let from_store =
        claude_status_engine::store::Store::open_with_busy_timeout(&store_path, STORE_BUSY_BUDGET)
            .and_then(|store| {
                // Stdout is the status line itself; the notice goes to stderr, once.
                if let Some(recovered) = store.recovered() {
                    eprintln!("claude-status: {recovered}");
                }
                let catalog = claude_status_engine::usage::load_catalog_in(&data_dir)?;
                claude_status_engine::statusline::facts_from_store(
                    &store, &readings, catalog, zone, now,
                )
            });
    from_store.unwrap_or_else(|error| {
        tracing::debug!("status line: the store gave nothing: {error}");
        StatusFacts::none()
    })
}

#[cfg(test)]
mod tests {
    use super::{fast_args, line_args, LineArgs, Options};
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

    #[test]
    fn the_small_binary_takes_the_same_options() {
        let run = |segments: Option<&str>, data_dir: Option<&str>| {
            Ok(LineArgs::Run(Options {
                segments: segments.map(str::to_owned),
                data_dir: data_dir.map(std::path::PathBuf::from),
            }))
        };
        assert_eq!(line_args(args(&[])), run(None, None));
        assert_eq!(
            line_args(args(&["--segments", "health,ctx"])),
            run(Some("health,ctx"), None)
        );
        assert_eq!(
            line_args(args(&["--segments=today", "--data-dir", "/d"])),
            run(Some("today"), Some("/d"))
        );
        assert_eq!(
            line_args(args(&["--data-dir=/a b"])),
            run(None, Some("/a b"))
        );
        assert_eq!(line_args(args(&["--help"])), Ok(LineArgs::Help));
        assert_eq!(line_args(args(&["-V"])), Ok(LineArgs::Version));
        for wrong in [
            &["statusline"][..],
            &["--segments"],
            &["--segments", "--data-dir", "x"],
            &["--install"],
            &["--help=x"],
        ] {
            assert!(line_args(args(wrong)).is_err(), "{wrong:?}");
        }
    }
}
