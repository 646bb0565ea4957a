"""World maps of a topology (matplotlib, offline; no tiles or shapes are fetched)."""

from __future__ import annotations

import importlib.resources
import json
from functools import cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from edgesim.topology.model import (
    ClientGroup,
    EdgeLocation,
    LinkClass,
    LocalZone,
    NodeKind,
    Outpost,
    Region,
    WavelengthZone,
    World,
)


@cache
def land_rings() -> list[list[tuple[float, float]]]:
    """Country outlines (Natural Earth 1:110m, public domain), shipped with the package."""
    text = importlib.resources.files("edgesim.data").joinpath("land_110m.json").read_text("utf-8")
    rings: list[list[tuple[float, float]]] = [
        [(float(x), float(y)) for x, y in ring] for ring in json.loads(text)["rings"]
    ]
    return rings


def _segments(
    lon1: float, lat1: float, lon2: float, lat2: float
) -> list[tuple[list[float], list[float]]]:
    """A corridor as one or two straight segments, split at the antimeridian."""
    if abs(lon2 - lon1) <= 180:
        return [([lon1, lon2], [lat1, lat2])]
    # Going the short way round crosses ±180.
    if lon1 > lon2:
        lon2_shift = lon2 + 360
        frac = (180 - lon1) / (lon2_shift - lon1)
        lat_x = lat1 + frac * (lat2 - lat1)
        return [([lon1, 180], [lat1, lat_x]), ([-180, lon2], [lat_x, lat2])]
    lon1_shift = lon1 + 360
    frac = (180 - lon2) / (lon1_shift - lon2)
    lat_x = lat2 + frac * (lat1 - lat2)
    return [([lon2, 180], [lat2, lat_x]), ([-180, lon1], [lat_x, lat1])]


def draw_world_map(world: World, output: Path, *, title: str | None = None) -> None:
    """Sites, users and backbone corridors on an equirectangular map."""
    fig, ax = plt.subplots(figsize=(16, 8.4), dpi=110)
    ax.set_facecolor("#e4eef6")
    from matplotlib.patches import Polygon

    for ring in land_rings():
        ax.add_patch(
            Polygon(ring, closed=True, facecolor="#fbfaf7", edgecolor="#c9c4b8", lw=0.4, zorder=0.5)
        )
    ax.set_xlim(-180, 180)
    ax.set_ylim(-60, 78)
    ax.set_aspect("equal")
    for lon in range(-180, 181, 30):
        ax.axvline(lon, color="#d5dde5", lw=0.5, zorder=0)
    for lat in range(-60, 80, 20):
        ax.axhline(lat, color="#d5dde5", lw=0.5, zorder=0)

    nodes = world.nodes
    transit_only = 0
    for u, v, k, a in world.graph.edges(keys=True, data=True):
        nu, nv = nodes[u], nodes[v]
        if nu.kind != NodeKind.HUB or nv.kind != NodeKind.HUB:
            continue
        if k == str(LinkClass.INTERNET) and not world.graph.has_edge(u, v, str(LinkClass.BACKBONE)):
            transit_only += 1
            color, alpha = "#d9822b", 0.7  # public transit only: no AWS backbone on it
        elif k == str(LinkClass.BACKBONE):
            color, alpha = "#7a8a99", 0.8
        else:
            continue
        style = "--" if a.get("kind") == "submarine" else "-"
        for xs, ys in _segments(nu.lon, nu.lat, nv.lon, nv.lat):
            ax.plot(xs, ys, style, color=color, lw=0.8, alpha=alpha, zorder=1)

    clients = [n for n in nodes.values() if isinstance(n, ClientGroup)]
    if clients:
        biggest = max(c.population for c in clients) or 1
        ax.scatter(
            [c.lon for c in clients],
            [c.lat for c in clients],
            s=[6 + 220 * (c.population / biggest) for c in clients],
            color="#9aa5b1",
            alpha=0.45,
            edgecolors="none",
            label=f"user metros ({len(clients)}, area ~ population)",
            zorder=2,
        )

    def scatter(items: list[tuple[float, float]], **kw: object) -> None:
        if items:
            ax.scatter([x for x, _ in items], [y for _, y in items], **kw)  # type: ignore[arg-type]

    hubs = [(n.lon, n.lat) for n in nodes.values() if n.kind == NodeKind.HUB]
    scatter(hubs, s=6, color="#52606d", label=f"fibre hubs ({len(hubs)})", zorder=3)
    pops = [
        (n.lon, n.lat) for n in nodes.values() if isinstance(n, EdgeLocation) and n.tier == "edge"
    ]
    scatter(pops, s=14, color="#2680c2", label=f"edge locations ({len(pops)})", zorder=4)
    recs = [
        (n.lon, n.lat) for n in nodes.values() if isinstance(n, EdgeLocation) and n.tier != "edge"
    ]
    scatter(
        recs,
        s=60,
        marker="D",
        facecolors="none",
        edgecolors="#0b4f8a",
        linewidths=1.2,
        label=f"regional edge caches ({len(recs)})",
        zorder=5,
    )
    lzs = [(n.lon, n.lat) for n in nodes.values() if isinstance(n, LocalZone)]
    scatter(lzs, s=30, marker="^", color="#3ebd93", label=f"Local Zones ({len(lzs)})", zorder=5)
    wlzs = [(n.lon, n.lat) for n in nodes.values() if isinstance(n, WavelengthZone)]
    scatter(
        wlzs, s=30, marker="v", color="#9446ed", label=f"Wavelength zones ({len(wlzs)})", zorder=5
    )
    outs = [(n.lon, n.lat) for n in nodes.values() if isinstance(n, Outpost)]
    scatter(outs, s=110, marker="*", color="#e12d39", label=f"Outposts ({len(outs)})", zorder=6)
    regions = [n for n in nodes.values() if isinstance(n, Region)]
    scatter(
        [(r.lon, r.lat) for r in regions],
        s=70,
        marker="s",
        color="#f7c948",
        edgecolors="#8d6e00",
        label=f"regions ({len(regions)})",
        zorder=7,
    )
    for r in regions:
        ax.annotate(
            r.id,
            (r.lon, r.lat),
            xytext=(3, 3),
            textcoords="offset points",
            fontsize=6,
            color="#5c4813",
            zorder=8,
        )
    ax.plot([], [], "-", color="#7a8a99", label="terrestrial corridor")
    ax.plot([], [], "--", color="#7a8a99", label="submarine cable corridor")
    if transit_only:
        ax.plot([], [], "-", color="#d9822b", label="public transit only (no AWS backbone)")
    ax.legend(loc="lower left", fontsize=8, framealpha=0.9)
    ax.set_title(title or f"{world.name}: sites, users and backbone corridors")
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    fig.tight_layout(pad=0.4)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.stem}.tmp{output.suffix}")
    fig.savefig(tmp, bbox_inches="tight", pad_inches=0.05)
    plt.close(fig)
    tmp.replace(output)
