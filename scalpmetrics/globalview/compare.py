"""Global photos across visits: coverage change per zone, with an interval.

Every visit is analysed on its own (:func:`analyze_global`); the heads, not
the hair, are aligned: each photo's zones come from its own head frame, so a
zone covers the same part of the head whatever the framing, and clinic
regions drawn on the baseline are carried to each follow-up by the head
transform (baseline head frame -> follow-up head frame). Then one of two
things is shared:

* when the visits' own blends of the colour models with and without scalp
  seen differ (a photo near that decision, see
  :func:`~scalpmetrics.globalview.hairfraction.seen_weight`), every visit is
  analysed again with the mean of their weights
  (``globalview.share_visit_seen_weight``): one head's scalp does not switch
  from seen to unseen with a small change of pose or light;
* otherwise the visits whose scalp is seen are analysed again with their
  shading fits pulled towards one scalp/hair contrast, the mean of their own
  (``globalview.share_visit_contrast``, ``globalview.visit_contrast_weight``):
  the colours are the person's, and a tilt of one photo's shading otherwise
  trades against its contrast.

The change of a zone is ``100 * (followup - baseline)`` coverage, in
percentage points. Its interval is normal with the standard error::

    se = 100 * sqrt(se_baseline^2 + se_followup^2 + 2 * repeat_sd^2)

where the per-photo ``se`` are the zones' block-bootstrap errors (how much
a zone's coverage moves with how the hair lies) and ``repeat_sd``
(``globalview.repeat_sd_fraction``) stands for what a single photo cannot
show: pose, light and head-fit differences between two photos of the same
head (measured on repeat phantom photos; set it from your own repeat photos).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from scalpmetrics.compare import load_visits, resolve_capture_dates
from scalpmetrics.errors import ComparisonError
from scalpmetrics.globalview import flags as gflags
from scalpmetrics.globalview.analyze import analyze_global
from scalpmetrics.globalview.clinic import ClinicRegions
from scalpmetrics.globalview.record import GlobalAnalysis
from scalpmetrics.params import Params
from scalpmetrics.types import Photo, QualityFlag

__all__ = ["ZoneChange", "GlobalVisitChange", "GlobalComparison", "compare_global",
           "compare_global_analyses"]

POINTS = 100.0
DAYS_PER_MONTH = 365.2425 / 12


@dataclass(frozen=True)
class ZoneChange:
    """Coverage of one zone at the baseline and a follow-up, and its change.

    Attributes
    ----------
    coverage_change_points : float or None
        ``100 * (followup - baseline)`` coverage.
    ci : tuple of float or None
        Interval of the change at ``interval_level``, percentage points.
    beyond_interval : bool or None
        Whether the interval excludes zero.
    """

    name: str
    source: str
    baseline_coverage_fraction: float | None
    followup_coverage_fraction: float | None
    baseline_thinning_score: float | None
    followup_thinning_score: float | None
    coverage_change_points: float | None
    se_points: float | None
    ci: tuple[float, float] | None
    beyond_interval: bool | None

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["ci"] = None if self.ci is None else [self.ci[0], self.ci[1]]
        return out


@dataclass(frozen=True)
class GlobalVisitChange:
    """One follow-up against the baseline.

    Attributes
    ----------
    head_scale : float
        Follow-up head size over baseline head size (framing, not growth).
    head_shift_fraction : tuple of float
        Head centre shift, fraction of the baseline head radius (x, y).
    """

    visit: int
    image_path: str | None
    capture_date: str | None
    months_since_baseline: float | None
    head_scale: float
    head_shift_fraction: tuple[float, float]
    regions: tuple[ZoneChange, ...]

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["head_shift_fraction"] = [float(v) for v in self.head_shift_fraction]
        out["regions"] = [r.to_dict() for r in self.regions]
        return out


@dataclass(frozen=True, eq=False)
class GlobalComparison:
    """Everything :func:`compare_global` found.

    Attributes
    ----------
    photos : tuple of Photo
        Baseline first (kept for reports; not in the JSON).
    visits : tuple of GlobalAnalysis
    changes : tuple of GlobalVisitChange
        One per follow-up.
    capture_dates : tuple of (str or None)
    interval_level : float
    flags : tuple of QualityFlag
    provenance : dict
    """

    view: str
    side: str | None
    photos: tuple[Photo, ...]
    visits: tuple[GlobalAnalysis, ...]
    changes: tuple[GlobalVisitChange, ...]
    capture_dates: tuple[str | None, ...]
    interval_level: float
    flags: tuple[QualityFlag, ...]
    provenance: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The JSON record of ``scalpmetrics compare --view ... --json``."""
        from scalpmetrics import SCHEMA_VERSION

        return {
            "schema_version": SCHEMA_VERSION,
            "kind": "global",
            "view": self.view,
            "side": self.side,
            "interval_level": self.interval_level,
            "visits": [a.to_dict() for a in self.visits],
            "capture_dates": list(self.capture_dates),
            "changes": [c.to_dict() for c in self.changes],
            "flags": [f.to_dict() for f in self.flags],
            "provenance": dict(self.provenance),
        }


def compare_global(
    photos: Sequence[Photo | str | os.PathLike[str]],
    *,
    view: str = "auto",
    regions: ClinicRegions | None = None,
    template: bool = True,
    dates: Sequence[str | dt.date | None] | None = None,
    params: Params = Params(),
) -> GlobalComparison:
    """Compare global photos of one head: baseline first, then follow-ups.

    Parameters
    ----------
    photos : sequence of Photo or path
        At least two.
    view : str
        The view of every photo; ``'auto'`` detects it on the baseline. The
        side of a temporal view is detected on the baseline and kept.
    regions : ClinicRegions, optional
        Clinic regions drawn on the baseline (in its pixels, or with a
        reference head frame); carried to the follow-ups by the head transform.
    template : bool
        Measure the view's template zones.
    dates : sequence, optional
        Capture date of each photo (ISO 8601); defaults to the EXIF times.
    params : Params

    Returns
    -------
    GlobalComparison

    Raises
    ------
    ComparisonError
        Fewer than two photos, or unusable dates.
    ScalpmetricsError
        Any problem reading or analysing a photo.
    """
    loaded = load_visits(photos, dates, params=params)
    base = analyze_global(loaded[0], view=view, regions=regions, template=template, params=params)
    follow_regions = None if regions is None else (
        regions if regions.reference_frame is not None else regions.with_reference(base.head_frame)
    )
    def analyze(i: int, contrast: float | None = None,
                weight: float | None = None) -> GlobalAnalysis:
        if i == 0 and contrast is None and weight is None:
            return base
        return analyze_global(loaded[i], view=base.view, side=base.side,
                              regions=regions if i == 0 else follow_regions, template=template,
                              cell_log_contrast=contrast, scalp_seen_weight=weight, params=params)

    analyses = [analyze(i) for i in range(len(loaded))]
    weights = [a.colour_model["scalp_seen_weight"] for a in analyses]
    seen = [i for i, a in enumerate(analyses)
            if weights[i] >= 1.0 and a.colour_model["cell_log_contrast"] is not None]
    if params.globalview.share_visit_seen_weight and max(weights) > min(weights):
        # one head, one blend of the models with and without scalp seen (below 1:
        # no visit then shows scalp fully, and no contrast is shared)
        common = float(np.mean(weights))
        analyses = [analyze(i, weight=common) for i in range(len(loaded))]
    elif params.globalview.share_visit_contrast and len(seen) >= 2:
        # the person's hair and scalp colours: one contrast for the visits that show scalp
        shared = float(np.mean([analyses[i].colour_model["cell_log_contrast"] for i in seen]))
        for i in seen:
            analyses[i] = analyze(i, shared)
    return compare_global_analyses(loaded, tuple(analyses), dates=dates, params=params)


def compare_global_analyses(
    photos: Sequence[Photo],
    analyses: Sequence[GlobalAnalysis],
    *,
    dates: Sequence[str | dt.date | None] | None = None,
    params: Params = Params(),
) -> GlobalComparison:
    """Build the comparison from analyses already made (same view, same region names)."""
    from scipy.stats import norm

    gp = params.globalview
    if len(analyses) < 2 or len(analyses) != len(photos):
        raise ComparisonError("compare needs one analysis per photo, at least two")
    base = analyses[0]
    if any(a.view != base.view for a in analyses):
        raise ComparisonError("every photo of a global comparison must be of the same view")
    capture = resolve_capture_dates(photos, dates)
    z = float(norm.ppf(0.5 + gp.interval_level / 2))
    flag_list: list[QualityFlag] = []
    if base.side is not None and any(a.side != base.side for a in analyses[1:]):
        flag_list.append(gflags.flag(
            "view_uncertain", detail="the temporal side differs between visits; zones compared by name"
        ))
    contrasts = [a.colour_model["contrast_ratio"] for a in analyses]
    if max(contrasts) > gp.contrast_mismatch_ratio * min(contrasts):
        flag_list.append(gflags.flag(
            "contrast_mismatch", value=max(contrasts) / min(contrasts),
            threshold=gp.contrast_mismatch_ratio,
            detail="scalp/hair contrast per visit " + ", ".join(f"{c:.1f}" for c in contrasts),
        ))
    changes = []
    for i, fol in enumerate(analyses[1:], start=1):
        months = None
        if capture[0] is not None and capture[i] is not None:
            d0, d1 = dt.date.fromisoformat(capture[0]), dt.date.fromisoformat(capture[i])
            months = (d1 - d0).days / DAYS_PER_MONTH
        zones = tuple(_zone_change(b, fol, z, gp.repeat_sd_fraction) for b in base.regions)
        r0 = base.head_frame.mean_radius_px
        (x0, y0), (x1, y1) = base.head_frame.center_xy_px, fol.head_frame.center_xy_px
        changes.append(GlobalVisitChange(
            visit=i,
            image_path=fol.image.path,
            capture_date=capture[i],
            months_since_baseline=months,
            head_scale=fol.head_frame.mean_radius_px / r0,
            head_shift_fraction=((x1 - x0) / r0, (y1 - y0) / r0),
            regions=zones,
        ))
    from scalpmetrics.analysis import provenance

    return GlobalComparison(
        view=base.view,
        side=base.side,
        photos=tuple(photos),
        visits=tuple(analyses),
        changes=tuple(changes),
        capture_dates=capture,
        interval_level=gp.interval_level,
        flags=tuple(flag_list),
        provenance={**provenance(photos[0], base.calibration, params),
                    "input_sha256": [p.sha256 for p in photos]},
    )


def _zone_change(b: Any, fol: GlobalAnalysis, z: float, repeat_sd: float) -> ZoneChange:
    try:
        f = fol.region(b.name)
    except KeyError:
        f = None
    cb = b.coverage_fraction
    cf = None if f is None else f.coverage_fraction
    if cb is None or cf is None:
        return ZoneChange(b.name, b.source, cb, cf, b.thinning_score,
                          None if f is None else f.thinning_score, None, None, None, None)
    change = POINTS * (cf - cb)
    se = POINTS * float(np.sqrt((b.coverage_se_fraction or 0.0) ** 2
                                + (f.coverage_se_fraction or 0.0) ** 2 + 2 * repeat_sd**2))
    ci = (change - z * se, change + z * se)
    return ZoneChange(b.name, b.source, cb, cf, b.thinning_score, f.thinning_score,
                      change, se, ci, bool(ci[0] > 0 or ci[1] < 0))
