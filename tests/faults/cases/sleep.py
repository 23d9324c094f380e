"""Sleep and resume (issue 16, item 1): the real service, probing every second against the
simulator, is frozen with SIGSTOP (what a laptop's sleep looks like to a process: its timers are
all overdue at once when it wakes) and woken with SIGCONT. It is stopped while a streaming probe
is in flight, so the exchange that straddles the pause is the hard part: its wall-clock and
monotonic durations are the whole pause, and its deadline has passed when it wakes.

The offline twin runs the simulator and the service in a network namespace of their own and takes
its loopback down during the pause, so the service wakes to a dead network."""

import ctypes
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from suite import Case, CaseFailed, CaseSkipped

import _service as svc

# The simulator's time to first token: long enough that a probe is surely in flight when the
# service is stopped right after a probe reaches the simulator.
TTFT_MS = 400
CLONE_NEWNET = 0x40000000
OFFLINE_WITHIN = float(os.environ.get("FAULTS_OFFLINE_WITHIN", "80"))


def stop_mid_probe(sampler, pid, timeout=15):
    """SIGSTOPs `pid` right after a streaming probe reached the simulator (so it is in flight)."""
    _, _, before = sampler.now()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, _, now = sampler.now()
        if now > before:
            os.kill(pid, signal.SIGSTOP)
            return time.monotonic()
        time.sleep(0.005)
    raise CaseFailed(f"no streaming probe reached the simulator within {timeout} s")


def judge_wake(ctx, control, sampler, data_dir, since, stopped_at, woke_at, watch_s, pause_s):
    """What must hold after the wake: at most one round at once, no probe failure or latency
    made of the pause, no notification and no level change."""
    settle_end = woke_at + watch_s
    first = sampler.at(woke_at + 1.0)
    base = sampler.at(woke_at)
    first_reach, first_stream = first[1] - base[1], first[2] - base[2]
    most_reach, most_stream = sampler.most_in_a_second(woke_at, settle_end)
    if most_reach > 2 or most_stream > 2:
        raise CaseFailed(
            f"a burst after the wake: {most_reach} reachability and {most_stream} streaming probes "
            f"in one second (one round a second is 1 and 1)")
    if first_reach + first_stream == 0:
        raise CaseFailed("no probe in the first second after the wake: the first round was not taken at once")
    events = control.events(since)
    notes = svc.notifications(events)
    changes = svc.level_changes(events)
    if notes or changes:
        raise CaseFailed(f"the pause raised {len(notes)} notification(s) and {len(changes)} level change(s): {events}")
    rows = svc.probe_rows(data_dir, int((time.time() - (time.monotonic() - stopped_at) - 2) * 1000))
    bad = [r for r in rows if r[2] != "ok"]
    slow = [r for r in rows if (r[3] or 0) > 10_000]
    if bad or slow:
        raise CaseFailed(
            f"the pause was recorded as the API's fault: {len(bad)} failed probe(s) {bad[:3]}, "
            f"{len(slow)} with a latency over 10 s {slow[:3]}")
    return {
        "pause_s": pause_s,
        "wake_round_probes": first_reach + first_stream,
        "most_probes_per_s": most_reach + most_stream,
        "false_notifications": len(notes),
        "false_failures": len(bad) + len(slow),
    }


def sleep_case(pause_s):
    def run(ctx):
        url = svc.start_simulator(ctx, extra=["--ttft-ms", str(TTFT_MS)])
        env = svc.service_env(ctx, url)
        data_dir = env["CLAUDE_STATUS_DATA_DIR"]
        service = svc.start_service(ctx, env)
        control = svc.Control(env["CLAUDE_STATUS_SOCKET"])
        sampler = svc.Sampler(url)
        try:
            control.wait_level({"operational"}, 40)
            # A few rounds of the steady pace before the fault, and the events from here on count.
            time.sleep(3)
            since = time.monotonic()
            stopped_at = stop_mid_probe(sampler, service.pid)
            time.sleep(1.0)
            during = sampler.now()
            time.sleep(pause_s - 1.0)
            after = sampler.now()
            if after[1:] != during[1:]:
                raise CaseFailed(f"probes reached the simulator while the service was stopped: {during} then {after}")
            os.kill(service.pid, signal.SIGCONT)
            woke_at = time.monotonic()
            time.sleep(8)
            ctx.procs.check_alive()
            figures = judge_wake(ctx, control, sampler, data_dir, since, stopped_at, woke_at, 8, pause_s)
            if control.level() != "operational":
                raise CaseFailed(f"after the wake the level is {control.level()!r}")
            figures["faults"] = 1
            return figures
        finally:
            sampler.stop()
            try:
                os.kill(service.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
    return run


class Namespace:
    """A network namespace held open by a sleeping process, with its loopback up. Children enter it
    with nsenter; a thread of this process enters it with setns (which moves only that thread)."""

    def __init__(self, ctx):
        if not os.path.exists("/usr/bin/nsenter") or os.geteuid() != 0:
            raise CaseSkipped("a network namespace needs root and nsenter (util-linux)")
        ctx.procs.start("netns", ["unshare", "-n", "sh", "-c", "ip link set lo up && echo ready && exec sleep 3600"], ready=r"ready")
        # `start` with `ready` returns the match, not the process: the holder is the last child.
        self.pid = ctx.procs.procs[-1][1].pid
        self.prefix = ["nsenter", "-t", str(self.pid), "-n", "--"]

    def ip(self, *args):
        subprocess.run([*self.prefix, "ip", *args], check=True, timeout=10)

    def enter_thread(self):
        """Moves the calling thread into the namespace."""
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(f"/proc/{self.pid}/ns/net", os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns")
        finally:
            os.close(fd)


class NsSampler(svc.Sampler):
    """The sampler, its thread inside the namespace (the simulator listens on its loopback)."""

    def __init__(self, url, ns):
        self.ns = ns
        super().__init__(url)

    def _run(self):
        self.ns.enter_thread()
        super()._run()


def offline_case(pause_s):
    def run(ctx):
        try:
            ns = Namespace(ctx)
        except (OSError, RuntimeError, TimeoutError) as error:
            raise CaseSkipped(f"unshare -n failed here: {error}") from None
        url = svc.start_simulator(ctx, argv_prefix=ns.prefix, extra=["--ttft-ms", str(TTFT_MS)])
        env = svc.service_env(ctx, url)
        service = svc.start_service(ctx, env, argv_prefix=ns.prefix)
        control = svc.Control(env["CLAUDE_STATUS_SOCKET"])
        sampler = NsSampler(url, ns)
        # nsenter execs the service, so the child's pid is the service's.
        pid = service.pid
        try:
            control.wait_level({"operational"}, 40)
            time.sleep(3)
            since = time.monotonic()
            stop_mid_probe(sampler, pid)
            ns.ip("link", "set", "lo", "down")
            time.sleep(pause_s)
            os.kill(pid, signal.SIGCONT)
            woke_at = time.monotonic()
            # The wake with no network: `offline` within a few rounds, never `outage`.
            seen = []
            deadline = woke_at + OFFLINE_WITHIN
            while time.monotonic() < deadline:
                seen = [s["level"] for _, s in control.snapshots(woke_at)]
                if "offline" in seen:
                    break
                time.sleep(0.1)
            offline_after = time.monotonic() - woke_at
            time.sleep(3)
            seen = [s["level"] for _, s in control.snapshots(woke_at)]
            if "offline" not in seen:
                rows = svc.probe_rows(env["CLAUDE_STATUS_DATA_DIR"], int((time.time() - 60) * 1000))
                raise CaseFailed(f"woken without a network, the service never said offline in {OFFLINE_WITHIN} s: levels {seen}; probes {rows[-8:]}")
            if "outage" in seen or "degraded" in seen or "overloaded" in seen:
                raise CaseFailed(f"woken without a network, the service blamed the API: levels {seen}")
            events = control.events(since)
            notes = svc.notifications(events)
            # The network comes back: operational again, and still no notification (a dead
            # Wi-Fi is not Anthropic's outage, so its end is no recovery either).
            ns.ip("link", "set", "lo", "up")
            back_at = time.monotonic()
            control.wait_level({"operational"}, 20)
            back_s = time.monotonic() - back_at
            ctx.procs.check_alive()
            events = control.events(since)
            notes = svc.notifications(events)
            if notes:
                raise CaseFailed(f"the offline wake raised {len(notes)} notification(s): {notes}")
            levels = []
            for _, s in control.snapshots(since):
                if not levels or levels[-1] != s["level"]:
                    levels.append(s["level"])
            return {
                "faults": 2,
                "pause_s": pause_s,
                "offline_after_s": round(offline_after, 1),
                "operational_again_s": round(back_s, 1),
                "levels": " > ".join(levels),
                "false_notifications": len(notes),
            }
        finally:
            sampler.stop()
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
    return run


CASES = [
    Case(
        "sleep-60s",
        "SIGSTOP for 60 s mid-probe, then SIGCONT: the first round after waking is taken at once and "
        "counts as fresh (no failure or latency made of the pause), no burst of overdue probes (at "
        "most one round a second), no notification or level change",
        sleep_case(60),
        timeout=120,
    ),
    Case(
        "sleep-offline-30s",
        "SIGSTOP for 30 s (shorter than sleep-60s: the 60 s pause is proved there, this one adds the "
        "dead network) while the network namespace's loopback is taken down, then SIGCONT: the "
        "service says offline, never outage, with no notification, and operational once the "
        "network is back",
        offline_case(30),
        timeout=170,
    ),
    Case(
        "sleep-10min",
        "SIGSTOP for 10 minutes mid-probe, then SIGCONT: as sleep-60s",
        sleep_case(600),
        long=True,
        timeout=700,
    ),
]
