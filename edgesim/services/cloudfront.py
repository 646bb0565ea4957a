"""CloudFront: distributions served from edge locations with tiered caches.

Request path (../shared/reference/cloudfront.md): the user reaches the edge location that
CloudFront's DNS picks by latency from the resolver's (or ECS subnet's) place, within the
distribution's price class; a miss there goes to the nearest regional edge cache (skipped for
requests that cannot be cached), then to Origin Shield if configured, then to the origin. Each
tier that fetched the object stores it on the way back. Caches are byte-limited with a
selectable eviction policy (LRU, SIEVE, S3-FIFO) and replayed in time order per cache.

Result codes in reports follow the ``X-Cache``/log result types: Hit, RefreshHit, Miss,
Error, OriginShieldHit (counted separately: ``regional_hits``).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from edgesim.cache.compact import MAX_OBJECT_BYTES, CompactLRUCache
from edgesim.cache.compact import make_fast_cache as make_cache
from edgesim.errors import InputError, Problem
from edgesim.services.base import Service, Target
from edgesim.services.endpoints import EndpointSpec, EndpointTarget
from edgesim.sim.batch import Batch, Flow, Outcome
from edgesim.sim.context import SimContext
from edgesim.topology.model import EdgeLocation, LinkClass, NodeKind
from edgesim.units import ByteSize, Duration

F64 = npt.NDArray[np.float64]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]

RESULTS = ("", "Hit", "RefreshHit", "Miss", "Error", "OriginShieldHit")
#: Cache keys are (cacheable workload number << 27) | object id, in 31 bits.
KEY_OBJECT_BITS = 27
MAX_CACHEABLE_WORKLOADS = 16
HIT, REFRESH_HIT, MISS, ERROR, SHIELD_HIT = 1, 2, 3, 4, 5

#: CloudFront price classes by the edge locations' price-class groups (aws-world ids).
PRICE_CLASSES: dict[str, set[str] | None] = {
    "100": {"us_mexico_canada", "europe_israel"},
    "200": {
        "us_mexico_canada",
        "europe_israel",
        "south_africa_kenya_middle_east",
        "japan",
        "asia_pacific",
        "india",
    },
    "all": None,
}
_MAX_AGE = re.compile(r"(?:^|[,\s])(s-maxage|max-age)\s*=\s*(\d+)", re.IGNORECASE)
_NO_STORE = re.compile(r"(?:^|[,\s])(no-store|private|no-cache)(?:$|[,\s])", re.IGNORECASE)


class S3OriginSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    bucket: str
    region: str


class OriginSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    endpoint: str | None = Field(default=None, description="an endpoint from endpoints:")
    s3: S3OriginSpec | None = None

    @model_validator(mode="after")
    def _one(self) -> OriginSpec:
        if (self.endpoint is None) == (self.s3 is None):
            raise ValueError("an origin needs exactly one of endpoint or s3")
        return self


class CachePolicySpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    min_ttl: Duration = Field(default="0s", validate_default=True)
    default_ttl: Duration = Field(default="1d", validate_default=True)
    max_ttl: Duration = Field(default="365d", validate_default=True)

    @model_validator(mode="after")
    def _order(self) -> CachePolicySpec:
        if self.min_ttl > self.max_ttl:
            raise ValueError("min_ttl is above max_ttl")
        return self


class CachesSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    edge: ByteSize = Field(default="20GB", validate_default=True, description="per edge location")
    regional: ByteSize = Field(
        default="200GB", validate_default=True, description="per regional edge cache"
    )
    shield: ByteSize = Field(default="500GB", validate_default=True)
    eviction: Literal["lru", "sieve", "s3-fifo"] = "lru"


class DistributionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    price_class: Literal["100", "200", "all"] = "all"
    origin_shield: str | None = Field(default=None, description="region of Origin Shield")
    origins: list[OriginSpec] = Field(min_length=1)
    default_origin: str | None = None
    cache_policy: CachePolicySpec = Field(default_factory=CachePolicySpec)
    caches: CachesSpec = Field(default_factory=CachesSpec)


class CloudFrontConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    distributions: list[DistributionSpec] = Field(min_length=1)


def ttl_seconds(cache_control: str | None, policy: CachePolicySpec) -> float:
    """CloudFront's TTL for an origin response (cloudfront.md, "TTL precedence"): with
    max-age/s-maxage the value is clamped to [min, max]; without, the default TTL; no-store,
    no-cache and private give the minimum TTL."""
    lo, hi, dflt = policy.min_ttl / 1e9, policy.max_ttl / 1e9, policy.default_ttl / 1e9
    if cache_control:
        if _NO_STORE.search(cache_control):
            return lo
        ages = {k.lower(): int(v) for k, v in _MAX_AGE.findall(cache_control)}
        if ages:
            age = ages.get("s-maxage", ages.get("max-age", 0))
            return min(max(age, lo), hi)
    return min(max(dflt, lo), hi)


class Distribution(Target):
    def __init__(
        self,
        spec: DistributionSpec,
        ctx: SimContext,
        origins: dict[str, Target],
        workloads: list[Any],
    ) -> None:
        self.spec = spec
        self.key = f"cloudfront:{spec.name}"
        self.ctx = ctx
        self.origins = origins
        self.origin = origins[spec.default_origin or spec.origins[0].name]
        world = ctx.world
        allowed = PRICE_CLASSES[spec.price_class]
        edges = [
            n
            for n in world.edge_locations
            if n.tier == "edge" and (allowed is None or n.price_class_region in allowed)
        ]
        recs = [n for n in world.edge_locations if n.tier == "regional"]
        self.pops = np.array([ctx.idx(n.key) for n in edges], dtype=np.int64)
        self.recs = np.array([ctx.idx(n.key) for n in recs], dtype=np.int64)
        self.shield = ctx.idx(f"region:{spec.origin_shield}") if spec.origin_shield else -1
        self.ttl_ns = 60_000_000_000  # CloudFront answers its own domain with a 60 s TTL
        self.edge_caches: dict[int, Any] = {}
        self.rec_caches: dict[int, Any] = {}
        self.shield_cache = make_cache(spec.caches.eviction, spec.caches.shield)
        self.ttl_by_workload = np.array(
            [ttl_seconds(w.cache_control, spec.cache_policy) * 1e9 for w in workloads]
        ).astype(np.int64)
        self.cacheable = np.array(
            [w.method in ("GET", "HEAD") and w.objects is not None for w in workloads], dtype=bool
        )
        self.key_base = np.cumsum(self.cacheable) - 1
        self.workload_of_base = [i for i, c in enumerate(self.cacheable) if c]
        self.counts = np.zeros((len(RESULTS),), dtype=np.int64)
        self.bytes_hit = 0
        self.bytes_total = 0
        self.regional_hits = 0
        self.regional_lookups = 0
        self.shield_hits = 0
        self.shield_lookups = 0
        self.origin_requests = 0
        self.cacheable_requests = 0
        self.cacheable_hits = 0
        self.per_pop: dict[int, np.ndarray] = {}

    def _edge_for(self, where: I32) -> I32:
        key = ("cf_edge", self.spec.name, self.ctx.world.version)
        table = self.ctx._tables.get(key)
        if table is None:
            one_way = self.ctx.one_way_ms(LinkClass.INTERNET)
            up = np.array(
                [self.ctx.node_keys[p] not in self.ctx.world.down_nodes for p in self.pops]
            )
            d = one_way[:, self.pops].copy()
            d[:, ~up] = np.inf
            table = self.pops[d.argmin(axis=1)].astype(np.int32)
            self.ctx._tables[key] = table
        out: I32 = table[np.asarray(where, dtype=np.int64)]
        return out

    def _rec_for(self, pops: I64) -> I64:
        key = ("cf_rec", self.spec.name, self.ctx.world.version)
        table = self.ctx._tables.get(key)
        if table is None:
            if len(self.recs) == 0:
                table = np.full(len(self.ctx.node_keys), -1, dtype=np.int64)
            else:
                bb = self.ctx.one_way_ms(LinkClass.BACKBONE)[:, self.recs]
                table = self.recs[bb.argmin(axis=1)]
            self.ctx._tables[key] = table
        out: I64 = table[pops]
        return out

    def entry(self, ctx: SimContext, where: I32) -> I32:
        return self._edge_for(where)

    def _cache(self, tier: dict[int, Any], node: int, capacity: int) -> Any:
        c = tier.get(node)
        if c is None:
            c = make_cache(self.spec.caches.eviction, capacity)
            tier[node] = c
        return c

    def serve(self, ctx: SimContext, batch: Batch, flow: Flow, out: Outcome) -> F64:
        n = len(flow)
        up_ms = np.zeros(n)
        if n == 0:
            return up_ms
        idx = flow.idx
        pops = flow.src.astype(np.int64)
        out.pop[idx] = flow.src
        wl = batch.workload[idx].astype(np.int64)
        cacheable = (
            self.cacheable[wl]
            & (self.ttl_by_workload[wl] > 0)
            & (batch.size[idx] <= MAX_OBJECT_BYTES)  # larger objects are not cached here
        )
        keys = (self.key_base[wl] << KEY_OBJECT_BITS) | np.maximum(batch.obj[idx], 0)
        sizes = np.maximum(batch.size[idx], 1)
        t = flow.start_ns
        ttl = self.ttl_by_workload[wl]
        result = np.full(n, MISS, dtype=np.int8)
        # The world does not change within a chunk: if the origin is down, misses cannot be
        # filled, so the tiers only look up (nothing is stored on the way back).
        admit = self.origin.is_up(ctx)
        replay = _replay if admit else _lookup_only
        # --- edge tier, each edge location on its own, in time order
        need_rec = np.zeros(n, dtype=bool)
        for pop in np.unique(pops[cacheable]):
            sel = np.flatnonzero(cacheable & (pops == pop))
            cache = self._cache(self.edge_caches, int(pop), self.spec.caches.edge)
            r = replay(cache, keys[sel], sizes[sel], t[sel], ttl[sel])
            hit = r == 1
            result[sel[hit]] = HIT
            need_rec[sel[~hit]] = True
        # --- regional edge caches
        to_origin = ~cacheable  # uncacheable requests skip the regional tier
        src = pops.copy()
        if need_rec.any():
            rec = self._rec_for(pops)
            sel_all = np.flatnonzero(need_rec & (rec >= 0))
            to_origin |= need_rec & (rec < 0)
            if len(sel_all):
                rtt = 2 * ctx.site_one_way_ms_pairs(pops[sel_all], rec[sel_all])
                up_ms[sel_all] += rtt
                out.hop("edge→regional")[idx[sel_all]] += rtt
                self.regional_lookups += int((t[sel_all] >= ctx.warmup_ns).sum())
                for r_node in np.unique(rec[sel_all]):
                    sel = sel_all[rec[sel_all] == r_node]
                    cache = self._cache(self.rec_caches, int(r_node), self.spec.caches.regional)
                    rr = replay(cache, keys[sel], sizes[sel], t[sel], ttl[sel])
                    hit = rr == 1
                    self.regional_hits += int((hit & (t[sel] >= ctx.warmup_ns)).sum())
                    to_origin[sel[~hit]] = True
                src[sel_all] = rec[sel_all]
        # --- Origin Shield (bypassed while its region is down)
        shield_up = self.shield >= 0 and ctx.node_keys[self.shield] not in ctx.world.down_nodes
        if shield_up:
            sel = np.flatnonzero(to_origin & cacheable)
            if len(sel):
                rtt = 2 * ctx.site_one_way_ms_pairs(src[sel], np.full(len(sel), self.shield))
                up_ms[sel] += rtt
                out.hop("regional→shield")[idx[sel]] += rtt
                rr = replay(self.shield_cache, keys[sel], sizes[sel], t[sel], ttl[sel])
                hit = rr == 1
                self.shield_lookups += int((t[sel] >= ctx.warmup_ns).sum())
                self.shield_hits += int((hit & (t[sel] >= ctx.warmup_ns)).sum())
                result[sel[hit]] = SHIELD_HIT
                to_origin[sel[hit]] = False
                src[sel] = self.shield
        # --- origin
        sel = np.flatnonzero(to_origin)
        if len(sel):
            self.origin_requests += int((t[sel] >= ctx.warmup_ns).sum())
            sub = Flow(idx[sel], src[sel].astype(np.int32), t[sel])
            up_ms[sel] += self.origin.serve(ctx, batch, sub, out)
            failed = ~out.ok[idx[sel]]
            result[sel[failed]] = ERROR
            self._forget(sel[failed & cacheable[sel]], keys, pops, t)
        out.result[idx] = result
        counted = t >= ctx.warmup_ns  # the warm-up fills caches but is not reported
        res_c, pops_c = result[counted], pops[counted]
        self.counts += np.bincount(res_c, minlength=len(RESULTS))
        cacheable_ok = counted & cacheable & (result != ERROR)
        self.bytes_hit += int(sizes[cacheable_ok & (result == HIT)].sum())
        self.bytes_total += int(sizes[cacheable_ok].sum())
        self.cacheable_requests += int(cacheable_ok.sum())
        self.cacheable_hits += int((cacheable_ok & (result == HIT)).sum())
        for pop in np.unique(pops_c):
            row = self.per_pop.setdefault(int(pop), np.zeros(len(RESULTS), dtype=np.int64))
            row += np.bincount(res_c[pops_c == pop], minlength=len(RESULTS))
        return up_ms

    def _forget(self, rows: I64, keys: I64, pops: I64, t: I64) -> None:
        """A failed origin fetch stores nothing: drop what the miss path inserted."""
        if len(rows) == 0:
            return
        rec = self._rec_for(pops[rows]) if len(self.recs) else np.full(len(rows), -1)
        for i, r in enumerate(rows.tolist()):
            k = int(keys[r])
            edge = self.edge_caches.get(int(pops[r]))
            if edge is not None:
                edge.remove(k)
            regional = self.rec_caches.get(int(rec[i]))
            if regional is not None:
                regional.remove(k)
            self.shield_cache.remove(k)

    def hit_ratio(self, tier: str | None = None) -> float:
        """Edge hits over cacheable requests (CloudFront's CacheHitRate: POST/PUT and errors
        are not cacheable requests); regional and shield: hits over lookups at that tier."""
        if tier in (None, "edge"):
            n = self.cacheable_requests
            return self.cacheable_hits / n if n else 0.0
        if tier == "regional":
            return self.regional_hits / self.regional_lookups if self.regional_lookups else 0.0
        if tier == "shield":
            return self.shield_hits / self.shield_lookups if self.shield_lookups else 0.0
        raise KeyError(f"unknown cache tier '{tier}' (expected edge, regional or shield)")

    def report(self) -> dict[str, Any]:
        total = int(self.counts[1:].sum())
        return {
            "requests": total,
            "results": {RESULTS[i]: int(self.counts[i]) for i in range(1, len(RESULTS))},
            "hit_ratio": round(self.hit_ratio("edge"), 6),
            "byte_hit_ratio": round(self.bytes_hit / self.bytes_total, 6)
            if self.bytes_total
            else 0.0,
            "regional_hit_ratio": round(self.hit_ratio("regional"), 6),
            "shield_hit_ratio": round(self.hit_ratio("shield"), 6),
            "origin_requests": self.origin_requests,
            "origin_offload": round(1 - self.origin_requests / total, 6) if total else 0.0,
            "pops": {
                self.ctx.node_keys[p].split(":", 1)[1]: {
                    "requests": int(row[1:].sum()),
                    "hit_ratio": round(row[HIT] / row[1:].sum(), 6) if row[1:].sum() else 0.0,
                }
                for p, row in sorted(self.per_pop.items())
            },
        }


def _replay(cache: Any, keys: I64, sizes: I64, t: I64, ttl: I64) -> npt.NDArray[np.uint8]:
    out: npt.NDArray[np.uint8] = cache.process(keys, sizes, t, ttl)
    return out


def _lookup_only(cache: Any, keys: I64, sizes: I64, t: I64, ttl: I64) -> npt.NDArray[np.uint8]:
    """Look up without storing (the origin cannot fill misses)."""
    if isinstance(cache, CompactLRUCache):
        out: npt.NDArray[np.uint8] = cache.process(keys, sizes, t, ttl, admit=False)
        return out
    return np.fromiter(
        (cache.get(int(k), int(tt)) for k, tt in zip(keys, t, strict=True)),
        dtype=np.uint8,
        count=len(keys),
    )


def object_path(workloads: list[Any], key: int) -> str:
    """The URL path of cache key ``key`` (cacheable workload number << 27 | object id)."""
    cacheable = [w for w in workloads if w.method in ("GET", "HEAD") and w.objects is not None]
    w = cacheable[key >> KEY_OBJECT_BITS]
    return f"{w.path_prefix.rstrip('/')}/{key & ((1 << KEY_OBJECT_BITS) - 1)}"


def invalidation_matcher(patterns: list[str], workloads: list[Any]) -> Any:
    """A predicate on cache keys for invalidation paths; ``*`` is allowed only at the end,
    as in CloudFront (cloudfront.md)."""
    exact = {p for p in patterns if not p.endswith("*")}
    prefixes = tuple(p[:-1] for p in patterns if p.endswith("*"))

    def pred(key: int) -> bool:
        path = object_path(workloads, key)
        return path in exact or path.startswith(prefixes)

    return pred


class CloudFront(Service):
    section: ClassVar[str] = "cloudfront"
    summary: ClassVar[str] = "CloudFront distributions: origins, tiered caches, price class"
    config_model: ClassVar[type[BaseModel]] = CloudFrontConfig
    order: ClassVar[int] = 30
    actions: ClassVar[tuple[str, ...]] = ("invalidate",)
    assertion_kinds: ClassVar[dict[str, str]] = {"hit_ratio": "ratio"}

    def __init__(self, config: BaseModel, ctx: SimContext) -> None:
        super().__init__(config, ctx)
        assert isinstance(config, CloudFrontConfig)
        self.dists: dict[str, Distribution] = {}
        self.s3_origins: list[EndpointTarget] = []
        self.invalidations: list[dict[str, Any]] = []
        problems: list[Problem] = []
        workloads = list(getattr(ctx, "workloads", []))
        n_cacheable = sum(1 for w in workloads if w.method in ("GET", "HEAD") and w.objects)
        if n_cacheable > MAX_CACHEABLE_WORKLOADS:
            problems.append(
                Problem(
                    f"{n_cacheable} cacheable workloads; the CDN model keys "
                    f"objects of at most {MAX_CACHEABLE_WORKLOADS}",
                    path="workloads",
                )
            )
        for i, d in enumerate(config.distributions):
            where = f"cloudfront.distributions[{i}]"
            if d.name in self.dists or any(x.name == d.name for x in config.distributions[:i]):
                problems.append(
                    Problem(
                        f"duplicate distribution name '{d.name}'",
                        path=f"{where}.name",
                        expected="unique names",
                    )
                )
                continue
            onames = [o.name for o in d.origins]
            dup = next((o for o in onames if onames.count(o) > 1), None)
            if dup is not None:
                problems.append(
                    Problem(
                        f"duplicate origin name '{dup}'",
                        path=f"{where}.origins",
                        expected="unique names",
                    )
                )
            if d.origin_shield is not None and f"region:{d.origin_shield}" not in ctx.world.nodes:
                problems.append(
                    Problem(
                        f"no region '{d.origin_shield}' for Origin Shield",
                        path=f"{where}.origin_shield",
                        expected="a region code",
                    )
                )
            origins: dict[str, Target] = {}
            for j, o in enumerate(d.origins):
                if o.endpoint is not None:
                    t = ctx.targets.get(f"endpoint:{o.endpoint}")
                    if t is None:
                        problems.append(
                            Problem(
                                f"no endpoint '{o.endpoint}'",
                                path=f"{where}.origins[{j}].endpoint",
                                expected="the name of an entry in endpoints:",
                            )
                        )
                        continue
                    origins[o.name] = t
                else:
                    assert o.s3 is not None
                    if f"region:{o.s3.region}" not in ctx.world.nodes:
                        problems.append(
                            Problem(
                                f"no region '{o.s3.region}'", path=f"{where}.origins[{j}].s3.region"
                            )
                        )
                        continue
                    origins[o.name] = s3 = EndpointTarget(
                        EndpointSpec(
                            name=f"s3-{o.s3.bucket}",
                            site=o.s3.region,
                            servers=100_000,
                            service_time="lognormal(median=20ms, sigma=0.6)",
                        ),
                        f"region:{o.s3.region}",
                        ctx,
                    )
                    self.s3_origins.append(s3)
            if d.default_origin is not None and d.default_origin not in origins:
                problems.append(
                    Problem(f"no origin named '{d.default_origin}'", path=f"{where}.default_origin")
                )
            allowed = PRICE_CLASSES[d.price_class]
            if not any(
                n.tier == "edge" and (allowed is None or n.price_class_region in allowed)
                for n in ctx.world.edge_locations
            ):
                problems.append(
                    Problem(
                        f"price class {d.price_class} includes no edge location of world "
                        f"'{ctx.world.name}'",
                        path=f"{where}.price_class",
                        expected="all, or a world whose edge locations have price_class_region ids",
                    )
                )
            if problems:
                continue
            self.dists[d.name] = Distribution(d, ctx, origins, workloads)
        if problems:
            raise InputError(problems, file=ctx.file)

    def targets(self) -> dict[str, Target]:
        return {t.key: t for t in self.dists.values()}

    def check_event(self, action: str, payload: Any) -> str | None:
        if action != "invalidate":
            return None
        if not isinstance(payload, dict) or "distribution" not in payload:
            return "invalidate takes {distribution: NAME, paths: [/path, /prefix*]}"
        if (
            not isinstance(payload["distribution"], str)
            or payload["distribution"] not in self.dists
        ):
            return f"no distribution '{payload['distribution']}'"
        paths = payload.get("paths", ["/*"])
        if not isinstance(paths, list) or not paths:
            return "paths must be a list of paths"
        for p in paths:
            if not isinstance(p, str) or not p.startswith("/"):
                return f"invalidation path {p!r} must start with /"
            if "*" in p[:-1]:
                return f"invalidation path {p!r}: a * may only be the last character"
        return None

    def on_event(self, action: str, payload: Any, at_ns: int) -> None:
        if action != "invalidate":
            return
        name = payload.get("distribution") if isinstance(payload, dict) else str(payload)
        paths = payload.get("paths", ["/*"]) if isinstance(payload, dict) else ["/*"]
        dist = self.dists.get(str(name))
        if dist is None:
            return
        pred = invalidation_matcher([str(p) for p in paths], self.ctx.workloads)
        removed = 0
        for tier in (dist.edge_caches, dist.rec_caches):
            for c in tier.values():
                removed += c.remove_if(pred)
        removed += dist.shield_cache.remove_if(pred)
        self.invalidations.append(
            {
                "at_s": at_ns / 1e9,
                "distribution": dist.spec.name,
                "paths": [str(p) for p in paths],
                "objects_removed": removed,
            }
        )

    def fail(self, what: str, up: bool, at_ns: int) -> bool:
        return False

    def tick(self, now_ns: int) -> None:
        for origin in self.s3_origins:
            origin.end_chunk(self.ctx)

    def report(self) -> dict[str, Any]:
        return {
            "distributions": {n: d.report() for n, d in sorted(self.dists.items())},
            "invalidations": self.invalidations,
        }

    def assertion_metrics(self) -> dict[str, Any]:
        def hit_ratio(distribution: str, tier: str | None = None) -> float:
            d = self.dists.get(distribution)
            if d is None:
                raise KeyError(f"no distribution '{distribution}'")
            return d.hit_ratio(tier)

        return {"hit_ratio": hit_ratio}


SERVICES = (CloudFront,)
__all__ = ["RESULTS", "CloudFront", "EdgeLocation", "NodeKind", "ttl_seconds"]
