"""Sweeps and placement: many deterministic runs of scenario variants, on one machine or a
Dask cluster (``edgesim sweep``, ``edgesim place``; docs/sweeps.md)."""

from edgesim.sweep.core import load_base, run_sweep, sweep_csv, sweep_json
from edgesim.sweep.executors import (
    DaskExecutor,
    InProcessExecutor,
    ProcessPoolExecutor,
    make_executor,
)
from edgesim.sweep.metrics import run_task, run_variant
from edgesim.sweep.variants import Axis, Variant, expand, parse_vary

__all__ = [
    "Axis",
    "DaskExecutor",
    "InProcessExecutor",
    "ProcessPoolExecutor",
    "Variant",
    "expand",
    "load_base",
    "make_executor",
    "parse_vary",
    "run_sweep",
    "run_task",
    "run_variant",
    "sweep_csv",
    "sweep_json",
]
