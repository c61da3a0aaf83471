"""HEIF/HEIC and DICOM photographs: pixels, orientation, depth, metadata, calibration."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest
from PIL import Image, ImageOps

from scalpmetrics.calibration import resolve_calibration
from scalpmetrics.errors import (
    CalibrationError,
    ImageDecodeError,
    MissingExtraError,
    UnsupportedFormatError,
)
from scalpmetrics.formats import dicom_datetime_to_iso
from scalpmetrics.io import load_photo

pillow_heif = pytest.importorskip("pillow_heif")
pydicom = pytest.importorskip("pydicom")

H, W = 40, 64  # non-square


def blocks() -> np.ndarray:
    """Flat coloured blocks on grey: lossless-friendly, and orientation shows."""
    img = np.full((H, W, 3), (120, 110, 100), np.uint8)
    img[:12, :20] = (230, 40, 40)
    img[-10:, -24:] = (40, 200, 60)
    img[:8, -8:] = (30, 30, 220)
    return img


def upright(arr: np.ndarray, orientation: int) -> np.ndarray:
    img = Image.fromarray(arr)
    img.getexif()[0x0112] = orientation
    return np.asarray(ImageOps.exif_transpose(img))


# ----------------------------------------------------------------------------- HEIF


def heic_bytes(arr: np.ndarray, *, orientation: int | None = None, **exif_tags) -> bytes:
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    if "make" in exif_tags:
        exif[0x010F] = exif_tags["make"]
        exif[0x0110] = exif_tags["model"]
    if "taken" in exif_tags:
        exif.get_ifd(0x8769)[0x9003] = exif_tags["taken"]
    heif = pillow_heif.from_bytes(mode="RGB", size=(arr.shape[1], arr.shape[0]), data=arr.tobytes())
    buf = io.BytesIO()
    heif.save(buf, quality=-1, chroma=444, exif=exif.tobytes())
    return buf.getvalue()


def test_heic_pixels_and_metadata(tmp_path):
    arr = blocks()
    data = heic_bytes(arr, make="Apple", model="iPhone 15", taken="2026:02:11 14:05:09")
    path = tmp_path / "IMG_0001.HEIC"
    path.write_bytes(data)
    photo = load_photo(path)
    assert photo.pixels.dtype == np.uint8 and photo.pixels.shape == (H, W, 3)
    assert np.abs(photo.pixels.astype(int) - arr).max() <= 2  # lossless HEVC, YCbCr rounding
    assert photo.metadata.format == "HEIF" and photo.metadata.bit_depth == 8
    assert photo.metadata.capture_time == "2026-02-11T14:05:09"
    assert photo.metadata.camera_model == "Apple iPhone 15"
    assert photo.calibration.px_per_mm is None


@pytest.mark.parametrize("orientation", [2, 3, 5, 6, 8])
def test_heic_orientation_applied_once(tmp_path, orientation):
    # The encoder stores the EXIF orientation as irot/imir transforms and keeps the
    # tag: the decoded photo must be upright, not rotated a second time by the tag.
    arr = blocks()
    path = tmp_path / f"o{orientation}.heic"
    path.write_bytes(heic_bytes(arr, orientation=orientation))
    photo = load_photo(path)
    expected = upright(arr, orientation)
    assert photo.pixels.shape == expected.shape
    assert np.abs(photo.pixels.astype(int) - expected).max() <= 2
    assert photo.metadata.exif_orientation is None
    assert photo.metadata.extra["heif_exif_orientation_ignored"] == orientation


def test_heic_12_bit_keeps_depth(tmp_path):
    rows, cols = np.mgrid[0:H, 0:W]
    arr = np.stack([rows * 1600, cols * 1000 + 500, (rows + cols) * 600], axis=2).astype(np.uint16)
    heif = pillow_heif.from_bytes(mode="RGB;16", size=(W, H), data=arr.tobytes())
    buf = io.BytesIO()
    pillow_heif.options.SAVE_HDR_TO_12_BIT = True
    try:
        heif.save(buf, quality=-1, chroma=444)
    finally:
        pillow_heif.options.SAVE_HDR_TO_12_BIT = False
    path = tmp_path / "hdr.heic"
    path.write_bytes(buf.getvalue())
    photo = load_photo(path)
    assert photo.pixels.dtype == np.uint16 and photo.metadata.bit_depth == 16
    assert photo.metadata.extra["heif_bit_depth"] == 12
    # 12-bit samples scaled to the full 16-bit range: one 12-bit step is ~16 levels
    assert np.abs(photo.pixels.astype(int) - arr).max() <= 3 * 16
    assert photo.pixels.max() > 60000


def test_truncated_heic(tmp_path):
    data = heic_bytes(blocks())
    path = tmp_path / "cut.heic"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageDecodeError, match="cut.heic"):
        load_photo(path)


def test_missing_heif_extra(tmp_path, monkeypatch):
    path = tmp_path / "a.heic"
    path.write_bytes(heic_bytes(blocks()))
    monkeypatch.setitem(sys.modules, "pillow_heif", None)
    with pytest.raises(MissingExtraError, match=r"scalpmetrics\[heif\]"):
        load_photo(path)


# ----------------------------------------------------------------------------- DICOM

VL_PHOTO = "1.2.840.10008.5.1.4.1.1.77.1.4"


def dicom_bytes(
    arr: np.ndarray,
    *,
    photometric: str = "RGB",
    bits_stored: int | None = None,
    spacing: tuple[float, float] | None = (0.02, 0.02),
    jpeg: bytes | None = None,
    frames: int | None = None,
    **tags,
) -> bytes:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.encaps import encapsulate
    from pydicom.uid import ExplicitVRLittleEndian, JPEGBaseline8Bit, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = VL_PHOTO
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = JPEGBaseline8Bit if jpeg is not None else ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = VL_PHOTO
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "XC"
    ds.Rows, ds.Columns = arr.shape[:2]
    ds.SamplesPerPixel = 3 if arr.ndim == 3 else 1
    ds.PhotometricInterpretation = photometric
    if arr.ndim == 3:
        ds.PlanarConfiguration = 0
    bits = 8 * arr.dtype.itemsize
    ds.BitsAllocated = bits
    ds.BitsStored = bits_stored or bits
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 0
    if spacing is not None:
        ds.PixelSpacing = [f"{v:g}" for v in spacing]
    if frames is not None:
        ds.NumberOfFrames = frames
    for key, value in tags.items():
        setattr(ds, key, value)
    ds.PixelData = encapsulate([jpeg]) if jpeg is not None else arr.tobytes()
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def load_dicom(tmp_path, data: bytes, name: str = "photo.dcm"):
    path = tmp_path / name
    path.write_bytes(data)
    return load_photo(path)


def test_dicom_rgb_pixel_spacing_is_calibration(tmp_path):
    arr = blocks()
    data = dicom_bytes(
        arr, spacing=(0.025, 0.025), Manufacturer="Acme", ManufacturerModelName="DermCam 3",
        AcquisitionDateTime="20260301093015.25+0100",
    )
    photo = load_dicom(tmp_path, data)
    assert np.array_equal(photo.pixels, arr)
    assert photo.metadata.format == "DICOM" and photo.metadata.bit_depth == 8
    assert photo.calibration.px_per_mm == pytest.approx(40.0, rel=1e-12)
    assert photo.calibration.source == "metadata"
    assert photo.metadata.capture_time == "2026-03-01T09:30:15"
    assert photo.metadata.camera_model == "Acme DermCam 3"
    assert photo.metadata.extra["pixel_spacing_mm"] == [0.025, 0.025]
    assert photo.metadata.extra["sop_class_uid"] == VL_PHOTO
    # ... and it is what the analysis uses unless told otherwise
    assert resolve_calibration(photo).px_per_mm == pytest.approx(40.0)
    assert resolve_calibration(photo, px_per_mm=55.0).source == "argument"


def test_dicom_nearly_square_spacing_uses_the_area_preserving_mean(tmp_path):
    photo = load_dicom(tmp_path, dicom_bytes(blocks(), spacing=(0.0200, 0.0201)))
    assert photo.calibration.px_per_mm == pytest.approx(1 / np.sqrt(0.0200 * 0.0201))


def test_dicom_non_square_spacing_is_refused(tmp_path):
    with pytest.raises(CalibrationError, match="not square"):
        load_dicom(tmp_path, dicom_bytes(blocks(), spacing=(0.02, 0.025)))


def test_dicom_without_spacing_is_uncalibrated_and_imager_spacing_is_not_used(tmp_path):
    data = dicom_bytes(blocks(), spacing=None, ImagerPixelSpacing=["0.01", "0.01"],
                       ContentDate="20251224", ContentTime="071500")
    photo = load_dicom(tmp_path, data)
    assert photo.calibration.px_per_mm is None
    assert photo.metadata.extra["imager_pixel_spacing_mm"] == [0.01, 0.01]
    assert photo.metadata.capture_time == "2025-12-24T07:15:00"


def test_dicom_ybr_full_is_converted(tmp_path):
    from pydicom.pixels import convert_color_space

    arr = blocks()
    ybr = convert_color_space(arr, "RGB", "YBR_FULL")
    photo = load_dicom(tmp_path, dicom_bytes(ybr, photometric="YBR_FULL"))
    assert np.abs(photo.pixels.astype(int) - arr).max() <= 1


def test_dicom_jpeg_baseline_ybr_full_422(tmp_path):
    arr = blocks()
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=95)
    photo = load_dicom(tmp_path, dicom_bytes(arr, photometric="YBR_FULL_422", jpeg=buf.getvalue()))
    assert photo.pixels.shape == (H, W, 3)
    # JPEG is lossy at the block edges; block interiors keep their colour
    assert np.abs(photo.pixels[20, 30].astype(int) - arr[20, 30]).max() <= 4
    assert np.abs(photo.pixels[3, 3].astype(int) - arr[3, 3]).max() <= 12


def test_dicom_12_bit_monochrome_is_scaled_to_16_bit(tmp_path):
    rows, cols = np.mgrid[0:H, 0:W]
    arr = ((rows * W + cols) * 4095 // (H * W - 1)).astype(np.uint16)
    photo = load_dicom(tmp_path, dicom_bytes(arr, photometric="MONOCHROME2", bits_stored=12))
    assert photo.pixels.dtype == np.uint16
    expected = np.rint(arr * (65535 / 4095)).astype(np.uint16)
    assert np.array_equal(photo.pixels[:, :, 0], expected)
    assert np.array_equal(photo.pixels[:, :, 0], photo.pixels[:, :, 2])
    assert photo.pixels.max() == 65535


def test_dicom_monochrome1_is_inverted(tmp_path):
    arr = blocks()[:, :, 0]
    photo = load_dicom(tmp_path, dicom_bytes(arr, photometric="MONOCHROME1"))
    assert np.array_equal(photo.pixels[:, :, 1], 255 - arr)


def test_dicom_multi_frame_refused(tmp_path):
    arr = np.concatenate([blocks(), blocks()], axis=0)
    data = dicom_bytes(arr, frames=2)
    # declare two frames of half the height
    import pydicom as pd

    ds = pd.dcmread(io.BytesIO(data))
    ds.Rows = H
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    with pytest.raises(UnsupportedFormatError, match="multi-frame"):
        load_dicom(tmp_path, buf.getvalue())


def test_dicom_truncated_and_empty(tmp_path):
    data = dicom_bytes(blocks())
    with pytest.raises(ImageDecodeError, match="cut.dcm"):
        load_dicom(tmp_path, data[: len(data) - 500], "cut.dcm")
    with pytest.raises(ImageDecodeError, match="no pixel data"):
        load_dicom(tmp_path, data[:400], "header_only.dcm")


def decode(data: bytes):
    from scalpmetrics.formats import decode_dicom
    from scalpmetrics.params import LoadParams

    return decode_dicom(data, name="bad.dcm", params=LoadParams())


def test_dicom_garbage_pixel_spacing_is_a_calibration_error(tmp_path):
    data = dicom_bytes(blocks(), spacing=(0.2, 0.2))
    assert data.count(b"0.2\\0.2") == 1
    bad = data.replace(b"0.2\\0.2", b"abc\\def")  # same length: the file stays well formed
    for call in (lambda: decode(bad), lambda: load_dicom(tmp_path, bad, "bad.dcm")):
        with pytest.raises(CalibrationError, match="PixelSpacing .* is not two") as info:
            call()
        assert "\n" not in str(info.value)


def test_dicom_element_that_fails_when_read_is_a_decode_error():
    """pydicom parses an element only when it is read, after ``dcmread`` returned."""
    data = dicom_bytes(blocks(), frames=1)
    tag = b"\x28\x00\x08\x00IS\x02\x00"  # NumberOfFrames, explicit VR, 2 bytes
    at = data.index(tag) + len(tag)
    assert data[at:at + 2] == b"1 "
    bad = data[:at] + b"x " + data[at + 2:]
    with pytest.raises(ImageDecodeError, match="bad.dcm: corrupt DICOM file"):
        decode(bad)


def test_dicom_truncated_pixel_data_is_a_decode_error():
    data = dicom_bytes(blocks())
    for cut in (1, 2, 500):
        with pytest.raises(ImageDecodeError, match="bad.dcm: corrupt or truncated DICOM") as info:
            decode(data[:-cut])
        assert "\n" not in str(info.value)


def test_missing_dicom_extra(tmp_path, monkeypatch):
    data = dicom_bytes(blocks())
    monkeypatch.setitem(sys.modules, "pydicom", None)
    with pytest.raises(MissingExtraError, match=r"scalpmetrics\[dicom\]"):
        load_dicom(tmp_path, data)


@pytest.mark.parametrize(
    "date, time, iso",
    [
        ("20260301093000.123456+0100", None, "2026-03-01T09:30:00"),
        ("20260301", "0930", "2026-03-01T09:30:00"),
        ("20260301", "093005.5", "2026-03-01T09:30:05"),
        ("20260301", None, "2026-03-01"),
        ("20261301", None, None),
        ("2026", None, None),
        (None, None, None),
    ],
)
def test_dicom_datetime_to_iso(date, time, iso):
    assert dicom_datetime_to_iso(date, time) == iso
