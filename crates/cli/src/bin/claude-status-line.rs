//! `claude-status-line`: Claude Code's status line as a binary of its own, the same code as
//! `claude-status statusline` without the rest of the command.
//!
//! Claude Code starts its status-line command anew many times a minute, and most of such a
//! short run is the loader's work on the executable, which grows with its size. This one links
//! only the status line: no async runtime, no HTTP client, no argument parser. On Linux it is
//! also linked as a fixed-address executable (build.rs), so the loader has no relocations to
//! apply to it at all.

#[path = "../statusline.rs"]
mod statusline;

use std::process::ExitCode;

use statusline::LineArgs;

const HELP: &str = "\
claude-status-line: Claude Code's status line (the same as `claude-status statusline`).

Reads the status-line JSON Claude Code writes on stdin and prints one line, or two when COLUMNS
is narrow. Install it with `claude-status statusline --install`.

Options:
  --segments LIST   which segments, in order: health, session, today, windows, context
  --data-dir DIR    the app's data directory (default: CLAUDE_STATUS_DATA_DIR or the platform's)
  -h, --help        this text
  -V, --version     the version
";

fn main() -> ExitCode {
    match statusline::line_args(std::env::args_os().skip(1)) {
        Ok(LineArgs::Run(options)) => statusline::run(options),
        Ok(LineArgs::Help) => {
            print!("{HELP}");
            ExitCode::SUCCESS
        }
        Ok(LineArgs::Version) => {
            println!("claude-status-line {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        // A wrong argument is the installer's mistake: say so on both streams, and still exit 0
        // with a line, as the status line does for everything else that goes wrong.
        Err(message) => statusline::refuse(&message),
    }
}
