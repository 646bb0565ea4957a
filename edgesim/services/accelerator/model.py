"""Global Accelerator's configuration, checks and routing decisions (no I/O, no engine).

Spec: docs/edge-services.md §Global Accelerator (after the AWS Global Accelerator Developer
Guide). A standard accelerator has two static anycast IPv4 addresses and listeners
(TCP or UDP, port ranges, client affinity); each listener has at most one **endpoint group per
Region**, with a **traffic dial** (0–100 %, default 100) and endpoints with **weights** (0–255,
default 128); health checks every 10 or 30 s with a threshold of 1–10.

How a new flow is routed (:func:`decide` is the reference, :func:`build_tables` the same rule
as lookup tables, tested equal bucket by bucket):

1. **Directed group (traffic dials).** The groups are ordered by proximity to the ingress edge
   location (backbone latency; ties by configuration order). The flow is directed to the
   nearest group, which keeps it with probability dial/100; a flow it does not keep **spills**
   to the next-nearest group, whose dial applies in the same way to what reaches it, and so
   on. The farthest group with a dial above 0 keeps whatever reaches it (a dial cannot drop
   traffic), and if every dial is 0 the nearest group keeps everything. With two groups at
   50 % this sends half of each coast's flows to each Region, as in the GA guide's example.
   edgesim's choice where AWS is silent: the cascade and the last-group rule.
2. **Failover.** If the directed group has no healthy endpoint with weight > 0, the flow goes
   to the first of the **3 closest other groups** (closest to the ingress edge) that has one,
   ignoring traffic dials.
3. **Fail open.** If none of them has one, the flow goes to a random endpoint (uniform, any
   weight or health) of the group **nearest the ingress edge**.
4. **Endpoint.** Inside the group, among healthy endpoints with weight > 0, each with
   probability weight / Σ weights.

The randomness of steps 1 and 4 is the **flow hash**: a 64-bit mix of the 5-tuple (client
affinity ``NONE``) or of (source IP, destination IP) (``SOURCE_IP``), so one flow, or one
client, always lands on the same group and endpoint while nothing changes. The low 12 bits
pick the group bucket, bits 32–43 the endpoint bucket: 4,096 buckets each, so dials and
weights act in steps of 1/4,096 (0.024 %).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]

BUCKET_BITS = 12
BUCKETS = 1 << BUCKET_BITS
"""Hash buckets per decision (dials and weights resolve to 1/BUCKETS)."""

ADDRESS_POOLS: tuple[str, str] = ("198.18.0.0/16", "198.19.0.0/16")
"""Where scenario accelerators' static addresses come from: the RFC 2544 benchmarking block
198.18.0.0/15, one /16 per "network zone" (GA serves each of the two addresses from an
isolated network zone). Accelerator number k (from 1) gets 198.18.k/256.k%256 and
198.19.k/256.k%256."""

PROTOCOL_NUMBERS = {"TCP": 6, "UDP": 17}
MAX_FAILOVER_GROUPS = 3

NORMAL, FAILOVER, FAIL_OPEN = 0, 1, 2
MODES = ("normal", "failover", "fail-open")


def static_addresses(number: int) -> tuple[str, str]:
    """The two static addresses of accelerator ``number`` (1 … 65,534) from the pools."""
    if not 1 <= number <= 0xFFFE:
        raise ValueError(f"accelerator number {number} is outside 1–65534")
    hi, lo = number >> 8, number & 0xFF
    return f"198.18.{hi}.{lo}", f"198.19.{hi}.{lo}"


# ---- configuration ------------------------------------------------------------------------


@dataclass(frozen=True)
class PortRange:
    start: int
    end: int

    def overlaps(self, other: PortRange) -> bool:
        return self.start <= other.end and other.start <= self.end

    def covers(self, port: int) -> bool:
        return self.start <= port <= self.end

    def __str__(self) -> str:
        return str(self.start) if self.start == self.end else f"{self.start}-{self.end}"


@dataclass(frozen=True)
class HealthCheck:
    interval_s: int = 30
    """10 or 30."""
    threshold: int = 3
    """Consecutive results needed to change an endpoint's status (1–10)."""
    protocol: Literal["TCP", "HTTP", "HTTPS"] = "TCP"


@dataclass(frozen=True)
class Endpoint:
    name: str
    region: str
    """The Region the endpoint runs in (a zone's or Outpost's parent Region)."""
    weight: int = 128


@dataclass(frozen=True)
class EndpointGroup:
    region: str
    endpoints: tuple[Endpoint, ...]
    traffic_dial: float = 100.0
    health_check: HealthCheck = field(default_factory=HealthCheck)


@dataclass(frozen=True)
class Listener:
    protocol: Literal["TCP", "UDP"]
    port_ranges: tuple[PortRange, ...]
    client_affinity: Literal["NONE", "SOURCE_IP"] = "NONE"
    groups: tuple[EndpointGroup, ...] = ()

    def covers(self, protocol: str, port: int) -> bool:
        return protocol == self.protocol and any(r.covers(port) for r in self.port_ranges)


@dataclass(frozen=True)
class Accelerator:
    name: str
    addresses: tuple[str, str]
    listeners: tuple[Listener, ...]

    def listener_for(self, protocol: str, port: int) -> int:
        """Index of the listener taking ``protocol``/``port`` traffic, or -1."""
        return next((i for i, li in enumerate(self.listeners) if li.covers(protocol, port)), -1)


def validate(acc: Accelerator) -> list[tuple[str, str]]:
    """Every problem with an accelerator, as (path below the accelerator, message)."""
    out: list[tuple[str, str]] = []
    if len(acc.addresses) != 2:
        out.append(("ip_addresses", "an accelerator has exactly two static IPv4 addresses"))
    else:
        for i, a in enumerate(acc.addresses):
            try:
                ipaddress.IPv4Address(a)
            except ValueError:
                out.append((f"ip_addresses[{i}]", f"'{a}' is not an IPv4 address"))
        if acc.addresses[0] == acc.addresses[1]:
            out.append(("ip_addresses", "the two static addresses must differ"))
    if not acc.listeners:
        out.append(("listeners", "an accelerator needs at least one listener"))
    seen: list[tuple[int, str, PortRange]] = []
    for li, lst in enumerate(acc.listeners):
        where = f"listeners[{li}]"
        if lst.protocol not in PROTOCOL_NUMBERS:
            out.append((f"{where}.protocol", f"protocol '{lst.protocol}' is not TCP or UDP"))
        if lst.client_affinity not in ("NONE", "SOURCE_IP"):
            out.append(
                (f"{where}.client_affinity", f"'{lst.client_affinity}' is not NONE or SOURCE_IP")
            )
        if not lst.port_ranges:
            out.append((f"{where}.port_ranges", "a listener needs at least one port range"))
        for ri, pr in enumerate(lst.port_ranges):
            rw = f"{where}.port_ranges[{ri}]"
            if not (1 <= pr.start <= 65535 and 1 <= pr.end <= 65535):
                out.append((rw, f"port range {pr} is outside 1–65535"))
                continue
            if pr.start > pr.end:
                out.append((rw, f"port range {pr.start}-{pr.end} ends before it starts"))
                continue
            for oli, proto, other in seen:
                if proto == lst.protocol and pr.overlaps(other):
                    whose = "this listener" if oli == li else f"listeners[{oli}]"
                    out.append((rw, f"{lst.protocol} ports {pr} overlap {other} of {whose}"))
                    break
            seen.append((li, lst.protocol, pr))
        if not lst.groups:
            out.append((f"{where}.endpoint_groups", "a listener needs at least one endpoint group"))
        regions: dict[str, int] = {}
        for gi, grp in enumerate(lst.groups):
            gw = f"{where}.endpoint_groups[{gi}]"
            if grp.region in regions:
                out.append(
                    (
                        f"{gw}.region",
                        f"a second endpoint group for {grp.region} (the first is "
                        f"endpoint_groups[{regions[grp.region]}]); a listener has at most one "
                        "endpoint group per Region",
                    )
                )
            else:
                regions[grp.region] = gi
            if not 0.0 <= grp.traffic_dial <= 100.0:
                out.append(
                    (
                        f"{gw}.traffic_dial",
                        f"traffic dial {grp.traffic_dial:g} is outside 0–100 (a percentage)",
                    )
                )
            hc = grp.health_check
            if hc.interval_s not in (10, 30):
                out.append((f"{gw}.health_check.interval", "the interval is 10s or 30s"))
            if not 1 <= hc.threshold <= 10:
                out.append(
                    (f"{gw}.health_check.threshold", f"threshold {hc.threshold} is outside 1–10")
                )
            if not grp.endpoints:
                out.append((f"{gw}.endpoints", "an endpoint group needs at least one endpoint"))
            names: set[str] = set()
            for ei, ep in enumerate(grp.endpoints):
                ew = f"{gw}.endpoints[{ei}]"
                if not 0 <= ep.weight <= 255:
                    out.append((f"{ew}.weight", f"weight {ep.weight} is outside 0–255"))
                if ep.name in names:
                    out.append((f"{ew}.endpoint", f"{ep.name} is twice in this endpoint group"))
                names.add(ep.name)
        for gi, grp in enumerate(lst.groups):
            for ei, ep in enumerate(grp.endpoints):
                if ep.region == grp.region:
                    continue
                home = regions.get(ep.region)
                hint = (
                    f"it belongs in endpoint_groups[{home}]"
                    if home is not None
                    else f"this listener has no endpoint group for {ep.region}"
                )
                out.append(
                    (
                        f"{where}.endpoint_groups[{gi}].endpoints[{ei}].endpoint",
                        f"{ep.name} runs in {ep.region}, not in this group's Region "
                        f"{grp.region}: {hint} (a group and its endpoints are in one Region)",
                    )
                )
    return out


# ---- flow hashing ---------------------------------------------------------------------------

_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)
_SEED_5TUPLE = np.uint64(0x9E3779B97F4A7C15)
_SEED_SOURCE = np.uint64(0x632BE59BD9B4E019)


def _mix64(x: U64) -> U64:
    """MurmurHash3's 64-bit finaliser (a bijection with full avalanche), on arrays."""
    x = x ^ (x >> _S33)
    x = x * _M1
    x = x ^ (x >> _S33)
    x = x * _M2
    out: U64 = x ^ (x >> _S33)
    return out


def _u64(a: npt.ArrayLike) -> U64:
    out: U64 = np.atleast_1d(np.asarray(a, dtype=np.int64)).astype(np.uint64)
    return out


def flow_hash_5tuple(
    src_ip: npt.ArrayLike,
    src_port: npt.ArrayLike,
    dst_ip: npt.ArrayLike,
    dst_port: npt.ArrayLike,
    protocol: npt.ArrayLike,
) -> U64:
    """Client affinity ``NONE``: a stable 64-bit hash of each flow's 5-tuple (IPv4 addresses
    as integers, protocol numbers 6/17). Same inputs, same hash, on any run or machine."""
    with np.errstate(over="ignore"):
        k1 = (_u64(src_ip) << np.uint64(32)) | _u64(dst_ip)
        k2 = (_u64(src_port) << np.uint64(24)) | (_u64(dst_port) << np.uint64(8)) | _u64(protocol)
        return _mix64(_mix64(k1 ^ _SEED_5TUPLE) ^ k2)


def flow_hash_source(src_ip: npt.ArrayLike, dst_ip: npt.ArrayLike) -> U64:
    """Client affinity ``SOURCE_IP``: a stable hash of (source IP, destination IP) only."""
    with np.errstate(over="ignore"):
        k1 = (_u64(src_ip) << np.uint64(32)) | _u64(dst_ip)
        return _mix64(_mix64(k1 ^ _SEED_SOURCE))


def buckets_of(h: U64) -> tuple[I64, I64]:
    """(group bucket, endpoint bucket) of each flow hash."""
    mask = np.uint64(BUCKETS - 1)
    g: I64 = (h & mask).astype(np.int64)
    e: I64 = ((h >> np.uint64(32)) & mask).astype(np.int64)
    return g, e


def bucket_uniform(b: npt.ArrayLike, buckets: int = BUCKETS) -> F64:
    """The uniform in (0, 1) a bucket stands for: its midpoint."""
    out: F64 = (np.asarray(b, dtype=np.float64) + 0.5) / buckets
    return out


# ---- the decision (reference, one flow) -------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    group: int
    """Index of the endpoint group chosen."""
    endpoint: int
    """Index of the endpoint within that group."""
    mode: str
    """normal, failover (another group than the dials chose) or fail-open."""
    directed: int
    """The group the traffic dials directed the flow to."""


def proximity_order(distance: Sequence[float]) -> list[int]:
    """Groups by distance from the ingress edge, ties by configuration order."""
    return sorted(range(len(distance)), key=lambda g: (distance[g], g))


def directed_group(order: Sequence[int], dials: Sequence[float], u: float) -> int:
    """Step 1: the group the dials send a flow with uniform ``u`` to (see the module doc)."""
    active = [g for g in order if dials[g] > 0]
    if not active:
        return order[0]
    for k, g in enumerate(active):
        if k == len(active) - 1:
            return g
        d = dials[g] / 100.0
        if u < d:
            return g
        u = (u - d) / (1.0 - d)
    raise AssertionError("unreachable")


def pick_endpoint(weights: Sequence[int], healthy: Sequence[bool], u: float) -> int:
    """Step 4: weight / Σ weights among healthy endpoints with weight > 0; -1 if none."""
    w = np.array([wt if ok else 0 for wt, ok in zip(weights, healthy, strict=True)], float)
    total = w.sum()
    if total <= 0:
        return -1
    cum = np.cumsum(w) / total
    return min(int(np.searchsorted(cum, u, side="right")), len(w) - 1)


def decide(
    distance: Sequence[float],
    dials: Sequence[float],
    weights: Sequence[Sequence[int]],
    healthy: Sequence[Sequence[bool]],
    u_group: float,
    u_endpoint: float,
) -> Decision:
    """Route one new flow arriving at an edge whose backbone distance to each group is
    ``distance``; ``u_group``/``u_endpoint`` are the flow hash's two uniforms."""
    order = proximity_order(distance)
    usable = [
        any(w > 0 and ok for w, ok in zip(ws, hs, strict=True))
        for ws, hs in zip(weights, healthy, strict=True)
    ]
    directed = directed_group(order, dials, u_group)
    group, mode = directed, "normal"
    if not usable[directed]:
        others = [g for g in order if g != directed][:MAX_FAILOVER_GROUPS]
        alt = next((g for g in others if usable[g]), None)
        if alt is not None:
            group, mode = alt, "failover"
        else:
            group, mode = order[0], "fail-open"
    if mode == "fail-open":
        n = len(weights[group])
        endpoint = min(int(u_endpoint * n), n - 1)
    else:
        endpoint = pick_endpoint(weights[group], healthy[group], u_endpoint)
    return Decision(group, endpoint, mode, directed)


# ---- the same decision as tables --------------------------------------------------------------


@dataclass
class RoutingTables:
    """Per ingress edge and group bucket: the group and mode; per group and endpoint bucket:
    the endpoint (normal choice, and the fail-open uniform choice)."""

    group: npt.NDArray[np.int16]
    """(edges, BUCKETS): chosen group."""
    mode: npt.NDArray[np.int8]
    """(edges, BUCKETS): NORMAL, FAILOVER or FAIL_OPEN."""
    directed: npt.NDArray[np.int16]
    """(edges, BUCKETS): the group the dials chose."""
    endpoint: npt.NDArray[np.int16]
    """(groups, BUCKETS): endpoint within the group by weight among healthy, -1 if none."""
    fail_open: npt.NDArray[np.int16]
    """(groups, BUCKETS): endpoint within the group, uniform over all of them."""

    def lookup(self, edge: I64, h: U64) -> tuple[I64, I64, I64]:
        """(group, endpoint within group, mode) for flows with hashes ``h`` at edges ``edge``
        (positions in the distance matrix the tables were built from)."""
        bg, be = buckets_of(h)
        g = self.group[edge, bg].astype(np.int64)
        mode = self.mode[edge, bg].astype(np.int64)
        ep = np.where(mode == FAIL_OPEN, self.fail_open[g, be], self.endpoint[g, be])
        return g, ep.astype(np.int64), mode


def build_tables(
    distance: npt.ArrayLike,
    dials: Sequence[float],
    weights: Sequence[Sequence[int]],
    healthy: Sequence[Sequence[bool]],
    buckets: int = BUCKETS,
) -> RoutingTables:
    """:func:`decide` for every (edge, bucket), vectorised over buckets. ``distance`` is
    (edges, groups): backbone latency from each ingress edge to each group's Region."""
    dist = np.asarray(distance, dtype=np.float64)
    n_edges, n_groups = dist.shape
    uni = bucket_uniform(np.arange(buckets), buckets)
    usable = [
        any(w > 0 and ok for w, ok in zip(ws, hs, strict=True))
        for ws, hs in zip(weights, healthy, strict=True)
    ]
    group = np.zeros((n_edges, buckets), dtype=np.int16)
    mode = np.zeros((n_edges, buckets), dtype=np.int8)
    directed_t = np.zeros((n_edges, buckets), dtype=np.int16)
    for e in range(n_edges):
        order = proximity_order(dist[e].tolist())
        active = [g for g in order if dials[g] > 0]
        res = np.full(buckets, -1, dtype=np.int64)
        if not active:
            res[:] = order[0]
        else:
            u = uni.copy()
            for k, g in enumerate(active):
                open_ = res < 0
                if k == len(active) - 1:
                    res[open_] = g
                    break
                d = dials[g] / 100.0
                take = open_ & (u < d)
                res[take] = g
                rest = open_ & ~take
                if rest.any():
                    u[rest] = (u[rest] - d) / (1.0 - d)
        directed_t[e] = res
        chosen = res.copy()
        md = np.zeros(buckets, dtype=np.int8)
        for g in range(n_groups):
            if usable[g]:
                continue
            rows = res == g
            if not rows.any():
                continue
            others = [x for x in order if x != g][:MAX_FAILOVER_GROUPS]
            alt = next((x for x in others if usable[x]), None)
            if alt is not None:
                chosen[rows], md[rows] = alt, FAILOVER
            else:
                chosen[rows], md[rows] = order[0], FAIL_OPEN
        group[e] = chosen
        mode[e] = md
    endpoint = np.full((n_groups, buckets), -1, dtype=np.int16)
    fail_open = np.zeros((n_groups, buckets), dtype=np.int16)
    for g in range(n_groups):
        n = len(weights[g])
        fail_open[g] = np.minimum((uni * n).astype(np.int64), n - 1)
        w = np.array(
            [wt if ok else 0 for wt, ok in zip(weights[g], healthy[g], strict=True)], float
        )
        total = w.sum()
        if total > 0:
            cum = np.cumsum(w) / total
            endpoint[g] = np.minimum(np.searchsorted(cum, uni, side="right"), n - 1)
    return RoutingTables(group, mode, directed_t, endpoint, fail_open)
