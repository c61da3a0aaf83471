"""The contrast detector (``method = "contrast"``): hair along one contrast map.

Steps 3 and 4 of the method (:mod:`scalpmetrics.segment`): hysteresis on
the smoothed contrast, the shape filters, and each kept piece's fraction
map from its core contrast.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

from scalpmetrics.params import SegmentParams
from scalpmetrics.segment.contrast import _MIN_WHITENED_SPREAD
from scalpmetrics.segment.pieces import (
    _blob_filter,
    _elongation,
    _label_percentiles,
    _nearby_piece,
)
from scalpmetrics.segment.skin import skin_peak


def _detect(z: np.ndarray, um: float, params: SegmentParams, index: np.ndarray,
            excluded: np.ndarray, seed_sigma: float | None = None,
            luminance: np.ndarray | None = None, lighter: bool | None = None,
            ) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Hair along one contrast map ``z``.

    Returns the fraction map, the mask, and the pieces detected before the
    shape filters as their label image and which labels were detected (the
    pixels this hair colour explains are ``detected[labels]``). With ``lighter``
    given, only elongated pieces (``second_colour_min_elongation``) whose
    mean ``luminance`` contrast is of that sign are kept, and seeds need
    ``seed_sigma`` instead of ``seed_threshold_sigma``.
    """
    sigma = max(params.min_smoothing_px, params.smoothing_widths * params.min_shaft_width_um * um)
    zs = cv2.GaussianBlur(z, (0, 0), sigma)
    zc, zspread = skin_peak(zs.reshape(-1)[index])
    # Smoothing white noise of unit spread leaves 1 / (2 sqrt(pi) sigma) of it.
    zspread = max(zspread, _MIN_WHITENED_SPREAD / (2.0 * np.sqrt(np.pi) * sigma))
    stat = np.abs(zs - np.float32(zc)) / np.float32(zspread)
    stat[excluded] = 0.0
    seed_sigma = params.seed_threshold_sigma if seed_sigma is None else seed_sigma
    seeds = (stat >= seed_sigma).astype(np.uint8)
    grow = (stat >= params.grow_threshold_sigma).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(grow, connectivity=8)
    has_seed = np.zeros(n, dtype=bool)
    has_seed[labels[seeds > 0]] = True
    has_seed[0] = False
    found = (labels, has_seed)
    keep = has_seed & _blob_filter(stats, params.min_shaft_length_um * um,
                                   params.max_blob_diameter_um * um, params)
    if lighter is not None:
        # Only elongated pieces lighter (or only darker) than the skin on average.
        brightness = np.bincount(labels.ravel(), weights=luminance.ravel(), minlength=n)
        keep &= (brightness > 0) == lighter
        keep &= _elongation(labels, n) >= params.second_colour_min_elongation
    fraction = np.zeros(z.shape, dtype=np.float32)
    if not keep.any():
        return fraction, np.zeros(z.shape, dtype=bool), found
    # Per piece: polarity (darker or lighter than skin) and core contrast.
    fsig = params.fraction_smoothing_px
    zf = cv2.GaussianBlur(z, (0, 0), fsig) if fsig > 0 else z
    with ThreadPoolExecutor(max_workers=1) as pool:
        # Pixels within half a widest shaft of a kept piece take its fraction
        # (found alongside the pieces' polarity and core contrast).
        nearby = pool.submit(_nearby_piece, labels, keep,
                             int(round(params.max_shaft_width_um * um / 2.0)))
        lab = labels.ravel()
        sel = keep[lab]
        ll = lab[sel]
        zl = zf.ravel()[sel]
        signed = np.bincount(ll, weights=zl, minlength=n)
        polarity = np.where(signed >= 0, 1.0, -1.0).astype(np.float32)
        value = zl * polarity[ll]
        core = _label_percentiles(ll, value, n, params.core_percentile)
        core = np.maximum(core, np.float32(params.grow_threshold_sigma))
        near, kept = nearby.result()
    inside = near > 0
    rank = near[inside].astype(np.int64)
    fraction[inside] = np.clip(zf[inside] * polarity[kept][rank] / core[kept][rank], 0.0, 1.0)
    mask = fraction >= params.edge_fraction
    # Close narrow gaps inside shafts (a shaft's lighter highlight band).
    close_px = int(round(params.mask_closing_um * um))
    if close_px > 0:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * close_px + 1, 2 * close_px + 1))
        mask = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_CLOSE, kernel).astype(bool)
        mask &= inside
    # Keep only mask pieces that hold a seed of a kept piece.
    n2, lab2 = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    hit = np.zeros(n2, dtype=bool)
    hit[lab2[(seeds > 0) & sel.reshape(mask.shape) & mask]] = True
    hit[0] = False
    mask = hit[lab2]
    # Coverage: full inside the mask, the sub-pixel share on a one-pixel rim.
    ones = np.ones((3, 3), np.uint8)
    m8 = mask.astype(np.uint8)
    rim = cv2.dilate(m8, ones).astype(bool) & ~mask
    fraction[cv2.erode(m8, ones).astype(bool)] = 1.0
    fraction[~(mask | rim)] = 0.0
    return fraction, mask, found
