"""The segmentation result (:class:`HairSegmentation`) and the check of the image to segment."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scalpmetrics.errors import ImageArrayError


@dataclass(frozen=True, eq=False)
class HairSegmentation:
    """A segmentation with the maps the tracing and measuring steps reuse.

    Attributes
    ----------
    mask : ndarray of bool, shape (H, W)
        Hair pixels.
    fraction : ndarray of float32, shape (H, W)
        Share of each pixel covered by hair, in [0, 1]: 1 inside the mask,
        sub-pixel on its rim, 0 elsewhere.
    scale_px_per_mm : float
        The pixel scale the detector worked at (the given one, or the one
        estimated from the shaft widths when uncalibrated).
    trace_mask : ndarray of bool, shape (H, W)
        The pixels the shafts are traced on: ``mask`` itself, or with the
        learned detector its pixels at least ``learned_core_fraction``
        covered (the shafts' cores, in the median over squares of
        ``learned_core_median_px``), which keeps unit mates and crossings
        apart.
    """

    mask: np.ndarray
    fraction: np.ndarray
    scale_px_per_mm: float
    trace_mask: np.ndarray


def _check_image(image: np.ndarray) -> None:
    if image.ndim != 3 or image.shape[2] != 3:
        raise ImageArrayError(f"expected an (H, W, 3) image, got shape {image.shape}")
    if not np.issubdtype(image.dtype, np.floating):
        raise ImageArrayError(f"expected a normalised float image, got {image.dtype}")
    if min(image.shape[:2]) < 3:
        raise ImageArrayError(f"image {image.shape[:2]} is too small to segment")
