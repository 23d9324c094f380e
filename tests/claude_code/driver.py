#!/usr/bin/env python3
"""Measures how fast the app sees an overload of the model the real Claude Code is using.

The figure of issue 11: "onset of an overload of the most-used model to its verdict and
notification, with the real Claude Code sending one turn every 5 s through the gateway (its own
retries follow within 1-2 s): goal median <= 10 s". It is printed, never asserted.

The rig, all on loopback:

    claude -p (a new turn every 5 s) -> gateway -> simulator (claude-status-sim --manual)
                                          |
                                          +-> records -> engine (Engine::start, streaming probe on,
                                                          a key) -> verdicts and notifications

The gateway and the engine run inside `detection_bench host` (crates/engine/examples), which
prints one JSON line per gateway record and per engine event. Each storm phase starts a fresh
host, because the alert policy's 10 min cooldown would otherwise keep the second phase's
notification back; the simulator and the Claude Code binary stay. A phase lets normal turns
run, switches the simulator at a chosen onset (spread over the 5 s turn cycle) into
`model-overload`'s plateau (every POST /v1/messages for claude-opus-5-5 overloaded, everything
else answering, the status page silent), and times from the onset to the first 529 the gateway
records, to the engine's event whose level is overloaded with claude-opus-5-5 as its subject,
and to the notification naming Opus 5.5. Then it ends the storm, kills any Claude Code still
retrying, waits for the recovery and goes on with the next phase.

Usage: driver.py --sim PATH --host PATH --claude PATH [--phases N] [--work-dir DIR] [--json FILE]
                 [--label TEXT] [--hold-until-give-up]   (--help lists the bounds of every wait)
Standard library only.
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

STORM_MODEL = "claude-opus-5-5"
STORM_NAME = "Opus 5.5"
# Any sk-ant- string: only the simulator behind the gateway ever sees it.
DUMMY_KEY = "sk-ant-api03-dummy-driver"
# model-overload's plateau in story time: every message to its model overloaded, the status
# page still silent (its incident comes at 7 min).
PLATEAU_SECONDS = 180
# Claude Code 2.1.328's documented worst case (claude-code.md H2): 11 requests over about 175 s.
DOCUMENTED_GIVE_UP_SECONDS = 175


def now_ms():
    return time.time() * 1000.0


def log(message):
    print(f"driver: {message}", file=sys.stderr, flush=True)


def stop_process(proc, grace=5.0):
    """Ends one process this driver started (by its pid, or its own process group)."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            proc.kill()
        proc.wait(timeout=grace)


def read_line_within(stream, seconds):
    """The next line of a pipe, or None when none came within `seconds`."""
    box = []
    reader = threading.Thread(target=lambda: box.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(seconds)
    return box[0] if box else None


class Sim:
    """claude-status-sim on an ephemeral port with a manual story clock."""

    def __init__(self, binary, work_dir):
        self.stderr = open(os.path.join(work_dir, "sim.log"), "w")
        self.proc = subprocess.Popen(
            [binary, "--scenario", "healthy", "--manual", "--port", "0"],
            stdout=subprocess.PIPE, stderr=self.stderr, text=True, start_new_session=True,
        )
        line = read_line_within(self.proc.stdout, 30)
        if not line or not line.startswith("listening on "):
            stop_process(self.proc)
            raise RuntimeError(f"the simulator did not start (first line: {line!r})")
        self.url = line.split()[-1]

    def post(self, path, body=None):
        data = json.dumps(body).encode() if body is not None else b""
        request = urllib.request.Request(self.url + path, data=data, method="POST",
                                         headers={"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.load(response)

    def overload(self):
        """Jumps into model-overload's plateau for STORM_MODEL at once."""
        self.post("/_sim/scenario", {"name": "model-overload", "model": STORM_MODEL})
        self.post(f"/_sim/advance?seconds={PLATEAU_SECONDS}")

    def heal(self):
        self.post("/_sim/scenario", {"name": "healthy"})

    def stats(self):
        with urllib.request.urlopen(self.url + "/_sim/stats", timeout=5) as response:
            return json.load(response)

    def close(self):
        stop_process(self.proc, grace=10)
        self.stderr.close()


class Host:
    """`detection_bench host`: the engine and its gateway, printing records and events."""

    def __init__(self, binary, upstream, log_path):
        self.stderr = open(log_path, "w")
        self.proc = subprocess.Popen(
            [binary, "host", "--upstream", upstream],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, text=True,
            start_new_session=True,
        )
        self.lines = []
        self.cond = threading.Condition()
        self.ended = False
        threading.Thread(target=self._read, daemon=True).start()
        ready = self.wait_for(lambda line: line.get("kind") == "ready", 0, time.time() + 60)
        if ready is None:
            self.close()
            raise RuntimeError("the host printed no ready line within 60 s (see its log)")
        self.gateway = ready["gateway"]

    def _read(self):
        for raw in self.proc.stdout:
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            line["driver_ms"] = now_ms()
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()
        with self.cond:
            self.ended = True
            self.cond.notify_all()

    def wait_for(self, predicate, since_ms, deadline):
        """The first line at or after `since_ms` that matches, waiting until `deadline` at most."""
        index = 0
        with self.cond:
            while True:
                while index < len(self.lines):
                    line = self.lines[index]
                    index += 1
                    if line.get("at_ms", 0) >= since_ms and predicate(line):
                        return line
                remaining = deadline - time.time()
                if remaining <= 0 or self.ended:
                    return None
                self.cond.wait(min(remaining, 0.5))

    def snapshot(self):
        with self.cond:
            return list(self.lines)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                log("the host did not stop within 20 s of stdin closing; killing it")
                stop_process(self.proc)
        self.stderr.close()


class Turn:
    def __init__(self, index, proc, started_ms, out_path):
        self.index = index
        self.proc = proc
        self.started_ms = started_ms
        self.out_path = out_path
        self.ended_ms = None
        self.killed = False
        self.result = None


class Turns:
    """Claude Code turns (`claude -p`) launched every `interval` seconds from `t0`."""

    def __init__(self, claude, gateway, work_dir, interval):
        self.claude = claude
        self.interval = interval
        self.work_dir = work_dir
        self.home = os.path.join(work_dir, "home")
        self.project = os.path.join(work_dir, "project")
        os.makedirs(self.home, exist_ok=True)
        os.makedirs(self.project, exist_ok=True)
        # Only what H1 lists, plus a PATH: nothing of the caller's environment (a real key, a
        # proxy) reaches Claude Code.
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self.home,
            "LANG": "C.UTF-8",
            "ANTHROPIC_BASE_URL": gateway,
            "ANTHROPIC_API_KEY": DUMMY_KEY,
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_AUTOUPDATER": "1",
        }
        self.turns = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.t0 = time.time() + 0.2
        self.thread = threading.Thread(target=self._schedule, daemon=True)
        self.thread.start()

    def launch_time(self, k):
        return self.t0 + k * self.interval

    def _schedule(self):
        k = 0
        while not self.stopping.is_set():
            delay = self.launch_time(k) - time.time()
            if delay > 0 and self.stopping.wait(delay):
                return
            self._launch(k)
            k += 1

    def _launch(self, k):
        out_path = os.path.join(self.work_dir, f"turn-{k:03}.json")
        with open(out_path, "w") as out, open(out_path + ".err", "w") as err:
            started = now_ms()
            proc = subprocess.Popen(
                [self.claude, "-p", "say hi", "--output-format", "json"],
                cwd=self.project, env=self.env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                start_new_session=True,
            )
        turn = Turn(k, proc, started, out_path)
        with self.lock:
            self.turns.append(turn)
        threading.Thread(target=self._wait, args=(turn,), daemon=True).start()

    def _wait(self, turn):
        turn.proc.wait()
        turn.ended_ms = now_ms()
        try:
            with open(turn.out_path) as out:
                turn.result = json.loads(out.read() or "null")
        except (OSError, ValueError):
            turn.result = None

    def launched(self):
        with self.lock:
            return list(self.turns)

    def kill_running(self):
        killed = 0
        for turn in self.launched():
            if turn.proc.poll() is None:
                turn.killed = True
                stop_process(turn.proc)
                killed += 1
        return killed

    def stop(self, grace):
        """Stops launching, lets running turns end within `grace` seconds, kills the rest."""
        self.stopping.set()
        self.thread.join(self.interval + 5)
        deadline = time.time() + grace
        for turn in self.launched():
            remaining = deadline - time.time()
            if remaining > 0:
                try:
                    turn.proc.wait(timeout=remaining)
                except subprocess.TimeoutExpired:
                    pass
        self.kill_running()
        # Let the waiter threads note the end and read the results.
        for _ in range(50):
            if all(t.ended_ms is not None for t in self.launched()):
                break
            time.sleep(0.1)


def is_verdict(line):
    """The engine's event showing Opus 5.5 overloaded: app level, subject and its own line."""
    if line.get("kind") != "event" or line.get("level") != "overloaded":
        return False
    if line.get("subject") != STORM_MODEL:
        return False
    return any(m.get("model") == STORM_MODEL and m.get("level") == "overloaded"
               for m in line.get("models", []))


def is_trouble_notification(line):
    event = line.get("event") or {}
    if line.get("kind") != "event" or event.get("event") != "notify":
        return False
    notification = event.get("notification") or {}
    return notification.get("level") == "overloaded" and STORM_NAME in notification.get("title", "")


def is_recovery_notification(line):
    event = line.get("event") or {}
    if line.get("kind") != "event" or event.get("event") != "notify":
        return False
    notification = event.get("notification") or {}
    title = notification.get("title", "")
    return STORM_NAME in title and "recovered" in title


def is_storm_529(line):
    return line.get("kind") == "record" and line.get("model") == STORM_MODEL and line.get("status") == 529


def is_storm_pass(line):
    return line.get("kind") == "record" and line.get("model") == STORM_MODEL and line.get("status") == 200


def model_line(line):
    for model in line.get("models", []):
        if model.get("model") == STORM_MODEL:
            return model.get("line")
    return None


def run_phase(index, args, sim, claude, work_dir):
    """One storm: returns a dict of what was measured (seconds from the onset, None if never)."""
    phase_dir = os.path.join(work_dir, f"phase-{index:02}")
    os.makedirs(phase_dir, exist_ok=True)
    sim.heal()
    host = Host(args.host, sim.url, os.path.join(phase_dir, "host.log"))
    turns = None
    result = {"phase": index}
    try:
        turns = Turns(claude, host.gateway, phase_dir, args.turn_interval)
        started = time.time()
        # Normal turns first: the engine must have seen Opus 5.5 answer through the gateway, so
        # it is the most-used model and the one the user relies on.
        if host.wait_for(is_storm_pass, 0, started + args.warmup_max) is None:
            raise RuntimeError(f"phase {index}: no Claude Code turn answered within {args.warmup_max} s")
        ready_at = max(time.time(), started + args.warmup)
        k = 0
        while turns.launch_time(k) < ready_at:
            k += 1
        # The onsets are spread evenly over the turn cycle, one offset per phase.
        offset = args.turn_interval * (index + 0.5) / args.phases
        onset_at = turns.launch_time(k) + offset
        time.sleep(max(0.0, onset_at - time.time()))
        onset = now_ms()
        sim.overload()
        result["offset_in_cycle_s"] = round(offset, 3)
        result["false_alarms_before_onset"] = sum(
            1 for line in host.snapshot()
            if line.get("at_ms", 0) < onset and (is_trouble_notification(line) or is_verdict(line))
        )

        deadline = time.time() + args.storm_max
        first_529 = host.wait_for(is_storm_529, onset, deadline)
        verdict = host.wait_for(is_verdict, onset, deadline)
        notification = host.wait_for(is_trouble_notification, onset, deadline)

        def since_onset(line, key="at_ms"):
            return None if line is None else (line[key] - onset) / 1000.0

        result["first_529_s"] = since_onset(first_529)
        result["verdict_s"] = since_onset(verdict)
        result["notification_s"] = since_onset(notification)
        result["verdict_line"] = model_line(verdict) if verdict else None
        if notification:
            note = notification["event"]["notification"]
            result["notification_text"] = f'{note["title"]} / {note["body"]}'

        # How Claude Code's first storm turn ended: it gives up on its own (the turn fails) or
        # is still retrying when the wait ends.
        give_up_deadline = time.time() + (args.give_up_max if args.hold_until_give_up else args.give_up_wait)
        give_up = None
        while time.time() < give_up_deadline and give_up is None:
            for turn in turns.launched():
                if turn.ended_ms is not None and turn.ended_ms > onset and failed(turn):
                    give_up = turn if give_up is None or turn.ended_ms < give_up.ended_ms else give_up
            if give_up is None:
                time.sleep(0.05)
        held = (now_ms() - onset) / 1000.0
        result["give_up_s"] = None if give_up is None else (give_up.ended_ms - onset) / 1000.0
        result["give_up_text"] = None if give_up is None else (give_up.result or {}).get("result")
        result["held_s"] = held
        if result["verdict_s"] is None:
            result["verdict_before_give_up"] = False
        elif give_up is None:
            result["verdict_before_give_up"] = True
        else:
            result["verdict_before_give_up"] = result["verdict_s"] < result["give_up_s"]

        storm_end = now_ms()
        sim.heal()
        result["storm_s"] = (storm_end - onset) / 1000.0
        result["killed_retrying"] = turns.kill_running()

        recovery = host.wait_for(is_recovery_notification, storm_end, time.time() + args.recovery_max)
        result["recovery_s"] = None if recovery is None else (recovery["at_ms"] - storm_end) / 1000.0
        turns.stop(grace=10)

        lines = host.snapshot()
        records = [line for line in lines if line.get("kind") == "record"]
        storm_records = [r for r in records if onset <= r["at_ms"] <= storm_end]
        result["requests"] = len(records)
        result["storm_requests"] = len(storm_records)
        result["storm_529s"] = sum(1 for r in storm_records if r.get("status") == 529)
        result["models"] = sorted({r.get("model") for r in records})
        result["attempts_before_verdict"] = (
            None if verdict is None else
            sum(1 for r in storm_records if r.get("status") == 529 and r["at_ms"] <= verdict["at_ms"])
        )
        result["trouble_notifications"] = sum(
            1 for line in lines if line.get("at_ms", 0) >= onset and is_trouble_notification(line)
        )
        all_turns = turns.launched()
        result["turns"] = len(all_turns)
        result["turns_ok"] = sum(1 for t in all_turns if (t.result or {}).get("is_error") is False)
        result["turns_failed"] = sum(1 for t in all_turns if failed(t) and not t.killed)
        result["turns_killed"] = sum(1 for t in all_turns if t.killed)
        return result
    finally:
        if turns is not None:
            turns.stop(grace=0)
        host.close()
        # Every record and event the host printed, with the driver's own arrival time, for a
        # second look at a phase.
        with open(os.path.join(phase_dir, "host.jsonl"), "w") as out:
            for line in host.snapshot():
                out.write(json.dumps(line) + "\n")


def failed(turn):
    result = turn.result or {}
    return result.get("is_error") is True or (turn.proc.returncode not in (0, None) and not turn.killed)


def spread(values):
    """"min X s, median Y s, max Z s over N phases", or why there is none."""
    got = [v for v in values if v is not None]
    missing = len(values) - len(got)
    if not got:
        return f"never, in {len(values)} phases"
    text = (f"min {min(got):.2f} s, median {statistics.median(got):.2f} s, "
            f"max {max(got):.2f} s over {len(got)} phases")
    if missing:
        text += f" ({missing} phase(s) never got there)"
    return text


def report(phases, args, sim_stats):
    label = f" [{args.label}]" if args.label else ""
    print(f"claude code storm{label}: real Claude Code {args.claude_version} (default settings, "
          f"default model {STORM_MODEL}), one turn every {args.turn_interval:g} s through the "
          f"engine's gateway; {len(phases)} storm phases, onsets spread over the turn cycle; "
          f"the simulator overloads POST /v1/messages of {STORM_MODEL} only")
    verdicts = [p["verdict_s"] for p in phases]
    median = statistics.median([v for v in verdicts if v is not None]) if any(v is not None for v in verdicts) else None
    goal = "met" if median is not None and median <= 10 and all(v is not None for v in verdicts) else "NOT met"
    print(f"onset→overloaded verdict (Claude Code's model, through the gateway): {spread(verdicts)}"
          f"; goal median ≤ 10 s: {goal}")
    print(f"onset→overloaded notification (Claude Code's model, through the gateway): "
          f"{spread([p['notification_s'] for p in phases])}")
    print(f"  onset→first 529 recorded by the gateway: {spread([p['first_529_s'] for p in phases])}")
    lines = sorted({p["verdict_line"] for p in phases if p.get("verdict_line")})
    texts = sorted({p["notification_text"] for p in phases if p.get("notification_text")})
    for line in lines:
        print(f"  verdict line: \"{line}\"")
    for text in texts:
        print(f"  notification: \"{text}\"")
    before = sum(1 for p in phases if p["verdict_before_give_up"])
    gave_up = [p["give_up_s"] for p in phases if p["give_up_s"] is not None]
    print(f"  verdict before Claude Code gave up on its first storm turn: {before} of {len(phases)} phases")
    if gave_up:
        print(f"  onset→Claude Code's first failed turn: {spread([p['give_up_s'] for p in phases])}")
        gaps = [p["give_up_s"] - p["verdict_s"] for p in phases
                if p["give_up_s"] is not None and p["verdict_s"] is not None]
        if gaps:
            print(f"  verdict ahead of that failure: min {min(gaps):.2f} s, median "
                  f"{statistics.median(gaps):.2f} s, max {max(gaps):.2f} s")
        messages = sorted({(p["give_up_text"] or "")[:60] for p in phases if p["give_up_s"] is not None})
        for message in messages:
            print(f"  Claude Code's failed turn says: \"{message}…\"")
    not_given_up = [p["held_s"] for p in phases if p["give_up_s"] is None]
    if not_given_up:
        print(f"  Claude Code still retrying when the storm ended in {len(not_given_up)} phase(s) "
              f"(held {min(not_given_up):.1f}–{max(not_given_up):.1f} s; H2 documents giving up "
              f"after about {DOCUMENTED_GIVE_UP_SECONDS} s)")
    attempts = [p["attempts_before_verdict"] for p in phases if p["attempts_before_verdict"] is not None]
    if attempts:
        print(f"  Claude Code's 529s recorded up to the verdict: {min(attempts)}..{max(attempts)} a phase")
    print(f"  Claude Code traffic: {sum(p['requests'] for p in phases)} requests through the gateway "
          f"({sum(p['storm_requests'] for p in phases)} during the storms, "
          f"{sum(p['storm_529s'] for p in phases)} of them 529), models {sorted({m for p in phases for m in p['models']})}; "
          f"{sum(p['turns'] for p in phases)} turns: {sum(p['turns_ok'] for p in phases)} answered, "
          f"{sum(p['turns_failed'] for p in phases)} failed, {sum(p['turns_killed'] for p in phases)} killed "
          f"(still running when a storm ended or the phase stopped)")
    print(f"  per storm: {max(p['trouble_notifications'] for p in phases)} trouble notification(s) at most, "
          f"{sum(p['false_alarms_before_onset'] for p in phases)} alarms before the onset")
    print(f"  storm end→recovery notification: {spread([p['recovery_s'] for p in phases])}")
    if sim_stats is not None:
        print(f"  simulator messages by model: {json.dumps(sim_stats.get('messages_by_model', {}), sort_keys=True)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sim", required=True, help="the claude-status-sim binary")
    parser.add_argument("--host", required=True, help="the detection_bench example binary")
    parser.add_argument("--claude", required=True, help="the Claude Code binary (install.sh prints it)")
    parser.add_argument("--claude-version", default="2.1.328")
    parser.add_argument("--phases", type=int, default=10)
    parser.add_argument("--turn-interval", type=float, default=5.0, help="seconds between turns")
    parser.add_argument("--warmup", type=float, default=8.0,
                        help="seconds of normal turns before an onset (at least)")
    parser.add_argument("--warmup-max", type=float, default=60.0,
                        help="give up when no turn answered within this many seconds")
    parser.add_argument("--storm-max", type=float, default=120.0,
                        help="the longest wait for the verdict and the notification")
    parser.add_argument("--give-up-wait", type=float, default=5.0,
                        help="seconds after the verdict to see Claude Code's first storm turn fail")
    parser.add_argument("--hold-until-give-up", action="store_true",
                        help="hold each storm until Claude Code's first storm turn fails (bounded by --give-up-max)")
    parser.add_argument("--give-up-max", type=float, default=240.0)
    parser.add_argument("--recovery-max", type=float, default=30.0)
    parser.add_argument("--work-dir", help="logs and Claude Code's HOME (default: a temporary folder, removed)")
    parser.add_argument("--json", help="also write every phase's measurements to this file")
    parser.add_argument("--label", default="", help="printed with the figures, e.g. 'release build'")
    args = parser.parse_args()
    if not 1 <= args.phases <= 100:
        parser.error("--phases must be 1 to 100")

    temporary = args.work_dir is None
    work_dir = tempfile.mkdtemp(prefix="claude-status-cc-") if temporary else args.work_dir
    os.makedirs(work_dir, exist_ok=True)
    sim = None
    phases = []
    sim_stats = None
    started = time.time()
    try:
        sim = Sim(args.sim, work_dir)
        for index in range(args.phases):
            phase = run_phase(index, args, sim, args.claude, work_dir)
            phases.append(phase)
            log(f"phase {index + 1}/{args.phases}: offset {phase['offset_in_cycle_s']:.2f} s, first 529 "
                f"{fmt(phase['first_529_s'])}, verdict {fmt(phase['verdict_s'])}, notification "
                f"{fmt(phase['notification_s'])}, Claude Code failed its turn {fmt(phase['give_up_s'])}, "
                f"recovery {fmt(phase['recovery_s'])}")
        try:
            sim_stats = sim.stats()
        except (OSError, ValueError, urllib.error.URLError):
            sim_stats = None
    finally:
        if sim is not None:
            sim.close()
        if args.json and phases:
            with open(args.json, "w") as out:
                json.dump(phases, out, indent=1)
        if temporary:
            shutil.rmtree(work_dir, ignore_errors=True)
    report(phases, args, sim_stats)
    print(f"  run time {time.time() - started:.0f} s", flush=True)
    return 0 if all(p["verdict_s"] is not None and p["notification_s"] is not None for p in phases) else 1


def fmt(value):
    return "never" if value is None else f"{value:.2f} s"


if __name__ == "__main__":
    sys.exit(main())
