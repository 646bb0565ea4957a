"""Terraform import: ``terraform show -json`` output (plan or state) → an edgesim scenario.

::

    from edgesim.terraform import import_terraform
    result = import_terraform("state.json", region="us-east-1")
    Path("scenario.yaml").write_text(result.text())
    result.skipped   # what has no counterpart, and why

:mod:`edgesim.terraform.translate` rewrites each Terraform resource as its CloudFormation
equivalent; the CloudFormation converter (:mod:`edgesim.cfn`) then builds the scenario, so both
importers map the same AWS resources the same way. docs/terraform.md has the details.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from edgesim.cfn import Converter, ImportResult, Skipped, Template, check_scenario
from edgesim.errors import InputError, Problem
from edgesim.terraform.translate import SUPPORTED_TYPES, Translation, translate

_WHERE = re.compile(r"^Resources\.([A-Za-z0-9]+)(?:\.Properties)?")
_TYPE = re.compile(r" \((AWS::[A-Za-z0-9:]+)\)")


def parse_json(text: str, file: str | None) -> object:
    """JSON with its syntax errors reported by line and column (exit 2, no traceback)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            [
                Problem(
                    f"not JSON: {exc.msg}",
                    line=exc.lineno,
                    column=exc.colno,
                    expected="the output of `terraform show -json`",
                )
            ],
            file=file,
        ) from None


def _rewrite(item: Skipped, tr: Translation, types: dict[str, str]) -> Skipped:
    """A converter message about ``Resources.Lid.Properties.X`` as one about the Terraform
    address (the property path stays CloudFormation's, which the docs map to attributes)."""
    m = _WHERE.match(item.where)
    if m is None or m.group(1) not in tr.address_of:
        return item
    lid = m.group(1)
    rest = item.where[m.end() :]
    rest = _TYPE.sub(f" ({types.get(lid, '')})", rest)
    return Skipped(tr.address_of[lid] + rest, item.reason)


def _addresses(text: str, tr: Translation) -> str:
    """Logical IDs in a converter note as Terraform addresses."""
    return re.sub(
        r"\b[A-Z][A-Za-z0-9]*\b", lambda m: tr.address_of.get(m.group(0), m.group(0)), text
    )


def import_terraform(
    path: str | Path,
    *,
    region: str = "us-east-1",
    world: str = "aws-world",
    name: str | None = None,
    text: str | None = None,
    check: bool = False,
) -> ImportResult:
    """Read and convert ``terraform show -json`` output. Bad input raises
    :class:`InputError`; resource types edgesim does not model are listed as skipped."""
    path = Path(path)
    file = str(path)
    if text is None:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise InputError.single("file not found", file=file) from None
        except OSError as exc:
            raise InputError.single(f"cannot read: {exc.strerror}", file=file) from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError.single(
                f"not UTF-8 text (byte {exc.start})", file=file, expected="JSON"
            ) from None
    tr = translate(parse_json(text, file), file, region=region)
    tpl = Template(tr.template, None, file, region=region, stack_name=path.stem or "terraform")
    name = name or f"{path.stem or 'terraform'} (imported from Terraform)"
    result = Converter(tpl, world=world, source=path.name, name=name).run()
    result.skipped = [_rewrite(s, tr, tr.type_of) for s in result.skipped]
    result.skipped = [Skipped(a, r) for a, r in tr.skipped] + result.skipped
    result.notes = tr.notes + [_addresses(n, tr) for n in result.notes]
    result.tool = "Terraform"
    if check:
        check_scenario(result, file)
    return result


__all__ = ["SUPPORTED_TYPES", "import_terraform", "translate"]
