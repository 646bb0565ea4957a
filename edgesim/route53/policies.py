"""Route 53 routing-policy decisions for one name+type (I/O-free).

Every rule here cites ``docs/route53.md`` (``spec``): §Shared rules for the rules shared by all
policies, one section per policy, and §edgesim's choices for the points edgesim decides.

Health contract (spec §Shared rules): the caller passes ``healthy[i]`` for each record, already
resolved:

* a record without a health check is always healthy, so the caller passes ``True``;
* an alias with Evaluate Target Health (ETH) = Yes takes its target's health (healthy while at
  least one member of the target branch is healthy); with a check on the alias *and* ETH = Yes
  both must pass. Backing out of an all-unhealthy latency alias branch to the next-best region
  falls out of passing ``False`` for that alias record here. With ETH = No the alias is
  healthy (unless its own check fails) and the caller must still pick inside that branch.

This module never looks at checks; it only applies "pick by policy, retry among healthy, and if
no record is healthy all records are healthy" (fail-open) per policy.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

import numpy as np

from edgesim.geo import great_circle_km

Policy: TypeAlias = Literal[
    "simple", "weighted", "latency", "failover", "geolocation", "geoproximity", "multivalue", "ip"
]
FailoverRole: TypeAlias = Literal["primary", "secondary"]
BiasFormula: TypeAlias = Literal["current", "split"]
IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network

POLICIES: tuple[Policy, ...] = (
    "simple",
    "weighted",
    "latency",
    "failover",
    "geolocation",
    "geoproximity",
    "multivalue",
    "ip",
)
#: Geolocation continent codes (spec §Geolocation).
CONTINENTS = frozenset({"AF", "AN", "AS", "EU", "OC", "NA", "SA"})
#: Default location for geolocation (``CountryCode="*"``) and IP-based (``LocationName="*"``).
DEFAULT_LOCATION = "*"
#: Multivalue answers hold at most this many records (spec §Multivalue).
MULTIVALUE_MAX = 8
#: At most this many weighted records per name+type (spec §Weighted).
WEIGHTED_MAX_RECORDS = 100


@dataclass(frozen=True, kw_only=True)
class Record:
    """One record set of a name+type group (spec: each policy's section lists its fields).

    ``values`` are the resource record values; ``alias_target`` names an alias target instead
    (no policy logic depends on it; multivalue may not use aliases). ``has_health_check`` and
    ``evaluate_target_health`` are carried for validation and for the caller, which resolves
    them into ``healthy`` (see the module docstring).
    """

    policy: Policy
    set_id: str | None = None
    values: tuple[str, ...] = ()
    alias_target: str | None = None
    weight: int | None = None
    region: str | None = None
    failover: FailoverRole | None = None
    continent: str | None = None
    country: str | None = None
    subdivision: str | None = None
    lat: float | None = None
    lon: float | None = None
    bias: int = 0
    cidr_location: str | None = None
    has_health_check: bool = False
    evaluate_target_health: bool = False


@dataclass(frozen=True, kw_only=True)
class Query:
    """Where the query comes from: the ECS subnet if present, else the resolver (spec §ECS).

    ``prefix_len`` is the ECS source prefix length; ``None`` means a full-length address.
    ``latency_ms`` maps region -> measured latency for latency routing.
    """

    lat: float = 0.0
    lon: float = 0.0
    continent: str | None = None
    country: str | None = None
    subdivision: str | None = None
    ip: IPAddress | None = None
    prefix_len: int | None = None
    latency_ms: Mapping[str, float] = field(default_factory=dict)

    def network(self) -> IPNetwork | None:
        """The query's address as a network (ip/prefix_len, host bits cleared)."""
        if self.ip is None:
            return None
        plen = self.ip.max_prefixlen if self.prefix_len is None else self.prefix_len
        return ipaddress.ip_network((self.ip, plen), strict=False)


@dataclass(frozen=True)
class Answer:
    """The decision: chosen record indices, their values, and whether it is NOERROR/NODATA.

    ``nodata`` is True only when no record applies (geolocation / IP-based without a match and
    without a ``*`` default, or an empty group); the answer section is then empty.
    """

    indices: list[int]
    values: tuple[str, ...] = ()
    nodata: bool = False


class CidrCollection:
    """A CIDR collection: location name -> blocks (spec §IP-based).

    Blocks are /1-/24 for IPv4 and /1-/48 for IPv6; ``*`` is not a location in the collection
    (it is written on the record). A query network matches a block when it lies inside it, i.e.
    the query prefix is at least as long as the block's; a shorter query prefix (e.g. a /32
    query against a /48 block) does not match and falls to ``*``. Overlaps are resolved by
    longest prefix [spec: infer].
    """

    def __init__(self, locations: Mapping[str, Iterable[IPNetwork | str]]) -> None:
        self.locations: dict[str, tuple[IPNetwork, ...]] = {}
        for name, blocks in locations.items():
            if not name or name == DEFAULT_LOCATION:
                raise ValueError(f"invalid CIDR location name {name!r}")
            nets: list[IPNetwork] = []
            for block in blocks:
                net = ipaddress.ip_network(block) if isinstance(block, str) else block
                limit = 24 if net.version == 4 else 48
                if not 1 <= net.prefixlen <= limit:
                    raise ValueError(
                        f"location {name!r}: {net} must be /1-/{limit} for IPv{net.version}"
                    )
                nets.append(net)
            self.locations[name] = tuple(nets)

    def matches(self, network: IPNetwork) -> list[str]:
        """Locations holding a block that contains ``network``, longest prefix first."""
        best: dict[str, int] = {}
        for name, blocks in self.locations.items():
            for block in blocks:
                if block.version != network.version or network.prefixlen < block.prefixlen:
                    continue
                if network.network_address in block:
                    best[name] = max(best.get(name, -1), block.prefixlen)
        return sorted(best, key=lambda n: (-best[n], n))

    def match(self, network: IPNetwork) -> str | None:
        """The longest-prefix location for ``network``, or None (the caller then uses ``*``)."""
        found = self.matches(network)
        return found[0] if found else None


def biased_distance_km(distance_km: float, bias: int, formula: BiasFormula = "current") -> float:
    """Geoproximity biased distance (spec §Geoproximity).

    ``current``: ``d * (1 - bias/100)`` for every bias (the current AWS text). ``split``: the
    older text, ``d * (1 - b/100)`` for positive bias and ``d / (1 + b/100)`` for negative.
    """
    if formula == "split" and bias < 0:
        return distance_km / (1 + bias / 100)
    return distance_km * (1 - bias / 100)


def _answer(records: Sequence[Record], indices: Sequence[int]) -> Answer:
    idx = [int(i) for i in indices]
    return Answer(idx, tuple(v for i in idx for v in records[i].values))


def _nodata() -> Answer:
    return Answer([], (), nodata=True)


def _first_healthy(order: Sequence[int], healthy: Sequence[bool]) -> int:
    """First healthy index in preference order; all unhealthy -> the first (fail-open)."""
    for i in order:
        if healthy[i]:
            return i
    return order[0]


def _weighted_pick(cands: Sequence[int], weights: Sequence[float], rng: np.random.Generator) -> int:
    w = np.asarray(weights, dtype=np.float64)
    total = float(w.sum())
    p = w / total if total > 0 else None  # all zero -> equal probability
    return int(cands[int(rng.choice(len(cands), p=p))])


def _choose_simple(records: Sequence[Record], rng: np.random.Generator) -> Answer:
    # Simple: all values "in random order"; no health logic (spec §Simple).
    order = [int(i) for i in rng.permutation(len(records))]
    values = [v for i in order for v in records[i].values]
    shuffled = tuple(values[int(j)] for j in rng.permutation(len(values)))
    return Answer(order, shuffled)


def _choose_weighted(
    records: Sequence[Record], healthy: Sequence[bool], rng: np.random.Generator
) -> Answer:
    """Weighted (spec §Weighted and its truth table).

    1. Healthy non-zero records, chosen by weight/Σ.
    2. Else healthy zero-weight records, equal probability.
    3. Else (none healthy) fail-open to the *non-zero* records by weight.
    If every weight is 0, all records are equal: healthy ones first, else all. Weight-0 weighted
    *aliases* follow the same rule (spec §Weighted: edgesim's choice; the doc quote excludes them).
    """
    weights = [r.weight or 0 for r in records]
    n = len(records)
    nonzero = [i for i in range(n) if weights[i] > 0]
    if not nonzero:
        cands = [i for i in range(n) if healthy[i]] or list(range(n))
        return _answer(records, [_weighted_pick(cands, [1.0] * len(cands), rng)])
    up = [i for i in nonzero if healthy[i]]
    if up:
        return _answer(records, [_weighted_pick(up, [weights[i] for i in up], rng)])
    zero_up = [i for i in range(n) if weights[i] == 0 and healthy[i]]
    if zero_up:
        return _answer(records, [_weighted_pick(zero_up, [1.0] * len(zero_up), rng)])
    return _answer(records, [_weighted_pick(nonzero, [weights[i] for i in nonzero], rng)])


def _choose_latency(records: Sequence[Record], healthy: Sequence[bool], query: Query) -> Answer:
    """Latency: lowest measured latency; unhealthy -> next best (spec §Latency).

    Regions missing from ``query.latency_ms`` rank last (infinite latency); ties go to record
    order (edgesim's choice). All unhealthy -> the lowest-latency record (fail-open).
    """

    def key(i: int) -> tuple[float, int]:
        region = records[i].region
        lat = query.latency_ms.get(region, math.inf) if region is not None else math.inf
        return (lat, i)

    order = sorted(range(len(records)), key=key)
    return _answer(records, [_first_healthy(order, healthy)])


def _choose_failover(records: Sequence[Record], healthy: Sequence[bool]) -> Answer:
    """Failover (spec §Failover).

    Primary healthy -> primary only; primary unhealthy and secondary healthy -> secondary (a
    secondary without a check is passed as healthy, so it is returned whenever the primary is
    unhealthy); both unhealthy -> primary.
    """
    prim = [i for i, r in enumerate(records) if r.failover == "primary"]
    sec = [i for i, r in enumerate(records) if r.failover == "secondary"]
    order = prim[:1] + sec[:1] or [0]
    return _answer(records, [_first_healthy(order, healthy)])


def _geo_chain(records: Sequence[Record], query: Query) -> list[int]:
    """Matching geolocation records, smallest region first: state, country, continent, ``*``."""
    qc = (query.country or "").upper()
    qs = (query.subdivision or "").upper()
    qk = (query.continent or "").upper()
    sub, country, cont, default = [], [], [], []
    for i, r in enumerate(records):
        rc = (r.country or "").upper()
        if rc == DEFAULT_LOCATION:
            default.append(i)
        elif r.subdivision is not None:
            if qc and qs and rc == qc and r.subdivision.upper() == qs:
                sub.append(i)
        elif r.country is not None:
            if qc and rc == qc:
                country.append(i)
        elif r.continent is not None and qk and r.continent.upper() == qk:
            cont.append(i)
    return sub + country + cont + default


def _choose_geolocation(records: Sequence[Record], healthy: Sequence[bool], query: Query) -> Answer:
    """Geolocation (spec §Geolocation, with edgesim's choice for unhealthy records).

    Smallest matching region wins (subdivision, country, continent, then the ``*`` default). No
    match and no default -> NODATA. Unhealthy -> go up the hierarchy to the next matching
    record (spec §Geolocation, edgesim's choice: the general retry rule). If every matching
    record is unhealthy, fail-open returns the most specific match (records for other
    locations never apply).
    """
    chain = _geo_chain(records, query)
    if not chain:
        return _nodata()
    return _answer(records, [_first_healthy(chain, healthy)])


def _choose_geoproximity(
    records: Sequence[Record],
    healthy: Sequence[bool],
    query: Query,
    formula: BiasFormula,
) -> Answer:
    """Geoproximity: smallest biased great-circle distance (spec §Geoproximity).

    Unhealthy -> next smallest; all unhealthy -> the smallest (fail-open); ties -> record order.
    Records need coordinates (the caller resolves a Region / Local Zone to lat/lon).
    """

    def key(i: int) -> tuple[float, int]:
        r = records[i]
        if r.lat is None or r.lon is None or math.isnan(query.lat) or math.isnan(query.lon):
            return (math.inf, i)  # a client Route 53 cannot place: record order
        d = great_circle_km(query.lat, query.lon, r.lat, r.lon)
        return (biased_distance_km(d, r.bias, formula), i)

    order = sorted(range(len(records)), key=key)
    return _answer(records, [_first_healthy(order, healthy)])


def _choose_multivalue(
    records: Sequence[Record], healthy: Sequence[bool], rng: np.random.Generator
) -> Answer:
    """Multivalue: up to 8 healthy records, a random 8 when more; none healthy -> up to 8
    unhealthy ones (spec §Multivalue). Order is random."""
    pool = [i for i in range(len(records)) if healthy[i]] or list(range(len(records)))
    k = min(MULTIVALUE_MAX, len(pool))
    picked = rng.choice(len(pool), size=k, replace=False)
    return _answer(records, [pool[int(j)] for j in picked])


def _choose_ip(
    records: Sequence[Record],
    healthy: Sequence[bool],
    query: Query,
    collection: CidrCollection | None,
) -> Answer:
    """IP-based (spec §IP-based).

    Longest-prefix location that has a record, then ``*``. No match and no ``*`` -> NODATA
    [infer, as geolocation]. Unhealthy -> the next shorter matching location, then ``*``
    (edgesim's choice, as geolocation); all candidates unhealthy -> the most specific.
    """
    by_loc: dict[str, int] = {}
    for i, r in enumerate(records):
        if r.cidr_location is not None:
            by_loc.setdefault(r.cidr_location, i)
    chain: list[int] = []
    net = query.network()
    if net is not None and collection is not None:
        chain = [by_loc[loc] for loc in collection.matches(net) if loc in by_loc]
    if DEFAULT_LOCATION in by_loc:
        chain.append(by_loc[DEFAULT_LOCATION])
    if not chain:
        return _nodata()
    return _answer(records, [_first_healthy(chain, healthy)])


def choose(
    records: Sequence[Record],
    healthy: Sequence[bool],
    query: Query,
    rng: np.random.Generator,
    collection: CidrCollection | None = None,
    *,
    formula: BiasFormula = "current",
) -> Answer:
    """Decide which records of one name+type answer ``query`` (spec: docs/route53.md).

    ``healthy[i]`` is record i's resolved health (see the module docstring). The policy is the
    group's (mixed policies raise ``ValueError``; see :func:`validate_record_set`). ``rng``
    drives every random choice (simple order, weighted draw, multivalue sample), so a fixed
    seed reproduces answers. ``formula`` selects the geoproximity bias formula.
    """
    if len(healthy) != len(records):
        raise ValueError("healthy must have one entry per record")
    if not records:
        return _nodata()
    policies = {r.policy for r in records}
    if len(policies) != 1:
        raise ValueError(f"mixed routing policies in one name+type: {sorted(policies)}")
    policy = records[0].policy
    if policy == "simple":
        return _choose_simple(records, rng)
    if policy == "weighted":
        return _choose_weighted(records, healthy, rng)
    if policy == "latency":
        return _choose_latency(records, healthy, query)
    if policy == "failover":
        return _choose_failover(records, healthy)
    if policy == "geolocation":
        return _choose_geolocation(records, healthy, query)
    if policy == "geoproximity":
        return _choose_geoproximity(records, healthy, query, formula)
    if policy == "multivalue":
        return _choose_multivalue(records, healthy, rng)
    return _choose_ip(records, healthy, query, collection)


def _geo_location_key(r: Record) -> tuple[str, str, str] | None:
    if r.country == DEFAULT_LOCATION:
        return ("*", "", "")
    if r.subdivision is not None:
        return ("sub", (r.country or "").upper(), r.subdivision.upper())
    if r.country is not None:
        return ("country", r.country.upper(), "")
    if r.continent is not None:
        return ("continent", r.continent.upper(), "")
    return None


def _validate_policy(r: Record, tag: str) -> list[str]:
    problems: list[str] = []
    if r.policy == "weighted":
        if r.weight is None:
            problems.append(f"{tag}: weighted record needs a weight")
        elif not 0 <= r.weight <= 255:
            problems.append(f"{tag}: weight {r.weight} outside 0-255")
    elif r.policy == "latency":
        if r.region is None:
            problems.append(f"{tag}: latency record needs a region")
    elif r.policy == "failover":
        if r.failover is None:
            problems.append(f"{tag}: failover record needs primary or secondary")
    elif r.policy == "geolocation":
        key = _geo_location_key(r)
        if key is None:
            problems.append(f"{tag}: geolocation record needs a location")
        if r.subdivision is not None and (r.country or "").upper() != "US":
            problems.append(f"{tag}: subdivision requires country US")
        if r.continent is not None and r.country is not None:
            problems.append(f"{tag}: give a continent or a country, not both")
        if r.continent is not None and r.continent.upper() not in CONTINENTS:
            problems.append(f"{tag}: unknown continent {r.continent!r}")
    elif r.policy == "geoproximity":
        if r.lat is None or r.lon is None:
            problems.append(f"{tag}: geoproximity record needs coordinates")
        elif not (-90 <= r.lat <= 90 and -180 <= r.lon <= 180):
            problems.append(f"{tag}: coordinates out of range")
        if not -99 <= r.bias <= 99:
            problems.append(f"{tag}: bias {r.bias} outside -99..99")
    elif r.policy == "multivalue":
        if r.alias_target is not None:
            problems.append(f"{tag}: multivalue records cannot be aliases")
    elif r.policy == "ip" and r.cidr_location is None:
        problems.append(f"{tag}: IP-based record needs a CIDR location")
    return problems


def validate_record_set(
    records: Sequence[Record], collection: CidrCollection | None = None
) -> list[str]:
    """Problems Route 53 would reject in one name+type group (spec §Shared rules and each
    policy's section); empty if fine.

    With ``collection``, IP-based records must name one of its locations (or ``*``).
    """
    problems: list[str] = []
    if not records:
        return problems
    policies = sorted({r.policy for r in records})
    if len(policies) > 1:
        problems.append(f"mixed routing policies in one name+type: {policies}")
    ids: dict[str, int] = {}
    for i, r in enumerate(records):
        tag = f"record {i} ({r.set_id})"
        if r.policy == "simple":
            if r.set_id is not None:
                problems.append(f"{tag}: simple records take no set identifier")
        elif not r.set_id:
            problems.append(f"record {i}: {r.policy} record needs a set identifier")
        elif r.set_id in ids:
            problems.append(f"{tag}: duplicate set identifier (also record {ids[r.set_id]})")
        else:
            ids[r.set_id] = i
        problems.extend(_validate_policy(r, tag))
    by_policy = {p: [r for r in records if r.policy == p] for p in policies}
    if len(by_policy.get("simple", [])) > 1:
        problems.append("simple: only one record set per name+type")
    if len(by_policy.get("weighted", [])) > WEIGHTED_MAX_RECORDS:
        problems.append(f"weighted: more than {WEIGHTED_MAX_RECORDS} records")
    problems.extend(_duplicates("latency region", [r.region for r in by_policy.get("latency", [])]))
    fo = by_policy.get("failover", [])
    if fo:
        n_prim = sum(r.failover == "primary" for r in fo)
        n_sec = sum(r.failover == "secondary" for r in fo)
        if n_prim != 1:
            problems.append(f"failover: needs exactly one primary, found {n_prim}")
        if n_sec > 1:
            problems.append(f"failover: at most one secondary, found {n_sec}")
    geo_keys = [_geo_location_key(r) for r in by_policy.get("geolocation", [])]
    problems.extend(_duplicates("geolocation location", [":".join(k) for k in geo_keys if k]))
    ip_locs = [r.cidr_location for r in by_policy.get("ip", [])]
    problems.extend(_duplicates("CIDR location", ip_locs))
    if collection is not None:
        for loc in ip_locs:
            if loc not in (None, DEFAULT_LOCATION) and loc not in collection.locations:
                problems.append(f"CIDR location {loc!r} is not in the collection")
    return problems


def _duplicates(what: str, items: Sequence[str | None]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        if item is None:
            continue
        if item in seen:
            out.append(f"duplicate {what} {item!r}")
        seen.add(item)
    return out
