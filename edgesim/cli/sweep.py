"""``edgesim sweep`` and ``edgesim place``: many runs of scenario variants (docs/sweeps.md).

Both are listed in :data:`edgesim.cli.COMMANDS`; the work is in :mod:`edgesim.sweep`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from edgesim.cli.common import INTERRUPTED_EXIT, err_console, friendly, interruptible
from edgesim.errors import InputError


def _executor_options(func: Any) -> Any:
    opts = [
        click.option(
            "--executor",
            type=click.Choice(["in-process", "processes", "dask"]),
            default=None,
            help="where runs happen [default: in-process; dask with --scheduler/--local-cluster]",
        ),
        click.option(
            "--workers",
            type=click.IntRange(1, 4096),
            default=None,
            help="processes for --executor processes (default: every core)",
        ),
        click.option(
            "--scheduler",
            default=None,
            metavar="ADDR",
            help="a Dask scheduler, e.g. tcp://10.0.0.5:8786 (needs edgesim[dask])",
        ),
        click.option(
            "--local-cluster",
            type=click.IntRange(1, 4096),
            default=None,
            metavar="N",
            help="start a Dask LocalCluster of N worker processes on loopback",
        ),
        click.option(
            "--scheduler-timeout",
            type=click.FloatRange(0.1, 600),
            default=10.0,
            show_default=True,
            help="seconds to wait for the Dask scheduler and a first worker",
        ),
    ]
    for opt in reversed(opts):
        func = opt(func)
    return func


def _make_executor(
    executor: str | None,
    workers: int | None,
    scheduler: str | None,
    local_cluster: int | None,
    timeout: float,
) -> Any:
    from edgesim.sweep.executors import make_executor

    dask_wanted = scheduler is not None or local_cluster is not None
    if dask_wanted and executor not in (None, "dask"):
        raise InputError.single(
            f"--executor {executor} cannot be combined with --scheduler or --local-cluster",
            expected="--executor dask, or leave --executor out",
        )
    if scheduler is not None and local_cluster is not None:
        raise InputError.single("give --scheduler or --local-cluster, not both")
    if scheduler is not None and not scheduler.strip():
        raise InputError.single("--scheduler: empty address", expected="tcp://host:8786")
    kind = "dask" if dask_wanted else executor or "in-process"
    if workers is not None and kind != "processes":
        raise InputError.single("--workers applies to --executor processes only")
    return make_executor(
        kind, workers=local_cluster or workers, scheduler=scheduler, timeout_s=timeout
    )


@contextmanager
def _progress(quiet: bool, total: int, what: str) -> Iterator[Callable[[Any], None] | None]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    if quiet:
        yield None
        return
    if not err_console().is_terminal:  # a log, not a terminal: one line per finished variant
        shown = [0]

        def line(p: Any) -> None:
            if p.done > shown[0]:
                shown[0] = p.done
                click.echo(f"{what}: {p.done}/{p.total} done, {p.failed} failed", err=True)

        click.echo(f"{what}: {total} to run (Ctrl-C stops and reports what ran)", err=True)
        yield line
        return
    with Progress(
        TextColumn(f"[bold]{what}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("running {task.fields[running]}  failed {task.fields[failed]}"),
        TimeElapsedColumn(),
        console=err_console(),
        transient=True,
    ) as bar:
        task = bar.add_task(what, total=total, running=0, failed=0)

        def update(p: Any) -> None:
            bar.update(task, completed=p.done, running=p.running, failed=p.failed)

        yield update


def _pm(s: dict[str, Any] | None, scale: float = 1.0, nd: int = 1) -> str:
    if not s or s.get("mean") is None or s["mean"] != s["mean"]:
        return "–"
    ci = s.get("ci95") or 0.0
    return f"{s['mean'] * scale:,.{nd}f} ± {ci * scale:,.{nd}f}"


# ---- sweep ----------------------------------------------------------------------------------
@click.command("sweep")
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--vary",
    "vary",
    multiple=True,
    metavar="KEY=V1,V2,…",
    help="a dotted path into the scenario (seed, duration, endpoints[name=api].site, "
    "route53.zones[0].records[1].region) and its values; several --vary: the cross product",
)
@click.option(
    "--variants",
    "variants_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="a YAML list of override mappings (a listed set; crossed with any --vary)",
)
@click.option(
    "--replications",
    type=click.IntRange(1, 1000),
    default=1,
    show_default=True,
    help="seeds seed … seed+N−1 per variant; 95 % confidence intervals",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="write sweep.csv, sweep.json and sweep.html here",
)
@_executor_options
@click.option("-q", "--quiet", is_flag=True, help="no progress bar or table")
@friendly
def sweep(
    scenario: Path,
    vary: tuple[str, ...],
    variants_file: Path | None,
    replications: int,
    out_dir: Path | None,
    executor: str | None,
    workers: int | None,
    scheduler: str | None,
    local_cluster: int | None,
    scheduler_timeout: float,
    quiet: bool,
) -> None:
    """Run variants of SCENARIO (each a normal deterministic run) and tabulate their metrics.

    Exit status: 0 when every variant ran, 1 when some failed (each is reported with its
    error), 2 on bad input (before anything runs).
    """
    from edgesim.cli.common import console as _console
    from edgesim.outputs import atomic_write, check_output_dir
    from edgesim.report.sweep import render_sweep_html
    from edgesim.sweep.core import load_base, run_sweep, sweep_csv, sweep_json
    from edgesim.sweep.variants import expand, load_variants_file, parse_vary

    base = load_base(scenario)
    axes = [parse_vary(v) for v in vary]
    listed = load_variants_file(variants_file) if variants_file is not None else None
    variants = expand(base, axes, listed, file=str(scenario))
    if out_dir is not None:
        check_output_dir(out_dir, "--out")
    ex = _make_executor(executor, workers, scheduler, local_cluster, scheduler_timeout)
    try:
        with (
            interruptible() as stop,
            _progress(quiet, len(variants), f"sweep ({ex.name})") as update,
        ):
            doc = run_sweep(
                variants,
                ex,
                replications=replications,
                base_dir=scenario.resolve().parent,
                scenario=str(base.get("name", scenario.stem)),
                on_update=update,
                should_stop=stop,
            )
    finally:
        ex.close()
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        atomic_write(out_dir / "sweep.json", sweep_json(doc))
        atomic_write(out_dir / "sweep.csv", sweep_csv(doc))
        atomic_write(out_dir / "sweep.html", render_sweep_html(doc))
    if not quiet:
        _console().print(_sweep_table(doc))
    if not doc["complete"]:
        cut = [r for r in doc["variants"] if r["status"] == "incomplete"]
        err_console().print(
            f"[yellow]interrupted: {len(cut)} of {len(doc['variants'])} variant(s) incomplete; "
            "the outputs say so (complete: false, status: incomplete)[/]"
        )
        sys.exit(INTERRUPTED_EXIT)
    failed = [r for r in doc["variants"] if r["status"] != "ok"]
    if failed:
        from rich.markup import escape

        for r in failed:
            err_console().print(
                f"[red]variant {r['index']} ({escape(r['label'])}) failed:[/] "
                + escape(str(r.get("error", "")))
            )
        err_console().print(f"[red]{len(failed)} of {len(doc['variants'])} variant(s) failed[/]")
        sys.exit(1)


def _sweep_table(doc: dict[str, Any]) -> Any:
    from rich.markup import escape
    from rich.table import Table

    t = Table(
        title=f"{doc['scenario']} — {len(doc['variants'])} variants × {doc['replications']} "
        "replication(s): mean ± 95 % CI"
    )
    for col in ("#", "variant", "p50 ms", "p95 ms", "p99 ms", "pop p95 ms", "worst p95 ms"):
        t.add_column(col, justify="left" if col in ("variant",) else "right")
    t.add_column("avail %", justify="right")
    front = set(doc["pareto"])
    for r in doc["variants"]:
        idx = f"{r['index']}" + ("*" if r["index"] in front else "")
        if r["status"] != "ok":
            t.add_row(idx, escape(r["label"]), f"[red]{r['status']}[/]", "", "", "", "", "")
            continue
        m = r["metrics"]
        t.add_row(
            idx,
            escape(r["label"]),
            *(_pm(m[k]) for k in ("p50", "p95", "p99", "pop_p95", "worst_p95")),
            _pm(m["availability"], 100, 3),
        )
    t.caption = "* on the Pareto front of population p95 vs number of endpoint sites"
    return t


# ---- place ----------------------------------------------------------------------------------
def _load_costs(path: Path) -> dict[str, float]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError.single("file not found", file=str(path)) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError.single(f"cannot read the cost file: {exc}", file=str(path)) from None
    if not isinstance(data, dict) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in data.values()
    ):
        raise InputError.single(
            "the cost file must map sites to non-negative numbers",
            file=str(path),
            expected="us-east-1: 1.0\nlz:us-east-1-nyc-1: 1.4",
        )
    return {str(k): float(v) for k, v in data.items()}


@click.command("place")
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--candidates",
    default="regions",
    show_default=True,
    help="regions, local-zones and/or site names, comma-separated",
)
@click.option("--k", "k", type=click.IntRange(1, 64), default=3, show_default=True)
@click.option(
    "--objective",
    type=click.Choice(["p95", "p99", "worst-p95"]),
    default="p95",
    show_default=True,
    help="population-weighted p95 or p99 of the client groups, or the worst group's p95",
)
@click.option("--max-cost", type=float, default=None, help="most a placement's sites may cost")
@click.option(
    "--cost-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML: site → cost (default: a relative regional price index, docs/sweeps.md)",
)
@click.option(
    "--finalists",
    type=click.IntRange(0, 100),
    default=5,
    show_default=True,
    help="best analytical placements confirmed with full runs (0: none)",
)
@click.option("--runner-ups", type=click.IntRange(0, 1000), default=10, show_default=True)
@click.option("--replications", type=click.IntRange(1, 1000), default=1, show_default=True)
@click.option("--duration", default=None, help="duration of the confirmation runs, e.g. 10m")
@click.option("--endpoint", default=None, help="the endpoint to place (default: the one routed)")
@click.option(
    "--search",
    "search_mode",
    type=click.Choice(["auto", "exhaustive", "greedy+swap"]),
    default="auto",
    show_default=True,
    help="auto: exhaustive up to --exhaustive-limit placements, greedy + swaps beyond",
)
@click.option("--exhaustive-limit", type=click.IntRange(1), default=200_000, show_default=True)
@click.option(
    "--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), help="write results"
)
@_executor_options
@click.option("-q", "--quiet", is_flag=True, help="no progress bar")
@friendly
def place(
    scenario: Path,
    candidates: str,
    k: int,
    objective: str,
    max_cost: float | None,
    cost_file: Path | None,
    finalists: int,
    runner_ups: int,
    replications: int,
    duration: str | None,
    endpoint: str | None,
    search_mode: str,
    exhaustive_limit: int,
    json_out: Path | None,
    executor: str | None,
    workers: int | None,
    scheduler: str | None,
    local_cluster: int | None,
    scheduler_timeout: float,
    quiet: bool,
) -> None:
    """Which K sites (regions and/or Local Zones) minimise users' latency for SCENARIO's
    latency- or geoproximity-routed endpoint?"""
    import json as _json

    from edgesim.cli.common import console as _console
    from edgesim.outputs import atomic_write, check_outputs
    from edgesim.report.output import clean
    from edgesim.sweep.core import load_base
    from edgesim.sweep.placement import find_template
    from edgesim.sweep.placement import place as do_place
    from edgesim.units import parse_duration_ns

    check_outputs(("--json", json_out))
    base = load_base(scenario)
    find_template(base, endpoint)
    if duration is not None:
        try:
            parse_duration_ns(duration)
        except ValueError as exc:
            raise InputError.single(f"--duration: {exc}", expected="e.g. 10m") from None
    costs = _load_costs(cost_file) if cost_file is not None else None
    ex = (
        _make_executor(executor, workers, scheduler, local_cluster, scheduler_timeout)
        if finalists > 0
        else None
    )
    try:
        with (
            interruptible() as stop,
            _progress(quiet, finalists, "confirming finalists") as update,
        ):
            result = do_place(
                base,
                candidates=candidates,
                k=k,
                objective=objective,
                max_cost=max_cost,
                costs=costs,
                finalists=finalists,
                runner_ups=runner_ups,
                replications=replications,
                duration=duration,
                endpoint=endpoint,
                executor=ex,
                base_dir=scenario.resolve().parent,
                file=str(scenario),
                exhaustive_limit=exhaustive_limit,
                force=None if search_mode == "auto" else search_mode,
                on_update=update,
                should_stop=stop,
            )
    finally:
        if ex is not None:
            ex.close()
    doc = result.as_dict()
    if json_out is not None:
        text = _json.dumps(clean(doc), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        if str(json_out) == "-":
            click.echo(text, nl=False)
        else:
            atomic_write(json_out, text)
    if json_out is None or str(json_out) != "-":
        _print_place(_console(), result, doc)
    if not result.complete or stop():
        err_console().print(
            "[yellow]interrupted: finalists not confirmed are marked incomplete "
            "(complete: false)[/]"
        )
        sys.exit(INTERRUPTED_EXIT)


def _print_place(console: Any, result: Any, doc: dict[str, Any]) -> None:
    from rich.markup import escape
    from rich.table import Table

    n = len(result.candidates)
    console.print(
        f"{result.method} search: {result.evaluated:,} placements of {result.k} among {n} "
        f"candidate sites scored analytically in {result.analytic_s:.1f} s "
        f"(objective: {result.objective}, Route 53 policy: {result.policy})"
    )

    def short(sites: list[str]) -> str:
        return ", ".join(s.split(":", 1)[1] for s in sites)

    fin = doc["finalists"]
    if fin:
        t = Table(title="finalists, confirmed with full runs (best first): mean ± 95 % CI")
        for col in ("#", "sites", "cost", "estimate ms", "objective ms", "p95", "p99"):
            t.add_column(col, justify="left" if col == "sites" else "right")
        t.add_column("avail %", justify="right")
        t.add_column("worst group")
        for i, e in enumerate(fin, 1):
            if e["status"] != "ok":
                err = str(e.get("error", "")).splitlines()[0][:80]
                t.add_row(str(i), short(e["sites"]), f"{e['cost']:g}", "", f"[red]{escape(err)}[/]")
                continue
            m = e["metrics"]
            t.add_row(
                str(i),
                short(e["sites"]),
                f"{e['cost']:g}",
                f"{e['estimate_ms']:.1f}",
                _pm(e["objective_ms"]),
                _pm(m["p95"]),
                _pm(m["p99"]),
                _pm(m["availability"], 100, 3),
                e.get("worst_group", ""),
            )
        console.print(t)
        best = next((e for e in fin if e["status"] == "ok"), None)
        if best is not None:
            console.print(
                f"[bold]best:[/] {short(best['sites'])} — {result.objective} "
                f"{_pm(best['objective_ms'])} ms (full runs)"
            )
    if doc["runner_ups"]:
        t = Table(title="runner-ups (analytical estimate only)")
        for col in ("sites", "cost", "estimate ms"):
            t.add_column(col, justify="left" if col == "sites" else "right")
        for e in doc["runner_ups"]:
            t.add_row(short(e["sites"]), f"{e['cost']:g}", f"{e['estimate_ms']:.1f}")
        console.print(t)
