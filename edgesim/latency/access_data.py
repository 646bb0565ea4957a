"""Users' access networks by country: the measured excess over the world's median (no I/O).

Each value is an extra round trip, in ms, that every user in the country pays on top of their
access technology's ``rtt_ms`` (``LatencyParams.access``): the country's access and regional
networks are slower than the reference the access profiles stand for. It is derived from
Ookla Speedtest figures (multi-server latency, i.e. to nearby test servers, so it covers the
last mile and the metro network):

    extra = max(0, the country's figure - the world's median for the same kind of line)

with the world's median fixed-broadband latency 9 ms and mobile 28 ms (Ookla, Speedtest Global
Index, Q1 2023). Where Ookla's published figure is the *best* provider's (its market reports
name the provider with the lowest latency), the country's median is higher, so the extra is a
lower bound. Sources, dates and how each number was read: data/SOURCES.md and
docs/latency-model.md#access-networks-by-country. Countries not listed pay no extra.
"""

from __future__ import annotations

from typing import Final

WORLD_MEDIAN_FIXED_MS: Final = 9.0
WORLD_MEDIAN_MOBILE_MS: Final = 28.0

#: country -> (Ookla figure in ms, "fixed" or "mobile", what the figure is, period)
OOKLA_FIGURES: Final[dict[str, tuple[float, str, str, str]]] = {
    "AR": (12.0, "fixed", "lowest provider median (Movistar)", "Q1 2023"),
    "CI": (70.0, "fixed", "lowest provider latency (CANALBOX)", "Q4 2023"),
    "CM": (184.0, "mobile", "lowest provider median (blue)", "Q1 2023"),
    "CZ": (33.34, "mobile", "lowest provider (O2)", "Q2 2024"),
    "ET": (55.0, "mobile", "lowest provider median (Ethio Telecom)", "Q1 2023"),
    "MZ": (16.0, "fixed", "lowest provider latency (TVCABO)", "Q4 2023"),
    "NG": (12.0, "fixed", "lowest provider mean (KKONTech)", "Q4 2021"),
    "SN": (90.0, "fixed", "lowest provider latency (Orange)", "Q4 2023"),
}


def country_extra_rtt_ms() -> dict[str, float]:
    """Extra RTT per country, from :data:`OOKLA_FIGURES`."""
    out: dict[str, float] = {}
    for cc, (ms, kind, _, _) in OOKLA_FIGURES.items():
        ref = WORLD_MEDIAN_FIXED_MS if kind == "fixed" else WORLD_MEDIAN_MOBILE_MS
        extra = max(0.0, ms - ref)
        if extra > 0:
            out[cc] = round(extra, 2)
    return out
