"""Step 3 of the tracing: each shaft's width from perpendicular profiles of
the hair-coverage map."""

from __future__ import annotations

import numpy as np

from scalpmetrics.params import TraceParams
from scalpmetrics.trace.chains import _Chain
from scalpmetrics.trace.primitives import _group_medians, _sample, _searchsorted_rows


def _sample_points(chains: list[_Chain], arcs: list[np.ndarray], shape: tuple[int, int],
                   params: TraceParams) -> tuple[np.ndarray, np.ndarray]:
    """Where the width profiles of every centreline are taken: every
    ``width_sample_step_px`` along it, away from its ends, junctions and the
    image border (everywhere when nothing is left).

    Returns
    -------
    owner : ndarray of int, shape (n,)
        The centreline of each profile, in order.
    index : ndarray of int, shape (n,)
        Its point, an index into the joined centrelines.
    """
    h, w = shape
    sizes = np.array([len(ch.rc) for ch in chains], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    total = np.array([arc[-1] for arc in arcs])
    wid = np.array([ch.width_hint_px for ch in chains])
    # np.arange(0, total + 1e-9, step) of each centreline.
    n_pos = np.ceil((total + 1e-9) / params.width_sample_step_px).astype(np.int64)
    owner = np.repeat(np.arange(len(chains)), n_pos)
    pos = (np.arange(owner.size) - np.repeat(np.cumsum(n_pos) - n_pos, n_pos)) * params.width_sample_step_px
    idx = starts[owner] + np.clip(_searchsorted_rows(arcs, owner, pos), 0, sizes[owner] - 1)
    arc = np.concatenate(arcs)[idx]
    rc = np.concatenate([ch.rc for ch in chains])[idx]
    near_node = np.concatenate([ch.node_ends for ch in chains])[idx]
    margin = params.end_exclusion_widths * wid[owner]
    wo = wid[owner]
    ok = (arc >= margin) & (arc <= total[owner] - margin) & ~near_node
    ok &= (rc[:, 0] >= wo) & (rc[:, 0] < h - wo) & (rc[:, 1] >= wo) & (rc[:, 1] < w - wo)
    ok |= (np.bincount(owner, weights=ok, minlength=len(chains)) == 0)[owner]
    return owner[ok], idx[ok]


def _tangents(chains: list[_Chain], arcs: list[np.ndarray], owner: np.ndarray,
              index: np.ndarray) -> np.ndarray:
    """Unit tangents (drow, dcol) at points ``index`` of the joined centrelines
    (of centrelines ``owner``), over a span of two widths (at least 3 px)."""
    sizes = np.array([len(ch.rc) for ch in chains], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    span = np.maximum(3.0, 2 * np.array([ch.width_hint_px for ch in chains]))[owner]
    arc = np.concatenate(arcs)[index]
    i0 = starts[owner] + _searchsorted_rows(arcs, owner, arc - span / 2)
    i1 = starts[owner] + np.clip(_searchsorted_rows(arcs, owner, arc + span / 2), 0,
                                 sizes[owner] - 1)
    rc = np.concatenate([ch.rc for ch in chains])
    v = rc[i1] - rc[i0]
    n = np.hypot(v[:, 0], v[:, 1])[:, None]
    return np.where(n > 0, v / np.maximum(n, 1e-9), np.array([[1.0, 0.0]]))


def _profile_widths(chains: list[_Chain], arcs: list[np.ndarray], fraction: np.ndarray,
                    shape: tuple[int, int],
                    params: TraceParams) -> tuple[np.ndarray, list[np.ndarray]]:
    """Integrated hair fraction across each centreline (px).

    Returns
    -------
    widths : ndarray, shape (n_chains,)
        The median of each centreline's profiles, those wider than
        ``width_outlier_ratio`` times that median left out (a neighbour
        lying alongside, a crossing).
    profiles : list of ndarray
        Each centreline's profile integrals, in increasing order.
    """
    owner, index = _sample_points(chains, arcs, shape, params)
    centre = np.concatenate([ch.rc for ch in chains])[index]
    t = _tangents(chains, arcs, owner, index)
    normal = np.stack([-t[:, 1], t[:, 0]], axis=1)
    reach = params.profile_reach_widths * max(ch.width_hint_px for ch in chains) + 2.0
    # Symmetric about the centreline: the middle sample lies on it.
    half = int(np.ceil(reach / params.profile_step_px))
    offsets = np.arange(-half, half + 1) * params.profile_step_px
    rows = offsets[None, :] * normal[:, :1]
    rows += centre[:, :1]
    cols = offsets[None, :] * normal[:, 1:]
    cols += centre[:, 1:]
    prof = _sample(fraction, rows, cols)
    mid = len(offsets) // 2
    total = np.zeros(len(centre))
    for side in (prof[:, mid:], prof[:, mid::-1]):
        runmin = np.minimum.accumulate(side, axis=1)
        ok = (side > params.profile_stop_fraction) & (side - runmin <= params.profile_rise_fraction)
        ok = np.logical_and.accumulate(ok, axis=1)
        total += (side * ok).sum(axis=1) * params.profile_step_px
    total -= prof[:, mid] * params.profile_step_px  # centre counted twice
    # Every centreline has a profile (see _sample_points).
    medians, profiles = _group_medians(owner, total, len(chains))
    if params.width_outlier_ratio > 0:
        medians = np.array([_median_up_to(p, params.width_outlier_ratio * m)
                            for p, m in zip(profiles, medians)])
    return medians, profiles


def _median_up_to(ordered: np.ndarray, limit: float) -> float:
    """The median of the values of ``ordered`` (increasing) up to ``limit``.

    ``limit`` is at least the median of all the values
    (``trace.width_outlier_ratio`` is 0 or at least 1), so some value is kept.
    """
    k = int(np.searchsorted(ordered, limit, side="right"))
    return float(ordered[(k - 1) // 2] + ordered[k // 2]) / 2.0
