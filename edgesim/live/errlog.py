"""Unexpected errors in the live servers' background work are logged, never swallowed.

A callback that fails (the accelerator proxy's ``on_change`` or ``stop``, a tick of the
metrics stream) must not take the server down, but hiding the failure makes a broken stack
look healthy. :func:`logged` keeps serving and writes one ``ERROR`` record (with the
exception) to the ``edgesim.live`` logger, which reaches stderr even when logging is not
configured (Python's last-resort handler).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

log = logging.getLogger("edgesim.live")


@contextlib.contextmanager
def logged(what: str) -> Iterator[None]:
    """Run the block; an ``Exception`` in it is logged as ``what failed: …`` and not re-raised
    (cancellation and ``KeyboardInterrupt`` pass through)."""
    try:
        yield
    except Exception as exc:
        log.error("%s failed: %s: %s", what, type(exc).__name__, exc, exc_info=exc)
