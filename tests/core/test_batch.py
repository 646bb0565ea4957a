"""AWS Batch: jobs queue FIFO until their vCPUs are free; a managed compute environment
scales between min and max vCPUs, new capacity usable after the provisioning time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgesim.errors import InputError
from edgesim.scenario.loader import load_scenario, load_scenario_text, prepare
from edgesim.services.batch import QueueSpec, _Queue
from edgesim.sim.report import build_report
from edgesim.sim.results import Results

S = 1_000_000_000
ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())


def queue(**compute: object) -> _Queue:
    spec = QueueSpec.model_validate(
        {
            "name": "q",
            "region": "us-east-1",
            "compute": {"provisioning": "3m", "scale_in_after": "10m", **compute},
            "job": {"vcpus": 4, "duration": "fixed(10m)"},
            "submitted_by": ["w"],
        }
    )
    return _Queue(spec, {0}, np.random.default_rng(1))


def test_the_first_job_waits_for_capacity_to_launch() -> None:
    q = queue(min_vcpus=0, max_vcpus=64)
    q.submitted = [0]
    q.advance(3600 * S)
    assert q.waits_s == [180.0]
    assert q.turnaround_s == [180.0 + 600.0]
    assert q.completed == 1


def test_minimum_capacity_starts_jobs_at_once() -> None:
    q = queue(min_vcpus=8, max_vcpus=64)
    q.submitted = [0, 5 * S]
    q.advance(3600 * S)
    assert q.waits_s == [0.0, 0.0]


def test_jobs_queue_fifo_when_the_environment_is_at_its_maximum() -> None:
    q = queue(min_vcpus=0, max_vcpus=4)
    q.submitted = [0, 1 * S, 2 * S]
    q.advance(3600 * S)
    # one 4-vCPU slot: starts at 180 s, 780 s, 1380 s
    assert q.waits_s == [180.0, 779.0, 1378.0]
    assert q.peak_vcpus == 4


def test_idle_capacity_is_released_after_the_scale_in_delay() -> None:
    q = queue(min_vcpus=0, max_vcpus=64)
    q.submitted = [0]
    q.advance(780 * S)  # the job ends at 780 s
    assert q.capacity == 4
    q.advance(780 * S + 10 * 60 * S + 1)
    assert q.capacity == 0
    assert q.vcpu_ns > 0


BASE = """\
edgesim: 1
name: batch
world: tiny
duration: 30m
clients: [{{metros: [london], requests_per_second: 0.2}}]
workloads: [{{name: w, host: a.example.com, target: endpoint:e, method: POST, size: 1KB}}]
endpoints: [{{name: e, site: region:eu-west-2}}]
batch:
  queues:
    - {{name: q, region: {region}, submitted_by: [{wl}],
       compute: {{min_vcpus: {lo}, max_vcpus: {hi}}}, job: {{vcpus: {vcpus}}}}}
"""


def scenario(
    region: str = "eu-west-2", wl: str = "w", lo: int = 0, hi: int = 64, vcpus: int = 2
) -> str:
    return BASE.format(region=region, wl=wl, lo=lo, hi=hi, vcpus=vcpus)


def test_requests_submit_jobs_in_a_run() -> None:
    scn, index, file = load_scenario_text(scenario())
    run = prepare(scn, index, file)
    run.execute()
    report = build_report(Results(run))
    q = report["services"]["batch"]["queues"]["q"]
    requests = report["workloads"]["w"]["requests"]
    assert q["jobs_submitted"] == requests  # one job per successful request
    assert q["jobs_started"] > 0
    assert q["wait_s"]["max"] >= 180.0  # the first job waited for the EC2 launch (3 min)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"wl": "nope"}, "no workload named 'nope'"),
        ({"region": "mars-1"}, "no region 'mars-1'"),
        ({"lo": 10, "hi": 4}, "min_vcpus is above max_vcpus"),
        ({"vcpus": 128, "hi": 64}, "more vCPUs than the compute environment's max_vcpus"),
    ],
)
def test_bad_queues_are_refused(kw: dict[str, object], message: str) -> None:
    with pytest.raises(InputError) as info:
        load(scenario(**kw))  # type: ignore[arg-type]
    assert message in info.value.render()
    assert "batch.queues[0]" in info.value.render()


def load(text: str) -> None:
    scn, index, file = load_scenario_text(text)
    prepare(scn, index, file)


def test_example_scenario_holds() -> None:
    path = ROOT / "scenarios" / "batch-transcode.yaml"
    scn, index, file = load_scenario(path)
    run = prepare(scn, index, file, base_dir=path.parent)
    run.execute()
    report = build_report(Results(run))
    assert all(a["ok"] for a in report["assertions"]), report["assertions"]
