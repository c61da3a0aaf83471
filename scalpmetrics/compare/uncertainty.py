"""Standard errors of the changes: paired block bootstrap and repeat-capture SEM."""

from __future__ import annotations

import math

import numpy as np

from scalpmetrics.compare.sums import _Sums
from scalpmetrics.params import Params


def _bootstrap_se(
    base: _Sums, follow: _Sums, rng: np.random.Generator, n_samples: int
) -> dict[str, float | None]:
    """Standard error of each change from a paired block bootstrap of the common area.

    Blocks are drawn with replacement (the same blocks for both visits); each
    resample's change is recomputed from the summed block figures.
    """
    n = base.count.size
    weights = rng.multinomial(n, np.full(n, 1.0 / n), size=n_samples).astype(np.float64)

    def ratio_pct(fv: np.ndarray | None, bv: np.ndarray | None) -> float | None:
        if fv is None or bv is None:
            return None
        num, den = weights @ fv, weights @ bv
        ok = den > 0
        if ok.sum() < 2:
            return None
        return float(np.std(100.0 * (num[ok] / den[ok] - 1.0), ddof=1))

    def cover_points() -> float | None:
        pb, pf = weights @ base.pixels, weights @ follow.pixels
        ok = (pb > 0) & (pf > 0)
        if ok.sum() < 2:
            return None
        diff = 100.0 * ((weights @ follow.cover)[ok] / pf[ok] - (weights @ base.cover)[ok] / pb[ok])
        return float(np.std(diff, ddof=1))

    return {
        "hair_count_change_pct": ratio_pct(follow.est_count, base.est_count),
        "terminal_count_change_pct": ratio_pct(follow.est_terminal, base.est_terminal),
        "cumulative_thickness_change_pct": ratio_pct(follow.est_width_um, base.est_width_um),
        "coverage_change_points": cover_points(),
    }


def _repeat_sem(baseline_count: int, params: Params) -> dict[str, float] | None:
    """Standard error of one capture per metric, scaled to this area's hair count."""
    cp = params.compare
    if baseline_count <= 0:
        return None
    k = math.sqrt(cp.repeat_reference_hair_count / baseline_count)
    return {
        "hair_count_change_pct": cp.repeat_sem_hair_count_pct * k,
        "density_change_pct": cp.repeat_sem_hair_count_pct * k,
        "terminal_count_change_pct": cp.repeat_sem_terminal_count_pct * k,
        "cumulative_thickness_change_pct": cp.repeat_sem_cumulative_thickness_pct * k,
        "coverage_change_points": cp.repeat_sem_coverage_points * k,
    }
