"""Lambda@Edge event objects and the validation of what a handler returns, I/O-free.

AWS ("Lambda@Edge event structure", "Lambda@Edge quotas", "Test and debug Lambda@Edge
functions"): a handler gets ``{"Records": [{"cf": {"config": …, "request": …, ["response":
…]}}]}``; headers are ``{"lower-case-name": [{"key": "Name", "value": "…"}]}``, the query string
is a string without ``?``, response statuses are strings. A viewer- or origin-request handler
returns the request (to go on) or a response (CloudFront answers with it); a response handler
returns the response. Limits by trigger: viewer triggers 5 s and 128 MB, a generated response
of at most 40 KB; origin triggers 30 s, up to 10,240 MB, 1 MB.

What CloudFront answers when a handler fails (AWS: "Troubleshoot Lambda@Edge"): an exception
or a timeout is a **503** "Lambda execution error" (``LambdaExecutionError``), a throttle a
503 "Lambda limit exceeded" (``LambdaLimitExceeded``), and an answer that is not a valid
request or response a **502** "Lambda validation error" (``LambdaValidationError``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

EventType = Literal["viewer-request", "origin-request", "origin-response", "viewer-response"]
EVENT_TYPES: tuple[EventType, ...] = (
    "viewer-request",
    "origin-request",
    "origin-response",
    "viewer-response",
)


@dataclass(frozen=True)
class Limits:
    timeout_s: float
    memory_mb: int
    max_generated_bytes: int


def limits(event_type: EventType, memory_mb: int | None = None) -> Limits:
    """AWS's quotas for a trigger (origin triggers take the function's memory setting)."""
    if event_type.startswith("viewer"):
        return Limits(5.0, 128, 40 * 1024)
    return Limits(30.0, min(memory_mb or 128, 10_240), 1024 * 1024)


def cf_headers(headers: dict[str, str]) -> dict[str, list[dict[str, str]]]:
    return {k.lower(): [{"key": k, "value": v}] for k, v in headers.items()}


def flat_headers(headers: Any) -> dict[str, str]:
    """CloudFront's header structure back to name → value (the first value, its key's case)."""
    out: dict[str, str] = {}
    if not isinstance(headers, dict):
        return out
    for name, values in headers.items():
        if isinstance(values, list) and values and isinstance(values[0], dict):
            out[str(values[0].get("key", name))] = str(values[0].get("value", ""))
    return out


def make_event(
    event_type: EventType,
    *,
    method: str,
    uri: str,
    querystring: str = "",
    headers: dict[str, str] | None = None,
    client_ip: str = "127.0.0.1",
    distribution_domain: str = "",
    distribution_id: str = "",
    request_id: str = "",
    status: int | None = None,
    response_headers: dict[str, str] | None = None,
    origin_domain: str = "",
) -> dict[str, Any]:
    request: dict[str, Any] = {
        "clientIp": client_ip,
        "headers": cf_headers(headers or {}),
        "method": method,
        "querystring": querystring,
        "uri": uri,
    }
    if event_type.startswith("origin"):
        request["origin"] = {
            "custom": {
                "customHeaders": {},
                "domainName": origin_domain,
                "keepaliveTimeout": 5,
                "path": "",
                "port": 443,
                "protocol": "https",
                "readTimeout": 30,
                "sslProtocols": ["TLSv1.2"],
            }
        }
    cf: dict[str, Any] = {
        "config": {
            "distributionDomainName": distribution_domain,
            "distributionId": distribution_id,
            "eventType": event_type,
            "requestId": request_id,
        },
        "request": request,
    }
    if event_type.endswith("response"):
        cf["response"] = {
            "status": str(status or 200),
            "statusDescription": "OK",
            "headers": cf_headers(response_headers or {}),
        }
    return {"Records": [{"cf": cf}]}


@dataclass(frozen=True)
class Outcome:
    kind: Literal["request", "response", "error", "throttled", "invalid"]
    value: dict[str, Any]
    error: str = ""

    @property
    def status(self) -> int | None:
        """What the viewer gets when the handler ends the request (None: it goes on)."""
        if self.kind == "response":
            return int(self.value.get("status", 200))
        if self.kind in ("error", "throttled"):
            return 503
        if self.kind == "invalid":
            return 502
        return None

    @property
    def result_type(self) -> str:
        return {
            "error": "LambdaExecutionError",
            "throttled": "LambdaLimitExceeded",
            "invalid": "LambdaValidationError",
            "response": "LambdaGeneratedResponse",
        }.get(self.kind, "")


def check_result(event_type: EventType, value: Any) -> Outcome:
    """What a handler's return value means at this trigger (invalid → 502)."""
    if not isinstance(value, dict):
        return Outcome("invalid", {}, "the handler returned no object")
    is_response = "status" in value
    if event_type.endswith("response") and not is_response:
        return Outcome("invalid", {}, "a response trigger must return a response")
    if is_response:
        try:
            code = int(str(value["status"]))
        except ValueError:
            return Outcome("invalid", {}, f"status {value['status']!r} is not a number")
        if not 100 <= code <= 599:
            return Outcome("invalid", {}, f"status {code} is not an HTTP status")
        size = len(str(value.get("body", "")).encode())
        cap = limits(event_type).max_generated_bytes
        if event_type.endswith("request") and size > cap:
            return Outcome("invalid", {}, f"a generated response of {size:,} bytes (limit {cap:,})")
        return Outcome("response", value)
    if not isinstance(value.get("uri"), str) or not str(value["uri"]).startswith("/"):
        return Outcome("invalid", {}, "the returned request has no uri starting with /")
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return Outcome("invalid", {}, "the returned request is not JSON")
    return Outcome("request", value)
