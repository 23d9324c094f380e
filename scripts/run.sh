#!/usr/bin/env bash
# Sets up what is missing, builds, and starts the Claude Status tray app. `./scripts/run.sh --demo`
# plays the built-in story (healthy, a 529 storm, the official incident, recovery) in two minutes.
# Only what changed is installed or rebuilt: with nothing changed the app starts within seconds.
# The binary is taken from $CARGO_TARGET_DIR when that is set, as Cargo builds it there.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/setup.sh
source scripts/setup.sh
setup_system_packages
setup_ui
cargo build --release --locked -p claude-status-tray -p claude-status-cli
exec "${CARGO_TARGET_DIR:-target}/release/claude-status-tray" "$@"
