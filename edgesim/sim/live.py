"""Drive a prepared scenario on a clock for live mode: timeline, health checks, control calls.

Scenario runs replay the timeline in virtual time; live servers (``edgesim dns serve``) answer
from the same services, so the same decisions need the same state changes at the same
(scaled) moments. :class:`LiveDriver` schedules every timeline event and every service
boundary (health-check rounds, alarm periods) on a :class:`~edgesim.sim.clock.Clock`: a
:class:`~edgesim.live.clock.WallClock` in live mode, a
:class:`~edgesim.sim.clock.VirtualClock` in tests. :meth:`LiveDriver.control` applies an event
now (a control call), checked exactly as a timeline entry is.

No I/O here: the control API's HTTP shell is :mod:`edgesim.dnsserver.control`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from edgesim.errors import Problem
from edgesim.scenario.loader import check_events
from edgesim.scenario.schema import EventSpec
from edgesim.sim.clock import Clock
from edgesim.sim.engine import Run

HORIZON_NS = 7 * 24 * 3600 * 1_000_000_000
"""Health checks keep running this long in live mode (a week of virtual time)."""


class LiveDriver:
    """Plays ``run``'s timeline and service boundaries on ``clock``."""

    def __init__(self, run: Run, clock: Clock, *, horizon_ns: int = HORIZON_NS) -> None:
        self.run = run
        self.clock = clock
        self.horizon_ns = max(horizon_ns, run.scenario.duration)
        self.log: list[dict[str, Any]] = run.ctx.events
        self.on_change: Callable[[], None] = lambda: None
        """Called after every applied event (servers drop cached answers)."""

    def start(self) -> None:
        for ev in self.run.events:
            self.clock.call_at(ev.at, functools.partial(self._apply, ev))
        for svc in self.run.services:
            for b in svc.boundaries(self.horizon_ns):
                self.clock.call_at(b, functools.partial(self._begin, b))

    def _begin(self, at_ns: int) -> None:
        self.run.ctx.now_ns = at_ns
        for svc in self.run.services:
            svc.begin(at_ns)
        self.on_change()

    def _apply(self, ev: EventSpec) -> None:
        self.run.ctx.now_ns = ev.at
        self.run.apply_event(ev)
        self.on_change()

    def control(self, body: Any) -> list[Problem]:
        """Apply one event now: ``body`` is a timeline entry without ``at`` (for example
        ``{"fail": "region:us-east-1"}`` or ``{"set_health": {"check": "a", "healthy":
        false}}``). Returns the problems (nothing is applied when there are any)."""
        if not isinstance(body, dict) or "at" in body:
            return [Problem("a control event is an object like a timeline entry, without 'at'")]
        now = self.clock.now_ns()
        try:
            ev = EventSpec.model_validate({**body, "at": f"{now}ns"})
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            return [Problem(str(err["msg"]), path=where)]
        problems: list[Problem] = []
        check_events([ev], self.horizon_ns + now, self.run.ctx, problems)
        if problems:
            return [
                dataclasses.replace(
                    p, path=(p.path or "").replace("timeline[0].", "").replace("timeline[0]", "")
                )
                for p in problems
            ]
        self._apply(ev)
        return []

    def state(self) -> dict[str, Any]:
        """What live answers depend on: health checks, targets, weights, recent events."""
        ctx = self.run.ctx
        out: dict[str, Any] = {
            "now_s": self.clock.now_ns() / 1e9,
            "targets": {k: t.is_up(ctx) for k, t in sorted(ctx.targets.items())},
            "down": sorted(ctx.world.down_nodes),
            "events": self.log[-50:],
        }
        for svc in self.run.services:
            checks = getattr(svc, "checks", None)
            if checks:
                forced = getattr(svc, "forced", {})
                out["health_checks"] = {
                    name: {"healthy": svc.check_healthy(name), "forced": name in forced}  # type: ignore[attr-defined]
                    for name in sorted(checks)
                }
            weights = getattr(svc, "weights", None)
            if weights:
                out["weights"] = {f"{n} {s}": w for (n, s), w in sorted(weights.items())}
        return out
