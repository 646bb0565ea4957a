"""The compiled DNS answer path gives the policy functions' answers (issue 16, item 1).

Every reply comes from tables compiled from :func:`edgesim.route53.zone.enumerate_lookup`;
these tests ask the server (``Authority.handle``, wire in, wire out) and compare with
``Authority.lookup``, which runs the policy functions of :mod:`edgesim.route53` with a real
random generator for each call, over random questions from random places.
"""

from __future__ import annotations

import random
from collections import Counter

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import pytest

from edgesim.dnsserver.authority import Authority, group_address, scenario_authority
from edgesim.scenario.loader import load_scenario_text, prepare

SCENARIO = """\
edgesim: 1
name: fast
world: tiny
duration: 1m
clients:
  - metros: [tokyo, london, new-york]
    requests_per_second: 10
workloads:
  - {name: api, host: api.example.com, method: POST, size: 1KB}
endpoints:
  - {name: use1, site: us-east-1}
  - {name: apne1, site: ap-northeast-1}
route53:
  cidr_collections:
    - name: nets
      locations: {tok: ["group:tokyo"], lon: ["group:london"]}
  zones:
    - name: example.com
      records:
        - {name: api, policy: latency, set: a, region: us-east-1, alias: endpoint:use1}
        - {name: api, policy: latency, set: b, region: ap-northeast-1, alias: endpoint:apne1}
        - {name: two, values: [192.0.2.1, 192.0.2.2]}
        - {name: five, values: [192.0.2.1, 192.0.2.2, 192.0.2.3, 192.0.2.4, 192.0.2.5]}
        - {name: w, policy: weighted, set: a, weight: 70, values: [192.0.2.10]}
        - {name: w, policy: weighted, set: b, weight: 20, values: [192.0.2.20]}
        - {name: w, policy: weighted, set: c, weight: 10, values: [192.0.2.30, 192.0.2.31]}
        - {name: w0, policy: weighted, set: a, weight: 0, values: [192.0.2.40]}
        - {name: w0, policy: weighted, set: b, weight: 0, values: [192.0.2.41]}
        - {name: fo, policy: failover, set: p, failover: primary, alias: endpoint:use1}
        - {name: fo, policy: failover, set: s, failover: secondary, values: [192.0.2.51]}
        - {name: geo, policy: geolocation, set: jp, country: JP, values: [192.0.2.60]}
        - {name: geo, policy: geolocation, set: eu, continent: EU, values: [192.0.2.61]}
        - {name: geod, policy: geolocation, set: jp, country: JP, values: [192.0.2.62]}
        - {name: geod, policy: geolocation, set: any, country: "*", values: [192.0.2.63]}
        - {name: ipr, policy: ip, set: t, collection: nets, cidr_location: tok,
           values: [192.0.2.70]}
        - {name: ipr, policy: ip, set: d, collection: nets, cidr_location: "*",
           values: [192.0.2.71]}
        - {name: mv1, policy: multivalue, set: a, values: [192.0.2.81]}
        - {name: mv1, policy: multivalue, set: b, values: [192.0.2.82]}
        - {name: mv1, policy: multivalue, set: c, values: [192.0.2.83]}
        - {name: mv1, policy: multivalue, set: d, values: [192.0.2.84]}
        - {name: mv1, policy: multivalue, set: e, values: [192.0.2.85]}
        - {name: mv1, policy: multivalue, set: f, values: [192.0.2.86]}
        - {name: mv1, policy: multivalue, set: g, values: [192.0.2.87]}
        - {name: mv1, policy: multivalue, set: h, values: [192.0.2.88]}
        - {name: mv1, policy: multivalue, set: i, values: [192.0.2.89]}
        - {name: mv1, policy: multivalue, set: j, values: [192.0.2.90]}
        - {name: "*.wild", values: [192.0.2.100]}
        - {name: "*.wcn", type: CNAME, values: [w.example.com.]}
        - {name: chain, type: CNAME, values: [w.example.com.]}
        - {name: chain2, type: CNAME, values: [chain.example.com.]}
        - {name: dead, type: CNAME, values: [gone.example.com.]}
        - {name: out, type: CNAME, values: [www.example.org.]}
        - {name: al, alias: "record:w", evaluate_target_health: true}
        - {name: ala, policy: weighted, set: x, weight: 1, alias: "record:geod"}
        - {name: ala, policy: weighted, set: y, weight: 1, alias: "record:api"}
        - {name: "@", type: MX, values: ["10 mail.example.com."]}
        - {name: mail, values: [192.0.2.110]}
        - {name: txt, type: TXT, values: ['"hello" "world"']}
        - {name: sub, type: NS, values: [ns1.sub.example.com.]}
        - {name: ns1.sub, values: [192.0.2.120]}
"""

NAMES = [
    "api",
    "two",
    "five",
    "w",
    "w0",
    "fo",
    "geo",
    "geod",
    "ipr",
    "mv1",
    "x.wild",
    "a.b.wild",
    "q.wcn",
    "chain",
    "chain2",
    "dead",
    "out",
    "al",
    "ala",
    "@",
    "mail",
    "txt",
    "host.sub",
    "nope",
    "deep.nope",
]
TYPES = ["A", "AAAA", "MX", "TXT", "CNAME", "NS", "SOA"]
SOURCES: list[tuple[str, int | None]] = [
    (group_address(0), 0),
    (group_address(1), 1),
    (group_address(2), 2),
    ("127.0.0.1", None),  # no group: a client Route 53 cannot place
]


def make() -> Authority:
    scn, index, file = load_scenario_text(SCENARIO)
    return scenario_authority(prepare(scn, index, file))


@pytest.fixture(scope="module")
def auth() -> Authority:
    return make()


def fqdn(label: str) -> str:
    return "example.com" if label == "@" else f"{label}.example.com"


def ask(auth: Authority, name: str, rdtype: str, source: str, **kw: object) -> dns.message.Message:
    q = dns.message.make_query(name, rdtype, **kw)  # type: ignore[arg-type]
    wire = auth.handle(q.to_wire(), source, udp=True)
    assert wire is not None
    r = dns.message.from_wire(wire)
    assert r.id == q.id
    return r


def sections(r: dns.message.Message) -> list[tuple[str, str, int, frozenset[str]]]:
    return [
        (
            rr.name.to_text(omit_final_dot=True).lower(),
            dns.rdatatype.to_text(rr.rdtype),
            rr.ttl,
            frozenset(rd.to_text().lower() for rd in rr),
        )
        for rr in r.answer
    ]


def reference(
    auth: Authority, host: str, rdtype: str, group: int | None
) -> list[tuple[str, str, int, frozenset[str]]] | None:
    ip = None
    if group is not None:
        ident = auth.clients.identity[group]
        ip, plen = ident
    else:
        import ipaddress

        ip, plen = ipaddress.ip_address("127.0.0.1"), None
    ans = auth.lookup(host, rdtype, group, ip, plen)
    if ans is None:
        return None
    out = []
    for rr in ans.answer:
        vals = frozenset(_canon(rr.rdtype, v) for v in rr.values)
        out.append((rr.owner, rr.rdtype, rr.ttl, vals))
    return out


def _canon(rdtype: str, value: str) -> str:
    import dns.name
    import dns.rdata

    origin = dns.name.from_text("example.com")
    rd = dns.rdata.from_text("IN", rdtype, value, origin=origin, relativize=False)
    return rd.to_text().lower()


def test_fast_answers_are_the_policy_functions_answers(auth: Authority) -> None:
    auth.random.seed(16)
    rng = random.Random(16)
    fast: dict[tuple[str, str, int | None], set[object]] = {}
    for _ in range(4000):
        label = rng.choice(NAMES)
        rdtype = rng.choice(TYPES if rng.random() < 0.3 else ["A"])
        source, group = rng.choice(SOURCES)
        host = fqdn(label)
        r = ask(auth, host.upper() if rng.random() < 0.2 else host, rdtype, source)
        fast.setdefault((host, rdtype, group), set()).add(tuple(sections(r)))
        ref = reference(auth, host, rdtype, group)
        assert ref is not None
        if label in ("nope", "deep.nope") or (label == "dead" and rdtype != "CNAME"):
            assert r.rcode() == dns.rcode.NXDOMAIN
        else:
            assert r.rcode() == dns.rcode.NOERROR
        if label == "host.sub":  # a referral: not authoritative, the delegation's NS set
            assert not r.flags & dns.flags.AA
            assert r.authority[0].rdtype == dns.rdatatype.NS
            assert r.authority[0].name.to_text().lower() == "sub.example.com."
            continue
        assert r.flags & dns.flags.AA
        positive = r.answer and (
            r.answer[-1].rdtype == dns.rdatatype.from_text(rdtype) or label == "out"
        )
        if positive:
            assert [rr.rdtype for rr in r.authority] in ([dns.rdatatype.NS], [])
        else:  # negative answers carry the SOA (RFC 2308), also after a CNAME chain
            assert [rr.rdtype for rr in r.authority] == [dns.rdatatype.SOA]
            assert r.authority[0].ttl == 900
    # every answer the server gave is one the policy functions give for that question and
    # place (their own random draws, many times over), and the deterministic ones are equal
    for (host, rdtype, group), answers in fast.items():
        ref_support = {tuple(reference(auth, host, rdtype, group) or []) for _ in range(20)}
        if len(ref_support) > 1:  # a random answer: draw it many times
            ref_support |= {tuple(reference(auth, host, rdtype, group) or []) for _ in range(400)}
        assert answers <= ref_support, (host, rdtype, group)
        if len(ref_support) == 1:
            assert answers == ref_support
    assert len(fast[("w.example.com", "A", 0)]) == 3
    assert len(fast[("ala.example.com", "A", 0)]) == 2  # weighted over latency / geo aliases


def test_weighted_answers_follow_the_weights(auth: Authority) -> None:
    n = 20_000
    seen: Counter[str] = Counter()
    wire = dns.message.make_query("w.example.com", "A").to_wire()
    for _ in range(n):
        reply = auth.handle(wire, group_address(0), udp=True)
        assert reply is not None
        r = dns.message.from_wire(reply)
        seen[min(rd.address for rd in r.answer[0])] += 1
    for addr, weight in (("192.0.2.10", 70), ("192.0.2.20", 20), ("192.0.2.30", 10)):
        assert abs(100 * seen[addr] / n - weight) <= 2, (addr, seen)


def test_multi_value_answers_are_shuffled_and_sampled(auth: Authority) -> None:
    orders: Counter[tuple[str, ...]] = Counter()
    for _ in range(2000):
        r = ask(auth, "two.example.com", "A", group_address(0))
        orders[tuple(rd.address for rd in r.answer[0])] += 1
    assert set(orders) == {("192.0.2.1", "192.0.2.2"), ("192.0.2.2", "192.0.2.1")}
    assert all(700 < c < 1300 for c in orders.values())
    firsts: Counter[str] = Counter()
    for _ in range(2000):
        r = ask(auth, "mv1.example.com", "A", group_address(0))
        values = [rd.address for rd in r.answer[0]]
        assert len(values) == len(set(values)) == 8  # Route 53: up to eight healthy records
        firsts[values[0]] += 1
    assert len(firsts) == 10  # any record can come first


def test_wildcards_answer_any_name_under_them_with_its_case(auth: Authority) -> None:
    for i in range(300):
        name = f"N{i}-x.{'y.' * (i % 4)}Wild.Example.com"
        r = ask(auth, name, "A", group_address(i % 3))
        assert r.rcode() == dns.rcode.NOERROR
        assert r.answer[0].name.to_text(omit_final_dot=True) == name  # owner case kept
        assert [rd.address for rd in r.answer[0]] == ["192.0.2.100"]
        assert r.authority[0].rdtype == dns.rdatatype.NS
    r = ask(auth, "zz.wcn.example.com", "A", group_address(0))
    assert r.answer[0].rdtype == dns.rdatatype.CNAME
    assert r.answer[0].name.to_text() == "zz.wcn.example.com."
    assert r.answer[1].name.to_text() == "w.example.com."


def test_ecs_and_source_places_agree(auth: Authority) -> None:
    for g in range(3):
        by_source = ask(auth, "api.example.com", "A", group_address(g))
        ecs = dns.edns.ECSOption(group_address(g), 32)
        by_ecs = ask(auth, "api.example.com", "A", "127.0.0.1", use_edns=0, options=[ecs])
        assert by_source.answer == by_ecs.answer


def test_world_changes_recompile_the_tables() -> None:
    from edgesim.services.route53 import Route53

    scn, index, file = load_scenario_text(SCENARIO)
    run = prepare(scn, index, file)
    auth = scenario_authority(run)
    svc = next(s for s in run.services if isinstance(s, Route53))
    assert (
        len(
            {
                ask(auth, "w.example.com", "A", group_address(0)).answer[0][0].address
                for _ in range(200)
            }
        )
        == 3
    )
    for set_id, w in (("a", 0), ("b", 0), ("c", 0)):
        svc.on_event("set_weight", {"record": "w.example.com", "set": set_id, "weight": w}, 0)
    svc.on_event("set_weight", {"record": "w.example.com", "set": "b", "weight": 5}, 0)
    run.ctx.now_ns += 1  # what the live driver does for every event
    for _ in range(50):
        r = ask(auth, "w.example.com", "A", group_address(0))
        assert [rd.address for rd in r.answer[0]] == ["192.0.2.20"]
