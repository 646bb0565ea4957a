"""``edgesim run`` and ``edgesim check``: a scenario in virtual time, and the regression check
against a saved baseline."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from edgesim.cli.common import INTERRUPTED_EXIT, err_console, friendly, interruptible
from edgesim.cli.common import console as _console
from edgesim.errors import InputError

# ---- run / check --------------------------------------------------------------------------


def _run_with_progress(
    scenario: Path,
    seed: int | None,
    quiet: bool,
    should_stop: Callable[[], bool],
    threads: int | None = None,
) -> Any:
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from edgesim.sim.api import run_scenario

    if quiet:
        return run_scenario(scenario, seed=seed, should_stop=should_stop, threads=threads)
    if not err_console().is_terminal:  # a log, not a terminal: one line, no bar
        click.echo(f"running {scenario.name} (Ctrl-C stops and reports what ran)", err=True)
        return run_scenario(scenario, seed=seed, should_stop=should_stop, threads=threads)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[vt]} of virtual time, {task.fields[req]} requests"),
        TimeRemainingColumn(),
        console=err_console(),
        transient=True,
    ) as bar:
        task = bar.add_task(scenario.name, total=1.0, vt="0s", req="0")

        def update(p: Any) -> None:
            bar.update(
                task,
                completed=p.done_ns / max(p.total_ns, 1),
                vt=f"{p.done_ns / 1e9:,.0f}s",
                req=f"{p.requests:,}",
            )

        return run_scenario(
            scenario, seed=seed, on_progress=update, should_stop=should_stop, threads=threads
        )


def _summary_table(report: dict[str, Any], limit: int = 15) -> Table:
    t = Table(
        title=f"{report['scenario']} — {report['simulated_requests']:,} requests over "
        f"{report['duration_s']:,.0f} s (seed {report['seed']})"
        + ("" if report["complete"] else "  [INCOMPLETE: interrupted]")
    )
    for col in (
        "scope",
        "requests",
        "avail %",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "dns",
        "connect",
        "tls",
        "wait",
        "transfer",
    ):
        t.add_column(col, justify="left" if col == "scope" else "right")

    def row(name: str, b: dict[str, Any]) -> None:
        lat, ph = b["latency_ms"], b["phases_mean_ms"]
        t.add_row(
            name,
            f"{b['requests']:,}",
            f"{b['availability'] * 100:.2f}",
            f"{lat['p50']:.1f}",
            f"{lat['p95']:.1f}",
            f"{lat['p99']:.1f}",
            *(f"{ph[p]:.1f}" for p in ("dns", "connect", "tls", "wait", "transfer")),
        )

    row("all", report["summary"])
    for name, b in report["workloads"].items():
        row(f"workload {name}", b)
    groups = sorted(report["groups"].items(), key=lambda kv: -kv[1]["requests"])
    for name, b in groups[:limit]:
        row(f"group {name}", b)
    if len(groups) > limit:
        t.caption = f"{len(groups) - limit} more groups in the JSON report; phases are mean ms"
    else:
        t.caption = "phases are mean ms of successful requests"
    return t


def _print_assertions(console: Console, report: dict[str, Any]) -> bool:
    ok = True
    for a in report["assertions"]:
        mark = "[green]PASS[/]" if a["ok"] else "[red]FAIL[/]"
        val = a.get("error") or a["value"]
        console.print(f"{mark} {a['assertion']}  (got {val})")
        ok = ok and a["ok"]
    return ok


@click.command("run")
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--seed", type=int, default=None, help="override the scenario's seed")
@click.option(
    "--replications",
    type=click.IntRange(1, 1000),
    default=1,
    show_default=True,
    help="run N seeds (seed, seed+1, …) and report 95 % confidence intervals",
)
@click.option(
    "--json",
    "json_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="write the JSON report here ('-' for stdout)",
)
@click.option(
    "--csv",
    "csv_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="write the time series as CSV",
)
@click.option(
    "--html",
    "html_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="write an HTML report with plots",
)
@click.option(
    "--save-baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    help="save this run's report as a baseline for edgesim check",
)
@click.option("-q", "--quiet", is_flag=True, help="no progress bar or table")
@click.option(
    "--threads",
    type=click.IntRange(1, 1024),
    default=None,
    help="threads for one run (default: the machine's cores); the report is the same for any",
)
@friendly
def run_cmd(
    scenario: Path,
    seed: int | None,
    replications: int,
    json_out: Path | None,
    csv_out: Path | None,
    html_out: Path | None,
    save_baseline: Path | None,
    quiet: bool,
    threads: int | None,
) -> None:
    """Run SCENARIO in virtual time and report what its users experienced."""
    from edgesim.outputs import check_outputs
    from edgesim.report.output import atomic_write, dumps, timeseries_csv

    check_outputs(
        ("--json", json_out),
        ("--csv", csv_out),
        ("--html", html_out),
        ("--save-baseline", save_baseline),
    )
    console = _console()
    with interruptible() as stop:
        results = _run_with_progress(scenario, seed, quiet or str(json_out) == "-", stop, threads)
        report = results.report
        if replications > 1:
            from edgesim.sim.replicate import replicate

            report = replicate(scenario, report, replications, stop)
    text = dumps(report)
    if json_out is not None:
        if str(json_out) == "-":
            click.echo(text, nl=False)
        else:
            atomic_write(json_out, text)
    if csv_out is not None:
        atomic_write(csv_out, timeseries_csv(report))
    if html_out is not None:
        from edgesim.report.html import render_html

        atomic_write(html_out, render_html(report, results))
    if save_baseline is not None:
        if report["complete"]:
            atomic_write(save_baseline, text)
        else:
            err_console().print("[yellow]not saving an interrupted run as a baseline[/]")
    if str(json_out) != "-" and not quiet:
        console.print(_summary_table(report))
        if "replications" in report:
            console.print(_replication_table(report))
    ok = _print_assertions(console if str(json_out) != "-" else err_console(), report)
    if not report["complete"]:
        err_console().print("[yellow]interrupted: the report covers the run up to that moment[/]")
        sys.exit(INTERRUPTED_EXIT)
    if not ok:
        sys.exit(1)


def _replication_table(report: dict[str, Any]) -> Table:
    rep = report["replications"]
    t = Table(
        title=f"{rep['n']} replications (seeds {rep['seeds'][0]}…{rep['seeds'][-1]}): "
        "mean ± 95 % CI"
    )
    t.add_column("scope")
    for col in ("p50 ms", "p95 ms", "p99 ms", "availability %"):
        t.add_column(col, justify="right")
    for scope, m in rep["metrics"].items():
        t.add_row(
            scope,
            *(f"{m[k]['mean']:.1f} ± {m[k]['ci95']:.1f}" for k in ("p50", "p95", "p99")),
            f"{m['availability']['mean'] * 100:.3f} ± {m['availability']['ci95'] * 100:.3f}",
        )
    return t


@click.command("check")
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="a report saved with edgesim run --save-baseline",
)
@click.option(
    "--tolerance",
    default="5%",
    show_default=True,
    help="how much worse a metric may get (relative), e.g. 5% or 0.05",
)
@click.option("--seed", type=int, default=None)
@click.option(
    "--junit",
    "junit_out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="also write a JUnit XML report (one test case per metric) for CI",
)
@click.option(
    "--json",
    "json_out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="also write every compared metric and the verdict as JSON ('-' for stdout)",
)
@friendly
def check_cmd(
    scenario: Path,
    baseline: Path,
    tolerance: str,
    seed: int | None,
    junit_out: Path | None,
    json_out: Path | None,
) -> None:
    """Re-run SCENARIO and exit 1 if it is worse than BASELINE beyond the tolerance."""
    from edgesim.outputs import check_outputs
    from edgesim.report.output import atomic_write
    from edgesim.sim.compare import check_document, compare, junit_xml
    from edgesim.units import parse_fraction

    check_outputs(("--junit", junit_out), ("--json", json_out))

    try:
        tol = parse_fraction(tolerance)
    except ValueError as exc:
        raise InputError.single(str(exc), path="--tolerance", expected="e.g. 5% or 0.05") from None
    try:
        base = json.loads(baseline.read_text(encoding="utf-8"))
        if base.get("edgesim_report") != 1:
            raise ValueError("not an edgesim report")
    except FileNotFoundError:
        raise InputError.single("baseline file not found", file=str(baseline)) from None
    except (ValueError, AttributeError) as exc:
        raise InputError.single(
            f"not a baseline report: {exc}",
            file=str(baseline),
            expected="a JSON file written by edgesim run --save-baseline",
        ) from None
    with interruptible() as stop:
        current = _run_with_progress(scenario, seed, False, stop).report
    if not current["complete"]:
        err_console().print("[yellow]interrupted: nothing compared[/]")
        sys.exit(INTERRUPTED_EXIT)
    changes = compare(base, current, tol)
    worse = [c for c in changes if c.worse]
    doc = check_document(str(scenario), str(baseline), tol, changes, current.get("assertions"))
    if junit_out is not None:
        atomic_write(junit_out, junit_xml(doc))
    if json_out is not None:
        text = json.dumps(doc, indent=2, sort_keys=True) + "\n"
        if str(json_out) == "-":
            click.echo(text, nl=False)
        else:
            atomic_write(json_out, text)
    console = _console() if str(json_out) != "-" else err_console()
    if worse:
        t = Table(
            title=f"{len(worse)} metric(s) worse than the baseline by more than {tol * 100:g} %"
        )
        for col in ("scope", "metric", "baseline", "now", "change"):
            t.add_column(col, justify="left" if col in ("scope", "metric") else "right")
        for c in sorted(worse, key=lambda c: (c.scope, c.metric)):
            t.add_row(c.scope, c.metric, f"{c.baseline:.4g}", f"{c.current:.4g}", c.change)
        console.print(t)
        sys.exit(1)
    console.print(f"[green]OK[/]: {len(changes)} metrics within {tol * 100:g} % of the baseline")
