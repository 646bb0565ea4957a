"""Invalidations: path validation, in-progress limits and matching (spec §1.8).

* A path starts with ``/``, is at most 4,000 characters and may contain ``*`` only as its
  last character.
* Per distribution, invalidations in progress may hold at most 3,000 file paths and 15
  wildcard paths; a request that would exceed either limit is refused
  (:class:`InvalidationError`).
* A path matches a cached object's path exactly, or as a prefix when it ends in ``*``.
  A path without ``?`` matches every query-string variant of that path; one with ``?``
  matches that exact path and query (a trailing ``*`` then prefixes path + query).
* Completion time is not documented by AWS: it is a parameter
  (:data:`DEFAULT_COMPLETION_DELAY_S`, 60 s, edgesim's choice from "typically <1–2 min").
  Objects are removed from every tier when the invalidation *completes* (the caller
  applies :meth:`InvalidationTracker.pop_due` results to its stores).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "DEFAULT_COMPLETION_DELAY_S",
    "MAX_IN_PROGRESS_FILE_PATHS",
    "MAX_IN_PROGRESS_WILDCARD_PATHS",
    "MAX_PATH_LENGTH",
    "Invalidation",
    "InvalidationError",
    "InvalidationTracker",
    "matches_any",
    "path_matches",
    "validate_paths",
]

MAX_PATH_LENGTH: Final = 4000
MAX_IN_PROGRESS_FILE_PATHS: Final = 3000
MAX_IN_PROGRESS_WILDCARD_PATHS: Final = 15
DEFAULT_COMPLETION_DELAY_S: Final = 60.0


class InvalidationError(ValueError):
    """An invalidation request CloudFront would refuse."""


def validate_paths(paths: Iterable[str]) -> tuple[str, ...]:
    """Check invalidation paths (spec §1.8); return them as a tuple.

    Raises :class:`InvalidationError` naming the first bad path.
    """
    out = tuple(paths)
    if not out:
        raise InvalidationError("an invalidation needs at least one path")
    for p in out:
        if not isinstance(p, str) or not p.startswith("/"):
            raise InvalidationError(f"invalidation path {p!r} must start with '/'")
        if len(p) > MAX_PATH_LENGTH:
            raise InvalidationError(
                f"invalidation path is {len(p)} characters; the maximum is {MAX_PATH_LENGTH}"
            )
        if "*" in p[:-1]:
            raise InvalidationError(
                f"invalidation path {p!r}: '*' is allowed only as the last character"
            )
    return out


def path_matches(pattern: str, path: str, query: str = "") -> bool:
    """Whether invalidation path ``pattern`` covers an object at ``path`` (+ ``query``)."""
    target = path
    if "?" in pattern and query:
        target = f"{path}?{query}"
    if pattern.endswith("*"):
        return target.startswith(pattern[:-1])
    return target == pattern


def matches_any(patterns: Iterable[str], path: str, query: str = "") -> bool:
    """Whether any of ``patterns`` covers the object."""
    return any(path_matches(p, path, query) for p in patterns)


@dataclass(frozen=True)
class Invalidation:
    """One invalidation request of a distribution."""

    id: str
    distribution_id: str
    paths: tuple[str, ...]
    created_s: float
    completes_s: float

    @property
    def wildcard_paths(self) -> int:
        """Paths ending in ``*``."""
        return sum(1 for p in self.paths if p.endswith("*"))

    @property
    def file_paths(self) -> int:
        """Paths without a wildcard."""
        return len(self.paths) - self.wildcard_paths

    def status(self, now_s: float) -> Literal["InProgress", "Completed"]:
        """CloudFront's status vocabulary."""
        return "Completed" if now_s >= self.completes_s else "InProgress"

    def matches(self, path: str, query: str = "") -> bool:
        """Whether this invalidation covers the object."""
        return matches_any(self.paths, path, query)


class InvalidationTracker:
    """Invalidations of every distribution, with the in-progress limits of spec §1.8."""

    def __init__(self, completion_delay_s: float = DEFAULT_COMPLETION_DELAY_S) -> None:
        if completion_delay_s < 0:
            raise ValueError("completion_delay_s must be >= 0")
        self.completion_delay_s = float(completion_delay_s)
        self._all: list[Invalidation] = []
        self._pending: list[Invalidation] = []
        self._counter = 0

    def in_progress(self, distribution_id: str, now_s: float) -> list[Invalidation]:
        """Invalidations of the distribution not yet completed at ``now_s``."""
        return [
            i
            for i in self._all
            if i.distribution_id == distribution_id and i.status(now_s) == "InProgress"
        ]

    def create(self, distribution_id: str, paths: Iterable[str], now_s: float) -> Invalidation:
        """Validate and record an invalidation, or raise :class:`InvalidationError`."""
        ps = validate_paths(paths)
        busy = self.in_progress(distribution_id, now_s)
        new_wild = sum(1 for p in ps if p.endswith("*"))
        new_files = len(ps) - new_wild
        wild = sum(i.wildcard_paths for i in busy) + new_wild
        files = sum(i.file_paths for i in busy) + new_files
        if wild > MAX_IN_PROGRESS_WILDCARD_PATHS:
            raise InvalidationError(
                f"too many wildcard invalidation paths in progress for {distribution_id}: "
                f"{wild} (the limit is {MAX_IN_PROGRESS_WILDCARD_PATHS})"
            )
        if files > MAX_IN_PROGRESS_FILE_PATHS:
            raise InvalidationError(
                f"too many invalidation file paths in progress for {distribution_id}: "
                f"{files} (the limit is {MAX_IN_PROGRESS_FILE_PATHS})"
            )
        self._counter += 1
        inv = Invalidation(
            f"I{self._counter:013d}",
            distribution_id,
            ps,
            float(now_s),
            float(now_s) + self.completion_delay_s,
        )
        self._all.append(inv)
        self._pending.append(inv)
        return inv

    def get(self, invalidation_id: str) -> Invalidation | None:
        """An invalidation by id."""
        return next((i for i in self._all if i.id == invalidation_id), None)

    def pop_due(self, now_s: float) -> list[Invalidation]:
        """Invalidations completed by ``now_s`` not returned before, in creation order.

        The caller removes the matching objects from every tier of the distribution.
        """
        due = [i for i in self._pending if i.completes_s <= now_s]
        self._pending = [i for i in self._pending if i.completes_s > now_s]
        return due
