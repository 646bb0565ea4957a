"""Systems Manager maintenance windows patching endpoint fleets, in scenario runs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from edgesim.cli import main
from edgesim.scenario.loader import load_scenario_text, prepare
from edgesim.sim.report import build_report
from edgesim.sim.results import Results

NS = 1_000_000_000

BASE = """\
edgesim: 1
name: ssm
world: tiny
seed: 5
duration: {duration}
warmup: 1m
clients:
  - metros: [new-york]
    requests_per_second: {rps}
workloads:
  - {{name: api, host: api.example.com, target: endpoint:api, size: 2KB}}
endpoints:
  - name: api
    site: region:us-east-1
    servers: 12
    service_time: "lognormal(median=50ms, sigma=0.2)"
ssm:
  fleets:
    - {{endpoint: api, instances: 6, tags: {{Patch Group: web}}}}
  maintenance_windows:
    - name: patch
      duration: 1h
      cutoff: {cutoff}
      tasks:
{tasks}
timeline:
{timeline}
"""

TASK = """\
        - name: os
          targets: ["tag:Patch Group=web"]
          max_concurrency: {mc}
          max_errors: {me}
          failure_rate: {fail}
          install_time: "{install}"
          reboot_time: "1m"
"""


def scenario(
    *,
    mc: str = "2",
    me: str = "0",
    fail: str = "0%",
    install: str = "4m",
    tasks: str | None = None,
    timeline: str = "  - {at: 5m, run_maintenance_window: patch}",
    cutoff: str = "0s",
    duration: str = "70m",
    rps: int = 20,
) -> str:
    body = tasks or TASK.format(mc=mc, me=me, fail=fail, install=install)
    return BASE.format(
        tasks=body.rstrip("\n"), timeline=timeline, cutoff=cutoff, duration=duration, rps=rps
    )


def run(text: str) -> dict[str, Any]:
    scn, index, file = load_scenario_text(text)
    r = prepare(scn, index, file)
    r.execute()
    res = Results(r)
    report: dict[str, Any] = build_report(res)
    return report


def executions(report: dict[str, Any], window: str = "patch") -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = report["services"]["ssm"]["maintenance_windows"][window][
        "executions"
    ]
    return out


@pytest.fixture(scope="module")
def patched() -> dict[str, Any]:
    return run(scenario(rps=140))


def test_patching_takes_max_concurrency_instances_out_at_a_time(patched: dict[str, Any]) -> None:
    (ex,) = executions(patched)
    task = ex["tasks"]["os"]
    assert task["status"] == "Success"
    assert task["patched"] == 6
    assert ex["instances_patched"] == 6
    cap = ex["capacity"]["api"]
    # 6 instances, 2 at a time: capacity never drops below 4 and comes back to 6
    assert cap["min_in_service"] == 4
    assert {row["in_service"] for row in cap["series"]} == {4, 6}
    assert cap["series"][-1]["in_service"] == 6
    # each instance is out for install (4m) + reboot (1m): three waves of 5 minutes
    assert ex["started_s"] == 300.0
    assert ex["finished_s"] == pytest.approx(300.0 + 3 * 300.0, abs=10.0)
    starts = sorted(i["start_s"] for i in task["invocations"])
    assert starts == pytest.approx([300, 300, 600, 600, 900, 900], abs=1e-6)


def test_the_capacity_drop_shows_as_queueing_latency(patched: dict[str, Any]) -> None:
    (ex,) = executions(patched)
    users = ex["users"]
    group = users["groups"]["new-york"]
    # 140 rps × 51 ms (the lognormal's mean) = 7.1 busy servers: of 12 (60 %) outside the
    # window, of 8 (89 %) during it. Erlang C puts the p99 queueing delay at ~25 ms outside
    # and ~240 ms inside.
    assert group["extra_p99_ms"] > 100.0
    assert users["latency_ms"]["p99"] > users["baseline"]["latency_ms"]["p99"] + 100.0
    assert users["errors"] == 0


def test_assertion_functions(patched: dict[str, Any]) -> None:
    text = scenario(rps=140).replace(
        "timeline:",
        "assertions:\n  - patched(window=patch) == 6\n  - patch_failed(window=patch) == 0\n"
        "  - window_availability(window=patch) >= 99.9%\n"
        "  - window_p99(window=patch, group=new-york) > 60ms\ntimeline:",
    )
    report = run(text)
    assert all(a["ok"] for a in report["assertions"]), report["assertions"]


def test_max_errors_stops_the_task_and_failed_instances_return_unpatched() -> None:
    report = run(scenario(mc="1", me="1", fail="100%"))
    (ex,) = executions(report)
    task = ex["tasks"]["os"]
    assert (task["failed"], task["cancelled"], task["patched"]) == (2, 4, 0)
    assert task["stopped"] == "max_errors"
    assert task["status"] == "Failed"
    assert ex["status"] == "FAILED"
    # a failed install does not reboot: each instance is out for its 4 minutes only
    ends = [i["end_s"] - i["start_s"] for i in task["invocations"] if i["status"] == "Failed"]
    assert ends == pytest.approx([240.0, 240.0])
    assert ex["capacity"]["api"]["series"][-1]["in_service"] == 6


def test_failed_instances_can_stay_out_of_service() -> None:
    text = scenario(mc="1", me="5", fail="100%").replace(
        'reboot_time: "1m"', 'reboot_time: "1m"\n          on_failure: out_of_service'
    )
    (ex,) = executions(run(text))
    assert ex["tasks"]["os"]["failed"] == 6
    assert ex["capacity"]["api"]["series"][-1]["in_service"] == 0
    assert ex["users"]["errors"] > 0


def test_no_task_starts_after_the_cutoff() -> None:
    tasks = (
        TASK.format(mc="6", me="0", fail="0%", install="40m")
        + """\
        - name: second
          priority: 2
          targets: [endpoint:api]
          max_concurrency: 1
"""
    )
    (ex,) = executions(run(scenario(tasks=tasks, cutoff="30m", duration="80m")))
    # the first task ends at 5m + 41m, after the cutoff at 5m + 30m: the second never starts
    assert ex["tasks"]["os"]["status"] == "Success"
    assert ex["tasks"]["second"]["status"] == "Cancelled"
    assert "invocations" not in ex["tasks"]["second"]
    assert ex["status"] == "TIMED_OUT"


def test_cancel_task_at_the_cutoff_cancels_the_targets_not_yet_sent() -> None:
    text = scenario(mc="1", install="9m", cutoff="30m", duration="70m").replace(
        'reboot_time: "1m"', 'reboot_time: "1m"\n          cutoff_behavior: CANCEL_TASK'
    )
    (ex,) = executions(run(text))
    task = ex["tasks"]["os"]
    # one at a time, 10 minutes each from 5m; the cutoff is at 5m + 60m - 30m = 35m: three
    # have finished or are running (the third until 35m), the other three are cancelled
    assert task["patched"] == 3
    assert task["cancelled"] == 3
    assert task["status"] == "TimedOut"


def test_an_occurrence_while_the_previous_one_runs_is_skipped() -> None:
    timeline = (
        "  - {at: 5m, run_maintenance_window: patch}\n"
        "  - {at: 10m, run_maintenance_window: {window: patch}}"
    )
    a, b = executions(run(scenario(timeline=timeline)))
    assert a["status"] == "SUCCESS"
    assert b["status"] == "SKIPPED_OVERLAPPING"


def test_a_cron_schedule_opens_the_window() -> None:
    text = scenario(timeline="  []").replace(
        "duration: 1h", "schedule: cron(0 18 ? * TUE#2 *)\n      duration: 1h"
    )
    text = text.replace("seed: 5", "seed: 5\nstart: 2026-01-13T17:50:00Z")
    (ex,) = executions(run(text))
    assert ex["started_s"] == 600.0
    assert ex["tasks"]["os"]["patched"] == 6


def test_a_compute_fleet_is_patched_by_instance() -> None:
    text = scenario(mc="50%").replace(
        "    servers: 12\n",
        "    compute: {type: ec2, desired: 4, min: 4, max: 4, concurrency: 4,"
        " autoscaling: false}\n",
    )
    text = text.replace("    - {endpoint: api, instances: 6, tags: {Patch Group: web}}", "    []")
    text = text.replace('["tag:Patch Group=web"]', "[region:us-east-1]")
    (ex,) = executions(run(text))
    assert ex["tasks"]["os"]["targets"] == 4
    assert ex["tasks"]["os"]["max_concurrency"] == 2
    assert ex["capacity"]["api"]["min_in_service"] == 2


def test_the_same_seed_gives_the_same_report() -> None:
    a = run(scenario(fail="30%", me="3"))
    b = run(scenario(fail="30%", me="3"))
    assert json.dumps(a["services"]["ssm"], sort_keys=True) == json.dumps(
        b["services"]["ssm"], sort_keys=True
    )


# ---- bad input -------------------------------------------------------------------------------
def _cli(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["run", str(path), "-q"])
    assert "Traceback" not in result.output, result.output
    return result.exit_code, " ".join(result.output.split())


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    ("text", "needle", "field", "message"),
    [
        (
            scenario(mc="0"),
            "max_concurrency: 0",
            "ssm.maintenance_windows[0].tasks[0].max_concurrency",
            "must be at least 1",
        ),
        (
            scenario(mc="0%"),
            "max_concurrency: 0%",
            "ssm.maintenance_windows[0].tasks[0].max_concurrency",
            "must be at least 1",
        ),
        (
            scenario(mc="7"),
            "max_concurrency: 7",
            "ssm.maintenance_windows[0].tasks[0].max_concurrency",
            "above the 6 instances",
        ),
        (
            scenario(cutoff="1h"),
            "cutoff: 1h",
            "ssm.maintenance_windows[0].cutoff",
            "not longer than its cutoff",
        ),
        (
            scenario().replace("duration: 1h", "duration: 2h").replace("cutoff: 0s", "cutoff: 3h"),
            "cutoff: 3h",
            "ssm.maintenance_windows[0].cutoff",
            "not longer than its cutoff",
        ),
        (
            scenario().replace("instances: 6, ", ""),
            "- {endpoint: api",
            "ssm.fleets[0].endpoint",
            "say how many instances",
        ),
        (
            scenario(timeline="  - {at: 5m, run_maintenance_window: nightly}"),
            "run_maintenance_window: nightly",
            "timeline[0].run_maintenance_window",
            "no maintenance window named 'nightly'",
        ),
        (
            scenario().replace('["tag:Patch Group=web"]', "[endpoint:nope]"),
            "[endpoint:nope]",
            "ssm.maintenance_windows[0].tasks[0].targets[0]",
            "no endpoint named 'nope'",
        ),
        (
            scenario().replace(
                "duration: 1h", "schedule: cron(0 18 * * TUE *)\n      duration: 1h"
            ),
            "schedule: cron",
            "ssm.maintenance_windows[0].schedule",
            "must be '?'",
        ),
    ],
)
def test_bad_input_is_refused_at_load_with_file_line_and_field(
    write: Callable[[str, str], Path], text: str, needle: str, field: str, message: str
) -> None:
    path = write("bad.yaml", text)
    code, out = _cli(path)
    assert code == 2, out
    assert f"{path}:{_line(text, needle)}" in out, out
    assert field in out, out
    assert message in out, out


def test_the_patch_tuesday_example_holds() -> None:
    root = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
    path = root / "scenarios" / "patch-tuesday.yaml"
    result = CliRunner().invoke(main, ["run", str(path), "-q"])
    assert result.exit_code == 0, result.output
    assert "FAIL" not in result.output


def test_the_control_api_opens_a_window_now() -> None:
    from edgesim.services.ssm.service import SystemsManager
    from edgesim.sim.clock import VirtualClock
    from edgesim.sim.live import LiveDriver

    scn, index, file = load_scenario_text(scenario(timeline="  []"))
    r = prepare(scn, index, file)
    clock = VirtualClock()
    driver = LiveDriver(r, clock)
    driver.start()
    clock.run_until(120 * NS)
    assert driver.control({"run_maintenance_window": "patch"}) == []
    svc = next(s for s in r.services if isinstance(s, SystemsManager))
    pool = svc.fleets["api"].target.pool
    assert pool.servers == 8  # 2 of 6 instances (12 servers) out
    clock.run_until(120 * NS + 16 * 60 * NS)
    assert pool.servers == 12
    assert svc.executions[0].status == "SUCCESS"
    bad = driver.control({"run_maintenance_window": "nightly"})
    assert "no maintenance window named 'nightly'" in bad[0].message
