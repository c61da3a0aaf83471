"""Per-zone figures from a per-pixel hair fraction.

* ``coverage_fraction``: the share of the zone's scalp that hair hides, the
  zone's mean of the (unclipped) per-pixel hair fraction, clipped to [0, 1]
  only at the end. A pixel half covered counts half; the figure does not
  depend on resolution.
* ``visible_scalp_fraction``: ``1 - coverage_fraction``, the share of the
  zone's scalp that shows.
* ``thinning_score``: the share of the zone that reads as thinned. Local
  coverage is the hair fraction averaged with a Gaussian of
  ``thinning_window_fraction`` of the head radius (over head pixels only);
  a pixel scores 0 where local coverage is at least
  ``thinning_full_coverage_fraction``, 1 where it is at most
  ``thinning_bare_coverage_fraction``, linearly in between. Coverage says how
  much scalp shows; the thinning score says how much of the zone is affected
  (diffuse mild loss scores low, a bare patch scores high).
* ``coverage_se_fraction``: standard error of the coverage: a spatial block
  bootstrap of the hair fraction around its local trend (how much the figure
  would move if the hair lay differently, as it does from visit to visit),
  combined with how much it moves when the zone is placed slightly off (as
  pose and head fit differ between photos).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from scalpmetrics.params import GlobalViewParams

__all__ = ["ZoneMetrics", "local_coverage", "thinning_map", "measure_zone"]


@dataclass(frozen=True)
class ZoneMetrics:
    """The figures of one zone of one global photo (``None`` = not measurable).

    Attributes
    ----------
    name : str
        Template zone name, ``'label_{n}'`` for a label image, or the polygon's name.
    source : {'template', 'label_image', 'polygon'}
    label : int or None
        The label number, for label-image regions.
    coverage_fraction, visible_scalp_fraction, thinning_score : float or None
    coverage_se_fraction : float or None
        Block-bootstrap standard error of ``coverage_fraction``.
    area_px : int
        Measured pixels of the zone, in pixels of the analysed photo.
    """

    name: str
    source: str
    label: int | None
    coverage_fraction: float | None
    visible_scalp_fraction: float | None
    thinning_score: float | None
    coverage_se_fraction: float | None
    area_px: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def local_coverage(hair_fraction: np.ndarray, support: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian-weighted mean of the (clipped) hair fraction over ``support`` pixels.

    Parameters
    ----------
    hair_fraction : ndarray, shape (H, W)
    support : ndarray of bool, shape (H, W)
        Pixels that take part (the head); others are ignored, not counted as zero.
    sigma_px : float

    Returns
    -------
    ndarray, shape (H, W), float32
        NaN outside the support.
    """
    f = np.where(support, np.clip(hair_fraction, 0.0, 1.0), 0.0).astype(np.float32)
    w = support.astype(np.float32)
    num = cv2.GaussianBlur(f, (0, 0), sigma_px)
    den = cv2.GaussianBlur(w, (0, 0), sigma_px)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    out[~support] = np.nan
    return out


def thinning_map(local: np.ndarray, *, params: GlobalViewParams) -> np.ndarray:
    """Per-pixel thinning score (0..1) from local coverage."""
    full, bare = params.thinning_full_coverage_fraction, params.thinning_bare_coverage_fraction
    return np.clip((full - local) / (full - bare), 0.0, 1.0)


def _bootstrap_se(
    values: np.ndarray, blocks: np.ndarray, *, samples: int, rng: np.random.Generator
) -> float:
    ids, inverse = np.unique(blocks, return_inverse=True)
    k = ids.size
    if k < 2:
        return 0.0
    sums = np.bincount(inverse, weights=values, minlength=k)
    counts = np.bincount(inverse, minlength=k).astype(np.float64)
    draws = rng.integers(0, k, size=(samples, k))
    s = sums[draws].sum(axis=1)
    n = counts[draws].sum(axis=1)
    return float(np.std(s / n, ddof=1))


def _placement_se(mask: np.ndarray, hair_fraction: np.ndarray, support: np.ndarray, shift_px: float) -> float:
    """RMS change of the zone's coverage when the zone moves by ``shift_px`` along x or y."""
    k = int(round(shift_px))
    if k < 1:
        return 0.0
    base = float(hair_fraction[mask].mean())
    diffs = []
    for dy, dx in ((k, 0), (-k, 0), (0, k), (0, -k)):
        moved = np.roll(mask, (dy, dx), axis=(0, 1)) & support
        if moved.sum() >= 0.5 * mask.sum():
            diffs.append(float(hair_fraction[moved].mean()) - base)
    return float(np.sqrt(np.mean(np.square(diffs)))) if diffs else 0.0


def measure_zone(
    name: str,
    mask: np.ndarray,
    hair_fraction: np.ndarray,
    thinning: np.ndarray,
    smooth: np.ndarray,
    support: np.ndarray,
    *,
    head_radius_px: float,
    area_scale: float,
    source: str = "template",
    label: int | None = None,
    params: GlobalViewParams = GlobalViewParams(),
) -> ZoneMetrics:
    """Measure one zone.

    Parameters
    ----------
    name : str
    mask : ndarray of bool, shape (H, W)
        The zone's measured pixels (working copy).
    hair_fraction : ndarray, shape (H, W)
        Unclipped per-pixel hair fraction.
    thinning : ndarray, shape (H, W)
        Per-pixel thinning score (see :func:`thinning_map`).
    smooth : ndarray, shape (H, W)
        Local coverage at the bootstrap block scale (its trend is not resampled).
    support : ndarray of bool, shape (H, W)
        Measurable head pixels (a moved zone is cut to them).
    head_radius_px : float
        Head radius in the working copy.
    area_scale : float
        Photo pixels per working pixel (area).
    source, label
        See :class:`ZoneMetrics`.
    params : GlobalViewParams

    Returns
    -------
    ZoneMetrics
        ``coverage_se_fraction`` combines the block bootstrap of the hair
        fraction around its local trend (how the hair happens to lie) and the
        zone's sensitivity to being placed ``placement_sd_fraction`` of the
        head radius off (pose and head-fit differences).
    """
    n = int(mask.sum())
    area = int(round(n * area_scale))
    if n < params.min_zone_pixels:
        return ZoneMetrics(name, source, label, None, None, None, None, area)
    ys, xs = np.nonzero(mask)
    f = hair_fraction[ys, xs].astype(np.float64)
    cov = float(np.clip(f.mean(), 0.0, 1.0))
    th = thinning[ys, xs]
    th = th[np.isfinite(th)]
    block = max(2.0, params.bootstrap_block_fraction * head_radius_px)
    blocks = (ys // block).astype(np.int64) * 1_000_003 + (xs // block).astype(np.int64)
    resid = f - np.nan_to_num(smooth[ys, xs].astype(np.float64), nan=f.mean())
    rng = np.random.default_rng([params.seed, n])
    se_texture = _bootstrap_se(resid, blocks, samples=params.bootstrap_samples, rng=rng)
    se_place = _placement_se(mask, hair_fraction, support, params.placement_sd_fraction * head_radius_px)
    return ZoneMetrics(
        name=name,
        source=source,
        label=label,
        coverage_fraction=cov,
        visible_scalp_fraction=1.0 - cov,
        thinning_score=float(th.mean()) if th.size else None,
        coverage_se_fraction=float(np.hypot(se_texture, se_place)),
        area_px=area,
    )
