"""Live counts per client group for the stack's dashboard and event stream."""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import numpy as np

if TYPE_CHECKING:
    from edgesim.live.prometheus import PromMetrics

LATENCY_WINDOW: Final = 512
"""Response latencies kept per client group for the p95."""


@dataclass
class _GroupStats:
    dns: int = 0
    http: int = 0
    errors: int = 0
    latencies: collections.deque[float] = field(
        default_factory=lambda: collections.deque(maxlen=LATENCY_WINDOW)
    )


class Metrics:
    """Live counts per client group: DNS answers, HTTP responses (edges and endpoints),
    5xx answers, and a sliding window of response latencies (ms) for the p95."""

    def __init__(self, group_names: list[str]) -> None:
        self.names = group_names
        self.groups = [_GroupStats() for _ in group_names]
        self.started = time.time()
        self.prom: PromMetrics | None = None
        """The Prometheus registry the same answers are counted in (``GET /metrics``)."""

    def dns(self, group: int, record: str = "", target: str = "") -> None:
        if 0 <= group < len(self.groups):
            self.groups[group].dns += 1
        if self.prom is not None:
            self.prom.observe_dns(group, record, target)

    def http(self, group: int, status: int, latency_ms: float, server: str = "edge") -> None:
        if 0 <= group < len(self.groups):
            g = self.groups[group]
            g.http += 1
            if status >= 500:
                g.errors += 1
            g.latencies.append(latency_ms)
        if self.prom is not None:
            self.prom.observe_http(group, server, status, latency_ms)

    def edge_result(self, pop: str, result: str) -> None:
        """A CloudFront answer's result type at a PoP (``Hit``, ``Miss``, ``Error`` …)."""
        if self.prom is not None:
            self.prom.observe_edge(pop, result)

    def snapshot(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, g in zip(self.names, self.groups, strict=True):
            if not (g.dns or g.http):
                continue
            p95 = float(np.percentile(np.fromiter(g.latencies, float), 95)) if g.latencies else None
            out[name] = {
                "dns": g.dns,
                "http": g.http,
                "errors": g.errors,
                "p95_ms": None if p95 is None else round(p95, 1),
            }
        totals = {
            "dns": sum(g.dns for g in self.groups),
            "http": sum(g.http for g in self.groups),
            "errors": sum(g.errors for g in self.groups),
        }
        return {"uptime_s": round(time.time() - self.started, 1), "totals": totals, "groups": out}
