#!/usr/bin/env python3
"""Measures the footprint of the real tray app (release build) and prints it next to the targets.

Against the simulator in `healthy` (real clock), under Xvfb, a private D-Bus session and a
StatusNotifierItem watcher, at the default settings (a probe and a status-page poll every 60 s,
no API key):

  a. time from launch to the tray item registered with the watcher (median of 3 launches);
  b. idle footprint with the dashboard closed: RSS, anonymous memory (RssAnon) and PSS summed over
     all the app's processes, and CPU averaged over the window (600 s; 60 s with --quick);
  c. the same with the dashboard open ("Open dashboard" clicked through dbusmenu; memory 10 s
     later, CPU over 60 s, 20 s with --quick);
  d. after closing the dashboard: memory again, and whether WebKit's processes are gone.

Targets (issue): dashboard closed ≤ 130 MiB RSS summed, ≤ 40 MiB anonymous, ≤ 0.5 % CPU.
CPU is a share of one core: utime + stime of every process of the app over wall time.

With --gateway-load RATE it measures something else instead: the app with its local gateway on
(set in the settings file before launch), first idle, then while RATE requests a second (the
simulator's Messages API, JSON answers) go through the gateway from 8 client threads, as the
user's own code would send them: the app's CPU and memory, and the requests' outcomes.

Usage: scripts/bench-tray.py [--quick] [--no-build] [--idle-seconds N] [--launches N] [--debug]
                             [--gateway-load RATE]

Builds `cargo build --release -p claude-status-tray` (and the simulator) first; ui/dist must exist
(it is built with `npm ci && npm run build` when missing). Scratch goes to target/bench-tray/.
Results are also written to target/bench-tray/results.json. Exit status 1 if a target is missed.
"""

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
APP = os.path.join(ROOT, "target", "release", "claude-status-tray")
SIM = os.path.join(ROOT, "target", "release", "claude-status-sim")
SCRATCH = os.path.join(ROOT, "target", "bench-tray")
INNER = "CLAUDE_STATUS_BENCH_TRAY_INNER"

TARGET_RSS_MIB = 130
TARGET_ANON_MIB = 40
TARGET_CPU_PERCENT = 0.5

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="60 s idle window, 20 s dashboard CPU")
    parser.add_argument("--no-build", action="store_true", help="use the binaries as they are")
    parser.add_argument("--idle-seconds", type=float, help="idle measurement window (default 600)")
    parser.add_argument("--launches", type=int, default=3, help="launches timed for (a)")
    parser.add_argument("--gateway-load", type=float, metavar="RATE",
                        help="measure the app under RATE requests/s through its gateway instead")
    parser.add_argument("--debug", action="store_true",
                        help="measure target/debug instead (to try the script; not the figures)")
    args = parser.parse_args()
    if args.debug:
        global APP, SIM
        APP = os.path.join(ROOT, "target", "debug", "claude-status-tray")
        SIM = os.path.join(ROOT, "target", "debug", "claude-status-sim")
        args.no_build = True
    return args


# ---------------------------------------------------------------------------------------------
# Outside the session: build, then run this script again under Xvfb and D-Bus.


def build():
    subprocess.run(
        ["cargo", "build", "--release", "--locked", "-p", "claude-status-tray"], cwd=ROOT, check=True
    )
    subprocess.run(
        ["cargo", "build", "--release", "--locked", "-p", "claude-status-simulator"],
        cwd=ROOT,
        check=True,
    )


def outer(args):
    if not os.path.isfile(os.path.join(ROOT, "ui", "dist", "index.html")):
        print("==> building the UI (ui/dist)", flush=True)
        subprocess.run("npm ci --no-audit --no-fund && npm run build", shell=True,
                       cwd=os.path.join(ROOT, "ui"), check=True)
    if not args.no_build:
        print("==> cargo build --release -p claude-status-tray", flush=True)
        try:
            build()
        except subprocess.CalledProcessError:
            sys.exit("bench-tray: the release build failed (--no-build measures the binaries as they are)")
    for binary in (APP, SIM):
        if not os.access(binary, os.X_OK):
            sys.exit(f"{binary} is missing; run without --no-build")
    run_dir = os.path.join(SCRATCH, "run")
    subprocess.run(["rm", "-rf", run_dir], check=True)
    for sub in ("runtime", "data", "config", "cache", "app-data"):
        os.makedirs(os.path.join(run_dir, sub))
    os.chmod(os.path.join(run_dir, "runtime"), 0o700)
    env = dict(os.environ)
    env.pop("ANTHROPIC_API_KEY", None)
    for name in ("CLAUDE_STATUS_PROBE_INTERVAL", "CLAUDE_STATUS_CONFIRM_INTERVAL"):
        env.pop(name, None)
    env.update(
        {
            INNER: "1",
            "E2E_DIR": run_dir,
            "XDG_RUNTIME_DIR": os.path.join(run_dir, "runtime"),
            "XDG_DATA_HOME": os.path.join(run_dir, "data"),
            "XDG_CONFIG_HOME": os.path.join(run_dir, "config"),
            "XDG_CACHE_HOME": os.path.join(run_dir, "cache"),
            "CLAUDE_STATUS_DATA_DIR": os.path.join(run_dir, "app-data"),
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
        # Anything left with our runtime folder in its environment was started by this run.
        runtime = env["XDG_RUNTIME_DIR"]
        for pid in all_pids():
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    if f"XDG_RUNTIME_DIR={runtime}".encode() in f.read().split(b"\0"):
                        os.kill(pid, 9)
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


def tree(root):
    """The pid `root` and all its live (non-zombie) descendants."""
    children = {}
    for pid in all_pids():
        info = stat_of(pid)
        if info and info[3] != "Z":
            children.setdefault(info[1], []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        info = stat_of(pid)
        if info is None or info[3] == "Z":
            continue
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


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
    """The program's file name (from the command line: /proc/PID/stat cuts names at 15 bytes)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv0 = f.read().split(b"\0", 1)[0].decode(errors="replace")
    except OSError:
        return "?"
    return os.path.basename(argv0) or (stat_of(pid) or ("?",))[0]


def memory(root):
    """Summed VmRSS, RssAnon and PSS (MiB) over the app's processes, and their names."""
    pids = tree(root)
    names = [name_of(pid) for pid in pids]
    rss = sum(status_kib(pid, "VmRSS") for pid in pids) / 1024
    anon = sum(status_kib(pid, "RssAnon") for pid in pids) / 1024
    pss = sum(pss_kib(pid) for pid in pids) / 1024
    per_process = {
        f"{name_of(pid)}[{pid}]": {
            "rss": round(status_kib(pid, "VmRSS") / 1024, 1),
            "anon": round(status_kib(pid, "RssAnon") / 1024, 1),
        }
        for pid in pids
    }
    return {"rss": rss, "anon": anon, "pss": pss, "processes": names, "per_process": per_process}


def measure(root, seconds, sample_every=5.0):
    """CPU (% of one core) over `seconds` summed over the process tree, counting processes that
    come and go, plus memory sampled along the way (mean and peak of the sums)."""
    first, last = {}, {}
    start = time.monotonic()
    for pid in tree(root):
        info = stat_of(pid)
        if info:
            first[pid] = last[pid] = info[2]
    rss, anon, pss = [], [], []
    end = start + seconds
    while True:
        now = time.monotonic()
        if now >= end:
            break
        time.sleep(min(sample_every, end - now))
        for pid in tree(root):
            info = stat_of(pid)
            if info is None:
                continue
            if pid not in first:
                first[pid] = 0  # born during the window: all its time counts
            last[pid] = info[2]
        m = memory(root)
        rss.append(m["rss"])
        anon.append(m["anon"])
        pss.append(m["pss"])
    wall = time.monotonic() - start
    ticks = sum(last[pid] - first[pid] for pid in last)
    cpu = 100.0 * ticks / CLK_TCK / wall
    return {
        "seconds": wall,
        "cpu_percent": cpu,
        "cpu_seconds": ticks / CLK_TCK,
        "rss_mean": statistics.mean(rss) if rss else 0.0,
        "rss_max": max(rss) if rss else 0.0,
        "anon_mean": statistics.mean(anon) if anon else 0.0,
        "anon_max": max(anon) if anon else 0.0,
        "pss_mean": statistics.mean(pss) if pss else 0.0,
    }


# ---------------------------------------------------------------------------------------------
# Inside the session


def load_e2e():
    """The tray helpers (busctl, dbusmenu, X windows) of the end-to-end test."""
    path = os.path.join(ROOT, "tests", "e2e", "tray_e2e.py")
    spec = importlib.util.spec_from_file_location("tray_e2e", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.DEADLINE = float("inf")  # the benchmark sets its own bounds
    return module


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def start_session(e2e, procs, run_dir):
    """The tray bar, dunst and the simulator (`healthy`, real clock); the app's environment."""
    e2e.start_tray(procs, size=32)
    procs.start("dunst", ["dunst"], log_path=os.path.join(run_dir, "dunst.log"))
    sim_proc = procs.start("simulator", [SIM, "--scenario", "healthy"],
                           log_path=os.path.join(run_dir, "sim.log"), stdout=subprocess.PIPE)
    line = sim_proc.stdout.readline().decode()
    url = line.split("listening on", 1)[1].strip().rstrip("/")
    env = dict(os.environ)
    env.update({"CLAUDE_STATUS_STATUS_URL": url, "ANTHROPIC_BASE_URL": url,
                "CLAUDE_STATUS_LOG": "info"})
    return env


def inner(args):
    e2e = load_e2e()
    idle_seconds = args.idle_seconds or (60.0 if args.quick else 600.0)
    open_cpu_seconds = 20.0 if args.quick else 60.0
    run_dir = os.environ["E2E_DIR"]
    procs = e2e.Procs()
    results = {"binary": APP, "quick": args.quick}
    misses = []
    try:
        env = start_session(e2e, procs, run_dir)
        app_log = os.path.join(run_dir, "app.log")

        def launch():
            start = time.monotonic()
            app = procs.start("app", [APP], log_path=app_log, env=env)
            item, _ = e2e.wait_until("the tray item", lambda: e2e.find_item(app.pid), 30,
                                     interval=0.01)
            return app, item, time.monotonic() - start

        def quit_app(app, item):
            e2e.click_until(item, "Quit Claude Status", lambda: app.poll() is not None, 10)
            if app.returncode != 0:
                misses.append(f"the app exited with status {app.returncode} on Quit")
            # Let the watcher notice before the next launch.
            e2e.wait_until("the item to unregister", lambda: not e2e.registered_items(), 10)

        # (a) launch to registered, median of N; the last launch stays up for the rest.
        times = []
        for n in range(args.launches):
            app, item, took = launch()
            times.append(took)
            log(f"(a) launch {n + 1}: tray item registered after {took * 1000:.0f} ms")
            if n < args.launches - 1:
                quit_app(app, item)
        results["launch_ms"] = [round(t * 1000) for t in times]
        results["launch_ms_median"] = round(statistics.median(times) * 1000)

        # (b) idle with the dashboard closed, at the default 60 s interval.
        e2e.wait_until("the first check", lambda: (e2e.first_label(item) or "").startswith(
            ("Operational", "Unknown", "Degraded")) and "Checked" in str(e2e.menu_entries(item)), 60)
        time.sleep(10)  # let start-up settle
        log(f"(b) idle, dashboard closed: {e2e.first_label(item)!r}; measuring {idle_seconds:.0f} s")
        idle = measure(app.pid, idle_seconds, sample_every=10.0)
        idle.update(memory(app.pid))
        results["idle"] = idle
        log(f"    {fmt_measure(idle)}")

        # (c) dashboard open.
        windows, took, _ = e2e.click_until(item, "Open dashboard",
                                           lambda: e2e.dashboard_windows(app.pid), 30)
        log(f"(c) dashboard window after {took:.2f} s; waiting 10 s")
        time.sleep(10)
        opened = memory(app.pid)
        log(f"    memory: {fmt_memory(opened)}")
        opened.update(measure(app.pid, open_cpu_seconds, sample_every=5.0))
        results["dashboard_open"] = opened
        log(f"    CPU over {open_cpu_seconds:.0f} s: {opened['cpu_percent']:.2f} %")

        # (d) dashboard closed again.
        e2e.close_window(windows[0])
        e2e.wait_until("the window to close", lambda: not e2e.dashboard_windows(app.pid), 15)
        webkit = lambda: [n for n in memory(app.pid)["processes"] if n.startswith("WebKit")]
        try:
            _, gone_after = e2e.wait_until("WebKit's processes to end", lambda: not webkit(), 20)
            gone = True
        except e2e.Timeout:
            gone, gone_after = False, None
        time.sleep(5)
        closed = memory(app.pid)
        closed["webkit_gone"] = gone
        closed["webkit_gone_after_s"] = gone_after
        closed["webkit_left"] = webkit()
        results["dashboard_closed"] = closed
        log(f"(d) after closing: {fmt_memory(closed)}; WebKit processes gone: {gone}")
        if app.poll() is not None:
            misses.append("the app exited when the dashboard closed")

        quit_app(app, item)
    finally:
        procs.stop_all()

    idle = results["idle"]
    checks = [
        ("RSS summed, dashboard closed", idle["rss_max"], TARGET_RSS_MIB, "MiB"),
        ("anonymous summed, dashboard closed", idle["anon_max"], TARGET_ANON_MIB, "MiB"),
        ("CPU, dashboard closed", idle["cpu_percent"], TARGET_CPU_PERCENT, "%"),
    ]
    for name, value, target, unit in checks:
        if value > target:
            misses.append(f"{name}: {value:.2f} {unit} > {target} {unit}")
    results["misses"] = misses
    print_table(results, idle_seconds, open_cpu_seconds)
    with open(os.path.join(SCRATCH, "results.json"), "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)
    for miss in misses:
        print(f"MISSED: {miss}")
    return 1 if misses else 0


def inner_gateway(args):
    """The app's footprint with its gateway on: idle, then under a steady load through it."""
    import http.client
    import threading

    e2e = load_e2e()
    rate = args.gateway_load
    load_seconds = 20.0 if args.quick else 60.0
    run_dir = os.environ["E2E_DIR"]
    procs = e2e.Procs()
    results = {"binary": APP, "rate": rate}
    try:
        env = start_session(e2e, procs, run_dir)
        port = e2e.free_port()
        e2e.write_gateway_settings(port)
        app = procs.start("app", [APP], log_path=os.path.join(run_dir, "app.log"), env=env)
        item, _ = e2e.wait_until("the tray item", lambda: e2e.find_item(app.pid), 30)
        wanted = f"Gateway on 127.0.0.1:{port}"
        e2e.wait_until("the gateway's menu line", lambda: wanted in str(e2e.menu_entries(item)), 30)
        time.sleep(10)  # let start-up settle
        log(f"gateway on {port}; idle for 20 s")
        idle = measure(app.pid, 20.0, sample_every=5.0)
        results["idle"] = idle
        log(f"    {fmt_measure(idle)}")

        body = json.dumps({"model": "claude-sonnet-4-6", "max_tokens": 16,
                           "messages": [{"role": "user", "content": "hi"}]}).encode()
        headers = {"content-type": "application/json", "anthropic-version": "2023-06-01",
                   "x-api-key": "sk-ant-bench-simulator-only"}
        threads, stop = 8, threading.Event()
        outcomes = {}
        lock = threading.Lock()

        def client(index):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            interval = threads / rate
            next_at = time.monotonic() + index * interval / threads
            while not stop.is_set():
                pause = next_at - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                next_at += interval
                try:
                    connection.request("POST", "/v1/messages", body=body, headers=headers)
                    reply = connection.getresponse()
                    reply.read()
                    key = str(reply.status)
                except (OSError, http.client.HTTPException) as e:
                    key = type(e).__name__
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                with lock:
                    outcomes[key] = outcomes.get(key, 0) + 1

        workers = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(threads)]
        for worker in workers:
            worker.start()
        time.sleep(3)  # the load reaches its pace
        log(f"{rate:.0f} requests/s through the gateway; measuring {load_seconds:.0f} s")
        before = dict(outcomes)
        loaded = measure(app.pid, load_seconds, sample_every=2.0)
        sent = sum(outcomes.values()) - sum(before.values())
        stop.set()
        for worker in workers:
            worker.join(timeout=35)
        loaded["achieved_rate"] = sent / loaded["seconds"]
        loaded["outcomes"] = outcomes
        results["loaded"] = loaded
        log(f"    {fmt_measure(loaded)}; {loaded['achieved_rate']:.1f} requests/s, {outcomes}")
        e2e.click_until(item, "Quit Claude Status", lambda: app.poll() is not None, 10)
    finally:
        procs.stop_all()

    print()
    print(f"Claude Status tray with its gateway on — {os.path.relpath(APP, ROOT)}, "
          "simulator `healthy`, default settings otherwise")
    for name, m in (("idle, no traffic (20 s)", results["idle"]),
                    (f"{results['loaded']['achieved_rate']:.1f} requests/s through the gateway "
                     f"({results['loaded']['seconds']:.0f} s)", results["loaded"])):
        print(f"  {name}:")
        print(f"      CPU (one core = 100 %) {m['cpu_percent']:.2f} %   "
              f"RSS mean {m['rss_mean']:.1f} / max {m['rss_max']:.1f} MiB   "
              f"anon max {m['anon_max']:.1f} MiB")
    print(f"  outcomes: {results['loaded']['outcomes']}")
    with open(os.path.join(SCRATCH, "results-gateway.json"), "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)
    return 0


def fmt_memory(m):
    return (f"RSS {m['rss']:.1f} MiB, anon {m['anon']:.1f} MiB, PSS {m['pss']:.1f} MiB over "
            f"{len(m['processes'])} process(es) {m['processes']}")


def fmt_measure(m):
    return (f"CPU {m['cpu_percent']:.3f} % ({m['cpu_seconds']:.2f} s over {m['seconds']:.0f} s); "
            f"RSS mean {m['rss_mean']:.1f} / max {m['rss_max']:.1f} MiB; "
            f"anon mean {m['anon_mean']:.1f} / max {m['anon_max']:.1f} MiB")


def print_table(r, idle_seconds, open_cpu_seconds):
    idle, opened, closed = r["idle"], r["dashboard_open"], r["dashboard_closed"]

    def row(what, value, target=""):
        print(f"  {what:<44} {value:>22}   {target}")

    def per_process(m):
        for name, figures in m["per_process"].items():
            row(f"      {name}", f"{figures['rss']:.1f} MiB", f"(anon {figures['anon']:.1f} MiB)")

    def ok(value, target):
        return "ok" if value <= target else "MISSED"

    print()
    print(f"Claude Status tray footprint — {os.path.relpath(APP, ROOT)}, simulator `healthy`, "
          "default settings (60 s probes), no API key")
    print(f"  {'':<44} {'measured':>22}   target")
    row("(a) launch → tray item registered (median)",
        f"{r['launch_ms_median']} ms", f"(launches: {', '.join(map(str, r['launch_ms']))} ms)")
    print(f"  (b) dashboard closed, idle {idle_seconds:.0f} s:")
    row("    processes", f"{len(idle['processes'])}", ", ".join(idle["processes"]))
    row("    RSS summed (max over window)", f"{idle['rss_max']:.1f} MiB",
        f"≤ {TARGET_RSS_MIB} MiB  {ok(idle['rss_max'], TARGET_RSS_MIB)}")
    row("    anonymous (RssAnon) summed (max)", f"{idle['anon_max']:.1f} MiB",
        f"≤ {TARGET_ANON_MIB} MiB  {ok(idle['anon_max'], TARGET_ANON_MIB)}")
    row("    PSS summed", f"{idle['pss']:.1f} MiB")
    row("    CPU (one core = 100 %)", f"{idle['cpu_percent']:.3f} %",
        f"≤ {TARGET_CPU_PERCENT} %  {ok(idle['cpu_percent'], TARGET_CPU_PERCENT)}")
    print(f"  (c) dashboard open (memory after 10 s, CPU over {open_cpu_seconds:.0f} s):")
    row("    processes", f"{len(opened['processes'])}", ", ".join(opened["processes"]))
    row("    RSS summed", f"{opened['rss']:.1f} MiB")
    row("    anonymous summed", f"{opened['anon']:.1f} MiB")
    row("    PSS summed", f"{opened['pss']:.1f} MiB")
    row("    CPU", f"{opened['cpu_percent']:.2f} %")
    per_process(opened)
    print("  (d) dashboard closed again (5 s after the WebKit processes ended, or 20 s if they stay):")
    row("    processes", f"{len(closed['processes'])}", ", ".join(closed["processes"]))
    row("    RSS summed", f"{closed['rss']:.1f} MiB")
    row("    anonymous summed", f"{closed['anon']:.1f} MiB")
    per_process(closed)
    gone = "yes" if closed["webkit_gone"] else f"NO ({', '.join(closed['webkit_left'])})"
    if closed["webkit_gone"] and closed["webkit_gone_after_s"] is not None:
        gone += f" (after {closed['webkit_gone_after_s']:.1f} s)"
    row("    WebKit processes gone", gone)
    print()


def main():
    args = parse_args()
    os.makedirs(SCRATCH, exist_ok=True)
    if os.environ.get(INNER) == "1":
        return inner_gateway(args) if args.gateway_load else inner(args)
    return outer(args)


if __name__ == "__main__":
    sys.exit(main())
