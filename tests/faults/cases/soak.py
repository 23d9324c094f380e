"""Soak (issue 16, item 8): the engine stays flat over a long run, in memory, open files and
database size, with pruning at work.

- `soak-paused-24h` runs crates/engine/tests/soak.rs: the engine's tasks against the in-process
  simulator under paused tokio time, probing every second (reachability and the per-model
  streaming probe), the store on with a retention of one hour. In CI it plays SOAK_CI_HOURS of
  story (default 6, to fit the suite's budget on 2 cores); with --long (scripts/long-run.sh) the
  whole 24 hours. Its bounds are the test's: RSS +10 % at most after the two-hour warm-up, open
  files +4, the database under 16 MiB and +10 %, no probe row older than the retention and one
  pruning interval.
- `soak-realtime` (long) runs the real service (`claude-status service run`, probing every second)
  against the simulator for LONG_RUN_MINUTES (default 60) with its gateway under 20 requests a
  second from a load generator in this process, samples the service's RSS, open files and
  database bytes every minute (every 10 s for runs under 10 minutes), and holds them flat after
  the warm-up; every gateway request must be answered 200, and the probes must keep their pace.
  The retention is a sixth of the run (at least a minute), so pruning runs several times within
  it. Samples go to LONG_RUN_OUT (default the case's work folder) as soak-realtime.csv.
"""

import json
import os
import socket
import sqlite3
import threading
import time
import urllib.error
import urllib.request

import _service
from e2e_support import free_port, wait_for
from suite import Case, CaseFailed, open_fds, rss_kib

# The gateway's load, and how much of it may go unanswered: none.
REQUESTS_PER_SECOND = 20
LOAD_WORKERS = 8
# After the warm-up, the service's RSS may grow by at most this much. The gateway remembers
# each request's ids for an hour (the tracker's dedup of sources, `SeenRequests`), so a run of an
# hour at 20 requests a second legitimately grows by those 72,000 entries; a leak of a buffer per
# request (a few KiB) would be hundreds of MiB.
RSS_GROWTH_MAX_KIB = 24 * 1024
FDS_GROWTH_MAX = 16
DB_GROWTH_MAX = 0.25
DB_BYTES_MAX = 64 * 1024 * 1024


def paused_day(ctx):
    hours = 24 if ctx.long else int(os.environ.get("SOAK_CI_HOURS", "6"))
    figures = ctx.cargo_test("claude-status-engine", "soak", env={"SOAK_HOURS": str(hours)}, timeout=900)
    if figures.get("soak_hours") != hours:
        raise CaseFailed(f"the soak test printed no figures for {hours} h: {figures}")
    return figures


class Load:
    """REQUESTS_PER_SECOND Messages requests through the gateway, paced from one schedule across
    LOAD_WORKERS threads: one in four streamed. Keeps every status and latency."""

    def __init__(self, port):
        self.url = f"http://127.0.0.1:{port}/v1/messages"
        self.stopped = threading.Event()
        self.lock = threading.Lock()
        self.statuses = {}
        self.errors = []
        self.latencies_ms = []
        self.next_at = time.monotonic()
        self.sent = 0
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(LOAD_WORKERS)]
        for t in self.threads:
            t.start()

    def _slot(self):
        with self.lock:
            at = self.next_at
            self.next_at += 1.0 / REQUESTS_PER_SECOND
            self.sent += 1
            return at, self.sent

    def _run(self):
        while not self.stopped.is_set():
            at, n = self._slot()
            wait = at - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            body = json.dumps({"model": _service.MODEL, "max_tokens": 8, "stream": n % 4 == 0,
                               "messages": [{"role": "user", "content": f"soak {n}"}]}).encode()
            request = urllib.request.Request(self.url, data=body, method="POST", headers={
                "content-type": "application/json", "anthropic-version": "2023-06-01",
                "x-api-key": _service.DUMMY_KEY})
            started = time.monotonic()
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    response.read()
                    status = response.status
            except urllib.error.HTTPError as error:
                status = error.code
                error.read()
            except OSError as error:
                status = "error"
                with self.lock:
                    self.errors.append(str(error))
            with self.lock:
                self.statuses[status] = self.statuses.get(status, 0) + 1
                self.latencies_ms.append((time.monotonic() - started) * 1000)

    def stop(self):
        self.stopped.set()
        for t in self.threads:
            t.join(timeout=35)

    def p99_ms(self):
        with self.lock:
            values = sorted(self.latencies_ms)
        return values[min(len(values) - 1, int(len(values) * 0.99))] if values else 0.0


def set_gateway(sock_path, port):
    """Turns the service's gateway on at `port` through the control API, as the dashboard does."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(15)
    sock.connect(sock_path)
    f = sock.makefile("rb")

    def send(frame):
        sock.sendall(json.dumps(frame).encode() + b"\n")
        return json.loads(f.readline())

    send({"hello": {"protocol": 1, "version": "faults", "role": "cli"}})
    view = send({"id": 1, "call": "get_settings"})
    settings = dict(view["result"]["settings"], gateway=True, gateway_port=port)
    reply = send({"id": 2, "call": "set_settings", "args": {"settings": settings}})
    sock.close()
    if "error" in reply:
        raise CaseFailed(f"set_settings refused the gateway: {reply}")


def db_bytes(data_dir):
    db = os.path.join(data_dir, "claude-status.sqlite3")
    return sum(os.path.getsize(db + s) for s in ("", "-wal", "-shm") if os.path.exists(db + s))


def counts(data_dir):
    db = os.path.join(data_dir, "claude-status.sqlite3")
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        probes, oldest = con.execute("SELECT count(*), min(at) FROM probe_results").fetchone()
        ledger = con.execute("SELECT count(*) FROM usage_ledger").fetchone()[0]
        return probes, ledger, oldest
    finally:
        con.close()


def realtime(ctx):
    minutes = float(os.environ.get("LONG_RUN_MINUTES", "60"))
    seconds = minutes * 60
    retention = max(60, int(seconds / 6))
    # The retention, one pruning interval (a sixth of it, at least a minute) and half a minute.
    warm_up = retention + max(60, retention // 6) + 30
    if warm_up >= seconds * 0.6:
        raise CaseFailed(f"LONG_RUN_MINUTES={minutes:g} leaves no time after the {warm_up} s warm-up (at least 5)")
    every = 60 if seconds >= 600 else 10
    out = os.environ.get("LONG_RUN_OUT") or ctx.work
    os.makedirs(out, exist_ok=True)

    url = _service.start_simulator(ctx)
    env = _service.service_env(ctx, url, CLAUDE_STATUS_RETENTION=f"{retention}s")
    # An hour of info lines at 20 requests a second would soak the log, not the service.
    env["RUST_LOG"] = "warn"
    data_dir = env["CLAUDE_STATUS_DATA_DIR"]
    service = _service.start_service(ctx, env)
    sock = env["CLAUDE_STATUS_SOCKET"]
    wait_for("the service's socket", lambda: (ctx.procs.check_alive(), os.path.exists(sock))[1], 30)
    port = free_port()
    set_gateway(sock, port)
    wait_for("the gateway listening", lambda: socket.create_connection(("127.0.0.1", port), timeout=1).close() or True, 30)
    control = _service.Control(sock)
    probes = _service.Sampler(url)

    load = Load(port)
    started = time.monotonic()
    samples = []
    csv = open(os.path.join(out, "soak-realtime.csv"), "w")
    csv.write("elapsed_s,rss_kib,fds,db_bytes,probe_rows,ledger_rows,oldest_probe_age_s,gateway_requests,reachability_probes\n")
    try:
        next_sample = started
        while True:
            now = time.monotonic()
            if now >= next_sample:
                ctx.procs.check_alive()
                probe_rows, ledger_rows, oldest = counts(data_dir)
                age = (time.time() * 1000 - oldest) / 1000 if oldest else 0
                _, reach, _ = probes.now()
                row = {
                    "t": round(now - started), "rss": rss_kib(service.pid), "fds": open_fds(service.pid),
                    "db": db_bytes(data_dir), "probes": probe_rows, "ledger": ledger_rows, "oldest": round(age),
                    "requests": sum(load.statuses.values()), "reach": reach,
                }
                samples.append(row)
                csv.write(",".join(str(row[k]) for k in ("t", "rss", "fds", "db", "probes", "ledger", "oldest", "requests", "reach")) + "\n")
                csv.flush()
                print(f"soak-realtime: {row['t']:>5} s RSS {row['rss'] / 1024:.1f} MiB fds {row['fds']} db {row['db'] / 2**20:.2f} MiB "
                      f"probes {probe_rows} ledger {ledger_rows} oldest {row['oldest']} s gateway {row['requests']}", flush=True)
                next_sample += every
                if now - started >= seconds:
                    break
            time.sleep(min(1.0, max(0.0, next_sample - time.monotonic())))
    finally:
        load.stop()
        probes.stop()
        csv.close()

    warm = next(s for s in samples if s["t"] >= warm_up)
    end = samples[-1]
    elapsed = end["t"]
    drift = (f"RSS {(end['rss'] - warm['rss']) / 1024:+.1f} MiB ({warm['rss'] / 1024:.1f}→{end['rss'] / 1024:.1f}), "
             f"fds {end['fds'] - warm['fds']:+d}, db {warm['db'] / 2**20:.1f}→{end['db'] / 2**20:.1f} MiB "
             f"over {elapsed / 60:.0f} min real, gateway {REQUESTS_PER_SECOND}/s")
    answered = load.statuses.get(200, 0)
    total = sum(load.statuses.values())
    figures = {
        "minutes": round(elapsed / 60, 1),
        "retention_s": retention,
        "rss_start_kib": warm["rss"], "rss_end_kib": end["rss"], "rss_max_kib": max(s["rss"] for s in samples),
        "fds_start": warm["fds"], "fds_end": end["fds"],
        "db_start_bytes": warm["db"], "db_end_bytes": end["db"], "db_max_bytes": max(s["db"] for s in samples),
        "gateway_requests": total, "gateway_200": answered, "gateway_p99_ms": round(load.p99_ms(), 1),
        "reachability_probes": end["reach"],
        "soak_drift": drift,
    }
    with open(os.path.join(out, "soak-realtime.json"), "w") as f:
        json.dump({"figures": figures, "samples": samples}, f, indent=1)

    problems = []
    if answered != total or total < REQUESTS_PER_SECOND * elapsed * 0.9:
        problems.append(f"gateway: {answered} of {total} requests answered 200 ({load.statuses}; errors {load.errors[:3]}), "
                        f"{REQUESTS_PER_SECOND * elapsed:.0f} due")
    # Probing every second: the reachability probes keep their pace (a stall would be a gap).
    if end["reach"] < elapsed * 0.9:
        problems.append(f"{end['reach']} reachability probes in {elapsed} s at one a second")
    if end["rss"] - warm["rss"] > RSS_GROWTH_MAX_KIB:
        problems.append(f"RSS grew by {(end['rss'] - warm['rss']) / 1024:.1f} MiB after the warm-up")
    if end["fds"] - warm["fds"] > FDS_GROWTH_MAX:
        problems.append(f"open files went from {warm['fds']} to {end['fds']}")
    if end["db"] > warm["db"] * (1 + DB_GROWTH_MAX) or figures["db_max_bytes"] > DB_BYTES_MAX:
        problems.append(f"the database grew from {warm['db']} to {end['db']} bytes (max {figures['db_max_bytes']})")
    # Pruning ran: no probe row older than the retention, one pruning interval and a minute.
    if end["oldest"] > warm_up:
        problems.append(f"the oldest probe row is {end['oldest']} s old with a retention of {retention} s")
    notified = _service.notifications(control.events())
    if notified:
        problems.append(f"a calm run notified: {notified[:3]}")
    if problems:
        raise CaseFailed("; ".join(problems) + f" ({drift}; samples in {out}/soak-realtime.csv)")
    return figures


CASES = [
    Case(
        "soak-paused-24h",
        "a day of 1 s probes under paused time (CI: SOAK_CI_HOURS of it): RSS and open files flat after "
        "the warm-up, the database under 16 MiB with retention 1 h, pruning keeping only the retention",
        paused_day,
        timeout=900,
    ),
    Case(
        "soak-realtime",
        "the service probing every 1 s with its gateway under 20 requests/s for LONG_RUN_MINUTES (60): "
        "every request answered, RSS, open files and the database flat after the warm-up, pruning at work",
        realtime,
        long=True,
        timeout=float(os.environ.get("LONG_RUN_MINUTES", "60")) * 60 + 300,
    ),
]
