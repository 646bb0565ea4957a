"""Delay accuracy of the live edge (``edgesim edge serve``) at many concurrent connections.

Starts ``python -m edgesim.cli.edge serve scenarios/live-edge.yaml --rtt 80ms`` (every
client gets the same emulated 80 ms round trip; ``--workers N`` for N SO_REUSEPORT
processes), warms the cached 10 KB object, then runs bench_delay.py's closed-loop client: N
keep-alive connections (1,000 by default), each sending its next request when the answer
arrives, for S seconds (the first second not counted). Every answer is a cache hit; the
client-side error is request sent → response read, minus the configured RTT, in ms.

With one worker the edge is pinned to CPU 0 and the client to CPU 1 (two or more CPUs); with
several workers the edge processes are not pinned.

Usage: .venv/bin/python bench/bench_edge_delay.py [--connections 1000] [--rtt-ms 80]
       [--seconds 10] [--workers 1]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_delay  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def _wait(url: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise SystemExit(f"the edge exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                r.read()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"no answer from {url}")


def run(connections: int, rtt_ms: float, seconds: float, workers: int) -> list[float]:
    base = _free_port()
    cmd = [
        sys.executable,
        "-m",
        "edgesim.cli.edge",
        "serve",
        str(ROOT / "scenarios" / "live-edge.yaml"),
        "--base-port",
        str(base),
        "--rtt",
        f"{rtt_ms}ms",
        "--workers",
        str(workers),
        "--origin-header",
        "Cache-Control: max-age=3600",
    ]
    pin = workers == 1 and len(os.sched_getaffinity(0)) >= 2
    if pin:
        cmd = ["taskset", "-c", str(sorted(os.sched_getaffinity(0))[0]), *cmd]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL)  # errors on stderr
    try:
        # PoP 0 of the listing; every worker's cache must be warm, so ask a few times.
        url = f"http://127.0.0.1:{base}/"
        _wait(url, proc)
        for _ in range(20 * workers):
            with urllib.request.urlopen(url, timeout=5) as r:
                r.read()
        ctx = mp.get_context("fork")
        parent, child = ctx.Pipe()
        client = ctx.Process(
            target=bench_delay._client,
            args=(child, base, connections, rtt_ms / 1e3, seconds, "uvloop"),
        )
        client.start()
        _server_errors, client_errors = parent.recv()
        client.join(30)
        errors: list[float] = client_errors
        return errors
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--rtt-ms", type=float, default=80.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--workers", type=int, nargs="+", default=[1])
    args = ap.parse_args()
    print(
        f"{args.connections} connections, {args.rtt_ms:g} ms emulated RTT, {args.seconds:g} s, "
        f"{os.cpu_count()} CPUs; client-observed error = observed − configured, ms"
    )
    print(
        f"{'workers':>7} {'requests':>9} {'req/s':>7} {'p50':>7} {'p99':>7} {'max':>7} {'min':>7}"
    )
    for w in args.workers:
        v = run(args.connections, args.rtt_ms, args.seconds, w)
        if not v:
            print(f"{w:>7} no samples")
            continue
        rate = len(v) / (args.seconds - bench_delay.WARMUP_S)
        pct = bench_delay._pct
        print(
            f"{w:>7} {len(v):>9} {rate:>7.0f} {pct(v, 50):>7.3f} {pct(v, 99):>7.3f} "
            f"{max(v):>7.3f} {min(v):>7.3f}"
        )


if __name__ == "__main__":
    main()
