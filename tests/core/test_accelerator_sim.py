"""Global Accelerator inside scenario runs: health checks on the engine clock, the TCP
handshake at the edge, timeline actions, Route 53 aliases, load-time errors, the example."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edgesim.errors import InputError
from edgesim.latency.query import route
from edgesim.scenario.loader import load_scenario, load_scenario_text, prepare
from edgesim.sim.report import build_report
from edgesim.sim.results import Results
from edgesim.topology import load_world

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())

HEAD = """\
edgesim: 1
name: ga
world: tiny
seed: 4
duration: {duration}
interval: 1m
clients:
  - metros: {metros}
    requests_per_second: {rate}
    resolvers: isp
"""
ENDPOINTS = """\
endpoints:
  - {name: use1, site: us-east-1, servers: 64, service_time: "fixed(5ms)"}
  - {name: euw2, site: eu-west-2, servers: 64, service_time: "fixed(5ms)"}
  - {name: apne1, site: ap-northeast-1, servers: 64, service_time: "fixed(5ms)"}
"""


def group(region: str, endpoint: str, extra: str = "") -> str:
    return (
        f"          - {{region: {region}, endpoints: [{{endpoint: endpoint:{endpoint}}}]"
        f"{', ' + extra if extra else ''}}}\n"
    )


THREE = (
    group("us-east-1", "use1", "health_check: {interval: 10s, threshold: 3}")
    + group("eu-west-2", "euw2", "health_check: {interval: 10s, threshold: 3}")
    + group("ap-northeast-1", "apne1", "health_check: {interval: 10s, threshold: 3}")
)


def scenario(
    groups: str = THREE,
    *,
    duration: str = "4m",
    metros: str = "[tokyo, london, new-york]",
    rate: int = 200,
    workload: str = "{name: api, host: api.example.com, target: accelerator:api, "
    "method: POST, size: 2KB}",
    listener: str = "port_ranges: [443]",
    timeline: str = "[]",
    extra: str = "",
) -> str:
    return (
        HEAD.format(duration=duration, metros=metros, rate=rate)
        + f"workloads:\n  - {workload}\n"
        + ENDPOINTS
        + "accelerators:\n  - name: api\n    listeners:\n"
        + f"      - {listener}\n        endpoint_groups:\n"
        + groups
        + extra
        + f"timeline: {timeline}\n"
    )


def run(text: str) -> Results:
    scn, index, file = load_scenario_text(text)
    r = prepare(scn, index, file)
    r.execute()
    res = Results(r)
    res.report = build_report(res)
    return res


def ga_report(res: Results) -> dict[str, Any]:
    out: dict[str, Any] = res.report["services"]["accelerators"]["accelerators"]["api"]
    return out


def load_error(text: str) -> str:
    """The message of the load error (schema or references) the scenario raises."""

    def load() -> None:
        scn, index, file = load_scenario_text(text)
        prepare(scn, index, file)

    with pytest.raises(InputError) as exc:
        load()
    return str(exc.value)


# ---- routing in runs -----------------------------------------------------------------------


def test_users_go_to_the_group_nearest_their_edge() -> None:
    r = run(scenario())
    groups = ga_report(r)["listeners"][0]["endpoint_groups"]
    assert groups["ap-northeast-1"]["requests"] == r.requests(group="tokyo")
    assert groups["eu-west-2"]["requests"] == r.requests(group="london")
    assert groups["us-east-1"]["requests"] == r.requests(group="new-york")
    assert ga_report(r)["failovers"] == 0
    # users connect to their own edge location
    assert set(r.report["pops"]) == {"NRT57", "LHR50", "JFK50"}


def test_health_check_detects_after_threshold_probes_then_fails_over() -> None:
    # Failure at 65 s; probes every 10 s from the start (70, 80, 90): with threshold 3 the
    # status flips at 90 s, within interval × threshold (30 s) of the failure.
    r = run(scenario(timeline="[{at: 65s, fail: endpoint:apne1}]"))
    ep = ga_report(r)["listeners"][0]["endpoint_groups"]["ap-northeast-1"]["endpoints"]["apne1"]
    assert ep["health_transitions"] == [
        {"at_s": 90.0, "healthy": False, "since_last_event_s": 25.0}
    ]
    assert ga_report(r)["failovers"] > 0
    # Tokyo's requests failed only between the failure and the detection.
    rows = r.report["timeseries"]["rows"]
    errors = {row["t_s"]: row["errors"][-1] for row in rows}
    assert errors[60.0] > 0  # the minute holding 65–90 s
    assert errors[120.0] == 0
    assert errors[180.0] == 0


@pytest.mark.parametrize(
    ("interval", "threshold", "fail_s", "detect_s"),
    [(30, 1, 65, 90), (30, 2, 31, 90), (10, 10, 100, 190)],
)
def test_detection_time_is_bounded_by_interval_times_threshold(
    interval: int, threshold: int, fail_s: int, detect_s: int
) -> None:
    hc = f"health_check: {{interval: {interval}s, threshold: {threshold}}}"
    groups = group("us-east-1", "use1", hc) + group("eu-west-2", "euw2")
    r = run(
        scenario(
            groups,
            metros="[new-york]",
            rate=20,
            timeline=f"[{{at: {fail_s}s, fail: endpoint:use1}}]",
        )
    )
    ep = ga_report(r)["listeners"][0]["endpoint_groups"]["us-east-1"]["endpoints"]["use1"]
    (first,) = ep["health_transitions"]
    assert first["at_s"] == detect_s
    assert 0 < detect_s - fail_s <= interval * threshold


def test_region_failure_and_recovery_move_traffic_and_back() -> None:
    r = run(
        scenario(
            duration="6m",
            timeline="[{at: 60s, fail: region:eu-west-2}, {at: 3m, recover: region:eu-west-2}]",
        )
    )
    ep = ga_report(r)["listeners"][0]["endpoint_groups"]["eu-west-2"]["endpoints"]["euw2"]
    assert [(t["at_s"], t["healthy"]) for t in ep["health_transitions"]] == [
        (80.0, False),
        (200.0, True),
    ]
    # Errors only between the failure and its detection (60–80 s); then, and after the
    # recovery, nothing fails.
    errors = [row["errors"][-1] for row in r.report["timeseries"]["rows"]]
    assert errors[1] > 0
    assert errors[0] == errors[2] == errors[3] == errors[4] == errors[5] == 0
    groups = ga_report(r)["listeners"][0]["endpoint_groups"]
    # London went elsewhere for 80–200 s (a third of the run) and came back.
    london = r.requests(group="london")
    assert groups["eu-west-2"]["requests"] / london == pytest.approx(4 / 6, abs=0.03)


def test_tcp_handshake_costs_the_edge_rtt_and_tls_the_end_to_end_rtt() -> None:
    # Tokyo users, one endpoint group in us-east-1, every request on a new connection.
    world = load_world("tiny")
    edge = route(world, "client:tokyo", "pop:NRT57")
    edge_wan_rtt = 2 * (edge.one_way_ms - edge.access_one_way_ms)
    bb = route(world, "pop:NRT57", "region:us-east-1")
    bb_rtt = 2 * bb.one_way_ms
    fibre_rtt = world.params.access["fibre"].rtt_ms
    r = run(
        scenario(
            group("us-east-1", "use1"),
            metros="[tokyo]",
            workload="{name: api, host: api.example.com, target: accelerator:api, "
            "size: 2KB, connection_reuse: 0, tls: '1.3'}",
        )
    )
    connect = r.latency(workload="api", phase="connect").p50
    # median = wide-area RTT + last mile + a median jitter draw (well under 1 ms here)
    assert edge_wan_rtt + fibre_rtt < connect < edge_wan_rtt + fibre_rtt + 1.5
    assert connect < 20 < bb_rtt  # the handshake never crosses the Pacific
    hops = r.report["workloads"]["api"]["hops_mean_ms"]
    assert hops["accelerator TLS (edge↔endpoint)"] == pytest.approx(bb_rtt, abs=0.01)
    assert hops["→use1"] == pytest.approx(bb_rtt, abs=0.01)


def test_report_compares_with_the_internet_path_using_the_latency_model() -> None:
    # docs/latency-model.md: Tokyo → us-east-1 in tiny, 171.6 ms wide-area RTT over the
    # internet (174.6 − 3 ms of fibre last mile); through NRT57 and the backbone 146.9 ms
    # (149.9 − 3).
    r = run(scenario(group("us-east-1", "use1"), metros="[tokyo]"))
    tokyo = ga_report(r)["vs_internet"]["tokyo"]
    assert tokyo["network_rtt_ms"]["internet"] == pytest.approx(171.6, abs=0.1)
    assert tokyo["network_rtt_ms"]["accelerator"] == pytest.approx(146.9, abs=0.1)
    assert tokyo["improvement_pct"]["mean"] > 0
    assert tokyo["accelerator_ms"]["mean"] < tokyo["internet_ms"]["mean"]
    assert "backbone" in ga_report(r)["why"]


def test_set_dial_moves_traffic_to_the_next_nearest_group() -> None:
    r = run(
        scenario(
            duration="4m",
            metros="[london]",
            timeline="[{at: 2m, set_dial: {accelerator: api, region: eu-west-2, dial: 0}}]",
        )
    )
    groups = ga_report(r)["listeners"][0]["endpoint_groups"]
    assert groups["eu-west-2"]["traffic_dial"] == 0.0
    london = r.requests(group="london")
    # Half the run at dial 100, half at 0 (the next-nearest group from LHR50 is us-east-1).
    assert groups["eu-west-2"]["requests"] / london == pytest.approx(0.5, abs=0.03)
    assert groups["us-east-1"]["requests"] / london == pytest.approx(0.5, abs=0.03)
    assert ga_report(r)["failovers"] == 0


def test_set_endpoint_weight_to_zero_fails_over_to_another_group() -> None:
    r = run(
        scenario(
            metros="[london]",
            timeline="[{at: 2m, set_endpoint_weight: "
            "{accelerator: api, endpoint: endpoint:euw2, weight: 0}}]",
        )
    )
    rep = ga_report(r)
    assert rep["listeners"][0]["endpoint_groups"]["eu-west-2"]["endpoints"]["euw2"]["weight"] == 0
    assert rep["failovers"] / r.requests(group="london") == pytest.approx(0.5, abs=0.03)


def test_weights_split_requests_inside_a_group() -> None:
    r = run(
        scenario(
            "          - region: us-east-1\n"
            "            endpoints: [{endpoint: use1, weight: 200},\n"
            "                        {endpoint: use1b, weight: 50}]\n",
            metros="[new-york]",
            extra="",
        ).replace(
            "endpoints:\n  - {name: use1,",
            "endpoints:\n  - {name: use1b, site: us-east-1, servers: 64}\n  - {name: use1,",
        )
    )
    eps = ga_report(r)["listeners"][0]["endpoint_groups"]["us-east-1"]["endpoints"]
    total = eps["use1"]["requests"] + eps["use1b"]["requests"]
    assert eps["use1"]["requests"] / total == pytest.approx(0.8, abs=0.02)


def test_source_ip_affinity_runs_and_splits_users_by_weight() -> None:
    r = run(
        scenario(
            "          - region: us-east-1\n"
            "            endpoints: [{endpoint: use1}, {endpoint: use1b}]\n",
            metros="[new-york]",
            listener="port_ranges: [443]\n        client_affinity: SOURCE_IP",
        ).replace(
            "endpoints:\n  - {name: use1,",
            "endpoints:\n  - {name: use1b, site: us-east-1, servers: 64}\n  - {name: use1,",
        )
    )
    eps = ga_report(r)["listeners"][0]["endpoint_groups"]["us-east-1"]["endpoints"]
    total = eps["use1"]["requests"] + eps["use1b"]["requests"]
    # 254 user addresses, each pinned: the split follows the users, roughly half and half
    assert 0.35 < eps["use1"]["requests"] / total < 0.65


def test_route53_alias_to_the_accelerator() -> None:
    text = scenario(
        workload="{name: api, host: api.example.com, method: POST, size: 2KB}",
        extra="route53:\n  zones:\n    - name: example.com\n      records:\n"
        "        - {name: api, alias: accelerator:api}\n",
    )
    r = run(text)
    assert ga_report(r)["requests"] == r.requests(workload="api")
    assert r.availability() == 1.0
    assert set(r.report["pops"]) == {"NRT57", "LHR50", "JFK50"}


def test_workload_on_a_port_without_listener_is_refused() -> None:
    msg = load_error(scenario(listener="port_ranges: [8443]"))
    assert "accelerator 'api' has no TCP listener on port 443" in msg


@pytest.mark.slow
def test_example_scenario_runs_and_its_assertions_hold() -> None:
    path = ROOT / "scenarios" / "global-api-accelerator.yaml"
    scn, index, file = load_scenario(path)
    r = prepare(scn, index, file, base_dir=path.parent)
    r.execute()
    res = Results(r)
    res.report = build_report(res)
    assert all(a["ok"] for a in res.report["assertions"])
    rep = ga_report(res)
    euw1 = rep["listeners"][0]["endpoint_groups"]["eu-west-1"]["endpoints"]["api-euw1"]
    assert [(t["at_s"], t["healthy"]) for t in euw1["health_transitions"]] == [
        (1220.0, False),
        (2120.0, True),
    ]
    assert rep["failovers"] > 0
    assert rep["fail_open"] == 0
    # far from every endpoint, the accelerator beats the internet path
    for metro in ("sydney", "sao-paulo", "mumbai", "lagos"):
        assert rep["vs_internet"][metro]["improvement_pct"]["mean"] > 10


# ---- bad input ------------------------------------------------------------------------------


def test_dial_101_is_refused_at_load() -> None:
    msg = load_error(scenario(group("us-east-1", "use1", "traffic_dial: 101")))
    assert "endpoint_groups[0].traffic_dial" in msg
    assert "less than or equal to 100" in msg


def test_weight_256_is_refused_at_load() -> None:
    msg = load_error(
        scenario("          - {region: us-east-1, endpoints: [{endpoint: use1, weight: 256}]}\n")
    )
    assert "endpoints[0].weight" in msg
    assert "less than or equal to 255" in msg


def test_endpoint_in_a_region_without_a_group_is_refused_at_load() -> None:
    groups = "          - {region: us-east-1, endpoints: [{endpoint: use1}, {endpoint: apne1}]}\n"
    msg = load_error(scenario(groups))
    assert "apne1 runs in ap-northeast-1" in msg
    assert "no endpoint group for ap-northeast-1" in msg


def test_duplicate_groups_for_a_region_are_refused_at_load() -> None:
    msg = load_error(scenario(group("us-east-1", "use1") + group("us-east-1", "use1")))
    assert "at most one endpoint group per Region" in msg


def test_unknown_endpoint_is_refused_at_load() -> None:
    msg = load_error(scenario(group("us-east-1", "nope")))
    assert "no endpoint named 'endpoint:nope'" in msg


@pytest.mark.parametrize(
    ("ports", "fragment"),
    [
        ("['9000-8000']", "ends before it starts"),
        ("[443, '400-500']", "overlap"),
        ("['http']", "cannot read 'http' as a port range"),
        ("[70000]", "outside 1–65535"),
    ],
)
def test_bad_listener_ports_are_refused_at_load(ports: str, fragment: str) -> None:
    msg = load_error(scenario(listener=f"port_ranges: {ports}"))
    assert fragment in msg


def test_bad_timeline_actions_are_refused_at_load() -> None:
    msg = load_error(
        scenario(timeline="[{at: 1m, set_dial: {accelerator: api, region: eu-west-2, dial: 150}}]")
    )
    assert "traffic dial 150 is outside 0–100" in msg
    msg = load_error(
        scenario(
            timeline="[{at: 1m, set_endpoint_weight: "
            "{accelerator: api, endpoint: endpoint:euw2, weight: 300}}]"
        )
    )
    assert "weight 300 is outside 0–255" in msg
    msg = load_error(
        scenario(timeline="[{at: 1m, set_dial: {accelerator: api, region: sa-east-1, dial: 5}}]")
    )
    assert "no endpoint group for sa-east-1" in msg


def _affinity_scenario(affinity: str) -> str:
    """New York users on a listener with ``affinity``, one group of two endpoints weighted
    64 and 192 (a quarter of the weight on use1)."""
    return scenario(
        "          - region: us-east-1\n"
        "            endpoints: [{endpoint: use1, weight: 64}, {endpoint: use1b, weight: 192}]\n",
        metros="[new-york]",
        listener=f"port_ranges: [443]\n        client_affinity: {affinity}",
    ).replace(
        "endpoints:\n  - {name: use1,",
        "endpoints:\n  - {name: use1b, site: us-east-1, servers: 64}\n  - {name: use1,",
    )


def test_source_ip_affinity_pins_each_user_address_in_runs() -> None:
    """SOURCE_IP hashes (source IP, destination IP) only (AWS: "Client affinity" in the Global
    Accelerator developer guide; docs/edge-services.md §Global Accelerator), so each of a
    group's 254 user addresses keeps one endpoint and use1's share is the share of *addresses*
    the weights give it, not the share of flows (0.25) that affinity NONE gives."""
    from edgesim.services.accelerator import model as ga

    text = _affinity_scenario("SOURCE_IP")
    scn, index, file = load_scenario_text(text)
    prepared = prepare(scn, index, file)
    service: Any = next(s for s in prepared.services if "api" in getattr(s, "items", {}))
    acc = service.items["api"]
    acc.rebuild()
    # the endpoint of each user address .1-.254 of the group's subnet, from the model's tables
    users = acc.subnet_base[0] + 1 + np.arange(254)
    edge = acc.edge_pos[prepared.ctx.idx("pop:JFK50")]
    _, ep, _ = acc.listeners[0].tables.lookup(
        np.full(254, edge), ga.flow_hash_source(users, acc.dst_ip)
    )
    per_user = float(np.mean(ep == 0))  # endpoint 0 of the group is use1
    assert abs(per_user - 0.25) > 0.02  # these weights tell the two behaviours apart

    # every flow hash a run draws is one of those 254 users' hashes
    hashes = set(ga.flow_hash_source(users, acc.dst_ip).tolist())
    r = run(text)
    eps = ga_report(r)["listeners"][0]["endpoint_groups"]["us-east-1"]["endpoints"]
    share = eps["use1"]["requests"] / (eps["use1"]["requests"] + eps["use1b"]["requests"])
    assert share == pytest.approx(per_user, abs=0.01)
    batch_hashes = acc.flow_hashes(_one_group_batch(5000), np.arange(5000), "SOURCE_IP", 443)
    assert set(batch_hashes.tolist()) <= hashes
    assert len(set(batch_hashes.tolist())) > 200  # spread over the users, not one address

    # with affinity NONE every request is its own flow: the split follows the weights
    r = run(_affinity_scenario("NONE"))
    eps = ga_report(r)["listeners"][0]["endpoint_groups"]["us-east-1"]["endpoints"]
    share = eps["use1"]["requests"] / (eps["use1"]["requests"] + eps["use1b"]["requests"])
    assert share == pytest.approx(0.25, abs=0.01)


def _one_group_batch(n: int) -> Any:
    """A stand-in batch of ``n`` requests, all from client group 0."""

    class _Batch:
        group = np.zeros(n, dtype=np.int32)

    return _Batch()
