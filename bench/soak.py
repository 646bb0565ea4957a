"""Soak test of `edgesim serve` (loopback only; stops by itself).

    .venv/bin/python bench/soak.py [--seconds 60] [--scenario scenarios/quickstart.yaml]

Starts the stack as a separate process, then for SECONDS sends mixed traffic from several
client groups (dig-style DNS queries with dnspython from 127.1.x.y, HTTP requests to the
answered PoPs and endpoints from the same addresses) while a fault injector fails and
recovers regions, PoPs and endpoints through the control API. Checks:

* no errors beyond the modelled ones (a 503 from a failed endpoint, PoP or origin is
  modelled; timeouts, refused connections, 500s and DNS failures are not);
* the server's RSS grows less than 10 % from the end of the warm-up to the end;
* SIGTERM stops it cleanly (exit 0) — the time is printed.

Prints a JSON summary; exit status 1 when a check fails.
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


class Soak:
    def __init__(self, scenario: Path, seconds: float, clients: int) -> None:
        self.scenario = scenario
        self.seconds = seconds
        self.clients = clients
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
                r = dns.query.udp(q, "127.0.0.1", port=self.dns_port, source=src, timeout=5)
                addrs = [str(rd) for rrset in r.answer for rd in rrset]
            except Exception as exc:
                self.note("dns_error", f"dns {name} {host}: {exc!r}")
                continue
            if not addrs:
                self.note("dns_empty", f"dns {name} {host}: no answer")
                continue
            self.note("dns_ok")
            path = f"/obj/{rng.randint(0, 100)}.js" if host.startswith("www") else "/orders"
            try:
                conn = http.client.HTTPConnection(
                    addrs[0], self.edge_port, timeout=10, source_address=(src, 0)
                )
                conn.request("GET", path, headers={"Host": host})
                resp = conn.getresponse()
                resp.read()
                conn.close()
            except Exception as exc:
                self.note("http_error", f"http {name} {addrs[0]}{path}: {exc!r}")
                continue
            if resp.status == 200:
                self.note("http_ok")
            elif resp.status in (502, 503, 504):
                self.note("http_modelled_5xx")
            else:
                self.note("http_unexpected", f"http {name} {addrs[0]}{path}: {resp.status}")

    def faults(self) -> None:
        rng = random.Random(7)
        down: list[str] = []
        while not self.stop.wait(2.0):
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
        warm = self.seconds / 3  # caches fill during the warm-up
        time.sleep(warm)  # the measured duration itself, not synchronisation
        rss_start = rss_kb(proc.pid)
        time.sleep(self.seconds - warm)
        self.stop.set()
        for t in threads:
            t.join(30)
        rss_end = rss_kb(proc.pid)
        metrics = self.api("GET", "/v1/metrics")[1]
        t1 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
        stop_s = time.monotonic() - t1
        growth = (rss_end - rss_start) / rss_start if rss_start else 0.0
        errors = sum(self.counts[k] for k in ("dns_error", "dns_empty", "http_error"))
        errors += self.counts["http_unexpected"]
        summary: dict[str, object] = {
            "seconds": self.seconds,
            "clients": self.clients,
            "ready_s": round(ready_s, 2),
            "counts": dict(self.counts),
            "unexpected_errors": errors,
            "examples": self.unexpected[:10],
            "rss_kb": [rss_start, rss_end],
            "rss_growth_pct": round(100 * growth, 2),
            "server_totals": metrics.get("totals") if isinstance(metrics, dict) else None,
            "exit_code": code,
            "shutdown_s": round(stop_s, 3),
        }
        summary["ok"] = errors == 0 and growth < 0.10 and code == 0 and stop_s < 2.0
        return summary


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "quickstart.yaml")
    args = ap.parse_args()
    summary = Soak(args.scenario, args.seconds, args.clients).run()
    print(json.dumps(summary, indent=2))
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
