"""The 60 s soak of `edgesim serve` (bench/soak.py); runs only with EDGESIM_SOAK=1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())


@pytest.mark.skipif(os.environ.get("EDGESIM_SOAK") != "1", reason="set EDGESIM_SOAK=1")
def test_soak() -> None:
    seconds = os.environ.get("EDGESIM_SOAK_SECONDS", "60")
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "soak.py"), "--seconds", seconds],
        capture_output=True,
        text=True,
        timeout=float(seconds) + 120,
    )
    summary = json.loads(out.stdout)
    assert summary["ok"], summary
