"""edgesim serve --traffic and GET /metrics: built-in clients move the live stack's metrics,
and Prometheus reads them (parsed with the Prometheus client's own parser)."""

from __future__ import annotations

import asyncio
import http.client
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from edgesim.live.stack import Stack, StackConfig

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())


def _get(addr: tuple[str, int], path: str) -> tuple[int, str, str]:
    conn = http.client.HTTPConnection(addr[0], addr[1], timeout=10)
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read().decode()
    conn.close()
    return r.status, r.getheader("Content-Type") or "", body


def _samples(text: str) -> dict[str, float]:
    """Metric name → the sum of its samples."""
    out: dict[str, float] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[s.name] = out.get(s.name, 0.0) + s.value
    return out


def test_traffic_moves_the_prometheus_metrics() -> None:
    config = StackConfig(
        scenario=ROOT / "scenarios" / "quickstart.yaml",
        dns_port=0,
        edge_port=0,
        control_port=0,
        token="t",
        delay=False,
        traffic_rps=200.0,
    )
    stack = Stack.load(config)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def call(coro: Any) -> Any:
        fut: Future[Any] = asyncio.run_coroutine_threadsafe(coro, loop)
        return fut.result(timeout=60)

    try:
        call(stack.start())
        assert any(x.component == "traffic" for x in stack.listeners)
        control = stack.control_bound
        assert control is not None
        deadline = time.monotonic() + 60  # a hang guard: traffic flows within a second or so
        samples: dict[str, float] = {}
        while time.monotonic() < deadline:
            status, ctype, body = _get(control, "/metrics")
            assert status == 200
            samples = _samples(body)
            if samples.get("edgesim_request_duration_seconds_count", 0) >= 20:
                break
            time.sleep(0.05)
        assert ctype.startswith("text/plain; version=")
        assert samples["edgesim_request_duration_seconds_count"] >= 20
        assert samples["edgesim_dns_answers_total"] >= 20
        # DNS answers carry the record asked and what the answer points at
        targets = {
            (sm.labels["record"], sm.labels["target"])
            for fam in text_string_to_metric_families(body)
            if fam.name == "edgesim_dns_answers"
            for sm in fam.samples
        }
        hosts = {w.host.lower() for w in stack.run.scenario.workloads}
        assert any(r in hosts and t.split(":")[0] in ("edge", "endpoint") for r, t in targets)
        assert samples["edgesim_edge_results_total"] > 0  # the web workload goes to edges
        assert "edgesim_virtual_time_seconds" in samples
        assert "edgesim_health_check_healthy" in samples or "edgesim_target_up" in samples
        gen = next(c for c in stack.components if c.name == "traffic").generator
        assert gen is not None
        assert gen.stats.ok > 0
        # the JSON metrics the dashboard uses moved too
        _, _, js = _get(control, "/v1/metrics")
        assert '"http": 0' not in js.split('"totals"')[1][:60]
    finally:
        call(stack.stop())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
