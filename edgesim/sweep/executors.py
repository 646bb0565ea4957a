"""Where runs happen: in this process, a local process pool, or a Dask cluster.

Every executor runs the same pure function (:func:`edgesim.sweep.metrics.run_task`) on the
same task dictionaries; results are put back in (variant, seed) order, so a sweep's output is
identical whichever executor ran it.
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
import importlib
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from edgesim.errors import InputError
from edgesim.sweep.metrics import INTERRUPTED

Task = dict[str, Any]

POLL_S = 0.2
"""How often a runner that can be stopped looks at its stop callback while tasks run."""
Fn = Callable[[Task], dict[str, Any]]


class Executor(Protocol):
    name: str
    workers: int
    """How many tasks run at once."""

    def submit(self, fn: Fn, task: Task) -> Any:
        """Start ``fn(task)``; returns a handle whose ``result()`` is the return value."""
        ...

    def wait_any(self, handles: set[Any], timeout: float | None = None) -> set[Any]:
        """Block until at least one handle is done (or ``timeout`` seconds pass); return the
        done ones (none after a timeout)."""
        ...

    def close(self, wait: bool = True) -> None:
        """Release the workers; ``wait=False`` abandons tasks still running."""
        ...


@dataclass
class _Deferred:
    fn: Fn
    task: Task
    _out: dict[str, Any] | None = None

    def result(self) -> dict[str, Any]:
        if self._out is None:
            self._out = self.fn(self.task)
        return self._out

    def __hash__(self) -> int:
        return id(self)


class InProcessExecutor:
    """One task at a time, in this process (the default)."""

    name = "in-process"
    workers = 1

    def submit(self, fn: Fn, task: Task) -> Any:
        return _Deferred(fn, task)

    def wait_any(self, handles: set[Any], timeout: float | None = None) -> set[Any]:
        first = min(handles, key=lambda h: (h.task["variant"], h.task["seed"]))
        first.result()
        return {first}

    def close(self, wait: bool = True) -> None:
        pass


def _warm_worker() -> None:
    """Process-pool initializer: import the engine once per worker, not once per task. A
    worker ignores the terminal's Ctrl-C (it reaches the whole process group): the parent
    decides what an interruption does."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class ProcessPoolExecutor:
    """A local pool of worker processes (``spawn``: fresh interpreters, like Dask's)."""

    name = "processes"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._pool = cf.ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_warm_worker,
        )

    def submit(self, fn: Fn, task: Task) -> Any:
        return self._pool.submit(fn, task)

    def wait_any(self, handles: set[Any], timeout: float | None = None) -> set[Any]:
        done, _ = cf.wait(handles, timeout=timeout, return_when=cf.FIRST_COMPLETED)
        return set(done)

    def close(self, wait: bool = True) -> None:
        if not wait:
            # abandon running tasks: the standard pool has no public way to stop its workers
            for proc in list(getattr(self._pool, "_processes", {}).values()):
                proc.terminate()
        self._pool.shutdown(wait=wait, cancel_futures=True)


def _probe() -> str:
    from edgesim import __version__

    return __version__


class DaskExecutor:
    """A Dask ``distributed`` cluster: ``scheduler`` (``tcp://host:8786``) or a new
    ``LocalCluster`` of ``local_workers`` processes on loopback. Checks, before any work, that
    the scheduler answers and a worker runs the same edgesim version."""

    name = "dask"

    def __init__(
        self,
        scheduler: str | None = None,
        local_workers: int | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        from edgesim import __version__

        try:
            dist: Any = importlib.import_module("distributed")
        except ImportError:
            raise InputError.single(
                "Dask is not installed",
                expected="pip install 'edgesim[dask]' (dask[distributed])",
            ) from None
        self._cluster: Any = None
        if scheduler is not None:
            try:
                self._client: Any = dist.Client(scheduler, timeout=timeout_s, set_as_default=False)
            except (OSError, TimeoutError, ValueError) as exc:
                raise InputError.single(
                    f"cannot reach the Dask scheduler at {scheduler}: {exc}",
                    expected="a running scheduler address such as tcp://127.0.0.1:8786 "
                    "(dask scheduler; dask worker tcp://…)",
                ) from None
            self.workers = max(1, sum(self._client.nthreads().values()))
        else:
            n = local_workers or os.cpu_count() or 1
            self._cluster = dist.LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=50,
            )
            self._client = dist.Client(self._cluster, set_as_default=False)
            self.workers = n
        try:
            version = self._client.submit(_probe, pure=False).result(timeout=timeout_s)
        except Exception as exc:
            self.close()
            raise InputError.single(
                f"the Dask cluster ran no task within {timeout_s:g} s ({type(exc).__name__})",
                expected="at least one worker with edgesim installed",
            ) from None
        if version != __version__:
            self.close()
            raise InputError.single(
                f"the Dask workers run edgesim {version}, this is {__version__}",
                expected="the same edgesim version on every worker",
            )

    def submit(self, fn: Fn, task: Task) -> Any:
        return self._client.submit(fn, task, pure=False)

    def wait_any(self, handles: set[Any], timeout: float | None = None) -> set[Any]:
        done = {h for h in handles if h.done()}
        if done:
            return done
        ready = threading.Event()
        for h in handles:
            h.add_done_callback(lambda _f: ready.set())
        ready.wait(timeout)
        return {h for h in handles if h.done()}

    def close(self, wait: bool = True) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_executor(
    kind: str = "in-process",
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    timeout_s: float = 10.0,
) -> Executor:
    """``in-process``, ``processes`` (``workers``, default every core) or ``dask``
    (``scheduler`` address, or a LocalCluster of ``workers``)."""
    if kind == "in-process":
        return InProcessExecutor()
    if kind == "processes":
        return ProcessPoolExecutor(workers)
    if kind == "dask":
        return DaskExecutor(scheduler, workers, timeout_s)
    raise InputError.single(f"unknown executor '{kind}'", expected="in-process, processes, dask")


@dataclass
class Progress:
    total: int
    done: int = 0
    running: int = 0
    failed: int = 0


@dataclass
class TaskRunner:
    """Runs tasks on an executor with at most ``workers`` in flight, so that ``running`` is
    what the workers are actually doing; results come back sorted by (variant, seed)."""

    executor: Executor
    on_update: Callable[[Progress], None] | None = None
    should_stop: Callable[[], bool] | None = None
    """Asked while waiting: once true, nothing new starts, a run in this process is cut at
    its next chunk, runs elsewhere are abandoned, and every task not finished is reported
    ``incomplete`` (never ``ok``)."""
    interrupted: bool = False
    _results: list[dict[str, Any]] = field(default_factory=list)

    def _stopping(self) -> bool:
        if not self.interrupted and self.should_stop is not None and self.should_stop():
            self.interrupted = True
        return self.interrupted

    def run(self, fn: Fn, tasks: Iterable[Task], variants: int) -> list[dict[str, Any]]:
        if self.should_stop is not None and isinstance(self.executor, InProcessExecutor):
            fn = functools.partial(cast(Any, fn), should_stop=self._stopping)
        poll_s = None if self.should_stop is None else POLL_S
        queue = list(tasks)
        remaining: dict[int, int] = {}
        for t in queue:
            remaining[t["variant"]] = remaining.get(t["variant"], 0) + 1
        failed: set[int] = set()
        progress = Progress(total=variants)
        inflight: dict[Any, Task] = {}
        pos = 0
        results: list[dict[str, Any]] = []

        def update() -> None:
            progress.running = len({t["variant"] for t in inflight.values()})
            progress.failed = len(failed)
            if self.on_update is not None:
                self.on_update(progress)

        while pos < len(queue) or inflight:
            if self._stopping():
                break
            while pos < len(queue) and len(inflight) < max(1, self.executor.workers):
                task = queue[pos]
                pos += 1
                inflight[self.executor.submit(fn, task)] = task
            update()
            for h in self.executor.wait_any(set(inflight), poll_s):
                task = inflight.pop(h)
                try:
                    res = h.result()
                except Exception as exc:  # the worker died (killed, out of memory, …)
                    res = {**{k: task[k] for k in ("variant", "seed")}, "ok": False}
                    res["error"] = f"the worker failed: {type(exc).__name__}: {exc}"
                results.append(res)
                v = task["variant"]
                remaining[v] -= 1
                if not res.get("ok", False):
                    failed.add(v)
                if remaining[v] == 0:
                    progress.done += 1
        if self.interrupted:
            self.executor.close(wait=False)
            for task in [*inflight.values(), *queue[pos:]]:
                results.append({"variant": task["variant"], "seed": task["seed"], **INTERRUPTED})
                failed.add(task["variant"])
            inflight.clear()
        update()
        results.sort(key=lambda r: (r["variant"], r["seed"]))
        return results
