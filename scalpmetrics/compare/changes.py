"""The change figures of a follow-up and of each region, with interval and MDC."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from scalpmetrics.compare.figures import CHANGE_METRICS
from scalpmetrics.compare.results import RegionChange, VisitChange
from scalpmetrics.compare.sums import _area_metrics, _coverage, _Layers, _Sums
from scalpmetrics.compare.uncertainty import _bootstrap_se, _repeat_sem
from scalpmetrics.match import HairMatching
from scalpmetrics.params import Params
from scalpmetrics.recall import DetectionRecall

Z95 = 1.959963984540054


def _pct(new: float | None, old: float | None) -> float | None:
    if new is None or old is None or old == 0:
        return None
    return 100.0 * (new - old) / old


def _points(new: float | None, old: float | None) -> float | None:
    return None if new is None or old is None else 100.0 * (new - old)


def _diff(new: float | int | None, old: float | int | None) -> Any:
    return None if new is None or old is None else new - old


def _changes_of(base: _Sums, follow: _Sums, k: int) -> dict[str, float | None]:
    """Percentage changes of label ``k`` from the estimated sums (the same area at
    both visits, so the ratio of summed widths is that of cumulative thickness)."""

    def at(values: np.ndarray | None) -> float | None:
        return None if values is None else float(values[k])

    return {
        "hair_count_change_pct": _pct(at(follow.est_count), at(base.est_count)),
        "terminal_count_change_pct": _pct(at(follow.est_terminal), at(base.est_terminal)),
        "cumulative_thickness_change_pct": _pct(at(follow.est_width_um), at(base.est_width_um)),
        "coverage_change_points": _points(_coverage(follow, k), _coverage(base, k)),
    }


def _visit_change(
    info: dict[str, Any],
    base: tuple[_Sums, ...],
    follow: tuple[_Sums, ...],
    layers: _Layers,
    mm2_per_px: float | None,
    matching: HairMatching,
    new_earlier: int,
    recall: DetectionRecall | None,
    rng: np.random.Generator,
    params: Params,
) -> VisitChange:
    b = _area_metrics(base[0], 0, float(layers.area_px[0][0]), mm2_per_px)
    f = _area_metrics(follow[0], 0, float(layers.area_px[0][0]), mm2_per_px)
    est = _changes_of(base[0], follow[0], 0)
    est["density_change_pct"] = est["hair_count_change_pct"]
    se_boot = _bootstrap_se(base[2], follow[2], rng, params.compare.bootstrap_samples)
    se_boot["density_change_pct"] = se_boot["hair_count_change_pct"]
    sem = _repeat_sem(b.hair_count, params)
    ci95: dict[str, tuple[float, float] | None] = {}
    mdc95: dict[str, float | None] = {}
    beyond: dict[str, bool | None] = {}
    for name in CHANGE_METRICS:
        value, boot = est[name], se_boot[name]
        if value is None or boot is None or sem is None:
            ci95[name], mdc95[name], beyond[name] = None, None, None
            continue
        half = Z95 * math.sqrt(boot**2 + 2.0 * sem[name] ** 2)
        mdc = Z95 * math.sqrt(2.0) * sem[name]
        ci95[name] = (value - half, value + half)
        mdc95[name] = mdc
        beyond[name] = abs(value) > mdc
    regions = tuple(
        _region_change(name, base[1], follow[1], i, float(layers.area_px[1][i]), mm2_per_px)
        for i, name in enumerate(layers.region_names)
    )
    return VisitChange(
        status="ok",
        common_area_cm2=b.area_cm2,
        baseline=b,
        followup=f,
        hair_count_change=f.hair_count - b.hair_count,
        hair_count_change_pct=est["hair_count_change_pct"],
        density_change_per_cm2=_diff(f.density_per_cm2, b.density_per_cm2),
        density_change_pct=est["density_change_pct"],
        terminal_count_change=_diff(f.terminal_count, b.terminal_count),
        terminal_count_change_pct=est["terminal_count_change_pct"],
        cumulative_thickness_change_mm_per_cm2=_diff(
            f.cumulative_thickness_mm_per_cm2, b.cumulative_thickness_mm_per_cm2
        ),
        cumulative_thickness_change_pct=est["cumulative_thickness_change_pct"],
        coverage_change_points=est["coverage_change_points"],
        ci95=ci95,
        mdc95=mdc95,
        beyond_mdc=beyond["hair_count_change_pct"],
        beyond_mdc_metrics=beyond,
        regions=regions,
        detection_recall=None if recall is None else recall.to_dict(),
        **{**matching.counts(), "new_hairs": matching.new.size + new_earlier},
        **info,
    )


def _region_change(
    name: str, base: _Sums, follow: _Sums, k: int, area_px: float, mm2_per_px: float | None
) -> RegionChange:
    b = _area_metrics(base, k, area_px, mm2_per_px)
    f = _area_metrics(follow, k, area_px, mm2_per_px)
    return RegionChange(name=name, baseline=b, followup=f, **_changes_of(base, follow, k))
