"""The dashboard in headless Chromium: click "Fail region", the map and DNS answers change."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from test_stack import QUICKSTART, TOKEN, Running, config

from edgesim.live.stack import Stack

CHROMIUM = os.environ.get("EDGESIM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
if not Path(CHROMIUM).exists():  # pragma: no cover - depends on the machine
    pytest.skip("chromium is not installed", allow_module_level=True)


def test_fail_region_from_the_dashboard(tmp_path: Path) -> None:
    with Running(Stack.load(config(QUICKSTART, speed=10))) as r:
        ny = r.stack.groups.index("new-york")
        assert r.dig("api.shop.example.com", ny) == ["127.2.0.0"]
        host, port = r.control
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                page = browser.new_page(viewport={"width": 1600, "height": 900})
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                outside: list[str] = []
                page.on(
                    "request",
                    lambda q: (
                        None
                        if q.url.startswith(f"http://{host}:{port}/")
                        else outside.append(q.url)
                    ),
                )
                page.goto(f"http://{host}:{port}/#token={TOKEN}")
                page.wait_for_selector("body[data-ready='1']")
                region = page.locator('[data-node="region:us-east-1"]')
                assert region.get_attribute("data-state") == "up"
                page.select_option("#host-select", "api.shop.example.com")
                page.select_option("#region-select", "region:us-east-1")
                page.click("#fail-region")
                page.wait_for_selector('[data-node="region:us-east-1"][data-state="down"]')
                page.wait_for_selector("#links line.moved")
                assert page.locator("#down li").first.inner_text() == "region:us-east-1"
                page.wait_for_selector("#groups tbody tr")  # metrics from the SSE stream
                page.screenshot(path=str(tmp_path / "dashboard.png"))
                assert (tmp_path / "dashboard.png").stat().st_size > 10_000
                assert not errors
                assert not outside
            finally:
                browser.close()
        assert "region:us-east-1" in r.stack.ctx.world.down_nodes
        assert r.dig("api.shop.example.com", ny) != ["127.2.0.0"]
