#!/usr/bin/env python3
"""Benchmarks `claude-status statusline` beside `ccusage statusline --offline` on the same input
and the same logs, as Claude Code runs them: a new process per run, the status-line JSON on stdin.

Five contenders, each run N times (default 200), interleaved so that machine noise hits all alike:
- `claude-status-line` (what `statusline --install` installs) with a running service
  (`claude-status service run`, its one-call round trip), and without one (it records the
  readings in the store and reads today's spend there);
- `claude-status statusline` (the same code inside the whole command), with and without;
- ccusage 20.0.24 `statusline --offline` (installed from npm into target/ccusage, as
  scripts/bench-usage.sh does).

Prints p50 and p95 wall time (runs started straight from Python) and the peak RSS (a separate
pass of 20 runs each under GNU time's `%M`: a child forked from Python reports Python's own
resident size as its peak, about 14 MiB here, whatever it runs), and the speed ratio. Usage: scripts/bench-statusline.py [--runs N] [--no-build]
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
CLI = os.path.join(TARGET, "release", "claude-status")
LINE = os.path.join(TARGET, "release", "claude-status-line")
SIM = os.path.join(TARGET, "release", "claude-status-sim")
CCUSAGE_VERSION = "20.0.24"
CCUSAGE = os.path.join(TARGET, "ccusage", "node_modules", ".bin", "ccusage")


def arg(name, default):
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return default


RUNS = int(arg("--runs", "200"))


def build():
    if "--no-build" in sys.argv:
        return
    subprocess.run(
        ["cargo", "build", "--release", "--locked", "-p", "claude-status-cli", "-p", "claude-status-simulator"],
        cwd=ROOT,
        check=True,
    )
    version = ""
    if os.path.exists(CCUSAGE):
        version = subprocess.run([CCUSAGE, "--version"], capture_output=True, text=True).stdout
    if CCUSAGE_VERSION not in version:
        os.makedirs(os.path.join(TARGET, "ccusage"), exist_ok=True)
        subprocess.run(
            ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix",
             os.path.join(TARGET, "ccusage"), f"ccusage@{CCUSAGE_VERSION}"],
            check=True,
        )


def transcript(path, session):
    """A small real-shaped transcript: 40 assistant turns of today."""
    now = time.time()
    lines = []
    for i in range(40):
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now - 3600 + i * 60))
        lines.append(json.dumps({
            "parentUuid": f"p{i}", "isSidechain": False, "type": "assistant", "uuid": f"u{i}",
            "timestamp": stamp, "sessionId": session, "version": "2.1.328", "cwd": "/home/user/p",
            "requestId": f"req_{i:04d}",
            "message": {"model": "claude-opus-5-5", "id": f"msg_{i:04d}", "type": "message",
                        "role": "assistant", "content": [{"type": "text", "text": "ok"}],
                        "usage": {"input_tokens": 1200, "output_tokens": 300,
                                  "cache_creation_input_tokens": 2000,
                                  "cache_read_input_tokens": 20000, "service_tier": "standard"}},
        }))
    with open(path, "w") as out:
        out.write("\n".join(lines) + "\n")


def status_input(transcript_path, session):
    now = int(time.time())
    return json.dumps({
        "hook_event_name": "Status", "session_id": session, "transcript_path": transcript_path,
        "cwd": "/home/user/p", "model": {"id": "claude-opus-5-5", "display_name": "Opus 5.5"},
        "workspace": {"current_dir": "/home/user/p", "project_dir": "/home/user/p"},
        "version": "2.1.328", "output_style": {"name": "default"},
        "cost": {"total_cost_usd": 0.42, "total_duration_ms": 45000, "total_api_duration_ms": 2300,
                 "total_lines_added": 10, "total_lines_removed": 2},
        "context_window": {"total_input_tokens": 15234, "total_output_tokens": 4521,
                           "context_window_size": 200000, "used_percentage": 38},
        "exceeds_200k_tokens": False,
        "rate_limits": {"five_hour": {"used_percentage": 62, "resets_at": now + 7200},
                        "seven_day": {"used_percentage": 41, "resets_at": now + 3 * 86400}},
    }).encode()


def run_once(argv, env, stdin_bytes):
    """Wall seconds and stdout of one run."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    proc.stdin.write(stdin_bytes)
    proc.stdin.close()
    out = proc.stdout.read()
    status = proc.wait()
    wall = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{argv} exited {status}: {out!r}")
    return wall, out


def peak_rss_mib(argv, env, stdin_bytes, scratch):
    """Peak RSS of one run, as GNU time reports it."""
    report = os.path.join(scratch, "time.txt")
    subprocess.run(["/usr/bin/time", "-f", "%M", "-o", report] + argv, env=env, input=stdin_bytes,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    with open(report) as text:
        return int(text.read().split()[-1]) / 1024.0


def percentile(values, p):
    values = sorted(values)
    index = max(0, min(len(values) - 1, int(round(p / 100.0 * len(values) + 0.5)) - 1))
    return values[index]


def main():
    build()
    scratch = tempfile.mkdtemp(prefix="bench-statusline-")
    try:
        home = os.path.join(scratch, "home")
        session = "bench-session-0001"
        projects = os.path.join(home, ".claude", "projects", "-home-user-p")
        os.makedirs(projects)
        path = os.path.join(projects, f"{session}.jsonl")
        transcript(path, session)
        stdin_bytes = status_input(path, session)
        base_env = {
            "PATH": os.environ.get("PATH", ""), "HOME": home, "TZ": "UTC", "NO_COLOR": "1",
            "CLAUDE_CONFIG_DIR": os.path.join(home, ".claude"),
            "DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent/bus",
        }
        sim = subprocess.Popen([SIM, "--port", "0", "--scenario", "healthy"], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
        sim_url = None
        deadline = time.time() + 20
        while time.time() < deadline and sim_url is None:
            line = sim.stdout.readline()
            for word in line.split():
                if word.startswith("http://127.0.0.1:"):
                    sim_url = word.rstrip("/,.")
        if sim_url is None:
            raise SystemExit("the simulator did not print its address")
        with_dir = os.path.join(scratch, "with-service")
        without_dir = os.path.join(scratch, "without-service")
        service_env = dict(base_env, CLAUDE_STATUS_DATA_DIR=with_dir, CLAUDE_STATUS_STATUS_URL=sim_url,
                           ANTHROPIC_BASE_URL=sim_url, CLAUDE_STATUS_SOCKET=os.path.join(scratch, "s.sock"))
        service = subprocess.Popen([CLI, "service", "run"], env=service_env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while not os.path.exists(service_env["CLAUDE_STATUS_SOCKET"]):
            if time.time() > deadline:
                raise SystemExit("the service did not start")
            time.sleep(0.05)
        time.sleep(2)  # its first round
        without_env = dict(base_env, CLAUDE_STATUS_DATA_DIR=without_dir,
                           CLAUDE_STATUS_SOCKET=os.path.join(scratch, "none.sock"))
        # The store of the run without a service holds today's usage, as after `usage` or a
        # stopped service: ingest once.
        subprocess.run([CLI, "usage", "daily", "--json"], env=without_env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        contenders = [
            ("claude-status-line, service running", [LINE], service_env),
            ("claude-status-line, no service", [LINE], without_env),
            (f"ccusage {CCUSAGE_VERSION} statusline --offline", [CCUSAGE, "statusline", "--offline"], base_env),
            ("claude-status statusline, service running", [CLI, "statusline"], service_env),
            ("claude-status statusline, no service", [CLI, "statusline"], without_env),
        ]
        samples = {name: ([], []) for name, _, _ in contenders}
        lines = {}
        for name, argv, env in contenders:  # warm-up, and the line each prints
            lines[name] = run_once(argv, env, stdin_bytes)[1].decode(errors="replace").strip()
        for _ in range(RUNS):
            for name, argv, env in contenders:
                samples[name][0].append(run_once(argv, env, stdin_bytes)[0])
        if not os.path.exists("/usr/bin/time"):
            subprocess.run(["apt-get", "install", "-y", "-qq", "time"], check=True)
        for _ in range(20):
            for name, argv, env in contenders:
                samples[name][1].append(peak_rss_mib(argv, env, stdin_bytes, scratch))
        service.terminate()
        service.wait(timeout=20)
        sim.terminate()
        sim.wait(timeout=20)
        print(f"\n{RUNS} runs each, interleaved, {os.cpu_count()} cores\n")
        print(f"| {'run':<44} | {'p50 ms':>7} | {'p95 ms':>7} | {'peak RSS MiB':>12} |")
        print(f"|{'-' * 46}|{'-' * 9}|{'-' * 9}|{'-' * 14}|")
        p50 = {}
        for name, (walls, rss) in samples.items():
            p50[name] = statistics.median(walls)
            print(f"| {name:<44} | {p50[name] * 1000:7.1f} | {percentile(walls, 95) * 1000:7.1f} | {max(rss):12.1f} |")
        cc = p50[contenders[2][0]]
        for name, _, _ in contenders[:2] + contenders[3:]:
            print(f"\n{name}: {cc / p50[name]:.1f}x ccusage's speed (p50)")
        print("\nLines printed:")
        for name, line in lines.items():
            print(f"  {name}: {line}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
