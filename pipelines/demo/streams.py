"""Random streams of the demo data: each depends only on the seed and its keys, so that one part of the demo
can change without moving the numbers of another."""

from __future__ import annotations

import hashlib

import numpy as np


def stream(seed: int, *keys: str) -> np.random.Generator:
    """A random stream that depends only on the seed and the keys."""
    words = [int.from_bytes(hashlib.sha256(k.encode()).digest()[:4], "little") for k in keys]
    return np.random.default_rng(np.random.SeedSequence([seed, *words]))
