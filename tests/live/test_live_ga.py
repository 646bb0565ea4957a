"""The live Global Accelerator proxy (``edgesim ga serve``): TCP and UDP forwarding, client
groups and ingress edges, endpoint choice and affinity, emulated delays (lower bounds only),
health-driven failover through the LiveDriver, hostile input, clean shutdown, the CLI."""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from edgesim.live.clock import new_event_loop
from edgesim.live.udp import UdpClient
from edgesim.scenario.loader import load_scenario_text, prepare
from edgesim.services.accelerator.cli import ga
from edgesim.services.accelerator.live import (
    Backend,
    GaConfig,
    GaProxy,
    GaRouter,
    parse_backend,
    plan_binds,
    standin_addresses,
)
from edgesim.sim.clock import VirtualClock
from edgesim.sim.live import LiveDriver

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())

SCENARIO = """\
edgesim: 1
name: ga-live
world: tiny
seed: 4
duration: 10m
clients:
  - metros: [tokyo, london, new-york]
    requests_per_second: 10
workloads:
  - {name: api, host: api.example.com, target: accelerator:api, size: 2KB}
endpoints:
  - {name: use1, site: us-east-1}
  - {name: use1b, site: us-east-1}
  - {name: euw2, site: eu-west-2}
  - {name: apne1, site: ap-northeast-1}
accelerators:
  - name: api
    listeners:
      - protocol: TCP
        port_ranges: [443]
        endpoint_groups:
          - {region: us-east-1, endpoints: [{endpoint: endpoint:use1}],
             health_check: {interval: 10s, threshold: 2}}
          - {region: eu-west-2, endpoints: [{endpoint: endpoint:euw2}],
             health_check: {interval: 10s, threshold: 2}}
          - {region: ap-northeast-1, endpoints: [{endpoint: endpoint:apne1}],
             health_check: {interval: 10s, threshold: 2}}
      - protocol: UDP
        port_ranges: [443]
        endpoint_groups:
          - {region: us-east-1, endpoints: [{endpoint: endpoint:use1}]}
          - {region: eu-west-2, endpoints: [{endpoint: endpoint:euw2}]}
          - {region: ap-northeast-1, endpoints: [{endpoint: endpoint:apne1}]}
      - protocol: TCP
        port_ranges: [8443]
        client_affinity: SOURCE_IP
        endpoint_groups:
          - {region: us-east-1, endpoints: [{endpoint: endpoint:use1}, {endpoint: endpoint:use1b}]}
      - protocol: TCP
        port_ranges: [8444]
        endpoint_groups:
          - {region: us-east-1, endpoints: [{endpoint: endpoint:use1}, {endpoint: endpoint:use1b}]}
"""

TOKYO, LONDON, NEW_YORK = "127.1.0.0", "127.1.0.1", "127.1.0.2"


def prepared() -> Any:
    scn, index, file = load_scenario_text(SCENARIO)
    return prepare(scn, index, file)


def arun(coro: Callable[[], Awaitable[None]], *, uv: bool = False) -> None:
    async def guarded() -> None:
        await asyncio.wait_for(coro(), 60)

    if uv:
        loop = new_event_loop()
        try:
            loop.run_until_complete(guarded())
        finally:
            loop.close()
    else:
        asyncio.run(guarded())


class Env:
    """A started proxy with helpers to reach its listeners."""

    def __init__(self, proxy: GaProxy) -> None:
        self.proxy = proxy

    def addr(self, protocol: str, port: int, zone: int = 0) -> tuple[str, int]:
        for b, host, bound in self.proxy.bound:
            if b.protocol == protocol and b.port == port and b.zone == zone:
                return host, bound
        raise KeyError((protocol, port, zone))

    async def tcp(
        self, port: int = 443, src: str = "127.0.0.1"
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        host, bound = self.addr("TCP", port)
        return await asyncio.open_connection(host, bound, local_addr=(src, 0))

    async def echo(self, data: bytes, port: int = 443, src: str = "127.0.0.1") -> bytes:
        r, w = await self.tcp(port, src)
        try:
            w.write(data)
            await w.drain()
            return await r.readexactly(len(data))
        finally:
            w.close()


async def started(
    config: GaConfig | None = None,
    backends: dict[tuple[str, str], Backend] | None = None,
    run: Any = None,
) -> Env:
    cfg = config or GaConfig(ephemeral=True)
    proxy = GaProxy(run if run is not None else prepared(), cfg, backends=backends)
    await proxy.start()
    return Env(proxy)


class Udp(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.queue.put_nowait(data)


async def udp_client(env: Env, src: str = "127.0.0.1") -> tuple[asyncio.DatagramTransport, Udp]:
    loop = asyncio.get_running_loop()
    tr, proto = await loop.create_datagram_endpoint(
        Udp, local_addr=(src, 0), remote_addr=env.addr("UDP", 443)
    )
    return tr, proto


async def named_backends(names: list[str]) -> tuple[dict[tuple[str, str], Backend], list[Any]]:
    """TCP backends that answer each line with their endpoint's name."""
    out: dict[tuple[str, str], Backend] = {}
    servers = []
    for name in names:

        async def handle(
            r: asyncio.StreamReader, w: asyncio.StreamWriter, name: str = name
        ) -> None:
            try:
                while await r.readline():
                    w.write(name.encode() + b"\n")
                    await w.drain()
            except ConnectionError:
                pass
            finally:
                w.close()

        srv = await asyncio.start_server(handle, "127.0.0.1", 0)
        servers.append(srv)
        out[(name, "TCP")] = Backend("127.0.0.1", srv.sockets[0].getsockname()[1])
    return out, servers


async def ask(env: Env, port: int = 443, src: str = "127.0.0.1") -> str:
    r, w = await env.tcp(port, src)
    try:
        w.write(b"who\n")
        await w.drain()
        return (await r.readline()).decode().strip()
    finally:
        w.close()


async def closed(reader: asyncio.StreamReader) -> bool:
    """True once the connection is closed by the peer (EOF or reset)."""
    try:
        while await reader.read(65536):
            pass
    except ConnectionError:
        pass
    return True


# ---- pure parts ---------------------------------------------------------------------------------


def test_standin_addresses_mirror_the_static_pools() -> None:
    assert standin_addresses(1) == ("127.4.0.1", "127.5.0.1")
    assert standin_addresses(258) == ("127.4.1.2", "127.5.1.2")
    with pytest.raises(ValueError, match="outside"):
        standin_addresses(0)


def test_parse_backend_forms() -> None:
    assert parse_backend("use1=127.0.0.1:9000") == ("use1", None, Backend("127.0.0.1", 9000))
    assert parse_backend("endpoint:use1/udp=127.0.0.1:53") == (
        "use1",
        "UDP",
        Backend("127.0.0.1", 53),
    )
    assert parse_backend("use1=127.0.0.1") == ("use1", None, Backend("127.0.0.1", None))
    for bad in ("use1", "=127.0.0.1:1", "use1=127.0.0.1:0", "use1/sctp=h:1", "use1=:5"):
        with pytest.raises(ValueError, match="cannot read"):
            parse_backend(bad)


def test_plan_binds_caps_and_filters_port_ranges() -> None:
    router = GaRouter(prepared())
    binds, notes = plan_binds(router.accelerators(), GaConfig())
    tcp = sorted({(b.host, b.port) for b in binds if b.protocol == "TCP"})
    assert ("127.4.0.1", 443) in tcp
    assert ("127.5.0.1", 8443) in tcp
    assert not notes
    binds, _ = plan_binds(router.accelerators(), GaConfig(only_ports=frozenset({8443})))
    assert {b.port for b in binds} == {8443}
    binds, _ = plan_binds(router.accelerators(), GaConfig(port_offset=10000, listen_host="::1"))
    assert {b.bind_port for b in binds} == {10443, 18443, 18444}
    assert {b.host for b in binds} == {"::1"}
    with pytest.raises(ValueError, match="outside"):
        plan_binds(router.accelerators(), GaConfig(port_offset=60000))
    many = SCENARIO.replace("port_ranges: [8444]", "port_ranges: ['9000-9999']")
    scn, index, file = load_scenario_text(many)
    router = GaRouter(prepare(scn, index, file))
    binds, notes = plan_binds(router.accelerators(), GaConfig(max_ports=10))
    assert len([b for b in binds if b.listener == 3]) == 20  # 10 ports × two addresses
    assert notes
    assert "10 of 1000 ports" in notes[0]


def test_router_follows_the_scenario_service() -> None:
    router = GaRouter(prepared())
    r = router.route("api", 0, 0, TOKYO, 40000, 443, "TCP")
    assert (r.edge, r.endpoint, r.region, r.mode, r.up) == (
        "NRT57",
        "apne1",
        "ap-northeast-1",
        "normal",
        True,
    )
    assert r.client_ms > 0
    assert r.backbone_ms >= 0
    assert router.group_of("10.9.9.9") == 0  # unknown sources: the first group
    assert router.group_of("not an address") == 0
    scn, index, file = load_scenario_text(
        SCENARIO.split("accelerators:")[0].replace("accelerator:api", "endpoint:use1")
    )
    plain = prepare(scn, index, file)
    with pytest.raises(ValueError, match="no accelerators"):
        GaRouter(plain)


# ---- forwarding ---------------------------------------------------------------------------------


@pytest.mark.parametrize("uv", [False, True], ids=["asyncio", "uvloop"])
def test_tcp_echo_large_transfer_both_directions(uv: bool) -> None:
    payload = os.urandom(6 * 1024 * 1024 + 17)

    async def go() -> None:
        env = await started()
        try:
            r, w = await env.tcp(src=LONDON)

            async def send() -> None:
                for i in range(0, len(payload), 256 * 1024):
                    w.write(payload[i : i + 256 * 1024])
                    await w.drain()
                w.write_eof()

            sender = asyncio.create_task(send())
            got = bytearray()
            while chunk := await r.read(1 << 20):
                got += chunk
            await sender
            w.close()
            assert bytes(got) == payload  # intact, in order, then EOF both ways
            assert not env.proxy.tcp_flows  # the flow ended with the half-closes
            assert env.proxy.routes[-1].endpoint == "euw2"
        finally:
            await env.proxy.stop()

    arun(go, uv=uv)


@pytest.mark.asyncio
async def test_udp_echo_through_the_proxy() -> None:
    env = await started()
    try:
        async with UdpClient(*env.addr("UDP", 443), source_host=TOKYO) as client:
            for m in [os.urandom(n) for n in (1, 100, 1472)]:
                await client.send(m)
                assert await client.recv(timeout_s=10) == m
        assert env.proxy.stats.udp_flows == 1  # one flow per client address and port
        assert env.proxy.routes[-1].endpoint == "apne1"
        assert env.proxy.routes[-1].edge == "NRT57"
    finally:
        await env.proxy.stop()


def test_client_groups_enter_at_their_edges_and_reach_their_endpoints() -> None:
    async def go() -> None:
        backends, servers = await named_backends(["use1", "euw2", "apne1", "use1b"])
        env = await started(backends=backends)
        try:
            seen = {src: await ask(env, 443, src) for src in (TOKYO, LONDON, NEW_YORK)}
            assert seen == {TOKYO: "apne1", LONDON: "euw2", NEW_YORK: "use1"}
            edges = [r.edge for r in list(env.proxy.routes)[-3:]]
            assert edges == ["NRT57", "LHR50", "JFK50"]
            # the second address (the other network zone) routes the same way
            host, port = env.addr("TCP", 443, zone=1)
            assert host == "127.5.0.1"
            r, w = await asyncio.open_connection(host, port, local_addr=(LONDON, 0))
            w.write(b"who\n")
            assert await r.readline() == b"euw2\n"
            w.close()
        finally:
            await env.proxy.stop()
            for s in servers:
                s.close()

    arun(go)


@pytest.mark.asyncio
async def test_source_ip_affinity_keeps_a_client_on_one_endpoint() -> None:
    backends, servers = await named_backends(["use1", "use1b", "euw2", "apne1"])
    env = await started(backends=backends)
    try:
        sticky = {await ask(env, 8443, NEW_YORK) for _ in range(12)}
        assert len(sticky) == 1
        spread = {await ask(env, 8444, NEW_YORK) for _ in range(24)}  # 5-tuple hash
        assert spread == {"use1", "use1b"}
    finally:
        await env.proxy.stop()
        for s in servers:
            s.close()


def test_emulated_delay_is_at_least_the_configured_one() -> None:
    cfg = GaConfig(ephemeral=True, client_rtt_ms=30.0, backbone_rtt_ms=20.0)

    async def go() -> None:
        env = await started(cfg)
        try:
            t0 = time.monotonic()
            r, w = await env.tcp(src=TOKYO)
            w.write(b"a")
            assert await r.readexactly(1) == b"a"
            first = time.monotonic() - t0
            t1 = time.monotonic()
            w.write(b"b")
            assert await r.readexactly(1) == b"b"
            second = time.monotonic() - t1
            w.close()
            assert first >= (30 + 50) / 1000  # handshake (client↔edge RTT) + path RTT
            assert second >= 50 / 1000
            tr, proto = await udp_client(env, TOKYO)
            t2 = time.monotonic()
            tr.sendto(b"x")
            await proto.queue.get()
            assert time.monotonic() - t2 >= 50 / 1000
            tr.close()
            assert env.proxy.delayer.released > 0
        finally:
            await env.proxy.stop()

    arun(go)


def test_endpoint_failure_moves_new_flows_after_health_checks() -> None:
    async def go() -> None:
        run = prepared()
        backends, servers = await named_backends(["use1", "use1b", "euw2", "apne1"])
        env = await started(backends=backends, run=run)
        clock = VirtualClock()
        driver = LiveDriver(run, clock)
        driver.on_change = env.proxy.on_change
        driver.start()
        try:
            assert await ask(env, 443, TOKYO) == "apne1"
            r, w = await env.tcp(443, TOKYO)  # an open flow to apne1
            w.write(b"who\n")
            assert await r.readline() == b"apne1\n"
            assert driver.control({"fail": "endpoint:apne1"}) == []
            assert await closed(r)  # the endpoint died under it
            w.close()
            # not detected yet: new flows still go there and are reset
            r2, w2 = await env.tcp(443, TOKYO)
            assert await closed(r2)
            w2.close()
            assert env.proxy.routes[-1].endpoint == "apne1"
            assert env.proxy.stats.endpoint_down == 1
            clock.run_until(30 * 10**9)  # two failed probes (threshold 2)
            moved = await ask(env, 443, TOKYO)
            assert moved in {"use1", "euw2"}
            assert env.proxy.routes[-1].mode == "failover"
            assert driver.control({"recover": "endpoint:apne1"}) == []
            clock.run_until(60 * 10**9)
            assert await ask(env, 443, TOKYO) == "apne1"
        finally:
            await env.proxy.stop()
            for s in servers:
                s.close()

    arun(go)


# ---- hostile input and failures ------------------------------------------------------------------


def test_garbage_and_oversize_datagrams_do_not_break_the_proxy() -> None:
    async def go() -> None:
        env = await started(GaConfig(ephemeral=True, delay=False))
        try:
            host, port = env.addr("UDP", 443)
            raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            raw.bind((LONDON, 0))
            rng = __import__("random").Random(7)
            for i in range(2000):
                raw.sendto(rng.randbytes(rng.randrange(0, 1473)), (host, port))
                if i % 200 == 0:
                    await asyncio.sleep(0)  # let the loop read (the socket buffer is finite)
            for size in (1473, 9000, 65000):
                raw.sendto(b"\xff" * size, (host, port))
            raw.close()
            tr, proto = await udp_client(env, LONDON)
            tr.sendto(b"still fine")
            assert await proto.queue.get() == b"still fine"
            tr.close()
            assert env.proxy.stats.udp_oversize == 3
        finally:
            await env.proxy.stop()

    arun(go)


@pytest.mark.asyncio
async def test_idle_tcp_client_is_closed_by_the_idle_timeout() -> None:
    env = await started(GaConfig(ephemeral=True, tcp_idle_s=0.2))
    try:
        r, w = await env.tcp(src=TOKYO)  # connects and says nothing
        assert await closed(r)
        w.close()
        assert env.proxy.stats.idle_closed == 1
        assert not env.proxy.tcp_flows
        assert await env.echo(b"next") == b"next"
    finally:
        await env.proxy.stop()


def test_backend_refusing_connections_closes_the_client_connection() -> None:
    async def go() -> None:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        refused_port = s.getsockname()[1]
        s.close()  # nothing listens there now
        env = await started(backends={("use1", "TCP"): Backend("127.0.0.1", refused_port)})
        try:
            r, w = await env.tcp(src=NEW_YORK)
            w.write(b"anyone?")
            assert await closed(r)
            w.close()
            assert env.proxy.stats.tcp_refused == 1
            assert not env.proxy.tcp_flows
            assert await env.echo(b"ok", src=LONDON) == b"ok"  # others unaffected
        finally:
            await env.proxy.stop()

    arun(go)


def test_backend_dying_mid_stream_closes_the_client_after_its_data() -> None:
    async def go() -> None:
        async def dying(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            await r.readexactly(4)
            w.write(b"partial")
            await w.drain()
            sock = w.transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            w.transport.abort()  # reset mid-stream (RST, not FIN)

        srv = await asyncio.start_server(dying, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        env = await started(backends={("use1", "TCP"): Backend("127.0.0.1", port)})
        try:
            r, w = await env.tcp(src=NEW_YORK)
            w.write(b"ping")
            got = b""
            try:
                while chunk := await r.read(100):
                    got += chunk
            except ConnectionError:
                pass
            w.close()
            assert got in (b"", b"partial")  # what was sent before the reset, or nothing
            await env.proxy.tcp_drained()
        finally:
            await env.proxy.stop()
            srv.close()

    arun(go)


def test_many_concurrent_flows_then_clean_shutdown() -> None:
    async def go() -> None:
        before = asyncio.all_tasks()
        env = await started()

        async def tcp_one(i: int) -> None:
            r, w = await env.tcp(src=f"127.1.0.{i % 3}")
            data = i.to_bytes(4, "big") * 256
            w.write(data)
            w.write_eof()
            got = await r.read(-1)
            w.close()
            assert got == data

        async def udp_one(i: int) -> None:
            tr, proto = await udp_client(env, f"127.1.0.{i % 3}")
            msg = i.to_bytes(4, "big")
            tr.sendto(msg)
            assert await proto.queue.get() == msg
            tr.close()

        try:
            await asyncio.gather(
                *(tcp_one(i) for i in range(300)), *(udp_one(i) for i in range(300))
            )
            assert env.proxy.stats.tcp_flows == 300
            assert env.proxy.stats.udp_flows == 300
            assert not env.proxy.tcp_flows  # every TCP flow ended with its half-closes
            assert not env.proxy._tasks
        finally:
            await env.proxy.stop()
        assert sum(len(x.flows) for x in env.proxy.udp_listeners) == 0
        assert asyncio.all_tasks() == before  # nothing left running

    arun(go)


def test_stop_with_open_flows_leaves_nothing_running() -> None:
    async def go() -> None:
        before = asyncio.all_tasks()
        env = await started(GaConfig(ephemeral=True, client_rtt_ms=200.0))
        r, w = await env.tcp(src=TOKYO)
        w.write(b"in flight")  # held by the emulated delay when the proxy stops
        tr, _proto = await udp_client(env, TOKYO)
        tr.sendto(b"in flight")
        await env.proxy.stop()
        assert await closed(r)
        w.close()
        tr.close()
        assert not env.proxy.tcp_flows
        assert len(env.proxy.delayer) == 0
        assert asyncio.all_tasks() == before

    arun(go)


# ---- command line ---------------------------------------------------------------------------


def test_cli_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    scn = tmp_path / "ga.yaml"
    scn.write_text(SCENARIO, encoding="utf-8")
    res = runner.invoke(ga, ["serve", "--help"])
    assert res.exit_code == 0
    assert "--backend" in res.output
    res = runner.invoke(ga, ["serve", str(tmp_path / "missing.yaml")])
    assert res.exit_code == 2
    res = runner.invoke(ga, ["serve", str(ROOT / "scenarios" / "smoke.yaml")])
    assert res.exit_code == 2
    for bad in (
        ["--backend", "use1"],
        ["--backend", "use1=127.0.0.1:70000"],
        ["--rtt", "soon"],
        ["--control", "nowhere"],
        ["--max-datagram", "70000"],
    ):
        res = runner.invoke(ga, ["serve", str(scn), *bad])
        assert res.exit_code == 2, (bad, res.output)
    res = runner.invoke(ga, ["serve", str(scn), "--backend", "nope=127.0.0.1:1"])
    assert res.exit_code == 2
    res = runner.invoke(ga, ["serve", str(scn), "--port-offset", "60000"])
    assert res.exit_code == 2


def test_dns_answers_an_accelerator_alias_with_the_proxys_address() -> None:
    """`dig` then `nc` reaches the proxy: the alias answers the first static stand-in."""
    import dns.message

    from edgesim.dnsserver.authority import scenario_authority
    from edgesim.scenario.loader import load_scenario
    from edgesim.services.accelerator.live import standin_addresses

    path = ROOT / "scenarios" / "global-api-accelerator.yaml"
    scn, index, file = load_scenario(path)
    auth = scenario_authority(prepare(scn, index, file, base_dir=path.parent))
    q = dns.message.make_query("api.example.com", "A")
    wire = auth.handle(q.to_wire(), "127.1.0.0", udp=True)
    assert wire is not None
    answer = dns.message.from_wire(wire).answer
    assert [rd.address for rr in answer for rd in rr] == [standin_addresses(1)[0]]
