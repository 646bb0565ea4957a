"""The control API of ``edgesim dns serve`` (aiohttp): read state, apply events live.

* ``GET /v1/state`` — health checks, targets, weights and recent events (no token needed);
* ``POST /v1/events`` — one event, written as a timeline entry without ``at``
  (``{"fail": "region:us-east-1"}``, ``{"set_health": {"check": "use1", "healthy": false}}``,
  ``{"set_weight": {"record": "api.example.com", "set": "blue", "weight": 0}}``); it needs
  ``Authorization: Bearer <token>``. Bad events get 400 with the problems, nothing applied.
* ``POST /v1/fail``, ``/v1/recover``, ``/v1/weight``, ``/v1/health`` — the calls of
  ``edgesim ctl`` (``{"target": …}``, ``{"record", "set", "weight"}``, ``{"check",
  "healthy"}``), turned into the events above.

With ``--workers``, an accepted event is also applied by every worker process before the reply
is sent (the ``after`` hook; :mod:`edgesim.live.workers`).

Binds 127.0.0.1 unless told otherwise. Bodies over 64 KiB are refused (413).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from edgesim.sim.live import LiveDriver

MAX_BODY = 64 * 1024


_CTL: dict[str, Callable[[Any], Any]] = {
    "fail": lambda b: {"fail": b.get("target")},
    "recover": lambda b: {"recover": b.get("target")},
    "weight": lambda b: {"set_weight": {k: b.get(k) for k in ("record", "set", "weight")}},
    "health": lambda b: {"set_health": {k: b.get(k) for k in ("check", "healthy")}},
}


def control_app(
    driver: LiveDriver,
    token: str,
    after: Callable[[Any], Awaitable[list[str]]] | None = None,
) -> web.Application:
    """The API; ``after(event)`` runs once an event is applied here (it returns problems
    met elsewhere, such as a worker that did not answer)."""
    app = web.Application(client_max_size=MAX_BODY)

    async def state(_request: web.Request) -> web.Response:
        return web.json_response(driver.state(), dumps=lambda o: json.dumps(o, default=str))

    async def events(request: web.Request) -> web.Response:
        return await apply(request, None)

    async def ctl(request: web.Request) -> web.Response:
        return await apply(request, _CTL[request.match_info["what"]])

    async def apply(request: web.Request, convert: Callable[[Any], Any] | None) -> web.Response:
        auth = request.headers.get("Authorization", "")
        scheme, _, given = auth.partition(" ")
        if scheme.lower() != "bearer":
            given = ""
        if not hmac.compare_digest(given.strip().encode(), token.encode()):
            return web.json_response({"error": "a valid bearer token is required"}, status=401)
        try:
            body: Any = await request.json()
        except (ValueError, UnicodeDecodeError, RecursionError):
            return web.json_response({"error": "the body is not JSON"}, status=400)
        if convert is not None:
            if not isinstance(body, dict):
                return web.json_response({"error": "the body is a JSON object"}, status=400)
            body = convert(body)
        problems = driver.control(body)
        if problems:
            return web.json_response(
                {
                    "error": "event refused",
                    "problems": [
                        {"path": p.path, "message": p.message, "expected": p.expected}
                        for p in problems
                    ],
                },
                status=400,
            )
        if after is not None:
            missing = await after(body)
            if missing:
                return web.json_response(
                    {"error": "applied, but not everywhere", "problems": missing}, status=500
                )
        return web.json_response({"applied": body, "state": driver.state()}, dumps=_dumps)

    app.router.add_get("/v1/state", state)
    app.router.add_post("/v1/events", events)
    app.router.add_post("/v1/{what:fail|recover|weight|health}", ctl)
    return app


def _dumps(obj: Any) -> str:
    return json.dumps(obj, default=str)


async def start_control(
    driver: LiveDriver,
    token: str,
    host: str = "127.0.0.1",
    port: int = 0,
    after: Callable[[Any], Awaitable[list[str]]] | None = None,
) -> tuple[web.AppRunner, int]:
    """Start the control API; returns the runner (to clean up) and the bound port."""
    runner = web.AppRunner(control_app(driver, token, after), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server
    assert server is not None
    sockets = getattr(server, "sockets", None) or []
    bound = sockets[0].getsockname()[1] if sockets else port
    return runner, int(bound)
