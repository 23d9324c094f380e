"""Secrets never reach a file, a log, the metrics or an answer (issue 16, item 7).

One full run of the real service with fake, known secrets: an API key and an Admin API key (the
environment, as a headless machine has them), a subscriber's OAuth token in a request through the
gateway, and three alert channels whose secrets go in through `claude-status alerts secret` into
the service's real store (a Slack webhook URL, a generic webhook's URL and its signing secret, a
PagerDuty routing key), delivering to a local receiver. The simulator overloads the followed model,
so level alerts fire on every channel; test alerts are sent; the gateway carries streamed and
plain requests; a key is given to `set_api_key`. Then every place a secret could land is
searched for every secret, whole and by a distinctive inner part: every byte of the data
directory (the SQLite database and its WAL included) and of HOME, the service's log, the settings
files, both `/metrics` pages, every control call's answer and its event stream for the whole run,
`check --json`, `alerts list`, `service status`, `usage --json` and `watch --json-lines`. None may
appear anywhere but in the one place each secret is kept: the alert secrets in the secret store
(this machine has no Secret Service on D-Bus, so that is `<data_dir>/alert-secrets.json`, which must
be mode 0600), and the receiver that is the channels' destination.

`secrets-keychain` is the same run with a real Secret Service, GNOME Keyring on a private session
bus: the secrets must then all be in the keychain, with no alert-secrets.json at all, and the
keyring's own files (encrypted) are searched like every other file.
"""

import json
import os
import shutil
import re
import socket
import stat
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from e2e_support import free_port, wait_for
from suite import Case, CaseFailed, CaseSkipped

MODEL = "claude-opus-5-5"

API_KEY = "sk-ant-api03-FAKEapiKEYsecretsCase0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH-QQQQ1111AA"
ADMIN_KEY = "sk-ant-admin01-FAKEadminKEYsecretsCase0123456789abcdefghijklmnopqrstuvwxyzABCD-RRRR2222AA"
OAUTH_TOKEN = "sk-ant-oat01-FAKEoauthTOKENsecretsCase0123456789abcdefghijklmnopqrstuvwxyz-SSSS3333AA"
KEYCHAIN_TRY = "sk-ant-api03-FAKEkeychainTRYsecretsCase0123456789abcdefghijklmnopqrstuvw-TTTT4444AA"
SLACK_PATH = "/services/TFAKE0SEC/BFAKE0SEC/FAKEslackTOKENsecretsCase0123"
WEBHOOK_PATH = "/hooks/FAKEwebhookPATHsecretsCase4567"
SIGNING_SECRET = "FAKEsigningSECRETsecretsCase89abcdef"
ROUTING_KEY = "FAKEpdROUTINGkeySecretsCase01234"  # 32 characters, like PagerDuty's


class Receiver:
    """The channels' destination: Slack, the generic webhook and PagerDuty's Events API in one
    server, keeping every POST."""

    def __init__(self):
        self.received = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(min(length, 1 << 20))
                with outer.lock:
                    outer.received.append((self.path, dict(self.headers), body))
                self.send_response(202 if self.path.startswith("/v2/enqueue") else 200)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"status":"success","message":"Event processed","dedup_key":"x"}')

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def paths(self):
        with self.lock:
            return [path for path, _, _ in self.received]

    def bodies(self, prefix):
        with self.lock:
            return [json.loads(body or b"{}") for path, _, body in self.received if path.startswith(prefix)]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Control:
    """A minimal client of the control socket: hello, then calls, one JSON object a line."""

    def __init__(self, path, timeout=15):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.file = self.sock.makefile("rb")
        self.next_id = 0
        self.raw = []
        self._send({"hello": {"protocol": 1, "version": "0.0.0", "role": "cli"}})
        self.hello = self._read()

    def _send(self, frame):
        self.last = frame
        self.sock.sendall(json.dumps(frame).encode() + b"\n")

    def _read(self):
        line = self.file.readline()
        if not line:
            raise CaseFailed(f"the service closed the control connection after {json.dumps(self.last)[:300]}")
        self.raw.append(line.decode(errors="replace"))
        return json.loads(line)

    def call(self, name, args=None):
        self.next_id += 1
        frame = {"id": self.next_id, "call": name}
        if args is not None:
            frame["args"] = args
        self._send(frame)
        return self._read()

    def close(self):
        self.sock.close()


def secrets(receiver):
    """Each secret with the distinctive inner parts searched for as well: a redaction that keeps
    a key's head or tail (or a URL's path) would still leak those."""
    slack_url = receiver.base + SLACK_PATH
    webhook_url = receiver.base + WEBHOOK_PATH
    whole = {
        "api key": API_KEY,
        "admin key": ADMIN_KEY,
        "oauth token": OAUTH_TOKEN,
        "key given to set_api_key": KEYCHAIN_TRY,
        "slack webhook url": slack_url,
        "webhook url": webhook_url,
        "webhook signing secret": SIGNING_SECRET,
        "pagerduty routing key": ROUTING_KEY,
    }
    needles = {}
    for name, value in whole.items():
        needles[name] = value
        core = re.search(r"FAKE[A-Za-z0-9]+", value).group(0)
        needles[f"{name} (inner part)"] = core[:20]
    needles["slack webhook url (path)"] = SLACK_PATH
    needles["webhook url (path)"] = WEBHOOK_PATH
    return whole, needles


def search(blob, needles):
    """The needles found in bytes (also as they would look JSON- or percent-escaped)."""
    found = []
    for name, needle in needles.items():
        forms = {needle.encode(), json.dumps(needle)[1:-1].encode(), urllib.parse.quote(needle, safe="").encode()}
        if any(form in blob for form in forms):
            found.append(name)
    return found


def gateway_traffic(port, count=6):
    """The user's own requests through the gateway: with their API key, streamed and not, and a
    subscriber's OAuth token; to the overloaded model and a healthy one."""
    answers = []
    for i in range(count):
        model = MODEL if i % 2 == 0 else "claude-haiku-4-5"
        body = json.dumps({"model": model, "max_tokens": 8, "stream": i % 3 == 0,
                           "messages": [{"role": "user", "content": "hi"}]}).encode()
        headers = {"content-type": "application/json", "anthropic-version": "2023-06-01"}
        if i % 4 == 3:
            headers["authorization"] = f"Bearer {OAUTH_TOKEN}"
            headers["anthropic-beta"] = "oauth-2025-04-20"
        else:
            headers["x-api-key"] = API_KEY
        request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/messages", data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                answers.append((response.status, response.read()))
        except urllib.error.HTTPError as error:
            answers.append((error.code, error.read()))
    return answers


def full_run(ctx):
    receiver = Receiver()
    try:
        return run_with(ctx, receiver, keychain=False)
    finally:
        receiver.stop()


def keychain_run(ctx):
    for tool in ("dbus-daemon", "gnome-keyring-daemon"):
        if not shutil.which(tool):
            raise CaseSkipped(f"{tool} is not installed (scripts/setup.sh test installs gnome-keyring): `which {tool}` found nothing")
    receiver = Receiver()
    try:
        return run_with(ctx, receiver, keychain=True)
    finally:
        receiver.stop()


def start_secret_service(ctx, env):
    """A private session bus with GNOME Keyring's Secret Service on it, its keyring unlocked with
    a password of this case's, its files under the case's HOME. Returns the bus address."""
    bus = os.path.join(ctx.work, "run", "bus")
    address = f"unix:path={bus}"
    ctx.procs.start("dbus", ["dbus-daemon", "--session", "--nofork", "--nopidfile", f"--address={address}"], env=env)
    wait_for("the session bus", lambda: os.path.exists(bus), 10)
    env["DBUS_SESSION_BUS_ADDRESS"] = address
    log = open(os.path.join(ctx.work, "gnome-keyring.log"), "ab", buffering=0)
    keyring = subprocess.Popen(
        ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
        env=env, stdin=subprocess.PIPE, stdout=log, stderr=log, start_new_session=True,
    )
    keyring.stdin.write(b"case-password")
    keyring.stdin.close()
    # Stopped with the case's other children.
    ctx.procs.procs.append(("gnome-keyring", keyring, log))

    def serving():
        ctx.procs.check_alive()
        probe = subprocess.run(
            ["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
             "org.freedesktop.DBus.NameHasOwner", "string:org.freedesktop.secrets"],
            env=env, capture_output=True, text=True, timeout=5,
        )
        return "boolean true" in probe.stdout
    wait_for("the Secret Service on the bus", serving, 15)
    return address


def run_with(ctx, receiver, keychain):
    whole, needles = secrets(receiver)
    sim = ctx.procs.start("simulator", [ctx.sim, "--scenario", "model-overload", "--speed", "20"],
                          ready=r"listening on (http://\S+)")
    sim_url = sim.group(1).rstrip("/")
    data_dir = os.path.join(ctx.work, "data")
    env = ctx.env(
        ANTHROPIC_API_KEY=API_KEY,
        ANTHROPIC_ADMIN_KEY=ADMIN_KEY,
        ANTHROPIC_BASE_URL=sim_url,
        CLAUDE_STATUS_STATUS_URL=sim_url,
        CLAUDE_STATUS_DATA_DIR=data_dir,
        CLAUDE_STATUS_OFFLINE="true",
        CLAUDE_STATUS_PROBE_INTERVAL="1s",
        CLAUDE_STATUS_MODELS=MODEL,
        # The most a user would turn on to troubleshoot: every line of ours, and the libraries' debug.
        CLAUDE_STATUS_LOG="debug,claude_status_engine=trace,claude_status_cli=trace,claude_status_core=trace",
    )
    os.makedirs(os.path.join(env["CLAUDE_CONFIG_DIR"], "projects"), exist_ok=True)
    if keychain:
        start_secret_service(ctx, env)
    else:
        # No Secret Service: a session bus that is not there, so the keychain fails as on a server.
        env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    sock = os.path.join(data_dir, "control.sock")
    ctx.procs.start("service", [ctx.cli, "service", "run", "--model", MODEL], env=env)
    wait_for("the service's socket", lambda: (ctx.procs.check_alive(), os.path.exists(sock))[1], 30)
    control = Control(sock)

    # The gateway, /metrics and the Admin API source, through the settings.
    gateway_port, metrics_port = free_port(), free_port()
    view = control.call("get_settings")["result"]
    settings = dict(view["settings"], gateway=True, gateway_port=gateway_port,
                    metrics_addr=f"127.0.0.1:{metrics_port}", admin_api=True, notifications=True)
    reply = control.call("set_settings", {"settings": settings})
    if "error" in reply:
        raise CaseFailed(f"set_settings refused: {reply}")

    # The channels, through the CLI as a user adds them; their secrets from standard input.
    def cli(*argv, stdin=None, codes=(0,)):
        result = subprocess.run([ctx.cli, *argv], input=stdin, capture_output=True, text=True, env=env, timeout=60)
        outputs.append(f"$ {' '.join(argv)}\n{result.stdout}\n{result.stderr}")
        if result.returncode not in codes:
            raise CaseFailed(f"claude-status {' '.join(argv)} exited {result.returncode}: {result.stderr[-1500:]}")
        return result.stdout

    outputs = []
    cli("alerts", "add", "slack", "team", "--name", "Team Slack")
    cli("alerts", "add", "webhook", "hook", "--name", "Signed webhook")
    cli("alerts", "add", "pagerduty", "pager", "--name", "On call", "--endpoint", f"{receiver.base}/v2/enqueue")
    cli("alerts", "secret", "team", stdin=whole["slack webhook url"] + "\n")
    cli("alerts", "secret", "hook", stdin=whole["webhook url"] + "\n")
    cli("alerts", "secret", "hook", "--auth", stdin=SIGNING_SECRET + "\n")
    cli("alerts", "secret", "pager", stdin=ROUTING_KEY + "\n")

    # A key through set_api_key: the missing keychain's refusal must not repeat it, and a keychain
    # that takes it must keep it to itself.
    keychain_reply = control.call("set_api_key", {"key": KEYCHAIN_TRY})

    # A subscriber for the whole run: every event and snapshot the front ends get.
    stream = Control(sock, timeout=2)
    stream._send({"id": 1, "call": "subscribe"})
    events = []

    stop = threading.Event()

    def follow_bounded():
        while not stop.is_set():
            try:
                line = stream.file.readline()
            except (OSError, socket.timeout):
                continue
            if not line:
                break
            events.append(line.decode(errors="replace"))
    follower = threading.Thread(target=follow_bounded, daemon=True)
    follower.start()

    wait_for("the gateway listening", lambda: socket.create_connection(("127.0.0.1", gateway_port), timeout=1).close() or True, 30)
    answers = gateway_traffic(gateway_port)
    cli("alerts", "test")

    # The overload: level alerts on all three channels.
    def alerted():
        ctx.procs.check_alive()
        paths = receiver.paths()
        level = [b for b in receiver.bodies("/v2/enqueue") if b.get("event_action") == "trigger"
                 and "test" not in json.dumps(b).lower()]
        return (any(p.startswith(SLACK_PATH) for p in paths) and any(p.startswith(WEBHOOK_PATH) for p in paths)
                and level)
    wait_for("overload alerts on every channel", alerted, 60, every=0.5)
    answers += gateway_traffic(gateway_port, count=4)

    # Everything a front end can read.
    dumps = {}
    for name, args in [("version", None), ("snapshot", {}), ("snapshot", {"model": MODEL}), ("get_settings", None),
                       ("gateway", None), ("history", {"range": "1h"}), ("probe_series", {"range": "1h"}),
                       ("probe_series", {"range": "1h", "model": MODEL}), ("incidents", {"limit": 50}),
                       ("probe_cost", None), ("alert_channels", None), ("provider_keys", None),
                       ("usage_blocks", None), ("status_line_state", None), ("test_alert", {"channel": "hook"})]:
        dumps[f"{name} {json.dumps(args)}"] = control.call(name, args)
    for incident in (dumps['incidents {"limit": 50}'].get("result") or []):
        dumps[f"incident {incident.get('id')}"] = control.call("incident", {"id": incident.get("id")})
    metrics = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).read()
    gateway_metrics = urllib.request.urlopen(f"http://127.0.0.1:{gateway_port}/metrics", timeout=10).read()
    cli("check", "--json", codes=range(0, 64))
    cli("alerts", "list")
    cli("service", "status")
    cli("usage", "--json")
    statusline = subprocess.run([ctx.cli, "statusline"], input=json.dumps({"model": {"id": MODEL}, "session_id": "s"}),
                                capture_output=True, text=True, env=env, timeout=30)
    outputs.append(statusline.stdout + statusline.stderr)
    watch_out = run_for(ctx, [ctx.cli, "watch", "--json-lines", "--interval", "1s", "--no-usage", "--model", MODEL],
                        dict(env, CLAUDE_STATUS_DATA_DIR=os.path.join(ctx.work, "watch-data")), seconds=6)
    stop.set()
    stream.close()
    control.close()
    follower.join(timeout=5)

    # The data directory while the service runs, the WAL and its index included (a stopped
    # service checkpoints them away).
    live = {}
    for folder, _, files in os.walk(data_dir):
        for name in files:
            path = os.path.join(folder, name)
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as f:
                    live[f"{os.path.relpath(path, ctx.work)} (while running)"] = f.read()
    if not any(name.endswith("-wal (while running)") for name in live):
        raise CaseFailed(f"no WAL to search while the service ran: {sorted(live)}")

    # Stop the service so that everything it would write is written.
    cli("service", "stop")
    wait_for("the service to exit", lambda: not os.path.exists(sock), 20)
    time.sleep(0.5)

    # Where the secrets must be: the keychain when there is one (and then no file at all), else
    # the 0600 file, with exactly the alert secrets.
    store = os.path.join(data_dir, "alert-secrets.json")
    channels = dumps["alert_channels null"].get("result", {}).get("channels", [])
    sources = {c["channel"]["id"]: (c.get("target"), c.get("auth")) for c in channels}
    where = "keychain" if keychain else "file"
    if sources.get("team", (None,))[0] != where or sources.get("hook") != (where, where) or sources.get("pager", (None,))[0] != where:
        raise CaseFailed(f"the dashboard does not say the secrets are in the {where}: {sources}")
    if keychain:
        if os.path.exists(store):
            raise CaseFailed("with a keychain, alert-secrets.json was written anyway")
        settings_view = dumps["get_settings null"].get("result", {})
        if settings_view.get("api_key_source") != "keychain":
            raise CaseFailed(f"the key given to set_api_key is not the keychain's: {settings_view.get('api_key_source')}")
        keyrings = os.path.join(ctx.work, "home", ".local", "share", "keyrings")
        if not any(name.endswith(".keyring") for name in os.listdir(keyrings)):
            raise CaseFailed(f"GNOME Keyring wrote no keyring file in {keyrings}")
    else:
        if not os.path.exists(store):
            raise CaseFailed("the alert secrets are not in <data_dir>/alert-secrets.json (and this machine has no keychain)")
        mode = stat.S_IMODE(os.stat(store).st_mode)
        if mode != 0o600:
            raise CaseFailed(f"alert-secrets.json is mode {mode:o}, not 600")
        with open(store, "rb") as f:
            kept = f.read()
        expected_in_store = {"slack webhook url", "webhook url", "webhook signing secret", "pagerduty routing key"}
        in_store = set(search(kept, {k: whole[k] for k in whole}))
        if in_store != expected_in_store:
            raise CaseFailed(f"the secret store holds {sorted(in_store)}, expected {sorted(expected_in_store)}")

    # Where they must not be.
    leaks = {}
    scanned_files = 0
    scanned_bytes = 0
    for top in (data_dir, os.path.join(ctx.work, "home"), os.path.join(ctx.work, "watch-data"), os.path.join(ctx.work, "run")):
        for folder, _, files in os.walk(top):
            for name in files:
                path = os.path.join(folder, name)
                if path == store or not os.path.isfile(path) or os.path.islink(path):
                    continue
                with open(path, "rb") as f:
                    blob = f.read()
                scanned_files += 1
                scanned_bytes += len(blob)
                found = search(blob, needles)
                if found:
                    leaks[os.path.relpath(path, ctx.work)] = found
    places = {
        "service log": open(os.path.join(ctx.work, "service.log"), "rb").read(),
        "/metrics": metrics,
        "gateway /metrics": gateway_metrics,
        "control answers": "".join(control.raw).encode(),
        "control event stream": "".join(events).encode(),
        "CLI output": "\n".join(outputs).encode(),
        "watch --json-lines": watch_out,
        "set_api_key's answer": json.dumps(keychain_reply).encode(),
    }
    places.update({k: v for k, v in live.items() if not k.startswith(os.path.relpath(store, ctx.work))})
    for place, blob in places.items():
        found = search(blob, needles)
        if found:
            leaks[place] = found
    if leaks:
        raise CaseFailed(f"secrets found: {json.dumps(leaks, indent=1)}")

    # The run really used every secret: the deliveries reached their destinations, signed, and the
    # gateway forwarded the user's requests.
    hook_posts = [h for p, h, _ in receiver.received if p.startswith(WEBHOOK_PATH)]
    if not any(any(k.lower().startswith("x-claude-status-signature") or "signature" in k.lower() for k in h) for h in hook_posts):
        raise CaseFailed(f"the webhook deliveries were not signed: {hook_posts[:1]}")
    if not any(b.get("routing_key") == ROUTING_KEY for b in receiver.bodies("/v2/enqueue")):
        raise CaseFailed("PagerDuty was not sent the routing key")
    if not any(status == 200 for status, _ in answers):
        raise CaseFailed(f"no request went through the gateway: {[s for s, _ in answers]}")
    if keychain and "error" in keychain_reply:
        raise CaseFailed(f"the Secret Service refused the key: {keychain_reply}")
    if not keychain and "error" not in keychain_reply:
        raise CaseFailed(f"the keychain took the key on a machine without one: {keychain_reply}")
    # The Admin API key was used: this month's cost comes from the Admin API's report.
    if '"admin_api"' not in json.dumps(dumps["snapshot {}"]):
        raise CaseFailed("the Admin API was not read (the month's cost source is not admin_api)")
    if len(events) < 3:
        raise CaseFailed(f"the event stream carried only {len(events)} frames")
    return {
        "faults": 0,
        "secrets": len(whole),
        "places": scanned_files + len(places),
        "bytes_searched": scanned_bytes + sum(len(b) for b in places.values()),
        "deliveries": len(receiver.received),
        "leaks": 0,
    }


def run_for(ctx, argv, env, seconds):
    """Runs argv for `seconds`, then stops it; returns everything it printed."""
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    if b'"level"' not in out:
        raise CaseFailed(f"watch printed no snapshot: {out[-1000:]!r}")
    return out


CASES = [
    Case(
        "secrets-full-run",
        "after a full run (API and Admin keys, an OAuth token through the gateway, Slack, signed "
        "webhook and PagerDuty channels with overload and test alerts delivered), no secret, whole "
        "or in part, is in the data directory (SQLite and WAL bytes included), HOME, the service's "
        "log, the settings, either /metrics, any control answer or event, or the CLI's output; the "
        "alert secrets are only in the 0600 secret store",
        full_run,
        timeout=120,
    ),
    Case(
        "secrets-keychain",
        "the same run with a real Secret Service (GNOME Keyring on a private session bus): every "
        "key and alert secret goes into the keychain, no alert-secrets.json is written, and no "
        "secret is in any file (the keyring's own, encrypted, included), log, answer or event",
        keychain_run,
        timeout=120,
    ),
]
