"""Colour correction from a ColorChecker in view (cv2.mcc + cv2.ccm)."""

from __future__ import annotations

import cv2
import numpy as np

from scalpmetrics.analysis import analyze
from scalpmetrics.colorchart import (
    correct_colors,
    find_color_chart,
    patch_texture_ratio,
    reference_patches_rgb,
)
from scalpmetrics.io import photo_from_array
from scalpmetrics.marker import quad_mask
from scalpmetrics.params import ChartParams, Params
from scalpmetrics.regions import guarded_area
from scalpmetrics.synthetic import make_phantom

PATCH_PX, GAP_PX = 36, 8
CHART_CORNERS = np.float32([[420, 250], [700, 268], [690, 470], [410, 452]])


def chart_image(order: np.ndarray | None = None) -> np.ndarray:
    """A 4 x 6 patch chart (RGB uint8) on a black card."""
    ref = reference_patches_rgb()
    if order is not None:
        ref = ref[order]
    h, w = 4 * PATCH_PX + 5 * GAP_PX, 6 * PATCH_PX + 7 * GAP_PX
    img = np.full((h, w, 3), 20, np.uint8)
    for i, colour in enumerate(ref):
        r, c = divmod(i, 6)
        y, x = GAP_PX + r * (PATCH_PX + GAP_PX), GAP_PX + c * (PATCH_PX + GAP_PX)
        img[y:y + PATCH_PX, x:x + PATCH_PX] = colour
    return img


def chart_to_photo() -> np.ndarray:
    h, w = chart_image().shape[:2]
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    return cv2.getPerspectiveTransform(src, CHART_CORNERS)


def scene(cast=(1.0, 1.0, 1.0), *, order=None, dtype=np.uint8, seed=4) -> np.ndarray:
    """A phantom scalp with a chart in it, under a colour cast (linear-light gains)."""
    base = make_phantom(seed=seed, width_px=760, height_px=560, px_per_mm=60.0,
                        illumination_gradient=0.0).image.astype(np.float32)
    chart = chart_image(order).astype(np.float32)
    m = chart_to_photo()
    size = (base.shape[1], base.shape[0])
    warped = cv2.warpPerspective(chart, m, size, flags=cv2.INTER_LINEAR)
    cover = cv2.warpPerspective(np.ones(chart.shape[:2], np.float32), m, size)[:, :, None]
    img = base * (1 - cover) + warped * cover
    linear = (img / 255.0) ** 2.2 * np.asarray(cast, np.float32)
    out = np.clip(linear, 0, 1) ** (1 / 2.2)
    if dtype == np.uint16:
        return np.round(out * 65535).astype(np.uint16)
    return np.round(out * 255).astype(np.uint8)


def patch_means(img: np.ndarray) -> np.ndarray:
    """Mean RGB of the central part of each patch, located through the known geometry."""
    m = chart_to_photo()
    centres = []
    for i in range(24):
        r, c = divmod(i, 6)
        centres.append([GAP_PX + c * (PATCH_PX + GAP_PX) + PATCH_PX / 2,
                        GAP_PX + r * (PATCH_PX + GAP_PX) + PATCH_PX / 2])
    xy = cv2.perspectiveTransform(np.float32(centres)[None], m)[0]
    full = 255.0 if img.dtype == np.uint8 else 65535.0
    return np.array([img[int(y) - 5:int(y) + 6, int(x) - 5:int(x) + 6].reshape(-1, 3).mean(axis=0)
                     for x, y in xy]) / full * 255.0


CAST = (1.4, 1.0, 0.6)  # warm light, as linear-light gains


def test_chart_is_found_where_it_is():
    chart = find_color_chart(scene())
    assert chart is not None and chart.usable
    assert np.abs(chart.box_xy_px - CHART_CORNERS).max() < 6
    assert chart.fit_error_de00 < 4.0
    assert np.abs(chart.patches_rgb * 255 - reference_patches_rgb()).mean() < 3


def test_correction_removes_a_colour_cast():
    img = scene(CAST)
    ref = reference_patches_rgb().astype(float)
    before = np.abs(patch_means(img) - ref).mean()
    chart = find_color_chart(img)
    assert chart.usable
    corrected = correct_colors(img, chart)
    after = np.abs(patch_means(corrected) - ref).mean()
    assert before > 12 and after < 5
    # red and blue are not swapped: the warm cast is undone, not doubled (the white
    # patch is left out: its red channel clipped under the cast)
    grey = patch_means(corrected)[19:24]
    assert np.abs(grey[:, 0] - grey[:, 2]).max() < 12


def test_sixteen_bit_photo_keeps_its_depth():
    img16 = scene(CAST, dtype=np.uint16)
    chart = find_color_chart(img16)
    corrected = correct_colors(img16, chart)
    assert corrected.dtype == np.uint16 and corrected.shape == img16.shape
    assert np.abs(patch_means(corrected) - reference_patches_rgb()).mean() < 5


def test_inputs_not_modified():
    img = scene(CAST)
    copy = img.copy()
    correct_colors(img, find_color_chart(img))
    assert np.array_equal(img, copy)


def test_no_chart():
    assert find_color_chart(make_phantom(seed=2, width_px=400, height_px=300).image) is None


def test_a_chart_with_wrong_colours_is_rejected():
    shuffled = np.random.default_rng(0).permutation(24)
    chart = find_color_chart(scene(order=shuffled))
    assert chart is not None
    assert not chart.usable and chart.fit_error_de00 > ChartParams().max_fit_error_de00


def test_analysis_corrects_with_the_chart_and_leaves_it_out():
    img = scene(CAST)
    result = analyze(photo_from_array(img), px_per_mm=60.0)
    record = result.provenance["color_chart"]
    assert record["applied"] is True
    box = np.array(record["box_xy_px"])
    excluded = quad_mask(img.shape, box, grow_fraction=Params().chart.exclusion_margin_fraction)
    assert result.whole.area_px == (guarded_area(img.shape, 60.0) & ~excluded).sum()
    assert not result.hair_mask[excluded].any()
    off = analyze(photo_from_array(img), px_per_mm=60.0,
                  params=Params.from_dict({"chart": {"detect": False}}))
    assert "color_chart" not in off.provenance
    assert off.whole.area_px == guarded_area(img.shape, 60.0).sum()


def test_rejected_chart_is_flagged_and_still_left_out(analysis_schema):
    import json

    import jsonschema

    from scalpmetrics.report import to_json

    img = scene(order=np.random.default_rng(0).permutation(24))
    result = analyze(photo_from_array(img), px_per_mm=60.0)
    jsonschema.validate(json.loads(to_json(result.to_dict())), analysis_schema)  # color_chart
    names = [f.name for f in result.flags]
    assert "color_chart_rejected" in names
    flag = result.flags[names.index("color_chart_rejected")]
    assert flag.value > flag.threshold == ChartParams().max_fit_error_de00
    assert result.whole.area_px < img.shape[0] * img.shape[1]


def test_chart_in_a_large_photo_is_found_on_a_reduced_copy():
    big = cv2.resize(scene(), None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
    chart = find_color_chart(big, params=ChartParams(detect_max_side_px=1200))
    assert chart is not None and chart.usable
    # Corners in the photo's pixels (pixel centres on integers).
    assert np.abs(chart.box_xy_px - ((CHART_CORNERS + 0.5) * 3 - 0.5)).max() < 3 * 6
    assert chart.fit_error_de00 < 4.0


def test_a_grid_of_crossing_hairs_is_not_a_chart():
    # Dense long red hair on skin type 4: mcc takes the crossings for a chart
    # (a textured, non-convex "chart" reaching out of the photo).
    hair = make_phantom(skin_type=4, hair_colour="red", clipped=False, seed=66).image
    bgr = np.ascontiguousarray(hair[:, :, ::-1])
    detector = cv2.mcc.CCheckerDetector.create()
    detector.setColorChartType(cv2.mcc.MCC24)
    assert detector.process(bgr, 1)  # the false detection this test guards against
    corners = np.asarray(detector.getBestColorChecker().getColorCharts()).reshape(24, 4, 2)
    assert patch_texture_ratio(bgr, corners, ChartParams().patch_texture_sigma_px) > \
        ChartParams().max_patch_texture_ratio
    assert find_color_chart(hair) is None
    result = analyze(photo_from_array(hair), px_per_mm=100.0)
    assert "color_chart" not in result.provenance
    assert "color_chart_rejected" not in [f.name for f in result.flags]
    assert result.whole.area_px == guarded_area(hair.shape, 100.0).sum()


def test_a_dim_noisy_chart_is_still_a_chart():
    noise = np.random.default_rng(1).normal(0.0, 12.0, scene().shape)
    dim = np.clip(scene().astype(np.float64) * 0.5 + noise, 0, 255).astype(np.uint8)
    chart = find_color_chart(dim)
    assert chart is not None and chart.usable
    assert np.abs(chart.box_xy_px - CHART_CORNERS).max() < 6
