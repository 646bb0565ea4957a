"""Local Zones, Wavelength zones and Outposts in scenarios (docs/edge-services.md §Local Zones,
Wavelength Zones and Outposts): the example scenarios' assertions hold, and endpoints that call
other endpoints see the hairpins and the service link."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edgesim.errors import InputError
from edgesim.scenario.loader import load_scenario, load_scenario_text, prepare
from edgesim.sim.report import build_report
from edgesim.sim.results import Results

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())


def run_file(name: str) -> dict[str, Any]:
    path = ROOT / "scenarios" / name
    scn, index, file = load_scenario(path)
    run = prepare(scn, index, file, base_dir=path.parent)
    run.execute()
    res = Results(run)
    report: dict[str, Any] = build_report(res)
    return report


@pytest.mark.parametrize(
    "name", ["local-zone-game.yaml", "wavelength-ar.yaml", "outpost-factory.yaml"]
)
def test_example_scenarios_hold(name: str) -> None:
    report = run_file(name)
    assert report["assertions"]
    assert all(a["ok"] for a in report["assertions"]), report["assertions"]


def test_local_zone_beats_its_parent_region_and_hairpins_to_it() -> None:
    r = run_file("local-zone-game.yaml")
    w = r["workloads"]
    assert w["moves-lz"]["latency_ms"]["p50"] < w["moves-region"]["latency_ms"]["p50"]
    # the history calls go from the Local Zone to the parent region
    hops = w["history-lz"]["hops_mean_ms"]
    assert hops["→history-db"] > 0


def test_outpost_keeps_local_work_through_a_service_link_cut() -> None:
    r = run_file("outpost-factory.yaml")
    w = r["workloads"]
    assert w["line-control"]["availability"] == 1.0
    # erp-sync needs the region: it fails for the 10 of 30 minutes the link is cut
    assert w["erp-sync"]["availability"] == pytest.approx(2 / 3, abs=0.03)
    rows = r["timeseries"]["rows"]
    assert len(rows) == 30


SCN = """\
edgesim: 1
name: calls
world: tiny
duration: 1m
clients: [{{metros: [london], requests_per_second: 50}}]
workloads: [{{name: w, host: a.example.com, target: endpoint:front, size: 1KB}}]
endpoints:
  - {{name: front, site: region:eu-west-2, calls: {calls}}}
  - {{name: db, site: region:us-east-1}}
"""


def load(text: str) -> None:
    scn, index, file = load_scenario_text(text)
    prepare(scn, index, file)


def run_text(text: str) -> Results:
    scn, index, file = load_scenario_text(text)
    run = prepare(scn, index, file)
    run.execute()
    res = Results(run)
    res.report = build_report(res)
    return res


def test_a_call_adds_the_round_trip_between_the_sites() -> None:
    plain = run_text(SCN.format(calls="[]")).report["workloads"]["w"]["latency_ms"]["p50"]
    called = run_text(SCN.format(calls="[db]")).report
    hops = called["workloads"]["w"]["hops_mean_ms"]
    # London -> Ashburn is a transatlantic round trip: at least 2 x 5,500 km of fibre
    assert hops["→db"] > 2 * 5500 / 204
    assert called["workloads"]["w"]["latency_ms"]["p50"] > plain + hops["→db"] * 0.9


@pytest.mark.parametrize(
    ("calls", "message"), [("[nope]", "no other endpoint named 'nope'"), ("[front]", "no other")]
)
def test_bad_calls_are_refused(calls: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        load(SCN.format(calls=calls))
    assert message in info.value.render()
    assert "endpoints[0].calls[0]" in info.value.render()


def test_call_cycles_are_refused() -> None:
    text = SCN.format(calls="[db]").replace(
        "{name: db, site: region:us-east-1}", "{name: db, site: region:us-east-1, calls: [front]}"
    )
    with pytest.raises(InputError) as info:
        load(text)
    assert "calls itself" in info.value.render()


GEO = """\
edgesim: 1
name: geoproximity to a Local Zone
world: tiny
duration: 1m
clients: [{metros: [new-york, london], requests_per_second: 50}]
workloads: [{name: api, host: api.example.com, method: POST, size: 1KB}]
endpoints:
  - {name: nyc, site: lz:us-east-1-nyc-1}
  - {name: lon, site: region:eu-west-2}
route53:
  zones:
    - name: example.com
      records:
        - {name: api, policy: geoproximity, set: a, location: us-east-1-nyc-1, alias: endpoint:nyc}
        - {name: api, policy: geoproximity, set: b, location: eu-west-2, alias: endpoint:lon}
"""


def test_route53_geoproximity_can_target_a_local_zone() -> None:
    r = run_text(GEO)
    sites = r.report["services"]["endpoints"]
    assert sites["nyc"]["site"] == "lz:us-east-1-nyc-1"
    assert sites["nyc"]["requests"] > 0
    assert sites["lon"]["requests"] > 0
    r53 = next(s for s in r.run.services if s.section == "route53")
    where = r.run.ctx.group_node()
    targets, choice, _ = r53.resolve("api.example.com", where, 0)
    assert [targets[i].key for i in choice] == ["endpoint:nyc", "endpoint:lon"]
