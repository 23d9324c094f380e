#!/usr/bin/env bash
# Benchmarks the local gateway (`claude-status proxy`) against going direct to the simulator on
# loopback: added latency at p50 and p99 for JSON answers and for streams (time to first token) at
# 1, 10 and 100 concurrent clients, throughput with 10 clients, and the gateway's memory (RSS of
# the real binary, read from /proc while the load runs). Prints markdown tables.
#
# Usage: scripts/bench-gateway.sh [--quick] [--fallback]
#
# --fallback measures the fallback to another provider instead (issue 15): the translation's
# added latency, JSON and stream, against the gateway passing a Claude answer through, with a
# fake Chat Completions server answering recorded payloads; and the requests from the trigger to
# the first one the fallback serves. Goal: at most 1 ms added at p50, no request lost.
#
# The load generator is crates/engine/examples/gateway_load.rs; everything runs on 127.0.0.1 and
# nothing touches the internet. Targets (issue 7): at most 1 ms added at p50 and 5 ms at p99,
# TTFT unchanged within 1 ms, at least 2,000 requests/s with 10 clients, under 30 MB.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"

echo "== building (release)" >&2
cargo build --quiet --release --manifest-path "$ROOT/Cargo.toml" -p claude-status-cli
cargo build --quiet --release --manifest-path "$ROOT/Cargo.toml" -p claude-status-engine \
    --example gateway_load

echo "== $(nproc) cores, $(uname -sr)" >&2
exec "$TARGET/release/examples/gateway_load" --bin "$TARGET/release/claude-status" "$@"
