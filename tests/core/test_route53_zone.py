"""Hosted zones: record types, wildcards, CNAMEs, aliases in the zone, zone files (docs/route53.md).

Answers are checked on the wire (dnspython messages through the server's Authority), as a
resolver would see them.
"""

from __future__ import annotations

from pathlib import Path

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import numpy as np
import pytest

from edgesim.dnsserver.authority import Authority, scenario_authority, zonefile_authority
from edgesim.errors import InputError
from edgesim.route53.policies import Query, Record
from edgesim.route53.zone import Env, RecordSet, Zone, lookup, normalize, zone_from_text
from edgesim.scenario.loader import load_scenario_text, prepare

ZONE_FILE = """\
$ORIGIN example.org.
$TTL 3600
@       IN SOA  ns.other.net. admin.example.org. 7 3600 600 86400 60
@       IN NS   ns.other.net.
@       IN A    192.0.2.1
@       IN AAAA 2001:db8::1
@       IN MX   10 mail
@       IN TXT  "v=spf1 mx -all"
@       IN CAA  0 issue "amazon.com"
mail    IN A    192.0.2.25
www     IN CNAME @
_sip._tcp IN SRV 10 60 5060 sip
sip   300 IN A    192.0.2.50
*.apps  IN A    192.0.2.80
known.apps IN TXT "exists"
sub     IN NS   ns1.sub
ns1.sub IN A    192.0.2.53
dangling IN CNAME gone
away    IN CNAME www.example.net.
"""


def ask(
    auth: Authority, name: str, rdtype: str = "A", source: str = "127.0.0.1", **kw: object
) -> dns.message.Message:
    q = dns.message.make_query(name, rdtype, **kw)  # type: ignore[arg-type]
    wire = auth.handle(q.to_wire(), source, udp=True)
    assert wire is not None
    return dns.message.from_wire(wire)


def values(msg: dns.message.Message, rdtype: str) -> list[str]:
    want = dns.rdatatype.from_text(rdtype)
    return sorted(rd.to_text() for rr in msg.answer if rr.rdtype == want for rd in rr)


@pytest.fixture(scope="module")
def filezone() -> Authority:
    return zonefile_authority([zone_from_text(ZONE_FILE, "example.org")])


# ---- record types -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("rdtype", "expected"),
    [
        ("A", ["192.0.2.1"]),
        ("AAAA", ["2001:db8::1"]),
        ("MX", ["10 mail.example.org."]),
        ("TXT", ['"v=spf1 mx -all"']),
        ("CAA", ['0 issue "amazon.com"']),
    ],
)
def test_every_record_type_at_the_apex(
    filezone: Authority, rdtype: str, expected: list[str]
) -> None:
    msg = ask(filezone, "example.org", rdtype)
    assert msg.rcode() == dns.rcode.NOERROR
    assert msg.flags & dns.flags.AA
    assert values(msg, rdtype) == expected
    ns = [rr for rr in msg.authority if rr.rdtype == dns.rdatatype.NS]
    assert ns  # successful answers carry the zone's NS set (docs/route53.md §On the wire)


def test_srv_and_mx_targets_come_with_their_addresses(filezone: Authority) -> None:
    srv = ask(filezone, "_sip._tcp.example.org", "SRV")
    assert values(srv, "SRV") == ["10 60 5060 sip.example.org."]
    glue = {rr.name.to_text(): [rd.to_text() for rd in rr] for rr in srv.additional}
    assert glue == {"sip.example.org.": ["192.0.2.50"]}
    mx = ask(filezone, "example.org", "MX")
    assert {rr.name.to_text() for rr in mx.additional} == {"mail.example.org."}


def test_route53_soa_and_ns_replace_the_files(filezone: Authority) -> None:
    soa = ask(filezone, "example.org", "SOA")
    (rr,) = soa.answer
    assert rr.ttl == 900
    assert "awsdns-hostmaster.amazon.com." in rr[0].to_text()
    ns = ask(filezone, "example.org", "NS")
    (rr,) = ns.answer
    assert rr.ttl == 172800
    assert len(rr) == 4
    assert all("awsdns" in rd.to_text() for rd in rr)


def test_names_are_case_insensitive_and_the_question_case_is_echoed(filezone: Authority) -> None:
    msg = ask(filezone, "MaIl.Example.ORG", "A")
    assert values(msg, "A") == ["192.0.2.25"]
    assert msg.answer[0].name.to_text() == "MaIl.Example.ORG."


def test_cname_is_followed_inside_the_zone(filezone: Authority) -> None:
    msg = ask(filezone, "www.example.org", "A")
    assert [dns.rdatatype.to_text(rr.rdtype) for rr in msg.answer] == ["CNAME", "A"]
    assert values(msg, "A") == ["192.0.2.1"]
    only = ask(filezone, "www.example.org", "CNAME")
    assert values(only, "CNAME") == ["example.org."]


def test_cname_out_of_the_zone_and_to_nothing(filezone: Authority) -> None:
    away = ask(filezone, "away.example.org", "A")
    assert away.rcode() == dns.rcode.NOERROR
    assert values(away, "CNAME") == ["www.example.net."]
    assert values(away, "A") == []
    dangling = ask(filezone, "dangling.example.org", "A")
    assert dangling.rcode() == dns.rcode.NXDOMAIN  # RFC 6604: the chain ends on no name
    assert values(dangling, "CNAME") == ["gone.example.org."]


def test_wildcards(filezone: Authority) -> None:
    a = ask(filezone, "anything.apps.example.org", "A")
    assert values(a, "A") == ["192.0.2.80"]
    assert a.answer[0].name.to_text() == "anything.apps.example.org."  # synthesised owner
    deeper = ask(filezone, "x.y.apps.example.org", "A")
    assert values(deeper, "A") == ["192.0.2.80"]
    # an existing name never takes the wildcard: other type -> NODATA (RFC 4592)
    known = ask(filezone, "known.apps.example.org", "A")
    assert known.rcode() == dns.rcode.NOERROR
    assert known.answer == []
    assert known.authority[0].rdtype == dns.rdatatype.SOA
    # the wildcard has no TXT: NODATA, not NXDOMAIN
    txt = ask(filezone, "other.apps.example.org", "TXT")
    assert txt.rcode() == dns.rcode.NOERROR
    assert txt.answer == []


def test_nxdomain_nodata_and_empty_non_terminals(filezone: Authority) -> None:
    nx = ask(filezone, "nope.example.org")
    assert nx.rcode() == dns.rcode.NXDOMAIN
    (soa,) = nx.authority
    assert soa.rdtype == dns.rdatatype.SOA
    assert soa.ttl == 900
    ent = ask(filezone, "_tcp.example.org", "A")  # exists only as a parent of _sip._tcp
    assert ent.rcode() == dns.rcode.NOERROR
    assert ent.answer == []


def test_delegation_gives_a_referral_with_glue(filezone: Authority) -> None:
    msg = ask(filezone, "host.sub.example.org", "A")
    assert msg.rcode() == dns.rcode.NOERROR
    assert not msg.flags & dns.flags.AA
    assert msg.answer == []
    assert [rr.name.to_text() for rr in msg.authority] == ["sub.example.org."]
    assert values(dns.message.from_text(msg.to_text()), "A") == []
    assert [rd.to_text() for rr in msg.additional for rd in rr] == ["192.0.2.53"]


def test_any_returns_every_type_at_the_name(filezone: Authority) -> None:
    msg = ask(filezone, "example.org", "ANY")
    types = {dns.rdatatype.to_text(rr.rdtype) for rr in msg.answer}
    assert {"A", "AAAA", "MX", "TXT", "CAA", "NS", "SOA"} <= types


def test_bad_zone_files_are_refused_with_the_line() -> None:
    with pytest.raises(ValueError, match=r"^z:\d+: "):  # file:line from dnspython
        zone_from_text("$ORIGIN a.org.\nwww IN A not-an-address\n", "a.org", filename="z")
    with pytest.raises(ValueError, match="CNAME"):  # dnspython refuses a CNAME beside others
        zone_from_text("$TTL 60\nwww IN CNAME x\nwww IN TXT hi\n", "a.org")
    zone = zone_from_text("$TTL 60\na.*.b IN A 192.0.2.1\n", "a.org")
    assert any("leftmost" in msg for _, msg in zone.validate())


# ---- the model --------------------------------------------------------------------------
def simple(name: str, rdtype: str, *vals: str, ttl: int = 60) -> RecordSet:
    return RecordSet(name, rdtype, Record(policy="simple", values=vals), ttl)


def env(**kw: object) -> Env:
    return Env(rng=np.random.default_rng(1), **kw)  # type: ignore[arg-type]


def test_simple_returns_all_values_in_random_order() -> None:
    zone = Zone("z.org", [simple("a.z.org", "A", "192.0.2.1", "192.0.2.2", "192.0.2.3")])
    e = env()
    orders = {lookup(zone, "a.z.org", "A", Query(), e).answer[0].values for _ in range(50)}
    assert all(sorted(o) == ["192.0.2.1", "192.0.2.2", "192.0.2.3"] for o in orders)
    assert len(orders) > 1  # "in random order"


def test_validation_refuses_what_route53_refuses() -> None:
    def problems(*records: RecordSet) -> list[str]:
        return [msg for _, msg in Zone("z.org", records).validate()]

    assert any("apex" in m for m in problems(simple("z.org", "CNAME", "x.y.")))
    assert any("leftmost" in m for m in problems(simple("a.*.z.org", "A", "192.0.2.1")))
    assert any("leftmost" in m for m in problems(simple("a*.z.org", "A", "192.0.2.1")))
    assert any("wildcards" in m for m in problems(simple("*.z.org", "NS", "ns.x.")))
    assert any("valid A" in m for m in problems(simple("a.z.org", "A", "300.1.1.1")))
    assert any("valid MX" in m for m in problems(simple("a.z.org", "MX", "mail")))
    multi_cname = [
        RecordSet("a.z.org", "CNAME", Record(policy="multivalue", set_id=s, values=("x.y.",)), 60)
        for s in "12"
    ]
    assert any("multivalue" in m for m in problems(*multi_cname))
    assert any("exactly one value" in m for m in problems(simple("a.z.org", "CNAME", "b.", "c.")))
    loop = [
        RecordSet("a.z.org", "A", Record(policy="simple"), None, alias="record:b.z.org"),
        RecordSet("b.z.org", "A", Record(policy="simple"), None, alias="record:a.z.org"),
    ]
    assert any("alias loop" in m for m in problems(*loop))
    missing = RecordSet("a.z.org", "A", Record(policy="simple"), None, alias="record:q.z.org")
    assert any("has no A record" in m for m in problems(missing))
    outside = RecordSet("a.z.org", "A", Record(policy="simple"), None, alias="record:q.y.org")
    assert any("not in zone" in m for m in problems(outside))
    assert not problems(simple("a.z.org", "A", "192.0.2.1"), simple("*.z.org", "TXT", '"x"'))


def test_alias_tree_backs_out_of_an_unhealthy_branch() -> None:
    """docs/route53.md §Shared rules (backtracking): latency aliases to weighted sets; when every
    weighted record in the nearest region is unhealthy, the latency alias (ETH) is unhealthy and
    the next-best region answers. With ETH = No the branch must still be chosen."""

    def tree(eth: bool) -> Zone:
        recs = []
        for region, ips in (("east", ("192.0.2.1", "192.0.2.2")), ("west", ("192.0.2.9",))):
            for i, ip in enumerate(ips):
                recs.append(
                    RecordSet(
                        f"{region}.z.org",
                        "A",
                        Record(
                            policy="weighted",
                            set_id=f"{region}{i}",
                            values=(ip,),
                            weight=1,
                            has_health_check=True,
                        ),
                        60,
                        health_check=f"hc-{ip}",
                    )
                )
            recs.append(
                RecordSet(
                    "www.z.org",
                    "A",
                    Record(
                        policy="latency",
                        set_id=region,
                        region=region,
                        alias_target=f"record:{region}.z.org",
                        evaluate_target_health=eth,
                    ),
                    None,
                    alias=f"record:{region}.z.org",
                )
            )
        zone = Zone("z.org", recs)
        assert zone.validate() == []
        return zone

    near_east = Query(latency_ms={"east": 10.0, "west": 80.0})
    down = {"hc-192.0.2.1", "hc-192.0.2.2"}
    e = env(check_healthy=lambda name: name not in down)
    answer = lookup(tree(True), "www.z.org", "A", near_east, e)
    assert answer.answer[0].values == ("192.0.2.9",)  # backed out to the next-best region
    assert answer.used_location
    e = env(check_healthy=lambda name: name not in down)
    stuck = lookup(tree(False), "www.z.org", "A", near_east, e)
    assert stuck.answer[0].values[0] in ("192.0.2.1", "192.0.2.2")  # must choose in the branch
    one_down = env(check_healthy=lambda name: name != "hc-192.0.2.1")
    for _ in range(20):
        got = lookup(tree(True), "www.z.org", "A", near_east, one_down).answer[0].values
        assert got == ("192.0.2.2",)  # the branch is healthy while one member is


def test_alias_to_a_record_takes_that_records_ttl() -> None:
    zone = Zone(
        "z.org",
        [
            simple("b.z.org", "A", "192.0.2.7", ttl=42),
            RecordSet("a.z.org", "A", Record(policy="simple"), None, alias="record:b.z.org"),
        ],
    )
    rr = lookup(zone, "A.Z.ORG.", "A", Query(), env()).answer[0]
    assert (rr.owner, rr.ttl, rr.values) == ("a.z.org", 42, ("192.0.2.7",))


def test_normalize() -> None:
    assert normalize("WWW", "Example.COM.") == "www.example.com"
    assert normalize("@", "example.com") == "example.com"
    assert normalize("a.example.com.", "example.com") == "a.example.com"


# ---- in scenarios -------------------------------------------------------------------------
SCENARIO = """\
edgesim: 1
name: zone
world: tiny
duration: 2m
clients:
  - metros: [tokyo, london, new-york]
    requests_per_second: 20
workloads:
  - {{name: api, host: {host}, method: POST, size: 1KB}}
endpoints:
  - {{name: use1, site: us-east-1}}
  - {{name: euw2, site: eu-west-2}}
  - {{name: apne1, site: ap-northeast-1}}
route53:
{route53}
"""


def scenario(route53: str, host: str = "api.example.com") -> str:
    return SCENARIO.format(route53=route53, host=host)


def prepared(text: str):  # type: ignore[no-untyped-def]
    scn, index, file = load_scenario_text(text)
    return prepare(scn, index, file)


IP_BASED = """\
  cidr_collections:
    - name: offices
      locations:
        asia: [group:tokyo]
        europe: ["203.0.113.0/24"]
  zones:
    - name: example.com
      records:
        - {name: api, policy: ip, set: a, collection: offices, cidr_location: asia,
           alias: endpoint:apne1}
        - {name: api, policy: ip, set: e, collection: offices, cidr_location: europe,
           alias: endpoint:euw2}
        - {name: api, policy: ip, set: d, collection: offices, cidr_location: "*",
           alias: endpoint:use1}
dns:
  client_subnets: {london: 203.0.113.0/24}
"""


def test_ip_based_routing_in_a_scenario_run() -> None:
    run = prepared(scenario(IP_BASED))
    run.execute()
    assert run.requests > 0
    r53 = next(s for s in run.services if s.section == "route53")
    assert [g.name for g in run.groups] == ["tokyo", "london", "new-york"]
    where = run.ctx.group_node()
    targets, choice, _ = r53.resolve("api.example.com", where, 0)
    got = [targets[i].key for i in choice]
    assert got == ["endpoint:apne1", "endpoint:euw2", "endpoint:use1"]


def test_ip_based_routing_on_the_wire_uses_the_ecs_address() -> None:
    auth = scenario_authority(prepared(scenario(IP_BASED)))
    import dns.edns

    def a(address: str) -> list[str]:
        ecs = dns.edns.ECSOption(address, 24)
        return values(ask(auth, "api.example.com", use_edns=0, options=[ecs]), "A")

    europe, default = a("203.0.113.9"), a("198.51.100.1")
    assert europe != default
    assert a("203.0.113.200") == europe


def test_records_of_every_type_in_scenario_yaml(tmp_path: Path) -> None:
    (tmp_path / "extra.zone").write_text(
        "$TTL 600\nlegacy IN A 192.0.2.44\n@ IN MX 5 mx.example.com.\n", encoding="utf-8"
    )
    text = scenario(
        """\
  zones:
    - name: example.com
      file: extra.zone
      records:
        - {name: api, alias: endpoint:use1}
        - {name: "*.dev", values: ["192.0.2.10"], ttl: 30s}
        - {name: txt, type: TXT, values: ['"hello world"']}
        - {name: six, type: AAAA, values: ["2001:db8::6"]}
        - {name: _x._tcp, type: SRV, values: ["1 1 443 api.example.com."]}
        - {name: "@", type: CAA, values: ['0 issue "amazon.com"']}
        - {name: alias, alias: record:api}
        - {name: web, type: CNAME, values: [api]}
"""
    )
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    from edgesim.scenario.loader import load_scenario

    scn, index, file = load_scenario(path)
    auth = scenario_authority(prepare(scn, index, file, base_dir=tmp_path))
    assert values(ask(auth, "legacy.example.com"), "A") == ["192.0.2.44"]
    assert values(ask(auth, "example.com", "MX"), "MX") == ["5 mx.example.com."]
    dev = ask(auth, "box.dev.example.com")
    assert values(dev, "A") == ["192.0.2.10"]
    assert dev.answer[0].ttl == 30
    assert values(ask(auth, "txt.example.com", "TXT"), "TXT") == ['"hello world"']
    assert values(ask(auth, "six.example.com", "AAAA"), "AAAA") == ["2001:db8::6"]
    assert values(ask(auth, "_x._tcp.example.com", "SRV"), "SRV") == ["1 1 443 api.example.com."]
    assert values(ask(auth, "example.com", "CAA"), "CAA") == ['0 issue "amazon.com"']
    api = values(ask(auth, "api.example.com"), "A")
    assert api
    assert api[0].startswith("127.2.")
    assert values(ask(auth, "alias.example.com"), "A") == api
    web = ask(auth, "web.example.com")
    assert values(web, "CNAME") == ["api.example.com."]
    assert values(web, "A") == api


@pytest.mark.parametrize(
    ("records", "message"),
    [
        (
            "- {name: api, type: CNAME, values: [x.example.net.]}\n"
            "        - {name: api, alias: endpoint:use1}",
            "CNAME cannot share",
        ),
        ("- {name: api, alias: record:nothing}", "has no A record"),
        ("- {name: api, alias: record:b}\n        - {name: b, alias: record:api}", "alias loop"),
        ("- {name: api, values: ['999.1.1.1']}", "not a valid A value"),
        ("- {name: api, type: MX, values: ['10 mx'], alias: endpoint:use1}", "exactly one of"),
        (
            "- {name: api, policy: weighted, set: a, weight: 300, alias: endpoint:use1}",
            "less than or equal to 255",
        ),
        ("- {name: api, policy: weighted, weight: 1, alias: endpoint:use1}", "set identifier"),
        (
            "- {name: api, policy: weighted, set: a, weight: 1, alias: endpoint:use1}\n"
            "        - {name: api, policy: weighted, set: a, weight: 2, alias: endpoint:euw2}",
            "duplicate set identifier",
        ),
        ("- {name: api, policy: multivalue, set: a, type: CNAME, values: [x.org.]}", "multivalue"),
        (
            "- {name: api, policy: weighted, set: a, weight: 1, alias: endpoint:use1}\n"
            "        - {name: api, policy: latency, set: b, region: us-east-1,\n"
            "           alias: endpoint:euw2}",
            "mixed routing policies",
        ),
        (
            "- {name: api, policy: ip, set: a, collection: nope, cidr_location: x, "
            "alias: endpoint:use1}",
            "no CIDR collection",
        ),
        ("- {name: api, alias: cloudfront:x, evaluate_target_health: true}", "CloudFront alias"),
    ],
)
def test_invalid_record_sets_are_refused_at_load(records: str, message: str) -> None:
    text = scenario(f"  zones:\n    - name: example.com\n      records:\n        {records}\n")
    with pytest.raises(InputError) as info:
        prepared(text)
    rendered = info.value.render()
    assert message in rendered
    assert "route53.zones[0]" in rendered


def test_a_missing_zone_file_is_a_clear_error(tmp_path: Path) -> None:
    text = scenario("  zones:\n    - name: example.com\n      file: missing.zone\n")
    scn, index, file = load_scenario_text(text)
    with pytest.raises(InputError) as info:
        prepare(scn, index, file, base_dir=tmp_path)
    assert "cannot import zone file missing.zone" in info.value.render()


def test_latency_routing_sees_the_world_change() -> None:
    """Latency records follow the measured latencies (docs/route53.md §Latency): a degraded path
    changes the answer, so per-node query data must not outlive the world's state."""
    text = scenario(
        """\
  zones:
    - name: example.com
      records:
        - {name: api, policy: latency, set: a, region: us-east-1, alias: endpoint:use1}
        - {name: api, policy: latency, set: b, region: eu-west-2, alias: endpoint:euw2}
"""
    )
    run = prepared(text)
    r53 = next(s for s in run.services if s.section == "route53")
    london = int(run.ctx.group_node()[1])

    def answer() -> str:
        targets, choice, _ = r53.resolve("api.example.com", np.array([london], np.int32), 0)
        return str(targets[int(choice[0])].key)

    assert answer() == "endpoint:euw2"
    world = run.ctx.world
    region = "region:eu-west-2"
    for nbr, links in list(world.graph[region].items()):
        for cls in list(links):
            world.degrade_link(region, nbr, cls, extra_one_way_ms=500.0)
    assert answer() == "endpoint:use1"
