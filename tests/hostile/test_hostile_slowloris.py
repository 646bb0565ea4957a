"""A slowloris against the control API (issue 17, item 8): 500 connections hold half-sent
requests open (some trickling a byte at a time) while a normal client keeps asking for
``/v1/state``. Every normal request is answered; the latencies are printed (``-s``), not
asserted: timing targets live in bench/ (the issue's 50 ms is checked there)."""

from __future__ import annotations

import resource
import socket
import statistics
import time

import pytest
from hostile_live import Live

IDLE = 500
ROUNDS = 20


@pytest.fixture
def enough_descriptors() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * IDLE + 200  # both ends live in this process
    if soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            pytest.skip(f"needs {need} open files (hard limit {hard})")
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


@pytest.mark.usefixtures("enough_descriptors")
def test_500_idle_connections_do_not_starve_a_normal_client(live: Live) -> None:
    host, port = live.control
    idle: list[socket.socket] = []
    latencies_ms: list[float] = []
    try:
        for i in range(IDLE):
            s = socket.create_connection((host, port), timeout=10)
            # half a request: the head never ends
            s.sendall(f"GET /v1/state HTTP/1.1\r\nHost: {host}:{port}\r\nX-Slow-{i}: ".encode())
            idle.append(s)
        for r in range(ROUNDS):
            for s in idle[r::ROUNDS]:  # trickle: one more byte from a share of them
                s.sendall(b"a")
            t0 = time.perf_counter()
            status, payload = live.request("GET", "/v1/state", auth=None)
            latencies_ms.append((time.perf_counter() - t0) * 1000)
            assert status == 200
            assert "version" in payload
    finally:
        for s in idle:
            s.close()
    assert len(latencies_ms) == ROUNDS
    print(
        f"\n{IDLE} idle connections: /v1/state answered {ROUNDS}/{ROUNDS}, "
        f"median {statistics.median(latencies_ms):.1f} ms, max {max(latencies_ms):.1f} ms"
    )
