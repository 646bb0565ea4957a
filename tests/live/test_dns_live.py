"""Live DNS: the timeline, health checks and control calls change answers (issue: Route 53 §5).

The driver runs on a VirtualClock here, so the moments are exact and nothing sleeps; the HTTP
control API and the command line are exercised on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import dns.message
import pytest
from click.testing import CliRunner

from edgesim.cli import main
from edgesim.dnsserver.authority import (
    Authority,
    group_address,
    scenario_authority,
    zonefile_authority,
)
from edgesim.dnsserver.control import start_control
from edgesim.route53.zone import zone_from_text
from edgesim.scenario.loader import load_scenario_text, prepare
from edgesim.sim.clock import VirtualClock
from edgesim.sim.live import LiveDriver

S = 1_000_000_000
SCENARIO = """\
edgesim: 1
name: live
world: aws-world
duration: 10m
clients:
  - metros: [tokyo, london]
    requests_per_second: 1
workloads:
  - {name: api, host: api.example.com, method: POST, size: 1KB}
endpoints:
  - {name: use1, site: us-east-1}
  - {name: euw2, site: eu-west-1}
route53:
  health_checks:
    - {name: hc, target: endpoint:use1, interval: 10s, failure_threshold: 3}
  zones:
    - name: example.com
      records:
        - {name: api, policy: failover, set: p, failover: primary, alias: endpoint:use1,
           health_check: hc, evaluate_target_health: false, ttl: 10s}
        - {name: api, policy: failover, set: s, failover: secondary, alias: endpoint:euw2,
           ttl: 10s}
timeline:
  - {at: 95s, fail: endpoint:use1}
  - {at: 300s, recover: endpoint:use1}
"""


def setup() -> tuple[Authority, LiveDriver, VirtualClock]:
    scn, index, file = load_scenario_text(SCENARIO)
    run = prepare(scn, index, file)
    auth = scenario_authority(run)
    clock = VirtualClock()
    driver = LiveDriver(run, clock)
    driver.start()
    return auth, driver, clock


def answer(auth: Authority) -> str:
    q = dns.message.make_query("api.example.com", "A")
    wire = auth.handle(q.to_wire(), group_address(0), udp=True)
    assert wire is not None
    msg = dns.message.from_wire(wire)
    return str(msg.answer[0][0].address)


def test_timeline_and_health_checks_change_live_answers() -> None:
    auth, _driver, clock = setup()
    primary = answer(auth)
    clock.run_until(95 * S)  # the endpoint fails at 95 s
    assert answer(auth) == primary  # nobody has noticed yet
    clock.run_until(100 * S)
    assert answer(auth) == primary  # first failed round (1 of 3)
    clock.run_until(110 * S)
    assert answer(auth) == primary  # 2 of 3
    clock.run_until(120 * S - 1)
    assert answer(auth) == primary
    clock.run_until(120 * S)  # third failed round: unhealthy, failover to the secondary
    secondary = answer(auth)
    assert secondary != primary
    clock.run_until(320 * S - 1)  # recovered at 300 s: healthy rounds at 300 and 310 s
    assert answer(auth) == secondary
    clock.run_until(320 * S)  # the third healthy round in a row (the threshold goes both ways)
    assert answer(auth) == primary


def test_control_calls_apply_now_and_bad_ones_change_nothing() -> None:
    auth, driver, clock = setup()
    clock.run_until(20 * S)
    primary = answer(auth)
    assert driver.control({"set_health": {"check": "hc", "healthy": False}}) == []
    secondary = answer(auth)
    assert secondary != primary
    assert driver.state()["health_checks"]["hc"] == {"healthy": False, "forced": True}
    assert driver.control({"set_health": {"check": "hc", "healthy": None}}) == []
    assert answer(auth) == primary
    assert driver.control({"fail": "endpoint:use1"}) == []
    assert driver.state()["targets"]["endpoint:use1"] is False
    for bad, words in (
        ({"fail": "region:atlantis"}, "nothing named"),
        ({"set_health": {"check": "nope", "healthy": False}}, "no health check"),
        ({"set_health": {"check": "hc", "healthy": "maybe"}}, "true, false"),
        ({"sett_weight": {}}, "unknown event"),
        ({"at": "1s", "fail": "endpoint:use1"}, "without 'at'"),
        (["fail"], "timeline entry"),
        ({"fail": "endpoint:use1", "recover": "endpoint:use1"}, "one action"),
        ({"degrade": {"link": 5}}, ""),
    ):
        problems = driver.control(bad)
        assert problems, bad
        assert words in " ".join(p.message for p in problems), (bad, problems)


async def _control_session(driver: LiveDriver, auth: Authority) -> None:
    runner, port = await start_control(driver, "s3cret", "127.0.0.1", 0)
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/v1/state") as r:
                assert r.status == 200
                state = await r.json()
                assert state["health_checks"]["hc"]["healthy"] is True
            event = {"set_health": {"check": "hc", "healthy": False}}
            before = answer(auth)
            async with http.post(f"{base}/v1/events", json=event) as r:
                assert r.status == 401  # no token
            bad_token = {"Authorization": "Bearer wrong"}
            async with http.post(f"{base}/v1/events", json=event, headers=bad_token) as r:
                assert r.status == 401
            assert answer(auth) == before
            ok = {"Authorization": "Bearer s3cret"}
            async with http.post(f"{base}/v1/events", data=b"{not json", headers=ok) as r:
                assert r.status == 400
            async with http.post(f"{base}/v1/events", json={"fail": "nowhere"}, headers=ok) as r:
                assert r.status == 400
                body = await r.json()
                assert body["problems"][0]["path"] == "fail"
            big = b"x" * (65 * 1024)
            async with http.post(f"{base}/v1/events", data=big, headers=ok) as r:
                assert r.status == 413
            async with http.post(f"{base}/v1/events", json=event, headers=ok) as r:
                assert r.status == 200
            assert answer(auth) != before  # the DNS answer changed live
    finally:
        await runner.cleanup()


def test_control_api_over_http() -> None:
    auth, driver, _clock = setup()
    asyncio.run(_control_session(driver, auth))


# ---- zone files on the command line and on the wire -----------------------------------
ZONE = "$TTL 300\n@ IN MX 10 mail\nmail IN A 192.0.2.25\nwww IN CNAME mail\n"


def test_cli_refuses_a_bad_zone_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.zone"
    bad.write_text("$TTL 300\nwww IN A 300.300.1.1\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["dns", "serve", str(bad)])
    assert result.exit_code == 2
    assert "bad.zone" in result.output
    assert "Traceback" not in result.output
    missing = CliRunner().invoke(main, ["dns", "serve", str(tmp_path / "none.zone")])
    assert missing.exit_code == 2
    assert "cannot read the zone file" in missing.output
    good = tmp_path / "example.net.zone"
    good.write_text(ZONE, encoding="utf-8")
    listen = CliRunner().invoke(main, ["dns", "serve", str(good), "--listen", "nowhere"])
    assert listen.exit_code == 2
    assert "HOST:PORT" in listen.output


@pytest.fixture
def zone_server(
    dns_server_thread: Callable[[Any], contextlib.AbstractContextManager[int]],
) -> Iterator[int]:
    with dns_server_thread(zonefile_authority([zone_from_text(ZONE, "example.net")])) as port:
        yield port


@pytest.mark.skipif(shutil.which("dig") is None, reason="dig (bind9-dnsutils) not installed")
def test_dig_reads_an_imported_zone_file(zone_server: int) -> None:
    def dig(*args: str) -> str:
        cmd = ["dig", "@127.0.0.1", "-p", str(zone_server), *args]
        return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=30).stdout

    assert dig("+short", "example.net", "MX").split() == ["10", "mail.example.net."]
    assert dig("+short", "+tcp", "www.example.net").split() == ["mail.example.net.", "192.0.2.25"]
    full = dig("example.net", "MX")
    assert "mail.example.net.\t300\tIN\tA\t192.0.2.25" in full  # the MX target's address
    assert "status: NOERROR" in full
    assert "flags: qr aa" in full


def test_dnspython_resolver_reads_an_imported_zone_file(zone_server: int) -> None:
    import dns.resolver

    res = dns.resolver.Resolver(configure=False)
    res.nameservers = ["127.0.0.1"]
    res.port = zone_server
    res.timeout = res.lifetime = 5
    got = res.resolve("www.example.net", "A")
    assert [r.address for r in got] == ["192.0.2.25"]
    assert got.canonical_name.to_text() == "mail.example.net."
    with pytest.raises(dns.resolver.NXDOMAIN):
        res.resolve("nope.example.net", "A")
    with pytest.raises(dns.resolver.NoAnswer):
        res.resolve("mail.example.net", "TXT")
