from __future__ import annotations

import asyncio
import contextlib
import os
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

#: Under CI (CI=true, as .ci/run sets), a test that skips because a tool it needs (dig, kdig,
#: chromium, curl) is "not installed" fails instead: CI installs them, so such a skip means
#: the install broke and the suite would silently test less.
IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _missing_tool(longrepr: object) -> str | None:
    """The skip reason if it is a missing tool's, else None."""
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else longrepr
    text = str(reason)
    return text if "not installed" in text else None


#: pytest-timeout's limit for tests marked ``slow`` (the others get ``timeout`` from pyproject).
SLOW_TIMEOUT_FACTOR = 4


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``slow`` (and no explicit ``timeout`` mark) get 4x the per-test timeout."""
    base = float(config.getini("timeout") or 0)
    if base <= 0:
        return
    for item in items:
        if item.get_closest_marker("slow") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(base * SLOW_TIMEOUT_FACTOR))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if IN_CI and report.skipped and (reason := _missing_tool(report.longrepr)):
        report.outcome = "failed"
        report.longrepr = f"CI=true and a tool this test needs is missing: {reason}"
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Any:
    report = yield
    if IN_CI and report.skipped and (reason := _missing_tool(report.longrepr)):
        report.outcome = "failed"
        report.longrepr = f"CI=true and a tool these tests need is missing: {reason}"
    return report


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
