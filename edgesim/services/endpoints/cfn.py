"""CloudFormation → compute endpoints: Lambda functions (and SAM's), ECS services, Elastic
Beanstalk environments, EC2 instances and Auto Scaling groups, with their scaling policies
(docs/cloudformation.md)."""

from __future__ import annotations

from typing import Any

from edgesim.cfn.convert import Converter, seconds
from edgesim.cfn.evaluate import Resource, region_in
from edgesim.compute import lambdafn

COMPUTE_TYPES = (
    "AWS::Lambda::Function",
    "AWS::Serverless::Function",
    "AWS::ECS::Service",
    "AWS::ElasticBeanstalk::Environment",
    "AWS::EC2::Instance",
    "AWS::AutoScaling::AutoScalingGroup",
)

RESOURCE_TYPES = (
    *COMPUTE_TYPES,
    "AWS::Lambda::Alias",
    "AWS::Lambda::Version",
    "AWS::ECS::TaskDefinition",
    "AWS::ApplicationAutoScaling::ScalableTarget",
    "AWS::ApplicationAutoScaling::ScalingPolicy",
)


def convert(conv: Converter) -> None:
    for res in conv.of_type(*COMPUTE_TYPES):
        if res.type in ("AWS::Lambda::Function", "AWS::Serverless::Function"):
            _lambda(conv, res)
        elif res.type == "AWS::ECS::Service":
            _ecs(conv, res)
        elif res.type == "AWS::ElasticBeanstalk::Environment":
            _beanstalk(conv, res)
        elif res.type == "AWS::EC2::Instance":
            p = conv.p(res)
            p.skip("InstanceType", "instance types are not modelled (set concurrency)")
            p.skip("ImageId", "AMIs are not modelled")
            conv.add_endpoint(
                res,
                {
                    "service_time": "lognormal(median=20ms, sigma=0.5)",
                    "compute": {"type": "ec2", "min": 1, "max": 1, "autoscaling": False},
                },
            )
        else:
            _asg(conv, res)


def _lambda(conv: Converter, res: Resource) -> None:
    p = conv.p(res)
    compute: dict[str, Any] = {"type": "lambda"}
    runtime = p.get("Runtime")
    if runtime is not None:
        if lambdafn.runtime_family(str(runtime)) is not None:
            compute["runtime"] = str(runtime)
        else:
            conv.skip(p.path("Runtime"), f"runtime '{runtime}' is not modelled: python3.12")
    elif p.get("PackageType") == "Image":
        conv.note(f"{res.logical_id} is a container image: modelled as python3.12 — edit me")
    p.get("PackageType")
    memory = seconds(p.get("MemorySize"))
    if memory is not None:
        compute["memory"] = memory
    timeout = seconds(p.get("Timeout"))
    if timeout is not None:
        compute["timeout"] = f"{timeout}s"
    reserved = seconds(p.get("ReservedConcurrentExecutions"))
    if reserved is not None and reserved > 0:
        compute["concurrency"] = reserved
    elif reserved == 0:
        conv.skip(p.path("ReservedConcurrentExecutions"), "0 turns the function off")
    provisioned = 0
    for alias in conv.of_type("AWS::Lambda::Alias", "AWS::Lambda::Version"):
        if conv.front.get(alias.logical_id) != res.logical_id:
            continue
        ap = conv.p(alias)
        ap.get("FunctionName")
        pc = ap.sub("ProvisionedConcurrencyConfig")
        n = seconds(pc.get("ProvisionedConcurrentExecutions"))
        if n:
            provisioned += n
        conv.done.add(alias.logical_id)
    if provisioned:
        compute["provisioned"] = min(provisioned, compute.get("concurrency", 1000))
    conv.add_endpoint(
        res,
        {"service_time": "lognormal(median=40ms, sigma=0.5)", "compute": compute},
    )
    conv.note(
        f"{res.logical_id}: Lambda handler time (service_time at 1 vCPU) is a default "
        "40 ms median — edit me"
    )


def _scaling(conv: Converter, res: Resource, compute: dict[str, Any], desired: int | None) -> None:
    """Application Auto Scaling of an ECS service: capacity bounds and the target."""
    found = False
    for st in conv.of_type("AWS::ApplicationAutoScaling::ScalableTarget"):
        if conv.t.owner(st.properties.get("ResourceId")) != res.logical_id:
            continue
        sp = conv.p(st)
        for key in ("ResourceId", "ScalableDimension", "ServiceNamespace", "RoleARN"):
            sp.get(key)
        lo, hi = seconds(sp.get("MinCapacity")), seconds(sp.get("MaxCapacity"))
        compute["min"] = max(1, lo or 1)
        compute["max"] = max(compute["min"], hi or compute["min"])
        conv.done.add(st.logical_id)
        found = True
        for pol in conv.of_type("AWS::ApplicationAutoScaling::ScalingPolicy"):
            pp = pol.properties
            if conv.t.owner(pp.get("ScalingTargetId")) != st.logical_id and (
                conv.t.owner(pp.get("ResourceId")) != res.logical_id
            ):
                continue
            conv.done.add(pol.logical_id)
            polp = conv.p(pol)
            for key in ("PolicyName", "PolicyType", "ScalingTargetId", "ResourceId"):
                polp.get(key)
            for key in ("ScalableDimension", "ServiceNamespace"):
                polp.get(key)
            tt = polp.sub("TargetTrackingScalingPolicyConfiguration")
            target = tt.get("TargetValue")
            metric = tt.sub("PredefinedMetricSpecification").get("PredefinedMetricType")
            if metric in ("ECSServiceAverageCPUUtilization", "ASGAverageCPUUtilization"):
                compute["target_utilization"] = f"{float(target):g}%"
            elif metric == "ALBRequestCountPerTarget":
                compute["target_requests"] = float(target)
            elif tt.data:
                conv.skip(tt.path(), f"metric {metric} is not modelled: CPU at 50 %")
    if not found:
        n = max(1, desired or 1)
        compute.update({"min": 1, "max": n, "desired": n, "autoscaling": False})
    elif desired is not None:
        compute["desired"] = min(max(desired, compute["min"]), compute["max"])


def _ecs(conv: Converter, res: Resource) -> None:
    p = conv.p(res)
    launch = p.get("LaunchType")
    strategy = p.get("CapacityProviderStrategy") or []
    fargate = launch == "FARGATE" or any(
        isinstance(s, dict) and str(s.get("CapacityProvider", "")).startswith("FARGATE")
        for s in strategy
    )
    compute: dict[str, Any] = {"type": "fargate" if fargate else "ecs-ec2"}
    desired = seconds(p.get("DesiredCount"))
    p.get("LoadBalancers")
    p.get("ServiceName")
    _scaling(conv, res, compute, desired)
    task = conv.owner(p.get("TaskDefinition"))
    if task is not None and task.type == "AWS::ECS::TaskDefinition":
        if task.logical_id not in conv.done:
            tp = conv.p(task)
            for c in tp.subs("ContainerDefinitions"):
                c.get("Image")
                c.get("Name")
            for key in ("Cpu", "Memory"):
                tp.skip(key, "task size is not modelled: set concurrency per task")
            conv.done.add(task.logical_id)
        for c in task.properties.get("ContainerDefinitions") or []:
            image = str(c.get("Image") or "") if isinstance(c, dict) else ""
            reg = region_in(image) if ".dkr.ecr." in image else None
            if reg is not None and reg != conv.region_of(res):
                compute["registry"] = reg
        conv.note(f"{res.logical_id}: the image size is not in the template: 200 MB — edit me")
    conv.add_endpoint(
        res, {"service_time": "lognormal(median=20ms, sigma=0.5)", "compute": compute}
    )


def _beanstalk(conv: Converter, res: Resource) -> None:
    p = conv.p(res)
    compute: dict[str, Any] = {"type": "beanstalk"}
    for opt in p.subs("OptionSettings"):
        ns, name, value = opt.get("Namespace"), opt.get("OptionName"), opt.get("Value")
        if ns == "aws:autoscaling:asg" and name in ("MinSize", "MaxSize"):
            compute["min" if name == "MinSize" else "max"] = seconds(value)
        elif ns == "aws:elasticbeanstalk:environment" and name == "EnvironmentType":
            if value == "SingleInstance":
                compute.update({"min": 1, "max": 1, "autoscaling": False})
        else:
            conv.skip(opt.path(), f"option {ns}:{name} is not modelled")
    lo, hi = compute.get("min") or 1, compute.get("max") or 4
    compute["min"], compute["max"] = lo, max(lo, hi)
    tier = p.sub("Tier")
    if tier.get("Name") == "Worker":
        conv.skip(f"Resources.{res.logical_id}", "worker environments serve no requests")
        conv.done.add(res.logical_id)
        return
    for key in ("ApplicationName", "EnvironmentName", "SolutionStackName", "CNAMEPrefix"):
        p.get(key)
    conv.add_endpoint(
        res, {"service_time": "lognormal(median=20ms, sigma=0.5)", "compute": compute}
    )


def _asg(conv: Converter, res: Resource) -> None:
    p = conv.p(res)
    lo, hi = seconds(p.get("MinSize")) or 1, seconds(p.get("MaxSize")) or 1
    compute: dict[str, Any] = {"type": "ec2", "min": max(1, lo), "max": max(1, lo, hi)}
    desired = seconds(p.get("DesiredCapacity"))
    if desired:
        compute["desired"] = min(max(desired, compute["min"]), compute["max"])
    p.get("TargetGroupARNs")
    conv.add_endpoint(
        res, {"service_time": "lognormal(median=20ms, sigma=0.5)", "compute": compute}
    )
