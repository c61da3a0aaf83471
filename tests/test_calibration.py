import numpy as np
import pytest

from scalpmetrics.calibration import check_px_per_mm, resolve_calibration
from scalpmetrics.errors import CalibrationError
from scalpmetrics.io import photo_from_array
from scalpmetrics.types import Calibration


@pytest.fixture()
def photo():
    return photo_from_array(np.zeros((40, 80, 3), np.uint8))


def test_no_calibration_is_unknown(photo):
    cal = resolve_calibration(photo)
    assert cal == Calibration(None, None)
    assert not cal.is_known and cal.mm2_per_px is None


def test_argument(photo):
    assert resolve_calibration(photo, px_per_mm=120) == Calibration(120.0, "argument")


def test_field_width_uses_photo_width_not_height(photo):
    cal = resolve_calibration(photo, field_width_mm=2.0)
    assert cal.px_per_mm == pytest.approx(40.0)
    assert cal.source == "field_width"


def test_metadata_calibration_is_kept(photo):
    p = photo_from_array(np.zeros((40, 80, 3), np.uint8), calibration=Calibration(55.0, "metadata"))
    assert resolve_calibration(p) == Calibration(55.0, "metadata")
    assert resolve_calibration(p, px_per_mm=60).source == "argument"


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), 1e9, 1e-9, "x"])
def test_absurd_px_per_mm(photo, bad):
    with pytest.raises(CalibrationError):
        resolve_calibration(photo, px_per_mm=bad)


@pytest.mark.parametrize("bad", [0, -3, float("nan"), float("inf"), 1e-9])
def test_absurd_field_width(photo, bad):
    with pytest.raises(CalibrationError):
        resolve_calibration(photo, field_width_mm=bad)


def test_both_given_is_an_error(photo):
    with pytest.raises(CalibrationError, match="not both"):
        resolve_calibration(photo, px_per_mm=10, field_width_mm=2)


def test_check_returns_float():
    assert check_px_per_mm(np.float32(90)) == 90.0


@pytest.mark.parametrize("value", [80, 80.0, np.float32(80), np.float64(80), np.int64(80),
                                   np.uint16(80)])
def test_numbers_of_any_kind_are_accepted(value):
    assert check_px_per_mm(value) == 80.0


@pytest.mark.parametrize("bad", ["80", b"80", True, np.bool_(True), [80], np.array([80.0])])
def test_non_numbers_are_refused_not_converted(photo, bad):
    with pytest.raises(CalibrationError, match="must be a number"):
        check_px_per_mm(bad)
    with pytest.raises(CalibrationError, match="must be a number"):
        resolve_calibration(photo, px_per_mm=bad)
    with pytest.raises(CalibrationError, match="must be a number"):
        resolve_calibration(photo, field_width_mm=bad)


def test_none_is_not_a_scale():
    with pytest.raises(CalibrationError, match="must be a number"):
        check_px_per_mm(None)


def test_refusal_is_one_line():
    with pytest.raises(CalibrationError) as info:
        check_px_per_mm("80\nmm")
    assert "\n" not in str(info.value)
