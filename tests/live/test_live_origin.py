"""The live origin (edgesim/live/origin.py) over real loopback HTTP."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any, TypeVar

import aiohttp
import pytest
from click.testing import CliRunner

from edgesim.cli.origin import origin, parse_listen
from edgesim.live.origin import (
    OTHER_PATHS,
    OriginConfig,
    UnsatisfiableRangeError,
    body_bytes,
    body_slice,
    etag_for,
    etag_matches,
    parse_header,
    parse_range,
    start_origin,
)

T = TypeVar("T")
BASE = OriginConfig(port=0)
LAST_MODIFIED = "Mon, 01 Jan 2024 00:00:00 GMT"

Headers = Mapping[str, str]
Body = Callable[[aiohttp.ClientSession, str], Awaitable[T]]


def with_origin(config: OriginConfig, body: Body[T]) -> T:
    """Start an origin on a free port, run ``body(session, base_url)``, stop it."""

    async def main() -> T:
        runner, host, port = await start_origin(replace(config, port=0))
        try:
            timeout = aiohttp.ClientTimeout(total=15)
            async with aiohttp.ClientSession(timeout=timeout, auto_decompress=False) as s:
                return await body(s, f"http://{host}:{port}")
        finally:
            await runner.cleanup()

    return asyncio.run(asyncio.wait_for(main(), 60))


async def fetch(
    s: aiohttp.ClientSession, url: str, method: str = "GET", **kw: Any
) -> tuple[int, Headers, bytes]:
    async with s.request(method, url, allow_redirects=False, **kw) as r:
        return r.status, r.headers.copy(), await r.read()


async def stats(s: aiohttp.ClientSession, base: str) -> dict[str, Any]:
    async with s.get(base + "/_edgesim/stats") as r:
        data: dict[str, Any] = await r.json()
        return data


# ---- bodies, sizes and headers ----------------------------------------------------------------


def test_default_body_is_10kb_deterministic_and_per_path() -> None:
    async def body(s: aiohttp.ClientSession, base: str) -> list[tuple[int, Headers, bytes]]:
        return [await fetch(s, base + p) for p in ("/a/b.js", "/a/b.js", "/other")]

    (st1, h1, b1), (_, h2, b2), (_, h3, b3) = with_origin(BASE, body)
    assert st1 == 200
    assert len(b1) == 10_000
    assert b1 == b2 == body_bytes("/a/b.js", 10_000)
    assert b3 == body_bytes("/other", 10_000) != b1
    assert h1["ETag"] == h2["ETag"] == etag_for("/a/b.js", 10_000) != h3["ETag"]
    assert h1["Last-Modified"] == LAST_MODIFIED
    assert h1["Accept-Ranges"] == "bytes"
    assert h1["Content-Type"] == "application/octet-stream"


def test_body_is_not_periodic_and_a_prefix_of_longer_sizes() -> None:
    long = body_bytes("/x", 200_000)
    assert long[:10_000] == body_bytes("/x", 10_000)
    assert long[65_536 : 65_536 + 4096] != long[:4096]  # blocks differ, no short period
    assert body_slice("/x", 70_000, 140_000) == long[70_000:140_000]
    assert body_slice("/x", 5, 5) == b""


def test_query_size_is_honoured_and_capped() -> None:
    config = replace(BASE, body_size=1000, max_body_size=50_000)

    async def body(s: aiohttp.ClientSession, base: str) -> list[tuple[int, Headers, bytes]]:
        return [
            await fetch(s, base + "/obj?size=123"),
            await fetch(s, base + "/obj?size=1000000000"),
            await fetch(s, base + "/obj?size=0"),
            await fetch(s, base + "/obj?size=ten"),
        ]

    small, capped, empty, bad = with_origin(config, body)
    assert small[0] == 200
    assert small[2] == body_bytes("/obj", 123)
    assert capped[2] == body_bytes("/obj", 50_000)
    assert capped[1]["ETag"] == etag_for("/obj", 50_000)
    assert empty[0] == 200
    assert empty[2] == b""
    assert bad[0] == 400


def test_large_bodies_are_streamed_byte_for_byte() -> None:
    config = replace(BASE, max_body_size=4 * 1024 * 1024)
    size = 3 * 1024 * 1024 + 17

    async def body(s: aiohttp.ClientSession, base: str) -> tuple[int, Headers, bytes]:
        return await fetch(s, base + f"/big.bin?size={size}")

    status, headers, data = with_origin(config, body)
    assert status == 200
    assert int(headers["Content-Length"]) == size
    assert data == body_bytes("/big.bin", size)


def test_configured_headers_are_added() -> None:
    config = replace(BASE, headers=(("Cache-Control", "max-age=60"), ("X-Origin", "edgesim test")))

    async def body(s: aiohttp.ClientSession, base: str) -> list[tuple[int, Headers, bytes]]:
        return [await fetch(s, base + "/a"), await fetch(s, base + "/status/404")]

    (_, h, _), (status, h404, _) = with_origin(config, body)
    assert h["Cache-Control"] == "max-age=60"
    assert h["X-Origin"] == "edgesim test"
    assert status == 404
    assert h404["Cache-Control"] == "max-age=60"


# ---- conditional GET, ranges, HEAD -------------------------------------------------------------


def test_conditional_get_answers_304() -> None:
    config = replace(BASE, headers=(("Cache-Control", "max-age=60"),))
    etag = etag_for("/c", 10_000)
    cases: list[tuple[Headers, int]] = [
        ({"If-None-Match": etag}, 304),
        ({"If-None-Match": f'"nope", W/{etag}'}, 304),  # weak comparison, in a list
        ({"If-None-Match": "*"}, 304),
        ({"If-None-Match": '"nope"'}, 200),
        ({"If-Modified-Since": LAST_MODIFIED}, 304),
        ({"If-Modified-Since": "Tue, 02 Jan 2024 00:00:00 GMT"}, 304),
        ({"If-Modified-Since": "Sun, 31 Dec 2023 23:59:59 GMT"}, 200),
        ({"If-Modified-Since": "not a date"}, 200),
        # If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2)
        ({"If-None-Match": '"nope"', "If-Modified-Since": LAST_MODIFIED}, 200),
    ]

    async def body(s: aiohttp.ClientSession, base: str) -> list[tuple[int, Headers, bytes]]:
        out = [await fetch(s, base + "/c", headers=h) for h, _ in cases]
        out.append(await fetch(s, base + "/c", "HEAD", headers={"If-None-Match": etag}))
        return out

    results = with_origin(config, body)
    for (headers, expected), (status, _, _) in zip(cases, results, strict=False):
        assert status == expected, headers
    not_modified = results[0]
    assert not_modified[2] == b""
    assert not_modified[1]["ETag"] == etag
    assert not_modified[1]["Cache-Control"] == "max-age=60"
    assert results[-1][0] == 304


def test_range_requests() -> None:
    full = body_bytes("/r", 10_000)
    etag = etag_for("/r", 10_000)
    cases: list[tuple[Headers, int, bytes, str | None]] = [
        ({"Range": "bytes=10-19"}, 206, full[10:20], "bytes 10-19/10000"),
        ({"Range": "bytes=-100"}, 206, full[-100:], "bytes 9900-9999/10000"),
        ({"Range": "bytes=9990-"}, 206, full[9990:], "bytes 9990-9999/10000"),
        ({"Range": "bytes=0-99999"}, 206, full, "bytes 0-9999/10000"),
        ({"Range": "bytes=0-1,5-6"}, 200, full, None),  # several ranges: whole body
        ({"Range": "bytes=abc"}, 200, full, None),  # invalid: ignored
        ({"Range": "items=0-1"}, 200, full, None),
        ({"Range": "bytes=20000-"}, 416, b"range not satisfiable\n", "bytes */10000"),
        ({"Range": "bytes=0-9", "If-Range": etag}, 206, full[:10], "bytes 0-9/10000"),
        ({"Range": "bytes=0-9", "If-Range": '"old"'}, 200, full, None),
        ({"Range": "bytes=0-9", "If-Range": LAST_MODIFIED}, 206, full[:10], "bytes 0-9/10000"),
    ]

    async def body(s: aiohttp.ClientSession, base: str) -> list[tuple[int, Headers, bytes]]:
        out = [await fetch(s, base + "/r", headers=h) for h, _, _, _ in cases]
        out.append(await fetch(s, base + "/r", "HEAD", headers={"Range": "bytes=0-9"}))
        return out

    results = with_origin(BASE, body)
    for (headers, status, data, content_range), (got, got_headers, got_body) in zip(
        cases, results, strict=False
    ):
        assert got == status, headers
        assert got_body == data, headers
        assert got_headers.get("Content-Range") == content_range, headers
    assert results[-1][0] == 200  # Range is ignored for HEAD


def test_head_has_headers_and_no_body() -> None:
    config = replace(BASE, max_body_size=8 * 1024 * 1024)

    async def body(s: aiohttp.ClientSession, base: str) -> list[tuple[int, Headers, bytes]]:
        return [
            await fetch(s, base + "/h", "HEAD"),
            await fetch(s, base + "/h?size=5000000", "HEAD"),
            await fetch(s, base + "/h"),
        ]

    (st, h, data), (st_big, h_big, data_big), (_, h_get, _) = with_origin(config, body)
    assert (st, data) == (200, b"")
    assert h["Content-Length"] == "10000"
    assert h["ETag"] == h_get["ETag"]
    assert (st_big, data_big) == (200, b"")
    assert h_big["Content-Length"] == "5000000"


# ---- errors and status paths ------------------------------------------------------------------


def _statuses(config: OriginConfig, n: int) -> list[int]:
    async def body(s: aiohttp.ClientSession, base: str) -> list[int]:
        return [(await fetch(s, base + f"/e{i % 3}"))[0] for i in range(n)]

    return with_origin(config, body)


def test_error_rate_is_seeded_and_repeatable() -> None:
    config = replace(BASE, error_rate=0.3, seed=7)
    first = _statuses(config, 60)
    again = _statuses(config, 60)
    other_seed = _statuses(replace(config, seed=8), 60)
    with_jitter = _statuses(replace(config, jitter_s=0.001), 60)
    assert first == again == with_jitter
    assert first != other_seed
    assert set(first) == {200, 503}
    assert 5 <= first.count(503) <= 35
    assert set(_statuses(replace(BASE, error_rate=1.0), 5)) == {503}
    assert set(_statuses(BASE, 5)) == {200}


def test_injected_errors_are_not_cacheable() -> None:
    config = replace(BASE, error_rate=1.0, headers=(("Cache-Control", "max-age=60"),))

    async def body(s: aiohttp.ClientSession, base: str) -> tuple[int, Headers, bytes]:
        return await fetch(s, base + "/x")

    status, headers, _ = with_origin(config, body)
    assert status == 503
    assert headers["Cache-Control"] == "no-store"


def test_status_paths() -> None:
    async def body(s: aiohttp.ClientSession, base: str) -> list[tuple[int, Headers, bytes]]:
        return [
            await fetch(s, base + p)
            for p in ("/status/404", "/status/204", "/status/302", "/status/200", "/status/999")
        ]

    r404, r204, r302, r200, r999 = with_origin(BASE, body)
    assert r404[0] == 404
    assert r404[2] == b"404 Not Found\n"
    assert (r204[0], r204[2]) == (204, b"")
    assert r302[0] == 302
    assert r302[1]["Location"] == "/"
    assert r200[0] == 200
    assert r999[0] == 400

    async def plain(s: aiohttp.ClientSession, base: str) -> tuple[int, Headers, bytes]:
        return await fetch(s, base + "/status/404")

    status, _, data = with_origin(replace(BASE, status_paths=False), plain)
    assert status == 200
    assert data == body_bytes("/status/404", 10_000)


def test_other_methods_are_read_and_summarised() -> None:
    async def body(s: aiohttp.ClientSession, base: str) -> tuple[int, Headers, bytes]:
        return await fetch(s, base + "/upload", "POST", data=b"z" * 12345)

    status, headers, data = with_origin(BASE, body)
    assert status == 200
    assert headers["Cache-Control"] == "no-store"
    assert b'"received_bytes": 12345' in data
    assert b'"method": "POST"' in data


# ---- stats, health, latency -------------------------------------------------------------------


def test_stats_count_requests_by_path_and_status() -> None:
    config = replace(BASE, max_tracked_paths=3)

    async def body(s: aiohttp.ClientSession, base: str) -> tuple[Any, ...]:
        etag = etag_for("/a", 10_000)
        await fetch(s, base + "/a")
        await fetch(s, base + "/a")
        await fetch(s, base + "/a", headers={"If-None-Match": etag})
        await fetch(s, base + "/status/404")
        await fetch(s, base + "/healthz")  # not counted
        health = await fetch(s, base + "/healthz")
        first = await stats(s, base)
        for p in ("/b", "/c", "/d"):
            await fetch(s, base + p)
        overflow = await stats(s, base)
        reset = await fetch(s, base + "/_edgesim/stats", "DELETE")
        after = await stats(s, base)
        wrong = await fetch(s, base + "/_edgesim/stats", "POST")
        unknown = await fetch(s, base + "/_edgesim/nope")
        return health, first, overflow, reset, after, wrong, unknown

    health, first, overflow, reset, after, wrong, unknown = with_origin(config, body)
    assert health[0] == 200
    assert first == {
        "total": 4,
        "by_status": {"200": 2, "304": 1, "404": 1},
        "by_path": {"/a": {"200": 2, "304": 1}, "/status/404": {"404": 1}},
    }
    assert overflow["total"] == 7
    assert set(overflow["by_path"]) == {"/a", "/status/404", "/b", OTHER_PATHS}
    assert overflow["by_path"][OTHER_PATHS] == {"200": 2}
    assert reset[0] == 204
    assert after == {"total": 0, "by_status": {}, "by_path": {}}
    assert wrong[0] == 405
    assert unknown[0] == 404


def test_latency_is_applied_to_every_response() -> None:
    config = replace(BASE, latency_s=0.05, jitter_s=0.01, seed=1)

    async def body(s: aiohttp.ClientSession, base: str) -> tuple[list[float], float]:
        async def timed(path: str) -> float:
            t0 = time.monotonic()
            await fetch(s, base + path)
            return time.monotonic() - t0

        observed = await asyncio.gather(*(timed(f"/l{i}") for i in range(20)))
        t0 = time.monotonic()
        await fetch(s, base + "/healthz")
        return list(observed), time.monotonic() - t0

    observed, _ = with_origin(config, body)
    assert all(t >= 0.05 for t in observed)


# ---- hostile input ----------------------------------------------------------------------------


async def _raw(host: str, port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(65536), 10)
    finally:
        writer.close()


def test_malformed_requests_get_4xx_and_the_server_keeps_answering() -> None:
    async def body(s: aiohttp.ClientSession, base: str) -> tuple[list[bytes], int, Any]:
        host, port = parse_listen(base.removeprefix("http://"))
        bad = [
            b"GARBAGE\r\n\r\n",
            b"GET / HTTP/9.9\r\n\r\n",
            b"GET /a HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
            b"GET /a HTTP/1.1\r\nBad Header Line\r\n\r\n",
            b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\n\r\n",
            b"\x00\xff\x16\x03\x01binary junk\r\n\r\n",
        ]
        answers = [await _raw(host, port, b) for b in bad]
        status, _, data = await fetch(s, base + "/still-here")
        assert data == body_bytes("/still-here", 10_000)
        return answers, status, await stats(s, base)

    answers, status, counted = with_origin(BASE, body)
    for a in answers:
        assert a.startswith(b"HTTP/1.")
        assert a.split(b" ")[1].startswith(b"4"), a[:80]
    assert status == 200
    assert counted["total"] == 1  # the malformed ones never reached the handler


def test_path_traversal_never_touches_the_file_system() -> None:
    async def body(s: aiohttp.ClientSession, base: str) -> tuple[bytes, Any]:
        host, port = parse_listen(base.removeprefix("http://"))
        raw = await _raw(
            host, port, b"GET /../../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        return raw, await stats(s, base)

    raw, counted = with_origin(BASE, body)
    head, _, data = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"root:" not in data
    (path,) = counted["by_path"]
    assert data == body_bytes(path, 10_000)


# ---- pieces -----------------------------------------------------------------------------------


def test_parse_range() -> None:
    assert parse_range("bytes=0-0", 10) == (0, 1)
    assert parse_range("bytes=5-", 10) == (5, 10)
    assert parse_range("bytes=-3", 10) == (7, 10)
    assert parse_range("bytes=-30", 10) == (0, 10)
    assert parse_range("Bytes = 2-4", 10) == (2, 5)  # the unit is case-insensitive
    assert parse_range("bytes=4-2", 10) is None
    assert parse_range("bytes=1-2,4-5", 10) is None
    assert parse_range("bytes", 10) is None
    for bad in ("bytes=10-", "bytes=-0"):
        with pytest.raises(UnsatisfiableRangeError):
            parse_range(bad, 10)
    with pytest.raises(UnsatisfiableRangeError):
        parse_range("bytes=-5", 0)


def test_etag_matching() -> None:
    assert etag_matches(['"a"'], '"a"', weak=False)
    assert not etag_matches(['W/"a"'], '"a"', weak=False)
    assert etag_matches(['W/"a"'], '"a"', weak=True)
    assert etag_matches(['"b", "a"'], '"a"', weak=True)
    assert not etag_matches(['"b"'], '"a"', weak=True)


def test_config_and_header_validation() -> None:
    assert parse_header("Cache-Control:  max-age=60 ") == ("Cache-Control", "max-age=60")
    for bad in ("no colon", "Bad Name: x", ": x"):
        with pytest.raises(ValueError, match="header"):
            parse_header(bad)
    with pytest.raises(ValueError, match="line break"):
        OriginConfig(headers=(("X-A", "a\r\nInjected: 1"),))
    for kwargs, message in (
        ({"port": 70000}, "port"),
        ({"body_size": -1}, "negative"),
        ({"body_size": 100, "max_body_size": 10}, "maximum"),
        ({"latency_s": -0.1}, "negative"),
        ({"error_rate": 1.5}, "error rate"),
    ):
        with pytest.raises(ValueError, match=message):
            OriginConfig(**kwargs)
    assert parse_listen("[::1]:80") == ("::1", 80)
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_listen("localhost")


# ---- the command ------------------------------------------------------------------------------


def test_cli_rejects_bad_options_without_serving() -> None:
    runner = CliRunner()
    for args in (
        ["--listen", "nowhere"],
        ["--body-size", "lots"],
        ["--latency", "20"],
        ["--error-rate", "2"],
        ["--header", "broken"],
        ["--body-size", "1MB", "--max-body-size", "1KB"],
    ):
        result = runner.invoke(origin, ["serve", *args])
        assert result.exit_code == 2, (args, result.output)
    assert "--body-size" in runner.invoke(origin, ["serve", "--help"]).output


def test_serve_answers_and_stops_cleanly_on_sigint() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "edgesim.cli.origin",
            "--listen",
            "127.0.0.1:0",
            "--header",
            "Cache-Control: max-age=3600",
            "--body-size",
            "2KB",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("origin on http://127.0.0.1:"), line
        url = line.split()[2]

        async def get() -> tuple[int, Headers, bytes]:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as s:
                return await fetch(s, url + "obj")

        status, headers, data = asyncio.run(get())
        assert status == 200
        assert headers["Cache-Control"] == "max-age=3600"
        assert data == body_bytes("/obj", 2000)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=15)
