"""CloudFront Functions: the user's own JavaScript, run as CloudFront runs it.

A function is JavaScript with a ``handler(event)`` that CloudFront calls at the viewer
request or viewer response (AWS: "Introduction to CloudFront Functions", "CloudFront
Functions event structure", "JavaScript runtime features for CloudFront Functions",
"Helper methods for CloudFront Functions", "Quotas on CloudFront Functions"):

* The **event** has ``version``, ``context`` (``distributionDomainName``, ``distributionId``,
  ``eventType``, ``requestId``), ``viewer.ip``, the ``request`` (``method``, ``uri``,
  ``querystring``, ``headers``, ``cookies``: objects of ``{value}`` with lower-case header
  names) and, at the viewer response, the ``response`` (``statusCode``,
  ``statusDescription``, ``headers``, ``cookies``).
* A viewer-request handler returns the (possibly changed) **request**, which goes on to the
  cache, or a **response**, which CloudFront sends to the viewer at once (a redirect, a
  block): logged as ``FunctionGeneratedResponse``. A viewer-response handler returns the
  response.
* **Limits**: the code is at most 10 KB; a function has 2 MB of memory; there is no network
  or file system; a function that throws, returns something that is neither, or exceeds its
  compute budget makes CloudFront answer **503** (``FunctionExecutionError`` /
  ``FunctionThrottledError``).
* **Helper modules**: ``require('crypto')`` (``createHash`` / ``createHmac`` with ``md5``,
  ``sha1``, ``sha256``; ``digest('hex' | 'base64' | 'base64url')``) and
  ``require('querystring')`` (``parse``, ``stringify``, ``escape``, ``unescape``).

The engine is QuickJS (the ``quickjs`` package), chosen by measuring: a small A/B
viewer-request function costs about 80 µs a call through it against about 500 µs through
V8 (``mini-racer``) on the same machine, and QuickJS enforces a time and a memory limit per
context. Deviations (docs/cloudfront-http.md): QuickJS accepts ES2020 under runtime 1.0 too;
the compute budget is wall time (``budget_ms``, 5 ms by default — CloudFront publishes a
utilisation percentage, not a time, and QuickJS is slower than CloudFront's engine), and the
time a function took is what the viewer waits for.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any, Literal

import quickjs  # type: ignore[import-untyped]

MAX_CODE_BYTES = 10 * 1024
MAX_MEMORY_BYTES = 2 * 1024 * 1024
DEFAULT_BUDGET_MS = 5.0
EVENT_TYPES = ("viewer-request", "viewer-response")

EventType = Literal["viewer-request", "viewer-response"]

# require('crypto') and require('querystring') in plain JavaScript: QuickJS cannot call into
# Python while a time limit is set, so the hashes (MD5, SHA-1, SHA-256, HMAC) are JavaScript
# too; tests check them against hashlib.
_PRELUDE = r"""
function __utf8(s) {
  var out = [], i, c;
  s = String(s);
  for (i = 0; i < s.length; i++) {
    c = s.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      var d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) { c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00); i++; }
    }
    if (c < 0x80) { out.push(c); }
    else if (c < 0x800) { out.push(0xc0 | (c >> 6), 0x80 | (c & 63)); }
    else if (c < 0x10000) {
      out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    }
    else {
      out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    }
  }
  return out;
}
function __rotl(x, n) { return (x << n) | (x >>> (32 - n)); }
function __pad(bytes, little) {
  var m = bytes.slice(), bits = bytes.length * 8, i;
  m.push(0x80);
  while (m.length % 64 !== 56) { m.push(0); }
  var hi = Math.floor(bits / 0x100000000), lo = bits >>> 0;
  var len = [];
  for (i = 0; i < 4; i++) { len.push((lo >>> (8 * i)) & 255); }
  for (i = 0; i < 4; i++) { len.push((hi >>> (8 * i)) & 255); }
  if (!little) { len.reverse(); }
  return m.concat(len);
}
function __words(m, i, little) {
  var w = [], j;
  for (j = 0; j < 16; j++) {
    var k = i + 4 * j;
    w.push(little ? (m[k] | (m[k + 1] << 8) | (m[k + 2] << 16) | (m[k + 3] << 24))
                  : ((m[k] << 24) | (m[k + 1] << 16) | (m[k + 2] << 8) | m[k + 3]));
  }
  return w;
}
function __out(h, little) {
  var out = [], i, j;
  for (i = 0; i < h.length; i++) {
    for (j = 0; j < 4; j++) {
      out.push(little ? (h[i] >>> (8 * j)) & 255 : (h[i] >>> (24 - 8 * j)) & 255);
    }
  }
  return out;
}
var __MD5_S = [7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
  5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
  4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
  6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21];
var __MD5_K = [];
(function () {
  for (var i = 0; i < 64; i++) {
    __MD5_K.push(Math.floor(Math.abs(Math.sin(i + 1)) * 0x100000000) | 0);
  }
})();
function __md5(bytes) {
  var m = __pad(bytes, true), h = [0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476], i, j;
  for (i = 0; i < m.length; i += 64) {
    var w = __words(m, i, true), a = h[0], b = h[1], c = h[2], d = h[3];
    for (j = 0; j < 64; j++) {
      var f, g;
      if (j < 16) { f = (b & c) | (~b & d); g = j; }
      else if (j < 32) { f = (d & b) | (~d & c); g = (5 * j + 1) % 16; }
      else if (j < 48) { f = b ^ c ^ d; g = (3 * j + 5) % 16; }
      else { f = c ^ (b | ~d); g = (7 * j) % 16; }
      var t = d; d = c; c = b;
      b = (b + __rotl((a + f + __MD5_K[j] + w[g]) | 0, __MD5_S[j])) | 0;
      a = t;
    }
    h[0] = (h[0] + a) | 0; h[1] = (h[1] + b) | 0; h[2] = (h[2] + c) | 0; h[3] = (h[3] + d) | 0;
  }
  return __out(h, true);
}
function __sha1(bytes) {
  var m = __pad(bytes, false), i, j;
  var h = [0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476, 0xc3d2e1f0 | 0];
  for (i = 0; i < m.length; i += 64) {
    var w = __words(m, i, false);
    for (j = 16; j < 80; j++) { w[j] = __rotl(w[j - 3] ^ w[j - 8] ^ w[j - 14] ^ w[j - 16], 1); }
    var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (j = 0; j < 80; j++) {
      var f, k;
      if (j < 20) { f = (b & c) | (~b & d); k = 0x5a827999; }
      else if (j < 40) { f = b ^ c ^ d; k = 0x6ed9eba1; }
      else if (j < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8f1bbcdc | 0; }
      else { f = b ^ c ^ d; k = 0xca62c1d6 | 0; }
      var t = (__rotl(a, 5) + f + e + k + w[j]) | 0;
      e = d; d = c; c = __rotl(b, 30); b = a; a = t;
    }
    h[0] = (h[0] + a) | 0; h[1] = (h[1] + b) | 0; h[2] = (h[2] + c) | 0;
    h[3] = (h[3] + d) | 0; h[4] = (h[4] + e) | 0;
  }
  return __out(h, false);
}
var __SHA256_K = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2];
function __sha256(bytes) {
  var m = __pad(bytes, false), i, j;
  var h = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
           0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
  for (i = 0; i < 8; i++) { h[i] |= 0; }
  for (i = 0; i < m.length; i += 64) {
    var w = __words(m, i, false);
    for (j = 16; j < 64; j++) {
      var s0 = __rotl(w[j - 15], 25) ^ __rotl(w[j - 15], 14) ^ (w[j - 15] >>> 3);
      var s1 = __rotl(w[j - 2], 15) ^ __rotl(w[j - 2], 13) ^ (w[j - 2] >>> 10);
      w[j] = (w[j - 16] + s0 + w[j - 7] + s1) | 0;
    }
    var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (j = 0; j < 64; j++) {
      var S1 = __rotl(e, 26) ^ __rotl(e, 21) ^ __rotl(e, 7);
      var ch = (e & f) ^ (~e & g);
      var t1 = (hh + S1 + ch + (__SHA256_K[j] | 0) + w[j]) | 0;
      var S0 = __rotl(a, 30) ^ __rotl(a, 19) ^ __rotl(a, 10);
      var maj = (a & b) ^ (a & c) ^ (b & c);
      var t2 = (S0 + maj) | 0;
      hh = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    h[0] = (h[0] + a) | 0; h[1] = (h[1] + b) | 0; h[2] = (h[2] + c) | 0; h[3] = (h[3] + d) | 0;
    h[4] = (h[4] + e) | 0; h[5] = (h[5] + f) | 0; h[6] = (h[6] + g) | 0; h[7] = (h[7] + hh) | 0;
  }
  return __out(h, false);
}
var __HASHES = {md5: __md5, sha1: __sha1, sha256: __sha256};
function __hash(alg, bytes) {
  var f = __HASHES[alg];
  if (!f) { throw new Error('Digest method not supported: ' + alg); }
  return f(bytes);
}
function __hmac(alg, key, data) {
  var k = __utf8(key);
  if (k.length > 64) { k = __hash(alg, k); }
  while (k.length < 64) { k.push(0); }
  var ipad = k.map(function (x) { return x ^ 0x36; });
  var opad = k.map(function (x) { return x ^ 0x5c; });
  return __hash(alg, opad.concat(__hash(alg, ipad.concat(__utf8(data)))));
}
var __B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
function __encode(bytes, enc) {
  var i;
  if (enc === 'hex') {
    var s = '';
    for (i = 0; i < bytes.length; i++) { s += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16); }
    return s;
  }
  var out = '';
  for (i = 0; i < bytes.length; i += 3) {
    var n = (bytes[i] << 16) | ((bytes[i + 1] || 0) << 8) | (bytes[i + 2] || 0);
    out += __B64[(n >> 18) & 63] + __B64[(n >> 12) & 63];
    out += i + 1 < bytes.length ? __B64[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.length ? __B64[n & 63] : '=';
  }
  if (enc === 'base64url') {
    return out.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  return out;
}
var __modules = {
  crypto: {
    createHash: function (alg) {
      var data = '';
      return {
        update: function (s) { data += String(s); return this; },
        digest: function (enc) {
          return __encode(__hash(String(alg), __utf8(data)), String(enc || 'hex'));
        }
      };
    },
    createHmac: function (alg, key) {
      var data = '';
      return {
        update: function (s) { data += String(s); return this; },
        digest: function (enc) {
          return __encode(__hmac(String(alg), String(key), data), String(enc || 'hex'));
        }
      };
    }
  },
  querystring: {
    escape: function (s) { return encodeURIComponent(s); },
    unescape: function (s) { return decodeURIComponent(String(s).replace(/\+/g, ' ')); },
    parse: function (qs, sep, eq) {
      sep = sep || '&'; eq = eq || '=';
      var out = {};
      if (!qs) { return out; }
      String(qs).split(sep).forEach(function (part) {
        if (!part) { return; }
        var i = part.indexOf(eq);
        var k = __modules.querystring.unescape(i < 0 ? part : part.slice(0, i));
        var v = i < 0 ? '' : __modules.querystring.unescape(part.slice(i + eq.length));
        if (Object.prototype.hasOwnProperty.call(out, k)) {
          out[k] = [].concat(out[k], v);
        } else { out[k] = v; }
      });
      return out;
    },
    stringify: function (obj, sep, eq) {
      sep = sep || '&'; eq = eq || '=';
      return Object.keys(obj || {}).map(function (k) {
        var v = obj[k];
        var vs = Array.isArray(v) ? v : [v];
        return vs.map(function (x) {
          return encodeURIComponent(k) + eq + encodeURIComponent(x === undefined ? '' : x);
        }).join(sep);
      }).join(sep);
    }
  }
};
function require(name) {
  if (Object.prototype.hasOwnProperty.call(__modules, name)) { return __modules[name]; }
  throw new Error("Cannot find module '" + name + "'");
}
"""


class FunctionError(ValueError):
    """A function that cannot be loaded (size, syntax, no handler): a load-time error."""


@dataclass(frozen=True)
class FunctionResult:
    """What a call decided."""

    outcome: Literal["request", "response", "error", "throttled"]
    value: dict[str, Any]
    """The request or response the handler returned (empty on failure)."""
    elapsed_ms: float
    error: str = ""

    @property
    def status(self) -> int | None:
        """The viewer's status when the function answers or fails; None when it passes on."""
        if self.outcome == "response":
            return int(self.value.get("statusCode", 200))
        if self.outcome in ("error", "throttled"):
            return 503
        return None

    @property
    def result_type(self) -> str:
        """``x-edge-detailed-result-type`` when the function ended the request."""
        return {
            "response": "FunctionGeneratedResponse",
            "error": "FunctionExecutionError",
            "throttled": "FunctionThrottledError",
        }.get(self.outcome, "")


_LOCATION = re.compile(r"\(<input>:(\d+)(?::(\d+))?\)")


class CloudFrontFunction:
    """One function's code in its own QuickJS context (rebuilt after a failure, since an
    interrupted or out-of-memory context cannot be trusted)."""

    def __init__(
        self,
        name: str,
        code: str,
        event_type: EventType = "viewer-request",
        *,
        runtime: Literal["cloudfront-js-1.0", "cloudfront-js-2.0"] = "cloudfront-js-2.0",
        budget_ms: float = DEFAULT_BUDGET_MS,
    ) -> None:
        if event_type not in EVENT_TYPES:
            raise FunctionError(f"event type {event_type!r}: one of {', '.join(EVENT_TYPES)}")
        size = len(code.encode())
        if size > MAX_CODE_BYTES:
            raise FunctionError(
                f"the function is {size:,} bytes; CloudFront Functions allow {MAX_CODE_BYTES:,}"
            )
        self.name = name
        self.code = code
        self.event_type = event_type
        self.runtime = runtime
        self.budget_ms = budget_ms
        self._ctx = self._context()  # raises FunctionError for bad code
        self.calls = 0

    def _context(self) -> quickjs.Context:
        ctx = quickjs.Context()
        ctx.set_memory_limit(MAX_MEMORY_BYTES + 1024 * 1024)  # the prelude's share on top
        ctx.set_time_limit(max(self.budget_ms / 1000.0, 0.001))
        ctx.eval(_PRELUDE)
        try:
            ctx.eval(self.code)
            kind = ctx.eval("typeof handler")
        except quickjs.JSException as exc:
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else "error"
            m = _LOCATION.search(str(exc))
            where = f" (line {m.group(1)})" if m else ""
            raise FunctionError(f"the function does not load: {msg}{where}") from None
        if kind != "function":
            raise FunctionError("the function defines no handler(event) function")
        return ctx

    def run(self, event: dict[str, Any]) -> FunctionResult:
        """Call ``handler(event)``; the result and the wall time it took."""
        self.calls += 1
        payload = json.dumps(event, separators=(",", ":"))
        t0 = time.perf_counter()
        try:
            out = self._ctx.eval(f"JSON.stringify(handler({payload}))")
        except quickjs.JSException as exc:
            elapsed = (time.perf_counter() - t0) * 1000
            text = str(exc)
            self._ctx = self._context()  # a fresh context for the next call
            if "interrupted" in text:  # the time limit: CloudFront throttles the function
                return FunctionResult("throttled", {}, elapsed, "exceeded its compute budget")
            first = text.strip().splitlines()[0] if text.strip() else ""
            if "out of memory" in text or first in ("", "null"):  # QuickJS' allocation failure
                first = f"exceeded its memory ({MAX_MEMORY_BYTES // (1024 * 1024)} MB)"
            return FunctionResult("error", {}, elapsed, first)
        elapsed = (time.perf_counter() - t0) * 1000
        try:
            value = json.loads(out) if isinstance(out, str) else None
        except ValueError:
            value = None
        if not isinstance(value, dict):
            return FunctionResult("error", {}, elapsed, "the handler returned no object")
        if "statusCode" in value:
            return FunctionResult("response", value, elapsed)
        if self.event_type == "viewer-response":
            return FunctionResult(
                "error", {}, elapsed, "a viewer-response handler must return a response"
            )
        if "uri" not in value:
            return FunctionResult("error", {}, elapsed, "the handler returned no request")
        return FunctionResult("request", value, elapsed)


def viewer_event(
    event_type: EventType,
    *,
    method: str,
    uri: str,
    querystring: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    cookies: dict[str, str] | None = None,
    viewer_ip: str = "127.0.0.1",
    distribution_domain: str = "",
    distribution_id: str = "",
    request_id: str = "",
    response: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The event object CloudFront passes (values wrapped as ``{value: …}``)."""
    event: dict[str, Any] = {
        "version": "1.0",
        "context": {
            "distributionDomainName": distribution_domain,
            "distributionId": distribution_id,
            "eventType": event_type,
            "requestId": request_id,
        },
        "viewer": {"ip": viewer_ip},
        "request": {
            "method": method,
            "uri": uri,
            "querystring": {k: {"value": v} for k, v in (querystring or {}).items()},
            "headers": {k.lower(): {"value": v} for k, v in (headers or {}).items()},
            "cookies": {k: {"value": v} for k, v in (cookies or {}).items()},
        },
    }
    if response is not None:
        event["response"] = response
    return event
