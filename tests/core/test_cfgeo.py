from __future__ import annotations

import pytest

from edgesim.services.cloudfront.georestrict import GeoError, GeoRestriction


def test_allow_and_block_lists() -> None:
    allow = GeoRestriction.of("whitelist", ["jp", "KR"])
    assert allow.allows("JP")
    assert allow.allows("kr")
    assert not allow.allows("US")
    assert allow.status("US") == 403
    assert not allow.allows(None)  # an unknown country is on no allow list
    block = GeoRestriction.of("block", ["KP"])
    assert block.status("KP") == 403
    assert block.allows("JP")
    assert block.allows(None)
    assert GeoRestriction.of("none", []).allows("KP")


@pytest.mark.parametrize(
    ("kind", "codes", "message"),
    [
        ("allow", ["JP", "XX", "Japan"], "JAPAN, XX"),
        ("sometimes", ["JP"], "unknown restriction"),
        ("allow", [], "needs at least one country"),
    ],
)
def test_bad_lists(kind: str, codes: list[str], message: str) -> None:
    with pytest.raises(GeoError, match=message):
        GeoRestriction.of(kind, codes)
