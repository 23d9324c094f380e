#!/usr/bin/env bash
# The fault and abuse suite (tests/faults/suite.py): builds the simulator and the CLI, then runs
# every case, each a real process under a real fault, and prints one table of case, outcome and
# figures (also target/faults/table.md and results.json). Run as root (CI is): some cases make a
# network namespace, mount a small tmpfs, or run a process as a second, unprivileged user.
#
#   tests/faults/run.sh                  # the CI cases
#   tests/faults/run.sh --locked         # cargo --locked (CI)
#   tests/faults/run.sh --only gateway   # only the cases whose name contains "gateway"
#   tests/faults/run.sh --long           # the long runs too (scripts/long-run.sh)
#
# Every other flag goes to suite.py (--only, --long, --list, --keep, --help).
set -euo pipefail
# shellcheck source=tests/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
e2e_init "faults" "$@"

require_tools "scripts/setup.sh test installs it" cargo python3 timeout faketime unshare

cargo build "${CARGO_FLAGS[@]}" -q -p claude-status-simulator -p claude-status-cli >&2
# A real key must never reach a case: each one gets dummy keys only the simulator sees.
unset ANTHROPIC_API_KEY ANTHROPIC_AUTH_TOKEN ANTHROPIC_ADMIN_KEY ANTHROPIC_BASE_URL || true
cargo_flag=()
for flag in "${CARGO_FLAGS[@]}"; do cargo_flag+=(--cargo-flag="$flag"); done
exec timeout --kill-after=10 "${FAULTS_TIMEOUT:-1800}" python3 tests/faults/suite.py \
  --sim "$ROOT/target/debug/claude-status-sim" \
  --cli "$ROOT/target/debug/claude-status" \
  "${cargo_flag[@]}" "${TEST_ARGS[@]}"
