"""Analyse one photo end to end: normalise, segment, trace, measure.

This is the function behind ``scalpmetrics analyze``; it reads nothing but
the photo it is given and writes nothing.

Objects in view that are not scalp (a scale marker, a colour chart) are left
out: their area (grown by a margin) is removed from every region, so areas
and densities are of the remaining pixels, and it is painted in the
surrounding skin colour before normalisation so it neither pulls the skin
estimate nor looks like hair. A chart whose colour fit is good corrects the
photo's colours before normalisation.

A photo of a finer scale than the method needs (the thinnest shaft at least
twice ``segment.min_shaft_width_px`` wide) is normalised, segmented, traced and
judged on a reduced working copy; the results are given in the photo's pixels.
"""

from __future__ import annotations

import dataclasses
import os
import platform
from concurrent.futures import ThreadPoolExecutor
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
from scalpmetrics.params import Params, QualityParams
from scalpmetrics.quality import (
    calibration_flags,
    chart_flags,
    blur_figures,
    hair_scalp_contrast,
    light_figures,
    marker_flags,
    quality_flags,
    shaft_length_mm,
)
from scalpmetrics.regions import build_regions, guarded_area
from scalpmetrics.segment import (
    DeviceGraphics,
    HairSegmentation,
    clipped_pixels,
    device_graphics,
    enlarge_mask,
    joined_cores,
    paint_over_lines,
    reduce_image,
    reduce_mask,
    segment_hair_fraction,
    working_factor,
)
from scalpmetrics.trace import trace_hairs
from scalpmetrics.types import Analysis, Calibration, Hair, ImageInfo, Photo, Region


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

    Notes
    -----
    Every region, ``'whole'`` included, leaves out a strip
    ``trace.edge_guard_um`` wide along the photo's edges (``edge_guard_px``
    when uncalibrated), with the hairs emerging in it: a hair emerging there
    may leave the field before it is long enough to count, so counting there
    would bias the density low. Hairs are still traced across the strip.
    """
    if not isinstance(photo, Photo):
        photo = load_photo(photo, params=params.load)
    pixels = photo.pixels
    search = None
    if marker is not None:
        spec = marker if isinstance(marker, MarkerSpec) else parse_marker_spec(marker)
        search = find_marker(pixels, spec=spec, params=params.marker)
    detection = search.detection if search is not None else None
    calibration = resolve_calibration(
        photo, px_per_mm=px_per_mm, field_width_mm=field_width_mm,
        marker_px_per_mm=detection.px_per_mm if detection is not None else None,
        params=params.calibration,
    )
    if search is not None and detection is None and not calibration.is_known:
        raise CalibrationError(f"{search.summary}, and no other calibration is given")
    regions = build_regions(pixels.shape, grid=grid, labels=region_labels)
    graphics = device_graphics(pixels, params=params.segment)
    chart, excluded, (hairs, mask, figures, tracing) = _chart_and_hair(
        pixels, detection, graphics, calibration.px_per_mm, params)
    measured = guarded_area(pixels.shape, calibration.px_per_mm, params.trace,
                            outside=graphics.left_out) & ~excluded
    regions = [Region(r.name, r.mask & measured) for r in regions]
    metrics = measure_regions(regions, hairs, mask, calibration=calibration, params=params.trace)
    flags = tuple(
        calibration_flags(calibration)
        + marker_flags(search)
        + chart_flags(chart, max_fit_error_de00=params.chart.max_fit_error_de00)
        + quality_flags(figures, params=params.quality)
    )
    record = provenance(photo, calibration, params)
    record["quality_figures"] = figures
    record["tracing"] = tracing
    record["device_graphics"] = {"blank_band_px": int(np.count_nonzero(graphics.blank_band)),
                                 "line_px": int(np.count_nonzero(graphics.lines)),
                                 "text_px": int(np.count_nonzero(graphics.text))}
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
        measured_area=measured,
    )


#: Traced hairs, hair mask, quality figures and tracing of a photo (see :func:`_measure_hair`).
_Measured = tuple[tuple[Hair, ...], np.ndarray, dict[str, float | None], str]


def _chart_and_hair(
    pixels: np.ndarray, marker: MarkerDetection | None, graphics: DeviceGraphics,
    px_per_mm: float | None, params: Params,
) -> tuple[ChartDetection | None, np.ndarray, _Measured]:
    """Look for a colour chart and measure the hair, at once.

    The chart search runs in a second thread alongside a hair analysis that
    assumes no chart is in view; in a photo that shows one, the analysis is
    done again with the chart's correction and area (the result is the same
    as searching first).

    Returns
    -------
    chart : ChartDetection or None
    excluded : ndarray of bool, shape (H, W)
        See :func:`excluded_area`, with the device's blank band.
    measured : tuple
        See :func:`_measure_hair`.
    """
    if not params.chart.detect:
        return None, *_measure_with(pixels, marker, None, graphics, px_per_mm, params)
    with ThreadPoolExecutor(max_workers=1) as pool:
        search = pool.submit(find_color_chart, pixels, params=params.chart)
        guess = _measure_with(pixels, marker, None, graphics, px_per_mm, params)
        chart = search.result()
    if chart is None:
        return None, *guess
    return chart, *_measure_with(pixels, marker, chart, graphics, px_per_mm, params)


def _measure_with(
    pixels: np.ndarray, marker: MarkerDetection | None, chart: ChartDetection | None,
    graphics: DeviceGraphics, px_per_mm: float | None, params: Params,
) -> tuple[np.ndarray, _Measured]:
    """The area left out (the objects in view, the device's blank band and text),
    and the hair measured with the chart's colour correction (when usable),
    that area painted over and the device's lines painted out."""
    excluded = (excluded_area(pixels.shape, marker=marker, chart=chart, params=params)
                | graphics.left_out)
    work = correct_colors(pixels, chart) if chart is not None and chart.usable else pixels
    if graphics.lines.any():
        work = paint_over_lines(work, graphics.lines & ~excluded)
    if excluded.any():
        work = fill_excluded(work, excluded)
    return excluded, _measure_hair(pixels, work, excluded, px_per_mm, params)


def _measure_hair(
    pixels: np.ndarray,
    work: np.ndarray,
    excluded: np.ndarray,
    px_per_mm: float | None,
    params: Params,
) -> _Measured:
    """Normalise, segment, trace and judge the quality, on the working copy.

    A photo whose thinnest shaft spans at least twice
    ``segment.min_shaft_width_px`` is analysed on a copy reduced by
    :func:`working_factor` (a 300 px/mm photo at 100 px/mm); the hairs and the
    hair mask (from the coverage map, see :func:`enlarge_mask`) are returned
    in the photo's own pixels. The blur is measured on the photo itself
    (see :func:`_photo_quality`).

    Parameters
    ----------
    pixels : ndarray, shape (H, W, 3)
        The photo as loaded (its quality is judged).
    work : ndarray, shape (H, W, 3)
        The photo to analyse (colour-corrected, objects in view painted over).
    excluded : ndarray of bool, shape (H, W)
        Pixels left out.
    px_per_mm : float or None
        Pixel scale of the photo.
    params : Params
        All analysis parameters.

    Returns
    -------
    hairs : tuple of Hair
    mask : ndarray of bool, shape (H, W)
    figures : dict
        See :func:`scalpmetrics.quality.measure_quality`.
    tracing : {'standard', 'long_hair'}
        See :func:`_trace`.
    """
    factor = 1 if px_per_mm is None else working_factor(px_per_mm, params.segment)
    small = reduce_image(work, factor)
    small_excluded = reduce_mask(excluded, factor)
    # Photo px per working px (the sides are reduced to whole px).
    sx = pixels.shape[1] / small.shape[1]
    sy = pixels.shape[0] / small.shape[0]
    scale = None if px_per_mm is None else px_per_mm / sx
    valid = ~small_excluded
    # Painted-over pixels carry no skin texture: like clipped ones, they are
    # left out of the skin statistics.
    clipped = reduce_mask(clipped_pixels(work, params=params.segment), factor) | small_excluded
    with ThreadPoolExecutor(max_workers=1) as pool:
        # The quality figures are measured alongside: those of the photo alone
        # while the hair is segmented, the contrast while it is traced.
        photo_figures = pool.submit(
            _photo_quality, pixels, small if work is pixels else reduce_image(pixels, factor),
            excluded, valid, px_per_mm, scale, params.quality,
        )
        image = normalize_photo(small, px_per_mm=scale, params=params.normalize)
        seg = segment_hair_fraction(image, px_per_mm=scale, params=params.segment, clipped=clipped)
        small_mask = seg.mask & valid
        contrast = pool.submit(hair_scalp_contrast, image, small_mask, valid=valid,
                               min_hair_px=params.quality.min_contrast_hair_px)
        hairs, length_mm, tracing = _trace(seg, valid, image, scale, params)
        figures = {**photo_figures.result(), "contrast": contrast.result(),
                   "shaft_length_mm": length_mm}
    if factor == 1:
        return hairs, small_mask, figures, tracing
    mask = enlarge_mask(seg.fraction, pixels.shape, params.segment) & ~excluded
    return tuple(_enlarge_hair(h, sx, sy) for h in hairs), mask, figures, tracing


def _trace(seg: HairSegmentation, valid: np.ndarray, image: np.ndarray, px_per_mm: float | None,
           params: Params) -> tuple[tuple[Hair, ...], float | None, str]:
    """Trace the shafts on the cores, and long hair again on the joined cores.

    A photo is traced as long hair (:func:`~scalpmetrics.segment.joined_cores`)
    as ``trace.long_hair_tracing`` says: with ``'auto'`` when the shafts traced
    on the cores are long (their ``shaft_length_mm`` above
    ``quality.max_shaft_length_mm``, the ``long_hair`` flag). The widths are
    read on the cores either way.

    Returns
    -------
    hairs : tuple of Hair
    shaft_length_mm : float or None
        :func:`~scalpmetrics.quality.shaft_length_mm` of the shafts traced on the cores.
    tracing : {'standard', 'long_hair'}
        Which tracing ``hairs`` come from.
    """
    cores = seg.trace_mask & valid
    hairs = trace_hairs(cores, image, px_per_mm=px_per_mm, params=params.trace)
    length_mm = shaft_length_mm(hairs, px_per_mm=px_per_mm)
    mode = params.trace.long_hair_tracing
    long_hair = mode == "always" or (
        mode == "auto" and length_mm is not None
        and length_mm > params.quality.max_shaft_length_mm
    )
    if not long_hair:
        return hairs, length_mm, "standard"
    joined = joined_cores(seg) & valid
    if not (joined != cores).any():  # the contrast detector traces the mask itself
        return hairs, length_mm, "standard"
    hairs = trace_hairs(joined, image, px_per_mm=px_per_mm, params=params.trace,
                        fraction=cores.astype(np.float32))
    return hairs, length_mm, "long_hair"


def _photo_quality(pixels: np.ndarray, small: np.ndarray, excluded: np.ndarray,
                   small_valid: np.ndarray, px_per_mm: float | None, small_px_per_mm: float | None,
                   params: QualityParams) -> dict[str, float | None]:
    """The quality figures of the photo alone: its blur on the photo itself
    (on tiles of it when large), exposure and glare on the working copy
    ``small`` (of ``small_valid`` pixels, ``small_px_per_mm``)."""
    return {**blur_figures(pixels, px_per_mm=px_per_mm, valid=~excluded, params=params),
            **light_figures(small, px_per_mm=small_px_per_mm, valid=small_valid,
                            params=params)}


def _enlarge_hair(hair: Hair, sx: float, sy: float) -> Hair:
    """A hair traced on a reduced copy, in the photo's pixels (``sx``, ``sy``
    photo px per working px; lengths and widths scale by ``sx``)."""
    def point(xy: tuple[float, float]) -> tuple[float, float]:
        # Pixel centres are on integers: working pixel x spans photo x sx - 0.5 to (x + 1) sx - 0.5.
        return ((xy[0] + 0.5) * sx - 0.5, (xy[1] + 0.5) * sy - 0.5)

    return dataclasses.replace(
        hair, emergence_xy_px=point(hair.emergence_xy_px), tip_xy_px=point(hair.tip_xy_px),
        length_px=hair.length_px * sx, width_px=hair.width_px * sx,
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


def processor_record() -> dict[str, str]:
    """The processor a result was computed on: its architecture and OpenCV's
    view of its features (OpenCV's float filters round differently, in the
    last bit, on each set of vector instructions: ``docs/reliability.md``)."""
    import cv2

    return {"machine": platform.machine(), "opencv_cpu_features": cv2.getCPUFeaturesLine()}


def provenance(photo: Photo, calibration: Calibration, params: Params) -> dict[str, Any]:
    """What produced a result: versions, parameters, input hash, calibration
    source and the processor (:func:`processor_record`)."""
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
        **processor_record(),
    }
