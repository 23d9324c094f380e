#!/usr/bin/env bash
# Installs the real Claude Code client from npm (@anthropic-ai/claude-code, pinned version) into
# ~/.cache/claude-status-cc/<version>, once, and prints the path of its `claude` binary on the
# last line. The tray e2e (tests/e2e/) and the storm driver (driver.py) run it against the gateway
# (../shared/reference/claude-code.md, H1). A second call finds it installed and only checks it.
#
#   tests/claude_code/install.sh        # prints …/node_modules/.bin/claude
#
# Environment: CLAUDE_CODE_VERSION (default 2.1.328), CLAUDE_CODE_DIR (default
# ~/.cache/claude-status-cc/<version>). Exit status 1, with the reason on stderr, when it cannot
# be installed (no npm, no registry, a binary that does not run).
set -euo pipefail

VERSION="${CLAUDE_CODE_VERSION:-2.1.328}"
# Not $XDG_CACHE_HOME: the e2e points that at a scratch folder it wipes on every run, and the
# install is 370 MB that should be downloaded once per machine.
DIR="${CLAUDE_CODE_DIR:-$HOME/.cache/claude-status-cc/$VERSION}"
BIN="$DIR/node_modules/.bin/claude"

# `claude --version` prints "2.1.328 (Claude Code)"; anything else is a broken or other install.
installed() {
  [ -x "$BIN" ] && [ "$(DISABLE_AUTOUPDATER=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 "$BIN" --version 2>/dev/null | awk '{print $1}')" = "$VERSION" ]
}

if ! installed; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "install_claude_code: npm is missing (scripts/setup.sh installs it)" >&2
    exit 1
  fi
  mkdir -p "$DIR"
  # Two runs at once must not install into the same folder together.
  exec 9>"$DIR.lock"
  flock 9
  if ! installed; then
    echo "install_claude_code: installing @anthropic-ai/claude-code@$VERSION into $DIR" >&2
    start=$(date +%s)
    if ! npm install --prefix "$DIR" --no-audit --no-fund --loglevel=error --save-exact \
      "@anthropic-ai/claude-code@$VERSION" >&2; then
      echo "install_claude_code: npm could not install @anthropic-ai/claude-code@$VERSION" >&2
      exit 1
    fi
    if ! installed; then
      echo "install_claude_code: $BIN does not run as Claude Code $VERSION" \
        "(it printed: $("$BIN" --version 2>&1 | head -c 300))" >&2
      exit 1
    fi
    echo "install_claude_code: installed in $(($(date +%s) - start)) s" >&2
  fi
fi
echo "$BIN"
