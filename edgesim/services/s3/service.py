"""S3 buckets in scenarios, direct and through S3 Transfer Acceleration.

The ``s3:`` section lists buckets (name, region, ``transfer_acceleration``). Each bucket offers
the target ``s3:NAME`` (the regional endpoint: users connect to the region over the internet)
and, when acceleration is on, ``s3-accelerate:NAME`` (``NAME.s3-accelerate.amazonaws.com``:
users connect to the nearest edge location, which relays over the AWS backbone). A workload's
``upload_size`` (and ``size``, for downloads) to these targets is moved by the model of
:mod:`edgesim.services.s3.model` (multipart in parallel parts, split TCP through the edge, the
bypass rule) instead of the engine's single-stream transfer, through the engine hook
``Target.user_transfer_ms``; see ``docs/s3-transfer-acceleration.md``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from edgesim.errors import InputError, Problem
from edgesim.latency.params import ACCESS_KINDS
from edgesim.latency.paths import NoPath
from edgesim.latency.query import route
from edgesim.services.base import Service, Target
from edgesim.services.s3 import model as s3ta
from edgesim.sim.batch import Batch, Flow, Outcome
from edgesim.sim.context import SimContext
from edgesim.sim.distributions import DurationDist
from edgesim.topology.model import LinkClass, NodeKind
from edgesim.units import ByteSize, Fraction

F64 = npt.NDArray[np.float64]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]

SIZE_BUCKETS_PER_OCTAVE = 4
"""Bypass decisions are tabulated per quarter octave of object size."""
N_SIZE_BUCKETS = 44 * SIZE_BUCKETS_PER_OCTAVE  # up to 2^44 B = 16 TiB > S3's 5 TiB


class BucketSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=255, description="bucket name")
    region: str = Field(description="region the bucket lives in, e.g. ap-southeast-2")
    transfer_acceleration: bool = Field(
        default=False, description="offer the s3-accelerate:NAME target"
    )


class S3Config(BaseModel):
    """The ``s3:`` section: buckets and how clients transfer objects."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    buckets: list[BucketSpec] = Field(min_length=1)
    part_size: ByteSize = Field(
        default=s3ta.DEFAULT_PART_SIZE,
        description="multipart part size (AWS CLI / boto3 default 8 MiB); objects of at most "
        "one part go in a single request",
    )
    parallel: int = Field(
        default=s3ta.DEFAULT_PARALLEL, ge=1, le=1000, description="parts in flight at once"
    )
    bypass_margin: Fraction = Field(
        default=s3ta.DEFAULT_BYPASS_MARGIN,
        description="an accelerated upload must save this share of the direct time, else it "
        "is bypassed (direct time, no charge)",
    )
    service_time: DurationDist = Field(
        default="fixed(20ms)",
        validate_default=True,
        description="S3's own time per transfer (request handling, part assembly)",
    )


class _Stats:
    def __init__(self) -> None:
        self.requests = 0
        self.uploads = 0
        self.accelerated = 0
        self.bypassed = 0
        self.bytes_up = 0
        self.bytes_down = 0


class BucketTarget(Target):
    """``s3:NAME`` (``accelerate=False``) or ``s3-accelerate:NAME``."""

    def __init__(self, svc: S3, spec: BucketSpec, region: str, *, accelerate: bool) -> None:
        ctx = svc.ctx
        self.svc = svc
        self.spec = spec
        self.accelerate = accelerate
        self.key = f"{'s3-accelerate' if accelerate else 's3'}:{spec.name}"
        self.region_key = region
        self.region = ctx.idx(region)
        self.rng = ctx.rng(self.key)
        self.stats = _Stats()
        self._pending: tuple[I64, F64] | None = None

    # ---- where users connect -----------------------------------------------------------
    def entry(self, ctx: SimContext, where: I32) -> I32:
        if not self.accelerate:
            return np.full(len(where), self.region, dtype=np.int32)
        return self.svc.nearest_edge(where)

    def is_up(self, ctx: SimContext) -> bool:
        return self.region_key not in ctx.world.down_nodes

    # ---- the engine hook: the user's side of the transfer ------------------------------
    def user_transfer_ms(
        self,
        ctx: SimContext,
        batch: Batch,
        flow: Flow,
        rtt_ms: F64,
        loss: F64,
        up_bytes_per_s: F64,
        down_bytes_per_s: F64,
    ) -> tuple[F64, F64]:
        """Upload time (beyond the engine's one round trip to the entry node) and download
        body time per request, by :mod:`edgesim.services.s3.model`. ``loss`` (the engine's user-path
        rule) is not used: the model takes the latency model's per-hop path loss, as the
        ``s3ta compare`` command does. For accelerated uploads the backbone's share is kept
        for :meth:`serve`."""
        cfg = self.svc.cfg
        idx = flow.idx
        n = len(idx)
        up = batch.upload[idx].astype(np.float64)
        down = batch.size[idx].astype(np.float64)
        a = batch.access[idx].astype(np.int64)
        g = ctx.group_node()[batch.group[idx]].astype(np.int64)
        ent = flow.src.astype(np.int64)
        acc_loss = self.svc.access_loss[a]
        user_loss = 1.0 - (1.0 - self.svc.wan_loss(g, ent)) * (1.0 - acc_loss)
        kw: dict[str, Any] = {"part_size": cfg.part_size, "parallel": cfg.parallel}
        backbone = np.zeros(n)
        has_up = up > 0
        has_down = down > 0
        if not self.accelerate:
            up_ms = s3ta.upload_ms(up, rtt_ms, up_bytes_per_s, user_loss, **kw)
            down_ms = s3ta.upload_ms(down, rtt_ms, down_bytes_per_s, user_loss, **kw)
        else:
            region = np.full(n, self.region, dtype=np.int64)
            bb_rtt = 2.0 * ctx.site_one_way_ms(ent.astype(np.int32), self.region)
            bb_loss = self.svc.backbone_loss(ent, self.region)
            split = {"backbone_rtt_ms": bb_rtt, "backbone_loss": bb_loss, **kw}
            up_user = s3ta.upload_ms(up, rtt_ms, up_bytes_per_s, user_loss, **kw)
            up_total = s3ta.upload_ms(up, rtt_ms, up_bytes_per_s, user_loss, **split)
            down_user = s3ta.upload_ms(down, rtt_ms, down_bytes_per_s, user_loss, **kw)
            down_total = s3ta.upload_ms(down, rtt_ms, down_bytes_per_s, user_loss, **split)
            bypass = has_up & self.svc.bypass(g, ent, self.region, a, up)
            up_ms = up_user
            backbone = np.where(has_up, up_total - up_user, 0.0)
            if bypass.any():
                # Bypassed: the upload takes the direct path's time (same jitter draw).
                p = ctx.world.params
                wan = 2.0 * ctx.client_one_way_ms(
                    g[bypass].astype(np.int32), region[bypass].astype(np.int32)
                )
                aa = a[bypass]
                rtt_d = (
                    wan
                    + self.svc.access_rtt[aa]
                    + batch.jitter[idx[bypass]]
                    * (self.svc.access_jitter[aa] + p.path_jitter_fraction * wan)
                )
                d_loss = 1.0 - (1.0 - self.svc.wan_loss(g[bypass], region[bypass])) * (
                    1.0 - acc_loss[bypass]
                )
                direct = s3ta.upload_ms(up[bypass], rtt_d, up_bytes_per_s[bypass], d_loss, **kw)
                # The engine already counts one round trip to the edge (its "wait" phase).
                up_ms = up_ms.copy()
                up_ms[bypass] = np.maximum(direct, rtt_ms[bypass])
                backbone[bypass] = 0.0
            # Downloads have no documented bypass: always through the edge.
            backbone = backbone + np.where(has_down, down_total - down_user, 0.0)
            down_ms = down_user
            counted = flow.start_ns >= ctx.warmup_ns
            self.stats.accelerated += int((has_up & ~bypass & counted).sum())
            self.stats.bypassed += int((bypass & counted).sum())
        self._pending = (idx, backbone)
        counted = flow.start_ns >= ctx.warmup_ns
        self.stats.uploads += int((has_up & counted).sum())
        self.stats.bytes_up += int(up[counted].sum())
        self.stats.bytes_down += int(down[counted].sum())
        # The engine adds one round trip to the entry node (request up, first byte down) to
        # the wait phase; the model's single request counts it too.
        upload = np.where(has_up, np.maximum(up_ms - rtt_ms, 0.0), 0.0)
        body = np.where(has_down, np.maximum(down_ms - rtt_ms, 0.0), 0.0)
        return upload, body

    # ---- beyond the entry node -----------------------------------------------------------
    def serve(self, ctx: SimContext, batch: Batch, flow: Flow, out: Outcome) -> F64:
        n = len(flow)
        if n == 0:
            return np.zeros(0)
        counted = flow.start_ns >= ctx.warmup_ns
        self.stats.requests += int(counted.sum())
        name = self.spec.name
        if not self.is_up(ctx):
            out.fail(flow.idx, 503)
            return np.zeros(n)
        service = self.svc.cfg.service_time.sample(self.rng, n) / 1e6
        backbone = np.zeros(n)
        pending = self._pending
        if pending is not None and len(pending[0]) == n and np.array_equal(pending[0], flow.idx):
            backbone = pending[1]
        self._pending = None
        if self.accelerate:
            out.pop[flow.idx] = flow.src
            out.hop("edge→S3 (backbone)")[flow.idx] += backbone
        out.hop(f"s3-{name} (service)")[flow.idx] += service
        out.site[flow.idx] = self.region
        total: F64 = backbone + service
        return total


class S3(Service):
    section: ClassVar[str] = "s3"
    summary: ClassVar[str] = (
        "S3 buckets: uploads and downloads direct or with Transfer Acceleration"
    )
    config_model: ClassVar[type[BaseModel]] = S3Config
    order: ClassVar[int] = 15
    assertion_kinds: ClassVar[dict[str, str]] = {"s3ta_bypass_ratio": "ratio"}

    def __init__(self, config: BaseModel, ctx: SimContext) -> None:
        super().__init__(config, ctx)
        assert isinstance(config, S3Config)
        self.cfg = config
        p = ctx.world.params
        self.access_loss = np.array([p.access[k].loss for k in ACCESS_KINDS])
        self.access_rtt = np.array([p.access[k].rtt_ms for k in ACCESS_KINDS])
        self.access_jitter = np.array([p.access[k].jitter_mean_ms for k in ACCESS_KINDS])
        self.access_up = np.array([p.access[k].up_mbps for k in ACCESS_KINDS]) * 125_000.0
        self.items: dict[str, BucketTarget] = {}
        self.buckets: dict[str, BucketSpec] = {}
        edges = [n for n in ctx.world.edge_locations if n.tier == "edge"]
        self.pops = np.array([ctx.idx(n.key) for n in edges], dtype=np.int64)
        self._cache: dict[Any, Any] = {}
        problems = self._build(config, ctx)
        problems += self._check_workloads(ctx)
        if problems:
            raise InputError(problems, file=ctx.file)

    def _build(self, config: S3Config, ctx: SimContext) -> list[Problem]:
        problems: list[Problem] = []
        for i, spec in enumerate(config.buckets):
            where = f"s3.buckets[{i}]"
            if spec.name in self.buckets:
                problems.append(
                    Problem(
                        f"duplicate bucket name '{spec.name}'",
                        path=f"{where}.name",
                        expected="unique names",
                    )
                )
                continue
            if spec.transfer_acceleration:
                why = s3ta.bucket_name_problem(spec.name)
                if why is not None:
                    problems.append(
                        Problem(
                            why,
                            path=f"{where}.name",
                            expected="a name without dots, e.g. "
                            + spec.name.replace(".", "-").lower()
                            + ", or transfer_acceleration: false",
                        )
                    )
                    continue
            key = f"region:{spec.region.removeprefix('region:')}"
            if key not in ctx.world.nodes or ctx.world.nodes[key].kind != NodeKind.REGION:
                problems.append(
                    Problem(
                        f"no region '{spec.region}' in world '{ctx.world.name}'",
                        path=f"{where}.region",
                        expected="a region id, e.g. ap-southeast-2",
                    )
                )
                continue
            self.buckets[spec.name] = spec
            self.items[f"s3:{spec.name}"] = BucketTarget(self, spec, key, accelerate=False)
            if spec.transfer_acceleration:
                self.items[f"s3-accelerate:{spec.name}"] = BucketTarget(
                    self, spec, key, accelerate=True
                )
        return problems

    def _check_workloads(self, ctx: SimContext) -> list[Problem]:
        problems = []
        for i, w in enumerate(ctx.workloads):
            target = getattr(w, "target", None)
            if not isinstance(target, str) or not target.startswith("s3-accelerate:"):
                continue
            name = target.split(":", 1)[1]
            spec = self.buckets.get(name)
            if spec is not None and not spec.transfer_acceleration:
                problems.append(
                    Problem(
                        f"bucket '{name}' does not have Transfer Acceleration enabled",
                        path=f"workloads[{i}].target",
                        expected=f"s3:{name}, or transfer_acceleration: true on the bucket",
                    )
                )
        return problems

    def targets(self) -> dict[str, Target]:
        return dict(self.items)

    # ---- tables --------------------------------------------------------------------------
    def nearest_edge(self, where: I32) -> I32:
        """The edge-tier location with the lowest internet latency from each node (what the
        accelerate endpoint's DNS answers), among those up."""
        ctx = self.ctx
        key = ("s3_edge", ctx.world.version)
        table = self._cache.get(key)
        if table is None:
            one_way = ctx.one_way_ms(LinkClass.INTERNET)
            up = np.array([ctx.node_keys[p] not in ctx.world.down_nodes for p in self.pops])
            d = one_way[:, self.pops].copy()
            d[:, ~up] = np.inf
            table = self.pops[d.argmin(axis=1)].astype(np.int32)
            self._cache = {k: v for k, v in self._cache.items() if k[-1] == ctx.world.version}
            self._cache[key] = table
        out: I32 = table[np.asarray(where, dtype=np.int64)]
        return out

    def _pair_table(self, kind: str, src: I64, dst: I64, fn: Any) -> F64:
        """A per-(src, dst) value from ``fn(src_key, dst_key)``, cached per world version."""
        ctx = self.ctx
        n_nodes = len(ctx.node_keys)
        codes = src * n_nodes + dst
        uniq, inverse = np.unique(codes, return_inverse=True)
        vals = np.empty(len(uniq))
        version = ctx.world.version
        for i, code in enumerate(uniq.tolist()):
            key = (kind, code, version)
            v = self._cache.get(key)
            if v is None:
                s, d = divmod(code, n_nodes)
                v = fn(ctx.node_keys[s], ctx.node_keys[d])
                self._cache[key] = v
            vals[i] = v
        out: F64 = vals[inverse.ravel()]
        return out

    def wan_loss(self, users: I64, dst: I64) -> F64:
        """Loss of the wide-area part of each user's internet path (last mile excluded):
        ``1 − Π(1 − loss of each hop)``, degraded links included."""
        world = self.ctx.world

        def one(u: str, d: str) -> float:
            try:
                res = route(world, u, d, via="internet")
            except NoPath:
                return 0.0
            node = world.nodes[u]
            acc = world.params.access_profile(str(getattr(node, "access", "fibre"))).loss
            return 1.0 - (1.0 - res.loss) / (1.0 - acc) if acc < 1.0 else 0.0

        return self._pair_table("wan_loss", users, dst, one)

    def backbone_loss(self, edges: I64, region: int) -> F64:
        """Loss of each edge location's backbone path to ``region``."""
        world = self.ctx.world

        def one(e: str, r: str) -> float:
            try:
                return float(route(world, e, r, via="backbone").loss)
            except NoPath:
                return 0.0

        return self._pair_table("bb_loss", edges, np.full(len(edges), region), one)

    def bypass(self, users: I64, edges: I64, region: int, access: I64, size: F64) -> Bool:
        """Whether S3TA bypasses each upload: looked up in a table per (user node, edge
        location, access kind) × quarter octave of size, computed once per world state from
        the model without jitter (AWS decides before the upload starts)."""
        ctx = self.ctx
        version = ctx.world.version
        n_nodes = len(ctx.node_keys)
        codes = (users * n_nodes + edges) * len(ACCESS_KINDS) + access
        uniq, inverse = np.unique(codes, return_inverse=True)
        rows = np.empty((len(uniq), N_SIZE_BUCKETS), dtype=bool)
        missing = []
        for i, code in enumerate(uniq.tolist()):
            row = self._cache.get(("bypass", region, code, version))
            if row is None:
                missing.append(i)
            else:
                rows[i] = row
        if missing:
            m = np.array(missing)
            code = uniq[m]
            a = code % len(ACCESS_KINDS)
            ue = code // len(ACCESS_KINDS)
            u, e = ue // n_nodes, ue % n_nodes
            r = np.full(len(m), region, dtype=np.int64)
            acc = self.access_loss[a]
            d_wan = 2.0 * ctx.client_one_way_ms(u.astype(np.int32), r.astype(np.int32))
            e_wan = 2.0 * ctx.client_one_way_ms(u.astype(np.int32), e.astype(np.int32))
            paths = s3ta.PathInputs(
                direct_rtt_ms=(d_wan + self.access_rtt[a])[:, None],
                direct_loss=(1.0 - (1.0 - self.wan_loss(u, r)) * (1.0 - acc))[:, None],
                edge_rtt_ms=(e_wan + self.access_rtt[a])[:, None],
                edge_loss=(1.0 - (1.0 - self.wan_loss(u, e)) * (1.0 - acc))[:, None],
                backbone_rtt_ms=(2.0 * ctx.site_one_way_ms(e.astype(np.int32), region))[:, None],
                backbone_loss=self.backbone_loss(e, region)[:, None],
            )
            sizes = np.exp2(np.arange(N_SIZE_BUCKETS) / SIZE_BUCKETS_PER_OCTAVE)[None, :]
            cmp = s3ta.compare(
                sizes,
                paths,
                self.access_up[a][:, None],
                part_size=self.cfg.part_size,
                parallel=self.cfg.parallel,
                bypass_margin=self.cfg.bypass_margin,
            )
            for j, i in enumerate(missing):
                rows[i] = cmp.bypass[j]
                self._cache[("bypass", region, int(uniq[i]), version)] = cmp.bypass[j]
        b = np.rint(np.log2(np.maximum(size, 1.0)) * SIZE_BUCKETS_PER_OCTAVE).astype(np.int64)
        b = np.clip(b, 0, N_SIZE_BUCKETS - 1)
        out: Bool = rows[inverse.ravel(), b]
        return out

    # ---- reporting -----------------------------------------------------------------------
    def report(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, spec in sorted(self.buckets.items()):
            direct = self.items[f"s3:{name}"].stats
            block: dict[str, Any] = {
                "region": spec.region.removeprefix("region:"),
                "transfer_acceleration": spec.transfer_acceleration,
                "direct": {
                    "requests": direct.requests,
                    "uploads": direct.uploads,
                    "bytes_up": direct.bytes_up,
                    "bytes_down": direct.bytes_down,
                },
            }
            acc = self.items.get(f"s3-accelerate:{name}")
            if acc is not None:
                s = acc.stats
                block["accelerate"] = {
                    "requests": s.requests,
                    "uploads": s.uploads,
                    "accelerated_uploads": s.accelerated,
                    "bypassed_uploads": s.bypassed,
                    "bypass_ratio": round(s.bypassed / s.uploads, 6) if s.uploads else 0.0,
                    "bytes_up": s.bytes_up,
                    "bytes_down": s.bytes_down,
                }
            out[name] = block
        return out

    def assertion_metrics(self) -> dict[str, Any]:
        def s3ta_bypass_ratio(bucket: str) -> float:
            t = self.items.get(f"s3-accelerate:{bucket}")
            if t is None:
                raise KeyError(f"no bucket '{bucket}' with Transfer Acceleration")
            s = t.stats
            return s.bypassed / s.uploads if s.uploads else 0.0

        return {"s3ta_bypass_ratio": s3ta_bypass_ratio}


SERVICES = (S3,)
