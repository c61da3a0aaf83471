"""The result records of a comparison.

The dataclasses :func:`~scalpmetrics.compare.compare_visits` returns, each
with the JSON record of ``docs/schema/compare.schema.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from scalpmetrics.match import HairMatching
from scalpmetrics.register import Registration
from scalpmetrics.types import Analysis, Photo, QualityFlag


@dataclass(frozen=True)
class AreaMetrics:
    """One visit measured over one area given in baseline coordinates.

    ``None`` means not measurable (typically: no calibration).
    """

    area_px: int
    area_cm2: float | None
    hair_count: int
    density_per_cm2: float | None
    terminal_count: int | None
    vellus_count: int | None
    mean_shaft_width_um: float | None
    cumulative_thickness_mm_per_cm2: float | None
    coverage_fraction: float | None

    def to_dict(self) -> dict[str, Any]:
        """The JSON record (``area_metrics`` of ``docs/schema/compare.schema.json``)."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class RegionChange:
    """Baseline and follow-up figures of one region of the common area, and their change."""

    name: str
    baseline: AreaMetrics
    followup: AreaMetrics
    hair_count_change_pct: float | None
    terminal_count_change_pct: float | None
    cumulative_thickness_change_pct: float | None
    coverage_change_points: float | None

    def to_dict(self) -> dict[str, Any]:
        """The JSON record; ``density_change_pct`` equals ``hair_count_change_pct``
        (the same area at both visits)."""
        return {
            "name": self.name,
            "area_cm2": self.baseline.area_cm2,
            "baseline": self.baseline.to_dict(),
            "followup": self.followup.to_dict(),
            "hair_count_change_pct": self.hair_count_change_pct,
            "density_change_pct": self.hair_count_change_pct,
            "terminal_count_change_pct": self.terminal_count_change_pct,
            "cumulative_thickness_change_pct": self.cumulative_thickness_change_pct,
            "coverage_change_points": self.coverage_change_points,
        }


@dataclass(frozen=True)
class VisitChange:
    """The change of one follow-up against the baseline, over the common area.

    Attributes
    ----------
    visit : int
        1-based index of the follow-up (the baseline is visit 0).
    status : {'ok', 'registration_failed'}
        With ``'registration_failed'`` every figure is ``None``.
    baseline, followup : AreaMetrics
        Both visits over the common area, hairs counted on the baseline's
        terms: a hair both photos show counts in both visits when the
        baseline's detector found it and in neither when only the follow-up's
        did, so ``hair_count_change`` is ``new_hairs - lost_hairs``. These,
        and every absolute change, count the hairs found.
    new_hairs, lost_hairs : int or None
        Hairs new and lost in the common area; ``new_hairs`` includes those
        an earlier follow-up counted new that this photo shows but its
        detector did not count (``CompareParams.course_second_look``).
    hair_count_change_pct, density_change_pct : float or None
    terminal_count_change_pct, cumulative_thickness_change_pct : float or None
        Estimates of the true relative change: each hair found counts as
        ``1 / recall`` hairs (``detection_recall``; with
        ``CompareParams.recall_correction`` off, the change of the hairs found).
    ci95 : dict
        For each name in :data:`CHANGE_METRICS`, the 95 % interval ``(low, high)``
        or ``None``.
    mdc95 : dict
        For each name in :data:`CHANGE_METRICS`, the minimal detectable change
        (same unit) or ``None``.
    beyond_mdc : bool or None
        Whether ``|hair_count_change_pct|`` exceeds its minimal detectable change.
    beyond_mdc_metrics : dict
        The same test for every name in :data:`CHANGE_METRICS`.
    regions : tuple of RegionChange
    detection_recall : dict or None
        :meth:`scalpmetrics.recall.DetectionRecall.to_dict` of the weights
        used (``None`` without the correction).
    """

    visit: int
    image_path: str | None
    capture_date: str | None
    months_since_baseline: float | None
    status: str
    common_area_cm2: float | None = None
    baseline: AreaMetrics | None = None
    followup: AreaMetrics | None = None
    hair_count_change: int | None = None
    hair_count_change_pct: float | None = None
    density_change_per_cm2: float | None = None
    density_change_pct: float | None = None
    terminal_count_change: int | None = None
    terminal_count_change_pct: float | None = None
    cumulative_thickness_change_mm_per_cm2: float | None = None
    cumulative_thickness_change_pct: float | None = None
    coverage_change_points: float | None = None
    new_hairs: int | None = None
    lost_hairs: int | None = None
    thickened_hairs: int | None = None
    thinned_hairs: int | None = None
    matched_hairs: int | None = None
    missed_hairs: int | None = None
    ci95: dict[str, tuple[float, float] | None] | None = None
    mdc95: dict[str, float | None] | None = None
    beyond_mdc: bool | None = None
    beyond_mdc_metrics: dict[str, bool | None] | None = None
    regions: tuple[RegionChange, ...] = ()
    detection_recall: dict[str, dict[str, Any]] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON record (``change`` of ``docs/schema/compare.schema.json``)."""
        out = dict(self.__dict__)
        out["baseline"] = None if self.baseline is None else self.baseline.to_dict()
        out["followup"] = None if self.followup is None else self.followup.to_dict()
        out["ci95"] = None if self.ci95 is None else {
            k: None if v is None else [v[0], v[1]] for k, v in self.ci95.items()
        }
        out["regions"] = [r.to_dict() for r in self.regions]
        return out


@dataclass(frozen=True)
class Trend:
    """Least-squares change per month over the dated visits (baseline at 0).

    Attributes
    ----------
    visits : tuple of int
        The visits used (0 = baseline, then registered follow-ups).
    months : tuple of float
        Months since the baseline of each of those visits.
    per_month : dict
        Slope of each of :data:`TREND_METRICS` per month (``None`` if not measurable).
    ci95 : dict
        95 % interval of each slope from the scatter about the line (needs three
        or more visits; ``None`` otherwise).
    """

    visits: tuple[int, ...]
    months: tuple[float, ...]
    per_month: dict[str, float | None]
    ci95: dict[str, tuple[float, float] | None]

    def to_dict(self) -> dict[str, Any]:
        """The JSON record (intervals as ``[low, high]`` lists)."""
        return {
            "visits": list(self.visits),
            "months": list(self.months),
            "per_month": dict(self.per_month),
            "ci95": {k: None if v is None else [v[0], v[1]] for k, v in self.ci95.items()},
        }


@dataclass(frozen=True, eq=False)
class MappedHairs:
    """The counted hairs of one visit in baseline coordinates.

    Attributes
    ----------
    hair_index : ndarray of int, shape (N,)
        Index into the visit's ``Analysis.hairs``.
    xy_baseline : ndarray, shape (N, 2)
        Counting points mapped into baseline pixels.
    width_um : ndarray, shape (N,), or None
        Shaft widths on the baseline's scale (``None`` when uncalibrated).
    terminal : ndarray of bool, shape (N,), or None
    width_weight_px : ndarray, shape (N,)
        Weights in the mean shaft width (:func:`scalpmetrics.measure.width_weights`),
        in baseline pixels.
    inside : ndarray of bool, shape (N,)
        Whether the counting point lies in the common area.
    direction_baseline : ndarray, shape (N, 2)
        Shaft direction (counting point to tip) in baseline pixels.
    """

    hair_index: np.ndarray
    xy_baseline: np.ndarray
    width_um: np.ndarray | None
    terminal: np.ndarray | None
    width_weight_px: np.ndarray
    inside: np.ndarray
    direction_baseline: np.ndarray


@dataclass(frozen=True, eq=False)
class Comparison:
    """Everything :func:`~scalpmetrics.compare.compare_visits` found.

    Attributes
    ----------
    photos : tuple of Photo
        The photos, baseline first (kept for reports; not in the JSON).
    visits : tuple of Analysis
        One analysis per photo, as :func:`~scalpmetrics.analysis.analyze` gives.
    registrations : tuple of Registration
        One per follow-up.
    changes : tuple of VisitChange
        One per follow-up.
    common_mask : ndarray of bool, shape (H, W)
        The common area in baseline pixels.
    common_area_cm2 : float or None
    mapped_hairs : tuple of (MappedHairs or None)
        Per visit (``None`` for follow-ups that could not be registered).
    matchings : tuple of (HairMatching or None)
        Per follow-up.
    new_at_earlier : tuple of (MappedHairs or None)
        Per follow-up: the hairs an earlier follow-up counted new that this
        one's photo shows but its detector did not count, counted new here
        too (``CompareParams.course_second_look``); ``None`` when there are none.
    region_masks : tuple of (str, ndarray of bool)
        The regions of the common area, baseline pixels (empty without a grid).
    capture_dates : tuple of (str or None)
        ISO date of each photo.
    trend : Trend or None
        ``None`` unless every compared photo has a date.
    flags : tuple of QualityFlag
    provenance : dict
    """

    photos: tuple[Photo, ...]
    visits: tuple[Analysis, ...]
    registrations: tuple[Registration, ...]
    changes: tuple[VisitChange, ...]
    common_mask: np.ndarray
    common_area_cm2: float | None
    mapped_hairs: tuple[MappedHairs | None, ...]
    matchings: tuple[HairMatching | None, ...]
    region_masks: tuple[tuple[str, np.ndarray], ...]
    capture_dates: tuple[str | None, ...]
    trend: Trend | None
    flags: tuple[QualityFlag, ...]
    provenance: dict[str, Any]
    new_at_earlier: tuple[MappedHairs | None, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON record of ``scalpmetrics compare --json``, described by
        ``docs/schema/compare.schema.json``."""
        from scalpmetrics import SCHEMA_VERSION

        base = self.visits[0]
        return {
            "schema_version": SCHEMA_VERSION,
            "visits": [a.to_dict() for a in self.visits],
            "registration": [
                {"visit": i + 1, "image_path": self.visits[i + 1].image.path, **r.to_dict()}
                for i, r in enumerate(self.registrations)
            ],
            "common_area": {
                "area_px": int(self.common_mask.sum()),
                "area_cm2": self.common_area_cm2,
                "fraction_of_baseline": float(self.common_mask.mean()),
                "baseline_width_px": base.image.width_px,
                "baseline_height_px": base.image.height_px,
            },
            "capture_dates": list(self.capture_dates),
            "changes": [c.to_dict() for c in self.changes],
            "trend": None if self.trend is None else self.trend.to_dict(),
            "flags": [f.to_dict() for f in self.flags],
            "provenance": dict(self.provenance),
        }
