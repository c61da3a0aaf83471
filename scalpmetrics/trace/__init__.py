"""Individual hair shafts from a hair mask.

Method (details in ``docs/methods.md``), one module a step:

1. **Skeleton graph** (:mod:`~scalpmetrics.trace.skeleton`). The mask is
   thinned to a one-pixel centreline; pixels with three or more branches
   are junctions. Junctions closer than a shaft width are merged (a
   crossing of two wide shafts thins to two nearby junctions), short spurs
   are pruned, and the rest is cut into ordered segments between ends and
   junctions.
2. **Shafts through junctions** (:mod:`~scalpmetrics.trace.chains`). At
   each junction the segments are paired by direction continuity (the
   straightest continuation first, bends up to ``max_bend_deg``); paired
   segments are one shaft, unpaired ones end there (a hair leaving a
   follicular unit, or touching another). Chains of paired segments are
   the shafts.
3. **Width** (:mod:`~scalpmetrics.trace.widths`). The hair-coverage map
   (the mask itself unless one is given) is integrated across the shaft on
   perpendicular profiles every ``width_sample_step_px``, away from
   junctions; the shaft's width is the median of those integrals, leaving
   out those wider than ``width_outlier_ratio`` times it (a neighbour lying
   alongside).
4. **Ends** (:mod:`~scalpmetrics.trace.ends`). An end is *cut by the
   border* when it lies within a shaft width of the image edge. Of the two
   ends, the emergence end is chosen by the rule in
   :func:`~scalpmetrics.trace.ends._emergence`; a shaft is counted when its
   emergence point is a true end inside the image (``counted``).
5. **Follicular units** (:mod:`~scalpmetrics.trace.units`). Emergence
   points closer than ``follicular_unit_radius_um`` are grouped (single
   linkage).

:mod:`~scalpmetrics.trace.primitives` holds the array helpers the steps share.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

from scalpmetrics.errors import ImageArrayError
from scalpmetrics.params import TraceParams
from scalpmetrics.trace.chains import _build_chains, _pair_at_nodes, _split_corners
from scalpmetrics.trace.ends import _darkness, _emergence, _end_cues
from scalpmetrics.trace.primitives import _arc_lengths
from scalpmetrics.trace.skeleton import _simplify, _skeleton_graph, _thin
from scalpmetrics.trace.units import _follicular_units, _split_side_by_side
from scalpmetrics.trace.widths import _profile_widths
from scalpmetrics.types import Hair

__all__ = ["trace_hairs"]


def trace_hairs(mask: np.ndarray, image: np.ndarray, *, px_per_mm: float | None,
                params: TraceParams = TraceParams(),
                fraction: np.ndarray | None = None) -> tuple[Hair, ...]:
    """Split a hair mask into individual shafts and measure each.

    Parameters
    ----------
    mask : ndarray of bool, shape (H, W)
        Hair mask (see :func:`scalpmetrics.segment.segment_hair`). Not modified.
    image : ndarray, shape (H, W, 3), float32
        The normalised photo the mask came from.
    px_per_mm : float or None
        Pixel scale; without it widths in um and terminal/vellus are ``None``
        and length limits are taken relative to the median shaft width.
    params : TraceParams
        Tracing parameters.
    fraction : ndarray of float32, shape (H, W), optional
        Sub-pixel hair coverage (see :func:`scalpmetrics.segment.segment_hair_fraction`);
        widths are integrated on it. Without it the binary mask is used and
        widths are only whole-pixel accurate.

    Returns
    -------
    tuple of Hair
        One entry per traced shaft, counted or not, in a deterministic order.
    """
    if mask.ndim != 2:
        raise ImageArrayError(f"expected a 2-D mask, got shape {mask.shape}")
    if image.shape[:2] != mask.shape:
        raise ImageArrayError(f"mask {mask.shape} and image {image.shape[:2]} differ in size")
    mask = mask.astype(bool)
    if fraction is None:
        fraction = mask.astype(np.float32)
    elif fraction.shape != mask.shape:
        raise ImageArrayError(f"fraction {fraction.shape} and mask {mask.shape} differ in size")
    fraction = np.ascontiguousarray(fraction, dtype=np.float32)
    if not mask.any():
        return ()
    shape = mask.shape
    with ThreadPoolExecutor(max_workers=1) as pool:
        # Independent work overlapped in a second thread: the darkness map and
        # half the thinning while the other half is thinned, the width
        # profiles while the ends are judged.
        darkness = pool.submit(_darkness, image)
        dist = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3)
        segments, node_map = _skeleton_graph(_thin(mask, dist, pool), dist, params)
        segments = _simplify(segments, int(node_map.max()), params)
        partner = _pair_at_nodes(segments, params)
        built = _build_chains(segments, partner)
        chains = _split_corners(built, _arc_lengths([ch.rc for ch in built]), params)
        chains = [c for c in chains if len(c.rc) >= 2]
        if not chains:
            return ()
        arcs = _arc_lengths([ch.rc for ch in chains])
        widths = pool.submit(_profile_widths, chains, arcs, fraction, shape, params)
        scale = px_per_mm
        if scale is None:
            scale = float(np.median(widths.result()[0])) * 1000.0 / params.typical_shaft_width_um
        um_per_px = 1000.0 / scale
        cues = _end_cues(chains, arcs, darkness.result(), mask, um_per_px, params)
        decisions = _emergence(chains, arcs, cues, shape, um_per_px, params)
        widths_px, profiles = widths.result()
    hairs_raw = []
    for ch, arc, wpx, (emerge, inside, root) in zip(chains, arcs, widths_px, decisions):
        length = arc[-1]
        # A free end of the thinned centreline stops about half a width short.
        length += 0.5 * ch.width_hint_px * sum(k == "free" for k in ch.end_kinds)
        # A branch parting from a counted hair (see _forks) shares its trunk
        # from the emergence point: the hair's visible length includes it.
        length += float(np.hypot(*(root - ch.rc[0 if emerge == 0 else -1])))
        counted = (inside and length * um_per_px >= params.min_shaft_length_um
                   and length >= params.min_shaft_length_widths * wpx
                   and wpx * um_per_px >= params.min_shaft_width_um)
        hairs_raw.append((ch, float(wpx), float(length), emerge, counted, root))
    hairs_raw = _split_side_by_side(hairs_raw, profiles, um_per_px, params)
    emergence = np.array([root[::-1] for *_, root in hairs_raw])
    counted_idx = [i for i, h in enumerate(hairs_raw) if h[4]]
    units = np.full(len(hairs_raw), -1, dtype=int)
    if counted_idx:
        radius = params.follicular_unit_radius_um / um_per_px
        units[counted_idx] = _follicular_units(emergence[counted_idx], radius)
    hairs = []
    for i, (ch, wpx, length, e, counted, _) in enumerate(hairs_raw):
        tip = ch.rc[-1 if e == 0 else 0][::-1]
        width_um = wpx * 1000.0 / px_per_mm if px_per_mm is not None else None
        hairs.append(Hair(
            hair_id=i,
            emergence_xy_px=(float(emergence[i][0]), float(emergence[i][1])),
            tip_xy_px=(float(tip[0]), float(tip[1])),
            length_px=length,
            width_px=wpx,
            width_um=width_um,
            is_terminal=None if width_um is None else bool(width_um >= params.vellus_cutoff_um),
            counted=bool(counted),
            unit_id=int(units[i]),
        ))
    return tuple(hairs)
