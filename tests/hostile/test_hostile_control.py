"""The control API and the stack under abusive clients (issue 17, items 7 and 8): deep JSON,
oversized headers, DNS rebinding (Host), the bearer scheme's case, unbounded event streams,
PoP names as the banner prints them, the banner's accelerator port, swallowed errors."""

from __future__ import annotations

import asyncio
import logging
import re
import shlex
import socket
from typing import Any

import pytest
from hostile_live import ROOT, TOKEN, Live, live_config

from edgesim.live.control import MAX_JSON_DEPTH, MAX_SUBSCRIBERS, json_depth, try_line
from edgesim.live.stack import Stack


def test_a_30000_deep_json_body_is_a_400_not_a_500(live: Live) -> None:
    body = b"[" * 30_000 + b"]" * 30_000
    status, payload = live.request("POST", "/v1/events", body)
    assert status == 400
    assert "nests deeper" in payload["error"]
    # a deep object hidden in a string is only a string
    text = b'{"fail": "' + b"[" * 5000 + b'"}'
    assert json_depth(text) == 1
    status, _ = live.request("POST", "/v1/events", text)
    assert status in (400, 404)
    # at the limit it is parsed (and refused as an event, not as JSON)
    nested = b'{"note": ' + b"[" * (MAX_JSON_DEPTH - 1) + b"]" * (MAX_JSON_DEPTH - 1) + b"}"
    status, payload = live.request("POST", "/v1/events", nested)
    assert status == 400
    assert "not JSON" not in payload["error"]
    assert live.request("GET", "/v1/state")[0] == 200


def test_the_bearer_scheme_is_case_insensitive(live: Live) -> None:
    # RFC 7235 section 2.1: the auth-scheme is case-insensitive
    for scheme in ("bearer", "BEARER", "Bearer"):
        status, _ = live.request(
            "POST", "/v1/recover", b'{"target": "region:eu-west-1"}', auth=f"{scheme} {TOKEN}"
        )
        assert status == 200, scheme
    status, _ = live.request(
        "POST", "/v1/recover", b'{"target": "region:eu-west-1"}', auth=f"Basic {TOKEN}"
    )
    assert status == 401
    status, _ = live.request(
        "POST", "/v1/recover", b'{"target": "region:eu-west-1"}', auth="bearer"
    )
    assert status == 401


def test_a_foreign_host_header_is_refused(live: Live) -> None:
    """A DNS-rebinding page reaches 127.0.0.1 under its own name: refused, reads included."""
    port = live.control[1]
    for host in (f"evil.example:{port}", "evil.example", f"127.0.0.1.nip.io:{port}"):
        status, payload = live.request("GET", "/v1/state", headers={"Host": host}, auth=None)
        assert status == 421, host
        assert "Host" in payload["error"]
    # the wrong port on loopback is another server's name
    assert live.request("GET", "/v1/state", headers={"Host": f"127.0.0.1:{port + 1}"})[0] == 421
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}"):
        assert live.request("GET", "/v1/state", headers={"Host": host})[0] == 200, host


def test_event_streams_are_bounded_oldest_ends_first(live: Live) -> None:
    host, port = live.control
    socks: list[socket.socket] = []
    try:
        for _ in range(MAX_SUBSCRIBERS + 3):
            s = socket.create_connection((host, port), timeout=10)
            s.sendall(f"GET /v1/metrics/stream HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
            got = b""
            while b"event: hello" not in got:  # registered once it has said hello
                chunk = s.recv(65536)
                assert chunk, "stream closed before hello"
                got += chunk
            socks.append(s)
        assert len(live.stack.subscribers) <= MAX_SUBSCRIBERS
        # the first three were told why and their responses ended (the last chunk)
        for s in socks[:3]:
            got = b""
            while b"\r\n0\r\n\r\n" not in got:
                chunk = s.recv(65536)
                assert chunk
                got += chunk
            assert b"event: bye" in got
            assert b"oldest" in got
    finally:
        for s in socks:
            s.close()


def test_oversized_headers_are_refused_and_the_api_keeps_answering(live: Live) -> None:
    host, port = live.control
    for head in (
        f"GET /v1/state HTTP/1.1\r\nHost: {host}:{port}\r\nX-Big: {'a' * 100_000}\r\n\r\n",
        f"GET /v1/state HTTP/1.1\r\nHost: {host}:{port}\r\n"
        + "".join(f"X-H{i}: {'b' * 100}\r\n" for i in range(2000))
        + "\r\n",
        f"GET /{'p' * 100_000} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n",
    ):
        with socket.create_connection((host, port), timeout=10) as s:
            try:
                s.sendall(head.encode())
                answer = s.recv(4096)
            except ConnectionError:
                answer = b""
        assert not answer.startswith(b"HTTP/1.1 200"), answer[:80]
        assert not answer.startswith(b"HTTP/1.1 500"), answer[:80]
    assert live.request("GET", "/v1/state")[0] == 200


def test_pops_are_accepted_as_the_banner_names_them(live: Live) -> None:
    assert live.stack.plan is not None
    pop = live.stack.plan.pops[0]
    assert pop.name != pop.id  # the banner shows NRT57-C1, the timeline says pop:NRT57
    status, payload = live.request("POST", "/v1/fail", f'{{"target": "pop:{pop.name}"}}'.encode())
    assert status == 200, payload
    assert f"pop:{pop.id}" in live.stack.ctx.world.down_nodes
    status, _ = live.request("POST", "/v1/recover", f'{{"target": "pop:{pop.name}"}}'.encode())
    assert status == 200
    assert f"pop:{pop.id}" not in live.stack.ctx.world.down_nodes
    status, _ = live.request("POST", "/v1/events", f'{{"fail": "pop:{pop.name}"}}'.encode())
    assert status == 200
    assert live.request("POST", "/v1/events", f'{{"recover": "pop:{pop.name}"}}'.encode())[0] == 200
    assert live.request("POST", "/v1/fail", b'{"target": "pop:NOPE1-C1"}')[0] == 404


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def test_the_banner_reaches_an_accelerator_on_its_listener_port() -> None:
    scenario = ROOT / "scenarios" / "global-api-accelerator.yaml"
    offset = _free_port("127.4.0.1") - 443
    with Live(Stack.load(live_config(scenario, ga_port_offset=offset))) as running:
        stack = running.stack
        assert stack.authority is not None
        host = next(h for h in stack.authority.names if h.startswith("api."))
        line = try_line(stack, host, 0)
        assert line is not None
        assert str(stack.edge_port) not in line.split("#")[0].split()[-1:]
        words = shlex.split(line.split("|", 1)[1].split("#")[0])
        src, addr, port = words[words.index("-s") + 1], words[-2], int(words[-1])
        assert addr.startswith("127.4.")
        assert port == 443 + offset
        with socket.create_connection((addr, port), timeout=10, source_address=(src, 0)) as s:
            s.sendall(b"hello\n")
            got = b""
            while not got.endswith(b"\n"):
                chunk = s.recv(100)
                assert chunk
                got += chunk
        assert got == b"hello\n"


class _Boom:
    """A live component (the accelerators' part, say) whose callbacks fail."""

    name = "accelerators"

    def on_change(self) -> None:
        raise RuntimeError("on_change exploded")

    async def stop(self) -> None:
        raise RuntimeError("stop exploded")


def test_component_callback_errors_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    stack = Stack.load(live_config())
    stack.components.append(_Boom())  # type: ignore[arg-type]
    with caplog.at_level(logging.ERROR, logger="edgesim.live"):
        stack._changed()
        assert stack.version == 1  # the change itself went through
        asyncio.run(stack.stop())
    messages = [r.getMessage() for r in caplog.records if r.name == "edgesim.live"]
    assert any("on_change failed" in m and "exploded" in m for m in messages), messages
    assert any("stop failed" in m and "exploded" in m for m in messages), messages


def test_metrics_stream_errors_are_logged_and_the_stream_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stack = Stack.load(live_config(metrics_interval_s=0.001))
    calls: list[int] = []

    def snapshot() -> dict[str, Any]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("snapshot exploded")
        return {"totals": {}}

    stack.metrics.snapshot = snapshot  # type: ignore[method-assign]

    async def main() -> list[tuple[str, Any]]:
        q: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        stack.subscribers.add(q)
        tick = asyncio.ensure_future(stack._tick())
        try:
            return [await asyncio.wait_for(q.get(), 10)]
        finally:
            tick.cancel()

    with caplog.at_level(logging.ERROR, logger="edgesim.live"):
        got = asyncio.run(main())
    assert got == [("metrics", {"totals": {}})]  # the tick after the failure still published
    assert any(re.search("metrics stream failed.*exploded", r.getMessage()) for r in caplog.records)
