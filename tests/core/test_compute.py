"""Compute models (edgesim.compute) on their own and behind endpoints in scenario runs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edgesim.compute import lambdafn
from edgesim.compute.containers import pull_seconds, task_start
from edgesim.compute.lambdafn import LambdaPool, cold_start_ms, cpu_factor, runtime_family
from edgesim.compute.scaling import TargetTracking
from edgesim.errors import InputError
from edgesim.scenario.loader import load_scenario_text, prepare
from edgesim.sim.assertions import parse_assertion
from edgesim.sim.report import build_report
from edgesim.sim.results import Results

NS = 1_000_000_000
MS = 1_000_000


def run(text: str) -> Results:
    scn, index, file = load_scenario_text(text)
    r = prepare(scn, index, file)
    r.execute()
    res = Results(r)
    res.report = build_report(res)
    return res


def scenario(endpoint: str, *, rate: int = 200, duration: str = "5m", timeline: str = "[]") -> str:
    return f"""\
edgesim: 1
name: compute
world: tiny
seed: 3
duration: {duration}
warmup: 0s
interval: 1m
clients:
  - metros: [new-york]
    requests_per_second: {rate}
workloads:
  - {{name: api, host: api.example.com, target: endpoint:api, method: POST, size: 1KB}}
endpoints:
{endpoint}
timeline: {timeline}
"""


def max_overlap(starts: np.ndarray, ends: np.ndarray) -> int:
    """Most intervals [start, end) open at once."""
    times = np.concatenate([starts, ends])
    step = np.concatenate([np.ones(len(starts)), -np.ones(len(ends))])
    order = np.lexsort((step, times))  # at equal times, ends (-1) before starts
    return int(np.cumsum(step[order]).max())


# ---- Lambda: documented figures --------------------------------------------------------------
def test_one_vcpu_at_1769_mb_and_cpu_proportional_to_memory() -> None:
    assert cpu_factor(1769, cpu_bound=1.0) == pytest.approx(1.0)
    assert cpu_factor(128, cpu_bound=1.0) == pytest.approx(1769 / 128)
    # A single-threaded handler cannot use more than one vCPU; six threads can use ~5.8.
    assert cpu_factor(10_240, cpu_bound=1.0, threads=1) == pytest.approx(1.0)
    assert cpu_factor(10_240, cpu_bound=1.0, threads=6) == pytest.approx(1769 / 10_240)
    # Only the CPU-bound share scales: time spent waiting on I/O does not.
    assert cpu_factor(128, cpu_bound=0.0) == 1.0
    assert cpu_factor(884.5, cpu_bound=0.5) == pytest.approx(0.5 * 2 + 0.5)


@pytest.mark.parametrize(
    ("runtime", "family"),
    [
        ("python3.12", "python"),
        ("nodejs20.x", "nodejs"),
        ("java21", "java"),
        ("java21-snapstart", "java-snapstart"),
        ("dotnet8", "dotnet"),
        ("provided.al2023", "provided"),
        ("ruby3.3", "ruby"),
        ("cobol", None),
    ],
)
def test_runtime_identifiers_map_to_init_rows(runtime: str, family: str | None) -> None:
    assert runtime_family(runtime) == family


def test_cold_start_is_platform_plus_runtime_plus_own_init() -> None:
    assert cold_start_ms("python3.12", 400.0) == (
        lambdafn.PLATFORM_INIT_MS + lambdafn.RUNTIME_INIT_MS["python"] + 400.0
    )
    assert cold_start_ms("java21") > cold_start_ms("java21-snapstart")
    with pytest.raises(ValueError, match="unknown Lambda runtime"):
        cold_start_ms("cobol")


# ---- Lambda: the execution-environment pool ---------------------------------------------------
def arrivals(rate: float, seconds: float, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = rng.poisson(rate * seconds)
    return np.sort(rng.uniform(0, seconds * NS, n))


def test_below_the_limit_nothing_is_throttled_and_the_pool_grows_to_peak_concurrency() -> None:
    pool = LambdaPool(limit=1000)
    t = arrivals(500, 10)
    d = np.full(len(t), 100.0 * MS)
    adm = pool.admit(t, d, 0.0)
    assert not adm.throttled.any()
    # every environment was created by a cold start, and the pool is the peak concurrency
    ends = t + d
    assert adm.cold.sum() == pool.envs == max_overlap(t, ends)
    # Little's law: ~ rate × duration = 50 in flight on average, the peak somewhat above
    assert 50 <= pool.envs <= 90


def test_warm_environments_are_reused() -> None:
    pool = LambdaPool(limit=1000)
    t = np.arange(0, 10 * NS, 200 * MS, dtype=np.float64)  # one every 200 ms
    adm = pool.admit(t, np.full(len(t), 50.0 * MS), 100.0 * MS)
    assert adm.cold.sum() == 1  # the first; each later request finds the environment idle
    # A 300 ms Init keeps the first environment busy until 350 ms: the second request (at
    # 200 ms) needs another one, and from then on the two are enough.
    pool = LambdaPool(limit=1000)
    adm = pool.admit(t, np.full(len(t), 50.0 * MS), 300.0 * MS)
    assert adm.cold.tolist()[:3] == [True, True, False]
    assert adm.cold.sum() == 2


def test_never_more_than_the_limit_in_flight_and_the_excess_is_throttled() -> None:
    pool = LambdaPool(limit=40)
    t = arrivals(2000, 5)
    d = np.random.default_rng(2).lognormal(np.log(100 * MS), 0.3, len(t))
    adm = pool.admit(t, d, 0.0)
    ok = ~adm.throttled
    assert max_overlap(t[ok], (t + d)[ok]) <= 40
    # a loss system at 5x its capacity: the admitted rate is close to limit / mean duration
    served_per_s = ok.sum() / 5
    capacity = 40 / (np.mean(d) / NS)
    assert 0.8 * capacity <= served_per_s <= capacity * 1.02
    assert adm.throttled.sum() > 0.6 * len(t)


def test_scaling_rate_limits_new_environments_to_1000_per_10_seconds() -> None:
    pool = LambdaPool(limit=10_000)
    t = np.linspace(0, 1 * NS, 3000)  # 3,000 long invocations within one second
    adm = pool.admit(t, np.full(3000, 60.0 * NS), 0.0)
    made = int(adm.cold.sum())
    # 1,000 at once plus the continuous refill of 100 per second over that second
    assert 1000 <= made <= 1101
    assert adm.throttled.sum() == 3000 - made


def test_idle_environments_are_reclaimed_but_provisioned_ones_stay() -> None:
    pool = LambdaPool(limit=1000, provisioned=5, idle_ns=600 * NS)
    t = np.linspace(0, NS, 50)
    pool.admit(t, np.full(50, 10.0 * NS), 0.0)
    pool.end_chunk(10 * NS + 1)
    assert pool.envs >= 50
    pool.end_chunk(20 * 60 * NS)  # nothing ran for 20 minutes
    assert pool.envs == 5
    first = pool.admit(np.array([21.0 * 60 * NS] * 5), np.full(5, MS * 1.0), 0.0)
    assert not first.cold.any()  # provisioned concurrency: initialised in advance


def test_invocations_carried_over_a_chunk_still_count() -> None:
    pool = LambdaPool(limit=10)
    pool.admit(np.linspace(0, NS, 10), np.full(10, 30.0 * NS), 0.0)
    pool.end_chunk(10 * NS)
    later = pool.admit(np.array([11.0 * NS]), np.array([1.0 * MS]), 0.0)
    assert later.throttled.all()  # ten still running: the limit is reached


# ---- containers -------------------------------------------------------------------------------
def test_image_pull_grows_with_size_and_distance_to_the_registry() -> None:
    near, far = pull_seconds(500_000_000, 2.0), pull_seconds(500_000_000, 150.0)
    assert far > near > pull_seconds(100_000_000, 2.0)
    fargate = task_start(
        "fargate", 300_000_000, 2.0, cached=False, container_start_s=5, health_check_s=20
    )
    cached = task_start(
        "ecs-ec2", 300_000_000, 2.0, cached=True, container_start_s=5, health_check_s=20
    )
    assert cached.pull_s == cached.extract_s == 0.0
    assert fargate.total_s > cached.total_s
    assert fargate.total_s == pytest.approx(
        fargate.provisioning_s + fargate.pull_s + fargate.extract_s + 5 + 20
    )


# ---- target tracking --------------------------------------------------------------------------
def test_scale_out_after_three_high_periods_by_the_ratio_to_the_target() -> None:
    tt = TargetTracking(in_service=4, minimum=2, maximum=20, target=0.5, delay_ns=120 * NS)
    for k in (1, 2):
        tt.observe(k * 60 * NS, 1.0)
        assert tt.desired == 4
    tt.observe(180 * NS, 1.0)
    assert tt.desired == math.ceil(4 * 1.0 / 0.5)
    assert tt.in_service == 4
    tt.observe(240 * NS, 1.0)  # still in ALARM: the launching units count, no second launch
    assert tt.desired == 8
    assert not tt.advance(299 * NS)
    assert tt.advance(300 * NS)
    assert tt.in_service == 8


def test_scale_out_stops_at_max_and_scale_in_waits_fifteen_low_periods() -> None:
    tt = TargetTracking(in_service=4, minimum=3, maximum=6, target=0.5, delay_ns=0)
    for k in range(1, 4):
        tt.observe(k * 60 * NS, 1.0)
    tt.advance(180 * NS)
    assert tt.in_service == 6
    for k in range(4, 18):
        tt.observe(k * 60 * NS, 0.1)
    assert tt.in_service == 6  # 14 low periods
    tt.observe(18 * 60 * NS, 0.1)
    assert tt.in_service == 3  # ceil(6 × 0.1 / 0.5) = 2, but not below min


def test_target_tracking_refuses_bad_sizes() -> None:
    with pytest.raises(ValueError, match="minimum"):
        TargetTracking(in_service=1, minimum=2, maximum=4, target=0.5, delay_ns=0)


# ---- endpoints with compute models in runs ----------------------------------------------------
EC2 = """\
  - name: api
    site: region:us-east-1
    service_time: "fixed(40ms)"
    compute: {{type: ec2, desired: 2, min: 2, max: 12, concurrency: 4, warmup: 60s,
               autoscaling: {auto}}}
"""


def test_ec2_scales_out_under_load_and_latency_falls_afterwards() -> None:
    # 2 instances × 4 = 8 servers at 40 ms: capacity 200 req/s, offered 250 (overload).
    fixed = run(scenario(EC2.format(auto="false"), rate=250, duration="12m"))
    scaled = run(scenario(EC2.format(auto="true"), rate=250, duration="12m"))
    comp = scaled.report["services"]["endpoints"]["api"]["compute"]
    assert comp["scaling"]
    assert comp["scaling"][0]["at_s"] == 180.0
    assert comp["units_at_end"] > 2
    assert fixed.report["services"]["endpoints"]["api"]["compute"]["units_at_end"] == 2
    last_fixed = fixed.report["timeseries"]["rows"][-1]["latency_ms"][-1]["p50"]
    last_scaled = scaled.report["timeseries"]["rows"][-1]["latency_ms"][-1]["p50"]
    assert last_scaled < last_fixed / 5


def test_load_raises_latency_at_a_fixed_fleet() -> None:
    def p99(rate: int) -> float:
        r = run(scenario(EC2.format(auto="false"), rate=rate, duration="3m"))
        return r.latency().p99

    assert p99(60) < p99(150) < p99(190)


def test_fargate_report_has_the_task_start_breakdown() -> None:
    ep = """\
  - name: api
    site: region:us-east-1
    compute: {type: fargate, image_size: 1GB, registry: ap-northeast-1}
"""
    comp = run(scenario(ep, duration="1m")).report["services"]["endpoints"]["api"]["compute"]
    ts = comp["task_start"]
    assert ts["pull_s"] > 0
    assert ts["extract_s"] > 0
    assert comp["scale_delay_s"] == pytest.approx(ts["total_s"], abs=1e-3)


LAMBDA = """\
  - name: api
    site: region:us-east-1
    service_time: "fixed(100ms)"
    compute: {{type: lambda, memory: 1769, concurrency: {limit}, init: 500ms}}
"""


def test_lambda_cold_starts_show_as_a_hop_and_429s_beyond_the_limit() -> None:
    r = run(scenario(LAMBDA.format(limit=10), rate=400, duration="1m"))
    ep = r.report["services"]["endpoints"]["api"]
    assert ep["compute"]["cold_starts"] >= 10
    assert ep["compute"]["throttled"] > 0
    assert r.report["summary"]["status_counts"]["429"] == ep["compute"]["throttled"]
    assert "api (cold start)" in r.report["summary"]["hops_mean_ms"]
    a = parse_assertion("throttles(endpoint=api) > 0", {"throttles": "count"})
    assert r.evaluate(a) == ep["compute"]["throttled"]


def test_lambda_timeout_fails_long_invocations_with_504() -> None:
    ep = """\
  - name: api
    site: region:us-east-1
    service_time: "fixed(5s)"
    compute: {type: lambda, memory: 1769, timeout: 3s}
"""
    r = run(scenario(ep, rate=5, duration="1m"))
    assert r.availability() == 0.0
    assert set(r.report["summary"]["status_counts"]) == {"504"}
    assert r.report["services"]["endpoints"]["api"]["compute"]["timeouts"] > 0


def test_lambda_memory_scales_the_handler_time() -> None:
    def p50(memory: int) -> float:
        ep = f"""\
  - name: api
    site: region:us-east-1
    service_time: "fixed(100ms)"
    compute: {{type: lambda, memory: {memory}, cpu_bound: 100%}}
"""
        return run(scenario(ep, rate=20, duration="2m")).latency().p50

    assert p50(128) > 10 * p50(1769)


def test_endpoints_without_compute_keep_their_fixed_servers() -> None:
    ep = '  - {name: api, site: region:us-east-1, servers: 3, service_time: "fixed(10ms)"}\n'
    rep = run(scenario(ep, duration="1m")).report["services"]["endpoints"]["api"]
    assert rep["servers"] == 3
    assert "compute" not in rep
    assert "deployments" not in rep


# ---- bad compute settings ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        ("{name: api, site: us-east-1, compute: {type: lambda, memory: 20000}}", "128 to 10240"),
        ("{name: api, site: us-east-1, compute: {type: lambda, timeout: 20m}}", "15m"),
        ("{name: api, site: us-east-1, compute: {type: lambda, runtime: cobol}}", "runtime"),
        (
            "{name: api, site: us-east-1, compute: {type: lambda, concurrency: 5, provisioned: 6}}",
            "provisioned",
        ),
        ("{name: api, site: us-east-1, compute: {type: ec2, min: 5, max: 2}}", "min"),
        ("{name: api, site: us-east-1, compute: {type: ec2, desired: 50}}", "desired"),
        ("{name: api, site: us-east-1, servers: 4, compute: {type: ec2}}", "servers and compute"),
        ("{name: api, site: us-east-1, compute: {type: fargate, image_cached: true}}", "caches"),
        ("{name: api, site: us-east-1, compute: {type: kubernetes}}", "type"),
        ("{name: api, site: us-east-1, compute: {type: fargate, registry: mars-1}}", "mars-1"),
        ("{name: api, site: lz:us-east-1-nyc-1, compute: {type: lambda}}", "Regions only"),
        ("{name: api, site: us-east-1, compute: {type: ec2, warmup: 5}}", "duration"),
    ],
)
def test_bad_compute_settings_are_clear_errors(endpoint: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as err:
        run(scenario(f"  - {endpoint}\n", duration="1m"))
    assert "endpoints[0]" in str(err.value)
