"""How long TCP takes to move a response of a given size (vectorised, no I/O).

Model (Cardwell, Savage and Anderson, "Modeling TCP Latency", INFOCOM 2000, simplified to the
bulk-data phase; Mathis, Semke, Mahdavi and Ott, "The Macroscopic Behavior of the TCP
Congestion Avoidance Algorithm", CCR 1997):

* slow start from an initial window of 10 segments (RFC 6928), doubling each round trip;
* the window stops growing at the bandwidth-delay product of the bottleneck, ``rate × RTT``;
* the rate is the access bandwidth, capped under loss ``p`` at Mathis' steady-state throughput
  ``MSS / (RTT · sqrt(2p/3))``;
* a transfer that ends during slow start takes ``(rounds − 1) × RTT`` plus the serialisation
  of its last window after its first byte leaves (``rounds`` windows of 10, 20, 40 …
  segments; the earlier windows' serialisation overlaps the round trips); a longer one spends
  ``k`` round trips in slow start (until the window fills the pipe) and sends the rest at
  ``rate``.

Handshake costs (TCP 1 RTT, TLS 1.3 1 RTT, TLS 1.2 2 RTT) are accounted by the caller.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

MSS_BYTES = 1460
INITIAL_WINDOW_SEGMENTS = 10


def mathis_rate_bytes_per_s(rtt_ms: npt.ArrayLike, loss: npt.ArrayLike) -> FloatArray:
    """Steady-state TCP throughput under random loss (inf where loss is 0)."""
    rtt_s = np.maximum(np.asarray(rtt_ms, dtype=np.float64), 1e-3) / 1000.0
    p = np.asarray(loss, dtype=np.float64)
    with np.errstate(divide="ignore"):
        out: FloatArray = np.where(
            p > 0, MSS_BYTES / (rtt_s * np.sqrt(2.0 * np.maximum(p, 1e-12) / 3.0)), np.inf
        )
    return out


def transfer_ms(
    size_bytes: npt.ArrayLike,
    rtt_ms: npt.ArrayLike,
    bandwidth_bytes_per_s: npt.ArrayLike,
    loss: npt.ArrayLike = 0.0,
    *,
    initial_window: int = INITIAL_WINDOW_SEGMENTS,
    mss: int = MSS_BYTES,
) -> FloatArray:
    """Milliseconds from the first byte sent to the last byte received, per transfer."""
    size = np.maximum(np.asarray(size_bytes, dtype=np.float64), 0.0)
    rtt = np.maximum(np.asarray(rtt_ms, dtype=np.float64), 1e-3)
    rate = np.minimum(
        np.asarray(bandwidth_bytes_per_s, dtype=np.float64), mathis_rate_bytes_per_s(rtt, loss)
    )
    segments = np.maximum(np.ceil(size / mss), 1.0)
    # Window (segments) at which the pipe is full.
    w_max = np.maximum(rate * rtt / 1000.0 / mss, float(initial_window))
    # Rounds of slow start before the window reaches w_max, and what they carry.
    k_ss = np.ceil(np.log2(w_max / initial_window))
    carried_ss = initial_window * (np.exp2(k_ss) - 1.0)
    rounds_in_ss = np.maximum(np.ceil(np.log2(segments / initial_window + 1.0)), 1.0)
    # Earlier windows' serialisation hides under the round trips; the last one's does not.
    before_last = initial_window * (np.exp2(rounds_in_ss - 1.0) - 1.0) * mss
    last_bytes = np.maximum(size - before_last, 0.0)
    within_ss = (rounds_in_ss - 1.0) * rtt + last_bytes / rate * 1000.0
    after_ss = k_ss * rtt + np.maximum(size - carried_ss * mss, 0.0) / rate * 1000.0
    out: FloatArray = np.where(segments <= carried_ss, within_ss, after_ss)
    return out
