"""Global Accelerator in scenario runs: the ``accelerators:`` section, targets ``accelerator:NAME``.

Users reach an accelerator's static anycast addresses at the edge location nearest them over
the public internet; TCP ends there (the handshake costs the user↔edge round trip), and the
request crosses the AWS backbone to an endpoint chosen by :mod:`edgesim.services.accelerator.model`
(traffic dials, weights, health, failover, fail-open), whose queueing and errors apply as for
any caller. TLS is not terminated at the edge: each TLS round trip also crosses edge↔endpoint.
The report compares every client group's latency with the public-internet path to the same
endpoint. Model, choices and deviations: ``docs/global-accelerator.md``.
"""

from __future__ import annotations

import ipaddress
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, RootModel

from edgesim.errors import InputError, Problem
from edgesim.latency.params import ACCESS_KINDS
from edgesim.route53.health import EndpointCheck
from edgesim.services.accelerator import model as ga
from edgesim.services.base import Service, Target
from edgesim.services.endpoints import EndpointTarget
from edgesim.sim.batch import Batch, Flow, Outcome
from edgesim.sim.context import SimContext
from edgesim.sim.histogram import HistogramSet, bucket_index, summarise_ms
from edgesim.topology.model import LinkClass, NodeKind
from edgesim.transfer import transfer_ms

F64 = npt.NDArray[np.float64]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]

TCP_INITIAL_RTO_MS = 1000.0  # as the engine (RFC 6298)
TLS_RTTS = {"1.3": 1.0, "1.2": 2.0, "none": 0.0}
NO_LISTENER_STATUS = 503
TLS_HOP = "accelerator TLS (edge↔endpoint)"
WHY = (
    "Through the accelerator a user's packets cross the public internet only to the nearest "
    "edge location, then the AWS backbone; without it they cross the internet all the way. "
    "In the latency model internet corridors are {irf:g}× longer than backbone ones with "
    "{ih:g} ms per hop against {bh:g} ms (docs/latency-model.md), so the long-haul part of "
    "the round trip shrinks; and because TCP ends at the edge, the handshake and slow start "
    "(and the loss-limited rate) run on the short user↔edge round trip. TLS and the request "
    "itself still cross the whole path. Gains grow with distance and vanish for users near "
    "the endpoint's Region, where the detour through an edge location can even cost a little."
)


# ---- configuration ------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class HealthCheckSpec(_Strict):
    interval: Literal["10s", "30s"] = Field(default="30s", description="10s or 30s")
    threshold: int = Field(
        default=3, ge=1, le=10, description="consecutive results to change status (1–10)"
    )
    protocol: Literal["TCP", "HTTP", "HTTPS"] = "TCP"


class GroupEndpointSpec(_Strict):
    endpoint: str = Field(description="endpoint:NAME of the endpoints: section")
    weight: int = Field(default=128, ge=0, le=255, description="0–255, share = w / Σw")


class EndpointGroupSpec(_Strict):
    region: str = Field(description="the Region of this group and all its endpoints")
    traffic_dial: float = Field(
        default=100.0, ge=0, le=100, allow_inf_nan=False, description="percent, 0–100"
    )
    health_check: HealthCheckSpec = Field(default_factory=HealthCheckSpec)
    endpoints: list[GroupEndpointSpec] = Field(min_length=1)


def _default_ports() -> list[int | str]:
    return [80, 443]


class ListenerSpec(_Strict):
    protocol: Literal["TCP", "UDP"] = "TCP"
    port_ranges: list[int | str] = Field(
        default_factory=_default_ports, min_length=1, description="ports: 443 or '8000-8100'"
    )
    client_affinity: Literal["NONE", "SOURCE_IP"] = "NONE"
    endpoint_groups: list[EndpointGroupSpec] = Field(min_length=1)


class AcceleratorSpec(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    ip_addresses: list[str] | None = Field(
        default=None, description="two static IPv4 addresses (default: from 198.18.0.0/15)"
    )
    listeners: list[ListenerSpec] = Field(min_length=1)


class AcceleratorsConfig(RootModel[list[AcceleratorSpec]]):
    """The ``accelerators:`` section: a list of standard accelerators."""


# ---- the target ---------------------------------------------------------------------------


def _port_range(raw: int | str) -> ga.PortRange | None:
    if isinstance(raw, int):
        return ga.PortRange(raw, raw)
    parts = raw.replace(" ", "").split("-")
    try:
        nums = [int(p) for p in parts]
    except ValueError:
        return None
    if len(nums) == 1:
        return ga.PortRange(nums[0], nums[0])
    if len(nums) == 2:
        return ga.PortRange(nums[0], nums[1])
    return None


def _ipv4_int(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


def _subnet_base(cidr: str) -> int:
    """A group's users' first address as 32 bits (IPv6 subnets folded to 32 bits)."""
    net = ipaddress.ip_network(cidr, strict=False)
    v = int(net.network_address)
    while v >> 32:
        v = (v & 0xFFFFFFFF) ^ (v >> 32)
    return v


class _ListenerState:
    """One listener's groups, live settings, health checks and routing tables."""

    def __init__(self, spec: ga.Listener, targets: list[list[EndpointTarget]]) -> None:
        self.spec = spec
        self.targets = targets
        self.dials = [g.traffic_dial for g in spec.groups]
        self.weights = [[e.weight for e in g.endpoints] for g in spec.groups]
        self.checks: list[list[EndpointCheck]] = []
        self.offset = np.cumsum([0] + [len(t) for t in targets])[:-1].astype(np.int64)
        self.flat: list[tuple[int, int]] = [
            (gi, ei) for gi, ts in enumerate(targets) for ei in range(len(ts))
        ]
        self.flat_site = np.array([targets[g][e].site for g, e in self.flat], dtype=np.int64)
        self.tables: ga.RoutingTables | None = None
        self.requests = np.zeros(len(self.flat), dtype=np.int64)
        self.errors = np.zeros(len(self.flat), dtype=np.int64)
        self.modes = np.zeros(3, dtype=np.int64)

    def healthy(self) -> list[list[bool]]:
        return [[c.healthy for c in cs] for cs in self.checks]


class AcceleratorTarget(Target):
    def __init__(
        self,
        spec: ga.Accelerator,
        listeners: list[_ListenerState],
        ctx: SimContext,
    ) -> None:
        self.model = spec
        self.key = f"accelerator:{spec.name}"
        self.ctx = ctx
        self.listeners = listeners
        self.dst_ip = _ipv4_int(spec.addresses[0])
        self.rng = ctx.rng(self.key)
        world = ctx.world
        self.edges = np.array(
            [ctx.idx(p.key) for p in world.edge_locations if p.tier == "edge"], dtype=np.int64
        )
        self.edge_pos = np.full(len(ctx.node_keys), -1, dtype=np.int64)
        self.edge_pos[self.edges] = np.arange(len(self.edges))
        # Proximity of each group to each ingress edge: backbone latency in the world as
        # loaded (geography; failures move traffic through health checks, not through this).
        self.distance: list[F64] = []
        for st in listeners:
            cols = np.array([ctx.idx(f"region:{g.region}") for g in st.spec.groups], np.int64)
            bb = ctx.one_way_ms(LinkClass.BACKBONE)[np.ix_(self.edges, cols)]
            self.distance.append(np.where(np.isfinite(bb), bb, 1e9))
        self.listener_of_workload = np.array(
            [spec.listener_for("TCP", 443 if w.tls != "none" else 80) for w in ctx.workloads],
            dtype=np.int64,
        )
        self.tls_rtts = np.array([TLS_RTTS[w.tls] for w in ctx.workloads], dtype=np.float64)
        self.subnet_base = np.array(
            [_subnet_base(s) for s in ctx.group_subnets] or [0], dtype=np.int64
        )
        self.dirty = True
        self.no_listener = 0
        self._entry_version = -1
        self._entry_table = np.zeros(0, dtype=np.int32)
        n_groups = max(len(ctx.groups), 1)
        self.compare_hist = HistogramSet(2 * n_groups)
        self.compare_sum = np.zeros((n_groups, 2))
        self.compare_n = np.zeros(n_groups, dtype=np.int64)
        self.rtt_sum = np.zeros((n_groups, 2))
        self.rtt_n = np.zeros(n_groups, dtype=np.int64)
        self._pending: list[tuple[I64, F64, I64]] = []

    # ---- where users connect ----------------------------------------------------------
    def _nearest_edge(self) -> I32:
        ctx = self.ctx
        if self._entry_version != ctx.world.version:
            one_way = ctx.one_way_ms(LinkClass.INTERNET)
            d = one_way[:, self.edges].copy()
            down = np.array([ctx.node_keys[p] in ctx.world.down_nodes for p in self.edges])
            d[:, down] = np.inf
            self._entry_table = self.edges[d.argmin(axis=1)].astype(np.int32)
            self._entry_version = ctx.world.version
        return self._entry_table

    def entry(self, ctx: SimContext, where: I32) -> I32:
        """The edge location nearest ``where`` over the internet (anycast). The engine passes
        the place the DNS answer was computed for: the user's metro for ISP and ECS
        resolvers, but the resolver's site for public resolvers without ECS, where real
        anycast would still follow the user (see :meth:`client_entry`)."""
        out: I32 = self._nearest_edge()[np.asarray(where, dtype=np.int64)]
        return out

    def client_entry(self, ctx: SimContext, clients: I32, entry: I32) -> I32:
        """Anycast proper: the edge nearest each user's own place, now (whatever the DNS
        answer's entry was). For an engine hook; see docs/global-accelerator.md."""
        out: I32 = self._nearest_edge()[np.asarray(clients, dtype=np.int64)]
        return out

    def is_up(self, ctx: SimContext) -> bool:
        return True  # the anycast addresses always answer; GA fails open

    # ---- routing ------------------------------------------------------------------------
    def rebuild(self) -> None:
        for li, st in enumerate(self.listeners):
            st.tables = ga.build_tables(self.distance[li], st.dials, st.weights, st.healthy())
        self.dirty = False

    def flow_hashes(self, batch: Batch, idx: I64, affinity: str, port: int) -> npt.NDArray[Any]:
        """Each request's flow hash. Users of a group have addresses .1–.254 of its subnet
        and a random ephemeral port (one draw per request from this accelerator's stream):
        every request is its own flow, as the engine keeps no connections."""
        v = self.rng.integers(0, 1 << 32, size=len(idx), dtype=np.int64)
        g = batch.group[idx].astype(np.int64)
        src = (self.subnet_base[g] + 1 + v % 254) & 0xFFFFFFFF
        if affinity == "SOURCE_IP":
            return ga.flow_hash_source(src, self.dst_ip)
        sport = 1024 + (v >> 8) % 64512
        return ga.flow_hash_5tuple(src, sport, self.dst_ip, port, ga.PROTOCOL_NUMBERS["TCP"])

    def serve(self, ctx: SimContext, batch: Batch, flow: Flow, out: Outcome) -> F64:
        n = len(flow)
        total = np.zeros(n)
        if n == 0:
            return total
        if self.dirty:
            self.rebuild()
        idx = flow.idx
        out.pop[idx] = flow.src
        counted = flow.start_ns >= ctx.warmup_ns
        wl = batch.workload[idx].astype(np.int64)
        lis = self.listener_of_workload[wl]
        none = lis < 0
        if none.any():  # nothing listens on the workload's port: the edge refuses it
            out.fail(idx[none], NO_LISTENER_STATUS)
            self.no_listener += int((none & counted).sum())
        edges = flow.src.astype(np.int64)
        pos = self.edge_pos[edges]
        for li in np.unique(lis[~none]).tolist():
            st = self.listeners[li]
            rows = np.flatnonzero(lis == li)
            port = 443 if self.tls_rtts[wl[rows[0]]] > 0 else 80
            h = self.flow_hashes(batch, idx[rows], st.spec.client_affinity, port)
            assert st.tables is not None
            g, ep, mode = st.tables.lookup(np.maximum(pos[rows], 0), h)
            flat = st.offset[g] + ep
            c = counted[rows]
            st.modes += np.bincount(mode[c], minlength=3)
            for fi in np.unique(flat).tolist():
                sel = rows[flat == fi]
                gi, ei = st.flat[fi]
                target = st.targets[gi][ei]
                sub = Flow(idx[sel], flow.src[sel], flow.start_ns[sel])
                total[sel] = target.serve(ctx, batch, sub, out)
                st.requests[fi] += int(counted[sel].sum())
                st.errors[fi] += int((counted[sel] & ~out.ok[idx[sel]]).sum())
            sites = st.flat_site[flat]
            bb_rtt = 2.0 * ctx.site_one_way_ms_pairs(edges[rows], sites)
            bb_rtt = np.where(np.isfinite(bb_rtt), bb_rtt, 0.0)
            new = batch.new_conn[idx[rows]]
            tls_extra = np.where(new, self.tls_rtts[wl[rows]] * bb_rtt, 0.0)
            total[rows] += tls_extra
            if tls_extra.any():
                out.hop(TLS_HOP)[idx[rows]] += tls_extra
            self._compare(ctx, batch, idx[rows], edges[rows], sites, bb_rtt, total[rows], c)
        return total

    # ---- accelerator vs internet ------------------------------------------------------
    def _compare(
        self,
        ctx: SimContext,
        batch: Batch,
        idx: I64,
        edges: I64,
        sites: I64,
        bb_rtt: F64,
        upstream: F64,
        counted: npt.NDArray[np.bool_],
    ) -> None:
        """The same requests over the public internet to the same endpoint: the engine's
        user-side formulas with the user↔site round trip, plus the endpoint's own work."""
        if not counted.any():
            return
        idx, edges, sites = idx[counted], edges[counted], sites[counted]
        bb_rtt, upstream = bb_rtt[counted], upstream[counted]
        p = ctx.world.params
        g = batch.group[idx].astype(np.int64)
        clients = ctx.group_node()[g]
        wan_i = 2.0 * ctx.client_one_way_ms(clients, sites.astype(np.int32))
        wan_e = 2.0 * ctx.client_one_way_ms(clients, edges.astype(np.int32))
        ok = np.isfinite(wan_i) & np.isfinite(wan_e)
        wan_i = np.where(ok, wan_i, 0.0)
        wan_e = np.where(ok, wan_e, 0.0)
        a = batch.access[idx].astype(np.int64)
        access_rtt = ctx.access_rtt_ms()[a]
        access_jit = np.array([p.access[k].jitter_mean_ms for k in ACCESS_KINDS])[a]
        loss_access = np.array([p.access[k].loss for k in ACCESS_KINDS])[a]
        down_bw = np.array([p.access[k].down_mbps for k in ACCESS_KINDS])[a] * 125_000.0
        up_bw = np.array([p.access[k].up_mbps for k in ACCESS_KINDS])[a] * 125_000.0
        rtt = wan_i + access_rtt + batch.jitter[idx] * (access_jit + p.path_jitter_fraction * wan_i)
        loss = 1.0 - (1.0 - loss_access) * (1.0 - p.internet_loss_per_hop) ** 4 * (
            1.0 - ctx.extra_loss(clients.astype(np.int32), sites.astype(np.int32))
        )
        new = batch.new_conn[idx]
        syn_lost = new & (batch.u[idx] < 2 * loss)
        connect = np.where(new, rtt + np.where(syn_lost, TCP_INITIAL_RTO_MS, 0.0), 0.0)
        tls = np.where(new, self.tls_rtts[batch.workload[idx].astype(np.int64)] * rtt, 0.0)
        up_sizes = batch.upload[idx]
        upload = np.zeros(len(idx))
        has_up = up_sizes > 0
        if has_up.any():
            upload[has_up] = transfer_ms(up_sizes[has_up], rtt[has_up], up_bw[has_up], loss[has_up])
        body = transfer_ms(batch.size[idx], rtt, down_bw, loss)
        tls_extra = np.where(new, self.tls_rtts[batch.workload[idx].astype(np.int64)], 0.0)
        work = upstream - bb_rtt - tls_extra * bb_rtt  # queueing + service at the endpoint
        internet = connect + tls + rtt + upload + body + work
        self._pending.append((idx[ok], internet[ok], g[ok]))
        self.rtt_sum[:, 0] += np.bincount(
            g[ok], weights=(wan_e + bb_rtt)[ok], minlength=len(self.rtt_n)
        )
        self.rtt_sum[:, 1] += np.bincount(g[ok], weights=wan_i[ok], minlength=len(self.rtt_n))
        self.rtt_n += np.bincount(g[ok], minlength=len(self.rtt_n))

    def observe(self, batch: Batch, out: Outcome, total_ms: F64) -> None:
        if not self._pending:
            return
        dns = out.phase_ms["dns"]
        for idx, internet, g in self._pending:
            ok = out.ok[idx]
            if not ok.any():
                continue
            idx, internet, g = idx[ok], internet[ok], g[ok]
            acc = total_ms[idx] - dns[idx]
            ng = len(self.compare_n)
            self.compare_sum[:, 0] += np.bincount(g, weights=acc, minlength=ng)
            self.compare_sum[:, 1] += np.bincount(g, weights=internet, minlength=ng)
            self.compare_n += np.bincount(g, minlength=ng)
            self.compare_hist.record_buckets(
                2 * g, bucket_index(np.rint(acc * 1000.0).astype(np.int64))
            )
            self.compare_hist.record_buckets(
                2 * g + 1, bucket_index(np.rint(internet * 1000.0).astype(np.int64))
            )
        self._pending = []

    # ---- report -------------------------------------------------------------------------
    def report(self) -> dict[str, Any]:
        ctx = self.ctx
        events = [e["at_s"] for e in ctx.events]
        listeners = []
        failovers = fail_open = requests = 0
        for st in self.listeners:
            groups: dict[str, Any] = {}
            for gi, grp in enumerate(st.spec.groups):
                eps: dict[str, Any] = {}
                for ei, ep in enumerate(grp.endpoints):
                    fi = int(st.offset[gi]) + ei
                    check = st.checks[gi][ei]
                    trans = []
                    for at, healthy in check.transitions:
                        cause = max((e for e in events if e <= at / 1e9), default=None)
                        trans.append(
                            {
                                "at_s": at / 1e9,
                                "healthy": healthy,
                                "since_last_event_s": None
                                if cause is None
                                else round(at / 1e9 - cause, 3),
                            }
                        )
                    eps[ep.name] = {
                        "weight": st.weights[gi][ei],
                        "requests": int(st.requests[fi]),
                        "errors": int(st.errors[fi]),
                        "healthy_at_end": check.healthy,
                        "health_transitions": trans,
                    }
                groups[grp.region] = {
                    "traffic_dial": st.dials[gi],
                    "requests": int(
                        sum(st.requests[int(st.offset[gi]) + e] for e in range(len(grp.endpoints)))
                    ),
                    "endpoints": eps,
                }
            failovers += int(st.modes[ga.FAILOVER])
            fail_open += int(st.modes[ga.FAIL_OPEN])
            requests += int(st.modes.sum())
            listeners.append(
                {
                    "protocol": st.spec.protocol,
                    "port_ranges": [str(r) for r in st.spec.port_ranges],
                    "client_affinity": st.spec.client_affinity,
                    "requests": int(st.modes.sum()),
                    "failovers": int(st.modes[ga.FAILOVER]),
                    "fail_open": int(st.modes[ga.FAIL_OPEN]),
                    "endpoint_groups": groups,
                }
            )
        return {
            "ip_addresses": list(self.model.addresses),
            "requests": requests,
            "failovers": failovers,
            "fail_open": fail_open,
            "no_listener": self.no_listener,
            "listeners": listeners,
            "vs_internet": self._comparison(),
            "why": WHY.format(
                irf=ctx.world.params.internet_route_factor,
                ih=ctx.world.params.internet_hop_one_way_ms,
                bh=round(ctx.world.params.backbone_hop_one_way_ms, 3),
            ),
        }

    def _comparison(self) -> dict[str, Any]:
        names = self.ctx.group_names()
        counts = self.compare_hist.counts
        out: dict[str, Any] = {}
        rows: list[tuple[float, float, int]] = []
        for gi in np.flatnonzero(self.compare_n).tolist():
            n = int(self.compare_n[gi])
            acc_mean = self.compare_sum[gi, 0] / n
            inet_mean = self.compare_sum[gi, 1] / n
            acc = summarise_ms(counts[2 * gi])
            inet = summarise_ms(counts[2 * gi + 1])
            rn = max(int(self.rtt_n[gi]), 1)
            rtt_acc = self.rtt_sum[gi, 0] / rn
            rtt_inet = self.rtt_sum[gi, 1] / rn
            out[names[gi]] = {
                "requests": n,
                "accelerator_ms": {"mean": round(acc_mean, 3), "p50": acc["p50"]},
                "internet_ms": {"mean": round(inet_mean, 3), "p50": inet["p50"]},
                "improvement_pct": {
                    "mean": _pct(inet_mean, acc_mean),
                    "p50": _pct(inet["p50"], acc["p50"]),
                },
                "network_rtt_ms": {
                    "accelerator": round(rtt_acc, 3),
                    "internet": round(rtt_inet, 3),
                },
            }
            rows.append((acc_mean, inet_mean, n))
        if rows:
            n_all = sum(r[2] for r in rows)
            a = sum(r[0] * r[2] for r in rows) / n_all
            i = sum(r[1] * r[2] for r in rows) / n_all
            out["all"] = {
                "requests": n_all,
                "accelerator_ms": {"mean": round(a, 3)},
                "internet_ms": {"mean": round(i, 3)},
                "improvement_pct": {"mean": _pct(i, a)},
            }
        return out


def _pct(internet: float, accelerated: float) -> float | None:
    """How much less time the accelerator takes, in % of the internet's (negative: slower)."""
    if internet <= 0:
        return None
    return round(100.0 * (internet - accelerated) / internet, 2)


# ---- the service ------------------------------------------------------------------------------


class GlobalAccelerator(Service):
    section: ClassVar[str] = "accelerators"
    summary: ClassVar[str] = (
        "Global Accelerator: static anycast addresses, listeners, endpoint groups with dials"
    )
    config_model: ClassVar[type[BaseModel]] = AcceleratorsConfig
    actions: ClassVar[tuple[str, ...]] = ("set_dial", "set_endpoint_weight")
    order: ClassVar[int] = 30  # after endpoints, before Route 53 (which may alias to us)

    def __init__(self, config: BaseModel, ctx: SimContext) -> None:
        super().__init__(config, ctx)
        assert isinstance(config, AcceleratorsConfig)
        self.items: dict[str, AcceleratorTarget] = {}
        problems: list[Problem] = []
        if not any(p.tier == "edge" for p in ctx.world.edge_locations):
            problems.append(
                Problem(
                    f"world '{ctx.world.name}' has no edge locations for the accelerators' "
                    "anycast addresses",
                    path="accelerators",
                )
            )
            raise InputError(problems, file=ctx.file)
        used_addresses: dict[str, str] = {}
        for i, spec in enumerate(config.root):
            where = f"accelerators[{i}]"
            if spec.name in self.items:
                problems.append(
                    Problem(
                        f"duplicate accelerator name '{spec.name}'",
                        path=f"{where}.name",
                        expected="unique names",
                    )
                )
                continue
            target = self._build(spec, i, where, problems)
            if target is None:
                continue
            for a in target.model.addresses:
                if a in used_addresses:
                    problems.append(
                        Problem(
                            f"address {a} is already accelerator '{used_addresses[a]}''s",
                            path=f"{where}.ip_addresses",
                        )
                    )
                used_addresses[a] = spec.name
            self.items[spec.name] = target
        for wi, w in enumerate(ctx.workloads):
            t = self.items.get((w.target or "")[len("accelerator:") :])
            if (w.target or "").startswith("accelerator:") and t is not None:
                port = 443 if w.tls != "none" else 80
                if t.model.listener_for("TCP", port) < 0:
                    problems.append(
                        Problem(
                            f"accelerator '{t.model.name}' has no TCP listener on port {port}",
                            path=f"workloads[{wi}].target",
                            expected="a listener whose port_ranges include 443 (TLS workloads) "
                            "or 80 (tls: none)",
                        )
                    )
        if problems:
            raise InputError(problems, file=ctx.file)

    def _build(
        self, spec: AcceleratorSpec, number: int, where: str, problems: list[Problem]
    ) -> AcceleratorTarget | None:
        ctx = self.ctx
        before = len(problems)
        endpoints = {k: t for k, t in ctx.targets.items() if isinstance(t, EndpointTarget)}
        listeners: list[ga.Listener] = []
        targets: list[list[list[EndpointTarget]]] = []
        for li, lspec in enumerate(spec.listeners):
            lw = f"{where}.listeners[{li}]"
            ranges: list[ga.PortRange] = []
            for ri, raw in enumerate(lspec.port_ranges):
                pr = _port_range(raw)
                if pr is None:
                    problems.append(
                        Problem(
                            f"cannot read '{raw}' as a port range",
                            path=f"{lw}.port_ranges[{ri}]",
                            expected="a port (443) or a range ('8000-8100')",
                        )
                    )
                    pr = ga.PortRange(0, 0)
                ranges.append(pr)
            groups: list[ga.EndpointGroup] = []
            gtargets: list[list[EndpointTarget]] = []
            for gi, gspec in enumerate(lspec.endpoint_groups):
                gw = f"{lw}.endpoint_groups[{gi}]"
                if f"region:{gspec.region}" not in ctx.world.nodes:
                    problems.append(
                        Problem(
                            f"no region '{gspec.region}' in world '{ctx.world.name}'",
                            path=f"{gw}.region",
                            expected="a region code such as us-east-1",
                        )
                    )
                eps: list[ga.Endpoint] = []
                ets: list[EndpointTarget] = []
                for ei, espec in enumerate(gspec.endpoints):
                    key = espec.endpoint if ":" in espec.endpoint else f"endpoint:{espec.endpoint}"
                    et = endpoints.get(key)
                    if et is None:
                        problems.append(
                            Problem(
                                f"no endpoint named '{espec.endpoint}'",
                                path=f"{gw}.endpoints[{ei}].endpoint",
                                expected="endpoint:NAME of the endpoints: section"
                                + (f" ({', '.join(sorted(endpoints))})" if endpoints else ""),
                            )
                        )
                        continue
                    eps.append(
                        ga.Endpoint(et.spec.name, _region_of(ctx, et.site_key), espec.weight)
                    )
                    ets.append(et)
                hc = gspec.health_check
                groups.append(
                    ga.EndpointGroup(
                        gspec.region,
                        tuple(eps),
                        gspec.traffic_dial,
                        ga.HealthCheck(int(hc.interval[:-1]), hc.threshold, hc.protocol),
                    )
                )
                gtargets.append(ets)
            listeners.append(
                ga.Listener(lspec.protocol, tuple(ranges), lspec.client_affinity, tuple(groups))
            )
            targets.append(gtargets)
        if spec.ip_addresses is not None:
            addresses = tuple(spec.ip_addresses)
        else:
            addresses = ga.static_addresses(number + 1)
        model = ga.Accelerator(spec.name, addresses, tuple(listeners))  # type: ignore[arg-type]
        for path, msg in ga.validate(model):
            if "port range 0" in msg:
                continue  # already reported as unreadable
            problems.append(Problem(msg, path=f"{where}.{path}"))
        if len(problems) > before:
            return None
        states = [_ListenerState(lst, tg) for lst, tg in zip(listeners, targets, strict=True)]
        for st in states:
            for gi, grp in enumerate(st.spec.groups):
                row = []
                for ei, et in enumerate(st.targets[gi]):
                    row.append(
                        EndpointCheck(
                            name=f"{spec.name}/{grp.region}/{grp.endpoints[ei].name}",
                            regions=(grp.region,),
                            interval_ns=grp.health_check.interval_s * 1_000_000_000,
                            failure_threshold=grp.health_check.threshold,
                            probe=_probe(ctx, et),
                        )
                    )
                st.checks.append(row)
        return AcceleratorTarget(model, states, ctx)

    def targets(self) -> dict[str, Target]:
        return {t.key: t for t in self.items.values()}

    # ---- health checks on the engine's clock ---------------------------------------------
    def _checks(self) -> list[tuple[AcceleratorTarget, EndpointCheck]]:
        return [
            (t, c)
            for t in self.items.values()
            for st in t.listeners
            for row in st.checks
            for c in row
        ]

    def boundaries(self, duration_ns: int) -> list[int]:
        out: set[int] = set()
        for _, c in self._checks():
            out.update(range(c.interval_ns, duration_ns, c.interval_ns))
        return sorted(out)

    def begin(self, now_ns: int) -> None:
        if now_ns <= 0:
            return
        for t, c in self._checks():
            if now_ns % c.interval_ns == 0:
                before = c.healthy
                c.run(now_ns)
                if c.healthy != before:
                    t.dirty = True

    # ---- timeline actions -------------------------------------------------------------
    def check_event(self, action: str, payload: Any) -> str | None:
        if action == "set_dial":
            keys = {"accelerator", "region", "dial"}
            if (
                not isinstance(payload, dict)
                or not keys <= set(payload)
                or set(payload) - (keys | {"listener"})
            ):
                return (
                    "set_dial takes {accelerator: NAME, region: REGION, dial: 0-100, listener: N}"
                )
            t = self.items.get(str(payload["accelerator"]))
            if t is None:
                return f"no accelerator named '{payload['accelerator']}'"
            d = payload["dial"]
            if isinstance(d, bool) or not isinstance(d, int | float) or not 0 <= d <= 100:
                return f"traffic dial {d!r} is outside 0–100 (a percentage)"
            if not self._dial_slots(t, payload):
                return (
                    f"accelerator '{t.model.name}' has no endpoint group for "
                    f"{payload['region']}" + (" on that listener" if "listener" in payload else "")
                )
            return None
        if action == "set_endpoint_weight":
            keys = {"accelerator", "endpoint", "weight"}
            if not isinstance(payload, dict) or set(payload) != keys:
                return (
                    "set_endpoint_weight takes {accelerator: NAME, endpoint: endpoint:NAME, "
                    "weight: 0-255}"
                )
            t = self.items.get(str(payload["accelerator"]))
            if t is None:
                return f"no accelerator named '{payload['accelerator']}'"
            w = payload["weight"]
            if isinstance(w, bool) or not isinstance(w, int) or not 0 <= w <= 255:
                return f"weight {w!r} is outside 0–255 (a whole number)"
            if not self._weight_slots(t, str(payload["endpoint"])):
                return f"accelerator '{t.model.name}' has no endpoint '{payload['endpoint']}'"
            return None
        return None

    @staticmethod
    def _dial_slots(t: AcceleratorTarget, payload: dict[str, Any]) -> list[tuple[int, int]]:
        want = payload.get("listener")
        return [
            (li, gi)
            for li, st in enumerate(t.listeners)
            if want is None or want == li
            for gi, g in enumerate(st.spec.groups)
            if g.region == str(payload["region"])
        ]

    @staticmethod
    def _weight_slots(t: AcceleratorTarget, name: str) -> list[tuple[int, int, int]]:
        name = name.split(":", 1)[1] if name.startswith("endpoint:") else name
        return [
            (li, gi, ei)
            for li, st in enumerate(t.listeners)
            for gi, g in enumerate(st.spec.groups)
            for ei, e in enumerate(g.endpoints)
            if e.name == name
        ]

    def on_event(self, action: str, payload: Any, at_ns: int) -> None:
        t = self.items[str(payload["accelerator"])]
        if action == "set_dial":
            for li, gi in self._dial_slots(t, payload):
                t.listeners[li].dials[gi] = float(payload["dial"])
        elif action == "set_endpoint_weight":
            for li, gi, ei in self._weight_slots(t, str(payload["endpoint"])):
                t.listeners[li].weights[gi][ei] = int(payload["weight"])
        t.dirty = True

    def observe(self, batch: Batch, out: Outcome, total_ms: F64) -> None:
        for t in self.items.values():
            t.observe(batch, out, total_ms)

    def report(self) -> dict[str, Any]:
        return {"accelerators": {n: t.report() for n, t in sorted(self.items.items())}}


def _region_of(ctx: SimContext, site_key: str) -> str:
    """The Region a site belongs to (zones and Outposts: their parent)."""
    node = ctx.world.nodes[site_key]
    if node.kind == NodeKind.REGION:
        return site_key.split(":", 1)[1]
    return str(getattr(node, "parent", site_key.split(":", 1)[1]))


def _probe(ctx: SimContext, target: EndpointTarget) -> Any:
    def probe(region: str) -> bool:
        return target.is_up(ctx)

    return probe


SERVICES = (GlobalAccelerator,)
