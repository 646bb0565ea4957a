"""Users' round-trip measurements: parsing and placing them in a world (no I/O).

Two formats (``edgesim calibrate`` and ``edgesim topo compare``, docs/latency-model.md):

- **CSV** with a header holding ``src,dst,rtt_ms`` (other columns are ignored). ``src`` and
  ``dst`` name a place: a region code (``eu-west-1``), an edge location id (``NRT57``) or its
  three-letter city prefix (``NRT``), a client metro id (``tokyo``) or metro name (``Tokyo``),
  any node as ``kind:id``, or a point ``lat,lon`` (quoted in the CSV).
- **RIPE Atlas ping results** (the JSON list the API and ``ripe-atlas`` tools write: one
  object per probe and measurement round, with ``prb_id``, ``dst_addr`` / ``dst_name`` and
  ``result: [{"rtt": ...}, ...]``), plus a **location map**: a CSV with columns ``id,location``
  that places every probe id and every destination address or name with any of the place forms
  above. Each result's RTT is the median of its replies; results with no reply are skipped.

A point becomes a client group of the world (``pt-…``, fibre access, attached to its nearest
hub like every other site); its measured RTT then includes a fibre last mile. Every problem is
an :class:`~edgesim.errors.InputError` with the file and line (or result index): unknown names,
RTTs that are not numbers, negative, or below light in fibre over the great-circle distance.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import statistics
from dataclasses import dataclass

from edgesim.errors import InputError, Problem
from edgesim.geo import great_circle_km
from edgesim.latency.fit import Measurement
from edgesim.latency.params import FIBRE_KM_PER_MS
from edgesim.topology.model import KIND_ALIASES
from edgesim.topology.schema import ClientGroupSpec, TopologyFile

_POINT = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True, slots=True)
class Row:
    """One measurement as read: two place names, the RTT and where it was read."""

    src: str
    dst: str
    rtt_ms: float
    line: int | None
    where: str
    """``line N`` or ``result [i]``, for messages."""


def parse_csv(text: str, file: str) -> list[Row]:
    """Rows of a ``src,dst,rtt_ms`` CSV (header required)."""
    reader = csv.DictReader(io.StringIO(text))
    cols = [c.strip() for c in (reader.fieldnames or [])]
    missing = [c for c in ("src", "dst", "rtt_ms") if c not in cols]
    if missing:
        raise InputError.single(
            f"the header has no {', '.join(missing)} column",
            file=file,
            line=1,
            expected="a header line with src,dst,rtt_ms",
        )
    rows: list[Row] = []
    problems: list[Problem] = []
    for rec in reader:
        line = reader.line_num
        rec = {(k or "").strip(): (v or "").strip() for k, v in rec.items()}
        try:
            rtt = float(rec["rtt_ms"])
        except ValueError:
            problems.append(
                Problem(
                    f"rtt_ms '{rec['rtt_ms']}' is not a number",
                    path="rtt_ms",
                    line=line,
                    expected="milliseconds, e.g. 42.5",
                )
            )
            continue
        rows.append(Row(rec["src"], rec["dst"], rtt, line, f"line {line}"))
    if problems:
        raise InputError(problems, file=file)
    if not rows:
        raise InputError.single("no measurements", file=file, expected="src,dst,rtt_ms rows")
    return rows


def parse_locations(text: str, file: str) -> dict[str, str]:
    """An ``id,location`` CSV: probe ids and destination addresses or names → places."""
    reader = csv.DictReader(io.StringIO(text))
    cols = [c.strip() for c in (reader.fieldnames or [])]
    if "id" not in cols or "location" not in cols:
        raise InputError.single(
            "the location map needs the columns id,location",
            file=file,
            line=1,
            expected="a header line with id,location",
        )
    out: dict[str, str] = {}
    for rec in reader:
        ident = (rec.get("id") or "").strip()
        if ident:
            out[ident] = (rec.get("location") or "").strip()
    return out


def parse_atlas(text: str, file: str, locations: dict[str, str], loc_file: str) -> list[Row]:
    """RIPE Atlas ping results, placed with the location map."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError.single(
            f"not JSON: {exc.msg}", file=file, line=exc.lineno, expected="RIPE Atlas results"
        ) from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise InputError.single("expected a list of ping results", file=file)
    rows: list[Row] = []
    problems: list[Problem] = []
    for i, res in enumerate(data):
        if not isinstance(res, dict) or "prb_id" not in res or "result" not in res:
            problems.append(
                Problem(
                    "not a ping result", path=f"[{i}]", expected="an object with prb_id, result"
                )
            )
            continue
        probe = str(res["prb_id"])
        dst = str(res.get("dst_addr") or res.get("dst_name") or "")
        rtts = [
            float(r["rtt"])
            for r in res.get("result") or []
            if isinstance(r, dict) and isinstance(r.get("rtt"), int | float)
        ]
        if not rtts:
            continue  # every packet lost: nothing to fit
        where = f"result [{i}]"
        src_place = locations.get(probe) or locations.get(f"probe:{probe}")
        dst_place = locations.get(dst) or locations.get(str(res.get("dst_name") or ""))
        for what, ident, place in (("probe", probe, src_place), ("destination", dst, dst_place)):
            if not place:
                problems.append(
                    Problem(
                        f"{what} '{ident}' is not in the location map {loc_file}",
                        path=f"[{i}]",
                        expected="an id,location row for it",
                    )
                )
        if src_place and dst_place:
            rows.append(Row(src_place, dst_place, statistics.median(rtts), None, where))
    if problems:
        raise InputError(problems[:20], file=file)
    if not rows:
        raise InputError.single("no ping result with a reply", file=file)
    return rows


class Placer:
    """Resolves place names to nodes of a topology, adding a client group per point."""

    def __init__(self, topo: TopologyFile) -> None:
        self.topo = topo
        self.points: dict[str, ClientGroupSpec] = {}
        self._coords: dict[str, tuple[float, float]] = {}
        names: dict[str, str] = {}
        for r in topo.regions:
            names[r.code.lower()] = f"region:{r.code}"
            self._coords[f"region:{r.code}"] = (r.lat, r.lon)
        for e in sorted(topo.edge_locations, key=lambda e: (e.tier != "edge", e.id)):
            key = f"pop:{e.id}"
            names.setdefault(e.id.lower(), key)
            names.setdefault(e.id[:3].lower(), key)
            self._coords[key] = (e.lat, e.lon)
        for c in topo.client_groups:
            key = f"client:{c.id}"
            names.setdefault(c.id.lower(), key)
            names.setdefault(c.metro.lower(), key)
            self._coords[key] = (c.lat, c.lon)
        for z in topo.local_zones:
            names.setdefault(z.code.lower(), f"lz:{z.code}")
            self._coords[f"lz:{z.code}"] = (z.lat, z.lon)
        self._names = names

    def place(self, name: str) -> str | None:
        """The node key for ``name``, or None if nothing in the world has that name."""
        m = _POINT.match(name)
        if m:
            lat, lon = float(m.group(1)), float(m.group(2))
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                return None
            ident = f"pt-{lat:.4f}-{lon:.4f}".replace("--", "-m").replace(".", "_")
            key = f"client:{ident}"
            if ident not in self.points:
                self.points[ident] = ClientGroupSpec(
                    id=ident,
                    metro=f"point {lat:.4f},{lon:.4f}",
                    country="ZZ",
                    lat=lat,
                    lon=lon,
                    population=0,
                    access="fibre",
                )
                self._coords[key] = (lat, lon)
            return key
        prefix, sep, ident = name.partition(":")
        if sep and prefix in KIND_ALIASES:
            key = f"{KIND_ALIASES[prefix]}:{ident}"
            return key if key in self._coords else None
        return self._names.get(name.strip().lower())

    def coords(self, key: str) -> tuple[float, float]:
        return self._coords[key]

    def topology(self) -> TopologyFile:
        """The topology with a client group for every point placed so far."""
        if not self.points:
            return self.topo
        return self.topo.model_copy(
            update={"client_groups": [*self.topo.client_groups, *self.points.values()]}
        )


def place_all(
    rows: list[Row], placer: Placer, file: str, fibre_km_per_ms: float = FIBRE_KM_PER_MS
) -> list[Measurement]:
    """Measurements with node keys; refuses what cannot be placed or cannot be physical."""
    out: list[Measurement] = []
    problems: list[Problem] = []
    for r in rows:
        keys = []
        for field, name in (("src", r.src), ("dst", r.dst)):
            key = placer.place(name)
            if key is None:
                problems.append(
                    Problem(
                        f"{field} '{name}' is not a place in this world",
                        path=r.where if r.line is None else field,
                        line=r.line,
                        expected="a region code, PoP id or city prefix, metro, kind:id or "
                        "'lat,lon'",
                    )
                )
            keys.append(key)
        if not math.isfinite(r.rtt_ms) or r.rtt_ms < 0:
            problems.append(
                Problem(
                    f"rtt_ms {r.rtt_ms} is negative",
                    path=r.where if r.line is None else "rtt_ms",
                    line=r.line,
                    expected="a round trip of 0 ms or more",
                )
            )
            continue
        src, dst = keys
        if src is None or dst is None:
            continue
        (la, oa), (lb, ob) = placer.coords(src), placer.coords(dst)
        floor = 2.0 * great_circle_km(la, oa, lb, ob) / fibre_km_per_ms
        if r.rtt_ms < floor:
            problems.append(
                Problem(
                    f"rtt_ms {r.rtt_ms:g} between {r.src} and {r.dst} is below light in fibre "
                    f"over their great-circle distance ({floor:.2f} ms)",
                    path=r.where if r.line is None else "rtt_ms",
                    line=r.line,
                    expected=f"at least {floor:.2f} ms (1 ms per ~100 km, there and back)",
                )
            )
            continue
        out.append(Measurement(src, dst, r.rtt_ms, f"{file}:{r.where}"))
    if problems:
        raise InputError(problems[:20], file=file)
    return out
