"""edgesim import terraform: `terraform show -json` (state or plan) and raw tfstate → scenario."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from edgesim.cli import main
from edgesim.errors import InputError
from edgesim.terraform import import_terraform, translate

DATA = Path(__file__).resolve().parents[1] / "data" / "terraform"
STATE = DATA / "shop.state.json"


def _state() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(STATE.read_text())
    return doc


def _import(doc: dict[str, Any], name: str = "t.json", **kw: Any) -> Any:
    return import_terraform(name, text=json.dumps(doc), **kw)


@pytest.fixture(scope="module")
def shop() -> Any:
    return import_terraform(STATE, check=True)  # check: the scenario loads on aws-world


def _by(items: list[dict[str, Any]], key: str, value: Any) -> dict[str, Any]:
    found = [i for i in items if i.get(key) == value]
    assert len(found) == 1, f"{key}={value!r} in {items}"
    return found[0]


def test_route53_latency_records_and_health_check(shop: Any) -> None:
    zone = _by(shop.scenario["route53"]["zones"], "name", "shop.example.com")
    api = [r for r in zone["records"] if r["name"] == "api"]
    assert {(r["policy"], r["region"], r["alias"]) for r in api} == {
        ("latency", "us-east-1", "endpoint:api-use1"),
        ("latency", "eu-west-1", "endpoint:api-euw1"),
    }
    check = shop.scenario["route53"]["health_checks"][0]
    # request_interval and failure_threshold are carried over, not dropped
    assert (check["interval"], check["failure_threshold"]) == ("10s", 2)
    assert check["target"] == "endpoint:api-use1"  # the check's fqdn is the function URL
    assert _by(api, "region", "us-east-1")["health_check"] == check["name"]


def test_lambda_endpoints_follow_their_regions(shop: Any) -> None:
    eps = shop.scenario["endpoints"]
    use1 = _by(eps, "name", "api-use1")
    assert use1["site"] == "region:us-east-1"
    assert use1["compute"]["concurrency"] == 300  # reserved concurrency
    euw1 = _by(eps, "name", "api-euw1")
    assert euw1["site"] == "region:eu-west-1"
    assert "concurrency" not in euw1["compute"]  # -1 in Terraform: unreserved


def test_cloudfront_distribution_policy_and_behaviours(shop: Any) -> None:
    dist = shop.scenario["cloudfront"]["distributions"][0]
    assert dist["origin_shield"] == "us-east-1"
    assert _by(dist["origins"], "name", "assets")["s3"] == {
        "bucket": "shop-assets",
        "region": "us-east-1",
    }
    assert _by(dist["origins"], "name", "api")["endpoint"] == "api-use1"
    pol = dist["cache_policy"]  # aws_cloudfront_cache_policy.assets, found by its ID
    assert (pol["min_ttl"], pol["default_ttl"], pol["max_ttl"]) == ("1s", "1d", "365d")
    assert pol["query_string_names"] == ["v"]
    beh = _by(dist["behaviors"], "path", "/api/*")
    assert beh["cache_policy"] == "CachingDisabled"  # the managed policy's ID


def test_global_accelerator_dials_weights_affinity(shop: Any) -> None:
    (acc,) = shop.scenario["accelerators"]
    (lis,) = acc["listeners"]
    assert lis["client_affinity"] == "SOURCE_IP"
    groups = {g["region"]: g for g in lis["endpoint_groups"]}
    assert groups["eu-west-1"]["traffic_dial"] == 50
    assert groups["us-east-1"]["endpoints"] == [
        {"endpoint": "endpoint:checkout-use1", "weight": 200}
    ]
    # the ECS service behind the load balancer in the endpoint group's ARN, in its Region
    assert _by(shop.scenario["endpoints"], "name", "checkout-euw1")["site"] == "region:eu-west-1"


def test_accelerated_bucket_from_its_own_resource(shop: Any) -> None:
    (bucket,) = shop.scenario["s3"]["buckets"]
    assert bucket == {
        "name": "shop-uploads",
        "region": "ap-southeast-2",
        "transfer_acceleration": True,
    }


def test_unknown_types_are_listed_by_address_never_fatal(shop: Any) -> None:
    where = {s.where: s.reason for s in shop.skipped}
    assert "is not a resource type edgesim models" in where["aws_iam_role.api"]
    assert "not an AWS resource" in where["random_id.suffix"]
    # converter messages name Terraform addresses, not internal logical IDs
    assert all(not w.startswith("Resources.") for w in where)
    assert any(w.startswith("aws_cloudfront_distribution.shop.") for w in where)
    assert shop.scenario["name"] == "shop.state (imported from Terraform)"
    assert "by `edgesim import terraform`" in shop.text()


def _plan() -> dict[str, Any]:
    """A saved plan: the distribution's domain name is unknown until apply, so the record's
    alias comes from the configuration's reference."""
    dist = {
        "address": "aws_cloudfront_distribution.cdn",
        "mode": "managed",
        "type": "aws_cloudfront_distribution",
        "name": "cdn",
        "values": {
            "enabled": True,
            "price_class": "PriceClass_100",
            "origin": [{"origin_id": "web", "domain_name": "web.example.org"}],
            "default_cache_behavior": [
                {"target_origin_id": "web", "allowed_methods": ["GET", "HEAD"]}
            ],
        },
    }
    zone = {
        "address": "aws_route53_zone.z",
        "mode": "managed",
        "type": "aws_route53_zone",
        "name": "z",
        "values": {"name": "example.net"},
    }
    record = {
        "address": "aws_route53_record.www",
        "mode": "managed",
        "type": "aws_route53_record",
        "name": "www",
        "values": {
            "name": "www.example.net",
            "type": "A",
            "alias": [{"evaluate_target_health": False, "zone_id": "Z2FDTNDATAQYW2"}],
        },
    }
    conf = {
        "provider_config": {
            "aws": {"name": "aws", "expressions": {"region": {"constant_value": "eu-west-1"}}}
        },
        "root_module": {
            "resources": [
                {"address": "aws_cloudfront_distribution.cdn", "provider_config_key": "aws"},
                {"address": "aws_route53_zone.z", "provider_config_key": "aws"},
                {
                    "address": "aws_route53_record.www",
                    "provider_config_key": "aws",
                    "expressions": {
                        "zone_id": {
                            "references": ["aws_route53_zone.z.zone_id", "aws_route53_zone.z"]
                        },
                        "alias": [
                            {
                                "name": {
                                    "references": [
                                        "aws_cloudfront_distribution.cdn.domain_name",
                                        "aws_cloudfront_distribution.cdn",
                                    ]
                                }
                            }
                        ],
                    },
                },
            ]
        },
    }
    return {
        "format_version": "1.2",
        "terraform_version": "1.9.5",
        "planned_values": {"root_module": {"resources": [dist, zone, record]}},
        "resource_changes": [],
        "configuration": conf,
    }


def test_plan_unknown_values_follow_configuration_references() -> None:
    res = _import(_plan(), "plan.json", check=True)
    zone = _by(res.scenario["route53"]["zones"], "name", "example.net")
    www = _by(zone["records"], "name", "www")
    assert www["alias"] == "cloudfront:cdn"
    dist = _by(res.scenario["cloudfront"]["distributions"], "name", "cdn")
    assert dist["price_class"] == "100"


def test_translation_of_references() -> None:
    tr = translate(_plan(), "plan.json")
    props = tr.template["Resources"]["Www"]["Properties"]
    assert props["HostedZoneId"] == {"Ref": "Z"}
    assert props["AliasTarget"]["DNSName"] == {"Fn::GetAtt": ["Cdn", "DomainName"]}
    # the provider configuration's region
    assert tr.template["Resources"]["Cdn"]["Metadata"]["edgesim"]["region"] == "eu-west-1"
    assert tr.kind == "plan"


def test_raw_tfstate_file() -> None:
    state = _state()
    resources = []
    for r in state["values"]["root_module"]["resources"]:
        if r["type"] not in ("aws_route53_zone", "aws_route53_record", "aws_lambda_function"):
            continue
        resources.append(
            {
                "mode": r["mode"],
                "type": r["type"],
                "name": r["name"],
                "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
                "instances": [
                    {"index_key": r.get("index"), "schema_version": 0, "attributes": r["values"]}
                ],
            }
        )
    raw = {"version": 4, "terraform_version": "1.9.5", "serial": 3, "resources": resources}
    res = _import(raw, "terraform.tfstate")
    zone = _by(res.scenario["route53"]["zones"], "name", "shop.example.com")
    assert {r["region"] for r in zone["records"] if r["name"] == "api"} == {
        "us-east-1",
        "eu-west-1",
    }


# ---- bad input ---------------------------------------------------------------------------------
def _cli(tmp_path: Path, text: str | bytes) -> tuple[int, str]:
    src = tmp_path / "in.json"
    if isinstance(text, bytes):
        src.write_bytes(text)
    else:
        src.write_text(text)
    out = tmp_path / "out.yaml"
    res = CliRunner().invoke(main, ["import", "terraform", str(src), "-o", str(out)])
    return res.exit_code, res.output


def test_not_json_names_line_and_column(tmp_path: Path) -> None:
    code, text = _cli(tmp_path, '{\n  "values": {\n    "root_module": ,\n')
    assert code == 2
    assert "in.json:3:" in text
    assert "Traceback" not in text


@pytest.mark.parametrize(
    "doc",
    [
        {"AWSTemplateFormatVersion": "2010-09-09", "Resources": {}},  # CloudFormation
        [1, 2, 3],
        {"format_version": "1.0"},  # neither values nor planned_values
    ],
)
def test_json_that_is_not_plan_or_state(tmp_path: Path, doc: Any) -> None:
    code, text = _cli(tmp_path, json.dumps(doc))
    assert code == 2
    assert "not the JSON of a Terraform plan or state" in text
    assert "terraform show -json" in text


def test_empty_state_and_binary_file(tmp_path: Path) -> None:
    empty = {"format_version": "1.0", "terraform_version": "1.9.5", "values": {"root_module": {}}}
    code, text = _cli(tmp_path, json.dumps(empty))
    assert code == 2
    assert "has no resources" in text
    code, text = _cli(tmp_path, b"\xff\xfe{}")
    assert code == 2
    assert "not UTF-8" in text
    with pytest.raises(InputError, match="file not found"):
        import_terraform(tmp_path / "nope.json")


def test_cli_writes_a_runnable_scenario(tmp_path: Path) -> None:
    out = tmp_path / "shop.yaml"
    res = CliRunner().invoke(main, ["import", "terraform", str(STATE), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "skipped" in res.output
    assert "aws_iam_role.api" in res.output
    from edgesim.scenario.loader import load_scenario_text

    load_scenario_text(out.read_text(), str(out))  # loads (the import's --check prepared it)


def test_malformed_resources_are_skipped_not_fatal() -> None:
    doc = _state()
    doc = copy.deepcopy(doc)
    doc["values"]["root_module"]["resources"].append({"address": "x", "values": None})
    doc["values"]["root_module"]["resources"].append(
        {"address": "aws_s3_bucket.odd", "type": "aws_s3_bucket", "values": None}
    )
    res = _import(doc)
    assert res.scenario["s3"]["buckets"]


def _r(rtype: str, name: str, values: dict[str, Any]) -> dict[str, Any]:
    return {
        "address": f"{rtype}.{name}",
        "mode": "managed",
        "type": rtype,
        "name": name,
        "values": values,
    }


def _rec(name: str, extra: dict[str, Any]) -> dict[str, Any]:
    base = {"zone_id": "ZK", "name": f"{name}.k.example", "type": "A", "ttl": 60}
    return _r("aws_route53_record", name.replace("-", "_"), base | extra)


def test_every_routing_policy_and_more_types() -> None:
    arn = "arn:aws:elasticloadbalancing:ap-northeast-1:1:loadbalancer/app/web/1"
    tg = "arn:aws:elasticloadbalancing:ap-northeast-1:1:targetgroup/web/1"
    res = [
        _r("aws_route53_zone", "k", {"name": "k.example", "zone_id": "ZK"}),
        _r(
            "aws_route53_health_check",
            "calc",
            {
                "id": "hc-calc",
                "type": "CALCULATED",
                "child_healthchecks": ["hc-web"],
                "child_health_threshold": 1,
            },
        ),
        _r(
            "aws_route53_health_check",
            "web",
            {
                "id": "hc-web",
                "type": "HTTP",
                "fqdn": "web-1.ap-northeast-1.elb.amazonaws.com",
                "request_interval": 30,
                "failure_threshold": 3,
            },
        ),
        _rec(
            "w1",
            {
                "records": ["192.0.2.1"],
                "set_identifier": "a",
                "weighted_routing_policy": [{"weight": 70}],
            },
        ),
        _rec(
            "w1",
            {
                "records": ["192.0.2.2"],
                "set_identifier": "b",
                "weighted_routing_policy": [{"weight": 30}],
            },
        ),
        _rec(
            "fo",
            {
                "records": ["192.0.2.3"],
                "set_identifier": "p",
                "failover_routing_policy": [{"type": "PRIMARY"}],
                "health_check_id": "hc-web",
            },
        ),
        _rec(
            "fo",
            {
                "records": ["192.0.2.4"],
                "set_identifier": "s",
                "failover_routing_policy": [{"type": "SECONDARY"}],
            },
        ),
        _rec(
            "geo",
            {
                "records": ["192.0.2.5"],
                "set_identifier": "jp",
                "geolocation_routing_policy": [{"country": "JP"}],
            },
        ),
        _rec(
            "geo",
            {
                "records": ["192.0.2.6"],
                "set_identifier": "any",
                "geolocation_routing_policy": [{"country": "*"}],
            },
        ),
        _rec(
            "gp",
            {
                "records": ["192.0.2.7"],
                "set_identifier": "t",
                "geoproximity_routing_policy": [{"aws_region": "ap-northeast-1", "bias": 10}],
            },
        ),
        _rec(
            "gp",
            {
                "records": ["192.0.2.8"],
                "set_identifier": "c",
                "geoproximity_routing_policy": [
                    {"coordinates": [{"latitude": "51.50", "longitude": "-0.12"}]}
                ],
            },
        ),
        _rec(
            "mv",
            {
                "records": ["192.0.2.9"],
                "set_identifier": "m1",
                "multivalue_answer_routing_policy": True,
            },
        ),
        _r("aws_route53_cidr_collection", "office", {"id": "col-1", "name": "office"}),
        _r(
            "aws_route53_cidr_location",
            "hq",
            {"cidr_collection_id": "col-1", "name": "hq", "cidr_blocks": ["198.51.100.0/24"]},
        ),
        _rec(
            "ip",
            {
                "records": ["192.0.2.10"],
                "set_identifier": "hq",
                "cidr_routing_policy": [{"collection_id": "col-1", "location_name": "hq"}],
            },
        ),
        _rec(
            "ip",
            {
                "records": ["192.0.2.11"],
                "set_identifier": "rest",
                "cidr_routing_policy": [{"collection_id": "col-1", "location_name": "*"}],
            },
        ),
        _r(
            "aws_lb",
            "web",
            {
                "arn": arn,
                "name": "web",
                "load_balancer_type": "application",
                "dns_name": "web-1.ap-northeast-1.elb.amazonaws.com",
            },
        ),
        _r("aws_lb_target_group", "web", {"arn": tg, "name": "web", "port": 80}),
        _r(
            "aws_lb_listener",
            "web",
            {
                "load_balancer_arn": arn,
                "port": 80,
                "default_action": [
                    {"type": "forward", "forward": [{"target_group": [{"arn": tg, "weight": 1}]}]}
                ],
            },
        ),
        _r(
            "aws_autoscaling_group",
            "web",
            {
                "name": "web",
                "min_size": 2,
                "max_size": 6,
                "desired_capacity": 3,
                "target_group_arns": [tg],
                "availability_zones": ["ap-northeast-1a"],
            },
        ),
        _r(
            "aws_instance",
            "bastion",
            {"id": "i-1", "instance_type": "t3.micro", "availability_zone": "eu-central-1b"},
        ),
        _r(
            "aws_eip",
            "bastion",
            {"id": "eipalloc-1", "instance": "i-1", "public_ip": "203.0.113.9"},
        ),
        _rec("bastion", {"records": ["203.0.113.9"]}),
        _r(
            "aws_lambda_function",
            "fn",
            {
                "function_name": "fn",
                "runtime": "nodejs20.x",
                "memory_size": 512,
                "arn": "arn:aws:lambda:us-west-2:1:function:fn",
            },
        ),
        _r(
            "aws_lambda_provisioned_concurrency_config",
            "fn",
            {"function_name": "fn", "qualifier": "live", "provisioned_concurrent_executions": 5},
        ),
        _r(
            "aws_lambda_function_url",
            "fn",
            {"function_name": "fn", "function_url": "https://fnurl.lambda-url.us-west-2.on.aws/"},
        ),
        _r(
            "aws_cloudfront_origin_request_policy",
            "all",
            {
                "id": "orp-1",
                "name": "all",
                "cookies_config": [{"cookie_behavior": "all"}],
                "headers_config": [{"header_behavior": "none"}],
                "query_strings_config": [{"query_string_behavior": "all"}],
            },
        ),
        _r(
            "aws_cloudfront_distribution",
            "site",
            {
                "enabled": True,
                "price_class": "PriceClass_200",
                "origin": [
                    {"origin_id": "lb", "domain_name": "web-1.ap-northeast-1.elb.amazonaws.com"},
                    {"origin_id": "fn", "domain_name": "fnurl.lambda-url.us-west-2.on.aws"},
                ],
                "origin_group": [
                    {
                        "origin_id": "both",
                        "failover_criteria": [{"status_codes": [500, 503]}],
                        "member": [{"origin_id": "lb"}, {"origin_id": "fn"}],
                    }
                ],
                "default_cache_behavior": [
                    {
                        "target_origin_id": "both",
                        "min_ttl": 0,
                        "default_ttl": 300,
                        "max_ttl": 3600,
                        "origin_request_policy_id": "orp-1",
                        "forwarded_values": [
                            {"query_string": True, "headers": [], "cookies": [{"forward": "none"}]}
                        ],
                    }
                ],
                "restrictions": [
                    {"geo_restriction": [{"restriction_type": "blacklist", "locations": ["KP"]}]}
                ],
            },
        ),
        _r(
            "aws_elastic_beanstalk_environment",
            "eb",
            {
                "name": "eb",
                "cname": "eb.eu-west-2.elasticbeanstalk.com",
                "tier": "WebServer",
                "setting": [{"namespace": "aws:autoscaling:asg", "name": "MaxSize", "value": "4"}],
            },
        ),
    ]
    doc = {
        "format_version": "1.0",
        "terraform_version": "1.9.5",
        "values": {
            "root_module": {"resources": res[:3]}
            | {"child_modules": [{"address": "module.m", "resources": res[3:]}]}
        },
    }
    out = _import(doc, "kitchen.json", check=True)
    zone = _by(out.scenario["route53"]["zones"], "name", "k.example")
    policies = {(r["name"], r.get("policy", "simple")) for r in zone["records"]}
    assert {("w1", "weighted"), ("fo", "failover"), ("geo", "geolocation")} <= policies
    assert {("gp", "geoproximity"), ("mv", "multivalue"), ("ip", "ip")} <= policies
    assert [c["name"] for c in out.scenario["route53"]["cidr_collections"]] == ["office"]
    eps = {e["name"]: e for e in out.scenario["endpoints"]}
    assert eps["web"]["site"] == "region:ap-northeast-1"  # from the load balancer's ARN
    assert eps["fn"]["site"] == "region:us-west-2"
    assert eps["fn"]["compute"]["provisioned"] == 5
    dist = out.scenario["cloudfront"]["distributions"][0]
    assert dist["price_class"] == "200"
    assert {o["name"] for o in dist["origins"]} >= {"lb", "fn"}
    where = {s.where for s in out.skipped}
    assert not any(w.startswith("Resources.") for w in where)


def test_systems_manager_resources_match_the_cloudformation_import() -> None:
    """Terraform's SSM and AppConfig resources map onto the same ``ssm:`` section as
    CloudFormation's (tests/data/ssm-template.yaml is the same fleet)."""
    window_id, target_id, app_id = "mw-0abc", "tgt-1", "app1"
    res = [
        _r("aws_autoscaling_group", "web_group", {
            "name": "web", "min_size": 6, "max_size": 6,
            "tag": [{"key": "Patch Group", "value": "web", "propagate_at_launch": True}]}),
        _r("aws_ssm_maintenance_window", "patch", {
            "id": window_id, "name": "patch-tuesday", "schedule": "cron(0 18 ? * TUE#2 *)",
            "schedule_timezone": "UTC", "duration": 2, "cutoff": 1}),
        _r("aws_ssm_maintenance_window_target", "web", {
            "id": target_id, "window_id": window_id, "resource_type": "INSTANCE",
            "targets": [{"key": "tag:Patch Group", "values": ["web"]}]}),
        _r("aws_ssm_maintenance_window_task", "patch", {
            "window_id": window_id, "task_arn": "AWS-RunPatchBaseline", "task_type": "RUN_COMMAND",
            "priority": 1, "max_concurrency": "25%", "max_errors": "1",
            "cutoff_behavior": "CANCEL_TASK",
            "targets": [{"key": "WindowTargetIds", "values": [target_id]}],
            "task_invocation_parameters": [{"run_command_parameters": [{
                "timeout_seconds": 3600,
                "parameter": [{"name": "Operation", "values": ["Install"]},
                              {"name": "RebootOption", "values": ["RebootIfNeeded"]}]}]}]}),
        _r("aws_ssm_document", "restart", {
            "name": "rolling-restart", "document_type": "Command", "document_format": "YAML",
            "content": "schemaVersion: '2.2'\nmainSteps:\n"
            "  - {action: 'edgesim:restart', name: restart, inputs: {warmup: 60s}}\n"}),
        _r("aws_ssm_parameter", "flags", {
            "name": "/app/flags", "type": "String", "tier": "Standard", "value": "x"}),
        _r("aws_appconfig_application", "app", {"id": app_id, "name": "shop"}),
        _r("aws_appconfig_environment", "prod", {"application_id": app_id, "name": "prod"}),
        _r("aws_appconfig_configuration_profile", "flags", {
            "application_id": app_id, "name": "flags", "location_uri": "hosted"}),
        _r("aws_appconfig_deployment_strategy", "linear", {
            "name": "linear-20", "growth_type": "LINEAR", "growth_factor": 20,
            "deployment_duration_in_minutes": 20, "final_bake_time_in_minutes": 5}),
    ]  # fmt: skip
    doc = {"format_version": "1.0", "terraform_version": "1.9.5",
           "values": {"root_module": {"resources": res}}}  # fmt: skip
    out = _import(doc, "ssm.json", check=True)
    ssm = out.scenario["ssm"]
    (window,) = ssm["maintenance_windows"]
    assert (window["name"], window["duration"], window["cutoff"]) == ("patch-tuesday", "2h", "1h")
    (task,) = window["tasks"]
    assert task["targets"] == ["tag:Patch Group=web"]
    assert (task["max_concurrency"], task["max_errors"]) == ("25%", 1)
    assert task["timeout"] == "3600s"
    assert ssm["fleets"] == [{"endpoint": "web-group", "tags": {"Patch Group": "web"}}]
    assert [d["name"] for d in ssm["documents"]] == ["rolling-restart"]
    assert ssm["parameter_store"]["parameters"] == [
        {"name": "/app/flags", "tier": "Standard", "type": "String"}
    ]
    (app,) = ssm["appconfig"]["applications"]
    assert (app["environments"], app["profiles"]) == (["prod"], ["flags"])
