"""Turn an evaluated CloudFormation template into a scenario (``edgesim: 1``).

Each resource type edgesim models becomes part of a service section (docs/cloudformation.md
lists every conversion); everything else, and every property that has no counterpart, is listed
as skipped with the reason. CloudFormation describes no users, so ``clients`` and ``workloads``
are generated defaults, marked "edit me".
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from edgesim.cfn.evaluate import Loc, Resource, Template, region_in
from edgesim.yamlio import format_loc

#: Managed cache policies by their well-known IDs.
MANAGED_CACHE_POLICIES: dict[str, Any] = {
    "658327ea-f89d-4fab-a63d-7e88639e58f6": "CachingOptimized",
    "4135ea2d-6df8-44a3-9df3-4b5a84be39ad": "CachingDisabled",
    # CachingOptimizedForUncompressedObjects: CachingOptimized without gzip/brotli in the key
    "b2884449-e4de-46a7-ac36-70bc7f1ddd6d": {
        "min_ttl": "1s",
        "default_ttl": "1d",
        "max_ttl": "365d",
    },
}
#: Managed origin request policies by ID (AllViewer).
MANAGED_ORIGIN_REQUEST_POLICIES: dict[str, dict[str, Any]] = {
    "216adef6-5c7f-47e4-b989-5492eafa07d3": {
        "headers": "all_viewer",
        "cookies": "all",
        "query_strings": "all",
    },
}
PRICE_CLASSES = {"PriceClass_100": "100", "PriceClass_200": "200", "PriceClass_All": "all"}
RECORD_TYPES = ("A", "AAAA", "CNAME", "MX", "TXT", "NS", "SRV", "CAA")
CHECK_TYPES = {
    "HTTP": "http",
    "HTTPS": "https",
    "HTTP_STR_MATCH": "http",
    "HTTPS_STR_MATCH": "https",
    "TCP": "tcp",
    "CALCULATED": "calculated",
}
COMPUTE_TYPES = (
    "AWS::Lambda::Function",
    "AWS::Serverless::Function",
    "AWS::ECS::Service",
    "AWS::ElasticBeanstalk::Environment",
    "AWS::EC2::Instance",
    "AWS::AutoScaling::AutoScalingGroup",
)
#: Resources that put a name or address in front of compute (followed to what serves).
FRONT_TYPES = (
    "AWS::Lambda::Url",
    "AWS::Lambda::Alias",
    "AWS::Lambda::Version",
    "AWS::ApiGatewayV2::Api",
    "AWS::ApiGateway::RestApi",
    "AWS::ApiGatewayV2::DomainName",
    "AWS::ApiGateway::DomainName",
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::ElasticLoadBalancingV2::TargetGroup",
    "AWS::EC2::EIP",
)
#: Resources read only for what they add to another one.
LINK_TYPES = (
    "AWS::ApiGatewayV2::Integration",
    "AWS::ApiGateway::Method",
    "AWS::ApiGatewayV2::ApiMapping",
    "AWS::ApiGateway::BasePathMapping",
    "AWS::ElasticLoadBalancingV2::Listener",
    "AWS::ECS::TaskDefinition",
    "AWS::ApplicationAutoScaling::ScalableTarget",
    "AWS::ApplicationAutoScaling::ScalingPolicy",
    "AWS::CloudFront::CachePolicy",
    "AWS::CloudFront::OriginRequestPolicy",
)
#: Every type the converter reads (for "did you mean" on a misspelt one).
KNOWN_TYPES = (
    *COMPUTE_TYPES,
    *FRONT_TYPES,
    *LINK_TYPES,
    "AWS::S3::Bucket",
    "AWS::CloudFront::Distribution",
    "AWS::GlobalAccelerator::Accelerator",
    "AWS::GlobalAccelerator::Listener",
    "AWS::GlobalAccelerator::EndpointGroup",
    "AWS::Route53::HostedZone",
    "AWS::Route53::RecordSet",
    "AWS::Route53::RecordSetGroup",
    "AWS::Route53::HealthCheck",
    "AWS::Route53::CidrCollection",
)
_REASONS = {
    "Tags": "tags are not modelled",
    "HostedZoneTags": "tags are not modelled",
    "HealthCheckTags": "tags are not modelled",
    "ViewerCertificate": "certificates are not modelled (workloads choose TLS with `tls`)",
    "Logging": "logging is not modelled",
    "WebACLId": "AWS WAF is not modelled",
    "Restrictions": "geographic restrictions are not modelled",
    "ViewerProtocolPolicy": "HTTP→HTTPS redirects are not modelled",
    "Compress": "compression is not modelled",
    "FunctionAssociations": "CloudFront Functions are not modelled",
    "LambdaFunctionAssociations": "Lambda@Edge is not modelled",
    "ResponseHeadersPolicyId": "response headers policies are not modelled",
    "Comment": "comments are not modelled",
    "HttpVersion": "HTTP versions are not modelled",
    "IPV6Enabled": "IPv6 is not modelled separately",
    "DefaultRootObject": "workloads name their own paths",
    "Aliases": "used only to name a workload's host",
    "Role": "IAM is not modelled",
    "Code": "the function's code is not needed (its time is service_time)",
    "Handler": "the function's code is not needed (its time is service_time)",
    "Environment": "environment variables are not modelled",
    "Architectures": "arm64 is not modelled (docs/compute.md)",
    "Cluster": "ECS clusters' capacity is not modelled (the cluster always has room)",
    "NetworkConfiguration": "VPC networking is not modelled",
    "VpcConfig": "VPC networking is not modelled",
    "Port": "ports are not modelled by health checks",
    "ResourcePath": "checks probe the endpoint itself",
    "EnableSNI": "TLS details of checks are not modelled",
    "MeasureLatency": "latency graphs are not modelled",
    "SearchString": "string matching is not modelled (a check passes while the endpoint is up)",
    "ClientIPPreservationEnabled": "client IP preservation has no effect on latency",
    "PortOverrides": "port overrides are not modelled",
    "HealthCheckPort": "ports are not modelled by health checks",
    "HealthCheckPath": "checks probe the endpoint itself",
    "IpAddressType": "IPv4 only",
    "CustomErrorResponses": "only ErrorCachingMinTTL is read (see error_caching_min_ttl)",
}


@dataclass(frozen=True)
class Skipped:
    """Something in the template with no counterpart in the scenario."""

    where: str
    reason: str

    def render(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass
class ImportResult:
    """A generated scenario, what was skipped, and the choices made."""

    scenario: dict[str, Any]
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    source: str = "template"

    def header(self) -> list[str]:
        out = [
            f"Imported from {self.source} by `edgesim import cloudformation`.",
            "EDIT ME: CloudFormation describes no users, so `clients` and `workloads` are",
            "defaults, as are service times, capacities and object sizes. Add a `timeline`",
            "(failures) and `assertions` for what must hold.",
        ]
        if self.notes:
            out += ["", "Conversions:"]
            out += [f"  - {n}" for n in self.notes]
        if self.skipped:
            out += ["", "Skipped:"]
            out += [f"  - {s.render()}" for s in self.skipped]
        return out

    def text(self) -> str:
        from edgesim.cfn.yamlout import dump_scenario

        return dump_scenario(self.scenario, self.header())


def kebab(logical_id: str) -> str:
    """``ApiUse1Function`` → ``api-use1-function`` (a scenario name)."""
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", logical_id)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1-\2", s)
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", s).strip("-._").lower()
    return s or "x"


def _seconds(value: Any) -> int | None:
    try:
        return int(float(str(value)))
    except (TypeError, ValueError):
        return None


def _number(value: Any) -> int | float:
    f = float(str(value))
    return int(f) if f.is_integer() else f


def duration(seconds: int) -> str:
    """Seconds as a scenario duration in the largest exact unit (``604800`` → ``7d``)."""
    for unit, size in (("d", 86400), ("h", 3600)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


class Props:
    """A resource's (or a nested) property mapping that remembers which keys were read."""

    def __init__(self, conv: Converter, data: Any, loc: Loc) -> None:
        self.conv = conv
        self.data: dict[str, Any] = data if isinstance(data, dict) else {}
        self.loc = loc
        self.used: set[str] = set()
        conv.props.append(self)

    def get(self, key: str, default: Any = None) -> Any:
        self.used.add(key)
        return self.data.get(key, default)

    def sub(self, key: str) -> Props:
        self.used.add(key)
        return Props(self.conv, self.data.get(key), (*self.loc, key))

    def subs(self, key: str) -> list[Props]:
        self.used.add(key)
        items = self.data.get(key)
        if not isinstance(items, list):
            return []
        return [Props(self.conv, v, (*self.loc, key, i)) for i, v in enumerate(items)]

    def skip(self, key: str, reason: str) -> None:
        if key in self.data:
            self.used.add(key)
            self.conv.skip(format_loc((*self.loc, key)), reason)

    def path(self, key: str | int | None = None) -> str:
        return format_loc(self.loc if key is None else (*self.loc, key))


class Converter:
    def __init__(
        self,
        tpl: Template,
        *,
        world: str = "aws-world",
        source: str = "template",
        name: str | None = None,
    ) -> None:
        self.t = tpl
        self.world = world
        self.source = source
        self.name = name
        self.skipped: list[Skipped] = []
        self.notes: list[str] = []
        self.props: list[Props] = []
        self.done: set[str] = set()
        """Logical IDs converted (or read as part of another resource)."""
        self.names: set[str] = set()
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.endpoint_of: dict[str, str] = {}
        self.front: dict[str, str] = {}
        self.via: dict[str, list[str]] = {}
        """Resources that made a front → back link (a listener, an integration)."""
        self.hints: dict[str, tuple[str, str]] = {}
        self.bucket_of: dict[str, tuple[str, str]] = {}
        self.s3_buckets: dict[str, dict[str, Any]] = {}
        self.dists: dict[str, dict[str, Any]] = {}
        self.dist_res: dict[str, Props] = {}
        self.accels: dict[str, dict[str, Any]] = {}
        self.listeners: dict[str, tuple[str, dict[str, Any]]] = {}
        self.zones: dict[str, dict[str, Any]] = {}
        """zone name → {name, records}."""
        self.zone_of: dict[str, str] = {}
        self.records: list[tuple[str, dict[str, Any], str | None, Loc]] = []
        """(zone, record, health check logical ID, where) of every converted record."""
        self.checks: dict[str, dict[str, Any]] = {}
        self.collections: dict[str, dict[str, Any]] = {}

    # ---- bookkeeping ------------------------------------------------------------------------
    def skip(self, where: str, reason: str) -> None:
        item = Skipped(where, reason)
        if item not in self.skipped:
            self.skipped.append(item)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def unique(self, base: str) -> str:
        name, n = base, 2
        while name in self.names:
            name = f"{base}-{n}"
            n += 1
        self.names.add(name)
        return name

    def of_type(self, *types: str) -> list[Resource]:
        return [r for r in self.t.resources.values() if r.enabled and r.type in types]

    def p(self, res: Resource) -> Props:
        return Props(self, res.properties, (*res.loc, "Properties"))

    def owner(self, value: Any) -> Resource | None:
        lid = self.t.owner(value)
        return self.t.resources.get(lid) if lid is not None else None

    # ---- the whole conversion ---------------------------------------------------------------
    def run(self) -> ImportResult:
        for res in self.t.resources.values():
            if not res.enabled:
                self.skip(
                    f"Resources.{res.logical_id} ({res.type})",
                    f"not created: condition '{res.condition}' is false",
                )
        self._fronts()
        self._region_hints()
        self._compute()
        self._buckets()
        self._distributions()
        self._accelerators()
        self._route53()
        for res in self.t.resources.values():
            if res.enabled and res.logical_id not in self.done:
                self.skip(f"Resources.{res.logical_id} ({res.type})", self._why_not(res))
        for name, where in self.t.imports:
            self.skip(where, f"Fn::ImportValue '{name}': another stack's export is unknown here")
        workloads = self._workloads()
        order = {lid: i for i, lid in enumerate(self.t.resources)}
        for props in self.props:
            for key in props.data:
                if key not in props.used and props.loc[:2] and props.loc[1] in self.done:
                    self.skip(props.path(key), _REASONS.get(key, "not modelled by edgesim"))
        self.skipped.sort(key=lambda s: (order.get(_logical(s.where), len(order)), s.where))
        return ImportResult(self._scenario(workloads), self.skipped, self.notes, self.source)

    def _why_not(self, res: Resource) -> str:
        if res.type in FRONT_TYPES or res.type in LINK_TYPES:
            return "nothing in the scenario uses it"
        if res.type == "AWS::S3::Bucket":
            return "no AccelerateConfiguration and no distribution uses it: nothing to model"
        if res.type.startswith(("AWS::IAM::", "AWS::Logs::", "AWS::CloudWatch::")):
            return "IAM, logs and alarms are not modelled"
        if res.type.startswith("AWS::EC2::"):
            return "networking (VPCs, subnets, security groups) is not modelled"
        if res.type.startswith(("AWS::ApiGateway", "AWS::Lambda::")):
            return "API Gateway and Lambda plumbing adds no latency in the model"
        close = difflib.get_close_matches(res.type, KNOWN_TYPES, n=1, cutoff=0.85)
        hint = f" (did you mean {close[0]}?)" if close else ""
        return f"{res.type} is not a resource type edgesim models{hint}"

    # ---- fronts and regions -----------------------------------------------------------------
    def _link(
        self, front: Resource | None, back: Resource | None, via: Resource | None = None
    ) -> None:
        if front is not None and back is not None and front is not back:
            self.front.setdefault(front.logical_id, back.logical_id)
            if via is not None:
                self.via.setdefault(front.logical_id, []).append(via.logical_id)

    def _fronts(self) -> None:
        """Which resource serves what a front resource (a URL, an API, a load balancer)
        publishes, from the links the template makes."""
        t = self.t
        for res in t.resources.values():
            if not res.enabled:
                continue
            props = res.properties
            if res.type == "AWS::Lambda::Url":
                self._link(res, self.owner(props.get("TargetFunctionArn")))
            elif res.type in ("AWS::Lambda::Alias", "AWS::Lambda::Version"):
                self._link(res, self.owner(props.get("FunctionName")))
            elif res.type == "AWS::ApiGatewayV2::Api":
                self._link(res, self.owner(props.get("Target")))
            elif res.type == "AWS::ApiGatewayV2::Integration":
                self._link(
                    self.owner(props.get("ApiId")), self.owner(props.get("IntegrationUri")), res
                )
            elif res.type == "AWS::ApiGateway::Method":
                integ = props.get("Integration")
                uri = integ.get("Uri") if isinstance(integ, dict) else None
                self._link(self.owner(props.get("RestApiId")), self.owner(uri), res)
            elif res.type in ("AWS::ApiGatewayV2::ApiMapping", "AWS::ApiGateway::BasePathMapping"):
                api = props.get("ApiId", props.get("RestApiId"))
                self._link(self.owner(props.get("DomainName")), self.owner(api), res)
            elif res.type == "AWS::ElasticLoadBalancingV2::Listener":
                lb = self.owner(props.get("LoadBalancerArn"))
                for action in props.get("DefaultActions") or []:
                    if not isinstance(action, dict):
                        continue
                    self._link(lb, self.owner(action.get("TargetGroupArn")), res)
                    fwd = action.get("ForwardConfig")
                    for tg in (fwd or {}).get("TargetGroups") or []:
                        if isinstance(tg, dict):
                            self._link(lb, self.owner(tg.get("TargetGroupArn")), res)
            elif res.type == "AWS::ECS::Service":
                for lb in props.get("LoadBalancers") or []:
                    if isinstance(lb, dict):
                        self._link(self.owner(lb.get("TargetGroupArn")), res)
            elif res.type == "AWS::AutoScaling::AutoScalingGroup":
                for tg in props.get("TargetGroupARNs") or []:
                    self._link(self.owner(tg), res)
            elif res.type == "AWS::EC2::EIP":
                self._link(res, self.owner(props.get("InstanceId")))

    def backend(self, res: Resource) -> Resource:
        seen = {res.logical_id}
        while res.logical_id in self.front:
            nxt = self.t.resources[self.front[res.logical_id]]
            if nxt.logical_id in seen:
                break
            seen.add(nxt.logical_id)
            res = nxt
        return res

    def _hint(self, res: Resource | None, region: Any, why: str) -> None:
        if res is None or not isinstance(region, str) or not region:
            return
        back = self.backend(res)
        self.hints.setdefault(back.logical_id, (region, why))

    def _region_hints(self) -> None:
        """Where compute runs when the template does not say: a latency record's Region, or
        a Global Accelerator endpoint group's Region, naming it."""
        for res in self.of_type("AWS::Route53::RecordSet", "AWS::Route53::RecordSetGroup"):
            sets = (
                res.properties.get("RecordSets")
                if res.type == "AWS::Route53::RecordSetGroup"
                else [res.properties]
            )
            for rs in sets or []:
                if not isinstance(rs, dict) or not rs.get("Region"):
                    continue
                alias = rs.get("AliasTarget")
                value = alias.get("DNSName") if isinstance(alias, dict) else None
                values = rs.get("ResourceRecords") or []
                value = value or (values[0] if values else None)
                self._hint(self.owner(value), rs["Region"], f"latency record {res.logical_id}")
        for res in self.of_type("AWS::GlobalAccelerator::EndpointGroup"):
            region = res.properties.get("EndpointGroupRegion")
            for ep in res.properties.get("EndpointConfigurations") or []:
                if isinstance(ep, dict):
                    owner = self.owner(ep.get("EndpointId"))
                    self._hint(owner, region, f"endpoint group {res.logical_id}")

    def region_of(self, res: Resource) -> str:
        meta = res.metadata.get("edgesim")
        if isinstance(meta, dict) and meta.get("region"):
            return str(meta["region"])
        back = self.backend(res)
        if back.logical_id in self.hints:
            return self.hints[back.logical_id][0]
        meta = back.metadata.get("edgesim")
        if isinstance(meta, dict) and meta.get("region"):
            return str(meta["region"])
        return self.t.region

    # ---- compute ------------------------------------------------------------------------------
    def _endpoint(self, res: Resource, spec: dict[str, Any]) -> str:
        name = self.unique(kebab(res.logical_id))
        region = self.region_of(res)
        hint = self.hints.get(res.logical_id)
        if hint is not None and hint[0] != self.t.region:
            self.note(f"{res.logical_id} runs in {region}: the Region of {hint[1]}")
        self.endpoints[name] = {"name": name, "site": f"region:{region}", **spec}
        self.endpoint_of[res.logical_id] = name
        self.done.add(res.logical_id)
        return name

    def endpoint_for(self, res: Resource | None) -> str | None:
        """The endpoint serving what ``res`` publishes (created for a front with nothing
        modelled behind it)."""
        if res is None:
            return None
        back = self.backend(res)
        chain = res
        while chain.logical_id != back.logical_id:
            self.done.add(chain.logical_id)
            self.done.update(self.via.get(chain.logical_id, []))
            chain = self.t.resources[self.front[chain.logical_id]]
        if back.logical_id in self.endpoint_of:
            return self.endpoint_of[back.logical_id]
        if back.type in FRONT_TYPES:
            self.note(
                f"{back.logical_id} ({back.type}) has no compute behind it in the template: "
                "a default endpoint (16 servers, 20 ms) stands for it — edit me"
            )
            return self._endpoint(back, {"service_time": "lognormal(median=20ms, sigma=0.5)"})
        return None

    def _compute(self) -> None:
        for res in self.of_type(*COMPUTE_TYPES):
            if res.type in ("AWS::Lambda::Function", "AWS::Serverless::Function"):
                self._lambda(res)
            elif res.type == "AWS::ECS::Service":
                self._ecs(res)
            elif res.type == "AWS::ElasticBeanstalk::Environment":
                self._beanstalk(res)
            elif res.type == "AWS::EC2::Instance":
                p = self.p(res)
                p.skip("InstanceType", "instance types are not modelled (set concurrency)")
                p.skip("ImageId", "AMIs are not modelled")
                self._endpoint(
                    res,
                    {
                        "service_time": "lognormal(median=20ms, sigma=0.5)",
                        "compute": {"type": "ec2", "min": 1, "max": 1, "autoscaling": False},
                    },
                )
            else:
                self._asg(res)

    def _lambda(self, res: Resource) -> None:
        p = self.p(res)
        compute: dict[str, Any] = {"type": "lambda"}
        runtime = p.get("Runtime")
        if runtime is not None:
            from edgesim.compute import lambdafn

            if lambdafn.runtime_family(str(runtime)) is not None:
                compute["runtime"] = str(runtime)
            else:
                self.skip(p.path("Runtime"), f"runtime '{runtime}' is not modelled: python3.12")
        elif p.get("PackageType") == "Image":
            self.note(f"{res.logical_id} is a container image: modelled as python3.12 — edit me")
        p.get("PackageType")
        memory = _seconds(p.get("MemorySize"))
        if memory is not None:
            compute["memory"] = memory
        timeout = _seconds(p.get("Timeout"))
        if timeout is not None:
            compute["timeout"] = f"{timeout}s"
        reserved = _seconds(p.get("ReservedConcurrentExecutions"))
        if reserved is not None and reserved > 0:
            compute["concurrency"] = reserved
        elif reserved == 0:
            self.skip(p.path("ReservedConcurrentExecutions"), "0 turns the function off")
        provisioned = 0
        for alias in self.of_type("AWS::Lambda::Alias", "AWS::Lambda::Version"):
            if self.front.get(alias.logical_id) != res.logical_id:
                continue
            ap = self.p(alias)
            ap.get("FunctionName")
            pc = ap.sub("ProvisionedConcurrencyConfig")
            n = _seconds(pc.get("ProvisionedConcurrentExecutions"))
            if n:
                provisioned += n
            self.done.add(alias.logical_id)
        if provisioned:
            compute["provisioned"] = min(provisioned, compute.get("concurrency", 1000))
        self._endpoint(
            res,
            {"service_time": "lognormal(median=40ms, sigma=0.5)", "compute": compute},
        )
        self.note(
            f"{res.logical_id}: Lambda handler time (service_time at 1 vCPU) is a default "
            "40 ms median — edit me"
        )

    def _scaling(self, res: Resource, compute: dict[str, Any], desired: int | None) -> None:
        """Application Auto Scaling of an ECS service: capacity bounds and the target."""
        found = False
        for st in self.of_type("AWS::ApplicationAutoScaling::ScalableTarget"):
            if self.t.owner(st.properties.get("ResourceId")) != res.logical_id:
                continue
            sp = self.p(st)
            for key in ("ResourceId", "ScalableDimension", "ServiceNamespace", "RoleARN"):
                sp.get(key)
            lo, hi = _seconds(sp.get("MinCapacity")), _seconds(sp.get("MaxCapacity"))
            compute["min"] = max(1, lo or 1)
            compute["max"] = max(compute["min"], hi or compute["min"])
            self.done.add(st.logical_id)
            found = True
            for pol in self.of_type("AWS::ApplicationAutoScaling::ScalingPolicy"):
                pp = pol.properties
                if self.t.owner(pp.get("ScalingTargetId")) != st.logical_id and (
                    self.t.owner(pp.get("ResourceId")) != res.logical_id
                ):
                    continue
                self.done.add(pol.logical_id)
                polp = self.p(pol)
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
                    self.skip(tt.path(), f"metric {metric} is not modelled: CPU at 50 %")
        if not found:
            n = max(1, desired or 1)
            compute.update({"min": 1, "max": n, "desired": n, "autoscaling": False})
        elif desired is not None:
            compute["desired"] = min(max(desired, compute["min"]), compute["max"])

    def _ecs(self, res: Resource) -> None:
        p = self.p(res)
        launch = p.get("LaunchType")
        strategy = p.get("CapacityProviderStrategy") or []
        fargate = launch == "FARGATE" or any(
            isinstance(s, dict) and str(s.get("CapacityProvider", "")).startswith("FARGATE")
            for s in strategy
        )
        compute: dict[str, Any] = {"type": "fargate" if fargate else "ecs-ec2"}
        desired = _seconds(p.get("DesiredCount"))
        p.get("LoadBalancers")
        p.get("ServiceName")
        self._scaling(res, compute, desired)
        task = self.owner(p.get("TaskDefinition"))
        if task is not None and task.type == "AWS::ECS::TaskDefinition":
            if task.logical_id not in self.done:
                tp = self.p(task)
                for c in tp.subs("ContainerDefinitions"):
                    c.get("Image")
                    c.get("Name")
                for key in ("Cpu", "Memory"):
                    tp.skip(key, "task size is not modelled: set concurrency per task")
                self.done.add(task.logical_id)
            for c in task.properties.get("ContainerDefinitions") or []:
                image = str(c.get("Image") or "") if isinstance(c, dict) else ""
                reg = region_in(image) if ".dkr.ecr." in image else None
                if reg is not None and reg != self.region_of(res):
                    compute["registry"] = reg
            self.note(f"{res.logical_id}: the image size is not in the template: 200 MB — edit me")
        self._endpoint(
            res, {"service_time": "lognormal(median=20ms, sigma=0.5)", "compute": compute}
        )

    def _beanstalk(self, res: Resource) -> None:
        p = self.p(res)
        compute: dict[str, Any] = {"type": "beanstalk"}
        for opt in p.subs("OptionSettings"):
            ns, name, value = opt.get("Namespace"), opt.get("OptionName"), opt.get("Value")
            if ns == "aws:autoscaling:asg" and name in ("MinSize", "MaxSize"):
                compute["min" if name == "MinSize" else "max"] = _seconds(value)
            elif ns == "aws:elasticbeanstalk:environment" and name == "EnvironmentType":
                if value == "SingleInstance":
                    compute.update({"min": 1, "max": 1, "autoscaling": False})
            else:
                self.skip(opt.path(), f"option {ns}:{name} is not modelled")
        lo, hi = compute.get("min") or 1, compute.get("max") or 4
        compute["min"], compute["max"] = lo, max(lo, hi)
        tier = p.sub("Tier")
        if tier.get("Name") == "Worker":
            self.skip(f"Resources.{res.logical_id}", "worker environments serve no requests")
            self.done.add(res.logical_id)
            return
        for key in ("ApplicationName", "EnvironmentName", "SolutionStackName", "CNAMEPrefix"):
            p.get(key)
        self._endpoint(
            res, {"service_time": "lognormal(median=20ms, sigma=0.5)", "compute": compute}
        )

    def _asg(self, res: Resource) -> None:
        p = self.p(res)
        lo, hi = _seconds(p.get("MinSize")) or 1, _seconds(p.get("MaxSize")) or 1
        compute: dict[str, Any] = {"type": "ec2", "min": max(1, lo), "max": max(1, lo, hi)}
        desired = _seconds(p.get("DesiredCapacity"))
        if desired:
            compute["desired"] = min(max(desired, compute["min"]), compute["max"])
        p.get("TargetGroupARNs")
        self._endpoint(
            res, {"service_time": "lognormal(median=20ms, sigma=0.5)", "compute": compute}
        )

    # ---- S3 ---------------------------------------------------------------------------------
    def _buckets(self) -> None:
        for res in self.of_type("AWS::S3::Bucket"):
            name = self.t.physical_name(res)
            region = self.region_of(res)
            self.bucket_of[res.logical_id] = (name, region)
            raw = res.properties.get("AccelerateConfiguration")
            if not isinstance(raw, dict):
                continue
            p = self.p(res)
            p.get("BucketName")
            status = p.sub("AccelerateConfiguration").get("AccelerationStatus")
            on = status == "Enabled"
            if on and "." in name:
                self.skip(
                    p.path("AccelerateConfiguration"),
                    f"bucket '{name}' has a dot in its name: S3 refuses Transfer Acceleration",
                )
                on = False
            self.s3_buckets[res.logical_id] = {
                "name": name,
                "region": region,
                "transfer_acceleration": on,
            }
            self.done.add(res.logical_id)

    # ---- CloudFront ---------------------------------------------------------------------------
    def _policy_resource(self, value: Any, where: str) -> Any:
        if isinstance(value, str) and value in MANAGED_CACHE_POLICIES:
            return MANAGED_CACHE_POLICIES[value]
        res = self.owner(value)
        if res is None or res.type != "AWS::CloudFront::CachePolicy":
            self.skip(where, f"cache policy '{value}' is not known: the default policy is used")
            return None
        self.done.add(res.logical_id)
        cfg = self.p(res).sub("CachePolicyConfig")
        cfg.get("Name")
        cfg.get("Comment")
        out: dict[str, Any] = {}
        for key, field_name in (
            ("MinTTL", "min_ttl"),
            ("DefaultTTL", "default_ttl"),
            ("MaxTTL", "max_ttl"),
        ):
            v = _seconds(cfg.get(key))
            if v is not None:
                out[field_name] = duration(v)
        params = cfg.sub("ParametersInCacheKeyAndForwardedToOrigin")
        enc = [
            e
            for e, key in (
                ("gzip", "EnableAcceptEncodingGzip"),
                ("br", "EnableAcceptEncodingBrotli"),
            )
            if _bool(params.get(key, False))
        ]
        if enc:
            out["accept_encoding"] = enc
        headers = params.sub("HeadersConfig")
        if headers.get("HeaderBehavior") == "whitelist":
            out["headers"] = [str(h) for h in headers.get("Headers") or []]
        for label, key, beh, names in (
            ("cookies", "CookiesConfig", "CookieBehavior", "Cookies"),
            ("query_strings", "QueryStringsConfig", "QueryStringBehavior", "QueryStrings"),
        ):
            sub = params.sub(key)
            mode = {"none": "none", "all": "all", "whitelist": "allow", "allExcept": "all_except"}
            m = mode.get(str(sub.get(beh, "none")), "none")
            out[label] = m
            if m in ("allow", "all_except"):
                listed = [str(n) for n in sub.get(names) or []]
                out["cookie_names" if label == "cookies" else "query_string_names"] = listed
        if out.get("cookies") == "none":
            out.pop("cookies")
        if out.get("query_strings") == "none":
            out.pop("query_strings")
        return out

    def _legacy_policy(self, beh: Props) -> dict[str, Any]:
        """ForwardedValues and MinTTL/DefaultTTL/MaxTTL, as a cache policy."""
        out: dict[str, Any] = {}
        for key, field_name, default in (
            ("MinTTL", "min_ttl", 0),
            ("DefaultTTL", "default_ttl", 86400),
            ("MaxTTL", "max_ttl", 31536000),
        ):
            v = _seconds(beh.get(key))
            out[field_name] = duration(default if v is None else v)
        fv = beh.sub("ForwardedValues")
        if _bool(fv.get("QueryString", False)):
            keys = [str(k) for k in fv.get("QueryStringCacheKeys") or []]
            out["query_strings"] = "allow" if keys else "all"
            if keys:
                out["query_string_names"] = keys
        cookies = fv.sub("Cookies")
        fwd = cookies.get("Forward", "none")
        if fwd == "all":
            out["cookies"] = "all"
        elif fwd == "whitelist":
            out["cookies"] = "allow"
            out["cookie_names"] = [str(c) for c in cookies.get("WhitelistedNames") or []]
        headers = [str(h) for h in fv.get("Headers") or []]
        if "*" in headers:
            self.skip(fv.path("Headers"), "forwarding all headers disables caching: TTLs set to 0")
            out.update({"min_ttl": "0s", "default_ttl": "0s", "max_ttl": "0s"})
        elif headers:
            out["headers"] = headers
        return out

    def _behavior_policy(self, beh: Props, dist: dict[str, Any]) -> Any:
        if "CachePolicyId" in beh.data:
            return self._policy_resource(beh.get("CachePolicyId"), beh.path("CachePolicyId"))
        if "ForwardedValues" in beh.data:
            return self._legacy_policy(beh)
        for key in ("MinTTL", "DefaultTTL", "MaxTTL"):
            beh.skip(key, "TTLs apply with ForwardedValues only")
        return None

    def _request_policy(self, beh: Props) -> Any:
        value = beh.get("OriginRequestPolicyId")
        if value is None:
            return None
        if isinstance(value, str) and value in MANAGED_ORIGIN_REQUEST_POLICIES:
            return MANAGED_ORIGIN_REQUEST_POLICIES[value]
        res = self.owner(value)
        if res is None or res.type != "AWS::CloudFront::OriginRequestPolicy":
            self.skip(
                beh.path("OriginRequestPolicyId"), f"origin request policy '{value}' is not known"
            )
            return None
        self.done.add(res.logical_id)
        cfg = self.p(res).sub("OriginRequestPolicyConfig")
        cfg.get("Name")
        cfg.get("Comment")
        out: dict[str, Any] = {}
        for label, key, beh_key, names, everything in (
            ("headers", "HeadersConfig", "HeaderBehavior", "Headers", "allViewer"),
            ("cookies", "CookiesConfig", "CookieBehavior", "Cookies", "all"),
            ("query_strings", "QueryStringsConfig", "QueryStringBehavior", "QueryStrings", "all"),
        ):
            sub = cfg.sub(key)
            mode = sub.get(beh_key, "none")
            if mode == everything:
                out[label] = "all_viewer" if label == "headers" else "all"
            elif mode == "whitelist":
                out[label] = [str(n) for n in sub.get(names) or []]
        return out or None

    def _methods(self, beh: Props, out: dict[str, Any]) -> None:
        methods = beh.get("AllowedMethods")
        if isinstance(methods, list):
            out["allowed_methods"] = {2: "GET_HEAD", 3: "GET_HEAD_OPTIONS"}.get(len(methods), "ALL")
        cached = beh.get("CachedMethods")
        if isinstance(cached, list) and "OPTIONS" in cached:
            out["cache_options"] = True

    def _origin(self, o: Props, dist_name: str, names: dict[str, str]) -> dict[str, Any] | None:
        oid = str(o.get("Id"))
        name = re.sub(r"[^A-Za-z0-9._-]+", "-", oid).strip("-._") or "origin"
        names[oid] = name
        domain = str(o.get("DomainName") or "")
        out: dict[str, Any] = {"name": name}
        res = self.owner(domain)
        s3cfg = o.sub("S3OriginConfig")
        custom = o.sub("CustomOriginConfig")
        o.skip("OriginAccessControlId", "access control is not modelled")
        o.skip("OriginPath", "origin paths are not modelled")
        o.skip("OriginCustomHeaders", "custom headers are not modelled")
        s3cfg.skip("OriginAccessIdentity", "access control is not modelled")
        if res is not None and res.type == "AWS::S3::Bucket":
            bucket, region = self.bucket_of[res.logical_id]
            self.done.add(res.logical_id)
            out["s3"] = {"bucket": bucket, "region": region}
        elif res is None and (
            m := re.match(r"^([a-z0-9.-]+)\.s3[.-](?:([a-z0-9-]+)\.)?amazonaws\.com$", domain)
        ):
            region = m.group(2) or "us-east-1"
            if region.startswith("website-"):
                region = region.removeprefix("website-")
            out["s3"] = {"bucket": m.group(1), "region": region}
            self.note(f"{dist_name}: origin {oid} is the bucket {m.group(1)}, not in the template")
        else:
            endpoint = self.endpoint_for(res)
            if endpoint is None:
                region = region_in(domain) or self.t.region
                endpoint = self.unique(kebab(name))
                self.endpoints[endpoint] = {
                    "name": endpoint,
                    "site": f"region:{region}",
                    "service_time": "lognormal(median=20ms, sigma=0.5)",
                }
                self.note(
                    f"{dist_name}: origin {oid} ({domain or 'no domain'}) is not a resource of "
                    f"the template: a default endpoint '{endpoint}' in {region} — edit me"
                )
            out["endpoint"] = endpoint
        for key, field_name in (("ConnectionTimeout", "connection_timeout"),):
            v = _seconds(o.get(key))
            if v is not None:
                out[field_name] = duration(v)
        attempts = _seconds(o.get("ConnectionAttempts"))
        if attempts is not None:
            out["connection_attempts"] = attempts
        read = _seconds(custom.get("OriginReadTimeout"))
        if read is not None:
            out["read_timeout"] = duration(read)
        for key in ("HTTPPort", "HTTPSPort", "OriginProtocolPolicy", "OriginSSLProtocols"):
            custom.skip(key, "origin protocols and ports are not modelled")
        custom.skip("OriginKeepaliveTimeout", "connections to origins are not modelled")
        return out

    def _distributions(self) -> None:
        for res in self.of_type("AWS::CloudFront::Distribution"):
            p = self.p(res)
            cfg = p.sub("DistributionConfig")
            name = self.unique(kebab(res.logical_id))
            dist: dict[str, Any] = {"name": name}
            if cfg.get("Enabled") is not None and not _bool(cfg.get("Enabled")):
                self.note(f"{res.logical_id} is disabled in the template; converted anyway")
            pc = cfg.get("PriceClass")
            if pc is not None:
                dist["price_class"] = PRICE_CLASSES.get(str(pc), "all")
            names: dict[str, str] = {}
            origins = []
            shield: set[str] = set()
            for o in cfg.subs("Origins"):
                origin = self._origin(o, name, names)
                if origin is not None:
                    origins.append(origin)
                osh = o.sub("OriginShield")
                if _bool(osh.get("Enabled", False)) and osh.get("OriginShieldRegion"):
                    shield.add(str(osh.get("OriginShieldRegion")))
            if not origins:
                self.skip(f"Resources.{res.logical_id}", "a distribution without origins")
                self.done.add(res.logical_id)
                continue
            if shield:
                dist["origin_shield"] = sorted(shield)[0]
                if len(shield) > 1:
                    self.note(
                        f"{name}: Origin Shield in {sorted(shield)[0]} for every origin "
                        "(edgesim has one shield per distribution)"
                    )
            dist["origins"] = origins
            groups = []
            for g in cfg.sub("OriginGroups").subs("Items"):
                gid = str(g.get("Id"))
                members = [
                    names.get(str(m.get("OriginId")), str(m.get("OriginId")))
                    for m in g.sub("Members").subs("Items")
                ]
                g.sub("Members").get("Quantity")
                codes = g.sub("FailoverCriteria").sub("StatusCodes")
                codes.get("Quantity")
                group: dict[str, Any] = {
                    "name": re.sub(r"[^A-Za-z0-9._-]+", "-", gid).strip("-._") or "group",
                }
                names[gid] = group["name"]
                if len(members) != 2:
                    self.skip(g.path(), "an origin group has exactly two members")
                    continue
                group["primary"], group["secondary"] = members
                items = codes.get("Items")
                if items:
                    group["failover_on"] = [int(c) for c in items]
                groups.append(group)
            cfg.sub("OriginGroups").get("Quantity")
            if groups:
                dist["origin_groups"] = groups
            default = cfg.sub("DefaultCacheBehavior")
            target = default.get("TargetOriginId")
            if target is not None and names.get(str(target)) != origins[0]["name"]:
                dist["default_origin"] = names.get(str(target), str(target))
            policy = self._behavior_policy(default, dist)
            if policy is not None:
                dist["cache_policy"] = policy
            default_extra: dict[str, Any] = {}
            self._methods(default, default_extra)
            if default_extra:
                self.skip(
                    default.path("AllowedMethods"),
                    "the default behaviour allows every method in edgesim",
                )
            behaviors = []
            for b in cfg.subs("CacheBehaviors"):
                beh: dict[str, Any] = {
                    "path": str(b.get("PathPattern")),
                    "origin": names.get(str(b.get("TargetOriginId")), str(b.get("TargetOriginId"))),
                }
                pol = self._behavior_policy(b, dist)
                if pol is not None:
                    beh["cache_policy"] = pol
                orp = self._request_policy(b)
                if orp is not None:
                    beh["origin_request_policy"] = orp
                self._methods(b, beh)
                behaviors.append(beh)
            if behaviors:
                dist["behaviors"] = behaviors
            if self._request_policy(default) is not None:
                self.skip(
                    default.path("OriginRequestPolicyId"),
                    "the default behaviour has none in edgesim",
                )
            errors = [
                s
                for e in cfg.subs("CustomErrorResponses")
                if str(e.get("ErrorCode", "")).startswith("5")
                and (s := _seconds(e.get("ErrorCachingMinTTL"))) is not None
            ]
            if errors:
                dist["error_caching_min_ttl"] = duration(min(errors))
            self.dists[res.logical_id] = dist
            self.dist_res[res.logical_id] = cfg
            self.done.add(res.logical_id)

    # ---- Global Accelerator ---------------------------------------------------------------------
    def _accelerators(self) -> None:
        for res in self.of_type("AWS::GlobalAccelerator::Accelerator"):
            p = self.p(res)
            acc: dict[str, Any] = {"name": self.unique(kebab(res.logical_id)), "listeners": []}
            p.get("Name")
            ips = p.get("IpAddresses")
            if isinstance(ips, list) and len(ips) == 2:
                acc["ip_addresses"] = [str(i) for i in ips]
            if p.get("Enabled") is not None and not _bool(p.get("Enabled")):
                self.note(f"{res.logical_id} is disabled in the template; converted anyway")
            self.accels[res.logical_id] = acc
        for res in self.of_type("AWS::GlobalAccelerator::Listener"):
            p = self.p(res)
            owner = self.owner(p.get("AcceleratorArn"))
            if owner is None or owner.logical_id not in self.accels:
                self.skip(f"Resources.{res.logical_id}", "its accelerator is not in the template")
                self.done.add(res.logical_id)
                continue
            listener: dict[str, Any] = {"protocol": str(p.get("Protocol", "TCP"))}
            ranges: list[int | str] = []
            for r in p.subs("PortRanges"):
                lo, hi = _seconds(r.get("FromPort")), _seconds(r.get("ToPort"))
                ranges.append(lo if lo == hi else f"{lo}-{hi}")  # type: ignore[arg-type]
            listener["port_ranges"] = ranges
            aff = p.get("ClientAffinity")
            if aff is not None:
                listener["client_affinity"] = str(aff)
            listener["endpoint_groups"] = []
            self.listeners[res.logical_id] = (owner.logical_id, listener)
        for res in self.of_type("AWS::GlobalAccelerator::EndpointGroup"):
            p = self.p(res)
            owner = self.owner(p.get("ListenerArn"))
            if owner is None or owner.logical_id not in self.listeners:
                self.skip(f"Resources.{res.logical_id}", "its listener is not in the template")
                self.done.add(res.logical_id)
                continue
            region = str(p.get("EndpointGroupRegion"))
            group: dict[str, Any] = {"region": region}
            dial = p.get("TrafficDialPercentage")
            if dial is not None:
                group["traffic_dial"] = _number(dial)
            hc: dict[str, Any] = {}
            interval = _seconds(p.get("HealthCheckIntervalSeconds"))
            if interval is not None:
                hc["interval"] = "10s" if interval <= 10 else "30s"
            threshold = _seconds(p.get("ThresholdCount"))
            if threshold is not None:
                hc["threshold"] = threshold
            proto = p.get("HealthCheckProtocol")
            if proto is not None:
                hc["protocol"] = str(proto)
            if hc:
                group["health_check"] = hc
            eps = []
            for ep in p.subs("EndpointConfigurations"):
                target = self.endpoint_for(self.owner(ep.get("EndpointId")))
                if target is None:
                    self.skip(ep.path("EndpointId"), "not a resource of the template")
                    continue
                entry: dict[str, Any] = {"endpoint": f"endpoint:{target}"}
                w = _seconds(ep.get("Weight"))
                if w is not None:
                    entry["weight"] = w
                eps.append(entry)
            self.done.add(res.logical_id)
            if not eps:
                self.skip(f"Resources.{res.logical_id}", "an endpoint group with no endpoints")
                continue
            group["endpoints"] = eps
            self.listeners[owner.logical_id][1]["endpoint_groups"].append(group)
        for lid, (acc_id, listener) in self.listeners.items():
            self.done.add(lid)
            if listener["endpoint_groups"]:
                self.accels[acc_id]["listeners"].append(listener)
            else:
                self.skip(f"Resources.{lid}", "a listener with no endpoint groups")
        for lid, acc in list(self.accels.items()):
            self.done.add(lid)
            if not acc["listeners"]:
                self.skip(f"Resources.{lid}", "an accelerator with no listeners")
                del self.accels[lid]

    # ---- Route 53 ------------------------------------------------------------------------------
    def _route53(self) -> None:
        for res in self.of_type("AWS::Route53::CidrCollection"):
            p = self.p(res)
            locs = {
                str(loc.get("LocationName")): [str(c) for c in loc.get("CidrList") or []]
                for loc in p.subs("Locations")
            }
            name = self.unique(kebab(str(p.get("Name") or res.logical_id)))
            self.collections[res.logical_id] = {"name": name, "locations": locs}
            self.done.add(res.logical_id)
        for res in self.of_type("AWS::Route53::HostedZone"):
            p = self.p(res)
            if p.get("VPCs"):
                self.skip(
                    f"Resources.{res.logical_id}", "a private hosted zone: users cannot see it"
                )
                self.done.add(res.logical_id)
                continue
            p.skip("HostedZoneConfig", "comments are not modelled")
            p.skip("QueryLoggingConfig", "query logging is not modelled")
            zone = str(p.get("Name")).rstrip(".").lower()
            self.zones.setdefault(zone, {"name": zone, "records": []})
            self.zone_of[res.logical_id] = zone
            self.done.add(res.logical_id)
        pending: list[tuple[Props, Resource]] = []
        for res in self.of_type("AWS::Route53::RecordSet", "AWS::Route53::RecordSetGroup"):
            p = self.p(res)
            if res.type == "AWS::Route53::RecordSet":
                pending.append((p, res))
            else:
                for rs in p.subs("RecordSets"):
                    rs.data.setdefault("HostedZoneId", p.data.get("HostedZoneId"))
                    rs.data.setdefault("HostedZoneName", p.data.get("HostedZoneName"))
                    rs.used.update({"HostedZoneId", "HostedZoneName"})
                    pending.append((rs, res))
                p.get("HostedZoneId")
                p.get("HostedZoneName")
                p.get("Comment")
            self.done.add(res.logical_id)
        for p, res in pending:
            self._record(p, res)
        for res in self.of_type("AWS::Route53::HealthCheck"):
            self._health_check(res)
        self._calculated_children()
        for zone, rec, check, _where in self.records:
            if check is None:
                continue
            if check in self.checks:
                rec["health_check"] = self.checks[check]["name"]
            else:
                self.note(
                    f"record {rec['name']} in {zone}: its health check {check} was skipped, "
                    "so the record has none"
                )

    def _zone_for(self, p: Props, fqdn: str) -> str | None:
        zid = self.owner(p.get("HostedZoneId"))
        if zid is not None and zid.logical_id in self.zone_of:
            return self.zone_of[zid.logical_id]
        zname = p.get("HostedZoneName")
        if isinstance(zname, str) and zname:
            zone = zname.rstrip(".").lower()
            if zone not in self.zones:
                self.zones[zone] = {"name": zone, "records": []}
                self.note(f"hosted zone {zone} is not in the template: created for its records")
            return zone
        best = [z for z in self.zones if fqdn == z or fqdn.endswith("." + z)]
        if p.get("HostedZoneId") is None or not best:
            return None
        return max(best, key=len)

    def _target(self, value: Any) -> str | None:
        """The scenario target a DNS name or address stands for."""
        res = self.owner(value)
        if res is None:
            return None
        if res.logical_id in self.dists:
            return f"cloudfront:{self.dists[res.logical_id]['name']}"
        if res.logical_id in self.accels:
            return f"accelerator:{self.accels[res.logical_id]['name']}"
        if res.logical_id in self.s3_buckets:
            b = self.s3_buckets[res.logical_id]
            accel = "s3-accelerate" in str(value) and b["transfer_acceleration"]
            return f"{'s3-accelerate' if accel else 's3'}:{b['name']}"
        endpoint = self.endpoint_for(res)
        return f"endpoint:{endpoint}" if endpoint is not None else None

    def _record(self, p: Props, res: Resource) -> None:
        raw_name = str(p.get("Name") or "").replace("\\052", "*")
        fqdn = raw_name.rstrip(".").lower()
        where = p.path()
        zone = self._zone_for(p, fqdn)
        if zone is None:
            self.skip(where, f"record {fqdn}: its hosted zone is not in the template")
            return
        if fqdn == zone:
            label = "@"
        elif fqdn.endswith("." + zone):
            label = fqdn[: -len(zone) - 1]
        else:
            self.skip(where, f"record {fqdn} is not inside zone {zone}")
            return
        rtype = str(p.get("Type") or "A")
        if rtype not in RECORD_TYPES:
            self.skip(where, f"record type {rtype} is not modelled")
            return
        if rtype == "NS" and label == "@":
            self.skip(where, "the apex NS record is Route 53's own")
            return
        rec: dict[str, Any] = {"name": label}
        alias = p.sub("AliasTarget")
        if alias.data:
            dns = str(alias.get("DNSName") or "")
            alias.get("HostedZoneId")
            target = self._target(dns)
            if target is None:
                other = dns.rstrip(".").lower()
                if other == zone or other.endswith("." + zone):
                    target = "record:" + ("@" if other == zone else other[: -len(zone) - 1])
            if target is None:
                self.skip(where, f"alias target '{dns}' is not a resource of the template")
                return
            if rtype != "A":
                rec["type"] = rtype
            rec["alias"] = target
            eth = alias.get("EvaluateTargetHealth")
            if eth is not None:
                if target.startswith("cloudfront:") and _bool(eth):
                    self.note(
                        f"{label}.{zone}: EvaluateTargetHealth is false for a CloudFront alias"
                    )
                    rec["evaluate_target_health"] = False
                else:
                    rec["evaluate_target_health"] = _bool(eth)
            p.skip("TTL", "an alias has no TTL of its own")
        else:
            values = [str(v) for v in p.get("ResourceRecords") or []]
            if not values:
                self.skip(where, "a record with neither AliasTarget nor ResourceRecords")
                return
            targets = [self._target(v) for v in values]
            if (
                rtype in ("A", "AAAA")
                and targets[0] is not None
                and targets[0].startswith("endpoint:")
            ):
                if rtype != "A":
                    rec["type"] = rtype
                rec["values"] = [targets[0]]
            elif rtype == "CNAME" and targets[0] is not None:
                rec["alias"] = targets[0]
                self.note(
                    f"{label}.{zone}: CNAME to {values[0]} became an alias to {targets[0]} "
                    "(AWS-owned names are not in the scenario's DNS)"
                )
            else:
                if rtype != "A":
                    rec["type"] = rtype
                rec["values"] = [_zone_value(rtype, v) for v in values]
            ttl = _seconds(p.get("TTL"))
            if ttl is not None and "alias" not in rec:
                rec["ttl"] = duration(ttl)
        self._policy(p, rec, where)
        check = self.owner(p.get("HealthCheckId"))
        if p.get("HealthCheckId") is not None and check is None:
            self.skip(p.path("HealthCheckId"), "the health check is not in the template")
        self.zones[zone]["records"].append(rec)
        self.records.append((zone, rec, check.logical_id if check is not None else None, p.loc))

    def _policy(self, p: Props, rec: dict[str, Any], where: str) -> None:
        set_id = p.get("SetIdentifier")
        if set_id is not None:
            rec["set"] = str(set_id)
        if p.get("Weight") is not None:
            rec.update(policy="weighted", weight=_seconds(p.get("Weight")))
        elif p.get("Region") is not None:
            rec.update(policy="latency", region=str(p.get("Region")))
        elif p.get("Failover") is not None:
            rec.update(policy="failover", failover=str(p.get("Failover")).lower())
        elif p.data.get("GeoLocation"):
            geo = p.sub("GeoLocation")
            rec["policy"] = "geolocation"
            for key, field_name in (
                ("ContinentCode", "continent"),
                ("CountryCode", "country"),
                ("SubdivisionCode", "subdivision"),
            ):
                if geo.get(key) is not None:
                    rec[field_name] = str(geo.get(key))
        elif p.data.get("GeoProximityLocation"):
            geo = p.sub("GeoProximityLocation")
            rec["policy"] = "geoproximity"
            where_to = geo.get("AWSRegion") or geo.get("LocalZoneGroup")
            coords = geo.sub("Coordinates")
            if where_to is not None:
                rec["location"] = str(where_to)
            elif coords.data:
                rec["lat"] = float(coords.get("Latitude"))
                rec["lon"] = float(coords.get("Longitude"))
            bias = _seconds(geo.get("Bias"))
            if bias:
                rec["bias"] = bias
        elif _bool(p.get("MultiValueAnswer", False)):
            rec["policy"] = "multivalue"
        elif p.data.get("CidrRoutingConfig"):
            cidr = p.sub("CidrRoutingConfig")
            col = self.owner(cidr.get("CollectionId"))
            if col is None or col.logical_id not in self.collections:
                self.skip(where, "its CIDR collection is not in the template")
                return
            rec.update(
                policy="ip",
                collection=self.collections[col.logical_id]["name"],
                cidr_location=str(cidr.get("LocationName", "*")),
            )
        p.get("MultiValueAnswer")
        if rec.get("policy") is None and "set" in rec:
            self.skip(p.path("SetIdentifier"), "a set identifier without a routing policy")
            del rec["set"]

    def _check_target(self, cfg: Props) -> str | None:
        for key in ("FullyQualifiedDomainName", "IPAddress"):
            value = cfg.get(key)
            if value is None:
                continue
            target = self._target(value)
            if target is None:
                fqdn = str(value).rstrip(".").lower()
                for zone, rec, _c, _w in self.records:
                    name = zone if rec["name"] == "@" else f"{rec['name']}.{zone}"
                    if name == fqdn and rec.get("alias", "").startswith("endpoint:"):
                        target = rec["alias"]
                    elif name == fqdn and rec.get("values", [""])[0].startswith("endpoint:"):
                        target = rec["values"][0]
            if target is not None and target.startswith("endpoint:"):
                return target
        return None

    def _health_check(self, res: Resource) -> None:
        self.done.add(res.logical_id)
        cfg = self.p(res).sub("HealthCheckConfig")
        kind = str(cfg.get("Type"))
        where = f"Resources.{res.logical_id}"
        if kind not in CHECK_TYPES:
            self.skip(where, f"health checks of type {kind} are not modelled")
            return
        check: dict[str, Any] = {
            "name": self.unique(kebab(res.logical_id)),
            "type": CHECK_TYPES[kind],
        }
        if kind.endswith("STR_MATCH"):
            self.note(
                f"{res.logical_id}: {kind} is checked as {CHECK_TYPES[kind]} (no string match)"
            )
        if kind == "CALCULATED":
            check["children"] = [str(c) for c in cfg.get("ChildHealthChecks") or []]
            threshold = _seconds(cfg.get("HealthThreshold"))
            if threshold is not None:
                check["threshold"] = threshold
        else:
            target = self._check_target(cfg)
            if target is None:
                addr = cfg.data.get("FullyQualifiedDomainName") or cfg.data.get("IPAddress")
                self.skip(where, f"its target '{addr}' is not an endpoint of the template")
                return
            check["target"] = target
        interval = _seconds(cfg.get("RequestInterval"))
        if interval is not None:
            check["interval"] = "10s" if interval <= 10 else "30s"
        threshold = _seconds(cfg.get("FailureThreshold"))
        if threshold is not None:
            check["failure_threshold"] = threshold
        regions = cfg.get("Regions")
        if isinstance(regions, list):
            from edgesim.route53.health import CHECKER_REGIONS

            known = [str(r) for r in regions if r in CHECKER_REGIONS]
            if len(known) >= 3:
                check["regions"] = known
            else:
                self.skip(cfg.path("Regions"), "fewer than 3 checker regions: all 8 are used")
        for key, field_name in (("Inverted", "inverted"), ("Disabled", "disabled")):
            if cfg.get(key) is not None and _bool(cfg.get(key)):
                check[field_name] = True
        cfg.skip("InsufficientDataHealthStatus", "alarm checks are not read from templates")
        cfg.skip("AlarmIdentifier", "alarm checks are not read from templates")
        self.checks[res.logical_id] = check

    def _calculated_children(self) -> None:
        """Calculated checks' children by name; a check left without children is skipped
        (and so on up, for calculated checks of calculated checks)."""
        kids: dict[str, list[str]] = {}
        for lid, check in self.checks.items():
            if check["type"] != "calculated":
                continue
            kids[lid] = []
            for child in check["children"]:
                owner = self.t.owner(child)
                if owner is not None and owner in self.checks and owner != lid:
                    kids[lid].append(owner)
                else:
                    self.note(f"{lid}: child check {child} was skipped or is unknown")
        changed = True
        while changed:
            changed = False
            for lid, children in kids.items():
                if lid not in self.checks:
                    continue
                children[:] = [c for c in children if c in self.checks]
                if not children:
                    self.skip(f"Resources.{lid}", "a calculated check with no modelled children")
                    del self.checks[lid]
                    changed = True
        for lid, children in kids.items():
            if lid in self.checks:
                self.checks[lid]["children"] = [self.checks[c]["name"] for c in children]

    # ---- generated traffic --------------------------------------------------------------------
    def _final(self, zone: str, rec: dict[str, Any]) -> str | None:
        seen: set[str] = set()
        while True:
            target = rec.get("alias") or (rec.get("values") or [""])[0]
            if not target.startswith("record:"):
                return target if ":" in target and not target[0].isdigit() else None
            label = target.removeprefix("record:")
            if label in seen:
                return None
            seen.add(label)
            nxt = next(
                (
                    r
                    for r in self.zones[zone]["records"]
                    if r["name"] == label and r.get("type", "A") == rec.get("type", "A")
                ),
                None,
            )
            if nxt is None:
                return None
            rec = nxt

    def _workloads(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        hosts: set[str] = set()
        reached: set[str] = set()
        cacheable = [0]

        def add(w: dict[str, Any]) -> None:
            if "objects" in w:
                if cacheable[0] >= 16:
                    return
                cacheable[0] += 1
            base = re.sub(r"[^A-Za-z0-9._-]+", "-", w["name"]).strip("-._") or "w"
            names = {x["name"] for x in out}
            name, n = base, 2
            while name in names:
                name, n = f"{base}-{n}", n + 1
            out.append({**w, "name": name})

        def for_target(label: str, host: str, target: str, direct: bool) -> None:
            kind, _, tname = target.partition(":")
            extra = {"target": target} if direct else {}
            if kind == "cloudfront":
                dist = next(d for d in self.dists.values() if d["name"] == tname)
                policy = dist.get("cache_policy")
                if policy == "CachingDisabled":
                    add({"name": label, "host": host, **extra, "size": "4KB"})
                else:
                    add({"name": label, "host": host, **extra, **_static()})
                if target in reached:
                    return
                reached.add(target)
                for b in dist.get("behaviors", []):
                    prefix = _prefix(b["path"])
                    if prefix is None:
                        self.note(f"{tname}: no workload for behaviour {b['path']} (not a prefix)")
                        continue
                    slug = prefix.strip("/").replace("/", "-") or "root"
                    w = {"name": f"{label}-{slug}", "host": host, **extra, "path_prefix": prefix}
                    pol = b.get("cache_policy")
                    if pol == "CachingDisabled" or (
                        isinstance(pol, dict) and pol.get("max_ttl") == "0s"
                    ):
                        method = "POST" if b.get("allowed_methods", "ALL") == "ALL" else "GET"
                        w.update(method=method, size="2KB")
                        if method == "POST":
                            w["upload_size"] = "1KB"
                    else:
                        w.update(_static())
                    add(w)
            elif kind == "s3-accelerate" or kind == "s3":
                add({"name": label, "host": host, **extra, "method": "PUT", "upload_size": "20MB"})
            else:
                reached.add(target)
                add(
                    {
                        "name": label,
                        "host": host,
                        **extra,
                        "method": "POST",
                        "size": "2KB",
                        "upload_size": "1KB",
                    }
                )

        for zone, z in self.zones.items():
            for rec in z["records"]:
                if rec.get("type", "A") not in ("A", "AAAA"):
                    continue
                host = zone if rec["name"] == "@" else f"{rec['name']}.{zone}"
                if host in hosts or "*" in host:
                    continue
                target = self._final(zone, rec)
                if target is None or target in reached:
                    continue
                hosts.add(host)
                label = "apex" if rec["name"] == "@" else rec["name"].split(".")[0]
                for_target(label, host, target, direct=False)
        for lid, dist in self.dists.items():
            target = f"cloudfront:{dist['name']}"
            if target in reached:
                continue
            aliases = self.dist_res[lid].data.get("Aliases") or []
            domain = self.t.getatt(lid, "DomainName", ())
            host = str(aliases[0]) if aliases else str(domain)
            for_target(dist["name"], host, target, direct=True)
        for lid, acc in self.accels.items():
            target = f"accelerator:{acc['name']}"
            if target not in reached:
                host = str(self.t.getatt(lid, "DnsName", ()))
                for_target(acc["name"], host, target, direct=True)
        for b in self.s3_buckets.values():
            kind = "s3-accelerate" if b["transfer_acceleration"] else "s3"
            host = (
                f"{b['name']}.s3-accelerate.amazonaws.com"
                if b["transfer_acceleration"]
                else f"{b['name']}.s3.{b['region']}.amazonaws.com"
            )
            add(
                {
                    "name": f"upload-{b['name']}",
                    "host": host,
                    "target": f"{kind}:{b['name']}",
                    "method": "PUT",
                    "upload_size": "20MB",
                }
            )
        if not out and self.endpoints:
            first = next(iter(self.endpoints))
            for_target(first, f"{first}.example.com", f"endpoint:{first}", direct=True)
        return out

    def _scenario(self, workloads: list[dict[str, Any]]) -> dict[str, Any]:
        desc = self.t.data.get("Description")
        scn: dict[str, Any] = {
            "edgesim": 1,
            "name": self.name or f"{self.t.stack_name} (imported from CloudFormation)",
        }
        if isinstance(desc, str) and desc.strip():
            scn["description"] = " ".join(desc.split())
        scn.update(
            world=self.world,
            seed=1,
            duration="30m",
            interval="1m",
            warmup="2m",
            clients=[
                {
                    "name": "users",
                    "metros": "top-50",
                    "requests_per_second": 200,
                    "profile": "diurnal",
                }
            ],
            workloads=workloads,
        )
        if self.endpoints:
            scn["endpoints"] = list(self.endpoints.values())
        if self.s3_buckets:
            scn["s3"] = {"buckets": list(self.s3_buckets.values())}
        if self.dists:
            scn["cloudfront"] = {"distributions": list(self.dists.values())}
        if self.accels:
            scn["accelerators"] = list(self.accels.values())
        zones = [z for z in self.zones.values() if z["records"]]
        for z in self.zones.values():
            if not z["records"]:
                self.note(f"hosted zone {z['name']} has no records that could be converted")
        if zones:
            r53: dict[str, Any] = {"zones": zones}
            if self.checks:
                r53["health_checks"] = list(self.checks.values())
            if self.collections:
                r53["cidr_collections"] = list(self.collections.values())
            scn["route53"] = r53
        return scn


def _logical(where: str) -> str:
    """The logical ID in a path ``Resources.X.…`` or ``Resources.X (Type)``."""
    parts = where.split(".")
    return parts[1].split(" ")[0] if len(parts) > 1 and parts[0] == "Resources" else ""


def _static() -> dict[str, Any]:
    return {
        "objects": {"count": 10_000, "size": "lognormal(median=40KB, sigma=1.2)"},
        "cache_control": "max-age=86400",
    }


def _prefix(pattern: str) -> str | None:
    """A URL prefix that a path pattern matches (``/api/*`` → ``/api/``)."""
    head = re.split(r"[*?]", pattern, maxsplit=1)[0]
    if not head.startswith("/"):
        head = "/" + head
    return head if head.endswith("/") and len(head) > 1 else None


def _zone_value(rtype: str, value: str) -> str:
    """A template value in zone-file syntax: host names absolute (a trailing dot)."""
    if rtype in ("CNAME", "NS"):
        return value.rstrip(".") + "."
    if rtype in ("MX", "SRV"):
        parts = value.split()
        if parts:
            parts[-1] = parts[-1].rstrip(".") + "."
        return " ".join(parts)
    return value
