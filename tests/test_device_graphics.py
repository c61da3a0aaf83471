"""Graphics a capture device burns into a photo: a blank grey band along the
border, thin scale-bar lines, and the circles, radii and labels of a
measurement drawn in colour are not scalp and never hair."""

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
    assert plain.provenance["device_graphics"] == {"blank_band_px": 0, "line_px": 0, "text_px": 0}
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


#: A measurement as a trichoscope draws it: a one-pixel red circle and a label
#: in blue on a light box, burnt into the photo before its JPEG compression.
CIRCLE_CENTRE, CIRCLE_RADIUS_PX = (150, 420), 330
#: The label's box, as the device draws it: about 10 px beyond the text.
LABEL_BOX = (380, 150, 570, 260)  # x0, y0, x1, y1


def jpeg(pixels: np.ndarray) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", pixels[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return cv2.imdecode(data, cv2.IMREAD_COLOR)[:, :, ::-1].copy()


def with_measurement(image: np.ndarray) -> np.ndarray:
    out = np.ascontiguousarray(image.copy())
    cv2.circle(out, CIRCLE_CENTRE, CIRCLE_RADIUS_PX, (255, 0, 0), 1, cv2.LINE_AA)
    x0, y0, x1, y1 = LABEL_BOX
    out[y0:y1, x0:x1] = (0.6 * out[y0:y1, x0:x1] + 0.4 * 200).astype(np.uint8)
    for i, text in enumerate(("RC0", "C=15.827 mm", "r=2.519 mm")):
        cv2.putText(out, text, (x0 + 8, y0 + 30 + 32 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.8,
                    (0, 0, 255), 2, cv2.LINE_AA)
    return jpeg(out)


def on_circle(shape: tuple[int, ...], width_px: int) -> np.ndarray:
    ring = np.zeros(shape[:2], np.uint8)
    cv2.circle(ring, CIRCLE_CENTRE, CIRCLE_RADIUS_PX, 1, width_px)
    return ring.astype(bool)


def test_a_drawn_circle_and_label_are_found_and_hair_is_not(phantom):
    found = device_graphics(with_measurement(phantom.image))
    circle = on_circle(phantom.image.shape, 1)
    x0, y0, x1, y1 = LABEL_BOX
    outside_label = circle.copy()
    outside_label[y0 - 30:y1 + 30, x0 - 30:x1 + 30] = False
    assert found.lines[outside_label].mean() > 0.95
    assert found.text[y0:y1, x0:x1].all()  # the box behind the label too
    near_label = np.zeros(found.text.shape, bool)
    near_label[y0 - 60:y1 + 60, x0 - 60:x1 + 60] = True
    assert not found.text[~near_label].any()  # the circle is not text
    # Saturated hair (red, under a warm light) and skin are neither lines nor text.
    for seed, colour, clipped in ((0, "red", True), (1, "red", False), (2, "black", False), (3, "brown", True)):
        for white_balance in ((1.0, 1.0, 1.0), (1.0, 0.85, 0.6)):
            ph = make_phantom(seed=seed, width_px=640, height_px=512, px_per_mm=PX_PER_MM,
                              clipped=clipped, hair_colour=colour, skin_type=1 + seed,
                              white_balance=white_balance)
            graphics = device_graphics(ph.image)
            assert not graphics.lines.any() and not graphics.text.any(), (seed, colour, white_balance)


def test_a_drawn_circle_is_not_hair_and_its_label_is_left_out(phantom):
    drawn = photo_from_array(with_measurement(phantom.image))
    result = analyze(drawn, px_per_mm=PX_PER_MM)
    off = Params.from_dict({"segment": {"graphic_colour_min_chroma": 1.0}})
    unguarded = analyze(drawn, px_per_mm=PX_PER_MM, params=off)
    near = on_circle(phantom.image.shape, 7)

    def along_circle(res) -> float:
        """Share of the circle's neighbourhood (label left out) in the hair mask."""
        ring = near & result.measured_area
        return float(res.hair_mask[ring].mean())

    assert along_circle(unguarded) > 2 * along_circle(result)  # without the rule the circle is hair
    x0, y0, x1, y1 = LABEL_BOX
    assert not result.measured_area[y0:y1, x0:x1].any()
    graphics = result.provenance["device_graphics"]
    assert graphics["line_px"] > 0 and graphics["text_px"] >= (x1 - x0) * (y1 - y0)
