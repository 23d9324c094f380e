"""The disk under the data directory: full, and not writable by the user. Monitoring must go on
either way, and every front end must say that history is not being saved; once space returns, the
Claude Code ledger has every record exactly once (its file offsets never ran past what was written).

disk-full mounts a small tmpfs as the data directory (root only: CI runs as root), and
disk-read-only runs the CLI as a second, unprivileged user, because root ignores file modes."""

import json
import os
import pwd
import shutil
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from suite import Case, CaseFailed, CaseSkipped
from _service import MODEL, Control, service_env, start_service, start_simulator

OTHER_USER = "cs-fault-other"
DB = "claude-status.sqlite3"


# ---------------------------------------------------------------------------------------------
# Claude Code transcripts: every line a distinct request, so the ledger's row count is the count
# of requests written, and a line counted twice would show as a second row or a doubled total.

# Each line's input tokens: so large that the tracker's total, divided by it, counts the transcript
# requests whatever the streaming probes (a few tokens each) add.
LINE_INPUT = 100_000


def transcript_line(n, session):
    return json.dumps({
        "type": "assistant",
        "sessionId": session,
        "requestId": f"req_fault_{session}_{n:06d}",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "cwd": "/work/faults",
        "message": {
            "id": f"msg_fault_{session}_{n:06d}",
            "type": "message",
            "role": "assistant",
            "model": MODEL,
            "usage": {"input_tokens": LINE_INPUT, "output_tokens": 7, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
            "content": [{"type": "text", "text": "ok"}],
        },
    }) + "\n"


def append_lines(path, start, count, session):
    with open(path, "a") as f:
        for n in range(start, start + count):
            f.write(transcript_line(n, session))
        f.flush()
        os.fsync(f.fileno())


def ledger_counts(data_dir, session):
    """(rows, distinct requests, summed output tokens) of the session's Claude Code records."""
    con = sqlite3.connect(f"file:{os.path.join(data_dir, DB)}?mode=ro", uri=True, timeout=10)
    try:
        return con.execute(
            "SELECT count(*), count(DISTINCT request_id), coalesce(sum(output), 0) FROM usage_ledger "
            "WHERE source = 'claude_code' AND session_id = ?",
            (session,),
        ).fetchone()
    finally:
        con.close()


def fill(directory, name="filler"):
    """Fills the file system under `directory` to the last byte; returns the filler's path."""
    path = os.path.join(directory, name)
    if shutil.disk_usage(directory).free == 0:
        raise CaseFailed(f"the file system under {directory} was full before the case filled it: {os.listdir(directory)}")
    # Unbuffered, so the refused write is the one that raises, not the close.
    with open(path, "wb", buffering=0) as f:
        chunk = b"\0" * (1 << 16)
        try:
            while True:
                f.write(chunk)
        except OSError:
            pass
        # The last partial chunk, byte runs down to one, so not a page is left.
        for size in (4096, 512, 1):
            try:
                while True:
                    if not f.write(b"\0" * size):
                        break
            except OSError:
                pass
    return path


def last_snapshot(control):
    snaps = control.snapshots()
    return snaps[-1][1] if snaps else None


def wait_snapshot(control, what, test, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snap = last_snapshot(control)
        if snap is not None and test(snap):
            return snap
        time.sleep(0.2)
    raise CaseFailed(f"the service's snapshot never showed {what} within {timeout} s; last: "
                     f"history_not_saved={last_snapshot(control) and last_snapshot(control).get('history_not_saved')!r}")


def disk_full(ctx):
    if os.geteuid() != 0:
        raise CaseSkipped("mounting a tmpfs needs root (CI runs the suite as root)")
    url = start_simulator(ctx)
    env = service_env(ctx, url)
    data = env["CLAUDE_STATUS_DATA_DIR"]
    os.makedirs(data, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", data],
                             capture_output=True, text=True, timeout=30)
    if mounted.returncode != 0:
        raise CaseSkipped(f"mount -t tmpfs failed ({mounted.returncode}): {mounted.stderr.strip()}")
    try:
        return disk_full_mounted(ctx, url, env, data)
    finally:
        ctx.procs.stop_all()
        subprocess.run(["umount", "-l", data], capture_output=True, timeout=30)


def disk_full_mounted(ctx, url, env, data):
    session = "diskfull"
    projects = os.path.join(env["CLAUDE_CONFIG_DIR"], "projects", "-work-faults")
    os.makedirs(projects, exist_ok=True)
    transcript = os.path.join(projects, f"{session}.jsonl")
    before, during, after = 200, 300, 100
    append_lines(transcript, 0, before, session)

    service = start_service(ctx, env)
    control = Control(env["CLAUDE_STATUS_SOCKET"])
    wait_snapshot(control, "a first round", lambda s: s.get("checked_at") and s["level"] == "operational", 30)

    def ledger_has(n):
        def test():
            rows = ledger_counts(data, session)[0]
            return rows >= n and rows
        return test

    deadline = time.monotonic() + 30
    while ledger_counts(data, session)[0] < before:
        if time.monotonic() > deadline:
            raise CaseFailed(f"the ledger held {ledger_counts(data, session)[0]} of {before} records before the disk filled")
        time.sleep(0.2)

    # The disk fills. The probes go on every second; each write the monitor tries is refused.
    filler = fill(data)
    full_at = time.monotonic()
    append_lines(transcript, before, during, session)
    snap = wait_snapshot(control, "history_not_saved", lambda s: s.get("history_not_saved"), 30)
    text = snap["history_not_saved"]
    if "not being saved" not in text or "full" not in text:
        raise CaseFailed(f"the snapshot's history_not_saved does not say the disk is full: {text!r}")
    # Monitoring goes on: new rounds keep arriving, the level stays the API's (operational).
    seen = control.snapshots(since=full_at)
    time.sleep(4)
    later = control.snapshots(since=full_at)
    fresh = [s for _, s in later if s.get("checked_at") and s["history_not_saved"]]
    if len({s["checked_at"] for s in fresh}) < 2:
        raise CaseFailed(f"the service stopped publishing fresh rounds on a full disk ({len(seen)} then {len(later)} snapshots)")
    if fresh[-1]["level"] != "operational":
        raise CaseFailed(f"a full disk changed the level to {fresh[-1]['level']!r}")
    if service.poll() is not None:
        raise CaseFailed(f"the service exited {service.returncode} on a full disk:\n{ctx.procs.tail('service')}")

    # check, answered by the service, says so too (text and JSON).
    check_env = dict(env)
    checked = ctx.run([ctx.cli, "check"], env=check_env, timeout=60)
    if "history is not being saved" not in checked.stdout:
        raise CaseFailed(f"`check` did not say history is not being saved:\n{checked.stdout}\n{checked.stderr}")
    checked_json = ctx.run([ctx.cli, "check", "--json"], env=check_env, timeout=60)
    if not json.loads(checked_json.stdout).get("history_not_saved"):
        raise CaseFailed(f"`check --json` has no history_not_saved: {checked_json.stdout[:400]}")
    rows_while_full = ledger_counts(data, session)[0]

    # Space returns; the next rescan or write reads from the last committed offset.
    os.unlink(filler)
    append_lines(transcript, before + during, after, session)
    total = before + during + after
    deadline = time.monotonic() + 60
    while True:
        rows, distinct, output = ledger_counts(data, session)
        if rows >= total or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    snap = wait_snapshot(control, "history saved again", lambda s: s.get("checked_at") and not s.get("history_not_saved"), 30)
    rows, distinct, output = ledger_counts(data, session)
    lost = total - distinct
    double = (rows - distinct) + max(0, output // 7 - total)
    # The tracker's count of today's requests (the monitor's own tally) must agree: one per record.
    usage = ctx.run([ctx.cli, "usage", "daily", "--json"], env=env, timeout=60)
    if usage.returncode != 0:
        raise CaseFailed(f"`usage daily --json` exited {usage.returncode}: {usage.stderr[-800:]}")
    claude_code = [row for row in json.loads(usage.stdout)["totals"]["by_source"] if row["source"] == "claude_code"]
    reported = claude_code[0]["input_tokens"] // LINE_INPUT if claude_code else 0
    # The monitor's own tally (the tracker behind the tray's usage line and the budgets) got each
    # batch once, after its commit.
    tracked = round((snap.get("usage") or {}).get("today", {}).get("tokens", {}).get("input", 0) / LINE_INPUT)
    lost += max(0, total - reported) + max(0, total - tracked)
    double += max(0, reported - total) + max(0, tracked - total)
    if lost or double:
        raise CaseFailed(f"after the disk had room again: ledger {distinct} of {total} records ({rows} rows, "
                         f"{output} output tokens), `usage` {reported}, the tracker {tracked}: "
                         f"lost {lost}, double-counted {double}")
    return {
        "faults": 1,
        "records": total,
        "written_while_full": rows_while_full - before,
        "tracker": tracked,
        "usage_cmd": reported,
        "lost": lost,
        "double_counted": double,
    }


# ---------------------------------------------------------------------------------------------

def ensure_user():
    try:
        return pwd.getpwnam(OTHER_USER)
    except KeyError:
        pass
    result = subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", OTHER_USER],
                            capture_output=True, text=True, timeout=30)
    if result.returncode != 0 and "already exists" not in result.stderr:
        raise CaseSkipped(f"useradd {OTHER_USER} failed ({result.returncode}): {result.stderr.strip()}")
    return pwd.getpwnam(OTHER_USER)


def as_other_argv(argv):
    user = pwd.getpwnam(OTHER_USER)
    return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all", "--", *argv]


def read_only(ctx):
    if os.geteuid() != 0:
        raise CaseSkipped("making a second user needs root (CI runs the suite as root)")
    user = ensure_user()
    # The suite's folders are root's own (0700); the other user may pass through them, no more.
    for folder in (os.path.dirname(ctx.work), ctx.work):
        os.chmod(folder, 0o711)
    url = start_simulator(ctx)
    base = service_env(ctx, url)
    data = base["CLAUDE_STATUS_DATA_DIR"]
    # A history the user already had, from a run as its owner (root here), then out of their reach.
    seeded = ctx.run([ctx.cli, "check", "--no-service", "--json"], env=base, timeout=60)
    if seeded.returncode != 0:
        raise CaseFailed(f"seeding the history failed ({seeded.returncode}): {seeded.stderr[-800:]}")
    os.chmod(data, 0o755)
    for name in os.listdir(data):
        os.chmod(os.path.join(data, name), 0o644)
    before = {name: os.stat(os.path.join(data, name)).st_mtime_ns for name in os.listdir(data)}

    # The other user's own home and runtime folder; only the data directory is out of reach.
    home = os.path.join(ctx.work, "other-home")
    run = os.path.join(ctx.work, "other-run")
    for folder in (home, run):
        os.makedirs(folder, mode=0o700, exist_ok=True)
        os.chown(folder, user.pw_uid, user.pw_gid)
    env = {k: v for k, v in base.items() if not k.startswith("XDG_")}
    env.update(HOME=home, XDG_RUNTIME_DIR=run, XDG_CONFIG_HOME=os.path.join(home, ".config"),
               CLAUDE_CONFIG_DIR=os.path.join(home, ".claude"),
               CLAUDE_STATUS_SOCKET=os.path.join(run, "control.sock"), PATH="/usr/bin:/bin")

    checked = subprocess.run(as_other_argv([ctx.cli, "check", "--no-service", "--json"]), env=env,
                             capture_output=True, text=True, timeout=60, cwd="/")
    if checked.returncode != 0:
        raise CaseFailed(f"`check` exited {checked.returncode} with a read-only data directory:\n{checked.stderr[-1500:]}")
    snapshot = json.loads(checked.stdout)
    if snapshot["level"] != "operational" or not snapshot.get("probe"):
        raise CaseFailed(f"`check` did not monitor with a read-only data directory: level {snapshot['level']!r}")
    reason = snapshot.get("history_not_saved") or ""
    if "not being saved" not in reason or data not in reason:
        raise CaseFailed(f"`check` did not say why history is not saved: {reason!r}")

    # Told once: the plain report says it, and no log line says it again.
    plain = subprocess.run(as_other_argv([ctx.cli, "check", "--no-service"]), env=env,
                           capture_output=True, text=True, timeout=60, cwd="/")
    told = (plain.stdout + plain.stderr).count("not being saved")
    if told != 1:
        raise CaseFailed(f"`check` said {told} times that history is not being saved:\n{plain.stdout}\n{plain.stderr}")

    service = ctx.procs.start("service-other", as_other_argv([ctx.cli, "service", "run"]), env=env)
    # The startup message, on stderr, in one line.
    deadline = time.monotonic() + 30
    said = ""
    while time.monotonic() < deadline:
        said = ctx.procs.tail("service-other", 200)
        if "history is not being saved" in said:
            break
        if service.poll() is not None:
            raise CaseFailed(f"the service exited {service.returncode} with a read-only data directory:\n{said}")
        time.sleep(0.2)
    else:
        raise CaseFailed(f"the service did not say history is not being saved:\n{said}")
    # The service monitors: `check` (answered by the service, as the same user) shows its rounds.
    deadline = time.monotonic() + 30
    while True:
        answered = subprocess.run(as_other_argv([ctx.cli, "check", "--json"]), env=env,
                                  capture_output=True, text=True, timeout=60, cwd="/")
        snap = json.loads(answered.stdout) if answered.stdout.strip() else {}
        if snap.get("level") == "operational" and snap.get("history_not_saved"):
            break
        if time.monotonic() > deadline:
            raise CaseFailed(f"the service's snapshot via `check`: {answered.returncode} {answered.stdout[:300]} {answered.stderr[-600:]}")
        time.sleep(0.5)
    if service.poll() is not None:
        raise CaseFailed(f"the service exited {service.returncode}:\n{ctx.procs.tail('service-other')}")
    told = ctx.procs.tail("service-other", 400).count("not being saved")
    if told != 1:
        raise CaseFailed(f"the service said {told} times that history is not being saved:\n{ctx.procs.tail('service-other')}")
    after = {name: os.stat(os.path.join(data, name)).st_mtime_ns for name in os.listdir(data)}
    if after != before:
        raise CaseFailed(f"the read-only data directory changed: {before} -> {after}")
    return {"faults": 2}


CASES = [
    Case(
        "disk-full",
        "data dir on a 16 MiB tmpfs, filled while the service probes every second and Claude Code "
        "writes: the service keeps publishing rounds at the API's level, the snapshot and `check` say "
        "\"history is not being saved: the disk is full\"; once space returns the ledger holds every "
        "record exactly once",
        disk_full,
        timeout=150,
    ),
    Case(
        "disk-read-only",
        "a second, unprivileged user with a data directory it cannot write: `check` monitors and says "
        "why history is not saved; `service run` prints that once at start and keeps monitoring; "
        "the directory is untouched",
        read_only,
        timeout=120,
    ),
]
