"""Prometheus metrics of the live stack (``GET /metrics`` on the control API's address).

Exposed in Prometheus' text format with the official client library (``prometheus_client``):

==========================================  ==============================================
``edgesim_request_duration_seconds``        histogram per client group and server kind
                                            (``edge``, ``endpoint``, ``proxy``): the latency
                                            the emulated user saw, delays included
``edgesim_http_responses_total``            counter per group, server kind and status class
``edgesim_dns_answers_total``               counter per group, record name and answer target
``edgesim_edge_results_total``              counter per PoP and CloudFront result type
                                            (``Hit``, ``Miss``, ``RefreshHit``, ``Error`` …)
``edgesim_health_check_healthy``            gauge per Route 53 health check (1 healthy)
``edgesim_target_up``                       gauge per endpoint/target (1 up)
``edgesim_node_down``                       gauge per failed node (failures in force)
``edgesim_virtual_time_seconds``            the timeline's virtual clock
==========================================  ==============================================

Health, targets and failures are read from the stack's state when Prometheus scrapes, so they
are never stale. docs/live-stack.md has a Grafana dashboard built on these names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

#: Latency buckets (seconds): 1 ms to 30 s, dense where edge and origin answers fall.
BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.02,
    0.035,
    0.05,
    0.075,
    0.1,
    0.15,
    0.2,
    0.3,
    0.5,
    0.75,
    1.0,
    2.0,
    5.0,
    10.0,
    30.0,
)

UNKNOWN = "unknown"


class _StateCollector(Collector):
    """Gauges computed from the stack's state at scrape time."""

    def __init__(self, state: Callable[[], dict[str, Any]]) -> None:
        self.state = state

    def collect(self) -> Iterator[Metric]:
        st = self.state()
        health = GaugeMetricFamily(
            "edgesim_health_check_healthy",
            "Route 53 health check status (1 healthy, 0 unhealthy)",
            labels=["check", "forced"],
        )
        for name, h in sorted((st.get("health_checks") or {}).items()):
            healthy = h.get("healthy") if isinstance(h, dict) else h
            forced = "true" if isinstance(h, dict) and h.get("forced") else "false"
            health.add_metric([name, forced], 1.0 if healthy else 0.0)
        yield health
        targets = GaugeMetricFamily(
            "edgesim_target_up", "Whether a target (endpoint, origin) is up", labels=["target"]
        )
        for name, up in sorted((st.get("targets") or {}).items()):
            targets.add_metric([name], 1.0 if up else 0.0)
        yield targets
        down = GaugeMetricFamily(
            "edgesim_node_down", "Nodes failed by the timeline or the control API", labels=["node"]
        )
        for node in sorted(st.get("down") or []):
            down.add_metric([str(node)], 1.0)
        yield down
        now = st.get("now_s")
        if isinstance(now, int | float):
            yield GaugeMetricFamily(
                "edgesim_virtual_time_seconds", "The timeline's virtual clock", value=float(now)
            )


class PromMetrics:
    """The stack's Prometheus registry; the stack calls ``observe_*`` as answers go out."""

    def __init__(
        self, group_names: list[str], state: Callable[[], dict[str, Any]] | None = None
    ) -> None:
        self.names = list(group_names)
        # auto_describe off: the state collector must not run before the stack is up
        self.registry = CollectorRegistry(auto_describe=False)
        self.latency = Histogram(
            "edgesim_request_duration_seconds",
            "Latency an emulated user saw for an HTTP request (emulated delays included)",
            ["group", "server"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.responses = Counter(
            "edgesim_http_responses",
            "HTTP responses by client group, server kind and status class",
            ["group", "server", "status_class"],
            registry=self.registry,
        )
        self.dns = Counter(
            "edgesim_dns_answers",
            "DNS answers by client group, record name and the answer's target",
            ["group", "record", "target"],
            registry=self.registry,
        )
        self.edge = Counter(
            "edgesim_edge_results",
            "CloudFront edge responses by PoP and result type (X-Cache / x-edge-result-type)",
            ["pop", "result"],
            registry=self.registry,
        )
        if state is not None:
            self.registry.register(_StateCollector(state))

    def group(self, index: int) -> str:
        return self.names[index] if 0 <= index < len(self.names) else UNKNOWN

    def observe_http(self, group: int, server: str, status: int, latency_ms: float) -> None:
        name = self.group(group)
        self.latency.labels(name, server).observe(max(latency_ms, 0.0) / 1000.0)
        klass = f"{status // 100}xx" if 100 <= status <= 599 else "other"
        self.responses.labels(name, server, klass).inc()

    def observe_dns(self, group: int, record: str, target: str) -> None:
        self.dns.labels(self.group(group), record.rstrip(".").lower(), target or "-").inc()

    def observe_edge(self, pop: str, result: str) -> None:
        self.edge.labels(pop, result or "-").inc()

    def exposition(self) -> tuple[bytes, str]:
        """The body and content type of a ``/metrics`` answer."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
