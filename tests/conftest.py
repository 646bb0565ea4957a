from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from edgesim.topology import World, load_world


@pytest.fixture(scope="session")
def tiny_world_session() -> World:
    return load_world("tiny")


@pytest.fixture
def tiny() -> World:
    """A fresh tiny world (tests may change link state)."""
    return load_world("tiny")


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    def _write(name: str, text: str) -> Path:
        p = tmp_path / name
        p.write_text(text, encoding="utf-8")
        return p

    return _write


ROOT = Path(__file__).resolve().parent.parent
"""The repository (tests refer to scenarios/ and topologies/ relative to it)."""
pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def _run_in_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests name example files relative to the repository (``scenarios/smoke.yaml``): run
    each in it, whatever directory pytest was started from."""
    monkeypatch.chdir(ROOT)


@pytest.fixture(scope="session")
def tiny_path() -> Path:
    """The tiny world's topology file."""
    return ROOT / "topologies" / "tiny.yaml"


@pytest.fixture(scope="session")
def dns_server_thread() -> Callable[[Any], contextlib.AbstractContextManager[int]]:
    """``with dns_server_thread(authority) as port:`` a live DNS server in a thread."""
    return _dns_server_thread


@contextlib.contextmanager
def _dns_server_thread(authority: Any) -> Iterator[int]:
    """A live DNS server for ``authority`` on a loopback port, in a thread of its own (for
    command-line clients such as dig); yields the port."""
    from edgesim.dnsserver.server import DnsServer

    loop = asyncio.new_event_loop()
    server = DnsServer(authority, "127.0.0.1", 0)
    ready = threading.Event()
    port: list[int] = []

    def serve() -> None:
        asyncio.set_event_loop(loop)
        port.append(loop.run_until_complete(server.start())[1])
        ready.set()
        loop.run_forever()
        loop.run_until_complete(server.stop())
        loop.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(30)
    try:
        yield port[0]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
