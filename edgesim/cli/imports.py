"""``edgesim import``: build a scenario from infrastructure as code.

``edgesim import cloudformation TEMPLATE -o scenario.yaml`` reads a CloudFormation template
(YAML with short-form intrinsics, or JSON), converts the resources edgesim models and lists
what it skipped and why (docs/cloudformation.md). The group is listed in
:data:`edgesim.cli.COMMANDS`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from edgesim.cli.common import friendly
from edgesim.errors import InputError, Problem


def parse_parameters(values: tuple[str, ...]) -> dict[str, str]:
    """``Name=Value`` pairs of ``--parameter``; a pair without ``=`` is an input error."""
    out: dict[str, str] = {}
    problems = []
    for raw in values:
        name, sep, value = raw.partition("=")
        if not sep or not name.strip():
            problems.append(
                Problem(f"--parameter {raw!r}: not NAME=VALUE", expected="e.g. Env=prod")
            )
            continue
        out[name.strip()] = value
    if problems:
        raise InputError(problems)
    return out


@click.group("import")
def import_() -> None:
    """Build a scenario from infrastructure as code (CloudFormation, Terraform)."""


@import_.command("cloudformation")
@click.argument("template", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="the scenario file to write",
)
@click.option(
    "--region",
    default="us-east-1",
    show_default=True,
    help="the stack's Region (AWS::Region; where resources run unless the template says)",
)
@click.option(
    "-p",
    "--parameter",
    "parameters",
    multiple=True,
    metavar="NAME=VALUE",
    help="a template parameter's value (repeatable)",
)
@click.option("--world", default="aws-world", show_default=True, help="the scenario's world")
@click.option("--stack-name", default=None, help="AWS::StackName (default: the file's name)")
@click.option(
    "--check/--no-check",
    default=True,
    show_default=True,
    help="load the result on its world before writing it",
)
@friendly
def cloudformation(
    template: Path,
    output: Path,
    region: str,
    parameters: tuple[str, ...],
    world: str,
    stack_name: str | None,
    check: bool,
) -> None:
    """Convert a CloudFormation TEMPLATE into a scenario file (-o)."""
    from edgesim.cfn import import_template
    from edgesim.outputs import check_outputs

    check_outputs(("--output", output))
    result = import_template(
        template,
        region=region,
        parameters=parse_parameters(parameters),
        world=world,
        stack_name=stack_name,
        check=check,
    )
    _write_result(result, output)


@import_.command("terraform")
@click.argument("document", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="the scenario file to write",
)
@click.option(
    "--region",
    default="us-east-1",
    show_default=True,
    help="where resources run when the document does not say (no ARN, AZ or provider region)",
)
@click.option("--world", default="aws-world", show_default=True, help="the scenario's world")
@click.option(
    "--check/--no-check",
    default=True,
    show_default=True,
    help="load the result on its world before writing it",
)
@friendly
def terraform(document: Path, output: Path, region: str, world: str, check: bool) -> None:
    """Convert Terraform JSON (DOCUMENT) into a scenario file (-o).

    DOCUMENT is `terraform show -json` output: a state (`terraform show -json >
    state.json`) or a saved plan (`terraform plan -out tf.plan && terraform show -json
    tf.plan > plan.json`); a terraform.tfstate file (version 4) works too.
    """
    from edgesim.outputs import check_outputs
    from edgesim.terraform import import_terraform

    check_outputs(("--output", output))
    result = import_terraform(document, region=region, world=world, check=check)
    _write_result(result, output)


def _write_result(result: Any, output: Path) -> None:
    from edgesim.outputs import atomic_write

    atomic_write(output, result.text())
    scn = result.scenario
    counts = [
        f"{len(scn.get('endpoints', []))} endpoint(s)",
        f"{len(scn.get('cloudfront', {}).get('distributions', []))} distribution(s)",
        f"{len(scn.get('accelerators', []))} accelerator(s)",
        f"{len(scn.get('route53', {}).get('zones', []))} hosted zone(s)",
        f"{len(scn.get('s3', {}).get('buckets', []))} bucket(s)",
        f"{len(scn['workloads'])} generated workload(s)",
    ]
    click.echo(f"wrote {output}: " + ", ".join(counts))
    for note in result.notes:
        click.echo(f"  note: {note}")
    if result.skipped:
        click.echo(f"skipped {len(result.skipped)}:")
        for item in result.skipped:
            click.echo(f"  {item.render()}")
    click.echo("edit the clients and workloads (defaults), then: edgesim run " + str(output))
