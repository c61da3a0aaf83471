"""Property tests: whatever array, file or calibration comes in, only the
project's documented exceptions (ScalpmetricsError subclasses) come out.

Examples are drawn deterministically (``derandomize=True``) and kept few, so
the module stays quick and a failure reproduces on every run.
"""

from __future__ import annotations

import io
import json
import math

import cv2
import numpy as np
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from scalpmetrics import errors
from scalpmetrics.analysis import analyze
from scalpmetrics.calibration import check_px_per_mm, resolve_calibration
from scalpmetrics.io import load_photo, photo_from_array, read_label_image
from scalpmetrics.params import CalibrationParams, LoadParams, Params
from scalpmetrics.regions import build_regions, guarded_area, parse_grid_spec
from scalpmetrics.report import to_json

#: One profile for the module: few examples, no deadline, the same examples every run.
PROPERTY = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.function_scoped_fixture],
)
MIN_SIDE_PX = LoadParams().min_side_px

DTYPES = [np.uint8, np.uint16, np.int8, np.int16, np.int32, np.uint32, np.int64,
          np.float16, np.float32, np.float64, np.bool_, np.complex64]
floats_any = st.floats(allow_nan=True, allow_infinity=True)
calibration_values = st.one_of(
    st.none(),
    floats_any,
    st.sampled_from([0.0, -0.0, -40.0, 1e-300, 0.999, 1.0, 2000.0, 2000.0001, 1e308]),
    st.floats(min_value=1.0, max_value=2000.0),
)


def expected_rgb(arr: np.ndarray) -> np.ndarray:
    """What the loader must return for a valid layout: gray replicated, alpha dropped."""
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return np.repeat(arr[:, :, :1], 3, axis=2) if arr.shape[2] < 3 else arr[:, :, :3]


# ----------------------------------------------------------------------------- in-memory arrays


@st.composite
def any_array(draw):
    dtype = draw(st.sampled_from(DTYPES))
    ndim = draw(st.integers(0, 4))
    shape = tuple(draw(st.integers(0, 40)) for _ in range(ndim))
    if ndim == 3:
        shape = shape[:2] + (draw(st.integers(0, 6)),)
    return draw(hnp.arrays(dtype, shape, elements=hnp.from_dtype(np.dtype(dtype))
                           if dtype not in (np.complex64,) else st.just(0j)))


@PROPERTY
@given(arr=any_array())
def test_photo_from_array_accepts_exactly_the_documented_layouts(arr):
    before = arr.copy()
    valid_dtype = arr.dtype in (np.uint8, np.uint16)
    valid_layout = arr.ndim == 2 or (arr.ndim == 3 and 1 <= arr.shape[2] <= 4)
    big_enough = valid_layout and min(arr.shape[:2]) >= MIN_SIDE_PX
    try:
        photo = photo_from_array(arr)
    except errors.ScalpmetricsError as exc:
        expected = (errors.UnsupportedFormatError if not (valid_dtype and valid_layout)
                    else errors.ImageTooSmallError)
        assert type(exc) is expected and "\n" not in str(exc)
        assert not (valid_dtype and valid_layout and big_enough)
    else:
        assert valid_dtype and valid_layout and big_enough
        assert photo.pixels.dtype == arr.dtype
        np.testing.assert_array_equal(photo.pixels, expected_rgb(arr))
        assert photo.pixels.flags.c_contiguous
        assert not np.may_share_memory(photo.pixels, arr)  # a copy, not a view
    np.testing.assert_array_equal(arr, before)  # the input is never modified


# ----------------------------------------------------------------------------- files


@st.composite
def encodable_image(draw):
    """(format, writer, array) for an image the named writer can store."""
    fmt, writer, dtype, channels = draw(st.sampled_from([
        ("PNG", "pillow", np.uint8, 1), ("PNG", "pillow", np.uint8, 2),
        ("PNG", "pillow", np.uint8, 3), ("PNG", "pillow", np.uint8, 4),
        ("PNG", "pillow", np.uint16, 1), ("PNG", "opencv", np.uint16, 3),
        ("PNG", "opencv", np.uint16, 4), ("BMP", "pillow", np.uint8, 3),
        ("BMP", "pillow", np.uint8, 1), ("WEBP", "pillow", np.uint8, 3),
        ("TIFF", "tifffile", np.uint8, 1), ("TIFF", "tifffile", np.uint8, 3),
        ("TIFF", "tifffile", np.uint16, 3), ("TIFF", "tifffile", np.uint16, 4),
        ("TIFF", "tifffile", np.uint16, 1), ("JPEG", "pillow", np.uint8, 3),
        ("JPEG", "pillow", np.uint8, 1),
    ]))
    height = draw(st.integers(1, 40))
    width = draw(st.integers(1, 40))
    shape = (height, width) if channels == 1 else (height, width, channels)
    arr = draw(hnp.arrays(dtype, shape, elements=hnp.from_dtype(np.dtype(dtype))))
    return fmt, writer, arr


def encode(fmt: str, writer: str, arr: np.ndarray) -> bytes:
    if writer == "opencv":
        bgr = arr[:, :, [2, 1, 0, 3][: arr.shape[2]]]
        ok, buf = cv2.imencode(".png", bgr)
        assert ok
        return buf.tobytes()
    if writer == "tifffile":
        buf = io.BytesIO()
        kw = {"photometric": "rgb"} if arr.ndim == 3 else {}
        if arr.ndim == 3 and arr.shape[2] == 4:
            kw["extrasamples"] = ["unassalpha"]
        tifffile.imwrite(buf, arr, **kw)
        return buf.getvalue()
    buf = io.BytesIO()
    extra = {"lossless": True} if fmt == "WEBP" else {}
    Image.fromarray(arr).save(buf, format=fmt, **extra)
    return buf.getvalue()


@PROPERTY
@given(image=encodable_image())
def test_load_photo_round_trips_lossless_formats(image, tmp_path):
    fmt, writer, arr = image
    path = tmp_path / "photo.jpg"  # the name never decides the format
    path.write_bytes(encode(fmt, writer, arr))
    try:
        photo = load_photo(path)
    except errors.ImageTooSmallError:
        assert min(arr.shape[:2]) < MIN_SIDE_PX
        return
    assert min(arr.shape[:2]) >= MIN_SIDE_PX
    assert photo.metadata.format == fmt
    assert photo.pixels.shape == arr.shape[:2] + (3,)
    assert photo.pixels.dtype == arr.dtype
    assert photo.metadata.bit_depth == 8 * arr.dtype.itemsize
    if fmt != "JPEG":
        np.testing.assert_array_equal(photo.pixels, expected_rgb(arr))


@st.composite
def damaged_file(draw):
    """A valid small image file with bytes overwritten, inserted or cut."""
    fmt, writer, arr = draw(encodable_image())
    data = bytearray(encode(fmt, writer, arr))
    for _ in range(draw(st.integers(1, 6))):
        action = draw(st.sampled_from(["overwrite", "insert", "cut"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if action == "overwrite" and data:
            data[at] = draw(st.integers(0, 255))
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        else:
            del data[at:]
    return bytes(data)


@PROPERTY
@given(data=damaged_file())
def test_damaged_files_give_a_photo_or_a_documented_error(data, tmp_path):
    path = tmp_path / "damaged.png"
    path.write_bytes(data)
    try:
        photo = load_photo(path, params=LoadParams(min_side_px=1))
    except errors.ScalpmetricsError as exc:
        assert "\n" not in str(exc)
        return
    assert photo.pixels.ndim == 3 and photo.pixels.shape[2] == 3
    assert photo.pixels.dtype in (np.uint8, np.uint16)


@PROPERTY
@given(data=st.one_of(st.binary(max_size=300),
                      st.sampled_from([b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"II*\x00",
                                       b"MM\x00*", b"BM", b"RIFF\x00\x00\x00\x00WEBP"])
                      .flatmap(lambda magic: st.binary(max_size=300).map(lambda b: magic + b))))
def test_arbitrary_bytes_give_a_photo_or_a_documented_error(data, tmp_path):
    path = tmp_path / "blob.jpg"
    path.write_bytes(data)
    try:
        photo = load_photo(path)
    except errors.ScalpmetricsError as exc:
        assert "\n" not in str(exc)
        return
    assert photo.pixels.ndim == 3 and photo.pixels.shape[2] == 3


@PROPERTY
@given(labels=hnp.arrays(st.sampled_from([np.uint8, np.uint16]),
                         st.tuples(st.integers(1, 30), st.integers(1, 30)),
                         elements=st.integers(0, 3)),
       shape=st.tuples(st.integers(1, 30), st.integers(1, 30)))
def test_label_images_give_regions_or_a_region_error(labels, shape, tmp_path):
    path = tmp_path / "labels.png"
    path.write_bytes(encode("PNG", "pillow", labels))
    read = read_label_image(path)
    np.testing.assert_array_equal(read, labels.astype(np.int32))
    try:
        regions = build_regions(shape, labels=read)
    except errors.RegionError:
        assert read.shape != shape or not read.any()
        return
    assert [r.name for r in regions[1:]] == [f"label_{v}" for v in np.unique(read) if v]
    assert sum(int(r.mask.sum()) for r in regions[1:]) == int((read != 0).sum())


# ----------------------------------------------------------------------------- calibration


@PROPERTY
@given(value=st.one_of(floats_any, st.integers(), st.just(10**400), st.text(max_size=5),
                       st.none(), st.booleans()))
def test_check_px_per_mm_accepts_only_plausible_numbers(value):
    limits = CalibrationParams()
    try:
        out = check_px_per_mm(value)
    except errors.CalibrationError as exc:
        assert "\n" not in str(exc)
        return
    assert math.isfinite(out) and limits.min_px_per_mm <= out <= limits.max_px_per_mm


@PROPERTY
@given(px_per_mm=calibration_values, field_width_mm=calibration_values,
       width_px=st.integers(16, 5000))
def test_resolve_calibration_is_explicit(px_per_mm, field_width_mm, width_px):
    photo = photo_from_array(np.zeros((16, width_px), np.uint8))
    try:
        cal = resolve_calibration(photo, px_per_mm=px_per_mm, field_width_mm=field_width_mm)
    except errors.CalibrationError:
        return
    assert px_per_mm is None or field_width_mm is None
    if px_per_mm is None and field_width_mm is None:
        assert cal.px_per_mm is None and cal.source is None
    else:
        assert cal.source == ("argument" if px_per_mm is not None else "field_width")
        assert 1.0 <= cal.px_per_mm <= 2000.0


# ----------------------------------------------------------------------------- analysis


@st.composite
def scalp_like(draw):
    """Small photos of several kinds: uniform, noise, gradient, dark strokes on skin."""
    dtype = draw(st.sampled_from([np.uint8, np.uint16]))
    top = np.iinfo(dtype).max
    height, width = draw(st.integers(16, 64)), draw(st.integers(16, 64))
    kind = draw(st.sampled_from(["uniform", "noise", "gradient", "strokes"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if kind == "uniform":
        img = np.full((height, width, 3), draw(st.integers(0, top)), dtype)
    elif kind == "noise":
        img = rng.integers(0, top, (height, width, 3), dtype=dtype, endpoint=True)
    elif kind == "gradient":
        ramp = np.linspace(0, top, width, dtype=np.float64)[None, :, None]
        img = np.broadcast_to(ramp, (height, width, 3)).round().astype(dtype)
    else:
        img = np.empty((height, width, 3), np.uint8)
        img[:] = (205, 165, 145)
        for _ in range(draw(st.integers(1, 8))):
            p0 = tuple(int(v) for v in rng.integers(0, (width, height)))
            p1 = tuple(int(v) for v in rng.integers(0, (width, height)))
            cv2.line(img, p0, p1, (60, 45, 35), int(rng.integers(1, 4)), cv2.LINE_AA)
        img = img.astype(dtype) * (257 if dtype == np.uint16 else 1)
    return np.ascontiguousarray(img)


@settings(PROPERTY, max_examples=25)
@given(pixels=scalp_like(), px_per_mm=calibration_values,
       field_width_mm=st.one_of(st.none(), floats_any),
       grid=st.one_of(st.none(), st.builds("grid:{}x{}".format, st.integers(0, 20),
                                           st.integers(0, 20)), st.text(max_size=8)))
def test_analyze_raises_only_documented_errors(pixels, px_per_mm, field_width_mm, grid):
    before = pixels.copy()
    photo = photo_from_array(pixels)
    try:
        result = analyze(photo, px_per_mm=px_per_mm, field_width_mm=field_width_mm, grid=grid)
    except (errors.CalibrationError, errors.RegionError) as exc:
        assert "\n" not in str(exc)
        return
    np.testing.assert_array_equal(photo.pixels, before)
    record = json.loads(to_json(result.to_dict()))  # strict JSON: no NaN or Infinity
    whole = result.whole
    assert whole.hair_count >= 0 and 0.0 <= whole.coverage_fraction <= 1.0
    assert whole.area_px == guarded_area(pixels.shape, result.calibration.px_per_mm).sum() > 0
    assert (whole.density_per_cm2 is None) == (result.calibration.px_per_mm is None)
    if grid is not None:
        rows, cols = parse_grid_spec(grid)
        assert len(result.regions) == 1 + rows * cols
        assert sum(r.area_px for r in result.regions[1:]) == whole.area_px
        assert sum(r.hair_count for r in result.regions[1:]) <= whole.hair_count
    assert record["hair_count"] == whole.hair_count


@PROPERTY
@given(data=st.dictionaries(
    st.sampled_from(["load", "calibration", "segment", "trace", "nope"]),
    st.dictionaries(st.sampled_from(["max_pixels", "min_side_px", "min_px_per_mm",
                                     "vellus_cutoff_um", "seed_threshold_sigma", "x"]),
                    st.one_of(floats_any, st.integers(), st.just(10**400),
                              st.text(max_size=3), st.booleans(), st.none()),
                    max_size=3),
    max_size=3))
def test_parameters_raise_only_parameter_errors(data):
    try:
        Params.from_dict(data)
    except errors.ParameterError as exc:
        assert "\n" not in str(exc)
