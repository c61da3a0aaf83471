"""Step 5 of the tracing: follicular units (emergence points grouped) and
wide shafts taken as hairs lying side by side."""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from scalpmetrics.params import TraceParams
from scalpmetrics.trace.chains import _Chain
from scalpmetrics.trace.primitives import _UnionFind


def _follicular_units(points: np.ndarray, radius_px: float) -> np.ndarray:
    """Single-linkage groups of points closer than ``radius_px`` (labels 0..)."""
    n = len(points)
    uf = _UnionFind(n)
    if n > 1 and radius_px > 0:
        for a, b in cKDTree(points).query_pairs(radius_px):
            uf.union(a, b)
    roots = [uf.find(i) for i in range(n)]
    _, labels = np.unique(roots, return_inverse=True)
    return labels.astype(int)


def _split_side_by_side(hairs_raw: list[tuple[_Chain, float, float, int, bool, np.ndarray]],
                        profiles: list[np.ndarray], um_per_px: float, params: TraceParams
                        ) -> list[tuple[_Chain, float, float, int, bool, np.ndarray]]:
    """Counted shafts much wider than the photo's typical shaft are several hairs.

    Hairs of one follicular unit often lie side by side, touching, along
    their whole visible length: the mask shows one shaft of their summed
    width. The typical width is the median width of the photo's counted
    shafts, but at least ``min_reference_width_um`` (so that a photo of
    mostly thin or broken-up shafts does not split its terminal hairs). A
    counted shaft wider than ``side_by_side_ratio`` typical widths is taken as
    ``round(width / typical)`` hairs (at most ``max_side_by_side``) sharing
    the width equally, with the same ends. The shaft's width here is its
    narrow width (the ``side_by_side_percentile`` of its width ``profiles``),
    which a shadow or a crossing over part of its length does not widen.
    """
    widths = np.array([h[1] for h in hairs_raw if h[4]])
    if widths.size < params.min_shafts_for_reference or params.side_by_side_ratio <= 0:
        return hairs_raw
    typical = max(float(np.median(widths)), params.min_reference_width_um / um_per_px)
    out = []
    for (ch, wpx, length, e, counted, root), profile in zip(hairs_raw, profiles):
        n = 1
        narrow = float(np.percentile(profile, params.side_by_side_percentile)) if counted else 0.0
        if counted and narrow > params.side_by_side_ratio * typical:
            n = int(min(params.max_side_by_side, max(2, round(narrow / typical))))
        out.extend([(ch, wpx / n, length, e, counted, root)] * n)
    return out
