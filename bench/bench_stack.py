"""Benchmark `edgesim serve`: start-up time, and DNS / edge throughput of the combined stack
against the single-service commands (`edgesim dns serve`, `edgesim edge serve`), measured
the same way as bench/bench_dns.sh (dnsperf, -c 4) and bench/bench_edge.sh (wrk -t1 -c50,
one cached 10 KB object, --no-delay). Servers on CPU 0, load generators on CPU 1 when there
are two CPUs. Loopback only.

    .venv/bin/python bench/bench_stack.py [--seconds 10] [--starts 5]

Numbers go to bench/stack-notes.md by hand.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"
LIVE_EDGE = ROOT / "scenarios" / "live-edge.yaml"
PIN = os.cpu_count() is not None and (os.cpu_count() or 1) >= 2
EDGESIM = [sys.executable, "-c", "from edgesim.cli import main; main()"]
SERVE = [sys.executable, "-m", "edgesim.cli.serve"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pinned(cmd: list[str], cpu: int) -> list[str]:
    return ["taskset", "-c", str(cpu), *cmd] if PIN and shutil.which("taskset") else cmd


@contextmanager
def server(cmd: list[str], ready: str) -> Iterator[list[str]]:
    proc = subprocess.Popen(pinned(cmd, 0), cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if ready in line:
            break
    try:
        yield lines
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def startup(n: int) -> list[float]:
    out = []
    for _ in range(n):
        args = ["--dns-port", str(free_port()), "--edge-port", str(free_port())]
        args += ["--control", f"127.0.0.1:{free_port()}"]
        t0 = time.monotonic()
        with server([*SERVE, str(QUICKSTART), *args], "dashboard:"):
            out.append(time.monotonic() - t0)
    return out


def dnsperf(port: int, name: str, seconds: int) -> float:
    qfile = Path("/tmp/edgesim-bench-q.txt")
    qfile.write_text(f"{name} A\n")
    res = subprocess.run(
        pinned(
            [
                "dnsperf",
                "-s",
                "127.0.0.1",
                "-p",
                str(port),
                "-d",
                str(qfile),
                "-l",
                str(seconds),
                "-c",
                "4",
                "-Q",
                "500000",
            ],
            1,
        ),
        capture_output=True,
        text=True,
    )
    m = re.search(r"Queries per second:\s+([\d.]+)", res.stdout)
    return float(m.group(1)) if m else 0.0


def wrk(url: str, seconds: int) -> float:
    res = subprocess.run(
        pinned(["wrk", "-t1", "-c50", f"-d{seconds}s", url], 1), capture_output=True, text=True
    )
    m = re.search(r"Requests/sec:\s+([\d.]+)", res.stdout)
    return float(m.group(1)) if m else 0.0


def warm(url: str) -> None:
    for _ in range(3):
        urllib.request.urlopen(url, timeout=10).read()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--starts", type=int, default=5)
    a = ap.parse_args()
    s = startup(a.starts)
    print(f"start-up of edgesim serve quickstart (process start → table printed): {s}")
    print(f"  median {statistics.median(s):.2f} s, max {max(s):.2f} s")

    name = "www.shop.example.com"
    port = free_port()
    with server(
        [*EDGESIM, "dns", "serve", str(QUICKSTART), "--listen", f"127.0.0.1:{port}"], "DNS on"
    ):
        alone = dnsperf(port, name, a.seconds)
    port = free_port()
    cmd = [*SERVE, str(QUICKSTART), "--dns-port", str(port), "--edge-port", str(free_port())]
    with server([*cmd, "--control", f"127.0.0.1:{free_port()}", "--no-delay"], "dashboard:"):
        stacked = dnsperf(port, name, a.seconds)
    print(
        f"DNS qps ({name} A): dns serve {alone:.0f}, serve {stacked:.0f} "
        f"({stacked / alone - 1:+.1%})"
    )

    eport = free_port()
    path = "/static/bench.js"
    with server(
        [*EDGESIM, "edge", "serve", str(LIVE_EDGE), "--no-delay", "--base-port", str(eport)],
        "Ctrl-C stops",
    ):
        url = f"http://127.0.0.1:{eport}{path}"
        warm(url)
        alone = wrk(url, a.seconds)
    eport = free_port()
    cmd = [*SERVE, str(LIVE_EDGE), "--no-delay", "--edge-port", str(eport)]
    cmd += ["--dns-port", str(free_port()), "--control", f"127.0.0.1:{free_port()}"]
    with server(cmd, "dashboard:") as lines:
        m = re.search(r"http://(127\.3\.[\d.]+):", "".join(lines))
        assert m, "no edge in the table"
        url = f"http://{m.group(1)}:{eport}{path}"
        warm(url)
        stacked = wrk(url, a.seconds)
    print(
        f"edge req/s (cached 10 KB): edge serve {alone:.0f}, serve {stacked:.0f} "
        f"({stacked / alone - 1:+.1%})"
    )


if __name__ == "__main__":
    main()
