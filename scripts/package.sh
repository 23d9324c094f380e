#!/usr/bin/env bash
# Builds the installable bundles for this platform with the Tauri CLI from npm: on Linux the
# .deb (offline) and, when the bundler can fetch its AppRun helper, the AppImage; on macOS the
# .app and .dmg; on Windows the .msi and NSIS installer. Output: target/release/bundle/.
#
# Every bundle carries the command line beside the tray app: `claude-status` (the service the tray
# starts and attaches to, the gateway, `check`, `usage`) and `claude-status-line` (what the
# status-line install writes into Claude Code's settings). They are Tauri "external binaries":
# built here first, copied to src-tauri/binaries/ under the target triple's name, and listed in
# src-tauri/tauri.bundle.conf.json, which only this script passes (a plain cargo build of the tray
# app needs neither). The bundler installs them beside `claude-status-tray` (/usr/bin in the .deb),
# where the tray looks for its service first.
# Usage: ./scripts/package.sh [--bundles deb,appimage]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/setup.sh
source scripts/setup.sh
setup_system_packages
setup_ui

echo "==> building the command line for the bundle"
cargo build --release --locked -p claude-status-cli
triple="$(rustc -vV | sed -n 's/^host: //p')"
exe=""
case "$(uname -s)" in MINGW* | MSYS* | CYGWIN*) exe=".exe" ;; esac
target_dir="${CARGO_TARGET_DIR:-target}"
mkdir -p src-tauri/binaries
for program in claude-status claude-status-line; do
  cp "$target_dir/release/$program$exe" "src-tauri/binaries/$program-$triple$exe"
done

tauri=(npx --yes @tauri-apps/cli@2.12.5 build --config src-tauri/tauri.bundle.conf.json)
bundles="${2:-}"
if [ "${1:-}" = "--bundles" ] && [ -n "$bundles" ]; then
  exec "${tauri[@]}" --bundles "$bundles"
fi
case "$(uname -s)" in
  Linux) exec "${tauri[@]}" --bundles deb ;;
  *) exec "${tauri[@]}" ;;
esac
