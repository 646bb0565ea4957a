"""A chunk of requests as parallel numpy arrays, and what happened to each (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
I16 = npt.NDArray[np.int16]
I8 = npt.NDArray[np.int8]
Bool = npt.NDArray[np.bool_]

PHASES: tuple[str, ...] = ("dns", "connect", "tls", "wait", "transfer")
"""Where a request's time goes: name resolution, TCP handshake, TLS handshake, waiting for the
first byte (request up, upstream fetches, queueing and service, first byte down) and the rest
of the response."""

RESOLVER_KINDS: tuple[str, ...] = ("isp", "public-ecs", "public-no-ecs")


@dataclass
class Batch:
    """Requests of one chunk, in time order. Index ``i`` is one request in every array."""

    t_ns: I64
    group: I32
    workload: I16
    access: I8
    resolver: I8
    obj: I64
    size: I64
    upload: I64
    new_conn: Bool
    jitter: F64
    """Gamma(k, 1/k) sample (mean 1) scaling this request's extra round-trip delay."""
    u: F64
    """A spare uniform draw for per-request decisions (packet loss on handshakes)."""
    u_dns: F64
    """A uniform draw deciding whether the stub resolver had the answer cached."""

    def __len__(self) -> int:
        return int(self.t_ns.shape[0])


@dataclass
class Outcome:
    """What happened to each request of a :class:`Batch`."""

    n: int
    phase_ms: dict[str, F64] = field(default_factory=dict)
    hop_ms: dict[str, F64] = field(default_factory=dict)
    ok: Bool = field(default_factory=lambda: np.ones(0, dtype=bool))
    status: I16 = field(default_factory=lambda: np.zeros(0, dtype=np.int16))
    result: I8 = field(default_factory=lambda: np.zeros(0, dtype=np.int8))
    """Service-specific result code (CloudFront: see edgesim.services.cloudfront.RESULTS)."""
    pop: I32 = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    """Index of the edge location that served the request, or -1."""
    site: I32 = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    """Index of the origin/endpoint site that computed the response, or -1."""

    def __post_init__(self) -> None:
        n = self.n
        for p in PHASES:
            self.phase_ms.setdefault(p, np.zeros(n))
        self.ok = np.ones(n, dtype=bool)
        self.status = np.full(n, 200, dtype=np.int16)
        self.result = np.zeros(n, dtype=np.int8)
        self.pop = np.full(n, -1, dtype=np.int32)
        self.site = np.full(n, -1, dtype=np.int32)

    def hop(self, name: str) -> F64:
        """The per-request array of time spent on hop ``name`` (created on first use)."""
        arr = self.hop_ms.get(name)
        if arr is None:
            arr = np.zeros(self.n)
            self.hop_ms[name] = arr
        return arr

    def fail(self, idx: I64 | Bool, status: int) -> None:
        self.ok[idx] = False
        self.status[idx] = status

    @property
    def total_ms(self) -> F64:
        total = np.zeros(self.n)
        for arr in self.phase_ms.values():
            total += arr
        return total


@dataclass
class Flow:
    """Requests of a batch travelling from ``src`` nodes towards a target.

    ``src`` holds node indices (see :class:`edgesim.sim.context.SimContext.node_index`);
    ``start_ns`` is when each request leaves ``src``.
    """

    idx: I64
    src: I32
    start_ns: I64

    def __len__(self) -> int:
        return int(self.idx.shape[0])

    def take(self, mask: Bool) -> Flow:
        return Flow(self.idx[mask], self.src[mask], self.start_ns[mask])
