#!/usr/bin/env python3
"""N concurrent phone calls through `voxgate serve`, each streaming real speech with live
identification, on this machine.

Starts `voxgate serve --dev` with SIP on (starter model, everything else from
config/voxgate.yaml), enrolls K LibriSpeech test-other speakers over REST, then for each N in
--calls places N concurrent SIPp calls (tests/telephony/sipp/uac_speech.xml, PCMU) to identify@,
each carrying one speaker's utterance as real-time RTP from voxgate_rtp_player, for --seconds.
Per N it prints:
  - the server's CPU per call (utime+stime of the voxgate process over the steady window, when
    all N calls are up), and the whole machine's CPU (the N senders and SIPp share it);
  - p99 and max processing lag (frame pushed -> processed, from the server's
    voxgate_session_processing_lag_seconds histogram, interpolated within its bucket, and the
    sessions' own maxima), frames dropped for lack of CPU, I/O tick overruns;
  - decision latency (speech that completed the required 3 s heard -> decision emitted) p50/p99,
    and how many calls named the right speaker.
Then the largest N with p99 lag < 100 ms and no frame dropped. Prints figures; asserts nothing.

Usage: bench/sip_calls_bench.py [--build build] [--calls 20,40,60,80,100,120] [--seconds 30]
                                [--speakers 20] [--rate 20] [--scenario identify|record]
Needs sipp (Debian sip-tester) and a built tree (scripts/build.sh builds voxgate and
tests/voxgate_rtp_player).
"""
import argparse
import json
import os
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid

REPO = pathlib.Path(__file__).resolve().parent.parent
LAG_METRIC = 'voxgate_session_processing_lag_seconds_bucket{kind="live",le="'


def http(port, path, body=None, content_type=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body)
    if content_type:
        req.add_header("Content-Type", content_type)
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status, r.read()


def multipart(fields, files):
    boundary = uuid.uuid4().hex
    out = b""
    for k, v in fields.items():
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").encode()
    for k, path in files:
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"; "
                f"filename=\"{os.path.basename(path)}\"\r\nContent-Type: application/octet-stream"
                "\r\n\r\n").encode() + pathlib.Path(path).read_bytes() + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return out, f"multipart/form-data; boundary={boundary}"


def cpu_seconds(pid):
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy():
    v = [int(x) for x in pathlib.Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


def lag_buckets(port):
    text = http(port, "/metrics")[1].decode()
    out = []
    for line in text.splitlines():
        if line.startswith(LAG_METRIC):
            le = line[len(LAG_METRIC):].split('"')[0]
            out.append((float("inf") if le == "+Inf" else float(le), float(line.split()[-1])))
    return out


def metric(port, name):
    text = http(port, "/metrics")[1].decode()
    m = re.search(r"^" + re.escape(name) + r" ([0-9.e+-]+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def quantile_from_buckets(before, after, q):
    delta = [(le, a - b) for (le, a), (_, b) in zip(after, before)]
    total = delta[-1][1] if delta else 0
    if total <= 0:
        return float("nan")
    target = q * total
    prev_le, prev_c = 0.0, 0.0
    for le, c in delta:
        if c >= target:
            if le == float("inf"):
                return prev_le
            return prev_le + (le - prev_le) * (target - prev_c) / max(c - prev_c, 1e-9)
        prev_le, prev_c = le, c
    return prev_le


def pct(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--calls", default="20,40,60,80,100,120")
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--speakers", type=int, default=20)
    ap.add_argument("--rate", type=int, default=20, help="new calls per second")
    ap.add_argument("--scenario", default="identify", choices=["identify", "record"],
                    help="identify: full pipeline + live identification; record: the pipeline "
                         "(high-pass, NS + AGC, VAD) and a WAV recording, no scoring")
    args = ap.parse_args()
    build = (REPO / args.build).resolve()
    speech = pathlib.Path(os.environ.get("VOXGATE_SPEECH_DIR", REPO.parent / "shared" / "speech"))
    dev = speech / "resemblyzer-librispeech" / "librispeech_test-other"
    speakers = sorted(d for d in dev.iterdir() if d.is_dir() and len(list(d.glob("*.flac"))) >= 6)
    speakers = speakers[: args.speakers]

    tmp = tempfile.TemporaryDirectory(prefix="voxgate-sipbench-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOXGATE_")}
    env.update({
        "VOXGATE_MODEL_PATH": str(REPO / "models" / "voxgate-starter.onnx"),
        "VOXGATE_SERVER_HOST": "127.0.0.1",
        "VOXGATE_SERVER_RATE_LIMIT_ENABLED": "false",
        "VOXGATE_SIP_ENABLED": "true",
        "VOXGATE_SIP_PORT": "0",
        "VOXGATE_SIP_MAX_CALLS": "1000",
        "VOXGATE_CALLS_MEDIA_TIMEOUT_S": "2",
        "VOXGATE_LOG_LEVEL": "warn",
    })
    log = open(os.path.join(tmp.name, "server.log"), "w")
    server = subprocess.Popen(
        [str(build / "voxgate"), "serve", "--config", str(REPO / "config" / "voxgate.yaml"),
         "--port", "0", "--data-dir", os.path.join(tmp.name, "data"), "--dev"],
        env=env, stdout=subprocess.PIPE, stderr=log, text=True, cwd=tmp.name)
    http_port = sip_port = None
    while http_port is None:
        line = server.stdout.readline()
        if not line:
            sys.exit("voxgate exited; see " + log.name)
        if m := re.search(r"SIP on [0-9.]+:(\d+)", line):
            sip_port = int(m.group(1))
        if m := re.search(r"listening on [0-9.]+:(\d+)", line):
            http_port = int(m.group(1))
    threading.Thread(target=lambda: [None for _ in server.stdout], daemon=True).start()

    call_files = []
    for d in speakers:
        flacs = sorted(d.glob("*.flac"))
        body, ctype = multipart({"user_id": d.name, "name": "Speaker " + d.name},
                                [("audio", str(f)) for f in flacs[:3]])
        status, _ = http(http_port, "/api/v1/voiceprint/register", body, ctype)
        assert status == 201, status
        call_files.append(str(max(flacs[3:], key=lambda f: f.stat().st_size)))
    print(f"voxgate pid {server.pid}: SIP on {sip_port}, {len(speakers)} speakers enrolled; "
          f"{os.cpu_count()} cores; {args.seconds:.0f} s calls at {args.rate} calls/s, PCMU, "
          f"scenario {args.scenario}")
    print(f"{'calls':>5} {'cpu/call':>9} {'calls/core':>10} {'server cpu':>10} {'machine':>8} "
          f"{'p99 lag':>8} {'max lag':>8} {'dropped':>7} {'overruns':>8} "
          f"{'decide p50':>10} {'p99':>7} {'right':>7}")

    best = None
    earlier = set()  # sessions of the previous levels
    for n in [int(x) for x in args.calls.split(",")]:
        out = os.path.join(tmp.name, f"p{n}")
        player = (f"{build / 'tests' / 'voxgate_rtp_player'} --codec pcmu --loop 0 "
                  f"--duration-s {args.seconds} --file {','.join(call_files)}")
        lag0 = lag_buckets(http_port)
        drop0 = metric(http_port, 'voxgate_audio_frames_dropped_total{kind="live"}')
        over0 = metric(http_port, "voxgate_call_tick_overruns_total")
        sipp = subprocess.Popen(
            ["sipp", f"127.0.0.1:{sip_port}", "-sf", str(REPO / "tests/telephony/sipp/uac_speech.xml"),
             "-s", args.scenario, "-i", "127.0.0.1", "-mi", "127.0.0.1", "-m", str(n), "-l", str(n),
             "-r", str(args.rate), "-key", "pt", "0", "-key", "rtpmap", "PCMU/8000", "-key",
             "te_rate", "8000", "-key", "player", player, "-key", "outfile", out, "-nostdin",
             "-timeout", f"{int(args.seconds + 120)}s", "-max_socket", "2000"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp.name)
        seen = {}
        # Wait until every call is up, then measure a steady window.
        t_end = time.time() + n / args.rate + 20
        while time.time() < t_end:
            j = json.loads(http(http_port, "/api/v1/sessions")[1])
            for s in j["sessions"]:
                seen[s["id"]] = s
            if j["active"] >= n:
                break
            time.sleep(0.5)
        time.sleep(3)
        c0, m0, w0 = cpu_seconds(server.pid), machine_busy(), time.time()
        window = max(5.0, args.seconds - n / args.rate - 8)
        # Nothing polls the server inside the window (listing N sessions costs CPU too).
        time.sleep(window)
        c1, m1, w1 = cpu_seconds(server.pid), machine_busy(), time.time()
        for s in json.loads(http(http_port, "/api/v1/sessions")[1])["sessions"]:
            seen[s["id"]] = s
        sipp.wait()
        for _ in range(100):
            j = json.loads(http(http_port, "/api/v1/sessions?include_ended=true")[1])
            for s in j["sessions"]:
                seen[s["id"]] = s
            if j["active"] == 0:
                break
            time.sleep(0.5)
        calls = [s for i, s in seen.items() if s.get("kind") == "sip" and i not in earlier]
        earlier.update(seen)
        lag1 = lag_buckets(http_port)
        dropped = metric(http_port, 'voxgate_audio_frames_dropped_total{kind="live"}') - drop0
        overruns = metric(http_port, "voxgate_call_tick_overruns_total") - over0
        p99 = quantile_from_buckets(lag0, lag1, 0.99)
        max_lag = max((s["qos"]["totals"]["processing_lag_ms"]["max"] or 0) for s in calls) if calls else float("nan")
        latencies, right, decided = [], 0, 0
        for s in calls:
            d = [x for x in s.get("decisions", []) if x.get("type") == "decision" and x.get("decision") != "inconclusive"]
            if not d:
                continue
            decided += 1
            if "latency_ms" in d[0]:
                latencies.append(d[0]["latency_ms"])
            call_no = s["info"]["call_id"].split("-")[0]
            try:
                summary = json.loads(pathlib.Path(f"{out}-{call_no}.json").read_text())
                if pathlib.Path(summary["file"]).parent.name == d[0].get("user_id"):
                    right += 1
            except (OSError, ValueError, KeyError):
                pass
        server_cpu = (c1 - c0) / (w1 - w0)
        machine = (m1[0] - m0[0]) / max(1, m1[1] - m0[1]) * os.cpu_count()
        per_call = server_cpu / n
        ok = p99 < 0.1 and dropped == 0
        if ok:
            best = n
        print(f"{n:>5} {per_call * 100:>8.2f}% {1 / per_call:>10.0f} {server_cpu * 100:>9.0f}% "
              f"{machine * 100:>7.0f}% {p99 * 1000:>6.1f}ms {max_lag:>6.0f}ms {dropped:>7.0f} "
              f"{overruns:>8.0f} {pct(latencies, 0.5):>8.0f}ms {pct(latencies, 0.99):>5.0f}ms "
              f"{right:>3}/{decided:<3}{'' if ok else '  <- over budget'}", flush=True)
    print(f"max calls with p99 processing lag < 100 ms and no frame dropped: {best}")
    server.terminate()
    server.wait(timeout=60)


if __name__ == "__main__":
    main()
