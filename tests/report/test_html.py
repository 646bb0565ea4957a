"""The HTML report: self-contained, complete, escaped and deterministic."""

from __future__ import annotations

import copy
import html
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from edgesim.report.html import render_html
from edgesim.sim.api import run_scenario
from edgesim.sim.results import Results

SMOKE = (
    next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
    / "scenarios"
    / "smoke.yaml"
)
VOID = {"meta", "img", "br", "hr", "link", "input"}


@pytest.fixture(scope="module")
def smoke() -> Results:
    return run_scenario(SMOKE)


@pytest.fixture(scope="module")
def page(smoke: Results) -> str:
    return render_html(smoke.report, smoke)


@pytest.fixture(scope="module")
def page_no_results(smoke: Results) -> str:
    return render_html(smoke.report)


class _Checker(HTMLParser):
    """Collects tags and checks that every opened element is closed in order."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.imgs: list[dict[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.imgs.append(dict(attrs))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> (open: {self.stack[-3:]})")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(page: str) -> _Checker:
    c = _Checker()
    c.feed(page)
    c.close()
    return c


def _plots(page: str) -> int:
    return page.count("<img") + page.count("<svg")


def test_contains_scenario_groups_and_assertions(smoke: Results, page: str) -> None:
    report = smoke.report
    assert page.startswith("<!doctype html>")
    assert html.escape(report["scenario"]) in page
    for name in report["groups"]:
        assert f"<td>{html.escape(name)}</td>" in page
    for a in report["assertions"]:
        assert html.escape(a["assertion"]) in page
    assert page.count('class="pass"') == sum(a["ok"] for a in report["assertions"])
    for section in ("Assertions", "Summary", "Latency distribution", "Over time", "Map"):
        assert f"<h2>{section}</h2>" in page
    assert "api-use1" in page  # endpoints table
    assert "api.example.com" in page  # DNS table
    assert "endpoint:api-use1" in page  # events
    assert report["edgesim_version"] in page
    assert "Complete run." in page


def test_well_formed_and_self_contained(page: str) -> None:
    c = _parse(page)
    assert c.errors == []
    assert c.stack == []
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    for img in c.imgs:
        assert (img.get("src") or "").startswith("data:image/png;base64,")
        assert img.get("alt")


def test_one_image_per_plot(page: str, page_no_results: str) -> None:
    # phase breakdown, CDF, time series, map
    assert _plots(page) == 4
    assert "Drawn from the full latency histograms" in page
    # without results: no map, the CDF is an approximation
    assert _plots(page_no_results) == 3
    assert "No map" in page_no_results
    assert "Approximation: only the stored percentiles" in page_no_results


def test_escapes_html_in_names(smoke: Results) -> None:
    report = copy.deepcopy(smoke.report)
    report["scenario"] = "<script>x</script>"
    report["groups"]['"tokyo" & <b>'] = report["groups"].pop("tokyo")
    report["events"].append({"at_s": 10.0, "what": "<i>oops</i>", "note": "a & b"})
    out = render_html(report)
    assert "<script>x</script>" not in out
    assert "&lt;script&gt;x&lt;/script&gt;" in out
    assert "&quot;tokyo&quot; &amp; &lt;b&gt;" in out
    assert "<i>oops</i>" not in out
    assert "&lt;i&gt;oops&lt;/i&gt;" in out
    assert _parse(out).errors == []


@pytest.mark.slow
def test_deterministic(smoke: Results, page: str, page_no_results: str) -> None:
    assert render_html(smoke.report, smoke) == page
    assert render_html(copy.deepcopy(smoke.report)) == page_no_results


def test_same_scenario_same_page(smoke: Results, page: str) -> None:
    again = run_scenario(SMOKE)
    assert render_html(again.report, again) == page


def test_incomplete_banner(smoke: Results, page: str) -> None:
    assert "INCOMPLETE" not in page
    report = copy.deepcopy(smoke.report)
    report["complete"] = False
    out = render_html(report, smoke)
    assert "INCOMPLETE" in out
    assert "interrupted" in out


def test_failed_assertion_is_marked(smoke: Results) -> None:
    report = copy.deepcopy(smoke.report)
    report["assertions"].append({"assertion": "p99(latency) < 1ms", "value": 598.0, "ok": False})
    report["assertions"].append(
        {
            "assertion": "p99(latency, group=mars) < 1s",
            "value": None,
            "ok": False,
            "error": "no client group 'mars' in this run",
        }
    )
    out = render_html(report)
    assert out.count('class="fail"') == 2
    assert "2 of 4 assertions failed." in out
    assert "no client group &#x27;mars&#x27; in this run" in out


def test_sparse_and_unusual_reports(smoke: Results) -> None:
    """Missing sections, unknown services and replications still render."""
    report: dict[str, Any] = copy.deepcopy(smoke.report)
    report["timeseries"]["rows"] = []
    report["events"] = []
    report["assertions"] = []
    report["dns"] = {}
    report["services"]["mystery"] = {"a": {"hit_ratio": 0.5, "tags": ["x", "y"]}, "n": 3}
    report["replications"] = {
        "n": 2,
        "seeds": [7, 8],
        "metrics": {
            "all": {
                "p50": {"mean": 10.0, "ci95": 1.0, "n": 2},
                "p95": {"mean": 20.0, "ci95": 2.0, "n": 2},
                "p99": {"mean": 30.0, "ci95": 3.0, "n": 2},
                "availability": {"mean": 0.99, "ci95": 0.001, "n": 2},
            }
        },
    }
    out = render_html(report)
    assert _parse(out).errors == []
    assert "No time series" in out
    assert "No timeline events." in out
    assert "no assertions" in out
    assert "mystery" in out
    assert "50.00 %" in out
    assert "2 replications" in out
    empty = copy.deepcopy(report)
    empty["groups"] = {}
    empty["summary"]["requests"] = 0
    assert _parse(render_html(empty)).errors == []


def test_interval_without_successes_has_no_latency(smoke: Results, page: str) -> None:
    # The endpoint is down from 3m to 4m: every request of that interval fails.
    assert "100.00 %" in page
    row = re.search(r"3:00–4:00</td><td>contains event</td>(.*?)</tr>", page)
    assert row is not None
    assert row.group(1).count(">–<") == 3


def test_quickstart_like_services(smoke: Results) -> None:
    """A CloudFront section renders hit ratios and the top PoPs."""
    report = copy.deepcopy(smoke.report)
    pops = {f"P{i:02d}": {"requests": 100 - i, "hit_ratio": i / 100} for i in range(30)}
    report["services"]["cloudfront"] = {
        "distributions": {
            "site": {
                "requests": 1000,
                "hit_ratio": 0.9,
                "byte_hit_ratio": 0.8,
                "regional_hit_ratio": 0.5,
                "shield_hit_ratio": 0.25,
                "origin_offload": 0.95,
                "origin_requests": 50,
                "results": {"Hit": 900, "Miss": 100},
                "pops": pops,
            }
        }
    }
    out = render_html(report, smoke)
    assert "CloudFront distribution site" in out
    assert "90.00 %" in out
    assert "95.00 %" in out
    assert "Top 20 of 30 edge locations" in out
    assert "<td>P19</td>" in out
    assert "<td>P20</td>" not in out
