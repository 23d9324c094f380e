//! `claude-status statusline --install` / `--uninstall`: puts our status line into Claude Code's
//! settings file, or takes it out. Kept apart from `statusline.rs`, which the small
//! `claude-status-line` binary compiles too and which must stay free of everything else.

use std::process::ExitCode;

use claude_status_core::statusline::Segment;

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
        let command =
            command_with_segments(&settings::preferred_command(&exe), segments.as_deref());
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
