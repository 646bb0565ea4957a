"""Independent, named random streams: the same name and seed always give the same numbers.

Each component (a client group, a cache tier, an endpoint, a DNS policy) asks for its stream
by name, so adding a client group or a service never reshuffles the others' draws.
"""

from __future__ import annotations

import hashlib

import numpy as np


def stream_key(name: str) -> list[int]:
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=16).digest()
    return [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]


def stream(seed: int, name: str) -> np.random.Generator:
    """A PCG64 generator for component ``name`` under scenario ``seed``."""
    ss = np.random.SeedSequence(entropy=[seed & 0xFFFFFFFF, seed >> 32, *stream_key(name)])
    return np.random.Generator(np.random.PCG64(ss))
