"""CloudFormation's Systems Manager and AppConfig resources → the ``ssm:`` section."""

from __future__ import annotations

from pathlib import Path

from edgesim.cfn import import_template
from edgesim.scenario.loader import load_scenario_text, prepare

TEMPLATE = Path(__file__).parent / "data" / "ssm-template.yaml"


def test_maintenance_windows_targets_and_tasks_are_converted() -> None:
    result = import_template(TEMPLATE, check=True)
    ssm = result.scenario["ssm"]
    (window,) = ssm["maintenance_windows"]
    assert window["name"] == "patch-tuesday"
    assert window["schedule"] == "cron(0 18 ? * TUE#2 *)"
    # Duration and Cutoff are hours in CloudFormation
    assert (window["duration"], window["cutoff"]) == ("2h", "1h")
    (task,) = window["tasks"]
    # the task targets the window target, which selects the tag the Auto Scaling group carries
    assert task["targets"] == ["tag:Patch Group=web"]
    assert ssm["fleets"] == [{"endpoint": "web-group", "tags": {"Patch Group": "web"}}]
    assert task["max_concurrency"] == "25%"
    assert task["max_errors"] == 1
    assert task["cutoff_behavior"] == "CANCEL_TASK"
    assert task["timeout"] == "3600s"


def test_documents_parameters_and_appconfig() -> None:
    result = import_template(TEMPLATE)
    ssm = result.scenario["ssm"]
    assert [d["name"] for d in ssm["documents"]] == ["rolling-restart"]
    assert ssm["parameter_store"]["parameters"] == [
        {"name": "/app/flags", "tier": "Standard", "type": "String"}
    ]
    (app,) = ssm["appconfig"]["applications"]
    assert (app["environments"], app["profiles"]) == (["prod"], ["flags"])
    (strategy,) = ssm["appconfig"]["strategies"]
    assert strategy["deployment_duration"] == "20m"


def test_what_is_not_modelled_is_listed_with_the_reason() -> None:
    result = import_template(TEMPLATE)
    skipped = {s.where: s.reason for s in result.skipped}
    assert "aws:runShellScript" in skipped["Resources.Shell (AWS::SSM::Document)"]
    assert "values are not modelled" in skipped["Resources.Flags.Properties.Value"]
    assert "Resources.WebGroup.Properties.Tags" not in skipped  # used to select the fleet
    assert any("install and reboot times" in n for n in result.notes)


def test_the_imported_scenario_runs_its_window() -> None:
    result = import_template(TEMPLATE)
    text = (
        result.text()
        .replace("duration: 30m", "duration: 70m")
        .replace("world: aws-world", "world: tiny\nstart: 2026-01-13T17:55:00Z")
    )
    text = text.replace("top-50", "[new-york]").replace(
        "requests_per_second: 200", "requests_per_second: 5"
    )
    scn, index, file = load_scenario_text(text)
    run = prepare(scn, index, file)
    run.execute()
    svc = next(s for s in run.services if s.section == "ssm")
    report = svc.report()
    (ex,) = report["maintenance_windows"]["patch-tuesday"]["executions"]
    assert ex["started_s"] == 300.0
    assert ex["tasks"]["patchtask"]["targets"] == 6
