"""Soak test of `edgesim serve` (loopback only; stops by itself).

    .venv/bin/python bench/soak.py [--seconds 600] [--fault-every 20] [--sample-every 10]
                                   [--warmup 120] [--scenario scenarios/quickstart.yaml]

Starts the stack as a separate process, then for SECONDS (default 10 minutes) sends mixed
traffic from several client groups (dig-style DNS queries with dnspython from 127.1.x.y,
HTTP requests to the answered PoPs and endpoints from the same addresses) while a fault
injector fails or recovers a region, PoP or endpoint through the control API every
FAULT_EVERY seconds. Every SAMPLE_EVERY seconds it prints one line (stderr) with the
server's RSS, its open descriptors and the answer latency seen by the clients in that
interval (DNS and HTTP, p50/p95/max). Checks:

* no errors beyond the modelled ones (a 503 from a failed endpoint, PoP or origin is
  modelled; timeouts, refused connections, 500s and DNS failures are not);
* after the warm-up, RSS and open descriptors grow less than 5 % (last sample against the
  first sample after the warm-up);
* SIGTERM stops it cleanly (exit 0) — the time is printed.

Prints a JSON summary (stdout, with every sample); exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import dns.message
import dns.query

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "soak-token"
LAUNCH = "from edgesim.cli.serve import serve; serve()"
GROUPS = ["tokyo", "london", "new-york", "sao-paulo", "mumbai", "sydney", "lagos", "paris"]
FAULTS = [
    "region:us-east-1",
    "region:eu-west-1",
    "pop:NRT57",
    "pop:LHR50",
    "endpoint:api-apne1",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def open_fds(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/fd").iterdir()))


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


class Soak:
    def __init__(
        self,
        scenario: Path,
        seconds: float,
        clients: int,
        *,
        fault_every_s: float = 20.0,
        sample_every_s: float = 10.0,
        warmup_s: float | None = None,
    ) -> None:
        self.scenario = scenario
        self.seconds = seconds
        self.clients = clients
        self.fault_every_s = fault_every_s
        self.sample_every_s = sample_every_s
        self.warmup_s = min(120.0, seconds / 3) if warmup_s is None else warmup_s
        self.dns_ms: list[float] = []
        self.http_ms: list[float] = []
        self.dns_port, self.edge_port, self.cport = free_port(), free_port(), free_port()
        self.counts: Counter[str] = Counter()
        self.unexpected: list[str] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.groups: list[str] = []

    def api(self, method: str, path: str, body: object = None) -> tuple[int, object]:
        conn = http.client.HTTPConnection("127.0.0.1", self.cport, timeout=10)
        data = None if body is None else json.dumps(body).encode()
        conn.request(method, path, body=data, headers={"Authorization": f"Bearer {TOKEN}"})
        r = conn.getresponse()
        payload = json.loads(r.read() or b"null")
        conn.close()
        return r.status, payload

    def note(self, key: str, problem: str | None = None) -> None:
        with self.lock:
            self.counts[key] += 1
            if problem is not None and len(self.unexpected) < 50:
                self.unexpected.append(problem)

    def client(self, seed: int) -> None:
        rng = random.Random(seed)
        while not self.stop.is_set():
            name = rng.choice(GROUPS)
            gi = self.groups.index(name)
            src = f"127.1.{gi // 256}.{gi % 256}"
            host = rng.choice(["www.shop.example.com", "api.shop.example.com"])
            try:
                q = dns.message.make_query(host, "A")
                t0 = time.perf_counter()
                r = dns.query.udp(q, "127.0.0.1", port=self.dns_port, source=src, timeout=5)
                dns_ms = (time.perf_counter() - t0) * 1000
                addrs = [str(rd) for rrset in r.answer for rd in rrset]
            except Exception as exc:
                self.note("dns_error", f"dns {name} {host}: {exc!r}")
                continue
            if not addrs:
                self.note("dns_empty", f"dns {name} {host}: no answer")
                continue
            self.note("dns_ok")
            with self.lock:
                self.dns_ms.append(dns_ms)
            path = f"/obj/{rng.randint(0, 100)}.js" if host.startswith("www") else "/orders"
            try:
                t0 = time.perf_counter()
                conn = http.client.HTTPConnection(
                    addrs[0], self.edge_port, timeout=10, source_address=(src, 0)
                )
                conn.request("GET", path, headers={"Host": host})
                resp = conn.getresponse()
                resp.read()
                conn.close()
                http_ms = (time.perf_counter() - t0) * 1000
            except Exception as exc:
                self.note("http_error", f"http {name} {addrs[0]}{path}: {exc!r}")
                continue
            with self.lock:
                self.http_ms.append(http_ms)
            if resp.status == 200:
                self.note("http_ok")
            elif resp.status in (502, 503, 504):
                self.note("http_modelled_5xx")
            else:
                self.note("http_unexpected", f"http {name} {addrs[0]}{path}: {resp.status}")

    def faults(self) -> None:
        rng = random.Random(7)
        down: list[str] = []
        while not self.stop.wait(self.fault_every_s):
            if down and (len(down) >= 2 or rng.random() < 0.5):
                target = down.pop(rng.randrange(len(down)))
                status, _ = self.api("POST", "/v1/recover", {"target": target})
            else:
                target = rng.choice([f for f in FAULTS if f not in down])
                status, _ = self.api("POST", "/v1/fail", {"target": target})
                down.append(target)
            self.note("faults" if status == 200 else "fault_refused")
        for target in down:
            self.api("POST", "/v1/recover", {"target": target})

    def sample(self, pid: int, t_s: float) -> dict[str, object]:
        """RSS, descriptors and the latencies answered since the previous sample."""
        with self.lock:
            dns_ms, self.dns_ms = self.dns_ms, []
            http_ms, self.http_ms = self.http_ms, []
            faults = self.counts["faults"]
        return {
            "t_s": round(t_s, 1),
            "rss_kb": rss_kb(pid),
            "fds": open_fds(pid),
            "faults": faults,
            "dns": len(dns_ms),
            "dns_ms": {"p50": pct(dns_ms, 0.5), "p95": pct(dns_ms, 0.95), "max": pct(dns_ms, 1)},
            "http": len(http_ms),
            "http_ms": {
                "p50": pct(http_ms, 0.5),
                "p95": pct(http_ms, 0.95),
                "max": pct(http_ms, 1),
            },
        }

    def run(self) -> dict[str, object]:
        cmd = [sys.executable, "-c", LAUNCH, str(self.scenario), "--speed", "10"]
        cmd += ["--dns-port", str(self.dns_port), "--edge-port", str(self.edge_port)]
        cmd += ["--control", f"127.0.0.1:{self.cport}", "--token", TOKEN]
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("dashboard:"):
                break
        ready_s = time.monotonic() - t0
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        topo = self.api("GET", "/v1/topology")[1]
        assert isinstance(topo, dict)
        self.groups = [n["name"] for n in topo["nodes"] if n["kind"] == "client"]
        threads = [
            threading.Thread(target=self.client, args=(i,), daemon=True)
            for i in range(self.clients)
        ]
        threads.append(threading.Thread(target=self.faults, daemon=True))
        for t in threads:
            t.start()
        samples: list[dict[str, object]] = []
        began = time.monotonic()
        next_at = began + self.sample_every_s
        while True:
            # the measured duration itself, not synchronisation
            time.sleep(max(0.0, min(next_at, began + self.seconds) - time.monotonic()))
            samples.append(self.sample(proc.pid, time.monotonic() - began))
            print(json.dumps(samples[-1]), file=sys.stderr, flush=True)
            if time.monotonic() - began >= self.seconds - 1e-3:
                break
            next_at += self.sample_every_s
        self.stop.set()
        for t in threads:
            t.join(30)
        metrics = self.api("GET", "/v1/metrics")[1]
        t1 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
        stop_s = time.monotonic() - t1
        after = [x for x in samples if float(x["t_s"]) >= self.warmup_s] or samples[-1:]
        rss_start, rss_end = int(after[0]["rss_kb"]), int(after[-1]["rss_kb"])
        fds_start, fds_end = int(after[0]["fds"]), int(after[-1]["fds"])
        growth = (rss_end - rss_start) / rss_start if rss_start else 0.0
        fd_growth = (fds_end - fds_start) / fds_start if fds_start else 0.0
        errors = sum(self.counts[k] for k in ("dns_error", "dns_empty", "http_error"))
        errors += self.counts["http_unexpected"]
        summary: dict[str, object] = {
            "seconds": self.seconds,
            "clients": self.clients,
            "ready_s": round(ready_s, 2),
            "counts": dict(self.counts),
            "unexpected_errors": errors,
            "examples": self.unexpected[:10],
            "fault_every_s": self.fault_every_s,
            "warmup_s": self.warmup_s,
            "rss_kb": [rss_start, rss_end],
            "rss_growth_pct": round(100 * growth, 2),
            "fds": [fds_start, fds_end],
            "fd_growth_pct": round(100 * fd_growth, 2),
            "samples": samples,
            "server_totals": metrics.get("totals") if isinstance(metrics, dict) else None,
            "exit_code": code,
            "shutdown_s": round(stop_s, 3),
        }
        summary["ok"] = (
            errors == 0 and growth < 0.05 and fd_growth < 0.05 and code == 0 and stop_s < 2.0
        )
        return summary


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=600.0, help="duration (default 10 min)")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--fault-every", type=float, default=20.0, help="seconds between faults")
    ap.add_argument("--sample-every", type=float, default=10.0, help="seconds between samples")
    ap.add_argument(
        "--warmup", type=float, default=None, help="seconds (default: a third, at most 120)"
    )
    ap.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "quickstart.yaml")
    args = ap.parse_args()
    summary = Soak(
        args.scenario,
        args.seconds,
        args.clients,
        fault_every_s=args.fault_every,
        sample_every_s=args.sample_every,
        warmup_s=args.warmup,
    ).run()
    print(json.dumps(summary, indent=2))
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
