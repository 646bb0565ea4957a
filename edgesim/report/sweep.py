"""The sweep's HTML summary: one self-contained page (inline CSS, plots as embedded PNGs)."""

from __future__ import annotations

import html
import math
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib import rc_context

from edgesim.report.page import CSS, RC, figure, png

MAX_BARS = 60


def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


def _ok(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in doc["variants"] if r["status"] == "ok"]


def _m(r: dict[str, Any], key: str) -> tuple[float, float]:
    s = r["metrics"][key]
    ci = s["ci95"]
    return float(s["mean"]), 0.0 if ci is None or math.isnan(ci) else float(ci)


def _bars(doc: dict[str, Any]) -> str:
    rows = _ok(doc)
    if not rows:
        return ""
    note = ""
    if len(rows) > MAX_BARS:
        rows = sorted(rows, key=lambda r: _m(r, "pop_p95")[0])[:MAX_BARS]
        note = f'<p class="note">the {MAX_BARS} variants with the lowest population p95</p>'
    rows = list(reversed(rows))
    fig = figure(9.5, 1.2 + 0.28 * len(rows))
    ax = fig.add_subplot()
    y = list(range(len(rows)))
    for off, key, colour in ((-0.2, "p95", "#3d8fd1"), (0.2, "pop_p95", "#f0a43a")):
        vals = [_m(r, key) for r in rows]
        ax.barh(
            [v + off for v in y],
            [v[0] for v in vals],
            height=0.38,
            xerr=[v[1] for v in vals],
            color=colour,
            label="p95 (all requests)" if key == "p95" else "population-weighted p95",
            error_kw={"elinewidth": 0.8, "capsize": 2},
        )
    ax.set_yticks(y, [f"{r['index']}: {r['label']}"[:60] for r in rows])
    ax.set_xlabel("ms (mean ± 95 % CI across replications)")
    ax.legend(loc="lower right")
    return png(fig, "p95 by variant") + note


def _pareto(doc: dict[str, Any]) -> str:
    rows = _ok(doc)
    if not rows:
        return ""
    front = set(doc["pareto"])
    fig = figure(7.5, 4.2)
    ax = fig.add_subplot()
    xs = [r["sites"] for r in rows]
    ys = [_m(r, "pop_p95")[0] for r in rows]
    ax.scatter(xs, ys, s=18, color="#9aa5b1", label="variant")
    pts = sorted((r["sites"], _m(r, "pop_p95")[0], r["index"]) for r in rows if r["index"] in front)
    if pts:
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "-o", color="#d9534f", ms=5)
        ax.scatter([], [], color="#d9534f", label="Pareto front")
        for sx, sy, i in pts:
            ax.annotate(str(i), (sx, sy), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set_xlabel("endpoint sites")
    ax.set_ylabel("population-weighted p95 (ms)")
    ax.legend()
    return png(fig, "Pareto front: latency vs number of sites")


def _numeric_axis(doc: dict[str, Any]) -> str:
    keys = doc["keys"]
    rows = _ok(doc)
    if len(keys) != 1 or not rows:
        return ""
    vals = [r["overrides"].get(keys[0]) for r in rows]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in vals):
        return ""
    pts = sorted(zip(vals, rows, strict=True), key=lambda p: p[0])
    fig = figure(7.5, 3.8)
    ax = fig.add_subplot()
    for key, colour in (("p95", "#3d8fd1"), ("pop_p95", "#f0a43a"), ("p99", "#d9534f")):
        m = [_m(r, key) for _, r in pts]
        ax.errorbar(
            [p[0] for p in pts],
            [v[0] for v in m],
            yerr=[v[1] for v in m],
            marker="o",
            ms=3,
            capsize=2,
            color=colour,
            label=key,
        )
    ax.set_xlabel(keys[0])
    ax.set_ylabel("ms")
    ax.legend()
    return png(fig, f"latency by {keys[0]}")


def _num(x: Any, nd: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:,.{nd}f}"


def _table(doc: dict[str, Any]) -> str:
    head = ["#", "variant", "status", "sites", "p50", "p95", "p99", "pop p95", "worst p95"]
    head += ["availability %", "worst group"]
    out = ["<div class='scroll'><table><tr>"]
    out += [f"<th>{_e(h)}</th>" for h in head]
    out.append("</tr>")
    front = set(doc["pareto"])
    for r in doc["variants"]:
        cells = [str(r["index"]) + (" ★" if r["index"] in front else ""), r["label"], r["status"]]
        cells.append(str(r["sites"]))
        if r["status"] == "ok":
            for key in ("p50", "p95", "p99", "pop_p95", "worst_p95"):
                m, ci = _m(r, key)
                cells.append(f"{_num(m)} ± {_num(ci)}")
            m, ci = _m(r, "availability")
            cells.append(f"{_num(m * 100, 3)} ± {_num(ci * 100, 3)}")
            cells.append(r.get("worst_group", ""))
        else:
            cells += ["", "", "", "", "", "", r.get("error", "")]
        cls = "" if r["status"] == "ok" else " class='fail'"
        out.append(f"<tr{cls}>" + "".join(f"<td>{_e(c)}</td>" for c in cells) + "</tr>")
    out.append("</table></div>")
    return "".join(out)


def render_sweep_html(doc: dict[str, Any]) -> str:
    """Deterministic for the same sweep document."""
    with rc_context(RC):
        plots = _bars(doc) + _numeric_axis(doc) + _pareto(doc)
    failed = [r for r in doc["variants"] if r["status"] != "ok"]
    cut = [r for r in doc["variants"] if r["status"] == "incomplete"]
    if not doc.get("complete", True):
        banner = (
            f"<div class='banner bad'>INCOMPLETE: interrupted; {len(cut)} of "
            f"{len(doc['variants'])} variants did not finish</div>"
        )
    elif failed:
        banner = (
            f"<div class='banner bad'>{len(failed)} of {len(doc['variants'])} variants failed</div>"
        )
    else:
        banner = f"<div class='banner ok'>{len(doc['variants'])} variants, all ran</div>"
    title = f"edgesim sweep — {doc.get('scenario', '')}"
    body = (
        f"<h1>{_e(title)}</h1>{banner}"
        f"<p class='note'>{doc['replications']} replication(s) per variant (seeds seed … "
        "seed+N−1); mean ± 95 % confidence interval (Student t). Population p95: each client "
        "group's p95 weighted by its metro's population. ★ = on the Pareto front of "
        "population p95 vs number of endpoint sites.</p>"
        f"<h2>Plots</h2>{plots}<h2>Variants</h2>{_table(doc)}"
    )
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )
