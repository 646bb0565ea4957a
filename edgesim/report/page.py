"""The building blocks of edgesim's HTML pages: inline CSS, number formatting, tables and
matplotlib figures embedded as PNGs (Agg, no ``Software`` metadata, so pages are
byte-identical for the same input)."""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

DPI = 96

RC: dict[RcKeyType, Any] = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e3e6ea",
    "grid.linewidth": 0.6,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "savefig.dpi": DPI,
    "figure.dpi": DPI,
}

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
color:#1f2933;background:#f5f7fa;margin:0}
main{max-width:1180px;margin:0 auto;padding:18px 24px 60px;background:#fff}
h1{font-size:22px;margin:6px 0 4px}h2{font-size:18px;margin:34px 0 8px;
border-bottom:2px solid #d9e2ec;padding-bottom:4px}h3{font-size:15px;margin:20px 0 6px}
nav{font-size:13px;margin:8px 0 4px}nav a{margin-right:12px;color:#2680c2;text-decoration:none}
table{border-collapse:collapse;margin:6px 0 10px;font-size:12.5px}
th,td{padding:3px 8px;border-bottom:1px solid #e4e7eb;text-align:left;vertical-align:top}
th{background:#f0f4f8;font-weight:600;white-space:nowrap}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.sub td{background:#fafbfc}
.banner{padding:8px 12px;border-radius:4px;margin:10px 0;font-weight:600}
.ok{background:#e3f9e5;color:#0e5a23}.bad{background:#ffe3e3;color:#8a1c1c}
.warn{background:#fff3c4;color:#7a5a00}
td.pass{background:#e3f9e5;color:#0e5a23;font-weight:700}
td.fail{background:#ffe3e3;color:#8a1c1c;font-weight:700}
dl.meta{display:grid;grid-template-columns:max-content auto;gap:2px 14px;margin:8px 0}
dl.meta dt{color:#616e7c}dl.meta dd{margin:0}
.note{color:#616e7c;font-size:12.5px;margin:4px 0 8px}
img.plot{max-width:100%;height:auto;display:block;margin:6px 0 4px}
code,pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:#f5f7fa;padding:8px;overflow:auto}
.scroll{overflow-x:auto}
"""


# ---- formatting ---------------------------------------------------------------------------
def e(x: object) -> str:
    return html.escape(str(x), quote=True)


def num(x: Any) -> float | None:
    if isinstance(x, bool) or x is None:
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def ms(x: Any) -> str:
    f = num(x)
    if f is None:
        return "–"
    if abs(f) < 1:
        return f"{f:.3f}"
    if abs(f) < 10:
        return f"{f:.2f}"
    if abs(f) < 1000:
        return f"{f:.1f}"
    return f"{f:,.0f}"


def int_(x: Any) -> str:
    f = num(x)
    return "–" if f is None else f"{round(f):,}"


def pct(x: Any, nd: int = 2) -> str:
    f = num(x)
    return "–" if f is None else f"{100 * f:.{nd}f} %"


def value(x: Any) -> str:
    """A value of unknown kind (assertion results, service counters)."""
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        return f"{x:,.0f}" if x.is_integer() and abs(x) >= 1000 else f"{x:.6g}"
    if isinstance(x, list | tuple):
        return ", ".join(value(v) for v in x)
    if isinstance(x, dict):
        return ", ".join(f"{k}={value(v)}" for k, v in x.items())
    return str(x)


def keyed(key: str, x: Any) -> str:
    """Format a service counter by what its name says it is."""
    if any(w in key for w in ("ratio", "offload", "availability")) and num(x) is not None:
        return pct(x)
    if key.endswith("_ms"):
        return ms(x)
    return value(x)


def clock(seconds: Any) -> str:
    f = num(seconds) or 0.0
    s = round(f)
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def duration(seconds: Any) -> str:
    f = num(seconds) or 0.0
    if f >= 3600 and f % 3600 == 0:
        return f"{f / 3600:g} h"
    if f >= 60 and f % 60 == 0:
        return f"{f / 60:g} min"
    return f"{f:g} s"


# ---- HTML building blocks -----------------------------------------------------------------
Cell = tuple[str, str]  # (escaped html, css class)


def n(text: str) -> Cell:
    return (e(text), "n")


def t(text: Any) -> Cell:
    return (e(text), "")


def table(head: Sequence[Cell], rows: Iterable[Sequence[Cell]], row_class: str = "") -> str:
    def cell(tag: str, c: Cell) -> str:
        cls = f' class="{c[1]}"' if c[1] else ""
        return f"<{tag}{cls}>{c[0]}</{tag}>"

    out = ['<div class="scroll"><table>', "<thead><tr>"]
    out += [cell("th", c) for c in head]
    out.append("</tr></thead><tbody>")
    for r in rows:
        cls = f' class="{row_class}"' if row_class else ""
        out.append(f"<tr{cls}>" + "".join(cell("td", c) for c in r) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def note(text: str) -> str:
    return f'<p class="note">{e(text)}</p>'


def png(fig: Figure, alt: str) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img class="plot" alt="{e(alt)}" src="data:image/png;base64,{data}">'


def figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def colours(n: int) -> list[tuple[float, float, float, float]]:
    cmap = matplotlib.colormaps["tab20"]
    order = [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19]
    return [cmap(order[i % len(order)]) for i in range(n)]
