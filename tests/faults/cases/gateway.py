"""The gateway under abuse (issue 16, item 5): the real `claude-status proxy` (and, for the
settings, the real service) in front of the simulator or a scripted upstream of this file, facing
a connection flood, slowloris heads, oversized heads, request smuggling, a body that never ends,
an upstream that resets mid-stream, a bind beyond loopback, and remote mode's access token.

Every fault is made on real sockets from this process; every wait is bounded. The scripted
upstream (`Upstream`) records each request it gets, so a case can say what reached the API.
"""

import http.client
import json
import os
import resource
import socket
import stat
import struct
import threading
import time

from suite import Case, CaseFailed

KEY = "sk-ant-faults-gateway-key"
TOKEN_HEADER = "x-claude-status-token"


# ---------------------------------------------------------------------------------------------
# Helpers


def raise_nofile(wanted):
    """Raises this process's soft open-files limit (the flood's client side needs one descriptor
    per connection), as far as the hard limit allows; returns the soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < wanted:
        # Root (as CI runs) may raise the hard limit too; the gateway inherits both.
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1024), wanted))
            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        except (ValueError, OSError):
            pass
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def start_proxy(ctx, upstream, *extra, name="proxy", env=None):
    """Starts `claude-status proxy` on a port of its choosing; returns (process, port)."""
    match = ctx.procs.start(
        name,
        [ctx.cli, "proxy", "--port", "0", "--upstream", upstream, *extra],
        env=env or ctx.env(CLAUDE_STATUS_DATA_DIR=ctx.path("data", "x")[:-2], RUST_LOG="info"),
        ready=r"listening on http://[\d.]+:(\d+)",
    )
    port = int(match.group(1))
    proc = [p for n, p, _ in ctx.procs.procs if n == name][-1]
    return proc, port


def start_simulator(ctx):
    match = ctx.procs.start(
        "simulator",
        [ctx.sim, "--scenario", "healthy", "--ttft-ms", "5"],
        env=ctx.env(),
        ready=r"listening on (http://\S+)",
    )
    return match.group(1).rstrip("/")


def message_body(stream=False, model="claude-haiku-4-5"):
    return json.dumps(
        {"model": model, "max_tokens": 5, "stream": stream, "messages": [{"role": "user", "content": "hi"}]}
    ).encode()


def post(port, path="/v1/messages", body=None, headers=None, timeout=10):
    """One request on a new connection; returns (status, headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        h = {"x-api-key": KEY, "anthropic-version": "2023-06-01", "content-type": "application/json"}
        h.update(headers or {})
        conn.request("POST" if body is not None or path == "/v1/messages" else "GET", path, body=body if body is not None else (message_body() if path == "/v1/messages" else None), headers=h)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def get(port, path, headers=None, timeout=10):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def read_response(sock, timeout, probe_close=True):
    """Reads one HTTP/1.1 response from a raw socket: (status, headers, body, closed_after).
    `status` is None when the server closed without answering."""
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while b"\r\n\r\n" not in data:
        if time.monotonic() > deadline:
            raise CaseFailed(f"no response head within {timeout} s (got {data[:200]!r})")
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        except socket.timeout:
            raise CaseFailed(f"no response head within {timeout} s (got {data[:200]!r})")
        if not chunk:
            return None, {}, data, True
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    body = rest[:length]
    closed = headers.get("connection", "").lower() == "close"
    if not closed and probe_close:
        # Whether the server ends the connection now (it must after a refused or ambiguous request).
        sock.settimeout(1.0)
        try:
            closed = sock.recv(1) == b""
        except (socket.timeout, BlockingIOError):
            closed = False
        except ConnectionResetError:
            closed = True
    return status, headers, body, closed


def connect(port, timeout=5):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def percentile(values, p):
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, int(round(p / 100.0 * len(ordered) + 0.5)) - 1))
    return ordered[index]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def soft_nofile(pid):
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                return int(line.split()[3])
    return 0


class Upstream:
    """A scripted API on 127.0.0.1:0 that records every request it gets (request line, headers,
    body). `/v1/messages` answers a small message, or, with header `x-fault: reset-after-events`
    or `reset-mid-event`, a 200 event stream that it cuts with a TCP reset."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.requests = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        conn.settimeout(30)
        buffer = b""
        try:
            while True:
                while b"\r\n\r\n" not in buffer:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, buffer = buffer.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers.setdefault(name.strip().lower(), []).append(value.strip())
                length = int(headers.get("content-length", ["0"])[0])
                if "transfer-encoding" in headers:
                    # The gateway always sends a length; a chunked request would be our own bug.
                    body = b"<chunked>"
                else:
                    while len(buffer) < length:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        buffer += chunk
                    body, buffer = buffer[:length], buffer[length:]
                with self.lock:
                    self.requests.append({"line": lines[0], "headers": headers, "body": body})
                fault = headers.get("x-fault", [""])[0]
                if fault.startswith("reset-"):
                    self._broken_stream(conn, fault)
                    return
                answer = json.dumps(
                    {
                        "id": "msg_faults",
                        "type": "message",
                        "role": "assistant",
                        "model": "claude-haiku-4-5",
                        "content": [{"type": "text", "text": "ok"}],
                        "stop_reason": "end_turn",
                        "usage": {"input_tokens": 3, "output_tokens": 1},
                    }
                ).encode()
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nrequest-id: req_faults\r\n"
                    + f"content-length: {len(answer)}\r\n\r\n".encode()
                    + answer
                )
        except OSError:
            return
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def _broken_stream(self, conn, fault):
        def chunk(data):
            return f"{len(data):x}\r\n".encode() + data + b"\r\n"

        start = (
            'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_reset","type":"message",'
            '"role":"assistant","model":"claude-haiku-4-5","content":[],"stop_reason":null,'
            '"usage":{"input_tokens":3,"output_tokens":1}}}\n\n'
        ).encode()
        delta = (
            'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n'
            'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}\n\n'
        ).encode()
        conn.sendall(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nrequest-id: req_reset\r\n"
            b"transfer-encoding: chunked\r\n\r\n" + chunk(start) + chunk(delta)
        )
        if fault == "reset-mid-event":
            # Half an event: its start, never its end.
            conn.sendall(chunk(b'event: content_block_delta\ndata: {"type":"content_block_delta","ind'))
        time.sleep(0.2)
        # SO_LINGER 0: close() sends a TCP reset, as a dropped upstream connection does.
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    def seen(self):
        with self.lock:
            return list(self.requests)

    def close(self):
        self.sock.close()


# ---------------------------------------------------------------------------------------------
# 5,000 idle connections


def flood(ctx):
    idle = 5000
    if raise_nofile(idle + 1000) < idle + 200:
        raise CaseFailed(f"this process may open only {resource.getrlimit(resource.RLIMIT_NOFILE)[0]} files; the flood needs {idle + 200}")
    upstream = start_simulator(ctx)
    proc, port = start_proxy(ctx, upstream, "--no-history")
    fd_limit = soft_nofile(proc.pid)
    fds_before = open_fds(proc.pid)

    def timed_requests(count):
        latencies, failures = [], 0
        for _ in range(count):
            started = time.monotonic()
            try:
                status, _, _ = post(port, timeout=10)
                if status != 200:
                    failures += 1
            except OSError:
                failures += 1
            latencies.append((time.monotonic() - started) * 1000)
        return latencies, failures

    baseline, failed = timed_requests(50)
    if failed:
        raise CaseFailed(f"{failed} of 50 requests failed before the flood")

    sockets = []
    try:
        for _ in range(idle):
            sockets.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        # Let the gateway accept them all before measuring.
        deadline = time.monotonic() + 20
        while open_fds(proc.pid) < fds_before + idle and time.monotonic() < deadline:
            time.sleep(0.1)
        held = open_fds(proc.pid)
        if held < fds_before + idle:
            raise CaseFailed(f"the gateway holds {held} descriptors, fewer than the {idle} idle connections: the flood did not land")
        cpu_before = cpu_seconds(proc.pid)
        during, failed = timed_requests(200)
        cpu_during = cpu_seconds(proc.pid) - cpu_before
        proc_fds = open_fds(proc.pid)
        if failed:
            raise CaseFailed(f"{failed} of 200 real requests failed during the flood of {idle} idle connections")
        ctx.procs.check_alive()
    finally:
        for s in sockets:
            s.close()
    budget = fd_limit
    if proc_fds >= budget:
        raise CaseFailed(f"the gateway held {proc_fds} descriptors, at its limit of {budget}")
    p99 = percentile(during, 99)
    if p99 > 1000:
        raise CaseFailed(f"real requests' p99 during the flood was {p99:.0f} ms (baseline {percentile(baseline, 99):.0f} ms)")
    return {
        "faults": idle,
        "flood_p99_ms": round(p99, 1),
        "baseline_p99_ms": round(percentile(baseline, 99), 1),
        "fds_held": proc_fds,
        "fd_limit": fd_limit,
        "cpu_s": round(cpu_during, 2),
    }


def over_limit(ctx):
    """Connections over --max-connections are closed at once, the accept loop does not spin, and
    the gateway serves again as soon as the idle ones go."""
    limit, tried = 200, 1000
    raise_nofile(tried + 500)
    upstream = start_simulator(ctx)
    proc, port = start_proxy(ctx, upstream, "--no-history", "--max-connections", str(limit))
    fds_before = open_fds(proc.pid)
    sockets = []
    try:
        for _ in range(tried):
            sockets.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        time.sleep(1.0)
        cpu_before = cpu_seconds(proc.pid)
        time.sleep(2.0)
        cpu_idle = cpu_seconds(proc.pid) - cpu_before
        closed = 0
        for s in sockets:
            s.settimeout(0.0)
            try:
                if s.recv(1) == b"":
                    closed += 1
            except BlockingIOError:
                pass
            except ConnectionResetError:
                closed += 1
        held = open_fds(proc.pid) - fds_before
        if closed < tried - limit - 5:
            raise CaseFailed(f"only {closed} of the {tried - limit} connections over the limit of {limit} were closed")
        if held > limit + 5:
            raise CaseFailed(f"the gateway holds {held} connections' descriptors, over its limit of {limit}")
        if cpu_idle > 0.5:
            raise CaseFailed(f"the gateway used {cpu_idle:.2f} s of CPU in 2 s while full: the accept loop spins")
        ctx.procs.check_alive()
    finally:
        for s in sockets:
            s.close()
    # The idle ones gone, it serves again.
    deadline = time.monotonic() + 10
    while True:
        try:
            status, _, _ = post(port, timeout=5)
            if status == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise CaseFailed("the gateway did not serve again within 10 s of the flood's end")
        time.sleep(0.1)
    return {"faults": tried - limit, "closed_over_limit": closed, "held": held, "cpu_s_while_full": round(cpu_idle, 2)}


# ---------------------------------------------------------------------------------------------
# Slowloris, big heads, smuggling, a body that never ends


def slowloris(ctx):
    upstream = Upstream()
    proc, port = start_proxy(ctx, upstream.url, "--no-history", "--header-timeout", "2s")
    count = 50
    sockets = []
    opened = time.monotonic()
    for _ in range(count):
        s = connect(port)
        s.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        sockets.append(s)
    closed_at = {}
    # A byte every 0.3 s on every socket, as slowloris does, until the gateway closes them.
    deadline = opened + 8
    served_meanwhile = None
    while len(closed_at) < count and time.monotonic() < deadline:
        for i, s in enumerate(sockets):
            if i in closed_at:
                continue
            try:
                s.sendall(b"x")
                s.settimeout(0.0)
                if s.recv(4096) == b"":
                    closed_at[i] = time.monotonic() - opened
            except BlockingIOError:
                pass
            except OSError:
                closed_at[i] = time.monotonic() - opened
        if served_meanwhile is None and time.monotonic() - opened > 1:
            served_meanwhile = post(port)[0]
        time.sleep(0.3)
    for s in sockets:
        s.close()
    if len(closed_at) < count:
        raise CaseFailed(f"{count - len(closed_at)} of {count} slowloris connections were still open after 8 s (header timeout 2 s)")
    latest = max(closed_at.values())
    earliest = min(closed_at.values())
    if earliest < 1.5:
        raise CaseFailed(f"a connection was cut after {earliest:.1f} s, before the 2 s header timeout")
    if served_meanwhile != 200:
        raise CaseFailed(f"a real request during the slowloris got {served_meanwhile}")
    if len(upstream.seen()) != 1:
        raise CaseFailed(f"the upstream got {len(upstream.seen())} requests; only the one real request should reach it")
    ctx.procs.check_alive()
    return {"faults": count, "cut_after_s": round(latest, 1)}


def big_heads(ctx):
    upstream = Upstream()
    proc, port = start_proxy(ctx, upstream.url, "--no-history")
    results = {}
    for name, headers in [
        ("60 KB", [("x-filler", "a" * 60_000)]),
        ("70 KB", [("x-filler", "a" * 70_000)]),
        ("1 MB", [("x-filler", "a" * 1_000_000)]),
        ("200 headers", [(f"x-h{i}", "v") for i in range(200)]),
    ]:
        s = connect(port, timeout=10)
        body = message_body()
        head = "POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        head += f"x-api-key: {KEY}\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
        try:
            s.sendall(head.encode() + body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        status, _, _, _ = read_response(s, 10)
        s.close()
        results[name] = status
    expected = {"60 KB": 200, "70 KB": 431, "1 MB": 431, "200 headers": 431}
    if results != expected:
        raise CaseFailed(f"heads were answered {results}, expected {expected}")
    forwarded = [r for r in upstream.seen() if "x-filler" in r["headers"]]
    if len(forwarded) != 1 or len(forwarded[0]["headers"]["x-filler"][0]) != 60_000:
        raise CaseFailed(f"the upstream got {len(forwarded)} of the filled requests, expected only the 60 KB one")
    ctx.procs.check_alive()
    return {"faults": 3, "inputs": {"gateway http head": 4}}


SMUGGLED = b"GET /v1/smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: " + KEY.encode() + b"\r\n\r\n"


def smuggling(ctx):
    """Classic desync payloads: each gets 400, the connection is closed, and the upstream never
    sees the smuggled `GET /v1/smuggled`."""
    upstream = Upstream()
    proc, port = start_proxy(ctx, upstream.url, "--no-history")
    head = b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: " + KEY.encode() + b"\r\nContent-Type: application/json\r\n"
    chunked_end = b"0\r\n\r\n"
    attempts = {
        # TE.CL: the length covers the smuggled request, chunked framing ends before it.
        "TE+CL": head + b"Transfer-Encoding: chunked\r\nContent-Length: " + str(len(chunked_end + SMUGGLED)).encode() + b"\r\n\r\n" + chunked_end + SMUGGLED,
        # CL.TE: the length ends early, chunked framing carries the smuggled request after it.
        "CL+TE": head + b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" + f"{len(SMUGGLED):x}\r\n".encode() + SMUGGLED + b"\r\n" + chunked_end,
        "TE obfuscated": head + b"Transfer-Encoding: xchunked\r\nContent-Length: " + str(len(SMUGGLED)).encode() + b"\r\n\r\n" + SMUGGLED,
        "TE chunked, identity": head + b"Transfer-Encoding: chunked, identity\r\nContent-Length: " + str(len(SMUGGLED)).encode() + b"\r\n\r\n" + SMUGGLED,
        "two lengths": head + b"Content-Length: 0\r\nContent-Length: " + str(len(SMUGGLED)).encode() + b"\r\n\r\n" + SMUGGLED,
        "HTTP/1.0 chunked": head.replace(b"HTTP/1.1", b"HTTP/1.0") + b"Transfer-Encoding: chunked\r\n\r\n" + chunked_end + SMUGGLED,
    }
    # Behind an honest request on the same connection, whose body looks like a conflicting head.
    decoy = b"POST /v1/smuggled HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
    first_request = head + b"Content-Length: " + str(len(decoy)).encode() + b"\r\n\r\n" + decoy
    attempts["TE+CL after a keep-alive request"] = attempts["TE+CL"]
    answers = {}
    for name, payload in attempts.items():
        s = connect(port)
        if name.endswith("after a keep-alive request"):
            s.sendall(first_request)
            status, _, _, closed = read_response(s, 10, probe_close=False)
            if status != 200 or closed:
                raise CaseFailed(f"{name}: the honest first request was answered {status} (closed {closed})")
        s.sendall(payload)
        status, _, _, closed = read_response(s, 10)
        # A second, honest request on the same connection, where the connection allows one.
        if not closed:
            raise CaseFailed(f"{name}: the connection stayed open after an ambiguous request (answered {status})")
        s.close()
        answers[name] = status
    time.sleep(0.5)
    seen = upstream.seen()
    smuggled = [r["line"] for r in seen if "smuggled" in r["line"]]
    if smuggled:
        raise CaseFailed(f"the upstream saw a smuggled request: {smuggled}")
    if any(status != 400 for status in answers.values()):
        raise CaseFailed(f"ambiguous or malformed framing was answered {answers}, not 400")
    for r in seen:
        if "transfer-encoding" in r["headers"] and "content-length" in r["headers"]:
            raise CaseFailed(f"the upstream got a request with both framings: {r['line']}")
    ctx.procs.check_alive()
    return {"faults": len(attempts), "inputs": {"gateway http framing": len(attempts)}, "answers": ", ".join(f"{k} {v}" for k, v in answers.items())}


def endless_body(ctx):
    upstream = Upstream()
    proc, port = start_proxy(ctx, upstream.url, "--no-history", "--body-timeout", "2s")
    results = {}
    for name, head in [
        ("Content-Length", b"Content-Length: 100000\r\n"),
        ("chunked", b"Transfer-Encoding: chunked\r\n"),
    ]:
        s = connect(port)
        started = time.monotonic()
        s.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: " + KEY.encode() + b"\r\nContent-Type: application/json\r\n" + head + b"\r\n")
        # A trickle that never ends: a byte (or a one-byte chunk) every 0.2 s.
        answer = [None]

        def reader():
            try:
                answer[0] = read_response(s, 8)
            except Exception as error:  # noqa: BLE001 - reported below.
                answer[0] = error
        t = threading.Thread(target=reader, daemon=True)
        t.start()
        while t.is_alive() and time.monotonic() - started < 8:
            try:
                s.sendall(b"{" if name == "Content-Length" else b"1\r\n{\r\n")
            except OSError:
                break
            time.sleep(0.2)
        t.join(2)
        waited = time.monotonic() - started
        s.close()
        got = answer[0]
        if not isinstance(got, tuple) or got[0] is None:
            raise CaseFailed(f"{name}: no answer to a body that never ends within 8 s ({got!r})")
        status, headers, body, closed = got
        try:
            error = json.loads(body)["error"]
        except (ValueError, KeyError):
            raise CaseFailed(f"{name}: the {status} answer is not in the API's error shape: {body[:200]!r}")
        if status != 408 or error.get("type") != "timeout_error" or not closed:
            raise CaseFailed(f"{name}: answered {status} {error} (closed {closed}), expected 408 timeout_error and a closed connection")
        results[name] = round(waited, 1)
    if upstream.seen():
        raise CaseFailed(f"an unfinished body reached the upstream: {[r['line'] for r in upstream.seen()]}")
    ctx.procs.check_alive()
    return {"faults": 2, "answered_after_s": max(results.values())}


# ---------------------------------------------------------------------------------------------
# The upstream resets mid-stream


def read_events(port, fault):
    """Streams one request through the gateway and returns its events [(event, data)] and whether
    the HTTP body ended cleanly (the chunked stream's last chunk, not a cut connection)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    conn.request(
        "POST",
        "/v1/messages",
        body=message_body(stream=True),
        headers={"x-api-key": KEY, "anthropic-version": "2023-06-01", "content-type": "application/json", "x-fault": fault},
    )
    response = conn.getresponse()
    if response.status != 200:
        raise CaseFailed(f"{fault}: the stream's head was {response.status}")
    try:
        raw = response.read()
        clean = True
    except http.client.IncompleteRead as cut:
        raw = cut.partial
        clean = False
    conn.close()
    events = []
    for block in raw.decode(errors="replace").split("\n\n"):
        if not block.strip():
            continue
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        try:
            parsed = json.loads("\n".join(data)) if data else None
        except ValueError:
            parsed = "unparsable: " + "\n".join(data)
        events.append((name, parsed))
    return events, clean


def midstream_reset(ctx):
    upstream = Upstream()
    proc, port = start_proxy(ctx, upstream.url, "--no-history")
    figures = {"faults": 0}
    for fault in ("reset-after-events", "reset-mid-event"):
        events, clean = read_events(port, fault)
        if not clean:
            raise CaseFailed(f"{fault}: the client's stream was cut off, not ended with an error event")
        names = [name for name, _ in events]
        if names[-1:] != ["error"]:
            raise CaseFailed(f"{fault}: the stream's events were {names}, with no error event at the end")
        last = events[-1][1]
        if not isinstance(last, dict) or last.get("type") != "error" or last.get("error", {}).get("type") != "api_error":
            raise CaseFailed(f"{fault}: the error event is {last!r}, not an api_error in the API's shape")
        broken = [data for _, data in events if isinstance(data, str)]
        if broken:
            raise CaseFailed(f"{fault}: the client got half an event: {broken}")
        if names[:3] != ["message_start", "content_block_start", "content_block_delta"]:
            raise CaseFailed(f"{fault}: the events before the break were lost: {names}")
        figures["faults"] += 1
    # A real client: the official Python SDK raises the API's error instead of returning a
    # silently shortened message.
    python = os.path.join(ctx.root, "target", "fallback-venv", "bin", "python")
    if os.path.exists(python):
        script = r"""
import sys, anthropic
client = anthropic.Anthropic(base_url=sys.argv[1], api_key="sk-ant-faults-gateway-key", max_retries=0,
                             default_headers={"x-fault": "reset-after-events"})
try:
    with client.messages.stream(model="claude-haiku-4-5", max_tokens=5, messages=[{"role": "user", "content": "hi"}]) as stream:
        for _ in stream:
            pass
    print("NO ERROR")
except anthropic.APIStatusError as e:
    print("APIStatusError", type(e).__name__, e.body)
except anthropic.APIError as e:
    print("APIError", type(e).__name__, getattr(e, "body", None))
except Exception as e:
    print("OTHER", type(e).__name__, e)
"""
        result = ctx.run([python, "-c", script, f"http://127.0.0.1:{port}"], timeout=30)
        out = result.stdout.strip()
        if not out.startswith("API") or "api_error" not in out:
            raise CaseFailed(f"the anthropic SDK did not see the API error at the break: {out!r} {result.stderr[-500:]}")
        figures["faults"] += 1
        figures["sdk"] = out.split()[1]
    ctx.procs.check_alive()
    return figures


# ---------------------------------------------------------------------------------------------
# Binding beyond loopback, remote mode's token


def listening_on(port):
    """The local addresses something listens on at `port` (from /proc/net/tcp and tcp6)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    local, state = fields[1], fields[3]
                    address, hex_port = local.split(":")
                    if state == "0A" and int(hex_port, 16) == port:
                        found.append(address)
        except OSError:
            pass
    return found


def remote_bind(ctx):
    upstream = Upstream()
    env = ctx.env(CLAUDE_STATUS_DATA_DIR=ctx.path("data", "x")[:-2])
    refused = 0
    for argv in (
        ["proxy", "--bind", "0.0.0.0", "--port", "0"],
        ["proxy", "--bind", "::", "--port", "0"],
        ["proxy", "--port", "0", "--metrics-addr", "0.0.0.0:0"],
    ):
        result = ctx.run([ctx.cli, *argv, "--upstream", upstream.url, "--no-history", "--for", "5s"], timeout=20, env=env)
        text = result.stdout + result.stderr
        if result.returncode == 0 or "--allow-remote" not in text:
            raise CaseFailed(f"`{' '.join(argv)}` without --allow-remote exited {result.returncode}: {text[-500:]}")
        refused += 1
    # With --allow-remote it listens beyond loopback, and only with its token.
    _, port = start_proxy(ctx, upstream.url, "--no-history", "--bind", "0.0.0.0", "--allow-remote", env=env)
    if "00000000" not in listening_on(port):
        raise CaseFailed(f"with --allow-remote the gateway does not listen on 0.0.0.0:{port}: {listening_on(port)}")

    # The service: a settings file asking for 0.0.0.0 without allow_remote is refused as a whole
    # (the defaults run, the gateway stays off), and nothing listens beyond loopback.
    data = ctx.path("svc", "x")[:-2]
    gateway_port = free_port()
    with open(os.path.join(data, "settings.json"), "w") as f:
        json.dump({"gateway": True, "gateway_port": gateway_port, "gateway_bind": "0.0.0.0", "allow_remote": False}, f)
    svc_env = service_env(ctx, data, upstream.url)
    ctx.procs.start("service", [ctx.cli, "service", "run"], env=svc_env)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and "gateway_bind" not in ctx.procs.tail("service", 200):
        time.sleep(0.2)
    if "gateway_bind" not in ctx.procs.tail("service", 200):
        raise CaseFailed(f"the service did not name the refused gateway_bind:\n{ctx.procs.tail('service')}")
    time.sleep(1)
    if listening_on(gateway_port):
        raise CaseFailed(f"the service listens on port {gateway_port} ({listening_on(gateway_port)}) from refused settings")
    refused += 1
    return {"faults": refused}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service_env(ctx, data, upstream_url):
    return ctx.env(
        CLAUDE_STATUS_DATA_DIR=data,
        CLAUDE_STATUS_SOCKET=os.path.join(data, "control.sock"),
        CLAUDE_STATUS_STATUS_URL=upstream_url,
        ANTHROPIC_BASE_URL=upstream_url,
        CLAUDE_STATUS_OFFLINE="true",
        CLAUDE_STATUS_PROBE_INTERVAL="60s",
        RUST_LOG="info",
    )


def check_token_gate(port, token, upstream, where):
    """Every path needs the token; a wrong one is refused; the right one passes and never reaches
    the upstream, while the user's Authorization does."""
    for path in ("/v1/messages", "/v1/models", "/metrics", "/_gateway/stats"):
        for headers in ({}, {TOKEN_HEADER: "cst_" + "0" * 64}, {TOKEN_HEADER: token[:-1]}, {"authorization": f"Bearer {token}"}):
            status = post(port, path, headers=headers)[0] if path == "/v1/messages" else get(port, path, headers=headers)[0]
            if status != 401:
                raise CaseFailed(f"{where}: {path} with {list(headers) or 'no token'} was answered {status}, not 401")
    before = len(upstream.seen())
    status, _, body = post(port, headers={TOKEN_HEADER: token, "authorization": "Bearer sk-ant-oat-user-own"})
    if status != 200:
        raise CaseFailed(f"{where}: the right token was answered {status}: {body[:200]!r}")
    for path in ("/metrics", "/_gateway/stats"):
        status = get(port, path, headers={TOKEN_HEADER: token})[0]
        if status != 200:
            raise CaseFailed(f"{where}: {path} with the token was answered {status}")
    forwarded = upstream.seen()[before:]
    if len(forwarded) != 1:
        raise CaseFailed(f"{where}: the upstream got {len(forwarded)} requests, expected 1")
    headers = forwarded[0]["headers"]
    if TOKEN_HEADER in headers or any(token in v for vs in headers.values() for v in vs):
        raise CaseFailed(f"{where}: the gateway's token reached the upstream")
    if headers.get("authorization") != ["Bearer sk-ant-oat-user-own"]:
        raise CaseFailed(f"{where}: the user's Authorization did not pass unchanged: {headers.get('authorization')}")
    return 16


def remote_token(ctx):
    upstream = Upstream()
    data = ctx.path("data", "x")[:-2]
    env = ctx.env(CLAUDE_STATUS_DATA_DIR=data, RUST_LOG="debug")
    proc, port = start_proxy(ctx, upstream.url, "--no-history", "--bind", "127.0.0.1", "--allow-remote", env=env)
    path = os.path.join(data, "gateway-token")
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode != 0o600:
        raise CaseFailed(f"the token file is mode {oct(mode)}, not 0600")
    token = open(path).read().strip()
    if len(token) < 32:
        raise CaseFailed(f"the token is only {len(token)} characters")
    refused = check_token_gate(port, token, upstream, "proxy")

    # A real client: the official SDK with the token in its default headers.
    python = os.path.join(ctx.root, "target", "fallback-venv", "bin", "python")
    sdk = "not installed"
    if os.path.exists(python):
        script = r"""
import sys, anthropic
ok = anthropic.Anthropic(base_url=sys.argv[1], api_key="sk-ant-faults-gateway-key", max_retries=0,
                         default_headers={"x-claude-status-token": sys.argv[2]})
print(ok.messages.create(model="claude-haiku-4-5", max_tokens=5, messages=[{"role": "user", "content": "hi"}]).content[0].text)
try:
    anthropic.Anthropic(base_url=sys.argv[1], api_key="sk-ant-faults-gateway-key", max_retries=0).models.list()
    print("NO TOKEN PASSED")
except anthropic.AuthenticationError as e:
    print("refused", e.status_code)
"""
        result = ctx.run([python, "-c", script, f"http://127.0.0.1:{port}", token], timeout=30)
        if result.stdout.split() != ["ok", "refused", "401"]:
            raise CaseFailed(f"the anthropic SDK with default_headers: {result.stdout!r} {result.stderr[-800:]}")
        sdk = "default_headers ok, none 401"

    # A restart keeps the token; the token is never printed or logged.
    ctx.procs.stop_all()
    proc, port = start_proxy(ctx, upstream.url, "--no-history", "--bind", "127.0.0.1", "--allow-remote", name="proxy2", env=env)
    if open(path).read().strip() != token:
        raise CaseFailed("a restart made a new token")
    if post(port, headers={TOKEN_HEADER: token})[0] != 200:
        raise CaseFailed("the token did not work after a restart")
    ctx.procs.stop_all()
    for name in ("proxy", "proxy2"):
        text = open(os.path.join(ctx.work, f"{name}.log"), errors="replace").read()
        if token in text:
            raise CaseFailed(f"{name}.log holds the token")
        if "ANTHROPIC_CUSTOM_HEADERS" not in text:
            raise CaseFailed(f"{name} did not say how to set the token:\n{text[-800:]}")

    # The service in remote mode, with an allowed origin from its settings.
    sdata = ctx.path("svc", "x")[:-2]
    gateway_port = free_port()
    with open(os.path.join(sdata, "settings.json"), "w") as f:
        json.dump(
            {"gateway": True, "gateway_port": gateway_port, "allow_remote": True, "gateway_allowed_origins": ["http://localhost:3000"]},
            f,
        )
    ctx.procs.start("service", [ctx.cli, "service", "run"], env=service_env(ctx, sdata, upstream.url))
    spath = os.path.join(sdata, "gateway-token")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not (os.path.exists(spath) and listening_on(gateway_port)):
        time.sleep(0.2)
    if not os.path.exists(spath):
        raise CaseFailed(f"the service in remote mode made no token file:\n{ctx.procs.tail('service')}")
    stoken = open(spath).read().strip()
    refused += check_token_gate(gateway_port, stoken, upstream, "service")
    origin_ok = post(gateway_port, headers={TOKEN_HEADER: stoken, "origin": "http://localhost:3000"})[0]
    origin_other = post(gateway_port, headers={TOKEN_HEADER: stoken, "origin": "https://evil.example"})[0]
    if (origin_ok, origin_other) != (200, 403):
        raise CaseFailed(f"the service's allowed origin was answered {origin_ok} and another page {origin_other}, expected 200 and 403")
    refused += 1
    ctx.procs.stop_all()
    if stoken in open(os.path.join(ctx.work, "service.log"), errors="replace").read():
        raise CaseFailed("the service's log holds the token")
    return {"faults": refused, "sdk": sdk}


CASES = [
    Case(
        "gateway-flood-5000-idle",
        "5,000 idle connections are held within the open-files limit, and real requests keep being answered (p99 under 1 s)",
        flood,
        timeout=90,
    ),
    Case(
        "gateway-flood-over-limit",
        "connections over --max-connections are closed at once, the accept loop does not spin, and the gateway serves again when they go",
        over_limit,
        timeout=60,
    ),
    Case("gateway-slowloris", "heads sent a byte at a time are cut at the header timeout; real requests are served meanwhile", slowloris, timeout=40),
    Case("gateway-header-431", "a head over 64 KB, or over 100 headers, gets 431 and never reaches the API; 60 KB passes", big_heads, timeout=40),
    Case(
        "gateway-smuggling",
        "CL with TE (first or behind a keep-alive request), obfuscated TE, two lengths, chunked HTTP/1.0: 400, the connection closed, no second request smuggled upstream",
        smuggling,
        timeout=40,
    ),
    Case("gateway-endless-body", "a body that never ends gets 408 timeout_error at the body timeout, and nothing reaches the API", endless_body, timeout=40),
    Case(
        "gateway-midstream-reset",
        "an upstream reset mid-stream ends the client's stream with event: error (api_error), never half an event or a silent cut",
        midstream_reset,
        timeout=60,
    ),
    Case("gateway-remote-bind", "binding beyond loopback needs --allow-remote (proxy, metrics, service settings)", remote_bind, timeout=60),
    Case(
        "gateway-remote-token",
        "in remote mode every call (/metrics included) needs x-claude-status-token, the token never reaches the API or a log, and Authorization stays the user's",
        remote_token,
        timeout=90,
    ),
]
