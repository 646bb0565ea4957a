"""Everything a run's components share: the world, node indices, latency tables, streams."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from edgesim.errors import InputError
from edgesim.latency.params import ACCESS_KINDS
from edgesim.latency.paths import NoPath
from edgesim.latency.query import route
from edgesim.latency.tables import one_way_matrix
from edgesim.sim.rng import stream
from edgesim.topology.model import ClientGroup, LinkClass, NodeKind, Outpost, WavelengthZone, World

if TYPE_CHECKING:
    from edgesim.services.base import Service, Target

F64 = npt.NDArray[np.float64]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]

BLOCK_CELLS = 1 << 24
"""Table cells (sources × destinations) computed per call of :func:`one_way_matrix`: bounds
its temporaries (a few arrays of this many float64, 128 MB each)."""


class PairTable:
    """One-way ms from every node to the destinations asked for, read like a full matrix.

    ``table[src, dst]`` accepts what numpy fancy indexing does with ``src`` rows and ``dst``
    columns (integers, index arrays, ``np.ix_`` pairs, broadcastable arrays, or ``:`` for the
    rows). Columns are computed on first use by :func:`one_way_matrix` (the same numbers as
    the full matrix) and kept: ``first`` (the sites) all at once, any other (a client group as
    a destination) when asked for.
    """

    def __init__(self, world: World, node_keys: list[str], cls: LinkClass, first: I64) -> None:
        self.world = world
        self.node_keys = node_keys
        self.cls = cls
        self._first = first
        self._pos = np.full(len(node_keys), -1, dtype=np.int64)
        self._cols: F64 = np.empty((0, len(node_keys)))
        """Computed columns, one row per column (from every node), in ``_pos`` order."""
        self._n = 0

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.node_keys), len(self.node_keys))

    def _need(self, cols: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        pos = self._pos[cols]
        if (pos < 0).any():
            if self._n == 0:
                self._add(self._first)
            missing = np.unique(cols[self._pos[cols] < 0])
            if len(missing):
                self._add(missing)
            pos = self._pos[cols]
        return pos

    def _add(self, cols: npt.NDArray[np.int64]) -> None:
        n_new = len(cols)
        if self._n + n_new > len(self._cols):
            grown = np.empty((max(self._n + n_new, 2 * len(self._cols)), len(self.node_keys)))
            grown[: self._n] = self._cols[: self._n]
            self._cols = grown
        step = max(16, BLOCK_CELLS // max(len(self.node_keys), 1))
        for b in range(0, n_new, step):
            block = cols[b : b + step]
            dsts = [self.node_keys[int(j)] for j in block]
            part = one_way_matrix(self.world, self.node_keys, dsts, self.cls, include_access=False)
            self._cols[self._n + b : self._n + b + len(block)] = part.T
        self._pos[cols] = np.arange(self._n, self._n + n_new)
        self._n += n_new

    def __getitem__(self, key: Any) -> Any:
        rows, cols = key
        if isinstance(cols, int | np.integer):  # one destination: the common fast path
            p = self._pos[cols]
            if p < 0:
                p = self._need(np.array([cols], dtype=np.int64))[0]
            if isinstance(rows, slice):
                return self._cols[p, rows]
            return self._cols[p, rows if isinstance(rows, int | np.integer) else np.asarray(rows)]
        if isinstance(cols, slice):
            cols = np.arange(len(self.node_keys))[cols]
        c = np.asarray(cols, dtype=np.int64)
        pos = self._need(c.ravel()).reshape(c.shape)
        if isinstance(rows, slice):
            got = self._cols[pos, rows]
            return np.moveaxis(got, -1, 0) if got.ndim > 1 else got
        return self._cols[pos, np.asarray(rows, dtype=np.int64)]


@dataclass
class SimContext:
    world: World
    seed: int
    file: str | None = None
    groups: list[str] = field(default_factory=list)
    """Client group node keys taking part, in a fixed order (index = group number)."""
    services: list[Service] = field(default_factory=list)
    targets: dict[str, Target] = field(default_factory=dict)
    now_ns: int = 0
    chunk_start_ns: int = 0
    chunk_ns: int = 0
    warmup_ns: int = 0
    load_changed: bool = False
    """True in a chunk that starts at an event or a flash crowd's edge: rate estimates carried
    over from the previous chunk do not apply."""
    """Requests before this are served (caches warm up) but left out of every count."""
    events: list[dict[str, Any]] = field(default_factory=list)
    workloads: list[Any] = field(default_factory=list)
    """The scenario's workload specs (services that cache need their headers)."""
    base_dir: Path | None = None
    """Folder of the scenario file (relative paths in it start there)."""
    files: dict[str, str] = field(default_factory=dict)
    """Text of the files services refer to (``Service.input_files``), read by the loader."""
    group_subnets: list[str] = field(default_factory=list)
    """Each client group's users' subnet (ECS, IP-based routing), by group number."""
    group_labels: list[str] = field(default_factory=list)
    """Client group names by group number."""
    start_utc: datetime | None = None
    """Wall-clock time the run starts at (schedules such as maintenance windows' cron)."""
    """Each client group's users' subnet (ECS, IP-based routing), by group number."""
    _tables: dict[Any, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.node_keys: list[str] = [
            k for k, n in self.world.nodes.items() if n.kind != NodeKind.HUB
        ]
        self.node_index: dict[str, int] = {k: i for i, k in enumerate(self.node_keys)}
        # Every node users or sites connect to (all but client groups): the columns a latency
        # table computes in one go the first time it is read.
        self._site_cols: I64 = np.array(
            [
                i
                for i, k in enumerate(self.node_keys)
                if self.world.nodes[k].kind != NodeKind.CLIENT
            ],
            dtype=np.int64,
        )

    # ---- randomness --------------------------------------------------------------------
    def rng(self, name: str) -> np.random.Generator:
        return stream(self.seed, name)

    # ---- lookups -----------------------------------------------------------------------
    def idx(self, key: str) -> int:
        return self.node_index[key]

    def group_names(self) -> list[str]:
        """Client group names by group number (``metro`` or ``entry/metro``)."""
        return self.group_labels or [k.split(":", 1)[-1] for k in self.groups]

    def group_of_node(self) -> dict[int, int]:
        """Client group number of each client group node."""
        key = ("group_of_node", len(self.groups))
        cached: dict[int, int] | None = self._tables.get(key)
        if cached is None:
            cached = {}
            for i, g in enumerate(self.groups):
                cached.setdefault(self.node_index[g], i)
            self._tables[key] = cached
        return cached

    def group_node(self) -> I32:
        """Node index of each client group."""
        key = ("group_node", len(self.groups))
        cached = self._tables.get(key)
        if cached is None:
            cached = np.array([self.node_index[g] for g in self.groups], dtype=np.int32)
            self._tables[key] = cached
        out: I32 = cached
        return out

    def resolve(self, name: str, what: str, kinds: tuple[NodeKind, ...] | None = None) -> str:
        try:
            return self.world.resolve(name, kinds)
        except InputError as exc:
            raise InputError(
                [p.__class__(p.message, path=what, expected=p.expected) for p in exc.problems],
                file=self.file,
            ) from None

    # ---- latency tables ----------------------------------------------------------------
    def one_way_ms(self, cls: LinkClass) -> PairTable:
        """One-way ms between non-hub nodes over ``cls`` links, last mile excluded (the
        engine adds each request's own access network), indexed ``[src, dst]`` by node index
        like a matrix. Only the destinations a run asks for are computed (a column per
        destination, from every node), so memory and set-up grow with the number of client
        groups, not with its square."""
        key = ("one_way", str(cls), self.world.version)
        cached = self._tables.get(key)
        if cached is None:
            self._tables = {
                k: v
                for k, v in self._tables.items()
                if k[-1] == self.world.version or k[0] == "group_node"
            }
            cached = PairTable(self.world, self.node_keys, cls, self._site_cols)
            self._tables[key] = cached
        out: PairTable = cached
        return out

    def client_one_way_ms(self, src: Sequence[int] | I32, dst: Sequence[int] | I32) -> F64:
        """One-way ms from users' nodes to the nodes they connect to, by the rules of the
        destination's kind (Wavelength: the carrier's 5G network or via the parent region;
        Outposts: the LAN or via the region's service link), last mile excluded."""
        s = np.asarray(src, dtype=np.int64)
        d = np.asarray(dst, dtype=np.int64)
        out: F64 = np.array(self.one_way_ms(LinkClass.INTERNET)[s, d], dtype=np.float64)
        special = self._special_columns()
        if special:
            for j in np.unique(d):
                if int(j) in special:
                    sel = d == j
                    out[sel] = self._special_one_way(s[sel], int(j))
        return out

    def _special_columns(self) -> set[int]:
        key = ("special", self.world.version)
        cached = self._tables.get(key)
        if cached is None:
            cached = {
                i
                for i, k in enumerate(self.node_keys)
                if isinstance(self.world.nodes[k], WavelengthZone | Outpost)
            }
            self._tables[key] = cached
        out: set[int] = cached
        return out

    def _special_one_way(self, src: npt.NDArray[np.int64], dst: int, *, users: bool = True) -> F64:
        out = np.empty(len(src))
        for u in np.unique(src):
            key = ("special_pair", int(u), dst, users, self.world.version)
            val = self._tables.get(key)
            if val is None:
                a, b = self.node_keys[int(u)], self.node_keys[dst]
                try:
                    res = route(self.world, a, b)
                    val = res.one_way_ms - res.access_one_way_ms
                except NoPath:
                    val = float("inf")
                self._tables[key] = val
            out[src == u] = val
        return out

    def site_one_way_ms(self, src: Sequence[int] | I32, dst: int) -> F64:
        """One-way ms inside AWS from nodes ``src`` (edge locations, regions, zones) to site
        ``dst``: the backbone, with Local Zones, Wavelength zones and Outposts reached
        through their parent region (0 from a node to itself)."""
        s = np.asarray(src, dtype=np.int64)
        out: F64 = self.one_way_ms(LinkClass.BACKBONE)[s, dst].copy()
        bad = ~np.isfinite(out)
        if bad.any():
            out[bad] = self._special_one_way(s[bad], dst, users=False)
        out[s == dst] = 0.0
        return out

    def site_one_way_ms_pairs(self, src: npt.NDArray[np.int64], dst: npt.NDArray[np.int64]) -> F64:
        """Like :meth:`site_one_way_ms`, pairwise: ``src[i]`` to ``dst[i]``."""
        out = np.empty(len(src))
        for d in np.unique(dst):
            sel = dst == d
            out[sel] = self.site_one_way_ms(src[sel].astype(np.int32), int(d))
        return out

    def extra_loss(self, src: I32, dst: I32) -> F64:
        """Loss added by degraded links (``degrade: {loss: …}``) on each user's path, 0 when
        nothing is degraded."""
        out = np.zeros(len(src))
        key0 = ("degraded", self.world.version)
        degraded = self._tables.get(key0)
        if degraded is None:
            degraded = any(
                a.get("extra_loss", 0.0) > 0 for _, _, a in self.world.graph.edges(data=True)
            )
            self._tables[key0] = degraded
        if not degraded:
            return out
        pairs = np.stack([np.asarray(src, np.int64), np.asarray(dst, np.int64)], axis=1)
        uniq, inverse = np.unique(pairs, axis=0, return_inverse=True)
        vals = np.zeros(len(uniq))
        for i, (u, v) in enumerate(uniq.tolist()):
            key = ("extra_loss", u, v, self.world.version)
            val = self._tables.get(key)
            if val is None:
                try:
                    res = route(self.world, self.node_keys[u], self.node_keys[v])
                except NoPath:
                    val = 0.0
                else:
                    ok = 1.0
                    for h in res.hops:
                        attrs = self.world.graph.edges[h.src, h.dst, h.link_class]
                        ok *= 1.0 - float(attrs.get("extra_loss", 0.0))
                    val = 1.0 - ok
                self._tables[key] = val
            vals[i] = val
        out[:] = vals[inverse.ravel()]
        return out

    def access_rtt_ms(self) -> F64:
        """Round trip of each access kind's last mile, indexed like ACCESS_KINDS."""
        p = self.world.params
        return np.array([p.access[a].rtt_ms for a in ACCESS_KINDS])

    def group_of(self, i: int) -> ClientGroup:
        node = self.world.nodes[self.groups[i]]
        assert isinstance(node, ClientGroup)
        return node

    def log_event(self, at_ns: int, what: str, **details: Any) -> None:
        kept = {k: v for k, v in details.items() if not (k == "note" and not v)}
        self.events.append({"at_s": at_ns / 1e9, "what": what, **kept})
