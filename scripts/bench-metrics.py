#!/usr/bin/env python3
"""The figures of `/metrics` (issue 14), measured on release builds against the simulator:

- a scrape with 10 models and the simulator's status-page components: p50 and p99 over
  1,000 scrapes on one kept-alive connection, in both formats, and the body size;
- the service's CPU with the gateway and metrics on, probing at the default 60 s, scraped every
  15 s, side by side with the same service with metrics off (same machine, same minutes).

Usage: scripts/bench-metrics.py [--quick]   (--quick: 200 scrapes and a 60 s CPU window)
"""

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = os.path.join(ROOT, "target", "release", "claude-status")
SIM = os.path.join(ROOT, "target", "release", "claude-status-sim")
QUICK = "--quick" in sys.argv
MODELS = [
    "claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5", "claude-fable-5-2", "claude-mythos-5-2",
    "claude-opus-5", "claude-sonnet-5", "claude-opus-4-8", "claude-opus-4-7", "claude-sonnet-4-6",
]
OPENMETRICS = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        parts = stat.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def start_sim():
    proc = subprocess.Popen([SIM, "--scenario", "healthy"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = proc.stdout.readline().strip().split()[-1].rstrip("/")
    return proc, url


def start_service(sim_url, metrics):
    """A service with the gateway on, the 10 models pinned, and metrics on or off."""
    data = tempfile.mkdtemp(prefix="claude-status-bench-")
    gateway_port = free_port()
    metrics_port = free_port()
    settings = {
        "gateway": True,
        "gateway_port": gateway_port,
        "pinned_models": MODELS,
        "claude_code_logs": False,
        "price_refresh": False,
        "metrics_addr": f"127.0.0.1:{metrics_port}" if metrics else None,
    }
    with open(os.path.join(data, "settings.json"), "w") as f:
        json.dump(settings, f)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": data,
        "ANTHROPIC_API_KEY": "sk-ant-bench-dummy",
        "ANTHROPIC_BASE_URL": sim_url,
        "CLAUDE_STATUS_STATUS_URL": sim_url,
        "CLAUDE_STATUS_DATA_DIR": data,
        "CLAUDE_STATUS_SOCKET": os.path.join(data, "control.sock"),
        "CLAUDE_STATUS_OFFLINE": "true",
    }
    proc = subprocess.Popen([CLI, "service", "run"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, gateway_port, metrics_port


def wait_port(port, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port}")


def traffic(gateway_port):
    """One JSON and one streamed request per model through the gateway."""
    for model in MODELS:
        for stream in (False, True):
            body = json.dumps({"model": model, "max_tokens": 8, "stream": stream,
                               "messages": [{"role": "user", "content": "hi"}]}).encode()
            request = urllib.request.Request(
                f"http://127.0.0.1:{gateway_port}/v1/messages", data=body, method="POST",
                headers={"x-api-key": "sk-ant-bench-dummy", "anthropic-version": "2023-06-01",
                         "content-type": "application/json"})
            with urllib.request.urlopen(request, timeout=30) as response:
                response.read()


def scrapes(port, count, accept, gzip=False):
    """`count` scrapes on one kept-alive connection: their times (ms), the last body's size on
    the wire, and its text."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Accept": accept} if accept else {}
    if gzip:
        headers["Accept-Encoding"] = "gzip"
    times, size = [], 0
    for _ in range(count):
        started = time.perf_counter()
        connection.request("GET", "/metrics", headers=headers)
        response = connection.getresponse()
        body = response.read()
        if response.getheader("Content-Encoding") == "gzip":
            size = len(body)
            body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
        else:
            size = len(body)
        times.append((time.perf_counter() - started) * 1000)
    connection.close()
    return times, size, body.decode()


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main():
    subprocess.run(["cargo", "build", "--release", "--locked", "-q", "-p", "claude-status-cli",
                    "-p", "claude-status-simulator"], cwd=ROOT, check=True)
    count = 200 if QUICK else 1000
    window = 60 if QUICK else 180
    sims = [start_sim(), start_sim()]
    on, gateway_on, metrics_port = start_service(sims[0][1], metrics=True)
    off, gateway_off, _ = start_service(sims[1][1], metrics=False)
    try:
        wait_port(metrics_port)
        wait_port(gateway_on)
        wait_port(gateway_off)
        traffic(gateway_on)
        traffic(gateway_off)
        # Let every pinned model be probed once, so each has its level and probe series.
        time.sleep(15)
        print(f"== /metrics on {os.cpu_count()} cores, release build ==")
        for name, accept, gzip in (("OpenMetrics, gzip, as Prometheus asks", OPENMETRICS, True),
                                   ("OpenMetrics, uncompressed", OPENMETRICS, False),
                                   ("Prometheus text 0.0.4, uncompressed", None, False)):
            times, size, body = scrapes(metrics_port, count, accept, gzip)
            models = {line.split('model="')[1].split('"')[0] for line in body.splitlines()
                      if line.startswith("claude_status_model_level{")}
            components = sum(1 for line in body.splitlines() if line.startswith("claude_status_component_up{"))
            series = sum(1 for line in body.splitlines() if line and not line.startswith("#"))
            print(f"scrape ({name}), {len(models)} models, {components} components, {series} samples: "
                  f"p50 {statistics.median(times):.2f} ms, p99 {percentile(times, 99):.2f} ms "
                  f"over {count} scrapes; body on the wire {size / 1024:.1f} KiB ({len(body.encode()) / 1024:.1f} KiB of text)")

        # CPU over the same minutes, one service scraped every 15 s and one without metrics.
        stop = threading.Event()

        def scraper():
            while not stop.wait(15):
                scrapes(metrics_port, 1, OPENMETRICS, gzip=True)
        thread = threading.Thread(target=scraper, daemon=True)
        start = {proc.pid: cpu_seconds(proc.pid) for proc in (on, off)}
        began = time.monotonic()
        thread.start()
        time.sleep(window)
        stop.set()
        elapsed = time.monotonic() - began
        for label, proc in (("metrics on, scraped every 15 s", on), ("metrics off", off)):
            used = cpu_seconds(proc.pid) - start[proc.pid]
            print(f"service CPU over {elapsed:.0f} s ({label}): {100 * used / elapsed:.3f} % of one core "
                  f"({used:.2f} s)")
    finally:
        for proc in (on, off):
            proc.terminate()
        for proc in (on, off):
            proc.wait(timeout=15)
        for proc, _ in sims:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
