#!/usr/bin/env python3
"""End-to-end test of the real tray app (`claude-status-tray`) on a headless desktop.

Run it through tests/e2e/run.sh, which provides Xvfb, a private D-Bus session and scratch
folders; this file expects DISPLAY, DBUS_SESSION_BUS_ADDRESS, XDG_RUNTIME_DIR and E2E_DIR.

It starts a StatusNotifierItem watcher with a visible tray bar (gtk-sni-tray-standalone), a
notification daemon (dunst), dbus-monitor (logging Notify calls) and the simulator, then drives the
app only from the outside, as a desktop would: the tray item and its menu over D-Bus (busctl), the
icon's PNG, the notifications seen on the bus, X windows (xdotool) and the screen (ImageMagick).
The user's own traffic is the real Claude Code client (npm, installed by run.sh) sending a turn
through the app's gateway while the simulator overloads its model; the one look inside is a
read-only count of the gateway's records in the app's SQLite ledger.

The tray is a client of the background service (`claude-status service run`), which it starts
when none runs; the test also follows the service's process (in /proc), quits and restarts the
tray around it, kills it, stops it from the menu, and puts a fake service of another protocol
version on its socket.

Standard library only. Every wait polls with a deadline; nothing relies on fixed sleeps.
Set UPDATE_SCREENSHOTS=1 to rewrite docs/screenshots/*.png; otherwise screenshots go to
$E2E_DIR/screenshots/. The last line is `e2e: N passed, M failed`; the exit status is 1 on any
failure.
"""

import json
import os
import re
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.request
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
APP_BIN = os.environ.get("E2E_APP", os.path.join(ROOT, "target", "debug", "claude-status-tray"))
SIM_BIN = os.environ.get("E2E_SIM", os.path.join(ROOT, "target", "debug", "claude-status-sim"))
SERVICE_BIN = os.environ.get("E2E_SERVICE", os.path.join(ROOT, "target", "debug", "claude-status"))
E2E_DIR = os.environ.get("E2E_DIR", os.path.join(ROOT, "target", "e2e", "run"))
UPDATE_SCREENSHOTS = os.environ.get("UPDATE_SCREENSHOTS") == "1"
SHOT_DIR = (
    os.path.join(ROOT, "docs", "screenshots")
    if UPDATE_SCREENSHOTS
    else os.path.join(E2E_DIR, "screenshots")
)
CONVERT = "/usr/bin/convert"  # /usr/local/bin/convert may be a stand-in
IMPORT = "/usr/bin/import"
# The whole test must end before run.sh's `timeout` does, so the summary is always printed.
DEADLINE = time.monotonic() + float(os.environ.get("E2E_BUDGET_SECONDS", "165"))

SNI_WATCHER = "org.kde.StatusNotifierWatcher"
SNI_ITEM = "org.kde.StatusNotifierItem"
DBUSMENU = "com.canonical.dbusmenu"
WINDOW_TITLE = "Claude Status"

# The tray's colours (crates/core/src/tray.rs).
COLORS = {
    "operational": (0x2E, 0xA0, 0x43),
    "overloaded": (0xE8, 0x70, 0x2A),
    "outage": (0xD1, 0x24, 0x2F),
    "degraded": (0xD4, 0xA7, 0x2C),
    "unknown": (0x8C, 0x95, 0x9F),
}

T0 = time.monotonic()

# The service's data directory (CLAUDE_STATUS_DATA_DIR) and its control socket, in the private
# runtime folder (CLAUDE_STATUS_SOCKET).
APP_DATA = os.path.join(E2E_DIR, "app-data")
SOCKET = os.path.join(os.environ.get("XDG_RUNTIME_DIR", E2E_DIR), "claude-status-e2e.sock")
# The menu's first line while the service is unreachable, and after "Stop service".
NOT_RUNNING = "Service not running — reconnecting…"
STOPPED = "Service stopped — the gateway is off"
STOP_SERVICE = "Stop service (stops the gateway)"
# The fake service of step 12 speaks this protocol and version.
FAKE_PROTOCOL = 999
FAKE_VERSION = "9.9.9"
# Streams the own-traffic step sends through the gateway, each ending in an overload.
OWN_BURST = 12
# The model the test pins in the settings, as a user who works on it would: the per-model probe
# asks it, and the simulator's model-overload scenario overloads it alone.
PINNED_MODEL = "claude-opus-5-5"
PINNED_NAME = "Opus 5.5"
# The model of the user's own traffic through the gateway.
OWN_MODEL = "claude-sonnet-4-6"
OWN_NAME = "Sonnet 4.6"
# What the menu says when nothing watches overloads (never, in this test: it has a key).
NOT_WATCHED = "overloads are not watched: add an API key, or send your traffic through the gateway"
# The real Claude Code (npm), which run.sh installs before the test starts
# (tests/claude_code/install.sh); its default model is the pinned one.
CLAUDE_CODE_VERSION = "2.1.328"
CLAUDE_BIN = os.environ.get(
    "E2E_CLAUDE",
    os.path.join(os.path.expanduser("~"), ".cache", "claude-status-cc", CLAUDE_CODE_VERSION,
                 "node_modules", ".bin", "claude"),
)
CLAUDE_MODEL = PINNED_MODEL
# Longest wait for the app to name the model while Claude Code retries. Claude Code bounds it
# sooner: against the simulator's overload it gives up after 11 requests in about 40 s.
CLAUDE_WAIT = 90


def log(message):
    print(f"[{time.monotonic() - T0:7.2f}s] {message}", flush=True)


class Timeout(Exception):
    pass


class Gone(Timeout):
    """A process a wait depends on has exited: waiting longer is pointless."""


def wait_until(what, probe, timeout, interval=0.1):
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
        except Timeout:
            raise  # a probe's own verdict that waiting longer is pointless
        except Exception as e:  # noqa: BLE001 - a probe may fail while things start
            last = f"{type(e).__name__}: {e}"
        if time.monotonic() >= end:
            raise Timeout(f"{what}: not within {timeout:.0f} s (last seen: {last!r})")
        time.sleep(interval)


# ---------------------------------------------------------------------------------------------
# Processes


class Procs:
    """The processes this test starts, ended (by pid) in reverse order at exit."""

    def __init__(self):
        self.started = []

    def start(self, name, argv, log_path=None, env=None, stdout=None, cwd=None, group=False):
        """Starts `argv`; with `group`, in a process group of its own, so `stop` ends its
        children too."""
        out = stdout
        err = subprocess.STDOUT
        handle = None
        if log_path is not None:
            handle = open(log_path, "ab")
            out = handle if out is None else out
            err = handle
        proc = subprocess.Popen(
            argv, stdout=out or subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL, env=env,
            cwd=cwd, start_new_session=group,
        )
        proc.group = group
        if handle is not None:
            handle.close()
        self.started.append((name, proc))
        return proc

    def stop_all(self):
        for name, proc in reversed(self.started):
            stop(proc)


def stop(proc, grace=3.0):
    """Ends `proc` (SIGTERM, then SIGKILL after `grace`), and its process group when it was
    started in one of its own, which may outlive it."""
    group = getattr(proc, "group", False)

    def send(sig):
        try:
            if group:
                os.killpg(proc.pid, sig)
            else:
                proc.send_signal(sig)
        except (ProcessLookupError, PermissionError):
            pass

    if proc.poll() is not None:
        if group:
            send(signal.SIGKILL)
        return
    send(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    if group:
        send(signal.SIGKILL)


def run(argv, timeout=10, check=True):
    result = subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
    if check and result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} exited with {result.returncode}: {result.stderr.strip()}"
        )
    return result


# ---------------------------------------------------------------------------------------------
# D-Bus through busctl


def busctl(*args, timeout=10):
    """Runs `busctl --user --json=short ARGS` and returns the parsed JSON (or None)."""
    out = run(["busctl", "--user", "--json=short", *args], timeout=timeout).stdout.strip()
    return json.loads(out) if out else None


def name_has_owner(name):
    reply = busctl(
        "call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
        "NameHasOwner", "s", name,
    )
    return bool(reply["data"][0])


def connection_pid(bus_name):
    reply = busctl(
        "call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
        "GetConnectionUnixProcessID", "s", bus_name,
    )
    return int(reply["data"][0])


def registered_items():
    reply = busctl(
        "get-property", SNI_WATCHER, "/StatusNotifierWatcher", SNI_WATCHER,
        "RegisteredStatusNotifierItems",
    )
    return list(reply["data"])


def item_path(bus_name):
    """The StatusNotifierItem object of a connection that registered by bus name only
    (libayatana exports it under /org/ayatana/NotificationItem/<id>)."""
    paths = run(["busctl", "--user", "tree", "--list", bus_name]).stdout.split()
    for path in paths:
        if path == "/StatusNotifierItem":
            return path
    for path in paths:
        if "/NotificationItem/" in path and not path.endswith("/Menu"):
            return path
    return None


def find_item(pid):
    """(bus name, object path) of the registered item that belongs to process `pid`, or None."""
    for entry in registered_items():
        bus, _, path = entry.partition("/")
        try:
            if connection_pid(bus) != pid:
                continue
        except Exception:  # noqa: BLE001 - the connection may be gone
            continue
        path = "/" + path if path else item_path(bus)
        if path:
            return bus, path
    return None


def item_properties(item):
    bus, path = item
    reply = busctl("call", bus, path, "org.freedesktop.DBus.Properties", "GetAll", "s", SNI_ITEM)
    return {key: value["data"] for key, value in reply["data"][0].items()}


def unwrap(node):
    """A dbusmenu layout node, `[id, {props}, [children as variants]]`, as a dict."""
    if isinstance(node, dict) and "data" in node:
        node = node["data"]
    node_id, props, children = node
    return {
        "id": node_id,
        "props": {key: value["data"] for key, value in props.items()},
        "children": [unwrap(child) for child in children],
    }


def menu_layout(item):
    bus, path = item
    menu_path = item_properties(item)["Menu"]
    reply = busctl("call", bus, menu_path, DBUSMENU, "GetLayout", "iias", "--", "0", "-1", "0")
    _revision, root = reply["data"]
    return menu_path, unwrap(root)


def menu_entries(item):
    """The top-level menu entries as (id, label, enabled); separators have label None."""
    _, root = menu_layout(item)
    entries = []
    for child in root["children"]:
        props = child["props"]
        label = None if props.get("type") == "separator" else props.get("label", "")
        entries.append((child["id"], label, props.get("enabled", True)))
    return entries


def first_label(item):
    entries = menu_entries(item)
    return entries[0][1] if entries else None


def label_starting(item, prefix):
    """The first menu line that starts with `prefix`, or None."""
    for _, label, _ in menu_entries(item):
        if label and label.startswith(prefix):
            return label
    return None


def click(item, label):
    """Clicks the entry with this label through dbusmenu's Event; returns its id."""
    bus, _ = item
    menu_path, root = menu_layout(item)
    for child in root["children"]:
        if child["props"].get("label") == label:
            run([
                "busctl", "--user", "call", bus, menu_path, DBUSMENU, "Event", "isvu",
                str(child["id"]), "clicked", "s", "", "0",
            ])
            return child["id"]
    raise AssertionError(f"no menu entry {label!r}")


def click_until(item, label, effect, timeout, attempts=3):
    """Clicks `label` and waits for `effect`. The app rebuilds its menu (new ids) whenever a line
    changes ("Checked 20:31:07" changes with every probe), so a click may land on an id that was
    just replaced; then the menu is read again and the click repeated. Returns (value, seconds,
    clicks)."""
    start = time.monotonic()
    for attempt in range(1, attempts + 1):
        click(item, label)
        try:
            value, _ = wait_until(f"effect of {label!r}", effect, timeout / attempts)
            return value, time.monotonic() - start, attempt
        except Timeout:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")


# ---------------------------------------------------------------------------------------------
# Pixels


def png_pixels(path):
    """Decodes an 8-bit, non-interlaced RGB or RGBA PNG: (width, height, rows of RGBA tuples)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    width, height, depth, color_type, _, _, interlace = header
    if depth != 8 or color_type not in (2, 6) or interlace != 0:
        raise ValueError(f"unsupported PNG layout {header}")
    channels = 4 if color_type == 6 else 3
    stride = width * channels
    raw = zlib.decompress(idat)
    rows, previous = [], bytearray(stride)
    for y in range(height):
        filter_type = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            up_left = previous[i - channels] if i >= channels else 0
            if filter_type == 1:
                line[i] = (line[i] + left) & 0xFF
            elif filter_type == 2:
                line[i] = (line[i] + up) & 0xFF
            elif filter_type == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif filter_type == 4:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                pred = left if pa <= pb and pa <= pc else (up if pb <= pc else up_left)
                line[i] = (line[i] + pred) & 0xFF
        rows.append(
            [
                tuple(line[x * channels : x * channels + channels]) + ((255,) if channels == 3 else ())
                for x in range(width)
            ]
        )
        previous = line
    return width, height, rows


def convert_pixel(path, x, y):
    """The same pixel read by ImageMagick, as a cross-check of the decoder above."""
    text = run([CONVERT, path, "-format", f"%[pixel:p{{{x},{y}}}]", "info:"]).stdout
    values = re.findall(r"[\d.]+", text)
    return tuple(int(float(v)) for v in values[:3])


def nearest_color(rgb):
    name = min(COLORS, key=lambda n: sum((a - b) ** 2 for a, b in zip(COLORS[n], rgb)))
    distance = sum((a - b) ** 2 for a, b in zip(COLORS[name], rgb)) ** 0.5
    return name, distance


def icon_color(item):
    """The colour of the icon's disc: pixels a little inside the rim on the four sides, clear of
    every glyph, must agree (a pixel on the glyph would be white or dark)."""
    path = item_properties(item)["IconName"]
    width, height, rows = png_pixels(path)
    inset = max(2, width // 12)
    points = [(width // 2, inset), (inset, height // 2), (width - 1 - inset, height // 2),
              (width // 2, height - 1 - inset)]
    samples = [rows[y][x] for x, y in points]
    opaque = [s[:3] for s in samples if s[3] == 255]
    if len(opaque) < len(points) or len(set(opaque)) != 1:
        return None, path, samples
    name, distance = nearest_color(opaque[0])
    return (name if distance < 12 else None), path, opaque[0]


def is_color(item, wanted):
    name, path, rgb = icon_color(item)
    return (path, rgb) if name == wanted else None


def hex_rgb(rgb):
    return "#%02X%02X%02X" % tuple(rgb[:3])


# ---------------------------------------------------------------------------------------------
# Notifications seen on the bus


def notify_calls(path):
    """The Notify calls dbus-monitor logged: a list of dicts with app, icon, summary, body."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except FileNotFoundError:
        return []
    calls = []
    for block in re.split(r"\n(?=\S)", text):
        if "member=Notify" not in block.split("\n", 1)[0]:
            continue
        strings = re.findall(r'^ {3}string "(.*?)"$', block, flags=re.M | re.S)
        if len(strings) >= 4:
            calls.append(
                {"app": strings[0], "icon": strings[1], "summary": strings[2], "body": strings[3]}
            )
    return calls


def find_notify(path, summary, *needles):
    """The first Notify call whose summary contains `summary` and whose summary or body contains
    every one of `needles`, or None."""
    for call in notify_calls(path):
        text = call["summary"] + "\n" + call["body"]
        if summary in call["summary"] and all(n in text for n in needles):
            return call
    return None


# ---------------------------------------------------------------------------------------------
# X windows and the screen


def windows_named(title):
    result = run(
        ["xdotool", "search", "--onlyvisible", "--name", f"^{re.escape(title)}$"], check=False
    )
    return [int(w) for w in result.stdout.split()]


def window_pid(window):
    result = run(["xdotool", "getwindowpid", str(window)], check=False)
    return int(result.stdout.strip()) if result.returncode == 0 and result.stdout.strip() else None


def dashboard_windows():
    """The visible dashboard windows: each belongs to a dashboard process (`--dashboard`)."""
    owners = set(dashboard_pids()) | {None}
    return [w for w in windows_named(WINDOW_TITLE) if window_pid(w) in owners]


def close_window(window):
    """Asks `window` to close with a WM_DELETE_WINDOW client message, which is what a window
    manager sends when the user clicks the close button (Xvfb runs no window manager here).

    Not `xdotool windowclose`: that calls XDestroyWindow from outside, which no desktop does; GDK
    then gets BadDrawable for its own window and its default X error handler exits the app with
    status 1, whatever the app does."""
    import ctypes
    import ctypes.util

    class ClientMessage(ctypes.Structure):
        _fields_ = [
            ("type", ctypes.c_int),
            ("serial", ctypes.c_ulong),
            ("send_event", ctypes.c_int),
            ("display", ctypes.c_void_p),
            ("window", ctypes.c_ulong),
            ("message_type", ctypes.c_ulong),
            ("format", ctypes.c_int),
            ("data", ctypes.c_long * 5),
        ]

    class XEvent(ctypes.Union):
        _fields_ = [("xclient", ClientMessage), ("pad", ctypes.c_long * 24)]

    x11 = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XInternAtom.restype = ctypes.c_ulong
    x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x11.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long,
                               ctypes.POINTER(XEvent)]
    x11.XFlush.argtypes = [ctypes.c_void_p]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    display = x11.XOpenDisplay(None)
    if not display:
        raise RuntimeError("cannot open the X display")
    try:
        event = XEvent()
        event.xclient.type = 33  # ClientMessage
        event.xclient.window = window
        event.xclient.message_type = x11.XInternAtom(display, b"WM_PROTOCOLS", 0)
        event.xclient.format = 32
        event.xclient.data[0] = x11.XInternAtom(display, b"WM_DELETE_WINDOW", 0)
        event.xclient.data[1] = 0  # CurrentTime
        if not x11.XSendEvent(display, window, 0, 0, ctypes.byref(event)):
            raise RuntimeError("XSendEvent failed")
        x11.XFlush(display)
    finally:
        x11.XCloseDisplay(display)


# The part of the 1280x800 screen with the tray bar's right end (the icon) and dunst's
# notifications (top right, below the bar).
TOP_RIGHT = "760x200+520+0"


def screenshot(name, window="root", crop=None):
    """Captures the screen (or a window) to SHOT_DIR/name, cropped to `crop` (WxH+X+Y) if given;
    the uncropped capture stays in E2E_DIR for a look at the whole screen."""
    os.makedirs(SHOT_DIR, exist_ok=True)
    path = os.path.join(SHOT_DIR, name)
    full = os.path.join(E2E_DIR, "full-" + name)
    run([IMPORT, "-window", str(window), full], timeout=20)
    if crop:
        run([CONVERT, full, "-crop", crop, "+repage", path], timeout=20)
    else:
        run([CONVERT, full, path], timeout=20)
    return path


def image_signature(path):
    """Mean and standard deviation of an image, to tell when a window stopped changing."""
    return run([CONVERT, path, "-format", "%[fx:mean] %[fx:standard_deviation]", "info:"]).stdout


def window_geometry(window):
    """(x, y, width, height) of a window on the screen."""
    out = run(["xdotool", "getwindowgeometry", "--shell", str(window)]).stdout
    values = dict(line.split("=", 1) for line in out.split() if "=" in line)
    return tuple(int(values[k]) for k in ("X", "Y", "WIDTH", "HEIGHT"))


def changed_share(a, b):
    """The share of pixels that differ between two images of the same size."""
    result = run(["/usr/bin/compare", "-metric", "AE", "-fuzz", "4%", a, b, "null:"], check=False)
    if result.returncode not in (0, 1):
        raise RuntimeError(f"compare failed: {result.stderr.strip()}")
    differing = float(result.stderr.split()[0])
    width, height = (int(v) for v in run([CONVERT, a, "-format", "%w %h", "info:"]).stdout.split())
    return differing / (width * height)


def screenshot_settled(name, window, before, timeout=15.0):
    """Captures `window` once it has painted and settled, and keeps the last capture.

    A new GTK window has no background of its own: until the webview paints, capturing it gives
    whatever the screen showed there. So a capture counts only once it differs from that part of
    `before` (the whole screen captured before the window opened) and is not blank; the page has
    settled when three captures in a row differ by less than 2 % of their pixels (live text such
    as "checked 3 s ago" keeps changing a little)."""
    captures = [os.path.join(E2E_DIR, f"settle-{i}.png") for i in range(3)]
    under = os.path.join(E2E_DIR, "under-window.png")
    x, y, width, height = window_geometry(window)
    run([CONVERT, before, "-crop", f"{width}x{height}+{x}+{y}", "+repage", under])
    state = {"n": 0, "calm": 0}

    def settled():
        current = captures[state["n"] % 3]
        previous = captures[(state["n"] - 1) % 3]
        state["n"] += 1
        run([IMPORT, "-window", str(window), current], timeout=20)
        _mean, std = (float(v) for v in image_signature(current).split())
        if std < 0.02 or changed_share(current, under) < 0.2:
            state["calm"] = 0  # blank, or not painted yet
            return False
        if state["n"] > 1 and changed_share(current, previous) < 0.02:
            state["calm"] += 1
        else:
            state["calm"] = 0
        return state["calm"] >= 2

    try:
        _, took = wait_until("the dashboard to paint", settled, timeout, interval=0.5)
        log(f"    dashboard painted and settled after {took:.2f} s")
    finally:
        os.makedirs(SHOT_DIR, exist_ok=True)
        path = os.path.join(SHOT_DIR, name)
        last = captures[(state["n"] - 1) % 3]
        if state["n"] and os.path.exists(last):
            os.replace(last, path)
    return path


# ---------------------------------------------------------------------------------------------
# Processes in /proc: the service, the dashboards, their parents


def proc_stat(pid):
    """(state, ppid, pgid) of `pid`, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces; the fields after it are fixed.
    fields = text[text.rindex(")") + 2:].split()
    return fields[0], int(fields[1]), int(fields[2])


def alive(pid):
    """Whether `pid` runs (a zombie, ended but not yet reaped, does not)."""
    stat = proc_stat(pid)
    return stat is not None and stat[0] != "Z"


def ours(pid):
    """The process's command line when it runs in this test's session (its runtime folder)."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            environ = f.read().split(b"\0")
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = [arg.decode(errors="replace") for arg in f.read().split(b"\0") if arg]
    except OSError:
        return None
    runtime = ("XDG_RUNTIME_DIR=" + os.environ["XDG_RUNTIME_DIR"]).encode()
    return cmdline if runtime in environ else None


def processes(match):
    """Pids of this session's running processes whose command line `match` accepts."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        cmdline = ours(pid)
        if cmdline and match(cmdline) and alive(pid):
            found.append(pid)
    return sorted(found)


def service_pids():
    return processes(lambda c: os.path.basename(c[0]) == "claude-status" and c[1:3] == ["service", "run"])


def dashboard_pids():
    return processes(lambda c: os.path.basename(c[0]) == os.path.basename(APP_BIN) and "--dashboard" in c)


def webkit_children(pid):
    """WebKit's helper processes whose parent is `pid`: a process that never made a webview has
    none."""
    return [p for p in processes(lambda c: "WebKit" in os.path.basename(c[0]))
            if (proc_stat(p) or ("", 0, 0))[1] == pid]


def rss_mib(pid):
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def log_pids(path, pattern):
    """The pids a `pattern` with one group (a pid) finds in the log at `path`."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return [int(m) for m in re.findall(pattern, f.read())]
    except OSError:
        return []


class FakeService:
    """A stand-in on the control socket that answers every hello with another protocol version
    and hangs up, as a service of another release would."""

    def __init__(self, path):
        import threading

        if os.path.exists(path):
            os.unlink(path)
        self.path = path
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(8)
        self.hellos = 0
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        reply = json.dumps({"hello": {"protocol": FAKE_PROTOCOL, "version": FAKE_VERSION,
                                      "role": "service", "pid": os.getpid()}}) + "\n"
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return  # closed
            with conn:
                conn.settimeout(2)
                try:
                    data = b""
                    while b"\n" not in data and len(data) < 65536:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    if b'"hello"' in data:
                        self.hellos += 1
                    conn.sendall(reply.encode())
                except OSError:
                    pass

    def close(self):
        self.server.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass


# ---------------------------------------------------------------------------------------------
# The simulator


def free_port():
    """A port nothing listens on now (the kernel's pick for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def settings_path():
    """The service owns the settings: `settings.json` in its data directory."""
    return os.path.join(APP_DATA, "settings.json")


def write_gateway_settings(port, pinned=()):
    """Settings as the dashboard would have saved them: the local gateway on, on `port`, and the
    `pinned` models (none: the defaults)."""
    os.makedirs(os.path.dirname(settings_path()), exist_ok=True)
    with open(settings_path(), "w", encoding="utf-8") as f:
        json.dump({"gateway": True, "gateway_port": port, "pinned_models": list(pinned)}, f)


def stored_settings():
    with open(settings_path(), encoding="utf-8") as f:
        return json.load(f)


def gateway_attempts(model, since):
    """(requests, 529s) the app's usage ledger holds for `model` from its gateway since `since`
    (Unix seconds): the user's own attempts as the app metered them. The ledger is the app's
    SQLite file (migrations.rs, `usage_ledger`), opened read-only."""
    path = os.path.join(E2E_DIR, "app-data", "claude-status.sqlite3")
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2)
    try:
        requests, overloaded = db.execute(
            "SELECT COUNT(*), COALESCE(SUM(status = 529), 0) FROM usage_ledger"
            " WHERE source = 'gateway' AND model = ? AND at >= ?",
            (model, int(since * 1000)),
        ).fetchone()
    finally:
        db.close()
    return requests, overloaded


def claude_code_env(home, base_url):
    """The environment that makes Claude Code talk only to `base_url` (claude-code.md, H1): a
    dummy key, no nonessential traffic, no auto-update, and a throwaway home. Whatever the
    calling shell says about Anthropic or Claude Code is left out, so a real key or a session's
    settings never reach it; XDG_RUNTIME_DIR stays, so run.sh's clean-up finds it."""
    env = {
        key: value for key, value in os.environ.items()
        if not key.startswith(("ANTHROPIC_", "CLAUDE_", "XDG_"))
    }
    env.update({
        "HOME": home,
        "XDG_RUNTIME_DIR": os.environ["XDG_RUNTIME_DIR"],
        "XDG_CONFIG_HOME": os.path.join(home, ".config"),
        "XDG_CACHE_HOME": os.path.join(home, ".cache"),
        "XDG_DATA_HOME": os.path.join(home, ".local", "share"),
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": "sk-ant-e2e-simulator-only",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
    })
    return env


class Sim:
    def __init__(self, procs):
        self.proc = procs.start(
            "simulator",
            [SIM_BIN, "--scenario", "healthy", "--manual"],
            log_path=os.path.join(E2E_DIR, "sim.log"),
            stdout=subprocess.PIPE,
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

    def scenario(self, name, model=None):
        query = f"name={name}" + (f"&model={model}" if model else "")
        return self.post(f"/_sim/scenario?{query}")

    def advance(self, seconds):
        return self.post(f"/_sim/advance?seconds={seconds}")


# ---------------------------------------------------------------------------------------------
# The test


DUNSTRC = """\
[global]
    monitor = 0
    follow = none
    width = 460
    height = 300
    origin = top-right
    offset = 16x60
    notification_limit = 3
    font = DejaVu Sans 15
    line_height = 4
    padding = 14
    horizontal_padding = 16
    frame_width = 3
    frame_color = "#5c6370"
    separator_height = 3
    corner_radius = 6
    markup = full
    format = "<b>%s</b>\\n%b"
    alignment = left
    word_wrap = yes
    icon_position = left
    min_icon_size = 32
    max_icon_size = 48
    show_age_threshold = -1
    idle_threshold = 0
    sticky_history = yes
[urgency_low]
    background = "#20242b"
    foreground = "#e6e6e6"
    timeout = 0
[urgency_normal]
    background = "#20242b"
    foreground = "#ffffff"
    timeout = 0
[urgency_critical]
    background = "#3b1d1d"
    foreground = "#ffffff"
    frame_color = "#d1242f"
    timeout = 0
"""


class Test:
    def __init__(self):
        self.procs = Procs()
        self.passed = 0
        self.failed = 0
        self.app = None
        self.item = None
        self.app_log = os.path.join(E2E_DIR, "app.log")
        self.monitor_log = os.path.join(E2E_DIR, "dbus-monitor.log")
        self.diagnosed = False
        self.sim = None
        self.gateway_port = None
        # The service the tray started (step 2), and the one it started again (step 10).
        self.service_pid = None
        self.fake = None
        # The real Claude Code run of step 4: {"proc", "start", "wall_start", "version",
        # "seen": {what: (seconds since its start, still running then)}}, or {"error": why}.
        self.claude = None

    # -- bookkeeping

    def ok(self, name, detail=""):
        self.passed += 1
        log(f"PASS {name}" + (f" ({detail})" if detail else ""))

    def fail(self, name, error):
        self.failed += 1
        log(f"FAIL {name}: {error}")
        self.diagnose()

    def step(self, name, fn):
        log(f"--- {name}")
        start = time.monotonic()
        try:
            fn()
        except (AssertionError, Timeout, RuntimeError, subprocess.SubprocessError, OSError) as e:
            self.fail(name, e)
            return False
        except Exception:  # noqa: BLE001 - report and go on
            self.fail(name, traceback.format_exc())
            return False
        log(f"    {name}: done in {time.monotonic() - start:.2f} s")
        return True

    def diagnose(self):
        if self.diagnosed:
            return
        self.diagnosed = True
        for title, path in (("app log", self.app_log), ("dbus-monitor log", self.monitor_log),
                            ("service log", os.path.join(APP_DATA, "service.log"))):
            print(f"===== last 50 lines of the {title} ({path})", flush=True)
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    print("".join(f.readlines()[-50:]), flush=True)
            except OSError as e:
                print(f"(unreadable: {e})")
        print("===== menu layout", flush=True)
        try:
            if self.item:
                for entry in menu_entries(self.item):
                    print(f"  {entry}")
                props = item_properties(self.item)
                print(f"  IconName={props.get('IconName')!r}")
            else:
                print("  (no tray item found)")
        except Exception as e:  # noqa: BLE001
            print(f"  (could not read the menu: {e})")
        try:
            print(f"===== simulator state: {self.sim.state()}")  # may not exist yet
        except Exception:  # noqa: BLE001
            pass
        sys.stdout.flush()

    def app_env(self):
        env = dict(os.environ)
        env.update(
            {
                # A key is needed to see an overload: the simulator, like the API, answers 401 to
                # a keyless request before anything else, and a 401 only proves reachability. The
                # simulator accepts any key; this one goes nowhere else.
                "ANTHROPIC_API_KEY": "sk-ant-e2e-simulator-only",
                "CLAUDE_STATUS_STATUS_URL": self.sim.url,
                "ANTHROPIC_BASE_URL": self.sim.url,
                "CLAUDE_STATUS_DATA_DIR": APP_DATA,
                "CLAUDE_STATUS_SOCKET": SOCKET,
                # The service the tray starts when none runs.
                "CLAUDE_STATUS_SERVICE_BIN": SERVICE_BIN,
                "CLAUDE_STATUS_PROBE_INTERVAL": "1s",
                "CLAUDE_STATUS_CONFIRM_INTERVAL": "300ms",
                "CLAUDE_STATUS_LOG": "info",
            }
        )
        return env

    def require_app(self):
        if self.app is None or self.app.poll() is not None:
            raise Gone(
                f"the app is not running (exit status {None if self.app is None else self.app.poll()})"
            )

    # -- steps

    def start_desktop(self):
        start_tray(self.procs, size=40)
        dunstrc = os.path.join(E2E_DIR, "dunstrc")
        with open(dunstrc, "w", encoding="utf-8") as f:
            f.write(DUNSTRC)
        self.procs.start("dunst", ["dunst", "-config", dunstrc],
                         log_path=os.path.join(E2E_DIR, "dunst.log"))
        with open(self.monitor_log, "w"):
            pass
        self.procs.start(
            "dbus-monitor",
            ["dbus-monitor", "--session",
             "type='method_call',interface='org.freedesktop.Notifications',member='Notify'"],
            log_path=self.monitor_log,
        )
        self.sim = Sim(self.procs)
        wait_until("the notification daemon",
                   lambda: name_has_owner("org.freedesktop.Notifications"), 15)
        # dbus-monitor prints its own NameAcquired signal first; until then it may miss calls.
        wait_until("dbus-monitor", lambda: os.path.getsize(self.monitor_log) > 0, 10)
        self.ok("desktop: watcher, dunst, dbus-monitor and simulator up", f"simulator {self.sim.url}")

    def launch(self):
        with open(self.app_log, "w"):
            pass
        assert not service_pids(), f"a service runs before the tray started: {service_pids()}"
        self.gateway_port = free_port()
        write_gateway_settings(self.gateway_port, pinned=[PINNED_MODEL])
        start = time.monotonic()
        self.app = self.procs.start("app", [APP_BIN], log_path=self.app_log, env=self.app_env())
        self.item, took = wait_until(
            "the tray item to register", lambda: self.require_app() or find_item(self.app.pid), 20,
            interval=0.02,
        )
        took = time.monotonic() - start
        log(f"    launch to tray item registered: {took * 1000:.0f} ms ({self.item[0]} {self.item[1]})")
        self.ok("launch: tray item registered", f"{took * 1000:.0f} ms")
        # No service ran: the tray started one, detached (a process group of its own).
        pids, took = wait_until("a service process", service_pids, 10, interval=0.02)
        assert len(pids) == 1, f"more than one service: {pids}"
        self.service_pid = pids[0]
        _, parent, group = proc_stat(self.service_pid)
        assert parent == self.app.pid, f"the service's parent is {parent}, not the tray {self.app.pid}"
        assert group == self.service_pid, f"the service runs in the tray's process group {group}"
        self.ok("no service ran: the tray started one",
                f"pid {self.service_pid} (parent: the tray, its own process group) "
                f"{(time.monotonic() - start) * 1000:.0f} ms after launch")

    def operational(self):
        props = item_properties(self.item)
        log(f"    IconName={props['IconName']!r} IconThemePath={props.get('IconThemePath')!r} "
            f"Menu={props['Menu']!r}")
        assert props["Menu"], "the item has no menu"
        wanted = ("Open dashboard", "Open status page", "Check now",
                  "Pause notifications for 1 hour", STOP_SERVICE, "Quit Claude Status")
        # Until the service's first snapshot the menu is the tray's own (connecting); then the
        # whole menu.
        labels, took = wait_until(
            "the full menu",
            lambda: (lambda ls: ls if all(w in ls for w in wanted) else None)(
                [label for _, label, _ in menu_entries(self.item) if label]),
            10,
        )
        log(f"    menu after {took:.2f} s: {labels}")
        gateway_line = f"Gateway on 127.0.0.1:{self.gateway_port}"
        labels, took = wait_until(
            f"the menu line {gateway_line!r}",
            lambda: (lambda ls: ls if gateway_line in ls else None)(
                [label for _, label, _ in menu_entries(self.item) if label]),
            10,
        )
        self.ok("menu shows the gateway", f"{gateway_line!r} after {took:.2f} s")
        label, took = wait_until(
            "the first menu line to say Operational",
            lambda: (lambda l: l if l and l.startswith("Operational") else None)(first_label(self.item)),
            20,
        )
        self.ok("menu says Operational", f"{label!r} after {took:.2f} s")
        line, took = wait_until(
            f"a menu line for {PINNED_NAME}",
            lambda: label_starting(self.item, f"{PINNED_NAME}: operational"), 10,
        )
        labels = [label for _, label, _ in menu_entries(self.item) if label]
        assert NOT_WATCHED not in labels, f"the menu says overloads are not watched: {labels}"
        self.ok("menu shows the pinned model", f"{line!r} after {took:.2f} s")
        (path, rgb), took = wait_until("the icon to turn green",
                                       lambda: is_color(self.item, "operational"), 10)
        x, y = 32, 5
        cross = convert_pixel(path, x, y)
        self.ok("icon is green", f"{hex_rgb(rgb)} in {os.path.basename(path)}; convert p{{{x},{y}}} = {hex_rgb(cross)}")

    def probe_cost(self):
        """The first launch with a key says once what the per-model probe costs a day."""
        self.require_app()
        call, took = wait_until(
            "a Notify 'Per-model probe on: about $… a day'",
            lambda: find_notify(self.monitor_log, "Per-model probe on: about $",
                                f"{PINNED_NAME} every", "turn it off in Settings"), 20,
        )
        assert call["summary"].endswith(" a day"), call
        self.ok("probe cost notification sent", f"{call['summary']!r} / {call['body']!r}")
        shown, took = wait_until("the settings to remember it",
                                 lambda: stored_settings().get("probe_cost_notice_shown"), 5)
        self.ok("probe cost notice remembered", "probe_cost_notice_shown = true in settings.json")
        run(["dunstctl", "close-all"], check=False)

    def start_claude_code(self):
        """Starts the real Claude Code on one turn through the app's gateway, with its default
        retries; records why it could not start instead of raising, so step 4 still checks the
        app and step 4a fails with the reason."""
        error = os.environ.get("E2E_CLAUDE_ERROR")
        if error or not CLAUDE_BIN:
            self.claude = {"error": f"Claude Code {CLAUDE_CODE_VERSION} could not be installed: {error}"}
            return
        if not os.access(CLAUDE_BIN, os.X_OK):
            self.claude = {"error": f"Claude Code {CLAUDE_CODE_VERSION} is not installed at "
                                    f"{CLAUDE_BIN}: run tests/claude_code/install.sh (run.sh does)"}
            return
        home = os.path.join(E2E_DIR, "claude-code-home")
        work = os.path.join(home, "project")
        os.makedirs(work, exist_ok=True)
        env = claude_code_env(home, f"http://127.0.0.1:{self.gateway_port}")
        version = run([CLAUDE_BIN, "--version"], timeout=30, check=False).stdout.strip()
        if version.split()[:1] != [CLAUDE_CODE_VERSION]:
            self.claude = {"error": f"{CLAUDE_BIN} is not Claude Code {CLAUDE_CODE_VERSION}: "
                                    f"it says {version!r}"}
            return
        self.claude = {"version": version, "seen": {}, "wall_start": time.time(),
                       "start": time.monotonic(), "out": os.path.join(E2E_DIR, "claude-code.json")}
        with open(self.claude["out"], "wb") as out:
            self.claude["proc"] = self.procs.start(
                "claude code",
                [CLAUDE_BIN, "-p", "say hi", "--output-format", "json", "--model", CLAUDE_MODEL],
                log_path=os.path.join(E2E_DIR, "claude-code.log"), stdout=out, env=env, cwd=work,
                group=True,
            )
        log(f"    Claude Code {version} started (pid {self.claude['proc'].pid}) on "
            f"{env['ANTHROPIC_BASE_URL']}, model {CLAUDE_MODEL}")

    def claude_mark(self, what):
        """Notes, once, that the app showed `what` now: the seconds since Claude Code started and
        whether it still ran. Called just after the app was seen to show it, so "still running"
        means it had not given up when the app said so."""
        proc = (self.claude or {}).get("proc")
        if proc is not None and what not in self.claude["seen"]:
            self.claude["seen"][what] = (time.monotonic() - self.claude["start"], proc.poll() is None)

    def overload(self):
        """One model overloaded on /v1/messages while the others and GET /v1/models answer: the
        per-model probe sees it, and so does the gateway, which carries the real Claude Code's
        turn to that model (started here, judged in step 4a); the menu names the model, and so
        does the notification."""
        self.require_app()
        self.sim.scenario("model-overload", PINNED_MODEL)
        state = self.sim.advance(240)
        log(f"    simulator: {state.get('scenario')} for {state.get('overload_model')} at "
            f"{state.get('story_time_seconds')} s, phase {state.get('phase')!r}")
        # After the switch, so that Claude Code's first request already meets the overload.
        self.start_claude_code()
        start = time.monotonic()
        label, took = wait_until(
            "the first menu line to say Overloaded",
            lambda: (lambda l: l if l and l.startswith("Overloaded") else None)(first_label(self.item)),
            20,
        )
        self.ok("menu says Overloaded", f"{label!r} after {took:.2f} s")
        line, took = wait_until(
            f"the menu line '{PINNED_NAME}: overloaded…'",
            lambda: label_starting(self.item, f"{PINNED_NAME}: overloaded, 529 on"), 10,
        )
        self.claude_mark("line")
        self.ok("menu line names the model", f"{line!r}")
        log(f"    menu: {[label for _, label, _ in menu_entries(self.item) if label]}")
        (_, rgb), took = wait_until("the icon to turn orange",
                                    lambda: is_color(self.item, "overloaded"), 20)
        self.ok("icon is orange", f"{hex_rgb(rgb)} after {time.monotonic() - start:.2f} s")
        title = f"Claude {PINNED_NAME} overloaded"
        call, took = wait_until(
            f"a Notify with {title!r} and '529'",
            lambda: find_notify(self.monitor_log, title, "529"), 20,
        )
        self.claude_mark("notification")
        self.ok("overload notification names the model",
                f"{call['summary']!r} / {call['body']!r} after {time.monotonic() - start:.2f} s")
        # dunst draws the notification a moment after the call; give it a short, bounded wait.
        wait_until("dunst to show it", lambda: dunst_showing() >= 1, 5)
        path = screenshot("tray-overloaded.png", crop=TOP_RIGHT)
        self.ok("screenshot", path)

    def recover(self):
        self.require_app()
        # Claude Code must not keep sending overloaded turns (step 4a stops it; this covers a
        # step 4a that did not get there).
        if self.claude and "proc" in self.claude:
            stop(self.claude["proc"])
        run(["dunstctl", "close-all"], check=False)
        self.sim.scenario("healthy")
        start = time.monotonic()
        label, took = wait_until(
            "the first menu line to say Operational again",
            lambda: (lambda l: l if l and l.startswith("Operational") else None)(first_label(self.item)),
            30,
        )
        self.ok("menu says Operational again", f"{label!r} after {took:.2f} s")
        (_, rgb), _ = wait_until("the icon to turn green",
                                 lambda: is_color(self.item, "operational"), 10)
        self.ok("icon is green again", f"{hex_rgb(rgb)} after {time.monotonic() - start:.2f} s")
        line, _ = wait_until(
            f"the menu line '{PINNED_NAME}: operational…'",
            lambda: label_starting(self.item, f"{PINNED_NAME}: operational"), 10,
        )
        self.ok("menu line says the model answers again", f"{line!r}")
        title = f"Claude {PINNED_NAME} recovered"
        call, _ = wait_until(
            f"a Notify with {title!r}",
            lambda: find_notify(self.monitor_log, title), 30,
        )
        self.ok("recovery notification sent",
                f"{call['summary']!r} / {call['body']!r} after {time.monotonic() - start:.2f} s")
        wait_until("dunst to show it", lambda: dunst_showing() >= 1, 5)
        path = screenshot("tray-recovered.png", crop=TOP_RIGHT)
        self.ok("screenshot", path)

    def claude_code(self):
        """The real Claude Code (started in step 4) sent its turn through the app's gateway while
        its model was overloaded: the menu line and the notification named the model while it was
        still retrying, before it gave up, and the gateway metered its attempts. Then it is
        stopped, so step 5 sees the model recover."""
        self.require_app()
        if self.claude is None:
            raise AssertionError("Claude Code was not started (step 4 did not get that far)")
        if "error" in self.claude:
            raise AssertionError(self.claude["error"])
        proc = self.claude["proc"]
        overloaded_title = f"Claude {PINNED_NAME} overloaded"

        def while_retrying(what, probe):
            """`probe`'s value, but only while Claude Code still runs: the process is looked at
            after the probe, so a value seen means the app showed it before Claude Code ended."""
            def check():
                value = probe()
                status = proc.poll()
                if status is not None:
                    with open(self.claude["out"], encoding="utf-8", errors="replace") as f:
                        result = f.read()[-600:]
                    raise Gone(
                        f"Claude Code ended (status {status}) "
                        f"{time.monotonic() - self.claude['start']:.1f} s after its start, before "
                        f"{what}{' (seen only as it ended)' if value else ''}; it printed {result!r}"
                    )
                return value
            return check

        try:
            # Step 4 saw these already when it passed; if it did not, look now, while it retries.
            if "line" not in self.claude["seen"]:
                wait_until(f"the menu line '{PINNED_NAME}: overloaded…' while Claude Code retries",
                           while_retrying("the menu line named the model", lambda: label_starting(
                               self.item, f"{PINNED_NAME}: overloaded")), CLAUDE_WAIT)
                self.claude_mark("line")
            if "notification" not in self.claude["seen"]:
                wait_until(f"a Notify {overloaded_title!r} while Claude Code retries",
                           while_retrying("the notification", lambda: find_notify(
                               self.monitor_log, overloaded_title)), CLAUDE_WAIT)
                self.claude_mark("notification")
            # The app must have seen Claude Code's own attempts on its gateway, as the user's
            # traffic, not only its probes' answers.
            (requests, overloaded), _ = wait_until(
                f"the gateway's records of Claude Code's 529s on {CLAUDE_MODEL}",
                while_retrying("the gateway recorded its 529s", lambda: (
                    lambda r: r if r[1] >= 1 else None)(
                        gateway_attempts(CLAUDE_MODEL, self.claude["wall_start"]))),
                15,
            )
            running = time.monotonic() - self.claude["start"]
        finally:
            stop(proc)
        line_at, line_alive = self.claude["seen"]["line"]
        notify_at, notify_alive = self.claude["seen"]["notification"]
        assert line_alive, (f"Claude Code had ended when the menu line named the model "
                            f"({line_at:.2f} s after its start)")
        assert notify_alive, (f"Claude Code had ended when the notification came "
                              f"({notify_at:.2f} s after its start)")
        self.ok("Claude Code still retrying when the menu line named the model",
                f"{line_at:.2f} s after Claude Code started")
        self.ok("Claude Code still retrying when the notification came",
                f"{notify_at:.2f} s after Claude Code started")
        self.ok("Claude Code's attempts went through the gateway",
                f"{requests} request{'' if requests == 1 else 's'} to {CLAUDE_MODEL} in the app's "
                f"ledger, {overloaded} answered 529, {running:.2f} s after Claude Code started; it "
                "was still retrying, then stopped")

    def own_traffic(self):
        """A burst of overloads in the user's own traffic through the gateway turns the tray orange
        within seconds, while our probes (GET /v1/models) still get normal answers."""
        self.require_app()
        run(["dunstctl", "close-all"], check=False)
        self.sim.scenario("stream-overload")
        body = json.dumps({
            "model": OWN_MODEL, "max_tokens": 5, "stream": True,
            "messages": [{"role": "user", "content": "hi"}],
        }).encode()
        start = time.monotonic()
        overloaded = 0
        for _ in range(OWN_BURST):
            request = urllib.request.Request(
                f"http://127.0.0.1:{self.gateway_port}/v1/messages", data=body, method="POST",
                headers={"content-type": "application/json", "anthropic-version": "2023-06-01",
                         "x-api-key": "sk-ant-e2e-simulator-only"},
            )
            # A streamed overload is a 529, or a 200 whose stream ends in an overload event, in
            # turn, as the API answers.
            try:
                with urllib.request.urlopen(request, timeout=10) as reply:
                    overloaded += b"overloaded_error" in reply.read()
            except urllib.error.HTTPError as error:
                overloaded += error.code == 529 and b"overloaded_error" in error.read()
        assert overloaded == OWN_BURST, f"{overloaded} of {OWN_BURST} requests were overloaded"
        sent = time.monotonic() - start
        label, took = wait_until(
            "the first menu line to say Overloaded from our own traffic",
            lambda: (lambda l: l if l and l.startswith("Overloaded") else None)(first_label(self.item)),
            15,
        )
        self.ok("own 529s: menu says Overloaded",
                f"{label!r} {took:.2f} s after {OWN_BURST} streams sent in {sent:.2f} s")
        line, _ = wait_until(
            f"the menu line '{OWN_NAME}: overloaded…'",
            lambda: label_starting(self.item, f"{OWN_NAME}: overloaded, 529 on"), 10,
        )
        self.ok("own 529s: menu line names the model", f"{line!r}")
        (_, rgb), took = wait_until("the icon to turn orange",
                                    lambda: is_color(self.item, "overloaded"), 10)
        self.ok("own 529s: icon is orange", f"{hex_rgb(rgb)} after {time.monotonic() - start:.2f} s")
        self.sim.scenario("healthy")

    def dashboard(self):
        """"Open dashboard" starts a dashboard process (the same binary with --dashboard) that
        shows the window; a second "Open" only brings it to the front; closing the window ends
        that process, and the tray, which never made a webview, keeps running."""
        self.require_app()
        assert not dashboard_windows(), "a dashboard window is open before the click"
        tray_rss = rss_mib(self.app.pid)
        before = os.path.join(E2E_DIR, "before-dashboard.png")
        run([IMPORT, "-window", "root", before], timeout=20)
        windows, took, clicks = click_until(
            self.item, "Open dashboard", dashboard_windows, 20
        )
        window = windows[0]
        owner = window_pid(window)
        pids = dashboard_pids()
        assert len(pids) == 1, f"dashboard processes: {pids}"
        dashboard = pids[0]
        assert owner in (dashboard, None), f"the window belongs to {owner}, not the dashboard {dashboard}"
        assert proc_stat(dashboard)[1] == self.app.pid, "the dashboard was not started by the tray"
        self.ok("Open dashboard starts a dashboard process with a window",
                f"pid {dashboard}, window {window} after {took:.2f} s, {clicks} click(s)")
        run(["xdotool", "windowmove", "--sync", str(window), "40", "60"], check=False)
        path = screenshot_settled("dashboard.png", window, before)
        self.ok("screenshot", path)
        helpers = webkit_children(self.app.pid)
        assert not helpers, f"the tray has WebKit processes of its own: {helpers}"
        self.ok("the tray makes no webview",
                f"no WebKit child of the tray; its RSS {tray_rss:.0f} MiB, the dashboard's "
                f"{rss_mib(dashboard):.0f} MiB")
        # A second "Open" starts a second dashboard process that hands over to the first (the
        # single-instance rule of its mode) and exits; one window stays.
        opened_re = r"opened the dashboard \(pid (\d+)\)"
        closed_re = r"the dashboard \(pid (\d+)\) closed"
        opened = set(log_pids(self.app_log, opened_re))

        def handed_over():
            started = set(log_pids(self.app_log, opened_re)) - opened
            return started and started <= set(log_pids(self.app_log, closed_re))

        _, took, clicks = click_until(self.item, "Open dashboard", handed_over, 15)
        assert dashboard_pids() == [dashboard], f"dashboard processes: {dashboard_pids()}"
        assert len(dashboard_windows()) == 1, f"dashboard windows: {dashboard_windows()}"
        self.ok("a second Open focuses the open dashboard",
                f"the second process exited with status 0 after {took:.2f} s; one window")
        # Close it as a window manager's close button would (WM_DELETE_WINDOW); see close_window.
        closed_at = time.monotonic()
        close_window(window)
        _, took = wait_until("the dashboard window to go", lambda: not dashboard_windows(), 10)
        self.ok("dashboard closed", f"after {took:.2f} s")
        # Its process ends with status 0 (the tray reaps it and logs how it ended).
        def ended():
            with open(self.app_log, encoding="utf-8", errors="replace") as f:
                bad = re.search(rf"the dashboard \(pid {dashboard}\) ended.*", f.read())
            if bad:
                raise Gone(bad.group(0))
            return dashboard in log_pids(self.app_log, closed_re)

        wait_until("the dashboard process to end with status 0", ended, 10, interval=0.02)
        exited = time.monotonic() - closed_at
        assert not alive(dashboard), f"the dashboard process {dashboard} still runs"
        log(f"    dashboard process exit: {exited:.2f} s after WM_DELETE_WINDOW")
        self.ok("the dashboard process exits when its window closes",
                f"status 0, {exited:.2f} s after the close")
        # The app must stay in the tray: still running, item still registered, menu still served.
        # Give it a moment to (wrongly) exit: poll for 2 s that it does not.
        end = time.monotonic() + 2
        while time.monotonic() < end:
            self.require_app()
            time.sleep(0.1)
        assert find_item(self.app.pid), "the tray item is gone after closing the dashboard"
        assert first_label(self.item), "the menu is gone after closing the dashboard"
        self.ok("app still running in the tray after the dashboard closed",
                f"its RSS {rss_mib(self.app.pid):.0f} MiB")

    def second_instance(self):
        self.require_app()
        start = time.monotonic()
        second = subprocess.Popen(
            [APP_BIN], env=self.app_env(), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        try:
            output, _ = second.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            second.kill()
            output, _ = second.communicate()
            raise AssertionError(f"the second instance still runs after 10 s: {output[-2000:]!r}")
        took = time.monotonic() - start
        assert second.returncode == 0, f"the second instance exited with {second.returncode}: {output[-2000:]!r}"
        self.ok("second instance exits", f"status 0 after {took:.2f} s")
        windows, took = wait_until("the dashboard opened by the first instance",
                                   dashboard_windows, 15)
        pids = dashboard_pids()
        assert len(pids) == 1 and proc_stat(pids[0])[1] == self.app.pid, (
            f"dashboard processes {pids}, not one started by the tray {self.app.pid}")
        self.ok("first instance opens its dashboard", f"window {windows[0]} after {took:.2f} s")
        assert service_pids() == [self.service_pid], f"services: {service_pids()}"
        close_window(windows[0])
        wait_until("that dashboard to end", lambda: not dashboard_pids(), 10)
        self.require_app()

    def quit_tray_only(self):
        """Quit ends the tray only: the service and its gateway stay, and the user's traffic keeps
        flowing through it."""
        self.require_app()
        start = time.monotonic()
        click_until(self.item, "Quit Claude Status", lambda: self.app.poll() is not None, 5)
        took = time.monotonic() - start
        status = self.app.poll()
        assert status == 0, f"the app exited with status {status}"
        self.ok("Quit exits the tray", f"status 0 after {took:.2f} s")
        _, took = wait_until("the tray item to unregister", lambda: not registered_items(), 5)
        self.ok("tray item gone", f"after {took:.2f} s")
        assert alive(self.service_pid), f"the service (pid {self.service_pid}) ended with the tray"
        assert service_pids() == [self.service_pid], f"services: {service_pids()}"
        statuses = [self.gateway_request() for _ in range(5)]
        assert statuses == [200] * 5, f"the gateway answered {statuses}"
        self.ok("the service and its gateway keep running",
                f"service pid {self.service_pid}; 5 requests through the gateway answered 200")

    def gateway_request(self):
        """One turn of the user's own traffic through the gateway; its HTTP status."""
        body = json.dumps({"model": OWN_MODEL, "max_tokens": 5,
                           "messages": [{"role": "user", "content": "hi"}]}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.gateway_port}/v1/messages", data=body, method="POST",
            headers={"content-type": "application/json", "anthropic-version": "2023-06-01",
                     "x-api-key": "sk-ant-e2e-simulator-only"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:
                reply.read()
                return reply.status
        except urllib.error.HTTPError as error:
            return error.code

    def restart_tray(self):
        """A new tray attaches to the running service (it starts none) and shows the right icon
        at once."""
        start = time.monotonic()
        self.app = self.procs.start("app again", [APP_BIN], log_path=self.app_log, env=self.app_env())
        self.item, took = wait_until(
            "the tray item to register", lambda: self.require_app() or find_item(self.app.pid), 20,
            interval=0.01,
        )
        registered = time.monotonic() - start
        (_, rgb), _ = wait_until("the icon to be green",
                                 lambda: is_color(self.item, "operational"), 10, interval=0.01)
        coloured = time.monotonic() - start
        label = first_label(self.item)
        assert label and label.startswith("Operational"), f"the first line says {label!r}"
        log(f"    tray start to the right icon: {coloured * 1000:.0f} ms "
            f"(item registered after {registered * 1000:.0f} ms)")
        assert coloured <= 1.0, f"the icon was right only {coloured:.2f} s after the start"
        self.ok("restarted tray attaches and shows the right icon",
                f"{hex_rgb(rgb)} {coloured * 1000:.0f} ms after launch")
        assert service_pids() == [self.service_pid], (
            f"services {service_pids()}: the tray started one instead of attaching to {self.service_pid}")
        self.ok("it attached to the running service", f"pid {self.service_pid}, none started")

    def kill_service(self):
        """SIGKILL to the service: the tray says so at once (grey, never the last green), starts
        it again, and recovers without user action."""
        self.require_app()
        start = time.monotonic()
        os.kill(self.service_pid, signal.SIGKILL)
        label, took = wait_until("the menu to say the service is not running",
                                 lambda: (lambda l: l if l == NOT_RUNNING else None)(first_label(self.item)),
                                 10, interval=0.02)
        (_, rgb), _ = wait_until("the icon to turn grey", lambda: is_color(self.item, "unknown"), 5)
        self.ok("the tray shows the service is gone",
                f"{label!r}, {hex_rgb(rgb)} after {time.monotonic() - start:.2f} s")
        assert "Restart service" in [l for _, l, _ in menu_entries(self.item)], "no Restart service item"
        old = self.service_pid
        pids, _ = wait_until("a new service process", lambda: [p for p in service_pids() if p != old],
                             15, interval=0.05)
        self.service_pid = pids[0]
        assert proc_stat(self.service_pid)[1] == self.app.pid, "the new service is not the tray's"
        self.ok("the tray starts the service again",
                f"pid {self.service_pid} after {time.monotonic() - start:.2f} s")
        label, _ = wait_until(
            "the first menu line to say Operational again",
            lambda: (lambda l: l if l and l.startswith("Operational") else None)(first_label(self.item)),
            20,
        )
        (_, rgb), _ = wait_until("the icon to turn green", lambda: is_color(self.item, "operational"), 10)
        statuses, _ = wait_until("the gateway to answer again",
                                 lambda: (lambda st: st if st == 200 else None)(self.gateway_request()), 10)
        self.ok("recovered without user action",
                f"{label!r}, {hex_rgb(rgb)}, gateway answers, {time.monotonic() - start:.2f} s after the kill")

    def stop_service(self):
        """"Stop service" stops the service and its gateway, and the tray does not start it
        again."""
        self.require_app()
        pid = self.service_pid
        start = time.monotonic()
        click_until(self.item, STOP_SERVICE, lambda: not alive(pid), 15)
        label, _ = wait_until("the menu to say the service stopped",
                              lambda: (lambda l: l if l == STOPPED else None)(first_label(self.item)), 10)
        (_, rgb), _ = wait_until("the icon to turn grey", lambda: is_color(self.item, "unknown"), 5)
        self.ok("Stop service stops it", f"{label!r}, {hex_rgb(rgb)} after {time.monotonic() - start:.2f} s")
        try:
            self.gateway_request()
            raise AssertionError("the gateway still answers after Stop service")
        except urllib.error.URLError:
            pass
        # Give the supervisor a moment to (wrongly) start it again: poll for 3 s that it does not.
        end = time.monotonic() + 3
        while time.monotonic() < end:
            assert not service_pids(), f"the tray started the service again: {service_pids()}"
            time.sleep(0.1)
        self.ok("the gateway is stopped and the service stays stopped")

    def version_mismatch(self):
        """A service of another protocol version on the socket: the tray says which versions
        differ, in the menu and in one notification, and starts no service of its own."""
        self.require_app()
        self.fake = FakeService(SOCKET)
        start = time.monotonic()
        label, took, clicks = click_until(
            self.item, "Restart service",
            lambda: (lambda l: l if l and l.startswith("Service is version") else None)(first_label(self.item)),
            15,
        )
        log(f"    menu: {[l for _, l, _ in menu_entries(self.item) if l]}")
        assert f"version {FAKE_VERSION} (control protocol {FAKE_PROTOCOL})" in label, label
        assert "this app is " in label and "(protocol 1)" in label, label
        (_, rgb), _ = wait_until("the icon to be grey", lambda: is_color(self.item, "unknown"), 5)
        self.ok("the menu names both versions", f"{label!r}, {hex_rgb(rgb)} after {took:.2f} s")
        call, _ = wait_until("a Notify about the version",
                             lambda: find_notify(self.monitor_log, "Claude Status: the service is another version",
                                                 f"version {FAKE_VERSION}", "this app is"), 10)
        self.ok("a notification says it", f"{call['summary']!r} / {call['body']!r}")
        end = time.monotonic() + 2
        while time.monotonic() < end:
            assert not service_pids(), f"the tray started a service beside another version: {service_pids()}"
            time.sleep(0.1)
        assert self.fake.hellos >= 1, "the fake service heard no hello"
        self.ok("no service started beside it", f"{self.fake.hellos} hello(s) answered with protocol {FAKE_PROTOCOL}")

    def quit(self):
        self.require_app()
        start = time.monotonic()
        click_until(self.item, "Quit Claude Status", lambda: self.app.poll() is not None, 5)
        took = time.monotonic() - start
        status = self.app.poll()
        assert status == 0, f"the app exited with status {status}"
        self.ok("Quit exits the app", f"status 0 after {took:.2f} s")
        _, took = wait_until("the tray item to unregister", lambda: not registered_items(), 5)
        self.ok("tray item gone", f"after {took:.2f} s")
        if self.fake:
            self.fake.close()

    def main(self):
        os.makedirs(E2E_DIR, exist_ok=True)
        log(f"app {APP_BIN}")
        log(f"screenshots go to {SHOT_DIR}")
        steps = [
            ("1. desktop", self.start_desktop),
            ("2. launch", self.launch),
            ("3. operational", self.operational),
            ("3b. probe cost notice", self.probe_cost),
            ("4. one model overloaded", self.overload),
            ("4a. the real Claude Code through the gateway", self.claude_code),
            ("5. recovery", self.recover),
            ("5b. own traffic through the gateway", self.own_traffic),
            ("6. dashboard", self.dashboard),
            ("7. second instance", self.second_instance),
            ("8. quit the tray: the service stays", self.quit_tray_only),
            ("9. restart the tray: it attaches", self.restart_tray),
            ("10. the service killed", self.kill_service),
            ("11. stop the service from the menu", self.stop_service),
            ("12. a service of another version", self.version_mismatch),
            ("13. quit", self.quit),
        ]
        try:
            for index, (name, fn) in enumerate(steps):
                if not self.step(name, fn) and index < 2:
                    # Without the desktop or the item nothing after can be checked.
                    for rest, _ in steps[index + 1 :]:
                        self.fail(rest, "not run")
                    break
        finally:
            self.procs.stop_all()
            # The services the tray started are not ours to wait for, but this run's to end.
            for pid in service_pids() + dashboard_pids():
                try:
                    os.kill(pid, signal.SIGTERM)
                except OSError:
                    pass
            if self.fake:
                self.fake.close()
        print(f"e2e: {self.passed} passed, {self.failed} failed", flush=True)
        return 1 if self.failed else 0


def start_tray(procs, size):
    """Starts the StatusNotifierWatcher, then a visible tray bar at the top of the screen that
    registers with it as the host.

    The watcher runs on its own (`status-notifier-watcher`) rather than inside the bar
    (`gtk-sni-tray-standalone --watcher`): started that way the bar sometimes dies at once with
    "Pattern match failure in do expression at app/Main.hs:177" after an UnknownObject error (its
    host registers before its own watcher has exported its object). The bar is restarted, at
    most 3 times, if it does not come up as the registered host."""
    start = time.monotonic()
    procs.start("watcher", ["status-notifier-watcher"],
                log_path=os.path.join(E2E_DIR, "watcher.log"))
    wait_until("the StatusNotifierWatcher", lambda: name_has_owner(SNI_WATCHER), 15)
    for attempt in range(1, 4):
        bar = procs.start(
            "tray bar",
            ["gtk-sni-tray-standalone", "--top", "--end", "-s", str(size), "-c", "#2b2f36"],
            log_path=os.path.join(E2E_DIR, "tray-bar.log"),
        )

        def host_registered():
            if bar.poll() is not None:
                raise Gone(f"the tray bar exited with status {bar.returncode}")
            reply = busctl("get-property", SNI_WATCHER, "/StatusNotifierWatcher", SNI_WATCHER,
                           "IsStatusNotifierHostRegistered")
            return bool(reply["data"])

        try:
            wait_until("the tray bar to register as host", host_registered, 15)
            log(f"    watcher and tray bar up after {time.monotonic() - start:.2f} s"
                + (f" ({attempt} attempts)" if attempt > 1 else ""))
            return
        except Timeout as e:
            log(f"    the tray bar did not come up ({e}); retrying")
            stop(bar)
    raise AssertionError("the tray bar did not come up in 3 attempts")


def dunst_showing():
    result = run(["dunstctl", "count", "displayed"], check=False)
    try:
        return int(result.stdout.strip())
    except ValueError:
        return 0


def on_signal(signum, _frame):
    # Turn SIGTERM (from run.sh's timeout) into an exception so the finally blocks stop the
    # processes this test started.
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    sys.exit(Test().main())
