#!/usr/bin/env python3
"""The team-scale path end to end, with the real servers: Debian's Prometheus scrapes
`claude-status watch --metrics-addr` while the simulator overloads one model, the shipped rules
(deploy/prometheus/claude-status.rules.yml) fire the overload alert, Prometheus' HTTP API shows it
`firing`, and Debian's Alertmanager delivers it to a webhook receiver in this process.

Everything binds 127.0.0.1, lives in a temporary folder, and is stopped at the end whatever
happens; every wait is bounded. The figures (verdict, firing, delivered, and the promised bound
`verdict + scrape + evaluation + group wait + 5 s`) are printed as one table.

    tests/prometheus/e2e.py --sim target/debug/claude-status-sim --cli target/debug/claude-status
    tests/prometheus/e2e.py ... --scrape 15 --evaluation 15 --group-wait 30   # the documented setup
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from e2e_support import Processes, free_port, get_json, wait_for  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RULES = os.path.join(ROOT, "deploy", "prometheus", "claude-status.rules.yml")
MODEL = "claude-opus-5-5"
# The alerts an overload of the followed model raises (the API-wide one too, since the model is
# the one the user relies on).
OVERLOAD_ALERTS = ("ClaudeModelOverloaded", "ClaudeAPIOverloaded")


class Receiver:
    """A webhook receiver: keeps every POST body with the time it arrived."""

    def __init__(self):
        self.received = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(min(length, 1 << 20))
                with outer.lock:
                    outer.received.append((time.monotonic(), json.loads(body or b"{}")))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alert"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def firing(self, names):
        with self.lock:
            for at, body in self.received:
                for alert in body.get("alerts", []):
                    labels = alert.get("labels", {})
                    if alert.get("status") == "firing" and labels.get("alertname") in names:
                        return at, alert
        return None

    def stop(self):
        self.server.shutdown()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sim", required=True)
    parser.add_argument("--cli", required=True)
    parser.add_argument("--prometheus", default=shutil.which("prometheus") or "prometheus")
    parser.add_argument("--alertmanager", default=shutil.which("prometheus-alertmanager") or "prometheus-alertmanager")
    parser.add_argument("--scrape", type=float, default=2, help="scrape interval, seconds")
    parser.add_argument("--evaluation", type=float, default=2, help="rule evaluation interval, seconds")
    parser.add_argument("--group-wait", type=float, default=2, help="Alertmanager's group_wait, seconds")
    parser.add_argument("--speed", type=float, default=10, help="the simulator's story seconds per second")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()

    for tool in (args.prometheus, args.alertmanager):
        if not shutil.which(tool):
            print(f"prometheus e2e: {tool} is missing (Debian: apt-get install prometheus prometheus-alertmanager)")
            return 1

    work = tempfile.mkdtemp(prefix="claude-status-prom-")
    procs = Processes(work)
    receiver = Receiver()
    ok = False
    try:
        # The simulator: one model overloaded from story minute 1 (100 % at 3), the status page
        # silent until minute 7.
        sim = procs.start(
            "simulator",
            [args.sim, "--scenario", "model-overload", "--speed", str(args.speed)],
            stdout=subprocess.PIPE,
        )
        line = sim.stdout.readline().decode()
        match = re.search(r"listening on (http://\S+)", line)
        if not match:
            raise RuntimeError(f"the simulator did not start: {line!r}\n{procs.tail('simulator')}")
        sim_url = match.group(1).rstrip("/")

        # The watcher, with a dummy key only the simulator sees and nothing of this machine's
        # Claude Code or data.
        metrics_port = free_port()
        home = os.path.join(work, "home")
        os.makedirs(home)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": home,
            "ANTHROPIC_API_KEY": "sk-ant-e2e-dummy",
            "ANTHROPIC_BASE_URL": sim_url,
            "CLAUDE_STATUS_STATUS_URL": sim_url,
            "CLAUDE_STATUS_DATA_DIR": os.path.join(work, "data"),
            "CLAUDE_STATUS_OFFLINE": "true",
        }
        watch = procs.start(
            "watch",
            [args.cli, "watch", "--interval", "1s", "--json-lines", "--no-usage", "--model", MODEL,
             "--metrics-addr", f"127.0.0.1:{metrics_port}"],
            env=env,
            stdout=subprocess.PIPE,
        )
        verdict = {}

        def read_watch():
            for raw in watch.stdout:
                try:
                    event = json.loads(raw)
                except ValueError:
                    continue
                if event.get("level") == "overloaded" and "at" not in verdict:
                    verdict["at"] = time.monotonic()
        threading.Thread(target=read_watch, daemon=True).start()

        # Alertmanager, delivering to the receiver. No cluster: a lone instance.
        am_port = free_port()
        am_config = os.path.join(work, "alertmanager.yml")
        with open(am_config, "w") as f:
            f.write(f"""route:
  receiver: webhook
  group_by: [alertname, model]
  group_wait: {args.group_wait:g}s
  group_interval: 5s
  repeat_interval: 1h
receivers:
  - name: webhook
    webhook_configs:
      - url: {receiver.url}
        send_resolved: true
""")
        procs.start("alertmanager", [
            args.alertmanager, f"--config.file={am_config}",
            f"--storage.path={os.path.join(work, 'am')}",
            f"--web.listen-address=127.0.0.1:{am_port}",
            "--cluster.listen-address=",
        ])

        # Prometheus with the shipped rules.
        prom_port = free_port()
        prom_config = os.path.join(work, "prometheus.yml")
        with open(prom_config, "w") as f:
            f.write(f"""global:
  scrape_interval: {args.scrape:g}s
  evaluation_interval: {args.evaluation:g}s
rule_files:
  - {RULES}
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:{am_port}"]
scrape_configs:
  - job_name: claude-status
    static_configs:
      - targets: ["127.0.0.1:{metrics_port}"]
""")
        procs.start("prometheus", [
            args.prometheus, f"--config.file={prom_config}",
            f"--storage.tsdb.path={os.path.join(work, 'prom')}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ])
        prom = f"http://127.0.0.1:{prom_port}"
        def ready(url):
            procs.check_alive()
            return urllib.request.urlopen(url, timeout=2).status == 200
        wait_for("Prometheus ready", lambda: ready(f"{prom}/-/ready"), 60)
        wait_for("Alertmanager ready", lambda: ready(f"http://127.0.0.1:{am_port}/-/ready"), 60)
        procs.check_alive()

        # Prometheus' own parser read the exposition: the target is up without a scrape error.
        def target_up():
            targets = get_json(f"{prom}/api/v1/targets")["data"]["activeTargets"]
            return [t for t in targets if t["health"] == "up" and not t["lastError"]]
        wait_for("the watcher's target up in Prometheus", target_up, 30)

        def alert_firing():
            procs.check_alive()
            alerts = get_json(f"{prom}/api/v1/alerts")["data"]["alerts"]
            for alert in alerts:
                labels = alert["labels"]
                if alert["state"] == "firing" and labels.get("alertname") in OVERLOAD_ALERTS:
                    return time.monotonic(), alert
            return None
        fired_at, fired = wait_for("an overload alert firing in Prometheus", alert_firing, 120, every=0.1)
        delivered_at, delivered = wait_for("the alert delivered to the webhook", lambda: receiver.firing(OVERLOAD_ALERTS), 120, every=0.05)

        # The series behind it, as Prometheus stored it.
        query = urllib.parse.quote(f'claude_status_model_level{{model="{MODEL}",level="overloaded"}}')
        stored = get_json(f"{prom}/api/v1/query?query={query}")["data"]["result"]
        assert stored and stored[0]["value"][1] == "1", stored
        count = get_json(f"{prom}/api/v1/query?query=" + urllib.parse.quote(
            f'claude_status_probe_results_total{{probe="streaming",model="{MODEL}",outcome="overloaded"}}'))["data"]["result"]
        assert count and float(count[0]["value"][1]) >= 1, count

        verdict_at = wait_for("the watcher's overloaded verdict", lambda: verdict.get("at"), 5)
        budget = args.scrape + args.evaluation + args.group_wait + 5
        late = delivered_at - verdict_at
        print("prometheus e2e figures")
        print(f"  {'scrape / evaluation / group wait':36} {args.scrape:g} s / {args.evaluation:g} s / {args.group_wait:g} s")
        print(f"  {'alert':36} {fired['labels'].get('alertname')} {{model={fired['labels'].get('model', '')}}}")
        print(f"  {'verdict → firing in Prometheus':36} {fired_at - verdict_at:6.2f} s")
        print(f"  {'verdict → delivered to the webhook':36} {late:6.2f} s")
        print(f"  {'bound: scrape + eval + wait + 5 s':36} {budget:6.2f} s")
        assert delivered.get("labels", {}).get("alertname") in OVERLOAD_ALERTS, delivered
        assert late <= budget, f"delivered {late:.2f} s after the verdict, more than {budget:.2f} s"
        ok = True
        print("prometheus e2e: 1 passed, 0 failed")
        return 0
    except Exception as error:
        print(f"prometheus e2e: FAILED: {error}")
        for name in ("watch", "prometheus", "alertmanager", "simulator"):
            print(f"--- {name}.log (last lines)\n{procs.tail(name)}")
        print("prometheus e2e: 0 passed, 1 failed")
        return 1
    finally:
        procs.stop_all()
        receiver.stop()
        if args.keep or not ok:
            print(f"prometheus e2e: work folder kept at {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
