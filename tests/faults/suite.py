"""The fault and abuse suite: every case is a real process (the CLI, the service, the gateway, the
simulator, or a Rust test binary) under a real fault, with the behaviour it must keep stated
beside it. Prints one table, case by case: outcome and figures, then the totals that
docs/reliability.md publishes (cases run and passed, faults survived, bad inputs tried per parser,
records lost and double-counted, the gateway's p99 under the connection flood, soak drift).

    tests/faults/run.sh                  # every CI case (about 10 minutes on 2 cores at most)
    tests/faults/run.sh --only gateway   # cases whose name contains "gateway"
    tests/faults/run.sh --long           # the long runs too (scripts/long-run.sh calls this)
    tests/faults/run.sh --list           # names and expected behaviour, nothing run

A case lives in tests/faults/cases/NAME.py as `CASES = [Case(...)]`. Its `run(ctx)` does the
fault, checks the expected behaviour, raises `CaseFailed` (or any exception) if it is not kept,
and returns its figures as a dict. Figures with these keys are summed into the totals:
`faults` (faults survived), `inputs` ({parser: count}), `lost`, `double_counted`; and
`flood_p99_ms`, `soak_drift` are carried into the totals as they are.

The table is also written as Markdown to target/faults/table.md and as JSON to
target/faults/results.json, which docs/reliability.md is refreshed from.
"""

import argparse
import dataclasses
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
# Cases share helpers kept beside them in cases/_NAME.py (not cases themselves).
sys.path.insert(0, os.path.join(HERE, "cases"))

from e2e_support import Processes  # noqa: E402

# Cases import this file as `suite`; when it runs as the script, they must get this same module
# (one CaseFailed class), not a second copy.
if __name__ == "__main__":
    sys.modules.setdefault("suite", sys.modules["__main__"])


class CaseFailed(Exception):
    """The case ran, and the behaviour it states was not kept."""


class CaseSkipped(Exception):
    """The fault cannot be made on this machine; the message says why, with the evidence."""


@dataclasses.dataclass
class Case:
    name: str
    expect: str
    run: object
    long: bool = False
    # At most this many seconds; a case over it is stopped and fails.
    timeout: float = 120


class Context:
    """What a case gets: the binaries, a fresh work folder, the child processes (all stopped
    when the case ends), and small measurements of a process."""

    def __init__(self, args, work):
        self.root = os.path.abspath(os.path.join(HERE, "..", ".."))
        self.cli = args.cli
        self.sim = args.sim
        self.long = args.long
        self.cargo_flags = args.cargo_flag or []
        self.work = work
        self.procs = Processes(work)

    def path(self, *parts):
        p = os.path.join(self.work, *parts)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        return p

    def env(self, **extra):
        """A child's environment with no real key or URL of the user's, and HOME, XDG dirs and
        the data dir inside the work folder, so a case never reads or writes the user's files."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_STATUS_", "OPENAI_", "GEMINI_"))}
        home = os.path.join(self.work, "home")
        os.makedirs(home, exist_ok=True)
        env.update(
            HOME=home,
            XDG_CONFIG_HOME=os.path.join(home, ".config"),
            XDG_DATA_HOME=os.path.join(home, ".local", "share"),
            XDG_RUNTIME_DIR=os.path.join(self.work, "run"),
            CLAUDE_CONFIG_DIR=os.path.join(home, ".claude"),
            RUST_BACKTRACE="1",
        )
        os.makedirs(env["XDG_RUNTIME_DIR"], mode=0o700, exist_ok=True)
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def run(self, argv, timeout=60, check=False, **kw):
        """Runs a command to its end within `timeout`; returns the CompletedProcess (text)."""
        kw.setdefault("env", self.env())
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, errors="replace", **kw)
        if check and result.returncode != 0:
            raise CaseFailed(f"{argv[0]} exited {result.returncode}: {result.stderr[-2000:]}")
        return result

    def cargo_test(self, package, test, filter_=None, env=None, timeout=600):
        """Runs one Rust integration test binary (TEST of PACKAGE, with FILTER) and
        returns the figures it printed on lines `FAULT-FIGURES {json}` (merged), raising
        `CaseFailed` when a test fails."""
        # `--workspace` rather than `-p PACKAGE`: the workspace's feature set is the one
        # `cargo test --workspace` built with just before, so nothing is compiled again; with
        # `-p` alone Cargo unifies fewer features and rebuilds shared dependencies for minutes.
        argv = ["cargo", "test", "-q", *self.cargo_flags, "--workspace", "--test", test, "--"]
        if filter_:
            argv.append(filter_)
        argv += ["--nocapture", "--test-threads=1"]
        run_env = dict(os.environ)
        run_env.update(env or {})
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=self.root, env=run_env, errors="replace")
        out = result.stdout + result.stderr
        with open(os.path.join(self.work, f"cargo-{test}.log"), "w") as log:
            log.write(out)
        if result.returncode != 0:
            raise CaseFailed(f"cargo test -p {package} --test {test} {filter_ or ''} failed:\n{out[-3000:]}")
        if not re.search(r"test result: ok\. [1-9]\d* passed", out):
            raise CaseFailed(f"cargo test -p {package} --test {test} {filter_ or ''} ran no test:\n{out[-1500:]}")
        figures = {}
        for line in out.splitlines():
            if line.startswith("FAULT-FIGURES "):
                merge(figures, json.loads(line[len("FAULT-FIGURES "):]))
        return figures


def merge(into, figures):
    for key, value in figures.items():
        if key == "inputs" and isinstance(value, dict):
            slot = into.setdefault("inputs", {})
            for parser, count in value.items():
                slot[parser] = slot.get(parser, 0) + count
        elif key in ("faults", "lost", "double_counted") and isinstance(value, (int, float)):
            into[key] = into.get(key, 0) + value
        else:
            into[key] = value


def rss_kib(pid):
    """Resident set size of a process now, in KiB (VmRSS)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def peak_rss_kib(pid):
    """Peak resident set size of a living process, in KiB (VmHWM)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def load_cases():
    cases = []
    folder = os.path.join(HERE, "cases")
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".py") or name.startswith("_"):
            continue
        spec = importlib.util.spec_from_file_location(f"faults_case_{name[:-3]}", os.path.join(folder, name))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        cases.extend(getattr(module, "CASES", []))
    names = [c.name for c in cases]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise SystemExit(f"faults: case names used twice: {sorted(dupes)}")
    return cases


def show_figures(figures):
    parts = []
    for key, value in figures.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items())
            parts.append(f"{key}: {value}")
        elif isinstance(value, float):
            parts.append(f"{key} {value:.3g}")
        else:
            parts.append(f"{key} {value}")
    return "; ".join(parts)


def run_case(case, args):
    work = tempfile.mkdtemp(prefix=f"fault-{case.name}-", dir=args.work)
    ctx = Context(args, work)
    started = time.monotonic()
    try:
        import signal

        def alarm(*_):
            raise TimeoutError(f"the case ran over its {case.timeout:.0f} s")

        signal.signal(signal.SIGALRM, alarm)
        signal.setitimer(signal.ITIMER_REAL, case.timeout)
        try:
            figures = case.run(ctx) or {}
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        outcome, why = "passed", ""
    except CaseSkipped as skipped:
        outcome, why, figures = "skipped", str(skipped), {}
    except Exception as error:  # noqa: BLE001 - any error is the case's failure, reported.
        outcome, figures = "failed", {}
        why = f"{type(error).__name__}: {error}"
        if not isinstance(error, CaseFailed):
            why += "\n" + traceback.format_exc(limit=6)
    finally:
        try:
            ctx.procs.stop_all()
        except Exception:  # noqa: BLE001 - stopping must never hide the outcome.
            pass
    seconds = time.monotonic() - started
    if outcome == "passed" and not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "case": case.name,
        "expect": case.expect,
        "outcome": outcome,
        "why": why,
        "seconds": round(seconds, 1),
        "figures": figures,
        "work": work,
        "long": case.long,
    }


def totals(results):
    total = {"cases_run": 0, "cases_passed": 0, "cases_skipped": 0, "faults": 0, "inputs": {}, "lost": 0, "double_counted": 0}
    for r in results:
        if r["outcome"] == "skipped":
            total["cases_skipped"] += 1
            continue
        total["cases_run"] += 1
        if r["outcome"] == "passed":
            total["cases_passed"] += 1
            f = r["figures"]
            total["faults"] += f.get("faults", 0)
            for parser, count in f.get("inputs", {}).items():
                total["inputs"][parser] = total["inputs"].get(parser, 0) + count
            total["lost"] += f.get("lost", 0)
            total["double_counted"] += f.get("double_counted", 0)
            for key in ("flood_p99_ms", "soak_drift"):
                if key in f:
                    total[key] = f[key]
    return total


def markdown(results, total):
    lines = ["| case | expected | outcome | figures |", "|---|---|---|---|"]
    for r in results:
        outcome = r["outcome"] if r["outcome"] != "skipped" else f"skipped: {r['why']}"
        lines.append(f"| `{r['case']}` | {r['expect']} | {outcome} ({r['seconds']} s) | {show_figures(r['figures'])} |")
    lines.append("")
    lines.append(
        f"Cases run {total['cases_run']}, passed {total['cases_passed']}, skipped {total['cases_skipped']}; "
        f"faults survived {total['faults']}; records lost {total['lost']}, double-counted {total['double_counted']}."
    )
    if total["inputs"]:
        lines.append("Bad inputs tried per parser: " + ", ".join(f"{k} {v}" for k, v in sorted(total["inputs"].items())) + ".")
    if "flood_p99_ms" in total:
        lines.append(f"Gateway p99 under the connection flood: {total['flood_p99_ms']} ms.")
    if "soak_drift" in total:
        lines.append(f"Soak drift: {total['soak_drift']}.")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cli", required=True)
    parser.add_argument("--sim", required=True)
    parser.add_argument("--only", action="append", help="run only cases whose name contains this (repeatable)")
    parser.add_argument("--long", action="store_true", help="run the long cases too")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep every case's work folder")
    parser.add_argument("--cargo-flag", action="append", help="passed to cargo (--locked)")
    parser.add_argument("--out", default=None, help="folder for table.md and results.json")
    parser.add_argument("--work", default=None)
    args = parser.parse_args()

    cases = load_cases()
    chosen = [c for c in cases if (args.long or not c.long) and (not args.only or any(o in c.name for o in args.only))]
    if args.list:
        for c in cases:
            print(f"{c.name}{' (long)' if c.long else ''}: {c.expect}")
        return 0
    root = os.path.abspath(os.path.join(HERE, "..", ".."))
    out = args.out or os.path.join(root, "target", "faults")
    os.makedirs(out, exist_ok=True)
    args.work = args.work or tempfile.mkdtemp(prefix="faults-")
    results = []
    for case in chosen:
        print(f"faults: {case.name} …", file=sys.stderr, flush=True)
        result = run_case(case, args)
        results.append(result)
        print(f"faults: {case.name}: {result['outcome']} in {result['seconds']} s {show_figures(result['figures'])}", file=sys.stderr, flush=True)
        if result["outcome"] == "failed":
            print(f"faults: {case.name}: {result['why']}\n  (work folder {result['work']})", file=sys.stderr, flush=True)
    total = totals(results)
    table = markdown(results, total)
    with open(os.path.join(out, "table.md"), "w") as f:
        f.write(table)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"results": results, "totals": total, "long": args.long}, f, indent=1)
    print(table)
    failed = total["cases_run"] - total["cases_passed"]
    print(f"faults: {total['cases_passed']} passed, {failed} failed, {total['cases_skipped']} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
