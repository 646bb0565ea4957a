"""CloudFormation converters are registered by resource type (edgesim/cfn/convert.py)."""

from __future__ import annotations

from edgesim.cfn.convert import CONVERTERS, converter_modules, resource_types


def test_each_resource_type_has_exactly_one_converter() -> None:
    seen: dict[str, str] = {}
    for name, module in zip(CONVERTERS, converter_modules(), strict=True):
        assert module.RESOURCE_TYPES, name
        for t in module.RESOURCE_TYPES:
            assert t.startswith("AWS::"), t
            assert t not in seen, f"{t} in {seen.get(t)} and {name}"
            seen[t] = name
    assert resource_types() == seen


def test_the_accelerator_converter_lives_in_its_service_folder() -> None:
    types = resource_types()
    assert types["AWS::GlobalAccelerator::Accelerator"] == "edgesim.services.accelerator.cfn"
    assert types["AWS::CloudFront::Distribution"] == "edgesim.cfn.cloudfront"
    assert types["AWS::Route53::RecordSet"] == "edgesim.cfn.route53"
    assert types["AWS::Lambda::Function"] == "edgesim.services.endpoints.cfn"
    assert types["AWS::S3::Bucket"] == "edgesim.services.s3.cfn"
