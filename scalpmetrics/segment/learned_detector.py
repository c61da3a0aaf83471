"""The learned detector (``method = "learned"``): the mask from the learned coverage.

Also the learned mask's traced cores, the cores joined through the mask
(for long hair) and the small holes that become hair.
"""

from __future__ import annotations

import cv2
import numpy as np

from scalpmetrics.learned import predict_fraction
from scalpmetrics.params import SegmentParams
from scalpmetrics.segment.pieces import _blob_filter
from scalpmetrics.segment.result import HairSegmentation


def _detect_learned(whitened: np.ndarray, um: float, params: SegmentParams,
                    excluded: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hair from the learned per-pixel coverage (:mod:`scalpmetrics.learned`).

    The cores (pixels estimated at least ``learned_core_fraction`` covered)
    must pass the shape filters (length, compact blobs); the hair mask is
    the pixels at least ``edge_fraction`` covered connected to a kept core.
    The fraction map is the estimated coverage on the mask and its one-pixel
    rim, 0 elsewhere.
    """
    cover = predict_fraction(whitened, um)
    cover[excluded] = 0.0
    core = (cover >= params.learned_core_fraction).astype(np.uint8)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(core, connectivity=8)
    kept_core = _blob_filter(stats, params.min_shaft_length_um * um,
                             params.max_blob_diameter_um * um, params)[labels]
    n, labels = cv2.connectedComponents((cover >= params.edge_fraction).astype(np.uint8),
                                        connectivity=8)
    reached = np.zeros(n, dtype=bool)
    reached[labels[kept_core]] = True
    reached[0] = False
    mask = reached[labels]
    near = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    cover[~near] = 0.0
    return cover, mask


def _learned_cores(fraction: np.ndarray, params: SegmentParams) -> np.ndarray:
    """Pixels whose median coverage over a ``learned_core_median_px`` square is at
    least ``learned_core_fraction`` (the median of the thresholded map: the same)."""
    core = (fraction >= np.float32(params.learned_core_fraction)).astype(np.uint8)
    if params.learned_core_median_px > 1:
        core = cv2.medianBlur(core, params.learned_core_median_px)
    return core.astype(bool)


def joined_cores(seg: HairSegmentation) -> np.ndarray:
    """The traced cores joined through the interior of the hair mask.

    The interior is the mask less its one-pixel rim (the pixels whose four
    neighbours are all hair). On long unclipped hair, light or close to the
    skin's colour, the cores break along the shafts and at every crossing,
    and each piece would be counted as a hair; traced on this mask the shafts
    stay whole (``trace.long_hair_tracing``, ``docs/methods.md``). Unit mates
    that run merged in the mask are joined too, which is why clipped hair is
    traced on the cores alone.

    Parameters
    ----------
    seg : HairSegmentation

    Returns
    -------
    ndarray of bool, shape (H, W)
    """
    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    return seg.trace_mask | cv2.erode(seg.mask.astype(np.uint8), cross).astype(bool)


def _small_holes(mask: np.ndarray, um: float, params: SegmentParams) -> np.ndarray:
    """The holes of ``mask`` of at most ``fill_hole_max_um2`` (``um`` px per um):
    4-connected non-mask pieces that do not touch the image border."""
    if params.fill_hole_max_um2 <= 0:
        return np.zeros(mask.shape, dtype=bool)
    _, labels, stats, _ = cv2.connectedComponentsWithStats((~mask).astype(np.uint8), connectivity=4)
    h, w = mask.shape
    x, y, bw, bh, area = stats.T
    inside = (x > 0) & (y > 0) & (x + bw < w) & (y + bh < h)
    small = (area <= params.fill_hole_max_um2 * um * um) & inside
    small[0] = False  # label 0: the mask itself
    return small[labels] & ~mask
