"""Analyse one photo end to end: normalise, segment, trace, measure.

This is the function behind ``scalpmetrics analyze``; it reads nothing but
the photo it is given and writes nothing.

Objects in view that are not scalp (a scale marker, a colour chart) are left
out: their area (grown by a margin) is removed from every region, so areas
and densities are of the remaining pixels, and it is painted in the
surrounding skin colour before normalisation so it neither pulls the skin
estimate nor looks like hair. A chart whose colour fit is good corrects the
photo's colours before normalisation.
"""

from __future__ import annotations

import os
import platform
from typing import Any

import numpy as np

from scalpmetrics import __version__
from scalpmetrics.calibration import resolve_calibration
from scalpmetrics.colorchart import ChartDetection, correct_colors, find_color_chart
from scalpmetrics.errors import CalibrationError
from scalpmetrics.io import load_photo
from scalpmetrics.marker import (
    MarkerDetection,
    MarkerSpec,
    fill_excluded,
    find_marker,
    parse_marker_spec,
    quad_mask,
)
from scalpmetrics.measure import measure_regions
from scalpmetrics.normalize import normalize_photo
from scalpmetrics.params import Params
from scalpmetrics.quality import (
    calibration_flags,
    chart_flags,
    marker_flags,
    measure_quality,
    quality_flags,
)
from scalpmetrics.regions import build_regions
from scalpmetrics.segment import clipped_pixels, segment_hair
from scalpmetrics.trace import trace_hairs
from scalpmetrics.types import Analysis, Calibration, ImageInfo, Photo, Region


def analyze(
    photo: Photo | str | os.PathLike[str],
    *,
    px_per_mm: float | None = None,
    field_width_mm: float | None = None,
    marker: MarkerSpec | str | None = None,
    grid: str | None = None,
    region_labels: np.ndarray | None = None,
    params: Params = Params(),
) -> Analysis:
    """Measure hair in one photo.

    Parameters
    ----------
    photo : Photo or path
        A loaded photo, or a path to load.
    px_per_mm : float, optional
        Scale in pixels per millimetre (overrides the file's own).
    field_width_mm : float, optional
        Width of the field of view in mm (alternative to ``px_per_mm``).
    marker : MarkerSpec or str, optional
        A square marker in view, ``'DICT:ID:SIDE_MM'``: its scale is the
        calibration unless ``px_per_mm`` or ``field_width_mm`` is given, and
        its area is left out of the analysis either way.
    grid : str, optional
        ``'grid:RxC'``: also measure R x C equal cells.
    region_labels : ndarray of int, shape (H, W), optional
        Label image (0 = outside, 1..N = regions) of the photo's size.
    params : Params
        All analysis parameters.

    Returns
    -------
    Analysis
        Whole-photo and per-region figures, traced hairs, flags, provenance.

    Raises
    ------
    ScalpmetricsError
        Any input problem (unreadable photo, implausible calibration, bad
        regions); :class:`CalibrationError` when the marker asked for is not
        in view and no other calibration is available.
    """
    if not isinstance(photo, Photo):
        photo = load_photo(photo, params=params.load)
    pixels = photo.pixels
    search = None
    if marker is not None:
        spec = marker if isinstance(marker, MarkerSpec) else parse_marker_spec(marker)
        search = find_marker(pixels, spec=spec, params=params.marker)
    detection = search.detection if search is not None else None
    chart = find_color_chart(pixels, params=params.chart) if params.chart.detect else None
    calibration = resolve_calibration(
        photo, px_per_mm=px_per_mm, field_width_mm=field_width_mm,
        marker_px_per_mm=detection.px_per_mm if detection is not None else None,
        params=params.calibration,
    )
    if search is not None and detection is None and not calibration.is_known:
        raise CalibrationError(f"{search.summary}, and no other calibration is given")
    excluded = excluded_area(pixels.shape, marker=detection, chart=chart, params=params)
    regions = [
        Region(r.name, r.mask & ~excluded)
        for r in build_regions(pixels.shape, grid=grid, labels=region_labels)
    ]
    work = correct_colors(pixels, chart) if chart is not None and chart.usable else pixels
    if excluded.any():
        work = fill_excluded(work, excluded)
    scale = calibration.px_per_mm
    image = normalize_photo(work, px_per_mm=scale, params=params.normalize)
    clipped = clipped_pixels(work, params=params.segment)
    mask = segment_hair(image, px_per_mm=scale, params=params.segment, clipped=clipped) & ~excluded
    hairs = trace_hairs(mask, image, px_per_mm=scale, params=params.trace)
    metrics = measure_regions(regions, hairs, mask, calibration=calibration)
    figures = measure_quality(
        pixels, normalized=image, hair_mask=mask, px_per_mm=scale, valid=~excluded,
        params=params.quality,
    )
    flags = tuple(
        calibration_flags(calibration)
        + marker_flags(search)
        + chart_flags(chart, max_fit_error_de00=params.chart.max_fit_error_de00)
        + quality_flags(figures, params=params.quality)
    )
    record = provenance(photo, calibration, params)
    record["quality_figures"] = figures
    if search is not None:
        record["marker"] = search.to_dict()
    if chart is not None:
        record["color_chart"] = chart.to_dict()
    return Analysis(
        image=ImageInfo(photo.path, photo.sha256, photo.width_px, photo.height_px),
        calibration=calibration,
        whole=metrics[0],
        regions=metrics,
        hairs=hairs,
        flags=flags,
        provenance=record,
        metadata=photo.metadata,
        hair_mask=mask,
    )


def excluded_area(
    shape: tuple[int, ...],
    *,
    marker: MarkerDetection | None,
    chart: ChartDetection | None,
    params: Params = Params(),
) -> np.ndarray:
    """Pixels of the objects in view that are not scalp, grown by their margins.

    Parameters
    ----------
    shape : tuple
        The photo's shape; ``(H, W)`` is used.
    marker : MarkerDetection or None
        A scale marker found in view (margin ``marker.exclusion_margin_fraction``).
    chart : ChartDetection or None
        A colour chart found in view, used or not (margin
        ``chart.exclusion_margin_fraction``).
    params : Params
        The margins.

    Returns
    -------
    ndarray of bool, shape (H, W)
    """
    excluded = np.zeros(shape[:2], dtype=bool)
    if marker is not None:
        excluded |= quad_mask(
            shape, marker.corners_xy_px, grow_fraction=params.marker.exclusion_margin_fraction
        )
    if chart is not None:
        excluded |= quad_mask(
            shape, chart.box_xy_px, grow_fraction=params.chart.exclusion_margin_fraction
        )
    return excluded


def provenance(photo: Photo, calibration: Calibration, params: Params) -> dict[str, Any]:
    """What produced a result: versions, parameters, input hash, calibration source."""
    import cv2
    import skimage

    return {
        "scalpmetrics_version": __version__,
        "parameters": params.to_dict(),
        "parameters_digest": params.digest(),
        "input_sha256": photo.sha256,
        "calibration_source": calibration.source,
        "python_version": platform.python_version(),
        "numpy_version": np.__version__,
        "opencv_version": cv2.__version__,
        "scikit_image_version": skimage.__version__,
    }
