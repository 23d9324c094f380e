#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs every test: formatting, lints, the generated
# TypeScript types, the monitoring files in deploy/, unit and integration tests, Prometheus and
# Alertmanager scraping and alerting on `watch`, the gateway's fallback to another provider (the
# Anthropic SDK against LiteLLM's proxy and openai's request types), the fault and abuse suite
# (tests/faults: sleep, clocks, disks, the database, hostile input, the gateway under abuse, the
# control socket, secrets, soak), the UI's tests (node and headless Chromium), and
# the end-to-end tests of the real tray app under Xvfb with a
# private D-Bus session (tray, menu and notifications over D-Bus; the dashboard through
# WebDriver). Idempotent: what is installed stays.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/setup.sh
source scripts/setup.sh
setup_system_packages test
setup_ui

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "==> cargo deny: licenses, banned and duplicate crates, sources (advisories need GitHub: left out)"
setup_cargo_deny
# cargo-deny reads the tree for every platform the app ships on, so the crates of the other
# platforms are fetched first (a fresh machine has only its own); after that it runs offline.
cargo fetch --locked -q
cargo deny --offline check --hide-inclusion-graph licenses bans sources
echo "==> the UI's npm lock: hashes, licenses, what ships (npm audit needs the registry's audit service: left out)"
./scripts/check-npm.sh
echo "==> generated TypeScript types are current"
./scripts/check-bindings.sh
echo "==> deploy/: promtool check and test rules, amtool, dashboard"
./scripts/check-deploy.sh
echo "==> cargo build"
cargo build --workspace --all-targets --locked
echo "==> cargo test"
cargo test --workspace --locked
echo "==> end-to-end: Prometheus scrapes watch, the overload rule fires, Alertmanager delivers it"
./tests/prometheus/run.sh --locked
echo "==> end-to-end: fallback to another provider with the real Anthropic SDK, LiteLLM and openai's types"
./tests/fallback/run.sh --locked
echo "==> the fault and abuse suite: each case a real process under a real fault (one table)"
./tests/faults/run.sh --locked
echo "==> UI tests"
(cd ui && npm test)
echo "==> UI tests in headless Chromium"
(cd ui && npm run test:browser)
echo "==> end-to-end: the tray app under Xvfb and D-Bus"
./tests/e2e/run.sh
echo "==> end-to-end: the real Claude Code draws our status line (interactive, under tmux)"
./tests/claude_code/statusline.sh --locked
echo "==> end-to-end: the dashboard through WebDriver (tauri-driver + WebKitWebDriver)"
./tests/webdriver/run.sh
