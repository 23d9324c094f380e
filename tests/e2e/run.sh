#!/usr/bin/env bash
# End-to-end test of the real tray app: runs tests/e2e/tray_e2e.py under Xvfb and a private D-Bus
# session, with every scratch folder (XDG_*, the app's data, logs, screenshots) under
# target/e2e/run/. Expects `cargo build --workspace` to have been run (debug binaries).
#
#   tests/e2e/run.sh                       # the test; screenshots go to target/e2e/run/screenshots
#   UPDATE_SCREENSHOTS=1 tests/e2e/run.sh  # also rewrite docs/screenshots/*.png
#
# Before the test starts (so its time is not in the test's budget) it installs the real Claude Code
# from npm into ~/.cache/claude-status-cc/ once (tests/claude_code/install.sh); when that
# fails the test still runs and its Claude Code step fails, saying why.
#
# The tray is a client of the background service (`claude-status service run`), which it starts
# itself when none runs: run.sh builds that binary (`cargo build -p claude-status-cli`, seconds
# when nothing changed) unless E2E_SERVICE names one.
#
# Environment: E2E_TIMEOUT (seconds for the whole run, default 240), E2E_APP / E2E_SIM /
# E2E_SERVICE (binaries), E2E_CLAUDE (a Claude Code binary to use instead of installing one).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"

E2E_DIR="$ROOT/target/e2e/run"
TIMEOUT="${E2E_TIMEOUT:-240}"
export E2E_APP="${E2E_APP:-$ROOT/target/debug/claude-status-tray}"
export E2E_SIM="${E2E_SIM:-$ROOT/target/debug/claude-status-sim}"
if [ -z "${E2E_SERVICE:-}" ]; then
  export E2E_SERVICE="$ROOT/target/debug/claude-status"
  if ! cargo build --quiet -p claude-status-cli; then
    echo "e2e: could not build the service (cargo build -p claude-status-cli)" >&2
    echo "e2e: 0 passed, 1 failed"
    exit 1
  fi
fi

for bin in "$E2E_APP" "$E2E_SIM" "$E2E_SERVICE"; do
  if [ ! -x "$bin" ]; then
    echo "e2e: $bin is missing; run 'cargo build --workspace' first" >&2
    echo "e2e: 0 passed, 1 failed"
    exit 1
  fi
done
for tool in xvfb-run dbus-run-session busctl dbus-monitor gtk-sni-tray-standalone dunst dunstctl \
  xdotool /usr/bin/import /usr/bin/convert python3 timeout; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "e2e: $tool is missing (scripts/setup.sh installs the test packages)" >&2
    echo "e2e: 0 passed, 1 failed"
    exit 1
  fi
done

# The real Claude Code, installed (once per machine) before the clock starts. Without it the
# test still runs, and its Claude Code step fails with the reason.
if [ -z "${E2E_CLAUDE:-}" ]; then
  install_status=0
  E2E_CLAUDE="$("$ROOT/tests/claude_code/install.sh" | tail -n 1)" || install_status=$?
  if [ "$install_status" -ne 0 ]; then
    E2E_CLAUDE=""
    export E2E_CLAUDE_ERROR="tests/claude_code/install.sh exited with status $install_status (its messages are printed above the test's)"
    echo "e2e: Claude Code could not be installed; its step will fail" >&2
  fi
  export E2E_CLAUDE
fi

rm -rf "$E2E_DIR"
mkdir -p "$E2E_DIR"/{runtime,data,config,cache,app-data}
chmod 700 "$E2E_DIR/runtime"
export E2E_DIR
export XDG_RUNTIME_DIR="$E2E_DIR/runtime"
export XDG_DATA_HOME="$E2E_DIR/data"
export XDG_CONFIG_HOME="$E2E_DIR/config"
export XDG_CACHE_HOME="$E2E_DIR/cache"
export CLAUDE_STATUS_DATA_DIR="$E2E_DIR/app-data"
# No accessibility bus: it would only add processes to the session.
export NO_AT_BRIDGE=1
# The test's own budget ends before the outer timeout, so it always prints its summary.
export E2E_BUDGET_SECONDS="$((TIMEOUT - 15))"
# A real key must never reach the test (it sets a dummy one that only the simulator sees).
unset ANTHROPIC_API_KEY || true

# Anything still running with our runtime folder in its environment was started by this run
# (the test, the app and its WebKit children, the watcher, dunst, the simulator, dbus-monitor):
# end it by pid, whatever happened.
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

status=0
timeout --kill-after=10 "$TIMEOUT" \
  xvfb-run -a -s "-screen 0 1280x800x24" \
  dbus-run-session -- python3 "$ROOT/tests/e2e/tray_e2e.py" || status=$?
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  echo "e2e: the run exceeded ${TIMEOUT} s and was stopped" >&2
  echo "e2e: 0 passed, 1 failed"
fi
exit "$status"
