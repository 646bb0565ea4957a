"""The scenario engine: one loop over chunks of virtual time.

Time is integer nanoseconds. The run is cut into chunks at every timeline event, every
time-series boundary and at most every few seconds; within a chunk the world does not change,
so each stage works on whole arrays: request generation per client group, DNS per host,
each service's caches and queues replayed in time order, latency from precomputed tables.
The clock (:mod:`edgesim.sim.clock`) only orders events; the same decision code runs under the
wall clock of live mode.
"""

from __future__ import annotations

import bisect
import functools
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from edgesim.errors import InputError
from edgesim.latency.params import ACCESS_KINDS
from edgesim.scenario.schema import EventSpec, ScenarioBase
from edgesim.services.base import Service, Target
from edgesim.sim.assertions import Assertion
from edgesim.sim.batch import Batch, Flow, Outcome
from edgesim.sim.clock import VirtualClock
from edgesim.sim.context import SimContext
from edgesim.sim.dns import DnsStage
from edgesim.sim.metrics import Metrics
from edgesim.sim.workload import Catalogue, Generator, GroupRun
from edgesim.topology.model import World
from edgesim.transfer import transfer_ms

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
NS = 1_000_000_000
TCP_INITIAL_RTO_MS = 1000.0  # RFC 6298
TARGET_REQUESTS_PER_CHUNK = 100_000
MAX_CHUNK_NS = 10 * NS


def default_threads() -> int:
    """The cores this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)  # pragma: no cover - platforms without affinity


@dataclass
class WorkloadRoute:
    """How one workload's host is answered: by a DNS service or straight to a target."""

    host: str
    service: Service | None
    target: Target | None
    ttl_ns: int


@dataclass
class Progress:
    done_ns: int
    total_ns: int
    requests: int


@dataclass
class Run:
    """A prepared scenario run. Build with :func:`prepare`, then :meth:`execute`."""

    scenario: ScenarioBase
    ctx: SimContext
    groups: list[GroupRun]
    catalogues: list[Catalogue | None]
    routes: list[WorkloadRoute]
    dns: DnsStage
    metrics: Metrics
    start: datetime
    events: list[EventSpec] = field(default_factory=list)
    interrupted: bool = False
    requests: int = 0
    flash: list[tuple[int, int, float, npt.NDArray[np.bool_]]] = field(default_factory=list)
    assertions: list[Assertion] = field(default_factory=list)
    generator: Generator | None = None
    _pool: ThreadPoolExecutor | None = field(default=None, repr=False)
    _recording: Future[None] | None = field(default=None, repr=False)

    @property
    def services(self) -> list[Service]:
        return self.ctx.services

    # ---- the loop ----------------------------------------------------------------------
    def execute(
        self,
        on_progress: Callable[[Progress], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        threads: int | None = None,
    ) -> None:
        """Run the scenario to its end, or until ``should_stop()`` (asked before every chunk)
        returns true: then the run is marked :attr:`interrupted` and its report says it is
        incomplete. The engine installs no signal handler: the caller (the CLI) decides what
        stops a run.

        ``threads`` > 1 (default: the machine's cores): the next chunk's requests are
        generated, and the last chunk's metrics recorded, on a second thread while the services
        serve the current chunk (numpy and the cache replay release the GIL); each stage still
        sees its inputs in the same order, so the report is the same bytes for any number of
        threads."""
        workers = default_threads() if threads is None else max(1, int(threads))
        self._pool = ThreadPoolExecutor(1, "edgesim-chunk") if workers > 1 else None
        try:
            self._execute(on_progress, should_stop)
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None

    def _execute(
        self,
        on_progress: Callable[[Progress], None] | None,
        should_stop: Callable[[], bool] | None,
    ) -> None:
        scn = self.scenario
        end = scn.duration
        clock = VirtualClock()
        for ev in self.events:
            clock.call_at(ev.at, functools.partial(self.apply_event, ev))
        boundaries = {end, scn.warmup}
        t = scn.warmup
        while t < end:
            boundaries.add(t)
            t += scn.interval
        for start, stop, _, _ in self.flash:
            boundaries.update((start, stop))
        boundaries.update(ev.at for ev in self.events)
        for svc in self.services:
            boundaries.update(svc.boundaries(end))
        changes = {ev.at for ev in self.events} | {b for f in self.flash for b in f[:2]}
        cuts = sorted(b for b in boundaries if 0 < b <= end)
        total_rate = sum(g.rate_rps for g in self.groups) or 1.0
        step = int(min(MAX_CHUNK_NS, max(NS // 100, TARGET_REQUESTS_PER_CHUNK / total_rate * NS)))

        def chunk_end(t: int) -> int:
            ci = bisect.bisect_right(cuts, t)
            return min(cuts[ci] if ci < len(cuts) else end, t + step, end)

        t = 0
        ahead: Future[Batch] | None = None
        while t < end:
            if should_stop is not None and should_stop():
                self.interrupted = True
                break
            clock.run_until(t)  # events due now
            for svc in self.services:
                svc.begin(t)  # e.g. health checks due now, seeing the world after events
            t1 = chunk_end(t)
            self.ctx.load_changed = t in changes
            batch = ahead.result() if ahead is not None else self._batch(t, t1)
            ahead = None
            if self._pool is not None and t1 < end:
                ahead = self._pool.submit(self._batch, t1, chunk_end(t1))
            self._chunk(t, t1, batch)
            for svc in self.services:
                svc.tick(t1)
            t = t1
            if on_progress is not None:
                on_progress(Progress(t, end, self.requests))
        self._record_wait()
        self.metrics.close_interval()

    def _multiplier(self, t0: int, t1: int) -> F64:
        m = np.ones(len(self.groups))
        mid = (t0 + t1) // 2
        for start, stop, factor, which in self.flash:
            if start <= mid < stop:
                m[which] *= factor
        return m

    def _batch(self, t0: int, t1: int) -> Batch:
        """The requests of chunk [t0, t1) (chunks are asked for in order)."""
        start_utc = self.start.astimezone(UTC)
        start_hour = start_utc.hour + start_utc.minute / 60 + start_utc.second / 3600
        if self.generator is None:
            self.generator = Generator(
                self.groups,
                self.scenario.workloads,
                self.catalogues,
                self.ctx.world.params.jitter_shape,
                self.ctx.rng("workload/sizes"),
            )
        return self.generator.chunk(t0, t1, start_hour, self._multiplier(t0, t1))

    def _record_wait(self) -> None:
        if self._recording is not None:
            self._recording.result()
            self._recording = None

    def _chunk(self, t0: int, t1: int, batch: Batch | None = None) -> None:
        ctx = self.ctx
        ctx.chunk_start_ns, ctx.chunk_ns, ctx.now_ns = t0, t1 - t0, t0
        if batch is None:
            batch = self._batch(t0, t1)
        n = len(batch)
        if n == 0:
            return
        self.requests += n
        out = Outcome(n)
        for wi, rt in enumerate(self.routes):
            idx = np.flatnonzero(batch.workload == wi)
            if len(idx):
                self._serve_workload(batch, out, idx, rt)
        # Anything that could not finish (a path or a site gone) is a failure, not a latency.
        broken = np.zeros(n, dtype=bool)
        for arr in out.phase_ms.values():
            broken |= ~np.isfinite(arr)
        if broken.any():
            out.fail(np.flatnonzero(broken & out.ok), 504)
            for arr in (*out.phase_ms.values(), *out.hop_ms.values()):
                arr[~np.isfinite(arr)] = 0.0
        total = out.total_ms
        self._record_wait()  # metrics take chunks in order
        if self._pool is not None:
            self._recording = self._pool.submit(self.metrics.record, batch, out, total)
        else:
            self.metrics.record(batch, out, total)
        for svc in self.services:
            svc.observe(batch, out, total)

    def _serve_workload(self, batch: Batch, out: Outcome, idx: I64, rt: WorkloadRoute) -> None:
        ctx = self.ctx
        spec = self.scenario.workloads[int(batch.workload[idx[0]])]

        def resolve(
            where: npt.NDArray[np.int32], t_ns: int
        ) -> tuple[list[Target | None], I64, int]:
            if rt.service is not None:
                return rt.service.resolve(rt.host, where, t_ns)
            return [rt.target], np.zeros(len(where), dtype=np.int64), rt.ttl_ns

        # Resolver caches are per name; a name sent straight to a target (no DNS service) is
        # cached per target, so two workloads sharing a name keep their own answers.
        cache_name = rt.host if rt.target is None else f"{rt.host} ({rt.target.key})"
        tgt, entry, user_ms, auth_ms = self.dns.lookup(cache_name, batch, idx, resolve, rt.ttl_ns)
        out.phase_ms["dns"][idx] = user_ms + auth_ms
        out.hop("user↔resolver")[idx] += user_ms
        out.hop("resolver↔authoritative")[idx] += auth_ms
        no_answer = tgt < 0
        if no_answer.any():
            out.fail(idx[no_answer], 530)  # edgesim's code for "DNS gave no usable answer"
        p = ctx.world.params
        access_rtt = ctx.access_rtt_ms()
        access_jit = np.array([p.access[a].jitter_mean_ms for a in ACCESS_KINDS])
        loss_access = np.array([p.access[a].loss for a in ACCESS_KINDS])
        down_bw = np.array([p.access[a].down_mbps for a in ACCESS_KINDS]) * 125_000.0
        up_bw = np.array([p.access[a].up_mbps for a in ACCESS_KINDS]) * 125_000.0
        for ti in np.unique(tgt[~no_answer]):
            sel = tgt == ti
            sub = idx[sel]
            target = self.dns.targets[int(ti)]
            groups = ctx.group_node()[batch.group[sub]]
            ent = target.client_entry(ctx, groups, entry[sel])
            wan_one_way = ctx.client_one_way_ms(groups, ent)
            unreachable = ~np.isfinite(wan_one_way)
            wan_rtt = np.where(unreachable, 0.0, 2.0 * wan_one_way)
            a = batch.access[sub].astype(np.int64)
            rtt = (
                wan_rtt
                + access_rtt[a]
                + batch.jitter[sub] * (access_jit[a] + p.path_jitter_fraction * wan_rtt)
            )
            extra = ctx.extra_loss(groups, ent)
            loss = 1.0 - (1.0 - loss_access[a]) * (1.0 - p.internet_loss_per_hop) ** 4 * (
                1.0 - extra
            )
            new = batch.new_conn[sub]
            syn_lost = new & (batch.u[sub] < 2 * loss)
            connect = np.where(new, rtt + np.where(syn_lost, TCP_INITIAL_RTO_MS, 0.0), 0.0)
            tls_rtts = {"1.3": 1.0, "1.2": 2.0, "none": 0.0}[spec.tls]
            tls = np.where(new, tls_rtts * rtt, 0.0)
            flow = Flow(sub, ent.astype(np.int32), batch.t_ns[sub])
            own = target.user_transfer_ms(ctx, batch, flow, rtt, loss, up_bw[a], down_bw[a])
            if own is None:
                upload = np.where(
                    batch.upload[sub] > 0,
                    transfer_ms(batch.upload[sub], rtt, up_bw[a], loss),
                    0.0,
                )
            else:
                upload, body = own
            upstream = target.serve(ctx, batch, flow, out)
            if own is None:
                body = transfer_ms(batch.size[sub], rtt, down_bw[a], loss)
            out.phase_ms["connect"][sub] = connect
            out.phase_ms["tls"][sub] = tls
            out.phase_ms["wait"][sub] = rtt + upload + upstream
            out.phase_ms["transfer"][sub] = body
            out.hop("user↔entry")[sub] += connect + tls + rtt + upload + body
            if unreachable.any():
                out.fail(sub[unreachable], 504)

    # ---- events ------------------------------------------------------------------------
    def apply_event(self, ev: EventSpec) -> None:
        """Apply one timeline event now (the engine at its time; live mode for control calls)."""
        ctx = self.ctx
        world = ctx.world
        at = ev.at
        if ev.fail is not None or ev.recover is not None:
            what = ev.fail if ev.fail is not None else ev.recover
            assert what is not None
            up = ev.recover is not None
            handled = any(svc.fail(what, up, at) for svc in self.services)
            if not handled:
                _set_up(world, what, up)
            ctx.log_event(at, "recover" if up else "fail", target=what, note=ev.note)
        elif ev.degrade is not None:
            for a, b, cls in resolve_links(world, ev.degrade.link, ev.degrade.link_class):
                world.degrade_link(
                    a,
                    b,
                    cls,
                    extra_one_way_ms=(ev.degrade.add or 0) / 1e6,
                    extra_loss=ev.degrade.loss or 0.0,
                )
            ctx.log_event(
                at,
                "degrade",
                link=ev.degrade.link,
                add_ms=(ev.degrade.add or 0) / 1e6,
                loss=ev.degrade.loss or 0.0,
            )
        elif ev.restore is not None:
            for a, b, cls in resolve_links(world, ev.restore, None):
                world.degrade_link(a, b, cls)
                world.set_link_up(a, b, cls, True)
            ctx.log_event(at, "restore", link=ev.restore, note=ev.note)
        elif ev.flash_crowd is not None:
            ctx.log_event(
                at,
                "flash_crowd",
                factor=ev.flash_crowd.factor,
                duration_s=ev.flash_crowd.duration / 1e9,
            )
        else:
            extra = ev.model_extra or {}
            for action, payload in extra.items():
                for svc in self.services:
                    if action in svc.actions:
                        svc.on_event(action, payload, at)
                ctx.log_event(at, action, detail=payload, note=ev.note)


def _set_up(world: World, what: str, up: bool) -> None:
    if what.startswith("link:") or what.startswith("service_link:"):
        spec = what.split(":", 1)[1]
        for a, b, cls in resolve_links(
            world, spec, "service_link" if what.startswith("service_link:") else None
        ):
            world.set_link_up(a, b, cls, up)
        return
    if what.startswith("az:"):
        return  # AZs matter to services that place capacity in them; the network is unchanged
    world.set_node_up(world.resolve(what), up)


def resolve_links(world: World, spec: str, cls: str | None) -> list[tuple[str, str, str]]:
    """Links named ``a-b`` (node names) or, for ``outpost:x`` alone, its service link."""
    if spec.startswith("outpost:") and spec in world.nodes:
        return [
            (spec, n, k) for n, e in world.graph[spec].items() for k in e if k == "service_link"
        ]
    a_name, b_name = _split_link(spec)
    a, b = world.resolve(a_name), world.resolve(b_name)
    if not world.graph.has_edge(a, b):
        raise InputError.single(f"there is no link between {a} and {b}")
    keys = [k for k in world.graph[a][b] if cls is None or k == cls]
    if not keys:
        raise InputError.single(f"the link {a}–{b} has no {cls} class")
    return [(a, b, k) for k in keys]


def _split_link(spec: str) -> tuple[str, str]:
    """``hub:LON-hub:BUDE`` or ``LON-BUDE`` (node names may contain '-': split at a '-' that
    is followed by a kind prefix, else at the only '-')."""
    for i, ch in enumerate(spec):
        if ch == "-" and ":" in spec[i + 1 :].split("-")[0]:
            return spec[:i], spec[i + 1 :]
    parts = spec.split("-")
    if len(parts) == 2:
        return parts[0], parts[1]
    raise InputError.single(
        f"cannot tell the two ends of link '{spec}'",
        expected="kind:a-kind:b, e.g. hub:LON-hub:BUDE",
    )
