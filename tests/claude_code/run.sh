#!/usr/bin/env bash
# The real Claude Code through the gateway during an overload of its model: builds the simulator
# and the detection_bench example, installs Claude Code (install.sh), runs driver.py and prints
# its figures (onset -> first 529 at the gateway, -> the overloaded verdict, -> the notification).
# A benchmark: it prints, it asserts nothing about speed. Exit 1 only when a phase never reached
# the verdict or the notification within its bound, or the rig could not start.
#
#   tests/claude_code/run.sh                      # debug build, 10 storm phases
#   tests/claude_code/run.sh --release            # release build (what scripts/bench.py runs)
#   tests/claude_code/run.sh --release --phases 3 # fewer phases; other flags go to driver.py
#
# Logs, each phase's host output and Claude Code's HOME go to target/claude_code/run/; the
# measurements of every phase to target/claude_code/run/phases.json.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"

PROFILE=debug
CARGO_FLAGS=()
DRIVER_ARGS=()
for arg in "$@"; do
  case "$arg" in
    --release) PROFILE=release; CARGO_FLAGS=(--release) ;;
    --locked) CARGO_FLAGS+=(--locked) ;;
    *) DRIVER_ARGS+=("$arg") ;;
  esac
done

for tool in cargo python3 npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "claude_code: $tool is missing" >&2
    exit 1
  fi
done

cargo build "${CARGO_FLAGS[@]}" -q -p claude-status-simulator >&2
cargo build "${CARGO_FLAGS[@]}" -q -p claude-status-engine --example detection_bench >&2
CLAUDE="$("$ROOT/tests/claude_code/install.sh" | tail -n 1)"

WORK="$ROOT/target/claude_code/run"
rm -rf "$WORK"
mkdir -p "$WORK"
# A real key must never reach the rig: Claude Code gets a dummy one that only the simulator sees.
unset ANTHROPIC_API_KEY ANTHROPIC_AUTH_TOKEN || true

exec python3 "$ROOT/tests/claude_code/driver.py" \
  --sim "$ROOT/target/$PROFILE/claude-status-sim" \
  --host "$ROOT/target/$PROFILE/examples/detection_bench" \
  --claude "$CLAUDE" \
  --work-dir "$WORK" \
  --json "$WORK/phases.json" \
  --label "$PROFILE build, $(nproc) cores" \
  "${DRIVER_ARGS[@]}"
