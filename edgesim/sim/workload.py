"""Who sends what, when: client groups expanded from the scenario and request generation."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt

from edgesim.errors import InputError, Problem
from edgesim.latency.params import ACCESS_KINDS
from edgesim.scenario.schema import ClientSpec, DiurnalProfile, ScenarioBase, WorkloadSpec
from edgesim.sim.batch import RESOLVER_KINDS, Batch
from edgesim.sim.context import SimContext
from edgesim.topology.model import ClientGroup, NodeKind

F64 = npt.NDArray[np.float64]
NS = 1_000_000_000


@dataclass
class GroupRun:
    """One client group of one ``clients:`` entry."""

    name: str
    key: str
    segment: str
    rate_rps: float
    access_p: F64
    resolver_p: F64
    workload_p: F64
    utc_offset_h: float
    profile: DiurnalProfile | None
    rng: np.random.Generator = field(repr=False)


@dataclass
class Catalogue:
    cdf: F64
    sizes: npt.NDArray[np.int64]


def _mix(spec: object, names: tuple[str, ...], default: str, what: str) -> F64:
    p = np.zeros(len(names))
    if spec is None:
        p[names.index(default)] = 1.0
    elif isinstance(spec, str):
        p[names.index(spec)] = 1.0
    else:
        assert isinstance(spec, dict)
        for k, v in spec.items():
            p[names.index(str(k))] = float(v)
    out: F64 = p / p.sum()
    return out


def _utc_offset_hours(tz: str, at: datetime) -> float:
    try:
        off = at.astimezone(ZoneInfo(tz)).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        return 0.0
    return (off or timedelta()).total_seconds() / 3600.0


def expand_clients(scn: ScenarioBase, ctx: SimContext, start: datetime) -> list[GroupRun]:
    """One :class:`GroupRun` per (clients entry, metro), rates split by population."""
    world = ctx.world
    metros = [g for g in world.client_groups if g.carrier is None and not _on_premises(ctx, g.key)]
    by_pop = sorted(metros, key=lambda g: (-g.population, g.id))
    workload_names = [w.name for w in scn.workloads]
    problems: list[Problem] = []
    runs: list[GroupRun] = []
    seen: dict[str, int] = {}
    for ci, spec in enumerate(scn.clients):
        chosen = _select(spec, ci, by_pop, ctx, problems)
        wl_p = _workload_mix(spec, ci, scn.workloads, workload_names, problems)
        if not chosen or wl_p is None:
            continue
        total_pop = sum(max(g.population, 1) for g in chosen)
        segment = spec.name or f"clients[{ci}]"
        for g in chosen:
            seen[g.id] = seen.get(g.id, 0) + 1
            runs.append(
                GroupRun(
                    name=g.id,
                    key=g.key,
                    segment=segment,
                    rate_rps=spec.requests_per_second * max(g.population, 1) / total_pop,
                    access_p=_mix(spec.access, ACCESS_KINDS, g.access, "access"),
                    resolver_p=_mix(spec.resolvers, RESOLVER_KINDS, g.resolver, "resolvers"),
                    workload_p=wl_p,
                    utc_offset_h=_utc_offset_hours(g.timezone, start),
                    profile=(
                        spec.profile
                        if isinstance(spec.profile, DiurnalProfile)
                        else DiurnalProfile()
                        if spec.profile == "diurnal"
                        else None
                    ),
                    rng=ctx.rng(f"clients/{segment}/{g.id}"),
                )
            )
    if problems:
        raise InputError(problems, file=ctx.file)
    for r in runs:  # a metro in two entries is reported as segment/metro
        if seen[r.name] > 1:
            r.name = f"{r.segment}/{r.name}"
    return runs


def _on_premises(ctx: SimContext, key: str) -> bool:
    return any(k == "lan" for _, edges in ctx.world.graph[key].items() for k in edges)


def _select(
    spec: ClientSpec, ci: int, by_pop: list[ClientGroup], ctx: SimContext, problems: list[Problem]
) -> list[ClientGroup]:
    if spec.metros == "all":
        return by_pop
    if isinstance(spec.metros, str):
        n = int(spec.metros.split("-", 1)[1])
        if n < 1:
            problems.append(Problem("top-N needs N >= 1", path=f"clients[{ci}].metros"))
            return []
        return by_pop[:n]
    out = []
    for j, name in enumerate(spec.metros):
        try:
            key = ctx.world.resolve(name, (NodeKind.CLIENT,))
        except InputError as exc:
            problems.append(
                Problem(
                    exc.problems[0].message,
                    path=f"clients[{ci}].metros[{j}]",
                    expected="a client group id of the world, e.g. tokyo",
                )
            )
            continue
        node = ctx.world.nodes[key]
        assert isinstance(node, ClientGroup)
        out.append(node)
    return out


def _workload_mix(
    spec: ClientSpec,
    ci: int,
    workloads: list[WorkloadSpec],
    names: list[str],
    problems: list[Problem],
) -> F64 | None:
    allowed = set(names)
    if spec.workloads is not None:
        bad = [w for w in spec.workloads if w not in allowed]
        for w in bad:
            problems.append(
                Problem(
                    f"unknown workload '{w}'",
                    path=f"clients[{ci}].workloads",
                    expected="one of: " + ", ".join(names),
                )
            )
        if bad:
            return None
        allowed = set(spec.workloads)
    given = sum(w.share or 0.0 for w in workloads if w.name in allowed)
    unset = [w for w in workloads if w.name in allowed and w.share is None]
    rest = max(0.0, 1.0 - given) / len(unset) if unset else 0.0
    p = np.array(
        [
            (w.share if w.share is not None else rest) if w.name in allowed else 0.0
            for w in workloads
        ]
    )
    if p.sum() <= 0:
        problems.append(Problem("the workloads' shares add up to nothing", path=f"clients[{ci}]"))
        return None
    out: F64 = p / p.sum()
    return out


def diurnal_factor(profile: DiurnalProfile | None, local_hour: float) -> float:
    """Rate multiplier with mean 1 over a day: cosine from trough to peak."""
    if profile is None:
        return 1.0
    tr = profile.trough_ratio
    shape = (
        tr + (1.0 - tr) * (1.0 + math.cos(2 * math.pi * (local_hour - profile.peak_hour) / 24)) / 2
    )
    return shape / (tr + (1.0 - tr) / 2)


def build_catalogues(scn: ScenarioBase, ctx: SimContext) -> list[Catalogue | None]:
    out: list[Catalogue | None] = []
    for w in scn.workloads:
        if w.objects is None:
            out.append(None)
            continue
        rng = ctx.rng(f"workload/{w.name}/catalogue")
        sizes = np.maximum(w.objects.size.sample(rng, w.objects.count), 1.0).astype(np.int64)
        out.append(Catalogue(w.objects.popularity.cdf(w.objects.count), sizes))
    return out


class Generator:
    """Turns client groups into requests, chunk by chunk, with per-group random streams.

    Each group draws, from its own stream, how many requests it sends in the chunk (Poisson),
    their arrival times and a row of uniforms per request; everything else (workload, object,
    access network, resolver, connection reuse, jitter) is derived from those uniforms with
    vectorised table look-ups over the whole chunk.
    """

    N_UNIFORMS = 8

    def __init__(
        self,
        groups: list[GroupRun],
        workloads: list[WorkloadSpec],
        catalogues: list[Catalogue | None],
        jitter_shape: float,
        rng_sizes: np.random.Generator,
    ) -> None:
        self.groups = groups
        self.workloads = workloads
        self.catalogues = catalogues
        self.rng_sizes = rng_sizes
        self.workload_cum = np.cumsum(np.array([g.workload_p for g in groups]), axis=1)
        self.access_cum = np.cumsum(np.array([g.access_p for g in groups]), axis=1)
        self.resolver_cum = np.cumsum(np.array([g.resolver_p for g in groups]), axis=1)
        for cum in (self.workload_cum, self.access_cum, self.resolver_cum):
            cum[:, -1] = 1.0 + 1e-12
        self.reuse = np.array([w.connection_reuse for w in workloads])
        # Gamma(k, 1/k) quantiles for jitter by inverse transform (mean 1).
        qs = (np.arange(4096) + 0.5) / 4096
        samples = np.sort(np.random.default_rng(0).gamma(jitter_shape, 1.0 / jitter_shape, 400_000))
        self.jitter_q = np.quantile(samples, qs)

    def chunk(self, t0_ns: int, t1_ns: int, start_hour_utc: float, multiplier: F64) -> Batch:
        """All requests of all groups in [t0, t1), in time order (ties: group order)."""
        dt_s = (t1_ns - t0_ns) / NS
        mid_h = start_hour_utc + (t0_ns + t1_ns) / 2 / NS / 3600
        times: list[npt.NDArray[np.int64]] = []
        unis: list[F64] = []
        counts = np.zeros(len(self.groups), dtype=np.int64)
        span = t1_ns - t0_ns
        for gi, g in enumerate(self.groups):
            lam = (
                g.rate_rps
                * dt_s
                * multiplier[gi]
                * diurnal_factor(g.profile, (mid_h + g.utc_offset_h) % 24)
            )
            if lam <= 0:
                continue
            rng = g.rng
            n = int(rng.poisson(lam))
            if n == 0:
                continue
            counts[gi] = n
            times.append(rng.integers(0, span, n))
            unis.append(rng.random((n, self.N_UNIFORMS)))
        if not times:
            return _empty_batch()
        t = np.concatenate(times) + t0_ns
        group = np.repeat(np.arange(len(self.groups), dtype=np.int32), counts)
        order = np.argsort(t, kind="stable")
        t = t[order]
        group = group[order]
        u = np.concatenate(unis)[order]
        n = len(t)
        gidx = group.astype(np.int64)
        wl = _pick(self.workload_cum[gidx], u[:, 0]).astype(np.int16)
        obj = np.full(n, -1, dtype=np.int64)
        size = np.zeros(n, dtype=np.int64)
        upload = np.zeros(n, dtype=np.int64)
        for wi, spec in enumerate(self.workloads):
            sel = np.flatnonzero(wl == wi)
            if len(sel) == 0:
                continue
            cat = self.catalogues[wi]
            if cat is not None:
                o = np.minimum(np.searchsorted(cat.cdf, u[sel, 1], side="right"), len(cat.cdf) - 1)
                obj[sel] = o
                size[sel] = cat.sizes[o]
            elif spec.size is not None:
                size[sel] = np.maximum(spec.size.sample(self.rng_sizes, len(sel)), 0)
            if spec.upload_size is not None:
                upload[sel] = np.maximum(spec.upload_size.sample(self.rng_sizes, len(sel)), 0)
        jitter = self.jitter_q[np.minimum((u[:, 5] * 4096).astype(np.int64), 4095)]
        return Batch(
            t_ns=t,
            group=group,
            workload=wl,
            access=_pick(self.access_cum[gidx], u[:, 2]).astype(np.int8),
            resolver=_pick(self.resolver_cum[gidx], u[:, 3]).astype(np.int8),
            obj=obj,
            size=size,
            upload=upload,
            new_conn=u[:, 4] >= self.reuse[wl],
            jitter=jitter,
            u=u[:, 6].copy(),
            u_dns=u[:, 7].copy(),
        )


def _pick(cum: F64, u: F64) -> npt.NDArray[np.int64]:
    """Index of the category each uniform falls in, given per-row cumulative probabilities."""
    out: npt.NDArray[np.int64] = (u[:, None] >= cum).sum(axis=1)
    return out


def _empty_batch() -> Batch:
    e = np.zeros(0)
    return Batch(
        e.astype(np.int64),
        e.astype(np.int32),
        e.astype(np.int16),
        e.astype(np.int8),
        e.astype(np.int8),
        e.astype(np.int64),
        e.astype(np.int64),
        e.astype(np.int64),
        e.astype(bool),
        e,
        e,
        e,
    )
