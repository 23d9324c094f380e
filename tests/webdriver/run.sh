#!/usr/bin/env bash
# WebDriver test of the real app's dashboard: runs tests/webdriver/dashboard_webdriver.py under
# Xvfb and a private D-Bus session, through tauri-driver and WebKitWebDriver, with every scratch
# folder (XDG_*, the app's data, logs, the screenshot) under target/webdriver/. Expects
# `cargo build --workspace` (debug binaries) and `(cd ui && npm run build)` before it.
#
#   tests/webdriver/run.sh     # screenshot: target/webdriver/dashboard-incident.png
#
# Environment: WD_TIMEOUT (seconds for the test, default 180; installing tauri-driver comes
# first and is not counted), WD_APP / WD_SIM / WD_SERVICE (binaries), WD_PORT / WD_NATIVE_PORT
# (fixed ports for tauri-driver and WebKitWebDriver; free ones are picked by default).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"

WD_DIR="$ROOT/target/webdriver"
TIMEOUT="${WD_TIMEOUT:-180}"
export WD_APP="${WD_APP:-$ROOT/target/debug/claude-status-tray}"
export WD_SIM="${WD_SIM:-$ROOT/target/debug/claude-status-sim}"
# The dashboard attaches to the background service, and starts `claude-status service run` when
# none runs: build it (seconds when nothing changed) unless WD_SERVICE names one.
if [ -z "${WD_SERVICE:-}" ]; then
  export WD_SERVICE="$ROOT/target/debug/claude-status"
  cargo build --quiet -p claude-status-cli || {
    echo "webdriver: could not build the service (cargo build -p claude-status-cli)" >&2
    echo "webdriver: 0 passed, 1 failed"
    exit 1
  }
fi
export WD_TAURI_DRIVER="$ROOT/target/tools/bin/tauri-driver"
export WD_NATIVE_DRIVER=/usr/bin/WebKitWebDriver

fail() {
  echo "webdriver: $*" >&2
  echo "webdriver: 0 passed, 1 failed"
  exit 1
}

for bin in "$WD_APP" "$WD_SIM" "$WD_SERVICE"; do
  [ -x "$bin" ] || fail "$bin is missing; run 'cargo build --workspace' first"
done
[ -x "$WD_NATIVE_DRIVER" ] ||
  fail "$WD_NATIVE_DRIVER is missing: install Debian's webkit2gtk-driver (scripts/setup.sh does)"
for tool in xvfb-run dbus-run-session python3 timeout cargo; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is missing (scripts/setup.sh installs the test packages)"
done
if [ ! -x "$WD_TAURI_DRIVER" ]; then
  echo "webdriver: installing tauri-driver into target/tools (about 40 s)"
  cargo install tauri-driver --locked --root "$ROOT/target/tools" --quiet ||
    fail "could not install tauri-driver"
fi

rm -rf "$WD_DIR"
mkdir -p "$WD_DIR"/{runtime,data,config,cache,app-data}
chmod 700 "$WD_DIR/runtime"
export WD_DIR
export XDG_RUNTIME_DIR="$WD_DIR/runtime"
export XDG_DATA_HOME="$WD_DIR/data"
export XDG_CONFIG_HOME="$WD_DIR/config"
export XDG_CACHE_HOME="$WD_DIR/cache"
export CLAUDE_STATUS_DATA_DIR="$WD_DIR/app-data"
# No accessibility bus: it would only add processes to the session.
export NO_AT_BRIDGE=1
# The test's own budget ends before the outer timeout, so it always prints its summary.
export WD_BUDGET_SECONDS="$((TIMEOUT - 20))"
# A real key must never reach the test (it sets a dummy one that only the simulator sees).
unset ANTHROPIC_API_KEY || true

# Anything still running with our runtime folder in its environment was started by this run
# (the test, the simulator, tauri-driver, WebKitWebDriver, the app and its WebKit children,
# Xvfb's session bus): end it by pid, whatever happened.
cleanup() {
  local pid
  for environ in /proc/[0-9]*/environ; do
    pid="${environ#/proc/}"
    pid="${pid%/environ}"
    [ "$pid" = "$$" ] && continue
    if { tr '\0' '\n' <"$environ"; } 2>/dev/null | grep -qxF "XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR"; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
}
trap cleanup EXIT

# The test's stdout and stderr stay ours (fds 4 and 3); what the desktop session prints (xvfb-run, dbus-daemon
# activating the accessibility bus that WebKit asks for, at-spi's "X connection … broken" once
# Xvfb is gone) goes to session.log, printed only on failure.
status=0
timeout --kill-after=10 "$TIMEOUT" \
  xvfb-run -a -s "-screen 0 1280x800x24" \
  dbus-run-session -- sh -c 'exec python3 "$0" >&4 2>&3' "$ROOT/tests/webdriver/dashboard_webdriver.py" \
  3>&2 4>&1 >>"$WD_DIR/session.log" 2>&1 || status=$?
# 0 and 1 are the test's own verdicts (it printed the logs and the summary); anything else means
# it never got that far (Xvfb or the bus did not start, or the timeout struck).
if [ "$status" -ne 0 ] && [ "$status" -ne 1 ]; then
  echo "--- the desktop session's log ($WD_DIR/session.log), last lines:"
  tail -n 30 "$WD_DIR/session.log" || true
  if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    echo "webdriver: the run exceeded ${TIMEOUT} s and was stopped" >&2
  fi
  echo "webdriver: 0 passed, 1 failed"
  exit 1
fi
exit "$status"
