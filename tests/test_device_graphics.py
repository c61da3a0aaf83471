"""Graphics a capture device burns into a photo: a blank grey band along the
border and thin scale-bar lines are not scalp and never hair."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from scalpmetrics.analysis import analyze
from scalpmetrics.io import photo_from_array
from scalpmetrics.params import Params, SegmentParams
from scalpmetrics.regions import guarded_area
from scalpmetrics.segment import device_graphics, paint_over_lines
from scalpmetrics.segment.exclusions import _blank_border_area
from scalpmetrics.synthetic import make_phantom

PX_PER_MM = 100.0
BAND_ROWS = 40
GUARD_PX = Params().trace.edge_guard_um * PX_PER_MM / 1000.0
#: A scale bar as the device draws it: an L of two-pixel dark grey lines.
BAR_ROW, BAR_COL, BAR_X0, BAR_Y0, BAR_LENGTH_PX = 420, 60, 60, 120, 300


@pytest.fixture(scope="module")
def phantom():
    return make_phantom(seed=5, width_px=640, height_px=512, px_per_mm=PX_PER_MM, clipped=True,
                        skin_type=2, hair_colour="blonde")


def with_band(image: np.ndarray) -> np.ndarray:
    out = image.copy()
    out[-BAND_ROWS:] = 220
    return out


def with_bar(image: np.ndarray) -> np.ndarray:
    out = image.copy()
    out[BAR_ROW:BAR_ROW + 2, BAR_X0:BAR_X0 + BAR_LENGTH_PX] = 45
    out[BAR_Y0:BAR_Y0 + BAR_LENGTH_PX, BAR_COL:BAR_COL + 2] = 45
    return out


def blank_bands(pixels: np.ndarray) -> np.ndarray:
    return device_graphics(pixels).blank_band


def graphic_lines(pixels: np.ndarray) -> np.ndarray:
    return device_graphics(pixels).lines


def test_blank_band_is_found_on_the_photo_as_loaded(phantom):
    band = blank_bands(with_band(phantom.image))
    assert band[-BAND_ROWS:].all()
    assert not band[: -BAND_ROWS - SegmentParams().blank_window_px].any()
    assert not blank_bands(phantom.image).any()


def test_a_wholly_blank_photo_is_not_a_band():
    flat = np.full((200, 300, 3), 128, np.uint8)
    assert not blank_bands(flat).any()


@pytest.mark.parametrize("dtype, full", [(np.uint8, 255), (np.uint16, 65535), (np.float32, 1.0)])
def test_band_is_found_in_any_depth_and_as_the_float_rule_finds_it(phantom, dtype, full):
    banded = with_band(phantom.image)
    pixels = (banded.astype(np.float64) / 255.0 * full).astype(dtype)
    band = blank_bands(pixels)
    assert band[-BAND_ROWS:].all() and not band[:BAND_ROWS].any()
    # The 8-bit shortcut (a window of equal levels) marks what the variance rule does.
    lum = cv2.cvtColor(banded, cv2.COLOR_RGB2GRAY)
    params = SegmentParams()
    assert np.array_equal(_blank_border_area(lum, params),
                          _blank_border_area(lum.astype(np.float32) / np.float32(255.0), params))


def test_band_and_a_strip_along_it_are_left_out_of_the_measured_area(phantom):
    result = analyze(photo_from_array(with_band(phantom.image)), px_per_mm=PX_PER_MM)
    h = phantom.image.shape[0]
    last_measured_row = int(np.flatnonzero(result.measured_area.any(axis=1)).max())
    assert last_measured_row < h - BAND_ROWS - GUARD_PX
    assert last_measured_row >= h - BAND_ROWS - GUARD_PX - 2
    expected = guarded_area(phantom.image.shape, PX_PER_MM, outside=blank_bands(with_band(phantom.image)))
    assert np.array_equal(result.measured_area, expected)
    assert result.whole.area_px == expected.sum()
    assert not result.hair_mask[-BAND_ROWS:].any()
    graphics = result.provenance["device_graphics"]
    assert graphics["blank_band_px"] >= BAND_ROWS * phantom.image.shape[1]
    assert graphics["line_px"] == 0


def test_scale_bar_lines_are_found_and_hair_is_not(phantom):
    lines = graphic_lines(with_bar(phantom.image))
    assert lines[BAR_ROW, BAR_X0 + 5:BAR_X0 + BAR_LENGTH_PX - 5].all()
    assert lines[BAR_Y0 + 5:BAR_Y0 + BAR_LENGTH_PX - 5, BAR_COL].all()
    for seed in range(4):
        for clipped in (True, False):
            ph = make_phantom(seed=seed, width_px=640, height_px=512, px_per_mm=PX_PER_MM, clipped=clipped)
            assert not graphic_lines(ph.image).any(), (seed, clipped)


def test_no_hair_is_counted_along_a_scale_bar(phantom):
    plain = analyze(photo_from_array(phantom.image), px_per_mm=PX_PER_MM)
    barred = analyze(photo_from_array(with_bar(phantom.image)), px_per_mm=PX_PER_MM)
    off = Params.from_dict({"segment": {"graphic_line_min_px": 100000}})
    unguarded = analyze(photo_from_array(with_bar(phantom.image)), px_per_mm=PX_PER_MM, params=off)

    def along_bar(result) -> int:
        return sum(1 for hair in result.hairs if hair.counted and (
            max(abs(hair.emergence_xy_px[1] - BAR_ROW), abs(hair.tip_xy_px[1] - BAR_ROW)) < 4
            or max(abs(hair.emergence_xy_px[0] - BAR_COL), abs(hair.tip_xy_px[0] - BAR_COL)) < 4))

    assert along_bar(unguarded) > 0  # without the rule the bar is taken for hair
    assert along_bar(barred) == 0
    assert barred.provenance["device_graphics"]["line_px"] >= 2 * 2 * BAR_LENGTH_PX * 0.9
    assert plain.provenance["device_graphics"] == {"blank_band_px": 0, "line_px": 0}
    # Any change to a photo moves a few threshold decisions elsewhere (as
    # drawing the sensor noise anew does); the bar adds no hairs beyond that.
    assert abs(barred.whole.hair_count - plain.whole.hair_count) <= 0.1 * plain.whole.hair_count


@pytest.mark.parametrize("dtype, full", [(np.uint8, 255), (np.uint16, 65535), (np.float32, 1.0)])
def test_painting_over_lines_keeps_depth_and_the_rest_of_the_photo(dtype, full):
    rng = np.random.default_rng(0)
    pixels = (rng.uniform(0.45, 0.55, (60, 200, 3)) * full).astype(dtype)
    lines = np.zeros((60, 200), bool)
    lines[28:32, 20:180] = True
    drawn = pixels.copy()
    drawn[lines] = (0.1 * full)
    painted = paint_over_lines(drawn, lines)
    assert painted.dtype == pixels.dtype and painted.shape == pixels.shape
    assert np.array_equal(painted[~lines], drawn[~lines])
    assert abs(float(painted[lines].mean()) / full - 0.5) < 0.05
