"""Pixel scale (px/mm) from an argument, the photo's field width, a marker, or the file.

Precedence: an explicit ``px_per_mm`` argument, then ``field_width_mm``, then
a scale marker found in view (see ``marker``), then what the loader found in
the file (DICOM ``PixelSpacing``).
Every value is checked to be finite, positive and within the plausible range
of :class:`~scalpmetrics.params.CalibrationParams`; an implausible value is an
error, never silently replaced.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from scalpmetrics.errors import CalibrationError
from scalpmetrics.params import CalibrationParams
from scalpmetrics.types import Calibration, CalibrationSource, Photo


def check_px_per_mm(
    value: float, *, params: CalibrationParams = CalibrationParams(), what: str = "px_per_mm"
) -> float:
    """Return ``value`` as float if it is a plausible scale, else raise.

    ``value`` must be a real number (``int``, ``float`` or a NumPy number);
    text and booleans are refused, not converted.

    Examples
    --------
    >>> check_px_per_mm(100)
    100.0
    >>> check_px_per_mm(float("nan"))
    Traceback (most recent call last):
    ...
    scalpmetrics.errors.CalibrationError: px_per_mm must be a finite number, got nan
    """
    v = _as_float(value, what)
    if not math.isfinite(v):
        raise CalibrationError(f"{what} must be a finite number, got {value!r}")
    if v <= 0:
        raise CalibrationError(f"{what} must be positive, got {value!r}")
    if not params.min_px_per_mm <= v <= params.max_px_per_mm:
        raise CalibrationError(
            f"{what} = {v:g} px/mm is outside the plausible range "
            f"[{params.min_px_per_mm:g}, {params.max_px_per_mm:g}] px/mm"
        )
    return v


def resolve_calibration(
    photo: Photo,
    *,
    px_per_mm: float | None = None,
    field_width_mm: float | None = None,
    marker_px_per_mm: float | None = None,
    params: CalibrationParams = CalibrationParams(),
) -> Calibration:
    """Decide the pixel scale of ``photo``.

    Parameters
    ----------
    photo : Photo
        The loaded photo; its own ``calibration`` (from file metadata or a
        marker) is used when no argument is given.
    px_per_mm : float, optional
        Pixels per millimetre on the scalp.
    field_width_mm : float, optional
        Width of the photo's field of view on the scalp, in millimetres.
    marker_px_per_mm : float, optional
        Scale measured on a marker in view (source ``'marker'``).
    params : CalibrationParams
        The plausible range.

    Returns
    -------
    Calibration
        Possibly unknown (``px_per_mm`` is ``None``) when nothing was given.

    Raises
    ------
    CalibrationError
        Both arguments given, or a value that is not finite, not positive or
        implausible.
    """
    if px_per_mm is not None and field_width_mm is not None:
        raise CalibrationError("give px_per_mm or field_width_mm, not both")
    if px_per_mm is not None:
        return Calibration(check_px_per_mm(px_per_mm, params=params), "argument")
    if field_width_mm is not None:
        width = _finite_positive(field_width_mm, "field_width_mm")
        scale = photo.width_px / width
        check_px_per_mm(
            scale, params=params, what=f"field_width_mm = {width:g} mm gives a scale that"
        )
        return Calibration(scale, "field_width")
    if marker_px_per_mm is not None:
        return Calibration(
            check_px_per_mm(marker_px_per_mm, params=params, what="marker px_per_mm"), "marker"
        )
    if photo.calibration.px_per_mm is not None:
        source: CalibrationSource = photo.calibration.source or "metadata"
        return Calibration(
            check_px_per_mm(photo.calibration.px_per_mm, params=params, what=f"{source} px_per_mm"),
            source,
        )
    return Calibration()


def _as_float(value: float, what: str) -> float:
    """``value`` as a float if it is a real number: int, float or a NumPy number.

    Text (``"80"``) and booleans are refused: a scale read from a file or a
    form must be parsed, and its unit checked, before it gets here.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise CalibrationError(
            f"{what} must be a number, got {type(value).__name__} {value!r}"
        )
    try:
        return float(value)
    except OverflowError:  # an int beyond float range
        raise CalibrationError(f"{what} must be a finite number, got {value!r}") from None


def _finite_positive(value: float, what: str) -> float:
    v = _as_float(value, what)
    if not math.isfinite(v) or v <= 0:
        raise CalibrationError(f"{what} must be a finite positive number, got {value!r}")
    return v
