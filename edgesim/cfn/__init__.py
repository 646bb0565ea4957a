"""CloudFormation import: a template (YAML or JSON) → an edgesim scenario.

::

    from edgesim.cfn import import_template
    result = import_template("shop.yaml", region="us-east-1", parameters={"Env": "prod"})
    Path("shop-scenario.yaml").write_text(result.text())
    result.skipped   # what has no counterpart, and why

:mod:`edgesim.cfn.loader` reads the template (short-form intrinsics, line numbers),
:mod:`edgesim.cfn.evaluate` evaluates it (parameters, conditions, mappings, intrinsics,
references and cycles) and :mod:`edgesim.cfn.convert` maps resources to service sections.
docs/cloudformation.md has the details.
"""

from __future__ import annotations

from pathlib import Path

from edgesim.cfn.convert import Converter, ImportResult, Skipped
from edgesim.cfn.evaluate import Template
from edgesim.cfn.loader import load_template, load_template_text
from edgesim.errors import InputError, Problem
from edgesim.yamlio import LineIndex


def import_template(
    path: str | Path,
    *,
    region: str = "us-east-1",
    parameters: dict[str, str] | None = None,
    world: str = "aws-world",
    stack_name: str | None = None,
    name: str | None = None,
    text: str | None = None,
    check: bool = False,
) -> ImportResult:
    """Read, evaluate and convert a template. Bad input raises :class:`InputError` naming
    the file, line, logical ID and property path. With ``check``, the scenario is also loaded
    and prepared on its world (so a Region the world lacks is reported here)."""
    path = Path(path)
    if text is None:
        data, index = load_template(path)
    else:
        data, index = load_template_text(text, str(path))
    stack = stack_name or _stack_name(path)
    tpl = Template(data, index, str(path), region=region, parameters=parameters, stack_name=stack)
    result = Converter(tpl, world=world, source=path.name, name=name).run()
    if check:
        if not result.scenario.get("workloads"):
            raise _nothing_modelled(result, index, str(path))
        check_scenario(result, str(path))
    return result


def _nothing_modelled(result: ImportResult, index: LineIndex, file: str) -> InputError:
    """Nothing in the template serves users: say so, naming each resource and its type."""
    problems = [
        Problem(
            "nothing in the template is something edgesim models (no compute, bucket, "
            "distribution or accelerator that users reach)",
            expected="resources of the types listed in docs/cloudformation.md",
        )
    ]
    for item in result.skipped:
        lid, _, rest = item.where.removeprefix("Resources.").partition(" ")
        if not item.where.startswith("Resources.") or "." in lid or not rest:
            continue
        line, col = index.find(("Resources", lid))
        problems.append(Problem(item.reason, path=item.where, line=line, column=col))
    return InputError(problems, file=file)


def check_scenario(result: ImportResult, template: str) -> None:
    """Load and prepare the generated scenario; a problem is reported against the template."""
    from edgesim.scenario.loader import load_scenario_text, prepare

    text = result.text()
    try:
        scn, index, file = load_scenario_text(text, "<imported scenario>")
        prepare(scn, index, file)
    except InputError as exc:
        problems = [
            Problem(
                "the imported scenario does not load: " + p.render(exc.file),
                expected="a world with the template's Regions (--world), or edit the template",
            )
            for p in exc.problems
        ]
        raise InputError(problems, file=template) from None


def _stack_name(path: Path) -> str:
    stem = "".join(c if c.isalnum() or c == "-" else "-" for c in path.stem).strip("-")
    return stem or "stack"


__all__ = [
    "Converter",
    "ImportResult",
    "Skipped",
    "Template",
    "check_scenario",
    "import_template",
    "load_template",
    "load_template_text",
]
