"""Hosted zones: record sets of every type, aliases, wildcards, CNAME chains (I/O-free).

A :class:`Zone` holds Route 53 record sets (``docs/route53.md``, the policies and §On the wire):
A, AAAA, CNAME, MX, TXT, NS, SOA, SRV and CAA records with values, and alias records, each
under one routing policy per name and type. :func:`lookup` answers a question the way Route 53
does, given where the query comes from (a :class:`~edgesim.route53.policies.Query`) and the
health of checks and targets (an :class:`Env`):

* names are case-insensitive and stored in lower case (spec §On the wire, case);
* a wildcard ``*.parent`` answers names under ``parent`` that do not exist (RFC 4592: a name
  that exists with other types gets NODATA, not the wildcard; spec §On the wire, wildcards);
* a CNAME is followed inside the zone (at most :data:`MAX_CHAIN` links); a chain ending on a
  name that does not exist is NXDOMAIN (RFC 6604);
* an alias to a record in the same zone (``record:NAME``) answers with that record set's
  answer, chosen by *its* policy; with Evaluate Target Health the alias is healthy while at
  least one record in the target set is healthy, so a policy above it backs out of an
  all-unhealthy branch to its next-best record (spec §Shared rules, backtracking);
* an alias to a service target (``cloudfront:…``, ``endpoint:…``) takes its values and TTL
  from the caller (:attr:`Env.target_values`), its health from :attr:`Env.target_up`;
* names at or below a delegation (an NS record set below the apex) get a referral;
* the apex always has Route 53's SOA and NS record sets (spec §On the wire, default SOA and NS).

Loading refuses what Route 53 refuses (:meth:`Zone.validate`): bad values, mixed policies,
CNAMEs beside other types or at the apex, wildcards not in the leftmost label or on NS,
multivalue CNAMEs or aliases, aliases to missing records or of another type, alias loops.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.zone
import numpy as np

from edgesim.route53.policies import CidrCollection, Query, Record, choose, validate_record_set

#: Record types a zone may hold (issue: A, AAAA, CNAME, MX, TXT, NS, SOA, SRV, CAA).
RECORD_TYPES = ("A", "AAAA", "CNAME", "MX", "TXT", "NS", "SOA", "SRV", "CAA")
ALIAS_TYPES = frozenset({"A", "AAAA", "CNAME", "MX", "TXT", "SRV", "CAA"})
"""Alias records may have these types (Route 53: not NS or SOA, which it manages)."""
SOA_TTL = 900
NS_TTL = 172800
NEGATIVE_TTL = 900
DEFAULT_TTL = 300
"""A record set with values and no TTL gets 300 s (edgesim's choice; Route 53's console too)."""
MAX_CHAIN = 8
"""CNAME links and alias hops followed in one answer (edgesim's choice)."""
DEFAULT_SOA = "ns-1.awsdns-00.com. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400"
DEFAULT_NS = (
    "ns-1.awsdns-00.com.",
    "ns-2.awsdns-00.net.",
    "ns-3.awsdns-00.org.",
    "ns-4.awsdns-00.co.uk.",
)


def normalize(name: str, origin: str | None = None) -> str:
    """Lower-case absolute name without the trailing dot; ``@``/relative names use ``origin``."""
    n = name.strip().lower().rstrip(".")
    if origin is None:
        return n
    o = origin.strip().lower().rstrip(".")
    if n in ("@", ""):
        return o
    if n == o or n.endswith("." + o):
        return n
    return f"{n}.{o}"


@dataclass(frozen=True, eq=False)
class RecordSet:
    """One Route 53 record set: a name, a type, a policy record and values or an alias.

    ``alias`` is ``record:<absolute name>`` for an alias to a record set of the same type in
    the zone, or a service target key (``cloudfront:site``, ``endpoint:api``). ``target`` is
    the service target the record stands for in scenario runs (an alias to it, or a value
    written as ``endpoint:NAME``); None for plain values.
    """

    name: str
    rdtype: str
    model: Record
    ttl: int | None = None
    alias: str | None = None
    target: str | None = None
    health_check: str | None = None
    collection: str | None = None
    where: str = ""
    """Where the record was defined (a field path or file line) for messages."""

    @property
    def alias_record(self) -> str | None:
        if self.alias is not None and self.alias.startswith("record:"):
            return self.alias[len("record:") :]
        return None

    @property
    def values(self) -> tuple[str, ...]:
        return self.model.values


@dataclass
class Env:
    """What a decision needs to know besides the records and the query."""

    rng: np.random.Generator
    check_healthy: Callable[[str], bool] = lambda name: True
    target_up: Callable[[str], bool] = lambda key: True
    target_values: Callable[[str, str], tuple[str, ...]] = lambda key, rdtype: ()
    """Values an alias to a service target answers with for a record type (live addresses)."""
    target_ttl: Callable[[str], int] = lambda key: 60
    weight: Callable[[RecordSet], int | None] = lambda rs: None
    """A weight changed at run time (None: the record's own)."""
    collections: dict[str, CidrCollection] = field(default_factory=dict)
    used_random: bool = False
    """Set when a decision drew from ``rng`` (its answer may differ next time)."""


@dataclass(frozen=True)
class RRset:
    """Part of an answer: an owner name (as asked), a type, a TTL and the chosen records."""

    owner: str
    rdtype: str
    ttl: int
    values: tuple[str, ...]
    records: tuple[RecordSet, ...]


@dataclass
class Answer:
    """The result of :func:`lookup`."""

    rcode: str = "NOERROR"  # NOERROR | NXDOMAIN
    answer: list[RRset] = field(default_factory=list)
    referral: str | None = None
    """Owner of the delegation's NS set when the name is delegated (AA clear)."""
    used_location: bool = False
    random: bool = False
    """The answer involved a random draw (weighted, multivalue, value order)."""
    nodata: bool = False
    """The last name reached exists but has no record of the type (after any CNAMEs)."""

    @property
    def leaves(self) -> list[RecordSet]:
        """The records of the last RRset (the ones a client connects to, first one first)."""
        return list(self.answer[-1].records) if self.answer else []


LOCATION_POLICIES = frozenset({"latency", "geolocation", "geoproximity", "ip"})


class Zone:
    """A hosted zone: record sets grouped by (name, type)."""

    def __init__(self, origin: str, records: Iterable[RecordSet] = ()) -> None:
        self.origin = normalize(origin)
        self.groups: dict[tuple[str, str], list[RecordSet]] = {}
        self.names: set[str] = {self.origin}
        self.collections: dict[str, CidrCollection] = {}
        soa = Record(policy="simple", values=(DEFAULT_SOA,))
        ns = Record(policy="simple", values=DEFAULT_NS)
        self.groups[(self.origin, "SOA")] = [RecordSet(self.origin, "SOA", soa, SOA_TTL)]
        self.groups[(self.origin, "NS")] = [RecordSet(self.origin, "NS", ns, NS_TTL)]
        for rs in records:
            self.add(rs)

    def add(self, rs: RecordSet) -> None:
        self.groups.setdefault((rs.name, rs.rdtype), []).append(rs)
        name = rs.name
        while name != self.origin and name.endswith("." + self.origin):
            self.names.add(name)  # the name and its empty non-terminals exist
            name = name.split(".", 1)[1]

    def target_name(self, value: str) -> str:
        """A domain name written in a value: absolute with a final dot, else in the zone."""
        return normalize(value) if value.endswith(".") else normalize(value, self.origin)

    def contains(self, name: str) -> bool:
        return name == self.origin or name.endswith("." + self.origin)

    def record_sets(self) -> list[RecordSet]:
        return [rs for group in self.groups.values() for rs in group]

    # ---- validation -------------------------------------------------------------------
    def validate(self) -> list[tuple[str, str]]:
        """(where, message) for everything Route 53 would refuse; empty when the zone is fine."""
        out: list[tuple[str, str]] = []
        by_name: dict[str, set[str]] = {}
        for (name, rdtype), group in self.groups.items():
            by_name.setdefault(name, set()).add(rdtype)
            where = group[0].where or f"{name} {rdtype}"
            labels = name.split(".")
            if any("*" in lab for lab in labels[1:]) or ("*" in labels[0] and labels[0] != "*"):
                out.append((where, f"{name}: '*' may only be the whole leftmost label"))
            if labels[0] == "*" and rdtype == "NS":
                out.append((where, f"{name}: NS records cannot be wildcards"))
            if rdtype == "CNAME" and name == self.origin:
                out.append((where, f"{name}: a CNAME cannot be at the zone apex"))
            policies = {rs.model.policy for rs in group}
            if rdtype in ("CNAME", "NS", "SOA") and "multivalue" in policies:
                out.append((where, f"{name}: multivalue answers cannot be {rdtype} records"))
            if rdtype == "CNAME" and any(len(rs.values) > 1 for rs in group):
                out.append((where, f"{name}: a CNAME record set holds exactly one value"))
            coll = next((rs.collection for rs in group if rs.collection), None)
            if "ip" in policies and len({rs.collection for rs in group}) > 1:
                out.append((where, f"{name} {rdtype}: IP-based records use one CIDR collection"))
            if coll is not None and coll not in self.collections:
                out.append((where, f"{name}: no CIDR collection named '{coll}'"))
                continue
            for msg in validate_record_set(
                [rs.model for rs in group], self.collections.get(coll) if coll else None
            ):
                out.append((where, f"{name} {rdtype}: {msg}"))
            for rs in group:
                out.extend(self._validate_record(rs))
        for name, types in by_name.items():
            if "CNAME" in types and len(types) > 1:
                others = ", ".join(sorted(types - {"CNAME"}))
                out.append(
                    (
                        self.groups[(name, "CNAME")][0].where or name,
                        f"{name}: a CNAME cannot share its name with other records ({others})",
                    )
                )
        out.extend(self._alias_loops())
        out.extend(self._cname_loops())
        return out

    def _cname_loops(self) -> list[tuple[str, str]]:
        """CNAME chains inside the zone that come back on themselves (refused at load time:
        every answer would be a loop)."""
        out: list[tuple[str, str]] = []
        reported: set[frozenset[str]] = set()
        for (name, rdtype), group in self.groups.items():
            if rdtype != "CNAME":
                continue
            seen = [name]
            cur = name
            for _ in range(len(self.groups) + 1):
                recs = self.groups.get((cur, "CNAME"), [])
                targets = [self.target_name(rs.values[0]) for rs in recs if rs.values]
                if not targets:
                    break
                nxt = targets[0]
                if nxt in seen:
                    loop = frozenset(seen[seen.index(nxt) :])
                    if loop not in reported:
                        reported.add(loop)
                        chain = " → ".join([*seen[seen.index(nxt) :], nxt])
                        out.append((group[0].where or name, f"CNAME loop: {chain}"))
                    break
                seen.append(nxt)
                cur = nxt
        return out

    def _validate_record(self, rs: RecordSet) -> list[tuple[str, str]]:
        where = rs.where or f"{rs.name} {rs.rdtype}"
        out: list[tuple[str, str]] = []
        if rs.rdtype not in RECORD_TYPES:
            return [(where, f"record type {rs.rdtype} is not supported")]
        if rs.alias is not None:
            if rs.rdtype not in ALIAS_TYPES:
                out.append((where, f"an alias cannot have type {rs.rdtype}"))
            target = rs.alias_record
            if target is not None:
                if not self.contains(target):
                    out.append((where, f"alias target {target} is not in zone {self.origin}"))
                elif (target, rs.rdtype) not in self.groups:
                    out.append((where, f"alias target {target} has no {rs.rdtype} record"))
            return out
        if not rs.values:
            out.append((where, f"{rs.name} {rs.rdtype}: a record needs values or an alias"))
        for v in rs.values:
            if rs.rdtype in ("A", "AAAA") and v.startswith("endpoint:"):
                continue
            try:
                dns.rdata.from_text(
                    dns.rdataclass.IN, rs.rdtype, v, origin=dns.name.from_text(self.origin)
                )
            except (dns.exception.DNSException, ValueError) as exc:
                out.append((where, f"'{v}' is not a valid {rs.rdtype} value ({exc})"))
        return out

    def _alias_loops(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for (name, rdtype), group in self.groups.items():
            for rs in group:
                seen = [name]
                nxt = rs.alias_record
                while nxt is not None:
                    if nxt in seen:
                        chain = " → ".join([*seen, nxt])
                        out.append((rs.where or name, f"alias loop: {chain}"))
                        break
                    seen.append(nxt)
                    targets = self.groups.get((nxt, rdtype), [])
                    nxt = next((t.alias_record for t in targets if t.alias_record), None)
        # one message per loop is enough
        unique: dict[str, tuple[str, str]] = {}
        for where, msg in out:
            unique.setdefault(where, (where, msg))
        return list(unique.values())

    # ---- names ------------------------------------------------------------------------
    def owner_for(self, name: str) -> str | None:
        """The owner whose records answer ``name``: itself, a wildcard, or None (NXDOMAIN)."""
        if name in self.names:
            return name
        encloser = name
        while encloser != self.origin:
            encloser = encloser.split(".", 1)[1]
            if encloser in self.names:
                break
        wild = f"*.{encloser}"
        return wild if wild in self.names else None

    def delegation(self, name: str) -> str | None:
        """The NS owner (below the apex) at or above ``name``, if the name is delegated."""
        cur = name
        while cur != self.origin and cur.endswith("." + self.origin):
            if (cur, "NS") in self.groups:
                return cur
            cur = cur.split(".", 1)[1]
        return None


# ---- decisions ------------------------------------------------------------------------
def _healthy(zone: Zone, rs: RecordSet, env: Env, depth: int) -> bool:
    """A record's health (spec §Shared rules): its own check, and with ETH its target's health."""
    if rs.health_check is not None and not env.check_healthy(rs.health_check):
        return False
    if not rs.model.evaluate_target_health:
        return True
    inner = rs.alias_record
    if inner is not None:
        if depth >= MAX_CHAIN:
            return False
        group = zone.groups.get((inner, rs.rdtype), [])
        return any(_healthy(zone, r, env, depth + 1) for r in group)
    if rs.target is not None:
        return env.target_up(rs.target)  # an alias to a target, or an endpoint's address
    return True


def decide(
    zone: Zone, name: str, rdtype: str, query: Query, env: Env, depth: int = 0
) -> tuple[list[RecordSet], bool]:
    """The records answering (name, type) by the group's policy, aliases to records followed.

    Returns (records, whether a location-based policy was used). Empty: no record applies.
    """
    group = zone.groups.get((name, rdtype))
    if not group or depth > MAX_CHAIN:
        return [], False
    policy = group[0].model.policy
    if len(group) == 1 and policy == "simple":
        indices = [0]
    else:
        healthy = [_healthy(zone, rs, env, depth) for rs in group]
        models = [rs.model for rs in group]
        if policy == "weighted":
            models = [
                rs.model
                if (w := env.weight(rs)) is None
                else Record(**{**rs.model.__dict__, "weight": w})
                for rs in group
            ]
        coll = env.collections.get(group[0].collection or "") or zone.collections.get(
            group[0].collection or ""
        )
        ans = choose(models, healthy, query, env.rng, coll)
        if policy in ("simple", "weighted", "multivalue"):
            env.used_random = True
        indices = ans.indices
    located = policy in LOCATION_POLICIES
    out: list[RecordSet] = []
    for i in indices:
        rs = group[i]
        inner = rs.alias_record
        if inner is None:
            out.append(rs)
            continue
        sub, loc = decide(zone, inner, rdtype, query, env, depth + 1)
        out.extend(sub)
        located = located or loc
    return out, located


def record_ttl(rs: RecordSet, env: Env) -> int:
    """The TTL one record contributes to an answer (a target's when it has none)."""
    if rs.target is not None and (rs.alias is not None or rs.values[:1] == (rs.target,)):
        return env.target_ttl(rs.target) if rs.ttl is None else rs.ttl
    return rs.ttl if rs.ttl is not None else DEFAULT_TTL


def _rrset(
    zone: Zone, owner: str, rdtype: str, records: list[RecordSet], env: Env, simple_all: bool
) -> RRset:
    values: list[str] = []
    ttls: list[int] = []
    for rs in records:
        if rs.target is not None and (rs.alias is not None or rs.values[:1] == (rs.target,)):
            values.extend(env.target_values(rs.target, rdtype))
        else:
            values.extend(rs.values)
        ttls.append(record_ttl(rs, env))
    if simple_all and len(values) > 1:
        values = [values[int(j)] for j in env.rng.permutation(len(values))]
        env.used_random = True
    # de-duplicate (an alias tree may reach one value twice) keeping order
    uniq = tuple(dict.fromkeys(values))
    return RRset(owner, rdtype, min(ttls) if ttls else DEFAULT_TTL, uniq, tuple(records))


def lookup(zone: Zone, qname: str, rdtype: str, query: Query, env: Env) -> Answer:
    """Answer (qname, type) from ``zone`` for a query from ``query``'s place."""
    env.used_random = False
    out = _lookup(zone, normalize(qname), rdtype, query, env)
    out.random = env.used_random
    return out


def _lookup(zone: Zone, name: str, rdtype: str, query: Query, env: Env) -> Answer:
    out = Answer()
    for _hop in range(MAX_CHAIN):
        if not zone.contains(name):
            return out  # a CNAME left the zone: the resolver follows it elsewhere
        deleg = zone.delegation(name)
        if deleg is not None and not (rdtype == "DS" and deleg == name):
            if not out.answer:
                out.referral = deleg
            return out
        owner = zone.owner_for(name)
        if owner is None:
            out.rcode = "NXDOMAIN"
            return out
        if rdtype != "CNAME" and (owner, "CNAME") in zone.groups:
            recs, loc = decide(zone, owner, "CNAME", query, env)
            out.used_location |= loc
            if not recs:
                out.nodata = True
                return out
            rr = _rrset(zone, name, "CNAME", recs, env, False)
            out.answer.append(rr)
            if not rr.values:
                out.nodata = True
                return out
            name = zone.target_name(rr.values[0])
            continue
        group = zone.groups.get((owner, rdtype))
        if not group:
            out.nodata = True
            return out
        recs, loc = decide(zone, owner, rdtype, query, env)
        out.used_location |= loc
        if recs:
            simple_all = group[0].model.policy == "simple"
            rr = _rrset(zone, name, rdtype, recs, env, simple_all)
            if rr.values:
                out.answer.append(rr)
                return out
        out.nodata = True  # no record applies (geolocation / IP-based without a default)
        return out
    return out


# ---- every possible answer, for compiled tables -----------------------------------------
ORDER_FIXED = "fixed"
ORDER_SHUFFLE = "shuffle"
ORDER_SAMPLE = "sample"


@dataclass(frozen=True)
class Outcome:
    """One possible answer of :func:`enumerate_lookup` and its probability.

    ``order`` says what happens to the values of the answer's last RRset on each query:
    ``fixed`` (as listed), ``shuffle`` (a random permutation) or ``sample`` (``k`` of them,
    chosen at random, in random order: multivalue answers with more than eight records).
    """

    probability: float
    answer: Answer
    order: str = ORDER_FIXED
    k: int = 0


class _ScriptedRng:
    """Stands in for the random generator while :func:`enumerate_lookup` walks every draw.

    A weighted pick (``choice(n, p=...)``) follows ``path`` (then the first option) and
    records the options; a sample without replacement or a permutation returns every item
    in order and records itself, so the answer lists the whole pool.
    """

    def __init__(self, path: tuple[int, ...]) -> None:
        self.path = path
        self.taken: list[int] = []
        self.options: list[list[float]] = []
        self.probability = 1.0
        self.reorders: list[tuple[int, int]] = []  # (n, k): permutation when k == n

    def choice(
        self, a: int, size: int | None = None, replace: bool = True, p: object = None
    ) -> object:
        n = int(a)
        if size is None:
            d = len(self.taken)
            i = self.path[d] if d < len(self.path) else 0
            probs = [1.0 / n] * n if p is None else [float(x) for x in p]  # type: ignore[attr-defined]
            self.options.append(probs)
            self.taken.append(i)
            self.probability *= probs[i]
            return i
        if n > 1:
            self.reorders.append((n, min(int(size), n)))
        return np.arange(n)

    def permutation(self, n: int) -> object:
        if int(n) > 1:
            self.reorders.append((int(n), int(n)))
        return np.arange(int(n))


def enumerate_lookup(
    zone: Zone, qname: str, rdtype: str, query: Query, env: Env, max_outcomes: int = 4096
) -> list[Outcome] | None:
    """Every answer :func:`lookup` can give for this query, with its probability.

    The same code as :func:`lookup` runs with a scripted generator that takes each weighted
    branch in turn, so the outcomes are the policy functions' own (correct by construction);
    shuffles and multivalue samples are left to the caller (:attr:`Outcome.order`). None when
    the answers cannot be listed that way (more than ``max_outcomes``, or a reordering that
    is not of the last RRset's values).
    """
    out: list[Outcome] = []
    stack: list[tuple[int, ...]] = [()]
    name = normalize(qname)
    while stack:
        path = stack.pop()
        fake = _ScriptedRng(path)
        sub = Env(**{**env.__dict__, "rng": fake, "used_random": False})
        ans = _lookup(zone, name, rdtype, query, sub)
        ans.random = sub.used_random
        for d in range(len(path), len(fake.options)):
            probs = fake.options[d]
            for alt in range(len(probs) - 1, 0, -1):
                if probs[alt] > 0:
                    stack.append((*fake.taken[:d], alt))
        if fake.probability <= 0:
            continue
        order, k = ORDER_FIXED, 0
        if fake.reorders:
            if not ans.answer:
                return None
            last = ans.answer[-1]
            n = len(last.values)
            if any(m != n for m, _ in fake.reorders):
                return None
            k = min(kk for _, kk in fake.reorders)
            order = ORDER_SAMPLE if k < n else ORDER_SHUFFLE
            if order == ORDER_SAMPLE and len({record_ttl(rs, env) for rs in last.records}) > 1:
                return None  # the TTL would depend on the sample
        out.append(Outcome(fake.probability, ans, order, k))
        if len(out) > max_outcomes:
            return None
    return out


# ---- zone files -------------------------------------------------------------------------
_ORIGIN_RE = re.compile(r"^\$ORIGIN[ \t]+(\S+)", re.MULTILINE | re.IGNORECASE)


def file_origin(text: str) -> str | None:
    """The first ``$ORIGIN`` of a zone file, if it has one."""
    m = _ORIGIN_RE.search(text)
    return m.group(1) if m else None


def record_lines(text: str, origin: str) -> dict[tuple[str, str], int]:
    """Best effort: the line where each (owner, type) of a zone file is first written, for
    messages (dnspython keeps no line numbers for the records it accepts)."""
    out: dict[tuple[str, str], int] = {}
    cur_origin = normalize(origin)
    owner = cur_origin
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(";", 1)[0]
        if not line.strip():
            continue
        tokens = line.split()
        if tokens[0].upper() == "$ORIGIN" and len(tokens) > 1:
            cur_origin = normalize(tokens[1])
            continue
        if tokens[0].startswith("$"):
            continue
        if not line[0].isspace():
            owner = (
                normalize(tokens[0], cur_origin)
                if not tokens[0].endswith(".")
                else (normalize(tokens[0]))
            )
            tokens = tokens[1:]
        for tok in tokens:
            t = tok.upper()
            if t in RECORD_TYPES or t in ("PTR", "DS", "DNSKEY", "NAPTR", "SPF", "HINFO"):
                out.setdefault((owner, t), n)
                break
    return out


def _bad_record(text: str, origin: str) -> tuple[int, str] | None:
    """The first record line whose data dnspython refuses: (line, what is wrong)."""
    org = dns.name.from_text(origin)
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(";", 1)[0]
        tokens = line.split()
        if not tokens or tokens[0].startswith("$") or "(" in line:
            continue
        if tokens[0].upper() == "$ORIGIN" and len(tokens) > 1:
            org = dns.name.from_text(tokens[1])
        rest = tokens if line[0].isspace() else tokens[1:]
        for i, tok in enumerate(rest):
            if tok.upper() in RECORD_TYPES and tok.upper() != "SOA":
                value = " ".join(rest[i + 1 :])
                try:
                    dns.rdata.from_text(dns.rdataclass.IN, tok.upper(), value, origin=org)
                except (dns.exception.DNSException, ValueError) as exc:
                    return n, f"'{value}' is not a valid {tok.upper()} value ({exc})"
                break
    return None


def zone_from_text(text: str, origin: str | None = None, filename: str = "<zone>") -> Zone:
    """A zone from a BIND zone file (dnspython's parser).

    The file's own ``$ORIGIN`` names the zone; ``origin`` only fills in when it has none.
    Every record is parsed by dnspython (bad data such as ``A 999.1.1.1`` is refused with its
    line). Every record set becomes a simple record set with its values. The apex SOA and NS
    come from Route 53, as when a zone file is imported into a hosted zone (Route 53 ignores
    the file's apex SOA and NS), so the answers look like Route 53's. Raises ``ValueError``
    with the parser's message (it names the line) for a file dnspython refuses.
    """
    if file_origin(text) is not None:
        origin = None  # dnspython takes the first $ORIGIN
    try:
        parsed = dns.zone.from_text(
            text,
            origin=origin,
            relativize=False,
            filename=filename,
            check_origin=False,
        )
    except dns.exception.DNSException as exc:
        bad = _bad_record(text, origin or file_origin(text) or ".")
        if bad is not None:
            raise ValueError(f"{filename}:{bad[0]}: {bad[1]}") from None
        raise ValueError(str(exc)) from None
    assert parsed.origin is not None
    zone = Zone(parsed.origin.to_text())
    lines = record_lines(text, zone.origin)
    for name, node in parsed.nodes.items():
        owner = normalize(name.to_text())
        for rdataset in node.rdatasets:
            rdtype = dns.rdatatype.to_text(rdataset.rdtype)
            if owner == zone.origin and rdtype in ("SOA", "NS"):
                continue
            values = tuple(r.to_text(origin=None, relativize=False) for r in rdataset)
            line = lines.get((owner, rdtype))
            at = f"{filename}:{line}" if line is not None else filename
            zone.add(
                RecordSet(
                    owner,
                    rdtype,
                    Record(policy="simple", values=values),
                    int(rdataset.ttl),
                    where=f"{at}: {owner} {rdtype}",
                )
            )
    return zone
