"""``edgesim s3ta``: S3 Transfer Acceleration, direct vs accelerated, per client metro.

Listed in :data:`edgesim.cli.COMMANDS`; the model is
:mod:`edgesim.services.s3.model` and ``docs/s3-transfer-acceleration.md``.
"""

from __future__ import annotations

import json
from typing import Any

import click

from edgesim.cli.common import friendly
from edgesim.errors import InputError, Problem

REPRESENTATIVE_METROS = (
    "london",
    "frankfurt",
    "new-york",
    "los-angeles",
    "sao-paulo",
    "johannesburg",
    "mumbai",
    "singapore",
    "jakarta",
    "tokyo",
    "sydney",
    "auckland",
)
"""Default ``--metros``: two or three per continent (those the world has)."""

ACCESS_CHOICES = ("fibre", "cable", "dsl", "4g", "5g")


@click.group()
def s3ta() -> None:
    """S3 Transfer Acceleration: uploads direct vs through the nearest edge location."""


def _size(value: str, option: str) -> int:
    from edgesim.units import parse_size_bytes

    try:
        return parse_size_bytes(value)
    except ValueError as exc:
        raise InputError.single(f"{option}: {exc}") from None


def _check(size: int, part: int, parallel: int, margin: float) -> list[Problem]:
    from edgesim.services.s3 import model

    out = []
    if not 0 < size <= model.MAX_OBJECT_SIZE:
        out.append(Problem(f"--size: {size:,} bytes", expected="more than 0 and at most 5 TiB"))
    if not model.MIN_PART_SIZE <= part <= model.MAX_PART_SIZE:
        out.append(
            Problem(
                f"--part-size: {part:,} bytes is not a valid S3 part size",
                expected="5 MiB to 5 GiB (S3's limits), e.g. 8MiB",
            )
        )
    if not 1 <= parallel <= 1000:
        out.append(Problem(f"--parallel: {parallel}", expected="1 to 1000 parallel parts"))
    if not 0.0 <= margin < 1.0:
        out.append(Problem(f"--bypass-margin: {margin}", expected="a fraction in [0, 1)"))
    return out


@s3ta.command("compare")
@click.option("--bucket-region", required=True, help="the bucket's region, e.g. ap-southeast-2")
@click.option("--size", default="300MB", show_default=True, help="object size, e.g. 300MB")
@click.option(
    "--part-size",
    default="8MiB",
    show_default=True,
    help="multipart part size (AWS CLI / boto3 default 8 MiB)",
)
@click.option(
    "--parallel",
    type=int,
    default=10,
    show_default=True,
    help="parts in flight at once (AWS CLI / boto3 default 10)",
)
@click.option("--world", default="aws-world", show_default=True, help="built-in world or file")
@click.option(
    "--metros", default=None, help="comma-separated client groups (default: a representative set)"
)
@click.option("--all", "all_metros", is_flag=True, help="every metro of the world")
@click.option(
    "--access",
    type=click.Choice(ACCESS_CHOICES),
    default=None,
    help="everyone on this access network (default: each metro's own)",
)
@click.option(
    "--direction",
    type=click.Choice(("upload", "download")),
    default="upload",
    show_default=True,
)
@click.option(
    "--bypass-margin",
    type=float,
    default=0.05,
    show_default=True,
    help="acceleration must save at least this share of the direct time, else bypassed",
)
@click.option("--json", "as_json", is_flag=True, help="print the comparison as JSON")
@friendly
def compare_cmd(
    bucket_region: str,
    size: str,
    part_size: str,
    parallel: int,
    world: str,
    metros: str | None,
    all_metros: bool,
    access: str | None,
    direction: str,
    bypass_margin: float,
    as_json: bool,
) -> None:
    """Transfer time of one object per client metro, direct to the bucket's region and through
    S3 Transfer Acceleration, like AWS's Speed Comparison tool."""
    from edgesim.services.s3 import model
    from edgesim.topology import NodeKind, load_world

    size_b = _size(size, "--size")
    part_b = _size(part_size, "--part-size")
    problems = _check(size_b, part_b, parallel, bypass_margin)
    if metros is not None and all_metros:
        problems.append(Problem("--metros and --all: give one or the other"))
    if problems:
        raise InputError(problems)
    w = load_world(world)
    try:
        region = w.resolve(bucket_region, (NodeKind.REGION,))
    except InputError as exc:
        raise InputError.single(
            f"--bucket-region: {exc.problems[0].message}",
            expected="a region id of the world, e.g. ap-southeast-2",
        ) from None
    if w.nodes[region].kind != NodeKind.REGION:
        raise InputError.single(f"--bucket-region: '{bucket_region}' is not a region")
    groups = {g.id: g.key for g in w.client_groups if g.carrier is None}
    if all_metros:
        chosen = sorted(groups.values(), key=lambda k: k.split(":", 1)[1])
    elif metros is not None:
        names = [m.strip() for m in metros.split(",") if m.strip()]
        unknown = [m for m in names if m not in groups]
        if unknown or not names:
            raise InputError.single(
                f"--metros: no client group '{unknown[0]}' in {w.name}"
                if unknown
                else "--metros: name at least one metro",
                expected="client group ids, e.g. london,tokyo (edgesim topo show lists them)",
            )
        chosen = [groups[m] for m in names]
    else:
        chosen = [groups[m] for m in REPRESENTATIVE_METROS if m in groups]
        if not chosen:
            chosen = sorted(groups.values())[:12]
    cp = model.client_paths(w, chosen, region, access=access)
    bw_key = "up_mbps" if direction == "upload" else "down_mbps"
    bw = [getattr(w.params.access_profile(a), bw_key) * 125_000.0 for a in cp.access]
    cmp = model.compare(
        size_b,
        cp.paths,
        bw,
        part_size=part_b,
        parallel=parallel,
        bypass_margin=bypass_margin,
    )
    part_eff = int(model.effective_part_size(size_b, part_b))
    rows = []
    for i, key in enumerate(cp.clients):
        rows.append(
            {
                "metro": key.split(":", 1)[1],
                "access": cp.access[i],
                "edge": cp.edges[i].split(":", 1)[1],
                "direct_rtt_ms": round(float(cp.paths.direct_rtt_ms[i]), 3),
                "edge_rtt_ms": round(float(cp.paths.edge_rtt_ms[i]), 3),
                "backbone_rtt_ms": round(float(cp.paths.backbone_rtt_ms[i]), 3),
                "direct_s": round(float(cmp.direct_ms[i]) / 1000, 3),
                "accelerated_s": round(float(cmp.accelerated_ms[i]) / 1000, 3),
                "speedup_pct": round(float(cmp.speedup_pct[i]), 1),
                "bypass": bool(cmp.bypass[i]),
                "effective_s": round(float(cmp.effective_ms[i]) / 1000, 3),
            }
        )
    head = {
        "bucket_region": region.split(":", 1)[1],
        "world": w.name,
        "direction": direction,
        "size_bytes": size_b,
        "part_size_bytes": part_eff,
        "parallel": parallel,
        "bypass_margin": bypass_margin,
    }
    if as_json:
        click.echo(json.dumps({**head, "metros": rows}, indent=2, sort_keys=True))
        return
    _print_table(head, rows)


def _print_table(head: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    from edgesim.cli.common import console as _console

    size_mb = head["size_bytes"] / 1e6
    parts = max(1, -(-head["size_bytes"] // head["part_size_bytes"]))
    how = (
        f"{parts} parts of {head['part_size_bytes'] / 2**20:g} MiB, {head['parallel']} in parallel"
        if parts > 1
        else "one PUT"
    )
    t = Table(
        title=f"{head['direction']} of {size_mb:,.0f} MB to a bucket in {head['bucket_region']}"
        f" ({how})"
    )
    for col in ("metro", "access", "edge"):
        t.add_column(col)
    for col in ("direct RTT ms", "edge + backbone RTT ms", "direct s", "accelerated s"):
        t.add_column(col, justify="right")
    t.add_column("speed-up", justify="right")
    t.add_column("S3TA")
    for r in rows:
        t.add_row(
            r["metro"],
            r["access"],
            r["edge"],
            f"{r['direct_rtt_ms']:.1f}",
            f"{r['edge_rtt_ms']:.1f} + {r['backbone_rtt_ms']:.1f}",
            f"{r['direct_s']:,.1f}",
            f"{r['accelerated_s']:,.1f}",
            f"{r['speedup_pct']:+.0f} %",
            "bypassed (no charge)" if r["bypass"] else "accelerated",
        )
    console = _console()
    console.print(t)
    console.print(
        "speed-up = direct / accelerated − 1, as AWS's Speed Comparison tool shows it; "
        f"bypassed: acceleration would not save {head['bypass_margin']:.0%} of the direct time"
    )
