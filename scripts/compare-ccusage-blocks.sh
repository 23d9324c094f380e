#!/usr/bin/env bash
# Compares our estimated 5-hour blocks (`claude-status usage blocks --json`) with ccusage's
# (`ccusage blocks --json --offline`, ccusage 20.0.24 from npm in target/ccusage).
#
# Usage: scripts/compare-ccusage-blocks.sh [SIZE_MB] [SEED]
#
# Two sets:
#   live       a few lines written relative to now, so one block is active: every figure must be
#              equal (block starts, ends, gaps, entries, tokens, the active block's burn rate, and
#              the projection when both runs saw the same minute left).
#   generated  SIZE_MB (default 20) of transcripts from the engine's generator: block ids, ends,
#              gaps and last-entry times must be equal. Entry and token counts may differ in a
#              known way, which is printed, not failed: ccusage counts zero-token API-error lines
#              as entries, and its `blocks` keeps a `/btw` sidechain replay of a parent's message
#              that its own `daily` drops; we follow its `daily` (our blocks add up to its daily
#              total, which is checked).
# Exits 0 when everything agrees, 1 on a difference.
set -euo pipefail

SIZE_MB="${1:-20}"
SEED="${2:-42}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
SCRATCH="$TARGET/compare-ccusage-blocks"
CCUSAGE_VERSION="20.0.24"
CCUSAGE="$TARGET/ccusage/node_modules/.bin/ccusage"

if [[ ! -x "$CCUSAGE" ]] || [[ "$("$CCUSAGE" --version 2>/dev/null)" != *"$CCUSAGE_VERSION"* ]]; then
    echo "== installing ccusage@$CCUSAGE_VERSION into $TARGET/ccusage"
    mkdir -p "$TARGET/ccusage"
    npm install --silent --no-audit --no-fund --prefix "$TARGET/ccusage" "ccusage@$CCUSAGE_VERSION"
fi

echo "== building claude-status and the log generator (release)"
cargo build --quiet --release --manifest-path "$ROOT/Cargo.toml" -p claude-status-cli
cargo build --quiet --release --manifest-path "$ROOT/Cargo.toml" -p claude-status-engine --example gen_claude_logs
OURS="$TARGET/release/claude-status"

rm -rf "$SCRATCH"
mkdir -p "$SCRATCH/home" "$SCRATCH/live/projects/-live"

# The live set: compact JSON as Claude Code writes it (ccusage looks for `"usage":{`).
python3 - "$SCRATCH/live/projects/-live/live.jsonl" <<'PY'
import datetime, json, sys
now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
offsets = [(-4 * 24 - 1) * 60, -4 * 24 * 60, -24 * 60, -120, -75, -30]
with open(sys.argv[1], "w") as out:
    for i, minutes in enumerate(offsets):
        at = now + datetime.timedelta(minutes=minutes)
        line = {
            "parentUuid": "p", "isSidechain": False, "type": "assistant", "uuid": f"u-{i}",
            "timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "sessionId": "live",
            "version": "2.1.233", "requestId": f"req_{i}",
            "message": {
                "model": "claude-sonnet-4-5-20250929", "id": f"msg_{i}", "type": "message",
                "role": "assistant", "content": [{"type": "text", "text": "hi"}],
                "usage": {"input_tokens": 1000 * (i + 1), "output_tokens": 100 * (i + 1),
                          "cache_creation_input_tokens": 500, "cache_read_input_tokens": 2000},
            },
        }
        out.write(json.dumps(line, separators=(",", ":")) + "\n")
PY

echo "== generating ${SIZE_MB} MB of transcripts (seed $SEED)"
"$TARGET/release/examples/gen_claude_logs" "$SCRATCH/generated" "$SIZE_MB" "$SEED"

status=0
for set in live generated; do
    dir="$SCRATCH/$set"
    echo "== $set"
    ( cd "$SCRATCH" && TZ=UTC HOME="$SCRATCH/home" CLAUDE_CONFIG_DIR="$dir" \
        "$CCUSAGE" blocks --json --offline > "$SCRATCH/$set.ccusage.json" )
    ( cd "$SCRATCH" && TZ=UTC HOME="$SCRATCH/home" CLAUDE_CONFIG_DIR="$dir" \
        "$CCUSAGE" daily --json --offline > "$SCRATCH/$set.ccusage-daily.json" )
    TZ=UTC HOME="$SCRATCH/home" CLAUDE_STATUS_DATA_DIR="$SCRATCH/$set.data" \
        "$OURS" usage blocks --json --logs "$dir" --timezone UTC > "$SCRATCH/$set.ours.json" 2>/dev/null
    python3 - "$set" "$SCRATCH/$set.ccusage.json" "$SCRATCH/$set.ccusage-daily.json" \
        "$SCRATCH/$set.ours.json" <<'PY' || status=1
import json, sys

name, theirs_path, daily_path, ours_path = sys.argv[1:]
theirs = json.load(open(theirs_path))["blocks"]
daily = json.load(open(daily_path))["totals"]["totalTokens"]
report = json.load(open(ours_path))
ours = report["blocks"]
exact = name == "live"
problems = 0

def bad(text):
    global problems
    problems += 1
    print("  " + text)

def second(text):
    return (text or "")[:19]

if not report.get("estimated"):
    bad("our report is not labelled estimated")
if len(theirs) != len(ours):
    bad(f"{len(ours)} blocks ours vs {len(theirs)} ccusage")
known = 0
for t, o in zip(theirs, ours):
    for their_key, our_key in [("id", "id"), ("isGap", "is_gap"), ("isActive", "is_active")]:
        if t[their_key] != o[our_key]:
            bad(f"{o['id']}: {our_key} ours {o[our_key]} vs ccusage {t[their_key]}")
    for their_key, our_key in [("startTime", "start"), ("endTime", "end"), ("actualEndTime", "actual_end")]:
        if second(t.get(their_key)) != second(o.get(our_key)):
            bad(f"{o['id']}: {our_key} ours {o.get(our_key)} vs ccusage {t.get(their_key)}")
    if (t["entries"], t["totalTokens"]) != (o["entries"], o["total_tokens"]):
        if exact:
            bad(f"{o['id']}: entries/tokens ours {o['entries']}/{o['total_tokens']} "
                f"vs ccusage {t['entries']}/{t['totalTokens']}")
        else:
            known += 1
    if t["costUSD"] and not o["includes_unknown_price"] and exact:
        if abs(t["costUSD"] - o["cost_usd"]) > 0.01 * t["costUSD"]:
            bad(f"{o['id']}: cost ours {o['cost_usd']:.6f} vs ccusage {t['costUSD']:.6f}")
    if t["isActive"] and o["is_active"]:
        active = report["active"] or {}
        rate, their_rate = active.get("burn_rate"), t.get("burnRate")
        if (rate is None) != (their_rate is None):
            bad(f"{o['id']}: burn rate ours {rate} vs ccusage {their_rate}")
        elif rate is not None:
            if abs(rate["tokens_per_minute"] - their_rate["tokensPerMinute"]) > 1e-6:
                bad(f"{o['id']}: tokens/min ours {rate['tokens_per_minute']} vs ccusage {their_rate['tokensPerMinute']}")
            print(f"  active {o['id']}: {rate['tokens_per_minute']:.1f} tokens/min (ccusage {their_rate['tokensPerMinute']:.1f}), "
                  f"${rate['cost_per_hour_usd']:.4f}/h (ccusage ${their_rate['costPerHour']:.4f}/h)")
        projection, their_projection = active.get("projection"), t.get("projection")
        if projection and their_projection:
            same_minute = projection["remaining_minutes"] == their_projection["remainingMinutes"]
            print(f"  projection: {projection['total_tokens']} tokens in {projection['remaining_minutes']} min "
                  f"(ccusage {their_projection['totalTokens']} in {their_projection['remainingMinutes']} min)")
            if same_minute and projection["total_tokens"] != their_projection["totalTokens"]:
                bad("projected tokens differ for the same minutes left")
ours_total = sum(b["total_tokens"] for b in ours)
print(f"  {len(ours)} blocks; tokens ours {ours_total}, ccusage blocks {sum(b['totalTokens'] for b in theirs)}, "
      f"ccusage daily {daily}")
if ours_total != daily:
    bad(f"our blocks add up to {ours_total}, ccusage's daily total is {daily}")
if known:
    print(f"  {known} blocks differ in entries or tokens by ccusage's API-error entries and /btw replays (known)")
print("  agree" if problems == 0 else f"  {problems} difference(s)")
sys.exit(1 if problems else 0)
PY
done
exit "$status"
