#!/usr/bin/env bash
# Prometheus and Alertmanager end to end: builds the simulator and the CLI, then runs e2e.py,
# which has Debian's Prometheus scrape `claude-status watch --metrics-addr` during a simulated
# overload, checks the shipped overload rule fires, and has Debian's Alertmanager deliver it to a
# local webhook receiver. Everything binds 127.0.0.1 and stops by itself.
#
#   tests/prometheus/run.sh                     # fast intervals (2 s), about 20 s once built
#   tests/prometheus/run.sh --locked            # cargo --locked (CI)
#   tests/prometheus/run.sh --scrape 15 --evaluation 15 --group-wait 30   # the documented setup
#
# Every other flag goes to e2e.py (--speed, --keep, --help).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"

CARGO_FLAGS=()
TEST_ARGS=()
for arg in "$@"; do
  case "$arg" in
    --locked) CARGO_FLAGS+=(--locked) ;;
    *) TEST_ARGS+=("$arg") ;;
  esac
done

for tool in cargo python3 prometheus prometheus-alertmanager timeout; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "prometheus e2e: $tool is missing (scripts/setup.sh test installs it)" >&2
    echo "prometheus e2e: 0 passed, 1 failed"
    exit 1
  fi
done
cargo build "${CARGO_FLAGS[@]}" -q -p claude-status-simulator -p claude-status-cli >&2
# A real key must never reach the test: the watcher gets a dummy one only the simulator sees.
unset ANTHROPIC_API_KEY ANTHROPIC_AUTH_TOKEN ANTHROPIC_ADMIN_KEY || true
exec timeout --kill-after=10 "${PROMETHEUS_E2E_TIMEOUT:-300}" python3 tests/prometheus/e2e.py \
  --sim "$ROOT/target/debug/claude-status-sim" \
  --cli "$ROOT/target/debug/claude-status" \
  "${TEST_ARGS[@]}"
