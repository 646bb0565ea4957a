"""The live CloudFront edge (edgesim/live/edge.py) over real loopback HTTP.

Every test starts real origins (edgesim's live origin, or a tiny aiohttp app where the test
needs to see what reached the origin) and the edges in one event loop, with a controllable
cache clock (``FakeClock``) so expiry is reached without sleeping. Emulated delays are off
except in the client-mapping test, which only checks that at least the configured delay is
applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from click.testing import CliRunner

from edgesim.cli.edge import edge as edge_cli
from edgesim.cli.edge import parse_origin_option
from edgesim.live.delay import now as mono_now
from edgesim.live.edge import (
    EdgeConfig,
    EdgePlan,
    EdgeServer,
    HttpError,
    Limits,
    check_path,
    decode_chunked,
    parse_head,
    plan_edges,
)
from edgesim.live.origin import STATE, OriginConfig, body_bytes, start_origin
from edgesim.scenario.loader import load_scenario_text, prepare

SCENARIO = """\
edgesim: 1
name: live edge tests
world: tiny
duration: 10m
clients:
  - metros: [tokyo, london, new-york]
    requests_per_second: 1
workloads:
  - {name: www, host: www.example.com, objects: {count: 10, size: fixed(10KB)}}
endpoints:
  - {name: use1, site: us-east-1}
  - {name: euw2, site: eu-west-2}
cloudfront:
  distributions:
    - name: site
      origins:
        - {name: primary, endpoint: use1, connection_timeout: 1s, connection_attempts: 1,
           read_timeout: 2s}
        - {name: backup, endpoint: euw2, connection_timeout: 1s, connection_attempts: 1,
           read_timeout: 2s}
      origin_groups:
        - {name: web, primary: primary, secondary: backup, failover_on: [500, 502, 503, 504]}
      default_origin: primary
      behaviors:
        - {path: /static/*, origin: web, cache_policy: CachingOptimized}
        - {path: /api/*, origin: primary, cache_policy: CachingDisabled}
        - path: /keyed/*
          origin: primary
          cache_policy: {headers: [X-Variant], accept_encoding: [gzip]}
route53:
  zones:
    - name: example.com
      records:
        - {name: www, alias: cloudfront:site}
"""
NO_DELAY = EdgeConfig(delay=False)
POP = "NRT57-C1"  # where DNS sends the first group (tokyo)
ID_RE = re.compile(r"^[A-Za-z0-9_-]{54}==$|^[A-Za-z0-9_=-]{56}$")
VIA_RE = re.compile(r"^1\.1 [0-9a-f]{32}\.cloudfront\.net \(CloudFront\)$")


@pytest.fixture(scope="module")
def run() -> Any:
    scn, index, file = load_scenario_text(SCENARIO)
    return prepare(scn, index, file)


class FakeClock:
    """The cache's clock (epoch seconds); tests advance it instead of sleeping."""

    def __init__(self) -> None:
        self.t = 1_800_000_000.0

    def __call__(self) -> float:
        return self.t

    def advance(self, s: float) -> None:
        self.t += s


@dataclass
class Env:
    server: EdgeServer
    session: aiohttp.ClientSession
    clock: FakeClock
    origins: dict[str, str]
    runners: dict[str, Any] = field(default_factory=dict)

    def url(self, path: str, pop: str = POP) -> str:
        p = next(p for p in self.server.plan.pops if p.name == pop)
        return f"http://{p.host}:{p.port}{path}"

    def addr(self, pop: str = POP) -> tuple[str, int]:
        p = next(p for p in self.server.plan.pops if p.name == pop)
        return p.host, p.port

    async def get(self, path: str, pop: str = POP, **kw: Any) -> tuple[int, Any, bytes]:
        method = kw.pop("method", "GET")
        async with self.session.request(method, self.url(path, pop), **kw) as r:
            return r.status, r.headers.copy(), await r.read()

    async def stats(self, origin: str = "primary") -> dict[str, Any]:
        async with self.session.get(self.origins[origin] + "/_edgesim/stats") as r:
            data: dict[str, Any] = await r.json()
            return data


OriginSpec = OriginConfig | str | web.Application


@contextlib.asynccontextmanager
async def edge_env(
    run: Any,
    origins: dict[str, OriginSpec],
    config: EdgeConfig = NO_DELAY,
    *,
    base_port: int | None = 0,
    session_kw: dict[str, Any] | None = None,
) -> AsyncIterator[Env]:
    plan: EdgePlan = plan_edges(run, base_port=base_port, port=0)
    runners: dict[str, Any] = {}
    urls: dict[str, str] = {}
    clock = FakeClock()
    server: EdgeServer | None = None
    try:
        for name, spec in origins.items():
            if isinstance(spec, str):
                urls[name] = spec
            elif isinstance(spec, OriginConfig):
                runner, host, port = await start_origin(replace(spec, port=0))
                runners[name] = runner
                urls[name] = f"http://{host}:{port}"
            else:
                runner = web.AppRunner(spec, access_log=None)
                await runner.setup()
                site = web.TCPSite(runner, "127.0.0.1", 0)
                await site.start()
                runners[name] = runner
                host, port = runner.addresses[0][:2]
                urls[name] = f"http://{host}:{port}"
        server = EdgeServer(
            plan, config, origin_urls={("site", n): u for n, u in urls.items()}, clock=clock
        )
        await server.start()
        timeout = aiohttp.ClientTimeout(total=20)
        async with aiohttp.ClientSession(
            timeout=timeout, auto_decompress=False, **(session_kw or {})
        ) as s:
            yield Env(server, s, clock, urls, runners)
    finally:
        if server is not None:
            await server.stop()
        for r in runners.values():
            await r.cleanup()


def arun(coro: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(asyncio.wait_for(coro(), 60))


def cached(max_age: int = 60, extra: str = "") -> OriginConfig:
    cc = f"max-age={max_age}" + (f", {extra}" if extra else "")
    return OriginConfig(port=0, headers=(("Cache-Control", cc),))


async def raw(host: str, port: int, data: bytes, *, local: str | None = None) -> bytes:
    """Send raw bytes, read until the server closes (or 20 s)."""
    reader, writer = await asyncio.open_connection(
        host, port, local_addr=(local, 0) if local else None
    )
    writer.write(data)
    await writer.drain()
    try:
        out = await asyncio.wait_for(reader.read(1 << 20), 20)
        while True:
            more = await asyncio.wait_for(reader.read(1 << 20), 20)
            if not more:
                break
            out += more
    finally:
        writer.close()
    return out


def status_of(resp: bytes) -> int:
    return int(resp.split(b" ", 2)[1])


# ---- planning --------------------------------------------------------------------------------


def test_plan_sends_each_group_to_its_nearest_pop_with_its_rtt(run: Any) -> None:
    plan = plan_edges(run)
    by_name = {p.name: p for p in plan.pops}
    assert by_name["NRT57-C1"].groups == {"site": [0]}  # tokyo
    assert by_name["LHR50-C1"].groups == {"site": [1]}  # london
    nrt = by_name["NRT57-C1"]
    assert nrt.host.startswith("127.3.")
    assert nrt.port == 8080
    # Tokyo is much nearer to its PoP than London is to Tokyo's PoP.
    assert 0 < plan.client_rtt_ms[(0, nrt.node)] < plan.client_rtt_ms[(1, nrt.node)]
    d = plan.dist("site")
    assert "www.example.com" in d.hosts
    assert d.cdn.domain in d.hosts
    route = d.routes[(nrt.node, "web")]
    assert route.tiers == ("edge", "regional")
    assert route.origin_rtt_ms["primary"] > route.rtt_ms[1] > 0
    with pytest.raises(ValueError, match="no distribution"):
        plan_edges(run, distributions=["nope"])
    ports = plan_edges(run, base_port=9000)
    assert [p.port for p in ports.pops] == [9000, 9001, 9002]
    assert {p.host for p in ports.pops} == {"127.0.0.1"}


# ---- parsing (pure) -------------------------------------------------------------------------


def test_parse_head_accepts_good_requests_and_refuses_bad_ones() -> None:
    lim = Limits()
    r = parse_head(b"GET /a/b?x=1 HTTP/1.1\r\nHost: h\r\nA: 1\r\na: 2", lim)
    assert (r.method, r.path, r.query, r.host, r.keep_alive) == ("GET", "/a/b", "x=1", "h", True)
    assert r.hmap["a"] == "1, 2"
    assert not parse_head(b"GET / HTTP/1.0", lim).keep_alive
    assert parse_head(b"GET http://x.example/p HTTP/1.1\r\nHost: y", lim).host == "x.example"
    bad = {
        b"GET / HTTP/1.1": 400,  # no Host
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b": 400,
        b"GET /  HTTP/1.1\r\nHost: a": 400,
        b"GET / HTTP/2.0\r\nHost: a": 505,
        b"GET / HTTX\r\nHost: a": 400,
        b"G(T / HTTP/1.1\r\nHost: a": 400,
        b"GET relative HTTP/1.1\r\nHost: a": 400,
        b"GET /\x01 HTTP/1.1\r\nHost: a": 400,
        b"GET / HTTP/1.1\r\nHost: a\r\n folded": 400,
        b"GET / HTTP/1.1\r\nHost : a": 400,
        b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b": 400,
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked": 400,
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 2": 400,
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1": 400,
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip": 501,
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999": 413,
        b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: a": 414,
        b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"a" * 9000: 431,
        b"GET / HTTP/1.1\r\nHost: a" + b"\r\nX: 1" * 101: 431,
        b"GET /a/../b HTTP/1.1\r\nHost: a": 400,
    }
    for head, status in bad.items():
        with pytest.raises(HttpError) as info:
            parse_head(head, lim)
        assert info.value.status == status, head[:60]


def test_check_path_refuses_traversal_nul_and_bad_escapes() -> None:
    assert check_path("/static/app.js") is None
    assert check_path("/a%20b/c..d/...") is None
    for p in ("/..", "/a/../b", "/a/%2e%2e/b", "/a/%2E%2e", "/a/.%2e/", "/a/..%5cb/..%5c",
              "/a%00b", "/a%0ab", "/a/./b", "/a%zz", "/a%2", "/a\\..\\b"):  # fmt: skip
        assert check_path(p) is not None, p


def test_decode_chunked() -> None:
    body = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\nNEXT"
    assert decode_chunked(body, 0, 100) == (b"hello world", len(body) - 4)
    assert decode_chunked(body[:12], 0, 100) is None
    with pytest.raises(HttpError):
        decode_chunked(b"zz\r\n", 0, 100)
    with pytest.raises(HttpError) as info:
        decode_chunked(b"ff\r\n", 0, 100)
    assert info.value.status == 413
    with pytest.raises(HttpError):
        decode_chunked(b"2\r\nabXY", 0, 100)


# ---- caching ----------------------------------------------------------------------------------


def test_miss_then_hit_with_age_and_cloudfront_headers(run: Any) -> None:
    async def body() -> None:
        async with edge_env(run, {"primary": cached(), "backup": cached()}) as env:
            st, h1, b1 = await env.get("/plain/a.js")
            assert st == 200
            assert h1["X-Cache"] == "Miss from cloudfront"
            assert b1 == body_bytes("/plain/a.js", 10_000)
            env.clock.advance(7)
            st, h2, b2 = await env.get("/plain/a.js")
            assert (st, h2["X-Cache"], h2["Age"], b2) == (200, "Hit from cloudfront", "7", b1)
            for h in (h1, h2):
                assert VIA_RE.match(h["Via"]), h["Via"]
                assert h["X-Amz-Cf-Pop"] == POP
                assert re.fullmatch(r"[A-Za-z0-9_=-]{56}", h["X-Amz-Cf-Id"])
            assert h1["X-Amz-Cf-Id"] != h2["X-Amz-Cf-Id"]
            # HEAD is answered from the same object; other PoPs have their own caches.
            st, h3, b3 = await env.get("/plain/a.js", method="HEAD")
            assert (st, h3["X-Cache"], b3, h3["Content-Length"]) == (
                200,
                "Hit from cloudfront",
                b"",
                "10000",
            )
            _, h4, _ = await env.get("/plain/a.js", pop="LHR50-C1")
            assert (h4["X-Cache"], h4["X-Amz-Cf-Pop"]) == ("Miss from cloudfront", "LHR50-C1")
            assert (await env.stats())["total"] == 1  # the shared regional cache had it
            # The uncached behaviour goes to the origin every time.
            for _ in range(2):
                _, h, _ = await env.get("/api/x")
                assert h["X-Cache"] == "Miss from cloudfront"
            assert (await env.stats())["total"] == 3

    arun(body)


def test_refresh_hit_after_expiry_with_304_from_origin(run: Any) -> None:
    async def body() -> None:
        async with edge_env(run, {"primary": cached(10), "backup": cached(10)}) as env:
            _, h1, b1 = await env.get("/plain/r.css")
            assert h1["X-Cache"] == "Miss from cloudfront"
            env.clock.advance(11)
            st, h2, b2 = await env.get("/plain/r.css")
            assert (st, h2["X-Cache"], b2) == (200, "RefreshHit from cloudfront", b1)
            assert h2["Age"] == "0"
            stats = await env.stats()
            assert stats["by_path"]["/plain/r.css"] == {"200": 1, "304": 1}
            _, h3, _ = await env.get("/plain/r.css")
            assert h3["X-Cache"] == "Hit from cloudfront"

    arun(body)


def test_collapsing_concurrent_misses_make_one_origin_request(run: Any) -> None:
    slow = replace(cached(), latency_s=0.5)

    async def body() -> None:
        async with edge_env(run, {"primary": slow, "backup": slow}) as env:
            results = await asyncio.gather(*(env.get("/plain/c.bin") for _ in range(10)))
            assert {st for st, _, _ in results} == {200}
            assert len({b for _, _, b in results}) == 1
            xc = sorted(h["X-Cache"] for _, h, _ in results)
            assert xc.count("Miss from cloudfront") == 1
            assert xc.count("Hit from cloudfront") == 9
            assert (await env.stats())["total"] == 1
            # The uncached behaviour never collapses.
            await asyncio.gather(*(env.get("/api/c") for _ in range(3)))
            assert (await env.stats())["by_path"]["/api/c"] == {"200": 3}

    arun(body)


def test_error_caching_404_for_ten_seconds(run: Any) -> None:
    async def body() -> None:
        plain = OriginConfig(port=0)
        async with edge_env(run, {"primary": plain, "backup": plain}) as env:
            st, h, _ = await env.get("/status/404")
            assert (st, h["X-Cache"]) == (404, "Error from cloudfront")
            env.clock.advance(9)
            st, h, _ = await env.get("/status/404")
            assert st == 404
            assert (await env.stats())["total"] == 1  # answered from the cache
            env.clock.advance(2)
            st, _, _ = await env.get("/status/404")
            assert st == 404
            assert (await env.stats())["total"] == 2

    arun(body)


def test_stale_if_error_when_the_origin_starts_failing(run: Any) -> None:
    async def body() -> None:
        async with edge_env(run, {"primary": cached(10), "backup": cached(10)}) as env:
            _, _, good = await env.get("/plain/s.js")
            state = env.runners["primary"].app[STATE]
            state.config = replace(state.config, error_rate=1.0)  # every answer is now a 503
            env.clock.advance(30)
            st, h, b = await env.get("/plain/s.js")
            assert (st, b) == (200, good)
            assert h["X-Cache"] == "Hit from cloudfront"
            assert (await env.stats())["by_status"] == {"200": 1, "503": 1}
            # The stale copy is held for the error caching TTL: no new origin request.
            st, _, _ = await env.get("/plain/s.js")
            assert st == 200
            assert (await env.stats())["total"] == 2
            # Without a stale copy the 503 goes to the viewer.
            st, h, _ = await env.get("/plain/new.js")
            assert (st, h["X-Cache"]) == (503, "Error from cloudfront")

    arun(body)


def test_stale_while_revalidate_refreshes_in_the_background(run: Any) -> None:
    async def body() -> None:
        cfg = cached(10, "stale-while-revalidate=60")
        async with edge_env(run, {"primary": cfg, "backup": cfg}) as env:
            await env.get("/plain/w.js")
            env.clock.advance(20)
            st, h, _ = await env.get("/plain/w.js")
            assert (st, h["X-Cache"]) == (200, "Hit from cloudfront")
            await asyncio.gather(*list(env.server.tasks))
            stats = await env.stats()
            assert stats["by_path"]["/plain/w.js"] == {"200": 1, "304": 1}
            _, h, _ = await env.get("/plain/w.js")
            assert (h["X-Cache"], h["Age"]) == ("Hit from cloudfront", "0")

    arun(body)


# ---- origin groups ----------------------------------------------------------------------------


def test_origin_group_fails_over_on_503(run: Any) -> None:
    failing = replace(cached(), error_rate=1.0)

    async def body() -> None:
        async with edge_env(run, {"primary": failing, "backup": cached()}) as env:
            st, h, b = await env.get("/static/f.js")
            assert (st, h["X-Cache"]) == (200, "Miss from cloudfront")
            assert b == body_bytes("/static/f.js", 10_000)
            assert (await env.stats("primary"))["by_status"] == {"503": 1}
            assert (await env.stats("backup"))["by_status"] == {"200": 1}
            # Every request tries the primary first (not sticky); POST never fails over.
            await env.get("/static/g.js")
            assert (await env.stats("primary"))["total"] == 2

    arun(body)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_origin_group_fails_over_on_connection_refused(run: Any) -> None:
    async def body() -> None:
        dead = f"http://127.0.0.1:{free_port()}"
        async with edge_env(run, {"primary": dead, "backup": cached()}) as env:
            st, h, b = await env.get("/static/f.js")
            assert (st, h["X-Cache"]) == (200, "Miss from cloudfront")
            assert b == body_bytes("/static/f.js", 10_000)
            # Outside the group the same failure is CloudFront's 502.
            st, h, _ = await env.get("/plain/x")
            assert (st, h["X-Cache"]) == (502, "Error from cloudfront")

    arun(body)


# ---- ranges and variants ---------------------------------------------------------------------


def test_range_requests(run: Any) -> None:
    async def body() -> None:
        async with edge_env(run, {"primary": cached(), "backup": cached()}) as env:
            full = body_bytes("/plain/big", 10_000)
            st, h, b = await env.get("/plain/big", headers={"Range": "bytes=10-19"})
            assert (st, h["Content-Range"], b) == (206, "bytes 10-19/10000", full[10:20])
            st, h, b = await env.get("/plain/big", headers={"Range": "bytes=-5"})
            assert (st, b) == (206, full[-5:])
            st, h, _ = await env.get("/plain/big", headers={"Range": "bytes=20000-"})
            assert (st, h["Content-Range"]) == (416, "bytes */10000")
            for overlapping in ("bytes=0-100,50-150", "bytes=500-600,0-10", "bytes=abc", "x=1-2"):
                st, _, b = await env.get("/plain/big", headers={"Range": overlapping})
                assert (st, b) == (200, full), overlapping
            absurd = "bytes=" + ",".join(f"{i}-{i}" for i in range(0, 40, 2))
            st, _, b = await env.get("/plain/big", headers={"Range": absurd})
            assert (st, b) == (200, full)
            huge = "bytes=99999999999999999999999-"
            st, _, _ = await env.get("/plain/big", headers={"Range": huge})
            assert st == 416
            # One origin fetch of the whole object served every range.
            assert (await env.stats())["total"] == 1

    arun(body)


SEEN = web.AppKey("seen", list[tuple[str, str]])


def variant_origin() -> web.Application:
    """Answers with the request's X-Variant and Accept-Encoding, cacheable for a minute."""
    seen: list[tuple[str, str]] = []

    async def handle(request: web.Request) -> web.Response:
        v = request.headers.get("X-Variant", "-")
        ae = request.headers.get("Accept-Encoding", "-")
        seen.append((v, ae))
        return web.Response(
            body=f"{request.path}|{v}|{ae}".encode(), headers={"Cache-Control": "max-age=60"}
        )

    app = web.Application()
    app[SEEN] = seen
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


def test_variants_never_mix(run: Any) -> None:
    async def body() -> None:
        origin = variant_origin()
        skip = {"skip_auto_headers": ("Accept-Encoding",)}
        async with edge_env(run, {"primary": origin, "backup": cached()}, session_kw=skip) as env:
            cases = [
                ({"Accept-Encoding": "gzip"}, b"/keyed/v|-|gzip"),
                ({}, b"/keyed/v|-|-"),
                ({"Accept-Encoding": "br"}, b"/keyed/v|-|-"),  # br is not enabled: identity
                ({"X-Variant": "a"}, b"/keyed/v|a|-"),
                ({"X-Variant": "b", "Accept-Encoding": "gzip, br"}, b"/keyed/v|b|gzip"),
                ({"X-Variant": ""}, b"/keyed/v||-"),  # empty differs from absent
            ]
            for _ in range(2):  # the second round is all hits, each its own variant
                for headers, expected in cases:
                    _, _, b = await env.get("/keyed/v", headers=headers)
                    assert b == expected, headers
            assert len(origin[SEEN]) == 5
            # A header outside the key shares the cached object and is not forwarded.
            _, h, b = await env.get("/keyed/v", headers={"X-Other": "z"})
            assert (b, h["X-Cache"]) == (b"/keyed/v|-|-", "Hit from cloudfront")
            # Variant bodies of one PoP are never answered for another key at the fast path.
            _, h, b = await env.get("/keyed/v", headers={"X-Variant": "a", "X-Other": "1"})
            assert b == b"/keyed/v|a|-"

    arun(body)


# ---- bad input --------------------------------------------------------------------------------


async def still_serves(env: Env) -> None:
    st, h, _ = await env.get("/plain/alive")
    assert st == 200
    assert h["X-Amz-Cf-Pop"] == POP


def test_path_traversal_is_refused_and_never_forwarded(run: Any) -> None:
    async def body() -> None:
        async with edge_env(run, {"primary": cached(), "backup": cached()}) as env:
            host, port = env.addr()
            for target in (
                b"/static/../etc/passwd",
                b"/static/%2e%2e/%2E%2E/etc/passwd",
                b"/..%5c..%5cwindows",
                b"/a%00.js",
                b"/a/./b",
                b"/bad%zzescape",
            ):
                resp = await raw(host, port, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n")
                assert status_of(resp) == 400, target
                assert b"X-Cache: Error from cloudfront" in resp
            assert (await env.stats())["total"] == 0
            await still_serves(env)

    arun(body)


def test_header_floods_and_malformed_requests_get_4xx(run: Any) -> None:
    async def body() -> None:
        async with edge_env(run, {"primary": cached(), "backup": cached()}) as env:
            host, port = env.addr()
            flood = b"".join(b"X-H%d: v\r\n" % i for i in range(500))
            cases = {
                b"GET / HTTP/1.1\r\nHost: x\r\n" + flood + b"\r\n": 431,
                b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 20_000 + b"\r\n\r\n": 431,
                b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 100_000: 431,  # never ends
                b"GET /" + b"a" * 100_000: 414,
                b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n": 414,
                b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n": 400,  # TLS on port 80
                b"GARBAGE\r\n\r\n": 400,
                b"GET / HTTP/1.1\n\n": 400,
                b"GET / HTTP/3.0\r\nHost: x\r\n\r\n": 505,
                b"GET / HTTP/1.1\r\n\r\n": 400,
                b"POST /api/x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n": 400,
                b"POST /api/x HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999\r\n\r\n": 413,
                b"POST /api/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n": 400,
                b"GET / HTTP/1.1\r\nHost: x\r\nX-Edgesim-Client: atlantis\r\n\r\n": 400,
            }
            for data, status in cases.items():
                resp = await raw(host, port, data)
                assert status_of(resp) == status, data[:60]
            # Unsupported methods are CloudFront's 403 (not in the allowed methods).
            trace = b"TRACE /static/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            assert status_of(await raw(host, port, trace)) == 403
            assert (await env.stats())["total"] == 0
            await still_serves(env)

    arun(body)


def test_uploads_are_forwarded_and_bounded(run: Any) -> None:
    cfg = replace(NO_DELAY, limits=Limits(max_body=1000))

    async def body() -> None:
        async with edge_env(run, {"primary": cached(), "backup": cached()}, cfg) as env:
            st, _h, b = await env.get("/api/up", method="POST", data=b"x" * 500)
            assert st == 200
            assert b'"received_bytes": 500' in b
            host, port = env.addr()
            chunked = (
                b"POST /api/up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                b"Connection: close\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"
            )
            resp = await raw(host, port, chunked)
            assert status_of(resp) == 200
            assert b'"received_bytes": 7' in resp
            st, _, _ = await env.get("/api/up", method="POST", data=b"x" * 2000)
            assert st == 413
            await still_serves(env)

    arun(body)


def test_pipelined_requests_are_answered_in_order(run: Any) -> None:
    async def body() -> None:
        async with edge_env(run, {"primary": cached(), "backup": cached()}) as env:
            host, port = env.addr()
            reqs = (
                b"".join(b"GET /plain/p%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(3))
                + b"GET /plain/p0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
            resp = await raw(host, port, reqs)
            assert resp.count(b"HTTP/1.1 200 OK") == 4
            assert resp.count(b"X-Cache: Miss") == 3
            assert resp.count(b"X-Cache: Hit") == 1
            starts = [resp.index(body_bytes(f"/plain/p{i}", 10_000)) for i in range(3)]
            assert starts == sorted(starts)

    arun(body)


def test_a_slow_client_times_out_without_blocking_others(run: Any) -> None:
    cfg = replace(NO_DELAY, header_timeout_s=0.5)

    async def body() -> None:
        async with edge_env(run, {"primary": cached(), "backup": cached()}, cfg) as env:
            host, port = env.addr()
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(b"GET /plain/slow HTTP/1.1\r\nHost: x\r\nX-A: ")  # and nothing more
            await writer.drain()
            await still_serves(env)  # another client is answered meanwhile
            resp = await asyncio.wait_for(reader.read(), 20)
            writer.close()
            assert status_of(resp) == 408
            await still_serves(env)

    arun(body)


# ---- clients and delays -----------------------------------------------------------------------


def test_client_group_by_source_address_and_header_sets_the_delay(run: Any) -> None:
    cfg = EdgeConfig(delay=True)

    async def body() -> None:
        async with edge_env(run, {"primary": cached(), "backup": cached()}, cfg) as env:
            plan = env.server.plan
            nrt = next(p for p in plan.pops if p.name == POP)
            tokyo = plan.client_rtt_ms[(0, nrt.node)] / 1000
            london = plan.client_rtt_ms[(1, nrt.node)] / 1000
            await env.get("/plain/d")  # warm the cache: hits only below
            host, port = env.addr()
            req = b"GET /plain/d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            for local, rtt in (("127.1.0.0", tokyo), ("127.1.0.1", london)):
                t0 = mono_now()
                resp = await raw(host, port, req, local=local)
                assert mono_now() - t0 >= rtt
                assert b"X-Cache: Hit" in resp
            t0 = mono_now()
            _, h, _ = await env.get("/plain/d", headers={"X-Edgesim-Client": "london"})
            assert mono_now() - t0 >= london
            assert h["X-Cache"] == "Hit from cloudfront"

    arun(body)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_through_the_edge(run: Any) -> None:
    async def body() -> None:
        async with edge_env(run, {"primary": cached(), "backup": cached()}) as env:
            url = env.url("/static/curl.txt")
            outs = []
            for _ in range(2):
                proc = await asyncio.create_subprocess_exec(
                    "curl", "-s", "-D", "-", "-o", "/dev/null", url, stdout=subprocess.PIPE
                )
                out, _ = await proc.communicate()
                outs.append(out.decode())
            assert "X-Cache: Miss from cloudfront" in outs[0]
            assert "X-Cache: Hit from cloudfront" in outs[1]
            assert f"X-Amz-Cf-Pop: {POP}" in outs[1]

    arun(body)


# ---- command line -----------------------------------------------------------------------------


def test_cli_errors_exit_2_with_a_short_message(tmp_path: Any) -> None:
    scn = tmp_path / "s.yaml"
    scn.write_text(SCENARIO, encoding="utf-8")
    r = CliRunner().invoke(edge_cli, ["serve", str(tmp_path / "missing.yaml")])
    assert r.exit_code == 2
    r = CliRunner().invoke(edge_cli, ["serve", str(scn), "--origin", "nope=http://x"])
    assert r.exit_code == 2
    assert "no origin 'nope'" in r.output
    r = CliRunner().invoke(edge_cli, ["serve", str(scn), "--distribution", "other"])
    assert r.exit_code == 2
    assert "no distribution" in r.output
    r = CliRunner().invoke(edge_cli, ["serve", str(scn), "--origin", "garbage"])
    assert r.exit_code == 2
    r = CliRunner().invoke(edge_cli, ["serve", str(scn), "--header-timeout", "soon"])
    assert r.exit_code == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text(SCENARIO.replace("cloudfront:", "cloudfrnt:"), encoding="utf-8")
    r = CliRunner().invoke(edge_cli, ["serve", str(bad)])
    assert r.exit_code == 2
    assert "Traceback" not in r.output
    assert parse_origin_option("site/primary=http://a:1") == ("site", "primary", "http://a:1")


# ---- HTTP faults found with curl (issue 13, item 8) -------------------------------------------


async def exchange(host: str, port: int, data: bytes, n: int = 1) -> list[bytes]:
    """Send ``data`` on one connection and read ``n`` responses (heads + Content-Length
    bodies) without waiting for the server to close."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(data)
    await writer.drain()
    out: list[bytes] = []
    try:
        for _ in range(n):
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 20)
            m = re.search(rb"(?i)\r\ncontent-length: *([0-9]+)", head)
            head_only = b"HEAD" in data.split(b" ", 1)[0]
            size = int(m.group(1)) if m and not head_only else 0
            body = await asyncio.wait_for(reader.readexactly(size), 20) if size else b""
            out.append(head + body)
    finally:
        writer.close()
    return out


def test_head_miss_announces_the_content_length(run: Any) -> None:
    async def body() -> None:
        async with edge_env(run, {"primary": cached(), "backup": cached()}) as env:
            st, h, b = await env.get("/plain/h.js", method="HEAD")
            assert (st, b, h["X-Cache"]) == (200, b"", "Miss from cloudfront")
            st2, _, full = await env.get("/plain/h.js")
            assert st2 == 200
            assert h["Content-Length"] == str(len(full)) != "0"
            st, h, _ = await env.get("/plain/h.js", method="HEAD")  # now a hit
            assert (st, h["X-Cache"], h["Content-Length"]) == (
                200,
                "Hit from cloudfront",
                str(len(full)),
            )

    arun(body)


def test_a_cached_500_is_not_served_stale_after_its_error_ttl(run: Any) -> None:
    async def body() -> None:
        plain = OriginConfig(port=0)
        async with edge_env(run, {"primary": plain, "backup": plain}) as env:
            st, h, _ = await env.get("/status/500")
            assert (st, h["X-Cache"]) == (500, "Error from cloudfront")
            env.clock.advance(5)
            st, h, _ = await env.get("/status/500")
            assert st == 500
            assert (await env.stats())["total"] == 1  # cached for the 10 s error TTL
            env.clock.advance(20)  # past the error TTL: the origin is asked again
            st, h, _ = await env.get("/status/500")
            assert (st, h["X-Cache"]) == (500, "Error from cloudfront")
            assert (await env.stats())["total"] == 2
            assert int(h.get("Age", "0")) < 10  # not the old error growing older

    arun(body)


def test_a_lowercase_method_is_refused(run: Any) -> None:
    async def body() -> None:
        async with edge_env(run, {"primary": cached(), "backup": cached()}) as env:
            host, port = env.addr()
            resp = await raw(host, port, b"get /plain/l.js HTTP/1.1\r\nHost: x\r\n\r\n")
            assert status_of(resp) == 400
            assert b"X-Cache: Error from cloudfront" in resp
            assert (await env.stats())["total"] == 0

    arun(body)


def test_http10_keep_alive_is_announced(run: Any) -> None:
    async def body() -> None:
        async with edge_env(run, {"primary": cached(), "backup": cached()}) as env:
            host, port = env.addr()
            req = b"GET /plain/k.js HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
            miss, hit = await exchange(host, port, req * 2, n=2)  # slow path, then fast path
            for resp in (miss, hit):
                assert status_of(resp) == 200
                assert b"\r\nConnection: keep-alive\r\n" in resp
            assert b"Miss from cloudfront" in miss
            assert b"Hit from cloudfront" in hit
            plain = await raw(host, port, b"GET /plain/k.js HTTP/1.0\r\n\r\n")
            assert b"Connection: keep-alive" not in plain  # HTTP/1.0 default: close

    arun(body)


def test_a_416_is_an_error_with_a_content_type(run: Any) -> None:
    async def body() -> None:
        async with edge_env(run, {"primary": cached(), "backup": cached()}) as env:
            await env.get("/plain/r.bin")
            for _ in range(2):  # from the stored object, twice
                st, h, _ = await env.get("/plain/r.bin", headers={"Range": "bytes=999999-"})
                assert st == 416
                assert h["X-Cache"] == "Error from cloudfront"
                assert h["Content-Type"] == "text/html"

    arun(body)


def test_an_unknown_host_is_served_by_the_default_distribution(run: Any) -> None:
    """edgesim's choice (docs/live-edge.md): CloudFront would answer 403."""

    async def body() -> None:
        async with edge_env(run, {"primary": cached(), "backup": cached()}) as env:
            host, port = env.addr()
            data = b"GET /plain/u.js HTTP/1.1\r\nHost: nowhere.example\r\nConnection: close\r\n\r\n"
            resp = await raw(host, port, data)
            assert status_of(resp) == 200
            assert b"Miss from cloudfront" in resp

    arun(body)
