"""Fit the latency model's constants to measured round trips, and score it (no I/O).

A modelled RTT is the sum of its hops, and every hop's one-way latency is linear in each
constant once the route is fixed (great-circle km × a route factor / the speed of light in
fibre, plus per-hop and per-end costs). So a fit alternates: route every measured pair with the
current constants, then solve a least-squares problem on the *relative* error for the constants,
until the routes stop changing. Constants that multiply each other (a transit corridor's length
is × the corridor's route factor × ``internet_route_factor``) are fitted in two blocks, the AWS
backbone's and the public internet's, each linear with the other held.

The fit is regularised towards the starting constants (a weak ridge), so constants the data
says nothing about stay where they were, and bounded (route factors ≥ 1, costs ≥ 0), so no fitted
world is faster than light in fibre. Optional per-corridor corrections (a corridor's own
``route_factor``) are fitted for corridors that enough measured routes cross, with a stronger
ridge. :func:`cross_validate` scores a fitting method on data it did not see: by held-out region
(every pair touching one region left out in turn) or by k random folds of pairs.

Everything here works on an in-memory :class:`~edgesim.topology.schema.TopologyFile`; the CLI
(`edgesim calibrate`, `edgesim topo compare`) and ``scripts/calibrate.py`` do the reading and
writing.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from edgesim.geo import great_circle_km
from edgesim.latency.params import LatencyParams
from edgesim.latency.paths import NoPath, PathResult, paths_from
from edgesim.latency.query import route
from edgesim.topology.builder import build_world
from edgesim.topology.model import LinkClass, NodeKind, World
from edgesim.topology.schema import TopologyFile

F64 = npt.NDArray[np.float64]

BACKBONE_CONSTANTS: tuple[str, ...] = (
    "terrestrial_route_factor",
    "submarine_route_factor",
    "backbone_hop_one_way_ms",
    "region_ingress_one_way_ms",
    "pop_ingress_one_way_ms",
)
INTERNET_CONSTANTS: tuple[str, ...] = (
    "internet_route_factor",
    "metro_route_factor",
    "internet_hop_one_way_ms",
)
_FACTORS = frozenset(
    {
        "terrestrial_route_factor",
        "submarine_route_factor",
        "internet_route_factor",
        "metro_route_factor",
    }
)


@dataclass(frozen=True, slots=True)
class Measurement:
    """One measured round trip between two nodes of a world (``kind:id`` keys)."""

    src: str
    dst: str
    rtt_ms: float
    where: str = ""
    """Where it came from (``file:line``), for messages."""

    @property
    def pair(self) -> tuple[str, str]:
        return (self.src, self.dst)


@dataclass(frozen=True, slots=True)
class PairError:
    src: str
    dst: str
    measured_ms: float
    model_ms: float

    @property
    def rel(self) -> float:
        """Signed relative error of the model, (model − measured) / measured."""
        return (self.model_ms - self.measured_ms) / self.measured_ms


@dataclass(frozen=True, slots=True)
class ErrorReport:
    """Absolute percentage errors of a model on a set of measurements."""

    errors: tuple[PairError, ...]

    def _ape(self) -> F64:
        return np.abs(np.array([e.rel for e in self.errors], dtype=np.float64)) * 100.0

    @property
    def n(self) -> int:
        return len(self.errors)

    @property
    def median_pct(self) -> float:
        return float(np.median(self._ape())) if self.errors else math.nan

    @property
    def p90_pct(self) -> float:
        return float(np.percentile(self._ape(), 90)) if self.errors else math.nan

    @property
    def mean_pct(self) -> float:
        return float(np.mean(self._ape())) if self.errors else math.nan

    @property
    def bias_pct(self) -> float:
        """Median signed error (negative: the model is too fast)."""
        if not self.errors:
            return math.nan
        return float(np.median([e.rel for e in self.errors]) * 100.0)

    def worst(self, k: int = 10) -> list[PairError]:
        return sorted(self.errors, key=lambda e: -abs(e.rel))[:k]


@dataclass
class FitResult:
    params: LatencyParams
    corridor_factors: dict[int, float] = field(default_factory=dict)
    """Index into the topology's ``corridors`` → its fitted ``route_factor``."""
    site_ingress: dict[str, float] = field(default_factory=dict)
    """Region or edge location key → its fitted ``ingress_one_way_ms``."""
    rounds: int = 0

    def apply(self, topo: TopologyFile) -> TopologyFile:
        """``topo`` with these constants in its ``latency:`` section and the corridor and
        site corrections written into its corridors, regions and edge locations."""
        return calibrated_topology(topo, self.params, self.corridor_factors, self.site_ingress)

    def world(self, topo: TopologyFile) -> World:
        return world_with(topo, self.params, self.corridor_factors, self.site_ingress)


# ---- building and predicting -----------------------------------------------------------------


def world_with(
    topo: TopologyFile,
    params: LatencyParams,
    corridor_factors: dict[int, float] | None = None,
    site_ingress: dict[str, float] | None = None,
) -> World:
    """Build ``topo`` with ``params`` (its own ``latency:`` overrides are replaced) and the
    given corridor and site corrections."""
    t = _with_corrections(topo, corridor_factors or {}, site_ingress or {})
    return build_world(t.model_copy(update={"latency": None}), params=params)


def _with_corrections(
    topo: TopologyFile, factors: dict[int, float], sites: dict[str, float]
) -> TopologyFile:
    upd: dict[str, object] = {}
    if factors:
        cors = list(topo.corridors)
        for i, f in factors.items():
            cors[i] = cors[i].model_copy(update={"route_factor": round(f, 4)})
        upd["corridors"] = cors
    if sites:
        upd["regions"] = [
            r.model_copy(update={"ingress_one_way_ms": round(sites[f"region:{r.code}"], 4)})
            if f"region:{r.code}" in sites
            else r
            for r in topo.regions
        ]
        upd["edge_locations"] = [
            e.model_copy(update={"ingress_one_way_ms": round(sites[f"pop:{e.id}"], 4)})
            if f"pop:{e.id}" in sites
            else e
            for e in topo.edge_locations
        ]
    return topo.model_copy(update=upd) if upd else topo


def calibrated_topology(
    topo: TopologyFile,
    params: LatencyParams,
    corridor_factors: dict[int, float],
    site_ingress: dict[str, float] | None = None,
) -> TopologyFile:
    """``topo`` as a calibrated world: fitted constants in its ``latency:`` section (those
    that differ from edgesim's defaults), corrections in its corridors and sites."""
    from edgesim.topology.schema import LatencyOverrides

    base = LatencyParams()
    upd: dict[str, float | int] = {}
    for name in (*BACKBONE_CONSTANTS, *INTERNET_CONSTANTS, "intra_region_rtt_ms"):
        v = getattr(params, name)
        if v != getattr(base, name):
            upd[name] = round(float(v), 4)
    keep = topo.latency.model_dump(exclude_none=True) if topo.latency else {}
    keep.update(upd)
    lat = LatencyOverrides.model_validate(keep) if keep else None
    out = _with_corrections(topo, corridor_factors, site_ingress or {})
    return out.model_copy(update={"latency": lat})


def predict(world: World, m: Measurement) -> PathResult:
    """The modelled path of a measured pair: by :func:`~edgesim.latency.query.route`'s rules
    (AWS sites to AWS sites over the backbone, users over the internet)."""
    return route(world, m.src, m.dst)


_AWS = (NodeKind.REGION, NodeKind.POP)


def predict_all(world: World, measurements: Sequence[Measurement]) -> list[PathResult | None]:
    """:func:`predict` for many pairs (None: no path). Pairs of regions and edge locations,
    which take the backbone, share one Dijkstra per source."""
    out: list[PathResult | None] = [None] * len(measurements)
    by_src: dict[str, list[int]] = {}
    for i, m in enumerate(measurements):
        if m.src == m.dst:
            continue
        if world.nodes[m.src].kind in _AWS and world.nodes[m.dst].kind in _AWS:
            by_src.setdefault(m.src, []).append(i)
            continue
        try:
            out[i] = predict(world, m)
        except NoPath:
            out[i] = None
    for src, rows in by_src.items():
        got = paths_from(world, src, [measurements[i].dst for i in rows], [LinkClass.BACKBONE])
        for i in rows:
            out[i] = got.get(measurements[i].dst)
    return out


def report(world: World, measurements: Sequence[Measurement]) -> ErrorReport:
    """The model's error on ``measurements`` (no fitting); a pair with no path counts as an
    infinite RTT."""
    paths = predict_all(world, measurements)
    out = []
    for m, r in zip(measurements, paths, strict=True):
        if m.src == m.dst:
            model = world.params.intra_region_rtt_ms
        else:
            model = r.rtt_ms if r is not None else math.inf
        out.append(PairError(m.src, m.dst, m.rtt_ms, model))
    return ErrorReport(tuple(out))


def fibre_floor_rtt_ms(world: World, src: str, dst: str) -> float:
    """Light in fibre over the great circle, there and back: no RTT can be below it."""
    a, b = world.nodes[src], world.nodes[dst]
    return 2.0 * great_circle_km(a.lat, a.lon, b.lat, b.lon) / world.params.fibre_km_per_ms


# ---- design matrix ---------------------------------------------------------------------------


def _add(coef: dict[str, float], name: str, value: float) -> None:
    coef[name] = coef.get(name, 0.0) + value


def _terms(world: World, res: PathResult) -> tuple[dict[str, float], float]:
    """One-way ms of a path as ``Σ coef[name] × constant + const``, linear in each constant
    with the others held at the world's values (products of two fitted constants appear in
    both, each with the other folded into its coefficient). Corridors are keyed ``c<index>``
    for per-corridor route factors; ``_corr_km`` (below) gives them."""
    p = world.params
    v = p.fibre_km_per_ms
    coef: dict[str, float] = {}
    const = 0.0
    for h in res.hops:
        const += h.access_one_way_ms + h.queueing_one_way_ms
        attrs = world.graph.edges[h.src, h.dst, h.link_class]
        const += float(attrs["extra_ms"])
        gc = float(attrs["gc_km"])
        role = str(attrs.get("role", ""))
        cls = h.link_class
        kind = str(attrs["kind"])
        if role.startswith("corridor:"):
            ci = role.split(":", 1)[1]
            own = attrs.get("rf_own")
            rf_name = (
                "submarine_route_factor" if kind == "submarine" else "terrestrial_route_factor"
            )
            rf = float(own) if own is not None else float(getattr(p, rf_name))
            if cls == str(LinkClass.BACKBONE):
                if own is None:
                    _add(coef, rf_name, gc / v)
                else:
                    const += rf * gc / v
                _add(coef, "c" + ci, gc / v)  # per-corridor factor, if fitted
                _add(coef, "backbone_hop_one_way_ms", 1.0)
            else:
                irf = p.internet_route_factor
                if own is None:
                    _add(coef, rf_name, irf * gc / v)
                _add(coef, "internet_route_factor", rf * gc / v)
                _add(coef, "c" + ci, irf * gc / v)
                _add(coef, "internet_hop_one_way_ms", 1.0)
            continue
        if role.startswith("attach:"):
            parts = role.split(":")
            own = len(parts) > 2
            leaf = h.src if world.nodes[h.src].kind != NodeKind.HUB else h.dst
            ingress = {
                str(NodeKind.REGION): "region_ingress_one_way_ms",
                str(NodeKind.POP): "pop_ingress_one_way_ms",
                str(NodeKind.LOCAL_ZONE): "region_ingress_one_way_ms",
            }.get(parts[1])
            internet = cls != str(LinkClass.BACKBONE)
            if ingress is None:  # a user: the country's extra, if any, is fixed
                hop = p.internet_hop_one_way_ms if internet else 0.0
                const += float(attrs["proc_ms"]) - hop
            else:
                if own:  # the site's own ingress cost: fixed, unless its correction is fitted
                    hop = p.internet_hop_one_way_ms if internet else 0.0
                    const += float(attrs["proc_ms"]) - hop
                else:
                    _add(coef, ingress, 1.0)
                _add(coef, "s:" + leaf, 1.0)
            if internet:
                _add(coef, "metro_route_factor", gc / v)
                _add(coef, "internet_hop_one_way_ms", 1.0)
            else:
                _add(coef, "terrestrial_route_factor", gc / v)
            continue
        const += h.propagation_one_way_ms + h.processing_one_way_ms - float(attrs["extra_ms"])
    return coef, const


def _design(world: World, paths: Sequence[PathResult], names: Sequence[str]) -> tuple[F64, F64]:
    """Rows: one-way = X @ θ[names] + c, with every other constant folded into c."""
    p = world.params
    x = np.zeros((len(paths), len(names)))
    c = np.zeros(len(paths))
    pos = {n: j for j, n in enumerate(names)}
    for i, res in enumerate(paths):
        coef, const = _terms(world, res)
        for name, a in coef.items():
            if name in pos:
                x[i, pos[name]] = a
            elif name.startswith(("c", "s:")):
                continue  # a corridor or site not being fitted: in its kind's constants
            else:
                const += a * float(getattr(p, name))
        c[i] = const
    return x, c


def _bounded_ridge(x: F64, y: F64, w: F64, prior: F64, lam: F64, lower: F64) -> F64:
    """min Σ w²(Xθ − y)² + Σ lam (θ − prior)², θ ≥ lower (an active set: clamp and refit)."""
    free = np.ones(x.shape[1], dtype=bool)
    theta = prior.copy()
    for _ in range(x.shape[1] + 1):
        fixed = ~free
        r = y - x[:, fixed] @ theta[fixed]
        a = np.vstack([x[:, free] * w[:, None], np.diag(np.sqrt(lam[free]))])
        b = np.concatenate([r * w, np.sqrt(lam[free]) * prior[free]])
        sol, *_ = np.linalg.lstsq(a, b, rcond=None)
        theta[free] = sol
        low = free & (theta < lower)
        if not low.any():
            break
        theta[low] = lower[low]
        free &= ~low
    return theta


def _corridor_index(topo: TopologyFile) -> dict[frozenset[str], int]:
    return {frozenset((f"hub:{c.a}", f"hub:{c.b}")): i for i, c in enumerate(topo.corridors)}


def _site_base(topo: TopologyFile, p: LatencyParams, key: str) -> float:
    kind, ident = key.split(":", 1)
    for r in topo.regions if kind == "region" else ():
        if r.code == ident and r.ingress_one_way_ms is not None:
            return r.ingress_one_way_ms
    for e in topo.edge_locations if kind == "pop" else ():
        if e.id == ident and e.ingress_one_way_ms is not None:
            return e.ingress_one_way_ms
    return float(p.region_ingress_one_way_ms if kind == "region" else p.pop_ingress_one_way_ms)


def fit(
    topo: TopologyFile,
    measurements: Sequence[Measurement],
    *,
    params: LatencyParams | None = None,
    names: Iterable[str] | None = None,
    corridors: bool = False,
    sites: bool = False,
    min_pairs: int = 6,
    ridge: float = 1e-3,
    corridor_ridge: float = 0.05,
    site_ridge: float = 0.05,
    rounds: int = 8,
    robust: int = 5,
) -> FitResult:
    """Fit constants (``names``; default: every backbone and internet constant) to
    ``measurements``. With ``corridors``, also a route factor for every corridor that at
    least ``min_pairs`` measured routes cross; with ``sites``, an ingress cost for every
    region and edge location that at least ``min_pairs`` measurements touch.

    ``ridge`` pulls each constant towards its starting value (relative units: a 10 % change
    costs ``ridge × 0.01`` against squared relative errors, per measurement);
    ``corridor_ridge`` and ``site_ridge`` pull corrections towards their kind's constant. The
    intra-region RTT is the median of same-node measurements, if any.
    """
    p = params or LatencyParams()
    diag = [m.rtt_ms for m in measurements if m.src == m.dst]
    if diag:
        p = p.model_copy(update={"intra_region_rtt_ms": round(float(np.median(diag)), 3)})
    pairs = [m for m in measurements if m.src != m.dst]
    chosen = tuple(names) if names is not None else (*BACKBONE_CONSTANTS, *INTERNET_CONSTANTS)
    blocks = [
        [n for n in chosen if n in BACKBONE_CONSTANTS],
        [n for n in chosen if n in INTERNET_CONSTANTS],
    ]
    factors: dict[int, float] = {}
    site_in: dict[str, float] = {}
    cindex = _corridor_index(topo)
    use_sites: list[str] = []
    if sites:
        touch: Counter[str] = Counter()
        for m in pairs:
            touch.update({m.src, m.dst})
        use_sites = sorted(
            k
            for k, n in touch.items()
            if n >= min_pairs and k.split(":", 1)[0] in ("region", "pop")
        )
    prev: list[list[str]] | None = None
    y = np.array([m.rtt_ms / 2.0 for m in pairs])
    wts = 1.0 / np.maximum(y, 1e-3)
    done = 0
    # Two stages: the constants alone until the routes settle, then (if asked) the
    # corrections alone on top of them, so a correction explains only what the constants
    # cannot (and the constants stay what every unmeasured corridor and site uses).
    stage = 0
    n_rounds = 0
    for done in range(1, 2 * rounds + 1):  # noqa: B007 - reported
        world = world_with(topo, p, factors, site_in)
        got = predict_all(world, pairs)
        missing = [m for m, r in zip(pairs, got, strict=True) if r is None]
        if missing:
            raise NoPath.single(
                f"no path between {missing[0].src} and {missing[0].dst} in this world"
            )
        paths = [r for r in got if r is not None]
        routes = [r.nodes for r in paths]
        extra: list[str] = []
        if corridors and stage == 1:
            crossed: Counter[int] = Counter()
            for r in paths:
                crossed.update(
                    {
                        ci
                        for h in r.hops
                        if (ci := cindex.get(frozenset((h.src, h.dst)))) is not None
                    }
                )
            extra += [f"c{ci}" for ci, k in sorted(crossed.items()) if k >= min_pairs]
        if stage == 1:
            extra += [f"s:{k}" for k in use_sites]
        for bi, block in enumerate(blocks):
            cols = (block if stage == 0 else []) + (extra if bi == 0 else [])
            if not cols or not pairs:
                continue
            x, c = _design(world, paths, cols)
            prior = np.zeros(len(cols))
            lower = np.full(len(cols), -np.inf)
            lam = np.zeros(len(cols))
            for j, n in enumerate(cols):
                if n.startswith("c"):  # δ on the corridor's current factor, pulled to its base
                    ci = int(n[1:])
                    cor = topo.corridors[ci]
                    kind_f = float(getattr(p, f"{cor.kind}_route_factor"))
                    base = cor.route_factor or kind_f
                    cur = factors.get(ci, base if cor.route_factor else kind_f)
                    prior[j], lower[j] = base - cur, 1.0 - cur
                    lam[j] = corridor_ridge / base**2
                elif n.startswith("s:"):  # δ on the site's current ingress, pulled to its base
                    base = _site_base(topo, p, n[2:])
                    cur = site_in.get(n[2:], base)
                    prior[j], lower[j] = base - cur, -cur
                    lam[j] = site_ridge / max(base, 0.5) ** 2
                else:
                    prior[j] = float(getattr(p, n))
                    lower[j] = 1.0 if n in _FACTORS else 0.0
                    lam[j] = ridge / max(abs(prior[j]), 1e-3) ** 2
            # a constant or correction is fitted only if at least `min_pairs` measurements
            # depend on it; otherwise it stays where it is
            seen = (np.abs(x) > 0).sum(axis=0) >= min(min_pairs, len(pairs))
            lam = np.where(seen, lam * len(pairs), 1e9)
            theta = _bounded_ridge(x, y - c, wts, prior, lam, lower)
            for _ in range(robust):
                # iteratively reweighted: towards least absolute relative error (the median
                # error is what is scored), so a few odd pairs do not pull every constant
                rel = np.abs((x @ theta + c - y) * wts)
                w_r = wts / np.sqrt(np.maximum(rel, 0.01))
                theta = _bounded_ridge(x, y - c, w_r, prior, lam, lower)
            fitted = dict(zip(cols, (float(t) for t in theta), strict=True))
            p = p.model_copy(
                update={n: round(t, 4) for n, t in fitted.items() if not n.startswith(("c", "s:"))}
            )
            for n, t in fitted.items():
                if n.startswith("c"):  # the corridor's factor in the world this round used
                    ci = int(n[1:])
                    cor = topo.corridors[ci]
                    if ci in factors or cor.route_factor:
                        cur = factors.get(ci, cor.route_factor or 1.0)
                    else:  # it followed its kind's factor, refitted just now
                        cur = float(getattr(p, f"{cor.kind}_route_factor"))
                    factors[ci] = min(5.0, max(1.0, cur + t))
                elif n.startswith("s:"):
                    key = n[2:]
                    # its current ingress: fitted before, else its own or its kind's
                    cur = site_in[key] if key in site_in else _site_base(topo, p, key)
                    site_in[key] = max(0.0, cur + t)
        n_rounds += 1
        if routes == prev or n_rounds >= rounds:
            if stage == 1 or not (corridors or use_sites):
                break
            stage, n_rounds = 1, 0
        prev = routes
    # keep only corrections that differ from what the topology would use anyway
    kept_f = {}
    for ci, f in factors.items():
        cor = topo.corridors[ci]
        base = cor.route_factor or float(getattr(p, f"{cor.kind}_route_factor"))
        if abs(f - base) > 0.002:
            kept_f[ci] = f
    kept_s = {k: v for k, v in site_in.items() if abs(v - _site_base(topo, p, k)) > 0.01}
    return FitResult(p, kept_f, kept_s, done)


# ---- cross-validation ------------------------------------------------------------------------


Fitter = Callable[[Sequence[Measurement]], FitResult]


def cross_validate(
    topo: TopologyFile,
    measurements: Sequence[Measurement],
    fitter: Fitter,
    folds: Sequence[tuple[Sequence[Measurement], Sequence[Measurement]]],
) -> ErrorReport:
    """Fit on each fold's training part and score on its test part; all test errors."""
    out: list[PairError] = []
    for train, test in folds:
        res = fitter(train)
        world = res.world(topo)
        out.extend(report(world, test).errors)
    return ErrorReport(tuple(out))


def region_folds(
    measurements: Sequence[Measurement],
) -> list[tuple[list[Measurement], list[Measurement]]]:
    """Leave one region out: for each place, train on pairs not touching it, test on pairs
    between it and the others (each pair is tested twice, once for each end)."""
    places = sorted({m.src for m in measurements} | {m.dst for m in measurements})
    out = []
    for r in places:
        train = [m for m in measurements if r not in (m.src, m.dst)]
        test = [m for m in measurements if r in (m.src, m.dst) and m.src != m.dst]
        if test:
            out.append((train, test))
    return out


def k_folds(
    measurements: Sequence[Measurement], k: int = 5, seed: int = 0
) -> list[tuple[list[Measurement], list[Measurement]]]:
    """k random folds over unordered pairs (a→b and b→a stay together), seeded."""
    keys = sorted({tuple(sorted(m.pair)) for m in measurements if m.src != m.dst})
    random.Random(seed).shuffle(keys)
    fold_of = {key: i % k for i, key in enumerate(keys)}
    out = []
    for f in range(k):
        test = [m for m in measurements if fold_of.get(tuple(sorted(m.pair))) == f]
        train = [m for m in measurements if fold_of.get(tuple(sorted(m.pair))) != f]
        if test:
            out.append((train, test))
    return out
