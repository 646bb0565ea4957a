"""The control API of ``edgesim dns serve`` (aiohttp): read state, apply events live.

* ``GET /v1/state`` — health checks, targets, weights and recent events (no token needed);
* ``POST /v1/events`` — one event, written as a timeline entry without ``at``
  (``{"fail": "region:us-east-1"}``, ``{"set_health": {"check": "use1", "healthy": false}}``,
  ``{"set_weight": {"record": "api.example.com", "set": "blue", "weight": 0}}``); it needs
  ``Authorization: Bearer <token>``. Bad events get 400 with the problems, nothing applied.

Binds 127.0.0.1 unless told otherwise. Bodies over 64 KiB are refused (413).
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from aiohttp import web

from edgesim.sim.live import LiveDriver

MAX_BODY = 64 * 1024


def control_app(driver: LiveDriver, token: str) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)

    async def state(_request: web.Request) -> web.Response:
        return web.json_response(driver.state(), dumps=lambda o: json.dumps(o, default=str))

    async def events(request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        given = auth[len("Bearer ") :] if auth.startswith("Bearer ") else ""
        if not hmac.compare_digest(given.encode(), token.encode()):
            return web.json_response({"error": "a valid bearer token is required"}, status=401)
        try:
            body: Any = await request.json()
        except (ValueError, UnicodeDecodeError):
            return web.json_response({"error": "the body is not JSON"}, status=400)
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
        return web.json_response({"applied": body, "state": driver.state()}, dumps=_dumps)

    app.router.add_get("/v1/state", state)
    app.router.add_post("/v1/events", events)
    return app


def _dumps(obj: Any) -> str:
    return json.dumps(obj, default=str)


async def start_control(
    driver: LiveDriver, token: str, host: str = "127.0.0.1", port: int = 0
) -> tuple[web.AppRunner, int]:
    """Start the control API; returns the runner (to clean up) and the bound port."""
    runner = web.AppRunner(control_app(driver, token), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server
    assert server is not None
    sockets = getattr(server, "sockets", None) or []
    bound = sockets[0].getsockname()[1] if sockets else port
    return runner, int(bound)
