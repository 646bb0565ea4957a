"""``edgesim dns serve`` as a command: zone files (issue 17), --workers and --query-log
(issue 16), errors logged instead of swallowed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import dns.rcode
import pytest
from click.testing import CliRunner

from edgesim.cli import main
from edgesim.dnsserver.authority import group_address, zonefile_authority
from edgesim.dnsserver.serve import load_zone_file
from edgesim.dnsserver.server import DnsServer
from edgesim.errors import InputError
from edgesim.route53.zone import zone_from_text


def test_the_files_origin_names_the_zone(tmp_path: Path) -> None:
    # issue 17: myzone.zone with $ORIGIN example.net. was served as 'myzone.'
    f = tmp_path / "myzone.zone"
    f.write_text("$ORIGIN example.net.\n$TTL 300\nwww IN A 192.0.2.1\n")
    zone = load_zone_file(f, None)
    assert zone.origin == "example.net"
    assert ("www.example.net", "A") in zone.groups
    assert load_zone_file(f, "other.org").origin == "example.net"  # --origin only fills in
    g = tmp_path / "plain.zone"
    g.write_text("$TTL 300\nwww IN A 192.0.2.1\n")
    assert load_zone_file(g, None).origin == "plain"
    assert load_zone_file(g, "example.org").origin == "example.org"


@pytest.mark.parametrize(
    ("content", "line", "words"),
    [
        (
            b"$ORIGIN example.net.\n$TTL 300\nok IN A 192.0.2.1\nwww IN A 999.1.1.1\n",
            4,
            "999.1.1.1",
        ),
        (b"$TTL 300\nwww IN A 192.0.2.1\n\xff\xfe\n", 3, "not UTF-8"),
        (
            b"$ORIGIN example.net.\n$TTL 300\na IN CNAME b\nb IN CNAME c\nc IN CNAME a\n",
            3,
            "CNAME loop",
        ),
    ],
)
def test_bad_zone_files_exit_2_with_the_line(
    tmp_path: Path, content: bytes, line: int, words: str
) -> None:
    f = tmp_path / "bad.zone"
    f.write_bytes(content)
    with pytest.raises(InputError) as err:
        load_zone_file(f, None)
    assert err.value.problems[0].line == line
    assert words in err.value.render()
    result = CliRunner().invoke(main, ["dns", "serve", str(f), "--listen", "127.0.0.1:0"])
    assert result.exit_code == 2
    assert f"bad.zone:{line}" in result.output
    assert "Traceback" not in result.output


def test_unexpected_errors_are_logged_and_answered_servfail(
    caplog: pytest.LogCaptureFixture,
) -> None:
    auth = zonefile_authority([zone_from_text("$ORIGIN example.net.\n$TTL 300\nw IN A 1.2.3.4\n")])

    def broken(wire: bytes, source: str, *, udp: bool) -> bytes | None:
        raise RuntimeError("boom")

    auth.handle = broken  # type: ignore[method-assign]

    async def check() -> None:
        server = DnsServer(auth, "127.0.0.1", 0)
        host, port = await server.start()
        try:
            q = dns.message.make_query("w.example.net", "A")
            r = await dns.asyncquery.udp(q, host, port=port, timeout=5)
            t = await dns.asyncquery.tcp(q, host, port=port, timeout=5)
            assert r.rcode() == t.rcode() == dns.rcode.SERVFAIL
            assert r.id == q.id
        finally:
            await server.stop()

    import dns.asyncquery

    with caplog.at_level(logging.ERROR, logger="edgesim.dns"):
        asyncio.run(check())
    assert any("boom" in (r.exc_text or "") for r in caplog.records)
    assert len([r for r in caplog.records if r.exc_info]) == 2


# ---- processes --------------------------------------------------------------------------------
SCENARIO = """\
edgesim: 1
name: workers
world: tiny
duration: 1m
clients:
  - metros: [tokyo, london]
    requests_per_second: 1
workloads:
  - {name: api, host: api.example.com, method: POST, size: 1KB}
endpoints:
  - {name: use1, site: us-east-1}
  - {name: apne1, site: ap-northeast-1}
route53:
  zones:
    - name: example.com
      records:
        - {name: api, policy: latency, set: a, region: us-east-1, alias: endpoint:use1}
        - {name: api, policy: latency, set: b, region: ap-northeast-1, alias: endpoint:apne1}
"""


def _free_port() -> int:
    from edgesim.live.workers import free_port

    return free_port("127.0.0.1")


@contextlib.contextmanager
def serving(*args: str) -> Iterator[subprocess.Popen[bytes]]:
    cmd = [sys.executable, "-c", "from edgesim.cli import main; main()", "dns", "serve", *args]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={"EDGESIM_TOKEN": "tok"}
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:  # pragma: no cover - a hung server
            proc.kill()
            proc.wait(5)


def _ask(sock: socket.socket, port: int, name: str, rdtype: str = "A", rdclass: str = "IN") -> Any:
    q = dns.message.make_query(name, rdtype, rdclass)
    sock.sendto(q.to_wire(), ("127.0.0.1", port))
    while True:
        data = sock.recv(4096)
        r = dns.message.from_wire(data)
        if r.id == q.id:
            return r


def _wait_ready(proc: subprocess.Popen[bytes], port: int) -> None:
    q = dns.message.make_query("api.example.com", "A")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else b""
        with contextlib.suppress(Exception):
            dns.query.udp(q, "127.0.0.1", port=port, timeout=0.5)
            return
    raise AssertionError("the server did not start")


def test_workers_share_the_port_and_every_worker_sees_a_control_call(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SCENARIO)
    log = tmp_path / "q.log"
    port, cport = _free_port(), _free_port()
    with serving(
        str(scenario),
        "--listen",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--control",
        f"127.0.0.1:{cport}",
        "--query-log",
        str(log),
    ) as proc:
        _wait_ready(proc, port)
        # client sockets of the first group (Tokyo); the kernel spreads them over the workers
        by_worker: dict[str, socket.socket] = {}
        socks = []
        for _ in range(64):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((group_address(0), 0))
            s.settimeout(5)
            socks.append(s)
            who = _ask(s, port, "id.server", "TXT", "CH").answer[0][0].strings[0].decode()
            by_worker.setdefault(who, s)
            if len(by_worker) == 2:
                break
        assert sorted(by_worker) == ["edgesim/w1", "edgesim/w2"]
        before = {
            w: _ask(s, port, "api.example.com").answer[0][0].address for w, s in by_worker.items()
        }
        assert len(set(before.values())) == 1  # one timeline, one state
        req = urllib.request.Request(
            f"http://127.0.0.1:{cport}/v1/fail",
            data=json.dumps({"target": "endpoint:apne1"}).encode(),
            headers={"Authorization": "Bearer tok", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            assert resp.status == 200
        replied = time.monotonic()
        seen: dict[str, float] = {}
        while len(seen) < 2 and time.monotonic() - replied < 0.1:  # poll, do not sleep
            for w, s in by_worker.items():
                if (
                    w not in seen
                    and _ask(s, port, "api.example.com").answer[0][0].address != before[w]
                ):
                    seen[w] = time.monotonic() - replied
        assert sorted(seen) == ["edgesim/w1", "edgesim/w2"], seen
        for s in socks:
            s.close()
    lines = log.read_text().splitlines()
    assert any(
        line.startswith("api.example.com A group=tokyo policy=latency NOERROR 127.2.")
        for line in lines
    )


def test_query_log_and_one_process(tmp_path: Path) -> None:
    zone = tmp_path / "example.net.zone"
    zone.write_text("$TTL 300\nwww IN A 192.0.2.1\n")
    log = tmp_path / "q.log"
    port = _free_port()
    with serving(str(zone), "--listen", f"127.0.0.1:{port}", "--query-log", str(log)) as proc:
        deadline = time.monotonic() + 60
        q = dns.message.make_query("www.example.net", "A")
        r = None
        while r is None and time.monotonic() < deadline:
            assert proc.poll() is None
            with contextlib.suppress(Exception):
                r = dns.query.udp(q, "127.0.0.1", port=port, timeout=0.5)
        assert r is not None
        assert r.answer[0][0].address == "192.0.2.1"
        nx = dns.query.udp(dns.message.make_query("no.example.net", "A"), "127.0.0.1", port=port)
        assert nx.rcode() == dns.rcode.NXDOMAIN
        other = dns.query.udp(
            dns.message.make_query("www.example.org", "A"), "127.0.0.1", port=port
        )
        assert other.rcode() == dns.rcode.REFUSED
    lines = log.read_text().splitlines()
    assert "www.example.org A group=- policy=- REFUSED -" in lines
    assert "www.example.net A group=unplaced policy=simple NOERROR 192.0.2.1" in lines
    assert "no.example.net A group=unplaced policy=- NXDOMAIN -" in lines


def test_scenario_zones_refuse_cname_loops_and_foreign_zone_files(tmp_path: Path) -> None:
    from edgesim.scenario.loader import load_scenario_text, prepare

    loop = SCENARIO.replace(
        "        - {name: api, policy: latency, set: a,",
        "        - {name: a, type: CNAME, values: [b.example.com.]}\n"
        "        - {name: b, type: CNAME, values: [a.example.com.]}\n"
        "        - {name: api, policy: latency, set: a,",
    )
    scn, index, file = load_scenario_text(loop)
    with pytest.raises(InputError) as err:
        prepare(scn, index, file)
    text = err.value.render()
    assert "CNAME loop: a.example.com → b.example.com → a.example.com" in text
    assert "route53.zones[0].records[0]" in text
    assert err.value.problems[0].line == 17
    (tmp_path / "other.zone").write_text("$ORIGIN example.org.\n$TTL 300\nwww IN A 192.0.2.1\n")
    foreign = SCENARIO.replace(
        "    - name: example.com\n", "    - name: example.com\n      file: other.zone\n"
    )
    scn, index, file = load_scenario_text(foreign)
    with pytest.raises(InputError) as err:
        prepare(scn, index, file, base_dir=tmp_path)
    assert "is for example.org (its $ORIGIN), not example.com" in err.value.render()


def _serve_in_process(check: Any, **kw: Any) -> list[str]:
    """Run serve() in this process's main thread; ``check(port)`` runs in a thread, then
    SIGTERM stops the server (as a service manager would)."""
    import os
    import signal
    import threading

    from edgesim.dnsserver.serve import serve

    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    port = _free_port()
    out: list[str] = []
    errors: list[BaseException] = []

    def client() -> None:
        try:
            deadline = time.monotonic() + 60
            q = dns.message.make_query("api.example.com", "A")
            while time.monotonic() < deadline:
                with contextlib.suppress(Exception):
                    dns.query.udp(q, "127.0.0.1", port=port, timeout=0.5)
                    break
            check(port)
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)
        finally:
            os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=client)
    thread.start()
    try:
        serve(kw.pop("source"), "127.0.0.1", port, echo=out.append, **kw)
    finally:
        thread.join(60)
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    if errors:
        raise errors[0]
    return out


def _post(url: str, body: object) -> Any:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": "bearer tok", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_with_control_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    monkeypatch.setenv("EDGESIM_TOKEN", "tok")
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SCENARIO)
    cport = _free_port()

    def check(port: int) -> None:
        q = dns.message.make_query("api.example.com", "A")
        r = dns.query.udp(q, "127.0.0.1", port=port, timeout=5, source=group_address(0))
        assert r.answer[0][0].address == "127.2.0.1"  # Tokyo → ap-northeast-1
        _post(f"http://127.0.0.1:{cport}/v1/fail", {"target": "endpoint:apne1"})
        r = dns.query.udp(q, "127.0.0.1", port=port, timeout=5, source=group_address(0))
        assert r.answer[0][0].address == "127.2.0.0"
        with pytest.raises(urllib.error.HTTPError):
            _post(f"http://127.0.0.1:{cport}/v1/fail", {"target": "endpoint:nope"})

    import urllib.error

    out = _serve_in_process(
        check,
        source=scenario,
        control=("127.0.0.1", cport),
        workers=workers,
        query_log=tmp_path / "q.log",
    )
    assert out[0].startswith("DNS on 127.0.0.1:")
    assert any("control API on" in line for line in out)
