"""Scenario runs on the tiny world: behaviour against the model's stated rules."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner

from edgesim.cli import main
from edgesim.report.output import dumps
from edgesim.scenario.loader import load_scenario, load_scenario_text, prepare
from edgesim.sim.api import run_scenario
from edgesim.sim.report import build_report
from edgesim.sim.results import Results

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())

API = """\
edgesim: 1
name: api
world: tiny
seed: 3
duration: {duration}
interval: 1m
clients:
  - name: main
    metros: [tokyo, london, new-york]
    requests_per_second: {rate}
    resolvers: {resolvers}
workloads:
  - name: api
    host: api.example.com
    method: POST
    size: 2KB
endpoints:
  - {{name: use1, site: region:us-east-1, servers: {servers}, service_time: "fixed(10ms)"}}
  - {{name: euw2, site: region:eu-west-2, servers: {servers}, service_time: "fixed(10ms)"}}
  - {{name: apne1, site: region:ap-northeast-1, servers: {servers}, service_time: "fixed(10ms)"}}
route53:
  zones:
    - name: example.com
      records:
        - {{name: api, policy: latency, set: a, region: us-east-1, alias: endpoint:use1}}
        - {{name: api, policy: latency, set: b, region: eu-west-2, alias: endpoint:euw2}}
        - {{name: api, policy: latency, set: c, region: ap-northeast-1, alias: endpoint:apne1}}
timeline: {timeline}
"""


def api(
    duration: str = "5m",
    rate: float = 100,
    servers: int = 64,
    resolvers: str = "isp",
    timeline: str = "[]",
) -> str:
    return API.format(
        duration=duration, rate=rate, servers=servers, resolvers=resolvers, timeline=timeline
    )


def run_text(text: str, seed: int | None = None) -> Results:
    scn, index, file = load_scenario_text(text)
    run = prepare(scn, index, file, seed=seed)
    run.execute()
    results = Results(run)
    results.report = build_report(results)
    return results


def test_same_seed_same_bytes() -> None:
    a = dumps(run_scenario("scenarios/smoke.yaml").report)
    b = dumps(run_scenario("scenarios/smoke.yaml").report)
    c = dumps(run_scenario("scenarios/smoke.yaml", seed=8).report)
    assert a == b
    assert a != c


def test_adding_a_client_group_does_not_reshuffle_the_others() -> None:
    base = run_text(api())
    more = api().replace(
        "workloads:",
        "  - name: extra\n    metros: [london]\n    requests_per_second: 50\nworkloads:",
    )
    bigger = run_text(more)
    # the first entry's groups draw exactly the same arrivals (London, now in two entries,
    # is reported per entry)
    for g in ("tokyo", "new-york"):
        assert bigger.requests(group=g, segment="main") == base.requests(group=g)
    assert bigger.requests(group="london", segment="main") == base.requests(group="london")
    assert bigger.requests(segment="extra") > 0


def test_latency_routing_sends_users_to_the_nearest_region() -> None:
    r = run_text(api())
    sites = r.report["sites"]
    assert set(sites) == {"region:us-east-1", "region:eu-west-2", "region:ap-northeast-1"}
    # Each metro's p50 is close to its nearest region's RTT, so Tokyo is fastest to Tokyo.
    assert r.latency(group="tokyo").p50 < r.latency(group="london").p50 + 100


def test_public_resolver_without_ecs_misroutes_distant_users() -> None:
    isp = run_text(api(resolvers="isp"))
    no_ecs = run_text(api(resolvers="public-no-ecs"))
    # tiny has one no-ECS public resolver, in London: Tokyo's users are answered as if they
    # were in London and sent to eu-west-2.
    assert no_ecs.latency(group="tokyo").p50 > isp.latency(group="tokyo").p50 + 100
    assert (
        no_ecs.report["sites"]["region:eu-west-2"]["requests"]
        > isp.report["sites"]["region:eu-west-2"]["requests"]
    )


def test_ecs_resolver_routes_like_the_isp_one() -> None:
    isp = run_text(api(resolvers="isp"))
    ecs = run_text(api(resolvers="public-ecs"))
    assert set(ecs.report["sites"]) == set(isp.report["sites"])
    assert abs(ecs.latency(group="tokyo").p50 - isp.latency(group="tokyo").p50) < 20


def test_resolver_cache_asks_the_authoritative_once_per_ttl() -> None:
    r = run_text(api(duration="10m"))
    dns = r.report["dns"]["api.example.com"]
    keys = 3  # one ISP resolver per metro
    ttl_s = 60  # an alias to an endpoint carries the target's 60 s TTL
    assert dns["resolver_misses"] <= keys * (600 // ttl_s + 1)
    assert dns["resolver_misses"] >= keys * (600 // ttl_s) // 2
    assert dns["queries"] > 10 * dns["resolver_misses"]


def test_failover_after_region_failure_with_ttl_lag() -> None:
    tl = "[{at: 2m, fail: region:ap-northeast-1}, {at: 4m, recover: region:ap-northeast-1}]"
    r = run_text(api(duration="6m", timeline=tl))
    rows = r.report["timeseries"]["rows"]
    errors = [row["errors"][-1] for row in rows]
    assert errors[0] == errors[1] == 0
    # Tokyo's resolver keeps the old answer until its 60 s TTL runs out: errors in minute 3 only
    assert errors[2] > 0
    assert errors[3] == 0
    assert r.availability(group="london") == 1.0
    assert r.availability(group="tokyo") < 1.0


def test_load_raises_latency() -> None:
    light = run_text(api(rate=100, servers=8))
    heavy = run_text(api(rate=2000, servers=8))  # 0.8 of 3 x 8 servers at 10 ms? no: per region
    assert heavy.latency().p99 > light.latency().p99
    assert heavy.latency(group="tokyo").p50 >= light.latency(group="tokyo").p50


def test_overload_times_out() -> None:
    r = run_text(api(rate=3000, servers=1))  # 10 ms service, 1 server: 100 req/s per region
    assert r.availability() < 0.9
    assert r.report["summary"]["status_counts"].get("504", 0) > 0


def test_phases_and_hops_add_up_to_the_total() -> None:
    r = run_text(api())
    s = r.report["summary"]
    mean_phases = sum(s["phases_mean_ms"].values())
    mean_hops = sum(s["hops_mean_ms"].values())
    assert mean_phases == pytest.approx(s["latency_ms"]["mean"], rel=0.02)
    assert mean_hops == pytest.approx(mean_phases, rel=1e-3)


def test_flash_crowd_multiplies_requests_in_its_window() -> None:
    tl = "[{at: 2m, flash_crowd: {factor: 5, duration: 1m}}]"
    r = run_text(api(duration="4m", timeline=tl))
    req = [row["requests"][-1] for row in r.report["timeseries"]["rows"]]
    assert req[2] == pytest.approx(5 * np.mean([req[0], req[1], req[3]]), rel=0.15)


def test_degraded_link_adds_its_delay() -> None:
    base = run_text(api(resolvers="isp"))
    tl = "[{at: 0s, degrade: {link: hub:TYO-hub:SEA, add: 50ms}}]"
    worse = run_text(api(timeline=tl))
    # Tokyo's users go to ap-northeast-1 and do not cross the Pacific: unchanged.
    assert worse.latency(group="tokyo").p50 == pytest.approx(
        base.latency(group="tokyo").p50, rel=0.02
    )
    tl2 = "[{at: 0s, degrade: {link: hub:NYC-hub:BUD, add: 50ms}}]"
    worse2 = run_text(
        api(timeline=tl2)
        .replace("set: b, region: eu-west-2", "set: b, region: eu-west-2")
        .replace("alias: endpoint:euw2", "alias: endpoint:use1")
    )
    # London's users now reach us-east-1 (eu-west-2's record points there) across the
    # degraded Atlantic link: +50 ms each way per round trip, several round trips per request.
    assert worse2.latency(group="london").p50 > base.latency(group="london").p50 + 100


def test_warmup_is_excluded() -> None:
    r = run_text(api(duration="4m").replace("interval: 1m", "interval: 1m\nwarmup: 2m"))
    full = run_text(api(duration="4m"))
    assert r.requests() == pytest.approx(full.requests() / 2, rel=0.1)
    assert r.report["timeseries"]["rows"][0]["t_s"] == 120


def test_replications_report_confidence_intervals(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    res = CliRunner().invoke(
        main, ["run", "scenarios/smoke.yaml", "--replications", "3", "-q", "--json", str(out)]
    )
    assert res.exit_code == 0, res.output
    rep = json.loads(out.read_text())["replications"]
    assert rep["n"] == 3
    assert rep["seeds"] == [7, 8, 9]
    mean = rep["metrics"]["all"]["mean"]
    assert mean["ci95"] > 0
    assert mean["n"] == 3


def test_failed_assertions_exit_1(write: Callable[[str, str], Path]) -> None:
    text = (
        Path("scenarios/smoke.yaml")
        .read_text()
        .replace("p99(latency, group=london) < 500ms", "p99(latency, group=london) < 5ms")
    )
    res = CliRunner().invoke(main, ["run", str(write("s.yaml", text))])
    assert res.exit_code == 1
    assert "FAIL p99(latency, group=london) < 5ms" in res.output
    assert "PASS availability() >= 50%" in res.output


def test_reports_are_written_atomically(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        main,
        [
            "run",
            "scenarios/smoke.yaml",
            "-q",
            "--json",
            str(tmp_path / "r.json"),
            "--csv",
            str(tmp_path / "t.csv"),
        ],
    )
    assert res.exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json", "t.csv"]
    header = (tmp_path / "t.csv").read_text().splitlines()[0]
    assert header == "t_s,workload,requests,errors,p50_ms,p95_ms,p99_ms,mean_ms"


def test_baseline_check_catches_a_regression(
    tmp_path: Path, write: Callable[[str, str], Path]
) -> None:
    base = tmp_path / "base.json"
    res = CliRunner().invoke(
        main, ["run", "scenarios/smoke.yaml", "-q", "--save-baseline", str(base)]
    )
    assert res.exit_code == 0
    same = CliRunner().invoke(main, ["check", "scenarios/smoke.yaml", "--baseline", str(base)])
    assert same.exit_code == 0, same.output
    slower = Path("scenarios/smoke.yaml").read_text().replace("median=12ms", "median=80ms")
    res = CliRunner().invoke(
        main, ["check", str(write("slow.yaml", slower)), "--baseline", str(base)]
    )
    assert res.exit_code == 1
    assert "p50 latency (ms)" in res.output
    assert "worse than the baseline" in res.output


def test_check_writes_junit_and_json(tmp_path: Path, write: Callable[[str, str], Path]) -> None:
    from xml.etree import ElementTree as ET

    base = tmp_path / "base.json"
    res = CliRunner().invoke(
        main, ["run", "scenarios/smoke.yaml", "-q", "--save-baseline", str(base)]
    )
    assert res.exit_code == 0
    slower = Path("scenarios/smoke.yaml").read_text().replace("median=12ms", "median=80ms")
    junit, js = tmp_path / "check.xml", tmp_path / "check.json"
    args = ["--baseline", str(base), "--junit", str(junit), "--json", str(js)]
    res = CliRunner().invoke(main, ["check", str(write("slow.yaml", slower)), *args])
    assert res.exit_code == 1
    doc = json.loads(js.read_text())
    assert doc["ok"] is False
    assert doc["worse"] == sum(m["worse"] for m in doc["metrics"]) > 0
    assert {a["assertion"] for a in doc["assertions"]} == {
        "p99(latency, group=london) < 500ms",
        "availability() >= 50%",
    }
    suites = ET.parse(junit).getroot().findall("testsuite")
    regress = suites[0]
    cases = regress.findall("testcase")
    assert len(cases) == doc["compared"]
    failed = [c.get("name") for c in cases if c.find("failure") is not None]
    assert int(regress.get("failures", "-1")) == len(failed) == doc["worse"]
    assert "all: p50 latency (ms)" in failed
    assert suites[1].get("name", "").startswith("assertions in ")
    # the same scenario: no failure, exit 0
    res = CliRunner().invoke(main, ["check", "scenarios/smoke.yaml", *args])
    assert res.exit_code == 0, res.output
    assert json.loads(js.read_text())["ok"] is True
    assert ET.parse(junit).getroot().find("testsuite/testcase/failure") is None


def test_check_refuses_an_unwritable_report_path_before_running(tmp_path: Path) -> None:
    base = tmp_path / "base.json"
    base.write_text("{}")
    res = CliRunner().invoke(
        main,
        ["check", "scenarios/smoke.yaml", "--baseline", str(base), "--junit", "/nonexistent/x.xml"],
    )
    assert res.exit_code == 2
    assert "--junit" in res.output
    assert "does not exist" in res.output


def test_stop_callback_writes_an_incomplete_report() -> None:
    scn, index, file = load_scenario("scenarios/smoke.yaml")
    run = prepare(scn, index, file)
    calls = []

    def progress(p: object) -> None:
        calls.append(p)

    run.execute(progress, should_stop=lambda: len(calls) >= 1)
    results = Results(run)
    report = build_report(results)
    assert report["complete"] is False
    assert report["simulated_requests"] > 0
    assert len(calls) == 1


def test_the_engine_leaves_sigint_alone() -> None:
    """Signals belong to the CLI: a run neither installs nor swallows a SIGINT handler."""
    scn, index, file = load_scenario("scenarios/smoke.yaml")
    run = prepare(scn, index, file)
    before = signal.getsignal(signal.SIGINT)
    seen = []
    run.execute(lambda p: seen.append(signal.getsignal(signal.SIGINT)))
    assert seen
    assert all(h is before for h in seen)
    assert build_report(Results(run))["complete"] is True


def test_pytest_plugin_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        f"""
        def test_it(edgesim_run):
            r = edgesim_run({str(ROOT / "scenarios" / "smoke.yaml")!r})
            assert r.latency(group="new-york").p99 < r.latency(group="tokyo").p99
            assert 0.5 < r.availability() < 1.0
        """
    )
    result = pytester.runpytest()  # the plugin loads through its pytest11 entry point
    result.assert_outcomes(passed=1)


def _failing_smoke(tmp: Path) -> Path:
    """smoke.yaml with one assertion that cannot hold (p99 under 1 ms from London)."""
    text = (ROOT / "scenarios" / "smoke.yaml").read_text(encoding="utf-8")
    assert "p99(latency, group=london) < 500ms" in text
    path = tmp / "failing.yaml"
    path.write_text(text.replace("< 500ms", "< 1ms"), encoding="utf-8")
    return path


def test_pytest_plugin_fails_when_scenario_assertions_fail(pytester: pytest.Pytester) -> None:
    """As `edgesim run` exits 1 on a failed assertion, the fixture fails the test."""
    path = _failing_smoke(pytester.path)
    pytester.makepyfile(
        f"""
        def test_it(edgesim_run):
            edgesim_run({str(path)!r})

        def test_opt_out(edgesim_run):
            r = edgesim_run({str(path)!r}, check_assertions=False)
            assert r.availability() > 0.5
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*1 of 2 scenario assertion(s) do not hold*", "*✗ p99(latency, group=london) < 1ms*"]
    )


def test_pytest_plugin_ini_opt_out(pytester: pytest.Pytester) -> None:
    path = _failing_smoke(pytester.path)
    pytester.makeini("[pytest]\nedgesim_check_assertions = false\n")
    pytester.makepyfile(
        f"""
        def test_it(edgesim_run):
            edgesim_run({str(path)!r})
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_outpost_service_link_can_be_cut_by_name() -> None:
    from edgesim.sim.engine import resolve_links
    from edgesim.topology import load_world

    w = load_world("aws-world")
    links = resolve_links(w, "outpost:frankfurt-plant-1", None)
    assert links == [("outpost:frankfurt-plant-1", "region:eu-central-1", "service_link")]


def test_start_time_zone_does_not_matter() -> None:
    base = api(duration="10m").replace("seed: 3", "seed: 3\nstart: 2026-01-15T00:00:00Z")
    base = base.replace("    resolvers: isp", "    resolvers: isp\n    profile: diurnal")
    other = base.replace("2026-01-15T00:00:00Z", "2026-01-15T09:00:00+09:00")
    a, b = run_text(base), run_text(other)
    for g in ("tokyo", "london", "new-york"):
        assert a.requests(group=g) == b.requests(group=g)


def test_ttl_zero_means_every_lookup_asks() -> None:
    text = api(duration="2m").replace("alias: endpoint:use1}", "alias: endpoint:use1, ttl: 0s}")
    assert "ttl: 0s" in text
    r = run_text(text)
    dns = r.report["dns"]["api.example.com"]
    assert dns["resolver_misses"] >= dns["queries"] * 0.9


def test_workloads_sharing_a_name_keep_their_targets() -> None:
    text = api(duration="2m").replace(
        "workloads:\n  - name: api\n    host: api.example.com\n    method: POST\n    size: 2KB\n",
        "workloads:\n"
        "  - {name: a, host: same.example.com, target: endpoint:use1, method: POST, size: 2KB}\n"
        "  - {name: b, host: same.example.com, target: endpoint:euw2, method: POST, size: 2KB}\n",
    )
    r = run_text(text)
    assert r.report["sites"]["region:us-east-1"]["requests"] > 0
    assert r.report["sites"]["region:eu-west-2"]["requests"] > 0


def test_failed_edge_location_counts_toward_failover_time(
    write: Callable[[str, str], Path],
) -> None:
    text = """\
edgesim: 1
name: pop failure
world: tiny
duration: 4m
interval: 30s
clients:
  - {metros: [london], requests_per_second: 50}
workloads:
  - {name: web, host: www.example.com, objects: {count: 100, size: fixed(1KB)}}
endpoints:
  - {name: o, site: us-east-1}
cloudfront:
  distributions:
    - {name: site, origins: [{name: o, endpoint: o}]}
route53:
  zones:
    - {name: example.com, records: [{name: www, alias: cloudfront:site}]}
timeline:
  - {at: 90s, fail: pop:LHR50}
"""
    r = run_text(text)
    assert 0 < r.failover_time("www.example.com") <= 60


def test_ci_workflow_example_uses_real_options() -> None:
    """docs/ci-latency-gate.yml: valid YAML whose edgesim command lines the CLI accepts."""
    import shlex

    import yaml

    doc = yaml.safe_load((ROOT / "docs" / "ci-latency-gate.yml").read_text())
    steps = doc["jobs"]["latency"]["steps"]
    lines = [
        " ".join(ln.strip().rstrip("\\") for ln in s["run"].splitlines())
        for s in steps
        if "edgesim check" in s.get("run", "")
    ]
    assert lines, "the workflow runs edgesim check"
    for line in lines:
        words = shlex.split(line[line.index("edgesim check") :].replace('"$', '"'))
        cmd = main.get_command(click.Context(main), "check")
        assert cmd is not None
        ctx = cmd.make_context("check", words[2:])  # raises UsageError on an unknown option
        assert ctx.params["junit_out"] is not None
