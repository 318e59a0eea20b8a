#!/usr/bin/env python3
"""Gateway overhead per request: `voxgate gateway` + one node against the node alone, same run.

Starts `voxgate serve --dev` (embedded defaults, the tiny test model, rate limiting off) and
`voxgate gateway` in front of it (static --node, round_robin), both on loopback. For each request
kind and concurrency, wrk loads the node directly and then through the gateway, alternating, for
--seconds each: throughput, p50/p99 latency, and the gateway's cost as the p50 difference and the
throughput ratio (gateway / node). Request kinds:
  stats   GET /api/v1/stats (JSON built from the service and the store: a light request, so the
          proxy's own cost shows)
  openapi GET /api/v1/openapi.json (a static document of some 50 KB: the cost of relaying a
          larger body)
(The gateway answers GET /health itself, so that route would not measure forwarding.)
All three processes (wrk, gateway, node) share the machine's cores: on a small machine the
gateway's CPU is taken from the node, which is what a co-located gateway costs. Prints figures;
asserts nothing.

Usage: bench/gateway_bench.py [--build build] [--seconds 10] [--connections 1,8]
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

REPO = pathlib.Path(__file__).resolve().parent.parent
KINDS = {"stats": "/api/v1/stats", "openapi": "/api/v1/openapi.json"}


def start(cmd, env, cwd):
    """Starts a voxgate process and returns (process, port) once it prints its listening line."""
    p = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True)
    for line in p.stdout:
        if line.startswith("voxgate: listening on "):
            return p, int(line.strip().rsplit(":", 1)[1])
    raise SystemExit(f"gateway_bench: {' '.join(cmd[:2])} exited before listening")


def wrk(port, path, connections, seconds):
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
                          "-s", str(REPO / "bench/wrk/summary.lua"),
                          f"http://127.0.0.1:{port}{path}"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads([l for l in out.splitlines() if l.startswith('{"requests"')][-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", default="1,8")
    args = ap.parse_args()
    voxgate = str(REPO / args.build / "voxgate")
    model = REPO / args.build / "testdata/tiny_sherpa.onnx"
    for need in (voxgate, model):
        if not os.path.exists(need):
            sys.exit(f"gateway_bench: {need} missing: build first (scripts/build.sh)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOXGATE_")}
    env.update(VOXGATE_MODEL_PATH=str(model), VOXGATE_SERVER_RATE_LIMIT_ENABLED="false",
               VOXGATE_LOG_LEVEL="warn", VOXGATE_SERVER_HOST="127.0.0.1",
               VOXGATE_SERVER_ACCESS_LOG="false")
    with tempfile.TemporaryDirectory(prefix="voxgate-gw-bench-") as tmp:
        node, node_port = start([voxgate, "serve", "--dev", "--port", "0",
                                 "--data-dir", tmp + "/data"], env, tmp)
        gw, gw_port = start([voxgate, "gateway", "--host", "127.0.0.1", "--port", "0",
                             "--node", f"127.0.0.1:{node_port}"], env, tmp)
        try:
            print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}; "
                  f"{args.seconds} s per run, wrk 1 thread")
            print(f"{'request':8} {'conns':>5} {'node rps':>9} {'gw rps':>9} {'gw/node':>7} "
                  f"{'node p50':>9} {'gw p50':>8} {'+p50 ms':>8} {'node p99':>9} {'gw p99':>8} "
                  f"{'errors':>6}")
            for kind, path in KINDS.items():
                for c in [int(x) for x in args.connections.split(",")]:
                    wrk(node_port, path, c, 1)  # warm both (connections, caches)
                    wrk(gw_port, path, c, 1)
                    n = wrk(node_port, path, c, args.seconds)
                    g = wrk(gw_port, path, c, args.seconds)
                    errors = sum(n[k] + g[k] for k in n if k.startswith("errors"))
                    print(f"{kind:8} {c:>5} {n['rps']:>9.0f} {g['rps']:>9.0f} "
                          f"{g['rps'] / n['rps']:>7.2f} {n['p50_ms']:>9.3f} {g['p50_ms']:>8.3f} "
                          f"{g['p50_ms'] - n['p50_ms']:>8.3f} {n['p99_ms']:>9.3f} "
                          f"{g['p99_ms']:>8.3f} {errors:>6}", flush=True)
        finally:
            for p in (gw, node):
                p.terminate()
                p.wait(timeout=30)


if __name__ == "__main__":
    main()
