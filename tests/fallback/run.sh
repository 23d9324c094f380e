#!/usr/bin/env bash
# Fallback to another provider end to end, with real clients: builds the simulator and the CLI,
# makes (once) a Python venv under target/ with pinned versions of the official Anthropic SDK,
# the official openai package and LiteLLM's proxy, then runs e2e.py. The simulator overloads
# claude-opus-5-5; the gateway falls back to LiteLLM's proxy (mock answers, offline) and to a
# capture server in e2e.py that checks every request against openai's own request types.
# Everything binds 127.0.0.1 and stops by itself.
#
#   tests/fallback/run.sh                 # about 10 s once built and the venv exists (LiteLLM: 5 s)
#   tests/fallback/run.sh --locked        # cargo --locked (CI)
#   tests/fallback/run.sh --only tool     # only the cases whose name contains "tool"
#
# Every other flag goes to e2e.py (--keep, --only, --help).
set -euo pipefail
# shellcheck source=tests/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
e2e_init "fallback e2e" "$@"

# The versions this test was written and run with. Change them here only: the venv is rebuilt
# when this list changes.
PINS=(anthropic==2.17.0 openai==3.60.0 "litellm[proxy]==1.108.7")
VENV="$ROOT/target/fallback-venv"
STAMP="$VENV/.claude-status-pins"

require_tools "scripts/setup.sh test installs it" cargo python3 timeout

cargo build "${CARGO_FLAGS[@]}" -q -p claude-status-simulator -p claude-status-cli >&2

want="$(python3 --version 2>&1) ${PINS[*]}"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  echo "==> fallback e2e: making $VENV (${PINS[*]})" >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV" || e2e_fail "python3 -m venv failed (Debian: apt-get install python3-venv)"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PINS[@]}" >&2
  echo "$want" >"$STAMP"
fi

# A real key must never reach the test: the SDK gets a dummy one only the simulator sees, and
# the providers' keys are the test servers' own.
unset ANTHROPIC_API_KEY ANTHROPIC_AUTH_TOKEN ANTHROPIC_ADMIN_KEY ANTHROPIC_BASE_URL \
  OPENAI_API_KEY OPENAI_BASE_URL GEMINI_API_KEY GEMINI_BASE_URL || true
exec timeout --kill-after=10 "${FALLBACK_E2E_TIMEOUT:-300}" "$VENV/bin/python" tests/fallback/e2e.py \
  --sim "$ROOT/target/debug/claude-status-sim" \
  --cli "$ROOT/target/debug/claude-status" \
  --litellm "$VENV/bin/litellm" \
  "${TEST_ARGS[@]}"
