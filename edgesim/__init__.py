"""edgesim: emulate global routing and edge latency in the style of AWS's global infrastructure.

The public names are imported on first use, so ``import edgesim`` (and the pytest plugin) stays
light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["InputError", "World", "__version__", "load_world", "run_scenario"]

if TYPE_CHECKING:
    from edgesim.errors import InputError
    from edgesim.sim.api import run_scenario
    from edgesim.topology import World, load_world

_LAZY = {
    "InputError": "edgesim.errors",
    "World": "edgesim.topology",
    "load_world": "edgesim.topology",
    "run_scenario": "edgesim.sim.api",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'edgesim' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
