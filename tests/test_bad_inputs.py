"""The bad-input corpus: what a camera, a phone or a user may hand the library.

Every case is generated here, into a temporary folder. For each one the
library, the ``analyze`` command and the ``batch`` command are checked:

* a case that is an error raises one specific ScalpmetricsError subclass with
  a one-line message; ``analyze`` exits 1 with one ``error:`` line on stderr,
  nothing on stdout and no output file; ``batch`` writes one row with
  ``status='error'`` whose ``error`` names the same error class;
* a case that is valid but degenerate (all black, pure noise, a PNG named
  ``.jpg``, odd file names) loads and analyses, with exactly the outcome
  listed in ``docs/reliability.md``.

Manifest cases (missing columns, duplicate rows, empty) stop a batch before
anything is scored: exit 1, one line, no table.
"""

from __future__ import annotations

import builtins
import csv
import functools
import io
import json
import math
import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import tifffile
from click.testing import CliRunner
from PIL import Image

import scalpmetrics.io as sm_io
from scalpmetrics import errors
from scalpmetrics.analysis import analyze
from scalpmetrics.io import photo_from_array
from scalpmetrics.manifest import load_inputs
from scalpmetrics.synthetic import make_phantom
from scalpmetrics_cli.main import main

PX_PER_MM = 40.0
WIDTH_PX, HEIGHT_PX = 96, 80


# ----------------------------------------------------------------------------- builders


@functools.cache
def phantom_rgb() -> np.ndarray:
    """A small seeded scalp phantom, RGB uint8, non-square (do not modify)."""
    return make_phantom(seed=11, width_px=WIDTH_PX, height_px=HEIGHT_PX, px_per_mm=PX_PER_MM).image


def encode(arr: np.ndarray, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt, **kw)
    return buf.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(width: int, height: int, idat: bytes) -> bytes:
    """An 8-bit grayscale PNG whose header claims ``width`` x ``height``."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat)
            + png_chunk(b"IEND", b""))


def png_bomb(side: int) -> bytes:
    """A real decompression bomb: a few hundred kB that inflate to ``side``² zero pixels."""
    packer = zlib.compressobj(9)
    row = bytes(side + 1)  # filter byte + pixels
    parts = [packer.compress(row) for _ in range(side)]
    return png_bytes(side, side, b"".join(parts) + packer.flush())


def tiff_bytes(width: int, height: int, *, samples: int = 1, bits: int = 8,
               sample_format: int = 1, payload: bytes = bytes(64),
               rows_per_strip: int | None = None) -> bytes:
    """A little-endian one-strip TIFF whose header values are free to lie
    (``rows_per_strip`` below the height claims more strips than the one stored)."""
    entries = [(256, 4, width), (257, 4, height), (258, 3, bits), (259, 3, 1),
               (262, 3, 2 if samples >= 3 else 1), (273, 4, 0), (277, 3, samples),
               (278, 4, rows_per_strip or height), (279, 4, len(payload)),
               (339, 3, sample_format)]
    data_offset = 8 + 2 + 12 * len(entries) + 4
    out = b"II*\x00" + struct.pack("<IH", 8, len(entries))
    for tag, kind, value in entries:
        value = data_offset if tag == 273 else value
        out += struct.pack("<HHIHH" if kind == 3 else "<HHII", tag, kind, 1, value,
                           *((0,) if kind == 3 else ()))
    return out + struct.pack("<I", 0) + payload


#: The fuzzer's input (fuzz/README.md) whose ImageWidth is four BYTE values and whose
#: height is 4.2e9: a reader hands the width back as ``bytes``, and "height * width"
#: then built a 17 GB string.
FUZZ_TIFF_WIDTH_AS_BYTES = bytes.fromhex(
    "49492a00080000000f000001010004000000140000000101040001000000180000fd0261030003000000c200"
    "00000301030001000000082000000601030001000000020000000e01020017000000c8000000110104000100"
    "0000100100001501030001000000030000001601040001000000180000001701040001000000ab0500001a01"
    "050001000000ee0000001b01050001000000f60000001c010300010000010000000028010300012400000100"
    "0000300102000c000000fe000000000000000800080008007b22736861b2711333e428ffffffffffffff1270"
    "0c28c3039c4e861e578417dd0975151520992ffb43d7ced3f0b90bf55f183e5cf7651526603e5184b233fef8"
    "6446025e0bd1d2e335cf42625600180000001705137de07a8e34ac537544f6c2368dbf8597bc03"
)


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small JPEG whose frame header claims another size."""
    data = encode(np.zeros((16, 16, 3), np.uint8), "JPEG")
    sof = data.index(b"\xff\xc0")
    return data[: sof + 5] + struct.pack(">HH", height, width) + data[sof + 9:]


def png16_claiming_2gb_chunk() -> bytes:
    """A 16-bit RGB PNG ending in one IDAT whose length field claims 2 GB (found by
    fuzzing: Pillow decodes it, and OpenCV, which keeps 16 bits, allocated 2 GB)."""
    pixels = phantom_rgb().astype(">u2") * 257
    rows = b"".join(b"\x00" + row.tobytes() for row in pixels)  # filter type 0 per row
    ihdr = struct.pack(">IIBBBBB", pixels.shape[1], pixels.shape[0], 16, 2, 0, 0, 0)
    idat = zlib.compress(rows)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + struct.pack(">I", 0x8000_0400)
            + b"IDAT" + idat + struct.pack(">I", zlib.crc32(b"IDAT" + idat)))


def tiff_of(arr: np.ndarray, **kw: object) -> bytes:
    buf = io.BytesIO()
    tifffile.imwrite(buf, arr, **kw)
    return buf.getvalue()


def write(name: str | bytes, data: bytes | Callable[[], bytes]) -> Callable[[Path], Path]:
    """A builder writing ``data`` (or what ``data()`` returns) to ``folder/name``."""

    def build(folder: Path) -> Path:
        path = folder / os.fsdecode(name)
        path.write_bytes(data() if callable(data) else data)
        return path

    return build


def phantom_file(name: str | bytes, fmt: str = "PNG") -> Callable[[Path], Path]:
    return write(name, lambda: encode(phantom_rgb(), fmt))


def truncated(fmt: str, fraction: float) -> Callable[[Path], Path]:
    def data() -> bytes:
        whole = tiff_of(phantom_rgb()) if fmt == "TIFF" else encode(phantom_rgb(), fmt)
        return whole[: int(len(whole) * fraction)]

    return write(f"cut.{fmt.lower()}", data)


def missing(folder: Path) -> Path:
    return folder / "not_here.jpg"


def directory(folder: Path) -> Path:
    path = folder / "photo.jpg"
    path.mkdir()
    return path


def symlink_loop(folder: Path) -> Path:
    a, b = folder / "loop_a.jpg", folder / "loop_b.jpg"
    a.symlink_to(b)
    b.symlink_to(a)
    return a


def dangling_symlink(folder: Path) -> Path:
    path = folder / "dangling.jpg"
    path.symlink_to(folder / "gone.jpg")
    return path


def unreadable(folder: Path) -> Path:
    path = phantom_file("locked.png")(folder)
    path.chmod(0)
    return path


# ----------------------------------------------------------------------------- the corpus


@dataclass(frozen=True)
class Case:
    """One corpus entry and what must happen to it.

    ``error`` is the exact ScalpmetricsError subclass, or ``None`` for a
    photo that must analyse (to the same figures as its decoded pixels);
    ``fragment`` must appear in the message.
    ``simulate_unreadable`` makes the loader's ``open`` raise PermissionError
    (chmod does not stop root).
    """

    name: str
    build: Callable[[Path], Path]
    error: type[errors.ScalpmetricsError] | None
    fragment: str = ""
    px_per_mm: float | None = PX_PER_MM
    field_width_mm: float | None = None
    expect_format: str = "PNG"
    simulate_unreadable: bool = False


RUNNING_AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

CASES = [
    # the file system
    Case("empty_file", write("empty.jpg", b""), errors.ImageDecodeError, "file is empty"),
    Case("missing_path", missing, errors.InputFileError, "no such file"),
    Case("directory", directory, errors.InputFileError, "is a directory"),
    Case("symlink_loop", symlink_loop, errors.InputFileError, "symbolic link loop"),
    Case("dangling_symlink", dangling_symlink, errors.InputFileError, "no such file"),
    Case("unreadable_chmod", unreadable, errors.InputFileError, "Permission denied"),
    Case("unreadable_simulated", phantom_file("denied.png"), errors.InputFileError,
         "Permission denied", simulate_unreadable=True),
    Case("newline_in_missing_name", lambda f: f / "two\nlines.jpg", errors.InputFileError,
         "no such file"),
    # not an image, or not all of one
    Case("truncated_jpeg", truncated("JPEG", 0.6), errors.ImageDecodeError, "truncated JPEG"),
    Case("truncated_png", truncated("PNG", 0.6), errors.ImageDecodeError, "truncated PNG"),
    Case("truncated_tiff", truncated("TIFF", 0.6), errors.ImageDecodeError, "truncated TIFF"),
    Case("truncated_webp", truncated("WEBP", 0.6), errors.ImageDecodeError, "WEBP"),
    Case("jpeg_header_only", write("head.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(40)),
         errors.ImageDecodeError, "JPEG"),
    Case("text_named_jpg", write("notes.jpg", b"patient 12, vertex, visit 3\n"),
         errors.ImageDecodeError, "the file is text"),
    Case("html_named_jpg", write("page.jpg", b"<!DOCTYPE html><html><body>404</body></html>"),
         errors.ImageDecodeError, "HTML"),
    Case("svg_with_script_named_png",
         write("vector.png", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
         errors.ImageDecodeError, "HTML/XML"),
    Case("random_bytes_named_png",
         write("noise.png", np.random.default_rng(3).integers(0, 256, 4096, dtype=np.uint8).tobytes()),
         errors.UnsupportedFormatError, "not a recognised image format"),
    Case("gif_named_jpg", write("anim.jpg", lambda: encode(phantom_rgb(), "GIF")),
         errors.UnsupportedFormatError, "not a recognised image format"),
    Case("float_tiff", write("float.tif", tiff_of(np.zeros((20, 24, 3), np.float32), photometric="rgb")),
         errors.UnsupportedFormatError, "float32"),
    Case("five_channel_tiff",
         write("five.tif", tiff_of(np.zeros((20, 24, 5), np.uint8), photometric="minisblack",
                                   planarconfig="contig")),
         errors.UnsupportedFormatError, "values per pixel"),
    # sizes
    Case("bomb_png_header", write("bomb.png", png_bytes(100_000, 100_000, zlib.compress(bytes(99)))),
         errors.ImageTooLargeError, "large"),
    Case("bomb_png_real", write("bomb_real.png", lambda: png_bomb(8_100)), errors.ImageTooLargeError,
         "exceeds the limit"),
    Case("bomb_jpeg_header", write("bomb.jpg", jpeg_claiming(65_000, 65_000)),
         errors.ImageTooLargeError, "large"),
    Case("bomb_float_tiff_header",
         write("bomb.tif", tiff_bytes(60_000, 60_000, samples=3, bits=32, sample_format=3)),
         errors.ImageTooLargeError, "exceeds the limit"),
    # found by fuzzing (fuzz/README.md): tiny files that used to exhaust memory or time
    Case("fuzz_tiff_width_as_bytes",
         write("bytes_width.tif", FUZZ_TIFF_WIDTH_AS_BYTES),
         errors.ImageDecodeError, "corrupt or truncated TIFF"),
    Case("fuzz_tiff_36867_samples",
         write("samples.tif", tiff_bytes(4884, 24, samples=36867, bits=8)),
         errors.UnsupportedFormatError, "values per pixel"),
    Case("fuzz_tiff_million_strips",
         write("strips.tif", tiff_bytes(20, 1_000_000, rows_per_strip=1)),
         errors.ImageDecodeError, "corrupt or truncated TIFF"),
    Case("fuzz_png16_chunk_claiming_2gb", write("long_chunk.png", lambda: png16_claiming_2gb_chunk()),
         errors.ImageDecodeError, "chunk runs past"),
    Case("one_by_one", write("1x1.png", encode(np.zeros((1, 1, 3), np.uint8), "PNG")),
         errors.ImageTooSmallError, "too small"),
    Case("three_by_three", write("3x3.jpg", encode(np.full((3, 3, 3), 128, np.uint8), "JPEG")),
         errors.ImageTooSmallError, "too small"),
    Case("thin_strip", write("strip.png", encode(np.zeros((15, 400, 3), np.uint8), "PNG")),
         errors.ImageTooSmallError, "too small"),
    # calibration
    Case("px_per_mm_nan", phantom_file("a.png"), errors.CalibrationError, "finite",
         px_per_mm=math.nan),
    Case("px_per_mm_inf", phantom_file("a.png"), errors.CalibrationError, "finite",
         px_per_mm=math.inf),
    Case("px_per_mm_negative", phantom_file("a.png"), errors.CalibrationError, "positive",
         px_per_mm=-40.0),
    Case("px_per_mm_zero", phantom_file("a.png"), errors.CalibrationError, "positive",
         px_per_mm=0.0),
    Case("px_per_mm_implausible", phantom_file("a.png"), errors.CalibrationError, "plausible",
         px_per_mm=1e9),
    Case("field_width_zero", phantom_file("a.png"), errors.CalibrationError, "positive",
         px_per_mm=None, field_width_mm=0.0),
    Case("field_width_nan", phantom_file("a.png"), errors.CalibrationError, "finite",
         px_per_mm=None, field_width_mm=math.nan),
    # valid, if odd: these must analyse
    Case("png_named_jpg", phantom_file("really_png.jpg"), None),
    Case("jpeg_named_png", phantom_file("really_jpeg.png", "JPEG"), None, expect_format="JPEG"),
    Case("non_utf8_name", phantom_file(b"m\xfcller_\xff.png"), None),
    Case("lzw_tiff", write("lzw.tif", lambda: encode(phantom_rgb(), "TIFF", compression="tiff_lzw")),
         None, expect_format="TIFF"),
    Case("html_special_name", phantom_file('<img src=x onerror=alert(1)>&"\'.png'), None),
    Case("all_black", write("black.png", encode(np.zeros((80, 96, 3), np.uint8), "PNG")), None),
    Case("all_white", write("white.png", encode(np.full((80, 96, 3), 255, np.uint8), "PNG")), None),
    Case("pure_noise",
         write("noise_img.png",
               encode(np.random.default_rng(7).integers(0, 256, (80, 96, 3), dtype=np.uint8), "PNG")),
         None),
    Case("smallest_allowed_16x16", write("16.png", encode(np.full((16, 16, 3), 90, np.uint8), "PNG")),
         None),
]
#: Uniform photos: nothing to find.
EMPTY_PHOTOS = {"all_black", "all_white", "smallest_allowed_16x16"}
MANIFEST_UNFRIENDLY = {"non_utf8_name"}  # a manifest is UTF-8: this one goes through a folder


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 25
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    """Every case built into its own folder (names may repeat across cases)."""
    root = tmp_path_factory.mktemp("corpus")
    paths = {}
    for case in CASES:
        folder = root / case.name
        folder.mkdir()
        paths[case.name] = case.build(folder)
    return paths


@pytest.fixture
def case_path(request, corpus, monkeypatch) -> tuple[Case, Path]:
    case: Case = request.param
    if case.name == "unreadable_chmod" and RUNNING_AS_ROOT:
        pytest.skip("chmod 000 does not stop root; unreadable_simulated covers this")
    path = corpus[case.name]
    if case.simulate_unreadable:
        deny_reading(monkeypatch, path)
    return case, path


def deny_reading(monkeypatch, path: Path) -> None:
    """Make the loaders' ``open`` of ``path`` fail as a file without read permission does."""
    real_open = builtins.open

    def guarded_open(file, *args, **kwargs):
        if os.fspath(file) == os.fspath(path):
            raise PermissionError(13, "Permission denied", os.fspath(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(sm_io, "open", guarded_open, raising=False)


def parametrize_cases(cases=CASES):
    return pytest.mark.parametrize("case_path", cases, ids=[c.name for c in cases], indirect=True)


# ----------------------------------------------------------------------------- library


@parametrize_cases()
def test_library(case_path):
    case, path = case_path
    if case.error is not None:
        with pytest.raises(errors.ScalpmetricsError) as info:
            analyze(path, px_per_mm=case.px_per_mm, field_width_mm=case.field_width_mm)
        assert type(info.value) is case.error
        message = str(info.value)
        assert case.fragment in message
        # one line, even when the file's own name holds a line break
        assert message.isprintable()
        return
    result = analyze(path, px_per_mm=case.px_per_mm, field_width_mm=case.field_width_mm)
    check_valid_outcome(case, result.to_dict(), path)


@functools.cache
def reference_figures(path: Path) -> dict:
    """Whole-photo figures of the file's pixels as Pillow decodes them, analysed in memory."""
    with Image.open(path) as img:
        pixels = np.asarray(img.convert("RGB"))
    return analyze(photo_from_array(pixels), px_per_mm=PX_PER_MM).whole.to_dict()


FIGURES = ("hair_count", "coverage_fraction", "density_per_cm2", "mean_shaft_width_um",
           "terminal_count", "follicular_unit_count")


def check_valid_outcome(case: Case, record: dict, path: Path) -> None:
    """What a valid-but-odd photo must give (docs/reliability.md, "valid inputs")."""
    assert record["image"]["path"] == str(path)
    assert record["metadata"]["format"] == case.expect_format
    assert record["calibration"] == {"px_per_mm": PX_PER_MM, "source": "argument"}
    reference = reference_figures(path)
    assert {k: record[k] for k in FIGURES} == {k: reference[k] for k in FIGURES}
    if case.name in EMPTY_PHOTOS:
        assert record["hair_count"] == 0 and record["coverage_fraction"] == 0.0
        assert record["hairs"] == []
    assert 0.0 <= record["coverage_fraction"] <= 1.0
    assert all(math.isfinite(record[k]) for k in ("density_per_cm2", "area_cm2"))


def test_pure_noise_has_no_hairs(corpus):
    result = analyze(corpus["pure_noise"], px_per_mm=PX_PER_MM)
    assert result.whole.hair_count == 0


@pytest.mark.parametrize("px_per_mm", [427.0, 2000.0])
def test_the_smallest_photo_at_a_fine_scale_is_analysed(px_per_mm):
    # Found by the property test: the working copy of a 16 x 16 photo at a
    # fine scale was smaller than the skin model's sampling step.
    result = analyze(photo_from_array(np.zeros((16, 16, 3), np.uint8)), px_per_mm=px_per_mm)
    assert result.whole.hair_count == 0


# ----------------------------------------------------------------------------- analyze command


def cli_calibration(case: Case) -> list[str]:
    out = []
    if case.px_per_mm is not None:
        out += ["--px-per-mm", repr(case.px_per_mm)]
    if case.field_width_mm is not None:
        out += ["--field-width-mm", repr(case.field_width_mm)]
    return out


@parametrize_cases()
def test_analyze_command(case_path, tmp_path):
    case, path = case_path
    out = tmp_path / "out"
    out.mkdir()
    args = ["analyze", str(path), *cli_calibration(case), "--json",
            "--mask-out", str(out / "mask.png"), "--overlay-out", str(out / "overlay.png")]
    res = CliRunner().invoke(main, args)
    if case.error is not None:
        assert res.exit_code == 1, res.output
        assert res.stdout == ""
        lines = res.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
        assert case.fragment in lines[0]
        assert list(out.iterdir()) == []  # no output file, partial or not
        return
    assert res.exit_code == 0, res.stderr
    check_valid_outcome(case, json.loads(res.stdout), path)
    assert sorted(p.name for p in out.iterdir()) == ["mask.png", "overlay.png"]


def dicom_with_unknown_value_representation() -> bytes:
    """A small RGB DICOM whose PixelRepresentation element claims the VR 'U0'
    (found by fuzzing: pydicom fails only when the element is read)."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = "1.2.3.4"
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = SecondaryCaptureImageStorage, "1.2.3.4"
    ds.Rows, ds.Columns = 24, 20
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = bytes(24 * 20 * 3)
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    element = b"\x28\x00\x03\x01US"  # (0028,0103) PixelRepresentation, VR US
    assert buf.getvalue().count(element) == 1
    return buf.getvalue().replace(element, b"\x28\x00\x03\x01U0")


def test_fuzz_dicom_with_unknown_value_representation(tmp_path):
    pytest.importorskip("pydicom")
    path = tmp_path / "scan.dcm"
    path.write_bytes(dicom_with_unknown_value_representation())
    with pytest.raises(errors.ImageDecodeError, match="corrupt DICOM file"):
        analyze(path, px_per_mm=PX_PER_MM)
    res = CliRunner().invoke(main, ["analyze", str(path), "--json"])
    assert res.exit_code == 1 and res.stdout == ""
    assert len(res.stderr.splitlines()) == 1 and "corrupt DICOM file" in res.stderr


# ----------------------------------------------------------------------------- batch command


def run_batch_cli(inputs: Path, out: Path, *extra: str):
    return CliRunner().invoke(
        main, ["batch", str(inputs), "--out", str(out), "--workers", "0", "--no-progress", *extra]
    )


def read_table(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def batch_rows(corpus, tmp_path_factory) -> dict[str, dict[str, str]]:
    """One batch over a manifest of every case (a row's calibration in its cells)."""
    folder = tmp_path_factory.mktemp("batch")
    manifest = folder / "manifest.csv"
    with open(manifest, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["case", "path", "px_per_mm", "field_width_mm"])
        for case in CASES:
            if case.name in MANIFEST_UNFRIENDLY:
                continue
            if case.name == "unreadable_chmod" and RUNNING_AS_ROOT:
                continue
            writer.writerow([case.name, str(corpus[case.name]),
                             "" if case.px_per_mm is None else repr(case.px_per_mm),
                             "" if case.field_width_mm is None else repr(case.field_width_mm)])
    out = folder / "results.csv"
    with pytest.MonkeyPatch.context() as mp:
        deny_reading(mp, corpus["unreadable_simulated"])
        res = run_batch_cli(manifest, out)
    assert res.exit_code == 0, res.stderr
    assert res.stdout == ""
    rows = read_table(out)
    by_case = {row["case"]: row for row in rows}
    assert len(by_case) == len(rows)  # one row per photo: nothing lost, nothing doubled
    return by_case


@parametrize_cases([c for c in CASES if c.name not in MANIFEST_UNFRIENDLY])
def test_batch_row(case_path, batch_rows):
    case, path = case_path
    row = batch_rows[case.name]
    assert row["path"] == str(path)
    if case.error is not None:
        assert row["status"] == "error"
        assert row["error"].startswith(f"{case.error.__name__}: ")
        assert case.fragment in row["error"]
        assert "\n" not in row["error"]
        assert row["hair_count"] == "" and row["region"] == ""
        return
    assert row["status"] == "ok" and row["error"] == ""
    assert row["region"] == "whole"
    assert float(row["px_per_mm"]) == PX_PER_MM
    assert int(row["hair_count"]) == reference_figures(path)["hair_count"]
    assert float(row["coverage_fraction"]) == reference_figures(path)["coverage_fraction"]


def test_batch_folder_with_non_utf8_name(corpus, tmp_path):
    """A folder scan passes any file name through; the table stays valid UTF-8."""
    visit = tmp_path / "in" / "S1" / "V1"
    visit.mkdir(parents=True)
    name = os.fsencode(corpus["non_utf8_name"].name)
    (visit / os.fsdecode(name)).write_bytes(corpus["non_utf8_name"].read_bytes())
    out = tmp_path / "results.csv"
    res = run_batch_cli(tmp_path / "in", out)
    assert res.exit_code == 0, res.stderr
    rows = read_table(out)  # decodes as strict UTF-8
    assert len(rows) == 1 and rows[0]["status"] == "ok"
    assert rows[0]["path"] == "S1/V1/m\\udcfcller_\\udcff.png"  # recoverable escapes


# ----------------------------------------------------------------------------- manifests


MANIFEST_CASES = [
    ("missing_path_column", "subject,file\nS1,a.png\n", "no 'path' column"),
    ("empty_manifest", "", "manifest is empty"),
    ("blank_lines_only", "\n\n\n", "manifest is empty"),
    ("header_only", "path,subject\n", "header but no rows"),
    ("duplicate_rows", "path,subject\na.png,S1\nb.png,S1\na.png,S1\n", "same photo"),
    ("ragged_row", "path,subject\na.png,S1,extra\n", "cells"),
    ("duplicate_column", "path,subject,subject\na.png,S1,S1\n", "more than once"),
    ("empty_path_cell", "path,subject\n ,S1\n", "empty path"),
    ("not_utf8", b"path,subject\nm\xfcller.png,S1\n", "not UTF-8"),
    ("newline_in_column_name", '"pa\nth",subject\na.png,S1\n', "no 'path' column"),
]


@pytest.mark.parametrize(("name", "content", "fragment"), MANIFEST_CASES,
                         ids=[c[0] for c in MANIFEST_CASES])
def test_bad_manifest(tmp_path, name, content, fragment):
    manifest = tmp_path / "manifest.csv"
    if isinstance(content, bytes):
        manifest.write_bytes(content)
    else:
        manifest.write_text(content, encoding="utf-8")
    for photo in ("a.png", "b.png"):
        (tmp_path / photo).write_bytes(encode(phantom_rgb(), "PNG"))
    with pytest.raises(errors.ManifestError, match=fragment):
        load_inputs(manifest)
    check_batch_refuses(manifest, tmp_path, fragment)


@pytest.mark.parametrize(
    ("name", "make", "fragment"),
    [
        ("missing_manifest", lambda d: d / "nope.csv", "no such manifest"),
        ("folder_without_photos", lambda d: (d / "empty").mkdir() or d / "empty", "no photos found"),
    ],
)
def test_missing_manifest_or_empty_folder(tmp_path, name, make, fragment):
    inputs = make(tmp_path)
    with pytest.raises(errors.ManifestError, match=fragment):
        load_inputs(inputs)
    check_batch_refuses(inputs, tmp_path, fragment)


def check_batch_refuses(inputs: Path, folder: Path, fragment: str) -> None:
    out_dir = folder / "out"
    out_dir.mkdir()
    res = run_batch_cli(inputs, out_dir / "results.csv")
    assert res.exit_code == 1
    assert res.stdout == ""
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0]
    assert list(out_dir.iterdir()) == []  # no table, no journal
