"""Invalidation validation, limits and matching (services.cloudfront.invalidation), spec §1.8."""

from __future__ import annotations

import pytest

from edgesim.services.cloudfront.invalidation import (
    DEFAULT_COMPLETION_DELAY_S,
    InvalidationError,
    InvalidationTracker,
    path_matches,
    validate_paths,
)


@pytest.mark.parametrize(
    ("paths", "match"),
    [
        ([], "at least one"),
        (["images/a.jpg"], "must start with '/'"),
        (["/images/*.jpg"], "only as the last"),
        (["/*/a"], "only as the last"),
        (["/" + "a" * 4000], "maximum is 4000"),
    ],
)
def test_path_validation_errors(paths: list[str], match: str) -> None:
    with pytest.raises(InvalidationError, match=match):
        validate_paths(paths)


def test_valid_paths() -> None:
    assert validate_paths(["/a", "/b/*", "/*", "/" + "a" * 3999]) == (
        "/a",
        "/b/*",
        "/*",
        "/" + "a" * 3999,
    )
    assert issubclass(InvalidationError, ValueError)


@pytest.mark.parametrize(
    ("pattern", "path", "query", "matches"),
    [
        ("/a.jpg", "/a.jpg", "", True),
        ("/a.jpg", "/a.jpg", "w=10", True),  # every query variant of the path
        ("/a.jpg", "/a.jpgx", "", False),
        ("/a.jpg", "/A.jpg", "", False),
        ("/img/*", "/img/x/y.png", "", True),
        ("/img/*", "/img", "", False),
        ("/img*", "/img", "v=1", True),
        ("/*", "/anything", "q=1", True),
        ("/a.jpg?w=10", "/a.jpg", "w=10", True),  # with '?': that exact query only
        ("/a.jpg?w=10", "/a.jpg", "w=20", False),
        ("/a.jpg?w=10", "/a.jpg", "", False),
        ("/a.jpg?w=*", "/a.jpg", "w=30", True),
    ],
)
def test_matching(pattern: str, path: str, query: str, matches: bool) -> None:
    assert path_matches(pattern, path, query) is matches


def test_limits_in_progress() -> None:
    t = InvalidationTracker(completion_delay_s=100)
    for i in range(15):
        t.create("D1", [f"/w{i}/*"], now_s=0)
    with pytest.raises(InvalidationError, match="wildcard"):
        t.create("D1", ["/more/*"], now_s=10)
    t.create("D2", ["/other/*"], now_s=10)  # limits are per distribution
    t.create("D1", [f"/f{i}" for i in range(3000)], now_s=10)
    with pytest.raises(InvalidationError, match="file paths"):
        t.create("D1", ["/one-more"], now_s=10)
    # once completed, they no longer count
    assert len(t.in_progress("D1", 99)) == 16
    t.create("D1", ["/again/*"], now_s=100)
    with pytest.raises(InvalidationError, match="file paths"):
        t.create("D1", ["/x"], now_s=100)  # the 3000-path one is still in progress
    t.create("D1", ["/x"], now_s=110)


def test_completion_and_due() -> None:
    t = InvalidationTracker()
    assert t.completion_delay_s == DEFAULT_COMPLETION_DELAY_S == 60
    inv = t.create("D1", ["/a", "/b/*"], now_s=1000)
    assert (inv.file_paths, inv.wildcard_paths) == (1, 1)
    assert inv.status(1059.9) == "InProgress"
    assert inv.status(1060) == "Completed"
    assert inv.matches("/b/c")
    assert not inv.matches("/c")
    assert t.pop_due(1059) == []
    assert t.pop_due(1060) == [inv]
    assert t.pop_due(2000) == []
    assert t.get(inv.id) is inv
    assert t.get("nope") is None
    inv2 = InvalidationTracker(completion_delay_s=0).create("D", ["/a"], now_s=5)
    assert inv2.status(5) == "Completed"
    with pytest.raises(ValueError, match=">= 0"):
        InvalidationTracker(completion_delay_s=-1)
