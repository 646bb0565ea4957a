"""Parameter Store reads and AppConfig deployments on the request path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from edgesim.cli import main
from edgesim.scenario.loader import load_scenario_text, prepare
from edgesim.services.ssm.deps import appconfig_steps
from edgesim.sim.report import build_report
from edgesim.sim.results import Results

MIN = 60 * 1_000_000_000

BASE = """\
edgesim: 1
name: config reads
world: tiny
seed: 3
duration: 12m
warmup: 1m
clients:
  - metros: [new-york]
    requests_per_second: 100
workloads:
  - {name: api, host: api.example.com, target: endpoint:api, size: 2KB}
endpoints:
  - name: api
    site: region:us-east-1
    servers: 16
    service_time: "lognormal(median=20ms, sigma=0.3)"
ssm:
  fleets:
    - {endpoint: api, instances: 4}
  parameter_store:
    settings: {throughput: THROUGHPUT}
    parameters:
      - {name: /app/flags}
      - {name: /app/db-url}
    reads:
      - {endpoint: api, parameters: [/app/flags, /app/db-url], cache_ttl: TTL, region: REGION}
  appconfig:
    applications:
      - {name: shop, environments: [prod], profiles: [flags], endpoints: [api]}
timeline:
TIMELINE
"""


def scenario(
    ttl: str = "30s",
    throughput: str = "standard",
    timeline: str = "  []",
    region: str = "us-east-1",
) -> str:
    return (
        BASE.replace("TTL", ttl)
        .replace("THROUGHPUT", throughput)
        .replace("TIMELINE", timeline)
        .replace("REGION", region)
    )


def run(text: str) -> dict[str, Any]:
    scn, index, file = load_scenario_text(text)
    r = prepare(scn, index, file)
    r.execute()
    report: dict[str, Any] = build_report(Results(r))
    return report


def reads(report: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = report["services"]["ssm"]["parameter_store"]["endpoints"]["api"][0]
    return out


def test_reading_per_request_above_the_standard_quota_is_throttled() -> None:
    report = run(scenario(ttl="0s"))
    r = reads(report)
    # 100 requests/s, every one reads: 2.5 × the 40 TPS quota, so ~60 % of attempts are
    # throttled and (0.6)^3 ≈ 22 % of requests fail after three attempts
    assert r["cache_hit_ratio"] == 0.0
    assert 0.5 < r["throttled_reads"] / r["reads"] < 0.7
    assert 0.15 < r["failed_requests"] / r["requests"] < 0.3
    region = report["services"]["ssm"]["parameter_store"]["regions"]["us-east-1"]
    assert region["tps"] == 40.0


def test_higher_throughput_removes_the_throttling() -> None:
    r = reads(run(scenario(ttl="0s", throughput="higher")))
    assert r["throttled_reads"] == 0
    assert r["failed_requests"] == 0


def test_a_cache_reads_once_per_instance_per_ttl() -> None:
    r = reads(run(scenario(ttl="30s")))
    # 4 instances × one read per 30 s over the 11 counted minutes ≈ 88 reads
    assert 80 <= r["reads"] <= 92
    assert r["cache_hit_ratio"] > 0.99
    assert r["throttled_reads"] == 0


def test_reads_cost_the_round_trip_to_the_regional_endpoint() -> None:
    near = reads(run(scenario(ttl="0s", throughput="higher")))
    far = reads(run(scenario(ttl="0s", throughput="higher", region="ap-northeast-1")))
    # us-east-1 → Tokyo and back is well over 100 ms; in-Region reads take a few ms
    assert near["read_ms_mean"] < 20.0
    assert far["read_ms_mean"] > near["read_ms_mean"] + 100.0


def test_a_region_failure_fails_reads_once_the_cache_expires() -> None:
    # the parameters are read from eu-west-2, which fails; the endpoint keeps serving
    report = run(
        scenario(ttl="30s", region="eu-west-2", timeline="  - {at: 5m, fail: region:eu-west-2}")
    )
    r = reads(report)
    # after the failure every expired cache's read fails: ~4 per 30 s for 6 minutes
    assert 35 <= r["failed_requests"] <= 60


def test_a_patched_instance_comes_back_with_a_cold_cache() -> None:
    text = scenario(ttl="20m").replace(
        "  appconfig:",
        "  documents:\n    - name: restart\n      content:\n        mainSteps:\n"
        '          - {action: "edgesim:restart", name: r, inputs: {warmup: 30s}}\n  appconfig:',
    )
    quiet = reads(run(text))
    text = text.replace(
        "timeline:\n  []",
        "timeline:\n  - {at: 4m, send_command: {document: restart, targets: [endpoint:api],"
        " max_concurrency: 4}}",
    )
    restarted = reads(run(text))
    # a 20-minute TTL: the 4 caches fill in the warm-up (not counted) and never expire; the
    # restart at 4m empties them, so the 4 instances read again when they are back at 4m30s
    assert quiet["reads"] == 0
    assert restarted["reads"] == 4


# ---- AppConfig --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "factor", "minutes", "offsets", "shares"),
    [
        ("LINEAR", 20.0, 30, [0, 6, 12, 18, 24], [0.2, 0.4, 0.6, 0.8, 1.0]),
        ("LINEAR", 50.0, 1, [0, 0.5], [0.5, 1.0]),
        ("LINEAR", 100.0, 0, [0], [1.0]),
        ("EXPONENTIAL", 10.0, 20, [0, 4, 8, 12, 16], [0.1, 0.2, 0.4, 0.8, 1.0]),
    ],
)
def test_strategies_grow_as_appconfig_documents(
    kind: str, factor: float, minutes: float, offsets: list[float], shares: list[float]
) -> None:
    got_offsets, got_shares = appconfig_steps(kind, factor, int(minutes * MIN))
    assert [o / MIN for o in got_offsets] == pytest.approx(offsets)
    assert got_shares == pytest.approx(shares)


def test_an_alarm_rolls_an_appconfig_deployment_back_with_its_exposure() -> None:
    report = run(
        scenario(
            timeline="  - at: 3m\n    appconfig_deploy: {application: shop, environment: prod,"
            " profile: flags, strategy: AppConfig.Linear20PercentEvery6Minutes,"
            " effect: {error_rate: 10%}, alarm: {metric: error_rate, above: 2%}}"
        )
    )
    (dep,) = report["services"]["ssm"]["appconfig"]["deployments"]
    assert dep["outcome"] == "rolled_back"
    assert dep["alarm_s"] == 240.0  # the first minute's 20 % share × 10 % errors ≈ 2 %+
    assert dep["shares"][0] == {"at_s": 180.0, "share": 0.2}
    assert 0 < dep["exposure"]["requests"] < 0.3 * 100 * 60
    assert dep["exposure"]["errors"] > 0


def test_a_deployment_without_alarm_succeeds_after_the_bake() -> None:
    report = run(
        scenario(
            timeline="  - at: 1m\n    appconfig_deploy: {application: shop, environment: prod,"
            " profile: flags, strategy: AppConfig.Linear50PercentEvery30Seconds,"
            " effect: {extra_latency: 5ms}}"
        )
    )
    (dep,) = report["services"]["ssm"]["appconfig"]["deployments"]
    # 50 % at 1m, 100 % at 1m30s, one minute of bake: done at 2m30s
    assert dep["outcome"] == "succeeded"
    assert dep["ended_s"] == 150.0


# ---- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "needle", "field", "message"),
    [
        (
            scenario().replace("parameters: [/app/flags, /app/db-url]", "parameters: [/app/nope]"),
            "[/app/nope]",
            "ssm.parameter_store.reads[0].parameters[0]",
            "parameter '/app/nope' is read by endpoint 'api' but never defined",
        ),
        (
            scenario(
                timeline="  - {at: 1m, appconfig_deploy: {application: shop, environment: prod,"
                " profile: flags, strategy: Fast}}"
            ),
            "strategy: Fast",
            "timeline[0].appconfig_deploy",
            "no deployment strategy 'Fast'",
        ),
    ],
)
def test_bad_input(
    write: Callable[[str, str], Path], text: str, needle: str, field: str, message: str
) -> None:
    path = write("bad.yaml", text)
    result = CliRunner().invoke(main, ["run", str(path), "-q"])
    out = " ".join(result.output.split())
    assert result.exit_code == 2, out
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if needle in ln)
    assert f"{path}:{line}" in out, out
    assert field in out, out
    assert message in out, out
