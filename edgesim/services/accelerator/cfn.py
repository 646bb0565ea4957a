"""CloudFormation → Global Accelerator: accelerators, listeners and endpoint groups
(registered in :data:`edgesim.cfn.convert.CONVERTERS`)."""

from __future__ import annotations

from typing import Any

from edgesim.cfn.convert import Converter, as_bool, kebab, number, seconds

RESOURCE_TYPES = (
    "AWS::GlobalAccelerator::Accelerator",
    "AWS::GlobalAccelerator::Listener",
    "AWS::GlobalAccelerator::EndpointGroup",
)


def convert(conv: Converter) -> None:
    for res in conv.of_type("AWS::GlobalAccelerator::Accelerator"):
        p = conv.p(res)
        acc: dict[str, Any] = {"name": conv.unique(kebab(res.logical_id)), "listeners": []}
        p.get("Name")
        ips = p.get("IpAddresses")
        if isinstance(ips, list) and len(ips) == 2:
            acc["ip_addresses"] = [str(i) for i in ips]
        if p.get("Enabled") is not None and not as_bool(p.get("Enabled")):
            conv.note(f"{res.logical_id} is disabled in the template; converted anyway")
        conv.accels[res.logical_id] = acc
    for res in conv.of_type("AWS::GlobalAccelerator::Listener"):
        p = conv.p(res)
        owner = conv.owner(p.get("AcceleratorArn"))
        if owner is None or owner.logical_id not in conv.accels:
            conv.skip(f"Resources.{res.logical_id}", "its accelerator is not in the template")
            conv.done.add(res.logical_id)
            continue
        listener: dict[str, Any] = {"protocol": str(p.get("Protocol", "TCP"))}
        ranges: list[int | str] = []
        for r in p.subs("PortRanges"):
            lo, hi = seconds(r.get("FromPort")), seconds(r.get("ToPort"))
            ranges.append(lo if lo == hi else f"{lo}-{hi}")  # type: ignore[arg-type]
        listener["port_ranges"] = ranges
        aff = p.get("ClientAffinity")
        if aff is not None:
            listener["client_affinity"] = str(aff)
        listener["endpoint_groups"] = []
        conv.listeners[res.logical_id] = (owner.logical_id, listener)
    for res in conv.of_type("AWS::GlobalAccelerator::EndpointGroup"):
        p = conv.p(res)
        owner = conv.owner(p.get("ListenerArn"))
        if owner is None or owner.logical_id not in conv.listeners:
            conv.skip(f"Resources.{res.logical_id}", "its listener is not in the template")
            conv.done.add(res.logical_id)
            continue
        region = str(p.get("EndpointGroupRegion"))
        group: dict[str, Any] = {"region": region}
        dial = p.get("TrafficDialPercentage")
        if dial is not None:
            group["traffic_dial"] = number(dial)
        hc: dict[str, Any] = {}
        interval = seconds(p.get("HealthCheckIntervalSeconds"))
        if interval is not None:
            hc["interval"] = "10s" if interval <= 10 else "30s"
        threshold = seconds(p.get("ThresholdCount"))
        if threshold is not None:
            hc["threshold"] = threshold
        proto = p.get("HealthCheckProtocol")
        if proto is not None:
            hc["protocol"] = str(proto)
        if hc:
            group["health_check"] = hc
        eps = []
        for ep in p.subs("EndpointConfigurations"):
            eid = ep.get("EndpointId")
            target = conv.endpoint_for(conv.owner(eid))
            if target is None and isinstance(eid, str) and eid.strip():
                target = conv.placeholder(eid, region, f"Resources.{res.logical_id}")
            if target is None:
                conv.skip(ep.path("EndpointId"), "not a resource of the template")
                continue
            entry: dict[str, Any] = {"endpoint": f"endpoint:{target}"}
            w = seconds(ep.get("Weight"))
            if w is not None:
                entry["weight"] = w
            eps.append(entry)
        conv.done.add(res.logical_id)
        if not eps:
            conv.skip(f"Resources.{res.logical_id}", "an endpoint group with no endpoints")
            continue
        group["endpoints"] = eps
        conv.listeners[owner.logical_id][1]["endpoint_groups"].append(group)
    for lid, (acc_id, listener) in conv.listeners.items():
        conv.done.add(lid)
        if listener["endpoint_groups"]:
            conv.accels[acc_id]["listeners"].append(listener)
        else:
            conv.skip(f"Resources.{lid}", "a listener with no endpoint groups")
    for lid, acc in list(conv.accels.items()):
        conv.done.add(lid)
        if not acc["listeners"]:
            conv.skip(f"Resources.{lid}", "an accelerator with no listeners")
            del conv.accels[lid]
