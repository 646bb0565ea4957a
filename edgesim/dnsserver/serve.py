"""``edgesim dns serve``: load a scenario or a zone file, serve it, in one or more processes.

The click front end (``edgesim/cli.py``) only reads options and calls :func:`serve`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import sys
from pathlib import Path
from typing import Any, TextIO

from edgesim.dnsserver.authority import (
    Authority,
    group_address,
    scenario_authority,
    zonefile_authority,
)
from edgesim.errors import InputError, Problem
from edgesim.route53 import zone as zonemod

log = logging.getLogger("edgesim.dns")


def load_zone_file(path: Path, origin: str | None) -> zonemod.Zone:
    """A BIND zone file as a zone, or an :class:`InputError` naming the file and line.

    The file's ``$ORIGIN`` names the zone (``origin``, else the file name without its
    extension, only fills in when it has none); every record is parsed by dnspython; what
    Route 53 would refuse (including a CNAME loop) is refused with the record's line.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError.single(f"cannot read the zone file: {exc}", file=str(path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError.single(
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
            file=str(path),
            line=line,
            expected="a BIND zone file in UTF-8 (or ASCII)",
        ) from None
    try:
        zone = zonemod.zone_from_text(text, origin or path.stem, filename=str(path))
    except ValueError as exc:
        msg = str(exc)
        where_line: int | None = None
        prefix = f"{path}:"
        if msg.startswith(prefix):
            head, _, rest = msg[len(prefix) :].partition(": ")
            if head.isdigit():
                where_line, msg = int(head), rest
        raise InputError.single(
            msg,
            file=str(path),
            line=where_line,
            expected="a BIND zone file (RFC 1035 master format)",
        ) from None
    problems = []
    for where, msg in zone.validate():
        at: int | None = None
        rest = where
        if where.startswith(f"{path}:"):
            head, _, tail = where[len(f"{path}:") :].partition(": ")
            if head.isdigit():
                at, rest = int(head), tail
        problems.append(Problem(msg, path=rest, line=at))
    if problems:
        raise InputError(problems, file=str(path))
    return zone


class _LineLog:
    """``--query-log``: one line per query, appended (each worker writes whole lines)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file: TextIO = path.open("a", encoding="utf-8", buffering=1)

    def __call__(self, line: str) -> None:
        self.file.write(line + "\n")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.file.close()


def _setup_logging() -> None:
    logger = logging.getLogger("edgesim.dns")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def _stop_on_signals(loop: asyncio.AbstractEventLoop) -> None:
    """SIGINT (also when a shell started us in the background) and SIGTERM stop cleanly."""
    import signal

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, loop.stop)


def serve(
    source: Path,
    host: str,
    port: int,
    *,
    origin: str | None = None,
    speed: float = 1.0,
    control: tuple[str, int] | None = None,
    workers: int = 1,
    query_log: Path | None = None,
    echo: Any = print,
) -> None:
    """Serve ``source`` (a scenario or a zone file) until interrupted."""
    from edgesim.dnsserver.server import DnsServer
    from edgesim.live.clock import new_event_loop
    from edgesim.live.workers import SharedWallClock, WorkerChannel, WorkerPool, free_port

    _setup_logging()
    run: Any = None
    if source.suffix.lower() in (".yaml", ".yml"):
        from edgesim.scenario.loader import prepare_file

        run = prepare_file(source)
        try:
            scenario_authority(run)  # refuse a scenario without zones before serving
        except ValueError as exc:
            raise InputError.single(str(exc), file=str(source)) from None
        groups = [g.name for g in run.groups]
    else:
        zone = load_zone_file(source, origin)
        groups = []
    if query_log is not None:
        try:
            query_log.open("a", encoding="utf-8").close()
        except OSError as exc:
            raise InputError.single(
                f"cannot write the query log: {exc}", path="--query-log"
            ) from None

    def make_authority() -> Authority:
        return scenario_authority(run) if run is not None else zonefile_authority([zone])

    def make_driver(loop: asyncio.AbstractEventLoop, t0_ns: int | None) -> Any:
        if run is None:
            return None
        from edgesim.sim.live import LiveDriver

        clock = SharedWallClock(loop, speed, t0_ns) if t0_ns is not None else None
        if clock is None:
            from edgesim.live.clock import WallClock

            return LiveDriver(run, WallClock(loop, speed))
        return LiveDriver(run, clock)

    def banner(auth: Authority, bound: tuple[str, int]) -> None:
        zones = ", ".join(str(z) for z in auth.zones)
        more = f", {workers} worker processes" if workers > 1 else ""
        echo(f"DNS on {bound[0]}:{bound[1]} (UDP and TCP{more}) for {zones}")
        names = auth.names or [str(auth.zones[0])]
        for i, g in enumerate(groups[:5]):
            echo(f"  {g}: dig @{bound[0]} -p {bound[1]} -b {group_address(i)} {names[0]}")
        if not groups:
            echo(f"  dig @{bound[0]} -p {bound[1]} {names[0]}")

    token = os.environ.get("EDGESIM_TOKEN") or secrets.token_urlsafe(16)

    def announce_control(chost: str, cbound: int) -> None:
        echo(f"control API on http://{chost}:{cbound}/v1/state")
        if "EDGESIM_TOKEN" not in os.environ:
            echo(f"  token (POST /v1/events, Authorization: Bearer …): {token}")

    if workers <= 1:
        loop = new_event_loop()
        auth = make_authority()
        logger = _LineLog(query_log) if query_log is not None else None
        auth.query_log = logger
        driver = make_driver(loop, None)
        if driver is not None:
            driver.start()
        server = DnsServer(auth, host, port)
        bound = loop.run_until_complete(server.start())
        banner(auth, bound)
        runners: list[Any] = []
        if control is not None and driver is not None:
            from edgesim.dnsserver.control import start_control

            runner, cbound = loop.run_until_complete(
                start_control(driver, token, control[0], control[1])
            )
            runners.append(runner)
            announce_control(control[0], cbound)
        _stop_on_signals(loop)
        try:
            loop.run_forever()
        except KeyboardInterrupt:
            pass
        finally:
            for runner in runners:
                loop.run_until_complete(runner.cleanup())
            loop.run_until_complete(server.stop())
            loop.close()
            if logger is not None:
                logger.close()
        return

    # ---- several processes on one port (SO_REUSEPORT) -----------------------------------
    if port == 0:
        port = free_port(host)

    def worker(channel: WorkerChannel) -> None:
        loop = new_event_loop()
        asyncio.set_event_loop(loop)
        auth = make_authority()
        auth.server_id = f"edgesim/w{channel.index + 1}"
        logger = _LineLog(query_log) if query_log is not None else None
        auth.query_log = logger
        driver = make_driver(loop, pool.t0_ns)
        if driver is not None:
            driver.start()

        def handle(msg: dict[str, Any]) -> dict[str, Any]:
            if "event" in msg and driver is not None:
                problems = driver.control(msg["event"])
                return {"worker": channel.index, "problems": [p.message for p in problems]}
            return {"worker": channel.index}

        channel.attach(loop, handle)
        server = DnsServer(auth, host, port, reuse_port=True)
        loop.run_until_complete(server.start())
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(server.stop())
            if logger is not None:
                logger.close()

    pool = WorkerPool(workers, worker)
    pool.start()
    ready = pool.broadcast_sync({"ping": True}, timeout_s=60)
    if any(r is None for r in ready):
        pool.stop()
        raise InputError.single("a DNS worker did not start (see the messages above)")
    loop = new_event_loop()
    asyncio.set_event_loop(loop)
    banner(make_authority(), (host, port))
    runners = []
    if control is not None and run is not None:
        from edgesim.dnsserver.control import start_control

        driver = make_driver(loop, pool.t0_ns)  # the parent's copy, for /v1/state
        driver.start()

        async def fan_out(event: Any) -> list[str]:
            replies = await pool.broadcast({"event": event})
            out = []
            for i, r in enumerate(replies):
                if r is None:
                    out.append(f"worker {i + 1} did not answer")
                elif r.get("problems"):
                    out.append(f"worker {i + 1}: {'; '.join(r['problems'])}")
            for msg in out:
                log.error("control event %s: %s", event, msg)
            return out

        runner, cbound = loop.run_until_complete(
            start_control(driver, token, control[0], control[1], after=fan_out)
        )
        runners.append(runner)
        announce_control(control[0], cbound)

    async def watch_workers() -> None:
        while pool.alive():
            await asyncio.sleep(0.5)
        log.error("a DNS worker stopped; stopping")
        loop.stop()

    task = loop.create_task(watch_workers())
    _stop_on_signals(loop)
    try:
        loop.run_forever()
    except KeyboardInterrupt:
        pass
    finally:
        task.cancel()
        for runner in runners:
            loop.run_until_complete(runner.cleanup())
        pool.stop()
        loop.close()
