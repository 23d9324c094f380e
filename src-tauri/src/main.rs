//! The `claude-status-tray` binary: the tray (a client of the `claude-status service`, started
//! when none runs), or with `--dashboard` the dashboard window's own process; `--demo` follows
//! the demo's service instead of the real one.

// No console window on Windows release builds: the app lives in the tray.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    claude_status_tray::run();
}
