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
# shellcheck source=tests/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
e2e_init "prometheus e2e" "$@"

require_tools "scripts/setup.sh test installs it" cargo python3 prometheus prometheus-alertmanager timeout
cargo build "${CARGO_FLAGS[@]}" -q -p claude-status-simulator -p claude-status-cli >&2
# A real key must never reach the test: the watcher gets a dummy one only the simulator sees.
unset ANTHROPIC_API_KEY ANTHROPIC_AUTH_TOKEN ANTHROPIC_ADMIN_KEY || true
exec timeout --kill-after=10 "${PROMETHEUS_E2E_TIMEOUT:-300}" python3 tests/prometheus/e2e.py \
  --sim "$ROOT/target/debug/claude-status-sim" \
  --cli "$ROOT/target/debug/claude-status" \
  "${TEST_ARGS[@]}"
