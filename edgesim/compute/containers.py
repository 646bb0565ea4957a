"""How long a new ECS task takes to serve: provisioning, the image pull from ECR, extraction,
container start and the load balancer's health checks (I/O-free).

Sources: the Amazon ECS Developer Guide, "Linux containers on Fargate container image pull
behavior" (every Fargate task pulls the whole image — nothing is cached — so the pull time is
part of every task's start; pulling across Regions or over the internet is slower; image size
and layer count drive the time), and the AWS Containers blog "Reducing AWS Fargate startup
times with zstd compressed container images" (2022: pulling is download *and* decompression;
zstd cut start times by up to 27 % for large images). The constants below are edgesim's
choices where AWS publishes no figure; docs/compute.md lists them.

``pull = 3 RTT (token, manifest, first layer request) + size / rate`` with ``rate = min(task
bandwidth, streams × window / RTT)``: ``streams`` layers download in parallel, each limited by
its TCP window over the round trip to the registry's Region, so distance slows a large pull.
``extract = size / extract rate`` (decompression of gzip layers).
"""

from __future__ import annotations

from dataclasses import dataclass

MB = 1_000_000

PULL_STREAMS = 3
"""Layers downloaded at once (the Docker/containerd default ``max-concurrent-downloads``)."""
STREAM_WINDOW_BYTES = 1 << 20
"""TCP window per layer download (edgesim's choice: 1 MiB)."""
TASK_BANDWIDTH_BPS = 50 * MB
"""Bytes/s a task's network interface sustains for the pull (edgesim's choice: 400 Mbit/s)."""
EXTRACT_BPS = 80 * MB
"""Compressed bytes/s decompressed and unpacked (edgesim's choice, gzip on one core)."""

PROVISIONING_S = {"fargate": 20.0, "ecs-ec2": 2.0}
"""From the scale-out decision to the image pull: Fargate finds capacity and attaches the task's
network interface; on EC2 the scheduler places the task on an instance that has room (edgesim's
choices; AWS publishes no figures)."""


@dataclass(frozen=True)
class TaskStart:
    provisioning_s: float
    pull_s: float
    extract_s: float
    container_start_s: float
    health_check_s: float

    @property
    def total_s(self) -> float:
        return (
            self.provisioning_s
            + self.pull_s
            + self.extract_s
            + self.container_start_s
            + self.health_check_s
        )

    def as_dict(self) -> dict[str, float]:
        return {
            "provisioning_s": round(self.provisioning_s, 3),
            "pull_s": round(self.pull_s, 3),
            "extract_s": round(self.extract_s, 3),
            "container_start_s": round(self.container_start_s, 3),
            "health_check_s": round(self.health_check_s, 3),
            "total_s": round(self.total_s, 3),
        }


def pull_seconds(image_bytes: int, rtt_ms: float) -> float:
    """Download time of an image of ``image_bytes`` (compressed) over a round trip of
    ``rtt_ms`` to the registry."""
    if image_bytes <= 0:
        return 0.0
    rtt_s = max(rtt_ms, 1.0) / 1000.0
    rate = min(TASK_BANDWIDTH_BPS, PULL_STREAMS * STREAM_WINDOW_BYTES / rtt_s)
    return 3 * rtt_s + image_bytes / rate


def task_start(
    kind: str,
    image_bytes: int,
    registry_rtt_ms: float,
    *,
    cached: bool,
    container_start_s: float,
    health_check_s: float,
    provisioning_s: float | None = None,
) -> TaskStart:
    """The start time of one task of ``kind`` (``fargate`` or ``ecs-ec2``). A ``cached``
    image (on EC2, an instance that already ran the image) skips the pull and extraction;
    Fargate never caches."""
    prov = PROVISIONING_S[kind] if provisioning_s is None else provisioning_s
    pull = 0.0 if cached else pull_seconds(image_bytes, registry_rtt_ms)
    extract = 0.0 if cached else image_bytes / EXTRACT_BPS
    return TaskStart(prov, pull, extract, container_start_s, health_check_s)
