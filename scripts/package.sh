#!/usr/bin/env bash
# Builds the installable bundles for this platform with the Tauri CLI from npm: on Linux the
# .deb (offline) and, when the bundler can fetch its AppRun helper, the AppImage; on macOS the
# .app and .dmg; on Windows the .msi and NSIS installer. Output: target/release/bundle/.
# Usage: ./scripts/package.sh [--bundles deb,appimage]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/setup.sh
source scripts/setup.sh
setup_system_packages
setup_ui
bundles="${2:-}"
if [ "${1:-}" = "--bundles" ] && [ -n "$bundles" ]; then
  exec npx --yes @tauri-apps/cli@2.12.5 build --bundles "$bundles"
fi
case "$(uname -s)" in
  Linux) exec npx --yes @tauri-apps/cli@2.12.5 build --bundles deb ;;
  *) exec npx --yes @tauri-apps/cli@2.12.5 build ;;
esac
