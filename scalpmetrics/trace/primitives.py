"""Array helpers the tracing steps share: arc lengths along pixel chains,
union-find, medians per group, sampling a plane at sub-pixel points."""

from __future__ import annotations

import cv2
import numpy as np


def _arc_lengths(chains: list[np.ndarray], chunk: int = 64) -> list[np.ndarray]:
    """Cumulative arc length along each ordered pixel chain, staircases smoothed
    (moving average over 5 points, fewer on shorter chains, the ends repeated).

    Chains of one smoothing length are stacked (sorted by length, ``chunk``
    at a time, padded with their last point); every sum runs along each chain
    as it would for the chain alone, so the result does not depend on the
    other chains.
    """
    out: list[np.ndarray] = [np.zeros(0)] * len(chains)
    sizes = np.array([len(rc) for rc in chains], dtype=np.int64)
    for i in np.nonzero(sizes < 2)[0]:
        out[i] = np.zeros(sizes[i])
    for k in (2, 3, 4, 5):
        group = np.nonzero((np.minimum(5, sizes) == k) & (sizes >= 2))[0]
        group = group[np.argsort(sizes[group], kind="stable")]
        for start in range(0, group.size, chunk):
            part = group[start:start + chunk]
            for i, arc in zip(part, _stacked_arc_lengths([chains[i] for i in part], k)):
                out[i] = arc
    return out


def _stacked_arc_lengths(chains: list[np.ndarray], k: int) -> list[np.ndarray]:
    """:func:`_arc_lengths` of chains of at least ``k`` points (moving average over ``k``)."""
    h = k // 2
    sizes = np.array([len(rc) for rc in chains], dtype=np.int64)
    longest = int(sizes.max())
    flat = np.concatenate(chains)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    # Each row: the first point h times, the chain, then its last point repeated.
    pick = np.clip(np.arange(longest + 2 * h)[None, :] - h, 0, (sizes - 1)[:, None])
    padded = flat[pick + offsets[:, None]]
    run = np.concatenate([np.zeros((len(chains), 1, 2)), np.cumsum(padded, axis=1, dtype=np.float64)],
                         axis=1)
    sm = ((run[:, k:] - run[:, :-k]) / k)[:, :longest]
    d = np.diff(sm, axis=1)
    arcs = np.zeros((len(chains), longest))
    arcs[:, 1:] = np.cumsum(np.hypot(d[..., 0], d[..., 1]), axis=1)
    return [arcs[i, :n] for i, n in enumerate(sizes)]


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, a: int) -> int:
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _group_medians(owner: np.ndarray, values: np.ndarray,
                   n: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """``np.median`` of each group's ``values`` (groups ``0..n-1``, none empty),
    to the same bits (the mean of the two middle values, in the values' type),
    and each group's values in increasing order."""
    ordered = values[np.lexsort((values, owner))]
    counts = np.bincount(owner, minlength=n)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    middle = ordered[starts + (counts - 1) // 2] + ordered[starts + counts // 2]
    medians = middle / ordered.dtype.type(2)
    return medians, np.split(ordered, starts[1:])


def _sample(plane: np.ndarray, rows: np.ndarray, cols: np.ndarray, *, nearest: bool = False,
            outside: float = 0.0) -> np.ndarray:
    """Values of ``plane`` at sub-pixel (row, col) points of any shape."""
    shape = rows.shape
    n = rows.size
    width = 4096
    # The points as float32 maps of rows of ``width``, the last one padded with zeros.
    maps = np.zeros((2, n + (-n) % width), dtype=np.float32)
    maps[0, :n] = rows.reshape(-1)
    maps[1, :n] = cols.reshape(-1)
    r, c = maps
    out = cv2.remap(plane, c.reshape(-1, width), r.reshape(-1, width),
                    cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_CONSTANT, borderValue=outside)
    return out.reshape(-1)[:n].reshape(shape)


def _searchsorted_rows(rows: list[np.ndarray], which: np.ndarray, values: np.ndarray,
                       side: str = "left") -> np.ndarray:
    """``np.searchsorted(rows[which[i]], values[i], side)`` for every ``i`` in one call.

    The sorted rows are joined as complex numbers ``row + 1j * value``, which
    NumPy orders by row first, then by value.
    """
    sizes = np.array([len(r) for r in rows], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    keys = np.repeat(np.arange(len(rows), dtype=np.float64), sizes) + 1j * np.concatenate(rows)
    return np.searchsorted(keys, which + 1j * values, side=side) - offsets[which]
