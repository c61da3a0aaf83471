"""Analyse one photo end to end: normalise, segment, trace, measure.

This is the function behind ``scalpmetrics analyze``; it reads nothing but
the photo it is given and writes nothing.
"""

from __future__ import annotations

import os
import platform
from typing import Any

import numpy as np

from scalpmetrics import __version__
from scalpmetrics.calibration import resolve_calibration
from scalpmetrics.io import load_photo
from scalpmetrics.measure import measure_regions
from scalpmetrics.normalize import normalize_photo
from scalpmetrics.params import Params
from scalpmetrics.quality import calibration_flags
from scalpmetrics.regions import build_regions
from scalpmetrics.segment import segment_hair
from scalpmetrics.trace import trace_hairs
from scalpmetrics.types import Analysis, Calibration, ImageInfo, Photo


def analyze(
    photo: Photo | str | os.PathLike[str],
    *,
    px_per_mm: float | None = None,
    field_width_mm: float | None = None,
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
        Any input problem (unreadable photo, implausible calibration, bad regions).
    """
    if not isinstance(photo, Photo):
        photo = load_photo(photo, params=params.load)
    calibration = resolve_calibration(
        photo, px_per_mm=px_per_mm, field_width_mm=field_width_mm, params=params.calibration
    )
    regions = build_regions(photo.pixels.shape, grid=grid, labels=region_labels)
    scale = calibration.px_per_mm
    image = normalize_photo(photo.pixels, px_per_mm=scale, params=params.normalize)
    mask = segment_hair(image, px_per_mm=scale, params=params.segment)
    hairs = trace_hairs(mask, image, px_per_mm=scale, params=params.trace)
    metrics = measure_regions(regions, hairs, mask, calibration=calibration)
    flags = tuple(calibration_flags(calibration))
    return Analysis(
        image=ImageInfo(photo.path, photo.sha256, photo.width_px, photo.height_px),
        calibration=calibration,
        whole=metrics[0],
        regions=metrics,
        hairs=hairs,
        flags=flags,
        provenance=provenance(photo, calibration, params),
        metadata=photo.metadata,
        hair_mask=mask,
    )


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
