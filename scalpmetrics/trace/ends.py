"""Step 4 of the tracing: which end of each shaft is where it leaves the
skin, from the skin just beyond each end, the hair stream around it and the
forks of follicular-unit mates."""

from __future__ import annotations

import warnings

import cv2
import numpy as np
from scipy.spatial import cKDTree

from scalpmetrics.normalize import luminance
from scalpmetrics.params import TraceParams
from scalpmetrics.segment import skin_peak
from scalpmetrics.trace.chains import _Chain, _end_directions, _is_loop
from scalpmetrics.trace.primitives import _sample


def _at_border(rc: np.ndarray, shape: tuple[int, int], margin: np.ndarray) -> np.ndarray:
    """Whether each (row, col) point of ``rc`` (..., 2) lies within ``margin``
    (broadcast against ``rc[..., 0]``) of the image's edge."""
    r, c = rc[..., 0], rc[..., 1]
    return (r < margin) | (c < margin) | (r > shape[0] - 1 - margin) | (c > shape[1] - 1 - margin)


def _neighbours(tree: cKDTree, which: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Every point of ``tree`` within ``radius`` of the points ``which``
    (themselves included), as pairs: (which point, neighbour), each point's
    neighbours in increasing order."""
    pairs = cKDTree(tree.data[which]).sparse_distance_matrix(tree, radius, output_type="ndarray")
    order = np.lexsort((pairs["j"], pairs["i"]))
    return which[pairs["i"][order]], pairs["j"][order]


def _darkness(image: np.ndarray) -> np.ndarray:
    """Log luminance below the skin's (positive = darker than skin)."""
    lum = cv2.log(luminance(image) + np.float32(1.0 / 255.0))
    step = max(1, lum.size // 200_000)
    centre, _ = skin_peak(lum.reshape(-1)[::step])
    return np.float32(centre) - lum


def _end_cues(chains: list[_Chain], arcs: list[np.ndarray], darkness: np.ndarray,
              mask: np.ndarray, um_per_px: float, params: TraceParams) -> np.ndarray:
    """How much darker the skin just beyond each end is than the skin beside
    the shaft near that end, (n, 2) in log luminance.

    A hair leaves the skin through a follicular opening (a darker dot) with
    its subsurface part showing as a dark shadow behind it; a cut tip or a
    free end has plain skin beyond it. Hair pixels are left out; NaN when no
    skin pixel beyond the end is sampled.
    """
    n_along, n_across = params.cue_samples_along, 3
    n = len(chains)
    w = np.array([ch.width_hint_px for ch in chains])
    reach = np.maximum(params.cue_length_um / um_per_px, 2.0 * w)
    along = np.linspace(w, w + reach, n_along, axis=1)[:, :, None, None]
    across = np.linspace(-0.5 * w, 0.5 * w, n_across, axis=1)[:, None, :, None]
    beside_along = -np.linspace(0.5 * w, 0.5 * w + reach, n_along, axis=1)[:, :, None, None]
    beside_across = (np.array([-1.0, 1.0, 1.5]) * params.cue_side_widths)[None, :] * w[:, None]
    beside_across[:, 2] = -beside_across[:, 2]
    beside_across = beside_across[:, None, :, None]
    pts = np.zeros((n, 2, 2 * n_along * n_across, 2))
    for e in (0, 1):
        which = np.arange(n)
        out = -_end_directions([ch.rc for ch in chains], arcs, w, which,
                               np.full(n, e == 0), params)[:, None, None, :]
        normal = np.stack([-out[..., 1], out[..., 0]], axis=-1)
        p0 = np.array([ch.rc[0 if e == 0 else -1] for ch in chains])[:, None, None, :]
        ahead = p0 + along * out + across * normal
        beside = p0 + beside_along * out + beside_across * normal
        pts[:, e] = np.concatenate([ahead.reshape(n, -1, 2), beside.reshape(n, -1, 2)], axis=1)
    flat = pts.reshape(-1, 2)
    val = _sample(darkness, flat[:, 0], flat[:, 1], outside=np.nan)
    hair = _sample(mask.astype(np.uint8), flat[:, 0], flat[:, 1], nearest=True, outside=1)
    val = np.where(np.isfinite(val) & (hair == 0), val, np.nan).reshape(len(chains), 2, 2, -1)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ahead = np.nanmean(val[:, :, 0], axis=2)
        beside = np.nanmedian(val[:, :, 1], axis=2)
    return ahead - np.where(np.isfinite(beside), beside, 0.0)


def _emergence(chains: list[_Chain], arcs: list[np.ndarray], cues: np.ndarray,
               shape: tuple[int, int],
               um_per_px: float, params: TraceParams) -> list[tuple[int, bool, np.ndarray]]:
    """For each shaft: the end it emerges from, whether it counts, and its emergence point.

    The emergence end is chosen by evidence at the ends and by the hair
    stream. At each end, the skin beyond it is compared with the skin beside
    the shaft (:func:`_end_cues`): a follicular opening and the subsurface
    shadow make it darker. Neighbouring hairs leave the skin in nearly the
    same direction, so each shaft's end-to-end evidence is added to the
    (Gaussian-weighted, ``flow_radius_um``) mean evidence of its neighbours,
    projected on its own direction, with weight ``flow_weight``.

    The shaft counts when its emergence end lies inside the image (not cut
    by the border) and is

    * a free end, or a junction where shafts only end (several hairs leaving
      one opening), or a junction within ``fork_reach_um`` (along a shaft) of
      a counted free emergence end: a hair of a follicular unit leaving the
      group where the shafts separate, or a junction with another shaft when
      this one ends in a free tip inside the image (a hair emerging against a
      neighbour that lies over its opening); unless the shaft is a loose cut
      hair (below), or
    * the apex of a sharp V (two hairs leaving one opening) whose other end
      is a free tip inside the image, or where the skin beyond the apex is
      at least ``apex_cue_log`` darker than beside the shaft (the opening
      seen), or which lies within ``fork_reach_um`` of a counted free
      emergence end, or
    * a branch parting from a counted hair of the same opening
      (:func:`_forks`); its emergence point is that hair's.

    Otherwise it crosses the field, emerges outside it, or continues a shaft
    counted elsewhere, and does not count. A loose cut hair lying on the
    skin, or a piece of one cut by the hairs it lies on, is a shaft with a
    free end, both ends inside the image, no V apex and no opening darker
    than ``loose_cue_log`` at either end, that lies across the local hair
    stream (:func:`_across_stream`).
    """
    n = len(chains)
    known = np.isfinite(cues).all(axis=1)
    cue = np.where(np.isfinite(cues), cues, 0.0)
    own = np.where(known, cue[:, 0] - cue[:, 1], 0.0)
    ends = np.array([[ch.rc[0], ch.rc[-1]] for ch in chains])  # (n, 2, 2) row/col
    chord = ends[:, 1] - ends[:, 0]
    chord /= np.maximum(np.hypot(chord[:, 0], chord[:, 1]), 1e-9)[:, None]
    # Evidence that end 0 is the emergence, as a vector pointing from root to tip.
    evidence = own[:, None] * chord
    centres = ends.mean(axis=1)
    tree = cKDTree(centres)
    flow = np.zeros_like(evidence)
    radius = params.flow_radius_um / um_per_px
    if n > 1 and radius > 0:
        k, near = _neighbours(tree, np.arange(n), 2.0 * radius)
        wts = np.exp(-0.5 * np.sum((centres[near] - centres[k]) ** 2, axis=1) / radius**2)
        total = np.bincount(k, weights=wts, minlength=n)
        for axis in (0, 1):
            flow[:, axis] = np.bincount(k, weights=wts * evidence[near, axis], minlength=n) / total
    score = own + params.flow_weight * np.einsum("ij,ij->i", flow, chord)
    margins = params.border_margin_widths * np.array([ch.width_hint_px for ch in chains]) + 1.0
    border = _at_border(ends, shape, margins[:, None]).tolist()
    choice = [0 if score[k] >= 0 else 1 for k in range(n)]
    # Junctions some shaft passes straight through (crossings, not shared openings).
    # A loop (a chain leaving and re-entering one junction round a hole in the
    # mask) crosses nothing.
    crossed = {nd for ch in chains if not _is_loop(ch) for _, nd in ch.passes}
    reach = params.fork_reach_um / um_per_px
    # A free end, no V apex, both ends inside the image and no opening seen:
    # maybe a loose cut hair (or a piece of one cut by the hairs it lies on).
    may_be_loose = np.array(["free" in ch.end_kinds and "corner" not in ch.end_kinds
                             and not any(border[k]) and max(cue[k]) < params.loose_cue_log
                             for k, ch in enumerate(chains)], dtype=bool)
    loose = may_be_loose & _across_stream(ends, tree, may_be_loose, um_per_px, params)
    open_nodes: set[int] = set()
    free_counted = []
    for k, ch in enumerate(chains):
        e = choice[k]
        ok = ch.end_kinds[e] == "free" and not border[k][e] and not loose[k]
        free_counted.append(ok)
        if not ok:
            continue
        arc = arcs[k]
        for i, nd in ch.passes:
            if (arc[i] if e == 0 else arc[-1] - arc[i]) <= reach:
                open_nodes.add(nd)
        far = ch.end_nodes[1 - e]
        if far >= 0 and arc[-1] <= reach:
            open_nodes.add(far)
    # A V apex counts when an opening seen directly lies within reach of it.
    seen_xy = np.array([chains[k].rc[0 if choice[k] == 0 else -1]
                        for k in range(n) if free_counted[k]]).reshape(-1, 2)
    near_open = [False] * n
    for k, ch in enumerate(chains):
        e = choice[k]
        if ch.end_kinds[e] != "corner":
            continue
        tip_free = ch.end_kinds[1 - e] == "free" and not border[k][1 - e]
        p = ch.rc[0 if e == 0 else -1]
        opening = bool(np.isfinite(cues[k][e]) and cues[k][e] >= params.apex_cue_log)
        near_open[k] = tip_free or opening or (len(seen_xy) > 0
                                    and bool(np.min(np.hypot(*(seen_xy - p).T)) <= reach))
    forks = _forks(chains, arcs, choice, free_counted, border, um_per_px, params)
    out = []
    for k, ch in enumerate(chains):
        if k in forks:
            e, root = forks[k]
            out.append((e, True, root))
            continue
        e = choice[k]
        kind = ch.end_kinds[e]
        if border[k][e] or _is_loop(ch):
            counted = False
        elif kind == "free":
            counted = free_counted[k]
        elif kind == "node":
            nd = ch.end_nodes[e]
            tip_free = ch.end_kinds[1 - e] == "free" and not border[k][1 - e]
            counted = (nd in open_nodes or nd not in crossed or tip_free) and not loose[k]
        else:
            counted = near_open[k]
        out.append((e, counted, ch.rc[0 if e == 0 else -1]))
    return out


def _across_stream(ends: np.ndarray, tree: cKDTree, which: np.ndarray, um_per_px: float,
                   params: TraceParams) -> np.ndarray:
    """Whether each shaft ``which`` selects lies across the local hair stream.

    Hairs of one patch of scalp leave the skin in nearly the same direction;
    a cut hair lying loose on the skin points anywhere. The stream at a shaft
    is the mean orientation (on the doubled-angle circle, so direction signs
    do not matter) of every other shaft, weighted by its end-to-end length
    and a Gaussian of ``stream_radius_um``. A shaft lies across it when the
    stream is known (at least ``stream_min_shafts`` other shafts within two
    radii) and coherent (mean resultant at least ``loose_min_coherence``),
    and the shaft turns away from it by more than ``loose_min_angle_deg``.

    Parameters
    ----------
    ends : ndarray, shape (N, 2, 2)
        The (row, col) of both ends of every shaft.
    tree : scipy.spatial.cKDTree
        Of the shafts' centres (the mean of their two ends).
    which : ndarray of bool, shape (N,)
        The shafts to judge; the others are ``False``.
    um_per_px : float
        Pixel size.
    params : TraceParams
        Tracing parameters.

    Returns
    -------
    ndarray of bool, shape (N,)
    """
    out = np.zeros(len(ends), dtype=bool)
    if not which.any():
        return out
    chord = ends[:, 1] - ends[:, 0]
    length = np.hypot(chord[:, 0], chord[:, 1])
    doubled = 2.0 * np.arctan2(chord[:, 0], chord[:, 1])
    unit = np.stack([np.cos(doubled), np.sin(doubled)], axis=1)
    centres = tree.data
    sigma = params.stream_radius_um / um_per_px
    cos_max = np.cos(np.radians(2.0 * params.loose_min_angle_deg))
    n = len(ends)
    k, near = _neighbours(tree, np.flatnonzero(which), 3.0 * sigma)
    k, near = k[near != k], near[near != k]
    d2 = np.sum((centres[near] - centres[k]) ** 2, axis=1)
    known = np.bincount(k, weights=d2 <= 4.0 * sigma**2, minlength=n) >= params.stream_min_shafts
    wts = length[near] * np.exp(-0.5 * d2 / sigma**2)
    total = np.bincount(k, weights=wts, minlength=n)
    judged = which & known & (total > 0)
    mean = np.stack([np.bincount(k, weights=wts * unit[near, axis], minlength=n)
                     for axis in (0, 1)], axis=1)[judged] / total[judged, None]
    resultant = np.hypot(mean[:, 0], mean[:, 1])
    coherent = resultant >= params.loose_min_coherence
    # cos of the doubled angle between the shaft and the stream.
    with np.errstate(invalid="ignore", divide="ignore"):
        across = np.einsum("ij,ij->i", unit[judged], mean) / resultant < cos_max
    out[judged] = coherent & across
    return out


def _forks(chains: list[_Chain], arcs: list[np.ndarray], choice: list[int],
           free_counted: list[bool],
           border: list[list[bool]], um_per_px: float, params: TraceParams
           ) -> dict[int, tuple[int, np.ndarray]]:
    """Shafts that part from a counted hair: hairs of one opening that ran merged.

    Hairs of a follicular unit leave one opening side by side and part a
    little further on, so the mask shows one trunk that forks. The trunk
    and the straightest branch are traced as one shaft (counted at its free
    emergence end); every other branch ends at a junction on it. A shaft
    whose one end is such a junction, no further than ``fork_trunk_max_um``
    along the counted shaft from its emergence, whose other end is a free
    tip inside the image, and which leaves the junction within
    ``fork_max_angle_deg`` of the counted shaft's onward direction is a
    hair of the same opening.

    Returns
    -------
    dict
        For each such shaft: its end at the junction (0 or 1) and the
        emergence point it shares (row, col).
    """
    ending: dict[int, list[tuple[int, int]]] = {}
    for k, ch in enumerate(chains):
        for j in (0, 1):
            if ch.end_kinds[j] == "node" and ch.end_kinds[1 - j] == "free" and not border[k][1 - j]:
                ending.setdefault(ch.end_nodes[j], []).append((k, j))
    ends = [end for group in ending.values() for end in group]
    directions = _end_directions([ch.rc for ch in chains], arcs,
                                 np.array([ch.width_hint_px for ch in chains]),
                                 np.array([k for k, _ in ends], dtype=np.int64),
                                 np.array([j == 0 for _, j in ends], dtype=bool), params)
    away = dict(zip(ends, directions))
    cos_max = np.cos(np.radians(params.fork_max_angle_deg))
    reach = params.fork_trunk_max_um / um_per_px
    out: dict[int, tuple[int, np.ndarray]] = {}
    for c, ch in enumerate(chains):
        if not free_counted[c]:
            continue
        e = choice[c]
        arc = arcs[c]
        root = ch.rc[0 if e == 0 else -1]
        span = params.direction_span_widths * ch.width_hint_px
        for i, nd in ch.passes:
            along = arc[i] if e == 0 else arc[-1] - arc[i]
            if along > reach or nd not in ending:
                continue
            target = arc[i] + span if e == 0 else arc[i] - span
            i2 = int(np.clip(np.searchsorted(arc, target), 0, len(arc) - 1))
            onward = ch.rc[i2] - ch.rc[i]
            norm = float(np.hypot(*onward))
            if norm == 0:
                continue
            onward = onward / norm
            for k, j in ending[nd]:
                if k == c or k in out:
                    continue
                if float(away[(k, j)] @ onward) >= cos_max:
                    out[k] = (j, root)
    return out
