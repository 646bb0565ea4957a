"""Answer DNS queries for a scenario's hosted zones like Route 53 (no I/O).

The decisions are the scenario's (``edgesim.services.route53``): the same records, policies and
health. Where a query comes from is the EDNS Client Subnet when present (RFC 7871), else the
source address; addresses map to client groups through :class:`ClientMap` (by default, client
group *i* is the loopback address ``127.1.(i // 256).(i % 256)``, so ``dig -b 127.1.0.3`` asks
as the fourth group). Answers are loopback addresses of the chosen target: ``127.2.x.y`` for
endpoints, ``127.3.x.y`` for the edge location a CloudFront distribution sends the client to
(live mode serves those addresses).

Wire behaviour (route53.md §3): the zone's NS set in the authority section of answers, the SOA
with NXDOMAIN and NODATA (negative TTL 900 s), REFUSED outside the zones, FORMERR for
malformed queries, NOTIMP for other opcodes, EDNS0 with a 4096-byte UDP payload, TC over UDP
when the answer does not fit, ECS echoed with a scope of 24 (/56 for IPv6) for location-based
policies and 0 for the others (our choice: AWS documents no scope).
"""

from __future__ import annotations

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

SOA_TTL = 900
NS_TTL = 172800
NEGATIVE_TTL = 900
MAX_UDP_NO_EDNS = 512
EDNS_PAYLOAD = 4096
ANSWER_CACHE_SIZE = 100_000
LOCATION_POLICIES = {"latency", "geolocation", "geoproximity", "ip"}


def group_address(i: int) -> str:
    """The loopback address that stands for client group ``i``."""
    return f"127.1.{i // 256}.{i % 256}"


def node_address(prefix: int, i: int) -> str:
    return f"127.{prefix}.{i // 256}.{i % 256}"


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


Decide = Callable[[str, int], tuple[str | None, bool]]
"""decide(host, group index) -> (address or None for NODATA, whether the policy used location)."""


class Authority:
    """Route 53-like authoritative answers for a set of zones."""

    def __init__(
        self,
        zones: list[str],
        names: set[str],
        decide: Decide,
        clients: ClientMap,
        ttl: Callable[[str], int],
    ) -> None:
        self.zones = [dns.name.from_text(z) for z in zones]
        self.names = {n.lower().rstrip(".") for n in names}
        self.decide = decide
        self.clients = clients
        self.ttl = ttl
        self._rrsets: dict[tuple[object, ...], dns.rrset.RRset] = {}
        self._answers: dict[tuple[object, ...], bytes] = {}
        self._group_of: dict[str, int] = {}
        self._last_cacheable = True
        self.state: Callable[[], object] = lambda: 0
        """A value that changes whenever answers may change (world or health state)."""
        self.random_names: set[str] = set()
        """Names whose answers involve a random choice (never kept by the fast path)."""

    def _cached(
        self, key: tuple[object, ...], make: Callable[[], dns.rrset.RRset]
    ) -> dns.rrset.RRset:
        """RRsets are built once (parsing them from text per query costs most of the time)."""
        rrset = self._rrsets.get(key)
        if rrset is None:
            rrset = make()
            self._rrsets[key] = rrset
        return rrset

    def _zone_of(self, qname: dns.name.Name) -> dns.name.Name | None:
        best: dns.name.Name | None = None
        for z in self.zones:
            if qname.is_subdomain(z) and (best is None or len(z) > len(best)):
                best = z
        return best

    def _soa(self, zone: dns.name.Name, ttl: int = SOA_TTL) -> dns.rrset.RRset:
        soa = "ns-1.awsdns-00.com. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400"
        return self._cached(
            ("SOA", zone, ttl), lambda: dns.rrset.from_text(zone, ttl, "IN", "SOA", soa)
        )

    def _ns(self, zone: dns.name.Name) -> dns.rrset.RRset:
        servers = (
            "ns-1.awsdns-00.com.",
            "ns-2.awsdns-00.net.",
            "ns-3.awsdns-00.org.",
            "ns-4.awsdns-00.co.uk.",
        )
        return self._cached(
            ("NS", zone), lambda: dns.rrset.from_text(zone, NS_TTL, "IN", "NS", *servers)
        )

    def handle(self, wire: bytes, source: str, *, udp: bool) -> bytes | None:
        """Answer one DNS message; None when nothing can be said (not even FORMERR).

        Fast path: an answer depends only on the message after its id, where it comes from,
        the transport and the world's state, so answers that involve no random choice are
        kept, keyed by exactly that, and sent again with the new id (the same message as a
        fresh answer: tests/test_dnsserver.py checks it).
        """
        if len(wire) < 12:
            return None
        key = (wire[2:], self._source_group(source), udp, self.state())
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
        zone = self._zone_of(q.name)
        if zone is None:
            response.set_rcode(dns.rcode.REFUSED)
            response.flags &= ~dns.flags.AA
            return response.to_wire()
        where = self._location(query, source)
        host = q.name.to_text(omit_final_dot=True).lower()
        used_location = False
        if q.rdtype == dns.rdatatype.SOA and q.name == zone:
            response.answer.append(self._soa(zone))
        elif q.rdtype == dns.rdatatype.NS and q.name == zone:
            response.answer.append(self._ns(zone))
        elif host in self.names:
            if host in self.random_names:
                self._last_cacheable = False
            address, used_location = self.decide(host, where)
            if q.rdtype in (dns.rdatatype.A, dns.rdatatype.ANY) and address is not None:
                response.answer.append(
                    dns.rrset.from_text(q.name, self.ttl(host), "IN", "A", address)
                )
                response.authority.append(self._ns(zone))
            else:
                response.authority.append(self._soa_negative(zone))  # NODATA
        elif q.name == zone:
            response.authority.append(self._soa_negative(zone))
        else:
            response.set_rcode(dns.rcode.NXDOMAIN)
            response.authority.append(self._soa_negative(zone))
        self._echo_ecs(query, response, used_location)
        limit = EDNS_PAYLOAD if query.edns >= 0 else MAX_UDP_NO_EDNS
        if query.edns >= 0:
            limit = min(EDNS_PAYLOAD, max(MAX_UDP_NO_EDNS, query.payload))
        wire_out = response.to_wire()
        if udp and len(wire_out) > limit:
            response.answer.clear()
            response.authority.clear()
            response.flags |= dns.flags.TC
            wire_out = response.to_wire()
        return wire_out

    def _soa_negative(self, zone: dns.name.Name) -> dns.rrset.RRset:
        return self._soa(zone, NEGATIVE_TTL)

    def _location(self, query: dns.message.Message, source: str) -> int:
        for opt in query.options:
            if isinstance(opt, dns.edns.ECSOption):
                try:
                    return self.clients.locate(ipaddress.ip_address(opt.address))
                except ValueError:
                    break
        try:
            return self.clients.locate(ipaddress.ip_address(source))
        except ValueError:
            return self.clients.default

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
    """Build an :class:`Authority` over a prepared scenario run's Route 53 zones."""
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

    def decide(host: str, group: int) -> tuple[str | None, bool]:
        where = np.array([group_nodes[group]], dtype=np.int32)
        cands, choice, _ = r53.resolve(host, where, ctx.now_ns)
        i = int(choice[0])
        if i < 0 or cands[i] is None:
            return None, True
        target = cands[i]
        assert target is not None
        used = r53.records[host][0].spec.policy in LOCATION_POLICIES
        if target.key.startswith("cloudfront:"):
            pop = int(target.entry(ctx, where)[0])
            return node_address(3, pop), True
        return node_address(2, target_index[target.key]), used

    zones = [z.name for z in r53.config.zones]  # type: ignore[attr-defined]
    auth = Authority(
        zones,
        set(r53.records),
        decide,
        ClientMap.loopback(len(run.groups)),
        lambda host: max(1, r53.host_ttl_ns(host) // 1_000_000_000),
    )

    def state() -> object:
        health = tuple(c.healthy for c in r53.checks.values())
        up = tuple(t.is_up(ctx) for t in ctx.targets.values())
        return (ctx.world.version, health, up, tuple(sorted(r53.weights.items())))

    auth.state = state
    auth.random_names = {
        host
        for host, recs in r53.records.items()
        if recs[0].spec.policy in ("weighted", "multivalue")
        or (recs[0].spec.policy == "simple" and len(recs) > 1)
    }
    return auth
