"""The working resolution and scale of the segmentation.

The whole reduction that keeps the thinnest shaft about
``min_shaft_width_px`` wide, reduced and enlarged copies, the pass run on
the reduced copy, and the scale estimated from the shaft widths when the
photo is uncalibrated.
"""

from __future__ import annotations

import cv2
import numpy as np

from scalpmetrics.params import SegmentParams
from scalpmetrics.segment.detection import _segment_at_scale


def working_factor(px_per_mm: float, params: SegmentParams = SegmentParams()) -> int:
    """Whole reduction that keeps the thinnest shaft ``min_shaft_width_px`` wide.

    Parameters
    ----------
    px_per_mm : float
        Pixel scale of the photo.
    params : SegmentParams
        Uses ``min_shaft_width_um`` and ``min_shaft_width_px``.

    Returns
    -------
    int
        1 (no reduction) or more.

    Examples
    --------
    >>> working_factor(100.0), working_factor(300.0)
    (1, 3)
    """
    width_px = params.min_shaft_width_um * px_per_mm / 1000.0
    return max(1, int(width_px / params.min_shaft_width_px))


def reduce_image(image: np.ndarray, factor: int) -> np.ndarray:
    """Area-averaged copy of ``image`` reduced ``factor`` times (each side
    ``side // factor``, at least 3 px); the image itself when ``factor`` is 1."""
    if factor == 1:
        return image
    h, w = image.shape[:2]
    return cv2.resize(image, (max(3, w // factor), max(3, h // factor)),
                      interpolation=cv2.INTER_AREA)


def reduce_mask(mask: np.ndarray, factor: int) -> np.ndarray:
    """A boolean mask reduced like :func:`reduce_image`: a reduced pixel is set
    when any of its pixels is; the mask itself when ``factor`` is 1."""
    if factor == 1:
        return mask
    if not mask.any():
        h, w = mask.shape[:2]
        return np.zeros((max(3, h // factor), max(3, w // factor)), dtype=bool)
    return reduce_image(mask.astype(np.float32), factor) > 0


def enlarge_mask(fraction: np.ndarray, shape: tuple[int, ...],
                 params: SegmentParams = SegmentParams()) -> np.ndarray:
    """Hair mask at full size from the coverage map of a reduced copy: the
    pixels at least ``edge_fraction`` covered after linear interpolation (the
    mask boundary at the interpolated level).

    Parameters
    ----------
    fraction : ndarray of float32, shape (h, w)
        Hair coverage of the reduced copy.
    shape : tuple
        The full-size shape; ``(H, W)`` is used.
    params : SegmentParams
        Uses ``edge_fraction``.

    Returns
    -------
    ndarray of bool, shape (H, W)
    """
    return _enlarge(fraction, shape) >= params.edge_fraction


def _enlarge(fraction: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    h, w = shape[:2]
    return cv2.resize(fraction, (w, h), interpolation=cv2.INTER_LINEAR)


def _segment(image: np.ndarray, scale_px_per_mm: float, params: SegmentParams,
             clipped: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    factor = working_factor(scale_px_per_mm, params)
    if factor == 1:
        return _segment_at_scale(image, scale_px_per_mm, params, clipped)
    small = reduce_image(image, factor)
    if clipped is not None:
        clipped = reduce_mask(clipped, factor)
    frac_small, _ = _segment_at_scale(
        small, scale_px_per_mm * small.shape[1] / image.shape[1], params, clipped)
    frac = _enlarge(frac_small, image.shape)
    mask = frac >= params.edge_fraction
    return np.where(mask, np.float32(1.0), frac * (frac > 0.05)).astype(np.float32), mask


def _estimate_scale(image: np.ndarray, params: SegmentParams,
                    clipped: np.ndarray | None) -> float:
    """Pixel scale implied by the median shaft width of a first pass."""
    first = image.shape[1] / params.uncalibrated_field_mm
    _, mask = _segment(image, first, params, clipped)
    if mask.sum() < params.min_pixels_for_scale:
        return first
    dist = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3)
    ridge = (dist >= cv2.dilate(dist, np.ones((3, 3), np.uint8))) & mask
    width_px = 2.0 * float(np.median(dist[ridge]))
    return max(width_px, 1.0) * 1000.0 / params.typical_shaft_width_um
