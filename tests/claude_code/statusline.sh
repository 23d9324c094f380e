#!/usr/bin/env bash
# The real Claude Code, interactive under tmux, draws `claude-status statusline`: builds the
# simulator and the CLI, installs Claude Code (install.sh, once per machine) and tmux (apt-get,
# when missing), then runs statusline.py, which checks the line on Claude Code's screen without a
# service and with one. Exit status 1 on any failure; the captured screen is printed with it.
#
#   tests/claude_code/statusline.sh                   # debug build, about 10 s once built
#   tests/claude_code/statusline.sh --record-fixture  # also rewrite fixtures/statusline-input-2.1.328.json
#   tests/claude_code/statusline.sh --locked --keep   # cargo --locked; keep the work folder
#
# Every other flag goes to statusline.py (--timeout SECONDS, --work-dir DIR, --keep, --help).
# Environment: STATUSLINE_TIMEOUT (seconds for the whole test once built, default 150).
set -euo pipefail
# shellcheck source=tests/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
e2e_init "statusline" "$@"

require_tools "scripts/setup.sh installs it" cargo python3 npm timeout
if ! command -v tmux >/dev/null 2>&1; then
  echo "statusline: installing tmux" >&2
  SUDO=()
  [ "$(id -u)" -eq 0 ] || SUDO=(sudo)
  "${SUDO[@]}" apt-get install -y -q tmux >&2 \
    || { "${SUDO[@]}" apt-get update -q >&2 && "${SUDO[@]}" apt-get install -y -q tmux >&2; } \
    || e2e_fail "tmux is missing and apt-get could not install it"
fi

cargo build "${CARGO_FLAGS[@]}" -q -p claude-status-simulator -p claude-status-cli >&2 \
  || e2e_fail "cargo build -p claude-status-simulator -p claude-status-cli failed"
CLAUDE="$("$ROOT/tests/claude_code/install.sh" | tail -n 1)" \
  || e2e_fail "tests/claude_code/install.sh could not install Claude Code (its messages are above)"

# A real key must never reach the test: Claude Code and the service get a dummy one that only the
# simulator sees (statusline.py also starts each of them with only the environment it names).
unset ANTHROPIC_API_KEY ANTHROPIC_AUTH_TOKEN ANTHROPIC_ADMIN_KEY || true

status=0
timeout --kill-after=10 "${STATUSLINE_TIMEOUT:-150}" python3 "$ROOT/tests/claude_code/statusline.py" \
  --sim "$ROOT/target/debug/claude-status-sim" \
  --cli "$ROOT/target/debug/claude-status" \
  --claude "$CLAUDE" \
  "${TEST_ARGS[@]}" || status=$?
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  echo "statusline: the test exceeded ${STATUSLINE_TIMEOUT:-150} s and was stopped" >&2
  echo "statusline: 0 passed, 1 failed"
fi
exit "$status"
