#!/usr/bin/env python3
"""WebDriver test of the real Claude Status app: open the dashboard, see the simulator's incident,
open its details.

Run it through tests/webdriver/run.sh, which provides Xvfb, a private D-Bus session and scratch
folders; this file expects DISPLAY, DBUS_SESSION_BUS_ADDRESS, XDG_RUNTIME_DIR and WD_DIR.

The chain: this script -> tauri-driver (crates.io) -> WebKitWebDriver (Debian's
webkit2gtk-driver) -> claude-status-tray --dashboard, whose dashboard webview WebKitWebDriver
automates. The app reads the simulator (`claude-status-sim --scenario incident --manual`, story
time advanced to 3 min: "Elevated errors on Claude Opus 4.8" is open and the API component is
degraded).

Standard library only: the W3C WebDriver protocol is spoken with http.client (not urllib, see
WebDriver.call). Every wait polls with a deadline. Prints step timings; the last line is
`webdriver: N passed, M failed` (exit status 1 on any failure), after the app's stderr and
tauri-driver's log when something failed.
"""

import base64
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.request
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
APP_BIN = os.path.realpath(
    os.environ.get("WD_APP", os.path.join(ROOT, "target", "debug", "claude-status-tray"))
)
SIM_BIN = os.environ.get("WD_SIM", os.path.join(ROOT, "target", "debug", "claude-status-sim"))
# The background service the dashboard attaches to; it starts one itself when none runs.
SERVICE_BIN = os.environ.get("WD_SERVICE", os.path.join(ROOT, "target", "debug", "claude-status"))
TAURI_DRIVER = os.environ.get(
    "WD_TAURI_DRIVER", os.path.join(ROOT, "target", "tools", "bin", "tauri-driver")
)
NATIVE_DRIVER = os.environ.get("WD_NATIVE_DRIVER", "/usr/bin/WebKitWebDriver")
WD_DIR = os.environ.get("WD_DIR", os.path.join(ROOT, "target", "webdriver"))
SCREENSHOT = os.path.join(WD_DIR, "dashboard-incident.png")
# The dummy key only the simulator sees; it must never be on screen (issue 16, item 7).
API_KEY = "sk-ant-webdriver-simulator-only"
# The whole test must end before run.sh's `timeout` does, so the summary is always printed.
# The service's control socket, in the private runtime folder.
SOCKET = os.path.join(os.environ.get("XDG_RUNTIME_DIR", WD_DIR), "claude-status-wd.sock")
DEADLINE = time.monotonic() + float(os.environ.get("WD_BUDGET_SECONDS", "160"))

INCIDENT = "Elevated errors on Claude Opus 4.8"
# At story time 3 min the incident has one update (crates/simulator/src/scenario.rs).
INCIDENT_IMPACT = "minor"
INCIDENT_STATUS = "investigating"
INCIDENT_UPDATE = "We are currently investigating elevated error rates on requests to Claude Opus 4.8."
# The level an open minor incident with a degraded component gives (ui/src/format.ts LEVELS).
EXPECTED_LEVEL = "Degraded"

# Requests the test sends through the app's gateway.
GATEWAY_REQUESTS = 5

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C web element identifier key

T0 = time.monotonic()


def log(message):
    print(f"[{time.monotonic() - T0:7.2f}s] {message}", flush=True)


class Timeout(Exception):
    pass


def wait_until(what, probe, timeout, interval=0.2):
    """Polls `probe` until it returns a truthy value; returns (value, seconds). Raises Timeout
    with the last value seen (or the last exception) when `timeout` passes."""
    start = time.monotonic()
    end = min(start + timeout, DEADLINE)
    last = None
    while True:
        try:
            value = probe()
            if value:
                return value, time.monotonic() - start
            last = value
        except Exception as e:  # noqa: BLE001 - a probe may fail while things start
            last = f"{type(e).__name__}: {e}"
        if time.monotonic() >= end:
            raise Timeout(f"{what}: not within {timeout:.0f} s (last seen: {last!r})")
        time.sleep(interval)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def tail(path, lines=60):
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
    except OSError as e:
        return f"(cannot read {path}: {e})"
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # colours, should a log have any
    return "\n".join(text.splitlines()[-lines:]) or "(empty)"


def parse_css_rgb(css):
    """`rgb(168, 119, 0)` or `rgba(…)` -> (168, 119, 0); None for anything else."""
    match = re.match(r"rgba?\((\d+),\s*(\d+),\s*(\d+)", css or "")
    return tuple(int(v) for v in match.groups()) if match else None


def decode_png(png):
    """Decodes an 8-bit RGB or RGBA, non-interlaced PNG (what WebKitWebDriver sends) with zlib;
    returns (width, height, pixel(x, y) -> (r, g, b))."""
    assert png.startswith(b"\x89PNG\r\n\x1a\n"), f"not a PNG: {png[:16]!r}"
    pos, idat, header = 8, [], None
    while pos < len(png):
        length = int.from_bytes(png[pos : pos + 4], "big")
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = data
        elif kind == b"IDAT":
            idat.append(data)
    width, height = int.from_bytes(header[0:4], "big"), int.from_bytes(header[4:8], "big")
    depth, color, interlace = header[8], header[9], header[12]
    assert depth == 8 and color in (2, 6) and interlace == 0, f"unsupported PNG {depth=} {color=}"
    channels = 4 if color == 6 else 3
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    rows, previous, i = [], bytearray(stride), 0
    for _ in range(height):
        kind, line = raw[i], bytearray(raw[i + 1 : i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - channels] if x >= channels else 0
            b = previous[x]
            c = previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + a) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + b) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(line)
        previous = line

    def pixel(x, y):
        row = rows[y]
        return tuple(row[x * channels : x * channels + 3])

    return width, height, pixel


# ---------------------------------------------------------------------------------------------
# Processes


def app_pids():
    """The app's processes started by this run: its binary, with our data dir in its environment."""
    marker = f"CLAUDE_STATUS_DATA_DIR={os.path.join(WD_DIR, 'app-data')}".encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.path.realpath(f"/proc/{entry}/exe") != APP_BIN:
                continue
            with open(f"/proc/{entry}/environ", "rb") as f:
                if marker in f.read().split(b"\0"):
                    pids.append(int(entry))
        except OSError:
            continue
    return pids


def service_pids():
    """The service's processes started by this run (`claude-status service run` with our data dir
    in its environment)."""
    marker = f"CLAUDE_STATUS_DATA_DIR={os.path.join(WD_DIR, 'app-data')}".encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.path.realpath(f"/proc/{entry}/exe") != os.path.realpath(SERVICE_BIN):
                continue
            with open(f"/proc/{entry}/environ", "rb") as f:
                if marker in f.read().split(b"\0"):
                    pids.append(int(entry))
        except OSError:
            continue
    return pids


def stop(proc, name, grace=5):
    """Ends a process this script started: SIGTERM, then SIGKILL after `grace` seconds."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        log(f"{name} ignored SIGTERM; killing it")
        proc.kill()
        proc.wait(5)


# ---------------------------------------------------------------------------------------------
# The simulator


class Sim:
    def __init__(self):
        self.log_path = os.path.join(WD_DIR, "sim.log")
        self.proc = subprocess.Popen(
            [SIM_BIN, "--scenario", "incident", "--manual"],
            stdout=subprocess.PIPE,
            stderr=open(self.log_path, "wb"),
            stdin=subprocess.DEVNULL,
        )
        line = self.proc.stdout.readline().decode()
        match = re.search(r"listening on (http://\S+)", line)
        if not match:
            raise RuntimeError(f"the simulator did not start: {line!r}")
        self.url = match.group(1).rstrip("/")

    def post(self, path):
        request = urllib.request.Request(self.url + path, method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())

    def state(self):
        with urllib.request.urlopen(self.url + "/_sim/state", timeout=5) as response:
            return json.loads(response.read())


# ---------------------------------------------------------------------------------------------
# WebDriver over HTTP (W3C protocol)


class WebDriverError(Exception):
    pass


class WebDriver:
    def __init__(self, port):
        self.host, self.port = "127.0.0.1", port
        self.session = None
        self.transport_retries = 0

    def call(self, method, path, body=None, timeout=30):
        """One command on a fresh connection, closed by us after the answer.

        Not urllib: it sends `Connection: close`, which tauri-driver 2.1.0 forwards verbatim to
        WebKitWebDriver; WebKitWebDriver then closes that upstream connection after answering, yet
        tauri-driver's pooled client sometimes sends the next command on it, the command dies with
        "Connection reset by peer" and tauri-driver drops our connection without an answer
        (RemoteDisconnected). Without the header that never happened here. A command whose
        connection is dropped anyway is retried once (the reset means WebKitWebDriver never read
        it) and counted in `transport_retries`."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"} if data is not None else {}
        for attempt in (1, 2):
            connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
            try:
                connection.request(method, path, body=data, headers=headers)
                response = connection.getresponse()
                status, raw = response.status, response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError) as e:
                if attempt == 2:
                    raise
                self.transport_retries += 1
                log(f"     {method} {path}: {type(e).__name__}; retrying once")
            finally:
                connection.close()
        try:
            payload = json.loads(raw or b"{}")
        except ValueError:
            raise WebDriverError(f"{method} {path} -> HTTP {status}: {raw[:300]!r}") from None
        if status >= 400:
            value = payload.get("value") if isinstance(payload, dict) else None
            text = f"{value.get('error')}: {value.get('message')}" if isinstance(value, dict) else raw[:300]
            raise WebDriverError(f"{method} {path} -> HTTP {status}: {text}")
        return payload.get("value")

    def s(self, path):
        return f"/session/{self.session}{path}"

    def new_session(self, capabilities):
        value = self.call("POST", "/session", {"capabilities": {"alwaysMatch": capabilities}}, timeout=60)
        self.session = value["sessionId"]
        return value

    def delete_session(self):
        if self.session:
            session, self.session = self.session, None
            self.call("DELETE", f"/session/{session}", timeout=30)

    def find_all(self, css, within=None):
        path = self.s(f"/element/{within}/elements" if within else "/elements")
        return [e[ELEMENT] for e in self.call("POST", path, {"using": "css selector", "value": css})]

    def find(self, css, within=None):
        path = self.s(f"/element/{within}/element" if within else "/element")
        return self.call("POST", path, {"using": "css selector", "value": css})[ELEMENT]

    def text(self, element):
        return self.call("GET", self.s(f"/element/{element}/text"))

    def displayed(self, element):
        return self.call("GET", self.s(f"/element/{element}/displayed"))

    def click(self, element):
        self.call("POST", self.s(f"/element/{element}/click"), {})

    def clear(self, element):
        self.call("POST", self.s(f"/element/{element}/clear"), {})

    def send_keys(self, element, text):
        self.call("POST", self.s(f"/element/{element}/value"), {"text": text})

    def attribute(self, element, name):
        return self.call("GET", self.s(f"/element/{element}/attribute/{name}"))

    def title(self):
        return self.call("GET", self.s("/title"))

    def url(self):
        return self.call("GET", self.s("/url"))

    def script(self, source, *args):
        return self.call("POST", self.s("/execute/sync"), {"script": source, "args": list(args)})

    def screenshot(self, element=None):
        path = self.s(f"/element/{element}/screenshot" if element else "/screenshot")
        return base64.b64decode(self.call("GET", path))


def testid(name):
    return f'[data-testid="{name}"]'


# ---------------------------------------------------------------------------------------------
# The test


class Run:
    def __init__(self):
        self.passed = []
        self.failed = []
        self.skipped = []
        self.sim = None
        self.driver_proc = None
        self.driver_log = os.path.join(WD_DIR, "tauri-driver.log")
        self.app_log = os.path.join(WD_DIR, "app.log")
        self.wd = None
        self.app_pid = None
        self.gateway_port = None

    def step(self, name, fn):
        if self.failed:
            self.skipped.append(name)
            log(f"SKIP {name}")
            return None
        start = time.monotonic()
        try:
            result = fn()
        except Exception as e:  # noqa: BLE001 - every failure becomes a reported step
            self.failed.append(name)
            log(f"FAIL {name} ({time.monotonic() - start:.2f} s): {type(e).__name__}: {e}")
            if not isinstance(e, (Timeout, WebDriverError, AssertionError)):
                traceback.print_exc()
            return None
        self.passed.append(name)
        log(f"ok   {name} ({time.monotonic() - start:.2f} s){f': {result}' if result else ''}")
        return result

    # --- steps

    def start_simulator(self):
        self.sim = Sim()
        state = self.sim.post("/_sim/advance?seconds=180")
        assert state.get("story_time_seconds") == 180, state
        assert state.get("status_indicator") != "none", state
        return (
            f"{self.sim.url}, story at {state['story_time_seconds']:.0f} s ({state.get('phase')}), "
            f"page indicator {state.get('status_indicator')!r}"
        )

    def start_driver(self):
        port, native_port = self.ports()
        # tauri-driver passes its environment to WebKitWebDriver, which passes it to the app.
        env = dict(os.environ)
        env.update(
            {
                "CLAUDE_STATUS_STATUS_URL": self.sim.url,
                "ANTHROPIC_BASE_URL": self.sim.url,
                # A dummy key only the simulator sees: without one every probe is a 401.
                "ANTHROPIC_API_KEY": API_KEY,
                "CLAUDE_STATUS_DATA_DIR": os.path.join(WD_DIR, "app-data"),
                "CLAUDE_STATUS_SOCKET": SOCKET,
                # The dashboard starts the service (detached) when none runs.
                "CLAUDE_STATUS_SERVICE_BIN": SERVICE_BIN,
                "CLAUDE_STATUS_PROBE_INTERVAL": "1s",
                "CLAUDE_STATUS_CONFIRM_INTERVAL": "300ms",
                "CLAUDE_STATUS_LOG": "info",
                "NO_COLOR": "1",
                "WD_APP_LOG": self.app_log,
            }
        )
        self.driver_proc = subprocess.Popen(
            [
                TAURI_DRIVER,
                f"--port={port}",
                f"--native-port={native_port}",
                f"--native-driver={NATIVE_DRIVER}",
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=open(self.driver_log, "ab"),
            stderr=subprocess.STDOUT,
        )

        def listening():
            if self.driver_proc.poll() is not None:
                raise RuntimeError(f"tauri-driver exited with {self.driver_proc.returncode}")
            return port_open(port) and port_open(native_port)

        _, seconds = wait_until("tauri-driver to listen", listening, 15, interval=0.05)
        self.wd = WebDriver(port)
        return f"ports {port} (tauri-driver) and {native_port} (WebKitWebDriver) after {seconds:.2f} s"

    def ports(self):
        if os.environ.get("WD_PORT"):
            port = int(os.environ["WD_PORT"])
            native = int(os.environ.get("WD_NATIVE_PORT", port + 1))
        else:
            # tauri-driver's defaults are 4444/4445; free ports let this run beside another session.
            port, native = free_port(), free_port()
            while native == port:
                native = free_port()
        for p in (port, native):
            if port_open(p):
                raise RuntimeError(f"port {p} is already taken (another WebDriver session?)")
        return port, native

    def new_session(self):
        capabilities = {
            "browserName": "wry",
            "tauri:options": {"application": self.app_wrapper(), "args": ["--dashboard"]},
        }
        start = time.monotonic()
        value = self.wd.new_session(capabilities)
        seconds = time.monotonic() - start
        pids, _ = wait_until("the app's process", app_pids, 10)
        self.app_pid = pids[0]
        browser = value.get("capabilities", {}).get("browserName")
        return f"session {self.wd.session} in {seconds:.2f} s, browser {browser!r}, app pid {self.app_pid}"

    def app_wrapper(self):
        """A two-line launcher that execs the app with its stderr in app.log. Without it the app's
        log lands in tauri-driver's (WebKitWebDriver hands its own stderr down)."""
        path = os.path.join(WD_DIR, "claude-status-tray")
        with open(path, "w") as f:
            f.write(f'#!/bin/sh\nexec "{APP_BIN}" "$@" 2>>"$WD_APP_LOG"\n')
        os.chmod(path, 0o755)
        return path

    # The dashboard redraws its views on every snapshot (every second here: one probe a second),
    # replacing their elements; a reference found a moment ago can be stale. So every read below
    # finds and reads inside one polled probe, and the click is retried on a stale row.

    def read(self, css, within=None):
        return self.wd.text(self.wd.find(css, within))

    def dashboard_loads(self):
        def loaded():
            level = self.read(testid("level"))
            return level if level not in ("", "Loading…") else None

        level, seconds = wait_until("the dashboard's level", loaded, 20)
        return f"{self.wd.url()} titled {self.wd.title()!r}, level {level!r} after {seconds:.2f} s"

    def level_degraded(self):
        def degraded():
            level = self.read(testid("level"))
            assert level == EXPECTED_LEVEL, f"the level reads {level!r}"
            return self.read(testid("freshness"))

        freshness, seconds = wait_until(f"the level to read {EXPECTED_LEVEL!r}", degraded, 30)
        return f"{EXPECTED_LEVEL!r} after {seconds:.2f} s ({freshness})"

    def incident_row(self):
        """The Overview's row for the incident: (element, its text), or None."""
        for element in self.wd.find_all(f"{testid('active-incidents')} {testid('incident-row')}"):
            text = self.wd.text(element)
            if INCIDENT in text:
                return element, text
        return None

    def incident_listed(self):
        def listed():
            found = self.incident_row()
            if not found:
                return None
            text = found[1]
            meta = self.read(f"{testid('active-incidents')} {testid('incident-row')} .incident-meta")
            assert f"{INCIDENT_IMPACT} impact" in meta.lower() and INCIDENT_STATUS in meta.lower(), meta
            return text, self.read(f"{testid('active-incidents')} h2")

        (text, heading), seconds = wait_until("the incident row in the Overview", listed, 20)
        return f"{text.splitlines()[0]!r} under {heading!r} after {seconds:.2f} s"

    def open_details(self):
        clicks = []

        def click():
            if self.details_shown():
                return True
            found = self.incident_row()
            if not found:
                return None
            self.wd.click(found[0])
            clicks.append(time.monotonic())
            return self.details_shown()

        _, click_seconds = wait_until("a click on the incident row to open its details", click, 10)

        def details():
            detail = self.wd.find(testid("incident-detail"))
            tab = self.wd.find(testid("tab-incidents"))
            selected = self.wd.call("GET", self.wd.s(f"/element/{tab}/attribute/aria-selected"))
            assert selected == "true", f"the Incidents tab is not selected ({selected!r})"
            name = self.read("#incident-detail-name", detail)
            impact = self.read(f"{testid('incident-facts')} .impact", detail)
            status = self.read(testid("incident-status"), detail)
            bodies = [
                self.read(".update-body", update)
                for update in self.wd.find_all(testid("incident-update"), detail)
            ]
            facts = self.read(testid("incident-facts"), detail)
            assert name == INCIDENT, f"title {name!r}"
            assert impact.lower() == INCIDENT_IMPACT, f"impact {impact!r}; facts: {facts!r}"
            assert status.lower() == INCIDENT_STATUS, f"status {status!r}; facts: {facts!r}"
            assert INCIDENT_UPDATE in bodies, f"updates: {bodies!r}"
            return impact, status, bodies

        (impact, status, bodies), seconds = wait_until("the details pane's content", details, 10)
        return (
            f"{len(clicks)} click(s), pane shown after {click_seconds:.2f} s, content checked in {seconds:.2f} s: "
            f"title {INCIDENT!r}, impact {impact!r}, status {status!r}, "
            f"{len(bodies)} update(s), first {bodies[0][:40]!r}…"
        )

    def gateway_on(self):
        """Settings: tick the gateway, give it a free port, save; the page shows the line to copy."""
        self.gateway_port = free_port()
        self.wd.click(self.wd.find(testid("tab-settings")))

        def form():
            box = self.wd.find(testid("setting-gateway"))
            return box if self.wd.displayed(box) else None

        box, _ = wait_until("the settings form", form, 10)
        if self.wd.attribute(box, "checked") in (None, "false"):
            self.wd.click(box)
        port = self.wd.find(testid("setting-gateway_port"))
        self.wd.clear(port)
        self.wd.send_keys(port, str(self.gateway_port))
        self.wd.click(self.wd.find(testid("settings-save")))
        wanted = f"ANTHROPIC_BASE_URL=http://127.0.0.1:{self.gateway_port}"

        def shown():
            line = self.read(testid("gateway-line"))
            return line if wanted in line else None

        line, seconds = wait_until("the gateway's ANTHROPIC_BASE_URL line", shown, 15)
        assert port_open(self.gateway_port), f"nothing listens on {self.gateway_port}"
        return f"{line!r} after {seconds:.2f} s"

    def gateway_traffic(self):
        """Requests through the gateway show in the Budget view's gateway section."""
        statuses = []
        body = json.dumps(
            {"model": "claude-sonnet-4-6", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
        ).encode()
        for _ in range(GATEWAY_REQUESTS):
            request = urllib.request.Request(
                f"http://127.0.0.1:{self.gateway_port}/v1/messages",
                data=body,
                method="POST",
                headers={
                    "content-type": "application/json",
                    "anthropic-version": "2023-06-01",
                    "x-api-key": API_KEY,
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as reply:
                    reply.read()
                    statuses.append(reply.status)
            except urllib.error.HTTPError as e:
                e.read()
                statuses.append(e.code)
        self.wd.click(self.wd.find(testid("tab-budget")))

        def counted():
            panel = self.wd.find(testid("gateway-panel"))
            state = self.wd.attribute(panel, "data-state")
            if state != "running":
                return None
            text = self.read(testid("gateway-counter-requests"))
            found = re.search(r"[\d,]+", text)
            requests = int(found.group(0).replace(",", "")) if found else 0
            if requests < GATEWAY_REQUESTS:
                return None
            minutes = self.wd.find_all(testid("gateway-minute"))
            return requests, len(minutes)

        (requests, rows), seconds = wait_until("the gateway's counters in the Budget view", counted, 15)
        return (
            f"{GATEWAY_REQUESTS} requests answered {sorted(set(statuses))}; the panel counts {requests} "
            f"with {rows} minute row(s) after {seconds:.2f} s"
        )

    def details_shown(self):
        return self.wd.displayed(self.wd.find(testid("incident-detail"))) and self.read("#incident-detail-name") == INCIDENT

    def screenshot(self):
        # WebKitGTK's snapshot can lag the DOM by a frame or more under Xvfb (software rendering):
        # a capture taken right after the click has shown the first "Loading…" paint. So the
        # capture is repeated until two pixels show what the DOM says: the level dot's colour
        # and the background of the first update's box.
        spots = self.wd.script(
            """
            const spot = (selector, dx) => {
              const el = document.querySelector(selector);
              const r = el.getBoundingClientRect();
              return [selector, Math.round(r.left + dx), Math.round(r.top + r.height / 2),
                      getComputedStyle(el).backgroundColor];
            };
            return [window.devicePixelRatio, spot(".dot", 5), spot('[data-testid="incident-update"]', 3)];
            """
        )
        ratio, spots = spots[0], spots[1:]
        self.wd.call(
            "POST",
            self.wd.s("/execute/async"),
            {"script": "const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(() => done(true)));", "args": []},
            timeout=10,
        )
        captures = []

        def painted():
            png = self.wd.screenshot()
            captures.append(png)
            width, height, pixel = decode_png(png)
            wrong = []
            for selector, x, y, css in spots:
                want = parse_css_rgb(css)
                got = pixel(int(x * ratio), int(y * ratio))
                if want is None or max(abs(a - b) for a, b in zip(got, want)) > 12:
                    wrong.append(f"{selector} at ({x},{y}) is {got}, not {css}")
            return (width, height) if not wrong else (None, wrong)

        def settled():
            result = painted()
            return result if result[0] else None

        try:
            (width, height), seconds = wait_until("a screenshot showing the details", settled, 10, interval=0.25)
        finally:
            if captures:
                with open(SCREENSHOT, "wb") as f:
                    f.write(captures[-1])
        return (
            f"{os.path.relpath(SCREENSHOT, ROOT)} ({width}x{height}, {len(captures[-1])} bytes), "
            f"{len(captures)} capture(s) in {seconds:.2f} s"
        )

    def no_key_on_screen(self):
        # What the screenshot shows is the page's text and its fields: the key must be in neither
        # (nor in the markup or the address), whatever view is open.
        trace = self.wd.script(
            """
            return JSON.stringify([document.documentElement.outerHTML, document.body.innerText, location.href,
              [...document.querySelectorAll("input, textarea, select")].map((i) => i.value)]);
            """
        )
        assert API_KEY not in trace and API_KEY[len("sk-ant-"):] not in trace, "the API key is on the page"
        return f"the key is in none of {len(trace)} characters of text, markup and fields"

    def delete_session(self):
        self.wd.delete_session()

        def gone():
            return self.app_pid not in app_pids()

        _, seconds = wait_until(f"the app (pid {self.app_pid}) to exit", gone, 10, interval=0.1)
        return f"the app exited {seconds:.2f} s after the session was deleted"

    def service_outlives(self):
        """The dashboard found no service and started one, detached: it keeps running (and
        serving the gateway) after the dashboard ended, until `claude-status service stop`."""
        pids = service_pids()
        assert len(pids) == 1, f"service processes: {pids}"
        env = dict(os.environ)
        env.update({"CLAUDE_STATUS_DATA_DIR": os.path.join(WD_DIR, "app-data"),
                    "CLAUDE_STATUS_SOCKET": SOCKET})
        result = subprocess.run([SERVICE_BIN, "service", "stop"], env=env, capture_output=True,
                                text=True, timeout=30, stdin=subprocess.DEVNULL)
        assert result.returncode == 0, f"service stop: {result.returncode} {result.stderr.strip()}"
        _, seconds = wait_until("the service to exit", lambda: not service_pids(), 15, interval=0.1)
        return (f"service pid {pids[0]} ran on after the dashboard; `service stop` ended it in "
                f"{seconds:.2f} s ({result.stdout.strip()!r})")

    # --- the whole run

    def main(self):
        os.makedirs(WD_DIR, exist_ok=True)
        for path in (SIM_BIN, APP_BIN, SERVICE_BIN, TAURI_DRIVER, NATIVE_DRIVER):
            if not os.access(path, os.X_OK):
                log(f"missing: {path}")
                print("webdriver: 0 passed, 1 failed", flush=True)
                return 1
        log(f"app {os.path.relpath(APP_BIN, ROOT)}, scratch {os.path.relpath(WD_DIR, ROOT)}")
        try:
            self.step("start the simulator (incident, story at 3 min)", self.start_simulator)
            self.step("start tauri-driver", self.start_driver)
            self.step("create a session (claude-status-tray --dashboard)", self.new_session)
            self.step("the dashboard loads", self.dashboard_loads)
            self.step(f"the level reads {EXPECTED_LEVEL!r}", self.level_degraded)
            self.step("the incident is listed in the Overview", self.incident_listed)
            self.step("clicking it opens its details", self.open_details)
            self.step("screenshot of the details", self.screenshot)
            self.step("no key on the screenshot's page", self.no_key_on_screen)
            self.step("settings turn the gateway on", self.gateway_on)
            self.step("traffic through the gateway shows in the Budget view", self.gateway_traffic)
            self.step("no key on the Budget view", self.no_key_on_screen)
            self.step("deleting the session ends the app", self.delete_session)
            self.step("the service the dashboard started outlives it", self.service_outlives)
        finally:
            if self.failed:
                self.dump_sim()
            self.teardown()
        if self.failed:
            self.dump_logs()
        total = f"webdriver: {len(self.passed)} passed, {len(self.failed)} failed"
        if self.skipped:
            log(f"{len(self.skipped)} step(s) skipped after the failure")
        if self.wd and self.wd.transport_retries:
            log(f"WebDriver commands retried after a dropped connection: {self.wd.transport_retries}")
        log(f"total {time.monotonic() - T0:.2f} s")
        print(total, flush=True)
        return 1 if self.failed else 0

    def teardown(self):
        if self.wd and self.wd.session:
            try:
                self.wd.delete_session()
            except Exception as e:  # noqa: BLE001
                log(f"deleting the session failed: {e}")
        start = time.monotonic()
        stop(self.driver_proc, "tauri-driver")
        # WebKitWebDriver and the app are tauri-driver's descendants; anything left is ended here
        # (and by run.sh's clean-up, which matches our runtime folder).
        for pid in app_pids():
            log(f"the app (pid {pid}) is still running; killing it")
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in service_pids():
            log(f"the service (pid {pid}) is still running; stopping it")
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        if self.sim:
            stop(self.sim.proc, "the simulator")
        log(f"stopped tauri-driver and the simulator in {time.monotonic() - start:.2f} s")

    def dump_sim(self):
        if self.sim:
            try:
                print("--- simulator state:", json.dumps(self.sim.state())[:1500], flush=True)
            except Exception as e:  # noqa: BLE001
                print(f"--- simulator state: unavailable ({e})", flush=True)

    def dump_logs(self):
        print(f"--- the app's stderr ({self.app_log}), last lines:", flush=True)
        print(tail(self.app_log), flush=True)
        print(f"--- tauri-driver's log ({self.driver_log}), last lines:", flush=True)
        print(tail(self.driver_log), flush=True)
        service_log = os.path.join(WD_DIR, "app-data", "service.log")
        print(f"--- the service's log ({service_log}), last lines:", flush=True)
        print(tail(service_log), flush=True)
        session_log = os.path.join(WD_DIR, "session.log")
        print(f"--- the desktop session's log ({session_log}), last lines:", flush=True)
        print(tail(session_log, 20), flush=True)


if __name__ == "__main__":
    sys.exit(Run().main())
