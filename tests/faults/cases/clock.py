"""Clock jumps (issue 16, item 2): the real service, probing every second against the simulator,
runs under libfaketime, and its wall clock is moved an hour forward and then an hour back by
rewriting the timestamp file libfaketime reads on every call (FAKETIME_NO_CACHE=1). The
machine's own clock is never touched.

The monotonic clock is left alone (DONT_FAKE_MONOTONIC=1): that is what a real jump looks like
(someone sets the clock, NTP steps it, a VM resumes) -- CLOCK_REALTIME moves and CLOCK_MONOTONIC
does not, and tokio's timers, the probe deadlines and FreezeWatch run on the monotonic clock. A
monotonic clock that moves back is not a fault a real kernel makes.

Across both jumps the service must not panic, must keep probing (the simulator counts the
probes), must raise no notification and no level change for a healthy API, and what its clients
show (`check --json`, `history`, `usage`, `statusline` fed Claude Code's JSON) must hold no
negative duration, with the 5-hour window at the latest reading or unknown. The clients run
without faketime, as a user's shell would after the clock came back, and `check` runs once under
the faked clock an hour ahead too."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from suite import Case, CaseFailed, CaseSkipped

import _service as svc

LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
STATUSLINE_FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "claude_code", "fixtures", "statusline-input-2.1.328.json")
# Seconds the service runs on each side of a jump; every one of them should hold a probe round.
PHASE_S = 6


class FakeClock:
    """The offset libfaketime adds to the wall clock of the processes given `env()`."""

    def __init__(self, ctx):
        if not os.path.exists(LIBFAKETIME):
            raise CaseSkipped(f"{LIBFAKETIME} is missing: apt-get install faketime (scripts/setup.sh)")
        self.path = ctx.path("faketime", "offset")
        self.set(0)

    def set(self, seconds):
        # Written to a new file and renamed, so a read never sees half a line.
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{seconds:+d}\n")
        os.replace(tmp, self.path)

    def env(self, base):
        env = dict(base)
        env.update(
            LD_PRELOAD=LIBFAKETIME,
            FAKETIME_TIMESTAMP_FILE=self.path,
            FAKETIME_NO_CACHE="1",
            DONT_FAKE_MONOTONIC="1",
        )
        return env


def statusline_input(percent, now):
    """Claude Code's status-line JSON with a 5-hour window at `percent`, resetting 2 h after `now`."""
    with open(STATUSLINE_FIXTURE) as f:
        data = json.load(f)
    data["rate_limits"] = {
        "five_hour": {"used_percentage": percent, "resets_at": int(now) + 2 * 3600},
        "seven_day": {"used_percentage": 10, "resets_at": int(now) + 3 * 86400},
    }
    return json.dumps(data)


def shown(ctx, argv, env, stdin=None):
    """Runs a client command to its end; its output, which must show no negative duration."""
    result = ctx.run([ctx.cli, *argv], env=env, input=stdin, timeout=30)
    if result.returncode != 0:
        raise CaseFailed(f"`{' '.join(argv)}` exited {result.returncode}: {result.stderr[-1500:]}")
    out = result.stdout
    negative = svc.negative_durations(out)
    if negative:
        raise CaseFailed(f"`{' '.join(argv)}` shows negative durations {negative}: {out[-1500:]}")
    if "panicked" in result.stderr:
        raise CaseFailed(f"`{' '.join(argv)}` panicked: {result.stderr[-1500:]}")
    return out


def five_hour(check_json):
    """The 5-hour window's percentage in `check --json`'s snapshot, or None when it is unknown."""
    snapshot = json.loads(check_json)
    usage = snapshot.get("usage") or snapshot.get("snapshot", {}).get("usage") or {}
    for window in usage.get("plan", []):
        if window.get("window") == "five_hour":
            return window.get("used_percent"), window
    return None, None


def probes_in(sampler, start, end):
    a, b = sampler.at(start), sampler.at(end)
    return (b[1] - a[1]) + (b[2] - a[2])


def run(ctx):
    clock = FakeClock(ctx)
    # `usage` reads Claude Code's transcripts: an empty projects folder is a user with none yet.
    os.makedirs(os.path.join(ctx.env()["CLAUDE_CONFIG_DIR"], "projects"), exist_ok=True)
    url = svc.start_simulator(ctx)
    env = svc.service_env(ctx, url)
    service = svc.start_service(ctx, clock.env(env))
    control = svc.Control(env["CLAUDE_STATUS_SOCKET"])
    sampler = svc.Sampler(url)
    figures = {"jumps_survived": 0, "negative_durations": 0}
    try:
        control.wait_level({"operational"}, 40)
        time.sleep(2)
        since = time.monotonic()
        shown(ctx, ["statusline"], env, statusline_input(40, time.time()))

        # An hour forward.
        jumped = time.monotonic()
        clock.set(3600)
        time.sleep(PHASE_S)
        ctx.procs.check_alive()
        figures["probes_after_forward"] = probes_in(sampler, jumped + 1, time.monotonic())
        # Claude Code's status line on the faked clock (its reading is stamped an hour ahead),
        # and `check` itself on it.
        shown(ctx, ["statusline"], clock.env(env), statusline_input(45, time.time() + 3600))
        ahead = shown(ctx, ["check", "--json"], clock.env(env))
        percent, window = five_hour(ahead)
        if percent not in (45, None):
            raise CaseFailed(f"an hour ahead, `check --json` shows the 5-hour window at {percent}: {window}")
        figures["five_hour_ahead"] = "unknown" if percent is None else percent
        shown(ctx, ["history"], clock.env(env))
        figures["jumps_survived"] += 1

        # And back: an hour back from there, to the true time.
        back = time.monotonic()
        clock.set(0)
        time.sleep(PHASE_S)
        ctx.procs.check_alive()
        figures["probes_after_back"] = probes_in(sampler, back + 1, time.monotonic())
        shown(ctx, ["statusline"], env, statusline_input(50, time.time()))
        time.sleep(0.5)
        now_json = shown(ctx, ["check", "--json"], env)
        percent, window = five_hour(now_json)
        if percent not in (50, None):
            raise CaseFailed(
                f"after the clock came back, `check --json` shows the 5-hour window at {percent} "
                f"(the latest reading says 50): {window}")
        figures["five_hour_after_back"] = "unknown" if percent is None else percent
        shown(ctx, ["check"], env)
        shown(ctx, ["history"], env)
        shown(ctx, ["usage"], env)
        figures["jumps_survived"] += 1

        for name in ("probes_after_forward", "probes_after_back"):
            # One round a second is two probes (reachability and streaming).
            if figures[name] < PHASE_S - 2:
                raise CaseFailed(f"the service stopped probing across the jump: {name} = {figures[name]} in {PHASE_S - 1} s")
        events = control.events(since)
        notes = svc.notifications(events)
        changes = svc.level_changes(events)
        figures["notifications"] = len(notes)
        if notes or changes:
            raise CaseFailed(f"the jumps raised {len(notes)} notification(s) and {len(changes)} level change(s): {events}")
        if control.level() != "operational":
            raise CaseFailed(f"after the jumps the level is {control.level()!r}")
        # A task's panic does not end the process (tokio catches it), so its log is read too.
        with open(os.path.join(ctx.work, "service.log"), errors="replace") as log:
            text = log.read()
        if "panicked" in text:
            raise CaseFailed(f"the service panicked: {text[text.index('panicked') - 200:][:1500]}")
        negative = svc.negative_durations(text)
        figures["negative_durations"] = len(negative)
        if negative:
            raise CaseFailed(f"the service's log shows negative durations: {negative[:5]}")
        rows = svc.probe_rows(env["CLAUDE_STATUS_DATA_DIR"])
        # The jump was real for the service: it stamped probes an hour ahead, then on time again.
        real_ms = time.time() * 1000
        ahead_rows = [r for r in rows if r[0] > real_ms + 3_000_000]
        after_rows = [r for r in rows if abs(r[0] - real_ms) < 5_000]
        figures["probes_stamped_ahead"] = len(ahead_rows)
        if not ahead_rows or not after_rows:
            raise CaseFailed(
                f"libfaketime did not move the service's clock: {len(ahead_rows)} probes stamped an hour "
                f"ahead, {len(after_rows)} on time, of {len(rows)}")
        bad = [r for r in rows if r[2] != "ok" or (r[3] or 0) < 0 or (r[3] or 0) > 10_000]
        if bad:
            raise CaseFailed(f"the jumps were recorded as failed or absurd probes: {bad[:3]}")
        figures["faults"] = figures["jumps_survived"]
        return figures
    finally:
        sampler.stop()
        clock.set(0)


CASES = [
    Case(
        "clock-jump-1h",
        "the service under libfaketime (wall clock only) survives +1 h then -1 h: it keeps probing, "
        "notifies nothing, its clients show no negative duration and the 5-hour window is the "
        "latest reading or unknown",
        run,
        timeout=90,
    ),
]
