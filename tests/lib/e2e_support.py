"""What the end-to-end drivers under tests/ share: free ports, bounded waits, JSON over HTTP and
child processes that are always stopped.

A driver imports it with its own folder's `../lib` put first on `sys.path`:

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
    from e2e_support import Processes, free_port, get_json, wait_for
"""

import json
import os
import queue
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.request


def free_port():
    """A port free now on 127.0.0.1 (for the servers that cannot report the one they chose)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def wait_for(what, check, timeout, every=0.2):
    """Calls `check` until it returns something true, or fails naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except (OSError, ValueError, KeyError) as error:  # A server still starting refuses connections.
            last_error = error
        time.sleep(every)
    raise TimeoutError(f"{what} did not happen within {timeout:.0f} s (last error: {last_error})")


class Processes:
    """Child processes, each in its own process group, all stopped by `stop_all`. Each one's
    output goes to NAME.log in the work folder."""

    def __init__(self, work):
        self.work = work
        self.procs = []

    def start(self, name, argv, env=None, stdout=None, ready=None, timeout=30):
        """Starts `argv` with its stderr in NAME.log, and its stdout there too, unless
        `stdout=subprocess.PIPE` hands it to the caller. With `ready` (a regex), stdout is read
        here for the whole run (into NAME.log), this waits at most `timeout` for a line that
        matches it and returns the match; otherwise it returns the process."""
        log = open(os.path.join(self.work, f"{name}.log"), "ab", buffering=0)
        if ready is not None:
            stdout = subprocess.PIPE
        proc = subprocess.Popen(
            argv,
            env=env,
            stdout=stdout if stdout is not None else log,
            stderr=log,
            start_new_session=True,
        )
        self.procs.append((name, proc, log))
        if ready is None:
            return proc
        lines = queue.Queue()

        def drain():
            # Keeps reading for the whole run so a chatty child never blocks on a full pipe.
            for raw in proc.stdout:
                log.write(raw)
                lines.put(raw.decode(errors="replace"))
            lines.put(None)
        threading.Thread(target=drain, daemon=True).start()
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{name} printed no line matching {ready!r} within {timeout} s:\n{self.tail(name)}")
            try:
                line = lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise RuntimeError(f"{name} exited ({proc.wait()}) before it was ready:\n{self.tail(name)}")
            match = re.search(ready, line)
            if match:
                return match

    def check_alive(self):
        for name, proc, _ in self.procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}; see {name}.log:\n{self.tail(name)}")

    def tail(self, name, lines=30):
        try:
            with open(os.path.join(self.work, f"{name}.log"), "rb") as f:
                return b"\n".join(f.read().splitlines()[-lines:]).decode(errors="replace")
        except OSError:
            return ""

    def stop_all(self):
        for _, proc, _ in reversed(self.procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 10
        for _, proc, log in reversed(self.procs):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
            log.close()
