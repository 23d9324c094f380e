//! The settings-file editor that installs and removes our status line, on real files in a
//! temporary folder.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use std::fs;
use std::path::{Path, PathBuf};

use claude_status_engine::statusline_install::{
    install, is_our_command, our_command, settings_path, status, uninstall, InstallError,
    InstallOptions, InstallOutcome, StatusLineState, UninstallOptions, UninstallOutcome,
    BACKUP_INFIX, MAX_SETTINGS_BYTES,
};
use serde_json::{json, Value};

/// A settings file as Claude Code writes it (two-space indentation, no trailing comma), with the
/// kinds of keys real users have.
const REALISTIC: &str = r#"{
  "$schema": "https://json.schemastore.org/claude-code-settings.json",
  "env": {
    "ANTHROPIC_BASE_URL": "http://127.0.0.1:8788",
    "CLAUDE_CODE_ENABLE_TELEMETRY": "1",
    "OTEL_METRICS_EXPORTER": "otlp"
  },
  "permissions": {
    "allow": [
      "Bash(npm run lint)",
      "Bash(cargo test:*)",
      "Read(~/.zshrc)"
    ],
    "deny": [
      "Read(./.env)",
      "Read(./secrets/**)"
    ]
  },
  "model": "claude-sonnet-5-5",
  "hooks": {
    "PostToolUse": [
      {
        "matcher": "Edit|Write",
        "hooks": [
          {
            "type": "command",
            "command": "prettier --write \"$CLAUDE_FILE_PATHS\""
          }
        ]
      }
    ]
  },
  "cleanupPeriodDays": 30,
  "includeCoAuthoredBy": false,
  "feedbackSurveyRate": 0.05
}
"#;

const COMMAND: &str = "/usr/local/bin/claude-status statusline";

fn settings_in(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("settings.json");
    fs::write(&path, text).unwrap();
    path
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

fn backups(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .contains(BACKUP_INFIX)
        })
        .collect();
    found.sort();
    found
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn ours() -> Value {
    json!({"type": "command", "command": COMMAND, "padding": 0})
}

/// The keys of the top-level object in the order the text holds them, found by their position
/// in the text (serde_json without `preserve_order` forgets the order).
fn key_order(text: &str, keys: &[&str]) -> Vec<usize> {
    keys.iter()
        .map(|k| text.find(&format!("\n  \"{k}\":")).unwrap())
        .collect()
}

#[test]
fn other_keys_are_kept_byte_for_byte_and_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = settings_in(dir.path(), REALISTIC);
    let before = read_json(&path);

    let outcome = install(&path, COMMAND, InstallOptions::default()).unwrap();
    let backup = match &outcome {
        InstallOutcome::Added { backup, .. } => backup.clone(),
        other => panic!("expected Added, got {other:?}"),
    };
    assert_eq!(fs::read_to_string(&backup).unwrap(), REALISTIC);

    let text = fs::read_to_string(&path).unwrap();
    // Everything up to the last member's end is the original text, unchanged.
    let last_value_end = REALISTIC.rfind("0.05").unwrap() + "0.05".len();
    assert!(text.starts_with(&REALISTIC[..last_value_end]), "{text}");
    assert!(text.ends_with("\n}\n"), "{text}");
    let after = read_json(&path);
    let mut expected = before.as_object().unwrap().clone();
    expected.insert("statusLine".into(), ours());
    assert_eq!(after, Value::Object(expected));
    let keys = [
        "$schema",
        "env",
        "permissions",
        "model",
        "hooks",
        "cleanupPeriodDays",
        "includeCoAuthoredBy",
        "feedbackSurveyRate",
        "statusLine",
    ];
    let positions = key_order(&text, &keys);
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    // The new member is laid out as Claude Code lays out the rest.
    assert!(text.contains(
        "  \"statusLine\": {\n    \"type\": \"command\",\n    \"command\": \
         \"/usr/local/bin/claude-status statusline\",\n    \"padding\": 0\n  }\n}"
    ));
    assert_eq!(
        status(&path).unwrap(),
        StatusLineState::Ours {
            command: COMMAND.into()
        }
    );

    // Removing it again gives back the very same file.
    let removed = uninstall(&path, is_our_command, UninstallOptions::default()).unwrap();
    assert!(matches!(
        removed,
        UninstallOutcome::Removed { was_ours: true, .. }
    ));
    assert_eq!(fs::read_to_string(&path).unwrap(), REALISTIC);
}

#[test]
fn a_status_line_in_the_middle_is_replaced_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let original =
        "{\n  \"model\": \"opus\",\n  \"statusLine\": {\n    \"type\": \"command\",\n    \
                    \"command\": \"~/.claude/statusline.sh\"\n  },\n  \"env\": {}\n}\n";
    let path = settings_in(dir.path(), original);
    let outcome = install(
        &path,
        COMMAND,
        InstallOptions {
            force: true,
            refresh_interval: Some(5),
        },
    )
    .unwrap();
    assert!(
        matches!(outcome, InstallOutcome::Replaced { .. }),
        "{outcome:?}"
    );
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "{\n  \"model\": \"opus\",\n  \"statusLine\": {\n    \"type\": \"command\",\n    \
         \"command\": \"/usr/local/bin/claude-status statusline\",\n    \"padding\": 0,\n    \
         \"refreshInterval\": 5\n  },\n  \"env\": {}\n}\n"
    );
}

#[test]
fn a_different_status_line_is_refused_without_force_and_replaced_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let original = r#"{
  "model": "opus",
  "statusLine": {
    "type": "command",
    "command": "bunx ccusage statusline --offline",
    "padding": 0
  }
}
"#;
    let path = settings_in(dir.path(), original);

    let err = install(&path, COMMAND, InstallOptions::default()).unwrap_err();
    assert!(
        matches!(err, InstallError::DifferentStatusLine { .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("bunx ccusage statusline --offline"),
        "{message}"
    );
    assert!(message.contains("\"padding\": 0"), "{message}");
    assert!(message.contains("--force"), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert_eq!(fs::read_to_string(&path).unwrap(), original);
    assert_eq!(file_names(dir.path()), ["settings.json"]);
    assert_eq!(
        status(&path).unwrap(),
        StatusLineState::Other {
            value: json!({"type": "command", "command": "bunx ccusage statusline --offline", "padding": 0})
        }
    );

    let outcome = install(
        &path,
        COMMAND,
        InstallOptions {
            force: true,
            refresh_interval: None,
        },
    )
    .unwrap();
    let InstallOutcome::Replaced {
        backup, previous, ..
    } = &outcome
    else {
        panic!("expected Replaced, got {outcome:?}");
    };
    assert_eq!(previous["command"], "bunx ccusage statusline --offline");
    assert_eq!(fs::read_to_string(backup).unwrap(), original);
    assert_eq!(backups(dir.path()), std::slice::from_ref(backup));
    assert_eq!(
        read_json(&path),
        json!({"model": "opus", "statusLine": ours()})
    );
    assert!(outcome.to_string().contains(&backup.display().to_string()));
}

#[test]
fn the_same_status_line_is_already_installed_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let original = format!(
        "{{\"statusLine\":{{\"padding\":0,\"command\":{},\"type\":\"command\"}},\"model\":\"opus\"}}",
        serde_json::to_string(COMMAND).unwrap()
    );
    let path = settings_in(dir.path(), &original);
    let outcome = install(&path, COMMAND, InstallOptions::default()).unwrap();
    assert!(
        matches!(outcome, InstallOutcome::AlreadyInstalled { .. }),
        "{outcome:?}"
    );
    assert!(!outcome.changed());
    assert_eq!(outcome.backup(), None);
    assert_eq!(fs::read_to_string(&path).unwrap(), original);
    assert_eq!(file_names(dir.path()), ["settings.json"]);
}

#[test]
fn our_own_older_status_line_is_updated_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let path = settings_in(
        dir.path(),
        r#"{"statusLine": {"type": "command", "command": "'/old place/claude-status' statusline", "padding": 0}}"#,
    );
    let outcome = install(&path, COMMAND, InstallOptions::default()).unwrap();
    let InstallOutcome::Updated { previous, .. } = &outcome else {
        panic!("expected Updated, got {outcome:?}");
    };
    assert_eq!(previous["command"], "'/old place/claude-status' statusline");
    assert_eq!(read_json(&path), json!({"statusLine": ours()}));
    assert_eq!(backups(dir.path()).len(), 1);
}

#[test]
fn invalid_json_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let original = "{\n  \"model\": \"opus\",\n  \"env\": {\n    \"A\": \"1\",\n  }\n}\n";
    let path = settings_in(dir.path(), original);

    let err = install(
        &path,
        COMMAND,
        InstallOptions {
            force: true,
            ..Default::default()
        },
    )
    .unwrap_err();
    let InstallError::InvalidJson { line, .. } = &err else {
        panic!("expected InvalidJson, got {err:?}");
    };
    assert_eq!(*line, 5);
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("line 5, column"), "{message}");
    assert!(matches!(
        uninstall(&path, is_our_command, UninstallOptions { force: true }),
        Err(InstallError::InvalidJson { .. })
    ));
    assert!(matches!(
        status(&path),
        Err(InstallError::InvalidJson { .. })
    ));
    assert_eq!(fs::read(&path).unwrap(), original.as_bytes());
    assert_eq!(file_names(dir.path()), ["settings.json"]);
}

#[test]
fn a_top_level_that_is_not_an_object_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (text, found) in [
        ("[1, 2]\n", "an array"),
        ("\"x\"", "a string"),
        ("null", "null"),
    ] {
        let path = settings_in(dir.path(), text);
        let err = install(&path, COMMAND, InstallOptions::default()).unwrap_err();
        assert!(err.to_string().contains(found), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), text);
    }
    let path = settings_in(dir.path(), "");
    assert!(matches!(
        install(&path, COMMAND, InstallOptions::default()),
        Err(InstallError::InvalidJson { .. })
    ));
    assert_eq!(file_names(dir.path()), ["settings.json"]);
}

#[test]
fn a_duplicated_status_line_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let original = r#"{"statusLine": null, "statusLine": {"type": "command", "command": "x"}}"#;
    let path = settings_in(dir.path(), original);
    let err = install(
        &path,
        COMMAND,
        InstallOptions {
            force: true,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(err, InstallError::DuplicateStatusLine { count: 2, .. }),
        "{err:?}"
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), original);
}

#[test]
fn an_oversized_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut original = String::from("{\"a\": \"");
    original.push_str(&"x".repeat(MAX_SETTINGS_BYTES as usize));
    original.push_str("\"}");
    let path = settings_in(dir.path(), &original);
    let err = install(&path, COMMAND, InstallOptions::default()).unwrap_err();
    assert!(matches!(err, InstallError::TooLarge { .. }), "{err:?}");
    assert_eq!(fs::metadata(&path).unwrap().len(), original.len() as u64);
}

#[test]
fn a_missing_file_and_folder_are_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir
        .path()
        .join("home")
        .join(".claude")
        .join("settings.json");
    assert_eq!(status(&path).unwrap(), StatusLineState::None);
    let outcome = install(
        &path,
        COMMAND,
        InstallOptions {
            force: false,
            refresh_interval: Some(1),
        },
    )
    .unwrap();
    assert_eq!(outcome, InstallOutcome::Created { path: path.clone() });
    assert_eq!(outcome.backup(), None);
    let mut expected = ours();
    expected["refreshInterval"] = json!(1);
    assert_eq!(read_json(&path), json!({"statusLine": expected}));
    assert_eq!(file_names(path.parent().unwrap()), ["settings.json"]);
}

#[test]
fn an_empty_object_gets_claude_codes_layout() {
    let dir = tempfile::tempdir().unwrap();
    let path = settings_in(dir.path(), "{}\n");
    install(&path, "claude-status statusline", InstallOptions::default()).unwrap();
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "{\n  \"statusLine\": {\n    \"type\": \"command\",\n    \"command\": \
         \"claude-status statusline\",\n    \"padding\": 0\n  }\n}\n"
    );
}

#[test]
fn a_refresh_interval_of_zero_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = settings_in(dir.path(), REALISTIC);
    let err = install(
        &path,
        COMMAND,
        InstallOptions {
            force: true,
            refresh_interval: Some(0),
        },
    )
    .unwrap_err();
    assert!(
        matches!(err, InstallError::InvalidRefreshInterval { value: 0 }),
        "{err:?}"
    );
    assert!(err.to_string().contains("minimum"), "{err}");
    assert_eq!(fs::read_to_string(&path).unwrap(), REALISTIC);
    let missing = dir.path().join("nope").join("settings.json");
    assert!(install(
        &missing,
        COMMAND,
        InstallOptions {
            force: false,
            refresh_interval: Some(0)
        }
    )
    .is_err());
    assert!(!missing.exists());
}

#[test]
fn an_unusable_command_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = settings_in(dir.path(), "{}");
    for command in ["", "   ", "claude-status statusline\nrm -rf ~"] {
        assert!(matches!(
            install(&path, command, InstallOptions::default()),
            Err(InstallError::InvalidCommand { .. })
        ));
    }
    assert_eq!(fs::read_to_string(&path).unwrap(), "{}");
}

#[test]
fn the_first_folder_of_claude_config_dir_is_chosen() {
    let home = Path::new("/home/me");
    assert_eq!(
        settings_path(None, home),
        Path::new("/home/me/.claude/settings.json")
    );
    assert_eq!(
        settings_path(Some(" , /work/claude-a , /work/claude-b"), home),
        Path::new("/work/claude-a/settings.json")
    );
    assert_eq!(
        settings_path(Some("~/alt-claude,/other"), home),
        Path::new("/home/me/alt-claude/settings.json")
    );
    assert_eq!(
        settings_path(Some(" , "), home),
        Path::new("/home/me/.claude/settings.json")
    );
}

#[test]
fn uninstall_removes_ours_refuses_others_and_knows_when_there_is_none() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing").join("settings.json");
    assert_eq!(
        uninstall(&missing, is_our_command, UninstallOptions::default()).unwrap(),
        UninstallOutcome::NotInstalled {
            path: missing.clone()
        }
    );
    assert!(!missing.exists());

    let without = r#"{"model": "opus", "statusLine": null}"#;
    let path = settings_in(dir.path(), without);
    let outcome = uninstall(&path, is_our_command, UninstallOptions::default()).unwrap();
    assert!(matches!(outcome, UninstallOutcome::NotInstalled { .. }));
    assert_eq!(fs::read_to_string(&path).unwrap(), without);

    let other = r#"{"model": "opus", "statusLine": {"type": "command", "command": "~/bin/my-line.sh"}, "env": {"A": "1"}}"#;
    let path = settings_in(dir.path(), other);
    let err = uninstall(&path, is_our_command, UninstallOptions::default()).unwrap_err();
    assert!(matches!(err, InstallError::NotOurs { .. }), "{err:?}");
    assert!(err.to_string().contains("~/bin/my-line.sh"), "{err}");
    assert_eq!(fs::read_to_string(&path).unwrap(), other);
    assert!(backups(dir.path()).is_empty());

    // A caller's own matcher decides what counts as ours.
    let outcome = uninstall(
        &path,
        |c| c.ends_with("my-line.sh"),
        UninstallOptions::default(),
    )
    .unwrap();
    assert!(
        matches!(outcome, UninstallOutcome::Removed { was_ours: true, .. }),
        "{outcome:?}"
    );
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        r#"{"model": "opus", "env": {"A": "1"}}"#
    );
    assert_eq!(
        fs::read_to_string(outcome.backup().unwrap()).unwrap(),
        other
    );

    let path = settings_in(dir.path(), other);
    let outcome = uninstall(&path, is_our_command, UninstallOptions { force: true }).unwrap();
    assert!(matches!(
        outcome,
        UninstallOutcome::Removed {
            was_ours: false,
            ..
        }
    ));
    assert_eq!(
        read_json(&path),
        json!({"model": "opus", "env": {"A": "1"}})
    );

    let theirs_then_ours = format!(
        r#"{{"statusLine": {{"type": "command", "command": {}}}}}"#,
        serde_json::to_string(&our_command(Path::new(
            "/Applications/Claude Status.app/claude-status"
        )))
        .unwrap()
    );
    let path = settings_in(dir.path(), &theirs_then_ours);
    let outcome = uninstall(&path, is_our_command, UninstallOptions::default()).unwrap();
    assert!(matches!(
        outcome,
        UninstallOutcome::Removed { was_ours: true, .. }
    ));
    assert_eq!(fs::read_to_string(&path).unwrap(), "{}");
}

#[test]
fn earlier_backups_are_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = settings_in(dir.path(), REALISTIC);
    // Three edits, most likely within one second: each leaves its own backup.
    install(&path, COMMAND, InstallOptions::default()).unwrap();
    let after_install = fs::read_to_string(&path).unwrap();
    uninstall(&path, is_our_command, UninstallOptions::default()).unwrap();
    install(&path, COMMAND, InstallOptions::default()).unwrap();
    let found = backups(dir.path());
    assert_eq!(found.len(), 3, "{found:?}");
    let mut contents: Vec<String> = found
        .iter()
        .map(|p| fs::read_to_string(p).unwrap())
        .collect();
    contents.sort();
    let mut expected = vec![REALISTIC.to_string(), after_install, REALISTIC.to_string()];
    expected.sort();
    assert_eq!(contents, expected);
    // No temporary file is left behind.
    assert!(file_names(dir.path())
        .iter()
        .all(|n| n == "settings.json" || n.contains(BACKUP_INFIX)));
}

#[test]
fn a_path_with_a_space_is_quoted_for_the_shell() {
    let exe = Path::new("/Users/me/Applications/Claude Status/claude-status");
    let command = our_command(exe);
    assert_eq!(
        command,
        "'/Users/me/Applications/Claude Status/claude-status' statusline"
    );
    assert!(is_our_command(&command));
    assert_eq!(
        our_command(Path::new("/usr/bin/claude-status")),
        "/usr/bin/claude-status statusline"
    );
    assert_eq!(
        our_command(Path::new("/home/o'brien/bin/claude-status")),
        r"'/home/o'\''brien/bin/claude-status' statusline"
    );

    let dir = tempfile::tempdir().unwrap();
    let path = settings_in(dir.path(), "{}");
    install(&path, &command, InstallOptions::default()).unwrap();
    assert_eq!(read_json(&path)["statusLine"]["command"], command.as_str());
    assert_eq!(status(&path).unwrap(), StatusLineState::Ours { command });
}

#[cfg(unix)]
#[test]
fn permissions_are_kept_on_the_file_and_its_backup() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = settings_in(dir.path(), REALISTIC);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
    let outcome = install(&path, COMMAND, InstallOptions::default()).unwrap();
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o640);
    assert_eq!(mode(outcome.backup().unwrap()), 0o640);
}

#[cfg(unix)]
#[test]
fn a_read_only_file_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = settings_in(dir.path(), REALISTIC);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o444)).unwrap();
    let err = install(&path, COMMAND, InstallOptions::default()).unwrap_err();
    assert!(matches!(err, InstallError::ReadOnly { .. }), "{err:?}");
    assert_eq!(fs::read_to_string(&path).unwrap(), REALISTIC);
    assert_eq!(file_names(dir.path()), ["settings.json"]);
}

#[cfg(unix)]
#[test]
fn a_linked_settings_file_stays_a_link_and_its_target_is_edited() {
    let dir = tempfile::tempdir().unwrap();
    let dotfiles = dir.path().join("dotfiles");
    let claude = dir.path().join(".claude");
    fs::create_dir_all(&dotfiles).unwrap();
    fs::create_dir_all(&claude).unwrap();
    let target = settings_in(&dotfiles, REALISTIC);
    let link = claude.join("settings.json");
    std::os::unix::fs::symlink("../dotfiles/settings.json", &link).unwrap();

    let outcome = install(&link, COMMAND, InstallOptions::default()).unwrap();
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(read_json(&target)["statusLine"], ours());
    assert_eq!(
        outcome.backup().unwrap().parent().unwrap(),
        fs::canonicalize(&dotfiles).unwrap()
    );
    assert_eq!(
        status(&link).unwrap(),
        StatusLineState::Ours {
            command: COMMAND.into()
        }
    );

    let dangling = claude.join("dangling.json");
    std::os::unix::fs::symlink("../nowhere/settings.json", &dangling).unwrap();
    assert!(matches!(
        install(&dangling, COMMAND, InstallOptions::default()),
        Err(InstallError::BrokenLink { .. })
    ));
}
