"""Analyse one global-view photo: find the head, place the zones, measure coverage.

This is the function behind ``scalpmetrics analyze --view``; it reads nothing
but the photo it is given and writes nothing.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import cv2
import numpy as np

from scalpmetrics.errors import ViewDetectionError
from scalpmetrics.globalview import flags as gflags
from scalpmetrics.globalview.clinic import ClinicRegions, clinic_masks
from scalpmetrics.globalview.colour import area_resize, to_linear
from scalpmetrics.globalview.coverage import local_coverage, measure_zone, thinning_map
from scalpmetrics.globalview.geometry import HeadEllipse
from scalpmetrics.globalview.hairfraction import fit_unmixing, hair_fraction
from scalpmetrics.globalview.head import (
    HeadFit,
    Silhouette,
    colour_features,
    fit_head,
    refine_frame,
    segment_subject,
)
from scalpmetrics.globalview.record import GlobalAnalysis
from scalpmetrics.globalview.view import ViewGuess, decide_view, detect_side, view_features
from scalpmetrics.globalview.zones import VIEWS, rim_mask, zone_masks
from scalpmetrics.params import GlobalViewParams, Params
from scalpmetrics.types import ImageInfo, Photo, QualityFlag

__all__ = ["analyze_global", "VIEW_CHOICES"]

#: Accepted values of ``view``.
VIEW_CHOICES = (*VIEWS, "auto")


def _disc(radius_px: float) -> np.ndarray:
    r = max(1, int(round(radius_px)))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def _provisional_map(
    work: np.ndarray, frame: HeadEllipse, measured: np.ndarray, params: GlobalViewParams
) -> np.ndarray:
    """Hair fraction from a colour model learnt on the whole head (for view and side)."""
    model = fit_unmixing(work, frame, measured, params=params)
    return hair_fraction(work, frame, model)


def _working_copy(
    linear: np.ndarray, head: HeadFit, sil: Silhouette, view: str, params: GlobalViewParams
) -> tuple[np.ndarray, float, HeadEllipse, np.ndarray]:
    """Reduced linear copy, its scale, the head frame and the measurable pixels in it.

    The head frame is refitted to the sub-pixel outline of the copy
    (:func:`~scalpmetrics.globalview.head.refine_frame`).
    """
    factor = min(1.0, params.work_head_radius_px / head.ellipse.mean_radius_px)
    work = area_resize(linear, factor)
    scale = work.shape[1] / linear.shape[1]
    subject = cv2.resize(
        head.head_mask.astype(np.float32), (work.shape[1], work.shape[0]),
        interpolation=cv2.INTER_AREA,
    ) >= 0.5
    search_px = scale / sil.scale  # one pixel of the search copy, in pixels of the working copy
    frame = refine_frame(work, subject, head.ellipse.scaled(scale), view=view,
                         band_px=1.5 * search_px + 1.0, params=params)
    margin = params.outline_margin_fraction * frame.mean_radius_px
    if margin >= 0.5:
        subject = cv2.erode(subject.astype(np.uint8), _disc(margin)) > 0
    measured = subject & rim_mask(frame, work.shape, params.rim_fraction)
    return work, scale, frame, measured


def _guess_view(linear: np.ndarray, sil: Silhouette, params: GlobalViewParams) -> ViewGuess:
    """Detect the view on the search copy (see :mod:`~scalpmetrics.globalview.view`)."""
    small = area_resize(linear, sil.scale)
    generic = fit_head(sil, view="vertex", params=params)  # provisional frame
    frame = generic.ellipse.scaled(sil.scale)
    support = sil.head & rim_mask(frame, sil.head.shape, params.rim_fraction)
    f = _provisional_map(small, frame, support, params)
    side_frame = fit_head(sil, view="temporal", params=params).ellipse.scaled(sil.scale)
    side_support = sil.head & rim_mask(side_frame, sil.head.shape, params.rim_fraction)
    side_margin = detect_side(colour_features(small), side_frame, side_support)[1]
    return decide_view(
        {**view_features(f, frame, sil.head), "asymmetry": side_margin},
        asymmetry_split=params.view_asymmetry_split,
        low_hair_split=params.view_low_hair_split,
        mid_hair_split=params.view_mid_hair_split,
    )


def analyze_global(
    photo: Photo | str | os.PathLike[str],
    *,
    view: str = "auto",
    side: str | None = None,
    regions: ClinicRegions | None = None,
    template: bool = True,
    px_per_mm: float | None = None,
    field_width_mm: float | None = None,
    cell_log_contrast: float | None = None,
    scalp_seen_weight: float | None = None,
    params: Params = Params(),
) -> GlobalAnalysis:
    """Measure coverage zone by zone in one standardized global photo.

    Parameters
    ----------
    photo : Photo or path
        A loaded photo (RGB), or a path to load.
    view : {'vertex', 'midline', 'frontal', 'temporal', 'auto'}
        The standard view; ``'auto'`` detects it (and refuses when unsure).
    side : {'left', 'right'}, optional
        For the temporal view: the side of the head facing the camera;
        detected from the face when not given.
    regions : ClinicRegions, optional
        Clinic-defined regions, measured after the template zones.
    template : bool
        Measure the view's template zones (set False to measure only ``regions``).
    px_per_mm, field_width_mm : float, optional
        Scale, recorded with the result (coverage does not need it).
    cell_log_contrast : float, optional
        Pull the scalp/hair contrast of the shading fit towards this (log), as
        :func:`~scalpmetrics.globalview.compare.compare_global` does across the
        visits of one head (see
        :func:`~scalpmetrics.globalview.hairfraction.fit_unmixing`).
    scalp_seen_weight : float, optional
        Blend the colour models with and without scalp seen with this weight
        (0..1) instead of the photo's own, as
        :func:`~scalpmetrics.globalview.compare.compare_global` does across
        the visits of one head.
    params : Params
        All parameters (``params.globalview`` for this analysis).

    Returns
    -------
    GlobalAnalysis

    Raises
    ------
    ScalpmetricsError
        An unreadable photo, no head found, an undetectable view, bad regions.
    """
    from scalpmetrics.analysis import provenance
    from scalpmetrics.calibration import resolve_calibration
    from scalpmetrics.errors import RegionError
    from scalpmetrics.io import load_photo

    gp = params.globalview
    if view not in VIEW_CHOICES:
        raise RegionError(f"unknown view {view!r}: expected one of {', '.join(VIEW_CHOICES)}")
    if side not in (None, "left", "right"):
        raise RegionError(f"side must be 'left' or 'right', got {side!r}")
    if not template and regions is None:
        raise RegionError("nothing to measure: no template zones and no clinic regions")
    if not isinstance(photo, Photo):
        photo = load_photo(photo, params=params.load)
    calibration = resolve_calibration(
        photo, px_per_mm=px_per_mm, field_width_mm=field_width_mm, params=params.calibration
    )
    linear = to_linear(photo.pixels)
    sil = segment_subject(linear, params=gp)
    flag_list: list[QualityFlag] = []
    detected = view == "auto"
    if detected:
        guess = _guess_view(linear, sil, gp)
        if guess.margin < gp.view_min_margin:
            raise ViewDetectionError(
                f"cannot tell the view reliably (best guess {guess.view}, margin "
                f"{guess.margin:.2f} < {gp.view_min_margin:.2f}): give it with --view"
            )
        if guess.margin < gp.view_flag_margin:
            flag_list.append(gflags.flag("view_uncertain", value=guess.margin,
                                         threshold=gp.view_flag_margin, detail=guess.view))
        view = guess.view
    head = fit_head(sil, view=view, params=gp)
    work, scale, frame, measured = _working_copy(linear, head, sil, view, gp)
    head = dataclasses.replace(head, ellipse=frame.scaled(1.0 / scale))

    if view != "temporal":
        side = None
    elif side is None:
        side, side_margin = detect_side(colour_features(work), frame, measured)
        if side_margin < gp.side_flag_margin:
            flag_list.append(gflags.flag("side_uncertain", value=side_margin,
                                         threshold=gp.side_flag_margin, detail=side))

    named: list[tuple[str, str, int | None, np.ndarray]] = []
    if template:
        named += [(n, "template", None, m) for n, m in
                  zone_masks(view, frame, work.shape, side=side or "left", params=gp)]
    if regions is not None:
        named += clinic_masks(regions, frame, work.shape, photo_frame=head.ellipse,
                              photo_shape=photo.pixels.shape[:2])
    names = [n for n, *_ in named]
    if len(set(names)) != len(names):
        raise RegionError("region names must be unique (a clinic region repeats a zone name)")
    union = np.zeros(work.shape[:2], dtype=bool)
    for *_, m in named:
        union |= m
    near = cv2.dilate(union.astype(np.uint8), _disc(gp.fit_margin_fraction * frame.mean_radius_px)) > 0
    model = fit_unmixing(work, frame, measured & near, cell_log_contrast=cell_log_contrast,
                         scalp_seen_weight=scalp_seen_weight,
                         params=gp)
    f = hair_fraction(work, frame, model)
    local = local_coverage(f, measured, gp.thinning_window_fraction * frame.mean_radius_px)
    thin = thinning_map(local, params=gp)
    smooth = local_coverage(f, measured, gp.bootstrap_block_fraction * frame.mean_radius_px)
    area_scale = 1.0 / scale**2
    metrics = []
    masks: dict[str, np.ndarray] = {}
    for name, source, label, m in named:
        mm = m & measured
        masks[name] = mm
        metrics.append(measure_zone(
            name, mm, f, thin, smooth, measured, head_radius_px=frame.mean_radius_px,
            area_scale=area_scale, source=source, label=label, params=gp,
        ))
    flag_list += _flags(calibration.is_known, model.contrast_ratio, model.scalp_seen, head,
                        photo.pixels.shape, metrics, gp)
    colour: dict[str, Any] = model.to_dict()
    return GlobalAnalysis(
        image=ImageInfo(photo.path, photo.sha256, photo.width_px, photo.height_px),
        calibration=calibration,
        metadata=photo.metadata,
        view=view,
        side=side,
        view_detected=detected,
        head_frame=head.ellipse,
        regions=tuple(metrics),
        colour_model=colour,
        flags=tuple(flag_list),
        provenance=provenance(photo, calibration, params),
        work_scale=scale,
        hair_fraction=f,
        region_masks=masks,
    )


def _flags(
    calibrated: bool,
    contrast: float,
    scalp_seen: bool,
    head: HeadFit,
    shape: tuple[int, ...],
    metrics: list[Any],
    gp: GlobalViewParams,
) -> list[QualityFlag]:
    out = []
    if not calibrated:
        out.append(gflags.flag("calibration_missing"))
    if contrast < gp.low_contrast_ratio:
        out.append(gflags.flag("low_contrast", value=contrast, threshold=gp.low_contrast_ratio))
    if not scalp_seen:
        out.append(gflags.flag("scalp_not_seen"))
    if head.backdrop_contrast < 2 * gp.background_distance_sd:
        out.append(gflags.flag("weak_outline", value=head.backdrop_contrast,
                               threshold=2 * gp.background_distance_sd))
    e = head.ellipse
    (cx, cy), (a, b) = e.center_xy_px, e.semi_axes_px
    if cx - a < 0 or cy - b < 0 or cx + a > shape[1] or cy + b > shape[0]:
        out.append(gflags.flag("head_cut_off"))
    missing = [m.name for m in metrics if m.coverage_fraction is None]
    if missing:
        out.append(gflags.flag("zone_not_measured", detail=", ".join(missing)))
    return out
