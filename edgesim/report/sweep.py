"""The sweep's HTML summary: one self-contained page (inline CSS, plots as embedded PNGs)."""

from __future__ import annotations

import html
import math
import textwrap
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


def _has_ci(doc: dict[str, Any]) -> bool:
    """Confidence intervals exist only with two or more replications per variant."""
    return int(doc.get("replications", 1)) > 1


def _show(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str | int | float):
        return str(v)
    return html.unescape(str(v))


def short_keys(keys: list[str]) -> dict[str, str]:
    """The shortest unambiguous suffix of each varied key, by dotted path segment.

    ``services.cloudfront.distributions[0].cache_policy.default_ttl`` becomes
    ``default_ttl`` unless another varied key ends the same way, when more segments are kept.
    """
    parts = {k: k.split(".") for k in keys}
    out: dict[str, str] = {}
    for k, segs in parts.items():
        for n in range(1, len(segs) + 1):
            cand = ".".join(segs[-n:])
            clash = [o for o, os_ in parts.items() if o != k and ".".join(os_[-n:]) == cand]
            if not clash:
                out[k] = cand
                break
        else:
            out[k] = k
    return out


def variant_label(doc: dict[str, Any], r: dict[str, Any]) -> str:
    """The values that tell this variant from the others: every varied key, shortened.

    Never cut: a long label wraps instead, so the value that differs is always shown.
    """
    keys = doc.get("keys", [])
    if not r.get("overrides"):
        return "base"
    names = short_keys(keys)
    return " ".join(f"{names.get(k, k)}={_show(v)}" for k, v in r["overrides"].items())


def _wrapped(text: str, width: int = 48) -> str:
    return "\n".join(textwrap.wrap(text, width, break_long_words=True)) or text


def _bars(doc: dict[str, Any]) -> str:
    rows = _ok(doc)
    if not rows:
        return ""
    note = ""
    if len(rows) > MAX_BARS:
        rows = sorted(rows, key=lambda r: _m(r, "pop_p95")[0])[:MAX_BARS]
        note = f'<p class="note">the {MAX_BARS} variants with the lowest population p95</p>'
    rows = list(reversed(rows))
    ci = _has_ci(doc)
    labels = [_wrapped(f"{r['index']}: {variant_label(doc, r)}") for r in rows]
    lines = sum(lb.count("\n") + 1 for lb in labels)
    fig = figure(9.5, 1.2 + 0.28 * max(len(rows), lines * 0.75))
    ax = fig.add_subplot()
    y = list(range(len(rows)))
    for off, key, colour in ((-0.2, "p95", "#3d8fd1"), (0.2, "pop_p95", "#f0a43a")):
        vals = [_m(r, key) for r in rows]
        ax.barh(
            [v + off for v in y],
            [v[0] for v in vals],
            height=0.38,
            xerr=[v[1] for v in vals] if ci else None,
            color=colour,
            label="p95 (all requests)" if key == "p95" else "population-weighted p95",
            error_kw={"elinewidth": 0.8, "capsize": 2},
        )
    ax.set_yticks(y, labels)
    ax.set_xlabel("ms (mean ± 95 % CI across replications)" if ci else "ms (one run per variant)")
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
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in vals)
    ci = _has_ci(doc)
    fig = figure(7.5, 3.8)
    ax = fig.add_subplot()
    if numeric:
        pts = sorted(zip(vals, rows, strict=True), key=lambda p: p[0])
        xs: list[Any] = [p[0] for p in pts]
    else:  # categories in the order given on the command line
        pts = list(zip(vals, rows, strict=True))
        xs = list(range(len(pts)))
        ax.set_xticks(xs, [_wrapped(_show(p[0]), 18) for p in pts])
    for key, colour in (("p95", "#3d8fd1"), ("pop_p95", "#f0a43a"), ("p99", "#d9534f")):
        m = [_m(r, key) for _, r in pts]
        ax.errorbar(
            xs,
            [v[0] for v in m],
            yerr=[v[1] for v in m] if ci else None,
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


def _cell(doc: dict[str, Any], m: float, ci: float, scale: float = 1.0, nd: int = 1) -> str:
    if _has_ci(doc):
        return f"{_num(m * scale, nd)} ± {_num(ci * scale, nd)}"
    return _num(m * scale, nd)


def _pivot(doc: dict[str, Any]) -> str:
    """Two varied keys: population-weighted p95 tabulated, first key down, second across."""
    keys = doc["keys"]
    if len(keys) != 2:
        return ""
    names = short_keys(keys)
    k1, k2 = keys
    down: list[Any] = []
    across: list[Any] = []
    cells: dict[tuple[str, str], str] = {}
    for r in doc["variants"]:
        v1, v2 = r["overrides"].get(k1), r["overrides"].get(k2)
        if _show(v1) not in [_show(v) for v in down]:
            down.append(v1)
        if _show(v2) not in [_show(v) for v in across]:
            across.append(v2)
        if r["status"] == "ok":
            m, ci = _m(r, "pop_p95")
            cells[(_show(v1), _show(v2))] = _cell(doc, m, ci)
        else:
            cells[(_show(v1), _show(v2))] = "failed"
    out = [
        f"<h2>Population-weighted p95 (ms) by {_e(names[k1])} × {_e(names[k2])}</h2>",
        "<div class='scroll'><table><tr>",
        f"<th>{_e(names[k1])} ↓ / {_e(names[k2])} →</th>",
    ]
    out += [f"<th>{_e(_show(v))}</th>" for v in across]
    out.append("</tr>")
    for v1 in down:
        row = [f"<th>{_e(_show(v1))}</th>"]
        row += [f"<td>{_e(cells.get((_show(v1), _show(v2)), '–'))}</td>" for v2 in across]
        out.append("<tr>" + "".join(row) + "</tr>")
    out.append("</table></div>")
    return "".join(out)


def _table(doc: dict[str, Any]) -> str:
    head = ["#", "variant", "status", "sites", "p50", "p95", "p99", "pop p95", "worst p95"]
    head += ["availability %", "worst group"]
    out = ["<div class='scroll'><table><tr>"]
    out += [f"<th>{_e(h)}</th>" for h in head]
    out.append("</tr>")
    front = set(doc["pareto"])
    for r in doc["variants"]:
        star = " ★" if r["index"] in front else ""
        cells = [str(r["index"]) + star, variant_label(doc, r), r["status"]]
        cells.append(str(r["sites"]))
        if r["status"] == "ok":
            for key in ("p50", "p95", "p99", "pop_p95", "worst_p95"):
                m, ci = _m(r, key)
                cells.append(_cell(doc, m, ci))
            m, ci = _m(r, "availability")
            cells.append(_cell(doc, m, ci, 100.0, 3))
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
    reps = (
        f"{doc['replications']} replications per variant (seeds seed … seed+N−1); mean ± 95 % "
        "confidence interval (Student t)."
        if _has_ci(doc)
        else "One run per variant (no replications, so no confidence intervals)."
    )
    names = short_keys(doc.get("keys", []))
    keys = "".join(
        f"<li><code>{_e(short)}</code> = <code>{_e(k)}</code></li>"
        for k, short in names.items()
        if short != k
    )
    body = (
        f"<h1>{_e(title)}</h1>{banner}"
        f"<p class='note'>{_e(reps)} Population p95: each client "
        "group's p95 weighted by its metro's population. ★ = on the Pareto front of "
        "population p95 vs number of endpoint sites.</p>"
        + (f"<p class='note'>Varied keys:</p><ul>{keys}</ul>" if keys else "")
        + f"<h2>Plots</h2>{plots}{_pivot(doc)}<h2>Variants</h2>{_table(doc)}"
    )
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )
