"""``edgesim place``: which k sites minimise users' latency?

A *template* scenario has one endpoint behind a latency (or geoproximity) Route 53 record set.
A placement of sites s1 … sk replaces that endpoint by k copies (one per site) and the record
set by k records of the same policy (latency: the site's region, a Local Zone's parent region;
geoproximity: the site itself). Placements are scored in two steps:

1. **Analytical** (numpy, every placement at once): per client group and resolver kind, the
   site Route 53 would answer with (latency: lowest internet one-way from the query's place,
   the metro for ISP and ECS resolvers, the public resolver's site otherwise; geoproximity:
   great-circle distance), then a discrete latency distribution per group over access kinds
   × resolver kinds × new/reused connections (new: connect + TLS + request round trips;
   reused: one), whose p95/p99 is the group's estimate. The objective is the
   population-weighted mean of the groups' estimates, or the worst group's.
2. **Confirmation**: the best few placements (``finalists``) are run in full (any executor)
   and ranked by the same objective measured on the runs.

Search: exhaustive when C(n, k) ≤ ``exhaustive_limit``; beyond, greedy (add the best site
one at a time) followed by best-improvement single swaps until no swap helps, restarted from
each of the best few single sites.
"""

from __future__ import annotations

import copy
import itertools
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from edgesim.errors import InputError, Problem
from edgesim.geo import great_circle_km
from edgesim.latency.params import ACCESS_KINDS
from edgesim.scenario.loader import prepare
from edgesim.scenario.schema import scenario_model
from edgesim.sweep.executors import InProcessExecutor, TaskRunner
from edgesim.sweep.metrics import aggregate, run_task
from edgesim.topology.loader import load_world
from edgesim.topology.model import ClientGroup, LinkClass, LocalZone, NodeKind, Region
from edgesim.yamlio import LineIndex, validate

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

OBJECTIVES = ("p95", "p99", "worst-p95")
OBJECTIVE_METRIC = {"p95": "pop_p95", "p99": "pop_p99", "worst-p95": "worst_p95"}
POLICIES = ("latency", "geoproximity")

#: Default relative price index per region (by code prefix; us-east-1 = 1.0), a rough
#: documented stand-in for compute price differences. Local Zones: 1.25 × their parent's.
PRICE_INDEX = {
    "us-": 1.0,
    "ca-": 1.05,
    "mx-": 1.1,
    "eu-": 1.1,
    "il-": 1.2,
    "me-": 1.2,
    "af-": 1.25,
    "ap-": 1.2,
    "sa-": 1.5,
}
LOCAL_ZONE_FACTOR = 1.25
JITTER_POINTS = 6
"""Equal-probability points of the per-request jitter factor in the analytical model."""


@dataclass(frozen=True)
class Template:
    """Where the placed endpoint and its record set are in the scenario document."""

    endpoint: str
    policy: str
    zone: int
    records: tuple[int, ...]
    host: str


def find_template(doc: dict[str, Any], endpoint: str | None = None) -> Template:
    """The endpoint to place and the latency/geoproximity record set that routes to it."""
    eps = [e for e in doc.get("endpoints") or [] if isinstance(e, dict)]
    names = [str(e.get("name")) for e in eps]
    if endpoint is not None and endpoint not in names:
        raise InputError.single(
            f"no endpoint '{endpoint}' in the scenario",
            path="endpoints",
            expected="one of: " + ", ".join(names) if names else "an endpoints: section",
        )
    zones = ((doc.get("route53") or {}).get("zones")) or []
    for zi, zone in enumerate(zones):
        recs = zone.get("records") or []
        for rec in recs:
            target = _endpoint_of(rec)
            if rec.get("policy") not in POLICIES or target is None:
                continue
            if endpoint is not None and target != endpoint:
                continue
            same = tuple(
                i
                for i, r in enumerate(recs)
                if r.get("name") == rec.get("name")
                and r.get("type", "A") == rec.get("type", "A")
                and r.get("policy") == rec.get("policy")
            )
            name = str(rec.get("name", "@"))
            zname = str(zone.get("name", "")).rstrip(".")
            host = zname if name in ("@", "") else f"{name}.{zname}"
            return Template(target, str(rec["policy"]), zi, same, host)
    raise InputError.single(
        "the scenario has no latency or geoproximity Route 53 record that routes to an endpoint",
        path="route53",
        expected="a record such as {name: api, policy: latency, set: a, region: us-east-1, "
        "alias: endpoint:api} (see scenarios/placement-template.yaml)",
    )


def _endpoint_of(rec: dict[str, Any]) -> str | None:
    alias = rec.get("alias")
    if isinstance(alias, str) and alias.startswith("endpoint:"):
        return alias.split(":", 1)[1]
    values = rec.get("values")
    if isinstance(values, list) and len(values) == 1 and str(values[0]).startswith("endpoint:"):
        return str(values[0]).split(":", 1)[1]
    return None


@dataclass(frozen=True)
class Site:
    key: str
    """Node key: ``region:eu-west-1`` or ``lz:us-east-1-nyc-1``."""
    region: str
    """Its region code (a Local Zone's parent)."""
    cost: float

    @property
    def id(self) -> str:
        return self.key.split(":", 1)[1]


def default_cost(key: str, region: str) -> float:
    base = next((v for p, v in PRICE_INDEX.items() if region.startswith(p)), 1.2)
    return round(base * (LOCAL_ZONE_FACTOR if key.startswith("lz:") else 1.0), 4)


def placement_doc(doc: dict[str, Any], tpl: Template, sites: list[Site]) -> dict[str, Any]:
    """The scenario document with the template endpoint placed at ``sites``."""
    out = copy.deepcopy(doc)
    eps = out["endpoints"]
    pos = next(i for i, e in enumerate(eps) if e.get("name") == tpl.endpoint)
    base_ep = eps[pos]
    new_eps = []
    for s in sites:
        ep = {k: copy.deepcopy(v) for k, v in base_ep.items() if k != "azs"}
        ep["name"] = f"{tpl.endpoint}-{s.id}"
        ep["site"] = s.key
        new_eps.append(ep)
    out["endpoints"] = eps[:pos] + new_eps + eps[pos + 1 :]
    recs = out["route53"]["zones"][tpl.zone]["records"]
    first = recs[tpl.records[0]]
    new_recs = []
    for s, ep in zip(sites, new_eps, strict=True):
        rec = {
            k: copy.deepcopy(v)
            for k, v in first.items()
            if k not in ("health_check", "region", "location", "lat", "lon", "bias")
        }
        rec["set"] = s.id
        if "alias" in rec:
            rec["alias"] = f"endpoint:{ep['name']}"
        else:
            rec["values"] = [f"endpoint:{ep['name']}"]
        if tpl.policy == "latency":
            rec["region"] = s.region
        else:
            rec["location"] = s.key
        new_recs.append(rec)
    keep = [r for i, r in enumerate(recs) if i not in tpl.records]
    at = tpl.records[0] - sum(1 for i in tpl.records if i < tpl.records[0])
    out["route53"]["zones"][tpl.zone]["records"] = keep[:at] + new_recs + keep[at:]
    return out


# ---- the analytical model -------------------------------------------------------------------
@dataclass
class Model:
    """Everything the analytical score needs, as arrays (G groups, C candidates)."""

    sites: list[Site]
    route_key: F64
    """(3 resolver kinds, G, C): what Route 53 ranks by (ms or km); inf = not reachable."""
    one_way: F64
    """(G, C): user ↔ site one-way ms (wide area, last mile excluded)."""
    weights: F64
    """(G,): population weights, summing to 1."""
    rtt_add: F64
    """(G, A): access RTT per access kind."""
    jitter_add: F64
    """(G, A): the access kind's mean jitter (ms), scaled by each jitter draw."""
    jitter: F64
    """(J,): equal-probability quantiles of the jitter factor (Gamma, mean 1)."""
    atom_p: F64
    """(G, 3, A, J, N): probability of resolver kind × access × jitter × connection case."""
    rtts: F64
    """(N,): round trips of a request on a reused connection, a new one, a new one whose SYN
    was lost."""
    extra: F64
    """(N,): fixed ms added (the 1 s SYN retransmission)."""
    path_jitter: float
    groups: list[str]
    policy: str
    duplicates_forbidden: bool
    """Latency records: two sites in one region cannot both have a record."""

    def scores(self, placements: I64, objective: str) -> F64:
        """Objective (estimated ms) of each row of ``placements`` (B × k candidate indices)."""
        out = np.empty(len(placements))
        step = max(1, 2_000_000 // max(1, self.one_way.shape[0]))
        for lo in range(0, len(placements), step):
            out[lo : lo + step] = self._scores(placements[lo : lo + step], objective)
        return out

    def group_estimates(self, placements: I64, q: float) -> F64:
        """(B, G): each group's estimated latency quantile ``q`` under each placement.

        A group's estimate depends only on which site answers each of its 3 resolver kinds,
        so it is computed once per distinct (group, sites) triple in the batch."""
        g = self.one_way.shape[0]
        c = self.one_way.shape[1]
        b, k = placements.shape
        keys = self.route_key[:, :, placements]  # (3, G, B, k)
        pick = np.argmin(keys, axis=3)  # ties: record order = candidate order
        chosen = np.take_along_axis(
            np.broadcast_to(placements, (3, g, b, k)), pick[..., None], axis=3
        )[..., 0]  # (3, G, B)
        code = (np.arange(g, dtype=np.int64)[:, None] * c + chosen[0]) * c + chosen[1]
        code = code * c + chosen[2]  # (G, B)
        uniq, inverse = np.unique(code.ravel(), return_inverse=True)
        c2 = uniq % c
        c1 = (uniq // c) % c
        c0 = (uniq // (c * c)) % c
        ug = uniq // (c * c * c)
        vals = self._quantiles(ug, np.stack([c0, c1, c2], axis=1), q)
        out: F64 = vals[inverse.ravel()].reshape(g, b).T
        return out

    def _quantiles(self, ug: I64, sites: I64, q: float) -> F64:
        """Latency quantile ``q`` of groups ``ug`` when resolver kind r is answered with
        ``sites[:, r]``."""
        ow = self.one_way[ug[:, None], sites]  # (U, 3)
        wide = (2.0 * ow)[:, :, None, None, None]  # (U, 3, 1, 1, 1)
        j = self.jitter[None, None, None, :, None]
        rtt = wide * (1.0 + j * self.path_jitter) + (
            self.rtt_add[ug][:, None, :, None, None]
            + j * self.jitter_add[ug][:, None, :, None, None]
        )  # (U, 3, A, J, 1)
        lat = rtt * self.rtts + self.extra  # (U, 3, A, J, N)
        vals = lat.reshape(len(ug), -1)
        w = self.atom_p[ug].reshape(len(ug), -1)
        order = np.argsort(vals, axis=1, kind="stable")
        sv = np.take_along_axis(vals, order, axis=1)
        cw = np.cumsum(np.take_along_axis(w, order, axis=1), axis=1)
        idx = np.argmax(cw >= q * cw[:, -1:] - 1e-12, axis=1)
        out: F64 = np.take_along_axis(sv, idx[:, None], axis=1)[:, 0]
        return out

    def _scores(self, p: I64, objective: str) -> F64:
        per_group = self.group_estimates(p, 0.99 if objective == "p99" else 0.95)
        score = per_group.max(axis=1) if objective == "worst-p95" else per_group @ self.weights
        if self.duplicates_forbidden and p.shape[1] > 1:
            regions = np.array([s.region for s in self.sites])[p]
            dup = np.array([len(set(r)) < len(r) for r in regions.tolist()], dtype=bool)
            score = np.where(dup, np.inf, score)
        result: F64 = np.where(np.isnan(score), np.inf, score)
        return result


def candidate_sites(
    world: Any, spec: str, costs: dict[str, float] | None = None
) -> tuple[list[Site], list[Problem]]:
    """``regions``, ``local-zones`` and/or explicit site names, comma-separated."""
    keys: list[str] = []
    problems: list[Problem] = []
    for part in [p.strip() for p in spec.split(",") if p.strip()]:
        if part in ("regions", "region"):
            keys += [r.key for r in world.regions]
        elif part in ("local-zones", "local-zone", "lz", "lzs"):
            keys += [n.key for n in world.nodes.values() if isinstance(n, LocalZone)]
        else:
            try:
                keys.append(world.resolve(part, (NodeKind.REGION, NodeKind.LOCAL_ZONE)))
            except InputError as exc:
                problems += [
                    Problem(f"--candidates: {p.message}", expected=p.expected) for p in exc.problems
                ]
    order = {k: i for i, k in enumerate(world.nodes)}
    sites = []
    for key in sorted(set(keys), key=order.__getitem__):
        node = world.nodes[key]
        region = node.id if isinstance(node, Region) else str(node.parent)
        cost = default_cost(key, region)
        if costs:
            cost = float(costs.get(key, costs.get(node.id, cost)))
        sites.append(Site(key, region, cost))
    return sites, problems


def build_model(
    doc: dict[str, Any],
    tpl: Template,
    sites: list[Site],
    *,
    base_dir: Path | None = None,
    file: str | None = None,
) -> Model:
    """Prepare the template once (this checks it) and tabulate the analytical model."""
    name = file or "<template>"
    scn = validate(scenario_model(), doc, LineIndex(), name)
    run = prepare(scn, LineIndex(), name, base_dir=base_dir)
    ctx = run.ctx
    world = ctx.world
    params = world.params
    groups = run.groups
    g_nodes = np.array([ctx.idx(g.key) for g in groups], dtype=np.int32)
    c_nodes = np.array([ctx.idx(s.key) for s in sites], dtype=np.int64)
    inet = ctx.one_way_ms(LinkClass.INTERNET)
    one_way = np.stack([ctx.client_one_way_ms(g_nodes, np.full(len(g_nodes), c)) for c in c_nodes])
    one_way = np.ascontiguousarray(one_way.T)  # (G, C)
    q_nodes = np.stack(
        [
            g_nodes,
            g_nodes,
            np.asarray(run.dns.public_site[1], dtype=np.int64),
        ]
    )  # isp, public-ecs (answers for the metro), public-no-ecs (the resolver's site)
    if tpl.policy == "latency":
        r_nodes = np.array([ctx.idx(f"region:{s.region}") for s in sites], dtype=np.int64)
        route_key = inet[q_nodes[:, :, None], r_nodes[None, None, :]]
    else:
        route_key = np.empty((3, len(groups), len(sites)))
        for r in range(3):
            for gi in range(len(groups)):
                qn = world.nodes[ctx.node_keys[int(q_nodes[r, gi])]]
                for ci, s in enumerate(sites):
                    sn = world.nodes[s.key]
                    route_key[r, gi, ci] = great_circle_km(qn.lat, qn.lon, sn.lat, sn.lon)
    wl = next((w for w in scn.workloads if w.host == tpl.host), scn.workloads[0])
    tls = {"1.3": 1.0, "1.2": 2.0, "none": 0.0}[wl.tls]
    reuse = float(wl.connection_reuse)
    access = [params.access_profile(a) for a in ACCESS_KINDS]
    ng = len(groups)
    rtt_add = np.tile(np.array([a.rtt_ms for a in access]), (ng, 1))
    jitter_add = np.tile(np.array([a.jitter_mean_ms for a in access]), (ng, 1))
    inet_ok = (1.0 - params.internet_loss_per_hop) ** 4
    syn = np.array([min(1.0, 2.0 * (1.0 - (1.0 - a.loss) * inet_ok)) for a in access])
    conn = np.stack([np.full(len(access), reuse), (1 - reuse) * (1 - syn), (1 - reuse) * syn], 1)
    jit = np.sort(
        np.random.default_rng(0).gamma(params.jitter_shape, 1 / params.jitter_shape, 200_000)
    )
    jitter = np.array(
        [jit[int((i + 0.5) / JITTER_POINTS * len(jit))] for i in range(JITTER_POINTS)]
    )
    atom_p = np.einsum(
        "gr,ga,an,j->granj",
        np.stack([g.resolver_p for g in groups]),
        np.stack([g.access_p for g in groups]),
        conn,
        np.full(JITTER_POINTS, 1.0 / JITTER_POINTS),
    )
    atom_p = np.ascontiguousarray(np.moveaxis(atom_p, 3, 4))  # (G, 3, A, J, N)
    pops = np.array(
        [
            float(n.population) if isinstance(n := world.nodes[g.key], ClientGroup) else 0.0
            for g in groups
        ]
    )
    weights = pops / pops.sum() if pops.sum() > 0 else np.full(len(groups), 1 / len(groups))
    return Model(
        sites=sites,
        route_key=np.ascontiguousarray(route_key),
        one_way=one_way,
        weights=weights,
        rtt_add=rtt_add,
        jitter_add=jitter_add,
        jitter=jitter,
        atom_p=atom_p,
        rtts=np.array([1.0, 2.0 + tls, 2.0 + tls]),
        extra=np.array([0.0, 0.0, 1000.0]),
        path_jitter=params.path_jitter_fraction,
        groups=[g.name for g in groups],
        policy=tpl.policy,
        duplicates_forbidden=tpl.policy == "latency",
    )


# ---- search ---------------------------------------------------------------------------------
@dataclass
class Search:
    method: str
    evaluated: int
    ranked: list[tuple[float, tuple[int, ...]]]
    """(estimate, candidate indices), best first, at most ``keep``."""


def _feasible(cost: F64, max_cost: float | None) -> Callable[[I64], npt.NDArray[np.bool_]]:
    def ok(p: I64) -> npt.NDArray[np.bool_]:
        if max_cost is None:
            return np.ones(len(p), dtype=bool)
        out: npt.NDArray[np.bool_] = cost[p].sum(axis=1) <= max_cost + 1e-9
        return out

    return ok


def _combos(n: int, k: int, batch: int) -> Iterator[I64]:
    it = itertools.combinations(range(n), k)
    while True:
        chunk = list(itertools.islice(it, batch))
        if not chunk:
            return
        yield np.array(chunk, dtype=np.int64)


def search(
    model: Model,
    k: int,
    objective: str,
    *,
    max_cost: float | None = None,
    keep: int = 20,
    exhaustive_limit: int = 200_000,
    force: str | None = None,
) -> Search:
    """The best placements of ``k`` sites by the analytical estimate."""
    n = len(model.sites)
    cost = np.array([s.cost for s in model.sites])
    ok = _feasible(cost, max_cost)
    seen: dict[tuple[int, ...], float] = {}
    method = force or ("exhaustive" if math.comb(n, k) <= exhaustive_limit else "greedy+swap")
    if method == "exhaustive":
        for p in _combos(n, k, 20_000):
            p = p[ok(p)]
            if len(p) == 0:
                continue
            s = model.scores(p, objective)
            for row, v in zip(p.tolist(), s.tolist(), strict=True):
                seen[tuple(row)] = v
    else:
        _greedy_swap(model, k, objective, ok, seen)
    ranked = sorted(((v, p) for p, v in seen.items() if math.isfinite(v)), key=lambda t: t)
    return Search(method, len(seen), ranked[:keep])


def _eval(
    model: Model,
    rows: list[tuple[int, ...]],
    objective: str,
    ok: Callable[[I64], npt.NDArray[np.bool_]],
    seen: dict[tuple[int, ...], float],
    record: bool,
) -> list[float]:
    """Scores of ``rows`` (sorted tuples, any length); infeasible → inf."""
    todo = [r for r in dict.fromkeys(rows) if r not in seen or not record]
    cache: dict[tuple[int, ...], float] = {}
    by_len: dict[int, list[tuple[int, ...]]] = {}
    for r in todo:
        by_len.setdefault(len(r), []).append(r)
    for rs in by_len.values():
        arr = np.array(rs, dtype=np.int64)
        s = model.scores(arr, objective)
        s = np.where(ok(arr), s, np.inf)
        cache.update(zip(rs, s.tolist(), strict=True))
    out = []
    for r in rows:
        v = seen[r] if record and r in seen else cache[r]
        if record:
            seen[r] = v
        out.append(v)
    return out


def _greedy_swap(
    model: Model,
    k: int,
    objective: str,
    ok: Callable[[I64], npt.NDArray[np.bool_]],
    seen: dict[tuple[int, ...], float],
) -> None:
    n = len(model.sites)
    singles = _eval(model, [(i,) for i in range(n)], objective, ok, {}, record=False)
    starts = [i for _, i in sorted(zip(singles, range(n), strict=True))[: min(5, n)]]
    for start in starts:
        cur: tuple[int, ...] = (start,)
        while len(cur) < k:  # greedy: add the site that helps most
            rows = [tuple(sorted((*cur, c))) for c in range(n) if c not in cur]
            vals = _eval(model, rows, objective, ok, seen, record=len(cur) + 1 == k)
            best = min(range(len(rows)), key=lambda i: (vals[i], rows[i]))
            cur = rows[best]
        cur_v = _eval(model, [cur], objective, ok, seen, record=True)[0]
        while True:  # best-improvement single swaps
            rows = [
                tuple(sorted((*(x for x in cur if x != out), inn)))
                for out in cur
                for inn in range(n)
                if inn not in cur
            ]
            vals = _eval(model, rows, objective, ok, seen, record=True)
            best = min(range(len(rows)), key=lambda i: (vals[i], rows[i]))
            if vals[best] < cur_v - 1e-9:
                cur, cur_v = rows[best], vals[best]
            else:
                break


# ---- the whole command ----------------------------------------------------------------------
@dataclass
class PlaceResult:
    objective: str
    k: int
    policy: str
    candidates: list[Site]
    method: str
    evaluated: int
    analytic_s: float
    finalists: list[dict[str, Any]] = field(default_factory=list)
    runner_ups: list[dict[str, Any]] = field(default_factory=list)
    complete: bool = True
    """False when an interruption cut the confirmation runs short."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "complete": self.complete,
            "objective": self.objective,
            "k": self.k,
            "policy": self.policy,
            "candidates": [s.key for s in self.candidates],
            "search": self.method,
            "evaluated": self.evaluated,
            "finalists": self.finalists,
            "runner_ups": self.runner_ups,
        }


def place(
    doc: dict[str, Any],
    *,
    candidates: str = "regions",
    k: int = 3,
    objective: str = "p95",
    max_cost: float | None = None,
    costs: dict[str, float] | None = None,
    finalists: int = 5,
    runner_ups: int = 10,
    replications: int = 1,
    duration: str | None = None,
    endpoint: str | None = None,
    executor: Any = None,
    base_dir: Path | None = None,
    file: str | None = None,
    exhaustive_limit: int = 200_000,
    force: str | None = None,
    on_update: Callable[[Any], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> PlaceResult:
    """Search, then confirm the ``finalists`` best with full runs (0: analytical only)."""
    if objective not in OBJECTIVES:
        raise InputError.single(f"unknown objective '{objective}'", expected=", ".join(OBJECTIVES))
    tpl = find_template(doc, endpoint)
    t0 = time.perf_counter()

    world_name = str(doc.get("world", ""))
    if base_dir is not None and (world_name.endswith((".yaml", ".yml")) or "/" in world_name):
        world_name = str(base_dir / world_name)
    world = load_world(world_name)
    sites, problems = candidate_sites(world, candidates, costs)
    if not problems and len(sites) < k:
        problems.append(
            Problem(
                f"--k {k}: only {len(sites)} candidate site(s)",
                expected=f"at most {len(sites)}, or more --candidates",
            )
        )
    if k < 1:
        problems.append(Problem(f"--k {k}", expected="at least 1"))
    if max_cost is not None and sites and k >= 1:
        cheapest = sum(sorted(s.cost for s in sites)[:k])
        if cheapest > max_cost + 1e-9:
            problems.append(
                Problem(
                    f"--max-cost {max_cost:g}: the {k} cheapest sites cost {cheapest:g}",
                    expected=f"at least {cheapest:g}",
                )
            )
    if problems:
        raise InputError(problems, file=file)
    if duration is not None:
        doc = {**doc, "duration": duration}
    model = build_model(doc, tpl, sites, base_dir=base_dir, file=file)
    found = search(
        model,
        k,
        objective,
        max_cost=max_cost,
        keep=finalists + runner_ups,
        exhaustive_limit=exhaustive_limit,
        force=force,
    )
    if not found.ranked:
        raise InputError.single(
            "no feasible placement (every one is unreachable, over --max-cost, or puts two "
            "latency records in one region)"
        )
    result = PlaceResult(
        objective,
        k,
        tpl.policy,
        sites,
        found.method,
        found.evaluated,
        time.perf_counter() - t0,
    )

    def entry(est: float, p: tuple[int, ...]) -> dict[str, Any]:
        chosen = [sites[i] for i in p]
        return {
            "sites": [s.key for s in chosen],
            "cost": round(sum(s.cost for s in chosen), 4),
            "estimate_ms": round(est, 3),
        }

    top = found.ranked[:finalists]
    result.runner_ups = [entry(v, p) for v, p in found.ranked[finalists:]]
    if finalists <= 0:
        result.runner_ups = [entry(v, p) for v, p in found.ranked]
        return result
    docs = [placement_doc(doc, tpl, [sites[i] for i in p]) for _, p in top]
    seed = int(doc.get("seed", 1))
    tasks = [
        {
            "variant": vi,
            "seed": seed + r,
            "doc": d,
            "base_dir": str(base_dir) if base_dir else None,
        }
        for vi, d in enumerate(docs)
        for r in range(replications)
    ]
    runner = TaskRunner(executor or InProcessExecutor(), on_update, should_stop)
    runs = runner.run(run_task, tasks, len(docs))
    result.complete = not runner.interrupted

    metric = OBJECTIVE_METRIC[objective]
    for vi, (est, p) in enumerate(top):
        e = entry(est, p)
        mine = [r for r in runs if r["variant"] == vi]
        bad = [r for r in mine if not r["ok"]]
        cut = [r for r in mine if r.get("incomplete")]
        if cut:
            e["status"] = "incomplete"
            e["error"] = cut[0]["error"]
        elif bad:
            e["status"] = "failed"
            e["error"] = bad[0]["error"]
        else:
            agg = aggregate([r["metrics"] for r in mine])
            e["status"] = "ok"
            e["objective_ms"] = agg[metric]
            e["metrics"] = {
                m: agg[m] for m in ("p50", "p95", "p99", "pop_p95", "pop_p99", "worst_p95")
            }
            e["metrics"]["availability"] = agg["availability"]
            e["worst_group"] = agg["worst_group"]
        result.finalists.append(e)
    result.finalists.sort(
        key=lambda e: (
            e["status"] != "ok",
            e["objective_ms"]["mean"] if e["status"] == "ok" else math.inf,
            e["estimate_ms"],
        )
    )
    return result
