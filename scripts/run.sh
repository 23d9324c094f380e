#!/usr/bin/env bash
# Builds Claude Status and follows the live Claude status page in this terminal (Ctrl-C stops).
# Extra arguments go to `claude-status watch`, e.g. `./scripts/run.sh --json-lines`.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
for package in build-essential pkg-config ca-certificates; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if ((${#missing[@]})) && command -v apt-get >/dev/null 2>&1; then
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
cargo build --release --locked -p claude-status-cli
exec target/release/claude-status watch "$@"
