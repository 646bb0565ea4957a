"""The loopback address plan of live mode: one place says which address stands for what.

Live servers bind loopback addresses that stand for the scenario's places, so a plain
``dig -b`` or ``curl --interface`` makes you a user of a client group and the answers name
real listeners:

=================  =====================================================================
``127.1.hi.lo``    client group ``hi·256 + lo`` (the source address of its users)
``127.2.hi.lo``    endpoint number ``hi·256 + lo`` (in the stack's target order)
``127.3.hi.lo``    the edge location (PoP) on node ``hi·256 + lo``
``127.4.hi.lo``    accelerator ``hi·256 + lo``'s first static address (198.18.hi.lo)
``127.5.hi.lo``    accelerator ``hi·256 + lo``'s second static address (198.19.hi.lo)
``127.0.0.1``      DNS, the control API, the HTTP proxy, local origins (``--listen-host``)
=================  =====================================================================

Pure functions, no sockets: the DNS authority, the live edges, the GA proxy and the stack all
use these.
"""

from __future__ import annotations

from typing import Final

CLIENT_PREFIX: Final = 1
ENDPOINT_PREFIX: Final = 2
POP_PREFIX: Final = 3
STANDIN_PREFIXES: Final = (4, 5)
"""Loopback /16s standing for GA's two network zones (198.18.0.0/16 and 198.19.0.0/16)."""
MAX_INDEX: Final = 0xFFFF


def node_address(prefix: int, i: int) -> str:
    """``127.prefix.(i // 256).(i % 256)``."""
    if not 0 <= i <= MAX_INDEX:
        raise ValueError(f"index {i} does not fit a loopback /16")
    return f"127.{prefix}.{i // 256}.{i % 256}"


def group_address(i: int) -> str:
    """The loopback address that stands for client group ``i``."""
    return node_address(CLIENT_PREFIX, i)


def endpoint_address(i: int) -> str:
    """The loopback address of endpoint number ``i``."""
    return node_address(ENDPOINT_PREFIX, i)


def pop_address(node: int) -> str:
    """The loopback address of the edge location on node ``node``."""
    return node_address(POP_PREFIX, node)


def index_of(address: str, prefix: int) -> int:
    """``hi·256 + lo`` of ``127.prefix.hi.lo``, or -1 for any other address."""
    parts = address.split(".")
    if len(parts) != 4 or parts[0] != "127" or parts[1] != str(prefix):
        return -1
    if not (parts[2].isdigit() and parts[3].isdigit()):
        return -1
    hi, lo = int(parts[2]), int(parts[3])
    if hi > 255 or lo > 255:
        return -1
    return hi * 256 + lo


def group_of_address(address: str, n_groups: int) -> int:
    """Client group of a ``127.1.hi.lo`` source address, or -1 (not one, or no such group)."""
    i = index_of(address, CLIENT_PREFIX)
    return i if i < n_groups else -1


def standin_addresses(number: int) -> tuple[str, str]:
    """The loopback stand-ins of accelerator ``number``'s two default static addresses
    (``edgesim.services.accelerator.model.static_addresses(number)``): the same last two octets in
    127.4/16 and 127.5/16."""
    if not 1 <= number <= 0xFFFE:
        raise ValueError(f"accelerator number {number} is outside 1–65534")
    hi, lo = number >> 8, number & 0xFF
    return f"127.{STANDIN_PREFIXES[0]}.{hi}.{lo}", f"127.{STANDIN_PREFIXES[1]}.{hi}.{lo}"
