"""Accuracy of the live delay (edgesim/live/delay.py) with many concurrent connections.

A tiny aiohttp server holds every response until ``arrival + delay`` (80 ms by default) with
the shared :class:`~edgesim.live.delay.Delayer` (or, for comparison, ``asyncio.sleep``), and
reports in a header how late the handler resumed. A client in another process keeps N
keep-alive connections (1,000 by default) busy for S seconds, each sending its next request
when the previous answer arrives (connections start spread over one delay), and records for
every request:

- the server-side error: handler resumed − (arrival + delay), i.e. the delay mechanism alone;
- the client-side error: request sent → response read, minus the delay (adds loopback, HTTP
  parsing and both processes' scheduling).

Server and client are pinned to different CPUs when there are two or more. The first second
is warm-up and not counted.

Usage: .venv/bin/python bench/bench_delay.py [--connections 1000] [--delay-ms 80]
       [--seconds 10] [--method delayer|sleep|both] [--loop uvloop|asyncio]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import random
import time
from multiprocessing.connection import Connection
from typing import Any

from aiohttp import web

from edgesim.live.delay import Delayer, now

WARMUP_S = 1.0


def _loop_factory(kind: str) -> asyncio.AbstractEventLoop:
    if kind == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def _pin(cpu: int) -> None:
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) >= 2:
        os.sched_setaffinity(0, {cpus[cpu % len(cpus)]})


def _server(conn: Connection, delay_s: float, method: str, loop_kind: str) -> None:
    _pin(0)

    async def main() -> None:
        delayer = Delayer()

        async def handle(request: web.Request) -> web.Response:
            arrival = now()
            deadline = arrival + delay_s
            if method == "delayer":
                await delayer.until(deadline)
            else:
                await asyncio.sleep(delay_s)
            error_us = (now() - deadline) * 1e6
            return web.Response(body=b"x", headers={"X-Delay-Error-Us": f"{error_us:.1f}"})

        app = web.Application()
        app.router.add_get("/", handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=4096)
        await site.start()
        conn.send(runner.addresses[0][1])
        conn.recv()  # "go": the client is about to start
        cpu0, t0 = time.process_time(), time.monotonic()
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        conn.send((time.process_time() - cpu0) / (time.monotonic() - t0))
        await runner.cleanup()

    loop = _loop_factory(loop_kind)
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


async def _client_conn(
    port: int,
    start_at: float,
    stop_at: float,
    count_from: float,
    delay_s: float,
    server_errors: list[float],
    client_errors: list[float],
) -> None:
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
    try:
        while time.monotonic() < stop_at:
            sent = time.monotonic()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            server_us = 0.0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                lname = name.strip().lower()
                if lname == b"content-length":
                    length = int(value)
                elif lname == b"x-delay-error-us":
                    server_us = float(value)
            if length:
                await reader.readexactly(length)
            done = time.monotonic()
            if sent >= count_from:
                client_errors.append((done - sent - delay_s) * 1e3)
                server_errors.append(server_us / 1e3)
    finally:
        writer.close()


def _client(
    conn: Connection, port: int, connections: int, delay_s: float, seconds: float, kind: str
) -> None:
    _pin(1)

    async def main() -> tuple[list[float], list[float]]:
        t0 = time.monotonic() + 0.2
        server_errors: list[float] = []
        client_errors: list[float] = []
        rng = random.Random(1)
        tasks = [
            _client_conn(
                port,
                t0 + rng.random() * delay_s,
                t0 + seconds,
                t0 + WARMUP_S,
                delay_s,
                server_errors,
                client_errors,
            )
            for _ in range(connections)
        ]
        await asyncio.gather(*tasks)
        return server_errors, client_errors

    loop = _loop_factory(kind)
    try:
        conn.send(loop.run_until_complete(main()))
    finally:
        loop.close()


def _pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(p / 100 * len(s)))]


def run(
    connections: int, delay_ms: float, seconds: float, method: str, kind: str
) -> dict[str, Any]:
    ctx = mp.get_context("fork")
    s_parent, s_child = ctx.Pipe()
    server = ctx.Process(target=_server, args=(s_child, delay_ms / 1e3, method, kind))
    server.start()
    try:
        port = s_parent.recv()
        s_parent.send("go")
        c_parent, c_child = ctx.Pipe()
        client = ctx.Process(
            target=_client, args=(c_child, port, connections, delay_ms / 1e3, seconds, kind)
        )
        client.start()
        server_errors, client_errors = c_parent.recv()
        client.join(30)
        s_parent.send("stop")
        server_cpu = s_parent.recv()
    finally:
        server.join(30)
        if server.is_alive():
            server.kill()
    return {"server": server_errors, "client": client_errors, "cpu": server_cpu}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--delay-ms", type=float, default=80.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--method", choices=["delayer", "sleep", "both"], default="both")
    ap.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    args = ap.parse_args()
    methods = ["delayer", "sleep"] if args.method == "both" else [args.method]
    print(
        f"{args.connections} connections, {args.delay_ms:g} ms delay, {args.seconds:g} s, "
        f"{args.loop}, {os.cpu_count()} CPUs; error = observed − configured, ms"
    )
    print(
        f"{'method':<8} {'side':<7} {'requests':>9} {'req/s':>7} {'p50':>7} {'p99':>7} "
        f"{'max':>7} {'min':>7}  server CPU"
    )
    for method in methods:
        res = run(args.connections, args.delay_ms, args.seconds, method, args.loop)
        for side in ("server", "client"):
            v = res[side]
            if not v:
                print(f"{method:<8} {side:<7} no samples")
                continue
            rate = len(v) / (args.seconds - WARMUP_S)
            print(
                f"{method:<8} {side:<7} {len(v):>9} {rate:>7.0f} {_pct(v, 50):>7.3f} "
                f"{_pct(v, 99):>7.3f} {max(v):>7.3f} {min(v):>7.3f}  {res['cpu']:.0%}"
            )


if __name__ == "__main__":
    main()
