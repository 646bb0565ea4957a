"""The CDK-like Python API (edgesim.cdk) and its example, scenarios/cdk_example.py."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from edgesim.cdk import Behavior, Fleet, Lambda, Scenario
from edgesim.errors import InputError
from edgesim.sim.api import run_scenario

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
EXAMPLE = ROOT / "scenarios" / "cdk_example.py"
COMMITTED = ROOT / "scenarios" / "cdk-example.yaml"


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cdk_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_example_resynthesises_to_the_committed_file(tmp_path: Path) -> None:
    mod = _example()
    out = tmp_path / "cdk-example.yaml"
    assert mod.main(["cdk_example.py", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == COMMITTED.read_text(encoding="utf-8")


@pytest.mark.slow
def test_the_committed_example_runs_and_its_assertions_hold() -> None:
    results = run_scenario(COMMITTED)
    checks = results.report["assertions"]
    assert len(checks) == 4
    assert all(c["ok"] for c in checks), checks
    # the failure shows: web's S3 misses fail while us-east-1 is down, the APIs fail over
    assert results.availability(workload="web") < 0.99
    assert results.requests(workload="api-ga") > 10_000


def _small() -> Scenario:
    app = Scenario("small", world="aws-world", duration="5m", seed=3)
    a = app.endpoint("a", site="us-east-1", servers=8)
    b = app.endpoint("b", site="eu-west-2", compute=Lambda(memory=1769, concurrency=50))
    c = app.endpoint("c", site="ap-northeast-1", compute=Fleet(type="ecs-ec2", min=1, max=2))
    check = app.health_check("a-up", a, interval="10s")
    zone = app.hosted_zone("example.com")
    zone.weighted_record("w", {"one": (a, 3), "two": (b, 1)})
    zone.failover_record("f", a, c, health_check=check)
    zone.latency_record("l", {"us-east-1": a, "eu-west-2": b.target})
    zone.record("txt", ['"hello"'], type="TXT", ttl="1h")
    app.clients("everyone", metros="top-5", requests_per_second=20)
    for name in ("w", "f", "l"):
        app.workload(name, host=f"{name}.example.com", method="POST", size="1KB")
    app.at("2m", fail="endpoint:a").at("3m", recover="endpoint:a")
    app.assertion("availability(workload=w) >= 50%")
    return app


def test_constructs_build_the_scenario_format() -> None:
    d = _small().to_dict()
    assert d["endpoints"][0] == {"name": "a", "site": "region:us-east-1", "servers": 8}
    assert d["endpoints"][1]["compute"] == {
        "type": "lambda",
        "runtime": "python3.12",
        "memory": 1769,
        "concurrency": 50,
    }
    records = d["route53"]["zones"][0]["records"]
    assert records[0] == {
        "name": "w",
        "alias": "endpoint:a",
        "policy": "weighted",
        "set": "one",
        "weight": 3,
    }
    assert records[2]["health_check"] == "a-up"
    assert records[3] == {
        "name": "f",
        "alias": "endpoint:c",
        "policy": "failover",
        "set": "secondary",
        "failover": "secondary",
    }
    assert records[5]["alias"] == "endpoint:b"
    assert records[6] == {"name": "txt", "type": "TXT", "values": ['"hello"'], "ttl": "1h"}
    assert d["timeline"] == [
        {"at": "2m", "fail": "endpoint:a"},
        {"at": "3m", "recover": "endpoint:a"},
    ]


def test_synth_validates_writes_and_runs(tmp_path: Path) -> None:
    app = _small()
    out = tmp_path / "small.yaml"
    text = app.synth(out, header=["made by a test"])
    assert text.startswith("# made by a test\nedgesim: 1\n")
    assert out.read_text(encoding="utf-8") == text
    results = app.run()
    assert results.requests(workload="w") > 0
    assert results.report["assertions"][0]["ok"]


def test_synth_reports_bad_references() -> None:
    app = Scenario("bad", world="tiny", duration="5m")
    app.endpoint("a", site="us-east-1")
    app.clients("x", metros="all", requests_per_second=1)
    app.workload("w", host="w.example.com", target="endpoint:nope", size="1KB")
    with pytest.raises(InputError, match="no target named 'endpoint:nope'"):
        app.synth()
    # without the reference check, only the schema is checked
    assert "endpoint:nope" in app.synth(check=False)
    bad = Scenario("bad", world="tiny", duration="5m")
    bad.endpoint("a", site="us-east-1", compute=Lambda(memory=20_000))
    bad.clients("x", metros="all", requests_per_second=1)
    bad.workload("w", host="w", target="endpoint:a", size="1KB")
    with pytest.raises(InputError, match="memory"):
        bad.synth(check=False)


def test_cloudfront_and_accelerator_constructs() -> None:
    app = Scenario("cdn", world="tiny", duration="5m")
    api = app.endpoint("api", site="eu-west-2")
    bucket = app.bucket("assets", region="us-east-1")
    up = app.bucket("uploads", region="us-east-1", transfer_acceleration=True)
    site = app.cloudfront(
        "site",
        origins=[bucket.origin(), api.origin("dyn", read_timeout="5s")],
        behaviors=[
            Behavior(
                "/api/*", api.origin("dyn"), cache_policy={"default_ttl": "0s", "min_ttl": "0s"}
            )
        ],
    )
    acc = app.accelerator("ga", {"eu-west-2": [api]}, ports=[443, "8000-8001"])
    app.clients("x", metros="all", requests_per_second=5)
    app.workload("web", host="www", target=site, objects=100)
    app.workload("ga", host="ga", target=acc, method="POST", size="1KB")
    app.workload("up", host="up", target=up.accelerate_target, method="PUT", upload_size="10MB")
    d = app.to_dict()
    dist = d["cloudfront"]["distributions"][0]
    assert dist["origins"] == [
        {"name": "assets", "s3": {"bucket": "assets", "region": "us-east-1"}},
        {"name": "dyn", "endpoint": "api", "read_timeout": "5s"},
    ]
    assert dist["behaviors"][0]["origin"] == "dyn"
    assert d["accelerators"][0]["listeners"][0]["port_ranges"] == [443, "8000-8001"]
    assert d["s3"] == {
        "buckets": [{"name": "uploads", "region": "us-east-1", "transfer_acceleration": True}]
    }
    assert d["workloads"][0]["objects"] == {"count": 100}
    app.synth()
