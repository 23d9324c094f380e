# shellcheck shell=bash
# What the end-to-end run scripts under tests/ share. Sourced, never run:
#
#   . "$(dirname "$0")/../lib/common.sh"
#   e2e_init "fallback e2e" "$@"
#   require_tools "scripts/setup.sh test installs it" cargo python3 timeout
#
# e2e_init NAME ARGS...: ROOT is the checkout, the working folder becomes it, NAME prefixes
# every message, and ARGS are split: --locked into CARGO_FLAGS (for cargo), every other one
# into TEST_ARGS (for the test's driver), in order.
e2e_init() {
  E2E_NAME="$1"
  shift
  ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  cd "$ROOT" || exit 1
  CARGO_FLAGS=()
  TEST_ARGS=()
  local arg
  for arg in "$@"; do
    case "$arg" in
      --locked) CARGO_FLAGS+=(--locked) ;;
      *) TEST_ARGS+=("$arg") ;;
    esac
  done
}

# e2e_fail MESSAGE...: says why on stderr, the count line the drivers print on stdout, and
# exits 1.
e2e_fail() {
  echo "$E2E_NAME: $*" >&2
  echo "$E2E_NAME: 0 passed, 1 failed"
  exit 1
}

# require_tools HINT TOOL...: fails naming the first TOOL not on PATH, with HINT (how to get it).
require_tools() {
  local hint="$1" tool
  shift
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || e2e_fail "$tool is missing ($hint)"
  done
}
