#!/usr/bin/env python3
"""Takes the bundled snapshot of LiteLLM's model price table: crates/core/data/litellm-prices.json.

LiteLLM ships its table (the one ccusage prices from) inside its PyPI wheel as
`litellm/model_prices_and_context_window_backup.json`. This script downloads the wheel of one
pinned version with `pip download`, extracts that file, keeps the rows Claude Status uses and
writes them with where they came from:

    {"source": {"package": "litellm", "version": ..., "file": ..., "sha256": ..., "taken": ...},
     "models": {key: row}}

Rows kept: every row whose `litellm_provider` is `anthropic`, and the `openai` and `gemini` rows
whose `mode` is `chat` (a later issue prices other providers' models). Only the price and context
fields are kept, verbatim and under LiteLLM's own names; the same filter is in
crates/core/src/price_table.rs (`KEPT_FIELDS`), which reads both this file and the upstream table.

Usage:
    python3 scripts/update-prices.py                  # litellm 1.110.2, today's date
    python3 scripts/update-prices.py --version 1.111.0
    python3 scripts/update-prices.py --wheel path/to/litellm.whl   # no download
"""

import argparse
import datetime
import glob
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile

DEFAULT_VERSION = "1.110.2"
TABLE_IN_WHEEL = "litellm/model_prices_and_context_window_backup.json"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTPUT = os.path.join(ROOT, "crates", "core", "data", "litellm-prices.json")

# The fields Claude Status reads, under LiteLLM's names. Keep in step with KEPT_FIELDS in
# crates/core/src/price_table.rs.
KEPT_FIELDS = {
    "input_cost_per_token",
    "output_cost_per_token",
    "cache_read_input_token_cost",
    "cache_creation_input_token_cost",
    "cache_creation_input_token_cost_above_1hr",
    "max_input_tokens",
    "max_output_tokens",
    "litellm_provider",
    "mode",
    "deprecation_date",
}
# The long-context tiers: the same prices for a request whose input is above N thousand tokens
# (`input_cost_per_token_above_200k_tokens`, `…_above_100k_tokens`).
TIER_FIELD = re.compile(
    r"^(input_cost_per_token|output_cost_per_token|cache_read_input_token_cost|"
    r"cache_creation_input_token_cost|cache_creation_input_token_cost_above_1hr)"
    r"_above_\d+k_tokens$"
)


def kept_field(name):
    return name in KEPT_FIELDS or TIER_FIELD.match(name) is not None


def kept_row(row):
    if not isinstance(row, dict):
        return False
    provider = row.get("litellm_provider")
    if provider == "anthropic":
        return True
    return provider in ("openai", "gemini") and row.get("mode") == "chat"


def download_wheel(version, folder):
    """Downloads the wheel with pip (no dependencies) and returns its path."""
    command = [
        sys.executable, "-m", "pip", "download", f"litellm=={version}",
        "--no-deps", "--only-binary", ":all:", "-d", folder, "--quiet",
    ]
    subprocess.run(command, check=True, timeout=600)
    wheels = glob.glob(os.path.join(folder, f"litellm-{version}-*.whl"))
    if not wheels:
        sys.exit(f"pip download gave no wheel of litellm {version} in {folder}")
    return wheels[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--version", default=DEFAULT_VERSION, help="litellm version (default %(default)s)")
    parser.add_argument("--wheel", help="use this wheel instead of downloading one")
    parser.add_argument("--output", default=OUTPUT, help="where to write (default: the bundled file)")
    parser.add_argument("--taken", help="the date to record, YYYY-MM-DD (default: today, UTC)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        wheel = args.wheel or download_wheel(args.version, folder)
        with zipfile.ZipFile(wheel) as archive:
            raw = archive.read(TABLE_IN_WHEEL)
    table = json.loads(raw)
    if not isinstance(table, dict):
        sys.exit(f"{TABLE_IN_WHEEL} is not a JSON object")

    models = {}
    for key in sorted(table):
        row = table[key]
        if kept_row(row):
            models[key] = {name: row[name] for name in sorted(row) if kept_field(name)}
    claude = sum(1 for row in models.values() if row.get("litellm_provider") == "anthropic")
    if claude == 0:
        sys.exit("the table has no anthropic rows: refusing to write an empty snapshot")

    taken = args.taken or datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    snapshot = {
        "source": {
            "package": "litellm",
            "version": args.version,
            "file": TABLE_IN_WHEEL,
            "sha256": hashlib.sha256(raw).hexdigest(),
            "taken": taken,
        },
        "models": models,
    }
    with open(args.output + ".tmp", "w", encoding="utf-8") as out:
        json.dump(snapshot, out, indent=1, sort_keys=False)
        out.write("\n")
    os.replace(args.output + ".tmp", args.output)
    print(
        f"wrote {args.output}: litellm {args.version}, {claude} anthropic rows, "
        f"{len(models) - claude} openai/gemini chat rows, taken {taken}"
    )


if __name__ == "__main__":
    main()
