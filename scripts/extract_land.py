"""Extract world land outlines into ``edgesim/data/land_110m.json``.

What it reads
    The Natural Earth 1:110m admin-0 countries shapefile (public domain) that geopandas versions
    before 1.0 shipped inside their wheel as
    ``geopandas/datasets/naturalearth_lowres/naturalearth_lowres.{shp,shx,dbf,cpg}``.
    The shapefile is read straight out of the geopandas wheel (a zip archive), so nothing needs
    to be unpacked and no network access is needed once the wheel is on disk.

Where the wheel comes from
    It is an ordinary PyPI download; only the wheel file is used, geopandas is never installed::

        pip download --no-deps geopandas==0.14.4 -d /tmp/gpd

What it writes
    A compact JSON file ``{"source": ..., "rings": [[[lon, lat], ...], ...]}`` holding every
    exterior ring of every country polygon (holes are skipped), with coordinates rounded to two
    decimals, consecutive duplicate points dropped and Antarctica left out.

Requirements
    The pure-Python ``pyshp`` package (``import shapefile``). It is a build-time tool only and is
    not a dependency of edgesim; run this script from a throwaway venv::

        python -m venv /tmp/shpvenv && /tmp/shpvenv/bin/pip install pyshp
        /tmp/shpvenv/bin/python scripts/extract_land.py

    ``--wheel`` defaults to ``/tmp/gpd/geopandas-0.14.4-py3-none-any.whl`` and ``--out`` to
    ``edgesim/data/land_110m.json``; the output is deterministic for a given wheel.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import zipfile
from collections.abc import Sequence
from pathlib import Path

import shapefile  # type: ignore[import-untyped, import-not-found, unused-ignore]  # pyshp

SOURCE = (
    "Natural Earth 1:110m admin-0 countries via geopandas 0.14.4 naturalearth_lowres "
    "(public domain)"
)
DATASET = "geopandas/datasets/naturalearth_lowres/naturalearth_lowres"
DEFAULT_WHEEL = Path("/tmp/gpd/geopandas-0.14.4-py3-none-any.whl")
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "edgesim" / "data" / "land_110m.json"
SKIP_NAMES = frozenset({"Antarctica"})
DECIMALS = 2

Point = tuple[float, float]
Ring = list[list[float]]


def signed_area(points: Sequence[Point]) -> float:
    """Shoelace signed area; negative for clockwise rings (shapefile exteriors)."""
    total = 0.0
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        total += x0 * y1 - x1 * y0
    return total / 2.0


def open_reader(wheel: Path) -> shapefile.Reader:
    """Open the naturalearth_lowres shapefile directly from inside the geopandas wheel."""
    with zipfile.ZipFile(wheel) as zf:
        parts = {ext: io.BytesIO(zf.read(f"{DATASET}.{ext}")) for ext in ("shp", "shx", "dbf")}
        # The .cpg sidecar names the .dbf text encoding (ISO-8859-1 here, e.g. "Côte d'Ivoire").
        encoding = zf.read(f"{DATASET}.cpg").decode("ascii").strip()
    return shapefile.Reader(shp=parts["shp"], shx=parts["shx"], dbf=parts["dbf"], encoding=encoding)


def compact_ring(points: Sequence[Point]) -> Ring:
    """Round to ``DECIMALS`` and drop consecutive duplicate points."""
    out: Ring = []
    for x, y in points:
        pt = [round(float(x), DECIMALS), round(float(y), DECIMALS)]
        if not out or pt != out[-1]:
            out.append(pt)
    return out


def exterior_rings(reader: shapefile.Reader) -> list[Ring]:
    """Every exterior (clockwise) ring of every country except those in ``SKIP_NAMES``."""
    names = [f[0] for f in reader.fields[1:]]
    name_idx = names.index("name")
    rings: list[Ring] = []
    for shape_rec in reader.iterShapeRecords():
        if shape_rec.record[name_idx] in SKIP_NAMES:
            continue
        shape = shape_rec.shape
        pts: list[Point] = [(float(p[0]), float(p[1])) for p in shape.points]
        bounds = [*shape.parts, len(pts)]
        for start, end in itertools.pairwise(bounds):
            raw = pts[start:end]
            if signed_area(raw) >= 0:  # counter-clockwise: a hole
                continue
            ring = compact_ring(raw)
            if len(ring) >= 4:  # a closed ring needs at least three distinct vertices
                rings.append(ring)
    return rings


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--wheel", type=Path, default=DEFAULT_WHEEL, help="geopandas <1.0 wheel")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output JSON path")
    args = parser.parse_args(argv)

    rings = exterior_rings(open_reader(args.wheel))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as fh:
        json.dump({"source": SOURCE, "rings": rings}, fh, separators=(",", ":"))
        fh.write("\n")
    n_points = sum(len(r) for r in rings)
    size = args.out.stat().st_size
    print(f"wrote {args.out}: {len(rings)} rings, {n_points} points, {size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
