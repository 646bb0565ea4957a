"""Regenerate the README's quickstart figures from a real run of scenarios/quickstart.yaml.

Usage: python scripts/readme_figures.py [--out docs/img]

Runs the scenario, renders its HTML report and writes two of the report's own figures
(the time series and the p95 map) as ``quickstart-timeseries.png`` and
``quickstart-p95-map.png``; prints the figures the README's captions quote (run time, web
errors after the recovery, cache hit ratios).
"""

from __future__ import annotations

import argparse
import base64
import re
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIGURES = {
    "time series of request rate, error rate and latency percentiles": "quickstart-timeseries.png",
    "world map of p95 latency by metro": "quickstart-p95-map.png",
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = ap.parse_args()
    from edgesim.report.html import render_html
    from edgesim.scenario.loader import load_scenario, prepare
    from edgesim.sim.report import build_report
    from edgesim.sim.results import Results

    path = ROOT / "scenarios" / "quickstart.yaml"
    t0 = time.perf_counter()
    scn, index, file = load_scenario(path)
    run = prepare(scn, index, file, base_dir=path.parent)
    run.execute()
    results = Results(run)
    results.report = build_report(results)
    elapsed = time.perf_counter() - t0
    html = render_html(results.report, results)
    for alt, name in FIGURES.items():
        m = re.search(r'alt="' + re.escape(alt) + r'" src="data:image/png;base64,([^"]+)"', html)
        if m is None:
            raise SystemExit(f"the report has no figure {alt!r}")
        (args.out / name).write_bytes(base64.b64decode(m.group(1)))
        print("wrote", args.out / name)
    rep = results.report
    cf = rep["services"]["cloudfront"]["distributions"]["site"]
    print(f"run (load, prepare, execute, report): {elapsed:.1f} s, {run.requests:,} requests")
    print(f"edge hit ratio {cf['hit_ratio']}, results {cf['results']}")
    names = rep["timeseries"]["workloads"]
    w = names.index("web")
    for row in rep["timeseries"]["rows"]:
        print(f"t={row['t_s']:>6} s  web errors {row['errors'][w]:>6} of {row['requests'][w]}")


if __name__ == "__main__":
    main()
