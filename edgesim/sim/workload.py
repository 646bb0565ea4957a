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
    """Turns client groups into requests, chunk by chunk, with array work over all groups.

    Each group draws, from its own stream, how many requests it sends in the chunk (Poisson,
    one draw). Their arrival times and a row of uniforms per request come, for all groups at
    once, from counter-based streams (SplitMix64 over a per-group key and counter), so a
    group's numbers do not depend on the other groups and nothing loops over requests in
    Python; everything else (workload, object, access network, resolver, connection reuse,
    jitter) is derived from those uniforms with vectorised table look-ups over the whole chunk.
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
        # Per-group rate parameters as arrays, so a chunk's draws are a handful of array ops.
        self.rate_rps = np.array([g.rate_rps for g in groups], dtype=np.float64)
        self.utc_offset_h = np.array([g.utc_offset_h for g in groups], dtype=np.float64)
        self.has_profile = np.array([g.profile is not None for g in groups], dtype=bool)
        self.peak_hour = np.array([g.profile.peak_hour if g.profile else 0.0 for g in groups])
        self.trough = np.array([g.profile.trough_ratio if g.profile else 1.0 for g in groups])
        # Each group's own counter-based stream for its requests' times and uniforms: a key
        # drawn once from the group's stream, and how many requests it has drawn so far.
        self.key = np.array(
            [g.rng.integers(0, 2**64, dtype=np.uint64) for g in groups], dtype=np.uint64
        )
        self.drawn = np.zeros(len(groups), dtype=np.uint64)
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

    def _diurnal(self, mid_h_utc: float) -> F64:
        """:func:`diurnal_factor` of every group at once (1 for groups without a profile)."""
        local = (mid_h_utc + self.utc_offset_h) % 24
        tr = self.trough
        shape = tr + (1.0 - tr) * (1.0 + np.cos(2 * math.pi * (local - self.peak_hour) / 24)) / 2
        out: F64 = np.where(self.has_profile, shape / (tr + (1.0 - tr) / 2), 1.0)
        return out

    def chunk(self, t0_ns: int, t1_ns: int, start_hour_utc: float, multiplier: F64) -> Batch:
        """All requests of all groups in [t0, t1), in time order (ties: group order)."""
        dt_s = (t1_ns - t0_ns) / NS
        mid_h = start_hour_utc + (t0_ns + t1_ns) / 2 / NS / 3600
        span = t1_ns - t0_ns
        lam = self.rate_rps * dt_s * multiplier * self._diurnal(mid_h)
        # How many requests each group sends: one Poisson draw from the group's own stream.
        counts = np.array(
            [
                g.rng.poisson(x) if x > 0 else 0
                for g, x in zip(self.groups, lam.tolist(), strict=True)
            ],
            dtype=np.int64,
        )
        total = int(counts.sum())
        if total == 0:
            return _empty_batch()
        group = np.repeat(np.arange(len(self.groups), dtype=np.int32), counts)
        # Their times and uniforms: numbers n, n+1, … of each group's counter-based stream.
        first = np.repeat(np.cumsum(counts) - counts, counts)
        seq = self.drawn[group] + (np.arange(total, dtype=np.int64) - first).astype(np.uint64)
        self.drawn += counts.astype(np.uint64)
        offset, u_raw = _request_draws(self.key[group], seq, span)
        t = offset + t0_ns
        order = np.argsort(t, kind="stable")
        t = t[order]
        group = group[order]
        u = u_raw[order]
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
                o = _inverse_cdf(cat.cdf, u[sel, 1])
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


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_WORDS = 5


def _mix64(z: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """SplitMix64's output function (a bijective 64-bit mixer), in place."""
    z ^= z >> np.uint64(30)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return z


def _request_draws(
    key: npt.NDArray[np.uint64], seq: npt.NDArray[np.uint64], span: int
) -> tuple[npt.NDArray[np.int64], F64]:
    """Each request's offset in ``[0, span)`` ns and ``N_UNIFORMS`` uniforms in [0, 1): five
    64-bit words of the SplitMix64 stream of its group's ``key`` (words ``5 seq .. 5 seq +
    4``): the first gives the time (53 bits), the other four two 32-bit uniforms each."""
    ctr = seq[:, None] * np.uint64(_WORDS) + np.arange(_WORDS, dtype=np.uint64)[None, :]
    ctr *= _GOLDEN
    ctr += key[:, None]
    z = _mix64(ctr)
    t = np.minimum(
        ((z[:, 0] >> np.uint64(11)).astype(np.float64) * (span / 9007199254740992.0)).astype(
            np.int64
        ),
        span - 1,
    )
    halves = z[:, 1:].view(np.uint32).astype(np.float64)
    halves *= 1.0 / 4294967296.0
    return t, halves


def _inverse_cdf(cdf: F64, u: F64) -> npt.NDArray[np.int64]:
    """Index of the category each uniform falls in (``searchsorted``, last index at most),
    searching in sorted order: neighbouring keys hit the same cache lines of a large table."""
    order = np.argsort(u)
    out = np.empty(len(u), dtype=np.int64)
    out[order] = np.searchsorted(cdf, u[order], side="right")
    np.minimum(out, len(cdf) - 1, out=out)
    return out


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
