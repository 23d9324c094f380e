#!/usr/bin/env bash
# Benchmarks our Claude Code transcript ingest against ccusage on the same files.
#
# Usage: scripts/bench-usage.sh [SIZE_MB] [SEED]
#
# Generates SIZE_MB megabytes of transcripts (default 160) in two shapes, many small files and a
# few large ones, then for each measures the median wall time and peak RSS (`/usr/bin/time -v`)
# over RUNS runs (default 5) of:
# `claude-status usage daily --json` cold (a fresh data directory) and warm (nothing new), the
# ingest alone, and `ccusage daily --json --offline` (20.0.24, from npm into target/ccusage).
# Finally it measures how long a line appended to a followed transcript takes to reach the
# ledger. Prints one table per shape.
set -euo pipefail

SIZE_MB="${1:-160}"
SEED="${2:-7}"
RUNS="${RUNS:-5}"
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
cargo build --quiet --release --manifest-path "$ROOT/Cargo.toml" -p claude-status-cli
CLI="$TARGET/release/claude-status"
GEN="$TARGET/release/examples/gen_claude_logs"
INGEST="$TARGET/release/examples/ingest"

# Runs a command under /usr/bin/time -v; prints "seconds kilobytes" and keeps its stdout.
measure_once() {
    local name="$1"; shift
    /usr/bin/time -v -o "$SCRATCH/$name.time" "$@" > "$SCRATCH/$name.out"
    local wall rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$SCRATCH/$name.time" \
        | awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$SCRATCH/$name.time")
    echo "$wall $rss"
}

# Runs a command RUNS times, each after `$PREPARE` (a command, or empty), and prints the median
# wall time and the median peak RSS: a shared 2-core machine varies by a third from run to run.
measure() {
    local name="$1"; shift
    local walls=() rsses=() wall rss
    for _ in $(seq "$RUNS"); do
        if [[ -n "${PREPARE:-}" ]]; then eval "$PREPARE"; fi
        read -r wall rss < <(measure_once "$name" "$@")
        walls+=("$wall"); rsses+=("$rss")
    done
    python3 -c "import statistics, sys; a = sys.argv[1].split(); b = sys.argv[2].split(); \
print(statistics.median(map(float, a)), int(statistics.median(map(int, b))))" \
        "${walls[*]}" "${rsses[*]}"
}

row() {
    local speed
    speed=$(python3 -c "print(f'{$BYTES/1048576/max($2,0.001):.0f}')")
    printf '| %-40s | %9.2f | %9s | %7d MB |\n' "$1" "$2" "$speed" "$(( $3 / 1024 ))"
}

# The two shapes load an ingest differently: thousands of small files cost per file (discovery,
# opening, offsets), a few large ones cost per byte (parsing, deduplication, ledger writes).
for SHAPE in small large; do
    LOGS="$SCRATCH/logs-$SHAPE-$SIZE_MB-$SEED"
    if [[ ! -d "$LOGS/projects" ]]; then
        echo "== generating $SIZE_MB MB of $SHAPE transcripts"
        "$GEN" "$LOGS" "$SIZE_MB" "$SEED" "$SHAPE"
    fi
    FILES=$(find "$LOGS/projects" -name '*.jsonl' | wc -l)
    BYTES=$(du -sb "$LOGS/projects" | cut -f1)
    # Let the page cache hold the files for every contender alike.
    find "$LOGS/projects" -name '*.jsonl' -exec cat {} + > /dev/null

    # The command a user runs, on a fresh home and data directory, so the ingest is cold.
    OURS=(env HOME="$SCRATCH/home-$SHAPE" CLAUDE_STATUS_DATA_DIR="$SCRATCH/home-$SHAPE/data"
        CLAUDE_CONFIG_DIR="$LOGS" TZ=UTC "$CLI" --offline usage daily --json)
    echo "== $SHAPE: claude-status usage daily --json, cold ($RUNS runs)"
    PREPARE="rm -rf '$SCRATCH/home-$SHAPE' && mkdir -p '$SCRATCH/home-$SHAPE'"
    read -r cli_cold_s cli_cold_kb < <(measure cli-cold-$SHAPE "${OURS[@]}")
    echo "== $SHAPE: claude-status usage daily --json, warm"
    PREPARE=""
    read -r cli_warm_s cli_warm_kb < <(measure cli-warm-$SHAPE "${OURS[@]}")
    echo "== $SHAPE: the ingest alone (examples/ingest), cold"
    PREPARE="rm -rf '$SCRATCH/data-$SHAPE'"
    read -r cold_s cold_kb < <(measure cold-$SHAPE "$INGEST" "$LOGS" "$SCRATCH/data-$SHAPE")
    PREPARE=""
    echo "   $(cat "$SCRATCH/cold-$SHAPE.out")"
    echo "== $SHAPE: ccusage daily --json --offline"
    mkdir -p "$SCRATCH/cchome"
    read -r cc_s cc_kb < <(cd "$SCRATCH" && TZ=UTC HOME="$SCRATCH/cchome" CLAUDE_CONFIG_DIR="$LOGS" \
        measure ccusage-$SHAPE "$CCUSAGE" daily --json --offline)
    DB_BYTES=$(du -cb "$SCRATCH/data-$SHAPE"/claude-status.sqlite3* | tail -1 | cut -f1)

    mb=$(python3 -c "print(f'{$BYTES/1048576:.0f}')")
    printf '\n%s set: %s MB in %s files (%s cores); ledger %s MB; medians of %s runs\n\n' "$SHAPE" "$mb" "$FILES" \
        "$(nproc)" "$(python3 -c "print(f'{$DB_BYTES/1048576:.1f}')")" "$RUNS"
    printf '| %-40s | %9s | %9s | %10s |\n' "run" "wall (s)" "MB/s" "peak RSS"
    printf '|%s|%s|%s|%s|\n' "------------------------------------------" "-----------" \
        "-----------" "------------"
    row "claude-status usage daily, cold" "$cli_cold_s" "$cli_cold_kb"
    row "claude-status usage daily, warm" "$cli_warm_s" "$cli_warm_kb"
    row "ingest alone (examples/ingest), cold" "$cold_s" "$cold_kb"
    row "ccusage daily --json --offline" "$cc_s" "$cc_kb"
    python3 -c "print(f'\ncold: {$cc_s/max($cli_cold_s,0.001):.2f}x ccusage speed (goal >= 2), {$cli_cold_kb/max($cc_kb,1):.2f} of its memory (goal <= 0.25)\n')"
done

echo "== follow: a line appended to a watched transcript, until it is in the ledger"
LOGS="$SCRATCH/logs-small-$SIZE_MB-$SEED"
FOLLOW=$("$INGEST" "$LOGS" "$SCRATCH/data-small" --follow-latency 10)
rm -rf "$LOGS/projects/latency-probe"
echo "follow latency (append -> ledger -> channel): $FOLLOW"
