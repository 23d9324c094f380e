#!/usr/bin/env python3
"""Compares our cost of a request with the real Claude Code's own estimate, for every current model.

Issue 13's figure "costs equal to Claude Code 2.1.328's own estimate, to 1 %, for every current
model in H5 where the two sources agree", measured as a new user would meet it
(../shared/reference/claude-code.md H1 and H5):

1. The simulator (`claude-status-sim --scenario healthy`) and our gateway (`claude-status proxy
   --port 0 --upstream <sim> --json-lines --no-history`) start on 127.0.0.1.
2. For each model, one realistic request: `claude -p "say hi" --output-format json --model M`
   (Claude Code 2.1.328 from tests/claude_code/install.sh) with only H1's environment and a
   throwaway HOME of its own, through the gateway. Claude Code's answer gives its own estimate,
   `modelUsage[M].costUSD` and `total_cost_usd`; the gateway's record gives the model id Claude
   Code actually sent (H1: it maps retired ids onto a current one).
3. Our cost of the same request: `claude-status usage session --json` reads the transcript Claude
   Code wrote in that HOME's ~/.claude/projects, with a fresh CLAUDE_STATUS_DATA_DIR and a
   CLAUDE_STATUS_SOCKET that points nowhere, so no running service is used.
4. A table: model, Claude Code $, ours $, the difference, our price source when the usage JSON
   names one ("—" otherwise), and a verdict; then "N of M models equal to Claude Code within 1 %".

It also says which build it measured (git log -1, `git status --short crates/core`, and whether
the binaries are older than the newest file of crates/core), which models the simulator's
`/v1/models` does not list, and any request whose tokens differ between the two sides.

Usage:
    scripts/compare-claude-code-prices.py                     # the release binaries as built
    scripts/compare-claude-code-prices.py --build             # cargo build --release --locked first
    scripts/compare-claude-code-prices.py --models claude-haiku-5-5,claude-sonnet-4-5
    scripts/compare-claude-code-prices.py --json target/claude_code/prices.json --keep

Everything listens on 127.0.0.1 and nothing reaches the internet (installing Claude Code the first
time downloads it from npm, as tests/claude_code/install.sh says). Every wait is bounded
(--timeout a step). It exits 0 whatever it measured; a rig that could not start is said on stderr
and in the summary line. Standard library only.
"""

import argparse
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
INSTALL = os.path.join(ROOT, "tests", "claude_code", "install.sh")
CLAUDE_CODE_VERSION = "2.1.328"
# Any short sk-ant- string: only the simulator ever sees it.
DUMMY_KEY = "sk-ant-test-prices"
PROMPT = "say hi"
TOLERANCE = 0.01

# H5's current models, in its order.
MODELS = [
    "claude-opus-5-5", "claude-opus-5", "claude-opus-4-8", "claude-opus-4-7", "claude-opus-4-6",
    "claude-opus-4-5", "claude-sonnet-5-5", "claude-sonnet-5", "claude-sonnet-4-6",
    "claude-sonnet-4-5", "claude-haiku-5-5", "claude-haiku-4-5", "claude-fable-5-2",
    "claude-mythos-5-2", "claude-fable-5-1", "claude-mythos-5-1", "claude-fable-5",
    "claude-mythos-5",
]
# The model whose two sources H5 lists as disagreeing.
DISAGREEING = "claude-haiku-5-5"
# H5's two columns, USD per million tokens: input, output, cache read, 5-minute write, 1-hour
# write. None: LiteLLM lacks the model. Used only to say which column a differing cost matches.
_OPUS = (5, 25, 0.5, 6.25, 10)
_SONNET_4 = (3, 15, 0.3, 3.75, 6)
_FABLE_5_2 = (8, 40, 0.2, 10, 16)
_FABLE_5_1 = (10, 50, 0.25, 12.5, 20)
_FABLE_5 = (10, 50, 1, 12.5, 20)
H5 = {
    "claude-opus-5-5": ((4, 20, 0.2, 5, 8), (4, 20, 0.2, 5, 8)),
    "claude-opus-5": (_OPUS, _OPUS),
    "claude-opus-4-8": (_OPUS, _OPUS),
    "claude-opus-4-7": (_OPUS, _OPUS),
    "claude-opus-4-6": (_OPUS, _OPUS),
    "claude-opus-4-5": (_OPUS, _OPUS),
    "claude-sonnet-5-5": ((2, 10, 0.1, 2.5, 4), (2, 10, 0.1, 2.5, 4)),
    "claude-sonnet-5": ((2, 10, 0.2, 2.5, 4), (2, 10, 0.2, 2.5, 4)),
    "claude-sonnet-4-6": (_SONNET_4, _SONNET_4),
    "claude-sonnet-4-5": (_SONNET_4, _SONNET_4),
    "claude-haiku-5-5": ((0.5, 0.5, 0.05, 0.625, 1), (0.1, 0.5, 0.01, 0.125, 0.2)),
    "claude-haiku-4-5": ((1, 5, 0.1, 1.25, 2), (1, 5, 0.1, 1.25, 2)),
    "claude-fable-5-2": (_FABLE_5_2, None),
    "claude-mythos-5-2": (_FABLE_5_2, None),
    "claude-fable-5-1": (_FABLE_5_1, _FABLE_5_1),
    "claude-mythos-5-1": (_FABLE_5_1, _FABLE_5_1),
    "claude-fable-5": (_FABLE_5, _FABLE_5),
    "claude-mythos-5": (_FABLE_5, _FABLE_5),
}


class RigError(Exception):
    """The rig itself could not run (a binary missing, a server that did not start)."""


def log(message):
    print(f"compare-claude-code-prices: {message}", file=sys.stderr, flush=True)


def stop_process(proc, first=signal.SIGTERM, grace=5.0):
    """Ends one process this script started, and its own process group, by its pid."""
    if proc is None or proc.poll() is not None:
        return
    for sig in (first, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            proc.send_signal(sig)
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def lines_of(stream):
    """A queue that receives every line of a pipe, read on a thread so no read ever blocks us."""
    out = queue.Queue()

    def pump():
        for line in iter(stream.readline, ""):
            out.put(line)
        out.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return out


def next_line(lines, seconds):
    """The next line of `lines_of`, or None when none came within `seconds` or the pipe ended."""
    try:
        return lines.get(timeout=seconds)
    except queue.Empty:
        return None


def run(argv, env, timeout, cwd=None):
    """One command to its end within `timeout` s: (status or None on timeout, stdout, stderr, s)."""
    started = time.time()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, out, err, time.time() - started
    except subprocess.TimeoutExpired:
        stop_process(proc)
        out, err = proc.communicate(timeout=10)
        return None, out or "", err or "", time.time() - started


def git(*args):
    try:
        result = subprocess.run(["git", "-C", ROOT, *args], capture_output=True, text=True,
                                timeout=30)
    except (OSError, subprocess.SubprocessError) as error:
        return f"(git failed: {error})"
    return result.stdout.rstrip() if result.returncode == 0 else f"(git: {result.stderr.strip()})"


def newest_file(folder):
    """(mtime, path) of the newest file below `folder`, skipping nothing but missing ones."""
    newest = (0.0, "")
    for base, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(base, name)
            try:
                newest = max(newest, (os.path.getmtime(path), path))
            except OSError:
                continue
    return newest


def build_info(args):
    """What was measured: the commit, crates/core's uncommitted changes, the binaries' age."""
    lines = [f"commit: {git('log', '-1', '--format=%h %ad %s', '--date=iso')}"]
    status = git("status", "--short", "crates/core")
    lines.append("git status --short crates/core: " + ("(clean)" if not status else ""))
    lines.extend(f"  {line}" for line in status.splitlines())
    # The prices live in what `claude-status` is compiled from (the simulator prices nothing), so
    # only that binary is compared with its sources' newest file.
    newest = max(newest_file(os.path.join(ROOT, "crates", crate, part))
                 for crate in ("core", "engine", "cli") for part in ("src", "data"))
    for binary in (args.cli, args.sim):
        try:
            mtime = os.path.getmtime(binary)
        except OSError:
            continue
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(mtime))
        stale = ""
        if binary == args.cli and newest[0] > mtime:
            stale = (f" (OLDER than {os.path.relpath(newest[1], ROOT)}, changed "
                     f"{time.strftime('%H:%M:%S', time.localtime(newest[0]))}: rebuild to "
                     f"measure the working tree)")
        lines.append(f"{os.path.relpath(binary, ROOT)} built {when}{stale}")
    return lines


def build():
    argv = ["cargo", "build", "--release", "--locked", "-p", "claude-status-cli", "-p",
            "claude-status-simulator"]
    log(" ".join(argv) + " (waits on the build lock if another build holds it)")
    started = time.time()
    # An hour at most: a cold release build here takes a few minutes, a held lock longer.
    result = subprocess.run(argv, cwd=ROOT, stdin=subprocess.DEVNULL, timeout=3600)
    if result.returncode != 0:
        raise RigError(f"the build failed with status {result.returncode}")
    log(f"built in {time.time() - started:.0f} s")


def find_claude(timeout):
    """Claude Code's binary, installed by tests/claude_code/install.sh when it is not yet."""
    try:
        result = subprocess.run(["bash", INSTALL], capture_output=True, text=True,
                                timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise RigError(f"{INSTALL} took over {timeout:.0f} s") from None
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        raise RigError(f"{INSTALL} failed: {result.stderr.strip()[-500:]}")
    return lines[-1]


class Sim:
    """claude-status-sim, scenario healthy, on an ephemeral port of 127.0.0.1."""

    def __init__(self, binary, work_dir, timeout):
        self.log = open(os.path.join(work_dir, "sim.log"), "w")
        self.proc = subprocess.Popen(
            [binary, "--scenario", "healthy", "--host", "127.0.0.1", "--port", "0"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.log, text=True,
            start_new_session=True)
        line = next_line(lines_of(self.proc.stdout), timeout)
        if not line or not line.startswith("listening on "):
            self.stop()
            raise RigError(f"the simulator did not start (its first line: {line!r})")
        self.url = line.split()[-1]

    def listed_models(self):
        """The ids `/v1/models` lists (one page of up to 1000), or None when it would not say."""
        request = urllib.request.Request(f"{self.url}/v1/models?limit=1000", headers={
            "x-api-key": DUMMY_KEY, "anthropic-version": "2023-06-01"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                body = json.loads(response.read(1 << 20))
        except (OSError, ValueError):
            return None
        return [model.get("id") for model in body.get("data", [])]

    def stop(self):
        stop_process(self.proc)
        self.log.close()


class Gateway:
    """`claude-status proxy` on an ephemeral port of 127.0.0.1, printing each record as JSON."""

    def __init__(self, cli, upstream, work_dir, timeout, run_for):
        env = base_env(os.path.join(work_dir, "gateway-home"))
        env["CLAUDE_STATUS_DATA_DIR"] = os.path.join(work_dir, "gateway-data")
        env["CLAUDE_STATUS_SOCKET"] = os.path.join(work_dir, "no-service.sock")
        self.err = open(os.path.join(work_dir, "gateway.log"), "w")
        self.proc = subprocess.Popen(
            [cli, "proxy", "--port", "0", "--bind", "127.0.0.1", "--upstream", upstream,
             "--json-lines", "--no-history", "--for", f"{int(run_for)}s"],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.err,
            text=True, start_new_session=True)
        self.lines = lines_of(self.proc.stdout)
        first = next_line(self.lines, timeout)
        found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", first or "")
        if not found:
            self.stop()
            raise RigError(f"the gateway did not start (its first line: {first!r})")
        self.url = found.group(1)
        # The two lines of advice that follow the first.
        for _ in range(2):
            next_line(self.lines, 5)

    def records(self, settle):
        """The records printed since the last call: waits `settle` s for the first, then drains."""
        out = []
        line = next_line(self.lines, settle)
        while line:
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
            line = next_line(self.lines, 0.3)
        return out

    def stop(self):
        # Ctrl-C is its own way to end: it prints its summary on stderr.
        stop_process(self.proc, first=signal.SIGINT)
        self.err.close()


def base_env(home):
    """The environment every child starts with: nothing of ours, a HOME of its own."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home,
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "XDG_CONFIG_HOME": os.path.join(home, ".config"),
        "XDG_CACHE_HOME": os.path.join(home, ".cache"),
        "XDG_DATA_HOME": os.path.join(home, ".local", "share"),
    }


def h5_cost(prices, tokens):
    """The cost of `tokens` (input, output, cache read, 5 m write, 1 h write) at H5's prices."""
    return sum(count * price for count, price in zip(tokens, prices)) / 1e6


def source_of(row, report, model):
    """Our price source, if the usage JSON names one anywhere (a key with "source" in it)."""
    found = []

    def words(value):
        if isinstance(value, str):
            return [value]
        if isinstance(value, dict):
            if model in value:
                return words(value[model])
            for key in ("label", "name", "kind"):
                if isinstance(value.get(key), str):
                    return [value[key]]
            return [w for inner in value.values() for w in words(inner)]
        if isinstance(value, list):
            return [w for inner in value for w in words(inner)]
        return []

    def walk(value):
        if isinstance(value, dict):
            for key, inner in value.items():
                if "source" in key.lower():
                    found.extend(words(inner))
                else:
                    walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    for scope in (row, report.get("totals") or {},
                  {k: v for k, v in report.items() if k not in ("sessions", "totals")}):
        walk(scope)
        if found:
            break
    unique = list(dict.fromkeys(w for w in found if w))
    return "; ".join(unique) if unique else "—"


class Measurement:
    """One model's request: what Claude Code said, what the gateway saw, what we computed."""

    def __init__(self, model):
        self.model = model
        self.sent = []
        self.cc_cost = None
        self.cc_total = None
        self.cc_priced_as = None
        self.cc_tokens = None
        self.cc_error = None
        self.ours = None
        self.ours_unknown = False
        self.ours_tokens = None
        self.ours_models = []
        self.ours_error = None
        self.source = "—"
        self.note_lines = []
        self.cc_seconds = 0.0
        self.usage_seconds = 0.0

    @property
    def difference(self):
        if self.cc_cost is None or self.ours is None:
            return None
        if self.cc_cost == 0:
            return 0.0 if self.ours == 0 else float("inf")
        return (self.ours - self.cc_cost) / self.cc_cost

    @property
    def equal(self):
        diff = self.difference
        return (diff is not None and not self.ours_unknown and self.cc_error is None
                and abs(diff) <= TOLERANCE + 1e-12)

    def verdict(self):
        if self.cc_error:
            return f"not measured: {self.cc_error}"
        if self.ours_error:
            return f"no figure of ours: {self.ours_error}"
        if self.ours_unknown:
            return "price unknown"
        if self.model == DISAGREEING:
            # H5's columns for it are 1M-token requests, above its 100K long-context tier; below
            # it both sources price the same (crates/core/data/prices.json, its note).
            if self.equal:
                return "equal (≤1 %; H5's apparent disagreement is the above-100K tier)"
            return "DIFFERS (see the note of claude-haiku-5-5 in crates/core/data/prices.json)"
        return "equal (≤1 %)" if self.equal else "differs"


def measure(model, args, claude, gateway, work_dir):
    """One request for `model` through the gateway, then our cost of it from the transcript."""
    m = Measurement(model)
    root = os.path.join(work_dir, model)
    home = os.path.join(root, "home")
    cwd = os.path.join(root, "project")
    data = os.path.join(root, "data")
    for folder in (home, cwd, data):
        os.makedirs(folder, exist_ok=True)

    # H1's environment and nothing else of ours.
    env = base_env(home)
    env.update({
        "ANTHROPIC_BASE_URL": gateway.url,
        "ANTHROPIC_API_KEY": DUMMY_KEY,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
    })
    status, out, err, m.cc_seconds = run(
        [claude, "-p", PROMPT, "--output-format", "json", "--model", model], env,
        args.timeout, cwd=cwd)
    with open(os.path.join(root, "claude-code.json"), "w") as f:
        f.write(out)
    with open(os.path.join(root, "claude-code.stderr"), "w") as f:
        f.write(err)
    # What Claude Code sent, as the gateway recorded it: each id and status once, with a count.
    seen = {}
    for record in gateway.records(settle=3):
        if record.get("model"):
            key = record["model"] + ("" if record.get("status") == 200
                                     else f" ({record.get('status')})")
            seen[key] = seen.get(key, 0) + 1
    m.sent = [key + (f" ×{count}" if count > 1 else "") for key, count in seen.items()]
    if status is None:
        m.cc_error = f"Claude Code took over {args.timeout:.0f} s"
        return m
    try:
        result = json.loads(out.strip().splitlines()[-1]) if out.strip() else None
    except ValueError:
        result = None
    if not isinstance(result, dict):
        m.cc_error = f"status {status}, no JSON result ({(err or out).strip()[:160]!r})"
        return m
    usage = result.get("modelUsage") or {}
    m.cc_total = result.get("total_cost_usd")
    if result.get("is_error") or not usage:
        if result.get("api_error_status") == 404:
            m.cc_error = ("the simulator answered 404 not_found_error (it serves no such model: "
                          "crates/simulator/src/models.rs)")
            return m
        m.cc_error = (f"{result.get('terminal_reason') or 'error'}"
                      f" {result.get('api_error_status') or ''}"
                      f" {str(result.get('result') or '')[:120]!r}").strip()
        return m
    entry = usage.get(model)
    if entry is None:
        # Claude Code priced the request under another id (H1's mapping of retired ids).
        m.cc_priced_as = ", ".join(usage)
        entry = {
            "costUSD": sum(e.get("costUSD") or 0 for e in usage.values()),
            **{k: sum(e.get(k) or 0 for e in usage.values()) for k in (
                "inputTokens", "outputTokens", "cacheReadInputTokens",
                "cacheCreationEphemeral5mInputTokens", "cacheCreationEphemeral1hInputTokens",
                "cacheCreationInputTokens")},
        }
    elif len(usage) > 1:
        m.note_lines.append(f"Claude Code's modelUsage also has {', '.join(k for k in usage if k != model)}")
    m.cc_cost = entry.get("costUSD")
    five = entry.get("cacheCreationEphemeral5mInputTokens") or 0
    hour = entry.get("cacheCreationEphemeral1hInputTokens") or 0
    if not five and not hour:
        five = entry.get("cacheCreationInputTokens") or 0
    m.cc_tokens = (entry.get("inputTokens") or 0, entry.get("outputTokens") or 0,
                   entry.get("cacheReadInputTokens") or 0, five, hour)
    if m.cc_total is not None and m.cc_cost is not None and len(usage) == 1 \
            and abs(m.cc_total - m.cc_cost) > 1e-9:
        m.note_lines.append(f"total_cost_usd {m.cc_total} is not modelUsage's {m.cc_cost}")

    # Our cost, as a new user asks for it: the transcript in that HOME, our own fresh data folder,
    # and a control socket that does not exist so no running service answers instead.
    ours_env = base_env(home)
    ours_env["CLAUDE_STATUS_DATA_DIR"] = data
    ours_env["CLAUDE_STATUS_SOCKET"] = os.path.join(root, "no-service.sock")
    status, out, err, m.usage_seconds = run(
        [args.cli, "usage", "session", "--json", "--source", "claude-code"], ours_env,
        args.timeout)
    with open(os.path.join(root, "usage-session.json"), "w") as f:
        f.write(out)
    if status != 0:
        m.ours_error = (f"`usage session --json` "
                        f"{'timed out' if status is None else f'exited {status}'}: "
                        f"{err.strip()[:160]!r}")
        return m
    try:
        report = json.loads(out)
    except ValueError:
        m.ours_error = "`usage session --json` printed no JSON"
        return m
    rows = [r for r in report.get("sessions", []) if r.get("session_id") == result.get("session_id")]
    if not rows:
        m.ours_error = f"no session {result.get('session_id')} in our report"
        return m
    row = rows[0]
    m.ours = row.get("cost_usd")
    m.ours_unknown = bool(row.get("includes_unknown_price"))
    m.ours_models = row.get("models") or []
    m.ours_tokens = (row.get("input_tokens") or 0, row.get("output_tokens") or 0,
                     row.get("cache_read_tokens") or 0, row.get("cache_creation_tokens") or 0)
    m.source = source_of(row, report, model)
    cc = m.cc_tokens
    if cc and (cc[0], cc[1], cc[2], cc[3] + cc[4]) != m.ours_tokens:
        m.note_lines.append(f"tokens differ: Claude Code in/out/read/write "
                            f"{cc[0]}/{cc[1]}/{cc[2]}/{cc[3] + cc[4]}, ours "
                            f"{'/'.join(map(str, m.ours_tokens))}")
    # Our text view says where prices came from, and any disagreement of the two sources.
    status, text, _, _ = run([args.cli, "usage", "session", "--source", "claude-code"], ours_env,
                             args.timeout)
    if status == 0:
        m.note_lines.extend(f"ours says: {line.strip()}" for line in text.splitlines()
                            if line.startswith(f"{model}:"))
        args.prices_line = args.prices_line or next(
            (line.strip() for line in text.splitlines() if line.startswith("Prices from")), None)
    return m


def dollars(amount):
    return "—" if amount is None else f"{amount:.6f}"


def percent(diff):
    if diff is None:
        return "—"
    if diff == float("inf"):
        return "∞"
    return f"{diff * 100:+.2f} %"


def table(rows):
    heads = ["model", "sent (gateway)", "Claude Code $", "ours $", "difference", "our source",
             "verdict"]
    cells = [[m.model, ", ".join(m.sent) or "—", dollars(m.cc_cost), dollars(m.ours),
              percent(m.difference), m.source, m.verdict()] for m in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h)
              for i, h in enumerate(heads)]
    out = ["  ".join(h.ljust(w) for h, w in zip(heads, widths)).rstrip(),
           "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    return "\n".join(out)


def notes_of(m):
    """What else one measurement says: a mapped id, a cost that matches another H5 column."""
    notes = list(m.note_lines)
    if m.cc_priced_as:
        notes.append(f"Claude Code priced it as {m.cc_priced_as} (H1's mapping of retired ids)")
    if m.sent and any(s.split()[0] != m.model for s in m.sent):
        notes.append(f"the gateway saw {', '.join(m.sent)} for --model {m.model}")
    if m.model not in m.ours_models and m.ours_models:
        notes.append(f"our ledger has it as {', '.join(m.ours_models)}")
    columns = H5.get(m.model)
    # For a cost that differs (and for Haiku 5.5 always), which of H5's columns each figure is.
    if columns and m.cc_tokens and (not m.equal or m.model == DISAGREEING):
        for name, figure in (("Claude Code", m.cc_cost), ("ours", m.ours)):
            if figure is None:
                continue
            matches = [label for label, column in (("H5's Claude Code column", columns[0]),
                                                   ("H5's LiteLLM column", columns[1]))
                       if column and abs(h5_cost(column, m.cc_tokens) - figure)
                       <= TOLERANCE * max(figure, 1e-12)]
            notes.append(f"{name} ${figure:.6f} matches "
                         f"{' and '.join(matches) if matches else 'neither H5 column'} "
                         f"for these tokens")
    return notes


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cli", default=os.path.join(TARGET, "release", "claude-status"))
    parser.add_argument("--sim", default=os.path.join(TARGET, "release", "claude-status-sim"))
    parser.add_argument("--claude", help="Claude Code's claude binary (default: "
                        "tests/claude_code/install.sh's)")
    parser.add_argument("--build", action="store_true", help="cargo build --release --locked "
                        "-p claude-status-cli -p claude-status-simulator first")
    parser.add_argument("--models", help="comma-separated subset of H5's models (default: all)")
    parser.add_argument("--timeout", type=float, default=120,
                        help="seconds each step may take (default 120)")
    parser.add_argument("--work-dir", help="throwaway HOMEs, answers and logs (default: a "
                        "temporary folder, removed at the end unless --keep)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--json", help="also write the measurements to this file")
    args = parser.parse_args()
    args.prices_line = None
    models = [m.strip() for m in args.models.split(",")] if args.models else MODELS
    started = time.time()
    work_dir = args.work_dir or tempfile.mkdtemp(prefix="claude-status-prices-")
    os.makedirs(work_dir, exist_ok=True)
    results, sim, gateway, rig_error = [], None, None, None
    try:
        if args.build:
            build()
        for binary in (args.cli, args.sim):
            if not os.access(binary, os.X_OK):
                raise RigError(f"{binary} is missing: build it (--build, or cargo build "
                               f"--release --locked -p claude-status-cli -p "
                               f"claude-status-simulator)")
        claude = args.claude or find_claude(timeout=1800)
        version = run([claude, "--version"], base_env(os.path.join(work_dir, "version-home")),
                      30)[1].strip()
        print("Build measured:")
        for line in build_info(args):
            print(f"  {line}")
        print(f"  Claude Code: {version} ({claude})")
        if not version.startswith(CLAUDE_CODE_VERSION):
            log(f"warning: Claude Code is {version!r}, not {CLAUDE_CODE_VERSION}")
        sim = Sim(args.sim, work_dir, timeout=30)
        listed = sim.listed_models()
        if listed is None:
            print("  the simulator's /v1/models did not answer")
        else:
            missing = [m for m in models if m not in listed]
            print(f"  the simulator's /v1/models lists {len(listed)} models; of these "
                  f"{len(models)} it lacks {len(missing)}: {', '.join(missing) or 'none'}")
        gateway = Gateway(args.cli, sim.url, work_dir, timeout=30,
                          run_for=len(models) * (3 * args.timeout + 10) + 60)
        print(f"  simulator {sim.url}, gateway {gateway.url}, work folder {work_dir}")
        print()
        for model in models:
            m = measure(model, args, claude, gateway, work_dir)
            results.append(m)
            log(f"{model}: Claude Code {dollars(m.cc_cost)} in {m.cc_seconds:.1f} s, ours "
                f"{dollars(m.ours)} in {m.usage_seconds:.2f} s: {m.verdict()}")
    except RigError as error:
        rig_error = str(error)
        log(f"the rig could not run: {error}")
    except (OSError, subprocess.SubprocessError) as error:
        rig_error = repr(error)
        log(f"the rig broke: {error!r}")
    finally:
        if gateway:
            gateway.stop()
        if sim:
            sim.stop()

    if results:
        print(table(results))
        print()
        if args.prices_line:
            print(f"Our prices note: {args.prices_line}")
        for m in results:
            for note in notes_of(m):
                print(f"  {m.model}: {note}")
        cc_times = sorted(m.cc_seconds for m in results)
        usage_times = sorted(m.usage_seconds for m in results if m.usage_seconds)
        print(f"Timings: Claude Code {cc_times[0]:.1f}–{cc_times[-1]:.1f} s a request "
              f"(median {cc_times[len(cc_times) // 2]:.1f} s)"
              + (f", `usage session --json` {usage_times[0]:.2f}–{usage_times[-1]:.2f} s"
                 if usage_times else "")
              + f"; {time.time() - started:.0f} s in all")
    equal = sum(m.equal for m in results)
    agreeing = [m for m in results if m.model != DISAGREEING]
    print(f"{equal} of {len(models)} models equal to Claude Code within 1 %"
          + (f" (the rig could not run: {rig_error})" if rig_error else ""))
    if agreeing:
        print(f"  issue 13's figure, the models where H5's sources agree (all but "
              f"{DISAGREEING}): {sum(m.equal for m in agreeing)} of {len(agreeing)}")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"build": build_info(args), "rig_error": rig_error, "models": [
                {"model": m.model, "sent": m.sent, "claude_code_usd": m.cc_cost,
                 "claude_code_total_usd": m.cc_total, "claude_code_priced_as": m.cc_priced_as,
                 "claude_code_error": m.cc_error, "ours_usd": m.ours,
                 "ours_unknown_price": m.ours_unknown, "ours_error": m.ours_error,
                 "difference": m.difference, "source": m.source, "verdict": m.verdict(),
                 "equal": m.equal, "notes": notes_of(m), "claude_code_seconds": m.cc_seconds,
                 "usage_seconds": m.usage_seconds} for m in results]}, f, indent=2)
            f.write("\n")
    if args.keep or args.work_dir:
        log(f"kept {work_dir}")
    else:
        shutil.rmtree(work_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
