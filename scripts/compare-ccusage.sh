#!/usr/bin/env bash
# Compares our Claude Code usage figures with ccusage's, day by day.
#
# Usage: scripts/compare-ccusage.sh [SIZE_MB] [SEED]
#
# Runs `ccusage daily --json --offline` (ccusage 20.0.24, installed from npm into target/ccusage)
# and `claude-status usage daily --json --logs DIR --timezone UTC --source claude-code` (Claude
# Code's figures alone, what ccusage reports: by default `usage` adds the gateway's and the
# probe's) on (a) the real fixtures in ../shared/fixtures/claude-code laid out as Claude Code
# does, and (b) a generated set of SIZE_MB megabytes (default 100). Per-day token totals must be equal; costs must agree within 1% on days
# where both tools know the price of every model used. Exits 0 when everything agrees, 1 on a
# difference, 2 when `claude-status usage` is not available in this build.
set -euo pipefail

SIZE_MB="${1:-100}"
SEED="${2:-42}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
SCRATCH="$TARGET/compare-ccusage"
CCUSAGE_VERSION="20.0.24"
CCUSAGE="$TARGET/ccusage/node_modules/.bin/ccusage"
FIXTURES="$ROOT/../shared/fixtures/claude-code"

if [[ ! -x "$CCUSAGE" ]] || [[ "$("$CCUSAGE" --version 2>/dev/null)" != *"$CCUSAGE_VERSION"* ]]; then
    echo "== installing ccusage@$CCUSAGE_VERSION into $TARGET/ccusage"
    mkdir -p "$TARGET/ccusage"
    npm install --silent --no-audit --no-fund --prefix "$TARGET/ccusage" "ccusage@$CCUSAGE_VERSION"
fi
"$CCUSAGE" --version >/dev/null # The native binary must run, not just the JS shim.

echo "== building claude-status and the log generator (release)"
cargo build --quiet --release --manifest-path "$ROOT/Cargo.toml" -p claude-status-engine --example gen_claude_logs
OURS="$TARGET/release/claude-status"
HAVE_OURS=1
if ! cargo build --quiet --release --manifest-path "$ROOT/Cargo.toml" -p claude-status-cli 2>/dev/null \
    || ! "$OURS" usage daily --help >/dev/null 2>&1; then
    HAVE_OURS=0
    echo "!! claude-status has no 'usage daily' command in this build: only ccusage's half runs"
fi

rm -rf "$SCRATCH"
mkdir -p "$SCRATCH/home"

# (a) The fixtures, in the layout Claude Code writes.
FIX="$SCRATCH/fixtures"
mkdir -p "$FIX/projects/-fixture-basic" "$FIX/projects/project-alpha/session-alpha"
cp "$FIXTURES/session-basic-v2.1.233.jsonl" "$FIX/projects/-fixture-basic/9c42ba52-3bf1-449f-a040-8ee33284a1c8.jsonl"
cp "$FIXTURES/SYNTHETIC-minimal.jsonl" "$FIX/projects/project-alpha/session-alpha/chat.jsonl"

# (b) A generated set.
GEN="$SCRATCH/generated"
echo "== generating ${SIZE_MB} MB of transcripts (seed $SEED)"
"$TARGET/release/examples/gen_claude_logs" "$GEN" "$SIZE_MB" "$SEED"

status=0
for set in fixtures generated; do
    dir="$SCRATCH/$set"
    echo "== $set"
    # HOME points at an empty folder so ccusage finds no other agent's data (Codex, …).
    ( cd "$SCRATCH" && TZ=UTC HOME="$SCRATCH/home" CLAUDE_CONFIG_DIR="$dir" \
        "$CCUSAGE" daily --json --offline > "$SCRATCH/$set.ccusage.json" )
    if [[ $HAVE_OURS == 0 ]]; then
        python3 - "$SCRATCH/$set.ccusage.json" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
for day in data["daily"]:
    print(f'  ccusage {day["period"]}: in {day["inputTokens"]} out {day["outputTokens"]} '
          f'cache+ {day["cacheCreationTokens"]} cache> {day["cacheReadTokens"]} '
          f'total {day["totalTokens"]} ${day["totalCost"]:.4f}')
t = data["totals"]
print(f'  ccusage totals: {t["totalTokens"]} tokens, ${t["totalCost"]:.4f}, unpriced {t.get("unpricedModels", [])}')
PY
        continue
    fi
    TZ=UTC HOME="$SCRATCH/home" CLAUDE_STATUS_DATA_DIR="$SCRATCH/$set.data" \
        "$OURS" usage daily --json --logs "$dir" --timezone UTC --source claude-code \
        > "$SCRATCH/$set.ours.json"
    python3 - "$SCRATCH/$set.ccusage.json" "$SCRATCH/$set.ours.json" <<'PY' || status=1
import json, sys

theirs = json.load(open(sys.argv[1]))
ours = json.load(open(sys.argv[2]))

def unpriced_in_ours(day):
    # Our rows say `includes_unknown_price` when a model of the day has no known price (we report
    # "price unknown", never $0, so that day's cost is not comparable).
    if day.get("includes_unknown_price"):
        return ["(a model without a known price)"]
    # `models` may be a list of names or of objects with a cost (null when unpriced).
    names = []
    for model in day.get("models") or []:
        if isinstance(model, dict):
            cost = model.get("cost_usd", model.get("cost"))
            if cost is None or model.get("unpriced") or model.get("missing_pricing"):
                names.append(model.get("model") or model.get("name"))
    return names

their_days = {d["period"]: d for d in theirs["daily"]}
our_days = {d["date"]: d for d in ours["daily"]}
problems = 0
compared_costs = 0
for date in sorted(set(their_days) | set(our_days)):
    t, o = their_days.get(date), our_days.get(date)
    if t is None or o is None:
        # A day with only zero-token error lines may appear on one side only.
        only = t or o
        tokens = only.get("totalTokens", only.get("total_tokens", 0))
        if tokens:
            print(f"  {date}: only in {'ccusage' if o is None else 'ours'} ({tokens} tokens)")
            problems += 1
        continue
    pairs = [("inputTokens", "input_tokens"), ("outputTokens", "output_tokens"),
             ("cacheCreationTokens", "cache_creation_tokens"), ("cacheReadTokens", "cache_read_tokens"),
             ("totalTokens", "total_tokens")]
    for their_key, our_key in pairs:
        if t[their_key] != o[our_key]:
            print(f"  {date}: {our_key} ours {o[our_key]} vs ccusage {t[their_key]}")
            problems += 1
    their_unpriced = [m["modelName"] for m in t.get("modelBreakdowns", [])
                      if m.get("missingPricing") or m.get("missing_pricing")]
    our_models = {}
    for model in o.get("models") or []:
        if isinstance(model, dict):
            cost = model.get("cost_usd", model.get("cost"))
            our_models[model.get("model") or model.get("name")] = cost
    if our_models:
        # Per model: compare the models both tools price.
        their_costs = {m["modelName"]: m["cost"] for m in t.get("modelBreakdowns", [])
                       if not m.get("missingPricing")}
        both = [m for m in their_costs if our_models.get(m) is not None]
        tc = sum(their_costs[m] for m in both)
        oc = sum(our_models[m] for m in both)
    elif not their_unpriced and not unpriced_in_ours(o) and o.get("cost_usd") is not None:
        tc, oc = t["totalCost"], o["cost_usd"]
    else:
        tc = oc = None
    if tc is not None:
        compared_costs += 1
        if abs(tc - oc) > 0.01 * max(abs(tc), 1e-9):
            print(f"  {date}: cost ours {oc:.6f} vs ccusage {tc:.6f} ({(oc - tc) / max(tc, 1e-9):+.2%})")
            problems += 1
tt, ot = theirs["totals"], ours["totals"]
print(f"  days: ccusage {len(their_days)}, ours {len(our_days)}; costs compared on {compared_costs} days")
print(f"  totals: tokens ours {ot.get('total_tokens')} vs ccusage {tt['totalTokens']}; "
      f"cost ours {ot.get('cost_usd')} vs ccusage {tt['totalCost']:.4f} (unpriced: {tt.get('unpricedModels', [])})")
print("  AGREE" if problems == 0 else f"  {problems} DIFFERENCES")
sys.exit(1 if problems else 0)
PY
done
if [[ $HAVE_OURS == 0 ]]; then
    exit 2
fi
exit $status
