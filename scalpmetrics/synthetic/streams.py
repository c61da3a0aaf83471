"""The seeded random streams every drawing of a phantom comes from.

Each kind of random choice has its own stream of
``numpy.random.default_rng([seed, stream, ...])``, so one kind can change
without moving the draws of another.
"""

from __future__ import annotations

import numpy as np

_S_SITES, _S_SKIN, _S_GEOMETRY, _S_LOOSE, _S_RENDER, _S_POSE, _S_CHANGE, _S_NOISE = range(8)


def _rng(seed: int, *stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, *stream])
