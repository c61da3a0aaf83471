"""One segmentation pass on a photo at working resolution.

The contrast to the skin and the pixels never hair, then the learned or
the contrast detector (with the latter's optional second hair colour).
"""

from __future__ import annotations

import cv2
import numpy as np

from scalpmetrics.params import SegmentParams
from scalpmetrics.segment.contrast import (
    _hair_direction,
    _learned_input,
    _projected_contrast,
    _whitened_contrast,
)
from scalpmetrics.segment.contrast_detector import _detect
from scalpmetrics.segment.exclusions import _never_hair
from scalpmetrics.segment.learned_detector import _detect_learned
from scalpmetrics.segment.shortcuts import _channel_sum
from scalpmetrics.segment.skin import _sample_index


def _segment_at_scale(image: np.ndarray, scale_px_per_mm: float, params: SegmentParams,
                      clipped: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Fraction map and mask of a photo already at working resolution."""
    um = scale_px_per_mm / 1000.0  # px per um
    # Graphics are neither skin nor hair: left out of the colour statistics.
    excluded = _never_hair(image, params)
    index = _sample_index(image.shape[0] * image.shape[1],
                          ~excluded if clipped is None else ~(excluded | clipped), params)
    d, whiten, whitened = _whitened_contrast(image, params.reference_window_um * um, params, index)
    if params.method == "learned":
        return _detect_learned(_learned_input(d, whiten, whitened, index, params), um,
                               params, excluded)
    u = _hair_direction(whitened, params)
    z = _projected_contrast(d, whiten, u, index)
    fraction, mask, (labels, detected) = _detect(z, um, params, index, excluded)
    if params.second_hair_colour:
        # A second hair colour of the other brightness (white or grey hairs
        # among dark ones, or dark among light) is looked for along the
        # direction in which the other-brightness pixels the first colour
        # left differ most from skin.
        luminance = _channel_sum(d)
        lighter = not (mask.any() and float(luminance[mask].sum()) > 0)
        reach = int(round(params.max_shaft_width_um * um / 2.0))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
        found = detected[labels].astype(np.uint8)
        left = ~cv2.dilate(found, kernel).astype(bool).reshape(-1)[index]
        left &= (luminance.reshape(-1)[index] > 0) == lighter
        if left.sum() >= params.min_statistics_px:
            u2 = _hair_direction(whitened[left], params)
            z2 = _projected_contrast(d, whiten, u2, index)
            fraction2, mask2, _ = _detect(z2, um, params, index, excluded | mask,
                                          seed_sigma=params.second_colour_seed_sigma,
                                          luminance=luminance, lighter=lighter)
            # A few stray pieces are skin texture, not a second population.
            if mask2.sum() >= params.second_colour_min_area_share * mask.sum():
                fraction = np.maximum(fraction, fraction2)
                mask |= mask2
    return fraction, mask
