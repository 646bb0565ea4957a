"""Bad CloudFront input is refused at load time: exit 2, file:line, field and a reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from edgesim.cli import main

BASE = """\
edgesim: 1
name: bad-cloudfront
world: tiny
duration: 1m
clients:
  - metros: [tokyo]
    requests_per_second: 10
workloads:
  - {name: web, host: www.example.com, objects: {count: 100}}
endpoints:
  - {name: use1, site: region:us-east-1}
cloudfront:
  distributions:
    - name: site
      origins:
        - {name: o, endpoint: use1}
        - {name: o2, endpoint: use1}
EXTRA
route53:
  zones:
    - name: example.com
      records:
        - {name: www, alias: cloudfront:site}
"""


@pytest.mark.parametrize(
    ("extra", "needle", "field", "reason"),
    [
        (
            "      cache_policy: {min_ttl: 10s, default_ttl: 5s, max_ttl: 1s}",
            "cache_policy:",
            "cloudfront.distributions[0].cache_policy",
            "min_ttl <= default_ttl <= max_ttl",
        ),
        (
            "      error_caching_min_ttl: -5s",
            "error_caching_min_ttl",
            "cloudfront.distributions[0].error_caching_min_ttl",
            "as a duration",
        ),
        (
            "      behaviors:\n"
            '        - {path: "/img/*", origin: o}\n'
            '        - {path: "/img/logo/*", origin: o2}',
            "/img/logo/*",
            "cloudfront.distributions[0].behaviors[1].path",
            "can never match",
        ),
        (
            "      origin_groups:\n"
            "        - {name: g, primary: o, secondary: o2, failover_on: [503, 200]}",
            "failover_on",
            "cloudfront.distributions[0].origin_groups[0].failover_on[1]",
            "400, 403, 404, 416, 500, 502, 503 or 504",
        ),
        (
            "      custom_error_responses: [{error_code: 503, error_caching_min_ttl: -1s}]",
            "custom_error_responses",
            "cloudfront.distributions[0].custom_error_responses[0].error_caching_min_ttl",
            "as a duration",
        ),
    ],
)
def test_bad_cloudfront_input_is_refused(
    tmp_path: Path, extra: str, needle: str, field: str, reason: str
) -> None:
    text = BASE.replace("EXTRA", extra)
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["run", str(path), "-q"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    line = next(i for i, t in enumerate(text.splitlines(), start=1) if needle in t)
    out = " ".join(result.output.split())
    assert f"bad.yaml:{line}:" in out, out
    assert field in out, out
    assert reason in out, out


def test_a_more_specific_pattern_first_is_fine(tmp_path: Path) -> None:
    extra = (
        "      behaviors:\n"
        '        - {path: "/img/logo/*", origin: o2}\n'
        '        - {path: "/img/*", origin: o}'
    )
    path = tmp_path / "ok.yaml"
    path.write_text(BASE.replace("EXTRA", extra), encoding="utf-8")
    result = CliRunner().invoke(main, ["run", str(path), "-q"])
    assert result.exit_code in (0, 1), result.output
