"""Lambda@Edge: the user's own handlers in worker processes, CloudFront's events and limits."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from edgesim.services.cloudfront.lambda_edge import check_result, flat_headers, limits, make_event
from edgesim.services.cloudfront.live.lambda_runner import EdgeFunction, HandlerError

HANDLERS = """
import os, time

def rewrite(event, context):
    request = event["Records"][0]["cf"]["request"]
    headers = request["headers"]
    lang = headers.get("accept-language", [{"value": "en"}])[0]["value"][:2]
    request["uri"] = "/" + lang + request["uri"]
    headers["x-env"] = [{"key": "X-Env", "value": str(os.getpid())}]
    print("rewrote", request["uri"])  # goes to the log, not to CloudFront
    return request

def block(event, context):
    return {"status": "403", "statusDescription": "Forbidden", "body": "no"}

def add_header(event, context):
    response = event["Records"][0]["cf"]["response"]
    response["headers"]["x-frame-options"] = [{"key": "X-Frame-Options", "value": "DENY"}]
    return response

def boom(event, context):
    raise RuntimeError("kaput")

def forever(event, context):
    while True:
        pass

def hog(event, context):
    blobs = []
    while True:
        blobs.append(bytearray(50 * 1024 * 1024))

def bad_status(event, context):
    return {"status": "999"}

def remaining(event, context):
    request = event["Records"][0]["cf"]["request"]
    left = str(context.get_remaining_time_in_millis())
    request["headers"]["x-left"] = [{"key": "X-Left", "value": left}]
    return request
"""


@pytest.fixture
def handlers(tmp_path: Path) -> Path:
    p = tmp_path / "edge.py"
    p.write_text(HANDLERS)
    return p


@pytest.fixture
def fns() -> Iterator[list[EdgeFunction]]:
    made: list[EdgeFunction] = []
    yield made
    for f in made:
        f.close()


def _vr(**kw: object) -> dict[str, object]:
    return make_event("viewer-request", method="GET", uri="/index.html", **kw)  # type: ignore[arg-type]


def test_rewrite_runs_the_users_code_warm_after_cold(
    handlers: Path, fns: list[EdgeFunction]
) -> None:
    f = EdgeFunction(handlers, "rewrite", "origin-request")
    fns.append(f)
    first = f.invoke(_vr(headers={"Accept-Language": "fr-FR"}))
    assert first.outcome.kind == "request"
    assert first.outcome.value["uri"] == "/fr/index.html"
    assert first.cold
    assert first.init_ms > 0
    second = f.invoke(_vr())
    assert not second.cold  # the same environment
    assert second.outcome.value["uri"] == "/en/index.html"
    pid1 = flat_headers(first.outcome.value["headers"])["X-Env"]
    assert flat_headers(second.outcome.value["headers"])["X-Env"] == pid1
    assert f.cold_starts == 1


def test_generated_response_and_response_trigger(handlers: Path, fns: list[EdgeFunction]) -> None:
    blk = EdgeFunction(handlers, "block", "viewer-request")
    fns.append(blk)
    r = blk.invoke(_vr())
    assert (r.outcome.kind, r.outcome.status) == ("response", 403)
    hdr = EdgeFunction(handlers, "add_header", "viewer-response")
    fns.append(hdr)
    ev = make_event("viewer-response", method="GET", uri="/", status=200)
    r = hdr.invoke(ev)
    assert r.outcome.kind == "response"
    assert flat_headers(r.outcome.value["headers"]) == {"X-Frame-Options": "DENY"}


def test_failures_are_503_or_502(handlers: Path, fns: list[EdgeFunction]) -> None:
    boom = EdgeFunction(handlers, "boom", "viewer-request")
    fns.append(boom)
    r = boom.invoke(_vr())
    assert (r.outcome.status, r.outcome.result_type) == (503, "LambdaExecutionError")
    assert "kaput" in r.outcome.error
    bad = EdgeFunction(handlers, "bad_status", "viewer-request")
    fns.append(bad)
    r = bad.invoke(_vr())
    assert (r.outcome.status, r.outcome.result_type) == (502, "LambdaValidationError")


def test_an_endless_handler_is_stopped_at_its_timeout(
    handlers: Path, fns: list[EdgeFunction]
) -> None:
    f = EdgeFunction(handlers, "forever", "viewer-request", timeout_s=0.5)
    fns.append(f)
    r = f.invoke(_vr())
    assert r.outcome.status == 503
    assert "timed out" in r.outcome.error
    assert f.proc is None  # the environment was thrown away
    assert f.invoke(_vr()).cold  # the next call starts a new one


def test_memory_is_capped(handlers: Path, fns: list[EdgeFunction]) -> None:
    f = EdgeFunction(handlers, "hog", "viewer-request")  # 128 MB at viewer triggers
    fns.append(f)
    r = f.invoke(_vr())
    assert r.outcome.status == 503
    assert "MemoryError" in r.outcome.error or "memory" in r.outcome.error


def test_context_and_limits(handlers: Path, fns: list[EdgeFunction]) -> None:
    assert limits("viewer-request").timeout_s == 5
    assert limits("origin-response", 2048).memory_mb == 2048
    assert limits("origin-response", 99999).memory_mb == 10_240
    f = EdgeFunction(handlers, "remaining", "origin-request", timeout_s=60)  # capped at 30 s
    fns.append(f)
    assert f.timeout_s == 30
    left = int(flat_headers(f.invoke(_vr()).outcome.value["headers"])["X-Left"])
    assert 0 < left <= 30_000


def test_bad_handlers_are_refused(handlers: Path, tmp_path: Path) -> None:
    with pytest.raises(HandlerError, match="does not load"):
        EdgeFunction(handlers, "nope", "viewer-request").invoke(_vr())
    broken = tmp_path / "broken.py"
    broken.write_text("def handler(event, context)\n    return event\n")
    with pytest.raises(HandlerError, match="SyntaxError"):
        EdgeFunction(broken, "handler", "viewer-request").invoke(_vr())
    with pytest.raises(HandlerError, match="not found"):
        EdgeFunction(tmp_path / "missing.py", "handler", "viewer-request")
    ruby = tmp_path / "x.rb"
    ruby.write_text("")
    with pytest.raises(HandlerError, match=r"\.py files"):
        EdgeFunction(ruby, "x", "viewer-request")


def test_check_result_rules() -> None:
    assert check_result("viewer-response", {"uri": "/"}).kind == "invalid"
    big = {"status": "200", "body": "x" * (41 * 1024)}
    assert check_result("viewer-request", big).kind == "invalid"  # 40 KB at viewer triggers
    assert check_result("origin-request", big).kind == "response"  # 1 MB at origin triggers
    assert check_result("origin-request", {"uri": "nope"}).kind == "invalid"
    assert check_result("origin-request", [1]).kind == "invalid"


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js handlers need node")
def test_node_handler(tmp_path: Path, fns: list[EdgeFunction]) -> None:
    js = tmp_path / "edge.js"
    js.write_text(
        "exports.handler = async (event) => {"
        " const r = event.Records[0].cf.request; r.uri = '/js' + r.uri; return r; };"
    )
    f = EdgeFunction(js, "handler", "viewer-request")
    fns.append(f)
    r = f.invoke(_vr())
    assert r.outcome.value["uri"] == "/js/index.html"
