"""The loopback address plan of live mode (edgesim/live/addresses.py)."""

from __future__ import annotations

import pytest

from edgesim.live.addresses import (
    endpoint_address,
    group_address,
    group_of_address,
    index_of,
    pop_address,
    standin_addresses,
)


def test_each_kind_has_its_own_slash16() -> None:
    assert group_address(0) == "127.1.0.0"
    assert group_address(258) == "127.1.1.2"
    assert endpoint_address(3) == "127.2.0.3"
    assert pop_address(300) == "127.3.1.44"
    assert standin_addresses(1) == ("127.4.0.1", "127.5.0.1")


@pytest.mark.parametrize("i", [0, 1, 255, 256, 65535])
def test_a_group_address_maps_back_to_its_group(i: int) -> None:
    assert group_of_address(group_address(i), 65536) == i
    assert index_of(group_address(i), 1) == i


@pytest.mark.parametrize(
    "address", ["127.2.0.1", "10.1.0.1", "127.1.0", "127.1.x.1", "127.1.0.256", "", "::1"]
)
def test_other_addresses_are_no_group(address: str) -> None:
    assert group_of_address(address, 65536) == -1


def test_a_group_beyond_the_scenarios_groups_is_none() -> None:
    assert group_of_address("127.1.0.5", 5) == -1
    assert group_of_address("127.1.0.4", 5) == 4


def test_indexes_outside_a_slash16_are_refused() -> None:
    with pytest.raises(ValueError, match="loopback"):
        group_address(65536)
    with pytest.raises(ValueError, match="accelerator"):
        standin_addresses(0)
