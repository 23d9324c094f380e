#!/usr/bin/env bash
# CI check: the TypeScript bindings committed in ui/src/bindings/ match the Rust types.
# Regenerates them in place (crates/core/tests/ts_bindings.rs, which also checks them against
# serde's JSON), then fails if git sees a changed, deleted or new file there. After a failure the
# regenerated files are already in the working tree: review and commit them.
set -euo pipefail
cd "$(dirname "$0")/.."

bindings=ui/src/bindings

echo "==> regenerating $bindings"
cargo test -p claude-status-core --features ts --test ts_bindings --locked --quiet

# Changed or deleted tracked files (working tree against the index, as CI has it after checkout)…
stale=0
if ! git diff --quiet --exit-code -- "$bindings"; then
  stale=1
  git --no-pager diff --stat -- "$bindings"
fi
# …and files the regeneration created that git does not track yet.
untracked=$(git ls-files --others --exclude-standard -- "$bindings")
if [ -n "$untracked" ]; then
  stale=1
  echo "new, untracked binding files:"
  sed 's/^/  /' <<<"$untracked"
fi

if [ "$stale" -ne 0 ]; then
  cat >&2 <<EOF

error: $bindings is stale: the Rust types in crates/core changed but the committed
TypeScript bindings did not. The regenerated files are now in the working tree; review them
(git diff -- $bindings) and commit them, including any new files.
EOF
  exit 1
fi
echo "==> $bindings is up to date"
