"""Helpers of the hostile-input tests: a live stack on loopback (its own event loop in a
thread) and the repository root. The ``live`` fixture is in this folder's conftest.py."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from edgesim.live.stack import Stack, StackConfig

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"
TOKEN = "hostile-token"


class Live:
    """A :class:`Stack` running on its own loop in a background thread."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def call(self, coro: Any, timeout: float = 30) -> Any:
        fut: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return fut.result(timeout=timeout)

    def __enter__(self) -> Live:
        self.thread.start()
        self.call(self.stack.start())
        return self

    def __exit__(self, *exc: object) -> None:
        self.call(self.stack.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    @property
    def control(self) -> tuple[str, int]:
        assert self.stack.control_bound is not None
        return self.stack.control_bound

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        auth: str | None = f"Bearer {TOKEN}",
    ) -> tuple[int, Any]:
        conn = http.client.HTTPConnection(*self.control, timeout=10)
        h = {"Content-Type": "application/json", **(headers or {})}
        if auth is not None:
            h["Authorization"] = auth
        conn.request(method, path, body=body, headers=h)
        resp = conn.getresponse()
        payload = resp.read()
        conn.close()
        try:
            return resp.status, json.loads(payload)
        except ValueError:
            return resp.status, payload


def live_config(scenario: Path = QUICKSTART, **kw: Any) -> StackConfig:
    base: dict[str, Any] = {
        "scenario": scenario,
        "dns_port": 0,
        "edge_port": 0,
        "control_port": 0,
        "token": TOKEN,
        "delay": False,
        "metrics_interval_s": 0.05,
    }
    base.update(kw)
    return StackConfig(**base)
