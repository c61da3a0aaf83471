"""Per-region figures from a hair mask and traced hairs.

A hair belongs to the region that contains its counting point
(``Hair.emergence_xy_px``); only hairs with ``counted=True`` count. Coverage
is the mean of the hair-coverage map over the region's pixels (the share of
the region that hair covers, area-weighted when the map is fractional). The
mean shaft width is weighted by each hair's traced length, leaving out
pieces too short to have a width profile away from their ends
(:func:`width_weights`); the cumulative thickness sums every counted hair's
width once.
Everything that needs a physical scale is ``None`` when the photo is
uncalibrated.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scalpmetrics.params import TraceParams
from scalpmetrics.types import Calibration, Hair, Region, RegionMetrics

MM2_PER_CM2 = 100.0
UM_PER_MM = 1000.0


def point_in_mask(xy_px: tuple[float, float], mask: np.ndarray) -> bool:
    """Whether the point ``(x, y)`` lies in a True pixel of ``mask``.

    Coordinates are pixels with centres on integers: pixel ``(row, col)``
    covers ``[col - 0.5, col + 0.5) x [row - 0.5, row + 0.5)``, so the point
    lies in pixel ``(floor(y + 0.5), floor(x + 0.5))``.
    """
    h, w = mask.shape
    col = int(np.floor(xy_px[0] + 0.5))
    row = int(np.floor(xy_px[1] + 0.5))
    return 0 <= row < h and 0 <= col < w and bool(mask[row, col])


def hairs_in_region(hairs: Sequence[Hair], region: Region) -> list[Hair]:
    """The counted hairs whose counting point lies inside ``region``
    (:func:`point_in_mask`)."""
    return [hair for hair in hairs
            if hair.counted and point_in_mask(hair.emergence_xy_px, region.mask)]


def width_weights(hairs: Sequence[Hair], params: TraceParams = TraceParams()) -> np.ndarray:
    """Each hair's weight in the mean shaft width: its traced length, or 0 for a
    piece with no width profile away from its ends.

    A short traced piece (a stretch between two crossings, or the merged base
    of a follicular unit) has a width profile over a few samples that may span
    several hairs. Weighted by its length it counts for what it covers; a
    piece shorter than twice ``end_exclusion_widths`` of its own widths has no
    profile away from its ends at all (its width is read across its end, a
    blob) and weighs nothing. With clipped hair, every hair showing about the
    same length, the weighted mean estimates the per-hair mean.

    Parameters
    ----------
    hairs : sequence of Hair
    params : TraceParams
        Its ``end_exclusion_widths`` is the profiles' rule (see
        :mod:`scalpmetrics.trace`).

    Returns
    -------
    ndarray, shape (N,)
        Weights in the hairs' own pixels.
    """
    length = np.array([h.length_px for h in hairs], dtype=np.float64)
    width = np.array([h.width_px for h in hairs], dtype=np.float64)
    return np.where(length >= 2.0 * params.end_exclusion_widths * width, length, 0.0)


def mean_shaft_width(widths_um: np.ndarray, weights: np.ndarray) -> float | None:
    """The weighted mean of shaft widths (weights from :func:`width_weights`).

    Parameters
    ----------
    widths_um : ndarray, shape (N,)
        Each hair's mean width, um.
    weights : ndarray, shape (N,)
        Each hair's weight (any unit: only the ratios count).

    Returns
    -------
    float or None
        ``None`` when there is no hair; the plain mean when no hair has weight.
    """
    widths_um = np.asarray(widths_um, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    return mean_width_from_sums(float((widths_um * weights).sum()), float(weights.sum()),
                                float(widths_um.sum()), widths_um.size)


def mean_width_from_sums(weighted_um: float, weight: float, width_um: float,
                         count: int) -> float | None:
    """:func:`mean_shaft_width` from sums over the hairs: ``weighted_um / weight``
    (summed width times weight, summed weight), or ``width_um / count`` (the
    plain mean) when no hair has weight; ``None`` when there is no hair."""
    if count == 0:
        return None
    return weighted_um / weight if weight > 0.0 else width_um / count


def _mean_over(values: np.ndarray, mask: np.ndarray, area_px: int) -> float:
    """Mean of ``values`` over the ``area_px`` pixels of ``mask`` (a boolean map's
    mean is its count over the area: the same number, without gathering)."""
    if values.dtype == bool:
        return int(np.count_nonzero(values & mask)) / area_px
    return float(np.mean(values[mask], dtype=np.float64))


def measure_region(
    region: Region,
    hairs: Sequence[Hair],
    coverage_map: np.ndarray,
    *,
    calibration: Calibration,
    params: TraceParams = TraceParams(),
) -> RegionMetrics:
    """Measure one region.

    Parameters
    ----------
    region : Region
        Its mask must have the photo's shape.
    hairs : sequence of Hair
        All traced hairs of the photo.
    coverage_map : ndarray, shape (H, W)
        Hair coverage per pixel: bool mask or float fraction in [0, 1].
    calibration : Calibration
        The photo's scale.
    params : TraceParams
        The tracing parameters (for :func:`width_weights`).

    Returns
    -------
    RegionMetrics
    """
    area_px = int(region.mask.sum())
    inside = hairs_in_region(hairs, region)
    count = len(inside)
    coverage = _mean_over(coverage_map, region.mask, area_px) if area_px else None
    units = {h.unit_id for h in inside if h.unit_id >= 0}
    n_units = len(units) + sum(1 for h in inside if h.unit_id < 0)

    area_cm2 = density = terminal = vellus = vellus_frac = mean_w = cum = None
    mm2_per_px = calibration.mm2_per_px
    if mm2_per_px is not None:
        area_cm2 = area_px * mm2_per_px / MM2_PER_CM2
        measured = [h for h in inside if h.width_um is not None]
        widths_um = np.array([h.width_um for h in measured], dtype=float)
        terminal = sum(1 for h in inside if h.is_terminal)
        vellus = count - terminal
        vellus_frac = vellus / count if count else None
        mean_w = mean_shaft_width(widths_um, width_weights(measured, params))
        if area_cm2 > 0:
            density = count / area_cm2
            cum = float(widths_um.sum() / UM_PER_MM / area_cm2)
    return RegionMetrics(
        name=region.name,
        area_px=area_px,
        area_cm2=area_cm2,
        hair_count=count,
        density_per_cm2=density,
        terminal_count=terminal,
        vellus_count=vellus,
        vellus_fraction=vellus_frac,
        mean_shaft_width_um=mean_w,
        cumulative_thickness_mm_per_cm2=cum,
        coverage_fraction=coverage,
        follicular_unit_count=n_units,
        mean_hairs_per_unit=count / n_units if n_units else None,
    )


def measure_regions(
    regions: Sequence[Region],
    hairs: Sequence[Hair],
    coverage_map: np.ndarray,
    *,
    calibration: Calibration,
    params: TraceParams = TraceParams(),
) -> tuple[RegionMetrics, ...]:
    """:func:`measure_region` for each region, in order."""
    return tuple(
        measure_region(r, hairs, coverage_map, calibration=calibration, params=params)
        for r in regions
    )
