"""A live HTTP origin (EC2/ALB/S3-like) for the live CloudFront edge: ``edgesim origin serve``.

Every body is generated from the request path (:func:`body_bytes`), never read from disk, so a
cache in front can be checked byte for byte and no request can reach the file system. Per
content request, in arrival order: one draw decides an injected 503 (``error_rate``), one draw
the jitter; then the response is chosen (``/status/NNN``, conditional GET → 304, ``Range`` →
206/416, else 200), counted, held until ``arrival + latency + jitter`` by the shared
:class:`~edgesim.live.delay.Delayer`, and sent. ``/healthz`` and ``/_edgesim/stats`` are
answered at once and neither counted nor delayed. docs/live-origin.md describes it all.
"""

from __future__ import annotations

import email.utils
import functools
import hashlib
import json
import random
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from aiohttp import web

from edgesim.live.delay import get_delayer, now

KB = 1000
MIB = 1024 * 1024
BLOCK = 64 * 1024
"""Bodies are made of 64 KiB blocks, each a SHAKE-256 stream of (path, block number)."""
STREAM_ABOVE = MIB
"""Bodies larger than this are streamed in blocks instead of built whole."""
DEFAULT_LAST_MODIFIED = 1_704_067_200.0
"""2024-01-01T00:00:00Z: every object's Last-Modified unless configured."""
OTHER_PATHS = "(other)"
"""The stats key for paths beyond ``max_tracked_paths``."""

_TOKEN_RE = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_STATUS_RE = re.compile(r"^/status/([0-9]{3})$")
_SUFFIX_RANGE_RE = re.compile(r"^-([0-9]+)$")
_RANGE_RE = re.compile(r"^([0-9]+)-([0-9]*)$")


@dataclass(frozen=True)
class OriginConfig:
    """What the origin does; every field has a default that makes a plain 10 KB origin."""

    host: str = "127.0.0.1"
    port: int = 8081
    """0 picks a free port (see :func:`start_origin`)."""
    body_size: int = 10 * KB
    """Bytes per object unless the query says ``?size=N``."""
    max_body_size: int = 64 * MIB
    """``?size=N`` above this is served at this size."""
    headers: tuple[tuple[str, str], ...] = ()
    """Added to every response except injected errors and the control endpoints."""
    latency_s: float = 0.0
    """Fixed delay before each content response, from the request's arrival."""
    jitter_s: float = 0.0
    """Extra delay drawn uniformly from [0, jitter_s] per request (seeded)."""
    error_rate: float = 0.0
    """Share of content requests answered 503 (seeded, so the sequence repeats)."""
    seed: int = 0
    status_paths: bool = True
    """Answer ``/status/NNN`` with status NNN (200-599)."""
    last_modified: float = DEFAULT_LAST_MODIFIED
    """Unix time of every object's Last-Modified."""
    max_tracked_paths: int = 10_000
    """Distinct paths counted separately in the stats; later ones go under ``(other)``."""

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port {self.port} is not between 0 and 65535")
        if self.body_size < 0 or self.max_body_size < 0:
            raise ValueError("body sizes cannot be negative")
        if self.body_size > self.max_body_size:
            raise ValueError(
                f"body size {self.body_size} is above the maximum {self.max_body_size}"
            )
        if self.latency_s < 0 or self.jitter_s < 0:
            raise ValueError("latency and jitter cannot be negative")
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError(f"error rate {self.error_rate} is not between 0 and 1")
        for name, value in self.headers:
            check_header(name, value)


def check_header(name: str, value: str) -> None:
    """Raise ValueError unless ``name: value`` is a valid response header."""
    if not _TOKEN_RE.match(name):
        raise ValueError(f"{name!r} is not a valid header name")
    if any(c in value for c in "\r\n\0"):
        raise ValueError(f"the value of header {name!r} contains a line break or NUL")


def parse_header(text: str) -> tuple[str, str]:
    """``"Cache-Control: max-age=60"`` → ``("Cache-Control", "max-age=60")``."""
    name, sep, value = text.partition(":")
    if not sep:
        raise ValueError(f"cannot read {text!r} as a header; expected 'Name: value'")
    name, value = name.strip(), value.strip()
    check_header(name, value)
    return name, value


# ---- bodies ----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _block(path: str, index: int) -> bytes:
    seed = path.encode("utf-8", "surrogatepass") + b"\0" + str(index).encode()
    return hashlib.shake_256(seed).digest(BLOCK)


def body_slice(path: str, start: int, end: int) -> bytes:
    """Bytes ``[start, end)`` of the endless deterministic body for ``path``."""
    if end <= start:
        return b""
    first, last = start // BLOCK, (end - 1) // BLOCK
    data = b"".join(_block(path, k) for k in range(first, last + 1))
    off = first * BLOCK
    return data[start - off : end - off]


def body_bytes(path: str, size: int) -> bytes:
    """The body the origin sends for ``path`` at ``size`` bytes (a prefix of a longer one)."""
    return body_slice(path, 0, size)


def etag_for(path: str, size: int) -> str:
    """The strong ETag (quotes included) of ``path`` at ``size`` bytes."""
    h = hashlib.blake2b(
        path.encode("utf-8", "surrogatepass") + b"\0" + str(size).encode(), digest_size=8
    )
    return f'"{h.hexdigest()}"'


# ---- request semantics -----------------------------------------------------------------------


class UnsatisfiableRangeError(Exception):
    """A syntactically valid byte range that starts beyond the body (416)."""


def parse_range(value: str, size: int) -> tuple[int, int] | None:
    """One ``bytes=`` range → ``(start, end)`` (end exclusive), or None to serve the whole body.

    Several ranges, another unit or invalid syntax give None (RFC 9110 lets a server ignore
    Range); a valid single range that cannot be met raises :class:`UnsatisfiableRangeError`.
    """
    unit, sep, spec = value.partition("=")
    if not sep or unit.strip().lower() != "bytes" or "," in spec:
        return None
    spec = spec.strip()
    if m := _SUFFIX_RANGE_RE.match(spec):
        n = int(m.group(1))
        if n == 0 or size == 0:
            raise UnsatisfiableRangeError
        return max(0, size - n), size
    m = _RANGE_RE.match(spec)
    if not m:
        return None
    first = int(m.group(1))
    last = int(m.group(2)) if m.group(2) else None
    if last is not None and last < first:
        return None
    if first >= size:
        raise UnsatisfiableRangeError
    end = size if last is None else min(last + 1, size)
    return first, end


def etag_matches(header_values: Iterable[str], etag: str, *, weak: bool) -> bool:
    """Whether an If-None-Match (``weak=True``) or If-Range/If-Match list matches ``etag``."""
    for value in header_values:
        for tag in value.split(","):
            tag = tag.strip()
            if tag == "*":
                return True
            if weak:
                tag = tag.removeprefix("W/")
            elif tag.startswith("W/"):
                continue
            if tag == etag:
                return True
    return False


def _http_date(ts: float) -> str:
    return email.utils.formatdate(ts, usegmt=True)


def _parse_http_date(text: str) -> float | None:
    try:
        dt = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if dt.tzinfo is None:
        return None
    return dt.timestamp()


# ---- state -----------------------------------------------------------------------------------


@dataclass
class OriginStats:
    """Content requests that reached the origin, by path and status."""

    max_paths: int = 10_000
    total: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    by_path: dict[str, Counter[int]] = field(default_factory=dict)

    def count(self, path: str, status: int) -> None:
        self.total += 1
        self.by_status[status] += 1
        c = self.by_path.get(path)
        if c is None:
            if len(self.by_path) >= self.max_paths:
                path = OTHER_PATHS
                c = self.by_path.get(path)
            if c is None:
                c = self.by_path[path] = Counter()
        c[status] += 1

    def reset(self) -> None:
        self.total = 0
        self.by_status.clear()
        self.by_path.clear()

    def as_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
            "by_path": {
                p: {str(k): v for k, v in sorted(c.items())}
                for p, c in sorted(self.by_path.items())
            },
        }


class OriginState:
    """The running origin's configuration, random streams and counters."""

    def __init__(self, config: OriginConfig) -> None:
        self.config = config
        # Separate streams, so turning jitter on does not change which requests fail.
        self.error_rng = random.Random(f"errors:{config.seed}")
        self.jitter_rng = random.Random(f"jitter:{config.seed}")
        self.stats = OriginStats(max_paths=config.max_tracked_paths)
        self.last_modified_http = _http_date(config.last_modified)


STATE = web.AppKey("edgesim_origin", OriginState)


# ---- handlers --------------------------------------------------------------------------------


@dataclass
class _Plan:
    """A response decided before the delay."""

    status: int
    headers: dict[str, str]
    body: bytes | None = None
    """A ready body, or None to generate ``[start, end)`` of the path's body."""
    start: int = 0
    end: int = 0
    path: str = ""
    content_length: int | None = None


def _text(status: int, text: str, headers: dict[str, str] | None = None) -> _Plan:
    h = {"Content-Type": "text/plain; charset=utf-8"}
    h.update(headers or {})
    return _Plan(status, h, text.encode())


def _configured(config: OriginConfig) -> dict[str, str]:
    return dict(config.headers)


def _object_plan(request: web.Request, state: OriginState) -> _Plan:
    config = state.config
    path = request.path
    size = config.body_size
    if "size" in request.query:
        text = request.query["size"].strip()
        if not text.isdigit():
            return _text(400, f"size must be a whole number of bytes, got {text!r}\n")
        size = min(int(text), config.max_body_size)
    etag = etag_for(path, size)
    headers = {
        "Content-Type": "application/octet-stream",
        "ETag": etag,
        "Last-Modified": state.last_modified_http,
        "Accept-Ranges": "bytes",
    }
    headers.update(_configured(config))
    inm = request.headers.getall("If-None-Match", [])
    if inm:
        if etag_matches(inm, etag, weak=True):
            return _Plan(304, headers)
    elif "If-Modified-Since" in request.headers:
        ims = _parse_http_date(request.headers["If-Modified-Since"])
        if ims is not None and int(config.last_modified) <= ims:
            return _Plan(304, headers)
    range_header = request.headers.get("Range")
    if range_header is not None and request.method == "GET":
        if_range = request.headers.get("If-Range")
        if if_range is not None and not (
            etag_matches([if_range], etag, weak=False)
            if if_range.strip().startswith(('"', "W/"))
            else if_range.strip() == state.last_modified_http
        ):
            range_header = None
    if range_header is not None and request.method == "GET":
        try:
            rng = parse_range(range_header, size)
        except UnsatisfiableRangeError:
            h = {"Content-Range": f"bytes */{size}"}
            h.update(_configured(config))
            return _text(416, "range not satisfiable\n", h)
        if rng is not None:
            start, end = rng
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
            return _Plan(206, headers, None, start, end, path)
    return _Plan(200, headers, None, 0, size, path)


async def _echo_plan(request: web.Request, state: OriginState) -> _Plan:
    """Methods other than GET and HEAD: read and count the body, answer a JSON summary."""
    received = 0
    limit = state.config.max_body_size
    async for chunk in request.content.iter_any():
        received += len(chunk)
        if received > limit:
            return _text(413, f"request body above {limit} bytes\n")
    summary = {"method": request.method, "path": request.path, "received_bytes": received}
    headers = {"Content-Type": "application/json", "Cache-Control": "no-store"}
    return _Plan(200, headers, json.dumps(summary).encode() + b"\n")


def _status_plan(code: int, state: OriginState) -> _Plan:
    if not 200 <= code <= 599:
        return _text(400, f"status must be between 200 and 599, got {code}\n")
    headers = _configured(state.config)
    if 300 <= code < 400 and code != 304:
        headers["Location"] = "/"
    try:
        phrase = HTTPStatus(code).phrase
    except ValueError:
        phrase = "Status"
    if code in (204, 304):
        return _Plan(code, headers)
    return _text(code, f"{code} {phrase}\n", headers)


async def _control(request: web.Request, state: OriginState) -> web.StreamResponse | None:
    path = request.path
    if path == "/healthz":
        return web.Response(text="ok\n")
    if path == "/_edgesim/stats":
        if request.method in ("GET", "HEAD"):
            return web.json_response(state.stats.as_json(), headers={"Cache-Control": "no-store"})
        if request.method == "DELETE":
            state.stats.reset()
            return web.Response(status=204)
        return web.Response(status=405, headers={"Allow": "GET, HEAD, DELETE"})
    if path.startswith("/_edgesim/"):
        return web.Response(status=404, text="no such control endpoint\n")
    return None


async def _handle(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    control = await _control(request, state)
    if control is not None:
        return control
    arrival = now()
    config = state.config
    failed = config.error_rate > 0 and state.error_rng.random() < config.error_rate
    jitter = config.jitter_s * state.jitter_rng.random() if config.jitter_s > 0 else 0.0
    if failed:
        plan = _text(503, "503 Service Unavailable (injected)\n", {"Cache-Control": "no-store"})
    elif config.status_paths and (m := _STATUS_RE.match(request.path)):
        plan = _status_plan(int(m.group(1)), state)
    elif request.method in ("GET", "HEAD"):
        plan = _object_plan(request, state)
    else:
        plan = await _echo_plan(request, state)
    state.stats.count(request.path, plan.status)
    delay = config.latency_s + jitter
    if delay > 0:
        await get_delayer().until(arrival + delay)
    return await _send(request, plan)


async def _send(request: web.Request, plan: _Plan) -> web.StreamResponse:
    if plan.status == 304 or plan.status == 204:
        return web.Response(status=plan.status, headers=plan.headers)
    if plan.body is not None:
        return web.Response(status=plan.status, headers=plan.headers, body=plan.body)
    length = plan.end - plan.start
    if request.method == "HEAD":
        head = web.StreamResponse(status=plan.status, headers=plan.headers)
        head.content_length = length
        await head.prepare(request)
        await head.write_eof()
        return head
    if length <= STREAM_ABOVE:
        body = body_slice(plan.path, plan.start, plan.end)
        return web.Response(status=plan.status, headers=plan.headers, body=body)
    stream = web.StreamResponse(status=plan.status, headers=plan.headers)
    stream.content_length = length
    await stream.prepare(request)
    pos = plan.start
    while pos < plan.end:
        nxt = min(plan.end, (pos // BLOCK + 1) * BLOCK)
        await stream.write(body_slice(plan.path, pos, nxt))
        pos = nxt
    await stream.write_eof()
    return stream


def build_app(config: OriginConfig) -> web.Application:
    """The aiohttp application; ``app[STATE]`` holds the config and the counters."""
    app = web.Application(client_max_size=config.max_body_size)
    app[STATE] = OriginState(config)
    app.router.add_route("*", "/{tail:.*}", _handle)
    return app


async def start_origin(config: OriginConfig) -> tuple[web.AppRunner, str, int]:
    """Start serving on ``config.host:config.port``; returns the runner and the bound address.

    Stop it with ``await runner.cleanup()``.
    """
    runner = web.AppRunner(build_app(config), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port, backlog=4096, reuse_address=True)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    address = runner.addresses[0]
    return runner, str(address[0]), int(address[1])
