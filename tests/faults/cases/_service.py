"""What the sleep and clock cases share: the simulator and the real service (`claude-status
service run`, probing every second) in a case's work folder, a client of the service's control
socket that keeps every event it streams, and a sampler of the simulator's request counters, so a
case can say how many probes reached the API in any second."""

import json
import os
import re
import socket
import sqlite3
import subprocess
import threading
import time
import urllib.request

from suite import CaseFailed

DUMMY_KEY = "sk-ant-faults-dummy-key"
MODEL = "claude-haiku-4-5"


def start_simulator(ctx, name="simulator", argv_prefix=(), env=None, extra=()):
    """Starts the simulator (healthy story) and returns its base URL."""
    match = ctx.procs.start(
        name,
        [*argv_prefix, ctx.sim, "--scenario", "healthy", *extra],
        env=env or ctx.env(),
        ready=r"listening on (http://\S+)",
    )
    return match.group(1).rstrip("/")


def service_env(ctx, url, **extra):
    data = ctx.path("data", "x")[:-2]
    return ctx.env(
        CLAUDE_STATUS_DATA_DIR=data,
        CLAUDE_STATUS_SOCKET=os.path.join(ctx.work, "run", "control.sock"),
        CLAUDE_STATUS_STATUS_URL=url,
        ANTHROPIC_BASE_URL=url,
        ANTHROPIC_API_KEY=DUMMY_KEY,
        CLAUDE_STATUS_PROBE_INTERVAL="1s",
        CLAUDE_STATUS_OFFLINE="true",
        CLAUDE_STATUS_MODELS=MODEL,
        RUST_LOG="info",
        **extra,
    )


def start_service(ctx, env, argv_prefix=(), name="service"):
    proc = ctx.procs.start(name, [*argv_prefix, ctx.cli, "service", "run"], env=env)
    return proc


class Control:
    """One subscription to the service's control socket. Every frame is kept with the monotonic
    time it arrived, so a case can ask what the service said after any moment."""

    def __init__(self, path, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise CaseFailed(f"the service's control socket {path} did not answer within {timeout} s")
                time.sleep(0.2)
        self.sock.settimeout(10)
        self.file = self.sock.makefile("rb")
        self._send({"hello": {"protocol": 1, "version": "faults", "role": "cli"}})
        hello = json.loads(self.file.readline())
        if "hello" not in hello:
            raise CaseFailed(f"the service answered the hello with {hello}")
        self.pid = hello["hello"].get("pid")
        self._send({"id": 1, "call": "subscribe"})
        self.sock.settimeout(None)
        self.frames = []
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _send(self, frame):
        self.sock.sendall(json.dumps(frame).encode() + b"\n")

    def _read(self):
        for raw in self.file:
            try:
                frame = json.loads(raw)
            except ValueError:
                continue
            with self.lock:
                self.frames.append((time.monotonic(), frame))

    def events(self, since=0.0):
        """The engine events (level changes, notifications…) that arrived after `since`."""
        with self.lock:
            return [f["engine"] for at, f in self.frames if at >= since and f.get("event") == "engine"]

    def snapshots(self, since=0.0):
        with self.lock:
            return [(at, f["snapshot"]) for at, f in self.frames if at >= since and f.get("event") == "snapshot"]

    def level(self):
        snaps = self.snapshots()
        return snaps[-1][1]["level"] if snaps else None

    def wait_level(self, wanted, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.level() in wanted:
                return self.level()
            time.sleep(0.1)
        raise CaseFailed(f"the service's level stayed {self.level()!r}, not {wanted}, for {timeout} s")


class Sampler:
    """Reads the simulator's counters every 50 ms: (monotonic time, reachability probes, streaming
    probes) so far."""

    def __init__(self, url, opener=None):
        self.url = url + "/_sim/stats"
        self.samples = []
        self.stopped = False
        self.lock = threading.Lock()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while not self.stopped:
            try:
                with urllib.request.urlopen(self.url, timeout=2) as r:
                    stats = json.loads(r.read())
                paths = stats.get("requests_by_path", {})
                with self.lock:
                    self.samples.append((time.monotonic(), paths.get("/v1/models", 0), paths.get("/v1/messages", 0)))
            except OSError:
                pass
            time.sleep(0.05)

    def now(self):
        with self.lock:
            return self.samples[-1] if self.samples else (time.monotonic(), 0, 0)

    def at(self, moment):
        """The last sample taken at or before `moment`."""
        with self.lock:
            before = [s for s in self.samples if s[0] <= moment]
        return before[-1] if before else (moment, 0, 0)

    def most_in_a_second(self, start, end):
        """The most probes (reachability, streaming) any 1-second window in [start, end] saw."""
        with self.lock:
            window = [s for s in self.samples if start <= s[0] <= end]
        most_r = most_s = 0
        j = 0
        for i, (t, r, s) in enumerate(window):
            while window[j][0] < t - 1.0:
                j += 1
            base = window[j - 1] if j > 0 else self.at(start)
            most_r = max(most_r, r - base[1])
            most_s = max(most_s, s - base[2])
        return most_r, most_s

    def stop(self):
        self.stopped = True


def probe_rows(data_dir, since_ms=0):
    """The service's stored probe results at or after `since_ms` (unix ms)."""
    db = os.path.join(data_dir, "claude-status.sqlite3")
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return con.execute(
            "SELECT at, kind, outcome, latency_ms, confirmation, detail FROM probe_results WHERE at >= ? ORDER BY at",
            (since_ms,),
        ).fetchall()
    finally:
        con.close()


def notifications(events):
    return [e for e in events if e.get("event") == "notify"]


def level_changes(events):
    return [e for e in events if e.get("event") == "level_changed"]


def negative_durations(text):
    """Every negative duration or age a line of output shows ("-3 s", "-1h", "in -5 min", "-00:12")."""
    pattern = re.compile(r"(?<![\w.])-\s?\d+(?:[.:]\d+)?\s?(?:ms|s|sec|secs|seconds|m|min|mins|minutes|h|hr|hours|d|days)\b|in -\d|-\d+:\d\d")
    return pattern.findall(text)
