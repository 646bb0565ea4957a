"""Cache behaviours by path pattern (edgesim.services.cloudfront.behaviors)."""

from __future__ import annotations

import pytest

from edgesim.services.cloudfront.behaviors import (
    ALL_METHODS,
    BehaviorTable,
    CacheBehavior,
    compile_pattern,
    normalise_pattern,
    validate_pattern,
)


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("/images/*.jpg", "/images/a.jpg", True),
        ("/images/*.jpg", "/images/2024/01/a.jpg", True),  # * crosses '/'
        ("/images/*.jpg", "/images/a.JPG", False),  # case-sensitive
        ("/images/*.jpg", "/img/a.jpg", False),
        ("images/*.jpg", "/images/a.jpg", True),  # leading '/' optional
        ("/a?c", "/abc", True),
        ("/a?c", "/ac", False),
        ("/a?c", "/abbc", False),
        ("/api/*", "/api/", True),
        ("/api/*", "/api", False),
        ("*.gif", "/x/y.gif", True),
        ("*", "/anything/at/all", True),
        ("/a.b", "/aXb", False),  # '.' is literal
        ("/exact", "/exact", True),
        ("/exact", "/exact/more", False),
    ],
)
def test_pattern_matching(pattern: str, path: str, matches: bool) -> None:
    assert CacheBehavior(pattern).matches(path) is matches
    assert (compile_pattern(pattern).fullmatch(path) is not None) is matches


def test_first_match_wins_default_last() -> None:
    a = CacheBehavior("/api/*", target_origin="api")
    b = CacheBehavior("/api/v2/*", target_origin="v2")  # shadowed by the earlier /api/*
    c = CacheBehavior("*.jpg", target_origin="images")
    d = CacheBehavior(target_origin="web")
    t = BehaviorTable([a, b, c], d)
    assert t.match("/api/v2/x").target_origin == "api"
    assert t.match("/pics/a.jpg").target_origin == "images"
    assert t.match("/index.html").target_origin == "web"
    # matched against the path without its query string
    assert t.match("/index.html?x=a.jpg").target_origin == "web"
    assert [x.target_origin for x in t] == ["api", "v2", "images", "web"]
    assert len(t) == 4
    # order matters: the more specific pattern first
    t2 = BehaviorTable([b, a], d)
    assert t2.match("/api/v2/x").target_origin == "v2"
    assert BehaviorTable().match("/x").path_pattern == "*"


@pytest.mark.parametrize(
    ("pattern", "match"),
    [
        ("", "empty"),
        ("/" + "a" * 255, "maximum is 255"),
        ("/a b", "not allowed"),
        ("/a#b", "not allowed"),
        ("/é", "not allowed"),
    ],
)
def test_pattern_validation(pattern: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        validate_pattern(pattern)


def test_allowed_characters_and_length_limit() -> None:
    validate_pattern("/a-z_A.Z0~9$\"'@:+&?*")
    validate_pattern("/" + "a" * 254)  # exactly 255


def test_table_validation() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        BehaviorTable([CacheBehavior("/a/*"), CacheBehavior("a/*")])
    with pytest.raises(ValueError, match="default"):
        BehaviorTable([], CacheBehavior("/a"))
    with pytest.raises(ValueError, match="reserved"):
        BehaviorTable([CacheBehavior("*")])
    assert normalise_pattern("*") == "*"
    assert normalise_pattern("*.jpg") == "*.jpg"


def test_methods_validation() -> None:
    assert CacheBehavior(allowed_methods=frozenset({"get", "head"})).allowed_methods == {
        "GET",
        "HEAD",
    }
    CacheBehavior(allowed_methods=ALL_METHODS, cache_options=True)
    with pytest.raises(ValueError, match="allowed_methods"):
        CacheBehavior(allowed_methods=frozenset({"GET"}))
    with pytest.raises(ValueError, match="cache_options"):
        CacheBehavior(cache_options=True)
