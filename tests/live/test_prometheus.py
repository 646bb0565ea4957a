"""The live stack's Prometheus metrics: names, labels and values in the text format, parsed
back with the Prometheus client's own parser."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from edgesim.live.prometheus import PromMetrics


def _samples(m: PromMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body, ctype = m.exposition()
    assert ctype.startswith("text/plain; version=")
    out = {}
    for fam in text_string_to_metric_families(body.decode()):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_requests_dns_and_edge_results() -> None:
    m = PromMetrics(["tokyo", "london"])
    m.observe_http(0, "edge", 200, 12.0)
    m.observe_http(0, "edge", 503, 80.0)
    m.observe_http(1, "endpoint", 200, 250.0)
    m.observe_http(7, "edge", 200, 1.0)  # an unmapped source
    m.observe_dns(0, "API.Example.com.", "endpoint:api-apne1")
    m.observe_dns(0, "api.example.com", "endpoint:api-apne1")
    m.observe_edge("NRT57", "Hit")
    m.observe_edge("NRT57", "Miss")
    m.observe_edge("NRT57", "Hit")
    s = _samples(m)
    hist = "edgesim_request_duration_seconds"
    assert s[(f"{hist}_count", (("group", "tokyo"), ("server", "edge")))] == 2
    assert s[(f"{hist}_sum", (("group", "tokyo"), ("server", "edge")))] == 0.092
    # 12 ms falls in the 20 ms bucket, 80 ms does not
    assert s[(f"{hist}_bucket", (("group", "tokyo"), ("le", "0.02"), ("server", "edge")))] == 1
    assert s[(f"{hist}_bucket", (("group", "tokyo"), ("le", "0.1"), ("server", "edge")))] == 2
    key = (("group", "tokyo"), ("server", "edge"), ("status_class", "5xx"))
    assert s[("edgesim_http_responses_total", key)] == 1
    assert s[(f"{hist}_count", (("group", "unknown"), ("server", "edge")))] == 1
    dns = (("group", "tokyo"), ("record", "api.example.com"), ("target", "endpoint:api-apne1"))
    assert s[("edgesim_dns_answers_total", dns)] == 2
    assert s[("edgesim_edge_results_total", (("pop", "NRT57"), ("result", "Hit")))] == 2


def test_state_is_read_at_scrape_time() -> None:
    state: dict[str, Any] = {
        "now_s": 90.0,
        "targets": {"endpoint:api-use1": True},
        "down": [],
        "health_checks": {"hc-use1": {"healthy": True, "forced": False}},
    }
    m = PromMetrics(["tokyo"], state=lambda: state)
    s = _samples(m)
    assert s[("edgesim_health_check_healthy", (("check", "hc-use1"), ("forced", "false")))] == 1
    assert s[("edgesim_target_up", (("target", "endpoint:api-use1"),))] == 1
    assert s[("edgesim_virtual_time_seconds", ())] == 90
    state.update(
        now_s=120.0,
        targets={"endpoint:api-use1": False},
        down=["region:us-east-1"],
        health_checks={"hc-use1": {"healthy": False, "forced": True}},
    )
    s = _samples(m)
    assert s[("edgesim_health_check_healthy", (("check", "hc-use1"), ("forced", "true")))] == 0
    assert s[("edgesim_target_up", (("target", "endpoint:api-use1"),))] == 0
    assert s[("edgesim_node_down", (("node", "region:us-east-1"),))] == 1


def test_grafana_dashboard_queries_only_exposed_metrics() -> None:
    """docs/grafana/edgesim-live.json: valid JSON whose PromQL names metrics /metrics has."""
    import json
    import re
    from pathlib import Path

    dash = json.loads(
        (
            next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
            / "docs/grafana/edgesim-live.json"
        ).read_text()
    )
    state = {
        "now_s": 1.0,
        "targets": {"t": True},
        "down": ["region:x"],
        "health_checks": {"h": {"healthy": True}},
    }
    m = PromMetrics(["g"], state=lambda: state)
    m.observe_http(0, "edge", 200, 1.0)
    m.observe_dns(0, "a", "b")
    m.observe_edge("P", "Hit")
    exposed = {name for name, _ in _samples(m)}
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    assert exprs
    for expr in exprs:
        names = set(re.findall(r"\bedgesim_[a-z_]+\b", expr))
        assert names, expr
        assert names <= exposed, (expr, names - exposed)
