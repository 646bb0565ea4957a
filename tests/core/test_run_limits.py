"""A run too big to fit is refused at load time, with the estimate and the limit (issue 15)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from edgesim.cli import main
from edgesim.errors import InputError
from edgesim.scenario.limits import MAX_INTERVALS, MAX_REQUESTS, estimated_requests
from edgesim.scenario.loader import load_scenario, load_scenario_text

SCENARIO = """\
edgesim: 1
name: size limits
world: tiny
duration: {duration}
interval: {interval}
clients:
  - metros: all
    requests_per_second: {rate}
workloads:
  - name: api
    host: api.example.com
    target: endpoint:api
    size: 2KB
endpoints:
  - {{name: api, site: region:us-east-1, servers: 8}}
{timeline}"""


def text(duration: str = "5m", interval: str = "1m", rate: float = 200, timeline: str = "") -> str:
    return SCENARIO.format(duration=duration, interval=interval, rate=rate, timeline=timeline)


def test_a_huge_duration_is_refused_with_estimate_limit_and_line() -> None:
    with pytest.raises(InputError) as exc:
        load_scenario_text(text(duration="100000000h", interval="1h"), "big.yaml")
    p = exc.value.problems[0]  # (the time series would be too long as well)
    assert [q.path for q in exc.value.problems] == ["duration", "duration"]
    assert p.line == 4
    assert "7.2e+13 requests" in p.message  # 200 req/s × 3.6e11 s
    assert f"{MAX_REQUESTS:.3g}" in p.message
    assert exc.value.file == "big.yaml"


def test_a_huge_rate_is_refused() -> None:
    with pytest.raises(InputError) as exc:
        load_scenario_text(text(duration="1h", rate=1e7))
    assert "3.6e+10 requests" in exc.value.problems[0].message


def test_too_many_time_series_rows_are_refused_even_at_a_low_rate() -> None:
    # 0.01 req/s for 10,000 h is only 360,000 requests, but 600,000 one-minute rows.
    with pytest.raises(InputError) as exc:
        load_scenario_text(text(duration="10000h", rate=0.01))
    (p,) = exc.value.problems
    assert p.path == "duration"
    assert "600,000 rows" in p.message
    assert f"{MAX_INTERVALS:,}" in p.message


def test_runs_at_the_limits_are_accepted() -> None:
    secs = MAX_REQUESTS // 1000
    scn, _, _ = load_scenario_text(text(duration=f"{secs}s", interval="1h", rate=1000))
    assert estimated_requests(scn) == MAX_REQUESTS
    load_scenario_text(text(duration=f"{MAX_INTERVALS}m", rate=1))


def test_flash_crowds_count() -> None:
    timeline = "timeline:\n  - {at: 1m, flash_crowd: {factor: 11, duration: 2m}}\n"
    scn, _, _ = load_scenario_text(text(duration="5m", rate=100, timeline=timeline))
    assert estimated_requests(scn) == pytest.approx(100 * 300 + 10 * 100 * 120)


def test_cli_run_refuses_with_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(text(duration="100000000h", interval="1h"))
    with pytest.raises(InputError):
        load_scenario(path)
    result = CliRunner().invoke(main, ["run", str(path), "-q"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "big.yaml:4" in result.output
