"""Answer DNS queries for a scenario's hosted zones like Route 53 (no I/O).

The decisions are the scenario's (``edgesim.services.route53``): the same records, policies and
health. Where a query comes from is the EDNS Client Subnet when present (RFC 7871), else the
source address; addresses map to client groups through :class:`ClientMap` (by default, client
group *i* is the loopback address ``127.1.(i // 256).(i % 256)``, so ``dig -b 127.1.0.3`` asks
as the fourth group). A source that maps to no group is a client Route 53 cannot place: no
location (geolocation gives the default record or no answer). Answers are loopback addresses of
the chosen target: ``127.2.x.y`` for endpoints, ``127.3.x.y`` for the edge location a CloudFront
distribution sends the client to (live mode serves those addresses).

**How answers are fast.** Per (name, type, place) the server compiles an entry once per world
state: :func:`edgesim.route53.zone.enumerate_lookup` lists every answer the policy functions
can give with its probability (weighted branches taken in turn; shuffles and multivalue
samples left to the query), and each is rendered to wire fragments whose names point only into
the question (offset 12), so they are valid in any reply. A query is then parsed by hand, the
entry looked up, an outcome drawn, the last RRset's pre-rendered records permuted or sampled,
and the fragments joined behind a header. Wildcard answers are compiled once per wildcard and
spliced behind the asked name; NXDOMAIN once per zone. Anything the fast parser does not take
(several questions, other opcodes, malformed input) goes through dnspython, then the same
tables.

Wire behaviour (docs/route53.md §On the wire, docs/live-dns.md): the zone's NS set in the
authority section of answers (not repeated after an NS answer), the SOA with NXDOMAIN and
NODATA (also after a CNAME chain, RFC 2308), negative TTL 900 s, REFUSED outside the zones,
FORMERR for malformed queries, NOTIMP for other opcodes, BADVERS for EDNS versions above 0 (RFC
6891), EDNS0 with a 4096-byte UDP payload on every reply to an EDNS query, the additional then
the authority section dropped before TC is set (RFC 2181 §9), SERVFAIL over TCP for an answer
over 65,535 bytes, ECS echoed with a scope of 24 (/56 for IPv6) for location-based answers and
0 for the others (our choice: AWS documents no scope).
"""

from __future__ import annotations

import bisect
import dataclasses
import io
import ipaddress
import logging
import math
import random
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import numpy as np

from edgesim.live.addresses import group_address as group_address  # re-exported
from edgesim.live.addresses import node_address as node_address  # re-exported
from edgesim.live.component import dns_addresses
from edgesim.route53 import zone as zonemod
from edgesim.route53.policies import Query

log = logging.getLogger("edgesim.dns")

SOA_TTL = zonemod.SOA_TTL
NS_TTL = zonemod.NS_TTL
NEGATIVE_TTL = zonemod.NEGATIVE_TTL
MAX_UDP_NO_EDNS = 512
EDNS_PAYLOAD = 4096
MAX_MESSAGE = 65535
ANSWER_CACHE_SIZE = 100_000
"""Compiled entries kept at most (cleared when full and whenever the world changes)."""
BADVERS = 16

_QR, _AA, _TC, _RD, _CD = 0x8000, 0x0400, 0x0200, 0x0100, 0x0010
_HEADER = struct.Struct("!HHHHHH")
_QTAIL = struct.Struct("!HH")
_RR = struct.Struct("!HHIH")
_IN = 1
_OPT = 41
_ANY = 255
_ECS = 8
_CH = 3
_TXT = 16
_ID_NAMES = frozenset(
    {b"\x02id\x06server\x00", b"\x08hostname\x04bind\x00"}
)  # RFC 4892 §2.3: which server (worker) answered

UNPLACED = Query(lat=math.nan, lon=math.nan)
"""Where a client Route 53 cannot place is: nowhere (no country, no latency, no coordinates)."""


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass
class ClientMap:
    """Source addresses or subnets → client group index."""

    networks: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, int]]
    default: int = 0
    identity: dict[int, tuple[IPAddress, int]] = field(default_factory=dict)
    """Group → (address, prefix length) IP-based records see for its loopback address."""

    @classmethod
    def loopback(cls, n_groups: int) -> ClientMap:
        return cls([(ipaddress.ip_network(group_address(i) + "/32"), i) for i in range(n_groups)])

    def find(self, addr: IPAddress) -> int | None:
        """The group of ``addr`` (longest matching prefix), or None: no group."""
        best, best_len = None, -1
        for net, g in self.networks:
            if addr.version == net.version and addr in net and net.prefixlen > best_len:
                best, best_len = g, net.prefixlen
        return best

    def locate(self, addr: IPAddress) -> int:
        """The group of ``addr``, or the default group (for counters and the GA proxy)."""
        g = self.find(addr)
        return self.default if g is None else g


Lookup = Callable[
    [str, str, int | None, "IPAddress | None", "int | None"],
    "zonemod.Answer | None",
]
"""lookup(name, type, client group or None, query address, ECS prefix) -> the zone's answer."""
Enumerate = Callable[
    [str, str, int | None, "IPAddress | None", "int | None"],
    "list[zonemod.Outcome] | None",
]
"""The same question, every possible answer (None: answer each query with ``lookup``)."""


class _NoNewPointers(dict[dns.name.Name, int]):
    """A compression table that only offers the question's names (nothing is added), so a
    rendered record is valid wherever it is placed in a reply."""

    def __setitem__(self, key: dns.name.Name, value: int) -> None:
        return None


@dataclass
class _Variant:
    """One possible reply body (everything after the question, before the OPT record)."""

    rcode: int
    aa: bool
    an_pre: bytes  # answer RRs before the reordered RRset (CNAMEs)
    an_pre_count: int
    rrs: tuple[bytes, ...]  # the last RRset's records (reordered per query) or ()
    k: int  # how many of ``rrs`` a reply carries
    reorder: bool
    authority: bytes
    ns_count: int
    additional: bytes
    ar_count: int
    used_location: bool
    values: tuple[str, ...] = ()
    """The last RRset's values in ``rrs`` order (the query log)."""
    fixed_values: str = ""
    reorder_size: int = 0
    """The largest size ``k`` of ``rrs`` can take."""
    same_size: bool = True


_Plan = tuple[bytes, tuple[bytes, ...], int, bytes, bool, int]
"""A reply without its id: (header and question and fixed answers, records reordered per
query, how many of them, the rest, whether its size never changes, rcode)."""


@dataclass
class _Entry:
    """A compiled (name, type, place): its possible replies and their cumulative odds."""

    zone: zonemod.Zone
    host: str
    """The name compiled for (a wildcard's or NXDOMAIN's first asker)."""
    fixed: int
    """Labels (with the root) at the end of the name that every asker of the entry shares."""
    qlen: int
    variants: list[_Variant]
    cum: list[float]
    sources: list[tuple[list[zonemod.Answer], str, int]]
    policy: str = "-"
    dynamic: tuple[list[str], int | None, IPAddress | None, int | None] | None = None
    """(types, group, address, prefix): answered per query with ``lookup`` instead."""
    by_len: dict[int, list[_Variant]] = field(default_factory=dict)


@dataclass(slots=True)
class _Parsed:
    id: int
    flags: int
    qwire: bytes  # the question's name as sent (case kept)
    qkey: bytes  # lower case
    offsets: Sequence[int]  # where each label starts in qwire
    qtype: int
    qclass: int
    edns: bool = False
    version: int = 0
    payload: int = 512
    do: bool = False
    ecs: tuple[int, int, bytes] | None = None  # family, source prefix, address bytes


def _emit(msg_id: bytes, plan: _Plan, order: Sequence[int]) -> bytes:
    head, rrs, _k, tail, _same, _rcode = plan
    if not rrs:
        return msg_id + head + tail
    return b"".join((msg_id, head, *[rrs[i] for i in order], tail))


class _FormError(Exception):
    pass


class Authority:
    """Route 53-like authoritative answers for a set of zones."""

    def __init__(
        self,
        zones: list[zonemod.Zone],
        lookup: Lookup,
        clients: ClientMap,
        enumerate_fn: Enumerate | None = None,
        seed: int | None = None,
    ) -> None:
        self.zone_models = sorted(zones, key=lambda z: -len(z.origin))
        self.zones = [dns.name.from_text(z.origin) for z in self.zone_models]
        self._zone_by_name = dict(zip(self.zones, self.zone_models, strict=True))
        self._zone_by_key = {
            n.to_wire().lower(): z  # type: ignore[union-attr]
            for n, z in zip(self.zones, self.zone_models, strict=True)
        }
        self._zone_keys = sorted(self._zone_by_key.items(), key=lambda kv: -len(kv[0]))
        self._wild_parent: dict[bytes, str] = {
            _wire_of(n[2:]): n for z in zones for n in z.names if n.startswith("*.")
        }
        self._delegating = {
            z.origin for z in zones if any(t == "NS" and n != z.origin for n, t in z.groups)
        }
        self._names_wire: dict[str, set[bytes]] = {
            z.origin: {_wire_of(n) for n in z.names}
            for z in zones
            if z.origin not in self._delegating
        }
        self._ip_zones = {
            z.origin for z in zones if any(rs.model.policy == "ip" for rs in z.record_sets())
        }
        self.lookup = lookup
        self.enumerate = enumerate_fn
        self.clients = clients
        self.random = random.Random(seed)
        self._rdatas: dict[tuple[str, str, str], dns.rdata.Rdata] = {}
        self._table: dict[tuple[Any, ...], _Entry] = {}
        self._front: dict[tuple[bytes, str, bool], tuple[list[_Plan], list[float]]] = {}
        self._shared: dict[tuple[Any, ...], tuple[list[_Plan], list[float]]] = {}
        self._where: dict[Any, tuple[int | None, IPAddress | None, int | None]] = {}
        self.state: Callable[[], object] = lambda: 0
        """A value that changes whenever answers may change (world or health state)."""
        self.watch: Callable[[], object] = lambda: 0
        """A cheap value read on every query; when it changes, :attr:`state` is compared."""
        self._watched: object = object()
        self._state_seen: object = object()
        self.query_log: Callable[[str], None] | None = None
        """Called with one line per answered query (``--query-log``)."""
        self.group_names: list[str] = []
        self.server_id = "edgesim"
        """What ``id.server`` answers (``edgesim/w1``… with ``--workers``)."""

    @property
    def names(self) -> list[str]:
        """Owner names with records (for the start-up hints)."""
        return sorted(
            {
                name
                for z in self.zone_models
                for (name, rdtype) in z.groups
                if rdtype in ("A", "AAAA", "CNAME") and not name.startswith("*")
            }
        )

    def changed(self) -> None:
        """Drop every compiled entry (the world, a health check or a weight changed)."""
        self._table.clear()
        self._front.clear()
        self._shared.clear()

    # ---- the entry point -------------------------------------------------------------------
    def handle(self, wire: bytes, source: str, *, udp: bool) -> bytes | None:
        """Answer one DNS message; None when nothing can be said (not even FORMERR)."""
        w = self.watch()
        if w != self._watched:
            self._watched = w
            st = self.state()
            if st != self._state_seen:
                self._state_seen = st
                self.changed()
        front = self._front.get((wire[2:], source, udp))
        if front is not None:  # this exact question from this place: its replies are ready
            plans, cum = front
            plan = plans[0] if len(plans) == 1 else plans[bisect.bisect(cum, self.random.random())]
            if plan[1]:
                return _emit(wire[:2], plan, self._order(plan))
            return wire[:2] + plan[0] + plan[3]
        try:
            p = _parse(wire)
        except _FormError:
            return _formerr(wire)
        if p is None:
            return self._slow(wire, source, udp=udp)
        return self._answer(p, source, udp, wire)

    def _slow(self, wire: bytes, source: str, *, udp: bool) -> bytes | None:
        """Messages the hand parser leaves (several questions, opcodes, odd encodings)."""
        if len(wire) < 12:
            return None
        if wire[2] & 0x80:
            return None  # a response, not a query: ignore
        try:
            query = dns.message.from_wire(wire)
        except dns.message.BadEDNS:
            return _formerr(wire)
        except Exception:  # DNSException and anything else hostile input provokes
            return _formerr(wire)
        response = dns.message.make_response(query)
        response.flags &= ~dns.flags.RA
        if query.edns >= 0:
            response.use_edns(0, 0, EDNS_PAYLOAD)
        if query.opcode() != dns.opcode.QUERY:
            response.set_rcode(dns.rcode.NOTIMP)
            return response.to_wire()
        if len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response.to_wire()
        q = query.question[0]
        qwire = q.name.to_wire()
        assert qwire is not None
        ecs = None
        for opt in query.options:
            if isinstance(opt, dns.edns.ECSOption):
                addr = ipaddress.ip_address(opt.address).packed[: (opt.srclen + 7) // 8]
                ecs = (opt.family, int(opt.srclen), addr)
        p = _Parsed(
            id=query.id,
            flags=query.flags,
            qwire=qwire,
            qkey=qwire.lower(),
            offsets=_label_offsets(qwire),
            qtype=int(q.rdtype),
            qclass=int(q.rdclass),
            edns=query.edns >= 0,
            version=max(0, query.edns),
            payload=query.payload,
            do=bool(query.ednsflags & dns.flags.DO),
            ecs=ecs,
        )
        return self._answer(p, source, udp)

    # ---- where the query comes from -------------------------------------------------------
    def _source_group(self, source: str) -> int:
        """The client group counted for ``source`` (the default group when none)."""
        g = self._where_source(source)[0]
        return self.clients.default if g is None else g

    def _where_source(self, source: str) -> tuple[int | None, IPAddress | None, int | None]:
        got = self._where.get(source)
        if got is None:
            try:
                addr = ipaddress.ip_address(source)
            except ValueError:
                got = (None, None, None)
            else:
                g = self.clients.find(addr)
                ident = self.clients.identity.get(g) if g is not None else None
                if ident is not None and addr.version == 4 and addr.packed[:2] == b"\x7f\x01":
                    got = (g, ident[0], ident[1])  # a group's loopback identity
                else:
                    got = (g, addr, None)
            if len(self._where) >= ANSWER_CACHE_SIZE:
                self._where.clear()
            self._where[source] = got
        return got

    def _where_ecs(
        self, ecs: tuple[int, int, bytes]
    ) -> tuple[int | None, IPAddress | None, int | None]:
        got = self._where.get(ecs)
        if got is None:
            family, plen, raw = ecs
            size = 4 if family == 1 else 16
            addr = ipaddress.ip_address(raw.ljust(size, b"\0"))
            got = (self.clients.find(addr), addr, plen)
            if len(self._where) >= ANSWER_CACHE_SIZE:
                self._where.clear()
            self._where[ecs] = got
        return got

    # ---- answering -----------------------------------------------------------------------
    def _answer(self, p: _Parsed, source: str, udp: bool, wire: bytes | None = None) -> bytes:
        qkey = p.qkey
        zone = None
        zoff = 0
        n = len(qkey)
        for zk, z in self._zone_keys:  # the most specific zone first
            if qkey.endswith(zk) and n - len(zk) in p.offsets:
                zone, zoff = z, n - len(zk)
                break
        if p.edns and p.version > 0:
            return self._reply(p, udp, rcode=BADVERS)
        if p.qclass == _CH and p.qkey in _ID_NAMES and p.qtype == _TXT:
            return self._identity(p)
        if zone is None or p.qclass != _IN:
            return self._reply(p, udp, rcode=dns.rcode.REFUSED)
        where = self._where_ecs(p.ecs) if p.ecs is not None else self._where_source(source)
        group, ip, plen = where
        lockey: Any = (group, ip, plen) if zone.origin in self._ip_zones else group
        key: tuple[Any, ...] = (qkey, p.qtype, lockey)
        entry = None
        skey: tuple[Any, ...] | None = None
        names = self._names_wire.get(zone.origin)  # None: the zone delegates
        if names is not None and qkey not in names:
            # a name the zone does not have, under a name it has: the wildcard's or the
            # zone's NXDOMAIN entry (what owner_for decides, without building text)
            parent = qkey[p.offsets[1] :]
            wild = self._wild_parent.get(parent)
            if wild is not None:
                key = ("*", wild, p.qtype, lockey)
            elif parent in names:
                key = ("NX", zone.origin)
            if wild is not None or parent in names:
                skey = (key, len(p.qwire), udp, p.flags & 0x0110, p.qclass, p.qtype, p.edns)
                skey += (p.do, p.payload, p.ecs)
                ready = self._shared.get(skey) if wire is not None else None
                if ready is not None:  # replies ready for this shape: splice the name in
                    plans, cum = ready
                    plan = (
                        plans[0]
                        if len(plans) == 1
                        else plans[bisect.bisect(cum, self.random.random())]
                    )
                    head = plan[0]
                    head = head[:10] + p.qwire + head[10 + len(p.qwire) :]
                    if plan[1]:
                        return _emit(wire[:2], (head, *plan[1:]), self._order(plan))  # type: ignore[index]
                    return wire[:2] + head + plan[3]  # type: ignore[index]
                entry = self._table.get(key)
        else:
            entry = self._table.get(key)
        if entry is None:
            host = _text(qkey)
            fixed = len(p.offsets)
            delegated = zone.origin in self._delegating and zone.delegation(host) is not None
            owner = host if delegated else zone.owner_for(host)
            if owner is None:  # NXDOMAIN: one entry per zone, spliced behind any name
                fixed = len(p.offsets) - p.offsets.index(zoff)
                key = ("NX", zone.origin)
            elif owner != host and owner.startswith("*."):  # one entry per wildcard
                fixed = owner.count(".") + 1
                key = ("*", owner, p.qtype, lockey)
            else:
                key = (qkey, p.qtype, lockey)
            entry = self._table.get(key)
            if entry is None:
                if len(self._table) >= ANSWER_CACHE_SIZE:
                    self.changed()
                entry = self._compile(zone, host, p.qwire, p.qtype, where, fixed)
                self._table[key] = entry
        if entry.dynamic is not None:
            v = self._dynamic(entry, p.qwire)
        else:
            variants = entry.variants
            if len(p.qwire) != entry.qlen:
                # a wildcard's or NXDOMAIN's reply points into the part of the name every
                # asker shares: rendered once per question length
                got = entry.by_len.get(len(p.qwire))
                if got is None:
                    got = entry.by_len[len(p.qwire)] = self._rebase(entry, p.qwire)
                variants = got
            if wire is not None and self.query_log is None:
                if key[0] != qkey:  # wildcard / NXDOMAIN: replies per question length
                    plans = [self._plan(p, x, udp) for x in variants]
                    if skey is not None and all(x[4] for x in plans):
                        if len(self._shared) >= ANSWER_CACHE_SIZE:
                            self._shared.clear()
                        self._shared[skey] = (plans, entry.cum)
                    if all(x[4] for x in plans):
                        plan = (
                            plans[0]
                            if len(plans) == 1
                            else plans[bisect.bisect(entry.cum, self.random.random())]
                        )
                        head, ql = plan[0], len(p.qwire)
                        head = head[:10] + p.qwire + head[10 + ql :]
                        msg_id = wire[:2]
                        if plan[1]:
                            return _emit(msg_id, (head, *plan[1:]), self._order(plan))
                        return msg_id + head + plan[3]
                else:
                    plans = [self._plan(p, x, udp) for x in variants]
                    if all(x[4] for x in plans):
                        if len(self._front) >= ANSWER_CACHE_SIZE:
                            self._front.clear()
                        self._front[(wire[2:], source, udp)] = (plans, entry.cum)
            if len(variants) == 1:
                v = variants[0]
            else:
                v = variants[bisect.bisect(entry.cum, self.random.random())]
        return self._render(p, v, udp, entry, group)

    def _render(
        self, p: _Parsed, v: _Variant, udp: bool, entry: _Entry, group: int | None
    ) -> bytes:
        plan = self._plan(p, v, udp)
        order = self._order(plan)
        if self.query_log is not None:
            vals = [v.values[i] for i in order] if plan[1] else None
            self._log(p, entry, v, plan[5], group, vals)
        return _emit(p.id.to_bytes(2, "big"), plan, order)

    def _order(self, plan: _Plan) -> Sequence[int]:
        n, k = len(plan[1]), plan[2]
        if n == 0:
            return ()
        if n == 2 and k == 2:
            return (0, 1) if self.random.random() < 0.5 else (1, 0)
        return self.random.sample(range(n), k)

    def _plan(self, p: _Parsed, v: _Variant, udp: bool) -> _Plan:
        """The reply without its id: (head with the question and fixed answers, records to
        reorder, how many, the rest, whether the size never changes, rcode)."""
        rrs: tuple[bytes, ...] = v.rrs if v.reorder else ()
        k = v.k if v.reorder else 0
        answer = v.an_pre
        an_count = v.an_pre_count + k
        reorder_size = v.reorder_size
        opt = _opt(p, v.used_location, 0) if p.edns else b""
        limit = MAX_MESSAGE
        if udp:
            limit = min(EDNS_PAYLOAD, max(MAX_UDP_NO_EDNS, p.payload)) if p.edns else 512
        base = 12 + len(p.qwire) + 4 + len(opt)
        flags = _QR | (p.flags & (_RD | _CD)) | (_AA if v.aa else 0)
        size = base + len(answer) + reorder_size + len(v.authority) + len(v.additional)
        ns, ns_count, ar, ar_count = v.authority, v.ns_count, v.additional, v.ar_count
        rcode = v.rcode
        if size > limit:  # RFC 2181 §9: drop what is extra before setting TC
            ar, ar_count = b"", 0
            if base + len(answer) + reorder_size + len(ns) > limit:
                ns, ns_count = b"", 0
            if base + len(answer) + reorder_size > limit:
                answer, an_count, rrs, k = b"", 0, (), 0
                if udp:
                    flags |= _TC
                else:
                    rcode = dns.rcode.SERVFAIL
                    log.error("the answer for %s is over %d bytes: SERVFAIL", _text(p.qkey), limit)
        head = _HEADER.pack(0, flags | (rcode & 0xF), 1, an_count, ns_count, ar_count + bool(opt))
        head = head[2:] + p.qwire + struct.pack("!HH", p.qtype, p.qclass) + answer
        return (head, rrs, k, ns + ar + opt, v.same_size, rcode)

    def _identity(self, p: _Parsed) -> bytes:
        """``id.server`` / ``hostname.bind`` CH TXT: this server's name (RFC 4892)."""
        text = self.server_id.encode()[:255]
        rdata = bytes([len(text)]) + text
        rr = b"\xc0\x0c" + _RR.pack(_TXT, _CH, 0, len(rdata)) + rdata
        opt = _opt(p, False, 0) if p.edns else b""
        head = _HEADER.pack(p.id, _QR | _AA | (p.flags & (_RD | _CD)), 1, 1, 0, bool(opt))
        return b"".join((head, p.qwire, struct.pack("!HH", p.qtype, p.qclass), rr, opt))

    def _reply(self, p: _Parsed, udp: bool, rcode: int) -> bytes:
        """An answer with no records (REFUSED, BADVERS)."""
        opt = _opt(p, False, rcode >> 4) if p.edns else b""
        flags = _QR | (p.flags & (_RD | _CD))
        head = _HEADER.pack(p.id, flags | (rcode & 0xF), 1, 0, 0, bool(opt))
        if self.query_log is not None:
            name = dns.rcode.to_text(rcode)  # type: ignore[arg-type]
            self.query_log(f"{_text(p.qkey)} {_type_text(p.qtype)} group=- policy=- {name} -")
        return b"".join((head, p.qwire, struct.pack("!HH", p.qtype, p.qclass), opt))

    def _log(
        self,
        p: _Parsed,
        entry: _Entry,
        v: _Variant,
        rcode: int,
        group: int | None,
        values: list[str] | None,
    ) -> None:
        assert self.query_log is not None
        gname = "unplaced"
        if group is not None:
            gname = self.group_names[group] if group < len(self.group_names) else str(group)
        vals = ",".join(values) if values is not None else v.fixed_values
        self.query_log(
            f"{_text(p.qkey)} {_type_text(p.qtype)} group={gname} policy={entry.policy} "
            f"{dns.rcode.to_text(rcode)} {vals or '-'}"  # type: ignore[arg-type]
        )

    # ---- compiling ------------------------------------------------------------------------
    def _compile(
        self,
        zone: zonemod.Zone,
        host: str,
        qwire: bytes,
        qtype: int,
        where: tuple[int | None, IPAddress | None, int | None],
        fixed: int,
    ) -> _Entry:
        group, ip, plen = where
        tname = _type_text(qtype)
        types = list(zonemod.RECORD_TYPES) if qtype == _ANY else [tname]
        owner = zone.owner_for(host)
        policy = "-"
        if owner is not None:
            grp = zone.groups.get((owner, tname)) or zone.groups.get((owner, "CNAME"))
            if grp:
                policy = grp[0].model.policy
        entry = _Entry(zone, host, fixed, len(qwire), [], [], [], policy)
        sources: list[tuple[list[zonemod.Answer], str, int]] | None = None
        odds: list[float] = [1.0]
        if self.enumerate is not None:
            many = [self.enumerate(host, t, group, ip, plen) for t in types]
            if len(types) == 1 and many[0] is not None:
                sources = [([o.answer], o.order, o.k) for o in many[0]]
                odds = [o.probability for o in many[0]]
            elif all(m is not None and len(m) == 1 and m[0].order == "fixed" for m in many):
                sources = [([m[0].answer for m in many if m is not None], "fixed", 0)]
        if not sources:
            entry.dynamic = (types, group, ip, plen)
            return entry
        qname = dns.name.from_wire(qwire.lower(), 0)[0]
        entry.sources = sources
        entry.variants = [self._variant(zone, host, qname, a, o, k, fixed) for a, o, k in sources]
        total = sum(odds) or 1.0
        acc = 0.0
        for pr in odds[:-1]:
            acc += pr / total
            entry.cum.append(acc)
        return entry

    def _dynamic(self, entry: _Entry, qwire: bytes) -> _Variant:
        """An answer the tables cannot hold (ANY over random records, odd reorderings)."""
        assert entry.dynamic is not None
        types, group, ip, plen = entry.dynamic
        host = _text(qwire.lower())
        answers = [a for t in types if (a := self.lookup(host, t, group, ip, plen)) is not None]
        qname = dns.name.from_wire(qwire.lower(), 0)[0]
        return self._variant(entry.zone, host, qname, answers, "fixed", 0, len(qname.labels))

    def _rebase(self, entry: _Entry, qwire: bytes) -> list[_Variant]:
        """The entry's replies rendered for a question of this length."""
        qname = dns.name.from_wire(qwire.lower(), 0)[0]
        return [
            self._variant(entry.zone, entry.host, qname, a, o, k, entry.fixed)
            for a, o, k in entry.sources
        ]

    def _variant(
        self,
        zone: zonemod.Zone,
        host: str,
        qname: dns.name.Name,
        answers: list[zonemod.Answer],
        order: str,
        k: int,
        fixed: int,
    ) -> _Variant:
        """Render one possible answer: the sections Route 53 would send (docs/route53.md §On
        the wire)."""
        rcode = dns.rcode.NOERROR
        referral: str | None = None
        used = False
        an: list[tuple[dns.name.Name, str, int, list[dns.rdata.Rdata], tuple[str, ...]]] = []
        seen: set[tuple[str, str]] = set()
        for ans in answers:
            used |= ans.used_location
            rcode = dns.rcode.NXDOMAIN if ans.rcode == "NXDOMAIN" else dns.rcode.NOERROR
            referral = ans.referral
            for rr in ans.answer:
                if (rr.owner, rr.rdtype) in seen:
                    continue
                seen.add((rr.owner, rr.rdtype))
                owner = qname if rr.owner == host else _name(rr.owner)
                rds = [self._rdata(rr.rdtype, val, zone.origin) for val in rr.values]
                an.append((owner, rr.rdtype, rr.ttl, rds, rr.values))
            if rcode == dns.rcode.NXDOMAIN or referral is not None:
                break
        nodata = all(a.nodata or not a.answer for a in answers)
        aa = True
        ns: list[tuple[dns.name.Name, str, int, list[dns.rdata.Rdata], tuple[str, ...]]] = []
        ar: list[tuple[dns.name.Name, str, int, list[dns.rdata.Rdata], tuple[str, ...]]] = []
        if referral is not None and not an:
            aa = False
            ns.append(self._ns(zone, referral))
            ar.extend(self._glue(zone, ns[0]))
        elif an and rcode != dns.rcode.NXDOMAIN and not nodata:
            apex_ns = any(o == _name(zone.origin) and t == "NS" for o, t, *_ in an)
            if not apex_ns:  # no repeated NS set after an NS answer
                ns.append(self._ns(zone))
            for item in an:
                for g in self._glue(zone, item):
                    if not any(g[0] == x[0] and g[1] == x[1] for x in ar):
                        ar.append(g)
        else:  # NXDOMAIN or NODATA, with the CNAMEs that led there (RFC 2308, RFC 6604)
            ns.append(self._soa(zone, NEGATIVE_TTL))
        compress = _NoNewPointers()
        labels = qname.labels
        for i in range(len(labels) - 1):
            if len(labels) - i <= fixed:  # only the part of the name every asker shares
                offset = 12 + sum(len(x) + 1 for x in labels[:i])
                dict.__setitem__(compress, dns.name.Name(labels[i:]), offset)
        dict.__setitem__(compress, qname, 12)

        def render(rr: tuple[Any, ...]) -> list[bytes]:
            owner, rdtype, ttl, rds, _vals = rr
            t = dns.rdatatype.from_text(rdtype)
            own = _name_wire(owner, compress)
            out = []
            for rd in rds:
                f = io.BytesIO()
                rd.to_wire(f, compress, None)
                data = f.getvalue()
                out.append(own + _RR.pack(t, _IN, ttl, len(data)) + data)
            return out

        reorder = order != "fixed" and bool(an)
        rrs: tuple[bytes, ...] = ()
        values: tuple[str, ...] = ()
        pre = an
        if reorder:
            pre = an[:-1]
            rrs = tuple(render(an[-1]))
            values = an[-1][4]
            if order == "shuffle":
                k = len(rrs)
        an_pre = [b for rr in pre for b in render(rr)]
        ns_w = [b for rr in ns for b in render(rr)]
        ar_w = [b for rr in ar for b in render(rr)]
        return _Variant(
            rcode=int(rcode),
            aa=aa,
            an_pre=b"".join(an_pre),
            an_pre_count=len(an_pre),
            rrs=rrs,
            k=k,
            reorder=reorder,
            authority=b"".join(ns_w),
            ns_count=len(ns_w),
            additional=b"".join(ar_w),
            ar_count=len(ar_w),
            used_location=used,
            values=values,
            fixed_values=",".join(v for rr in an for v in rr[4]),
            reorder_size=sum(sorted((len(x) for x in rrs), reverse=True)[:k]) if reorder else 0,
            same_size=len({len(x) for x in rrs}) <= 1,
        )

    def _rdata(self, rdtype: str, value: str, origin: str) -> dns.rdata.Rdata:
        """Rdata are parsed once per content (parsing text per query costs most time)."""
        key = (rdtype, value, origin)
        rd = self._rdatas.get(key)
        if rd is None:
            rd = dns.rdata.from_text(
                dns.rdataclass.IN,
                rdtype,
                value,
                origin=dns.name.from_text(origin),
                relativize=False,
            )
            if len(self._rdatas) >= ANSWER_CACHE_SIZE:
                self._rdatas.clear()
            self._rdatas[key] = rd
        return rd

    def _soa(
        self, zone: zonemod.Zone, ttl: int = SOA_TTL
    ) -> tuple[dns.name.Name, str, int, list[dns.rdata.Rdata], tuple[str, ...]]:
        rs = zone.groups[(zone.origin, "SOA")][0]
        rds = [self._rdata("SOA", v, zone.origin) for v in rs.values]
        return (_name(zone.origin), "SOA", ttl, rds, rs.values)

    def _ns(
        self, zone: zonemod.Zone, owner: str | None = None
    ) -> tuple[dns.name.Name, str, int, list[dns.rdata.Rdata], tuple[str, ...]]:
        owner = owner or zone.origin
        group = zone.groups[(owner, "NS")]
        values = tuple(dict.fromkeys(v for rs in group for v in rs.values))
        ttl = min(rs.ttl or NS_TTL for rs in group)
        rds = [self._rdata("NS", v, zone.origin) for v in values]
        return (_name(owner), "NS", ttl, rds, values)

    def _glue(
        self, zone: zonemod.Zone, rr: tuple[Any, ...]
    ) -> list[tuple[dns.name.Name, str, int, list[dns.rdata.Rdata], tuple[str, ...]]]:
        """Addresses of MX, NS and SRV targets that are simple records in the zone
        (docs/route53.md §On the wire)."""
        _owner, rdtype, _ttl, rds, _v = rr
        targets: list[dns.name.Name] = []
        for rd in rds:
            if rdtype == "MX":
                targets.append(rd.exchange)
            elif rdtype in ("NS", "SRV"):
                targets.append(rd.target)
        out = []
        for name in targets:
            host = name.to_text(omit_final_dot=True).lower()
            if not zone.contains(host):
                continue
            for t in ("A", "AAAA"):
                group = zone.groups.get((host, t), [])
                if len(group) != 1 or group[0].model.policy != "simple" or group[0].alias:
                    continue
                values = tuple(v for v in group[0].values if not v.startswith("endpoint:"))
                if not values:
                    continue
                rds2 = [self._rdata(t, v, zone.origin) for v in values]
                out.append((name, t, group[0].ttl or 300, rds2, values))
        return out


def _name(text: str) -> dns.name.Name:
    return dns.name.from_text(text)


def _name_wire(name: dns.name.Name, compress: dict[dns.name.Name, int]) -> bytes:
    f = io.BytesIO()
    name.to_wire(f, compress, None)
    return f.getvalue()


def _wire_of(text: str) -> bytes:
    return b"".join(bytes([len(x)]) + x for x in (*(s.encode() for s in text.split(".")), b""))


def _text(wire: bytes) -> str:
    """Lower-case dotted text of a wire name (no final dot; the root is '')."""
    if b"." not in wire and len(wire) > 1:
        b = bytearray(wire[1:-1])
        i = wire[0]
        while i < len(b):
            n = b[i]
            b[i] = 46
            i += n + 1
        return b.decode("latin-1").lower()
    out = []
    i = 0
    while i < len(wire) and wire[i]:
        n = wire[i]
        out.append(wire[i + 1 : i + 1 + n].decode("latin-1").lower())
        i += n + 1
    return ".".join(out)


def _type_text(t: int) -> str:
    return dns.rdatatype.to_text(t)  # type: ignore[arg-type]


def _label_offsets(qwire: bytes) -> tuple[int, ...]:
    offs = []
    i = 0
    while True:
        offs.append(i)
        n = qwire[i]
        if n == 0:
            return tuple(offs)
        i += n + 1


def _opt(p: _Parsed, used_location: bool, ext_rcode: int) -> bytes:
    """The reply's OPT record: always a 4096-byte payload, DO copied (RFC 3225), ECS echoed
    with its address as received (RFC 7871 §7.2.1)."""
    data = b""
    if p.ecs is not None:
        family, srclen, raw = p.ecs
        scope = (24 if family == 1 else 56) if used_location else 0
        scope = min(scope, srclen)
        body = struct.pack("!HBB", family, srclen, scope) + raw
        data = struct.pack("!HH", _ECS, len(body)) + body
    ttl = (ext_rcode << 24) | (0x8000 if p.do else 0)
    return b"\x00" + _RR.pack(_OPT, EDNS_PAYLOAD, ttl, len(data)) + data


def _parse(wire: bytes) -> _Parsed | None:
    """A standard query (one question, at most an OPT record) parsed by hand; None for
    anything else (left to dnspython). Raises _FormError for a malformed OPT/ECS."""
    n = len(wire)
    if n < 17:
        return None
    msg_id, flags, qd, an, ns, ar = _HEADER.unpack_from(wire)
    if flags & 0xF800 or qd != 1 or an or ns or ar > 1:
        return None  # responses, other opcodes, odd counts
    i = 12
    offsets: list[int] = []
    append = offsets.append
    while i < n:
        ln = wire[i]
        append(i - 12)
        if not ln:
            break
        if ln > 63:
            return None
        i += ln + 1
    else:
        return None
    i += 1
    if i > 267 or i + 4 > n:
        return None
    qwire = wire[12:i]
    qtype, qclass = _QTAIL.unpack_from(wire, i)
    i += 4
    if not ar:
        if i != n:
            return None
        return _Parsed(msg_id, flags, qwire, qwire.lower(), offsets, qtype, qclass)
    p = _Parsed(msg_id, flags, qwire, qwire.lower(), offsets, qtype, qclass)
    if i + 11 > n or wire[i] != 0:
        return None
    rtype, payload, ttl, rdlen = _RR.unpack_from(wire, i + 1)
    if rtype != _OPT:
        return None
    i += 11
    if i + rdlen != n:
        return None
    p.edns = True
    p.payload = payload
    p.version = (ttl >> 16) & 0xFF
    p.do = bool(ttl & 0x8000)
    end = i + rdlen
    while i < end:
        if i + 4 > end:
            raise _FormError
        code, olen = _QTAIL.unpack_from(wire, i)
        i += 4
        if i + olen > end:
            raise _FormError
        if code == _ECS:
            p.ecs = _ecs(wire[i : i + olen])
        i += olen
    return p


def _ecs(data: bytes) -> tuple[int, int, bytes]:
    """RFC 7871 §6: a malformed option is FORMERR."""
    if len(data) < 4:
        raise _FormError
    family, srclen, _scope = struct.unpack_from("!HBB", data)
    raw = data[4:]
    if family not in (1, 2) or srclen > (32 if family == 1 else 128):
        raise _FormError
    if len(raw) != (srclen + 7) // 8:
        raise _FormError
    return family, srclen, raw


def _formerr(wire: bytes) -> bytes | None:
    """FORMERR echoing the query id, when the message has at least a header."""
    if len(wire) < 12:
        return None
    if wire[2] & 0x80:
        return None  # never answer a response
    msg_id = int.from_bytes(wire[:2], "big")
    response = dns.message.Message(id=msg_id)
    response.flags = dns.flags.QR
    response.set_rcode(dns.rcode.FORMERR)
    return response.to_wire()


def scenario_authority(run: object) -> Authority:
    """Build an :class:`Authority` over a prepared scenario run's Route 53 zones.

    Aliases to scenario targets answer with live addresses: ``127.2.x.y`` for endpoints,
    ``127.3.x.y`` for the edge location a CloudFront distribution sends the client to (A
    queries; AAAA gets NODATA). Health checks, ``set_weight`` and ``set_health`` act on the
    answers as in scenario runs.
    """
    from edgesim.services.route53 import Route53
    from edgesim.sim.engine import Run

    assert isinstance(run, Run)
    r53 = next((s for s in run.services if isinstance(s, Route53)), None)
    if r53 is None:
        raise ValueError("the scenario has no route53 section")
    ctx = run.ctx
    group_nodes = ctx.group_node()
    target_index: dict[str, int] = {}
    for t in ctx.targets.values():
        target_index.setdefault(t.key, len(target_index))
    clients = ClientMap.loopback(len(run.groups))
    for i, subnet in enumerate(ctx.group_subnets):
        net = ipaddress.ip_network(subnet, strict=False)
        clients.networks.append((net, i))
        clients.identity[i] = (net.network_address, net.prefixlen)
    fixed = dns_addresses(run)  # e.g. accelerators: their live proxy's stand-in address

    def prepare(
        host: str, group: int | None, ip: IPAddress | None, plen: int | None
    ) -> tuple[zonemod.Zone | None, Query, zonemod.Env]:
        # A client that maps to no group is one Route 53 cannot place; CloudFront still
        # sends it somewhere: the first group's edge (edgesim's choice).
        node = int(group_nodes[group if group is not None else 0])
        where = np.array([node], dtype=np.int32)

        def values(key: str, t: str) -> tuple[str, ...]:
            if t != "A":
                return ()
            target = ctx.targets[key]
            if key.startswith("cloudfront:"):
                return (node_address(3, int(target.entry(ctx, where)[0])),)
            if key in fixed:
                return (fixed[key],)
            return (node_address(2, target_index[target.key]),)

        env = dataclasses.replace(r53.env, target_values=values)
        query = r53.query(node) if group is not None else UNPLACED
        if ip is not None:
            query = dataclasses.replace(query, ip=ip, prefix_len=plen)
        return r53.zone_for(host), query, env

    def lookup(
        host: str, rdtype: str, group: int | None, ip: IPAddress | None, plen: int | None
    ) -> zonemod.Answer | None:
        zone, query, env = prepare(host, group, ip, plen)
        if zone is None:
            return None
        ans = zonemod.lookup(zone, host, rdtype, query, env)
        if any(rs.target is not None for rr in ans.answer for rs in rr.records):
            ans.used_location = True  # which address a target answers with depends on place
        return ans

    def enumerate_fn(
        host: str, rdtype: str, group: int | None, ip: IPAddress | None, plen: int | None
    ) -> list[zonemod.Outcome] | None:
        zone, query, env = prepare(host, group, ip, plen)
        if zone is None:
            return None
        outs = zonemod.enumerate_lookup(zone, host, rdtype, query, env)
        for o in outs or []:
            if any(rs.target is not None for rr in o.answer.answer for rs in rr.records):
                o.answer.used_location = True
        return outs

    auth = Authority(r53.zones, lookup, clients, enumerate_fn)
    auth.group_names = [g.name for g in run.groups]

    def state() -> object:
        health = tuple(r53.check_healthy(name) for name in r53.checks)
        up = tuple(t.is_up(ctx) for t in ctx.targets.values())
        return (
            ctx.world.version,
            health,
            up,
            tuple(sorted(r53.weights.items())),
            tuple(sorted(r53.forced.items())),
        )

    def watch() -> object:
        return (ctx.now_ns, ctx.world.version, len(ctx.events))

    auth.state = state
    auth.watch = watch
    return auth


def zonefile_authority(zones: list[zonemod.Zone], seed: int = 1) -> Authority:
    """An :class:`Authority` over zones imported from BIND zone files (simple records)."""
    env = zonemod.Env(rng=np.random.default_rng(seed))

    def find(host: str) -> zonemod.Zone | None:
        return next((z for z in zones if z.contains(host)), None)

    def lookup(
        host: str, rdtype: str, group: int | None, ip: IPAddress | None, plen: int | None
    ) -> zonemod.Answer | None:
        zone = find(host)
        if zone is None:
            return None
        return zonemod.lookup(zone, host, rdtype, Query(ip=ip, prefix_len=plen), env)

    def enumerate_fn(
        host: str, rdtype: str, group: int | None, ip: IPAddress | None, plen: int | None
    ) -> list[zonemod.Outcome] | None:
        zone = find(host)
        if zone is None:
            return None
        return zonemod.enumerate_lookup(zone, host, rdtype, Query(ip=ip, prefix_len=plen), env)

    return Authority(zones, lookup, ClientMap([], 0), enumerate_fn, seed=seed)
