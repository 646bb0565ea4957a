"""The HTML report: one self-contained file with tables and plots (``edgesim run --html``).

Everything is embedded: the CSS is inline and every plot is a base64 PNG drawn with matplotlib's
Agg renderer (no JavaScript, no fonts, tiles or scripts fetched from anywhere). PNGs are written
without the ``Software`` metadata and nothing depends on the wall clock, so the same report (and
results) give a byte-identical file.

Most of the page needs only the JSON report (:func:`edgesim.sim.report.build_report`). Two
parts are better with the :class:`~edgesim.sim.results.Results` of the run:

* the latency CDFs are then drawn from the full latency histograms of each client group; with
  only the report they are approximated from the stored percentiles (p50, p90, p95, p99 and
  p99.9, joined by straight lines), which says nothing below the median — the page says which
  one it shows;
* the world map needs the metros' coordinates, which are in the world, not in the report;
  without results it is left out with a note.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import matplotlib
import numpy as np
from matplotlib.patches import Polygon
from matplotlib.patheffects import withStroke
from matplotlib.transforms import blended_transform_factory

from edgesim.report import page
from edgesim.report.page import CSS, Cell
from edgesim.report.plot import land_rings
from edgesim.sim.batch import PHASES
from edgesim.sim.histogram import _bucket_values
from edgesim.topology.model import Region

if TYPE_CHECKING:
    from edgesim.sim.results import Results

TOP_GROUPS = 20
CDF_GROUPS = 12
TOP_POPS = 20

PHASE_COLOURS = {
    "dns": "#8e6bbf",
    "connect": "#3d8fd1",
    "tls": "#44b3a6",
    "wait": "#f0a43a",
    "transfer": "#d9534f",
}
# The percentiles a report keeps per scope, as (key, cumulative fraction).
STORED_PERCENTILES = (
    ("p50", 0.5),
    ("p90", 0.9),
    ("p95", 0.95),
    ("p99", 0.99),
    ("p999", 0.999),
)


# ---- the page -----------------------------------------------------------------------------
def render_html(report: dict[str, Any], results: Results | None = None) -> str:
    """The report as one self-contained HTML page (deterministic for the same input)."""
    sections = [
        ("assertions", "Assertions", _assertions(report)),
        ("summary", "Summary", _summary(report)),
        ("cdf", "Latency distribution", _cdfs(report, results)),
        ("timeseries", "Over time", _timeseries(report)),
        ("map", "Map", _map(report, results)),
        ("services", "Services", _services(report)),
        ("events", "Events", _events(report)),
    ]
    nav = "".join(f'<a href="#{key}">{page.e(title)}</a>' for key, title, _ in sections)
    body = "".join(
        f'<section id="{key}"><h2>{page.e(title)}</h2>{content}</section>'
        for key, title, content in sections
    )
    title = f"edgesim — {report.get('scenario', '')}"
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{page.e(title)}</title><style>{CSS}</style></head>"
        f"<body><main>{_header(report)}<nav>{nav}</nav>{body}</main></body></html>\n"
    )


def _header(report: dict[str, Any]) -> str:
    summary = report.get("summary", {})
    meta: list[tuple[str, str]] = [
        ("world", page.e(report.get("world", "?"))),
        ("seed", page.e(report.get("seed", "?"))),
        ("duration", page.e(page.duration(report.get("duration_s")))),
        ("warm-up", page.e(page.duration(report.get("warmup_s")) + " (not measured)")),
        ("simulated requests", page.e(page.int_(report.get("simulated_requests")))),
        (
            "measured requests",
            page.e(
                f"{page.int_(summary.get('requests'))} "
                f"({page.int_(summary.get('errors'))} errors, availability "
                f"{page.pct(summary.get('availability'), 3)})"
            ),
        ),
    ]
    status = summary.get("status_counts")
    if status:
        meta.append(("status codes", page.e(", ".join(f"{k}: {v:,}" for k, v in status.items()))))
    meta.append(
        (
            "edgesim",
            page.e(
                f"{report.get('edgesim_version', '?')} "
                f"(report format {report.get('edgesim_report', '?')})"
            ),
        )
    )
    reps = report.get("replications")
    if reps:
        meta.append(
            ("replications", page.e(f"{reps.get('n')} seeds: {page.value(reps.get('seeds'))}"))
        )
    dl = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in meta)
    if report.get("complete", True):
        banner = '<div class="banner ok">Complete run.</div>'
    else:
        banner = (
            '<div class="banner warn">INCOMPLETE: the run was interrupted; this report covers '
            "the run up to that moment.</div>"
        )
    asserts = report.get("assertions", [])
    failed = sum(1 for a in asserts if not a.get("ok"))
    if asserts:
        cls = "bad" if failed else "ok"
        text = (
            f"{failed} of {len(asserts)} assertions failed."
            if failed
            else f"All {len(asserts)} assertions passed."
        )
        banner += f'<div class="banner {cls}">{page.e(text)}</div>'
    return (
        '<header><div class="note">edgesim report</div>'
        f'<h1>{page.e(report.get("scenario", ""))}</h1><dl class="meta">{dl}</dl>{banner}'
        f"{_replications(report)}</header>"
    )


def _replications(report: dict[str, Any]) -> str:
    reps = report.get("replications")
    if not reps or not reps.get("metrics"):
        return ""
    head = [page.t("scope")] + [page.n(h) for h in ("p50 ms", "p95 ms", "p99 ms", "availability")]

    def mci(d: dict[str, Any], pct: bool) -> Cell:
        mean, ci = d.get("mean"), d.get("ci95")
        if pct:
            return page.n(f"{page.pct(mean, 3)} ± {page.pct(ci, 3)}")
        return page.n(f"{page.ms(mean)} ± {page.ms(ci)}")

    rows = [
        [page.t(scope)]
        + [mci(m[p], False) for p in ("p50", "p95", "p99")]
        + [mci(m["availability"], True)]
        for scope, m in reps["metrics"].items()
    ]
    return (
        f"<h3>{page.e(reps.get('n'))} replications: mean ± 95 % confidence interval</h3>"
        + page.table(head, rows)
    )


def _assertions(report: dict[str, Any]) -> str:
    asserts = report.get("assertions", [])
    if not asserts:
        return page.note("The scenario has no assertions.")
    rows = []
    for a in asserts:
        ok = bool(a.get("ok"))
        rows.append(
            [
                ("PASS" if ok else "FAIL", "pass" if ok else "fail"),
                (f"<code>{page.e(a.get('assertion', ''))}</code>", ""),
                page.n(page.value(a.get("value"))),
                page.t(a.get("error", "")),
            ]
        )
    return page.table(
        [page.t("result"), page.t("assertion"), page.n("value"), page.t("error")], rows
    )


# ---- summary ------------------------------------------------------------------------------
def _top_groups(report: dict[str, Any], n: int) -> list[str]:
    groups: dict[str, Any] = report.get("groups", {})
    return sorted(groups, key=lambda g: (-int(groups[g].get("requests", 0)), g))[:n]


def _scopes(report: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(kind, name, block) for all, each workload, each segment and the top groups."""
    out: list[tuple[str, str, dict[str, Any]]] = [("all", "", report.get("summary", {}))]
    out += [("workload", k, v) for k, v in report.get("workloads", {}).items()]
    out += [("segment", k, v) for k, v in report.get("segments", {}).items()]
    groups = report.get("groups", {})
    out += [("group", g, groups[g]) for g in _top_groups(report, TOP_GROUPS)]
    return out


def _summary(report: dict[str, Any]) -> str:
    head = [page.t("scope"), page.t("name")]
    head += [page.n(h) for h in ("requests", "errors", "availability")]
    head += [page.n(f"{p} ms") for p in ("p50", "p95", "p99", "p99.9", "mean")]
    head += [page.n(f"{p} ms") for p in PHASES]
    rows = []
    for kind, name, b in _scopes(report):
        lat = b.get("latency_ms", {})
        ph = b.get("phases_mean_ms", {})
        rows.append(
            [page.t(kind), page.t(name)]
            + [page.n(page.int_(b.get("requests"))), page.n(page.int_(b.get("errors")))]
            + [page.n(page.pct(b.get("availability"), 3))]
            + [page.n(page.ms(lat.get(p))) for p in ("p50", "p95", "p99", "p999", "mean")]
            + [page.n(page.ms(ph.get(p))) for p in PHASES]
        )
    n_groups = len(report.get("groups", {}))
    more = f" The JSON report has all {n_groups} groups." if n_groups > TOP_GROUPS else ""
    parts = [
        page.table(head, rows),
        page.note(
            f"Latencies are of successful requests only; phases are mean ms per successful "
            f"request. Groups: the top {min(TOP_GROUPS, n_groups)} by requests.{more}"
        ),
        "<h3>Mean phase breakdown</h3>",
        _phase_chart(report),
        "<h3>Mean time per hop</h3>",
        _hops(report),
    ]
    sites = report.get("sites", {})
    if sites:
        parts += ["<h3>Serving sites</h3>", _sites(sites)]
    return "".join(parts)


def _phase_chart(report: dict[str, Any]) -> str:
    groups = report.get("groups", {})
    names = _top_groups(report, TOP_GROUPS)
    if not names:
        return page.note("No client groups.")
    labels = ["all", *names]
    blocks = [report.get("summary", {}), *(groups[g] for g in names)]
    with matplotlib.rc_context(page.RC):
        fig = page.figure(11, 1.2 + 0.28 * len(labels))
        ax = fig.add_subplot()
        y = np.arange(len(labels))
        left = np.zeros(len(labels))
        for p in PHASES:
            vals = np.array([float(b.get("phases_mean_ms", {}).get(p, 0.0)) for b in blocks])
            ax.barh(y, vals, left=left, color=PHASE_COLOURS.get(p), label=p, height=0.7)
            left += vals
        for yi, total in zip(y, left, strict=True):
            ax.text(
                float(total),
                float(yi),
                f" {total:.0f} ms",
                va="center",
                fontsize=7.5,
                color="#3e4c59",
            )
        ax.set_yticks(y, labels)
        ax.get_yticklabels()[0].set_fontweight("bold")
        ax.invert_yaxis()
        ax.set_xlim(0, max(float(left.max()), 1.0) * 1.1)
        ax.set_xlabel("mean ms per successful request")
        ax.grid(axis="y", visible=False)
        ax.legend(ncols=len(PHASES), loc="lower right", bbox_to_anchor=(1, 1.0))
        ax.set_title("Mean phase breakdown (all, then top groups by requests)", loc="left")
        return page.png(fig, "stacked bar chart of the mean phase breakdown per group")


def _hops(report: dict[str, Any]) -> str:
    scopes: list[tuple[str, dict[str, Any]]] = [("all", report.get("summary", {}))]
    scopes += [(f"workload {k}", v) for k, v in report.get("workloads", {}).items()]
    segments = report.get("segments", {})
    if len(segments) > 1:
        scopes += [(f"segment {k}", v) for k, v in segments.items()]
    hops: list[str] = []
    for _, b in scopes:
        hops += [h for h in b.get("hops_mean_ms", {}) if h not in hops]
    if not hops:
        return page.note("No hop times recorded.")
    head = [page.t("hop")] + [page.n(name) for name, _ in scopes]
    rows = [
        [page.t(h)] + [page.n(page.ms(b.get("hops_mean_ms", {}).get(h))) for _, b in scopes]
        for h in hops
    ]
    return page.table(head, rows) + page.note(
        "Mean ms per successful request of the scope (requests that do not cross a hop count "
        "as 0 ms, so hops on some paths only look small)."
    )


def _sites(sites: dict[str, Any]) -> str:
    head = [page.t("site"), page.n("requests")] + [
        page.n(f"{p} ms") for p in ("p50", "p95", "p99", "mean")
    ]
    order = sorted(sites, key=lambda s: (-int(sites[s].get("requests", 0)), s))
    rows = [
        [page.t(s), page.n(page.int_(sites[s].get("requests")))]
        + [
            page.n(page.ms(sites[s].get("latency_ms", {}).get(p)))
            for p in ("p50", "p95", "p99", "mean")
        ]
        for s in order[:TOP_POPS]
    ]
    return page.table(head, rows) + page.note("End-to-end latency of successful requests by site.")


# ---- latency distribution -----------------------------------------------------------------
def _histogram_cdfs(
    report: dict[str, Any], results: Results, names: list[str]
) -> list[tuple[str, np.ndarray[Any, Any], np.ndarray[Any, Any]]] | None:
    """(name, ms, cumulative fraction) per group from the run's histograms, "all" first."""
    try:
        group_names = list(results.group_names)
        counts = np.asarray(results.run.metrics.pairs.counts)
        nw = int(results.n_workloads)
    except AttributeError:
        return None
    if any(n not in group_names for n in names) or counts.shape[0] != len(group_names) * nw:
        return None
    _, high = _bucket_values()
    ms = high.astype(np.float64) / 1000.0
    per_group = counts.reshape(len(group_names), nw, -1).sum(axis=1)
    out = []
    for name, c in [("all", per_group.sum(axis=0))] + [
        (n, per_group[group_names.index(n)]) for n in names
    ]:
        total = int(c.sum())
        if total == 0:
            continue
        nz = np.flatnonzero(c)
        out.append((name, ms[nz], np.cumsum(c[nz]) / total))
    return out


def _cdfs(report: dict[str, Any], results: Results | None) -> str:
    groups = report.get("groups", {})
    names = _top_groups(report, CDF_GROUPS)
    curves = _histogram_cdfs(report, results, names) if results is not None else None
    exact = curves is not None
    if curves is None:
        curves = []
        for name, b in [("all", report.get("summary", {}))] + [(n, groups[n]) for n in names]:
            lat = b.get("latency_ms", {})
            pts = [(float(lat[k]), q) for k, q in STORED_PERCENTILES if page.num(lat.get(k))]
            if pts:
                curves.append((name, np.array([p[0] for p in pts]), np.array([p[1] for p in pts])))
    if not curves:
        return page.note("No successful requests: nothing to draw.")
    colours = page.colours(len(curves))
    with matplotlib.rc_context(page.RC):
        fig = page.figure(11, 4.6)
        ax1, ax2 = fig.subplots(1, 2)
        for i, (name, x, y) in enumerate(curves):
            style: dict[str, Any] = (
                {"color": "black", "lw": 2.0, "zorder": 5}
                if name == "all"
                else {"color": colours[i], "lw": 1.1}
            )
            if exact:
                ax1.plot(x, y, drawstyle="steps-post", label=name, **style)
                tail = y < 1.0
                ax2.plot(x[tail], 1.0 - y[tail], drawstyle="steps-post", label=name, **style)
            else:
                ax1.plot(x, y, marker="o", ms=3, label=name, **style)
                tail = y < 1.0
                ax2.plot(x[tail], 1.0 - y[tail], marker="o", ms=3, label=name, **style)
        for ax in (ax1, ax2):
            ax.set_xscale("log")
            ax.set_xlabel("latency (ms, log scale)")
        ax1.set_ylabel("fraction of successful requests ≤ x")
        ax1.set_ylim(0 if exact else 0.45, 1.01)
        ax2.set_yscale("log")
        ax2.set_ylabel("fraction > x (tail)")
        kind = "from histograms" if exact else "approximated from percentiles"
        ax1.set_title(f"Latency CDF ({kind})", loc="left")
        ax2.set_title("Tail: complementary CDF", loc="left")
        ax2.legend(loc="lower left", ncols=2)
        img = page.png(fig, f"latency CDF per group ({kind})")
    if exact:
        note = (
            "Drawn from the full latency histograms of the run (HdrHistogram buckets, ≤ 1 % "
            f"error) for all requests (black) and the top {len(names)} groups by requests."
        )
    else:
        note = (
            "Approximation: only the stored percentiles (p50, p90, p95, p99, p99.9) of each "
            "group are known here, joined by straight lines; nothing below the median "
            "is shown. Render the report together with the run's results for real CDFs."
        )
    return img + page.note(note)


# ---- time series --------------------------------------------------------------------------
def _event_label(ev: dict[str, Any]) -> str:
    details = [
        f"{k}={page.value(v)}" if k not in ("target", "link", "note") else page.value(v)
        for k, v in ev.items()
        if k not in ("at_s", "what")
    ]
    return " ".join([str(ev.get("what", "?")), *details])


def _row_ms(row: dict[str, Any], i: int, p: str) -> float:
    """A percentile of one interval, NaN when no request of it succeeded (nothing measured)."""
    if int(row["requests"][i]) - int(row["errors"][i]) <= 0:
        return math.nan
    return float(row["latency_ms"][i].get(p) or 0.0)


def _timeseries(report: dict[str, Any]) -> str:
    ts = report.get("timeseries", {})
    rows: list[dict[str, Any]] = ts.get("rows", [])
    if not rows:
        return page.note("No time series (nothing was measured).")
    names: list[str] = ts.get("workloads", [])
    interval = float(ts.get("interval_s") or 1.0)
    duration = float(report.get("duration_s") or 0.0)
    t = np.array([float(r["t_s"]) for r in rows])
    end = t + interval
    if duration > 0:
        end = np.minimum(end, np.maximum(duration, t + 1e-9))
    width = np.maximum(end - t, 1e-9)
    events = [e for e in report.get("events", []) if page.num(e.get("at_s")) is not None]
    all_i = names.index("all") if "all" in names else len(names) - 1
    colours = page.colours(len(names))

    def steps(vals: Sequence[float]) -> tuple[list[float], list[float]]:
        xs = [float(v) / 60 for v in t] + [float(end[-1]) / 60]
        return xs, [*vals, vals[-1]]

    with matplotlib.rc_context(page.RC):
        fig = page.figure(11, 8.2)
        axes = fig.subplots(3, 1, sharex=True)
        ax_r, ax_e, ax_l = axes
        for i, name in enumerate(names):
            if len(names) <= 2 and i != all_i:
                continue  # one workload: its lines are the same as "all"
            style: dict[str, Any] = (
                {"color": "black", "lw": 1.8} if i == all_i else {"color": colours[i], "lw": 1.1}
            )
            req = [float(r["requests"][i]) for r in rows]
            err = [float(r["errors"][i]) for r in rows]
            ax_r.plot(
                *steps(list(np.array(req) / width)), drawstyle="steps-post", label=name, **style
            )
            rate = [100 * e / q if q else 0.0 for e, q in zip(err, req, strict=True)]
            ax_e.plot(*steps(rate), drawstyle="steps-post", label=name, **style)
        for p, ls in (("p50", ":"), ("p95", "--"), ("p99", "-")):
            vals = [_row_ms(r, all_i, p) for r in rows]
            ax_l.plot(
                *steps(vals), drawstyle="steps-post", color="black", ls=ls, lw=1.5, label=f"all {p}"
            )
        if len(names) > 2:
            for i, name in enumerate(names):
                if i == all_i:
                    continue
                vals = [_row_ms(r, i, "p99") for r in rows]
                ax_l.plot(
                    *steps(vals),
                    drawstyle="steps-post",
                    color=colours[i],
                    lw=1.0,
                    label=f"{name} p99",
                )
        ax_r.set_ylabel("requests / s")
        ax_r.set_ylim(bottom=0, top=ax_r.get_ylim()[1] * 1.15)
        ax_e.set_ylabel("error rate (%)")
        ax_e.set_ylim(bottom=0, top=max(ax_e.get_ylim()[1], 1.0))
        ax_l.set_ylabel("latency (ms)")
        ax_l.set_ylim(bottom=0)
        ax_l.set_xlabel("simulated time (min)")
        ax_r.set_title(
            "Requests, errors and latency per interval (successful requests)", loc="left"
        )
        for ax in axes:
            ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
            trans = blended_transform_factory(ax.transData, ax.transAxes)
            for k, ev in enumerate(events):
                x = float(ev["at_s"]) / 60
                ax.axvline(x, color="#c0392b", lw=1.0, ls="--", alpha=0.8)
                if ax is ax_r:
                    ax.text(
                        x,
                        0.97,
                        f" E{k + 1}: {_event_label(ev)}",
                        transform=trans,
                        rotation=90,
                        va="top",
                        ha="left",
                        fontsize=7.5,
                        color="#8a1c1c",
                        zorder=10,
                        bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1},
                    )
        lo = min([float(t[0]) / 60] + [float(e["at_s"]) / 60 for e in events])
        hi = max([float(end[-1]) / 60] + [float(e["at_s"]) / 60 for e in events])
        ax_l.set_xlim(lo, hi + (hi - lo) * 0.01)
        img = page.png(fig, "time series of request rate, error rate and latency percentiles")
    return (
        img
        + page.note(
            f"Intervals of {page.duration(interval)}; each step is one interval. Dashed red lines "
            "mark timeline events. Latency gaps: no request of the interval succeeded."
        )
        + _around_events(report, rows, names, t, end, events)
    )


def _around_events(
    report: dict[str, Any],
    rows: list[dict[str, Any]],
    names: list[str],
    t: np.ndarray[Any, Any],
    end: np.ndarray[Any, Any],
    events: list[dict[str, Any]],
) -> str:
    if not events:
        return ""
    all_i = names.index("all") if "all" in names else len(names) - 1
    head = [page.t("event"), page.t("interval"), page.t("")]
    head += [page.n(h) for h in ("requests/s", "error rate", "p50 ms", "p95 ms", "p99 ms")]
    out = []
    for k, ev in enumerate(events):
        at = float(ev["at_s"])
        inside = np.flatnonzero((t <= at) & (at < end))
        idx = int(inside[0]) if len(inside) else int(np.searchsorted(t, at))
        idx = min(idx, len(rows) - 1)
        for j, rel in ((idx - 1, "before"), (idx, "contains event"), (idx + 1, "after")):
            if not 0 <= j < len(rows):
                continue
            r = rows[j]
            req = float(r["requests"][all_i])
            err = float(r["errors"][all_i])
            first = j == max(idx - 1, 0)
            out.append(
                [
                    page.t(f"E{k + 1} @ {page.clock(at)}: {_event_label(ev)}" if first else ""),
                    page.t(f"{page.clock(t[j])}–{page.clock(end[j])}"),
                    page.t(rel),
                    page.n(f"{req / max(float(end[j] - t[j]), 1e-9):,.1f}"),
                    page.n(page.pct(err / req if req else 0.0)),
                ]
                + [page.n(page.ms(_row_ms(r, all_i, p))) for p in ("p50", "p95", "p99")]
            )
    return "<h3>Around each event (all workloads)</h3>" + page.table(head, out)


# ---- map ----------------------------------------------------------------------------------
def _map(report: dict[str, Any], results: Results | None) -> str:
    if results is None:
        return page.note("No map: metro coordinates need the run's results, not just the report.")

    groups = report.get("groups", {})
    try:
        nodes = results.run.ctx.world.nodes
        where = {g.name: nodes[g.key] for g in results.run.groups}
    except (AttributeError, KeyError):
        return page.note("No map: the run's groups have no coordinates.")
    names = sorted(
        (n for n in groups if n in where and int(groups[n].get("requests", 0)) > 0),
        key=lambda n: (-int(groups[n]["requests"]), n),
    )
    if not names:
        return page.note("No map: no client group sent requests.")
    lon = np.array([float(where[n].lon) for n in names])
    lat = np.array([float(where[n].lat) for n in names])
    p95 = np.array([float(groups[n].get("latency_ms", {}).get("p95") or 0.0) for n in names])
    req = np.array([float(groups[n]["requests"]) for n in names])
    size = 8 + 320 * req / req.max()
    regions = [n for n in nodes.values() if isinstance(n, Region)]
    lo = float(np.percentile(p95, 2))
    hi = max(float(np.percentile(p95, 98)), lo + 1.0)
    with matplotlib.rc_context(page.RC):
        fig = page.figure(11, 4.75)
        ax = fig.add_subplot()
        ax.set_facecolor("#e4eef6")
        for ring in land_rings():
            ax.add_patch(
                Polygon(
                    ring, closed=True, facecolor="#fbfaf7", edgecolor="#c9c4b8", lw=0.4, zorder=0.5
                )
            )
        ax.grid(False)
        if regions:
            ax.scatter(
                [r.lon for r in regions],
                [r.lat for r in regions],
                s=18,
                marker="s",
                color="#52606d",
                zorder=2,
                label="AWS regions",
            )
        # Draw big metros first so small ones stay visible on top.
        sc = ax.scatter(
            lon,
            lat,
            s=size,
            c=p95,
            cmap="plasma_r",
            vmin=lo,
            vmax=hi,
            alpha=0.85,
            edgecolors="#1f2933",
            linewidths=0.4,
            zorder=3,
        )
        cb = fig.colorbar(sc, cax=ax.inset_axes((1.01, 0.0, 0.018, 1.0)))
        cb.set_label("p95 latency (ms)")
        for n, x, y in zip(names[:12], lon[:12], lat[:12], strict=True):
            ax.annotate(
                n,
                (x, y),
                xytext=(4, 3),
                textcoords="offset points",
                fontsize=7,
                color="#1f2933",
                zorder=4,
                path_effects=[withStroke(linewidth=2, foreground="white")],
            )
        for r in req.max() * np.array([1.0, 0.25, 0.05]):
            ax.scatter(
                [], [], s=8 + 320 * r / req.max(), color="#9aa5b1", label=f"{page.int_(r)} requests"
            )
        ax.legend(loc="lower left", frameon=True, framealpha=0.9, labelspacing=1.2)
        ax.set_xlim(-180, 180)
        ax.set_ylim(-60, 78)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title("p95 latency by metro (colour) and requests (area)", loc="left")
        img = page.png(fig, "world map of p95 latency by metro")
    return img + page.note(
        f"{len(names)} metros, the top 12 by requests labelled. The colour scale runs from the "
        f"2nd to the 98th percentile of the metros' p95 ({page.ms(lo)} to {page.ms(hi)} ms)."
    )


# ---- services -----------------------------------------------------------------------------
CF_KEYS = (
    "requests",
    "hit_ratio",
    "byte_hit_ratio",
    "regional_hit_ratio",
    "shield_hit_ratio",
    "origin_offload",
    "origin_requests",
)


def _services(report: dict[str, Any]) -> str:
    services: dict[str, Any] = report.get("services", {})
    parts = [
        page.note(
            "Service counters come from the services themselves and may cover the whole run, "
            "warm-up included."
        )
    ]
    for section, data in services.items():
        if section == "cloudfront" and isinstance(data, dict):
            parts.append(_cloudfront(data))
        elif section == "endpoints" and isinstance(data, dict):
            parts.append("<h3>Endpoints</h3>" + _dict_table(data, "endpoint"))
        else:
            parts.append(f"<h3>{page.e(section)}</h3>" + _generic(data))
    parts.append("<h3>DNS</h3>" + _dns(report.get("dns", {})))
    return "".join(parts)


def _cloudfront(data: dict[str, Any]) -> str:
    dists: dict[str, Any] = data.get("distributions", {})
    parts = []
    for name, d in dists.items():
        parts.append(f"<h3>CloudFront distribution {page.e(name)}</h3>")
        keys = [k for k in CF_KEYS if k in d]
        keys += [k for k, v in d.items() if k not in keys and not isinstance(v, dict | list)]
        parts.append(
            page.table(
                [page.n(_label(k)) for k in keys], [[page.n(page.keyed(k, d[k])) for k in keys]]
            )
        )
        res = d.get("results")
        if isinstance(res, dict) and res:
            total = sum(int(v) for v in res.values()) or 1
            parts.append(
                page.table(
                    [page.t("result"), page.n("requests"), page.n("share")],
                    [
                        [page.t(k), page.n(page.int_(v)), page.n(page.pct(int(v) / total))]
                        for k, v in res.items()
                    ],
                )
            )
        pops = d.get("pops")
        if isinstance(pops, dict) and pops:
            order = sorted(pops, key=lambda p: (-int(pops[p].get("requests", 0)), p))
            parts.append(
                f"<p>Top {min(TOP_POPS, len(pops))} of {len(pops)} edge locations by "
                "requests</p>"
                + _dict_table({p: pops[p] for p in order[:TOP_POPS]}, "edge location")
            )
        for k, v in d.items():
            if k not in ("results", "pops") and isinstance(v, dict | list):
                parts.append(f"<p>{page.e(k)}</p>" + _generic(v))
    for k, v in data.items():
        if k != "distributions":
            parts.append(f"<h3>cloudfront {page.e(k)}</h3>" + _generic(v))
    return "".join(parts)


def _dict_table(data: dict[str, Any], first: str) -> str:
    """A dict of dicts as a table: one row per key, one column per inner key."""
    if not data:
        return page.note("None.")
    if not all(isinstance(v, dict) for v in data.values()):
        return _generic(data)
    cols: list[str] = []
    for v in data.values():
        cols += [k for k in v if k not in cols]
    numeric = {
        c: all(page.num(v.get(c)) is not None for v in data.values() if c in v) for c in cols
    }

    def cell(c: str, text: str) -> Cell:
        return page.n(text) if numeric[c] else page.t(text)

    head = [page.t(first)] + [cell(c, _label(c)) for c in cols]
    rows = [
        [page.t(name)] + [cell(c, page.keyed(c, v.get(c))) for c in cols]
        for name, v in data.items()
    ]
    return page.table(head, rows)


def _label(key: str) -> str:
    return key.replace("_", " ")


def _generic(data: Any) -> str:
    if isinstance(data, dict):
        rows_of_scalars = all(
            isinstance(v, dict) and not any(isinstance(x, dict) for x in v.values())
            for v in data.values()
        )
        if len(data) > 1 and rows_of_scalars:
            return _dict_table(data, "name")
        if any(isinstance(v, dict) for v in data.values()):
            return "".join(f"<p>{page.e(_label(str(k)))}</p>{_generic(v)}" for k, v in data.items())
        return page.table(
            [page.t("key"), page.t("value")],
            [[page.t(k), page.t(page.keyed(str(k), v))] for k, v in data.items()],
        )
    if isinstance(data, list):
        return f"<pre>{page.e(json.dumps(data, indent=1, sort_keys=True, default=str))}</pre>"
    return f"<p>{page.e(page.value(data))}</p>"


def _dns(dns: dict[str, Any]) -> str:
    if not dns:
        return page.note("No DNS lookups.")
    head = [
        page.t("host"),
        page.n("queries"),
        page.n("resolver misses"),
        page.n("miss ratio"),
        page.n("stub hits"),
    ]
    rows = []
    for host, s in dns.items():
        q = int(s.get("queries", 0))
        miss = int(s.get("resolver_misses", 0))
        rows.append(
            [
                page.t(host),
                page.n(page.int_(q)),
                page.n(page.int_(miss)),
                page.n(page.pct(miss / q if q else 0.0)),
                page.n(page.int_(s.get("stub_hits"))),
            ]
        )
    return page.table(head, rows) + page.note(
        "queries: lookups sent to a resolver; resolver misses: of those, answered by the "
        "authoritative servers; stub hits: new connections answered by the client's own cache."
    )


# ---- events -------------------------------------------------------------------------------
def _events(report: dict[str, Any]) -> str:
    events = report.get("events", [])
    if not events:
        return page.note("No timeline events.")
    rows = []
    for k, ev in enumerate(events):
        details = {key: v for key, v in ev.items() if key not in ("at_s", "what")}
        rows.append(
            [
                page.t(f"E{k + 1}"),
                page.n(page.clock(ev.get("at_s"))),
                page.n(f"{page.num(ev.get('at_s')) or 0.0:g}"),
                page.t(ev.get("what", "")),
                page.t(page.value(details)),
            ]
        )
    return page.table(
        [page.t("#"), page.n("at"), page.n("at (s)"), page.t("what"), page.t("details")], rows
    )
