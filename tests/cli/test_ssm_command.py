"""Run Command documents whose steps are edgesim actions: statuses, rate controls, effects,
the timeline, the live control API and ``edgesim ctl run-command``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from edgesim.cli import ctl as cli_ctl
from edgesim.cli import main
from edgesim.scenario.loader import load_scenario_text, prepare
from edgesim.services.ssm.service import SystemsManager
from edgesim.sim.clock import VirtualClock
from edgesim.sim.engine import Run
from edgesim.sim.live import LiveDriver
from edgesim.sim.report import build_report
from edgesim.sim.results import Results

NS = 1_000_000_000

BASE = """\
edgesim: 1
name: run command
world: tiny
seed: 7
duration: 20m
warmup: 1m
clients:
  - metros: [new-york]
    requests_per_second: 20
workloads:
  - {name: api, host: api.example.com, size: 2KB}
endpoints:
  - name: api
    site: region:us-east-1
    servers: 12
    service_time: "lognormal(median=40ms, sigma=0.3)"
  - {name: api2, site: region:eu-west-2, servers: 4}
route53:
  zones:
    - name: example.com
      records:
        - {name: api, policy: weighted, set: a, weight: 1, alias: endpoint:api}
        - {name: api, policy: weighted, set: b, weight: 0, alias: endpoint:api2}
ssm:
  fleets:
    - {endpoint: api, instances: 6, tags: {Role: web}}
  documents:
    - name: rolling-restart
      content:
        schemaVersion: "2.2"
        description: restart the application, which then warms up
        parameters:
          warmup: {type: String, default: 90s}
        mainSteps:
          - {action: "edgesim:restart", name: restart, inputs: {warmup: "{{ warmup }}"}}
    - name: slow-down
      content:
        parameters:
          latency: {type: String, default: 300ms}
        mainSteps:
          - action: "edgesim:degradeEndpoint"
            name: slow
            inputs: {extra_latency: "{{ latency }}"}
          - {action: "aws:sleep", name: hold, inputs: {duration: 2m}}
          - {action: "edgesim:restoreEndpoint", name: fix}
    - name: drain
      content:
        mainSteps:
          - action: "edgesim:setWeight"
            name: drain
            inputs: {record: api.example.com, set: a, weight: 0}
          - action: "edgesim:setWeight"
            name: fill
            inputs: {record: api.example.com, set: b, weight: 1}
timeline:
{timeline}
"""


def scenario(timeline: str) -> str:
    return BASE.replace("{timeline}", timeline)


def execute(text: str) -> tuple[Run, dict[str, Any]]:
    scn, index, file = load_scenario_text(text)
    r = prepare(scn, index, file)
    r.execute()
    report: dict[str, Any] = build_report(Results(r))
    return r, report


def commands(report: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = report["services"]["ssm"]["commands"]
    return out


def test_a_rolling_restart_takes_max_concurrency_instances_out_for_their_warm_up() -> None:
    run, report = execute(
        scenario(
            "  - at: 3m\n    send_command: {document: rolling-restart, targets: ['tag:Role=web'],"
            " max_concurrency: 2, parameters: {warmup: 60s}}"
        )
    )
    (cmd,) = commands(report)
    assert cmd["status"] == "Success"
    assert cmd["counts"] == {"Success": 6}
    starts = [i["start_s"] for i in cmd["invocations"]]
    assert starts == [180, 180, 240, 240, 300, 300]
    assert all(i["end_s"] - i["start_s"] == 60 for i in cmd["invocations"])
    svc = next(s for s in run.services if isinstance(s, SystemsManager))
    in_service = {c[1] for c in svc.fleets["api"].capacity}
    assert in_service == {4, 6}


def test_max_errors_stops_the_command_and_reports_each_target() -> None:
    _, report = execute(
        scenario(
            "  - at: 3m\n    send_command: {document: rolling-restart, targets: [endpoint:api],"
            " max_concurrency: 1, max_errors: 0, failure_rate: 100%}"
        )
    )
    (cmd,) = commands(report)
    assert [i["status"] for i in cmd["invocations"]] == ["Failed"] + ["Cancelled"] * 5
    assert cmd["status"] == "Failed"
    assert cmd["stopped"] == "max_errors"


def test_a_run_longer_than_the_timeout_is_timed_out() -> None:
    _, report = execute(
        scenario(
            "  - at: 3m\n    send_command: {document: rolling-restart, targets: [endpoint:api],"
            " max_concurrency: 6, timeout: 30s}"
        )
    )
    (cmd,) = commands(report)
    assert cmd["counts"] == {"TimedOut": 6}
    assert all(i["end_s"] - i["start_s"] == 30 for i in cmd["invocations"])
    assert cmd["status"] == "TimedOut"


def test_pending_and_in_progress_while_the_run_ends_first() -> None:
    _, report = execute(
        scenario(
            "  - at: 15m\n    send_command: {document: rolling-restart, targets: [endpoint:api],"
            " max_concurrency: 1, parameters: {warmup: 2m}}"
        )
    )
    (cmd,) = commands(report)
    assert [i["status"] for i in cmd["invocations"]] == [
        "Success",
        "Success",
        "InProgress",
        "Pending",
        "Pending",
        "Pending",
    ]
    assert cmd["status"] == "InProgress"


def test_endpoint_steps_degrade_and_restore_the_endpoint() -> None:
    run, report = execute(
        scenario(
            "  - at: 5m\n    send_command: {document: slow-down, targets: [endpoint:api],"
            " max_concurrency: 6}"
        )
    )
    (cmd,) = commands(report)
    assert cmd["counts"] == {"Success": 6}
    steps = [e for e in report["events"] if e["what"] == "command_step"]
    assert [e["step"] for e in steps[:2]] == ["slow", "slow"]
    assert {e["at_s"] for e in steps if e["step"] == "fix"} == {420.0}
    ep = next(s for s in run.services if s.section == "endpoints")
    assert ep.items["api"].extra_latency_ms == 0.0  # type: ignore[attr-defined]
    # for two of the 19 counted minutes (~10 % of requests) every request took 300 ms more
    latency = report["workloads"]["api"]["latency_ms"]
    assert latency["p50"] < 300.0 < latency["p95"]


def test_steps_can_act_through_other_services() -> None:
    run, report = execute(
        scenario(
            "  - at: 5m\n    send_command: {document: drain, targets: [endpoint:api],"
            " max_concurrency: 1}"
        )
    )
    r53 = next(s for s in run.services if s.section == "route53")
    weights = r53.weights  # type: ignore[attr-defined]
    assert weights[("api.example.com", "a")] == 0
    assert weights[("api.example.com", "b")] == 1
    assert report["services"]["endpoints"]["api2"]["requests"] > 0


# ---- live ----------------------------------------------------------------------------------
def test_the_control_api_event_runs_a_document_now() -> None:
    scn, index, file = load_scenario_text(scenario("  []"))
    run = prepare(scn, index, file)
    clock = VirtualClock()
    driver = LiveDriver(run, clock)
    driver.start()
    clock.run_until(60 * NS)
    problems = driver.control(
        {
            "send_command": {
                "document": "rolling-restart",
                "targets": ["endpoint:api"],
                "max_concurrency": "50%",
            }
        }
    )
    assert problems == []
    svc = next(s for s in run.services if isinstance(s, SystemsManager))
    (cmd,) = svc.commands
    assert cmd.rc.concurrency == 3
    assert svc.fleets["api"].target.pool.servers == 6  # 3 of 6 instances restarting
    clock.run_until(60 * NS + 200 * NS)
    assert cmd.rc.status()[0] == "Success"
    assert svc.fleets["api"].target.pool.servers == 12
    bad = driver.control({"send_command": {"document": "nope", "targets": ["endpoint:api"]}})
    assert bad
    assert "no document named 'nope'" in bad[0].message


def test_ctl_run_command_sends_the_event(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[tuple[str, str, Any]] = []

    def call(self: cli_ctl.Api, method: str, path: str, body: Any = None) -> Any:
        sent.append((method, path, body))
        return {}

    monkeypatch.setattr(cli_ctl.Api, "call", call)
    r = CliRunner().invoke(
        cli_ctl.ctl,
        [
            "run-command",
            "rolling-restart",
            "--targets",
            "endpoint:api,tag:Role=web",
            "--max-concurrency",
            "10%",
            "-p",
            "warmup=30s",
        ],
    )
    assert r.exit_code == 0, r.output
    assert sent == [
        (
            "POST",
            "/v1/events",
            {
                "send_command": {
                    "document": "rolling-restart",
                    "targets": ["endpoint:api", "tag:Role=web"],
                    "max_concurrency": "10%",
                    "parameters": {"warmup": "30s"},
                }
            },
        )
    ]
    r = CliRunner().invoke(cli_ctl.ctl, ["run-command", "d", "--targets", "x", "-p", "oops"])
    assert r.exit_code == 2


# ---- bad input -----------------------------------------------------------------------------
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
            scenario("  []").replace(
                '"edgesim:restart", name: restart', '"aws:runShellScript", name: restart'
            ),
            "aws:runShellScript",
            "ssm.documents[0].content.mainSteps[0].action",
            "unknown action 'aws:runShellScript'",
        ),
        (
            scenario("  []").replace("{{ latency }}", "{{ latncy }}"),
            "{{ latncy }}",
            "ssm.documents[1].content.mainSteps[0].inputs.extra_latency",
            "is not a parameter of the document",
        ),
        (
            scenario("  - {at: 1m, send_command: {document: reboot, targets: [endpoint:api]}}"),
            "document: reboot",
            "timeline[0].send_command",
            "no document named 'reboot'",
        ),
        (
            scenario(
                "  - {at: 1m, send_command: {document: rolling-restart, targets: [endpoint:api],"
                " max_concurrency: 9}}"
            ),
            "max_concurrency: 9",
            "timeline[0].send_command",
            "above the 6 instances",
        ),
        (
            scenario(
                "  - {at: 1m, send_command: {document: rolling-restart, targets: [endpoint:api],"
                " parameters: {warmpu: 1m}}}"
            ),
            "warmpu",
            "timeline[0].send_command",
            "no parameter 'warmpu'",
        ),
    ],
)
def test_bad_documents_and_commands_are_refused_at_load(
    write: Callable[[str, str], Path], text: str, needle: str, field: str, message: str
) -> None:
    path = write("bad.yaml", text)
    code, out = _cli(path)
    assert code == 2, out
    assert f"{path}:{_line(text, needle)}" in out, out
    assert field in out, out
    assert message in out, out
