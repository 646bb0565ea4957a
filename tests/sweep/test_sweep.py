"""edgesim sweep: variant keys and values, executors (identical results), outputs, bad input."""

from __future__ import annotations

import csv
import io
import json
import math
import socket
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from edgesim.cli.sweep import sweep as sweep_cmd
from edgesim.errors import InputError
from edgesim.report.sweep import render_sweep_html
from edgesim.sweep import (
    InProcessExecutor,
    ProcessPoolExecutor,
    expand,
    load_base,
    parse_vary,
    run_sweep,
    sweep_csv,
    sweep_json,
)
from edgesim.sweep.core import pareto_front
from edgesim.sweep.metrics import headline
from edgesim.sweep.variants import load_variants_file, parse_key, split_values

SCENARIO = """\
edgesim: 1
name: sweep test
world: tiny
seed: 7
duration: 40s
interval: 20s
clients:
  - metros: [new-york, london, tokyo]
    requests_per_second: 60
workloads:
  - {name: api, host: api.example.com, target: endpoint:api-use1, method: POST, size: 2KB}
endpoints:
  - {name: api-use1, site: region:us-east-1, servers: 8,
     service_time: "lognormal(median=12ms, sigma=0.5)"}
  - {name: api-euw2, site: region:eu-west-2, servers: 8}
"""


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    p = tmp_path / "s.yaml"
    p.write_text(SCENARIO, encoding="utf-8")
    return p


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(sweep_cmd, list(args))
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


# ---- keys and values ------------------------------------------------------------------------
def test_parse_key_steps() -> None:
    assert parse_key("seed") == ["seed"]
    assert parse_key("route53.zones[0].records[1].region") == [
        "route53",
        "zones",
        0,
        "records",
        1,
        "region",
    ]
    assert parse_key("endpoints[name=api-use1].site") == ["endpoints", ("name", "api-use1"), "site"]
    with pytest.raises(InputError):
        parse_key("")


def test_split_values_respects_brackets_and_quotes() -> None:
    assert split_values("1,2,3") == ["1", "2", "3"]
    assert split_values("[a, b],{x: 1, y: 2},'c,d'") == ["[a, b]", "{x: 1, y: 2}", "'c,d'"]


def test_values_are_yaml_scalars() -> None:
    axis = parse_vary("seed=1,2.5,abc,true,[],10m")
    assert axis.values == [1, 2.5, "abc", True, [], "10m"]
    assert parse_vary("endpoints[name=a=b].site=x").key == "endpoints[name=a=b].site"


def test_cross_product_order_and_labels(scenario: Path) -> None:
    base = load_base(scenario)
    vs = expand(
        base,
        [parse_vary("seed=1,2"), parse_vary("endpoints[name=api-use1].servers=4,8,16")],
    )
    assert len(vs) == 6
    assert [v.overrides["seed"] for v in vs] == [1, 1, 1, 2, 2, 2]
    assert vs[1].label == "seed=1 endpoints[name=api-use1].servers=8"
    assert vs[1].doc["endpoints"][0]["servers"] == 8
    assert base["endpoints"][0]["servers"] == 8  # the base is not changed
    assert vs[0].doc["endpoints"][0]["servers"] == 4


def test_listed_variants_file(scenario: Path, tmp_path: Path) -> None:
    f = tmp_path / "v.yaml"
    f.write_text("- {seed: 3}\n- {seed: 4, 'endpoints[1].servers': 2}\n", encoding="utf-8")
    listed = load_variants_file(f)
    vs = expand(load_base(scenario), [parse_vary("duration=20s,30s")], listed)
    assert [v.label for v in vs] == [
        "seed=3 duration=20s",
        "seed=3 duration=30s",
        "seed=4 endpoints[1].servers=2 duration=20s",
        "seed=4 endpoints[1].servers=2 duration=30s",
    ]
    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: 3\n", encoding="utf-8")
    with pytest.raises(InputError, match="list of mappings"):
        load_variants_file(bad)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("durations=1m", "no key 'durations' in the scenario (did you mean 'duration'?)"),
        ("endpoints[name=nope].site=x", "no item with name=nope"),
        ("endpoints[5].site=x", "index 5 is out of range"),
        ("seed.x=1", "is not a mapping"),
        ("dns.bogus=1", "no key 'bogus' in dns"),
        ("seed=abc", "variant 0 (seed=abc)"),
        ("duration=-3", "variant 0"),
    ],
)
def test_bad_keys_and_values_fail_before_any_run(scenario: Path, spec: str, message: str) -> None:
    with pytest.raises(InputError) as exc:
        expand(load_base(scenario), [parse_vary(spec)])
    assert message in exc.value.render()


def test_absent_optional_field_is_allowed(scenario: Path) -> None:
    # dns: is not in the document, but the schema has it: the section is created
    vs = expand(load_base(scenario), [parse_vary("dns.overstay_share=0,0.5")])
    assert vs[1].doc["dns"] == {"overstay_share": 0.5}


# ---- running --------------------------------------------------------------------------------
def test_failed_variant_is_reported_and_others_run(scenario: Path) -> None:
    vs = expand(
        load_base(scenario),
        [
            parse_vary(
                "endpoints[name=api-use1].site=region:us-east-1,region:nowhere,lz:us-east-1-nyc-1"
            )
        ],
    )
    seen: list[tuple[int, int, int]] = []
    doc = run_sweep(
        vs,
        InProcessExecutor(),
        on_update=lambda p: seen.append((p.done, p.running, p.failed)),
    )
    status = [r["status"] for r in doc["variants"]]
    assert status == ["ok", "failed", "ok"]
    assert "no region/lz/wlz/outpost named 'region:nowhere'" in doc["variants"][1]["error"]
    assert seen[-1] == (3, 0, 1)
    assert max(s[1] for s in seen) == 1  # in-process: one at a time


def test_replications_give_seed_range_and_ci(scenario: Path) -> None:
    vs = expand(load_base(scenario), [parse_vary("seed=10,20")])
    doc = run_sweep(vs, InProcessExecutor(), replications=3)
    assert [r["seeds"] for r in doc["variants"]] == [[10, 11, 12], [20, 21, 22]]
    m = doc["variants"][0]["metrics"]
    assert m["p95"]["n"] == 3
    assert m["requests"]["ci95"] > 0  # Poisson arrivals differ between seeds
    runs = doc["variants"][0]["runs"]
    assert m["requests"]["mean"] == pytest.approx(sum(r["requests"] for r in runs) / 3)


@pytest.mark.slow
def test_same_results_on_every_executor(scenario: Path) -> None:
    """In-process, a 2-process pool and a real Dask LocalCluster (loopback) give byte-identical
    sweep documents."""
    pytest.importorskip("distributed")
    from edgesim.sweep import DaskExecutor

    vs = expand(
        load_base(scenario),
        [
            parse_vary("endpoints[name=api-use1].site=region:us-east-1,region:eu-west-2"),
            parse_vary("seed=1,2"),
        ],
    )
    outputs = []
    for make in (
        InProcessExecutor,
        lambda: ProcessPoolExecutor(2),
        lambda: DaskExecutor(local_workers=2, timeout_s=60),
    ):
        ex = make()
        try:
            doc = run_sweep(vs, ex, replications=2, scenario="t")
        finally:
            ex.close()
        outputs.append((sweep_json(doc), sweep_csv(doc)))
    assert outputs[0] == outputs[1] == outputs[2]
    assert all(r["status"] == "ok" for r in json.loads(outputs[0][0])["variants"])


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


def test_unreachable_scheduler_is_exit_2_before_work(scenario: Path, tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    out = tmp_path / "out"
    code, text = invoke(
        str(scenario),
        "--vary",
        "seed=1,2",
        "--scheduler",
        f"tcp://127.0.0.1:{_closed_port()}",
        "--scheduler-timeout",
        "1",
        "--out",
        str(out),
    )
    assert code == 2
    assert "cannot reach the Dask scheduler" in text
    assert not out.exists()


def test_cli_bad_key_exit_2(scenario: Path) -> None:
    code, text = invoke(str(scenario), "--vary", "durations=1m")
    assert code == 2
    assert "did you mean 'duration'" in text
    code, text = invoke(str(scenario), "--vary", "seed")
    assert code == 2
    code, text = invoke(
        str(scenario), "--vary", "seed=1", "--executor", "processes", "--scheduler", "tcp://x:1"
    )
    assert code == 2


def test_cli_writes_table_csv_json_html(scenario: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, text = invoke(
        str(scenario),
        "--vary",
        "endpoints[name=api-use1].servers=1,8",
        "--vary",
        "endpoints[name=api-use1].site=region:us-east-1,region:atlantis",
        "--out",
        str(out),
    )
    assert code == 1  # one site does not exist: those variants fail, the others run
    assert "failed" in text
    rows = list(csv.DictReader(io.StringIO((out / "sweep.csv").read_text())))
    assert [r["status"] for r in rows] == ["ok", "failed", "ok", "failed"]
    assert rows[0]["endpoints[name=api-use1].servers"] == "1"
    assert float(rows[2]["p95"]) < float(rows[0]["p95"])  # 8 servers beat 1
    doc = json.loads((out / "sweep.json").read_text())
    assert doc["edgesim_sweep"] == 1
    assert doc["variants"][0]["metrics"]["pop_p95"]["mean"] > 0
    page = (out / "sweep.html").read_text()
    assert page.startswith("<!doctype html>")
    assert "data:image/png;base64," in page
    assert "http://" not in page
    assert "https://" not in page


@pytest.mark.slow
def test_cli_all_ok_exit_0(scenario: Path) -> None:
    code, text = invoke(
        str(scenario), "--vary", "seed=1,2", "--executor", "processes", "--workers", "2"
    )
    assert code == 0
    assert "2 variants" in text


# ---- metrics --------------------------------------------------------------------------------
def _block(p95: float, p99: float, requests: int = 10, errors: int = 0) -> dict[str, Any]:
    return {
        "requests": requests,
        "errors": errors,
        "availability": 1 - errors / requests,
        "latency_ms": {"p50": p95 / 2, "p95": p95, "p99": p99, "mean": p95 / 2},
    }


def test_headline_population_weighting() -> None:
    report = {
        "summary": _block(100, 200),
        "groups": {
            "a": _block(100, 150),
            "b": _block(300, 400),
            "dead": _block(0, 0, requests=5, errors=5),
        },
        "workloads": {"api": _block(100, 200)},
        "services": {"cloudfront": {"distributions": {"site": {"hit_ratio": 0.9}}}},
    }
    m = headline(report, {"a": 3.0, "b": 1.0, "dead": 100.0})
    assert m["pop_p95"] == pytest.approx((3 * 100 + 300) / 4)
    assert m["pop_p99"] == pytest.approx((3 * 150 + 400) / 4)
    assert m["worst_p95"] == 300
    assert m["worst_group"] == "b"
    assert m["extra"]["cloudfront.site.hit_ratio"] == 0.9
    assert "dead" not in m["groups_p95"]


def test_pareto_front() -> None:
    def row(i: int, sites: int, p: float) -> dict[str, Any]:
        return {"index": i, "sites": sites, "status": "ok", "metrics": {"pop_p95": {"mean": p}}}

    rows = [row(0, 1, 300), row(1, 2, 200), row(2, 2, 250), row(3, 3, 200), row(4, 3, 150)]
    rows.append({"index": 5, "sites": 1, "status": "failed"})
    rows.append(row(6, 1, math.nan))
    assert pareto_front(rows, "pop_p95") == [0, 1, 4]


def test_html_is_deterministic(scenario: Path) -> None:
    vs = expand(load_base(scenario), [parse_vary("endpoints[name=api-use1].servers=2,4,8")])
    doc = run_sweep(vs, InProcessExecutor())
    assert render_sweep_html(doc) == render_sweep_html(doc)


# ---- HTML: labels, ± only with replications, one key plotted, two keys tabulated -------------
def _doc(keys: list[str], combos: list[dict[str, Any]], replications: int = 1) -> dict[str, Any]:
    def metric(v: float) -> dict[str, Any]:
        return {"mean": v, "ci95": 3.0 if replications > 1 else math.nan, "n": replications}

    rows = []
    for i, ov in enumerate(combos):
        rows.append(
            {
                "index": i,
                "label": " ".join(f"{k}={v}" for k, v in ov.items()),
                "overrides": ov,
                "sites": 1,
                "status": "ok",
                "metrics": {
                    k: metric(100.0 + 10 * i) for k in ("p50", "p95", "p99", "pop_p95", "worst_p95")
                }
                | {"availability": metric(0.99)},
                "worst_group": "g",
            }
        )
    return {
        "scenario": "s.yaml",
        "replications": replications,
        "keys": keys,
        "variants": rows,
        "pareto": [0],
    }


LONG = "services.cloudfront.distributions[name=shop].behaviors[0].cache_policy.default_ttl"


def test_html_labels_keep_the_values_that_differ() -> None:
    from edgesim.report.sweep import short_keys, variant_label

    doc = _doc([LONG], [{LONG: 60}, {LONG: 86400}])
    assert short_keys([LONG]) == {LONG: "default_ttl"}
    labels = [variant_label(doc, r) for r in doc["variants"]]
    assert labels == ["default_ttl=60", "default_ttl=86400"]
    page = render_sweep_html(doc)
    assert "default_ttl=86400" in page
    assert LONG in page  # the full key is explained once


def test_short_keys_disambiguate() -> None:
    from edgesim.report.sweep import short_keys

    a = "endpoints[name=a].servers"
    b = "endpoints[name=b].servers"
    assert short_keys([a, b]) == {a: "endpoints[name=a].servers", b: "endpoints[name=b].servers"}
    assert short_keys(["x.y.z", "q.y.w"]) == {"x.y.z": "z", "q.y.w": "w"}


def test_html_hides_plus_minus_without_replications() -> None:
    one = render_sweep_html(_doc(["seed"], [{"seed": 1}, {"seed": 2}]))
    assert "±" not in one.split("<h2>Variants</h2>")[1]
    assert "no confidence intervals" in one
    three = render_sweep_html(_doc(["seed"], [{"seed": 1}, {"seed": 2}], replications=3))
    assert "100.0 ± 3.0" in three


def test_html_tabulates_two_keys() -> None:
    combos = [{"a.servers": s, "b.site": site} for s in (1, 8) for site in ("x", "y")]
    page = render_sweep_html(_doc(["a.servers", "b.site"], combos))
    pivot = page.split("by servers × site</h2>")[1].split("</table>")[0]
    # first key down, second across; variant 3 (servers=8, site=y) has pop p95 130
    assert "<th>x</th><th>y</th>" in pivot
    assert "<tr><th>8</th><td>120.0</td><td>130.0</td></tr>" in pivot


def test_html_plots_one_categorical_key() -> None:
    page = render_sweep_html(_doc(["site"], [{"site": "us-east-1"}, {"site": "eu-west-1"}]))
    assert 'alt="latency by site"' in page
