"""CloudFront: distributions served from edge locations with tiered caches.

Request path (docs/cloudfront-http.md): the user reaches the edge location that
CloudFront's DNS picks by latency from the resolver's (or ECS subnet's) place, within the
distribution's price class; a miss there goes to the nearest regional edge cache (skipped for
requests that cannot be cached), then to Origin Shield if configured, then to the origin. Each
tier that fetched the object stores it on the way back. Caches are byte-limited with a
selectable eviction policy (LRU, SIEVE, S3-FIFO) and replayed in time order per cache.

Result codes in reports follow the ``X-Cache``/log result types: Hit, RefreshHit, Miss,
Error, OriginShieldHit (counted separately: ``regional_hits``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from edgesim.cache.compact import MAX_KEY, MAX_OBJECT_BYTES
from edgesim.errors import InputError, Problem
from edgesim.services.base import Service, Target
from edgesim.services.cloudfront import behaviors as cdn_behaviors
from edgesim.services.cloudfront import invalidation as cdn_invalidation
from edgesim.services.cloudfront import key as cdn_key
from edgesim.services.cloudfront import message as cdn_message
from edgesim.services.cloudfront import pipeline as cdn_pipeline
from edgesim.services.cloudfront import ttl as cdn_ttl
from edgesim.services.cloudfront import vector
from edgesim.services.cloudfront.vector import ERROR, HIT, MISS, REFRESH_HIT, RESULTS, SHIELD_HIT
from edgesim.services.endpoints import EndpointSpec, EndpointTarget
from edgesim.sim.batch import Batch, Flow, Outcome
from edgesim.sim.context import SimContext
from edgesim.sim.histogram import HistogramSet, summarise_ms
from edgesim.topology.model import EdgeLocation, LinkClass, NodeKind
from edgesim.units import ByteSize, Duration

F64 = npt.NDArray[np.float64]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]


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


class S3OriginSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    bucket: str
    region: str


class OriginSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    endpoint: str | None = Field(
        default=None,
        description="an endpoint from endpoints: (a custom origin in its region, Local Zone, "
        "Wavelength zone or Outpost)",
    )
    s3: S3OriginSpec | None = None
    url: str | None = Field(
        default=None,
        description="live mode: forward to this HTTP URL (else edge serve starts a local origin)",
    )
    connection_timeout: Duration = Field(
        default="10s", validate_default=True, description="ConnectionTimeout, 1-10 s"
    )
    connection_attempts: int = Field(default=3, ge=1, le=3, description="ConnectionAttempts")
    read_timeout: Duration = Field(
        default="30s", validate_default=True, description="OriginReadTimeout, 1-120 s"
    )

    @model_validator(mode="after")
    def _one(self) -> OriginSpec:
        if (self.endpoint is None) == (self.s3 is None):
            raise ValueError("an origin needs exactly one of endpoint or s3")
        if not 1_000_000_000 <= self.connection_timeout <= 10_000_000_000:
            raise ValueError("connection_timeout must be from 1s to 10s")
        if not 1_000_000_000 <= self.read_timeout <= 120_000_000_000:
            raise ValueError("read_timeout must be from 1s to 120s")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        return self


FailoverCode = Literal[400, 403, 404, 416, 500, 502, 503, 504]


class OriginGroupSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    primary: str = Field(description="an origin's name")
    secondary: str = Field(description="another origin's name")
    failover_on: list[FailoverCode] = Field(
        default_factory=lambda: [500, 502, 503, 504],  # type: ignore[arg-type]
        min_length=1,
        description="status codes that send the request to the secondary (plus connection "
        "failures and timeouts)",
    )


ListModeName = Literal["none", "all", "allow", "all_except"]
#: Managed cache policies' settings (cloudfront.md §1.2; CachingOptimized: MinTTL 1 s).
_MANAGED_SETTINGS: dict[str, dict[str, Any]] = {
    "CachingOptimized": {"min_ttl": "1s", "accept_encoding": ["gzip", "br"]},
    "CachingDisabled": {"min_ttl": "0s", "default_ttl": "0s", "max_ttl": "0s"},
}


def _or_managed_name(schema: dict[str, Any]) -> None:
    """The exported JSON Schema says what the loader accepts: the policy, or a managed
    policy's name as a plain string (editors would flag ``cache_policy: CachingOptimized``)."""
    policy = dict(schema)
    schema.clear()
    schema["anyOf"] = [
        {"type": "string", "enum": sorted(_MANAGED_SETTINGS), "title": "managed policy"},
        policy,
    ]


class CachePolicySpec(BaseModel):
    """A cache policy; a managed policy's name (``CachingOptimized``, ``CachingDisabled``)
    may be written instead."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_or_managed_name)
    managed: Literal["CachingOptimized", "CachingDisabled"] | None = Field(
        default=None, description="a managed policy (its settings replace the others)"
    )
    min_ttl: Duration = Field(default="0s", validate_default=True)
    default_ttl: Duration = Field(default="1d", validate_default=True)
    max_ttl: Duration = Field(default="365d", validate_default=True)
    query_strings: ListModeName = Field(default="none", description="which go in the cache key")
    query_string_names: list[str] = Field(default_factory=list)
    headers: list[str] = Field(default_factory=list, description="headers in the cache key")
    cookies: ListModeName = Field(default="none", description="which go in the cache key")
    cookie_names: list[str] = Field(default_factory=list)
    accept_encoding: list[Literal["gzip", "br"]] = Field(
        default_factory=list, description="normalised Accept-Encoding in the key"
    )

    @model_validator(mode="before")
    @classmethod
    def _by_name(cls, data: Any) -> Any:
        if isinstance(data, str):
            data = {"managed": data}
        if isinstance(data, dict) and data.get("managed") in _MANAGED_SETTINGS:
            extra = set(data) - {"managed"}
            if extra:
                raise ValueError(f"a managed policy takes no other settings ({sorted(extra)[0]})")
            return {"managed": data["managed"], **_MANAGED_SETTINGS[data["managed"]]}
        return data

    @model_validator(mode="after")
    def _order(self) -> CachePolicySpec:
        if not self.min_ttl <= self.default_ttl <= self.max_ttl:
            raise ValueError("TTLs must satisfy min_ttl <= default_ttl <= max_ttl")
        for label, mode, names in (
            ("query_strings", self.query_strings, self.query_string_names),
            ("cookies", self.cookies, self.cookie_names),
        ):
            if mode in ("allow", "all_except") and not names:
                raise ValueError(f"{label}: {mode} needs a list of names")
            if mode in ("none", "all") and names:
                raise ValueError(f"{label}: {mode} takes no names")
        return self


class OriginRequestPolicySpec(BaseModel):
    """Values forwarded to the origin without being in the cache key."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    headers: list[str] | Literal["all_viewer"] = Field(default_factory=list)
    cookies: list[str] | Literal["all"] = Field(default_factory=list)
    query_strings: list[str] | Literal["all"] = Field(default_factory=list)


class BehaviorSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    path: str = Field(description="path pattern: * any run of characters, ? one character")
    origin: str = Field(description="an origin's or origin group's name")
    cache_policy: CachePolicySpec | None = Field(
        default=None, description="a policy, a managed policy's name, or the distribution's"
    )
    origin_request_policy: OriginRequestPolicySpec | None = None
    allowed_methods: Literal["GET_HEAD", "GET_HEAD_OPTIONS", "ALL"] = "ALL"
    cache_options: bool = Field(default=False, description="cache OPTIONS responses")


class CachesSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    edge: ByteSize = Field(default="20GB", validate_default=True, description="per edge location")
    regional: ByteSize = Field(
        default="200GB", validate_default=True, description="per regional edge cache"
    )
    shield: ByteSize = Field(default="500GB", validate_default=True)
    eviction: Literal["lru", "sieve", "s3-fifo"] = "lru"


class CustomErrorResponseSpec(BaseModel):
    """A custom error response: how long errors with this status are cached."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    error_code: Literal[400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504]
    error_caching_min_ttl: Duration = Field(
        default="10s", validate_default=True, description="Error Caching Minimum TTL"
    )


class DistributionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    price_class: Literal["100", "200", "all"] = "all"
    origin_shield: str | None = Field(default=None, description="region of Origin Shield")
    origins: list[OriginSpec] = Field(min_length=1)
    origin_groups: list[OriginGroupSpec] = Field(default_factory=list)
    default_origin: str | None = Field(
        default=None, description="origin or origin group of the default behaviour"
    )
    behaviors: list[BehaviorSpec] = Field(
        default_factory=list, description="cache behaviours in precedence order"
    )
    cache_policy: CachePolicySpec = Field(
        default_factory=CachePolicySpec, description="the default behaviour's cache policy"
    )
    error_caching_min_ttl: Duration = Field(
        default="10s", validate_default=True, description="error caching minimum TTL"
    )
    custom_error_responses: list[CustomErrorResponseSpec] = Field(
        default_factory=list, description="per-status Error Caching Minimum TTLs"
    )
    collapse: bool = Field(default=True, description="request collapsing at each tier")
    invalidation_delay: Duration = Field(
        default="60s", validate_default=True, description="time an invalidation takes"
    )
    caches: CachesSpec = Field(default_factory=CachesSpec)


class CloudFrontConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    distributions: list[DistributionSpec] = Field(min_length=1)


def policy_spec(p: CachePolicySpec | None, default: CachePolicySpec) -> CachePolicySpec:
    """A behaviour's cache policy: its own or the distribution's."""
    return default if p is None else p


def cdn_policy(p: CachePolicySpec, name: str = "custom") -> cdn_ttl.CachePolicy:
    """The I/O-free :class:`~edgesim.services.cloudfront.ttl.CachePolicy` of a scenario policy."""
    return cdn_ttl.CachePolicy(
        name=name,
        min_ttl_s=p.min_ttl / 1e9,
        default_ttl_s=p.default_ttl / 1e9,
        max_ttl_s=p.max_ttl / 1e9,
        query_strings=p.query_strings,
        query_string_names=tuple(p.query_string_names),
        headers=tuple(p.headers),
        cookies=p.cookies,
        cookie_names=tuple(p.cookie_names),
        accept_encoding_gzip="gzip" in p.accept_encoding,
        accept_encoding_brotli="br" in p.accept_encoding,
    )


_METHODS = {
    "GET_HEAD": frozenset({"GET", "HEAD"}),
    "GET_HEAD_OPTIONS": frozenset({"GET", "HEAD", "OPTIONS"}),
    "ALL": frozenset({"GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"}),
}


def cdn_distribution(spec: DistributionSpec) -> cdn_pipeline.Distribution:
    """The I/O-free distribution (behaviours, policies) the live edge and the simulator share.

    Raises ``ValueError`` for what CloudFront refuses (bad or duplicate path patterns).
    """
    default_policy = policy_spec(spec.cache_policy, CachePolicySpec())

    def behavior(
        path: str,
        origin: str,
        pol: CachePolicySpec | None,
        orp: OriginRequestPolicySpec | None,
        methods: str,
        cache_options: bool,
    ) -> cdn_behaviors.CacheBehavior:
        name = (pol.managed if pol is not None else spec.cache_policy.managed) or "custom"
        request_policy = None
        if orp is not None:
            request_policy = cdn_key.OriginRequestPolicy(
                headers="all_viewer"
                if orp.headers == "all_viewer"
                else ("allow" if orp.headers else "none"),
                header_names=() if isinstance(orp.headers, str) else tuple(orp.headers),
                cookies="all" if orp.cookies == "all" else ("allow" if orp.cookies else "none"),
                cookie_names=() if isinstance(orp.cookies, str) else tuple(orp.cookies),
                query_strings="all"
                if orp.query_strings == "all"
                else ("allow" if orp.query_strings else "none"),
                query_string_names=()
                if isinstance(orp.query_strings, str)
                else tuple(orp.query_strings),
            )
        return cdn_behaviors.CacheBehavior(
            path_pattern=path,
            cache_policy=cdn_policy(policy_spec(pol, default_policy), name),
            origin_request_policy=request_policy,
            target_origin=origin,
            allowed_methods=_METHODS[methods],
            cache_options=cache_options,
        )

    default_origin = spec.default_origin or spec.origins[0].name
    table = cdn_behaviors.BehaviorTable(
        [
            behavior(
                b.path,
                b.origin,
                b.cache_policy,
                b.origin_request_policy,
                b.allowed_methods,
                b.cache_options,
            )
            for b in spec.behaviors
        ],
        behavior("*", default_origin, spec.cache_policy, None, "ALL", False),
    )
    return cdn_pipeline.Distribution(
        id=f"E{abs(hash_name(spec.name)) % 10**12:012d}",
        domain=f"d{abs(hash_name(spec.name + '.domain')) % 16**13:013x}.cloudfront.net",
        behaviors=table,
        error_caching_min_ttl_s=spec.error_caching_min_ttl / 1e9,
        error_caching_min_ttl_by_status=tuple(
            (int(c.error_code), c.error_caching_min_ttl / 1e9) for c in spec.custom_error_responses
        ),
    )


def hash_name(text: str) -> int:
    """A stable (process-independent) integer for a name."""
    import zlib

    return zlib.crc32(text.encode()) * 2654435761 % 2**48


@dataclass
class _Route:
    """How one workload's requests go through a distribution (its cache behaviour)."""

    behavior: str
    origin: int
    secondary: int
    failover: npt.NDArray[np.bool_]
    """``failover[status]``: the primary's status sends the request to the secondary."""
    cacheable: bool
    ttl_ns: int


@dataclass
class _Dim:
    """One keyed dimension of a workload's request variety: ``n`` values, value 0 being
    "absent" for a query string or cookie carried by a ``share`` of requests (values 1..n-1
    equally likely), or ``cdf`` over the values (Accept-Language)."""

    n: int
    share: float
    cdf: F64 | None
    rng: np.random.Generator

    def draw(self, count: int) -> I64:
        u = self.rng.random(count)
        if self.cdf is not None:
            out: I64 = np.minimum(np.searchsorted(self.cdf, u, side="right"), self.n - 1)
            return out.astype(np.int64)
        value = self.rng.integers(1, self.n, count) if self.n > 1 else np.zeros(count, np.int64)
        return np.where(u < self.share, value, 0).astype(np.int64)


#: The simulator's origins send this validator with every object (content does not change
#: during a run), so an expired copy is revalidated: 304, RefreshHit.
RUN_ETAG = '"edgesim-v1"'


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
        self.model = cdn_distribution(spec)
        self.origin_names = list(origins)
        self.origin_list = [origins[n] for n in self.origin_names]
        self.origin_specs = {o.name: o for o in spec.origins}
        self.groups = {g.name: g for g in spec.origin_groups}
        self.origin = self.origin_list[0]
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
        # -- request classes: one per workload, decided by the semantics (vector.class_rules)
        self.classes: list[vector.ClassRules] = []
        self.routes: list[_Route] = []
        self.key_paths: list[tuple[str, str]] = []
        """Cache key id -> (path prefix, query string) for invalidations."""
        key_ids: dict[str, int] = {}
        class_key: list[int] = []
        self.variety: list[list[_Dim]] = []
        """Per workload: the request variety that enters its cache key (cache policy)."""
        key_objects: list[int] = []
        key_variants: list[int] = []
        for w in workloads:
            prefix = str(w.path_prefix).rstrip("/")
            rh = [("ETag", RUN_ETAG)]
            if w.cache_control:
                rh.insert(0, ("Cache-Control", w.cache_control))
            rules = vector.class_rules(
                self.model,
                w.method,
                f"{prefix}/0",
                response_headers=rh,
                collapse=spec.collapse,
            )
            stored = rules.stored and w.objects is not None
            self.classes.append(replace(rules, stored=stored))
            kid = key_ids.setdefault(rules.key_text, len(key_ids)) if stored else 0
            dims = self._keyed_variety(w, prefix, ctx) if stored else []
            self.variety.append(dims)
            if stored and kid == len(self.key_paths):
                self.key_paths.append((prefix, ""))
                key_objects.append(1)
                key_variants.append(1)
            if stored:
                key_objects[kid] = max(key_objects[kid], int(w.objects.count))
                key_variants[kid] = max(key_variants[kid], math.prod(d.n for d in dims))
            class_key.append(kid)
            primary, secondary = rules.target_origin, ""
            codes: tuple[int, ...] = ()
            group = self.groups.get(rules.target_origin)
            if group is not None:
                primary, secondary, codes = group.primary, group.secondary, tuple(group.failover_on)
            self.routes.append(
                _Route(
                    behavior=rules.behavior,
                    origin=self.origin_names.index(primary),
                    secondary=self.origin_names.index(secondary) if secondary else -1,
                    failover=vector.failover_table(w.method, codes),
                    cacheable=stored,
                    ttl_ns=rules.ttl_ns if stored else 0,
                )
            )
        self.key_id = np.array(class_key, dtype=np.int64)
        # cache keys: one range per key id, (variant * objects + object) within it
        self.key_objects = np.array(key_objects or [1], dtype=np.int64)
        sizes = self.key_objects * np.array(key_variants or [1], dtype=np.int64)
        self.key_base = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
        if int(sizes.sum()) > MAX_KEY + 1:
            raise InputError(
                [
                    Problem(
                        f"distribution '{spec.name}': {int(sizes.sum()):,} distinct cache keys "
                        f"(objects × request variants the cache policy keys on); the run "
                        f"model holds at most {MAX_KEY + 1:,}",
                        path="workloads",
                        expected="fewer objects, values, sessions or languages in the key",
                    )
                ],
                file=ctx.file,
            )
        self.origin_by_workload = np.array([r.origin for r in self.routes], dtype=np.int64)
        self.collapse = np.array([c.collapse for c in self.classes], dtype=bool)
        self.cacheable = np.array([c.stored for c in self.classes], dtype=bool)
        self.ok_status = np.array([c.ok_status for c in self.classes], dtype=np.int16)
        self.chain = vector.TierChain(
            self.classes,
            (int(spec.caches.edge), int(spec.caches.regional), int(spec.caches.shield)),
            spec.caches.eviction,
        )
        self.s3_region: dict[int, str] = {}
        """Origin number -> region, for S3 origins (a REC in that region is bypassed)."""
        for i, n in enumerate(self.origin_names):
            o = self.origin_specs.get(n)
            if o is not None and o.s3 is not None:
                self.s3_region[i] = o.s3.region
        self.filling: dict[int, int] = {}
        """(edge node << 31 | key) -> when the object being fetched arrives (collapsing)."""
        self.counts = np.zeros((len(RESULTS),), dtype=np.int64)
        self.bytes_hit = 0
        self.bytes_total = 0
        self.regional_hits = 0
        self.regional_lookups = 0
        self.regional_bytes_hit = 0
        self.regional_bytes = 0
        self.shield_hits = 0
        self.shield_lookups = 0
        self.shield_bytes_hit = 0
        self.shield_bytes = 0
        self.origin_requests = 0
        self.origin_bytes = 0
        self.cacheable_requests = 0
        self.cacheable_hits = 0
        self.collapsed = 0
        self.failovers = 0
        self.stale_served = 0
        self.errors_from_cache = 0
        self.per_pop: dict[int, np.ndarray] = {}
        self.latency = HistogramSet(len(RESULTS))
        self._pending: list[tuple[I64, npt.NDArray[np.int8]]] = []

    # ---- set-up ------------------------------------------------------------------------
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

    def rec_region(self, rec: int) -> str:
        """The region a regional edge cache is in (the nearest over the backbone)."""
        key = ("cf_rec_region", rec)
        got = self.ctx._tables.get(key)
        if got is None:
            regions = [self.ctx.idx(r.key) for r in self.ctx.world.regions]
            bb = self.ctx.one_way_ms(LinkClass.BACKBONE)[rec, regions]
            got = self.ctx.node_keys[regions[int(np.argmin(bb))]].split(":", 1)[1]
            self.ctx._tables[key] = got
        return str(got)

    def entry(self, ctx: SimContext, where: I32) -> I32:
        return self._edge_for(where)

    def is_up(self, ctx: SimContext) -> bool:
        return True

    def _tier_nodes(self, ctx: SimContext, pops: I64, origin_of: I64) -> tuple[I64, I64]:
        """The regional edge cache and Origin Shield of each request (-1: none). A REC in
        an S3 origin's own region is bypassed; Origin Shield is skipped while its region is
        down, and when the request already passes that region's REC (cloudfront.md §1.1)."""
        rec = self._rec_for(pops).copy()
        for oi, region in self.s3_region.items():
            same = (origin_of == oi) & (rec >= 0)
            for r_node in np.unique(rec[same]).tolist():
                if self.rec_region(int(r_node)) == region:
                    rec[same & (rec == r_node)] = -1
        shield = np.full(len(pops), -1, dtype=np.int64)
        if self.shield >= 0 and ctx.node_keys[self.shield] not in ctx.world.down_nodes:
            shield[:] = self.shield
            for r_node in np.unique(rec[rec >= 0]).tolist():
                if self.rec_region(int(r_node)) == self.spec.origin_shield:
                    shield[rec == r_node] = -1
        return rec, shield

    # ---- serving -----------------------------------------------------------------------
    def serve(self, ctx: SimContext, batch: Batch, flow: Flow, out: Outcome) -> F64:
        n = len(flow)
        up_ms = np.zeros(n)
        if n == 0:
            return up_ms
        idx = flow.idx
        pops = flow.src.astype(np.int64)
        out.pop[idx] = flow.src
        wl = batch.workload[idx].astype(np.int64)
        t = flow.start_ns
        kid = self.key_id[wl]
        keys = self.key_base[kid] + np.maximum(batch.obj[idx], 0)
        variant = self._variants(wl)
        if variant is not None:
            keys += variant * self.key_objects[kid]
        sizes = np.maximum(batch.size[idx], 1)
        origin_of = self.origin_by_workload[wl]
        # A miss can be filled only while its origin (or its group's secondary) is up: the
        # world does not change within a chunk; a down endpoint answers 503.
        fillable = np.array([self._fillable(i) for i in range(len(self.origin_list))], dtype=bool)[
            origin_of
        ]
        rec, shield = self._tier_nodes(ctx, pops, origin_of)
        co = self.chain.serve(
            t,
            pops,
            rec,
            shield,
            wl,
            keys,
            sizes,
            fillable,
            np.full(n, 503, dtype=np.int16),
            cacheable_size=batch.size[idx] <= MAX_OBJECT_BYTES,
        )
        result = co.result
        # -- the hops up the tiers
        counted = t >= ctx.warmup_ns
        src = pops.copy()
        at_rec = np.flatnonzero((co.reached >= vector.REGIONAL) & (rec >= 0))
        if len(at_rec):
            rtt = 2 * ctx.site_one_way_ms_pairs(pops[at_rec], rec[at_rec])
            up_ms[at_rec] += rtt
            out.hop("edge→regional")[idx[at_rec]] += rtt
            src[at_rec] = rec[at_rec]
            c = counted[at_rec]
            hit = co.level[at_rec] == vector.REGIONAL
            self.regional_lookups += int(c.sum())
            self.regional_bytes += int(sizes[at_rec][c].sum())
            self.regional_hits += int((hit & c).sum())
            self.regional_bytes_hit += int(sizes[at_rec][hit & c].sum())
        at_shield = np.flatnonzero(co.reached == vector.SHIELD)
        if len(at_shield):
            rtt = 2 * ctx.site_one_way_ms_pairs(src[at_shield], shield[at_shield])
            up_ms[at_shield] += rtt
            out.hop("regional→shield")[idx[at_shield]] += rtt
            src[at_shield] = shield[at_shield]
            c = counted[at_shield]
            hit = co.level[at_shield] == vector.SHIELD
            self.shield_lookups += int(c.sum())
            self.shield_hits += int((hit & c).sum())
            self.shield_bytes += int(sizes[at_shield][c].sum())
            self.shield_bytes_hit += int(sizes[at_shield][hit & c].sum())
        # -- the origin (origin groups fail over to their secondary)
        sel = np.flatnonzero(co.fetch)
        if len(sel):
            self._fetch(ctx, batch, out, idx, sel, src, origin_of, wl, t, sizes, up_ms)
            failed = sel[~out.ok[idx[sel]] & ~co.walked[sel] & self.cacheable[wl[sel]]]
            for r in failed.tolist():  # the origin failed a single request
                self._failed(co, r, int(t[r]), pops, rec, shield, wl, keys, sizes, out, idx)
        co.settle(out.status[idx], self.ok_status[wl])
        out.ok[idx] = co.status < 400
        out.status[idx] = co.status
        held = co.walked & co.fetch & (co.status == 200)
        self.stale_served += int((held & counted).sum())
        from_cache = (result == ERROR) & ~co.fetch & (co.status != 403)
        self.errors_from_cache += int((from_cache & counted).sum())
        cacheable = self.cacheable[wl] & (result != ERROR) & (co.status != 403)
        self._collapse(ctx, batch, out, idx, pops, keys, t, wl, result, cacheable, up_ms)
        out.result[idx] = result
        self._pending.append((idx, result))
        self._count(ctx, t, pops, result, self.cacheable[wl] & (co.status != 403), sizes)
        return up_ms

    def _failed(
        self,
        co: vector.ChainOut,
        r: int,
        t: int,
        pops: I64,
        rec: I64,
        shield: I64,
        wl: I64,
        keys: I64,
        sizes: I64,
        out: Outcome,
        idx: I64,
    ) -> None:
        """An up origin failed one request that the bulk replay stored: the tiers forget
        the object and the error is answered (or a stale edge copy), as EdgePipeline does."""
        path = [
            (lv, int(node))
            for lv, node in enumerate((pops[r], rec[r], shield[r]))
            if node >= 0 and lv <= co.reached[r]
        ]
        k, size = int(keys[r]), int(sizes[r])
        for lv, node in path:
            self.chain.cache(lv, node).remove(k)
        stale = []
        if co.stale_at_edge[r]:
            self.chain.cache(vector.EDGE, path[0][1]).put(k, size, t, t)
            stale = [vector.EDGE]
        status = int(out.status[idx[r]])
        res, st, ttl, level = self.chain.fail(t, path, int(wl[r]), k, size, status, stale)
        co.result[r], co.status[r], co.ttl_ns[r], co.level[r] = res, st, ttl, level

    def _keyed_variety(self, w: Any, prefix: str, ctx: SimContext) -> list[_Dim]:
        """The variety dimensions of workload ``w`` that its cache policy puts in the key:
        decided by building the key for two values of each (``key.build_cache_key``)."""
        variety = getattr(w, "variety", None)
        if variety is None:
            return []
        path = f"{prefix}/0"
        beh = self.model.behaviors.match(path)

        def key(query: str = "", headers: tuple[tuple[str, str], ...] = ()) -> str:
            req = cdn_message.Request(w.method, path, query, cdn_message.Headers(headers))
            return cdn_key.build_cache_key(self.model.id, req, beh.cache_policy).text

        dims: list[_Dim] = []
        rng = f"cloudfront/{self.spec.name}/{w.name}"
        q = variety.tracking_query
        if q is not None and key(f"{q.name}=0") != key(f"{q.name}=1"):
            dims.append(_Dim(q.values + 1, q.share, None, ctx.rng(f"{rng}/query")))
        langs = variety.accept_language
        if langs is not None and len(langs) > 1:
            names = list(langs)
            if key(headers=(("Accept-Language", names[0]),)) != key(
                headers=(("Accept-Language", names[1]),)
            ):
                p = np.array([langs[n] for n in names], dtype=float)
                cdf = np.cumsum(p / p.sum())
                dims.append(_Dim(len(names), 1.0, cdf, ctx.rng(f"{rng}/language")))
        c = variety.session_cookie
        if c is not None and key(headers=(("Cookie", f"{c.name}=0"),)) != key(
            headers=(("Cookie", f"{c.name}=1"),)
        ):
            dims.append(_Dim(c.sessions + 1, c.share, None, ctx.rng(f"{rng}/cookie")))
        return dims

    def _variants(self, wl: I64) -> I64 | None:
        """Each request's key variant (0 without variety in the key), drawn per workload."""
        if not any(self.variety):
            return None
        out = np.zeros(len(wl), dtype=np.int64)
        for w, dims in enumerate(self.variety):
            if not dims:
                continue
            rows = np.flatnonzero(wl == w)
            if len(rows) == 0:
                continue
            v = np.zeros(len(rows), dtype=np.int64)
            for d in dims:
                v = v * d.n + d.draw(len(rows))
            out[rows] = v
        return out

    def _fillable(self, oi: int) -> bool:
        route = next((r for r in self.routes if r.origin == oi), None)
        if self.origin_list[oi].is_up(self.ctx):
            return True
        return (
            route is not None
            and route.secondary >= 0
            and (self.origin_list[route.secondary].is_up(self.ctx))
        )

    def _fetch(
        self,
        ctx: SimContext,
        batch: Batch,
        out: Outcome,
        idx: I64,
        sel: I64,
        src: I64,
        origin_of: I64,
        wl: I64,
        t: I64,
        sizes: I64,
        up_ms: F64,
    ) -> None:
        """Origin fetches; a failover to the secondary for what the group fails over on."""
        counted = t[sel] >= ctx.warmup_ns
        self.origin_requests += int(counted.sum())
        self.origin_bytes += int(sizes[sel][counted].sum())
        for oi in np.unique(origin_of[sel]).tolist():
            part = sel[origin_of[sel] == oi]
            target = self.origin_list[oi]
            down = not target.is_up(ctx)
            sub = Flow(idx[part], src[part].astype(np.int32), t[part])
            got = target.serve(ctx, batch, sub, out)
            route = self.routes[int(wl[part[0]])]
            sec = route.secondary
            if sec < 0:
                up_ms[part] += got
                continue
            status = out.status[idx[part]]
            over = ~out.ok[idx[part]] & route.failover[np.clip(status, 0, 599)]
            if down:
                # no connection: CloudFront waits ConnectionTimeout × ConnectionAttempts
                o = self.origin_specs.get(self.origin_names[oi])
                wait_ms = (o.connection_timeout * o.connection_attempts / 1e6) if o else 30_000.0
                got = np.where(over, wait_ms, got)
            up_ms[part] += got
            if not over.any():
                continue
            rows = part[over]
            self.failovers += int((t[rows] >= ctx.warmup_ns).sum())
            out.ok[idx[rows]] = True
            out.status[idx[rows]] = 200
            out.hop("origin failover")[idx[rows]] += got[over]
            sub = Flow(idx[rows], src[rows].astype(np.int32), t[rows])
            up_ms[rows] += self.origin_list[sec].serve(ctx, batch, sub, out)

    def _collapse(
        self,
        ctx: SimContext,
        batch: Batch,
        out: Outcome,
        idx: I64,
        pops: I64,
        keys: I64,
        t: I64,
        wl: I64,
        result: npt.NDArray[np.int8],
        cacheable: npt.NDArray[np.bool_],
        up_ms: F64,
    ) -> None:
        """Request collapsing (§1.5): a hit on an object still on its way from upstream waits
        for it (one origin fetch answers all; logged as Hit). Where collapsing is off, such
        requests are misses of their own and go upstream too."""
        leaders = cacheable & np.isin(result, (MISS, REFRESH_HIT, SHIELD_HIT)) & out.ok[idx]
        if not leaders.any() and not self.filling:
            return
        rows = np.flatnonzero(cacheable & (leaders | (result == HIT)))
        combined = (pops[rows] << 31) | keys[rows]
        order = np.lexsort((t[rows], combined))
        rows, combined = rows[order], combined[order]
        lead = leaders[rows]
        ready = t[rows] + (up_ms[rows] * 1e6).astype(np.int64)
        # the latest leader so far in the same (edge, key) group, for every row
        last = np.maximum.accumulate(np.where(lead, np.arange(len(rows)), -1))
        same = (last >= 0) & (combined[np.maximum(last, 0)] == combined) & ~lead
        until = np.where(same, ready[np.maximum(last, 0)], 0)
        if self.filling:  # objects still on their way at the end of the previous chunk
            carried = ~same & ~lead
            for i in np.flatnonzero(carried).tolist():
                until[i] = self.filling.get(int(combined[i]), 0)
        wait = until - t[rows]
        follower = ~lead & (wait > 0)
        end = ctx.chunk_start_ns + ctx.chunk_ns
        self.filling = {c: u for c, u in self.filling.items() if u > end}
        late = lead & (ready > end)
        for c, u in zip(combined[late].tolist(), ready[late].tolist(), strict=True):
            self.filling[c] = max(u, self.filling.get(c, 0))
        if not follower.any():
            return
        w_rows = rows[follower]
        w_ms = wait[follower] / 1e6
        solo = ~self.collapse[wl[w_rows]]
        joined = w_rows[~solo]
        if len(joined):
            up_ms[joined] += w_ms[~solo]
            out.hop("collapsed wait")[idx[joined]] += w_ms[~solo]
            self.collapsed += int((t[joined] >= ctx.warmup_ns).sum())
        lone = w_rows[solo]
        if len(lone):  # no collapsing: each goes to the origin itself
            result[lone] = MISS
            src = pops.copy()
            self._fetch(
                ctx,
                batch,
                out,
                idx,
                lone,
                src,
                self.origin_by_workload[wl],
                wl,
                t,
                np.maximum(batch.size[idx], 1),
                up_ms,
            )
            result[lone[~out.ok[idx[lone]]]] = ERROR

    def _count(
        self,
        ctx: SimContext,
        t: I64,
        pops: I64,
        result: npt.NDArray[np.int8],
        cacheable: npt.NDArray[np.bool_],
        sizes: I64,
    ) -> None:
        counted = t >= ctx.warmup_ns  # the warm-up fills caches but is not reported
        res_c, pops_c = result[counted], pops[counted]
        self.counts += np.bincount(res_c, minlength=len(RESULTS))
        cacheable_ok = counted & cacheable & (result != ERROR)
        hits = cacheable_ok & np.isin(result, (HIT, REFRESH_HIT))
        self.bytes_hit += int(sizes[hits].sum())
        self.bytes_total += int(sizes[cacheable_ok].sum())
        self.cacheable_requests += int(cacheable_ok.sum())
        self.cacheable_hits += int((cacheable_ok & (result == HIT)).sum())
        if len(pops_c):
            uniq, inv = np.unique(pops_c, return_inverse=True)
            k = len(RESULTS)
            table = np.bincount(inv * k + res_c, minlength=len(uniq) * k).reshape(-1, k)
            for pop, row in zip(uniq.tolist(), table, strict=True):
                got = self.per_pop.get(pop)
                if got is None:
                    self.per_pop[pop] = row.astype(np.int64)
                else:
                    got += row

    def observe(self, batch: Batch, out: Outcome, total_ms: F64) -> None:
        """Record each served request's total latency by result type (after the engine adds
        the user's side)."""
        for idx, result in self._pending:
            keep = batch.t_ns[idx] >= self.ctx.warmup_ns
            lat_us = np.rint(total_ms[idx[keep]] * 1000.0).astype(np.int64)
            self.latency.record(result[keep].astype(np.int64), lat_us)
        self._pending.clear()

    def invalidate(self, paths: list[str]) -> int:
        """Remove the objects ``paths`` cover from every tier (invalidation.matches_any)."""
        ps = tuple(paths)

        def pred(key: int) -> bool:
            kid = int(np.searchsorted(self.key_base, key, side="right")) - 1
            prefix, query = self.key_paths[kid]
            obj = (key - int(self.key_base[kid])) % int(self.key_objects[kid])
            return cdn_invalidation.matches_any(ps, f"{prefix}/{obj}", query)

        return self.chain.invalidate(pred)

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

        def ratio(a: int, b: int) -> float:
            return round(a / b, 6) if b else 0.0

        counts = self.latency.counts
        by_result = {
            RESULTS[i]: summarise_ms(counts[i]) for i in range(1, len(RESULTS)) if counts[i].sum()
        }
        return {
            "requests": total,
            "results": {RESULTS[i]: int(self.counts[i]) for i in range(1, len(RESULTS))},
            "hit_ratio": round(self.hit_ratio("edge"), 6),
            "byte_hit_ratio": ratio(self.bytes_hit, self.bytes_total),
            "regional_hit_ratio": round(self.hit_ratio("regional"), 6),
            "regional_byte_hit_ratio": ratio(self.regional_bytes_hit, self.regional_bytes),
            "shield_hit_ratio": round(self.hit_ratio("shield"), 6),
            "shield_byte_hit_ratio": ratio(self.shield_bytes_hit, self.shield_bytes),
            "origin_requests": self.origin_requests,
            "origin_bytes": self.origin_bytes,
            "origin_offload": round(1 - self.origin_requests / total, 6) if total else 0.0,
            "collapsed": self.collapsed,
            "origin_failovers": self.failovers,
            "stale_served": self.stale_served,
            "errors_from_cache": self.errors_from_cache,
            "latency_ms_by_result": by_result,
            "behaviors": {
                w.name: {
                    "behavior": r.behavior,
                    "cacheable": r.cacheable,
                    "ttl_s": r.ttl_ns / 1e9,
                }
                for w, r in zip(self.ctx.workloads, self.routes, strict=True)
            },
            "pops": {
                self.ctx.node_keys[p].split(":", 1)[1]: {
                    "requests": int(row[1:].sum()),
                    "hit_ratio": round(row[HIT] / row[1:].sum(), 6) if row[1:].sum() else 0.0,
                    "results": {RESULTS[i]: int(row[i]) for i in range(1, len(RESULTS)) if row[i]},
                }
                for p, row in sorted(self.per_pop.items())
            },
        }


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
        self._due: dict[str, dict[str, Any]] = {}
        """Invalidation id -> its report entry, until it completes."""
        self._trackers: dict[str, cdn_invalidation.InvalidationTracker] = {}
        problems: list[Problem] = []
        workloads = list(getattr(ctx, "workloads", []))
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
            names = set(origins) | {g.name for g in d.origin_groups}
            for j, g in enumerate(d.origin_groups):
                gw = f"{where}.origin_groups[{j}]"
                if g.name in origins or [x.name for x in d.origin_groups].count(g.name) > 1:
                    problems.append(
                        Problem(f"origin group name '{g.name}' is already used", path=f"{gw}.name")
                    )
                for role in ("primary", "secondary"):
                    if getattr(g, role) not in origins:
                        problems.append(
                            Problem(
                                f"no origin named '{getattr(g, role)}'",
                                path=f"{gw}.{role}",
                                expected="one of: " + ", ".join(sorted(origins)),
                            )
                        )
                if g.primary == g.secondary:
                    problems.append(Problem("an origin group needs two different origins", path=gw))
            if d.default_origin is not None and d.default_origin not in names:
                problems.append(
                    Problem(
                        f"no origin or origin group named '{d.default_origin}'",
                        path=f"{where}.default_origin",
                        expected="one of: " + ", ".join(sorted(names)),
                    )
                )
            for j, b in enumerate(d.behaviors):
                if b.origin not in names:
                    problems.append(
                        Problem(
                            f"no origin or origin group named '{b.origin}'",
                            path=f"{where}.behaviors[{j}].origin",
                            expected="one of: " + ", ".join(sorted(names)),
                        )
                    )
            patterns = [b.path for b in d.behaviors]
            try:
                for j, i in cdn_behaviors.shadowing(patterns):
                    problems.append(
                        Problem(
                            f"path pattern '{patterns[j]}' can never match: the earlier "
                            f"behaviour '{patterns[i]}' matches every path it matches",
                            path=f"{where}.behaviors[{j}].path",
                            expected="more specific patterns before more general ones",
                        )
                    )
            except ValueError:
                pass  # a bad pattern: reported below
            if not problems:
                try:
                    cdn_distribution(d)
                except ValueError as exc:
                    problems.append(Problem(str(exc), path=f"{where}.behaviors"))
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
        try:
            cdn_invalidation.validate_paths(paths)
        except cdn_invalidation.InvalidationError as exc:
            return str(exc)
        return None

    def on_event(self, action: str, payload: Any, at_ns: int) -> None:
        if action != "invalidate":
            return
        name = payload.get("distribution") if isinstance(payload, dict) else str(payload)
        paths = payload.get("paths", ["/*"]) if isinstance(payload, dict) else ["/*"]
        dist = self.dists.get(str(name))
        if dist is None:
            return
        entry: dict[str, Any] = {
            "at_s": at_ns / 1e9,
            "distribution": dist.spec.name,
            "paths": [str(p) for p in paths],
            "completed_at_s": None,
            "objects_removed": 0,
        }
        self.invalidations.append(entry)
        tracker = self._trackers.get(dist.spec.name)
        if tracker is None:
            tracker = self._trackers[dist.spec.name] = cdn_invalidation.InvalidationTracker(
                dist.spec.invalidation_delay / 1e9
            )
        try:  # CloudFront's in-progress limits (3,000 file paths, 15 wildcards)
            inv = tracker.create(dist.model.id, entry["paths"], at_ns / 1e9)
        except cdn_invalidation.InvalidationError as exc:
            entry["refused"] = str(exc)
            return
        self._due[inv.id] = entry
        self._run_due(at_ns)

    def _run_due(self, now_ns: int) -> None:
        """Invalidations take effect when they complete (``invalidation_delay`` after the
        request; applied at the first chunk boundary at or after that moment)."""
        for name, tracker in self._trackers.items():
            for inv in tracker.pop_due(now_ns / 1e9):
                entry = self._due.pop(inv.id)
                entry["objects_removed"] = self.dists[name].invalidate(list(inv.paths))
                entry["completed_at_s"] = max(inv.completes_s, now_ns / 1e9)

    def observe(self, batch: Batch, out: Outcome, total_ms: F64) -> None:
        for d in self.dists.values():
            d.observe(batch, out, total_ms)

    def fail(self, what: str, up: bool, at_ns: int) -> bool:
        return False

    def tick(self, now_ns: int) -> None:
        for origin in self.s3_origins:
            origin.end_chunk(self.ctx)
        if self._due:
            self._run_due(now_ns)

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
__all__ = ["RESULTS", "CloudFront", "Distribution", "EdgeLocation", "NodeKind"]
