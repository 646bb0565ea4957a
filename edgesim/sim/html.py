"""HTML report (placeholder until the plotting report lands)."""

from __future__ import annotations

import html
import json
from typing import Any


def render_html(report: dict[str, Any], results: Any = None) -> str:
    body = html.escape(json.dumps(report["summary"], indent=2))
    return f"<!doctype html><title>{html.escape(report['scenario'])}</title><pre>{body}</pre>\n"
