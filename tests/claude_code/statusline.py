#!/usr/bin/env python3
"""The real Claude Code, in its interactive mode under tmux, draws our status line.

Claude Code 2.1.328 (tests/claude_code/install.sh) runs in a tmux pane against the simulator, with
the environment of ../shared/reference/claude-code.md H1 and a throwaway HOME whose config files
pre-answer its first-run dialogs (onboarding, theme, "use this API key?", "trust this folder?").
Its `statusLine` is `claude-status statusline`; the test reads the pane (tmux capture-pane) as a
person would look at it, sends one prompt ("say hi") and checks the line again once the turn has
completed. Two cases:

1. No service. The statusLine command is a small capture script that keeps a copy of every JSON
   Claude Code hands it (`tee`) before piping it on to `claude-status statusline`. The line must
   read "? <model> (health unknown: no service) · session $<cost> · ctx <n> %", the cost and the
   percentage being those of the last JSON it was given, $0.00 before the turn and more after it.
   The last JSON is compared, field by field, with the recorded one
   (fixtures/statusline-input-2.1.328.json); `--record-fixture` rewrites that file, with the
   throwaway paths scrubbed to /home/user/...
2. With the service. `claude-status service run` runs on the simulator (status page and API,
   probes every second, its own data folder, the throwaway HOME's ~/.claude/projects) and
   `claude-status statusline --install --refresh-interval 1` writes the settings, as a user would.
   Before the turn the line must start with the service's verdict "✔" in green ("✔ API": the
   service follows no Claude Code model yet) and say nothing of "health unknown". After the turn
   the service has read the transcript and follows the session's model, and the line must read
   "✔ <model> · session $<cost> · today $<the same> · ctx <n> %".

Everything listens on 127.0.0.1 only (the simulator; the service listens on its Unix socket, its
gateway is off) and nothing reaches the internet. Every wait is bounded: the screen is polled every
250 ms, up to --timeout seconds a step. Whatever happens, the tmux server, Claude Code, the service
and the simulator are ended by their pid. On a failure the last screen is printed.

Usage: statusline.py --sim PATH --cli PATH --claude PATH [--work-dir DIR] [--keep]
                     [--timeout SECONDS] [--record-fixture]
Standard library only.
"""

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "fixtures", "statusline-input-2.1.328.json")
# Any short sk-ant- string: only the simulator ever sees it.
DUMMY_KEY = "sk-ant-test-statusline"
# What the simulator answers every prompt with (crates/simulator/src/api.rs, REPLY_TEXT).
SIM_REPLY = "Hello! I'm a simulated Claude"
POLL_SECONDS = 0.25
# The last screen captured, whichever pane: printed should the run be stopped from outside.
LAST_SCREEN = [""]
# Wide enough that our line never wraps or splits in two (it splits below COLUMNS).
COLUMNS, ROWS = 200, 50
# Texts of Claude Code's first-run dialogs: seeing one means the pre-answers in ~/.claude.json no
# longer suffice, which is worth saying at once rather than after a timeout.
DIALOGS = (
    "Do you want to use this API key",
    "Do you trust the files in this folder",
    "Choose the text style",
    "Unable to connect to Anthropic services",
    "Select login method",
)


class Failure(Exception):
    """A check that did not hold, with the screen that shows it."""

    def __init__(self, message, screen=None):
        super().__init__(message)
        self.screen = screen


def log(message):
    print(f"statusline: {message}", file=sys.stderr, flush=True)


def stop_process(proc, grace=5.0):
    """Ends one process this test started, and its own process group."""
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


def usd(amount):
    """A cost as our status line prints it (crates/core/src/statusline.rs, `usd`)."""
    return f"${amount:.2f}" if amount < 10 else f"${amount:.1f}"


def key_paths(value, prefix=""):
    """Every object key of a JSON value as a dotted path, with the type of its value."""
    out = {}
    if isinstance(value, dict):
        for key, inner in value.items():
            path = f"{prefix}.{key}" if prefix else key
            out[path] = type(inner).__name__
            out.update(key_paths(inner, path))
    return out


class Sim:
    """claude-status-sim, scenario healthy, on an ephemeral port of 127.0.0.1."""

    def __init__(self, binary, log_dir):
        self.stderr = open(os.path.join(log_dir, "sim.log"), "w")
        self.proc = subprocess.Popen(
            [binary, "--scenario", "healthy", "--host", "127.0.0.1", "--port", "0"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.stderr, text=True,
            start_new_session=True,
        )
        line = read_line_within(self.proc.stdout, 30)
        if not line or not line.startswith("listening on "):
            stop_process(self.proc)
            raise Failure(f"the simulator did not start (its first line: {line!r})")
        self.url = line.split()[-1]

    def stop(self):
        stop_process(self.proc)
        self.stderr.close()


class Pane:
    """One tmux server of our own (its own socket and config) with Claude Code in its one pane."""

    def __init__(self, work_dir, name):
        self.socket = os.path.join(work_dir, f"tmux-{name}.sock")
        self.conf = os.path.join(work_dir, "tmux.conf")
        with open(self.conf, "w") as f:
            # A pane that died stays on screen with its status, so a crash can be seen; tmux's own
            # status bar is off so the bottom rows are Claude Code's alone.
            f.write("set -g remain-on-exit on\nset -g status off\nset -g history-limit 2000\n")
        self.pane_pid = None
        self.last_screen = ""

    def tmux(self, *args, check=True):
        result = subprocess.run(
            ["tmux", "-S", self.socket, "-f", self.conf, *args],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=10,
            # The tmux server starts with this environment: nothing of the caller's.
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
                 "TERM": "xterm-256color", "HOME": os.path.dirname(self.socket)},
        )
        if check and result.returncode != 0:
            raise Failure(f"tmux {' '.join(args[:1])} failed: {result.stderr.strip()}")
        return result.stdout

    def start(self, cwd, env, argv):
        command = "exec env -i " + " ".join(
            shlex.quote(f"{k}={v}") for k, v in env.items()) + " " + " ".join(
            shlex.quote(a) for a in argv)
        self.tmux("new-session", "-d", "-s", "cc", "-x", str(COLUMNS), "-y", str(ROWS),
                  "-c", cwd, command)
        self.pane_pid = int(self.tmux("display-message", "-p", "-t", "cc", "#{pane_pid}").strip())

    def screen(self, escapes=False):
        args = ["capture-pane", "-p", "-t", "cc"] + (["-e"] if escapes else [])
        text = self.tmux(*args, check=False)
        if not escapes:
            self.last_screen = LAST_SCREEN[0] = text
        return text

    def dead(self):
        return self.tmux("display-message", "-p", "-t", "cc", "#{pane_dead}",
                         check=False).strip() == "1"

    def send_text(self, text):
        self.tmux("send-keys", "-t", "cc", "-l", text)

    def send_key(self, key):
        self.tmux("send-keys", "-t", "cc", key)

    def stop(self):
        if os.path.exists(self.socket):
            self.tmux("kill-server", check=False)
        if self.pane_pid is None:
            return
        # kill-server hangs the pane up; should Claude Code outlive that, it is ended by its pid.
        deadline = time.time() + 5
        while time.time() < deadline and os.path.exists(f"/proc/{self.pane_pid}"):
            time.sleep(0.1)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.kill(self.pane_pid, sig)
            except ProcessLookupError:
                return
            time.sleep(0.5)


def status_lines(screen):
    """The lines of a screen that are our status line (they carry the session segment)."""
    return [line.strip() for line in screen.splitlines() if " · session $" in line]


def wait_for(pane, what, predicate, timeout):
    """Polls the pane every 250 ms until `predicate(screen)` gives a value, for `timeout` s."""
    deadline = time.time() + timeout
    while True:
        screen = pane.screen()
        value = predicate(screen)
        if value:
            return value
        for dialog in DIALOGS:
            if dialog in screen:
                raise Failure(f"waiting for {what}: Claude Code shows a first-run dialog or error "
                              f"({dialog!r}) that the throwaway HOME did not pre-answer", screen)
        if pane.dead():
            raise Failure(f"waiting for {what}: Claude Code exited", screen)
        if time.time() >= deadline:
            raise Failure(f"waiting for {what}: not seen within {timeout:.0f} s", screen)
        time.sleep(POLL_SECONDS)


class Case:
    """One Claude Code session: a throwaway HOME, a scratch project, a pane."""

    def __init__(self, args, sim, work_dir, name, data_dir):
        self.args = args
        self.name = name
        self.root = os.path.join(work_dir, name)
        self.home = os.path.join(self.root, "home")
        self.project = os.path.join(self.root, "project")
        self.data_dir = data_dir
        os.makedirs(os.path.join(self.home, ".claude"), exist_ok=True)
        os.makedirs(self.project, exist_ok=True)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self.home,
            "LANG": "C.UTF-8",
            "TERM": "xterm-256color",
            "ANTHROPIC_BASE_URL": sim.url,
            "ANTHROPIC_API_KEY": DUMMY_KEY,
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_AUTOUPDATER": "1",
            # The status-line command inherits Claude Code's environment: this keeps it on this
            # case's store and socket, never the user's own.
            "CLAUDE_STATUS_DATA_DIR": data_dir,
        }
        self.pane = Pane(self.root, name)

    def pre_answer_dialogs(self):
        """Writes what Claude Code keeps once its first-run dialogs have been answered."""
        config = {
            "hasCompletedOnboarding": True,
            "lastOnboardingVersion": "2.1.328",
            "theme": "dark",
            # The approval of an ANTHROPIC_API_KEY is kept as the key's last 20 characters.
            "customApiKeyResponses": {"approved": [DUMMY_KEY[-20:]], "rejected": []},
            "projects": {
                self.project: {
                    "hasTrustDialogAccepted": True,
                    "hasCompletedProjectOnboarding": True,
                    "allowedTools": [],
                },
            },
        }
        with open(os.path.join(self.home, ".claude.json"), "w") as f:
            json.dump(config, f, indent=2)

    def write_settings(self, command):
        with open(os.path.join(self.home, ".claude", "settings.json"), "w") as f:
            json.dump({"statusLine": {"type": "command", "command": command, "padding": 0}}, f,
                      indent=2)

    def start(self):
        self.pane.start(self.project, self.env, [self.args.claude])

    def line(self, screen, predicate):
        lines = status_lines(screen)
        return predicate(lines[-1]) if lines else None

    def wait_line(self, what, predicate):
        return wait_for(self.pane, what, lambda s: self.line(s, predicate), self.args.timeout)

    def say_hi(self):
        # The prompt box is ready when Claude Code draws its "❯" prompt.
        wait_for(self.pane, "the prompt", lambda s: "❯" in s, self.args.timeout)
        self.pane.send_text("say hi")
        time.sleep(0.3)
        self.pane.send_key("Enter")
        wait_for(self.pane, "the simulator's answer on screen", lambda s: SIM_REPLY in s,
                 self.args.timeout)

    def save_screen(self, label):
        path = os.path.join(self.root, f"screen-{label}.txt")
        with open(path, "w") as f:
            f.write(self.pane.screen())
        return path

    def stop(self):
        self.pane.stop()


def segments(line):
    return line.split(" · ")


def parse_line(line):
    """The parts of our line the checks need: glyph, health text, session cost, ctx percent."""
    parts = segments(line)
    found = {"glyph": line[:1], "health": parts[0], "session": None, "ctx": None, "line": line}
    for part in parts[1:]:
        if m := re.fullmatch(r"session \$([0-9.]+)", part):
            found["session"] = float(m.group(1))
            found["session_text"] = part
        elif m := re.fullmatch(r"ctx (-?[0-9.]+) %", part):
            found["ctx"] = m.group(1)
    return found


def inputs_in(folder):
    """The JSON inputs the capture script kept, oldest first, each parsed (or None)."""
    out = []
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), "rb") as f:
            raw = f.read()
        try:
            out.append(json.loads(raw))
        except ValueError:
            out.append(None)
    return out


def expected_ctx(data):
    """What "ctx N %" must say for one input: its used_percentage, else from current_usage."""
    context = data.get("context_window") or {}
    percent = context.get("used_percentage")
    if percent is None:
        usage = context.get("current_usage")
        size = context.get("context_window_size")
        if not isinstance(usage, dict) or not size:
            return None
        used = sum(usage.get(k) or 0 for k in (
            "input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"))
        percent = used / size * 100
    percent = min(max(percent, 0), 100)
    # As core::plan::percent_text writes it: one decimal below 10 % when there is a fraction.
    if percent < 10 and abs(percent - int(percent)) > 0.05:
        return f"{percent:.1f}"
    return f"{percent:.0f}"


def scrub(data, case):
    """The input with the throwaway folders replaced by /home/user/... paths."""
    text = json.dumps(data)

    def slug(path):
        return re.sub(r"[^A-Za-z0-9]", "-", path)

    for real, fake in ((case.project, "/home/user/project"), (case.home, "/home/user"),
                       (slug(case.project), slug("/home/user/project"))):
        text = text.replace(real, fake)
    return json.loads(text)


class Test:
    def __init__(self, args):
        self.args = args
        self.passed = 0
        self.failed = 0
        self.notes = []

    def ok(self, what):
        self.passed += 1
        log(f"ok: {what}")

    def check(self, what, condition, detail="", screen=None):
        if not condition:
            raise Failure(f"{what}: {detail}", screen)
        self.ok(what)

    def case_without_service(self, sim, work_dir):
        data_dir = os.path.join(work_dir, "no-service", "data")
        os.makedirs(data_dir, exist_ok=True)
        case = Case(self.args, sim, work_dir, "no-service", data_dir)
        inputs = os.path.join(case.root, "inputs")
        os.makedirs(inputs)
        capture = os.path.join(case.root, "capture.sh")
        with open(capture, "w") as f:
            # One file per run, named so that they sort in the order they were written.
            f.write("#!/bin/sh\n"
                    f"out={shlex.quote(inputs)}/$(date +%s%N).json\n"
                    f"tee \"$out\" | exec {shlex.quote(self.args.cli)} statusline\n")
        os.chmod(capture, 0o755)
        case.pre_answer_dialogs()
        case.write_settings(capture)
        try:
            case.start()
            first = case.wait_line("the status line", parse_line)
            display = "Opus 5.5"
            seen = [d for d in inputs_in(inputs) if d]
            if seen:
                display = (seen[-1].get("model") or {}).get("display_name") or display
            self.check("no service: the line names the session's model, health unknown",
                       first["health"] == f"? {display} (health unknown: no service)",
                       f"the line is {first['line']!r}", case.pane.last_screen)
            self.check("no service: session $0.00 before any turn", first["session"] == 0.0,
                       f"the line is {first['line']!r}", case.pane.last_screen)
            # Before the first answer Claude Code sends used_percentage and current_usage as
            # null: nothing is known, so the line has no ctx segment (never "ctx -0 %").
            self.check("no service: no context figure before the first answer",
                       first["ctx"] is None,
                       f"the line is {first['line']!r}", case.pane.last_screen)
            case.save_screen("before-turn")
            case.say_hi()

            def settled(line):
                # The line must show the cost of the last JSON Claude Code handed the command
                # (the command runs again after the turn, debounced, so this can lag a moment).
                parsed = parse_line(line)
                last = [d for d in inputs_in(inputs) if d]
                if not last or not parsed["session"]:
                    return None
                cost = (last[-1].get("cost") or {}).get("total_cost_usd") or 0
                if cost <= 0 or parsed.get("session_text") != f"session {usd(cost)}":
                    return None
                return parsed, last[-1]

            after, data = case.wait_line("a session cost after the turn", settled)
            case.save_screen("after-turn")
            self.check("no service: the model and 'health unknown: no service' after the turn",
                       after["health"] == f"? {display} (health unknown: no service)",
                       f"the line is {after['line']!r}", case.pane.last_screen)
            cost = data["cost"]["total_cost_usd"]
            self.ok(f"no service: the line shows Claude Code's own session cost, "
                    f"{after['session_text']} (total_cost_usd {cost})")
            want_ctx = expected_ctx(data)
            self.check("no service: the line shows the context use the JSON gave",
                       want_ctx is not None and after["ctx"] == want_ctx,
                       f"the line says ctx {after['ctx']!r}, its input gives {want_ctx!r} "
                       f"(context_window {json.dumps(data.get('context_window'))})",
                       case.pane.last_screen)
            self.check("no service: the model's display name is what Claude Code sent",
                       display == data["model"]["display_name"],
                       f"{display!r} vs {data['model']!r}")
            self.notes.append(f"no service, after the turn: {after['line']}")
            self.check_fixture(data, case)
            all_inputs = inputs_in(inputs)
            self.check("no service: every input Claude Code sent was one JSON object",
                       all(isinstance(d, dict) for d in all_inputs),
                       f"{sum(not isinstance(d, dict) for d in all_inputs)} of "
                       f"{len(all_inputs)} were not")
            self.notes.append(f"Claude Code ran the status line {len(all_inputs)} times")
        finally:
            case.stop()

    def check_fixture(self, data, case):
        scrubbed = scrub(data, case)
        if self.args.record_fixture:
            os.makedirs(os.path.dirname(FIXTURE), exist_ok=True)
            with open(FIXTURE, "w") as f:
                json.dump(scrubbed, f, indent=2)
                f.write("\n")
            log(f"recorded {FIXTURE}")
        if not os.path.exists(FIXTURE):
            raise Failure(f"{FIXTURE} is missing: run with --record-fixture to record it")
        with open(FIXTURE) as f:
            recorded = json.load(f)
        now, then = key_paths(scrubbed), key_paths(recorded)
        changed = sorted(
            [f"+{k} ({now[k]})" for k in now.keys() - then.keys()]
            + [f"-{k} ({then[k]})" for k in then.keys() - now.keys()]
            + [f"~{k} ({then[k]} -> {now[k]})" for k in now.keys() & then.keys()
               if now[k] != then[k]])
        self.check("no service: the JSON has the recorded input's fields and types "
                   "(fixtures/statusline-input-2.1.328.json)", not changed,
                   f"{', '.join(changed)}; rerun with --record-fixture if Claude Code changed")
        self.notes.append("fields Claude Code sent: " + ", ".join(sorted(now)))

    def case_with_service(self, sim, work_dir):
        root = os.path.join(work_dir, "service")
        data_dir = os.path.join(root, "data")
        os.makedirs(data_dir, exist_ok=True)
        case = Case(self.args, sim, work_dir, "service", data_dir)
        os.makedirs(os.path.join(case.home, ".claude", "projects"))
        service_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": case.home,
            "LANG": "C.UTF-8",
            "XDG_CONFIG_HOME": os.path.join(root, "config"),
            "XDG_CACHE_HOME": os.path.join(root, "cache"),
            "XDG_DATA_HOME": os.path.join(root, "xdg-data"),
            "CLAUDE_STATUS_DATA_DIR": data_dir,
            "CLAUDE_STATUS_STATUS_URL": sim.url,
            "ANTHROPIC_BASE_URL": sim.url,
            "ANTHROPIC_API_KEY": DUMMY_KEY,
            "CLAUDE_STATUS_PROBE_INTERVAL": "1s",
            "RUST_LOG": "info",
        }
        service_log = open(os.path.join(root, "service.log"), "w")
        service = subprocess.Popen(
            [self.args.cli, "service", "run"], env=service_env, stdin=subprocess.DEVNULL,
            stdout=service_log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            # The service is ready once our own status line, run by hand on the recorded input,
            # shows its verdict; only then does Claude Code start, so its first line can have it.
            with open(FIXTURE, "rb") as f:
                sample = f.read()
            display = json.loads(sample)["model"]["display_name"]
            probe_env = dict(case.env, NO_COLOR="1")
            deadline = time.time() + self.args.timeout
            while True:
                if service.poll() is not None:
                    service_log.flush()
                    raise Failure(f"the service exited with status {service.returncode} "
                                  f"(log: {service_log.name})")
                try:
                    out = subprocess.run([self.args.cli, "statusline"], input=sample,
                                         env=probe_env, capture_output=True,
                                         timeout=10).stdout.decode()
                except subprocess.TimeoutExpired:
                    raise Failure("`claude-status statusline` took over 10 s") from None
                if out.startswith("✔"):
                    break
                if time.time() >= deadline:
                    raise Failure(f"the service gave no verdict within {self.args.timeout:.0f} s "
                                  f"(our status line said {out.strip()!r}; log: "
                                  f"{service_log.name})")
                time.sleep(POLL_SECONDS)
            self.ok(f"service: its verdict reached our status line ({out.strip()!r})")

            # The settings as a user gets them: our own installer.
            install = subprocess.run([self.args.cli, "statusline", "--install",
                                      "--refresh-interval", "1"], env=case.env,
                                     stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                     timeout=30)
            self.check("service: `claude-status statusline --install` succeeded",
                       install.returncode == 0,
                       f"status {install.returncode}: {install.stderr.strip()[:500]}")
            with open(os.path.join(case.home, ".claude", "settings.json")) as f:
                status_line = json.load(f).get("statusLine") or {}
            command = status_line.get("command", "")
            # The installer prefers the small `claude-status-line` beside the command (cargo
            # builds both), so Claude Code below runs the binary users get.
            line_program = os.path.join(os.path.dirname(os.path.realpath(self.args.cli)),
                                        "claude-status-line")
            self.check("service: the installed statusLine runs our status-line binary",
                       status_line.get("type") == "command"
                       and command.replace("'", "") == line_program,
                       f"settings.json has {status_line!r}")
            self.notes.append(f"installed statusLine: {json.dumps(status_line)}")

            case.pre_answer_dialogs()
            case.start()

            def verdict(line):
                parsed = parse_line(line)
                return parsed if parsed["glyph"] == "✔" else None

            first = case.wait_line("the service's verdict on the status line", verdict)
            # Before the turn the service follows only its own probe's model, so the verdict is
            # the API-wide one, named "API" (core::statusline::health_of); the session model's
            # own name is allowed too.
            self.check("service: the line starts with the service's verdict, ✔",
                       first["health"] in ("✔ API", f"✔ {display}")
                       and "health unknown" not in first["line"],
                       f"the line is {first['line']!r}", case.pane.last_screen)
            self.notes.append(f"with the service, before the turn: {first['line']}")
            self.check_colour(case, "✔", "32")
            case.save_screen("before-turn")
            case.say_hi()

            def own_verdict(line):
                # The service reads the turn from the transcript, follows the session's model
                # and probes it; the line (re-run every second) then names that model's verdict.
                parsed = parse_line(line)
                today = re.search(r" · today \$([0-9.]+)", line)
                if parsed["health"] != f"✔ {display}" or not parsed["session"] or not today:
                    return None
                parsed["today"] = today.group(1)
                return parsed

            after = case.wait_line(f"'✔ {display}' and a session cost after the turn",
                                   own_verdict)
            case.save_screen("after-turn")
            self.check("service: after the turn the line names the session model's own verdict "
                       "and shows a context figure",
                       after["ctx"] is not None and "health unknown" not in after["line"],
                       f"the line is {after['line']!r}", case.pane.last_screen)
            # One turn in a fresh ledger: today's spend (our prices, from the transcript) is
            # Claude Code's own estimate of the session.
            self.check("service: today's spend equals Claude Code's session cost",
                       f"session ${after['today']}" == after["session_text"],
                       f"the line is {after['line']!r}", case.pane.last_screen)
            self.notes.append(f"with the service, after the turn: {after['line']}")
        except Failure as failure:
            service_log.flush()
            with open(service_log.name, errors="replace") as f:
                tail = f.read()[-2000:]
            if tail.strip():
                failure.args = (f"{failure.args[0]}\n----- the service's log (last lines) -----\n"
                                f"{tail.rstrip()}",)
            raise
        finally:
            case.stop()
            stop_process(service)
            service_log.close()

    def check_colour(self, case, glyph, sgr):
        """The glyph is drawn in its level's colour (tmux re-encodes the SGR it was sent)."""
        screen = case.pane.screen(escapes=True)
        plain = re.compile(r"\x1b\[[0-9;]*m")
        lines = [l for l in screen.splitlines() if " · session $" in plain.sub("", l)]
        line = lines[-1] if lines else ""
        before = line.split(glyph, 1)[0]
        params = ";".join(re.findall(r"\x1b\[([0-9;]*)m", before)[-3:]).split(";")
        self.check(f"service: {glyph} is drawn in colour (SGR {sgr})", sgr in params,
                   f"escape parameters before it: {params!r}; line {line!r}")

    def run(self):
        work_dir = self.args.work_dir or tempfile.mkdtemp(prefix="claude-status-statusline-")
        os.makedirs(work_dir, exist_ok=True)
        log(f"work folder {work_dir}")
        sim = None
        started = time.time()
        try:
            sim = Sim(self.args.sim, work_dir)
            log(f"simulator on {sim.url}")
            for case in (self.case_without_service, self.case_with_service):
                case_started = time.time()
                case(sim, work_dir)
                self.notes.append(f"{case.__name__}: {time.time() - case_started:.1f} s")
        except Failure as failure:
            self.failed += 1
            log(f"FAILED: {failure}")
            if failure.screen is not None:
                print("----- the screen (tmux capture-pane) -----", file=sys.stderr)
                print(failure.screen.rstrip(), file=sys.stderr)
                print("-----", file=sys.stderr)
        except (OSError, subprocess.SubprocessError, ValueError, KeyError) as error:
            # The rig itself broke (a binary missing, a tmux that hung): still a failure, said.
            self.failed += 1
            log(f"FAILED: the rig broke: {error!r}")
        finally:
            if sim:
                sim.stop()
            for note in self.notes:
                log(note)
            if self.failed or self.args.keep:
                log(f"kept {work_dir} (screens, inputs, logs)")
            elif not self.args.work_dir:
                shutil.rmtree(work_dir, ignore_errors=True)
        log(f"took {time.time() - started:.1f} s")
        print(f"statusline: {self.passed} passed, {self.failed} failed")
        return 1 if self.failed else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sim", required=True, help="claude-status-sim")
    parser.add_argument("--cli", required=True, help="claude-status")
    parser.add_argument("--claude", required=True, help="Claude Code's claude binary")
    parser.add_argument("--work-dir", help="throwaway HOMEs, screens and logs "
                        "(default: a temporary folder, removed when the test passes)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--timeout", type=float, default=60,
                        help="seconds each wait may take (default 60)")
    parser.add_argument("--record-fixture", action="store_true",
                        help=f"rewrite {os.path.relpath(FIXTURE)} from this run")
    args = parser.parse_args()
    args.cli = os.path.abspath(args.cli)
    # An outer `timeout` (statusline.sh) sends SIGTERM: exit through the `finally` blocks so the
    # tmux server, Claude Code, the service and the simulator are still ended.
    def stopped(*_):
        # Once: the cleanup that this starts must not be cut short by another.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Failure("stopped by SIGTERM (the outer timeout ran out)", LAST_SCREEN[0] or None)

    signal.signal(signal.SIGTERM, stopped)
    for tool in ("tmux",):
        if not shutil.which(tool):
            print(f"statusline: {tool} is missing", file=sys.stderr)
            print("statusline: 0 passed, 1 failed")
            return 1
    return Test(args).run()


if __name__ == "__main__":
    sys.exit(main())
