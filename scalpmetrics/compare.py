"""Changes between visits, with uncertainty.

:func:`compare_visits` analyses every photo (:func:`scalpmetrics.analysis.analyze`),
registers each follow-up to the baseline (:mod:`scalpmetrics.register`),
builds the *common area* (the part of the baseline, kept a margin away from
every photo's edge, that every registered photo shows), measures every visit
inside it, matches hairs between visits (:mod:`scalpmetrics.match`) and
attaches a 95 % interval and a minimal detectable change to every change.
``docs/compare.md`` describes the method and how the constants were measured.

Everything is measured in baseline coordinates: a follow-up's counting
points are mapped into the baseline; coverage is measured in the follow-up's
own pixels over the common area mapped into it; the area is the baseline's,
so a change of zoom or framing between visits cannot pass for growth or
loss. Hairs are counted on the baseline's terms (see :class:`VisitChange`),
and the percentage changes weigh each hair by its photo's estimated detector
recall for its class (:mod:`scalpmetrics.recall`). With
``CompareParams.scale_from_registration`` (the default) a follow-up's shaft
widths use the baseline scale times the registration scale, so a zoom change
does not move hairs across the vellus cut-off.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from scalpmetrics import __version__
from scalpmetrics.errors import ComparisonError, RegistrationError
from scalpmetrics.match import HairMatching, cross_check, match_hairs, shaft_evidence
from scalpmetrics.measure import mean_width_from_sums, width_weights
from scalpmetrics.params import CompareParams, Params
from scalpmetrics.quality import FLAGS
from scalpmetrics.recall import DetectionRecall, detection_recall
from scalpmetrics.register import Registration, register_to_baseline
from scalpmetrics.types import Analysis, Photo, QualityFlag

UM_PER_MM = 1000.0
MM2_PER_CM2 = 100.0
DAYS_PER_MONTH = 365.2425 / 12
Z95 = 1.959963984540054
#: Pixels whose centres are tested at once when the common-area mask is built.
_MASK_CHUNK_PX = 1 << 20
#: The change figures that carry an interval, with their unit.
CHANGE_METRICS: dict[str, str] = {
    "hair_count_change_pct": "percent",
    "density_change_pct": "percent",
    "terminal_count_change_pct": "percent",
    "cumulative_thickness_change_pct": "percent",
    "coverage_change_points": "percentage points",
}
#: Figures whose course over time is summarised as a trend per month.
TREND_METRICS = (
    "hair_count_change_pct",
    "density_change_per_cm2",
    "terminal_count_change_pct",
    "cumulative_thickness_change_pct",
    "coverage_change_points",
)


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
    """Everything :func:`compare_visits` found.

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


def compare_visits(
    photos: Sequence[Photo | str | os.PathLike[str]],
    *,
    px_per_mm: float | None = None,
    dates: Sequence[str | dt.date | None] | None = None,
    grid: str | None = None,
    params: Params = Params(),
    allow_unregistered: bool = False,
) -> Comparison:
    """Compare follow-up photos of one scalp site with the baseline photo.

    Parameters
    ----------
    photos : sequence of Photo or path
        Baseline first, then the follow-ups (any number, at least one).
    px_per_mm : float, optional
        Scale of every photo (otherwise each photo's own calibration is used).
    dates : sequence of (str or date or None), optional
        Capture date of each photo (ISO 8601); defaults to the EXIF capture times.
    grid : str, optional
        ``'grid:RxC'``: also report R x C cells of the baseline photo (each cut
        to the common area).
    params : Params
        All parameters (``register`` and ``compare`` groups among them).
    allow_unregistered : bool
        When a follow-up cannot be registered, flag it and give null changes
        instead of raising.

    Returns
    -------
    Comparison

    Raises
    ------
    RegistrationError
        A follow-up could not be registered and ``allow_unregistered`` is False.
    ComparisonError
        Fewer than two photos, unusable dates, or no common area.
    ScalpmetricsError
        Any problem reading or analysing a photo.

    Notes
    -----
    With ``trace.long_hair_tracing = 'auto'`` each photo is traced as long
    hair or not by its own shafts; when the visits disagree, every visit is
    traced as long hair (its analysis records ``'always'``).
    """
    from scalpmetrics.analysis import analyze

    loaded = load_visits(photos, dates, params=params)
    analyses = [analyze(p, px_per_mm=px_per_mm, params=params) for p in loaded]
    if {a.provenance["tracing"] for a in analyses} == {"standard", "long_hair"}:
        # Long hair is traced differently (trace.long_hair_tracing), decided
        # photo by photo: when the visits disagree, all are traced as long
        # hair, so that no change comes from the tracing alone.
        alike = dataclasses.replace(
            params, trace=dataclasses.replace(params.trace, long_hair_tracing="always"))
        analyses = [a if a.provenance["tracing"] == "long_hair"
                    else analyze(p, px_per_mm=px_per_mm, params=alike)
                    for p, a in zip(loaded, analyses)]
    return compare_analyses(loaded, analyses, dates=dates, grid=grid, params=params,
                            allow_unregistered=allow_unregistered)


def compare_analyses(
    photos: Sequence[Photo],
    analyses: Sequence[Analysis],
    *,
    dates: Sequence[str | dt.date | None] | None = None,
    grid: str | None = None,
    params: Params = Params(),
    allow_unregistered: bool = False,
) -> Comparison:
    """:func:`compare_visits` on photos that are already analysed.

    Parameters
    ----------
    photos : sequence of Photo
        Baseline first.
    analyses : sequence of Analysis
        One per photo, in the same order (each must carry its ``hair_mask``),
        all traced the same way (see :func:`compare_visits`, Notes).
    dates, grid, params, allow_unregistered
        As in :func:`compare_visits`.

    Returns
    -------
    Comparison
    """
    if len(photos) < 2:
        raise ComparisonError("compare needs a baseline photo and at least one follow-up photo")
    if len(analyses) != len(photos):
        raise ComparisonError(f"{len(analyses)} analyses given for {len(photos)} photos")
    masks = tuple(_hair_mask(p, a, i) for i, (p, a) in enumerate(zip(photos, analyses)))
    loaded = tuple(photos)
    analyses = tuple(analyses)
    capture_dates = resolve_capture_dates(loaded, dates)
    base = analyses[0]
    scale = base.calibration.px_per_mm
    regs = register_to_baseline(
        loaded[0].pixels, [p.pixels for p in loaded[1:]],
        baseline_hair_mask=masks[0],
        followup_hair_masks=list(masks[1:]),
        px_per_mm=scale, params=params.register,
    )
    failed = [i + 1 for i, r in enumerate(regs) if not r.registered]
    if failed and not allow_unregistered:
        v = failed[0]
        raise RegistrationError(
            f"follow-up {v} ({loaded[v].path or 'array'}) could not be registered to the "
            f"baseline: {regs[v - 1].failure_reason}"
        )
    cp = params.compare
    to_px = (lambda um: um * scale / UM_PER_MM) if scale else None
    margin_px = to_px(cp.common_margin_um) if to_px else cp.common_margin_px
    area = _CommonArea.build(masks[0].shape, [(m.shape, r) for m, r in zip(masks[1:], regs)
                                              if r.registered], margin_px)
    common = area.mask()
    if not common.any():
        raise ComparisonError("the photos share no common area once registered")
    mm2_per_px = base.calibration.mm2_per_px
    area_cm2 = None if mm2_per_px is None else float(common.sum()) * mm2_per_px / MM2_PER_CM2
    block_px = to_px(cp.block_size_mm * UM_PER_MM) if to_px else cp.block_size_px
    layers = _Layers.build(common, block_px, grid)
    gate_px = to_px(cp.match_gate_um) if to_px else cp.match_gate_px
    tolerance_px = (round(to_px(cp.cross_check_tolerance_um)) if to_px
                    else cp.cross_check_tolerance_px)
    months = _months(capture_dates)

    base_hairs = _map_hairs(base, None, area, scale, params)
    mapped: list[MappedHairs | None] = [base_hairs]
    matchings: list[HairMatching | None] = [None]
    changes: list[VisitChange] = []
    for v, (analysis, reg) in enumerate(zip(analyses[1:], regs), start=1):
        info: dict[str, Any] = dict(
            visit=v, image_path=analysis.image.path, capture_date=capture_dates[v],
            months_since_baseline=None if months is None else months[v],
        )
        if not reg.registered:
            mapped.append(None)
            matchings.append(None)
            changes.append(VisitChange(status="registration_failed", **info))
            continue
        hairs = _map_hairs(analysis, reg, area, scale, params)
        matching = match_hairs(
            base_hairs.xy_baseline, hairs.xy_baseline,
            baseline_inside=base_hairs.inside, followup_inside=hairs.inside,
            baseline_terminal=base_hairs.terminal, followup_terminal=hairs.terminal,
            max_distance_px=gate_px, baseline_direction=base_hairs.direction_baseline,
            across_weight=cp.match_across_weight,
        )
        if cp.cross_check:
            matching = _cross_check(matching, (base, analysis), (base_hairs, hairs),
                                    (masks[0], masks[v]), reg, cp, gate_px, tolerance_px)
        mapped.append(hairs)
        matchings.append(matching)
        rng = np.random.default_rng([cp.seed, v])
        recall = (detection_recall(matching, base_hairs.terminal, hairs.terminal,
                                   min_hairs=cp.recall_min_hairs, floor=cp.recall_floor)
                  if cp.recall_correction else None)
        # Counted on the baseline's terms: a hair both photos show counts in both
        # visits when the baseline detected it and in neither when only the
        # follow-up did, so the change is new - lost over the baseline's own count.
        base_weights = (None if recall is None else
                        recall.weights("baseline", base_hairs.terminal, base_hairs.hair_index.size))
        follow_hairs, follow_weights = _on_baseline_terms(hairs, base_hairs, matching, recall,
                                                          base_weights)
        base_sums = layers.sums(base_hairs, masks[0], None, base_weights)
        follow_sums = layers.sums(follow_hairs, masks[v], reg, follow_weights)
        changes.append(_visit_change(info, base_sums, follow_sums, layers, mm2_per_px, matching,
                                     recall, rng, params))
    flags = tuple(
        QualityFlag("registration_failed", message=f"follow-up {v}: {regs[v - 1].failure_reason}. "
                    f"{FLAGS['registration_failed']}")
        for v in failed
    )
    return Comparison(
        photos=loaded,
        visits=analyses,
        registrations=regs,
        changes=tuple(changes),
        common_mask=common,
        common_area_cm2=area_cm2,
        mapped_hairs=tuple(mapped),
        matchings=tuple(matchings),
        region_masks=layers.region_masks(),
        capture_dates=capture_dates,
        trend=_trend(changes, months),
        flags=flags,
        provenance=_provenance(loaded, params),
    )


# ---------------------------------------------------------------------------------------
# Common area and hairs in baseline coordinates
# ---------------------------------------------------------------------------------------


def _hair_mask(photo: Photo, analysis: Analysis, index: int) -> np.ndarray:
    """The analysis' hair mask, checked to be of its photo's size."""
    mask = analysis.hair_mask
    if mask is None or mask.shape != photo.pixels.shape[:2]:
        raise ComparisonError(f"analysis {index} carries no hair mask of its photo's size")
    return mask


@dataclass(frozen=True, eq=False)
class _CommonArea:
    """The part of the baseline that every registered photo shows, a margin from every edge.

    A photo's field is ``-0.5 <= x < width - 0.5`` (pixel centres on integers);
    the margin is in baseline px and scaled by the registration in a follow-up.
    """

    fields: tuple[tuple[tuple[int, ...], np.ndarray | None, float], ...]  # shape, matrix, margin

    @classmethod
    def build(
        cls,
        baseline_shape: tuple[int, ...],
        followups: Sequence[tuple[tuple[int, ...], Registration]],
        margin_px: float,
    ) -> _CommonArea:
        fields = [(tuple(baseline_shape[:2]), None, margin_px)]
        fields += [(tuple(shape[:2]), reg.followup_from_baseline, margin_px * (reg.scale or 1.0))
                   for shape, reg in followups]
        return cls(tuple(fields))

    def contains(self, xy: np.ndarray) -> np.ndarray:
        """Whether baseline points ``xy`` (shape (N, 2)) lie in the common area."""
        from scalpmetrics.register import apply_homography

        ok = np.ones(len(xy), bool)
        for (h, w), matrix, margin in self.fields:
            q = xy if matrix is None else apply_homography(matrix, xy)
            lo = margin - 0.5
            ok &= (q[:, 0] >= lo) & (q[:, 0] < w - 0.5 - margin)
            ok &= (q[:, 1] >= lo) & (q[:, 1] < h - 0.5 - margin)
        return ok

    def mask(self) -> np.ndarray:
        """The common area as baseline pixels whose centres it contains, shape (H, W)."""
        h, w = self.fields[0][0]
        out = np.zeros((h, w), bool)
        rows_per_chunk = max(1, _MASK_CHUNK_PX // max(w, 1))
        xs = np.arange(w, dtype=np.float64)
        for r0 in range(0, h, rows_per_chunk):
            rows = np.arange(r0, min(h, r0 + rows_per_chunk), dtype=np.float64)
            xy = np.stack(np.meshgrid(xs, rows), -1).reshape(-1, 2)
            out[r0:r0 + len(rows)] = self.contains(xy).reshape(len(rows), w)
        return out


def _pixel_of(xy: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row, column and in-bounds flag of points (pixel centres on integers)."""
    col = np.floor(xy[:, 0] + 0.5).astype(np.int64)
    row = np.floor(xy[:, 1] + 0.5).astype(np.int64)
    ok = (row >= 0) & (row < shape[0]) & (col >= 0) & (col < shape[1])
    return np.where(ok, row, 0), np.where(ok, col, 0), ok


def _map_hairs(
    analysis: Analysis,
    reg: Registration | None,
    area: _CommonArea,
    baseline_px_per_mm: float | None,
    params: Params,
) -> MappedHairs:
    """The visit's counted hairs in baseline coordinates, widths on the baseline's scale."""
    index = np.array([i for i, h in enumerate(analysis.hairs) if h.counted], dtype=int)
    hairs = [analysis.hairs[i] for i in index]
    xy = np.array([h.emergence_xy_px for h in hairs], np.float64).reshape(-1, 2)
    tip = np.array([h.tip_xy_px for h in hairs], np.float64).reshape(-1, 2)
    if reg is not None and len(xy):
        xy, tip = reg.to_baseline(xy), reg.to_baseline(tip)
    inside = area.contains(xy)
    s = 1.0 if reg is None or reg.scale is None else reg.scale
    width_weight_px = width_weights(hairs, params.trace) / s
    width_um = None
    if baseline_px_per_mm is not None and params.compare.scale_from_registration:
        width_um = np.array([h.width_px for h in hairs], np.float64) / (
            baseline_px_per_mm * s) * UM_PER_MM
    elif all(h.width_um is not None for h in hairs) and analysis.calibration.is_known:
        width_um = np.array([h.width_um for h in hairs], np.float64)
    terminal = None if width_um is None else width_um >= params.trace.vellus_cutoff_um
    return MappedHairs(index, xy, width_um, terminal, width_weight_px, inside, tip - xy)


def _cross_check(
    matching: HairMatching,
    analyses: tuple[Analysis, Analysis],
    hairs: tuple[MappedHairs, MappedHairs],
    masks: tuple[np.ndarray, np.ndarray],
    reg: Registration,
    cp: CompareParams,
    gate_px: float,
    tolerance_px: int,
) -> HairMatching:
    """Unpaired hairs of each visit that the other photo shows are detection misses."""
    assert reg.followup_from_baseline is not None

    def seen(visit: int, index: np.ndarray, other_from_this: np.ndarray) -> np.ndarray:
        found = [analyses[visit].hairs[i] for i in hairs[visit].hair_index[index]]
        if not found:
            return np.zeros(0, bool)
        evidence = shaft_evidence(
            np.array([h.emergence_xy_px for h in found]), np.array([h.tip_xy_px for h in found]),
            masks[1 - visit], other_from_this,
            span=(cp.cross_check_span_start, cp.cross_check_span_end),
            samples=cp.cross_check_samples, tolerance_px=tolerance_px,
        )
        return evidence >= cp.cross_check_min_fraction

    to_follow = reg.followup_from_baseline
    return cross_check(
        matching,
        followup_seen=seen(1, matching.new, np.linalg.inv(to_follow)),
        baseline_seen=seen(0, matching.lost, to_follow),
        baseline_xy=hairs[0].xy_baseline,
        followup_xy=hairs[1].xy_baseline,
        max_distance_px=gate_px,
    )


def _on_baseline_terms(follow: MappedHairs, base: MappedHairs, matching: HairMatching,
                       recall: DetectionRecall | None, base_weights: np.ndarray | None,
                       ) -> tuple[MappedHairs, np.ndarray | None]:
    """The follow-up's hairs as the baseline's detection saw them: less those the
    baseline missed (``missed_in_baseline``), plus the baseline's that the
    follow-up missed (``missed_in_followup``, given ``hair_index`` -1); and each
    one's weight under ``recall`` (``None`` without): a hair of the baseline
    (paired or missed) weighs as in ``base_weights``, a new one by the
    follow-up's recall."""
    keep = np.ones(follow.hair_index.size, bool)
    keep[matching.missed_in_baseline] = False
    add = matching.missed_in_followup

    def cat(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
        return None if a is None or b is None else np.concatenate([a[keep], b[add]])

    hairs = MappedHairs(
        hair_index=np.concatenate([follow.hair_index[keep], np.full(add.size, -1)]),
        xy_baseline=np.vstack([follow.xy_baseline[keep], base.xy_baseline[add]]),
        width_um=cat(follow.width_um, base.width_um),
        terminal=cat(follow.terminal, base.terminal),
        width_weight_px=np.concatenate([follow.width_weight_px[keep], base.width_weight_px[add]]),
        inside=np.concatenate([follow.inside[keep], base.inside[add]]),
        direction_baseline=np.vstack([follow.direction_baseline[keep],
                                      base.direction_baseline[add]]),
    )
    if recall is None or base_weights is None:
        return hairs, None
    follow_w = recall.weights("followup", follow.terminal, follow.hair_index.size)
    pairs = matching.pairs.reshape(-1, 2)
    follow_w[pairs[:, 1]] = base_weights[pairs[:, 0]]
    return hairs, np.concatenate([follow_w[keep], base_weights[add]])


# ---------------------------------------------------------------------------------------
# Label layers: the common area, its regions and the bootstrap blocks
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Sums:
    """Per-label sums of one visit (arrays of length n_labels): the hairs found,
    and the hairs estimated (each found hair weighted by 1 / its recall)."""

    count: np.ndarray
    terminal: np.ndarray | None
    width_um: np.ndarray | None
    weighted_width_um_px: np.ndarray | None  # summed width x its weight (baseline px)
    width_weight_px: np.ndarray  # summed weights of the mean width (baseline px)
    cover: np.ndarray  # summed hair-mask pixels (visit frame)
    pixels: np.ndarray  # label pixels (visit frame)
    est_count: np.ndarray
    est_terminal: np.ndarray | None
    est_width_um: np.ndarray | None


@dataclass(frozen=True, eq=False)
class _Layers:
    """One label image (baseline pixels, -1 outside) holding three partitions of the
    common area: label 0 is the whole common area, 1..R the regions, then the blocks."""

    labels: tuple[np.ndarray, ...]  # common, regions, blocks: int32 label images
    region_names: tuple[str, ...]
    area_px: tuple[np.ndarray, ...]

    @classmethod
    def build(cls, common: np.ndarray, block_px: float, grid: str | None) -> _Layers:
        from scalpmetrics.regions import grid_regions, parse_grid_spec

        h, w = common.shape
        whole = np.where(common, 0, -1).astype(np.int32)
        regions = np.full((h, w), -1, np.int32)
        names: list[str] = []
        if grid is not None:
            for i, region in enumerate(grid_regions(common.shape, *parse_grid_spec(grid))):
                regions[region.mask & common] = i
                names.append(region.name)
        step = max(1, int(round(block_px)))
        rows, cols = np.nonzero(common)
        _, dense = np.unique((rows // step) * ((w + step - 1) // step) + cols // step,
                             return_inverse=True)
        blocks = np.full((h, w), -1, np.int32)
        blocks[rows, cols] = dense
        labels = (whole, regions, blocks)
        area = tuple(np.bincount(lab[lab >= 0], minlength=_n(lab)) for lab in labels)
        return cls(labels, tuple(names), area)

    def region_masks(self) -> tuple[tuple[str, np.ndarray], ...]:
        return tuple((name, self.labels[1] == i) for i, name in enumerate(self.region_names))

    def sums(
        self, hairs: MappedHairs, hair_mask: np.ndarray, reg: Registration | None,
        weights: np.ndarray | None = None,
    ) -> tuple[_Sums, ...]:
        """Per-label sums of one visit, for each of the three partitions; the
        estimated sums weight each hair by ``weights`` (1 when ``None``)."""
        import cv2

        w = np.ones(hairs.hair_index.size) if weights is None else np.asarray(weights, float)
        out = []
        for layer, lab in enumerate(self.labels):
            n = _n(lab)
            if layer == 0:  # the whole common area: the exact test, not the pixel grid
                hair_lab = np.where(hairs.inside, 0, -1)
            else:
                row, col, ok = _pixel_of(hairs.xy_baseline, lab.shape)
                hair_lab = np.where(ok, lab[row, col], -1)
            use = hair_lab >= 0
            at, wu = hair_lab[use], w[use]
            count = np.bincount(at, minlength=n)
            est_count = np.bincount(at, weights=wu, minlength=n)
            ww = hairs.width_weight_px[use]
            width_weight = np.bincount(at, weights=ww, minlength=n)
            terminal = width = weighted_width = est_terminal = est_width = None
            if hairs.terminal is not None and hairs.width_um is not None:
                term, widths = hairs.terminal[use].astype(float), hairs.width_um[use]
                terminal = np.bincount(at, weights=term, minlength=n)
                width = np.bincount(at, weights=widths, minlength=n)
                weighted_width = np.bincount(at, weights=widths * ww, minlength=n)
                est_terminal = np.bincount(at, weights=term * wu, minlength=n)
                est_width = np.bincount(at, weights=widths * wu, minlength=n)
            if reg is None:
                visit_lab = lab
            else:
                size = (hair_mask.shape[1], hair_mask.shape[0])
                visit_lab = cv2.warpPerspective(
                    lab.astype(np.float32), reg.followup_from_baseline, size,
                    flags=cv2.INTER_NEAREST, borderValue=-1.0,
                ).astype(np.int32)
            inside = visit_lab >= 0
            pixels = np.bincount(visit_lab[inside], minlength=n)
            cover = np.bincount(visit_lab[inside], weights=hair_mask[inside].astype(np.float64),
                                minlength=n)
            out.append(_Sums(count, terminal, width, weighted_width, width_weight, cover, pixels,
                             est_count, est_terminal, est_width))
        return tuple(out)


def _n(labels: np.ndarray) -> int:
    return int(labels.max()) + 1 if labels.size else 0


def _area_metrics(s: _Sums, k: int, area_px: float, mm2_per_px: float | None) -> AreaMetrics:
    """Figures of label ``k``."""
    count = int(s.count[k])
    area_cm2 = None if mm2_per_px is None else area_px * mm2_per_px / MM2_PER_CM2
    terminal = None if s.terminal is None else int(round(float(s.terminal[k])))
    width = None if s.width_um is None else float(s.width_um[k])
    mean_width = None if width is None else mean_width_from_sums(
        float(s.weighted_width_um_px[k]), float(s.width_weight_px[k]), width, count)
    return AreaMetrics(
        area_px=int(area_px),
        area_cm2=area_cm2,
        hair_count=count,
        density_per_cm2=count / area_cm2 if area_cm2 else None,
        terminal_count=terminal,
        vellus_count=None if terminal is None else count - terminal,
        mean_shaft_width_um=mean_width,
        cumulative_thickness_mm_per_cm2=(
            width / UM_PER_MM / area_cm2 if width is not None and area_cm2 else None
        ),
        coverage_fraction=_coverage(s, k),
    )


def _coverage(s: _Sums, k: int) -> float | None:
    """Coverage fraction of label ``k`` (``None`` on an empty label)."""
    return float(s.cover[k]) / float(s.pixels[k]) if s.pixels[k] else None


# ---------------------------------------------------------------------------------------
# Change figures and their uncertainty
# ---------------------------------------------------------------------------------------


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
        **matching.counts(),
        **info,
    )


def _region_change(
    name: str, base: _Sums, follow: _Sums, k: int, area_px: float, mm2_per_px: float | None
) -> RegionChange:
    b = _area_metrics(base, k, area_px, mm2_per_px)
    f = _area_metrics(follow, k, area_px, mm2_per_px)
    return RegionChange(name=name, baseline=b, followup=f, **_changes_of(base, follow, k))


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


# ---------------------------------------------------------------------------------------
# Dates and trend
# ---------------------------------------------------------------------------------------


def parse_date(value: str | dt.date | None, *, what: str = "date") -> dt.date | None:
    """An ISO 8601 date or date-time (or a date object) as a date; None stays None.

    Examples
    --------
    >>> parse_date("2026-03-01T09:30:00")
    datetime.date(2026, 3, 1)
    """
    if value is None or isinstance(value, dt.date):
        return value.date() if isinstance(value, dt.datetime) else value
    text = str(value).strip()
    try:
        return dt.datetime.fromisoformat(text).date()
    except ValueError:
        raise ComparisonError(f"{what} {text!r} is not an ISO date such as 2026-03-01") from None


def load_visits(
    photos: Sequence[Photo | str | os.PathLike[str]],
    dates: Sequence[str | dt.date | None] | None,
    *,
    params: Params = Params(),
) -> tuple[Photo, ...]:
    """Load the photos of a comparison, refusing too few photos or unusable dates first.

    Parameters
    ----------
    photos : sequence of Photo or path
        Baseline first; at least two.
    dates : sequence of (str or date or None), optional
        One per photo (see :func:`resolve_capture_dates`).
    params : Params
        Loading parameters (``params.load``).

    Returns
    -------
    tuple of Photo

    Raises
    ------
    ComparisonError
        Fewer than two photos, or unusable dates.
    ScalpmetricsError
        Any problem reading a photo.
    """
    from scalpmetrics.io import load_photo

    if len(photos) < 2:
        raise ComparisonError("compare needs a baseline photo and at least one follow-up photo")
    loaded = tuple(p if isinstance(p, Photo) else load_photo(p, params=params.load) for p in photos)
    resolve_capture_dates(loaded, dates)
    return loaded


def resolve_capture_dates(
    photos: Sequence[Photo], dates: Sequence[str | dt.date | None] | None
) -> tuple[str | None, ...]:
    """Each photo's capture date as ISO text: the given dates, else EXIF/DICOM, else None.

    Parameters
    ----------
    photos : sequence of Photo
        The visits, baseline first.
    dates : sequence of (str or date or None), optional
        One per photo; when given they override the photos' own capture times.

    Returns
    -------
    tuple of (str or None)
        ``YYYY-MM-DD`` per photo, None where unknown.

    Raises
    ------
    ComparisonError
        The wrong number of dates, or a date that is not ISO 8601.
    """
    if dates is not None:
        if len(dates) != len(photos):
            raise ComparisonError(f"{len(dates)} dates given for {len(photos)} photos")
        parsed = [parse_date(d, what=f"date {i + 1}") for i, d in enumerate(dates)]
    else:
        parsed = []
        for p in photos:
            try:
                parsed.append(parse_date(p.metadata.capture_time))
            except ComparisonError:
                parsed.append(None)
    return tuple(None if d is None else d.isoformat() for d in parsed)


def _months(dates: tuple[str | None, ...]) -> tuple[float, ...] | None:
    """Months since the first date, or None unless every date is known."""
    known = [dt.date.fromisoformat(d) for d in dates if d is not None]
    if len(known) != len(dates):
        return None
    return tuple((d - known[0]).days / DAYS_PER_MONTH for d in known)


def _trend(changes: Sequence[VisitChange], months: tuple[float, ...] | None) -> Trend | None:
    """Least-squares slope per month through the baseline (0, 0) and each registered visit."""
    from scipy import stats

    if months is None:
        return None
    ok = [c for c in changes if c.status == "ok"]
    t = np.array([0.0] + [months[c.visit] for c in ok])
    if len(ok) == 0 or np.ptp(t) == 0:
        return None
    per_month: dict[str, float | None] = {}
    ci95: dict[str, tuple[float, float] | None] = {}
    for name in TREND_METRICS:
        values = [getattr(c, name) for c in ok]
        if any(v is None for v in values):
            per_month[name], ci95[name] = None, None
            continue
        y = np.array([0.0] + values)
        fit = stats.linregress(t, y)
        per_month[name] = float(fit.slope)
        ci95[name] = None
        if len(t) >= 3 and np.isfinite(fit.stderr):
            half = float(stats.t.ppf(0.975, len(t) - 2) * fit.stderr)
            ci95[name] = (float(fit.slope) - half, float(fit.slope) + half)
    return Trend(
        visits=(0, *(c.visit for c in ok)),
        months=tuple(float(v) for v in t),
        per_month=per_month,
        ci95=ci95,
    )


def _provenance(photos: Sequence[Photo], params: Params) -> dict[str, Any]:
    import cv2
    import scipy

    return {
        "scalpmetrics_version": __version__,
        "parameters": params.to_dict(),
        "parameters_digest": params.digest(),
        "input_sha256": [p.sha256 for p in photos],
        "python_version": platform.python_version(),
        "numpy_version": np.__version__,
        "opencv_version": cv2.__version__,
        "scipy_version": scipy.__version__,
    }
