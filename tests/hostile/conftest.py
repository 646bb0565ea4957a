"""Fixtures of the hostile-input tests (helpers in hostile_live.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hostile_live import Live, live_config

from edgesim.live.stack import Stack


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    """One quickstart stack per test module (tests undo what they change)."""
    with Live(Stack.load(live_config())) as running:
        yield running
