"""CloudFormation → CloudFront distributions: behaviours, cache and origin request policies
(managed and template-defined), origins, origin groups, price classes, Origin Shield."""

from __future__ import annotations

import re
from typing import Any

from edgesim.cfn.convert import Converter, Props, as_bool, duration, kebab, seconds
from edgesim.cfn.evaluate import region_in

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

RESOURCE_TYPES = (
    "AWS::CloudFront::Distribution",
    "AWS::CloudFront::CachePolicy",
    "AWS::CloudFront::OriginRequestPolicy",
)


def _policy_resource(conv: Converter, value: Any, where: str) -> Any:
    if isinstance(value, str) and value in MANAGED_CACHE_POLICIES:
        return MANAGED_CACHE_POLICIES[value]
    res = conv.owner(value)
    if res is None or res.type != "AWS::CloudFront::CachePolicy":
        conv.skip(where, f"cache policy '{value}' is not known: the default policy is used")
        return None
    conv.done.add(res.logical_id)
    cfg = conv.p(res).sub("CachePolicyConfig")
    cfg.get("Name")
    cfg.get("Comment")
    out: dict[str, Any] = {}
    for key, field_name in (
        ("MinTTL", "min_ttl"),
        ("DefaultTTL", "default_ttl"),
        ("MaxTTL", "max_ttl"),
    ):
        v = seconds(cfg.get(key))
        if v is not None:
            out[field_name] = duration(v)
    params = cfg.sub("ParametersInCacheKeyAndForwardedToOrigin")
    enc = [
        e
        for e, key in (
            ("gzip", "EnableAcceptEncodingGzip"),
            ("br", "EnableAcceptEncodingBrotli"),
        )
        if as_bool(params.get(key, False))
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


def _legacy_policy(conv: Converter, beh: Props) -> dict[str, Any]:
    """ForwardedValues and MinTTL/DefaultTTL/MaxTTL, as a cache policy."""
    out: dict[str, Any] = {}
    for key, field_name, default in (
        ("MinTTL", "min_ttl", 0),
        ("DefaultTTL", "default_ttl", 86400),
        ("MaxTTL", "max_ttl", 31536000),
    ):
        v = seconds(beh.get(key))
        out[field_name] = duration(default if v is None else v)
    fv = beh.sub("ForwardedValues")
    if as_bool(fv.get("QueryString", False)):
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
        conv.skip(fv.path("Headers"), "forwarding all headers disables caching: TTLs set to 0")
        out.update({"min_ttl": "0s", "default_ttl": "0s", "max_ttl": "0s"})
    elif headers:
        out["headers"] = headers
    return out


def _behavior_policy(conv: Converter, beh: Props, dist: dict[str, Any]) -> Any:
    if "CachePolicyId" in beh.data:
        return _policy_resource(conv, beh.get("CachePolicyId"), beh.path("CachePolicyId"))
    if "ForwardedValues" in beh.data:
        return _legacy_policy(conv, beh)
    for key in ("MinTTL", "DefaultTTL", "MaxTTL"):
        beh.skip(key, "TTLs apply with ForwardedValues only")
    return None


def _request_policy(conv: Converter, beh: Props) -> Any:
    value = beh.get("OriginRequestPolicyId")
    if value is None:
        return None
    if isinstance(value, str) and value in MANAGED_ORIGIN_REQUEST_POLICIES:
        return MANAGED_ORIGIN_REQUEST_POLICIES[value]
    res = conv.owner(value)
    if res is None or res.type != "AWS::CloudFront::OriginRequestPolicy":
        conv.skip(
            beh.path("OriginRequestPolicyId"), f"origin request policy '{value}' is not known"
        )
        return None
    conv.done.add(res.logical_id)
    cfg = conv.p(res).sub("OriginRequestPolicyConfig")
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


def _methods(conv: Converter, beh: Props, out: dict[str, Any]) -> None:
    methods = beh.get("AllowedMethods")
    if isinstance(methods, list):
        out["allowed_methods"] = {2: "GET_HEAD", 3: "GET_HEAD_OPTIONS"}.get(len(methods), "ALL")
    cached = beh.get("CachedMethods")
    if isinstance(cached, list) and "OPTIONS" in cached:
        out["cache_options"] = True


def _origin(
    conv: Converter, o: Props, dist_name: str, names: dict[str, str]
) -> dict[str, Any] | None:
    oid = str(o.get("Id"))
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", oid).strip("-._") or "origin"
    names[oid] = name
    domain = str(o.get("DomainName") or "")
    out: dict[str, Any] = {"name": name}
    res = conv.owner(domain)
    s3cfg = o.sub("S3OriginConfig")
    custom = o.sub("CustomOriginConfig")
    o.skip("OriginAccessControlId", "access control is not modelled")
    o.skip("OriginPath", "origin paths are not modelled")
    o.skip("OriginCustomHeaders", "custom headers are not modelled")
    s3cfg.skip("OriginAccessIdentity", "access control is not modelled")
    if res is not None and res.type == "AWS::S3::Bucket":
        bucket, region = conv.bucket_of[res.logical_id]
        conv.done.add(res.logical_id)
        out["s3"] = {"bucket": bucket, "region": region}
    elif res is None and (
        m := re.match(r"^([a-z0-9.-]+)\.s3[.-](?:([a-z0-9-]+)\.)?amazonaws\.com$", domain)
    ):
        region = m.group(2) or "us-east-1"
        if region.startswith("website-"):
            region = region.removeprefix("website-")
        out["s3"] = {"bucket": m.group(1), "region": region}
        conv.note(f"{dist_name}: origin {oid} is the bucket {m.group(1)}, not in the template")
    else:
        endpoint = conv.endpoint_for(res)
        if endpoint is None:
            region = region_in(domain) or conv.t.region
            endpoint = conv.unique(kebab(name))
            conv.endpoints[endpoint] = {
                "name": endpoint,
                "site": f"region:{region}",
                "service_time": "lognormal(median=20ms, sigma=0.5)",
            }
            conv.note(
                f"{dist_name}: origin {oid} ({domain or 'no domain'}) is not a resource of "
                f"the template: a default endpoint '{endpoint}' in {region} — edit me"
            )
        out["endpoint"] = endpoint
    for key, field_name in (("ConnectionTimeout", "connection_timeout"),):
        v = seconds(o.get(key))
        if v is not None:
            out[field_name] = duration(v)
    attempts = seconds(o.get("ConnectionAttempts"))
    if attempts is not None:
        out["connection_attempts"] = attempts
    read = seconds(custom.get("OriginReadTimeout"))
    if read is not None:
        out["read_timeout"] = duration(read)
    for key in ("HTTPPort", "HTTPSPort", "OriginProtocolPolicy", "OriginSSLProtocols"):
        custom.skip(key, "origin protocols and ports are not modelled")
    custom.skip("OriginKeepaliveTimeout", "connections to origins are not modelled")
    return out


def convert(conv: Converter) -> None:
    for res in conv.of_type("AWS::CloudFront::Distribution"):
        p = conv.p(res)
        cfg = p.sub("DistributionConfig")
        name = conv.unique(kebab(res.logical_id))
        dist: dict[str, Any] = {"name": name}
        if cfg.get("Enabled") is not None and not as_bool(cfg.get("Enabled")):
            conv.note(f"{res.logical_id} is disabled in the template; converted anyway")
        pc = cfg.get("PriceClass")
        if pc is not None:
            dist["price_class"] = PRICE_CLASSES.get(str(pc), "all")
        names: dict[str, str] = {}
        origins = []
        shield: set[str] = set()
        for o in cfg.subs("Origins"):
            origin = _origin(conv, o, name, names)
            if origin is not None:
                origins.append(origin)
            osh = o.sub("OriginShield")
            if as_bool(osh.get("Enabled", False)) and osh.get("OriginShieldRegion"):
                shield.add(str(osh.get("OriginShieldRegion")))
        if not origins:
            conv.skip(f"Resources.{res.logical_id}", "a distribution without origins")
            conv.done.add(res.logical_id)
            continue
        if shield:
            dist["origin_shield"] = sorted(shield)[0]
            if len(shield) > 1:
                conv.note(
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
                conv.skip(g.path(), "an origin group has exactly two members")
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
        policy = _behavior_policy(conv, default, dist)
        if policy is not None:
            dist["cache_policy"] = policy
        default_extra: dict[str, Any] = {}
        _methods(conv, default, default_extra)
        if default_extra:
            conv.skip(
                default.path("AllowedMethods"),
                "the default behaviour allows every method in edgesim",
            )
        behaviors = []
        for b in cfg.subs("CacheBehaviors"):
            beh: dict[str, Any] = {
                "path": str(b.get("PathPattern")),
                "origin": names.get(str(b.get("TargetOriginId")), str(b.get("TargetOriginId"))),
            }
            pol = _behavior_policy(conv, b, dist)
            if pol is not None:
                beh["cache_policy"] = pol
            orp = _request_policy(conv, b)
            if orp is not None:
                beh["origin_request_policy"] = orp
            _methods(conv, b, beh)
            behaviors.append(beh)
        if behaviors:
            dist["behaviors"] = behaviors
        if _request_policy(conv, default) is not None:
            conv.skip(
                default.path("OriginRequestPolicyId"),
                "the default behaviour has none in edgesim",
            )
        errors = [
            s
            for e in cfg.subs("CustomErrorResponses")
            if str(e.get("ErrorCode", "")).startswith("5")
            and (s := seconds(e.get("ErrorCachingMinTTL"))) is not None
        ]
        if errors:
            dist["error_caching_min_ttl"] = duration(min(errors))
        conv.dists[res.logical_id] = dist
        conv.dist_res[res.logical_id] = cfg
        conv.done.add(res.logical_id)
