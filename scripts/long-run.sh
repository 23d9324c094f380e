#!/usr/bin/env bash
# The long runs of the fault and abuse suite (issue 16), too long for CI: every case of
# tests/faults with the long ones too (`tests/faults/run.sh --long`). Among them:
#
# - soak-realtime: the real service probing every second against the simulator for
#   LONG_RUN_MINUTES (default 60) with its gateway under 20 requests a second, its RSS, open
#   files and database sampled every minute (soak-realtime.csv) and held flat after the warm-up;
# - soak-paused-24h: the whole 24 hours of story time at 1 s probes under paused time (CI plays 6);
# - the long property-test run over the parsers and the 10-minute sleep and resume.
#
# Results go to LONG_RUN_OUT (default target/long-run/): the suite's table.md and results.json,
# the soak's samples (soak-realtime.csv, soak-realtime.json) and the whole log (long-run.log).
# It ends with the soaks' start and end figures and their drift lines, for docs/reliability.md.
#
#   scripts/long-run.sh                        # the full long run (about 90 minutes)
#   LONG_RUN_MINUTES=5 scripts/long-run.sh     # a short real-time soak
#   scripts/long-run.sh --only soak            # only the soaks (any suite.py flag passes through)
set -euo pipefail
cd "$(dirname "$0")/.."

minutes="${LONG_RUN_MINUTES:-60}"
if ! [[ "$minutes" =~ ^[0-9]+([.][0-9]+)?$ ]]; then
  echo "long-run: LONG_RUN_MINUTES=$minutes is not a number of minutes" >&2
  exit 2
fi
out="${LONG_RUN_OUT:-$PWD/target/long-run}"
mkdir -p "$out"
export LONG_RUN_MINUTES="$minutes" LONG_RUN_OUT="$out"
# The suite's own bound: the real-time soak, and an hour for every other case.
seconds="$(python3 -c "print(int(float('$minutes') * 60) + 3600)")"

echo "long-run: the fault suite with its long cases, the real-time soak $minutes min; results in $out" >&2
started="$(date -u +%FT%TZ)"
set +e
FAULTS_TIMEOUT="$seconds" tests/faults/run.sh --locked --long --out "$out" "$@" 2>&1 | tee "$out/long-run.log"
status="${PIPESTATUS[0]}"
set -e

python3 - "$out/results.json" "$started" <<'EOF'
import json
import sys

path, started = sys.argv[1], sys.argv[2]
try:
    with open(path) as f:
        run = json.load(f)
except (OSError, ValueError) as error:
    sys.exit(f"long-run: no results in {path}: {error}")
print(f"\nlong-run: started {started}")
for r in run["results"]:
    if not r["case"].startswith("soak"):
        continue
    f = r["figures"]
    print(f"long-run: {r['case']}: {r['outcome']} in {r['seconds']} s")
    if "rss_start_kib" in f:
        print(f"  RSS {f['rss_start_kib'] / 1024:.1f} → {f['rss_end_kib'] / 1024:.1f} MiB, "
              f"fds {f['fds_start']} → {f['fds_end']}, "
              f"db {f['db_start_bytes'] / 2**20:.2f} → {f['db_end_bytes'] / 2**20:.2f} MiB (max {f['db_max_bytes'] / 2**20:.2f})")
    if "soak_drift" in f:
        print(f"  drift: {f['soak_drift']}")
    if r["outcome"] == "failed":
        print(f"  why: {r['why'][:600]}")
t = run["totals"]
print(f"long-run: cases run {t['cases_run']}, passed {t['cases_passed']}, skipped {t['cases_skipped']}")
EOF
exit "$status"
