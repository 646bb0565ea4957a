"""HTTP message pieces shared by the CDN modules: headers, requests, origin outcomes.

Plain, immutable values with no I/O (``docs/cloudfront-http.md``). Header names are
case-insensitive (RFC 9110 §5.1); :class:`Headers` keeps the original spelling and order
so a live server can replay them byte for byte.
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

__all__ = [
    "HeaderInput",
    "Headers",
    "OriginFailure",
    "OriginOutcome",
    "OriginResponse",
    "Request",
    "format_http_date",
    "parse_http_date",
]

HeaderInput: TypeAlias = "Headers | Mapping[str, str] | Iterable[tuple[str, str]]"
"""Anything accepted where headers are expected: a mapping, a list of pairs or Headers."""


class Headers:
    """An immutable, case-insensitive multi-map of header fields (order preserved)."""

    __slots__ = ("_items", "_lower")
    _items: tuple[tuple[str, str], ...]
    _lower: dict[str, list[str]]

    def __init__(self, items: HeaderInput = ()) -> None:
        if isinstance(items, Headers):
            pairs: tuple[tuple[str, str], ...] = items._items
        elif isinstance(items, Mapping):
            pairs = tuple((str(k), str(v)) for k, v in items.items())
        else:
            pairs = tuple((str(k), str(v)) for k, v in items)
        self._items = pairs
        self._lower = {}
        for k, v in pairs:
            self._lower.setdefault(k.lower(), []).append(v)

    @property
    def items(self) -> tuple[tuple[str, str], ...]:
        """The fields as ``(name, value)`` pairs in their original order and spelling."""
        return self._items

    def get(self, name: str, default: str | None = None) -> str | None:
        """The field's value, repeated lines joined with ``", "`` (RFC 9110 §5.3)."""
        vals = self._lower.get(name.lower())
        if vals is None:
            return default
        return ", ".join(vals)

    def get_all(self, name: str) -> list[str]:
        """Every line of the field, in order (empty list if absent)."""
        return list(self._lower.get(name.lower(), ()))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._lower

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and self._items == other._items

    def __hash__(self) -> int:
        return hash(self._items)

    def __repr__(self) -> str:
        return f"Headers({list(self._items)!r})"

    def names(self) -> list[str]:
        """Lower-cased field names present, in first-seen order."""
        return list(self._lower)

    def without(self, *names: str) -> Headers:
        """A copy without the named fields."""
        drop = {n.lower() for n in names}
        return Headers([(k, v) for k, v in self._items if k.lower() not in drop])

    def with_(self, name: str, value: str) -> Headers:
        """A copy where ``name`` has exactly one line, ``value`` (appended at the end)."""
        return Headers([*self.without(name)._items, (name, value)])

    def merged(self, update: Headers) -> Headers:
        """A copy where every field of ``update`` replaces the same-named field here.

        This is how a stored response is updated by a ``304`` (RFC 9111 §3.2).
        """
        names = set(update._lower)
        keep = [(k, v) for k, v in self._items if k.lower() not in names]
        return Headers([*keep, *update._items])

    def byte_size(self) -> int:
        """Approximate bytes on the wire: ``name: value\\r\\n`` per line."""
        return sum(len(k) + len(v) + 4 for k, v in self._items)


def parse_http_date(value: str | None) -> float | None:
    """Seconds since the epoch of an RFC 9110 §5.6.7 HTTP-date, or None if invalid.

    The three formats of the RFC (IMF-fixdate, obsolete RFC 850 and asctime) are
    accepted, as :func:`email.utils.parsedate_to_datetime` reads them; anything else
    (including ``0`` and ``-1``, common in ``Expires``) is None.
    """
    if value is None:
        return None
    text = value.strip()
    if not text or text.lstrip("-").isdigit():
        return None
    try:
        dt = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if dt is None:  # pragma: no cover - older Pythons returned None
        return None
    if dt.tzinfo is None:
        # RFC 9110: HTTP-dates are always GMT; asctime has no zone.
        import datetime as _dt

        dt = dt.replace(tzinfo=_dt.UTC)
    return dt.timestamp()


def format_http_date(epoch_s: float) -> str:
    """The IMF-fixdate form (``Sun, 06 Nov 1994 08:49:37 GMT``) of an epoch time."""
    return email.utils.formatdate(math.floor(epoch_s), usegmt=True)


@dataclass(frozen=True)
class Request:
    """A viewer request as the edge sees it (the path without its query string)."""

    method: str
    path: str
    query: str = ""
    """The raw query string, without the ``?``."""
    headers: Headers = field(default_factory=Headers)

    def __post_init__(self) -> None:
        if not isinstance(self.headers, Headers):
            object.__setattr__(self, "headers", Headers(self.headers))
        object.__setattr__(self, "method", self.method.upper())

    @classmethod
    def from_target(cls, method: str, target: str, headers: HeaderInput = ()) -> Request:
        """Build from a request target such as ``/a/b.jpg?w=10``."""
        path, _, query = target.partition("?")
        return cls(method, path, query, Headers(headers))

    @property
    def target(self) -> str:
        """``path`` plus ``?query`` when there is one."""
        return f"{self.path}?{self.query}" if self.query else self.path


@dataclass(frozen=True)
class OriginResponse:
    """What the origin answered.

    ``body`` is the payload, or None when only its ``size`` is known (the simulator).
    """

    status: int
    headers: Headers = field(default_factory=Headers)
    body: bytes | None = None
    size: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.headers, Headers):
            object.__setattr__(self, "headers", Headers(self.headers))
        if self.size is None:
            object.__setattr__(self, "size", len(self.body) if self.body is not None else 0)

    @property
    def body_size(self) -> int:
        """Payload bytes."""
        return len(self.body) if self.body is not None else int(self.size or 0)


@dataclass(frozen=True)
class OriginFailure:
    """The origin could not be used: connection refused/unreachable or a timeout.

    CloudFront treats an origin timeout as a 5xx (spec §1.6); edgesim answers the viewer
    ``504`` for a timeout and ``502`` for a connection failure.
    """

    kind: Literal["timeout", "unreachable"] = "unreachable"


OriginOutcome: TypeAlias = OriginResponse | OriginFailure
"""What the caller hands back after doing the origin I/O."""
