"""Bad scenario input: exit status 2, file:line, field path and what was expected."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from edgesim.cli import main

BASE = """\
edgesim: 1
name: errors
world: tiny
duration: 2m
clients:
  - metros: [tokyo, london]
    requests_per_second: 20
workloads:
  - name: api
    host: api.example.com
    target: endpoint:api-use1
    size: 2KB
  - name: web
    host: www.example.com
    objects: {count: 1000, size: "lognormal(median=40KB, sigma=1.2)"}
endpoints:
  - {name: api-use1, site: region:us-east-1}
cloudfront:
  distributions:
    - name: site
      origins:
        - {name: o, endpoint: api-use1}
route53:
  zones:
    - name: example.com
      records:
        - {name: www, alias: cloudfront:site}
timeline:
  - {at: 1m, fail: region:us-east-1}
assertions:
  - p99(latency, group=tokyo) < 2s
"""


def _line_of(text: str, needle: str) -> int:
    for i, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return i
    raise AssertionError(needle)


def run(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["run", str(path), "-q"])
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, " ".join(result.output.split())


def test_base_is_valid(write: Callable[[str, str], Path]) -> None:
    code, out = run(write("ok.yaml", BASE))
    assert code == 0, out


CASES = [
    (
        "unknown-top-key",
        "timeline:",
        "timelines:",
        "timelines:",
        "timelines",
        "unknown field 'timelines' (did you mean 'timeline'?)",
    ),
    (
        "unknown-nested-key",
        "requests_per_second: 20",
        "request_per_second: 20",
        "request_per_second",
        "clients[0].request_per_second",
        "(did you mean 'requests_per_second'?)",
    ),
    (
        "bad-duration",
        "duration: 2m",
        "duration: 2 hours",
        "duration:",
        "duration",
        "cannot read '2 hours' as a duration",
    ),
    (
        "bare-number-duration",
        "duration: 2m",
        "duration: 120",
        "duration:",
        "duration",
        "a duration needs a unit",
    ),
    (
        "bad-size",
        "size: 2KB",
        "size: 2 kilobytes",
        "size: 2 kilobytes",
        "workloads[0].size",
        "cannot read '2 kilobytes' as a size distribution",
    ),
    (
        "bad-distribution",
        "lognormal(median=40KB, sigma=1.2)",
        "lognormal(mean=40KB)",
        "lognormal(mean",
        "workloads[1].objects.size",
        "expected lognormal(median=40KB, sigma=1.2)",
    ),
    (
        "unknown-metro",
        "metros: [tokyo, london]",
        "metros: [tokyo, londn]",
        "metros:",
        "clients[0].metros[1]",
        "no client named 'londn'",
    ),
    (
        "unknown-target",
        "target: endpoint:api-use1",
        "target: endpoint:api-usw2",
        "target: endpoint:api-usw2",
        "workloads[0].target",
        "no target named 'endpoint:api-usw2'",
    ),
    (
        "unknown-site",
        "site: region:us-east-1}",
        "site: region:us-east-9}",
        "us-east-9",
        "endpoints[0].site",
        "named 'region:us-east-9' in world 'tiny'",
    ),
    (
        "unknown-alias",
        "alias: cloudfront:site}",
        "alias: cloudfront:sight}",
        "cloudfront:sight",
        "route53.zones[0].records[0].alias",
        "no target named 'cloudfront:sight'",
    ),
    (
        "unknown-origin-endpoint",
        "{name: o, endpoint: api-use1}",
        "{name: o, endpoint: nope}",
        "endpoint: nope",
        "cloudfront.distributions[0].origins[0].endpoint",
        "no endpoint 'nope'",
    ),
    (
        "event-after-end",
        "{at: 1m, fail: region:us-east-1}",
        "{at: 3m, fail: region:us-east-1}",
        "at: 3m",
        "timeline[0].at",
        "event at 3m is after the end of the run",
    ),
    (
        "unknown-event",
        "{at: 1m, fail: region:us-east-1}",
        "{at: 1m, fial: region:us-east-1}",
        "fial:",
        "timeline[0].fial",
        "unknown event 'fial' (did you mean 'fail'?)",
    ),
    (
        "two-actions",
        "{at: 1m, fail: region:us-east-1}",
        "{at: 1m, fail: region:us-east-1, recover: region:us-east-1}",
        "recover:",
        "timeline[0]",
        "an event takes one action",
    ),
    (
        "fail-unknown",
        "{at: 1m, fail: region:us-east-1}",
        "{at: 1m, fail: region:mars-1}",
        "mars-1",
        "timeline[0].fail",
        "nothing named 'region:mars-1' to fail",
    ),
    (
        "assert-unknown-group",
        "group=tokyo) < 2s",
        "group=tokio) < 2s",
        "group=tokio",
        "assertions[0]",
        "no group 'tokio' in this scenario (did you mean 'tokyo'?)",
    ),
    (
        "assert-unknown-function",
        "p99(latency, group=tokyo) < 2s",
        "p98(latency, group=tokyo) < 2s",
        "p98",
        "assertions[0]",
        "unknown function 'p98'",
    ),
    (
        "assert-unknown-metric",
        "p99(latency, group=tokyo) < 2s",
        "p99(latncy) < 2s",
        "latncy",
        "assertions[0]",
        "unknown metric 'latncy'",
    ),
    (
        "assert-bad-unit",
        "p99(latency, group=tokyo) < 2s",
        "p99(latency) < 2 parsecs",
        "parsecs",
        "assertions[0]",
        "is not a duration",
    ),
    (
        "assert-syntax",
        "p99(latency, group=tokyo) < 2s",
        "p99 latency is small",
        "p99 latency",
        "assertions[0]",
        "expected FUNCTION(ARGS) OP VALUE",
    ),
    (
        "bad-invalidation",
        "{at: 1m, fail: region:us-east-1}",
        '{at: 1m, invalidate: {distribution: site, paths: ["/a*b"]}}',
        "invalidate",
        "timeline[0].invalidate",
        "'*' is allowed only as the last character",
    ),
    (
        "invalidate-unknown-distribution",
        "{at: 1m, fail: region:us-east-1}",
        "{at: 1m, invalidate: {distribution: sight}}",
        "invalidate",
        "timeline[0].invalidate",
        "no distribution 'sight'",
    ),
    (
        "failover-unknown-record",
        "p99(latency, group=tokyo) < 2s",
        "failover_time(record=app.example.com) <= 60s",
        "failover_time",
        "assertions[0]",
        "no workload uses the name 'app.example.com'",
    ),
    (
        "unknown-az",
        "- {name: api-use1, site: region:us-east-1}",
        "- {name: api-use1, site: region:us-east-1, azs: [use1-az9]}",
        "use1-az9",
        "endpoints[0].azs",
        "unknown AZ 'use1-az9'",
    ),
    (
        "service-assertion-positional",
        "p99(latency, group=tokyo) < 2s",
        "hit_ratio(site) >= 0.5",
        "hit_ratio",
        "assertions[0]",
        "hit_ratio() takes only key=value filters",
    ),
    (
        "service-assertion-unknown-filter",
        "p99(latency, group=tokyo) < 2s",
        "hit_ratio(distribution=site, pop=NRT57) >= 0.5",
        "hit_ratio",
        "assertions[0]",
        "unknown filter 'pop'",
    ),
    (
        "service-assertion-missing-arg",
        "p99(latency, group=tokyo) < 2s",
        "hit_ratio(tier=edge) >= 0.5",
        "hit_ratio",
        "assertions[0]",
        "hit_ratio() needs distribution=",
    ),
    (
        "price-class-without-pops",
        "    - name: site\n",
        '    - name: site\n      price_class: "100"\n',
        "price_class",
        "cloudfront.distributions[0].price_class",
        "price class 100 includes no edge",
    ),
    (
        "nan-share",
        "    requests_per_second: 20\n",
        "    requests_per_second: 20\n    access: {fibre: .nan}\n",
        "access:",
        "clients[0].access",
        "shares must be finite",
    ),
    (
        "duplicate-metro",
        "metros: [tokyo, london]",
        "metros: [tokyo, tokyo]",
        "metros:",
        "clients[0].metros",
        "'tokyo' is listed twice",
    ),
    (
        "no-metros",
        "metros: [tokyo, london]",
        "metros: []",
        "metros:",
        "clients[0].metros",
        "name at least one metro",
    ),
    (
        "rate-too-high",
        "requests_per_second: 20",
        "requests_per_second: 1e30",
        "requests_per_second",
        "clients[0].requests_per_second",
        "less than or equal to",
    ),
    (
        "hub-as-site",
        "site: region:us-east-1}",
        "site: hub:IAD}",
        "hub:IAD",
        "endpoints[0].site",
        "named 'hub:IAD'",
    ),
    (
        "count-not-a-number",
        "p99(latency, group=tokyo) < 2s",
        "requests() > abc",
        "requests()",
        "assertions[0]",
        "'abc' is not a number",
    ),
    (
        "phase-by-segment",
        "p99(latency, group=tokyo) < 2s",
        "p99(dns, segment=x) < 2s",
        "p99(dns",
        "assertions[0]",
        "phase metrics are kept per workload",
    ),
    (
        "fail-a-distribution",
        "{at: 1m, fail: region:us-east-1}",
        "{at: 1m, fail: cloudfront:site}",
        "fail: cloudfront:site",
        "timeline[0].fail",
        "nothing named 'cloudfront:site' to fail",
    ),
    (
        "invalidate-markup",
        "{at: 1m, fail: region:us-east-1}",
        "{at: 1m, invalidate: site}",
        "invalidate",
        "timeline[0].invalidate",
        "invalidate takes {distribution: NAME, paths: [",
    ),
    (
        "min-above-max-ttl",
        "    - name: site\n",
        "    - name: site\n      cache_policy: {min_ttl: 2d, max_ttl: 1d}\n",
        "cache_policy",
        "cloudfront.distributions[0].cache_policy",
        "min_ttl <= default_ttl <= max_ttl",
    ),
    ("wrong-version", "edgesim: 1", "edgesim: 2", "edgesim: 2", "edgesim", "invalid value 2"),
    (
        "unknown-world",
        "world: tiny",
        "world: mars",
        "world: mars",
        "world",
        "no built-in world named 'mars'",
    ),
    (
        "missing-required",
        "    requests_per_second: 20\n",
        "",
        "metros:",
        "clients[0].requests_per_second",
        "missing required field",
    ),
    (
        "bad-share",
        "    requests_per_second: 20\n",
        "    requests_per_second: 20\n    access: {fibre: -1}\n",
        "access:",
        "clients[0].access",
        "shares must be finite, non-negative",
    ),
]


@pytest.mark.parametrize(
    ("name", "old", "new", "marker", "field", "message"), CASES, ids=[c[0] for c in CASES]
)
def test_bad_scenario(
    write: Callable[[str, str], Path],
    name: str,
    old: str,
    new: str,
    marker: str,
    field: str,
    message: str,
) -> None:
    assert old in BASE, old
    text = BASE.replace(old, new, 1)
    path = write(f"{name}.yaml", text)
    code, out = run(path)
    assert code == 2, out
    assert message in out, out
    m = re.search(re.escape(str(path)) + r":(\d+)", out)
    assert m, f"no file:line in {out!r}"
    assert int(m.group(1)) == _line_of(text, marker), out
    if field:
        assert f" {field}: " in f" {out}", out


def test_yaml_syntax_error(write: Callable[[str, str], Path]) -> None:
    path = write(
        "syntax.yaml",
        BASE.replace("  - {at: 1m, fail: region:us-east-1}", "  - {at: 1m, fail: region:us-east-1"),
    )
    code, out = run(path)
    assert code == 2
    assert "YAML syntax error" in out
    assert str(path) in out


def test_missing_scenario_file(tmp_path: Path) -> None:
    code, out = run(tmp_path / "none.yaml")
    assert code == 2
    assert "file not found" in out


def test_check_with_a_bad_baseline(write: Callable[[str, str], Path]) -> None:
    scn = write("ok.yaml", BASE)
    bad = write("bad.json", '{"not": "a report"}')
    result = CliRunner().invoke(main, ["check", str(scn), "--baseline", str(bad)])
    assert result.exit_code == 2
    assert "not a baseline report" in result.output


def test_check_with_a_bad_tolerance(write: Callable[[str, str], Path]) -> None:
    scn = write("ok.yaml", BASE)
    result = CliRunner().invoke(
        main, ["check", str(scn), "--baseline", str(scn), "--tolerance", "lots"]
    )
    assert result.exit_code == 2
    assert "--tolerance" in result.output
