"""Deployments as timeline events: CodeDeploy traffic shifting, alarms, rollback, exposure."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgesim.compute.deploy import (
    AlarmRule,
    DeployConfigError,
    Deployment,
    TrafficShift,
    parse_config,
    valid_period_ns,
)
from edgesim.errors import InputError
from edgesim.scenario.loader import load_scenario, load_scenario_text, prepare
from edgesim.sim.report import build_report
from edgesim.sim.results import Results

NS = 1_000_000_000
MIN = 60 * NS


def run(text: str) -> Results:
    scn, index, file = load_scenario_text(text)
    r = prepare(scn, index, file)
    r.execute()
    res = Results(r)
    res.report = build_report(res)
    return res


# ---- configurations ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "offsets_min", "shares"),
    [
        ("AllAtOnce", [0], [1.0]),
        ("CodeDeployDefault.LambdaAllAtOnce", [0], [1.0]),
        ("Canary10Percent5Minutes", [0, 5], [0.1, 1.0]),
        ("CodeDeployDefault.ECSCanary10Percent15Minutes", [0, 15], [0.1, 1.0]),
        ("Canary25Percent2Minutes", [0, 2], [0.25, 1.0]),
        ("Linear10PercentEvery1Minute", list(range(10)), [k / 10 for k in range(1, 11)]),
        (
            "CodeDeployDefault.LambdaLinear10PercentEvery3Minutes",
            [0, 3, 6, 9, 12, 15, 18, 21, 24, 27],
            [k / 10 for k in range(1, 11)],
        ),
        ("Linear30PercentEvery2Minutes", [0, 2, 4, 6], [0.3, 0.6, 0.9, 1.0]),
    ],
)
def test_configs_shift_traffic_in_codedeploys_steps(
    name: str, offsets_min: list[int], shares: list[float]
) -> None:
    offsets, got = parse_config(name).steps()
    assert [o // MIN for o in offsets] == offsets_min
    assert got == pytest.approx(shares)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Canary10Percent5Minutez", "did you mean 'Canary10Percent5Minutes'"),
        ("BlueGreen", "unknown deployment configuration"),
        ("Canary0Percent5Minutes", "percentage must be 1 to 99"),
        ("Linear10PercentEvery0Minutes", "interval must be 1 to 2880"),
        ("CodeDeployDefault.OneAtATime", "in-place"),
        ("HalfAtATime", "in-place"),
    ],
)
def test_unknown_or_bad_configs_are_refused(name: str, message: str) -> None:
    with pytest.raises(DeployConfigError, match=message):
        parse_config(name)


def test_cloudwatch_alarm_periods() -> None:
    assert all(valid_period_ns(s * NS) for s in (10, 30, 60, 300, 3600))
    assert not any(valid_period_ns(s * NS) for s in (5, 20, 45, 90))


def test_alarm_needs_periods_in_a_row_and_missing_data_changes_nothing() -> None:
    rule = AlarmRule("error_rate", 0.02, periods=2)
    assert not rule.observe(100, 5, 0.0)  # 5 % > 2 %: one breaching period
    assert not rule.observe(0, 0, 0.0)  # no data: the streak stays
    assert rule.observe(100, 3, 0.0)  # second breaching period in a row
    assert not AlarmRule("p99_ms", 100, periods=1).observe(100, 0, 99.0)


def test_share_table_and_rollback() -> None:
    dep = Deployment("api", "v1", "v2", parse_config("Canary10Percent5Minutes"), 60 * NS, 1)
    t = np.array([0, 60 * NS, 5 * MIN, 6 * MIN, 7 * MIN], dtype=np.int64)
    assert dep.share_at(t).tolist() == [0.0, 0.1, 0.1, 1.0, 1.0]
    dep.rule = AlarmRule("error_rate", 0.01)
    dep.window(10, 5, np.zeros(10))
    assert dep.evaluate(2 * MIN, False) == "rollback"
    assert dep.share_at(t).tolist() == [0.0, 0.1, 0.0, 0.0, 0.0]
    assert dep.timeline() == [{"at_s": 60.0, "share": 0.1}, {"at_s": 120.0, "share": 0.0}]


def test_stopped_deployment_keeps_its_share() -> None:
    shift = TrafficShift("Linear10PercentEvery1Minute", "linear", 10, 1)
    dep = Deployment("api", "v1", "v2", shift, 0, 1, rollback=False)
    assert dep.evaluate(150 * NS, True) == "stopped"
    later = np.array([10 * MIN], dtype=np.int64)
    assert dep.share_at(later).tolist() == pytest.approx([0.3])


# ---- deployments in runs ----------------------------------------------------------------------
def scenario(timeline: str, *, versions: str = "", r53: str = "", extra: str = "") -> str:
    return f"""\
edgesim: 1
name: deploy
world: tiny
seed: 4
duration: 20m
warmup: 30s
interval: 1m
clients:
  - metros: [tokyo, london, new-york]
    requests_per_second: 200
workloads:
  - {{name: api, host: api.example.com, target: endpoint:api, method: POST, size: 1KB}}
endpoints:
  - name: api
    site: region:us-east-1
    servers: 32
    service_time: "fixed(10ms)"
{
        versions
        or '''    versions:
      v2: {error_rate: 10%, extra_latency: 40ms}
      v3: {service_time_factor: 0.5}
'''
    }{extra}
{r53}timeline: {timeline}
"""


def deployments(r: Results) -> list[dict[str, object]]:
    out: list[dict[str, object]] = r.report["services"]["endpoints"]["api"]["deployments"]
    return out


def test_canary_with_an_error_regression_rolls_back_and_reports_exposure() -> None:
    tl = (
        "[{at: 2m, deploy: {endpoint: api, version: v2, config: Canary10Percent5Minutes, "
        "alarm: {metric: error_rate, above: 2%, periods: 2}}}]"
    )
    r = run(scenario(tl))
    (dep,) = deployments(r)
    assert dep["outcome"] == "rolled_back"
    assert dep["alarm_s"] == 240.0  # two breaching one-minute periods after 2m
    assert dep["shares"] == [{"at_s": 120.0, "share": 0.1}, {"at_s": 240.0, "share": 0.0}]
    exp = dep["exposure"]
    assert isinstance(exp, dict)
    # 10 % of two minutes of ~200 req/s, and v2's 10 % error rate on them
    assert 1600 < exp["requests"] < 3200
    assert 0.05 < exp["errors"] / exp["requests"] < 0.15
    groups = exp["groups"]
    assert set(groups) == {"tokyo", "london", "new-york"}
    assert sum(g["requests"] for g in groups.values()) == exp["requests"]
    assert sum(g["errors"] for g in groups.values()) == exp["errors"]
    # every error of the run came from v2 (v1 has no error rate)
    assert r.errors() == exp["errors"]
    assert r.report["services"]["endpoints"]["api"]["version"] == "v1"
    whats = [e["what"] for e in r.report["events"]]
    assert whats == ["deploy", "deploy_rollback"]


def test_without_an_alarm_the_deployment_succeeds_and_the_version_changes() -> None:
    tl = "[{at: 2m, deploy: {endpoint: api, version: v3, config: Linear10PercentEvery1Minute}}]"
    r = run(scenario(tl))
    (dep,) = deployments(r)
    assert dep["outcome"] == "succeeded"
    assert dep["ended_s"] == 120.0 + 9 * 60
    assert r.report["services"]["endpoints"]["api"]["version"] == "v3"
    # v3 halves the service time: the last interval's requests are all on v3
    first = r.report["timeseries"]["rows"][0]["latency_ms"][-1]["p50"]
    last = r.report["timeseries"]["rows"][-1]["latency_ms"][-1]["p50"]
    assert last < first


def test_all_at_once_exposes_everyone_until_the_rollback() -> None:
    tl = (
        "[{at: 2m, deploy: {endpoint: api, version: v2, config: AllAtOnce, bake: 5m, "
        "alarm: {metric: p99_ms, above: 30, period: 30s}}}]"
    )
    (dep,) = deployments(run(scenario(tl)))
    assert dep["outcome"] == "rolled_back"
    assert dep["rollback_s"] == 150.0
    exp = dep["exposure"]
    assert isinstance(exp, dict)
    assert 5000 < exp["requests"] < 7000  # all of 30 s at ~200 req/s


def test_rollback_false_stops_the_shift_where_it_was() -> None:
    tl = (
        "[{at: 2m, deploy: {endpoint: api, version: v2, config: Linear10PercentEvery1Minute, "
        "alarm: {metric: error_rate, above: 2%}, rollback: false}}]"
    )
    r = run(scenario(tl))
    (dep,) = deployments(r)
    assert dep["outcome"] == "stopped"
    # The first minute (10 %) breaches; the alarm fires at 3m, before that moment's shift to
    # 20 %, so 10 % of requests stay on v2 for the rest of the run (18 minutes).
    assert dep["alarm_s"] == 180.0
    assert dep["shares"] == [{"at_s": 120.0, "share": 0.1}]
    exp = dep["exposure"]
    assert isinstance(exp, dict)
    expected = 0.1 * 18 * 60 * 200
    assert exp["requests"] == pytest.approx(expected, rel=0.1)


def test_a_route53_alarm_check_triggers_the_rollback() -> None:
    r53 = """\
route53:
  zones: [{name: example.com, records: []}]
  health_checks:
    - {name: api-errors, type: alarm, target: endpoint:api, metric: error_rate, above: 0.001,
       interval: 10s}
"""
    tl = (
        "[{at: 2m, deploy: {endpoint: api, version: v2, config: Canary10Percent5Minutes, "
        "alarm: api-errors}}]"
    )
    (dep,) = deployments(run(scenario(tl, r53=r53)))
    assert dep["outcome"] == "rolled_back"
    assert 120.0 < dep["rollback_s"] <= 150.0


def test_a_second_deploy_during_a_deployment_is_refused() -> None:
    tl = (
        "[{at: 2m, deploy: {endpoint: api, version: v3, config: Canary10Percent5Minutes}}, "
        "{at: 3m, deploy: {endpoint: api, version: v2}}]"
    )
    r = run(scenario(tl))
    assert len(deployments(r)) == 1
    refused = [e for e in r.report["events"] if e["what"] == "deploy_refused"]
    assert refused[0]["at_s"] == 180.0


def test_exposure_assertions() -> None:
    tl = (
        "[{at: 2m, deploy: {endpoint: api, version: v2, config: Canary10Percent5Minutes, "
        "alarm: {metric: error_rate, above: 2%, periods: 2}}}]"
    )
    text = scenario(tl) + (
        "assertions:\n"
        "  - rollbacks(endpoint=api) == 1\n"
        "  - exposure(endpoint=api, version=v2) < 4000\n"
        "  - exposure(endpoint=api, group=tokyo) > 0\n"
        "  - exposure(endpoint=api, version=v3) == 0\n"
    )
    scn, index, file = load_scenario_text(text)
    run_ = prepare(scn, index, file)
    run_.execute()
    res = Results(run_)
    assert all(a.holds(res.evaluate(a)) for a in run_.assertions)


def test_the_example_scenario_is_deterministic() -> None:
    def report() -> str:
        scn, index, file = load_scenario("scenarios/canary-rollback.yaml")
        r = prepare(scn, index, file)
        r.execute()
        res = Results(r)
        return json.dumps(build_report(res), sort_keys=True, default=str)

    assert report() == report()


# ---- bad deployments --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("deploy", "message"),
    [
        ("{endpoint: api, version: v9}", "no version 'v9'"),
        ("{endpoint: nope, version: v2}", "no endpoint named 'nope'"),
        ("{endpoint: api, version: v2, config: Canary10Percent5Minutez}", "did you mean"),
        ("{endpoint: api, version: v2, config: OneAtATime}", "in-place"),
        ("{endpoint: api, version: v2, alarm: missing-check}", "no Route 53 health check"),
        (
            "{endpoint: api, version: v2, alarm: {metric: error_rate, above: 1%, period: 45s}}",
            "not a CloudWatch alarm period",
        ),
        ("{endpoint: api, version: v2, alarm: {metric: latency, above: 1}}", "alarm.metric"),
        ("{endpoint: api}", "version"),
        ("{endpoint: api, version: v2, colour: blue}", "colour"),
    ],
)
def test_bad_deploy_events_are_clear_errors(deploy: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as err:
        run(scenario(f"[{{at: 1m, deploy: {deploy}}}]"))
    assert "timeline[0].deploy" in str(err.value)


def test_deploying_to_an_endpoint_without_versions_is_an_error() -> None:
    text = scenario("[{at: 1m, deploy: {endpoint: api, version: v2}}]", versions="    calls: []\n")
    with pytest.raises(InputError, match="has no versions to deploy"):
        run(text)


def test_a_version_named_like_the_base_version_is_an_error() -> None:
    versions = "    versions:\n      v1: {error_rate: 1%}\n"
    with pytest.raises(InputError, match="base version"):
        run(scenario("[]", versions=versions))
