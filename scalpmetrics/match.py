"""Hair-to-hair matching between two visits.

Hairs are matched by their counting points (emergence points), both
expressed in baseline pixel coordinates (the follow-up's mapped through the
registration). The assignment is the one that pairs the most hairs closer
than a distance gate and, among those, has the smallest total distance
(Hungarian algorithm, :func:`scipy.optimize.linear_sum_assignment`), solved
separately on each connected group of candidate pairs so that large photos
stay fast.

Inside the common area:

* **new** hairs are follow-up hairs with no baseline partner,
* **lost** hairs are baseline hairs with no follow-up partner,
* **thickened** hairs are matched pairs that were vellus at baseline and are
  terminal at follow-up, **thinned** (miniaturised) ones the reverse.

Only hairs inside the common area take part, so that ``new - lost`` equals
the change of the hair count over the common area exactly.

Detection is never perfect: a hair found in one photo may be missed, or
merged with a neighbour, in the other, and would then pass for new or lost.
:func:`cross_check` looks for every unpaired hair in the *other* photo: the
middle part of its shaft is mapped there through the registration and the
share of it that the other photo's hair mask covers is measured
(:func:`shaft_evidence`). A hair whose shaft is there is a detection miss,
not a change: it is neither new nor lost, and it counts in both visits.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scalpmetrics.errors import ImageArrayError

#: Cost given to pairs beyond the gate; larger than any sum of gated distances.
_FORBIDDEN = 1e12


@dataclass(frozen=True, eq=False)
class HairMatching:
    """Which hairs of a follow-up are the baseline's, and what changed.

    Attributes
    ----------
    pairs : ndarray of int, shape (K, 2)
        ``(baseline index, follow-up index)`` of every matched pair (both
        inside the common area), indices into the point arrays given to
        :func:`match_hairs`.
    distance_px : ndarray of float, shape (K,)
        Distance between the paired points, baseline px.
    new : ndarray of int
        Follow-up indices of new hairs (inside the common area, unmatched).
    lost : ndarray of int
        Baseline indices of lost hairs (inside the common area, unmatched).
    thickened : ndarray of int
        Rows of ``pairs`` that went from vellus to terminal.
    thinned : ndarray of int
        Rows of ``pairs`` that went from terminal to vellus.
    missed_in_baseline : ndarray of int
        Follow-up indices of unpaired hairs whose shaft the baseline photo shows
        (set by :func:`cross_check`; not in ``new``). Pairs that
        :func:`cross_check` adds are appended to ``pairs`` and not classified
        as thickened or thinned.
    missed_in_followup : ndarray of int
        Baseline indices of unpaired hairs whose shaft the follow-up photo shows
        (set by :func:`cross_check`; not in ``lost``).
    """

    pairs: np.ndarray
    distance_px: np.ndarray
    new: np.ndarray
    lost: np.ndarray
    thickened: np.ndarray
    thinned: np.ndarray
    missed_in_baseline: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    missed_in_followup: np.ndarray = field(default_factory=lambda: np.zeros(0, int))

    def counts(self) -> dict[str, Any]:
        """``new_hairs``, ``lost_hairs``, ``thickened_hairs``, ``thinned_hairs``,
        ``matched_hairs`` and ``missed_hairs`` (unpaired but seen in the other photo)."""
        return {
            "new_hairs": int(self.new.size),
            "lost_hairs": int(self.lost.size),
            "thickened_hairs": int(self.thickened.size),
            "thinned_hairs": int(self.thinned.size),
            "matched_hairs": int(len(self.pairs)),
            "missed_hairs": int(self.missed_in_baseline.size + self.missed_in_followup.size),
        }


def assign_points(
    a_xy: np.ndarray,
    b_xy: np.ndarray,
    *,
    max_distance: float,
    a_direction: np.ndarray | None = None,
    across_weight: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Pair points of two sets one-to-one within a distance gate.

    Maximises the number of pairs closer than ``max_distance``, then
    minimises their summed distance.

    Parameters
    ----------
    a_xy : array_like, shape (N, 2)
    b_xy : array_like, shape (M, 2)
        Points in the same coordinates.
    max_distance : float
        Pairs further apart are not allowed (same unit as the points).
    a_direction : array_like, shape (N, 2), optional
        A direction at each point of ``a`` (any length; zero means none).
        Offsets across it count ``across_weight`` times: the distance is
        ``sqrt(along**2 + (across_weight * across)**2)``.
    across_weight : float
        At least 1.

    Returns
    -------
    pairs : ndarray of int, shape (K, 2)
        ``(index into a, index into b)``, sorted by the index into ``a``.
    distance : ndarray of float, shape (K,)
        The distance of each pair as defined above.

    Examples
    --------
    >>> pairs, d = assign_points([[0, 0], [10, 0]], [[9, 0], [1, 0], [50, 50]], max_distance=3)
    >>> pairs.tolist(), d.tolist()
    ([[0, 1], [1, 0]], [1.0, 1.0])
    >>> # along a vertical shaft, 4 px down is close but 2 px sideways is far
    >>> assign_points([[0, 0]], [[0, 4]], max_distance=5, a_direction=[[0, 1]], across_weight=3)[0].tolist()
    [[0, 0]]
    >>> assign_points([[0, 0]], [[2, 0]], max_distance=5, a_direction=[[0, 1]], across_weight=3)[0].tolist()
    []
    """
    from scipy.optimize import linear_sum_assignment
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    a = _points(a_xy, "a_xy")
    b = _points(b_xy, "b_xy")
    empty = (np.zeros((0, 2), int), np.zeros(0))
    if len(a) == 0 or len(b) == 0:
        return empty
    if across_weight < 1.0:
        raise ValueError("across_weight must be at least 1")
    cand = cKDTree(a).sparse_distance_matrix(cKDTree(b), max_distance, output_type="coo_matrix")
    rows, cols, dist = cand.row, cand.col, cand.data
    if a_direction is not None and across_weight > 1.0:
        u = _points(a_direction, "a_direction")
        if len(u) != len(a):
            raise ImageArrayError(f"a_direction has {len(u)} rows for {len(a)} points")
        norm = np.linalg.norm(u, axis=1)
        u = np.where(norm[:, None] > 0, u / np.maximum(norm, 1e-12)[:, None], 0.0)
        d = b[cols] - a[rows]
        uu = u[rows]
        along = np.einsum("ij,ij->i", d, uu)
        across = d[:, 0] * uu[:, 1] - d[:, 1] * uu[:, 0]
        weighted = np.hypot(along, across_weight * across)
        dist = np.where(norm[rows] > 0, weighted, dist)
        keep = dist <= max_distance
        rows, cols, dist = rows[keep], cols[keep], dist[keep]
    if rows.size == 0:
        return empty
    n, m = len(a), len(b)
    # connected groups of candidate pairs: nodes 0..n-1 are a, n..n+m-1 are b
    graph = coo_matrix((np.ones(rows.size), (rows, cols + n)), shape=(n + m, n + m))
    _, label = connected_components(graph, directed=False)
    out_pairs, out_dist = [], []
    for group in np.unique(label[rows]):
        ia = np.nonzero(label[:n] == group)[0]
        ib = np.nonzero(label[n:] == group)[0]
        cost = np.full((len(ia), len(ib)), _FORBIDDEN)
        sel = label[rows] == group
        cost[np.searchsorted(ia, rows[sel]), np.searchsorted(ib, cols[sel])] = dist[sel]
        r, c = linear_sum_assignment(cost)
        ok = cost[r, c] < _FORBIDDEN
        out_pairs.append(np.column_stack([ia[r[ok]], ib[c[ok]]]))
        out_dist.append(cost[r[ok], c[ok]])
    pairs = np.vstack(out_pairs).astype(int)
    out = np.concatenate(out_dist)
    order = np.argsort(pairs[:, 0], kind="stable")
    return pairs[order], out[order]


def match_hairs(
    baseline_xy: np.ndarray,
    followup_xy: np.ndarray,
    *,
    baseline_inside: np.ndarray,
    followup_inside: np.ndarray,
    baseline_terminal: np.ndarray | None,
    followup_terminal: np.ndarray | None,
    max_distance_px: float,
    baseline_direction: np.ndarray | None = None,
    across_weight: float = 1.0,
) -> HairMatching:
    """Match the hairs of two visits and classify what changed.

    Parameters
    ----------
    baseline_xy : array_like, shape (N, 2)
        Counting points of the baseline's counted hairs, baseline px.
    followup_xy : array_like, shape (M, 2)
        Counting points of the follow-up's counted hairs mapped into baseline px.
    baseline_inside, followup_inside : ndarray of bool, shapes (N,) and (M,)
        Whether each point lies in the common area.
    baseline_terminal, followup_terminal : ndarray of bool, or None
        Terminal (True) or vellus (False) per hair; ``None`` when uncalibrated
        (then nothing is thickened or thinned).
    max_distance_px : float
        Distance gate, baseline px.
    baseline_direction : ndarray, shape (N, 2), optional
        Shaft direction of each baseline hair (emergence to tip).
    across_weight : float
        Offsets across the shaft count this many times (hairs of one follicular
        unit sit side by side; detection errors run mostly along the shaft).

    Returns
    -------
    HairMatching
    """
    b_xy = _points(baseline_xy, "baseline_xy")
    f_xy = _points(followup_xy, "followup_xy")
    b_idx = np.nonzero(_flags(baseline_inside, len(b_xy), "baseline_inside"))[0]
    f_idx = np.nonzero(_flags(followup_inside, len(f_xy), "followup_inside"))[0]
    b_dir = None if baseline_direction is None else _points(baseline_direction, "direction")[b_idx]
    sub, dist = assign_points(b_xy[b_idx], f_xy[f_idx], max_distance=max_distance_px,
                              a_direction=b_dir, across_weight=across_weight)
    pairs = np.column_stack([b_idx[sub[:, 0]], f_idx[sub[:, 1]]]).astype(int)
    thickened = thinned = np.zeros(0, int)
    if baseline_terminal is not None and followup_terminal is not None:
        bt = _flags(baseline_terminal, len(b_xy), "baseline_terminal")[pairs[:, 0]]
        ft = _flags(followup_terminal, len(f_xy), "followup_terminal")[pairs[:, 1]]
        thickened = np.nonzero(~bt & ft)[0]
        thinned = np.nonzero(bt & ~ft)[0]
    return HairMatching(
        pairs=pairs,
        distance_px=dist,
        new=np.setdiff1d(f_idx, pairs[:, 1]),
        lost=np.setdiff1d(b_idx, pairs[:, 0]),
        thickened=thickened,
        thinned=thinned,
    )


def shaft_evidence(
    emergence_xy: np.ndarray,
    tip_xy: np.ndarray,
    other_hair_mask: np.ndarray,
    other_from_this: np.ndarray,
    *,
    span: tuple[float, float],
    samples: int,
    tolerance_px: int,
) -> np.ndarray:
    """How much of each shaft the other photo's hair mask covers.

    Parameters
    ----------
    emergence_xy, tip_xy : array_like, shape (N, 2)
        Ends of each shaft in this photo's pixels.
    other_hair_mask : ndarray of bool, shape (H, W)
        Hair mask of the other photo.
    other_from_this : ndarray, shape (3, 3)
        Homography from this photo's pixels to the other's.
    span : (float, float)
        Part of the shaft sampled, as fractions from emergence (0) to tip (1);
        the base is left out because hairs of one follicular unit crowd there.
    samples : int
        Points sampled along that part.
    tolerance_px : int
        The mask is grown by this many pixels first.

    Returns
    -------
    ndarray, shape (N,)
        Share of the sampled points (those inside the other photo) on hair;
        0 where none falls inside it.
    """
    import cv2

    from scalpmetrics.register import apply_homography

    e = _points(emergence_xy, "emergence_xy")
    t = _points(tip_xy, "tip_xy")
    if len(e) == 0:
        return np.zeros(0)
    mask = np.asarray(other_hair_mask, bool).astype(np.uint8)
    if tolerance_px > 0:
        mask = cv2.dilate(mask, np.ones((2 * tolerance_px + 1,) * 2, np.uint8))
    frac = np.linspace(span[0], span[1], samples)
    pts = e[:, None, :] + frac[None, :, None] * (t - e)[:, None, :]
    mapped = apply_homography(other_from_this, pts.reshape(-1, 2)).reshape(len(e), samples, 2)
    col = np.floor(mapped[..., 0] + 0.5).astype(np.int64)
    row = np.floor(mapped[..., 1] + 0.5).astype(np.int64)
    h, w = mask.shape
    ok = (row >= 0) & (row < h) & (col >= 0) & (col < w)
    hit = np.zeros(ok.shape, bool)
    hit[ok] = mask[row[ok], col[ok]] > 0
    n = ok.sum(axis=1)
    return np.where(n > 0, hit.sum(axis=1) / np.maximum(n, 1), 0.0)


def cross_check(
    matching: HairMatching,
    *,
    followup_seen: np.ndarray,
    baseline_seen: np.ndarray,
    baseline_xy: np.ndarray,
    followup_xy: np.ndarray,
    max_distance_px: float,
) -> HairMatching:
    """Take unpaired hairs that the other photo shows out of ``new`` and ``lost``.

    Such hairs are in both photos. A baseline one and a follow-up one closer
    than ``max_distance_px`` (in any direction) are taken to be the same hair
    and paired, so it is not counted twice; the others are recorded in
    ``missed_in_baseline`` / ``missed_in_followup``.

    Parameters
    ----------
    matching : HairMatching
        From :func:`match_hairs` with the same points.
    followup_seen : ndarray of bool, shape (len(matching.new),)
        Whether each new hair's shaft is in the baseline photo.
    baseline_seen : ndarray of bool, shape (len(matching.lost),)
        Whether each lost hair's shaft is in the follow-up photo.
    baseline_xy, followup_xy : ndarray, shapes (N, 2) and (M, 2)
        The points given to :func:`match_hairs`, baseline px.
    max_distance_px : float
        Pairing distance for hairs seen in both photos.

    Returns
    -------
    HairMatching
    """
    fs = _flags(followup_seen, matching.new.size, "followup_seen")
    bs = _flags(baseline_seen, matching.lost.size, "baseline_seen")
    seen_f, seen_b = matching.new[fs], matching.lost[bs]
    extra, dist = assign_points(_points(baseline_xy, "baseline_xy")[seen_b],
                                _points(followup_xy, "followup_xy")[seen_f],
                                max_distance=max_distance_px)
    extra_pairs = np.column_stack([seen_b[extra[:, 0]], seen_f[extra[:, 1]]]).astype(int)
    return dataclasses.replace(
        matching,
        pairs=np.vstack([matching.pairs, extra_pairs]),
        distance_px=np.concatenate([matching.distance_px, dist]),
        new=matching.new[~fs],
        lost=matching.lost[~bs],
        missed_in_baseline=np.setdiff1d(seen_f, extra_pairs[:, 1]),
        missed_in_followup=np.setdiff1d(seen_b, extra_pairs[:, 0]),
    )


def _points(xy: Any, what: str) -> np.ndarray:
    arr = np.asarray(xy, dtype=np.float64)
    if arr.size == 0:
        return np.zeros((0, 2))
    if arr.ndim != 2 or arr.shape[1] != 2 or not np.all(np.isfinite(arr)):
        raise ImageArrayError(f"{what} must be finite points of shape (N, 2), got {arr.shape}")
    return arr


def _flags(values: Any, n: int, what: str) -> np.ndarray:
    arr = np.asarray(values, dtype=bool).reshape(-1)
    if arr.size != n:
        raise ImageArrayError(f"{what} has {arr.size} entries for {n} points")
    return arr
