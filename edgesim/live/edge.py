"""Live CloudFront edges: ``edgesim edge serve`` (docs/live-edge.md).

One HTTP/1.1 listener per emulated edge location (PoP) a scenario's client groups are sent
to. Each request is answered with CloudFront's caching semantics from
:mod:`edgesim.services.cloudfront`
(the I/O-free core: behaviours, cache keys, TTLs, tiers, ranges, stale content, error
caching, collapsing rules, failover decisions); this module only does the I/O around it:

* the viewer side is a small, strict HTTP/1.1 server on raw asyncio protocols (limits on
  the request line, header count and sizes, bodies; path traversal refused; slow clients
  time out), with a pre-rendered fast path for fresh edge hits;
* the origin side is an :class:`aiohttp.ClientSession` (keep-alive, the origin's connection
  timeout × attempts and read timeout), with origin-group failover;
* emulated delays come from the scenario's latency model: the client↔PoP round trip for the
  requesting client group, plus PoP→REC→Origin Shield→origin backbone round trips on the
  miss path, applied with the accurate :class:`~edgesim.live.delay.Delayer`.

The planning part (:func:`plan_edges`) and the HTTP parsing helpers are pure functions.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Final, cast

import aiohttp
import numpy as np
from yarl import URL

from edgesim.dnsserver.authority import node_address
from edgesim.live.delay import Delayer
from edgesim.live.delay import now as mono_now
from edgesim.services.cloudfront.behaviors import CacheBehavior
from edgesim.services.cloudfront.collapse import CollapseRegistry, Role
from edgesim.services.cloudfront.failover import OriginGroup, OriginTimeouts, next_action
from edgesim.services.cloudfront.key import CacheKey, build_cache_key
from edgesim.services.cloudfront.message import (
    Headers,
    OriginFailure,
    OriginOutcome,
    OriginResponse,
    Request,
)
from edgesim.services.cloudfront.pipeline import Distribution as CdnDistribution
from edgesim.services.cloudfront.pipeline import (
    EdgePipeline,
    EdgeResponse,
    Fetch,
    Respond,
    cloudfront_headers,
)
from edgesim.services.cloudfront.store import CachedObject, Freshness, HttpStore, seconds_to_ns

__all__ = [
    "DistPlan",
    "EdgeConfig",
    "EdgePlan",
    "EdgeServer",
    "HttpError",
    "Limits",
    "ParsedHead",
    "PopPlan",
    "Route",
    "check_path",
    "decode_chunked",
    "parse_head",
    "plan_edges",
]

CLIENT_HEADER: Final = "x-edgesim-client"
"""Viewer header naming the client group a request comes from (overrides the address)."""
POP_SUFFIX: Final = "-C1"
"""Appended to an edge location's id for ``X-Amz-Cf-Pop`` (``NRT57`` → ``NRT57-C1``)."""
DEFAULT_PORT: Final = 8080


# ---- planning (pure) ----------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """The tiers a cacheable request passes through at one PoP, and their round trips."""

    tiers: tuple[str, ...]
    """Tier names, edge first: ``edge``, ``regional``, ``shield``."""
    nodes: tuple[int, ...]
    """The node index of each tier (its store is shared by every PoP using that node)."""
    rtt_ms: tuple[float, ...]
    """Round trip from the PoP to each tier, through the tiers before it (edge: 0)."""
    origin_rtt_ms: dict[str, float]
    """Round trip from the PoP through every tier to each origin of the distribution."""


@dataclass(frozen=True)
class OriginPlan:
    name: str
    url: str | None
    site: int
    """Node index of the origin's site (-1 if unknown: no emulated delay to it)."""
    s3_region: str | None
    timeouts: OriginTimeouts


@dataclass
class DistPlan:
    """One distribution as the live edges serve it."""

    name: str
    cdn: CdnDistribution
    hosts: tuple[str, ...]
    origins: dict[str, OriginPlan]
    groups: dict[str, OriginGroup]
    collapse: bool
    edge_bytes: int
    regional_bytes: int
    shield_bytes: int
    eviction: str
    pop_of_group: list[int]
    """The PoP node DNS sends each client group to."""
    routes: dict[tuple[int, str], Route] = field(default_factory=dict)
    """(PoP node, primary origin name) → route of cacheable requests."""
    direct_rtt_ms: dict[tuple[int, str], float] = field(default_factory=dict)
    """(PoP node, origin name) → round trip of requests that bypass the caches."""


@dataclass
class PopPlan:
    node: int
    id: str
    """The edge location's id (``NRT57``)."""
    name: str
    """``X-Amz-Cf-Pop`` value (``NRT57-C1``)."""
    host: str = ""
    port: int = 0
    groups: dict[str, list[int]] = field(default_factory=dict)
    """Distribution name → client groups DNS sends to this PoP."""


@dataclass
class EdgePlan:
    group_names: list[str]
    dists: list[DistPlan]
    pops: list[PopPlan]
    client_rtt_ms: dict[tuple[int, int], float]
    """(client group, PoP node) → emulated round trip."""
    seed: int = 0

    def dist(self, name: str) -> DistPlan:
        for d in self.dists:
            if d.name == name:
                return d
        raise KeyError(name)


def _finite(x: float) -> float:
    return float(x) if np.isfinite(x) else 0.0


def plan_edges(
    run: Any,
    *,
    host_mode: str = "node",
    port: int = DEFAULT_PORT,
    base_port: int | None = None,
    distributions: Sequence[str] | None = None,
    last_mile: bool = True,
) -> EdgePlan:
    """Where the live edges listen and what they emulate, from a prepared scenario run.

    PoPs: for each distribution (all, or ``distributions``), the edge location each client
    group is sent to (the scenario's own choice: lowest latency within the price class).
    ``base_port`` gives each PoP ``127.0.0.1:base_port + i`` instead of its ``127.3.x.y``
    address (the one the live DNS answers with) on ``port``.
    """
    from edgesim.latency.params import ACCESS_KINDS
    from edgesim.services.cloudfront.sim import Distribution as SimDistribution
    from edgesim.services.cloudfront.sim import cdn_distribution
    from edgesim.topology.model import NodeKind

    del host_mode
    ctx = run.ctx
    groups = list(run.groups)
    group_nodes = np.asarray(ctx.group_node(), dtype=np.int32)
    sims = [t for t in ctx.targets.values() if isinstance(t, SimDistribution)]
    if distributions:
        names = {s.spec.name for s in sims}
        missing = [d for d in distributions if d not in names]
        if missing:
            raise ValueError(
                f"no distribution {missing[0]!r}; the scenario has {', '.join(sorted(names))}"
            )
        sims = [s for s in sims if s.spec.name in distributions]
    if not sims:
        raise ValueError("the scenario has no cloudfront distributions")
    hosts_by_dist = _alias_hosts(run)
    regions = [i for i, k in enumerate(ctx.node_keys) if ctx.world.nodes[k].kind == NodeKind.REGION]
    bb = ctx.one_way_ms(_backbone())

    def rtt(a: int, b: int) -> float:
        if a < 0 or b < 0 or a == b:
            return 0.0
        return 2 * _finite(ctx.site_one_way_ms(np.array([a], dtype=np.int32), b)[0])

    def region_of(node: int) -> str | None:
        if not regions:
            return None
        best = min(regions, key=lambda r: bb[node, r] if np.isfinite(bb[node, r]) else 1e18)
        return str(ctx.node_keys[best]).split(":", 1)[1]

    pops: dict[int, PopPlan] = {}
    dists: list[DistPlan] = []
    access = ctx.access_rtt_ms() if last_mile else np.zeros(len(ACCESS_KINDS))
    for sim in sims:
        spec = sim.spec
        cdn = cdn_distribution(spec)
        entry = [int(x) for x in sim.entry(ctx, group_nodes)]
        origins: dict[str, OriginPlan] = {}
        for o in spec.origins:
            target = sim.origins.get(o.name)
            site = int(getattr(target, "site", -1)) if target is not None else -1
            origins[o.name] = OriginPlan(
                o.name,
                o.url,
                site,
                o.s3.region if o.s3 is not None else None,
                OriginTimeouts(
                    connection_timeout_s=o.connection_timeout / 1e9,
                    connection_attempts=o.connection_attempts,
                    read_timeout_s=o.read_timeout / 1e9,
                ),
            )
        ogroups = {
            g.name: OriginGroup(g.primary, g.secondary, frozenset(g.failover_on))
            for g in spec.origin_groups
        }
        dp = DistPlan(
            name=spec.name,
            cdn=cdn,
            hosts=tuple(sorted({cdn.domain, *hosts_by_dist.get(spec.name, ())})),
            origins=origins,
            groups=ogroups,
            collapse=spec.collapse,
            edge_bytes=int(spec.caches.edge),
            regional_bytes=int(spec.caches.regional),
            shield_bytes=int(spec.caches.shield),
            eviction=spec.caches.eviction,
            pop_of_group=entry,
        )
        shield = sim.shield
        shield_region = spec.origin_shield
        recs = [int(r) for r in sim.recs]
        for gi, pop in enumerate(entry):
            p = pops.get(pop)
            if p is None:
                eid = str(ctx.node_keys[pop]).split(":", 1)[1]
                p = pops[pop] = PopPlan(pop, eid, eid + POP_SUFFIX)
            p.groups.setdefault(spec.name, []).append(gi)
        for pop in sorted({*entry}):
            rec = (
                min(recs, key=lambda r: bb[pop, r] if np.isfinite(bb[pop, r]) else 1e18)
                if recs
                else -1
            )
            rec_region = region_of(rec) if rec >= 0 else None
            for oname, oplan in origins.items():
                dp.direct_rtt_ms[(pop, oname)] = rtt(pop, oplan.site)
            for primary in {*origins, *ogroups}:
                first = ogroups[primary].primary if primary in ogroups else primary
                s3 = origins[first].s3_region if first in origins else None
                tiers, nodes, rtts = ["edge"], [pop], [0.0]
                bypass_rec = s3 is not None and s3 == rec_region
                if rec >= 0 and not bypass_rec:
                    tiers.append("regional")
                    nodes.append(rec)
                    rtts.append(rtt(pop, rec))
                if shield >= 0 and not (rec_region == shield_region and "regional" in tiers):
                    tiers.append("shield")
                    rtts.append(rtts[-1] + rtt(nodes[-1], shield))
                    nodes.append(shield)
                last = nodes[-1]
                dp.routes[(pop, primary)] = Route(
                    tuple(tiers),
                    tuple(nodes),
                    tuple(rtts),
                    {n: rtts[-1] + rtt(last, o.site) for n, o in origins.items()},
                )
        dists.append(dp)
    pop_list = [pops[k] for k in sorted(pops, key=lambda n: ctx.node_keys[n])]
    for i, p in enumerate(pop_list):
        if base_port is not None:  # 0: a free port for each
            p.host, p.port = "127.0.0.1", base_port + i if base_port else 0
        else:
            p.host, p.port = node_address(3, p.node), port
    client_rtt: dict[tuple[int, int], float] = {}
    for gi, g in enumerate(groups):
        mile = float(np.dot(np.asarray(g.access_p, dtype=float), access)) if last_mile else 0.0
        for p in pop_list:
            one_way = ctx.client_one_way_ms(
                np.array([group_nodes[gi]], dtype=np.int32), np.array([p.node], dtype=np.int32)
            )[0]
            client_rtt[(gi, p.node)] = 2 * _finite(one_way) + mile
    return EdgePlan(
        [g.name for g in groups], dists, pop_list, client_rtt, seed=int(run.scenario.seed)
    )


def _backbone() -> Any:
    from edgesim.topology.model import LinkClass

    return LinkClass.BACKBONE


def _alias_hosts(run: Any) -> dict[str, list[str]]:
    """Distribution name → host names of Route 53 records that alias it."""
    out: dict[str, list[str]] = {}
    for svc in run.services:
        for zone in getattr(svc, "zones", ()) or ():
            for (name, _rdtype), sets in getattr(zone, "groups", {}).items():
                for rs in sets:
                    target = getattr(rs, "target", None)
                    if isinstance(target, str) and target.startswith("cloudfront:"):
                        out.setdefault(target.split(":", 1)[1], []).append(name.rstrip(".").lower())
    return out


# ---- HTTP/1.1 parsing (pure) --------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """Viewer request limits (CloudFront's own are in the same range)."""

    max_line: int = 8190
    """Request line bytes (longer: 414)."""
    max_field: int = 8190
    """One header line's bytes (longer: 431)."""
    max_headers: int = 100
    """Header lines (more: 431)."""
    max_head: int = 65536
    """The whole request head (larger: 431)."""
    max_body: int = 10 * 1024 * 1024
    """Request body bytes (larger: 413)."""


class HttpError(Exception):
    """A request the edge refuses before it reaches the cache (status and reason)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason


@dataclass(slots=True)
class ParsedHead:
    method: str
    path: str
    query: str
    version: str
    headers: list[tuple[str, str]]
    hmap: dict[str, str]
    keep_alive: bool
    content_length: int
    chunked: bool
    host: str


_TOKEN = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
CLOUDFRONT_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"})
"""The methods CloudFront accepts. Another spelling of one of them (``get``) is a 400; other
methods reach the behaviour, which refuses them (403)."""
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_BAD_TARGET = re.compile(rb"[^\x21-\x7e]")
_VERSION = re.compile(rb"^HTTP/[0-9]\.[0-9]$")
_PCT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def check_path(path: str) -> str | None:
    """Why ``path`` (the raw request path) is refused, or None.

    Refused: an invalid percent escape, a NUL or control character after decoding, and
    ``.`` or ``..`` segments (split on ``/`` and ``\\``) after percent-decoding.
    """
    from urllib.parse import unquote_to_bytes

    if _PCT.search(path):
        return "invalid percent-encoding in the path"
    raw = unquote_to_bytes(path)
    if any(b < 0x20 or b == 0x7F for b in raw):
        return "NUL or control character in the path"
    for seg in re.split(rb"[/\\]", raw):
        if seg in (b".", b".."):
            return "dot segment in the path (path traversal)"
    return None


def parse_head(head: bytes, limits: Limits) -> ParsedHead:
    """Parse a request head (without the final blank line); raise :class:`HttpError`."""
    lines = head.split(b"\r\n")
    line = lines[0]
    if len(line) > limits.max_line:
        raise HttpError(414, "request line too long")
    parts = line.split(b" ")
    if len(parts) != 3:
        raise HttpError(400, "malformed request line")
    method_b, target, version_b = parts
    if not _TOKEN.match(method_b):
        raise HttpError(400, "malformed method")
    if version_b not in (b"HTTP/1.1", b"HTTP/1.0"):
        if _VERSION.match(version_b):
            raise HttpError(505, "HTTP version not supported")
        raise HttpError(400, "malformed HTTP version")
    if not target or _BAD_TARGET.search(target) or b"#" in target:
        raise HttpError(400, "malformed request target")
    if len(lines) - 1 > limits.max_headers:
        raise HttpError(431, "too many header fields")
    headers: list[tuple[str, str]] = []
    hmap: dict[str, str] = {}
    for raw in lines[1:]:
        if len(raw) > limits.max_field:
            raise HttpError(431, "header field too large")
        name, sep, value = raw.partition(b":")
        if not sep or not _TOKEN.match(name):
            raise HttpError(400, "malformed header field")
        value = value.strip(b" \t")
        if _BAD_VALUE.search(value):
            raise HttpError(400, "control character in a header value")
        n = name.decode("ascii")
        v = value.decode("latin-1")
        headers.append((n, v))
        low = n.lower()
        old = hmap.get(low)
        hmap[low] = v if old is None else f"{old}, {v}"
    version = version_b.decode("ascii")
    method = method_b.decode("ascii")
    if method not in CLOUDFRONT_METHODS and method.upper() in CLOUDFRONT_METHODS:
        # methods are case-sensitive (RFC 9110 §9.1): "get" is not GET
        raise HttpError(400, f"method names are case-sensitive: {method} is not {method.upper()}")
    t = target.decode("ascii")
    host = hmap.get("host")
    if version == "HTTP/1.1" and (host is None or "," in host):
        raise HttpError(400, "exactly one Host header is required")
    if t.startswith(("http://", "https://")):
        rest = t.split("://", 1)[1]
        authority, slash, tail = rest.partition("/")
        host = authority
        t = slash + tail if slash else "/"
    if not t.startswith("/"):
        raise HttpError(400, "the request target must be an absolute path")
    path, _, query = t.partition("?")
    why = check_path(path)
    if why is not None:
        raise HttpError(400, why)
    te = hmap.get("transfer-encoding")
    cl_text = hmap.get("content-length")
    chunked = False
    length = 0
    if te is not None:
        if cl_text is not None:
            raise HttpError(400, "both Transfer-Encoding and Content-Length")
        if te.strip().lower() != "chunked":
            raise HttpError(501, "only the chunked transfer coding is supported")
        chunked = True
    elif cl_text is not None:
        values = {x.strip() for x in cl_text.split(",")}
        if len(values) != 1 or not next(iter(values)).isdigit():
            raise HttpError(400, "invalid Content-Length")
        length = int(next(iter(values)))
        if length > limits.max_body:
            raise HttpError(413, "request body too large")
    conn = hmap.get("connection", "").lower()
    keep = "close" not in conn if version == "HTTP/1.1" else "keep-alive" in conn
    return ParsedHead(
        method, path, query, version, headers, hmap, keep, length, chunked, (host or "").lower()
    )


def decode_chunked(buf: bytes, start: int, limit: int) -> tuple[bytes, int] | None:
    """Decode a chunked body starting at ``buf[start]``: ``(body, end)``, or None if more
    bytes are needed; raise :class:`HttpError` (400 malformed, 413 over ``limit``)."""
    pos = start
    parts: list[bytes] = []
    total = 0
    while True:
        eol = buf.find(b"\r\n", pos, pos + 1026)
        if eol < 0:
            if len(buf) - pos > 1024:
                raise HttpError(400, "malformed chunk size")
            return None
        size_text = buf[pos:eol].split(b";", 1)[0].strip()
        if not size_text or not re.fullmatch(rb"[0-9A-Fa-f]{1,16}", size_text):
            raise HttpError(400, "malformed chunk size")
        size = int(size_text, 16)
        total += size
        if total > limit:
            raise HttpError(413, "request body too large")
        pos = eol + 2
        if size == 0:
            # Trailer fields, then a blank line.
            while True:
                eol = buf.find(b"\r\n", pos, pos + 8194)
                if eol < 0:
                    if len(buf) - pos > 8192:
                        raise HttpError(431, "trailer field too large")
                    return None
                if eol == pos:
                    return b"".join(parts), eol + 2
                pos = eol + 2
        if len(buf) < pos + size + 2:
            return None
        parts.append(buf[pos : pos + size])
        if buf[pos + size : pos + size + 2] != b"\r\n":
            raise HttpError(400, "malformed chunk")
        pos += size + 2


# ---- rendering ------------------------------------------------------------------------------


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


_NO_BODY_STATUSES: Final = frozenset({204, 304})
_HOP: Final = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "content-length",
        "proxy-connection",
        "te",
        "trailer",
        "upgrade",
    }
)


def render_response(
    status: int,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    *,
    head: bool,
    close: bool,
    length: int | None = None,
    keep_alive_10: bool = False,
) -> bytes:
    """Serialise a response; HEAD and 204/304 carry no body. ``keep_alive_10``: the request
    was HTTP/1.0 with ``Connection: keep-alive`` and the connection stays open, which an
    HTTP/1.0 client learns only from ``Connection: keep-alive`` (RFC 9112 §C.2.2)."""
    out = [f"HTTP/1.1 {status} {_reason(status)}\r\n"]
    for k, v in headers:
        if k.lower() not in _HOP:
            out.append(f"{k}: {v}\r\n")
    if status not in _NO_BODY_STATUSES and not 100 <= status < 200:
        if not head:
            out.append(f"Content-Length: {len(body)}\r\n")
        elif length is not None:
            out.append(f"Content-Length: {length}\r\n")
    if close:
        out.append("Connection: close\r\n")
    elif keep_alive_10:
        out.append("Connection: keep-alive\r\n")
    out.append("\r\n")
    data = "".join(out).encode("latin-1")
    if head or status in _NO_BODY_STATUSES:
        return data
    return data + body


# ---- runtime --------------------------------------------------------------------------------


@dataclass(frozen=True)
class EdgeConfig:
    """How the live edges behave (timeouts in seconds)."""

    delay: bool = True
    """Apply the emulated delays (``--no-delay`` for benchmarks)."""
    handshake: bool = False
    """Also charge one client↔PoP round trip on each connection's first request."""
    fixed_rtt_ms: float | None = None
    """Use this client↔PoP round trip for every client instead of the model's (benchmarks)."""
    limits: Limits = field(default_factory=Limits)
    header_timeout_s: float = 10.0
    """From a request's first byte to the end of its head (then 408)."""
    body_timeout_s: float = 30.0
    """To receive the request body, or for a stalled reader to take a response."""
    idle_timeout_s: float = 60.0
    """Keep-alive: an idle connection is closed after this."""
    max_object_bytes: int = 256 * 1024 * 1024
    """Origin responses larger than this are answered 502 (the edge keeps bodies in RAM)."""
    default_distribution: str | None = None
    reuse_port: bool = False
    seed: int = 0


@dataclass
class _DistAtPop:
    """One distribution at one PoP."""

    dist: DistPlan
    pop: PopPlan
    pipeline: EdgePipeline
    edge: HttpStore
    default_group: int
    registry: CollapseRegistry[bool] = field(default_factory=CollapseRegistry)
    waiting: dict[str, asyncio.Future[bool]] = field(default_factory=dict)
    refreshing: set[str] = field(default_factory=set)
    key_memo: dict[tuple[Any, ...], CacheKey] = field(default_factory=dict)
    head_rendered: dict[int, tuple[CachedObject, bytes]] = field(default_factory=dict)


_MEMO_MAX: Final = 50_000


class EdgeServer:
    """The live edges of one plan; ``await start()``, then ``await stop()``."""

    def __init__(
        self,
        plan: EdgePlan,
        config: EdgeConfig | None = None,
        *,
        origin_urls: dict[tuple[str, str], str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.plan = plan
        self.config = config or EdgeConfig()
        self.clock = clock
        self.origin_urls = dict(origin_urls or {})
        self.session: aiohttp.ClientSession | None = None
        self.delayer: Delayer | None = None
        self.servers: list[asyncio.AbstractServer] = []
        self.protocols: set[_EdgeProtocol] = set()
        self.tasks: set[asyncio.Task[Any]] = set()
        self._sweeper: asyncio.TimerHandle | None = None
        self.group_index = {n: i for i, n in enumerate(plan.group_names)}
        self._stores: dict[tuple[str, str, int], HttpStore] = {}
        self.at_pop: dict[int, dict[str, _DistAtPop]] = {}
        self.host_map: dict[str, str] = {}
        default = self.config.default_distribution or plan.dists[0].name
        plan.dist(default)  # KeyError for an unknown name
        self.default_dist = default
        for d in plan.dists:
            for h in d.hosts:
                self.host_map.setdefault(h, d.name)
            for o in d.origins.values():
                if (d.name, o.name) not in self.origin_urls and o.url is not None:
                    self.origin_urls[(d.name, o.name)] = o.url
        for p in plan.pops:
            per: dict[str, _DistAtPop] = {}
            for d in plan.dists:
                served = p.groups.get(d.name) or [g for gs in p.groups.values() for g in gs]
                default_group = served[0] if served else 0
                per[d.name] = _DistAtPop(
                    d,
                    p,
                    EdgePipeline(d.cdn, pop=p.name, seed=self.config.seed or plan.seed),
                    HttpStore(d.edge_bytes, d.eviction, name="edge"),
                    default_group,
                )
            self.at_pop[p.node] = per

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> list[tuple[PopPlan, str, int]]:
        """Bind every PoP's listener; returns (PoP, host, port) as bound."""
        loop = asyncio.get_running_loop()
        self.delayer = Delayer(loop)
        connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=5.0, ttl_dns_cache=None)
        self.session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,
            skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent"),
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        out: list[tuple[PopPlan, str, int]] = []
        try:
            for p in self.plan.pops:
                per = self.at_pop[p.node]

                def factory(per: dict[str, _DistAtPop] = per, pop: PopPlan = p) -> _EdgeProtocol:
                    return _EdgeProtocol(self, pop, per)

                srv = await loop.create_server(
                    factory,
                    p.host,
                    p.port,
                    backlog=4096,
                    reuse_address=True,
                    reuse_port=self.config.reuse_port or None,
                )
                self.servers.append(srv)
                sock = srv.sockets[0].getsockname()
                p.port = int(sock[1])
                out.append((p, str(sock[0]), int(sock[1])))
        except BaseException:
            await self.stop()
            raise
        self._schedule_sweep()
        return out

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for srv in self.servers:
            srv.close()
        for proto in list(self.protocols):
            proto.abort()
        for srv in self.servers:
            with contextlib.suppress(Exception):
                await srv.wait_closed()
        self.servers = []
        for t in list(self.tasks):
            t.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.session is not None:
            await self.session.close()
            self.session = None
        if self.delayer is not None:
            self.delayer.close()

    def _schedule_sweep(self) -> None:
        c = self.config
        every = max(0.01, min(c.header_timeout_s, c.body_timeout_s, c.idle_timeout_s, 1.0) / 4)
        loop = asyncio.get_running_loop()
        self._sweeper = loop.call_later(every, self._sweep)

    def _sweep(self) -> None:
        t = mono_now()
        for proto in list(self.protocols):
            proto.check_timeout(t)
        self._schedule_sweep()

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    # -- lookups --------------------------------------------------------------------------
    def store(self, dist: DistPlan, tier: str, node: int) -> HttpStore:
        key = (dist.name, tier, node)
        s = self._stores.get(key)
        if s is None:
            size = dist.regional_bytes if tier == "regional" else dist.shield_bytes
            s = self._stores[key] = HttpStore(size, dist.eviction, name=tier)
        return s

    def dist_for_host(self, host: str) -> str:
        """The distribution answering ``host``: the one whose domain names (its
        ``*.cloudfront.net`` name, the Route 53 names aliasing it) include it, else the
        default distribution. edgesim's choice (docs/live-edge.md): an unknown Host is
        served, not refused with CloudFront's 403, because the emulated edges are reached
        by address and load generators and raw-socket tools send any Host."""
        h = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        return self.host_map.get(h.strip("[]").rstrip("."), self.default_dist)

    def client_rtt_s(self, group: int, pop: int) -> float:
        if not self.config.delay:
            return 0.0
        if self.config.fixed_rtt_ms is not None:
            return self.config.fixed_rtt_ms / 1000
        return self.plan.client_rtt_ms.get((group, pop), 0.0) / 1000

    # -- the request path -----------------------------------------------------------------
    def route_for(self, dp: _DistAtPop, beh: CacheBehavior) -> tuple[Route, list[HttpStore]]:
        route = dp.dist.routes.get((dp.pop.node, beh.target_origin))
        if route is None:  # an unknown target origin: edge only, no upstream delay
            route = Route(("edge",), (dp.pop.node,), (0.0,), {})
        tiers = [dp.edge]
        for name, node in zip(route.tiers[1:], route.nodes[1:], strict=True):
            tiers.append(self.store(dp.dist, name, node))
        return route, tiers

    def fast_hit(self, dp: _DistAtPop, req: ParsedHead, now_s: float) -> bytes | None:
        """A fresh 200 in the edge tier for a plain GET/HEAD: pre-rendered bytes, else None.

        Same answer as the pipeline's Hit path (``X-Cache: Hit``, ``Age``, ``Via``,
        ``X-Amz-Cf-Pop``, ``X-Amz-Cf-Id``), without building message objects.
        """
        hm = req.hmap
        if "range" in hm or "if-none-match" in hm or "if-modified-since" in hm or "if-range" in hm:
            return None
        beh = dp.dist.cdn.behaviors.match(req.path)
        policy = beh.cache_policy
        if policy.caching_disabled or req.method not in beh.allowed_methods:
            return None
        memo = (
            req.path,
            req.query,
            tuple(hm.get(h.lower()) for h in policy.headers),
            hm.get("cookie") if policy.cookies != "none" else None,
            hm.get("accept-encoding") if policy.normalises_accept_encoding else None,
        )
        key = dp.key_memo.get(memo)
        if key is None:
            key = build_cache_key(
                dp.dist.cdn.id,
                Request(req.method, req.path, req.query, Headers(req.headers)),
                policy,
            )
            if len(dp.key_memo) >= _MEMO_MAX:
                dp.key_memo.clear()
            dp.key_memo[memo] = key
        obj = dp.edge.peek(key)
        if (
            obj is None
            or obj.status != 200
            or obj.body is None
            or (obj.head_only and req.method != "HEAD")
            or obj.freshness(now_s) is not Freshness.FRESH
        ):
            return None
        dp.edge.cache.get(key.digest, seconds_to_ns(now_s))
        cached = dp.head_rendered.get(key.digest)
        if cached is None or cached[0] is not obj:
            h = cloudfront_headers(
                obj.headers, "Hit", pop=dp.pipeline.pop, via=dp.pipeline.via, request_id=""
            ).without("x-amz-cf-id")
            lines = [f"HTTP/1.1 200 OK\r\nContent-Length: {obj.body_size}\r\n"]
            lines += [f"{k}: {v}\r\n" for k, v in h if k.lower() not in _HOP]
            cached = (obj, "".join(lines).encode("latin-1"))
            if len(dp.head_rendered) >= _MEMO_MAX:
                dp.head_rendered.clear()
            dp.head_rendered[key.digest] = cached
        rid = dp.pipeline.ids.next()
        tail = f"Age: {obj.age_header(now_s)}\r\nX-Amz-Cf-Id: {rid}\r\n"
        if not req.keep_alive:
            tail += "Connection: close\r\n"
        elif req.version == "HTTP/1.0":
            tail += "Connection: keep-alive\r\n"
        data = cached[1] + tail.encode("ascii") + b"\r\n"
        return data if req.method == "HEAD" else data + obj.body

    async def handle(
        self, dp: _DistAtPop, req: ParsedHead, body: bytes, group: int, arrival: float
    ) -> tuple[EdgeResponse, float]:
        """The slow path: returns the answer and the monotonic time it reached the PoP."""
        headers = Headers([(k, v) for k, v in req.headers if k.lower() != CLIENT_HEADER])
        request = Request(req.method, req.path, req.query, headers)
        beh = dp.dist.cdn.behaviors.match(req.path)
        route, tiers = self.route_for(dp, beh)
        action = dp.pipeline.decide(request, tiers, self.clock())
        if isinstance(action, Respond):
            return self._responded(dp, action, route, arrival)
        return await self._fetch_for_viewer(dp, action, route, tiers, body, arrival)

    def _responded(
        self, dp: _DistAtPop, action: Respond, route: Route, arrival: float
    ) -> tuple[EdgeResponse, float]:
        resp = action.response
        up = 0.0
        if self.config.delay and resp.served_by in route.tiers:
            up = route.rtt_ms[route.tiers.index(resp.served_by)] / 1000
        bg = action.revalidate
        if bg is not None and bg.key is not None and bg.key.text not in dp.refreshing:
            dp.refreshing.add(bg.key.text)
            self.spawn(self._background(dp, bg, route))
        return resp, arrival + up

    async def _background(self, dp: _DistAtPop, fetch: Fetch, route: Route) -> None:
        assert fetch.key is not None
        try:
            outcome = await self._origin(dp, fetch, route, b"")
            dp.pipeline.complete(fetch, outcome, self.clock())
        finally:
            dp.refreshing.discard(fetch.key.text)

    async def _fetch_for_viewer(
        self,
        dp: _DistAtPop,
        fetch: Fetch,
        route: Route,
        tiers: list[HttpStore],
        body: bytes,
        arrival: float,
    ) -> tuple[EdgeResponse, float]:
        ck = fetch.collapse_key if dp.dist.collapse else None
        if ck is not None:
            ticket = dp.registry.begin(ck)
            if ticket.role is Role.FOLLOWER:
                # Wait for the leader; then answer from the cache when it stored a shareable
                # response, else fetch alone (spec §1.5, per-object rule).
                await asyncio.shield(dp.waiting[ck])
                dp.registry.result(ticket)
                again = dp.pipeline.decide(fetch.request, tiers, self.clock())
                if isinstance(again, Respond):
                    resp, _ = self._responded(dp, again, route, arrival)
                    return resp, mono_now()
                fetch = again
                outcome = await self._origin(dp, fetch, route, body)
                return dp.pipeline.complete(fetch, outcome, self.clock()), mono_now()
            fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
            dp.waiting[ck] = fut
            shareable = False
            try:
                outcome = await self._origin(dp, fetch, route, body)
                resp = dp.pipeline.complete(fetch, outcome, self.clock())
                shareable = resp.shareable
                return resp, mono_now()
            finally:
                dp.registry.finish(ck, shareable, shareable)
                dp.waiting.pop(ck, None)
                fut.set_result(shareable)
        outcome = await self._origin(dp, fetch, route, body)
        return dp.pipeline.complete(fetch, outcome, self.clock()), mono_now()

    async def _origin(
        self, dp: _DistAtPop, fetch: Fetch, route: Route, body: bytes
    ) -> OriginOutcome:
        """Send the origin request with failover (spec §1.7); emulated delays per attempt."""
        target = fetch.behavior.target_origin
        group = dp.dist.groups.get(target)
        names = [group.primary, group.secondary] if group is not None else [target]
        outcome: OriginOutcome = OriginFailure("unreachable")
        for i, name in enumerate(names):
            if fetch.key is None:
                rtt = dp.dist.direct_rtt_ms.get((dp.pop.node, name), 0.0)
            else:
                rtt = route.origin_rtt_ms.get(name, 0.0)
            outcome = await self._attempt(dp, name, fetch, body, rtt / 1000)
            if group is None:
                break
            kind: Any = outcome.status if isinstance(outcome, OriginResponse) else outcome.kind
            if next_action(
                kind, fetch.origin_request.method, i == 0, group.failover_status_codes
            ) != ("failover"):
                break
        return outcome

    async def _attempt(
        self, dp: _DistAtPop, name: str, fetch: Fetch, body: bytes, rtt_s: float
    ) -> OriginOutcome:
        delayer = self.delayer
        if self.config.delay and rtt_s > 0 and delayer is not None:
            await delayer.sleep(rtt_s / 2)
        try:
            return await self._http(dp, name, fetch, body)
        finally:
            if self.config.delay and rtt_s > 0 and delayer is not None:
                await delayer.sleep(rtt_s / 2)

    async def _http(self, dp: _DistAtPop, name: str, fetch: Fetch, body: bytes) -> OriginOutcome:
        base = self.origin_urls.get((dp.dist.name, name))
        op = dp.dist.origins.get(name)
        if base is None or op is None or self.session is None:
            return OriginFailure("unreachable")
        oreq = fetch.origin_request
        url = base.rstrip("/") + oreq.target
        headers = list(oreq.headers.items)
        names = {k.lower() for k, _ in headers}
        if "user-agent" not in names:
            headers.append(("User-Agent", "Amazon CloudFront"))
        headers.append(("Via", f"1.1 {dp.pipeline.via} (CloudFront)"))
        headers.append(("X-Amz-Cf-Id", fetch.request_id))
        t = op.timeouts
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=t.connection_timeout_s, sock_read=t.read_timeout_s
        )
        failure: OriginFailure = OriginFailure("unreachable")
        for _ in range(t.connection_attempts):
            try:
                async with self.session.request(
                    oreq.method,
                    URL(url, encoded=True),
                    headers=headers,
                    data=body if body or oreq.method in ("POST", "PUT", "PATCH") else None,
                    timeout=timeout,
                    allow_redirects=False,
                ) as r:
                    limit = self.config.max_object_bytes
                    if oreq.method == "HEAD":  # no body: keep the length it announced
                        cl = r.headers.get("Content-Length", "")
                        rh = Headers(
                            [
                                (k.decode("latin-1"), v.decode("latin-1"))
                                for k, v in r.raw_headers
                                if k.decode("latin-1").lower() not in _HOP
                            ]
                        )
                        return OriginResponse(
                            r.status, rh, None, size=int(cl) if cl.isdigit() else 0
                        )
                    data = await r.content.read(limit + 1)
                    while len(data) <= limit and not r.content.at_eof():
                        more = await r.content.read(limit + 1 - len(data))
                        if not more:
                            break
                        data += more
                    if len(data) > limit:
                        return OriginFailure("unreachable")
                    rh = Headers(
                        [
                            (k.decode("latin-1"), v.decode("latin-1"))
                            for k, v in r.raw_headers
                            if k.decode("latin-1").lower() not in _HOP
                        ]
                    )
                    return OriginResponse(r.status, rh, data)
            except aiohttp.ConnectionTimeoutError:
                failure = OriginFailure("timeout")
                continue
            except aiohttp.ClientConnectorError:
                failure = OriginFailure("unreachable")
                continue
            except (TimeoutError, aiohttp.ServerTimeoutError):
                return OriginFailure("timeout")
            except aiohttp.ClientError:
                return OriginFailure("unreachable")
        return failure

    def error_bytes(
        self, per: dict[str, _DistAtPop], status: int, why: str, *, head: bool = False
    ) -> bytes:
        """A CloudFront-style refusal (``X-Cache: Error``) for a request the edge rejects."""
        dp = per[self.default_dist] if self.default_dist in per else next(iter(per.values()))
        body = (
            f"<html><head><title>{status} ERROR</title></head><body><h1>{status} ERROR</h1>"
            f"<p>The request could not be satisfied.</p><p>{_html(why)}</p>"
            "<p>Generated by cloudfront (CloudFront)</p></body></html>"
        ).encode()
        h = cloudfront_headers(
            Headers([("Server", "CloudFront"), ("Content-Type", "text/html")]),
            "Error",
            pop=dp.pipeline.pop,
            via=dp.pipeline.via,
            request_id=dp.pipeline.ids.next(),
        )
        return render_response(status, h, body, head=head, close=True)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ---- the viewer connection ------------------------------------------------------------------

_IDLE, _HEAD, _BODY, _BUSY = 0, 1, 2, 3


class _EdgeProtocol(asyncio.Protocol):
    """One viewer connection: requests are handled one at a time, answers in order."""

    def __init__(self, server: EdgeServer, pop: PopPlan, per: dict[str, _DistAtPop]) -> None:
        self.server = server
        self.pop = pop
        self.per = per
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.state = _IDLE
        self.deadline = 0.0
        self.group = -1
        self.first = True
        self.closing = False
        self.write_paused = False
        self.read_paused = False
        self.pending: ParsedHead | None = None
        self.sent_continue = False

    # -- asyncio callbacks ------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = transport.get_extra_info("peername")
        self.group = _group_of_address(peer[0] if peer else "", len(self.server.plan.group_names))
        self.server.protocols.add(self)
        self.deadline = mono_now() + self.server.config.idle_timeout_s

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.protocols.discard(self)
        self.closing = True
        self.transport = None

    def pause_writing(self) -> None:
        self.write_paused = True
        self.deadline = mono_now() + self.server.config.body_timeout_s

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.state != _BUSY:
            self._process()

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        if not self.buf and self.state == _IDLE:
            self.state = _HEAD
            self.deadline = mono_now() + self.server.config.header_timeout_s
        self.buf += data
        if self.state == _BUSY or self.write_paused:
            lim = self.server.config.limits
            if len(self.buf) > lim.max_head + lim.max_body and self.transport is not None:
                self.transport.pause_reading()
                self.read_paused = True
            return
        self._process()

    def abort(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.abort()

    def check_timeout(self, t: float) -> None:
        if self.closing or t < self.deadline:
            return
        if self.state in (_HEAD, _BODY):
            self._refuse(408, "request timeout")
        elif self.state == _IDLE or self.write_paused:
            self.abort()

    # -- request handling -------------------------------------------------------------------
    def _refuse(self, status: int, why: str) -> None:
        if self.transport is None:
            return
        self.closing = True
        self.transport.write(self.server.error_bytes(self.per, status, why))
        self.transport.close()

    def _process(self) -> None:
        lim = self.server.config.limits
        while not self.closing and self.state != _BUSY and not self.write_paused:
            if self.pending is None:
                if not self.buf:
                    self.state = _IDLE
                    self.deadline = mono_now() + self.server.config.idle_timeout_s
                    return
                if self.state == _IDLE:
                    self.state = _HEAD
                    self.deadline = mono_now() + self.server.config.header_timeout_s
                end = self.buf.find(b"\r\n\r\n")
                if end < 0:
                    if b"\n\n" in self.buf or self.buf.startswith(b"\n"):
                        self._refuse(400, "bare LF line endings")
                    elif len(self.buf) > lim.max_head:
                        nl = self.buf.find(b"\r\n")
                        if nl < 0 or nl > lim.max_line:
                            self._refuse(414, "request line too long")
                        else:
                            self._refuse(431, "request header fields too large")
                    return
                if end > lim.max_head:
                    self._refuse(431, "request header fields too large")
                    return
                head = self.buf[:end]
                self.buf = self.buf[end + 4 :]
                if head.startswith(b"\r\n"):  # tolerate a stray CRLF between requests
                    head = head.lstrip(b"\r\n")
                try:
                    req = parse_head(head, lim)
                except HttpError as exc:
                    self._refuse(exc.status, exc.reason)
                    return
                self.pending = req
                self.sent_continue = False
                self.state = _BODY
                self.deadline = mono_now() + self.server.config.body_timeout_s
            req = self.pending
            if req.chunked:
                try:
                    got = decode_chunked(self.buf, 0, lim.max_body)
                except HttpError as exc:
                    self._refuse(exc.status, exc.reason)
                    return
                if got is None:
                    self._maybe_continue(req)
                    self._resume_reading()
                    return
                body, used = got
                self.buf = self.buf[used:]
            elif req.content_length:
                if len(self.buf) < req.content_length:
                    self._maybe_continue(req)
                    self._resume_reading()
                    return
                body = self.buf[: req.content_length]
                self.buf = self.buf[req.content_length :]
            else:
                body = b""
            self.pending = None
            self._resume_reading()
            self._dispatch(req, body)

    def _maybe_continue(self, req: ParsedHead) -> None:
        if (
            not self.sent_continue
            and req.hmap.get("expect", "").lower() == "100-continue"
            and self.transport is not None
        ):
            self.sent_continue = True
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def _resume_reading(self) -> None:
        if self.read_paused and self.transport is not None:
            self.read_paused = False
            self.transport.resume_reading()

    def _dispatch(self, req: ParsedHead, body: bytes) -> None:
        server = self.server
        arrival = mono_now()
        group = self.group
        name = req.hmap.get(CLIENT_HEADER)
        dist = server.dist_for_host(req.host)
        dp = self.per.get(dist) or self.per[next(iter(self.per))]
        if name is not None:
            g = server.group_index.get(name.strip())
            if g is None:
                known = ", ".join(server.plan.group_names[:10])
                self._refuse(400, f"unknown client group in X-Edgesim-Client (known: {known})")
                return
            group = g
        elif group < 0:
            group = dp.default_group
        rtt = server.client_rtt_s(group, self.pop.node)
        if self.first:
            self.first = False
            if server.config.handshake:
                arrival += rtt
        close = not req.keep_alive
        if req.method in ("GET", "HEAD"):
            data = server.fast_hit(dp, req, server.clock())
            if data is not None:
                self._send(data, arrival + rtt, close)
                return
        self.state = _BUSY
        server.spawn(self._slow(dp, req, body, group, arrival, rtt, close))

    async def _slow(
        self,
        dp: _DistAtPop,
        req: ParsedHead,
        body: bytes,
        group: int,
        arrival: float,
        rtt: float,
        close: bool,
    ) -> None:
        try:
            resp, at_pop = await self.server.handle(dp, req, body, group, arrival)
        except Exception as exc:  # never let one request take the listener down
            self._refuse(500, f"internal error: {type(exc).__name__}")
            return
        headers: Sequence[tuple[str, str]] = resp.headers.items
        length: int | None = None
        if req.method == "HEAD":  # the length a GET would have had
            length = resp.full_size
        data = render_response(
            resp.status,
            headers,
            resp.body or b"",
            head=req.method == "HEAD",
            close=close,
            length=length,
            keep_alive_10=req.version == "HTTP/1.0",
        )
        self._send(data, max(at_pop, arrival) + rtt, close)

    def _send(self, data: bytes, deadline: float, close: bool) -> None:
        delayer = self.server.delayer
        if delayer is not None and deadline > mono_now():
            self.state = _BUSY
            delayer.call_at(deadline, self._write, data, close)
        else:
            self._write(data, close)

    def _write(self, data: bytes, close: bool) -> None:
        t = self.transport
        if t is None or self.closing:
            return
        t.write(data)
        if close:
            self.closing = True
            t.close()
            return
        self.state = _IDLE if not self.buf else _HEAD
        if self.state == _HEAD:
            self.deadline = mono_now() + self.server.config.header_timeout_s
        self._process()


def _group_of_address(addr: str, n_groups: int) -> int:
    """Client group of a ``127.1.x.y`` source address, or -1."""
    if not addr.startswith("127.1."):
        return -1
    parts = addr.split(".")
    if len(parts) != 4 or not parts[2].isdigit() or not parts[3].isdigit():
        return -1
    i = int(parts[2]) * 256 + int(parts[3])
    return i if i < n_groups else -1


def describe(plan: EdgePlan) -> list[str]:
    """The listener map, one line per PoP (for the command line)."""
    lines = []
    for p in plan.pops:
        served = "; ".join(
            f"{d}: {', '.join(plan.group_names[g] for g in gs)}" for d, gs in p.groups.items()
        )
        rtts = ", ".join(
            f"{plan.group_names[g]} {plan.client_rtt_ms[(g, p.node)]:.1f} ms"
            for gs in p.groups.values()
            for g in gs[:3]
        )
        lines.append(f"{p.name:<10} http://{p.host}:{p.port}/  groups {served}  (RTT {rtts})")
    return lines
