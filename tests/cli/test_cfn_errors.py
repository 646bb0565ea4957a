"""Bad CloudFormation templates: each problem names the logical ID, the path inside the
template and its line (issue 8, item 5)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from edgesim.cfn import import_template
from edgesim.cli.imports import import_, parse_parameters
from edgesim.errors import InputError

BASE = """\
Resources:
  Assets:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: shop-assets
  WebDist:
    Type: AWS::CloudFront::Distribution
    Properties:
      DistributionConfig:
        Origins:
          - Id: assets
            DomainName: {domain}
            S3OriginConfig: {{}}
        DefaultCacheBehavior:
          TargetOriginId: assets
          CachePolicyId: 658327ea-f89d-4fab-a63d-7e88639e58f6
"""


def _error(text: str, **kwargs: object) -> InputError:
    with pytest.raises(InputError) as info:
        import_template("t.yaml", text=text, **kwargs)  # type: ignore[arg-type]
    return info.value


def test_unknown_short_form_intrinsic_names_its_path_and_line() -> None:
    exc = _error(BASE.format(domain="!GetBucketDomain Assets"))
    (p,) = exc.problems
    assert p.message == "unknown intrinsic function !GetBucketDomain"
    assert p.path == "Resources.WebDist.Properties.DistributionConfig.Origins[0].DomainName"
    assert p.line == 12
    assert exc.file == "t.yaml"


def test_unknown_long_form_intrinsic_in_json() -> None:
    text = """{
  "Resources": {
    "Fn1": {"Type": "AWS::Lambda::Function",
            "Properties": {"Runtime": {"Fn::Lower": "PYTHON3.12"}}}
  }
}"""
    (p,) = _error(text).problems
    assert p.message == "unknown intrinsic function Fn::Lower"
    assert p.path == "Resources.Fn1.Properties.Runtime"
    assert p.line == 4


def test_circular_references_are_named_by_logical_id() -> None:
    text = """\
Resources:
  Api:
    Type: AWS::Lambda::Function
    Properties:
      Environment:
        Variables: {SITE: !GetAtt WebDist.DomainName}
  WebDist:
    Type: AWS::CloudFront::Distribution
    Properties:
      DistributionConfig:
        Origins:
          - Id: api
            DomainName: !Sub "${Api}.example.com"
            CustomOriginConfig: {OriginProtocolPolicy: https-only}
"""
    (p,) = _error(text).problems
    assert p.message == "circular reference: Api → WebDist → Api"
    assert p.path == "Resources.Api.Properties.Environment.Variables.SITE"
    assert p.line == 6


def test_a_dependson_cycle_of_three() -> None:
    text = """\
Resources:
  A: {Type: AWS::S3::Bucket, DependsOn: B}
  B: {Type: AWS::S3::Bucket, DependsOn: [C]}
  C: {Type: AWS::S3::Bucket, DependsOn: A}
"""
    (p,) = _error(text).problems
    assert p.message == "circular reference: A → B → C → A"
    assert p.path == "Resources.A.DependsOn"


@pytest.mark.parametrize(
    ("domain", "message"),
    [
        ("!GetAtt AssetBucket.RegionalDomainName", "Fn::GetAtt of 'AssetBucket', which is not"),
        ("!Ref AssetBucket", "Ref to 'AssetBucket', which is not a parameter or resource"),
        ('!Sub "${AssetBucket.DomainName}"', "Fn::Sub refers to '${AssetBucket.DomainName}'"),
        ('!Sub "${Bucket}.s3.amazonaws.com"', "Ref to 'Bucket', which is not a parameter"),
    ],
)
def test_references_to_missing_resources(domain: str, message: str) -> None:
    (p,) = _error(BASE.format(domain=domain)).problems
    assert p.message.startswith(message)
    assert p.path == "Resources.WebDist.Properties.DistributionConfig.Origins[0].DomainName"
    assert p.line == 12
    assert "Assets" in (p.expected or "")


def test_every_missing_reference_is_reported() -> None:
    text = """\
Resources:
  A:
    Type: AWS::S3::Bucket
    DependsOn: Nope
    Properties: {BucketName: !Ref Missing}
"""
    problems = _error(text).problems
    assert [p.path for p in problems] == [
        "Resources.A.DependsOn",
        "Resources.A.Properties.BucketName",
    ]
    assert "A depends on 'Nope'" in problems[0].message


def test_a_parameter_without_a_value() -> None:
    text = """\
Parameters:
  Domain: {Type: String}
  Env: {Type: String, Default: prod}
Resources:
  Zone:
    Type: AWS::Route53::HostedZone
    Properties: {Name: !Ref Domain}
"""
    (p,) = _error(text).problems
    assert p.message == "parameter 'Domain' has no value: it has no Default and none was given"
    assert p.path == "Parameters.Domain"
    assert p.line == 2
    assert p.expected == "--parameter Domain=VALUE, or a Default in the template"
    # given on the command line, it is fine
    result = import_template("t.yaml", text=text, parameters={"Domain": "example.com"})
    assert result.scenario.get("route53") is None  # a zone without records converts to nothing


def test_parameter_values_are_checked() -> None:
    text = """\
Parameters:
  Env: {Type: String, AllowedValues: [prod, staging], Default: prod}
  Size: {Type: Number, Default: 1}
Resources:
  A: {Type: AWS::S3::Bucket}
"""
    problems = _error(text, parameters={"Env": "dev", "Size": "big", "Colour": "red"}).problems
    messages = [p.message for p in problems]
    assert messages == [
        "--parameter Colour: the template has no parameter named 'Colour'",
        "parameter 'Env': 'dev' is not an allowed value",
        "parameter 'Size': 'big' is not a number",
    ]
    assert problems[1].expected == "one of: prod, staging"


def test_reference_to_a_resource_whose_condition_is_false() -> None:
    text = """\
Parameters:
  Env: {Type: String, Default: staging}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  Logs: {Type: AWS::S3::Bucket, Condition: IsProd}
  Site:
    Type: AWS::S3::Bucket
    Properties: {BucketName: !Ref Logs}
"""
    (p,) = _error(text).problems
    assert p.message == "refers to 'Logs', which is not created (its condition 'IsProd' is false)"
    assert p.path == "Resources.Site.Properties.BucketName"


def test_undefined_condition_and_bad_findinmap() -> None:
    text = """\
Resources:
  A: {Type: AWS::S3::Bucket, Condition: IsProd}
"""
    (p,) = _error(text).problems
    assert p.message == "resource 'A' names condition 'IsProd', which is not defined"
    assert p.path == "Resources.A.Condition"
    text = """\
Mappings:
  Sizes: {prod: {Memory: 512}}
Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties: {MemorySize: !FindInMap [Sizes, dev, Memory]}
"""
    (p,) = _error(text).problems
    assert p.message == "Fn::FindInMap: no top-level key 'dev' in Mappings.Sizes"
    assert p.path == "Resources.Fn.Properties.MemorySize"


def test_circular_conditions() -> None:
    text = """\
Conditions:
  A: !Not [!Condition B]
  B: !Not [!Condition A]
Resources:
  X: {Type: AWS::S3::Bucket, Condition: A}
"""
    (p,) = _error(text).problems
    assert p.message.startswith("circular reference between conditions: A → B → A")


def test_a_template_without_resources_and_bad_yaml() -> None:
    assert _error("Parameters: {}\n").problems[0].message == "the template has no Resources"
    p = _error("Resources:\n  A: [unclosed\n").problems[0]
    assert p.message.startswith("template syntax error")
    assert p.line is not None


def test_cli_exits_2_with_one_screen_message(tmp_path: Path) -> None:
    template = tmp_path / "bad.yaml"
    template.write_text(BASE.format(domain="!GetAtt AssetBucket.RegionalDomainName"))
    out = tmp_path / "out.yaml"
    result = CliRunner().invoke(import_, ["cloudformation", str(template), "-o", str(out)])
    assert result.exit_code == 2
    assert (
        f"{template}:12:13: Resources.WebDist.Properties.DistributionConfig.Origins[0]."
        "DomainName: Fn::GetAtt of 'AssetBucket'" in result.output
    )
    assert "Traceback" not in result.output
    assert len(result.output.splitlines()) < 10
    assert not out.exists()


def test_cli_parameter_syntax() -> None:
    assert parse_parameters(("Env=prod", "Url=a=b")) == {"Env": "prod", "Url": "a=b"}
    with pytest.raises(InputError, match="not NAME=VALUE"):
        parse_parameters(("Env",))
    result = CliRunner().invoke(
        import_, ["cloudformation", "nope.yaml", "-o", "x.yaml", "--parameter", "Env"]
    )
    assert result.exit_code == 2
    assert "not NAME=VALUE" in result.output


def test_missing_file() -> None:
    with pytest.raises(InputError, match="file not found"):
        import_template("/nonexistent/template.yaml")
