"""Pixels left out of the statistics or the mask: those never hair (graphics,
blank border bands) and those clipped in the photo.
"""

from __future__ import annotations

import cv2
import numpy as np

from scalpmetrics.errors import ImageArrayError
from scalpmetrics.params import SegmentParams
from scalpmetrics.segment.shortcuts import _channel_sum


def _blank_border_area(image: np.ndarray, params: SegmentParams) -> np.ndarray:
    """Perfectly flat areas joined to the image border (a capture device's
    grey band or frame), grown by the window: not scalp, never hair.

    Pixels whose luminance varies by less than ``blank_max_std`` over a
    ``blank_window_px`` window are flat; flat pieces touching the border and
    covering at least ``blank_min_area_fraction`` of the image are kept.
    """
    k = params.blank_window_px
    lum = _channel_sum(image) / np.float32(3.0)
    mean = cv2.blur(lum, (k, k))
    var = cv2.blur(lum * lum, (k, k)) - mean * mean
    flat = (var < np.float32(params.blank_max_std) ** 2).astype(np.uint8)
    h, w = lum.shape
    min_area_px = params.blank_min_area_fraction * h * w
    if np.count_nonzero(flat) < min_area_px:
        return np.zeros(lum.shape, dtype=bool)  # too few flat pixels for any piece
    n, labels, stats, _ = cv2.connectedComponentsWithStats(flat, connectivity=8)
    x0, y0 = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    x1 = x0 + stats[:, cv2.CC_STAT_WIDTH]
    y1 = y0 + stats[:, cv2.CC_STAT_HEIGHT]
    border = (x0 == 0) | (y0 == 0) | (x1 >= w) | (y1 >= h)
    big = stats[:, cv2.CC_STAT_AREA] >= min_area_px
    keep = border & big
    keep[0] = False
    if not keep.any():
        return np.zeros(lum.shape, dtype=bool)
    return cv2.dilate(keep[labels].astype(np.uint8), np.ones((k, k), np.uint8)).astype(bool)


def _never_hair(image: np.ndarray, params: SegmentParams) -> np.ndarray:
    """Pixels that are never hair: saturated colours no hair has (graphics
    burnt into the photo: text, rulers, drawn circles) with their
    anti-aliased rims, and blank areas at the border (:func:`_blank_border_area`)."""
    r, g, b = image[:, :, 0], image[:, :, 1], image[:, :, 2]
    chroma = np.maximum(np.maximum(r, g), b) - np.minimum(np.minimum(r, g), b)
    graphic = cv2.dilate((chroma > params.max_hair_chroma).astype(np.uint8),
                         np.ones((3, 3), np.uint8)).astype(bool)
    return graphic | _blank_border_area(image, params)


def clipped_pixels(pixels: np.ndarray, *, params: SegmentParams = SegmentParams()) -> np.ndarray:
    """Pixels with a channel at the top of its range in the photo.

    Parameters
    ----------
    pixels : ndarray, shape (H, W, 3), uint8, uint16 or float in [0, 1]
        The photo as loaded (before normalisation).
    params : SegmentParams
        Uses ``clipped_level_fraction``.

    Returns
    -------
    ndarray of bool, shape (H, W)
        True where some channel is at least ``clipped_level_fraction`` of full scale.

    Examples
    --------
    >>> px = np.array([[[255, 10, 10], [200, 200, 200]]], np.uint8)
    >>> clipped_pixels(px).tolist()
    [[True, False]]
    """
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ImageArrayError(f"expected RGB pixels of shape (H, W, 3), got {pixels.shape}")
    full = float(np.iinfo(pixels.dtype).max) if np.issubdtype(pixels.dtype, np.integer) else 1.0
    # The channels' maximum pairwise: a reduction along the short last axis is far slower.
    top = np.maximum(np.maximum(pixels[:, :, 0], pixels[:, :, 1]), pixels[:, :, 2])
    return top >= params.clipped_level_fraction * full
