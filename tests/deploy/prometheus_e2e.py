#!/usr/bin/python3
"""End-to-end test of deploy/: Debian's Prometheus scrapes a real `voxgate serve` (SIP on, a webhook
configured, events on Redis Streams of a real redis-server) and a real `voxgate gateway` in front of it, loaded with real speech over REST; then
every PromQL expression of the dashboard (deploy/grafana/voxgate.json) and of the alerting rules
(deploy/prometheus/voxgate.rules.yml, the quantity left of each alert's comparison) is evaluated
through Prometheus's HTTP API. Each must parse and return data, and Prometheus must load every rule
without error.

  tests/deploy/prometheus_e2e.py BUILD_DIR        (ctest: prometheus_e2e)
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEECH = os.environ.get("VOXGATE_SPEECH_DIR", os.path.join(REPO, "..", "shared", "speech"))
DEV = os.path.join(SPEECH, "resemblyzer-librispeech", "librispeech_test-other")
DEADLINE_S = 120  # generous: every wait below ends on its event, this only bounds a broken run


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(url, data=None, headers=None, method=None):
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_for(what, probe):
    end = time.monotonic() + DEADLINE_S
    while time.monotonic() < end:
        try:
            v = probe()
            if v:
                return v
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"FAIL: timed out waiting for {what}")


def multipart(fields, files):
    boundary = "voxgate-e2e-boundary"
    body = b""
    for k, v in fields.items():
        body += f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
    for k, path in files:
        with open(path, "rb") as fh:
            data = fh.read()
        body += (f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"; filename="{os.path.basename(path)}"'
                 f'\r\nContent-Type: audio/flac\r\n\r\n').encode() + data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def quantity(expr):
    """The measured quantity of an alert expression "<quantity> <op> <number>"."""
    m = re.match(r"^(.*?)\s*(>=|<=|==|!=|>|<)\s*-?[0-9.]+\s*$", expr.strip(), re.S)
    return m.group(1) if m else expr


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "build"))
    prometheus = shutil.which("prometheus")
    if not prometheus:
        raise SystemExit("FAIL: Debian's prometheus is not installed (scripts/setup.sh --tests)")
    tmp = tempfile.mkdtemp(prefix="voxgate-prom-")
    procs = []
    try:
        node, gw, prom, sip, redis = free_port(), free_port(), free_port(), free_port(), free_port()
        if not shutil.which("redis-server"):
            raise SystemExit("FAIL: redis-server is not installed (scripts/setup.sh --tests)")
        procs.append(subprocess.Popen(["redis-server", "--port", str(redis), "--bind", "127.0.0.1", "--save", "",
                                       "--appendonly", "no"], stdout=subprocess.DEVNULL))
        env = dict(os.environ, VOXGATE_SIP_ENABLED="true", VOXGATE_SIP_PORT=str(sip),
                   VOXGATE_EVENTS_BACKEND="redis", VOXGATE_REDIS_URL=f"redis://127.0.0.1:{redis}",
                   VOXGATE_WEBHOOKS_URLS=f"http://127.0.0.1:{free_port()}/hook",
                   VOXGATE_WEBHOOKS_MAX_RETRIES="0")
        log = open(os.path.join(tmp, "serve.log"), "w")
        procs.append(subprocess.Popen([os.path.join(build, "voxgate"), "serve", "--dev", "--port", str(node),
                                       "--data-dir", os.path.join(tmp, "data"), "--config",
                                       os.path.join(REPO, "config", "voxgate.yaml")],
                                      cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT))
        wait_for("voxgate serve", lambda: http(f"http://127.0.0.1:{node}/ready")[0] == 200)
        glog = open(os.path.join(tmp, "gateway.log"), "w")
        procs.append(subprocess.Popen([os.path.join(build, "voxgate"), "gateway", "--port", str(gw), "--host",
                                       "127.0.0.1", "--node", f"127.0.0.1:{node}", "--health-interval-ms", "200",
                                       "--config", os.path.join(REPO, "config", "voxgate.yaml")],
                                      cwd=REPO, stdout=glog, stderr=subprocess.STDOUT))
        wait_for("voxgate gateway", lambda: http(f"http://127.0.0.1:{gw}/api/v1/voiceprints")[0] == 200)

        # A little real load: enroll two speakers, verify and identify, through the node and the gateway.
        speakers = sorted(os.listdir(DEV))[:2]
        for i, spk in enumerate(speakers):
            files = sorted(os.listdir(os.path.join(DEV, spk)))
            body, headers = multipart({"user_id": f"u{i}", "name": f"Speaker {i}"},
                                      [("audio", os.path.join(DEV, spk, f)) for f in files[:2]])
            status, answer = http(f"http://127.0.0.1:{node}/api/v1/voiceprint/register", body, headers)
            assert status in (200, 201), (status, answer)
            body, headers = multipart({"user_id": "u0"}, [("audio", os.path.join(DEV, spk, files[3]))])
            status, answer = http(f"http://127.0.0.1:{gw}/api/v1/voiceprint/verify", body, headers)
            assert status == 200, (status, answer)
            body, headers = multipart({}, [("audio", os.path.join(DEV, spk, files[4]))])
            status, answer = http(f"http://127.0.0.1:{gw}/api/v1/voiceprint/identify", body, headers)
            assert status == 200, (status, answer)

        with open(os.path.join(REPO, "deploy", "prometheus", "voxgate.rules.yml")) as fh:
            rules_text = fh.read()
        shutil.copy(os.path.join(REPO, "deploy", "prometheus", "voxgate.rules.yml"), tmp)
        with open(os.path.join(tmp, "prometheus.yml"), "w") as fh:
            fh.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [voxgate.rules.yml]
scrape_configs:
  - job_name: voxgate
    static_configs: [{{targets: ["127.0.0.1:{node}"]}}]
  - job_name: voxgate-gateway
    static_configs: [{{targets: ["127.0.0.1:{gw}"]}}]
""")
        plog = open(os.path.join(tmp, "prometheus.log"), "w")
        procs.append(subprocess.Popen([prometheus, f"--config.file={tmp}/prometheus.yml",
                                       f"--storage.tsdb.path={tmp}/tsdb", f"--web.listen-address=127.0.0.1:{prom}"],
                                      stdout=plog, stderr=subprocess.STDOUT))
        api = f"http://127.0.0.1:{prom}/api/v1"

        def query(expr):
            status, body = http(f"{api}/query?" + urllib.parse.urlencode({"query": expr}))
            return status, json.loads(body or b"{}")

        # Both targets scraped at least 3 times (rate() needs two samples), every rule group evaluated.
        def scraped():
            s, j = query('count_over_time(up{job=~"voxgate|voxgate-gateway"}[1m]) >= 3')
            return s == 200 and len(j["data"]["result"]) == 2

        wait_for("three scrapes of serve and gateway", scraped)
        s, j = query('up{job=~"voxgate|voxgate-gateway"} == 1')
        assert len(j["data"]["result"]) == 2, j

        def rules_evaluated():
            s, body = http(f"{api}/rules")
            groups = json.loads(body)["data"]["groups"]
            return groups if groups and all(g.get("lastEvaluation", "").startswith("2") and
                                            not g["lastEvaluation"].startswith("0001") for g in groups) else None

        groups = wait_for("every rule group evaluated", rules_evaluated)
        failures = []
        n_rules = 0
        for g in groups:
            for r in g["rules"]:
                n_rules += 1
                if r.get("health") != "ok":
                    failures.append(f"rule {r['name']}: health {r.get('health')}: {r.get('lastError')}")
        expected_alerts = len(re.findall(r"^\s*- alert:", rules_text, re.M))
        if n_rules != expected_alerts:
            failures.append(f"Prometheus loaded {n_rules} rules, the file has {expected_alerts}")

        exprs = [("rule " + r["name"], quantity(r["query"])) for g in groups for r in g["rules"]]
        with open(os.path.join(REPO, "deploy", "grafana", "voxgate.json")) as fh:
            dash = json.load(fh)
        for p in dash["panels"]:
            for t in p.get("targets", []):
                exprs.append((f"panel {p['title']!r} {t['refId']}", t["expr"].replace("$instance", ".+")))
        for name, expr in exprs:
            s, j = query(expr)
            if s != 200 or j.get("status") != "success":
                failures.append(f"{name}: does not evaluate ({s}): {j.get('error')}\n    {expr}")
            elif not j["data"]["result"]:
                failures.append(f"{name}: returns no data\n    {expr}")
        print(f"prometheus_e2e: {n_rules} rules loaded, {len(exprs)} expressions evaluated "
              f"({len(exprs) - len(failures)} with data)")
        if failures:
            print("FAIL:\n  " + "\n  ".join(failures))
            sys.exit(1)
        print("PASS")
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
        for p in reversed(procs):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
