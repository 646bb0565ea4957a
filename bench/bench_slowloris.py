"""Answer latency of `edgesim serve` under a slowloris (loopback only; stops by itself).

    .venv/bin/python bench/bench_slowloris.py [--idle 500] [--requests 300] [--rounds 3]

Starts the stack as a separate process (quickstart, no emulated delay), then alternates
rounds: REQUESTS sequential ``GET /v1/state`` and DNS queries with no other client (the
anchor), and the same with IDLE connections to the control API holding half-sent request
heads open, a share of them trickling one byte between requests. Prints p50/p95/p99/max per
condition (all rounds pooled) and the ratio to the anchor; exit status 1 when a request
fails or the p99 under attack is 50 ms or more (issue 17's target).
"""

from __future__ import annotations

import argparse
import http.client
import json
import platform
import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import dns.message
import dns.query

ROOT = Path(__file__).resolve().parent.parent
LAUNCH = "import sys; from edgesim.cli import main; main(['serve', *sys.argv[1:]])"
TARGET_P99_MS = 50.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": pct(values, 0.5),
        "p95": pct(values, 0.95),
        "p99": pct(values, 0.99),
        "max": round(max(values), 2),
    }


def measure(cport: int, dport: int, n: int, idle: list[socket.socket]) -> tuple[list[float], ...]:
    api_ms: list[float] = []
    dns_ms: list[float] = []
    q = dns.message.make_query("www.shop.example.com", "A")
    for i in range(n):
        for s in idle[i % 10 :: 10]:  # a tenth of them trickle a byte
            s.sendall(b"a")
        t0 = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", cport, timeout=10)
        conn.request("GET", "/v1/state")
        r = conn.getresponse()
        r.read()
        conn.close()
        api_ms.append((time.perf_counter() - t0) * 1000)
        if r.status != 200:
            raise RuntimeError(f"/v1/state answered {r.status}")
        t0 = time.perf_counter()
        dns.query.udp(q, "127.0.0.1", port=dport, source="127.1.0.0", timeout=5)
        dns_ms.append((time.perf_counter() - t0) * 1000)
    return api_ms, dns_ms


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--idle", type=int, default=500)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < args.idle + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, args.idle + 1000), hard))
    dport, eport, cport = free_port(), free_port(), free_port()
    cmd = [sys.executable, "-c", LAUNCH, str(ROOT / "scenarios" / "quickstart.yaml")]
    cmd += ["--no-delay", "--dns-port", str(dport), "--edge-port", str(eport)]
    cmd += ["--control", f"127.0.0.1:{cport}", "--token", "bench"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("dashboard:"):
            break
    results: dict[str, dict[str, list[float]]] = {
        "anchor": {"api": [], "dns": []},
        "slowloris": {"api": [], "dns": []},
    }
    try:
        measure(cport, dport, 50, [])  # warm-up
        for _ in range(args.rounds):
            api, dns_ = measure(cport, dport, args.requests, [])
            results["anchor"]["api"] += api
            results["anchor"]["dns"] += dns_
            idle = []
            for i in range(args.idle):
                s = socket.create_connection(("127.0.0.1", cport), timeout=10)
                s.sendall(f"GET /v1/state HTTP/1.1\r\nHost: 127.0.0.1:{cport}\r\nX-{i}: ".encode())
                idle.append(s)
            try:
                api, dns_ = measure(cport, dport, args.requests, idle)
            finally:
                for s in idle:
                    s.close()
            results["slowloris"]["api"] += api
            results["slowloris"]["dns"] += dns_
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    out: dict[str, object] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {len(__import__('os').sched_getaffinity(0))} cores",
        "idle_connections": args.idle,
        "requests_per_condition": args.requests * args.rounds,
    }
    for cond, per in results.items():
        out[cond] = {k: summary(v) for k, v in per.items()}
    anchor = {k: summary(v) for k, v in results["anchor"].items()}
    attacked = {k: summary(v) for k, v in results["slowloris"].items()}
    out["ratio_p99"] = {k: round(attacked[k]["p99"] / anchor[k]["p99"], 2) for k in anchor}
    print(json.dumps(out, indent=2))
    return 0 if all(v["p99"] < TARGET_P99_MS for v in attacked.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
