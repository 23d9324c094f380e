# Shared setup for scripts/run.sh and scripts/test.sh (sourced, not run): Debian packages and the
# UI's npm packages. Only what is missing is installed.

# Packages to build the Tauri app (WebKitGTK, GTK, the appindicator tray) and, for tests, to run
# it headless (Xvfb, D-Bus, a StatusNotifierItem watcher, a notification daemon, ImageMagick).
BUILD_PACKAGES=(build-essential pkg-config ca-certificates file libssl-dev libwebkit2gtk-4.1-dev
  libgtk-3-dev libayatana-appindicator3-dev librsvg2-dev libsoup-3.0-dev
  libjavascriptcoregtk-4.1-dev libxdo-dev nodejs npm)
TEST_PACKAGES=(xvfb xauth dbus dbus-x11 x11-utils xdotool imagemagick dunst libnotify-bin
  haskell-status-notifier-item-utils haskell-gtk-sni-tray-utils webkit2gtk-driver chromium)

setup_system_packages() {
  local wanted=("${BUILD_PACKAGES[@]}")
  if [ "${1:-}" = test ]; then wanted+=("${TEST_PACKAGES[@]}"); fi
  local missing=()
  for package in "${wanted[@]}"; do
    # Node may come from elsewhere than Debian (nodesource, nvm): a working npm is enough.
    if [ "$package" = nodejs ] || [ "$package" = npm ]; then
      command -v npm >/dev/null 2>&1 && continue
    fi
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  if ((${#missing[@]})); then
    echo "==> installing ${missing[*]}"
    local sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo_cmd apt-get update -qq
    $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
  if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo is missing: install Rust with rustup (https://rustup.rs) first" >&2
    exit 1
  fi
}

setup_ui() {
  echo "==> building the UI (ui/dist)"
  (cd ui && npm ci --no-audit --no-fund --loglevel=error && npm run build)
}
