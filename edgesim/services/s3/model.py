"""S3 Transfer Acceleration: how long an upload (or download) takes direct and through an edge.

I/O-free and vectorised (numpy arrays broadcast against each other: client groups × sizes).
The formulas, their sources and the choices made where AWS is silent are in
``docs/s3-transfer-acceleration.md``; in short:

**One TCP connection** (:func:`edgesim.transfer.transfer_ms`): slow start from an initial
window of 10 segments (RFC 6928) up to the bandwidth-delay product, then the bottleneck rate,
capped under loss ``p`` by Mathis' steady-state throughput ``MSS / (RTT · sqrt(2p/3))``
(Cardwell, Savage and Anderson, "Modeling TCP Latency", INFOCOM 2000; Mathis, Semke, Mahdavi
and Ott, "The Macroscopic Behavior of the TCP Congestion Avoidance Algorithm", CCR 1997).

**Multipart upload** (the S3 API: CreateMultipartUpload, UploadPart × k, Complete…): ``k =
⌈S / P⌉`` parts over ``n = min(N, k)`` parallel connections, in waves of ``n`` parts. In a wave
of ``m`` parts each connection gets the fair share ``B / m`` of the access link ``B`` (capped
per connection by Mathis); the wave lasts as long as its largest part, plus one round trip
for the part's request and response. The first wave's connections are cold (slow start); later
waves reuse them with the window open (RFC 2861 decays the window only after an idle RTO, and
a connection idles one RTT between parts). Objects of at most one part go up in a single PUT.

**Split TCP** (Transfer Acceleration): the user's TCP (and TLS) connection ends at the nearest
edge location, which relays the bytes over persistent, already-open connections on the AWS
backbone to the bucket's region (RFC 3135, performance-enhancing proxies; Pathak et al.,
"Measuring and Evaluating TCP Splitting for Cloud Services", PAM 2010). The relay pipelines:
a part's data time is that of the slower leg, ``max(T_user_leg, T_backbone_leg)``, and every
request/response exchange costs the whole path's round trip ``RTT_edge + RTT_backbone``;
the handshakes cost the short leg's round trip only.

**Bypass**: AWS checks per upload whether acceleration "is likely to be faster" and, if not,
does not charge and may bypass it. Here an upload is bypassed when the modelled accelerated
time is not at least :data:`DEFAULT_BYPASS_MARGIN` (5 %) below the direct one; it then takes
the direct time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edgesim.latency.paths import nearest_pop
from edgesim.latency.query import route
from edgesim.topology.model import World
from edgesim.transfer import mathis_rate_bytes_per_s, transfer_ms

F64 = npt.NDArray[np.float64]
Arr = npt.ArrayLike

MIB = 1024 * 1024
DEFAULT_PART_SIZE = 8 * MIB
"""AWS CLI and boto3 ``multipart_chunksize`` (and ``multipart_threshold``): 8 MiB."""
DEFAULT_PARALLEL = 10
"""AWS CLI ``max_concurrent_requests`` and boto3 ``max_concurrency``: 10."""
MIN_PART_SIZE = 5 * MIB
"""S3's smallest part (all but the last)."""
MAX_PART_SIZE = 5 * 1024 * MIB
MAX_PARTS = 10_000
MAX_OBJECT_SIZE = 5 * 1024 * 1024 * MIB
DEFAULT_BYPASS_MARGIN = 0.05
"""Acceleration counts as "likely to be faster" only if it saves at least this share of the
direct time (edgesim's choice; AWS publishes no threshold)."""
HANDSHAKE_RTTS = 2.0
"""TCP (1 RTT) + TLS 1.3 (1 RTT) on a new connection; parallel connections open at once."""


def effective_part_size(size_bytes: Arr, part_size: Arr) -> F64:
    """The part size actually used: raised so that no upload needs more than 10,000 parts
    (what the AWS SDKs' transfer managers do)."""
    size = np.maximum(np.asarray(size_bytes, dtype=np.float64), 0.0)
    part = np.maximum(np.asarray(part_size, dtype=np.float64), 1.0)
    out: F64 = np.maximum(part, np.ceil(size / MAX_PARTS))
    return out


def _ms(nbytes: F64, rate: F64) -> F64:
    with np.errstate(divide="ignore", invalid="ignore"):
        out: F64 = np.where(nbytes > 0, nbytes / rate * 1000.0, 0.0)
    return out


def _waves(
    size: F64,
    part: F64,
    parallel: F64,
    bw: F64,
    rtt_user: F64,
    loss_user: F64,
    rate_bb: F64 | None,
) -> tuple[F64, F64, F64]:
    """Data time of a multipart upload's waves: (sum over waves, number of waves, parts).

    ``rate_bb`` is the per-connection rate of the backbone leg of a split connection (None for
    a direct connection); each wave then lasts as long as its slower leg."""
    k = np.maximum(np.ceil(size / part), 1.0)
    n = np.minimum(parallel, k)
    waves = np.ceil(k / n)
    mathis = mathis_rate_bytes_per_s(rtt_user, loss_user)
    # First wave: cold connections, its largest part (a full one unless there is one part).
    m1 = n
    l1 = np.minimum(part, size)
    t1 = transfer_ms(l1, rtt_user, bw / m1, loss_user)
    # Middle waves (all but the first and the last): n full parts, warm connections.
    rate_full = np.minimum(bw / n, mathis)
    t_full = _ms(part, rate_full)
    middle = np.maximum(waves - 2.0, 0.0)
    # Last wave (when there are two or more): the remaining parts, the partial one included.
    m_last = np.maximum(k - (waves - 1.0) * n, 1.0)
    bytes_last = np.maximum(size - (waves - 1.0) * n * part, 0.0)
    l_last = np.minimum(part, bytes_last)
    t_last = np.where(waves >= 2.0, _ms(l_last, np.minimum(bw / m_last, mathis)), 0.0)
    if rate_bb is not None:
        t1 = np.maximum(t1, _ms(l1, rate_bb))
        t_full = np.maximum(t_full, _ms(part, rate_bb))
        t_last = np.where(waves >= 2.0, np.maximum(t_last, _ms(l_last, rate_bb)), 0.0)
    total: F64 = t1 + middle * t_full + t_last
    return total, waves, k


def upload_ms(
    size_bytes: Arr,
    rtt_ms: Arr,
    bandwidth_bytes_per_s: Arr,
    loss: Arr = 0.0,
    *,
    part_size: Arr = DEFAULT_PART_SIZE,
    parallel: Arr = DEFAULT_PARALLEL,
    backbone_rtt_ms: Arr | None = None,
    backbone_loss: Arr = 0.0,
) -> F64:
    """Milliseconds from the connections being open to the upload's last response, per upload.

    ``rtt_ms``, ``loss`` and the bandwidth are those of the user's connection: to the region
    (direct) or to the edge location (when ``backbone_rtt_ms`` is given: split TCP, relayed to
    the region over the backbone). Objects of at most one part go up in one PUT (data + one
    round trip); larger ones as a multipart upload: Create (one round trip), the waves of parts
    (data + one round trip each) and Complete (one round trip). Handshakes are not included
    (see :data:`HANDSHAKE_RTTS`); every round trip here is the whole path's.
    """
    size = np.maximum(np.asarray(size_bytes, dtype=np.float64), 0.0)
    rtt = np.maximum(np.asarray(rtt_ms, dtype=np.float64), 1e-3)
    bw = np.asarray(bandwidth_bytes_per_s, dtype=np.float64)
    p = np.asarray(loss, dtype=np.float64)
    part = effective_part_size(size, part_size)
    par = np.maximum(np.asarray(parallel, dtype=np.float64), 1.0)
    rate_bb: F64 | None = None
    path_rtt = rtt
    if backbone_rtt_ms is not None:
        rtt_bb = np.maximum(np.asarray(backbone_rtt_ms, dtype=np.float64), 1e-3)
        # Persistent, already-open backbone connections: no handshake, no slow start; each
        # part's stream is relayed on its own connection, capped by Mathis under backbone loss.
        rate_bb = mathis_rate_bytes_per_s(rtt_bb, backbone_loss)
        path_rtt = rtt + rtt_bb
    data, waves, k = _waves(size, part, par, bw, rtt, p, rate_bb)
    multipart = k >= 2.0
    # Single PUT: data + one round trip. Multipart: Create + waves × (data + RTT) + Complete.
    out: F64 = data + np.where(multipart, waves + 2.0, 1.0) * path_rtt
    return out


@dataclass(frozen=True)
class PathInputs:
    """What the model needs about one client's two ways to the bucket (arrays broadcast)."""

    direct_rtt_ms: F64
    """User ↔ region over the public internet, last mile included."""
    direct_loss: F64
    edge_rtt_ms: F64
    """User ↔ nearest edge location over the public internet, last mile included."""
    edge_loss: F64
    backbone_rtt_ms: F64
    """Edge location ↔ region over the AWS backbone."""
    backbone_loss: F64


@dataclass(frozen=True)
class Comparison:
    """Direct vs accelerated times (ms, handshakes included) and the bypass decision."""

    direct_ms: F64
    accelerated_ms: F64
    """Through the edge, whether or not it would be bypassed."""
    bypass: npt.NDArray[np.bool_]
    """Acceleration is not faster: AWS does not charge and may bypass it."""

    @property
    def effective_ms(self) -> F64:
        """What the upload takes to the accelerate endpoint: the direct time when bypassed."""
        out: F64 = np.where(self.bypass, self.direct_ms, self.accelerated_ms)
        return out

    @property
    def speedup_pct(self) -> F64:
        """How much faster acceleration is, as AWS's Speed Comparison tool shows it:
        ``(direct / accelerated − 1) × 100`` (negative when slower)."""
        out: F64 = (self.direct_ms / self.accelerated_ms - 1.0) * 100.0
        return out

    @property
    def time_saved_pct(self) -> F64:
        """``(1 − accelerated / direct) × 100``: the S3 FAQ's "reduction in ingest time"."""
        out: F64 = (1.0 - self.accelerated_ms / self.direct_ms) * 100.0
        return out


def compare(
    size_bytes: Arr,
    paths: PathInputs,
    bandwidth_bytes_per_s: Arr,
    *,
    part_size: Arr = DEFAULT_PART_SIZE,
    parallel: Arr = DEFAULT_PARALLEL,
    bypass_margin: float = DEFAULT_BYPASS_MARGIN,
) -> Comparison:
    """Upload (or download: pass the downlink bandwidth) times direct and accelerated,
    handshakes included, and whether S3TA would bypass the transfer: unless the accelerated
    time is below ``(1 − bypass_margin) × direct``."""
    direct = HANDSHAKE_RTTS * np.asarray(paths.direct_rtt_ms) + upload_ms(
        size_bytes,
        paths.direct_rtt_ms,
        bandwidth_bytes_per_s,
        paths.direct_loss,
        part_size=part_size,
        parallel=parallel,
    )
    accel = HANDSHAKE_RTTS * np.asarray(paths.edge_rtt_ms) + upload_ms(
        size_bytes,
        paths.edge_rtt_ms,
        bandwidth_bytes_per_s,
        paths.edge_loss,
        part_size=part_size,
        parallel=parallel,
        backbone_rtt_ms=paths.backbone_rtt_ms,
        backbone_loss=paths.backbone_loss,
    )
    direct, accel = np.broadcast_arrays(direct, accel)
    return Comparison(
        direct_ms=np.asarray(direct, dtype=np.float64),
        accelerated_ms=np.asarray(accel, dtype=np.float64),
        bypass=np.asarray(~(accel < (1.0 - bypass_margin) * direct)),
    )


def bucket_name_problem(name: str) -> str | None:
    """Why S3 Transfer Acceleration cannot be enabled on bucket ``name``, or None.

    The bucket must be usable in virtual-hosted style under ``s3-accelerate.amazonaws.com``:
    DNS-compliant (3–63 characters: lowercase letters, digits and hyphens, starting and ending
    with a letter or digit) and without dots."""
    if "." in name:
        return (
            f"bucket '{name}' has a dot in its name: S3 Transfer Acceleration needs a "
            "DNS-compliant bucket name without dots"
        )
    if not 3 <= len(name) <= 63:
        return f"bucket name '{name}' must be 3 to 63 characters long"
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*[a-z0-9]", name):
        return (
            f"bucket name '{name}' is not DNS-compliant: use lowercase letters, digits and "
            "hyphens, starting and ending with a letter or digit"
        )
    return None


@dataclass(frozen=True)
class ClientPaths:
    """:class:`PathInputs` for some client groups to one region, from the latency model."""

    clients: list[str]
    edges: list[str]
    """Each client's nearest edge location (the accelerate endpoint's anycast/DNS answer)."""
    access: list[str]
    paths: PathInputs


def client_paths(
    world: World, clients: list[str], region: str, *, access: str | None = None
) -> ClientPaths:
    """Round trips and losses of each client group's direct and accelerated ways to ``region``
    (node keys), from the latency model's path queries (:func:`edgesim.latency.query.route`):
    loss is ``1 − Π(1 − loss of each hop)``, the user's last mile included (each group's own
    access network, or ``access`` for all)."""
    d_rtt, d_loss, e_rtt, e_loss, b_rtt, b_loss = ([] for _ in range(6))
    edges: list[str] = []
    kinds: list[str] = []
    for c in clients:
        direct = route(world, c, region, via="internet", access=access)
        edge = nearest_pop(world, c)
        first = route(world, c, edge, access=access)
        second = route(world, edge, region, via="backbone")
        edges.append(edge)
        kinds.append(access or str(getattr(world.nodes[c], "access", "")))
        d_rtt.append(direct.rtt_ms)
        d_loss.append(direct.loss)
        e_rtt.append(first.rtt_ms)
        e_loss.append(first.loss)
        b_rtt.append(second.rtt_ms)
        b_loss.append(second.loss)
    cols = (d_rtt, d_loss, e_rtt, e_loss, b_rtt, b_loss)
    paths = PathInputs(*(np.array(v, dtype=np.float64) for v in cols))
    return ClientPaths(list(clients), edges, kinds, paths)
