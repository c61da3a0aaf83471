"""Loading photos: pixels, depth, orientation, metadata and every refusal of io.py."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image, ImageOps

from scalpmetrics.errors import (
    ImageDecodeError,
    ImageTooLargeError,
    ImageTooSmallError,
    InputFileError,
    InputTypeError,
    ScalpmetricsError,
    UnsupportedFormatError,
)
from scalpmetrics.io import apply_orientation, load_photo, photo_from_array, sniff_format
from scalpmetrics.params import LoadParams

H, W = 36, 52  # non-square so that row/column swaps show


def pattern8() -> np.ndarray:
    """An RGB uint8 image with no symmetry: every pixel differs."""
    rows, cols = np.mgrid[0:H, 0:W]
    return np.stack([rows * 7 % 256, cols * 5 % 256, (rows * W + cols) % 251], axis=2).astype(np.uint8)


def pattern16() -> np.ndarray:
    rows, cols = np.mgrid[0:H, 0:W]
    return np.stack(
        [rows * 1811 % 65536, cols * 1259 + 3, (rows * W + cols) * 23 + 40000], axis=2
    ).astype(np.uint16)


def blocks8() -> np.ndarray:
    """Flat blocks (survive JPEG almost exactly): where a block lands shows the orientation."""
    img = np.full((48, 64, 3), 128, np.uint8)
    img[:16, :24] = (230, 40, 40)
    img[-16:, -32:] = (40, 200, 60)
    img[:16, -16:] = (30, 30, 220)
    return img


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def pil_bytes(arr: np.ndarray, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt, **kw)
    return buf.getvalue()


def exif_with(orientation: int | None = None, **tags) -> Image.Exif:
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    if "make" in tags:
        exif[0x010F] = tags["make"]
    if "model" in tags:
        exif[0x0110] = tags["model"]
    if "taken" in tags:
        exif.get_ifd(0x8769)[0x9003] = tags["taken"]
    return exif


# ----------------------------------------------------------------------------- formats


def test_png_8_bit_exact(tmp_path):
    arr = pattern8()
    photo = load_photo(write(tmp_path, "a.png", pil_bytes(arr, "PNG")))
    assert photo.pixels.dtype == np.uint8 and photo.pixels.shape == (H, W, 3)
    assert np.array_equal(photo.pixels, arr)
    assert photo.metadata.format == "PNG" and photo.metadata.bit_depth == 8


@pytest.mark.parametrize("channels", [3, 1, 4])
def test_png_16_bit_keeps_depth(tmp_path, channels):
    arr = pattern16()
    if channels == 1:
        stored, expected = arr[:, :, 0], np.repeat(arr[:, :, :1], 3, axis=2)
    elif channels == 3:
        stored, expected = arr[:, :, ::-1], arr  # cv2 writes BGR
    else:
        alpha = np.full((H, W, 1), 65535, np.uint16)
        stored, expected = np.concatenate([arr[:, :, ::-1], alpha], axis=2), arr
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(stored))
    assert ok
    photo = load_photo(write(tmp_path, "a16.png", buf.tobytes()))
    assert photo.pixels.dtype == np.uint16 and photo.metadata.bit_depth == 16
    assert np.array_equal(photo.pixels, expected)


def test_jpeg_8_bit(tmp_path):
    arr = pattern8()
    data = pil_bytes(arr, "JPEG", quality=100, subsampling=0)
    photo = load_photo(write(tmp_path, "a.jpg", data))
    assert photo.pixels.dtype == np.uint8 and photo.pixels.shape == (H, W, 3)
    reference = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert np.array_equal(photo.pixels, reference)
    assert np.abs(photo.pixels.astype(int) - arr).mean() < 3


@pytest.mark.parametrize("planar", [False, True])
def test_tiff_16_bit_rgb_exact(tmp_path, planar):
    arr = pattern16()
    buf = io.BytesIO()
    if planar:
        tifffile.imwrite(buf, np.moveaxis(arr, 2, 0), photometric="rgb", planarconfig="separate")
    else:
        tifffile.imwrite(buf, arr, photometric="rgb")
    photo = load_photo(write(tmp_path, "a.tif", buf.getvalue()))
    assert photo.pixels.dtype == np.uint16 and photo.metadata.bit_depth == 16
    assert np.array_equal(photo.pixels, arr)


def test_tiff_8_bit_and_16_bit_gray(tmp_path):
    for arr in (pattern8()[:, :, 1], pattern16()[:, :, 0]):
        buf = io.BytesIO()
        tifffile.imwrite(buf, arr, photometric="minisblack")
        photo = load_photo(write(tmp_path, f"g{arr.dtype}.tif", buf.getvalue()))
        assert photo.pixels.dtype == arr.dtype
        assert np.array_equal(photo.pixels, np.repeat(arr[:, :, None], 3, axis=2))


def test_gray_is_replicated_and_alpha_dropped(tmp_path):
    arr = pattern8()
    gray = load_photo(write(tmp_path, "g.png", pil_bytes(arr[:, :, 0], "PNG"))).pixels
    assert np.array_equal(gray, np.repeat(arr[:, :, :1], 3, axis=2))
    rgba = np.concatenate([arr, np.full((H, W, 1), 7, np.uint8)], axis=2)
    loaded = load_photo(write(tmp_path, "a.png", pil_bytes(rgba, "PNG"))).pixels
    assert np.array_equal(loaded, arr)
    la = load_photo(write(tmp_path, "la.png", pil_bytes(rgba[:, :, [0, 3]], "PNG"))).pixels
    assert np.array_equal(la, np.repeat(arr[:, :, :1], 3, axis=2))


def test_format_is_sniffed_from_bytes_not_extension(tmp_path):
    arr = pattern8()
    photo = load_photo(write(tmp_path, "really_a_png.jpg", pil_bytes(arr, "PNG")))
    assert photo.metadata.format == "PNG" and np.array_equal(photo.pixels, arr)


@pytest.mark.parametrize(
    "head, name",
    [
        (b"\xff\xd8\xff\xe0", "JPEG"),
        (b"\x89PNG\r\n\x1a\n", "PNG"),
        (b"II*\x00", "TIFF"),
        (b"MM\x00*", "TIFF"),
        (b"BM", "BMP"),
        (b"RIFF\x00\x00\x00\x00WEBP", "WEBP"),
        (b"\x00\x00\x00\x18ftypheic", "HEIF"),
        (bytes(128) + b"DICM", "DICOM"),
        (b"GIF89a", None),
    ],
)
def test_sniff_format(head, name):
    assert sniff_format(head + bytes(16)) == name


# ----------------------------------------------------------------------------- orientation


@pytest.mark.parametrize("orientation", range(1, 9))
def test_jpeg_exif_orientation_applied_once(tmp_path, orientation):
    raw = blocks8()
    data = pil_bytes(raw, "JPEG", quality=95, exif=exif_with(orientation))
    path = write(tmp_path, f"o{orientation}.jpg", data)
    photo = load_photo(path)
    # Independent references: Pillow's transpose of the stored pixels, and OpenCV 5's
    # imread, which applies the EXIF orientation itself.
    stored = Image.open(io.BytesIO(data))
    upright = np.asarray(ImageOps.exif_transpose(stored).convert("RGB"))
    assert photo.pixels.shape == upright.shape
    assert np.array_equal(photo.pixels, upright)
    assert np.array_equal(photo.pixels, cv2.imread(str(path))[:, :, ::-1])
    assert photo.metadata.exif_orientation == orientation
    expect_swapped = orientation >= 5
    assert photo.pixels.shape[:2] == ((64, 48) if expect_swapped else (48, 64))


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_png_and_tiff_orientation(tmp_path, orientation):
    raw = pattern8()
    expected = np.asarray(ImageOps.exif_transpose(_with_orientation(raw, orientation)))
    png = load_photo(write(tmp_path, "o.png", pil_bytes(raw, "PNG", exif=exif_with(orientation))))
    assert np.array_equal(png.pixels, expected)
    buf = io.BytesIO()
    tifffile.imwrite(buf, raw, photometric="rgb", extratags=[(274, "H", 1, orientation, True)])
    tif = load_photo(write(tmp_path, "o.tif", buf.getvalue()))
    assert np.array_equal(tif.pixels, expected)
    assert png.metadata.exif_orientation == tif.metadata.exif_orientation == orientation


def _with_orientation(arr: np.ndarray, orientation: int) -> Image.Image:
    img = Image.fromarray(arr)
    img.getexif()[0x0112] = orientation
    return img


@pytest.mark.parametrize("orientation", range(1, 9))
def test_apply_orientation_matches_pillow(orientation):
    arr = pattern8()
    expected = np.asarray(ImageOps.exif_transpose(_with_orientation(arr, orientation)))
    assert np.array_equal(apply_orientation(arr, orientation), expected)


def test_capture_metadata_from_exif(tmp_path):
    exif = exif_with(1, make="Acme", model="TrichoCam 2", taken="2026:03:01 09:30:15")
    photo = load_photo(write(tmp_path, "m.jpg", pil_bytes(blocks8(), "JPEG", exif=exif)))
    assert photo.metadata.capture_time == "2026-03-01T09:30:15"
    assert photo.metadata.camera_model == "Acme TrichoCam 2"


def test_sha256_is_of_the_file(tmp_path):
    import hashlib

    data = pil_bytes(pattern8(), "PNG")
    photo = load_photo(write(tmp_path, "a.png", data))
    assert photo.sha256 == hashlib.sha256(data).hexdigest()
    assert photo.calibration.px_per_mm is None


# ----------------------------------------------------------------------------- refusals


def _one_line(exc: ScalpmetricsError, name: str) -> None:
    text = str(exc)
    assert "\n" not in text and name in text


def test_missing_file(tmp_path):
    with pytest.raises(InputFileError, match="no such file") as info:
        load_photo(tmp_path / "absent.jpg")
    _one_line(info.value, "absent.jpg")


def test_array_instead_of_path_names_the_wrapper():
    with pytest.raises(InputTypeError, match="photo_from_array") as info:
        load_photo(pattern8())
    assert isinstance(info.value, TypeError)
    _one_line(info.value, "ndarray")


def test_directory(tmp_path):
    with pytest.raises(InputFileError, match="directory"):
        load_photo(tmp_path)


def test_empty_file(tmp_path):
    with pytest.raises(ImageDecodeError, match="empty"):
        load_photo(write(tmp_path, "empty.jpg", b""))


@pytest.mark.parametrize("fmt, ext", [("JPEG", "jpg"), ("PNG", "png"), ("TIFF", "tif")])
def test_truncated(tmp_path, fmt, ext):
    data = pil_bytes(pattern8(), fmt)
    with pytest.raises(ImageDecodeError, match="truncated|corrupt") as info:
        load_photo(write(tmp_path, f"cut.{ext}", data[: len(data) // 2]))
    _one_line(info.value, f"cut.{ext}")


def test_truncated_16_bit_png(tmp_path):
    ok, buf = cv2.imencode(".png", pattern16())
    data = buf.tobytes()
    with pytest.raises(ImageDecodeError):
        load_photo(write(tmp_path, "cut16.png", data[: len(data) // 2]))


@pytest.mark.parametrize(
    "content, fragment",
    [(b"<!DOCTYPE html><html><body>404</body></html>", "HTML"), (b"hair,count\n1,2\n", "text")],
)
def test_not_an_image(tmp_path, content, fragment):
    with pytest.raises(ImageDecodeError, match=fragment):
        load_photo(write(tmp_path, "photo.jpg", content))


def test_unsupported_format(tmp_path):
    gif = pil_bytes(pattern8(), "GIF")
    with pytest.raises(UnsupportedFormatError, match="not a recognised image format") as info:
        load_photo(write(tmp_path, "photo.gif", gif))
    _one_line(info.value, "photo.gif")


def test_too_large(tmp_path):
    path = write(tmp_path, "big.png", pil_bytes(pattern8(), "PNG"))
    with pytest.raises(ImageTooLargeError, match="load.max_pixels"):
        load_photo(path, params=LoadParams(max_pixels=H * W - 1))
    assert load_photo(path, params=LoadParams(max_pixels=H * W)).pixels.shape == (H, W, 3)


def test_too_large_tiff_refused_before_decoding(tmp_path):
    buf = io.BytesIO()
    tifffile.imwrite(buf, pattern16(), photometric="rgb")
    with pytest.raises(ImageTooLargeError):
        load_photo(write(tmp_path, "big.tif", buf.getvalue()), params=LoadParams(max_pixels=100))


def test_too_small(tmp_path):
    path = write(tmp_path, "small.png", pil_bytes(pattern8()[:10, :40], "PNG"))
    with pytest.raises(ImageTooSmallError, match="at least 16 px"):
        load_photo(path)
    assert load_photo(path, params=LoadParams(min_side_px=10)).height_px == 10


def test_photo_from_array_copies_and_checks():
    arr = pattern16()
    photo = photo_from_array(arr)
    arr[:] = 0
    assert np.array_equal(photo.pixels, pattern16())
    assert photo.metadata.bit_depth == 16
    with pytest.raises(UnsupportedFormatError, match="uint8 or uint16"):
        photo_from_array(arr.astype(np.float32))
