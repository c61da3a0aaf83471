"""Reading photos: pixels and capture metadata, no processing.

The format is detected from the file's bytes, never from its extension.
Pixels come back as RGB, ``uint8`` or ``uint16``, shape ``(H, W, 3)``, with
the EXIF orientation applied (so the array is upright as the photographer saw
it). Grayscale is replicated to three channels; alpha is dropped.

Every failure raises a :class:`~scalpmetrics.errors.ScalpmetricsError`
subclass with a one-line message naming the file.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io as _io
import logging
import math
import operator
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from scalpmetrics.errors import (
    ImageDecodeError,
    ImageTooLargeError,
    ImageTooSmallError,
    InputFileError,
    InputTypeError,
    UnsupportedFormatError,
)
from scalpmetrics.params import LoadParams
from scalpmetrics.types import Calibration, Photo, PhotoMetadata

#: Magic bytes of the formats read here, as (offset, signature, format name).
_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\xff\xd8\xff", "JPEG"),
    (0, b"\x89PNG\r\n\x1a\n", "PNG"),
    (0, b"II*\x00", "TIFF"),
    (0, b"MM\x00*", "TIFF"),
    (0, b"II+\x00", "TIFF"),
    (0, b"MM\x00+", "TIFF"),
    (0, b"BM", "BMP"),
    (128, b"DICM", "DICOM"),
)
#: Bytes read first: enough to recognise every format and to tell text from binary.
_HEAD_BYTES = 512
_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif")

_PNG_IHDR_BIT_DEPTH = 24
_EXIF_ORIENTATION = 0x0112
_EXIF_MAKE = 0x010F
_EXIF_MODEL = 0x0110
_EXIF_DATETIME = 0x0132
_EXIF_IFD = 0x8769
_EXIF_DATETIME_ORIGINAL = 0x9003


def sniff_format(head: bytes) -> str | None:
    """Name the image format from a file's first bytes, or ``None``.

    Parameters
    ----------
    head : bytes
        At least the first 132 bytes of the file (fewer if the file is shorter).

    Returns
    -------
    str or None
        ``'JPEG'``, ``'PNG'``, ``'TIFF'``, ``'BMP'``, ``'WEBP'``, ``'HEIF'``,
        ``'DICOM'``, or ``None`` when unrecognised.

    Examples
    --------
    >>> sniff_format(b"\\x89PNG\\r\\n\\x1a\\n" + bytes(8))
    'PNG'
    >>> sniff_format(b"<html>") is None
    True
    """
    for offset, signature, name in _SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return "HEIF"
    return None


def read_file_bytes(path: str | os.PathLike[str], *, max_bytes: int = -1) -> bytes:
    """Read an input file (its first ``max_bytes`` when given), turning every OS
    failure into :class:`InputFileError`."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputFileError(f"{p}: symbolic link loop") from None
        if exc.errno == errno.ENOENT:
            raise InputFileError(f"{p}: no such file") from None
        raise InputFileError(f"{p}: cannot access ({exc.strerror})") from None
    if p.is_dir():
        raise InputFileError(f"{p}: is a directory, not a photo")
    if not p.is_file():
        raise InputFileError(f"{p}: not a regular file")
    try:
        with open(p, "rb") as fh:
            data = fh.read(max_bytes)
    except OSError as exc:
        raise InputFileError(f"{p}: cannot read ({exc.strerror})") from None
    if st.st_size == 0 or not data:
        raise ImageDecodeError(f"{p}: file is empty")
    return data


def load_photo(
    path: str | os.PathLike[str],
    *,
    params: LoadParams = LoadParams(),
) -> Photo:
    """Load a photo file.

    Parameters
    ----------
    path : str or path-like
        JPEG, PNG, TIFF (8 or 16 bit), BMP or WebP; HEIF/HEIC and DICOM
        with their optional extras.
    params : LoadParams
        Pixel-count and minimum-size limits.

    Returns
    -------
    Photo
        Upright RGB pixels, SHA-256 of the file, capture metadata, and a
        calibration taken from the file when it records one (else unknown).

    Raises
    ------
    InputFileError
        Missing, a directory, unreadable, a symbolic-link loop.
    ImageDecodeError
        Empty, truncated or corrupt, or not an image at all.
    UnsupportedFormatError
        An image format not read here, or whose optional extra is missing.
    ImageTooLargeError
        More pixels than ``params.max_pixels``.
    ImageTooSmallError
        Shorter side below ``params.min_side_px``.
    InputTypeError
        ``path`` is not a path (an in-memory image goes through
        :func:`photo_from_array`).
    """
    if not isinstance(path, (str, os.PathLike)):
        raise InputTypeError(
            f"expected a Photo or a file path, got {type(path).__name__}; "
            "wrap an in-memory image with scalpmetrics.photo_from_array(pixels)"
        )
    name = str(path)
    head = read_file_bytes(path, max_bytes=_HEAD_BYTES)  # refuse a non-image before reading it all
    fmt = sniff_format(head)
    if fmt is None:
        raise _unrecognised(name, head)
    data = read_file_bytes(path)
    if fmt == "HEIF":
        from scalpmetrics import formats

        pixels, meta, calibration = formats.decode_heif(data, name=name, params=params)
    elif fmt == "DICOM":
        from scalpmetrics import formats

        pixels, meta, calibration = formats.decode_dicom(data, name=name, params=params)
    else:
        with quiet_decoders():
            pixels, meta = decode_image_bytes(data, fmt=fmt, name=name, params=params)
        calibration = Calibration()
    check_size(pixels.shape[0], pixels.shape[1], name=name, params=params)
    return Photo(
        pixels=pixels,
        sha256=hashlib.sha256(data).hexdigest(),
        path=name,
        calibration=calibration,
        metadata=meta,
    )


def photo_from_array(
    pixels: np.ndarray,
    *,
    calibration: Calibration = Calibration(),
    params: LoadParams = LoadParams(),
) -> Photo:
    """Wrap an in-memory image as a :class:`Photo` (the array is copied).

    Parameters
    ----------
    pixels : ndarray, shape (H, W), (H, W, 3) or (H, W, 4)
        RGB(A) or grayscale, ``uint8`` or ``uint16``.
    calibration : Calibration
        Pixel scale, if known.
    params : LoadParams
        Size limits.

    Returns
    -------
    Photo
        ``sha256`` is computed over the dtype, shape and pixel bytes.
    """
    arr = np.asarray(pixels)
    if arr.dtype not in (np.uint8, np.uint16):
        raise UnsupportedFormatError(
            f"pixel array must be uint8 or uint16, got {arr.dtype}"
        )
    rgb = to_rgb(arr, name="array")
    arr = rgb.copy() if np.may_share_memory(rgb, arr) else rgb  # never alias the caller's array
    check_size(arr.shape[0], arr.shape[1], name="array", params=params)
    digest = hashlib.sha256(f"{arr.dtype}{arr.shape}".encode() + arr.tobytes()).hexdigest()
    meta = PhotoMetadata(format="array", bit_depth=8 * arr.dtype.itemsize)
    return Photo(pixels=arr, sha256=digest, calibration=calibration, metadata=meta)


@contextlib.contextmanager
def quiet_decoders() -> Iterator[None]:
    """Silence the decoders' own warnings and log records about a damaged file while
    decoding: the damage is reported as an exception, in one line, or the file decodes.

    (Diagnostics that native libraries, libtiff and OpenCV, write straight to the
    process's stderr are out of reach.)
    """
    tifffile_log = logging.getLogger("tifffile")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tifffile_log.addFilter(_drop_record)
        try:
            yield
        finally:
            tifffile_log.removeFilter(_drop_record)


def _drop_record(record: logging.LogRecord) -> bool:
    return False


def check_size(height_px: int, width_px: int, *, name: str, params: LoadParams) -> None:
    """Refuse images outside the documented size limits."""
    if height_px * width_px > params.max_pixels:
        raise ImageTooLargeError(
            f"{name}: {width_px}x{height_px} pixels exceeds the limit of "
            f"{params.max_pixels} pixels (load.max_pixels)"
        )
    if min(height_px, width_px) < params.min_side_px:
        raise ImageTooSmallError(
            f"{name}: {width_px}x{height_px} pixels is too small to analyse "
            f"(shorter side must be at least {params.min_side_px} px)"
        )


def to_rgb(arr: np.ndarray, *, name: str) -> np.ndarray:
    """Return a contiguous (H, W, 3) copy: gray replicated, alpha dropped."""
    if arr.ndim == 2:
        return np.ascontiguousarray(np.repeat(arr[:, :, None], 3, axis=2))
    if arr.ndim == 3 and arr.shape[2] in (1, 2):
        return np.ascontiguousarray(np.repeat(arr[:, :, :1], 3, axis=2))
    if arr.ndim == 3 and arr.shape[2] in (3, 4):
        return np.ascontiguousarray(arr[:, :, :3])
    raise UnsupportedFormatError(f"{name}: unsupported pixel layout {arr.shape}")


def apply_orientation(arr: np.ndarray, orientation: int | None) -> np.ndarray:
    """Apply an EXIF orientation tag (1-8) so the image is upright.

    Examples
    --------
    >>> a = np.arange(6).reshape(2, 3)
    >>> apply_orientation(a, 6).shape   # 90 degrees clockwise
    (3, 2)
    """
    if orientation in (None, 1):
        return arr
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1, :],
        5: lambda a: np.swapaxes(a, 0, 1),
        6: lambda a: np.rot90(a, k=-1),
        7: lambda a: np.rot90(a, k=-1)[::-1, :],
        8: lambda a: np.rot90(a, k=1),
    }
    op = ops.get(int(orientation))
    return arr if op is None else np.ascontiguousarray(op(arr))


def decode_image_bytes(
    data: bytes, *, fmt: str, name: str, params: LoadParams
) -> tuple[np.ndarray, PhotoMetadata]:
    """Decode JPEG, PNG, TIFF, BMP or WebP bytes into upright RGB pixels."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(_io.BytesIO(data))
            width, height = img.size
            check_size(height, width, name=name, params=params)
            exif = img.getexif()
            meta = _exif_metadata(exif, fmt=fmt)
            if fmt == "TIFF" and img.mode != "P":  # tifffile keeps 16 bits; Pillow has palettes
                pixels = _decode_tiff(data, name=name, params=params, pillow_image=img)
            elif fmt == "PNG":
                pixels = _decode_png(img, data, name=name)
            else:
                img.load()
                pixels = _pil_to_array(img, name=name)
    except Image.DecompressionBombError:
        raise ImageTooLargeError(f"{name}: image dimensions are implausibly large") from None
    except UnidentifiedImageError:
        if fmt != "TIFF":
            raise ImageDecodeError(f"{name}: corrupt {fmt} file (cannot identify image)") from None
        # Pillow opens only some TIFF layouts (not float or many-channel ones): tifffile
        # decodes the rest or says why it cannot; their EXIF is not read
        pixels, meta = _decode_tiff(data, name=name, params=params), PhotoMetadata(format=fmt)
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageDecodeError(f"{name}: corrupt or truncated {fmt} file ({_short(exc)})") from None
    pixels = apply_orientation(to_rgb(pixels, name=name), meta.exif_orientation)
    bit_depth = 8 * pixels.dtype.itemsize
    return pixels, PhotoMetadata(
        format=fmt,
        bit_depth=bit_depth,
        capture_time=meta.capture_time,
        camera_model=meta.camera_model,
        exif_orientation=meta.exif_orientation,
    )


def _pil_to_array(img: Any, *, name: str) -> np.ndarray:
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L"):
        return np.asarray(img, dtype=np.uint16)
    if mode in ("1", "P", "PA", "CMYK", "YCbCr", "LAB", "HSV", "I", "F"):
        if mode in ("I", "F"):
            raise UnsupportedFormatError(f"{name}: {mode!r} (32-bit) pixels are not supported")
        img = img.convert("RGBA" if mode == "PA" else "RGB")
    return np.asarray(img)


def _decode_png(img: Any, data: bytes, *, name: str) -> np.ndarray:
    """PNG through Pillow for truncation checks; 16-bit colour through OpenCV to keep depth."""
    import cv2

    img.load()
    # Pillow reduces 16-bit colour PNG to 8 bits: read the depth from the IHDR chunk
    # (byte 24 of the file: signature 8 + length 4 + type 4 + width 4 + height 4).
    if data[_PNG_IHDR_BIT_DEPTH] <= 8 or img.mode in _PIL_16_BIT_MODES:
        return _pil_to_array(img, name=name)
    if not _png_chunks_fit(data):  # OpenCV would allocate whatever a chunk length claims
        raise ImageDecodeError(f"{name}: corrupt or truncated PNG file (a chunk runs past its end)")
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED | cv2.IMREAD_IGNORE_ORIENTATION)
    if arr is None:
        raise ImageDecodeError(f"{name}: corrupt or truncated PNG file")
    if arr.ndim == 3:
        arr = arr[:, :, 2::-1] if arr.shape[2] >= 3 else arr
    return arr


#: Pillow modes of 16-bit gray, which it decodes exactly.
_PIL_16_BIT_MODES = frozenset({"I;16", "I;16B", "I;16L"})
_PNG_SIGNATURE_BYTES = 8
#: Length, type and CRC of a PNG chunk, bytes.
_PNG_CHUNK_OVERHEAD_BYTES = 12


def _png_chunks_fit(data: bytes) -> bool:
    """True when every PNG chunk up to IEND (or the end of the data) lies inside the data."""
    at = _PNG_SIGNATURE_BYTES
    while at + _PNG_CHUNK_OVERHEAD_BYTES <= len(data):
        length = int.from_bytes(data[at : at + 4], "big")
        kind = data[at + 4 : at + 8]
        at += _PNG_CHUNK_OVERHEAD_BYTES + length
        if at > len(data):
            return False
        if kind == b"IEND":
            return True
    return at == len(data)


#: Pillow modes whose TIFF pixels it decodes exactly, with every common codec (LZW, JPEG).
_PIL_TIFF_MODES = frozenset({"1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "YCbCr"})
_TIFF_BITS_PER_SAMPLE = 258
#: Gray, gray + alpha, RGB, RGBA: more values per pixel are refused before decoding.
_MAX_VALUES_PER_PIXEL = 4


def _decode_tiff_with_pillow(img: Any, *, name: str) -> np.ndarray:
    """Pillow's libtiff decodes a TIFF whose codec tifffile lacks, if at most 8 bits per sample."""
    if img is not None:
        bits = img.tag_v2.get(_TIFF_BITS_PER_SAMPLE, 1)
        bits = bits if isinstance(bits, tuple) else (bits,)
        if img.mode in _PIL_TIFF_MODES and all(int(b) <= 8 for b in bits):
            img.load()
            return _pil_to_array(img, name=name)
    raise UnsupportedFormatError(
        f"{name}: this TIFF's compression needs the package 'imagecodecs' (pip install imagecodecs)"
    )


def _decode_tiff(
    data: bytes, *, name: str, params: LoadParams, pillow_image: Any = None
) -> np.ndarray:
    """First page of a TIFF; its size and the extent of its pixel data are checked
    before decoding (a tiny corrupt file can otherwise claim millions of strips).

    tifffile decodes (quietly, keeping 16 bits); when it lacks the codec (LZW and
    JPEG need ``imagecodecs``), ``pillow_image``, the same file opened by Pillow, does.
    """
    import tifffile

    try:
        with tifffile.TiffFile(_io.BytesIO(data)) as tif:
            if not len(tif.pages):
                raise ImageDecodeError(f"{name}: corrupt or truncated TIFF file (no image in it)")
            page = tif.pages[0]
            # a corrupt tag can hold bytes, which "height * width" would repeat: integers only
            height, width = operator.index(page.imagelength), operator.index(page.imagewidth)
            check_size(height, width, name=name, params=params)
            values_per_pixel = math.prod(page.shape) // max(1, height * width)
            if values_per_pixel > _MAX_VALUES_PER_PIXEL:  # many samples or a volume: refuse unread
                raise UnsupportedFormatError(
                    f"{name}: TIFF with {values_per_pixel} values per pixel is not supported"
                )
            segments = tuple(zip(page.dataoffsets, page.databytecounts))
            if len(segments) != math.prod(page.chunked) or any(
                offset + count > len(data) for offset, count in segments
            ):
                raise ImageDecodeError(
                    f"{name}: corrupt or truncated TIFF file (pixel data missing or past its end)"
                )
            arr = page.asarray()
    except (ImageTooLargeError, ImageTooSmallError, ImageDecodeError, UnsupportedFormatError):
        raise
    except Exception as exc:  # tifffile raises many types on corrupt input
        if "imagecodecs" not in str(exc):
            raise ImageDecodeError(f"{name}: corrupt or truncated TIFF file ({_short(exc)})") from None
        arr = _decode_tiff_with_pillow(pillow_image, name=name)
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8) * 255
    if arr.dtype not in (np.uint8, np.uint16):
        raise UnsupportedFormatError(f"{name}: TIFF pixel type {arr.dtype} is not supported")
    if arr.ndim == 3 and arr.shape[0] in (3, 4) and arr.shape[2] not in (1, 2, 3, 4):
        arr = np.moveaxis(arr, 0, 2)  # planar configuration
    return arr


def _exif_metadata(exif: Any, *, fmt: str) -> PhotoMetadata:
    orientation = exif.get(_EXIF_ORIENTATION)
    try:
        orientation = int(orientation) if orientation is not None else None
    except (TypeError, ValueError):
        orientation = None
    if orientation is not None and not 1 <= orientation <= 8:
        orientation = None
    sub = {}
    try:
        sub = exif.get_ifd(_EXIF_IFD)
    except Exception:  # malformed EXIF sub-IFD: ignore the metadata, keep the pixels
        sub = {}
    when = sub.get(_EXIF_DATETIME_ORIGINAL) or exif.get(_EXIF_DATETIME)
    make = _clean_text(exif.get(_EXIF_MAKE))
    model = _clean_text(exif.get(_EXIF_MODEL))
    camera = " ".join(p for p in (make, model) if p) or None
    return PhotoMetadata(
        format=fmt,
        capture_time=exif_datetime_to_iso(when),
        camera_model=camera,
        exif_orientation=orientation,
    )


def exif_datetime_to_iso(value: Any) -> str | None:
    """Convert EXIF ``'YYYY:MM:DD HH:MM:SS'`` to ISO 8601, or ``None`` if malformed.

    Examples
    --------
    >>> exif_datetime_to_iso("2026:03:01 09:30:00")
    '2026-03-01T09:30:00'
    >>> exif_datetime_to_iso("garbage") is None
    True
    """
    import datetime as dt

    text = _clean_text(value)
    if not text:
        return None
    try:
        return dt.datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S").isoformat()
    except ValueError:
        return None


def _clean_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    text = str(value).replace("\x00", "").strip()
    return text or None


def _unrecognised(name: str, data: bytes) -> Exception:
    head = data[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<svg")):
        return ImageDecodeError(f"{name}: not an image (the file is HTML/XML text)")
    try:
        head.decode("utf-8")
        looks_text = all(c >= 9 for c in head)
    except UnicodeDecodeError:
        looks_text = False
    if looks_text:
        return ImageDecodeError(f"{name}: not an image (the file is text)")
    return UnsupportedFormatError(
        f"{name}: not a recognised image format (JPEG, PNG, TIFF, BMP, WebP, HEIC, DICOM)"
    )


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:120]


def read_label_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a region label image: a single-channel PNG/TIFF, 0 = outside, 1..N = regions.

    A colour image whose three channels are equal is accepted as gray.

    Returns
    -------
    ndarray of int32, shape (H, W)
    """
    from PIL import Image

    data = read_file_bytes(path)
    name = str(path)
    fmt = sniff_format(data[:132])
    if fmt not in ("PNG", "TIFF", "BMP"):
        raise UnsupportedFormatError(f"{name}: a label image must be PNG, TIFF or BMP")
    limits = LoadParams(min_side_px=1)
    if fmt == "TIFF":
        with quiet_decoders():
            arr = _decode_tiff(data, name=name, params=limits)
    else:
        try:
            with quiet_decoders():
                img = Image.open(_io.BytesIO(data))
                check_size(img.size[1], img.size[0], name=name, params=limits)
                img.load()
        except ImageTooLargeError:
            raise
        except Exception as exc:  # Pillow raises many types on corrupt input
            raise ImageDecodeError(f"{name}: corrupt label image ({_short(exc)})") from None
        arr = np.asarray(img if img.mode in ("L", "I", "I;16", "P", "RGB", "RGBA", "LA") else img.convert("L"))
    if arr.ndim == 3:
        rgb = arr[:, :, :3] if arr.shape[2] >= 3 else arr[:, :, :1]
        if not np.all(rgb == rgb[:, :, :1]):
            raise ImageDecodeError(f"{name}: a label image must be single-channel (gray levels = labels)")
        arr = rgb[:, :, 0]
    return arr.astype(np.int32)
