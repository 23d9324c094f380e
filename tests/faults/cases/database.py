"""The history database itself (issue 16, item 3): every shipped schema version migrates to the
current one with its rows intact (crates/engine/tests/store_schema.rs, a real Rust test binary),
and the real processes a user runs (`check`, `usage`, `statusline`, the `proxy` gateway and
`service run`) survive a damaged file, a torn WAL, another program's lock and many writers at once.

- db-random-bytes: the database replaced by random bytes (a fixed seed), under `check`, `usage`,
  `statusline`, the gateway and the service in turn. Damage while the service runs is the last
  step: the service holds the file open and its page cache and WAL keep serving it, so it goes on
  monitoring (asserted) and the damage is found, and moved aside, by the next process that opens
  the file once the service has stopped. What that next open finds is whatever the service's
  closing checkpoint wrote over the garbage (SQLite copies the WAL's pages into the file): the
  case reports it as a figure rather than asserting one outcome.
- db-truncated-wal: rows committed by the real service, which is then SIGKILLed so that its WAL
  holds committed frames no checkpoint copied; then the WAL cut mid-frame, garbage appended to
  it, or its header torn. SQLite replays the frames up to the last intact commit and drops the
  rest, which is correct: a torn tail is no damage to move aside. The ledger's file offsets are
  committed with its rows, so the next ingest reads the dropped lines again.
- db-locked: another process (Python's sqlite3) holds the write lock (BEGIN IMMEDIATE), then an
  exclusive lock that keeps readers out too (locking_mode=EXCLUSIVE), for 8 s, while `check`,
  `usage`, `statusline` and the service (its gateway serving requests) run. A command either
  waits the lock out or goes on without history and says so; the status line waits 300 ms at
  most. Before the store's fix, `usage` and `check` exited 70 with "database is locked" and the
  service started under the lock exited; before the gateway's, its records were dropped.
- db-many-writers: the service (probing every second, its gateway under load, Claude Code's
  transcripts being written) with `check`, `check --no-service`, `statusline` and `usage` in
  four loops beside it for 30 s.
"""

import json
import os
import random
import re
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from suite import Case, CaseFailed
import _service as svc
from disk import LINE_INPUT, append_lines, ledger_counts

DB = "claude-status.sqlite3"
# SQLite's words a user must never see, with no other writer than our own; "busy" catches
# SQLITE_BUSY (no word boundary: "_" is a word character) and "database busy".
LOCKED_WORDS = re.compile(r"database is locked|busy", re.IGNORECASE)
# Under another program's lock, the plain words that say so may name SQLITE_BUSY; SQLite's own
# message may not appear.
SQLITE_LOCKED = re.compile(r"database is locked", re.IGNORECASE)
STATUSLINE_INPUT = json.dumps({
    "session_id": "db-faults",
    "model": {"id": svc.MODEL, "display_name": "Haiku 4.5"},
    "cost": {"total_cost_usd": 0.01},
    "rate_limits": {"five_hour": {"used_percentage": 12, "resets_at": int(time.time()) + 3600}},
})


def schema_versions(ctx):
    figures = ctx.cargo_test("claude-status-engine", "store_schema")
    if not figures.get("schema_versions"):
        raise AssertionError(f"store_schema printed no figures: {figures}")
    return figures


# ---------------------------------------------------------------------------------------------
# Helpers.

def garbage(seed, size=48 * 1024):
    """Bytes that are no SQLite file, the same for the same seed on every run."""
    return random.Random(seed).randbytes(size)


def moved_aside(data):
    return sorted(n for n in os.listdir(data) if n.startswith(DB + ".corrupt-") and not n.endswith(("-wal", "-shm")))


def stop(proc, sig=signal.SIGTERM, timeout=15):
    """Stops one child (its whole process group) and waits for it."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
    proc.wait(timeout=timeout)


def timed(ctx, argv, env, stdin=None, timeout=60):
    """Runs a command; returns (exit code, stdout + stderr, seconds)."""
    started = time.monotonic()
    result = subprocess.run(argv, env=env, input=stdin, capture_output=True, text=True, timeout=timeout, errors="replace")
    return result.returncode, result.stdout + result.stderr, time.monotonic() - started


def count(path, sql, args=()):
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return con.execute(sql, args).fetchone()[0]
    finally:
        con.close()


def wait_until(what, test, timeout, proc=None, ctx=None, name="service"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = test()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise CaseFailed(f"the {name} exited {proc.returncode} while waiting for {what}:\n{ctx.procs.tail(name)}")
        time.sleep(0.2)
    raise CaseFailed(f"{what} did not happen within {timeout} s")


def rows_now(data, session):
    """The session's ledger rows now; 0 before the service has made the file."""
    try:
        return ledger_counts(data, session)[0]
    except sqlite3.OperationalError:
        return 0


def log_text(ctx, name):
    with open(os.path.join(ctx.work, f"{name}.log"), errors="replace") as f:
        return f.read()


def transcript_path(env, session):
    folder = os.path.join(env["CLAUDE_CONFIG_DIR"], "projects", "-work-faults")
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, f"{session}.jsonl")


def post_message(port, text="db fault"):
    body = json.dumps({"model": svc.MODEL, "max_tokens": 8, "messages": [{"role": "user", "content": text}]}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/messages", data=body, method="POST", headers={
        "content-type": "application/json", "anthropic-version": "2023-06-01", "x-api-key": svc.DUMMY_KEY})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


# ---------------------------------------------------------------------------------------------
# db-random-bytes

TOLD = "the history database was unreadable"


def random_bytes(ctx):
    url = svc.start_simulator(ctx)
    env = svc.service_env(ctx, url)
    data = env["CLAUDE_STATUS_DATA_DIR"]
    os.makedirs(data, exist_ok=True)
    db = os.path.join(data, DB)
    figures = {"faults": 0}
    append_lines(transcript_path(env, "random"), 0, 5, "random")

    # 1. The one-shot commands: the first to open the file moves it aside and says so; no later
    #    run says it again.
    first = garbage(16)
    with open(db, "wb") as f:
        f.write(first)
    runs = []
    for argv, stdin in (([ctx.cli, "check", "--no-service"], None), ([ctx.cli, "check", "--no-service"], None),
                        ([ctx.cli, "usage", "daily"], None), ([ctx.cli, "statusline"], STATUSLINE_INPUT),
                        ([ctx.cli, "check", "--no-service", "--json"], None)):
        code, out, seconds = timed(ctx, argv, env, stdin)
        runs.append((argv[1:], code, out))
        if code != 0:
            raise CaseFailed(f"{' '.join(argv[1:])} exited {code} after the database was replaced by random bytes:\n{out[-1500:]}")
    told = [(argv, out.count(TOLD)) for argv, _, out in runs if TOLD in out]
    if len(told) != 1 or told[0][1] != 1 or told[0][0] != ["check", "--no-service"]:
        raise CaseFailed(f"the user was not told exactly once, by the first command: {told}")
    aside = moved_aside(data)
    if len(aside) != 1:
        raise CaseFailed(f"{len(aside)} files moved aside, not 1: {os.listdir(data)}")
    with open(os.path.join(data, aside[0]), "rb") as f:
        if f.read() != first:
            raise CaseFailed(f"{aside[0]} does not hold the garbage byte for byte")
    probes = count(db, "SELECT count(*) FROM probe_results")
    if probes < 3:
        raise CaseFailed(f"the fresh database holds {probes} probe results after three checks")
    figures.update(commands_run=len(runs), fresh_probe_rows=probes)
    figures["faults"] += 1

    # 2. The gateway, started on a damaged file, forwards the user's request and meters it.
    second = garbage(17)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.unlink(db + suffix)
    with open(db, "wb") as f:
        f.write(second)
    match = ctx.procs.start("proxy", [ctx.cli, "proxy", "--port", "0", "--upstream", url], env=env,
                            ready=r"listening on http://[\d.]+:(\d+)")
    proxy = [p for n, p, _ in ctx.procs.procs if n == "proxy"][-1]
    port = int(match.group(1))
    status = post_message(port)
    if status != 200:
        raise CaseFailed(f"the gateway on a damaged database answered {status}, not 200:\n{ctx.procs.tail('proxy')}")
    wait_until("the gateway's request in the fresh ledger",
               lambda: os.path.exists(db) and count(db, "SELECT count(*) FROM usage_ledger WHERE source = 'gateway'") >= 1, 15, proxy, ctx, "proxy")
    stop(proxy)
    if log_text(ctx, "proxy").count(TOLD) != 1:
        raise CaseFailed(f"the gateway did not say once that the database was moved aside:\n{ctx.procs.tail('proxy')}")
    aside = moved_aside(data)
    kept = [n for n in aside if open(os.path.join(data, n), "rb").read() == second]
    if len(aside) != 2 or len(kept) != 1:
        raise CaseFailed(f"after the gateway: {aside} moved aside, {len(kept)} holding the second garbage")
    figures["gateway_status"] = status
    figures["faults"] += 1

    # 3. The service, started on a damaged file: comes up, probes, tells its first front end once,
    #    and keeps running; a restart finds the fresh file and moves nothing.
    third = garbage(18)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.unlink(db + suffix)
    with open(db, "wb") as f:
        f.write(third)
    service = svc.start_service(ctx, env)
    control = svc.Control(env["CLAUDE_STATUS_SOCKET"])
    control.wait_level({"operational"}, 30)
    since_ms = int(time.time() * 1000)
    time.sleep(6)
    if service.poll() is not None:
        raise CaseFailed(f"the service exited {service.returncode} on a damaged database:\n{ctx.procs.tail('service')}")
    rows = len(svc.probe_rows(data, since_ms))
    if rows < 3:
        raise CaseFailed(f"the service stored {rows} probe results in 6 s after starting on a damaged database")
    with control.lock:
        notices = [f for _, f in control.frames if f.get("event") == "notice" and "History database" in f.get("title", "")]
    if len(notices) != 1 or ".corrupt-" not in notices[0].get("body", ""):
        raise CaseFailed(f"the service's front end was told {len(notices)} times that the database was replaced: {notices}")
    if log_text(ctx, "service").count(TOLD) != 1:
        raise CaseFailed(f"the service's log does not say once that the database was moved aside:\n{ctx.procs.tail('service')}")
    stop(service)
    aside = moved_aside(data)
    if len(aside) != 3 or not any(open(os.path.join(data, n), "rb").read() == third for n in aside):
        raise CaseFailed(f"after the service: {aside} moved aside, the third garbage not among them")
    service = svc.start_service(ctx, env, name="service-again")
    control = svc.Control(env["CLAUDE_STATUS_SOCKET"])
    control.wait_level({"operational"}, 30)
    if len(moved_aside(data)) != 3 or TOLD in log_text(ctx, "service-again"):
        raise CaseFailed(f"the restarted service moved a healthy database aside: {moved_aside(data)}")
    figures.update(service_probe_rows_6s=rows, service_notices=len(notices))
    figures["faults"] += 1

    # 4. Damage while the service runs: the file overwritten in place. The service holds it open
    #    and goes on monitoring; the next open after it stops finds what its checkpoint left.
    with open(db, "r+b") as f:
        f.write(garbage(19, os.path.getsize(db)))
    damaged_at = time.monotonic()
    time.sleep(6)
    if service.poll() is not None:
        raise CaseFailed(f"the service exited {service.returncode} when its database was overwritten:\n{ctx.procs.tail('service-again')}")
    fresh = {s.get("checked_at") for _, s in control.snapshots(since=damaged_at)}
    if len(fresh) < 3:
        raise CaseFailed(f"the service published {len(fresh)} fresh rounds in 6 s after its database was overwritten")
    stop(service)
    code, out, _ = timed(ctx, [ctx.cli, "check", "--no-service"], env)
    if code != 0:
        raise CaseFailed(f"`check` after the running service's database was overwritten exited {code}:\n{out[-1500:]}")
    figures["overwritten_live_then"] = "moved aside" if len(moved_aside(data)) == 4 else "opened as it was"
    figures["live_rounds_6s"] = len(fresh)
    figures["faults"] += 1
    return figures


# ---------------------------------------------------------------------------------------------
# db-truncated-wal

WAL_HEADER = 32
FRAME_HEADER = 24


def wal_frames(wal):
    """(page size, [(offset, is_commit)]) of the whole frames in the WAL file `wal`."""
    with open(wal, "rb") as f:
        raw = f.read()
    if len(raw) < WAL_HEADER:
        return 0, []
    page_size = struct.unpack(">I", raw[8:12])[0]
    frames = []
    at = WAL_HEADER
    while at + FRAME_HEADER + page_size <= len(raw):
        commit = struct.unpack(">I", raw[at + 4:at + 8])[0] != 0
        frames.append((at, commit))
        at += FRAME_HEADER + page_size
    return page_size, frames


def copy_db(src, dst, wal_bytes=None):
    """Copies the database and its WAL (and -shm) from folder `src` to `dst`; with `wal_bytes`, the
    WAL is cut to that length."""
    os.makedirs(dst, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(os.path.join(src, DB + suffix)):
            shutil.copyfile(os.path.join(src, DB + suffix), os.path.join(dst, DB + suffix))
    if wal_bytes is not None:
        with open(os.path.join(dst, DB + "-wal"), "r+b") as f:
            f.truncate(wal_bytes)


def session_rows(folder, session):
    """The session's ledger rows in the database in `folder`, read from a scratch copy without
    its -shm (so SQLite recovers the WAL from the file alone), leaving `folder` untouched."""
    scratch = folder + ".count"
    shutil.rmtree(scratch, ignore_errors=True)
    copy_db(folder, scratch)
    if os.path.exists(os.path.join(scratch, DB + "-shm")):
        os.unlink(os.path.join(scratch, DB + "-shm"))
    try:
        return count(os.path.join(scratch, DB), "SELECT count(*) FROM usage_ledger WHERE source = 'claude_code' AND session_id = ?", (session,))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def truncated_wal(ctx):
    url = svc.start_simulator(ctx)
    env = svc.service_env(ctx, url)
    data = env["CLAUDE_STATUS_DATA_DIR"]
    session = "walcut"
    transcript = transcript_path(env, session)
    checkpointed, batches, per_batch = 60, 6, 25

    # A first run, stopped gracefully: its rows are checkpointed into the file.
    append_lines(transcript, 0, checkpointed, session)
    service = svc.start_service(ctx, env)
    wait_until("the first rows", lambda: rows_now(data, session) >= checkpointed, 30, service, ctx)
    stop(service)
    if os.path.exists(os.path.join(data, DB + "-wal")) and os.path.getsize(os.path.join(data, DB + "-wal")) > 0:
        raise CaseFailed("a gracefully stopped service left a WAL with frames")

    # A second run commits batch after batch, then is SIGKILLed: the WAL holds them all.
    service = svc.start_service(ctx, env, name="service-killed")
    written = checkpointed
    for _ in range(batches):
        append_lines(transcript, written, per_batch, session)
        written += per_batch
        wait_until(f"{written} rows", lambda: rows_now(data, session) >= written, 30, service, ctx, "service-killed")
        time.sleep(0.3)
    stop(service, signal.SIGKILL)
    killed = ctx.path("killed", "x")[:-2]
    copy_db(data, killed)
    page_size, frames = wal_frames(os.path.join(killed, DB + "-wal"))
    committed = session_rows(killed, session)
    if committed != written or not frames:
        raise CaseFailed(f"after SIGKILL: {committed} of {written} rows committed, {len(frames)} WAL frames")
    frame = FRAME_HEADER + page_size
    commits = [i for i, (_, c) in enumerate(frames) if c]

    figures = {"faults": 0, "committed": committed, "checkpointed": checkpointed, "wal_frames": len(frames), "wal_commits": len(commits)}
    # The cut: in the middle of a frame half-way through the WAL's transactions.
    cut_index = commits[len(commits) // 2]
    cut_at = frames[cut_index][0] + frame // 2
    intact_commits = [i for i in commits if i < cut_index]
    intact_end = frames[intact_commits[-1]][0] + frame if intact_commits else WAL_HEADER
    expected_torn = session_rows_cut(killed, session, intact_end, ctx)
    variants = {
        # Cut inside a commit's frame: its transaction and every later one are gone, the earlier
        # ones whole.
        "torn_tail": (lambda wal: truncate(wal, cut_at), expected_torn),
        # Frames of garbage after the last commit: none validates, every commit survives.
        "garbage_appended": (lambda wal: append(wal, garbage(20, 2 * frame + 100)), committed),
        # The header's salts and checksum torn: no frame validates against it, so SQLite reads
        # the WAL as empty and the rows checkpointed into the file are what there is.
        "torn_header": (lambda wal: overwrite(wal, 16, garbage(21, 16)), checkpointed),
    }
    empty_config = ctx.path("empty-claude", "projects", "x")[:-2]
    os.makedirs(empty_config, exist_ok=True)
    intact_lost = 0
    for name, (damage, expected) in variants.items():
        folder = ctx.path(f"data-{name}", "x")[:-2]
        copy_db(killed, folder)
        damage(os.path.join(folder, DB + "-wal"))
        venv = dict(env, CLAUDE_STATUS_DATA_DIR=folder, CLAUDE_STATUS_SOCKET=os.path.join(ctx.work, "run", f"{name}.sock"))
        # First open by a real process that reads no transcripts, so what survived is SQLite's.
        code, out, seconds = timed(ctx, [ctx.cli, "check", "--no-service"], dict(venv, CLAUDE_CONFIG_DIR=os.path.dirname(empty_config)))
        if code != 0 or "unreadable" in out or moved_aside(folder):
            raise CaseFailed(f"{name}: `check` on the WAL exited {code}, moved {moved_aside(folder)} aside:\n{out[-1500:]}")
        survived = count(os.path.join(folder, DB), "SELECT count(*) FROM usage_ledger WHERE source = 'claude_code' AND session_id = ?", (session,))
        intact_lost += max(0, expected - survived)
        if survived != expected:
            raise CaseFailed(f"{name}: {survived} rows survived, {expected} were committed in intact frames "
                             f"(committed {committed}, checkpointed {checkpointed})")
        # The ledger's offsets went with the rows they cover, so `usage` reads the dropped lines
        # again: every line once.
        code, out, _ = timed(ctx, [ctx.cli, "usage", "daily", "--json"], venv)
        if code != 0:
            raise CaseFailed(f"{name}: `usage` exited {code}:\n{out[-1500:]}")
        rows, distinct, output = ledger_counts(folder, session)
        if rows != written or distinct != written or output != 7 * written:
            raise CaseFailed(f"{name}: after `usage` the ledger holds {rows} rows ({distinct} distinct, {output} output tokens) of {written} lines")
        if moved_aside(folder):
            raise CaseFailed(f"{name}: a merely torn WAL was moved aside: {moved_aside(folder)}")
        figures[f"{name}_survived"] = survived
        figures[f"{name}_dropped"] = committed - survived
        figures["faults"] += 1
    figures.update(lost=0, double_counted=0, intact_lost=intact_lost)
    return figures


def session_rows_cut(src, session, wal_bytes, ctx):
    """The rows SQLite finds when the WAL ends cleanly at `wal_bytes` (a frame boundary)."""
    folder = ctx.path("clean-cut", "x")[:-2]
    shutil.rmtree(folder, ignore_errors=True)
    copy_db(src, folder, wal_bytes)
    return session_rows(folder, session)


def truncate(path, length):
    with open(path, "r+b") as f:
        f.truncate(length)


def append(path, data):
    with open(path, "ab") as f:
        f.write(data)


def overwrite(path, offset, data):
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


# ---------------------------------------------------------------------------------------------
# db-locked

HOLDER = r"""
import sqlite3, sys, time
path, mode, hold = sys.argv[1], sys.argv[2], float(sys.argv[3])
con = sqlite3.connect(path, isolation_level=None, timeout=30)
if mode == "exclusive":
    # Readers are kept out too: no shared memory, one process's file lock.
    con.execute("PRAGMA locking_mode=EXCLUSIVE")
    con.execute("BEGIN EXCLUSIVE")
    con.execute("CREATE TABLE IF NOT EXISTS lock_holder(x)")
    con.execute("INSERT INTO lock_holder VALUES (1)")
else:
    con.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(hold)
con.execute("ROLLBACK")
con.close()
print("released", flush=True)
"""

LOCK_S = 8


def commands_under(ctx, env, extra=()):
    """Runs `check`, `check --no-service`, `usage` and `statusline` at once; returns
    [(name, code, output, seconds)]."""
    commands = [("check", [ctx.cli, "check"], None), ("check --no-service", [ctx.cli, "check", "--no-service"], None),
                ("usage", [ctx.cli, "usage", "daily", "--json"], None), ("statusline", [ctx.cli, "statusline"], STATUSLINE_INPUT),
                *extra]
    results = []
    lock = threading.Lock()

    def one(name, argv, stdin):
        code, out, seconds = timed(ctx, argv, env, stdin, timeout=60)
        with lock:
            results.append((name, code, out, seconds, time.monotonic()))
    threads = [threading.Thread(target=one, args=c) for c in commands]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def locked(ctx):
    url = svc.start_simulator(ctx)
    env = svc.service_env(ctx, url)
    data = env["CLAUDE_STATUS_DATA_DIR"]
    db = os.path.join(data, DB)
    session = "locked"
    transcript = transcript_path(env, session)
    append_lines(transcript, 0, 20, session)
    service = svc.start_service(ctx, env)
    control = svc.Control(env["CLAUDE_STATUS_SOCKET"])
    control.wait_level({"operational"}, 30)
    wait_until("the first rows", lambda: rows_now(data, session) >= 20, 30, service, ctx)
    # The service's gateway serves the user's requests through the lock, and meters every one.
    import soak
    from e2e_support import free_port
    port = free_port()
    soak.set_gateway(env["CLAUDE_STATUS_SOCKET"], port)
    wait_until("the gateway listening", lambda: port_open(port), 30, service, ctx)
    figures = {"faults": 0, "lock_s": LOCK_S}
    written = 20
    problems = []
    longest = 0.0

    # 1. The write lock, held while the service runs and the commands run beside it.
    holder = holder_file(ctx)
    ctx.procs.start("holder-immediate", [sys.executable, holder, db, "immediate", str(LOCK_S)], ready="locked")
    held_at = time.monotonic()
    append_lines(transcript, written, 20, session)
    written += 20
    statuses = []

    def traffic():
        while time.monotonic() < held_at + LOCK_S:
            statuses.append(post_message(port, "under the lock"))
            time.sleep(0.5)
    sender = threading.Thread(target=traffic)
    sender.start()
    results = commands_under(ctx, env)
    sender.join()
    time.sleep(max(0, held_at + LOCK_S + 1 - time.monotonic()))
    if not statuses or any(code != 200 for code in statuses):
        problems.append(f"write lock: the gateway answered {statuses}")
    # The records it could not write under the lock go with the next batch: one more request.
    statuses.append(post_message(port, "after the lock"))
    deadline = time.monotonic() + 10
    while (gateway_rows := count(db, "SELECT count(*) FROM usage_ledger WHERE source = 'gateway'")) < len(statuses) \
            and time.monotonic() < deadline:
        time.sleep(0.3)
    figures.update(gateway_requests=len(statuses), gateway_rows=gateway_rows)
    fresh = {s.get("checked_at") for at, s in control.snapshots(since=held_at) if at < held_at + LOCK_S}
    figures["write_lock_fresh_rounds"] = len(fresh)
    if len(fresh) < LOCK_S // 2:
        problems.append(f"write lock: the service published {len(fresh)} fresh rounds in the {LOCK_S} s lock")
    judge(results, problems, "write lock", held_at, figures, "write_lock")
    if problems:
        raise CaseFailed("; ".join(problems))
    longest = max([longest] + [r[3] for r in results])
    figures["faults"] += 1

    # 2. An exclusive lock that keeps readers out too, taken while no service runs; the service
    #    started under it waits for the file rather than run without history.
    stop(service)
    ctx.procs.start("holder-exclusive", [sys.executable, holder, db, "exclusive", str(LOCK_S)], ready="locked")
    held_at = time.monotonic()
    append_lines(transcript, written, 20, session)
    written += 20
    service = svc.start_service(ctx, env, name="service-under-lock")
    results = commands_under(ctx, env)
    judge(results, problems, "exclusive lock", held_at, figures, "exclusive_lock")
    longest = max([longest] + [r[3] for r in results])
    control = svc.Control(env["CLAUDE_STATUS_SOCKET"], timeout=40)
    control.wait_level({"operational"}, 30)
    started_after = time.monotonic() - held_at
    since_ms = int(time.time() * 1000)
    wait_until("the service's probes in the file after the lock", lambda: len(svc.probe_rows(data, since_ms)) >= 2, 20,
               service, ctx, "service-under-lock")
    snap = control.snapshots()[-1][1]
    if snap.get("history_not_saved"):
        problems.append(f"the service started under the lock still says {snap['history_not_saved']!r} after it")
    figures["service_up_after_s"] = round(started_after, 1)
    figures["faults"] += 1

    # Every transcript line reaches the ledger once the locks are gone.
    wait_until(f"{written} rows", lambda: rows_now(data, session) >= written, 30, service, ctx, "service-under-lock")
    rows, distinct, output = ledger_counts(data, session)
    lost = (written - distinct) + max(0, len(statuses) - gateway_rows)
    double = (rows - distinct) + max(0, gateway_rows - len(statuses))
    for name in ("service", "service-under-lock"):
        text = log_text(ctx, name)
        if SQLITE_LOCKED.search(text):
            problems.append(f"{name}'s log: {SQLITE_LOCKED.search(text).group(0)!r}: "
                            f"{[line for line in text.splitlines() if SQLITE_LOCKED.search(line)][:2]}")
    if problems or lost or double:
        raise CaseFailed("; ".join(problems) + (f"; ledger: lost {lost}, double-counted {double}" if lost or double else ""))
    figures.update(commands=8, longest_command_s=round(longest, 2), lost=lost, double_counted=double)
    return figures


def port_open(port):
    import socket
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def holder_file(ctx):
    path = os.path.join(ctx.work, "holder.py")
    with open(path, "w") as f:
        f.write(HOLDER)
    return path


SAID = re.compile(r"history is not being saved|another program holds a lock on the history database")


def judge(results, problems, what, held_at, figures, key):
    """Every command exits 0 in bounded time, shows no SQLite lock error, and, unless it ended
    after the lock did (it waited it out), says that history is not being saved."""
    released = held_at + LOCK_S
    for name, code, out, seconds, ended in results:
        figures[f"{key}_{name.replace(' --no-service', '_no_service').replace(' ', '_')}_s"] = round(seconds, 2)
        if name in ("check --no-service", "usage") and ended < released and not SAID.search(out):
            problems.append(f"{what}: `{name}` ended under the lock without saying history is not saved: {out[-600:]}")
        if code != 0:
            problems.append(f"{what}: `{name}` exited {code}: {out[-600:]}")
        found = SQLITE_LOCKED.search(out)
        if found:
            problems.append(f"{what}: `{name}` showed {found.group(0)!r}: "
                            f"{[line for line in out.splitlines() if SQLITE_LOCKED.search(line)][:2]}")
        if seconds > 15:
            problems.append(f"{what}: `{name}` took {seconds:.1f} s")
        if name == "statusline" and seconds > 2:
            problems.append(f"{what}: the status line took {seconds:.1f} s")


# ---------------------------------------------------------------------------------------------
# db-many-writers

MANY_S = 30


def many_writers(ctx):
    import soak  # The gateway's load and the control call that turns the gateway on.
    from e2e_support import free_port, wait_for
    url = svc.start_simulator(ctx)
    env = svc.service_env(ctx, url)
    data = env["CLAUDE_STATUS_DATA_DIR"]
    session = "many"
    transcript = transcript_path(env, session)
    append_lines(transcript, 0, 10, session)
    service = svc.start_service(ctx, env)
    sock = env["CLAUDE_STATUS_SOCKET"]
    control = svc.Control(sock)
    control.wait_level({"operational"}, 30)
    port = free_port()
    soak.set_gateway(sock, port)
    wait_for("the gateway listening", lambda: __import__("socket").create_connection(("127.0.0.1", port), timeout=1).close() or True, 30)

    stop_at = time.monotonic() + MANY_S
    load = soak.Load(port)
    lock = threading.Lock()
    written = [10]
    runs = []

    def writer():
        while time.monotonic() < stop_at:
            append_lines(transcript, written[0], 10, session)
            with lock:
                written[0] += 10
            time.sleep(0.5)

    def loop(name, argv, stdin):
        while time.monotonic() < stop_at:
            code, out, seconds = timed(ctx, argv, env, stdin, timeout=60)
            with lock:
                runs.append((name, code, out, seconds))

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=loop, args=c) for c in (
        ("check", [ctx.cli, "check"], None),
        ("check --no-service", [ctx.cli, "check", "--no-service"], None),
        ("statusline", [ctx.cli, "statusline"], STATUSLINE_INPUT),
        ("usage", [ctx.cli, "usage", "daily", "--json"], None),
    )]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    load.stop()
    total = written[0]
    wait_until(f"{total} rows", lambda: rows_now(data, session) >= total, 30, service, ctx)
    time.sleep(1)
    rows, distinct, output = ledger_counts(data, session)
    answered = load.statuses.get(200, 0)
    sent = sum(load.statuses.values())
    # Each gateway request is one ledger row too (the simulator's message ids are unique).
    deadline = time.monotonic() + 10
    while True:
        gateway_rows = count(os.path.join(data, DB), "SELECT count(*) FROM usage_ledger WHERE source = 'gateway'")
        if gateway_rows >= answered or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    lost = (total - distinct) + max(0, answered - gateway_rows)
    double = (rows - distinct) + max(0, output // 7 - total) + max(0, gateway_rows - answered)
    problems = []
    for name, code, out, seconds in runs:
        if code != 0:
            problems.append(f"`{name}` exited {code}: {out[-400:]}")
        found = LOCKED_WORDS.search(out)
        if found:
            problems.append(f"`{name}` showed {found.group(0)!r}: {[l for l in out.splitlines() if LOCKED_WORDS.search(l)][:2]}")
    text = log_text(ctx, "service")
    if LOCKED_WORDS.search(text):
        problems.append(f"the service's log: {[l for l in text.splitlines() if LOCKED_WORDS.search(l)][:3]}")
    if answered != sent or sent == 0:
        problems.append(f"the gateway answered {answered} of {sent} requests 200: {load.statuses}, {load.errors[:3]}")
    if service.poll() is not None:
        problems.append(f"the service exited {service.returncode}")
    if problems or lost or double:
        raise CaseFailed("; ".join(problems[:6]) + f"; lines {total}, ledger {rows} rows {distinct} distinct, gateway "
                         f"{gateway_rows} rows of {answered} answered: lost {lost}, double-counted {double}")
    by_name = {}
    for name, _, _, _ in runs:
        by_name[name] = by_name.get(name, 0) + 1
    return {
        "commands": len(runs),
        "longest_command_ms": round(max(r[3] for r in runs) * 1000),
        "gateway_requests": sent,
        "gateway_rows": gateway_rows,
        "inputs_written": total,
        "lost": lost,
        "double_counted": double,
        **{f"runs_{k.replace(' --no-service', '_no_service')}": v for k, v in by_name.items()},
    }


CASES = [
    Case(
        "db-schema-versions",
        "a database from each shipped schema version (migrations 1..=k, rows in every table with "
        "that version's columns) opens at the current version with every old row and column intact",
        schema_versions,
        timeout=600,
    ),
    Case(
        "db-random-bytes",
        "claude-status.sqlite3 replaced by random bytes (seeded): `check --no-service` exits 0, the "
        "user is told once across check, usage and statusline, the garbage is kept byte for byte as "
        ".corrupt-<time>, the fresh file gets rows; the gateway on such a file forwards (200), the "
        "service on one probes, tells its front end once and a restart moves nothing; overwritten "
        "under the running service, it keeps monitoring",
        random_bytes,
        timeout=90,
    ),
    Case(
        "db-truncated-wal",
        "rows committed by the service, SIGKILLed with them in the WAL; the WAL then cut mid-frame, "
        "garbage appended, or its header torn: `check` opens it without error and moves nothing "
        "aside, every row of an intact commit survives (the torn tail is dropped, as SQLite should), "
        "and `usage` reads the dropped lines again: every line once",
        truncated_wal,
        timeout=90,
    ),
    Case(
        "db-locked",
        "another process holds the write lock, then an exclusive one, for 8 s: `check`, `usage`, "
        "`statusline` exit 0 without \"database is locked\", in bounded time (the status line in "
        "under 2 s), going on without history and saying so; the running service keeps publishing "
        "rounds and its gateway answers 200, one started under the lock waits for it; every "
        "transcript line and gateway request reaches the ledger once",
        locked,
        timeout=90,
    ),
    Case(
        "db-many-writers",
        "the service (probing every 1 s, gateway under 20 requests/s, transcripts written) with "
        "`check`, `check --no-service`, `statusline`, `usage` in four loops for 30 s: every command "
        "exits 0, no \"locked\" or \"busy\" anywhere, the gateway answers every request 200, the "
        "ledger holds every transcript line once",
        many_writers,
        timeout=90,
    ),
]
