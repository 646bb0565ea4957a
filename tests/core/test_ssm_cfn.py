"""CloudFormation's Systems Manager and AppConfig resources → the ``ssm:`` section."""

from __future__ import annotations

from pathlib import Path

from edgesim.cfn import import_template
from edgesim.scenario.loader import load_scenario_text, prepare

TEMPLATE = Path(__file__).resolve().parents[1] / "data" / "ssm-template.yaml"


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


OTHER = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Box:
    Type: AWS::EC2::Instance
    Properties: {ImageId: ami-1, InstanceType: t3.micro}
  Win:
    Type: AWS::SSM::MaintenanceWindow
    Properties: {Schedule: rate(1 day), Duration: 3, Cutoff: 0, StartDate: "2026-01-01"}
  Empty:
    Type: AWS::SSM::MaintenanceWindow
    Properties: {Name: empty, Schedule: rate(7 days), Duration: 1, Cutoff: 0}
  Group:
    Type: AWS::SSM::MaintenanceWindowTarget
    Properties:
      WindowId: !Ref Win
      ResourceType: RESOURCE_GROUP
      Targets: [{Key: "resource-groups:Name", Values: [web]}]
  ByInstance:
    Type: AWS::SSM::MaintenanceWindowTask
    Properties:
      WindowId: !Ref Win
      TaskArn: AWS-RunPatchBaseline
      TaskType: RUN_COMMAND
      MaxConcurrency: "1"
      MaxErrors: "0"
      Targets: [{Key: InstanceIds, Values: [!Ref Box, i-0123456789abcdef0]}]
      TaskInvocationParameters:
        MaintenanceWindowRunCommandParameters:
          Parameters: {Operation: [Install], RebootOption: [NoReboot]}
          ServiceRoleArn: arn:aws:iam::123456789012:role/x
  ScanOnly:
    Type: AWS::SSM::MaintenanceWindowTask
    Properties:
      WindowId: !Ref Win
      TaskArn: AWS-RunPatchBaseline
      TaskType: RUN_COMMAND
      MaxConcurrency: "1"
      MaxErrors: "0"
      Targets: [{Key: InstanceIds, Values: [!Ref Box]}]
      TaskInvocationParameters:
        MaintenanceWindowRunCommandParameters:
          Parameters: {Operation: [Scan]}
  Lambda:
    Type: AWS::SSM::MaintenanceWindowTask
    Properties:
      WindowId: !Ref Empty
      TaskArn: arn:aws:lambda:us-east-1:123456789012:function:f
      TaskType: LAMBDA
      MaxConcurrency: "1"
      MaxErrors: "0"
  Orphan:
    Type: AWS::SSM::MaintenanceWindowTask
    Properties:
      {WindowId: mw-0123456789abcdef0, TaskArn: AWS-RunPatchBaseline, TaskType: RUN_COMMAND}
  Lonely:
    Type: AWS::AppConfig::Application
    Properties: {Name: lonely}
  Stray:
    Type: AWS::AppConfig::Environment
    Properties: {ApplicationId: abc1234, Name: prod}
"""


def test_other_targets_and_tasks_are_converted_or_skipped_with_reasons() -> None:
    result = import_template("other.yaml", text=OTHER)
    ssm = result.scenario["ssm"]
    (window,) = ssm["maintenance_windows"]
    assert window["duration"] == "3h"
    (task,) = window["tasks"]
    assert task["targets"] == ["endpoint:box"]
    assert task["reboot_option"] == "NoReboot"
    skipped = {s.where: s.reason for s in result.skipped}
    text = " ".join(f"{k}: {v}" for k, v in skipped.items())
    assert "resource group targets are not modelled" in text
    assert "targets by resource-groups:Name are not modelled" in text
    assert "i-0123456789abcdef0 is not an instance in the template" in text
    assert "Operation Scan takes nothing out of service" in text
    assert "only RUN_COMMAND patch tasks" in text
    assert "its WindowId is not a maintenance window" in text
    assert "StartDate is not modelled" in text
    assert (
        "no patch task edgesim can run" in skipped["Resources.Empty (AWS::SSM::MaintenanceWindow)"]
    )
    assert "its application is unknown" in text
    assert "needs an environment" in text
    assert "IAM" in text
