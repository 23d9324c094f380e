#!/usr/bin/env bash
# Builds the release binaries and prints the benchmark figures (about 6 minutes; --quick: 1 minute).
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 scripts/bench.py "$@"
