"""The live stack (edgesim serve): DNS → edge → origin with a client group's address, the
control API's answers, SSE, the HTTP proxy, ctl, and start-up/shutdown behaviour."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import pytest
from click.testing import CliRunner

from edgesim.cli.ctl import ctl
from edgesim.cli.serve import serve
from edgesim.live.stack import Stack, StackConfig, StackError

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"
LIVE_EDGE = ROOT / "scenarios" / "live-edge.yaml"
TOKEN = "test-token"


class Running:
    """A Stack on its own event loop in a background thread (tests talk to it blocking)."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def call(self, coro: Any) -> Any:
        fut: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return fut.result(timeout=30)

    def __enter__(self) -> Running:
        self.thread.start()
        self.call(self.stack.start())
        return self

    def __exit__(self, *exc: object) -> None:
        self.call(self.stack.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    @property
    def control(self) -> tuple[str, int]:
        assert self.stack.control_bound is not None
        return self.stack.control_bound

    @property
    def dns(self) -> tuple[str, int]:
        assert self.stack.dns_bound is not None
        return self.stack.dns_bound

    def dig(self, name: str, group: int) -> list[str]:
        q = dns.message.make_query(name, "A")
        src = f"127.1.{group // 256}.{group % 256}"
        r = dns.query.udp(q, self.dns[0], port=self.dns[1], source=src, timeout=5)
        return sorted(str(rd) for rrset in r.answer for rd in rrset)

    def api(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = TOKEN,
        raw: bytes | None = None,
    ) -> tuple[int, Any]:
        conn = http.client.HTTPConnection(*self.control, timeout=10)
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        payload = resp.read()
        conn.close()
        try:
            return resp.status, json.loads(payload)
        except ValueError:
            return resp.status, payload


def http_get(
    host: str, port: int, path: str, *, source: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(host, port, timeout=10, source_address=(source, 0))
    conn.request("GET", path, headers=headers or {})
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, body


def config(scenario: Path = QUICKSTART, **kw: Any) -> StackConfig:
    base: dict[str, Any] = {
        "scenario": scenario,
        "dns_port": 0,
        "edge_port": 0,
        "control_port": 0,
        "token": TOKEN,
        "delay": False,
        "metrics_interval_s": 0.05,
    }
    base.update(kw)
    return StackConfig(**base)


@pytest.fixture(scope="module")
def quick() -> Iterator[Running]:
    """One quickstart stack for the read-mostly tests (each test undoes its changes)."""
    with Running(Stack.load(config(http_proxy=("127.0.0.1", 0)))) as r:
        yield r


def test_dns_edge_origin_path_for_a_client_group(quick: Running) -> None:
    tokyo = quick.stack.groups.index("tokyo")
    (pop,) = quick.dig("www.shop.example.com", tokyo)
    assert pop.startswith("127.3.")
    src = f"127.1.{tokyo // 256}.{tokyo % 256}"
    port = quick.stack.edge_port
    headers = {"Host": "www.shop.example.com"}
    status, h, body = http_get(pop, port, "/img/a.png", source=src, headers=headers)
    assert status == 200
    assert len(body) == 10_000
    assert h["x-amz-cf-pop"].startswith("NRT")
    assert h["x-cache"] == "Miss from cloudfront"
    status, h, _ = http_get(pop, port, "/img/a.png", source=src, headers=headers)
    assert h["x-cache"] == "Hit from cloudfront"
    (api,) = quick.dig("api.shop.example.com", tokyo)
    status, _, body = http_get(api, port, "/orders", source=src)
    assert status == 200
    got = json.loads(body)
    assert got["endpoint"] == "api-apne1"
    assert got["group"] == "tokyo"
    snap = quick.stack.metrics.snapshot()["groups"]["tokyo"]
    assert snap["dns"] >= 2
    assert snap["http"] >= 3
    assert snap["errors"] == 0


def test_control_api_answers_and_never_half_changes(quick: Running) -> None:
    ny = quick.stack.groups.index("new-york")
    before_state = quick.api("GET", "/v1/state", token=None)[1]
    assert quick.api("POST", "/v1/fail", {"target": "region:us-east-1"}, token=None)[0] == 401
    assert quick.api("POST", "/v1/fail", {"target": "region:us-east-1"}, token="nope")[0] == 401
    assert quick.api("POST", "/v1/fail", raw=b"{not json")[0] == 400
    assert quick.api("POST", "/v1/fail", {"nothing": 1})[0] == 400
    assert quick.api("POST", "/v1/events", ["a list"])[0] == 400
    assert quick.api("POST", "/v1/events", {"fail": "region:x", "recover": "region:y"})[0] == 400
    status, body = quick.api("POST", "/v1/fail", {"target": "region:atlantis-1"})
    assert status == 404
    assert "atlantis" in body["error"]
    assert quick.api("POST", "/v1/health", {"check": "nope", "healthy": False})[0] == 404
    assert quick.api("POST", "/v1/weight", {"record": "www", "set": "a", "weight": 3})[0] == 404
    assert quick.api("POST", "/v1/weight", {"record": "www", "set": "a", "weight": "3"})[0] == 400
    assert quick.api("POST", "/v1/events", raw=b"x" * 70_000)[0] == 413
    assert quick.api("GET", "/v1/nowhere", token=None)[0] == 404
    after_state = quick.api("GET", "/v1/state", token=None)[1]
    assert after_state["down"] == before_state["down"]
    assert after_state["events"] == before_state["events"]
    assert after_state["version"] == before_state["version"]

    assert quick.dig("api.shop.example.com", ny) == ["127.2.0.0"]  # us-east-1
    status, body = quick.api("POST", "/v1/fail", {"target": "region:us-east-1"})
    assert status == 200
    assert "region:us-east-1" in body["state"]["down"]
    moved = quick.dig("api.shop.example.com", ny)
    assert moved
    assert moved != ["127.2.0.0"]
    # the failed endpoint's server answers 503 to whoever still uses the old answer
    port = quick.stack.edge_port
    status, _, _ = http_get("127.2.0.0", port, "/", source=f"127.1.0.{ny}")
    assert status == 503
    assert quick.api("POST", "/v1/recover", {"target": "region:us-east-1"})[0] == 200
    assert quick.dig("api.shop.example.com", ny) == ["127.2.0.0"]
    routes = quick.api("GET", "/v1/routes", token=None)[1]
    assert routes["api.shop.example.com"]["new-york"] == "endpoint:api-use1"


def test_invalidate_clears_the_live_caches(quick: Running) -> None:
    src = "127.1.0.1"
    (pop,) = quick.dig("www.shop.example.com", 1)
    port, headers = quick.stack.edge_port, {"Host": "www.shop.example.com"}
    for _ in range(2):
        _, h, _ = http_get(pop, port, "/inv/x.css", source=src, headers=headers)
    assert h["x-cache"] == "Hit from cloudfront"
    assert quick.api("POST", "/v1/invalidate", {"distribution": "nope", "paths": ["/*"]})[0] == 404
    assert quick.api("POST", "/v1/invalidate", {"distribution": "site", "paths": ["x"]})[0] == 400
    status, body = quick.api(
        "POST", "/v1/invalidate", {"distribution": "site", "paths": ["/inv/*"]}
    )
    assert status == 200
    assert body["removed"] >= 1
    _, h, _ = http_get(pop, port, "/inv/x.css", source=src, headers=headers)
    assert h["x-cache"] == "Miss from cloudfront"


def test_sse_stream_sends_metrics_changes_and_events(quick: Running) -> None:
    conn = http.client.HTTPConnection(*quick.control, timeout=10)
    conn.request("GET", "/v1/metrics/stream")
    resp = conn.getresponse()
    assert resp.status == 200
    assert resp.getheader("Content-Type") == "text/event-stream"
    tokyo = quick.stack.groups.index("tokyo")
    (old,) = quick.dig("www.shop.example.com", tokyo)
    assert quick.api("POST", "/v1/fail", {"target": "pop:NRT57"})[0] == 200
    kinds: set[str] = set()
    while not {"hello", "metrics", "change", "event"} <= kinds:
        line = resp.readline().decode()
        assert line, "stream ended early"
        if line.startswith("event: "):
            kinds.add(line[7:].strip())
    conn.close()
    # a failed PoP answers 503 to clients that still go there; DNS sends Tokyo elsewhere,
    # and that PoP serves it (started on demand if no group went there before)
    h = {"Host": "www.shop.example.com"}
    status, _, _ = http_get(old, quick.stack.edge_port, "/y", source="127.1.0.0", headers=h)
    assert status == 503
    (new,) = quick.dig("www.shop.example.com", tokyo)
    assert new != old
    quick.call(quick.stack.settle())  # the on-demand listener starts on the stack's loop
    status, hdrs, _ = http_get(new, quick.stack.edge_port, "/y", source="127.1.0.0", headers=h)
    assert status == 200
    assert not hdrs["x-amz-cf-pop"].startswith("NRT57")
    assert quick.api("POST", "/v1/recover", {"target": "pop:NRT57"})[0] == 200


def test_topology_land_and_dashboard_files(quick: Running) -> None:
    _status, topo = quick.api("GET", "/v1/topology", token=None)
    kinds = {n["kind"] for n in topo["nodes"]}
    assert {"region", "pop", "rec", "lz", "wlz", "outpost", "client"} <= kinds
    assert any(n["kind"] == "pop" and n["live"] for n in topo["nodes"])
    land = quick.api("GET", "/v1/land", token=None)[1]
    assert len(land["rings"]) > 100
    for path in ("/", "/static/dashboard.js", "/static/dashboard.css"):
        conn = http.client.HTTPConnection(*quick.control, timeout=10)
        conn.request("GET", path)
        r = conn.getresponse()
        text = r.read().decode()
        assert r.status == 200
        assert "http://" not in text.replace("http://www.w3.org", "")
    assert quick.api("GET", "/static/..%2Fcontrol.py", token=None)[0] == 404


def test_http_proxy_picks_the_client_group(quick: Running) -> None:
    assert quick.stack.proxy_bound is not None
    host, port = quick.stack.proxy_bound

    def via(user: str | None, url: str) -> tuple[int, dict[str, str]]:
        conn = http.client.HTTPConnection(host, port, timeout=10)
        headers = {}
        if user is not None:
            cred = base64.b64encode(f"{user}:x".encode()).decode()
            headers["Proxy-Authorization"] = f"Basic {cred}"
        conn.request("GET", url, headers=headers)
        r = conn.getresponse()
        r.read()
        conn.close()
        return r.status, {k.lower(): v for k, v in r.getheaders()}

    status, h = via("london", "http://www.shop.example.com/p.js")
    assert status == 200
    assert h["x-amz-cf-pop"].startswith("LHR")
    status, h = via("tokyo", "http://www.shop.example.com/p.js")
    assert status == 200
    assert h["x-amz-cf-pop"].startswith("NRT")
    assert via("atlantis", "http://www.shop.example.com/")[0] == 407
    assert via("tokyo", "http://example.org/")[0] == 502


def test_ctl_commands(quick: Running) -> None:
    url = "http://{}:{}".format(*quick.control)
    run = CliRunner().invoke
    env = {"EDGESIM_URL": url, "EDGESIM_TOKEN": TOKEN}
    r = run(ctl, ["state"], env=env)
    assert r.exit_code == 0
    assert "targets" in json.loads(r.output)
    assert run(ctl, ["fail", "region:eu-west-1"], env=env).exit_code == 0
    assert "region:eu-west-1" in quick.stack.ctx.world.down_nodes
    assert run(ctl, ["recover", "region:eu-west-1"], env=env).exit_code == 0
    r = run(ctl, ["fail", "region:atlantis-1"], env=env)
    assert r.exit_code == 1
    assert "404" in r.output
    r = run(ctl, ["--token", "bad", "fail", "region:eu-west-1"], env={"EDGESIM_URL": url})
    assert r.exit_code == 1
    assert "401" in r.output
    assert run(ctl, ["invalidate", "site", "/a/*"], env=env).exit_code == 0
    assert run(ctl, ["health", "nope", "auto"], env=env).exit_code == 1
    assert run(ctl, ["event", '{"fail": "pop:LHR50"}'], env=env).exit_code == 0
    assert run(ctl, ["event", '{"recover": "pop:LHR50"}'], env=env).exit_code == 0
    r = run(ctl, ["watch", "--count", "2"], env=env)
    assert r.exit_code == 0
    assert "hello" in r.output
    assert "metrics:" in r.output
    r = run(ctl, ["--url", "http://127.0.0.1:1", "state"])
    assert r.exit_code == 2
    assert "cannot reach" in r.output


def test_weights_and_health_on_a_small_scenario(tmp_path: Path) -> None:
    scn = tmp_path / "w.yaml"
    scn.write_text(
        LIVE_EDGE.read_text().replace(
            "        - {name: www, alias: cloudfront:site}",
            "        - {name: www, alias: cloudfront:site}\n"
            "        - {name: api, policy: weighted, set: a, weight: 1, alias: endpoint:web-use1}\n"
            "        - {name: api, policy: weighted, set: b, weight: 0, alias: endpoint:web-euw2}",
        )
    )
    with Running(Stack.load(config(scn))) as r:
        assert r.dig("api.example.com", 0) == ["127.2.0.0"]
        status, _ = r.api(
            "POST", "/v1/weight", {"record": "api.example.com", "set": "a", "weight": 0}
        )
        assert status == 200
        status, _ = r.api(
            "POST", "/v1/weight", {"record": "api.example.com", "set": "b", "weight": 9}
        )
        assert status == 200
        assert r.dig("api.example.com", 0) == ["127.2.0.1"]
        assert (
            r.api("POST", "/v1/weight", {"record": "api.example.com", "set": "c", "weight": 1})[0]
            == 404
        )
        assert r.api("POST", "/v1/health", {"check": "x", "healthy": "maybe"})[0] == 400


def test_second_stack_on_the_same_ports_fails_cleanly() -> None:
    with Running(Stack.load(config(LIVE_EDGE))) as r:
        dns_port = r.dns[1]
        clash = Stack.load(config(LIVE_EDGE, dns_port=dns_port))
        loop = asyncio.new_event_loop()
        try:
            with pytest.raises(StackError, match="already in use"):
                loop.run_until_complete(clash.start())
        finally:
            loop.close()
        assert clash._runners == []
        assert clash.edge is None
        assert r.dig("www.example.com", 0)  # the first one still answers


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve_cmd(*extra: str) -> list[str]:
    return [sys.executable, "-m", "edgesim.cli.serve", str(LIVE_EDGE), *extra]


@pytest.mark.slow
def test_serve_command_port_clash_and_sigterm() -> None:
    dns_port, edge_port, cport = _free_port(), _free_port(), _free_port()
    args = ["--dns-port", str(dns_port), "--edge-port", str(edge_port)]
    args += ["--control", f"127.0.0.1:{cport}", "--token", TOKEN]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    first = subprocess.Popen(
        _serve_cmd(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert first.stdout is not None
        out = []
        for line in first.stdout:
            out.append(line)
            if line.startswith("dashboard:"):
                break
        text = "".join(out)
        assert "dig @127.0.0.1 -p" in text
        assert "curl" in text
        assert "ready in" in text
        second = subprocess.run(
            _serve_cmd(*args), capture_output=True, text=True, env=env, timeout=60
        )
        assert second.returncode == 2
        assert "already in use" in second.stderr
        assert "Traceback" not in second.stderr
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=20) == 0
        assert "Traceback" not in first.stderr.read() if first.stderr else True
    finally:
        with contextlib.suppress(ProcessLookupError):
            first.kill()
        first.wait(timeout=10)


def test_public_listen_needs_allow_public() -> None:
    r = CliRunner().invoke(serve, [str(LIVE_EDGE), "--listen-host", "0.0.0.0"])
    assert r.exit_code == 2
    assert "--allow-public" in r.output
    r = CliRunner().invoke(serve, [str(LIVE_EDGE), "--only", "nope"])
    assert r.exit_code == 2
    assert "unknown component" in r.output
    r = CliRunner().invoke(serve, [str(ROOT / "nope.yaml")])
    assert r.exit_code == 2
