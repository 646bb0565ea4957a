"""Built-in clients for the live stack (``edgesim serve --traffic RATE``).

So that the dashboard, ``/v1/metrics`` and Prometheus' ``/metrics`` move without any
scripting, the generator plays users of every client group: Poisson arrivals at ``RATE``
requests per second in all, each from a group drawn in proportion to its weight (its metro's
population), for a workload host drawn in proportion to the workloads' rates. A user does what
a browser would: it asks the stack's DNS server for the host *from its group's loopback
address* (127.1.x.y, so Route 53's policies see where it is), then sends ``GET`` to the
answered address from the same address, so the edge or endpoint applies that group's emulated
delays. It goes through the servers' front doors only: what it measures is what a person with
``dig -b`` and ``curl --interface`` would see.

Bounded: at most ``concurrency`` requests in flight (arrivals beyond that are counted as
``dropped``, not queued), a timeout per request, and it stops with the stack.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import asyncio_dgram
import dns.exception
import dns.message
import dns.rdatatype

from edgesim.live.component import Component

if TYPE_CHECKING:
    from edgesim.live.stack import Stack


@dataclass(frozen=True)
class TrafficTarget:
    host: str
    path_prefix: str = "/"
    weight: float = 1.0
    objects: int = 1000


@dataclass
class TrafficStats:
    started: int = 0
    ok: int = 0
    http_errors: int = 0
    dns_failures: int = 0
    timeouts: int = 0
    dropped: int = 0
    by_status: dict[int, int] = field(default_factory=dict)


def group_address(index: int) -> str:
    """Client group ``index``'s loopback address (the stack's address plan)."""
    return f"127.1.{index // 256}.{index % 256}"


class TrafficGenerator:
    def __init__(
        self,
        targets: list[TrafficTarget],
        group_weights: list[float],
        rate_per_s: float,
        dns_addr: tuple[str, int],
        http_port: int,
        *,
        seed: int = 1,
        concurrency: int = 256,
        timeout_s: float = 5.0,
    ) -> None:
        if rate_per_s <= 0:
            raise ValueError("rate must be positive")
        if not targets or not group_weights:
            raise ValueError("no targets or no client groups")
        self.targets = targets
        self.group_weights = group_weights
        self.rate = rate_per_s
        self.dns_addr = dns_addr
        self.http_port = http_port
        self.rng = random.Random(seed)
        self.slots = asyncio.Semaphore(concurrency)
        self.timeout_s = timeout_s
        self.stats = TrafficStats()
        self._tasks: set[asyncio.Task[None]] = set()
        self._groups = list(range(len(group_weights)))
        self._target_weights = [t.weight for t in targets]

    async def run(self, stop: asyncio.Event) -> None:
        """Send requests until ``stop`` is set; then wait for those in flight (bounded)."""
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while not stop.is_set():
            next_at += self.rng.expovariate(self.rate)
            delay = next_at - loop.time()
            if delay > 0:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                if stop.is_set():
                    break
            if self.slots.locked():
                self.stats.dropped += 1
                continue
            group = self.rng.choices(self._groups, self.group_weights)[0]
            target = self.rng.choices(self.targets, self._target_weights)[0]
            path = f"{target.path_prefix.rstrip('/')}/obj-{self.rng.randrange(target.objects)}"
            task = asyncio.create_task(self._one(group, target.host, path))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=self.timeout_s + 1)
        for t in self._tasks:
            t.cancel()

    async def _one(self, group: int, host: str, path: str) -> None:
        async with self.slots:
            self.stats.started += 1
            src = group_address(group)
            try:
                async with asyncio.timeout(self.timeout_s):
                    addr = await self.resolve(host, src)
                    if addr is None:
                        self.stats.dns_failures += 1
                        return
                    status = await self.get(addr, host, path, src)
            except TimeoutError:
                self.stats.timeouts += 1
                return
            except OSError:
                self.stats.http_errors += 1
                return
            self.stats.by_status[status] = self.stats.by_status.get(status, 0) + 1
            if 200 <= status < 500:
                self.stats.ok += 1
            else:
                self.stats.http_errors += 1

    async def resolve(self, host: str, src: str) -> str | None:
        """The first A record for ``host`` (following CNAMEs in the answer), asked over UDP
        from ``src``."""
        query = dns.message.make_query(host, dns.rdatatype.A)
        stream = await asyncio_dgram.bind((src, 0))  # the group's address is the source
        try:
            await stream.send(query.to_wire(), self.dns_addr)
            data, _ = await stream.recv()
        finally:
            stream.close()
        try:
            answer = dns.message.from_wire(data)
        except dns.exception.DNSException:
            return None
        for rrset in answer.answer:
            if rrset.rdtype == dns.rdatatype.A:
                return str(rrset[0])
        return None

    async def get(self, addr: str, host: str, path: str, src: str) -> int:
        """``GET path`` with ``Host: host`` from ``src``; the status code."""
        reader, writer = await asyncio.open_connection(addr, self.http_port, local_addr=(src, 0))
        try:
            writer.write(
                f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: edgesim-traffic\r\n"
                "Connection: close\r\n\r\n".encode("ascii")
            )
            await writer.drain()
            status_line = await reader.readline()
            parts = status_line.split()
            status = int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else 0
            while await reader.read(65536):  # drain the body until the server closes
                pass
            return status
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


# ---- the stack's component (edgesim serve --traffic RATE) -----------------------------------
class Traffic(Component):
    """Starts the built-in clients once DNS and the servers listen (``--traffic``)."""

    name: ClassVar[str] = "traffic"

    def __init__(self, stack: Stack) -> None:
        super().__init__(stack)
        self.task: asyncio.Task[None] | None = None
        self.stop_event = asyncio.Event()
        self.generator: TrafficGenerator | None = None

    def wanted(self, only: frozenset[str]) -> bool:
        return self.stack.config.traffic_rps is not None

    def plan(self) -> list[TrafficTarget]:
        """The workloads whose host one of the scenario's zones answers."""
        zones = [str(z).rstrip(".").lower() for z in getattr(self.stack.authority, "zones", [])]
        targets = []
        for w in self.stack.run.scenario.workloads:
            host = w.host.rstrip(".").lower()
            if not any(host == z or host.endswith("." + z) for z in zones):
                continue  # no zone answers it: a client could not resolve it
            objects = w.objects.count if w.objects is not None else 1000
            targets.append(TrafficTarget(w.host, w.path_prefix, w.share or 1.0, objects))
        return targets

    async def start(self) -> None:
        from edgesim.live.stack import Listener

        stack = self.stack
        rate = stack.config.traffic_rps
        assert rate is not None
        if stack.dns_bound is None:
            stack.notes.append("traffic: no DNS server runs, so built-in clients cannot start")
            return
        if stack.config.public:
            stack.notes.append("traffic: built-in clients need loopback addresses (not started)")
            return
        targets = self.plan()
        if not targets:
            stack.notes.append("traffic: no workload host is in the scenario's zones")
            return
        weights = [max(g.rate_rps, 0.0) for g in stack.run.groups]
        self.generator = TrafficGenerator(
            targets, weights, rate, stack.dns_bound, stack.edge_port, seed=stack.ctx.seed
        )
        self.task = asyncio.get_running_loop().create_task(self.generator.run(self.stop_event))
        used = sum(1 for w in weights if w > 0)
        stack.listeners.append(
            Listener("traffic", "built-in clients", f"{rate:g} req/s", f"{len(targets)} hosts")
        )
        stack.notes.append(f"traffic: {rate:g} req/s from {used} client groups")

    async def stop(self) -> None:
        self.stop_event.set()
        if self.task is not None:
            try:
                await asyncio.wait_for(self.task, 10)
            except TimeoutError:
                self.task.cancel()
            self.task = None
