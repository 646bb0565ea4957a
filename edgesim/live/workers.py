"""Several processes serving one port: ``--workers N`` for the live servers.

Each worker is a forked process with its own event loop and its own sockets bound with
``SO_REUSEPORT`` to the same address, so the kernel spreads datagrams and connections over them
(by a hash of the client's address and port). What they must agree on is shared explicitly:

* **one timeline clock**: every worker's :class:`SharedWallClock` counts from the same
  ``CLOCK_MONOTONIC`` instant (the parent's), so timeline events and health-check rounds happen
  at the same virtual times everywhere;
* **control calls**: the parent keeps the control API; an accepted call is sent to every worker
  over its pipe and the API answers only when each has applied it (:meth:`WorkerPool.broadcast`),
  so a ``ctl fail`` is seen by all of them before the caller gets its reply.

The helper knows nothing about DNS: ``edgesim dns serve --workers`` uses it, and the other live
servers can (a worker function, a message handler and the same pool).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import time
from collections.abc import Callable
from typing import Any

from edgesim.live.clock import WallClock

BROADCAST_TIMEOUT_S = 5.0


class SharedWallClock(WallClock):
    """A :class:`WallClock` whose time zero is given (the same in every worker)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, speed: float, t0_ns: int) -> None:
        super().__init__(loop, speed)
        self._t0 = t0_ns


def free_port(host: str, kind: int = socket.SOCK_DGRAM) -> int:
    """A port free for both UDP and TCP on ``host`` (asked of the kernel)."""
    for _ in range(50):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, kind) as s:
            s.bind((host, 0))
            port = int(s.getsockname()[1])
        other = socket.SOCK_STREAM if kind == socket.SOCK_DGRAM else socket.SOCK_DGRAM
        try:
            with socket.socket(family, other) as s2:
                s2.bind((host, port))
        except OSError:
            continue
        return port
    raise OSError(f"no free port on {host}")


def reuseport_socket(host: str, port: int, kind: int) -> socket.socket:
    """A socket bound with SO_REUSEPORT (a listening one for TCP)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind((host, port))
    if kind == socket.SOCK_STREAM:
        s.listen(1024)
    s.setblocking(False)
    return s


class WorkerChannel:
    """A worker's end of its pipe: messages from the parent, one reply each."""

    def __init__(self, index: int, conn: multiprocessing.connection.Connection) -> None:
        self.index = index
        self.conn = conn

    def attach(
        self, loop: asyncio.AbstractEventLoop, handle: Callable[[dict[str, Any]], Any]
    ) -> None:
        """Call ``handle`` for each message on ``loop``; stop the loop when the parent goes."""

        def readable() -> None:
            try:
                msg = json.loads(self.conn.recv_bytes())
            except (EOFError, OSError, ValueError):
                loop.remove_reader(self.conn.fileno())
                loop.stop()  # the parent is gone: so is this worker
                return
            try:
                reply = handle(msg)
            except Exception as exc:  # reported to the parent, which logs it
                reply = {"error": f"{type(exc).__name__}: {exc}"}
            with contextlib.suppress(OSError):
                self.conn.send_bytes(json.dumps(reply, default=str).encode())

        loop.add_reader(self.conn.fileno(), readable)


class WorkerPool:
    """``n`` forked workers, each running ``target(channel)`` until told to stop."""

    def __init__(self, n: int, target: Callable[[WorkerChannel], None]) -> None:
        self.n = n
        self.target = target
        self.t0_ns = time.monotonic_ns()
        self.procs: list[multiprocessing.process.BaseProcess] = []
        self.conns: list[multiprocessing.connection.Connection] = []

    def start(self) -> None:
        ctx = multiprocessing.get_context("fork")
        for i in range(self.n):
            parent, child = ctx.Pipe(duplex=True)
            inherited = [*self.conns, parent]  # the child closes the parent's ends
            proc = ctx.Process(
                target=_run_worker, args=(self.target, i, child, inherited), daemon=True
            )
            proc.start()
            child.close()
            self.procs.append(proc)
            self.conns.append(parent)

    def alive(self) -> bool:
        return all(p.is_alive() for p in self.procs)

    def broadcast_sync(
        self, msg: dict[str, Any], timeout_s: float = BROADCAST_TIMEOUT_S
    ) -> list[Any]:
        """Send ``msg`` to every worker and wait for each reply (None: no reply in time)."""
        data = json.dumps(msg, default=str).encode()
        for c in self.conns:
            with contextlib.suppress(OSError):
                c.send_bytes(data)
        out: list[Any] = []
        deadline = time.monotonic() + timeout_s
        for c in self.conns:
            try:
                if c.poll(max(0.0, deadline - time.monotonic())):
                    out.append(json.loads(c.recv_bytes()))
                else:
                    out.append(None)
            except (EOFError, OSError, ValueError):
                out.append(None)
        return out

    async def broadcast(
        self, msg: dict[str, Any], timeout_s: float = BROADCAST_TIMEOUT_S
    ) -> list[Any]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.broadcast_sync, msg, timeout_s)

    def stop(self, timeout_s: float = 5.0) -> None:
        for c in self.conns:
            with contextlib.suppress(OSError):
                c.close()
        for p in self.procs:
            if p.is_alive() and p.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for p in self.procs:
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive() and p.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p.pid, signal.SIGKILL)
                p.join(1)


def _run_worker(
    target: Callable[[WorkerChannel], None],
    index: int,
    conn: multiprocessing.connection.Connection,
    inherited: list[multiprocessing.connection.Connection],
) -> None:
    for c in inherited:  # so that the pipe ends when the parent goes
        c.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    target(WorkerChannel(index, conn))
