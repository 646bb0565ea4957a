"""The live DNS server: real UDP/TCP on loopback, answered like Route 53 (docs/route53.md
§On the wire)."""

from __future__ import annotations

import asyncio
import contextlib
import random
import shutil
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import dns.asyncquery
import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdatatype
import pytest

from edgesim.dnsserver.authority import Authority, group_address, scenario_authority
from edgesim.dnsserver.server import DnsServer
from edgesim.scenario.loader import load_scenario_text, prepare

SCENARIO = """\
edgesim: 1
name: dns
world: tiny
duration: 1m
clients:
  - metros: [tokyo, london, new-york]
    requests_per_second: 10
workloads:
  - {name: api, host: api.example.com, method: POST, size: 1KB}
  - {name: www, host: www.example.com, objects: {count: 10, size: fixed(1KB)}}
endpoints:
  - {name: use1, site: us-east-1}
  - {name: apne1, site: ap-northeast-1}
cloudfront:
  distributions:
    - {name: site, origins: [{name: o, endpoint: use1}]}
route53:
  zones:
    - name: example.com
      records:
        - {name: api, policy: latency, set: a, region: us-east-1, alias: endpoint:use1}
        - {name: api, policy: latency, set: b, region: ap-northeast-1, alias: endpoint:apne1}
        - {name: www, alias: cloudfront:site}
"""


def authority() -> Authority:
    scn, index, file = load_scenario_text(SCENARIO)
    return scenario_authority(prepare(scn, index, file))


@pytest.fixture(scope="module")
def auth() -> Authority:
    return authority()


def ask(
    auth: Authority, name: str, rdtype: str = "A", source: str = "127.0.0.1", **kw: object
) -> dns.message.Message:
    q = dns.message.make_query(name, rdtype, **kw)  # type: ignore[arg-type]
    wire = auth.handle(q.to_wire(), source, udp=True)
    assert wire is not None
    return dns.message.from_wire(wire)


def test_latency_record_depends_on_where_the_client_is(auth: Authority) -> None:
    tokyo = ask(auth, "api.example.com", source=group_address(0))
    london = ask(auth, "api.example.com", source=group_address(1))
    assert tokyo.rcode() == london.rcode() == dns.rcode.NOERROR
    assert tokyo.flags & dns.flags.AA
    a_tokyo = tokyo.answer[0][0].address
    a_london = london.answer[0][0].address
    assert a_tokyo != a_london  # Tokyo → ap-northeast-1, London → us-east-1
    assert tokyo.answer[0].ttl == 60
    assert tokyo.authority[0].rdtype == dns.rdatatype.NS


def test_ecs_decides_over_the_source_address(auth: Authority) -> None:
    ecs = dns.edns.ECSOption(group_address(0), 32)
    r = ask(auth, "api.example.com", source=group_address(1), use_edns=0, options=[ecs])
    assert (
        r.answer[0][0].address
        == ask(auth, "api.example.com", source=group_address(0)).answer[0][0].address
    )
    echoed = [o for o in r.options if isinstance(o, dns.edns.ECSOption)]
    assert echoed
    assert echoed[0].scopelen > 0


def test_cloudfront_alias_gives_an_edge_location_address(auth: Authority) -> None:
    r = ask(auth, "www.example.com", source=group_address(0))
    assert r.answer[0][0].address.startswith("127.3.")


def test_nxdomain_nodata_and_refused(auth: Authority) -> None:
    nx = ask(auth, "nope.example.com")
    assert nx.rcode() == dns.rcode.NXDOMAIN
    assert nx.authority[0].rdtype == dns.rdatatype.SOA
    assert nx.authority[0].ttl == 900
    nodata = ask(auth, "api.example.com", "TXT")
    assert nodata.rcode() == dns.rcode.NOERROR
    assert not nodata.answer
    assert nodata.authority[0].rdtype == dns.rdatatype.SOA
    refused = ask(auth, "www.other.org")
    assert refused.rcode() == dns.rcode.REFUSED
    soa = ask(auth, "example.com", "SOA")
    assert "awsdns-hostmaster.amazon.com." in soa.answer[0].to_text()
    ns = ask(auth, "example.com", "NS")
    assert len(ns.answer[0]) == 4
    assert ns.answer[0].ttl == 172800


def test_other_opcodes_are_not_implemented(auth: Authority) -> None:
    q = dns.message.make_query("api.example.com", "A")
    q.set_opcode(dns.opcode.STATUS)
    r = dns.message.from_wire(auth.handle(q.to_wire(), "127.0.0.1", udp=True) or b"")
    assert r.rcode() == dns.rcode.NOTIMP


def test_malformed_queries_get_formerr_or_nothing(auth: Authority) -> None:
    assert auth.handle(b"\x00\x01", "127.0.0.1", udp=True) is None  # no header
    bad = auth.handle(b"\x12\x34" + b"\x00" * 4 + b"\x00\x05" + b"\xff" * 10, "127.0.0.1", udp=True)
    assert bad is not None
    r = dns.message.from_wire(bad)
    assert r.id == 0x1234
    assert r.rcode() == dns.rcode.FORMERR


async def _serve_and(check: Callable[[str, int], Awaitable[None]]) -> None:
    server = DnsServer(authority(), "127.0.0.1", 0)
    host, port = await server.start()
    try:
        return await check(host, port)
    finally:
        await server.stop()


def test_real_udp_and_tcp() -> None:
    async def check(host: str, port: int) -> None:
        q = dns.message.make_query("api.example.com", "A")
        u = await dns.asyncquery.udp(q, host, port=port, timeout=5, source=group_address(0))
        t = await dns.asyncquery.tcp(q, host, port=port, timeout=5, source=group_address(0))
        assert u.answer[0][0].address == t.answer[0][0].address

    asyncio.run(_serve_and(check))


def _mutations(seed: int, n: int) -> Iterator[bytes]:
    rng = random.Random(seed)
    good = dns.message.make_query("api.example.com", "A", use_edns=0).to_wire()
    for _ in range(n):
        b = bytearray(good)
        kind = rng.randrange(4)
        if kind == 0:
            for _ in range(rng.randint(1, 8)):
                b[rng.randrange(len(b))] = rng.randrange(256)
        elif kind == 1:
            b = b[: rng.randrange(len(b))]
        elif kind == 2:
            b += bytes(rng.randrange(256) for _ in range(rng.randint(1, 600)))
        else:
            b = bytearray(rng.randbytes(rng.randint(0, 1200)))
        yield bytes(b)


def test_fuzzed_packets_never_stop_the_server() -> None:
    async def check(host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, remote_addr=(host, port)
        )
        for packet in _mutations(7, 10_000):
            transport.sendto(packet)
        transport.close()
        # a hostile TCP stream: garbage, then a length longer than what follows
        _reader, writer = await asyncio.open_connection(host, port)
        writer.write(b"\x00\x05abc" + b"\xff\xff" + b"x" * 10)
        await writer.drain()
        writer.close()
        # good queries still get correct answers, over both transports (a UDP query sent
        # while the flood is still queued may be dropped, as on any server: retry like a
        # resolver does)
        q = dns.message.make_query("api.example.com", "A")
        u = None
        for _ in range(10):
            try:
                u = await dns.asyncquery.udp(q, host, port=port, timeout=2, source=group_address(0))
                break
            except dns.exception.Timeout:
                continue
        assert u is not None
        t = await dns.asyncquery.tcp(q, host, port=port, timeout=5, source=group_address(0))
        assert u.rcode() == t.rcode() == dns.rcode.NOERROR
        assert u.answer[0][0].address == t.answer[0][0].address

    asyncio.run(_serve_and(check))


@pytest.fixture
def live_server(
    dns_server_thread: Callable[[Any], contextlib.AbstractContextManager[int]],
) -> Iterator[int]:
    """The server on a loopback port, in a thread of its own (for command-line clients)."""
    with dns_server_thread(authority()) as port:
        yield port


def _run(*cmd: str) -> str:
    import subprocess

    return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=30).stdout


@pytest.mark.skipif(shutil.which("dig") is None, reason="dig (bind9-dnsutils) not installed")
def test_dig_sees_users_in_different_places(live_server: int) -> None:
    port = str(live_server)
    tokyo = _run(
        "dig", "+short", "@127.0.0.1", "-p", port, "-b", group_address(0), "api.example.com"
    ).split()
    london = _run(
        "dig", "+short", "@127.0.0.1", "-p", port, "-b", group_address(1), "api.example.com"
    ).split()
    assert tokyo
    assert london
    assert tokyo != london
    full = _run("dig", "@127.0.0.1", "-p", port, "nope.example.com")
    assert "status: NXDOMAIN" in full
    assert "awsdns-hostmaster.amazon.com." in full
    tcp = _run(
        "dig", "+tcp", "+short", "@127.0.0.1", "-p", port, "-b", group_address(0), "api.example.com"
    ).split()
    assert tcp == tokyo


@pytest.mark.skipif(shutil.which("kdig") is None, reason="kdig (knot-dnsutils) not installed")
def test_kdig_ecs_is_echoed_with_a_scope(live_server: int) -> None:
    out = _run(
        "kdig",
        "@127.0.0.1",
        "-p",
        str(live_server),
        f"+subnet={group_address(0)}/32",
        "api.example.com",
    )
    assert f"CLIENT-SUBNET: {group_address(0)}/32/24" in out
    assert "status: NOERROR" in out
