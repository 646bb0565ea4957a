"""The control API and dashboard of ``edgesim serve`` (aiohttp; docs/live-stack.md).

Reading needs no token; every state-changing call needs ``Authorization: Bearer TOKEN``:

=========================  ==================================================================
``GET /``                  the dashboard (static files from ``edgesim/live/dashboard``)
``GET /v1/state``          health checks, targets, weights, down nodes, events, decisions
``GET /v1/topology``       nodes with kind/lat/lon, targets, host names, distributions
``GET /v1/land``           simplified land outlines for the map
``GET /v1/routes``         host → client group → what DNS sends it to now
``GET /v1/metrics``        per client group: DNS answers, HTTP answers, 5xx, live p95
``GET /v1/metrics/stream`` Server-Sent Events: ``metrics``, ``change``, ``event``, ``decision``
``POST /v1/events``        any timeline event without ``at`` (as ``edgesim dns serve``)
``POST /v1/fail``          ``{"target": "region:us-east-1"}`` (regions, PoPs, zones, endpoints,
                           hubs, ``link:a-b``)
``POST /v1/recover``       ``{"target": …}``
``POST /v1/weight``        ``{"record": …, "set": …, "weight": 0-255}``
``POST /v1/health``        ``{"check": …, "healthy": true|false|"auto"}``
``POST /v1/invalidate``    ``{"distribution": …, "paths": ["/img/*"]}``: clears the live caches
=========================  ==================================================================

Answers: 401 without a valid token (the ``Bearer`` scheme is case-insensitive, RFC 7235
§2.1), 400 for malformed JSON (nested deeper than :data:`MAX_JSON_DEPTH` included) or a
malformed event, 404 when the event names something that does not exist, 413 above 64 KiB,
421 when the ``Host`` header names something other than this server (a DNS-rebinding page:
only ``localhost`` and IP literals are accepted, with the listening port when the API listens
on loopback). A refused call changes nothing (each call is one event, validated completely
before it is applied).

Bounds: at most :data:`MAX_SUBSCRIBERS` event streams (a new one ends the oldest), each with
a queue of at most 1,000 messages and a write that must complete within
:data:`STREAM_WRITE_TIMEOUT_S` (docs/live-stack.md, "Bounds and idle timeouts").
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import importlib.resources
import ipaddress
import json
import re
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from aiohttp import web

if TYPE_CHECKING:
    from edgesim.errors import Problem
    from edgesim.live.stack import Stack

MAX_BODY: Final = 64 * 1024
MAX_JSON_DEPTH: Final = 32
"""Nesting levels a request body may have (events are a few levels deep)."""
MAX_SUBSCRIBERS: Final = 32
"""Event streams open at once; a new one ends the oldest."""
STREAM_WRITE_TIMEOUT_S: Final = 30.0
"""A stream whose client does not take a message within this time is closed."""
KEEPALIVE_S: Final = 15.0
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
NOT_FOUND_PREFIXES: Final = (
    "nothing named",
    "no health check named",
    "no weighted",
    "no record set",
    "no distribution",
)
"""Problems that mean "no such target" (→ 404 rather than 400)."""
STATIC_TYPES: Final = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


def _dumps(obj: Any) -> str:
    return json.dumps(obj, default=str)


def json_depth(raw: bytes) -> int:
    """How deeply the JSON text ``raw`` nests arrays and objects (strings skipped); cheap
    when it has few brackets. Used to refuse a body before the parser recurses into it."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH:
        return raw.count(b"[") + raw.count(b"{")
    depth = deepest = 0
    for ch in _JSON_STRING.sub(b'""', raw):
        if ch in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif ch in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def host_allowed(host: str | None, local: tuple[str, int] | None) -> bool:
    """Whether a request's ``Host`` header may reach this API (a DNS-rebinding defence).

    A rebinding page reaches the API under a DNS name of its own, so only ``localhost`` and
    IP literals are accepted. When the API listens on loopback, the address must be loopback
    too and the port the listening one (no port: 80); on another address (a container behind
    a port mapping) the port is not checked. A request without ``Host`` (HTTP/1.0) is
    accepted: browsers always send one."""
    if host is None:
        return True
    try:
        parts = urlsplit("//" + host.strip())
        name, port = parts.hostname, parts.port
    except ValueError:
        return False
    if not name or parts.path or parts.username is not None:
        return False
    loopback_only = local is None or _loopback(local[0])
    if name != "localhost":
        try:
            addr = ipaddress.ip_address(name)
        except ValueError:
            return False
        if loopback_only and not addr.is_loopback:
            return False
    return not (loopback_only and local is not None and (port or 80) != local[1])


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return host == "localhost"


def url_problem(url: str) -> str | None:
    """What is wrong with a control API base URL (``ctl --url``), or ``None``."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        return str(exc)
    if parts.scheme not in ("http", "https"):
        return "not an http:// URL"
    if not parts.hostname:
        return "no host name"
    return None


_POP_SUFFIX = re.compile(r"-C\d+$")


def canonical_target(stack: Stack, target: str) -> str:
    """``pop:AMS50-C1`` (the ``X-Amz-Cf-Pop`` name the banner and the edges show) →
    ``pop:AMS50`` (the node the timeline names); anything else unchanged."""
    kind, sep, name = target.partition(":")
    if kind != "pop" or not sep or not _POP_SUFFIX.search(name):
        return target
    keys = {str(k) for k in stack.ctx.node_keys}
    if target in keys:
        return target
    bare = "pop:" + _POP_SUFFIX.sub("", name)
    return bare if bare in keys else target


def try_line(stack: Stack, host: str, group: int) -> str | None:
    """A command reaching what DNS gives client group ``group`` for ``host``, from the
    group's source address: curl to a PoP or endpoint (on its port), nc to an accelerator's
    TCP listener (its backends in the stack are echo servers); ``None`` when there is none."""
    from edgesim.dnsserver.authority import group_address

    addrs = stack.resolve(host, group)
    if not addrs or stack.config.public:
        return None
    addr, src = addrs[0], group_address(group)
    bound = list(getattr(stack.ga, "bound", None) or [])
    listeners = [(b, port) for b, h, port in bound if h == addr]
    if listeners:
        tcp = [(b, port) for b, port in listeners if b.protocol == "TCP"]
        if not tcp:
            return None
        b, port = tcp[0]
        return (
            f"printf 'hello\\n' | nc -s {src} -w 2 {addr} {port}"
            f"   # accelerator {b.accelerator}, listener port {b.port}"
        )
    port = stack.edge_port
    label = stack.label(addr)
    if label.startswith("endpoint:"):
        got = stack.endpoint_addr.get(label.split(":", 1)[1])
        port = got[1] if got is not None else port
    return f"curl -si --interface {src} -H 'Host: {host}' http://{addr}:{port}/index.html"


def _error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status, dumps=_dumps)


def _problems_response(problems: list[Problem]) -> web.Response:
    listed = [{"path": p.path, "message": p.message, "expected": p.expected} for p in problems]
    missing = any(p.message.startswith(NOT_FOUND_PREFIXES) for p in problems)
    if missing:
        return _error(404, problems[0].message, problems=listed)
    return _error(400, "event refused: " + problems[0].message, problems=listed)


@functools.cache
def land_outlines(step: float = 0.5) -> list[list[list[float]]]:
    """Natural Earth 1:110m rings (the package's own copy), rounded to ``step`` degrees with
    repeated points dropped: about a third of the points, plenty for a dashboard map."""
    text = importlib.resources.files("edgesim.data").joinpath("land_110m.json").read_text("utf-8")
    out: list[list[list[float]]] = []
    for ring in json.loads(text)["rings"]:
        pts: list[list[float]] = []
        for x, y in ring:
            p = [round(float(x) / step) * step, round(float(y) / step) * step]
            if not pts or pts[-1] != p:
                pts.append(p)
        if len(pts) >= 3:
            out.append(pts)
    return out


def _static(name: str) -> bytes | None:
    if "/" in name or "\\" in name or name.startswith("."):
        return None
    try:
        f = importlib.resources.files("edgesim.live.dashboard").joinpath(name)
        return f.read_bytes() if f.is_file() else None
    except (OSError, ModuleNotFoundError):
        return None


def control_app(stack: Stack) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    token = stack.token.encode()
    streams: list[asyncio.Queue[tuple[str, Any]]] = []
    """Open event streams, oldest first (each is also in ``stack.subscribers``)."""

    def authorised(request: web.Request) -> bool:
        scheme, _, given = request.headers.get("Authorization", "").strip().partition(" ")
        given = given.strip() if scheme.lower() == "bearer" else ""  # RFC 7235 §2.1
        return bool(given) and hmac.compare_digest(given.encode(), token)

    async def body_of(request: web.Request) -> tuple[Any, web.Response | None]:
        if not authorised(request):
            resp = _error(401, "a valid bearer token is required (Authorization: Bearer …)")
            resp.headers["WWW-Authenticate"] = 'Bearer realm="edgesim"'
            return None, resp
        try:
            raw = await request.read()
            if json_depth(raw) > MAX_JSON_DEPTH:
                return None, _error(400, f"the body nests deeper than {MAX_JSON_DEPTH} levels")
            return json.loads(raw.decode("utf-8")), None
        except web.HTTPRequestEntityTooLarge:
            return None, _error(413, f"the body is over {MAX_BODY} bytes")
        except (ValueError, UnicodeDecodeError, RecursionError):
            return None, _error(400, "the body is not JSON")

    def apply(event: dict[str, Any]) -> web.Response:
        if stack.driver is None:
            return _error(503, "the stack is not running")
        problems = stack.driver.control(event)
        if problems:
            return _problems_response(problems)
        return web.json_response({"applied": event, "state": stack.state()}, dumps=_dumps)

    def field(body: Any, name: str, kind: type | tuple[type, ...]) -> Any:
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        if name not in body:
            raise ValueError(f"'{name}' is missing")
        v = body[name]
        if not isinstance(v, kind) or (isinstance(v, bool) and kind is int):
            raise ValueError(f"'{name}' has the wrong type")
        return v

    # -- reading ------------------------------------------------------------------------
    async def index(_r: web.Request) -> web.Response:
        return await static_file(_r, "index.html")

    async def static(request: web.Request) -> web.Response:
        return await static_file(request, request.match_info["name"])

    async def static_file(_r: web.Request, name: str) -> web.Response:
        data = _static(name)
        if data is None:
            return _error(404, "no such file")
        ext = name[name.rfind(".") :]
        return web.Response(
            body=data,
            content_type=STATIC_TYPES.get(ext, "application/octet-stream").split(";")[0],
            charset="utf-8" if "charset" in STATIC_TYPES.get(ext, "") else None,
            headers=SECURITY_HEADERS,
        )

    async def state(_r: web.Request) -> web.Response:
        return web.json_response(stack.state(), dumps=_dumps)

    async def topology(_r: web.Request) -> web.Response:
        return web.json_response(stack.topology(), dumps=_dumps)

    async def land(_r: web.Request) -> web.Response:
        return web.json_response(
            {"rings": land_outlines()}, headers={"Cache-Control": "max-age=86400"}
        )

    async def routes(_r: web.Request) -> web.Response:
        return web.json_response(stack.routes(), dumps=_dumps)

    async def metrics(_r: web.Request) -> web.Response:
        return web.json_response(stack.metrics.snapshot(), dumps=_dumps)

    async def prometheus(_r: web.Request) -> web.Response:
        """Prometheus' text format (read-only, like ``/v1/state``)."""
        prom = stack.metrics.prom
        if prom is None:
            return _error(404, "no Prometheus metrics in this stack")
        body, ctype = prom.exposition()
        return web.Response(body=body, headers={"Content-Type": ctype})

    async def stream(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await resp.prepare(request)
        q: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        while len(streams) >= MAX_SUBSCRIBERS:  # the oldest stream makes room
            old = streams.pop(0)
            stack.subscribers.discard(old)
            while not old.empty():
                old.get_nowait()
            old.put_nowait(("stop", "too many streams: this one was the oldest"))
        streams.append(q)
        stack.subscribers.add(q)

        async def send(chunk: str) -> None:
            await asyncio.wait_for(resp.write(chunk.encode()), STREAM_WRITE_TIMEOUT_S)

        try:
            await send(f"event: hello\ndata: {_dumps({'version': stack.version})}\n\n")
            await send(f"event: metrics\ndata: {_dumps(stack.metrics.snapshot())}\n\n")
            while True:
                try:
                    kind, data = await asyncio.wait_for(q.get(), KEEPALIVE_S)
                except TimeoutError:
                    await send(": keep-alive\n\n")
                    continue
                if kind == "stop":
                    if data is not None:
                        await send(f"event: bye\ndata: {_dumps({'reason': data})}\n\n")
                    break
                await send(f"event: {kind}\ndata: {_dumps(data)}\n\n")
        except (ConnectionError, TimeoutError, asyncio.CancelledError):
            pass
        finally:
            stack.subscribers.discard(q)
            if q in streams:
                streams.remove(q)
        return resp

    # -- changing -----------------------------------------------------------------------
    async def events(request: web.Request) -> web.Response:
        body, err = await body_of(request)
        if err is not None:
            return err
        if not isinstance(body, dict):
            return _error(400, "an event is a JSON object like a timeline entry, without 'at'")
        for key in ("fail", "recover"):
            if isinstance(body.get(key), str):
                body[key] = canonical_target(stack, body[key])
        return apply(body)

    def simple(action: str) -> Any:
        async def handler(request: web.Request) -> web.Response:
            body, err = await body_of(request)
            if err is not None:
                return err
            try:
                target = canonical_target(stack, field(body, "target", str))
            except ValueError as exc:
                return _error(400, str(exc), expected='{"target": "region:us-east-1"}')
            return apply({action: target, "note": f"control API: {action} {target}"})

        return handler

    async def weight(request: web.Request) -> web.Response:
        body, err = await body_of(request)
        if err is not None:
            return err
        try:
            ev = {
                "record": field(body, "record", str),
                "set": field(body, "set", str),
                "weight": field(body, "weight", int),
            }
            if "type" in body:
                ev["type"] = field(body, "type", str)
        except ValueError as exc:
            return _error(400, str(exc), expected='{"record": NAME, "set": ID, "weight": 0-255}')
        return apply({"set_weight": ev})

    async def health(request: web.Request) -> web.Response:
        body, err = await body_of(request)
        if err is not None:
            return err
        try:
            check = field(body, "check", str)
            healthy = field(body, "healthy", (bool, str, type(None)))
        except ValueError as exc:
            return _error(400, str(exc), expected='{"check": NAME, "healthy": true|false|"auto"}')
        if isinstance(healthy, str):
            if healthy.lower() not in ("auto", "true", "false"):
                return _error(400, "'healthy' is true, false or \"auto\"")
            healthy = None if healthy.lower() == "auto" else healthy.lower() == "true"
        return apply({"set_health": {"check": check, "healthy": healthy}})

    async def invalidate(request: web.Request) -> web.Response:
        body, err = await body_of(request)
        if err is not None:
            return err
        try:
            dist = field(body, "distribution", str)
            paths = field(body, "paths", list)
        except ValueError as exc:
            return _error(400, str(exc), expected='{"distribution": NAME, "paths": ["/a/*"]}')
        if not paths or not all(isinstance(p, str) and p.startswith("/") for p in paths):
            return _error(400, "paths are a non-empty list of paths starting with '/'")
        if len(paths) > 3000:
            return _error(400, "at most 3000 paths per invalidation")
        edge = stack.edge
        names = [d.name for d in stack.plan.dists] if stack.plan is not None else []
        if edge is None or dist not in names:
            return _error(
                404, f"no distribution '{dist}' at the live edges", expected=", ".join(names)
            )
        removed = sum(e.invalidate(dist, list(paths)) for e in stack.edges)
        ev = {"invalidate": {"distribution": dist, "paths": paths, "removed": removed}}
        stack.ctx.events.append({"at_s": stack.driver.clock.now_ns() / 1e9, **ev})
        stack._changed()
        return web.json_response({"removed": removed, "distribution": dist, "paths": paths})

    @web.middleware
    async def errors(request: web.Request, handler: Any) -> web.StreamResponse:
        local = request.transport.get_extra_info("sockname") if request.transport else None
        if not host_allowed(request.headers.get("Host"), local[:2] if local else None):
            return _error(
                421,
                "this API answers only to localhost or its IP address (Host header refused)",
            )
        try:
            resp: web.StreamResponse = await handler(request)
            return resp
        except web.HTTPMethodNotAllowed as exc:
            return _error(
                405, f"{request.method} is not allowed here", allowed=sorted(exc.allowed_methods)
            )
        except web.HTTPNotFound:
            return _error(404, f"no such endpoint: {request.path}")

    app.middlewares.append(errors)
    r = app.router
    r.add_get("/", index)
    r.add_get("/static/{name}", static)
    r.add_get("/v1/state", state)
    r.add_get("/v1/topology", topology)
    r.add_get("/v1/land", land)
    r.add_get("/v1/routes", routes)
    r.add_get("/v1/metrics", metrics)
    r.add_get("/metrics", prometheus)
    r.add_get("/v1/metrics/stream", stream)
    r.add_post("/v1/events", events)
    r.add_post("/v1/fail", simple("fail"))
    r.add_post("/v1/recover", simple("recover"))
    r.add_post("/v1/weight", weight)
    r.add_post("/v1/health", health)
    r.add_post("/v1/invalidate", invalidate)
    return app
