#!/usr/bin/env bash
# Benchmarks our Claude Code transcript ingest against ccusage on the same files.
#
# Usage: scripts/bench-usage.sh [SIZE_MB] [SEED]
#
# Generates SIZE_MB megabytes of transcripts (default 500), then measures wall time and peak RSS
# (`/usr/bin/time -v`) of: our cold ingest (a fresh data directory), our warm ingest (nothing
# new), and `ccusage daily --json --offline` (20.0.24, from npm into target/ccusage), and finally
# how long a line appended to a followed transcript takes to reach the ledger. Prints a table.
set -euo pipefail

SIZE_MB="${1:-500}"
SEED="${2:-7}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
SCRATCH="$TARGET/bench-usage"
CCUSAGE_VERSION="20.0.24"
CCUSAGE="$TARGET/ccusage/node_modules/.bin/ccusage"

if [[ ! -x /usr/bin/time ]]; then
    echo "== installing GNU time"
    apt-get install -y -qq time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
fi
if [[ ! -x "$CCUSAGE" ]] || [[ "$("$CCUSAGE" --version 2>/dev/null)" != *"$CCUSAGE_VERSION"* ]]; then
    echo "== installing ccusage@$CCUSAGE_VERSION into $TARGET/ccusage"
    mkdir -p "$TARGET/ccusage"
    npm install --silent --no-audit --no-fund --prefix "$TARGET/ccusage" "ccusage@$CCUSAGE_VERSION"
fi

echo "== building (release)"
cargo build --quiet --release --manifest-path "$ROOT/Cargo.toml" -p claude-status-engine \
    --example gen_claude_logs --example ingest
GEN="$TARGET/release/examples/gen_claude_logs"
INGEST="$TARGET/release/examples/ingest"

LOGS="$SCRATCH/logs-$SIZE_MB-$SEED"
if [[ ! -d "$LOGS/projects" ]]; then
    echo "== generating $SIZE_MB MB of transcripts"
    rm -rf "$SCRATCH"
    mkdir -p "$SCRATCH"
    "$GEN" "$LOGS" "$SIZE_MB" "$SEED"
fi
mkdir -p "$SCRATCH/home"
FILES=$(find "$LOGS/projects" -name '*.jsonl' | wc -l)
BYTES=$(du -sb "$LOGS/projects" | cut -f1)

# Runs a command under /usr/bin/time -v; prints "seconds kilobytes" and keeps its stdout.
measure() {
    local name="$1"; shift
    /usr/bin/time -v -o "$SCRATCH/$name.time" "$@" > "$SCRATCH/$name.out"
    local wall rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$SCRATCH/$name.time" \
        | awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$SCRATCH/$name.time")
    echo "$wall $rss"
}

# Let the page cache hold the files for every contender alike.
cat $(find "$LOGS/projects" -name '*.jsonl') > /dev/null

echo "== our cold ingest"
rm -rf "$SCRATCH/data"
read -r cold_s cold_kb < <(measure cold "$INGEST" "$LOGS" "$SCRATCH/data")
echo "   $(cat "$SCRATCH/cold.out")"
echo "== our warm ingest"
read -r warm_s warm_kb < <(measure warm "$INGEST" "$LOGS" "$SCRATCH/data")
echo "   $(cat "$SCRATCH/warm.out")"
echo "== ccusage daily --json --offline"
read -r cc_s cc_kb < <(cd "$SCRATCH" && TZ=UTC HOME="$SCRATCH/home" CLAUDE_CONFIG_DIR="$LOGS" \
    measure ccusage "$CCUSAGE" daily --json --offline)
DB_BYTES=$(du -cb "$SCRATCH/data"/claude-status.sqlite3* | tail -1 | cut -f1)

echo "== follow: a line appended to a watched transcript, until it is in the ledger"
FOLLOW=$("$INGEST" "$LOGS" "$SCRATCH/data" --follow-latency 10)
rm -rf "$LOGS/projects/latency-probe"

mb=$(python3 -c "print(f'{$BYTES/1048576:.0f}')")
printf '\n%s MB in %s files (%s); ledger %s MB\n\n' "$mb" "$FILES" "$(nproc) cores" \
    "$(python3 -c "print(f'{$DB_BYTES/1048576:.1f}')")"
printf '| %-34s | %9s | %9s | %10s |\n' "run" "wall (s)" "MB/s" "peak RSS"
printf '|%s|%s|%s|%s|\n' "------------------------------------" "-----------" "-----------" "------------"
row() {
    local speed
    speed=$(python3 -c "print(f'{$BYTES/1048576/max($2,0.001):.0f}')")
    printf '| %-34s | %9.2f | %9s | %7d MB |\n' "$1" "$2" "$speed" "$(( $3 / 1024 ))"
}
row "claude-status ingest, cold" "$cold_s" "$cold_kb"
row "claude-status ingest, warm" "$warm_s" "$warm_kb"
row "ccusage daily --json --offline" "$cc_s" "$cc_kb"
echo
echo "follow latency (append -> ledger -> channel): $FOLLOW"
