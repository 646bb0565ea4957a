"""CloudFront Functions: the user's JavaScript with CloudFront's event, helpers and limits."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgesim.services.cloudfront.functions import (
    MAX_CODE_BYTES,
    CloudFrontFunction,
    FunctionError,
    viewer_event,
)

AB = """
function handler(event) {
  var req = event.request;
  if (req.uri.endsWith('/')) { req.uri += 'index.html'; }
  var ip = event.viewer.ip;
  var ab = req.cookies['ab'] ? req.cookies['ab'].value : (ip.endsWith('1') ? 'a' : 'b');
  req.uri = '/' + ab + req.uri;
  req.headers['x-ab'] = {value: ab};
  return req;
}
"""


def _ev(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {"method": "GET", "uri": "/", "viewer_ip": "203.0.113.1"}
    base.update(kw)
    return viewer_event("viewer-request", **base)  # type: ignore[arg-type]


def test_rewrite_and_header() -> None:
    f = CloudFrontFunction("ab", AB)
    r = f.run(_ev())
    assert r.outcome == "request"
    assert r.value["uri"] == "/a/index.html"
    assert r.value["headers"]["x-ab"] == {"value": "a"}
    assert r.status is None
    r = f.run(_ev(cookies={"ab": "b"}, uri="/shop/"))
    assert r.value["uri"] == "/b/shop/index.html"
    assert r.elapsed_ms >= 0


def test_generated_response_redirect() -> None:
    code = """
    function handler(event) {
      if (event.request.headers['host'] && event.request.headers['host'].value === 'old.example') {
        return {statusCode: 301, statusDescription: 'Moved Permanently',
                headers: {location: {value: 'https://new.example' + event.request.uri}}};
      }
      return event.request;
    }"""
    f = CloudFrontFunction("redir", code)
    r = f.run(_ev(headers={"Host": "old.example"}, uri="/x"))
    assert (r.outcome, r.status, r.result_type) == ("response", 301, "FunctionGeneratedResponse")
    assert r.value["headers"]["location"]["value"] == "https://new.example/x"
    assert f.run(_ev(headers={"Host": "new.example"})).outcome == "request"


def test_helpers_crypto_and_querystring() -> None:
    code = """
    var crypto = require('crypto');
    var qs = require('querystring');
    function handler(event) {
      var r = event.request;
      r.headers['x-md5'] = {value: crypto.createHash('md5').update(r.uri).digest('hex')};
      r.headers['x-hmac'] = {value: crypto.createHmac('sha256', 'k').update('a').digest('base64')};
      r.headers['x-qs'] = {value: qs.stringify({b: '2', a: ['x y', '1']})};
      r.headers['x-parsed'] = {value: JSON.stringify(qs.parse('a=1&b=2&a=3'))};
      return r;
    }"""
    import base64
    import hmac

    r = CloudFrontFunction("h", code).run(_ev(uri="/img.png"))
    h = r.value["headers"]
    assert h["x-md5"]["value"] == hashlib.md5(b"/img.png").hexdigest()
    mac = base64.b64encode(hmac.new(b"k", b"a", "sha256").digest()).decode()
    assert h["x-hmac"]["value"] == mac
    assert h["x-qs"]["value"] == "b=2&a=x%20y&a=1"
    assert h["x-parsed"]["value"] == '{"a":["1","3"],"b":"2"}'


def test_no_network_or_unknown_modules() -> None:
    code = "function handler(e){ require('http'); return e.request; }"
    r = CloudFrontFunction("net", code).run(_ev())
    assert (r.outcome, r.status, r.result_type) == ("error", 503, "FunctionExecutionError")
    assert "Cannot find module 'http'" in r.error


def test_a_function_that_loops_forever_is_stopped_at_the_budget() -> None:
    f = CloudFrontFunction("loop", "function handler(e){ while (true) {} }", budget_ms=5)
    r = f.run(_ev())
    assert (r.outcome, r.status, r.result_type) == ("throttled", 503, "FunctionThrottledError")
    assert r.elapsed_ms < 5_000  # stopped, not hung (the bound is generous: a busy machine)
    ok = CloudFrontFunction("ok", AB)
    assert ok.run(_ev()).outcome == "request"
    assert f.run(_ev()).outcome == "throttled"  # the context was rebuilt and still works


def test_memory_is_bounded() -> None:
    code = "function handler(e){ var a=[]; while(true){ a.push('xxxxxxxxxxxxxxxx' + a.length); } }"
    r = CloudFrontFunction("mem", code, budget_ms=2000).run(_ev())
    assert (r.outcome, r.status) == ("error", 503)
    assert "memory" in r.error


def test_throwing_and_bad_return_values() -> None:
    r = CloudFrontFunction("t", "function handler(e){ throw new Error('boom'); }").run(_ev())
    assert r.outcome == "error"
    assert "boom" in r.error
    r = CloudFrontFunction("n", "function handler(e){ return 42; }").run(_ev())
    assert r.outcome == "error"
    resp = CloudFrontFunction(
        "vr", "function handler(e){ return e.request; }", "viewer-response"
    ).run(_ev())
    assert resp.outcome == "error"


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("function handler(e) { return e.request; ", "does not load"),
        ("var x = 1;", r"no handler\(event\) function"),
        ("// " + "x" * MAX_CODE_BYTES + "\nfunction handler(e){return e.request}", "allow 10,240"),
    ],
)
def test_bad_functions_are_refused_at_load_time(code: str, message: str) -> None:
    with pytest.raises(FunctionError, match=message):
        CloudFrontFunction("bad", code)


def test_unknown_event_type() -> None:
    with pytest.raises(FunctionError, match="event type"):
        CloudFrontFunction("bad", AB, "origin-request")  # type: ignore[arg-type]


_strings = st.text(st.characters(exclude_categories=["Cs"]), max_size=300)


@settings(max_examples=60, deadline=None)
@given(
    data=_strings,
    key=st.text(st.characters(exclude_categories=["Cs"]), max_size=100),
    alg=st.sampled_from(["md5", "sha1", "sha256"]),
)
def test_crypto_helpers_equal_hashlib(data: str, key: str, alg: str) -> None:
    import base64
    import hmac

    code = (
        "var c = require('crypto'); function handler(e) { var r = e.request;"
        " var d = r.headers['x-d'].value, k = r.headers['x-k'].value, a = r.headers['x-a'].value;"
        " r.headers['h'] = {value: c.createHash(a).update(d).digest('hex')};"
        " r.headers['b'] = {value: c.createHash(a).update(d).digest('base64')};"
        " r.headers['m'] = {value: c.createHmac(a, k).update(d).digest('hex')};"
        " return r; }"
    )
    r = CloudFrontFunction("c", code).run(_ev(headers={"x-d": data, "x-k": key, "x-a": alg}))
    assert r.outcome == "request", r.error
    h = r.value["headers"]
    raw = data.encode()
    assert h["h"]["value"] == hashlib.new(alg, raw).hexdigest()
    assert h["b"]["value"] == base64.b64encode(hashlib.new(alg, raw).digest()).decode()
    assert h["m"]["value"] == hmac.new(key.encode(), raw, alg).hexdigest()
