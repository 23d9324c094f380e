#!/usr/bin/env bash
# The UI's npm supply chain, offline (issue 16, item 9): what can be checked from
# ui/package-lock.json without the registry's audit service, which CI cannot reach (the registry
# answers its advisories endpoint with 405 and its signing keys with 404 here, so `npm audit` and
# `npm audit signatures` are left out; run `cd ui && npm audit --omit=dev` where they answer).
#
# - every package in the lock has a sha512 integrity hash, so `npm ci` refuses a changed tarball;
# - every package's license is on the allow-list (the same permissive set as deny.toml's);
# - what ships in the app (the lock's non-dev packages) is exactly package.json's dependencies,
#   pinned to one version each, and none of it runs an install script.
set -euo pipefail
cd "$(dirname "$0")/../ui"

python3 - <<'EOF'
import json
import re
import sys

ALLOWED = {"MIT", "MIT-0", "ISC", "BSD-2-Clause", "BSD-3-Clause", "0BSD", "Apache-2.0", "Unlicense", "CC0-1.0"}

with open("package.json") as f:
    manifest = json.load(f)
with open("package-lock.json") as f:
    lock = json.load(f)
if lock.get("lockfileVersion") != 3:
    sys.exit(f"check-npm: package-lock.json is lockfile version {lock.get('lockfileVersion')}, expected 3")

problems = []
packages = {path: meta for path, meta in lock["packages"].items() if path}
for path, meta in sorted(packages.items()):
    if meta.get("link"):
        problems.append(f"{path} is a link, not a registry package")
        continue
    if not str(meta.get("integrity", "")).startswith("sha512-"):
        problems.append(f"{path} has no sha512 integrity hash")
    license = meta.get("license")
    # An SPDX expression passes when every license it names is allowed (OR and AND alike, which is
    # stricter than needed for OR).
    names = set(re.findall(r"[A-Za-z0-9.+-]+", str(license or ""))) - {"OR", "AND", "WITH"}
    if not names or not names <= ALLOWED:
        problems.append(f"{path} is licensed {license!r}, not on the allow-list")

shipped = {path.removeprefix("node_modules/"): meta for path, meta in packages.items() if not meta.get("dev")}
wanted = manifest.get("dependencies", {})
if set(shipped) != set(wanted):
    problems.append(f"the shipped packages {sorted(shipped)} are not package.json's dependencies {sorted(wanted)}")
for name, spec in wanted.items():
    if not re.fullmatch(r"\d+\.\d+\.\d+", spec):
        problems.append(f"dependency {name} is {spec!r}, not one pinned version")
    elif name in shipped and shipped[name].get("version") != spec:
        problems.append(f"dependency {name} is locked at {shipped[name].get('version')}, package.json says {spec}")
for name, meta in shipped.items():
    if meta.get("hasInstallScript"):
        problems.append(f"shipped package {name} runs an install script")

if problems:
    print("check-npm: " + "\n check-npm: ".join(problems), file=sys.stderr)
    sys.exit(1)
listed = ", ".join(f"{name}@{meta['version']}" for name, meta in sorted(shipped.items()))
print(f"check-npm: {len(packages)} packages with sha512 hashes and allowed licenses; shipped: {listed}, no install scripts")
EOF
