"""Terraform JSON (``terraform show -json``, plan or state) → a CloudFormation template.

edgesim's CloudFormation importer already maps every AWS resource type it models onto a
scenario (docs/cloudformation.md). Terraform's AWS provider describes the same AWS resources
with other names (``aws_route53_record`` for ``AWS::Route53::RecordSet``, snake_case
attributes, nested blocks as lists), so this module rewrites each Terraform resource as the
equivalent CloudFormation resource and lets the one converter do the rest: a Route 53 record
imported from Terraform and one imported from CloudFormation become the same scenario record.

I/O-free: it takes the parsed JSON and returns a template dict plus what it could not map.

References. Terraform's output holds values, not references: a record's ``zone_id`` is the
zone's ID string. Every value that equals an identifying attribute of another resource in the
same document (an ID, an ARN, a domain name, …) becomes the CloudFormation reference to that
resource (``Ref`` or ``Fn::GetAtt``), so the converter can follow it. In a plan, values
computed at apply time are unknown; there the ``configuration`` section's expression
references (``aws_cloudfront_distribution.cdn.domain_name``) stand in for them.

Regions. From the resource's own ``region`` attribute (AWS provider 6), its ARN, its
Availability Zone, or (plans) the region of the provider configuration it uses; otherwise the
importer's ``--region``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from edgesim.errors import InputError, Problem

#: CloudFormation attribute (None: ``Ref``) each Terraform attribute of a resource type
#: identifies, so that a value equal to it elsewhere becomes a reference.
_IDENTITY: dict[str, dict[str, str | None]] = {
    "aws_route53_zone": {"zone_id": None, "id": None},
    "aws_route53_health_check": {"id": None},
    "aws_route53_cidr_collection": {"id": None},
    "aws_cloudfront_distribution": {"domain_name": "DomainName", "id": None, "arn": None},
    "aws_cloudfront_cache_policy": {"id": None},
    "aws_cloudfront_origin_request_policy": {"id": None},
    "aws_globalaccelerator_accelerator": {"id": None, "arn": None, "dns_name": "DnsName"},
    "aws_globalaccelerator_listener": {"id": None, "arn": None},
    "aws_lb": {"arn": None, "id": None, "dns_name": "DNSName"},
    "aws_alb": {"arn": None, "id": None, "dns_name": "DNSName"},
    "aws_lb_listener": {"arn": None, "id": None},
    "aws_alb_listener": {"arn": None, "id": None},
    "aws_lb_target_group": {"arn": None, "id": None},
    "aws_alb_target_group": {"arn": None, "id": None},
    "aws_instance": {"id": None, "public_ip": "PublicIp", "public_dns": "PublicDnsName"},
    "aws_eip": {"id": None, "allocation_id": None, "public_ip": None},
    "aws_ecs_service": {"id": None, "arn": None},
    "aws_ecs_task_definition": {"arn": None, "id": None},
    "aws_lambda_function": {
        "function_name": None,
        "arn": "Arn",
        "qualified_arn": "Arn",
        "invoke_arn": "Arn",
    },
    "aws_lambda_function_url": {"function_url": "FunctionUrl"},
    "aws_s3_bucket": {
        "bucket": None,
        "id": None,
        "arn": "Arn",
        "bucket_domain_name": "DomainName",
        "bucket_regional_domain_name": "RegionalDomainName",
        "website_endpoint": "WebsiteURL",
    },
    "aws_elastic_beanstalk_environment": {"cname": "EndpointURL", "name": None, "id": None},
    "aws_autoscaling_group": {"name": None, "id": None, "arn": None},
    "aws_ssm_maintenance_window": {"id": None},
    "aws_ssm_maintenance_window_target": {"id": None},
    "aws_ssm_document": {"name": None, "arn": None},
    "aws_appconfig_application": {"id": None, "arn": None},
}

#: Resource types that become endpoints (they keep the plain Terraform name).
_COMPUTE = {
    "aws_lambda_function",
    "aws_ecs_service",
    "aws_instance",
    "aws_autoscaling_group",
    "aws_elastic_beanstalk_environment",
}

#: Terraform resource types that only add to another resource (merged into it).
_MERGED = {"aws_s3_bucket_accelerate_configuration", "aws_route53_cidr_location"}

_ARN_REGION = re.compile(r"^arn:aws[\w-]*:[\w-]+:([a-z]{2}(?:-gov)?-[a-z]+-\d):")
_AZ = re.compile(r"^([a-z]{2}(?:-gov)?-[a-z]+-\d)[a-z]$")
_HOST_REGION = re.compile(r"\.([a-z]{2}(?:-gov)?-[a-z]+-\d)\.")


@dataclass
class TfResource:
    """One resource instance of the document."""

    address: str
    """``aws_route53_record.www``, ``module.cdn.aws_cloudfront_distribution.this[0]``."""
    type: str
    values: dict[str, Any]
    where: str
    """Its place in the JSON document, for messages."""
    config_key: str = ""
    """The configuration address (``module.cdn.aws_cloudfront_distribution.this``)."""
    provider_key: str = ""
    logical_id: str = ""


@dataclass
class Translation:
    """The template, which logical ID is which Terraform address, and what was left out."""

    template: dict[str, Any]
    address_of: dict[str, str]
    type_of: dict[str, str] = field(default_factory=dict)
    """Logical ID → Terraform resource type."""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    kind: str = "state"


# ---- reading the document --------------------------------------------------------------------
def document_kind(doc: Any, file: str | None) -> str:
    """``plan``, ``state`` (``terraform show -json``) or ``tfstate`` (a raw state file, v4)."""
    if isinstance(doc, dict):
        if "planned_values" in doc or "resource_changes" in doc:
            return "plan"
        if "values" in doc and "format_version" in doc:
            return "state"
        if isinstance(doc.get("resources"), list) and "terraform_version" in doc:
            return "tfstate"
    raise InputError.single(
        "not the JSON of a Terraform plan or state",
        file=file,
        expected=(
            "the output of `terraform show -json` (a state, with 'values', or a saved plan, "
            "`terraform show -json PLANFILE`, with 'planned_values'), or a terraform.tfstate "
            "file (version 4)"
        ),
    )


def _modules(mod: Any, where: str) -> Iterator[tuple[dict[str, Any], str]]:
    if not isinstance(mod, dict):
        return
    yield mod, where
    for i, child in enumerate(mod.get("child_modules") or []):
        yield from _modules(child, f"{where}.child_modules[{i}]")


def _strip_index(address: str) -> str:
    return re.sub(r"\[[^\]]*\]$", "", address)


def resources_of(doc: dict[str, Any], kind: str) -> list[TfResource]:
    out: list[TfResource] = []
    if kind in ("state", "plan"):
        top = "planned_values" if kind == "plan" else "values"
        root = (doc.get(top) or {}).get("root_module")
        for mod, where in _modules(root, f"{top}.root_module"):
            for i, r in enumerate(mod.get("resources") or []):
                if not isinstance(r, dict) or not isinstance(r.get("type"), str):
                    continue
                address = str(r.get("address") or f"{r.get('type')}.{r.get('name')}")
                values = r.get("values") if isinstance(r.get("values"), dict) else {}
                prefix = "data." if r.get("mode") == "data" else ""
                if prefix and not address.startswith("data.") and "data." not in address:
                    address = prefix + address
                out.append(
                    TfResource(
                        address,
                        r["type"],
                        dict(values or {}),
                        f"{where}.resources[{i}]",
                        config_key=_strip_index(address),
                    )
                )
    else:  # a raw terraform.tfstate (version 4)
        for i, r in enumerate(doc.get("resources") or []):
            if not isinstance(r, dict) or not isinstance(r.get("type"), str):
                continue
            mod_prefix = f"{r['module']}." if r.get("module") else ""
            data = "data." if r.get("mode") == "data" else ""
            base = f"{mod_prefix}{data}{r['type']}.{r.get('name')}"
            provider = str(r.get("provider") or "")
            for j, inst in enumerate(r.get("instances") or []):
                if not isinstance(inst, dict):
                    continue
                key = inst.get("index_key")
                suffix = (
                    "" if key is None else (f"[{key}]" if isinstance(key, int) else f'["{key}"]')
                )
                attrs = inst.get("attributes")
                out.append(
                    TfResource(
                        base + suffix,
                        r["type"],
                        dict(attrs) if isinstance(attrs, dict) else {},
                        f"resources[{i}].instances[{j}]",
                        config_key=base,
                        provider_key=provider,
                    )
                )
    return out


def _config_index(doc: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Plans: configuration address → expressions, and provider key → its region."""
    exprs: dict[str, dict[str, Any]] = {}
    regions: dict[str, str] = {}
    conf = doc.get("configuration")
    if not isinstance(conf, dict):
        return exprs, regions
    for key, pc in (conf.get("provider_config") or {}).items():
        if isinstance(pc, dict):
            region = ((pc.get("expressions") or {}).get("region") or {}).get("constant_value")
            if isinstance(region, str):
                regions[str(key)] = region

    def walk(mod: Any, prefix: str) -> None:
        if not isinstance(mod, dict):
            return
        for r in mod.get("resources") or []:
            if isinstance(r, dict) and r.get("address"):
                exprs[prefix + str(r["address"])] = {
                    "expressions": r.get("expressions") or {},
                    "provider": str(r.get("provider_config_key") or ""),
                }
        for name, call in (mod.get("module_calls") or {}).items():
            if isinstance(call, dict):
                walk(call.get("module"), f"{prefix}module.{name}.")

    walk(conf.get("root_module"), "")
    return exprs, regions


# ---- the translation -------------------------------------------------------------------------
def _camel(text: str) -> str:
    parts = re.split(r"[^A-Za-z0-9]+", text)
    out = "".join(p[:1].upper() + p[1:] for p in parts if p) or "Resource"
    return "R" + out if out[0].isdigit() else out


def _logical_ids(resources: list[TfResource]) -> None:
    """Each resource's logical ID: its Terraform name (and index) in CamelCase, so scenario
    names follow the user's (``aws_lambda_function.api_use1`` → ``ApiUse1`` → endpoint
    ``api-use1``); the type is added where two resources share a name."""

    def short(r: TfResource) -> str:
        tail = r.address.split(f"{r.type}.", 1)[-1]
        return _camel(tail)

    counts: dict[str, int] = {}
    for r in resources:
        counts[short(r)] = counts.get(short(r), 0) + 1
    used: set[str] = set()
    # where names clash, compute (what becomes an endpoint) keeps the plain name
    ordered = sorted(resources, key=lambda r: r.type not in _COMPUTE)
    for r in ordered:
        base = short(r)
        if counts[base] > 1 and (r.type not in _COMPUTE or _camel(base) in used):
            base = _camel(r.type.removeprefix("aws_")) + base
        lid, n = base, 2
        while lid in used:
            lid, n = f"{base}{n}", n + 1
        used.add(lid)
        r.logical_id = lid


def _first(block: Any) -> dict[str, Any]:
    """A nested block (a list of one object in Terraform's JSON) as a mapping."""
    if isinstance(block, list) and block and isinstance(block[0], dict):
        return block[0]
    return block if isinstance(block, dict) else {}


def _blocks(block: Any) -> list[dict[str, Any]]:
    if isinstance(block, list):
        return [b for b in block if isinstance(b, dict)]
    return [block] if isinstance(block, dict) else []


def _set(out: dict[str, Any], key: str, value: Any) -> None:
    """Set a property unless Terraform left it empty (null, "", [] or {})."""
    if value is None or value == "" or value == [] or value == {}:
        return
    out[key] = value


class _Translator:
    def __init__(self, doc: dict[str, Any], kind: str, default_region: str) -> None:
        self.kind = kind
        self.default_region = default_region
        self.resources = resources_of(doc, kind)
        self.exprs, self.provider_regions = _config_index(doc)
        _logical_ids(self.resources)
        self.by_address = {r.address: r for r in self.resources}
        self.by_config: dict[str, TfResource] = {}
        for r in self.resources:
            self.by_config.setdefault(r.config_key, r)
        self.identity: dict[str, tuple[str, str | None]] = {}
        for r in self.resources:
            for attr, cfn_attr in _IDENTITY.get(r.type, {}).items():
                v = r.values.get(attr)
                if isinstance(v, str) and v and v not in self.identity:
                    self.identity[v] = (r.logical_id, cfn_attr)
        self.skipped: list[tuple[str, str]] = []
        self.notes: list[str] = []
        self.current: TfResource | None = None

    # references
    def _reference(self, lid: str, cfn_attr: str | None) -> Any:
        return {"Ref": lid} if cfn_attr is None else {"Fn::GetAtt": [lid, cfn_attr]}

    def _config_ref(self, path: tuple[str | int, ...]) -> Any:
        """A plan's configuration reference for an attribute whose value is unknown."""
        res = self.current
        if res is None:
            return None
        node: Any = self.exprs.get(res.config_key, {}).get("expressions", {})
        for step in path:
            if isinstance(step, int):
                node = node[step] if isinstance(node, list) and step < len(node) else None
            else:
                node = node.get(step) if isinstance(node, dict) else None
            if node is None:
                return None
        refs = node.get("references") if isinstance(node, dict) else None
        for ref in refs or []:
            ref = str(ref)
            prefix = (
                res.config_key.rsplit(res.type + ".", 1)[0] if "module." in res.config_key else ""
            )
            # "aws_lb.main.dns_name" → resource "aws_lb.main", attribute "dns_name"
            pieces = ref.split(".")
            for cut in range(len(pieces), 1, -1):
                target = self.by_config.get(prefix + ".".join(pieces[:cut]))
                if target is None:
                    target = self.by_config.get(".".join(pieces[:cut]))
                if target is not None:
                    attr = pieces[cut] if cut < len(pieces) else "id"
                    cfn = _IDENTITY.get(target.type, {})
                    if attr in cfn:
                        return self._reference(target.logical_id, cfn[attr])
                    return {"Ref": target.logical_id}
        return None

    def v(self, values: dict[str, Any], key: str, path: tuple[str | int, ...] = ()) -> Any:
        """A value, as a reference when it identifies another resource."""
        value = values.get(key)
        if value is None and self.kind == "plan":
            return self._config_ref((*path, key))
        return self.ref(value)

    def ref(self, value: Any) -> Any:
        if isinstance(value, str) and value in self.identity:
            lid, attr = self.identity[value]
            if self.current is None or lid != self.current.logical_id:
                return self._reference(lid, attr)
        if isinstance(value, str) and value.startswith("https://"):
            host = value.split("/")[2] if value.count("/") >= 2 else ""
            for known, (lid, attr) in self.identity.items():
                if attr == "FunctionUrl" and known.split("/")[2:3] == [host]:
                    return self._reference(lid, attr)
        if isinstance(value, str):  # a Lambda function URL's host as an origin's domain
            for known, (lid, attr) in self.identity.items():
                if (
                    attr == "FunctionUrl"
                    and known.startswith("https://")
                    and (known.split("/")[2] == value)
                ):
                    return {"Fn::Select": [2, {"Fn::Split": ["/", self._reference(lid, attr)]}]}
        return value

    def region(self, r: TfResource) -> str:
        vals = r.values
        if isinstance(vals.get("region"), str) and vals["region"]:
            return str(vals["region"])
        for key in ("arn", "id"):
            m = _ARN_REGION.match(str(vals.get(key) or ""))
            if m:
                return m.group(1)
        zones = vals.get("availability_zones")
        zone = zones[0] if isinstance(zones, list) and zones else vals.get("availability_zone")
        m = _AZ.match(str(zone or ""))
        if m:
            return m.group(1)
        for key in ("dns_name", "bucket_regional_domain_name", "function_url"):
            m = _HOST_REGION.search(str(vals.get(key) or ""))
            if m:
                return m.group(1)
        provider = self.exprs.get(r.config_key, {}).get("provider") or r.provider_key
        alias = re.search(r'provider\["[^"]+"\]\.(\w+)$', provider)
        key = f"aws.{alias.group(1)}" if alias else provider
        return self.provider_regions.get(key) or self.provider_regions.get("aws") or ""

    def run(self) -> dict[str, Any]:
        resources: dict[str, Any] = {}
        merged = {r.address: r for r in self.resources if r.type in _MERGED}
        for r in self.resources:
            if r.type in _MERGED:
                continue
            self.current = r
            handler = _HANDLERS.get(r.type)
            if handler is None:
                if r.type.startswith("aws_"):
                    self.skipped.append(
                        (r.address, f"{r.type} is not a resource type edgesim models")
                    )
                else:
                    self.skipped.append(
                        (r.address, f"{r.type}: not an AWS resource (provider not modelled)")
                    )
                continue
            cfn_type, props = handler(self, r)
            entry: dict[str, Any] = {"Type": cfn_type, "Properties": props}
            region = self.region(r)
            if region:
                entry["Metadata"] = {"edgesim": {"region": region}}
            resources[r.logical_id] = entry
        self.current = None
        for r in merged.values():
            self._merge(r, resources)
        return {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Description": f"Imported from a Terraform {self.kind}",
            "Resources": resources,
        }

    def _merge(self, r: TfResource, resources: dict[str, Any]) -> None:
        vals = r.values
        if r.type == "aws_s3_bucket_accelerate_configuration":
            target = self.identity.get(str(vals.get("bucket") or ""))
            if target is None or target[0] not in resources:
                self.skipped.append((r.address, "its bucket is not in this document"))
                return
            props = resources[target[0]]["Properties"]
            props["AccelerateConfiguration"] = {"AccelerationStatus": vals.get("status")}
        elif r.type == "aws_route53_cidr_location":
            target = self.identity.get(str(vals.get("cidr_collection_id") or ""))
            if target is None or target[0] not in resources:
                self.skipped.append((r.address, "its CIDR collection is not in this document"))
                return
            locs = resources[target[0]]["Properties"].setdefault("Locations", [])
            locs.append(
                {"LocationName": vals.get("name"), "CidrList": list(vals.get("cidr_blocks") or [])}
            )


# ---- one function per resource type ------------------------------------------------------------
Handler = Callable[[_Translator, TfResource], tuple[str, dict[str, Any]]]


def _zone(t: _Translator, r: TfResource) -> tuple[str, dict[str, Any]]:
    p: dict[str, Any] = {}
    _set(p, "Name", r.values.get("name"))
    vpcs = _blocks(r.values.get("vpc"))
    if vpcs:
        p["VPCs"] = [{"VPCId": v.get("vpc_id"), "VPCRegion": v.get("vpc_region")} for v in vpcs]
    return "AWS::Route53::HostedZone", p


def _record(t: _Translator, r: TfResource) -> tuple[str, dict[str, Any]]:
    vals = r.values
    p: dict[str, Any] = {}
    _set(p, "HostedZoneId", t.v(vals, "zone_id"))
    _set(p, "Name", vals.get("name") or vals.get("fqdn"))
    _set(p, "Type", vals.get("type"))
    _set(p, "TTL", vals.get("ttl"))
    _set(p, "ResourceRecords", [t.ref(x) for x in vals.get("records") or []])
    _set(p, "SetIdentifier", vals.get("set_identifier"))
    _set(p, "HealthCheckId", t.v(vals, "health_check_id"))
    if vals.get("multivalue_answer_routing_policy"):
        p["MultiValueAnswer"] = True
    alias = _first(vals.get("alias"))
    if alias:
        a: dict[str, Any] = {}
        _set(a, "DNSName", t.v(alias, "name", ("alias", 0)))
        _set(a, "HostedZoneId", alias.get("zone_id"))
        if alias.get("evaluate_target_health") is not None:
            a["EvaluateTargetHealth"] = bool(alias["evaluate_target_health"])
        p["AliasTarget"] = a
    w = _first(vals.get("weighted_routing_policy"))
    if w:
        p["Weight"] = w.get("weight")
    lat = _first(vals.get("latency_routing_policy"))
    if lat:
        p["Region"] = lat.get("region")
    fo = _first(vals.get("failover_routing_policy"))
    if fo:
        p["Failover"] = fo.get("type")
    geo = _first(vals.get("geolocation_routing_policy"))
    if geo:
        g: dict[str, Any] = {}
        _set(g, "ContinentCode", geo.get("continent"))
        _set(g, "CountryCode", geo.get("country"))
        _set(g, "SubdivisionCode", geo.get("subdivision"))
        p["GeoLocation"] = g
    gp = _first(vals.get("geoproximity_routing_policy"))
    if gp:
        q: dict[str, Any] = {}
        _set(q, "AWSRegion", gp.get("aws_region"))
        _set(q, "LocalZoneGroup", gp.get("local_zone_group"))
        _set(q, "Bias", gp.get("bias"))
        coords = _first(gp.get("coordinates"))
        if coords:
            q["Coordinates"] = {
                "Latitude": coords.get("latitude"),
                "Longitude": coords.get("longitude"),
            }
        p["GeoProximityLocation"] = q
    cidr = _first(vals.get("cidr_routing_policy"))
    if cidr:
        p["CidrRoutingConfig"] = {
            "CollectionId": t.v(cidr, "collection_id", ("cidr_routing_policy", 0)),
            "LocationName": cidr.get("location_name"),
        }
    return "AWS::Route53::RecordSet", p


def _health_check(t: _Translator, r: TfResource) -> tuple[str, dict[str, Any]]:
    vals = r.values
    c: dict[str, Any] = {}
    _set(c, "Type", vals.get("type"))
    _set(c, "FullyQualifiedDomainName", t.v(vals, "fqdn"))
    _set(c, "IPAddress", t.v(vals, "ip_address"))
    _set(c, "Port", vals.get("port"))
    _set(c, "ResourcePath", vals.get("resource_path"))
    _set(c, "RequestInterval", vals.get("request_interval"))
    _set(c, "FailureThreshold", vals.get("failure_threshold"))
    _set(c, "Regions", list(vals.get("regions") or []))
    if vals.get("type") == "CALCULATED":
        _set(c, "ChildHealthChecks", [t.ref(x) for x in vals.get("child_healthchecks") or []])
        _set(c, "HealthThreshold", vals.get("child_health_threshold"))
    _set(c, "Inverted", vals.get("invert_healthcheck") or None)
    return "AWS::Route53::HealthCheck", {"HealthCheckConfig": c}


def _cidr_collection(t: _Translator, r: TfResource) -> tuple[str, dict[str, Any]]:
    return "AWS::Route53::CidrCollection", {"Name": r.values.get("name")}


def _items(key: str, values: list[Any]) -> dict[str, Any]:
    return {"Quantity": len(values), key: values}


def _behavior(t: _Translator, b: dict[str, Any], path: tuple[str | int, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _set(out, "PathPattern", b.get("path_pattern"))
    _set(out, "TargetOriginId", b.get("target_origin_id"))
    _set(out, "CachePolicyId", t.v(b, "cache_policy_id", path))
    _set(out, "OriginRequestPolicyId", t.v(b, "origin_request_policy_id", path))
    _set(out, "AllowedMethods", list(b.get("allowed_methods") or []))
    _set(out, "CachedMethods", list(b.get("cached_methods") or []))
    _set(out, "ViewerProtocolPolicy", b.get("viewer_protocol_policy"))
    if not b.get("cache_policy_id"):
        for tf, cfn in (
            ("min_ttl", "MinTTL"),
            ("default_ttl", "DefaultTTL"),
            ("max_ttl", "MaxTTL"),
        ):
            _set(out, cfn, b.get(tf))
        fv = _first(b.get("forwarded_values"))
        if fv:
            cookies = _first(fv.get("cookies"))
            out["ForwardedValues"] = {
                "QueryString": bool(fv.get("query_string")),
                "QueryStringCacheKeys": list(fv.get("query_string_cache_keys") or []),
                "Headers": list(fv.get("headers") or []),
                "Cookies": {
                    "Forward": cookies.get("forward", "none"),
                    "WhitelistedNames": list(cookies.get("whitelisted_names") or []),
                },
            }
    if b.get("compress") is not None:
        out["Compress"] = bool(b["compress"])
    return out


def _distribution(t: _Translator, r: TfResource) -> tuple[str, dict[str, Any]]:
    vals = r.values
    cfg: dict[str, Any] = {}
    origins = []
    for i, o in enumerate(_blocks(vals.get("origin"))):
        item: dict[str, Any] = {"Id": o.get("origin_id")}
        _set(item, "DomainName", t.v(o, "domain_name", ("origin", i)))
        _set(item, "OriginPath", o.get("origin_path"))
        _set(item, "ConnectionAttempts", o.get("connection_attempts"))
        _set(item, "ConnectionTimeout", o.get("connection_timeout"))
        shield = _first(o.get("origin_shield"))
        if shield:
            item["OriginShield"] = {
                "Enabled": bool(shield.get("enabled")),
                "OriginShieldRegion": shield.get("origin_shield_region"),
            }
        custom = _first(o.get("custom_origin_config"))
        if custom:
            c: dict[str, Any] = {}
            _set(c, "HTTPPort", custom.get("http_port"))
            _set(c, "HTTPSPort", custom.get("https_port"))
            _set(c, "OriginProtocolPolicy", custom.get("origin_protocol_policy"))
            _set(c, "OriginReadTimeout", custom.get("origin_read_timeout"))
            _set(c, "OriginKeepaliveTimeout", custom.get("origin_keepalive_timeout"))
            item["CustomOriginConfig"] = c
        if _first(o.get("s3_origin_config")) or o.get("origin_access_control_id"):
            item["S3OriginConfig"] = {}
        origins.append(item)
    cfg["Origins"] = origins
    groups = []
    for g in _blocks(vals.get("origin_group")):
        codes = list(_first(g.get("failover_criteria")).get("status_codes") or [])
        members = [{"OriginId": m.get("origin_id")} for m in _blocks(g.get("member"))]
        groups.append(
            {
                "Id": g.get("origin_id"),
                "FailoverCriteria": {"StatusCodes": _items("Items", codes)},
                "Members": _items("Items", members),
            }
        )
    if groups:
        cfg["OriginGroups"] = _items("Items", groups)
    default = _first(vals.get("default_cache_behavior"))
    cfg["DefaultCacheBehavior"] = _behavior(t, default, ("default_cache_behavior", 0))
    ordered = [
        _behavior(t, b, ("ordered_cache_behavior", i))
        for i, b in enumerate(_blocks(vals.get("ordered_cache_behavior")))
    ]
    _set(cfg, "CacheBehaviors", ordered)
    _set(cfg, "PriceClass", vals.get("price_class"))
    if vals.get("enabled") is not None:
        cfg["Enabled"] = bool(vals["enabled"])
    _set(cfg, "Aliases", list(vals.get("aliases") or []))
    _set(cfg, "HttpVersion", vals.get("http_version"))
    errors = []
    for e in _blocks(vals.get("custom_error_response")):
        item = {"ErrorCode": e.get("error_code")}
        _set(item, "ErrorCachingMinTTL", e.get("error_caching_min_ttl"))
        _set(item, "ResponseCode", e.get("response_code") or None)  # 0: none
        _set(item, "ResponsePagePath", e.get("response_page_path"))
        errors.append(item)
    _set(cfg, "CustomErrorResponses", errors)
    geo = _first(_first(vals.get("restrictions")).get("geo_restriction"))
    if geo and geo.get("restriction_type") not in (None, "none"):
        cfg["Restrictions"] = {
            "GeoRestriction": {
                "RestrictionType": geo.get("restriction_type"),
                "Locations": list(geo.get("locations") or []),
            }
        }
    return "AWS::CloudFront::Distribution", {"DistributionConfig": cfg}


def _key_config(block: dict[str, Any], kind: str, names: str) -> dict[str, Any]:
    behavior = block.get(f"{kind}_behavior")
    items = list(_first(block.get(names)).get("items") or [])
    cfn = {"cookie": "Cookie", "header": "Header", "query_string": "QueryString"}[kind]
    out: dict[str, Any] = {f"{cfn}Behavior": behavior}
    if items:
        out[f"{cfn}s"] = items
    return out


def _cache_policy(t: _Translator, r: TfResource) -> tuple[str, dict[str, Any]]:
    vals = r.values
    cfg: dict[str, Any] = {"Name": vals.get("name")}
    _set(cfg, "Comment", vals.get("comment"))
    for tf, cfn in (("min_ttl", "MinTTL"), ("default_ttl", "DefaultTTL"), ("max_ttl", "MaxTTL")):
        _set(cfg, cfn, vals.get(tf))
    params = _first(vals.get("parameters_in_cache_key_and_forwarded_to_origin"))
    key: dict[str, Any] = {
        "CookiesConfig": _key_config(_first(params.get("cookies_config")), "cookie", "cookies"),
        "HeadersConfig": _key_config(_first(params.get("headers_config")), "header", "headers"),
        "QueryStringsConfig": _key_config(
            _first(params.get("query_strings_config")), "query_string", "query_strings"
        ),
        "EnableAcceptEncodingGzip": bool(params.get("enable_accept_encoding_gzip")),
        "EnableAcceptEncodingBrotli": bool(params.get("enable_accept_encoding_brotli")),
    }
    cfg["ParametersInCacheKeyAndForwardedToOrigin"] = key
    return "AWS::CloudFront::CachePolicy", {"CachePolicyConfig": cfg}


def _request_policy(t: _Translator, r: TfResource) -> tuple[str, dict[str, Any]]:
    vals = r.values
    cfg: dict[str, Any] = {"Name": vals.get("name")}
    _set(cfg, "Comment", vals.get("comment"))
    cfg["CookiesConfig"] = _key_config(_first(vals.get("cookies_config")), "cookie", "cookies")
    cfg["HeadersConfig"] = _key_config(_first(vals.get("headers_config")), "header", "headers")
    cfg["QueryStringsConfig"] = _key_config(
        _first(vals.get("query_strings_config")), "query_string", "query_strings"
    )
    return "AWS::CloudFront::OriginRequestPolicy", {"OriginRequestPolicyConfig": cfg}


def _accelerator(t: _Translator, r: TfResource) -> tuple[str, dict[str, Any]]:
    vals = r.values
    p: dict[str, Any] = {"Name": vals.get("name")}
    _set(p, "IpAddressType", vals.get("ip_address_type"))
    if vals.get("enabled") is not None:
        p["Enabled"] = bool(vals["enabled"])
    return "AWS::GlobalAccelerator::Accelerator", p


def _listener(t: _Translator, r: TfResource) -> tuple[str, dict[str, Any]]:
    vals = r.values
    p: dict[str, Any] = {}
    _set(p, "AcceleratorArn", t.v(vals, "accelerator_arn"))
    _set(p, "Protocol", vals.get("protocol"))
    p["PortRanges"] = [
        {"FromPort": pr.get("from_port"), "ToPort": pr.get("to_port")}
        for pr in _blocks(vals.get("port_range"))
    ]
    _set(p, "ClientAffinity", vals.get("client_affinity"))
    return "AWS::GlobalAccelerator::Listener", p


def _endpoint_group(t: _Translator, r: TfResource) -> tuple[str, dict[str, Any]]:
    vals = r.values
    p: dict[str, Any] = {}
    _set(p, "ListenerArn", t.v(vals, "listener_arn"))
    _set(p, "EndpointGroupRegion", vals.get("endpoint_group_region") or t.region(r))
    _set(p, "TrafficDialPercentage", vals.get("traffic_dial_percentage"))
    _set(p, "HealthCheckIntervalSeconds", vals.get("health_check_interval_seconds"))
    _set(p, "ThresholdCount", vals.get("threshold_count"))
    _set(p, "HealthCheckProtocol", vals.get("health_check_protocol"))
    _set(p, "HealthCheckPath", vals.get("health_check_path"))
    eps = []
    for i, ep in enumerate(_blocks(vals.get("endpoint_configuration"))):
        item: dict[str, Any] = {"EndpointId": t.v(ep, "endpoint_id", ("endpoint_configuration", i))}
        _set(item, "Weight", ep.get("weight"))
        if ep.get("client_ip_preservation_enabled") is not None:
            item["ClientIPPreservationEnabled"] = bool(ep["client_ip_preservation_enabled"])
        eps.append(item)
    _set(p, "EndpointConfigurations", eps)
    return "AWS::GlobalAccelerator::EndpointGroup", p


def _lb(t: _Translator, r: TfResource) -> tuple[str, dict[str, Any]]:
    vals = r.values
    p: dict[str, Any] = {}
    _set(p, "Name", vals.get("name"))
    kind = vals.get("load_balancer_type")
    _set(p, "Type", {"application": "application", "network": "network"}.get(str(kind), kind))
    _set(p, "Scheme", "internal" if vals.get("internal") else None)
    return "AWS::ElasticLoadBalancingV2::LoadBalancer", p


def _lb_listener(t: _Translator, r: TfResource) -> tuple[str, dict[str, Any]]:
    vals = r.values
    p: dict[str, Any] = {}
    _set(p, "LoadBalancerArn", t.v(vals, "load_balancer_arn"))
    _set(p, "Port", vals.get("port"))
    _set(p, "Protocol", vals.get("protocol"))
    actions = []
    for i, a in enumerate(_blocks(vals.get("default_action"))):
        item: dict[str, Any] = {"Type": a.get("type")}
        _set(item, "TargetGroupArn", t.v(a, "target_group_arn", ("default_action", i)))
        fwd = _first(a.get("forward"))
        tgs = [
            {"TargetGroupArn": t.ref(g.get("arn")), "Weight": g.get("weight")}
            for g in _blocks(fwd.get("target_group"))
        ]
        if tgs:
            item["ForwardConfig"] = {"TargetGroups": tgs}
        actions.append(item)
    _set(p, "DefaultActions", actions)
    return "AWS::ElasticLoadBalancingV2::Listener", p


def _target_group(t: _Translator, r: TfResource) -> tuple[str, dict[str, Any]]:
    vals = r.values
    p: dict[str, Any] = {}
    _set(p, "Name", vals.get("name"))
    _set(p, "Port", vals.get("port"))
    _set(p, "Protocol", vals.get("protocol"))
    _set(p, "TargetType", vals.get("target_type"))
    return "AWS::ElasticLoadBalancingV2::TargetGroup", p


def _instance(t: _Translator, r: TfResource) -> tuple[str, dict[str, Any]]:
    vals = r.values
    p: dict[str, Any] = {}
    _set(p, "InstanceType", vals.get("instance_type"))
    _set(p, "AvailabilityZone", vals.get("availability_zone"))
    _set(p, "ImageId", vals.get("ami"))
    _set(p, "Tags", _tags(vals.get("tags")))
    return "AWS::EC2::Instance", p


def _eip(t: _Translator, r: TfResource) -> tuple[str, dict[str, Any]]:
    p: dict[str, Any] = {}
    _set(p, "InstanceId", t.v(r.values, "instance"))
    return "AWS::EC2::EIP", p


def _asg(t: _Translator, r: TfResource) -> tuple[str, dict[str, Any]]:
    vals = r.values
    p: dict[str, Any] = {}
    _set(p, "MinSize", vals.get("min_size"))
    _set(p, "MaxSize", vals.get("max_size"))
    _set(p, "DesiredCapacity", vals.get("desired_capacity"))
    _set(p, "TargetGroupARNs", [t.ref(x) for x in vals.get("target_group_arns") or []])
    _set(p, "AvailabilityZones", list(vals.get("availability_zones") or []))
    _set(p, "Tags", _tags(vals.get("tag")))
    return "AWS::AutoScaling::AutoScalingGroup", p


def _ecs_service(t: _Translator, r: TfResource) -> tuple[str, dict[str, Any]]:
    vals = r.values
    p: dict[str, Any] = {}
    _set(p, "ServiceName", vals.get("name"))
    _set(p, "DesiredCount", vals.get("desired_count"))
    _set(p, "LaunchType", vals.get("launch_type"))
    _set(p, "TaskDefinition", t.v(vals, "task_definition"))
    strategy = [
        {"CapacityProvider": s.get("capacity_provider"), "Weight": s.get("weight")}
        for s in _blocks(vals.get("capacity_provider_strategy"))
    ]
    _set(p, "CapacityProviderStrategy", strategy)
    lbs = [
        {
            "TargetGroupArn": t.v(lb, "target_group_arn", ("load_balancer", i)),
            "ContainerName": lb.get("container_name"),
            "ContainerPort": lb.get("container_port"),
        }
        for i, lb in enumerate(_blocks(vals.get("load_balancer")))
    ]
    _set(p, "LoadBalancers", lbs)
    return "AWS::ECS::Service", p


def _task_definition(t: _Translator, r: TfResource) -> tuple[str, dict[str, Any]]:
    import json

    vals = r.values
    p: dict[str, Any] = {}
    _set(p, "Family", vals.get("family"))
    _set(p, "Cpu", vals.get("cpu"))
    _set(p, "Memory", vals.get("memory"))
    raw = vals.get("container_definitions")
    containers: Any = raw
    if isinstance(raw, str):
        try:
            containers = json.loads(raw)
        except ValueError:
            containers = []
            t.skipped.append((r.address, "container_definitions is not JSON: images unknown"))
    p["ContainerDefinitions"] = [
        {"Name": c.get("name"), "Image": c.get("image")}
        for c in containers or []
        if isinstance(c, dict)
    ]
    return "AWS::ECS::TaskDefinition", p


def _lambda(t: _Translator, r: TfResource) -> tuple[str, dict[str, Any]]:
    vals = r.values
    p: dict[str, Any] = {}  # the name: the logical ID carries Terraform's
    _set(p, "Runtime", vals.get("runtime"))
    _set(p, "PackageType", vals.get("package_type"))
    _set(p, "MemorySize", vals.get("memory_size"))
    _set(p, "Timeout", vals.get("timeout"))
    reserved = vals.get("reserved_concurrent_executions")
    if isinstance(reserved, int) and reserved >= 0:  # -1: unreserved
        p["ReservedConcurrentExecutions"] = reserved
    return "AWS::Lambda::Function", p


def _lambda_url(t: _Translator, r: TfResource) -> tuple[str, dict[str, Any]]:
    vals = r.values
    p: dict[str, Any] = {"AuthType": vals.get("authorization_type") or "NONE"}
    target = vals.get("function_name")
    ref = t.ref(target)
    p["TargetFunctionArn"] = ref
    return "AWS::Lambda::Url", p


def _provisioned(t: _Translator, r: TfResource) -> tuple[str, dict[str, Any]]:
    # Terraform's provisioned concurrency is its own resource; CloudFormation keeps it on an
    # alias. An alias of the function carries it.
    vals = r.values
    return "AWS::Lambda::Alias", {
        "FunctionName": t.v(vals, "function_name"),
        "Name": vals.get("qualifier") or "live",
        "ProvisionedConcurrencyConfig": {
            "ProvisionedConcurrentExecutions": vals.get("provisioned_concurrent_executions")
        },
    }


def _bucket(t: _Translator, r: TfResource) -> tuple[str, dict[str, Any]]:
    vals = r.values
    p: dict[str, Any] = {}
    _set(p, "BucketName", vals.get("bucket"))
    status = vals.get("acceleration_status")  # AWS provider < 4 kept it on the bucket
    if status:
        p["AccelerateConfiguration"] = {"AccelerationStatus": status}
    return "AWS::S3::Bucket", p


def _beanstalk(t: _Translator, r: TfResource) -> tuple[str, dict[str, Any]]:
    vals = r.values
    p: dict[str, Any] = {}
    _set(p, "EnvironmentName", vals.get("name"))
    _set(p, "SolutionStackName", vals.get("solution_stack_name"))
    settings = [
        {"Namespace": s.get("namespace"), "OptionName": s.get("name"), "Value": s.get("value")}
        for s in _blocks(vals.get("setting"))
    ]
    _set(p, "OptionSettings", settings)
    tier = vals.get("tier")
    if tier:
        p["Tier"] = {"Name": tier}
    return "AWS::ElasticBeanstalk::Environment", p


# ---- Systems Manager and AppConfig ------------------------------------------------------------
def _tags(values: Any) -> list[dict[str, str]]:
    """Terraform's ``tags`` map (or an ASG's ``tag`` blocks) as CloudFormation's Key/Value list."""
    if isinstance(values, dict):
        return [{"Key": str(k), "Value": str(v)} for k, v in values.items()]
    return [
        {"Key": str(b.get("key")), "Value": str(b.get("value"))}
        for b in _blocks(values)
        if b.get("key") is not None
    ]


def _ssm_targets(t: _Translator, blocks: Any) -> list[dict[str, Any]]:
    out = []
    for b in _blocks(blocks):
        ids = b.get("key") in ("WindowTargetIds", "InstanceIds")  # references, not tag values
        values = [t.ref(v) if ids else v for v in b.get("values") or []]
        out.append({"Key": b.get("key"), "Values": values})
    return out


def _mw(t: _Translator, r: TfResource) -> tuple[str, dict[str, Any]]:
    vals = r.values
    p: dict[str, Any] = {}
    for tf, cfn in (
        ("name", "Name"),
        ("schedule", "Schedule"),
        ("schedule_timezone", "ScheduleTimezone"),
        ("duration", "Duration"),
        ("cutoff", "Cutoff"),
        ("description", "Description"),
    ):
        _set(p, cfn, vals.get(tf))
    p.setdefault("AllowUnassociatedTargets", bool(vals.get("allow_unassociated_targets")))
    return "AWS::SSM::MaintenanceWindow", p


def _mw_target(t: _Translator, r: TfResource) -> tuple[str, dict[str, Any]]:
    vals = r.values
    p: dict[str, Any] = {"WindowId": t.v(vals, "window_id")}
    _set(p, "Name", vals.get("name"))
    _set(p, "ResourceType", vals.get("resource_type"))
    _set(p, "Targets", _ssm_targets(t, vals.get("targets")))
    return "AWS::SSM::MaintenanceWindowTarget", p


def _mw_task(t: _Translator, r: TfResource) -> tuple[str, dict[str, Any]]:
    vals = r.values
    p: dict[str, Any] = {"WindowId": t.v(vals, "window_id")}
    for tf, cfn in (
        ("task_arn", "TaskArn"),
        ("task_type", "TaskType"),
        ("name", "Name"),
        ("max_concurrency", "MaxConcurrency"),
        ("max_errors", "MaxErrors"),
        ("priority", "Priority"),
        ("cutoff_behavior", "CutoffBehavior"),
    ):
        _set(p, cfn, vals.get(tf))
    _set(p, "Targets", _ssm_targets(t, vals.get("targets")))
    run = _first(_first(vals.get("task_invocation_parameters")).get("run_command_parameters"))
    if run:
        params = {
            str(b.get("name")): list(b.get("values") or []) for b in _blocks(run.get("parameter"))
        }
        rc: dict[str, Any] = {}
        _set(rc, "Parameters", params)
        _set(rc, "TimeoutSeconds", run.get("timeout_seconds"))
        p["TaskInvocationParameters"] = {"MaintenanceWindowRunCommandParameters": rc}
    return "AWS::SSM::MaintenanceWindowTask", p


def _document(t: _Translator, r: TfResource) -> tuple[str, dict[str, Any]]:
    import yaml

    vals = r.values
    p: dict[str, Any] = {}
    _set(p, "Name", vals.get("name"))
    _set(p, "DocumentType", vals.get("document_type"))
    _set(p, "DocumentFormat", vals.get("document_format"))
    content = vals.get("content")
    if isinstance(content, str):
        try:
            content = yaml.safe_load(content)  # JSON is YAML too
        except yaml.YAMLError:
            t.skipped.append((r.address, "its content is neither JSON nor YAML"))
            content = None
    _set(p, "Content", content)
    return "AWS::SSM::Document", p


def _parameter(t: _Translator, r: TfResource) -> tuple[str, dict[str, Any]]:
    vals = r.values
    p: dict[str, Any] = {}
    for tf, cfn in (("name", "Name"), ("type", "Type"), ("tier", "Tier"), ("value", "Value")):
        _set(p, cfn, vals.get(tf))
    _set(p, "Description", vals.get("description"))
    return "AWS::SSM::Parameter", p


def _appconfig(kind: str) -> Handler:
    def handler(t: _Translator, r: TfResource) -> tuple[str, dict[str, Any]]:
        vals = r.values
        p: dict[str, Any] = {}
        _set(p, "Name", vals.get("name"))
        _set(p, "Description", vals.get("description"))
        if kind != "Application":
            _set(p, "ApplicationId", t.v(vals, "application_id"))
        if kind == "ConfigurationProfile":
            _set(p, "LocationUri", vals.get("location_uri"))
            _set(p, "Type", vals.get("type"))
        return f"AWS::AppConfig::{kind}", p

    return handler


def _strategy(t: _Translator, r: TfResource) -> tuple[str, dict[str, Any]]:
    vals = r.values
    p: dict[str, Any] = {}
    for tf, cfn in (
        ("name", "Name"),
        ("growth_type", "GrowthType"),
        ("growth_factor", "GrowthFactor"),
        ("deployment_duration_in_minutes", "DeploymentDurationInMinutes"),
        ("final_bake_time_in_minutes", "FinalBakeTimeInMinutes"),
        ("replicate_to", "ReplicateTo"),
    ):
        _set(p, cfn, vals.get(tf))
    return "AWS::AppConfig::DeploymentStrategy", p


_HANDLERS: dict[str, Handler] = {
    "aws_route53_zone": _zone,
    "aws_route53_record": _record,
    "aws_route53_health_check": _health_check,
    "aws_route53_cidr_collection": _cidr_collection,
    "aws_cloudfront_distribution": _distribution,
    "aws_cloudfront_cache_policy": _cache_policy,
    "aws_cloudfront_origin_request_policy": _request_policy,
    "aws_globalaccelerator_accelerator": _accelerator,
    "aws_globalaccelerator_listener": _listener,
    "aws_globalaccelerator_endpoint_group": _endpoint_group,
    "aws_lb": _lb,
    "aws_alb": _lb,
    "aws_lb_listener": _lb_listener,
    "aws_alb_listener": _lb_listener,
    "aws_lb_target_group": _target_group,
    "aws_alb_target_group": _target_group,
    "aws_instance": _instance,
    "aws_eip": _eip,
    "aws_autoscaling_group": _asg,
    "aws_ecs_service": _ecs_service,
    "aws_ecs_task_definition": _task_definition,
    "aws_lambda_function": _lambda,
    "aws_lambda_function_url": _lambda_url,
    "aws_lambda_provisioned_concurrency_config": _provisioned,
    "aws_s3_bucket": _bucket,
    "aws_elastic_beanstalk_environment": _beanstalk,
    "aws_ssm_maintenance_window": _mw,
    "aws_ssm_maintenance_window_target": _mw_target,
    "aws_ssm_maintenance_window_task": _mw_task,
    "aws_ssm_document": _document,
    "aws_ssm_parameter": _parameter,
    "aws_appconfig_application": _appconfig("Application"),
    "aws_appconfig_environment": _appconfig("Environment"),
    "aws_appconfig_configuration_profile": _appconfig("ConfigurationProfile"),
    "aws_appconfig_deployment_strategy": _strategy,
}

#: Every Terraform resource type the importer reads (docs/terraform.md lists them).
SUPPORTED_TYPES = tuple(sorted({*_HANDLERS, *_MERGED}))


def translate(doc: Any, file: str | None = None, *, region: str = "us-east-1") -> Translation:
    """The CloudFormation template equivalent to a Terraform plan or state document."""
    kind = document_kind(doc, file)
    tr = _Translator(doc, kind, region)
    if not tr.resources:
        raise InputError(
            [
                Problem(
                    f"the Terraform {kind} has no resources",
                    expected="a state after `terraform apply`, or a plan that creates resources",
                )
            ],
            file=file,
        )
    template = tr.run()
    address_of = {r.logical_id: r.address for r in tr.resources}
    type_of = {r.logical_id: r.type for r in tr.resources}
    return Translation(template, address_of, type_of, tr.skipped, tr.notes, kind)
