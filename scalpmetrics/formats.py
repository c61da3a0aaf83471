"""Decoders of the formats that need an optional extra: HEIF/HEIC and DICOM.

Both return what :func:`scalpmetrics.io.load_photo` expects: upright RGB pixels
(``uint8``, or ``uint16`` scaled to the full 16-bit range), the capture
metadata, and the calibration the file records (else unknown).

HEIF orientation
    A HEIF file carries its rotation and mirroring as container transforms
    (``irot``/``imir``), which libheif applies while decoding. Phones also
    write an EXIF orientation tag that describes the *same* rotation: applying
    it again would rotate twice, so it is ignored (and kept in
    ``metadata.extra['heif_exif_orientation_ignored']``).

DICOM calibration
    ``PixelSpacing`` (row spacing, column spacing, mm per pixel) is the scale
    in the patient plane and becomes the calibration (source ``'metadata'``):
    ``px_per_mm = 1 / sqrt(row * column)``, which keeps areas exact. Spacings
    that differ by more than ``LoadParams.max_pixel_spacing_mismatch_fraction``
    (non-square pixels) are refused with a :class:`CalibrationError`: every
    measurement assumes square pixels. ``ImagerPixelSpacing`` (at the
    detector) and ``NominalScannedPixelSpacing`` (of a scanned film or print)
    do not give the scale on the skin and are only recorded in
    ``metadata.extra``.
"""

from __future__ import annotations

import io as _io
import math
import re
import warnings
from typing import Any

import numpy as np

from scalpmetrics.errors import (
    CalibrationError,
    ImageDecodeError,
    MissingExtraError,
    ScalpmetricsError,
    UnsupportedFormatError,
)
from scalpmetrics.io import _exif_metadata, _short, check_size, to_rgb
from scalpmetrics.params import LoadParams
from scalpmetrics.types import Calibration, PhotoMetadata

__all__ = ["decode_heif", "decode_dicom", "dicom_datetime_to_iso"]

_FULL_16 = 65535
_DICOM_DT = re.compile(
    r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.\d{1,6})?(?:[+-]\d{4})?$"
)


def decode_heif(
    data: bytes, *, name: str, params: LoadParams
) -> tuple[np.ndarray, PhotoMetadata, Calibration]:
    """Decode a HEIF/HEIC photo (the primary image) into upright RGB pixels.

    Parameters
    ----------
    data : bytes
        The whole file.
    name : str
        The file's name, for messages.
    params : LoadParams
        Size limits, checked before the pixels are decoded.

    Returns
    -------
    pixels : ndarray, shape (H, W, 3), uint8 or uint16
        8-bit photos as ``uint8``; 10- and 12-bit photos as ``uint16`` scaled
        to the full 16-bit range.
    metadata : PhotoMetadata
        Format ``'HEIF'``; capture time and camera from the EXIF block.
        ``exif_orientation`` is ``None``: the container transforms were
        applied instead (see the module notes).
    calibration : Calibration
        Always unknown (HEIF records no scale).

    Raises
    ------
    MissingExtraError
        ``pillow-heif`` is not installed.
    UnsupportedFormatError
        A HEIF flavour the installed libheif cannot decode (for example AVIF).
    ImageDecodeError
        A truncated or corrupt file.
    """
    try:
        import pillow_heif
    except ImportError:
        raise MissingExtraError("pillow-heif", "heif") from None
    from PIL import Image

    try:
        heif = pillow_heif.open_heif(_io.BytesIO(data), convert_hdr_to_8bit=False)
        width, height = heif.size
        check_size(height, width, name=name, params=params)
        arr = np.asarray(heif)
        info = dict(heif.info)
    except (ValueError, RuntimeError, OSError, EOFError, IndexError, SyntaxError) as exc:
        text = _short(exc)
        if "nsupported" in text or "No decoding plugin" in text:
            raise UnsupportedFormatError(f"{name}: HEIF variant not supported ({text})") from None
        raise ImageDecodeError(f"{name}: corrupt or truncated HEIF file ({text})") from None

    bit_depth = int(info.get("bit_depth") or 8)
    if arr.dtype == np.uint16 and bit_depth < 16:
        # pillow-heif returns n-bit samples shifted into the top bits.
        arr = _rescale_to_16(arr >> (16 - bit_depth), bit_depth)
    pixels = to_rgb(arr, name=name)

    exif = Image.Exif()
    if info.get("exif"):
        try:
            exif.load(info["exif"])
        except Exception:  # malformed EXIF block: keep the pixels, drop the metadata
            exif = Image.Exif()
    from_exif = _exif_metadata(exif, fmt="HEIF")
    extra: dict[str, Any] = {}
    if from_exif.exif_orientation not in (None, 1):
        extra["heif_exif_orientation_ignored"] = from_exif.exif_orientation
    if bit_depth != 8 * pixels.dtype.itemsize:
        extra["heif_bit_depth"] = bit_depth
    meta = PhotoMetadata(
        format="HEIF",
        bit_depth=8 * pixels.dtype.itemsize,
        capture_time=from_exif.capture_time,
        camera_model=from_exif.camera_model,
        exif_orientation=None,
        extra=extra,
    )
    return pixels, meta, Calibration()


def decode_dicom(
    data: bytes, *, name: str, params: LoadParams
) -> tuple[np.ndarray, PhotoMetadata, Calibration]:
    """Decode a single-frame DICOM photograph.

    Meant for VL Photographic and Dermoscopic Photography images, but any
    single-frame, unsigned, 8- or 16-bit image is read. Photometric
    interpretations RGB, YBR_FULL, YBR_FULL_422 (converted to RGB),
    MONOCHROME1 (inverted), MONOCHROME2 and PALETTE COLOR are supported;
    compressed transfer syntaxes as far as pydicom's installed decoders allow
    (JPEG baseline works with Pillow alone).

    Parameters
    ----------
    data : bytes
        The whole file (with its 128-byte preamble and ``DICM`` marker).
    name : str
        The file's name, for messages.
    params : LoadParams
        Size limits (checked before decoding) and the accepted mismatch of the
        row and column pixel spacings.

    Returns
    -------
    pixels : ndarray, shape (H, W, 3), uint8 or uint16
        ``BitsStored`` below 16 is scaled to the full 16-bit range.
    metadata : PhotoMetadata
        Format ``'DICOM'``; capture time from ``AcquisitionDateTime``, else
        ``AcquisitionDate``/``Time``, else ``ContentDate``/``Time``; camera from
        ``Manufacturer`` and ``ManufacturerModelName``; the SOP class,
        photometric interpretation and spacings in ``extra``.
    calibration : Calibration
        From ``PixelSpacing`` (source ``'metadata'``), else unknown.

    Raises
    ------
    MissingExtraError
        ``pydicom`` is not installed.
    UnsupportedFormatError
        Multi-frame, signed, unusual bit depth or photometric interpretation,
        or a compression no installed decoder handles.
    ImageDecodeError
        Truncated or corrupt (including an element that cannot be parsed),
        or no pixel data.
    CalibrationError
        ``PixelSpacing`` malformed or non-square beyond the tolerance.
    """
    try:
        import pydicom
    except ImportError:
        raise MissingExtraError("pydicom", "dicom") from None
    try:
        with warnings.catch_warnings():  # pydicom warns of each invalid value it meets
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(_io.BytesIO(data))
            return _decode_dataset(ds, name=name, params=params)
    except ScalpmetricsError:
        raise
    except Exception as exc:  # pydicom parses elements lazily: a malformed one fails when read
        raise ImageDecodeError(f"{name}: corrupt DICOM file ({_short(exc)})") from None


def _decode_dataset(
    ds: Any, *, name: str, params: LoadParams
) -> tuple[np.ndarray, PhotoMetadata, Calibration]:
    """:func:`decode_dicom` after parsing; any element read may raise (pydicom is lazy)."""
    if "PixelData" not in ds:
        raise ImageDecodeError(f"{name}: DICOM file has no pixel data")
    rows, cols = int(ds.get("Rows") or 0), int(ds.get("Columns") or 0)
    check_size(rows, cols, name=name, params=params)
    frames = int(ds.get("NumberOfFrames") or 1)
    if frames != 1:
        raise UnsupportedFormatError(
            f"{name}: multi-frame DICOM ({frames} frames) is not supported: export one frame"
        )
    if int(ds.get("PixelRepresentation") or 0) != 0:
        raise UnsupportedFormatError(f"{name}: signed DICOM pixel data is not supported")
    bits_allocated = int(ds.get("BitsAllocated") or 0)
    bits_stored = int(ds.get("BitsStored") or bits_allocated)
    if bits_allocated not in (8, 16) or not 1 <= bits_stored <= bits_allocated:
        raise UnsupportedFormatError(
            f"{name}: DICOM with {bits_allocated} bits allocated / {bits_stored} stored "
            "is not supported (8 or 16)"
        )
    photometric = str(ds.get("PhotometricInterpretation", "")).strip().upper()
    arr = _dicom_pixels(ds, photometric=photometric, name=name)
    if photometric == "MONOCHROME1":
        arr = (2**bits_stored - 1) - arr
    if arr.dtype == np.uint16 and bits_stored < 16 and photometric != "PALETTE COLOR":
        arr = _rescale_to_16(arr, bits_stored)
    pixels = to_rgb(arr, name=name)

    calibration, spacing = _pixel_spacing_calibration(ds, name=name, params=params)
    extra: dict[str, Any] = {
        "sop_class_uid": str(ds.get("SOPClassUID", "")) or None,
        "photometric_interpretation": photometric,
        "bits_stored": bits_stored,
    }
    if spacing is not None:
        extra["pixel_spacing_mm"] = spacing
    for keyword, key in (
        ("ImagerPixelSpacing", "imager_pixel_spacing_mm"),
        ("NominalScannedPixelSpacing", "nominal_scanned_pixel_spacing_mm"),
    ):
        value = _float_pair(ds.get(keyword))
        if value is not None:
            extra[key] = value
    make = _text(ds.get("Manufacturer"))
    model = _text(ds.get("ManufacturerModelName"))
    meta = PhotoMetadata(
        format="DICOM",
        bit_depth=8 * pixels.dtype.itemsize,
        capture_time=_dicom_capture_time(ds),
        camera_model=" ".join(p for p in (make, model) if p) or None,
        exif_orientation=None,
        extra=extra,
    )
    return pixels, meta, calibration


def _dicom_pixels(ds: Any, *, photometric: str, name: str) -> np.ndarray:
    from pydicom.pixels import apply_color_lut, pixel_array

    if photometric not in (
        "RGB", "YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT",
        "MONOCHROME1", "MONOCHROME2", "PALETTE COLOR",
    ):
        raise UnsupportedFormatError(
            f"{name}: DICOM photometric interpretation {photometric!r} is not supported"
        )
    try:
        arr = pixel_array(ds)
        if photometric == "PALETTE COLOR":
            arr = apply_color_lut(arr, ds)
    except (NotImplementedError, RuntimeError) as exc:
        syntax = getattr(ds.file_meta, "TransferSyntaxUID", None)
        label = getattr(syntax, "name", None) or str(syntax)
        raise UnsupportedFormatError(
            f"{name}: cannot decode DICOM transfer syntax {label!r} ({_short(exc)}); "
            "install a pydicom decoder plugin (for example pylibjpeg)"
        ) from None
    except (ValueError, AttributeError, KeyError, TypeError, EOFError) as exc:
        raise ImageDecodeError(f"{name}: corrupt or truncated DICOM pixel data ({_short(exc)})") from None
    if arr.dtype not in (np.uint8, np.uint16):
        raise UnsupportedFormatError(f"{name}: DICOM pixel type {arr.dtype} is not supported")
    return arr


def _pixel_spacing_calibration(
    ds: Any, *, name: str, params: LoadParams
) -> tuple[Calibration, list[float] | None]:
    if "PixelSpacing" not in ds:
        return Calibration(), None
    spacing = _float_pair(ds.get("PixelSpacing"))
    if spacing is None or not all(math.isfinite(v) and v > 0 for v in spacing):
        raise CalibrationError(
            f"{name}: DICOM PixelSpacing {ds.get('PixelSpacing')!r} is not two positive numbers (mm)"
        )
    row_mm, col_mm = spacing
    mismatch = abs(row_mm - col_mm) / max(row_mm, col_mm)
    if mismatch > params.max_pixel_spacing_mismatch_fraction:
        raise CalibrationError(
            f"{name}: DICOM PixelSpacing {row_mm:g} x {col_mm:g} mm is not square "
            f"({100 * mismatch:.1f} % apart, at most "
            f"{100 * params.max_pixel_spacing_mismatch_fraction:g} % accepted "
            "by load.max_pixel_spacing_mismatch_fraction): resample the image to square pixels"
        )
    return Calibration(1.0 / math.sqrt(row_mm * col_mm), "metadata"), spacing


def _rescale_to_16(arr: np.ndarray, bits: int) -> np.ndarray:
    """Map ``bits``-bit samples held in ``uint16`` onto 0..65535."""
    top = 2**bits - 1
    scaled = np.minimum(arr, top).astype(np.float64) * (_FULL_16 / top)
    return np.rint(scaled).astype(np.uint16)


def _float_pair(value: Any) -> list[float] | None:
    try:
        items = [float(v) for v in value]
    except (TypeError, ValueError):
        return None
    return items if len(items) == 2 else None


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def dicom_datetime_to_iso(date: Any, time: Any = None) -> str | None:
    """ISO 8601 from a DICOM DT value, or a DA value plus an optional TM value.

    Fractions of a second and the UTC offset are dropped; missing trailing
    components are left out (``'2026-03-01'`` for a date alone).

    Examples
    --------
    >>> dicom_datetime_to_iso("20260301093000.123456+0100")
    '2026-03-01T09:30:00'
    >>> dicom_datetime_to_iso("20260301", "0930")
    '2026-03-01T09:30:00'
    >>> dicom_datetime_to_iso("not a date") is None
    True
    """
    text = (_text(date) or "") + (_text(time) or "").split(".")[0]
    m = _DICOM_DT.match(text)
    if not m or m.group(2) is None or m.group(3) is None:
        return None
    year, month, day, hour, minute, second = (m.group(i) for i in range(1, 7))
    try:
        import datetime as dt

        stamp = dt.datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
        )
    except ValueError:
        return None
    return stamp.date().isoformat() if hour is None else stamp.isoformat()


def _dicom_capture_time(ds: Any) -> str | None:
    candidates = (
        (ds.get("AcquisitionDateTime"), None),
        (ds.get("AcquisitionDate"), ds.get("AcquisitionTime")),
        (ds.get("ContentDate"), ds.get("ContentTime")),
    )
    for date, time in candidates:
        iso = dicom_datetime_to_iso(date, time)
        if iso is not None:
            return iso
    return None
