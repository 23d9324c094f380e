#!/usr/bin/env python3
"""Measures Claude Status against the simulator on loopback and prints the figures.

- bytes per hour of polling the status page at 60 s when nothing changes (conditional requests);
- bytes per hour of the reachability probe;
- wall time of `claude-status check`;
- memory of `watch` after many polls (1 s interval);
- idle CPU and memory of `watch` at the default 60 s interval;
- detection: the `detection_bench` example under paused time (an overload of the most-used model
  on /v1/messages to the verdict and the notification, a storm on a model nobody uses, a stray
  529, an alternating 529/200, the per-model probe's cost a day), then tests/claude_code/run.sh
  (the real Claude Code sending its turns through the gateway in real time while the simulator
  overloads its model: onset to the first 529, to the overloaded verdict, to the notification);
- store throughput for a month of probe history.

Usage: scripts/bench.py [--quick]   (--quick shortens the long runs, for a smoke test)
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = os.path.join(ROOT, "target", "release", "claude-status")
SIM = os.path.join(ROOT, "target", "release", "claude-status-sim")
QUICK = "--quick" in sys.argv


def build():
    subprocess.run(
        ["cargo", "build", "--release", "--locked", "-p", "claude-status-cli", "-p", "claude-status-simulator"],
        cwd=ROOT,
        check=True,
    )


class Sim:
    """A simulator process on an ephemeral loopback port."""

    def __init__(self, scenario, manual=True):
        args = [SIM, "--scenario", scenario]
        if manual:
            args.append("--manual")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline().strip()
        self.url = line.split()[-1]

    def stats(self):
        with urllib.request.urlopen(self.url + "/_sim/stats", timeout=5) as response:
            return json.load(response)

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def env(data_dir):
    environment = dict(os.environ)
    environment.pop("ANTHROPIC_API_KEY", None)
    environment["NO_COLOR"] = "1"
    environment["CLAUDE_STATUS_DATA_DIR"] = data_dir
    return environment


def polling_bytes():
    """Status page and probe traffic per hour at 60 s when nothing changes."""
    seconds = 10 if QUICK else 30
    results = {}
    for label, extra in (("status page", ["--no-probe"]), ("status page + probe", [])):
        sim = Sim("operational")
        with tempfile.TemporaryDirectory() as data_dir:
            before = sim.stats()
            subprocess.run(
                [CLI, "--status-url", sim.url, "--api-url", sim.url, *extra, "watch", "--interval", "1s", "--for", f"{seconds}s"],
                env=env(data_dir),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
            )
            after = sim.stats()
        sim.close()
        requests = after["requests_total"] - before["requests_total"]
        wire = (after["bytes_read"] - before["bytes_read"]) + (after["bytes_written"] - before["bytes_written"])
        results[label] = (requests, wire, after["not_modified"] - before["not_modified"], after["requests_by_path"])
    requests, wire, not_modified, paths = results["status page"]
    summary_polls = paths.get("/api/v2/summary.json", 0)
    # The first answer of each URL carries the body; later ones are 304s. Split the bytes so:
    first = one_full_exchange("/api/v2/summary.json")
    conditional = (wire - first - one_full_exchange("/api/v2/incidents.json")) / max(summary_polls - 1, 1)
    per_hour = first + 59 * conditional + one_full_exchange("/api/v2/incidents.json") + 5 * conditional
    unconditional = 60 * first + 6 * one_full_exchange("/api/v2/incidents.json")
    print(f"status page: {summary_polls} polls in {seconds} s, {not_modified} answered 304; "
          f"full summary exchange {first} B, conditional exchange {conditional:.0f} B")
    print(f"  bytes per hour at 60 s when nothing changes: {per_hour / 1024:.1f} KiB "
          f"(without conditional requests: {unconditional / 1024:.1f} KiB)")
    p_requests, p_wire, _, p_paths = results["status page + probe"]
    probe_polls = p_paths.get("/v1/models", 0)
    if probe_polls:
        probe_bytes = (p_wire - wire * (p_paths.get("/api/v2/summary.json", 0) / max(summary_polls, 1))) / probe_polls
        print(f"  reachability probe: about {probe_bytes:.0f} B per probe on the wire, "
              f"{probe_bytes * 60 / 1024:.1f} KiB per hour at 60 s (connection kept alive)")


def one_full_exchange(path):
    """Bytes on the wire of one unconditional GET of `path` (request and answer)."""
    sim = Sim("operational")
    before = sim.stats()
    urllib.request.urlopen(sim.url + path, timeout=5).read()
    after = sim.stats()
    sim.close()
    return (after["bytes_read"] - before["bytes_read"]) + (after["bytes_written"] - before["bytes_written"])


def check_wall_time():
    sim = Sim("healthy")
    runs = 10 if QUICK else 30
    times = []
    with tempfile.TemporaryDirectory() as data_dir:
        for _ in range(runs):
            started = time.perf_counter()
            code = subprocess.run(
                [CLI, "--status-url", sim.url, "--api-url", sim.url, "check"],
                env=env(data_dir),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            ).returncode
            times.append((time.perf_counter() - started) * 1000)
            assert code == 0, code
    sim.close()
    times.sort()
    print(f"check (status page + reachability probe, release build): {runs} runs, "
          f"median {statistics.median(times):.1f} ms, min {times[0]:.1f} ms, max {times[-1]:.1f} ms")


def proc_status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        parts = stat.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(parts[11]) + int(parts[12])) / ticks


def watch_footprints():
    """Runs the busy (1 s) and the idle (60 s) watch side by side and samples both."""
    busy_seconds = 40 if QUICK else 180
    idle_seconds = 40 if QUICK else 300
    sims = [Sim("healthy"), Sim("healthy")]
    dirs = [tempfile.mkdtemp(), tempfile.mkdtemp()]
    busy = subprocess.Popen(
        [CLI, "--status-url", sims[0].url, "--api-url", sims[0].url, "watch", "--interval", "1s"],
        env=env(dirs[0]), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    idle = subprocess.Popen(
        [CLI, "--status-url", sims[1].url, "--api-url", sims[1].url, "watch"],
        env=env(dirs[1]), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    started = time.monotonic()
    time.sleep(10)
    busy_early = proc_status(busy.pid)["VmRSS"]
    idle_cpu_start = cpu_seconds(idle.pid)
    idle_start = time.monotonic()
    while time.monotonic() - started < max(busy_seconds, idle_seconds):
        time.sleep(1)
        if time.monotonic() - started >= busy_seconds and busy.poll() is None:
            status = proc_status(busy.pid)
            polls = sims[0].stats()["requests_by_path"]
            busy.terminate()
            print(f"watch at 1 s: after {polls.get('/api/v2/summary.json', 0)} status polls and "
                  f"{polls.get('/v1/models', 0)} probes: VmRSS {status['VmRSS']} (at 10 s: {busy_early}), "
                  f"peak VmHWM {status['VmHWM']}")
    status = proc_status(idle.pid)
    cpu = cpu_seconds(idle.pid) - idle_cpu_start
    elapsed = time.monotonic() - idle_start
    print(f"watch idle at the default 60 s over {elapsed:.0f} s: CPU {100 * cpu / elapsed:.3f} % "
          f"({cpu:.2f} s), VmRSS {status['VmRSS']}, RssAnon {status.get('RssAnon', '?')}")
    idle.terminate()
    for process in (busy, idle):
        process.wait(timeout=10)
    for sim in sims:
        sim.close()


def figure_lines(command, heading):
    """Runs one detection bench and prints its figure lines under a heading; its failure stops
    the bench, after what it printed."""
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    print(heading)
    for line in completed.stdout.splitlines():
        if line.strip():
            print("  " + line)
    if completed.returncode != 0:
        sys.stderr.write(completed.stderr[-4000:])
        raise subprocess.CalledProcessError(completed.returncode, command)


def detection():
    # The engine's own figures under paused time: the most-used model's overload on /v1/messages
    # to its verdict and notification, a storm on a model nobody uses, a stray 529, alternating
    # 529/200, and the probe's cost a day.
    figure_lines(
        ["cargo", "run", "--release", "--locked", "-q", "-p", "claude-status-engine", "--example", "detection_bench",
         "--", "--phases", "3" if QUICK else "12"],
        "detection (default settings, a key, paused time):",
    )
    # The same overload in real time with the real Claude Code sending a turn every 5 s through
    # the gateway: at least 10 storm phases for the figure, 3 for a smoke test.
    figure_lines(
        [os.path.join(ROOT, "tests", "claude_code", "run.sh"), "--release", "--locked", "--phases", "3" if QUICK else "10"],
        "detection (real Claude Code through the gateway, real time):",
    )


def store():
    output = subprocess.run(
        ["cargo", "run", "--release", "--locked", "-q", "-p", "claude-status-engine", "--example", "store_month"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout
    print(output.strip())


def main():
    build()
    print(f"== Claude Status benchmarks ({'quick' if QUICK else 'full'}) on {os.cpu_count()} cores ==")
    polling_bytes()
    check_wall_time()
    watch_footprints()
    detection()
    store()


if __name__ == "__main__":
    main()
