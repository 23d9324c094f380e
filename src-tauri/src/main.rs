//! The `claude-status-tray` binary: starts the tray app (`--demo` runs the built-in simulator's
//! story instead of the real services).

// No console window on Windows release builds: the app lives in the tray.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    claude_status_tray::run();
}
