# shellcheck shell=bash
# Shared setup for scripts/run.sh, scripts/test.sh and scripts/package.sh (sourced, not run):
# Debian packages and the UI's npm packages and build. Only what is missing or out of date is
# installed or rebuilt, so a second run with nothing changed costs well under a second here.

# Packages to build the Tauri app (WebKitGTK, GTK, the appindicator tray) and, for tests, to run
# it headless (Xvfb, D-Bus, a StatusNotifierItem watcher, a notification daemon, ImageMagick),
# and Prometheus and Alertmanager, whose promtool and amtool check the files in deploy/, and
# python3-venv, for the venv of tests/fallback (the Anthropic SDK, openai, LiteLLM from PyPI), and
# gnome-keyring, the Secret Service the faults case secrets-keychain stores the keys in.
BUILD_PACKAGES=(build-essential pkg-config ca-certificates file libssl-dev libwebkit2gtk-4.1-dev
  libgtk-3-dev libayatana-appindicator3-dev librsvg2-dev libsoup-3.0-dev
  libjavascriptcoregtk-4.1-dev libxdo-dev nodejs npm)
TEST_PACKAGES=(xvfb xauth dbus dbus-x11 x11-utils xdotool imagemagick dunst libnotify-bin
  haskell-status-notifier-item-utils haskell-gtk-sni-tray-utils webkit2gtk-driver chromium
  systemd tmux prometheus prometheus-alertmanager python3 python3-venv faketime gnome-keyring)

setup_system_packages() {
  local wanted=("${BUILD_PACKAGES[@]}")
  if [ "${1:-}" = test ]; then wanted+=("${TEST_PACKAGES[@]}"); fi
  # One dpkg-query for every package rather than one dpkg per package. It fails when some package
  # is unknown to dpkg, which only means that package is missing, so its status is ignored.
  local installed
  installed=" $(dpkg-query -W -f='${Package}=${db:Status-Status} ' "${wanted[@]}" 2>/dev/null || true)"
  local missing=()
  for package in "${wanted[@]}"; do
    # Node may come from elsewhere than Debian (nodesource, nvm): a working npm is enough.
    if [ "$package" = nodejs ] || [ "$package" = npm ]; then
      command -v npm >/dev/null 2>&1 && continue
    fi
    # Only "installed" counts: "config-files" (removed, its configuration left) and
    # "not-installed" do not.
    [[ "$installed" == *" $package=installed "* ]] || missing+=("$package")
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

# Prints one SHA-256 over the names and contents of the given files and of every file under the
# given directories, in a fixed order, so a checkout that only changes modification times gives
# the same hash. Paths that do not exist are skipped.
_ui_hash() {
  local sha=(sha256sum)
  command -v sha256sum >/dev/null 2>&1 || sha=(shasum -a 256)
  local paths=() path
  for path in "$@"; do [ -e "$path" ] && paths+=("$path"); done
  ((${#paths[@]})) || { echo none; return; }
  find "${paths[@]}" -type f -print0 | LC_ALL=C sort -z | xargs -0 "${sha[@]}" | "${sha[@]}" |
    cut -d' ' -f1
}

# Makes ui/dist the same as the freshly built directory $1, writing only the files whose content
# differs and deleting those it no longer has, then deletes $1. Cargo compares modification times:
# a rebuild that gives the same files (a comment edited, a fresh ui/node_modules) leaves the tray
# crate as it was instead of recompiling it for minutes. Run from ui/.
_ui_sync_dist() {
  local next=$1 file
  mkdir -p dist || return
  while IFS= read -r -d '' file; do
    cmp -s "$next/$file" "dist/$file" && continue
    mkdir -p "dist/$(dirname "$file")" && cp "$next/$file" "dist/$file" || return
  done < <(cd "$next" && find . -type f -print0)
  while IFS= read -r -d '' file; do
    [ -e "$next/$file" ] || rm -f "dist/$file" || return
  done < <(cd dist && find . -type f -print0)
  find dist -mindepth 1 -type d -empty -delete && rm -rf "$next"
}

# Installs the UI's npm packages and builds ui/dist, each only when its inputs changed since the
# last time it was done. The stamps live in ui/node_modules, not in ui/dist: the tray crate embeds
# every file of ui/dist, so a file written or even touched there makes Cargo recompile the crate.
# `npm ci` empties ui/node_modules, which also drops the dist stamp: a new lockfile is an input of
# the build too.
setup_ui() {
  (
    cd ui || exit
    local lock_stamp=node_modules/.claude-status-lock-hash
    local dist_stamp=node_modules/.claude-status-dist-hash
    local next=node_modules/.claude-status-dist-next
    local node_version lock_hash input_hash
    node_version="$(node --version)"
    lock_hash="$node_version $(_ui_hash package.json package-lock.json)"
    if [ "$(cat "$lock_stamp" 2>/dev/null)" != "$lock_hash" ]; then
      echo "==> installing the UI's npm packages (ui/node_modules)"
      npm ci --no-audit --no-fund --loglevel=error || exit
      echo "$lock_hash" >"$lock_stamp"
    fi
    # Every input of `npm run build` (tsc --noEmit, then vite build), and the output as it was
    # left: a dist/ that was deleted or edited since is built again.
    local inputs=(src public index.html package.json package-lock.json tsconfig.json
      vite.config.ts vite.config.js vite.config.mjs vite.config.mts)
    input_hash="$node_version $(_ui_hash "${inputs[@]}")"
    if [ "$(cat "$dist_stamp" 2>/dev/null)" != "$input_hash $(_ui_hash dist)" ]; then
      echo "==> building the UI (ui/dist)"
      rm -rf "$dist_stamp" "$next"
      # `npm run build -- ARGS` appends ARGS to the script's last command, `vite build`.
      npm run build -- --outDir "$next" --logLevel warn || exit
      _ui_sync_dist "$next" || exit
      echo "$input_hash $(_ui_hash dist)" >"$dist_stamp"
    fi
  )
}

# cargo-deny, pinned, into ~/.cargo/bin when it is missing or another version: scripts/test.sh
# checks the dependency tree's licenses, banned crates and sources with it (deny.toml). Building
# it from crates.io takes about 2.5 minutes on 2 cores, once; after that this costs a few ms.
CARGO_DENY_VERSION=0.20.2
setup_cargo_deny() {
  if [ "$(cargo deny --version 2>/dev/null)" != "cargo-deny $CARGO_DENY_VERSION" ]; then
    echo "==> installing cargo-deny $CARGO_DENY_VERSION (crates.io, into ~/.cargo/bin)"
    cargo install --locked --quiet cargo-deny --version "$CARGO_DENY_VERSION"
  fi
}
