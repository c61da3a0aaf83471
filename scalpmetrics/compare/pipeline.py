"""The entry points: compare photos, or analyses of them, visit by visit.

:func:`compare_visits` analyses the photos and hands them to
:func:`compare_analyses`, which registers, builds the common area, maps and
matches the hairs and assembles the :class:`~scalpmetrics.compare.results.Comparison`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from scalpmetrics.compare.area import _CommonArea, _hidden, _map_hairs
from scalpmetrics.compare.changes import _visit_change
from scalpmetrics.compare.dates import _months, _trend, load_visits, resolve_capture_dates
from scalpmetrics.compare.matching import (_cross_check, _new_earlier, _on_baseline_terms,
                                           _with_hairs)
from scalpmetrics.compare.provenance import _provenance
from scalpmetrics.compare.results import Comparison, MappedHairs, VisitChange
from scalpmetrics.compare.sums import _Layers
from scalpmetrics.errors import ComparisonError, RegistrationError
from scalpmetrics.match import HairMatching, match_hairs
from scalpmetrics.measure import MM2_PER_CM2, UM_PER_MM
from scalpmetrics.params import Params
from scalpmetrics.quality import FLAGS
from scalpmetrics.recall import detection_recall
from scalpmetrics.register import register_to_baseline
from scalpmetrics.types import Analysis, Photo, QualityFlag


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
    hidden = [_hidden(a, params) for a in analyses]
    area = _CommonArea.build((masks[0].shape, hidden[0]),
                             [(m.shape, h, r) for m, h, r in zip(masks[1:], hidden[1:], regs)
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
    for v, (analysis, reg) in enumerate(zip(analyses[1:], regs), start=1):
        if not reg.registered:
            mapped.append(None)
            matchings.append(None)
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
    changes: list[VisitChange] = []
    new_at_earlier: list[MappedHairs | None] = []
    for v, (analysis, reg) in enumerate(zip(analyses[1:], regs), start=1):
        info: dict[str, Any] = dict(
            visit=v, image_path=analysis.image.path, capture_date=capture_dates[v],
            months_since_baseline=None if months is None else months[v],
        )
        hairs, matching = mapped[v], matchings[v]
        if hairs is None or matching is None:
            changes.append(VisitChange(status="registration_failed", **info))
            new_at_earlier.append(None)
            continue
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
        earlier = (_new_earlier(v, analyses, mapped, matchings, masks, regs, cp, gate_px,
                                tolerance_px)
                   if cp.course_second_look and cp.cross_check else None)
        new_at_earlier.append(earlier)
        if earlier is not None:
            follow_hairs, follow_weights = _with_hairs(follow_hairs, follow_weights, earlier)
        base_sums = layers.sums(base_hairs, masks[0], None, base_weights)
        follow_sums = layers.sums(follow_hairs, masks[v], reg, follow_weights)
        n_earlier = 0 if earlier is None else earlier.hair_index.size
        changes.append(_visit_change(info, base_sums, follow_sums, layers, mm2_per_px, matching,
                                     n_earlier, recall, rng, params))
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
        new_at_earlier=tuple(new_at_earlier),
    )


def _hair_mask(photo: Photo, analysis: Analysis, index: int) -> np.ndarray:
    """The analysis' hair mask, checked to be of its photo's size."""
    mask = analysis.hair_mask
    if mask is None or mask.shape != photo.pixels.shape[:2]:
        raise ComparisonError(f"analysis {index} carries no hair mask of its photo's size")
    return mask
