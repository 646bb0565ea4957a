"""Cache behaviours selected by path pattern (CloudFront DG "Path pattern").

A distribution has an ordered list of cache behaviours plus the default behaviour
(pattern ``*``), evaluated in order against the request path without its query string;
the first match wins and the default comes last. Patterns are case-sensitive; ``*``
matches any run of characters including ``/`` and ``?`` exactly one character. A leading
``/`` is optional (``images/*.jpg`` and ``/images/*.jpg`` are the same pattern).

Validation follows the CloudFront API: at most 255 characters, only
``A-Z a-z 0-9 _ - . * $ / ~ " ' @ : + ? &``, no duplicate patterns.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final

from edgesim.services.cloudfront.key import OriginRequestPolicy
from edgesim.services.cloudfront.ttl import CachePolicy

__all__ = [
    "ALL_METHODS",
    "MAX_PATTERN_LENGTH",
    "BehaviorTable",
    "CacheBehavior",
    "compile_pattern",
    "normalise_pattern",
    "validate_pattern",
]

MAX_PATTERN_LENGTH: Final = 255
_ALLOWED: Final = re.compile(r"[A-Za-z0-9_\-.*$/~\"'@:+?&]*")
ALL_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"})
_ALLOWED_SETS: Final = (
    frozenset({"GET", "HEAD"}),
    frozenset({"GET", "HEAD", "OPTIONS"}),
    ALL_METHODS,
)


def validate_pattern(pattern: str) -> None:
    """Raise ValueError unless ``pattern`` is a valid CloudFront path pattern."""
    if not pattern:
        raise ValueError("path pattern must not be empty")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ValueError(
            f"path pattern is {len(pattern)} characters; the maximum is {MAX_PATTERN_LENGTH}"
        )
    if not _ALLOWED.fullmatch(pattern):
        bad = sorted({c for c in pattern if not _ALLOWED.fullmatch(c)})
        raise ValueError(f"path pattern {pattern!r} has characters not allowed: {bad}")


def shadowing(patterns: list[str]) -> list[tuple[int, int]]:
    """``(j, i)`` pairs where pattern ``j`` can never match because the earlier pattern
    ``i`` (behaviours are tried in order) matches every path ``j`` matches: ``i`` is a
    literal prefix followed by a final ``*`` and ``j`` starts with that prefix (edgesim's
    check; CloudFront accepts such behaviours, which then never serve a request)."""
    out: list[tuple[int, int]] = []
    norm = [normalise_pattern(p) for p in patterns]
    for j, pj in enumerate(norm):
        for i, pi in enumerate(norm[:j]):
            head = pi[:-1]
            if (
                pj != pi
                and pi.endswith("*")
                and "*" not in head
                and "?" not in head
                and pj.startswith(head)
            ):
                out.append((j, i))
                break
    return out


def normalise_pattern(pattern: str) -> str:
    """The pattern with a leading ``/`` (except the bare default ``*``)."""
    if pattern == "*" or pattern.startswith(("/", "*")):
        return pattern
    return "/" + pattern


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """A regex matching exactly the paths ``pattern`` matches."""
    out: list[str] = []
    for ch in normalise_pattern(pattern):
        out.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
    return re.compile("".join(out), re.DOTALL)


@dataclass(frozen=True)
class CacheBehavior:
    """One cache behaviour: a path pattern and how matching requests are handled.

    ``allowed_methods`` is one of CloudFront's three sets (GET/HEAD, + OPTIONS, all
    seven); ``cache_options`` caches OPTIONS responses (CloudFront's "cached methods"
    GET, HEAD, OPTIONS).
    """

    path_pattern: str = "*"
    cache_policy: CachePolicy = field(default_factory=CachePolicy)
    origin_request_policy: OriginRequestPolicy | None = None
    target_origin: str = "origin"
    allowed_methods: frozenset[str] = frozenset({"GET", "HEAD"})
    cache_options: bool = False

    def __post_init__(self) -> None:
        validate_pattern(self.path_pattern)
        methods = frozenset(m.upper() for m in self.allowed_methods)
        if methods not in _ALLOWED_SETS:
            raise ValueError(
                "allowed_methods must be GET+HEAD, GET+HEAD+OPTIONS or all seven methods, "
                f"got {sorted(methods)}"
            )
        object.__setattr__(self, "allowed_methods", methods)
        if self.cache_options and "OPTIONS" not in methods:
            raise ValueError("cache_options needs OPTIONS among allowed_methods")
        object.__setattr__(self, "_regex", compile_pattern(self.path_pattern))

    def matches(self, path: str) -> bool:
        """Whether the path (no query string) matches this behaviour's pattern."""
        regex: re.Pattern[str] = object.__getattribute__(self, "_regex")
        return regex.fullmatch(path) is not None


class BehaviorTable:
    """The ordered cache behaviours of a distribution plus its default behaviour."""

    def __init__(
        self, behaviors: Sequence[CacheBehavior] = (), default: CacheBehavior | None = None
    ) -> None:
        default = default or CacheBehavior()
        if default.path_pattern != "*":
            raise ValueError("the default cache behaviour's path pattern must be '*'")
        seen: set[str] = set()
        for b in behaviors:
            norm = normalise_pattern(b.path_pattern)
            if norm == "*":
                raise ValueError("'*' is reserved for the default cache behaviour")
            if norm in seen:
                raise ValueError(f"duplicate path pattern {b.path_pattern!r}")
            seen.add(norm)
        self.behaviors: tuple[CacheBehavior, ...] = tuple(behaviors)
        self.default = default

    def __iter__(self) -> Iterator[CacheBehavior]:
        yield from self.behaviors
        yield self.default

    def __len__(self) -> int:
        return len(self.behaviors) + 1

    def match(self, path: str) -> CacheBehavior:
        """The first behaviour (in order) whose pattern matches ``path``, else the default.

        A query string, if present in ``path``, is ignored.
        """
        path = path.partition("?")[0]
        for b in self.behaviors:
            if b.matches(path):
                return b
        return self.default
