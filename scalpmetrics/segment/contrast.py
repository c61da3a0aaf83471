"""The log contrast to the skin, whitened by the skin texture, and the hair direction.

Steps 1 and 2 of the method (:mod:`scalpmetrics.segment`): each pixel's
3-vector of log ratios to the local skin colour, whitened by the skin
texture's covariance, and its projection on the direction of the photo's
hair colour; also the input of the learned detector (:func:`whitened_contrast`).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

from scalpmetrics.normalize import skin_background
from scalpmetrics.params import SegmentParams
from scalpmetrics.segment.shortcuts import _row_norms, _rows_times
from scalpmetrics.segment.skin import _sample_index, skin_peak
from scalpmetrics.selection import quantile

_EPS = np.float32(1.0 / 255.0)
# The contrast is whitened by the skin texture's own covariance, so the skin's
# spread along it is at least about 1; a spread below this means a flat image
# (no texture at all), whose rounding noise must not be amplified into hairs.
_MIN_WHITENED_SPREAD = 0.5


def _whitened_contrast(image: np.ndarray, window_px: float, params: SegmentParams,
                       index: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log contrast to the skin and its whitening by the skin texture.

    Returns the (H, W, 3) log contrast ``d`` (skin peak at zero), the 3x3
    whitening matrix and the whitened contrast of the sampled pixels
    ``index`` (flat indices), one row each.
    """
    image = np.ascontiguousarray(image, dtype=np.float32)
    with ThreadPoolExecutor(max_workers=1) as pool:
        # The photo's log is taken alongside the skin estimate.
        log_image = pool.submit(cv2.log, image + _EPS)
        log_skin = (cv2.log(skin_background(image, sigma_px=window_px) + _EPS)
                    if window_px > 0 else None)
        d = log_image.result()
    if log_skin is not None:
        d -= log_skin
    sample = d.reshape(-1, 3)[index].astype(np.float64)
    centre = np.array([skin_peak(sample[:, c])[0] for c in range(3)])
    sample -= centre
    # OpenCV's per-channel scalar subtraction gives the same float32 differences
    # as NumPy's broadcast over the short last axis, several times sooner.
    cv2.subtract(d, (*centre.tolist(), 0.0), dst=d)
    norm = _row_norms(sample)
    skin = sample[norm <= quantile(norm, params.skin_quantile)]
    cov = np.cov(skin, rowvar=False) + np.eye(3) * params.noise_floor_log**2
    evals, evecs = np.linalg.eigh(cov)
    whiten = evecs @ np.diag(1.0 / np.sqrt(evals)) @ evecs.T
    return d, whiten, _rows_times(sample, whiten)


def _hair_direction(whitened: np.ndarray, params: SegmentParams) -> np.ndarray:
    """Unit direction (whitened space) in which the most contrasted of the
    ``whitened`` rows differ most from skin."""
    wn = _row_norms(whitened)
    tail = whitened[wn >= quantile(wn, 1.0 - params.tail_fraction)]
    _, vecs = np.linalg.eigh(tail.T @ tail)
    return vecs[:, -1]


def _projected_contrast(d: np.ndarray, whiten: np.ndarray, u: np.ndarray,
                        index: np.ndarray) -> np.ndarray:
    """Signed contrast along whitened direction ``u`` in skin-noise units
    (positive = darker than skin), its skin peak found on the pixels ``index``."""
    # Orient so that darker-than-skin (negative mean log) projects positive.
    if (whiten @ u).sum() > 0:
        u = -u
    z = cv2.transform(d, (whiten @ u)[None, :].astype(np.float32))
    zc, zs = skin_peak(z.reshape(-1)[index])
    return (z - np.float32(zc)) / np.float32(max(zs, _MIN_WHITENED_SPREAD))


def whitened_contrast(image: np.ndarray, *, px_per_mm: float,
                      params: SegmentParams = SegmentParams(),
                      clipped: np.ndarray | None = None) -> np.ndarray:
    """The whitened log contrast to the skin the learned detector works on.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32
        Normalised RGB at the working resolution
        (see :func:`~scalpmetrics.segment.working_factor`).
    px_per_mm : float
        Pixel scale of ``image``.
    params : SegmentParams
        Segmentation parameters.
    clipped : ndarray of bool, shape (H, W), optional
        Pixels clipped in the photo, left out of the skin statistics.

    Returns
    -------
    ndarray, shape (H, W, 4), float32
        Each colour channel's log ratio to the local skin colour, whitened by
        the skin texture's covariance, and the contrast along the photo's
        hair colour (positive = darker than skin); skin-noise units.
    """
    um = px_per_mm / 1000.0
    index = _sample_index(image.shape[0] * image.shape[1],
                          None if clipped is None else ~clipped, params)
    d, whiten, whitened = _whitened_contrast(image, params.reference_window_um * um, params, index)
    return _learned_input(d, whiten, whitened, index, params)


def _learned_input(d: np.ndarray, whiten: np.ndarray, whitened: np.ndarray, index: np.ndarray,
                   params: SegmentParams) -> np.ndarray:
    """Whitened contrast channels plus the contrast along the photo's hair colour."""
    u = _hair_direction(whitened, params)
    z = _projected_contrast(d, whiten, u, index)
    return np.concatenate([cv2.transform(d, whiten.astype(np.float32)), z[:, :, None]], axis=2)
