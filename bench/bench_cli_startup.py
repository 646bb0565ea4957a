"""Start-up cost of the ``edgesim`` command line, measured against its anchor side by side.

Each round runs, in fresh interpreters and in alternating order:

* ``anchor``: ``python -c "import click, rich.console"`` (the floor any click + rich CLI pays);
* ``version``: ``python -c "from edgesim.cli import main; main()" --version`` (what the
  console script ``edgesim --version`` runs);
* ``help`` (for information): ``edgesim --help``, which imports every command to list it.

It prints the median wall time of each over ``--rounds`` rounds and the ratio version/anchor.
The target (issue 14) is version ≤ 1.5 × anchor. Usage: ``python bench/bench_cli_startup.py``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

CASES: dict[str, list[str]] = {
    "anchor": [sys.executable, "-c", "import click, rich.console"],
    "version": [sys.executable, "-c", "from edgesim.cli import main; main()", "--version"],
    "help": [sys.executable, "-c", "from edgesim.cli import main; main()", "--help"],
}


def once(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args()
    for cmd in CASES.values():  # warm the file cache and .pyc files
        once(cmd)
    times: dict[str, list[float]] = {name: [] for name in CASES}
    names = list(CASES)
    for i in range(args.rounds):
        order = names if i % 2 == 0 else names[::-1]
        for name in order:
            times[name].append(once(CASES[name]))
    med = {name: statistics.median(ts) for name, ts in times.items()}
    for name in names:
        print(f"{name:8s} median {med[name] * 1000:7.1f} ms  (min {min(times[name]) * 1000:.1f})")
    print(f"version / anchor = {med['version'] / med['anchor']:.2f} (target ≤ 1.5)")


if __name__ == "__main__":
    main()
