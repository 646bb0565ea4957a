"""AWS Batch: job queues on managed compute environments, fed by a scenario's requests.

For processing pipelines, not for serving requests: every successful request of the workloads
a queue lists in ``submitted_by`` submits one job when it completes (an upload lands, an
ingest call returns). A job waits in its queue (FIFO, as a single-priority Batch job queue)
until its vCPUs are free in the queue's compute environment, then runs for a drawn
``duration``. The compute environment is managed: it scales between ``min_vcpus`` and
``max_vcpus`` to the vCPUs the runnable and running jobs want, new capacity becoming usable
``provisioning`` after it is asked for (instance launch and ECS agent registration for EC2 and
Spot, task provisioning for Fargate), idle capacity above the minimum released after
``scale_in_after``.

Sources and choices (docs/compute.md, "AWS Batch"): AWS documents the queue → compute
environment → job flow, managed scaling between MinvCpus and MaxvCpus, and that jobs stay
RUNNABLE while capacity is launched; it publishes no launch times. The provisioning defaults
(EC2 3 min, Spot 4 min, Fargate 1 min) and the scale-in delay (10 min) are edgesim's choices.
Jobs are events in time order (a heap), processed at every chunk boundary, so a run with many
millions of requests and a few thousand jobs costs little.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from edgesim.errors import InputError, Problem
from edgesim.services.base import Service
from edgesim.sim.batch import Batch, Outcome
from edgesim.sim.context import SimContext
from edgesim.sim.distributions import DurationDist
from edgesim.units import Duration, parse_duration_ns

F64 = npt.NDArray[np.float64]
NS = 1_000_000_000
PROVISIONING_DEFAULT = {"ec2": "3m", "spot": "4m", "fargate": "1m"}


class ComputeEnvSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["ec2", "spot", "fargate"] = "ec2"
    min_vcpus: int = Field(default=0, ge=0, le=1_000_000)
    max_vcpus: int = Field(default=256, ge=1, le=1_000_000)
    provisioning: Duration | None = Field(
        default=None, description="how long new capacity takes (default 3m, Spot 4m, Fargate 1m)"
    )
    scale_in_after: Duration = Field(
        default="10m", validate_default=True, description="idle capacity is released after"
    )

    @model_validator(mode="after")
    def _range(self) -> ComputeEnvSpec:
        if self.min_vcpus > self.max_vcpus:
            raise ValueError("min_vcpus is above max_vcpus")
        return self

    @property
    def provisioning_ns(self) -> int:
        if self.provisioning is not None:
            return int(self.provisioning)

        return parse_duration_ns(PROVISIONING_DEFAULT[self.type])


class JobSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    vcpus: int = Field(default=1, ge=1, le=256)
    duration: DurationDist = Field(
        default="lognormal(median=10m, sigma=0.5)", validate_default=True
    )


class QueueSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    region: str
    compute: ComputeEnvSpec = Field(default_factory=ComputeEnvSpec)
    job: JobSpec = Field(default_factory=JobSpec)
    submitted_by: list[str] = Field(
        min_length=1, description="workloads whose successful requests each submit a job"
    )

    @model_validator(mode="after")
    def _fits(self) -> QueueSpec:
        if self.job.vcpus > self.compute.max_vcpus:
            raise ValueError("a job needs more vCPUs than the compute environment's max_vcpus")
        return self


class BatchConfig(BaseModel):
    """The ``batch:`` section: job queues and their compute environments."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    queues: list[QueueSpec] = Field(min_length=1)


@dataclass
class _Queue:
    spec: QueueSpec
    workloads: set[int]
    rng: np.random.Generator
    submitted: list[int] = field(default_factory=list)
    """Submission times not yet processed (ns)."""
    queued: deque[int] = field(default_factory=deque)
    running: list[tuple[int, int]] = field(default_factory=list)
    """Heap of (end ns, start ns) of running jobs."""
    capacity: int = 0
    arriving: list[tuple[int, int]] = field(default_factory=list)
    """Heap of (ready ns, vCPUs) of capacity being provisioned."""
    idle_since: int | None = None
    now: int = 0
    waits_s: list[float] = field(default_factory=list)
    turnaround_s: list[float] = field(default_factory=list)
    started: int = 0
    completed: int = 0
    peak_vcpus: int = 0
    vcpu_ns: int = 0

    def __post_init__(self) -> None:
        self.capacity = self.spec.compute.min_vcpus

    @property
    def busy(self) -> int:
        return len(self.running) * self.spec.job.vcpus

    def advance(self, until: int) -> None:
        """Process every event up to ``until`` in time order."""
        subs = sorted(self.submitted)
        self.submitted = []
        si = 0
        job_vcpus = self.spec.job.vcpus
        while True:
            nxt = until
            if si < len(subs):
                nxt = min(nxt, subs[si])
            if self.running:
                nxt = min(nxt, self.running[0][0])
            if self.arriving:
                nxt = min(nxt, self.arriving[0][0])
            self.vcpu_ns += self.capacity * max(0, nxt - self.now)
            self.now = max(self.now, nxt)
            t = self.now
            while self.running and self.running[0][0] <= t:
                heapq.heappop(self.running)
                self.completed += 1
            while self.arriving and self.arriving[0][0] <= t:
                _, v = heapq.heappop(self.arriving)
                self.capacity += v
            while si < len(subs) and subs[si] <= t:
                self.queued.append(subs[si])
                si += 1
            # start jobs FIFO while vCPUs are free
            while self.queued and self.capacity - self.busy >= job_vcpus:
                sub = self.queued.popleft()
                dur = int(self.spec.job.duration.sample(self.rng, 1)[0])
                heapq.heappush(self.running, (t + max(dur, 1), t))
                self.started += 1
                self.waits_s.append((t - sub) / NS)
                self.turnaround_s.append((t + max(dur, 1) - sub) / NS)
            self._scale(t)
            self.peak_vcpus = max(self.peak_vcpus, self.capacity)
            if t >= until and si >= len(subs):
                break

    def _scale(self, t: int) -> None:
        c = self.spec.compute
        want = min(c.max_vcpus, (len(self.queued) + len(self.running)) * self.spec.job.vcpus)
        want = max(want, c.min_vcpus)
        coming = sum(v for _, v in self.arriving)
        if want > self.capacity + coming:
            heapq.heappush(self.arriving, (t + c.provisioning_ns, want - self.capacity - coming))
        spare = self.capacity - max(want, self.busy)
        if spare > 0 and not self.arriving:
            if self.idle_since is None:
                self.idle_since = t
            elif t - self.idle_since >= c.scale_in_after:
                self.capacity -= spare
                self.idle_since = None
        else:
            self.idle_since = None


class AwsBatch(Service):
    section: ClassVar[str] = "batch"
    summary: ClassVar[str] = "AWS Batch job queues fed by requests (processing pipelines)"
    config_model: ClassVar[type[BaseModel]] = BatchConfig
    order: ClassVar[int] = 80
    assertion_kinds: ClassVar[dict[str, str]] = {
        "batch_jobs": "count",
        "batch_wait": "duration",
    }

    def __init__(self, config: BaseModel, ctx: SimContext) -> None:
        super().__init__(config, ctx)
        assert isinstance(config, BatchConfig)
        problems: list[Problem] = []
        names = [w.name for w in ctx.workloads]
        self.queues: dict[str, _Queue] = {}
        for i, q in enumerate(config.queues):
            where = f"batch.queues[{i}]"
            if q.name in self.queues:
                problems.append(Problem(f"duplicate queue name '{q.name}'", path=f"{where}.name"))
                continue
            if f"region:{q.region}" not in ctx.world.nodes:
                problems.append(
                    Problem(f"no region '{q.region}'", path=f"{where}.region", expected="a region")
                )
            wl: set[int] = set()
            for j, w in enumerate(q.submitted_by):
                if w not in names:
                    problems.append(
                        Problem(
                            f"no workload named '{w}'",
                            path=f"{where}.submitted_by[{j}]",
                            expected="one of: " + ", ".join(names),
                        )
                    )
                else:
                    wl.add(names.index(w))
            self.queues[q.name] = _Queue(q, wl, ctx.rng(f"batch:{q.name}"))
        if problems:
            raise InputError(problems, file=ctx.file)

    def observe(self, batch: Batch, out: Outcome, total_ms: F64) -> None:
        ok = out.ok
        for q in self.queues.values():
            mask = ok & np.isin(batch.workload, list(q.workloads))
            if mask.any():
                done = batch.t_ns[mask] + (total_ms[mask] * 1e6).astype(np.int64)
                q.submitted.extend(done.tolist())

    def tick(self, now_ns: int) -> None:
        # submissions complete after their request: process up to the chunk end only
        for q in self.queues.values():
            later = [s for s in q.submitted if s > now_ns]
            q.submitted = [s for s in q.submitted if s <= now_ns]
            q.advance(now_ns)
            q.submitted = later

    def report(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, q in sorted(self.queues.items()):
            waits = np.array(q.waits_s) if q.waits_s else np.zeros(0)
            turn = np.array(q.turnaround_s) if q.turnaround_s else np.zeros(0)

            def pct(a: F64, p: float) -> float | None:
                return round(float(np.percentile(a, p)), 3) if len(a) else None

            out[name] = {
                "jobs_submitted": q.started + len(q.queued) + len(q.submitted),
                "jobs_started": q.started,
                "jobs_completed_in_run": q.completed,
                "jobs_queued_at_end": len(q.queued) + len(q.submitted),
                "jobs_running_at_end": len(q.running),
                "wait_s": {"p50": pct(waits, 50), "p95": pct(waits, 95), "max": pct(waits, 100)},
                "turnaround_s": {"p50": pct(turn, 50), "p95": pct(turn, 95)},
                "peak_vcpus": q.peak_vcpus,
                "vcpu_hours": round(q.vcpu_ns / NS / 3600, 3),
            }
        return {"queues": out}

    def assertion_metrics(self) -> dict[str, Any]:
        def find(name: str) -> _Queue:
            q = self.queues.get(name)
            if q is None:
                raise KeyError(f"no batch queue '{name}'")
            return q

        def batch_jobs(queue: str) -> float:
            """Jobs that started running."""
            return float(find(queue).started)

        def batch_wait(queue: str, stat: str = "p95") -> float:
            """Seconds from submission to start: p50, p95, p99 or max."""
            q = find(queue)
            p = 100.0 if stat == "max" else float(stat.lstrip("p"))
            return float(np.percentile(q.waits_s, p)) if q.waits_s else 0.0

        return {"batch_jobs": batch_jobs, "batch_wait": batch_wait}


SERVICES = (AwsBatch,)
