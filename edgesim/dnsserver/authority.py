"""Answer DNS queries for a scenario's hosted zones like Route 53 (no I/O).

The decisions are the scenario's (``edgesim.services.route53``): the same records, policies and
health. Where a query comes from is the EDNS Client Subnet when present (RFC 7871), else the
source address; addresses map to client groups through :class:`ClientMap` (by default, client
group *i* is the loopback address ``127.1.(i // 256).(i % 256)``, so ``dig -b 127.1.0.3`` asks
as the fourth group). Answers are loopback addresses of the chosen target: ``127.2.x.y`` for
endpoints, ``127.3.x.y`` for the edge location a CloudFront distribution sends the client to
(live mode serves those addresses).

Wire behaviour (docs/route53.md §On the wire): the zone's NS set in the authority section of
answers, the SOA with NXDOMAIN and NODATA (negative TTL 900 s), REFUSED outside the zones,
FORMERR for malformed queries, NOTIMP for other opcodes, EDNS0 with a 4096-byte UDP payload,
TC over UDP when the answer does not fit, ECS echoed with a scope of 24 (/56 for IPv6) for
location-based policies and 0 for the others (our choice: AWS documents no scope).
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

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
import dns.rrset
import numpy as np

from edgesim.live.addresses import group_address as group_address  # re-exported
from edgesim.live.addresses import node_address as node_address  # re-exported
from edgesim.live.component import dns_addresses
from edgesim.route53 import zone as zonemod
from edgesim.route53.policies import Query

SOA_TTL = zonemod.SOA_TTL
NS_TTL = zonemod.NS_TTL
NEGATIVE_TTL = zonemod.NEGATIVE_TTL
MAX_UDP_NO_EDNS = 512
EDNS_PAYLOAD = 4096
ANSWER_CACHE_SIZE = 100_000


@dataclass
class ClientMap:
    """Source addresses or subnets → client group index."""

    networks: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, int]]
    default: int = 0

    @classmethod
    def loopback(cls, n_groups: int) -> ClientMap:
        return cls([(ipaddress.ip_network(group_address(i) + "/32"), i) for i in range(n_groups)])

    def locate(self, addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> int:
        best, best_len = self.default, -1
        for net, g in self.networks:
            if addr.version == net.version and addr in net and net.prefixlen > best_len:
                best, best_len = g, net.prefixlen
        return best


Lookup = Callable[
    [str, str, int, "ipaddress.IPv4Address | ipaddress.IPv6Address | None", "int | None"],
    "zonemod.Answer | None",
]
"""lookup(name, type, client group, query address, ECS prefix) -> the zone's answer."""


class Authority:
    """Route 53-like authoritative answers for a set of zones."""

    def __init__(
        self,
        zones: list[zonemod.Zone],
        lookup: Lookup,
        clients: ClientMap,
    ) -> None:
        self.zone_models = sorted(zones, key=lambda z: -len(z.origin))
        self.zones = [dns.name.from_text(z.origin) for z in self.zone_models]
        self._zone_by_name = dict(zip(self.zones, self.zone_models, strict=True))
        self.lookup = lookup
        self.clients = clients
        self._rdatas: dict[tuple[object, ...], dns.rrset.RRset] = {}
        self._answers: dict[tuple[object, ...], bytes] = {}
        self._group_of: dict[str, int] = {}
        self._last_cacheable = True
        self.state: Callable[[], object] = lambda: 0
        """A value that changes whenever answers may change (world or health state)."""

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

    def _rrset(
        self, owner: dns.name.Name, rdtype: str, ttl: int, values: tuple[str, ...], origin: str
    ) -> dns.rrset.RRset:
        """RRsets are built once per content (parsing rdata text per query costs most time)."""
        key = (owner, rdtype, ttl, values)
        rrset = self._rdatas.get(key)
        if rrset is None:
            rrset = dns.rrset.RRset(owner, dns.rdataclass.IN, dns.rdatatype.from_text(rdtype))
            org = dns.name.from_text(origin)
            for v in values:
                rrset.add(
                    dns.rdata.from_text(dns.rdataclass.IN, rdtype, v, origin=org, relativize=False),
                    ttl,
                )
            if len(self._rdatas) >= ANSWER_CACHE_SIZE:
                self._rdatas.clear()
            self._rdatas[key] = rrset
        return rrset

    def _soa(self, zone: zonemod.Zone, ttl: int = SOA_TTL) -> dns.rrset.RRset:
        rs = zone.groups[(zone.origin, "SOA")][0]
        return self._rrset(dns.name.from_text(zone.origin), "SOA", ttl, rs.values, zone.origin)

    def _ns(self, zone: zonemod.Zone, owner: str | None = None) -> dns.rrset.RRset:
        owner = owner or zone.origin
        group = zone.groups[(owner, "NS")]
        values = tuple(v for rs in group for v in rs.values)
        ttl = min(rs.ttl or NS_TTL for rs in group)
        return self._rrset(dns.name.from_text(owner), "NS", ttl, values, zone.origin)

    def handle(self, wire: bytes, source: str, *, udp: bool) -> bytes | None:
        """Answer one DNS message; None when nothing can be said (not even FORMERR).

        Fast path: an answer depends only on the message after its id, where it comes from,
        the transport and the world's state, so answers that involve no random choice are
        kept, keyed by exactly that, and sent again with the new id (the same message as a
        fresh answer: tests/live/test_dnsserver.py checks it).
        """
        if len(wire) < 12:
            return None
        key = (wire[2:], source, udp, self.state())
        hit = self._answers.get(key)
        if hit is not None:
            return wire[:2] + hit
        answer = self._handle(wire, source, udp=udp)
        if answer is not None and self._last_cacheable:
            if len(self._answers) >= ANSWER_CACHE_SIZE:
                self._answers.clear()
            self._answers[key] = answer[2:]
        return answer

    def _source_group(self, source: str) -> int:
        g = self._group_of.get(source)
        if g is None:
            try:
                g = self.clients.locate(ipaddress.ip_address(source))
            except ValueError:
                g = self.clients.default
            if len(self._group_of) < ANSWER_CACHE_SIZE:
                self._group_of[source] = g
        return g

    def _zone_of(self, qname: dns.name.Name) -> dns.name.Name | None:
        for z in self.zones:  # longest first
            if qname.is_subdomain(z):
                return z
        return None

    def _handle(self, wire: bytes, source: str, *, udp: bool) -> bytes | None:
        self._last_cacheable = True
        try:
            query = dns.message.from_wire(wire)
        except Exception:  # DNSException and anything else hostile input provokes
            return _formerr(wire)
        if query.flags & dns.flags.QR:
            return None  # a response, not a query: ignore
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        response.flags &= ~dns.flags.RA
        if query.opcode() != dns.opcode.QUERY:
            response.set_rcode(dns.rcode.NOTIMP)
            return response.to_wire()
        if len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response.to_wire()
        q = query.question[0]
        zname = self._zone_of(q.name)
        if zname is None or q.rdclass != dns.rdataclass.IN:
            response.set_rcode(dns.rcode.REFUSED)
            response.flags &= ~dns.flags.AA
            return response.to_wire()
        zone = self._zone_by_name[zname]
        group, ip, plen = self._location(query, source)
        host = q.name.to_text(omit_final_dot=True).lower()
        used_location = False
        rdtype_text = dns.rdatatype.to_text(q.rdtype)
        types = list(zonemod.RECORD_TYPES) if q.rdtype == dns.rdatatype.ANY else [rdtype_text]
        rcode = "NOERROR"
        referral: str | None = None
        for t in types:
            ans = self.lookup(host, t, group, ip, plen)
            if ans is None:
                continue
            used_location |= ans.used_location
            if ans.random:
                self._last_cacheable = False
            rcode, referral = ans.rcode, ans.referral
            for rr in ans.answer:
                owner = dns.name.from_text(rr.owner)
                owner = q.name if owner == q.name else owner  # echo the question's case
                rrset = self._rrset(owner, rr.rdtype, rr.ttl, rr.values, zone.origin)
                if rrset not in response.answer:
                    response.answer.append(rrset)
            if rcode == "NXDOMAIN" or referral is not None:
                break
        if referral is not None and not response.answer:
            response.flags &= ~dns.flags.AA
            response.authority.append(self._ns(zone, referral))
            self._glue(zone, response, self._ns(zone, referral))
        elif response.answer and rcode != "NXDOMAIN":
            response.authority.append(self._ns(zone))
            for rrset in list(response.answer):
                self._glue(zone, response, rrset)
        else:
            if rcode == "NXDOMAIN":  # with the CNAMEs that led there, if any (RFC 6604)
                response.set_rcode(dns.rcode.NXDOMAIN)
            response.authority.append(self._soa(zone, NEGATIVE_TTL))  # NXDOMAIN or NODATA
        self._echo_ecs(query, response, used_location)
        limit = EDNS_PAYLOAD if query.edns >= 0 else MAX_UDP_NO_EDNS
        if query.edns >= 0:
            limit = min(EDNS_PAYLOAD, max(MAX_UDP_NO_EDNS, query.payload))
        wire_out = response.to_wire()
        if udp and len(wire_out) > limit:
            response.answer.clear()
            response.authority.clear()
            response.additional.clear()
            response.flags |= dns.flags.TC
            wire_out = response.to_wire()
        return wire_out

    def _glue(
        self, zone: zonemod.Zone, response: dns.message.Message, rrset: dns.rrset.RRset
    ) -> None:
        """Addresses of MX, NS and SRV targets that are simple records in the zone
        (docs/route53.md §On the wire)."""
        targets: list[dns.name.Name] = []
        for rd in rrset:
            if rrset.rdtype == dns.rdatatype.MX:
                targets.append(rd.exchange)
            elif rrset.rdtype in (dns.rdatatype.NS,) or rrset.rdtype == dns.rdatatype.SRV:
                targets.append(rd.target)
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
                extra = self._rrset(name, t, group[0].ttl or 300, values, zone.origin)
                if extra not in response.additional:
                    response.additional.append(extra)

    def _location(
        self, query: dns.message.Message, source: str
    ) -> tuple[int, ipaddress.IPv4Address | ipaddress.IPv6Address | None, int | None]:
        """(client group, address, ECS source prefix or None) of the query."""
        for opt in query.options:
            if isinstance(opt, dns.edns.ECSOption):
                try:
                    addr = ipaddress.ip_address(opt.address)
                except ValueError:
                    break
                return self.clients.locate(addr), addr, int(opt.srclen)
        try:
            addr = ipaddress.ip_address(source)
        except ValueError:
            return self.clients.default, None, None
        return self._source_group(source), addr, None

    def _echo_ecs(
        self, query: dns.message.Message, response: dns.message.Message, used_location: bool
    ) -> None:
        for opt in query.options:
            if isinstance(opt, dns.edns.ECSOption):
                scope = (24 if opt.family == 1 else 56) if used_location else 0
                scope = min(scope, opt.srclen)
                echo = dns.edns.ECSOption(opt.address, opt.srclen, scope)
                response.use_edns(0, 0, EDNS_PAYLOAD, options=[echo])
                return
        if query.edns >= 0:
            response.use_edns(0, 0, EDNS_PAYLOAD)


def _formerr(wire: bytes) -> bytes | None:
    """FORMERR echoing the query id, when the message has at least a header."""
    if len(wire) < 12:
        return None
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
        clients.networks.append((ipaddress.ip_network(subnet, strict=False), i))
    fixed = dns_addresses(run)  # e.g. accelerators: their live proxy's stand-in address

    def lookup(
        host: str,
        rdtype: str,
        group: int,
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None,
        plen: int | None,
    ) -> zonemod.Answer | None:
        node = int(group_nodes[group])
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
        zone = r53.zone_for(host)
        if zone is None:
            return None
        query = r53.query(node)
        if ip is not None:
            query = dataclasses.replace(query, ip=ip, prefix_len=plen)
        ans = zonemod.lookup(zone, host, rdtype, query, env)
        if any(rs.target is not None for rr in ans.answer for rs in rr.records):
            ans.used_location = True  # which address a target answers with depends on place
        return ans

    auth = Authority(r53.zones, lookup, clients)

    def state() -> object:
        health = tuple(c.healthy for c in r53.checks.values())
        up = tuple(t.is_up(ctx) for t in ctx.targets.values())
        return (
            ctx.world.version,
            health,
            up,
            tuple(sorted(r53.weights.items())),
            tuple(sorted(r53.forced.items())),
        )

    auth.state = state
    return auth


def zonefile_authority(zones: list[zonemod.Zone], seed: int = 1) -> Authority:
    """An :class:`Authority` over zones imported from BIND zone files (simple records)."""
    env = zonemod.Env(rng=np.random.default_rng(seed))

    def lookup(
        host: str,
        rdtype: str,
        group: int,
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None,
        plen: int | None,
    ) -> zonemod.Answer | None:
        zone = next((z for z in zones if z.contains(host)), None)
        if zone is None:
            return None
        return zonemod.lookup(zone, host, rdtype, Query(ip=ip, prefix_len=plen), env)

    return Authority(zones, lookup, ClientMap([], 0))
