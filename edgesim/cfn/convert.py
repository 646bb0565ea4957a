"""Turn an evaluated CloudFormation template into a scenario (``edgesim: 1``).

Each resource type edgesim models becomes part of a service section (docs/cloudformation.md
lists every conversion); everything else, and every property that has no counterpart, is listed
as skipped with the reason. CloudFormation describes no users, so ``clients`` and ``workloads``
are generated defaults, marked "edit me".
"""

from __future__ import annotations

import difflib
import functools
import importlib
import re
from dataclasses import dataclass, field
from typing import Any, Final, Protocol, cast

from edgesim.cfn.evaluate import Loc, Resource, Template, region_in
from edgesim.cfn.yamlout import dump_scenario
from edgesim.yamlio import format_loc

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


CONVERTERS: Final = (
    "edgesim.services.endpoints.cfn",
    "edgesim.services.s3.cfn",
    "edgesim.cfn.cloudfront",
    "edgesim.services.accelerator.cfn",
    "edgesim.cfn.route53",
    "edgesim.services.ssm.cfn",
)
"""The resource converters, in conversion order (compute first: the others refer to it).
Each module has ``RESOURCE_TYPES`` (what it converts) and ``convert(conv)``; adding one is a
module and a line here."""


class ResourceConverter(Protocol):
    RESOURCE_TYPES: tuple[str, ...]

    def convert(self, conv: Converter) -> None: ...


@functools.cache
def converter_modules() -> tuple[ResourceConverter, ...]:
    return tuple(cast(ResourceConverter, importlib.import_module(name)) for name in CONVERTERS)


def resource_types() -> dict[str, str]:
    """Every resource type a converter handles → the converter module."""
    return {
        t: name
        for name, m in zip(CONVERTERS, converter_modules(), strict=True)
        for t in m.RESOURCE_TYPES
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
    tool: str = "CloudFormation"
    """What the source is written in: ``CloudFormation`` or ``Terraform``."""

    def header(self) -> list[str]:
        out = [
            f"Imported from {self.source} by `edgesim import {self.tool.lower()}`.",
            f"EDIT ME: {self.tool} describes no users, so `clients` and `workloads` are",
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
        return dump_scenario(self.scenario, self.header())


def kebab(logical_id: str) -> str:
    """``ApiUse1Function`` → ``api-use1-function`` (a scenario name)."""
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", logical_id)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1-\2", s)
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", s).strip("-._").lower()
    return s or "x"


def seconds(value: Any) -> int | None:
    try:
        return int(float(str(value)))
    except (TypeError, ValueError):
        return None


def number(value: Any) -> int | float:
    f = float(str(value))
    return int(f) if f.is_integer() else f


def duration(seconds: int) -> str:
    """Seconds as a scenario duration in the largest exact unit (``604800`` → ``7d``)."""
    for unit, size in (("d", 86400), ("h", 3600)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def as_bool(value: Any) -> bool:
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
        self.placeholders: dict[str, str] = {}
        """Outside value (ARN, address, host) → the placeholder endpoint standing for it."""
        self.collections: dict[str, dict[str, Any]] = {}
        self.sections: dict[str, Any] = {}
        """Sections contributed by services' own converters (Systems Manager's ``ssm``)."""

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
        for module in converter_modules():
            module.convert(self)
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
        known = [*resource_types(), *FRONT_TYPES, *LINK_TYPES]
        close = difflib.get_close_matches(res.type, known, n=1, cutoff=0.85)
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

    # ---- endpoints (what compute converters create) ----------------------------------------
    def add_endpoint(self, res: Resource, spec: dict[str, Any]) -> str:
        name = self.unique(kebab(res.logical_id))
        region = self.region_of(res)
        hint = self.hints.get(res.logical_id)
        if hint is not None and hint[0] != self.t.region:
            self.note(f"{res.logical_id} runs in {region}: the Region of {hint[1]}")
        self.endpoints[name] = {"name": name, "site": f"region:{region}", **spec}
        self.endpoint_of[res.logical_id] = name
        self.done.add(res.logical_id)
        return name

    def placeholder(self, value: str, region: str, where: str) -> str:
        """An endpoint standing for something the template names but does not define (an ARN
        of a load balancer in another stack, an IP address, an outside host name), in the
        Region its ARN or host name gives (else ``region``): one per distinct value."""
        value = value.strip()
        if value in self.placeholders:
            return self.placeholders[value]
        region = region_in(value) or region or self.t.region
        name = self.unique(kebab(_placeholder_name(value)))
        self.endpoints[name] = {
            "name": name,
            "site": f"region:{region}",
            "service_time": "lognormal(median=20ms, sigma=0.5)",
        }
        self.placeholders[value] = name
        self.note(
            f"{where}: '{value}' is not in the template: a placeholder endpoint '{name}' in "
            f"{region} (16 servers, 20 ms) stands for it — edit me"
        )
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
            return self.add_endpoint(back, {"service_time": "lognormal(median=20ms, sigma=0.5)"})
        return None

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
        if self.checks and not zones:
            self.note(
                f"{len(self.checks)} health check(s) not written: a scenario's health checks "
                "belong to its Route 53 section, which needs a hosted zone with records"
            )
        if zones:
            r53: dict[str, Any] = {"zones": zones}
            if self.checks:
                r53["health_checks"] = list(self.checks.values())
            if self.collections:
                r53["cidr_collections"] = list(self.collections.values())
            scn["route53"] = r53
        scn.update(self.sections)
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


def _placeholder_name(value: str) -> str:
    """A readable name for an outside resource: ``…:loadbalancer/app/checkout/50dc…`` →
    ``checkout``; ``api.example.org`` → ``api-example-org``; ``i-0abc`` → ``i-0abc``."""
    if value.startswith("arn:"):
        resource = value.split(":", 5)[-1]
        parts = [p for p in re.split(r"[/:]", resource) if p]
        if len(parts) >= 3 and parts[0] == "loadbalancer":
            return parts[2]  # loadbalancer/app|net/NAME/id
        return parts[-1] if len(parts) == 1 else parts[1]
    return value.replace(".", "-")
