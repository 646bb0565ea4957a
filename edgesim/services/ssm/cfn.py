"""CloudFormation → the ``ssm:`` section: maintenance windows, their targets and tasks,
documents, parameters and AppConfig (called by :mod:`edgesim.cfn.convert` through
:data:`edgesim.cfn.convert.CONVERTERS`).

What has no counterpart is listed as skipped with the reason (docs/ssm.md, "Importing").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edgesim.services.ssm.documents import ACTIONS

if TYPE_CHECKING:
    from edgesim.cfn.convert import Converter
    from edgesim.cfn.evaluate import Resource

PATCH_DOCUMENTS = ("AWS-RunPatchBaseline", "AWS-RunPatchBaselineAssociation")
MW = "AWS::SSM::MaintenanceWindow"
MW_TARGET = "AWS::SSM::MaintenanceWindowTarget"
MW_TASK = "AWS::SSM::MaintenanceWindowTask"
TYPES = (
    MW,
    MW_TARGET,
    MW_TASK,
    "AWS::SSM::Document",
    "AWS::SSM::Parameter",
    "AWS::AppConfig::Application",
    "AWS::AppConfig::Environment",
    "AWS::AppConfig::ConfigurationProfile",
    "AWS::AppConfig::DeploymentStrategy",
)
RESOURCE_TYPES = TYPES


def _hours(value: Any) -> str:
    try:
        return f"{int(float(value))}h"
    except (TypeError, ValueError):
        return "1h"


def _rate(value: Any, default: str) -> str | int:
    text = str(value).strip() if value is not None else default
    return int(text) if text.isdigit() else text


def _fleet_tags(conv: Converter) -> dict[str, dict[str, str]]:
    """Endpoint name → tags of the Auto Scaling group or instance behind it."""
    out: dict[str, dict[str, str]] = {}
    for lid, name in conv.endpoint_of.items():
        res = conv.t.resources.get(lid)
        if res is None:
            continue
        tags = res.properties.get("Tags")
        if isinstance(tags, list):
            found = {
                str(t.get("Key")): str(t.get("Value"))
                for t in tags
                if isinstance(t, dict) and "Key" in t
            }
            if found:
                out[name] = found
                for props in conv.props:  # the tags are used: they select the fleet
                    if props.loc == (*res.loc, "Properties"):
                        props.used.add("Tags")
    return out


def _targets(
    conv: Converter, targets: Any, where: str, windows_targets: dict[str, list[str]]
) -> list[str]:
    """edgesim targets for a list of ``{Key, Values}``."""
    out: list[str] = []
    if not isinstance(targets, list):
        return out
    for i, t in enumerate(targets):
        if not isinstance(t, dict):
            continue
        key = str(t.get("Key", ""))
        raw = t.get("Values")
        values: list[Any] = raw if isinstance(raw, list) else []
        if key.startswith("tag:"):
            out += [f"tag:{key[4:]}={v}" for v in values]
        elif key == "InstanceIds":
            for v in values:
                owner = conv.owner(v)
                name = conv.endpoint_of.get(owner.logical_id) if owner is not None else None
                if name is None:
                    conv.skip(f"{where}[{i}]", f"instance {v} is not an instance in the template")
                else:
                    out.append(f"endpoint:{name}")
        elif key == "WindowTargetIds":
            for v in values:
                owner = conv.owner(v)
                if owner is not None:
                    out += windows_targets.get(owner.logical_id, [])
        else:
            conv.skip(f"{where}[{i}]", f"targets by {key} are not modelled (tags and instances)")
    return list(dict.fromkeys(out))


def sections(conv: Converter) -> dict[str, Any]:
    """The ``ssm`` section for the template's Systems Manager and AppConfig resources."""
    ssm: dict[str, Any] = {}
    tags = _fleet_tags(conv)
    fleets = [{"endpoint": name, "tags": t} for name, t in sorted(tags.items())]
    # ---- targets and windows ------------------------------------------------------------------
    window_targets: dict[str, list[str]] = {}
    for res in conv.of_type(MW_TARGET):
        p = conv.p(res)
        p.get("WindowId")
        p.get("Name")
        p.get("Description")
        p.skip("OwnerInformation", "owner information is not modelled")
        rtype = p.get("ResourceType", "INSTANCE")
        if rtype != "INSTANCE":
            conv.skip(p.path("ResourceType"), "resource group targets are not modelled")
        window_targets[res.logical_id] = _targets(
            conv, p.get("Targets"), p.path("Targets"), window_targets
        )
        conv.done.add(res.logical_id)
    tasks_of: dict[str, list[dict[str, Any]]] = {}
    for res in conv.of_type(MW_TASK):
        task = _task(conv, res, window_targets)
        if task is not None:
            window, spec = task
            tasks_of.setdefault(window, []).append(spec)
    windows = []
    for res in conv.of_type(MW):
        p = conv.p(res)
        name = conv.unique(str(p.get("Name") or res.logical_id.lower()))
        w: dict[str, Any] = {"name": name}
        sched = p.get("Schedule")
        if isinstance(sched, str):
            w["schedule"] = sched
        tz = p.get("ScheduleTimezone")
        if isinstance(tz, str):
            w["timezone"] = tz
        w["duration"] = _hours(p.get("Duration"))
        w["cutoff"] = _hours(p.get("Cutoff", 0)) if p.get("Cutoff") is not None else "0h"
        for key in ("StartDate", "EndDate", "ScheduleOffset"):
            p.skip(key, f"{key} is not modelled (the schedule runs from the run's start)")
        p.skip(
            "AllowUnassociatedTargets",
            "registered and unregistered targets are the same to edgesim",
        )
        p.get("Description")
        conv.done.add(res.logical_id)
        tasks = tasks_of.get(res.logical_id, [])
        if not tasks:
            conv.skip(
                f"Resources.{res.logical_id} ({MW})", "no patch task edgesim can run: not converted"
            )
            continue
        w["tasks"] = tasks
        windows.append(w)
    if windows:
        ssm["maintenance_windows"] = windows
    # ---- documents and parameters ---------------------------------------------------------------
    docs = []
    for res in conv.of_type("AWS::SSM::Document"):
        p = conv.p(res)
        content = p.get("Content")
        dtype = p.get("DocumentType", "Command")
        p.get("DocumentFormat")
        name = conv.unique(str(p.get("Name") or res.logical_id))
        conv.done.add(res.logical_id)
        steps = content.get("mainSteps") if isinstance(content, dict) else None
        actions = [s.get("action") for s in steps or [] if isinstance(s, dict)]
        if dtype != "Command" or not actions or any(a not in ACTIONS for a in actions):
            unknown = sorted({str(a) for a in actions if a not in ACTIONS})
            conv.skip(
                f"Resources.{res.logical_id} ({res.type})",
                "only Command documents whose steps are edgesim actions are modelled"
                + (f" (not {', '.join(unknown)})" if unknown else ""),
            )
            continue
        assert isinstance(content, dict)
        keep = {
            k: v
            for k, v in content.items()
            if k in ("schemaVersion", "description", "parameters", "mainSteps")
        }
        docs.append({"name": name, "content": keep})
    if docs:
        ssm["documents"] = docs
    params = []
    for res in conv.of_type("AWS::SSM::Parameter"):
        p = conv.p(res)
        entry: dict[str, Any] = {"name": str(p.get("Name") or f"/{res.logical_id}")}
        tier = p.get("Tier")
        if tier in ("Standard", "Advanced", "Intelligent-Tiering"):
            entry["tier"] = tier
        ptype = p.get("Type")
        if ptype in ("String", "StringList"):
            entry["type"] = ptype
        p.skip("Value", "values are not modelled (reads are, by name)")
        p.skip("AllowedPattern", "values are not modelled")
        p.skip("Policies", "parameter policies are not modelled")
        p.skip("DataType", "values are not modelled")
        p.get("Description")
        conv.done.add(res.logical_id)
        params.append(entry)
    if params:
        ssm["parameter_store"] = {"parameters": params}
        conv.note(
            "Parameter Store parameters are defined; say which endpoint reads which in "
            "ssm.parameter_store.reads (edit me)"
        )
    app = _appconfig(conv)
    if app:
        ssm["appconfig"] = app
    if ssm and fleets:  # tagged EC2 instances and Auto Scaling groups: compute endpoints
        ssm["fleets"] = fleets
    return {"ssm": ssm} if ssm else {}


def _task(
    conv: Converter, res: Resource, window_targets: dict[str, list[str]]
) -> tuple[str, dict[str, Any]] | None:
    p = conv.p(res)
    conv.done.add(res.logical_id)
    where = f"Resources.{res.logical_id} ({MW_TASK})"
    window = conv.owner(p.get("WindowId"))
    arn = str(p.get("TaskArn", ""))
    ttype = p.get("TaskType", "RUN_COMMAND")
    if window is None:
        conv.skip(where, "its WindowId is not a maintenance window of the template")
        return None
    if ttype != "RUN_COMMAND" or not any(arn.endswith(d) for d in PATCH_DOCUMENTS):
        conv.skip(
            where, f"only RUN_COMMAND patch tasks (AWS-RunPatchBaseline) are modelled, not {arn}"
        )
        return None
    targets = _targets(conv, p.get("Targets"), p.path("Targets"), window_targets)
    if not targets:
        conv.skip(where, "its targets select no endpoint of the template")
        return None
    spec: dict[str, Any] = {
        "name": conv.unique(str(p.get("Name") or res.logical_id.lower())),
        "targets": targets,
        "max_concurrency": _rate(p.get("MaxConcurrency"), "1"),
        "max_errors": _rate(p.get("MaxErrors"), "0"),
    }
    prio = p.get("Priority")
    if prio is not None:
        spec["priority"] = int(prio)
    cb = p.get("CutoffBehavior")
    if cb in ("CONTINUE_TASK", "CANCEL_TASK"):
        spec["cutoff_behavior"] = cb
    inv = p.sub("TaskInvocationParameters").sub("MaintenanceWindowRunCommandParameters")
    params = inv.get("Parameters") or {}
    reboot = params.get("RebootOption") if isinstance(params, dict) else None
    if isinstance(reboot, list) and reboot:
        reboot = reboot[0]
    if reboot in ("RebootIfNeeded", "NoReboot"):
        spec["reboot_option"] = reboot
    op = params.get("Operation") if isinstance(params, dict) else None
    if isinstance(op, list) and op and op[0] == "Scan":
        conv.skip(where, "Operation Scan takes nothing out of service: not converted")
        return None
    timeout = inv.get("TimeoutSeconds")
    if timeout is not None:
        spec["timeout"] = f"{int(timeout)}s"
    for key in (
        "ServiceRoleArn",
        "NotificationConfig",
        "OutputS3BucketName",
        "CloudWatchOutputConfig",
    ):
        inv.skip(key, "IAM, notifications and output are not modelled")
    p.skip("LoggingInfo", "logging is not modelled")
    p.skip("ServiceRoleArn", "IAM is not modelled")
    p.get("Description")
    conv.note(
        f"maintenance window task {res.logical_id}: install and reboot times are edgesim's "
        "defaults (docs/ssm.md) — edit me"
    )
    return window.logical_id, spec


def _appconfig(conv: Converter) -> dict[str, Any]:
    apps: dict[str, dict[str, Any]] = {}
    for res in conv.of_type("AWS::AppConfig::Application"):
        p = conv.p(res)
        p.get("Description")
        apps[res.logical_id] = {
            "name": conv.unique(str(p.get("Name") or res.logical_id)),
            "environments": [],
            "profiles": [],
        }
        conv.done.add(res.logical_id)
    for rtype, key in (
        ("AWS::AppConfig::Environment", "environments"),
        ("AWS::AppConfig::ConfigurationProfile", "profiles"),
    ):
        for res in conv.of_type(rtype):
            p = conv.p(res)
            owner = conv.owner(p.get("ApplicationId"))
            conv.done.add(res.logical_id)
            p.skip("Monitors", "alarms are given with appconfig_deploy's alarm")
            p.skip("LocationUri", "configuration content is not modelled")
            p.skip("Validators", "validators are not modelled")
            p.skip("Type", "configuration content is not modelled")
            p.get("Description")
            if owner is None or owner.logical_id not in apps:
                conv.skip(f"Resources.{res.logical_id} ({rtype})", "its application is unknown")
                continue
            apps[owner.logical_id][key].append(str(p.get("Name") or res.logical_id))
    strategies = []
    for res in conv.of_type("AWS::AppConfig::DeploymentStrategy"):
        p = conv.p(res)
        conv.done.add(res.logical_id)
        strategies.append(
            {
                "name": conv.unique(str(p.get("Name") or res.logical_id)),
                "growth_type": str(p.get("GrowthType", "LINEAR")),
                "growth_factor": float(p.get("GrowthFactor", 100)),
                "deployment_duration": f"{int(float(p.get('DeploymentDurationInMinutes', 0)))}m",
                "final_bake_time": f"{int(float(p.get('FinalBakeTimeInMinutes', 0)))}m",
            }
        )
        p.skip("ReplicateTo", "SSM document replication is not modelled")
        p.get("Description")
    out: dict[str, Any] = {}
    endpoints = sorted(conv.endpoints)
    kept = []
    for lid, app in apps.items():
        if not app["environments"] or not app["profiles"] or not endpoints:
            conv.skip(
                f"Resources.{lid} (AWS::AppConfig::Application)",
                "needs an environment, a configuration profile and an endpoint to run on",
            )
            continue
        app["endpoints"] = endpoints
        conv.note(
            f"AppConfig application {app['name']}: every endpoint runs its agent (CloudFormation "
            "does not say which do) — edit me"
        )
        kept.append(app)
    if kept:
        out["applications"] = kept
    if strategies:
        out["strategies"] = strategies
    return out


def convert(conv: Converter) -> None:
    """The converter registry's entry point (:data:`edgesim.cfn.convert.CONVERTERS`)."""
    conv.sections.update(sections(conv))
