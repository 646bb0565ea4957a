"""``edgesim check --tolerance``: how much worse than the baseline a metric may get before the
check fails (edgesim's regression gate; docs/engine.md). Each bound is tested on both sides,
so a tolerance applied 10x looser (or tighter) fails these tests."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from edgesim.cli import main
from edgesim.sim.compare import ERROR_RATE_FLOOR, compare

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())


def report(p50: float, availability: float = 1.0, hit_ratio: float | None = None) -> dict[str, Any]:
    block = {
        "latency_ms": {"p50": p50, "p95": 2 * p50, "p99": 3 * p50},
        "availability": availability,
    }
    out: dict[str, Any] = {"summary": block}
    if hit_ratio is not None:
        out["services"] = {"cloudfront": {"distributions": {"site": {"hit_ratio": hit_ratio}}}}
    return out


def worse(base: dict[str, Any], cur: dict[str, Any], tolerance: float) -> set[str]:
    return {c.metric for c in compare(base, cur, tolerance) if c.worse}


@pytest.mark.parametrize("tolerance", [0.01, 0.05, 0.2])
def test_latency_may_grow_by_the_tolerance_and_no_more(tolerance: float) -> None:
    base = report(100.0)
    assert worse(base, report(100.0 * (1 + 0.9 * tolerance)), tolerance) == set()
    assert worse(base, report(100.0 * (1 + 1.1 * tolerance)), tolerance) == {
        "p50 latency (ms)",
        "p95 latency (ms)",
        "p99 latency (ms)",
    }
    assert worse(base, report(50.0), tolerance) == set()  # faster is never a regression


@pytest.mark.parametrize("tolerance", [0.01, 0.05, 0.2])
def test_hit_ratio_may_drop_by_the_tolerance_and_no_more(tolerance: float) -> None:
    base = report(100.0, hit_ratio=0.8)
    ok = report(100.0, hit_ratio=0.8 * (1 - 0.9 * tolerance))
    bad = report(100.0, hit_ratio=0.8 * (1 - 1.1 * tolerance))
    assert worse(base, ok, tolerance) == set()
    assert worse(base, bad, tolerance) == {"hit ratio"}


def test_error_rate_may_grow_by_the_tolerance_plus_a_noise_floor() -> None:
    base = report(100.0, availability=0.99)  # 1 % errors
    tol = 0.05
    limit = 0.01 * (1 + tol) + ERROR_RATE_FLOOR
    assert worse(base, report(100.0, availability=1 - 0.99 * limit), tol) == set()
    assert worse(base, report(100.0, availability=1 - 1.01 * limit), tol) == {"error rate"}
    # from a clean baseline only the floor applies
    clean = report(100.0)
    assert worse(clean, report(100.0, availability=1 - 0.9 * ERROR_RATE_FLOOR), tol) == set()
    assert worse(clean, report(100.0, availability=1 - 1.1 * ERROR_RATE_FLOOR), tol) == {
        "error rate"
    }


@pytest.fixture(scope="module")
def smoke_baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("check") / "base.json"
    res = CliRunner().invoke(
        main, ["run", str(ROOT / "scenarios/smoke.yaml"), "-q", "--save-baseline", str(base)]
    )
    assert res.exit_code == 0, res.output
    data: dict[str, Any] = json.loads(base.read_text(encoding="utf-8"))
    return data


def test_the_command_applies_the_tolerance_it_is_given(
    smoke_baseline: dict[str, Any], tmp_path: Path
) -> None:
    """A baseline 8 % faster than what smoke.yaml gives: ``--tolerance 5%`` fails the check
    (exit 1), ``--tolerance 10%`` passes it (exit 0); "5%" and "0.05" mean the same."""
    faster = copy.deepcopy(smoke_baseline)
    blocks = [faster["summary"]] + [
        b for kind in ("workloads", "segments", "groups") for b in faster.get(kind, {}).values()
    ]
    for b in blocks:
        for p in ("p50", "p95", "p99"):
            b["latency_ms"][p] = b["latency_ms"][p] / 1.08
    path = tmp_path / "faster.json"
    path.write_text(json.dumps(faster), encoding="utf-8")
    scn = str(ROOT / "scenarios/smoke.yaml")

    def check(tolerance: str) -> int:
        res = CliRunner().invoke(
            main, ["check", scn, "--baseline", str(path), "--tolerance", tolerance]
        )
        return res.exit_code

    assert check("5%") == 1
    assert check("0.05") == 1
    assert check("10%") == 0
    assert check("0.1") == 0


def test_every_scope_is_compared_and_reported_with_its_values() -> None:
    """The check compares the summary and every workload, segment and group block the baseline
    also has (a block new in this run has nothing to compare with and is skipped, the others
    still are), and each change names its scope and carries both values."""

    def blocks(p50: float) -> dict[str, Any]:
        out = report(p50)
        b = out["summary"]
        out["workloads"] = {"web": b, "api": b}
        out["segments"] = {"eu": b}
        out["groups"] = {"tokyo": b}
        return out

    base = blocks(100.0)
    del base["workloads"]["web"]  # a workload new in this run
    cur = blocks(120.0)
    changes = compare(base, cur, 0.05)
    scopes = {c.scope for c in changes}
    assert scopes == {"all", "workload api", "segment eu", "group tokyo"}
    p50 = {c.scope: c for c in changes if c.metric == "p50 latency (ms)"}
    assert (p50["group tokyo"].baseline, p50["group tokyo"].current) == (100.0, 120.0)
    assert p50["group tokyo"].worse
    assert p50["group tokyo"].change == "+20.0 %"
    errors = {c.scope: c for c in changes if c.metric == "error rate"}
    assert (errors["all"].baseline, errors["all"].current) == (0.0, 0.0)


def test_exactly_at_the_tolerance_is_not_worse() -> None:
    base = report(100.0, availability=0.9, hit_ratio=0.5)
    cur = report(100.0 * 1.25, availability=1 - 0.1 * 1.25 - ERROR_RATE_FLOOR, hit_ratio=0.375)
    assert worse(base, cur, 0.25) == set()  # 25 % worse with a 25 % tolerance passes


def test_hit_ratio_compared_per_distribution_with_its_values() -> None:
    base = report(100.0, hit_ratio=0.8)
    base["services"]["cloudfront"]["distributions"]["new"] = {}  # no hit ratio yet
    cur = report(100.0, hit_ratio=0.6)
    cur["services"]["cloudfront"]["distributions"]["new"] = {"hit_ratio": 0.1}
    cur["services"]["accelerators"] = {"accelerators": {}}  # a section without distributions
    hr = [c for c in compare(base, cur, 0.05) if c.metric == "hit ratio"]
    assert [(c.scope, c.baseline, c.current, c.worse) for c in hr] == [
        ("cloudfront site", 0.8, 0.6, True)
    ]
