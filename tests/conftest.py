from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from edgesim.topology import World, load_world


@pytest.fixture(scope="session")
def tiny_world_session() -> World:
    return load_world("tiny")


@pytest.fixture
def tiny() -> World:
    """A fresh tiny world (tests may change link state)."""
    return load_world("tiny")


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    def _write(name: str, text: str) -> Path:
        p = tmp_path / name
        p.write_text(text, encoding="utf-8")
        return p

    return _write


TINY_PATH = Path(__file__).resolve().parent.parent / "topologies" / "tiny.yaml"
pytest_plugins = ["pytester"]
