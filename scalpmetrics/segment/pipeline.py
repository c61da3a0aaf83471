"""The entry points: :func:`segment_hair_fraction`, and the mask or coverage alone."""

from __future__ import annotations

import numpy as np

from scalpmetrics.errors import ImageArrayError
from scalpmetrics.params import SegmentParams
from scalpmetrics.segment.learned_detector import _learned_cores, _small_holes
from scalpmetrics.segment.resolution import _estimate_scale, _segment
from scalpmetrics.segment.result import HairSegmentation, _check_image


def segment_hair_fraction(image: np.ndarray, *, px_per_mm: float | None,
                          params: SegmentParams = SegmentParams(),
                          clipped: np.ndarray | None = None) -> HairSegmentation:
    """Segment hair; return the mask with its sub-pixel coverage map.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32
        Normalised RGB in [0, 1] (see :func:`scalpmetrics.normalize.normalize_photo`).
        Not modified.
    px_per_mm : float or None
        Pixel scale; when ``None`` it is estimated from the shaft widths for
        internal use only (see the module notes).
    params : SegmentParams
        Segmentation parameters.
    clipped : ndarray of bool, shape (H, W), optional
        Pixels clipped in the photo (see :func:`~scalpmetrics.segment.clipped_pixels`). They are
        left out of the skin statistics: clipping flattens the skin texture
        the noise level is learned from.

    Returns
    -------
    HairSegmentation
    """
    _check_image(image)
    if clipped is not None and clipped.shape != image.shape[:2]:
        raise ImageArrayError(f"clipped {clipped.shape} and image {image.shape[:2]} differ in size")
    if clipped is not None:
        clipped = clipped.astype(bool)
    scale = px_per_mm if px_per_mm is not None else _estimate_scale(image, params, clipped)
    fraction, mask = _segment(image, scale, params, clipped)
    trace_mask = mask
    if params.method == "learned":
        trace_mask = mask & _learned_cores(fraction, params)
        holes = _small_holes(mask, scale / 1000.0, params)
        mask = mask | holes
        fraction = np.where(holes, np.float32(1.0), fraction)
    return HairSegmentation(mask=mask, fraction=fraction, scale_px_per_mm=float(scale),
                            trace_mask=trace_mask)


def segment_hair(image: np.ndarray, *, px_per_mm: float | None,
                 params: SegmentParams = SegmentParams(),
                 clipped: np.ndarray | None = None) -> np.ndarray:
    """Hair mask of a normalised photo.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32
        Normalised RGB in [0, 1]. Not modified.
    px_per_mm : float or None
        Pixel scale. When ``None`` the detector's scales are estimated from
        the image (see the module notes).
    params : SegmentParams
        Segmentation parameters.
    clipped : ndarray of bool, shape (H, W), optional
        As for :func:`segment_hair_fraction`.

    Returns
    -------
    ndarray of bool, shape (H, W)
        True on hair, dark or light.
    """
    return segment_hair_fraction(image, px_per_mm=px_per_mm, params=params, clipped=clipped).mask


def hair_fraction(image: np.ndarray, *, px_per_mm: float | None,
                  params: SegmentParams = SegmentParams()) -> np.ndarray:
    """Sub-pixel hair coverage of a normalised photo.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32
        Normalised RGB in [0, 1]. Not modified.
    px_per_mm : float or None
        Pixel scale, as for :func:`segment_hair`.
    params : SegmentParams
        Segmentation parameters.

    Returns
    -------
    ndarray of float32, shape (H, W)
        Share of each pixel covered by hair, in [0, 1]; its mean over a
        region is the region's coverage fraction.
    """
    return segment_hair_fraction(image, px_per_mm=px_per_mm, params=params).fraction
