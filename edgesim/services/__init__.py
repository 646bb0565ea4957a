"""Service modules. Each defines ``SERVICES``: the :class:`Service` classes it contributes."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from edgesim.services.base import Service, Target


@cache
def registry() -> tuple[type[Service], ...]:
    """Every service class found in this package's modules, in build order."""
    found: list[type[Service]] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        found.extend(getattr(module, "SERVICES", ()))
    return tuple(sorted(found, key=lambda s: (s.order, s.section)))


__all__ = ["Service", "Target", "registry"]
