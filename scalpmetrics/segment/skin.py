"""Skin statistics: the skin peak of a channel sample, and which pixels are sampled."""

from __future__ import annotations

import numpy as np

from scalpmetrics.params import SegmentParams
from scalpmetrics.selection import quantile


def skin_peak(values: np.ndarray, *, bins: int = 256) -> tuple[float, float]:
    """Location and standard deviation of the skin peak of a channel sample.

    The peak is the histogram mode; its spread comes from the half width at
    half maximum on the narrower side (the side hair does not widen), so the
    estimate holds however much of the photo hair covers.

    Parameters
    ----------
    values : ndarray, shape (N,)
        Channel values (a sample of the photo's pixels).
    bins : int
        Histogram bins between the 1st and 99th percentiles.

    Returns
    -------
    centre, spread : float
        Skin value and its noise standard deviation, in the values' units.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> skin = rng.normal(0.0, 1.0, 6000)
    >>> hair = rng.normal(-8.0, 1.0, 4000)
    >>> c, s = skin_peak(np.concatenate([skin, hair]))
    >>> bool(abs(c) < 0.3 and 0.7 < s < 1.3)
    True
    """
    lo, hi = quantile(values, [0.01, 0.99])
    if not hi > lo:
        return float(lo), 1e-6
    hist, edges = np.histogram(values, bins=bins, range=(lo, hi))
    hist = np.convolve(hist, [0.25, 0.5, 0.25], mode="same")
    k = int(np.argmax(hist))
    half = hist[k] / 2.0
    left = k
    while left > 0 and hist[left] > half:
        left -= 1
    right = k
    while right < bins - 1 and hist[right] > half:
        right += 1
    width = float(edges[1] - edges[0])
    hwhm = min(k - left, right - k) * width
    centre = 0.5 * float(edges[k] + edges[k + 1])
    return centre, max(hwhm / 1.1774, width / 2.0, 1e-6)


def _sample_index(n_px: int, usable: np.ndarray | None, params: SegmentParams) -> np.ndarray:
    """Flat indices of the pixels the colour statistics are taken from: a
    regular sample of about ``statistics_sample_px``, usable pixels only
    (unless fewer than ``min_statistics_px`` of the sample are usable)."""
    step = max(1, n_px // params.statistics_sample_px)
    index = np.arange(0, n_px, step)
    if usable is not None:
        kept = index[usable.reshape(-1)[index]]
        if kept.size >= params.min_statistics_px:
            return kept
    return index
