"""Range requests (RFC 9110 §14) with CloudFront's rules (spec §1.9).

:func:`evaluate_range` turns a ``Range`` header and the object's length into one of:

* ``full``: serve the whole object with 200 (no/ignored ``Range``; malformed,
  overlapping or non-ascending ranges; too many ranges or an oversized header; a unit
  other than ``bytes``; an ``If-Range`` that does not match);
* ``single``: 206 with ``Content-Range: bytes first-last/length``;
* ``multipart``: 206 ``multipart/byteranges`` for several well-formed, ascending,
  non-overlapping satisfiable ranges (:func:`multipart_body` builds the payload);
* ``unsatisfiable``: 416 with ``Content-Range: bytes */length``.

Limits (edgesim's choice; CloudFront publishes none): more than :data:`MAX_RANGES` ranges
or a header longer than :data:`MAX_RANGE_HEADER_BYTES` is served in full.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "MAX_CACHEABLE_OBJECT_BYTES",
    "MAX_RANGES",
    "MAX_RANGE_HEADER_BYTES",
    "ByteRange",
    "RangeDecision",
    "evaluate_range",
    "multipart_body",
    "slice_body",
]

MAX_RANGES: Final = 8
MAX_RANGE_HEADER_BYTES: Final = 1024
MAX_CACHEABLE_OBJECT_BYTES: Final = 30 * 1024**3
"""Spec §1.9: the largest cacheable object, 30 GB (read as GiB; edgesim's choice)."""

_SPEC: Final = re.compile(r"(\d*)-(\d*)")


@dataclass(frozen=True)
class ByteRange:
    """An inclusive byte range ``first..last`` of an object of ``length`` bytes."""

    first: int
    last: int

    @property
    def size(self) -> int:
        """Number of bytes."""
        return self.last - self.first + 1

    def content_range(self, length: int) -> str:
        """``bytes first-last/length``."""
        return f"bytes {self.first}-{self.last}/{length}"


RangeKind = Literal["full", "single", "multipart", "unsatisfiable"]


@dataclass(frozen=True)
class RangeDecision:
    """How to answer a GET with a ``Range`` header."""

    kind: RangeKind
    ranges: tuple[ByteRange, ...] = ()
    length: int = 0

    @property
    def status(self) -> int:
        """200, 206 or 416."""
        return {"full": 200, "single": 206, "multipart": 206, "unsatisfiable": 416}[self.kind]

    @property
    def content_range(self) -> str | None:
        """The ``Content-Range`` value for single and unsatisfiable answers, else None."""
        if self.kind == "single":
            return self.ranges[0].content_range(self.length)
        if self.kind == "unsatisfiable":
            return f"bytes */{self.length}"
        return None


def _etag_strong_equal(a: str, b: str) -> bool:
    return not a.startswith("W/") and not b.startswith("W/") and a == b


def evaluate_range(
    header: str | None,
    length: int,
    *,
    if_range: str | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    max_ranges: int = MAX_RANGES,
    max_header_bytes: int = MAX_RANGE_HEADER_BYTES,
) -> RangeDecision:
    """Decide how to answer ``Range: header`` for an object of ``length`` bytes.

    ``If-Range`` (RFC 9110 §13.1.5) must equal the stored strong ``etag`` or exactly the
    stored ``last_modified`` date for the range to apply; otherwise the full object is
    served. Suffix ranges longer than the object select the whole object (RFC 9110
    §14.1.2); a last-byte-pos beyond the end is clamped to ``length - 1``. When some
    ranges of a multi-range request are satisfiable and others are not, the
    unsatisfiable ones are dropped.
    """
    full = RangeDecision("full", (), length)
    if header is None:
        return full
    if if_range is not None:
        ir = if_range.strip()
        if ir.startswith(('"', 'W/"')):
            if etag is None or not _etag_strong_equal(ir, etag.strip()):
                return full
        elif last_modified is None or ir != last_modified.strip():
            return full
    if len(header.encode("utf-8", "replace")) > max_header_bytes:
        return full
    unit, eq, spec = header.partition("=")
    if not eq or unit.strip().lower() != "bytes":
        return full
    parts = [p.strip() for p in spec.split(",")]
    if not parts or any(not p for p in parts) or len(parts) > max_ranges:
        return full
    resolved: list[ByteRange | None] = []  # None = syntactically valid but unsatisfiable
    for p in parts:
        m = _SPEC.fullmatch(p)
        if m is None or (not m.group(1) and not m.group(2)):
            return full
        a, b = m.group(1), m.group(2)
        if a:
            first = int(a)
            last = int(b) if b else length - 1
            if b and last < first:
                return full
            if first >= length:
                resolved.append(None)
            else:
                resolved.append(ByteRange(first, min(last, length - 1)))
        else:
            n = int(b)
            if n == 0 or length == 0:
                resolved.append(None)
            else:
                resolved.append(ByteRange(max(0, length - n), length - 1))
    # Overlapping or non-ascending ranges (as written) -> full body (spec §1.9).
    prev: ByteRange | None = None
    for r in resolved:
        if r is None:
            continue
        if prev is not None and r.first <= prev.last:
            return full
        prev = r
    ok = tuple(r for r in resolved if r is not None)
    if not ok:
        return RangeDecision("unsatisfiable", (), length)
    if len(ok) == 1:
        return RangeDecision("single", ok, length)
    return RangeDecision("multipart", ok, length)


def slice_body(body: bytes, r: ByteRange) -> bytes:
    """The bytes of ``r``."""
    return body[r.first : r.last + 1]


def multipart_body(
    body: bytes | None,
    ranges: Sequence[ByteRange],
    length: int,
    content_type: str | None,
    boundary: str,
) -> tuple[bytes | None, int, str]:
    """A ``multipart/byteranges`` payload (RFC 9110 §14.6).

    Returns ``(payload or None when body is None, payload size, Content-Type value)``.
    """
    parts: list[bytes] = []
    size = 0
    for r in ranges:
        head = f"\r\n--{boundary}\r\n"
        if content_type:
            head += f"Content-Type: {content_type}\r\n"
        head += f"Content-Range: {r.content_range(length)}\r\n\r\n"
        hb = head.encode("latin-1")
        size += len(hb) + r.size
        if body is not None:
            parts.extend((hb, slice_body(body, r)))
    tail = f"\r\n--{boundary}--\r\n".encode("latin-1")
    size += len(tail)
    ctype = f"multipart/byteranges; boundary={boundary}"
    if body is None:
        return None, size, ctype
    return b"".join((*parts, tail)), size, ctype
