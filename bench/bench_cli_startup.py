"""Start-up cost of the ``edgesim`` command line, measured against its anchor side by side.

Each round runs, in fresh interpreters and in alternating order:

* ``anchor``: ``python -c "import click, rich.console"`` (the floor any click + rich CLI pays);
* ``version``: ``python -c "from edgesim.cli import main; main()" --version`` (what the
  console script ``edgesim --version`` runs);
* ``help`` (for information): ``edgesim --help``, which imports every command to list it;
* with ``--before DIR``, ``before``: ``--version`` of another source tree (e.g. the commit
  before the CLI package, unpacked with ``git archive``; an editable install's import hook
  is bypassed so that tree is the one imported).

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


def once(name: str) -> float:
    t0 = time.perf_counter()
    subprocess.run(CASES[name], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--before", default=None, help="another source tree to time --version of")
    args = ap.parse_args()
    if args.before:
        CASES["before"] = [
            sys.executable,
            "-c",
            "import sys\n"
            "sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f).lower()]\n"
            f"sys.path.insert(0, {args.before!r})\n"
            "from edgesim.cli import main; main()",
            "--version",
        ]
    for name in CASES:  # warm the file cache and .pyc files
        once(name)
    times: dict[str, list[float]] = {name: [] for name in CASES}
    names = list(CASES)
    for i in range(args.rounds):
        order = names if i % 2 == 0 else names[::-1]
        for name in order:
            times[name].append(once(name))
    med = {name: statistics.median(ts) for name, ts in times.items()}
    for name in names:
        print(f"{name:8s} median {med[name] * 1000:7.1f} ms  (min {min(times[name]) * 1000:.1f})")
    print(f"version / anchor = {med['version'] / med['anchor']:.2f} (target ≤ 1.5)")
    if "before" in med:
        print(f"before / anchor = {med['before'] / med['anchor']:.2f}")


if __name__ == "__main__":
    main()
