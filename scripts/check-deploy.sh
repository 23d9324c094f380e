#!/usr/bin/env bash
# Checks the monitoring files in deploy/ with the tools that will read them: promtool checks and
# unit-tests the Prometheus rules and checks the example Prometheus configuration, amtool checks
# the example Alertmanager configuration and where it routes each severity, every PromQL
# expression of the Grafana dashboard is parsed by promtool, every series the rules and the
# dashboard use must be one docs/team.md lists (the exporter's contract), and systemd-analyze
# verifies the system unit. Takes a few seconds; scripts/test.sh runs it in CI.
#
# Needs promtool (Debian's `prometheus`), amtool (`prometheus-alertmanager`), systemd-analyze
# (`systemd`) and python3; scripts/setup.sh installs them with the test packages.
set -euo pipefail
cd "$(dirname "$0")/.."

RULES=deploy/prometheus/claude-status.rules.yml
RULE_TESTS=deploy/prometheus/claude-status.rules.test.yml
PROMETHEUS_CONFIG=deploy/prometheus/prometheus.yml
ALERTMANAGER_CONFIG=deploy/alertmanager/alertmanager.yml
DASHBOARD=deploy/grafana/claude-status.json
UNIT=deploy/systemd/claude-status.service
SETTINGS=deploy/systemd/settings.json
DOCS=docs/team.md

fail() {
  echo "check-deploy: $*" >&2
  exit 1
}

need() {
  command -v "$1" >/dev/null 2>&1 ||
    fail "$1 is missing: install the Debian package $2 (scripts/setup.sh installs it with the test packages)"
}
need promtool prometheus
need amtool prometheus-alertmanager
need systemd-analyze systemd
need python3 python3

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

echo "--> promtool check rules $RULES"
promtool check rules "$RULES"
echo "--> promtool test rules $RULE_TESTS"
promtool test rules "$RULE_TESTS"
echo "--> promtool check config $PROMETHEUS_CONFIG"
promtool check config "$PROMETHEUS_CONFIG"

echo "--> amtool check-config $ALERTMANAGER_CONFIG"
amtool check-config "$ALERTMANAGER_CONFIG"
# Where each severity goes is the part of the example people rely on, so it is checked too.
check_route() {
  local severity=$1 expected=$2 got
  got=$(amtool config routes test --config.file="$ALERTMANAGER_CONFIG" \
    "severity=$severity" alertname=ClaudeAPIOverloaded 2>/dev/null)
  [ "$got" = "$expected" ] ||
    fail "$ALERTMANAGER_CONFIG routes a $severity alert to '$got', expected '$expected'"
  echo "    $severity alerts go to $got"
}
check_route critical webhook,pagerduty,slack
check_route warning webhook,slack

echo "--> the Grafana dashboard: its structure and every PromQL expression in it"
# The dashboard's expressions become recording rules of a throwaway rules file, which promtool
# parses; Grafana's variables are replaced by values of the same kind first.
python3 - "$DASHBOARD" "$scratch/dashboard.rules.yml" <<'PYTHON'
import json, re, sys

path, rules_path = sys.argv[1], sys.argv[2]
with open(path, encoding="utf-8") as f:
    dashboard = json.load(f)
problems = []
if not 36 <= dashboard.get("schemaVersion", 0) <= 41:
    problems.append(f"schemaVersion is {dashboard.get('schemaVersion')}, expected about 39")
if [i.get("name") for i in dashboard.get("__inputs", [])] != ["DS_PROMETHEUS"]:
    problems.append("__inputs must hold exactly the DS_PROMETHEUS datasource input")

expressions = []  # (where, PromQL)
panel_ids = []

def walk(node, where):
    if isinstance(node, dict):
        if "datasource" in node and isinstance(node["datasource"], dict):
            uid = node["datasource"].get("uid")
            if uid not in ("${DS_PROMETHEUS}", "-- Grafana --"):
                problems.append(f"{where}: datasource uid {uid!r} is not ${{DS_PROMETHEUS}}")
        if isinstance(node.get("expr"), str):
            expressions.append((where, node["expr"]))
        for key, value in node.items():
            walk(value, where)
    elif isinstance(node, list):
        for item in node:
            walk(item, where)

for panel in dashboard.get("panels", []):
    panel_ids.append(panel.get("id"))
    walk(panel, f"panel {panel.get('title')!r}")
walk(dashboard.get("annotations", {}), "annotations")
duplicates = sorted({i for i in panel_ids if panel_ids.count(i) > 1})
if duplicates:
    problems.append(f"panel ids used twice: {duplicates}")

variables = {v["name"]: v for v in dashboard.get("templating", {}).get("list", [])}
model = variables.get("model")
if not model or "label_values(claude_status_model_level" not in model.get("definition", ""):
    problems.append("the `model` variable must come from label_values(claude_status_model_level, model)")
for name, variable in variables.items():
    query = variable.get("definition", "")
    match = re.fullmatch(r"label_values\((.+), *\w+\)", query)
    if not match:
        problems.append(f"variable {name}: {query!r} is not label_values(SELECTOR, LABEL)")
        continue
    walk(variable, f"variable {name}")
    expressions.append((f"variable {name}", f"count({match.group(1)})"))

# Grafana's variables: a label matcher's regex, and a range.
substitutions = {"$instance": ".*", "$model": ".*", "$__rate_interval": "5m"}
rules = []
places = []  # which record name stands for which panel's expression, for the error message
for number, (where, expr) in enumerate(expressions):
    for variable, value in substitutions.items():
        expr = expr.replace(variable, value)
    if "$" in expr:
        problems.append(f"{where}: a Grafana variable this check does not know: {expr!r}")
        continue
    rules.append({"record": f"dashboard:expression_{number}", "expr": expr})
    places.append(f"dashboard:expression_{number} is in {where}: {expr}")

if problems:
    sys.exit("check-deploy: " + path + ":\n  " + "\n  ".join(problems))
with open(rules_path, "w", encoding="utf-8") as f:
    # JSON is YAML, so promtool reads this file as it is.
    json.dump({"groups": [{"name": "dashboard", "rules": rules}]}, f, indent=1)
with open(rules_path + ".places", "w", encoding="utf-8") as f:
    f.write("\n".join(places) + "\n")
print(f"    {len(panel_ids)} panels and rows, {len(rules)} expressions")
PYTHON
promtool check rules "$scratch/dashboard.rules.yml" >"$scratch/dashboard.out" 2>&1 || {
  cat "$scratch/dashboard.out" >&2
  # promtool names the throwaway record; say which panel's expression that is.
  grep -oE 'dashboard:expression_[0-9]+' "$scratch/dashboard.out" | sort -u | while read -r record; do
    grep -F "$record is in " "$scratch/dashboard.rules.yml.places" >&2 || true
  done
  fail "$DASHBOARD holds an expression promtool cannot parse"
}
echo "    promtool parses every one"

echo "--> every series the rules and the dashboard use is one $DOCS lists, and the dashboard shows each"
python3 - "$DOCS" "$RULES" "$DASHBOARD" <<'PYTHON'
import json, re, sys

docs_path, rules_path, dashboard_path = sys.argv[1:]
with open(docs_path, encoding="utf-8") as f:
    # The series table: one row per series, its name in backticks in the first column.
    documented = set(re.findall(r"^\| `(claude_status_[a-z0-9_]+)`", f.read(), re.MULTILINE))
if len(documented) < 10:
    sys.exit(f"check-deploy: {docs_path} lists {len(documented)} series in its table; expected the whole list")

# A series name that is not part of a recorded name (those hold colons).
name = re.compile(r"(?<![\w:])claude_status_[a-z0-9_]+(?![\w:])")

def used_in(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    found = set()
    for series in name.findall(text):
        base = re.sub(r"_(bucket|count|sum)$", "", series)
        found.add(base if base in documented else series)
    return found

problems = []
on_dashboard = set()
for path in (rules_path, dashboard_path):
    used = used_in(path)
    if path == dashboard_path:
        on_dashboard = used
    for series in sorted(used - documented):
        problems.append(f"{path} uses {series}, which {docs_path} does not list")
for series in sorted(documented - on_dashboard):
    problems.append(f"{dashboard_path} shows nothing of {series}")
if problems:
    sys.exit("check-deploy:\n  " + "\n  ".join(problems))
print(f"    {len(documented)} series documented, all shown")
PYTHON

echo "--> $SETTINGS is JSON with the team server's settings"
python3 - "$SETTINGS" <<'PYTHON'
import json, sys

with open(sys.argv[1], encoding="utf-8") as f:
    settings = json.load(f)
# What makes the gateway and the metrics reachable from other machines; the service validates
# the rest, and a file it cannot use would silently give a server with neither.
ok = (settings.get("gateway") is True and settings.get("allow_remote") is True
      and settings.get("gateway_bind") == "0.0.0.0"
      and isinstance(settings.get("gateway_port"), int) and 1024 <= settings["gateway_port"] <= 65535
      and str(settings.get("metrics_addr", "")).startswith("0.0.0.0:"))
if not ok:
    sys.exit(f"check-deploy: {sys.argv[1]} must set gateway, gateway_bind, gateway_port, metrics_addr and allow_remote for other machines: {settings}")
PYTHON

echo "--> systemd-analyze verify $UNIT"
# verify insists that ExecStart's program exists, so a copy of the unit runs a stub instead of
# /usr/local/bin/claude-status. --recursive-errors=no keeps the machine's own units out of the exit
# status, so any warning about this unit fails the check.
mkdir -p "$scratch/bin" "$scratch/good" "$scratch/broken"
printf '#!/bin/sh\nexit 0\n' >"$scratch/bin/claude-status"
chmod 0755 "$scratch/bin/claude-status"
sed "s|/usr/local/bin/claude-status|$scratch/bin/claude-status|g" "$UNIT" >"$scratch/good/claude-status.service"
grep -q "^ExecStart=$scratch/bin/claude-status service run\$" "$scratch/good/claude-status.service" ||
  fail "$UNIT does not run /usr/local/bin/claude-status service run"
verify() {
  systemd-analyze --recursive-errors=no --man=no verify "$1" >"$scratch/verify.out" 2>&1
}
verify "$scratch/good/claude-status.service" || {
  cat "$scratch/verify.out" >&2
  fail "systemd-analyze finds fault with $UNIT"
}
# The same check must flag a broken unit, or its silence above would mean nothing.
sed 's/^Restart=on-failure$/Restart=sometimes/' "$scratch/good/claude-status.service" \
  >"$scratch/broken/claude-status.service"
if verify "$scratch/broken/claude-status.service"; then
  fail "systemd-analyze verify accepted a unit with Restart=sometimes, so it checks nothing here"
fi
echo "    the unit verifies, and a broken copy does not"

echo "deploy/: all checks passed"
