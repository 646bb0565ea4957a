"""CloudFormation → Route 53: hosted zones, record sets (every routing policy, aliases),
health checks (calculated ones too) and CIDR collections."""

from __future__ import annotations

from typing import Any

from edgesim.cfn.convert import Converter, Props, as_bool, duration, kebab, seconds
from edgesim.cfn.evaluate import Resource, region_in
from edgesim.route53.health import CHECKER_REGIONS

RECORD_TYPES = ("A", "AAAA", "CNAME", "MX", "TXT", "NS", "SRV", "CAA")
CHECK_TYPES = {
    "HTTP": "http",
    "HTTPS": "https",
    "HTTP_STR_MATCH": "http",
    "HTTPS_STR_MATCH": "https",
    "TCP": "tcp",
    "CALCULATED": "calculated",
}

RESOURCE_TYPES = (
    "AWS::Route53::HostedZone",
    "AWS::Route53::RecordSet",
    "AWS::Route53::RecordSetGroup",
    "AWS::Route53::HealthCheck",
    "AWS::Route53::CidrCollection",
)


def convert(conv: Converter) -> None:
    for res in conv.of_type("AWS::Route53::CidrCollection"):
        p = conv.p(res)
        locs = {
            str(loc.get("LocationName")): [str(c) for c in loc.get("CidrList") or []]
            for loc in p.subs("Locations")
        }
        name = conv.unique(kebab(str(p.get("Name") or res.logical_id)))
        conv.collections[res.logical_id] = {"name": name, "locations": locs}
        conv.done.add(res.logical_id)
    for res in conv.of_type("AWS::Route53::HostedZone"):
        p = conv.p(res)
        if p.get("VPCs"):
            conv.skip(f"Resources.{res.logical_id}", "a private hosted zone: users cannot see it")
            conv.done.add(res.logical_id)
            continue
        p.skip("HostedZoneConfig", "comments are not modelled")
        p.skip("QueryLoggingConfig", "query logging is not modelled")
        zone = str(p.get("Name")).rstrip(".").lower()
        conv.zones.setdefault(zone, {"name": zone, "records": []})
        conv.zone_of[res.logical_id] = zone
        conv.done.add(res.logical_id)
    pending: list[tuple[Props, Resource]] = []
    for res in conv.of_type("AWS::Route53::RecordSet", "AWS::Route53::RecordSetGroup"):
        p = conv.p(res)
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
        conv.done.add(res.logical_id)
    for p, res in pending:
        _record(conv, p, res)
    for res in conv.of_type("AWS::Route53::HealthCheck"):
        _health_check(conv, res)
    _calculated_children(conv)
    for zone, rec, check, _where in conv.records:
        if check is None:
            continue
        if check in conv.checks:
            rec["health_check"] = conv.checks[check]["name"]
        else:
            conv.note(
                f"record {rec['name']} in {zone}: its health check {check} was skipped, "
                "so the record has none"
            )


def _zone_for(conv: Converter, p: Props, fqdn: str) -> str | None:
    zid = conv.owner(p.get("HostedZoneId"))
    if zid is not None and zid.logical_id in conv.zone_of:
        return conv.zone_of[zid.logical_id]
    zname = p.get("HostedZoneName")
    if isinstance(zname, str) and zname:
        zone = zname.rstrip(".").lower()
        if zone not in conv.zones:
            conv.zones[zone] = {"name": zone, "records": []}
            conv.note(f"hosted zone {zone} is not in the template: created for its records")
        return zone
    best = [z for z in conv.zones if fqdn == z or fqdn.endswith("." + z)]
    if p.get("HostedZoneId") is None or not best:
        return None
    return max(best, key=len)


def _target(conv: Converter, value: Any) -> str | None:
    """The scenario target a DNS name or address stands for."""
    res = conv.owner(value)
    if res is None:
        return None
    if res.logical_id in conv.dists:
        return f"cloudfront:{conv.dists[res.logical_id]['name']}"
    if res.logical_id in conv.accels:
        return f"accelerator:{conv.accels[res.logical_id]['name']}"
    if res.logical_id in conv.s3_buckets:
        b = conv.s3_buckets[res.logical_id]
        accel = "s3-accelerate" in str(value) and b["transfer_acceleration"]
        return f"{'s3-accelerate' if accel else 's3'}:{b['name']}"
    endpoint = conv.endpoint_for(res)
    return f"endpoint:{endpoint}" if endpoint is not None else None


def _record(conv: Converter, p: Props, res: Resource) -> None:
    raw_name = str(p.get("Name") or "").replace("\\052", "*")
    fqdn = raw_name.rstrip(".").lower()
    where = p.path()
    zone = _zone_for(conv, p, fqdn)
    if zone is None:
        conv.skip(where, f"record {fqdn}: its hosted zone is not in the template")
        return
    if fqdn == zone:
        label = "@"
    elif fqdn.endswith("." + zone):
        label = fqdn[: -len(zone) - 1]
    else:
        conv.skip(where, f"record {fqdn} is not inside zone {zone}")
        return
    rtype = str(p.get("Type") or "A")
    if rtype not in RECORD_TYPES:
        conv.skip(where, f"record type {rtype} is not modelled")
        return
    if rtype == "NS" and label == "@":
        conv.skip(where, "the apex NS record is Route 53's own")
        return
    rec: dict[str, Any] = {"name": label}
    alias = p.sub("AliasTarget")
    if alias.data:
        dns = str(alias.get("DNSName") or "")
        alias.get("HostedZoneId")
        target = _target(conv, dns)
        if target is None:
            other = dns.rstrip(".").lower()
            if other == zone or other.endswith("." + zone):
                target = "record:" + ("@" if other == zone else other[: -len(zone) - 1])
        if target is None:
            conv.skip(where, f"alias target '{dns}' is not a resource of the template")
            return
        if rtype != "A":
            rec["type"] = rtype
        rec["alias"] = target
        eth = alias.get("EvaluateTargetHealth")
        if eth is not None:
            if target.startswith("cloudfront:") and as_bool(eth):
                conv.note(f"{label}.{zone}: EvaluateTargetHealth is false for a CloudFront alias")
                rec["evaluate_target_health"] = False
            else:
                rec["evaluate_target_health"] = as_bool(eth)
        p.skip("TTL", "an alias has no TTL of its own")
    else:
        values = [str(v) for v in p.get("ResourceRecords") or []]
        if not values:
            conv.skip(where, "a record with neither AliasTarget nor ResourceRecords")
            return
        targets = [_target(conv, v) for v in values]
        if rtype in ("A", "AAAA") and targets[0] is not None and targets[0].startswith("endpoint:"):
            if rtype != "A":
                rec["type"] = rtype
            rec["values"] = [targets[0]]
        elif rtype == "CNAME" and targets[0] is not None:
            rec["alias"] = targets[0]
            conv.note(
                f"{label}.{zone}: CNAME to {values[0]} became an alias to {targets[0]} "
                "(AWS-owned names are not in the scenario's DNS)"
            )
        else:
            if rtype != "A":
                rec["type"] = rtype
            rec["values"] = [zone_value(rtype, v) for v in values]
        ttl = seconds(p.get("TTL"))
        if ttl is not None and "alias" not in rec:
            rec["ttl"] = duration(ttl)
    _policy(conv, p, rec, where)
    check = conv.owner(p.get("HealthCheckId"))
    if p.get("HealthCheckId") is not None and check is None:
        conv.skip(p.path("HealthCheckId"), "the health check is not in the template")
    conv.zones[zone]["records"].append(rec)
    conv.records.append((zone, rec, check.logical_id if check is not None else None, p.loc))


def _policy(conv: Converter, p: Props, rec: dict[str, Any], where: str) -> None:
    set_id = p.get("SetIdentifier")
    if set_id is not None:
        rec["set"] = str(set_id)
    if p.get("Weight") is not None:
        rec.update(policy="weighted", weight=seconds(p.get("Weight")))
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
        bias = seconds(geo.get("Bias"))
        if bias:
            rec["bias"] = bias
    elif as_bool(p.get("MultiValueAnswer", False)):
        rec["policy"] = "multivalue"
    elif p.data.get("CidrRoutingConfig"):
        cidr = p.sub("CidrRoutingConfig")
        col = conv.owner(cidr.get("CollectionId"))
        if col is None or col.logical_id not in conv.collections:
            conv.skip(where, "its CIDR collection is not in the template")
            return
        rec.update(
            policy="ip",
            collection=conv.collections[col.logical_id]["name"],
            cidr_location=str(cidr.get("LocationName", "*")),
        )
    p.get("MultiValueAnswer")
    if rec.get("policy") is None and "set" in rec:
        conv.skip(p.path("SetIdentifier"), "a set identifier without a routing policy")
        del rec["set"]


def _check_target(conv: Converter, cfg: Props) -> str | None:
    for key in ("FullyQualifiedDomainName", "IPAddress"):
        value = cfg.get(key)
        if value is None:
            continue
        target = _target(conv, value)
        if target is None:
            fqdn = str(value).rstrip(".").lower()
            for zone, rec, _c, _w in conv.records:
                name = zone if rec["name"] == "@" else f"{rec['name']}.{zone}"
                if name == fqdn and rec.get("alias", "").startswith("endpoint:"):
                    target = rec["alias"]
                elif name == fqdn and rec.get("values", [""])[0].startswith("endpoint:"):
                    target = rec["values"][0]
        if target is not None and target.startswith("endpoint:"):
            return target
    return None


def _health_check(conv: Converter, res: Resource) -> None:
    conv.done.add(res.logical_id)
    cfg = conv.p(res).sub("HealthCheckConfig")
    kind = str(cfg.get("Type"))
    where = f"Resources.{res.logical_id}"
    if kind not in CHECK_TYPES:
        conv.skip(where, f"health checks of type {kind} are not modelled")
        return
    check: dict[str, Any] = {
        "name": conv.unique(kebab(res.logical_id)),
        "type": CHECK_TYPES[kind],
    }
    if kind.endswith("STR_MATCH"):
        conv.note(f"{res.logical_id}: {kind} is checked as {CHECK_TYPES[kind]} (no string match)")
    if kind == "CALCULATED":
        check["children"] = [str(c) for c in cfg.get("ChildHealthChecks") or []]
        threshold = seconds(cfg.get("HealthThreshold"))
        if threshold is not None:
            check["threshold"] = threshold
    else:
        target = _check_target(conv, cfg)
        if target is None:
            addr = cfg.data.get("FullyQualifiedDomainName") or cfg.data.get("IPAddress")
            if not isinstance(addr, str) or not addr.strip():
                conv.skip(where, "it names no target (FullyQualifiedDomainName or IPAddress)")
                return
            region = region_in(addr) or conv.t.region
            target = "endpoint:" + conv.placeholder(addr, region, where)
        check["target"] = target
    interval = seconds(cfg.get("RequestInterval"))
    if interval is not None:
        check["interval"] = "10s" if interval <= 10 else "30s"
    threshold = seconds(cfg.get("FailureThreshold"))
    if threshold is not None:
        check["failure_threshold"] = threshold
    regions = cfg.get("Regions")
    if isinstance(regions, list):
        known = [str(r) for r in regions if r in CHECKER_REGIONS]
        if len(known) >= 3:
            check["regions"] = known
        else:
            conv.skip(cfg.path("Regions"), "fewer than 3 checker regions: all 8 are used")
    for key, field_name in (("Inverted", "inverted"), ("Disabled", "disabled")):
        if cfg.get(key) is not None and as_bool(cfg.get(key)):
            check[field_name] = True
    cfg.skip("InsufficientDataHealthStatus", "alarm checks are not read from templates")
    cfg.skip("AlarmIdentifier", "alarm checks are not read from templates")
    conv.checks[res.logical_id] = check


def _calculated_children(conv: Converter) -> None:
    """Calculated checks' children by name; a check left without children is skipped
    (and so on up, for calculated checks of calculated checks)."""
    kids: dict[str, list[str]] = {}
    for lid, check in conv.checks.items():
        if check["type"] != "calculated":
            continue
        kids[lid] = []
        for child in check["children"]:
            owner = conv.t.owner(child)
            if owner is not None and owner in conv.checks and owner != lid:
                kids[lid].append(owner)
            else:
                conv.note(f"{lid}: child check {child} was skipped or is unknown")
    changed = True
    while changed:
        changed = False
        for lid, children in kids.items():
            if lid not in conv.checks:
                continue
            children[:] = [c for c in children if c in conv.checks]
            if not children:
                conv.skip(f"Resources.{lid}", "a calculated check with no modelled children")
                del conv.checks[lid]
                changed = True
    for lid, children in kids.items():
        if lid in conv.checks:
            conv.checks[lid]["children"] = [conv.checks[c]["name"] for c in children]


def zone_value(rtype: str, value: str) -> str:
    """A template value in zone-file syntax: host names absolute (a trailing dot)."""
    if rtype in ("CNAME", "NS"):
        return value.rstrip(".") + "."
    if rtype in ("MX", "SRV"):
        parts = value.split()
        if parts:
            parts[-1] = parts[-1].rstrip(".") + "."
        return " ".join(parts)
    return value
