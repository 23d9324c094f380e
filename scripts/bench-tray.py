#!/usr/bin/env python3
"""Measures the tray app and its background service (release build) and prints the issue's figures
next to their targets.

The tray (`claude-status-tray`) is a thin client of the service (`claude-status service run`), and
the dashboard a process of its own (`claude-status-tray --dashboard`). Everything runs against the
simulator (`healthy`, real clock) under Xvfb, a private D-Bus session and a StatusNotifierItem
watcher, at the default settings (a probe and a status-page poll every 60 s, no API key) unless a
figure says otherwise. Memory and CPU are summed over the tray's process tree AND the service's
(which the tray may have started, or this script).

Phase "idle" (a service started by this script, its first check done):
  4. tray start to a coloured icon (the snapshot's level colour, `core::tray::level_color`, read
     from the icon's pixels), median of --launches launches (default 5); also start to the item
     registered with the watcher. Each launch but the last ends with the menu's Quit.
  1. idle, dashboard never opened: RSS, PSS and anonymous memory (RssAnon), summed; target RSS
     ≤ 100 MiB (the maximum over the window);
  3. CPU (utime + stime of every process over wall time, one core = 100 %) over the same window,
     600 s (60 s with --quick); target ≤ 0.5 %;
  2. "Open dashboard" (dbusmenu) and close the window (a WM_DELETE_WINDOW client message, as a
     window manager's close button sends; see tests/e2e/tray_e2e.py close_window) 5 times; every
     dashboard process and its WebKit processes must end, and the total must come back within
     5 % of figure 1 (the mean over 10 s against the idle window's mean). The first opening also
     gives the dashboard's own memory and CPU (60 s, 20 s with --quick).
Phase "gateway" (the gateway on in the settings; no service runs, so the tray starts it):
  6. 10 client threads send Messages requests (JSON answers) through the gateway while the tray
     is killed with SIGKILL and started again 5 times: zero failed requests, the service never
     restarted, and every request metered into the usage ledger except what `metering_dropped`
     counts (requests sent against the `gateway` call's stats and the ledger's rows).
Phase "latency" (a service probing every 2 s, confirmations every 300 ms, with a dummy key that
only the simulator sees; the tray; a dashboard opened through tauri-driver and WebKitWebDriver,
so that a script can run in its page):
  5. the simulator switched between `healthy` and `outage` (at least 5 level changes): from the
     engine's event timestamp (`engine.at` of the `level_changed` event, taken from this script's
     own subscription to the control socket) to the tray menu's dbusmenu signal that carries it
     (dbus-monitor's `time=`): `LayoutUpdated` when the tray replaces its menu, or the
     `ItemsPropertiesUpdated` that relabels the first line with the new level, which is what the
     tray sends when only the status lines' text changed (it relabels them in place); and to
     timestamps taken in the page: the level's text changing in the DOM (a MutationObserver), the
     `snapshot-changed` event's arrival (a listener of its own through `__TAURI_INTERNALS__`) and
     the next animation frame. Nothing in ui/ is changed for it. Target ≤ 50 ms for the menu and
     for the page's text, each the maximum over the changes.

With --gateway-load RATE it measures something else instead: the gateway's footprint (service and
tray) idle, then while RATE requests a second go through it from 10 client threads.

Usage: scripts/bench-tray.py [--quick] [--no-build] [--idle-seconds N] [--launches N]
                             [--phases idle,gateway,latency] [--load-rate RATE] [--changes N]
                             [--debug] [--gateway-load RATE]

Builds `nice cargo build --release --locked` of the tray, the CLI (the service) and the
simulator first; ui/dist must exist (it is built with `npm ci && npm run build` when missing).
Scratch goes to target/bench-tray/. Results are also written to target/bench-tray/results.json.
Exit status 1 if a target is missed.
"""

import argparse
import importlib.util
import json
import os
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import traceback
import urllib.request
from datetime import datetime

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
APP = os.path.join(ROOT, "target", "release", "claude-status-tray")
SERVICE = os.path.join(ROOT, "target", "release", "claude-status")
SIM = os.path.join(ROOT, "target", "release", "claude-status-sim")
TAURI_DRIVER = os.path.join(ROOT, "target", "tools", "bin", "tauri-driver")
NATIVE_DRIVER = "/usr/bin/WebKitWebDriver"
SCRATCH = os.path.join(ROOT, "target", "bench-tray")
INNER = "CLAUDE_STATUS_BENCH_TRAY_INNER"

TARGET_RSS_MIB = 100
TARGET_BACK_WITHIN = 0.05
TARGET_CPU_PERCENT = 0.5
TARGET_START_MS = 300
TARGET_CHANGE_MS = 50
DASHBOARD_CYCLES = 5
TRAY_KILLS = 5
LOAD_CLIENTS = 10

QUIT = "Quit Claude Status"
OPEN_DASHBOARD = "Open dashboard"

CLK_TCK = os.sysconf("SC_CLK_TCK")
PHASES = ("idle", "gateway", "latency")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="60 s idle window, 20 s dashboard CPU")
    parser.add_argument("--no-build", action="store_true", help="use the binaries as they are")
    parser.add_argument("--idle-seconds", type=float, help="idle measurement window (default 600)")
    parser.add_argument("--launches", type=int, default=5, help="launches timed for figure 4")
    parser.add_argument("--phases", default=",".join(PHASES),
                        help="which phases to run (comma-separated: idle, gateway, latency)")
    parser.add_argument("--load-rate", type=float, default=0.0, metavar="RATE",
                        help="requests/s of figure 6's load (0, the default: each client sends "
                             "its next request as soon as the last answer arrived)")
    parser.add_argument("--changes", type=int, default=8,
                        help="level changes provoked for figure 5 (at least 5)")
    parser.add_argument("--gateway-load", type=float, metavar="RATE",
                        help="measure the gateway's footprint under RATE requests/s instead")
    parser.add_argument("--debug", action="store_true",
                        help="measure target/debug instead (to try the script; not the figures)")
    args = parser.parse_args()
    args.phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    unknown = [p for p in args.phases if p not in PHASES]
    if unknown:
        parser.error(f"unknown phase(s) {unknown}; choose from {', '.join(PHASES)}")
    args.changes = max(5, args.changes)
    if args.debug:
        global APP, SERVICE, SIM
        APP = os.path.join(ROOT, "target", "debug", "claude-status-tray")
        SERVICE = os.path.join(ROOT, "target", "debug", "claude-status")
        SIM = os.path.join(ROOT, "target", "debug", "claude-status-sim")
        args.no_build = True
    return args


# ---------------------------------------------------------------------------------------------
# Outside the session: build, then run this script again under Xvfb and D-Bus.


def build():
    subprocess.run(
        ["nice", "cargo", "build", "--release", "--locked", "-p", "claude-status-tray",
         "-p", "claude-status-cli", "-p", "claude-status-simulator"],
        cwd=ROOT, check=True,
    )


def outer(args):
    if not os.path.isfile(os.path.join(ROOT, "ui", "dist", "index.html")):
        print("==> building the UI (ui/dist)", flush=True)
        subprocess.run("npm ci --no-audit --no-fund && npm run build", shell=True,
                       cwd=os.path.join(ROOT, "ui"), check=True)
    if not args.no_build:
        print("==> nice cargo build --release (tray, CLI, simulator)", flush=True)
        try:
            build()
        except subprocess.CalledProcessError:
            sys.exit("bench-tray: the release build failed (--no-build measures the binaries as they are)")
    for binary in (APP, SERVICE, SIM):
        if not os.access(binary, os.X_OK):
            sys.exit(f"{binary} is missing; run without --no-build")
    run_dir = os.path.join(SCRATCH, "run")
    subprocess.run(["rm", "-rf", run_dir], check=True)
    for sub in ("runtime", "data", "config", "cache", "claude-config/projects"):
        os.makedirs(os.path.join(run_dir, sub))
    os.chmod(os.path.join(run_dir, "runtime"), 0o700)
    env = dict(os.environ)
    for name in list(env):
        # A real key must never reach the benchmark, nor another session's overrides.
        if name.startswith("CLAUDE_STATUS_") or name in ("ANTHROPIC_API_KEY", "ANTHROPIC_ADMIN_KEY",
                                                         "ANTHROPIC_BASE_URL", "CLAUDE_CONFIG_DIR"):
            env.pop(name)
    env.update(
        {
            INNER: "1",
            "E2E_DIR": run_dir,
            "E2E_APP": APP,
            "E2E_SERVICE": SERVICE,
            "E2E_SIM": SIM,
            "XDG_RUNTIME_DIR": os.path.join(run_dir, "runtime"),
            "XDG_DATA_HOME": os.path.join(run_dir, "data"),
            "XDG_CONFIG_HOME": os.path.join(run_dir, "config"),
            "XDG_CACHE_HOME": os.path.join(run_dir, "cache"),
            # Claude Code's logs are followed at the default settings: an empty folder of them,
            # so the machine's own transcripts do not change the figures.
            "CLAUDE_CONFIG_DIR": os.path.join(run_dir, "claude-config"),
            "NO_AT_BRIDGE": "1",
        }
    )
    argv = [
        "xvfb-run", "-a", "-s", "-screen 0 1280x800x24",
        "dbus-run-session", "--", sys.executable, os.path.abspath(__file__), *sys.argv[1:],
    ]
    try:
        return subprocess.run(argv, env=env, cwd=ROOT).returncode
    finally:
        # Anything left with our runtime folder in its environment was started by this run
        # (services the tray started detached among them).
        runtime = env["XDG_RUNTIME_DIR"]
        for pid in all_pids():
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    if f"XDG_RUNTIME_DIR={runtime}".encode() in f.read().split(b"\0"):
                        os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


# ---------------------------------------------------------------------------------------------
# /proc


def all_pids():
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def stat_of(pid):
    """(command, ppid, utime + stime in ticks, state) from /proc/PID/stat, or None if gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    close = text.rindex(")")
    comm = text[text.index("(") + 1 : close]
    fields = text[close + 2 :].split()
    # fields[0] is state (field 3); utime and stime are fields 14 and 15.
    return comm, int(fields[1]), int(fields[11]) + int(fields[12]), fields[0]


def tree(roots):
    """The live (non-zombie) pids of `roots` (pids, None skipped) and all their descendants."""
    children = {}
    for pid in all_pids():
        info = stat_of(pid)
        if info and info[3] != "Z":
            children.setdefault(info[1], []).append(pid)
    found, todo = set(), [r for r in roots if r]
    while todo:
        pid = todo.pop()
        if pid in found:
            continue
        info = stat_of(pid)
        if info is None or info[3] == "Z":
            continue
        found.add(pid)
        todo.extend(children.get(pid, []))
    return sorted(found)


def status_kib(pid, key):
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="utf-8") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def name_of(pid):
    """The program's file name (from the command line: /proc/PID/stat cuts names at 15 bytes),
    with the mode for our two binaries: `claude-status service`, `claude-status-tray --dashboard`."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return "?"
    if not argv:
        return (stat_of(pid) or ("?",))[0]
    name = os.path.basename(argv[0])
    if name == "claude-status" and argv[1:2] == ["service"]:
        return "claude-status service"
    if name == "claude-status-tray" and "--dashboard" in argv:
        return "claude-status-tray --dashboard"
    return name


def memory(roots):
    """Summed VmRSS, RssAnon and PSS (MiB) over the processes of `roots`, and per process."""
    pids = tree(roots)
    per = {}
    for pid in pids:
        per[f"{name_of(pid)}[{pid}]"] = {
            "rss": round(status_kib(pid, "VmRSS") / 1024, 1),
            "anon": round(status_kib(pid, "RssAnon") / 1024, 1),
            "pss": round(pss_kib(pid) / 1024, 1),
        }
    return {
        "rss": sum(p["rss"] for p in per.values()),
        "anon": sum(p["anon"] for p in per.values()),
        "pss": sum(p["pss"] for p in per.values()),
        "processes": [name_of(pid) for pid in pids],
        "per_process": per,
    }


def measure(roots_fn, seconds, sample_every=5.0):
    """CPU (% of one core) over `seconds`, summed over the processes of `roots_fn()` (asked anew
    at each sample, so a restarted tray is followed), counting processes that come and go, plus
    memory sampled along the way (mean and peak of the sums)."""
    first, last, names = {}, {}, {}
    start = time.monotonic()
    for pid in tree(roots_fn()):
        info = stat_of(pid)
        if info:
            first[pid] = last[pid] = info[2]
            names[pid] = name_of(pid)
    rss, anon, pss = [], [], []
    end = start + seconds
    while True:
        now = time.monotonic()
        if now >= end:
            break
        time.sleep(min(sample_every, end - now))
        roots = roots_fn()
        for pid in tree(roots):
            info = stat_of(pid)
            if info is None:
                continue
            if pid not in first:
                first[pid] = 0  # born during the window: all its time counts
                names[pid] = name_of(pid)
            last[pid] = info[2]
        m = memory(roots)
        rss.append(m["rss"])
        anon.append(m["anon"])
        pss.append(m["pss"])
    wall = time.monotonic() - start
    ticks = sum(last[pid] - first[pid] for pid in last)
    by_name = {}
    for pid in last:
        by_name[names[pid]] = by_name.get(names[pid], 0) + last[pid] - first[pid]
    return {
        "seconds": wall,
        "cpu_percent": 100.0 * ticks / CLK_TCK / wall,
        "cpu_seconds": ticks / CLK_TCK,
        "cpu_percent_by_process": {n: 100.0 * t / CLK_TCK / wall for n, t in by_name.items()},
        "samples": len(rss),
        "rss_mean": statistics.mean(rss) if rss else 0.0,
        "rss_max": max(rss) if rss else 0.0,
        "anon_mean": statistics.mean(anon) if anon else 0.0,
        "anon_max": max(anon) if anon else 0.0,
        "pss_mean": statistics.mean(pss) if pss else 0.0,
        "pss_max": max(pss) if pss else 0.0,
    }


# ---------------------------------------------------------------------------------------------
# The control socket (crates/engine/src/control/proto.rs): one JSON object per line, hello first.


class ControlError(Exception):
    pass


class Control:
    """A blocking control client: the hello, then calls (or `subscribe`, after which the
    connection only carries events). Every read is bounded by the socket's timeout and by the
    protocol's largest reply (8 MiB)."""

    MAX_FRAME = 8 * 1024 * 1024

    def __init__(self, path, role="cli", timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.buffer = b""
        try:
            self.sock.connect(path)
            self.next_id = 0
            self.send({"hello": {"protocol": 1, "version": "bench-tray", "role": role}})
            frame = self.read()
        except (OSError, ValueError, ControlError):
            self.sock.close()
            raise
        if "hello" not in frame:
            self.close()
            raise ControlError(f"the service answered the hello with {frame}")
        self.service = frame["hello"]

    def send(self, frame):
        self.sock.sendall(json.dumps(frame).encode() + b"\n")

    def read(self):
        """The next frame. A timeout (socket.timeout) leaves a partial frame in the buffer, so
        the caller may simply read again."""
        while b"\n" not in self.buffer:
            if len(self.buffer) > self.MAX_FRAME:
                raise ControlError("a frame over 8 MiB")
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ControlError("the service closed the connection")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def call(self, name, args=None):
        self.next_id += 1
        frame = {"id": self.next_id, "call": name}
        if args is not None:
            frame["args"] = args
        self.send(frame)
        reply = self.read()
        if reply.get("error"):
            raise ControlError(f"{name}: {reply['error']}")
        return reply.get("result")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def control_call(path, name, args=None, timeout=10.0):
    client = Control(path, timeout=timeout)
    try:
        return client.call(name, args)
    finally:
        client.close()


class Subscriber:
    """A subscription on its own thread: every frame with the wall time it arrived."""

    def __init__(self, path):
        self.frames = []
        self.error = None
        self.stopped = threading.Event()
        self.client = Control(path, role="cli", timeout=1.0)
        self.client.send({"id": 1, "call": "subscribe"})
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopped.is_set():
            try:
                frame = self.client.read()
            except socket.timeout:
                continue
            except (OSError, ValueError, ControlError) as e:
                self.error = f"{type(e).__name__}: {e}"
                return
            self.frames.append((time.time(), frame))

    def level_changes(self):
        """(engine.at as Unix seconds, from, to, arrival) of every level_changed event so far."""
        found = []
        for arrived, frame in list(self.frames):
            engine = frame.get("engine") if frame.get("event") == "engine" else None
            if engine and engine.get("event") == "level_changed":
                found.append((unix(engine["at"]), engine["from"], engine["to"], arrived))
        return found

    def close(self):
        self.stopped.set()
        self.thread.join(timeout=3)
        self.client.close()


def unix(rfc3339):
    """Unix seconds of an RFC 3339 timestamp with up to nanoseconds (chrono's output)."""
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", rfc3339)
    if not match:
        raise ValueError(f"not a timestamp: {rfc3339!r}")
    base, fraction, zone = match.groups()
    zone = "+00:00" if zone == "Z" else zone
    seconds = datetime.fromisoformat(base + zone).timestamp()
    return seconds + (int(fraction) / 10 ** len(fraction) if fraction else 0.0)


# ---------------------------------------------------------------------------------------------
# Inside the session


def load_module(name, relative):
    path = os.path.join(ROOT, relative)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_e2e():
    """The tray helpers (busctl, dbusmenu, icon pixels, X windows, /proc) of the end-to-end test,
    with the level colours read from crates/core/src/tray.rs (`level_color`)."""
    module = load_module("tray_e2e", os.path.join("tests", "e2e", "tray_e2e.py"))
    module.DEADLINE = float("inf")  # the benchmark sets its own bounds
    module.COLORS.clear()
    module.COLORS.update(level_colors())
    return module


def level_colors():
    with open(os.path.join(ROOT, "crates", "core", "src", "tray.rs"), encoding="utf-8") as f:
        source = f.read()
    body = source[source.index("pub fn level_color"):]
    body = body[: body.index("\n}\n")]
    colors = {}
    for name, r, g, b in re.findall(
        r"Level::(\w+) => Rgb\(0x([0-9A-Fa-f]{2}), 0x([0-9A-Fa-f]{2}), 0x([0-9A-Fa-f]{2})\)", body
    ):
        colors[name.lower()] = (int(r, 16), int(g, 16), int(b, 16))
    if "operational" not in colors:
        raise RuntimeError("could not read level_color from crates/core/src/tray.rs")
    return colors


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class Bench:
    def __init__(self, args):
        self.args = args
        self.e2e = load_e2e()
        self.procs = self.e2e.Procs()
        self.run_dir = os.environ["E2E_DIR"]
        self.runtime = os.environ["XDG_RUNTIME_DIR"]
        self.results = {"binaries": {"tray": APP, "service": SERVICE, "simulator": SIM},
                        "quick": args.quick, "phases": args.phases}
        self.misses = []
        self.sim_url = None
        self.app = None
        self.item = None

    # -- the session

    def start_session(self):
        """The tray bar (watcher and host), dunst and the simulator (`healthy`, real clock)."""
        self.e2e.start_tray(self.procs, size=32)
        self.procs.start("dunst", ["dunst"], log_path=self.path("dunst.log"))
        sim = self.procs.start("simulator", [SIM, "--scenario", "healthy"],
                               log_path=self.path("sim.log"), stdout=subprocess.PIPE)
        line = sim.stdout.readline().decode()
        match = re.search(r"listening on (http://\S+)", line)
        if not match:
            raise RuntimeError(f"the simulator did not start: {line!r}")
        self.sim_url = match.group(1).rstrip("/")

    def path(self, name):
        return os.path.join(self.run_dir, name)

    def env(self, name, **extra):
        """The environment of the service and the tray of one phase: its own data directory and
        socket, the simulator, the release service binary."""
        data_dir = self.path(f"data-{name}")
        os.makedirs(data_dir, exist_ok=True)
        env = dict(os.environ)
        env.pop(INNER, None)
        env.update({
            "CLAUDE_STATUS_STATUS_URL": self.sim_url,
            "ANTHROPIC_BASE_URL": self.sim_url,
            "CLAUDE_STATUS_DATA_DIR": data_dir,
            "CLAUDE_STATUS_SOCKET": os.path.join(self.runtime, f"bench-{name}.sock"),
            "CLAUDE_STATUS_SERVICE_BIN": SERVICE,
            "CLAUDE_STATUS_LOG": "info",
            "NO_COLOR": "1",
        })
        env.update(extra)
        return env

    def start_service(self, env, name):
        """`claude-status service run`, started by this script in a process group of its own;
        returns once it answers with a checked snapshot: (process, snapshot)."""
        proc = self.procs.start(f"service {name}", [SERVICE, "service", "run"],
                                log_path=self.path(f"service-{name}.log"), env=env, group=True)
        sock = env["CLAUDE_STATUS_SOCKET"]

        def checked():
            if proc.poll() is not None:
                raise self.e2e.Gone(f"the service exited with status {proc.returncode}")
            snapshot = control_call(sock, "snapshot", {}, timeout=2)
            return snapshot if snapshot.get("checked_at") and snapshot.get("level") != "unknown" else None

        snapshot, took = self.e2e.wait_until("the service's first checked snapshot", checked, 60,
                                             interval=0.1)
        log(f"    service pid {proc.pid}: {snapshot['level']} after {took:.2f} s")
        return proc, snapshot

    def service_pid(self, env):
        """The service's pid from its hello (None when none answers)."""
        try:
            client = Control(env["CLAUDE_STATUS_SOCKET"], timeout=2)
        except (OSError, ControlError, ValueError):
            return None
        try:
            return client.service.get("pid")
        finally:
            client.close()

    def stop_service(self, env, pid):
        try:
            control_call(env["CLAUDE_STATUS_SOCKET"], "stop", timeout=5)
        except (OSError, ControlError, ValueError) as e:
            log(f"    stop: {e}")
        if pid:
            try:
                self.e2e.wait_until("the service to exit", lambda: not self.e2e.alive(pid), 15)
            except self.e2e.Timeout:
                log(f"    the service {pid} did not stop; killing it")
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass

    def launch(self, env, log_name, wanted_color=None, interval=0.005):
        """Starts the tray; returns (process, item, seconds to the item registered, seconds to
        the icon in `wanted_color`, or None when no colour is waited for)."""
        start = time.monotonic()
        app = self.procs.start("tray", [APP], log_path=self.path(log_name), env=env)

        def registered():
            if app.poll() is not None:
                raise self.e2e.Gone(f"the tray exited with status {app.returncode}")
            return self.e2e.find_item(app.pid)

        item, _ = self.e2e.wait_until("the tray item", registered, 30, interval=interval)
        took_item = time.monotonic() - start
        took_color = None
        if wanted_color:
            self.e2e.wait_until(f"the icon to be {wanted_color}",
                                lambda: self.e2e.is_color(item, wanted_color), 30, interval=interval)
            took_color = time.monotonic() - start
        return app, item, took_item, took_color

    def quit_tray(self, app, item):
        self.e2e.click_until(item, QUIT, lambda: app.poll() is not None, 10)
        if app.returncode != 0:
            self.misses.append(f"the tray exited with status {app.returncode} on Quit")
        # Let the watcher notice before the next launch.
        self.e2e.wait_until("the item to unregister", lambda: not self.e2e.registered_items(), 10)

    # -- phase "idle": figures 4, 1, 3 and 2

    def phase_idle(self):
        e2e = self.e2e
        idle_seconds = self.args.idle_seconds or (60.0 if self.args.quick else 600.0)
        open_cpu_seconds = 20.0 if self.args.quick else 60.0
        env = self.env("idle")
        log("phase idle: the service first, default settings, no API key")
        service, snapshot = self.start_service(env, "idle")
        level = snapshot["level"]
        if level not in e2e.COLORS:
            raise RuntimeError(f"no colour for the level {level!r}")
        r = self.results["idle"] = {"service_started_by": "this script", "level": level,
                                    "color": e2e.hex_rgb(e2e.COLORS[level])}

        # Figure 4: start to the coloured icon, with the service running; the last launch stays.
        starts, items = [], []
        for n in range(self.args.launches):
            app, item, took_item, took_color = self.launch(env, "tray-idle.log", wanted_color=level)
            starts.append(took_color)
            items.append(took_item)
            log(f"(4) launch {n + 1}: item registered {took_item * 1000:.0f} ms, icon {level} "
                f"{took_color * 1000:.0f} ms")
            if n < self.args.launches - 1:
                self.quit_tray(app, item)
        self.app, self.item = app, item
        r["start_to_color_ms"] = [round(t * 1000) for t in starts]
        r["start_to_color_ms_median"] = round(statistics.median(starts) * 1000)
        r["start_to_item_ms"] = [round(t * 1000) for t in items]
        r["start_to_item_ms_median"] = round(statistics.median(items) * 1000)
        if r["start_to_color_ms_median"] > TARGET_START_MS:
            self.misses.append(f"(4) tray start to a coloured icon: median "
                               f"{r['start_to_color_ms_median']} ms > {TARGET_START_MS} ms")
        assert e2e.service_pids() == [service.pid], f"services: {e2e.service_pids()}"

        roots = lambda: [self.app.pid, service.pid]  # noqa: E731 - a closure over the live tray

        # Figures 1 and 3: idle, the dashboard never opened.
        time.sleep(10)  # let start-up settle
        log(f"(1, 3) idle, dashboard never opened: {e2e.first_label(item)!r}; "
            f"measuring {idle_seconds:.0f} s")
        idle = measure(roots, idle_seconds, sample_every=10.0)
        idle.update(memory(roots()))
        r["never_opened"] = idle
        log(f"    {fmt_measure(idle)}")
        log(f"    now: {fmt_memory(idle)}")
        if idle["rss_max"] > TARGET_RSS_MIB:
            self.misses.append(f"(1) idle RSS summed: {idle['rss_max']:.1f} MiB > {TARGET_RSS_MIB} MiB")
        if idle["cpu_percent"] > TARGET_CPU_PERCENT:
            self.misses.append(f"(3) idle CPU: {idle['cpu_percent']:.3f} % > {TARGET_CPU_PERCENT} %")

        # Figure 2: open and close the dashboard 5 times.
        cycles = []
        for n in range(DASHBOARD_CYCLES):
            cycle = self.dashboard_cycle(n, roots, open_cpu_seconds if n == 0 else None)
            cycles.append(cycle)
            if n == 0:
                r["dashboard_open"] = cycle["open"]
        r["cycles"] = cycles
        time.sleep(5)
        after = measure(roots, 10.0, sample_every=1.0)
        after.update(memory(roots()))
        after["dashboard_left"] = e2e.dashboard_pids()
        after["webkit_left"] = [n for n in memory(roots())["processes"] if n.startswith("WebKit")]
        r["after_cycles"] = after
        ratio = after["rss_mean"] / idle["rss_mean"] - 1.0
        r["after_cycles_change"] = ratio
        log(f"(2) after {DASHBOARD_CYCLES} dashboards: {fmt_memory(after)}; "
            f"{ratio * 100:+.1f} % against the idle mean")
        if ratio > TARGET_BACK_WITHIN:
            self.misses.append(f"(2) after {DASHBOARD_CYCLES} dashboards: RSS mean "
                               f"{after['rss_mean']:.1f} MiB is {ratio * 100:+.1f} % of the idle "
                               f"{idle['rss_mean']:.1f} MiB (> +{TARGET_BACK_WITHIN * 100:.0f} %)")
        if after["dashboard_left"] or after["webkit_left"]:
            self.misses.append(f"(2) dashboard processes left: {after['dashboard_left']} "
                               f"{after['webkit_left']}")
        if self.app.poll() is not None:
            self.misses.append("the tray exited while the dashboard opened and closed")

        self.quit_tray(self.app, self.item)
        assert e2e.alive(service.pid), "the service ended with the tray's Quit"
        self.stop_service(env, service.pid)

    def dashboard_cycle(self, n, roots, cpu_seconds):
        """One "Open dashboard" and close; the open dashboard's memory (and CPU for the first)."""
        e2e = self.e2e
        start = time.monotonic()
        windows, took, clicks = e2e.click_until(self.item, OPEN_DASHBOARD, e2e.dashboard_windows, 30)
        window = windows[0]
        pids = e2e.dashboard_pids()
        if len(pids) != 1:
            raise AssertionError(f"dashboard processes after Open: {pids}")
        dashboard = pids[0]
        # The page has loaded when WebKit's web process runs and its memory has stopped growing.
        e2e.wait_until("the dashboard's web process",
                       lambda: any(name_of(p).startswith("WebKitWebProcess") for p in tree([dashboard])), 20)
        wait_open = 10.0 if cpu_seconds else 4.0
        time.sleep(wait_open)
        opened = memory(roots())
        opened["dashboard_only"] = memory([dashboard])
        opened["window_after_s"] = took
        if cpu_seconds:
            opened.update(measure(roots, cpu_seconds, sample_every=5.0))
        log(f"(2) dashboard {n + 1}: window after {took:.2f} s ({clicks} click(s)); "
            f"dashboard process tree {fmt_memory(opened['dashboard_only'])}; total RSS "
            f"{opened['rss']:.1f} MiB" + (f"; CPU over {cpu_seconds:.0f} s "
                                          f"{opened['cpu_percent']:.2f} %" if cpu_seconds else ""))
        helpers = [p for p in tree([self.app.pid]) if name_of(p).startswith("WebKit")
                   and (stat_of(p) or ("", 0))[1] == self.app.pid]
        if helpers:
            self.misses.append(f"the tray has WebKit processes of its own: {helpers}")
        closed_at = time.monotonic()
        e2e.close_window(window)
        e2e.wait_until("the dashboard window to close", lambda: not e2e.dashboard_windows(), 15)
        family = tree([dashboard])
        try:
            e2e.wait_until(
                "the dashboard's processes to end",
                lambda: not any(e2e.alive(p) for p in family + e2e.dashboard_pids()), 20, interval=0.02)
            gone, gone_after = True, time.monotonic() - closed_at
        except e2e.Timeout:
            gone, gone_after = False, None
        state = (e2e.proc_stat(dashboard) or ("gone",))[0]
        # The tray reaps its dashboards and logs how each ended ("closed" is exit status 0).
        def ending_logged():
            with open(self.path("tray-idle.log"), encoding="utf-8", errors="replace") as f:
                return re.findall(rf"the dashboard \(pid {dashboard}\) (closed|ended: .*)", f.read())

        try:
            ending, _ = e2e.wait_until("the tray to log the dashboard's end", ending_logged, 5)
        except e2e.Timeout:
            ending = []
        exit_status = "0" if ending[:1] == ["closed"] else (ending[0] if ending else "not logged")
        if ending and ending[0] != "closed":
            self.misses.append(f"(2) dashboard {n + 1} {ending[0]}")
        if not gone:
            self.misses.append(f"(2) dashboard {n + 1}: its processes still run 20 s after the close")
        if state == "Z":
            log(f"    dashboard {dashboard} is a zombie (not reaped yet)")
        log(f"    closed (WM_DELETE_WINDOW): the dashboard and its WebKit processes ended "
            f"{gone_after if gone_after is not None else float('nan'):.2f} s after the close "
            f"(exit status: {exit_status})")
        return {"pid": dashboard, "open": opened, "processes_gone": gone,
                "gone_after_s": gone_after,
                "reaped": state != "Z", "exit": exit_status, "cycle_s": time.monotonic() - start,
                "close": "WM_DELETE_WINDOW client message"}

    # -- phase "gateway": figure 6

    def phase_gateway(self):
        e2e = self.e2e
        port = e2e.free_port()
        env = self.env("gateway")
        data_dir = env["CLAUDE_STATUS_DATA_DIR"]
        with open(os.path.join(data_dir, "settings.json"), "w", encoding="utf-8") as f:
            json.dump({"gateway": True, "gateway_port": port}, f)
        log(f"phase gateway: the gateway on 127.0.0.1:{port}; no service runs, the tray starts one")
        r = self.results["gateway"] = {"port": port, "clients": LOAD_CLIENTS,
                                       "rate": self.args.load_rate or "closed loop"}
        app, item, _, _ = self.launch(env, "tray-gateway.log")
        pid, _ = e2e.wait_until("the service the tray started", lambda: self.service_pid(env), 15)
        parent = (e2e.proc_stat(pid) or ("", 0, 0))[1]
        r["service_pid"] = pid
        r["service_parent_is_tray"] = parent == app.pid
        wanted = f"Gateway on 127.0.0.1:{port}"
        e2e.wait_until("the gateway's menu line", lambda: wanted in str(e2e.menu_entries(item)), 30)
        level = control_call(env["CLAUDE_STATUS_SOCKET"], "snapshot", {})["level"]
        e2e.wait_until(f"the icon to be {level}", lambda: e2e.is_color(item, level), 30)
        log(f"    service pid {pid} (started by the tray: {parent == app.pid}); {wanted}")

        load = Load(port, LOAD_CLIENTS, self.args.load_rate)
        load.start()
        time.sleep(3)
        kills = []
        for n in range(TRAY_KILLS):
            os.kill(app.pid, signal.SIGKILL)
            app.wait(timeout=10)
            time.sleep(1.0)  # the load runs on with no tray at all
            app, item, took_item, took_color = self.launch(env, "tray-gateway.log", wanted_color=level,
                                                           interval=0.02)
            alive_pid = self.service_pid(env)
            kills.append({"item_ms": round(took_item * 1000), "color_ms": round(took_color * 1000),
                          "service_pid": alive_pid, "sent_so_far": load.sent()})
            log(f"(6) SIGKILL {n + 1}: tray again, icon {level} {took_color * 1000:.0f} ms after its "
                f"start (under load); service pid {alive_pid}; {load.sent()} requests so far")
            time.sleep(2.0)
        time.sleep(2.0)
        load.stop()
        r["kills"] = kills
        r["load"] = load.report()
        log(f"    load: {r['load']['sent']} requests in {r['load']['seconds']:.1f} s "
            f"({r['load']['rate']:.0f}/s), outcomes {r['load']['outcomes']}")

        # The meter writes on its own tasks: wait until its counters and the ledger stop moving.
        sock = env["CLAUDE_STATUS_SOCKET"]
        ledger = os.path.join(data_dir, "claude-status.sqlite3")
        previous = {"value": None}

        def settled():
            stats = (control_call(sock, "gateway") or {}).get("stats") or {}
            rows = ledger_rows(ledger)
            now = (stats.get("requests"), stats.get("metered"), stats.get("metering_dropped"), rows)
            same = now == previous["value"]
            previous["value"] = now
            return (stats, rows) if same and stats.get("in_flight", 1) == 0 else None

        (stats, rows), _ = e2e.wait_until("the metering to settle", settled, 30, interval=1.0)
        r["stats"] = stats
        r["ledger_rows"] = rows
        sent, failed = r["load"]["sent"], r["load"]["failed"]
        lost = max(0, sent - rows)
        dropped = stats.get("metering_dropped", 0)
        r["metering_lost"] = lost
        services = {k["service_pid"] for k in kills} | {pid}
        r["service_pids_seen"] = sorted(p for p in services if p)
        log(f"    gateway stats: requests {stats.get('requests')}, ok {stats.get('outcomes', {}).get('ok')}, "
            f"metered {stats.get('metered')}, metering_dropped {dropped}, ledger_errors "
            f"{stats.get('ledger_errors')}; ledger rows {rows}")
        if failed:
            self.misses.append(f"(6) {failed} of {sent} requests failed: {r['load']['outcomes']}")
        if lost > dropped:
            self.misses.append(f"(6) {lost} requests not in the ledger, {dropped} counted in "
                               f"metering_dropped")
        if stats.get("requests") != sent:
            self.misses.append(f"(6) the gateway counted {stats.get('requests')} requests, the "
                               f"clients sent {sent} (a restarted service?)")
        if len(r["service_pids_seen"]) != 1:
            self.misses.append(f"(6) the service changed: pids {r['service_pids_seen']}")
        self.quit_tray(app, item)
        self.stop_service(env, pid)

    # -- phase "latency": figure 5

    def phase_latency(self):
        e2e = self.e2e
        # A key only the simulator sees: without one every probe is a 401 (the simulator, like the
        # API, checks the key first), which proves reachability whatever the scenario says.
        env = self.env("latency", CLAUDE_STATUS_PROBE_INTERVAL="2s",
                       CLAUDE_STATUS_CONFIRM_INTERVAL="300ms",
                       ANTHROPIC_API_KEY="sk-ant-bench-simulator-only")
        log("phase latency: probes every 2 s, confirmations every 300 ms, a dummy key")
        r = self.results["latency"] = {}
        self.sim_scenario("healthy")
        service, snapshot = self.start_service(env, "latency")
        # The menu's signals: LayoutUpdated when the tray replaces the menu (its items changed),
        # ItemsPropertiesUpdated when it only relabels the status lines in place; and the item's
        # NewIcon.
        monitor_log = self.path("menu-signals.log")
        open(monitor_log, "w").close()
        self.procs.start(
            "dbus-monitor",
            ["dbus-monitor", "--session", "type='signal',interface='com.canonical.dbusmenu'",
             "type='signal',interface='org.kde.StatusNotifierItem',member='NewIcon'"],
            log_path=monitor_log,
        )
        e2e.wait_until("dbus-monitor", lambda: os.path.getsize(monitor_log) > 0, 10)
        app, item, _, _ = self.launch(env, "tray-latency.log", wanted_color=snapshot["level"])
        menu_path = e2e.item_properties(item)["Menu"]
        page = Page(self, env)
        try:
            page_error = page.open()
        except Exception as e:  # noqa: BLE001 - the menu's figure stands without the page
            page_error = f"{type(e).__name__}: {e}"
        if page_error:
            log(f"    no page timestamps: {page_error}")
        r["page_error"] = page_error
        subscriber = Subscriber(env["CLAUDE_STATUS_SOCKET"])
        time.sleep(3)
        try:
            for n in range(self.args.changes):
                scenario = "outage" if n % 2 == 0 else "healthy"
                before = len(subscriber.level_changes())
                switched = time.time()
                self.sim_scenario(scenario)
                changes, took = e2e.wait_until(
                    f"a level change after switching to {scenario}",
                    lambda: subscriber.level_changes()[before:] or None, 40, interval=0.05)
                log(f"(5) {scenario}: {', '.join(f'{c[1]} → {c[2]}' for c in changes)} "
                    f"{changes[0][0] - switched:.2f} s after the switch")
                # Let the level settle (unknown → outage, say) and the front ends catch up.
                time.sleep(4.0)
        finally:
            subscriber.close()
            page_marks = page.marks() if not page_error else None
            page.close()
        r["events"] = subscriber.level_changes()
        signals = bus_signals(monitor_log)
        menu_signals = [(t, member, body) for t, member, path, body in signals if path == menu_path]
        icon_signals = [t for t, member, path, _ in signals if member == "NewIcon" and path == item[1]]
        r["menu_signals"] = {m: sum(1 for _, x, _ in menu_signals if x == m)
                             for m in sorted({x for _, x, _ in menu_signals})}
        r["new_icons"] = len(icon_signals)
        rows = []
        for at, old, new, arrived in r["events"]:
            row = {"at": at, "from": old, "to": new, "subscriber_ms": (arrived - at) * 1000}
            # The signal that carries the change: a new menu (LayoutUpdated), or the first line
            # relabelled with the new level ("Outage — …").
            carrying = f'string "{level_label(new)}'
            later = [(t, m) for t, m, body in menu_signals
                     if t >= at and (m == "LayoutUpdated" or carrying in body)]
            row["menu_ms"] = (later[0][0] - at) * 1000 if later else None
            row["menu_signal"] = later[0][1] if later else None
            layout = [t for t, m, _ in menu_signals if t >= at and m == "LayoutUpdated"]
            row["layout_ms"] = (layout[0] - at) * 1000 if layout else None
            icon = [t for t in icon_signals if t >= at]
            row["icon_ms"] = (icon[0] - at) * 1000 if icon else None
            if page_marks:
                got = [t / 1000 for t, lvl in page_marks["events"] if lvl == new and t / 1000 >= at]
                row["page_event_ms"] = (got[0] - at) * 1000 if got else None
                shown = [(t / 1000, f) for t, text, f in page_marks["shown"]
                         if (text or "").strip() == level_label(new) and t / 1000 >= at]
                row["page_dom_ms"] = (shown[0][0] - at) * 1000 if shown else None
                row["page_frame_ms"] = ((shown[0][1] / 1000 - at) * 1000
                                        if shown and shown[0][1] else None)
            rows.append(row)
        r["changes"] = rows
        r["page_marks"] = page_marks
        for key in ("menu_ms", "layout_ms", "icon_ms", "page_event_ms", "page_dom_ms",
                    "page_frame_ms", "subscriber_ms"):
            values = [row[key] for row in rows if row.get(key) is not None]
            r[key] = summary(values)
        if len(rows) < 5:
            self.misses.append(f"(5) only {len(rows)} level changes observed")
        for key, what in (("menu_ms", "the tray menu"), ("page_dom_ms", "the dashboard page")):
            s = r[key]
            if key == "page_dom_ms" and page_error:
                continue
            missing = sum(1 for row in rows if row.get(key) is None)
            if missing:
                self.misses.append(f"(5) {missing} of {len(rows)} changes never reached {what}")
            if s and s["max"] > TARGET_CHANGE_MS:
                self.misses.append(f"(5) a snapshot change to {what}: max {s['max']:.1f} ms > "
                                   f"{TARGET_CHANGE_MS} ms")
        if page_error:
            self.misses.append(f"(5) the page's timestamps were not taken: {page_error}")
        self.quit_tray(app, item)
        self.stop_service(env, service.pid)

    def sim_scenario(self, name):
        request = urllib.request.Request(f"{self.sim_url}/_sim/scenario?name={name}", method="POST",
                                         data=b"")
        with urllib.request.urlopen(request, timeout=5) as reply:
            return json.loads(reply.read())

    # -- the gateway's footprint (--gateway-load)

    def gateway_footprint(self, rate):
        e2e = self.e2e
        load_seconds = 20.0 if self.args.quick else 60.0
        port = e2e.free_port()
        env = self.env("gateway-load")
        with open(os.path.join(env["CLAUDE_STATUS_DATA_DIR"], "settings.json"), "w",
                  encoding="utf-8") as f:
            json.dump({"gateway": True, "gateway_port": port}, f)
        r = self.results["gateway_load"] = {"rate": rate, "clients": LOAD_CLIENTS}
        app, item, _, _ = self.launch(env, "tray-gateway-load.log")
        pid, _ = e2e.wait_until("the service", lambda: self.service_pid(env), 15)
        wanted = f"Gateway on 127.0.0.1:{port}"
        e2e.wait_until("the gateway's menu line", lambda: wanted in str(e2e.menu_entries(item)), 30)
        time.sleep(10)  # let start-up settle
        roots = lambda: [app.pid, pid]  # noqa: E731
        log(f"gateway on {port}; idle for 20 s")
        r["idle"] = measure(roots, 20.0, sample_every=5.0)
        log(f"    {fmt_measure(r['idle'])}")
        load = Load(port, LOAD_CLIENTS, rate)
        load.start()
        time.sleep(3)  # the load reaches its pace
        log(f"{rate:.0f} requests/s through the gateway; measuring {load_seconds:.0f} s")
        before = load.sent()
        loaded = measure(roots, load_seconds, sample_every=2.0)
        loaded["achieved_rate"] = (load.sent() - before) / loaded["seconds"]
        load.stop()
        loaded["outcomes"] = load.report()["outcomes"]
        loaded.update(memory(roots()))
        r["loaded"] = loaded
        log(f"    {fmt_measure(loaded)}; {loaded['achieved_rate']:.1f} requests/s, {loaded['outcomes']}")
        self.quit_tray(app, item)
        self.stop_service(env, pid)

    # -- the whole run

    def main(self):
        os.makedirs(SCRATCH, exist_ok=True)
        try:
            self.start_session()
            if self.args.gateway_load:
                self.gateway_footprint(self.args.gateway_load)
                print_gateway_load(self.results)
                self.write("results-gateway.json")
                return 0
            for phase in self.args.phases:
                try:
                    getattr(self, f"phase_{phase}")()
                except Exception as e:  # noqa: BLE001 - report it, and go on with the next phase
                    self.misses.append(f"phase {phase} failed: {type(e).__name__}: {e}")
                    log(f"phase {phase} FAILED: {type(e).__name__}: {e}")
                    traceback.print_exc()
                    for pid in self.e2e.dashboard_pids() + self.e2e.service_pids():
                        try:
                            os.kill(pid, signal.SIGTERM)
                        except OSError:
                            pass
                    for name, proc in self.procs.started:
                        if name == "tray":
                            self.e2e.stop(proc)
        finally:
            self.procs.stop_all()
            for pid in self.e2e.dashboard_pids() + self.e2e.service_pids():
                try:
                    os.kill(pid, signal.SIGTERM)
                except OSError:
                    pass
        self.results["misses"] = self.misses
        print_table(self.results, self.args)
        self.write("results.json")
        for miss in self.misses:
            print(f"MISSED: {miss}")
        return 1 if self.misses else 0

    def write(self, name):
        with open(os.path.join(SCRATCH, name), "w", encoding="utf-8") as f:
            json.dump(self.results, f, indent=2, default=str)


def ledger_rows(path):
    """The gateway's rows in the service's usage ledger (SQLite, read-only)."""
    if not os.path.exists(path):
        return 0
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return db.execute("SELECT COUNT(*) FROM usage_ledger WHERE source = 'gateway'").fetchone()[0]
    finally:
        db.close()


def bus_signals(path):
    """(Unix time, member, object path, body) of each signal dbus-monitor logged (its `time=`;
    the body is the lines printed under the header)."""
    found = []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return found
    for block in re.split(r"\n(?=\S)", text):
        header, _, body = block.partition("\n")
        match = re.match(r"signal time=([\d.]+) .*path=([^;]+); interface=([^;]+); member=(\w+)",
                         header)
        if match:
            found.append((float(match.group(1)), match.group(4), match.group(2), body))
    return found


def level_label(level):
    """The level as the menu's first line and the page spell it ("Outage")."""
    return level[:1].upper() + level[1:]


def summary(values):
    if not values:
        return None
    return {"n": len(values), "min": min(values), "median": statistics.median(values),
            "max": max(values)}


class Load:
    """`clients` threads sending Messages requests (JSON answers) through the gateway, each on a
    keep-alive connection: at `rate` requests/s in all, or each as soon as its last answer came
    (rate 0). A failure is any answer but 200, or no answer."""

    BODY = json.dumps({"model": "claude-sonnet-4-6", "max_tokens": 16,
                       "messages": [{"role": "user", "content": "hi"}]}).encode()
    HEADERS = {"content-type": "application/json", "anthropic-version": "2023-06-01",
               "x-api-key": "sk-ant-bench-simulator-only"}

    def __init__(self, port, clients, rate):
        self.port, self.clients, self.rate = port, clients, rate
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.outcomes = {}
        self.threads = []
        self.started = self.ended = None

    def start(self):
        self.started = time.monotonic()
        self.threads = [threading.Thread(target=self.client, args=(i,), daemon=True)
                        for i in range(self.clients)]
        for thread in self.threads:
            thread.start()

    def client(self, index):
        import http.client

        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        interval = self.clients / self.rate if self.rate else 0.0
        next_at = time.monotonic() + (index * interval / self.clients if interval else 0.0)
        while not self.stopping.is_set():
            if interval:
                pause = next_at - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                next_at += interval
            try:
                connection.request("POST", "/v1/messages", body=self.BODY, headers=self.HEADERS)
                reply = connection.getresponse()
                reply.read()
                key = str(reply.status)
            except (OSError, http.client.HTTPException) as e:
                key = type(e).__name__
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            with self.lock:
                self.outcomes[key] = self.outcomes.get(key, 0) + 1
        connection.close()

    def sent(self):
        with self.lock:
            return sum(self.outcomes.values())

    def stop(self):
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=35)
        self.ended = time.monotonic()

    def report(self):
        seconds = (self.ended or time.monotonic()) - self.started
        sent = self.sent()
        return {"sent": sent, "seconds": seconds, "rate": sent / seconds if seconds else 0.0,
                "outcomes": dict(self.outcomes),
                "failed": sum(n for k, n in self.outcomes.items() if k != "200")}


class Page:
    """A dashboard process opened through tauri-driver and WebKitWebDriver, so that a script can
    take timestamps in its page: when a `snapshot-changed` event arrives (a listener of its own,
    through `__TAURI_INTERNALS__`, beside the page's), and when the level's text changes in the
    DOM (a MutationObserver), with the next animation frame after that."""

    SCRIPT = r"""
        const bench = window.__claudeStatusBench = {events: [], shown: []};
        const now = () => performance.timeOrigin + performance.now();
        const T = window.__TAURI_INTERNALS__;
        const handler = T.transformCallback((event) => {
            bench.events.push([now(), event && event.payload ? event.payload.level : null]);
        });
        T.invoke('plugin:event|listen',
                 {event: 'snapshot-changed', target: {kind: 'Any'}, handler: handler});
        const levelText = () => {
            const el = document.querySelector('[data-testid="level"]');
            return el ? el.textContent : null;
        };
        let last = levelText();
        new MutationObserver(() => {
            const text = levelText();
            if (text !== last) {
                last = text;
                const entry = [now(), text, null];
                bench.shown.push(entry);
                requestAnimationFrame(() => { entry[2] = now(); });
            }
        }).observe(document.body, {subtree: true, childList: true, characterData: true});
        return last;
    """

    def __init__(self, bench, env):
        self.bench = bench
        self.env = env
        self.driver = None
        self.wd = None

    def open(self):
        """Starts the session and the page's timestamps; returns None, or why not."""
        e2e = self.bench.e2e
        if not os.access(TAURI_DRIVER, os.X_OK):
            return f"{TAURI_DRIVER} is missing (tests/webdriver/run.sh installs it)"
        if not os.access(NATIVE_DRIVER, os.X_OK):
            return f"{NATIVE_DRIVER} is missing (Debian's webkit2gtk-driver)"
        wd_module = load_module("dashboard_webdriver",
                                os.path.join("tests", "webdriver", "dashboard_webdriver.py"))
        port, native = e2e.free_port(), e2e.free_port()
        while native == port:
            native = e2e.free_port()
        self.driver = self.bench.procs.start(
            "tauri-driver",
            [TAURI_DRIVER, f"--port={port}", f"--native-port={native}",
             f"--native-driver={NATIVE_DRIVER}"],
            log_path=self.bench.path("tauri-driver.log"), env=self.env,
        )

        def listening():
            if self.driver.poll() is not None:
                raise e2e.Gone(f"tauri-driver exited with {self.driver.returncode}")
            return all(wd_module.port_open(p) for p in (port, native))

        e2e.wait_until("tauri-driver to listen", listening, 15, interval=0.05)
        self.wd = wd_module.WebDriver(port)
        self.wd.new_session({"browserName": "wry",
                             "tauri:options": {"application": APP, "args": ["--dashboard"]}})

        def loaded():
            text = self.wd.script(
                "const el = document.querySelector('[data-testid=\"level\"]');"
                "return el ? el.textContent : null;")
            return text if text and text != "Loading…" else None

        level, took = e2e.wait_until("the dashboard's level", loaded, 30, interval=0.2)
        log(f"    dashboard (WebDriver) shows {level!r} after {took:.2f} s; "
            f"pids {e2e.dashboard_pids()}")
        self.wd.script(self.SCRIPT)
        return None

    def marks(self):
        if not self.wd or not self.wd.session:
            return None
        return self.wd.script("return window.__claudeStatusBench || null;")

    def close(self):
        if self.wd and self.wd.session:
            try:
                self.wd.delete_session()
            except Exception as e:  # noqa: BLE001 - the process ends with the driver anyway
                log(f"    closing the WebDriver session: {e}")
        if self.driver:
            self.bench.e2e.stop(self.driver)
        try:
            self.bench.e2e.wait_until("the WebDriver dashboard to end",
                                      lambda: not self.bench.e2e.dashboard_pids(), 10)
        except self.bench.e2e.Timeout:
            for pid in self.bench.e2e.dashboard_pids():
                os.kill(pid, signal.SIGTERM)


# ---------------------------------------------------------------------------------------------
# Output


def fmt_memory(m):
    return (f"RSS {m['rss']:.1f} MiB, PSS {m['pss']:.1f} MiB, anon {m['anon']:.1f} MiB over "
            f"{len(m['processes'])} process(es)")


def fmt_measure(m):
    return (f"CPU {m['cpu_percent']:.3f} % ({m['cpu_seconds']:.2f} s over {m['seconds']:.0f} s); "
            f"RSS mean {m['rss_mean']:.1f} / max {m['rss_max']:.1f} MiB; "
            f"PSS mean {m['pss_mean']:.1f}; anon mean {m['anon_mean']:.1f} / max {m['anon_max']:.1f} MiB")


def verdict(ok):
    return "ok" if ok else "MISSED"


def ms(value):
    return "–" if value is None else f"{value:.1f}"


def print_table(r, args):
    def row(what, value, target=""):
        print(f"  {what:<50} {value:>24}   {target}")

    def per_process(m, indent="      "):
        for name, f in m["per_process"].items():
            row(f"{indent}{name}", f"{f['rss']:.1f} MiB",
                f"(PSS {f['pss']:.1f}, anon {f['anon']:.1f} MiB)")

    print()
    print(f"Claude Status tray + service — {os.path.relpath(APP, ROOT)}, "
          f"{os.path.relpath(SERVICE, ROOT)} service run; simulator `healthy`"
          + (" (--quick)" if args.quick else ""))
    print(f"  {'':<50} {'measured':>24}   target")
    idle = r.get("idle")
    if idle:
        print(f"  idle phase: default settings (60 s probes), no API key; the service started "
              f"first by this script, level {idle['level']} ({idle['color']})")
        if "start_to_color_ms_median" in idle:
            med = idle["start_to_color_ms_median"]
            row("4. tray start → coloured icon (median)", f"{med} ms",
                f"≤ {TARGET_START_MS} ms  {verdict(med <= TARGET_START_MS)}  "
                f"(launches: {', '.join(map(str, idle['start_to_color_ms']))} ms)")
            row("   tray start → item registered (median)", f"{idle['start_to_item_ms_median']} ms",
                f"(launches: {', '.join(map(str, idle['start_to_item_ms']))} ms)")
        never = idle.get("never_opened")
        if never:
            print(f"  1./3. dashboard never opened, idle {never['seconds']:.0f} s "
                  f"({never['samples']} samples):")
            row("   processes", f"{len(never['processes'])}", ", ".join(never["processes"]))
            row("1. RSS summed (max over the window)", f"{never['rss_max']:.1f} MiB",
                f"≤ {TARGET_RSS_MIB} MiB  {verdict(never['rss_max'] <= TARGET_RSS_MIB)}")
            row("   RSS summed (mean)", f"{never['rss_mean']:.1f} MiB")
            row("   PSS summed (mean / max)", f"{never['pss_mean']:.1f} / {never['pss_max']:.1f} MiB")
            row("   anonymous (RssAnon) summed (mean / max)",
                f"{never['anon_mean']:.1f} / {never['anon_max']:.1f} MiB")
            per_process(never)
            row("3. CPU (one core = 100 %)", f"{never['cpu_percent']:.3f} %",
                f"≤ {TARGET_CPU_PERCENT} %  {verdict(never['cpu_percent'] <= TARGET_CPU_PERCENT)}  "
                f"({never['cpu_seconds']:.2f} s of CPU)")
            for name, share in never["cpu_percent_by_process"].items():
                row(f"      {name}", f"{share:.3f} %")
        opened = idle.get("dashboard_open")
        if opened:
            print(f"  dashboard open (the first of {DASHBOARD_CYCLES}; memory 10 s after the window, "
                  f"CPU over {opened.get('seconds', 0):.0f} s):")
            row("   processes", f"{len(opened['processes'])}", ", ".join(opened["processes"]))
            row("   RSS / PSS / anon summed",
                f"{opened['rss']:.1f} / {opened['pss']:.1f} / {opened['anon']:.1f} MiB")
            row("   of which the dashboard's process tree", f"{opened['dashboard_only']['rss']:.1f} MiB",
                f"(PSS {opened['dashboard_only']['pss']:.1f} MiB)")
            if "cpu_percent" in opened:
                row("   CPU", f"{opened['cpu_percent']:.2f} %")
            per_process(opened)
        cycles = idle.get("cycles")
        after = idle.get("after_cycles")
        if cycles and after and never:
            change = idle["after_cycles_change"]
            gone = all(c["processes_gone"] for c in cycles) and not after["dashboard_left"] \
                and not after["webkit_left"]
            print(f"  2. after opening and closing the dashboard {len(cycles)} times "
                  f"(closed by {cycles[0]['close']}):")
            row("   dashboard RSS per opening (process tree)",
                ", ".join(f"{c['open']['dashboard_only']['rss']:.0f}" for c in cycles) + " MiB")
            row("   dashboard exit status", ", ".join(c["exit"] for c in cycles))
            row("   its processes gone after the close",
                ", ".join(f"{c['gone_after_s']:.2f}" if c["gone_after_s"] is not None else "NO"
                          for c in cycles) + " s",
                f"all gone  {verdict(gone)}")
            row("   RSS summed, mean over 10 s", f"{after['rss_mean']:.1f} MiB",
                f"≤ idle mean {never['rss_mean']:.1f} MiB + {TARGET_BACK_WITHIN * 100:.0f} %  "
                f"{verdict(change <= TARGET_BACK_WITHIN)}  ({change * 100:+.1f} %)")
            row("   PSS / anon summed, mean", f"{after['pss_mean']:.1f} / {after['anon_mean']:.1f} MiB")
            row("   processes", f"{len(after['processes'])}", ", ".join(after["processes"]))
            per_process(after)
    gw = r.get("gateway")
    if gw and "load" in gw:
        load, stats = gw["load"], gw.get("stats") or {}
        print(f"  6. gateway under {gw['clients']} clients ({gw['rate']}) while the tray is "
              f"SIGKILLed and started {len(gw['kills'])} times (the service started by the tray: "
              f"{gw['service_parent_is_tray']}):")
        row("   requests sent / failed", f"{load['sent']} / {load['failed']}",
            f"0 failed  {verdict(load['failed'] == 0)}  ({load['rate']:.0f}/s over "
            f"{load['seconds']:.0f} s; {load['outcomes']})")
        row("   gateway: requests / ok / metered", f"{stats.get('requests')} / "
            f"{(stats.get('outcomes') or {}).get('ok')} / {stats.get('metered')}")
        row("   ledger rows / not metered / metering_dropped",
            f"{gw['ledger_rows']} / {gw['metering_lost']} / {stats.get('metering_dropped')}",
            f"lost ≤ dropped  {verdict(gw['metering_lost'] <= (stats.get('metering_dropped') or 0))}")
        row("   service pids seen", ", ".join(map(str, gw["service_pids_seen"])),
            f"one  {verdict(len(gw['service_pids_seen']) == 1)}")
        row("   restarted tray → coloured icon, under load",
            ", ".join(str(k["color_ms"]) for k in gw["kills"]) + " ms")
    lat = r.get("latency")
    if lat and "changes" in lat:
        print(f"  5. a snapshot change (engine event `at`) → front ends, {len(lat['changes'])} level "
              f"changes (healthy ⇄ outage; probes every 2 s), min / median / max:")

        def line(what, key, target=True):
            s = lat.get(key)
            value = "–" if not s else f"{ms(s['min'])} / {ms(s['median'])} / {ms(s['max'])} ms"
            missing = sum(1 for c in lat["changes"] if c.get(key) is None)
            note = f"  ({missing} missing)" if missing else ""
            ok = bool(s) and s["max"] <= TARGET_CHANGE_MS and not missing
            row(what, value, (f"≤ {TARGET_CHANGE_MS} ms  {verdict(ok)}" if target else "") + note)

        line("   → tray menu's signal carrying it", "menu_ms")
        row("     (signals seen)", ", ".join(f"{m} ×{n}" for m, n in lat["menu_signals"].items()))
        line("   → tray menu's next LayoutUpdated", "layout_ms", target=False)
        line("   → the item's NewIcon", "icon_ms", target=False)
        if lat.get("page_error"):
            row("   → page", "not measured", lat["page_error"])
        else:
            line("   → page shows the level (DOM text)", "page_dom_ms")
            line("   → page got snapshot-changed", "page_event_ms", target=False)
            line("   → the next animation frame", "page_frame_ms", target=False)
        line("   → this script's own subscription", "subscriber_ms", target=False)
        for c in lat["changes"]:
            row(f"      {c['from']} → {c['to']}",
                f"menu {ms(c['menu_ms'])} / page {ms(c.get('page_dom_ms'))} ms",
                f"(menu signal {c['menu_signal']}, LayoutUpdated {ms(c['layout_ms'])} ms, "
                f"NewIcon {ms(c['icon_ms'])} ms)")
    print()


def print_gateway_load(r):
    g = r["gateway_load"]
    print()
    print(f"Claude Status gateway (in the service) — {os.path.relpath(SERVICE, ROOT)}, "
          f"tray {os.path.relpath(APP, ROOT)}, simulator `healthy`, {g['clients']} client threads")
    for name, m in (("idle, no traffic (20 s)", g["idle"]),
                    (f"{g['loaded']['achieved_rate']:.1f} requests/s through the gateway "
                     f"({g['loaded']['seconds']:.0f} s)", g["loaded"])):
        print(f"  {name}:")
        print(f"      CPU (one core = 100 %) {m['cpu_percent']:.2f} % ("
              + ", ".join(f"{n} {v:.2f} %" for n, v in m["cpu_percent_by_process"].items())
              + f")   RSS mean {m['rss_mean']:.1f} / max {m['rss_max']:.1f} MiB   "
              f"anon max {m['anon_max']:.1f} MiB")
    print(f"  outcomes: {g['loaded']['outcomes']}")


def main():
    args = parse_args()
    os.makedirs(SCRATCH, exist_ok=True)
    if os.environ.get(INNER) == "1":
        return Bench(args).main()
    return outer(args)


if __name__ == "__main__":
    sys.exit(main())
