"""CloudFormation import: loading, evaluation, conversions, and the shop example end to end."""

# ruff: noqa: E501  (templates in one-line flow style, as people write them)

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from edgesim.cfn import Template, import_template, load_template_text
from edgesim.cfn.convert import duration, kebab
from edgesim.cli.imports import import_
from edgesim.scenario.loader import load_scenario_text, prepare
from edgesim.sim.report import build_report
from edgesim.sim.results import Results

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
SHOP = ROOT / "scenarios" / "cloudformation" / "shop.yaml"
SHOP_SCENARIO = ROOT / "scenarios" / "cloudformation-shop.yaml"


def _template(text: str, **kwargs: Any) -> Template:
    data, index = load_template_text(text, "t.yaml")
    return Template(data, index, "t.yaml", **kwargs)


# ---- loading ------------------------------------------------------------------------------


def test_short_forms_become_long_forms() -> None:
    data, index = load_template_text(
        """\
Resources:
  A:
    Type: AWS::S3::Bucket
    Properties:
      a: !Ref X
      b: !GetAtt Dist.DomainName
      c: !GetAtt [Dist, DomainName]
      d: !Sub ["${A}-x", {A: !Ref AWS::Region}]
      e: !If [C, !Ref AWS::NoValue, !Base64 hello]
      f: !GetAZs ""
      g: !Condition C
""",
        "t.yaml",
    )
    props = data["Resources"]["A"]["Properties"]
    assert props == {
        "a": {"Ref": "X"},
        "b": {"Fn::GetAtt": ["Dist", "DomainName"]},
        "c": {"Fn::GetAtt": ["Dist", "DomainName"]},
        "d": {"Fn::Sub": ["${A}-x", {"A": {"Ref": "AWS::Region"}}]},
        "e": {"Fn::If": ["C", {"Ref": "AWS::NoValue"}, {"Fn::Base64": "hello"}]},
        "f": {"Fn::GetAZs": ""},
        "g": {"Condition": "C"},
    }
    assert index.find(("Resources", "A", "Properties", "d")) == (8, 7)


def test_json_and_yaml_give_the_same_template() -> None:
    doc = {
        "Resources": {
            "B": {
                "Type": "AWS::S3::Bucket",
                "Properties": {"BucketName": {"Ref": "AWS::StackName"}},
            }
        }
    }
    text = json.dumps(doc, indent="\t")  # tabs: not YAML, still JSON
    data, _ = load_template_text(text, "t.json")
    assert data == doc
    assert _template(text, stack_name="shop").resources["B"].properties == {"BucketName": "shop"}


# ---- evaluation ---------------------------------------------------------------------------

EVAL = """\
Parameters:
  Env: {Type: String, AllowedValues: [prod, dev], Default: dev}
  Sizes: {Type: CommaDelimitedList, Default: "1, 2,3"}
  Memory: {Type: Number, Default: 512}
Mappings:
  Tiers: {prod: {Tasks: 4}, dev: {Tasks: 1}}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsDev: !Not [!Condition IsProd]
  Both: !And [!Condition IsDev, !Or [!Equals [a, b], !Equals [!Ref "AWS::Region", eu-west-1]]]
Resources:
  Dist:
    Type: AWS::CloudFront::Distribution
    Properties: {}
  Probe:
    Type: AWS::S3::Bucket
    Properties:
      region: !Ref AWS::Region
      account: !Ref AWS::AccountId
      stack: !Ref AWS::StackName
      suffix: !Ref AWS::URLSuffix
      tasks: !FindInMap [Tiers, !Ref Env, Tasks]
      memory: !Ref Memory
      second: !Select [1, !Ref Sizes]
      joined: !Join ["-", [a, !Ref Env, !GetAtt Dist.Id]]
      split: !Split [",", "x,y"]
      sub: !Sub "https://${Dist.DomainName}/${!literal}/${AWS::Region}"
      subvars: !Sub ["${Host}:${Port}", {Host: h, Port: 443}]
      maybe: !If [IsProd, on, !Ref AWS::NoValue]
      both: !If [Both, yes, no]
      list: [a, !If [IsProd, b, !Ref AWS::NoValue], c]
      azs: !GetAZs ""
      cidrs: !Cidr ["10.0.0.0/16", 2, 8]
      b64: !Base64 hi
      length: !Length [a, b]
      unknown: !GetAtt Dist.SomethingNew
      imported: !ImportValue shared-vpc
"""


def test_parameters_conditions_mappings_and_functions() -> None:
    t = _template(EVAL, region="eu-west-1", stack_name="shop", parameters={"Memory": "1024"})
    p = t.resources["Probe"].properties
    domain = t.getatt("Dist", "DomainName", ())
    assert domain.endswith(".cloudfront.net")
    assert p["region"] == "eu-west-1"
    assert p["account"] == "123456789012"
    assert p["stack"] == "shop"
    assert p["suffix"] == "amazonaws.com"
    assert p["tasks"] == 1
    assert p["memory"] == 1024
    assert p["second"] == "2"
    assert p["joined"] == f"a-dev-{t.getatt('Dist', 'Id', ())}"
    assert p["split"] == ["x", "y"]
    assert p["sub"] == f"https://{domain}/${{literal}}/eu-west-1"
    assert p["subvars"] == "h:443"
    assert "maybe" not in p  # AWS::NoValue removes the property
    assert p["both"] == "yes"
    assert p["list"] == ["a", "c"]
    assert p["azs"] == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    assert p["cidrs"] == ["10.0.0.0/24", "10.0.1.0/24"]
    assert p["b64"] == "aGk="
    assert p["length"] == 2
    assert p["unknown"] == "<Dist.SomethingNew>"
    assert p["imported"] == "<import:shared-vpc>"
    # stand-ins lead back to their resource, even inside longer strings
    assert t.owner(p["sub"]) == "Dist"
    assert t.owner(p["unknown"]) == "Dist"
    assert t.owner("example.com") is None


def test_stand_ins_are_deterministic() -> None:
    a = _template(EVAL).resources["Probe"].properties
    b = _template(EVAL).resources["Probe"].properties
    assert a == b


def test_names_and_durations() -> None:
    assert kebab("ApiUse1Function") == "api-use1-function"
    assert kebab("WebDist") == "web-dist"
    assert kebab("S3Bucket") == "s3-bucket"
    assert [duration(s) for s in (0, 5, 60, 3600, 86400, 604800, 90)] == [
        "0s",
        "5s",
        "60s",
        "1h",
        "1d",
        "7d",
        "90s",
    ]


# ---- conversions --------------------------------------------------------------------------

ROUTING = """\
Resources:
  Zone: {Type: AWS::Route53::HostedZone, Properties: {Name: example.com.}}
  FnA:
    Type: AWS::Lambda::Function
    Properties: {Runtime: nodejs20.x, MemorySize: 512, Timeout: 5}
  UrlA: {Type: AWS::Lambda::Url, Properties: {AuthType: NONE, TargetFunctionArn: !GetAtt FnA.Arn}}
  FnB:
    Type: AWS::Lambda::Function
    Properties: {Runtime: provided.al2023, ReservedConcurrentExecutions: 50}
  LiveB:
    Type: AWS::Lambda::Alias
    Properties:
      FunctionName: !Ref FnB
      FunctionVersion: "1"
      Name: live
      ProvisionedConcurrencyConfig: {ProvisionedConcurrentExecutions: 5}
  UrlB: {Type: AWS::Lambda::Url, Properties: {AuthType: NONE, TargetFunctionArn: !Ref LiveB}}
  Offices:
    Type: AWS::Route53::CidrCollection
    Properties:
      Name: offices
      Locations: [{LocationName: hq, CidrList: [203.0.113.0/24]}]
  CheckA:
    Type: AWS::Route53::HealthCheck
    Properties:
      HealthCheckConfig:
        Type: HTTPS_STR_MATCH
        FullyQualifiedDomainName: a.example.com
        RequestInterval: 30
        FailureThreshold: 2
        Regions: [us-east-1, us-west-2, eu-west-1]
        Inverted: false
  CheckB:
    Type: AWS::Route53::HealthCheck
    Properties:
      HealthCheckConfig:
        Type: TCP
        FullyQualifiedDomainName: !Select [2, !Split ["/", !GetAtt UrlB.FunctionUrl]]
        Regions: [us-east-1, mars-1]
  Both:
    Type: AWS::Route53::HealthCheck
    Properties:
      HealthCheckConfig: {Type: CALCULATED, ChildHealthChecks: [!Ref CheckA, !Ref CheckB, !Ref Gone], HealthThreshold: 1}
  Gone:
    Type: AWS::Route53::HealthCheck
    Properties: {HealthCheckConfig: {Type: HTTP, FullyQualifiedDomainName: elsewhere.example.net}}
  Alarmed:
    Type: AWS::Route53::HealthCheck
    Properties: {HealthCheckConfig: {Type: CLOUDWATCH_METRIC}}
  Records:
    Type: AWS::Route53::RecordSetGroup
    Properties:
      HostedZoneName: example.com.
      RecordSets:
        - {Name: a.example.com., Type: CNAME, TTL: 60, ResourceRecords: [!Select [2, !Split ["/", !GetAtt UrlA.FunctionUrl]]]}
        - {Name: b.example.com, Type: CNAME, ResourceRecords: [!Select [2, !Split ["/", !GetAtt UrlB.FunctionUrl]]]}
        - {Name: w.example.com, SetIdentifier: x, Weight: 10, Type: A, AliasTarget: {DNSName: a.example.com, HostedZoneId: !Ref Zone, EvaluateTargetHealth: true}, HealthCheckId: !Ref CheckA}
        - {Name: w.example.com, SetIdentifier: y, Weight: 0, Type: A, AliasTarget: {DNSName: b.example.com, HostedZoneId: !Ref Zone}}
        - {Name: l.example.com, SetIdentifier: use1, Region: us-east-1, Type: A, AliasTarget: {DNSName: a.example.com, HostedZoneId: !Ref Zone}}
        - {Name: f.example.com, SetIdentifier: p, Failover: PRIMARY, Type: A, AliasTarget: {DNSName: a.example.com, HostedZoneId: !Ref Zone}, HealthCheckId: !Ref Both}
        - {Name: f.example.com, SetIdentifier: s, Failover: SECONDARY, Type: A, AliasTarget: {DNSName: b.example.com, HostedZoneId: !Ref Zone}}
        - {Name: g.example.com, SetIdentifier: eu, GeoLocation: {ContinentCode: EU}, Type: A, AliasTarget: {DNSName: a.example.com, HostedZoneId: !Ref Zone}}
        - {Name: g.example.com, SetIdentifier: def, GeoLocation: {CountryCode: "*"}, Type: A, AliasTarget: {DNSName: b.example.com, HostedZoneId: !Ref Zone}}
        - {Name: p.example.com, SetIdentifier: r, GeoProximityLocation: {AWSRegion: us-east-1, Bias: 10}, Type: A, AliasTarget: {DNSName: a.example.com, HostedZoneId: !Ref Zone}}
        - {Name: p.example.com, SetIdentifier: c, GeoProximityLocation: {Coordinates: {Latitude: "51.5", Longitude: "-0.1"}}, Type: A, AliasTarget: {DNSName: b.example.com, HostedZoneId: !Ref Zone}}
        - {Name: m.example.com, SetIdentifier: one, MultiValueAnswer: true, Type: A, TTL: 30, ResourceRecords: [192.0.2.1]}
        - {Name: i.example.com, SetIdentifier: hq, CidrRoutingConfig: {CollectionId: !GetAtt Offices.Id, LocationName: hq}, Type: A, AliasTarget: {DNSName: a.example.com, HostedZoneId: !Ref Zone}}
        - {Name: i.example.com, SetIdentifier: rest, CidrRoutingConfig: {CollectionId: !GetAtt Offices.Id, LocationName: "*"}, Type: A, AliasTarget: {DNSName: b.example.com, HostedZoneId: !Ref Zone}}
        - {Name: txt.example.com, Type: TXT, TTL: 300, ResourceRecords: ['"v=spf1 -all"']}
        - {Name: other.example.org, Type: A, TTL: 300, ResourceRecords: [192.0.2.9]}
        - {Name: example.com, Type: SOA, TTL: 300, ResourceRecords: [x]}
"""


def test_route53_policies_health_checks_and_lambda() -> None:
    result = import_template("t.yaml", text=ROUTING)
    scn = result.scenario
    load_scenario_text(result.text(), "out.yaml")
    eps = {e["name"]: e for e in scn["endpoints"]}
    assert eps["fn-a"]["compute"] == {
        "type": "lambda",
        "runtime": "nodejs20.x",
        "memory": 512,
        "timeout": "5s",
    }
    assert eps["fn-b"]["compute"] == {
        "type": "lambda",
        "runtime": "provided.al2023",
        "concurrency": 50,
        "provisioned": 5,
    }
    records = {(r["name"], r.get("set")): r for r in scn["route53"]["zones"][0]["records"]}
    assert records[("a", None)] == {"name": "a", "alias": "endpoint:fn-a"}  # CNAME → alias
    assert records[("w", "x")] == {
        "name": "w",
        "alias": "record:a",
        "evaluate_target_health": True,
        "set": "x",
        "policy": "weighted",
        "weight": 10,
        "health_check": "check-a",
    }
    assert records[("l", "use1")]["policy"] == "latency"
    assert records[("l", "use1")]["region"] == "us-east-1"
    assert records[("f", "p")]["failover"] == "primary"
    assert records[("f", "p")]["health_check"] == "both"
    assert records[("g", "eu")]["continent"] == "EU"
    assert records[("g", "def")]["country"] == "*"
    assert records[("p", "r")] == {
        "name": "p",
        "alias": "record:a",
        "set": "r",
        "policy": "geoproximity",
        "location": "us-east-1",
        "bias": 10,
    }
    assert (records[("p", "c")]["lat"], records[("p", "c")]["lon"]) == (51.5, -0.1)
    assert records[("m", "one")] == {
        "name": "m",
        "values": ["192.0.2.1"],
        "ttl": "30s",
        "set": "one",
        "policy": "multivalue",
    }
    assert records[("i", "hq")]["policy"] == "ip"
    assert records[("i", "hq")]["collection"] == "offices"
    assert records[("txt", None)] == {
        "name": "txt",
        "type": "TXT",
        "values": ['"v=spf1 -all"'],
        "ttl": "300s",
    }
    checks = {c["name"]: c for c in scn["route53"]["health_checks"]}
    assert checks["check-a"] == {
        "name": "check-a",
        "type": "https",
        "target": "endpoint:fn-a",
        "interval": "30s",
        "failure_threshold": 2,
        "regions": ["us-east-1", "us-west-2", "eu-west-1"],
    }
    assert checks["check-b"]["target"] == "endpoint:fn-b"
    assert "regions" not in checks["check-b"]
    # a check on a host outside the template checks a placeholder endpoint standing for it
    assert checks["both"]["children"] == ["check-a", "check-b", "gone"]
    assert checks["gone"]["target"] == "endpoint:elsewhere-example-net"
    assert scn["route53"]["cidr_collections"] == [
        {"name": "offices", "locations": {"hq": ["203.0.113.0/24"]}}
    ]
    skipped = {s.where: s.reason for s in result.skipped}
    assert "Resources.Gone" not in skipped
    assert (
        skipped["Resources.Alarmed"] == "health checks of type CLOUDWATCH_METRIC are not modelled"
    )
    assert skipped["Resources.CheckB.Properties.HealthCheckConfig.Regions"].startswith(
        "fewer than 3"
    )
    assert (
        skipped["Resources.Records.Properties.RecordSets[16]"] == "record type SOA is not modelled"
    )
    assert (
        "is not inside zone example.com" in skipped["Resources.Records.Properties.RecordSets[15]"]
    )
    assert any("HTTPS_STR_MATCH is checked as https" in n for n in result.notes)
    # one workload per answered A name, POST to the functions
    hosts = [w["host"] for w in scn["workloads"]]
    assert "a.example.com" in hosts
    assert "m.example.com" not in hosts  # an address, not a target


CDN = """\
Parameters:
  Origin: {Type: String, Default: api.eu-west-1.example.net}
Resources:
  Logs: {Type: AWS::S3::Bucket}
  Policy:
    Type: AWS::CloudFront::CachePolicy
    Properties:
      CachePolicyConfig:
        Name: p
        MinTTL: 0
        DefaultTTL: 3600
        MaxTTL: 86400
        ParametersInCacheKeyAndForwardedToOrigin:
          EnableAcceptEncodingGzip: true
          EnableAcceptEncodingBrotli: true
          HeadersConfig: {HeaderBehavior: whitelist, Headers: [Accept-Language]}
          CookiesConfig: {CookieBehavior: allExcept, Cookies: [session]}
          QueryStringsConfig: {QueryStringBehavior: all}
  Forward:
    Type: AWS::CloudFront::OriginRequestPolicy
    Properties:
      OriginRequestPolicyConfig:
        Name: f
        HeadersConfig: {HeaderBehavior: whitelist, Headers: [X-Trace]}
        CookiesConfig: {CookieBehavior: all}
        QueryStringsConfig: {QueryStringBehavior: none}
  Dist:
    Type: AWS::CloudFront::Distribution
    Properties:
      DistributionConfig:
        Enabled: false
        PriceClass: PriceClass_100
        Origins:
          - {Id: primary, DomainName: !Ref Origin, CustomOriginConfig: {OriginProtocolPolicy: https-only}, OriginShield: {Enabled: true, OriginShieldRegion: eu-west-1}}
          - {Id: backup, DomainName: backup.example.net, CustomOriginConfig: {OriginProtocolPolicy: https-only}}
          - {Id: old-assets, DomainName: legacy-assets.s3.us-west-2.amazonaws.com, S3OriginConfig: {}}
        OriginGroups:
          Quantity: 1
          Items:
            - Id: ha
              FailoverCriteria: {StatusCodes: {Quantity: 2, Items: [502, 503]}}
              Members: {Quantity: 2, Items: [{OriginId: primary}, {OriginId: backup}]}
        DefaultCacheBehavior:
          TargetOriginId: ha
          ForwardedValues: {QueryString: true, QueryStringCacheKeys: [v], Cookies: {Forward: whitelist, WhitelistedNames: [lang]}}
          MinTTL: 0
          DefaultTTL: 600
          MaxTTL: 3600
        CacheBehaviors:
          - {PathPattern: /static/*, TargetOriginId: old-assets, CachePolicyId: !Ref Policy, AllowedMethods: [GET, HEAD], CachedMethods: [GET, HEAD]}
          - {PathPattern: /live/*, TargetOriginId: ha, CachePolicyId: !GetAtt Policy.Id, OriginRequestPolicyId: !Ref Forward, AllowedMethods: [GET, HEAD, OPTIONS], CachedMethods: [GET, HEAD, OPTIONS]}
          - {PathPattern: "*.jpg", TargetOriginId: old-assets, CachePolicyId: 00000000-0000-0000-0000-000000000000}
"""


def test_cloudfront_origins_groups_and_policies() -> None:
    result = import_template("t.yaml", text=CDN)
    load_scenario_text(result.text(), "out.yaml")
    scn = result.scenario
    (dist,) = scn["cloudfront"]["distributions"]
    assert dist["price_class"] == "100"
    assert dist["origin_shield"] == "eu-west-1"
    assert dist["origins"] == [
        {"name": "primary", "endpoint": "primary"},
        {"name": "backup", "endpoint": "backup"},
        {"name": "old-assets", "s3": {"bucket": "legacy-assets", "region": "us-west-2"}},
    ]
    assert [e["site"] for e in scn["endpoints"]] == ["region:eu-west-1", "region:us-east-1"]
    assert dist["origin_groups"] == [
        {"name": "ha", "primary": "primary", "secondary": "backup", "failover_on": [502, 503]}
    ]
    assert dist["default_origin"] == "ha"
    assert dist["cache_policy"] == {
        "min_ttl": "0s",
        "default_ttl": "600s",
        "max_ttl": "1h",
        "query_strings": "allow",
        "query_string_names": ["v"],
        "cookies": "allow",
        "cookie_names": ["lang"],
    }
    policy = {
        "min_ttl": "0s",
        "default_ttl": "1h",
        "max_ttl": "1d",
        "accept_encoding": ["gzip", "br"],
        "headers": ["Accept-Language"],
        "cookies": "all_except",
        "cookie_names": ["session"],
        "query_strings": "all",
    }
    static, live, jpg = dist["behaviors"]
    assert static == {
        "path": "/static/*",
        "origin": "old-assets",
        "cache_policy": policy,
        "allowed_methods": "GET_HEAD",
    }
    assert live["cache_policy"] == policy
    assert live["origin_request_policy"] == {"headers": ["X-Trace"], "cookies": "all"}
    assert live["cache_options"] is True
    assert "cache_policy" not in jpg
    skipped = {s.where: s.reason for s in result.skipped}
    where = "Resources.Dist.Properties.DistributionConfig.CacheBehaviors[2].CachePolicyId"
    assert skipped[where].startswith("cache policy '00000000-0000-0000-0000-000000000000'")
    assert skipped["Resources.Logs (AWS::S3::Bucket)"].startswith("no AccelerateConfiguration")
    assert any("Dist is disabled" in n for n in result.notes)
    # a distribution no record aliases gets its own workloads, by target
    names = {w["name"]: w for w in scn["workloads"]}
    assert names["dist"]["target"] == "cloudfront:dist"
    assert names["dist-static"]["path_prefix"] == "/static/"
    assert "dist-live" in names


ACCEL = """\
Resources:
  Env:
    Type: AWS::ElasticBeanstalk::Environment
    Properties:
      ApplicationName: app
      OptionSettings:
        - {Namespace: "aws:autoscaling:asg", OptionName: MinSize, Value: "2"}
        - {Namespace: "aws:autoscaling:asg", OptionName: MaxSize, Value: "6"}
        - {Namespace: "aws:ec2:instances", OptionName: InstanceTypes, Value: t3.small}
  Svc:
    Type: AWS::ECS::Service
    Metadata: {edgesim: {region: ap-northeast-1}}
    Properties: {LaunchType: EC2, DesiredCount: 3, LoadBalancers: [{TargetGroupArn: !Ref Tg}]}
  Tg: {Type: AWS::ElasticLoadBalancingV2::TargetGroup, Properties: {Port: 80}}
  Lb: {Type: AWS::ElasticLoadBalancingV2::LoadBalancer, Properties: {Scheme: internet-facing}}
  L:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties: {LoadBalancerArn: !Ref Lb, DefaultActions: [{Type: forward, TargetGroupArn: !Ref Tg}]}
  Acc: {Type: AWS::GlobalAccelerator::Accelerator, Properties: {Name: acc, IpAddresses: [192.0.2.10, 192.0.2.11]}}
  Tcp:
    Type: AWS::GlobalAccelerator::Listener
    Properties: {AcceleratorArn: !GetAtt Acc.AcceleratorArn, Protocol: TCP, PortRanges: [{FromPort: 80, ToPort: 80}, {FromPort: 443, ToPort: 443}, {FromPort: 8000, ToPort: 8100}]}
  Tokyo:
    Type: AWS::GlobalAccelerator::EndpointGroup
    Properties:
      ListenerArn: !Ref Tcp
      EndpointGroupRegion: ap-northeast-1
      TrafficDialPercentage: 50
      HealthCheckIntervalSeconds: 30
      EndpointConfigurations: [{EndpointId: !Ref Lb, Weight: 200}]
  Virginia:
    Type: AWS::GlobalAccelerator::EndpointGroup
    Properties:
      ListenerArn: !Ref Tcp
      EndpointGroupRegion: us-east-1
      EndpointConfigurations: [{EndpointId: !Ref Env}]
  Udp:
    Type: AWS::GlobalAccelerator::Listener
    Properties: {AcceleratorArn: !Ref Acc, Protocol: UDP, PortRanges: [{FromPort: 53, ToPort: 53}]}
  Uploads:
    Type: AWS::S3::Bucket
    Properties: {BucketName: my-uploads, AccelerateConfiguration: {AccelerationStatus: Enabled}}
  Dotted:
    Type: AWS::S3::Bucket
    Properties: {BucketName: my.dotted, AccelerateConfiguration: {AccelerationStatus: Enabled}}
"""


def test_accelerator_compute_and_buckets() -> None:
    result = import_template("t.yaml", text=ACCEL)
    scn = result.scenario
    eps = {e["name"]: e for e in scn["endpoints"]}
    assert eps["env"]["compute"] == {"type": "beanstalk", "min": 2, "max": 6}
    assert eps["svc"]["site"] == "region:ap-northeast-1"
    assert eps["svc"]["compute"] == {
        "type": "ecs-ec2",
        "min": 1,
        "max": 3,
        "desired": 3,
        "autoscaling": False,
    }
    (acc,) = scn["accelerators"]
    assert acc["ip_addresses"] == ["192.0.2.10", "192.0.2.11"]
    (listener,) = acc["listeners"]  # the UDP listener has no endpoint group
    assert listener["port_ranges"] == [80, 443, "8000-8100"]
    assert listener["endpoint_groups"] == [
        {
            "region": "ap-northeast-1",
            "traffic_dial": 50,
            "health_check": {"interval": "30s"},
            "endpoints": [{"endpoint": "endpoint:svc", "weight": 200}],
        },
        {"region": "us-east-1", "endpoints": [{"endpoint": "endpoint:env"}]},
    ]
    assert scn["s3"]["buckets"] == [
        {"name": "my-uploads", "region": "us-east-1", "transfer_acceleration": True},
        {"name": "my.dotted", "region": "us-east-1", "transfer_acceleration": False},
    ]
    skipped = {s.where: s.reason for s in result.skipped}
    assert skipped["Resources.Udp"] == "a listener with no endpoint groups"
    assert "has a dot in its name" in skipped["Resources.Dotted.Properties.AccelerateConfiguration"]
    assert (
        "aws:ec2:instances:InstanceTypes" in skipped["Resources.Env.Properties.OptionSettings[2]"]
    )
    # the listener and target group were read as the way to the service
    assert "Resources.L (AWS::ElasticLoadBalancingV2::Listener)" not in skipped
    work = {w["name"]: w for w in scn["workloads"]}
    assert work["acc"]["target"] == "accelerator:acc"
    assert work["upload-my-uploads"]["target"] == "s3-accelerate:my-uploads"
    assert work["upload-my.dotted"]["target"] == "s3:my.dotted"
    text = result.text()
    scn_model, index, file = load_scenario_text(text, "out.yaml")
    prepare(scn_model, index, file)  # every reference holds on aws-world


def test_header_lists_skips_and_edit_me() -> None:
    text = import_template("t.yaml", text=ACCEL).text()
    head = text.split("edgesim: 1")[0]
    assert head.startswith("# Imported from t.yaml by `edgesim import cloudformation`.")
    assert "EDIT ME" in head
    assert "#   - Resources.Udp: a listener with no endpoint groups" in head


# ---- the shop example ------------------------------------------------------------------------


def test_shop_reimports_to_the_committed_scenario() -> None:
    text = import_template(SHOP, check=True).text()
    assert text == SHOP_SCENARIO.read_text(encoding="utf-8")


def test_cli_writes_the_same_file(tmp_path: Path) -> None:
    out = tmp_path / "shop.yaml"
    result = CliRunner().invoke(import_, ["cloudformation", str(SHOP), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == SHOP_SCENARIO.read_text(encoding="utf-8")
    assert "skipped" in result.output
    assert "Resources.ApiRole (AWS::IAM::Role)" in result.output


def test_parameters_change_the_import() -> None:
    staging = import_template(SHOP, parameters={"Env": "staging", "ApiMemory": "256"})
    eps = {e["name"]: e for e in staging.scenario["endpoints"]}
    assert eps["api-function-use1"]["compute"] == {
        "type": "lambda",
        "runtime": "python3.12",
        "memory": 256,
        "timeout": "10s",
    }
    assert eps["checkout-service-use1"]["compute"]["max"] == 2
    assert any("Resources.AccessLogs" in s.where and "IsProd" in s.reason for s in staging.skipped)


@pytest.fixture(scope="module")
def shop_run() -> Results:
    text = SHOP_SCENARIO.read_text(encoding="utf-8")
    scn, index, file = load_scenario_text(text, str(SHOP_SCENARIO))
    run = prepare(scn, index, file)
    run.execute(None)
    results = Results(run)
    results.report = build_report(results)
    return results


@pytest.mark.slow
def test_the_imported_shop_runs(shop_run: Results) -> None:
    r = shop_run
    for w in ("www", "www-api", "www-img", "api", "checkout", "upload-shop-uploads"):
        assert r.requests(workload=w) > 10_000
        assert r.availability(workload=w) >= 0.99
    assert r.hit_ratio("web-distribution") > 0.2
    # dynamic calls through CloudFront and Global Accelerator stay well under a second at p50
    assert r.latency(workload="checkout").p50 < 400
    assert r.latency(workload="api").p50 < 600
    # a 20 MB accelerated upload takes seconds
    assert r.latency(workload="upload-shop-uploads").p50 > 1000
    lam = r.report["services"]["endpoints"]["api-function-use1"]["compute"]
    assert lam["memory_mb"] == 1024
    assert lam["cold_starts"] > 0


OUTSIDE = """
Resources:
  Zone:
    Type: AWS::Route53::HostedZone
    Properties: {Name: example.com}
  Primary:
    Type: AWS::Route53::RecordSet
    Properties:
      HostedZoneId: !Ref Zone
      Name: api.example.com
      Type: CNAME
      TTL: 60
      SetIdentifier: primary
      Failover: PRIMARY
      HealthCheckId: !Ref Check
      ResourceRecords: [api.partner.example.org]
  Secondary:
    Type: AWS::Route53::RecordSet
    Properties:
      HostedZoneId: !Ref Zone
      Name: api.example.com
      Type: CNAME
      TTL: 60
      SetIdentifier: secondary
      Failover: SECONDARY
      ResourceRecords: [api-dr.partner.example.org]
  Check:
    Type: AWS::Route53::HealthCheck
    Properties:
      HealthCheckConfig:
        Type: HTTPS
        FullyQualifiedDomainName: api.partner.example.org
        RequestInterval: 10
        FailureThreshold: 2
  Acc:
    Type: AWS::GlobalAccelerator::Accelerator
    Properties: {Name: acc}
  Lis:
    Type: AWS::GlobalAccelerator::Listener
    Properties:
      AcceleratorArn: !Ref Acc
      Protocol: TCP
      PortRanges: [{FromPort: 443, ToPort: 443}]
  Grp:
    Type: AWS::GlobalAccelerator::EndpointGroup
    Properties:
      ListenerArn: !Ref Lis
      EndpointGroupRegion: eu-west-1
      EndpointConfigurations:
        - EndpointId: arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/checkout/50dc6c495c0c9188
          Weight: 50
        - EndpointId: arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/pay/7f2c
          Weight: 10
"""


def test_outside_resources_become_placeholder_endpoints() -> None:
    """An endpoint given by ARN (a load balancer of another stack) or a health check on an
    outside host keeps what the template says about it (weight, interval, threshold)."""
    result = import_template("t.yaml", text=OUTSIDE, check=True)
    scn = result.scenario
    eps = {e["name"]: e for e in scn["endpoints"]}
    assert eps["checkout"]["site"] == "region:eu-west-1"  # the ARN's Region
    ((acc,),) = [scn["accelerators"]]
    (group,) = acc["listeners"][0]["endpoint_groups"]
    assert eps["pay"]["site"] == "region:eu-west-1"
    assert group["endpoints"] == [
        {"endpoint": "endpoint:checkout", "weight": 50},
        {"endpoint": "endpoint:pay", "weight": 10},
    ]
    (check,) = scn["route53"]["health_checks"]
    assert (check["interval"], check["failure_threshold"]) == ("10s", 2)
    assert check["target"] == f"endpoint:{next(n for n in eps if n.startswith('api-partner'))}"
    skipped = " ".join(s.render() for s in result.skipped)
    for word in ("Weight", "RequestInterval", "FailureThreshold", "EndpointId"):
        assert word not in skipped
    assert sum("placeholder endpoint" in n for n in result.notes) == 3
