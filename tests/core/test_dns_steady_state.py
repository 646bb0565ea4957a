"""Resolver caches start in steady state: failover after a failure is gradual (sim/dns.py).

A population of long-running resolvers holds a name with ages spread over its TTL, so after
the answer changes (a failed region leaves the latency answers) each resolver switches when its
own entry expires: the share of users still sent to the failed region falls over about one TTL
instead of dropping to zero at once (docs/engine.md, "DNS resolvers").
"""

from __future__ import annotations

from edgesim.scenario.loader import load_scenario_text, prepare
from edgesim.sim.report import build_report
from edgesim.sim.results import Results

SCN = """\
edgesim: 1
name: failover-spread
world: aws-world
seed: {seed}
duration: 5m
interval: 10s
clients:
  - metros: top-120
    requests_per_second: 400
    resolvers: isp
workloads:
  - name: api
    host: api.example.com
    size: 2KB
endpoints:
  - {{name: use1, site: region:us-east-1, servers: 256, service_time: "fixed(5ms)"}}
  - {{name: euw1, site: region:eu-west-1, servers: 256, service_time: "fixed(5ms)"}}
  - {{name: apne1, site: region:ap-northeast-1, servers: 256, service_time: "fixed(5ms)"}}
route53:
  zones:
    - name: example.com
      records:
        - {{name: api, policy: latency, set: a, region: us-east-1, alias: endpoint:use1}}
        - {{name: api, policy: latency, set: b, region: eu-west-1, alias: endpoint:euw1}}
        - {{name: api, policy: latency, set: c, region: ap-northeast-1, alias: endpoint:apne1}}
dns: {{start: {start}}}
timeline: [{{at: 150s, fail: region:ap-northeast-1}}]
"""
FAIL_S, TTL_S, STEP_S = 150, 60, 10


def _errors(start: str, seed: int = 5) -> tuple[list[int], Results]:
    scn, index, file = load_scenario_text(SCN.format(start=start, seed=seed))
    run = prepare(scn, index, file)
    run.execute()
    res = Results(run)
    res.report = build_report(res)
    return [int(row["errors"][-1]) for row in res.report["timeseries"]["rows"]], res


def test_failover_share_decays_over_about_one_ttl() -> None:
    errors, _ = _errors("steady")
    k = FAIL_S // STEP_S
    assert sum(errors[:k]) == 0
    after = errors[k : k + TTL_S // STEP_S]  # the six 10 s intervals of the first TTL
    # Every interval of the first TTL still sends some users to the dead region (resolvers
    # whose entry has not expired yet) ...
    assert all(e > 0 for e in after)
    # ... fewer and fewer of them: the first interval has the most, the last the fewest ...
    assert after[0] == max(after)
    assert after[-1] == min(after)
    assert after[-1] < after[0] / 3
    # ... roughly linearly (ages uniform over the TTL): the first half holds about 3/4.
    half = sum(after[:3]) / sum(after)
    assert 0.6 < half < 0.9
    # After one TTL (plus the interval that straddles it) nobody is sent there any more.
    assert sum(errors[k + TTL_S // STEP_S + 1 :]) == 0


def test_cold_start_caches_expire_together() -> None:
    errors, _ = _errors("cold")
    k = FAIL_S // STEP_S
    # Every resolver filled its cache in the first instants of the run, so every entry
    # expires at about the same moments (60 s, 120 s, 180 s): the failure is seen by everyone
    # until 180 s, then by nobody.
    after = errors[k : k + TTL_S // STEP_S]
    assert min(after[:3]) > 0  # 150-180 s: all still on it
    assert sum(after[4:]) == 0  # 190 s on: all moved at once


def test_steady_state_is_deterministic_and_seeded() -> None:
    a, ra = _errors("steady", seed=5)
    b, rb = _errors("steady", seed=5)
    c, _ = _errors("steady", seed=6)
    assert a == b
    assert ra.report == rb.report
    assert a != c  # another seed draws other cache ages


def test_steady_state_resolvers_do_not_all_ask_at_the_start() -> None:
    _, steady = _errors("steady")
    _, cold = _errors("cold")
    s = steady.report["dns"]["api.example.com"]["resolver_misses"]
    c = cold.report["dns"]["api.example.com"]["resolver_misses"]
    # cold: one miss per resolver at the start on top of the per-TTL refreshes
    assert s < c
